//! WeChat Pay API v3, simulated: every request's `Authorization` is checked
//! against the merchant's registered key, every response is signed with the
//! platform key, notifications carry resources encrypted with the APIv3 key.

use crate::state::{
    NotifyEvent, OrderKind, RefundPlan, Sim, SimOrder, SimRefund, SimState, TradeState,
    WechatMerchant, now, uuid_like,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use doorstep_payments::http::HttpRequest;
use doorstep_payments::wechat::types::{
    CertificateEntry, CertificatesResponse, CloseRequest, CodepayRequest, EncryptedResource,
    ErrorBody, NativeRequest, NativeResponse, Notification, RefundAmount, RefundNotice,
    RefundRequest, RefundResponse, ReverseRequest, TradeBillResponse, Transaction,
    TransactionAmount, TransactionPayer, format_time, parse_time,
};
use doorstep_payments::wechat::{
    REPLAY_WINDOW, TradeBillRow, encrypt_resource, parse_authorization, render_trade_bill,
    response_headers, sign_message,
};
use doorstep_payments::{BillKind, Provider, keys};
use serde::Serialize;

/// The `/v3/...` routes.
pub fn routes() -> Router<Sim> {
    Router::new()
        .route("/v3/pay/transactions/native", post(native))
        .route("/v3/pay/transactions/codepay", post(codepay))
        .route("/v3/pay/transactions/out-trade-no/{no}", get(query))
        .route("/v3/pay/transactions/out-trade-no/{no}/close", post(close))
        .route(
            "/v3/pay/transactions/out-trade-no/{no}/reverse",
            post(reverse),
        )
        .route("/v3/refund/domestic/refunds", post(refund))
        .route("/v3/refund/domestic/refunds/{no}", get(refund_query))
        .route("/v3/certificates", get(certificates))
        .route("/v3/bill/tradebill", get(tradebill))
        .route("/v3/billdownload/file", get(bill_download))
}

/// Seconds a bill download token stays valid.
const BILL_TOKEN_SECONDS: i64 = 300;

/// A random string of `n` letters and digits.
fn nonce(n: usize) -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// The serial a response is signed under: the platform certificate's if the
/// request named it, else the public key's id.
fn response_serial(sim: &Sim, req_headers: &HeaderMap) -> String {
    let asked = req_headers
        .get("wechatpay-serial")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if asked != sim.cfg.wechat_public_key_id
        && let Ok((serial, ..)) = sim.wechat_platform_cert()
    {
        return serial;
    }
    sim.cfg.wechat_public_key_id.clone()
}

/// A signed response with a JSON (or empty) body.
fn signed(sim: &Sim, req_headers: &HeaderMap, status: StatusCode, body: Vec<u8>) -> Response {
    let serial = response_serial(sim, req_headers);
    let mut resp = (status, body.clone()).into_response();
    let h = resp.headers_mut();
    if !body.is_empty() {
        h.insert("content-type", HeaderValue::from_static("application/json"));
    }
    if let Ok(v) = HeaderValue::from_str(&uuid_like()) {
        h.insert("request-id", v);
    }
    match response_headers(
        &sim.cfg.wechat_platform_key,
        &serial,
        &body,
        now(),
        &nonce(32),
    ) {
        Ok(list) => {
            for (k, v) in list {
                if let (Ok(name), Ok(value)) = (
                    axum::http::HeaderName::try_from(k.to_ascii_lowercase()),
                    HeaderValue::from_str(&v),
                ) {
                    h.insert(name, value);
                }
            }
        }
        Err(e) => tracing::error!("paysim: cannot sign a WeChat response: {e}"),
    }
    resp
}

fn json_body<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

fn ok<T: Serialize>(sim: &Sim, h: &HeaderMap, v: &T) -> Response {
    signed(sim, h, StatusCode::OK, json_body(v))
}

fn fail(sim: &Sim, h: &HeaderMap, status: StatusCode, code: &str, message: &str) -> Response {
    let body = ErrorBody {
        code: code.into(),
        message: message.into(),
    };
    signed(sim, h, status, json_body(&body))
}

fn param_error(sim: &Sim, h: &HeaderMap, message: &str) -> Response {
    fail(sim, h, StatusCode::BAD_REQUEST, "PARAM_ERROR", message)
}

/// Checks the `Authorization` header against the merchant's registered key:
/// schema and parameters, known mchid and serial, timestamp within five
/// minutes, and the signature over method, path with query, and body.
fn authenticate(
    sim: &Sim,
    method: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<WechatMerchant, Box<Response>> {
    let sign_error = |msg: &str| {
        Box::new(fail(
            sim,
            headers,
            StatusCode::UNAUTHORIZED,
            "SIGN_ERROR",
            msg,
        ))
    };
    let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(sign_error("缺少 Authorization 请求头"));
    };
    let auth = parse_authorization(value).map_err(|e| sign_error(&format!("签名错误: {e}")))?;
    let Some(m) = sim.wechat_merchant(&auth.mchid).cloned() else {
        return Err(sign_error("商户号不存在或未开通 APIv3"));
    };
    if !auth.serial_no.eq_ignore_ascii_case(&m.serial_no) {
        return Err(sign_error("商户证书序列号有误"));
    }
    if now().abs_diff(auth.timestamp) >= REPLAY_WINDOW as u64 {
        return Err(sign_error("请求时间与当前时间相差过大"));
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return Err(Box::new(param_error(sim, headers, "请求体不是 UTF-8")));
    };
    let canonical = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| uri.path().to_string());
    let message = sign_message(method, &canonical, auth.timestamp, &auth.nonce_str, text);
    if !keys::verify_sha256(&m.public_key, message.as_bytes(), &auth.signature) {
        return Err(sign_error("签名错误"));
    }
    Ok(m)
}

