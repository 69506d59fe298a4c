//! Upload bombs (issue 13 item 13): files that are small on the wire but
//! describe gigabytes — an `.xlsx` whose sheet inflates to hundreds of MB
//! (with honest or lying sizes in its ZIP directory), sheets whose few cells
//! span a huge grid, `.xls` files whose records or header claim huge grids,
//! CSV text with millions of cells — are refused, naming the limit, while
//! the process's peak memory barely moves. Peak memory is the kernel's
//! high-water mark (`VmHWM`), reset before each file; the tests take turns
//! so that one's allocations do not count against another.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_import::limits::{MAX_CELLS, MAX_ROWS, MAX_UNCOMPRESSED_BYTES};
use doorstep_import::{ImportError, ParsedImport, parse_file};
use std::io::{Cursor, Read, Write};
use std::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Parses `bytes` and returns the result with how far the peak resident
/// memory rose above where it stood before, in MB.
fn parse_measured(name: &str, bytes: &[u8]) -> (Result<ParsedImport, ImportError>, u64) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // "5" resets the high-water mark to the current resident size (Linux ≥ 4.0).
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_kb("VmRSS:");
    let result = parse_file(name, bytes);
    let peak = status_kb("VmHWM:");
    (result, peak.saturating_sub(before) / 1024)
}

fn assert_too_large(r: &Result<ParsedImport, ImportError>, limit: &str) {
    match r {
        Err(e @ ImportError::TooLarge { .. }) => {
            let text = e.to_string();
            assert!(text.contains("导入上限"), "{text}");
            assert!(text.contains(limit), "{text} names {limit}");
        }
        other => panic!("expected a refusal naming {limit}, got {other:?}"),
    }
}

/// A small real workbook to take the other parts from.
fn template() -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["楼栋", "房号", "面积"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    wb.save_to_buffer().unwrap()
}

/// The template with its first sheet's XML replaced by a header and
/// `rows` copies of one row: about 30 bytes each, compressing ~1000:1.
fn inflating_xlsx(rows: usize) -> Vec<u8> {
    let mut src = zip::ZipArchive::new(Cursor::new(template())).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for i in 0..src.len() {
        let part = src.by_index(i).unwrap();
        if part.name() == "xl/worksheets/sheet1.xml" {
            continue;
        }
        out.raw_copy_file(part).unwrap();
    }
    out.start_file("xl/worksheets/sheet1.xml", deflated)
        .unwrap();
    out.write_all(
        br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#,
    )
    .unwrap();
    let row = b"<row><c t=\"n\"><v>1</v></c></row>".repeat(32 * 1024);
    let mut written = 0;
    while written < rows {
        out.write_all(&row).unwrap();
        written += 32 * 1024;
    }
    out.write_all(b"</sheetData></worksheet>").unwrap();
    out.finish().unwrap().into_inner()
}

/// Rewrites the uncompressed size of `name` in its local header and its
/// central directory entry, as a forger would.
fn claim_size(zip: &mut [u8], name: &str, size: u32) {
    let mut patched = 0;
    for at in 0..zip.len().saturating_sub(46) {
        let (sig, size_at, name_len_at, name_at) = match zip[at..at + 4] {
            [0x50, 0x4b, 0x03, 0x04] => ("local", at + 22, at + 26, at + 30),
            [0x50, 0x4b, 0x01, 0x02] => ("central", at + 24, at + 28, at + 46),
            _ => continue,
        };
        let len = u16::from_le_bytes([zip[name_len_at], zip[name_len_at + 1]]) as usize;
        if zip.get(name_at..name_at + len) == Some(name.as_bytes()) {
            zip[size_at..size_at + 4].copy_from_slice(&size.to_le_bytes());
            patched += 1;
            let _ = sig;
        }
    }
    assert_eq!(patched, 2, "the local header and the directory entry");
}

#[test]
fn xlsx_inflating_to_hundreds_of_megabytes_is_refused_without_reading_it() {
    let bomb = inflating_xlsx(10_000_000); // about 300 MB of sheet XML
    assert!(bomb.len() < 2 * 1024 * 1024, "{} bytes", bomb.len());
    let (r, mb) = parse_measured("bomb.xlsx", &bomb);
    assert_too_large(&r, &format!("{} MB", MAX_UNCOMPRESSED_BYTES / 1024 / 1024));
    assert!(mb < 50, "peak memory rose {mb} MB");
}

