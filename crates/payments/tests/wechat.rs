//! WeChat Pay API v3 protocol code against the published vectors (the
//! wechatpay-go SDK's test data under `tests/data/wechat/`) and the derived
//! vectors of the reference notes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_payments::http::{HttpRequest, HttpResponse, Transport};
use doorstep_payments::keys::{self, load_certificate, load_private_key};
use doorstep_payments::wechat::types::{NativeRequest, OrderAmount};
use doorstep_payments::wechat::*;
use doorstep_payments::{
    BillKind, NotifiedEvent, NotifyError, PayError, PayProvider, RefundNotified, RefundStatus,
    TradeStatus,
};
use std::sync::Arc;

const KEY: &str = include_str!("data/wechat/merchant_test_key.pem");
const NOTIFY_CERT: &str = include_str!("data/wechat/notify_cert_D7CE59D1F522D701.pem");
const NOTIFY_BODY: &str = include_str!("data/wechat/notify_body.json");
const NOTIFY_SIGNATURE: &str = include_str!("data/wechat/notify_signature.txt");

fn notify_headers(ts: &str, sig: &str, serial: &str) -> Vec<(String, String)> {
    vec![
        ("wechatpay-timestamp".into(), ts.into()),
        (
            "wechatpay-nonce".into(),
            "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz".into(),
        ),
        ("wechatpay-signature".into(), sig.trim().into()),
        ("wechatpay-serial".into(), serial.into()),
    ]
}

fn cert_verifier() -> WechatVerifier {
    WechatVerifier {
        public_key: None,
        platform_certs: vec![load_certificate(NOTIFY_CERT).unwrap()],
    }
}

#[test]
fn wechatpay_go_rsa_vector() {
    let key = load_private_key(KEY).unwrap();
    let expected = "BKyAfU4iMCuvXMXS0Wzam3V/cnxZ+JaqigPM5OhljS2iOT95OO6Fsuml2JkFANJU9K6q9bLlDhPXuoV\
        z+pp4hAm6pHU4ld815U4jsKu1RkyaII+1CYBUYC8TK0XtJ8FwUXXz8vZHh58rrAVN1XwNyvD1vfpxrMT4SL536GLwvpUHlCqIMzoZUguLl\
        i/K8V29QiOhuH6IEqLNJn8e9b3nwNcQ7be3CzYGpDAKBfDGPCqCv8Rw5zndhlffk2FEA70G4hvMwe51qMN/RAJbknXG23bSlObuTCN7Ndj\
        1aJGH6/L+hdwfLpUtJm4QYVazzW7DFD27EpSQEqA8bX9+8m1rLg==";
    assert_eq!(keys::sign_sha256(&key, b"source").unwrap(), expected);
}

#[test]
fn derived_native_order_vector() {
    let key = load_private_key(KEY).unwrap();
    let req = NativeRequest {
        appid: "wxd678efh567hg6787".into(),
        mchid: "1230000109".into(),
        description: "物业费-1栋101-2024Q1".into(),
        out_trade_no: "PF202401020001".into(),
        time_expire: types::format_time(1704168000),
        attach: None,
        notify_url: "https://pm.example.com/wxpay/notify".into(),
        amount: OrderAmount {
            total: 8888,
            currency: Some("CNY".into()),
        },
    };
    let body = serde_json::to_string(&req).unwrap();
    assert_eq!(
        body,
        r#"{"appid":"wxd678efh567hg6787","mchid":"1230000109","description":"物业费-1栋101-2024Q1","out_trade_no":"PF202401020001","time_expire":"2024-01-02T12:00:00+08:00","notify_url":"https://pm.example.com/wxpay/notify","amount":{"total":8888,"currency":"CNY"}}"#
    );
    let msg = sign_message(
        "POST",
        "/v3/pay/transactions/native",
        1704164645,
        "593BEC0C930BF1AFEB40B4A08C8FB242",
        &body,
    );
    assert!(msg.starts_with("POST\n/v3/pay/transactions/native\n1704164645\n593BEC"));
    assert!(msg.ends_with("}}\n"));
    let expected = "bhFZ9QI06AFt2u2MuaCIPmUtPLQ4VOUjtvgyPeOK0lQwhz4mjEBG6bQSQbmDdvmTXqDWA0DocQmd/VccA0O3gI0oVHE7RG99NIQeb2B4bZJc5sznW33tDz6xMCV0G0oDHyk/mivmQ+CuLJeDl9s/UI7Qwx2/niyipKkwISK0/q/2hFEuFC1F6Fx1lOfvdwVat/JPPNT5Wor0YQ05DoAjt/Q2gfP98fK/B/kaUt+2vUbk/TdE+uIhBseYNJNaIH4uPW6yz1mKmZLXX5CZczkcUaYHwi6db8SP3UA6R5SeYpb07rzeklqj3sdAovVGKUIdy0Cr9AKEi5QvcHTe8/ttDg==";
    assert_eq!(keys::sign_sha256(&key, msg.as_bytes()).unwrap(), expected);
    let header = authorization(
        "1230000109",
        "F5765756002FDD77",
        &key,
        "POST",
        "/v3/pay/transactions/native",
        &body,
        1704164645,
        "593BEC0C930BF1AFEB40B4A08C8FB242",
    )
    .unwrap();
    assert_eq!(
        header,
        format!(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"1230000109\",nonce_str=\"593BEC0C930BF1AFEB40B4A08C8FB242\",timestamp=\"1704164645\",serial_no=\"F5765756002FDD77\",signature=\"{expected}\""
        )
    );
    let p = parse_authorization(&header).unwrap();
    assert_eq!(p.signature, expected);
    assert_eq!(p.timestamp, 1704164645);
}

