//! Changes to bill lines: waivers, disputes and payments.

use super::billing::{fetch_lines, line_by_id};
use super::{col, db_err, write_tx};
use crate::Db;
use doorstep_domain::{Date, DomainError, Fen, LineAllocation, OpenLine, allocate};
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
    line_id: i64,
    act: &StaffAct,
) -> StoreResult<BillLine> {
    check_reason(act)?;
    let line = line_by_id(pool, line_id).await?;
    if !line.policy.enabled {
        return Err(StoreError::Conflict(format!(
            "bill line {line_id} has no late fee to waive"
        )));
    }
    let n = sqlx::query("UPDATE bill_lines SET late_waived_reason = $2, late_waived_by = $3, late_waived_at = $4 WHERE id = $1 AND late_waived_reason IS NULL")
        .bind(line_id)
        .bind(act.reason.trim())
        .bind(act.user_id)
        .bind(act.at)
        .execute(pool)
        .await
        .map_err(db_err)?
        .rows_affected();
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "the late fee of bill line {line_id} is already waived"
        )));
    }
    line_by_id(pool, line_id).await
}

pub(crate) async fn waive_line(
    pool: &Pool<Db>,
    line_id: i64,
    act: &StaffAct,
) -> StoreResult<BillLine> {
    check_reason(act)?;
    line_by_id(pool, line_id).await?;
    let n = sqlx::query(
        "UPDATE bill_lines SET status = 'waived', line_waived_reason = $2, line_waived_by = $3, line_waived_at = $4 WHERE id = $1 AND status IN ('unpaid', 'partly_paid')",
    )
    .bind(line_id)
    .bind(act.reason.trim())
    .bind(act.user_id)
    .bind(act.at)
    .execute(pool)
    .await
    .map_err(db_err)?
    .rows_affected();
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "bill line {line_id} is already paid or waived"
        )));
    }
    line_by_id(pool, line_id).await
}

pub(crate) async fn set_dispute(
    pool: &Pool<Db>,
    line_id: i64,
    disputed: bool,
    on: Date,
    act: &StaffAct,
) -> StoreResult<BillLine> {
    check_reason(act)?;
    let line = line_by_id(pool, line_id).await?;
    if disputed {
        if line.disputed_since.is_some() {
            return Err(StoreError::Conflict(format!(
                "bill line {line_id} is already disputed"
            )));
        }
        sqlx::query("UPDATE bill_lines SET disputed_since = $2, disputed_by = $3, disputed_reason = $4 WHERE id = $1")
            .bind(line_id)
            .bind(on.to_string())
            .bind(act.user_id)
            .bind(act.reason.trim())
            .execute(pool)
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
        sqlx::query("UPDATE bill_lines SET disputed_since = NULL, disputed_by = NULL, disputed_reason = NULL, checkpoint_date = $2, checkpoint_fen = $3 WHERE id = $1")
            .bind(line_id)
            .bind(on.to_string())
            .bind(frozen.0)
            .execute(pool)
            .await
            .map_err(db_err)?;
    }
    line_by_id(pool, line_id).await
}

async fn replay(pool: &Pool<Db>, key: &str) -> StoreResult<Option<PaymentRecord>> {
    let Some(row) = sqlx::query("SELECT id, amount_fen FROM payments WHERE idempotency_key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let id: i64 = col(&row, "id")?;
    let allocs = sqlx::query("SELECT line_id, late_fee_fen, principal_fen FROM payment_allocations WHERE payment_id = $1 ORDER BY line_id")
        .bind(id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    Ok(Some(PaymentRecord {
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
    }))
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
    if let Some(key) = &p.idempotency_key
        && let Some(r) = replay(pool, key).await?
    {
        return Ok(r);
    }
    match record_payment_tx(pool, p).await {
        // A concurrent retry with the same key won the race: return its record.
        Err(StoreError::Conflict(m)) if m.contains("idempotency") => match &p.idempotency_key {
            Some(key) => replay(pool, key).await?.ok_or(StoreError::Conflict(m)),
            None => Err(StoreError::Conflict(m)),
        },
        other => other,
    }
}

async fn record_payment_tx(pool: &Pool<Db>, p: &NewPayment) -> StoreResult<PaymentRecord> {
    let mut tx = write_tx(pool).await?;
    let q = LineQuery {
        estate_id: p.estate_id,
        open_only: true,
        objects: p.objects.clone(),
        line_ids: p.line_ids.clone(),
        period: None,
    };
    let lines = fetch_lines(&mut tx, &q, true).await?;
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
    if owed.0 == 0 {
        return Err(StoreError::Conflict(
            "nothing is owed on the lines named".into(),
        ));
    }
    if p.amount > owed {
        return Err(StoreError::Conflict(format!(
            "the amount {} is more than what is owed ({owed})",
            p.amount
        )));
    }
    let alloc = allocate(p.amount, &open);
    let row = sqlx::query("INSERT INTO payments (estate_id, method, amount_fen, paid_on, paid_at, recorded_by, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
        .bind(p.estate_id)
        .bind(&p.method)
        .bind(p.amount.0)
        .bind(p.paid_on.to_string())
        .bind(p.at)
        .bind(p.recorded_by)
        .bind(p.idempotency_key.as_deref())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    let payment_id: i64 = col(&row, "id")?;
    for a in &alloc.lines {
        let Some(line) = lines.iter().find(|l| l.id == a.line_id) else {
            continue;
        };
        let paid = line.paid_principal + a.principal;
        let status = LineStatus::from_paid(line.amount, paid);
        // Fix the late fee accrued up to the payment so later accrual uses the new principal.
        let checkpoint = line.late_fee(p.paid_on).map(|c| c.total);
        sqlx::query(
            "UPDATE bill_lines SET paid_principal_fen = paid_principal_fen + $2, late_fee_paid_fen = late_fee_paid_fen + $3, status = $4, \
             checkpoint_date = CASE WHEN $5 THEN $6 ELSE checkpoint_date END, checkpoint_fen = CASE WHEN $5 THEN $7 ELSE checkpoint_fen END WHERE id = $1",
        )
        .bind(a.line_id)
        .bind(a.principal.0)
        .bind(a.late_fee.0)
        .bind(status.code())
        .bind(checkpoint.is_some())
        .bind(p.paid_on.to_string())
        .bind(checkpoint.unwrap_or(Fen::ZERO).0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query("INSERT INTO payment_allocations (payment_id, line_id, late_fee_fen, principal_fen) VALUES ($1, $2, $3, $4)")
            .bind(payment_id)
            .bind(a.line_id)
            .bind(a.late_fee.0)
            .bind(a.principal.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(PaymentRecord {
        id: payment_id,
        amount: p.amount,
        allocation: alloc.lines,
        replayed: false,
    })
}
