//! The journal (append-only, double-entry), cash shifts and handovers, voids
//! and refunds, reconciliation runs and job leases.

use super::{col, db_err, write_tx, writer};
use crate::{Db, FOR_UPDATE, ROW_LOCK, ROW_SHARE};
use doorstep_domain::ledger::{Account, Entry, EntryKind, Posting, handover_entry};
use doorstep_domain::{Date, DomainError, Fen, ObjectKind};
use doorstep_store::*;
use sqlx::{Pool, QueryBuilder};

type Conn = <Db as sqlx::Database>::Connection;
type Row = <Db as sqlx::Database>::Row;

/// Writes a balanced entry and its postings; returns the entry's id.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn post(
    conn: &mut Conn,
    estate_id: i64,
    e: &Entry,
    payment_id: Option<i64>,
    reverses: Option<i64>,
    by: Option<i64>,
    memo: &str,
    at: i64,
) -> StoreResult<i64> {
    e.check()
        .map_err(|err| StoreError::Conflict(format!("refused an unbalanced entry: {err}")))?;
    let row = sqlx::query("INSERT INTO journal_entries (estate_id, kind, memo, payment_id, reverses, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
        .bind(estate_id)
        .bind(e.kind.code())
        .bind(memo)
        .bind(payment_id)
        .bind(reverses)
        .bind(by)
        .bind(at)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    let id: i64 = col(&row, "id")?;
    for chunk in e.postings.chunks(1000) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "INSERT INTO journal_postings (entry_id, account, debit_fen, credit_fen) ",
        );
        qb.push_values(chunk, |mut b, p| {
            b.push_bind(id)
                .push_bind(p.account.code())
                .push_bind(p.debit.0)
                .push_bind(p.credit.0);
        });
        qb.build().execute(&mut *conn).await.map_err(db_err)?;
    }
    Ok(id)
}

