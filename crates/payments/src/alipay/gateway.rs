//! Gateway 1.0 requests and responses: the common parameters, the signed
//! form body, and the verified `<method>_response` member.

use super::form::form_encode;
use super::sign::{extract_response_content, response_member, sign_request};
use crate::PayError;
use crate::http::HttpRequest;
use crate::keys::{self, KeyError};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Map, Value};

/// Alipay's production gateway.
pub const DEFAULT_GATEWAY: &str = "https://openapi.alipay.com/gateway.do";

/// Content type of requests and notifications.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// The provider name in errors.
pub(crate) const PROVIDER: &str = "alipay";

fn beijing() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::fixed(jiff::tz::offset(8))
}

/// Unix seconds → `yyyy-MM-dd HH:mm:ss` in Beijing time (UTC+8), the
/// gateway's `timestamp`, `time_expire`, `gmt_*` format. Out-of-range
/// seconds are clamped to the epoch.
pub fn beijing_time(unix: i64) -> String {
    let ts = jiff::Timestamp::from_second(unix).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ts.to_zoned(beijing())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// `yyyy-MM-dd HH:mm:ss` (Beijing time) → unix seconds.
pub fn parse_beijing_time(s: &str) -> Option<i64> {
    let dt = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", s.trim()).ok()?;
    Some(dt.to_zoned(beijing()).ok()?.timestamp().as_second())
}

/// Now as unix seconds.
pub(crate) fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The parameters of a request before signing: `app_id`, `method`,
/// `format=JSON`, `charset=utf-8`, `sign_type=RSA2`, `timestamp`,
/// `version=1.0`, `notify_url` (when given and not empty) and `biz_content`
/// (the exact JSON text that will be sent). Empty values are left out.
pub fn request_params(
    app_id: &str,
    method: &str,
    biz_content: &str,
    notify_url: Option<&str>,
    timestamp: &str,
) -> Vec<(String, String)> {
    let mut p = vec![
        ("app_id", app_id),
        ("method", method),
        ("format", "JSON"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
        ("timestamp", timestamp),
        ("version", "1.0"),
    ];
    if let Some(url) = notify_url {
        p.push(("notify_url", url));
    }
    p.push(("biz_content", biz_content));
    p.into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What to send to the gateway for one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayCall<'a> {
    /// Gateway URL (`https://openapi.alipay.com/gateway.do`, or the
    /// simulator's).
    pub gateway: &'a str,
    /// app_id.
    pub app_id: &'a str,
    /// e.g. `alipay.trade.precreate`.
    pub method: &'a str,
    /// biz_content: compact JSON, serialized once; signed and sent as is.
    pub biz_content: &'a str,
    /// Per-request notification address.
    pub notify_url: Option<&'a str>,
    /// `yyyy-MM-dd HH:mm:ss`, Beijing time.
    pub timestamp: &'a str,
}

/// The signed POST: all parameters (with `sign`) form-encoded in the body,
/// `application/x-www-form-urlencoded; charset=utf-8`.
pub fn build_request(call: &GatewayCall<'_>, key: &RsaPrivateKey) -> Result<HttpRequest, KeyError> {
    let mut params = request_params(
        call.app_id,
        call.method,
        call.biz_content,
        call.notify_url,
        call.timestamp,
    );
    let sign = sign_request(&params, key)?;
    params.push(("sign".to_string(), sign));
    Ok(HttpRequest {
        method: "POST",
        url: call.gateway.to_string(),
        headers: vec![
            ("Content-Type".to_string(), FORM_CONTENT_TYPE.to_string()),
            ("Accept".to_string(), "application/json".to_string()),
        ],
        body: form_encode(&params).into_bytes(),
    })
}

/// A gateway answer, its signature checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// `10000` success, `10003` waiting for the payer, `20000` unknown,
    /// `40001`/`40002`/`40004`/`40006` failures.
    pub code: String,
    /// The gateway's message.
    pub msg: String,
    /// Business error code, e.g. `ACQ.TRADE_NOT_EXIST`.
    pub sub_code: Option<String>,
    /// Business error message.
    pub sub_msg: Option<String>,
    /// The whole member (including `code`, `msg`…).
    pub fields: Map<String, Value>,
    /// Whether the reply carried a `sign` (that verified). Alipay leaves
    /// `sign` out of some gateway errors (e.g. a bad request signature); such
    /// replies are only ever errors.
    pub signed: bool,
}

impl Reply {
    /// A string field of the member (numbers are given as their text).
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.fields.get(name)? {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// `sub_code` if given, else `code`.
    pub fn error_code(&self) -> &str {
        self.sub_code.as_deref().unwrap_or(&self.code)
    }

    /// The signed `sub_code`, if the reply is a signed business error.
    pub fn signed_sub_code(&self) -> Option<&str> {
        if self.signed {
            self.sub_code.as_deref()
        } else {
            None
        }
    }

    /// The refusal this reply stands for (`sub_code`/`sub_msg` when given).
    pub fn refused(&self) -> PayError {
        PayError::Refused {
            provider: PROVIDER,
            code: self.error_code().to_string(),
            message: self.sub_msg.clone().unwrap_or_else(|| self.msg.clone()),
        }
    }

    /// `Ok(self)` for a signed `10000`, the refusal for any other code,
    /// [`PayError::BadResponseSignature`] for an unsigned `10000`.
    pub fn success(self) -> Result<Reply, PayError> {
        if self.code != "10000" {
            return Err(self.refused());
        }
        if !self.signed {
            return Err(PayError::BadResponseSignature(PROVIDER));
        }
        Ok(self)
    }
}

fn malformed(detail: impl Into<String>) -> PayError {
    PayError::Malformed {
        provider: PROVIDER,
        detail: detail.into(),
    }
}

/// Parses and verifies a gateway response body for `method`: the signature
/// covers the exact text of `<method>_response`; a `sign` that does not
/// verify is [`PayError::BadResponseSignature`]. A reply without `sign` is
/// accepted only as an error (`code` other than `10000`); the generic
/// `error_response` member is read when the method's member is absent.
pub fn parse_reply(
    body: &[u8],
    method: &str,
    alipay_key: &RsaPublicKey,
) -> Result<Reply, PayError> {
    let text = std::str::from_utf8(body).map_err(|_| malformed("response is not UTF-8"))?;
    let json: Value =
        serde_json::from_str(text).map_err(|e| malformed(format!("not JSON: {e}")))?;
    let member = response_member(method);
    let (name, content) = match extract_response_content(text, &member) {
        Some(c) => (member, c),
        None => match extract_response_content(text, "error_response") {
            Some(c) => ("error_response".to_string(), c),
            None => return Err(malformed(format!("no {member} in the response"))),
        },
    };
    let signed = match json.get("sign") {
        Some(Value::String(sign)) if !sign.is_empty() => {
            if !keys::verify_sha256(alipay_key, content.as_bytes(), sign) {
                return Err(PayError::BadResponseSignature(PROVIDER));
            }
            true
        }
        _ => false,
    };
    let fields = match json.get(&name) {
        Some(Value::Object(m)) => m.clone(),
        _ => return Err(malformed(format!("{name} is not an object"))),
    };
    let get = |k: &str| match fields.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let code = get("code").ok_or_else(|| malformed(format!("{name} has no code")))?;
    let reply = Reply {
        msg: get("msg").unwrap_or_default(),
        sub_code: get("sub_code"),
        sub_msg: get("sub_msg"),
        code,
        fields,
        signed,
    };
    if !reply.signed && reply.code == "10000" {
        return Err(PayError::BadResponseSignature(PROVIDER));
    }
    Ok(reply)
}
