//! The WeChat Pay simulator driven by the real client: Native order, scan
//! and pay, notification, query, payment code with password, close,
//! reverse, refund, retries, certificates and the daily bill.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_payments::http::{Transport, UreqTransport};
use doorstep_payments::wechat::{WechatClient, WechatConfig, WechatVerifier};
use doorstep_payments::{
    CodeOrder, NotifiedEvent, NotifyError, PayError, PayProvider, QrOrder, RefundNotified,
    RefundOrder, RefundStatus, TradeStatus, keys,
};
use doorstep_paysim::{Sim, SimConfig, WechatMerchant};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const MCHID: &str = "1900000109";
const APPID: &str = "wx8888888888888888";
const SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
const APIV3: &str = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";

/// Keys are slow to generate in debug builds: once per file.
fn keys_once() -> &'static (rsa::RsaPrivateKey, SimConfig) {
    static K: OnceLock<(rsa::RsaPrivateKey, SimConfig)> = OnceLock::new();
    K.get_or_init(|| (keys::generate().unwrap(), SimConfig::generate().unwrap()))
}

struct Env {
    _rt: tokio::runtime::Runtime,
    sim: Sim,
    base: String,
    client: WechatClient,
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn start() -> Env {
    let (mkey, base_cfg) = keys_once();
    let mut cfg = base_cfg.clone();
    cfg.retry_scale = 0.001;
    cfg.wechat.push(WechatMerchant {
        mchid: MCHID.into(),
        appid: APPID.into(),
        serial_no: SERIAL.into(),
        public_key: mkey.to_public_key(),
        apiv3_key: APIV3.into(),
    });
    let sim = Sim::new(cfg);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let s = sim.clone();
    rt.spawn(async move { doorstep_paysim::serve(listener, s).await });
    let client = client_for(&sim, &base, mkey.clone(), APIV3);
    Env {
        _rt: rt,
        sim,
        base,
        client,
    }
}

fn client_for(sim: &Sim, base: &str, key: rsa::RsaPrivateKey, apiv3: &str) -> WechatClient {
    let verifier = WechatVerifier {
        public_key: Some((
            sim.cfg.wechat_public_key_id.clone(),
            sim.cfg.wechat_platform_key.to_public_key(),
        )),
        platform_certs: vec![],
    };
    let cfg = WechatConfig::new(MCHID, APPID, SERIAL, key, apiv3, verifier)
        .unwrap()
        .with_base_url(base);
    WechatClient::new(cfg, Arc::new(UreqTransport::default()))
}

type Received = Arc<Mutex<Vec<(Vec<(String, String)>, Vec<u8>)>>>;

/// A tiny HTTP server that records requests and answers `status`.
fn receiver(status: u16) -> (String, Received) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    let got: Received = Arc::default();
    let g = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let mut headers = Vec::new();
            let mut len = 0;
            loop {
                let mut l = String::new();
                r.read_line(&mut l).unwrap();
                let l = l.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    let k = k.trim().to_ascii_lowercase();
                    if k == "content-length" {
                        len = v.trim().parse().unwrap();
                    }
                    headers.push((k, v.trim().to_string()));
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            g.lock().unwrap().push((headers, body));
            let reason = if status == 200 {
                "OK"
            } else {
                "Internal Server Error"
            };
            let answer = if status == 200 {
                ""
            } else {
                r#"{"code":"FAIL","message":"fail"}"#
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, got)
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn api(base: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    match ureq::post(&format!("{base}{path}")).send_json(body) {
        Ok(r) => (r.status(), r.into_json().unwrap()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_json().unwrap()),
        Err(e) => panic!("{e}"),
    }
}

fn qr(no: &str, amount: i64, notify_url: &str) -> QrOrder {
    QrOrder {
        out_trade_no: no.into(),
        description: "物业费-1栋101-2026Q4".into(),
        amount_fen: amount,
        expires_at: now() + 600,
        notify_url: notify_url.into(),
        attach: Some("room:101".into()),
    }
}

fn today() -> String {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .strftime("%Y-%m-%d")
        .to_string()
}

fn refused_code<T: std::fmt::Debug>(r: Result<T, PayError>) -> String {
    match r {
        Err(PayError::Refused { code, .. }) => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn native_order_paid_notified_refunded_and_billed() {
    let env = start();
    let c = &env.client;
    let (url, got) = receiver(200);
    let order = qr("PF202611270001", 8888, &url);
    let created = c.create_qr(&order).unwrap();
    assert!(
        created.code.starts_with("weixin://wxpay/bizpayurl?pr="),
        "{}",
        created.code
    );
    // Same parameters again: the same code; different ones: refused.
    assert_eq!(c.create_qr(&order).unwrap(), created);
    let mut changed = order.clone();
    changed.amount_fen = 1;
    assert_eq!(refused_code(c.create_qr(&changed)), "INVALID_REQUEST");
    assert_eq!(c.query("PF202611270001").unwrap(), TradeStatus::NotPaid);

    let (status, body) = api(
        &env.base,
        "/sim/api/pay",
        serde_json::json!({"code": created.code}),
    );
    assert_eq!((status, body["ok"].as_bool()), (200, Some(true)));
    let (status, _) = api(
        &env.base,
        "/sim/api/pay",
        serde_json::json!({"code": created.code}),
    );
    assert_eq!(status, 409);

    let (headers, body) = wait_for("the notification", || got.lock().unwrap().first().cloned());
    let n = c.parse_notification(&headers, &body, now()).unwrap();
    assert_eq!(n.out_trade_no, "PF202611270001");
    assert_eq!(n.amount_fen, 8888);
    assert!(matches!(
        n.event,
        NotifiedEvent::Trade(TradeStatus::Paid {
            amount_fen: 8888,
            ..
        })
    ));
    // The same notification replayed ten minutes later is refused.
    assert_eq!(
        c.parse_notification(&headers, &body, now() + 600),
        Err(NotifyError::Replay)
    );
    let TradeStatus::Paid { transaction_id, .. } = c.query("PF202611270001").unwrap() else {
        panic!("not paid")
    };
    assert!(transaction_id.starts_with("4200"));
    wait_for("the acknowledgement", || {
        env.sim
            .lock()
            .deliveries
            .iter()
            .find(|d| d.acknowledged)
            .map(|_| ())
    });

    let bill = c.daily_bill(&today()).unwrap();
    assert!(
        bill.iter()
            .any(|r| r.out_trade_no == "PF202611270001" && r.amount_fen == 8888)
    );

    let refund = RefundOrder {
        out_trade_no: "PF202611270001".into(),
        out_refund_no: "RF202611270001".into(),
        refund_fen: 888,
        total_fen: 8888,
        reason: "多收".into(),
        notify_url: Some(url.clone()),
    };
    assert_eq!(c.refund(&refund).unwrap(), RefundStatus::Success);
    // Idempotent by refund number.
    assert_eq!(c.refund(&refund).unwrap(), RefundStatus::Success);
    let mut too_much = refund.clone();
    too_much.out_refund_no = "RF202611270002".into();
    too_much.refund_fen = 8888;
    assert_eq!(refused_code(c.refund(&too_much)), "INVALID_REQUEST");
    let (headers, body) = wait_for("the refund notification", || {
        got.lock().unwrap().get(1).cloned()
    });
    let n = c.parse_notification(&headers, &body, now()).unwrap();
    // A refund notice tells of the refund, not of the order's payment.
    assert_eq!(
        n.event,
        NotifiedEvent::Refund(RefundNotified {
            out_refund_no: refund.out_refund_no.clone(),
            status: RefundStatus::Success,
            refund_fen: 888,
        })
    );
    assert_eq!(n.amount_fen, 8888);
    assert_eq!(c.query("PF202611270001").unwrap(), TradeStatus::Refunded);
    let bill = c.daily_bill(&today()).unwrap();
    assert_eq!(bill.len(), 2);
}

#[test]
fn payment_code_with_password_then_reverse() {
    let env = start();
    let c = &env.client;
    let (_, w) = api(
        &env.base,
        "/sim/api/wallet",
        serde_json::json!({"provider": "wechat", "needs_password": true, "balance_fen": 100_000}),
    );
    let code = w["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 18);
    let order = CodeOrder {
        out_trade_no: "PC202611270001".into(),
        description: "物业费".into(),
        amount_fen: 12_000,
        auth_code: code.clone(),
        device_id: "collector-7".into(),
        store_id: "estate-1".into(),
        notify_url: None,
    };
    assert_eq!(c.pay_with_code(&order).unwrap(), TradeStatus::UserPaying);
    assert_eq!(c.query("PC202611270001").unwrap(), TradeStatus::UserPaying);
    let (status, _) = api(
        &env.base,
        &format!("/sim/api/wallet/{code}/confirm"),
        serde_json::json!({}),
    );
    assert_eq!(status, 200);
    assert!(matches!(
        c.query("PC202611270001").unwrap(),
        TradeStatus::Paid {
            amount_fen: 12_000,
            ..
        }
    ));

    // A used code, an unknown code.
    let mut again = order.clone();
    again.out_trade_no = "PC202611270002".into();
    assert_eq!(refused_code(c.pay_with_code(&again)), "AUTHCODEEXPIRE");
    again.auth_code = "134567890123456789".into();
    assert_eq!(refused_code(c.pay_with_code(&again)), "AUTH_CODE_INVALID");

    // No password: paid at once; then reversed.
    let (_, w) = api(
        &env.base,
        "/sim/api/wallet",
        serde_json::json!({"provider": "wechat", "needs_password": false, "balance_fen": 100_000}),
    );
    let mut quick = order.clone();
    quick.out_trade_no = "PC202611270003".into();
    quick.auth_code = w["code"].as_str().unwrap().into();
    assert!(matches!(
        c.pay_with_code(&quick).unwrap(),
        TradeStatus::Paid { .. }
    ));
    c.reverse("PC202611270003").unwrap();
    assert_eq!(c.query("PC202611270003").unwrap(), TradeStatus::Closed);

    // Balance too low: PAYERROR.
    let (_, w) = api(
        &env.base,
        "/sim/api/wallet",
        serde_json::json!({"provider": "wechat", "needs_password": false, "balance_fen": 100}),
    );
    let mut poor = order.clone();
    poor.out_trade_no = "PC202611270004".into();
    poor.auth_code = w["code"].as_str().unwrap().into();
    assert!(matches!(
        c.pay_with_code(&poor).unwrap(),
        TradeStatus::Failed { .. }
    ));
}

#[test]
fn close_retries_and_bad_signatures() {
    let env = start();
    let c = &env.client;
    let (url, got) = receiver(200);
    let created = c.create_qr(&qr("PF202611270101", 100, &url)).unwrap();
    c.close("PF202611270101").unwrap();
    c.close("PF202611270101").unwrap();
    assert_eq!(c.query("PF202611270101").unwrap(), TradeStatus::Closed);
    let (status, _) = api(
        &env.base,
        "/sim/api/pay",
        serde_json::json!({"code": created.code}),
    );
    assert_eq!(status, 409);
    assert_eq!(refused_code(c.query("PF_NO_SUCH_ORDER")), "ORDER_NOT_EXIST");
    assert!(got.lock().unwrap().is_empty());

    // A receiver that answers 500 gets the notification again and again.
    let (bad_url, bad_got) = receiver(500);
    let created = c.create_qr(&qr("PF202611270102", 100, &bad_url)).unwrap();
    api(
        &env.base,
        "/sim/api/pay",
        serde_json::json!({"code": created.code}),
    );
    wait_for("three sends", || {
        (bad_got.lock().unwrap().len() >= 3).then_some(())
    });
    let ids: Vec<String> = bad_got
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| serde_json::from_slice::<serde_json::Value>(b).unwrap()["id"].to_string())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "the id is stable across retries"
    );
    let d = env.sim.lock().deliveries.clone();
    assert!(d.iter().all(|d| !d.acknowledged));

    // A tampered request is refused with 401 SIGN_ERROR.
    let mut req = c
        .request(
            "POST",
            "/v3/pay/transactions/out-trade-no/PF202611270102/close",
            Some(r#"{"mchid":"1900000109"}"#),
            now(),
        )
        .unwrap();
    req.body = br#"{"mchid":"1900000199"}"#.to_vec();
    let resp = UreqTransport::default().send(&req).unwrap();
    assert_eq!(resp.status, 401);
    assert!(String::from_utf8_lossy(&resp.body).contains("SIGN_ERROR"));
    // A stale timestamp too.
    let req = c
        .request(
            "GET",
            "/v3/pay/transactions/out-trade-no/PF202611270102?mchid=1900000109",
            None,
            now() - 300,
        )
        .unwrap();
    assert_eq!(UreqTransport::default().send(&req).unwrap().status, 401);
    // Another APIv3 key cannot decrypt the notifications.
    let other = client_for(
        &env.sim,
        &env.base,
        keys_once().0.clone(),
        "0123456789abcdef0123456789abcdef",
    );
    let (h, b) = bad_got.lock().unwrap()[0].clone();
    assert_eq!(
        other.parse_notification(&h, &b, now()),
        Err(NotifyError::Decrypt)
    );
}

#[test]
fn certificate_mode() {
    let env = start();
    let certs = env.client.download_certificates().unwrap();
    assert_eq!(certs.len(), 1);
    let (mkey, _) = keys_once();
    let verifier = WechatVerifier {
        public_key: None,
        platform_certs: certs.clone(),
    };
    let cfg = WechatConfig::new(MCHID, APPID, SERIAL, mkey.clone(), APIV3, verifier)
        .unwrap()
        .with_base_url(&env.base);
    let c = WechatClient::new(cfg, Arc::new(UreqTransport::default()));
    c.create_qr(&qr("PF202611270201", 100, "http://127.0.0.1:9/n"))
        .unwrap();
    assert_eq!(c.query("PF202611270201").unwrap(), TradeStatus::NotPaid);
    // The pages render.
    let page = ureq::get(&format!("{}/sim", env.base))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(page.contains("PF202611270201"));
    let token = env
        .sim
        .lock()
        .orders
        .values()
        .next()
        .unwrap()
        .code_token
        .clone();
    let scan = ureq::get(&format!(
        "{}/sim/scan?code=weixin://wxpay/bizpayurl?pr={token}",
        env.base
    ))
    .call()
    .unwrap()
    .into_string()
    .unwrap();
    assert!(scan.contains("支付") && scan.contains("1.00"));
}

#[test]
fn expired_order_stays_notpay_until_closed() {
    let env = start();
    let c = &env.client;
    let mut order = qr("PF202611270301", 100, "http://127.0.0.1:9/n");
    order.expires_at = now() + 1;
    let created = c.create_qr(&order).unwrap();
    std::thread::sleep(Duration::from_millis(2100));
    let (status, body) = api(
        &env.base,
        "/sim/api/pay",
        serde_json::json!({"code": created.code}),
    );
    assert_eq!(status, 409, "{body}");
    assert_eq!(c.query("PF202611270301").unwrap(), TradeStatus::NotPaid);
    // The same request after expiry no longer returns the code.
    assert_eq!(refused_code(c.create_qr(&order)), "INVALID_REQUEST");
    c.close("PF202611270301").unwrap();
    assert_eq!(c.query("PF202611270301").unwrap(), TradeStatus::Closed);
}

#[test]
fn tester_pages() {
    let env = start();
    let c = &env.client;
    let created = c
        .create_qr(&qr("PF202611270401", 2500, "http://127.0.0.1:9/n"))
        .unwrap();
    let get = |p: &str| {
        ureq::get(&format!("{}{p}", env.base))
            .call()
            .unwrap()
            .into_string()
            .unwrap()
    };
    let scan = get(&format!(
        "/sim/scan?code={}",
        created.code.replace('?', "%3F").replace('=', "%3D")
    ));
    assert!(scan.contains("25.00") && scan.contains("放弃"), "{scan}");
    let token = created.code.rsplit("pr=").next().unwrap().to_string();
    // Abandon: still NOTPAY, but scanned.
    let r = ureq::post(&format!("{}/sim/scan/abandon", env.base))
        .send_form(&[("token", &token)])
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(c.query("PF202611270401").unwrap(), TradeStatus::NotPaid);
    assert!(env.sim.lock().orders.values().all(|o| o.scanned));
    // Pay through the form.
    let r = ureq::post(&format!("{}/sim/scan/pay", env.base))
        .send_form(&[("token", &token)])
        .unwrap();
    assert!(r.into_string().unwrap().contains("支付成功"));
    assert!(matches!(
        c.query("PF202611270401").unwrap(),
        TradeStatus::Paid { .. }
    ));
    // Wallet: make a code through the form; the page lists it.
    ureq::post(&format!("{}/sim/wallet", env.base))
        .send_form(&[
            ("provider", "wechat"),
            ("needs_password", "on"),
            ("balance", "50.00"),
        ])
        .unwrap();
    let wallet = get("/sim/wallet");
    assert!(
        wallet.contains("50.00") && wallet.contains("生成付款码"),
        "{wallet}"
    );
    let orders: serde_json::Value = ureq::get(&format!("{}/sim/api/orders", env.base))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(orders[0]["state"], "paid");
    let (status, _) = api(
        &env.base,
        "/sim/api/bill-extra",
        serde_json::json!({"provider": "wechat", "merchant": MCHID, "record": {
            "transaction_id": "4200009999", "out_trade_no": "PF_UNKNOWN_01", "kind": "payment",
            "amount_fen": 777, "fee_fen": 5, "at": now()}}),
    );
    assert_eq!(status, 200);
    let bill = c.daily_bill(&today()).unwrap();
    assert!(
        bill.iter()
            .any(|r| r.out_trade_no == "PF_UNKNOWN_01" && r.amount_fen == 777)
    );
    assert!(bill.iter().any(|r| r.out_trade_no == "PF202611270401"));
}
