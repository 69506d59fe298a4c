//! The payment providers' protocols: WeChat Pay API v3 (direct merchant) and
//! Alipay's open API (当面付), written from their published specifications.
//!
//! The protocol code is "sans I/O": every call builds an [`http::HttpRequest`]
//! and parses an [`http::HttpResponse`], so the same code signs requests for
//! the real providers, for `doorstep paysim`, and in unit tests against the
//! published vectors. [`http::Transport`] sends requests; [`http::UreqTransport`]
//! is the real one (HTTPS for the providers, plain HTTP for the simulator on
//! 127.0.0.1).
//!
//! [`PayProvider`] is the provider-neutral face that the application uses:
//! QR orders, payment-code charges, query, close, reverse, refund, the
//! notifications and the daily bill. Amounts are integer fen throughout;
//! Alipay's decimal yuan strings are converted at the edge with
//! [`yuan_to_fen`] and [`fen_to_yuan`], never through floating point.

pub mod alipay;
pub mod http;
pub mod keys;
pub mod wechat;

use serde::{Deserialize, Serialize};

/// The two providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// WeChat Pay (微信支付).
    Wechat,
    /// Alipay (支付宝).
    Alipay,
}

impl Provider {
    /// `wechat` / `alipay`.
    pub fn code(self) -> &'static str {
        match self {
            Provider::Wechat => "wechat",
            Provider::Alipay => "alipay",
        }
    }

    /// Parses [`Provider::code`].
    pub fn parse(s: &str) -> Option<Provider> {
        match s {
            "wechat" => Some(Provider::Wechat),
            "alipay" => Some(Provider::Alipay),
            _ => None,
        }
    }
}

/// A QR order: the collector's phone shows the code, the owner scans it
/// (WeChat Native `POST /v3/pay/transactions/native`; Alipay
/// `alipay.trade.precreate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrOrder {
    /// Our order number: 6–32 characters of `[0-9A-Za-z_-]`, unique per merchant.
    pub out_trade_no: String,
    /// Shown in the payer's bill (≤ 127 characters; no `/ = &` for Alipay).
    pub description: String,
    /// Exact amount in fen (> 0).
    pub amount_fen: i64,
    /// Last moment the payer can pay (unix seconds).
    pub expires_at: i64,
    /// Where the provider posts the payment notification.
    pub notify_url: String,
    /// Echoed in queries and notifications (≤ 128 characters).
    pub attach: Option<String>,
}

/// The QR order was created; `code` is what the QR code encodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrCreated {
    /// WeChat `code_url` (`weixin://wxpay/bizpayurl?pr=…`) or Alipay `qr_code`
    /// (`https://qr.alipay.com/…`).
    pub code: String,
}

/// A charge against the payer's payment code (付款码), scanned by the collector
/// (WeChat `POST /v3/pay/transactions/codepay`; Alipay `alipay.trade.pay` with
/// `scene=bar_code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeOrder {
    /// Our order number.
    pub out_trade_no: String,
    /// Shown in the payer's bill.
    pub description: String,
    /// Exact amount in fen (> 0).
    pub amount_fen: i64,
    /// The scanned code (WeChat: 18 digits starting 10–15; Alipay: 16–24
    /// digits starting 25–30).
    pub auth_code: String,
    /// Device that scanned (WeChat `scene_info.device_id`, Alipay `terminal_id`).
    pub device_id: String,
    /// Store (estate) id (WeChat `scene_info.store_info.id`, Alipay `store_id`).
    pub store_id: String,
    /// Notification address (Alipay only; WeChat codepay has none).
    pub notify_url: Option<String>,
}

/// Where an order stands at the provider, provider-neutral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TradeStatus {
    /// Paid: the provider's transaction number, the amount and when.
    Paid {
        /// WeChat `transaction_id` / Alipay `trade_no`.
        transaction_id: String,
        /// Amount of the order, fen.
        amount_fen: i64,
        /// Unix seconds (WeChat `success_time`, Alipay `gmt_payment`/`send_pay_date`).
        paid_at: Option<i64>,
    },
    /// Created, not paid yet (WeChat `NOTPAY`, Alipay `WAIT_BUYER_PAY` or
    /// `ACQ.TRADE_NOT_EXIST` for a QR order nobody has scanned).
    NotPaid,
    /// The payer is entering a password (payment code only: WeChat
    /// `USERPAYING`, Alipay `10003` / `WAIT_BUYER_PAY` after `trade.pay`).
    UserPaying,
    /// Closed or reversed without payment (WeChat `CLOSED`/`REVOKED`, Alipay
    /// `TRADE_CLOSED` unpaid).
    Closed,
    /// Paid then (partly or wholly) refunded (WeChat `REFUND`).
    Refunded,
    /// The payment failed (WeChat `PAYERROR`, Alipay `40004` on `trade.pay`).
    Failed {
        /// The provider's words.
        reason: String,
    },
}

