//! Billing throughput against its floor, on SQLite and PostgreSQL.
//!
//! A synthetic company (10 estates × 5,000 rooms, property fee by area and a
//! garbage fee per room, 10 periods = 1,000,000 bill lines) is billed through
//! the real path (`App::run_billing`: read inputs, compute lines, insert with
//! the unique key). The floor is a plain bulk insert of the same rows into
//! the same table of a fresh database — same statement size, same
//! transaction size, no conflict clause — measured in the same run.
//!
//! ```sh
//! cargo bench -p doorstep --bench billing -- [--lines 1000000] [--reps 3] [--pg postgres://postgres@127.0.0.1:5432/test] [--no-pg]
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness fails loudly

use doorstep_app::App;
use doorstep_app::billing::compute_lines;
use doorstep_domain::{
    Area, Basis, Category, Cycle, EstateCode, FeeItemSpec, Fen, LateFeePolicy, NewLine, Period,
};
use doorstep_store::{Estate, EstateInput, ImportBatch, RoomInput, Store};
use std::sync::Arc;
use std::time::Instant;

const ESTATES: usize = 10;
const ITEMS: usize = 2;
/// Rows per INSERT statement and per transaction, as in the store.
const STATEMENT: usize = 1000;
const TRANSACTION: usize = 20_000;

struct Args {
    lines: usize,
    reps: usize,
    pg: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        lines: 1_000_000,
        reps: 3,
        pg: Some("postgres://postgres@127.0.0.1:5432/test".into()),
    };
    let mut it = std::env::args().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--lines" => a.lines = it.next().and_then(|v| v.parse().ok()).expect("--lines N"),
            "--reps" => a.reps = it.next().and_then(|v| v.parse().ok()).expect("--reps N"),
            "--pg" => a.pg = it.next(),
            "--no-pg" => a.pg = None,
            _ => {} // cargo bench passes --bench
        }
    }
    a
}

fn item(code: &str, basis: Basis, price: i64) -> FeeItemSpec {
    FeeItemSpec {
        code: code.into(),
        name: code.into(),
        category: Category::Property,
        basis,
        cycle: Cycle::Monthly,
        price: Fen(price),
        due_day: 31,
        late_fee: LateFeePolicy::OFF,
    }
}

