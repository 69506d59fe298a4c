//! The JSON API under `/api/v1`. Every handler checks role and estate scope
//! through the app; every operation is listed in the OpenAPI document.

use crate::WebError;
use crate::error::Body;
use crate::session::{Staff, token};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use doorstep_app::{App, AppError, parse_date, today};
use doorstep_domain::{
    Area, DomainError, EstateCode, FeeItemSpec, Fen, ObjectKind, Period, Permission, PhoneNumber,
};
use doorstep_store::{BuildingInput, EstateInput, NewPayment, OwnerInput, RoomInput, SpaceInput};
use serde::Deserialize;
use serde_json::{Value, json};

pub(crate) type ApiResult = Result<Json<Value>, WebError>;

/// The API routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/estates", get(list_estates).post(create_estate))
        .route("/estates/{code}", get(get_estate).put(update_estate))
        .route(
            "/estates/{code}/buildings",
            get(list_buildings).put(upsert_building),
        )
        .route("/estates/{code}/rooms", get(list_rooms).post(create_room))
        .route("/estates/{code}/rooms/{id}", put(update_room))
        .route(
            "/estates/{code}/spaces",
            get(list_spaces).post(create_space),
        )
        .route("/estates/{code}/spaces/{id}", put(update_space))
        .route(
            "/estates/{code}/owners",
            get(list_owners).post(create_owner),
        )
        .route("/estates/{code}/owners/{id}", put(update_owner))
        .route(
            "/estates/{code}/fee-items",
            get(list_fee_items).post(create_fee_item),
        )
        .route("/estates/{code}/fee-items/{id}", put(update_fee_item))
        .route(
            "/estates/{code}/fee-items/{id}/amounts",
            put(set_entered_amounts),
        )
        .route("/estates/{code}/billing-runs", post(run_billing))
        .route("/estates/{code}/arrears", get(list_arrears))
        .route("/estates/{code}/payments", post(record_payment))
        .route(
            "/estates/{code}/bill-lines/{id}/waive-late-fee",
            post(waive_late_fee),
        )
        .route("/estates/{code}/bill-lines/{id}/waive", post(waive_line))
        .route("/estates/{code}/bill-lines/{id}/dispute", post(set_dispute))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> ApiResult {
    serde_json::to_value(v)
        .map(Json)
        .map_err(|e| WebError(AppError::Storage(e.to_string())))
}

pub(crate) fn invalid(field: &'static str, msg: impl Into<String>) -> WebError {
    WebError(AppError::Invalid(DomainError::invalid(field, msg)))
}

#[derive(Deserialize)]
struct LoginBody {
    username: String,
    password: String,
}

async fn login(
    State(app): State<App>,
    crate::session::ClientAddr(client): crate::session::ClientAddr,
    body: Result<Json<LoginBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(b) = body.map_err(|e| {
        invalid(
            "body",
            format!("expected JSON {{\"username\", \"password\"}}: {e}"),
        )
    })?;
    let s = app.login_from(&b.username, &b.password, &client).await?;
    Ok(Json(
        json!({ "token": s.token, "expires_at": s.expires_at, "user": s.user }),
    ))
}

