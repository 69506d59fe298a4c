//! Checks data rows one by one, collecting every problem on each row.

use crate::headers::{self, Column, Columns};
use crate::read::{Cell, SheetRow};
use crate::{ImportRow, OwnerRow, RoomRow, RowError, SpaceRow};
use doorstep_domain::estate::{room_label, validate_label};
use doorstep_domain::{Area, PhoneNumber};
use std::collections::HashMap;

// Label lengths: generous for real estates, short enough to fit on a receipt.
const MAX_BUILDING: usize = 20;
const MAX_ENTRANCE: usize = 10;
const MAX_NUMBER: usize = 20;
const MAX_SPACE_CODE: usize = 20;
const MAX_SPACE_LEVEL: usize = 20;
const MAX_OWNER: usize = 40;

/// Floors beyond this are typos, not buildings.
const MAX_FLOOR: i32 = 200;
const MAX_BASEMENT: i32 = 10;

/// Separators between several phone numbers in one cell (whitespace handled apart).
const PHONE_SEPARATORS: [char; 7] = ['/', ',', '，', ';', '；', '、', '|'];

const NEEDS_ROOM_FIELDS: &str = "is empty; a room needs 楼栋, 房号 and 面积";

/// Parses the data rows below the header into good rows and row errors.
pub(crate) fn parse_rows(cols: &Columns, rows: &[SheetRow]) -> (Vec<ImportRow>, Vec<RowError>) {
    let used = cols.indices();
    let mut seen_rooms: HashMap<(String, String, String), (usize, Option<Area>)> = HashMap::new();
    let mut seen_spaces: HashMap<String, usize> = HashMap::new();
    let mut good = Vec::new();
    let mut errors = Vec::new();
    for row in rows {
        // Unrecognised columns (序号, 备注…) are often pre-filled in templates;
        // a row with nothing in our columns is blank for our purposes.
        if used
            .iter()
            .all(|&i| row.cells.get(i).is_none_or(Cell::is_empty))
        {
            continue;
        }
        let mut check = RowCheck {
            row,
            errors: Vec::new(),
        };
        let (room, co_owner) = check.room(cols, &mut seen_rooms);
        let space = check.space(cols, &mut seen_spaces);
        let owner = check.owner(cols);
        if check.errors.is_empty() {
            good.push(ImportRow {
                row: row.number,
                room,
                space,
                owner,
                co_owner,
            });
        }
        errors.append(&mut check.errors);
    }
    (good, errors)
}

struct RowCheck<'a> {
    row: &'a SheetRow,
    errors: Vec<RowError>,
}

