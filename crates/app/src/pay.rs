//! QR and payment-code payments through WeChat Pay and Alipay, the
//! providers' notifications, the poller that settles orders whose
//! notification never came, refunds, reconciliation and merchant settings.
//!
//! Provider calls block; they run on tokio's blocking pool. Nothing about an
//! order lives in memory: the collection row is the state, so any instance
//! can take a notification, a poll or a status request for any order.

use crate::collect::parse_amount;
use crate::{App, AppError, AppResult, estate_tz, now, require, today};
use doorstep_domain::{DomainError, Fen, Permission};
use doorstep_payments::http::{Transport, UreqTransport};
use doorstep_payments::wechat::{WechatClient, WechatConfig, WechatVerifier};
use doorstep_payments::{
    CodeOrder, NotifiedEvent, NotifyError, PayError, PayProvider, QrOrder, RefundNotified,
    RefundOrder, RefundStatus, TradeStatus, keys,
};
use doorstep_store::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// How Doorstep reaches the providers and how they reach it.
#[derive(Clone)]
pub struct PayConfig {
    /// Doorstep's public base URL: notifications go to
    /// `{public_url}/pay/notify/{provider}/{merchant}`.
    pub public_url: String,
    /// Moves provider requests (the real one: HTTPS with rustls).
    pub transport: Arc<dyn Transport>,
    /// How long to wait for a payer entering a password before reversing.
    pub code_wait: Duration,
    /// Pause between queries while waiting.
    pub code_poll: Duration,
}

impl Default for PayConfig {
    fn default() -> Self {
        PayConfig {
            public_url: "http://127.0.0.1:8080".into(),
            transport: Arc::new(UreqTransport::default()),
            code_wait: Duration::from_secs(30),
            code_poll: Duration::from_secs(3),
        }
    }
}

/// A provider client built from a merchant's stored settings.
pub(crate) struct CachedProvider {
    settings: String,
    transport: usize,
    client: Arc<dyn PayProvider>,
}

/// Provider clients by merchant id ([`App::provider_of`]).
pub(crate) type ProviderCache = std::collections::HashMap<i64, CachedProvider>;

/// A merchant account's secrets, as stored (JSON) and as `doorstep merchant
/// set --file` reads them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "snake_case")]
pub enum MerchantSettings {
    /// WeChat Pay direct merchant.
    Wechat {
        /// 商户号.
        mchid: String,
        /// AppID.
        appid: String,
        /// Merchant API certificate serial.
        serial_no: String,
        /// Merchant API private key (PEM).
        private_key: String,
        /// APIv3 key (32 characters).
        apiv3_key: String,
        /// WeChat Pay public key id (`PUB_KEY_ID_…`), public-key mode.
        #[serde(default)]
        public_key_id: Option<String>,
        /// WeChat Pay public key (PEM), public-key mode.
        #[serde(default)]
        public_key: Option<String>,
        /// Platform certificates (PEM), certificate mode.
        #[serde(default)]
        platform_certificates: Vec<String>,
        /// API host; default the production host.
        #[serde(default)]
        base_url: Option<String>,
    },
    /// Alipay app.
    Alipay {
        /// app_id.
        app_id: String,
        /// seller_id (2088…).
        seller_id: String,
        /// App private key (PEM or bare base64).
        private_key: String,
        /// Alipay public key (PEM or bare base64).
        alipay_public_key: String,
        /// Gateway; default the production gateway.
        #[serde(default)]
        gateway: Option<String>,
    },
}

impl MerchantSettings {
    /// `wechat` / `alipay`.
    pub fn provider(&self) -> &'static str {
        match self {
            MerchantSettings::Wechat { .. } => "wechat",
            MerchantSettings::Alipay { .. } => "alipay",
        }
    }

    /// (merchant id, app id).
    pub fn ids(&self) -> (&str, &str) {
        match self {
            MerchantSettings::Wechat { mchid, appid, .. } => (mchid, appid),
            MerchantSettings::Alipay {
                seller_id, app_id, ..
            } => (seller_id, app_id),
        }
    }

    /// The provider client, checking every key (an unusable key is refused
    /// when the settings are saved, not at the door).
    pub fn client(&self, transport: Arc<dyn Transport>) -> AppResult<Arc<dyn PayProvider>> {
        let bad =
            |field: &'static str, e: String| AppError::Invalid(DomainError::invalid(field, e));
        match self {
            MerchantSettings::Wechat {
                mchid,
                appid,
                serial_no,
                private_key,
                apiv3_key,
                public_key_id,
                public_key,
                platform_certificates,
                base_url,
            } => {
                let key = keys::load_private_key(private_key)
                    .map_err(|e| bad("private_key", e.to_string()))?;
                let public_key = match (public_key_id, public_key) {
                    (Some(id), Some(pem)) => Some((
                        id.clone(),
                        keys::load_public_key(pem).map_err(|e| bad("public_key", e.to_string()))?,
                    )),
                    (None, None) => None,
                    _ => {
                        return Err(bad(
                            "public_key",
                            "give both public_key_id and public_key".into(),
                        ));
                    }
                };
                let platform_certs = platform_certificates
                    .iter()
                    .map(|c| {
                        keys::load_certificate(c)
                            .map_err(|e| bad("platform_certificates", e.to_string()))
                    })
                    .collect::<AppResult<Vec<_>>>()?;
                let mut cfg = WechatConfig::new(
                    mchid,
                    appid,
                    serial_no,
                    key,
                    apiv3_key,
                    WechatVerifier {
                        public_key,
                        platform_certs,
                    },
                )
                .map_err(|e| bad("wechat", e.to_string()))?;
                if let Some(u) = base_url {
                    cfg = cfg.with_base_url(u);
                }
                Ok(Arc::new(WechatClient::new(cfg, transport)))
            }
            MerchantSettings::Alipay {
                app_id,
                seller_id,
                private_key,
                alipay_public_key,
                gateway,
            } => {
                let mut cfg = doorstep_payments::alipay::AlipayConfig::new(
                    app_id,
                    seller_id,
                    private_key,
                    alipay_public_key,
                )
                .map_err(|e| bad("alipay", e.to_string()))?;
                if let Some(g) = gateway {
                    cfg.gateway = g.clone();
                }
                Ok(Arc::new(doorstep_payments::alipay::AlipayClient::new(
                    cfg, transport,
                )))
            }
        }
    }
}

