//! The short verification code printed on every receipt (验证码).
//!
//! Number + code is what a reader types (or the QR code carries) to see a
//! receipt's verdict without the owner's private link. The code is derived
//! from the whole signed note, signature included:
//! `SHA-256("doorstep-receipt-code\0" ‖ signed note)`, its first 40 bits in
//! Crockford base32 (8 characters, shown as `ABCD-EFGH`). So it needs no
//! storage, only the key holder could have made it (the Ed25519 signature
//! is in the input), and it cannot be computed from the receipt hash that
//! the evidence log and dispute bundles publish.

use sha2::{Digest, Sha256};

/// Crockford's base32: no I, L, O or U, so a code read aloud or typed from
/// paper is not misread.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code (40 bits).
const LEN: usize = 8;
const DOMAIN: &[u8] = b"doorstep-receipt-code\0";

/// The code of a signed note, as printed: `ABCD-EFGH`.
pub fn verification_code(signed_note: &str) -> String {
    let raw = raw_code(signed_note);
    format!("{}-{}", &raw[..4], &raw[4..])
}

fn raw_code(signed_note: &str) -> String {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(signed_note.as_bytes());
    let d = h.finalize();
    let bits = d[..5]
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    (0..LEN)
        .map(|i| char::from(ALPHABET[((bits >> (35 - 5 * i)) & 31) as usize]))
        .collect()
}

/// Whether `given` is the code of `signed_note`: case, spaces and dashes
/// are ignored and the look-alikes O→0, I/L→1 are read as Crockford says.
/// Compared in constant time, so timing tells nothing of a near miss.
pub fn code_matches(signed_note: &str, given: &str) -> bool {
    let Some(given) = normalize_code(given) else {
        return false;
    };
    let want = raw_code(signed_note);
    want.bytes()
        .zip(given.bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// A code as typed → its 8 canonical characters; `None` when it cannot be
/// a code (wrong length, a character outside the alphabet).
pub fn normalize_code(given: &str) -> Option<String> {
    let mut out = String::with_capacity(LEN);
    for c in given.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' | '\u{3000}' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) || out.len() == LEN {
            return None;
        }
        out.push(c);
    }
    (out.len() == LEN).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_readable_and_forgiving() {
        let c = verification_code("doorstep-receipt/v1\n{}\n\n\u{2014} k abc\n");
        assert_eq!(c.len(), 9);
        assert_eq!(&c[4..5], "-");
        assert!(c.chars().all(|x| x == '-' || ALPHABET.contains(&(x as u8))));
        let note = "doorstep-receipt/v1\n{}\n\n\u{2014} k abc\n";
        assert!(code_matches(note, &c));
        assert!(code_matches(note, &c.to_lowercase().replace('-', " ")));
        assert!(!code_matches(note, ""));
        assert!(!code_matches(note, &format!("{c}0")));
        assert!(!code_matches(
            "doorstep-receipt/v1\n{}\n\n\u{2014} k abd\n",
            &c
        ));
        assert_eq!(normalize_code("oi-lz 0000").as_deref(), Some("011Z0000"));
        assert_eq!(normalize_code("ABCD-EFGU"), None);
    }
}
