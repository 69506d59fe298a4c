//! Accessibility checks with [axe-core](https://github.com/dequelabs/axe-core)
//! (MPL-2.0) in the page a [`Driver`] shows.
//!
//! axe-core is not part of the repository: `.ci/run` installs it with
//! [`INSTALL_COMMAND`] into the git-ignored `target/axe/`. [`axe_source`]
//! reads it (env `DOORSTEP_AXE_JS` names another `axe.min.js`) and returns
//! `Ok(None)` when it is not installed, so a test can skip — unless `CI` or
//! `DOORSTEP_REQUIRE_BROWSER` is set, exactly as for the browser itself.
//!
//! ```no_run
//! # fn main() -> Result<(), doorstep_e2e::AxeError> {
//! use doorstep_e2e::{Driver, axe};
//! let Some(driver) = Driver::start()? else { return Ok(()) };
//! let Some(source) = axe::axe_source()? else {
//!     eprintln!("SKIPPED: accessibility checks — {}", axe::skip_note());
//!     return Ok(());
//! };
//! driver.goto("http://127.0.0.1:8080/login")?;
//! let violations = axe::check(&driver, &source)?;
//! let serious = axe::serious(&violations);
//! assert!(serious.is_empty(), "{}", axe::report(&serious));
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::locate::{Probe, required_reason};
use crate::wire::clip;
use crate::{Driver, Error};

/// The environment variable that names an `axe.min.js` to use instead of the
/// installed one (best absolute: tests run in the crate's directory).
pub const AXE_JS_VAR: &str = "DOORSTEP_AXE_JS";

/// How `.ci/run` installs axe-core; run it in the workspace root.
pub const INSTALL_COMMAND: &str = "npm install --no-save --prefix target/axe axe-core@4";

/// The axe-core rule tags [`check`] runs: WCAG 2.0 and 2.1, levels A and AA,
/// plus Deque's best practices.
pub const TAGS: &[&str] = &["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

/// How long [`check`] waits for `axe.run` to finish.
pub const AXE_WAIT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(100);

/// Where the page keeps the result of the run in progress.
const RESULT_KEY: &str = "__doorstepAxe";

/// Everything that can go wrong while checking a page with axe-core.
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum AxeError {
    /// axe-core is not installed, and `CI` or `DOORSTEP_REQUIRE_BROWSER` says
    /// the accessibility checks must run.
    #[error(
        "accessibility checks required ({reason}) but axe-core was not found at {path:?}; \
         install it with `{}` in the workspace root (or set {} to an axe.min.js)",
        INSTALL_COMMAND,
        AXE_JS_VAR
    )]
    Missing {
        /// Which variable made the checks mandatory.
        reason: String,
        /// Where `axe.min.js` was looked for.
        path: PathBuf,
    },

    /// `axe.min.js` exists (or `DOORSTEP_AXE_JS` names it) but could not be read.
    #[error("could not read axe-core from {path:?}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// Talking to the browser failed.
    #[error(transparent)]
    Driver(#[from] Error),

    /// The script did not define `window.axe`, or `axe.run` rejected.
    #[error("axe-core failed on {url}: {message}")]
    Run {
        /// The page.
        url: String,
        /// What the page said.
        message: String,
    },

    /// `axe.run` did not finish in time, or the page went away meanwhile.
    #[error("axe-core did not finish on {url}: {detail} (waited {waited:?})")]
    Unfinished {
        /// The page.
        url: String,
        /// What was seen.
        detail: String,
        /// How long was waited.
        waited: Duration,
    },

    /// The results were not in the expected shape.
    #[error("axe-core's results on {url} could not be read: {detail}")]
    Results {
        /// The page.
        url: String,
        /// What was wrong.
        detail: String,
    },
}

/// How bad a violation is, as axe-core ranks it (ordered: `Minor` < `Critical`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Impact {
    /// `minor`
    Minor,
    /// `moderate`
    Moderate,
    /// `serious`
    Serious,
    /// `critical`
    Critical,
}

impl fmt::Display for Impact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Impact::Minor => "minor",
            Impact::Moderate => "moderate",
            Impact::Serious => "serious",
            Impact::Critical => "critical",
        })
    }
}

/// One failed axe-core rule on the page, with the elements that fail it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// The rule id, e.g. `color-contrast`, `html-has-lang`.
    pub id: String,
    /// How bad it is (`None` only if axe-core did not say).
    pub impact: Option<Impact>,
    /// One line on what the rule wants.
    pub help: String,
    /// Deque's page on the rule.
    pub help_url: String,
    /// The offending elements.
    pub nodes: Vec<ViolationNode>,
}