fn parse_body<T: serde::de::DeserializeOwned>(
    sim: &Sim,
    h: &HeaderMap,
    body: &[u8],
) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(param_error(
            sim,
            h,
            &format!("输入源“/body”映射到值字段失败: {e}"),
        ))
    })
}

/// WeChat's order-number rule: 6–32 characters of `[0-9A-Za-z_-|*]`.
fn valid_out_trade_no(s: &str) -> bool {
    (6..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-|*".contains(&b))
}

fn query_param<'a>(uri: &'a Uri, name: &str) -> Option<&'a str> {
    uri.query()?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The order's WeChat `trade_state`.
pub fn trade_state(o: &SimOrder) -> &'static str {
    match o.state {
        TradeState::NotPaid => "NOTPAY",
        TradeState::UserPaying => "USERPAYING",
        TradeState::Paid if !o.refunds.is_empty() => "REFUND",
        TradeState::Paid => "SUCCESS",
        TradeState::Closed => "CLOSED",
        TradeState::Reversed => "REVOKED",
        TradeState::Failed => "PAYERROR",
    }
}

fn trade_state_desc(state: &str) -> &'static str {
    match state {
        "SUCCESS" => "支付成功",
        "REFUND" => "转入退款",
        "NOTPAY" => "未支付",
        "CLOSED" => "已关闭",
        "REVOKED" => "已撤销",
        "USERPAYING" => "用户支付中，需要输入密码",
        _ => "支付失败，余额不足",
    }
}

/// The transaction object (query, codepay response, notification resource).
pub fn transaction(o: &SimOrder, m: &WechatMerchant) -> Transaction {
    let state = trade_state(o);
    let paid = o.paid_at.is_some();
    Transaction {
        appid: m.appid.clone(),
        mchid: m.mchid.clone(),
        out_trade_no: o.out_trade_no.clone(),
        transaction_id: paid.then(|| o.transaction_id.clone()),
        trade_type: Some(match o.kind {
            OrderKind::Qr => "NATIVE".into(),
            OrderKind::Code => "MICROPAY".into(),
        }),
        trade_state: state.into(),
        trade_state_desc: Some(trade_state_desc(state).into()),
        bank_type: paid.then(|| "OTHERS".into()),
        attach: o.attach.clone(),
        success_time: o.paid_at.and_then(format_time),
        payer: o.payer.as_ref().filter(|_| paid).map(|p| TransactionPayer {
            openid: Some(p.clone()),
        }),
        amount: Some(TransactionAmount {
            total: o.amount_fen,
            payer_total: paid.then_some(o.amount_fen),
            currency: Some("CNY".into()),
            payer_currency: Some("CNY".into()),
        }),
    }
}

/// The checks every order request makes: the merchant and app match the
/// signer, the order number's pattern, the description's length, a positive
/// amount.
fn check_order(
    sim: &Sim,
    h: &HeaderMap,
    (mchid, appid): (&str, &str),
    (signer_mchid, signer_appid): (&str, &str),
    out_trade_no: &str,
    description: &str,
    total: i64,
) -> Result<(), Box<Response>> {
    if mchid != signer_mchid || appid != signer_appid {
        return Err(Box::new(fail(
            sim,
            h,
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "appid和mch_id不匹配",
        )));
    }
    if !valid_out_trade_no(out_trade_no) {
        return Err(Box::new(param_error(
            sim,
            h,
            "out_trade_no 须为 6-32 位数字、大小写字母、_-|*",
        )));
    }
    let desc_len = description.chars().count();
    if desc_len == 0 || desc_len > 127 {
        return Err(Box::new(param_error(
            sim,
            h,
            "description 长度须为 1-127 个字符",
        )));
    }
    if total <= 0 {
        return Err(Box::new(param_error(sim, h, "amount.total 须大于 0")));
    }
    Ok(())
}

