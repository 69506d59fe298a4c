//! Records of collecting at the door: merchants, geofences, check-ins,
//! provider orders (collections), signatures, the journal, shifts and
//! handovers, voids and refunds, reconciliation and job leases.

use crate::PaymentRecord;
use doorstep_domain::{Date, Fen, ObjectKind};
use serde::Serialize;

/// An estate's collection settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectSettings {
    /// Whether owners may pay more than is owed (kept as an advance).
    pub allow_prepay: bool,
    /// How long a QR code can be paid (seconds; 60–7200).
    pub qr_expiry_seconds: i64,
    /// Cash a collector may hold before an alert.
    pub cash_limit: Fen,
    /// Hours a collector may hold cash before an alert.
    pub cash_limit_hours: i64,
}

impl Default for CollectSettings {
    fn default() -> Self {
        CollectSettings {
            allow_prepay: false,
            qr_expiry_seconds: 300,
            cash_limit: Fen(200_000),
            cash_limit_hours: 24,
        }
    }
}

/// A merchant account to store.
#[derive(Debug, Clone)]
pub struct NewMerchant {
    /// Company.
    pub company_id: i64,
    /// 0 = every estate of the company, else one estate's own account.
    pub estate_scope: i64,
    /// `wechat` / `alipay`.
    pub provider: String,
    /// WeChat mchid / Alipay seller id.
    pub merchant_id: String,
    /// App id.
    pub app_id: String,
    /// Keys, serials, endpoints (JSON; secret).
    pub settings: String,
    /// Unix seconds.
    pub at: i64,
}

/// A stored merchant account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Merchant {
    /// Id.
    pub id: i64,
    /// Company.
    pub company_id: i64,
    /// 0 = company-wide, else the estate.
    pub estate_scope: i64,
    /// `wechat` / `alipay`.
    pub provider: String,
    /// WeChat mchid / Alipay seller id.
    pub merchant_id: String,
    /// App id.
    pub app_id: String,
    /// Keys and endpoints (JSON). Never shown.
    #[serde(skip)]
    pub settings: String,
    /// Unix seconds.
    pub updated_at: i64,
}

/// Where a building or parking level is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Geofence {
    /// `building` / `parking`.
    pub area_kind: String,
    /// Building name, or parking level (`B1`; empty = the estate's garage).
    pub area: String,
    /// Latitude, millionths of a degree (WGS-84).
    pub lat_e6: i64,
    /// Longitude, millionths of a degree.
    pub lng_e6: i64,
    /// Radius, metres.
    pub radius_m: i64,
}

/// A check-in to record.
#[derive(Debug, Clone)]
pub struct NewCheckin {
    /// Estate.
    pub estate_id: i64,
    /// Booking visited.
    pub booking_id: i64,
    /// Collector.
    pub collector_id: i64,
    /// The browser's fix, if any: latitude, longitude (millionths of a
    /// degree), accuracy (m), time of the fix (unix seconds).
    pub fix: Option<(i64, i64, i64, i64)>,
    /// `inside`, `outside`, `no_fix`, `no_fence`.
    pub verdict: String,
    /// Distance to the geofence's centre, metres.
    pub distance_m: Option<i64>,
    /// Device description.
    pub device: String,
    /// Made offline and synced later.
    pub offline: bool,
    /// Client-made key: the same key records once.
    pub client_key: Option<String>,
    /// Unix seconds.
    pub at: i64,
}

/// A recorded check-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkin {
    /// Id.
    pub id: i64,
    /// Booking.
    pub booking_id: i64,
    /// Collector.
    pub collector_id: i64,
    /// Latitude (millionths of a degree).
    pub lat_e6: Option<i64>,
    /// Longitude.
    pub lng_e6: Option<i64>,
    /// Accuracy, metres.
    pub accuracy_m: Option<i64>,
    /// Time of the fix.
    pub fix_at: Option<i64>,
    /// `inside`, `outside`, `no_fix`, `no_fence`.
    pub verdict: String,
    /// Distance to the fence centre, metres.
    pub distance_m: Option<i64>,
    /// Made offline.
    pub offline: bool,
    /// Unix seconds.
    pub recorded_at: i64,
    /// This key had been recorded before; nothing new was written.
    pub replayed: bool,
}

/// A provider order to open.
#[derive(Debug, Clone)]
pub struct NewCollection {
    /// Estate.
    pub estate_id: i64,
    /// The visit, if any.
    pub booking_id: Option<i64>,
    /// Collector.
    pub collector_id: i64,
    /// `wechat_qr`, `alipay_qr`, `wechat_code`, `alipay_code`.
    pub method: String,
    /// Merchant account.
    pub merchant_ref: i64,
    /// Our order number.
    pub out_trade_no: String,
    /// Exact amount.
    pub amount: Fen,
    /// Lines paid (oldest first when allocated).
    pub line_ids: Vec<i64>,
    /// Local date (late fees as of it).
    pub on: Date,
    /// Last moment to pay (unix seconds).
    pub expires_at: i64,
    /// Client-made key.
    pub client_key: Option<String>,
    /// Unix seconds.
    pub at: i64,
}

