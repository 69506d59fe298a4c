//! The one error type of this crate.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while driving the browser.
///
/// Every message names what was being done (the CSS selector, URL or
/// command) and, where chromedriver answered with an error, the W3C error
/// code and chromedriver's message.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum Error {
    /// chromedriver or Chromium is not installed, and `CI` or
    /// `DOORSTEP_REQUIRE_BROWSER` says the browser suite must run.
    #[error("browser suite required ({reason}) but {missing} not found; {hint}")]
    BrowserMissing {
        /// Which variable made the browser mandatory.
        reason: String,
        /// What was not found, e.g. "chromedriver".
        missing: String,
        /// How to fix it.
        hint: &'static str,
    },

    /// `CHROMEDRIVER` / `CHROME_BIN` names something that is not an executable.
    #[error("{var} is set to {value:?}, but that is not an executable file")]
    BadBinaryVar {
        /// The environment variable.
        var: &'static str,
        /// Its value.
        value: String,
    },

    /// The temporary profile directory could not be created.
    #[error("could not create a temporary directory under {dir:?}: {source}")]
    TempDir {
        /// The parent directory.
        dir: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// chromedriver could not be spawned.
    #[error("could not start chromedriver {path:?}: {source}")]
    Spawn {
        /// The chromedriver binary.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// chromedriver was spawned but never answered `GET /status` with `ready`.
    #[error("chromedriver {path:?} not ready: {detail}{}", log_suffix(.log))]
    DriverNotReady {
        /// The chromedriver binary.
        path: PathBuf,
        /// What was seen instead.
        detail: String,
        /// The tail of chromedriver's output.
        log: String,
    },

    /// The HTTP exchange with chromedriver itself failed (connection, timeout, body).
    #[error("{context}: HTTP exchange with chromedriver failed: {message}")]
    Transport {
        /// What was being done.
        context: String,
        /// The transport error.
        message: String,
    },

    /// chromedriver answered with a W3C WebDriver error.
    #[error("{context}: WebDriver error `{error}`: {message}{}", log_suffix(.log))]
    WebDriver {
        /// What was being done (command and selector / URL).
        context: String,
        /// The W3C error code, e.g. `no such element`, `invalid selector`.
        error: String,
        /// chromedriver's message (first line(s), stack trace left out).
        message: String,
        /// The tail of chromedriver's output, filled in only for session creation.
        log: String,
    },

    /// chromedriver answered something this client does not understand.
    #[error("{context}: unexpected answer from chromedriver: {detail}")]
    Protocol {
        /// What was being done.
        context: String,
        /// What was wrong with the answer.
        detail: String,
    },

    /// No element matched the selector within the wait.
    #[error("no element matches CSS selector `{selector}` (waited {waited:?})")]
    NotFound {
        /// The selector (`parent >> child` for nested finds).
        selector: String,
        /// How long was waited.
        waited: Duration,
    },

    /// The element never showed the expected text within the wait.
    #[error(
        "element `{selector}` did not contain text {needle:?} (waited {waited:?}; last text: {})",
        last_text(.last)
    )]
    TextNotFound {
        /// The selector.
        selector: String,
        /// The text waited for.
        needle: String,
        /// How long was waited.
        waited: Duration,
        /// The element's last text, `None` if it never appeared.
        last: Option<String>,
    },
}

impl Error {
    /// The W3C error code when chromedriver answered with an error
    /// (`"no such element"`, `"invalid selector"`, ...).
    pub fn webdriver_code(&self) -> Option<&str> {
        match self {
            Error::WebDriver { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The element went away while the page changed (a navigation replaced
    /// the document between finding it and reading it): worth asking again.
    /// ChromeDriver says "stale element reference", or sometimes an
    /// "unknown error" that the node "does not belong to the document".
    pub fn is_stale(&self) -> bool {
        match self {
            Error::WebDriver { error, message, .. } => {
                error == "stale element reference"
                    || (error == "unknown error"
                        && message.contains("does not belong to the document"))
            }
            _ => false,
        }
    }
}

fn log_suffix(log: &str) -> String {
    let log = log.trim();
    if log.is_empty() {
        String::new()
    } else {
        format!("\n--- chromedriver output (tail) ---\n{log}")
    }
}

fn last_text(last: &Option<String>) -> String {
    match last {
        Some(text) => format!("{text:?}"),
        None => "element never appeared".to_owned(),
    }
}
