//! The session: [`Driver`] and [`Element`].

use std::fmt;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::Error;
use crate::locate::{self, Binaries, Probe};
use crate::process::{DriverProcess, TempDir};
use crate::wire::{Method, Wire, clip};

/// The W3C key under which a web element reference travels (W3C WebDriver
/// §12.1 "web element identifier"; chromedriver uses exactly this).
pub const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long [`Driver::find`], [`Element::find`] and [`Driver::wait_for_text`] wait.
pub const WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(100);
/// Hard cap on polls, in case single requests return instantly forever.
const MAX_POLLS: u32 = 200;

/// Chromium flags: headless, and no traffic of its own (this machine's network
/// is closed; only 127.0.0.1 is reached).
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-proxy-server",
    "--window-size=1280,900",
    "--lang=zh-CN",
];

/// A headless Chromium session driven through chromedriver.
///
/// Dropping it ends the session, stops chromedriver and removes the
/// temporary Chromium profile; drop never panics.
pub struct Driver {
    wire: Wire,
    /// e.g. `http://127.0.0.1:41234/session/abc…`
    session_url: String,
    base_url: String,
    session_id: String,
    // Field order matters: the process is stopped before the profile dir is removed.
    process: DriverProcess,
    _profile: TempDir,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("base_url", &self.base_url)
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// Starts chromedriver on a free 127.0.0.1 port and opens a headless Chromium session.
    ///
    /// Returns `Ok(None)` when chromedriver or Chromium is not installed (so
    /// tests can skip), unless env `CI` or `DOORSTEP_REQUIRE_BROWSER` is set
    /// (non-empty, not `0`/`false`), in which case their absence is an `Err`.
    /// Binaries come from `CHROMEDRIVER` / `CHROME_BIN`, else
    /// `/usr/bin/chromedriver` / `/usr/bin/chromium`, else `PATH`
    /// (`chromedriver`; `chromium`, `chromium-browser`, `google-chrome`, `google-chrome-stable`).
    pub fn start() -> Result<Option<Driver>, Error> {
        match locate::locate(&Probe::system())? {
            Some(binaries) => Self::launch(&binaries).map(Some),
            None => Ok(None),
        }
    }