/// In the conflict message of a payment refused because a bill line is held
/// by an open QR or payment-code order (the web layer answers it in the
/// collector's language, with that order).
pub const HELD_BY_OPEN_ORDER: &str = "is held by an open order";

/// A provider order and where it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Collection {
    /// Id.
    pub id: i64,
    /// Estate.
    pub estate_id: i64,
    /// The visit.
    pub booking_id: Option<i64>,
    /// Collector.
    pub collector_id: i64,
    /// `wechat_qr`, `alipay_qr`, `wechat_code`, `alipay_code`.
    pub method: String,
    /// Merchant account.
    pub merchant_ref: i64,
    /// Our order number.
    pub out_trade_no: String,
    /// Exact amount.
    pub amount: Fen,
    /// Lines paid.
    pub line_ids: Vec<i64>,
    /// `open`, `paid`, `closed`, `failed`.
    pub status: String,
    /// What the QR code encodes.
    pub code: Option<String>,
    /// Last moment to pay.
    pub expires_at: i64,
    /// Provider's transaction number once paid.
    pub transaction_id: Option<String>,
    /// The payment recorded.
    pub payment_id: Option<i64>,
    /// Why it was closed or failed.
    pub close_reason: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
}

impl Collection {
    /// `wechat` / `alipay`.
    pub fn provider(&self) -> &str {
        self.method.split('_').next().unwrap_or("")
    }
}

/// The provider says an order was paid.
#[derive(Debug, Clone)]
pub struct CompleteCollection {
    /// Our order number.
    pub out_trade_no: String,
    /// Provider's transaction number.
    pub transaction_id: String,
    /// Amount the provider reports.
    pub amount: Fen,
    /// Local date of payment.
    pub paid_on: Date,
    /// Unix seconds.
    pub at: i64,
}

/// A completed collection with its payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompletedCollection {
    /// The collection, now paid.
    pub collection: Collection,
    /// Its payment (replayed = it had been completed before).
    pub payment: PaymentRecord,
}

/// A signature to record.
#[derive(Debug, Clone)]
pub struct NewSignature {
    /// Estate.
    pub estate_id: i64,
    /// Visit.
    pub booking_id: Option<i64>,
    /// Payment confirmed (online: its id).
    pub payment_id: Option<i64>,
    /// The confirmed payment's idempotency key (cash taken offline, maybe
    /// not recorded yet): the payment recorded with this key is linked to
    /// the signature, whichever reaches the store first.
    pub payment_key: Option<String>,
    /// The amount shown to the owner (what the payment must be).
    pub amount: Fen,
    /// Collector holding the phone.
    pub collector_id: i64,
    /// The canonical JSON shown to the owner.
    pub shown: String,
    /// Strokes as JSON: `[[[x, y, t_ms], …], …]` plus canvas size.
    pub strokes: String,
    /// The rendered PNG.
    pub png: Vec<u8>,
    /// When the owner signed (unix seconds, device clock).
    pub signed_at: i64,
    /// Made offline.
    pub offline: bool,
    /// Client-made key.
    pub client_key: Option<String>,
    /// Unix seconds (server).
    pub at: i64,
}

/// A recorded signature (without the PNG).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signature {
    /// Id.
    pub id: i64,
    /// Visit.
    pub booking_id: Option<i64>,
    /// Payment (None while the payment named by `payment_key` has not
    /// reached the server).
    pub payment_id: Option<i64>,
    /// The confirmed payment's idempotency key (offline cash).
    pub payment_key: Option<String>,
    /// The amount shown to the owner.
    pub amount: Option<Fen>,
    /// Collector.
    pub collector_id: i64,
    /// SHA-256 (hex) of what was shown.
    pub shown_hash: String,
    /// SHA-256 of the strokes JSON.
    pub strokes_hash: String,
    /// SHA-256 of the PNG.
    pub png_hash: String,
    /// Device time of signing.
    pub signed_at: i64,
    /// Made offline.
    pub offline: bool,
    /// Server time recorded.
    pub recorded_at: i64,
    /// This key had been recorded before.
    pub replayed: bool,
}

/// One posting of a stored journal entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredPosting {
    /// Account code (`receivable:room:12:3`, `cash:7`, …).
    pub account: String,
    /// Debit, fen.
    pub debit: Fen,
    /// Credit, fen.
    pub credit: Fen,
}

/// A stored journal entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    /// Id.
    pub id: i64,
    /// Estate.
    pub estate_id: i64,
    /// `opening`, `billing`, `payment`, `waiver`, `void`, `refund`, `handover`, …
    pub kind: String,
    /// Memo.
    pub memo: String,
    /// The payment it records or reverses.
    pub payment_id: Option<i64>,
    /// The entry this one reverses.
    pub reverses: Option<i64>,
    /// Staff who caused it.
    pub created_by: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// Postings.
    pub postings: Vec<StoredPosting>,
}

