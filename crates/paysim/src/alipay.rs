//! Alipay open API (gateway 1.0, RSA2), simulated: `POST /gateway.do` with
//! `alipay.trade.precreate`, `.pay`, `.query`, `.close`, `.cancel`,
//! `.refund`, `.fastpay.refund.query` and
//! `alipay.data.dataservice.bill.downloadurl.query`; the bill file itself at
//! `GET /alipay/bill/{token}`; and the `trade_status_sync` notification.
//!
//! Requests are checked against the registered app's public key; responses
//! are `{"<method>_response":{…},"sign":"…"}` with the member first, signed
//! with the simulator's Alipay key ([`crate::SimConfig::alipay_key`]).

use crate::state::{
    NotifyEvent, OrderKind, Sim, SimOrder, SimRefund, SimState, TradeState, now, uuid_like,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use doorstep_payments::alipay::{
    FORM_CONTENT_TYPE, MAX_AMOUNT_FEN, TradeBillRow, beijing_time, form_decode, form_encode, param,
    parse_beijing_time, render_trade_bill, response_body, sign_notification, verify_request,
};
use doorstep_payments::http::HttpRequest;
use doorstep_payments::{BillKind, BillRecord, Provider, fen_to_yuan, yuan_to_fen};
use serde_json::{Map, Value, json};

/// How long a precreated QR code stays payable at most (Alipay: 2 hours).
pub const QR_LIFETIME_SECS: i64 = 2 * 3600;

/// The Alipay routes: `POST`/`GET /gateway.do` and `GET /alipay/bill/{token}`.
pub fn routes() -> Router<Sim> {
    Router::new()
        .route("/gateway.do", post(gateway).get(gateway))
        .route("/alipay/bill/{token}", get(bill_file))
}

/// A gateway error: code, msg, sub_code, sub_msg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GwError {
    /// `40001`, `40002`, `40004`…
    pub code: &'static str,
    /// The gateway's words for the code.
    pub msg: &'static str,
    /// e.g. `ACQ.TRADE_NOT_EXIST`.
    pub sub_code: String,
    /// Human text.
    pub sub_msg: String,
}

fn missing(name: &str) -> GwError {
    GwError {
        code: "40001",
        msg: "Missing Required Arguments",
        sub_code: format!("isv.missing-{}", name.replace('_', "-")),
        sub_msg: format!("缺少必选参数 {name}"),
    }
}

fn invalid_arg(sub_code: &str, sub_msg: impl Into<String>) -> GwError {
    GwError {
        code: "40002",
        msg: "Invalid Arguments",
        sub_code: sub_code.to_string(),
        sub_msg: sub_msg.into(),
    }
}

fn business(sub_code: &str, sub_msg: impl Into<String>) -> GwError {
    GwError {
        code: "40004",
        msg: "Business Failed",
        sub_code: sub_code.to_string(),
        sub_msg: sub_msg.into(),
    }
}

fn bad_param(sub_msg: impl Into<String>) -> GwError {
    business("ACQ.INVALID_PARAMETER", sub_msg)
}

fn not_exist() -> GwError {
    business("ACQ.TRADE_NOT_EXIST", "交易不存在")
}

/// A successful (or `10003`) answer: code, msg and the member's fields.
type Outcome = Result<(&'static str, &'static str, Map<String, Value>), GwError>;

fn ok(fields: Value) -> Outcome {
    match fields {
        Value::Object(m) => Ok(("10000", "Success", m)),
        _ => Ok(("10000", "Success", Map::new())),
    }
}

/// One gateway call being served.
struct Call<'a> {
    sim: &'a Sim,
    app_id: String,
    biz: Map<String, Value>,
    host: String,
}

impl Call<'_> {
    /// A biz_content field as text (numbers as written).
    fn biz(&self, name: &str) -> Option<String> {
        match self.biz.get(name)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    fn need(&self, name: &str) -> Result<String, GwError> {
        self.biz(name)
            .ok_or_else(|| bad_param(format!("缺少参数 {name}")))
    }

    /// The order the call names (`out_trade_no` or `trade_no`).
    fn order_key(&self, st: &SimState) -> Result<Option<(String, String)>, GwError> {
        if let Some(out) = self.biz("out_trade_no") {
            let key = (self.app_id.clone(), out);
            return Ok(st.orders.contains_key(&key).then_some(key));
        }
        let Some(trade_no) = self.biz("trade_no") else {
            return Err(bad_param("out_trade_no 和 trade_no 不能同时为空"));
        };
        Ok(st
            .orders
            .iter()
            .find(|((m, _), o)| {
                *m == self.app_id && o.provider == Provider::Alipay && o.transaction_id == trade_no
            })
            .map(|(k, _)| k.clone()))
    }
}

