//! Slot listing and booking under load, from a second process (wrk) on
//! loopback, on SQLite and PostgreSQL; then checks that no slot was
//! oversold and that every booking the clients were told about is there
//! exactly once.
//!
//! The server is the real one (`doorstep_web::serve`) on a 2-worker tokio
//! runtime inside this process, over a fresh database per repetition: one
//! estate, 20 collectors × 50 visits per slot = 1,000 places per slot,
//! windows 08:00–22:00 every day in 30-minute slots, cut-off 0, horizon 60
//! days, and one owner (own phone, own session token, own room) per booking
//! request, so that bookings succeed rather than meet "already booked".
//!
//! Scenarios, each driven by `wrk` with a Lua script written here:
//! - **list**: `GET /api/v1/estates/load/slots?from=…&days=7` (public), `from`
//!   rotating over 40 days.
//! - **book**: `POST /api/v1/estates/load/bookings`, each request a distinct
//!   owner, spread over 50 days × 28 slots.
//! - **hot**: every request for the same slot (1,000 places): the slot fills,
//!   the rest are refused `409 slot_full`.
//! - **race** (not wrk: `--racers` client threads released by one barrier):
//!   a slot with one place left (capacity 50, 49 booked), many owners at the
//!   same moment; exactly one may succeed.
//!
//! After the runs the database is checked: for every slot, open bookings ≤
//! capacity and `slot_places.taken` = open bookings; every booking id a client
//! got a 201 for exists, open, once (lost / doubled); bookings the clients
//! never heard about (in flight when wrk stopped) are counted.
//!
//! ```sh
//! cargo bench -p doorstep --bench booking_load -- [--backend sqlite|postgres|both] \
//!     [--seconds 10] [--connections 16] [--threads 1] [--reps 3] [--hot-seconds 3] \
//!     [--races 20] [--racers 64] [--pg URL] [--owners N] [--only list,book,hot,race]
//! ```
//! PostgreSQL: `--pg`, else `DOORSTEP_TEST_PG_URL`, else
//! `postgres://postgres@127.0.0.1:5432/test`; one schema per repetition,
//! dropped afterwards. Needs `wrk` on the PATH (`apt-get install wrk`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness fails loudly

use doorstep_app::App;
use doorstep_app::auth::token_hash;
use doorstep_app::booking::{BookingRequest, By, Target};
use doorstep_domain::booking::parse_windows;
use doorstep_domain::{
    Area, BookingRules, BookingStatus, EstateCode, ObjectKind, PhoneNumber, Role,
};
use doorstep_store::{EstateInput, ImportBatch, NewUser, RoomInput, Store};
use jiff::civil::{Date, Time};
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const ESTATE: &str = "load";
const COLLECTORS: usize = 20;
const VISITS: u32 = 50;
/// 08:00–22:00 in 30-minute slots.
const SLOTS_PER_DAY: usize = 28;
/// Bookings spread over days 1..=SPREAD_DAYS from today.
const SPREAD_DAYS: usize = 50;
/// The hot slot's day and the race day (one collector on duty: 50 places).
const HOT_DAY: i64 = 52;
const RACE_DAY: i64 = 54;
const HOT_START: &str = "19:30";
/// Listing: `from` rotates over this many days.
const LIST_DAYS: usize = 40;
/// Bookings timed step by step (in-process, one at a time).
const STEPS: usize = 1000;
/// Owners per wrk stop in the cancellation scenario.
const CANCEL_OWNERS: usize = 4000;

#[derive(Clone)]
struct Args {
    backends: Vec<&'static str>,
    seconds: u64,
    hot_seconds: u64,
    connections: usize,
    threads: usize,
    reps: usize,
    races: usize,
    racers: usize,
    cancels: usize,
    owners: Option<usize>,
    pg: String,
    only: Vec<String>,
}

fn args() -> Args {
    let mut a = Args {
        backends: vec!["sqlite", "postgres"],
        seconds: 10,
        hot_seconds: 3,
        connections: 16,
        threads: 1,
        reps: 1,
        races: 20,
        racers: 64,
        cancels: 20,
        owners: None,
        pg: std::env::var("DOORSTEP_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        only: vec!["list".into(), "book".into(), "hot".into(), "race".into()],
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
                    other => panic!("--backend sqlite|postgres|both, not {other:?}"),
                }
            }
            "--seconds" => a.seconds = num(it.next(), "--seconds") as u64,
            "--hot-seconds" => a.hot_seconds = num(it.next(), "--hot-seconds") as u64,
            "--connections" => a.connections = num(it.next(), "--connections"),
            "--threads" => a.threads = num(it.next(), "--threads"),
            "--reps" => a.reps = num(it.next(), "--reps").max(1),
            "--races" => a.races = num(it.next(), "--races").min(SLOTS_PER_DAY),
            "--racers" => a.racers = num(it.next(), "--racers").max(2),
            "--cancels" => a.cancels = num(it.next(), "--cancels"),
            "--owners" => a.owners = Some(num(it.next(), "--owners")),
            "--pg" => a.pg = it.next().expect("--pg URL"),
            "--only" => {
                a.only = it
                    .next()
                    .expect("--only list,book,hot,race")
                    .split(',')
                    .map(str::to_string)
                    .collect()
            }
            _ => {} // cargo bench passes --bench
        }
    }
    a.threads = a.threads.clamp(1, a.connections.max(1));
    a
}

impl Args {
    fn runs(&self, what: &str) -> bool {
        self.only.iter().any(|o| o == what)
    }
}

enum Backend {
    // The directory is kept alive (and removed) with the store.
    Sqlite(doorstep_store_sqlite::SqliteStore, tempfile::TempDir),
    Pg(doorstep_store_postgres::PgStore, String, String),
}

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
                let schema = format!("bench_booking_{}", jiff::Timestamp::now().as_millisecond());
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
}

