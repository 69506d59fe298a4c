//! SQLite backend: one file, WAL, nothing to install. The default.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

pub(crate) type Db = sqlx::Sqlite;
pub(crate) const BACKEND: &str = "sqlite";
/// SQLite locks the whole database for a write transaction; no row locks.
pub(crate) const FOR_UPDATE: &str = "";
/// Locks the selected row for the rest of the transaction (SQLite's write
/// transaction already holds the whole database).
pub(crate) const ROW_LOCK: &str = "";
/// Keeps the selected row from changing until the transaction ends while
/// others read it too (payments in one shift: the shift cannot close under
/// them, and they do not wait on each other).
pub(crate) const ROW_SHARE: &str = "";
/// Whether a payment under a client key looks for an earlier one before writing
/// (a read costs no round trip; a failed write holds the one writer).
pub(crate) const KEY_FIRST: bool = true;
/// Whether a payment is written in one statement (no data-modifying `WITH` in SQLite; a statement costs no round trip).
pub(crate) const WRITE_IN_ONE: bool = false;
/// Locks the selected rows, leaving out those another transaction holds
/// (SQLite: its write transaction already holds the whole database).
pub(crate) const ROW_LOCK_SKIP: &str = "";

/// Write transactions go through one writer connection per database file,
/// taken from a one-connection pool: writers queue fairly in the pool (an
/// async wait) instead of spinning in SQLite's busy handler, whose sleeps of
/// up to 100 ms made tail latencies under load. `BEGIN IMMEDIATE` takes the
/// write lock up front. Reads use the main pool and never wait (WAL).
///
/// A transaction dropped on an error path is rolled back by the connection's
/// worker thread a moment later; until then sqlx refuses `begin_with` on that
/// connection ("non-zero transaction depth"). With one writer connection the
/// next writer can get there first, so it waits for the rollback, briefly.
pub(crate) async fn begin_write(
    pool: &sqlx::Pool<Db>,
) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
    let writer = write_pool(pool);
    let mut tries = 0;
    loop {
        match writer.begin_with("BEGIN IMMEDIATE").await {
            Err(e) if tries < 40 && e.to_string().contains("transaction depth") => {
                tries += 1;
                if tries < 20 {
                    tokio::time::sleep(Duration::from_micros(250)).await;
                } else if let Ok(stuck) = writer.acquire().await {
                    // Still inside a transaction that will never end (its
                    // future was cancelled mid-flight): close the connection
                    // (SQLite rolls back) and let the pool open a new one.
                    tracing::warn!("closing a SQLite writer connection left inside a transaction");
                    let _ = stuck.close().await;
                }
            }
            other => return other,
        }
    }
}

/// How long a writer waits for the queue of writers (then the request is
/// answered "busy", 503, instead of hanging).
const WAIT_FOR_WRITER: Duration = Duration::from_secs(10);
/// How long a statement waits for a lock another process holds (a backup,
/// the sqlite3 shell) before giving up with SQLITE_BUSY.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

static WRITERS: LazyLock<Mutex<HashMap<PathBuf, sqlx::Pool<Db>>>> = LazyLock::new(Default::default);

/// The writer pool for `pool`'s database file (made on first use): where
/// write transactions and single-statement writes run, so that a write
/// queues for the writer (an async wait) instead of taking the write lock
/// from a reader connection, where it and the writer it collides with
/// would each sleep in SQLite's busy handler.
pub(crate) fn write_pool(pool: &sqlx::Pool<Db>) -> sqlx::Pool<Db> {
    let opts = pool.connect_options();
    let mut map = WRITERS.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(opts.get_filename().to_path_buf())
        .or_insert_with(|| {
            SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .acquire_timeout(WAIT_FOR_WRITER)
                .connect_lazy_with((*opts).clone())
        })
        .clone()
}

#[path = "../../store/sql/mod.rs"]
mod sql;