impl RowCheck<'_> {
    fn cell(&self, col: Option<&Column>) -> Option<&Cell> {
        col.and_then(|c| self.row.cells.get(c.index))
    }

    fn text(&self, col: Option<&Column>) -> String {
        self.cell(col).map_or_else(String::new, Cell::text)
    }

    fn error(
        &mut self,
        col: Option<&Column>,
        fallback: &str,
        value: &str,
        message: impl Into<String>,
    ) {
        let field = col.map_or(fallback, |c| c.header.as_str()).to_string();
        self.errors.push(RowError {
            row: self.row.number,
            field,
            value: value.to_string(),
            message: message.into(),
        });
    }

    fn row_error(&mut self, message: &str) {
        self.errors.push(RowError {
            row: self.row.number,
            field: String::new(),
            value: String::new(),
            message: message.to_string(),
        });
    }

    /// A required label: missing or invalid values become errors.
    fn required_label(
        &mut self,
        col: Option<&Column>,
        fallback: &str,
        max: usize,
    ) -> Option<String> {
        let value = self.text(col);
        if value.is_empty() {
            self.error(col, fallback, "", NEEDS_ROOM_FIELDS);
            return None;
        }
        self.label(col, fallback, &value, max)
    }

    /// Validates a non-empty label through the domain rule.
    fn label(
        &mut self,
        col: Option<&Column>,
        fallback: &str,
        value: &str,
        max: usize,
    ) -> Option<String> {
        match validate_label("label", value, max) {
            Ok(s) => Some(s),
            Err(_) => {
                let message = if value.chars().count() > max {
                    format!("is longer than {max} characters")
                } else {
                    "contains control characters".to_string()
                };
                self.error(col, fallback, value, message);
                None
            }
        }
    }

    /// The room on this row, and whether the row only adds a co-owner to a
    /// room described on an earlier row (same room, same area, an owner named).
    fn room(
        &mut self,
        cols: &Columns,
        seen: &mut HashMap<(String, String, String), (usize, Option<Area>)>,
    ) -> (Option<RoomRow>, bool) {
        let room_cols = [
            &cols.building,
            &cols.entrance,
            &cols.floor,
            &cols.number,
            &cols.area,
        ];
        if room_cols.iter().all(|c| self.text(c.as_ref()).is_empty()) {
            if self.text(cols.space_code.as_ref()).is_empty() {
                self.row_error("neither a room (楼栋/房号) nor a parking space (车位)");
            }
            return (None, false);
        }
        let building = self.required_label(cols.building.as_ref(), headers::BUILDING, MAX_BUILDING);
        let entrance_text = self.text(cols.entrance.as_ref());
        let entrance = if entrance_text.is_empty() {
            Some(String::new())
        } else {
            self.label(cols.entrance.as_ref(), "单元", &entrance_text, MAX_ENTRANCE)
        };
        let number = self.required_label(cols.number.as_ref(), headers::NUMBER, MAX_NUMBER);
        let area = self.area(cols.area.as_ref());
        let floor = self.floor(cols, number.as_deref());
        let (Some(building), Some(entrance), Some(number)) = (building, entrance, number) else {
            return (None, false);
        };
        let key = (building.clone(), entrance.clone(), number.clone());
        let mut co_owner = false;
        if let Some(&(earlier, earlier_area)) = seen.get(&key) {
            // Offices list a co-owner on a row of its own, repeating the room.
            let has_owner = !self.text(cols.owner.as_ref()).is_empty();
            if has_owner && area.is_some() && area == earlier_area {
                co_owner = true;
            } else {
                let message = format!(
                    "is the same room as row {earlier} ({}){}",
                    room_label(&building, &entrance, &number),
                    if has_owner {
                        " with a different area"
                    } else {
                        ""
                    }
                );
                self.error(cols.number.as_ref(), headers::NUMBER, &number, message);
                return (None, false);
            }
        } else {
            seen.insert(key, (self.row.number, area));
        }
        let (Some(floor), Some(area)) = (floor, area) else {
            return (None, false);
        };
        (
            Some(RoomRow {
                building,
                entrance,
                floor,
                number,
                area,
            }),
            co_owner,
        )
    }

    fn area(&mut self, col: Option<&Column>) -> Option<Area> {
        let Some(cell) = self.cell(col).filter(|c| !c.is_empty()).cloned() else {
            self.error(col, headers::AREA, "", NEEDS_ROOM_FIELDS);
            return None;
        };
        match parse_area(&cell) {
            Ok(area) => Some(area),
            Err(message) => {
                self.error(col, headers::AREA, &cell.text(), message);
                None
            }
        }
    }

    /// The floor column wins; when it is absent or blank the floor is read
    /// from the room number, as offices number rooms floor-first.
    fn floor(&mut self, cols: &Columns, number: Option<&str>) -> Option<i32> {
        let col = cols.floor.as_ref();
        let text = self.text(col);
        if !text.is_empty() {
            let floor = parse_floor(&text);
            if floor.is_none() {
                self.error(
                    col,
                    "楼层",
                    &text,
                    "is not a floor (write it like 12, or -1 for the first basement)",
                );
            }
            return floor;
        }
        // Without a valid number its own error already explains the row.
        let number = number?;
        let floor = floor_from_number(number);
        if floor.is_none() {
            match col {
                Some(_) => {
                    let message = format!(
                        "is empty and the floor cannot be read from 房号 \"{number}\" (only numbers like 202, 1202 or 0302 show their floor)"
                    );
                    self.error(col, "楼层", "", message);
                }
                None => {
                    let message = "does not show its floor (only numbers like 202, 1202 or 0302 do); add a 楼层 column";
                    self.error(cols.number.as_ref(), headers::NUMBER, number, message);
                }
            }
        }
        floor
    }

    fn space(&mut self, cols: &Columns, seen: &mut HashMap<String, usize>) -> Option<SpaceRow> {
        let col = cols.space_code.as_ref();
        let code_text = self.text(col);
        if code_text.is_empty() {
            // A 区域 column may describe something else on room rows, so a
            // level without a code is simply ignored.
            return None;
        }
        let code = self.label(col, headers::SPACE, &code_text, MAX_SPACE_CODE);
        let level_col = cols.space_level.as_ref();
        let level_text = self.text(level_col);
        let level = if level_text.is_empty() {
            Some(String::new())
        } else {
            self.label(level_col, "车位区域", &level_text, MAX_SPACE_LEVEL)
        };
        let code = code?;
        if let Some(&earlier) = seen.get(&code) {
            self.error(
                col,
                headers::SPACE,
                &code,
                format!("is the same parking space as row {earlier}"),
            );
            return None;
        }
        seen.insert(code.clone(), self.row.number);
        Some(SpaceRow {
            code,
            level: level?,
        })
    }

    fn owner(&mut self, cols: &Columns) -> Option<OwnerRow> {
        let name_col = cols.owner.as_ref();
        let name_text = self.text(name_col);
        let name = if name_text.is_empty() {
            None
        } else {
            self.label(name_col, headers::OWNER, &name_text, MAX_OWNER)
        };
        let mut phones: Vec<PhoneNumber> = Vec::new();
        let mut any_phone_text = None;
        for col in &cols.phones {
            let text = self.text(Some(col));
            if text.is_empty() {
                continue;
            }
            any_phone_text.get_or_insert_with(|| (col.clone(), text.clone()));
            for (piece, parsed) in split_phones(&text) {
                match parsed {
                    Some(p) if !phones.contains(&p) => phones.push(p),
                    Some(_) => {}
                    None => self.error(Some(col), "电话", &piece, phone_message(&piece)),
                }
            }
        }
        let orphan_phone = any_phone_text.filter(|_| name_text.is_empty());
        if let Some((phone_col, phone_text)) = orphan_phone {
            match name_col {
                Some(_) => self.error(
                    name_col,
                    headers::OWNER,
                    "",
                    "is empty, but a phone number is given; a phone number needs an owner name",
                ),
                None => self.error(
                    Some(&phone_col),
                    "电话",
                    &phone_text,
                    "has no owner: add an owner name column (业主) for phone numbers",
                ),
            }
        }
        Some(OwnerRow {
            name: name?,
            phones,
        })
    }
}