/// One element that fails a rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ViolationNode {
    /// A CSS selector for the element (frames or shadow roots on the way
    /// are joined with ` >> `).
    pub target: String,
    /// The element's opening tag, as axe-core clipped it.
    pub html: String,
    /// What exactly is wrong, e.g. the measured contrast ratio.
    pub failure_summary: String,
}

impl Violation {
    /// The selectors of the offending elements.
    pub fn targets(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(|n| n.target.as_str())
    }
}

impl fmt::Display for Violation {
    /// `[serious] color-contrast: Elements must meet … (url)` and then one
    /// indented line per element: its selector, its tag, and what is wrong.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let impact = self.impact.map_or("unknown".to_owned(), |i| i.to_string());
        write!(
            f,
            "[{impact}] {}: {} ({})",
            self.id, self.help, self.help_url
        )?;
        for node in &self.nodes {
            write!(f, "\n    {}  {}", node.target, node.html)?;
            // axe-core writes "Fix any of the following:\n  reason\n  reason"; one line here.
            let summary = node
                .failure_summary
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("; ")
                .replace(":; ", ": ");
            if !summary.is_empty() {
                write!(f, "\n      {summary}")?;
            }
        }
        Ok(())
    }
}

/// Only the violations whose impact is `serious` or `critical`.
pub fn serious(violations: &[Violation]) -> Vec<&Violation> {
    violations
        .iter()
        .filter(|v| v.impact.is_some_and(|i| i >= Impact::Serious))
        .collect()
}

/// A readable list of violations for a failure message: one
/// [`Violation`]'s `Display` after another, or `no violations`.
pub fn report(violations: &[&Violation]) -> String {
    if violations.is_empty() {
        return "no violations".to_owned();
    }
    violations
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where `axe.min.js` is looked for: `DOORSTEP_AXE_JS` when set (non-empty),
/// else `<workspace>/target/axe/node_modules/axe-core/axe.min.js`.
pub fn axe_path() -> PathBuf {
    match std::env::var_os(AXE_JS_VAR).filter(|v| !v.is_empty()) {
        Some(path) => PathBuf::from(path),
        None => default_path(),
    }
}

fn default_path() -> PathBuf {
    workspace_root().join("target/axe/node_modules/axe-core/axe.min.js")
}

/// This crate lives in `<workspace>/crates/e2e`.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| manifest.join("../.."), Path::to_path_buf)
}

/// One line telling how to enable the accessibility checks.
pub fn skip_note() -> String {
    format!(
        "axe-core not found at {}; to run the accessibility checks: `{INSTALL_COMMAND}` \
         in the workspace root (or set {AXE_JS_VAR} to an axe.min.js)",
        axe_path().display()
    )
}

/// The axe-core script, read from [`axe_path`].
///
/// `Ok(None)` when the default file does not exist (so tests can skip),
/// unless `CI` or `DOORSTEP_REQUIRE_BROWSER` is set (non-empty, not
/// `0`/`false`): then it is [`AxeError::Missing`]. A `DOORSTEP_AXE_JS` that
/// names a missing or unreadable file is always an error.
pub fn axe_source() -> Result<Option<String>, AxeError> {
    let explicit = std::env::var_os(AXE_JS_VAR).is_some_and(|v| !v.is_empty());
    let path = axe_path();
    match std::fs::read_to_string(&path) {
        Ok(source) => Ok(Some(source)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            match required_reason(&Probe::system()) {
                None => Ok(None),
                Some(reason) => Err(AxeError::Missing { reason, path }),
            }
        }
        Err(source) => Err(AxeError::Read { path, source }),
    }
}

/// Runs axe-core on the current page and returns every violation of the
/// rules tagged [`TAGS`], most serious first.
///
/// `source` is the text of `axe.min.js` (from [`axe_source`]). It is run
/// through WebDriver, not a `<script>` element, so a page's Content Security
/// Policy does not block it. `axe.run` is asynchronous: it is started, keeps
/// its result on `window`, and is polled every 100 ms for up to [`AXE_WAIT`].
/// Navigate and wait for what you want checked before calling this.
pub fn check(driver: &Driver, source: &str) -> Result<Vec<Violation>, AxeError> {
    let url = driver.current_url()?;

    // Inject axe-core unless this page already has it (from an earlier check).
    if driver.execute(HAS_AXE, vec![])? != Value::Bool(true) {
        let defined = driver.execute(&format!("{source}\n;{HAS_AXE}"), vec![])?;
        if defined != Value::Bool(true) {
            return Err(AxeError::Run {
                url,
                message: "the script did not define window.axe.run — is it axe.min.js?".to_owned(),
            });
        }
    }

    driver.execute(START, vec![json!(RESULT_KEY), json!(TAGS)])?;

    let started = Instant::now();
    loop {
        let state = driver.execute(POLL_SCRIPT, vec![json!(RESULT_KEY)])?;
        match state.get("state").and_then(Value::as_str) {
            Some("running") => {}
            Some("done") => {
                let violations = state.get("violations").cloned().unwrap_or(Value::Null);
                let mut violations: Vec<Violation> =
                    serde_json::from_value(violations).map_err(|e| AxeError::Results {
                        url: url.clone(),
                        detail: format!("{e} in {}", clip(&state.to_string())),
                    })?;
                violations.sort_by_key(|v| std::cmp::Reverse(v.impact));
                return Ok(violations);
            }
            Some("failed") => {
                let message = state
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("(no message)");
                return Err(AxeError::Run {
                    url,
                    message: clip(message),
                });
            }
            _ => {
                return Err(AxeError::Unfinished {
                    url,
                    detail: format!(
                        "the run's state is gone (did the page navigate?): {}",
                        clip(&state.to_string())
                    ),
                    waited: started.elapsed(),
                });
            }
        }
        if started.elapsed() >= AXE_WAIT {
            return Err(AxeError::Unfinished {
                url,
                detail: "still running".to_owned(),
                waited: started.elapsed(),
            });
        }
        thread::sleep(POLL);
    }
}

