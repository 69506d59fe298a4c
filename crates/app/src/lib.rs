//! Use cases shared by the HTTP server and the command line: each is one
//! business operation over the [`Store`], with permission checks.

pub mod arrears;
pub mod auth;
pub mod billing;
pub mod booking;
pub mod collect;
pub mod custody;
pub mod demo;
pub mod dispatch;
pub mod entered;
pub mod evidence;
pub mod export;
pub mod import;
pub mod invoice;
pub mod notice;
pub mod notify;
pub mod objects;
pub mod owner;
pub mod pay;
pub mod receipt;
pub mod report;

use doorstep_domain::{Date, DomainError, Permission};
use doorstep_store::{Estate, Store, StoreError, User};
use std::sync::Arc;

/// Errors of use cases; the HTTP layer maps each to a status.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// Not signed in, or bad credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Signed in but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// No such thing.
    #[error("{0} not found")]
    NotFound(String),
    /// Bad input: names the field.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// Conflicts with what exists.
    #[error("{0}")]
    Conflict(String),
    /// A booking cannot be made or changed now (full, past, cut-off …).
    #[error(transparent)]
    Refused(#[from] doorstep_domain::Refusal),
    /// A sign-in code cannot be sent or was not accepted.
    #[error(transparent)]
    Code(#[from] doorstep_domain::booking::CodeRefusal),
    /// Storage failed.
    #[error("storage error: {0}")]
    Storage(String),
    /// The database is busy (locked, or no connection free in time):
    /// nothing was done; retry shortly. The message is for logs.
    #[error("the server is busy; try again in a moment")]
    Busy(String),
    /// Too many attempts of something limited: try again after `retry_after` seconds.
    #[error("too many {what}; try again in {retry_after} s")]
    TooMany {
        /// What was limited (e.g. "receipt lookups from this client").
        what: String,
        /// Seconds until the next attempt may succeed (at least 1).
        retry_after: i64,
    },
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => AppError::NotFound(m),
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::Invalid(d) => AppError::Invalid(d),
            StoreError::SlotFull => AppError::Refused(doorstep_domain::Refusal::Full),
            StoreError::Database(m) => AppError::Storage(m),
            StoreError::Busy(m) => AppError::Busy(m),
        }
    }
}

/// Result of use cases.
pub type AppResult<T> = Result<T, AppError>;

/// The application: a store and nothing else held in memory, so any number
/// of instances can serve the same database.
#[derive(Clone)]
pub struct App {
    /// The storage backend.
    pub store: Arc<dyn Store>,
    /// Owner sign-in code rules (tests may loosen them).
    pub code_policy: doorstep_domain::booking::CodePolicy,
    /// Message gateways by channel; none means messages wait in the outbox.
    pub gateways: Vec<Arc<dyn notify::Gateway>>,
    /// How the payment providers are reached and reach us.
    pub pay: pay::PayConfig,
    /// Where invoice requests go (by default a queue staff work by hand).
    pub invoicing: Arc<dyn invoice::InvoicePlatform>,
    /// Provider clients built from merchant settings, by merchant id: a
    /// client parses RSA keys, which every notification would otherwise
    /// pay for. Kept only while the stored settings (compared whole) and
    /// the transport are the same; nothing another instance would need.
    providers: Arc<std::sync::Mutex<pay::ProviderCache>>,
}

impl App {
    /// An app over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        App {
            store,
            code_policy: Default::default(),
            gateways: Vec::new(),
            pay: Default::default(),
            invoicing: Arc::new(invoice::ManualQueue),
            providers: Default::default(),
        }
    }

    /// The estate with `code`, checking that `user` may act there with `perm`.
    pub async fn estate_for(&self, user: &User, code: &str, perm: Permission) -> AppResult<Estate> {
        let estate = self
            .store
            .estate_by_code(code)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("estate {code:?}")))?;
        if !user.can_access(&estate) {
            return Err(AppError::Forbidden(format!(
                "you ({}) have no access to estate {code:?}",
                user.username
            )));
        }
        require(user, perm)?;
        Ok(estate)
    }

    /// Counts one hit on `key` in a fixed window of `window_secs` seconds
    /// and refuses past `max` hits with [`AppError::TooMany`]. The count is
    /// kept in the database (one atomic upsert), so it holds across
    /// instances and under parallel requests.
    pub async fn throttle(&self, key: &str, max: u32, window_secs: i64) -> AppResult<()> {
        let now = now();
        let w = self.store.rate_hit(key, now, window_secs).await?;
        if w.hits > max {
            return Err(AppError::TooMany {
                what: limited_what(key),
                retry_after: (w.window_start + window_secs - now).max(1),
            });
        }
        Ok(())
    }

    /// The hits counted on `key` in its current window, without counting one.
    pub async fn throttle_hits(&self, key: &str, window_secs: i64) -> AppResult<u32> {
        Ok(self.store.rate_peek(key, now(), window_secs).await?.hits)
    }

    /// Forgets `key`'s hits (e.g. after a successful sign-in).
    pub async fn throttle_reset(&self, key: &str) -> AppResult<()> {
        Ok(self.store.rate_reset(key, now()).await?)
    }

    /// The estate with `code`, for the command line (no user).
    pub async fn estate(&self, code: &str) -> AppResult<Estate> {
        doorstep_domain::EstateCode::parse(code)?;
        self.store
            .estate_by_code(code)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("estate {code:?}")))
    }
}

/// Refuses unless `user`'s role grants `perm`.
pub fn require(user: &User, perm: Permission) -> AppResult<()> {
    if user.role.allows(perm) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "your role ({}) may not do this ({perm:?})",
            user.role.code()
        )))
    }
}

/// The time zone of an estate (falls back to China Standard Time).
pub fn estate_tz(estate: &Estate) -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get(&estate.timezone)
        .unwrap_or_else(|_| jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
}

/// Today's date at the estate.
pub fn today(estate: &Estate) -> Date {
    jiff::Timestamp::now().to_zoned(estate_tz(estate)).date()
}

/// Now, in unix seconds.
pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Parses an `as of` date (`YYYY-MM-DD`) or names the field.
pub fn parse_date(field: &'static str, s: &str) -> AppResult<Date> {
    s.trim().parse::<Date>().map_err(|_| {
        AppError::Invalid(DomainError::invalid(
            field,
            format!("{s:?} is not a date; use YYYY-MM-DD"),
        ))
    })
}

/// What a limit key limits, in words: the part before its first `:`.
fn limited_what(key: &str) -> String {
    let area = key.split(':').next().unwrap_or(key);
    format!("{} attempts", area.replace('-', " "))
}
