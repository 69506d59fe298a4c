//! End-to-end tests of the `doorstep` binary, run the way a user runs it:
//! one process per command, each test with its own `--data` folder holding a
//! real SQLite file.
//!
//! Seeding the demo estate takes about a minute in a debug build, so it is
//! done once for the whole file into a pristine folder that no command ever
//! opens again; every test works on its own copy of that database.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_doorstep");

/// The CSV/xlsx column headers of the arrears export, as finance clerks read them.
const ARREARS_HEADERS: [&str; 15] = [
    "房号/车位",
    "业主",
    "电话",
    "收费项目",
    "类别",
    "账期",
    "应缴日期",
    "应收金额(元)",
    "已收(元)",
    "欠费本金(元)",
    "逾期天数",
    "滞纳金(元)",
    "滞纳金计算",
    "合计欠费(元)",
    "状态",
];

// ---------------------------------------------------------------- running

/// What one run of the binary left behind.
struct Run {
    args: Vec<String>,
    out: Output,
}

impl Run {
    fn code(&self) -> Option<i32> {
        self.out.status.code()
    }

    fn success(&self) -> bool {
        self.out.status.success()
    }

    fn stdout(&self) -> String {
        String::from_utf8(self.out.stdout.clone()).expect("stdout is UTF-8")
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.out.stdout).unwrap_or_else(|e| {
            panic!(
                "`doorstep {}` printed no JSON ({e}):\n{}\nstderr:\n{}",
                self.args.join(" "),
                self.stdout(),
                self.stderr()
            )
        })
    }

    /// Panics with both streams unless the command succeeded.
    fn ok(self) -> Run {
        assert!(
            self.success(),
            "`doorstep {}` failed with {:?}\nstdout:\n{}\nstderr:\n{}",
            self.args.join(" "),
            self.code(),
            String::from_utf8_lossy(&self.out.stdout),
            self.stderr()
        );
        self
    }

    /// Panics unless the command failed with exit code `code`.
    fn fails_with(self, code: i32) -> Run {
        assert_eq!(
            self.code(),
            Some(code),
            "`doorstep {}` should exit with {code}\nstdout:\n{}\nstderr:\n{}",
            self.args.join(" "),
            String::from_utf8_lossy(&self.out.stdout),
            self.stderr()
        );
        self
    }

    /// Panics unless the command failed (any non-zero exit).
    fn fails(self) -> Run {
        assert!(
            !self.success(),
            "`doorstep {}` should have failed\nstdout:\n{}\nstderr:\n{}",
            self.args.join(" "),
            String::from_utf8_lossy(&self.out.stdout),
            self.stderr()
        );
        self
    }
}

/// Runs `doorstep --data DATA ARGS…` with a clean, quiet environment.
fn doorstep(data: &Path, args: &[&str]) -> Run {
    let data = data.to_str().expect("temporary paths are UTF-8");
    let mut all = vec!["--data".to_string(), data.to_string()];
    all.extend(args.iter().map(|s| s.to_string()));
    let out = Command::new(BIN)
        .args(&all)
        .env("DOORSTEP_LOG", "warn")
        .env_remove("RUST_BACKTRACE")
        // These would take precedence over --data.
        .env_remove("DOORSTEP_DATABASE_URL")
        .env_remove("DOORSTEP_CONFIG")
        .output()
        .expect("the doorstep binary runs");
    Run { args: all, out }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

// ---------------------------------------------------------------- the demo, seeded once

/// The seeded demo database and what seeding said.
struct Demo {
    /// Pristine folder: only ever copied from, never opened after seeding.
    dir: PathBuf,
    /// Standard error of the seeding run.
    stderr: String,
    /// Today at the estate (China Standard Time) before and after seeding.
    seeded_between: (jiff::civil::Date, jiff::civil::Date),
    /// Unix seconds when seeding had finished.
    seeded_by: i64,
}

static DEMO: OnceLock<Result<Demo, String>> = OnceLock::new();

fn today_in_china() -> jiff::civil::Date {
    // The demo estate's zone, Asia/Shanghai, is UTC+8 all year.
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .date()
}

fn demo() -> &'static Demo {
    match DEMO.get_or_init(seed_demo) {
        Ok(d) => d,
        Err(e) => panic!("seeding the demo estate failed: {e}"),
    }
}

