//! Records of issue 6: signing keys, receipts, the evidence log and invoice
//! requests.

use doorstep_domain::{Fen, ObjectKind};
use serde::Serialize;

/// One of a company's Ed25519 signing keys (the secret half is only handed
/// out by [`crate::Store::active_signing_key`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SigningKey {
    /// Id.
    pub id: i64,
    /// Company.
    pub company_id: i64,
    /// The key's name in signed notes (the log's origin).
    pub name: String,
    /// The verifier key, C2SP note form `name+hash+base64`.
    pub vkey: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; `None` for the key that signs now.
    pub retired_at: Option<i64>,
}

/// An e-receipt. One per payment; its number is taken in the payment's
/// transaction, so numbers have no gaps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// Id.
    pub id: i64,
    /// Company.
    pub company_id: i64,
    /// Number within the company: 1, 2, 3 …
    pub number: i64,
    /// Estate.
    pub estate_id: i64,
    /// The payment it acknowledges.
    pub payment_id: i64,
    /// `pending` (not yet signed), `issued`, `void`.
    pub status: String,
    /// The unguessable token in the owner's link.
    #[serde(skip)]
    pub token: String,
    /// The signed note (C2SP signed-note text), once issued.
    pub note: Option<String>,
    /// SHA-256 (hex) of the note's signed text.
    pub sha256: Option<String>,
    /// The key that signed it.
    pub signing_key_id: Option<i64>,
    /// The evidence record of the payment.
    pub leaf_index: Option<u64>,
    /// Unix seconds.
    pub issued_at: Option<i64>,
    /// Signing attempts that failed.
    pub attempts: i64,
    /// The last failure.
    pub last_error: Option<String>,
    /// Why it was voided.
    pub void_reason: Option<String>,
    /// Unix seconds.
    pub voided_at: Option<i64>,
    /// The evidence record of the void.
    pub void_leaf_index: Option<u64>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A record to append to a company's evidence log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvidence {
    /// Record kind (`checkin`, `signature`, `payment`, `outcome`, `receipt_void`).
    pub kind: String,
    /// Estate.
    pub estate_id: Option<i64>,
    /// Visit.
    pub booking_id: Option<i64>,
    /// Payment.
    pub payment_id: Option<i64>,
    /// Rooms and spaces the record concerns.
    pub objects: Vec<(ObjectKind, i64)>,
    /// The record: RFC 8785 canonical JSON bytes.
    pub data: Vec<u8>,
    /// Unix seconds.
    pub at: i64,
}

/// A stored evidence record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceRecord {
    /// Company (one log per company).
    pub company_id: i64,
    /// Leaf index.
    pub index: u64,
    /// Kind.
    pub kind: String,
    /// Estate.
    pub estate_id: Option<i64>,
    /// Visit.
    pub booking_id: Option<i64>,
    /// Payment.
    pub payment_id: Option<i64>,
    /// The exact bytes logged.
    #[serde(skip)]
    pub data: Vec<u8>,
    /// Unix seconds.
    pub created_at: i64,
}

/// A signed checkpoint of a company's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredCheckpoint {
    /// Company.
    pub company_id: i64,
    /// Tree size.
    pub size: u64,
    /// Root hash.
    #[serde(skip)]
    pub root: [u8; 32],
    /// The signed note.
    pub note: String,
    /// The key that signed it.
    pub signing_key_id: i64,
    /// Unix seconds.
    pub signed_at: i64,
}

/// Receipt signing: the content was signed; record it with the payment's
/// evidence record, in one transaction.
#[derive(Debug, Clone)]
pub struct IssueReceipt {
    /// The receipt.
    pub receipt_id: i64,
    /// The signed note.
    pub note: String,
    /// SHA-256 (hex) of its signed text.
    pub sha256: String,
    /// The key that signed.
    pub signing_key_id: i64,
    /// The payment's evidence record (which names the receipt's hash).
    pub evidence: NewEvidence,
    /// Messages queued with it (the link texted to the owners), in the
    /// same transaction and only if this call issued it: one text per
    /// issue, however many instances race.
    pub messages: Vec<crate::NewMessage>,
    /// Unix seconds.
    pub at: i64,
}

/// A payment's receipt as known right after the payment: the token of the
/// owner's link from the payment's own transaction, the number once the
/// sequencer (or a reader) has given it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRef {
    /// The receipt number, once given.
    pub number: Option<i64>,
    /// The owner's link token.
    pub token: String,
    /// `pending` until signed, then `issued` (or `void`).
    pub status: String,
}

impl ReceiptRef {
    /// The reference a payment's transaction draws: the link's token, the
    /// number if it was given there and then, not signed yet.
    pub fn pending(token: String, number: Option<i64>) -> Self {
        ReceiptRef {
            number,
            token,
            status: "pending".into(),
        }
    }
}

