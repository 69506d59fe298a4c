//! The sequencer: what every payment of a company used to write into one
//! shared row, inside its own transaction, is now queued by the payment and
//! taken up in batches (as Certificate Transparency logs integrate queued
//! entries: Trillian's sequencer, Tessera).
//!
//! - **Evidence records** are inserted into `evidence_queue` by the
//!   transaction that makes the change they describe, and integrated into
//!   the company's Merkle tree by [`integrate_in`] under the lock of the
//!   log's head row: leaves in queue order, the head's size moved once per
//!   batch.
//! - **Receipt numbers**: a payment's transaction queues it in
//!   `receipt_queue`; [`number_in`] gives every queued payment of a company
//!   its receipt (pending, numbered in payment order) under the lock of the
//!   company's counter. A batch commits whole or not at all, so numbers stay
//!   without gaps or repeats.
//! - **Running totals** are written as delta rows by the triggers
//!   (PostgreSQL) and read through views that add them to the folded rows;
//!   [`fold_totals`] folds them.
//!
//! Evidence records are integrated by every instance's sequencer loop and
//! before anything reads the log (so a reader sees everything committed
//! before it asked), never in a request's path: on SQLite too, where a
//! batch costs the one writer far less than a record at a time. Receipt
//! numbers are needed at once (the receipt is signed right after the
//! payment): on PostgreSQL the request waits for the batch in progress,
//! which may have taken its payment, or numbers everything queued itself;
//! SQLite, with its single writer, numbers inside the payment's own
//! transaction.

use super::{col, db_err, write_tx, writer};
use crate::{Db, ROW_LOCK, ROW_LOCK_SKIP};
use doorstep_domain::ObjectKind;
use doorstep_merkle::MemStore;
use doorstep_store::*;
use sqlx::Pool;

type Conn = <Db as sqlx::Database>::Connection;

/// Whether a queued receipt is numbered inside the payment's own
/// transaction: on a backend without row locks (SQLite, whose one writer
/// holds the whole database anyway).
pub(crate) const INLINE: bool = crate::ROW_LOCK.is_empty();

/// How a batch takes its lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lock {
    /// Waits for a batch in progress to finish.
    Wait,
    /// Leaves the work to the batch in progress.
    Skip,
}

impl Lock {
    fn suffix(self) -> &'static str {
        match self {
            Lock::Wait => ROW_LOCK,
            Lock::Skip => ROW_LOCK_SKIP,
        }
    }
}

/// Largest batch one transaction takes up.
const BATCH: i64 = 2_000;

