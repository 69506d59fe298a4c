//! The merchant's side: [`WechatConfig`] and [`WechatClient`].

use super::sign::{WechatVerifier, authorization};
use super::types::*;
use super::{DEFAULT_BASE_URL, PROVIDER, aead, bill};
use crate::http::{HttpRequest, HttpResponse, Transport};
use crate::keys::{self, Certificate};
use crate::{
    BillRecord, CodeOrder, Notified, NotifiedEvent, NotifyError, PayError, PayProvider, Provider,
    QrCreated, QrOrder, RefundNotified, RefundOrder, RefundStatus, TradeStatus, check_out_trade_no,
};
use rsa::RsaPrivateKey;
use std::sync::Arc;

/// A direct merchant's credentials.
#[derive(Clone)]
pub struct WechatConfig {
    /// 商户号.
    pub mchid: String,
    /// AppID bound to the merchant.
    pub appid: String,
    /// Serial of the merchant's API certificate (hex).
    pub serial_no: String,
    /// The merchant's API private key (`apiclient_key.pem`).
    pub private_key: RsaPrivateKey,
    /// APIv3 key: exactly 32 ASCII bytes.
    apiv3_key: String,
    /// Verifies WeChat Pay's signatures.
    pub verifier: WechatVerifier,
    /// `https://api.mch.weixin.qq.com`, or the simulator's `http://127.0.0.1:PORT`.
    pub base_url: String,
}

impl std::fmt::Debug for WechatConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatConfig")
            .field("mchid", &self.mchid)
            .field("appid", &self.appid)
            .field("serial_no", &self.serial_no)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl WechatConfig {
    /// A configuration for the production host. Refuses an APIv3 key that is
    /// not exactly 32 bytes, and a verifier with neither a public key nor a
    /// certificate.
    pub fn new(
        mchid: &str,
        appid: &str,
        serial_no: &str,
        private_key: RsaPrivateKey,
        apiv3_key: &str,
        verifier: WechatVerifier,
    ) -> Result<WechatConfig, PayError> {
        if apiv3_key.len() != 32 || !apiv3_key.is_ascii() {
            return Err(PayError::Invalid {
                field: "apiv3_key",
                message: format!(
                    "the APIv3 key must be 32 ASCII characters, got {} bytes",
                    apiv3_key.len()
                ),
            });
        }
        if verifier.public_key.is_none() && verifier.platform_certs.is_empty() {
            return Err(PayError::Invalid {
                field: "verifier",
                message: "need the WeChat Pay public key or a platform certificate".into(),
            });
        }
        for (field, v) in [("mchid", mchid), ("appid", appid), ("serial_no", serial_no)] {
            if v.is_empty() {
                return Err(PayError::Invalid {
                    field,
                    message: "must not be empty".into(),
                });
            }
        }
        Ok(WechatConfig {
            mchid: mchid.into(),
            appid: appid.into(),
            serial_no: serial_no.into(),
            private_key,
            apiv3_key: apiv3_key.into(),
            verifier,
            base_url: DEFAULT_BASE_URL.into(),
        })
    }

    /// The same configuration against another host (the simulator).
    pub fn with_base_url(mut self, base_url: &str) -> WechatConfig {
        self.base_url = base_url.trim_end_matches('/').to_string();
        self
    }

    /// The APIv3 key.
    pub fn apiv3_key(&self) -> &str {
        &self.apiv3_key
    }
}

/// WeChat Pay API v3 for one direct merchant.
#[derive(Clone)]
pub struct WechatClient {
    /// Credentials.
    pub cfg: WechatConfig,
    /// Sends the requests.
    pub transport: Arc<dyn Transport>,
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn malformed(detail: impl Into<String>) -> PayError {
    PayError::Malformed {
        provider: PROVIDER,
        detail: detail.into(),
    }
}

fn json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, PayError> {
    serde_json::from_slice(body).map_err(|e| malformed(format!("response body: {e}")))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, PayError> {
    serde_json::to_string(v).map_err(|e| malformed(format!("request body: {e}")))
}

/// Percent-encodes a path segment (order numbers are already safe; this keeps
/// anything else from changing the path).
fn segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~|*@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Path and query of an absolute URL (`/v3/...?...`).
fn path_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    rest.find('/').map(|i| &rest[i..])
}

impl WechatClient {
    /// A client sending through `transport`.
    pub fn new(cfg: WechatConfig, transport: Arc<dyn Transport>) -> WechatClient {
        WechatClient { cfg, transport }
    }