fn seed_demo() -> Result<Demo, String> {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    remove_stale_seeds(base);
    let dir = base.join(format!("cli-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let before = today_in_china();
    let run = doorstep(&dir, &["demo", "--seed-only"]);
    let after = today_in_china();
    let seeded_by = jiff::Timestamp::now().as_second();
    if !run.success() {
        return Err(format!(
            "exit {:?}\nstdout:\n{}\nstderr:\n{}",
            run.code(),
            String::from_utf8_lossy(&run.out.stdout),
            run.stderr()
        ));
    }
    Ok(Demo {
        dir,
        stderr: run.stderr(),
        seeded_between: (before, after),
        seeded_by,
    })
}

/// Seeded folders of earlier test processes that are no longer running.
fn remove_stale_seeds(base: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("cli-demo-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A private copy of the seeded demo database (with its WAL files).
fn demo_copy() -> TempDir {
    let src = &demo().dir;
    let dst = tempfile::tempdir().expect("temporary folder");
    for entry in std::fs::read_dir(src).expect("seeded folder").flatten() {
        if entry.file_type().expect("file type").is_file() {
            std::fs::copy(entry.path(), dst.path().join(entry.file_name()))
                .expect("copying the seeded database");
        }
    }
    assert!(
        dst.path().join("doorstep.sqlite").is_file(),
        "seeding left no doorstep.sqlite in {}",
        src.display()
    );
    dst
}

/// `created demo estate `demo`: 32 buildings, 1536 rooms, …` as a map word → count.
fn seed_counts(stderr: &str) -> BTreeMap<String, u64> {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("created demo estate `demo`:"))
        .unwrap_or_else(|| panic!("no `created demo estate` line in:\n{stderr}"));
    counts_after_colon(line)
}

fn counts_after_colon(line: &str) -> BTreeMap<String, u64> {
    let (_, list) = line.split_once(": ").expect("a colon before the counts");
    list.split(", ")
        .map(|part| {
            let (n, what) = part
                .split_once(' ')
                .unwrap_or_else(|| panic!("`{part}` is not `N things`"));
            let n: u64 = n
                .parse()
                .unwrap_or_else(|_| panic!("`{part}` does not start with a number"));
            (what.to_string(), n)
        })
        .collect()
}

/// The periods the seeding billed, in order (`seeding: bills for 2026-01`).
fn seeded_periods() -> Vec<String> {
    demo()
        .stderr
        .lines()
        .filter_map(|l| l.trim().strip_prefix("seeding: bills for "))
        .map(str::to_string)
        .collect()
}

// ---------------------------------------------------------------- dates and money

fn date(s: &str) -> jiff::civil::Date {
    s.parse()
        .unwrap_or_else(|e| panic!("{s:?} is not a date: {e}"))
}

fn first_day(period: &str) -> jiff::civil::Date {
    date(&format!("{period}-01"))
}

fn period_of(d: jiff::civil::Date) -> String {
    d.strftime("%Y-%m").to_string()
}

fn next_period(period: &str) -> String {
    period_of(
        first_day(period)
            .checked_add(jiff::Span::new().months(1))
            .expect("a next month"),
    )
}

fn days_between(from: jiff::civil::Date, to: jiff::civil::Date) -> i64 {
    i64::from(to.since(from).expect("a span in days").get_days())
}

/// Fen as the plain yuan text the exports use: 34980 → `349.80`.
fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

fn int(v: &Value, key: &str) -> i64 {
    v[key]
        .as_i64()
        .unwrap_or_else(|| panic!("`{key}` is not an integer in {v}"))
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is not a string in {v}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("{v} is not an array"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

// ---------------------------------------------------------------- commands

fn arrears_json(data: &Path, as_of: Option<&str>) -> Value {
    let mut args = vec!["arrears", "--estate", "demo", "--format", "json"];
    if let Some(d) = as_of {
        args.extend(["--as-of", d]);
    }
    doorstep(data, &args).ok().json()
}

/// Runs a billing period with `--json` and returns (created, existing).
fn bill(data: &Path, period: &str) -> (i64, i64) {
    let v = doorstep(
        data,
        &[
            "bill", "run", "--estate", "demo", "--period", period, "--json",
        ],
    )
    .ok()
    .json();
    let keys: Vec<&str> = v
        .as_object()
        .expect("one JSON object")
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["created", "estate", "existing", "period"], "{v}");
    assert_eq!(text(&v, "estate"), "demo");
    assert_eq!(text(&v, "period"), period);
    (int(&v, "created"), int(&v, "existing"))
}

fn import(data: &Path, file: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["import", "--estate", "demo", path_str(file)];
    args.extend_from_slice(extra);
    doorstep(data, &args)
}

/// Checks the invariants of an arrears JSON document and returns its rows.
fn check_arrears(a: &Value) -> &Vec<Value> {
    let as_of = date(text(a, "as_of"));
    assert_eq!(text(a, "estate"), "demo");
    let rows = a["rows"].as_array().expect("rows");
    let (mut principal, mut late, mut total) = (0, 0, 0);
    for r in rows {
        let (p, l, t) = (
            int(r, "principal_owed"),
            int(r, "late_fee_owed"),
            int(r, "total_owed"),
        );
        assert_eq!(t, p + l, "total_owed = principal + late fee in {r}");
        assert!(t > 0, "only owed lines are listed: {r}");
        assert!(p >= 0 && l >= 0, "{r}");
        assert_eq!(
            p,
            int(r, "amount") - int(r, "paid"),
            "principal owed in {r}"
        );
        let due = date(text(r, "due_date"));
        assert!(due <= as_of, "a line not yet due is listed: {r}");
        assert_eq!(
            int(r, "days_overdue"),
            days_between(due, as_of),
            "days overdue in {r}"
        );
        let fee_text = text(r, "late_fee_text");
        match r["late_fee"].as_object() {
            None => {
                assert_eq!(l, 0, "no late fee policy, yet a late fee: {r}");
                assert_eq!(fee_text, "", "{r}");
            }
            Some(c) => {
                let outstanding = c["outstanding"].as_i64().expect("outstanding");
                assert_eq!(l, outstanding, "{r}");
                let (days, ppm, base, accrual) = (
                    c["days"].as_i64().expect("days"),
                    c["daily_rate_ppm"].as_i64().expect("rate"),
                    c["base"].as_i64().expect("base"),
                    c["accrual"].as_i64().expect("accrual"),
                );
                // days × rate × base, rounded half-up to the fen.
                assert_eq!(
                    accrual,
                    (days * ppm * base + 500_000) / 1_000_000,
                    "accrual in {r}"
                );
                assert!(
                    fee_text.contains(&format!("{days}天 × "))
                        && fee_text.contains(&format!("× ¥{} = ¥{}", yuan(base), yuan(accrual))),
                    "late_fee_text {fee_text:?} does not show the calculation of {r}"
                );
            }
        }
        principal += p;
        late += l;
        total += t;
    }
    assert_eq!(int(a, "principal_owed"), principal, "sum of principal owed");
    assert_eq!(int(a, "late_fee_owed"), late, "sum of late fees owed");
    assert_eq!(int(a, "total_owed"), total, "sum of total owed");
    assert_eq!(
        int(a, "total_owed"),
        int(a, "principal_owed") + int(a, "late_fee_owed")
    );
    rows
}

/// RFC 4180 CSV (quotes, doubled quotes, CRLF or LF) into records.
fn parse_csv(s: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

/// Rows of an arrears document for one room or space label.
fn rows_for<'a>(a: &'a Value, object: &str) -> Vec<&'a Value> {
    a["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| text(r, "object") == object)
        .collect()
}

/// (fee item, amount) of rows, sorted.
fn items_and_amounts(rows: &[&Value]) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = rows
        .iter()
        .map(|r| (text(r, "fee_item").to_string(), int(r, "amount")))
        .collect();
    v.sort();
    v
}

/// The error rows, fields and values of an import report.
fn report_errors(report: &Value) -> Vec<(i64, String, String)> {
    report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            let (row, field, value) = (int(e, "row"), text(e, "field"), text(e, "value"));
            let whole = text(e, "text");
            assert!(
                whole.starts_with(&format!("row {row}, {field}:")),
                "error text {whole:?} does not name row {row} and column {field}"
            );
            assert!(whole.contains(text(e, "message")), "{e}");
            (row, field.to_string(), value.to_string())
        })
        .collect()
}

fn outcome(report: &Value) -> BTreeMap<String, i64> {
    report["outcome"]
        .as_object()
        .unwrap_or_else(|| panic!("no outcome in {report}"))
        .iter()
        .map(|(k, v)| (k.clone(), v.as_i64().expect("a count")))
        .collect()
}

fn expect_items(pairs: &[(&str, i64)]) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    v.sort();
    v
}