#[test]
fn get_message_has_empty_body_line() {
    assert_eq!(
        sign_message("GET", "/v3/certificates", 1624523846, "A1B2C3D4E5F6G7", ""),
        "GET\n/v3/certificates\n1624523846\nA1B2C3D4E5F6G7\n\n"
    );
}

#[test]
fn authorization_parameters_in_any_order() {
    let orders = [
        r#"WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",timestamp="1554208460",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",signature="uOVRnA4qG/MNnYzdQxJanN+zU+lTgIcnU9BxGw5dKjK+VdEUz2FeIoC+D5sB/LN+nGzX3hfZg6r5wT1pl2ZobmIc6p0ldN7J6yDgUzbX8Uk3sD4a4eZVPTBvqNDoUqcYMlZ9uuDdCvNv4TM3c1WzsXUrExwVkI1XO5jCNbgDJ25nkT/c1gIFvqoogl7MdSFGc4W4xZsqCItnqbypR3RuGIlR9h9vlRsy7zJR9PBI83X8alLDIfR1ukt1P7tMnmogZ0cuDY8cZsd8ZlCgLadmvej58SLsIkVxFJ8XyUgx9FmutKSYTmYtWBZ0+tNvfGmbXU7cob8H/4nLBiCwIUFluw==""#,
        r#"WECHATPAY2-SHA256-RSA2048 mchid="1900009191",serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C",timestamp="1554208460",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",signature="uOVRnA4qG/MNnYzdQxJanN+zU+lTgIcnU9BxGw5dKjK+VdEUz2FeIoC+D5sB/LN+nGzX3hfZg6r5wT1pl2ZobmIc6p0ldN7J6yDgUzbX8Uk3sD4a4eZVPTBvqNDoUqcYMlZ9uuDdCvNv4TM3c1WzsXUrExwVkI1XO5jCNbgDJ25nkT/c1gIFvqoogl7MdSFGc4W4xZsqCItnqbypR3RuGIlR9h9vlRsy7zJR9PBI83X8alLDIfR1ukt1P7tMnmogZ0cuDY8cZsd8ZlCgLadmvej58SLsIkVxFJ8XyUgx9FmutKSYTmYtWBZ0+tNvfGmbXU7cob8H/4nLBiCwIUFluw==""#,
        r#"WECHATPAY2-SHA256-RSA2048 signature="uOVRnA4qG/MNnYzdQxJanN+zU+lTgIcnU9BxGw5dKjK+VdEUz2FeIoC+D5sB/LN+nGzX3hfZg6r5wT1pl2ZobmIc6p0ldN7J6yDgUzbX8Uk3sD4a4eZVPTBvqNDoUqcYMlZ9uuDdCvNv4TM3c1WzsXUrExwVkI1XO5jCNbgDJ25nkT/c1gIFvqoogl7MdSFGc4W4xZsqCItnqbypR3RuGIlR9h9vlRsy7zJR9PBI83X8alLDIfR1ukt1P7tMnmogZ0cuDY8cZsd8ZlCgLadmvej58SLsIkVxFJ8XyUgx9FmutKSYTmYtWBZ0+tNvfGmbXU7cob8H/4nLBiCwIUFluw==", timestamp="1554208460", serial_no="1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C", nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242", mchid="1900009191""#,
    ];
    let first = parse_authorization(orders[0]).unwrap();
    assert_eq!(first.mchid, "1900009191");
    assert_eq!(first.serial_no, "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C");
    for h in &orders[1..] {
        assert_eq!(parse_authorization(h).unwrap(), first);
    }
    for bad in [
        "",
        r#"Bearer mchid="1""#,
        r#"WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",timestamp="1",serial_no="s""#,
        r#"WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="2",nonce_str="n",timestamp="1",serial_no="s",signature="x""#,
        r#"WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",timestamp="soon",serial_no="s",signature="x""#,
        r#"WECHATPAY2-SHA256-RSA2048 mchid=1,nonce_str="n",timestamp="1",serial_no="s",signature="x""#,
    ] {
        assert!(parse_authorization(bad).is_err(), "{bad}");
    }
}

