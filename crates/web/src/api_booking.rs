//! The booking and dispatch part of the JSON API: owner sign-in by SMS code,
//! their rooms and what is owed, slots, bookings; the confirmation queue,
//! dispatch planning and itineraries for staff.

use crate::WebError;
use crate::error::Body;
use crate::session::{Caller, ClientAddr, OwnerCaller, Staff, owner_token};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use doorstep_app::booking::{BookingRequest, By};
use doorstep_app::{App, AppError, parse_date, today};
use doorstep_domain::booking::parse_windows;
use doorstep_domain::{BookingRules, BookingStatus, CallOutcome, DayRule, Permission, VisitResult};
use doorstep_store::BookingQuery;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{ApiResult, invalid, to_json};

/// The booking routes (merged into `/api/v1`).
pub fn router() -> Router<App> {
    Router::new()
        .route("/owner/code", post(request_owner_code))
        .route(
            "/owner/session",
            post(verify_owner_code).delete(end_owner_session),
        )
        .route("/owner/targets", get(list_owner_targets))
        .route("/owner/bookings", get(list_owner_bookings))
        .route("/estates/{code}/slots", get(list_slots))
        .route(
            "/estates/{code}/bookings",
            get(list_bookings).post(create_booking),
        )
        .route("/bookings/{id}", get(get_booking))
        .route("/bookings/{id}/history", get(get_booking_history))
        .route("/bookings/{id}/cancel", post(cancel_booking))
        .route("/bookings/{id}/reschedule", post(reschedule_booking))
        .route("/bookings/{id}/calls", post(record_confirmation_call))
        .route("/bookings/{id}/visit", post(record_visit_outcome))
        .route("/bookings/{id}/assign", post(assign_booking))
        .route(
            "/estates/{code}/confirmation-queue",
            get(list_confirmation_queue),
        )
        .route("/estates/{code}/dispatch", get(get_dispatch_board))
        .route("/estates/{code}/dispatch/plan", post(plan_dispatch))
        .route("/estates/{code}/dispatch/replan", post(replan_dispatch))
        .route("/estates/{code}/dispatch/lock", post(lock_dispatch))
        .route("/estates/{code}/itinerary", get(get_itinerary))
        .route(
            "/estates/{code}/booking-rules",
            get(get_booking_rules).put(set_booking_rules),
        )
        .route(
            "/estates/{code}/booking-days/{date}",
            put(set_booking_day).delete(clear_booking_day),
        )
        .route("/estates/{code}/duty", get(get_duty))
        .route("/estates/{code}/duty/{date}/{user_id}", put(set_duty))
        .route(
            "/estates/{code}/walking-model",
            get(get_walking_model).put(set_walking_model),
        )
        .route("/outbox", get(list_outbox))
}

#[derive(Deserialize)]
struct PhoneBody {
    phone: String,
    /// The estate whose company the owner signs in to (optional when the
    /// phone is on file with one company only).
    estate: Option<String>,
}

async fn request_owner_code(
    State(app): State<App>,
    ClientAddr(client): ClientAddr,
    Body(b): Body<PhoneBody>,
) -> ApiResult {
    let sent = app
        .request_owner_code(&b.phone, b.estate.as_deref(), &client)
        .await?;
    to_json(&sent)
}

#[derive(Deserialize)]
struct CodeBody {
    phone: String,
    code: String,
}

async fn verify_owner_code(
    State(app): State<App>,
    ClientAddr(client): ClientAddr,
    Body(b): Body<CodeBody>,
) -> ApiResult {
    let s = app.verify_owner_code(&b.phone, &b.code, &client).await?;
    to_json(&s)
}