fn counts(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

// The demo's fee items (crates/app/src/demo.rs), used to derive expected bills:
// 物业服务费 2.50 元/m²/month per room, 垃圾清运费 15 元/month per room,
// 地下车位管理费 300 元/month per owned space; water only where entered.
const PROPERTY: &str = "物业服务费";
const GARBAGE: &str = "垃圾清运费";
const PARKING: &str = "地下车位管理费";
const PROPERTY_FEN_PER_M2: i64 = 250;
const GARBAGE_FEN: i64 = 1500;
const PARKING_FEN: i64 = 30000;
/// Lines a month's billing makes per room (property + garbage) and per owned space.
const LINES_PER_ROOM: i64 = 2;
const LINES_PER_OWNED_SPACE: i64 = 1;

/// Area in hundredths of m² × price, rounded half-up to the fen.
fn property_fee(area_centi: i64) -> i64 {
    (area_centi * PROPERTY_FEN_PER_M2 + 50) / 100
}

// ---------------------------------------------------------------- tests

#[test]
fn demo_seed_reports_its_size_and_a_second_seed_changes_nothing() {
    let d = demo();
    let c = seed_counts(&d.stderr);
    // 20 walk-ups (2 entrances × 6 floors × 2 rooms) and 12 towers (2 × 22 × 2).
    let rooms: u64 = 20 * 2 * 6 * 2 + 12 * 2 * 22 * 2;
    assert_eq!(c["buildings"], 32, "{}", d.stderr);
    assert_eq!(c["rooms"], rooms, "{}", d.stderr);
    assert_eq!(c["spaces"], 320, "{}", d.stderr);
    // One owner per room plus a co-owner for every tenth room (index ≡ 3 mod 10).
    let co_owners = (0..rooms).filter(|i| i % 10 == 3).count() as u64;
    assert_eq!(c["owners"], rooms + co_owners, "{}", d.stderr);
    // Twelve months of property + garbage per room and parking for the 300
    // owned spaces, plus metered water for every third room in the last three.
    let water = rooms.div_ceil(3);
    assert_eq!(
        c["bill lines"],
        12 * (2 * rooms + 300) + 3 * water,
        "{}",
        d.stderr
    );
    let payments = c["payments"];
    assert!(
        payments > 0 && payments < c["bill lines"],
        "payments: {payments}"
    );

    // Twelve consecutive months ending with the month of seeding.
    let periods = seeded_periods();
    assert_eq!(periods.len(), 12, "{}", d.stderr);
    for w in periods.windows(2) {
        assert_eq!(next_period(&w[0]), w[1], "{periods:?}");
    }
    let last = periods.last().expect("a period");
    assert!(
        *last == period_of(d.seeded_between.0) || *last == period_of(d.seeded_between.1),
        "last billed {last}, seeded between {:?}",
        d.seeded_between
    );

    // Seeding the same folder again says so and leaves the data alone.
    let copy = demo_copy();
    let as_of = d.seeded_between.1.to_string();
    let before = doorstep(
        copy.path(),
        &[
            "arrears", "--estate", "demo", "--format", "json", "--as-of", &as_of,
        ],
    )
    .ok();
    let again = doorstep(copy.path(), &["demo", "--seed-only"]).ok();
    let err = again.stderr();
    assert!(!err.contains("seeding:"), "seeded again:\n{err}");
    assert!(!err.contains("created demo estate"), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("demo estate `demo` already exists:"))
        .unwrap_or_else(|| panic!("no `already exists` line:\n{err}"));
    let now = counts_after_colon(line);
    for key in ["rooms", "spaces", "owners", "bill lines"] {
        assert_eq!(now[key], c[key], "{key} after the second seed: {line}");
    }
    let after = doorstep(
        copy.path(),
        &[
            "arrears", "--estate", "demo", "--format", "json", "--as-of", &as_of,
        ],
    )
    .ok();
    assert!(
        before.out.stdout == after.out.stdout,
        "arrears changed after seeding again"
    );
    check_arrears(&after.json());
}

#[test]
fn bill_run_json_is_idempotent_and_counts_the_seeded_lines() {
    let seeded_lines = seed_counts(&demo().stderr)["bill lines"] as i64;
    let periods = seeded_periods();
    let copy = demo_copy();
    let data = copy.path();

    // Every seeded month is complete: rerunning creates nothing, and the
    // lines found add up to what seeding reported.
    let mut existing = Vec::new();
    for p in &periods {
        let (created, found) = bill(data, p);
        assert_eq!(created, 0, "rerunning {p} created lines");
        assert!(found > 0, "{p} has no lines");
        existing.push(found);
    }
    assert_eq!(existing.iter().sum::<i64>(), seeded_lines, "{existing:?}");
    // Water is entered for the last three months only, so the earlier nine are alike.
    assert!(
        existing[..9].iter().all(|&n| n == existing[0]),
        "{existing:?}"
    );
    assert!(
        existing[9..].iter().all(|&n| n > existing[0]),
        "{existing:?}"
    );

    // A new month yields what a month without water has; a rerun creates none.
    let next = next_period(periods.last().expect("a period"));
    let (created, found) = bill(data, &next);
    assert_eq!((created, found), (existing[0], 0), "first run of {next}");
    let (created, found) = bill(data, &next);
    assert_eq!((created, found), (0, existing[0]), "second run of {next}");

    // The same in words.
    let words = doorstep(
        data,
        &["bill", "run", "--estate", "demo", "--period", &next],
    )
    .ok();
    assert_eq!(
        words.stdout(),
        format!(
            "demo {next}: 0 lines created, {} already existed\n",
            existing[0]
        )
    );
}

#[test]
fn bad_period_and_unknown_estate_are_refused_by_name() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let data = dir.path();

    let r = doorstep(
        data,
        &[
            "bill", "run", "--estate", "demo", "--period", "2026-13", "--json",
        ],
    )
    .fails();
    assert!(r.stderr().contains("month 13"), "{}", r.stderr());
    assert!(r.stderr().contains("--period"), "{}", r.stderr());
    assert!(r.out.stdout.is_empty(), "{}", r.stdout());

    let r = doorstep(
        data,
        &["bill", "run", "--estate", "demo", "--period", "2026-3"],
    )
    .fails();
    assert!(r.stderr().contains("YYYY-MM"), "{}", r.stderr());

    let r = doorstep(
        data,
        &[
            "bill", "run", "--estate", "nosuch", "--period", "2026-01", "--json",
        ],
    )
    .fails();
    assert!(r.stderr().contains("\"nosuch\""), "{}", r.stderr());
    assert!(r.stderr().contains("not found"), "{}", r.stderr());
    assert!(r.out.stdout.is_empty(), "{}", r.stdout());

    let r = doorstep(data, &["arrears", "--estate", "nosuch", "--format", "json"]).fails();
    assert!(r.stderr().contains("\"nosuch\""), "{}", r.stderr());

    let file = data.join("rooms.csv");
    std::fs::write(&file, "楼栋,房号,面积\n1,101,80\n").expect("writing");
    let r = doorstep(data, &["import", "--estate", "nosuch", path_str(&file)]).fails();
    assert!(r.stderr().contains("\"nosuch\""), "{}", r.stderr());

    let r = doorstep(
        data,
        &[
            "bill",
            "run",
            "--estate",
            "Not A Code",
            "--period",
            "2026-01",
        ],
    )
    .fails();
    assert!(r.stderr().contains("--estate"), "{}", r.stderr());
}

