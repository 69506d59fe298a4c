//! The JSON bodies of the API v3 calls used here. Field order is the order
//! of the published examples; optional fields absent when `None`.

use crate::TradeStatus;
use serde::{Deserialize, Serialize};

/// `amount` of an order request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAmount {
    /// Fen.
    pub total: i64,
    /// `CNY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// `POST /v3/pay/transactions/native`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeRequest {
    /// AppID bound to the merchant.
    pub appid: String,
    /// 商户号.
    pub mchid: String,
    /// Shown in the payer's bill.
    pub description: String,
    /// Our order number.
    pub out_trade_no: String,
    /// RFC 3339 in +08:00: the last moment to pay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_expire: Option<String>,
    /// Echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// Notification address (no query string).
    #[serde(default)]
    pub notify_url: String,
    /// Amount.
    pub amount: OrderAmount,
}

/// `{"code_url": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeResponse {
    /// `weixin://wxpay/bizpayurl?pr=…`.
    pub code_url: String,
}

/// `payer` of a codepay request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodePayer {
    /// The scanned payment code.
    pub auth_code: String,
}

/// `scene_info.store_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreInfo {
    /// Store id.
    pub id: String,
}

/// `scene_info` of a codepay request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SceneInfo {
    /// Device that scanned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// The store.
    pub store_info: StoreInfo,
}

/// `POST /v3/pay/transactions/codepay`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodepayRequest {
    /// AppID.
    pub appid: String,
    /// 商户号.
    pub mchid: String,
    /// Shown in the payer's bill.
    pub description: String,
    /// Our order number.
    pub out_trade_no: String,
    /// The payer's code.
    pub payer: CodePayer,
    /// Amount.
    pub amount: OrderAmount,
    /// Where it was scanned.
    pub scene_info: SceneInfo,
}

/// `payer` of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionPayer {
    /// The payer's openid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
}

/// `amount` of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionAmount {
    /// Order total, fen.
    pub total: i64,
    /// What the payer paid, fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_total: Option<i64>,
    /// `CNY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// `CNY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_currency: Option<String>,
}

/// A transaction: the query response, the codepay response and the
/// decrypted `TRANSACTION.SUCCESS` resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// AppID.
    #[serde(default)]
    pub appid: String,
    /// 商户号.
    #[serde(default)]
    pub mchid: String,
    /// Our order number.
    pub out_trade_no: String,
    /// WeChat's transaction number (absent until paid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// `NATIVE`, `MICROPAY`, ….
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_type: Option<String>,
    /// `SUCCESS`, `REFUND`, `NOTPAY`, `CLOSED`, `REVOKED`, `USERPAYING`, `PAYERROR`.
    pub trade_state: String,
    /// The state in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_state_desc: Option<String>,
    /// Bank or `OTHERS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_type: Option<String>,
    /// Echo of the order's attach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    /// The payer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<TransactionPayer>,
    /// Amounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<TransactionAmount>,
}

/// RFC 3339 → unix seconds.
pub fn parse_time(s: &str) -> Option<i64> {
    s.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// Unix seconds → RFC 3339 in +08:00 (`2024-01-02T12:00:00+08:00`).
pub fn format_time(unix: i64) -> Option<String> {
    let ts = jiff::Timestamp::from_second(unix).ok()?;
    let z = ts.to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)));
    Some(z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
}

/// A transaction's `trade_state` as a [`TradeStatus`] (`None` for an unknown
/// state): SUCCESS → Paid, NOTPAY → NotPaid, USERPAYING → UserPaying,
/// CLOSED/REVOKED → Closed, REFUND → Refunded, PAYERROR → Failed.
pub fn trade_status(tx: &Transaction) -> Option<TradeStatus> {
    Some(match tx.trade_state.as_str() {
        "SUCCESS" => TradeStatus::Paid {
            transaction_id: tx.transaction_id.clone().unwrap_or_default(),
            amount_fen: tx.amount.as_ref().map(|a| a.total).unwrap_or(0),
            paid_at: tx.success_time.as_deref().and_then(parse_time),
        },
        "NOTPAY" => TradeStatus::NotPaid,
        "USERPAYING" => TradeStatus::UserPaying,
        "CLOSED" | "REVOKED" => TradeStatus::Closed,
        "REFUND" => TradeStatus::Refunded,
        "PAYERROR" => TradeStatus::Failed {
            reason: tx
                .trade_state_desc
                .clone()
                .unwrap_or_else(|| "PAYERROR".into()),
        },
        _ => return None,
    })
}

