//! Turns uploaded bytes into a grid of trimmed cells with their Excel row numbers.

use crate::limits::{self, Budget, MAX_CELLS, MAX_FILE_BYTES};
use crate::{ImportError, xlscheck, zipcheck};
use calamine::{Data, Reader};
use encoding_rs::{Encoding, GB18030, UTF_16BE, UTF_16LE};
use std::io::Cursor;

/// One cell. Workbook numbers stay numbers so that areas can be rounded
/// rather than rejected for Excel's binary float noise.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// Trimmed text; `""` for an empty cell.
    Text(String),
    /// A numeric workbook cell.
    Number(f64),
}

impl Cell {
    /// The cell as the clerk sees it; integral numbers have no `.0`.
    pub(crate) fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            // f64's Display never uses an exponent and prints 13812345678.0 as "13812345678".
            Cell::Number(f) if f.is_finite() => format!("{f}"),
            Cell::Number(_) => String::new(),
        }
    }

    /// Whether the cell holds nothing.
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Cell::Text(s) if s.is_empty())
    }
}

/// A non-empty row of the first worksheet (or of the CSV file).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SheetRow {
    /// 1-based row number as Excel shows it.
    pub(crate) number: usize,
    /// Cells from the first used column on.
    pub(crate) cells: Vec<Cell>,
}

/// All non-empty rows of a file and how it was decoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sheet {
    pub(crate) rows: Vec<SheetRow>,
    pub(crate) encoding: &'static str,
}

/// Zip (xlsx, ods, xlsb) and OLE2 (xls) signatures.
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads `bytes` according to the extension of `file_name`.
pub(crate) fn read_sheet(file_name: &str, bytes: &[u8]) -> Result<Sheet, ImportError> {
    let ext = extension(file_name);
    let workbook_ext = matches!(ext.as_str(), "xlsx" | "xls");
    if !workbook_ext && !matches!(ext.as_str(), "csv" | "txt") {
        return Err(ImportError::UnsupportedFormat(file_name.to_string()));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::Empty);
    }
    let is_workbook = bytes.starts_with(ZIP_MAGIC) || bytes.starts_with(OLE_MAGIC);
    // Trust the content over the name: workbooks get renamed to .csv, and many
    // Chinese systems export tab-separated text under a .xls name.
    if is_workbook {
        return read_workbook(bytes);
    }
    if workbook_ext && looks_like_html(bytes) {
        return Err(ImportError::Unreadable(
            "it is a web page saved under an Excel name, not a real workbook; open it in Excel and save it as .xlsx".to_string(),
        ));
    }
    read_text(bytes)
}

/// Lower-cased extension after the last dot of the last path component.
fn extension(file_name: &str) -> String {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    match base.rsplit_once('.') {
        Some((_, ext)) => ext.trim().to_ascii_lowercase(),
        None => String::new(),
    }
}

fn looks_like_html(bytes: &[u8]) -> bool {
    let b = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let start: Vec<u8> = b
        .iter()
        .skip_while(|c| c.is_ascii_whitespace())
        .take(5)
        .map(u8::to_ascii_lowercase)
        .collect();
    start.starts_with(b"<")
}

fn read_workbook(bytes: &[u8]) -> Result<Sheet, ImportError> {
    if bytes.starts_with(OLE_MAGIC) {
        xlscheck::check_xls(bytes)?;
        return read_xls(bytes);
    }
    zipcheck::check_zip(bytes)?;
    read_xlsx(bytes)
}

fn not_a_workbook(e: impl std::fmt::Display) -> ImportError {
    ImportError::Unreadable(format!(
        "it is not a readable Excel workbook ({e}); it may be damaged or password-protected"
    ))
}

fn unreadable_sheet(e: impl std::fmt::Display) -> ImportError {
    ImportError::Unreadable(format!("the first worksheet cannot be read ({e})"))
}

