//! Alipay open API, gateway 1.0 with RSA2 keys (当面付, face to face).
//!
//! - [`sign`]: the strings requests and notifications sign, and the exact
//!   `<method>_response` text a response's `sign` covers.
//! - [`gateway`]: common parameters, the signed form request, the verified
//!   reply; Beijing-time timestamps.
//! - [`notify`]: the `trade_status_sync` notification.
//! - [`bill`]: the trade bill ZIP (GBK CSV).
//! - [`client`]: [`AlipayClient`], the [`crate::PayProvider`].
//! - [`form`]: form encoding.
//!
//! Amounts are decimal yuan strings on the wire and integer fen here,
//! converted with [`crate::yuan_to_fen`] / [`crate::fen_to_yuan`] only.

pub mod bill;
pub mod client;
pub mod form;
pub mod gateway;
pub mod notify;
pub mod sign;

pub use bill::{TradeBillRow, parse_trade_bill, render_trade_bill};
pub use client::{AlipayClient, AlipayConfig, MAX_AMOUNT_FEN};
pub use form::{FormError, form_decode, form_encode};
pub use gateway::{
    DEFAULT_GATEWAY, FORM_CONTENT_TYPE, GatewayCall, Reply, beijing_time, build_request,
    parse_beijing_time, parse_reply, request_params,
};
pub use notify::{ACK, map_trade_status, parse_notification};
pub use sign::{
    extract_response_content, notify_sign_content, param, response_body, response_member,
    sign_content, sign_notification, sign_request, verify_notification, verify_request,
};
