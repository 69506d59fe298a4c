//! Who is calling: a bearer token (API clients) or the session cookie
//! (console). Sessions live in the database, so any instance can check them.

use crate::WebError;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use doorstep_app::{App, AppError};
use doorstep_domain::Lang;
use doorstep_store::User;

/// The session cookie's name.
pub const COOKIE: &str = "doorstep_session";

/// A cookie's value from the request headers. The front has already turned
/// `__Host-` session cookies into their plain names (and dropped plain ones
/// over https).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The session token of a request: `Authorization: Bearer …` or the cookie.
pub fn token(headers: &HeaderMap) -> Option<String> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    bearer.or_else(|| cookie(headers, COOKIE))
}

/// The interface language: `lang` cookie, else Accept-Language, else Chinese.
pub fn lang(headers: &HeaderMap) -> Lang {
    if let Some(l) = cookie(headers, "lang") {
        return Lang::parse(&l);
    }
    headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(Lang::parse)
        .unwrap_or_default()
}

/// A signed-in staff user (API): 401 without a valid session.
pub struct Staff(pub User);

impl FromRequestParts<App> for Staff {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Some(t) = token(&parts.headers) else {
            return Err(WebError(AppError::Unauthorized(
                "sign in first: send Authorization: Bearer <token> from POST /api/v1/login".into(),
            )));
        };
        Ok(Staff(app.session_user(&t).await?))
    }
}

/// The owner session cookie's name (separate from staff sessions).
pub const OWNER_COOKIE: &str = "doorstep_owner";

/// An owner's session token: `Authorization: Bearer …` or the owner cookie.
pub fn owner_token(headers: &HeaderMap) -> Option<String> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    bearer.or_else(|| cookie(headers, OWNER_COOKIE))
}

/// A signed-in owner (their phone and company): 401 without a valid owner session.
pub struct OwnerCaller(pub doorstep_app::owner::OwnerId);

impl FromRequestParts<App> for OwnerCaller {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let Some(t) = owner_token(&parts.headers) else {
            return Err(WebError(AppError::Unauthorized(
                "sign in with your phone first: POST /api/v1/owner/code, then /api/v1/owner/session"
                    .into(),
            )));
        };
        Ok(OwnerCaller(app.owner_signed_in(&t).await?))
    }
}

/// Staff or owner: a staff session is tried first, then an owner session.
pub enum Caller {
    /// A staff user.
    Staff(User),
    /// An owner (phone and company).
    Owner(doorstep_app::owner::OwnerId),
}

impl FromRequestParts<App> for Caller {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let owner_prefix = doorstep_app::owner::OWNER_TOKEN_PREFIX;
        if let Some(t) = token(&parts.headers).filter(|t| !t.starts_with(owner_prefix))
            && let Ok(u) = app.session_user(&t).await
        {
            return Ok(Caller::Staff(u));
        }
        if let Some(t) = owner_token(&parts.headers).filter(|t| t.starts_with(owner_prefix))
            && let Ok(p) = app.owner_signed_in(&t).await
        {
            return Ok(Caller::Owner(p));
        }
        Err(WebError(AppError::Unauthorized(
            "sign in first (staff: POST /api/v1/login; owners: POST /api/v1/owner/code)".into(),
        )))
    }
}

/// The client's address, for rate limits: the peer address; behind a proxy
/// the settings trust (loopback by default), the last `X-Forwarded-For` hop.
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let addr = parts
            .extensions
            .get::<crate::front::Front>()
            .map(|f| f.client.clone())
            .unwrap_or_else(|| "unknown".into());
        Ok(ClientAddr(addr))
    }
}
