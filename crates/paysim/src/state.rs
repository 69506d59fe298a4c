//! The simulator's memory: registered merchants, orders, refunds, and the
//! notification sender with each provider's retry schedule.

use rsa::RsaPrivateKey;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// A WeChat Pay merchant registered with the simulator (what the merchant
/// uploads to, and downloads from, 商户平台).
#[derive(Debug, Clone)]
pub struct WechatMerchant {
    /// 商户号.
    pub mchid: String,
    /// AppID bound to the merchant.
    pub appid: String,
    /// Serial of the merchant's API certificate (hex).
    pub serial_no: String,
    /// The merchant's API public key (checks request signatures).
    pub public_key: rsa::RsaPublicKey,
    /// APIv3 key: 32 ASCII bytes (encrypts notification resources).
    pub apiv3_key: String,
}

/// An Alipay app registered with the simulator.
#[derive(Debug, Clone)]
pub struct AlipayApp {
    /// app_id.
    pub app_id: String,
    /// seller_id (the merchant's 2088… partner id).
    pub seller_id: String,
    /// The app's public key (checks request signatures).
    pub public_key: rsa::RsaPublicKey,
}

/// How the simulator is set up.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// WeChat merchants.
    pub wechat: Vec<WechatMerchant>,
    /// Alipay apps.
    pub alipay: Vec<AlipayApp>,
    /// WeChat Pay's signing key (public-key mode and platform certificate).
    pub wechat_platform_key: RsaPrivateKey,
    /// Its id in public-key mode (`PUB_KEY_ID_…`).
    pub wechat_public_key_id: String,
    /// Alipay's signing key.
    pub alipay_key: RsaPrivateKey,
    /// Multiplies every notification retry interval (1.0 = the providers'
    /// schedules; tests use e.g. 0.001).
    pub retry_scale: f64,
    /// Seconds the first notification waits after payment (real: about 0).
    pub first_notify_delay: f64,
    /// Whether notifications are sent at all (tests of the poller turn it off).
    pub notify: bool,
}

impl SimConfig {
    /// A configuration with fresh simulator keys and no merchants.
    pub fn generate() -> Result<SimConfig, doorstep_payments::keys::KeyError> {
        Ok(SimConfig {
            wechat: Vec::new(),
            alipay: Vec::new(),
            wechat_platform_key: doorstep_payments::keys::generate()?,
            wechat_public_key_id: format!(
                "PUB_KEY_ID_{:018}",
                rand::random::<u64>() % 10u64.pow(18)
            ),
            alipay_key: doorstep_payments::keys::generate()?,
            retry_scale: 1.0,
            first_notify_delay: 0.0,
            notify: true,
        })
    }
}

/// An order's state at the simulated provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TradeState {
    /// Created, not paid (QR: not scanned or scanned and abandoned).
    NotPaid,
    /// Payment code charged; the payer is entering a password.
    UserPaying,
    /// Paid.
    Paid,
    /// Closed unpaid (close, expiry).
    Closed,
    /// Reversed (payment code): closed if it was unpaid, refunded if paid.
    Reversed,
    /// Payment failed (payment code, e.g. insufficient balance).
    Failed,
}

/// A refund at the simulated provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRefund {
    /// Merchant's refund number.
    pub out_refund_no: String,
    /// Provider's refund id.
    pub refund_id: String,
    /// Fen.
    pub amount_fen: i64,
    /// Unix seconds.
    pub at: i64,
}

/// One order at the simulated provider.
#[derive(Debug, Clone)]
pub struct SimOrder {
    /// `wechat` / `alipay`.
    pub provider: doorstep_payments::Provider,
    /// mchid or app_id.
    pub merchant: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// The provider's transaction number (assigned at creation, reported once paid).
    pub transaction_id: String,
    /// `NATIVE` / `MICROPAY` (WeChat trade_type) or `precreate` / `pay`.
    pub kind: OrderKind,
    /// Fen.
    pub amount_fen: i64,
    /// Description / subject.
    pub description: String,
    /// Attach / passback.
    pub attach: Option<String>,
    /// Where notifications go.
    pub notify_url: Option<String>,
    /// Last moment to pay (unix seconds).
    pub expires_at: i64,
    /// The token inside the QR code (`pr=` for WeChat, the path for Alipay).
    pub code_token: String,
    /// Where it stands.
    pub state: TradeState,
    /// The payer's id (openid / buyer_id) once scanned or charged.
    pub payer: Option<String>,
    /// Created (unix seconds).
    pub created_at: i64,
    /// Paid (unix seconds).
    pub paid_at: Option<i64>,
    /// Closed/reversed (unix seconds).
    pub closed_at: Option<i64>,
    /// Refunds.
    pub refunds: Vec<SimRefund>,
    /// Whether a QR order has been scanned (Alipay creates the trade then).
    pub scanned: bool,
}