/// A refund of (part of) a paid order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOrder {
    /// The paid order.
    pub out_trade_no: String,
    /// Our refund number: the idempotency key (the same number refunds once).
    pub out_refund_no: String,
    /// Refund amount, fen.
    pub refund_fen: i64,
    /// Order total, fen (WeChat needs it).
    pub total_fen: i64,
    /// Why (≤ 80 characters).
    pub reason: String,
    /// Where the provider tells how the refund ended (WeChat `notify_url`
    /// in the refund request; Alipay's common `notify_url` parameter).
    pub notify_url: Option<String>,
}

/// Where a refund stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Money returned.
    Success,
    /// Being processed (WeChat `PROCESSING`).
    Processing,
    /// Failed or closed; retry with the same refund number.
    Failed,
}

/// A payment notification that passed verification and decryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notified {
    /// The provider's notification id (WeChat `id`, Alipay `notify_id`).
    pub notify_id: String,
    /// Merchant (WeChat `mchid`, Alipay `seller_id`).
    pub merchant_id: String,
    /// App (WeChat `appid`, Alipay `app_id`).
    pub app_id: String,
    /// Our order number.
    pub out_trade_no: String,
    /// What the notification is about.
    pub event: NotifiedEvent,
    /// The order's total as the notification states it, fen (CNY).
    pub amount_fen: i64,
}

/// What a verified notification is about. A refund notification is its own
/// kind so that nothing it says can be read as a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifiedEvent {
    /// About the order's payment (WeChat `TRANSACTION.SUCCESS`, Alipay
    /// `trade_status_sync`): where the order stands.
    Trade(TradeStatus),
    /// About one refund of the order (WeChat `REFUND.*`).
    Refund(RefundNotified),
}

/// A refund notification's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundNotified {
    /// Our refund number.
    pub out_refund_no: String,
    /// `SUCCESS` → Success; `CLOSED` / `ABNORMAL` → Failed.
    pub status: RefundStatus,
    /// The amount refunded (or meant to be), fen.
    pub refund_fen: i64,
}

/// One transaction in a provider's daily bill, provider-neutral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillRecord {
    /// Provider's transaction number.
    pub transaction_id: String,
    /// Our order number.
    pub out_trade_no: String,
    /// `SUCCESS` for payments, `REFUND` for refunds.
    pub kind: BillKind,
    /// Amount, fen (positive; refunds carry the refunded amount).
    pub amount_fen: i64,
    /// Provider's fee, fen.
    pub fee_fen: i64,
    /// Unix seconds.
    pub at: i64,
}

/// Payment or refund in a bill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BillKind {
    /// A payment.
    Payment,
    /// A refund.
    Refund,
}

