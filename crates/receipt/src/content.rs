//! What a receipt says, and the signed note that carries it.
//!
//! The note text is `doorstep-receipt/v1\n` followed by the content as JSON
//! on one line (`serde_json::to_string`, fields in declaration order) and a
//! newline. It is signed as a C2SP signed note with the evidence log's
//! Ed25519 keys ([`doorstep_merkle::note`]). SHA-256 of that text is the
//! *receipt hash*, the value the evidence log records.
//!
//! [`open`] accepts only the canonical JSON: the text must be exactly what
//! [`ReceiptContent::note_text`] writes for the parsed content, so one
//! receipt has exactly one hash.

use doorstep_domain::{Fen, Lang};
use doorstep_merkle::note::{self, Signer, Verifier};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ReceiptError;

/// The first line of every receipt note.
pub const NOTE_HEADER: &str = "doorstep-receipt/v1\n";

/// The content format version this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Everything printed on a receipt, and exactly what is signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptContent {
    /// Format version, [`FORMAT_VERSION`].
    pub v: u32,
    /// The issuing company's id.
    pub company_id: i64,
    /// Company name.
    pub company: String,
    /// Unified social credit code (统一社会信用代码), may be empty.
    pub company_code: String,
    /// Estate name.
    pub estate: String,
    /// Receipt number, per company: 1, 2, 3 … (see [`number_display`]).
    pub number: i64,
    /// RFC 3339 local time with offset, e.g. `2026-11-27T19:42:05+08:00`.
    pub issued_at: String,
    /// The payer (owner) name.
    pub payer: String,
    /// Room or space label(s), several joined with `、`.
    pub object: String,
    /// The fee lines paid.
    pub lines: Vec<ContentLine>,
    /// What was paid, in fen.
    pub total_fen: i64,
    /// Payment method code (`cash`, `wechat`, `alipay`, … see [`method_label`]).
    pub method: String,
    /// The provider's transaction id, for electronic payments.
    pub transaction_id: Option<String>,
    /// The collector's display name (empty for counter payments).
    pub collector: String,
    /// The payment's id.
    pub payment_id: i64,
}

/// One fee line of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentLine {
    /// Fee item name, e.g. `物业服务费`.
    pub item: String,
    /// Billing period, `2026-11` or `2026-10 ~ 2026-12`.
    pub period: String,
    /// How the amount was computed, e.g. `2.50元/m² × 89.00m²`, or empty.
    pub basis: String,
    /// The line's billed amount, in fen.
    pub amount_fen: i64,
    /// Late fee paid with this payment, in fen.
    pub late_fee_fen: i64,
    /// Amount waived on the line, in fen.
    pub waived_fen: i64,
    /// Principal plus late fee paid on this line by this payment, in fen.
    pub paid_fen: i64,
}

/// A receipt note whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The signed content.
    pub content: ReceiptContent,
    /// The name of the (first) trusted key that signed it.
    pub key_name: String,
    /// SHA-256 of the note text (the signed body): the receipt hash.
    pub body_sha256: [u8; 32],
}

impl ReceiptContent {
    /// The text that is signed: header, one line of JSON, newline.
    pub fn note_text(&self) -> Result<String, ReceiptError> {
        let json = serde_json::to_string(self)
            .map_err(|e| ReceiptError::Unsignable(format!("cannot serialise: {e}")))?;
        // serde_json escapes U+0000–U+001F but not DEL and the C1 controls,
        // which a signed note may not contain.
        if json.chars().any(char::is_control) {
            return Err(ReceiptError::Unsignable(
                "a text field contains a control character (U+007F–U+009F)".into(),
            ));
        }
        Ok(format!("{NOTE_HEADER}{json}\n"))
    }

    /// The signed note (text, empty line, one signature line).
    pub fn sign(&self, signer: &Signer) -> Result<String, ReceiptError> {
        let text = self.note_text()?;
        signer
            .sign(&text)
            .map_err(|e| ReceiptError::Unsignable(e.to_string()))
    }

    /// The total in capitals, e.g. `壹仟贰佰叁拾肆元伍角陆分`.
    pub fn total_in_capitals(&self) -> String {
        doorstep_domain::cn::amount_in_capitals(Fen(self.total_fen))
    }