#[test]
fn official_aes128_vector_and_derived_aes256_vector() {
    let plain = decrypt_resource(
        "testAPIv3Key0000",
        "wCq51qZv4Yfg",
        "Dl56FrqWQJF1t9LtC3vEUsniZKvbqdR8",
        "FsdXzxryWfKwvLJKf8LG/ToRPTRh8RN9wROC",
    )
    .unwrap();
    assert_eq!(plain, b"Hello World");

    let key = "0123456789abcdef0123456789abcdef";
    let text = r#"{"mchid":"1230000109","out_trade_no":"PF202401020001","trade_state":"SUCCESS","amount":{"total":8888,"payer_total":8888,"currency":"CNY","payer_currency":"CNY"}}"#;
    let ct = "i1iux/rQWhHRLTa9KJ9R8M37e3MS4PP1AjFHQJFpN94fNstgHuG7D3/9+x87qWi+RqjORHWPRuho+mrARfAwEpyNVh+k2Ywm/JU+R5zINwgELEMVmHry/kaPxovic5nNN+4NDkXUhYFXQsWAKgSGtMC7k34T4eNgiJoN3HxCISR5OqZ16lADh8JhekrJS2NXfcRWZBHX8JBWskBJAWBHUjGhw0nPuPgvqvzLZuG32/QN";
    assert_eq!(
        encrypt_resource(key, "abcdef123456", "transaction", text.as_bytes()).unwrap(),
        ct
    );
    assert_eq!(
        decrypt_resource(key, "abcdef123456", "transaction", ct).unwrap(),
        text.as_bytes()
    );
    assert_eq!(
        decrypt_resource(key, "abcdef123456", "refund", ct),
        Err(NotifyError::Decrypt)
    );
    assert_eq!(
        decrypt_resource(
            "0123456789abcdef0123456789abcdeX",
            "abcdef123456",
            "transaction",
            ct
        ),
        Err(NotifyError::Decrypt)
    );
    assert!(matches!(
        decrypt_resource(key, "short", "transaction", ct),
        Err(NotifyError::Malformed(_))
    ));
}

#[test]
fn official_notification_vector() {
    let cert = load_certificate(NOTIFY_CERT).unwrap();
    assert_eq!(cert.serial, "D7CE59D1F522D701");
    let v = cert_verifier();
    let h = notify_headers("1624523846", NOTIFY_SIGNATURE, "D7CE59D1F522D701");
    v.verify(&h, NOTIFY_BODY.as_bytes(), 1624523846).unwrap();

    let env: types::Notification = serde_json::from_str(NOTIFY_BODY).unwrap();
    assert_eq!(env.id, "3119dfba-e649-5eec-ab1e-3412bc4d2e17");
    let r = &env.resource;
    let plain = decrypt_resource(
        "testMchAPIv3Key0",
        &r.nonce,
        &r.associated_data,
        &r.ciphertext,
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(plain).unwrap(),
        r#"{"mchid":"1234567890","appid":"054aa7d7a2a54ab5898df65bd96f001c","create_time":"2020-06-30T12:12:00+08:00","out_contract_code":"21640bdbd08e473e828f3206a2741c6e"}"#
    );

    // Tampered body, unknown serial, SIGNTEST probe, missing header.
    let tampered = NOTIFY_BODY.replace("签约成功", "签约失败");
    assert_eq!(
        v.verify(&h, tampered.as_bytes(), 1624523846),
        Err(NotifyError::BadSignature)
    );
    let other = notify_headers("1624523846", NOTIFY_SIGNATURE, "PUB_KEY_ID_0000000001");
    assert_eq!(
        v.verify(&other, NOTIFY_BODY.as_bytes(), 1624523846),
        Err(NotifyError::UnknownSerial("PUB_KEY_ID_0000000001".into()))
    );
    let probe = notify_headers(
        "1624523846",
        "WECHATPAY/SIGNTEST/abcdef==",
        "D7CE59D1F522D701",
    );
    assert_eq!(
        v.verify(&probe, NOTIFY_BODY.as_bytes(), 1624523846),
        Err(NotifyError::SignTest)
    );
    let mut missing = h.clone();
    missing.retain(|(k, _)| k != "wechatpay-nonce");
    assert!(matches!(
        v.verify(&missing, NOTIFY_BODY.as_bytes(), 1624523846),
        Err(NotifyError::Malformed(_))
    ));
}

