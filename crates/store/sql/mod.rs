//! The SQL implementation of [`doorstep_store::Store`], compiled once per backend.

/// The pool a single-statement write runs on (see each backend's `write_pool`).
pub(crate) use crate::write_pool as writer;
use crate::{Db, begin_write};
use doorstep_store::StoreError;
use sqlx::Row;

mod billing;
mod booking;
mod collect;
mod evidence;
mod import;
mod ledger;
mod limits;
mod notice;
mod objects;
mod owner_codes;
mod payments;
mod sequencer;
mod store;

pub use store::SqlStore;

/// A lock or a connection was not had in time (SQLite `SQLITE_BUSY` /
/// `SQLITE_LOCKED` and their extended codes, PostgreSQL `lock_not_available`,
/// the pool's acquire timeout): the work was not done and may be retried.
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(d) => {
            let code = d.code();
            let code = code.as_deref().unwrap_or("");
            let primary = code.parse::<u32>().map(|c| c & 0xff).ok();
            matches!(primary, Some(5 | 6)) || code == "55P03"
        }
        _ => false,
    }
}

/// Maps a database error to a store error, naming the rule a unique or
/// check violation broke in words a user understands.
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    if is_busy(&e) {
        return StoreError::Busy(e.to_string());
    }
    match &e {
        sqlx::Error::RowNotFound => StoreError::NotFound("record".into()),
        sqlx::Error::Database(d) => {
            let what = format!("{} {}", d.constraint().unwrap_or(""), d.message());
            if d.is_unique_violation() {
                let msg = if what.contains("rooms") {
                    "a room with this building, entrance and number already exists"
                } else if what.contains("spaces") {
                    "a parking space with this code already exists in the estate"
                } else if what.contains("estates") {
                    "an estate with this code already exists"
                } else if what.contains("users") {
                    "a user with this username already exists"
                } else if what.contains("fee_items") {
                    "a fee item with this code already exists in the estate"
                } else if what.contains("buildings") {
                    "a building with this name already exists in the estate"
                } else if what.contains("companies") {
                    "a company with this name already exists"
                } else if what.contains("bill_lines") {
                    "this bill line (object, fee item, period) already exists"
                } else if what.contains("invoice_request_lines") {
                    "an invoice has already been requested for this payment line"
                } else if what.contains("receipt") {
                    "this receipt number is already taken"
                } else if what.contains("booking_targets") {
                    "a room or space in this booking already has an open booking"
                } else if what.contains("payments") {
                    "a payment with this idempotency key already exists"
                } else {
                    "a record with these values already exists"
                };
                StoreError::Conflict(msg.into())
            } else if d.is_check_violation() {
                StoreError::Conflict(format!(
                    "the database refused an invalid value ({})",
                    d.message()
                ))
            } else if d.is_foreign_key_violation() {
                StoreError::NotFound("a referenced record".into())
            } else {
                StoreError::Database(e.to_string())
            }
        }
        _ => StoreError::Database(e.to_string()),
    }
}

/// Reads a column, mapping decode failures to a store error.
pub(crate) fn col<'r, T>(row: &'r <Db as sqlx::Database>::Row, name: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Db> + sqlx::Type<Db>,
{
    row.try_get::<T, _>(name).map_err(db_err)
}

/// Parses a stored civil date.
pub(crate) fn parse_date(s: &str) -> Result<doorstep_domain::Date, StoreError> {
    s.parse()
        .map_err(|e| StoreError::Database(format!("bad stored date {s:?}: {e}")))
}

/// Ids for an `IN (…)` list written into a statement (integers only, so
/// nothing to escape); `NULL` for none, which matches no row. For batches:
/// run such a statement with `.persistent(false)`, since its text is new
/// each time and would only churn the connection's statement cache.
pub(crate) fn id_list(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "NULL".into();
    }
    ids.iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Starts a write transaction the backend's way.
pub(crate) async fn write_tx(
    pool: &sqlx::Pool<Db>,
) -> Result<sqlx::Transaction<'static, Db>, StoreError> {
    begin_write(pool).await.map_err(db_err)
}

/// The embedded migrations of a backend as a sqlx migrator (no files at run time).
pub(crate) fn migrator(
    migrations: &[(i64, &'static str, &'static str)],
) -> sqlx::migrate::Migrator {
    let migrations = migrations
        .iter()
        .map(|(v, d, sql)| {
            sqlx::migrate::Migration::new(
                *v,
                (*d).into(),
                sqlx::migrate::MigrationType::Simple,
                (*sql).into(),
                false,
            )
        })
        .collect::<Vec<_>>();
    sqlx::migrate::Migrator {
        migrations: migrations.into(),
        ..sqlx::migrate::Migrator::DEFAULT
    }
}
