//! SQLite backend: one file, WAL, nothing to install. The default.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

pub(crate) type Db = sqlx::Sqlite;
pub(crate) const BACKEND: &str = "sqlite";
/// SQLite locks the whole database for a write transaction; no row locks.
pub(crate) const FOR_UPDATE: &str = "";
/// Locks the selected row for the rest of the transaction (SQLite's write
/// transaction already holds the whole database).
pub(crate) const ROW_LOCK: &str = "";

/// Write transactions take the write lock up front (`BEGIN IMMEDIATE`), so
/// two writers queue on the busy timeout instead of failing on upgrade.
pub(crate) async fn begin_write(
    pool: &sqlx::Pool<Db>,
) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
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
];

/// Opens (creating if needed) the database file at `path` and migrates it.
pub async fn open(path: &Path) -> Result<SqliteStore, sqlx::Error> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30));
    connect(opts).await
}

/// Opens a database from a `sqlite:` URL and migrates it.
pub async fn open_url(url: &str) -> Result<SqliteStore, sqlx::Error> {
    let opts = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30));
    connect(opts).await
}

async fn connect(opts: SqliteConnectOptions) -> Result<SqliteStore, sqlx::Error> {
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(opts)
        .await?;
    sql::migrator(MIGRATIONS).run(&pool).await?;
    Ok(SqliteStore::from_pool(pool))
}
