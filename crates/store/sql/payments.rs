//! Changes to bill lines: waivers, disputes and payments.

use super::billing::{fetch_lines, line_by_id};
use super::{col, db_err, write_tx, writer};
use crate::Db;
use doorstep_domain::ledger::{Account, PaidLine, payment_entry, waiver_entry};
use doorstep_domain::{Date, DomainError, Fen, LineAllocation, ObjectKind, OpenLine, allocate};
use doorstep_store::*;
use sqlx::Pool;

fn check_reason(act: &StaffAct) -> StoreResult<()> {
    let n = act.reason.trim().chars().count();
    if n == 0 || n > 200 {
        return Err(
            DomainError::invalid("reason", "a reason of 1–200 characters is required").into(),
        );
    }
    Ok(())
}

pub(crate) async fn waive_late_fee(
    pool: &Pool<Db>,
    estate_id: i64,
    line_id: i64,
    act: &StaffAct,
) -> StoreResult<BillLine> {
    check_reason(act)?;
    let line = line_by_id(pool, estate_id, line_id).await?;
    if !line.policy.enabled {
        return Err(StoreError::Conflict(format!(
            "bill line {line_id} has no late fee to waive"
        )));
    }
    let n = sqlx::query("UPDATE bill_lines SET late_waived_reason = $2, late_waived_by = $3, late_waived_at = $4 WHERE id = $1 AND estate_id = $5 AND late_waived_reason IS NULL")
        .bind(line_id)
        .bind(act.reason.trim())
        .bind(act.user_id)
        .bind(act.at)
        .bind(estate_id)
        .execute(&writer(pool))
        .await
        .map_err(db_err)?
        .rows_affected();
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "the late fee of bill line {line_id} is already waived"
        )));
    }
    line_by_id(pool, estate_id, line_id).await
}

pub(crate) async fn waive_line(
    pool: &Pool<Db>,
    estate_id: i64,
    line_id: i64,
    act: &StaffAct,
) -> StoreResult<BillLine> {
    check_reason(act)?;
    let mut tx = write_tx(pool).await?;
    let q = LineQuery {
        estate_id,
        open_only: false,
        objects: Vec::new(),
        line_ids: vec![line_id],
        period: None,
    };
    let line = fetch_lines(&mut tx, &q, true)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::NotFound(format!("bill line {line_id}")))?;
    refuse_held(&mut tx, std::slice::from_ref(&line)).await?;
    let n = sqlx::query(
        "UPDATE bill_lines SET status = 'waived', line_waived_reason = $2, line_waived_by = $3, line_waived_at = $4 WHERE id = $1 AND estate_id = $5 AND status IN ('unpaid', 'partly_paid')",
    )
    .bind(line_id)
    .bind(act.reason.trim())
    .bind(act.user_id)
    .bind(act.at)
    .bind(estate_id)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "bill line {line_id} is already paid or waived"
        )));
    }
    let outstanding = line.amount - line.paid_principal;
    if outstanding.0 > 0 {
        let entry = waiver_entry(
            (line.object_kind, line.object_id, line.fee_item_id),
            line.category,
            outstanding,
        )
        .map_err(|e| StoreError::Conflict(e.to_string()))?;
        super::ledger::post(
            &mut tx,
            line.estate_id,
            &entry,
            None,
            None,
            Some(act.user_id),
            act.reason.trim(),
            act.at,
        )
        .await?;
    }
    tx.commit().await.map_err(db_err)?;
    line_by_id(pool, estate_id, line_id).await
}

pub(crate) async fn set_dispute(
    pool: &Pool<Db>,
    estate_id: i64,
    line_id: i64,
    disputed: bool,
    on: Date,
    act: &StaffAct,
) -> StoreResult<BillLine> {
    check_reason(act)?;
    let line = line_by_id(pool, estate_id, line_id).await?;
    if disputed {
        if line.disputed_since.is_some() {
            return Err(StoreError::Conflict(format!(
                "bill line {line_id} is already disputed"
            )));
        }
        sqlx::query("UPDATE bill_lines SET disputed_since = $2, disputed_by = $3, disputed_reason = $4 WHERE id = $1 AND estate_id = $5")
            .bind(line_id)
            .bind(on.to_string())
            .bind(act.user_id)
            .bind(act.reason.trim())
            .bind(estate_id)
            .execute(&writer(pool))
            .await
            .map_err(db_err)?;
    } else {
        if line.disputed_since.is_none() {
            return Err(StoreError::Conflict(format!(
                "bill line {line_id} is not disputed"
            )));
        }
        // Fix what accrued before the dispute; accrual resumes from today.
        let frozen = line
            .late_fee(on)
            .map(|c| c.total)
            .unwrap_or(line.checkpoint.map(|c| c.1).unwrap_or(Fen::ZERO));
        sqlx::query("UPDATE bill_lines SET disputed_since = NULL, disputed_by = NULL, disputed_reason = NULL, checkpoint_date = $2, checkpoint_fen = $3 WHERE id = $1 AND estate_id = $4")
            .bind(line_id)
            .bind(on.to_string())
            .bind(frozen.0)
            .bind(estate_id)
            .execute(&writer(pool))
            .await
            .map_err(db_err)?;
    }
    line_by_id(pool, estate_id, line_id).await
}

