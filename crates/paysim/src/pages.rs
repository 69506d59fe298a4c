//! The tester's pages under `/sim` (Simplified Chinese, no JavaScript) and
//! their JSON twins under `/sim/api` for the tests: the orders, "scanning"
//! a QR code to pay or abandon it, a wallet that makes payment codes (付款码)
//! and confirms charges waiting for a password, the deliveries of
//! notifications, and extra records for the daily bills.

use crate::state::{Sim, SimOrder, TradeState, WalletCode, now};
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use doorstep_payments::{BillKind, BillRecord, Provider, fen_to_yuan};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use serde_json::json;

/// The `/sim` routes.
pub fn routes() -> Router<Sim> {
    Router::new()
        .route("/sim", get(index))
        .route("/sim/scan", get(scan_page))
        .route("/sim/scan/pay", post(scan_pay))
        .route("/sim/scan/abandon", post(scan_abandon))
        .route("/sim/wallet", get(wallet_page).post(wallet_create))
        .route("/sim/wallet/{code}/confirm", post(wallet_confirm))
        .route("/sim/wallet/{code}/cancel", post(wallet_cancel))
        .route("/sim/api/pay", post(api_pay))
        .route("/sim/api/wallet", post(api_wallet))
        .route("/sim/api/wallet/{code}/confirm", post(api_wallet_confirm))
        .route("/sim/api/orders", get(api_orders))
        .route("/sim/api/deliveries", get(api_deliveries))
        .route("/sim/api/bill-extra", post(api_bill_extra))
}

fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · 支付模拟器" }
                style { "body{font-family:sans-serif;margin:1rem;max-width:60rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem}button{font-size:1.1rem;margin:.25rem}" }
            }
            body {
                nav { a href="/sim" { "订单" } " · " a href="/sim/wallet" { "钱包（付款码）" } }
                h1 { (title) }
                (body)
            }
        }
    }
}

fn provider_label(p: Provider) -> &'static str {
    match p {
        Provider::Wechat => "微信支付",
        Provider::Alipay => "支付宝",
    }
}

fn state_label(s: &TradeState) -> &'static str {
    match s {
        TradeState::NotPaid => "未支付",
        TradeState::UserPaying => "用户支付中",
        TradeState::Paid => "已支付",
        TradeState::Closed => "已关闭",
        TradeState::Reversed => "已撤销",
        TradeState::Failed => "支付失败",
    }
}

fn state_code(s: &TradeState) -> &'static str {
    match s {
        TradeState::NotPaid => "not_paid",
        TradeState::UserPaying => "user_paying",
        TradeState::Paid => "paid",
        TradeState::Closed => "closed",
        TradeState::Reversed => "reversed",
        TradeState::Failed => "failed",
    }
}

/// The token inside a QR code's content: after `pr=` (WeChat) or after the
/// last `/` (Alipay).
pub fn code_token(code: &str) -> &str {
    let code = code.trim();
    if let Some((_, t)) = code.split_once("pr=") {
        return t.split('&').next().unwrap_or(t);
    }
    code.rsplit('/').next().unwrap_or(code)
}

/// A fresh payer id: an openid-like string for WeChat, a 2088… id for Alipay.
pub fn new_payer(p: Provider) -> String {
    match p {
        Provider::Wechat => format!("oSim{}", &crate::state::uuid_like()[..24]),
        Provider::Alipay => format!("2088{:012}", rand::random::<u64>() % 1_000_000_000_000),
    }
}

/// A fresh payment code: WeChat 18 digits starting 10–15, Alipay 18 digits
/// starting 25–30.
pub fn new_code(p: Provider) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let head = match p {
        Provider::Wechat => rng.gen_range(10..=15),
        Provider::Alipay => rng.gen_range(25..=30),
    };
    let tail: String = (0..16)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect();
    format!("{head}{tail}")
}

