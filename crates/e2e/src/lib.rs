//! A small, blocking W3C WebDriver client for Doorstep's end-to-end tests.
//!
//! It finds and starts `chromedriver` on a free 127.0.0.1 port, opens a
//! headless Chromium session with a throw-away profile, and cleans both up on
//! drop. When the browser is not installed, [`Driver::start`] returns
//! `Ok(None)` so a test can skip — unless `CI` or `DOORSTEP_REQUIRE_BROWSER`
//! is set, in which case the absence is an error.
//!
//! ```no_run
//! # fn main() -> Result<(), doorstep_e2e::Error> {
//! let Some(driver) = doorstep_e2e::Driver::start()? else {
//!     eprintln!("SKIPPED: browser suite — {}", doorstep_e2e::skip_note());
//!     return Ok(());
//! };
//! driver.goto("http://127.0.0.1:8080/")?;
//! driver.find("input[name=q]")?.send_keys("张三")?;
//! driver.find("button")?.click()?;
//! driver.wait_for_text("#out", "张三")?;
//! # Ok(())
//! # }
//! ```
//!
//! Every wait is bounded: element lookups and text waits poll for at most
//! 5 s, chromedriver start-up for at most 10 s, page loads and scripts are
//! cut by WebDriver after 30 s, and any single HTTP exchange after 60 s.

pub mod axe;
mod driver;
mod error;
mod locate;
mod process;
mod wire;

pub use axe::AxeError;
pub use driver::{Driver, ELEMENT_KEY, Element, WAIT};
pub use error::Error;

/// One line telling how to enable the browser suite.
pub fn skip_note() -> &'static str {
    "chromedriver/chromium not found; to run the browser suite: apt-get install chromium chromium-driver \
     (or set CHROMEDRIVER / CHROME_BIN)"
}