pub(crate) async fn replay(
    pool: &Pool<Db>,
    estate_id: i64,
    key: &str,
) -> StoreResult<Option<PaymentRecord>> {
    // Scoped to the estate: a key never answers another estate's payment.
    let Some(row) =
        sqlx::query("SELECT id FROM payments WHERE idempotency_key = $1 AND estate_id = $2")
            .bind(key)
            .bind(estate_id)
            .fetch_optional(pool)
            .await
            .map_err(db_err)?
    else {
        return Ok(None);
    };
    Ok(Some(payment_record(pool, col(&row, "id")?).await?))
}

/// A recorded payment as first recorded (`replayed` set).
pub(crate) async fn payment_record(pool: &Pool<Db>, id: i64) -> StoreResult<PaymentRecord> {
    let row = sqlx::query("SELECT amount_fen FROM payments WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound(format!("payment {id}")))?;
    let allocs = sqlx::query("SELECT line_id, late_fee_fen, principal_fen FROM payment_allocations WHERE payment_id = $1 ORDER BY line_id")
        .bind(id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    Ok(PaymentRecord {
        id,
        amount: Fen(col(&row, "amount_fen")?),
        allocation: allocs
            .iter()
            .map(|r| {
                Ok(LineAllocation {
                    line_id: col(r, "line_id")?,
                    late_fee: Fen(col(r, "late_fee_fen")?),
                    principal: Fen(col(r, "principal_fen")?),
                })
            })
            .collect::<StoreResult<_>>()?,
        replayed: true,
        receipt: None,
        still_due_now: None,
    })
}

pub(crate) async fn record_payment(pool: &Pool<Db>, p: &NewPayment) -> StoreResult<PaymentRecord> {
    if p.amount.0 <= 0 {
        return Err(DomainError::invalid(
            "amount",
            format!("must be greater than 0, got {}", p.amount),
        )
        .into());
    }
    if p.objects.is_empty() && p.line_ids.is_empty() {
        return Err(DomainError::invalid(
            "lines",
            "name the rooms, spaces or bill lines being paid",
        )
        .into());
    }
    // A retry is found by its key once the write fails (the key is unique:
    // a second payment under it never commits), so a first attempt — the
    // usual case — costs no lookup. The write may fail on the key itself or
    // earlier (its lines are paid by now): either way the payment the key
    // recorded is the answer. (SQLite looks first: a read there costs no
    // round trip, and a retry that fails in the write holds the one writer.)
    if let (true, Some(key)) = (crate::KEY_FIRST, &p.idempotency_key)
        && let Some(r) = replay(pool, p.estate_id, key).await?
    {
        return Ok(r);
    }
    match record_payment_tx(pool, p).await {
        Err(e) => match &p.idempotency_key {
            Some(key) => match replay(pool, p.estate_id, key).await? {
                Some(r) => Ok(r),
                None => Err(e),
            },
            None => Err(e),
        },
        ok => ok,
    }
}

async fn record_payment_tx(pool: &Pool<Db>, p: &NewPayment) -> StoreResult<PaymentRecord> {
    // Read before the write transaction (on SQLite the one writer is held
    // for as short a time as it can be): the objects are the estate's (they
    // never move) and whether the estate takes prepayments.
    let allow_prepay = prepay_and_objects(pool, p.estate_id, &p.objects).await?;
    let mut tx = write_tx(pool).await?;
    let (mut rec, lines) = match payment_in(&mut tx, p, allow_prepay).await {
        Ok(done) => done,
        Err(e) => {
            // Rolled back here rather than when dropped: a dropped
            // transaction rolls back a moment later on SQLite's worker
            // thread, and the next writer (most often the retry of a
            // payment already recorded) would wait for it.
            let _ = tx.rollback().await;
            return Err(e);
        }
    };
    tx.commit().await.map_err(db_err)?;
    if p.only_due_now {
        // Every line read is due now: what they owed less what this paid.
        let before = doorstep_domain::due_totals(lines.iter().map(|l| l.due(p.paid_on))).due_now;
        let paid: Fen = rec
            .allocation
            .iter()
            .map(|a| a.late_fee + a.principal)
            .sum();
        rec.still_due_now = Some(Fen((before - paid).0.max(0)));
    }
    Ok(rec)
}

/// The writes of [`record_payment_tx`] in its transaction; the payment and
/// the lines it read.
async fn payment_in(
    tx: &mut sqlx::Transaction<'static, Db>,
    p: &NewPayment,
    allow_prepay: bool,
) -> StoreResult<(PaymentRecord, Vec<BillLine>)> {
    // A visit's payment under a client key takes the visit's row lock first
    // (as a signature does): a signature naming this key that commits at
    // the same moment is then seen and linked below, never left unbound.
    // (SQLite's write transaction holds the whole database already.)
    if let (Some(booking), Some(_), false) =
        (p.booking_id, &p.idempotency_key, crate::ROW_LOCK.is_empty())
    {
        lock_visit(tx, p.estate_id, booking).await?;
    }
    // Cash taken at a visit is a collector's custody: it must sit in a shift.
    if let ("cash", Some(collector), Some(_)) = (p.method.as_str(), p.recorded_by, p.booking_id) {
        super::ledger::require_cash_shift(tx, p.estate_id, collector, p.at, p.offline).await?;
    }
    let q = LineQuery {
        estate_id: p.estate_id,
        open_only: true,
        objects: p.objects.clone(),
        line_ids: p.line_ids.clone(),
        period: None,
    };
    let mut lines = fetch_lines(tx, &q, true).await?;
    if p.only_due_now {
        lines.retain(|l| {
            let d = l.due(p.paid_on);
            d.due_now && d.total() > Fen::ZERO
        });
    }
    refuse_held(tx, &lines).await?;
    let source = match (p.method.as_str(), p.recorded_by) {
        ("cash", Some(user_id)) => Account::CashOnHand { user_id },
        ("cash", None) => Account::CashInSafe {
            estate_id: p.estate_id,
        },
        (m, _) => Account::Clearing {
            provider: m.to_string(),
            merchant: "counter".into(),
        },
    };
    let advance_object = p.objects.first().copied();
    let rec = apply_payment(
        tx,
        &PaymentInsert {
            estate_id: p.estate_id,
            amount: p.amount,
            method: &p.method,
            paid_on: p.paid_on,
            at: p.at,
            recorded_by: p.recorded_by,
            idempotency_key: p.idempotency_key.as_deref(),
            booking_id: p.booking_id,
            provider: None,
            transaction_id: None,
            collection_id: None,
            offline: p.offline,
            source,
            advance_to: if allow_prepay { advance_object } else { None },
        },
        &lines,
    )
    .await?;
    Ok((rec, lines))
}

/// The row lock on a visit (its booking, in this estate); returns whether
/// the visit is still open and when the booking last changed.
pub(crate) async fn lock_visit(
    conn: &mut <Db as sqlx::Database>::Connection,
    estate_id: i64,
    booking_id: i64,
) -> StoreResult<(bool, i64)> {
    let r = sqlx::query(&format!(
        "SELECT status, updated_at FROM bookings WHERE id = $1 AND estate_id = $2{}",
        crate::ROW_LOCK
    ))
    .bind(booking_id)
    .bind(estate_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?
    .ok_or_else(|| StoreError::NotFound(format!("booking {booking_id}")))?;
    let status = doorstep_domain::BookingStatus::from_code(&col::<String>(&r, "status")?)?;
    Ok((status.is_open(), col(&r, "updated_at")?))
}

/// Binds a signature that arrived before its payment (cash taken offline,
/// the signature synced first) to the payment just recorded under `key`:
/// same visit, same estate, same collector (the key carries them) and the
/// amount the owner was shown.
async fn link_signature(
    conn: &mut <Db as sqlx::Database>::Connection,
    p: &PaymentInsert<'_>,
    booking_id: i64,
    key: &str,
    payment_id: i64,
) -> StoreResult<()> {
    let mut qb: sqlx::QueryBuilder<Db> =
        sqlx::QueryBuilder::new("UPDATE signatures SET payment_id = ");
    qb.push_bind(payment_id);
    push_signature_waiting(&mut qb, p, booking_id, key);
    qb.build().execute(&mut *conn).await.map_err(db_err)?;
    Ok(())
}

/// The `WHERE` clause of [`link_signature`]: the visit's unbound signature
/// under `key`, for the amount paid.
fn push_signature_waiting<'a>(
    qb: &mut sqlx::QueryBuilder<'a, Db>,
    p: &PaymentInsert<'_>,
    booking_id: i64,
    key: &'a str,
) {
    qb.push(" WHERE payment_key = ")
        .push_bind(key)
        .push(" AND booking_id = ")
        .push_bind(booking_id)
        .push(" AND estate_id = ")
        .push_bind(p.estate_id)
        .push(" AND payment_id IS NULL AND shown_amount_fen = ")
        .push_bind(p.amount.0);
}

/// Whether the estate takes prepayments, checking in the same statement
/// that every room/space is the estate's (NotFound naming the first that
/// is not: a payment, and an advance, never lands on another estate's
/// object).
async fn prepay_and_objects(
    pool: &Pool<Db>,
    estate_id: i64,
    objects: &[(ObjectKind, i64)],
) -> StoreResult<bool> {
    let ids = |k: ObjectKind| {
        let mut v: Vec<i64> = objects
            .iter()
            .filter(|(kind, _)| *kind == k)
            .map(|(_, id)| *id)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let (rooms, spaces) = (ids(ObjectKind::Room), ids(ObjectKind::Space));
    // Bound, not written into the text: one prepared statement per count
    // of objects, not one per visit.
    let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(
        "SELECT (SELECT allow_prepay FROM collect_settings WHERE estate_id = ",
    );
    qb.push_bind(estate_id)
        .push(") AS allow_prepay, (SELECT COUNT(*) FROM rooms WHERE estate_id = ")
        .push_bind(estate_id)
        .push(" AND id IN (");
    super::billing::push_ids(&mut qb, if rooms.is_empty() { &[-1] } else { &rooms });
    qb.push(")) AS rooms, (SELECT COUNT(*) FROM spaces WHERE estate_id = ")
        .push_bind(estate_id)
        .push(" AND id IN (");
    super::billing::push_ids(&mut qb, if spaces.is_empty() { &[-1] } else { &spaces });
    qb.push(")) AS spaces");
    let r = qb.build().fetch_one(pool).await.map_err(db_err)?;
    if col::<i64>(&r, "rooms")? != rooms.len() as i64
        || col::<i64>(&r, "spaces")? != spaces.len() as i64
    {
        // Which one: the long way, for the message.
        let mut c = pool.acquire().await.map_err(db_err)?;
        objects_of_estate(&mut c, estate_id, objects).await?;
    }
    Ok(col::<Option<bool>>(&r, "allow_prepay")?
        .unwrap_or(doorstep_store::CollectSettings::default().allow_prepay))
}

/// NotFound unless every room/space is the estate's: a payment (and an
/// advance) never lands on another estate's object.
async fn objects_of_estate(
    conn: &mut <Db as sqlx::Database>::Connection,
    estate_id: i64,
    objects: &[(ObjectKind, i64)],
) -> StoreResult<()> {
    for (kind, id) in objects {
        let sql = match kind {
            ObjectKind::Room => "SELECT 1 FROM rooms WHERE id = $1 AND estate_id = $2",
            ObjectKind::Space => "SELECT 1 FROM spaces WHERE id = $1 AND estate_id = $2",
        };
        sqlx::query(sql)
            .bind(id)
            .bind(estate_id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db_err)?
            .ok_or_else(|| StoreError::NotFound(format!("{} {id} in this estate", kind.code())))?;
    }
    Ok(())
}

/// Refuses lines that an open provider order holds.
pub(crate) async fn refuse_held(
    conn: &mut <Db as sqlx::Database>::Connection,
    lines: &[BillLine],
) -> StoreResult<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let mut qb: sqlx::QueryBuilder<Db> =
        sqlx::QueryBuilder::new("SELECT line_id, collection_id FROM line_holds WHERE line_id IN (");
    let mut sep = qb.separated(", ");
    for l in lines {
        sep.push_bind(l.id);
    }
    qb.push(")");
    if let Some(row) = qb
        .build()
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
    {
        let line: i64 = col(&row, "line_id")?;
        let c: i64 = col(&row, "collection_id")?;
        return Err(StoreError::Conflict(format!(
            "bill line {line} {HELD_BY_OPEN_ORDER} (QR or payment code, collection {c}): finish or cancel that order"
        )));
    }
    Ok(())
}

/// A payment to write inside a caller's transaction.
pub(crate) struct PaymentInsert<'a> {
    pub estate_id: i64,
    pub amount: Fen,
    pub method: &'a str,
    pub paid_on: Date,
    pub at: i64,
    pub recorded_by: Option<i64>,
    pub idempotency_key: Option<&'a str>,
    pub booking_id: Option<i64>,
    pub provider: Option<&'a str>,
    pub transaction_id: Option<&'a str>,
    pub collection_id: Option<i64>,
    pub offline: bool,
    /// The account the money is now in.
    pub source: Account,
    /// Where more than is owed goes (an advance on this object); `None`
    /// refuses overpayment.
    pub advance_to: Option<(ObjectKind, i64)>,
}

/// Allocates a payment over `lines` (open, locked by the caller), writes the
/// payment, its allocations, the lines' new state and its journal entry.
pub(crate) async fn apply_payment(
    tx: &mut sqlx::Transaction<'static, Db>,
    p: &PaymentInsert<'_>,
    lines: &[BillLine],
) -> StoreResult<PaymentRecord> {
    let open: Vec<OpenLine> = lines
        .iter()
        .map(|l| OpenLine {
            line_id: l.id,
            due_date: l.due_date,
            period: l.period,
            late_fee_outstanding: l
                .late_fee(p.paid_on)
                .map(|c| c.outstanding)
                .unwrap_or(Fen::ZERO),
            principal_outstanding: l.principal_outstanding(),
        })
        .collect();
    let owed: Fen = open
        .iter()
        .map(|l| l.late_fee_outstanding + l.principal_outstanding)
        .sum();
    let advance = if p.amount > owed {
        match p.advance_to {
            Some(obj) => Some((obj, p.amount - owed)),
            None if owed.0 == 0 => {
                return Err(StoreError::Conflict(
                    "nothing is owed on the lines named".into(),
                ));
            }
            None => {
                return Err(StoreError::Conflict(format!(
                    "the amount {} is more than what is owed ({owed})",
                    p.amount
                )));
            }
        }
    } else {
        None
    };
    let applied = p.amount - advance.map(|a| a.1).unwrap_or(Fen::ZERO);
    let alloc = allocate(applied, &open);
    // Everything the write needs, worked out before it.
    let mut writes = Vec::with_capacity(alloc.lines.len());
    let mut paid = Vec::with_capacity(alloc.lines.len());
    for a in &alloc.lines {
        let Some(line) = lines.iter().find(|l| l.id == a.line_id) else {
            continue;
        };
        let total_paid = line.paid_principal + a.principal;
        writes.push(LineWrite {
            line_id: a.line_id,
            principal: a.principal,
            late_fee: a.late_fee,
            status: LineStatus::from_paid(line.amount, total_paid).code(),
            // Fix the late fee accrued up to the payment so later accrual
            // uses the new principal.
            checkpoint: line.late_fee(p.paid_on).map(|c| c.total),
        });
        paid.push(PaidLine {
            object: line.object_kind,
            object_id: line.object_id,
            fee_item_id: line.fee_item_id,
            late_fee: a.late_fee,
            principal: a.principal,
        });
    }
    let entry = payment_entry(
        p.source.clone(),
        p.estate_id,
        &paid,
        advance.map(|((k, id), f)| (k, id, f)),
    )
    .map_err(|e| StoreError::Conflict(e.to_string()))?;
    entry
        .check()
        .map_err(|err| StoreError::Conflict(format!("refused an unbalanced entry: {err}")))?;
    let advance_fen = advance.map(|a| a.1.0).unwrap_or(0);
    let (payment_id, receipt) = if crate::WRITE_IN_ONE {
        let written = write_payment_in_one(tx, p, advance_fen, &writes, &entry).await?;
        if let (Some(booking), Some(key)) = (p.booking_id, p.idempotency_key) {
            link_signature(tx, p, booking, key, written.0).await?;
        }
        written
    } else {
        // Links the signature in its batch.
        write_payment(tx, p, advance_fen, &writes, &entry).await?
    };
    Ok(PaymentRecord {
        id: payment_id,
        amount: p.amount,
        allocation: alloc.lines,
        replayed: false,
        receipt: Some(receipt),
        still_due_now: None,
    })
}

/// What a payment does to one of its lines.
struct LineWrite {
    line_id: i64,
    principal: Fen,
    late_fee: Fen,
    status: &'static str,
    /// The late fee accrued up to the payment, fixed as the new checkpoint.
    checkpoint: Option<Fen>,
}

/// Writes a payment on SQLite: the payment, each line and its allocation,
/// the journal entry, the receipt's number and the link of a signature
/// waiting under its key (see [`link_signature`]), sent to the connection as
/// one batch of statements (one hop to SQLite's worker thread instead of
/// one per statement: on the one writer connection each hop is time every
/// other payment waits). Later statements name the payment and the entry
/// as the largest id of their table: inside SQLite's write transaction no
/// one else inserts, and a new row's id is always its table's largest.
async fn write_payment(
    tx: &mut sqlx::Transaction<'static, Db>,
    p: &PaymentInsert<'_>,
    advance_fen: i64,
    writes: &[LineWrite],
    entry: &doorstep_domain::ledger::Entry,
) -> StoreResult<(i64, ReceiptRef)> {
    const PAYMENT: &str = "(SELECT MAX(id) FROM payments)";
    let token = super::sequencer::receipt_token();
    let paid_on = p.paid_on.to_string();
    let mut qb: sqlx::QueryBuilder<Db> =
        sqlx::QueryBuilder::new(format!("INSERT INTO payments ({PAYMENT_COLUMNS}) VALUES ("));
    push_payment_values(&mut qb, p, advance_fen);
    qb.push(") RETURNING id AS payment_id;");
    for w in writes {
        qb.push(" UPDATE bill_lines SET paid_principal_fen = paid_principal_fen + ")
            .push_bind(w.principal.0)
            .push(", late_fee_paid_fen = late_fee_paid_fen + ")
            .push_bind(w.late_fee.0)
            .push(", status = ")
            .push_bind(w.status)
            // Bound, not left out when there is none: the batch's text (and
            // so its cached statement) depends only on how many lines and
            // postings it has.
            .push(", checkpoint_date = CASE WHEN ")
            .push_bind(w.checkpoint.is_some())
            .push(" THEN ")
            .push_bind(paid_on.clone())
            .push(" ELSE checkpoint_date END, checkpoint_fen = COALESCE(")
            .push_bind(w.checkpoint.map(|f| f.0))
            .push(", checkpoint_fen) WHERE id = ")
            .push_bind(w.line_id)
            .push(";");
    }
    if !writes.is_empty() {
        qb.push(" INSERT INTO payment_allocations (payment_id, line_id, late_fee_fen, principal_fen) VALUES ");
        for (i, w) in writes.iter().enumerate() {
            qb.push(if i > 0 { ", (" } else { "(" })
                .push(PAYMENT)
                .push(", ")
                .push_bind(w.line_id)
                .push(", ")
                .push_bind(w.late_fee.0)
                .push(", ")
                .push_bind(w.principal.0)
                .push(")");
        }
        qb.push(";");
    }
    qb.push(" INSERT INTO journal_entries (estate_id, kind, memo, payment_id, reverses, created_by, created_at) VALUES (")
        .push_bind(p.estate_id)
        .push(", ")
        .push_bind(entry.kind.code())
        .push(", '', ")
        .push(PAYMENT)
        .push(", NULL, ")
        .push_bind(p.recorded_by)
        .push(", ")
        .push_bind(p.at)
        .push("); INSERT INTO journal_postings (entry_id, account, debit_fen, credit_fen) VALUES ");
    for (i, posting) in entry.postings.iter().enumerate() {
        qb.push(if i > 0 { ", (" } else { "(" })
            .push("(SELECT MAX(id) FROM journal_entries), ")
            .push_bind(posting.account.code())
            .push(", ")
            .push_bind(posting.debit.0)
            .push(", ")
            .push_bind(posting.credit.0)
            .push(")");
    }
    // The receipt, numbered here: the company's counter moves and tells
    // whose it is (SQLite numbers in the payment's transaction, see
    // `sequencer::INLINE`; a backend that queues writes in one statement).
    const _: () = assert!(super::sequencer::INLINE || crate::WRITE_IN_ONE);
    qb.push("; INSERT INTO receipt_counters (company_id, next_no) SELECT company_id, 2 FROM estates WHERE id = ")
        .push_bind(p.estate_id)
        .push(
            " ON CONFLICT (company_id) DO UPDATE SET next_no = receipt_counters.next_no + 1 \
             RETURNING company_id, next_no; \
             INSERT INTO receipts (company_id, number, estate_id, payment_id, token, created_at) \
             SELECT c.company_id, c.next_no - 1, s.id, ",
        )
        .push(PAYMENT)
        .push(", ")
        .push_bind(token.clone())
        .push(", ")
        .push_bind(p.at)
        .push(" FROM estates s JOIN receipt_counters c ON c.company_id = s.company_id WHERE s.id = ")
        .push_bind(p.estate_id)
        .push(";");
    if let (Some(booking), Some(key)) = (p.booking_id, p.idempotency_key) {
        qb.push(" UPDATE signatures SET payment_id = ")
            .push(PAYMENT);
        push_signature_waiting(&mut qb, p, booking, key);
        qb.push(";");
    }
    let rows = qb.build().fetch_all(&mut **tx).await.map_err(db_err)?;
    let (Some(paid), Some(receipt)) = (rows.first(), rows.get(1)) else {
        return Err(StoreError::NotFound(format!("estate {}", p.estate_id)));
    };
    let payment_id: i64 = col(paid, "payment_id")?;
    let number = col::<i64>(receipt, "next_no")? - 1;
    Ok((payment_id, ReceiptRef::pending(token, Some(number))))
}

/// The columns a payment is written with, in the order
/// [`push_payment_values`] binds them.
const PAYMENT_COLUMNS: &str = "estate_id, method, amount_fen, paid_on, paid_at, recorded_by, idempotency_key, booking_id, provider, transaction_id, collection_id, advance_fen, offline";

/// A payment's values for [`PAYMENT_COLUMNS`], bound and comma-separated.
fn push_payment_values<'a>(
    qb: &mut sqlx::QueryBuilder<'a, Db>,
    p: &PaymentInsert<'a>,
    advance_fen: i64,
) {
    let mut sep = qb.separated(", ");
    sep.push_bind(p.estate_id)
        .push_bind(p.method)
        .push_bind(p.amount.0)
        .push_bind(p.paid_on.to_string())
        .push_bind(p.at)
        .push_bind(p.recorded_by)
        .push_bind(p.idempotency_key)
        .push_bind(p.booking_id)
        .push_bind(p.provider)
        .push_bind(p.transaction_id)
        .push_bind(p.collection_id)
        .push_bind(advance_fen)
        .push_bind(p.offline);
}