#[test]
fn arrears_json_csv_and_xlsx_agree() {
    let copy = demo_copy();
    let data = copy.path();

    // Without --as-of the date is today at the estate.
    let before = today_in_china();
    let default = doorstep(data, &["arrears", "--estate", "demo", "--format", "json"]).ok();
    let after = today_in_china();
    let json = default.json();
    let as_of = text(&json, "as_of").to_string();
    assert!(
        as_of == before.to_string() || as_of == after.to_string(),
        "as_of {as_of}, today {before}"
    );
    let explicit = doorstep(
        data,
        &[
            "arrears", "--estate", "demo", "--format", "json", "--as-of", &as_of,
        ],
    )
    .ok();
    assert!(
        default.out.stdout == explicit.out.stdout,
        "--as-of {as_of} differs from the default"
    );

    let rows = check_arrears(&json);
    assert!(!rows.is_empty(), "the demo has arrears");
    assert!(
        rows.iter().any(|r| int(r, "late_fee_owed") > 0),
        "the demo has late fees"
    );
    let (principal, late, total) = (
        int(&json, "principal_owed"),
        int(&json, "late_fee_owed"),
        int(&json, "total_owed"),
    );

    // CSV: UTF-8 with a BOM, Chinese headers, one line per JSON row and a totals line.
    let csv = doorstep(
        data,
        &[
            "arrears", "--estate", "demo", "--format", "csv", "--as-of", &as_of,
        ],
    )
    .ok();
    let bytes = &csv.out.stdout;
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "no UTF-8 BOM");
    let body = std::str::from_utf8(&bytes[3..]).expect("CSV is UTF-8");
    let records = parse_csv(body);
    assert_eq!(records[0], ARREARS_HEADERS, "CSV headers");
    assert_eq!(records.len(), rows.len() + 2, "header + rows + totals");
    for (rec, r) in records[1..=rows.len()].iter().zip(rows) {
        assert_eq!(rec.len(), ARREARS_HEADERS.len(), "{rec:?}");
        assert_eq!(rec[0], text(r, "object"));
        assert_eq!(rec[1], strings(&r["owners"]).join("、"));
        assert_eq!(rec[3], text(r, "fee_item"));
        assert_eq!(rec[5], text(r, "period"));
        assert_eq!(rec[6], text(r, "due_date"));
        assert_eq!(rec[7], yuan(int(r, "amount")));
        assert_eq!(rec[9], yuan(int(r, "principal_owed")));
        assert_eq!(rec[10], int(r, "days_overdue").to_string());
        assert_eq!(rec[11], yuan(int(r, "late_fee_owed")));
        assert_eq!(rec[12], text(r, "late_fee_text"));
        assert_eq!(rec[13], yuan(int(r, "total_owed")));
    }
    let totals = records.last().expect("a totals line");
    assert_eq!(totals[0], "合计");
    assert_eq!(
        (&totals[9], &totals[11], &totals[13]),
        (&yuan(principal), &yuan(late), &yuan(total)),
        "CSV totals"
    );
    let csv_sum: i64 = records[1..=rows.len()]
        .iter()
        .map(|rec| {
            let (y, f) = rec[13].split_once('.').expect("yuan with fen");
            y.parse::<i64>().expect("yuan") * 100 + f.parse::<i64>().expect("fen")
        })
        .sum();
    assert_eq!(csv_sum, total, "CSV line totals add up to the JSON total");

    // xlsx: one sheet 欠费明细, title, bold headers on row 2, money as numbers, totals row.
    let out = data.join("arrears.xlsx");
    let written = doorstep(
        data,
        &[
            "arrears",
            "--estate",
            "demo",
            "--format",
            "xlsx",
            "--as-of",
            &as_of,
            "--out",
            path_str(&out),
        ],
    )
    .ok();
    assert!(written.out.stdout.is_empty(), "{}", written.stdout());
    assert!(
        written
            .stderr()
            .contains(&format!("{} owed lines", rows.len())),
        "{}",
        written.stderr()
    );
    use calamine::{Data, Reader};
    let mut wb = calamine::open_workbook_auto(&out).expect("a readable workbook");
    assert_eq!(wb.sheet_names(), ["欠费明细"]);
    let sheet = wb.worksheet_range("欠费明细").expect("the sheet");
    let cell = |r: usize, c: usize| sheet.get((r, c)).cloned().unwrap_or(Data::Empty);
    let title = cell(0, 0).to_string();
    assert!(
        title.contains("demo") && title.contains(&as_of),
        "title {title:?}"
    );
    let headers: Vec<String> = (0..ARREARS_HEADERS.len())
        .map(|c| cell(1, c).to_string())
        .collect();
    assert_eq!(headers, ARREARS_HEADERS, "xlsx headers");
    assert_eq!(
        sheet.height(),
        rows.len() + 3,
        "title + header + rows + totals"
    );
    let fen = |d: Data| -> i64 {
        match d {
            Data::Float(f) => (f * 100.0).round() as i64,
            Data::Int(i) => i * 100,
            other => panic!("{other:?} is not a number"),
        }
    };
    let mut xlsx_sum = 0;
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(cell(i + 2, 0).to_string(), text(r, "object"));
        assert_eq!(fen(cell(i + 2, 9)), int(r, "principal_owed"));
        assert_eq!(fen(cell(i + 2, 11)), int(r, "late_fee_owed"));
        xlsx_sum += fen(cell(i + 2, 13));
    }
    assert_eq!(xlsx_sum, total, "xlsx line totals add up to the JSON total");
    let t = rows.len() + 2;
    assert_eq!(cell(t, 0).to_string(), "合计");
    assert_eq!(
        (fen(cell(t, 9)), fen(cell(t, 11)), fen(cell(t, 13))),
        (principal, late, total),
        "xlsx totals"
    );

    // Piped (not a terminal), xlsx goes to standard output as the same workbook.
    let piped = doorstep(
        data,
        &[
            "arrears", "--estate", "demo", "--format", "xlsx", "--as-of", &as_of,
        ],
    )
    .ok();
    assert!(
        piped.out.stdout.starts_with(b"PK\x03\x04"),
        "not a zip/xlsx"
    );
}

#[test]
fn arrears_as_of_decides_what_is_due_and_bad_dates_are_refused() {
    let copy = demo_copy();
    let data = copy.path();
    let periods = seeded_periods();

    // Before anything fell due nothing is owed.
    let none = arrears_json(data, Some("2000-01-01"));
    check_arrears(&none);
    assert_eq!(none["rows"].as_array().map(Vec::len), Some(0), "{none}");
    assert_eq!(int(&none, "total_owed"), 0);

    // Early in the seeded year only the first months' lines are due, each at
    // most as late as it is today.
    let early_date = first_day(&periods[1])
        .checked_add(jiff::Span::new().days(19))
        .expect("a date")
        .to_string();
    let early = arrears_json(data, Some(&early_date));
    let today = arrears_json(data, None);
    let early_rows = check_arrears(&early);
    let today_rows = check_arrears(&today);
    assert!(!early_rows.is_empty(), "nothing owed as of {early_date}");
    assert!(early_rows.len() < today_rows.len());
    let by_line: HashMap<i64, &Value> = today_rows.iter().map(|r| (int(r, "line_id"), r)).collect();
    for r in early_rows {
        let later = by_line
            .get(&int(r, "line_id"))
            .unwrap_or_else(|| panic!("owed as of {early_date} but not today: {r}"));
        assert_eq!(
            int(r, "principal_owed"),
            int(later, "principal_owed"),
            "{r}"
        );
        assert!(
            int(r, "late_fee_owed") <= int(later, "late_fee_owed"),
            "{r}"
        );
    }
    assert!(int(&early, "total_owed") < int(&today, "total_owed"));

    for bad in ["2026-02-30", "yesterday"] {
        let r = doorstep(
            data,
            &[
                "arrears", "--estate", "demo", "--format", "json", "--as-of", bad,
            ],
        )
        .fails();
        assert!(r.stderr().contains("--as-of"), "{}", r.stderr());
        assert!(r.stderr().contains(bad), "{}", r.stderr());
        assert!(r.out.stdout.is_empty(), "{}", r.stdout());
    }
}

#[test]
fn import_gbk_csv_then_billing_adds_lines_for_the_new_objects_only() {
    let copy = demo_copy();
    let data = copy.path();
    let next = next_period(seeded_periods().last().expect("a period"));
    let (before_import, _) = bill(data, &next);
    assert!(before_import > 0);

    // Saved as "CSV" by Chinese Excel: GBK, Chinese headers and names.
    let csv_text = "楼栋,单元,房号,面积,业主,电话,车位,车位区域\r\n\
                50,1,101,89.50,张三丰,13800138000,,\r\n\
                50,1,102,120,李四,13900139000,C001,地下B3\r\n\
                51,,201,75.25,欧阳修,13700137000 / 010-12345678,,\r\n\
                ,,,,周芷若,13600136000,C002,地下B3\r\n";
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(csv_text);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&gbk).is_err(),
        "the file must not be UTF-8"
    );
    let file = data.join("房屋.csv");
    std::fs::write(&file, &gbk).expect("writing");

    let report = import(data, &file, &["--json"]).ok().json();
    assert_eq!(text(&report, "encoding"), "GBK", "{report}");
    assert_eq!(
        (int(&report, "rows"), int(&report, "valid_rows")),
        (4, 4),
        "{report}"
    );
    assert_eq!(report_errors(&report), vec![]);
    assert_eq!(report["applied"], Value::Bool(true));
    assert_eq!(
        outcome(&report),
        counts(&[
            ("rooms_created", 3),
            ("spaces_created", 2),
            ("owners_created", 4),
            ("owners_matched", 0),
            ("buildings_created", 2),
        ])
    );

    // The next month now also bills the three rooms and the two owned spaces.
    let (created, existing) = bill(data, &next);
    assert_eq!(existing, before_import);
    assert_eq!(created, 3 * LINES_PER_ROOM + 2 * LINES_PER_OWNED_SPACE);

    // With names and amounts as written in the file.
    let end = first_day(&next).last_of_month().to_string();
    let a = arrears_json(data, Some(&end));
    check_arrears(&a);
    let r101 = rows_for(&a, "50号楼1单元101室");
    assert_eq!(
        items_and_amounts(&r101),
        expect_items(&[(PROPERTY, property_fee(8950)), (GARBAGE, GARBAGE_FEN)])
    );
    assert_eq!(strings(&r101[0]["owners"]), ["张三丰"]);
    assert_eq!(strings(&r101[0]["phones"]), ["13800138000"]);
    let r102 = rows_for(&a, "50号楼1单元102室");
    assert_eq!(
        items_and_amounts(&r102),
        expect_items(&[(PROPERTY, property_fee(12000)), (GARBAGE, GARBAGE_FEN)])
    );
    let r201 = rows_for(&a, "51号楼201室");
    assert_eq!(
        items_and_amounts(&r201),
        expect_items(&[(PROPERTY, property_fee(7525)), (GARBAGE, GARBAGE_FEN)])
    );
    assert_eq!(strings(&r201[0]["owners"]), ["欧阳修"]);
    assert_eq!(strings(&r201[0]["phones"]).len(), 2, "{}", r201[0]);
    for (code, owner) in [("C001", "李四"), ("C002", "周芷若")] {
        let rows: Vec<&Value> = a["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .filter(|r| text(r, "object").ends_with(&format!("车位{code}")))
            .collect();
        assert_eq!(
            items_and_amounts(&rows),
            expect_items(&[(PARKING, PARKING_FEN)]),
            "{code}"
        );
        assert!(text(rows[0], "object").contains("地下B3"), "{}", rows[0]);
        assert_eq!(strings(&rows[0]["owners"]), [owner]);
    }

    // Importing the same file again clashes with what is now there; nothing changes.
    let again = import(data, &file, &[]).fails_with(2);
    assert!(
        again
            .stderr()
            .contains("50号楼1单元101室 already exists in estate demo"),
        "{}",
        again.stderr()
    );
    assert!(
        again.stdout().contains("nothing imported"),
        "{}",
        again.stdout()
    );
    assert_eq!(bill(data, &next), (0, before_import + created));
}