/// `{"mchid": …}` (close).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseRequest {
    /// 商户号.
    pub mchid: String,
}

/// `{"appid": …, "mchid": …}` (reverse request and response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReverseRequest {
    /// AppID.
    pub appid: String,
    /// 商户号.
    pub mchid: String,
}

/// `amount` of a refund request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequestAmount {
    /// Refund, fen.
    pub refund: i64,
    /// Order total, fen.
    pub total: i64,
    /// `CNY`.
    pub currency: String,
}

/// `POST /v3/refund/domestic/refunds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    /// The paid order.
    pub out_trade_no: String,
    /// Our refund number (idempotency key).
    pub out_refund_no: String,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Refund notification address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// Amounts.
    pub amount: RefundRequestAmount,
}

/// `amount` of a refund response or notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAmount {
    /// Order total, fen.
    pub total: i64,
    /// Refund, fen.
    pub refund: i64,
    /// Paid by the payer, fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_total: Option<i64>,
    /// Refunded to the payer, fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_refund: Option<i64>,
    /// `CNY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// A refund (response of create and query).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundResponse {
    /// WeChat's refund id.
    pub refund_id: String,
    /// Our refund number.
    pub out_refund_no: String,
    /// The paid transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// Our order number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// `ORIGINAL`, `BALANCE`, ….
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// e.g. `支付用户零钱`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_received_account: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// `SUCCESS`, `CLOSED`, `PROCESSING`, `ABNORMAL`.
    pub status: String,
    /// Amounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<RefundAmount>,
}

/// The decrypted resource of a `REFUND.*` notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundNotice {
    /// 商户号.
    pub mchid: String,
    /// Our order number.
    pub out_trade_no: String,
    /// The paid transaction.
    pub transaction_id: String,
    /// Our refund number.
    pub out_refund_no: String,
    /// WeChat's refund id.
    pub refund_id: String,
    /// `SUCCESS`, `CLOSED`, `ABNORMAL`.
    pub refund_status: String,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    /// e.g. `支付用户零钱`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_received_account: Option<String>,
    /// Amounts.
    pub amount: RefundAmount,
}

/// The encrypted `resource` of a notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedResource {
    /// `transaction`, `refund`, ….
    #[serde(default)]
    pub original_type: String,
    /// `AEAD_AES_256_GCM`.
    pub algorithm: String,
    /// Base64 of `ct ‖ tag`.
    pub ciphertext: String,
    /// Associated data (`transaction`, `refund`).
    #[serde(default)]
    pub associated_data: String,
    /// 12 characters.
    pub nonce: String,
}

/// A notification's envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Notification id (stable across retries).
    pub id: String,
    /// RFC 3339.
    pub create_time: String,
    /// `encrypt-resource`.
    pub resource_type: String,
    /// `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, ….
    pub event_type: String,
    /// e.g. `支付成功`.
    #[serde(default)]
    pub summary: String,
    /// The encrypted payload.
    pub resource: EncryptedResource,
}

/// The body of every non-2xx response: `{"code": …, "message": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// e.g. `PARAM_ERROR`, `ORDER_NOT_EXIST`, `SIGN_ERROR`.
    pub code: String,
    /// In words.
    pub message: String,
}

/// `GET /v3/bill/tradebill` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TradeBillResponse {
    /// `SHA1`.
    pub hash_type: String,
    /// SHA-1 (hex) of the uncompressed bill.
    pub hash_value: String,
    /// Where to download it (signed GET, unsigned response).
    pub download_url: String,
}

/// One certificate in `GET /v3/certificates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateEntry {
    /// Serial (hex).
    pub serial_no: String,
    /// RFC 3339.
    pub effective_time: String,
    /// RFC 3339.
    pub expire_time: String,
    /// The PEM, encrypted with associated data `certificate`.
    pub encrypt_certificate: EncryptedResource,
}

/// `GET /v3/certificates` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificatesResponse {
    /// The certificates.
    pub data: Vec<CertificateEntry>,
}
