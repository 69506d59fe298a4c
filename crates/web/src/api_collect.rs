//! The collecting part of the JSON API: the collector's stops, check-in,
//! cash, QR and payment-code payments (with a server-sent event stream that
//! turns the screen to "paid"), signatures, the offline queue's sync; shifts,
//! handovers, voids and refunds, reconciliation and the ledger check for
//! finance; and the providers' notification endpoints.

use crate::WebError;
use crate::api::{ApiResult, to_json};
use crate::error::Body;
use crate::session::Staff;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use doorstep_app::collect::{CashInput, CheckinInput, OfflineAction, SignatureInput};
use doorstep_app::pay::OrderRequest;
use doorstep_app::{App, AppError, parse_date, today};
use doorstep_domain::{Lang, Permission};
use doorstep_store::Geofence;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

/// The collecting routes (merged into `/api/v1`).
pub fn router() -> Router<App> {
    Router::new()
        .route("/estates/{code}/collector/stops", get(list_collector_stops))
        .route("/visits/{id}", get(get_collector_stop))
        .route("/visits/{id}/check-in", post(check_in))
        .route("/visits/{id}/cash", post(record_cash_payment))
        .route("/visits/{id}/qr", post(create_qr_payment))
        .route("/visits/{id}/code-payment", post(create_code_payment))
        .route("/visits/{id}/signature", post(record_signature))
        .route("/payments/{id}", get(get_payment))
        .route("/payments/{id}/events", get(payment_events))
        .route("/payments/{id}/cancel", post(cancel_payment))
        .route("/sync", post(sync_offline_actions))
        .route("/estates/{code}/shifts", post(open_shift).get(get_my_shift))
        .route("/shifts/{id}/close", post(close_shift))
        .route("/shifts/{id}/handover", post(submit_handover))
        .route(
            "/shifts/{id}/handover/acknowledgement",
            post(acknowledge_handover),
        )
        .route("/shifts/{id}/handover/approval", post(approve_handover))
        .route("/estates/{code}/cash", get(get_cash_status))
        .route("/estates/{code}/daily-close", post(close_day))
        .route("/payments-recorded/{id}/reversals", post(request_reversal))
        .route("/reversals/{id}/decision", post(decide_reversal))
        .route("/estates/{code}/reversals", get(list_reversals))
        .route(
            "/estates/{code}/reconciliations",
            post(reconcile_provider).get(list_reconciliations),
        )
        .route("/estates/{code}/ledger-check", get(check_ledger))
        .route("/provider-events", get(list_provider_events))
        .route(
            "/estates/{code}/collect-settings",
            get(get_collect_settings).put(set_collect_settings),
        )
        .route(
            "/estates/{code}/geofences",
            get(list_geofences).put(set_geofence),
        )
}

/// The providers' notification endpoints (outside `/api/v1`: the paths are
/// given to the providers as `notify_url`).
pub fn notify_router() -> Router<App> {
    Router::new()
        .route("/pay/notify/wechat/{merchant}", post(wechatpay_notify))
        .route("/pay/notify/alipay/{merchant}", post(alipay_notify))
}

#[derive(Deserialize)]
struct DateQuery {
    date: Option<String>,
}

async fn list_collector_stops(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Query(q): Query<DateQuery>,
) -> ApiResult {
    let date = match q.date.as_deref() {
        Some(d) => parse_date("date", d)?,
        None => today(&app.estate(&code).await?),
    };
    let (routes, stops) = app.collector_stops(&user, &code, date).await?;
    to_json(&json!({"date": date.to_string(), "routes": routes, "stops": stops}))
}

/// The stop, with the open QR / payment-code orders of the visit (the page
/// shows them again after a reload) and the payments not signed for yet
/// (the signature card confirms the last).
async fn get_collector_stop(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
) -> ApiResult {
    let mut v = to_json(&app.collector_stop(&user, id).await?)?;
    v.0["open_orders"] = to_json(&app.open_orders(&user, id).await?)?.0;
    v.0["unsigned_payments"] = to_json(&app.unsigned_payments(&user, id).await?)?.0;
    Ok(v)
}

