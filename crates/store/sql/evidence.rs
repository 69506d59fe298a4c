//! Signing keys, receipts, the evidence log (an RFC 6962 Merkle tree per
//! company, its perfect subtrees stored in `merkle_nodes`), checkpoints and
//! invoice requests.

use super::sequencer::Lock;
use super::{col, db_err, write_tx, writer};
use crate::Db;
use doorstep_domain::{DomainError, Fen, ObjectKind};
use doorstep_store::*;
use sqlx::Pool;

type Conn = <Db as sqlx::Database>::Connection;
type Row = <Db as sqlx::Database>::Row;

/// An instant as RFC 3339 UTC, as evidence records write times.
pub(crate) fn utc(at: i64) -> String {
    jiff::Timestamp::from_second(at)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| at.to_string())
}

/// The RFC 8785 bytes of an evidence record of `kind`.
pub(crate) fn record(kind: &str, mut fields: serde_json::Value) -> Vec<u8> {
    if let Some(m) = fields.as_object_mut() {
        m.insert("v".into(), 1.into());
        m.insert("kind".into(), kind.into());
    }
    doorstep_domain::jcs::to_vec(&fields)
}

pub(crate) async fn company_of_estate(conn: &mut Conn, estate_id: i64) -> StoreResult<i64> {
    let r = sqlx::query("SELECT company_id FROM estates WHERE id = $1")
        .bind(estate_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound(format!("estate {estate_id}")))?;
    col(&r, "company_id")
}

pub(crate) async fn booking_objects(
    conn: &mut Conn,
    booking_id: i64,
) -> StoreResult<Vec<(ObjectKind, i64)>> {
    let rows = sqlx::query(
        "SELECT kind, object_id FROM booking_targets WHERE booking_id = $1 ORDER BY kind, object_id",
    )
    .bind(booking_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            let k: String = col(r, "kind")?;
            Ok((object_kind(&k)?, col(r, "object_id")?))
        })
        .collect()
}

fn object_kind(s: &str) -> StoreResult<ObjectKind> {
    ObjectKind::from_code(s).map_err(|e| StoreError::Database(format!("stored object kind: {e}")))
}

pub(crate) async fn fetch_nodes(
    conn: &mut Conn,
    company_id: i64,
    nodes: &[(u8, u64)],
) -> StoreResult<Vec<((u8, u64), [u8; 32])>> {
    let mut out = Vec::with_capacity(nodes.len());
    // Point lookups on the primary key, one UNION ALL arm per node: an OR
    // of (level, idx) pairs makes SQLite scan the company's whole tree.
    for chunk in nodes.chunks(100) {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new("");
        for (i, (level, idx)) in chunk.iter().enumerate() {
            if i > 0 {
                qb.push(" UNION ALL ");
            }
            qb.push("SELECT level, idx, hash FROM merkle_nodes WHERE company_id = ");
            qb.push_bind(company_id);
            qb.push(" AND level = ");
            qb.push_bind(i64::from(*level));
            qb.push(" AND idx = ");
            qb.push_bind(*idx as i64);
        }
        for r in qb
            .build()
            .persistent(false)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?
        {
            let level: i64 = col(&r, "level")?;
            let idx: i64 = col(&r, "idx")?;
            let hash: Vec<u8> = col(&r, "hash")?;
            let hash: [u8; 32] = hash
                .try_into()
                .map_err(|_| StoreError::Database("a stored Merkle node is not 32 bytes".into()))?;
            out.push(((level as u8, idx as u64), hash));
        }
    }
    Ok(out)
}

/// Queues records for a company's log inside the caller's transaction
/// (they commit with the change they describe; the sequencer integrates
/// them into the Merkle tree, at once on SQLite); returns their queue
/// numbers.
pub(crate) async fn append_in(
    conn: &mut Conn,
    company_id: i64,
    es: &[NewEvidence],
) -> StoreResult<Vec<i64>> {
    super::sequencer::enqueue_evidence(conn, company_id, es).await
}

/// Appends records and waits for their integration; returns the index of
/// the first.
pub(crate) async fn append_evidence(
    pool: &Pool<Db>,
    company_id: i64,
    es: &[NewEvidence],
) -> StoreResult<u64> {
    let mut tx = write_tx(pool).await?;
    let seqs = append_in(&mut tx, company_id, es).await?;
    tx.commit().await.map_err(db_err)?;
    super::sequencer::integrate(pool, company_id, Lock::Wait).await?;
    let mut conn = pool.acquire().await.map_err(db_err)?;
    let first = seqs.first().copied().unwrap_or_default();
    super::sequencer::index_of(&mut conn, first)
        .await?
        .ok_or_else(|| StoreError::Database(format!("evidence record {first} was not integrated")))
}

/// Integrates a company's queued records before its log is read, so a
/// reader sees everything committed before it asked.
async fn settle(pool: &Pool<Db>, company_id: i64) -> StoreResult<()> {
    super::sequencer::integrate(pool, company_id, Lock::Wait).await?;
    Ok(())
}

pub(crate) async fn evidence_size(pool: &Pool<Db>, company_id: i64) -> StoreResult<u64> {
    settle(pool, company_id).await?;
    let r = sqlx::query("SELECT size FROM evidence_logs WHERE company_id = $1")
        .bind(company_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    Ok(match r {
        Some(r) => col::<i64>(&r, "size")? as u64,
        None => 0,
    })
}

pub(crate) async fn evidence_logs(pool: &Pool<Db>) -> StoreResult<Vec<(i64, u64)>> {
    super::sequencer::integrate_all(pool, Lock::Wait).await?;
    let rows = sqlx::query("SELECT company_id, size FROM evidence_logs ORDER BY company_id")
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| Ok((col(r, "company_id")?, col::<i64>(r, "size")? as u64)))
        .collect()
}