/// Warn this long before a platform certificate stops verifying
/// notifications: WeChat Pay rotates them and nothing else tells finance.
pub const CERT_WARN_SECS: i64 = 30 * 86_400;

/// The platform certificate of a merchant account that expires first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertExpiry {
    /// The certificate's serial.
    pub serial: String,
    /// Not valid after (unix seconds).
    pub not_after: i64,
    /// `not_after` as a date (UTC), for messages.
    pub date: String,
}

impl CertExpiry {
    /// Whole days left at `now` (0 on the last day).
    pub fn days_left(&self, now: i64) -> i64 {
        (self.not_after - now).max(0) / 86_400
    }
}

impl MerchantSettings {
    /// The platform certificate that expires first (certificate mode only;
    /// certificates that do not parse are refused elsewhere).
    pub fn first_cert_expiry(&self) -> Option<CertExpiry> {
        let MerchantSettings::Wechat {
            platform_certificates,
            ..
        } = self
        else {
            return None;
        };
        platform_certificates
            .iter()
            .filter_map(|pem| keys::load_certificate(pem).ok())
            .min_by_key(|c| c.not_after)
            .map(|c| CertExpiry {
                date: jiff::Timestamp::from_second(c.not_after)
                    .map(|t| t.strftime("%Y-%m-%d").to_string())
                    .unwrap_or_else(|_| c.not_after.to_string()),
                serial: c.serial,
                not_after: c.not_after,
            })
    }

    /// Refuses settings whose platform certificate has already expired:
    /// every notification signed with it would be refused as unknown.
    fn check_cert_validity(&self, now: i64) -> AppResult<()> {
        match self.first_cert_expiry() {
            Some(c) if c.not_after < now => Err(DomainError::invalid(
                "platform_certificates",
                format!(
                    "platform certificate {} expired on {}; download the current one \
                     from WeChat Pay (or use the WeChat Pay public key) and try again",
                    c.serial, c.date
                ),
            )
            .into()),
            _ => Ok(()),
        }
    }
}

/// The expiry to warn about for a stored merchant account at `now`: its first
/// platform certificate, when that ends within [`CERT_WARN_SECS`] (or ended).
pub fn cert_warning(m: &Merchant, now: i64) -> Option<CertExpiry> {
    let s: MerchantSettings = serde_json::from_str(&m.settings).ok()?;
    s.first_cert_expiry()
        .filter(|c| c.not_after - now < CERT_WARN_SECS)
}

/// A QR or payment-code order asked for at a visit.
#[derive(Debug, Clone, Default)]
pub struct OrderRequest {
    /// `wechat` or `alipay`.
    pub provider: String,
    /// The exact amount (yuan, e.g. `350.00`).
    pub amount: String,
    /// Client-made key: asking again returns the same order.
    pub client_key: Option<String>,
    /// Also pay the lines not yet due: a prepayment the owner chose (only
    /// where the estate takes prepayments, otherwise refused naming
    /// `prepay`). By default the order holds and pays only what is due now.
    pub prepay: bool,
}

/// A provider order as the collector's screen shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentView {
    /// The collection.
    #[serde(flatten)]
    pub collection: Collection,
    /// `wechat` / `alipay`.
    pub provider: String,
    /// Seconds left to pay (QR), 0 when expired or finished.
    pub seconds_left: i64,
    /// The QR code as SVG (open QR orders).
    pub qr_svg: Option<String>,
    /// In words, for the screen.
    pub state_zh: &'static str,
    /// The e-receipt, once paid.
    pub receipt: Option<crate::collect::ReceiptLink>,
}

/// Refused notifications stored per (provider, merchant, verdict) a minute.
pub const JUNK_ROWS_PER_MINUTE: u32 = 5;

/// How many days back the daily reconciliation keeps retrying a day that
/// failed (WeChat Pay keeps bills for three months).
pub const RECONCILE_RETRY_DAYS: i64 = 31;

/// Why a bill could not be fetched, as stored with the failed try: see
/// [`ReconcileAttempt::reason`].
pub fn reconcile_failure_reason(e: &PayError) -> &'static str {
    match e {
        PayError::Network(_) => "unreachable",
        // WeChat Pay: the bill is being made (before about 10:00 the next day).
        PayError::Refused { code, .. } if code == "STATEMENT_CREATING" => "not_ready",
        PayError::Refused { code, .. }
            if matches!(
                code.as_str(),
                "SIGN_ERROR" | "NO_AUTH" | "MCH_NOT_EXISTS" | "HTTP_401"
            ) || code.contains("signature")
                || code.contains("invalid-app-id")
                || code.contains("permission") =>
        {
            "credentials"
        }
        PayError::Refused { .. } => "refused",
        PayError::BadResponseSignature(_) => "verify",
        PayError::Malformed { .. } => "malformed",
        PayError::Key(_) => "settings",
        PayError::Invalid { .. } => "other",
    }
}

/// Seconds until the next try after the `attempts`-th failed one: a bill
/// not made yet every 30 minutes; otherwise 1, 2, 4 … minutes, at most an
/// hour.
pub fn reconcile_retry_after(reason: &str, attempts: i64) -> i64 {
    if reason == "not_ready" {
        return 30 * 60;
    }
    let doublings = attempts.clamp(1, 7) - 1;
    (60_i64 << doublings).min(3600)
}

/// A failed try's reason in words, for the console.
pub fn reconcile_reason_text(l: doorstep_domain::Lang, reason: &str) -> &'static str {
    match reason {
        "not_ready" => l.pick(
            "渠道尚未生成该日账单，稍后自动再试（不是错误）",
            "the provider has not made that day's bill yet; tried again later (not an error)",
        ),
        "unreachable" => l.pick(
            "无法连接支付渠道（网络或渠道故障）",
            "the provider could not be reached (network or provider outage)",
        ),
        "credentials" => l.pick(
            "渠道拒绝了商户证书或 API 密钥（签名错误）：请核对商户号、证书序列号和私钥",
            "the provider rejected the merchant certificate or API key (signature error): check the merchant id, certificate serial and private key",
        ),
        "verify" => l.pick(
            "渠道应答验签失败：平台证书或渠道公钥不对或已过期",
            "the provider's reply did not verify: the platform certificate or the provider's public key is wrong or expired",
        ),
        "settings" => l.pick(
            "收款账户设置无法使用（密钥或证书无法读取），请重新设置",
            "the merchant settings cannot be used (a key or certificate does not load); set the account again",
        ),
        "refused" => l.pick("渠道拒绝了账单请求", "the provider refused the bill request"),
        "malformed" => l.pick(
            "渠道账单无法识别或校验失败",
            "the provider's bill could not be read or failed its checksum",
        ),
        _ => l.pick("其他错误", "another error"),
    }
}