#[test]
fn serial_differing_only_in_case_is_unknown() {
    let body = NOTIFY_BODY.as_bytes();
    for serial in ["d7ce59d1f522d701", "D7CE59D1F522d701"] {
        let h = notify_headers("1624523846", NOTIFY_SIGNATURE, serial);
        assert_eq!(
            cert_verifier().verify(&h, body, 1624523846),
            Err(NotifyError::UnknownSerial(serial.into())),
            "{serial}"
        );
    }
}

#[test]
fn replay_window_edges() {
    let v = cert_verifier();
    let h = notify_headers("1624523846", NOTIFY_SIGNATURE, "D7CE59D1F522D701");
    let body = NOTIFY_BODY.as_bytes();
    for now in [1624523846 + 299, 1624523846 - 299] {
        assert_eq!(v.verify(&h, body, now), Ok(()), "{now}");
    }
    for now in [1624523846 + 300, 1624523846 - 300, 1624523846 + 10_000] {
        assert_eq!(v.verify(&h, body, now), Err(NotifyError::Replay), "{now}");
    }
}

#[test]
fn public_key_and_certificate_both_accepted() {
    let cert = load_certificate(NOTIFY_CERT).unwrap();
    let v = WechatVerifier {
        public_key: Some((
            "PUB_KEY_ID_0114232134912410000000".into(),
            cert.public_key.clone(),
        )),
        platform_certs: vec![cert],
    };
    let body = NOTIFY_BODY.as_bytes();
    for serial in ["PUB_KEY_ID_0114232134912410000000", "D7CE59D1F522D701"] {
        let h = notify_headers("1624523846", NOTIFY_SIGNATURE, serial);
        assert_eq!(v.verify(&h, body, 1624523846), Ok(()), "{serial}");
    }
    assert_eq!(
        v.request_serial(),
        Some("PUB_KEY_ID_0114232134912410000000")
    );
}

#[test]
fn response_headers_verify() {
    let key = load_private_key(KEY).unwrap();
    let v = WechatVerifier {
        public_key: Some(("PUB_KEY_ID_1".into(), key.to_public_key())),
        platform_certs: vec![],
    };
    let h = response_headers(&key, "PUB_KEY_ID_1", b"", 1700000000, "abc").unwrap();
    assert_eq!(v.verify(&h, b"", 1700000000), Ok(()));
    assert_eq!(
        v.verify(&h, b"x", 1700000000),
        Err(NotifyError::BadSignature)
    );
}

#[test]
fn self_signed_certificate_loads() {
    let key = load_private_key(KEY).unwrap();
    let pem = keys::self_signed_certificate(
        &key,
        &[0x12, 0x34, 0xAB],
        "Test",
        1_700_000_000,
        1_900_000_000,
    )
    .unwrap();
    let c = load_certificate(&pem).unwrap();
    assert_eq!(c.serial, "1234AB");
    assert_eq!(c.not_before, 1_700_000_000);
    assert_eq!(c.public_key, key.to_public_key());
}

/// A transport that answers from a closure and records the requests.
struct Fake<F: Fn(&HttpRequest) -> HttpResponse + Send + Sync>(F);

impl<F: Fn(&HttpRequest) -> HttpResponse + Send + Sync> Transport for Fake<F> {
    fn send(&self, req: &HttpRequest) -> Result<HttpResponse, String> {
        Ok((self.0)(req))
    }
}

fn config() -> WechatConfig {
    let key = load_private_key(KEY).unwrap();
    let v = WechatVerifier {
        public_key: Some(("PUB_KEY_ID_1".into(), key.to_public_key())),
        platform_certs: vec![],
    };
    WechatConfig::new(
        "1230000109",
        "wxd678efh567hg6787",
        "F5765756002FDD77",
        key,
        "0123456789abcdef0123456789abcdef",
        v,
    )
    .unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn notification(cfg: &WechatConfig, tx_json: &str, ts: i64) -> (Vec<(String, String)>, Vec<u8>) {
    event_notification(cfg, "TRANSACTION.SUCCESS", "transaction", tx_json, ts)
}

/// A signed notification of any event type carrying `resource_json`.
fn event_notification(
    cfg: &WechatConfig,
    event_type: &str,
    original_type: &str,
    resource_json: &str,
    ts: i64,
) -> (Vec<(String, String)>, Vec<u8>) {
    let key = load_private_key(KEY).unwrap();
    let ct = encrypt_resource(
        cfg.apiv3_key(),
        "abcdef123456",
        original_type,
        resource_json.as_bytes(),
    )
    .unwrap();
    let body = serde_json::json!({
        "id": "EV-2018022511223320873",
        "create_time": "2015-05-20T13:29:35+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功",
        "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": ct, "associated_data": original_type, "nonce": "abcdef123456"}
    })
    .to_string()
    .into_bytes();
    let h = response_headers(&key, "PUB_KEY_ID_1", &body, ts, "n0nce")
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    (h, body)
}