/// Areas from text must have at most two decimals; workbook numbers are
/// rounded half-up to 0.01 m² because Excel stores 89.5 as 89.4999….
pub(crate) fn parse_area(cell: &Cell) -> Result<Area, String> {
    const GREATER_THAN_ZERO: &str = "must be greater than 0 m²";
    const TOO_LARGE: &str = "is more than 10000 m², too large for one room";
    match cell {
        Cell::Number(f) => {
            if f.is_nan() || *f <= 0.0 {
                return Err(GREATER_THAN_ZERO.to_string());
            }
            if *f > 1e7 {
                return Err(TOO_LARGE.to_string());
            }
            // Round to micro-m² first so float noise cannot tip the half-up rounding.
            let micro = (f * 1e6).round() as i64;
            let centi = (micro + 5_000) / 10_000;
            if centi == 0 {
                return Err(format!("{GREATER_THAN_ZERO} (it rounds to 0.00)"));
            }
            Area::from_centi(centi).map_err(|_| TOO_LARGE.to_string())
        }
        Cell::Text(s) => {
            if let Ok(area) = Area::parse(s) {
                return Ok(area);
            }
            let t = s
                .trim_end_matches(['㎡', ' '])
                .trim_end_matches("m²")
                .trim_end_matches("平方米")
                .trim_end_matches("平米")
                .trim();
            let unsigned = t.strip_prefix('-').unwrap_or(t);
            let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
            let numeric = !int.is_empty()
                && int.chars().all(|c| c.is_ascii_digit())
                && frac.chars().all(|c| c.is_ascii_digit());
            if !numeric {
                return Err("is not an area in m² (write it like 89.5)".to_string());
            }
            if t.starts_with('-') || unsigned.chars().all(|c| c == '0' || c == '.') {
                return Err(GREATER_THAN_ZERO.to_string());
            }
            if frac.len() > 2 {
                return Err("has more than two decimals; write the area to 0.01 m²".to_string());
            }
            Err(TOO_LARGE.to_string())
        }
    }
}