    /// Builds the signed request (fresh timestamp, 32-hex nonce).
    pub fn request(
        &self,
        method: &'static str,
        path_and_query: &str,
        body: Option<&str>,
        timestamp: i64,
    ) -> Result<HttpRequest, PayError> {
        let body = body.unwrap_or("");
        let mut nonce = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut nonce);
        let nonce = hex::encode_upper(nonce);
        let auth = authorization(
            &self.cfg.mchid,
            &self.cfg.serial_no,
            &self.cfg.private_key,
            method,
            path_and_query,
            body,
            timestamp,
            &nonce,
        )?;
        let mut headers = vec![
            ("Authorization".to_string(), auth),
            ("Accept".to_string(), "application/json".to_string()),
            (
                "User-Agent".to_string(),
                format!("doorstep/{} (WechatPay-APIv3)", env!("CARGO_PKG_VERSION")),
            ),
        ];
        if method != "GET" {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        if let Some(serial) = self.cfg.verifier.request_serial() {
            headers.push(("Wechatpay-Serial".into(), serial.to_string()));
        }
        Ok(HttpRequest {
            method,
            url: format!("{}{}", self.cfg.base_url, path_and_query),
            headers,
            body: body.as_bytes().to_vec(),
        })
    }

    fn send(&self, req: &HttpRequest) -> Result<HttpResponse, PayError> {
        self.transport.send(req).map_err(PayError::Network)
    }

    /// Sends a signed call; 2xx responses must verify, others become
    /// [`PayError::Refused`].
    fn call(
        &self,
        method: &'static str,
        path_and_query: &str,
        body: Option<&str>,
    ) -> Result<HttpResponse, PayError> {
        let (resp, _) = self.exchange(method, path_and_query, body)?;
        if !(200..300).contains(&resp.status) {
            return Err(refused(&resp));
        }
        Ok(resp)
    }

    /// Sends a signed call and checks the reply's signature: a 2xx reply
    /// must be signed, an error reply may be (WeChat signs some, a gateway
    /// in between may answer too); whatever is signed must verify. Returns
    /// the reply and whether its signature was verified, so that callers
    /// change state on an unsigned error reply only after asking again.
    fn exchange(
        &self,
        method: &'static str,
        path_and_query: &str,
        body: Option<&str>,
    ) -> Result<(HttpResponse, bool), PayError> {
        let req = self.request(method, path_and_query, body, now())?;
        let resp = self.send(&req)?;
        let signed = resp
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("Wechatpay-Signature"));
        if signed || (200..300).contains(&resp.status) {
            self.cfg
                .verifier
                .verify(&resp.headers, &resp.body, now())
                .map_err(|_| PayError::BadResponseSignature(PROVIDER))?;
        }
        Ok((resp, signed))
    }

    /// Downloads the platform certificates (`GET /v3/certificates`),
    /// decrypting each with the APIv3 key; the response must verify with one
    /// of them or with the configured verifier.
    pub fn download_certificates(&self) -> Result<Vec<Certificate>, PayError> {
        let req = self.request("GET", "/v3/certificates", None, now())?;
        let resp = self.send(&req)?;
        if !(200..300).contains(&resp.status) {
            return Err(refused(&resp));
        }
        let list: CertificatesResponse = json(&resp.body)?;
        let mut certs = Vec::new();
        for e in &list.data {
            let r = &e.encrypt_certificate;
            let pem = aead::decrypt_resource(
                &self.cfg.apiv3_key,
                &r.nonce,
                &r.associated_data,
                &r.ciphertext,
            )
            .map_err(|err| malformed(format!("certificate {}: {err}", e.serial_no)))?;
            let pem = String::from_utf8(pem).map_err(|_| malformed("certificate is not UTF-8"))?;
            certs.push(keys::load_certificate(&pem)?);
        }
        let mut v = self.cfg.verifier.clone();
        v.platform_certs.extend(certs.iter().cloned());
        v.verify(&resp.headers, &resp.body, now())
            .map_err(|_| PayError::BadResponseSignature(PROVIDER))?;
        Ok(certs)
    }

