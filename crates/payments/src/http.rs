//! HTTP as data: the protocol code builds requests and parses responses; a
//! [`Transport`] moves them.

use std::time::Duration;

/// A request to a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET` / `POST`.
    pub method: &'static str,
    /// Absolute URL.
    pub url: String,
    /// Headers (name, value).
    pub headers: Vec<(String, String)>,
    /// Exact body bytes (what was signed).
    pub body: Vec<u8>,
}

/// A provider's response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers with lower-case names.
    pub headers: Vec<(String, String)>,
    /// Raw body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// First header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// First header named `name` (case-insensitive) in a list.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Sends requests. Any status is a response; only failing to get one is an
/// error.
pub trait Transport: Send + Sync {
    /// Sends one request.
    fn send(&self, req: &HttpRequest) -> Result<HttpResponse, String>;
}

/// The real transport: ureq with rustls (HTTPS to the providers) and plain
/// HTTP (the simulator on 127.0.0.1).
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl UreqTransport {
    /// A transport with the given overall timeout per request.
    pub fn new(timeout: Duration) -> UreqTransport {
        UreqTransport {
            agent: ureq::AgentBuilder::new()
                .timeout(timeout)
                .redirects(0)
                .build(),
        }
    }
}

impl Default for UreqTransport {
    fn default() -> Self {
        UreqTransport::new(Duration::from_secs(10))
    }
}

impl Transport for UreqTransport {
    fn send(&self, req: &HttpRequest) -> Result<HttpResponse, String> {
        let mut r = self.agent.request(req.method, &req.url);
        for (k, v) in &req.headers {
            r = r.set(k, v);
        }
        let result = if req.method == "GET" {
            r.call()
        } else {
            r.send_bytes(&req.body)
        };
        let resp = match result {
            Ok(resp) => resp,
            Err(ureq::Error::Status(_, resp)) => resp,
            Err(e) => return Err(e.to_string()),
        };
        let status = resp.status();
        let headers = resp
            .headers_names()
            .into_iter()
            .filter_map(|n| {
                let v = resp.header(&n)?.to_string();
                Some((n.to_ascii_lowercase(), v))
            })
            .collect();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut resp.into_reader(), &mut body)
            .map_err(|e| e.to_string())?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}