/// Starts `axe.run` and records its outcome, in a shape [`Violation`]
/// deserializes from, under `window[arguments[0]]`.
const START: &str = r#"
var key = arguments[0], tags = arguments[1];
window[key] = { state: 'running' };
function selector(target) {
  return target.map(function (t) { return Array.isArray(t) ? t.join(' >> ') : String(t); }).join(' >> ');
}
window.axe.run(document, { runOnly: tags, resultTypes: ['violations'] }).then(function (results) {
  window[key] = {
    state: 'done',
    violations: results.violations.map(function (v) {
      return {
        id: v.id,
        impact: v.impact || null,
        help: v.help || '',
        helpUrl: v.helpUrl || '',
        nodes: v.nodes.map(function (n) {
          return { target: selector(n.target || []), html: n.html || '', failureSummary: n.failureSummary || '' };
        })
      };
    })
  };
}, function (err) {
  window[key] = { state: 'failed', error: String((err && (err.stack || err.message)) || err) };
});
return true;
"#;

const HAS_AXE: &str =
    "return typeof window.axe === 'object' && typeof window.axe.run === 'function';";

const POLL_SCRIPT: &str = "return window[arguments[0]] || null;";

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(id: &str, impact: Option<Impact>) -> Violation {
        Violation {
            id: id.to_owned(),
            impact,
            help: format!("help for {id}"),
            help_url: format!("https://example.invalid/{id}"),
            nodes: vec![ViolationNode {
                target: "main > p.muted".to_owned(),
                html: "<p class=\"muted\">".to_owned(),
                failure_summary:
                    "Fix any of the following:\n  Element has insufficient color contrast\n  Ratio 1.6"
                        .to_owned(),
            }],
        }
    }

    #[test]
    fn serious_keeps_serious_and_critical() {
        let all = vec![
            violation("a", Some(Impact::Minor)),
            violation("b", Some(Impact::Moderate)),
            violation("c", Some(Impact::Serious)),
            violation("d", Some(Impact::Critical)),
            violation("e", None),
        ];
        let ids: Vec<&str> = serious(&all).iter().map(|v| v.id.as_str()).collect();
        assert_eq!(ids, ["c", "d"]);
    }

    #[test]
    fn display_names_rule_impact_and_selectors() {
        let v = violation("color-contrast", Some(Impact::Serious));
        let text = v.to_string();
        assert!(
            text.starts_with("[serious] color-contrast: help for color-contrast"),
            "{text}"
        );
        assert!(
            text.contains("\n    main > p.muted  <p class=\"muted\">"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "\n      Fix any of the following: Element has insufficient color contrast; Ratio 1.6"
            ),
            "{text}"
        );
        assert_eq!(report(&[]), "no violations");
        assert_eq!(v.targets().collect::<Vec<_>>(), ["main > p.muted"]);
    }

    #[test]
    fn deserializes_what_the_page_script_returns() {
        let value = json!([{
            "id": "html-has-lang", "impact": "serious", "help": "h", "helpUrl": "u",
            "nodes": [{ "target": "html", "html": "<html>", "failureSummary": "s" }]
        }]);
        let v: Vec<Violation> = serde_json::from_value(value).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].impact, Some(Impact::Serious));
        assert_eq!(v[0].nodes[0].target, "html");
    }

    #[test]
    fn default_path_is_under_the_workspace_target() {
        let path = default_path();
        assert!(
            path.ends_with("target/axe/node_modules/axe-core/axe.min.js"),
            "{path:?}"
        );
        assert!(path.starts_with(workspace_root()), "{path:?}");
        assert!(workspace_root().join("Cargo.lock").exists(), "{path:?}");
    }
}
