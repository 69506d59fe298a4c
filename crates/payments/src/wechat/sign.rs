//! Request signatures (`WECHATPAY2-SHA256-RSA2048`) and the verification of
//! WeChat Pay's responses and notifications.

use super::REPLAY_WINDOW;
use crate::NotifyError;
use crate::http::header;
use crate::keys::{self, Certificate, KeyError};
use rsa::{RsaPrivateKey, RsaPublicKey};

/// The `Authorization` schema.
pub const SCHEMA: &str = "WECHATPAY2-SHA256-RSA2048";

/// The prefix of WeChat Pay's signature-test probes.
const SIGNTEST_PREFIX: &str = "WECHATPAY/SIGNTEST/";

/// The message a request signature covers: five lines, each ending in `\n`
/// (method, path with query, unix timestamp, nonce, exact body).
pub fn sign_message(
    method: &str,
    canonical_url: &str,
    timestamp: i64,
    nonce: &str,
    body: &str,
) -> String {
    format!("{method}\n{canonical_url}\n{timestamp}\n{nonce}\n{body}\n")
}

/// The `Authorization` header value for a request, signed with the merchant's
/// API private key.
#[allow(clippy::too_many_arguments)]
pub fn authorization(
    mchid: &str,
    serial_no: &str,
    key: &RsaPrivateKey,
    method: &str,
    canonical_url: &str,
    body: &str,
    timestamp: i64,
    nonce: &str,
) -> Result<String, KeyError> {
    let message = sign_message(method, canonical_url, timestamp, nonce, body);
    let signature = keys::sign_sha256(key, message.as_bytes())?;
    Ok(format!(
        "{SCHEMA} mchid=\"{mchid}\",nonce_str=\"{nonce}\",timestamp=\"{timestamp}\",\
         serial_no=\"{serial_no}\",signature=\"{signature}\""
    ))
}

/// The five parameters of an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthParams {
    /// 商户号.
    pub mchid: String,
    /// The request nonce.
    pub nonce_str: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// Serial of the merchant's API certificate.
    pub serial_no: String,
    /// Base64 signature.
    pub signature: String,
}

/// An `Authorization` header that is not a well-formed
/// `WECHATPAY2-SHA256-RSA2048` header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad Authorization header: {0}")]
pub struct BadAuthorization(pub String);

/// Parses an `Authorization` header: the schema, then the five `key="value"`
/// parameters in any order, each exactly once.
pub fn parse_authorization(header: &str) -> Result<AuthParams, BadAuthorization> {
    let bad = |m: &str| BadAuthorization(m.to_string());
    let rest = header
        .trim()
        .strip_prefix(SCHEMA)
        .ok_or_else(|| bad("schema is not WECHATPAY2-SHA256-RSA2048"))?;
    if !rest.starts_with(' ') {
        return Err(bad("no space after the schema"));
    }
    let mut rest = rest.trim_start();
    let mut found: [Option<String>; 5] = Default::default();
    const NAMES: [&str; 5] = ["mchid", "nonce_str", "timestamp", "serial_no", "signature"];
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| bad("parameter without '='"))?;
        let name = name.trim();
        let after = after
            .strip_prefix('"')
            .ok_or_else(|| bad("parameter value not quoted"))?;
        let (value, tail) = after
            .split_once('"')
            .ok_or_else(|| bad("unterminated quoted value"))?;
        let idx = NAMES
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| BadAuthorization(format!("unknown parameter {name:?}")))?;
        if found[idx].is_some() {
            return Err(BadAuthorization(format!("parameter {name} given twice")));
        }
        found[idx] = Some(value.to_string());
        let tail = tail.trim_start();
        rest = match tail.strip_prefix(',') {
            Some(t) => t.trim_start(),
            None if tail.is_empty() => tail,
            None => return Err(bad("parameters must be separated by ','")),
        };
    }
    let [mchid, nonce_str, timestamp, serial_no, signature] = found;
    let need = |v: Option<String>, n: &str| {
        v.filter(|s| !s.is_empty())
            .ok_or_else(|| BadAuthorization(format!("missing {n}")))
    };
    let timestamp = need(timestamp, "timestamp")?;
    Ok(AuthParams {
        mchid: need(mchid, "mchid")?,
        nonce_str: need(nonce_str, "nonce_str")?,
        timestamp: timestamp
            .parse()
            .map_err(|_| bad("timestamp is not an integer"))?,
        serial_no: need(serial_no, "serial_no")?,
        signature: need(signature, "signature")?,
    })
}

