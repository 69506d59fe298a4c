//! Owner sign-in codes and sessions.
//!
//! Every limit is checked by the statement that counts it, so parallel
//! requests cannot slip past a read-then-write gap: a code is sent only if
//! the phone's counter row takes it (`INSERT … ON CONFLICT DO UPDATE … WHERE`
//! the resend interval and the hourly ceiling allow), and a try is counted
//! only while the code has tries left (`UPDATE … WHERE attempts < max …
//! RETURNING`). On PostgreSQL the row lock makes a concurrent writer wait and
//! re-check the condition; on SQLite the write transaction holds the database.

use super::{col, db_err, write_tx};
use crate::Db;
use doorstep_store::*;
use sqlx::{Pool, Transaction};

type DbRow = <Db as sqlx::Database>::Row;

pub(crate) async fn phone_on_file(pool: &Pool<Db>, phone: &str) -> StoreResult<Vec<(i64, i64)>> {
    let rows = sqlx::query(
        "SELECT DISTINCT e.company_id, o.estate_id FROM owner_phones p \
         JOIN owners o ON o.id = p.owner_id JOIN estates e ON e.id = o.estate_id \
         WHERE p.phone = $1 ORDER BY e.company_id, o.estate_id",
    )
    .bind(phone)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|r| Ok((col(r, "company_id")?, col(r, "estate_id")?)))
        .collect()
}

pub(crate) async fn owner_ids_by_phone(
    pool: &Pool<Db>,
    phone: &str,
    company_id: i64,
) -> StoreResult<Vec<(i64, i64)>> {
    let rows = sqlx::query(
        "SELECT DISTINCT o.estate_id, p.owner_id FROM owner_phones p \
         JOIN owners o ON o.id = p.owner_id JOIN estates e ON e.id = o.estate_id \
         WHERE p.phone = $1 AND e.company_id = $2 ORDER BY p.owner_id",
    )
    .bind(phone)
    .bind(company_id)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|r| Ok((col(r, "estate_id")?, col(r, "owner_id")?)))
        .collect()
}

pub(crate) async fn code_failures(
    pool: &Pool<Db>,
    phone: &str,
    since: i64,
) -> StoreResult<Vec<i64>> {
    let rows = sqlx::query("SELECT at FROM owner_code_failures WHERE phone = $1 AND at > $2")
        .bind(phone)
        .bind(since)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    rows.iter().map(|r| col(r, "at")).collect()
}

/// Takes a place in the phone's counter; `None` when its limits refuse.
async fn take_send(tx: &mut Transaction<'static, Db>, c: &NewCode) -> StoreResult<Option<i64>> {
    let row = sqlx::query(
        "INSERT INTO owner_code_sends (phone, window_start, sent, last_at) VALUES ($1, $2, 1, $2) \
         ON CONFLICT (phone) DO UPDATE SET \
           sent = CASE WHEN owner_code_sends.window_start <= $3 THEN 1 ELSE owner_code_sends.sent + 1 END, \
           window_start = CASE WHEN owner_code_sends.window_start <= $3 THEN $2 ELSE owner_code_sends.window_start END, \
           last_at = $2 \
         WHERE owner_code_sends.last_at <= $4 \
           AND (owner_code_sends.window_start <= $3 OR owner_code_sends.sent < $5) \
         RETURNING sent",
    )
    .bind(&c.phone)
    .bind(c.now)
    .bind(c.now - 3600)
    .bind(c.now - c.resend_after)
    .bind(c.per_hour)
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_err)?;
    row.map(|r| col(&r, "sent")).transpose()
}

async fn phone_sends(tx: &mut Transaction<'static, Db>, phone: &str) -> StoreResult<PhoneSends> {
    let r =
        sqlx::query("SELECT window_start, sent, last_at FROM owner_code_sends WHERE phone = $1")
            .bind(phone)
            .fetch_one(&mut **tx)
            .await
            .map_err(db_err)?;
    Ok(PhoneSends {
        window_start: col(&r, "window_start")?,
        sent: col(&r, "sent")?,
        last_at: col(&r, "last_at")?,
    })
}