/// Runs a blocking provider call off the async executor.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AppError::Storage(format!("provider call failed: {e}")))
}

fn pay_err(e: PayError) -> AppError {
    match e {
        PayError::Invalid { field, message } => {
            AppError::Invalid(DomainError::invalid(field, message))
        }
        other => AppError::Conflict(format!("payment provider: {other}")),
    }
}

/// `DS` + local time + 8 random digits: 24 characters, unique per merchant.
fn new_trade_no(estate: &Estate) -> String {
    let t = jiff::Timestamp::now().to_zoned(estate_tz(estate));
    format!(
        "DS{}{:08}",
        t.strftime("%Y%m%d%H%M%S"),
        rand::Rng::gen_range(&mut rand::rngs::OsRng, 0..100_000_000u32)
    )
}

/// The QR code for `text` as an SVG (quiet zone included, black on white).
pub fn qr_svg(text: &str) -> Option<String> {
    let code =
        qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build(),
    )
}

impl App {
    /// The provider client of a merchant account.
    pub fn provider_of(&self, m: &Merchant) -> AppResult<Arc<dyn PayProvider>> {
        let transport = Arc::as_ptr(&self.pay.transport) as *const () as usize;
        if let Ok(cache) = self.providers.lock()
            && let Some(c) = cache.get(&m.id)
            && c.transport == transport
            && c.settings == m.settings
        {
            return Ok(c.client.clone());
        }
        let s: MerchantSettings = serde_json::from_str(&m.settings)
            .map_err(|e| AppError::Storage(format!("merchant {} settings: {e}", m.id)))?;
        let client = s.client(self.pay.transport.clone())?;
        if let Ok(mut cache) = self.providers.lock() {
            cache.insert(
                m.id,
                CachedProvider {
                    settings: m.settings.clone(),
                    transport,
                    client: client.clone(),
                },
            );
        }
        Ok(client)
    }

    fn notify_url(&self, m: &Merchant) -> String {
        format!(
            "{}/pay/notify/{}/{}",
            self.pay.public_url.trim_end_matches('/'),
            m.provider,
            m.id
        )
    }

    /// Stores a merchant account for a company (estate_scope 0) or one
    /// estate, after checking its keys load.
    pub async fn set_merchant(
        &self,
        company_id: i64,
        estate_scope: i64,
        settings: &MerchantSettings,
    ) -> AppResult<Merchant> {
        settings.client(self.pay.transport.clone())?;
        settings.check_cert_validity(now())?;
        let (merchant_id, app_id) = settings.ids();
        Ok(self
            .store
            .set_merchant(&NewMerchant {
                company_id,
                estate_scope,
                provider: settings.provider().into(),
                merchant_id: merchant_id.into(),
                app_id: app_id.into(),
                settings: serde_json::to_string(settings)
                    .map_err(|e| AppError::Storage(e.to_string()))?,
                at: now(),
            })
            .await?)
    }

    async fn merchant_of(
        &self,
        estate: &Estate,
        provider: &str,
    ) -> AppResult<(Merchant, Arc<dyn PayProvider>)> {
        if provider != "wechat" && provider != "alipay" {
            return Err(DomainError::invalid("provider", "must be wechat or alipay").into());
        }
        let m = self
            .store
            .merchant_for(estate.company_id, estate.id, provider)
            .await?
            .ok_or_else(|| {
                AppError::Conflict(format!(
                    "no {provider} merchant account is set up for this estate; finance sets it under 收款账户"
                ))
            })?;
        let p = self.provider_of(&m)?;
        Ok((m, p))
    }

    fn description(estate: &Estate, b: &Booking) -> String {
        format!("{}物业费等-上门收费{}", estate.name, b.id)
            .chars()
            .take(60)
            .collect()
    }

    async fn open_for_visit(
        &self,
        user: &User,
        booking_id: i64,
        method: &str,
        req: &OrderRequest,
    ) -> AppResult<(Estate, Booking, Merchant, Arc<dyn PayProvider>, Collection)> {
        require(user, Permission::RecordPayment)?;
        let (estate, b) = self.visit_for(user, booking_id).await?;
        let amount = parse_amount("amount", &req.amount)?;
        let (m, p) = self.merchant_of(&estate, &req.provider).await?;
        let on = today(&estate);
        // The same lines as cash: what is due now, plus the lines not yet
        // due when the owner chose to prepay (refused, naming `prepay`,
        // where the estate takes no prepayments).
        let mut line_ids = self.cash_lines(&estate, &b, on, req.prepay).await?;
        // `cash_lines` names line 0 when there is nothing to pay.
        line_ids.retain(|id| *id != 0);
        if line_ids.is_empty() {
            return Err(AppError::Conflict("nothing is owed at this visit".into()));
        }
        let settings = self.store.collect_settings(estate.id).await?;
        let at = now();
        let c = self
            .store
            .open_collection(&NewCollection {
                estate_id: estate.id,
                booking_id: Some(b.id),
                collector_id: user.id,
                method: method.into(),
                merchant_ref: m.id,
                out_trade_no: new_trade_no(&estate),
                amount,
                line_ids,
                on,
                expires_at: at + settings.qr_expiry_seconds,
                client_key: req.client_key.clone(),
                at,
            })
            .await?;
        Ok((estate, b, m, p, c))
    }

    /// A dynamic QR code for exactly `amount` paying what is due now: see
    /// [`App::create_qr_order`] (no prepayment).
    pub async fn create_qr_payment(
        &self,
        user: &User,
        booking_id: i64,
        provider: &str,
        amount: &str,
        client_key: Option<String>,
    ) -> AppResult<PaymentView> {
        let req = OrderRequest {
            provider: provider.into(),
            amount: amount.into(),
            client_key,
            prepay: false,
        };
        self.create_qr_order(user, booking_id, &req).await
    }

