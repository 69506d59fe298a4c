//! The Alipay simulator driven by the real `AlipayClient` over HTTP on
//! 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_payments::alipay::{AlipayClient, AlipayConfig, beijing_time};
use doorstep_payments::http::UreqTransport;
use doorstep_payments::{
    BillKind, CodeOrder, NotifiedEvent, PayError, PayProvider, Provider, QrOrder, RefundOrder,
    RefundStatus, TradeStatus, keys,
};
use doorstep_paysim::state::WalletCode;
use doorstep_paysim::{AlipayApp, Sim, SimConfig};
use serde_json::json;
use std::io::{Read, Write};
use std::sync::{Arc, OnceLock, mpsc};
use std::time::Duration;

const APP_ID: &str = "2021000000000001";
const SELLER: &str = "2088102177846880";

/// Simulator keys and the app key, generated once (slow in debug builds).
fn keys_once() -> &'static (SimConfig, rsa::RsaPrivateKey) {
    static K: OnceLock<(SimConfig, rsa::RsaPrivateKey)> = OnceLock::new();
    K.get_or_init(|| (SimConfig::generate().unwrap(), keys::generate().unwrap()))
}

struct Env {
    sim: Sim,
    client: AlipayClient,
    base: String,
}

async fn start() -> Env {
    let (base_cfg, app_key) = keys_once().clone();
    let mut cfg = base_cfg;
    cfg.alipay = vec![AlipayApp {
        app_id: APP_ID.into(),
        seller_id: SELLER.into(),
        public_key: app_key.to_public_key(),
    }];
    cfg.retry_scale = 0.001;
    let sim = Sim::new(cfg);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(doorstep_paysim::serve(listener, sim.clone()));
    let client = AlipayClient::new(
        AlipayConfig {
            app_id: APP_ID.into(),
            seller_id: SELLER.into(),
            private_key: app_key,
            alipay_public_key: sim.cfg.alipay_key.to_public_key(),
            gateway: format!("{base}/gateway.do"),
        },
        Arc::new(UreqTransport::new(Duration::from_secs(10))),
    );
    Env { sim, client, base }
}

/// Runs a blocking client call off the runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// A notification receiver on 127.0.0.1: answers the n-th request with
/// `answers[n]` (the last one repeated) and hands over each body.
struct Receiver {
    url: String,
    bodies: mpsc::Receiver<Vec<u8>>,
}

fn receiver(answers: Vec<&'static str>) -> Receiver {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/alipay/notify", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut s) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head_end, len) = loop {
                let k = s.read(&mut chunk).unwrap();
                if k == 0 {
                    break (buf.len(), 0);
                }
                buf.extend_from_slice(&chunk[..k]);
                if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..p]).to_ascii_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map(|v| v.trim().parse::<usize>().unwrap())
                        .unwrap_or(0);
                    break (p + 4, len);
                }
            };
            while buf.len() < head_end + len {
                let k = s.read(&mut chunk).unwrap();
                if k == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..k]);
            }
            let _ = tx.send(buf[head_end..].to_vec());
            let answer = answers[n.min(answers.len() - 1)];
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    Receiver { url, bodies: rx }
}

fn qr(out: &str, fen: i64, notify_url: &str) -> QrOrder {
    QrOrder {
        out_trade_no: out.into(),
        description: "物业费 1栋101 2024Q1".into(),
        amount_fen: fen,
        expires_at: doorstep_paysim::state::now() + 600,
        notify_url: notify_url.into(),
        attach: Some("room-101".into()),
    }
}

fn code_order(out: &str, fen: i64, auth_code: &str) -> CodeOrder {
    CodeOrder {
        out_trade_no: out.into(),
        description: "物业费".into(),
        amount_fen: fen,
        auth_code: auth_code.into(),
        device_id: "phone-7".into(),
        store_id: "estate-1".into(),
        notify_url: None,
    }
}

fn wallet(sim: &Sim, code: &str, needs_password: bool, balance_fen: i64) {
    sim.lock().wallet.insert(
        code.into(),
        WalletCode {
            code: code.into(),
            provider: Provider::Alipay,
            payer: "2088102534368455".into(),
            needs_password,
            balance_fen,
            used_by: None,
        },
    );
}