async fn end_owner_session(
    State(app): State<App>,
    headers: HeaderMap,
) -> Result<StatusCode, WebError> {
    if let Some(t) = owner_token(&headers) {
        app.owner_sign_out(&t).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct AsOf {
    as_of: Option<String>,
}

async fn list_owner_targets(
    State(app): State<App>,
    OwnerCaller(owner): OwnerCaller,
    Query(q): Query<AsOf>,
) -> ApiResult {
    let as_of = q
        .as_of
        .as_deref()
        .map(|d| parse_date("as_of", d))
        .transpose()?;
    to_json(&app.owner_holdings(&owner, as_of).await?)
}

async fn list_owner_bookings(State(app): State<App>, OwnerCaller(owner): OwnerCaller) -> ApiResult {
    to_json(&app.owner_bookings(&owner).await?)
}

#[derive(Deserialize)]
struct SlotQuery {
    from: Option<String>,
    days: Option<u32>,
}

/// Slots are public: no one's data is in them.
async fn list_slots(
    State(app): State<App>,
    Path(code): Path<String>,
    Query(q): Query<SlotQuery>,
) -> ApiResult {
    let estate = app.estate(&code).await?;
    let from = match q.from.as_deref() {
        Some(d) => parse_date("from", d)?,
        None => today(&estate),
    };
    let days = app.list_slots(&estate, from, q.days.unwrap_or(7)).await?;
    to_json(&json!({ "estate": estate.code, "days": days }))
}

fn by<'a>(caller: &'a Caller) -> By<'a> {
    match caller {
        Caller::Staff(u) => By::Staff(u),
        Caller::Owner(p) => By::Owner(p),
    }
}

async fn create_booking(
    State(app): State<App>,
    caller: Caller,
    Path(code): Path<String>,
    Body(req): Body<BookingRequest>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    let b = app.create_booking(by(&caller), &code, &req).await?;
    Ok((StatusCode::CREATED, to_json(&b)?))
}

#[derive(Deserialize)]
struct ListQuery {
    date: Option<String>,
    status: Option<String>,
}

