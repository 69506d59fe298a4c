//! Finding the chromedriver and Chromium binaries, and deciding whether their
//! absence means "skip" or "fail".

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::Error;

/// How to enable the browser suite, for skip messages and errors.
pub(crate) const INSTALL_HINT: &str = "install it with `apt-get install chromium chromium-driver` \
     (or point CHROMEDRIVER / CHROME_BIN at the binaries)";

/// The two binaries a session needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Binaries {
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
}

/// What locating looks at: environment variables and the file system.
/// Abstracted so the decision logic is unit-tested without touching the
/// process environment.
pub(crate) struct Probe<'a> {
    pub var: &'a dyn Fn(&str) -> Option<OsString>,
    pub is_executable: &'a dyn Fn(&Path) -> bool,
}

impl Probe<'static> {
    /// The real environment and file system.
    pub fn system() -> Self {
        Probe {
            var: &env_var,
            is_executable: &is_executable_file,
        }
    }
}

struct Candidate {
    var: &'static str,
    fixed: &'static [&'static str],
    on_path: &'static [&'static str],
    label: &'static str,
}

const CHROMEDRIVER: Candidate = Candidate {
    var: "CHROMEDRIVER",
    fixed: &["/usr/bin/chromedriver"],
    on_path: &["chromedriver"],
    label: "chromedriver",
};

const CHROMIUM: Candidate = Candidate {
    var: "CHROME_BIN",
    fixed: &["/usr/bin/chromium"],
    on_path: &[
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ],
    label: "chromium",
};

/// `Some(reason)` when the browser suite must run (absence is an error).
/// A variable counts as set when it is non-empty and not `0` / `false`.
pub(crate) fn required_reason(probe: &Probe<'_>) -> Option<String> {
    ["DOORSTEP_REQUIRE_BROWSER", "CI"]
        .into_iter()
        .find_map(|name| {
            let value = (probe.var)(name)?;
            let value = value.to_string_lossy();
            let value = value.trim();
            let off = value.is_empty() || value == "0" || value.eq_ignore_ascii_case("false");
            (!off).then(|| format!("{name}={value}"))
        })
}

/// Locates both binaries. `Ok(None)` means "not installed, skip";
/// an explicitly set but wrong `CHROMEDRIVER` / `CHROME_BIN` is always an error,
/// and so is absence when [`required_reason`] says the suite must run.
pub(crate) fn locate(probe: &Probe<'_>) -> Result<Option<Binaries>, Error> {
    let chromedriver = find_binary(probe, &CHROMEDRIVER)?;
    let chromium = find_binary(probe, &CHROMIUM)?;
    match (chromedriver, chromium) {
        (Some(chromedriver), Some(chromium)) => Ok(Some(Binaries {
            chromedriver,
            chromium,
        })),
        (driver, browser) => match required_reason(probe) {
            None => Ok(None),
            Some(reason) => {
                let missing: Vec<&str> = [
                    (driver.is_none(), CHROMEDRIVER.label),
                    (browser.is_none(), CHROMIUM.label),
                ]
                .into_iter()
                .filter_map(|(absent, label)| absent.then_some(label))
                .collect();
                Err(Error::BrowserMissing {
                    reason,
                    missing: missing.join(" and "),
                    hint: INSTALL_HINT,
                })
            }
        },
    }
}

fn find_binary(probe: &Probe<'_>, candidate: &Candidate) -> Result<Option<PathBuf>, Error> {
    if let Some(value) = (probe.var)(candidate.var).filter(|v| !v.is_empty()) {
        let as_path = PathBuf::from(&value);
        let found = if as_path.components().count() > 1 {
            (probe.is_executable)(&as_path).then_some(as_path)
        } else {
            search_path(probe, &value)
        };
        return match found {
            Some(path) => Ok(Some(path)),
            None => Err(Error::BadBinaryVar {
                var: candidate.var,
                value: value.to_string_lossy().into_owned(),
            }),
        };
    }
    let fixed = candidate
        .fixed
        .iter()
        .map(PathBuf::from)
        .find(|p| (probe.is_executable)(p));
    if fixed.is_some() {
        return Ok(fixed);
    }
    Ok(candidate
        .on_path
        .iter()
        .find_map(|name| search_path(probe, &OsString::from(name))))
}