/// Owners (one phone, one room each) and their sessions in bulk: the
/// store's import matches and inserts owners one by one (several statements
/// each), which would dominate the run; sessions one by one would take
/// minutes on PostgreSQL with a commit each. Seeding only.
macro_rules! insert_owners {
    ($pool:expr, $db:ty, $estate:expr, $owners:expr, $now:expr) => {{
        use sqlx::Row;
        let owners: &[Owner] = $owners;
        let mut tx = $pool.begin().await.unwrap();
        for chunk in owners.chunks(1000) {
            let mut qb: sqlx::QueryBuilder<$db> =
                sqlx::QueryBuilder::new("INSERT INTO owners (estate_id, name) ");
            qb.push_values(chunk, |mut b, o| {
                b.push_bind($estate).push_bind(format!("业主{}", o.phone));
            });
            qb.build().execute(&mut *tx).await.unwrap();
        }
        let ids: HashMap<String, i64> =
            sqlx::query("SELECT id, name FROM owners WHERE estate_id = $1")
                .bind($estate)
                .fetch_all(&mut *tx)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get::<String, _>("name"), r.get::<i64, _>("id")))
                .collect();
        let id = |o: &Owner| ids[&format!("业主{}", o.phone)];
        for chunk in owners.chunks(1000) {
            let mut qb: sqlx::QueryBuilder<$db> =
                sqlx::QueryBuilder::new("INSERT INTO owner_phones (owner_id, phone) ");
            qb.push_values(chunk, |mut b, o| {
                b.push_bind(id(o)).push_bind(o.phone.clone());
            });
            qb.build().execute(&mut *tx).await.unwrap();
            let mut qb: sqlx::QueryBuilder<$db> =
                sqlx::QueryBuilder::new("INSERT INTO room_owners (room_id, owner_id) ");
            qb.push_values(chunk, |mut b, o| {
                b.push_bind(o.room).push_bind(id(o));
            });
            qb.build().execute(&mut *tx).await.unwrap();
            let mut qb: sqlx::QueryBuilder<$db> = sqlx::QueryBuilder::new(
                "INSERT INTO owner_sessions (token_hash, phone, company_id, created_at, expires_at) ",
            );
            qb.push_values(chunk, |mut b, o| {
                b.push_bind(token_hash(&o.token))
                    .push_bind(o.phone.clone())
                    .push_bind(o.who.company_id)
                    .push_bind($now)
                    .push_bind($now + 86_400);
            });
            qb.build().execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
    }};
}

/// What the database holds after the runs.
struct DbState {
    /// (starts_at, day, open bookings).
    open_per_slot: Vec<(i64, String, i64)>,
    /// (starts_at, taken).
    places: Vec<(i64, i64)>,
    /// (id, open) of every booking.
    bookings: Vec<(i64, bool)>,
    /// Owners with more than one open booking.
    owners_doubled: i64,
    /// Booking events.
    events: i64,
}

fn open_codes() -> String {
    BookingStatus::ALL
        .into_iter()
        .filter(|s| s.is_open())
        .map(|s| format!("'{}'", s.code()))
        .collect::<Vec<_>>()
        .join(",")
}

macro_rules! read_state {
    ($pool:expr, $estate:expr) => {{
        use sqlx::Row;
        let open = open_codes();
        let open_per_slot = sqlx::query(&format!(
            "SELECT starts_at, day, COUNT(*) AS n FROM bookings WHERE estate_id = $1 AND status IN ({open}) GROUP BY starts_at, day"
        ))
        .bind($estate)
        .fetch_all($pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<i64, _>("starts_at"), r.get::<String, _>("day"), r.get::<i64, _>("n")))
        .collect();
        let places = sqlx::query("SELECT starts_at, taken FROM slot_places WHERE estate_id = $1")
            .bind($estate)
            .fetch_all($pool)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get::<i64, _>("starts_at"), r.get::<i64, _>("taken")))
            .collect();
        let bookings = sqlx::query(&format!(
            "SELECT id, CASE WHEN status IN ({open}) THEN 1 ELSE 0 END AS o FROM bookings WHERE estate_id = $1"
        ))
        .bind($estate)
        .fetch_all($pool)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<i64, _>("id"), r.get::<i32, _>("o") == 1))
        .collect();
        let owners_doubled: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM (SELECT owner_id FROM bookings WHERE estate_id = $1 AND status IN ({open}) GROUP BY owner_id HAVING COUNT(*) > 1) d"
        ))
        .bind($estate)
        .fetch_one($pool)
        .await
        .unwrap()
        .get("n");
        let events: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM booking_events e JOIN bookings b ON b.id = e.booking_id WHERE b.estate_id = $1",
        )
        .bind($estate)
        .fetch_one($pool)
        .await
        .unwrap()
        .get("n");
        DbState {
            open_per_slot,
            places,
            bookings,
            owners_doubled,
            events,
        }
    }};
}

