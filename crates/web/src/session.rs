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

/// A cookie's value from the request headers.
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