const RECORD_COLS: &str =
    "company_id, idx, kind, estate_id, booking_id, payment_id, data, created_at";

fn record_row(r: &Row) -> StoreResult<EvidenceRecord> {
    Ok(EvidenceRecord {
        company_id: col(r, "company_id")?,
        index: col::<i64>(r, "idx")? as u64,
        kind: col(r, "kind")?,
        estate_id: col(r, "estate_id")?,
        booking_id: col(r, "booking_id")?,
        payment_id: col(r, "payment_id")?,
        data: col(r, "data")?,
        created_at: col(r, "created_at")?,
    })
}

pub(crate) async fn evidence_records(
    pool: &Pool<Db>,
    company_id: i64,
    from: u64,
    limit: u64,
) -> StoreResult<Vec<EvidenceRecord>> {
    settle(pool, company_id).await?;
    let rows = sqlx::query(&format!(
        "SELECT {RECORD_COLS} FROM evidence_records WHERE company_id = $1 AND idx >= $2 ORDER BY idx LIMIT $3"
    ))
    .bind(company_id)
    .bind(from as i64)
    .bind(limit.min(i64::MAX as u64) as i64)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter().map(record_row).collect()
}

pub(crate) async fn evidence_record(
    pool: &Pool<Db>,
    company_id: i64,
    index: u64,
) -> StoreResult<Option<EvidenceRecord>> {
    settle(pool, company_id).await?;
    let r = sqlx::query(&format!(
        "SELECT {RECORD_COLS} FROM evidence_records WHERE company_id = $1 AND idx = $2"
    ))
    .bind(company_id)
    .bind(index as i64)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    r.as_ref().map(record_row).transpose()
}

pub(crate) async fn evidence_about(
    pool: &Pool<Db>,
    company_id: i64,
    objects: &[(ObjectKind, i64)],
    booking_id: Option<i64>,
    payment_id: Option<i64>,
) -> StoreResult<Vec<EvidenceRecord>> {
    settle(pool, company_id).await?;
    let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(format!(
        "SELECT {RECORD_COLS} FROM evidence_records WHERE company_id = "
    ));
    qb.push_bind(company_id);
    qb.push(" AND (FALSE");
    if let Some(b) = booking_id {
        qb.push(" OR booking_id = ");
        qb.push_bind(b);
    }
    if let Some(p) = payment_id {
        qb.push(" OR payment_id = ");
        qb.push_bind(p);
    }
    for (k, id) in objects {
        qb.push(" OR idx IN (SELECT idx FROM evidence_subjects WHERE object_kind = ");
        qb.push_bind(k.code());
        qb.push(" AND object_id = ");
        qb.push_bind(*id);
        qb.push(" AND company_id = ");
        qb.push_bind(company_id);
        qb.push(")");
    }
    qb.push(") ORDER BY idx");
    let rows = qb.build().fetch_all(pool).await.map_err(db_err)?;
    rows.iter().map(record_row).collect()
}

pub(crate) async fn merkle_nodes(
    pool: &Pool<Db>,
    company_id: i64,
    nodes: &[(u8, u64)],
) -> StoreResult<Vec<((u8, u64), [u8; 32])>> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    fetch_nodes(&mut conn, company_id, nodes).await
}

const CHECKPOINT_COLS: &str = "company_id, size, root, note, signing_key_id, signed_at";

fn checkpoint_row(r: &Row) -> StoreResult<StoredCheckpoint> {
    let root: Vec<u8> = col(r, "root")?;
    Ok(StoredCheckpoint {
        company_id: col(r, "company_id")?,
        size: col::<i64>(r, "size")? as u64,
        root: root
            .try_into()
            .map_err(|_| StoreError::Database("a stored root is not 32 bytes".into()))?,
        note: col(r, "note")?,
        signing_key_id: col(r, "signing_key_id")?,
        signed_at: col(r, "signed_at")?,
    })
}

