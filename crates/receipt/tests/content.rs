//! Signing and opening receipt notes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::{KEY_NAME, sample, signer};
use doorstep_merkle::note::Signer;
use doorstep_receipt::{NOTE_HEADER, ReceiptError, open, receipt_hash};

#[test]
fn note_text_is_header_and_one_line_of_json() {
    let c = sample();
    let text = c.note_text().unwrap();
    assert!(text.starts_with(NOTE_HEADER));
    assert_eq!(text.matches('\n').count(), 2);
    assert!(text.ends_with("}\n"));
    // Fields in declaration order, no spaces.
    let json = &text[NOTE_HEADER.len()..text.len() - 1];
    assert!(json.starts_with(
        r#"{"v":1,"company_id":7,"company":"上海静安锦绣物业管理有限公司","company_code":"#
    ));
    assert!(json.contains(r#""total_fen":123456,"method":"wechat","transaction_id":"4200002345202611271234567890","collector":"李建国","payment_id":98765}"#));
    assert_eq!(json, serde_json::to_string(&c).unwrap());
}

#[test]
fn sign_and_open_round_trip() {
    let c = sample();
    let note = c.sign(&signer()).unwrap();
    let opened = open(&note, &[signer().verifier()]).unwrap();
    assert_eq!(opened.content, c);
    assert_eq!(opened.key_name, KEY_NAME);
    assert_eq!(opened.body_sha256, receipt_hash(&c.note_text().unwrap()));
    // The same content signs to the same note (Ed25519 is deterministic).
    assert_eq!(c.sign(&signer()).unwrap(), note);
}

#[test]
fn one_changed_byte_breaks_the_signature() {
    let note = sample().sign(&signer()).unwrap();
    let tampered = note.replacen("\"total_fen\":123456", "\"total_fen\":923456", 1);
    assert_ne!(tampered, note);
    assert!(matches!(
        open(&tampered, &[signer().verifier()]),
        Err(ReceiptError::BadSignature(k)) if k.starts_with(KEY_NAME)
    ));
    let tampered = note.replacen("王秀英", "王秀芳", 1);
    let err = open(&tampered, &[signer().verifier()]).unwrap_err();
    assert!(matches!(err, ReceiptError::BadSignature(_)));
    assert!(err.to_string().contains("altered"), "{err}");
}

#[test]
fn unknown_key_is_refused() {
    let note = sample().sign(&signer()).unwrap();
    let other = Signer::from_seed(KEY_NAME, &[8u8; 32]).unwrap();
    let err = open(&note, &[other.verifier()]).unwrap_err();
    assert_eq!(err, ReceiptError::UnknownKey);
    assert!(err.to_string().contains("not signed by a known key"));
    assert_eq!(open(&note, &[]).unwrap_err(), ReceiptError::UnknownKey);
}

#[test]
fn other_notes_are_refused() {
    let s = signer();
    let checkpoint = s.sign("doorstep.example/evidence\n42\nAAAA\n").unwrap();
    let err = open(&checkpoint, &[s.verifier()]).unwrap_err();
    assert_eq!(err, ReceiptError::NotAReceipt);
    assert!(err.to_string().contains("not a Doorstep receipt"));

    // Signed, right header, but not a receipt's JSON.
    let bad_json = s.sign("doorstep-receipt/v1\n{\"v\":1}\n").unwrap();
    assert!(matches!(
        open(&bad_json, &[s.verifier()]),
        Err(ReceiptError::MalformedJson(_))
    ));
    let not_json = s.sign("doorstep-receipt/v1\nhello\n").unwrap();
    assert!(matches!(
        open(&not_json, &[s.verifier()]),
        Err(ReceiptError::MalformedJson(_))
    ));
    // Two lines of content.
    let text = sample().note_text().unwrap();
    let two = s.sign(&format!("{text}extra\n")).unwrap();
    assert!(matches!(
        open(&two, &[s.verifier()]),
        Err(ReceiptError::MalformedJson(_))
    ));
    // Valid JSON of the content, but not the canonical form (a space).
    let spaced = text.replacen("{\"v\":1,", "{\"v\": 1,", 1);
    let spaced = s.sign(&spaced).unwrap();
    assert!(matches!(
        open(&spaced, &[s.verifier()]),
        Err(ReceiptError::MalformedJson(m)) if m.contains("canonical")
    ));
    // A later version.
    let mut c = sample();
    c.v = 2;
    let v2 = c.sign(&s).unwrap();
    assert_eq!(
        open(&v2, &[s.verifier()]).unwrap_err(),
        ReceiptError::UnsupportedVersion(2)
    );
    // Not a note at all.
    assert!(matches!(
        open("doorstep-receipt/v1\n{}\n", &[s.verifier()]),
        Err(ReceiptError::MalformedNote(_))
    ));
    assert_eq!(
        open("", &[s.verifier()]).unwrap_err(),
        ReceiptError::NotAReceipt
    );
}

#[test]
fn receipt_hash_is_stable() {
    let text = sample().note_text().unwrap();
    let h = receipt_hash(&text);
    assert_eq!(h, receipt_hash(&text));
    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
    // Pinned: a change here means the note format changed.
    assert_eq!(hex, PINNED_HASH);
    assert_eq!(receipt_hash(""), {
        let mut e = [0u8; 32];
        let s = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        for (i, b) in e.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        e
    });
}

const PINNED_HASH: &str = "1d5b1e224c44175b407e8f9510608a8d24558ff880e34355042b07f68e35a628";

#[test]
fn control_characters_cannot_be_signed() {
    let mut c = sample();
    c.payer = "王\u{7f}秀英".into();
    assert!(matches!(
        c.sign(&signer()),
        Err(ReceiptError::Unsignable(_))
    ));
    // Ordinary control characters are escaped by JSON and sign fine.
    c.payer = "王\t秀英\n".into();
    let note = c.sign(&signer()).unwrap();
    assert_eq!(open(&note, &[signer().verifier()]).unwrap().content, c);
}