/// Streams the first worksheet's cells (never calamine's dense range, whose
/// size the file dictates), keeping the non-empty ones.
fn read_xlsx(bytes: &[u8]) -> Result<Sheet, ImportError> {
    let mut workbook: calamine::Xlsx<_> = calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| {
        not_a_workbook(format!(
            "{e}; other ZIP-based formats such as .ods and .xlsb are not read, save it as .xlsx"
        ))
    })?;
    let Some(name) = workbook.sheet_names().first().cloned() else {
        return Err(ImportError::Empty);
    };
    let mut reader = workbook
        .worksheet_cells_reader(&name)
        .map_err(unreadable_sheet)?;
    let mut cells = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(unreadable_sheet)? {
        let value = workbook_cell(&Data::from(cell.get_value().clone()));
        if !value.is_empty() {
            if cells.len() == MAX_CELLS {
                return Err(limits::too_many_cells());
            }
            let (row, col) = cell.get_position();
            cells.push((row, col, value));
        }
    }
    Ok(Sheet {
        rows: assemble(cells)?,
        encoding: "xlsx",
    })
}

/// Reads an `.xls` already checked by [`xlscheck::check_xls`], so its grids are small.
fn read_xls(bytes: &[u8]) -> Result<Sheet, ImportError> {
    let mut workbook: calamine::Xls<_> =
        calamine::Xls::new(Cursor::new(bytes)).map_err(not_a_workbook)?;
    let range = match workbook.worksheet_range_at(0) {
        None => return Err(ImportError::Empty),
        Some(r) => r.map_err(unreadable_sheet)?,
    };
    // used_cells counts from the range's first cell; Excel's numbers count from A1.
    let (r0, c0) = range.start().unwrap_or_default();
    let cells = range
        .used_cells()
        .map(|(r, c, d)| (r0 + r as u32, c0 + c as u32, workbook_cell(d)))
        .filter(|(_, _, v)| !v.is_empty())
        .collect();
    Ok(Sheet {
        rows: assemble(cells)?,
        encoding: "xls",
    })
}

/// Lays out non-empty `(row, column, value)` cells as rows numbered as Excel
/// shows them, each from the sheet's first used column to its own last used
/// one. The grid is charged to the cell budget row by row, before it is
/// allocated.
fn assemble(mut cells: Vec<(u32, u32, Cell)>) -> Result<Vec<SheetRow>, ImportError> {
    cells.sort_by_key(|(r, c, _)| (*r, *c));
    let first_col = cells.iter().map(|(_, c, _)| *c).min().unwrap_or(0);
    let mut budget = Budget::default();
    let mut rows: Vec<SheetRow> = Vec::new();
    let mut i = 0;
    while i < cells.len() {
        let row = cells[i].0;
        let end = i + cells[i..].iter().take_while(|(r, _, _)| *r == row).count();
        let width = (cells[end - 1].1 - first_col) as usize + 1;
        budget.take_row(width)?;
        let mut line = vec![Cell::Text(String::new()); width];
        for (_, c, v) in cells[i..end].iter_mut() {
            line[(*c - first_col) as usize] = std::mem::replace(v, Cell::Text(String::new()));
        }
        rows.push(SheetRow {
            number: row as usize + 1,
            cells: line,
        });
        i = end;
    }
    Ok(rows)
}

fn workbook_cell(d: &Data) -> Cell {
    match d {
        Data::Float(f) => Cell::Number(*f),
        Data::Int(i) => Cell::Text(i.to_string()),
        Data::String(s) => Cell::Text(clean(s)),
        Data::Empty => Cell::Text(String::new()),
        other => Cell::Text(clean(&other.to_string())),
    }
}

fn read_text(bytes: &[u8]) -> Result<Sheet, ImportError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(limits::file_too_large(bytes.len()));
    }
    let (text, encoding) = decode(bytes)?;
    let delimiter = sniff_delimiter(&text);
    // Every cell ends at a delimiter or a line break, so their count bounds
    // the cells before the CSV reader allocates a field for each.
    let ends = text
        .bytes()
        .filter(|&b| b == delimiter || b == b'\n')
        .count();
    if ends > MAX_CELLS {
        return Err(limits::too_many_cells());
    }
    let mut budget = Budget::default();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    // The csv reader numbers physical lines, but Excel shows a quoted cell with
    // line breaks as one row, so subtract the breaks seen inside earlier records.
    let mut breaks_inside = 0usize;
    for (i, record) in reader.records().enumerate() {
        let record = record
            .map_err(|e| ImportError::Unreadable(format!("the CSV text is malformed ({e})")))?;
        let line = record.position().map_or(i + 1, |p| {
            p.line() as usize + skipped_blank_lines(&text, p.byte())
        });
        let number = line.saturating_sub(breaks_inside).max(1);
        breaks_inside += record
            .iter()
            .map(|f| f.matches('\n').count())
            .sum::<usize>();
        let cells: Vec<Cell> = record.iter().map(|f| Cell::Text(clean(f))).collect();
        if !cells.iter().all(Cell::is_empty) {
            budget.take_row(0)?;
            rows.push(SheetRow { number, cells });
        }
    }
    Ok(Sheet { rows, encoding })
}

