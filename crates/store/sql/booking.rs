//! Bookings, slot places, dispatch sessions, estate models, owner sign-in
//! codes and sessions, and the outbox.
//!
//! A slot is never oversold: a booking takes its place with one conditional
//! `UPDATE … SET taken = taken + 1 WHERE taken < capacity` inside the
//! booking's transaction. On PostgreSQL the row lock makes a concurrent
//! booking wait and then re-check the condition; on SQLite the write
//! transaction holds the database. A room or space is in at most one open
//! booking: a partial unique index says so.

use super::{col, db_err, parse_date, write_tx, writer};
use crate::{Db, ROW_LOCK};
use doorstep_domain::booking::parse_windows;
use doorstep_domain::{
    BookingRules, BookingStatus, Date, DayRule, DomainError, ObjectKind, VisitResult, Window,
};
use doorstep_store::*;
use sqlx::{Pool, Transaction};
use std::collections::HashMap;

type DbRow = <Db as sqlx::Database>::Row;

fn hhmm(t: jiff::civil::Time) -> String {
    doorstep_domain::booking::hhmm(t)
}

fn window(a: &str, b: &str) -> StoreResult<Window> {
    parse_windows("window", &format!("{a}-{b}"))?
        .pop()
        .ok_or_else(|| StoreError::Database(format!("bad stored window {a}-{b}")))
}

fn booking_from(row: &DbRow, targets: Vec<(ObjectKind, i64)>) -> StoreResult<Booking> {
    let result: Option<String> = col(row, "visit_result")?;
    Ok(Booking {
        id: col(row, "id")?,
        estate_id: col(row, "estate_id")?,
        owner_id: col(row, "owner_id")?,
        owner_name: col(row, "owner_name")?,
        phone: col(row, "phone")?,
        contact_phone: col(row, "contact_phone")?,
        day: parse_date(&col::<String>(row, "day")?)?,
        slot: window(
            &col::<String>(row, "slot_start")?,
            &col::<String>(row, "slot_end")?,
        )?,
        window: window(
            &col::<String>(row, "window_start")?,
            &col::<String>(row, "window_end")?,
        )?,
        starts_at: col(row, "starts_at")?,
        session_at: col(row, "session_at")?,
        status: BookingStatus::from_code(&col::<String>(row, "status")?)?,
        pays_cash: col(row, "pays_cash")?,
        call_first: col(row, "call_first")?,
        note: col(row, "note")?,
        booked_by_user: col(row, "booked_by_user")?,
        collector_id: col(row, "collector_id")?,
        eta: col(row, "eta")?,
        route_seq: col(row, "route_seq")?,
        call_attempts: col(row, "call_attempts")?,
        visit_result: result.as_deref().map(VisitResult::from_code).transpose()?,
        visit_reason: col(row, "visit_reason")?,
        rescheduled_from: col(row, "rescheduled_from")?,
        targets,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
    })
}

const SELECT_BOOKING: &str =
    "SELECT b.*, o.name AS owner_name FROM bookings b JOIN owners o ON o.id = b.owner_id";

async fn targets_of<'e, E>(ex: E, ids: &[i64]) -> StoreResult<HashMap<i64, Vec<(ObjectKind, i64)>>>
where
    E: sqlx::Executor<'e, Database = Db>,
{
    let mut out: HashMap<i64, Vec<(ObjectKind, i64)>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let rows = sqlx::query(&format!(
        "SELECT booking_id, kind, object_id FROM booking_targets WHERE booking_id IN ({list}) ORDER BY kind, object_id"
    ))
    .fetch_all(ex)
    .await
    .map_err(db_err)?;
    for r in &rows {
        let kind = ObjectKind::from_code(&col::<String>(r, "kind")?)?;
        out.entry(col(r, "booking_id")?)
            .or_default()
            .push((kind, col(r, "object_id")?));
    }
    Ok(out)
}