#[test]
fn xlsx_whose_directory_understates_the_sizes_is_refused_too() {
    let mut bomb = inflating_xlsx(10_000_000);
    claim_size(&mut bomb, "xl/worksheets/sheet1.xml", 4096);
    let mut check = zip::ZipArchive::new(Cursor::new(&bomb[..])).unwrap();
    assert_eq!(
        check.by_name("xl/worksheets/sheet1.xml").unwrap().size(),
        4096
    );
    let (r, mb) = parse_measured("bomb.xlsx", &bomb);
    assert_too_large(&r, &format!("{} MB", MAX_UNCOMPRESSED_BYTES / 1024 / 1024));
    assert!(mb < 50, "peak memory rose {mb} MB");
}

#[test]
fn a_sheet_with_cells_at_opposite_corners_is_read_without_a_dense_grid() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["楼栋", "房号", "面积"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (c, v) in ["3", "202", "89.5"].iter().enumerate() {
        ws.write_string(1, c as u16, *v).unwrap();
    }
    // 1,048,576 × 16,384 cells if laid out densely.
    ws.write_string(1_048_575, 16_383, "x").unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let (r, mb) = parse_measured("corners.xlsx", &bytes);
    let p = r.unwrap();
    assert_eq!(p.rows.len(), 1, "{:?}", p.errors);
    assert_eq!(p.rows[0].room.as_ref().unwrap().number, "202");
    assert!(mb < 50, "peak memory rose {mb} MB");
}

#[test]
fn a_sheet_whose_rows_span_too_many_cells_is_refused() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    // 200 rows 16,000 columns wide: 3.2 million cells of grid.
    for r in 0..200 {
        ws.write_string(r, 0, "a").unwrap();
        ws.write_string(r, 15_999, "b").unwrap();
    }
    let bytes = wb.save_to_buffer().unwrap();
    let (r, mb) = parse_measured("wide.xlsx", &bytes);
    assert_too_large(&r, &MAX_CELLS.to_string());
    assert!(mb < 50, "peak memory rose {mb} MB");
}

/// One BIFF8 record.
fn record(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut r = typ.to_le_bytes().to_vec();
    r.extend_from_slice(&(data.len() as u16).to_le_bytes());
    r.extend_from_slice(data);
    r
}

fn bof(dt: u16) -> Vec<u8> {
    let mut d = vec![0u8; 16];
    d[0..2].copy_from_slice(&0x0600u16.to_le_bytes());
    d[2..4].copy_from_slice(&dt.to_le_bytes());
    record(0x0809, &d)
}

fn label(row: u16, col: u16, text: &str) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&row.to_le_bytes());
    d.extend_from_slice(&col.to_le_bytes());
    d.extend_from_slice(&0u16.to_le_bytes());
    let units: Vec<u16> = text.encode_utf16().collect();
    d.extend_from_slice(&(units.len() as u16).to_le_bytes());
    d.push(1); // UTF-16
    for u in units {
        d.extend_from_slice(&u.to_le_bytes());
    }
    record(0x0204, &d)
}

fn dimensions(rows: u32, cols: u16) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&0u32.to_le_bytes());
    d.extend_from_slice(&rows.to_le_bytes());
    d.extend_from_slice(&0u16.to_le_bytes());
    d.extend_from_slice(&cols.to_le_bytes());
    d.extend_from_slice(&0u16.to_le_bytes());
    record(0x0200, &d)
}

