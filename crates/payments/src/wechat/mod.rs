//! WeChat Pay API v3 (direct merchant, 普通商户), from the published
//! specification:
//!
//! - [`sign`]: the `WECHATPAY2-SHA256-RSA2048` request signature, parsing an
//!   `Authorization` header, and [`WechatVerifier`] for responses and
//!   notifications (WeChat Pay public key `PUB_KEY_ID_…` and/or platform
//!   certificates, the five-minute replay window, `WECHATPAY/SIGNTEST/` probes).
//! - [`aead`]: `AEAD_AES_256_GCM` for notification resources and certificates.
//! - [`types`]: the JSON bodies (orders, transactions, refunds, notifications,
//!   errors, bills).
//! - [`bill`]: the daily trade bill (CSV with back-ticked values, amounts in yuan).
//! - [`client`]: [`WechatConfig`] and [`WechatClient`], the [`crate::PayProvider`].

pub mod aead;
pub mod bill;
pub mod client;
pub mod sign;
pub mod types;

pub use aead::{decrypt_resource, encrypt_resource};
pub use bill::{TradeBillRow, parse_trade_bill, render_trade_bill};
pub use client::{WechatClient, WechatConfig};
pub use sign::{
    AuthParams, BadAuthorization, SCHEMA, WechatVerifier, authorization, parse_authorization,
    response_headers, sign_message,
};
pub use types::trade_status;

/// The production API host.
pub const DEFAULT_BASE_URL: &str = "https://api.mch.weixin.qq.com";

/// Seconds a signed timestamp may differ from now: `|now − ts| >= 300` is rejected.
pub const REPLAY_WINDOW: i64 = 300;

/// `wechat`, as errors name the provider.
pub(crate) const PROVIDER: &str = "wechat";