async fn load_booking(tx: &mut Transaction<'static, Db>, id: i64) -> StoreResult<Booking> {
    let row = sqlx::query(&format!("{SELECT_BOOKING} WHERE b.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound(format!("booking {id}")))?;
    let mut t = targets_of(&mut **tx, &[id]).await?;
    booking_from(&row, t.remove(&id).unwrap_or_default())
}

pub(crate) async fn booking(pool: &Pool<Db>, id: i64) -> StoreResult<Booking> {
    let row = sqlx::query(&format!("{SELECT_BOOKING} WHERE b.id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound(format!("booking {id}")))?;
    let mut t = targets_of(pool, &[id]).await?;
    booking_from(&row, t.remove(&id).unwrap_or_default())
}

pub(crate) async fn bookings(pool: &Pool<Db>, q: &BookingQuery) -> StoreResult<Vec<Booking>> {
    if q.estate_id.is_none() && q.phone.is_none() {
        return Err(DomainError::invalid("estate", "name an estate or a phone").into());
    }
    let mut sql = format!("{SELECT_BOOKING} WHERE 1 = 1");
    let mut n = 0;
    let mut next = || {
        n += 1;
        format!("${n}")
    };
    if q.estate_id.is_some() {
        sql += &format!(" AND b.estate_id = {}", next());
    }
    if q.phone.is_some() {
        sql += &format!(" AND b.phone = {}", next());
    }
    if q.company_id.is_some() {
        sql += &format!(
            " AND b.estate_id IN (SELECT id FROM estates WHERE company_id = {})",
            next()
        );
    }
    if q.session_at.is_some() {
        sql += &format!(" AND b.session_at = {}", next());
    }
    if q.from.is_some() {
        sql += &format!(" AND b.starts_at >= {}", next());
    }
    if q.to.is_some() {
        sql += &format!(" AND b.starts_at < {}", next());
    }
    if q.collector_id.is_some() {
        sql += &format!(" AND b.collector_id = {}", next());
    }
    if !q.statuses.is_empty() {
        let list = q
            .statuses
            .iter()
            .map(|s| format!("'{}'", s.code()))
            .collect::<Vec<_>>()
            .join(",");
        sql += &format!(" AND b.status IN ({list})");
    }
    let limit = if q.limit <= 0 { 500 } else { q.limit.min(5000) };
    sql += &format!(" ORDER BY b.starts_at, b.route_seq, b.id LIMIT {limit}");
    let mut query = sqlx::query(&sql);
    if let Some(e) = q.estate_id {
        query = query.bind(e);
    }
    if let Some(p) = &q.phone {
        query = query.bind(p.clone());
    }
    if let Some(c) = q.company_id {
        query = query.bind(c);
    }
    if let Some(s) = q.session_at {
        query = query.bind(s);
    }
    if let Some(f) = q.from {
        query = query.bind(f);
    }
    if let Some(t) = q.to {
        query = query.bind(t);
    }
    if let Some(c) = q.collector_id {
        query = query.bind(c);
    }
    let rows = query.fetch_all(pool).await.map_err(db_err)?;
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| col(r, "id"))
        .collect::<StoreResult<_>>()?;
    let mut targets = targets_of(pool, &ids).await?;
    rows.iter()
        .map(|r| {
            let id: i64 = col(r, "id")?;
            booking_from(r, targets.remove(&id).unwrap_or_default())
        })
        .collect()
}

pub(crate) async fn booking_events(pool: &Pool<Db>, id: i64) -> StoreResult<Vec<BookingEvent>> {
    let rows = sqlx::query(
        "SELECT e.*, COALESCE(u.display_name, '') AS actor_name FROM booking_events e \
         LEFT JOIN users u ON u.id = e.actor_user WHERE e.booking_id = $1 ORDER BY e.id",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            let from: Option<String> = col(r, "from_status")?;
            let kind: String = col(r, "actor_kind")?;
            let actor = match kind.as_str() {
                "owner" => Actor::Owner {
                    phone: col(r, "actor_phone")?,
                },
                "staff" => Actor::Staff {
                    user_id: col::<Option<i64>>(r, "actor_user")?.unwrap_or(0),
                },
                _ => Actor::System,
            };
            Ok(BookingEvent {
                at: col(r, "at")?,
                from: from.as_deref().map(BookingStatus::from_code).transpose()?,
                to: BookingStatus::from_code(&col::<String>(r, "to_status")?)?,
                actor,
                actor_name: col(r, "actor_name")?,
                detail: col(r, "detail")?,
            })
        })
        .collect()
}

async fn event(
    tx: &mut Transaction<'static, Db>,
    booking_id: i64,
    at: i64,
    from: Option<BookingStatus>,
    to: BookingStatus,
    actor: &Actor,
    detail: &str,
) -> StoreResult<()> {
    let (kind, user, phone) = actor.parts();
    sqlx::query("INSERT INTO booking_events (booking_id, at, from_status, to_status, actor_kind, actor_user, actor_phone, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(booking_id)
        .bind(at)
        .bind(from.map(|s| s.code()))
        .bind(to.code())
        .bind(kind)
        .bind(user)
        .bind(phone)
        .bind(detail)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

fn validate_new(b: &NewBooking) -> StoreResult<()> {
    if b.targets.is_empty() {
        return Err(DomainError::invalid("targets", "choose at least one room or space").into());
    }
    if b.note.chars().count() > 500 {
        return Err(DomainError::invalid("note", "the note is at most 500 characters").into());
    }
    if b.capacity < 0 {
        return Err(DomainError::invalid("capacity", "capacity cannot be negative").into());
    }
    Ok(())
}

/// Creates a booking inside `tx`: owner holds every target, a place is
/// free, no target is in another open booking.
/// Returns the new id.
async fn insert_booking(tx: &mut Transaction<'static, Db>, b: &NewBooking) -> StoreResult<i64> {
    validate_new(b)?;
    if b.capacity <= 0 {
        return Err(StoreError::SlotFull);
    }
    // One statement: the first booking creates the row with one place
    // taken; later ones take a place only while one is free (the update's
    // condition is checked under the row's lock).
    let took = sqlx::query(
        "INSERT INTO slot_places (estate_id, starts_at, taken) VALUES ($1, $2, 1) \
         ON CONFLICT (estate_id, starts_at) DO UPDATE SET taken = slot_places.taken + 1 \
         WHERE slot_places.taken < $3",
    )
    .bind(b.estate_id)
    .bind(b.starts_at)
    .bind(b.capacity)
    .execute(&mut **tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    if took == 0 {
        return Err(StoreError::SlotFull);
    }
    let status = if b.call_first {
        BookingStatus::AwaitingCall
    } else {
        BookingStatus::Requested
    };
    let row = sqlx::query(
        "INSERT INTO bookings (estate_id, owner_id, phone, contact_phone, day, slot_start, slot_end, window_start, window_end, starts_at, session_at, status, pays_cash, call_first, note, booked_by_user, rescheduled_from, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18) RETURNING id",
    )
    .bind(b.estate_id)
    .bind(b.owner_id)
    .bind(&b.phone)
    .bind(&b.contact_phone)
    .bind(b.day.to_string())
    .bind(hhmm(b.slot.start))
    .bind(hhmm(b.slot.end))
    .bind(hhmm(b.window.start))
    .bind(hhmm(b.window.end))
    .bind(b.starts_at)
    .bind(b.session_at)
    .bind(status.code())
    .bind(b.pays_cash)
    .bind(b.call_first)
    .bind(b.note.trim())
    .bind(match b.actor {
        Actor::Staff { user_id } => Some(user_id),
        _ => None,
    })
    .bind(b.rescheduled_from)
    .bind(b.now)
    .fetch_one(&mut **tx)
    .await
    .map_err(db_err)?;
    let id: i64 = col(&row, "id")?;
    // Each target goes in only if the owner holds it in this estate (checked
    // in the same statement, inside the transaction).
    for (kind, object) in &b.targets {
        let sql = match kind {
            ObjectKind::Room => {
                "INSERT INTO booking_targets (booking_id, kind, object_id, open) SELECT $1, 'room', $2, TRUE \
                 WHERE EXISTS (SELECT 1 FROM room_owners ro JOIN rooms r ON r.id = ro.room_id \
                 WHERE ro.room_id = $2 AND ro.owner_id = $3 AND r.estate_id = $4)"
            }
            ObjectKind::Space => {
                "INSERT INTO booking_targets (booking_id, kind, object_id, open) SELECT $1, 'space', $2, TRUE \
                 WHERE EXISTS (SELECT 1 FROM space_owners so JOIN spaces sp ON sp.id = so.space_id \
                 WHERE so.space_id = $2 AND so.owner_id = $3 AND sp.estate_id = $4)"
            }
        };
        let n = sqlx::query(sql)
            .bind(id)
            .bind(object)
            .bind(b.owner_id)
            .bind(b.estate_id)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "{} {object} of this owner",
                kind.code()
            )));
        }
    }
    let detail = match b.rescheduled_from {
        Some(old) => format!("rescheduled from booking {old}"),
        None => "booked".to_string(),
    };
    event(tx, id, b.now, None, status, &b.actor, &detail).await?;
    if let Some(m) = &b.reminder
        && m.due_at > b.now
    {
        enqueue_tx(tx, m, Some(id), b.now).await?;
    }
    Ok(id)
}

pub(crate) async fn create_booking(pool: &Pool<Db>, b: &NewBooking) -> StoreResult<Booking> {
    let mut tx = write_tx(pool).await?;
    let id = insert_booking(&mut tx, b).await?;
    tx.commit().await.map_err(db_err)?;
    // What was just written, without reading it back.
    let mut targets = b.targets.clone();
    targets.sort();
    Ok(Booking {
        id,
        estate_id: b.estate_id,
        owner_id: b.owner_id,
        owner_name: b.owner_name.clone(),
        phone: b.phone.clone(),
        contact_phone: b.contact_phone.clone(),
        day: b.day,
        slot: b.slot,
        window: b.window,
        starts_at: b.starts_at,
        session_at: b.session_at,
        status: if b.call_first {
            BookingStatus::AwaitingCall
        } else {
            BookingStatus::Requested
        },
        pays_cash: b.pays_cash,
        call_first: b.call_first,
        note: b.note.trim().to_string(),
        booked_by_user: match b.actor {
            Actor::Staff { user_id } => Some(user_id),
            _ => None,
        },
        collector_id: None,
        eta: None,
        route_seq: None,
        call_attempts: 0,
        visit_result: None,
        visit_reason: String::new(),
        rescheduled_from: b.rescheduled_from,
        targets,
        created_at: b.now,
        updated_at: b.now,
    })
}

/// Locks a booking row and returns its status and slot.
async fn lock_booking(
    tx: &mut Transaction<'static, Db>,
    id: i64,
) -> StoreResult<(BookingStatus, i64, i64)> {
    let row = sqlx::query(&format!(
        "SELECT status, estate_id, starts_at FROM bookings WHERE id = $1{ROW_LOCK}"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_err)?
    .ok_or_else(|| StoreError::NotFound(format!("booking {id}")))?;
    Ok((
        BookingStatus::from_code(&col::<String>(&row, "status")?)?,
        col(&row, "estate_id")?,
        col(&row, "starts_at")?,
    ))
}

fn check_from(
    id: i64,
    now: BookingStatus,
    from: &[BookingStatus],
    to: BookingStatus,
) -> StoreResult<()> {
    if !from.is_empty() && !from.contains(&now) {
        return Err(StoreError::Conflict(format!(
            "booking {id} is {}; it cannot become {} now",
            now.code(),
            to.code()
        )));
    }
    now.transition(to)
        .map_err(|e| StoreError::Conflict(e.to_string()))?;
    Ok(())
}

/// Frees what a closed booking held: its place (when cancelled or moved),
/// its rooms and spaces, its pending reminders.
async fn release(
    tx: &mut Transaction<'static, Db>,
    id: i64,
    estate_id: i64,
    starts_at: i64,
    to: BookingStatus,
    now: i64,
) -> StoreResult<()> {
    if matches!(to, BookingStatus::Cancelled | BookingStatus::Rescheduled) {
        sqlx::query("UPDATE slot_places SET taken = taken - 1 WHERE estate_id = $1 AND starts_at = $2 AND taken > 0")
            .bind(estate_id)
            .bind(starts_at)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
    }
    sqlx::query("UPDATE booking_targets SET open = FALSE WHERE booking_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    sqlx::query("UPDATE outbox SET cancelled_at = $2 WHERE booking_id = $1 AND kind = 'reminder' AND sent_at IS NULL AND cancelled_at IS NULL")
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn change_booking(pool: &Pool<Db>, c: &BookingChange) -> StoreResult<Booking> {
    let mut tx = write_tx(pool).await?;
    let (now_status, estate_id, starts_at) = lock_booking(&mut tx, c.booking_id).await?;
    check_from(c.booking_id, now_status, &c.from, c.to)?;
    if let Some((VisitResult::NotPaid, reason)) = &c.visit
        && reason.trim().is_empty()
    {
        return Err(DomainError::invalid("reason", "say why nothing was paid").into());
    }
    let unschedule = matches!(c.to, BookingStatus::Requested | BookingStatus::Confirmed);
    sqlx::query(
        "UPDATE bookings SET status = $2, updated_at = $3, call_attempts = call_attempts + $4, \
         visit_result = COALESCE($5, visit_result), visit_reason = COALESCE($6, visit_reason), \
         collector_id = CASE WHEN $7 THEN NULL ELSE collector_id END, \
         eta = CASE WHEN $7 THEN NULL ELSE eta END, \
         route_seq = CASE WHEN $7 THEN NULL ELSE route_seq END WHERE id = $1",
    )
    .bind(c.booking_id)
    .bind(c.to.code())
    .bind(c.now)
    .bind(i64::from(c.call.is_some()))
    .bind(c.visit.as_ref().map(|(r, _)| r.code()))
    .bind(c.visit.as_ref().map(|(_, why)| why.trim().to_string()))
    .bind(unschedule)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    if now_status.is_open() && !c.to.is_open() {
        release(&mut tx, c.booking_id, estate_id, starts_at, c.to, c.now).await?;
    }
    if let Some((result, why)) = &c.visit {
        let company = super::evidence::company_of_estate(&mut tx, estate_id).await?;
        let objects = super::evidence::booking_objects(&mut tx, c.booking_id).await?;
        let data = super::evidence::record(
            "outcome",
            serde_json::json!({
                "estate": estate_id,
                "booking": c.booking_id,
                "result": result.code(),
                "reason": why.trim(),
                "status": c.to.code(),
                "by": c.actor.parts().0,
                "by_user": c.actor.parts().1,
                "at": super::evidence::utc(c.now),
            }),
        );
        super::evidence::append_in(
            &mut tx,
            company,
            &[NewEvidence {
                kind: "outcome".into(),
                estate_id: Some(estate_id),
                booking_id: Some(c.booking_id),
                payment_id: None,
                objects,
                data,
                at: c.now,
            }],
        )
        .await?;
    }
    event(
        &mut tx,
        c.booking_id,
        c.now,
        Some(now_status),
        c.to,
        &c.actor,
        &c.detail,
    )
    .await?;
    let out = load_booking(&mut tx, c.booking_id).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

pub(crate) async fn reschedule_booking(
    pool: &Pool<Db>,
    id: i64,
    from: &[BookingStatus],
    new: &NewBooking,
) -> StoreResult<Booking> {
    let mut tx = write_tx(pool).await?;
    let (now_status, estate_id, starts_at) = lock_booking(&mut tx, id).await?;
    check_from(id, now_status, from, BookingStatus::Rescheduled)?;
    sqlx::query("UPDATE bookings SET status = 'rescheduled', updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(new.now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    release(
        &mut tx,
        id,
        estate_id,
        starts_at,
        BookingStatus::Rescheduled,
        new.now,
    )
    .await?;
    let mut new = new.clone();
    new.rescheduled_from = Some(id);
    let new_id = insert_booking(&mut tx, &new).await?;
    event(
        &mut tx,
        id,
        new.now,
        Some(now_status),
        BookingStatus::Rescheduled,
        &new.actor,
        &format!("moved to booking {new_id}"),
    )
    .await?;
    let out = load_booking(&mut tx, new_id).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

fn session_from(row: &DbRow) -> StoreResult<DispatchSession> {
    Ok(DispatchSession {
        estate_id: col(row, "estate_id")?,
        session_at: col(row, "session_at")?,
        planned_at: col(row, "planned_at")?,
        locked_at: col(row, "locked_at")?,
        locked_by: col(row, "locked_by")?,
        unassigned: col(row, "unassigned")?,
    })
}

async fn session_tx(
    tx: &mut Transaction<'static, Db>,
    estate_id: i64,
    session_at: i64,
) -> StoreResult<Option<DispatchSession>> {
    let row = sqlx::query(&format!(
        "SELECT * FROM dispatch_sessions WHERE estate_id = $1 AND session_at = $2{ROW_LOCK}"
    ))
    .bind(estate_id)
    .bind(session_at)
    .fetch_optional(&mut **tx)
    .await
    .map_err(db_err)?;
    row.as_ref().map(session_from).transpose()
}

pub(crate) async fn save_plan(pool: &Pool<Db>, p: &PlanUpdate<'_>) -> StoreResult<DispatchSession> {
    let PlanUpdate {
        estate_id,
        session_at,
        assignments,
        unassigned_json,
        actor,
        force,
        now,
    } = *p;
    let mut tx = write_tx(pool).await?;
    sqlx::query("INSERT INTO dispatch_sessions (estate_id, session_at) VALUES ($1, $2) ON CONFLICT (estate_id, session_at) DO NOTHING")
        .bind(estate_id)
        .bind(session_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    if let Some(s) = session_tx(&mut tx, estate_id, session_at).await?
        && s.locked_at.is_some()
        && !force
    {
        return Err(StoreError::Conflict(
            "this session's routes are locked; unlock them to plan again".into(),
        ));
    }
    let rows = sqlx::query(&format!(
        "SELECT id, status, call_first, collector_id, eta FROM bookings WHERE estate_id = $1 AND session_at = $2{ROW_LOCK}"
    ))
    .bind(estate_id)
    .bind(session_at)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    let mut current: HashMap<i64, (BookingStatus, bool, Option<i64>, Option<i64>)> = HashMap::new();
    for r in &rows {
        current.insert(
            col(r, "id")?,
            (
                BookingStatus::from_code(&col::<String>(r, "status")?)?,
                col(r, "call_first")?,
                col(r, "collector_id")?,
                col(r, "eta")?,
            ),
        );
    }
    let mut planned = std::collections::HashSet::new();
    for a in assignments {
        let Some((status, _, collector, eta)) = current.get(&a.booking_id).copied() else {
            return Err(StoreError::NotFound(format!(
                "booking {} in this session",
                a.booking_id
            )));
        };
        if !status.is_dispatchable() {
            return Err(StoreError::Conflict(format!(
                "booking {} is {}; only booked or confirmed visits can be dispatched",
                a.booking_id,
                status.code()
            )));
        }
        planned.insert(a.booking_id);
        sqlx::query("UPDATE bookings SET status = 'scheduled', collector_id = $2, eta = $3, route_seq = $4, updated_at = $5 WHERE id = $1")
            .bind(a.booking_id)
            .bind(a.collector_id)
            .bind(a.eta)
            .bind(a.seq)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if status != BookingStatus::Scheduled
            || collector != Some(a.collector_id)
            || eta != Some(a.eta)
        {
            let detail = format!("collector {} at {}", a.collector_id, a.eta);
            event(
                &mut tx,
                a.booking_id,
                now,
                Some(status),
                BookingStatus::Scheduled,
                actor,
                &detail,
            )
            .await?;
        }
    }
    for (id, (status, call_first, _, _)) in &current {
        if *status == BookingStatus::Scheduled && !planned.contains(id) {
            let back = if *call_first {
                BookingStatus::Confirmed
            } else {
                BookingStatus::Requested
            };
            sqlx::query("UPDATE bookings SET status = $2, collector_id = NULL, eta = NULL, route_seq = NULL, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(back.code())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            event(
                &mut tx,
                *id,
                now,
                Some(*status),
                back,
                actor,
                "left out of the plan",
            )
            .await?;
        }
    }
    let (_, user, _) = actor.parts();
    let row = sqlx::query("UPDATE dispatch_sessions SET planned_at = $3, planned_by = $4, unassigned = $5 WHERE estate_id = $1 AND session_at = $2 RETURNING *")
        .bind(estate_id)
        .bind(session_at)
        .bind(now)
        .bind(user)
        .bind(unassigned_json)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    let out = session_from(&row)?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

pub(crate) async fn lock_session(
    pool: &Pool<Db>,
    estate_id: i64,
    session_at: i64,
    user_id: i64,
    locked: bool,
    now: i64,
) -> StoreResult<DispatchSession> {
    let row = if locked {
        sqlx::query("UPDATE dispatch_sessions SET locked_at = $3, locked_by = $4 WHERE estate_id = $1 AND session_at = $2 RETURNING *")
            .bind(estate_id)
            .bind(session_at)
            .bind(now)
            .bind(user_id)
            .fetch_optional(&writer(pool))
            .await
    } else {
        sqlx::query("UPDATE dispatch_sessions SET locked_at = NULL, locked_by = NULL WHERE estate_id = $1 AND session_at = $2 RETURNING *")
            .bind(estate_id)
            .bind(session_at)
            .fetch_optional(&writer(pool))
            .await
    }
    .map_err(db_err)?
    .ok_or_else(|| StoreError::Conflict("plan this session before locking it".into()))?;
    session_from(&row)
}

pub(crate) async fn dispatch_session(
    pool: &Pool<Db>,
    estate_id: i64,
    session_at: i64,
) -> StoreResult<Option<DispatchSession>> {
    let row =
        sqlx::query("SELECT * FROM dispatch_sessions WHERE estate_id = $1 AND session_at = $2")
            .bind(estate_id)
            .bind(session_at)
            .fetch_optional(pool)
            .await
            .map_err(db_err)?;
    row.as_ref().map(session_from).transpose()
}

pub(crate) async fn booking_rules(pool: &Pool<Db>, estate_id: i64) -> StoreResult<BookingRules> {
    let row = sqlx::query("SELECT * FROM booking_rules WHERE estate_id = $1")
        .bind(estate_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    match row {
        Some(r) => rules_from(&r),
        None => Ok(BookingRules::default()),
    }
}

/// Rules from a row holding `booking_rules` columns; all NULL (a LEFT JOIN
/// with no rules row) means the defaults.
fn rules_from(r: &DbRow) -> StoreResult<BookingRules> {
    let Some(weekday) = col::<Option<String>>(r, "weekday_windows")? else {
        return Ok(BookingRules::default());
    };
    let u = |name: &str| -> StoreResult<u32> {
        let v: i64 = col(r, name)?;
        u32::try_from(v).map_err(|_| StoreError::Database(format!("bad stored {name} {v}")))
    };
    Ok(BookingRules {
        weekday: parse_windows("weekday", &weekday)?,
        weekend: parse_windows("weekend", &col::<String>(r, "weekend_windows")?)?,
        slot_minutes: u("slot_minutes")?,
        visits_per_collector: u("visits_per_collector")?,
        cutoff_minutes: u("cutoff_minutes")?,
        reminder_minutes: u("reminder_minutes")?,
        service_minutes: u("service_minutes")?,
        horizon_days: u("horizon_days")?,
    })
}

/// The estate, its rules, the day's rule and collectors on duty that day,
/// in one query (the booking path's reads).
pub(crate) async fn booking_context(
    pool: &Pool<Db>,
    code: &str,
    day: Date,
) -> StoreResult<Option<BookingContext>> {
    let row = sqlx::query(
        "SELECT e.*, br.weekday_windows, br.weekend_windows, br.slot_minutes, br.visits_per_collector, \
         br.cutoff_minutes, br.reminder_minutes, br.service_minutes, br.horizon_days, \
         bd.kind AS day_kind, bd.windows AS day_windows, \
         (SELECT COUNT(*) FROM users u JOIN user_estates ue ON ue.user_id = u.id AND ue.estate_id = e.id \
            WHERE u.role = 'collector') AS collectors, \
         (SELECT COUNT(*) FROM duty d JOIN users u ON u.id = d.user_id AND u.role = 'collector' \
            JOIN user_estates ue ON ue.user_id = u.id AND ue.estate_id = d.estate_id \
            WHERE d.estate_id = e.id AND d.day = $2 AND NOT d.on_duty) AS off_duty \
         FROM estates e LEFT JOIN booking_rules br ON br.estate_id = e.id \
         LEFT JOIN booking_days bd ON bd.estate_id = e.id AND bd.day = $2 WHERE e.code = $1",
    )
    .bind(code)
    .bind(day.to_string())
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    let Some(r) = row else { return Ok(None) };
    let kind: Option<String> = col(&r, "day_kind")?;
    let day_rule = match kind {
        Some(k) => Some(DayRule::from_parts(
            &k,
            &col::<Option<String>>(&r, "day_windows")?.unwrap_or_default(),
        )?),
        None => None,
    };
    let collectors: i64 = col(&r, "collectors")?;
    let off: i64 = col(&r, "off_duty")?;
    Ok(Some(BookingContext {
        estate: Estate {
            id: col(&r, "id")?,
            company_id: col(&r, "company_id")?,
            code: col(&r, "code")?,
            name: col(&r, "name")?,
            timezone: col(&r, "timezone")?,
            office: col(&r, "office")?,
        },
        rules: rules_from(&r)?,
        day_rule,
        on_duty: collectors - off,
    }))
}

pub(crate) async fn set_booking_rules(
    pool: &Pool<Db>,
    estate_id: i64,
    r: &BookingRules,
) -> StoreResult<()> {
    r.validate()?;
    use doorstep_domain::booking::format_windows;
    sqlx::query(
        "INSERT INTO booking_rules (estate_id, weekday_windows, weekend_windows, slot_minutes, visits_per_collector, cutoff_minutes, reminder_minutes, service_minutes, horizon_days) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (estate_id) DO UPDATE SET \
         weekday_windows = excluded.weekday_windows, weekend_windows = excluded.weekend_windows, \
         slot_minutes = excluded.slot_minutes, visits_per_collector = excluded.visits_per_collector, \
         cutoff_minutes = excluded.cutoff_minutes, reminder_minutes = excluded.reminder_minutes, \
         service_minutes = excluded.service_minutes, horizon_days = excluded.horizon_days",
    )
    .bind(estate_id)
    .bind(format_windows(&r.weekday))
    .bind(format_windows(&r.weekend))
    .bind(i64::from(r.slot_minutes))
    .bind(i64::from(r.visits_per_collector))
    .bind(i64::from(r.cutoff_minutes))
    .bind(i64::from(r.reminder_minutes))
    .bind(i64::from(r.service_minutes))
    .bind(i64::from(r.horizon_days))
    .execute(&writer(pool))
    .await
    .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn day_rules(
    pool: &Pool<Db>,
    estate_id: i64,
    from: Date,
    to: Date,
) -> StoreResult<Vec<(Date, DayRule, String)>> {
    let rows = sqlx::query(
        "SELECT * FROM booking_days WHERE estate_id = $1 AND day >= $2 AND day <= $3 ORDER BY day",
    )
    .bind(estate_id)
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok((
                parse_date(&col::<String>(r, "day")?)?,
                DayRule::from_parts(&col::<String>(r, "kind")?, &col::<String>(r, "windows")?)?,
                col(r, "note")?,
            ))
        })
        .collect()
}

pub(crate) async fn set_day_rule(
    pool: &Pool<Db>,
    estate_id: i64,
    day: Date,
    rule: Option<&DayRule>,
    note: &str,
) -> StoreResult<()> {
    match rule {
        None => {
            sqlx::query("DELETE FROM booking_days WHERE estate_id = $1 AND day = $2")
                .bind(estate_id)
                .bind(day.to_string())
                .execute(&writer(pool))
                .await
                .map_err(db_err)?;
        }
        Some(rule) => {
            let windows = match rule {
                DayRule::Custom(ws) => doorstep_domain::booking::format_windows(ws),
                _ => String::new(),
            };
            if note.chars().count() > 100 {
                return Err(DomainError::invalid("note", "at most 100 characters").into());
            }
            sqlx::query("INSERT INTO booking_days (estate_id, day, kind, windows, note) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (estate_id, day) DO UPDATE SET kind = excluded.kind, windows = excluded.windows, note = excluded.note")
                .bind(estate_id)
                .bind(day.to_string())
                .bind(rule.code())
                .bind(windows)
                .bind(note.trim())
                .execute(&writer(pool))
                .await
                .map_err(db_err)?;
        }
    }
    Ok(())
}

pub(crate) async fn duty(pool: &Pool<Db>, estate_id: i64, day: Date) -> StoreResult<Vec<Duty>> {
    let rows = sqlx::query(
        "SELECT u.id, u.display_name, COALESCE(d.on_duty, TRUE) AS on_duty FROM users u \
         JOIN user_estates ue ON ue.user_id = u.id AND ue.estate_id = $1 \
         LEFT JOIN duty d ON d.user_id = u.id AND d.estate_id = $1 AND d.day = $2 \
         WHERE u.role = 'collector' ORDER BY u.display_name, u.id",
    )
    .bind(estate_id)
    .bind(day.to_string())
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(Duty {
                user_id: col(r, "id")?,
                name: col(r, "display_name")?,
                on_duty: col(r, "on_duty")?,
            })
        })
        .collect()
}

pub(crate) async fn set_duty(
    pool: &Pool<Db>,
    estate_id: i64,
    day: Date,
    user_id: i64,
    on: bool,
) -> StoreResult<()> {
    let ok = sqlx::query("SELECT 1 AS ok FROM users u JOIN user_estates ue ON ue.user_id = u.id WHERE u.id = $1 AND ue.estate_id = $2 AND u.role = 'collector'")
        .bind(user_id)
        .bind(estate_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    if ok.is_none() {
        return Err(StoreError::NotFound(format!(
            "collector {user_id} of this estate"
        )));
    }
    sqlx::query("INSERT INTO duty (estate_id, day, user_id, on_duty) VALUES ($1, $2, $3, $4) ON CONFLICT (estate_id, day, user_id) DO UPDATE SET on_duty = excluded.on_duty")
        .bind(estate_id)
        .bind(day.to_string())
        .bind(user_id)
        .bind(on)
        .execute(&writer(pool))
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn slot_places(
    pool: &Pool<Db>,
    estate_id: i64,
    from: i64,
    to: i64,
) -> StoreResult<Vec<(i64, i64)>> {
    let rows = sqlx::query("SELECT starts_at, taken FROM slot_places WHERE estate_id = $1 AND starts_at >= $2 AND starts_at < $3 ORDER BY starts_at")
        .bind(estate_id)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| Ok((col(r, "starts_at")?, col(r, "taken")?)))
        .collect()
}

pub(crate) async fn estate_model(pool: &Pool<Db>, estate_id: i64) -> StoreResult<Option<String>> {
    let row = sqlx::query("SELECT model FROM estate_models WHERE estate_id = $1")
        .bind(estate_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    row.map(|r| col(&r, "model")).transpose()
}

pub(crate) async fn set_estate_model(
    pool: &Pool<Db>,
    estate_id: i64,
    model: &str,
    now: i64,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO estate_models (estate_id, model, updated_at) VALUES ($1, $2, $3) ON CONFLICT (estate_id) DO UPDATE SET model = excluded.model, updated_at = excluded.updated_at")
        .bind(estate_id)
        .bind(model)
        .bind(now)
        .execute(&writer(pool))
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn enqueue_tx(
    tx: &mut Transaction<'static, Db>,
    m: &NewMessage,
    booking_id: Option<i64>,
    now: i64,
) -> StoreResult<i64> {
    let row = sqlx::query("INSERT INTO outbox (estate_id, channel, recipient, kind, body, booking_id, created_at, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
        .bind(m.estate_id)
        .bind(&m.channel)
        .bind(&m.recipient)
        .bind(&m.kind)
        .bind(&m.body)
        .bind(booking_id)
        .bind(now)
        .bind(m.due_at)
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?;
    col(&row, "id")
}

pub(crate) async fn enqueue(
    pool: &Pool<Db>,
    m: &NewMessage,
    booking_id: Option<i64>,
    now: i64,
) -> StoreResult<i64> {
    let mut tx = write_tx(pool).await?;
    let id = enqueue_tx(&mut tx, m, booking_id, now).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(id)
}

pub(crate) async fn outbox(
    pool: &Pool<Db>,
    recipient: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<Message>> {
    let limit = limit.clamp(1, 1000);
    // Listings are for staff: a sign-in code's text never leaves the
    // database through them, sent or not (delivery reads `due_messages`).
    let select = "SELECT id, estate_id, channel, recipient, kind, \
        CASE WHEN kind = 'code' THEN $1 ELSE body END AS body, \
        booking_id, created_at, due_at, sent_at, cancelled_at FROM outbox";
    let rows = match recipient {
        Some(r) => {
            sqlx::query(&format!(
                "{select} WHERE recipient = $2 ORDER BY id DESC LIMIT {limit}"
            ))
            .bind(REDACTED_CODE_TEXT)
            .bind(r)
            .fetch_all(pool)
            .await
        }
        None => {
            sqlx::query(&format!("{select} ORDER BY id DESC LIMIT {limit}"))
                .bind(REDACTED_CODE_TEXT)
                .fetch_all(pool)
                .await
        }
    }
    .map_err(db_err)?;
    rows.iter().map(message_from).collect()
}

pub(crate) async fn due_messages(
    pool: &Pool<Db>,
    now: i64,
    limit: i64,
) -> StoreResult<Vec<Message>> {
    let rows = sqlx::query(&format!(
        "SELECT * FROM outbox WHERE sent_at IS NULL AND cancelled_at IS NULL AND due_at <= $1 ORDER BY due_at, id LIMIT {}",
        limit.clamp(1, 1000)
    ))
    .bind(now)
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    rows.iter().map(message_from).collect()
}

fn message_from(r: &DbRow) -> StoreResult<Message> {
    Ok(Message {
        id: col(r, "id")?,
        estate_id: col(r, "estate_id")?,
        channel: col(r, "channel")?,
        recipient: col(r, "recipient")?,
        kind: col(r, "kind")?,
        body: col(r, "body")?,
        booking_id: col(r, "booking_id")?,
        created_at: col(r, "created_at")?,
        due_at: col(r, "due_at")?,
        sent_at: col(r, "sent_at")?,
        cancelled_at: col(r, "cancelled_at")?,
    })
}

pub(crate) async fn on_duty_counts(
    pool: &Pool<Db>,
    estate_id: i64,
    from: Date,
    to: Date,
) -> StoreResult<Vec<(Date, i64)>> {
    let all = sqlx::query(
        "SELECT COUNT(*) AS n FROM users u JOIN user_estates ue ON ue.user_id = u.id AND ue.estate_id = $1 WHERE u.role = 'collector'",
    )
    .bind(estate_id)
    .fetch_one(pool)
    .await
    .map_err(db_err)?;
    let all: i64 = col(&all, "n")?;
    let off = sqlx::query(
        "SELECT d.day, COUNT(*) AS n FROM duty d JOIN users u ON u.id = d.user_id AND u.role = 'collector' \
         JOIN user_estates ue ON ue.user_id = u.id AND ue.estate_id = d.estate_id \
         WHERE d.estate_id = $1 AND d.day >= $2 AND d.day <= $3 AND NOT d.on_duty GROUP BY d.day",
    )
    .bind(estate_id)
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    let mut off_by_day = HashMap::new();
    for r in &off {
        off_by_day.insert(parse_date(&col::<String>(r, "day")?)?, col::<i64>(r, "n")?);
    }
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        out.push((d, all - off_by_day.get(&d).copied().unwrap_or(0)));
        d = match d.tomorrow() {
            Ok(n) => n,
            Err(_) => break,
        };
    }
    Ok(out)
}

pub(crate) async fn owners_holding(
    pool: &Pool<Db>,
    estate_id: i64,
    phone: Option<&str>,
    targets: &[(ObjectKind, i64)],
) -> StoreResult<Vec<OwnerHolding>> {
    let Some(((first_kind, _), rest)) = targets.split_first() else {
        return Ok(Vec::new());
    };
    let holding = |kind: &ObjectKind| match kind {
        ObjectKind::Room => ("room_owners", "room_id"),
        ObjectKind::Space => ("space_owners", "space_id"),
    };
    // Driven from the first target's holders (a primary-key lookup), never
    // from the estate's owners: CROSS JOIN fixes SQLite's join order.
    let (table, column) = holding(first_kind);
    let mut sql = format!(
        "SELECT o.id, o.name, COALESCE((SELECT MIN(p.phone) FROM owner_phones p WHERE p.owner_id = o.id), '') AS phone \
         FROM {table} h CROSS JOIN owners o WHERE o.id = h.owner_id AND h.{column} = $1 AND o.estate_id = $2"
    );
    let mut n = 2;
    if phone.is_some() {
        n += 1;
        sql += &format!(
            " AND EXISTS (SELECT 1 FROM owner_phones p WHERE p.owner_id = o.id AND p.phone = ${n})"
        );
    }
    for (kind, _) in rest {
        n += 1;
        let (table, column) = holding(kind);
        sql += &format!(
            " AND EXISTS (SELECT 1 FROM {table} x WHERE x.owner_id = o.id AND x.{column} = ${n})"
        );
    }
    sql += " ORDER BY o.id";
    let mut q = sqlx::query(&sql).bind(targets[0].1).bind(estate_id);
    if let Some(p) = phone {
        q = q.bind(p);
    }
    for (_, id) in rest {
        q = q.bind(id);
    }
    let rows = q.fetch_all(pool).await.map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(OwnerHolding {
                owner_id: col(r, "id")?,
                name: col(r, "name")?,
                phone: col(r, "phone")?,
            })
        })
        .collect()
}

pub(crate) async fn object_labels(
    pool: &Pool<Db>,
    estate_id: i64,
    targets: &[(ObjectKind, i64)],
) -> StoreResult<Vec<String>> {
    let mut out = Vec::with_capacity(targets.len());
    for (kind, id) in targets {
        let label = match kind {
            ObjectKind::Room => {
                let r = sqlx::query("SELECT b.name, r.entrance, r.number FROM rooms r JOIN buildings b ON b.id = r.building_id WHERE r.id = $1 AND r.estate_id = $2")
                    .bind(id)
                    .bind(estate_id)
                    .fetch_optional(pool)
                    .await
                    .map_err(db_err)?
                    .ok_or_else(|| StoreError::NotFound(format!("room {id}")))?;
                doorstep_domain::estate::room_label(
                    &col::<String>(&r, "name")?,
                    &col::<String>(&r, "entrance")?,
                    &col::<String>(&r, "number")?,
                )
            }
            ObjectKind::Space => {
                let r = sqlx::query("SELECT code FROM spaces WHERE id = $1 AND estate_id = $2")
                    .bind(id)
                    .bind(estate_id)
                    .fetch_optional(pool)
                    .await
                    .map_err(db_err)?
                    .ok_or_else(|| StoreError::NotFound(format!("space {id}")))?;
                format!("车位{}", col::<String>(&r, "code")?)
            }
        };
        out.push(label);
    }
    Ok(out)
}