    /// Fetches and checks a trade bill, returning the uncompressed text.
    pub fn trade_bill_text(&self, date: &str) -> Result<String, PayError> {
        let ok_date = date.len() == 10 && jiff::civil::Date::strptime("%Y-%m-%d", date).is_ok();
        if !ok_date {
            return Err(PayError::Invalid {
                field: "bill_date",
                message: format!("must be YYYY-MM-DD, got {date:?}"),
            });
        }
        let resp = self.call(
            "GET",
            &format!("/v3/bill/tradebill?bill_date={date}&bill_type=ALL&tar_type=GZIP"),
            None,
        )?;
        let info: TradeBillResponse = json(&resp.body)?;
        if !info.hash_type.eq_ignore_ascii_case("SHA1") {
            return Err(malformed(format!("unknown hash_type {}", info.hash_type)));
        }
        // The Authorization header only ever goes to the configured host.
        let path = path_of(&info.download_url)
            .filter(|_| {
                info.download_url
                    .starts_with(&format!("{}/", self.cfg.base_url))
            })
            .ok_or_else(|| malformed(format!("unexpected download_url {}", info.download_url)))?;
        let req = self.request("GET", path, None, now())?;
        let file = self.send(&req)?;
        if !(200..300).contains(&file.status) {
            return Err(refused(&file));
        }
        let raw = if file.body.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&file.body[..]), &mut out)
                .map_err(|e| malformed(format!("bill gzip: {e}")))?;
            out
        } else {
            file.body
        };
        let got = bill::sha1_hex(&raw);
        if !got.eq_ignore_ascii_case(info.hash_value.trim()) {
            return Err(malformed(format!(
                "bill SHA-1 mismatch: stated {}, got {got}",
                info.hash_value
            )));
        }
        String::from_utf8(raw).map_err(|_| malformed("bill is not UTF-8"))
    }

    fn decode_notification(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now: i64,
    ) -> Result<Notified, NotifyError> {
        self.cfg.verifier.verify(headers, body, now)?;
        let env: Notification = serde_json::from_slice(body)
            .map_err(|e| NotifyError::Malformed(format!("envelope: {e}")))?;
        let r = &env.resource;
        if r.algorithm != "AEAD_AES_256_GCM" {
            return Err(NotifyError::Malformed(format!("algorithm {}", r.algorithm)));
        }
        let plain = aead::decrypt_resource(
            &self.cfg.apiv3_key,
            &r.nonce,
            &r.associated_data,
            &r.ciphertext,
        )?;
        let kind = (env.event_type.as_str(), r.original_type.as_str());
        match kind {
            ("TRANSACTION.SUCCESS", "transaction" | "") => self.transaction_notice(env.id, &plain),
            (e, "refund" | "") if e.starts_with("REFUND.") => self.refund_notice(env.id, &plain),
            (e, t) => Err(NotifyError::Malformed(format!(
                "event_type {e} with resource {t}"
            ))),
        }
    }

    fn transaction_notice(&self, id: String, plain: &[u8]) -> Result<Notified, NotifyError> {
        let tx: Transaction = serde_json::from_slice(plain)
            .map_err(|e| NotifyError::Malformed(format!("transaction resource: {e}")))?;
        if tx.mchid != self.cfg.mchid || tx.appid != self.cfg.appid {
            return Err(NotifyError::WrongMerchant);
        }
        let amount = tx
            .amount
            .as_ref()
            .ok_or_else(|| NotifyError::Malformed("transaction without amount".into()))?;
        check_currency(amount.currency.as_deref())?;
        let status = trade_status(&tx)
            .ok_or_else(|| NotifyError::Malformed(format!("trade_state {}", tx.trade_state)))?;
        Ok(Notified {
            notify_id: id,
            merchant_id: tx.mchid.clone(),
            app_id: tx.appid.clone(),
            out_trade_no: tx.out_trade_no.clone(),
            amount_fen: amount.total,
            event: NotifiedEvent::Trade(status),
        })
    }

    /// A `REFUND.*` resource. It never describes a payment: whatever its
    /// status or amounts, it only tells where one refund stands.
    fn refund_notice(&self, id: String, plain: &[u8]) -> Result<Notified, NotifyError> {
        let n: RefundNotice = serde_json::from_slice(plain)
            .map_err(|e| NotifyError::Malformed(format!("refund resource: {e}")))?;
        if n.mchid != self.cfg.mchid {
            return Err(NotifyError::WrongMerchant);
        }
        check_currency(n.amount.currency.as_deref())?;
        let status = match n.refund_status.as_str() {
            "SUCCESS" => RefundStatus::Success,
            "CLOSED" | "ABNORMAL" => RefundStatus::Failed,
            other => return Err(NotifyError::Malformed(format!("refund_status {other}"))),
        };
        Ok(Notified {
            notify_id: id,
            merchant_id: n.mchid,
            app_id: self.cfg.appid.clone(),
            out_trade_no: n.out_trade_no,
            amount_fen: n.amount.total,
            event: NotifiedEvent::Refund(RefundNotified {
                out_refund_no: n.out_refund_no,
                status,
                refund_fen: n.amount.refund,
            }),
        })
    }
}