/// Why a provider call failed.
#[derive(Debug, thiserror::Error)]
pub enum PayError {
    /// Could not reach the provider (timeout, connection refused…): the order's
    /// state is unknown; query before retrying.
    #[error("network: {0}")]
    Network(String),
    /// The provider answered with a business error (code and message as given).
    #[error("{provider} refused: {code}: {message}")]
    Refused {
        /// `wechat` / `alipay`.
        provider: &'static str,
        /// e.g. `ORDERPAID`, `ACQ.TRADE_NOT_EXIST`.
        code: String,
        /// The provider's message.
        message: String,
    },
    /// The response's signature did not verify: treat as not received.
    #[error("the {0} response's signature did not verify")]
    BadResponseSignature(&'static str),
    /// The response could not be understood.
    #[error("malformed {provider} response: {detail}")]
    Malformed {
        /// `wechat` / `alipay`.
        provider: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// Our own input was wrong (amount, order number…), nothing was sent.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A key or certificate could not be used.
    #[error("key: {0}")]
    Key(#[from] keys::KeyError),
}

/// Why a notification was rejected. Each is answered with a non-success
/// status so that the provider retries (or, for probes, sees we verify).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotifyError {
    /// A `WECHATPAY/SIGNTEST/` probe: must fail verification.
    #[error("signature test probe")]
    SignTest,
    /// Timestamp more than five minutes from now.
    #[error("timestamp outside the five-minute window")]
    Replay,
    /// No key known for the serial / key id given.
    #[error("unknown key serial {0}")]
    UnknownSerial(String),
    /// Signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// A required header or field is missing or malformed.
    #[error("malformed notification: {0}")]
    Malformed(String),
    /// Decryption failed (wrong APIv3 key or tampered ciphertext).
    #[error("resource does not decrypt")]
    Decrypt,
    /// Verified, but for another merchant or app.
    #[error("notification for another merchant or app")]
    WrongMerchant,
}

/// A provider as the application uses it. Calls block (run them off the
/// async executor); each is one or more HTTP exchanges through the client's
/// [`http::Transport`].
pub trait PayProvider: Send + Sync {
    /// Which provider.
    fn provider(&self) -> Provider;
    /// Merchant id (WeChat `mchid`, Alipay `seller_id` / partner id).
    fn merchant_id(&self) -> &str;
    /// App id (WeChat `appid`, Alipay `app_id`).
    fn app_id(&self) -> &str;
    /// Creates a QR order for the exact amount.
    fn create_qr(&self, order: &QrOrder) -> Result<QrCreated, PayError>;
    /// Charges a scanned payment code. `UserPaying` means: poll [`Self::query`].
    fn pay_with_code(&self, order: &CodeOrder) -> Result<TradeStatus, PayError>;
    /// Where an order stands.
    fn query(&self, out_trade_no: &str) -> Result<TradeStatus, PayError>;
    /// Closes an unpaid QR order (WeChat close, Alipay `trade.close`); closing
    /// an order that was never scanned or is already closed is success.
    fn close(&self, out_trade_no: &str) -> Result<(), PayError>;
    /// Reverses a payment-code order (WeChat reverse, Alipay `trade.cancel`):
    /// closes it if unpaid, refunds it if paid.
    fn reverse(&self, out_trade_no: &str) -> Result<(), PayError>;
    /// Refunds (part of) a paid order; idempotent by `out_refund_no`.
    fn refund(&self, refund: &RefundOrder) -> Result<RefundStatus, PayError>;
    /// Verifies, decrypts and checks a payment notification (headers with
    /// lower-case names, the raw body) as of `now` (unix seconds).
    fn parse_notification(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now: i64,
    ) -> Result<Notified, NotifyError>;
    /// What to answer to a notification: (status, content type, body).
    fn notification_answer(&self, ok: bool) -> (u16, &'static str, Vec<u8>);
    /// The day's bill (local date `YYYY-MM-DD`, Asia/Shanghai), fetched and
    /// checked (WeChat: SHA-1 of the file) and parsed.
    fn daily_bill(&self, date: &str) -> Result<Vec<BillRecord>, PayError>;
}

/// `88.88` → 8888. Accepts `0.01`…, at most two decimals, no sign, no
/// exponent; anything else is `None`.
pub fn yuan_to_fen(s: &str) -> Option<i64> {
    let s = s.trim();
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (s.contains('.') && frac.is_empty())
    {
        return None;
    }
    let yuan: i64 = int.parse().ok()?;
    let mut fen: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    if frac.len() == 1 {
        fen *= 10;
    }
    yuan.checked_mul(100)?.checked_add(fen)
}

/// 8888 → `88.88`; negative amounts get a leading `-`.
pub fn fen_to_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let a = fen.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// Which provider a payment code (付款码) belongs to: WeChat codes are 18
/// digits starting 10–15, Alipay codes 16–24 digits starting 25–30.
pub fn auth_code_provider(code: &str) -> Option<Provider> {
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match (code.len(), code.get(0..2)) {
        (18, Some("10" | "11" | "12" | "13" | "14" | "15")) => Some(Provider::Wechat),
        (16..=24, Some("25" | "26" | "27" | "28" | "29" | "30")) => Some(Provider::Alipay),
        _ => None,
    }
}

/// Checks an order number: 6–32 characters of `[0-9A-Za-z_-]` (the common
/// ground of WeChat's and Alipay's rules).
pub fn check_out_trade_no(s: &str) -> Result<(), PayError> {
    let ok = (6..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(PayError::Invalid {
            field: "out_trade_no",
            message: format!("must be 6–32 characters of 0-9 A-Z a-z _ -, got {s:?}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_and_fen() {
        assert_eq!(yuan_to_fen("88.88"), Some(8888));
        assert_eq!(yuan_to_fen("0.1"), Some(10));
        assert_eq!(yuan_to_fen("0.01"), Some(1));
        assert_eq!(yuan_to_fen("100"), Some(10000));
        for bad in ["", "1.", ".5", "1.234", "-1.00", "1e3", "1,00", "abc"] {
            assert_eq!(yuan_to_fen(bad), None, "{bad}");
        }
        assert_eq!(fen_to_yuan(8888), "88.88");
        assert_eq!(fen_to_yuan(5), "0.05");
        assert_eq!(fen_to_yuan(-120), "-1.20");
    }

    #[test]
    fn payment_codes() {
        assert_eq!(
            auth_code_provider("134567890123456789"),
            Some(Provider::Wechat)
        );
        assert_eq!(
            auth_code_provider("2812345678901234"),
            Some(Provider::Alipay)
        );
        for bad in [
            "",
            "1",
            "13456789012345678",
            "164567890123456789",
            "28123",
            "28x2345678901234",
        ] {
            assert_eq!(auth_code_provider(bad), None, "{bad}");
        }
    }

    #[test]
    fn order_numbers() {
        assert!(check_out_trade_no("PF202401020001").is_ok());
        assert!(check_out_trade_no("abc").is_err());
        assert!(check_out_trade_no("has space1").is_err());
        assert!(check_out_trade_no(&"a".repeat(33)).is_err());
    }
}
