//! PostgreSQL backend, chosen by a `postgres://` URL, for companies that run
//! several server instances against one database.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;

pub(crate) type Db = sqlx::Postgres;
pub(crate) const BACKEND: &str = "postgres";
/// Row locks taken by read-then-write transactions (payments).
pub(crate) const FOR_UPDATE: &str = " FOR UPDATE OF l";
/// Locks the selected row for the rest of the transaction (SQLite's write
/// transaction already holds the whole database).
pub(crate) const ROW_LOCK: &str = " FOR UPDATE";
/// Keeps the selected row from changing until the transaction ends while
/// others read it too (payments in one shift: the shift cannot close under
/// them, and they do not wait on each other).
pub(crate) const ROW_SHARE: &str = " FOR SHARE";
/// Whether a payment under a client key looks for an earlier one before writing
/// (a read is a round trip; the unique key refuses the retry).
pub(crate) const KEY_FIRST: bool = false;
/// Whether a payment is written in one statement (data-modifying `WITH` clauses).
pub(crate) const WRITE_IN_ONE: bool = true;
/// Locks the selected rows, leaving out those another transaction holds
/// (sequencers of several instances take disjoint work, never wait).
pub(crate) const ROW_LOCK_SKIP: &str = " FOR UPDATE SKIP LOCKED";

/// PostgreSQL write transactions start as ordinary ones; row locks and unique
/// keys do the rest.
pub(crate) async fn begin_write(
    pool: &sqlx::Pool<Db>,
) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
    pool.begin().await
}

/// Where a single-statement write runs: PostgreSQL's pool (row locks do the rest).
pub(crate) fn write_pool(pool: &sqlx::Pool<Db>) -> sqlx::Pool<Db> {
    pool.clone()
}

#[path = "../../store/sql/mod.rs"]
mod sql;

pub use sql::SqlStore as PgStore;

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
        15,
        "trigger_lookups",
        include_str!("../migrations/0015_trigger_lookups.sql"),
    ),
    (
        16,
        "api_payment_keys",
        include_str!("../migrations/0016_api_payment_keys.sql"),
    ),
];

/// Connects to `url` and migrates. `schema`, if given, is created and used as
/// the search path (tests use one schema each).
pub async fn open(url: &str, schema: Option<&str>) -> Result<PgStore, sqlx::Error> {
    let mut opts = PgConnectOptions::from_str(url)?;
    if let Some(s) = schema {
        let admin = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(opts.clone())
            .await?;
        sqlx::query(&format!(
            "CREATE SCHEMA IF NOT EXISTS \"{}\"",
            s.replace('"', "")
        ))
        .execute(&admin)
        .await?;
        admin.close().await;
        opts = opts.options([("search_path", s)]);
    }
    // A request waits this long for a free connection, then is answered
    // "busy" (503) instead of hanging.
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with(opts)
        .await?;
    sql::migrator(MIGRATIONS).run(&pool).await?;
    Ok(PgStore::from_pool(pool))
}

/// Drops a test schema.
pub async fn drop_schema(url: &str, schema: &str) -> Result<(), sqlx::Error> {
    let opts = PgConnectOptions::from_str(url)?;
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await?;
    sqlx::query(&format!(
        "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
        schema.replace('"', "")
    ))
    .execute(&admin)
    .await?;
    admin.close().await;
    Ok(())
}
