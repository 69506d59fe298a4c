//! A ready-made pair of merchant accounts for the demo and the tests: fresh
//! keys on both sides, the merchants registered with the simulator, and the
//! merchant settings (JSON, as `doorstep merchant set --file` reads them)
//! that point Doorstep at the simulator.

use crate::state::{AlipayApp, Sim, SimConfig, WechatMerchant};
use doorstep_payments::keys::{self, KeyError};
use serde_json::{Value, json};

/// Demo WeChat merchant number.
pub const WECHAT_MCHID: &str = "1900000109";
/// Demo WeChat AppID.
pub const WECHAT_APPID: &str = "wxdoorstep0000demo";
/// Demo Alipay app id.
pub const ALIPAY_APP_ID: &str = "2021000000000001";
/// Demo Alipay seller id.
pub const ALIPAY_SELLER_ID: &str = "2088000000000001";

/// A simulator configuration and the matching merchant settings.
pub struct Kit {
    /// The simulator's configuration with both merchants registered.
    pub config: SimConfig,
    /// WeChat merchant settings (JSON).
    pub wechat: Value,
    /// Alipay merchant settings (JSON).
    pub alipay: Value,
}

/// Generates the keys (four RSA-2048 keys) and registers the demo merchants
/// with a simulator that will listen at `base_url` (`http://127.0.0.1:PORT`).
pub fn kit(base_url: &str) -> Result<Kit, KeyError> {
    let base = base_url.trim_end_matches('/');
    let mut config = SimConfig::generate()?;
    let wechat_key = keys::generate()?;
    let alipay_key = keys::generate()?;
    let apiv3_key: String = {
        let raw = hex::encode(rand::random::<[u8; 16]>());
        raw[..32].to_string()
    };
    let serial_no = hex::encode_upper(rand::random::<[u8; 20]>());
    config.wechat.push(WechatMerchant {
        mchid: WECHAT_MCHID.into(),
        appid: WECHAT_APPID.into(),
        serial_no: serial_no.clone(),
        public_key: wechat_key.to_public_key(),
        apiv3_key: apiv3_key.clone(),
    });
    config.alipay.push(AlipayApp {
        app_id: ALIPAY_APP_ID.into(),
        seller_id: ALIPAY_SELLER_ID.into(),
        public_key: alipay_key.to_public_key(),
    });
    let wechat = json!({
        "provider": "wechat",
        "mchid": WECHAT_MCHID,
        "appid": WECHAT_APPID,
        "serial_no": serial_no,
        "private_key": keys::private_key_pem(&wechat_key)?,
        "apiv3_key": apiv3_key,
        "public_key_id": config.wechat_public_key_id,
        "public_key": keys::public_key_pem(&config.wechat_platform_key.to_public_key())?,
        "base_url": base,
    });
    let alipay = json!({
        "provider": "alipay",
        "app_id": ALIPAY_APP_ID,
        "seller_id": ALIPAY_SELLER_ID,
        "private_key": keys::private_key_pem(&alipay_key)?,
        "alipay_public_key": keys::public_key_base64(&config.alipay_key.to_public_key())?,
        "gateway": format!("{base}/gateway.do"),
    });
    Ok(Kit {
        config,
        wechat,
        alipay,
    })
}

/// Binds 127.0.0.1:`port` (0 = any), builds the kit for that address and
/// serves the simulator in the background. Returns the simulator (for tests
/// to pay orders), its base URL and the merchant settings.
pub async fn start(
    port: u16,
    tune: impl FnOnce(&mut SimConfig),
) -> std::io::Result<(Sim, String, Value, Value)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let b = base.clone();
    let mut k = tokio::task::spawn_blocking(move || kit(&b))
        .await
        .map_err(std::io::Error::other)?
        .map_err(std::io::Error::other)?;
    tune(&mut k.config);
    let sim = Sim::new(k.config);
    let s = sim.clone();
    tokio::spawn(async move {
        if let Err(e) = crate::serve(listener, s).await {
            tracing::error!(error = %e, "paysim stopped");
        }
    });
    Ok((sim, base, k.wechat, k.alipay))
}
