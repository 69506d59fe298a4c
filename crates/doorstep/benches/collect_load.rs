//! Collecting under load on loopback, on SQLite and PostgreSQL (issue 5):
//! cash recorded at the door and the providers' payment notifications, then
//! checks that no payment was lost or doubled and that the ledger balances;
//! and the bytes a collector's phone downloads on its first visit to the
//! collector app.
//!
//! The server is the real one (`doorstep_web::serve`) on a 2-worker tokio
//! runtime inside this process, over a fresh database per repetition: one
//! estate, 20 collectors with sessions, `--visits` rooms each with its own
//! owner and a booking for tomorrow scheduled to a collector (round-robin),
//! more rooms whose lines the notifications pay, a property fee of
//! 2.50 元/m²/月 (no late fee) billed for 12 months, and the demo WeChat Pay
//! and Alipay merchant accounts (`doorstep_paysim::kit`). The order poller's
//! job lease is taken by the benchmark so that the server's poller stays idle.
//!
//! Scenarios, each driven by `--clients` threads with keep-alive `ureq` agents:
//! - **cash**: `POST /api/v1/visits/{id}/cash` `{"amount":"1.00","client_key":…}`
//!   with the visit's collector's token, visits round-robin, `--cash`
//!   requests; then every tenth request is sent again with the same key (a
//!   retry): it must answer the same payment, `replayed`.
//! - **notify**: `--notifications` provider orders are opened through the
//!   store (each holds one distinct bill line; half WeChat Pay, half Alipay),
//!   their "paid" notifications are built and signed in advance by the
//!   payment simulator's code (WeChat: RSA-SHA256 + AES-256-GCM; Alipay:
//!   RSA2), and each is POSTed twice to `/pay/notify/{provider}/{merchant}`,
//!   the copy in the same burst as the original (so the two often race).
//!
//! Checks after each repetition: every notified order is `paid` with exactly
//! one payment, no provider payment lacks its order, the provider events say
//! `paid` once and `duplicate` once per order; every cash key acknowledged
//! with a 2xx is exactly one cash payment with the id the client was given
//! (lost / doubled), every retry answered the same payment; and
//! `doorstep_store::check_ledger` finds no problem.
//!
//! `steps` times one notification's and one cash payment's parts in-process,
//! one at a time. `firstload` seeds the demo estate (SQLite), plans the
//! evening, and measures what a collector's phone downloads on the first visit
//! to `/c/demo/today`: the page and every asset it references and the
//! service worker, each gzip-compressed (level 6), against 150 KB; and checks
//! that the service worker precaches those assets.
//!
//! ```sh
//! cargo bench -p doorstep --bench collect_load -- [--backend sqlite|postgres|both] \
//!     [--clients 16] [--reps 3] [--visits 400] [--cash 5000] [--notifications 2000] \
//!     [--burst 5000] [--pg URL] [--only cash,notify,steps,firstload,burst]
//! ```
//! `burst` (PostgreSQL only): one company of 200 estates on two server
//! instances sharing the database; `--burst` "paid" notifications spread
//! over the estates, each sent to one instance and its copy to the other;
//! every order paid once, every receipt numbered 1..N without a gap and
//! logged, the ledger clean.
//! PostgreSQL: `--pg`, else `DOORSTEP_TEST_PG_URL`, else
//! `postgres://postgres@127.0.0.1:5432/test`; one schema per repetition,
//! dropped afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness fails loudly

use doorstep_app::App;
use doorstep_app::auth::token_hash;
use doorstep_app::pay::MerchantSettings;
use doorstep_domain::booking::parse_windows;
use doorstep_domain::{
    Area, Basis, BookingRules, Category, Cycle, EstateCode, FeeItemSpec, Fen, LateFeePolicy,
    ObjectKind, Period, PhoneNumber, Role, Window,
};
use doorstep_payments::http::HttpRequest;
use doorstep_paysim::Sim;
use doorstep_paysim::state::{NotifyEvent, OrderKind, SimOrder, TradeState};
use doorstep_store::{
    Actor, Assignment, EstateInput, ImportBatch, ImportOwner, LineQuery, Merchant, NewBooking,
    NewCollection, NewUser, PlanUpdate, RoomInput, RoomKey, Store,
};
use jiff::civil::Date;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const ESTATE: &str = "collect";
const COLLECTORS: usize = 20;
/// 08:00–22:00 in 30-minute slots.
const SLOTS_PER_DAY: usize = 28;
/// Bill lines per room (12 months billed).
const MONTHS: usize = 12;
/// In-process timings: items timed one at a time.
const STEPS: usize = 200;
/// The issue's limit on the collector app's first load, bytes (150 KB, read
/// as 150,000 bytes: the stricter of the two readings).
const FIRST_LOAD_LIMIT: usize = 150_000;

#[derive(Clone)]
struct Args {
    backends: Vec<&'static str>,
    clients: usize,
    reps: usize,
    visits: usize,
    cash: usize,
    notifications: usize,
    burst: usize,
    pg: String,
    only: Vec<String>,
}

