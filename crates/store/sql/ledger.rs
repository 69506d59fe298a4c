//! The journal (append-only, double-entry), cash shifts and handovers, voids
//! and refunds, reconciliation runs and job leases.

use super::{col, db_err, write_tx};
use crate::{Db, FOR_UPDATE, ROW_LOCK};
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
        .fetch_one(pool)
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
        "SELECT id FROM shifts WHERE estate_id = $1 AND collector_id = $2 AND status = 'open'{ROW_LOCK}"
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
         AND opened_at <= $3 AND (closed_at IS NULL OR closed_at >= $3) ORDER BY id DESC LIMIT 1{ROW_LOCK}"
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
    .execute(pool)
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
    note: &str,
    now: i64,
) -> StoreResult<Shift> {
    if counted.0 < 0 {
        return Err(DomainError::invalid("counted", "cannot be negative").into());
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
    let entry_id = if expected.0 == 0 && counted.0 == 0 {
        None
    } else {
        let e = handover_entry(collector, estate_id, expected, counted)
            .map_err(|e| StoreError::Conflict(e.to_string()))?;
        Some(
            post(
                &mut tx,
                estate_id,
                &e,
                None,
                None,
                Some(counted_by),
                note,
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
        .bind(note)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    shift(pool, shift_id).await
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
        .execute(pool)
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
        .fetch_one(pool)
        .await
        .map_err(|e| match db_err(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!(
                "payment {payment_id} already has a void or refund in progress"
            )),
            other => other,
        })?;
    reversal_row(&r)
}

/// Reverses a payment inside `tx`: the reversing entry, the lines reopened,
/// the payment marked. Returns the entry id.
async fn reverse_payment(
    tx: &mut sqlx::Transaction<'static, Db>,
    payment_id: i64,
    kind: EntryKind,
    by: i64,
    memo: &str,
    now: i64,
) -> StoreResult<i64> {
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
    let entry = entry_of(tx, original_id).await?.reversal(kind);
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
    Ok(entry_id)
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
        let entry = reverse_payment(
            &mut tx,
            rev.payment_id,
            EntryKind::Void,
            by,
            &rev.reason,
            now,
        )
        .await?;
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
        let entry = reverse_payment(
            &mut tx,
            rev.payment_id,
            EntryKind::Refund,
            by,
            &rev.reason,
            now,
        )
        .await?;
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
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    Ok(r.is_some())
}

pub(crate) async fn release_job(pool: &Pool<Db>, name: &str, holder: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM job_leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(pool)
        .await
        .map_err(db_err)?;
    Ok(())
}