#[test]
fn config_requires_32_byte_key() {
    let key = load_private_key(KEY).unwrap();
    let v = WechatVerifier {
        public_key: Some(("PUB_KEY_ID_1".into(), key.to_public_key())),
        platform_certs: vec![],
    };
    for bad in ["testAPIv3Key0000", "0123456789abcdef0123456789abcdef0", ""] {
        assert!(matches!(
            WechatConfig::new("1", "wx", "S", key.clone(), bad, v.clone()),
            Err(PayError::Invalid {
                field: "apiv3_key",
                ..
            })
        ));
    }
}

#[test]
fn parse_notification_checks_merchant() {
    let cfg = config();
    let client = WechatClient::new(
        cfg.clone(),
        Arc::new(Fake(|_: &HttpRequest| unreachable!())),
    );
    let t = now();
    let ok_tx = r#"{"appid":"wxd678efh567hg6787","mchid":"1230000109","out_trade_no":"PF202401020001","transaction_id":"4200000001","trade_state":"SUCCESS","success_time":"2024-01-02T10:00:00+08:00","amount":{"total":8888,"payer_total":8888,"currency":"CNY","payer_currency":"CNY"}}"#;
    let (h, body) = notification(&cfg, ok_tx, t);
    let n = client.parse_notification(&h, &body, t).unwrap();
    assert_eq!(n.out_trade_no, "PF202401020001");
    assert_eq!(n.amount_fen, 8888);
    assert_eq!(n.notify_id, "EV-2018022511223320873");
    assert_eq!(
        n.event,
        NotifiedEvent::Trade(TradeStatus::Paid {
            transaction_id: "4200000001".into(),
            amount_fen: 8888,
            paid_at: Some(1704160800)
        })
    );
    let other = ok_tx.replace("1230000109", "1230000999");
    let (h, body) = notification(&cfg, &other, t);
    assert_eq!(
        client.parse_notification(&h, &body, t),
        Err(NotifyError::WrongMerchant)
    );
    let other_app = ok_tx.replace("wxd678efh567hg6787", "wx0000000000000000");
    let (h, body) = notification(&cfg, &other_app, t);
    assert_eq!(
        client.parse_notification(&h, &body, t),
        Err(NotifyError::WrongMerchant)
    );
    assert_eq!(client.notification_answer(true).0, 200);
    let (status, _, body) = client.notification_answer(false);
    assert_eq!(status, 500);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        r#"{"code":"FAIL","message":"失败"}"#
    );
}

const REFUND_NOTICE: &str = r#"{"mchid":"1230000109","out_trade_no":"PF202401020001","transaction_id":"4200000001","out_refund_no":"RF202401020001","refund_id":"50000000382019052709732678859","refund_status":"ABNORMAL","amount":{"total":8888,"refund":8888,"payer_total":8888,"payer_refund":8888}}"#;