/// Five data rows: four invalid in different ways, one (row 6) valid.
const BAD_ROWS: &str = "楼栋,单元,房号,面积,业主,电话\n\
                        60,1,101,-5,赵六,13600136000\n\
                        60,1,102,80,钱七,12345\n\
                        60,1,101,90,孙八,13500135000\n\
                        1,1,101,80,周九,13300133000\n\
                        60,1,103,88,吴十,13200132000\n";

fn check_bad_rows_report(report: &Value) {
    assert_eq!(text(report, "encoding"), "UTF-8");
    assert_eq!(
        (int(report, "rows"), int(report, "valid_rows")),
        (5, 1),
        "{report}"
    );
    assert_eq!(
        report_errors(report),
        [
            (2, "面积".to_string(), "-5".to_string()),
            (3, "电话".to_string(), "12345".to_string()),
            (4, "房号".to_string(), "101".to_string()),
            (5, "房号".to_string(), "101".to_string()),
        ],
        "{report}"
    );
    let errors = report["errors"].as_array().expect("errors");
    assert!(
        text(&errors[0], "message").contains("greater than 0"),
        "{}",
        errors[0]
    );
    assert!(
        text(&errors[2], "message").contains("row 2"),
        "{}",
        errors[2]
    );
    assert!(
        text(&errors[3], "message").contains("1号楼1单元101室 already exists"),
        "{}",
        errors[3]
    );
}

#[test]
fn import_with_invalid_rows_exits_2_and_writes_nothing() {
    let copy = demo_copy();
    let data = copy.path();
    let file = data.join("rooms.csv");
    std::fs::write(&file, BAD_ROWS).expect("writing");

    let r = import(data, &file, &["--json"]).fails_with(2);
    let report = r.json();
    check_bad_rows_report(&report);
    assert_eq!(report["applied"], Value::Bool(false));
    assert_eq!(report["outcome"], Value::Null);

    // In words: every error by row and column, and what to do.
    let r = import(data, &file, &[]).fails_with(2);
    let err = r.stderr();
    for needle in [
        "row 2, 面积: \"-5\"",
        "row 3, 电话: \"12345\"",
        "row 4, 房号: \"101\"",
        "row 5, 房号:",
    ] {
        assert!(err.contains(needle), "{needle:?} not in:\n{err}");
    }
    assert!(r.stdout().contains("nothing imported"), "{}", r.stdout());
    assert!(r.stdout().contains("--skip-invalid"), "{}", r.stdout());

    // Nothing was written: the rooms, the building and the owner of the one
    // valid row are all still new.
    let good = data.join("good.csv");
    std::fs::write(
        &good,
        "楼栋,单元,房号,面积,业主,电话\n\
         60,1,101,95,赵六,13600136000\n\
         60,1,102,80,钱七,13100131000\n\
         60,1,103,88,吴十,13200132000\n",
    )
    .expect("writing");
    let report = import(data, &good, &["--json"]).ok().json();
    assert_eq!(report_errors(&report), vec![]);
    assert_eq!(
        outcome(&report),
        counts(&[
            ("rooms_created", 3),
            ("spaces_created", 0),
            ("owners_created", 3),
            ("owners_matched", 0),
            ("buildings_created", 1),
        ])
    );
}

#[test]
fn import_skip_invalid_imports_the_valid_rows_only() {
    let copy = demo_copy();
    let data = copy.path();
    let file = data.join("rooms.csv");
    std::fs::write(&file, BAD_ROWS).expect("writing");

    let report = import(data, &file, &["--json", "--skip-invalid"])
        .ok()
        .json();
    check_bad_rows_report(&report);
    assert_eq!(report["applied"], Value::Bool(true));
    assert_eq!(
        outcome(&report),
        counts(&[
            ("rooms_created", 1),
            ("spaces_created", 0),
            ("owners_created", 1),
            ("owners_matched", 0),
            ("buildings_created", 1),
        ])
    );

    // Row 6 was written …
    let row6 = data.join("row6.csv");
    std::fs::write(
        &row6,
        "楼栋,单元,房号,面积,业主,电话\n60,1,103,88,吴十,13200132000\n",
    )
    .expect("writing");
    let r = import(data, &row6, &["--json"]).fails_with(2);
    let report = r.json();
    assert_eq!(
        report_errors(&report),
        [(2, "房号".to_string(), "103".to_string())]
    );
    assert!(
        text(&report["errors"][0], "message").contains("60号楼1单元103室 already exists"),
        "{report}"
    );

    // … and the invalid rows were not: their rooms are still new, in the
    // building row 6 created, and row 6's owner is found by name and phone.
    let rest = data.join("rest.csv");
    std::fs::write(
        &rest,
        "楼栋,单元,房号,面积,业主,电话\n\
         60,1,101,95,赵六,13600136000\n\
         60,1,102,80,吴十,13200132000\n",
    )
    .expect("writing");
    let report = import(data, &rest, &["--json"]).ok().json();
    assert_eq!(
        outcome(&report),
        counts(&[
            ("rooms_created", 2),
            ("spaces_created", 0),
            ("owners_created", 1),
            ("owners_matched", 1),
            ("buildings_created", 0),
        ])
    );

    // All rows invalid: nothing to import even with --skip-invalid.
    let r = import(data, &row6, &["--json", "--skip-invalid"]).fails_with(2);
    assert_eq!(r.json()["applied"], Value::Bool(false));
}

