//! WeChat Pay API v3, simulated. Filled in by the WeChat work.
use crate::state::{NotifyEvent, Sim, SimOrder};
use axum::Router;
use doorstep_payments::http::HttpRequest;

/// The `/v3/...` routes.
pub fn routes() -> Router<Sim> {
    Router::new()
}

/// The signed, encrypted notification for an order (a fresh timestamp and
/// nonce on each send), or `None` if the order has no notify URL.
pub fn build_notification(_sim: &Sim, _o: &SimOrder, _e: &NotifyEvent, _id: &str) -> Option<HttpRequest> {
    None
}