async fn list_bookings(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult {
    let estate = app.estate_for(&user, &code, Permission::Dispatch).await?;
    let date = match q.date.as_deref() {
        Some(d) => parse_date("date", d)?,
        None => today(&estate),
    };
    let from = doorstep_app::booking::local_to_unix(
        &estate,
        date.to_datetime(jiff::civil::Time::midnight()),
    )?;
    let statuses = match q.status.as_deref() {
        Some(s) if !s.is_empty() => s
            .split(',')
            .map(|x| BookingStatus::from_code(x.trim()))
            .collect::<Result<Vec<_>, _>>()?,
        _ => vec![],
    };
    let list = app
        .store
        .bookings(&BookingQuery {
            estate_id: Some(estate.id),
            from: Some(from),
            to: Some(from + 86_400),
            statuses,
            ..Default::default()
        })
        .await?;
    let mut out = Vec::new();
    for b in list {
        out.push(app.view(&estate, b).await?);
    }
    to_json(&out)
}

async fn get_booking(State(app): State<App>, caller: Caller, Path(id): Path<i64>) -> ApiResult {
    let (estate, b) = app.booking_for(&by(&caller), id).await?;
    to_json(&app.view(&estate, b).await?)
}

async fn get_booking_history(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
) -> ApiResult {
    to_json(&app.booking_history(By::Staff(&user), id).await?)
}

#[derive(Deserialize, Default)]
struct ReasonBody {
    #[serde(default)]
    reason: String,
}

async fn cancel_booking(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<i64>,
    body: Option<Json<ReasonBody>>,
) -> ApiResult {
    let reason = body.map(|Json(b)| b.reason).unwrap_or_default();
    to_json(&app.cancel_booking(by(&caller), id, &reason).await?)
}

#[derive(Deserialize)]
struct RescheduleBody {
    date: String,
    start: String,
}

async fn reschedule_booking(
    State(app): State<App>,
    caller: Caller,
    Path(id): Path<i64>,
    Body(b): Body<RescheduleBody>,
) -> ApiResult {
    to_json(
        &app.reschedule_booking(by(&caller), id, &b.date, &b.start)
            .await?,
    )
}

async fn list_confirmation_queue(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
) -> ApiResult {
    to_json(&app.confirmation_queue(&user, &code).await?)
}

#[derive(Deserialize)]
struct CallBody {
    outcome: String,
    #[serde(default)]
    note: String,
}

async fn record_confirmation_call(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
    Body(b): Body<CallBody>,
) -> ApiResult {
    let outcome = CallOutcome::from_code(b.outcome.trim())?;
    to_json(&app.record_call(&user, id, outcome, &b.note).await?)
}

#[derive(Deserialize)]
struct VisitBody {
    result: String,
    #[serde(default)]
    reason: String,
}

async fn record_visit_outcome(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
    Body(b): Body<VisitBody>,
) -> ApiResult {
    let result = VisitResult::from_code(b.result.trim())?;
    to_json(&app.record_visit(&user, id, result, &b.reason).await?)
}

#[derive(Deserialize)]
struct AssignBody {
    collector_id: i64,
    #[serde(default)]
    position: usize,
}

async fn assign_booking(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
    Body(b): Body<AssignBody>,
) -> ApiResult {
    let position = if b.position == 0 {
        usize::MAX
    } else {
        b.position
    };
    to_json(&app.move_stop(&user, id, b.collector_id, position).await?)
}

#[derive(Deserialize)]
struct SessionQuery {
    date: Option<String>,
    window: Option<String>,
}

async fn get_dispatch_board(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Query(q): Query<SessionQuery>,
) -> ApiResult {
    let date = session_date(&app, &code, q.date.as_deref()).await?;
    to_json(
        &app.dispatch_board(&user, &code, date, q.window.as_deref())
            .await?,
    )
}

async fn session_date(
    app: &App,
    code: &str,
    d: Option<&str>,
) -> Result<doorstep_domain::Date, WebError> {
    Ok(match d {
        Some(d) => parse_date("date", d)?,
        None => today(&app.estate(code).await?),
    })
}

#[derive(Deserialize)]
struct PlanBody {
    date: Option<String>,
    window: Option<String>,
    time_limit_ms: Option<u64>,
}

async fn plan_dispatch(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(b): Body<PlanBody>,
) -> ApiResult {
    let date = session_date(&app, &code, b.date.as_deref()).await?;
    let v = app
        .plan_dispatch(
            &user,
            &code,
            date,
            b.window.as_deref(),
            b.time_limit_ms.unwrap_or(1000),
        )
        .await?;
    to_json(&v)
}

async fn replan_dispatch(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(b): Body<PlanBody>,
) -> ApiResult {
    let date = session_date(&app, &code, b.date.as_deref()).await?;
    let v = app
        .replan_dispatch(
            &user,
            &code,
            date,
            b.window.as_deref(),
            b.time_limit_ms.unwrap_or(300),
        )
        .await?;
    to_json(&v)
}

#[derive(Deserialize)]
struct LockBody {
    date: Option<String>,
    window: Option<String>,
    #[serde(default = "yes")]
    locked: bool,
}

fn yes() -> bool {
    true
}

async fn lock_dispatch(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(b): Body<LockBody>,
) -> ApiResult {
    let date = session_date(&app, &code, b.date.as_deref()).await?;
    to_json(
        &app.lock_dispatch(&user, &code, date, b.window.as_deref(), b.locked)
            .await?,
    )
}

#[derive(Deserialize)]
struct ItineraryQuery {
    date: Option<String>,
    collector: Option<i64>,
}

async fn get_itinerary(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Query(q): Query<ItineraryQuery>,
) -> ApiResult {
    let date = session_date(&app, &code, q.date.as_deref()).await?;
    to_json(&app.itinerary(&user, &code, date, q.collector).await?)
}

async fn get_booking_rules(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
) -> ApiResult {
    let (_, rules) = app.booking_rules(&user, &code).await?;
    to_json(&rules_json(&rules))
}

fn rules_json(r: &BookingRules) -> Value {
    use doorstep_domain::booking::format_windows;
    json!({
        "weekday": format_windows(&r.weekday),
        "weekend": format_windows(&r.weekend),
        "slot_minutes": r.slot_minutes,
        "visits_per_collector": r.visits_per_collector,
        "cutoff_minutes": r.cutoff_minutes,
        "reminder_minutes": r.reminder_minutes,
        "service_minutes": r.service_minutes,
        "horizon_days": r.horizon_days,
    })
}

#[derive(Deserialize)]
struct RulesBody {
    weekday: String,
    weekend: String,
    slot_minutes: u32,
    visits_per_collector: u32,
    cutoff_minutes: u32,
    reminder_minutes: u32,
    service_minutes: u32,
    horizon_days: u32,
}

async fn set_booking_rules(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(b): Body<RulesBody>,
) -> ApiResult {
    let rules = BookingRules {
        weekday: parse_windows("weekday", &b.weekday)?,
        weekend: parse_windows("weekend", &b.weekend)?,
        slot_minutes: b.slot_minutes,
        visits_per_collector: b.visits_per_collector,
        cutoff_minutes: b.cutoff_minutes,
        reminder_minutes: b.reminder_minutes,
        service_minutes: b.service_minutes,
        horizon_days: b.horizon_days,
    };
    app.set_booking_rules(&user, &code, &rules).await?;
    to_json(&rules_json(&rules))
}

#[derive(Deserialize)]
struct DayBody {
    kind: String,
    #[serde(default)]
    windows: String,
    #[serde(default)]
    note: String,
}

async fn set_booking_day(
    State(app): State<App>,
    Staff(user): Staff,
    Path((code, date)): Path<(String, String)>,
    Body(b): Body<DayBody>,
) -> ApiResult {
    let day = parse_date("date", &date)?;
    let rule = DayRule::from_parts(b.kind.trim(), &b.windows)?;
    app.set_day_rule(&user, &code, day, Some(&rule), &b.note)
        .await?;
    to_json(&json!({ "date": day, "rule": rule, "note": b.note }))
}

async fn clear_booking_day(
    State(app): State<App>,
    Staff(user): Staff,
    Path((code, date)): Path<(String, String)>,
) -> Result<StatusCode, WebError> {
    let day = parse_date("date", &date)?;
    app.set_day_rule(&user, &code, day, None, "").await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct DutyQuery {
    date: Option<String>,
}

async fn get_duty(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Query(q): Query<DutyQuery>,
) -> ApiResult {
    let estate = app.estate_for(&user, &code, Permission::Dispatch).await?;
    let date = match q.date.as_deref() {
        Some(d) => parse_date("date", d)?,
        None => today(&estate),
    };
    to_json(&app.store.duty(estate.id, date).await?)
}

#[derive(Deserialize)]
struct DutyBody {
    on_duty: bool,
}

async fn set_duty(
    State(app): State<App>,
    Staff(user): Staff,
    Path((code, date, uid)): Path<(String, String, i64)>,
    Body(b): Body<DutyBody>,
) -> ApiResult {
    let day = parse_date("date", &date)?;
    app.set_duty(&user, &code, day, uid, b.on_duty).await?;
    to_json(&json!({ "date": day, "user_id": uid, "on_duty": b.on_duty }))
}

async fn get_walking_model(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
) -> Result<String, WebError> {
    let estate = app.estate_for(&user, &code, Permission::ReadEstate).await?;
    app.store.estate_model(estate.id).await?.ok_or_else(|| {
        WebError(AppError::NotFound(format!(
            "walking model of estate {code:?}"
        )))
    })
}

async fn set_walking_model(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    text: String,
) -> Result<StatusCode, WebError> {
    if text.trim().is_empty() {
        return Err(invalid("model", "send the model file as the request body"));
    }
    app.set_walking_model(&user, &code, &text).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct OutboxQuery {
    recipient: Option<String>,
    limit: Option<i64>,
}

async fn list_outbox(
    State(app): State<App>,
    Staff(user): Staff,
    Query(q): Query<OutboxQuery>,
) -> ApiResult {
    to_json(
        &app.outbox(&user, q.recipient.as_deref(), q.limit.unwrap_or(50))
            .await?,
    )
}