/// An Excel 97–2003 workbook: one sheet with `dims` and `cells`.
fn xls(dims: (u32, u16), cells: &[(u16, u16, &str)]) -> Vec<u8> {
    let mut sheet = bof(0x0010);
    sheet.extend(dimensions(dims.0, dims.1));
    for (r, c, t) in cells {
        sheet.extend(label(*r, *c, t));
    }
    sheet.extend(record(0x000A, &[]));
    let mut globals = bof(0x0005);
    let boundsheet_len = 4 + 6 + 2 + 6;
    let eof_len = 4;
    let sheet_at = (globals.len() + boundsheet_len + eof_len) as u32;
    let mut bs = sheet_at.to_le_bytes().to_vec();
    bs.extend_from_slice(&[0, 0, 6, 0]);
    bs.extend_from_slice(b"Sheet1");
    globals.extend(record(0x0085, &bs));
    globals.extend(record(0x000A, &[]));
    globals.extend(sheet);
    let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    file.create_stream("/Workbook")
        .unwrap()
        .write_all(&globals)
        .unwrap();
    file.flush().unwrap();
    file.into_inner().into_inner()
}

const ROOM: [(u16, u16, &str); 6] = [
    (0, 0, "楼栋"),
    (0, 1, "房号"),
    (0, 2, "面积"),
    (1, 0, "3"),
    (1, 1, "202"),
    (1, 2, "89.5"),
];

#[test]
fn a_small_xls_is_read() {
    let (r, _) = parse_measured("rooms.xls", &xls((2, 3), &ROOM));
    let p = r.unwrap();
    assert_eq!(p.encoding, "xls");
    assert_eq!(p.rows.len(), 1, "{:?}", p.errors);
    assert_eq!(p.rows[0].room.as_ref().unwrap().number, "202");
}

#[test]
fn an_xls_with_cells_at_opposite_corners_is_refused() {
    let mut cells = ROOM.to_vec();
    cells.push((65_535, 255, "x")); // a dense 65,536 × 256 grid
    let (r, mb) = parse_measured("corners.xls", &xls((2, 3), &cells));
    assert_too_large(&r, &MAX_CELLS.to_string());
    assert!(mb < 50, "peak memory rose {mb} MB");
}

#[test]
fn an_xls_whose_dimensions_claim_a_huge_grid_is_refused() {
    let (r, mb) = parse_measured("claims.xls", &xls((0x7FFF_FFFF, 256), &ROOM));
    assert_too_large(&r, &MAX_CELLS.to_string());
    assert!(mb < 50, "peak memory rose {mb} MB");
}

#[test]
fn an_xls_whose_header_counts_more_sectors_than_it_has_is_refused() {
    let mut bytes = xls((2, 3), &ROOM);
    bytes[64..68].copy_from_slice(&0xFFFFu32.to_le_bytes()); // mini FAT sectors
    let (r, mb) = parse_measured("header.xls", &bytes);
    match r {
        Err(ImportError::Unreadable(m)) => assert!(m.contains("sectors"), "{m}"),
        other => panic!("expected unreadable, got {other:?}"),
    }
    assert!(mb < 50, "peak memory rose {mb} MB");
}

#[test]
fn csv_with_millions_of_cells_or_too_many_rows_is_refused() {
    let commas = vec![b','; MAX_CELLS + 1];
    let (r, mb) = parse_measured("commas.csv", &commas);
    assert_too_large(&r, &MAX_CELLS.to_string());
    assert!(mb < 50, "peak memory rose {mb} MB");

    let mut rows = "楼栋,房号,面积\n".as_bytes().to_vec();
    for i in 0..MAX_ROWS {
        rows.extend_from_slice(format!("1,{i},80\n").as_bytes());
    }
    let (r, _) = parse_measured("rows.csv", &rows);
    assert_too_large(&r, &MAX_ROWS.to_string());

    let mut big = vec![b' '; 21 * 1024 * 1024];
    big[0] = b'a';
    let (r, _) = parse_measured("big.csv", &big);
    assert_too_large(&r, "20 MB");
}

#[test]
fn the_bomb_itself_is_small() {
    // Guards the fixtures: a bomb that is big on the wire proves nothing.
    let bomb = inflating_xlsx(10_000_000);
    let mut zip = zip::ZipArchive::new(Cursor::new(&bomb[..])).unwrap();
    let mut sheet = zip.by_name("xl/worksheets/sheet1.xml").unwrap();
    let mut head = [0u8; 5];
    sheet.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"<?xml");
    assert!(sheet.size() > 250 * 1024 * 1024, "{}", sheet.size());
}