impl Backend {
    async fn insert_owners(&self, estate_id: i64, owners: &[Owner], now: i64) {
        match self {
            Backend::Sqlite(s, _) => insert_owners!(s.pool(), sqlx::Sqlite, estate_id, owners, now),
            Backend::Pg(s, _, _) => {
                insert_owners!(s.pool(), sqlx::Postgres, estate_id, owners, now)
            }
        }
    }
    /// PostgreSQL: `ANALYZE` (SQLite is left as the store leaves it).
    async fn analyze(&self) {
        if let Backend::Pg(s, _, _) = self {
            sqlx::query("ANALYZE").execute(s.pool()).await.unwrap();
        }
    }
    /// Whether another connection can take SQLite's write lock now.
    async fn write_lock_probe(&self) -> String {
        use sqlx::{ConnectOptions, Connection};
        let Backend::Sqlite(_, dir) = self else {
            return "n/a".into();
        };
        let mut c = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.path().join("bench.sqlite"))
            .busy_timeout(Duration::from_secs(1))
            .connect()
            .await
            .unwrap();
        let r = match sqlx::query("BEGIN IMMEDIATE").execute(&mut c).await {
            Ok(_) => {
                sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
                "took it".to_string()
            }
            Err(e) => e.to_string(),
        };
        c.close().await.ok();
        r
    }
    async fn state(&self, estate_id: i64) -> DbState {
        match self {
            Backend::Sqlite(s, _) => read_state!(s.pool(), estate_id),
            Backend::Pg(s, _, _) => read_state!(s.pool(), estate_id),
        }
    }
}

/// One synthetic owner: their session token, phone and room.
#[derive(Clone)]
struct Owner {
    token: String,
    phone: String,
    room: i64,
    /// The phone signed in to the estate's company.
    who: doorstep_app::owner::OwnerId,
}

struct Seeded {
    estate: doorstep_store::Estate,
    owners: Vec<Owner>,
    first_day: Date,
}

fn add_days(d: Date, n: i64) -> Date {
    d.checked_add(jiff::Span::new().days(n)).unwrap()
}

fn slot_start(i: usize) -> String {
    let m = 8 * 60 + 30 * (i % SLOTS_PER_DAY);
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn room_key(k: usize) -> (String, String, i32, String) {
    let building = (k / 500 + 1).to_string();
    let floor = (k % 500 / 10 + 1) as i32;
    (
        building,
        "1".into(),
        floor,
        format!("{}{:02}", floor, k % 10 + 1),
    )
}

async fn seed(db: &Backend, app: &App, n_owners: usize) -> Seeded {
    let t = Instant::now();
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
                name: "压测小区".into(),
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
        collectors.push(u.id);
    }
    let windows = parse_windows("weekday", "08:00-22:00").unwrap();
    app.store
        .set_booking_rules(
            estate.id,
            &BookingRules {
                weekday: windows.clone(),
                weekend: windows,
                slot_minutes: 30,
                visits_per_collector: VISITS,
                cutoff_minutes: 0,
                reminder_minutes: 120,
                service_minutes: 10,
                horizon_days: 60,
            },
        )
        .await
        .unwrap();
    let first_day = add_days(doorstep_app::today(&estate), 1);
    // The race day: one collector on duty, 50 places per slot.
    for c in &collectors[1..] {
        app.store
            .set_duty(estate.id, add_days(first_day, RACE_DAY), *c, false)
            .await
            .unwrap();
    }
    let mut batch = ImportBatch::default();
    for k in 0..n_owners {
        let (building, entrance, floor, number) = room_key(k);
        batch.rooms.push(RoomInput {
            building,
            entrance,
            floor,
            number,
            area: Area::from_centi(8000 + (k as i64 * 37) % 6000).unwrap(),
        });
    }
    app.store.bulk_seed(estate.id, &batch).await.unwrap();
    // Paged: one page binds every room id once (SQLite allows 32,766).
    let mut rooms: HashMap<(String, String), i64> = HashMap::new();
    loop {
        let page = app
            .store
            .list_rooms(estate.id, "", 10_000, rooms.len() as i64)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        rooms.extend(page.into_iter().map(|r| ((r.building, r.number), r.id)));
    }
    let owners: Vec<Owner> = (0..n_owners)
        .map(|k| {
            let (building, _, _, number) = room_key(k);
            let phone = PhoneNumber::parse(&format!("139{k:08}"))
                .unwrap()
                .as_str()
                .to_string();
            Owner {
                token: format!("o-bench-{k}"),
                who: doorstep_app::owner::OwnerId {
                    phone: phone.clone(),
                    company_id: estate.company_id,
                },
                phone,
                room: rooms[&(building, number)],
            }
        })
        .collect();
    db.insert_owners(estate.id, &owners, doorstep_app::now())
        .await;
    // A database in service has statistics; right after a bulk load
    // PostgreSQL has none until autovacuum gets to it, and plans the owner
    // and room look-ups as sequential scans (20–25 ms each at 90,000 rooms).
    db.analyze().await;
    // Through the store, as the app reads them.
    let probe = app
        .store
        .owners_by_phone(&owners[0].phone, estate.company_id)
        .await
        .unwrap();
    assert_eq!(probe.len(), 1);
    assert_eq!(probe[0].rooms[0].0, owners[0].room);
    println!(
        "  seeded {n_owners} owners, rooms and sessions, {COLLECTORS} collectors in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Seeded {
        estate,
        owners,
        first_day,
    }
}

/// What wrk reported (the script's `done` line).
#[derive(Debug, Default, Clone)]
struct WrkResult {
    requests: f64,
    seconds: f64,
    ok: f64,
    full: f64,
    conflict: f64,
    other: f64,
    exhausted: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    socket_errors: f64,
    ids: Vec<i64>,
}

impl WrkResult {
    fn rps(&self) -> f64 {
        self.requests / self.seconds
    }
    fn ok_per_s(&self) -> f64 {
        self.ok / self.seconds
    }
}

const LUA_COMMON: &str = r#"
local threads = {}
local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
ok, full, conflict, other, exhausted = 0, 0, 0, 0, 0
function done(summary, latency, requests)
  local s = {ok = 0, full = 0, conflict = 0, other = 0, exhausted = 0}
  for _, t in ipairs(threads) do
    for k, _ in pairs(s) do s[k] = s[k] + (t:get(k) or 0) end
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d ok=%d full=%d conflict=%d other=%d exhausted=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d socket_errors=%d\n",
    summary.requests, summary.duration, s.ok, s.full, s.conflict, s.other, s.exhausted,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.timeout))
