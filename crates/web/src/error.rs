//! The HTTP error: each application error maps to one status, with a JSON
//! body `{ "error": code, "message": text }`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use doorstep_app::AppError;
use serde_json::json;

/// An error answered over HTTP.
#[derive(Debug)]
pub struct WebError(pub AppError);

impl From<AppError> for WebError {
    fn from(e: AppError) -> Self {
        WebError(e)
    }
}

impl From<doorstep_domain::DomainError> for WebError {
    fn from(e: doorstep_domain::DomainError) -> Self {
        WebError(AppError::Invalid(e))
    }
}

impl From<doorstep_store::StoreError> for WebError {
    fn from(e: doorstep_store::StoreError) -> Self {
        WebError(AppError::from(e))
    }
}

impl WebError {
    /// Status and stable error code.
    pub fn status(&self) -> (StatusCode, &'static str) {
        match &self.0 {
            AppError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AppError::Refused(doorstep_domain::Refusal::Full) => {
                (StatusCode::CONFLICT, "slot_full")
            }
            AppError::Refused(_) => (StatusCode::UNPROCESSABLE_ENTITY, "slot_unavailable"),
            AppError::Code(c) if c.retry_at().is_some() => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
            }
            AppError::Code(_) => (StatusCode::UNAUTHORIZED, "wrong_code"),
            AppError::Storage(_) => (StatusCode::INTERNAL_SERVER_ERROR, "storage"),
            AppError::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            AppError::TooMany { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
        }
    }

    /// The message shown to the user (storage details stay in the log).
    pub fn message(&self) -> String {
        match &self.0 {
            AppError::Storage(m) => {
                tracing::error!(error = %m, "storage failure");
                "the server could not complete the request; try again".into()
            }
            AppError::Busy(m) => {
                tracing::warn!(error = %m, "database busy");
                "服务器繁忙，请稍后重试 / the server is busy; try again in a moment".into()
            }
            e => e.to_string(),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, code) = self.status();
        let mut body = json!({ "error": code, "message": self.message() });
        if let AppError::Invalid(d) = &self.0 {
            body["field"] = json!(d.field());
        }
        let mut retry_after_secs = None;
        if let AppError::Code(c) = &self.0 {
            body["message"] = json!(doorstep_app::owner::code_message(
                c,
                doorstep_domain::Lang::En
            ));
            if let Some(at) = c.retry_at() {
                body["retry_at"] = json!(at);
                retry_after_secs = Some((at - doorstep_app::now()).max(1));
            }
        }
        if let AppError::Busy(_) = &self.0 {
            retry_after_secs = Some(1);
        }
        if let AppError::TooMany { retry_after, .. } = &self.0 {
            body["retry_after"] = json!(retry_after);
            retry_after_secs = Some(*retry_after);
        }
        let mut res = (status, Json(body)).into_response();
        if let Some(secs) = retry_after_secs
            && let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        res
    }
}

/// A JSON request body whose rejection is a [`WebError`] naming what is wrong.
pub struct Body<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for Body<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = WebError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(e) => Err(WebError(AppError::Invalid(
                doorstep_domain::DomainError::invalid("body", e.body_text()),
            ))),
        }
    }
}