pub use sql::SqlStore as SqliteStore;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "foundation",
        include_str!("../migrations/0001_foundation.sql"),
    ),
    (2, "booking", include_str!("../migrations/0002_booking.sql")),
    (3, "collect", include_str!("../migrations/0003_collect.sql")),
    (
        4,
        "evidence",
        include_str!("../migrations/0004_evidence.sql"),
    ),
    (5, "notices", include_str!("../migrations/0005_notices.sql")),
    (
        6,
        "report_totals",
        include_str!("../migrations/0006_report_totals.sql"),
    ),
    (
        7,
        "rate_limits",
        include_str!("../migrations/0007_rate_limits.sql"),
    ),
    (
        8,
        "owner_codes",
        include_str!("../migrations/0008_owner_codes.sql"),
    ),
    (
        9,
        "import_staging",
        include_str!("../migrations/0009_import_staging.sql"),
    ),
    (
        10,
        "custody",
        include_str!("../migrations/0010_custody.sql"),
    ),
    (
        11,
        "signatures",
        include_str!("../migrations/0011_signatures.sql"),
    ),
    (
        12,
        "reconcile_attempts",
        include_str!("../migrations/0012_reconcile_attempts.sql"),
    ),
    (
        13,
        "sequencer",
        include_str!("../migrations/0013_sequencer.sql"),
    ),
    (
        14,
        "receipt_token",
        include_str!("../migrations/0014_receipt_token.sql"),
    ),
    (
        16,
        "api_payment_keys",
        include_str!("../migrations/0016_api_payment_keys.sql"),
    ),
];

/// Opens (creating if needed) the database file at `path` and migrates it.
pub async fn open(path: &Path) -> Result<SqliteStore, sqlx::Error> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    connect(opts).await
}

/// Opens a database from a `sqlite:` URL and migrates it.
pub async fn open_url(url: &str) -> Result<SqliteStore, sqlx::Error> {
    let opts = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
    connect(opts).await
}

/// Opens a database migrated only up to `version` (for upgrade tests: data
/// written by an older Doorstep, then [`open`] migrates the rest).
#[doc(hidden)]
pub async fn open_at_version(path: &Path, version: i64) -> Result<SqliteStore, sqlx::Error> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?;
    let upto: Vec<_> = MIGRATIONS
        .iter()
        .filter(|m| m.0 <= version)
        .copied()
        .collect();
    sql::migrator(&upto).run(&pool).await?;
    Ok(SqliteStore::from_pool(pool))
}

async fn connect(opts: SqliteConnectOptions) -> Result<SqliteStore, sqlx::Error> {
    // A local file does not drop connections: no ping before each use.
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .test_before_acquire(false)
        .acquire_timeout(WAIT_FOR_WRITER)
        .connect_with(opts)
        .await?;
    sql::migrator(MIGRATIONS).run(&pool).await?;
    Ok(SqliteStore::from_pool(pool))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

    use doorstep_store::Store;
    use std::time::Duration;

    /// A single-statement write (here a provider event and a rate-limit
    /// hit) waits in the writer queue while the writer connection is busy,
    /// instead of taking the write lock from a reader connection, where it
    /// and the writer would sleep in each other's busy handler; it goes
    /// through as soon as the writer is free.
    #[tokio::test]
    async fn single_statement_writes_queue_for_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store = super::open(&dir.path().join("w.sqlite")).await.unwrap();
        let busy = super::write_pool(store.pool()).acquire().await.unwrap();
        let event = store.record_provider_event("wechat", "N1", Some("T1"), "paid", "", 1);
        let held = tokio::time::timeout(Duration::from_millis(400), event).await;
        assert!(
            held.is_err(),
            "the event was written beside the busy writer"
        );
        let hit =
            tokio::time::timeout(Duration::from_millis(400), store.rate_hit("k", 1, 60)).await;
        assert!(
            hit.is_err(),
            "the rate hit was written beside the busy writer"
        );
        drop(busy);
        store
            .record_provider_event("wechat", "N1", Some("T1"), "paid", "", 1)
            .await
            .unwrap();
        assert_eq!(store.rate_hit("k", 1, 60).await.unwrap().hits, 1);
        assert_eq!(
            store.provider_events(Some("T1"), 10).await.unwrap().len(),
            1
        );
    }
}