    /// `issued_at` as `2026-11-27 19:42` (as given if it is not RFC 3339).
    pub fn issued_at_display(&self) -> String {
        datetime_display(&self.issued_at)
    }
}

/// Opens a signed receipt note: checks the header, the signature by one of
/// `verifiers`, then parses the content.
pub fn open(signed_note: &str, verifiers: &[Verifier]) -> Result<Opened, ReceiptError> {
    // Look at the header before the signatures so that a note of another
    // kind is named as such rather than as "unknown key".
    if !signed_note.starts_with(NOTE_HEADER) {
        return Err(ReceiptError::NotAReceipt);
    }
    let opened = note::open(signed_note, verifiers)?;
    let key_name = opened
        .signed_by
        .first()
        .cloned()
        .ok_or(ReceiptError::UnknownKey)?;
    let text = opened.text;
    let json = text
        .strip_prefix(NOTE_HEADER)
        .and_then(|t| t.strip_suffix('\n'))
        .ok_or(ReceiptError::NotAReceipt)?;
    if json.contains('\n') {
        return Err(ReceiptError::MalformedJson(
            "the content must be one line of JSON".into(),
        ));
    }
    let content: ReceiptContent =
        serde_json::from_str(json).map_err(|e| ReceiptError::MalformedJson(e.to_string()))?;
    if content.v != FORMAT_VERSION {
        return Err(ReceiptError::UnsupportedVersion(content.v));
    }
    if content.note_text()? != text {
        return Err(ReceiptError::MalformedJson(
            "the JSON is not in canonical form (field order, spacing or escapes differ)".into(),
        ));
    }
    Ok(Opened {
        content,
        key_name,
        body_sha256: receipt_hash(&text),
    })
}

/// SHA-256 of a note text: the receipt hash.
pub fn receipt_hash(note_text: &str) -> [u8; 32] {
    Sha256::digest(note_text.as_bytes()).into()
}

/// The receipt number as printed: zero-padded to 8 digits (`00000123`).
pub fn number_display(n: i64) -> String {
    format!("{n:08}")
}

/// The name of a payment method code; unknown codes are shown as they are.
pub fn method_label(code: &str, lang: Lang) -> &str {
    let (zh, en) = match code {
        "cash" => ("现金", "Cash"),
        "wechat" => ("微信支付", "WeChat Pay"),
        "alipay" => ("支付宝", "Alipay"),
        "wechat_code" => ("微信付款码", "WeChat Pay (payment code)"),
        "alipay_code" => ("支付宝付款码", "Alipay (payment code)"),
        "counter" => ("柜台", "Counter"),
        _ => return code,
    };
    lang.pick(zh, en)
}

/// An amount in yuan with thousands separators: `123456` fen → `1,234.56`.
pub(crate) fn yuan_grouped(fen: i64) -> String {
    Fen(fen).grouped()
}

/// `2026-11-27T19:42:05+08:00` → `2026-11-27 19:42`; other text unchanged.
pub fn datetime_display(s: &str) -> String {
    let b = s.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15];
    let shaped = b.len() >= 16
        && digits.iter().all(|&i| b[i].is_ascii_digit())
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't' | b' ')
        && b[13] == b':';
    if shaped {
        format!("{} {}", &s[..10], &s[11..16])
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_helpers() {
        assert_eq!(number_display(123), "00000123");
        assert_eq!(number_display(123_456_789), "123456789");
        assert_eq!(yuan_grouped(123456), "1,234.56");
        assert_eq!(yuan_grouped(5), "0.05");
        assert_eq!(yuan_grouped(100_000_000), "1,000,000.00");
        assert_eq!(yuan_grouped(-123456), "-1,234.56");
        assert_eq!(
            datetime_display("2026-11-27T19:42:05+08:00"),
            "2026-11-27 19:42"
        );
        assert_eq!(datetime_display("yesterday"), "yesterday");
        assert_eq!(datetime_display("2026-11-27T1"), "2026-11-27T1");
        assert_eq!(method_label("wechat", Lang::Zh), "微信支付");
        assert_eq!(method_label("alipay_code", Lang::Zh), "支付宝付款码");
        assert_eq!(method_label("cash", Lang::En), "Cash");
        assert_eq!(method_label("bank_transfer", Lang::Zh), "bank_transfer");
    }
}
