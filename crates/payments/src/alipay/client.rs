//! [`AlipayClient`]: the [`PayProvider`] over gateway 1.0 (当面付).

use super::bill::parse_trade_bill;
use super::gateway::{
    DEFAULT_GATEWAY, GatewayCall, PROVIDER, Reply, beijing_time, build_request, now_unix,
    parse_beijing_time, parse_reply,
};
use super::notify::{ACK, map_trade_status, parse_notification};
use crate::http::{HttpRequest, Transport};
use crate::keys::{self, KeyError};
use crate::{
    BillRecord, CodeOrder, Notified, NotifyError, PayError, PayProvider, Provider, QrCreated,
    QrOrder, RefundOrder, RefundStatus, TradeStatus, check_out_trade_no, fen_to_yuan, yuan_to_fen,
};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use std::sync::Arc;

/// Largest amount Alipay accepts for one trade: 100,000,000.00 yuan.
pub const MAX_AMOUNT_FEN: i64 = 10_000_000_000;

/// An Alipay app as the merchant has set it up. `Debug` leaves the private
/// key out.
#[derive(Clone)]
pub struct AlipayConfig {
    /// app_id (开放平台应用 ID).
    pub app_id: String,
    /// seller_id: the merchant's 2088… partner id (notifications must name it).
    pub seller_id: String,
    /// The app's private key (signs requests).
    pub private_key: RsaPrivateKey,
    /// Alipay's public key (verifies responses and notifications).
    pub alipay_public_key: RsaPublicKey,
    /// Gateway URL: [`DEFAULT_GATEWAY`] or the simulator's
    /// `http://127.0.0.1:PORT/gateway.do`.
    pub gateway: String,
}

impl std::fmt::Debug for AlipayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlipayConfig")
            .field("app_id", &self.app_id)
            .field("seller_id", &self.seller_id)
            .field("private_key", &"<redacted>")
            .field("gateway", &self.gateway)
            .finish_non_exhaustive()
    }
}

impl AlipayConfig {
    /// A configuration for the production gateway from key texts (PEM or
    /// bare base64, as Alipay's console shows them).
    pub fn new(
        app_id: &str,
        seller_id: &str,
        private_key: &str,
        alipay_public_key: &str,
    ) -> Result<AlipayConfig, KeyError> {
        Ok(AlipayConfig {
            app_id: app_id.to_string(),
            seller_id: seller_id.to_string(),
            private_key: keys::load_private_key(private_key)?,
            alipay_public_key: keys::load_public_key(alipay_public_key)?,
            gateway: DEFAULT_GATEWAY.to_string(),
        })
    }
}

/// Alipay through a [`Transport`].
#[derive(Clone)]
pub struct AlipayClient {
    /// The app.
    pub cfg: AlipayConfig,
    /// Sends the requests.
    pub transport: Arc<dyn Transport>,
}

fn invalid(field: &'static str, message: impl Into<String>) -> PayError {
    PayError::Invalid {
        field,
        message: message.into(),
    }
}

fn malformed(detail: impl Into<String>) -> PayError {
    PayError::Malformed {
        provider: PROVIDER,
        detail: detail.into(),
    }
}

fn check_amount(fen: i64) -> Result<(), PayError> {
    if (1..=MAX_AMOUNT_FEN).contains(&fen) {
        Ok(())
    } else {
        Err(invalid(
            "amount_fen",
            format!("must be 1…{MAX_AMOUNT_FEN} fen, got {fen}"),
        ))
    }
}

/// A subject: 1–256 characters, none of `/ = &`.
fn check_subject(s: &str) -> Result<(), PayError> {
    let n = s.chars().count();
    if n == 0 || n > 256 || s.contains(['/', '=', '&']) {
        return Err(invalid(
            "description",
            format!("must be 1–256 characters without / = &, got {s:?}"),
        ));
    }
    Ok(())
}

/// A payment code: 16–24 digits starting 25–30.
fn check_auth_code(s: &str) -> Result<(), PayError> {
    if crate::auth_code_provider(s) == Some(crate::Provider::Alipay) {
        Ok(())
    } else {
        Err(invalid(
            "auth_code",
            "an Alipay payment code is 16–24 digits starting 25–30",
        ))
    }
}