/// Orders are created in CNY only; an amount in anything else is not the
/// amount we asked for, whatever its number. An absent currency is WeChat's
/// default, CNY.
fn check_currency(currency: Option<&str>) -> Result<(), NotifyError> {
    match currency {
        None | Some("CNY") => Ok(()),
        Some(c) => Err(NotifyError::Malformed(format!("currency {c}"))),
    }
}

/// A non-2xx response as [`PayError::Refused`] (code and message from the
/// error body, or the status when there is none).
fn refused(resp: &HttpResponse) -> PayError {
    match serde_json::from_slice::<ErrorBody>(&resp.body) {
        Ok(e) => PayError::Refused {
            provider: PROVIDER,
            code: e.code,
            message: e.message,
        },
        Err(_) => PayError::Refused {
            provider: PROVIDER,
            code: format!("HTTP_{}", resp.status),
            message: String::from_utf8_lossy(&resp.body)
                .chars()
                .take(200)
                .collect(),
        },
    }
}

fn check_amount(fen: i64) -> Result<(), PayError> {
    if fen <= 0 {
        return Err(PayError::Invalid {
            field: "amount_fen",
            message: format!("must be positive, got {fen}"),
        });
    }
    Ok(())
}

fn check_description(s: &str) -> Result<(), PayError> {
    let n = s.chars().count();
    if n == 0 || n > 127 {
        return Err(PayError::Invalid {
            field: "description",
            message: format!("must be 1–127 characters, got {n}"),
        });
    }
    Ok(())
}

impl PayProvider for WechatClient {
    fn provider(&self) -> Provider {
        Provider::Wechat
    }

    fn merchant_id(&self) -> &str {
        &self.cfg.mchid
    }

    fn app_id(&self) -> &str {
        &self.cfg.appid
    }

    fn create_qr(&self, order: &QrOrder) -> Result<QrCreated, PayError> {
        check_out_trade_no(&order.out_trade_no)?;
        check_amount(order.amount_fen)?;
        check_description(&order.description)?;
        if order.notify_url.is_empty() || order.notify_url.contains('?') {
            return Err(PayError::Invalid {
                field: "notify_url",
                message: "required, without a query string".into(),
            });
        }
        let time_expire = super::types::format_time(order.expires_at).ok_or(PayError::Invalid {
            field: "expires_at",
            message: "out of range".into(),
        })?;
        let body = to_json(&NativeRequest {
            appid: self.cfg.appid.clone(),
            mchid: self.cfg.mchid.clone(),
            description: order.description.clone(),
            out_trade_no: order.out_trade_no.clone(),
            time_expire: Some(time_expire),
            attach: order.attach.clone(),
            notify_url: order.notify_url.clone(),
            amount: OrderAmount {
                total: order.amount_fen,
                currency: Some("CNY".into()),
            },
        })?;
        let resp = self.call("POST", "/v3/pay/transactions/native", Some(&body))?;
        let r: NativeResponse = json(&resp.body)?;
        Ok(QrCreated { code: r.code_url })
    }