/// Accepts `12`, `12层`, `12F`, `-1`, `B1`, `负1`, `地下1层`.
pub(crate) fn parse_floor(s: &str) -> Option<i32> {
    let t = s.trim();
    let t = t.strip_suffix(['层', '楼', 'F', 'f']).unwrap_or(t);
    let (negative, digits) = match ["地下", "负", "-", "B", "b"]
        .iter()
        .find_map(|p| t.strip_prefix(p))
    {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    if digits.is_empty() || digits.len() > 3 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n: i32 = digits.parse().ok()?;
    match (negative, n) {
        (_, 0) => None,
        (false, n) if n <= MAX_FLOOR => Some(n),
        (true, n) if n <= MAX_BASEMENT => Some(-n),
        _ => None,
    }
}

/// Floor-first room numbers: `202` → 2, `1202` → 12, `0302` → 3.
pub(crate) fn floor_from_number(number: &str) -> Option<i32> {
    let t = number.strip_suffix('室').unwrap_or(number);
    if !(3..=4).contains(&t.len()) || !t.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let floor: i32 = t[..t.len() - 2].parse().ok()?;
    (floor > 0).then_some(floor)
}

/// Splits a phone cell into pieces, each with its parsed number if valid.
///
/// Whitespace both separates numbers and groups digits (`138 1234 5678`), so a
/// piece is first tried whole and only then split on whitespace.
pub(crate) fn split_phones(cell: &str) -> Vec<(String, Option<PhoneNumber>)> {
    let mut out = Vec::new();
    for piece in cell
        .split(PHONE_SEPARATORS)
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        if let Ok(p) = PhoneNumber::parse(piece) {
            out.push((piece.to_string(), Some(p)));
            continue;
        }
        let tokens: Vec<(String, Option<PhoneNumber>)> = piece
            .split_whitespace()
            .map(|t| (t.to_string(), PhoneNumber::parse(t).ok()))
            .collect();
        if tokens.len() > 1 && tokens.iter().any(|(_, p)| p.is_some()) {
            out.extend(tokens);
        } else {
            out.push((piece.to_string(), None));
        }
    }
    out
}

fn phone_message(piece: &str) -> String {
    let scientific = piece.contains(['E', 'e'])
        && piece
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'E' | 'e' | '+'));
    if scientific {
        "was turned into scientific notation by Excel and has lost digits; format the column as text, type the number again and re-export".to_string()
    } else {
        "is not a mainland mobile number (11 digits starting 13–19) or a landline with area code (e.g. 010-12345678)".to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn areas_from_numbers_round_and_from_text_do_not() {
        assert_eq!(
            parse_area(&Cell::Number(89.499999999)).unwrap().centi(),
            8950
        );
        assert_eq!(parse_area(&Cell::Number(89.505)).unwrap().centi(), 8951);
        assert_eq!(
            parse_area(&Cell::Number(-3.0)).unwrap_err(),
            "must be greater than 0 m²"
        );
        assert_eq!(
            parse_area(&Cell::Text("89.50㎡".into())).unwrap().centi(),
            8950
        );
        assert_eq!(
            parse_area(&Cell::Text("89.505".into())).unwrap_err(),
            "has more than two decimals; write the area to 0.01 m²"
        );
        assert_eq!(
            parse_area(&Cell::Text("-3".into())).unwrap_err(),
            "must be greater than 0 m²"
        );
        assert_eq!(
            parse_area(&Cell::Text("0".into())).unwrap_err(),
            "must be greater than 0 m²"
        );
        assert_eq!(
            parse_area(&Cell::Text("20000".into())).unwrap_err(),
            "is more than 10000 m², too large for one room"
        );
        assert_eq!(
            parse_area(&Cell::Text("八十".into())).unwrap_err(),
            "is not an area in m² (write it like 89.5)"
        );
    }

    #[test]
    fn floors() {
        assert_eq!(parse_floor("12"), Some(12));
        assert_eq!(parse_floor("12层"), Some(12));
        assert_eq!(parse_floor("B1"), Some(-1));
        assert_eq!(parse_floor("地下2层"), Some(-2));
        assert_eq!(parse_floor("0"), None);
        assert_eq!(parse_floor("十二"), None);
        assert_eq!(floor_from_number("1202"), Some(12));
        assert_eq!(floor_from_number("202"), Some(2));
        assert_eq!(floor_from_number("0302"), Some(3));
        assert_eq!(floor_from_number("202室"), Some(2));
        assert_eq!(floor_from_number("A12"), None);
        assert_eq!(floor_from_number("12"), None);
        assert_eq!(floor_from_number("0002"), None);
    }

    #[test]
    fn phone_cells() {
        let ok = |s: &str| {
            split_phones(s)
                .into_iter()
                .map(|(_, p)| p.map(|p| p.as_str().to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(ok("138 1234 5678"), vec![Some("13812345678".to_string())]);
        assert_eq!(
            ok("13812345678 13912345678"),
            vec![
                Some("13812345678".to_string()),
                Some("13912345678".to_string())
            ]
        );
        assert_eq!(
            ok("13812345678、010-12345678"),
            vec![
                Some("13812345678".to_string()),
                Some("010-12345678".to_string())
            ]
        );
        assert_eq!(
            ok("12345 13912345678"),
            vec![None, Some("13912345678".to_string())]
        );
        assert_eq!(split_phones("138 1234 567")[0].0, "138 1234 567");
        assert!(phone_message("1.38123E+10").contains("scientific"));
    }
}
