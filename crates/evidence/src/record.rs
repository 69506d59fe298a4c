//! Evidence records: the exact bytes that the log hashes.
//!
//! A record is one JSON object in RFC 8785 canonical form
//! ([`doorstep_domain::jcs`]), UTF-8, no trailing newline. It always has
//! `"v": 1` (the format version) and `"kind"`; the other members depend on
//! the kind. Leaf hash = SHA-256(0x00 ‖ bytes) (RFC 6962). Because the bytes
//! are canonical, anyone can rebuild them from the parsed JSON and get the
//! same hash, and a record that is not canonical was not written by Doorstep.
//!
//! Conventions for every kind:
//! - times (`at`, `fix_at`) are RFC 3339 UTC strings, e.g.
//!   `"2026-11-05T11:42:07Z"`;
//! - money is an integer number of fen (`…_fen`), never a decimal;
//! - ids are the database's ids as strings or integers (within ±2^53);
//! - a member named `<x>_sha256` is the lowercase hex SHA-256 of the exact
//!   bytes of a file (a signature image, a receipt); when a dispute bundle
//!   carries that file as an attachment, the bundle binds the two and the
//!   verifier compares them.
//!
//! The kinds the system writes (the database side builds the objects):
//!
//! | kind | members (besides `v`, `kind`) |
//! |---|---|
//! | `checkin` | `booking`, `collector`, `device`, `lat`, `lng`, `accuracy_m`, `fix_at`, `geofence` (the verdict: `inside` / `outside` / `no_fence` …, with the distance when known), `at` |
//! | `signature` | `booking`, `signature` (id), `shown_sha256` (SHA-256 of the canonical JSON the owner was shown), `strokes_sha256`, `image_sha256`, `at` |
//! | `payment` | `payment` (id), `booking`, `estate`, `objects` (rooms/spaces), `breakdown` (`[{category, item, period, principal_fen, late_fee_fen}]`), `amount_fen`, `method`, `provider`, `transaction_id`, `collector`, `device`, `receipt` (number), `receipt_sha256`, `at` |
//! | `outcome` | `booking`, `result`, `reason`, `at` |
//! | `receipt_void` | `receipt` (number), `receipt_sha256`, `reason`, `requested_by`, `approved_by`, `at` |

use doorstep_domain::jcs;
use serde_json::Value;

use crate::EvidenceError;

/// The record format version written in every record's `v`.
pub const VERSION: u64 = 1;

/// A visit's check-in: where the collector's device was, and the geofence
/// verdict.
pub const CHECKIN: &str = "checkin";
/// An owner's signature, bound to the hash of what was shown to them.
pub const SIGNATURE: &str = "signature";
/// A payment collected at the door (cash, QR, payment code).
pub const PAYMENT: &str = "payment";
/// A visit's outcome (paid, refused, nobody home, …) and the reason.
pub const OUTCOME: &str = "outcome";
/// A receipt voided with a second approver.
pub const RECEIPT_VOID: &str = "receipt_void";

/// The kinds Doorstep writes today (others are allowed; readers must not
/// reject a record because its kind is new to them).
pub const KINDS: [&str; 5] = [CHECKIN, SIGNATURE, PAYMENT, OUTCOME, RECEIPT_VOID];

