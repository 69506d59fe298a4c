//! JSON over HTTP to chromedriver (plain HTTP on 127.0.0.1, blocking).

use std::time::Duration;

use serde_json::Value;

use crate::Error;

/// Upper bound for any single HTTP exchange. WebDriver's own page-load and
/// script timeouts (set to 30 s at session creation) end commands before this.
const READ_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Timeout for one `GET /status` poll during start-up.
const STATUS_TIMEOUT: Duration = Duration::from_secs(1);
/// chromedriver's error messages can carry long traces; keep the head.
const MAX_MESSAGE_CHARS: usize = 800;

#[derive(Clone, Copy, Debug)]
pub(crate) enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

pub(crate) struct Wire {
    agent: ureq::Agent,
}

impl Wire {
    pub fn new() -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout_read(READ_TIMEOUT)
            .timeout_write(READ_TIMEOUT)
            .redirects(0)
            .build();
        Wire { agent }
    }

    /// `GET {base}/status` → whether chromedriver says it is ready.
    pub fn status(&self, base: &str) -> Result<bool, Error> {
        let value = self.request(
            Method::Get,
            &format!("{base}/status"),
            None,
            Some(STATUS_TIMEOUT),
            "GET /status",
        )?;
        Ok(value.get("ready").and_then(Value::as_bool).unwrap_or(false))
    }

    /// Sends one command and returns the `value` member of the answer.
    /// POST always carries a JSON body (`{}` when `body` is `None`), as
    /// chromedriver requires.
    pub fn request(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
        timeout: Option<Duration>,
        context: &str,
    ) -> Result<Value, Error> {
        let mut req = self.agent.request(method.as_str(), url);
        if let Some(t) = timeout {
            req = req.timeout(t);
        }
        let result = match method {
            Method::Post => {
                req.send_json(body.unwrap_or_else(|| Value::Object(Default::default())))
            }
            Method::Get | Method::Delete => req.call(),
        };
        match result {
            Ok(resp) => {
                let json = read_json(resp, context)?;
                match json {
                    Value::Object(mut map) => Ok(map.remove("value").unwrap_or(Value::Null)),
                    other => Err(Error::Protocol {
                        context: context.to_owned(),
                        detail: format!(
                            "answer is not a JSON object: {}",
                            clip(&other.to_string())
                        ),
                    }),
                }
            }
            Err(ureq::Error::Status(code, resp)) => {
                let json = read_json(resp, context).map_err(|_| Error::Protocol {
                    context: context.to_owned(),
                    detail: format!("HTTP {code} without a JSON error body"),
                })?;
                let value = json.get("value").unwrap_or(&Value::Null);
                let error = value
                    .get("error")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("HTTP {code}"));
                let message = value.get("message").and_then(Value::as_str).unwrap_or("");
                Err(Error::WebDriver {
                    context: context.to_owned(),
                    error,
                    message: clip(message),
                    log: String::new(),
                })
            }
            Err(ureq::Error::Transport(t)) => Err(Error::Transport {
                context: context.to_owned(),
                message: t.to_string(),
            }),
        }
    }
}

fn read_json(resp: ureq::Response, context: &str) -> Result<Value, Error> {
    resp.into_json::<Value>().map_err(|e| Error::Transport {
        context: context.to_owned(),
        message: format!("reading JSON answer: {e}"),
    })
}

/// Shortens `s` to [`MAX_MESSAGE_CHARS`] characters, dropping chromedriver's
/// "(Session info: ...)" trailer.
pub(crate) fn clip(s: &str) -> String {
    let s = s.split("\n  (Session info").next().unwrap_or(s).trim();
    if s.chars().count() <= MAX_MESSAGE_CHARS {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX_MESSAGE_CHARS).collect();
        out.push('…');
        out
    }
}
