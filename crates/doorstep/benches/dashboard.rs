//! The management dashboard at company scale (issue 7): "the dashboard for a
//! company with 200 estates and 1,000,000 rooms over 24 months of bills loads
//! in under 1 s on PostgreSQL and SQLite".
//!
//! **Data.** The store is opened (which runs the migrations); the company,
//! its estates, their fee items and an admin are made through `Store`
//! methods; everything else is bulk SQL on a separate connection to the same
//! database (SQLite: the same file; PostgreSQL: the same URL with
//! `search_path` set to the schema), as an operator importing history would:
//! - 25 buildings per estate, `--rooms` rooms per estate (60–160 m²), one
//!   parking space per ten rooms;
//! - two fee items per estate: 物业服务费 (per m², 1.50–3.49 元/m²/月 by
//!   estate, due on the 15th, a late fee of 0.03 %/day after 30 days) and
//!   车位管理费 (per space, 80–299 元/月, no late fee);
//! - one line per room (and per space) per month for `--months` months ending
//!   with the current month, inserted month by month (each month's lines
//!   together, estate after estate, as monthly billing runs leave them);
//! - the payments of each month across all estates in time order, with their
//!   allocations: ~90 % of rooms pay (35 % monthly, 50 % a quarter's lines at
//!   once, 15 % half a year's), between 10 days before and ~5 weeks after the
//!   due date of the last month they pay; ~8 % pay a quarter at a time 2–10
//!   months late (arrears carried over several months); ~2 % never pay (30 %
//!   of their lines waived as vacant); 0.5 % of all lines waived, 0.8 % of paid
//!   lines paid only half (`partly_paid`); method WeChat Pay 40 %, Alipay 30 %,
//!   cash 30 %, at the counter. Late fees are paid with the principal where
//!   due. Every line's `status`, `paid_principal_fen` and
//!   `late_fee_paid_fen` agree with its allocations. Payment ids are
//!   `(pay day - first day) * 2^24 + object key`, so the payments lie in time
//!   order (SQLite keeps rows in id order). Mid-quarter the current month's
//!   rate is low by design: quarterly and half-yearly payers pay after the
//!   last month of their group is due.
//!
//! Everything is deterministic (multiplicative hashes of ids, no RNG). Only
//! the base tables are written (`bill_lines`, `payments`,
//! `payment_allocations`, …): running totals kept by triggers fill
//! themselves. Not generated: the ledger (journal entries), receipts and
//! evidence records, owners, bookings and visits — the dashboard's collection
//! figures do not read them (its visit and cash panels show zeros). After the
//! import: `ANALYZE` (PostgreSQL) / `ANALYZE` + `PRAGMA optimize` (SQLite).
//!
//! **Measurement.** The real server (`doorstep_web::serve`) on 127.0.0.1 on a
//! 2-worker runtime in this process; an admin's console session (cookie) and
//! bearer token; one warm-up, then `--reps` GETs (fewer if `--budget`
//! seconds are used up) of each URL, each checked (200, the collection rate
//! element `rate-overall` in the HTML, JSON that parses):
//! - the company dashboard `/console/dashboard?period=…` (skipped if 404),
//! - the company report `/api/v1/reports/company?period=…` (skipped if 404),
//! - the first estate's dashboard `/console/{code}/dashboard?period=…`,
//! - that estate's collection report `/api/v1/estates/{code}/reports/collection?period=…`;
//!
//! plus, in-process, the store's reads behind them (`report_totals` and
//! `report_paid_between` for the company and the estate), and the
//! database's size.
//!
//! ```sh
//! cargo bench -p doorstep --bench dashboard -- --backend sqlite|postgres \
//!     [--estates 200] [--rooms 5000] [--months 24] [--reps 9] [--budget 300] \
//!     [--dir DIR] [--pg URL] [--schema NAME] [--keep] [--reuse]
//! ```
//! SQLite: `DIR/dashboard.sqlite` (default: a temporary directory). PostgreSQL:
//! `--pg`, else `DOORSTEP_TEST_PG_URL`, else
//! `postgres://postgres@127.0.0.1:5432/test`, schema `--schema` (default
//! `bench_dashboard_<ms>`). `--keep` keeps the database; `--reuse` measures an
//! existing one (same `--dir`/`--schema`) without generating — opening it
//! runs any new migrations first, which is timed. Without `--reuse` the
//! SQLite file is replaced and so is the schema (only a `bench_*` one).
//!
//! At full size on a 2-core machine, generating took 24 min on SQLite
//! (26.4 M lines, 13.2 M payments, 23.2 M allocations, 7.1 GB) and runs at
//! ~13,000 lines/s on PostgreSQL (about an hour); `--estates 200 --rooms 500`
//! (nearly as many company-level totals: a tenth of the time) or
//! `--estates 20 --rooms 5000` (an estate at full size) are quicker.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness fails loudly