/// What the bills say a receivable account must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceivableExpectation {
    /// Room or space.
    pub object: ObjectKind,
    /// Its id.
    pub object_id: i64,
    /// Fee item.
    pub fee_item_id: i64,
    /// Outstanding principal per the bill lines.
    pub expected: Fen,
}

/// A payment as the ledger check sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentFact {
    /// Id.
    pub id: i64,
    /// Estate.
    pub estate_id: i64,
    /// Amount.
    pub amount: Fen,
    /// `posted`, `voided`, `refunded`.
    pub status: String,
    /// Recorded before the journal existed: carried by an opening entry.
    pub opening: bool,
    /// `cash`, `wechat`, `alipay`, …
    pub method: String,
    /// Unix seconds.
    pub paid_at: i64,
}

/// A collector's shift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Shift {
    /// Id.
    pub id: i64,
    /// Estate.
    pub estate_id: i64,
    /// Collector.
    pub collector_id: i64,
    /// Collector's name.
    pub collector_name: String,
    /// `open`, `closed`, `handed_over`.
    pub status: String,
    /// Unix seconds.
    pub opened_at: i64,
    /// Unix seconds.
    pub closed_at: Option<i64>,
    /// Cash the ledger says the collector holds (at handover).
    pub expected: Option<Fen>,
    /// Cash finance counted.
    pub counted: Option<Fen>,
    /// Who counted.
    pub counted_by: Option<i64>,
    /// Unix seconds.
    pub handed_over_at: Option<i64>,
    /// The handover's journal entry.
    pub entry_id: Option<i64>,
    /// Note.
    pub note: String,
}

impl Shift {
    /// counted − expected (negative = short), once handed over.
    pub fn difference(&self) -> Option<Fen> {
        Some(self.counted? - self.expected?)
    }
}

/// Cash a collector holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CashHolding {
    /// Collector.
    pub user_id: i64,
    /// Name.
    pub name: String,
    /// Ledger balance of their cash account.
    pub amount: Fen,
    /// Oldest cash payment not yet handed over (unix seconds).
    pub oldest_at: Option<i64>,
}

/// A void or refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reversal {
    /// Id.
    pub id: i64,
    /// Estate.
    pub estate_id: i64,
    /// Payment.
    pub payment_id: i64,
    /// `void` / `refund`.
    pub kind: String,
    /// Why.
    pub reason: String,
    /// `requested`, `approved`, `rejected`, `done`, `failed`.
    pub status: String,
    /// Who asked.
    pub requested_by: i64,
    /// Unix seconds.
    pub requested_at: i64,
    /// Who decided (never the one who asked).
    pub decided_by: Option<i64>,
    /// Unix seconds.
    pub decided_at: Option<i64>,
    /// Refund number at the provider.
    pub out_refund_no: Option<String>,
    /// The reversing journal entry.
    pub entry_id: Option<i64>,
    /// Provider's answer or note.
    pub detail: String,
}

/// One mismatch between our QR takings and the provider's bill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconciliationItem {
    /// `missing` (we have it, the bill does not), `extra` (the bill has it,
    /// we do not), `amount_differs`.
    pub kind: String,
    /// Order number.
    pub out_trade_no: String,
    /// Provider transaction number.
    pub transaction_id: String,
    /// Our amount.
    pub ours: Option<Fen>,
    /// The bill's amount.
    pub theirs: Option<Fen>,
}

/// A reconciliation run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    /// Id.
    pub id: i64,
    /// Merchant account.
    pub merchant_ref: i64,
    /// Local date of the bill.
    pub bill_date: String,
    /// Transactions that matched.
    pub matched: i64,
    /// Their total.
    pub matched_fen: Fen,
    /// Mismatches.
    pub items: Vec<ReconciliationItem>,
    /// Who ran it.
    pub run_by: Option<i64>,
    /// Unix seconds.
    pub run_at: i64,
}

/// The daily reconciliation's failed tries for one merchant account and
/// bill date (issue 14 item 5): why the last one failed and when the job
/// tries again. Open while no reconciliation run exists for that day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconcileAttempt {
    /// Merchant account.
    pub merchant_ref: i64,
    /// Local date of the bill (`YYYY-MM-DD`).
    pub bill_date: String,
    /// Tries so far.
    pub attempts: i64,
    /// Why the last try failed: `not_ready` (the provider has not made the
    /// bill yet; not an error), `unreachable`, `credentials`, `verify`,
    /// `settings`, `refused`, `malformed`, `other`.
    pub reason: String,
    /// The provider's (or transport's) own words.
    pub detail: String,
    /// First try (unix seconds).
    pub first_at: i64,
    /// Last try (unix seconds).
    pub last_at: i64,
    /// When the job may try again (unix seconds).
    pub next_at: i64,
}