    /// A dynamic QR code for exactly `amount` (WeChat Native / Alipay
    /// precreate): one order per collection, expiring after the estate's
    /// QR expiry (default 5 minutes). It holds and pays the lines due now,
    /// and the lines not yet due when `req.prepay`.
    pub async fn create_qr_order(
        &self,
        user: &User,
        booking_id: i64,
        req: &OrderRequest,
    ) -> AppResult<PaymentView> {
        let method = format!("{}_qr", req.provider);
        let (estate, b, m, p, c) = self.open_for_visit(user, booking_id, &method, req).await?;
        if c.code.is_some() || c.status != "open" {
            // The same client key again: the order exists already.
            return self.payment_view(&c).await;
        }
        let order = QrOrder {
            out_trade_no: c.out_trade_no.clone(),
            description: Self::description(&estate, &b),
            amount_fen: c.amount.0,
            expires_at: c.expires_at,
            notify_url: self.notify_url(&m),
            attach: Some(format!("c{}", c.id)),
        };
        let created = blocking(move || p.create_qr(&order)).await?;
        match created {
            Ok(q) => {
                self.store.set_collection_code(c.id, &q.code, now()).await?;
                self.payment_view(&self.store.collection(c.id).await?).await
            }
            Err(e) => {
                // Not created: nothing to close at the provider; free the lines.
                self.store
                    .close_collection(c.id, "failed", &e.to_string(), now())
                    .await?;
                Err(pay_err(e))
            }
        }
    }