fn check_out_trade_no(s: &str) -> Result<(), GwError> {
    let ok = (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(bad_param(format!("out_trade_no 不合法: {s}")))
    }
}

fn check_amount(s: &str, name: &str) -> Result<i64, GwError> {
    match yuan_to_fen(s) {
        Some(f) if (1..=MAX_AMOUNT_FEN).contains(&f) => Ok(f),
        _ => Err(bad_param(format!("{name} 不合法: {s}"))),
    }
}

fn check_subject(s: &str) -> Result<(), GwError> {
    let n = s.chars().count();
    if n == 0 || n > 256 || s.contains(['/', '=', '&']) {
        Err(bad_param(format!("subject 不合法: {s}")))
    } else {
        Ok(())
    }
}

/// An Alipay-looking trade number: date, `2200140`, a counter.
fn trade_no(sim: &Sim) -> String {
    let id = sim.next_id("");
    let (day, rest) = id.split_at(8.min(id.len()));
    format!("{day}2200140{rest}")
}

/// `abc***@126.com`-style masking of a payer id.
fn logon_id(payer: &str) -> String {
    let head: String = payer.chars().take(3).collect();
    format!("{head}***@alipay.sim")
}

/// The wire `trade_status` of an order.
pub fn trade_status(o: &SimOrder) -> &'static str {
    match o.state {
        TradeState::NotPaid | TradeState::UserPaying => "WAIT_BUYER_PAY",
        TradeState::Paid if o.refunded_fen() >= o.amount_fen => "TRADE_CLOSED",
        TradeState::Paid => "TRADE_SUCCESS",
        TradeState::Closed | TradeState::Reversed | TradeState::Failed => "TRADE_CLOSED",
    }
}

/// Closes an unpaid order whose time is up.
fn expire(o: &mut SimOrder, t: i64) {
    if matches!(o.state, TradeState::NotPaid | TradeState::UserPaying) && t > o.expires_at {
        o.state = TradeState::Closed;
        o.closed_at = Some(t);
    }
}