/// The stored entry with id `id`, as the domain sees it.
async fn entry_of(conn: &mut Conn, id: i64) -> StoreResult<Entry> {
    let kind_row = sqlx::query("SELECT kind FROM journal_entries WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    let kind: String = col(&kind_row, "kind")?;
    let rows = sqlx::query("SELECT account, debit_fen, credit_fen FROM journal_postings WHERE entry_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    let mut postings = Vec::with_capacity(rows.len());
    for r in &rows {
        let code: String = col(r, "account")?;
        postings.push(Posting {
            account: Account::parse(&code)
                .map_err(|e| StoreError::Database(format!("stored account {code:?}: {e}")))?,
            debit: Fen(col(r, "debit_fen")?),
            credit: Fen(col(r, "credit_fen")?),
        });
    }
    Ok(Entry {
        kind: EntryKind::parse(&kind)
            .map_err(|e| StoreError::Database(format!("stored entry kind {kind:?}: {e}")))?,
        postings,
    })
}

pub(crate) async fn journal(
    pool: &Pool<Db>,
    estate_id: Option<i64>,
) -> StoreResult<Vec<JournalEntry>> {
    let entries = sqlx::query(
        "SELECT * FROM journal_entries WHERE ($1 IS NULL OR estate_id = $1) ORDER BY id",
    )
    .bind(estate_id)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    let postings = sqlx::query("SELECT p.entry_id, p.account, p.debit_fen, p.credit_fen FROM journal_postings p JOIN journal_entries e ON e.id = p.entry_id WHERE ($1 IS NULL OR e.estate_id = $1) ORDER BY p.entry_id, p.id")
        .bind(estate_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    let mut out: Vec<JournalEntry> = Vec::with_capacity(entries.len());
    for r in &entries {
        out.push(JournalEntry {
            id: col(r, "id")?,
            estate_id: col(r, "estate_id")?,
            kind: col(r, "kind")?,
            memo: col(r, "memo")?,
            payment_id: col(r, "payment_id")?,
            reverses: col(r, "reverses")?,
            created_by: col(r, "created_by")?,
            created_at: col(r, "created_at")?,
            postings: Vec::new(),
        });
    }
    let mut i = 0;
    for p in &postings {
        let entry_id: i64 = col(p, "entry_id")?;
        while i < out.len() && out[i].id < entry_id {
            i += 1;
        }
        if let Some(e) = out.get_mut(i).filter(|e| e.id == entry_id) {
            e.postings.push(StoredPosting {
                account: col(p, "account")?,
                debit: Fen(col(p, "debit_fen")?),
                credit: Fen(col(p, "credit_fen")?),
            });
        }
    }
    Ok(out)
}

pub(crate) async fn receivable_expectations(
    pool: &Pool<Db>,
    estate_id: Option<i64>,
) -> StoreResult<Vec<ReceivableExpectation>> {
    sqlx::query("SELECT object_kind, object_id, fee_item_id, CAST(SUM(CASE WHEN status = 'waived' THEN 0 ELSE amount_fen - paid_principal_fen END) AS BIGINT) AS expected \
                 FROM bill_lines WHERE ($1 IS NULL OR estate_id = $1) GROUP BY object_kind, object_id, fee_item_id")
        .bind(estate_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| {
            let k: String = col(r, "object_kind")?;
            Ok(ReceivableExpectation {
                object: ObjectKind::from_code(&k)?,
                object_id: col(r, "object_id")?,
                fee_item_id: col(r, "fee_item_id")?,
                expected: Fen(col(r, "expected")?),
            })
        })
        .collect()
}

pub(crate) fn payment_fact(r: &Row) -> StoreResult<PaymentFact> {
    Ok(PaymentFact {
        id: col(r, "id")?,
        estate_id: col(r, "estate_id")?,
        amount: Fen(col(r, "amount_fen")?),
        status: col(r, "status")?,
        opening: col(r, "opening")?,
        method: col(r, "method")?,
        paid_at: col(r, "paid_at")?,
    })
}

pub(crate) async fn payment_fact_by_id(
    pool: &Pool<Db>,
    id: i64,
) -> StoreResult<Option<PaymentFact>> {
    sqlx::query(
        "SELECT id, estate_id, amount_fen, status, opening, method, paid_at FROM payments WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?
    .as_ref()
    .map(payment_fact)
    .transpose()
}

pub(crate) async fn payment_facts(
    pool: &Pool<Db>,
    estate_id: Option<i64>,
) -> StoreResult<Vec<PaymentFact>> {
    sqlx::query("SELECT id, estate_id, amount_fen, status, opening, method, paid_at FROM payments WHERE ($1 IS NULL OR estate_id = $1) ORDER BY id")
        .bind(estate_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(payment_fact)
        .collect()
}

async fn balance_in(conn: &mut Conn, account: &str, estate_id: Option<i64>) -> StoreResult<Fen> {
    let r = sqlx::query("SELECT CAST(COALESCE(SUM(p.debit_fen - p.credit_fen), 0) AS BIGINT) AS b FROM journal_postings p JOIN journal_entries e ON e.id = p.entry_id WHERE p.account = $1 AND ($2 IS NULL OR e.estate_id = $2)")
        .bind(account)
        .bind(estate_id)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(Fen(col(&r, "b")?))
}

pub(crate) async fn account_balance(pool: &Pool<Db>, account: &str) -> StoreResult<Fen> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    balance_in(&mut conn, account, None).await
}

const SHIFT_SELECT: &str =
    "SELECT s.*, u.display_name FROM shifts s JOIN users u ON u.id = s.collector_id ";

fn shift_row(r: &Row) -> StoreResult<Shift> {
    Ok(Shift {
        id: col(r, "id")?,
        estate_id: col(r, "estate_id")?,
        collector_id: col(r, "collector_id")?,
        collector_name: col(r, "display_name")?,
        status: col(r, "status")?,
        opened_at: col(r, "opened_at")?,
        closed_at: col(r, "closed_at")?,
        expected: col::<Option<i64>>(r, "expected_fen")?.map(Fen),
        counted: col::<Option<i64>>(r, "counted_fen")?.map(Fen),
        counted_by: col(r, "counted_by")?,
        handed_over_at: col(r, "handed_over_at")?,
        entry_id: col(r, "entry_id")?,
        note: col(r, "note")?,
    })
}

pub(crate) async fn shift(pool: &Pool<Db>, id: i64) -> StoreResult<Shift> {
    let r = sqlx::query(&format!("{SHIFT_SELECT}WHERE s.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound(format!("shift {id}")))?;
    shift_row(&r)
}

pub(crate) async fn open_shift(
    pool: &Pool<Db>,
    estate_id: i64,
    collector_id: i64,
    now: i64,
) -> StoreResult<Shift> {
    let r = sqlx::query("INSERT INTO shifts (estate_id, collector_id, status, opened_at) VALUES ($1, $2, 'open', $3) RETURNING id")
        .bind(estate_id)
        .bind(collector_id)
        .bind(now)
        .fetch_one(&writer(pool))
        .await
        .map_err(|e| match db_err(e) {
            StoreError::Conflict(_) => StoreError::Conflict("this collector already has an open shift".into()),
            other => other,
        })?;
    shift(pool, col(&r, "id")?).await
}

/// Refuses cash a collector takes outside a shift. Called inside the
/// payment's transaction and locking the shift row, so a shift closed or
/// handed over concurrently cannot let the payment slip past its count.
/// Online cash needs a shift open now; cash taken offline may land in a
/// shift that was open when it was taken, as long as it has not been
/// counted yet (the collector still holds that shift's money).
pub(crate) async fn require_cash_shift(
    conn: &mut Conn,
    estate_id: i64,
    collector_id: i64,
    taken_at: i64,
    offline: bool,
) -> StoreResult<()> {
    let open = sqlx::query(&format!(
        "SELECT id FROM shifts WHERE estate_id = $1 AND collector_id = $2 AND status = 'open'{ROW_SHARE}"
    ))
    .bind(estate_id)
    .bind(collector_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    if open.is_some() {
        return Ok(());
    }
    if !offline {
        return Err(StoreError::Conflict(
            "no open shift: start a shift before taking cash (没有进行中的班次：请先开班再收现金)"
                .into(),
        ));
    }
    let taken_in = sqlx::query(&format!(
        "SELECT id, status FROM shifts WHERE estate_id = $1 AND collector_id = $2 \
         AND opened_at <= $3 AND (closed_at IS NULL OR closed_at >= $3) ORDER BY id DESC LIMIT 1{ROW_SHARE}"
    ))
    .bind(estate_id)
    .bind(collector_id)
    .bind(taken_at)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?;
    let Some(r) = taken_in else {
        return Err(StoreError::Conflict(
            "this cash was taken offline outside any shift: give it to finance and record it at the counter (离线收款时没有班次：请交给财务在柜台入账)"
                .into(),
        ));
    };
    let status: String = col(&r, "status")?;
    if status == "handed_over" {
        let id: i64 = col(&r, "id")?;
        return Err(StoreError::Conflict(format!(
            "shift {id}, when this cash was taken offline, was already handed over: give the cash to finance to record (该现金所属班次 {id} 已交接：请交给财务入账)"
        )));
    }
    Ok(())
}

pub(crate) async fn close_shift(pool: &Pool<Db>, shift_id: i64, now: i64) -> StoreResult<Shift> {
    let n = sqlx::query(
        "UPDATE shifts SET status = 'closed', closed_at = $2 WHERE id = $1 AND status = 'open'",
    )
    .bind(shift_id)
    .bind(now)
    .execute(&writer(pool))
    .await
    .map_err(db_err)?
    .rows_affected();
    let s = shift(pool, shift_id).await?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "shift {shift_id} is not open"
        )));
    }
    Ok(s)
}

pub(crate) async fn submit_handover(
    pool: &Pool<Db>,
    shift_id: i64,
    counted: Fen,
    counted_by: i64,
    reason: &str,
    now: i64,
) -> StoreResult<Shift> {
    if counted.0 < 0 {
        return Err(DomainError::invalid("counted", "cannot be negative").into());
    }
    let reason = reason.trim();
    if reason.chars().count() > 200 {
        return Err(DomainError::invalid("reason", "at most 200 characters").into());
    }
    let mut tx = write_tx(pool).await?;
    let r = sqlx::query(&format!(
        "SELECT estate_id, collector_id, status FROM shifts WHERE id = $1{ROW_LOCK}"
    ))
    .bind(shift_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?
    .ok_or_else(|| StoreError::NotFound(format!("shift {shift_id}")))?;
    let status: String = col(&r, "status")?;
    let estate_id: i64 = col(&r, "estate_id")?;
    let collector: i64 = col(&r, "collector_id")?;
    if status != "closed" {
        return Err(StoreError::Conflict(format!(
            "shift {shift_id} is {status}: close it before the handover"
        )));
    }
    if collector == counted_by {
        return Err(StoreError::Conflict(
            "the cash is counted by someone other than the collector".into(),
        ));
    }
    let account = Account::CashOnHand { user_id: collector }.code();
    let expected = balance_in(&mut tx, &account, Some(estate_id)).await?;
    if expected.0 < 0 {
        return Err(StoreError::Conflict(format!(
            "the ledger shows {expected} held by this collector: voids exceed takings; finance must investigate before a handover"
        )));
    }
    // The count stays blind: a missing reason says only that the amounts
    // differ, never by how much.
    let differs = counted != expected;
    if differs && reason.is_empty() {
        return Err(DomainError::invalid(
            "reason",
            "the counted cash differs from what the ledger expects: give a reason for the difference (清点金额与应交金额不符：请填写差额原因)",
        )
        .into());
    }
    let entry_id = if expected.0 == 0 && counted.0 == 0 {
        None
    } else {
        // The counted cash goes to the safe; a difference waits in suspense
        // (待处理财产损溢) until it is approved.
        let mut e = handover_entry(collector, estate_id, expected, counted)
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
        let over_short = Account::CashOverShort { estate_id };
        for p in &mut e.postings {
            if p.account == over_short {
                p.account = Account::HandoverSuspense { estate_id };
            }
        }
        Some(
            post(
                &mut tx,
                estate_id,
                &e,
                None,
                None,
                Some(counted_by),
                reason,
                now,
            )
            .await?,
        )
    };
    sqlx::query("UPDATE shifts SET status = 'handed_over', expected_fen = $2, counted_fen = $3, counted_by = $4, handed_over_at = $5, entry_id = $6, note = $7 WHERE id = $1")
        .bind(shift_id)
        .bind(expected.0)
        .bind(counted.0)
        .bind(counted_by)
        .bind(now)
        .bind(entry_id)
        .bind(reason)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    if differs {
        sqlx::query("INSERT INTO handover_differences (shift_id, estate_id, collector_id, counted_by, expected_fen, counted_fen, reason, entry_id, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
            .bind(shift_id)
            .bind(estate_id)
            .bind(collector)
            .bind(counted_by)
            .bind(expected.0)
            .bind(counted.0)
            .bind(reason)
            .bind(entry_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)?;
    shift(pool, shift_id).await
}

const DIFFERENCE_SELECT: &str =
    "SELECT d.*, u.display_name FROM handover_differences d JOIN users u ON u.id = d.collector_id ";

fn difference_row(r: &Row) -> StoreResult<HandoverDifference> {
    Ok(HandoverDifference {
        shift_id: col(r, "shift_id")?,
        estate_id: col(r, "estate_id")?,
        collector_id: col(r, "collector_id")?,
        collector_name: col(r, "display_name")?,
        counted_by: col(r, "counted_by")?,
        expected: Fen(col(r, "expected_fen")?),
        counted: Fen(col(r, "counted_fen")?),
        reason: col(r, "reason")?,
        entry_id: col(r, "entry_id")?,
        created_at: col(r, "created_at")?,
        status: col(r, "status")?,
        response: col(r, "response")?,
        response_note: col(r, "response_note")?,
        responded_at: col(r, "responded_at")?,
        offset: Fen(col(r, "offset_fen")?),
        approved_by: col(r, "approved_by")?,
        approved_at: col(r, "approved_at")?,
        approval_entry_id: col(r, "approval_entry_id")?,
    })
}

pub(crate) async fn handover_differences(
    pool: &Pool<Db>,
    estate_id: i64,
    pending_only: bool,
) -> StoreResult<Vec<HandoverDifference>> {
    sqlx::query(&format!(
        "{DIFFERENCE_SELECT}WHERE d.estate_id = $1 AND ($2 = 0 OR d.status = 'pending') ORDER BY d.shift_id DESC LIMIT 500"
    ))
    .bind(estate_id)
    .bind(i64::from(pending_only))
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(difference_row)
    .collect()
}

pub(crate) async fn handover_difference(
    pool: &Pool<Db>,
    estate_id: i64,
    shift_id: i64,
) -> StoreResult<Option<HandoverDifference>> {
    sqlx::query(&format!(
        "{DIFFERENCE_SELECT}WHERE d.shift_id = $1 AND d.estate_id = $2"
    ))
    .bind(shift_id)
    .bind(estate_id)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?
    .as_ref()
    .map(difference_row)
    .transpose()
}

/// The pending difference of a shift, locked for the rest of `tx`.
async fn lock_difference(
    tx: &mut sqlx::Transaction<'static, Db>,
    estate_id: i64,
    shift_id: i64,
) -> StoreResult<HandoverDifference> {
    let r = sqlx::query(&format!(
        "SELECT shift_id FROM handover_differences WHERE shift_id = $1 AND estate_id = $2{ROW_LOCK}"
    ))
    .bind(shift_id)
    .bind(estate_id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_err)?;
    if r.is_none() {
        return Err(StoreError::NotFound(format!(
            "handover difference of shift {shift_id}"
        )));
    }
    let r = sqlx::query(&format!("{DIFFERENCE_SELECT}WHERE d.shift_id = $1"))
        .bind(shift_id)
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?;
    difference_row(&r)
}

pub(crate) async fn respond_to_difference(
    pool: &Pool<Db>,
    estate_id: i64,
    shift_id: i64,
    collector_id: i64,
    dispute: bool,
    note: &str,
    now: i64,
) -> StoreResult<HandoverDifference> {
    let note = note.trim();
    if note.chars().count() > 200 {
        return Err(DomainError::invalid("note", "at most 200 characters").into());
    }
    if dispute && note.is_empty() {
        return Err(
            DomainError::invalid("note", "say what you dispute (请说明对差额的异议)").into(),
        );
    }
    let mut tx = write_tx(pool).await?;
    let d = lock_difference(&mut tx, estate_id, shift_id).await?;
    if d.collector_id != collector_id {
        // Only the collector whose cash it was answers; to anyone else the
        // difference does not exist.
        return Err(StoreError::NotFound(format!(
            "handover difference of shift {shift_id}"
        )));
    }
    if d.status != "pending" {
        return Err(StoreError::Conflict(format!(
            "the difference of shift {shift_id} is already approved"
        )));
    }
    sqlx::query("UPDATE handover_differences SET response = $2, response_note = $3, responded_at = $4 WHERE shift_id = $1")
        .bind(shift_id)
        .bind(if dispute { "dispute" } else { "ack" })
        .bind(note)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    handover_difference(pool, estate_id, shift_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("handover difference of shift {shift_id}")))
}

pub(crate) async fn approve_difference(
    pool: &Pool<Db>,
    estate_id: i64,
    shift_id: i64,
    by: i64,
    now: i64,
) -> StoreResult<HandoverDifference> {
    let mut tx = write_tx(pool).await?;
    let d = lock_difference(&mut tx, estate_id, shift_id).await?;
    if d.status != "pending" {
        return Err(StoreError::Conflict(format!(
            "the difference of shift {shift_id} is already approved"
        )));
    }
    if by == d.counted_by || by == d.collector_id {
        return Err(StoreError::Conflict(
            "a handover difference is approved by a finance user who neither counted the cash nor collected it (差额须由清点人和收费员以外的财务审批)".into(),
        ));
    }
    if d.response.is_none() {
        return Err(StoreError::Conflict(format!(
            "{} has not yet acknowledged or disputed the difference of shift {shift_id} (收费员尚未确认差额)",
            d.collector_name
        )));
    }
    let suspense = Account::HandoverSuspense { estate_id };
    let over_short = Account::CashOverShort { estate_id };
    let diff = d.difference();
    let postings = if diff.0 < 0 {
        // A shortage, less what voids of the shift's payments explained.
        let left = Fen(-diff.0 - d.offset.0);
        if left.0 > 0 {
            vec![
                Posting::debit(over_short, left),
                Posting::credit(suspense, left),
            ]
        } else {
            Vec::new()
        }
    } else {
        vec![
            Posting::debit(suspense, diff),
            Posting::credit(over_short, diff),
        ]
    };
    let entry_id = if postings.is_empty() {
        None
    } else {
        let e = Entry {
            kind: EntryKind::Handover,
            postings,
        };
        let memo = format!(
            "handover difference of shift {shift_id} approved: {}",
            d.reason
        );
        Some(post(&mut tx, estate_id, &e, None, None, Some(by), &memo, now).await?)
    };
    sqlx::query("UPDATE handover_differences SET status = 'approved', approved_by = $2, approved_at = $3, approval_entry_id = $4 WHERE shift_id = $1")
        .bind(shift_id)
        .bind(by)
        .bind(now)
        .bind(entry_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    handover_difference(pool, estate_id, shift_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("handover difference of shift {shift_id}")))
}

pub(crate) async fn open_custody(
    pool: &Pool<Db>,
    estate_id: Option<i64>,
) -> StoreResult<Vec<OpenCustodyItem>> {
    let mut out = Vec::new();
    let shifts = sqlx::query("SELECT s.id, s.estate_id, s.status, u.display_name FROM shifts s JOIN users u ON u.id = s.collector_id \
                              WHERE s.status IN ('open', 'closed') AND ($1 IS NULL OR s.estate_id = $1) ORDER BY s.estate_id, s.id")
        .bind(estate_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    for r in &shifts {
        let status: String = col(r, "status")?;
        let id: i64 = col(r, "id")?;
        let name: String = col(r, "display_name")?;
        let (kind, detail) = if status == "open" {
            (
                "open_shift",
                format!("{name}'s shift {id} is open (cash still out)"),
            )
        } else {
            (
                "not_handed_over",
                format!("{name}'s shift {id} is closed but not handed over (cash still out)"),
            )
        };
        out.push(OpenCustodyItem {
            estate_id: col(r, "estate_id")?,
            kind: kind.into(),
            id,
            detail,
        });
    }
    let diffs = sqlx::query(&format!(
        "{DIFFERENCE_SELECT}WHERE d.status = 'pending' AND ($1 IS NULL OR d.estate_id = $1) ORDER BY d.estate_id, d.shift_id"
    ))
    .bind(estate_id)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    for r in &diffs {
        let d = difference_row(r)?;
        let answer = match d.response.as_deref() {
            None => "not yet acknowledged by the collector".to_string(),
            Some("dispute") => format!("disputed by the collector: {}", d.response_note),
            Some(_) => "acknowledged by the collector".to_string(),
        };
        out.push(OpenCustodyItem {
            estate_id: d.estate_id,
            kind: "pending_difference".into(),
            id: d.shift_id,
            detail: format!(
                "the handover difference of {} on {}'s shift {} (expected {}, counted {}) is not approved; {answer}",
                d.difference(),
                d.collector_name,
                d.shift_id,
                d.expected,
                d.counted
            ),
        });
    }
    let revs = sqlx::query("SELECT id, estate_id, kind, payment_id, status FROM reversals WHERE status IN ('requested', 'approved') AND ($1 IS NULL OR estate_id = $1) ORDER BY estate_id, id")
        .bind(estate_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    for r in &revs {
        let id: i64 = col(r, "id")?;
        let kind: String = col(r, "kind")?;
        let status: String = col(r, "status")?;
        let payment: i64 = col(r, "payment_id")?;
        out.push(OpenCustodyItem {
            estate_id: col(r, "estate_id")?,
            kind: "pending_reversal".into(),
            id,
            detail: format!("{kind} {id} of payment {payment} is {status}, not carried out"),
        });
    }
    Ok(out)
}

pub(crate) async fn recollections(
    pool: &Pool<Db>,
    estate_id: i64,
) -> StoreResult<Vec<Recollection>> {
    sqlx::query("SELECT r.*, CAST(COALESCE((SELECT SUM(l.amount_fen - l.paid_principal_fen) FROM bill_lines l \
                     WHERE l.status <> 'waived' AND l.id IN (SELECT a.line_id FROM payment_allocations a WHERE a.payment_id = r.payment_id)), 0) AS BIGINT) AS owed \
                 FROM recollections r WHERE r.estate_id = $1 ORDER BY r.id DESC LIMIT 500")
        .bind(estate_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| {
            Ok(Recollection {
                id: col(r, "id")?,
                estate_id: col(r, "estate_id")?,
                reversal_id: col(r, "reversal_id")?,
                payment_id: col(r, "payment_id")?,
                booking_id: col(r, "booking_id")?,
                amount: Fen(col(r, "amount_fen")?),
                taken_from: col(r, "taken_from")?,
                owners_told: col(r, "owners_told")?,
                still_owed: Fen(col(r, "owed")?),
                created_at: col(r, "created_at")?,
            })
        })
        .collect()
}

pub(crate) async fn shifts(
    pool: &Pool<Db>,
    estate_id: i64,
    status: Option<&str>,
) -> StoreResult<Vec<Shift>> {
    sqlx::query(&format!("{SHIFT_SELECT}WHERE s.estate_id = $1 AND ($2 IS NULL OR s.status = $2) ORDER BY s.id DESC LIMIT 500"))
        .bind(estate_id)
        .bind(status)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(shift_row)
        .collect()
}

pub(crate) async fn cash_holdings(
    pool: &Pool<Db>,
    estate_id: i64,
) -> StoreResult<Vec<CashHolding>> {
    let rows = sqlx::query("SELECT p.account, CAST(SUM(p.debit_fen - p.credit_fen) AS BIGINT) AS held FROM journal_postings p JOIN journal_entries e ON e.id = p.entry_id \
                 WHERE e.estate_id = $1 AND p.account LIKE 'cash:%' GROUP BY p.account")
        .bind(estate_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    let mut out = Vec::new();
    for r in &rows {
        let account: String = col(r, "account")?;
        let held: i64 = col(r, "held")?;
        let Ok(Account::CashOnHand { user_id }) = Account::parse(&account) else {
            continue;
        };
        if held == 0 {
            continue;
        }
        let o = sqlx::query("SELECT u.display_name, (SELECT MIN(p.paid_at) FROM payments p WHERE p.estate_id = $1 AND p.recorded_by = $2 AND p.method = 'cash' AND p.status = 'posted' \
                     AND p.paid_at > COALESCE((SELECT MAX(s.handed_over_at) FROM shifts s WHERE s.estate_id = $1 AND s.collector_id = $2 AND s.status = 'handed_over'), 0)) AS oldest \
                     FROM users u WHERE u.id = $2")
            .bind(estate_id)
            .bind(user_id)
            .fetch_one(pool)
            .await
            .map_err(db_err)?;
        out.push(CashHolding {
            user_id,
            name: col(&o, "display_name")?,
            amount: Fen(held),
            oldest_at: col(&o, "oldest")?,
        });
    }
    out.sort_by_key(|h| std::cmp::Reverse(h.amount));
    Ok(out)
}

pub(crate) async fn daily_close(
    pool: &Pool<Db>,
    estate_id: i64,
    day: Date,
    by: i64,
    summary: &str,
    now: i64,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO daily_closes (estate_id, day, closed_by, closed_at, summary) VALUES ($1, $2, $3, $4, $5)")
        .bind(estate_id)
        .bind(day.to_string())
        .bind(by)
        .bind(now)
        .bind(summary)
        .execute(&writer(pool))
        .await
        .map_err(|e| match db_err(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!("{day} is already closed")),
            other => other,
        })?;
    Ok(())
}

pub(crate) async fn daily_close_of(
    pool: &Pool<Db>,
    estate_id: i64,
    day: Date,
) -> StoreResult<Option<(i64, i64, String)>> {
    let r = sqlx::query(
        "SELECT closed_by, closed_at, summary FROM daily_closes WHERE estate_id = $1 AND day = $2",
    )
    .bind(estate_id)
    .bind(day.to_string())
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    r.map(|r| {
        Ok((
            col(&r, "closed_by")?,
            col(&r, "closed_at")?,
            col(&r, "summary")?,
        ))
    })
    .transpose()
}

fn reversal_row(r: &Row) -> StoreResult<Reversal> {
    Ok(Reversal {
        id: col(r, "id")?,
        estate_id: col(r, "estate_id")?,
        payment_id: col(r, "payment_id")?,
        kind: col(r, "kind")?,
        reason: col(r, "reason")?,
        status: col(r, "status")?,
        requested_by: col(r, "requested_by")?,
        requested_at: col(r, "requested_at")?,
        decided_by: col(r, "decided_by")?,
        decided_at: col(r, "decided_at")?,
        out_refund_no: col(r, "out_refund_no")?,
        entry_id: col(r, "entry_id")?,
        detail: col(r, "detail")?,
    })
}

pub(crate) async fn reversal(pool: &Pool<Db>, id: i64) -> StoreResult<Reversal> {
    let r = sqlx::query("SELECT * FROM reversals WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound(format!("reversal {id}")))?;
    reversal_row(&r)
}

pub(crate) async fn reversals(pool: &Pool<Db>, estate_id: i64) -> StoreResult<Vec<Reversal>> {
    sqlx::query("SELECT * FROM reversals WHERE estate_id = $1 ORDER BY id DESC LIMIT 500")
        .bind(estate_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(reversal_row)
        .collect()
}

pub(crate) async fn request_reversal(
    pool: &Pool<Db>,
    payment_id: i64,
    kind: &str,
    reason: &str,
    by: i64,
    now: i64,
) -> StoreResult<Reversal> {
    if kind != "void" && kind != "refund" {
        return Err(DomainError::invalid("kind", "must be void or refund").into());
    }
    let n = reason.trim().chars().count();
    if n == 0 || n > 200 {
        return Err(
            DomainError::invalid("reason", "a reason of 1–200 characters is required").into(),
        );
    }
    let p =
        sqlx::query("SELECT estate_id, method, status, transaction_id FROM payments WHERE id = $1")
            .bind(payment_id)
            .fetch_optional(pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| StoreError::NotFound(format!("payment {payment_id}")))?;
    let status: String = col(&p, "status")?;
    if status != "posted" {
        return Err(StoreError::Conflict(format!(
            "payment {payment_id} is already {status}"
        )));
    }
    let txn: Option<String> = col(&p, "transaction_id")?;
    match (kind, txn.is_some()) {
        ("refund", false) => {
            return Err(StoreError::Conflict(format!(
                "payment {payment_id} was not made through a provider: void it instead"
            )));
        }
        ("void", true) => {
            return Err(StoreError::Conflict(format!(
                "payment {payment_id} was made through a provider: refund it instead"
            )));
        }
        _ => {}
    }
    let r = sqlx::query("INSERT INTO reversals (estate_id, payment_id, kind, reason, status, requested_by, requested_at) VALUES ($1, $2, $3, $4, 'requested', $5, $6) RETURNING *")
        .bind(col::<i64>(&p, "estate_id")?)
        .bind(payment_id)
        .bind(kind)
        .bind(reason.trim())
        .bind(by)
        .bind(now)
        .fetch_one(&writer(pool))
        .await
        .map_err(|e| match db_err(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!(
                "payment {payment_id} already has a void or refund in progress"
            )),
            other => other,
        })?;
    reversal_row(&r)
}

/// Where cash a collector took (`amount`, posted by entry `payment_entry`)
/// is now. Still with the collector until a handover moved their cash;
/// after one, in the shortage that handover found (pending: suspense;
/// approved: over/short) as far as voids have not yet explained it, and the
/// rest in the safe. Never the collector's cash after a handover.
async fn cash_now(
    tx: &mut sqlx::Transaction<'static, Db>,
    estate_id: i64,
    user_id: i64,
    payment_entry: i64,
    amount: Fen,
) -> StoreResult<Vec<(Account, Fen)>> {
    let cash = Account::CashOnHand { user_id };
    let handover = sqlx::query(
        "SELECT e.id FROM journal_entries e WHERE e.estate_id = $1 AND e.kind = 'handover' AND e.id > $2 \
         AND EXISTS (SELECT 1 FROM journal_postings p WHERE p.entry_id = e.id AND p.account = $3 AND p.credit_fen > 0) ORDER BY e.id LIMIT 1",
    )
    .bind(estate_id)
    .bind(payment_entry)
    .bind(cash.code())
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_err)?;
    let Some(h) = handover else {
        return Ok(vec![(cash, amount)]);
    };
    let handover_id: i64 = col(&h, "id")?;
    let mut out = Vec::new();
    let mut left = amount;
    let diff = sqlx::query(&format!(
        "SELECT d.shift_id, d.expected_fen, d.counted_fen, d.offset_fen, d.status FROM handover_differences d \
         JOIN shifts s ON s.id = d.shift_id WHERE s.entry_id = $1 AND d.estate_id = $2{ROW_LOCK}"
    ))
    .bind(handover_id)
    .bind(estate_id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_err)?;
    if let Some(d) = diff {
        let short = col::<i64>(&d, "expected_fen")? - col::<i64>(&d, "counted_fen")?;
        let offset: i64 = col(&d, "offset_fen")?;
        let take = left.0.min(short - offset);
        if take > 0 {
            let status: String = col(&d, "status")?;
            let account = if status == "pending" {
                Account::HandoverSuspense { estate_id }
            } else {
                Account::CashOverShort { estate_id }
            };
            sqlx::query(
                "UPDATE handover_differences SET offset_fen = offset_fen + $2 WHERE shift_id = $1",
            )
            .bind(col::<i64>(&d, "shift_id")?)
            .bind(take)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
            out.push((account, Fen(take)));
            left = Fen(left.0 - take);
        }
    }
    if left.0 > 0 {
        out.push((Account::CashInSafe { estate_id }, left));
    }
    Ok(out)
}

/// Reverses a payment inside `tx`: the reversing entry, the lines reopened,
/// the payment marked. Returns the entry id and the account(s) the money
/// was taken from.
async fn reverse_payment(
    tx: &mut sqlx::Transaction<'static, Db>,
    payment_id: i64,
    kind: EntryKind,
    by: i64,
    memo: &str,
    now: i64,
) -> StoreResult<(i64, String)> {
    let p = sqlx::query(&format!(
        "SELECT estate_id, status FROM payments WHERE id = $1{ROW_LOCK}"
    ))
    .bind(payment_id)
    .fetch_one(&mut **tx)
    .await
    .map_err(db_err)?;
    let status: String = col(&p, "status")?;
    if status != "posted" {
        return Err(StoreError::Conflict(format!(
            "payment {payment_id} is already {status}"
        )));
    }
    let estate_id: i64 = col(&p, "estate_id")?;
    let allocs = sqlx::query(&format!("SELECT a.line_id, a.late_fee_fen, a.principal_fen, l.amount_fen, l.paid_principal_fen, l.status FROM payment_allocations a JOIN bill_lines l ON l.id = a.line_id WHERE a.payment_id = $1{FOR_UPDATE}"))
        .bind(payment_id)
        .fetch_all(&mut **tx)
        .await
        .map_err(db_err)?;
    for a in &allocs {
        let line: i64 = col(a, "line_id")?;
        let status: String = col(a, "status")?;
        if status == "waived" {
            return Err(StoreError::Conflict(format!(
                "bill line {line} has since been waived; reopen it before reversing this payment"
            )));
        }
        let amount = Fen(col(a, "amount_fen")?);
        let principal = Fen(col(a, "principal_fen")?);
        let paid = Fen(col::<i64>(a, "paid_principal_fen")?) - principal;
        sqlx::query("UPDATE bill_lines SET paid_principal_fen = paid_principal_fen - $2, late_fee_paid_fen = late_fee_paid_fen - $3, status = $4 WHERE id = $1")
            .bind(line)
            .bind(principal.0)
            .bind(col::<i64>(a, "late_fee_fen")?)
            .bind(LineStatus::from_paid(amount, paid).code())
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
    }
    let original =
        sqlx::query("SELECT id FROM journal_entries WHERE payment_id = $1 AND kind = 'payment'")
            .bind(payment_id)
            .fetch_one(&mut **tx)
            .await
            .map_err(db_err)?;
    let original_id: i64 = col(&original, "id")?;
    let mirror = entry_of(tx, original_id).await?.reversal(kind);
    // The reversal mirrors the payment, except that cash is taken from
    // where it is now: after a handover that is no longer the collector.
    let mut postings = Vec::with_capacity(mirror.postings.len() + 1);
    let mut taken_from = Vec::new();
    for p in mirror.postings {
        match p.account {
            Account::CashOnHand { user_id } if p.credit.0 > 0 => {
                for (account, fen) in
                    cash_now(tx, estate_id, user_id, original_id, p.credit).await?
                {
                    taken_from.push(account.code());
                    postings.push(Posting::credit(account, fen));
                }
            }
            _ => {
                if p.credit.0 > 0 && p.account.is_payment_source() {
                    taken_from.push(p.account.code());
                }
                postings.push(p);
            }
        }
    }
    let entry = Entry {
        kind: mirror.kind,
        postings,
    };
    let entry_id = post(
        tx,
        estate_id,
        &entry,
        Some(payment_id),
        Some(original_id),
        Some(by),
        memo,
        now,
    )
    .await?;
    let new_status = if kind == EntryKind::Void {
        "voided"
    } else {
        "refunded"
    };
    sqlx::query("UPDATE payments SET status = $2 WHERE id = $1")
        .bind(payment_id)
        .bind(new_status)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok((entry_id, taken_from.join("+")))
}

/// After a void or refund inside `tx`: the collection reopened as a
/// follow-up linked to the reversal, the visit's booking marked (an event
/// in its history), and the owners told by SMS through the outbox.
async fn reopen_collection(
    tx: &mut sqlx::Transaction<'static, Db>,
    rev: &Reversal,
    taken_from: &str,
    by: i64,
    now: i64,
) -> StoreResult<()> {
    let p = sqlx::query("SELECT p.booking_id, p.amount_fen, p.paid_on, e.name FROM payments p JOIN estates e ON e.id = p.estate_id WHERE p.id = $1 AND p.estate_id = $2")
        .bind(rev.payment_id)
        .bind(rev.estate_id)
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?;
    let booking_id: Option<i64> = col(&p, "booking_id")?;
    let amount = Fen(col(&p, "amount_fen")?);
    let paid_on: String = col(&p, "paid_on")?;
    let estate_name: String = col(&p, "name")?;
    let r = sqlx::query("INSERT INTO recollections (estate_id, reversal_id, payment_id, booking_id, amount_fen, taken_from, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
        .bind(rev.estate_id)
        .bind(rev.id)
        .bind(rev.payment_id)
        .bind(booking_id)
        .bind(amount.0)
        .bind(taken_from)
        .bind(now)
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?;
    let task: i64 = col(&r, "id")?;
    if let Some(b) = booking_id {
        let st = sqlx::query(&format!(
            "SELECT status FROM bookings WHERE id = $1 AND estate_id = $2{ROW_LOCK}"
        ))
        .bind(b)
        .bind(rev.estate_id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_err)?;
        if let Some(st) = st {
            let status: String = col(&st, "status")?;
            sqlx::query("INSERT INTO booking_events (booking_id, at, from_status, to_status, actor_kind, actor_user, detail) VALUES ($1, $2, $3, $3, 'staff', $4, $5)")
                .bind(b)
                .bind(now)
                .bind(&status)
                .bind(by)
                .bind(format!("{} {}: to collect again", rev.kind, rev.id))
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
        }
    }
    let phones = sqlx::query(
        "SELECT DISTINCT x.phone FROM ( \
           SELECT (SELECT MIN(ph.phone) FROM owner_phones ph WHERE ph.owner_id = h.owner_id) AS phone \
             FROM payment_allocations a JOIN bill_lines l ON l.id = a.line_id JOIN room_owners h ON h.room_id = l.object_id \
             WHERE a.payment_id = $1 AND l.object_kind = 'room' \
           UNION ALL \
           SELECT (SELECT MIN(ph.phone) FROM owner_phones ph WHERE ph.owner_id = h.owner_id) AS phone \
             FROM payment_allocations a JOIN bill_lines l ON l.id = a.line_id JOIN space_owners h ON h.space_id = l.object_id \
             WHERE a.payment_id = $1 AND l.object_kind = 'space' \
           UNION ALL \
           SELECT b.phone FROM payments p JOIN bookings b ON b.id = p.booking_id WHERE p.id = $1 \
         ) x WHERE x.phone IS NOT NULL AND x.phone <> '' ORDER BY x.phone",
    )
    .bind(rev.payment_id)
    .fetch_all(&mut **tx)
    .await
    .map_err(db_err)?;
    let body = if rev.kind == "refund" {
        format!(
            "【{estate_name}】您于{paid_on}缴纳的{}元已退回原支付账户，对应费用恢复为待缴。如有疑问请联系物业服务中心。",
            amount.yuan_string()
        )
    } else {
        format!(
            "【{estate_name}】您于{paid_on}缴纳的{}元已作废，对应费用恢复为待缴，物业将与您联系重新收取。如有疑问请联系物业服务中心。",
            amount.yuan_string()
        )
    };
    let mut told = 0i64;
    for r in &phones {
        let phone: String = col(r, "phone")?;
        super::booking::enqueue_tx(
            tx,
            &NewMessage {
                estate_id: Some(rev.estate_id),
                channel: "sms".into(),
                recipient: phone,
                kind: format!("{}_notice", rev.kind),
                body: body.clone(),
                due_at: now,
            },
            booking_id,
            now,
        )
        .await?;
        told += 1;
    }
    sqlx::query("UPDATE recollections SET owners_told = $2 WHERE id = $1")
        .bind(task)
        .bind(told)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn decide_reversal(
    pool: &Pool<Db>,
    id: i64,
    approve: bool,
    by: i64,
    out_refund_no: Option<&str>,
    now: i64,
) -> StoreResult<Reversal> {
    let mut tx = write_tx(pool).await?;
    let r = sqlx::query(&format!("SELECT * FROM reversals WHERE id = $1{ROW_LOCK}"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound(format!("reversal {id}")))?;
    let rev = reversal_row(&r)?;
    if rev.status != "requested" {
        return Err(StoreError::Conflict(format!(
            "reversal {id} is already {}",
            rev.status
        )));
    }
    if rev.requested_by == by {
        return Err(StoreError::Conflict(
            "a void or refund is approved by someone other than the person who asked for it".into(),
        ));
    }
    if !approve {
        sqlx::query("UPDATE reversals SET status = 'rejected', decided_by = $2, decided_at = $3 WHERE id = $1")
            .bind(id)
            .bind(by)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    } else if rev.kind == "void" {
        let (entry, taken_from) = reverse_payment(
            &mut tx,
            rev.payment_id,
            EntryKind::Void,
            by,
            &rev.reason,
            now,
        )
        .await?;
        reopen_collection(&mut tx, &rev, &taken_from, by, now).await?;
        super::evidence::void_receipt_in(
            &mut tx,
            rev.payment_id,
            &rev.reason,
            rev.requested_by,
            by,
            now,
        )
        .await?;
        sqlx::query("UPDATE reversals SET status = 'done', decided_by = $2, decided_at = $3, entry_id = $4 WHERE id = $1")
            .bind(id)
            .bind(by)
            .bind(now)
            .bind(entry)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    } else {
        let no = out_refund_no.ok_or_else(|| {
            DomainError::invalid("out_refund_no", "a refund needs a refund number")
        })?;
        sqlx::query("UPDATE reversals SET status = 'approved', decided_by = $2, decided_at = $3, out_refund_no = $4 WHERE id = $1")
            .bind(id)
            .bind(by)
            .bind(now)
            .bind(no)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)?;
    reversal(pool, id).await
}

pub(crate) async fn finish_refund(
    pool: &Pool<Db>,
    id: i64,
    ok: bool,
    detail: &str,
    now: i64,
) -> StoreResult<Reversal> {
    let mut tx = write_tx(pool).await?;
    let r = sqlx::query(&format!("SELECT * FROM reversals WHERE id = $1{ROW_LOCK}"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound(format!("reversal {id}")))?;
    let rev = reversal_row(&r)?;
    if rev.kind != "refund" || rev.status != "approved" {
        return Err(StoreError::Conflict(format!(
            "reversal {id} is not an approved refund"
        )));
    }
    if ok {
        let by = rev.decided_by.unwrap_or(rev.requested_by);
        let (entry, taken_from) = reverse_payment(
            &mut tx,
            rev.payment_id,
            EntryKind::Refund,
            by,
            &rev.reason,
            now,
        )
        .await?;
        reopen_collection(&mut tx, &rev, &taken_from, by, now).await?;
        super::evidence::void_receipt_in(
            &mut tx,
            rev.payment_id,
            &format!("退款 refunded: {}", rev.reason),
            rev.requested_by,
            by,
            now,
        )
        .await?;
        sqlx::query(
            "UPDATE reversals SET status = 'done', entry_id = $2, detail = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(entry)
        .bind(detail)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    } else {
        sqlx::query("UPDATE reversals SET status = 'failed', detail = $2 WHERE id = $1")
            .bind(id)
            .bind(detail)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)?;
    reversal(pool, id).await
}

pub(crate) async fn record_reconciliation(pool: &Pool<Db>, r: &Reconciliation) -> StoreResult<i64> {
    let mut tx = write_tx(pool).await?;
    let row = sqlx::query("INSERT INTO reconciliations (merchant_ref, bill_date, matched, matched_fen, mismatches, run_by, run_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
        .bind(r.merchant_ref)
        .bind(&r.bill_date)
        .bind(r.matched)
        .bind(r.matched_fen.0)
        .bind(r.items.len() as i64)
        .bind(r.run_by)
        .bind(r.run_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    let id: i64 = col(&row, "id")?;
    for i in &r.items {
        sqlx::query("INSERT INTO reconciliation_items (reconciliation_id, kind, out_trade_no, transaction_id, ours_fen, theirs_fen) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id)
            .bind(&i.kind)
            .bind(&i.out_trade_no)
            .bind(&i.transaction_id)
            .bind(i.ours.map(|f| f.0))
            .bind(i.theirs.map(|f| f.0))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(id)
}

pub(crate) async fn reconciliations(
    pool: &Pool<Db>,
    merchant_ref: i64,
) -> StoreResult<Vec<Reconciliation>> {
    let runs = sqlx::query(
        "SELECT * FROM reconciliations WHERE merchant_ref = $1 ORDER BY id DESC LIMIT 100",
    )
    .bind(merchant_ref)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    let mut out = Vec::new();
    for r in &runs {
        let id: i64 = col(r, "id")?;
        let items = sqlx::query(
            "SELECT * FROM reconciliation_items WHERE reconciliation_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(|i| {
            Ok(ReconciliationItem {
                kind: col(i, "kind")?,
                out_trade_no: col(i, "out_trade_no")?,
                transaction_id: col(i, "transaction_id")?,
                ours: col::<Option<i64>>(i, "ours_fen")?.map(Fen),
                theirs: col::<Option<i64>>(i, "theirs_fen")?.map(Fen),
            })
        })
        .collect::<StoreResult<_>>()?;
        out.push(Reconciliation {
            id,
            merchant_ref: col(r, "merchant_ref")?,
            bill_date: col(r, "bill_date")?,
            matched: col(r, "matched")?,
            matched_fen: Fen(col(r, "matched_fen")?),
            items,
            run_by: col(r, "run_by")?,
            run_at: col(r, "run_at")?,
        });
    }
    Ok(out)
}

pub(crate) async fn claim_job(
    pool: &Pool<Db>,
    name: &str,
    holder: &str,
    now: i64,
    seconds: i64,
) -> StoreResult<bool> {
    let r = sqlx::query("INSERT INTO job_leases (name, holder, until_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_at = excluded.until_at \
                 WHERE job_leases.until_at <= $4 OR job_leases.holder = excluded.holder RETURNING holder")
        .bind(name)
        .bind(holder)
        .bind(now + seconds)
        .bind(now)
        .fetch_optional(&writer(pool))
        .await
        .map_err(db_err)?;
    Ok(r.is_some())
}

pub(crate) async fn release_job(pool: &Pool<Db>, name: &str, holder: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM job_leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(&writer(pool))
        .await
        .map_err(db_err)?;
    Ok(())
}