/// QR or payment code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// Merchant shows a QR code.
    Qr,
    /// Merchant scans the payer's code.
    Code,
}

impl SimOrder {
    /// Refunded so far, fen.
    pub fn refunded_fen(&self) -> i64 {
        self.refunds.iter().map(|r| r.amount_fen).sum()
    }
}

/// A payment code shown by the wallet page: who pays and whether a
/// password is asked (then the charge waits in `UserPaying` until the
/// tester confirms).
#[derive(Debug, Clone)]
pub struct WalletCode {
    /// The code's digits.
    pub code: String,
    /// `wechat` / `alipay`.
    pub provider: doorstep_payments::Provider,
    /// Payer id.
    pub payer: String,
    /// Ask for a password.
    pub needs_password: bool,
    /// Balance in fen (a charge above it fails).
    pub balance_fen: i64,
    /// Used by an order (a code pays once).
    pub used_by: Option<String>,
}

/// A notification waiting to be (re)sent.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Provider.
    pub provider: doorstep_payments::Provider,
    /// (merchant, out_trade_no) of the order.
    pub order: (String, String),
    /// Provider notification id (stable across retries).
    pub notify_id: String,
    /// Sends made so far.
    pub attempts: usize,
    /// When the next send is due (unix seconds, fractional).
    pub due: f64,
    /// Done: acknowledged or out of retries.
    pub done: bool,
    /// Whether it was acknowledged.
    pub acknowledged: bool,
    /// Kind: payment (`TRANSACTION.SUCCESS` / `trade_status_sync`) or refund.
    pub event: NotifyEvent,
}

/// What a notification is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyEvent {
    /// The order was paid.
    Paid,
    /// A refund ended (WeChat `REFUND.SUCCESS` or, by its plan,
    /// `REFUND.ABNORMAL`); the refund number.
    Refund(String),
}

/// How a WeChat refund that is processed later ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundPlan {
    /// `PROCESSING`, then `REFUND.SUCCESS`.
    SucceedLater,
    /// `PROCESSING`, then `REFUND.ABNORMAL` (e.g. the payer's card was
    /// cancelled): the money was not returned.
    Abnormal,
}

/// Everything the simulator remembers.
#[derive(Debug, Default)]
pub struct SimState {
    /// Orders by (merchant, out_trade_no).
    pub orders: HashMap<(String, String), SimOrder>,
    /// Wallet payment codes by code.
    pub wallet: HashMap<String, WalletCode>,
    /// Notifications.
    pub deliveries: Vec<Delivery>,
    /// Bill download tokens → (provider, merchant, date, gzip).
    pub bill_tokens: HashMap<String, (doorstep_payments::Provider, String, String, bool)>,
    /// Request ids handed out (for `Request-ID` headers).
    pub counter: u64,
    /// Extra transactions put into bills (tests of reconciliation): records
    /// that Doorstep never saw.
    pub extra_bill_records: Vec<(String, doorstep_payments::BillRecord)>,
    /// WeChat Native orders: the request as first received (a repeat must be
    /// identical), by (mchid, out_trade_no).
    pub wechat_native_requests: HashMap<(String, String), String>,
    /// WeChat refund notification addresses by (mchid, out_refund_no).
    pub wechat_refund_urls: HashMap<(String, String), String>,
    /// WeChat refunds that do not succeed at once (set by tests), by
    /// (mchid, out_trade_no) of the order: the refund answers `PROCESSING`
    /// and its notification tells how it ended.
    pub wechat_refund_plans: HashMap<(String, String), RefundPlan>,
    /// WeChat refund statuses other than `SUCCESS`, by (mchid,
    /// out_refund_no): `PROCESSING` until notified, then `ABNORMAL` if so.
    pub wechat_refund_status: HashMap<(String, String), &'static str>,
    /// Bill dates (`YYYY-MM-DD`) whose WeChat bill is still being made
    /// (set by tests): the bill request answers `STATEMENT_CREATING`.
    pub wechat_bills_not_ready: std::collections::HashSet<String>,
    /// WeChat bill files by download token: (uncompressed text, issued at).
    pub wechat_bill_files: HashMap<String, (String, i64)>,
    /// The WeChat Pay platform certificate: (serial hex, PEM, not before,
    /// not after), made on first use.
    pub wechat_platform_cert: Option<(String, String, i64, i64)>,
}