    fn pay_with_code(&self, order: &CodeOrder) -> Result<TradeStatus, PayError> {
        check_out_trade_no(&order.out_trade_no)?;
        check_amount(order.amount_fen)?;
        check_description(&order.description)?;
        let body = to_json(&CodepayRequest {
            appid: self.cfg.appid.clone(),
            mchid: self.cfg.mchid.clone(),
            description: order.description.clone(),
            out_trade_no: order.out_trade_no.clone(),
            payer: CodePayer {
                auth_code: order.auth_code.clone(),
            },
            amount: OrderAmount {
                total: order.amount_fen,
                currency: Some("CNY".into()),
            },
            scene_info: SceneInfo {
                device_id: Some(order.device_id.clone()),
                store_info: StoreInfo {
                    id: order.store_id.clone(),
                },
            },
        })?;
        let resp = match self.call("POST", "/v3/pay/transactions/codepay", Some(&body)) {
            Ok(r) => r,
            Err(PayError::Refused { code, .. }) if code == "USERPAYING" => {
                return Ok(TradeStatus::UserPaying);
            }
            Err(e) => return Err(e),
        };
        if resp.status == 202 {
            return Ok(TradeStatus::UserPaying);
        }
        let tx: Transaction = json(&resp.body)?;
        trade_status(&tx).ok_or_else(|| malformed(format!("trade_state {}", tx.trade_state)))
    }

    fn query(&self, out_trade_no: &str) -> Result<TradeStatus, PayError> {
        check_out_trade_no(out_trade_no)?;
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{}?mchid={}",
            segment(out_trade_no),
            segment(&self.cfg.mchid)
        );
        let resp = self.call("GET", &path, None)?;
        let tx: Transaction = json(&resp.body)?;
        if tx.out_trade_no != out_trade_no {
            return Err(malformed("query answered for another order"));
        }
        trade_status(&tx).ok_or_else(|| malformed(format!("trade_state {}", tx.trade_state)))
    }

    fn close(&self, out_trade_no: &str) -> Result<(), PayError> {
        check_out_trade_no(out_trade_no)?;
        let body = to_json(&CloseRequest {
            mchid: self.cfg.mchid.clone(),
        })?;
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{}/close",
            segment(out_trade_no)
        );
        let (resp, signed) = self.exchange("POST", &path, Some(&body))?;
        if (200..300).contains(&resp.status) {
            return Ok(());
        }
        let e = refused(&resp);
        if !matches!(&e, PayError::Refused { code, .. } if code == "ORDER_CLOSED") {
            return Err(e);
        }
        // Anyone on the path can write an unsigned "already closed": believe
        // it only when a signed query agrees.
        if signed || self.query(out_trade_no)? == TradeStatus::Closed {
            Ok(())
        } else {
            Err(e)
        }
    }

    fn reverse(&self, out_trade_no: &str) -> Result<(), PayError> {
        check_out_trade_no(out_trade_no)?;
        let body = to_json(&ReverseRequest {
            appid: self.cfg.appid.clone(),
            mchid: self.cfg.mchid.clone(),
        })?;
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{}/reverse",
            segment(out_trade_no)
        );
        self.call("POST", &path, Some(&body)).map(|_| ())
    }

    fn refund(&self, refund: &RefundOrder) -> Result<RefundStatus, PayError> {
        check_out_trade_no(&refund.out_trade_no)?;
        check_amount(refund.refund_fen)?;
        if refund.refund_fen > refund.total_fen {
            return Err(PayError::Invalid {
                field: "refund_fen",
                message: "more than the order total".into(),
            });
        }
        let body = to_json(&RefundRequest {
            out_trade_no: refund.out_trade_no.clone(),
            out_refund_no: refund.out_refund_no.clone(),
            reason: Some(refund.reason.clone()).filter(|r| !r.is_empty()),
            notify_url: refund.notify_url.clone(),
            amount: RefundRequestAmount {
                refund: refund.refund_fen,
                total: refund.total_fen,
                currency: "CNY".into(),
            },
        })?;
        let resp = self.call("POST", "/v3/refund/domestic/refunds", Some(&body))?;
        let r: RefundResponse = json(&resp.body)?;
        Ok(match r.status.as_str() {
            "SUCCESS" => RefundStatus::Success,
            "PROCESSING" => RefundStatus::Processing,
            _ => RefundStatus::Failed,
        })
    }

    fn parse_notification(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        now: i64,
    ) -> Result<Notified, NotifyError> {
        self.decode_notification(headers, body, now)
    }

    fn notification_answer(&self, ok: bool) -> (u16, &'static str, Vec<u8>) {
        if ok {
            (200, "application/json", Vec::new())
        } else {
            (
                500,
                "application/json",
                r#"{"code":"FAIL","message":"失败"}"#.as_bytes().to_vec(),
            )
        }
    }

    fn daily_bill(&self, date: &str) -> Result<Vec<BillRecord>, PayError> {
        let text = self.trade_bill_text(date)?;
        bill::parse_trade_bill(&text)
    }
}
