//! RSA2 (RSASSA-PKCS1-v1_5 with SHA-256) as Alipay's gateway 1.0 uses it:
//! the string that requests and notifications sign, and the exact piece of a
//! response that its `sign` covers.

use crate::keys::{self, KeyError};
use rsa::{RsaPrivateKey, RsaPublicKey};

/// Sorted `k=v&k=v` of `params` without the `exclude`d keys and without empty
/// values; values raw (not URL-encoded). Keys sort by their bytes (ASCII);
/// equal keys keep their order.
fn content_without(params: &[(String, String)], exclude: &[&str]) -> String {
    let mut kept: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, v)| !v.is_empty() && !exclude.contains(&k.as_str()))
        .collect();
    kept.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    for (i, (k, v)) in kept.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// The string a **request** signs: every parameter except `sign` (so
/// `sign_type` is included), empty values dropped, keys ASCII-sorted,
/// `k=v` joined with `&`, values raw.
pub fn sign_content(params: &[(String, String)]) -> String {
    content_without(params, &["sign"])
}

/// The string a **notification** signs: like [`sign_content`] but without
/// `sign_type` as well (Alipay's `rsaCheckV1` rule for payment
/// notifications).
pub fn notify_sign_content(params: &[(String, String)]) -> String {
    content_without(params, &["sign", "sign_type"])
}

/// The base64 RSA2 signature of a request's [`sign_content`] with the app's
/// private key.
pub fn sign_request(params: &[(String, String)], key: &RsaPrivateKey) -> Result<String, KeyError> {
    keys::sign_sha256(key, sign_content(params).as_bytes())
}

/// The base64 RSA2 signature of a notification's [`notify_sign_content`]
/// (what Alipay, or the simulator, puts in `sign`).
pub fn sign_notification(
    params: &[(String, String)],
    key: &RsaPrivateKey,
) -> Result<String, KeyError> {
    keys::sign_sha256(key, notify_sign_content(params).as_bytes())
}

/// The value of the first parameter named `name`.
pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Whether a request's `sign` verifies over its [`sign_content`] with the
/// app's public key (what the gateway, or the simulator, checks).
pub fn verify_request(params: &[(String, String)], key: &RsaPublicKey) -> bool {
    match param(params, "sign") {
        Some(sign) if !sign.is_empty() => {
            keys::verify_sha256(key, sign_content(params).as_bytes(), sign)
        }
        _ => false,
    }
}

/// Whether a notification's `sign` verifies over its
/// [`notify_sign_content`] with Alipay's public key. The parameters are the
/// form-decoded body.
pub fn verify_notification(params: &[(String, String)], key: &RsaPublicKey) -> bool {
    match param(params, "sign") {
        Some(sign) if !sign.is_empty() => {
            keys::verify_sha256(key, notify_sign_content(params).as_bytes(), sign)
        }
        _ => false,
    }
}

/// `alipay.trade.query` → `alipay_trade_query_response`.
pub fn response_member(method: &str) -> String {
    format!("{}_response", method.replace('.', "_"))
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// `b[i]` is `"`; the index just after the closing quote.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The index just after the JSON value starting at `b[i]`.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// The exact text of the top-level member `member` of a JSON object — from
/// its `{` to the matching `}`, brackets inside strings ignored — as the
/// gateway signed it. `None` if the body is not an object, has no such
/// member, or the member is not an object.
pub fn extract_response_content<'a>(body: &'a str, member: &str) -> Option<&'a str> {
    let b = body.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(b, i);
        match *b.get(i)? {
            b',' => {
                i += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_end = skip_string(b, i)?;
        let key = body.get(i + 1..key_end - 1)?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let start = i;
        let end = skip_value(b, i)?;
        if key == member {
            return if b[start] == b'{' {
                body.get(start..end)
            } else {
                None
            };
        }
        i = end;
    }
}

/// A gateway response body as Alipay writes it: the `<method>_response`
/// member first, then `sign` over that member's exact text.
pub fn response_body(
    method: &str,
    member_json: &str,
    key: &RsaPrivateKey,
) -> Result<String, KeyError> {
    let sign = keys::sign_sha256(key, member_json.as_bytes())?;
    Ok(format!(
        "{{\"{}\":{member_json},\"sign\":\"{sign}\"}}",
        response_member(method)
    ))
}