/// Signs a response or notification body as WeChat Pay does (the simulator's
/// side): the `Wechatpay-Timestamp`, `Wechatpay-Nonce`, `Wechatpay-Signature`
/// and `Wechatpay-Serial` headers over `ts\nnonce\nbody\n`.
pub fn response_headers(
    key: &RsaPrivateKey,
    serial: &str,
    body: &[u8],
    timestamp: i64,
    nonce: &str,
) -> Result<Vec<(String, String)>, KeyError> {
    let mut message = format!("{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    let signature = keys::sign_sha256(key, &message)?;
    Ok(vec![
        ("Wechatpay-Timestamp".into(), timestamp.to_string()),
        ("Wechatpay-Nonce".into(), nonce.to_string()),
        ("Wechatpay-Signature".into(), signature),
        ("Wechatpay-Serial".into(), serial.to_string()),
    ])
}

/// Verifies what WeChat Pay signs (responses and notifications) with the
/// WeChat Pay public key and/or platform certificates. During a migration
/// both are configured and either serial is accepted.
#[derive(Debug, Clone, Default)]
pub struct WechatVerifier {
    /// Public-key mode: the key's id (`PUB_KEY_ID_…`) and the key.
    pub public_key: Option<(String, RsaPublicKey)>,
    /// Certificate mode: platform certificates (chosen by serial).
    pub platform_certs: Vec<Certificate>,
}

impl WechatVerifier {
    /// The key for a `Wechatpay-Serial` as of `now`: the public key if the
    /// serial is its id, else the platform certificate with that serial that
    /// is valid at `now`. Serials compare case-sensitively.
    pub fn key_for(&self, serial: &str, now: i64) -> Option<&RsaPublicKey> {
        if let Some((id, key)) = &self.public_key
            && id == serial
        {
            return Some(key);
        }
        self.platform_certs
            .iter()
            // Exact match, as the SDKs' certificate maps do: a serial that
            // differs only in case names no certificate WeChat Pay issued.
            .find(|c| c.serial == serial && (c.not_before..=c.not_after).contains(&now))
            .map(|c| &c.public_key)
    }

    /// The serial to send in a request's `Wechatpay-Serial` header: the
    /// public key's id in public-key mode.
    pub fn request_serial(&self) -> Option<&str> {
        self.public_key.as_ref().map(|(id, _)| id.as_str())
    }

    /// Verifies headers (any case) and the raw body as of `now` (unix seconds):
    /// `Wechatpay-Signature` over `ts\nnonce\nbody\n` with the key named by
    /// `Wechatpay-Serial`; `|now − ts| >= 300` is a replay; a certificate
    /// outside its validity at `now` counts as unknown.
    pub fn verify(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now: i64,
    ) -> Result<(), NotifyError> {
        let get = |name: &str| {
            header(headers, name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| NotifyError::Malformed(format!("missing header {name}")))
        };
        let signature = get("Wechatpay-Signature")?;
        let timestamp = get("Wechatpay-Timestamp")?;
        let nonce = get("Wechatpay-Nonce")?;
        let serial = get("Wechatpay-Serial")?;
        if signature.starts_with(SIGNTEST_PREFIX) {
            return Err(NotifyError::SignTest);
        }
        let ts: i64 = timestamp
            .parse()
            .map_err(|_| NotifyError::Malformed("Wechatpay-Timestamp is not an integer".into()))?;
        if now.abs_diff(ts) >= REPLAY_WINDOW as u64 {
            return Err(NotifyError::Replay);
        }
        let key = self
            .key_for(serial, now)
            .ok_or_else(|| NotifyError::UnknownSerial(serial.to_string()))?;
        let mut message = format!("{timestamp}\n{nonce}\n").into_bytes();
        message.extend_from_slice(body);
        message.push(b'\n');
        if keys::verify_sha256(key, &message, signature) {
            Ok(())
        } else {
            Err(NotifyError::BadSignature)
        }
    }
}