async fn index(State(sim): State<Sim>) -> Markup {
    let (mut orders, deliveries) = {
        let st = sim.lock();
        (
            st.orders.values().cloned().collect::<Vec<_>>(),
            st.deliveries.clone(),
        )
    };
    orders.sort_by_key(|o| std::cmp::Reverse(o.created_at));
    page(
        "订单",
        html! {
            @if orders.is_empty() { p { "还没有订单。" } }
            @else {
                table {
                    thead { tr {
                        th { "渠道" } th { "商户" } th { "商户订单号" } th { "金额（元）" }
                        th { "状态" } th { "已发通知" } th { "已确认" } th { "操作" }
                    } }
                    tbody {
                        @for o in &orders {
                            @let ds: Vec<_> = deliveries.iter()
                                .filter(|d| d.provider == o.provider
                                    && d.order == (o.merchant.clone(), o.out_trade_no.clone()))
                                .collect();
                            tr {
                                td { (provider_label(o.provider)) }
                                td { (o.merchant) }
                                td { (o.out_trade_no) }
                                td { (fen_to_yuan(o.amount_fen)) }
                                td { (state_label(&o.state)) }
                                td { (ds.iter().map(|d| d.attempts).sum::<usize>()) }
                                td { (if ds.iter().any(|d| d.acknowledged) { "是" } else { "否" }) }
                                td {
                                    @if o.state == TradeState::NotPaid && !o.code_token.is_empty() {
                                        a href={ "/sim/scan?code=" (o.code_token) } { "扫码" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

#[derive(Deserialize)]
struct ScanQuery {
    code: String,
}

async fn scan_page(State(sim): State<Sim>, Query(q): Query<ScanQuery>) -> Response {
    let token = code_token(&q.code).to_string();
    let Some(o) = sim.order_by_token(&token) else {
        return (
            StatusCode::NOT_FOUND,
            page("扫码", html! { p { "二维码无效或订单不存在。" } }),
        )
            .into_response();
    };
    page(
        "扫码支付",
        html! {
            dl {
                dt { "收款方" } dd { (provider_label(o.provider)) " · " (o.merchant) }
                dt { "金额" } dd { "¥" (fen_to_yuan(o.amount_fen)) }
                dt { "说明" } dd { (o.description) }
                dt { "状态" } dd { (state_label(&o.state)) }
            }
            @if o.state == TradeState::NotPaid {
                form method="post" action="/sim/scan/pay" {
                    input type="hidden" name="token" value=(token);
                    button type="submit" { "支付" }
                }
                form method="post" action="/sim/scan/abandon" {
                    input type="hidden" name="token" value=(token);
                    button type="submit" { "放弃" }
                }
            }
        },
    )
    .into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    token: String,
}

fn pay_by_token(sim: &Sim, token: &str) -> Result<SimOrder, String> {
    let o = sim
        .order_by_token(token)
        .ok_or_else(|| "二维码无效或订单不存在".to_string())?;
    sim.pay(&o.merchant, &o.out_trade_no, &new_payer(o.provider))?;
    Ok(o)
}

fn message_page(title: &str, msg: &str, status: StatusCode) -> Response {
    (status, page(title, html! { p { (msg) } })).into_response()
}

async fn scan_pay(State(sim): State<Sim>, Form(f): Form<TokenForm>) -> Response {
    match pay_by_token(&sim, &f.token) {
        Ok(o) => message_page(
            "支付成功",
            &format!("已支付 ¥{}。", fen_to_yuan(o.amount_fen)),
            StatusCode::OK,
        ),
        Err(e) => message_page("支付失败", &e, StatusCode::CONFLICT),
    }
}

async fn scan_abandon(State(sim): State<Sim>, Form(f): Form<TokenForm>) -> Response {
    match sim.order_by_token(&f.token) {
        Some(o) => {
            sim.scan(&o.merchant, &o.out_trade_no, &new_payer(o.provider));
            message_page("已放弃", "订单仍未支付。", StatusCode::OK)
        }
        None => message_page("扫码", "二维码无效或订单不存在。", StatusCode::NOT_FOUND),
    }
}

async fn wallet_page(State(sim): State<Sim>) -> Markup {
    let (mut codes, waiting): (Vec<WalletCode>, Vec<SimOrder>) = {
        let st = sim.lock();
        (
            st.wallet.values().cloned().collect(),
            st.orders
                .values()
                .filter(|o| o.state == TradeState::UserPaying)
                .cloned()
                .collect(),
        )
    };
    codes.sort_by(|a, b| a.code.cmp(&b.code));
    page(
        "钱包（付款码）",
        html! {
            h2 { "生成付款码" }
            form method="post" action="/sim/wallet" {
                label { "渠道 " select name="provider" {
                    option value="wechat" { "微信支付" }
                    option value="alipay" { "支付宝" }
                } }
                " "
                label { input type="checkbox" name="needs_password" value="on"; " 需要输入密码" }
                " "
                label { "余额（元） " input type="text" name="balance" value="1000.00" size="8"; }
                " "
                button type="submit" { "生成" }
            }
            h2 { "等待输入密码的扣款" }
            @if waiting.is_empty() { p { "没有。" } }
            @for o in &waiting {
                @let code = codes.iter().find(|c| c.used_by.as_deref() == Some(o.out_trade_no.as_str()));
                p {
                    (provider_label(o.provider)) " · " (o.merchant) " · " (o.out_trade_no)
                    " · ¥" (fen_to_yuan(o.amount_fen))
                }
                @if let Some(c) = code {
                    form method="post" action={ "/sim/wallet/" (c.code) "/confirm" } {
                        button type="submit" { "输入密码确认" }
                    }
                    form method="post" action={ "/sim/wallet/" (c.code) "/cancel" } {
                        button type="submit" { "取消" }
                    }
                }
            }
            h2 { "付款码" }
            table {
                thead { tr { th { "渠道" } th { "付款码" } th { "需要密码" } th { "余额（元）" } th { "已用于" } } }
                tbody {
                    @for c in &codes {
                        tr {
                            td { (provider_label(c.provider)) }
                            td { code { (c.code) } }
                            td { (if c.needs_password { "是" } else { "否" }) }
                            td { (fen_to_yuan(c.balance_fen)) }
                            td { (c.used_by.clone().unwrap_or_default()) }
                        }
                    }
                }
            }
        },
    )
}

fn make_code(sim: &Sim, provider: Provider, needs_password: bool, balance_fen: i64) -> String {
    let mut st = sim.lock();
    let code = loop {
        let c = new_code(provider);
        if !st.wallet.contains_key(&c) {
            break c;
        }
    };
    st.wallet.insert(
        code.clone(),
        WalletCode {
            code: code.clone(),
            provider,
            payer: new_payer(provider),
            needs_password,
            balance_fen,
            used_by: None,
        },
    );
    code
}

#[derive(Deserialize)]
struct WalletForm {
    provider: String,
    needs_password: Option<String>,
    balance: String,
}

async fn wallet_create(State(sim): State<Sim>, Form(f): Form<WalletForm>) -> Response {
    let Some(provider) = Provider::parse(&f.provider) else {
        return message_page("钱包", "未知渠道。", StatusCode::BAD_REQUEST);
    };
    let Some(balance) = doorstep_payments::yuan_to_fen(&f.balance) else {
        return message_page(
            "钱包",
            "余额格式不对（例如 100.00）。",
            StatusCode::BAD_REQUEST,
        );
    };
    make_code(&sim, provider, f.needs_password.is_some(), balance);
    Redirect::to("/sim/wallet").into_response()
}

/// Completes the charge waiting on a payment code: pays it if the balance
/// covers it, fails it otherwise.
fn confirm_code(sim: &Sim, code: &str) -> Result<(), String> {
    let (merchant, out_trade_no, payer) = {
        let mut st = sim.lock();
        let w = st
            .wallet
            .get(code)
            .cloned()
            .ok_or_else(|| "付款码不存在".to_string())?;
        let used_by = w
            .used_by
            .clone()
            .ok_or_else(|| "付款码没有待确认的扣款".to_string())?;
        let key = st
            .orders
            .iter()
            .find(|(_, o)| {
                o.provider == w.provider
                    && o.out_trade_no == used_by
                    && o.state == TradeState::UserPaying
            })
            .map(|(k, _)| k.clone())
            .ok_or_else(|| "没有等待输入密码的扣款".to_string())?;
        let amount = st.orders.get(&key).map(|o| o.amount_fen).unwrap_or(0);
        if w.balance_fen < amount {
            if let Some(o) = st.orders.get_mut(&key) {
                o.state = TradeState::Failed;
            }
            return Err("余额不足，支付失败".into());
        }
        if let Some(wc) = st.wallet.get_mut(code) {
            wc.balance_fen -= amount;
        }
        (key.0, key.1, w.payer)
    };
    sim.pay(&merchant, &out_trade_no, &payer)
}

async fn wallet_confirm(State(sim): State<Sim>, Path(code): Path<String>) -> Response {
    match confirm_code(&sim, &code) {
        Ok(()) => Redirect::to("/sim/wallet").into_response(),
        Err(e) => message_page("支付失败", &e, StatusCode::CONFLICT),
    }
}

async fn wallet_cancel(State(sim): State<Sim>, Path(code): Path<String>) -> Response {
    {
        let mut st = sim.lock();
        let w = st.wallet.get(&code).cloned();
        if let Some(w) = w
            && let Some(no) = w.used_by
        {
            for o in st.orders.values_mut() {
                if o.provider == w.provider
                    && o.out_trade_no == no
                    && o.state == TradeState::UserPaying
                {
                    o.state = TradeState::Failed;
                    o.closed_at = Some(now());
                }
            }
        }
    }
    Redirect::to("/sim/wallet").into_response()
}

#[derive(Deserialize)]
struct ApiPay {
    code: String,
}

async fn api_pay(State(sim): State<Sim>, Json(b): Json<ApiPay>) -> Response {
    match pay_by_token(&sim, code_token(&b.code)) {
        Ok(_) => Json(json!({"ok": true})).into_response(),
        Err(e) => (StatusCode::CONFLICT, Json(json!({"error": e}))).into_response(),
    }
}

#[derive(Deserialize)]
struct ApiWallet {
    provider: String,
    needs_password: bool,
    balance_fen: i64,
}

async fn api_wallet(State(sim): State<Sim>, Json(b): Json<ApiWallet>) -> Response {
    let Some(provider) = Provider::parse(&b.provider) else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": "provider must be wechat or alipay"})),
        )
            .into_response();
    };
    let code = make_code(&sim, provider, b.needs_password, b.balance_fen);
    Json(json!({"code": code})).into_response()
}

async fn api_wallet_confirm(State(sim): State<Sim>, Path(code): Path<String>) -> Response {
    match confirm_code(&sim, &code) {
        Ok(()) => Json(json!({"ok": true})).into_response(),
        Err(e) => (StatusCode::CONFLICT, Json(json!({"error": e}))).into_response(),
    }
}

async fn api_orders(State(sim): State<Sim>) -> Json<serde_json::Value> {
    let st = sim.lock();
    let mut list: Vec<&SimOrder> = st.orders.values().collect();
    list.sort_by_key(|o| (o.created_at, o.out_trade_no.clone()));
    Json(serde_json::Value::Array(
        list.into_iter()
            .map(|o| {
                json!({
                    "provider": o.provider,
                    "merchant": o.merchant,
                    "out_trade_no": o.out_trade_no,
                    "transaction_id": o.transaction_id,
                    "amount_fen": o.amount_fen,
                    "description": o.description,
                    "state": state_code(&o.state),
                    "code_token": o.code_token,
                    "scanned": o.scanned,
                    "payer": o.payer,
                    "expires_at": o.expires_at,
                    "paid_at": o.paid_at,
                    "refunded_fen": o.refunded_fen(),
                })
            })
            .collect(),
    ))
}

async fn api_deliveries(State(sim): State<Sim>) -> Json<serde_json::Value> {
    let st = sim.lock();
    Json(serde_json::Value::Array(
        st.deliveries
            .iter()
            .map(|d| {
                json!({
                    "provider": d.provider,
                    "merchant": d.order.0,
                    "out_trade_no": d.order.1,
                    "notify_id": d.notify_id,
                    "attempts": d.attempts,
                    "acknowledged": d.acknowledged,
                    "done": d.done,
                })
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
struct ApiRecord {
    transaction_id: String,
    out_trade_no: String,
    kind: String,
    amount_fen: i64,
    #[serde(default)]
    fee_fen: i64,
    at: i64,
}

#[derive(Deserialize)]
struct ApiBillExtra {
    provider: String,
    merchant: String,
    record: ApiRecord,
}

async fn api_bill_extra(State(sim): State<Sim>, Json(b): Json<ApiBillExtra>) -> Response {
    let kind = match b.record.kind.as_str() {
        "payment" => BillKind::Payment,
        "refund" => BillKind::Refund,
        _ => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"error": "kind must be payment or refund"})),
            )
                .into_response();
        }
    };
    if Provider::parse(&b.provider).is_none() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": "provider must be wechat or alipay"})),
        )
            .into_response();
    }
    sim.lock().extra_bill_records.push((
        b.merchant,
        BillRecord {
            transaction_id: b.record.transaction_id,
            out_trade_no: b.record.out_trade_no,
            kind,
            amount_fen: b.record.amount_fen,
            fee_fen: b.record.fee_fen,
            at: b.record.at,
        },
    ));
    Json(json!({"ok": true})).into_response()
}