/// [`write_payment`] in one statement (PostgreSQL: data-modifying `WITH`
/// clauses), the same rows: a round trip to the database costs its backend
/// more than most of these statements do, and a payment made six of them.
/// The triggers that keep the totals, and the foreign keys, run at the end
/// of the statement and see every row it wrote.
async fn write_payment_in_one(
    tx: &mut sqlx::Transaction<'static, Db>,
    p: &PaymentInsert<'_>,
    advance_fen: i64,
    writes: &[LineWrite],
    entry: &doorstep_domain::ledger::Entry,
) -> StoreResult<(i64, ReceiptRef)> {
    let token = super::sequencer::receipt_token();
    let paid_on = p.paid_on.to_string();
    let mut qb: sqlx::QueryBuilder<Db> = sqlx::QueryBuilder::new(format!(
        "WITH p AS (INSERT INTO payments ({PAYMENT_COLUMNS}) VALUES ("
    ));
    push_payment_values(&mut qb, p, advance_fen);
    qb.push(") RETURNING id)");
    if !writes.is_empty() {
        qb.push(", v (id, principal, late, status, cp, cp_fen) AS (VALUES ");
        for (i, w) in writes.iter().enumerate() {
            if i > 0 {
                qb.push(", ");
            }
            qb.push("(CAST(")
                .push_bind(w.line_id)
                .push(" AS BIGINT), CAST(")
                .push_bind(w.principal.0)
                .push(" AS BIGINT), CAST(")
                .push_bind(w.late_fee.0)
                .push(" AS BIGINT), CAST(")
                .push_bind(w.status)
                .push(" AS TEXT), CAST(")
                .push_bind(w.checkpoint.is_some())
                .push(" AS BOOLEAN), CAST(")
                .push_bind(w.checkpoint.unwrap_or(Fen::ZERO).0)
                .push(" AS BIGINT))");
        }
        qb.push(
            "), u AS (UPDATE bill_lines SET paid_principal_fen = paid_principal_fen + v.principal, \
             late_fee_paid_fen = late_fee_paid_fen + v.late, status = v.status, \
             checkpoint_date = CASE WHEN v.cp THEN ",
        )
        .push_bind(paid_on)
        .push(
            " ELSE checkpoint_date END, checkpoint_fen = CASE WHEN v.cp THEN v.cp_fen ELSE checkpoint_fen END \
             FROM v WHERE bill_lines.id = v.id RETURNING bill_lines.id), \
             a AS (INSERT INTO payment_allocations (payment_id, line_id, late_fee_fen, principal_fen) \
             SELECT p.id, v.id, v.late, v.principal FROM p, v)",
        );
    }
    qb.push(", e AS (INSERT INTO journal_entries (estate_id, kind, memo, payment_id, reverses, created_by, created_at) SELECT ")
        .push_bind(p.estate_id)
        .push(", ")
        .push_bind(entry.kind.code())
        .push(", '', p.id, NULL, ")
        .push_bind(p.recorded_by)
        .push(", ")
        .push_bind(p.at)
        .push(" FROM p RETURNING id), j AS (INSERT INTO journal_postings (entry_id, account, debit_fen, credit_fen) SELECT e.id, x.account, x.debit, x.credit FROM e, (VALUES ");
    for (i, posting) in entry.postings.iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        qb.push("(CAST(")
            .push_bind(posting.account.code())
            .push(" AS TEXT), CAST(")
            .push_bind(posting.debit.0)
            .push(" AS BIGINT), CAST(")
            .push_bind(posting.credit.0)
            .push(" AS BIGINT))");
    }
    qb.push(") AS x (account, debit, credit)), q AS (INSERT INTO receipt_queue (payment_id, company_id, estate_id, created_at, token) SELECT p.id, s.company_id, s.id, ")
        .push_bind(p.at)
        .push(", ")
        .push_bind(token.clone())
        .push(" FROM p, estates s WHERE s.id = ")
        .push_bind(p.estate_id)
        .push(" RETURNING payment_id) SELECT p.id, (SELECT COUNT(*) FROM q) AS queued");
    if !writes.is_empty() {
        qb.push(", (SELECT COUNT(*) FROM u) AS updated");
    }
    qb.push(" FROM p");
    let row = qb.build().fetch_one(&mut **tx).await.map_err(db_err)?;
    if col::<i64>(&row, "queued")? != 1 {
        return Err(StoreError::NotFound(format!("estate {}", p.estate_id)));
    }
    if !writes.is_empty() && col::<i64>(&row, "updated")? != writes.len() as i64 {
        return Err(StoreError::Conflict(
            "a bill line changed while the payment was written".into(),
        ));
    }
    Ok((col(&row, "id")?, ReceiptRef::pending(token, None)))
}