fn valid_kind(kind: &str) -> bool {
    !kind.is_empty()
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The record bytes for `kind` with `fields` (a JSON object): the object
/// with `"v": 1` and `"kind"` added, in RFC 8785 canonical form.
///
/// `fields` must not contain `v` or `kind` itself.
pub fn record_bytes(kind: &str, fields: Value) -> Result<Vec<u8>, EvidenceError> {
    if !valid_kind(kind) {
        return Err(EvidenceError::BadKind(kind.to_string()));
    }
    let Value::Object(mut map) = fields else {
        return Err(EvidenceError::NotAnObject);
    };
    for reserved in ["v", "kind"] {
        if map.contains_key(reserved) {
            return Err(EvidenceError::ReservedField(reserved.to_string()));
        }
    }
    map.insert("v".to_string(), Value::from(VERSION));
    map.insert("kind".to_string(), Value::from(kind));
    Ok(jcs::to_vec(&Value::Object(map)))
}

/// Parses record bytes and checks that they are a record as Doorstep writes
/// them: valid JSON, RFC 8785 canonical (re-canonicalizing gives the same
/// bytes), an object with `"v": 1` and a string `kind`.
pub fn parse_record(bytes: &[u8]) -> Result<Value, EvidenceError> {
    let value = jcs::parse_strict(bytes)?;
    if jcs::to_vec(&value) != bytes {
        return Err(EvidenceError::NotCanonical);
    }
    let Value::Object(map) = &value else {
        return Err(EvidenceError::NotARecord("not a JSON object"));
    };
    if map.get("v").and_then(Value::as_u64) != Some(VERSION) {
        return Err(EvidenceError::NotARecord("\"v\" is not 1"));
    }
    match map.get("kind").and_then(Value::as_str) {
        Some(kind) if valid_kind(kind) => Ok(value),
        _ => Err(EvidenceError::NotARecord("no valid \"kind\"")),
    }
}

/// Whether `bytes` are exactly the RFC 8785 canonical form of the JSON they
/// hold (false for anything that is not valid JSON).
pub fn is_canonical(bytes: &[u8]) -> bool {
    jcs::canonicalize(bytes).is_ok_and(|c| c == bytes)
}

/// The `<x>_sha256` members of a record whose value is 64 lowercase hex
/// digits, as `(member name, hex)`. These name files by their hash.
pub fn hash_fields(record: &Value) -> Vec<(&str, &str)> {
    let Value::Object(map) = record else {
        return Vec::new();
    };
    map.iter()
        .filter(|(k, _)| k.ends_with("_sha256"))
        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
        .filter(|(_, v)| is_sha256_hex(v))
        .collect()
}

/// Whether `s` is 64 lowercase hex digits.
pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn record_bytes_are_canonical_with_version_and_kind() {
        let b = record_bytes(
            OUTCOME,
            json!({"booking": 17, "result": "refused", "reason": "业主不在家", "at": "2026-11-05T11:42:07Z"}),
        )
        .expect("record");
        assert_eq!(
            String::from_utf8(b.clone()).expect("utf-8"),
            r#"{"at":"2026-11-05T11:42:07Z","booking":17,"kind":"outcome","reason":"业主不在家","result":"refused","v":1}"#
        );
        let v = parse_record(&b).expect("parses");
        assert_eq!(v["kind"], "outcome");
    }

    #[test]
    fn bad_input_is_refused() {
        assert_eq!(
            record_bytes("checkin", json!([1])),
            Err(EvidenceError::NotAnObject)
        );
        assert_eq!(
            record_bytes("checkin", json!({"v": 2})),
            Err(EvidenceError::ReservedField("v".into()))
        );
        assert_eq!(
            record_bytes("checkin", json!({"kind": "x"})),
            Err(EvidenceError::ReservedField("kind".into()))
        );
        for bad in ["", "Check-in", "签到", "a b"] {
            assert_eq!(
                record_bytes(bad, json!({})),
                Err(EvidenceError::BadKind(bad.into()))
            );
        }
    }

    #[test]
    fn parse_record_reports_non_canonical_and_non_records() {
        assert_eq!(
            parse_record(br#"{"v":1, "kind":"outcome"}"#),
            Err(EvidenceError::NotCanonical)
        );
        assert_eq!(
            parse_record(br#"{"kind":"outcome","v":1.0}"#),
            Err(EvidenceError::NotCanonical)
        );
        assert_eq!(
            parse_record(b"{\"kind\":\"outcome\",\"v\":1}\n"),
            Err(EvidenceError::NotCanonical)
        );
        assert!(matches!(
            parse_record(br#"{"kind":"outcome","#),
            Err(EvidenceError::NotJson(_))
        ));
        assert!(matches!(
            parse_record(br#"{"v":1,"v":1}"#),
            Err(EvidenceError::NotJson(_))
        ));
        assert!(matches!(
            parse_record(br#"[1]"#),
            Err(EvidenceError::NotARecord(_))
        ));
        assert!(matches!(
            parse_record(br#"{"kind":"outcome","v":2}"#),
            Err(EvidenceError::NotARecord(_))
        ));
        assert!(matches!(
            parse_record(br#"{"v":1}"#),
            Err(EvidenceError::NotARecord(_))
        ));
        assert!(parse_record(br#"{"kind":"outcome","v":1}"#).is_ok());
        assert!(is_canonical(br#"{"a":1}"#));
        assert!(!is_canonical(br#"{"a": 1}"#));
        assert!(!is_canonical(b"nope"));
    }

    #[test]
    fn hash_fields_finds_file_hashes() {
        let h = "ab".repeat(32);
        let v = json!({"receipt_sha256": h, "image_sha256": "short", "other": h, "x_sha256": 5});
        assert_eq!(hash_fields(&v), vec![("receipt_sha256", h.as_str())]);
    }
}
