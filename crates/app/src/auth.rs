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
    /// Checks a username and password and opens a session.
    pub async fn login(&self, username: &str, password: &str) -> AppResult<Session> {
        let bad = || AppError::Unauthorized("wrong username or password".into());
        let Some((user, hash)) = self.store.user_credentials(username.trim()).await? else {
            // Spend the same time as a real check so usernames cannot be probed by timing.
            let _ = verify(
                password,
                "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
            );
            return Err(bad());
        };
        if !verify(password, &hash) {
            return Err(bad());
        }
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