end
"#;

fn lua_booking(data: &Path, ids_dir: &Path, threads: usize) -> String {
    format!(
        r#"{LUA_COMMON}
local DATA = "{data}"
local IDS = "{ids}"
local THREADS = {threads}
local rows, nexti, idf
function init(args)
  rows = {{}}
  for line in io.lines(DATA) do
    local tok, room, date, start = line:match("^(%S+) (%S+) (%S+) (%S+)$")
    rows[#rows + 1] = {{tok, room, date, start}}
  end
  nexti = tid
  idf = io.open(IDS .. "/ids-" .. tid .. ".txt", "w")
  idf:setvbuf("line")
end
function request()
  local i = nexti
  nexti = nexti + THREADS
  if i > #rows then
    exhausted = exhausted + 1
    i = (i - 1) % #rows + 1
  end
  local r = rows[i]
  return wrk.format("POST", "/api/v1/estates/{ESTATE}/bookings",
    {{["Authorization"] = "Bearer " .. r[1], ["Content-Type"] = "application/json"}},
    '{{"targets":[{{"kind":"room","id":' .. r[2] .. '}}],"date":"' .. r[3] .. '","start":"' .. r[4] .. '"}}')
end
function response(status, headers, body)
  if status == 201 then
    ok = ok + 1
    idf:write(body:match('"id":(%d+)') or "?", "\n")
  elseif status == 409 and body:find("slot_full", 1, true) then
    full = full + 1
  elseif status == 409 then
    conflict = conflict + 1
  else
    other = other + 1
    if other <= 3 then io.stderr:write(status, " ", body, "\n") end
  end
end
"#,
        data = data.display(),
        ids = ids_dir.display(),
    )
}

fn lua_listing(first_day: Date) -> String {
    let paths = (0..LIST_DAYS)
        .map(|i| {
            format!(
                "\"/api/v1/estates/{ESTATE}/slots?from={}&days=7\"",
                add_days(first_day, i as i64)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"{LUA_COMMON}
local paths = {{ {paths} }}
local n = 0
function init(args) n = tid end
function request()
  n = n + 1
  return wrk.format("GET", paths[n % #paths + 1])
end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else
    other = other + 1
    if other <= 3 then io.stderr:write(status, " ", body, "\n") end
  end
end
"#
    )
}

fn field(line: &str, name: &str) -> f64 {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {line:?}"))
}

fn run_wrk(a: &Args, port: u16, script: &str, seconds: u64, work: &Path, tag: &str) -> WrkResult {
    let file = work.join(format!("{tag}.lua"));
    std::fs::write(&file, script).unwrap();
    let ids_dir = work.join(format!("{tag}-ids"));
    let out = Command::new("wrk")
        .arg(format!("-t{}", a.threads))
        .arg(format!("-c{}", a.connections))
        .arg(format!("-d{seconds}s"))
        .arg("--timeout")
        .arg("30s")
        .arg("--latency")
        .arg("-s")
        .arg(&file)
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .expect("run wrk (apt-get install wrk)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let Some(line) = stdout.lines().find(|l| l.starts_with("RESULT ")) else {
        panic!("wrk failed ({}):\n{stdout}\n{stderr}", out.status);
    };
    if !stderr.trim().is_empty() {
        println!("    wrk stderr: {}", stderr.trim().replace('\n', " | "));
    }
    let mut ids = Vec::new();
    if let Ok(dir) = std::fs::read_dir(&ids_dir) {
        for f in dir {
            for l in std::fs::read_to_string(f.unwrap().path()).unwrap().lines() {
                ids.push(l.trim().parse().expect("booking id in a 201 body"));
            }
        }
    }
    let us = |n: &str| field(line, n) / 1000.0;
    WrkResult {
        requests: field(line, "requests"),
        seconds: field(line, "duration_us") / 1e6,
        ok: field(line, "ok"),
        full: field(line, "full"),
        conflict: field(line, "conflict"),
        other: field(line, "other"),
        exhausted: field(line, "exhausted"),
        p50_ms: us("p50_us"),
        p90_ms: us("p90_us"),
        p99_ms: us("p99_us"),
        max_ms: us("max_us"),
        socket_errors: field(line, "socket_errors"),
        ids,
    }
}

fn write_rows(path: &Path, rows: impl Iterator<Item = (Owner, Date, String)>) {
    let mut s = String::new();
    for (o, d, start) in rows {
        s += &format!("{} {} {} {}\n", o.token, o.room, d, start);
    }
    std::fs::write(path, s).unwrap();
}

fn booking_script(
    a: &Args,
    work: &Path,
    tag: &str,
    rows: impl Iterator<Item = (Owner, Date, String)>,
) -> String {
    let data = work.join(format!("{tag}.txt"));
    write_rows(&data, rows);
    let ids = work.join(format!("{tag}-ids"));
    std::fs::create_dir_all(&ids).unwrap();
    lua_booking(&data, &ids, a.threads)
}

/// One HTTP/1.1 request per thread, all released by one barrier; statuses.
fn race(port: u16, requests: Vec<String>) -> Vec<u16> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let handles: Vec<_> = requests
        .into_iter()
        .map(|req| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                s.set_nodelay(true).unwrap();
                barrier.wait();
                s.write_all(req.as_bytes()).unwrap();
                let mut out = Vec::new();
                s.read_to_end(&mut out).unwrap();
                let text = String::from_utf8_lossy(&out);
                text.split_whitespace()
                    .nth(1)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn raw_booking(o: &Owner, day: Date, start: &str) -> String {
    let body = format!(
        r#"{{"targets":[{{"kind":"room","id":{}}}],"date":"{day}","start":"{start}"}}"#,
        o.room
    );
    format!(
        "POST /api/v1/estates/{ESTATE}/bookings HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        o.token,
        body.len()
    )
}

/// The database checks after a repetition.
#[derive(Debug, Default, Clone)]
struct Verdict {
    slots: usize,
    oversold: usize,
    taken_mismatch: usize,
    lost: usize,
    doubled: usize,
    unacknowledged: usize,
    events_mismatch: i64,
}

async fn verify(db: &Backend, app: &App, s: &Seeded, acked: &[i64]) -> Verdict {
    let st = db.state(s.estate.id).await;
    let rules = app.store.booking_rules(s.estate.id).await.unwrap();
    let mut capacity: HashMap<String, i64> = HashMap::new();
    let mut v = Verdict::default();
    for (_, day, n) in &st.open_per_slot {
        if !capacity.contains_key(day) {
            let d: Date = day.parse().unwrap();
            let c = app.slot_capacity(&s.estate, &rules, d).await.unwrap();
            capacity.insert(day.clone(), c);
        }
        if *n > capacity[day] {
            v.oversold += 1;
        }
    }
    let taken: HashMap<i64, i64> = st.places.iter().copied().collect();
    let counted: HashMap<i64, i64> = st.open_per_slot.iter().map(|x| (x.0, x.2)).collect();
    v.slots = taken.len().max(counted.len());
    for (at, t) in &taken {
        if counted.get(at).copied().unwrap_or(0) != *t {
            v.taken_mismatch += 1;
        }
    }
    v.taken_mismatch += counted.keys().filter(|at| !taken.contains_key(at)).count();
    let open: HashMap<i64, bool> = st.bookings.iter().copied().collect();
    let mut seen = HashSet::new();
    for id in acked {
        if !seen.insert(*id) {
            v.doubled += 1;
        }
        if open.get(id) != Some(&true) {
            v.lost += 1;
        }
    }
    v.doubled += st.owners_doubled as usize;
    v.unacknowledged = st
        .bookings
        .iter()
        .filter(|(id, _)| !seen.contains(id))
        .count();
    v.events_mismatch = st.events - st.bookings.len() as i64;
    v
}

#[derive(Default, Clone)]
struct Rep {
    list: Option<WrkResult>,
    book: Option<WrkResult>,
    hot: Option<WrkResult>,
    race_wins: Vec<usize>,
    race_full: usize,
    verdict: Verdict,
    hot_taken: i64,
    cancel_ids: Vec<i64>,
    wedged: Option<String>,
}

/// Waits until the server has finished what wrk left in flight.
async fn settle(db: &Backend, estate_id: i64) {
    let mut last = usize::MAX;
    for _ in 0..50 {
        let n = db.state(estate_id).await.bookings.len();
        if n == last {
            return;
        }
        last = n;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn once(a: &Args, kind: &str) -> Rep {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    // Owners: enough for the booking and hot runs at up to 5,000 requests/s,
    // plus the races.
    let book_n = a.owners.unwrap_or(a.seconds as usize * 5000);
    let hot_n = a.hot_seconds as usize * 5000;
    let race_n = a.races * (VISITS as usize - 1 + a.racers);
    let cancel_n = if a.runs("cancel") {
        a.cancels * CANCEL_OWNERS
    } else {
        0
    };
    let steps_n = if a.runs("steps") { 2 * STEPS } else { 0 };
    let n_owners = book_n + hot_n + race_n + cancel_n + steps_n;
    let db = rt.block_on(Backend::fresh(kind, &a.pg));
    let app = App::new(db.store());
    let seeded = rt.block_on(seed(&db, &app, n_owners));
    let listener =
        rt.block_on(async { tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap() });
    let port = listener.local_addr().unwrap().port();
    let server = rt.spawn(doorstep_web::serve(listener, app.clone()));
    let mut rep = Rep::default();
    let owners = &seeded.owners;

    if a.runs("book") {
        let rows = owners[..book_n].iter().enumerate().map(|(k, o)| {
            (
                o.clone(),
                add_days(seeded.first_day, (k % SPREAD_DAYS) as i64),
                slot_start(k / SPREAD_DAYS),
            )
        });
        let script = booking_script(a, work.path(), "book", rows);
        let r = run_wrk(a, port, &script, a.seconds, work.path(), "book");
        println!(
            "    book: {:.0} req/s, {:.0} bookings/s (201), p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.1} ms; 409 full {} / conflict {}, other {}, socket errors {}, owners exhausted {}",
            r.rps(),
            r.ok_per_s(),
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.max_ms,
            r.full,
            r.conflict,
            r.other,
            r.socket_errors,
            r.exhausted
        );
        rep.book = Some(r);
        rt.block_on(settle(&db, seeded.estate.id));
    }

    if a.runs("list") {
        let r = run_wrk(
            a,
            port,
            &lua_listing(seeded.first_day),
            a.seconds,
            work.path(),
            "list",
        );
        println!(
            "    list: {:.0} req/s, p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.1} ms; non-200 {}, socket errors {}",
            r.rps(),
            r.p50_ms,
            r.p90_ms,
            r.p99_ms,
            r.max_ms,
            r.other,
            r.socket_errors
        );
        rep.list = Some(r);
    }

    if a.runs("hot") {
        let hot_day = add_days(seeded.first_day, HOT_DAY);
        let rows = owners[book_n..book_n + hot_n]
            .iter()
            .map(|o| (o.clone(), hot_day, HOT_START.to_string()));
        let script = booking_script(a, work.path(), "hot", rows);
        let r = run_wrk(a, port, &script, a.hot_seconds, work.path(), "hot");
        rt.block_on(settle(&db, seeded.estate.id));
        let st = rt.block_on(db.state(seeded.estate.id));
        let at = doorstep_app::booking::local_to_unix(
            &seeded.estate,
            hot_day.to_datetime(HOT_START.parse::<Time>().unwrap()),
        )
        .unwrap();
        rep.hot_taken = st
            .places
            .iter()
            .find(|p| p.0 == at)
            .map(|p| p.1)
            .unwrap_or(0);
        println!(
            "    hot slot (capacity {}): {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms; 201 {} (taken {}), 409 slot_full {}, other 409 {}, other {}",
            COLLECTORS as u32 * VISITS,
            r.rps(),
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            r.ok,
            rep.hot_taken,
            r.full,
            r.conflict,
            r.other
        );
        rep.hot = Some(r);
    }

    if a.runs("race") {
        let race_day = add_days(seeded.first_day, RACE_DAY);
        let mut next = book_n + hot_n;
        for i in 0..a.races {
            let start = slot_start(i);
            // Fill the slot to one place short, through the app.
            rt.block_on(async {
                for o in &owners[next..next + VISITS as usize - 1] {
                    app.create_booking(
                        By::Owner(&o.who),
                        ESTATE,
                        &BookingRequest {
                            targets: vec![Target {
                                kind: ObjectKind::Room,
                                id: o.room,
                            }],
                            date: race_day.to_string(),
                            start: start.clone(),
                            pays_cash: false,
                            call_first: false,
                            note: String::new(),
                            contact_phone: String::new(),
                        },
                    )
                    .await
                    .unwrap();
                }
            });
            next += VISITS as usize - 1;
            let reqs = owners[next..next + a.racers]
                .iter()
                .map(|o| raw_booking(o, race_day, &start))
                .collect();
            next += a.racers;
            let statuses = race(port, reqs);
            rep.race_wins
                .push(statuses.iter().filter(|s| **s == 201).count());
            rep.race_full += statuses.iter().filter(|s| **s == 409).count();
            let odd: Vec<_> = statuses
                .iter()
                .filter(|s| **s != 201 && **s != 409)
                .collect();
            if !odd.is_empty() {
                println!("    race {i}: unexpected statuses {odd:?}");
            }
        }
        println!(
            "    last-place race ×{} ({} clients each): winners per race {:?}, 409 {}",
            a.races, a.racers, rep.race_wins, rep.race_full
        );
    }

    let mut probes = 0;
    if a.runs("cancel") {
        // wrk stops with requests in flight and closes their connections;
        // the server drops those handlers mid-request. After each stop, one
        // booking in-process must still go through promptly.
        let base = book_n + hot_n + race_n;
        let burst = Args {
            connections: a.connections.max(64),
            ..a.clone()
        };
        let mut wedged = None;
        for i in 0..a.cancels {
            let range = &owners[base + i * CANCEL_OWNERS..base + (i + 1) * CANCEL_OWNERS - 1];
            let probe = &owners[base + (i + 1) * CANCEL_OWNERS - 1];
            let rows = range.iter().enumerate().map(|(k, o)| {
                (
                    o.clone(),
                    add_days(seeded.first_day, (k % SPREAD_DAYS) as i64),
                    slot_start(k / SPREAD_DAYS + i),
                )
            });
            let tag = format!("cancel{i}");
            let script = booking_script(&burst, work.path(), &tag, rows);
            let r = run_wrk(&burst, port, &script, 1, work.path(), &tag);
            rep.cancel_ids.extend(&r.ids);
            // One booking through the app: "ok", or what went wrong and when.
            let try_book = |o: &Owner, k: usize, wait: u64| -> Option<String> {
                let t = Instant::now();
                let req = BookingRequest {
                    targets: vec![Target {
                        kind: ObjectKind::Room,
                        id: o.room,
                    }],
                    date: add_days(seeded.first_day, (k % SPREAD_DAYS) as i64).to_string(),
                    start: slot_start(k + 3),
                    pays_cash: false,
                    call_first: false,
                    note: String::new(),
                    contact_phone: String::new(),
                };
                let res = rt.block_on(async {
                    tokio::time::timeout(
                        Duration::from_secs(wait),
                        app.create_booking(By::Owner(&o.who), ESTATE, &req),
                    )
                    .await
                });
                match res {
                    Ok(Ok(_)) => None,
                    Ok(Err(e)) => Some(format!("{e} (after {:.1} s)", t.elapsed().as_secs_f64())),
                    Err(_) => Some(format!("no answer in {wait} s")),
                }
            };
            match try_book(probe, i, 5) {
                None => probes += 1,
                Some(first) => {
                    // Is the write lock held, and do later writes recover?
                    let lock = rt.block_on(db.write_lock_probe());
                    let mut later = Vec::new();
                    for (j, o) in range[range.len() - 4..].iter().enumerate() {
                        std::thread::sleep(Duration::from_secs(2));
                        later.push(match try_book(o, i + j + 1, 35) {
                            None => {
                                probes += 1;
                                "ok".to_string()
                            }
                            Some(e) => e,
                        });
                    }
                    wedged = Some(format!(
                        "after stop {}: a booking: {first}; a fresh connection's BEGIN IMMEDIATE: {lock}; 4 more bookings 2 s apart: {}",
                        i + 1,
                        later.join(" | ")
                    ));
                    break;
                }
            }
        }
        println!(
            "    cancelled in-flight requests ({} wrk stops, {} connections): {}",
            a.cancels,
            burst.connections,
            wedged
                .as_deref()
                .unwrap_or("a booking went through after every stop")
        );
        rep.wedged = wedged;
    }

    if a.runs("steps") {
        let base = book_n + hot_n + race_n + cancel_n;
        rt.block_on(steps(&app, &seeded, &owners[base..base + 2 * STEPS]));
        probes += 2 * STEPS;
    }

    server.abort();
    let mut acked: Vec<i64> = Vec::new();
    for r in [&rep.book, &rep.hot].into_iter().flatten() {
        acked.extend(&r.ids);
    }
    acked.extend(&rep.cancel_ids);
    // The races' and fills' bookings were all acknowledged in-process or by
    // status; count them as acknowledged by id from the database instead.
    let v = rt.block_on(async {
        settle(&db, seeded.estate.id).await;
        let mut v = verify(&db, &app, &seeded, &acked).await;
        let race_bookings = if a.runs("race") {
            a.races * VISITS as usize
        } else {
            0
        };
        v.unacknowledged = v.unacknowledged.saturating_sub(race_bookings + probes);
        v
    });
    println!(
        "    check: {} slots; oversold {}, taken ≠ open bookings {}, lost {}, doubled {}, unacknowledged (in flight at wrk stop) {}, events − bookings {}",
        v.slots,
        v.oversold,
        v.taken_mismatch,
        v.lost,
        v.doubled,
        v.unacknowledged,
        v.events_mismatch
    );
    rep.verdict = v;
    drop(app);
    rt.block_on(db.drop_it());
    rt.shutdown_timeout(Duration::from_secs(5));
    rep
}

/// Where one booking's and one listing's time goes: the store calls that
/// `OwnerCaller`/`Caller`, `App::create_booking` and `App::list_slots` make,
/// timed one by one, in-process, nothing else running (mean per request).
async fn steps(app: &App, s: &Seeded, owners: &[Owner]) {
    use doorstep_domain::Window;
    use doorstep_store::{Actor, NewBooking, NewMessage};
    let e = &s.estate;
    let names = [
        "owner session lookup (1 statement)",
        "booking_context: estate, rules, day rule, duty (1)",
        "owners_holding (1)",
        "object_labels (1 per target)",
        "store.create_booking: BEGIN … COMMIT (7 for one target)",
    ];
    let mut t = [0f64; 5];
    let (timed, whole) = owners.split_at(STEPS);
    for (k, o) in timed.iter().enumerate() {
        let day = add_days(s.first_day, (k % SPREAD_DAYS) as i64);
        let start: Time = slot_start(k / SPREAD_DAYS + 11).parse().unwrap();
        let mut lap = Instant::now();
        let mut tick = |i: usize| {
            t[i] += lap.elapsed().as_secs_f64();
            lap = Instant::now();
        };
        let phone = app.owner_signed_in(&o.token).await.unwrap().phone;
        tick(0);
        let ctx = app
            .store
            .booking_context(ESTATE, day)
            .await
            .unwrap()
            .unwrap();
        tick(1);
        let holder = app
            .store
            .owners_holding(ctx.estate.id, Some(&phone), &[(ObjectKind::Room, o.room)])
            .await
            .unwrap()
            .remove(0);
        tick(2);
        let labels = app
            .store
            .object_labels(ctx.estate.id, &[(ObjectKind::Room, o.room)])
            .await
            .unwrap();
        tick(3);
        let slot = ctx
            .rules
            .slot_at(day.to_datetime(start), ctx.day_rule.as_ref())
            .unwrap();
        let starts_at = doorstep_app::booking::local_to_unix(e, slot.starts()).unwrap();
        let now = doorstep_app::now();
        let nb = NewBooking {
            estate_id: ctx.estate.id,
            owner_id: holder.owner_id,
            owner_name: holder.name.clone(),
            phone: phone.clone(),
            contact_phone: phone.clone(),
            targets: vec![(ObjectKind::Room, o.room)],
            day,
            slot: Window {
                start: slot.start,
                end: slot.end,
            },
            window: slot.window,
            starts_at,
            session_at: doorstep_app::booking::local_to_unix(e, slot.session_start()).unwrap(),
            capacity: ctx.on_duty * i64::from(ctx.rules.visits_per_collector),
            pays_cash: false,
            call_first: false,
            note: String::new(),
            actor: Actor::Owner {
                phone: phone.clone(),
            },
            rescheduled_from: None,
            reminder: Some(NewMessage {
                estate_id: Some(ctx.estate.id),
                channel: "sms".into(),
                recipient: phone.clone(),
                kind: "reminder".into(),
                body: format!("提醒 {}", labels.join("、")),
                due_at: starts_at - 7200,
            }),
            now,
        };
        lap = Instant::now();
        app.store.create_booking(&nb).await.unwrap();
        t[4] += lap.elapsed().as_secs_f64();
    }
    let n = timed.len() as f64;
    println!(
        "    one booking at a time, in-process, mean of {} (µs):",
        timed.len()
    );
    for (name, x) in names.iter().zip(t) {
        println!("      {:>7.0}  {name}", x / n * 1e6);
    }
    println!("      {:>7.0}  sum", t.iter().sum::<f64>() / n * 1e6);
    let t0 = Instant::now();
    for (k, o) in whole.iter().enumerate() {
        let req = BookingRequest {
            targets: vec![Target {
                kind: ObjectKind::Room,
                id: o.room,
            }],
            date: add_days(s.first_day, (k % SPREAD_DAYS) as i64).to_string(),
            start: slot_start(k / SPREAD_DAYS + 17),
            pays_cash: false,
            call_first: false,
            note: String::new(),
            contact_phone: String::new(),
        };
        let v = app
            .create_booking(By::Owner(&o.who), ESTATE, &req)
            .await
            .unwrap();
        std::hint::black_box(serde_json::to_string(&serde_json::to_value(&v).unwrap()).unwrap());
    }
    println!(
        "      {:>7.0}  App::create_booking as a whole + JSON (no HTTP, no session lookup)",
        t0.elapsed().as_secs_f64() / whole.len() as f64 * 1e6
    );
    // Listing: 7 days.
    let n = 500;
    let mut l = [0f64; 4];
    for k in 0..n {
        let from = add_days(s.first_day, (k % LIST_DAYS) as i64);
        let to = add_days(from, 6);
        let mut lap = Instant::now();
        let mut tick = |i: usize| {
            l[i] += lap.elapsed().as_secs_f64();
            lap = Instant::now();
        };
        let estate = app.estate(ESTATE).await.unwrap();
        tick(0);
        let from_unix =
            doorstep_app::booking::local_to_unix(&estate, from.to_datetime(Time::midnight()))
                .unwrap();
        let _ = app.store.booking_rules(estate.id).await.unwrap();
        let _ = app.store.day_rules(estate.id, from, to).await.unwrap();
        let _ = app.store.on_duty_counts(estate.id, from, to).await.unwrap();
        let _ = app
            .store
            .slot_places(estate.id, from_unix, from_unix + 8 * 86_400)
            .await
            .unwrap();
        tick(1);
        let days = app.list_slots(&estate, from, 7).await.unwrap();
        tick(2);
        std::hint::black_box(
            serde_json::to_string(&serde_json::json!({ "estate": estate.code, "days": days }))
                .unwrap(),
        );
        tick(3);
    }
    println!("    one slot listing (7 days) at a time, in-process, mean of {n} (µs):");
    for (name, x) in [
        "estate by code (1 statement)",
        "booking_rules, day_rules, on_duty_counts, slot_places (5 statements)",
        "App::list_slots as a whole (the same 5 + 196 slots built)",
        "JSON of the days (via serde_json::Value, as the handler does)",
    ]
    .iter()
    .zip(l)
    {
        println!("      {:>7.0}  {name}", x / n as f64 * 1e6);
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn summary(name: &str, reps: &[Rep]) {
    let m = |f: &dyn Fn(&Rep) -> Option<f64>| median(reps.iter().filter_map(f).collect());
    let runs = |f: &dyn Fn(&Rep) -> Option<f64>| {
        reps.iter()
            .filter_map(f)
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("{name} (median of {} repetition(s)):", reps.len());
    if reps[0].list.is_some() {
        println!(
            "  slot listing: {:.0} req/s (runs: {}), p50 {:.2} ms, p99 {:.2} ms",
            m(&|r| r.list.as_ref().map(WrkResult::rps)),
            runs(&|r| r.list.as_ref().map(WrkResult::rps)),
            m(&|r| r.list.as_ref().map(|x| x.p50_ms)),
            m(&|r| r.list.as_ref().map(|x| x.p99_ms)),
        );
    }
    if reps[0].book.is_some() {
        println!(
            "  booking: {:.0} bookings/s (runs: {}), p50 {:.2} ms, p99 {:.2} ms (runs: {})",
            m(&|r| r.book.as_ref().map(WrkResult::ok_per_s)),
            runs(&|r| r.book.as_ref().map(WrkResult::ok_per_s)),
            m(&|r| r.book.as_ref().map(|x| x.p50_ms)),
            m(&|r| r.book.as_ref().map(|x| x.p99_ms)),
            reps.iter()
                .filter_map(|r| r.book.as_ref().map(|x| format!("{:.1}", x.p99_ms)))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    if reps[0].hot.is_some() {
        println!(
            "  hot slot: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms; 201s {:?}",
            m(&|r| r.hot.as_ref().map(WrkResult::rps)),
            m(&|r| r.hot.as_ref().map(|x| x.p50_ms)),
            m(&|r| r.hot.as_ref().map(|x| x.p99_ms)),
            reps.iter()
                .filter_map(|r| r.hot.as_ref().map(|x| x.ok))
                .collect::<Vec<_>>(),
        );
    }
    let sum = |f: &dyn Fn(&Verdict) -> usize| reps.iter().map(|r| f(&r.verdict)).sum::<usize>();
    println!(
        "  checks over all repetitions: oversold {}, taken ≠ open bookings {}, lost {}, doubled {}, races with ≠ 1 winner {}",
        sum(&|v| v.oversold),
        sum(&|v| v.taken_mismatch),
        sum(&|v| v.lost),
        sum(&|v| v.doubled),
        reps.iter()
            .flat_map(|r| r.race_wins.iter())
            .filter(|w| **w != 1)
            .count()
    );
}

fn main() {
    let a = args();
    let wrk_ok = Command::new("wrk")
        .arg("--version")
        .output()
        .map(|o| !o.stdout.is_empty() || !o.stderr.is_empty())
        .unwrap_or(false);
    assert!(wrk_ok, "wrk is not installed: apt-get install -y wrk");
    println!(
        "booking load benchmark: {} s per run ({} s hot), {} connections, {} wrk thread(s), {} repetition(s), server on 2 tokio workers",
        a.seconds, a.hot_seconds, a.connections, a.threads, a.reps
    );
    let mut failed = false;
    for kind in a.backends.clone() {
        let name = if kind == "sqlite" {
            "SQLite"
        } else {
            "PostgreSQL"
        };
        let mut reps = Vec::new();
        for i in 0..a.reps {
            println!("  {name} rep {}:", i + 1);
            reps.push(once(&a, kind));
        }
        summary(name, &reps);
        for r in &reps {
            let v = &r.verdict;
            let hot_bad = r
                .hot
                .as_ref()
                .is_some_and(|h| h.ok > f64::from(COLLECTORS as u32 * VISITS));
            if v.oversold + v.taken_mismatch + v.lost + v.doubled > 0
                || r.race_wins.iter().any(|w| *w != 1)
                || hot_bad
                || r.wedged.is_some()
            {
                failed = true;
            }
        }
    }
    assert!(!failed, "an invariant was broken (see above)");
}