fn search_path(probe: &Probe<'_>, name: &OsString) -> Option<PathBuf> {
    let path = (probe.var)("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|p| (probe.is_executable)(p))
}

fn env_var(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

fn is_executable_file(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(vars: &[(&str, &str)], files: &[&str]) -> Result<Option<Binaries>, Error> {
        let var = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        };
        let exe = |p: &Path| files.iter().any(|f| Path::new(f) == p);
        locate(&Probe {
            var: &var,
            is_executable: &exe,
        })
    }

    #[test]
    fn absent_means_skip_unless_required() {
        assert_eq!(run(&[], &[]).unwrap(), None);
        assert_eq!(run(&[("CI", "")], &[]).unwrap(), None);
        assert_eq!(run(&[("CI", "false")], &[]).unwrap(), None);
        assert_eq!(
            run(&[("DOORSTEP_REQUIRE_BROWSER", "0")], &["/usr/bin/chromium"]).unwrap(),
            None
        );

        let err = run(&[("CI", "true")], &["/usr/bin/chromium"]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("CI=true"), "{msg}");
        assert!(msg.contains("chromedriver not found"), "{msg}");
        assert!(
            msg.contains("apt-get install chromium chromium-driver"),
            "{msg}"
        );

        let err = run(&[("DOORSTEP_REQUIRE_BROWSER", "1")], &[]).unwrap_err();
        assert!(
            err.to_string().contains("chromedriver and chromium"),
            "{err}"
        );
    }

    #[test]
    fn fixed_paths_then_path_search() {
        let got = run(&[], &["/usr/bin/chromedriver", "/usr/bin/chromium"])
            .unwrap()
            .unwrap();
        assert_eq!(got.chromedriver, PathBuf::from("/usr/bin/chromedriver"));
        assert_eq!(got.chromium, PathBuf::from("/usr/bin/chromium"));

        let got = run(
            &[("PATH", "/opt/a:/opt/b")],
            &[
                "/opt/b/chromedriver",
                "/opt/a/google-chrome",
                "/opt/b/chromium-browser",
            ],
        )
        .unwrap()
        .unwrap();
        assert_eq!(got.chromedriver, PathBuf::from("/opt/b/chromedriver"));
        // chromium-browser is preferred over google-chrome, whichever dir it is in
        assert_eq!(got.chromium, PathBuf::from("/opt/b/chromium-browser"));
    }

    #[test]
    fn env_vars_win_and_must_be_valid() {
        let files = [
            "/usr/bin/chromedriver",
            "/usr/bin/chromium",
            "/x/cd",
            "/x/chrome",
        ];
        let got = run(
            &[("CHROMEDRIVER", "/x/cd"), ("CHROME_BIN", "/x/chrome")],
            &files,
        )
        .unwrap()
        .unwrap();
        assert_eq!(got.chromedriver, PathBuf::from("/x/cd"));
        assert_eq!(got.chromium, PathBuf::from("/x/chrome"));

        // a bare name is looked up on PATH
        let got = run(&[("PATH", "/x"), ("CHROME_BIN", "chrome")], &files)
            .unwrap()
            .unwrap();
        assert_eq!(got.chromium, PathBuf::from("/x/chrome"));

        // set but wrong: an error even when not required, naming the variable
        let err = run(&[("CHROMEDRIVER", "/nope/chromedriver")], &files).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("CHROMEDRIVER") && msg.contains("/nope/chromedriver"),
            "{msg}"
        );
    }
}
