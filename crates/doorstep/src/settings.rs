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
    fn url_password_is_redacted() {
        let u = DatabaseUrl("postgres://app:s3cret@db:5432/doorstep".into());
        assert_eq!(format!("{u}"), "postgres://app:***@db:5432/doorstep");
        assert!(!format!("{u:?}").contains("s3cret"));
    }
}