/// A payment's answer. One refused because the visit's bill lines are held
/// by an open QR or payment-code order is answered 409 in the collector's
/// language, pointing at that order and carrying it (`open_orders`), so the
/// page shows it again (its QR, its state, a cancel button) instead of the
/// store's English and a wait.
async fn payment_answer<T: serde::Serialize>(
    app: &App,
    user: &doorstep_store::User,
    visit: i64,
    headers: &HeaderMap,
    r: Result<T, AppError>,
) -> Result<Response, WebError> {
    match r {
        Ok(v) => Ok(to_json(&v)?.into_response()),
        Err(AppError::Conflict(m)) if m.contains(doorstep_store::HELD_BY_OPEN_ORDER) => {
            let l = crate::session::lang(headers);
            let orders = app.open_orders(user, visit).await?;
            Ok((
                StatusCode::CONFLICT,
                axum::Json(json!({
                    "error": "held_by_open_order",
                    "message": held_message(l, &orders),
                    "open_orders": orders,
                })),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// "These bills are being paid through the open order …" in `l`.
pub(crate) fn held_message(l: Lang, orders: &[doorstep_app::pay::PaymentView]) -> String {
    match orders.last() {
        Some(o) => {
            let (p_zh, p_en) = match o.provider.as_str() {
                "wechat" => ("微信", "WeChat"),
                _ => ("支付宝", "Alipay"),
            };
            let code = o.collection.method.ends_with("_code");
            let amount = o.collection.amount;
            if l == Lang::En {
                format!(
                    "These bills are being paid through an open {p_en} {} order of {amount}: finish it or cancel it on this visit's page, then take the payment again.",
                    if code { "payment-code" } else { "QR" }
                )
            } else {
                format!(
                    "这些账单正在通过一笔未完成的{p_zh}{}订单（{amount}）收款：请在本页完成或取消该订单后再收款。",
                    if code { "付款码" } else { "二维码" }
                )
            }
        }
        None => l
            .pick(
                "这些账单正在通过另一笔未完成的订单收款（不是您在本次上门发起的）：请先完成或取消该订单。",
                "These bills are being paid through another open order (not yours at this visit): finish or cancel that order first.",
            )
            .to_string(),
    }
}

async fn check_in(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
    Body(b): Body<CheckinInput>,
) -> ApiResult {
    to_json(&app.check_in(&user, id, &b).await?)
}

async fn record_cash_payment(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Body(b): Body<CashInput>,
) -> Result<Response, WebError> {
    let r = app.record_cash(&user, id, &b).await;
    payment_answer(&app, &user, id, &headers, r).await
}

#[derive(Deserialize)]
struct QrBody {
    provider: String,
    amount: String,
    client_key: Option<String>,
    /// Also pay the bills not yet due (a prepayment the owner chose).
    #[serde(default)]
    prepay: bool,
}

async fn create_qr_payment(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Body(b): Body<QrBody>,
) -> Result<Response, WebError> {
    let order = OrderRequest {
        provider: b.provider.trim().to_string(),
        amount: b.amount,
        client_key: b.client_key,
        prepay: b.prepay,
    };
    let r = app.create_qr_order(&user, id, &order).await;
    payment_answer(&app, &user, id, &headers, r).await
}

#[derive(Deserialize)]
struct CodeBody {
    provider: String,
    amount: String,
    auth_code: String,
    client_key: Option<String>,
    /// Also pay the bills not yet due (a prepayment the owner chose).
    #[serde(default)]
    prepay: bool,
}

async fn create_code_payment(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Body(b): Body<CodeBody>,
) -> Result<Response, WebError> {
    let order = OrderRequest {
        provider: b.provider.trim().to_string(),
        amount: b.amount,
        client_key: b.client_key,
        prepay: b.prepay,
    };
    let r = app
        .create_code_payment(&user, id, &order, &b.auth_code)
        .await;
    payment_answer(&app, &user, id, &headers, r).await
}

async fn record_signature(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
    Body(b): Body<SignatureInput>,
) -> ApiResult {
    to_json(&app.record_signature(&user, id, &b).await?)
}

async fn get_payment(State(app): State<App>, Staff(user): Staff, Path(id): Path<i64>) -> ApiResult {
    to_json(&app.get_payment(&user, id).await?)
}

async fn cancel_payment(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
) -> ApiResult {
    to_json(&app.cancel_payment(&user, id).await?)
}

/// Server-sent events for one payment order: a `state` event whenever its
/// state changes, until it is paid, closed or failed. The stream reads the
/// order's row (so a notification taken by any instance shows at once) and
/// every five seconds asks the provider (the fallback when no notification
/// comes).
async fn payment_events(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let first = app.payment_state(&user, id).await?;
    struct St {
        app: App,
        user: doorstep_store::User,
        last: Option<String>,
        ticks: u32,
        done: bool,
        first: Option<doorstep_app::pay::PaymentView>,
    }
    let st = St {
        app,
        user,
        last: None,
        ticks: 0,
        done: false,
        first: Some(first),
    };
    let stream = futures_util::stream::unfold(st, move |mut st| async move {
        if st.done {
            return None;
        }
        loop {
            let view = match st.first.take() {
                Some(v) => Ok(v),
                None => {
                    tokio::time::sleep(Duration::from_millis(400)).await;
                    st.ticks += 1;
                    if st.ticks % 12 == 0 {
                        st.app.get_payment(&st.user, id).await
                    } else {
                        st.app.payment_state(&st.user, id).await
                    }
                }
            };
            let view = match view {
                Ok(v) => v,
                Err(e) => {
                    st.done = true;
                    let ev = Event::default().event("error").data(e.to_string());
                    return Some((Ok::<Event, std::convert::Infallible>(ev), st));
                }
            };
            let key = format!("{}:{}", view.collection.status, view.seconds_left > 0);
            // Ten minutes at most per stream; the page reconnects if needed.
            if st.ticks > 1500 {
                st.done = true;
            }
            if st.last.as_deref() != Some(key.as_str()) || st.done {
                st.last = Some(key);
                if view.collection.status != "open" {
                    st.done = true;
                }
                let data = serde_json::to_string(&json!({
                    "id": view.collection.id,
                    "status": view.collection.status,
                    "state_zh": view.state_zh,
                    "seconds_left": view.seconds_left,
                    "payment_id": view.collection.payment_id,
                    "transaction_id": view.collection.transaction_id,
                    "receipt": view.receipt,
                }))
                .unwrap_or_default();
                return Some((Ok(Event::default().event("state").data(data)), st));
            }
        }
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

#[derive(Deserialize)]
struct SyncBody {
    actions: Vec<OfflineAction>,
}

async fn sync_offline_actions(
    State(app): State<App>,
    Staff(user): Staff,
    Body(b): Body<SyncBody>,
) -> ApiResult {
    let results = app.sync_offline(&user, &b.actions).await?;
    to_json(&json!({"results": results}))
}

async fn open_shift(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
) -> ApiResult {
    to_json(&app.open_shift(&user, &code).await?)
}

async fn get_my_shift(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
) -> ApiResult {
    to_json(&app.my_shift(&user, &code).await?)
}

async fn close_shift(State(app): State<App>, Staff(user): Staff, Path(id): Path<i64>) -> ApiResult {
    to_json(&app.close_shift(&user, id).await?)
}

#[derive(Deserialize)]
struct HandoverBody {
    counted: String,
    /// Required when the count differs from the ledger (`note` is the old
    /// name).
    #[serde(default, alias = "note")]
    reason: String,
}

async fn submit_handover(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
    Body(b): Body<HandoverBody>,
) -> ApiResult {
    let s = app
        .submit_handover(&user, id, &b.counted, &b.reason)
        .await?;
    let pending = match s.difference() {
        Some(d) if d.0 != 0 => Some("pending"),
        _ => None,
    };
    to_json(&json!({"shift": s, "difference": s.difference(), "difference_status": pending}))
}

#[derive(Deserialize)]
struct AcknowledgeBody {
    #[serde(default)]
    dispute: bool,
    #[serde(default)]
    note: String,
}

async fn acknowledge_handover(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
    Body(b): Body<AcknowledgeBody>,
) -> ApiResult {
    to_json(
        &app.respond_to_difference(&user, id, b.dispute, &b.note)
            .await?,
    )
}

async fn approve_handover(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
) -> ApiResult {
    to_json(&app.approve_difference(&user, id).await?)
}

async fn get_cash_status(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
) -> ApiResult {
    let (_, status) = app.cash_status(&user, &code).await?;
    to_json(&status)
}

async fn close_day(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(b): Body<DateQuery>,
) -> ApiResult {
    let day = b
        .date
        .as_deref()
        .map(|d| parse_date("date", d))
        .transpose()?;
    to_json(&app.daily_close(&user, &code, day).await?)
}

#[derive(Deserialize)]
struct ReversalBody {
    kind: String,
    reason: String,
}

async fn request_reversal(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
    Body(b): Body<ReversalBody>,
) -> ApiResult {
    to_json(
        &app.request_reversal(&user, id, b.kind.trim(), &b.reason)
            .await?,
    )
}

#[derive(Deserialize)]
struct DecisionBody {
    approve: bool,
}

async fn decide_reversal(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
    Body(b): Body<DecisionBody>,
) -> ApiResult {
    to_json(&app.decide_reversal(&user, id, b.approve).await?)
}

async fn list_reversals(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
) -> ApiResult {
    let (_, list) = app.reversals(&user, &code).await?;
    to_json(&list)
}

#[derive(Deserialize)]
struct ReconcileBody {
    provider: String,
    date: String,
}

async fn reconcile_provider(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(b): Body<ReconcileBody>,
) -> ApiResult {
    let date = parse_date("date", &b.date)?;
    to_json(&app.reconcile(&user, &code, b.provider.trim(), date).await?)
}

async fn list_reconciliations(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
) -> ApiResult {
    let list = app.reconciliations(&user, &code).await?;
    to_json(
        &list
            .into_iter()
            .map(|(m, runs)| json!({"merchant": m, "runs": runs}))
            .collect::<Vec<_>>(),
    )
}

async fn check_ledger(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
) -> ApiResult {
    let estate = app.estate_for(&user, &code, Permission::Treasury).await?;
    to_json(&doorstep_app::custody::ledger_report(&app, Some(estate.id)).await?)
}

async fn list_geofences(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
) -> ApiResult {
    to_json(&app.geofences(&user, &code).await?)
}

async fn set_geofence(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(g): Body<Geofence>,
) -> ApiResult {
    to_json(&app.set_geofence(&user, &code, &g).await?)
}

async fn get_collect_settings(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
) -> ApiResult {
    to_json(&app.collect_settings(&user, &code).await?)
}

#[derive(Deserialize)]
struct SettingsBody {
    allow_prepay: bool,
    qr_expiry_seconds: i64,
    cash_limit: String,
    cash_limit_hours: i64,
}

async fn set_collect_settings(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(b): Body<SettingsBody>,
) -> ApiResult {
    let s = doorstep_store::CollectSettings {
        allow_prepay: b.allow_prepay,
        qr_expiry_seconds: b.qr_expiry_seconds,
        cash_limit: doorstep_domain::Fen::parse_yuan("cash_limit", &b.cash_limit)?,
        cash_limit_hours: b.cash_limit_hours,
    };
    app.set_collect_settings(&user, &code, &s).await?;
    to_json(&s)
}

#[derive(Deserialize)]
struct EventsQuery {
    out_trade_no: Option<String>,
}

async fn list_provider_events(
    State(app): State<App>,
    Staff(user): Staff,
    Query(q): Query<EventsQuery>,
) -> ApiResult {
    doorstep_app::require(&user, Permission::Treasury)?;
    let list = app
        .store
        .provider_events(q.out_trade_no.as_deref(), 200)
        .await
        .map_err(AppError::from)?;
    to_json(
        &list
            .into_iter()
            .map(|(provider, notify_id, out_trade_no, verdict, detail, at)| {
                json!({"provider": provider, "notify_id": notify_id, "out_trade_no": out_trade_no,
                       "verdict": verdict, "detail": detail, "received_at": at})
            })
            .collect::<Vec<_>>(),
    )
}

fn header_list(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .filter_map(|(k, v)| {
            Some((
                k.as_str().to_ascii_lowercase(),
                v.to_str().ok()?.to_string(),
            ))
        })
        .collect()
}

async fn notify(
    app: App,
    provider: &str,
    merchant: i64,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (status, ctype, body) = app
        .handle_notification(provider, merchant, &header_list(&headers), &body)
        .await;
    let mut res = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, ctype)],
        body,
    )
        .into_response();
    res.extensions_mut().insert(ProviderAnswer);
    res
}

/// Marks a notification answer: a 5xx there is the provider's documented
/// way to say "refused" (WeChat Pay), not a server failure, so the request
/// log must not raise it to ERROR for every anonymous probe.
#[derive(Clone, Copy)]
pub(crate) struct ProviderAnswer;

async fn wechatpay_notify(
    State(app): State<App>,
    Path(merchant): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    notify(app, "wechat", merchant, headers, body).await
}

async fn alipay_notify(
    State(app): State<App>,
    Path(merchant): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    notify(app, "alipay", merchant, headers, body).await
}
