//! `doorstep paysim`: WeChat Pay API v3 and Alipay's open API, simulated on
//! localhost, following the same paths, fields, signatures and notification
//! retry schedules as the real providers, so that pointing Doorstep at the
//! real providers is configuration only.
//!
//! - [`wechat`]: `/v3/...` (Native, codepay, query, close, reverse, refund,
//!   certificates, trade bill, bill download), requests checked against the
//!   merchant's registered key, responses and notifications signed with the
//!   simulator's platform key (public-key mode, `PUB_KEY_ID_…`, and a
//!   platform certificate), resources encrypted with the APIv3 key.
//! - [`alipay`]: `/gateway.do` (precreate, pay, query, close, cancel, refund,
//!   bill download URL), RSA2 both ways, form-encoded notifications that
//!   expect the body `success`.
//! - [`pages`]: the tester's pages under `/sim`: orders, "scan" a QR code
//!   and pay or abandon it, a wallet that shows payment codes (付款码), the
//!   daily bills.
//!
//! State is in memory: the simulator is a test fixture, not a server
//! Doorstep depends on.

pub mod alipay;
pub mod kit;
pub mod pages;
pub mod state;
pub mod wechat;

pub use state::{AlipayApp, Sim, SimConfig, SimOrder, SimState, TradeState, WechatMerchant};

use axum::Router;

/// Every route of the simulator.
pub fn router(sim: Sim) -> Router {
    Router::new()
        .merge(wechat::routes())
        .merge(alipay::routes())
        .merge(pages::routes())
        .with_state(sim)
}

/// Serves the simulator on `listener` and runs its notification sender until
/// the process ends.
pub async fn serve(listener: tokio::net::TcpListener, sim: Sim) -> std::io::Result<()> {
    sim.start_notifier();
    axum::serve(listener, router(sim)).await
}
