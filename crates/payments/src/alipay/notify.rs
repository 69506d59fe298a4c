//! The asynchronous payment notification (`notify_type=trade_status_sync`):
//! a form POST to the order's `notify_url`, signed over every parameter but
//! `sign` and `sign_type`, answered with the body `success`.
//!
//! Alipay notifications carry no timestamp header and repeat with the same
//! `notify_id` until answered `success`; making them idempotent is the
//! caller's job.

use super::form::form_decode;
use super::gateway::parse_beijing_time;
use super::sign::{param, verify_notification};
use crate::{Notified, NotifiedEvent, NotifyError, TradeStatus, yuan_to_fen};
use rsa::RsaPublicKey;

/// The body that acknowledges a notification. Anything else (including
/// whitespace around it) makes Alipay send it again.
pub const ACK: &str = "success";

/// A gateway `trade_status` → [`TradeStatus`]. `WAIT_BUYER_PAY` is
/// `NotPaid`; `TRADE_SUCCESS`/`TRADE_FINISHED` are `Paid`; `TRADE_CLOSED` is
/// `Refunded` when the trade had been paid (`paid_at` given), else `Closed`.
pub fn map_trade_status(
    trade_status: &str,
    trade_no: &str,
    amount_fen: i64,
    paid_at: Option<i64>,
) -> Option<TradeStatus> {
    Some(match trade_status {
        "WAIT_BUYER_PAY" => TradeStatus::NotPaid,
        "TRADE_SUCCESS" | "TRADE_FINISHED" => TradeStatus::Paid {
            transaction_id: trade_no.to_string(),
            amount_fen,
            paid_at,
        },
        "TRADE_CLOSED" if paid_at.is_some() => TradeStatus::Refunded,
        "TRADE_CLOSED" => TradeStatus::Closed,
        _ => return None,
    })
}

/// Verifies a notification body (form-encoded, UTF-8) with Alipay's public
/// key and checks that it is for `app_id` and `seller_id`.
pub fn parse_notification(
    body: &[u8],
    alipay_key: &RsaPublicKey,
    app_id: &str,
    seller_id: &str,
) -> Result<Notified, NotifyError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| NotifyError::Malformed("body is not UTF-8".into()))?;
    let params = form_decode(text).map_err(|e| NotifyError::Malformed(e.to_string()))?;
    if param(&params, "sign").is_none_or(str::is_empty) {
        return Err(NotifyError::Malformed("no sign".into()));
    }
    // `sign_type` is outside the signed content, so it can be rewritten in
    // transit; only the one algorithm we verify with may be named.
    if let Some(t) = param(&params, "sign_type").filter(|t| *t != "RSA2") {
        return Err(NotifyError::Malformed(format!("sign_type {t:?}")));
    }
    if !verify_notification(&params, alipay_key) {
        return Err(NotifyError::BadSignature);
    }
    let need = |name: &str| {
        param(&params, name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| NotifyError::Malformed(format!("no {name}")))
    };
    let got_app = need("app_id")?;
    let got_seller = need("seller_id")?;
    if got_app != app_id || got_seller != seller_id {
        return Err(NotifyError::WrongMerchant);
    }
    let notify_id = need("notify_id")?;
    let out_trade_no = need("out_trade_no")?;
    let trade_status = need("trade_status")?;
    let total = need("total_amount")?;
    let amount_fen = yuan_to_fen(total)
        .ok_or_else(|| NotifyError::Malformed(format!("total_amount {total:?}")))?;
    let trade_no = param(&params, "trade_no").unwrap_or_default();
    let paid_at = param(&params, "gmt_payment").and_then(parse_beijing_time);
    let status = map_trade_status(trade_status, trade_no, amount_fen, paid_at)
        .ok_or_else(|| NotifyError::Malformed(format!("trade_status {trade_status:?}")))?;
    Ok(Notified {
        notify_id: notify_id.to_string(),
        merchant_id: got_seller.to_string(),
        app_id: got_app.to_string(),
        out_trade_no: out_trade_no.to_string(),
        event: NotifiedEvent::Trade(status),
        amount_fen,
    })
}