pub(crate) async fn insert_code(pool: &Pool<Db>, c: &NewCode) -> StoreResult<CodeSend> {
    let mut tx = write_tx(pool).await?;
    if take_send(&mut tx, c).await?.is_none() {
        let sends = phone_sends(&mut tx, &c.phone).await?;
        tx.rollback().await.map_err(db_err)?;
        return Ok(CodeSend::Refused(sends));
    }
    let row = sqlx::query("INSERT INTO owner_codes (phone, code_hash, client, created_at, expires_at, company_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
        .bind(&c.phone)
        .bind(&c.code_hash)
        .bind(&c.client)
        .bind(c.now)
        .bind(c.expires_at)
        .bind(c.company_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    let id: i64 = col(&row, "id")?;
    // An older code still waiting is dead now (only the newest is tried):
    // never send it, and forget its text.
    sqlx::query("UPDATE outbox SET cancelled_at = $2, body = $3 WHERE recipient = $1 AND kind = 'code' AND sent_at IS NULL AND cancelled_at IS NULL")
        .bind(&c.phone)
        .bind(c.now)
        .bind(REDACTED_CODE_TEXT)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    if let Some(m) = &c.message {
        super::booking::enqueue_tx(&mut tx, m, None, c.now).await?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(CodeSend::Stored(id))
}

pub(crate) async fn try_code(
    pool: &Pool<Db>,
    phone: &str,
    now: i64,
    max_tries: i64,
) -> StoreResult<Option<StoredCode>> {
    let mut tx = write_tx(pool).await?;
    let row = sqlx::query(
        "UPDATE owner_codes SET attempts = attempts + 1 \
         WHERE id = (SELECT id FROM owner_codes WHERE phone = $1 AND used_at IS NULL AND expires_at > $2 ORDER BY id DESC LIMIT 1) \
           AND attempts < $3 AND used_at IS NULL AND expires_at > $2 \
         RETURNING id, code_hash, expires_at, attempts, company_id",
    )
    .bind(phone)
    .bind(now)
    .bind(max_tries)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    row.as_ref().map(code_from).transpose()
}

fn code_from(r: &DbRow) -> StoreResult<StoredCode> {
    Ok(StoredCode {
        id: col(r, "id")?,
        code_hash: col(r, "code_hash")?,
        expires_at: col(r, "expires_at")?,
        attempts: col(r, "attempts")?,
        company_id: col(r, "company_id")?,
    })
}

pub(crate) async fn code_failed(
    pool: &Pool<Db>,
    phone: &str,
    client: &str,
    now: i64,
) -> StoreResult<()> {
    let mut tx = write_tx(pool).await?;
    sqlx::query("INSERT INTO owner_code_failures (phone, at, client) VALUES ($1, $2, $3)")
        .bind(phone)
        .bind(now)
        .bind(client)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

pub(crate) async fn use_code(
    pool: &Pool<Db>,
    code_id: i64,
    s: &NewOwnerSession,
) -> StoreResult<bool> {
    let mut tx = write_tx(pool).await?;
    let n = sqlx::query("UPDATE owner_codes SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $2 AND company_id = $3")
        .bind(code_id)
        .bind(s.now)
        .bind(s.company_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    if n != 1 {
        tx.rollback().await.map_err(db_err)?;
        return Ok(false);
    }
    sqlx::query("INSERT INTO owner_sessions (token_hash, phone, company_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&s.token_hash)
        .bind(&s.phone)
        .bind(s.company_id)
        .bind(s.now)
        .bind(s.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(true)
}

pub(crate) async fn owner_session(
    pool: &Pool<Db>,
    token_hash: &str,
    now: i64,
) -> StoreResult<Option<OwnerSessionInfo>> {
    let row = sqlx::query(
        "SELECT phone, company_id FROM owner_sessions WHERE token_hash = $1 AND expires_at > $2 AND company_id IS NOT NULL",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    row.map(|r| {
        Ok(OwnerSessionInfo {
            phone: col(&r, "phone")?,
            company_id: col(&r, "company_id")?,
        })
    })
    .transpose()
}

pub(crate) async fn delete_owner_session(pool: &Pool<Db>, token_hash: &str) -> StoreResult<()> {
    let mut tx = write_tx(pool).await?;
    sqlx::query("DELETE FROM owner_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

pub(crate) async fn redact_sent_code(pool: &Pool<Db>, id: i64) -> StoreResult<()> {
    let mut tx = write_tx(pool).await?;
    sqlx::query(
        "UPDATE outbox SET body = $2 WHERE id = $1 AND kind = 'code' AND sent_at IS NOT NULL",
    )
    .bind(id)
    .bind(REDACTED_CODE_TEXT)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(())
}