/// The simulator: configuration plus shared state. Cheap to clone.
#[derive(Clone)]
pub struct Sim {
    /// Configuration.
    pub cfg: Arc<SimConfig>,
    state: Arc<Mutex<SimState>>,
}

/// WeChat Pay's retry schedule (seconds after the previous send).
pub const WECHAT_RETRIES: [u64; 15] = [
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
];
/// Alipay's retry schedule (8 sends in about 25 hours).
pub const ALIPAY_RETRIES: [u64; 7] = [240, 600, 600, 3600, 7200, 21600, 54000];

/// Now as unix seconds (fractional).
pub fn now_f64() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Now as unix seconds.
pub fn now() -> i64 {
    now_f64() as i64
}

impl Sim {
    /// A simulator with this configuration and nothing in memory.
    pub fn new(cfg: SimConfig) -> Sim {
        Sim {
            cfg: Arc::new(cfg),
            state: Arc::new(Mutex::new(SimState::default())),
        }
    }

    /// The state, locked. A poisoned lock (a panic in a handler) is taken
    /// over: the simulator keeps serving.
    pub fn lock(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh id with a prefix and the current date, e.g. transaction ids.
    pub fn next_id(&self, prefix: &str) -> String {
        let mut st = self.lock();
        st.counter += 1;
        let day = jiff::Timestamp::now()
            .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
            .strftime("%Y%m%d")
            .to_string();
        format!("{prefix}{day}{:010}", st.counter)
    }

    /// The WeChat merchant with `mchid`.
    pub fn wechat_merchant(&self, mchid: &str) -> Option<&WechatMerchant> {
        self.cfg.wechat.iter().find(|m| m.mchid == mchid)
    }

    /// The Alipay app with `app_id`.
    pub fn alipay_app(&self, app_id: &str) -> Option<&AlipayApp> {
        self.cfg.alipay.iter().find(|a| a.app_id == app_id)
    }

    /// The WeChat Pay platform certificate (serial, PEM, not before, not
    /// after): self-signed with the platform key, made once.
    pub fn wechat_platform_cert(&self) -> Result<(String, String, i64, i64), String> {
        if let Some(c) = self.lock().wechat_platform_cert.clone() {
            return Ok(c);
        }
        let key = &self.cfg.wechat_platform_key;
        // A stable serial derived from the key: 8 bytes, first below 0x80.
        let der = doorstep_payments::keys::public_key_base64(&key.to_public_key())
            .map_err(|e| e.to_string())?;
        let digest = <sha2::Sha256 as sha2::Digest>::digest(der.as_bytes());
        let mut serial = [0u8; 8];
        serial.copy_from_slice(&digest[..8]);
        serial[0] = (serial[0] & 0x7f) | 0x10;
        let not_before = now() - 86_400;
        let not_after = not_before + 5 * 365 * 86_400;
        let pem = doorstep_payments::keys::self_signed_certificate(
            key,
            &serial,
            "Tenpay.com Root CA (paysim)",
            not_before,
            not_after,
        )
        .map_err(|e| e.to_string())?;
        let cert = (hex::encode_upper(serial), pem, not_before, not_after);
        self.lock().wechat_platform_cert = Some(cert.clone());
        Ok(cert)
    }

    /// Finds an order by its QR token.
    pub fn order_by_token(&self, token: &str) -> Option<SimOrder> {
        self.lock()
            .orders
            .values()
            .find(|o| o.code_token == token)
            .cloned()
    }

    /// Marks an order paid by `payer` and queues its notification. Refused
    /// (with the reason) unless it is open and not expired.
    pub fn pay(&self, merchant: &str, out_trade_no: &str, payer: &str) -> Result<(), String> {
        let now = now();
        let mut st = self.lock();
        let key = (merchant.to_string(), out_trade_no.to_string());
        let Some(o) = st.orders.get_mut(&key) else {
            return Err("no such order".into());
        };
        match o.state {
            TradeState::NotPaid | TradeState::UserPaying => {}
            _ => return Err(format!("the order is {:?}", o.state)),
        }
        if now > o.expires_at {
            // Alipay closes an expired trade; WeChat keeps reporting NOTPAY
            // until the merchant closes it.
            if o.provider == doorstep_payments::Provider::Alipay {
                o.state = TradeState::Closed;
                o.closed_at = Some(now);
            }
            return Err("the order has expired".into());
        }
        o.state = TradeState::Paid;
        o.paid_at = Some(now);
        o.scanned = true;
        o.payer = Some(payer.to_string());
        let provider = o.provider;
        let has_url = o.notify_url.is_some();
        if has_url {
            let notify_id = match provider {
                doorstep_payments::Provider::Wechat => format!("EV-{}", uuid_like()),
                doorstep_payments::Provider::Alipay => uuid_like(),
            };
            st.deliveries.push(Delivery {
                provider,
                order: key,
                notify_id,
                attempts: 0,
                due: now_f64() + self.cfg.first_notify_delay,
                done: false,
                acknowledged: false,
                event: NotifyEvent::Paid,
            });
        }
        Ok(())
    }

    /// Marks a QR order as scanned (Alipay creates the trade then) without paying.
    pub fn scan(&self, merchant: &str, out_trade_no: &str, payer: &str) {
        let mut st = self.lock();
        if let Some(o) = st
            .orders
            .get_mut(&(merchant.to_string(), out_trade_no.to_string()))
        {
            o.scanned = true;
            o.payer.get_or_insert_with(|| payer.to_string());
        }
    }

    /// Queues a notification for an order (e.g. a refund's).
    pub fn queue_notification(
        &self,
        provider: doorstep_payments::Provider,
        order: (String, String),
        event: NotifyEvent,
    ) {
        let mut st = self.lock();
        st.deliveries.push(Delivery {
            provider,
            order,
            notify_id: format!("EV-{}", uuid_like()),
            attempts: 0,
            due: now_f64() + self.cfg.first_notify_delay,
            done: false,
            acknowledged: false,
            event,
        });
    }

    /// Starts the background task that sends due notifications.
    pub fn start_notifier(&self) {
        if !self.cfg.notify {
            return;
        }
        let sim = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let due: Vec<usize> = {
                    let st = sim.lock();
                    let t = now_f64();
                    st.deliveries
                        .iter()
                        .enumerate()
                        .filter(|(_, d)| !d.done && d.due <= t)
                        .map(|(i, _)| i)
                        .collect()
                };
                for i in due {
                    let s = sim.clone();
                    // Blocking HTTP on the blocking pool: the server keeps serving.
                    let _ = tokio::task::spawn_blocking(move || s.send_delivery(i)).await;
                }
            }
        });
    }

    /// Sends delivery `i` once and schedules the next retry or finishes it.
    pub fn send_delivery(&self, i: usize) {
        let (provider, order, event, notify_id) = {
            let st = self.lock();
            let Some(d) = st.deliveries.get(i) else {
                return;
            };
            (
                d.provider,
                d.order.clone(),
                d.event.clone(),
                d.notify_id.clone(),
            )
        };
        let Some(o) = self.lock().orders.get(&order).cloned() else {
            return;
        };
        let built = match provider {
            doorstep_payments::Provider::Wechat => {
                crate::wechat::build_notification(self, &o, &event, &notify_id)
            }
            doorstep_payments::Provider::Alipay => {
                crate::alipay::build_notification(self, &o, &event, &notify_id)
            }
        };
        let acknowledged = match built {
            Some(req) => {
                let sent = doorstep_payments::http::Transport::send(
                    &doorstep_payments::http::UreqTransport::new(Duration::from_secs(5)),
                    &req,
                );
                match (provider, sent) {
                    (doorstep_payments::Provider::Wechat, Ok(r)) => {
                        r.status == 200 || r.status == 204
                    }
                    (doorstep_payments::Provider::Alipay, Ok(r)) => r.body == b"success",
                    (_, Err(_)) => false,
                }
            }
            None => false,
        };
        let mut st = self.lock();
        let scale = self.cfg.retry_scale;
        if let Some(d) = st.deliveries.get_mut(i) {
            d.attempts += 1;
            let schedule: &[u64] = match provider {
                doorstep_payments::Provider::Wechat => &WECHAT_RETRIES,
                doorstep_payments::Provider::Alipay => &ALIPAY_RETRIES,
            };
            if acknowledged {
                d.done = true;
                d.acknowledged = true;
            } else if d.attempts > schedule.len() {
                d.done = true;
            } else {
                d.due = now_f64() + schedule[d.attempts - 1] as f64 * scale;
            }
        }
    }
}

/// 32 random hex characters.
pub fn uuid_like() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}
