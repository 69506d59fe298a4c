//! `application/x-www-form-urlencoded` bodies, as Alipay's gateway takes
//! requests and sends notifications: UTF-8, percent-encoded, `+` or `%20`
//! for a space on the way in.

/// Why a form body could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormError {
    /// A `%` not followed by two hex digits.
    #[error("bad percent escape in {0:?}")]
    Escape(String),
    /// The decoded bytes are not UTF-8.
    #[error("not UTF-8 after decoding: {0:?}")]
    Utf8(String),
}

/// Encodes `params` as `k=v&k=v`, percent-encoding every byte outside
/// `A-Z a-z 0-9 - . _ ~` (a space becomes `%20`).
pub fn form_encode(params: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        percent_encode(k, &mut out);
        out.push('=');
        percent_encode(v, &mut out);
    }
    out
}

/// Percent-encodes one component (see [`form_encode`]).
pub fn percent_encode(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0x0f) as usize] as char);
        }
    }
}

/// Decodes a form body (or a query string) into its pairs, in order. A pair
/// without `=` has an empty value; empty pairs (`&&`) are skipped.
pub fn form_decode(body: &str) -> Result<Vec<(String, String)>, FormError> {
    let mut out = Vec::new();
    for pair in body.split('&') {
        if pair.is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.push((percent_decode(k)?, percent_decode(v)?));
    }
    Ok(out)
}

/// Decodes one component: `+` is a space, `%XX` a byte; the result must be
/// UTF-8.
pub fn percent_decode(s: &str) -> Result<String, FormError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = b.get(i + 1).and_then(|c| (*c as char).to_digit(16));
                let lo = b.get(i + 2).and_then(|c| (*c as char).to_digit(16));
                match (hi, lo) {
                    (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                    _ => return Err(FormError::Escape(s.to_string())),
                }
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| FormError::Utf8(s.to_string()))
}
