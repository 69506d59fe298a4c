//! Parsing of room, parking-space and owner lists that property offices keep
//! in Excel or CSV. Pure: takes the uploaded bytes, returns checked rows plus
//! every problem found, so the clerk can fix the whole file in one pass.

mod headers;
pub mod limits;
mod read;
mod rows;
mod xlscheck;
mod zipcheck;

use doorstep_domain::{Area, PhoneNumber};
use std::fmt;

/// Parses an uploaded `.xlsx`, `.xls`, `.csv` or `.txt` file into rows and row errors.
///
/// The format is chosen by the extension of `file_name`; the file system is never touched.
pub fn parse_file(file_name: &str, bytes: &[u8]) -> Result<ParsedImport, ImportError> {
    let sheet = read::read_sheet(file_name, bytes)?;
    let (header_at, columns) = headers::locate(&sheet.rows)?;
    let (rows, errors) = rows::parse_rows(&columns, &sheet.rows[header_at + 1..]);
    if rows.is_empty() && errors.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(ParsedImport {
        rows,
        errors,
        encoding: sheet.encoding,
    })
}

/// The outcome of parsing one file: good rows and problems, both in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedImport {
    /// Rows without any problem.
    pub rows: Vec<ImportRow>,
    /// Every problem found; a row with problems contributes no `ImportRow`.
    pub errors: Vec<RowError>,
    /// How the file was read: `"UTF-8"`, `"GBK"`, `"UTF-16"` (text), `"xlsx"` or `"xls"` (workbook).
    pub encoding: &'static str,
}

/// One data row: a room, a parking space, or both, with an optional owner.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRow {
    /// 1-based row number as shown in Excel (the header is usually row 1).
    pub row: usize,
    /// The room described on this row, if any.
    pub room: Option<RoomRow>,
    /// The parking space described on this row, if any.
    pub space: Option<SpaceRow>,
    /// The owner of the room and/or space on this row, if given.
    pub owner: Option<OwnerRow>,
    /// The room repeats one described on an earlier row (same area) and this
    /// row only adds its owner as a co-owner: the room is not created twice.
    pub co_owner: bool,
}

/// A room as written in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomRow {
    /// Building as written: `3`, `3号楼`, `A座`.
    pub building: String,
    /// Entrance (单元) as written, `""` if none.
    pub entrance: String,
    /// Floor, from the 楼层 column or else from the room number (`1202` → 12).
    pub floor: i32,
    /// Room number as written: `202`, `0302`.
    pub number: String,
    /// Billing floor area.
    pub area: Area,
}

/// A parking space as written in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct SpaceRow {
    /// Space code such as `B007`.
    pub code: String,
    /// Where the space is, such as `地下B1`; `""` if not given.
    pub level: String,
}

/// The owner named on a row.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnerRow {
    /// Owner's name.
    pub name: String,
    /// Owner's phone numbers, without duplicates, in file order.
    pub phones: Vec<PhoneNumber>,
}

/// One problem in one cell (or, with an empty `field`, in a whole row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based row number as shown in Excel.
    pub row: usize,
    /// Column header as written in the file (e.g. `面积`); `""` for a problem with the whole row.
    pub field: String,
    /// The offending cell text, `""` if the cell is empty.
    pub value: String,
    /// What is wrong, worded to follow the quoted value.
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.field.is_empty(), self.value.is_empty()) {
            (true, _) => write!(f, "row {}: {}", self.row, self.message),
            (false, true) => write!(f, "row {}, {}: {}", self.row, self.field, self.message),
            (false, false) => write!(
                f,
                "row {}, {}: \"{}\" {}",
                self.row, self.field, self.value, self.message
            ),
        }
    }
}

/// Why a whole file could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// No data rows at all.
    #[error("the file is empty or has no data rows below the header row")]
    Empty,
    /// The header row lacks the columns needed for rooms (楼栋, 房号, 面积) or spaces (车位).
    #[error(
        "the header row is missing the column(s) {}: a room list needs 楼栋, 房号 and 面积, a parking-space list needs 车位; headers found: {}",
        list(.missing),
        list(.found)
    )]
    MissingHeaders {
        /// Which of 楼栋, 房号, 面积, 车位 are missing.
        missing: Vec<String>,
        /// The header cells found, as written.
        found: Vec<String>,
    },
    /// The file name does not end in a supported extension; holds the file name.
    #[error(
        "{0:?} is not a supported file type: upload an Excel file (.xlsx, .xls) or a CSV file (.csv)"
    )]
    UnsupportedFormat(String),
    /// The file is over one of the [`limits`]: too big, inflates too much, too
    /// many cells or rows. Nothing of it was parsed beyond what the check needed.
    #[error("文件超出导入上限：{zh}。The file is over the import limit: {en}.")]
    TooLarge {
        /// Which limit, in Chinese.
        zh: String,
        /// Which limit, in English.
        en: String,
    },
    /// The bytes could not be read as the format the name claims; holds the reason.
    #[error("the file cannot be read: {0}")]
    Unreadable(String),
}

/// Joins header names for an error message; an empty list still has to read well.
fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}