/// The csv reader skips blank lines silently and reports a record's position
/// from before them; Excel shows each blank line as a row, so count them.
fn skipped_blank_lines(text: &str, byte: u64) -> usize {
    let rest = usize::try_from(byte)
        .ok()
        .and_then(|b| text.as_bytes().get(b..))
        .unwrap_or_default();
    rest.iter()
        .take_while(|&&c| c == b'\r' || c == b'\n')
        .filter(|&&c| c == b'\n')
        .count()
}

/// Decodes CSV bytes: UTF-16 with BOM (Excel's "Unicode text"), UTF-8 (BOM
/// optional), else GBK, which Chinese Excel uses for plain "CSV".
fn decode(bytes: &[u8]) -> Result<(String, &'static str), ImportError> {
    let utf16 = Encoding::for_bom(bytes).filter(|(enc, _)| *enc == UTF_16LE || *enc == UTF_16BE);
    if let Some((enc, _)) = utf16 {
        let (text, had_errors) = enc.decode_with_bom_removal(bytes);
        if had_errors {
            return Err(not_text());
        }
        return Ok((text.into_owned(), "UTF-16"));
    }
    let b = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(b) {
        return Ok((s.to_string(), "UTF-8"));
    }
    // GB18030 decodes every GBK byte sequence and a bit more.
    let (text, had_errors) = GB18030.decode_without_bom_handling(b);
    if had_errors {
        return Err(not_text());
    }
    Ok((text.into_owned(), "GBK"))
}

fn not_text() -> ImportError {
    ImportError::Unreadable(
        "it is neither UTF-8 nor GBK text; save it from Excel as .xlsx or as CSV".to_string(),
    )
}

/// Tab-separated when the first non-empty line has more tabs than commas
/// (Excel's "Unicode text" and many system exports), otherwise comma.
fn sniff_delimiter(text: &str) -> u8 {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.matches('\t').count() > first.matches(',').count() {
        b'\t'
    } else {
        b','
    }
}

/// Trims a cell and unwraps Excel's `="0302"`, which exports use to keep leading zeros.
fn clean(s: &str) -> String {
    let t = s.trim();
    match t.strip_prefix("=\"").and_then(|r| r.strip_suffix('"')) {
        Some(inner) => inner.trim().to_string(),
        None => t.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn extension_is_case_insensitive_and_ignores_paths() {
        assert_eq!(extension("C:\\资料\\房屋.XLSX"), "xlsx");
        assert_eq!(extension("a.b/rooms.Csv"), "csv");
        assert_eq!(extension("rooms"), "");
    }

    #[test]
    fn numbers_print_like_excel() {
        assert_eq!(Cell::Number(13812345678.0).text(), "13812345678");
        assert_eq!(Cell::Number(202.0).text(), "202");
        assert_eq!(Cell::Number(89.5).text(), "89.5");
    }

    #[test]
    fn rows_keep_excel_numbers_across_blank_lines_and_multiline_cells() {
        let sheet = read_text(b"h1,h2\n\na,\"x\ny\"\nb,c\n").unwrap();
        let numbers: Vec<usize> = sheet.rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, vec![1, 3, 4]);
        let sheet = read_text(b"\r\nh\r\n\r\n\r\na\r\n").unwrap();
        let numbers: Vec<usize> = sheet.rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, vec![2, 5]);
    }

    #[test]
    fn tab_separated_utf16_text_is_read() {
        let mut bytes = vec![0xFF, 0xFE];
        for u in "楼栋\t房号\n3\t202\n".encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let sheet = read_text(&bytes).unwrap();
        assert_eq!(sheet.encoding, "UTF-16");
        assert_eq!(
            sheet.rows[1].cells,
            vec![Cell::Text("3".into()), Cell::Text("202".into())]
        );
    }

    #[test]
    fn excel_text_formula_is_unwrapped() {
        assert_eq!(clean(" =\"0302\" "), "0302");
        assert_eq!(clean("=SUM(A1)"), "=SUM(A1)");
    }
}