#[test]
fn refund_notifications_never_describe_a_payment() {
    let cfg = config();
    let client = WechatClient::new(
        cfg.clone(),
        Arc::new(Fake(|_: &HttpRequest| unreachable!())),
    );
    let t = now();
    let (h, body) = event_notification(&cfg, "REFUND.ABNORMAL", "refund", REFUND_NOTICE, t);
    let n = client.parse_notification(&h, &body, t).unwrap();
    assert_eq!(n.out_trade_no, "PF202401020001");
    assert_eq!(n.amount_fen, 8888);
    assert_eq!(
        n.event,
        NotifiedEvent::Refund(RefundNotified {
            out_refund_no: "RF202401020001".into(),
            status: RefundStatus::Failed,
            refund_fen: 8888,
        })
    );
    let partial = REFUND_NOTICE
        .replace("ABNORMAL", "SUCCESS")
        .replace(r#""refund":8888"#, r#""refund":100"#);
    let (h, body) = event_notification(&cfg, "REFUND.SUCCESS", "refund", &partial, t);
    assert_eq!(
        client.parse_notification(&h, &body, t).unwrap().event,
        NotifiedEvent::Refund(RefundNotified {
            out_refund_no: "RF202401020001".into(),
            status: RefundStatus::Success,
            refund_fen: 100,
        })
    );
    // A transaction resource under a refund event, or the reverse, or an
    // unknown event, is not guessed at.
    let tx = r#"{"appid":"wxd678efh567hg6787","mchid":"1230000109","out_trade_no":"PF202401020001","transaction_id":"4200000001","trade_state":"SUCCESS","amount":{"total":8888,"currency":"CNY"}}"#;
    for (event, kind, json) in [
        ("REFUND.SUCCESS", "transaction", tx),
        ("TRANSACTION.SUCCESS", "refund", REFUND_NOTICE),
        ("TRANSACTION.CLOSED", "transaction", tx),
    ] {
        let (h, body) = event_notification(&cfg, event, kind, json, t);
        assert!(
            matches!(
                client.parse_notification(&h, &body, t),
                Err(NotifyError::Malformed(_))
            ),
            "{event} {kind}"
        );
    }
}

#[test]
fn notifications_in_another_currency_are_refused() {
    let cfg = config();
    let client = WechatClient::new(
        cfg.clone(),
        Arc::new(Fake(|_: &HttpRequest| unreachable!())),
    );
    let t = now();
    let tx = r#"{"appid":"wxd678efh567hg6787","mchid":"1230000109","out_trade_no":"PF202401020001","transaction_id":"4200000001","trade_state":"SUCCESS","amount":{"total":8888,"payer_total":8888,"currency":"USD","payer_currency":"USD"}}"#;
    let (h, body) = notification(&cfg, tx, t);
    assert_eq!(
        client.parse_notification(&h, &body, t),
        Err(NotifyError::Malformed("currency USD".into()))
    );
    let refund = REFUND_NOTICE.replace(
        r#""payer_refund":8888"#,
        r#""payer_refund":8888,"currency":"HKD""#,
    );
    let (h, body) = event_notification(&cfg, "REFUND.SUCCESS", "refund", &refund, t);
    assert_eq!(
        client.parse_notification(&h, &body, t),
        Err(NotifyError::Malformed("currency HKD".into()))
    );
}

/// A client whose provider answers close with `close_reply` (status, body,
/// signed?) and query with `trade_state`; counts the queries.
fn close_client(
    close_status: u16,
    signed: bool,
    trade_state: &'static str,
) -> (WechatClient, Arc<std::sync::atomic::AtomicUsize>) {
    let key = load_private_key(KEY).unwrap();
    let queries = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let q = queries.clone();
    let client = WechatClient::new(
        config(),
        Arc::new(Fake(move |req: &HttpRequest| {
            let (status, body, sign) = if req.url.contains("/close") {
                let body = r#"{"code":"ORDER_CLOSED","message":"订单已关闭"}"#.to_string();
                (close_status, body, signed)
            } else {
                q.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let body = format!(
                    r#"{{"appid":"wxd678efh567hg6787","mchid":"1230000109","out_trade_no":"PF202401020001","trade_state":"{trade_state}"}}"#
                );
                (200, body, true)
            };
            let headers = if sign {
                response_headers(&key, "PUB_KEY_ID_1", body.as_bytes(), now(), "x").unwrap()
            } else {
                vec![]
            };
            HttpResponse {
                status,
                headers,
                body: body.into_bytes(),
            }
        })),
    );
    (client, queries)
}

#[test]
fn unsigned_order_closed_is_believed_only_after_a_query() {
    use std::sync::atomic::Ordering::SeqCst;
    // Unsigned "already closed" while the provider still has it open.
    let (client, queries) = close_client(400, false, "NOTPAY");
    match client.close("PF202401020001") {
        Err(PayError::Refused { code, .. }) => assert_eq!(code, "ORDER_CLOSED"),
        other => panic!("{other:?}"),
    }
    assert_eq!(queries.load(SeqCst), 1);
    // Unsigned, and the signed query agrees.
    let (client, queries) = close_client(400, false, "CLOSED");
    assert!(client.close("PF202401020001").is_ok());
    assert_eq!(queries.load(SeqCst), 1);
    // Signed and verified: taken at its word.
    let (client, queries) = close_client(400, true, "NOTPAY");
    assert!(client.close("PF202401020001").is_ok());
    assert_eq!(queries.load(SeqCst), 0);
}

#[test]
fn signed_error_replies_must_verify() {
    let key = load_private_key(KEY).unwrap();
    let client = WechatClient::new(
        config(),
        Arc::new(Fake(move |_: &HttpRequest| {
            let body = r#"{"code":"ORDER_CLOSED","message":"订单已关闭"}"#.as_bytes();
            let mut headers =
                response_headers(&key, "PUB_KEY_ID_1", b"something else", now(), "x").unwrap();
            headers.push(("Content-Type".into(), "application/json".into()));
            HttpResponse {
                status: 400,
                headers,
                body: body.to_vec(),
            }
        })),
    );
    assert!(matches!(
        client.close("PF202401020001"),
        Err(PayError::BadResponseSignature("wechat"))
    ));
    assert!(matches!(
        client.query("PF202401020001"),
        Err(PayError::BadResponseSignature("wechat"))
    ));
}

#[test]
fn client_signs_requests_and_checks_responses() {
    let cfg = config();
    let key = load_private_key(KEY).unwrap();
    let pubkey = key.to_public_key();
    let client = WechatClient::new(
        cfg,
        Arc::new(Fake(move |req: &HttpRequest| {
            let auth = doorstep_payments::http::header(&req.headers, "Authorization").unwrap();
            let p = parse_authorization(auth).unwrap();
            assert_eq!(p.nonce_str.len(), 32);
            let path = req.url.strip_prefix(DEFAULT_BASE_URL).unwrap();
            let msg = sign_message(
                req.method,
                path,
                p.timestamp,
                &p.nonce_str,
                std::str::from_utf8(&req.body).unwrap(),
            );
            assert!(keys::verify_sha256(&pubkey, msg.as_bytes(), &p.signature));
            assert_eq!(
                doorstep_payments::http::header(&req.headers, "Wechatpay-Serial"),
                Some("PUB_KEY_ID_1")
            );
            let (status, body): (u16, &[u8]) = if path.contains("BADSIG") {
                (200, br#"{"code_url":"x"}"#)
            } else if path.contains("/close") {
                (
                    400,
                    r#"{"code":"ORDER_CLOSED","message":"订单已关闭"}"#.as_bytes(),
                )
            } else {
                (
                    404,
                    r#"{"code":"ORDER_NOT_EXIST","message":"订单不存在"}"#.as_bytes(),
                )
            };
            let mut headers: Vec<(String, String)> =
                response_headers(&key, "PUB_KEY_ID_1", body, now(), "x")
                    .unwrap()
                    .into_iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v))
                    .collect();
            if path.contains("BADSIG") {
                headers.retain(|(k, _)| k != "wechatpay-signature");
                headers.push(("wechatpay-signature".into(), "AAAA".into()));
            }
            HttpResponse {
                status,
                headers,
                body: body.to_vec(),
            }
        })),
    );
    assert!(client.close("PF202401020001").is_ok());
    match client.query("PF202401020001") {
        Err(PayError::Refused { code, .. }) => assert_eq!(code, "ORDER_NOT_EXIST"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        client.query("BADSIG0001"),
        Err(PayError::BadResponseSignature("wechat"))
    ));
}

