//! Spreadsheet import throughput, and the estate staying writable while a
//! big import runs, on SQLite and PostgreSQL (issue 13 item 15).
//!
//! A generated `.xlsx` of N rows (default 50,000), each a room with its own
//! owner and phone, one row in five also a parking space of that owner, is
//! imported through the real path (`App::import_file`: parse, check against
//! the estate, stage, make visible) into an empty estate of a fresh database.
//! Meanwhile a probe signs a staff user in every 100 ms (argon2 check plus a
//! session row: a write) and records how long each sign-in took; a sign-in
//! that fails is counted. Afterwards the estate must hold exactly N rooms,
//! N owners and N/5 spaces.
//!
//! ```sh
//! cargo bench -p doorstep --bench import_load -- [--rows 50000] [--reps 3] \
//!     [--backend sqlite|postgres|both] [--pg URL]
//! ```
//! PostgreSQL: `--pg`, else `DOORSTEP_TEST_PG_URL`, else
//! `postgres://postgres@127.0.0.1:5432/test`; one schema per repetition,
//! dropped afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness fails loudly

use doorstep_app::App;
use doorstep_app::auth::hash_password;
use doorstep_domain::{EstateCode, Role};
use doorstep_store::{EstateInput, NewUser, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

struct Args {
    rows: usize,
    reps: usize,
    backends: Vec<&'static str>,
    pg: String,
}

fn args() -> Args {
    let mut a = Args {
        rows: 50_000,
        reps: 3,
        backends: vec!["sqlite", "postgres"],
        pg: std::env::var("DOORSTEP_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--rows" => a.rows = it.next().and_then(|v| v.parse().ok()).expect("--rows N"),
            "--reps" => a.reps = it.next().and_then(|v| v.parse().ok()).expect("--reps N"),
            "--pg" => a.pg = it.next().expect("--pg URL"),
            "--backend" => {
                a.backends = match it.next().as_deref() {
                    Some("sqlite") => vec!["sqlite"],
                    Some("postgres") => vec!["postgres"],
                    Some("both") => vec!["sqlite", "postgres"],
                    other => panic!("--backend sqlite|postgres|both, got {other:?}"),
                }
            }
            _ => {} // cargo bench passes --bench
        }
    }
    a
}

/// The office's list: one room and owner per row, a space on every fifth.
fn workbook(rows: usize) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let headers = [
        "楼栋", "单元", "楼层", "房号", "面积", "业主", "电话", "车位",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for i in 0..rows {
        let r = (i + 1) as u32;
        let floor = i % 60 / 2 + 1;
        ws.write_string(r, 0, format!("{}号楼", i / 240 + 1))
            .unwrap();
        ws.write_string(r, 1, format!("{}", i % 240 / 60 + 1))
            .unwrap();
        ws.write_number(r, 2, floor as f64).unwrap();
        ws.write_string(r, 3, format!("{floor}{:02}", i % 2 + 1))
            .unwrap();
        ws.write_number(r, 4, 60.0 + (i % 900) as f64 / 10.0)
            .unwrap();
        ws.write_string(r, 5, format!("业主{i}")).unwrap();
        ws.write_string(r, 6, format!("139{i:08}")).unwrap();
        if i % 5 == 0 {
            ws.write_string(r, 7, format!("B{i:06}")).unwrap();
        }
    }
    wb.save_to_buffer().unwrap()
}

enum Backend {
    // The directory is kept alive (and removed) with the store.
    Sqlite(
        doorstep_store_sqlite::SqliteStore,
        #[allow(dead_code)] tempfile::TempDir,
    ),
    Pg(doorstep_store_postgres::PgStore, String, String),
}

impl Backend {
    async fn fresh(kind: &str, pg: &str) -> Backend {
        if kind == "sqlite" {
            let dir = tempfile::tempdir().unwrap();
            let s = doorstep_store_sqlite::open(&dir.path().join("bench.sqlite"))
                .await
                .unwrap();
            return Backend::Sqlite(s, dir);
        }
        let schema = format!("bench_import_{}", jiff::Timestamp::now().as_millisecond());
        let s = doorstep_store_postgres::open(pg, Some(&schema))
            .await
            .unwrap();
        Backend::Pg(s, pg.to_string(), schema)
    }
    fn store(&self) -> Arc<dyn Store> {
        match self {
            Backend::Sqlite(s, _) => Arc::new(s.clone()),
            Backend::Pg(s, _, _) => Arc::new(s.clone()),
        }
    }
    async fn drop_it(self) {
        if let Backend::Pg(s, url, schema) = self {
            s.pool().close().await;
            doorstep_store_postgres::drop_schema(&url, &schema)
                .await
                .unwrap();
        }
    }
}

struct Run {
    seconds: f64,
    sign_ins: usize,
    failed: usize,
    slowest: Duration,
}

/// Signs in every 100 ms until `done`; (sign-ins, failures, slowest).
async fn probe(app: App, done: Arc<AtomicBool>) -> (usize, usize, Duration) {
    let (mut n, mut failed, mut slowest) = (0, 0, Duration::ZERO);
    while !done.load(Ordering::Relaxed) {
        let t = Instant::now();
        match app.login("probe", "probe-password").await {
            Ok(_) => n += 1,
            Err(e) => {
                failed += 1;
                eprintln!("    sign-in failed during the import: {e}");
            }
        }
        slowest = slowest.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (n, failed, slowest)
}

async fn once(kind: &str, pg: &str, rows: usize, bytes: &[u8]) -> Run {
    let db = Backend::fresh(kind, pg).await;
    let app = App::new(db.store());
    let company = app
        .store
        .create_company("基准物业", "91110000BENCHMARK8")
        .await
        .unwrap();
    let estate = app
        .store
        .create_estate(
            company.id,
            &EstateInput {
                code: EstateCode::parse("import").unwrap(),
                name: "导入基准".into(),
                timezone: "Asia/Shanghai".into(),
                office: String::new(),
            },
        )
        .await
        .unwrap();
    app.store
        .create_user(&NewUser {
            company_id: company.id,
            username: "probe".into(),
            display_name: "探针".into(),
            password_hash: hash_password("probe-password").unwrap(),
            role: Role::Dispatcher,
            estate_ids: vec![estate.id],
        })
        .await
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let prober = tokio::spawn(probe(app.clone(), done.clone()));
    let t = Instant::now();
    let report = app
        .import_file(&estate, "rooms.xlsx", bytes, false)
        .await
        .unwrap();
    let seconds = t.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let (sign_ins, failed, slowest) = prober.await.unwrap();
    assert!(
        report.applied,
        "the import was applied: {:?}",
        report.errors.first()
    );
    let stats = app.store.estate_stats(estate.id).await.unwrap();
    assert_eq!(
        (stats.rooms, stats.owners, stats.spaces),
        (rows as i64, rows as i64, rows.div_ceil(5) as i64),
        "every row arrived once"
    );
    db.drop_it().await;
    Run {
        seconds,
        sign_ins,
        failed,
        slowest,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let bytes = workbook(a.rows);
    println!(
        "import benchmark: {} rows ({} KB xlsx), {} repetitions (median)",
        a.rows,
        bytes.len() / 1024,
        a.reps
    );
    for kind in &a.backends {
        let mut secs = Vec::new();
        let mut worst = Duration::ZERO;
        let mut failures = 0;
        for rep in 0..a.reps {
            let r = rt.block_on(once(kind, &a.pg, a.rows, &bytes));
            println!(
                "  {kind} rep {}: {:.2} s ({:.0} rows/s); {} sign-ins during it, {} failed, slowest {} ms",
                rep + 1,
                r.seconds,
                a.rows as f64 / r.seconds,
                r.sign_ins,
                r.failed,
                r.slowest.as_millis()
            );
            secs.push(r.seconds);
            worst = worst.max(r.slowest);
            failures += r.failed;
        }
        let s = median(secs);
        println!(
            "{kind}: {} rows — {:.0} rows/s (median {:.2} s); sign-ins during the imports: {failures} failed, slowest {} ms",
            a.rows,
            a.rows as f64 / s,
            s,
            worst.as_millis()
        );
    }
}