impl AlipayClient {
    /// A client.
    pub fn new(cfg: AlipayConfig, transport: Arc<dyn Transport>) -> AlipayClient {
        AlipayClient { cfg, transport }
    }

    /// The signed request for `method` with `biz` as biz_content (serialized
    /// once, compactly), as of `now` (unix seconds).
    pub fn build(
        &self,
        method: &str,
        biz: &Value,
        notify_url: Option<&str>,
        now: i64,
    ) -> Result<HttpRequest, PayError> {
        let biz_content = serde_json::to_string(biz).map_err(|e| malformed(e.to_string()))?;
        let timestamp = beijing_time(now);
        Ok(build_request(
            &GatewayCall {
                gateway: &self.cfg.gateway,
                app_id: &self.cfg.app_id,
                method,
                biz_content: &biz_content,
                notify_url,
                timestamp: &timestamp,
            },
            &self.cfg.private_key,
        )?)
    }

    /// Sends one gateway call and verifies the reply (any code).
    pub fn call(
        &self,
        method: &str,
        biz: &Value,
        notify_url: Option<&str>,
    ) -> Result<Reply, PayError> {
        let req = self.build(method, biz, notify_url, now_unix())?;
        let resp = self.transport.send(&req).map_err(PayError::Network)?;
        if resp.status != 200 {
            return Err(malformed(format!("{method}: HTTP {}", resp.status)));
        }
        parse_reply(&resp.body, method, &self.cfg.alipay_public_key)
    }

    fn trade_status(&self, reply: &Reply) -> Result<TradeStatus, PayError> {
        let status = reply
            .str("trade_status")
            .ok_or_else(|| malformed("query: no trade_status"))?;
        let total = reply.str("total_amount").unwrap_or("");
        let amount_fen = yuan_to_fen(total)
            .ok_or_else(|| malformed(format!("query: total_amount {total:?}")))?;
        let paid_at = reply
            .str("send_pay_date")
            .or(reply.str("gmt_payment"))
            .and_then(parse_beijing_time);
        let trade_no = reply.str("trade_no").unwrap_or_default();
        map_trade_status(status, trade_no, amount_fen, paid_at)
            .ok_or_else(|| malformed(format!("query: trade_status {status:?}")))
    }

    /// `alipay.trade.fastpay.refund.query`: whether the refund
    /// `out_request_no` of `out_trade_no` has succeeded.
    pub fn refund_query(
        &self,
        out_trade_no: &str,
        out_request_no: &str,
    ) -> Result<RefundStatus, PayError> {
        let reply = self
            .call(
                "alipay.trade.fastpay.refund.query",
                &json!({"out_trade_no": out_trade_no, "out_request_no": out_request_no}),
                None,
            )?
            .success()?;
        Ok(match reply.str("refund_status") {
            Some("REFUND_SUCCESS") => RefundStatus::Success,
            // Older replies omit refund_status; a refund_amount means it succeeded.
            None if reply.str("refund_amount").is_some() => RefundStatus::Success,
            None => RefundStatus::Failed,
            Some(_) => RefundStatus::Processing,
        })
    }

    /// `alipay.data.dataservice.bill.downloadurl.query`: the URL of the
    /// day's trade bill (`date` is `YYYY-MM-DD`); `None` if Alipay has no
    /// bill for that day (`isp.bill_not_exist`).
    pub fn bill_download_url(&self, date: &str) -> Result<Option<String>, PayError> {
        let reply = self.call(
            "alipay.data.dataservice.bill.downloadurl.query",
            &json!({"bill_type": "trade", "bill_date": date}),
            None,
        )?;
        if reply.signed_sub_code() == Some("isp.bill_not_exist") {
            return Ok(None);
        }
        let reply = reply.success()?;
        let url = reply
            .str("bill_download_url")
            .ok_or_else(|| malformed("no bill_download_url"))?;
        Ok(Some(url.to_string()))
    }
}

impl PayProvider for AlipayClient {
    fn provider(&self) -> Provider {
        Provider::Alipay
    }

    fn merchant_id(&self) -> &str {
        &self.cfg.seller_id
    }

    fn app_id(&self) -> &str {
        &self.cfg.app_id
    }