fn bill_rows() -> Vec<TradeBillRow> {
    let row = TradeBillRow {
        at: 1704160800,
        appid: "wxd678efh567hg6787".into(),
        mchid: "1230000109".into(),
        device_id: String::new(),
        transaction_id: "4200000001".into(),
        out_trade_no: "PF202401020001".into(),
        openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
        trade_type: "NATIVE".into(),
        kind: BillKind::Payment,
        amount_fen: 8888,
        refund_id: String::new(),
        out_refund_no: String::new(),
        refund_fen: 0,
        description: "物业费,1栋101".into(),
        attach: String::new(),
        fee_fen: 53,
    };
    let refund = TradeBillRow {
        at: 1704164400,
        kind: BillKind::Refund,
        refund_id: "50300001".into(),
        out_refund_no: "RF0001".into(),
        refund_fen: 1000,
        fee_fen: -6,
        ..row.clone()
    };
    vec![row, refund]
}

#[test]
fn trade_bill_round_trip() {
    let text = render_trade_bill(&bill_rows());
    assert!(text.starts_with(bill::ALL_HEADER));
    assert!(text.contains("\r\n`2024-01-02 10:00:00,`wxd678efh567hg6787,"));
    assert!(text.contains(bill::ALL_SUMMARY_HEADER));
    let recs = parse_trade_bill(&text).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].kind, BillKind::Payment);
    assert_eq!(recs[0].amount_fen, 8888);
    assert_eq!(recs[0].fee_fen, 53);
    assert_eq!(recs[0].at, 1704160800);
    assert_eq!(recs[0].out_trade_no, "PF202401020001");
    assert_eq!(recs[1].kind, BillKind::Refund);
    assert_eq!(recs[1].amount_fen, 1000);
    assert_eq!(recs[1].fee_fen, -6);
    assert!(parse_trade_bill("a,b\n").is_err());
}

#[test]
fn daily_bill_checks_sha1_and_gzip() {
    use std::io::Write;
    let text = render_trade_bill(&bill_rows());
    let good_hash = bill::sha1_hex(text.as_bytes());
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(text.as_bytes()).unwrap();
    let gz = enc.finish().unwrap();
    let key = load_private_key(KEY).unwrap();
    let make = |hash: String| {
        let key = key.clone();
        let gz = gz.clone();
        WechatClient::new(
            config(),
            Arc::new(Fake(move |req: &HttpRequest| {
                if req
                    .url
                    .contains("/v3/bill/tradebill?bill_date=2024-01-02&bill_type=ALL&tar_type=GZIP")
                {
                    let body = serde_json::json!({"hash_type": "SHA1", "hash_value": hash,
                        "download_url": format!("{DEFAULT_BASE_URL}/v3/billdownload/file?token=T")})
                    .to_string()
                    .into_bytes();
                    let headers = response_headers(&key, "PUB_KEY_ID_1", &body, now(), "x")
                        .unwrap()
                        .into_iter()
                        .map(|(k, v)| (k.to_ascii_lowercase(), v))
                        .collect();
                    HttpResponse {
                        status: 200,
                        headers,
                        body,
                    }
                } else {
                    assert_eq!(
                        req.url,
                        format!("{DEFAULT_BASE_URL}/v3/billdownload/file?token=T")
                    );
                    HttpResponse {
                        status: 200,
                        headers: vec![],
                        body: gz.clone(),
                    }
                }
            })),
        )
    };
    let recs = make(good_hash.clone()).daily_bill("2024-01-02").unwrap();
    assert_eq!(recs.len(), 2);
    let bad = make("0".repeat(40)).daily_bill("2024-01-02");
    assert!(matches!(bad, Err(PayError::Malformed { .. })), "{bad:?}");
    assert!(matches!(
        make(good_hash).daily_bill("2024-1-2"),
        Err(PayError::Invalid { .. })
    ));
}