async fn native(State(sim): State<Sim>, uri: Uri, h: HeaderMap, body: Bytes) -> Response {
    let m = match authenticate(&sim, "POST", &uri, &h, &body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let req: NativeRequest = match parse_body(&sim, &h, &body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    if let Err(r) = check_order(
        &sim,
        &h,
        (&req.mchid, &req.appid),
        (&m.mchid, &m.appid),
        &req.out_trade_no,
        &req.description,
        req.amount.total,
    ) {
        return *r;
    }
    if let Some(c) = &req.amount.currency
        && c != "CNY"
    {
        return param_error(&sim, &h, "amount.currency 仅支持 CNY");
    }
    let url_ok = (req.notify_url.starts_with("https://") || req.notify_url.starts_with("http://"))
        && !req.notify_url.contains('?')
        && req.notify_url.len() <= 255;
    if !url_ok {
        return param_error(&sim, &h, "notify_url 必填，须为 http(s) 地址且不能携带参数");
    }
    let t = now();
    let expires_at = match &req.time_expire {
        Some(s) => match parse_time(s) {
            Some(e) => e,
            None => return param_error(&sim, &h, "time_expire 须为 RFC 3339 格式"),
        },
        None => t + 7 * 86_400,
    };
    let fingerprint = serde_json::to_string(&req).unwrap_or_default();
    let key = (m.mchid.clone(), req.out_trade_no.clone());
    let transaction_id = sim.next_id("4200");
    let mut st = sim.lock();
    if let Some(o) = st.orders.get(&key) {
        let same = st.wechat_native_requests.get(&key) == Some(&fingerprint);
        let (code, msg) = match o.state {
            TradeState::Paid => ("ORDERPAID", "该订单已支付"),
            TradeState::Closed | TradeState::Reversed => ("ORDER_CLOSED", "订单已关闭"),
            TradeState::NotPaid if same && t <= o.expires_at => {
                let code_url = format!("weixin://wxpay/bizpayurl?pr={}", o.code_token);
                drop(st);
                return ok(&sim, &h, &NativeResponse { code_url });
            }
            _ => ("INVALID_REQUEST", "201 商户订单号重复"),
        };
        drop(st);
        return fail(&sim, &h, StatusCode::BAD_REQUEST, code, msg);
    }
    if expires_at <= t {
        drop(st);
        return param_error(&sim, &h, "time_expire 已过期");
    }
    let token = nonce(11);
    st.orders.insert(
        key.clone(),
        SimOrder {
            provider: Provider::Wechat,
            merchant: m.mchid.clone(),
            out_trade_no: req.out_trade_no.clone(),
            transaction_id,
            kind: OrderKind::Qr,
            amount_fen: req.amount.total,
            description: req.description.clone(),
            attach: req.attach.clone(),
            notify_url: Some(req.notify_url.clone()),
            expires_at,
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
    st.wechat_native_requests.insert(key, fingerprint);
    drop(st);
    let code_url = format!("weixin://wxpay/bizpayurl?pr={token}");
    ok(&sim, &h, &NativeResponse { code_url })
}

/// A WeChat payment code: 18 digits starting 10–15.
pub fn is_wechat_auth_code(s: &str) -> bool {
    doorstep_payments::auth_code_provider(s) == Some(doorstep_payments::Provider::Wechat)
}

async fn codepay(State(sim): State<Sim>, uri: Uri, h: HeaderMap, body: Bytes) -> Response {
    let m = match authenticate(&sim, "POST", &uri, &h, &body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let req: CodepayRequest = match parse_body(&sim, &h, &body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    if let Err(r) = check_order(
        &sim,
        &h,
        (&req.mchid, &req.appid),
        (&m.mchid, &m.appid),
        &req.out_trade_no,
        &req.description,
        req.amount.total,
    ) {
        return *r;
    }
    if req.scene_info.store_info.id.is_empty() {
        return param_error(&sim, &h, "scene_info.store_info.id 必填");
    }
    let code = req.payer.auth_code.clone();
    if !is_wechat_auth_code(&code) {
        return fail(
            &sim,
            &h,
            StatusCode::BAD_REQUEST,
            "AUTH_CODE_INVALID",
            "付款码无效，请扫描微信支付付款码（18位纯数字，以10-15开头）",
        );
    }
    let t = now();
    let key = (m.mchid.clone(), req.out_trade_no.clone());
    let transaction_id = sim.next_id("4200");
    let mut st = sim.lock();
    if st.orders.contains_key(&key) {
        drop(st);
        return fail(
            &sim,
            &h,
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "201 商户订单号重复",
        );
    }
    let wallet = match st.wallet.get(&code) {
        Some(w) if w.provider == Provider::Wechat => w.clone(),
        _ => {
            drop(st);
            return fail(
                &sim,
                &h,
                StatusCode::BAD_REQUEST,
                "AUTH_CODE_INVALID",
                "付款码无效",
            );
        }
    };
    if wallet.used_by.is_some() {
        drop(st);
        return fail(
            &sim,
            &h,
            StatusCode::BAD_REQUEST,
            "AUTHCODEEXPIRE",
            "付款码已使用或已过期，请刷新付款码后重新扫码",
        );
    }
    let mut order = SimOrder {
        provider: Provider::Wechat,
        merchant: m.mchid.clone(),
        out_trade_no: req.out_trade_no.clone(),
        transaction_id,
        kind: OrderKind::Code,
        amount_fen: req.amount.total,
        description: req.description.clone(),
        attach: None,
        notify_url: None,
        expires_at: t + 86_400,
        code_token: uuid_like(),
        state: TradeState::NotPaid,
        payer: Some(wallet.payer.clone()),
        created_at: t,
        paid_at: None,
        closed_at: None,
        refunds: Vec::new(),
        scanned: true,
    };
    if let Some(w) = st.wallet.get_mut(&code) {
        w.used_by = Some(req.out_trade_no.clone());
    }
    let status = if wallet.needs_password {
        order.state = TradeState::UserPaying;
        StatusCode::ACCEPTED
    } else if wallet.balance_fen < req.amount.total {
        order.state = TradeState::Failed;
        StatusCode::OK
    } else {
        if let Some(w) = st.wallet.get_mut(&code) {
            w.balance_fen -= req.amount.total;
        }
        order.state = TradeState::Paid;
        order.paid_at = Some(t);
        StatusCode::OK
    };
    let tx = transaction(&order, &m);
    st.orders.insert(key, order);
    drop(st);
    if status == StatusCode::ACCEPTED {
        let body = ErrorBody {
            code: "USERPAYING".into(),
            message: "需要用户输入支付密码".into(),
        };
        return signed(&sim, &h, status, json_body(&body));
    }
    ok(&sim, &h, &tx)
}

async fn query(
    State(sim): State<Sim>,
    Path(no): Path<String>,
    uri: Uri,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let m = match authenticate(&sim, "GET", &uri, &h, &body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    if query_param(&uri, "mchid") != Some(m.mchid.as_str()) {
        return param_error(&sim, &h, "mchid 与请求头中的商户号不一致");
    }
    let o = sim.lock().orders.get(&(m.mchid.clone(), no)).cloned();
    match o {
        Some(o) if o.provider == Provider::Wechat => ok(&sim, &h, &transaction(&o, &m)),
        _ => fail(
            &sim,
            &h,
            StatusCode::NOT_FOUND,
            "ORDER_NOT_EXIST",
            "订单不存在",
        ),
    }
}

async fn close(
    State(sim): State<Sim>,
    Path(no): Path<String>,
    uri: Uri,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let m = match authenticate(&sim, "POST", &uri, &h, &body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let req: CloseRequest = match parse_body(&sim, &h, &body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    if req.mchid != m.mchid {
        return param_error(&sim, &h, "mchid 与请求头中的商户号不一致");
    }
    let mut st = sim.lock();
    let Some(o) = st.orders.get_mut(&(m.mchid.clone(), no)) else {
        drop(st);
        return fail(
            &sim,
            &h,
            StatusCode::NOT_FOUND,
            "ORDER_NOT_EXIST",
            "订单不存在",
        );
    };
    let outcome = match o.state {
        TradeState::NotPaid | TradeState::UserPaying | TradeState::Failed => {
            o.state = TradeState::Closed;
            o.closed_at = Some(now());
            Ok(())
        }
        TradeState::Paid => Err(("ORDERPAID", "订单已支付")),
        TradeState::Closed | TradeState::Reversed => Err(("ORDER_CLOSED", "订单已关闭")),
    };
    drop(st);
    match outcome {
        Ok(()) => signed(&sim, &h, StatusCode::NO_CONTENT, Vec::new()),
        Err((code, msg)) => fail(&sim, &h, StatusCode::BAD_REQUEST, code, msg),
    }
}

async fn reverse(
    State(sim): State<Sim>,
    Path(no): Path<String>,
    uri: Uri,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let m = match authenticate(&sim, "POST", &uri, &h, &body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let req: ReverseRequest = match parse_body(&sim, &h, &body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    if req.mchid != m.mchid || req.appid != m.appid {
        return fail(
            &sim,
            &h,
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "appid和mch_id不匹配",
        );
    }
    let mut st = sim.lock();
    let Some(o) = st.orders.get_mut(&(m.mchid.clone(), no.clone())) else {
        drop(st);
        return fail(
            &sim,
            &h,
            StatusCode::NOT_FOUND,
            "ORDER_NOT_EXIST",
            "订单不存在",
        );
    };
    let outcome = match (o.kind, &o.state) {
        (OrderKind::Qr, _) => Err(("INVALID_REQUEST", "非付款码订单不能撤销")),
        (_, TradeState::Closed) => Err(("ORDER_CLOSED", "订单已关闭")),
        (_, TradeState::Paid) if !o.refunds.is_empty() => {
            Err(("INVALID_REQUEST", "订单已发生退款，不能撤销"))
        }
        (_, TradeState::Reversed) => Ok(()),
        _ => {
            o.state = TradeState::Reversed;
            o.closed_at = Some(now());
            Ok(())
        }
    };
    drop(st);
    match outcome {
        Ok(()) => ok(
            &sim,
            &h,
            &serde_json::json!({"appid": m.appid, "mchid": m.mchid, "out_trade_no": no}),
        ),
        Err((code, msg)) => fail(&sim, &h, StatusCode::BAD_REQUEST, code, msg),
    }
}

/// A refund's status as queries and repeats answer it.
fn refund_status(st: &SimState, mchid: &str, out_refund_no: &str) -> &'static str {
    st.wechat_refund_status
        .get(&(mchid.to_string(), out_refund_no.to_string()))
        .copied()
        .unwrap_or("SUCCESS")
}

fn refund_response(o: &SimOrder, r: &SimRefund, status: &str) -> RefundResponse {
    RefundResponse {
        refund_id: r.refund_id.clone(),
        out_refund_no: r.out_refund_no.clone(),
        transaction_id: Some(o.transaction_id.clone()),
        out_trade_no: Some(o.out_trade_no.clone()),
        channel: Some("ORIGINAL".into()),
        user_received_account: Some("支付用户零钱".into()),
        success_time: format_time(r.at),
        create_time: format_time(r.at),
        status: status.into(),
        amount: Some(RefundAmount {
            total: o.amount_fen,
            refund: r.amount_fen,
            payer_total: Some(o.amount_fen),
            payer_refund: Some(r.amount_fen),
            currency: Some("CNY".into()),
        }),
    }
}

async fn refund(State(sim): State<Sim>, uri: Uri, h: HeaderMap, body: Bytes) -> Response {
    let m = match authenticate(&sim, "POST", &uri, &h, &body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let req: RefundRequest = match parse_body(&sim, &h, &body) {
        Ok(r) => r,
        Err(r) => return *r,
    };
    let no_ok = (1..=64).contains(&req.out_refund_no.len())
        && req
            .out_refund_no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-|*@".contains(&b));
    if !no_ok {
        return param_error(
            &sim,
            &h,
            "out_refund_no 须为 1-64 位数字、大小写字母、_-|*@",
        );
    }
    if req.amount.refund <= 0 {
        return param_error(&sim, &h, "amount.refund 须大于 0");
    }
    let refund_id = sim.next_id("50300");
    let key = (m.mchid.clone(), req.out_trade_no.clone());
    let mut st = sim.lock();
    let status_before = refund_status(&st, &m.mchid, &req.out_refund_no);
    let later = st.wechat_refund_plans.contains_key(&key);
    let Some(o) = st.orders.get_mut(&key) else {
        drop(st);
        return fail(
            &sim,
            &h,
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_EXISTS",
            "订单不存在",
        );
    };
    if let Some(r) = o
        .refunds
        .iter()
        .find(|r| r.out_refund_no == req.out_refund_no)
    {
        let same = r.amount_fen == req.amount.refund;
        let resp = refund_response(o, r, status_before);
        drop(st);
        return if same {
            ok(&sim, &h, &resp)
        } else {
            fail(
                &sim,
                &h,
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST",
                "同一退款单号的退款金额与之前请求不一致",
            )
        };
    }
    if o.state != TradeState::Paid {
        drop(st);
        return fail(
            &sim,
            &h,
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "订单未支付或已撤销，不能退款",
        );
    }
    if req.amount.total != o.amount_fen {
        drop(st);
        return param_error(&sim, &h, "amount.total 与原订单金额不一致");
    }
    if o.refunded_fen() + req.amount.refund > o.amount_fen {
        drop(st);
        return fail(
            &sim,
            &h,
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "申请退款金额超过订单可退金额",
        );
    }
    let r = SimRefund {
        out_refund_no: req.out_refund_no.clone(),
        refund_id,
        amount_fen: req.amount.refund,
        at: now(),
    };
    o.refunds.push(r.clone());
    let resp = refund_response(o, &r, if later { "PROCESSING" } else { "SUCCESS" });
    if later {
        st.wechat_refund_status
            .insert((m.mchid.clone(), req.out_refund_no.clone()), "PROCESSING");
    }
    if let Some(url) = &req.notify_url {
        st.wechat_refund_urls
            .insert((m.mchid.clone(), req.out_refund_no.clone()), url.clone());
    }
    drop(st);
    if req.notify_url.is_some() {
        sim.queue_notification(
            Provider::Wechat,
            key,
            NotifyEvent::Refund(req.out_refund_no),
        );
    }
    ok(&sim, &h, &resp)
}

async fn refund_query(
    State(sim): State<Sim>,
    Path(no): Path<String>,
    uri: Uri,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let m = match authenticate(&sim, "GET", &uri, &h, &body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let found = {
        let st = sim.lock();
        st.orders
            .values()
            .filter(|o| o.provider == Provider::Wechat && o.merchant == m.mchid)
            .find_map(|o| {
                o.refunds
                    .iter()
                    .find(|r| r.out_refund_no == no)
                    .map(|r| refund_response(o, r, refund_status(&st, &m.mchid, &no)))
            })
    };
    match found {
        Some(r) => ok(&sim, &h, &r),
        None => fail(
            &sim,
            &h,
            StatusCode::NOT_FOUND,
            "RESOURCE_NOT_EXISTS",
            "退款单不存在",
        ),
    }
}

async fn certificates(State(sim): State<Sim>, uri: Uri, h: HeaderMap, body: Bytes) -> Response {
    let m = match authenticate(&sim, "GET", &uri, &h, &body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let (serial, pem, nb, na) = match sim.wechat_platform_cert() {
        Ok(c) => c,
        Err(e) => {
            return fail(
                &sim,
                &h,
                StatusCode::INTERNAL_SERVER_ERROR,
                "SYSTEM_ERROR",
                &e,
            );
        }
    };
    let n = nonce(12);
    let Ok(ciphertext) = encrypt_resource(&m.apiv3_key, &n, "certificate", pem.as_bytes()) else {
        return fail(
            &sim,
            &h,
            StatusCode::INTERNAL_SERVER_ERROR,
            "SYSTEM_ERROR",
            "APIv3 密钥无效",
        );
    };
    let list = CertificatesResponse {
        data: vec![CertificateEntry {
            serial_no: serial,
            effective_time: format_time(nb).unwrap_or_default(),
            expire_time: format_time(na).unwrap_or_default(),
            encrypt_certificate: EncryptedResource {
                original_type: "certificate".into(),
                algorithm: "AEAD_AES_256_GCM".into(),
                ciphertext,
                associated_data: "certificate".into(),
                nonce: n,
            },
        }],
    };
    ok(&sim, &h, &list)
}

/// Start and end (unix seconds) of a local date `YYYY-MM-DD` in +08:00.
fn day_bounds(date: &str) -> Option<(i64, i64)> {
    let d = jiff::civil::Date::strptime("%Y-%m-%d", date).ok()?;
    let start = d
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .ok()?
        .timestamp()
        .as_second();
    Some((start, start + 86_400))
}

/// The merchant's `ALL` bill rows for a local date: payments on their pay
/// day, refunds on theirs, plus the extra records put in by tests.
pub fn bill_rows(sim: &Sim, m: &WechatMerchant, date: &str) -> Vec<TradeBillRow> {
    let Some((start, end)) = day_bounds(date) else {
        return Vec::new();
    };
    let st = sim.lock();
    let mut rows = Vec::new();
    let mut orders: Vec<&SimOrder> = st
        .orders
        .values()
        .filter(|o| o.provider == Provider::Wechat && o.merchant == m.mchid)
        .collect();
    orders.sort_by_key(|o| (o.paid_at, o.out_trade_no.clone()));
    let base = |o: &SimOrder, at: i64, kind: BillKind| TradeBillRow {
        at,
        appid: m.appid.clone(),
        mchid: m.mchid.clone(),
        device_id: String::new(),
        transaction_id: o.transaction_id.clone(),
        out_trade_no: o.out_trade_no.clone(),
        openid: o.payer.clone().unwrap_or_default(),
        trade_type: match o.kind {
            OrderKind::Qr => "NATIVE".into(),
            OrderKind::Code => "MICROPAY".into(),
        },
        kind,
        amount_fen: o.amount_fen,
        refund_id: String::new(),
        out_refund_no: String::new(),
        refund_fen: 0,
        description: o.description.clone(),
        attach: o.attach.clone().unwrap_or_default(),
        fee_fen: 0,
    };
    for o in &orders {
        if let Some(p) = o.paid_at
            && (start..end).contains(&p)
        {
            let mut row = base(o, p, BillKind::Payment);
            // 0.6 % fee, rounded half up.
            row.fee_fen = (o.amount_fen * 6 + 500) / 1000;
            rows.push(row);
        }
        for r in &o.refunds {
            if (start..end).contains(&r.at) {
                let mut row = base(o, r.at, BillKind::Refund);
                row.refund_id = r.refund_id.clone();
                row.out_refund_no = r.out_refund_no.clone();
                row.refund_fen = r.amount_fen;
                rows.push(row);
            }
        }
    }
    for (merchant, rec) in &st.extra_bill_records {
        if *merchant == m.mchid && (start..end).contains(&rec.at) {
            rows.push(TradeBillRow {
                at: rec.at,
                appid: m.appid.clone(),
                mchid: m.mchid.clone(),
                device_id: String::new(),
                transaction_id: rec.transaction_id.clone(),
                out_trade_no: rec.out_trade_no.clone(),
                openid: String::new(),
                trade_type: "NATIVE".into(),
                kind: rec.kind,
                amount_fen: rec.amount_fen,
                refund_id: String::new(),
                out_refund_no: String::new(),
                refund_fen: rec.amount_fen,
                description: String::new(),
                attach: String::new(),
                fee_fen: rec.fee_fen,
            });
        }
    }
    rows
}

async fn tradebill(State(sim): State<Sim>, uri: Uri, h: HeaderMap, body: Bytes) -> Response {
    let m = match authenticate(&sim, "GET", &uri, &h, &body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let Some(date) = query_param(&uri, "bill_date").filter(|d| day_bounds(d).is_some()) else {
        return param_error(&sim, &h, "bill_date 须为 YYYY-MM-DD");
    };
    match query_param(&uri, "bill_type") {
        None | Some("ALL") => {}
        Some(_) => return param_error(&sim, &h, "模拟器只支持 bill_type=ALL"),
    }
    let gzip = match query_param(&uri, "tar_type") {
        None => false,
        Some("GZIP") => true,
        Some(_) => return param_error(&sim, &h, "tar_type 只能为 GZIP"),
    };
    if sim.lock().wechat_bills_not_ready.contains(date) {
        return fail(
            &sim,
            &h,
            StatusCode::BAD_REQUEST,
            "STATEMENT_CREATING",
            "账单生成中，请稍后再试",
        );
    }
    let rows = bill_rows(&sim, &m, date);
    if rows.is_empty() {
        return fail(
            &sim,
            &h,
            StatusCode::BAD_REQUEST,
            "NO_STATEMENT_EXIST",
            "账单文件不存在",
        );
    }
    let text = render_trade_bill(&rows);
    let hash_value = doorstep_payments::wechat::bill::sha1_hex(text.as_bytes());
    let token = uuid_like();
    {
        let mut st = sim.lock();
        st.wechat_bill_files.insert(token.clone(), (text, now()));
        st.bill_tokens.insert(
            token.clone(),
            (Provider::Wechat, m.mchid.clone(), date.to_string(), gzip),
        );
    }
    let host = h
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let resp = TradeBillResponse {
        hash_type: "SHA1".into(),
        hash_value,
        download_url: format!("http://{host}/v3/billdownload/file?token={token}"),
    };
    ok(&sim, &h, &resp)
}

async fn bill_download(State(sim): State<Sim>, uri: Uri, h: HeaderMap, body: Bytes) -> Response {
    let m = match authenticate(&sim, "GET", &uri, &h, &body) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let token = query_param(&uri, "token").unwrap_or("").to_string();
    let found = {
        let st = sim.lock();
        match (st.wechat_bill_files.get(&token), st.bill_tokens.get(&token)) {
            (Some((text, issued)), Some((Provider::Wechat, mchid, _, gzip)))
                if *mchid == m.mchid && now() - issued <= BILL_TOKEN_SECONDS =>
            {
                Some((text.clone(), *gzip))
            }
            _ => None,
        }
    };
    let Some((text, gzip)) = found else {
        return fail(
            &sim,
            &h,
            StatusCode::BAD_REQUEST,
            "PARAM_ERROR",
            "token 无效或已过期",
        );
    };
    let bytes = if gzip {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        if enc.write_all(text.as_bytes()).is_err() {
            return fail(
                &sim,
                &h,
                StatusCode::INTERNAL_SERVER_ERROR,
                "SYSTEM_ERROR",
                "压缩失败",
            );
        }
        match enc.finish() {
            Ok(b) => b,
            Err(_) => {
                return fail(
                    &sim,
                    &h,
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "SYSTEM_ERROR",
                    "压缩失败",
                );
            }
        }
    } else {
        text.into_bytes()
    };
    // Bill files are not signed.
    let mut resp = (StatusCode::OK, bytes).into_response();
    resp.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/octet-stream"),
    );
    resp
}

/// The signed, encrypted notification for an order (a fresh timestamp and
/// nonce on each send), or `None` if the order has no notify URL.
pub fn build_notification(
    sim: &Sim,
    o: &SimOrder,
    e: &NotifyEvent,
    id: &str,
) -> Option<HttpRequest> {
    let m = sim.wechat_merchant(&o.merchant)?.clone();
    let t = now();
    let (url, event_type, summary, original_type, plain) = match e {
        NotifyEvent::Paid => {
            let url = o.notify_url.clone()?;
            let mut tx = transaction(o, &m);
            // A retry after a refund still tells of the payment.
            if tx.trade_state == "REFUND" {
                tx.trade_state = "SUCCESS".into();
                tx.trade_state_desc = Some(trade_state_desc("SUCCESS").into());
            }
            (
                url,
                "TRANSACTION.SUCCESS",
                "支付成功",
                "transaction",
                serde_json::to_vec(&tx).ok()?,
            )
        }
        NotifyEvent::Refund(no) => {
            let (url, outcome) = {
                let mut st = sim.lock();
                let url = st
                    .wechat_refund_urls
                    .get(&(m.mchid.clone(), no.clone()))
                    .cloned()?;
                // A refund processed later ends now, as its plan says.
                let plan = st
                    .wechat_refund_plans
                    .get(&(m.mchid.clone(), o.out_trade_no.clone()))
                    .copied();
                let outcome = match plan {
                    Some(RefundPlan::Abnormal) => "ABNORMAL",
                    _ => "SUCCESS",
                };
                let k = (m.mchid.clone(), no.clone());
                if outcome == "SUCCESS" {
                    st.wechat_refund_status.remove(&k);
                } else {
                    st.wechat_refund_status.insert(k, outcome);
                }
                (url, outcome)
            };
            let r = o.refunds.iter().find(|r| &r.out_refund_no == no)?;
            let notice = RefundNotice {
                mchid: m.mchid.clone(),
                out_trade_no: o.out_trade_no.clone(),
                transaction_id: o.transaction_id.clone(),
                out_refund_no: r.out_refund_no.clone(),
                refund_id: r.refund_id.clone(),
                refund_status: outcome.into(),
                success_time: format_time(r.at),
                user_received_account: Some("支付用户零钱".into()),
                amount: RefundAmount {
                    total: o.amount_fen,
                    refund: r.amount_fen,
                    payer_total: Some(o.amount_fen),
                    payer_refund: Some(r.amount_fen),
                    currency: None,
                },
            };
            let (event_type, summary) = if outcome == "SUCCESS" {
                ("REFUND.SUCCESS", "退款成功")
            } else {
                ("REFUND.ABNORMAL", "退款异常")
            };
            (
                url,
                event_type,
                summary,
                "refund",
                serde_json::to_vec(&notice).ok()?,
            )
        }
    };
    let n = nonce(12);
    let ciphertext = encrypt_resource(&m.apiv3_key, &n, original_type, &plain).ok()?;
    let envelope = Notification {
        id: id.to_string(),
        create_time: format_time(t)?,
        resource_type: "encrypt-resource".into(),
        event_type: event_type.into(),
        summary: summary.into(),
        resource: EncryptedResource {
            original_type: original_type.into(),
            algorithm: "AEAD_AES_256_GCM".into(),
            ciphertext,
            associated_data: original_type.into(),
            nonce: n,
        },
    };
    let body = serde_json::to_vec(&envelope).ok()?;
    let mut headers = response_headers(
        &sim.cfg.wechat_platform_key,
        &sim.cfg.wechat_public_key_id,
        &body,
        t,
        &nonce(32),
    )
    .ok()?;
    headers.push(("Content-Type".into(), "application/json".into()));
    headers.push(("Request-ID".into(), uuid_like()));
    Some(HttpRequest {
        method: "POST",
        url,
        headers,
        body,
    })
}