pub(crate) fn objects_text(objects: &[(ObjectKind, i64)]) -> String {
    let mut objs = objects.to_vec();
    objs.sort_by_key(|(k, id)| (k.code(), *id));
    objs.dedup();
    objs.iter()
        .map(|(k, id)| format!("{}:{id}", k.code()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse_objects(s: &str) -> StoreResult<Vec<(ObjectKind, i64)>> {
    s.split_whitespace()
        .map(|o| {
            let (k, id) = o
                .split_once(':')
                .ok_or_else(|| StoreError::Database(format!("queued object {o:?}")))?;
            let kind = ObjectKind::from_code(k)
                .map_err(|e| StoreError::Database(format!("queued object kind: {e}")))?;
            let id = id
                .parse::<i64>()
                .map_err(|_| StoreError::Database(format!("queued object {o:?}")))?;
            Ok((kind, id))
        })
        .collect()
}

/// Queues evidence records in the caller's transaction; returns their
/// queue numbers.
pub(crate) async fn enqueue_evidence(
    conn: &mut Conn,
    company_id: i64,
    es: &[NewEvidence],
) -> StoreResult<Vec<i64>> {
    if es.is_empty() {
        return Err(StoreError::Conflict("nothing to append".into()));
    }
    let mut seqs = Vec::with_capacity(es.len());
    for chunk in es.chunks(100) {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(
            "INSERT INTO evidence_queue (company_id, kind, estate_id, booking_id, payment_id, objects, data, created_at) ",
        );
        qb.push_values(chunk, |mut b, e| {
            b.push_bind(company_id)
                .push_bind(e.kind.clone())
                .push_bind(e.estate_id)
                .push_bind(e.booking_id)
                .push_bind(e.payment_id)
                .push_bind(objects_text(&e.objects))
                .push_bind(e.data.clone())
                .push_bind(e.at);
        });
        qb.push(" RETURNING seq");
        for r in qb
            .build()
            .persistent(false)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?
        {
            seqs.push(col::<i64>(&r, "seq")?);
        }
    }
    Ok(seqs)
}

/// The log index a queued record was given, once integrated.
pub(crate) async fn index_of(conn: &mut Conn, seq: i64) -> StoreResult<Option<u64>> {
    let r = sqlx::query("SELECT idx FROM evidence_records WHERE queue_seq = $1")
        .bind(seq)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    r.map(|r| col::<i64>(&r, "idx").map(|i| i as u64))
        .transpose()
}

/// The perfect subtrees of a tree of `size` leaves, largest first: the
/// only stored nodes an append to it can need.
fn frontier(size: u64) -> Vec<(u8, u64)> {
    (0..64u8)
        .rev()
        .filter(|l| size >> l & 1 == 1)
        .map(|l| (l, (size >> l) - 1))
        .collect()
}

/// Integrates up to `max` queued records of a company into its log, inside
/// the caller's transaction; returns how many. With [`Lock::Skip`] nothing
/// is done while another transaction holds the log's head.
pub(crate) async fn integrate_in(
    conn: &mut Conn,
    company_id: i64,
    lock: Lock,
    max: i64,
) -> StoreResult<usize> {
    sqlx::query(
        "INSERT INTO evidence_logs (company_id, size) VALUES ($1, 0) ON CONFLICT (company_id) DO NOTHING",
    )
    .bind(company_id)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    let Some(head) = sqlx::query(&format!(
        "SELECT size FROM evidence_logs WHERE company_id = $1{}",
        lock.suffix()
    ))
    .bind(company_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?
    else {
        return Ok(0);
    };
    let start = col::<i64>(&head, "size")? as u64;
    let rows = sqlx::query(
        "SELECT seq, kind, estate_id, booking_id, payment_id, objects, data, created_at \
         FROM evidence_queue WHERE company_id = $1 ORDER BY seq LIMIT $2",
    )
    .bind(company_id)
    .bind(max)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    if rows.is_empty() {
        return Ok(0);
    }
    struct Queued {
        seq: i64,
        kind: String,
        estate_id: Option<i64>,
        booking_id: Option<i64>,
        payment_id: Option<i64>,
        objects: Vec<(ObjectKind, i64)>,
        data: Vec<u8>,
        at: i64,
    }
    let mut queued = Vec::with_capacity(rows.len());
    for r in &rows {
        queued.push(Queued {
            seq: col(r, "seq")?,
            kind: col(r, "kind")?,
            estate_id: col(r, "estate_id")?,
            booking_id: col(r, "booking_id")?,
            payment_id: col(r, "payment_id")?,
            objects: parse_objects(&col::<String>(r, "objects")?)?,
            data: col(r, "data")?,
            at: col(r, "created_at")?,
        });
    }
    let mut tree = MemStore::new();
    for ((l, i), h) in super::evidence::fetch_nodes(conn, company_id, &frontier(start)).await? {
        tree.insert(l, i, h);
    }
    let mut nodes: Vec<(u8, u64, [u8; 32])> = Vec::with_capacity(queued.len() * 2);
    for (k, q) in queued.iter().enumerate() {
        let index = start + k as u64;
        let leaf = doorstep_merkle::leaf_hash(&q.data);
        let made = doorstep_merkle::append(index, leaf, &tree)
            .map_err(|e| StoreError::Database(format!("evidence log: {e}")))?;
        for (l, i, h) in &made {
            tree.insert(*l, *i, *h);
        }
        nodes.extend(made);
    }
    for chunk in nodes.chunks(300) {
        let mut qb: sqlx::QueryBuilder<Db> =
            sqlx::QueryBuilder::new("INSERT INTO merkle_nodes (company_id, level, idx, hash) ");
        qb.push_values(chunk, |mut b, (l, i, h)| {
            b.push_bind(company_id)
                .push_bind(i64::from(*l))
                .push_bind(*i as i64)
                .push_bind(h.to_vec());
        });
        qb.build()
            .persistent(false)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    let indexed: Vec<(u64, &Queued)> = queued
        .iter()
        .enumerate()
        .map(|(k, q)| (start + k as u64, q))
        .collect();
    for chunk in indexed.chunks(100) {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(
            "INSERT INTO evidence_records (company_id, idx, kind, estate_id, booking_id, payment_id, data, created_at, queue_seq) ",
        );
        qb.push_values(chunk, |mut b, (i, q)| {
            b.push_bind(company_id)
                .push_bind(*i as i64)
                .push_bind(q.kind.clone())
                .push_bind(q.estate_id)
                .push_bind(q.booking_id)
                .push_bind(q.payment_id)
                .push_bind(q.data.clone())
                .push_bind(q.at)
                .push_bind(q.seq);
        });
        qb.build()
            .persistent(false)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    let subjects: Vec<(u64, ObjectKind, i64)> = indexed
        .iter()
        .flat_map(|(i, q)| q.objects.iter().map(move |(k, id)| (*i, *k, *id)))
        .collect();
    for chunk in subjects.chunks(200) {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(
            "INSERT INTO evidence_subjects (object_kind, object_id, company_id, idx) ",
        );
        qb.push_values(chunk, |mut b, (i, k, id)| {
            b.push_bind(k.code())
                .push_bind(*id)
                .push_bind(company_id)
                .push_bind(*i as i64);
        });
        qb.build()
            .persistent(false)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    // A receipt points at the records of its payment and of its void.
    for (i, q) in &indexed {
        let column = match (q.kind.as_str(), q.payment_id) {
            ("payment", Some(_)) => "leaf_index",
            ("receipt_void", Some(_)) => "void_leaf_index",
            _ => continue,
        };
        sqlx::query(&format!(
            "UPDATE receipts SET {column} = $1 WHERE payment_id = $2 AND {column} IS NULL"
        ))
        .bind(*i as i64)
        .bind(q.payment_id)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    for chunk in queued.chunks(500) {
        let mut qb: sqlx::QueryBuilder<Db> =
            sqlx::QueryBuilder::new("DELETE FROM evidence_queue WHERE seq IN (");
        let mut sep = qb.separated(", ");
        for q in chunk {
            sep.push_bind(q.seq);
        }
        qb.push(")");
        qb.build()
            .persistent(false)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    sqlx::query("UPDATE evidence_logs SET size = $2 WHERE company_id = $1")
        .bind(company_id)
        .bind((start + queued.len() as u64) as i64)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(queued.len())
}

/// Companies with queued evidence records.
async fn companies_queued(pool: &Pool<Db>, table: &str) -> StoreResult<Vec<i64>> {
    let rows = sqlx::query(&format!(
        "SELECT DISTINCT company_id FROM {table} ORDER BY company_id"
    ))
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter().map(|r| col(r, "company_id")).collect()
}

/// The newest queued row of a company (`key`: the queue's order column).
async fn newest_queued(
    pool: &Pool<Db>,
    table: &str,
    key: &str,
    company_id: i64,
) -> StoreResult<Option<i64>> {
    let r = sqlx::query(&format!(
        "SELECT MAX({key}) AS m FROM {table} WHERE company_id = $1"
    ))
    .bind(company_id)
    .fetch_one(pool)
    .await
    .map_err(db_err)?;
    col::<Option<i64>>(&r, "m")
}

/// Whether a row queued no later than `upto` is still there.
async fn still_queued(
    pool: &Pool<Db>,
    table: &str,
    key: &str,
    company_id: i64,
    upto: i64,
) -> StoreResult<bool> {
    Ok(sqlx::query(&format!(
        "SELECT 1 AS one FROM {table} WHERE company_id = $1 AND {key} <= $2 LIMIT 1"
    ))
    .bind(company_id)
    .bind(upto)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?
    .is_some())
}

/// Integrates a company's records queued before the call, batch by batch
/// (records queued meanwhile may come along, but a reader never chases a
/// stream of new ones); returns how many.
pub(crate) async fn integrate(pool: &Pool<Db>, company_id: i64, lock: Lock) -> StoreResult<usize> {
    let Some(upto) = newest_queued(pool, "evidence_queue", "seq", company_id).await? else {
        return Ok(0);
    };
    let mut n = 0;
    loop {
        let mut tx = write_tx(pool).await?;
        let k = integrate_in(&mut tx, company_id, lock, BATCH).await?;
        tx.commit().await.map_err(db_err)?;
        n += k;
        if k == 0 || !still_queued(pool, "evidence_queue", "seq", company_id, upto).await? {
            break;
        }
    }
    Ok(n)
}

/// Integrates every company's queued records.
pub(crate) async fn integrate_all(pool: &Pool<Db>, lock: Lock) -> StoreResult<usize> {
    let mut n = 0;
    for c in companies_queued(pool, "evidence_queue").await? {
        n += integrate(pool, c, lock).await?;
    }
    Ok(n)
}

/// A receipt's link token (random, 128 bits, hex).
pub(crate) fn receipt_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Gives up to `max` queued payments of a company their pending receipts,
/// numbered in payment order, inside the caller's transaction; returns how
/// many. With [`Lock::Skip`] nothing is done while another transaction
/// holds the company's counter.
pub(crate) async fn number_in(
    conn: &mut Conn,
    company_id: i64,
    lock: Lock,
    max: i64,
) -> StoreResult<usize> {
    sqlx::query(
        "INSERT INTO receipt_counters (company_id, next_no) VALUES ($1, 1) ON CONFLICT (company_id) DO NOTHING",
    )
    .bind(company_id)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    let Some(counter) = sqlx::query(&format!(
        "SELECT next_no FROM receipt_counters WHERE company_id = $1{}",
        lock.suffix()
    ))
    .bind(company_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?
    else {
        return Ok(0);
    };
    let next: i64 = col(&counter, "next_no")?;
    let rows = sqlx::query(
        "SELECT payment_id, estate_id, created_at, token FROM receipt_queue \
         WHERE company_id = $1 ORDER BY payment_id LIMIT $2",
    )
    .bind(company_id)
    .bind(max)
    .fetch_all(&mut *conn)
    .await
    .map_err(db_err)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut queued = Vec::with_capacity(rows.len());
    for r in &rows {
        queued.push((
            col::<i64>(r, "payment_id")?,
            col::<i64>(r, "estate_id")?,
            col::<i64>(r, "created_at")?,
            col::<Option<String>>(r, "token")?.unwrap_or_else(receipt_token),
        ));
    }
    for (k, chunk) in queued.chunks(200).enumerate() {
        let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(
            "INSERT INTO receipts (company_id, number, estate_id, payment_id, token, created_at) ",
        );
        qb.push_values(chunk.iter().enumerate(), |mut b, (j, (p, e, at, token))| {
            b.push_bind(company_id)
                .push_bind(next + (k * 200 + j) as i64)
                .push_bind(*e)
                .push_bind(*p)
                .push_bind(token.clone())
                .push_bind(*at);
        });
        qb.build()
            .persistent(false)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        let mut qb: sqlx::QueryBuilder<Db> =
            sqlx::QueryBuilder::new("DELETE FROM receipt_queue WHERE payment_id IN (");
        let mut sep = qb.separated(", ");
        for (p, _, _, _) in chunk {
            sep.push_bind(*p);
        }
        qb.push(")");
        qb.build()
            .persistent(false)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    sqlx::query("UPDATE receipt_counters SET next_no = $2 WHERE company_id = $1")
        .bind(company_id)
        .bind(next + queued.len() as i64)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(queued.len())
}

/// Numbers a company's receipts queued before the call, batch by batch.
pub(crate) async fn number(pool: &Pool<Db>, company_id: i64, lock: Lock) -> StoreResult<usize> {
    let Some(upto) = newest_queued(pool, "receipt_queue", "payment_id", company_id).await? else {
        return Ok(0);
    };
    let mut n = 0;
    loop {
        let mut tx = write_tx(pool).await?;
        let k = number_in(&mut tx, company_id, lock, BATCH).await?;
        tx.commit().await.map_err(db_err)?;
        n += k;
        if k == 0 || !still_queued(pool, "receipt_queue", "payment_id", company_id, upto).await? {
            break;
        }
    }
    Ok(n)
}

/// Numbers every company's queued receipts.
pub(crate) async fn number_all(pool: &Pool<Db>, lock: Lock) -> StoreResult<usize> {
    let mut n = 0;
    for c in companies_queued(pool, "receipt_queue").await? {
        n += number(pool, c, lock).await?;
    }
    Ok(n)
}

/// Numbers the receipt of one payment if it is still queued: waits for the
/// batch in progress, which may have taken it, and otherwise numbers
/// everything its company has queued.
pub(crate) async fn number_payment(pool: &Pool<Db>, payment_id: i64) -> StoreResult<()> {
    let Some(r) = sqlx::query("SELECT company_id FROM receipt_queue WHERE payment_id = $1")
        .bind(payment_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
    else {
        return Ok(());
    };
    let company_id: i64 = col(&r, "company_id")?;
    if !INLINE {
        if number_batch(pool, company_id, payment_id).await? {
            return Ok(());
        }
        // Most often a batch that committed while this one waited for the
        // counter took this payment too: then there is nothing to wait for.
        let still = sqlx::query("SELECT 1 AS one FROM receipt_queue WHERE payment_id = $1")
            .bind(payment_id)
            .fetch_optional(pool)
            .await
            .map_err(db_err)?;
        if still.is_none() {
            return Ok(());
        }
    }
    // The company's first receipt (no counter yet), or a batch that took
    // everything but this payment, committed a moment later.
    let mut tx = write_tx(pool).await?;
    number_in(&mut tx, company_id, Lock::Wait, BATCH).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

/// PostgreSQL: numbers the batch of the company of a payment still queued
/// and answers the payment's receipt, in one statement (see
/// [`number_batch`]); `None` when the payment is no longer queued, when
/// another batch took it, or when the company has no counter yet (the
/// caller then goes the long way, [`number_payment`]).
pub(crate) async fn number_for_payment(
    pool: &Pool<Db>,
    payment_id: i64,
) -> StoreResult<Option<doorstep_store::Receipt>> {
    if INLINE {
        return Ok(None);
    }
    let cols = super::evidence::RECEIPT_COLS;
    let r = sqlx::query(&format!(
        "WITH k AS (SELECT company_id FROM receipt_queue WHERE payment_id = $1), \
         c AS (SELECT r.next_no FROM receipt_counters r WHERE r.company_id = (SELECT company_id FROM k) FOR UPDATE), \
         q AS (DELETE FROM receipt_queue WHERE EXISTS (SELECT 1 FROM c) AND payment_id IN \
               (SELECT payment_id FROM receipt_queue WHERE company_id = (SELECT company_id FROM k) ORDER BY payment_id LIMIT $2) \
               RETURNING payment_id, company_id, estate_id, created_at, token), \
         n AS (SELECT q.payment_id, q.company_id, q.estate_id, q.created_at, q.token, \
               c.next_no + ROW_NUMBER() OVER (ORDER BY q.payment_id) - 1 AS number FROM q CROSS JOIN c), \
         i AS (INSERT INTO receipts (company_id, number, estate_id, payment_id, token, created_at) \
               SELECT company_id, number, estate_id, payment_id, COALESCE(token, replace(CAST(gen_random_uuid() AS TEXT), '-', '')), created_at FROM n \
               RETURNING {cols}), \
         u AS (UPDATE receipt_counters SET next_no = next_no + (SELECT COUNT(*) FROM i) \
               WHERE company_id = (SELECT company_id FROM k) AND EXISTS (SELECT 1 FROM n) RETURNING 1) \
         SELECT i.*, (SELECT COUNT(*) FROM u) AS moved FROM i WHERE payment_id = $1"
    ))
    .bind(payment_id)
    .bind(BATCH)
    .fetch_optional(&writer(pool))
    .await
    .map_err(db_err)?;
    r.as_ref().map(super::evidence::receipt_row).transpose()
}

/// PostgreSQL: [`number_in`] as one statement (one round trip, one commit):
/// the counter is locked first (the queue is read only once it is held),
/// the batch leaves the queue, its receipts are inserted numbered in
/// payment order and the counter moves past them. Nothing is taken from
/// the queue while the company has no counter. Never run on SQLite, which
/// numbers inside the payment's transaction (and has no data-modifying
/// `WITH`).
async fn number_batch(pool: &Pool<Db>, company_id: i64, payment_id: i64) -> StoreResult<bool> {
    let r = sqlx::query(
        "WITH c AS (SELECT next_no FROM receipt_counters WHERE company_id = $1 FOR UPDATE), \
         q AS (DELETE FROM receipt_queue WHERE EXISTS (SELECT 1 FROM c) AND payment_id IN \
               (SELECT payment_id FROM receipt_queue WHERE company_id = $1 ORDER BY payment_id LIMIT $2) \
               RETURNING payment_id, estate_id, created_at, token), \
         n AS (SELECT q.payment_id, q.estate_id, q.created_at, q.token, \
               c.next_no + ROW_NUMBER() OVER (ORDER BY q.payment_id) - 1 AS number FROM q CROSS JOIN c), \
         i AS (INSERT INTO receipts (company_id, number, estate_id, payment_id, token, created_at) \
               SELECT $1, number, estate_id, payment_id, COALESCE(token, replace(CAST(gen_random_uuid() AS TEXT), '-', '')), created_at FROM n \
               RETURNING payment_id), \
         u AS (UPDATE receipt_counters SET next_no = next_no + (SELECT COUNT(*) FROM i) \
               WHERE company_id = $1 AND EXISTS (SELECT 1 FROM n) RETURNING 1) \
         SELECT EXISTS (SELECT 1 FROM i WHERE payment_id = $3) AS mine, (SELECT COUNT(*) FROM u) AS moved",
    )
    .bind(company_id)
    .bind(BATCH)
    .bind(payment_id)
    .fetch_one(&writer(pool))
    .await
    .map_err(db_err)?;
    col::<bool>(&r, "mine")
}

/// One pass of the folding job: moves up to `max` rows of each delta table
/// into the folded totals; returns how many rows it folded. Rows another
/// instance is folding are left to it.
pub(crate) async fn fold_totals(pool: &Pool<Db>, max: i64) -> StoreResult<usize> {
    let mut n = 0;
    n += fold(
        pool,
        "report_due",
        &["estate_id", "dim", "key", "period"],
        "due_fen",
        max,
    )
    .await?;
    n += fold(
        pool,
        "report_paid",
        &["estate_id", "dim", "key", "line_period", "paid_month"],
        "paid_fen",
        max,
    )
    .await?;
    n += fold(
        pool,
        "ledger_balances",
        &["estate_id", "account"],
        "balance_fen",
        max,
    )
    .await?;
    Ok(n)
}

/// A grouping key of a totals row: integers and text, in column order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum KeyPart {
    Int(i64),
    Text(String),
}

async fn fold(
    pool: &Pool<Db>,
    table: &str,
    keys: &[&str],
    value: &str,
    max: i64,
) -> StoreResult<usize> {
    use std::collections::BTreeMap;
    let mut tx = write_tx(pool).await?;
    let key_list = keys.join(", ");
    let cast_keys = keys
        .iter()
        .map(|k| match *k {
            "dim" => "CAST(dim AS BIGINT) AS dim".to_string(),
            k => k.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!(
        "SELECT id, {cast_keys}, {value} FROM {table}_d ORDER BY id LIMIT $1{ROW_LOCK_SKIP}"
    ))
    .bind(max)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut sums: BTreeMap<Vec<KeyPart>, i64> = BTreeMap::new();
    let mut ids = Vec::with_capacity(rows.len());
    for r in &rows {
        ids.push(col::<i64>(r, "id")?);
        let mut key = Vec::with_capacity(keys.len());
        for k in keys {
            key.push(match *k {
                "period" | "line_period" | "paid_month" | "account" => {
                    KeyPart::Text(col::<String>(r, k)?)
                }
                _ => KeyPart::Int(col::<i64>(r, k)?),
            });
        }
        *sums.entry(key).or_insert(0) += col::<i64>(r, value)?;
    }
    // In key order, as the triggers do, so that two folds never deadlock.
    let entries: Vec<(Vec<KeyPart>, i64)> = sums.into_iter().filter(|(_, v)| *v != 0).collect();
    for chunk in entries.chunks(200) {
        let mut qb: sqlx::QueryBuilder<Db> =
            sqlx::QueryBuilder::new(format!("INSERT INTO {table}_t ({key_list}, {value}) "));
        qb.push_values(chunk, |mut b, (key, v)| {
            for (k, part) in keys.iter().zip(key) {
                match part {
                    KeyPart::Int(i) if *k == "dim" => {
                        b.push_bind(*i as i16);
                    }
                    KeyPart::Int(i) => {
                        b.push_bind(*i);
                    }
                    KeyPart::Text(s) => {
                        b.push_bind(s.clone());
                    }
                }
            }
            b.push_bind(*v);
        });
        qb.push(format!(
            " ON CONFLICT ({key_list}) DO UPDATE SET {value} = {table}_t.{value} + excluded.{value}"
        ));
        qb.build()
            .persistent(false)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    for chunk in ids.chunks(500) {
        let mut qb: sqlx::QueryBuilder<Db> =
            sqlx::QueryBuilder::new(format!("DELETE FROM {table}_d WHERE id IN ("));
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        qb.push(")");
        qb.build()
            .persistent(false)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(ids.len())
}