    fn launch(binaries: &Binaries) -> Result<Driver, Error> {
        let dir = TempDir::new()?;
        let profile = dir.path().join("profile");
        std::fs::create_dir(&profile).map_err(|e| Error::TempDir {
            dir: dir.path().to_owned(),
            source: e,
        })?;
        let wire = Wire::new();
        let (process, base_url) = DriverProcess::start(&binaries.chromedriver, &dir, &wire)?;

        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| (*s).to_owned()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "timeouts": { "implicit": 0, "pageLoad": 30_000, "script": 30_000 },
                    "goog:chromeOptions": {
                        "binary": binaries.chromium.to_string_lossy(),
                        "args": args,
                        // --lang alone does not reach navigator.language in headless mode
                        "prefs": { "intl.accept_languages": "zh-CN,zh" },
                    }
                }
            }
        });
        let context = format!("new session (chromium {})", binaries.chromium.display());
        let value = wire
            .request(
                Method::Post,
                &format!("{base_url}/session"),
                Some(caps),
                None,
                &context,
            )
            .map_err(|e| match e {
                Error::WebDriver {
                    context,
                    error,
                    message,
                    ..
                } => Error::WebDriver {
                    context,
                    error,
                    message,
                    log: process.log_tail(),
                },
                other => other,
            })?;
        let session_id = value
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Protocol {
                context: context.clone(),
                detail: format!("no sessionId in {}", clip(&value.to_string())),
            })?
            .to_owned();
        Ok(Driver {
            wire,
            session_url: format!("{base_url}/session/{session_id}"),
            base_url,
            session_id,
            process,
            _profile: dir,
        })
    }

    /// chromedriver's base URL, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The WebDriver session id.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    fn cmd(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        context: &str,
    ) -> Result<Value, Error> {
        self.wire.request(
            method,
            &format!("{}{path}", self.session_url),
            body,
            None,
            context,
        )
    }

    fn string(&self, method: Method, path: &str, context: &str) -> Result<String, Error> {
        let value = self.cmd(method, path, None, context)?;
        as_string(value, context)
    }

    /// Navigates to `url` and waits for the page load (WebDriver's `normal` strategy).
    pub fn goto(&self, url: &str) -> Result<(), Error> {
        self.cmd(
            Method::Post,
            "/url",
            Some(json!({ "url": url })),
            &format!("goto {url}"),
        )?;
        Ok(())
    }

    /// The URL of the current page.
    pub fn current_url(&self) -> Result<String, Error> {
        self.string(Method::Get, "/url", "current_url")
    }

    /// The current page's `<title>`.
    pub fn title(&self) -> Result<String, Error> {
        self.string(Method::Get, "/title", "title")
    }

    /// Finds the first element matching `css`, waiting up to 5 s for it to appear.
    pub fn find(&self, css: &str) -> Result<Element<'_>, Error> {
        self.find_waiting("/element", css, css.to_owned())
    }

    /// All elements matching `css` right now (no waiting; may be empty).
    pub fn find_all(&self, css: &str) -> Result<Vec<Element<'_>>, Error> {
        let context = format!("find_all `{css}`");
        let value = self.cmd(Method::Post, "/elements", Some(css_body(css)), &context)?;
        let Value::Array(items) = value else {
            return Err(Error::Protocol {
                context,
                detail: format!("expected an array, got {}", clip(&value.to_string())),
            });
        };
        items
            .iter()
            .map(|item| self.element_from(item, css.to_owned(), &context))
            .collect()
    }

    /// Polls (up to 5 s) until the first element matching `css` exists and its
    /// visible text contains `needle`; returns that element.
    pub fn wait_for_text(&self, css: &str, needle: &str) -> Result<Element<'_>, Error> {
        let started = Instant::now();
        let mut last: Option<String> = None;
        let context = format!("wait_for_text `{css}`");
        for _ in 0..MAX_POLLS {
            match self.cmd(Method::Post, "/element", Some(css_body(css)), &context) {
                Ok(value) => {
                    let element = self.element_from(&value, css.to_owned(), &context)?;
                    match element.text() {
                        Ok(text) if text.contains(needle) => return Ok(element),
                        Ok(text) => last = Some(text),
                        Err(e) if e.is_stale() => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(e) if e.webdriver_code() == Some("no such element") || e.is_stale() => {}
                Err(e) => return Err(e),
            }
            if started.elapsed() >= WAIT {
                break;
            }
            thread::sleep(POLL);
        }
        Err(Error::TextNotFound {
            selector: css.to_owned(),
            needle: needle.to_owned(),
            waited: started.elapsed(),
            last,
        })
    }

    /// The current page's HTML as serialized by the browser.
    pub fn page_source(&self) -> Result<String, Error> {
        self.string(Method::Get, "/source", "page_source")
    }

    /// Runs `script` as the body of a synchronous function (`arguments[i]`
    /// are `args`; use [`Element::to_arg`] to pass an element) and returns its
    /// JSON result.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value, Error> {
        let head: String = script.chars().take(60).collect();
        let context = format!("execute `{head}`");
        self.cmd(
            Method::Post,
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
            &context,
        )
    }

    /// A PNG screenshot of the viewport.
    pub fn screenshot_png(&self) -> Result<Vec<u8>, Error> {
        let context = "screenshot";
        let value = self.cmd(Method::Get, "/screenshot", None, context)?;
        let b64 = as_string(value, context)?;
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| Error::Protocol {
                context: context.to_owned(),
                detail: format!("screenshot is not valid base64: {e}"),
            })
    }

    /// Resizes the browser window (outer size, in CSS pixels).
    pub fn set_window_size(&self, width: u32, height: u32) -> Result<(), Error> {
        self.cmd(
            Method::Post,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
            &format!("set_window_size {width}x{height}"),
        )?;
        Ok(())
    }

    /// Runs a Chrome DevTools Protocol command through chromedriver's
    /// `goog/cdp/execute` extension (e.g. `Emulation.setGeolocationOverride`)
    /// and returns its result.
    pub fn cdp(&self, cmd: &str, params: Value) -> Result<Value, Error> {
        self.cmd(
            Method::Post,
            "/goog/cdp/execute",
            Some(json!({ "cmd": cmd, "params": params })),
            &format!("cdp {cmd}"),
        )
    }

    /// Grants `permissions` (e.g. `["geolocation"]`) to pages of `origin`
    /// (`http://127.0.0.1:PORT`) without asking.
    pub fn grant_permissions(&self, origin: &str, permissions: &[&str]) -> Result<(), Error> {
        self.cdp(
            "Browser.grantPermissions",
            json!({ "permissions": permissions, "origin": origin }),
        )?;
        Ok(())
    }

    /// Makes `navigator.geolocation` report this position (degrees, metres).
    pub fn set_geolocation(
        &self,
        latitude: f64,
        longitude: f64,
        accuracy: f64,
    ) -> Result<(), Error> {
        self.cdp(
            "Emulation.setGeolocationOverride",
            json!({ "latitude": latitude, "longitude": longitude, "accuracy": accuracy }),
        )?;
        Ok(())
    }

    /// Cuts the page off the network (`true`) or gives it back (`false`)
    /// with chromedriver's Chromium extension `chromium/network_conditions`:
    /// requests fail and `navigator.onLine` turns false.
    pub fn set_offline(&self, offline: bool) -> Result<(), Error> {
        self.cmd(
            Method::Post,
            "/chromium/network_conditions",
            Some(json!({
                "network_conditions": {
                    "offline": offline,
                    "latency": 0,
                    "download_throughput": -1,
                    "upload_throughput": -1,
                }
            })),
            &format!("network_conditions offline={offline}"),
        )?;
        Ok(())
    }

    /// Polls the element-finding command at `path` until it succeeds or [`WAIT`] is over.
    fn find_waiting(&self, path: &str, css: &str, label: String) -> Result<Element<'_>, Error> {
        let started = Instant::now();
        let context = format!("find `{label}`");
        for _ in 0..MAX_POLLS {
            match self.cmd(Method::Post, path, Some(css_body(css)), &context) {
                Ok(value) => return self.element_from(&value, label, &context),
                Err(e) if e.webdriver_code() == Some("no such element") => {}
                Err(e) => return Err(e),
            }
            if started.elapsed() >= WAIT {
                break;
            }
            thread::sleep(POLL);
        }
        Err(Error::NotFound {
            selector: label,
            waited: started.elapsed(),
        })
    }

    fn element_from(
        &self,
        value: &Value,
        selector: String,
        context: &str,
    ) -> Result<Element<'_>, Error> {
        let id = value
            .get(ELEMENT_KEY)
            .or_else(|| value.get("ELEMENT")) // legacy (JSON wire protocol) drivers
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Protocol {
                context: context.to_owned(),
                detail: format!("no element reference in {}", clip(&value.to_string())),
            })?;
        Ok(Element {
            driver: self,
            id: id.to_owned(),
            selector,
        })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Best effort, bounded, never panics: end the session (Chromium quits),
        // ask chromedriver to exit, then the process guard kills it if needed
        // and the temp dir guard removes the profile.
        let _ = self.wire.request(
            Method::Delete,
            &self.session_url,
            None,
            Some(Duration::from_secs(10)),
            "delete session",
        );
        let shutdown = self.wire.request(
            Method::Get,
            &format!("{}/shutdown", self.base_url),
            None,
            Some(Duration::from_secs(2)),
            "shutdown",
        );
        if shutdown.is_ok() {
            self.process.wait_exit(Duration::from_secs(2));
        }
    }
}

