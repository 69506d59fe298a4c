//! Notice settings, notices (with their outbox message) and disputes.

use super::{col, db_err, write_tx, writer};
use crate::Db;
type DbRow = <Db as sqlx::Database>::Row;
use doorstep_domain::{DomainError, ObjectKind};
use doorstep_store::*;
use sqlx::Pool;

type Row = <Db as sqlx::Database>::Row;

fn hhmm(field: &'static str, s: &str) -> StoreResult<String> {
    let t = s.trim();
    let ok = t.len() == 5
        && t.as_bytes()[2] == b':'
        && t[..2].parse::<u8>().is_ok_and(|h| h < 24)
        && t[3..].parse::<u8>().is_ok_and(|m| m < 60);
    if !ok {
        return Err(DomainError::invalid(field, format!("a time is HH:MM, got {s:?}")).into());
    }
    Ok(t.to_string())
}

pub(crate) async fn notice_settings(
    pool: &Pool<Db>,
    estate_id: i64,
) -> StoreResult<NoticeSettings> {
    let r = sqlx::query("SELECT * FROM notice_settings WHERE estate_id = $1")
        .bind(estate_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    let Some(r) = r else {
        return Ok(NoticeSettings::default());
    };
    Ok(NoticeSettings {
        contract_basis: col(&r, "contract_basis")?,
        office_phone: col(&r, "office_phone")?,
        quiet_from: col(&r, "quiet_from")?,
        quiet_until: col(&r, "quiet_until")?,
        min_days: col(&r, "min_days")?,
        max_per_month: col(&r, "max_per_month")?,
    })
}

pub(crate) async fn set_notice_settings(
    pool: &Pool<Db>,
    estate_id: i64,
    s: &NoticeSettings,
) -> StoreResult<()> {
    let from = hhmm("quiet_from", &s.quiet_from)?;
    let until = hhmm("quiet_until", &s.quiet_until)?;
    if !(1..=90).contains(&s.min_days) {
        return Err(DomainError::invalid("min_days", "between 1 and 90 days").into());
    }
    if !(1..=10).contains(&s.max_per_month) {
        return Err(DomainError::invalid("max_per_month", "between 1 and 10").into());
    }
    if s.contract_basis.chars().count() > 100 || s.office_phone.chars().count() > 40 {
        return Err(DomainError::invalid(
            "contract_basis",
            "the contract clause is at most 100 characters, the phone 40",
        )
        .into());
    }
    sqlx::query("INSERT INTO notice_settings (estate_id, contract_basis, office_phone, quiet_from, quiet_until, min_days, max_per_month) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (estate_id) DO UPDATE SET contract_basis = $2, office_phone = $3, quiet_from = $4, quiet_until = $5, min_days = $6, max_per_month = $7")
        .bind(estate_id)
        .bind(s.contract_basis.trim())
        .bind(s.office_phone.trim())
        .bind(from)
        .bind(until)
        .bind(s.min_days)
        .bind(s.max_per_month)
        .execute(&writer(pool))
        .await
        .map_err(db_err)?;
    Ok(())
}

const NOTICE_COLS: &str = "n.id, n.estate_id, n.object_kind, n.object_id, n.channel, n.recipient, n.body, n.amount_fen, n.message_id, n.created_by, n.created_at, n.due_at, o.sent_at, o.cancelled_at";

fn notice_row(r: &Row) -> StoreResult<Notice> {
    Ok(Notice {
        id: col(r, "id")?,
        estate_id: col(r, "estate_id")?,
        object_kind: col(r, "object_kind")?,
        object_id: col(r, "object_id")?,
        channel: col(r, "channel")?,
        recipient: col(r, "recipient")?,
        body: col(r, "body")?,
        amount: doorstep_domain::Fen(col(r, "amount_fen")?),
        message_id: col(r, "message_id")?,
        created_by: col(r, "created_by")?,
        created_at: col(r, "created_at")?,
        due_at: col(r, "due_at")?,
        sent_at: col(r, "sent_at")?,
        cancelled_at: col(r, "cancelled_at")?,
    })
}

pub(crate) async fn record_notice(pool: &Pool<Db>, n: &NewNotice) -> StoreResult<Notice> {
    if !["sms", "wechat", "print"].contains(&n.channel.as_str()) {
        return Err(DomainError::invalid("channel", "sms, wechat or print").into());
    }
    if n.amount.0 <= 0 {
        return Err(DomainError::invalid("amount", "a notice asks for more than 0").into());
    }
    let mut tx = write_tx(pool).await?;
    let message_id = if n.queue && n.channel != "print" {
        Some(
            super::booking::enqueue_tx(
                &mut tx,
                &NewMessage {
                    estate_id: Some(n.estate_id),
                    channel: n.channel.clone(),
                    recipient: n.recipient.clone(),
                    kind: "overdue".into(),
                    body: n.body.clone(),
                    due_at: n.due_at,
                },
                None,
                n.at,
            )
            .await?,
        )
    } else {
        None
    };
    let r = sqlx::query("INSERT INTO notices (estate_id, object_kind, object_id, channel, recipient, body, amount_fen, message_id, local_day, created_by, created_at, due_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id")
        .bind(n.estate_id)
        .bind(n.object.0.code())
        .bind(n.object.1)
        .bind(&n.channel)
        .bind(&n.recipient)
        .bind(&n.body)
        .bind(n.amount.0)
        .bind(message_id)
        .bind(&n.local_day)
        .bind(n.created_by)
        .bind(n.at)
        .bind(n.due_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match db_err(e) {
            StoreError::Conflict(_) => StoreError::Conflict(
                "this room or space already had a notice by this channel to this recipient today"
                    .into(),
            ),
            other => other,
        })?;
    let id: i64 = col(&r, "id")?;
    let row = sqlx::query(&format!(
        "SELECT {NOTICE_COLS} FROM notices n LEFT JOIN outbox o ON o.id = n.message_id WHERE n.id = $1"
    ))
    .bind(id)
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let out = notice_row(&row)?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

pub(crate) async fn notices(
    pool: &Pool<Db>,
    estate_id: i64,
    object: Option<(ObjectKind, i64)>,
    limit: i64,
) -> StoreResult<Vec<Notice>> {
    let rows = sqlx::query(&format!(
        "SELECT {NOTICE_COLS} FROM notices n LEFT JOIN outbox o ON o.id = n.message_id \
         WHERE n.estate_id = $1 AND ($2 IS NULL OR (n.object_kind = $2 AND n.object_id = $3)) ORDER BY n.id DESC LIMIT $4"
    ))
    .bind(estate_id)
    .bind(object.map(|o| o.0.code()))
    .bind(object.map(|o| o.1))
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter().map(notice_row).collect()
}

fn dispute_row(r: &Row) -> StoreResult<Dispute> {
    let kind: Option<String> = col(r, "object_kind")?;
    let id: Option<i64> = col(r, "object_id")?;
    Ok(Dispute {
        id: col(r, "id")?,
        estate_id: col(r, "estate_id")?,
        object: kind.zip(id),
        owner: col(r, "owner")?,
        topic: col(r, "topic")?,
        outcome: col(r, "outcome")?,
        status: col(r, "status")?,
        created_at: col(r, "created_at")?,
        closed_at: col(r, "closed_at")?,
    })
}

pub(crate) async fn open_dispute(
    pool: &Pool<Db>,
    estate_id: i64,
    object: Option<(ObjectKind, i64)>,
    owner: &str,
    topic: &str,
    by: Option<i64>,
    at: i64,
) -> StoreResult<Dispute> {
    if owner.trim().is_empty() || owner.chars().count() > 100 {
        return Err(DomainError::invalid("owner", "who raised it (1–100 characters)").into());
    }
    if topic.trim().is_empty() || topic.chars().count() > 500 {
        return Err(DomainError::invalid("topic", "what it is about (1–500 characters)").into());
    }
    // The room/space must be the estate's: checked by the INSERT itself,
    // so a foreign id writes nothing.
    let r = sqlx::query("INSERT INTO disputes (estate_id, object_kind, object_id, owner, topic, created_by, created_at) \
                         SELECT $1, $2, $3, $4, $5, $6, $7 WHERE $2 IS NULL \
                         OR ($2 = 'room' AND EXISTS (SELECT 1 FROM rooms WHERE id = $3 AND estate_id = $1)) \
                         OR ($2 = 'space' AND EXISTS (SELECT 1 FROM spaces WHERE id = $3 AND estate_id = $1)) RETURNING *")
        .bind(estate_id)
        .bind(object.map(|o| o.0.code()))
        .bind(object.map(|o| o.1))
        .bind(owner.trim())
        .bind(topic.trim())
        .bind(by)
        .bind(at)
        .fetch_optional(&writer(pool))
        .await
        .map_err(db_err)?
        .ok_or_else(|| match object {
            Some((kind, id)) => StoreError::NotFound(format!("{} {id} in this estate", kind.code())),
            None => StoreError::NotFound("estate".into()),
        })?;
    dispute_row(&r)
}

pub(crate) async fn close_dispute(
    pool: &Pool<Db>,
    estate_id: i64,
    id: i64,
    outcome: &str,
    at: i64,
) -> StoreResult<Dispute> {
    if outcome.trim().is_empty() || outcome.chars().count() > 500 {
        return Err(DomainError::invalid("outcome", "how it ended (1–500 characters)").into());
    }
    let r = sqlx::query("UPDATE disputes SET status = 'closed', outcome = $2, closed_at = $3 WHERE id = $1 AND estate_id = $4 AND status = 'open' RETURNING *")
        .bind(id)
        .bind(outcome.trim())
        .bind(at)
        .bind(estate_id)
        .fetch_optional(&writer(pool))
        .await
        .map_err(db_err)?;
    if let Some(r) = r {
        return dispute_row(&r);
    }
    let exists = sqlx::query("SELECT 1 FROM disputes WHERE id = $1 AND estate_id = $2")
        .bind(id)
        .bind(estate_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    Err(match exists {
        Some(_) => StoreError::Conflict(format!("dispute {id} is already closed")),
        None => StoreError::NotFound(format!("dispute {id}")),
    })
}

pub(crate) async fn disputes(pool: &Pool<Db>, estate_id: i64) -> StoreResult<Vec<Dispute>> {
    let rows = sqlx::query("SELECT * FROM disputes WHERE estate_id = $1 ORDER BY id DESC")
        .bind(estate_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    rows.iter().map(dispute_row).collect()
}

pub(crate) async fn report_lines(
    pool: &Pool<Db>,
    estate_id: i64,
    up_to: &str,
) -> StoreResult<Vec<ReportLine>> {
    let rows = sqlx::query(
        "SELECT l.id, l.object_kind, l.object_id, f.name AS item, l.period, l.amount_fen, l.status, l.paid_principal_fen, b.name AS building \
         FROM bill_lines l JOIN fee_items f ON f.id = l.fee_item_id \
         LEFT JOIN rooms r ON l.object_kind = 'room' AND r.id = l.object_id \
         LEFT JOIN buildings b ON b.id = r.building_id \
         WHERE l.estate_id = $1 AND l.period <= $2 ORDER BY l.id",
    )
    .bind(estate_id)
    .bind(up_to)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    let pays = sqlx::query(
        "SELECT a.line_id, p.paid_on, a.principal_fen FROM payment_allocations a JOIN payments p ON p.id = a.payment_id \
         JOIN bill_lines l ON l.id = a.line_id WHERE l.estate_id = $1 AND l.period <= $2 AND p.status = 'posted' AND a.principal_fen > 0",
    )
    .bind(estate_id)
    .bind(up_to)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    let mut paid: std::collections::HashMap<
        i64,
        Vec<(doorstep_domain::Date, doorstep_domain::Fen)>,
    > = std::collections::HashMap::new();
    for p in &pays {
        let on: String = col(p, "paid_on")?;
        paid.entry(col(p, "line_id")?).or_default().push((
            super::parse_date(&on)?,
            doorstep_domain::Fen(col(p, "principal_fen")?),
        ));
    }
    rows.iter()
        .map(|r| {
            let id: i64 = col(r, "id")?;
            let kind: String = col(r, "object_kind")?;
            let amount = doorstep_domain::Fen(col(r, "amount_fen")?);
            let status: String = col(r, "status")?;
            let waived = if status == "waived" {
                amount - doorstep_domain::Fen(col(r, "paid_principal_fen")?)
            } else {
                doorstep_domain::Fen::ZERO
            };
            Ok(ReportLine {
                line_id: id,
                object: (
                    ObjectKind::from_code(&kind)
                        .map_err(|e| StoreError::Database(format!("stored object kind: {e}")))?,
                    col(r, "object_id")?,
                ),
                building: col(r, "building")?,
                item: col(r, "item")?,
                period: col(r, "period")?,
                amount,
                waived,
                paid: paid.remove(&id).unwrap_or_default(),
            })
        })
        .collect()
}

fn total_row(r: &DbRow) -> StoreResult<TotalRow> {
    Ok(TotalRow {
        estate_id: col(r, "estate_id")?,
        dim: col(r, "dim")?,
        key: col(r, "key")?,
        period: col(r, "period")?,
        paid_month: col(r, "paid_month")?,
        fen: col(r, "fen")?,
    })
}

/// The estates a scope covers, and the groups it reads.
fn scope_filter(scope: ReportScope, estate_col: &str, dim_col: &str) -> (String, i64) {
    match scope {
        ReportScope::Estate(id) => (format!("{estate_col} = $1"), id),
        ReportScope::Company(id) => (
            format!(
                "{dim_col} = 0 AND {estate_col} IN (SELECT id FROM estates WHERE company_id = $1)"
            ),
            id,
        ),
    }
}

pub(crate) async fn report_totals(
    pool: &Pool<Db>,
    scope: ReportScope,
) -> StoreResult<Vec<TotalRow>> {
    let (filter, id) = scope_filter(scope, "estate_id", "dim");
    sqlx::query(&format!(
        "SELECT estate_id, CAST(dim AS BIGINT) AS dim, key, period, CAST(NULL AS TEXT) AS paid_month, due_fen AS fen FROM report_due WHERE {filter} \
         UNION ALL SELECT estate_id, CAST(dim AS BIGINT) AS dim, key, line_period AS period, paid_month, paid_fen AS fen FROM report_paid WHERE {filter}"
    ))
    .bind(id)
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(total_row)
    .collect()
}

pub(crate) async fn report_paid_between(
    pool: &Pool<Db>,
    scope: ReportScope,
    after: &str,
    until: &str,
) -> StoreResult<Vec<TotalRow>> {
    let (filter, id) = scope_filter(scope, "p.estate_id", "d.dim");
    sqlx::query(&format!(
        "SELECT l.estate_id, CAST(d.dim AS BIGINT) AS dim, \
         CAST(CASE d.dim WHEN 0 THEN 0 WHEN 1 THEN COALESCE(r.building_id, 0) ELSE l.fee_item_id END AS BIGINT) AS key, \
         l.period, substr(p.paid_on, 1, 7) AS paid_month, CAST(SUM(a.principal_fen) AS BIGINT) AS fen \
         FROM payments p JOIN payment_allocations a ON a.payment_id = p.id JOIN bill_lines l ON l.id = a.line_id \
         CROSS JOIN (SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2) d \
         LEFT JOIN rooms r ON l.object_kind = 'room' AND r.id = l.object_id \
         WHERE {filter} AND p.paid_on > $2 AND p.paid_on <= $3 AND p.status = 'posted' AND a.principal_fen <> 0 \
         GROUP BY l.estate_id, d.dim, 3, l.period, 5"
    ))
    .bind(id)
    .bind(after)
    .bind(until)
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(total_row)
    .collect()
}

pub(crate) async fn operations_figures(
    pool: &Pool<Db>,
    scope: ReportScope,
    from: i64,
    to: i64,
) -> StoreResult<Vec<OperationsRow>> {
    let (filter, id) = match scope {
        ReportScope::Estate(id) => ("e.id = $1", id),
        ReportScope::Company(id) => ("e.company_id = $1", id),
    };
    // Cash accounts are `cash:<user>`: a key range of the balances.
    sqlx::query(&format!(
        "SELECT e.id AS estate_id, \
         CAST(COALESCE((SELECT SUM(b.balance_fen) FROM ledger_balances b WHERE b.estate_id = e.id AND b.account >= 'cash:' AND b.account < 'cash;'), 0) AS BIGINT) AS cash_held, \
         (SELECT COUNT(*) FROM ledger_balances b WHERE b.estate_id = e.id AND b.account >= 'cash:' AND b.account < 'cash;' AND b.balance_fen <> 0) AS holding, \
         (SELECT COUNT(*) FROM shifts s WHERE s.estate_id = e.id AND s.status = 'closed') AS handovers, \
         (SELECT COUNT(*) FROM disputes d WHERE d.estate_id = e.id AND d.created_at >= $2 AND d.created_at < $3) AS opened, \
         (SELECT COUNT(*) FROM disputes d WHERE d.estate_id = e.id AND d.closed_at >= $2 AND d.closed_at < $3) AS closed, \
         (SELECT COUNT(*) FROM disputes d WHERE d.estate_id = e.id AND d.status = 'open') AS open_now \
         FROM estates e WHERE {filter} ORDER BY e.id"
    ))
    .bind(id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(|r| {
        Ok(OperationsRow {
            estate_id: col(r, "estate_id")?,
            cash_held: col(r, "cash_held")?,
            collectors_holding: col(r, "holding")?,
            handovers_pending: col(r, "handovers")?,
            disputes_opened: col(r, "opened")?,
            disputes_closed: col(r, "closed")?,
            disputes_open: col(r, "open_now")?,
        })
    })
    .collect()
}

pub(crate) async fn latest_mismatches(
    pool: &Pool<Db>,
    company_id: i64,
) -> StoreResult<Vec<(i64, i64)>> {
    sqlx::query(
        "SELECT m.estate_scope, r.mismatches FROM merchants m \
         JOIN reconciliations r ON r.id = (SELECT MAX(x.id) FROM reconciliations x WHERE x.merchant_ref = m.id) \
         WHERE m.company_id = $1",
    )
    .bind(company_id)
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(|r| Ok((col(r, "estate_scope")?, col(r, "mismatches")?)))
    .collect()
}

pub(crate) async fn ledger_balances(
    pool: &Pool<Db>,
    estate_id: Option<i64>,
) -> StoreResult<Vec<(i64, String, i64)>> {
    sqlx::query("SELECT estate_id, account, balance_fen FROM ledger_balances WHERE ($1 IS NULL OR estate_id = $1) ORDER BY estate_id, account")
        .bind(estate_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| Ok((col(r, "estate_id")?, col(r, "account")?, col(r, "balance_fen")?)))
        .collect()
}

pub(crate) async fn visit_rows(
    pool: &Pool<Db>,
    estate_id: i64,
    from: &str,
    to: &str,
) -> StoreResult<Vec<VisitRow>> {
    let rows = sqlx::query(
        "SELECT b.id, b.collector_id, u.display_name, b.day, b.slot_start, b.slot_end, b.updated_at, \
         (SELECT MIN(c.recorded_at) FROM checkins c WHERE c.booking_id = b.id) AS arrived_at, \
         (SELECT COUNT(*) FROM booking_targets t WHERE t.booking_id = b.id) AS households \
         FROM bookings b JOIN users u ON u.id = b.collector_id \
         WHERE b.estate_id = $1 AND b.day >= $2 AND b.day <= $3 AND b.visit_result IS NOT NULL ORDER BY b.day, b.slot_start, b.id",
    )
    .bind(estate_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(VisitRow {
                booking_id: col(r, "id")?,
                collector_id: col(r, "collector_id")?,
                collector: col(r, "display_name")?,
                day: col(r, "day")?,
                slot_start: col(r, "slot_start")?,
                slot_end: col(r, "slot_end")?,
                arrived_at: col(r, "arrived_at")?,
                finished_at: Some(col(r, "updated_at")?),
                households: col(r, "households")?,
            })
        })
        .collect()
}
