//! How much an upload may make us read. A spreadsheet is a compressed or
//! sparse description of a grid: a 600 KB `.xlsx` can inflate to gigabytes
//! of XML, and one cell at `A1` plus one at `XFD1048576` describes a grid of
//! 17 billion cells. Every limit is checked before the memory it protects is
//! allocated, and a refusal names the limit.

use crate::ImportError;

/// Bytes of a text (CSV) file or an `.xls` workbook: the largest upload the
/// server takes.
pub const MAX_FILE_BYTES: usize = 20 * 1024 * 1024;
/// Bytes all parts of an `.xlsx` may inflate to, together. A 100,000-row
/// room list with owners and spaces inflates to roughly 35–40 MB; the shared
/// strings part, which calamine holds in memory whole, is part of it.
pub const MAX_UNCOMPRESSED_BYTES: u64 = 64 * 1024 * 1024;
/// Parts in an `.xlsx` (a real workbook has a few dozen).
pub const MAX_ZIP_ENTRIES: usize = 1_000;
/// Cells of the grid built from the first worksheet (or the CSV text),
/// counting the empty cells between used ones on each row.
pub const MAX_CELLS: usize = 2_000_000;
/// Rows of the first worksheet (or the CSV text) that hold anything.
pub const MAX_ROWS: usize = 200_000;

/// The refusal for going over one of the limits.
pub(crate) fn too_large(zh: String, en: String) -> ImportError {
    ImportError::TooLarge { zh, en }
}

pub(crate) fn file_too_large(len: usize) -> ImportError {
    too_large(
        format!(
            "文件大小 {} MB，超过 {} MB",
            mb(len as u64),
            mb(MAX_FILE_BYTES as u64)
        ),
        format!(
            "the file is {} MB, more than {} MB",
            mb(len as u64),
            mb(MAX_FILE_BYTES as u64)
        ),
    )
}

pub(crate) fn too_many_cells() -> ImportError {
    too_large(
        format!("单元格超过 {MAX_CELLS} 个"),
        format!("more than {MAX_CELLS} cells"),
    )
}

pub(crate) fn too_many_rows() -> ImportError {
    too_large(
        format!("数据行超过 {MAX_ROWS} 行"),
        format!("more than {MAX_ROWS} rows"),
    )
}

pub(crate) fn inflates_too_much() -> ImportError {
    too_large(
        format!("解压后超过 {} MB", mb(MAX_UNCOMPRESSED_BYTES)),
        format!("it unpacks to more than {} MB", mb(MAX_UNCOMPRESSED_BYTES)),
    )
}

fn mb(bytes: u64) -> u64 {
    bytes.div_ceil(1024 * 1024)
}

/// Counts grid cells and used rows as a sheet is assembled.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    cells: usize,
    rows: usize,
}

impl Budget {
    /// Takes `width` cells for one more used row.
    pub(crate) fn take_row(&mut self, width: usize) -> Result<(), ImportError> {
        self.rows += 1;
        if self.rows > MAX_ROWS {
            return Err(too_many_rows());
        }
        self.take_cells(width)
    }

    /// Takes `n` cells.
    pub(crate) fn take_cells(&mut self, n: usize) -> Result<(), ImportError> {
        self.cells = self.cells.saturating_add(n);
        if self.cells > MAX_CELLS {
            return Err(too_many_cells());
        }
        Ok(())
    }
}