#[test]
fn import_xlsx_with_title_row_numbers_and_an_existing_owner() {
    let copy = demo_copy();
    let data = copy.path();
    let next = next_period(seeded_periods().last().expect("a period"));
    let (before_import, _) = bill(data, &next);

    // An owner already on file, taken from the demo's own arrears.
    let a = arrears_json(data, None);
    let known = a["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| {
            text(r, "object_kind") == "room" && r["owners"].as_array().map(Vec::len) == Some(1)
        })
        .expect("a room with one owner");
    let known_name = strings(&known["owners"])[0].clone();
    let known_phone = strings(&known["phones"])[0].clone();

    // As an office keeps it: a merged title row, numbers typed as numbers.
    let file = data.join("房屋信息.xlsx");
    {
        use rust_xlsxwriter::{Format, Workbook};
        let mut wb = Workbook::new();
        let s = wb.add_worksheet();
        s.merge_range(0, 0, 0, 7, "幸福里小区房屋信息表", &Format::new())
            .unwrap();
        for (c, h) in [
            "楼栋",
            "单元",
            "房号",
            "建筑面积(㎡)",
            "业主",
            "联系电话",
            "车位",
            "区域",
        ]
        .iter()
        .enumerate()
        {
            s.write_string(1, c as u16, *h).unwrap();
        }
        // Excel row 3: all numbers.
        s.write_number(2, 0, 70.0).unwrap();
        s.write_number(2, 1, 1.0).unwrap();
        s.write_number(2, 2, 1202.0).unwrap();
        s.write_number(2, 3, 89.5).unwrap();
        s.write_string(2, 4, "欧阳娜娜").unwrap();
        s.write_number(2, 5, 13912345678.0).unwrap();
        // Excel row 4: text, leading zero kept, the known owner.
        for (c, v) in [
            "70",
            "2",
            "0302",
            "120.5",
            known_name.as_str(),
            known_phone.as_str(),
        ]
        .iter()
        .enumerate()
        {
            s.write_string(3, c as u16, *v).unwrap();
        }
        // Excel row 5: zero area.
        s.write_number(4, 0, 70.0).unwrap();
        s.write_number(4, 1, 1.0).unwrap();
        s.write_number(4, 2, 1203.0).unwrap();
        s.write_number(4, 3, 0.0).unwrap();
        // Excel row 6: a parking space for the first owner.
        s.write_string(5, 4, "欧阳娜娜").unwrap();
        s.write_number(5, 5, 13912345678.0).unwrap();
        s.write_string(5, 6, "D001").unwrap();
        s.write_string(5, 7, "地下B2").unwrap();
        wb.save(&file).unwrap();
    }

    let report = import(data, &file, &["--json", "--skip-invalid"])
        .ok()
        .json();
    assert_eq!(text(&report, "encoding"), "xlsx");
    assert_eq!(
        (int(&report, "rows"), int(&report, "valid_rows")),
        (4, 3),
        "{report}"
    );
    assert_eq!(
        report_errors(&report),
        [(5, "建筑面积(㎡)".to_string(), "0".to_string())],
        "Excel row numbers and the header as written"
    );
    assert_eq!(
        outcome(&report),
        counts(&[
            ("rooms_created", 2),
            ("spaces_created", 1),
            ("owners_created", 1),
            ("owners_matched", 1),
            ("buildings_created", 1),
        ])
    );

    let (created, existing) = bill(data, &next);
    assert_eq!(existing, before_import);
    assert_eq!(created, 2 * LINES_PER_ROOM + LINES_PER_OWNED_SPACE);
    let end = first_day(&next).last_of_month().to_string();
    let a = arrears_json(data, Some(&end));
    check_arrears(&a);
    let r1202 = rows_for(&a, "70号楼1单元1202室");
    assert_eq!(
        items_and_amounts(&r1202),
        expect_items(&[(PROPERTY, property_fee(8950)), (GARBAGE, GARBAGE_FEN)])
    );
    assert_eq!(strings(&r1202[0]["phones"]), ["13912345678"]);
    let r0302 = rows_for(&a, "70号楼2单元0302室");
    assert_eq!(
        items_and_amounts(&r0302),
        expect_items(&[(PROPERTY, property_fee(12050)), (GARBAGE, GARBAGE_FEN)])
    );
    assert!(
        strings(&r0302[0]["owners"]).contains(&known_name),
        "{}",
        r0302[0]
    );
    assert!(rows_for(&a, "70号楼1单元1203室").is_empty());

    // Again without --skip-invalid: every imported row now clashes, and the
    // bad row is still bad; nothing is written.
    let r = import(data, &file, &["--json"]).fails_with(2);
    let errs: Vec<(i64, String)> = report_errors(&r.json())
        .into_iter()
        .map(|(row, field, _)| (row, field))
        .collect();
    assert_eq!(
        errs,
        [
            (3, "房号".to_string()),
            (4, "房号".to_string()),
            (5, "建筑面积(㎡)".to_string()),
            (6, "车位".to_string()),
        ]
    );
    assert_eq!(bill(data, &next), (0, before_import + created));
}

#[test]
fn import_co_owners_listed_on_rows_of_their_own() {
    let dir = demo_copy();
    let file = dir.path().join("co.csv");
    std::fs::write(&file, "楼栋,单元,房号,面积,业主,电话\n61,1,101,88.00,陈一,13811110001\n61,1,101,88.00,陈二,13811110002\n").unwrap();
    let report = doorstep(
        dir.path(),
        &[
            "import",
            "--estate",
            "demo",
            file.to_str().unwrap(),
            "--json",
        ],
    )
    .ok()
    .json();
    assert_eq!(report["outcome"]["rooms_created"], 1, "{report}");
    assert_eq!(report["outcome"]["owners_created"], 2, "{report}");
    // Both owners are on the room, and its arrears name both after billing.
    let next = next_period(&period_of(today_in_china()));
    bill(dir.path(), &next);
    let a = arrears_json(
        dir.path(),
        Some(&first_day(&next_period(&next)).to_string()),
    );
    let row = a["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["object"] == "61号楼1单元101室")
        .expect("the new room is billed");
    assert_eq!(
        strings(&row["owners"]),
        vec!["陈一".to_string(), "陈二".to_string()]
    );
}

#[test]
fn route_solve_prints_checked_routes_with_the_files_ids() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tiny.txt");
    // Customers numbered as in the file; 11 and 12 share a window with 13.
    std::fs::write(
        &file,
        "TINY\n\nVEHICLE\nNUMBER     CAPACITY\n  5         10\n\nCUSTOMER\nCUST NO.  XCOORD. YCOORD. DEMAND READY DUE SERVICE\n\n 0 0 0 0 0 1000 0\n 11 10 0 4 0 500 5\n 12 0 10 4 0 500 5\n 13 -10 0 4 0 500 5\n 14 0 -10 4 0 500 5\n",
    )
    .unwrap();
    let out = doorstep(
        dir.path(),
        &[
            "route",
            "solve",
            file.to_str().unwrap(),
            "--time-limit",
            "0.2",
            "--json",
        ],
    )
    .ok()
    .json();
    let routes: Vec<Vec<String>> = serde_json::from_value(out["routes"].clone()).unwrap();
    let mut visited: Vec<String> = routes.iter().flatten().cloned().collect();
    visited.sort();
    assert_eq!(visited, vec!["11", "12", "13", "14"]);
    assert_eq!(out["vehicles"].as_u64().unwrap() as usize, routes.len());
    assert!(
        routes.iter().all(|r| r.len() <= 2),
        "capacity 10 holds two customers of 4"
    );
    assert!(out["distance"].as_f64().unwrap() > 0.0);
    let bad = dir.path().join("bad.txt");
    std::fs::write(
        &bad,
        "X\nVEHICLE\nNUMBER CAPACITY\n 2 10\nCUSTOMER\nCUST NO.\n0 0 0 0 0 100 0\n1 1 1 1 0 x 0\n",
    )
    .unwrap();
    let err = doorstep(dir.path(), &["route", "solve", bad.to_str().unwrap()])
        .fails()
        .stderr();
    assert!(
        err.contains("line 8") && err.contains("\"x\" is not a number"),
        "{err}"
    );
}