/// Seeds the synthetic company; returns its estates.
async fn seed(app: &App, rooms_per_estate: usize) -> Vec<Estate> {
    let company = app
        .store
        .create_company("基准物业", "91110000BENCHMARK8")
        .await
        .unwrap();
    let mut out = Vec::new();
    for e in 0..ESTATES {
        let estate = app
            .store
            .create_estate(
                company.id,
                &EstateInput {
                    code: EstateCode::parse(&format!("bench-{e}")).unwrap(),
                    name: format!("基准{e}"),
                    timezone: "Asia/Shanghai".into(),
                    office: String::new(),
                },
            )
            .await
            .unwrap();
        let rooms = (0..rooms_per_estate)
            .map(|i| RoomInput {
                building: (i / 200 + 1).to_string(),
                entrance: String::new(),
                floor: (i % 200 / 4 + 1) as i32,
                number: format!("{}", i % 200 + 101),
                area: Area::from_centi(6000 + (i as i64 * 37) % 10_000).unwrap(),
            })
            .collect();
        app.store
            .bulk_seed(
                estate.id,
                &ImportBatch {
                    rooms,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        app.store
            .create_fee_item(estate.id, &item("property", Basis::PerArea, 250))
            .await
            .unwrap();
        app.store
            .create_fee_item(estate.id, &item("garbage", Basis::PerRoom, 1500))
            .await
            .unwrap();
        out.push(estate);
    }
    out
}

fn periods(n: usize) -> Vec<Period> {
    let mut p = Period::parse("2026-01").unwrap();
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(p);
        p = p.next();
    }
    v
}

/// The floor's SQL: the store's insert without the conflict clause.
macro_rules! plain_insert {
    ($pool:expr, $db:ty, $estate_id:expr, $lines:expr) => {{
        for tx_chunk in $lines.chunks(TRANSACTION) {
            let mut tx = $pool.begin().await.unwrap();
            for chunk in tx_chunk.chunks(STATEMENT) {
                let mut qb: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                    "INSERT INTO bill_lines (estate_id, object_kind, object_id, fee_item_id, period, unit_price_fen, quantity_centi, amount_fen, due_date, created_at) ",
                );
                qb.push_values(chunk, |mut b, l: &NewLine| {
                    b.push_bind($estate_id)
                        .push_bind(l.object_kind.code())
                        .push_bind(l.object_id)
                        .push_bind(l.fee_item_id)
                        .push_bind(l.period.to_string())
                        .push_bind(l.unit_price.0)
                        .push_bind(l.quantity_centi)
                        .push_bind(l.amount.0)
                        .push_bind(l.due_date.to_string())
                        .push_bind(0_i64);
                });
                qb.build().execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        }
    }};
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
    async fn fresh(pg: Option<&str>, tag: &str) -> Backend {
        match pg {
            None => {
                let dir = tempfile::tempdir().unwrap();
                let s = doorstep_store_sqlite::open(&dir.path().join("bench.sqlite"))
                    .await
                    .unwrap();
                Backend::Sqlite(s, dir)
            }
            Some(url) => {
                let schema = format!("bench_{tag}_{}", jiff::Timestamp::now().as_millisecond());
                let s = doorstep_store_postgres::open(url, Some(&schema))
                    .await
                    .unwrap();
                Backend::Pg(s, url.to_string(), schema)
            }
        }
    }
    fn store(&self) -> Arc<dyn Store> {
        match self {
            Backend::Sqlite(s, _) => Arc::new(s.clone()),
            Backend::Pg(s, _, _) => Arc::new(s.clone()),
        }
    }
    async fn plain_insert(&self, estate_id: i64, lines: &[NewLine]) {
        match self {
            Backend::Sqlite(s, _) => plain_insert!(s.pool(), sqlx::Sqlite, estate_id, lines),
            Backend::Pg(s, _, _) => plain_insert!(s.pool(), sqlx::Postgres, estate_id, lines),
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

/// One repetition: (floor seconds, billing seconds, lines).
async fn once(pg: Option<&str>, lines: usize) -> (f64, f64, usize) {
    let rooms = 5_000.min(lines / (ESTATES * ITEMS)).max(1);
    let n_periods = (lines / (ESTATES * ITEMS * rooms)).max(1);
    let ps = periods(n_periods);

    let floor_db = Backend::fresh(pg, "floor").await;
    let floor_app = App::new(floor_db.store());
    let estates = seed(&floor_app, rooms).await;
    let mut work = Vec::new();
    for e in &estates {
        for p in &ps {
            let inputs = floor_app.store.billing_inputs(e.id, *p).await.unwrap();
            work.push((e.id, compute_lines(&inputs, *p)));
        }
    }
    let total: usize = work.iter().map(|w| w.1.len()).sum();
    let t = Instant::now();
    for (estate_id, lines) in &work {
        floor_db.plain_insert(*estate_id, lines).await;
    }
    let floor = t.elapsed().as_secs_f64();
    floor_db.drop_it().await;

    let bill_db = Backend::fresh(pg, "bill").await;
    let app = App::new(bill_db.store());
    let estates = seed(&app, rooms).await;
    let t = Instant::now();
    let mut created = 0;
    for e in &estates {
        for p in &ps {
            created += app
                .run_billing(e, *p, None, &mut |_, _| {})
                .await
                .unwrap()
                .created;
        }
    }
    let billing = t.elapsed().as_secs_f64();
    assert_eq!(created as usize, total, "billing created every line once");
    bill_db.drop_it().await;
    (floor, billing, total)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut backends: Vec<(&str, Option<String>)> = vec![("SQLite", None)];
    if let Some(url) = a.pg.clone() {
        backends.push(("PostgreSQL", Some(url)));
    }
    println!(
        "billing benchmark: {} lines requested, {} repetitions (median)",
        a.lines, a.reps
    );
    for (name, pg) in backends {
        let mut floors = Vec::new();
        let mut bills = Vec::new();
        let mut ratios = Vec::new();
        let mut n = 0;
        for rep in 0..a.reps {
            let (f, b, lines) = rt.block_on(once(pg.as_deref(), a.lines));
            n = lines;
            println!(
                "  {name} rep {}: floor {:.2} s ({:.0} lines/s), billing {:.2} s ({:.0} lines/s), ratio {:.2}",
                rep + 1,
                f,
                lines as f64 / f,
                b,
                lines as f64 / b,
                b / f
            );
            floors.push(f);
            bills.push(b);
            ratios.push(b / f);
        }
        let (f, b) = (median(floors), median(bills));
        println!(
            "{name}: {n} lines — billing {:.0} lines/s (median {:.2} s), floor {:.0} lines/s (median {:.2} s), billing/floor time ratio {:.2} (median of per-run ratios)",
            n as f64 / b,
            b,
            n as f64 / f,
            f,
            median(ratios)
        );
    }
}
