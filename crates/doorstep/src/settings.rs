//! Settings: defaults, then an optional TOML file, then `DOORSTEP_*`
//! environment variables, then command-line flags. Secrets never print.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A database URL that redacts its password in Debug and Display.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(pub String);

impl DatabaseUrl {
    fn redacted(&self) -> String {
        match (self.0.find("://"), self.0.rfind('@')) {
            (Some(s), Some(at)) if at > s => {
                let creds = &self.0[s + 3..at];
                let user = creds.split(':').next().unwrap_or("");
                format!("{}{}:***{}", &self.0[..s + 3], user, &self.0[at..])
            }
            _ => self.0.clone(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The settings file's shape (every field optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    /// Listen address, e.g. `0.0.0.0:8080`.
    pub listen: Option<String>,
    /// `postgres://…` or `sqlite:…`.
    pub database_url: Option<DatabaseUrl>,
    /// Folder for the SQLite file.
    pub data_dir: Option<PathBuf>,
    /// The address providers' notifications reach this server at.
    pub public_url: Option<String>,
    /// Proxies (addresses or CIDR blocks) whose X-Forwarded-For/-Proto/-Host
    /// are believed; default: this host (loopback).
    pub trusted_proxies: Option<Vec<String>>,
    /// Seconds a client gets to send a request's headers (default 10).
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds a request may take before the answer is 503 (default 30).
    pub request_timeout_secs: Option<u64>,
    /// Connections served at once (default 1024).
    pub max_connections: Option<usize>,
}

/// The web front's settings from the file and the public URL in effect
/// (`None` when none was given: then nothing is assumed about https).
pub fn front_config(
    file: &FileSettings,
    public_url: Option<String>,
    trusted_proxies: Option<Vec<String>>,
) -> Result<doorstep_web::FrontConfig> {
    let mut cfg = doorstep_web::FrontConfig {
        public_url,
        ..Default::default()
    };
    if let Some(list) = trusted_proxies.or_else(|| file.trusted_proxies.clone()) {
        cfg.trusted_proxies = list
            .iter()
            .filter(|s| !s.trim().is_empty())
            .map(|s| doorstep_web::Cidr::parse(s).map_err(anyhow::Error::msg))
            .collect::<Result<_>>()?;
    }
    let secs = |name: &str, v: Option<u64>, default: std::time::Duration| match v {
        Some(0) => bail!("{name} must be at least 1 second"),
        Some(s) => Ok(std::time::Duration::from_secs(s)),
        None => Ok(default),
    };
    cfg.header_read_timeout = secs(
        "header_read_timeout_secs",
        file.header_read_timeout_secs,
        cfg.header_read_timeout,
    )?;
    cfg.request_timeout = secs(
        "request_timeout_secs",
        file.request_timeout_secs,
        cfg.request_timeout,
    )?;
    match file.max_connections {
        Some(0) => bail!("max_connections must be at least 1"),
        Some(n) => cfg.max_connections = n,
        None => {}
    }
    Ok(cfg)
}

/// Reads a settings file.
pub fn read_file(path: &Path) -> Result<FileSettings> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading settings file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("settings file {} is not valid", path.display()))
}

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum Database {
    /// SQLite file in this folder.
    SqliteDir(PathBuf),
    /// A URL: `postgres://…` or `sqlite:…`.
    Url(DatabaseUrl),
}

impl Database {
    /// Opens the store for this location, migrating it.
    pub async fn open(&self) -> Result<Arc<dyn doorstep_store::Store>> {
        match self {
            Database::SqliteDir(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating data folder {}", dir.display()))?;
                let file = dir.join("doorstep.sqlite");
                let s = doorstep_store_sqlite::open(&file)
                    .await
                    .with_context(|| format!("opening SQLite database {}", file.display()))?;
                Ok(Arc::new(s))
            }
            Database::Url(url)
                if url.0.starts_with("postgres://") || url.0.starts_with("postgresql://") =>
            {
                let s = doorstep_store_postgres::open(&url.0, None)
                    .await
                    .with_context(|| format!("connecting to PostgreSQL at {url}"))?;
                Ok(Arc::new(s))
            }
            Database::Url(url) if url.0.starts_with("sqlite:") => {
                let s = doorstep_store_sqlite::open_url(&url.0)
                    .await
                    .with_context(|| format!("opening {url}"))?;
                Ok(Arc::new(s))
            }
            Database::Url(url) => {
                bail!("unsupported database URL {url}: use postgres://… or sqlite:…")
            }
        }
    }

    /// For messages.
    pub fn describe(&self) -> String {
        match self {
            Database::SqliteDir(d) => format!("SQLite {}", d.join("doorstep.sqlite").display()),
            Database::Url(u) => u.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_settings_from_the_file() {
        let file: FileSettings = toml::from_str(
            "trusted_proxies = [\"10.0.0.0/8\", \"192.0.2.1\"]\nrequest_timeout_secs = 5\nmax_connections = 64\n",
        )
        .expect("valid settings");
        let cfg = front_config(&file, Some("https://pay.example.com".into()), None)
            .expect("front settings");
        assert!(cfg.trusted_proxies[0].contains("10.9.8.7".parse().expect("ip")));
        assert!(
            !cfg.trusted_proxies
                .iter()
                .any(|c| c.contains("127.0.0.1".parse().expect("ip")))
        );
        assert_eq!(cfg.request_timeout, std::time::Duration::from_secs(5));
        assert_eq!(cfg.max_connections, 64);
        let bad: FileSettings =
            toml::from_str("trusted_proxies = [\"proxy.local\"]").expect("toml");
        let e = front_config(&bad, None, None).expect_err("not an address");
        assert!(e.to_string().contains("proxy.local"), "{e}");
    }

    #[test]
    fn url_password_is_redacted() {
        let u = DatabaseUrl("postgres://app:s3cret@db:5432/doorstep".into());
        assert_eq!(format!("{u}"), "postgres://app:***@db:5432/doorstep");
        assert!(!format!("{u:?}").contains("s3cret"));
    }
}
