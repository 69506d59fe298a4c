//! Recognises the column headers property offices actually write.

use crate::ImportError;
use crate::read::SheetRow;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Building,
    Entrance,
    Floor,
    Number,
    Area,
    Owner,
    Phone,
    SpaceCode,
    SpaceLevel,
}

/// Accepted spellings, compared after `normalize`.
const ALIASES: &[(Field, &[&str])] = &[
    (
        Field::Building,
        &["楼栋", "楼号", "栋号", "楼栋号", "幢", "幢号", "栋", "楼宇"],
    ),
    (Field::Entrance, &["单元", "单元号"]),
    (Field::Floor, &["楼层", "层", "所在楼层"]),
    (
        Field::Number,
        &["房号", "房间号", "室号", "门牌号", "房屋编号"],
    ),
    (Field::Area, &["面积", "建筑面积", "房屋面积", "计费面积"]),
    (Field::Owner, &["业主", "业主姓名", "姓名", "客户名称"]),
    (
        Field::Phone,
        &["电话", "手机", "手机号", "联系电话", "手机号码", "联系方式"],
    ),
    (Field::SpaceCode, &["车位", "车位号", "车位编号"]),
    (
        Field::SpaceLevel,
        &["车位区域", "车位位置", "车位层", "区域"],
    ),
];

/// Units written after a header without brackets, e.g. `面积㎡`, `面积/平方米`.
const UNIT_SUFFIXES: &[&str] = &["㎡", "m²", "m2", "平方米", "平米", "/", "／"];

/// The canonical names used when a required column is absent.
pub(crate) const BUILDING: &str = "楼栋";
pub(crate) const NUMBER: &str = "房号";
pub(crate) const AREA: &str = "面积";
pub(crate) const OWNER: &str = "业主";
pub(crate) const SPACE: &str = "车位";

/// Rows above the header (a merged title such as "XX小区房屋信息表") are
/// common, so the header is searched for among the first few non-empty rows.
const HEADER_SEARCH_ROWS: usize = 10;

/// A recognised column: where it is and how the file spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    pub(crate) index: usize,
    pub(crate) header: String,
}

/// The recognised columns of a header row. For a field given twice the first
/// column wins, except phones, which are collected from every phone column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Columns {
    pub(crate) building: Option<Column>,
    pub(crate) entrance: Option<Column>,
    pub(crate) floor: Option<Column>,
    pub(crate) number: Option<Column>,
    pub(crate) area: Option<Column>,
    pub(crate) owner: Option<Column>,
    pub(crate) phones: Vec<Column>,
    pub(crate) space_code: Option<Column>,
    pub(crate) space_level: Option<Column>,
}

impl Columns {
    fn from_row(row: &SheetRow) -> Columns {
        let mut cols = Columns::default();
        for (index, cell) in row.cells.iter().enumerate() {
            let header = cell.text();
            let Some(field) = field_of(&header) else {
                continue;
            };
            let col = Column { index, header };
            let slot = match field {
                Field::Phone => {
                    cols.phones.push(col);
                    continue;
                }
                Field::Building => &mut cols.building,
                Field::Entrance => &mut cols.entrance,
                Field::Floor => &mut cols.floor,
                Field::Number => &mut cols.number,
                Field::Area => &mut cols.area,
                Field::Owner => &mut cols.owner,
                Field::SpaceCode => &mut cols.space_code,
                Field::SpaceLevel => &mut cols.space_level,
            };
            if slot.is_none() {
                *slot = Some(col);
            }
        }
        cols
    }

    /// Every recognised column index, to tell a blank data row from a real one.
    pub(crate) fn indices(&self) -> Vec<usize> {
        let singles = [
            &self.building,
            &self.entrance,
            &self.floor,
            &self.number,
            &self.area,
            &self.owner,
            &self.space_code,
            &self.space_level,
        ];
        singles
            .into_iter()
            .flatten()
            .map(|c| c.index)
            .chain(self.phones.iter().map(|c| c.index))
            .collect()
    }

    fn recognised(&self) -> usize {
        self.indices().len()
    }

    /// Required headers that are missing; empty when rooms or spaces can be read.
    fn missing(&self) -> Vec<String> {
        let room_missing: Vec<String> = [
            (BUILDING, &self.building),
            (NUMBER, &self.number),
            (AREA, &self.area),
        ]
        .into_iter()
        .filter(|(_, c)| c.is_none())
        .map(|(name, _)| name.to_string())
        .collect();
        if room_missing.is_empty() || self.space_code.is_some() {
            return Vec::new();
        }
        let mut missing = room_missing;
        missing.push(SPACE.to_string());
        missing
    }
}