pub(crate) async fn add_checkpoint(pool: &Pool<Db>, c: &StoredCheckpoint) -> StoreResult<()> {
    sqlx::query("INSERT INTO checkpoints (company_id, size, root, note, signing_key_id, signed_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (company_id, size) DO NOTHING")
        .bind(c.company_id)
        .bind(c.size as i64)
        .bind(c.root.to_vec())
        .bind(&c.note)
        .bind(c.signing_key_id)
        .bind(c.signed_at)
        .execute(&writer(pool))
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn checkpoints(
    pool: &Pool<Db>,
    company_id: i64,
) -> StoreResult<Vec<StoredCheckpoint>> {
    let rows = sqlx::query(&format!(
        "SELECT {CHECKPOINT_COLS} FROM checkpoints WHERE company_id = $1 ORDER BY size"
    ))
    .bind(company_id)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter().map(checkpoint_row).collect()
}

pub(crate) async fn latest_checkpoint(
    pool: &Pool<Db>,
    company_id: i64,
) -> StoreResult<Option<StoredCheckpoint>> {
    let r = sqlx::query(&format!(
        "SELECT {CHECKPOINT_COLS} FROM checkpoints WHERE company_id = $1 ORDER BY size DESC LIMIT 1"
    ))
    .bind(company_id)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    r.as_ref().map(checkpoint_row).transpose()
}

// --- signing keys ---

const KEY_COLS: &str = "id, company_id, name, vkey, created_at, retired_at";

fn key_row(r: &Row) -> StoreResult<SigningKey> {
    Ok(SigningKey {
        id: col(r, "id")?,
        company_id: col(r, "company_id")?,
        name: col(r, "name")?,
        vkey: col(r, "vkey")?,
        created_at: col(r, "created_at")?,
        retired_at: col(r, "retired_at")?,
    })
}

pub(crate) async fn signing_keys(
    pool: &Pool<Db>,
    company_id: Option<i64>,
) -> StoreResult<Vec<SigningKey>> {
    let rows = sqlx::query(&format!(
        "SELECT {KEY_COLS} FROM signing_keys WHERE $1 IS NULL OR company_id = $1 ORDER BY id DESC"
    ))
    .bind(company_id)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter().map(key_row).collect()
}

pub(crate) async fn active_signing_key(
    pool: &Pool<Db>,
    company_id: i64,
) -> StoreResult<Option<(SigningKey, String)>> {
    let r = sqlx::query(&format!(
        "SELECT {KEY_COLS}, skey FROM signing_keys WHERE company_id = $1 AND retired_at IS NULL"
    ))
    .bind(company_id)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    match r {
        Some(r) => Ok(Some((key_row(&r)?, col(&r, "skey")?))),
        None => Ok(None),
    }
}

pub(crate) async fn add_signing_key(
    pool: &Pool<Db>,
    company_id: i64,
    name: &str,
    vkey: &str,
    skey: &str,
    now: i64,
    if_none: bool,
) -> StoreResult<SigningKey> {
    let mut tx = write_tx(pool).await?;
    // Lock the company row so two rotations (or two first keys) queue.
    sqlx::query("UPDATE companies SET name = name WHERE id = $1")
        .bind(company_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    let current = sqlx::query(&format!(
        "SELECT {KEY_COLS} FROM signing_keys WHERE company_id = $1 AND retired_at IS NULL"
    ))
    .bind(company_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    if let Some(r) = current {
        if if_none {
            return key_row(&r);
        }
        sqlx::query("UPDATE signing_keys SET retired_at = $2 WHERE id = $1")
            .bind(col::<i64>(&r, "id")?)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    let r = sqlx::query(&format!("INSERT INTO signing_keys (company_id, name, vkey, skey, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING {KEY_COLS}"))
        .bind(company_id)
        .bind(name)
        .bind(vkey)
        .bind(skey)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    let k = key_row(&r)?;
    tx.commit().await.map_err(db_err)?;
    Ok(k)
}

// --- receipts ---

pub(crate) const RECEIPT_COLS: &str = "id, company_id, number, estate_id, payment_id, status, token, note, sha256, signing_key_id, leaf_index, issued_at, attempts, last_error, void_reason, voided_at, void_leaf_index, created_at";

pub(crate) fn receipt_row(r: &Row) -> StoreResult<Receipt> {
    Ok(Receipt {
        id: col(r, "id")?,
        company_id: col(r, "company_id")?,
        number: col(r, "number")?,
        estate_id: col(r, "estate_id")?,
        payment_id: col(r, "payment_id")?,
        status: col(r, "status")?,
        token: col(r, "token")?,
        note: col(r, "note")?,
        sha256: col(r, "sha256")?,
        signing_key_id: col(r, "signing_key_id")?,
        leaf_index: col::<Option<i64>>(r, "leaf_index")?.map(|i| i as u64),
        issued_at: col(r, "issued_at")?,
        attempts: col(r, "attempts")?,
        last_error: col(r, "last_error")?,
        void_reason: col(r, "void_reason")?,
        voided_at: col(r, "voided_at")?,
        void_leaf_index: col::<Option<i64>>(r, "void_leaf_index")?.map(|i| i as u64),
        created_at: col(r, "created_at")?,
    })
}

/// The receipt matching `cond`, whose placeholders take `binds` in order.
async fn receipt_where(pool: &Pool<Db>, cond: &str, binds: &[i64]) -> StoreResult<Option<Receipt>> {
    let sql = format!("SELECT {RECEIPT_COLS} FROM receipts WHERE {cond}");
    let mut q = sqlx::query(&sql);
    for b in binds {
        q = q.bind(*b);
    }
    let r = q.fetch_optional(pool).await.map_err(db_err)?;
    match r.as_ref().map(receipt_row).transpose()? {
        Some(rc) => Ok(Some(settled(pool, rc).await?)),
        None => Ok(None),
    }
}

/// A receipt whose payment or void record is still queued, once the
/// record is integrated (so that the receipt names its place in the log).
async fn settled(pool: &Pool<Db>, rc: Receipt) -> StoreResult<Receipt> {
    let waiting = (rc.status == "issued" && rc.leaf_index.is_none())
        || (rc.status == "void" && rc.void_leaf_index.is_none());
    if !waiting {
        return Ok(rc);
    }
    super::sequencer::integrate(pool, rc.company_id, Lock::Wait).await?;
    let r = sqlx::query(&format!(
        "SELECT {RECEIPT_COLS} FROM receipts WHERE id = $1"
    ))
    .bind(rc.id)
    .fetch_one(pool)
    .await
    .map_err(db_err)?;
    receipt_row(&r)
}

pub(crate) async fn receipt(pool: &Pool<Db>, id: i64) -> StoreResult<Receipt> {
    receipt_where(pool, "id = $1", &[id])
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("receipt {id}")))
}

pub(crate) async fn receipt_by_token(pool: &Pool<Db>, token: &str) -> StoreResult<Option<Receipt>> {
    let r = sqlx::query(&format!(
        "SELECT {RECEIPT_COLS} FROM receipts WHERE token = $1"
    ))
    .bind(token)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    if let Some(rc) = r.as_ref().map(receipt_row).transpose()? {
        return Ok(Some(settled(pool, rc).await?));
    }
    // A link answered with the payment, opened before the sequencer
    // numbered its receipt: number it now.
    let Some(q) = sqlx::query("SELECT payment_id FROM receipt_queue WHERE token = $1")
        .bind(token)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let payment_id: i64 = col(&q, "payment_id")?;
    super::sequencer::number_payment(pool, payment_id).await?;
    receipt_where(pool, "payment_id = $1", &[payment_id]).await
}

/// A payment's receipt link and number as known now (one query; nothing
/// is numbered).
pub(crate) async fn receipt_ref_of_payment(
    pool: &Pool<Db>,
    payment_id: i64,
) -> StoreResult<Option<ReceiptRef>> {
    let r = sqlx::query(
        "SELECT number, token, status FROM receipts WHERE payment_id = $1 \
         UNION ALL SELECT NULL, token, 'pending' FROM receipt_queue WHERE payment_id = $1 AND token IS NOT NULL",
    )
    .bind(payment_id)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    r.map(|r| {
        Ok(ReceiptRef {
            number: col(&r, "number")?,
            token: col(&r, "token")?,
            status: col(&r, "status")?,
        })
    })
    .transpose()
}

pub(crate) async fn receipt_by_number(
    pool: &Pool<Db>,
    company_id: i64,
    number: i64,
) -> StoreResult<Option<Receipt>> {
    receipt_where(
        pool,
        "company_id = $1 AND number = $2",
        &[company_id, number],
    )
    .await
}

pub(crate) async fn receipt_of_payment(
    pool: &Pool<Db>,
    payment_id: i64,
) -> StoreResult<Option<Receipt>> {
    if !super::sequencer::INLINE {
        // Most often the payment was just committed and is numbered here
        // in one statement, its receipt answered by the same statement.
        if let Some(r) = super::sequencer::number_for_payment(pool, payment_id).await? {
            return Ok(Some(r));
        }
        super::sequencer::number_payment(pool, payment_id).await?;
    }
    receipt_where(pool, "payment_id = $1", &[payment_id]).await
}

pub(crate) async fn receipts(
    pool: &Pool<Db>,
    estate_id: i64,
    limit: i64,
) -> StoreResult<Vec<Receipt>> {
    let rows = sqlx::query(&format!(
        "SELECT {RECEIPT_COLS} FROM receipts WHERE estate_id = $1 ORDER BY number DESC LIMIT $2"
    ))
    .bind(estate_id)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter().map(receipt_row).collect()
}

pub(crate) async fn pending_receipts(pool: &Pool<Db>, limit: i64) -> StoreResult<Vec<Receipt>> {
    if !super::sequencer::INLINE {
        super::sequencer::number_all(pool, Lock::Skip).await?;
    }
    let rows = sqlx::query(&format!(
        "SELECT {RECEIPT_COLS} FROM receipts WHERE status = 'pending' ORDER BY id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter().map(receipt_row).collect()
}

pub(crate) async fn take_receipt_copy(pool: &Pool<Db>, id: i64, max: i64) -> StoreResult<bool> {
    let n = sqlx::query("UPDATE receipts SET copies = copies + 1 WHERE id = $1 AND copies < $2")
        .bind(id)
        .bind(max)
        .execute(&writer(pool))
        .await
        .map_err(db_err)?
        .rows_affected();
    Ok(n == 1)
}

pub(crate) async fn receipt_attempt_failed(
    pool: &Pool<Db>,
    id: i64,
    error: &str,
) -> StoreResult<()> {
    sqlx::query("UPDATE receipts SET attempts = attempts + 1, last_error = $2 WHERE id = $1 AND status = 'pending'")
        .bind(id)
        .bind(error.chars().take(500).collect::<String>())
        .execute(&writer(pool))
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn issue_receipts(
    pool: &Pool<Db>,
    batch: &[IssueReceipt],
) -> StoreResult<Vec<(Receipt, bool)>> {
    use std::collections::{BTreeMap, HashSet};
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    // A handful of statements for the whole batch, both backends: the
    // receipts still pending turn issued (one UPDATE … FROM VALUES; a
    // receipt another transaction issued or voided first is left alone),
    // then the records and texts of exactly those are queued.
    let mut tx = write_tx(pool).await?;
    let mut issued: HashSet<i64> = HashSet::new();
    for chunk in batch.chunks(100) {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(
            "UPDATE receipts SET status = 'issued', note = v.column2, sha256 = v.column3, \
             signing_key_id = v.column4, issued_at = v.column5, last_error = NULL FROM (VALUES ",
        );
        for (k, i) in chunk.iter().enumerate() {
            if k > 0 {
                qb.push(", ");
            }
            qb.push("(CAST(")
                .push_bind(i.receipt_id)
                .push(" AS BIGINT), CAST(")
                .push_bind(i.note.clone())
                .push(" AS TEXT), CAST(")
                .push_bind(i.sha256.clone())
                .push(" AS TEXT), CAST(")
                .push_bind(i.signing_key_id)
                .push(" AS BIGINT), CAST(")
                .push_bind(i.at)
                .push(" AS BIGINT))");
        }
        qb.push(
            ") AS v WHERE receipts.id = v.column1 AND receipts.status = 'pending' RETURNING receipts.id",
        );
        // One text per batch size: not kept in the statement cache, where
        // it would push out the payment's statements.
        for r in qb
            .build()
            .persistent(false)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?
        {
            issued.insert(col(&r, "id")?);
        }
    }
    let mine: Vec<&IssueReceipt> = batch
        .iter()
        .filter(|i| issued.contains(&i.receipt_id))
        .collect();
    // The rows as they are now (issued by this call or not).
    let mut now: std::collections::HashMap<i64, Receipt> = std::collections::HashMap::new();
    for chunk in batch.chunks(500) {
        let ids: Vec<i64> = chunk.iter().map(|i| i.receipt_id).collect();
        let list = super::id_list(&ids);
        for r in sqlx::query(&format!(
            "SELECT {RECEIPT_COLS} FROM receipts WHERE id IN ({list})"
        ))
        .persistent(false)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?
        {
            let rc = receipt_row(&r)?;
            now.insert(rc.id, rc);
        }
    }
    // Records per company, in batch order.
    let mut records: BTreeMap<i64, Vec<NewEvidence>> = BTreeMap::new();
    for i in &mine {
        let company = now
            .get(&i.receipt_id)
            .map(|r| r.company_id)
            .ok_or_else(|| StoreError::NotFound(format!("receipt {}", i.receipt_id)))?;
        records.entry(company).or_default().push(i.evidence.clone());
    }
    for (company, es) in &records {
        append_in(&mut tx, *company, es).await?;
    }
    let texts: Vec<(&NewMessage, i64)> = mine
        .iter()
        .flat_map(|i| i.messages.iter().map(move |m| (m, i.at)))
        .collect();
    for chunk in texts.chunks(200) {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(
            "INSERT INTO outbox (estate_id, channel, recipient, kind, body, booking_id, created_at, due_at) ",
        );
        qb.push_values(chunk, |mut b, (m, at)| {
            b.push_bind(m.estate_id)
                .push_bind(m.channel.clone())
                .push_bind(m.recipient.clone())
                .push_bind(m.kind.clone())
                .push_bind(m.body.clone())
                .push_bind(None::<i64>)
                .push_bind(*at)
                .push_bind(m.due_at);
        });
        qb.build()
            .persistent(false)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)?;
    // The records wait in the queue for the sequencer (a reader of the
    // receipt or the log integrates them first).
    batch
        .iter()
        .map(|i| {
            let r = now
                .get(&i.receipt_id)
                .cloned()
                .ok_or_else(|| StoreError::NotFound(format!("receipt {}", i.receipt_id)))?;
            Ok((r, issued.contains(&i.receipt_id)))
        })
        .collect()
}

/// Voids a payment's receipt inside the (approved) void's transaction and
/// logs the void. A receipt not yet issued is voided too (it will never be
/// signed as valid).
pub(crate) async fn void_receipt_in(
    conn: &mut Conn,
    payment_id: i64,
    reason: &str,
    requested_by: i64,
    approved_by: i64,
    at: i64,
) -> StoreResult<()> {
    // A payment voided before the sequencer numbered its receipt: number it
    // now, so that the void shows in the receipts' sequence.
    if let Some(q) = sqlx::query("SELECT company_id FROM receipt_queue WHERE payment_id = $1")
        .bind(payment_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
    {
        let company_id: i64 = col(&q, "company_id")?;
        super::sequencer::number_in(conn, company_id, Lock::Wait, i64::MAX).await?;
    }
    let Some(r) = sqlx::query(&format!(
        "SELECT {RECEIPT_COLS} FROM receipts WHERE payment_id = $1"
    ))
    .bind(payment_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?
    else {
        return Ok(());
    };
    let rc = receipt_row(&r)?;
    if rc.status == "void" {
        return Ok(());
    }
    let data = record(
        "receipt_void",
        serde_json::json!({
            "company": rc.company_id,
            "receipt_number": rc.number,
            "receipt_sha256": rc.sha256,
            "payment": payment_id,
            "reason": reason,
            "requested_by": requested_by,
            "approved_by": approved_by,
            "at": utc(at),
        }),
    );
    let objects = payment_objects(conn, payment_id).await?;
    append_in(
        conn,
        rc.company_id,
        &[NewEvidence {
            kind: "receipt_void".into(),
            estate_id: Some(rc.estate_id),
            booking_id: None,
            payment_id: Some(payment_id),
            objects,
            data,
            at,
        }],
    )
    .await?;
    sqlx::query(
        "UPDATE receipts SET status = 'void', void_reason = $2, voided_at = $3 WHERE id = $1",
    )
    .bind(rc.id)
    .bind(reason)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn payment_objects(
    conn: &mut Conn,
    payment_id: i64,
) -> StoreResult<Vec<(ObjectKind, i64)>> {
    let rows = sqlx::query("SELECT DISTINCT l.object_kind, l.object_id FROM payment_allocations a JOIN bill_lines l ON l.id = a.line_id WHERE a.payment_id = $1 ORDER BY l.object_kind, l.object_id")
        .bind(payment_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            let k: String = col(r, "object_kind")?;
            Ok((object_kind(&k)?, col(r, "object_id")?))
        })
        .collect()
}

fn basis_text(basis: &str, unit_price: Fen, quantity_centi: i64) -> String {
    let q = format!("{}.{:02}", quantity_centi / 100, quantity_centi % 100);
    match basis {
        "per_area" => format!("{}元/m² × {q}m²", unit_price.yuan_string()),
        "per_room" => format!("{}元/户", unit_price.yuan_string()),
        "per_space" => format!("{}元/个", unit_price.yuan_string()),
        _ => String::new(),
    }
}

pub(crate) async fn receipt_facts(pool: &Pool<Db>, payment_id: i64) -> StoreResult<ReceiptFacts> {
    receipt_facts_many(pool, &[payment_id])
        .await?
        .pop()
        .ok_or_else(|| StoreError::NotFound(format!("payment {payment_id}")))
}

/// The facts of several payments' receipts in three queries (payments,
/// their lines with labels, the owners of the rooms and spaces with their
/// first phone), in the order asked; payments that do not exist are left
/// out.
pub(crate) async fn receipt_facts_many(
    pool: &Pool<Db>,
    payment_ids: &[i64],
) -> StoreResult<Vec<ReceiptFacts>> {
    use std::collections::HashMap;
    if payment_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = super::id_list(payment_ids);
    let ps = sqlx::query(&format!("SELECT p.id, p.estate_id, p.amount_fen, p.method, p.provider, p.transaction_id, p.paid_at, p.recorded_by, p.booking_id, p.advance_fen, \
                         e.name AS estate_name, e.timezone, c.id AS company_id, c.name AS company_name, c.credit_code, u.display_name \
                         FROM payments p JOIN estates e ON e.id = p.estate_id JOIN companies c ON c.id = e.company_id LEFT JOIN users u ON u.id = p.recorded_by WHERE p.id IN ({list})"))
        .persistent(false)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    // Each line with its room's or space's label, in the payment's estate.
    let rows = sqlx::query(&format!("SELECT a.payment_id, a.line_id, a.late_fee_fen, a.principal_fen, l.object_kind, l.object_id, l.period, l.amount_fen, l.unit_price_fen, l.quantity_centi, l.status, l.paid_principal_fen, \
                            f.name AS item, f.category, f.basis, f.tax_code, f.vat_rate_bp, \
                            b.name AS b_name, r.entrance AS r_entrance, r.number AS r_number, s.code AS s_code \
                            FROM payment_allocations a JOIN bill_lines l ON l.id = a.line_id JOIN fee_items f ON f.id = l.fee_item_id \
                            LEFT JOIN rooms r ON l.object_kind = 'room' AND r.id = l.object_id AND r.estate_id = l.estate_id \
                            LEFT JOIN buildings b ON b.id = r.building_id \
                            LEFT JOIN spaces s ON l.object_kind = 'space' AND s.id = l.object_id AND s.estate_id = l.estate_id \
                            WHERE a.payment_id IN ({list}) ORDER BY a.payment_id, l.period, l.id"))
        .persistent(false)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    let mut rooms = Vec::new();
    let mut spaces = Vec::new();
    for r in &rows {
        let id: i64 = col(r, "object_id")?;
        match object_kind(&col::<String>(r, "object_kind")?)? {
            ObjectKind::Room => rooms.push(id),
            ObjectKind::Space => spaces.push(id),
        }
    }
    rooms.sort_unstable();
    rooms.dedup();
    spaces.sort_unstable();
    spaces.dedup();
    // Owners' names (in id order) and first phones, per room or space.
    let mut owners: HashMap<(ObjectKind, i64), (Vec<String>, Vec<String>)> = HashMap::new();
    if !rooms.is_empty() || !spaces.is_empty() {
        let phone = "COALESCE((SELECT MIN(p.phone) FROM owner_phones p WHERE p.owner_id = o.id), '') AS phone";
        let os = sqlx::query(&format!(
            "SELECT 'room' AS kind, x.room_id AS oid, o.id AS owner_id, o.name, {phone} FROM room_owners x JOIN owners o ON o.id = x.owner_id WHERE x.room_id IN ({}) \
             UNION ALL SELECT 'space' AS kind, x.space_id AS oid, o.id AS owner_id, o.name, {phone} FROM space_owners x JOIN owners o ON o.id = x.owner_id WHERE x.space_id IN ({}) \
             ORDER BY kind, oid, owner_id",
            super::id_list(&rooms),
            super::id_list(&spaces)
        ))
        .persistent(false)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
        for o in &os {
            let kind = object_kind(&col::<String>(o, "kind")?)?;
            let e = owners.entry((kind, col(o, "oid")?)).or_default();
            e.0.push(col(o, "name")?);
            let p: String = col(o, "phone")?;
            if !p.is_empty() {
                e.1.push(p);
            }
        }
    }
    let mut lines: HashMap<i64, Vec<ReceiptLineFact>> = HashMap::new();
    let mut phones: HashMap<i64, Vec<String>> = HashMap::new();
    for r in &rows {
        let kind = object_kind(&col::<String>(r, "object_kind")?)?;
        let id: i64 = col(r, "object_id")?;
        let label = match kind {
            ObjectKind::Room => doorstep_domain::estate::room_label(
                &col::<Option<String>>(r, "b_name")?
                    .ok_or_else(|| StoreError::NotFound(format!("room {id}")))?,
                &col::<Option<String>>(r, "r_entrance")?.unwrap_or_default(),
                &col::<Option<String>>(r, "r_number")?.unwrap_or_default(),
            ),
            ObjectKind::Space => format!(
                "车位{}",
                col::<Option<String>>(r, "s_code")?
                    .ok_or_else(|| StoreError::NotFound(format!("space {id}")))?
            ),
        };
        let (names, owner_phones) = owners.get(&(kind, id)).cloned().unwrap_or_default();
        let payment_id: i64 = col(r, "payment_id")?;
        phones.entry(payment_id).or_default().extend(owner_phones);
        let amount = Fen(col(r, "amount_fen")?);
        let status: String = col(r, "status")?;
        let waived = if status == "waived" {
            amount - Fen(col(r, "paid_principal_fen")?)
        } else {
            Fen::ZERO
        };
        lines.entry(payment_id).or_default().push(ReceiptLineFact {
            line_id: col(r, "line_id")?,
            object: (kind, id),
            object_label: label,
            payer: names.join("、"),
            item: col(r, "item")?,
            category: col(r, "category")?,
            period: col(r, "period")?,
            amount,
            waived,
            principal: Fen(col(r, "principal_fen")?),
            late_fee: Fen(col(r, "late_fee_fen")?),
            basis: basis_text(
                &col::<String>(r, "basis")?,
                Fen(col(r, "unit_price_fen")?),
                col(r, "quantity_centi")?,
            ),
            tax_code: col(r, "tax_code")?,
            vat_rate_bp: col(r, "vat_rate_bp")?,
        });
    }
    let mut by_id: HashMap<i64, ReceiptFacts> = HashMap::new();
    for p in &ps {
        let payment_id: i64 = col(p, "id")?;
        let mut owner_phones = phones.remove(&payment_id).unwrap_or_default();
        owner_phones.sort();
        owner_phones.dedup();
        by_id.insert(
            payment_id,
            ReceiptFacts {
                payment_id,
                company_id: col(p, "company_id")?,
                company: col(p, "company_name")?,
                company_code: col(p, "credit_code")?,
                estate_id: col(p, "estate_id")?,
                estate: col(p, "estate_name")?,
                time_zone: col(p, "timezone")?,
                amount: Fen(col(p, "amount_fen")?),
                method: col(p, "method")?,
                provider: col(p, "provider")?,
                transaction_id: col(p, "transaction_id")?,
                paid_at: col(p, "paid_at")?,
                collector: col(p, "display_name")?,
                collector_id: col(p, "recorded_by")?,
                booking_id: col(p, "booking_id")?,
                advance: Fen(col(p, "advance_fen")?),
                lines: lines.remove(&payment_id).unwrap_or_default(),
                phones: owner_phones,
            },
        );
    }
    Ok(payment_ids
        .iter()
        .filter_map(|id| by_id.remove(id))
        .collect())
}

// --- fee item tax data ---

pub(crate) async fn set_fee_item_tax(
    pool: &Pool<Db>,
    item_id: i64,
    tax_code: &str,
    vat_rate_bp: i64,
) -> StoreResult<()> {
    let code = tax_code.trim();
    if code.len() != 19 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DomainError::invalid(
            "tax_code",
            format!("a tax classification code is 19 digits, got {code:?}"),
        )
        .into());
    }
    if !(0..=10_000).contains(&vat_rate_bp) {
        return Err(DomainError::invalid(
            "vat_rate",
            format!("the VAT rate must be between 0% and 100%, got {vat_rate_bp} basis points"),
        )
        .into());
    }
    let n = sqlx::query("UPDATE fee_items SET tax_code = $2, vat_rate_bp = $3 WHERE id = $1")
        .bind(item_id)
        .bind(code)
        .bind(vat_rate_bp)
        .execute(&writer(pool))
        .await
        .map_err(db_err)?
        .rows_affected();
    if n == 0 {
        return Err(StoreError::NotFound(format!("fee item {item_id}")));
    }
    Ok(())
}

pub(crate) async fn fee_item_tax(pool: &Pool<Db>, item_id: i64) -> StoreResult<(String, i64)> {
    let r = sqlx::query("SELECT tax_code, vat_rate_bp FROM fee_items WHERE id = $1")
        .bind(item_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound(format!("fee item {item_id}")))?;
    Ok((col(&r, "tax_code")?, col(&r, "vat_rate_bp")?))
}

pub(crate) async fn fee_item_estate(pool: &Pool<Db>, item_id: i64) -> StoreResult<i64> {
    let r = sqlx::query("SELECT estate_id FROM fee_items WHERE id = $1")
        .bind(item_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound(format!("fee item {item_id}")))?;
    col(&r, "estate_id")
}

// --- invoice requests ---

const INVOICE_COLS: &str = "i.id, i.company_id, i.estate_id, i.receipt_id, r.number AS receipt_number, i.payment_id, i.kind, i.title, i.tax_id, i.email, i.phone, i.address, i.bank, i.amount_fen, i.status, i.platform, i.invoice_no, i.file_url, i.reason, i.created_at, i.updated_at";

async fn invoice_lines(pool: &Pool<Db>, request_id: i64) -> StoreResult<Vec<InvoiceLine>> {
    let rows = sqlx::query("SELECT line_id, item, tax_code, vat_rate_bp, amount_fen FROM invoice_request_lines WHERE request_id = $1 ORDER BY line_id")
        .bind(request_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(InvoiceLine {
                line_id: col(r, "line_id")?,
                item: col(r, "item")?,
                tax_code: col(r, "tax_code")?,
                vat_rate_bp: col(r, "vat_rate_bp")?,
                amount: Fen(col(r, "amount_fen")?),
            })
        })
        .collect()
}

async fn invoice_row(pool: &Pool<Db>, r: &Row) -> StoreResult<InvoiceRequest> {
    let id: i64 = col(r, "id")?;
    Ok(InvoiceRequest {
        id,
        company_id: col(r, "company_id")?,
        estate_id: col(r, "estate_id")?,
        receipt_id: col(r, "receipt_id")?,
        receipt_number: col(r, "receipt_number")?,
        payment_id: col(r, "payment_id")?,
        kind: col(r, "kind")?,
        title: col(r, "title")?,
        tax_id: col(r, "tax_id")?,
        email: col(r, "email")?,
        phone: col(r, "phone")?,
        address: col(r, "address")?,
        bank: col(r, "bank")?,
        amount: Fen(col(r, "amount_fen")?),
        status: col(r, "status")?,
        platform: col(r, "platform")?,
        invoice_no: col(r, "invoice_no")?,
        file_url: col(r, "file_url")?,
        reason: col(r, "reason")?,
        created_at: col(r, "created_at")?,
        updated_at: col(r, "updated_at")?,
        lines: invoice_lines(pool, id).await?,
    })
}

pub(crate) async fn invoice_request(pool: &Pool<Db>, id: i64) -> StoreResult<InvoiceRequest> {
    let r = sqlx::query(&format!(
        "SELECT {INVOICE_COLS} FROM invoice_requests i JOIN receipts r ON r.id = i.receipt_id WHERE i.id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?
    .ok_or_else(|| StoreError::NotFound(format!("invoice request {id}")))?;
    invoice_row(pool, &r).await
}

pub(crate) async fn invoice_requests(
    pool: &Pool<Db>,
    company_id: i64,
    estate_id: Option<i64>,
    status: Option<&str>,
    receipt_id: Option<i64>,
) -> StoreResult<Vec<InvoiceRequest>> {
    let rows = sqlx::query(&format!(
        "SELECT {INVOICE_COLS} FROM invoice_requests i JOIN receipts r ON r.id = i.receipt_id \
         WHERE ($1 IS NULL OR i.company_id = $1) AND ($2 IS NULL OR i.estate_id = $2) AND ($3 IS NULL OR i.status = $3) AND ($4 IS NULL OR i.receipt_id = $4) ORDER BY i.id"
    ))
    .bind(if company_id > 0 { Some(company_id) } else { None })
    .bind(estate_id)
    .bind(status)
    .bind(receipt_id)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(invoice_row(pool, r).await?);
    }
    Ok(out)
}

pub(crate) async fn create_invoice_request(
    pool: &Pool<Db>,
    q: &NewInvoiceRequest,
) -> StoreResult<InvoiceRequest> {
    let mut tx = write_tx(pool).await?;
    let r = sqlx::query(&format!(
        "SELECT {RECEIPT_COLS} FROM receipts WHERE id = $1{}",
        crate::ROW_LOCK
    ))
    .bind(q.receipt_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?
    .ok_or_else(|| StoreError::NotFound(format!("receipt {}", q.receipt_id)))?;
    let rc = receipt_row(&r)?;
    if rc.status == "void" {
        return Err(StoreError::Conflict(
            "this receipt is void: no invoice can be requested for it".into(),
        ));
    }
    let lines = sqlx::query("SELECT a.line_id, a.principal_fen + a.late_fee_fen AS amount, f.name, f.tax_code, f.vat_rate_bp FROM payment_allocations a JOIN bill_lines l ON l.id = a.line_id JOIN fee_items f ON f.id = l.fee_item_id \
                             WHERE a.payment_id = $1 AND a.principal_fen + a.late_fee_fen > 0 \
                             AND NOT EXISTS (SELECT 1 FROM invoice_request_lines x WHERE x.payment_id = a.payment_id AND x.line_id = a.line_id AND x.live = TRUE) ORDER BY a.line_id")
        .bind(rc.payment_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
    if lines.is_empty() {
        return Err(StoreError::Conflict(
            "an invoice has already been requested for every line of this payment".into(),
        ));
    }
    let total: i64 = lines
        .iter()
        .map(|r| col::<i64>(r, "amount"))
        .sum::<StoreResult<i64>>()?;
    let row = sqlx::query("INSERT INTO invoice_requests (company_id, estate_id, receipt_id, payment_id, kind, title, tax_id, email, phone, address, bank, amount_fen, platform, created_at, updated_at) \
                           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id")
        .bind(rc.company_id)
        .bind(rc.estate_id)
        .bind(rc.id)
        .bind(rc.payment_id)
        .bind(&q.kind)
        .bind(&q.title)
        .bind(q.tax_id.as_deref())
        .bind(q.email.as_deref())
        .bind(q.phone.as_deref())
        .bind(q.address.as_deref())
        .bind(q.bank.as_deref())
        .bind(total)
        .bind(&q.platform)
        .bind(q.at)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    let id: i64 = col(&row, "id")?;
    for l in &lines {
        sqlx::query("INSERT INTO invoice_request_lines (request_id, payment_id, line_id, item, tax_code, vat_rate_bp, amount_fen, live) VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE)")
            .bind(id)
            .bind(rc.payment_id)
            .bind(col::<i64>(l, "line_id")?)
            .bind(col::<String>(l, "name")?)
            .bind(col::<String>(l, "tax_code")?)
            .bind(col::<i64>(l, "vat_rate_bp")?)
            .bind(col::<i64>(l, "amount")?)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)?;
    invoice_request(pool, id).await
}

pub(crate) async fn set_invoice_outcome(
    pool: &Pool<Db>,
    id: i64,
    o: &InvoiceOutcome,
) -> StoreResult<InvoiceRequest> {
    let mut tx = write_tx(pool).await?;
    let n = match o.status.as_str() {
        "issued" => {
            let no = o.invoice_no.as_deref().map(str::trim).unwrap_or("");
            if no.is_empty() || no.chars().count() > 40 {
                return Err(DomainError::invalid(
                    "invoice_no",
                    "the invoice number is required (at most 40 characters)",
                )
                .into());
            }
            sqlx::query("UPDATE invoice_requests SET status = 'issued', invoice_no = $2, file_url = $3, reason = NULL, updated_at = $4, updated_by = $5 WHERE id = $1 AND status = 'requested'")
                .bind(id)
                .bind(no)
                .bind(o.file_url.as_deref().map(str::trim).filter(|s| !s.is_empty()))
                .bind(o.at)
                .bind(o.by)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected()
        }
        "failed" => {
            let why = o.reason.as_deref().map(str::trim).unwrap_or("");
            if why.is_empty() {
                return Err(DomainError::invalid("reason", "say why the invoice failed").into());
            }
            let n = sqlx::query("UPDATE invoice_requests SET status = 'failed', reason = $2, updated_at = $3, updated_by = $4 WHERE id = $1 AND status = 'requested'")
                .bind(id)
                .bind(why)
                .bind(o.at)
                .bind(o.by)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
            // A failed request frees its lines for a new request.
            sqlx::query("UPDATE invoice_request_lines SET live = FALSE WHERE request_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            n
        }
        other => {
            return Err(DomainError::invalid(
                "status",
                format!("must be issued or failed, got {other:?}"),
            )
            .into());
        }
    };
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "invoice request {id} is not waiting (already issued or failed, or unknown)"
        )));
    }
    tx.commit().await.map_err(db_err)?;
    invoice_request(pool, id).await
}