/// An element found in the page; borrows its [`Driver`].
#[derive(Clone)]
pub struct Element<'d> {
    driver: &'d Driver,
    id: String,
    /// How it was found, for error messages (`parent >> child` when nested).
    selector: String,
}

impl fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Element")
            .field("selector", &self.selector)
            .field("id", &self.id)
            .finish()
    }
}

impl<'d> Element<'d> {
    fn cmd(
        &self,
        method: Method,
        suffix: &str,
        body: Option<Value>,
        what: &str,
    ) -> Result<Value, Error> {
        let context = format!("{what} `{}`", self.selector);
        self.driver.cmd(
            method,
            &format!("/element/{}{suffix}", self.id),
            body,
            &context,
        )
    }

    /// The selector this element was found with (`parent >> child` when nested).
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// The W3C web element reference, for passing to [`Driver::execute`].
    pub fn to_arg(&self) -> Value {
        let mut reference = serde_json::Map::new();
        reference.insert(ELEMENT_KEY.to_owned(), Value::String(self.id.clone()));
        Value::Object(reference)
    }

    /// Clicks the element (scrolls it into view first; fails if it is obscured).
    pub fn click(&self) -> Result<(), Error> {
        self.cmd(Method::Post, "/click", None, "click")?;
        Ok(())
    }