#[test]
fn trade_states_map() {
    let tx = |s: &str| types::Transaction {
        appid: String::new(),
        mchid: String::new(),
        out_trade_no: "X".into(),
        transaction_id: None,
        trade_type: None,
        trade_state: s.into(),
        trade_state_desc: None,
        bank_type: None,
        attach: None,
        success_time: None,
        payer: None,
        amount: None,
    };
    assert_eq!(trade_status(&tx("NOTPAY")), Some(TradeStatus::NotPaid));
    assert_eq!(
        trade_status(&tx("USERPAYING")),
        Some(TradeStatus::UserPaying)
    );
    assert_eq!(trade_status(&tx("CLOSED")), Some(TradeStatus::Closed));
    assert_eq!(trade_status(&tx("REVOKED")), Some(TradeStatus::Closed));
    assert_eq!(trade_status(&tx("REFUND")), Some(TradeStatus::Refunded));
    assert!(matches!(
        trade_status(&tx("PAYERROR")),
        Some(TradeStatus::Failed { .. })
    ));
    assert!(matches!(
        trade_status(&tx("SUCCESS")),
        Some(TradeStatus::Paid { .. })
    ));
    assert_eq!(trade_status(&tx("ACCEPT")), None);
}

#[test]
fn expired_platform_certificate_is_unknown() {
    let key = load_private_key(KEY).unwrap();
    let pem =
        keys::self_signed_certificate(&key, &[0x42], "Test", 1_700_000_000, 1_800_000_000).unwrap();
    let v = WechatVerifier {
        public_key: None,
        platform_certs: vec![load_certificate(&pem).unwrap()],
    };
    for (ts, want) in [
        (1_750_000_000, Ok(())),
        (1_800_000_000, Ok(())),
        (1_800_000_001, Err(NotifyError::UnknownSerial("42".into()))),
        (1_699_999_999, Err(NotifyError::UnknownSerial("42".into()))),
    ] {
        let h = response_headers(&key, "42", b"{}", ts, "n").unwrap();
        assert_eq!(v.verify(&h, b"{}", ts), want, "{ts}");
    }
}

#[test]
fn refund_request_carries_the_notify_url() {
    let key = load_private_key(KEY).unwrap();
    let seen: Arc<std::sync::Mutex<Vec<HttpRequest>>> = Arc::default();
    let log = seen.clone();
    let client = WechatClient::new(
        config(),
        Arc::new(Fake(move |req: &HttpRequest| {
            log.lock().unwrap().push(req.clone());
            let body = br#"{"refund_id":"50300001","out_refund_no":"RF202401020001","status":"PROCESSING","amount":{"total":8888,"refund":8888,"currency":"CNY"}}"#;
            HttpResponse {
                status: 200,
                headers: response_headers(&key, "PUB_KEY_ID_1", body, now(), "x")
                    .unwrap()
                    .into_iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v))
                    .collect(),
                body: body.to_vec(),
            }
        })),
    );
    let order = doorstep_payments::RefundOrder {
        out_trade_no: "PF202401020001".into(),
        out_refund_no: "RF202401020001".into(),
        refund_fen: 8888,
        total_fen: 8888,
        reason: "业主重复支付".into(),
        notify_url: Some("https://pm.example.com/pay/notify/wechat/7".into()),
    };
    assert_eq!(client.refund(&order).unwrap(), RefundStatus::Processing);
    let sent = seen.lock().unwrap().pop().unwrap();
    assert!(
        sent.url.ends_with("/v3/refund/domestic/refunds"),
        "{}",
        sent.url
    );
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(
        body["notify_url"], "https://pm.example.com/pay/notify/wechat/7",
        "{body}"
    );
    assert_eq!(body["out_refund_no"], "RF202401020001");
    assert_eq!(body["amount"]["currency"], "CNY");
}
