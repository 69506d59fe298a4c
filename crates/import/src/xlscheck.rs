//! An `.xls` is read whole by calamine when it is opened: every sheet's
//! cells become a dense grid spanning their bounding box, and counts in the
//! file's headers size some buffers up front. Neither is compressed, so a
//! 10 KB file with one cell at A1 and one at IV65536 (or a header claiming
//! billions of sectors) asks for gigabytes. This walks the compound file's
//! header and the workbook's BIFF records first and refuses before calamine
//! allocates anything.

use crate::ImportError;
use crate::limits::{Budget, MAX_FILE_BYTES, file_too_large, too_many_cells};
use std::io::{Cursor, Read};

/// Checks an OLE2 (CFB) `.xls` against the limits.
pub(crate) fn check_xls(bytes: &[u8]) -> Result<(), ImportError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(file_too_large(bytes.len()));
    }
    check_header(bytes)?;
    let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).map_err(damaged)?;
    let name = ["/Workbook", "/Book"]
        .into_iter()
        .find(|n| file.is_stream(n))
        .ok_or_else(|| damaged("no workbook stream"))?;
    let mut stream = Vec::new();
    file.open_stream(name)
        .map_err(damaged)?
        .take(MAX_FILE_BYTES as u64)
        .read_to_end(&mut stream)
        .map_err(damaged)?;
    check_sheets(&stream)
}

/// The header's sector counts must fit in the file: calamine reserves
/// memory by them before reading a sector.
fn check_header(bytes: &[u8]) -> Result<(), ImportError> {
    let header = bytes
        .get(..512)
        .ok_or_else(|| damaged("shorter than its header"))?;
    let shift = u16_at(header, 30);
    if !(shift == 9 || shift == 12) {
        return Err(damaged("bad sector size"));
    }
    let sectors = (bytes.len() >> shift) as u64 + 1;
    // Directory, FAT and DIFAT sector counts. calamine also reads the u32 at
    // 62 (half the mini FAT start, half the mini FAT count) as a count to
    // reserve: a real mini FAT is a handful of sectors, so below 256 keeps
    // that reservation small too.
    for (at, max) in [(40, sectors), (44, sectors), (72, sectors), (64, 255)] {
        if u64::from(u32_at(header, at)) > max {
            return Err(damaged("its header counts more sectors than the file has"));
        }
    }
    Ok(())
}

/// Every sheet's grid (bounding box of its cells, and the size its
/// DIMENSIONS record claims) must fit the cell budget, all sheets together.
fn check_sheets(stream: &[u8]) -> Result<(), ImportError> {
    let mut budget = Budget::default();
    let mut sheet = BoundingBox::default();
    let mut at = 0usize;
    while let Some(head) = stream.get(at..at + 4) {
        let typ = u16_at(head, 0);
        let len = usize::from(u16_at(head, 2));
        let Some(data) = stream.get(at + 4..at + 4 + len) else {
            break; // calamine reports the truncated record
        };
        at += 4 + len;
        match typ {
            // BOF: a new substream (the globals or a sheet).
            0x0809 => budget.take_cells(std::mem::take(&mut sheet).cells())?,
            // DIMENSIONS: calamine reserves rows × columns cells from it.
            0x0200 => budget.take_cells(claimed_cells(data)?)?,
            // Number, Label, BoolErr, RK, LabelSst, Formula: one cell at (row, col).
            0x0203 | 0x0204 | 0x0205 | 0x027E | 0x00FD | 0x0006 if data.len() >= 4 => {
                sheet.add(u16_at(data, 0), u16_at(data, 2), u16_at(data, 2));
            }
            // MulRk: a run of cells on one row, last column at the end.
            0x00BD if data.len() >= 6 => {
                let last = u16_at(data, data.len() - 2);
                sheet.add(u16_at(data, 0), u16_at(data, 2), last);
            }
            _ => {}
        }
    }
    budget.take_cells(sheet.cells())
}

/// The cells a DIMENSIONS record makes calamine reserve (BIFF8 rows are 32 bits).
fn claimed_cells(data: &[u8]) -> Result<usize, ImportError> {
    let (first_row, last_row, mut first_col, last_col) = match data.len() {
        10 => (
            u32::from(u16_at(data, 0)),
            u32::from(u16_at(data, 2)),
            u32::from(u16_at(data, 4)),
            u32::from(u16_at(data, 6)),
        ),
        14 => (
            u32_at(data, 0),
            u32_at(data, 4),
            u32::from(u16_at(data, 8)),
            u32::from(u16_at(data, 10)),
        ),
        _ => return Ok(0), // calamine refuses it
    };
    if first_col > 0xFF || last_col < first_col {
        first_col = 0; // as calamine reads it
    }
    if last_row == 0 || last_col == 0 {
        return Ok(0);
    }
    if first_row > last_row - 1 || first_col > last_col - 1 {
        return Err(damaged("its DIMENSIONS record is inverted"));
    }
    let cells = u64::from(last_row - first_row) * u64::from(last_col - first_col);
    usize::try_from(cells).map_err(|_| too_many_cells())
}

/// The rows and columns a sheet's cells span.
#[derive(Debug, Default)]
struct BoundingBox {
    rows: Option<(u16, u16)>,
    cols: Option<(u16, u16)>,
}

impl BoundingBox {
    fn add(&mut self, row: u16, first_col: u16, last_col: u16) {
        let widen = |span: Option<(u16, u16)>, lo: u16, hi: u16| {
            Some(span.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))))
        };
        self.rows = widen(self.rows, row, row);
        self.cols = widen(self.cols, first_col, last_col.max(first_col));
    }

    /// Cells of the dense grid calamine builds over this box.
    fn cells(&self) -> usize {
        match (self.rows, self.cols) {
            (Some((r0, r1)), Some((c0, c1))) => {
                (usize::from(r1 - r0) + 1) * (usize::from(c1 - c0) + 1)
            }
            _ => 0,
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn damaged(e: impl std::fmt::Display) -> ImportError {
    ImportError::Unreadable(format!(
        "it is not a readable Excel 97–2003 workbook ({e}); it may be damaged"
    ))
}