/// Finds the header row among `rows` (non-empty rows only) and returns its
/// position in `rows` with the recognised columns.
pub(crate) fn locate(rows: &[SheetRow]) -> Result<(usize, Columns), ImportError> {
    if rows.is_empty() {
        return Err(ImportError::Empty);
    }
    let mut best: Option<(usize, Columns)> = None;
    for (at, row) in rows.iter().enumerate().take(HEADER_SEARCH_ROWS) {
        let cols = Columns::from_row(row);
        if cols.missing().is_empty() {
            return Ok((at, cols));
        }
        if best
            .as_ref()
            .is_none_or(|(_, b)| cols.recognised() > b.recognised())
        {
            best = Some((at, cols));
        }
    }
    // Report against the row that looked most like a header, so the clerk
    // sees the headers they meant to write.
    let (at, cols) = best.unwrap_or_default();
    let found = rows.get(at).map_or_else(Vec::new, |r| {
        r.cells
            .iter()
            .map(|c| c.text())
            .filter(|t| !t.is_empty())
            .collect()
    });
    Err(ImportError::MissingHeaders {
        missing: cols.missing(),
        found,
    })
}

/// The field a header names, if any.
pub(crate) fn field_of(header: &str) -> Option<Field> {
    let key = normalize(header);
    if let Some(field) = lookup(&key) {
        return Some(field);
    }
    // Numbered phone columns such as 联系电话1, 联系电话2 are common.
    let unnumbered = key.trim_end_matches(|c: char| c.is_ascii_digit());
    match lookup(unnumbered) {
        Some(Field::Phone) if unnumbered.len() < key.len() => Some(Field::Phone),
        _ => None,
    }
}

fn lookup(key: &str) -> Option<Field> {
    ALIASES
        .iter()
        .find(|(_, names)| names.contains(&key))
        .map(|(field, _)| *field)
}

/// Drops whitespace, bracketed notes such as `(㎡)` or `（平方米）`, required-field
/// stars, trailing colons and bare unit suffixes.
pub(crate) fn normalize(header: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in header.chars() {
        match c {
            '(' | '（' | '[' | '【' => depth += 1,
            ')' | '）' | ']' | '】' => depth = depth.saturating_sub(1),
            _ if depth > 0 || c.is_whitespace() => {}
            _ => out.push(c.to_ascii_lowercase()),
        }
    }
    let mut s = out.trim_matches(['*', '＊', ':', '：']).to_string();
    while let Some(stripped) = UNIT_SUFFIXES.iter().find_map(|u| s.strip_suffix(u)) {
        s = stripped.to_string();
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::read::Cell;

    fn row(headers: &[&str]) -> SheetRow {
        SheetRow {
            number: 1,
            cells: headers.iter().map(|h| Cell::Text(h.to_string())).collect(),
        }
    }

    #[test]
    fn header_variants() {
        for (h, f) in [
            ("建筑面积(㎡)", Field::Area),
            ("建筑面积（平方米）", Field::Area),
            ("面积 (m²)", Field::Area),
            ("面积㎡", Field::Area),
            ("面积/平方米", Field::Area),
            ("*楼栋", Field::Building),
            (" 房 号 ", Field::Number),
            ("手机号码", Field::Phone),
            ("联系电话2", Field::Phone),
            ("车位编号", Field::SpaceCode),
            ("区域", Field::SpaceLevel),
        ] {
            assert_eq!(field_of(h), Some(f), "{h}");
        }
        assert_eq!(field_of("备注"), None);
        assert_eq!(field_of("姓名2"), None);
    }

    #[test]
    fn title_row_above_header_is_skipped() {
        let rows = vec![
            row(&["阳光小区房屋信息表"]),
            row(&["序号", "楼栋", "房号", "面积"]),
        ];
        let (at, cols) = locate(&rows).unwrap();
        assert_eq!(at, 1);
        assert_eq!(cols.area.unwrap().index, 3);
    }

    #[test]
    fn missing_reported_against_most_header_like_row() {
        let rows = vec![row(&["阳光小区"]), row(&["楼栋", "房号", "业主"])];
        let err = locate(&rows).unwrap_err();
        assert_eq!(
            err,
            ImportError::MissingHeaders {
                missing: vec!["面积".into(), "车位".into()],
                found: vec!["楼栋".into(), "房号".into(), "业主".into()]
            }
        );
    }
}
