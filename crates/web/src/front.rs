//! The web front's defences, applied to every request before routing: who
//! the request really comes from (proxies are believed only when the
//! settings name them), whether it came over https, the cross-site check on
//! every state-changing request, bearer-only `/api/v1`, security headers,
//! hardened cookies and the request timeout.

use crate::session::{COOKIE, OWNER_COOKIE};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use doorstep_app::AppError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// The web front's settings.
#[derive(Debug, Clone)]
pub struct FrontConfig {
    /// The address users reach this server at (`https://…` turns on HSTS and
    /// `Secure` cookies); its origin is accepted on forms.
    pub public_url: Option<String>,
    /// Peers whose `X-Forwarded-For`, `-Proto` and `-Host` are believed.
    pub trusted_proxies: Vec<Cidr>,
    /// How long a connection may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// How long a request may take to produce its response's head.
    pub request_timeout: Duration,
    /// Connections served at once; more wait in the listen queue.
    pub max_connections: usize,
}

impl Default for FrontConfig {
    fn default() -> Self {
        FrontConfig {
            public_url: None,
            // No proxy is believed unless the settings name it: a client
            // on this very host could otherwise pick its own address and
            // slip past every per-client limit.
            trusted_proxies: Vec::new(),
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

impl FrontConfig {
    fn public_origin(&self) -> Option<String> {
        self.public_url.as_deref().and_then(origin_of_url)
    }

    fn public_https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|c| c.contains(ip))
    }
}

/// An address block: `10.0.0.0/8`, `fd00::/8`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `ADDR` or `ADDR/PREFIX`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (a, p) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("trusted proxy {s:?} is not an IP address or CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if p.is_empty() {
            max
        } else {
            p.parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("trusted proxy {s:?}: the prefix must be 0–{max}"))?
        };
        Ok(Cidr { addr, prefix })
    }

    /// Whether `ip` is in the block (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u32::from(net).into(), self.prefix, 32)
                    == masked(u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), self.prefix, 128)
                    == masked(u128::from(ip), self.prefix, 128)
            }
            _ => false,
        }
    }
}

fn masked(v: u128, prefix: u8, bits: u32) -> u128 {
    let host_bits = bits - u32::from(prefix);
    if host_bits >= 128 { 0 } else { v >> host_bits }
}

/// What the front learned about a request (a request extension).
#[derive(Debug, Clone)]
pub struct Front {
    /// The client's address, for limits and logs.
    pub client: String,
}

/// The front middleware: context, cross-site check, then the handler under
/// the request timeout, then headers and cookies on the way out.
pub async fn front(State(cfg): State<Arc<FrontConfig>>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    // Without a peer (in-process use) there is no one to distrust.
    let trusted = peer.is_none_or(|ip| cfg.trusts(ip));
    let secure = cfg.public_https() || (trusted && forwarded_https(req.headers()));
    let client = client_addr(peer, trusted, req.headers());
    let bearer_only = is_bearer_only(req.uri().path());
    normalise_cookies(req.headers_mut(), secure, bearer_only);
    if is_unsafe(req.method())
        && let Err(why) = same_origin(req.headers(), &cfg, secure, trusted)
    {
        tracing::warn!(path = %req.uri().path(), %client, why, "cross-site request refused");
        return refused(req.headers(), why);
    }
    req.extensions_mut().insert(Front {
        client: client.clone(),
    });
    let mut res = match tokio::time::timeout(cfg.request_timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => timed_out(),
    };
    security_headers(res.headers_mut(), secure);
    if secure {
        secure_cookies(res.headers_mut());
    }
    res
}

fn is_unsafe(m: &Method) -> bool {
    !matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// `/api/v1` authenticates by bearer token only, so no other site can act
/// there with a browser's cookies.
fn is_bearer_only(path: &str) -> bool {
    path == "/api/v1" || path.starts_with("/api/v1/")
}

fn forwarded_https(h: &HeaderMap) -> bool {
    h.get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

/// The peer, or behind a trusted proxy the hop it saw last.
fn client_addr(peer: Option<IpAddr>, trusted: bool, h: &HeaderMap) -> String {
    let forwarded = h
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    match (peer, forwarded) {
        (_, Some(f)) if trusted => f,
        (Some(ip), _) => ip.to_string(),
        (None, None) => "unknown".into(),
        (None, Some(_)) => "unknown".into(),
    }
}

/// Session cookies reach handlers under their plain names. Over https only
/// the `__Host-` names count (a plain-named cookie may have been planted by
/// another port of this host); `/api/v1` gets no session cookie at all.
fn normalise_cookies(h: &mut HeaderMap, secure: bool, bearer_only: bool) {
    let sessions = [COOKIE, OWNER_COOKIE];
    let mut kept = Vec::new();
    let mut changed = false;
    for v in h.get_all(header::COOKIE).iter() {
        let Ok(v) = v.to_str() else {
            changed = true;
            continue;
        };
        for pair in v.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let name = pair.split_once('=').map(|(k, _)| k).unwrap_or(pair);
            let plain = name.strip_prefix("__Host-");
            let session = sessions.contains(&plain.unwrap_or(name));
            if session && (bearer_only || (secure && plain.is_none())) {
                changed = true;
            } else if let Some(p) = plain.filter(|p| sessions.contains(p)) {
                changed = true;
                kept.push(format!("{p}{}", &pair[name.len()..]));
            } else {
                kept.push(pair.to_string());
            }
        }
    }
    if !changed {
        return;
    }
    h.remove(header::COOKIE);
    if let Ok(v) = HeaderValue::from_str(&kept.join("; "))
        && !kept.is_empty()
    {
        h.insert(header::COOKIE, v);
    }
}

/// A state-changing request must come from one of our own pages: refused
/// when the browser says it is cross-site, when its Origin is not ours, or
/// when it carries a session cookie and neither header (so nothing vouches
/// for it). Providers' notifications carry no cookie and no Origin.
fn same_origin(
    h: &HeaderMap,
    cfg: &FrontConfig,
    secure: bool,
    trusted: bool,
) -> Result<(), &'static str> {
    let site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if let Some(s) = site
        && !matches!(s, "same-origin" | "none")
    {
        return Err("Sec-Fetch-Site is not same-origin");
    }
    let origin = h.get(header::ORIGIN).map(|v| v.to_str().unwrap_or("null"));
    if let Some(o) = origin {
        let o = normalise_origin(o);
        let ours = own_origin(h, secure, trusted).map(|x| normalise_origin(&x));
        if ours.as_deref() != Some(o.as_str()) && cfg.public_origin().as_deref() != Some(&o) {
            return Err("Origin is not this server");
        }
        return Ok(());
    }
    if site.is_none() && has_session_cookie(h) {
        return Err("a cookie-authenticated request without Origin");
    }
    Ok(())
}