use doorstep_app::App;
use doorstep_app::auth::token_hash;
use doorstep_domain::{
    Basis, Category, Cycle, EstateCode, FeeItemSpec, Fen, LateFeeCap, LateFeePolicy, Period, Role,
};
use doorstep_store::{Estate, EstateInput, NewUser, ReportScope, Store};
use jiff::civil::Date;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const COMPANY: &str = "看板基准物业";
const ADMIN: &str = "dash-admin";
const BUILDINGS: i64 = 25;
/// One parking space per this many rooms.
const ROOMS_PER_SPACE: i64 = 10;
/// Payment ids are `(pay day - first day) * PID_DAY + object key`.
const PID_DAY: i64 = 1 << 24;

struct Opts {
    backend: String,
    estates: i64,
    rooms: i64,
    months: i64,
    reps: usize,
    budget: f64,
    dir: Option<PathBuf>,
    pg: String,
    schema: Option<String>,
    keep: bool,
    reuse: bool,
}

fn opts() -> Opts {
    let mut o = Opts {
        backend: "sqlite".into(),
        estates: 200,
        rooms: 5000,
        months: 24,
        reps: 9,
        budget: 300.0,
        dir: None,
        pg: std::env::var("DOORSTEP_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        schema: None,
        keep: false,
        reuse: false,
    };
    let mut it = std::env::args().skip(1);
    fn num<T: std::str::FromStr>(v: Option<String>, what: &str) -> T {
        v.and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{what} N"))
    }
    while let Some(x) = it.next() {
        match x.as_str() {
            "--backend" => {
                o.backend = match it.next().as_deref() {
                    Some("sqlite") => "sqlite".into(),
                    Some("postgres") | Some("pg") => "postgres".into(),
                    other => panic!("--backend sqlite|postgres, not {other:?}"),
                }
            }
            "--estates" => o.estates = num::<i64>(it.next(), "--estates").max(1),
            "--rooms" => o.rooms = num::<i64>(it.next(), "--rooms").max(BUILDINGS),
            "--months" => o.months = num::<i64>(it.next(), "--months").clamp(1, 120),
            "--reps" => o.reps = num::<usize>(it.next(), "--reps").max(1),
            "--budget" => o.budget = num(it.next(), "--budget"),
            "--dir" => o.dir = Some(it.next().expect("--dir DIR").into()),
            "--pg" => o.pg = it.next().expect("--pg URL"),
            "--schema" => o.schema = Some(it.next().expect("--schema NAME")),
            "--keep" => o.keep = true,
            "--reuse" => o.reuse = true,
            _ => {} // cargo bench passes --bench
        }
    }
    o
}

// ---------------------------------------------------------------------------
// The two dialects and a plain connection for the bulk SQL.

#[derive(Clone, Copy, PartialEq)]
enum Dialect {
    Sqlite,
    Pg,
}

impl Dialect {
    /// A subquery yielding `i` = 0 … n-1.
    fn seq(self, n: i64) -> String {
        match self {
            Dialect::Sqlite => format!(
                "(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < {n}) SELECT i FROM s)"
            ),
            Dialect::Pg => format!("(SELECT generate_series(0, {n} - 1) AS i)"),
        }
    }
    /// `YYYY-MM-DD` of a day number (days since 1970-01-01).
    fn day_text(self, day: &str) -> String {
        match self {
            Dialect::Sqlite => format!("date(({day}) * 86400, 'unixepoch')"),
            Dialect::Pg => {
                format!("to_char(DATE '1970-01-01' + CAST(({day}) AS INTEGER), 'YYYY-MM-DD')")
            }
        }
    }
    /// Lets an INSERT give the identity column's values (PostgreSQL).
    fn overriding(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Pg => "OVERRIDING SYSTEM VALUE",
        }
    }
}

enum Conn {
    Sqlite(sqlx::SqliteConnection),
    Pg(sqlx::PgConnection),
}

impl Conn {
    async fn open(db: &Db) -> Conn {
        use sqlx::ConnectOptions;
        use std::str::FromStr;
        match db {
            Db::Sqlite { path, .. } => {
                let mut c = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(path)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(60))
                    .connect()
                    .await
                    .unwrap();
                // A 1 GB page cache for the import (the unique key's index is
                // written all over at every month).
                sqlx::raw_sql("PRAGMA cache_size = -1000000; PRAGMA temp_store = MEMORY")
                    .execute(&mut c)
                    .await
                    .unwrap();
                Conn::Sqlite(c)
            }
            Db::Pg { url, schema, .. } => {
                let mut c = sqlx::postgres::PgConnectOptions::from_str(url)
                    .unwrap()
                    .options([("search_path", schema.as_str())])
                    .connect()
                    .await
                    .unwrap();
                sqlx::raw_sql("SET work_mem = '256MB'")
                    .execute(&mut c)
                    .await
                    .unwrap();
                Conn::Pg(c)
            }
        }
    }

    fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Pg(_) => Dialect::Pg,
        }
    }

    /// Runs SQL (one or more statements); rows affected.
    async fn exec(&mut self, sql: &str) -> u64 {
        let r = match self {
            Conn::Sqlite(c) => sqlx::raw_sql(sql)
                .execute(c)
                .await
                .map(|r| r.rows_affected()),
            Conn::Pg(c) => sqlx::raw_sql(sql)
                .execute(c)
                .await
                .map(|r| r.rows_affected()),
        };
        r.unwrap_or_else(|e| panic!("{e}\nin: {sql}"))
    }

    /// The one BIGINT a query returns.
    async fn int(&mut self, sql: &str) -> i64 {
        let r = match self {
            Conn::Sqlite(c) => sqlx::query_scalar::<_, i64>(sql).fetch_one(c).await,
            Conn::Pg(c) => sqlx::query_scalar::<_, i64>(sql).fetch_one(c).await,
        };
        r.unwrap_or_else(|e| panic!("{e}\nin: {sql}"))
    }

    async fn try_int(&mut self, sql: &str) -> Option<i64> {
        match self {
            Conn::Sqlite(c) => sqlx::query_scalar::<_, i64>(sql).fetch_one(c).await.ok(),
            Conn::Pg(c) => sqlx::query_scalar::<_, i64>(sql).fetch_one(c).await.ok(),
        }
    }

    async fn close(self) {
        use sqlx::Connection;
        match self {
            Conn::Sqlite(c) => c.close().await.unwrap(),
            Conn::Pg(c) => c.close().await.unwrap(),
        }
    }
}