/// What a receipt says about a payment, read in one go.
#[derive(Debug, Clone)]
pub struct ReceiptFacts {
    /// The payment.
    pub payment_id: i64,
    /// Company id, name and credit code.
    pub company_id: i64,
    /// Company name.
    pub company: String,
    /// Unified social credit code.
    pub company_code: String,
    /// Estate id.
    pub estate_id: i64,
    /// Estate name.
    pub estate: String,
    /// The estate's time zone.
    pub time_zone: String,
    /// Amount paid.
    pub amount: Fen,
    /// `cash`, `wechat`, …
    pub method: String,
    /// Provider.
    pub provider: Option<String>,
    /// Provider transaction.
    pub transaction_id: Option<String>,
    /// Unix seconds.
    pub paid_at: i64,
    /// Who recorded it (the collector).
    pub collector: Option<String>,
    /// Collector id.
    pub collector_id: Option<i64>,
    /// The visit.
    pub booking_id: Option<i64>,
    /// Advance (prepayment) part.
    pub advance: Fen,
    /// Each line paid.
    pub lines: Vec<ReceiptLineFact>,
    /// The first phone of each owner of the rooms and spaces paid for,
    /// sorted, each once (where the receipt's link is texted).
    pub phones: Vec<String>,
}

/// One bill line a payment paid.
#[derive(Debug, Clone)]
pub struct ReceiptLineFact {
    /// Bill line.
    pub line_id: i64,
    /// Room or space.
    pub object: (ObjectKind, i64),
    /// Room/space label, e.g. "3栋2单元1201".
    pub object_label: String,
    /// Owners' names.
    pub payer: String,
    /// Fee item name.
    pub item: String,
    /// Fee category code.
    pub category: String,
    /// Period, `2026-11`.
    pub period: String,
    /// The line's amount.
    pub amount: Fen,
    /// Waived on the line.
    pub waived: Fen,
    /// Principal paid by this payment.
    pub principal: Fen,
    /// Late fee paid by this payment.
    pub late_fee: Fen,
    /// Basis of the amount (e.g. area × price), display text.
    pub basis: String,
    /// Tax classification code.
    pub tax_code: String,
    /// VAT rate in basis points.
    pub vat_rate_bp: i64,
}

/// An invoice request to create.
#[derive(Debug, Clone)]
pub struct NewInvoiceRequest {
    /// The receipt asked about.
    pub receipt_id: i64,
    /// `personal` or `company`.
    pub kind: String,
    /// 抬头.
    pub title: String,
    /// The company's unified social credit code (required for `company`).
    pub tax_id: Option<String>,
    /// Where the invoice goes.
    pub email: Option<String>,
    /// Or a phone.
    pub phone: Option<String>,
    /// Optional address and phone (地址电话).
    pub address: Option<String>,
    /// Optional bank and account (开户行及账号).
    pub bank: Option<String>,
    /// The adapter it goes to.
    pub platform: String,
    /// Unix seconds.
    pub at: i64,
}

/// An invoice request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceRequest {
    /// Id.
    pub id: i64,
    /// Company.
    pub company_id: i64,
    /// Estate.
    pub estate_id: i64,
    /// Receipt.
    pub receipt_id: i64,
    /// Receipt number.
    pub receipt_number: i64,
    /// Payment.
    pub payment_id: i64,
    /// `personal` / `company`.
    pub kind: String,
    /// 抬头.
    pub title: String,
    /// Tax id.
    pub tax_id: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Address and phone.
    pub address: Option<String>,
    /// Bank and account.
    pub bank: Option<String>,
    /// Total to invoice.
    pub amount: Fen,
    /// `requested`, `issued`, `failed`.
    pub status: String,
    /// Adapter.
    pub platform: String,
    /// Invoice number once issued.
    pub invoice_no: Option<String>,
    /// Link to the invoice file.
    pub file_url: Option<String>,
    /// Why it failed.
    pub reason: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// The lines.
    pub lines: Vec<InvoiceLine>,
}

/// One payment line of an invoice request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceLine {
    /// Bill line.
    pub line_id: i64,
    /// Fee item name.
    pub item: String,
    /// Tax classification code.
    pub tax_code: String,
    /// VAT rate, basis points.
    pub vat_rate_bp: i64,
    /// Amount (tax included).
    pub amount: Fen,
}

/// A request's new state.
#[derive(Debug, Clone)]
pub struct InvoiceOutcome {
    /// `issued` or `failed`.
    pub status: String,
    /// The invoice number (issued).
    pub invoice_no: Option<String>,
    /// Link to the file (issued).
    pub file_url: Option<String>,
    /// Why (failed).
    pub reason: Option<String>,
    /// Staff who recorded it, if any.
    pub by: Option<i64>,
    /// Unix seconds.
    pub at: i64,
}