fn args() -> Args {
    let mut a = Args {
        backends: vec!["sqlite", "postgres"],
        clients: 16,
        reps: 1,
        visits: 400,
        cash: 5000,
        notifications: 2000,
        burst: 5000,
        pg: std::env::var("DOORSTEP_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        only: ["cash", "notify", "steps", "firstload", "burst"]
            .map(str::to_string)
            .to_vec(),
    };
    let mut it = std::env::args().skip(1);
    let num = |v: Option<String>, what: &str| -> usize {
        v.and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{what} N"))
    };
    while let Some(x) = it.next() {
        match x.as_str() {
            "--backend" => {
                a.backends = match it.next().as_deref() {
                    Some("sqlite") => vec!["sqlite"],
                    Some("postgres") | Some("pg") => vec!["postgres"],
                    Some("both") => vec!["sqlite", "postgres"],
                    Some("none") => vec![],
                    other => panic!("--backend sqlite|postgres|both, not {other:?}"),
                }
            }
            "--clients" => a.clients = num(it.next(), "--clients").max(1),
            "--reps" => a.reps = num(it.next(), "--reps").max(1),
            "--visits" => a.visits = num(it.next(), "--visits").max(COLLECTORS),
            "--cash" => a.cash = num(it.next(), "--cash"),
            "--notifications" => a.notifications = num(it.next(), "--notifications"),
            "--burst" => a.burst = num(it.next(), "--burst").max(1),
            "--pg" => a.pg = it.next().expect("--pg URL"),
            "--only" => {
                a.only = it
                    .next()
                    .expect("--only cash,notify,steps,firstload,burst")
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            _ => {} // cargo bench passes --bench
        }
    }
    a
}

impl Args {
    fn runs(&self, what: &str) -> bool {
        self.only.iter().any(|o| o == what)
    }
}

/// What the database holds after a repetition.
#[derive(Default)]
struct DbState {
    /// out_trade_no → (status, payment id).
    collections: HashMap<String, (String, Option<i64>)>,
    /// Payments per collection id, and collection id per out_trade_no.
    payments_per_collection: HashMap<i64, i64>,
    collection_ids: HashMap<String, i64>,
    /// Provider payments (WeChat/Alipay) without their collection.
    orphans: i64,
    /// Cash payments: idempotency key → ids (a key twice would be doubled).
    cash: HashMap<String, Vec<i64>>,
    /// Provider event verdicts and how many (the notification phase's orders).
    verdicts: BTreeMap<String, i64>,
    /// Orders whose notification was logged `paid` twice: the copy raced
    /// the original and found the order still open (one payment all the same).
    paid_twice: i64,
}

macro_rules! read_state {
    ($pool:expr, $estate:expr) => {{
        use sqlx::Row;
        let mut st = DbState::default();
        for r in sqlx::query(
            "SELECT id, out_trade_no, status, payment_id FROM collections WHERE estate_id = $1",
        )
        .bind($estate)
        .fetch_all($pool)
        .await
        .unwrap()
        {
            let no: String = r.get("out_trade_no");
            st.collection_ids.insert(no.clone(), r.get("id"));
            st.collections
                .insert(no, (r.get("status"), r.get::<Option<i64>, _>("payment_id")));
        }
        for r in sqlx::query(
            "SELECT collection_id, COUNT(*) AS n FROM payments WHERE estate_id = $1 AND collection_id IS NOT NULL GROUP BY collection_id",
        )
        .bind($estate)
        .fetch_all($pool)
        .await
        .unwrap()
        {
            st.payments_per_collection
                .insert(r.get("collection_id"), r.get("n"));
        }
        st.orphans = sqlx::query(
            "SELECT COUNT(*) AS n FROM payments WHERE estate_id = $1 AND provider IS NOT NULL AND collection_id IS NULL",
        )
        .bind($estate)
        .fetch_one($pool)
        .await
        .unwrap()
        .get("n");
        for r in sqlx::query(
            "SELECT id, idempotency_key FROM payments WHERE estate_id = $1 AND method = 'cash'",
        )
        .bind($estate)
        .fetch_all($pool)
        .await
        .unwrap()
        {
            let k: Option<String> = r.get("idempotency_key");
            st.cash
                .entry(k.unwrap_or_default())
                .or_default()
                .push(r.get("id"));
        }
        for r in sqlx::query(
            "SELECT verdict, COUNT(*) AS n FROM provider_events WHERE out_trade_no NOT LIKE 'DSS%' GROUP BY verdict",
        )
            .fetch_all($pool)
            .await
            .unwrap()
        {
            st.verdicts.insert(r.get("verdict"), r.get("n"));
        }
        st.paid_twice = sqlx::query(
            "SELECT COUNT(*) AS n FROM (SELECT out_trade_no FROM provider_events WHERE verdict = 'paid' GROUP BY out_trade_no HAVING COUNT(*) > 1) d",
        )
        .fetch_one($pool)
        .await
        .unwrap()
        .get("n");
        st
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

/// What payments leave behind them for the sequencer: receipts not yet
/// signed, queued receipt numbers and evidence records.
const BACKLOG_SQL: &str = "SELECT (SELECT COUNT(*) FROM receipts WHERE status = 'pending') \
    + (SELECT COUNT(*) FROM receipt_queue) + (SELECT COUNT(*) FROM evidence_queue) AS n";

impl Backend {
    async fn fresh(kind: &str, pg: &str) -> Backend {
        match kind {
            "sqlite" => {
                let dir = tempfile::tempdir().unwrap();
                let s = doorstep_store_sqlite::open(&dir.path().join("bench.sqlite"))
                    .await
                    .unwrap();
                Backend::Sqlite(s, dir)
            }
            _ => {
                let schema = format!("bench_collect_{}", jiff::Timestamp::now().as_millisecond());
                let s = doorstep_store_postgres::open(pg, Some(&schema))
                    .await
                    .unwrap();
                Backend::Pg(s, pg.to_string(), schema)
            }
        }
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
    /// PostgreSQL: `ANALYZE` after the bulk load (SQLite is left as is).
    async fn analyze(&self) {
        if let Backend::Pg(s, _, _) = self {
            sqlx::query("ANALYZE").execute(s.pool()).await.unwrap();
        }
    }
    /// Work the payments left behind them: receipts not yet signed, and
    /// queued receipt numbers and evidence records.
    async fn backlog(&self) -> i64 {
        let sql = BACKLOG_SQL;
        match self {
            Backend::Sqlite(s, _) => {
                sqlx::Row::get(&sqlx::query(sql).fetch_one(s.pool()).await.unwrap(), "n")
            }
            Backend::Pg(s, _, _) => {
                sqlx::Row::get(&sqlx::query(sql).fetch_one(s.pool()).await.unwrap(), "n")
            }
        }
    }
    /// Waits until [`Backend::backlog`] is empty (the server's sequencer
    /// signs and logs); the seconds it took.
    async fn drain(&self) -> f64 {
        let t = Instant::now();
        while self.backlog().await > 0 {
            assert!(
                t.elapsed() < Duration::from_secs(120),
                "the backlog did not drain"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        t.elapsed().as_secs_f64()
    }
    async fn state(&self, estate_id: i64) -> DbState {
        match self {
            Backend::Sqlite(s, _) => read_state!(s.pool(), estate_id),
            Backend::Pg(s, _, _) => read_state!(s.pool(), estate_id),
        }
    }
}

/// A collector: user id and bearer token.
#[derive(Clone)]
struct Collector {
    id: i64,
    token: String,
}

struct Seeded {
    estate: doorstep_store::Estate,
    collectors: Vec<Collector>,
    /// (booking id, collector index).
    visits: Vec<(i64, usize)>,
    /// Open bill lines of the rooms without a booking: (line id, amount).
    free_lines: Vec<(i64, Fen)>,
    wechat: Merchant,
    alipay: Merchant,
}

fn add_days(d: Date, n: i64) -> Date {
    d.checked_add(jiff::Span::new().days(n)).unwrap()
}

fn room_key(k: usize) -> (String, String, i32, String) {
    let building = (k / 200 + 1).to_string();
    let floor = (k % 200 / 10 + 1) as i32;
    (
        building,
        "1".into(),
        floor,
        format!("{}{:02}", floor, k % 10 + 1),
    )
}

async fn seed(db: &Backend, app: &App, kit: &doorstep_paysim::kit::Kit, a: &Args) -> Seeded {
    let t = Instant::now();
    let now = doorstep_app::now();
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
                code: EstateCode::parse(ESTATE).unwrap(),
                name: "收费压测小区".into(),
                timezone: "Asia/Shanghai".into(),
                office: String::new(),
            },
        )
        .await
        .unwrap();
    let mut collectors = Vec::new();
    for i in 0..COLLECTORS {
        let u = app
            .store
            .create_user(&NewUser {
                company_id: company.id,
                username: format!("collector{i:02}"),
                display_name: format!("收费员{i:02}"),
                password_hash: "not-a-password".into(),
                role: Role::Collector,
                estate_ids: vec![estate.id],
            })
            .await
            .unwrap();
        let token = format!("bench-collector-token-{i:02}");
        app.store
            .create_session(&token_hash(&token), u.id, now, now + 7 * 86_400)
            .await
            .unwrap();
        // Cash at a visit is refused outside a shift.
        app.store.open_shift(estate.id, u.id, now).await.unwrap();
        collectors.push(Collector { id: u.id, token });
    }
    let windows = parse_windows("weekday", "08:00-22:00").unwrap();
    app.store
        .set_booking_rules(
            estate.id,
            &BookingRules {
                weekday: windows.clone(),
                weekend: windows,
                slot_minutes: 30,
                visits_per_collector: 50,
                cutoff_minutes: 0,
                reminder_minutes: 120,
                service_minutes: 10,
                horizon_days: 60,
            },
        )
        .await
        .unwrap();
    // Rooms for the visits, then rooms whose lines the notifications pay
    // (with room for the in-process steps).
    let free_needed = a.notifications + 2 * STEPS;
    let n_rooms = a.visits + free_needed.div_ceil(MONTHS);
    let mut batch = ImportBatch::default();
    for k in 0..n_rooms {
        let (building, entrance, floor, number) = room_key(k);
        batch.rooms.push(RoomInput {
            building: building.clone(),
            entrance: entrance.clone(),
            floor,
            number: number.clone(),
            area: Area::from_centi(6000 + (k as i64 * 37) % 6000).unwrap(),
        });
        batch.owners.push(ImportOwner {
            name: format!("业主{k}"),
            phones: vec![PhoneNumber::parse(&format!("139{k:08}")).unwrap()],
            rooms: vec![RoomKey {
                building,
                entrance,
                number,
            }],
            spaces: vec![],
        });
    }
    app.store.bulk_seed(estate.id, &batch).await.unwrap();
    app.store
        .create_fee_item(
            estate.id,
            &FeeItemSpec {
                code: "property".into(),
                name: "物业服务费".into(),
                category: Category::Property,
                basis: Basis::PerArea,
                cycle: Cycle::Monthly,
                price: Fen(250),
                due_day: 28,
                late_fee: LateFeePolicy::OFF,
            },
        )
        .await
        .unwrap();
    let today = doorstep_app::today(&estate);
    let mut p = (1..MONTHS).fold(Period::of(today), |p, _| p.prev());
    for _ in 0..MONTHS {
        app.run_billing(&estate, p, None, &mut |_, _| {})
            .await
            .unwrap();
        p = p.next();
    }
    let mut owners = app
        .store
        .list_owners(estate.id, "", 1_000_000, 0)
        .await
        .unwrap();
    owners.sort_by_key(|o| o.rooms[0].0);
    assert_eq!(owners.len(), n_rooms);
    // Bookings for tomorrow, spread over the day's slots, then one plan.
    let day = add_days(today, 1);
    let ctx = app
        .store
        .booking_context(ESTATE, day)
        .await
        .unwrap()
        .unwrap();
    let mut visits = Vec::new();
    let mut session_at = 0;
    for (i, o) in owners[..a.visits].iter().enumerate() {
        let m = 8 * 60 + 30 * (i % SLOTS_PER_DAY);
        let start: jiff::civil::Time = format!("{:02}:{:02}", m / 60, m % 60).parse().unwrap();
        let slot = ctx
            .rules
            .slot_at(day.to_datetime(start), ctx.day_rule.as_ref())
            .unwrap();
        let starts_at = doorstep_app::booking::local_to_unix(&estate, slot.starts()).unwrap();
        session_at = doorstep_app::booking::local_to_unix(&estate, slot.session_start()).unwrap();
        let b = app
            .store
            .create_booking(&NewBooking {
                estate_id: estate.id,
                owner_id: o.id,
                owner_name: o.name.clone(),
                phone: o.phones[0].clone(),
                contact_phone: o.phones[0].clone(),
                targets: vec![(ObjectKind::Room, o.rooms[0].0)],
                day,
                slot: Window {
                    start: slot.start,
                    end: slot.end,
                },
                window: slot.window,
                starts_at,
                session_at,
                capacity: 1_000_000,
                pays_cash: true,
                call_first: false,
                note: String::new(),
                actor: Actor::System,
                rescheduled_from: None,
                reminder: None,
                now,
            })
            .await
            .unwrap();
        visits.push((b.id, i % COLLECTORS));
    }
    let assignments: Vec<Assignment> = visits
        .iter()
        .enumerate()
        .map(|(i, (id, c))| Assignment {
            booking_id: *id,
            collector_id: collectors[*c].id,
            eta: session_at + 60 * i as i64,
            seq: (i / COLLECTORS + 1) as i64,
        })
        .collect();
    app.store
        .save_plan(&PlanUpdate {
            estate_id: estate.id,
            session_at,
            assignments: &assignments,
            unassigned_json: "[]",
            actor: &Actor::System,
            force: true,
            now,
        })
        .await
        .unwrap();
    let b = app.store.booking(visits[0].0).await.unwrap();
    assert_eq!(b.collector_id, Some(collectors[0].id));
    let free_lines: Vec<(i64, Fen)> = app
        .store
        .bill_lines(&LineQuery {
            estate_id: estate.id,
            open_only: true,
            objects: owners[a.visits..]
                .iter()
                .map(|o| (ObjectKind::Room, o.rooms[0].0))
                .collect(),
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .map(|l| (l.id, l.amount))
        .collect();
    assert!(free_lines.len() >= free_needed, "{}", free_lines.len());
    doorstep_app::demo::seed_collecting(app, ESTATE, &kit.wechat, &kit.alipay)
        .await
        .unwrap();
    let merchants = app.store.merchants(company.id).await.unwrap();
    let pick = |p: &str| merchants.iter().find(|m| m.provider == p).unwrap().clone();
    // Keep the server's order poller idle: it would query the (absent)
    // simulator about every open order.
    assert!(
        app.store
            .claim_job("order-poller", "bench", now, 86_400)
            .await
            .unwrap()
    );
    db.analyze().await;
    println!(
        "    seeded {n_rooms} rooms and owners, {} bill lines, {} visits scheduled to {COLLECTORS} collectors in {:.1} s",
        n_rooms * MONTHS,
        visits.len(),
        t.elapsed().as_secs_f64()
    );
    Seeded {
        estate,
        collectors,
        visits,
        free_lines,
        wechat: pick("wechat"),
        alipay: pick("alipay"),
    }
}

/// One request's outcome.
struct Hit {
    idx: usize,
    status: u16,
    body: String,
    micros: f64,
}

/// A phase: how many requests, how long, latencies.
#[derive(Clone, Default)]
struct Load {
    requests: usize,
    /// From the first request until the last answer and the backlog
    /// drained (every receipt signed, every record queued logged).
    seconds: f64,
    /// Of which after the last answer.
    drain: f64,
    ok: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

impl Load {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
    fn line(&self) -> String {
        format!(
            "{} requests in {:.2} s (backlog drained {:.2} s after the last answer) = {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms, 2xx {}",
            self.requests,
            self.seconds,
            self.drain,
            self.rps(),
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.ok
        )
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .max_idle_connections_per_host(4)
        .build()
}

/// Sends `requests` from `clients` threads, each with its own keep-alive
/// connection, taking the next request from a shared counter.
fn drive(clients: usize, requests: &[HttpRequest]) -> (Load, Vec<Hit>) {
    let next = AtomicUsize::new(0);
    let t0 = Instant::now();
    let mut hits: Vec<Hit> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                s.spawn(|| {
                    let agent = agent();
                    let mut out = Vec::new();
                    loop {
                        let idx = next.fetch_add(1, Ordering::Relaxed);
                        let Some(req) = requests.get(idx) else {
                            break;
                        };
                        let mut r = agent.request(req.method, &req.url);
                        for (k, v) in &req.headers {
                            r = r.set(k, v);
                        }
                        let t = Instant::now();
                        let (status, body) = match r.send_bytes(&req.body) {
                            Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
                            Err(ureq::Error::Status(c, r)) => {
                                (c, r.into_string().unwrap_or_default())
                            }
                            Err(e) => (0, e.to_string()),
                        };
                        out.push(Hit {
                            idx,
                            status,
                            body,
                            micros: t.elapsed().as_secs_f64() * 1e6,
                        });
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let seconds = t0.elapsed().as_secs_f64();
    hits.sort_by_key(|h| h.idx);
    let mut lat: Vec<f64> = hits.iter().map(|h| h.micros / 1000.0).collect();
    lat.sort_by(|a, b| a.total_cmp(b));
    let load = Load {
        requests: hits.len(),
        seconds,
        drain: 0.0,
        ok: hits
            .iter()
            .filter(|h| (200..300).contains(&h.status))
            .count(),
        p50_ms: percentile(&lat, 0.50),
        p99_ms: percentile(&lat, 0.99),
        max_ms: lat.last().copied().unwrap_or(f64::NAN),
    };
    (load, hits)
}

fn show_failures(what: &str, hits: &[Hit]) {
    let bad: Vec<&Hit> = hits
        .iter()
        .filter(|h| !(200..300).contains(&h.status))
        .collect();
    if !bad.is_empty() {
        println!("    {what}: {} failed, e.g.:", bad.len());
        for h in bad.iter().take(3) {
            println!(
                "      #{} {} {}",
                h.idx,
                h.status,
                h.body.chars().take(200).collect::<String>()
            );
        }
    }
}

/// Checks after a repetition.
#[derive(Default, Clone)]
struct Verdict {
    cash_acked: usize,
    cash_rows: usize,
    cash_lost: usize,
    cash_doubled: usize,
    retries_bad: usize,
    notified: usize,
    notify_unpaid: usize,
    notify_doubled: usize,
    orphans: i64,
    verdicts: BTreeMap<String, i64>,
    paid_twice: i64,
    ledger_problems: usize,
    ledger_entries: usize,
}

impl Verdict {
    fn lost(&self) -> usize {
        self.cash_lost + self.notify_unpaid
    }
    fn doubled(&self) -> usize {
        self.cash_doubled + self.notify_doubled + self.orphans as usize + self.retries_bad
    }
}

#[derive(Default, Clone)]
struct Rep {
    cash: Option<Load>,
    retry: Option<Load>,
    notify: Option<Load>,
    verdict: Verdict,
}

fn cash_request(base: &str, c: &Collector, visit: i64, key: &str) -> HttpRequest {
    HttpRequest {
        method: "POST",
        url: format!("{base}/api/v1/visits/{visit}/cash"),
        headers: vec![
            ("Authorization".into(), format!("Bearer {}", c.token)),
            ("Content-Type".into(), "application/json".into()),
        ],
        body: format!(r#"{{"amount":"1.00","client_key":"{key}"}}"#).into_bytes(),
    }
}

/// A paid order at the provider, as the simulator would hold it.
fn sim_order(
    provider: doorstep_payments::Provider,
    out_trade_no: &str,
    amount_fen: i64,
    notify_url: String,
    tag: usize,
    i: usize,
) -> SimOrder {
    let now = doorstep_app::now();
    SimOrder {
        provider,
        merchant: match provider {
            doorstep_payments::Provider::Wechat => doorstep_paysim::kit::WECHAT_MCHID.into(),
            doorstep_payments::Provider::Alipay => doorstep_paysim::kit::ALIPAY_APP_ID.into(),
        },
        out_trade_no: out_trade_no.into(),
        transaction_id: match provider {
            doorstep_payments::Provider::Wechat => format!("4200009{tag:03}{i:010}"),
            doorstep_payments::Provider::Alipay => format!("2026112722001{tag:03}{i:012}"),
        },
        kind: OrderKind::Qr,
        amount_fen,
        description: format!("收费压测小区物业费等-上门收费{i}"),
        attach: Some(format!("b{i}")),
        notify_url: Some(notify_url),
        expires_at: now + 3600,
        code_token: String::new(),
        state: TradeState::Paid,
        payer: Some(format!("oBenchPayer{i:08}")),
        created_at: now - 30,
        paid_at: Some(now - 5),
        closed_at: None,
        refunds: Vec::new(),
        scanned: true,
    }
}

/// Opens `n` orders through the store, each holding one of `lines`, half
/// WeChat Pay and half Alipay; returns (out_trade_no, provider, amount,
/// merchant ref) of each.
async fn open_orders(
    app: &App,
    s: &Seeded,
    lines: &[(i64, Fen)],
    prefix: &str,
) -> Vec<(String, doorstep_payments::Provider, i64, i64)> {
    let on = doorstep_app::today(&s.estate);
    let now = doorstep_app::now();
    let mut set = tokio::task::JoinSet::new();
    let chunks: Vec<Vec<(usize, (i64, Fen))>> = lines
        .iter()
        .copied()
        .enumerate()
        .collect::<Vec<_>>()
        .chunks(lines.len().div_ceil(4).max(1))
        .map(|c| c.to_vec())
        .collect();
    for chunk in chunks {
        let app = app.clone();
        let estate_id = s.estate.id;
        let collector_id = s.collectors[0].id;
        let (wx, ali) = (s.wechat.id, s.alipay.id);
        let prefix = prefix.to_string();
        set.spawn(async move {
            let mut out = Vec::new();
            for (i, (line, amount)) in chunk {
                let wechat = i % 2 == 0;
                let no = format!("DS{prefix}{i:08}");
                let c = app
                    .store
                    .open_collection(&NewCollection {
                        estate_id,
                        booking_id: None,
                        collector_id,
                        method: if wechat { "wechat_qr" } else { "alipay_qr" }.into(),
                        merchant_ref: if wechat { wx } else { ali },
                        out_trade_no: no.clone(),
                        amount,
                        line_ids: vec![line],
                        on,
                        expires_at: now + 3600,
                        client_key: None,
                        at: now,
                    })
                    .await
                    .unwrap();
                let provider = if wechat {
                    doorstep_payments::Provider::Wechat
                } else {
                    doorstep_payments::Provider::Alipay
                };
                out.push((i, (c.out_trade_no, provider, c.amount.0, c.merchant_ref)));
            }
            out
        });
    }
    let mut all = Vec::new();
    while let Some(r) = set.join_next().await {
        all.extend(r.unwrap());
    }
    all.sort_by_key(|x| x.0);
    all.into_iter().map(|x| x.1).collect()
}

/// Builds the signed "paid" notifications of `orders` (on two threads:
/// signing is RSA-2048).
fn build_notifications(
    sim: &Sim,
    base: &str,
    orders: &[(String, doorstep_payments::Provider, i64, i64)],
    tag: usize,
) -> Vec<HttpRequest> {
    let half = orders.len().div_ceil(2).max(1);
    std::thread::scope(|s| {
        let hs: Vec<_> = orders
            .chunks(half)
            .enumerate()
            .map(|(k, part)| {
                s.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(j, (no, provider, amount, merchant))| {
                            let i = k * half + j;
                            let name = match provider {
                                doorstep_payments::Provider::Wechat => "wechat",
                                doorstep_payments::Provider::Alipay => "alipay",
                            };
                            let url = format!("{base}/pay/notify/{name}/{merchant}");
                            let o = sim_order(*provider, no, *amount, url, tag, i);
                            let id = format!("EVBENCH{tag:03}{i:010}");
                            match provider {
                                doorstep_payments::Provider::Wechat => {
                                    doorstep_paysim::wechat::build_notification(
                                        sim,
                                        &o,
                                        &NotifyEvent::Paid,
                                        &id,
                                    )
                                }
                                doorstep_payments::Provider::Alipay => {
                                    doorstep_paysim::alipay::build_notification(
                                        sim,
                                        &o,
                                        &NotifyEvent::Paid,
                                        &id,
                                    )
                                }
                            }
                            .expect("a notification")
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    })
}

fn once(a: &Args, kind: &str, kit: &doorstep_paysim::kit::Kit, sim: &Sim, rep_no: usize) -> Rep {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(Backend::fresh(kind, &a.pg));
    let app = App::new(db.store());
    let seeded = rt.block_on(seed(&db, &app, kit, a));
    let listener =
        rt.block_on(async { tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap() });
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = rt.spawn(doorstep_web::serve(listener, app.clone()));
    let mut rep = Rep::default();
    let mut v = Verdict::default();
    // client key → payment id the client was given.
    let mut acked: HashMap<String, i64> = HashMap::new();

    if a.runs("cash") && a.cash > 0 {
        let keys: Vec<String> = (0..a.cash).map(|i| format!("bench-{i:07}")).collect();
        let reqs: Vec<HttpRequest> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let (visit, c) = seeded.visits[i % seeded.visits.len()];
                cash_request(&base, &seeded.collectors[c], visit, k)
            })
            .collect();
        let (mut load, hits) = drive(a.clients, &reqs);
        load.drain = rt.block_on(db.drain());
        load.seconds += load.drain;
        println!("    cash: {}", load.line());
        show_failures("cash", &hits);
        for h in &hits {
            if (200..300).contains(&h.status) {
                let j: serde_json::Value = serde_json::from_str(&h.body).unwrap();
                let c = seeded.visits[h.idx % seeded.visits.len()].1;
                acked.insert(
                    format!("cash:{}:{}", seeded.collectors[c].id, keys[h.idx]),
                    j["payment"]["id"].as_i64().unwrap(),
                );
            }
        }
        // Retries: every tenth request again, same key.
        let again: Vec<usize> = (0..a.cash).step_by(10).collect();
        let rreqs: Vec<HttpRequest> = again.iter().map(|i| reqs[*i].clone()).collect();
        let (rload, rhits) = drive(a.clients, &rreqs);
        println!("    cash retries (same key): {}", rload.line());
        show_failures("cash retries", &rhits);
        for h in &rhits {
            let i = again[h.idx];
            let c = seeded.visits[i % seeded.visits.len()].1;
            let key = format!("cash:{}:{}", seeded.collectors[c].id, keys[i]);
            let first = acked.get(&key).copied();
            let ok = (200..300).contains(&h.status)
                && serde_json::from_str::<serde_json::Value>(&h.body)
                    .map(|j| {
                        j["payment"]["id"].as_i64() == first
                            && j["payment"]["replayed"] == serde_json::json!(true)
                    })
                    .unwrap_or(false);
            if !ok {
                v.retries_bad += 1;
            }
        }
        rep.cash = Some(load);
        rep.retry = Some(rload);
    }

    let mut notified: Vec<String> = Vec::new();
    if a.runs("notify") && a.notifications > 0 {
        let t = Instant::now();
        let orders = rt.block_on(open_orders(
            &app,
            &seeded,
            &seeded.free_lines[..a.notifications],
            &format!("{rep_no:02}N"),
        ));
        let t_open = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let built = build_notifications(sim, &base, &orders, 1);
        println!(
            "    opened {} orders in {:.1} s through the store; built and signed their notifications in {:.1} s",
            orders.len(),
            t_open,
            t.elapsed().as_secs_f64()
        );
        // Each twice: a burst of half as many as there are clients, then the
        // same burst again, so that original and copy are in flight together.
        let burst = (a.clients / 2).max(1);
        let mut sends = Vec::with_capacity(2 * built.len());
        for chunk in built.chunks(burst) {
            sends.extend(chunk.iter().cloned());
            sends.extend(chunk.iter().cloned());
        }
        let (mut load, hits) = drive(a.clients, &sends);
        load.drain = rt.block_on(db.drain());
        load.seconds += load.drain;
        println!("    notifications (each sent twice): {}", load.line());
        show_failures("notifications", &hits);
        notified = orders.into_iter().map(|o| o.0).collect();
        rep.notify = Some(load);
    }

    if a.runs("steps") && rep_no == 1 {
        rt.block_on(steps(&app, &seeded, sim, &base, kit));
    }

    server.abort();
    // Let requests still running finish (none should be: every client waited).
    std::thread::sleep(Duration::from_millis(200));
    let st = rt.block_on(db.state(seeded.estate.id));
    // Cash.
    v.cash_acked = acked.len();
    let step_keys = st.cash.keys().filter(|k| k.contains(":step-")).count();
    v.cash_rows = st.cash.values().map(Vec::len).sum::<usize>() - step_keys;
    for (k, id) in &acked {
        match st.cash.get(k) {
            Some(ids) if ids == &vec![*id] => {}
            Some(ids) if ids.contains(id) => v.cash_doubled += ids.len() - 1,
            _ => v.cash_lost += 1,
        }
    }
    // Rows nobody was told about (a payment recorded but answered with an error).
    v.cash_doubled += st
        .cash
        .keys()
        .filter(|k| !acked.contains_key(*k) && !k.contains(":step-"))
        .count();
    // Notifications.
    v.notified = notified.len();
    for no in &notified {
        let paid = matches!(st.collections.get(no), Some((s, Some(_))) if s == "paid");
        let n = st
            .collection_ids
            .get(no)
            .and_then(|id| st.payments_per_collection.get(id))
            .copied()
            .unwrap_or(0);
        if !paid || n == 0 {
            v.notify_unpaid += 1;
        }
        if n > 1 {
            v.notify_doubled += (n - 1) as usize;
        }
    }
    v.orphans = st.orphans;
    v.verdicts = st.verdicts.clone();
    v.paid_twice = st.paid_twice;
    let report = rt
        .block_on(doorstep_store::check_ledger(
            app.store.as_ref(),
            Some(seeded.estate.id),
        ))
        .unwrap();
    v.ledger_problems = report.problems.len();
    v.ledger_entries = report.entries;
    for p in report.problems.iter().take(5) {
        println!("    ledger: {p}");
    }
    println!(
        "    check: cash keys acknowledged {}, cash payments {}, lost {}, doubled {}, retries not answered with the same payment {}; orders notified {}, not paid {}, with more than one payment {}, provider payments without an order {}; events {:?} (orders logged `paid` twice: {}); ledger check: {} entries, {} problems",
        v.cash_acked,
        v.cash_rows,
        v.cash_lost,
        v.cash_doubled,
        v.retries_bad,
        v.notified,
        v.notify_unpaid,
        v.notify_doubled,
        v.orphans,
        v.verdicts,
        v.paid_twice,
        v.ledger_entries,
        v.ledger_problems
    );
    rep.verdict = v;
    drop(app);
    rt.block_on(db.drop_it());
    rt.shutdown_timeout(Duration::from_secs(5));
    rep
}

/// Where one notification's and one cash payment's time goes, in-process,
/// one at a time (mean per item).
async fn steps(app: &App, s: &Seeded, sim: &Sim, base: &str, kit: &doorstep_paysim::kit::Kit) {
    let n = s.free_lines.len();
    let lines = &s.free_lines[n - 2 * STEPS..];
    let orders = open_orders(app, s, lines, "S").await;
    let built = build_notifications(sim, base, &orders, 2);
    let headers = |r: &HttpRequest| -> Vec<(String, String)> {
        r.headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect()
    };
    // Pieces, on the first STEPS orders (WeChat even, Alipay odd).
    let names = [
        "merchant by id (1 statement)",
        "provider client from the stored settings (JSON, PEM keys parsed)",
        "verify + decrypt the notification (parse_notification)",
        "collection by out_trade_no (1 statement)",
        "estate by id (1 statement)",
        "complete_collection (one write transaction)",
        "record_provider_event (1 insert)",
    ];
    let mut t = [[0f64; 7]; 2];
    let mut count = [0usize; 2];
    for (o, req) in orders.iter().zip(&built).take(STEPS) {
        let w = usize::from(o.1 == doorstep_payments::Provider::Alipay);
        count[w] += 1;
        let mut lap = Instant::now();
        let mut tick = |i: usize| {
            t[w][i] += lap.elapsed().as_secs_f64();
            lap = Instant::now();
        };
        let m = app.store.merchant(o.3).await.unwrap();
        tick(0);
        let p = app.provider_of(&m).unwrap();
        tick(1);
        let nt = p
            .parse_notification(&headers(req), &req.body, doorstep_app::now())
            .unwrap();
        tick(2);
        let c = app
            .store
            .collection_by_trade_no(&nt.out_trade_no)
            .await
            .unwrap()
            .unwrap();
        tick(3);
        let estate = app.store.estate_by_id(c.estate_id).await.unwrap();
        tick(4);
        let doorstep_payments::NotifiedEvent::Trade(doorstep_payments::TradeStatus::Paid {
            transaction_id,
            amount_fen,
            ..
        }) = nt.event.clone()
        else {
            panic!("not paid");
        };
        app.store
            .complete_collection(&doorstep_store::CompleteCollection {
                out_trade_no: c.out_trade_no.clone(),
                transaction_id,
                amount: Fen(amount_fen),
                paid_on: doorstep_app::today(&estate),
                at: doorstep_app::now(),
            })
            .await
            .unwrap();
        tick(5);
        app.store
            .record_provider_event(
                if w == 0 { "wechat" } else { "alipay" },
                &nt.notify_id,
                Some(&nt.out_trade_no),
                "paid",
                "",
                doorstep_app::now(),
            )
            .await
            .unwrap();
        tick(6);
    }
    println!(
        "    one notification at a time, in-process, mean of {} WeChat / {} Alipay (µs):",
        count[0], count[1]
    );
    for (i, name) in names.iter().enumerate() {
        println!(
            "      {:>7.0} / {:>7.0}  {name}",
            t[0][i] / count[0] as f64 * 1e6,
            t[1][i] / count[1] as f64 * 1e6
        );
    }
    println!(
        "      {:>7.0} / {:>7.0}  sum",
        t[0].iter().sum::<f64>() / count[0] as f64 * 1e6,
        t[1].iter().sum::<f64>() / count[1] as f64 * 1e6
    );
    // The whole handler path, on the other STEPS orders.
    let mut whole = [0f64; 2];
    let mut whole_n = [0usize; 2];
    for (o, req) in orders.iter().zip(&built).skip(STEPS) {
        let w = usize::from(o.1 == doorstep_payments::Provider::Alipay);
        let t0 = Instant::now();
        let (status, _, _) = app
            .handle_notification(
                if w == 0 { "wechat" } else { "alipay" },
                o.3,
                &headers(req),
                &req.body,
            )
            .await;
        whole[w] += t0.elapsed().as_secs_f64();
        whole_n[w] += 1;
        assert_eq!(status, 200);
    }
    println!(
        "      {:>7.0} / {:>7.0}  App::handle_notification as a whole (no HTTP)",
        whole[0] / whole_n[0] as f64 * 1e6,
        whole[1] / whole_n[1] as f64 * 1e6
    );
    // Key loading alone: what caching the provider client would save.
    let mut key_t = [0f64; 2];
    for (w, v) in [&kit.wechat, &kit.alipay].into_iter().enumerate() {
        let settings: MerchantSettings = serde_json::from_value(v.clone()).unwrap();
        let t0 = Instant::now();
        for _ in 0..50 {
            std::hint::black_box(settings.client(app.pay.transport.clone()).unwrap());
        }
        key_t[w] = t0.elapsed().as_secs_f64() / 50.0;
    }
    println!(
        "      {:>7.0} / {:>7.0}  of which MerchantSettings::client alone (keys parsed and checked)",
        key_t[0] * 1e6,
        key_t[1] * 1e6
    );
    // Cash: the pieces of App::record_cash.
    let mut c = [0f64; 4];
    for k in 0..STEPS {
        let (visit, ci) = s.visits[k % s.visits.len()];
        let col = &s.collectors[ci];
        let mut lap = Instant::now();
        let mut tick = |i: usize| {
            c[i] += lap.elapsed().as_secs_f64();
            lap = Instant::now();
        };
        let user = app.session_user(&col.token).await.unwrap();
        tick(0);
        let (estate, b) = app.visit_for(&user, visit).await.unwrap();
        tick(1);
        app.store
            .record_payment(&doorstep_store::NewPayment {
                estate_id: estate.id,
                objects: b.targets.clone(),
                line_ids: vec![],
                amount: Fen(100),
                method: "cash".into(),
                paid_on: doorstep_app::today(&estate),
                at: doorstep_app::now(),
                recorded_by: Some(user.id),
                idempotency_key: Some(format!("cash:{}:step-{k:06}", user.id)),
                booking_id: Some(visit),
                offline: false,
                only_due_now: false,
            })
            .await
            .unwrap();
        tick(2);
        let lines = app
            .visit_lines(&estate, &b, doorstep_app::today(&estate))
            .await
            .unwrap();
        std::hint::black_box(lines);
        tick(3);
    }
    println!("    one cash payment at a time, in-process, mean of {STEPS} (µs):");
    for (name, x) in [
        "session lookup (1 statement)",
        "visit_for: booking + estate (2 statements)",
        "record_payment (one write transaction: allocation, journal)",
        "visit_lines: what is still owed (1 statement)",
    ]
    .iter()
    .zip(c)
    {
        println!("      {:>7.0}  {name}", x / STEPS as f64 * 1e6);
    }
    println!(
        "      {:>7.0}  sum",
        c.iter().sum::<f64>() / STEPS as f64 * 1e6
    );
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn summary(name: &str, reps: &[Rep]) {
    println!("{name} (median of {} repetition(s)):", reps.len());
    let show = |label: &str, f: &dyn Fn(&Rep) -> Option<&Load>| {
        let loads: Vec<&Load> = reps.iter().filter_map(f).collect();
        if loads.is_empty() {
            return;
        }
        let runs = loads
            .iter()
            .map(|l| format!("{:.0}", l.rps()))
            .collect::<Vec<_>>()
            .join(", ");
        let p99s = loads
            .iter()
            .map(|l| format!("{:.1}", l.p99_ms))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "  {label}: {:.0} req/s (runs: {runs}), p50 {:.2} ms, p99 {:.2} ms (runs: {p99s})",
            median(loads.iter().map(|l| l.rps()).collect()),
            median(loads.iter().map(|l| l.p50_ms).collect()),
            median(loads.iter().map(|l| l.p99_ms).collect()),
        );
    };
    show("cash", &|r| r.cash.as_ref());
    show("cash retries", &|r| r.retry.as_ref());
    show("notifications (each twice)", &|r| r.notify.as_ref());
    let sum = |f: &dyn Fn(&Verdict) -> usize| reps.iter().map(|r| f(&r.verdict)).sum::<usize>();
    println!(
        "  checks over all repetitions: lost {} (cash {}, orders {}), doubled {} (cash {}, orders {}, orphan provider payments {}, bad retries {}), ledger problems {}",
        sum(&|v| v.lost()),
        sum(&|v| v.cash_lost),
        sum(&|v| v.notify_unpaid),
        sum(&|v| v.doubled()),
        sum(&|v| v.cash_doubled),
        sum(&|v| v.notify_doubled),
        sum(&|v| v.orphans as usize),
        sum(&|v| v.retries_bad),
        sum(&|v| v.ledger_problems),
    );
}

// ---------------------------------------------------------------------------
// The collector app's first load.

fn gzip_len(bytes: &[u8]) -> usize {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(bytes).unwrap();
    e.finish().unwrap().len()
}

/// `attr="…"` values in `html` that are local paths.
fn local_refs(html: &str, attr: &str) -> Vec<String> {
    let pat = format!("{attr}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&pat) {
        rest = &rest[i + pat.len()..];
        let end = rest.find('"').unwrap_or(rest.len());
        let v = rest[..end].replace("&amp;", "&");
        if v.starts_with('/') && !v.starts_with("//") {
            out.push(v);
        }
        rest = &rest[end..];
    }
    out
}

struct Fetched {
    status: u16,
    raw: usize,
    gz: usize,
    encoding: Option<String>,
    cache: Option<String>,
    body: String,
}

fn fetch(agent: &ureq::Agent, base: &str, path: &str, token: &str) -> Fetched {
    let r = agent
        .get(&format!("{base}{path}"))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Accept-Encoding", "gzip, deflate, br")
        .set("Accept", "text/html,*/*")
        .call();
    let r = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {path}: {e}"),
    };
    let status = r.status();
    let encoding = r.header("content-encoding").map(str::to_string);
    let cache = r.header("cache-control").map(str::to_string);
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut r.into_reader(), &mut bytes).unwrap();
    // If the server compressed it, that is what went over the wire.
    let (raw, gz, body) = if encoding.as_deref() == Some("gzip") {
        let mut d = flate2::read::GzDecoder::new(&bytes[..]);
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut d, &mut plain).unwrap();
        (
            plain.len(),
            bytes.len(),
            String::from_utf8_lossy(&plain).into(),
        )
    } else {
        (
            bytes.len(),
            gzip_len(&bytes),
            String::from_utf8_lossy(&bytes).into(),
        )
    };
    Fetched {
        status,
        raw,
        gz,
        encoding,
        cache,
        body,
    }
}

fn first_load() -> bool {
    println!("collector app, first load (demo estate, SQLite):");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(Backend::fresh("sqlite", ""));
    let app = App::new(db.store());
    let t = Instant::now();
    rt.block_on(app.seed_demo(&mut |_| {})).unwrap();
    rt.block_on(async {
        assert!(
            app.store
                .claim_job("order-poller", "bench", doorstep_app::now(), 86_400)
                .await
                .unwrap()
        );
    });
    println!("  seeded the demo in {:.1} s", t.elapsed().as_secs_f64());
    let listener =
        rt.block_on(async { tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap() });
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = rt.spawn(doorstep_web::serve(listener, app.clone()));
    let agent = agent();
    let login = |user: &str| -> String {
        let r = agent
            .post(&format!("{base}/api/v1/login"))
            .send_json(serde_json::json!({"username": user, "password": doorstep_app::demo::DEMO_PASSWORD}))
            .unwrap();
        let j: serde_json::Value = r.into_json().unwrap();
        j["token"].as_str().unwrap().to_string()
    };
    // The demo's bookings are on the next weekday: plan that evening.
    let estate = rt
        .block_on(app.store.estate_by_code(doorstep_app::demo::DEMO_ESTATE))
        .unwrap()
        .unwrap();
    let mut day = doorstep_app::today(&estate);
    loop {
        day = day.tomorrow().unwrap();
        if day.weekday().to_monday_one_offset() <= 5 {
            break;
        }
    }
    let disp = login("dispatcher");
    let r = agent
        .post(&format!("{base}/api/v1/estates/demo/dispatch/plan"))
        .set("Authorization", &format!("Bearer {disp}"))
        .send_json(serde_json::json!({"date": day.to_string()}));
    if let Err(e) = r {
        println!("  planning the evening failed: {e}");
    }
    // The collector with the most stops: the largest itinerary page.
    let mut collectors: Vec<&str> = doorstep_app::demo::DEMO_USERS
        .iter()
        .filter(|u| u.1 == Role::Collector)
        .map(|u| u.0)
        .collect();
    collectors.extend(doorstep_app::demo::DEMO_COLLECTORS.iter().map(|c| c.0));
    let mut best: Option<(String, Fetched, String)> = None;
    let page_path = format!("/c/demo/today?date={day}");
    for u in collectors {
        let tok = login(u);
        let f = fetch(&agent, &base, &page_path, &tok);
        if f.status != 200 {
            println!(
                "  {page_path} for {u}: status {} — collector pages not ready? {}",
                f.status,
                f.body.chars().take(200).collect::<String>()
            );
            server.abort();
            rt.block_on(db.drop_it());
            rt.shutdown_timeout(Duration::from_secs(5));
            return false;
        }
        let stops = f.body.matches("data-booking=").count();
        println!("  {u}: {stops} stops, page {} bytes ({} gzip)", f.raw, f.gz);
        if best.as_ref().is_none_or(|b| f.raw > b.1.raw) {
            best = Some((u.to_string(), f, tok));
        }
    }
    let (who, page, tok) = best.unwrap();
    let mut refs: Vec<String> = local_refs(&page.body, "href")
        .into_iter()
        .chain(local_refs(&page.body, "src"))
        .filter(|r| r.contains("?v="))
        .collect();
    refs.sort();
    refs.dedup();
    // The service worker is registered by app.js.
    let app_js = refs
        .iter()
        .find(|r| r.starts_with("/c/app.js"))
        .map(|r| fetch(&agent, &base, r, &tok));
    let sw_path = app_js
        .as_ref()
        .and_then(|j| {
            let i = j.body.find("serviceWorker.register(\"")?;
            let rest = &j.body[i + "serviceWorker.register(\"".len()..];
            Some(rest[..rest.find('"')?].to_string())
        })
        .unwrap_or_else(|| "/c/sw.js".into());
    println!("  first load of {page_path} as {who} (gzip level 6 unless the server compressed):");
    println!(
        "    {:<44} {:>8} {:>8}  cache-control",
        "resource", "bytes", "gzip"
    );
    let mut total_raw = page.raw;
    let mut total_gz = page.gz;
    println!(
        "    {:<44} {:>8} {:>8}  {}{}",
        "/c/demo/today (HTML)",
        page.raw,
        page.gz,
        page.cache.as_deref().unwrap_or("-"),
        page.encoding
            .as_deref()
            .map(|e| format!(" (sent {e})"))
            .unwrap_or_default()
    );
    let mut assets = refs.clone();
    assets.push(sw_path.clone());
    let mut sw_body = String::new();
    for r in &assets {
        let f = fetch(&agent, &base, r, &tok);
        assert_eq!(f.status, 200, "{r}");
        total_raw += f.raw;
        total_gz += f.gz;
        println!(
            "    {:<44} {:>8} {:>8}  {}",
            r,
            f.raw,
            f.gz,
            f.cache.as_deref().unwrap_or("-")
        );
        if *r == sw_path {
            sw_body = f.body;
        }
    }
    let ok = total_gz <= FIRST_LOAD_LIMIT;
    println!(
        "    {:<44} {:>8} {:>8}  limit {} → {}",
        "total",
        total_raw,
        total_gz,
        FIRST_LOAD_LIMIT,
        if ok { "within" } else { "OVER" }
    );
    // Stop pages the app fetches in the background for offline use.
    let ids: Vec<String> = page
        .body
        .split("data-booking=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_string))
        .collect();
    let (mut pre_raw, mut pre_gz) = (0, 0);
    for id in &ids {
        let f = fetch(&agent, &base, &format!("/c/visit/{id}"), &tok);
        pre_raw += f.raw;
        pre_gz += f.gz;
    }
    println!(
        "    then in the background, for offline use: {} stop pages, {} bytes ({} gzip)",
        ids.len(),
        pre_raw,
        pre_gz
    );
    // Later loads: the service worker precaches every versioned asset.
    let precached: Vec<String> = sw_body
        .lines()
        .find(|l| l.starts_with("const ASSETS"))
        .map(|l| {
            l.split('"')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let missing: Vec<&String> = refs.iter().filter(|r| !precached.contains(r)).collect();
    println!("    the service worker precaches: {precached:?}");
    println!(
        "    assets the page references that it does not precache: {missing:?}; pages: {}",
        if sw_body.contains("PAGE_CACHE") {
            "network-first, kept for offline"
        } else {
            "not cached"
        }
    );
    server.abort();
    rt.block_on(db.drop_it());
    rt.shutdown_timeout(Duration::from_secs(5));
    ok && missing.is_empty()
}

/// Estates in the burst scenario, rooms per estate and months billed.
const BURST_ESTATES: usize = 200;
const BURST_ROOMS: usize = 3;
const BURST_MONTHS: usize = 9;

/// The month-start burst (issue 14), PostgreSQL only: one company of 200
/// estates served by two instances (each its own runtime, pool and server
/// on the same database); `--burst` orders (25 per estate), each "paid"
/// notification sent to one instance and its copy to the other in the same
/// burst. Checks that every order is paid once, every payment has one
/// receipt, numbered 1..N without a gap, every record is in the log, and
/// the ledger is clean. Returns the load and whether every check held.
fn burst(a: &Args, kit: &doorstep_paysim::kit::Kit, sim: &Sim) -> (Load, bool) {
    let n = a.burst;
    let per_estate = n.div_ceil(BURST_ESTATES);
    assert!(
        per_estate <= BURST_ROOMS * BURST_MONTHS,
        "--burst at most {}",
        BURST_ESTATES * BURST_ROOMS * BURST_MONTHS
    );
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    };
    let (rt_a, rt_b) = (runtime(), runtime());
    let db = rt_a.block_on(Backend::fresh("postgres", &a.pg));
    let Backend::Pg(_, url, schema) = &db else {
        unreachable!()
    };
    let app_a = App::new(db.store());
    // The second instance: its own pool on the same schema.
    let store_b = rt_b
        .block_on(doorstep_store_postgres::open(url, Some(schema)))
        .unwrap();
    let app_b = App::new(Arc::new(store_b.clone()));
    let t = Instant::now();
    let (company, estates, collector) = rt_a.block_on(async {
        let now = doorstep_app::now();
        let company = app_a
            .store
            .create_company("突发物业", "91310115MA1K4XQ27K")
            .await
            .unwrap();
        let mut set = tokio::task::JoinSet::new();
        for part in 0..4 {
            let app = app_a.clone();
            let company_id = company.id;
            set.spawn(async move {
                let mut out = Vec::new();
                for k in (part..BURST_ESTATES).step_by(4) {
                    let estate = app
                        .store
                        .create_estate(
                            company_id,
                            &EstateInput {
                                code: EstateCode::parse(&format!("b{k:03}")).unwrap(),
                                name: format!("突发{k}小区"),
                                timezone: "Asia/Shanghai".into(),
                                office: String::new(),
                            },
                        )
                        .await
                        .unwrap();
                    let mut batch = ImportBatch::default();
                    for r in 0..BURST_ROOMS {
                        let number = format!("{}01", r + 1);
                        batch.rooms.push(RoomInput {
                            building: "1".into(),
                            entrance: "1".into(),
                            floor: r as i32 + 1,
                            number: number.clone(),
                            area: Area::from_centi(8000 + 100 * r as i64).unwrap(),
                        });
                        batch.owners.push(ImportOwner {
                            name: format!("业主{k}-{r}"),
                            phones: vec![PhoneNumber::parse(&format!("138{k:04}{r:04}")).unwrap()],
                            rooms: vec![RoomKey {
                                building: "1".into(),
                                entrance: "1".into(),
                                number,
                            }],
                            spaces: vec![],
                        });
                    }
                    app.store.bulk_seed(estate.id, &batch).await.unwrap();
                    app.store
                        .create_fee_item(
                            estate.id,
                            &FeeItemSpec {
                                code: "property".into(),
                                name: "物业服务费".into(),
                                category: Category::Property,
                                basis: Basis::PerArea,
                                cycle: Cycle::Monthly,
                                price: Fen(250),
                                due_day: 28,
                                late_fee: LateFeePolicy::OFF,
                            },
                        )
                        .await
                        .unwrap();
                    let today = doorstep_app::today(&estate);
                    let mut p = (1..BURST_MONTHS).fold(Period::of(today), |p, _| p.prev());
                    for _ in 0..BURST_MONTHS {
                        app.run_billing(&estate, p, None, &mut |_, _| {})
                            .await
                            .unwrap();
                        p = p.next();
                    }
                    out.push(estate);
                }
                out
            });
        }
        let mut estates = Vec::new();
        while let Some(r) = set.join_next().await {
            estates.extend(r.unwrap());
        }
        estates.sort_by_key(|e| e.id);
        let collector = app_a
            .store
            .create_user(&NewUser {
                company_id: company.id,
                username: "burst-collector".into(),
                display_name: "收费员".into(),
                password_hash: "not-a-password".into(),
                role: Role::Collector,
                estate_ids: estates.iter().map(|e| e.id).collect(),
            })
            .await
            .unwrap();
        doorstep_app::demo::seed_collecting(
            &app_a,
            estates[0].code.as_str(),
            &kit.wechat,
            &kit.alipay,
        )
        .await
        .unwrap();
        assert!(
            app_a
                .store
                .claim_job("order-poller", "bench", now, 86_400)
                .await
                .unwrap()
        );
        db.analyze().await;
        (company, estates, collector)
    });
    let merchants = rt_a.block_on(app_a.store.merchants(company.id)).unwrap();
    let pick = |p: &str| merchants.iter().find(|m| m.provider == p).unwrap().id;
    let (wx, ali) = (pick("wechat"), pick("alipay"));
    // Orders: `per_estate` open lines of each estate, WeChat Pay and Alipay in turn.
    let orders: Vec<(String, doorstep_payments::Provider, i64, i64)> = rt_a.block_on(async {
        let now = doorstep_app::now();
        let mut set = tokio::task::JoinSet::new();
        for part in 0..4 {
            let app = app_a.clone();
            let estates: Vec<_> = estates.iter().skip(part).step_by(4).cloned().collect();
            let collector_id = collector.id;
            set.spawn(async move {
                let mut out = Vec::new();
                for e in estates {
                    let lines = app
                        .store
                        .bill_lines(&LineQuery {
                            estate_id: e.id,
                            open_only: true,
                            ..Default::default()
                        })
                        .await
                        .unwrap();
                    for (j, l) in lines.iter().take(per_estate).enumerate() {
                        let wechat = (e.id as usize + j).is_multiple_of(2);
                        let no = format!("DSB{:04}{j:03}", e.id);
                        let c = app
                            .store
                            .open_collection(&NewCollection {
                                estate_id: e.id,
                                booking_id: None,
                                collector_id,
                                method: if wechat { "wechat_qr" } else { "alipay_qr" }.into(),
                                merchant_ref: if wechat { wx } else { ali },
                                out_trade_no: no,
                                amount: l.amount,
                                line_ids: vec![l.id],
                                on: doorstep_app::today(&e),
                                expires_at: now + 3600,
                                client_key: None,
                                at: now,
                            })
                            .await
                            .unwrap();
                        let provider = if wechat {
                            doorstep_payments::Provider::Wechat
                        } else {
                            doorstep_payments::Provider::Alipay
                        };
                        out.push((c.out_trade_no, provider, c.amount.0, c.merchant_ref));
                    }
                }
                out
            });
        }
        let mut all = Vec::new();
        while let Some(r) = set.join_next().await {
            all.extend(r.unwrap());
        }
        all.sort_by(|x, y| x.0.cmp(&y.0));
        all.truncate(n);
        all
    });
    println!(
        "    seeded {} estates × {BURST_ROOMS} rooms billed for {BURST_MONTHS} months, opened {} orders in {:.1} s",
        estates.len(),
        orders.len(),
        t.elapsed().as_secs_f64()
    );
    let bind = |rt: &tokio::runtime::Runtime| {
        rt.block_on(async { tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap() })
    };
    let (l_a, l_b) = (bind(&rt_a), bind(&rt_b));
    let base_a = format!("http://{}", l_a.local_addr().unwrap());
    let base_b = format!("http://{}", l_b.local_addr().unwrap());
    let server_a = rt_a.spawn(doorstep_web::serve(l_a, app_a.clone()));
    let server_b = rt_b.spawn(doorstep_web::serve(l_b, app_b.clone()));
    let built = build_notifications(sim, &base_a, &orders, 3);
    // Each order's notification to one instance and its copy to the other,
    // in the same burst.
    let burst = (a.clients / 2).max(1);
    let mut sends = Vec::with_capacity(2 * built.len());
    for (k, chunk) in built.chunks(burst).enumerate() {
        let other = |r: &HttpRequest| HttpRequest {
            url: r.url.replacen(&base_a, &base_b, 1),
            ..r.clone()
        };
        let (first, second): (Vec<HttpRequest>, Vec<HttpRequest>) = if k % 2 == 0 {
            (chunk.to_vec(), chunk.iter().map(other).collect())
        } else {
            (chunk.iter().map(other).collect(), chunk.to_vec())
        };
        sends.extend(first);
        sends.extend(second);
    }
    let (mut load, hits) = drive(a.clients, &sends);
    // Until both instances' sequencer loops have signed and logged it all.
    load.drain = rt_b.block_on(async {
        let t = Instant::now();
        let sql = BACKLOG_SQL;
        loop {
            let n: i64 = sqlx::Row::get(
                &sqlx::query(sql).fetch_one(store_b.pool()).await.unwrap(),
                "n",
            );
            if n == 0 || t.elapsed() > Duration::from_secs(120) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        t.elapsed().as_secs_f64()
    });
    load.seconds += load.drain;
    println!(
        "    burst over two instances (each sent twice): {}",
        load.line()
    );
    show_failures("burst", &hits);
    server_a.abort();
    server_b.abort();
    let pool = store_b.pool().clone();
    let ok = rt_b.block_on(async {
        use sqlx::Row;
        while app_b.store.sequence().await.unwrap() > 0 {}
        let one = |sql: &'static str| {
            let pool = pool.clone();
            async move {
                sqlx::query(sql)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
                    .get::<i64, _>("n")
            }
        };
        let paid = one("SELECT COUNT(*) AS n FROM collections WHERE out_trade_no LIKE 'DSB%' AND status = 'paid'").await;
        let payments = one("SELECT COUNT(*) AS n FROM payments WHERE collection_id IS NOT NULL").await;
        let doubled = one("SELECT COUNT(*) AS n FROM (SELECT collection_id FROM payments WHERE collection_id IS NOT NULL GROUP BY collection_id HAVING COUNT(*) > 1) d").await;
        let receipts = one("SELECT COUNT(*) AS n FROM receipts").await;
        let distinct = one("SELECT COUNT(DISTINCT number) AS n FROM receipts").await;
        let max_no = one("SELECT COALESCE(MAX(number), 0) AS n FROM receipts").await;
        let issued = one("SELECT COUNT(*) AS n FROM receipts WHERE status = 'issued' AND leaf_index IS NOT NULL").await;
        let queued = one("SELECT (SELECT COUNT(*) FROM evidence_queue) + (SELECT COUNT(*) FROM receipt_queue) AS n").await;
        let records = one("SELECT COUNT(*) AS n FROM evidence_records").await;
        let size = one("SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) AS n FROM evidence_logs").await;
        let report = doorstep_store::check_ledger(app_b.store.as_ref(), None).await.unwrap();
        for p in report.problems.iter().take(5) {
            println!("    ledger: {p}");
        }
        println!(
            "    check: orders {}, paid {paid}, payments {payments}, paid more than once {doubled}; receipts {receipts} numbered 1..{max_no} ({distinct} distinct), issued and logged {issued}; log size {size}, records {records}, still queued {queued}; ledger check: {} entries, {} problems",
            orders.len(),
            report.entries,
            report.problems.len()
        );
        let n = orders.len() as i64;
        paid == n
            && payments == n
            && doubled == 0
            && receipts == n
            && distinct == n
            && max_no == n
            && issued == n
            && queued == 0
            && records == size
            && report.ok()
    });
    drop(app_a);
    drop(app_b);
    rt_b.block_on(store_b.pool().close());
    rt_a.block_on(db.drop_it());
    rt_a.shutdown_timeout(Duration::from_secs(5));
    rt_b.shutdown_timeout(Duration::from_secs(5));
    let all_ok = load.ok == load.requests;
    (load, ok && all_ok)
}

fn main() {
    let a = args();
    println!(
        "collecting load benchmark: {} clients, {} visits, {} cash requests (+10 % retries), {} notifications (each twice), {} repetition(s), server on 2 tokio workers",
        a.clients, a.visits, a.cash, a.notifications, a.reps
    );
    let mut failed = false;
    if !a.backends.is_empty() && (a.runs("cash") || a.runs("notify") || a.runs("steps")) {
        let t = Instant::now();
        // Keys for both merchants and the simulator (no simulator runs: its
        // code only signs the notifications).
        let kit = doorstep_paysim::kit::kit("http://127.0.0.1:9").unwrap();
        let sim = Sim::new(kit.config.clone());
        println!(
            "  generated the merchant and provider keys in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        for kind in a.backends.clone() {
            let name = if kind == "sqlite" {
                "SQLite"
            } else {
                "PostgreSQL"
            };
            let mut reps = Vec::new();
            for i in 0..a.reps {
                println!("  {name} rep {}:", i + 1);
                reps.push(once(&a, kind, &kit, &sim, i + 1));
            }
            summary(name, &reps);
            for r in &reps {
                let v = &r.verdict;
                if v.lost() + v.doubled() + v.ledger_problems > 0 {
                    failed = true;
                }
            }
        }
    }
    if a.runs("burst") && a.backends.contains(&"postgres") {
        let kit = doorstep_paysim::kit::kit("http://127.0.0.1:9").unwrap();
        let sim = Sim::new(kit.config.clone());
        let mut loads = Vec::new();
        for i in 0..a.reps {
            println!("  PostgreSQL burst rep {}:", i + 1);
            let (load, ok) = burst(&a, &kit, &sim);
            failed |= !ok;
            loads.push(load);
        }
        let mut rps: Vec<f64> = loads.iter().map(Load::rps).collect();
        let mut p99: Vec<f64> = loads.iter().map(|l| l.p99_ms).collect();
        rps.sort_by(|x, y| x.total_cmp(y));
        p99.sort_by(|x, y| x.total_cmp(y));
        println!(
            "PostgreSQL burst, {} notifications (each sent twice) over {BURST_ESTATES} estates on two instances (median of {}): {:.0} requests/s, p99 {:.1} ms",
            a.burst,
            loads.len(),
            rps[rps.len() / 2],
            p99[p99.len() / 2]
        );
    }
    if a.runs("firstload") && !first_load() {
        println!("  first load: over the limit, or an asset is not precached");
    }
    assert!(
        !failed,
        "a payment was lost or doubled, or the ledger check failed (see above)"
    );
}