async fn logout(State(app): State<App>, headers: HeaderMap) -> Result<StatusCode, WebError> {
    if let Some(t) = token(&headers) {
        app.logout(&t).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn me(Staff(user): Staff) -> ApiResult {
    to_json(&user)
}

async fn list_estates(State(app): State<App>, Staff(user): Staff) -> ApiResult {
    doorstep_app::require(&user, Permission::ReadEstate)?;
    let estates: Vec<_> = app
        .store
        .list_estates(user.company_id)
        .await?
        .into_iter()
        .filter(|e| user.can_access(e))
        .collect();
    to_json(&estates)
}

#[derive(Deserialize)]
struct EstateBody {
    code: String,
    name: String,
    #[serde(default = "default_tz")]
    timezone: String,
    #[serde(default)]
    office: String,
}

fn default_tz() -> String {
    "Asia/Shanghai".into()
}

fn estate_input(b: EstateBody) -> Result<EstateInput, WebError> {
    if b.name.trim().is_empty() {
        return Err(invalid("name", "is empty"));
    }
    if jiff::tz::TimeZone::get(&b.timezone).is_err() {
        return Err(invalid(
            "timezone",
            format!(
                "{:?} is not a known time zone (e.g. Asia/Shanghai)",
                b.timezone
            ),
        ));
    }
    Ok(EstateInput {
        code: EstateCode::parse(&b.code)?,
        name: b.name.trim().into(),
        timezone: b.timezone,
        office: b.office,
    })
}

async fn create_estate(
    State(app): State<App>,
    Staff(user): Staff,
    Body(b): Body<EstateBody>,
) -> ApiResult {
    doorstep_app::require(&user, Permission::ManageUsers)?;
    let e = app
        .store
        .create_estate(user.company_id, &estate_input(b)?)
        .await?;
    to_json(&e)
}

async fn get_estate(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
) -> ApiResult {
    let e = app.estate_for(&user, &code, Permission::ReadEstate).await?;
    let stats = app.store.estate_stats(e.id).await?;
    Ok(Json(json!({ "estate": e, "stats": stats })))
}

async fn update_estate(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(b): Body<EstateBody>,
) -> ApiResult {
    let e = app
        .estate_for(&user, &code, Permission::EditMasterData)
        .await?;
    to_json(&app.store.update_estate(e.id, &estate_input(b)?).await?)
}

async fn list_buildings(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
) -> ApiResult {
    let e = app.estate_for(&user, &code, Permission::ReadEstate).await?;
    to_json(&app.store.list_buildings(e.id).await?)
}

#[derive(Deserialize)]
struct BuildingBody {
    name: String,
    entrances: i32,
    floors: i32,
    has_lift: bool,
}

async fn upsert_building(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(b): Body<BuildingBody>,
) -> ApiResult {
    let e = app
        .estate_for(&user, &code, Permission::EditMasterData)
        .await?;
    to_json(
        &app.store
            .upsert_building(
                e.id,
                &BuildingInput {
                    name: b.name,
                    entrances: b.entrances,
                    floors: b.floors,
                    has_lift: b.has_lift,
                },
            )
            .await?,
    )
}

#[derive(Deserialize)]
struct ListParams {
    #[serde(default)]
    q: String,
    #[serde(default = "default_limit")]
    limit: i64,
    #[serde(default)]
    offset: i64,
}

fn default_limit() -> i64 {
    100
}

async fn list_rooms(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Query(p): Query<ListParams>,
) -> ApiResult {
    let e = app.estate_for(&user, &code, Permission::ReadEstate).await?;
    let rooms = app
        .store
        .list_rooms(e.id, &p.q, p.limit.clamp(1, 1000), p.offset.max(0))
        .await?;
    let out: Vec<Value> = rooms
        .iter()
        .map(|r| json!({ "label": r.label(), "room": r }))
        .collect();
    Ok(Json(json!(out)))
}

#[derive(Deserialize)]
struct RoomBody {
    building: String,
    #[serde(default)]
    entrance: String,
    floor: i32,
    number: String,
    /// Area in m² as text or number, e.g. "89.50".
    area: Value,
}

fn room_input(b: RoomBody) -> Result<RoomInput, WebError> {
    let area = match &b.area {
        Value::String(s) => Area::parse(s)?,
        Value::Number(n) => Area::parse(&n.to_string())?,
        _ => return Err(invalid("area", "give the area in m², e.g. \"89.50\"")),
    };
    Ok(RoomInput {
        building: b.building,
        entrance: b.entrance,
        floor: b.floor,
        number: b.number,
        area,
    })
}

async fn create_room(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(b): Body<RoomBody>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    let e = app
        .estate_for(&user, &code, Permission::EditMasterData)
        .await?;
    let r = app.store.create_room(e.id, &room_input(b)?).await?;
    Ok((StatusCode::CREATED, to_json(&r)?))
}

async fn update_room(
    State(app): State<App>,
    Staff(user): Staff,
    Path((code, id)): Path<(String, i64)>,
    Body(b): Body<RoomBody>,
) -> ApiResult {
    to_json(&app.update_room(&user, &code, id, &room_input(b)?).await?)
}

async fn list_spaces(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Query(p): Query<ListParams>,
) -> ApiResult {
    let e = app.estate_for(&user, &code, Permission::ReadEstate).await?;
    to_json(
        &app.store
            .list_spaces(e.id, &p.q, p.limit.clamp(1, 1000), p.offset.max(0))
            .await?,
    )
}

#[derive(Deserialize)]
struct SpaceBody {
    code: String,
    #[serde(default)]
    level: String,
}

async fn create_space(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(b): Body<SpaceBody>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    let e = app
        .estate_for(&user, &code, Permission::EditMasterData)
        .await?;
    let s = app
        .store
        .create_space(
            e.id,
            &SpaceInput {
                code: b.code,
                level: b.level,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, to_json(&s)?))
}

async fn update_space(
    State(app): State<App>,
    Staff(user): Staff,
    Path((code, id)): Path<(String, i64)>,
    Body(b): Body<SpaceBody>,
) -> ApiResult {
    let input = SpaceInput {
        code: b.code,
        level: b.level,
    };
    to_json(&app.update_space(&user, &code, id, &input).await?)
}

async fn list_owners(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Query(p): Query<ListParams>,
) -> ApiResult {
    let e = app.estate_for(&user, &code, Permission::ReadEstate).await?;
    to_json(
        &app.store
            .list_owners(e.id, &p.q, p.limit.clamp(1, 1000), p.offset.max(0))
            .await?,
    )
}

#[derive(Deserialize)]
struct OwnerBody {
    name: String,
    phones: Vec<String>,
    #[serde(default)]
    room_ids: Vec<i64>,
    #[serde(default)]
    space_ids: Vec<i64>,
}

fn owner_input(b: OwnerBody) -> Result<OwnerInput, WebError> {
    let phones = b
        .phones
        .iter()
        .map(|p| PhoneNumber::parse(p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OwnerInput {
        name: b.name,
        phones,
        room_ids: b.room_ids,
        space_ids: b.space_ids,
    })
}

async fn create_owner(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(b): Body<OwnerBody>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    let e = app
        .estate_for(&user, &code, Permission::EditMasterData)
        .await?;
    let o = app.store.create_owner(e.id, &owner_input(b)?).await?;
    Ok((StatusCode::CREATED, to_json(&o)?))
}

async fn update_owner(
    State(app): State<App>,
    Staff(user): Staff,
    Path((code, id)): Path<(String, i64)>,
    Body(b): Body<OwnerBody>,
) -> ApiResult {
    to_json(&app.update_owner(&user, &code, id, &owner_input(b)?).await?)
}

async fn list_fee_items(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
) -> ApiResult {
    let e = app.estate_for(&user, &code, Permission::ReadEstate).await?;
    to_json(&app.store.list_fee_items(e.id).await?)
}

#[derive(Deserialize)]
struct FeeItemBody {
    #[serde(flatten)]
    spec: FeeItemSpec,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

fn fee_body(
    b: Result<Json<FeeItemBody>, axum::extract::rejection::JsonRejection>,
) -> Result<FeeItemBody, WebError> {
    b.map(|Json(b)| b)
        .map_err(|e| invalid("body", e.body_text()))
}

async fn create_fee_item(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    b: Result<Json<FeeItemBody>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), WebError> {
    let e = app.estate_for(&user, &code, Permission::EditFees).await?;
    let b = fee_body(b)?;
    let item = app.store.create_fee_item(e.id, &b.spec).await?;
    Ok((StatusCode::CREATED, to_json(&item)?))
}

async fn update_fee_item(
    State(app): State<App>,
    Staff(user): Staff,
    Path((code, id)): Path<(String, i64)>,
    b: Result<Json<FeeItemBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let b = fee_body(b)?;
    to_json(
        &app.update_fee_item(&user, &code, id, &b.spec, b.active)
            .await?,
    )
}

#[derive(Deserialize)]
struct BillingBody {
    period: String,
}

async fn run_billing(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(b): Body<BillingBody>,
) -> ApiResult {
    let e = app.estate_for(&user, &code, Permission::RunBilling).await?;
    let period = Period::parse(&b.period)?;
    to_json(
        &app.run_billing(&e, period, Some(&user), &mut |_, _| {})
            .await?,
    )
}

#[derive(Deserialize)]
struct ArrearsParams {
    as_of: Option<String>,
    #[serde(default)]
    q: String,
}

async fn list_arrears(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Query(p): Query<ArrearsParams>,
) -> ApiResult {
    let e = app.estate_for(&user, &code, Permission::ReadBills).await?;
    let as_of = match &p.as_of {
        Some(d) => parse_date("as_of", d)?,
        None => today(&e),
    };
    to_json(&app.arrears(&e, as_of, &p.q).await?)
}

#[derive(Deserialize)]
struct PaymentBody {
    /// Amount in yuan as text, e.g. "300.00".
    amount: String,
    #[serde(default = "cash")]
    method: String,
    #[serde(default)]
    room_ids: Vec<i64>,
    #[serde(default)]
    space_ids: Vec<i64>,
    #[serde(default)]
    line_ids: Vec<i64>,
    paid_on: Option<String>,
    idempotency_key: Option<String>,
}

fn cash() -> String {
    "cash".into()
}

async fn record_payment(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(b): Body<PaymentBody>,
) -> ApiResult {
    let e = app
        .estate_for(&user, &code, Permission::RecordPayment)
        .await?;
    if !["cash", "wechat", "alipay", "bank", "other"].contains(&b.method.as_str()) {
        return Err(invalid(
            "method",
            format!(
                "{:?} is not one of cash, wechat, alipay, bank, other",
                b.method
            ),
        ));
    }
    let paid_on = match &b.paid_on {
        Some(d) => parse_date("paid_on", d)?,
        None => today(&e),
    };
    let mut objects: Vec<(ObjectKind, i64)> =
        b.room_ids.iter().map(|i| (ObjectKind::Room, *i)).collect();
    objects.extend(b.space_ids.iter().map(|i| (ObjectKind::Space, *i)));
    let p = NewPayment {
        estate_id: e.id,
        objects,
        line_ids: b.line_ids,
        amount: Fen::parse_yuan("amount", &b.amount)?,
        method: b.method,
        paid_on,
        at: doorstep_app::now(),
        recorded_by: Some(user.id),
        // Keys are unique across the database: the estate's name space, so
        // that one company's key never collides with another's.
        idempotency_key: b.idempotency_key.map(|k| format!("api:{}:{k}", e.id)),
        booking_id: None,
        offline: false,
        only_due_now: false,
    };
    let rec = app.store.record_payment(&p).await?;
    // The e-receipt at once (a failure leaves it to the receipt job).
    app.receipt_issued_now(rec.id).await;
    to_json(&rec)
}

#[derive(Deserialize)]
struct ReasonBody {
    reason: String,
    #[serde(default = "yes")]
    disputed: bool,
}

async fn waive_late_fee(
    State(app): State<App>,
    Staff(user): Staff,
    Path((code, id)): Path<(String, i64)>,
    Body(b): Body<ReasonBody>,
) -> ApiResult {
    to_json(&app.waive_late_fee(&user, &code, id, &b.reason).await?)
}

async fn waive_line(
    State(app): State<App>,
    Staff(user): Staff,
    Path((code, id)): Path<(String, i64)>,
    Body(b): Body<ReasonBody>,
) -> ApiResult {
    to_json(&app.waive_line(&user, &code, id, &b.reason).await?)
}

async fn set_dispute(
    State(app): State<App>,
    Staff(user): Staff,
    Path((code, id)): Path<(String, i64)>,
    Body(b): Body<ReasonBody>,
) -> ApiResult {
    to_json(
        &app.set_dispute(&user, &code, id, b.disputed, &b.reason)
            .await?,
    )
}

#[derive(Deserialize)]
struct AmountsBody {
    period: String,
    amounts: Vec<AmountEntry>,
}

#[derive(Deserialize)]
struct AmountEntry {
    room_id: i64,
    /// Yuan as text, e.g. "35.60".
    amount: String,
}

async fn set_entered_amounts(
    State(app): State<App>,
    Staff(user): Staff,
    Path((code, id)): Path<(String, i64)>,
    Body(b): Body<AmountsBody>,
) -> ApiResult {
    let period = Period::parse(&b.period)?;
    let amounts = b
        .amounts
        .iter()
        .map(|a| Ok((a.room_id, Fen::parse_yuan("amount", &a.amount)?)))
        .collect::<Result<Vec<_>, DomainError>>()?;
    let n = app
        .set_entered_amounts(&user, &code, id, period, &amounts)
        .await?;
    Ok(Json(json!({ "entered": n })))
}
