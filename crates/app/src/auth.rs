//! Staff sign-in: argon2 password hashes, database-backed sessions.

use crate::{App, AppError, AppResult, now};
use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use doorstep_store::User;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// How long a staff session lasts: 12 hours.
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// Sign-in attempts per username: (attempts, window in seconds). Each tier
/// refuses past its count until its window ends, so the wait grows from up
/// to a minute to up to a quarter of an hour (never longer: a stranger must
/// not be able to lock a colleague out for the day). A success clears them.
/// Every attempt is counted before the password is checked, so parallel
/// guesses get no more checks than sequential ones.
pub const USER_TIERS: [(u32, i64); 2] = [(5, 60), (10, 900)];

/// Sign-in attempts per client address (many usernames from one place).
pub const CLIENT_TIERS: [(u32, i64); 2] = [(20, 60), (100, 900)];

/// Password checks running at once: argon2 takes a core for tens of
/// milliseconds, so a flood of sign-ins must not take every core from the
/// requests that need none.
static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Runs an argon2 computation on the blocking pool, at most two at a time.
async fn on_hashing_pool<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| AppError::Storage(format!("hashing pool closed: {e}")))?;
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Storage(format!("hashing task failed: {e}")))
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Storage(format!("hashing failed: {e}")))
}

fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The stored form of a session token: its SHA-256, so a database leak gives no sessions.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Bearer token / cookie value (shown once).
    pub token: String,
    /// Who.
    pub user: User,
    /// Expiry (unix seconds).
    pub expires_at: i64,
}

impl App {
    /// Checks a username and password and opens a session (limited per
    /// username only; [`App::login_from`] also limits the client).
    pub async fn login(&self, username: &str, password: &str) -> AppResult<Session> {
        self.sign_in(username, password, None).await
    }

    /// Checks a username and password from `client` and opens a session;
    /// too many attempts for the username or from the client are refused
    /// with [`AppError::TooMany`] before any password is checked.
    pub async fn login_from(
        &self,
        username: &str,
        password: &str,
        client: &str,
    ) -> AppResult<Session> {
        self.sign_in(username, password, Some(client)).await
    }

    async fn sign_in(
        &self,
        username: &str,
        password: &str,
        client: Option<&str>,
    ) -> AppResult<Session> {
        let username = username.trim();
        let user_key = |w: i64| format!("login-user:{w}:{}", username.to_lowercase());
        for (max, window) in USER_TIERS {
            self.throttle(&user_key(window), max, window).await?;
        }
        if let Some(c) = client {
            for (max, window) in CLIENT_TIERS {
                self.throttle(&format!("login-client:{window}:{c}"), max, window)
                    .await?;
            }
        }
        let session = self.check_password(username, password).await?;
        for (_, window) in USER_TIERS {
            self.throttle_reset(&user_key(window)).await?;
        }
        Ok(session)
    }

    async fn check_password(&self, username: &str, password: &str) -> AppResult<Session> {
        let bad = || AppError::Unauthorized("wrong username or password".into());
        let found = self.store.user_credentials(username).await?;
        // An unknown user costs the same check, so usernames cannot be probed by timing.
        let hash = found.as_ref().map(|(_, h)| h.clone()).unwrap_or_else(|| {
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG".into()
        });
        let password = password.to_string();
        let ok = on_hashing_pool(move || verify(&password, &hash)).await?;
        let Some((user, _)) = found.filter(|_| ok) else {
            return Err(bad());
        };
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        let now = now();
        let expires_at = now + SESSION_SECONDS;
        self.store
            .create_session(&token_hash(&token), user.id, now, expires_at)
            .await?;
        Ok(Session {
            token,
            user,
            expires_at,
        })
    }

    /// The user of a session token.
    pub async fn session_user(&self, token: &str) -> AppResult<User> {
        self.store
            .session_user(&token_hash(token), now())
            .await?
            .ok_or_else(|| {
                AppError::Unauthorized(
                    "not signed in, or the session has expired; sign in again".into(),
                )
            })
    }

    /// Ends a session.
    pub async fn logout(&self, token: &str) -> AppResult<()> {
        Ok(self.store.delete_session(&token_hash(token)).await?)
    }
}