    /// Types `text` into the element (any Unicode, e.g. Chinese).
    pub fn send_keys(&self, text: &str) -> Result<(), Error> {
        self.cmd(
            Method::Post,
            "/value",
            Some(json!({ "text": text })),
            "send_keys",
        )?;
        Ok(())
    }

    /// Clears an input or textarea.
    pub fn clear(&self) -> Result<(), Error> {
        self.cmd(Method::Post, "/clear", None, "clear")?;
        Ok(())
    }

    /// The element's rendered (visible) text.
    pub fn text(&self) -> Result<String, Error> {
        let value = self.cmd(Method::Get, "/text", None, "text")?;
        as_string(value, &format!("text `{}`", self.selector))
    }

    /// The HTML attribute `name` as written in the markup (`None` when absent).
    /// For what the user typed into an input, use [`Element::value`].
    pub fn attr(&self, name: &str) -> Result<Option<String>, Error> {
        let what = format!("attr {name:?} of");
        let value = self.cmd(
            Method::Get,
            &format!("/attribute/{}", path_segment(name)),
            None,
            &what,
        )?;
        match value {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            other => Ok(Some(other.to_string())),
        }
    }

    /// The current `value` property of an input, textarea or select
    /// (what the user typed; empty string when the element has none).
    pub fn value(&self) -> Result<String, Error> {
        let value = self.cmd(Method::Get, "/property/value", None, "value of")?;
        match value {
            Value::Null => Ok(String::new()),
            other => as_string(other, &format!("value of `{}`", self.selector)),
        }
    }

    /// Finds the first descendant matching `css`, waiting up to 5 s.
    pub fn find(&self, css: &str) -> Result<Element<'d>, Error> {
        let label = format!("{} >> {css}", self.selector);
        self.driver
            .find_waiting(&format!("/element/{}/element", self.id), css, label)
    }
}

fn css_body(css: &str) -> Value {
    json!({ "using": "css selector", "value": css })
}

fn as_string(value: Value, context: &str) -> Result<String, Error> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(Error::Protocol {
            context: context.to_owned(),
            detail: format!("expected a string, got {}", clip(&other.to_string())),
        }),
    }
}

/// Percent-encodes everything but unreserved characters, for a URL path segment.
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segment_encodes() {
        assert_eq!(path_segment("data-x_1"), "data-x_1");
        assert_eq!(path_segment("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn clip_drops_session_info() {
        let m = "no such element: Unable to locate element\n  (Session info: chrome=1)";
        assert_eq!(clip(m), "no such element: Unable to locate element");
        assert_eq!(clip(&"x".repeat(900)).chars().count(), 801);
    }
}