/// Upserts the failed-try row of (merchant account, bill date); the first
/// try's time is kept.
pub(crate) async fn record_reconcile_attempt(
    pool: &Pool<Db>,
    a: &ReconcileAttempt,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO reconcile_attempts (merchant_ref, bill_date, attempts, reason, detail, first_at, last_at, next_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (merchant_ref, bill_date) DO UPDATE SET attempts = excluded.attempts, reason = excluded.reason, \
         detail = excluded.detail, last_at = excluded.last_at, next_at = excluded.next_at",
    )
    .bind(a.merchant_ref)
    .bind(&a.bill_date)
    .bind(a.attempts)
    .bind(&a.reason)
    .bind(&a.detail)
    .bind(a.first_at)
    .bind(a.last_at)
    .bind(a.next_at)
    .execute(&writer(pool))
    .await
    .map_err(db_err)?;
    Ok(())
}

/// Failed reconciliation days of a merchant account with no run since.
pub(crate) async fn reconcile_attempts(
    pool: &Pool<Db>,
    merchant_ref: i64,
) -> StoreResult<Vec<ReconcileAttempt>> {
    sqlx::query(
        "SELECT a.* FROM reconcile_attempts a WHERE a.merchant_ref = $1 \
         AND NOT EXISTS (SELECT 1 FROM reconciliations r WHERE r.merchant_ref = a.merchant_ref AND r.bill_date = a.bill_date) \
         ORDER BY a.bill_date DESC LIMIT 100",
    )
    .bind(merchant_ref)
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(|r| {
        Ok(ReconcileAttempt {
            merchant_ref: col(r, "merchant_ref")?,
            bill_date: col(r, "bill_date")?,
            attempts: col(r, "attempts")?,
            reason: col(r, "reason")?,
            detail: col(r, "detail")?,
            first_at: col(r, "first_at")?,
            last_at: col(r, "last_at")?,
            next_at: col(r, "next_at")?,
        })
    })
    .collect()
}
