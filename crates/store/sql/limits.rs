//! Rate limits: hits per key in a fixed window, one atomic upsert each.

use super::{db_err, writer};
use crate::Db;
use doorstep_store::{RateWindow, StoreResult};
use sqlx::{Pool, Row};

/// Counts one hit on `key`; a window older than `window` seconds starts over.
/// One statement: concurrent hits each count exactly once.
pub(crate) async fn rate_hit(
    pool: &Pool<Db>,
    key: &str,
    now: i64,
    window: i64,
) -> StoreResult<RateWindow> {
    let r = sqlx::query(
        "INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
           hits = CASE WHEN rate_limits.window_start <= $3 THEN 1 ELSE rate_limits.hits + 1 END, \
           window_start = CASE WHEN rate_limits.window_start <= $3 THEN $2 ELSE rate_limits.window_start END \
         RETURNING hits, window_start",
    )
    .bind(key)
    .bind(now)
    .bind(now - window)
    .fetch_one(&writer(pool))
    .await
    .map_err(db_err)?;
    window_from(&r)
}

/// The hits of `key`'s current window without counting one.
pub(crate) async fn rate_peek(
    pool: &Pool<Db>,
    key: &str,
    now: i64,
    window: i64,
) -> StoreResult<RateWindow> {
    let r = sqlx::query(
        "SELECT hits, window_start FROM rate_limits WHERE key = $1 AND window_start > $2",
    )
    .bind(key)
    .bind(now - window)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    match r {
        Some(r) => window_from(&r),
        None => Ok(RateWindow {
            hits: 0,
            window_start: now,
        }),
    }
}

/// Forgets `key`; also drops windows that ended a day before `now`.
pub(crate) async fn rate_reset(pool: &Pool<Db>, key: &str, now: i64) -> StoreResult<()> {
    sqlx::query("DELETE FROM rate_limits WHERE key = $1 OR window_start < $2")
        .bind(key)
        .bind(now - 86_400)
        .execute(&writer(pool))
        .await
        .map_err(db_err)?;
    Ok(())
}

fn window_from(r: &<Db as sqlx::Database>::Row) -> StoreResult<RateWindow> {
    let hits: i32 = r.try_get("hits").map_err(db_err)?;
    Ok(RateWindow {
        hits: u32::try_from(hits).unwrap_or(0),
        window_start: r.try_get("window_start").map_err(db_err)?,
    })
}