#[test]
fn site_plan_of_the_demo_estate_with_a_route() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.svg");
    let run = doorstep(
        dir.path(),
        &[
            "route",
            "site-plan",
            "--stops",
            "3/2,25/18,B007",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .ok();
    let text = String::from_utf8_lossy(&run.out.stdout).to_string();
    assert!(
        text.contains("building 25, floor 18") && text.contains("parking space B007"),
        "{text}"
    );
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<polyline"));
    let err = doorstep(
        dir.path(),
        &[
            "route",
            "site-plan",
            "--stops",
            "99/2",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .fails()
    .stderr();
    assert!(err.contains("no building 99"), "{err}");
}

#[test]
fn demo_has_a_walking_model_bookings_and_an_outbox() {
    let data = demo_copy();
    // The stored walking model parses and names the demo's buildings.
    let model = doorstep(data.path(), &["route", "model", "--estate", "demo"]).ok();
    let text = model.stdout();
    assert!(
        text.contains("building 32"),
        "{}",
        &text[..200.min(text.len())]
    );
    // A broken model is refused with its line, and the stored one is kept.
    let bad = data.path().join("bad-model.txt");
    std::fs::write(&bad, "speed 1.2\noffice 0 0\nbuilding 3 forty 20 lift\n").unwrap();
    let r = doorstep(
        data.path(),
        &[
            "route",
            "model",
            "--estate",
            "demo",
            "--set",
            path_str(&bad),
        ],
    );
    assert!(!r.success());
    assert!(r.stderr().contains("line 3"), "{}", r.stderr());
    let again = doorstep(data.path(), &["route", "model", "--estate", "demo"]).ok();
    assert_eq!(again.stdout(), text);
    let r = doorstep(data.path(), &["route", "model", "--estate", "nowhere"]);
    assert!(
        !r.success() && r.stderr().contains("--estate"),
        "{}",
        r.stderr()
    );
    // The demo's bookings queued their reminders in the outbox.
    let out = doorstep(data.path(), &["outbox", "--limit", "500", "--json"])
        .ok()
        .json();
    let reminders: Vec<&Value> = out
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "reminder")
        .collect();
    assert!(reminders.len() >= 30, "{} reminders", reminders.len());
    assert!(
        reminders
            .iter()
            .all(|m| m["body"].as_str().unwrap().contains("上门收取")),
        "{reminders:?}"
    );
    let one = reminders[0]["recipient"].as_str().unwrap();
    let mine = doorstep(data.path(), &["outbox", "--recipient", one]).ok();
    assert!(mine.stdout().contains(one), "{}", mine.stdout());
}

/// The largest value of `sql` (one column, one row) in the SQLite file.
fn max_of(file: &Path, sql: &str) -> Option<String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(async {
            let store = doorstep_store_sqlite::open(file)
                .await
                .expect("the database");
            let v: Option<String> = sqlx::query_scalar(sql)
                .fetch_one(store.pool())
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            v
        })
}

#[test]
fn nothing_in_the_demo_is_dated_after_it_was_seeded() {
    let d = demo();
    let copy = demo_copy();
    let file = copy.path().join("doorstep.sqlite");
    let (_, today) = d.seeded_between;
    let count = max_of(&file, "SELECT CAST(COUNT(*) AS TEXT) FROM payments");
    assert!(
        count.as_deref().unwrap_or("0").parse::<i64>().unwrap() > 1000,
        "the demo has payments: {count:?}"
    );
    let last_day = max_of(&file, "SELECT MAX(paid_on) FROM payments").unwrap();
    assert!(
        date(&last_day) <= today,
        "a payment is dated {last_day}, after {today}"
    );
    for (what, sql) in [
        ("payment", "SELECT CAST(MAX(paid_at) AS TEXT) FROM payments"),
        (
            "receipt",
            "SELECT CAST(MAX(created_at) AS TEXT) FROM receipts",
        ),
        (
            "booking",
            "SELECT CAST(MAX(created_at) AS TEXT) FROM bookings",
        ),
        (
            "booking event",
            "SELECT CAST(MAX(at) AS TEXT) FROM booking_events",
        ),
        (
            "check-in",
            "SELECT CAST(MAX(recorded_at) AS TEXT) FROM checkins",
        ),
        (
            "visit",
            "SELECT CAST(MAX(starts_at) AS TEXT) FROM bookings WHERE visit_result IS NOT NULL \
             OR status IN ('visited', 'owner_absent')",
        ),
    ] {
        if let Some(at) = max_of(&file, sql) {
            let at: i64 = at.parse().unwrap();
            assert!(
                at <= d.seeded_by,
                "a {what} is dated {at}, {} s after seeding finished",
                at - d.seeded_by
            );
        }
    }
}

#[test]
fn setup_refuses_a_credit_code_with_a_wrong_check_character() {
    let dir = tempfile::tempdir().unwrap();
    let setup = |code: &str| {
        doorstep(
            dir.path(),
            &[
                "setup",
                "--company",
                "幸福里物业",
                "--credit-code",
                code,
                "--password",
                "a-long-password",
            ],
        )
    };
    // The demo's old code: its check character should be K.
    let r = setup("91310115MA1K4XQ27Y").fails();
    assert!(
        r.stderr().contains("--credit-code") && r.stderr().contains("should be K"),
        "{}",
        r.stderr()
    );
    let r = setup("91310115MA1K4XQ27").fails();
    assert!(
        r.stderr().contains("--credit-code") && r.stderr().contains("18 characters"),
        "{}",
        r.stderr()
    );
    let file = dir.path().join("doorstep.sqlite");
    let companies = || max_of(&file, "SELECT CAST(COUNT(*) AS TEXT) FROM companies");
    assert_eq!(
        companies().as_deref(),
        Some("0"),
        "a refused setup stores nothing"
    );
    // The same code typed in lower case is valid and stored canonically.
    setup("91310115ma1k4xq27k").ok();
    assert_eq!(companies().as_deref(), Some("1"));
    assert_eq!(
        max_of(&file, "SELECT MAX(credit_code) FROM companies").as_deref(),
        Some("91310115MA1K4XQ27K")
    );
}

#[test]
fn ledger_check_passes_on_the_demo_and_merchant_settings_are_checked() {
    let dir = demo_copy();
    let r = doorstep(dir.path(), &["ledger", "check", "--json"]).ok();
    let report = r.json();
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    assert!(int(&report, "entries") > 1, "{report}");
    assert!(
        int(&report, "payments") > 0,
        "the demo's payments are journaled: {report}"
    );
    let human = doorstep(dir.path(), &["ledger", "check"]).ok().stdout();
    assert!(human.contains("ledger OK"), "{human}");

    // A merchant file with a broken key is refused, naming the field; nothing is stored.
    let bad = dir.path().join("wechat.json");
    std::fs::write(
        &bad,
        r#"{"provider":"wechat","mchid":"1900000109","appid":"wx1","serial_no":"AB","private_key":"not a key","apiv3_key":"0123456789abcdef0123456789abcdef","public_key_id":"PUB_KEY_ID_1","public_key":"not a key"}"#,
    )
    .unwrap();
    let company = "幸福里物业服务有限公司";
    let r = doorstep(
        dir.path(),
        &[
            "merchant",
            "set",
            "--company",
            company,
            "--file",
            path_str(&bad),
        ],
    )
    .fails();
    assert!(r.stderr().contains("private_key"), "{}", r.stderr());
    let listed = doorstep(dir.path(), &["merchant", "list", "--company", company]).ok();
    assert!(listed.stdout().trim().is_empty(), "{}", listed.stdout());
    let r = doorstep(
        dir.path(),
        &[
            "merchant",
            "set",
            "--company",
            "没有这家公司",
            "--file",
            path_str(&bad),
        ],
    )
    .fails();
    assert!(r.stderr().contains("--company"), "{}", r.stderr());
}

/// WeChat merchant settings in certificate mode with one platform
/// certificate valid until `not_after`.
fn wechat_settings_with_cert(not_after: i64) -> String {
    use doorstep_payments::keys;
    let pem = include_str!("../../payments/tests/data/wechat/merchant_test_key.pem");
    let key = keys::load_private_key(pem).unwrap();
    let cert = keys::self_signed_certificate(&key, &[0x5A, 0xC3], "Test", 1_600_000_000, not_after)
        .unwrap();
    serde_json::json!({
        "provider": "wechat", "mchid": "1900000109", "appid": "wx1", "serial_no": "AB",
        "private_key": pem, "apiv3_key": "0123456789abcdef0123456789abcdef",
        "platform_certificates": [cert],
    })
    .to_string()
}

#[test]
fn merchant_set_refuses_expired_platform_certificates_and_warns_before() {
    let dir = demo_copy();
    let company = "幸福里物业服务有限公司";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let file = dir.path().join("wechat.json");
    let set = |not_after: i64| {
        std::fs::write(&file, wechat_settings_with_cert(not_after)).unwrap();
        doorstep(
            dir.path(),
            &[
                "merchant",
                "set",
                "--company",
                company,
                "--file",
                path_str(&file),
            ],
        )
    };
    let list = || {
        doorstep(dir.path(), &["merchant", "list", "--company", company])
            .ok()
            .stdout()
    };

    let r = set(now - 86_400).fails();
    assert!(
        r.stderr().contains("platform_certificates"),
        "{}",
        r.stderr()
    );
    assert!(r.stderr().contains("5AC3 expired on"), "{}", r.stderr());
    assert!(list().trim().is_empty(), "nothing stored");

    // Far from expiry: stored, no warning.
    let r = set(now + 90 * 86_400).ok();
    assert!(!r.stderr().contains("warning"), "{}", r.stderr());
    assert!(!list().contains("expires on"), "{}", list());

    // Within 30 days: stored, with a warning at set time and in the list.
    let r = set(now + 10 * 86_400).ok();
    assert!(
        r.stderr()
            .contains("warning: platform certificate 5AC3 expires on"),
        "{}",
        r.stderr()
    );
    let listed = list();
    assert!(listed.contains("1900000109"), "{listed}");
    assert!(listed.contains("5AC3 expires on"), "{listed}");
    assert!(listed.contains("days left"), "{listed}");
}

/// Receipt No. `number` of company 1 as the server at `public_url` prints it.
fn receipt_pdf(data: &Path, number: i64, public_url: &str) -> Vec<u8> {
    let file = data.join("doorstep.sqlite");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(async {
            let store = doorstep_store_sqlite::open(&file)
                .await
                .expect("the database");
            let mut app = doorstep_app::App::new(std::sync::Arc::new(store));
            app.pay.public_url = public_url.into();
            let r = app
                .store
                .receipt_by_number(1, number)
                .await
                .expect("lookup")
                .expect("the receipt");
            app.receipt_pdf(&r, doorstep_receipt::Layout::A5)
                .await
                .expect("the PDF")
        })
}

#[test]
fn a_receipt_pdf_verifies_only_as_printed_from_the_command_line() {
    let dir = demo_copy();
    doorstep(dir.path(), &["receipt", "issue"]).ok();
    let url = "https://wy.example.com";
    let pdf = receipt_pdf(dir.path(), 1, url);
    let f = dir.path().join("r1.pdf");
    std::fs::write(&f, &pdf).unwrap();
    let ok = doorstep(
        dir.path(),
        &["verify", "receipt", path_str(&f), "--public-url", url],
    )
    .ok()
    .stdout();
    assert!(ok.starts_with("VALID"), "{ok}");
    // One text run of page 1 changed, the embedded note untouched.
    std::fs::write(&f, doorstep_receipt::tamper::alter_text_run(&pdf)).unwrap();
    let r = doorstep(
        dir.path(),
        &["verify", "receipt", path_str(&f), "--public-url", url],
    )
    .fails();
    assert!(
        r.stdout().starts_with("INVALID") && r.stdout().contains("页面内容与签名不符"),
        "{}",
        r.stdout()
    );
    // Receipt 2's pages carrying receipt 1's note.
    let spliced = doorstep_receipt::tamper::splice_note(&receipt_pdf(dir.path(), 2, url), &pdf);
    std::fs::write(&f, spliced).unwrap();
    let r = doorstep(
        dir.path(),
        &["verify", "receipt", path_str(&f), "--public-url", url],
    )
    .fails();
    assert!(r.stdout().contains("another receipt"), "{}", r.stdout());
    // Saved again by another program: check by number and code instead.
    std::fs::write(&f, doorstep_receipt::tamper::resave(&pdf)).unwrap();
    let r = doorstep(
        dir.path(),
        &["verify", "receipt", path_str(&f), "--public-url", url],
    )
    .fails();
    assert!(r.stdout().contains("验证码"), "{}", r.stdout());
    // The QR code is part of the page: one printed for another address is
    // not what this server prints.
    std::fs::write(&f, &pdf).unwrap();
    let r = doorstep(
        dir.path(),
        &[
            "verify",
            "receipt",
            path_str(&f),
            "--public-url",
            "https://elsewhere.example",
        ],
    )
    .fails();
    assert!(r.stdout().contains("INVALID"), "{}", r.stdout());
}

#[test]
fn receipts_verify_and_the_evidence_log_checks_from_the_command_line() {
    let dir = demo_copy();
    // The demo's payments were recorded without a server: their receipts
    // wait, numbered, until the receipt job (here, the command) signs them.
    let issued = doorstep(dir.path(), &["receipt", "issue"]).ok().stdout();
    let n: u64 = issued
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or(0);
    assert!(n > 0, "{issued}");
    let v = doorstep(dir.path(), &["verify", "receipt", "1", "--json"])
        .ok()
        .json();
    assert_eq!(v["verdict"], "valid", "{v}");
    assert_eq!(v["content"]["number"], 1, "{v}");
    let human = doorstep(dir.path(), &["verify", "receipt", "No.2"])
        .ok()
        .stdout();
    assert!(human.starts_with("VALID"), "{human}");
    // A number never issued is invalid (exit 1), and says so.
    let bad = doorstep(dir.path(), &["verify", "receipt", "99999999"]).fails();
    assert!(bad.stdout().contains("INVALID"), "{}", bad.stdout());
    // A signed note saved to a file verifies; one changed byte does not.
    let note = v["receipt"]["note"].as_str().unwrap().to_string();
    let f = dir.path().join("r1.note");
    std::fs::write(&f, &note).unwrap();
    doorstep(dir.path(), &["verify", "receipt", path_str(&f)]).ok();
    let forged = note.replacen("\"number\":1,", "\"number\":7,", 1);
    assert_ne!(forged, note);
    std::fs::write(&f, &forged).unwrap();
    let r = doorstep(dir.path(), &["verify", "receipt", path_str(&f)]).fails();
    assert!(r.stdout().contains("INVALID"), "{}", r.stdout());
    // Rotation keeps old receipts valid.
    doorstep(dir.path(), &["receipt", "rotate-key", "--company", "1"]).ok();
    let keys = doorstep(dir.path(), &["receipt", "keys", "--company", "1"])
        .ok()
        .stdout();
    assert!(
        keys.contains("active") && keys.contains("retired"),
        "{keys}"
    );
    doorstep(dir.path(), &["verify", "receipt", "1"]).ok();
    // The log: a checkpoint, then an intact audit.
    let cp = doorstep(dir.path(), &["evidence", "checkpoint"])
        .ok()
        .stdout();
    assert!(cp.contains("1 checkpoint"), "{cp}");
    let check = doorstep(dir.path(), &["evidence", "check"]).ok().stdout();
    assert!(check.contains("intact"), "{check}");
    // A file that is not a bundle is refused with its name.
    let r = doorstep(dir.path(), &["verify", "bundle", path_str(&f)]).fails();
    assert!(r.stderr().contains("r1.note"), "{}", r.stderr());
}