fn today() -> String {
    beijing_time(doorstep_paysim::state::now())[..10].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_order_paid_notified_refunded_and_billed() {
    let env = start().await;
    let rx = receiver(vec!["success"]);
    let c = env.client.clone();
    let order = qr("PF202401020001", 8888, &rx.url);
    let created = blocking(move || c.create_qr(&order)).await.unwrap();
    assert!(
        created.code.starts_with("https://qr.alipay.com/bax"),
        "{}",
        created.code
    );

    // Precreate again with the same order: the same code.
    let c = env.client.clone();
    let order = qr("PF202401020001", 8888, &rx.url);
    assert_eq!(
        blocking(move || c.create_qr(&order)).await.unwrap(),
        created
    );

    let c = env.client.clone();
    assert_eq!(
        blocking(move || c.query("PF202401020001")).await.unwrap(),
        TradeStatus::NotPaid
    );

    env.sim
        .pay(APP_ID, "PF202401020001", "2088102534368455")
        .unwrap();
    let body = rx.bodies.recv_timeout(Duration::from_secs(20)).unwrap();
    let n = env.client.parse_notification(&[], &body, 0).unwrap();
    assert_eq!(n.out_trade_no, "PF202401020001");
    assert_eq!(n.amount_fen, 8888);
    assert_eq!(n.app_id, APP_ID);
    assert_eq!(n.merchant_id, SELLER);
    assert!(matches!(
        n.event,
        NotifiedEvent::Trade(TradeStatus::Paid {
            amount_fen: 8888,
            ..
        })
    ));

    let c = env.client.clone();
    match blocking(move || c.query("PF202401020001")).await.unwrap() {
        TradeStatus::Paid {
            transaction_id,
            amount_fen,
            paid_at,
        } => {
            assert_eq!(amount_fen, 8888);
            assert!(paid_at.is_some());
            assert_eq!(
                NotifiedEvent::Trade(TradeStatus::Paid {
                    transaction_id: transaction_id.clone(),
                    amount_fen,
                    paid_at
                }),
                n.event
            );
        }
        other => panic!("{other:?}"),
    }

    // Refund: idempotent by out_refund_no, bounded by the amount.
    let refund = |no: &str, fen: i64| RefundOrder {
        out_trade_no: "PF202401020001".into(),
        out_refund_no: no.into(),
        refund_fen: fen,
        total_fen: 8888,
        reason: "多收".into(),
        notify_url: None,
    };
    let c = env.client.clone();
    let r1 = refund("RF1", 1000);
    let (a, b) = blocking(move || (c.refund(&r1), c.refund(&r1))).await;
    assert_eq!(a.unwrap(), RefundStatus::Success);
    assert_eq!(b.unwrap(), RefundStatus::Success);
    assert_eq!(
        env.sim
            .lock()
            .orders
            .values()
            .next()
            .unwrap()
            .refunded_fen(),
        1000
    );
    let c = env.client.clone();
    let r2 = refund("RF2", 7889);
    match blocking(move || c.refund(&r2)).await {
        Err(PayError::Refused { code, .. }) => assert_eq!(code, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL"),
        other => panic!("{other:?}"),
    }
    let c = env.client.clone();
    let r3 = refund("RF1", 999);
    assert!(matches!(
        blocking(move || c.refund(&r3)).await,
        Err(PayError::Refused { .. })
    ));

    // Still paid after a partial refund; the bill lists both.
    let c = env.client.clone();
    assert!(matches!(
        blocking(move || c.query("PF202401020001")).await.unwrap(),
        TradeStatus::Paid { .. }
    ));
    let c = env.client.clone();
    let bill = blocking(move || c.daily_bill(&today())).await.unwrap();
    assert_eq!(bill.len(), 2, "{bill:?}");
    assert!(bill.iter().any(|r| r.kind == BillKind::Payment
        && r.out_trade_no == "PF202401020001"
        && r.amount_fen == 8888
        && r.fee_fen == 53));
    assert!(
        bill.iter()
            .any(|r| r.kind == BillKind::Refund && r.amount_fen == 1000)
    );

    // Refund the rest: the trade closes, query says refunded.
    let c = env.client.clone();
    let r4 = refund("RF3", 7888);
    assert_eq!(
        blocking(move || c.refund(&r4)).await.unwrap(),
        RefundStatus::Success
    );
    let c = env.client.clone();
    assert_eq!(
        blocking(move || c.query("PF202401020001")).await.unwrap(),
        TradeStatus::Refunded
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_codes() {
    let env = start().await;
    wallet(&env.sim, "286688771234567890", true, 100_000);
    wallet(&env.sim, "281111222233334444", false, 100_000);
    wallet(&env.sim, "289999888877776666", false, 100);

    let c = env.client.clone();
    let st = blocking(move || c.pay_with_code(&code_order("PC000001", 5000, "286688771234567890")))
        .await;
    assert_eq!(st.unwrap(), TradeStatus::UserPaying);
    let c = env.client.clone();
    assert_eq!(
        blocking(move || c.query("PC000001")).await.unwrap(),
        TradeStatus::NotPaid
    );
    env.sim.pay(APP_ID, "PC000001", "2088102534368455").unwrap();
    let c = env.client.clone();
    assert!(matches!(
        blocking(move || c.query("PC000001")).await.unwrap(),
        TradeStatus::Paid {
            amount_fen: 5000,
            ..
        }
    ));

    // No password: paid at once (confirmed by a query).
    let c = env.client.clone();
    let st = blocking(move || c.pay_with_code(&code_order("PC000002", 5000, "281111222233334444")))
        .await;
    assert!(matches!(
        st.unwrap(),
        TradeStatus::Paid {
            amount_fen: 5000,
            ..
        }
    ));

    // A used code, an unknown code, too little balance.
    for (out, code, sub) in [
        (
            "PC000003",
            "281111222233334444",
            "ACQ.PAYMENT_AUTH_CODE_INVALID",
        ),
        (
            "PC000004",
            "280000000000000000",
            "ACQ.PAYMENT_AUTH_CODE_INVALID",
        ),
        (
            "PC000005",
            "289999888877776666",
            "ACQ.BUYER_BALANCE_NOT_ENOUGH",
        ),
    ] {
        let c = env.client.clone();
        match blocking(move || c.pay_with_code(&code_order(out, 5000, code)))
            .await
            .unwrap()
        {
            TradeStatus::Failed { reason } => assert!(reason.starts_with(sub), "{reason}"),
            other => panic!("{out}: {other:?}"),
        }
        let c = env.client.clone();
        assert_eq!(
            blocking(move || c.query(out)).await.unwrap(),
            TradeStatus::NotPaid
        );
    }

    // Paying an already paid order number: settled by a query.
    wallet(&env.sim, "282222333344445555", false, 100_000);
    let c = env.client.clone();
    let st = blocking(move || c.pay_with_code(&code_order("PC000002", 5000, "282222333344445555")))
        .await;
    assert!(matches!(st.unwrap(), TradeStatus::Paid { .. }));

    // Not an Alipay code: refused before sending.
    let c = env.client.clone();
    let st = blocking(move || c.pay_with_code(&code_order("PC000006", 5000, "134567890123456789")))
        .await;
    assert!(matches!(
        st,
        Err(PayError::Invalid {
            field: "auth_code",
            ..
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_and_cancel() {
    let env = start().await;
    // Never scanned: close is success (TRADE_NOT_EXIST), and the code no longer pays.
    let c = env.client.clone();
    blocking(move || c.create_qr(&qr("PF000001", 100, "")))
        .await
        .unwrap();
    let c = env.client.clone();
    blocking(move || c.close("PF000001")).await.unwrap();
    assert!(env.sim.pay(APP_ID, "PF000001", "2088000000000001").is_err());

    // Scanned, then closed.
    let c = env.client.clone();
    blocking(move || c.create_qr(&qr("PF000002", 100, "")))
        .await
        .unwrap();
    env.sim.scan(APP_ID, "PF000002", "2088000000000001");
    let c = env.client.clone();
    assert_eq!(
        blocking(move || c.query("PF000002")).await.unwrap(),
        TradeStatus::NotPaid
    );
    let c = env.client.clone();
    blocking(move || (c.close("PF000002").unwrap(), c.close("PF000002").unwrap())).await;
    let c = env.client.clone();
    assert_eq!(
        blocking(move || c.query("PF000002")).await.unwrap(),
        TradeStatus::Closed
    );

    // Paid: close refused.
    let c = env.client.clone();
    blocking(move || c.create_qr(&qr("PF000003", 100, "")))
        .await
        .unwrap();
    env.sim.pay(APP_ID, "PF000003", "2088000000000001").unwrap();
    let c = env.client.clone();
    match blocking(move || c.close("PF000003")).await {
        Err(PayError::Refused { code, .. }) => assert_eq!(code, "ACQ.TRADE_STATUS_ERROR"),
        other => panic!("{other:?}"),
    }

    // Cancel: unpaid → closed; paid → refunded; unknown → fine.
    wallet(&env.sim, "286688771234567891", true, 100_000);
    wallet(&env.sim, "281111222233334445", false, 100_000);
    let c = env.client.clone();
    let st =
        blocking(move || c.pay_with_code(&code_order("PC000010", 300, "286688771234567891"))).await;
    assert_eq!(st.unwrap(), TradeStatus::UserPaying);
    let c = env.client.clone();
    blocking(move || c.reverse("PC000010")).await.unwrap();
    let c = env.client.clone();
    assert_eq!(
        blocking(move || c.query("PC000010")).await.unwrap(),
        TradeStatus::Closed
    );
    assert!(env.sim.pay(APP_ID, "PC000010", "x").is_err());

    let c = env.client.clone();
    let st =
        blocking(move || c.pay_with_code(&code_order("PC000011", 300, "281111222233334445"))).await;
    assert!(matches!(st.unwrap(), TradeStatus::Paid { .. }));
    let c = env.client.clone();
    blocking(move || {
        (
            c.reverse("PC000011").unwrap(),
            c.reverse("PC000011").unwrap(),
        )
    })
    .await;
    let c = env.client.clone();
    assert_eq!(
        blocking(move || c.query("PC000011")).await.unwrap(),
        TradeStatus::Refunded
    );
    let c = env.client.clone();
    blocking(move || c.reverse("PC999999")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_answering_fail_is_retried_with_the_same_notify_id() {
    let env = start().await;
    let rx = receiver(vec!["fail", "success\n", "success"]);
    let c = env.client.clone();
    let order = qr("PF000100", 1, &rx.url);
    blocking(move || c.create_qr(&order)).await.unwrap();
    env.sim.pay(APP_ID, "PF000100", "2088000000000001").unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let body = rx.bodies.recv_timeout(Duration::from_secs(20)).unwrap();
        ids.push(
            env.client
                .parse_notification(&[], &body, 0)
                .unwrap()
                .notify_id,
        );
    }
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    // Acknowledged on the third send ("success\n" is not "success").
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let done = env
            .sim
            .lock()
            .deliveries
            .iter()
            .any(|d| d.acknowledged && d.attempts == 3);
        if done {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not acknowledged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(rx.bodies.recv_timeout(Duration::from_millis(800)).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_checked() {
    let env = start().await;
    // The wrong app key: invalid signature; an unknown app.
    let fixture = format!(
        "{}/../payments/tests/data/alipay/app_private_key_c4402e7.pem",
        env!("CARGO_MANIFEST_DIR")
    );
    let other_key = keys::load_private_key(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let mut wrong = env.client.clone();
    wrong.cfg.private_key = other_key;
    match blocking(move || wrong.query("PF000001")).await {
        Err(PayError::Refused { code, .. }) => assert_eq!(code, "isv.invalid-signature"),
        other => panic!("{other:?}"),
    }
    let mut unknown = env.client.clone();
    unknown.cfg.app_id = "2021999999999999".into();
    match blocking(move || unknown.query("PF000001")).await {
        Err(PayError::Refused { code, .. }) => assert_eq!(code, "isv.invalid-app-id"),
        other => panic!("{other:?}"),
    }

    // Field validation at the gateway.
    for (biz, sub) in [
        (
            json!({"out_trade_no":"PF1","total_amount":"1.001","subject":"x"}),
            "ACQ.INVALID_PARAMETER",
        ),
        (
            json!({"out_trade_no":"PF1","total_amount":"0.00","subject":"x"}),
            "ACQ.INVALID_PARAMETER",
        ),
        (
            json!({"out_trade_no":"PF1","total_amount":"100000000.01","subject":"x"}),
            "ACQ.INVALID_PARAMETER",
        ),
        (
            json!({"out_trade_no":"PF 1","total_amount":"1.00","subject":"x"}),
            "ACQ.INVALID_PARAMETER",
        ),
        (
            json!({"out_trade_no":"PF1","total_amount":"1.00","subject":"a=b"}),
            "ACQ.INVALID_PARAMETER",
        ),
        (
            json!({"out_trade_no":"PF1","total_amount":"1.00"}),
            "ACQ.INVALID_PARAMETER",
        ),
    ] {
        let c = env.client.clone();
        let reply = blocking(move || c.call("alipay.trade.precreate", &biz, None))
            .await
            .unwrap();
        assert!(reply.signed);
        assert_eq!(reply.code, "40004");
        assert_eq!(reply.sub_code.as_deref(), Some(sub));
    }
    let c = env.client.clone();
    let reply = blocking(move || c.call("alipay.trade.nonexistent", &json!({}), None))
        .await
        .unwrap();
    assert_eq!(reply.sub_code.as_deref(), Some("isv.invalid-method"));

    // Responses put the method's member first.
    let c = env.client.clone();
    let req = c
        .build(
            "alipay.trade.query",
            &json!({"out_trade_no":"PF000001"}),
            None,
            doorstep_paysim::state::now(),
        )
        .unwrap();
    let resp =
        blocking(move || doorstep_payments::http::Transport::send(&UreqTransport::default(), &req))
            .await
            .unwrap();
    let text = String::from_utf8(resp.body).unwrap();
    assert!(
        text.starts_with("{\"alipay_trade_query_response\":{"),
        "{text}"
    );
    assert!(text.contains("ACQ.TRADE_NOT_EXIST"));

    // Params in the query string (with biz_content in the form) are accepted too.
    let c = env.client.clone();
    let req = c
        .build(
            "alipay.trade.query",
            &json!({"out_trade_no":"PF000001"}),
            None,
            doorstep_paysim::state::now(),
        )
        .unwrap();
    let params =
        doorstep_payments::alipay::form_decode(std::str::from_utf8(&req.body).unwrap()).unwrap();
    let (biz, common): (Vec<_>, Vec<_>) = params.into_iter().partition(|(k, _)| k == "biz_content");
    let url = format!(
        "{}/gateway.do?{}",
        env.base,
        doorstep_payments::alipay::form_encode(&common)
    );
    let req = doorstep_payments::http::HttpRequest {
        method: "POST",
        url,
        headers: req.headers.clone(),
        body: doorstep_payments::alipay::form_encode(&biz).into_bytes(),
    };
    let resp =
        blocking(move || doorstep_payments::http::Transport::send(&UreqTransport::default(), &req))
            .await
            .unwrap();
    let reply = doorstep_payments::alipay::parse_reply(
        &resp.body,
        "alipay.trade.query",
        &env.sim.cfg.alipay_key.to_public_key(),
    )
    .unwrap();
    assert_eq!(reply.sub_code.as_deref(), Some("ACQ.TRADE_NOT_EXIST"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bill_includes_extra_records_and_empty_days() {
    let env = start().await;
    let at = doorstep_paysim::state::now();
    env.sim.lock().extra_bill_records.push((
        APP_ID.into(),
        doorstep_payments::BillRecord {
            transaction_id: "2024010222001400009999999999".into(),
            out_trade_no: "UNSEEN0001".into(),
            kind: BillKind::Payment,
            amount_fen: 4200,
            fee_fen: 25,
            at,
        },
    ));
    let c = env.client.clone();
    let bill = blocking(move || c.daily_bill(&today())).await.unwrap();
    assert_eq!(bill.len(), 1);
    assert_eq!(bill[0].out_trade_no, "UNSEEN0001");
    assert_eq!(bill[0].at, at);
    let c = env.client.clone();
    assert!(
        blocking(move || c.daily_bill("2020-01-01"))
            .await
            .unwrap()
            .is_empty()
    );
    // A future day has no bill yet.
    let c = env.client.clone();
    assert!(
        blocking(move || c.daily_bill("2999-01-01"))
            .await
            .unwrap()
            .is_empty()
    );
    let c = env.client.clone();
    assert!(matches!(
        blocking(move || c.daily_bill("2024-1-1")).await,
        Err(PayError::Invalid { .. })
    ));
}