    /// Charges the owner's payment code (付款码) scanned by the collector,
    /// for the lines due now and, when `req.prepay`, those not yet due.
    /// If the payer must enter a password, waits (polling the order) up to
    /// the configured time, then reverses the order.
    pub async fn create_code_payment(
        &self,
        user: &User,
        booking_id: i64,
        req: &OrderRequest,
        auth_code: &str,
    ) -> AppResult<PaymentView> {
        let provider = req.provider.as_str();
        let code = auth_code.trim();
        if provider != "wechat" && provider != "alipay" {
            return Err(DomainError::invalid("provider", "must be wechat or alipay").into());
        }
        let ok = doorstep_payments::auth_code_provider(code).map(|p| p.code()) == Some(provider);
        if !ok {
            return Err(DomainError::invalid(
                "auth_code",
                "not a payment code of this provider (WeChat: 18 digits starting 10–15; Alipay: 16–24 digits starting 25–30)",
            )
            .into());
        }
        let method = format!("{provider}_code");
        let (estate, b, m, p, c) = self.open_for_visit(user, booking_id, &method, req).await?;
        if c.status != "open" || c.created_at < now() - 5 {
            return self.payment_view(&c).await;
        }
        let order = CodeOrder {
            out_trade_no: c.out_trade_no.clone(),
            description: Self::description(&estate, &b),
            amount_fen: c.amount.0,
            auth_code: code.to_string(),
            device_id: format!("collector-{}", user.id),
            store_id: estate.code.clone(),
            notify_url: Some(self.notify_url(&m)),
        };
        let p2 = p.clone();
        let first = blocking(move || p2.pay_with_code(&order)).await?;
        let mut status = match first {
            Ok(s) => s,
            // Unknown outcome (network): find out before anything else.
            Err(PayError::Network(_)) => self.query_status(&p, &c.out_trade_no).await?,
            Err(e) => {
                self.store
                    .close_collection(c.id, "failed", &e.to_string(), now())
                    .await?;
                return Err(pay_err(e));
            }
        };
        let deadline = std::time::Instant::now() + self.pay.code_wait;
        while matches!(status, TradeStatus::UserPaying | TradeStatus::NotPaid)
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(self.pay.code_poll).await;
            status = self.query_status(&p, &c.out_trade_no).await?;
        }
        self.settle(&c, &p, status, true).await?;
        self.payment_view(&self.store.collection(c.id).await?).await
    }

    async fn query_status(&self, p: &Arc<dyn PayProvider>, no: &str) -> AppResult<TradeStatus> {
        let p = p.clone();
        let no = no.to_string();
        blocking(move || p.query(&no)).await?.map_err(pay_err)
    }

    /// Acts on what the provider says about an open collection: paid →
    /// record it; closed/failed → close it here; still waiting and past its
    /// time (or `give_up`) → close (QR) or reverse (code) at the provider.
    async fn settle(
        &self,
        c: &Collection,
        p: &Arc<dyn PayProvider>,
        status: TradeStatus,
        give_up: bool,
    ) -> AppResult<bool> {
        let estate = self.store.estate_by_id(c.estate_id).await?;
        match status {
            TradeStatus::Paid {
                transaction_id,
                amount_fen,
                paid_at,
            } => {
                let at = paid_at.unwrap_or_else(now);
                let paid_on = jiff::Timestamp::from_second(at)
                    .map(|t| t.to_zoned(estate_tz(&estate)).date())
                    .unwrap_or_else(|_| today(&estate));
                let done = self
                    .store
                    .complete_collection(&CompleteCollection {
                        out_trade_no: c.out_trade_no.clone(),
                        transaction_id,
                        amount: Fen(amount_fen),
                        paid_on,
                        at,
                    })
                    .await?;
                // Its receipt is numbered and signed by the sequencer's next
                // batch (or when its link is first opened).
                return Ok(!done.payment.replayed);
            }
            TradeStatus::Closed | TradeStatus::Refunded => {
                self.store
                    .close_collection(c.id, "closed", "closed at the provider", now())
                    .await?;
            }
            TradeStatus::Failed { reason } => {
                self.store
                    .close_collection(c.id, "failed", &reason, now())
                    .await?;
            }
            TradeStatus::NotPaid | TradeStatus::UserPaying => {
                if give_up || now() > c.expires_at {
                    self.close_at_provider(c, p).await?;
                }
            }
        }
        Ok(false)
    }

    /// Closes (QR) or reverses (code) an unpaid order at the provider, then
    /// here. If the provider says it was paid after all, records the payment.
    async fn close_at_provider(&self, c: &Collection, p: &Arc<dyn PayProvider>) -> AppResult<()> {
        let p2 = p.clone();
        let no = c.out_trade_no.clone();
        let is_code = c.method.ends_with("_code");
        let r = blocking(move || {
            if is_code {
                p2.reverse(&no)
            } else {
                p2.close(&no)
            }
        })
        .await?;
        match r {
            Ok(()) => {
                // A reversal of a paid order refunds it: check what happened.
                let after = self.query_status(p, &c.out_trade_no).await.ok();
                if let Some(TradeStatus::Paid { .. }) = after {
                    return Box::pin(self.settle(
                        c,
                        p,
                        after.unwrap_or(TradeStatus::NotPaid),
                        false,
                    ))
                    .await
                    .map(|_| ());
                }
                self.store
                    .close_collection(c.id, "closed", "expired or cancelled", now())
                    .await?;
                Ok(())
            }
            Err(e) => {
                // ORDERPAID / TRADE_STATUS_ERROR: it was paid meanwhile.
                let s = self.query_status(p, &c.out_trade_no).await?;
                if let TradeStatus::Paid { .. } = s {
                    Box::pin(self.settle(c, p, s, false)).await.map(|_| ())
                } else {
                    Err(pay_err(e))
                }
            }
        }
    }

    /// The order's state for the collector's screen. An open order is
    /// checked with the provider (the fallback when no notification comes).
    pub async fn get_payment(&self, user: &User, collection_id: i64) -> AppResult<PaymentView> {
        let c = self.collection_for(user, collection_id).await?;
        if c.status == "open"
            && (c.method.ends_with("_code") || now() > c.expires_at || c.code.is_some())
        {
            let m = self.store.merchant(c.merchant_ref).await?;
            let p = self.provider_of(&m)?;
            if let Ok(s) = self.query_status(&p, &c.out_trade_no).await {
                // A failure here is not the collector's: the poller retries.
                let _ = self.settle(&c, &p, s, false).await;
            }
            return self.payment_view(&self.store.collection(c.id).await?).await;
        }
        self.payment_view(&c).await
    }

    /// The order's state as stored (no provider call): what the screen
    /// polls or is pushed.
    pub async fn payment_state(&self, user: &User, collection_id: i64) -> AppResult<PaymentView> {
        let c = self.collection_for(user, collection_id).await?;
        self.payment_view(&c).await
    }

    async fn collection_for(&self, user: &User, id: i64) -> AppResult<Collection> {
        let c = self
            .store
            .collection(id)
            .await
            .map_err(|_| AppError::NotFound(format!("payment order {id}")))?;
        let estate = self.store.estate_by_id(c.estate_id).await?;
        let mine = c.collector_id == user.id;
        if !user.can_access(&estate) || (!mine && !user.role.allows(Permission::Treasury)) {
            return Err(AppError::NotFound(format!("payment order {id}")));
        }
        Ok(c)
    }

    /// The collector cancels an unpaid QR order: closed at the provider,
    /// then here (if it was paid meanwhile, the payment is recorded).
    pub async fn cancel_payment(&self, user: &User, collection_id: i64) -> AppResult<PaymentView> {
        let c = self.collection_for(user, collection_id).await?;
        if c.status == "open" {
            let m = self.store.merchant(c.merchant_ref).await?;
            let p = self.provider_of(&m)?;
            self.close_at_provider(&c, &p).await?;
        }
        self.payment_view(&self.store.collection(c.id).await?).await
    }

    /// The view of a collection.
    pub async fn payment_view(&self, c: &Collection) -> AppResult<PaymentView> {
        let receipt = match c.payment_id {
            Some(p) if c.status == "paid" => self.receipt_link(p).await,
            _ => None,
        };
        let left = if c.status == "open" {
            (c.expires_at - now()).max(0)
        } else {
            0
        };
        Ok(PaymentView {
            provider: c.provider().to_string(),
            seconds_left: left,
            qr_svg: match (&c.code, c.status.as_str()) {
                (Some(code), "open") => qr_svg(code),
                _ => None,
            },
            state_zh: match c.status.as_str() {
                "open" if c.method.ends_with("_code") => "等待业主确认支付",
                "open" => "等待扫码支付",
                "paid" => "已支付",
                "closed" => "已关闭",
                _ => "支付失败",
            },
            receipt,
            collection: c.clone(),
        })
    }

    /// A provider's notification for merchant account `merchant_ref`:
    /// verified, decrypted, matched to our order (amount, merchant, app) and
    /// recorded once. Returns what to answer (status, content type, body).
    /// Forged, stale, replayed-too-late, mismatched or probe notifications
    /// record nothing and get a failure answer.
    pub async fn handle_notification(
        &self,
        provider: &str,
        merchant_ref: i64,
        headers: &[(String, String)],
        body: &[u8],
    ) -> (u16, &'static str, Vec<u8>) {
        let fail = (
            500u16,
            "application/json",
            br#"{"code":"FAIL","message":"failed"}"#.to_vec(),
        );
        let at = now();
        let m = match self.store.merchant(merchant_ref).await {
            Ok(m) if m.provider == provider => m,
            _ => {
                // One key for every unknown id: probing many ids must not
                // buy many rows.
                let detail = format!("merchant {merchant_ref}");
                self.record_refusal(provider, "unknown", "unknown_merchant", &detail, at)
                    .await;
                return (
                    404,
                    "application/json",
                    br#"{"code":"FAIL","message":"unknown merchant"}"#.to_vec(),
                );
            }
        };
        let p = match self.provider_of(&m) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(merchant = m.id, "merchant settings unusable: {e}");
                return fail;
            }
        };
        let n = match p.parse_notification(headers, body, at) {
            Ok(n) => n,
            Err(e) => {
                let verdict = match e {
                    NotifyError::SignTest => "sign_test",
                    NotifyError::Replay => "replay",
                    NotifyError::UnknownSerial(_) => "unknown_serial",
                    NotifyError::BadSignature => "bad_signature",
                    NotifyError::Malformed(_) => "malformed",
                    NotifyError::Decrypt => "decrypt_failed",
                    NotifyError::WrongMerchant => "wrong_merchant",
                };
                let merchant = m.id.to_string();
                self.record_refusal(provider, &merchant, verdict, &e.to_string(), at)
                    .await;
                let (s, c, b) = p.notification_answer(false);
                return (if s < 400 { 400 } else { s }, c, b);
            }
        };
        let verdict = self.apply_notification(&m, &p, &n).await;
        let (ok, label, detail) = match verdict {
            Ok((label, detail)) => (true, label, detail),
            Err(e) => (false, "rejected", e.to_string()),
        };
        let _ = self
            .store
            .record_provider_event(
                provider,
                &n.notify_id,
                Some(&n.out_trade_no),
                label,
                &detail,
                at,
            )
            .await;
        p.notification_answer(ok)
    }

    /// Stores a refused, unauthenticated notification, but only the first
    /// [`JUNK_ROWS_PER_MINUTE`] per (provider, merchant, verdict) each
    /// minute: anyone can post junk, so beyond that it is only counted in
    /// the rate window (the database keeps the count, not this server).
    async fn record_refusal(
        &self,
        provider: &str,
        merchant: &str,
        verdict: &str,
        detail: &str,
        at: i64,
    ) {
        let key = format!("notify-junk:{provider}:{merchant}:{verdict}");
        let hits = match self.store.rate_hit(&key, at, 60).await {
            Ok(w) => w.hits,
            Err(e) => {
                tracing::warn!(
                    provider,
                    merchant,
                    verdict,
                    "counting refused notifications: {e}"
                );
                return;
            }
        };
        if hits > JUNK_ROWS_PER_MINUTE {
            if hits == JUNK_ROWS_PER_MINUTE + 1 {
                tracing::warn!(
                    provider,
                    merchant,
                    verdict,
                    "more refused notifications this minute; counting, not storing them"
                );
            }
            return;
        }
        tracing::warn!(
            provider,
            merchant,
            verdict,
            "notification refused: {detail}"
        );
        let _ = self
            .store
            .record_provider_event(provider, "", None, verdict, detail, at)
            .await;
    }

    async fn apply_notification(
        &self,
        m: &Merchant,
        p: &Arc<dyn PayProvider>,
        n: &doorstep_payments::Notified,
    ) -> AppResult<(&'static str, String)> {
        let c = self
            .store
            .collection_by_trade_no(&n.out_trade_no)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("order {}", n.out_trade_no)))?;
        if c.merchant_ref != m.id || n.merchant_id != m.merchant_id || n.app_id != m.app_id {
            return Err(AppError::Conflict(
                "the notification is for another merchant or app".into(),
            ));
        }
        if n.amount_fen != c.amount.0 {
            return Err(AppError::Conflict(format!(
                "amount mismatch: order {} is {}, notification says {}",
                c.out_trade_no,
                c.amount,
                Fen(n.amount_fen)
            )));
        }
        match &n.event {
            NotifiedEvent::Trade(TradeStatus::Paid { transaction_id, .. })
                if c.payment_id.is_some()
                    && c.transaction_id.as_deref() == Some(transaction_id.as_str()) =>
            {
                // A copy of a notification already recorded (providers send
                // each several times): nothing to write, nothing to lock.
                Ok(("duplicate", String::new()))
            }
            NotifiedEvent::Trade(status @ TradeStatus::Paid { .. }) => {
                // Whether this call recorded the payment (a copy arriving
                // while the first is being saved finds it done).
                let recorded = self.settle(&c, p, status.clone(), false).await?;
                let label = if !recorded { "duplicate" } else { "paid" };
                Ok((label, String::new()))
            }
            NotifiedEvent::Trade(_) => Ok(("ignored", String::new())),
            NotifiedEvent::Refund(r) => self.apply_refund_notice(&c, r).await,
        }
    }

    /// A refund notification moves only the refund it names, and only one
    /// we asked for and are still waiting on; anything else is logged and
    /// acknowledged (a retry would say the same thing again).
    async fn apply_refund_notice(
        &self,
        c: &Collection,
        r: &RefundNotified,
    ) -> AppResult<(&'static str, String)> {
        let detail = format!(
            "refund {} {:?} {}",
            r.out_refund_no,
            r.status,
            Fen(r.refund_fen)
        );
        let ours = self
            .store
            .reversals(c.estate_id)
            .await?
            .into_iter()
            .find(|v| {
                v.out_refund_no.as_deref() == Some(r.out_refund_no.as_str())
                    && Some(v.payment_id) == c.payment_id
            });
        let Some(rev) = ours.filter(|v| v.status == "approved") else {
            return Ok(("refund_noted", detail));
        };
        let refunded = match r.status {
            RefundStatus::Processing => return Ok(("refund_noted", detail)),
            RefundStatus::Success => true,
            RefundStatus::Failed => false,
        };
        let paid = self
            .store
            .payment_fact(rev.payment_id)
            .await?
            .map(|f| f.amount.0);
        if refunded && paid != Some(r.refund_fen) {
            return Ok(("refund_mismatch", detail));
        }
        let note = if refunded {
            "refunded (provider notification)"
        } else {
            "the provider reports the refund closed or abnormal"
        };
        match self
            .store
            .finish_refund(rev.id, refunded, note, now())
            .await
        {
            // Finished meanwhile by the refund call itself.
            Err(StoreError::Conflict(_)) => Ok(("refund_noted", detail)),
            Err(e) => Err(e.into()),
            Ok(_) if refunded => Ok(("refund_done", detail)),
            Ok(_) => Ok(("refund_failed", detail)),
        }
    }

    /// One pass of the order poller: every open order is queried; paid ones
    /// are recorded, finished ones closed, expired ones closed at the
    /// provider. Runs under a job lease so that one instance polls at a time.
    pub async fn poll_open_orders(&self, holder: &str) -> AppResult<usize> {
        if !self
            .store
            .claim_job("order-poller", holder, now(), 60)
            .await?
        {
            return Ok(0);
        }
        let mut n = 0;
        for c in self.store.open_collections(200).await? {
            let Ok(m) = self.store.merchant(c.merchant_ref).await else {
                continue;
            };
            let Ok(p) = self.provider_of(&m) else {
                continue;
            };
            // Payment-code orders are driven by their own request for a while.
            if c.method.ends_with("_code")
                && now() < c.created_at + self.pay.code_wait.as_secs() as i64 + 10
            {
                continue;
            }
            match self.query_status(&p, &c.out_trade_no).await {
                Ok(s) => {
                    let give_up = c.method.ends_with("_code");
                    if let Err(e) = self.settle(&c, &p, s, give_up).await {
                        tracing::warn!(order = %c.out_trade_no, "poller: {e}");
                    }
                    n += 1;
                }
                Err(e) => tracing::warn!(order = %c.out_trade_no, "poller query: {e}"),
            }
        }
        Ok(n)
    }

    /// A refund, once approved: sent to the provider (idempotent by the
    /// refund number), then the reversing entry.
    pub async fn carry_out_refund(&self, reversal_id: i64) -> AppResult<Reversal> {
        let r = self.store.reversal(reversal_id).await?;
        let (Some(no), "approved") = (r.out_refund_no.clone(), r.status.as_str()) else {
            return Ok(r);
        };
        let pay = self
            .store
            .payment_fact(r.payment_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("payment {}", r.payment_id)))?;
        let coll = self
            .store
            .payment_collection(r.payment_id)
            .await?
            .ok_or_else(|| {
                AppError::Conflict(format!(
                    "payment {} was not made through a provider order",
                    r.payment_id
                ))
            })?;
        let m = self.store.merchant(coll.merchant_ref).await?;
        let p = self.provider_of(&m)?;
        let order = RefundOrder {
            out_trade_no: coll.out_trade_no.clone(),
            out_refund_no: no,
            refund_fen: pay.amount.0,
            total_fen: coll.amount.0,
            reason: r.reason.chars().take(80).collect(),
            // The provider tells us how a refund still processing ends.
            notify_url: Some(self.notify_url(&m)),
        };
        let res = blocking(move || p.refund(&order)).await?;
        let (ok, detail) = match res {
            Ok(RefundStatus::Success) => (true, "refunded".to_string()),
            // The provider's refund notification finishes it.
            Ok(RefundStatus::Processing) => return Ok(self.store.reversal(r.id).await?),
            Ok(RefundStatus::Failed) => (false, "the provider refused the refund".to_string()),
            Err(e) => (false, e.to_string()),
        };
        match self.store.finish_refund(r.id, ok, &detail, now()).await {
            Ok(done) => Ok(done),
            // The refund notification came first and finished it.
            Err(StoreError::Conflict(_)) => Ok(self.store.reversal(r.id).await?),
            Err(e) => Err(e.into()),
        }
    }

    /// An estate's merchant accounts with their reconciliation runs, newest first.
    pub async fn reconciliations(
        &self,
        user: &User,
        code: &str,
    ) -> AppResult<Vec<(Merchant, Vec<Reconciliation>)>> {
        let estate = self.estate_for(user, code, Permission::Treasury).await?;
        let mut out = Vec::new();
        for provider in ["wechat", "alipay"] {
            if let Some(m) = self
                .store
                .merchant_for(estate.company_id, estate.id, provider)
                .await?
            {
                let runs = self.store.reconciliations(m.id).await?;
                out.push((m, runs));
            }
        }
        Ok(out)
    }

    /// Finance compares a day's QR takings of one provider with its bill
    /// file: each difference (missing, extra, amount differs) is listed.
    pub async fn reconcile(
        &self,
        user: &User,
        code: &str,
        provider: &str,
        date: doorstep_domain::Date,
    ) -> AppResult<Reconciliation> {
        let estate = self.estate_for(user, code, Permission::Treasury).await?;
        let (m, p) = self.merchant_of(&estate, provider).await?;
        self.reconcile_merchant(&m, &p, date, Some(user.id)).await
    }

    /// Compares one merchant account's QR takings on `date` (China time, as
    /// the providers' bills are) with the provider's bill file.
    pub async fn reconcile_merchant(
        &self,
        m: &Merchant,
        p: &Arc<dyn PayProvider>,
        date: doorstep_domain::Date,
        run_by: Option<i64>,
    ) -> AppResult<Reconciliation> {
        let day = date.to_string();
        let bill = match self.fetch_bill(p, &day).await? {
            Ok(b) => b,
            Err(e) if reconcile_failure_reason(&e) == "not_ready" => {
                return Err(AppError::Conflict(format!(
                    "the provider has not made the bill for {day} yet \
                     (bills are ready after 10:00 China time the next day); try again later"
                )));
            }
            Err(e) => return Err(pay_err(e)),
        };
        self.record_run(m, date, bill, run_by).await
    }

    /// A day's bill file; a day without transactions is an empty bill.
    async fn fetch_bill(
        &self,
        p: &Arc<dyn PayProvider>,
        day: &str,
    ) -> AppResult<Result<Vec<doorstep_payments::BillRecord>, PayError>> {
        let bill = blocking({
            let p = p.clone();
            let day = day.to_string();
            move || p.daily_bill(&day)
        })
        .await?;
        Ok(match bill {
            // WeChat's word for a day without transactions.
            Err(PayError::Refused { code, .. }) if code == "NO_STATEMENT_EXIST" => Ok(Vec::new()),
            other => other,
        })
    }

    /// Compares the takings with `bill` and stores the run.
    async fn record_run(
        &self,
        m: &Merchant,
        date: doorstep_domain::Date,
        bill: Vec<doorstep_payments::BillRecord>,
        run_by: Option<i64>,
    ) -> AppResult<Reconciliation> {
        let day = date.to_string();
        let tz = jiff::tz::TimeZone::get("Asia/Shanghai")
            .unwrap_or_else(|_| jiff::tz::TimeZone::fixed(jiff::tz::offset(8)));
        let from = date
            .to_zoned(tz.clone())
            .map_err(|e| AppError::Storage(e.to_string()))?
            .timestamp()
            .as_second();
        let to = date
            .tomorrow()
            .map_err(|e| AppError::Storage(e.to_string()))?
            .to_zoned(tz)
            .map_err(|e| AppError::Storage(e.to_string()))?
            .timestamp()
            .as_second();
        let ours = self.store.paid_collections(m.id, from, to).await?;
        let theirs: Vec<&doorstep_payments::BillRecord> = bill
            .iter()
            .filter(|r| r.kind == doorstep_payments::BillKind::Payment)
            .collect();
        let mut items = Vec::new();
        let mut matched = 0;
        let mut matched_fen = Fen::ZERO;
        for c in &ours {
            match theirs.iter().find(|t| t.out_trade_no == c.out_trade_no) {
                None => items.push(ReconciliationItem {
                    kind: "missing".into(),
                    out_trade_no: c.out_trade_no.clone(),
                    transaction_id: c.transaction_id.clone().unwrap_or_default(),
                    ours: Some(c.amount),
                    theirs: None,
                }),
                Some(t) if t.amount_fen != c.amount.0 => items.push(ReconciliationItem {
                    kind: "amount_differs".into(),
                    out_trade_no: c.out_trade_no.clone(),
                    transaction_id: t.transaction_id.clone(),
                    ours: Some(c.amount),
                    theirs: Some(Fen(t.amount_fen)),
                }),
                Some(_) => {
                    matched += 1;
                    matched_fen += c.amount;
                }
            }
        }
        for t in &theirs {
            if !ours.iter().any(|c| c.out_trade_no == t.out_trade_no) {
                items.push(ReconciliationItem {
                    kind: "extra".into(),
                    out_trade_no: t.out_trade_no.clone(),
                    transaction_id: t.transaction_id.clone(),
                    ours: None,
                    theirs: Some(Fen(t.amount_fen)),
                });
            }
        }
        let mut r = Reconciliation {
            id: 0,
            merchant_ref: m.id,
            bill_date: day,
            matched,
            matched_fen,
            items,
            run_by,
            run_at: now(),
        };
        r.id = self.store.record_reconciliation(&r).await?;
        Ok(r)
    }

    /// The daily reconciliation job: after 10:00 China time (when the
    /// providers' bills for yesterday are ready), reconciles yesterday for
    /// every merchant account not yet reconciled for that day, and retries
    /// earlier days that failed. One instance at a time (a job lease).
    pub async fn reconcile_yesterday(&self, holder: &str) -> AppResult<usize> {
        self.reconcile_due(holder, now()).await
    }

    /// The daily reconciliation job as of `at` (unix seconds). A day that
    /// fails is recorded with the reason and retried with backoff
    /// ([`reconcile_retry_after`]: 1, 2, 4 … minutes up to an hour; a bill
    /// the provider has not made yet every 30 minutes), for up to
    /// [`RECONCILE_RETRY_DAYS`] days. Returns the runs recorded.
    pub async fn reconcile_due(&self, holder: &str, at: i64) -> AppResult<usize> {
        let tz = jiff::tz::TimeZone::get("Asia/Shanghai")
            .unwrap_or_else(|_| jiff::tz::TimeZone::fixed(jiff::tz::offset(8)));
        let local = jiff::Timestamp::from_second(at)
            .map_err(|e| AppError::Storage(e.to_string()))?
            .to_zoned(tz);
        if local.hour() < 10 {
            return Ok(0);
        }
        let Ok(yesterday) = local.date().yesterday() else {
            return Ok(0);
        };
        let oldest = yesterday
            .checked_sub(jiff::Span::new().days(RECONCILE_RETRY_DAYS))
            .unwrap_or(yesterday);
        if !self.store.claim_job("reconcile", holder, at, 600).await? {
            return Ok(0);
        }
        let mut done = 0;
        for m in self.store.all_merchants().await? {
            let reconciled: std::collections::HashSet<String> = self
                .store
                .reconciliations(m.id)
                .await?
                .into_iter()
                .map(|r| r.bill_date)
                .collect();
            let open = self.store.reconcile_attempts(m.id).await?;
            let mut days = vec![yesterday];
            for a in &open {
                if let Ok(d) = a.bill_date.parse::<doorstep_domain::Date>()
                    && d >= oldest
                    && d < yesterday
                {
                    days.push(d);
                }
            }
            days.sort();
            days.dedup();
            for day in days {
                let key = day.to_string();
                if reconciled.contains(&key) {
                    continue;
                }
                let before = open.iter().find(|a| a.bill_date == key);
                if before.is_some_and(|a| a.next_at > at) {
                    continue;
                }
                let failed = match self.provider_of(&m) {
                    Err(e) => ("settings", e.to_string()),
                    Ok(p) => match self.fetch_bill(&p, &key).await? {
                        Ok(bill) => {
                            self.record_run(&m, day, bill, None).await?;
                            done += 1;
                            continue;
                        }
                        Err(e) => (reconcile_failure_reason(&e), e.to_string()),
                    },
                };
                let (reason, detail) = failed;
                let attempts = before.map_or(0, |a| a.attempts) + 1;
                let next_at = at + reconcile_retry_after(reason, attempts);
                self.store
                    .record_reconcile_attempt(&ReconcileAttempt {
                        merchant_ref: m.id,
                        bill_date: key.clone(),
                        attempts,
                        reason: reason.into(),
                        detail: detail.chars().take(500).collect(),
                        first_at: before.map_or(at, |a| a.first_at),
                        last_at: at,
                        next_at,
                    })
                    .await?;
                if reason == "not_ready" {
                    tracing::info!(
                        merchant = m.id,
                        "the bill of {key} is not ready yet; trying again in {} s",
                        next_at - at
                    );
                } else {
                    tracing::warn!(
                        merchant = m.id,
                        attempts,
                        reason,
                        "reconciliation of {key} failed: {detail}; trying again in {} s",
                        next_at - at
                    );
                }
            }
        }
        Ok(done)
    }

    /// Per merchant account of an estate, the days the daily
    /// reconciliation could not run (and no run since), newest first.
    pub async fn reconcile_failures(
        &self,
        user: &User,
        code: &str,
    ) -> AppResult<Vec<(Merchant, Vec<ReconcileAttempt>)>> {
        let estate = self.estate_for(user, code, Permission::Treasury).await?;
        let mut out = Vec::new();
        for provider in ["wechat", "alipay"] {
            if let Some(m) = self
                .store
                .merchant_for(estate.company_id, estate.id, provider)
                .await?
            {
                let open = self.store.reconcile_attempts(m.id).await?;
                if !open.is_empty() {
                    out.push((m, open));
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(code: &str) -> PayError {
        PayError::Refused {
            provider: "wechat",
            code: code.into(),
            message: "m".into(),
        }
    }

    #[test]
    fn bill_failures_are_told_apart() {
        let cases = [
            (
                PayError::Network("connection refused".into()),
                "unreachable",
            ),
            (refused("STATEMENT_CREATING"), "not_ready"),
            (refused("SIGN_ERROR"), "credentials"),
            (refused("isv.invalid-signature"), "credentials"),
            (refused("isv.invalid-app-id"), "credentials"),
            (refused("PARAM_ERROR"), "refused"),
            (PayError::BadResponseSignature("wechat"), "verify"),
            (
                PayError::Malformed {
                    provider: "wechat",
                    detail: "sha1".into(),
                },
                "malformed",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(reconcile_failure_reason(&e), want, "{e}");
            // Every reason has words in both languages.
            let zh = reconcile_reason_text(doorstep_domain::Lang::Zh, want);
            let en = reconcile_reason_text(doorstep_domain::Lang::En, want);
            assert!(
                !zh.is_empty() && zh != en && en != "another error",
                "{want}"
            );
        }
    }

    #[test]
    fn retries_back_off() {
        assert_eq!(reconcile_retry_after("credentials", 1), 60);
        assert_eq!(reconcile_retry_after("credentials", 2), 120);
        assert_eq!(reconcile_retry_after("credentials", 6), 1920);
        assert_eq!(reconcile_retry_after("credentials", 7), 3600);
        assert_eq!(reconcile_retry_after("credentials", 1_000), 3600);
        assert_eq!(reconcile_retry_after("not_ready", 1), 1800);
    }
}