fn precreate(c: &Call<'_>, notify_url: Option<String>) -> Outcome {
    let out = c.need("out_trade_no")?;
    check_out_trade_no(&out)?;
    let amount = check_amount(&c.need("total_amount")?, "total_amount")?;
    let subject = c.need("subject")?;
    check_subject(&subject)?;
    let t = now();
    let mut expires = t + QR_LIFETIME_SECS;
    if let Some(te) = c.biz("time_expire") {
        let at = parse_beijing_time(&te).ok_or_else(|| bad_param("time_expire 格式不正确"))?;
        if at <= t {
            return Err(bad_param("time_expire 已过期"));
        }
        expires = expires.min(at);
    }
    let key = (c.app_id.clone(), out.clone());
    let new_trade_no = trade_no(c.sim);
    let token = format!("bax0{}", &uuid_like()[..20]);
    let mut st = c.sim.lock();
    if let Some(o) = st.orders.get_mut(&key) {
        expire(o, t);
        return match o.state {
            TradeState::NotPaid if o.kind == OrderKind::Qr && o.amount_fen == amount => ok(json!({
                "out_trade_no": out,
                "qr_code": format!("https://qr.alipay.com/{}", o.code_token),
            })),
            TradeState::Paid => Err(business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")),
            TradeState::Closed | TradeState::Reversed | TradeState::Failed => {
                Err(business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"))
            }
            _ => Err(business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")),
        };
    }
    st.orders.insert(
        key,
        SimOrder {
            provider: Provider::Alipay,
            merchant: c.app_id.clone(),
            out_trade_no: out.clone(),
            transaction_id: new_trade_no,
            kind: OrderKind::Qr,
            amount_fen: amount,
            description: subject,
            attach: c.biz("body"),
            notify_url,
            expires_at: expires,
            code_token: token.clone(),
            state: TradeState::NotPaid,
            payer: None,
            created_at: t,
            paid_at: None,
            closed_at: None,
            refunds: Vec::new(),
            scanned: false,
        },
    );
    ok(json!({
        "out_trade_no": out,
        "qr_code": format!("https://qr.alipay.com/{token}"),
    }))
}

fn paid_fields(o: &SimOrder) -> Value {
    let payer = o.payer.clone().unwrap_or_default();
    let amount = fen_to_yuan(o.amount_fen);
    json!({
        "trade_no": o.transaction_id,
        "out_trade_no": o.out_trade_no,
        "buyer_logon_id": logon_id(&payer),
        "buyer_user_id": payer,
        "total_amount": amount,
        "receipt_amount": amount,
        "buyer_pay_amount": amount,
        "point_amount": "0.00",
        "invoice_amount": amount,
        "gmt_payment": beijing_time(o.paid_at.unwrap_or(o.created_at)),
        "fund_bill_list": [{"fund_channel": "ALIPAYACCOUNT", "amount": amount}],
    })
}

fn pay(c: &Call<'_>, notify_url: Option<String>) -> Outcome {
    let out = c.need("out_trade_no")?;
    check_out_trade_no(&out)?;
    let amount = check_amount(&c.need("total_amount")?, "total_amount")?;
    let subject = c.need("subject")?;
    check_subject(&subject)?;
    let scene = c.need("scene")?;
    if scene != "bar_code" && scene != "security_code" {
        return Err(bad_param(format!("scene 不合法: {scene}")));
    }
    let code = c.need("auth_code")?;
    let t = now();
    let key = (c.app_id.clone(), out.clone());
    let new_trade_no = trade_no(c.sim);
    let (payer, needs_password) = {
        let mut st = c.sim.lock();
        if let Some(o) = st.orders.get_mut(&key) {
            expire(o, t);
            return match o.state {
                TradeState::Paid => Err(business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付")),
                TradeState::UserPaying => Ok((
                    "10003",
                    "Waiting for user to pay",
                    as_map(json!({"trade_no": o.transaction_id, "out_trade_no": out})),
                )),
                TradeState::Closed | TradeState::Reversed | TradeState::Failed => {
                    Err(business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"))
                }
                TradeState::NotPaid => Err(business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")),
            };
        }
        let Some(w) = st.wallet.get_mut(&code) else {
            return Err(business(
                "ACQ.PAYMENT_AUTH_CODE_INVALID",
                "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款",
            ));
        };
        if w.provider != Provider::Alipay || w.used_by.is_some() {
            return Err(business(
                "ACQ.PAYMENT_AUTH_CODE_INVALID",
                "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款",
            ));
        }
        if w.balance_fen < amount {
            return Err(business("ACQ.BUYER_BALANCE_NOT_ENOUGH", "买家余额不足"));
        }
        w.used_by = Some(out.clone());
        w.balance_fen -= amount;
        let (payer, needs_password) = (w.payer.clone(), w.needs_password);
        st.orders.insert(
            key.clone(),
            SimOrder {
                provider: Provider::Alipay,
                merchant: c.app_id.clone(),
                out_trade_no: out.clone(),
                transaction_id: new_trade_no.clone(),
                kind: OrderKind::Code,
                amount_fen: amount,
                description: subject,
                attach: c.biz("body"),
                notify_url,
                expires_at: t + QR_LIFETIME_SECS,
                code_token: format!("pay-{}", uuid_like()),
                state: if needs_password {
                    TradeState::UserPaying
                } else {
                    TradeState::NotPaid
                },
                payer: Some(payer.clone()),
                created_at: t,
                paid_at: None,
                closed_at: None,
                refunds: Vec::new(),
                scanned: true,
            },
        );
        (payer, needs_password)
    };
    if needs_password {
        return Ok((
            "10003",
            "Waiting for user to pay",
            as_map(json!({
                "trade_no": new_trade_no,
                "out_trade_no": out,
                "buyer_logon_id": logon_id(&payer),
                "total_amount": fen_to_yuan(amount),
            })),
        ));
    }
    c.sim
        .pay(&c.app_id, &out, &payer)
        .map_err(|e| business("ACQ.SYSTEM_ERROR", e))?;
    let o = c
        .sim
        .lock()
        .orders
        .get(&key)
        .cloned()
        .ok_or_else(|| business("ACQ.SYSTEM_ERROR", "order vanished"))?;
    ok(paid_fields(&o))
}

fn as_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn query(c: &Call<'_>) -> Outcome {
    let t = now();
    let mut st = c.sim.lock();
    let key = c.order_key(&st)?.ok_or_else(not_exist)?;
    let Some(o) = st.orders.get_mut(&key) else {
        return Err(not_exist());
    };
    expire(o, t);
    if o.kind == OrderKind::Qr && !o.scanned {
        // Alipay creates the trade when the payer scans.
        return Err(not_exist());
    }
    let mut fields = as_map(json!({
        "trade_no": o.transaction_id,
        "out_trade_no": o.out_trade_no,
        "trade_status": trade_status(o),
        "total_amount": fen_to_yuan(o.amount_fen),
    }));
    if let Some(p) = &o.payer {
        fields.insert("buyer_logon_id".into(), Value::String(logon_id(p)));
        fields.insert("buyer_user_id".into(), Value::String(p.clone()));
    }
    if let Some(paid) = o.paid_at {
        let amount = Value::String(fen_to_yuan(o.amount_fen));
        fields.insert("receipt_amount".into(), amount.clone());
        fields.insert("buyer_pay_amount".into(), amount);
        fields.insert("send_pay_date".into(), Value::String(beijing_time(paid)));
    }
    Ok(("10000", "Success", fields))
}

fn close(c: &Call<'_>) -> Outcome {
    let t = now();
    let mut st = c.sim.lock();
    let key = c.order_key(&st)?.ok_or_else(not_exist)?;
    let Some(o) = st.orders.get_mut(&key) else {
        return Err(not_exist());
    };
    expire(o, t);
    match o.state {
        TradeState::NotPaid | TradeState::UserPaying => {
            o.state = TradeState::Closed;
            o.closed_at = Some(t);
            if o.kind == OrderKind::Qr && !o.scanned {
                // Never scanned: no trade at Alipay (but the code no longer pays).
                return Err(not_exist());
            }
        }
        TradeState::Closed | TradeState::Reversed | TradeState::Failed => {}
        TradeState::Paid => return Err(business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法")),
    }
    ok(json!({"trade_no": o.transaction_id, "out_trade_no": o.out_trade_no}))
}

fn cancel(c: &Call<'_>, refund_id: String) -> Outcome {
    let t = now();
    let mut st = c.sim.lock();
    let key = c.order_key(&st)?.ok_or_else(not_exist)?;
    let Some(o) = st.orders.get_mut(&key) else {
        return Err(not_exist());
    };
    expire(o, t);
    let action = match o.state {
        TradeState::NotPaid | TradeState::UserPaying | TradeState::Closed | TradeState::Failed => {
            o.state = TradeState::Reversed;
            o.closed_at.get_or_insert(t);
            "close"
        }
        TradeState::Paid => {
            let rest = o.amount_fen - o.refunded_fen();
            if rest > 0 {
                o.refunds.push(SimRefund {
                    out_refund_no: format!("cancel-{}", o.out_trade_no),
                    refund_id,
                    amount_fen: rest,
                    at: t,
                });
            }
            o.state = TradeState::Reversed;
            o.closed_at = Some(t);
            "refund"
        }
        TradeState::Reversed if o.refunds.is_empty() => "close",
        TradeState::Reversed => "refund",
    };
    ok(json!({
        "trade_no": o.transaction_id,
        "out_trade_no": o.out_trade_no,
        "retry_flag": "N",
        "action": action,
    }))
}

fn refund(c: &Call<'_>, refund_id: String) -> Outcome {
    let amount = check_amount(&c.need("refund_amount")?, "refund_amount")?;
    let t = now();
    let mut st = c.sim.lock();
    let key = c.order_key(&st)?.ok_or_else(not_exist)?;
    let Some(o) = st.orders.get_mut(&key) else {
        return Err(not_exist());
    };
    if o.kind == OrderKind::Qr && !o.scanned {
        return Err(not_exist());
    }
    let request_no = c
        .biz("out_request_no")
        .unwrap_or_else(|| o.out_trade_no.clone());
    let fund_change = if let Some(r) = o.refunds.iter().find(|r| r.out_refund_no == request_no) {
        if r.amount_fen != amount {
            return Err(business("ACQ.DISCORDANT_REPEAT_REQUEST", "请求信息不一致"));
        }
        "N"
    } else {
        if o.state != TradeState::Paid {
            return Err(business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"));
        }
        if o.refunded_fen() + amount > o.amount_fen {
            return Err(business("ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"));
        }
        o.refunds.push(SimRefund {
            out_refund_no: request_no,
            refund_id,
            amount_fen: amount,
            at: t,
        });
        "Y"
    };
    let payer = o.payer.clone().unwrap_or_default();
    ok(json!({
        "trade_no": o.transaction_id,
        "out_trade_no": o.out_trade_no,
        "buyer_logon_id": logon_id(&payer),
        "buyer_user_id": payer,
        "fund_change": fund_change,
        "refund_fee": fen_to_yuan(o.refunded_fen()),
        "gmt_refund_pay": beijing_time(t),
    }))
}

fn refund_query(c: &Call<'_>) -> Outcome {
    let st = c.sim.lock();
    let key = c.order_key(&st)?.ok_or_else(not_exist)?;
    let Some(o) = st.orders.get(&key) else {
        return Err(not_exist());
    };
    let request_no = c
        .biz("out_request_no")
        .unwrap_or_else(|| o.out_trade_no.clone());
    let mut fields = as_map(json!({
        "trade_no": o.transaction_id,
        "out_trade_no": o.out_trade_no,
    }));
    if let Some(r) = o.refunds.iter().find(|r| r.out_refund_no == request_no) {
        fields.insert("out_request_no".into(), Value::String(request_no));
        fields.insert(
            "refund_amount".into(),
            Value::String(fen_to_yuan(r.amount_fen)),
        );
        fields.insert(
            "total_amount".into(),
            Value::String(fen_to_yuan(o.amount_fen)),
        );
        fields.insert(
            "refund_status".into(),
            Value::String("REFUND_SUCCESS".into()),
        );
        fields.insert("gmt_refund_pay".into(), Value::String(beijing_time(r.at)));
    }
    Ok(("10000", "Success", fields))
}

fn bill_url(c: &Call<'_>) -> Outcome {
    let bill_type = c.need("bill_type")?;
    if bill_type != "trade" {
        return Err(bad_param(format!("bill_type 不支持: {bill_type}")));
    }
    let date = c.need("bill_date")?;
    let valid = date.len() == 10 && jiff::civil::Date::strptime("%Y-%m-%d", &date).is_ok();
    if !valid {
        return Err(bad_param(format!("bill_date 格式不正确: {date}")));
    }
    if date.as_str() > &beijing_time(now())[..10] {
        return Err(business("isp.bill_not_exist", "账单不存在"));
    }
    let token = uuid_like();
    c.sim.lock().bill_tokens.insert(
        token.clone(),
        (Provider::Alipay, c.app_id.clone(), date, false),
    );
    ok(json!({"bill_download_url": format!("http://{}/alipay/bill/{token}", c.host)}))
}

/// Checks the common parameters and the signature; the app_id.
fn authenticate(sim: &Sim, params: &[(String, String)]) -> Result<String, GwError> {
    for name in [
        "app_id",
        "method",
        "sign",
        "sign_type",
        "timestamp",
        "version",
        "charset",
    ] {
        if param(params, name).is_none_or(str::is_empty) {
            return Err(missing(name));
        }
    }
    let app_id = param(params, "app_id").unwrap_or_default();
    let Some(app) = sim.alipay_app(app_id) else {
        return Err(invalid_arg("isv.invalid-app-id", "无效的AppID参数"));
    };
    if param(params, "sign_type") != Some("RSA2") {
        return Err(invalid_arg("isv.invalid-signature-type", "无效的签名类型"));
    }
    if !param(params, "charset").is_some_and(|c| c.eq_ignore_ascii_case("utf-8")) {
        return Err(invalid_arg("isv.invalid-charset", "字符集不合法"));
    }
    if param(params, "version") != Some("1.0") {
        return Err(invalid_arg("isv.invalid-version", "版本号不合法"));
    }
    if param(params, "timestamp")
        .and_then(parse_beijing_time)
        .is_none()
    {
        return Err(invalid_arg("isv.invalid-timestamp", "非法的时间戳参数"));
    }
    if !verify_request(params, &app.public_key) {
        return Err(invalid_arg("isv.invalid-signature", "验签出错"));
    }
    Ok(app_id.to_string())
}

const METHODS: [&str; 8] = [
    "alipay.trade.precreate",
    "alipay.trade.pay",
    "alipay.trade.query",
    "alipay.trade.close",
    "alipay.trade.cancel",
    "alipay.trade.refund",
    "alipay.trade.fastpay.refund.query",
    "alipay.data.dataservice.bill.downloadurl.query",
];

fn serve_call(sim: &Sim, params: Vec<(String, String)>, host: String) -> Outcome {
    let app_id = authenticate(sim, &params)?;
    let method = param(&params, "method").unwrap_or_default().to_string();
    let biz = match param(&params, "biz_content") {
        None | Some("") => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(invalid_arg(
                    "isv.invalid-biz-content",
                    "biz_content 不是 JSON 对象",
                ));
            }
        },
    };
    let notify_url = param(&params, "notify_url")
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    let call = Call {
        sim,
        app_id,
        biz,
        host,
    };
    match method.as_str() {
        "alipay.trade.precreate" => precreate(&call, notify_url),
        "alipay.trade.pay" => pay(&call, notify_url),
        "alipay.trade.query" => query(&call),
        "alipay.trade.close" => close(&call),
        "alipay.trade.cancel" => cancel(&call, sim.next_id("R")),
        "alipay.trade.refund" => refund(&call, sim.next_id("R")),
        "alipay.trade.fastpay.refund.query" => refund_query(&call),
        "alipay.data.dataservice.bill.downloadurl.query" => bill_url(&call),
        _ => Err(invalid_arg("isv.invalid-method", "不存在的方法名")),
    }
}

/// The signed response body for `method` (the `error_response` member for an
/// unknown method).
fn reply(sim: &Sim, method: &str, outcome: Outcome) -> Response {
    let member = match outcome {
        Ok((code, msg, mut fields)) => {
            fields.insert("code".into(), Value::String(code.into()));
            fields.insert("msg".into(), Value::String(msg.into()));
            fields
        }
        Err(e) => as_map(json!({
            "code": e.code,
            "msg": e.msg,
            "sub_code": e.sub_code,
            "sub_msg": e.sub_msg,
        })),
    };
    let method = if METHODS.contains(&method) {
        method
    } else {
        "error"
    };
    let member_json = Value::Object(member).to_string();
    match response_body(method, &member_json, &sim.cfg.alipay_key) {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn gateway(
    State(sim): State<Sim>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let mut params = Vec::new();
    let mut decode = |text: &str| match form_decode(text) {
        Ok(p) => {
            params.extend(p);
            true
        }
        Err(_) => false,
    };
    let query_ok = decode(query.as_deref().unwrap_or(""));
    let body_ok = std::str::from_utf8(&body).is_ok_and(&mut decode);
    let method = param(&params, "method").unwrap_or_default().to_string();
    if !query_ok || !body_ok {
        let e = invalid_arg("isv.invalid-encoding", "参数编码不合法 (UTF-8 form)");
        return reply(&sim, &method, Err(e));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let s = sim.clone();
    let outcome = tokio::task::spawn_blocking(move || serve_call(&s, params, host))
        .await
        .unwrap_or_else(|e| Err(business("ACQ.SYSTEM_ERROR", e.to_string())));
    reply(&sim, &method, outcome)
}

/// 当面付 service fee: 0.6 %, rounded half up.
pub fn service_fee(fen: i64) -> i64 {
    (fen * 6 + 500) / 1000
}

fn beijing_date(unix: i64) -> String {
    beijing_time(unix)[..10].to_string()
}

/// The rows of `app_id`'s trade bill for local `date`: payments and refunds
/// of its Alipay orders that day, plus the extra records put in for it.
pub fn bill_rows(sim: &Sim, app_id: &str, seller_id: &str, date: &str) -> Vec<TradeBillRow> {
    let st = sim.lock();
    let mut rows = Vec::new();
    for o in st.orders.values() {
        if o.provider != Provider::Alipay || o.merchant != app_id {
            continue;
        }
        let buyer = o.payer.as_deref().map(logon_id).unwrap_or_default();
        let row = |record: BillRecord, out_request_no: String| TradeBillRow {
            record,
            subject: o.description.clone(),
            order_fen: o.amount_fen,
            created_at: o.created_at,
            store_id: String::new(),
            out_request_no,
            buyer: buyer.clone(),
        };
        if let Some(paid) = o.paid_at.filter(|p| beijing_date(*p) == date) {
            rows.push(row(
                BillRecord {
                    transaction_id: o.transaction_id.clone(),
                    out_trade_no: o.out_trade_no.clone(),
                    kind: BillKind::Payment,
                    amount_fen: o.amount_fen,
                    fee_fen: service_fee(o.amount_fen),
                    at: paid,
                },
                String::new(),
            ));
        }
        for r in o.refunds.iter().filter(|r| beijing_date(r.at) == date) {
            rows.push(row(
                BillRecord {
                    transaction_id: o.transaction_id.clone(),
                    out_trade_no: o.out_trade_no.clone(),
                    kind: BillKind::Refund,
                    amount_fen: r.amount_fen,
                    fee_fen: service_fee(r.amount_fen),
                    at: r.at,
                },
                r.out_refund_no.clone(),
            ));
        }
    }
    for (merchant, rec) in &st.extra_bill_records {
        if (merchant == app_id || merchant == seller_id) && beijing_date(rec.at) == date {
            rows.push(TradeBillRow {
                record: rec.clone(),
                subject: "线下补录".to_string(),
                order_fen: rec.amount_fen,
                created_at: rec.at,
                store_id: String::new(),
                out_request_no: String::new(),
                buyer: String::new(),
            });
        }
    }
    rows.sort_by(|a, b| {
        (a.record.at, &a.record.out_trade_no).cmp(&(b.record.at, &b.record.out_trade_no))
    });
    rows
}

async fn bill_file(State(sim): State<Sim>, Path(token): Path<String>) -> Response {
    let entry = sim.lock().bill_tokens.get(&token).cloned();
    let Some((Provider::Alipay, app_id, date, _)) = entry else {
        return (StatusCode::NOT_FOUND, "no such bill").into_response();
    };
    let Some(app) = sim.alipay_app(&app_id) else {
        return (StatusCode::NOT_FOUND, "no such app").into_response();
    };
    let rows = bill_rows(&sim, &app_id, &app.seller_id, &date);
    let compact: String = date.chars().filter(char::is_ascii_digit).collect();
    match render_trade_bill(&app.seller_id, &date, &rows) {
        Ok(zip) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/zip".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"{}_{compact}.csv.zip\"",
                        app.seller_id
                    ),
                ),
            ],
            zip,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// The `trade_status_sync` notification for a paid order: form-encoded,
/// signed over everything but `sign` and `sign_type`, POSTed to the order's
/// notify URL. `None` for refund events (当面付 notifies `TRADE_SUCCESS`
/// only), orders without a notify URL or of an unknown app.
pub fn build_notification(
    sim: &Sim,
    o: &SimOrder,
    event: &NotifyEvent,
    notify_id: &str,
) -> Option<HttpRequest> {
    if *event != NotifyEvent::Paid {
        return None;
    }
    let url = o.notify_url.as_deref().filter(|u| !u.is_empty())?;
    let app = sim.alipay_app(&o.merchant)?;
    let amount = fen_to_yuan(o.amount_fen);
    let payer = o.payer.clone().unwrap_or_default();
    let fund_bill_list = json!([{"amount": amount, "fundChannel": "ALIPAYACCOUNT"}]).to_string();
    let mut params: Vec<(String, String)> = [
        ("notify_time", beijing_time(now())),
        ("notify_type", "trade_status_sync".to_string()),
        ("notify_id", notify_id.to_string()),
        ("app_id", app.app_id.clone()),
        ("auth_app_id", app.app_id.clone()),
        ("charset", "utf-8".to_string()),
        ("version", "1.0".to_string()),
        ("sign_type", "RSA2".to_string()),
        ("trade_no", o.transaction_id.clone()),
        ("out_trade_no", o.out_trade_no.clone()),
        ("buyer_id", payer.clone()),
        ("buyer_logon_id", logon_id(&payer)),
        ("seller_id", app.seller_id.clone()),
        ("trade_status", "TRADE_SUCCESS".to_string()),
        ("total_amount", amount.clone()),
        ("receipt_amount", amount.clone()),
        ("invoice_amount", amount.clone()),
        ("buyer_pay_amount", amount),
        ("point_amount", "0.00".to_string()),
        ("subject", o.description.clone()),
        ("body", o.attach.clone().unwrap_or_default()),
        ("gmt_create", beijing_time(o.created_at)),
        (
            "gmt_payment",
            beijing_time(o.paid_at.unwrap_or(o.created_at)),
        ),
        ("fund_bill_list", fund_bill_list),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let sign = sign_notification(&params, &sim.cfg.alipay_key).ok()?;
    params.push(("sign".to_string(), sign));
    Some(HttpRequest {
        method: "POST",
        url: url.to_string(),
        headers: vec![("Content-Type".to_string(), FORM_CONTENT_TYPE.to_string())],
        body: form_encode(&params).into_bytes(),
    })
}