    /// `alipay.trade.precreate` (product `FACE_TO_FACE_PAYMENT`,
    /// `time_expire` from `expires_at`, `attach` as `body`).
    fn create_qr(&self, order: &QrOrder) -> Result<QrCreated, PayError> {
        check_out_trade_no(&order.out_trade_no)?;
        check_amount(order.amount_fen)?;
        check_subject(&order.description)?;
        let mut biz = json!({
            "out_trade_no": order.out_trade_no,
            "total_amount": fen_to_yuan(order.amount_fen),
            "subject": order.description,
            "product_code": "FACE_TO_FACE_PAYMENT",
            "time_expire": beijing_time(order.expires_at),
        });
        if let Some(attach) = order.attach.as_deref().filter(|a| !a.is_empty()) {
            biz["body"] = Value::String(attach.to_string());
        }
        let notify = Some(order.notify_url.as_str()).filter(|u| !u.is_empty());
        let reply = self
            .call("alipay.trade.precreate", &biz, notify)?
            .success()?;
        let code = reply
            .str("qr_code")
            .filter(|c| !c.is_empty())
            .ok_or_else(|| malformed("precreate: no qr_code"))?;
        Ok(QrCreated {
            code: code.to_string(),
        })
    }

    /// `alipay.trade.pay` with `scene=bar_code`. `10000` is confirmed by a
    /// query; `10003` is `UserPaying`; `20000` and `ACQ.SYSTEM_ERROR` /
    /// `ACQ.TRADE_HAS_SUCCESS` are settled by a query; other signed `40004`s
    /// are `Failed` (`ACQ.TRADE_HAS_CLOSE` is `Closed`).
    fn pay_with_code(&self, order: &CodeOrder) -> Result<TradeStatus, PayError> {
        check_out_trade_no(&order.out_trade_no)?;
        check_amount(order.amount_fen)?;
        check_subject(&order.description)?;
        check_auth_code(&order.auth_code)?;
        let mut biz = json!({
            "out_trade_no": order.out_trade_no,
            "scene": "bar_code",
            "auth_code": order.auth_code,
            "subject": order.description,
            "total_amount": fen_to_yuan(order.amount_fen),
            "product_code": "FACE_TO_FACE_PAYMENT",
        });
        if !order.store_id.is_empty() {
            biz["store_id"] = Value::String(order.store_id.clone());
        }
        if !order.device_id.is_empty() {
            biz["terminal_id"] = Value::String(order.device_id.clone());
        }
        let notify = order.notify_url.as_deref().filter(|u| !u.is_empty());
        let reply = self.call("alipay.trade.pay", &biz, notify)?;
        if !reply.signed {
            return Err(reply.refused());
        }
        match (reply.code.as_str(), reply.sub_code.as_deref()) {
            ("10000", _) | ("20000", _) => self.query(&order.out_trade_no),
            ("10003", _) => Ok(TradeStatus::UserPaying),
            ("40004", Some("ACQ.SYSTEM_ERROR" | "ACQ.TRADE_HAS_SUCCESS")) => {
                self.query(&order.out_trade_no)
            }
            ("40004", Some("ACQ.TRADE_HAS_CLOSE")) => Ok(TradeStatus::Closed),
            ("40004", _) => Ok(TradeStatus::Failed {
                reason: format!(
                    "{}: {}",
                    reply.error_code(),
                    reply.sub_msg.as_deref().unwrap_or(&reply.msg)
                ),
            }),
            _ => Err(reply.refused()),
        }
    }

    /// `alipay.trade.query`; `ACQ.TRADE_NOT_EXIST` (a QR order nobody has
    /// scanned) is `NotPaid`.
    fn query(&self, out_trade_no: &str) -> Result<TradeStatus, PayError> {
        check_out_trade_no(out_trade_no)?;
        let reply = self.call(
            "alipay.trade.query",
            &json!({"out_trade_no": out_trade_no}),
            None,
        )?;
        if reply.signed_sub_code() == Some("ACQ.TRADE_NOT_EXIST") {
            return Ok(TradeStatus::NotPaid);
        }
        let reply = reply.success()?;
        self.trade_status(&reply)
    }

    /// `alipay.trade.close`; `ACQ.TRADE_NOT_EXIST` (never scanned) is
    /// success.
    fn close(&self, out_trade_no: &str) -> Result<(), PayError> {
        check_out_trade_no(out_trade_no)?;
        let reply = self.call(
            "alipay.trade.close",
            &json!({"out_trade_no": out_trade_no}),
            None,
        )?;
        if reply.signed_sub_code() == Some("ACQ.TRADE_NOT_EXIST") {
            return Ok(());
        }
        reply.success().map(|_| ())
    }