// ---------------------------------------------------------------------------
// The database under test.

enum Db {
    Sqlite {
        store: doorstep_store_sqlite::SqliteStore,
        path: PathBuf,
        /// A temporary directory, removed at the end unless kept.
        tmp: Option<tempfile::TempDir>,
    },
    Pg {
        store: doorstep_store_postgres::PgStore,
        url: String,
        schema: String,
    },
}

impl Db {
    async fn open(o: &Opts) -> Db {
        if o.backend == "postgres" {
            let schema = o.schema.clone().unwrap_or_else(|| {
                format!(
                    "bench_dashboard_{}",
                    jiff::Timestamp::now().as_millisecond()
                )
            });
            if !o.reuse {
                // A fresh start drops only a benchmark's schema.
                assert!(
                    schema.starts_with("bench_"),
                    "--schema {schema}: only bench_* schemas are replaced (or pass --reuse)"
                );
                doorstep_store_postgres::drop_schema(&o.pg, &schema)
                    .await
                    .unwrap();
            }
            let store = doorstep_store_postgres::open(&o.pg, Some(&schema))
                .await
                .unwrap();
            Db::Pg {
                store,
                url: o.pg.clone(),
                schema,
            }
        } else {
            let (dir, tmp) = match &o.dir {
                Some(d) => {
                    std::fs::create_dir_all(d).unwrap();
                    (d.clone(), None)
                }
                None => {
                    let t = tempfile::tempdir().unwrap();
                    (t.path().to_path_buf(), Some(t))
                }
            };
            let path = dir.join("dashboard.sqlite");
            if !o.reuse {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            let store = doorstep_store_sqlite::open(&path).await.unwrap();
            Db::Sqlite { store, path, tmp }
        }
    }

    fn store(&self) -> Arc<dyn Store> {
        match self {
            Db::Sqlite { store, .. } => Arc::new(store.clone()),
            Db::Pg { store, .. } => Arc::new(store.clone()),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Db::Sqlite { .. } => "SQLite",
            Db::Pg { .. } => "PostgreSQL",
        }
    }

    /// Bytes on disk: the SQLite file (after a WAL checkpoint) or the
    /// schema's tables with their indexes and TOAST.
    async fn size(&self, conn: &mut Conn) -> i64 {
        match self {
            Db::Sqlite { path, .. } => {
                conn.exec("PRAGMA wal_checkpoint(TRUNCATE)").await;
                let wal = std::fs::metadata(format!("{}-wal", path.display()))
                    .map(|m| m.len())
                    .unwrap_or(0);
                (std::fs::metadata(path).unwrap().len() + wal) as i64
            }
            Db::Pg { schema, .. } => {
                conn.int(&format!(
                    "SELECT CAST(COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS BIGINT) FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = '{}' AND c.relkind = 'r'",
                    schema.replace('\'', "")
                ))
                .await
            }
        }
    }

    async fn finish(self, keep: bool) {
        match self {
            Db::Sqlite { store, path, tmp } => {
                store.pool().close().await;
                if keep {
                    if let Some(t) = tmp {
                        let _ = t.keep();
                    }
                    println!("kept the database: {}", path.display());
                }
            }
            Db::Pg { store, url, schema } => {
                store.pool().close().await;
                if keep {
                    println!("kept the database: schema {schema} at {url}");
                } else {
                    doorstep_store_postgres::drop_schema(&url, &schema)
                        .await
                        .unwrap();
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The synthetic company.

/// A month of the window.
struct Month {
    /// Months since 1970-01.
    am: i64,
    period: String,
    due: String,
    due_no: i64,
    /// First day of the month and of the next, as day numbers.
    first_no: i64,
    next_no: i64,
    /// The billing run: the 1st, 02:00 local time (unix seconds).
    created: i64,
}

fn day_no(d: Date) -> i64 {
    d.since(jiff::civil::date(1970, 1, 1))
        .unwrap()
        .get_days()
        .into()
}

/// Day 0 is local midnight; China has no DST.
fn local_midnight(day: i64) -> i64 {
    day * 86_400 - 8 * 3600
}

fn window(today: Date, n: i64) -> Vec<Month> {
    let mut p = Period::parse(&today.to_string()[..7]).unwrap();
    let mut v = Vec::new();
    for _ in 0..n {
        let first = p.first_day();
        let next = p.next().first_day();
        let due = p.day(15);
        v.push(Month {
            am: (i64::from(first.year()) - 1970) * 12 + i64::from(first.month()) - 1,
            period: p.to_string(),
            due: due.to_string(),
            due_no: day_no(due),
            first_no: day_no(first),
            next_no: day_no(next),
            created: local_midnight(day_no(first)) + 2 * 3600,
        });
        p = p.prev();
    }
    v.reverse();
    v
}

/// `(x mod 2^32) * a mod 2^32`, top 16 bits: 0 … 65535. `a` < 2^31 keeps
/// the product inside a BIGINT on both databases.
fn h(x: &str, a: i64) -> String {
    format!("(((CAST(({x}) AS BIGINT) % 4294967296) * {a} % 4294967296) / 65536)")
}
const A_CLASS: i64 = 1_597_334_677;
const A_GROUP: i64 = 1_103_515_245;
const A_DELAY: i64 = 1_812_433_253;
const A_JITTER: i64 = 1_566_083_941;
const A_WAIVE: i64 = 1_140_671_485;
const A_PART: i64 = 2_147_483_629;
const A_METHOD: i64 = 1_664_525_397;
const A_TIME: i64 = 1_013_904_223;
const A_AREA: i64 = 1_234_567_891;

/// The rooms and spaces with their fee item and their payer's habits:
/// `klass` 0 pays, 1 pays late, 2 never pays; `g` months per payment;
/// `delay` days after the due date of the last month paid.
fn objects_cte(estate_filter: &str) -> String {
    format!(
        "objs AS (\
           SELECT 'room' AS kind, r.id AS oid, f.id AS fid, f.price_fen AS price, r.area_centi AS qty, \
                  (r.area_centi * f.price_fen + 50) / 100 AS amount, r.id * 2 AS o2, 1 AS lf, r.estate_id AS estate_id \
           FROM rooms r JOIN fee_items f ON f.estate_id = r.estate_id AND f.code = 'property' WHERE r.estate_id {estate_filter} \
           UNION ALL \
           SELECT 'space', s.id, f.id, f.price_fen, 100, f.price_fen, s.id * 2 + 1, 0, s.estate_id \
           FROM spaces s JOIN fee_items f ON f.estate_id = s.estate_id AND f.code = 'parking' WHERE s.estate_id {estate_filter}), \
         k AS (SELECT objs.*, {r} % 100 AS r, {s} % 100 AS s, {d} AS d FROM objs), \
         k2 AS (SELECT kind, oid, fid, price, qty, amount, o2, lf, estate_id, \
                  CASE WHEN r < 90 THEN 0 WHEN r < 98 THEN 1 ELSE 2 END AS klass, \
                  CASE WHEN r >= 90 THEN 3 WHEN s < 35 THEN 1 WHEN s < 85 THEN 3 ELSE 6 END AS g, \
                  CASE WHEN r < 90 THEN d % 40 - 10 ELSE 60 + d % 240 END AS delay FROM k)",
        r = h("o2", A_CLASS),
        s = h("o2", A_GROUP),
        d = h("o2", A_DELAY),
    )
}

/// The day a payer pays the group of months ending with month `gl`
/// (the 15th of `gl`, ±1 day, plus the payer's delay and a jitter of up to a
/// week for prompt payers; every line of a group gets the same day).
fn pay_day(gl: &str) -> String {
    format!(
        "(CAST(({gl}) AS BIGINT) * 30436875 / 1000000 + 14 + delay + CASE WHEN klass = 0 THEN {j} % 8 ELSE 0 END)",
        j = h(&format!("o2 * 4096 + ({gl}) / g"), A_JITTER)
    )
}

fn months_cte(ms: &[Month]) -> String {
    let rows: Vec<String> = ms
        .iter()
        .map(|m| format!("({}, '{}')", m.am, m.period))
        .collect();
    format!("months(am, period) AS (VALUES {})", rows.join(", "))
}

/// One month's lines of one estate, in their final state.
fn lines_sql(d: Dialect, m: &Month, estate_id: i64, today: i64, admin: i64) -> String {
    let am = m.am;
    let gl = format!("(({am} / g) * g + g - 1)");
    format!(
        "WITH {objs}, \
         l AS (SELECT k2.*, {pay} AS pay_day, {v} % 1000 AS v, {w} % 1000 AS w FROM k2), \
         l2 AS (SELECT l.*, CASE WHEN v < 5 OR (klass = 2 AND v >= 700) THEN 1 ELSE 0 END AS waived FROM l), \
         l3 AS (SELECT l2.*, CASE WHEN waived = 0 AND klass < 2 AND pay_day <= {today} THEN 1 ELSE 0 END AS paid FROM l2), \
         l4 AS (SELECT l3.*, CASE WHEN paid = 0 THEN 0 WHEN w < 8 THEN amount / 2 ELSE amount END AS principal FROM l3), \
         l5 AS (SELECT l4.*, CASE WHEN paid = 1 AND lf = 1 AND pay_day - {due_no} > 30 \
                  THEN principal * (pay_day - {due_no} - 30) * 3 / 10000 ELSE 0 END AS late FROM l4) \
         INSERT INTO bill_lines (estate_id, object_kind, object_id, fee_item_id, period, unit_price_fen, quantity_centi, \
           amount_fen, due_date, status, paid_principal_fen, late_fee_paid_fen, checkpoint_date, checkpoint_fen, \
           line_waived_reason, line_waived_by, line_waived_at, created_at) \
         SELECT estate_id, kind, oid, fid, '{period}', price, qty, amount, '{due}', \
           CASE WHEN waived = 1 THEN 'waived' WHEN paid = 0 THEN 'unpaid' WHEN principal < amount THEN 'partly_paid' ELSE 'paid' END, \
           principal, late, CASE WHEN paid = 1 AND lf = 1 THEN {pay_text} END, late, \
           CASE WHEN waived = 1 THEN '空置减免' END, CASE WHEN waived = 1 THEN {admin} END, \
           CASE WHEN waived = 1 THEN {waived_at} END, {created} \
         FROM l5 ORDER BY kind, oid",
        objs = objects_cte(&format!("= {estate_id}")),
        pay = pay_day(&gl),
        v = h(&format!("o2 * 4096 + {am}"), A_WAIVE),
        w = h(&format!("o2 * 4096 + {am}"), A_PART),
        due_no = m.due_no,
        period = m.period,
        due = m.due,
        pay_text = d.day_text("pay_day"),
        waived_at = m.created + 20 * 86_400,
        created = m.created,
    )
}

/// The groups of months paid during month `c` (all estates) into `bench_paid`.
fn paid_groups_sql(ms: &[Month], c: usize, today: i64) -> String {
    let m = &ms[c];
    let from = ms[c.saturating_sub(10)].am;
    format!(
        "DELETE FROM bench_paid; \
         WITH {months}, {objs}, \
         cand AS (SELECT k2.*, months.am AS gl, {pay} AS pay_day FROM k2 JOIN months ON months.am BETWEEN {from} AND {am} \
                  WHERE klass < 2 AND (months.am + 1) % g = 0 AND (klass = 1 OR months.am >= {am} - 1)) \
         INSERT INTO bench_paid (pid, estate_id, kind, oid, fid, g, gl, pay_day) \
         SELECT (pay_day - {day0}) * {PID_DAY} + o2, estate_id, kind, oid, fid, g, gl, pay_day FROM cand \
         WHERE pay_day >= {first} AND pay_day < {next} AND pay_day <= {today}",
        months = months_cte(ms),
        objs = objects_cte("IS NOT NULL"),
        pay = pay_day("months.am"),
        am = m.am,
        day0 = ms[0].first_no,
        first = m.first_no,
        next = m.next_no,
    )
}

/// The payments of `bench_paid` and their allocations (the lines' paid
/// principal and late fee), in time order.
fn payments_sql(d: Dialect, ms: &[Month]) -> String {
    let from = "FROM bench_paid p JOIN months ON months.am BETWEEN p.gl - p.g + 1 AND p.gl \
         JOIN bill_lines l ON l.object_kind = p.kind AND l.object_id = p.oid AND l.fee_item_id = p.fid AND l.period = months.period \
         WHERE l.paid_principal_fen > 0";
    format!(
        "WITH {months} INSERT INTO payments (id, estate_id, method, amount_fen, paid_on, paid_at, status) {over} \
         SELECT p.pid, p.estate_id, CASE WHEN {m} % 10 < 4 THEN 'wechat' WHEN {m} % 10 < 7 THEN 'alipay' ELSE 'cash' END, \
           SUM(l.paid_principal_fen + l.late_fee_paid_fen), {paid_on}, p.pay_day * 86400 - 28800 + 32400 + {t} % 36000, 'posted' \
         {from} GROUP BY p.pid, p.estate_id, p.pay_day ORDER BY p.pid; \
         WITH {months} INSERT INTO payment_allocations (payment_id, line_id, late_fee_fen, principal_fen) \
         SELECT p.pid, l.id, l.late_fee_paid_fen, l.paid_principal_fen {from} ORDER BY p.pid, l.id",
        months = months_cte(ms),
        over = d.overriding(),
        m = h("p.pid", A_METHOD),
        t = h("p.pid", A_TIME),
        paid_on = d.day_text("p.pay_day"),
    )
}

fn property_fee(price: i64) -> FeeItemSpec {
    FeeItemSpec {
        code: "property".into(),
        name: "物业服务费".into(),
        category: Category::Property,
        basis: Basis::PerArea,
        cycle: Cycle::Monthly,
        price: Fen(price),
        due_day: 15,
        late_fee: LateFeePolicy {
            enabled: true,
            grace_days: 30,
            daily_rate_ppm: 300,
            cap: LateFeeCap::Principal,
        },
    }
}

fn parking_fee(price: i64) -> FeeItemSpec {
    FeeItemSpec {
        code: "parking".into(),
        name: "车位管理费".into(),
        category: Category::Parking,
        basis: Basis::PerSpace,
        cycle: Cycle::Monthly,
        price: Fen(price),
        due_day: 15,
        late_fee: LateFeePolicy::OFF,
    }
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// Makes the company through the store and its history through bulk SQL;
/// returns the estates.
async fn generate(o: &Opts, store: &Arc<dyn Store>, conn: &mut Conn, today: Date) -> Vec<Estate> {
    let d = conn.dialect();
    let t0 = Instant::now();
    let company = store
        .create_company(COMPANY, "91110000DA5HB0ARDH")
        .await
        .unwrap();
    let admin = store
        .create_user(&NewUser {
            company_id: company.id,
            username: ADMIN.into(),
            display_name: "看板管理员".into(),
            password_hash: "not-a-password".into(),
            role: Role::Admin,
            estate_ids: vec![],
        })
        .await
        .unwrap();
    let mut estates = Vec::new();
    for e in 0..o.estates {
        let estate = store
            .create_estate(
                company.id,
                &EstateInput {
                    code: EstateCode::parse(&format!("e{:03}", e + 1)).unwrap(),
                    name: format!("基准花园{:03}", e + 1),
                    timezone: "Asia/Shanghai".into(),
                    office: String::new(),
                },
            )
            .await
            .unwrap();
        store
            .create_fee_item(estate.id, &property_fee(150 + (e * 37) % 200))
            .await
            .unwrap();
        store
            .create_fee_item(estate.id, &parking_fee(8000 + (e * 1301) % 22_000))
            .await
            .unwrap();
        estates.push(estate);
    }
    println!(
        "  company, {} estates, fee items and admin through the store: {:.1} s",
        estates.len(),
        secs(t0)
    );

    // Buildings, rooms and spaces, one transaction per estate.
    let t = Instant::now();
    let per_building = (o.rooms + BUILDINGS - 1) / BUILDINGS;
    let spaces = (o.rooms / ROOMS_PER_SPACE).max(1);
    for e in &estates {
        let id = e.id;
        let sql = format!(
            "BEGIN; \
             INSERT INTO buildings (estate_id, name, entrances, floors, has_lift) \
             SELECT {id}, CAST(i + 1 AS TEXT) || '栋', 2, {floors}, {lift} FROM {seq_b} s ORDER BY i; \
             INSERT INTO rooms (estate_id, building_id, entrance, floor, number, area_centi) \
             SELECT {id}, b.id, CAST((n.j % 4) / 2 + 1 AS TEXT), n.j / 4 + 1, CAST((n.j / 4 + 1) * 100 + n.j % 2 + 1 AS TEXT), 6000 + {area} % 10000 \
             FROM (SELECT i, i / {per_building} AS bi, i % {per_building} AS j FROM {seq_r} s) n \
             JOIN buildings b ON b.estate_id = {id} AND b.name = CAST(n.bi + 1 AS TEXT) || '栋' ORDER BY n.i; \
             INSERT INTO spaces (estate_id, code, level) \
             SELECT {id}, 'P' || CAST(i + 1 AS TEXT), CASE WHEN i % 2 = 0 THEN 'B1' ELSE 'B2' END FROM {seq_s} s ORDER BY i; \
             COMMIT",
            floors = (per_building + 3) / 4,
            lift = if d == Dialect::Sqlite { "1" } else { "TRUE" },
            seq_b = d.seq(BUILDINGS),
            seq_r = d.seq(o.rooms),
            seq_s = d.seq(spaces),
            area = h(&format!("{id} * 100000 + n.i"), A_AREA),
        );
        conn.exec(&sql).await;
    }
    println!("  buildings, rooms and spaces: {:.1} s", secs(t));

    // Month by month: each estate's lines (a billing run), then the month's
    // payments across the company.
    let ms = window(today, o.months);
    let today_no = day_no(today);
    let temp = "CREATE TEMP TABLE bench_paid (pid BIGINT PRIMARY KEY, estate_id BIGINT NOT NULL, kind TEXT NOT NULL, \
                oid BIGINT NOT NULL, fid BIGINT NOT NULL, g BIGINT NOT NULL, gl BIGINT NOT NULL, pay_day BIGINT NOT NULL)";
    conn.exec(temp).await;
    let pay_sql = payments_sql(d, &ms);
    let (mut lines, mut pays) = (0u64, 0u64);
    let (mut t_lines, mut t_pays) = (0f64, 0f64);
    for (c, m) in ms.iter().enumerate() {
        let t = Instant::now();
        for e in &estates {
            conn.exec("BEGIN").await;
            lines += conn.exec(&lines_sql(d, m, e.id, today_no, admin.id)).await;
            conn.exec("COMMIT").await;
        }
        let tl = secs(t);
        let t = Instant::now();
        conn.exec("BEGIN").await;
        conn.exec(&paid_groups_sql(&ms, c, today_no)).await;
        pays += conn.exec(&pay_sql).await;
        conn.exec("COMMIT").await;
        let tp = secs(t);
        t_lines += tl;
        t_pays += tp;
        println!(
            "  {}: lines {:.1} s, payments and allocations {:.1} s — {} lines, {} payment and allocation rows so far, {:.0} s",
            m.period,
            tl,
            tp,
            lines,
            pays,
            secs(t0)
        );
    }
    conn.exec("DROP TABLE bench_paid").await;
    if d == Dialect::Pg {
        conn.exec("SELECT setval(pg_get_serial_sequence('payments', 'id'), (SELECT MAX(id) FROM payments))")
            .await;
    }
    println!(
        "  lines {:.0} s ({:.0}/s), payments + allocations {:.0} s ({:.0} rows/s)",
        t_lines,
        lines as f64 / t_lines,
        t_pays,
        pays as f64 / t_pays
    );
    let t = Instant::now();
    match d {
        Dialect::Sqlite => conn.exec("ANALYZE; PRAGMA optimize").await,
        Dialect::Pg => conn.exec("ANALYZE").await,
    };
    println!("  ANALYZE: {:.1} s", secs(t));
    println!("generated in {:.1} s", secs(t0));
    estates
}

async fn counts(conn: &mut Conn) {
    let mut parts = Vec::new();
    for t in [
        "estates",
        "buildings",
        "rooms",
        "spaces",
        "bill_lines",
        "payments",
        "payment_allocations",
    ] {
        let n = conn.int(&format!("SELECT COUNT(*) FROM {t}")).await;
        parts.push(format!("{t} {n}"));
    }
    println!("rows: {}", parts.join(", "));
    let mut st = Vec::new();
    for s in ["paid", "partly_paid", "unpaid", "waived"] {
        let n = conn
            .int(&format!(
                "SELECT COUNT(*) FROM bill_lines WHERE status = '{s}'"
            ))
            .await;
        st.push(format!("{s} {n}"));
    }
    println!("  lines by status: {}", st.join(", "));
    let mut totals = Vec::new();
    for t in ["report_due", "report_paid"] {
        if let Some(n) = conn.try_int(&format!("SELECT COUNT(*) FROM {t}")).await {
            totals.push(format!("{t} {n}"));
        }
    }
    if !totals.is_empty() {
        println!("  running totals: {}", totals.join(", "));
    }
}

// ---------------------------------------------------------------------------
// Measuring.

struct Fetched {
    status: u16,
    body: String,
    ms: f64,
}

fn get(agent: &ureq::Agent, url: &str, auth: (&str, &str)) -> Fetched {
    let t = Instant::now();
    let r = match agent.get(url).set(auth.0, auth.1).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {url}: {e}"),
    };
    let status = r.status();
    let body = r.into_string().unwrap();
    Fetched {
        status,
        body,
        ms: t.elapsed().as_secs_f64() * 1000.0,
    }
}

/// `<… id="name" …>value<` in the HTML, if there.
fn element_text(html: &str, id: &str) -> Option<String> {
    let i = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[i..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')? + start;
    Some(rest[start..end].to_string())
}

/// What a response shows, or why it is wrong.
fn check(kind: &str, f: &Fetched) -> Result<String, String> {
    if f.status != 200 {
        return Err(format!(
            "status {}: {}",
            f.status,
            f.body.chars().take(200).collect::<String>()
        ));
    }
    if kind == "html" {
        match element_text(&f.body, "rate-overall") {
            Some(rate) => Ok(format!("overall rate {rate}, {} bytes", f.body.len())),
            None => Err(format!(
                "no rate-overall element in {} bytes of HTML",
                f.body.len()
            )),
        }
    } else {
        let v: serde_json::Value =
            serde_json::from_str(&f.body).map_err(|e| format!("not JSON: {e}"))?;
        let overall = v
            .pointer("/total/overall/percent")
            .and_then(|p| p.as_str())
            .map(|p| format!("overall rate {p}, "))
            .unwrap_or_default();
        if v.as_object().is_some_and(|m| !m.is_empty()) {
            Ok(format!("{overall}{} bytes of JSON", f.body.len()))
        } else {
            Err(format!("trivial JSON: {}", f.body))
        }
    }
}

fn pct(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// One URL: a warm-up, then timed GETs. `optional`: a 404 means "not there yet".
#[allow(clippy::too_many_arguments)]
fn measure(
    agent: &ureq::Agent,
    base: &str,
    label: &str,
    path: &str,
    kind: &str,
    auth: (&str, &str),
    optional: bool,
    o: &Opts,
) -> bool {
    let url = format!("{base}{path}");
    let warm = get(agent, &url, auth);
    if optional && warm.status == 404 {
        println!("  {label}: not available (404 for {path})");
        return true;
    }
    let shown = match check(kind, &warm) {
        Ok(s) => s,
        Err(e) => {
            println!("  {label}: FAILED — {path}: {e}");
            return false;
        }
    };
    let started = Instant::now();
    let mut times = Vec::new();
    for _ in 0..o.reps {
        let f = get(agent, &url, auth);
        if let Err(e) = check(kind, &f) {
            println!("  {label}: FAILED on a repetition — {path}: {e}");
            return false;
        }
        times.push(f.ms);
        if secs(started) > o.budget {
            break;
        }
    }
    println!(
        "  {label}: median {:.1} ms, max {:.1} ms ({} GETs after a warm-up of {:.1} ms) — {path}: {shown}",
        pct(&times, 0.5),
        pct(&times, 1.0),
        times.len(),
        warm.ms
    );
    true
}

fn main() {
    let o = opts();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let t = Instant::now();
    let db = rt.block_on(Db::open(&o));
    let store = db.store();
    println!(
        "dashboard benchmark on {}: opened (migrations) in {:.1} s",
        db.name(),
        secs(t)
    );
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
    let today = jiff::Timestamp::now().to_zoned(tz).date();
    let period = today.to_string()[..7].to_string();
    let mut conn = rt.block_on(Conn::open(&db));

    let existing = rt.block_on(store.company_by_name(COMPANY)).unwrap();
    let estates = match existing {
        Some(c) if o.reuse => {
            println!("  reusing the data already there");
            rt.block_on(store.list_estates(c.id)).unwrap()
        }
        Some(_) => panic!("the database already holds {COMPANY}: pass --reuse"),
        None => {
            println!(
                "generating: {} estates × {} rooms (+{} spaces each), {} months to {period}",
                o.estates,
                o.rooms,
                (o.rooms / ROOMS_PER_SPACE).max(1),
                o.months
            );
            rt.block_on(generate(&o, &store, &mut conn, today))
        }
    };
    rt.block_on(counts(&mut conn));
    let size = rt.block_on(db.size(&mut conn));
    println!("database size: {:.1} MB", size as f64 / 1e6);
    rt.block_on(conn.close());

    // The server and an admin's session.
    let app = App::new(store.clone());
    let (admin, _) = rt
        .block_on(store.user_credentials(ADMIN))
        .unwrap()
        .expect("the admin");
    let token = format!(
        "dashboard-bench-{}",
        jiff::Timestamp::now().as_millisecond()
    );
    let now = doorstep_app::now();
    rt.block_on(store.create_session(&token_hash(&token), admin.id, now, now + 86_400))
        .unwrap();
    let listener =
        rt.block_on(async { tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap() });
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = rt.spawn(doorstep_web::serve(listener, app));
    let agent = ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(1800))
        .build();
    let cookie = format!("doorstep_session={token}");
    let bearer = format!("Bearer {token}");
    let console = ("Cookie", cookie.as_str());
    let api = ("Authorization", bearer.as_str());
    let code = estates.first().expect("an estate").code.clone();
    println!(
        "GETs on {base} (period {period}; {} reps after one warm-up, at most {:.0} s each URL):",
        o.reps, o.budget
    );
    let mut ok = true;
    ok &= measure(
        &agent,
        &base,
        "company dashboard",
        &format!("/console/dashboard?period={period}"),
        "html",
        console,
        true,
        &o,
    );
    ok &= measure(
        &agent,
        &base,
        "company report JSON",
        &format!("/api/v1/reports/company?period={period}"),
        "json",
        api,
        true,
        &o,
    );
    ok &= measure(
        &agent,
        &base,
        "estate dashboard",
        &format!("/console/{code}/dashboard?period={period}"),
        "html",
        console,
        false,
        &o,
    );
    ok &= measure(
        &agent,
        &base,
        "estate collection report JSON",
        &format!("/api/v1/estates/{code}/reports/collection?period={period}"),
        "json",
        api,
        false,
        &o,
    );
    // In-process: the reads the reports rest on.
    let estate = estates.first().unwrap();
    let month_end = Period::parse(&period).unwrap().day(31).to_string();
    let company = estate.company_id;
    let reads: [(&str, ReportScope, bool); 4] = [
        (
            "report_totals(company)",
            ReportScope::Company(company),
            false,
        ),
        (
            "report_paid_between(company, today, month end)",
            ReportScope::Company(company),
            true,
        ),
        (
            "report_totals(estate)",
            ReportScope::Estate(estate.id),
            false,
        ),
        (
            "report_paid_between(estate, today, month end)",
            ReportScope::Estate(estate.id),
            true,
        ),
    ];
    for (label, scope, between) in reads {
        let mut times = Vec::new();
        let mut n = 0;
        for _ in 0..5 {
            let t = Instant::now();
            n = rt
                .block_on(async {
                    if between {
                        store
                            .report_paid_between(scope, &today.to_string(), &month_end)
                            .await
                    } else {
                        store.report_totals(scope).await
                    }
                })
                .unwrap()
                .len();
            times.push(secs(t) * 1000.0);
        }
        println!(
            "  in-process Store::{label}: {n} rows, median {:.1} ms, max {:.1} ms of 5",
            pct(&times, 0.5),
            pct(&times, 1.0)
        );
    }
    server.abort();
    rt.block_on(db.finish(o.keep));
    rt.shutdown_timeout(Duration::from_secs(5));
    assert!(ok, "a response was wrong (see above)");
}