fn has_session_cookie(h: &HeaderMap) -> bool {
    crate::session::cookie(h, COOKIE).is_some() || crate::session::cookie(h, OWNER_COOKIE).is_some()
}

/// This server's origin as the request names it (a trusted proxy's
/// forwarded host first).
fn own_origin(h: &HeaderMap, secure: bool, trusted: bool) -> Option<String> {
    let fwd = || {
        h.get("x-forwarded-host")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_string())
    };
    let host = trusted
        .then(fwd)
        .flatten()
        .or_else(|| h.get(header::HOST)?.to_str().ok().map(str::to_string))?;
    Some(format!(
        "{}://{host}",
        if secure { "https" } else { "http" }
    ))
}

/// `scheme://host[:port]` of a URL.
fn origin_of_url(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| normalise_origin(&format!("{scheme}://{host}")))
}

/// Lower case, without the scheme's default port.
fn normalise_origin(o: &str) -> String {
    let o = o.trim().trim_end_matches('/').to_ascii_lowercase();
    for (scheme, port) in [("http://", ":80"), ("https://", ":443")] {
        if o.starts_with(scheme)
            && let Some(stripped) = o.strip_suffix(port)
        {
            return stripped.to_string();
        }
    }
    o
}

fn refused(h: &HeaderMap, why: &str) -> Response {
    let l = crate::session::lang(h);
    let msg = l.pick(
        "请求来自其他网站或页面，已拒绝。请回到本站页面重新操作。",
        "Refused: the request did not come from this site's own pages. Go back to the page and try again.",
    );
    let e = AppError::Forbidden(format!("{msg} ({why})"));
    if wants_html(h) {
        crate::console::error_page(l, &e)
    } else {
        crate::WebError(e).into_response()
    }
}

fn wants_html(h: &HeaderMap) -> bool {
    h.get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

fn timed_out() -> Response {
    let body = serde_json::json!({
        "error": "timeout",
        "message": "服务器繁忙，请稍后重试 / the server took too long; try again shortly",
    });
    let mut res = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    res
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Headers every response gets unless the handler chose its own; anything
/// not a static asset (which says how to cache itself) is never stored.
fn security_headers(h: &mut HeaderMap, secure: bool) {
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        if !h.contains_key(&k) {
            h.insert(k, HeaderValue::from_static(v));
        }
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::CACHE_CONTROL, "no-store");
    if secure {
        set(h, header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
}

/// Over https every cookie is `Secure`, and the session cookies take the
/// `__Host-` prefix (no other host or port can set or overwrite them).
fn secure_cookies(h: &mut HeaderMap) {
    let cookies: Vec<String> = h
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    if cookies.is_empty() {
        return;
    }
    h.remove(header::SET_COOKIE);
    for c in cookies {
        let name = c.split('=').next().unwrap_or_default().trim();
        let mut c = if [COOKIE, OWNER_COOKIE].contains(&name) {
            format!("__Host-{c}")
        } else {
            c
        };
        if !c.to_ascii_lowercase().contains("; secure") {
            c.push_str("; Secure");
        }
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append(header::SET_COOKIE, v);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cidr_blocks() {
        let c = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(c.contains("10.1.200.3".parse().unwrap()));
        assert!(!c.contains("10.2.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.1.0.9".parse().unwrap()));
        let one = Cidr::parse("192.0.2.7").unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()));
        assert!(!one.contains("192.0.2.8".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("proxy").is_err());
    }

    #[test]
    fn origins_compare_without_default_ports() {
        assert_eq!(
            origin_of_url("https://Pay.Example.com:443/x").as_deref(),
            Some("https://pay.example.com")
        );
        assert_eq!(normalise_origin("http://a:80"), "http://a");
        assert_eq!(normalise_origin("http://a:8080"), "http://a:8080");
    }

    #[test]
    fn session_cookies_over_https_only_by_host_prefix() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static(
                "doorstep_session=planted; __Host-doorstep_session=real; lang=en",
            ),
        );
        normalise_cookies(&mut h, true, false);
        assert_eq!(crate::session::cookie(&h, COOKIE).as_deref(), Some("real"));
        assert_eq!(crate::session::cookie(&h, "lang").as_deref(), Some("en"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("doorstep_session=t; lang=en"),
        );
        normalise_cookies(&mut h, false, true);
        assert_eq!(crate::session::cookie(&h, COOKIE), None);
        assert_eq!(crate::session::cookie(&h, "lang").as_deref(), Some("en"));
    }
}