    /// `alipay.trade.cancel`: closes an unpaid trade, refunds a paid one. A
    /// reply asking to retry (`retry_flag=Y`) is a refusal; a trade that
    /// does not exist is success.
    fn reverse(&self, out_trade_no: &str) -> Result<(), PayError> {
        check_out_trade_no(out_trade_no)?;
        let reply = self.call(
            "alipay.trade.cancel",
            &json!({"out_trade_no": out_trade_no}),
            None,
        )?;
        if reply.signed_sub_code() == Some("ACQ.TRADE_NOT_EXIST") {
            return Ok(());
        }
        let reply = reply.success()?;
        if reply.str("retry_flag") == Some("Y") {
            return Err(PayError::Refused {
                provider: PROVIDER,
                code: "retry_flag=Y".into(),
                message: "the cancel must be retried".into(),
            });
        }
        Ok(())
    }

    /// `alipay.trade.refund` with `out_request_no = out_refund_no`.
    /// `fund_change=Y` is success; `N` (e.g. a retry of a refund already
    /// made) is settled by `alipay.trade.fastpay.refund.query`.
    fn refund(&self, refund: &RefundOrder) -> Result<RefundStatus, PayError> {
        check_out_trade_no(&refund.out_trade_no)?;
        check_amount(refund.refund_fen)?;
        if refund.out_refund_no.is_empty() || refund.out_refund_no.len() > 64 {
            return Err(invalid("out_refund_no", "must be 1–64 characters"));
        }
        let mut biz = json!({
            "out_trade_no": refund.out_trade_no,
            "refund_amount": fen_to_yuan(refund.refund_fen),
            "out_request_no": refund.out_refund_no,
        });
        if !refund.reason.is_empty() {
            biz["refund_reason"] = Value::String(refund.reason.clone());
        }
        // `notify_url` is a common request parameter: Alipay tells of the
        // refund there as a `trade_status_sync` carrying `out_biz_no`.
        let notify = refund.notify_url.as_deref().filter(|u| !u.is_empty());
        let reply = self.call("alipay.trade.refund", &biz, notify)?.success()?;
        if reply.str("fund_change") == Some("Y") {
            return Ok(RefundStatus::Success);
        }
        self.refund_query(&refund.out_trade_no, &refund.out_refund_no)
    }

    /// Verifies the form body with Alipay's public key (over everything but
    /// `sign` and `sign_type`) and checks app_id and seller_id. Headers and
    /// `now` are not used: Alipay notifications carry no timestamp header.
    fn parse_notification(
        &self,
        _headers: &[(String, String)],
        body: &[u8],
        _now: i64,
    ) -> Result<Notified, NotifyError> {
        parse_notification(
            body,
            &self.cfg.alipay_public_key,
            &self.cfg.app_id,
            &self.cfg.seller_id,
        )
    }

    /// `200 text/plain success`, or `200 text/plain fail` (anything but
    /// `success` makes Alipay retry).
    fn notification_answer(&self, ok: bool) -> (u16, &'static str, Vec<u8>) {
        let body = if ok { ACK } else { "fail" };
        (200, "text/plain; charset=utf-8", body.as_bytes().to_vec())
    }

    /// Asks for the day's download URL, fetches the ZIP and parses it.
    fn daily_bill(&self, date: &str) -> Result<Vec<BillRecord>, PayError> {
        let ok = date.len() == 10 && jiff::civil::Date::strptime("%Y-%m-%d", date).is_ok();
        if !ok {
            return Err(invalid("date", format!("must be YYYY-MM-DD, got {date:?}")));
        }
        let Some(url) = self.bill_download_url(date)? else {
            return Ok(Vec::new());
        };
        let resp = self
            .transport
            .send(&HttpRequest {
                method: "GET",
                url,
                headers: Vec::new(),
                body: Vec::new(),
            })
            .map_err(PayError::Network)?;
        if resp.status != 200 {
            return Err(malformed(format!("bill download: HTTP {}", resp.status)));
        }
        parse_trade_bill(&resp.body)
    }
}
