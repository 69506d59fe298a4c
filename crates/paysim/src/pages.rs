//! The tester's pages under `/sim`. Filled in by the WeChat work.
use crate::state::Sim;
use axum::Router;

/// The `/sim` routes.
pub fn routes() -> Router<Sim> {
    Router::new()
}
