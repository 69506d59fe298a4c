//! Alipay gateway 1.0: published and derived vectors, sign-content rules,
//! response extraction, notifications, the bill file, and the client
//! against a canned transport.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_payments::alipay::*;
use doorstep_payments::http::{HttpRequest, HttpResponse, Transport};
use doorstep_payments::keys;
use doorstep_payments::{
    BillKind, BillRecord, NotifiedEvent, NotifyError, PayError, PayProvider, QrOrder, TradeStatus,
    fen_to_yuan, yuan_to_fen,
};
use std::sync::{Arc, Mutex};

fn data(name: &str) -> String {
    let path = format!("{}/tests/data/alipay/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The published notification's parameters.
fn notify_params() -> Vec<(String, String)> {
    let v: serde_json::Value = serde_json::from_str(&data("notify_params.json")).unwrap();
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

fn notify_key() -> rsa::RsaPublicKey {
    keys::load_public_key(&data("notify_alipay_public_key.txt")).unwrap()
}

fn app_key() -> rsa::RsaPrivateKey {
    keys::load_private_key(&data("app_private_key_c4402e7.pem")).unwrap()
}

fn app_public_key() -> rsa::RsaPublicKey {
    keys::load_public_key(&data("app_public_key_c4402e7.txt")).unwrap()
}

#[test]
fn real_notification_verifies_only_without_sign_type() {
    let params = notify_params();
    let key = notify_key();
    assert!(verify_notification(&params, &key));
    // Keeping sign_type (the request rule) must fail.
    let sign = param(&params, "sign").unwrap();
    assert!(!keys::verify_sha256(
        &key,
        sign_content(&params).as_bytes(),
        sign
    ));
    assert!(notify_sign_content(&params).starts_with("app_id=2019073166072302&auth_app_id="));
    assert!(!notify_sign_content(&params).contains("sign_type"));
}

#[test]
fn real_notification_parses_through_the_form_body() {
    let body = form_encode(&notify_params());
    let n = parse_notification(
        body.as_bytes(),
        &notify_key(),
        "2019073166072302",
        "2088531891668739",
    )
    .unwrap();
    assert_eq!(n.notify_id, "2019081500222155624068450559358070");
    assert_eq!(n.out_trade_no, "20190815155618536-564-57");
    assert_eq!(n.amount_fen, 10);
    assert_eq!(n.merchant_id, "2088531891668739");
    assert_eq!(
        n.event,
        NotifiedEvent::Trade(TradeStatus::Paid {
            transaction_id: "2019081522001468450512505578".into(),
            amount_fen: 10,
            paid_at: parse_beijing_time("2019-08-15 15:56:24"),
        })
    );
    assert_eq!(
        parse_beijing_time("2019-08-15 15:56:24"),
        Some(1_565_855_784)
    );
    // `+` for spaces, as some senders write forms.
    let plus = body.replace("%20", "+");
    assert!(
        parse_notification(
            plus.as_bytes(),
            &notify_key(),
            "2019073166072302",
            "2088531891668739"
        )
        .is_ok()
    );
}

#[test]
fn notification_relabelled_sign_type_is_refused() {
    let parse = |params: &[(String, String)]| {
        parse_notification(
            form_encode(params).as_bytes(),
            &notify_key(),
            "2019073166072302",
            "2088531891668739",
        )
    };
    let mut params = notify_params();
    assert_eq!(param(&params, "sign_type"), Some("RSA2"));
    for t in params.iter_mut().filter(|(k, _)| k == "sign_type") {
        t.1 = "RSA".into();
    }
    // The signature still verifies (sign_type is outside it) …
    assert!(verify_notification(&params, &notify_key()));
    // … but the notification names an algorithm we do not accept.
    assert_eq!(
        parse(&params),
        Err(NotifyError::Malformed(r#"sign_type "RSA""#.into()))
    );
    params.retain(|(k, _)| k != "sign_type");
    assert!(parse(&params).is_ok(), "an absent sign_type means RSA2");
}

#[test]
fn notification_for_another_app_or_seller_is_refused() {
    let body = form_encode(&notify_params());
    let key = notify_key();
    assert_eq!(
        parse_notification(
            body.as_bytes(),
            &key,
            "2021000000000001",
            "2088531891668739"
        ),
        Err(NotifyError::WrongMerchant)
    );
    assert_eq!(
        parse_notification(
            body.as_bytes(),
            &key,
            "2019073166072302",
            "2088000000000000"
        ),
        Err(NotifyError::WrongMerchant)
    );
}

#[test]
fn tampered_notification_fails() {
    let key = notify_key();
    for (field, value) in [
        ("total_amount", "100.10"),
        ("out_trade_no", "20190815155618536-564-58"),
        ("trade_status", "TRADE_FINISHED"),
    ] {
        let mut params = notify_params();
        for p in params.iter_mut() {
            if p.0 == field {
                p.1 = value.to_string();
            }
        }
        let body = form_encode(&params);
        assert_eq!(
            parse_notification(
                body.as_bytes(),
                &key,
                "2019073166072302",
                "2088531891668739"
            ),
            Err(NotifyError::BadSignature),
            "{field}"
        );
    }
    // An added parameter is signed content too.
    let mut params = notify_params();
    params.push(("passback_params".into(), "x".into()));
    assert!(!verify_notification(&params, &key));
    // But an added empty one is dropped, as Alipay's rule says.
    let mut params = notify_params();
    params.push(("passback_params".into(), String::new()));
    assert!(verify_notification(&params, &key));
    // Missing sign.
    let params: Vec<_> = notify_params()
        .into_iter()
        .filter(|(k, _)| k != "sign")
        .collect();
    assert!(matches!(
        parse_notification(
            form_encode(&params).as_bytes(),
            &key,
            "2019073166072302",
            "2088531891668739"
        ),
        Err(NotifyError::Malformed(_))
    ));
    // Not a form at all.
    assert!(matches!(
        parse_notification(b"a=%zz", &key, "x", "y"),
        Err(NotifyError::Malformed(_))
    ));
}

#[test]
fn derived_request_signing_vector() {
    let biz =
        r#"{"out_trade_no":"PF202401020001","total_amount":"88.88","subject":"物业费2024Q1"}"#;
    let params = request_params(
        "2021000000000001",
        "alipay.trade.precreate",
        biz,
        Some("https://pm.example.com/alipay/notify"),
        "2024-01-02 03:04:05",
    );
    assert_eq!(sign_content(&params), data("request_sign_content.txt"));
    let sign = sign_request(&params, &app_key()).unwrap();
    assert_eq!(sign, data("request_sign.txt"));
    assert!(keys::verify_sha256(
        &app_public_key(),
        data("request_sign_content.txt").as_bytes(),
        &sign
    ));

    // The whole request: a form body whose parameters verify as the gateway checks them.
    let req = build_request(
        &GatewayCall {
            gateway: DEFAULT_GATEWAY,
            app_id: "2021000000000001",
            method: "alipay.trade.precreate",
            biz_content: biz,
            notify_url: Some("https://pm.example.com/alipay/notify"),
            timestamp: "2024-01-02 03:04:05",
        },
        &app_key(),
    )
    .unwrap();
    assert_eq!(req.method, "POST");
    assert_eq!(req.url, "https://openapi.alipay.com/gateway.do");
    assert!(req.headers.contains(&(
        "Content-Type".to_string(),
        "application/x-www-form-urlencoded; charset=utf-8".to_string()
    )));
    let sent = form_decode(std::str::from_utf8(&req.body).unwrap()).unwrap();
    assert_eq!(
        param(&sent, "sign"),
        Some(data("request_sign.txt").as_str())
    );
    assert_eq!(param(&sent, "biz_content"), Some(biz));
    assert!(verify_request(&sent, &app_public_key()));
    let mut tampered = sent.clone();
    tampered[0].1.push('2');
    assert!(!verify_request(&tampered, &app_public_key()));
}

#[test]
fn no_empty_parameters_are_sent() {
    let params = request_params(
        "2021000000000001",
        "alipay.trade.query",
        "{}",
        Some(""),
        "2024-01-02 03:04:05",
    );
    assert!(params.iter().all(|(_, v)| !v.is_empty()));
    assert!(param(&params, "notify_url").is_none());
    let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "app_id",
            "method",
            "format",
            "charset",
            "sign_type",
            "timestamp",
            "version",
            "biz_content"
        ]
    );
}

#[test]
fn sign_content_edge_cases() {
    let p = pairs(&[
        ("b", "2"),
        ("a", "1"),
        ("sign", "zzz"),
        ("empty", ""),
        ("sign_type", "RSA2"),
        ("A", "upper"),
        ("a_b", "x y&z=w"),
        ("ab", "中文"),
    ]);
    // ASCII: upper case before lower case, `_` (0x5F) before lower-case letters.
    assert_eq!(
        sign_content(&p),
        "A=upper&a=1&a_b=x y&z=w&ab=中文&b=2&sign_type=RSA2"
    );
    assert_eq!(
        notify_sign_content(&p),
        "A=upper&a=1&a_b=x y&z=w&ab=中文&b=2"
    );
    assert_eq!(sign_content(&[]), "");
    assert_eq!(sign_content(&pairs(&[("sign", "x")])), "");
}

#[test]
fn form_round_trip() {
    let p = pairs(&[("a b", "c&d=e"), ("中", "文+%"), ("e", "")]);
    let enc = form_encode(&p);
    assert_eq!(enc, "a%20b=c%26d%3De&%E4%B8%AD=%E6%96%87%2B%25&e=");
    assert_eq!(form_decode(&enc).unwrap(), p);
    assert_eq!(
        form_decode("x=1+2&&y").unwrap(),
        pairs(&[("x", "1 2"), ("y", "")])
    );
    assert!(form_decode("x=%4").is_err());
    assert!(form_decode("x=%ff").is_err());
}

#[test]
fn response_extraction() {
    let body = r#"{"alipay_trade_query_response":{"code":"10000","msg":"Success","subject":"a}b{\"c\"}","x":[1,{"y":"]"}]},"sign":"abc"}"#;
    assert_eq!(
        extract_response_content(body, "alipay_trade_query_response"),
        Some(r#"{"code":"10000","msg":"Success","subject":"a}b{\"c\"}","x":[1,{"y":"]"}]}"#)
    );
    // Whitespace, other members first, the name inside a string elsewhere.
    let body = "{ \"note\" : \"alipay_trade_pay_response\", \"n\": 12, \"alipay_trade_pay_response\" :\n {\"a\":\"}\"} , \"sign\":\"s\" }";
    assert_eq!(
        extract_response_content(body, "alipay_trade_pay_response"),
        Some("{\"a\":\"}\"}")
    );
    assert_eq!(extract_response_content(body, "missing_response"), None);
    assert_eq!(
        extract_response_content(r#"{"x_response":"str"}"#, "x_response"),
        None
    );
    assert_eq!(
        extract_response_content(r#"{"x_response":{"a":"}"#, "x_response"),
        None
    );
    assert_eq!(extract_response_content("[]", "x_response"), None);
    assert_eq!(
        response_member("alipay.trade.precreate"),
        "alipay_trade_precreate_response"
    );
}

#[test]
fn replies_are_verified() {
    // The c4402e7 app key stands in for "Alipay's" key here.
    let key = app_key();
    let public = app_public_key();
    let member = r#"{"code":"10000","msg":"Success","out_trade_no":"PF1","qr_code":"https://qr.alipay.com/bax{}"}"#;
    let body = response_body("alipay.trade.precreate", member, &key).unwrap();
    assert!(body.starts_with("{\"alipay_trade_precreate_response\":{"));
    let reply = parse_reply(body.as_bytes(), "alipay.trade.precreate", &public).unwrap();
    assert!(reply.signed);
    assert_eq!(reply.code, "10000");
    assert_eq!(reply.str("qr_code"), Some("https://qr.alipay.com/bax{}"));

    // Re-serialized (spaces added) → the signed text no longer matches.
    let spaced = body.replace("\"msg\":\"Success\"", "\"msg\": \"Success\"");
    assert!(matches!(
        parse_reply(spaced.as_bytes(), "alipay.trade.precreate", &public),
        Err(PayError::BadResponseSignature("alipay"))
    ));
    // Wrong key.
    assert!(matches!(
        parse_reply(body.as_bytes(), "alipay.trade.precreate", &notify_key()),
        Err(PayError::BadResponseSignature(_))
    ));
    // Unsigned success is not accepted; an unsigned error is a refusal.
    let unsigned = format!("{{\"alipay_trade_precreate_response\":{member}}}");
    assert!(matches!(
        parse_reply(unsigned.as_bytes(), "alipay.trade.precreate", &public),
        Err(PayError::BadResponseSignature(_))
    ));
    let err = r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.invalid-signature","sub_msg":"验签出错"}}"#;
    let reply = parse_reply(err.as_bytes(), "alipay.trade.precreate", &public).unwrap();
    assert!(!reply.signed);
    match reply.success() {
        Err(PayError::Refused { code, message, .. }) => {
            assert_eq!(code, "isv.invalid-signature");
            assert_eq!(message, "验签出错");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        parse_reply(b"<html>", "alipay.trade.precreate", &public),
        Err(PayError::Malformed { .. })
    ));
}

#[test]
fn bill_round_trip_with_gbk() {
    let rows = vec![
        TradeBillRow {
            record: BillRecord {
                transaction_id: "2024010222001400001234567890".into(),
                out_trade_no: "PF202401020001".into(),
                kind: BillKind::Payment,
                amount_fen: 8888,
                fee_fen: 53,
                at: parse_beijing_time("2024-01-02 10:00:05").unwrap(),
            },
            subject: "物业费,1栋101 \"2024Q1\"".into(),
            order_fen: 8888,
            created_at: parse_beijing_time("2024-01-02 09:59:00").unwrap(),
            store_id: "estate-1".into(),
            out_request_no: String::new(),
            buyer: "xud***@126.com".into(),
        },
        TradeBillRow {
            record: BillRecord {
                transaction_id: "2024010222001400001234567890".into(),
                out_trade_no: "PF202401020001".into(),
                kind: BillKind::Refund,
                amount_fen: 1,
                fee_fen: 0,
                at: parse_beijing_time("2024-01-02 23:59:59").unwrap(),
            },
            subject: "物业费".into(),
            order_fen: 8888,
            created_at: parse_beijing_time("2024-01-02 09:59:00").unwrap(),
            store_id: String::new(),
            out_request_no: "RF1".into(),
            buyer: String::new(),
        },
    ];
    let zip = render_trade_bill("2088102177846880", "2024-01-02", &rows).unwrap();
    let parsed = parse_trade_bill(&zip).unwrap();
    let expected: Vec<BillRecord> = rows.iter().map(|r| r.record.clone()).collect();
    assert_eq!(parsed, expected);

    // The member is GBK, not UTF-8, and named as Alipay names it.
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&zip)).unwrap();
    let names: Vec<String> = (0..archive.len())
        .map(|i| archive.by_index(i).unwrap().name().to_string())
        .collect();
    assert!(
        names.contains(&"2088102177846880_20240102_业务明细.csv".to_string()),
        "{names:?}"
    );
    let mut raw = Vec::new();
    std::io::Read::read_to_end(
        &mut archive
            .by_name("2088102177846880_20240102_业务明细.csv")
            .unwrap(),
        &mut raw,
    )
    .unwrap();
    assert!(std::str::from_utf8(&raw).is_err());
    let (text, _, bad) = encoding_rs::GBK.decode(&raw);
    assert!(!bad);
    assert!(text.contains("支付宝交易号,商户订单号,业务类型"));
    assert!(text.contains("-0.01"));
    assert!(text.lines().next().unwrap().starts_with('#'));

    // An empty day still parses.
    let empty = render_trade_bill("2088102177846880", "2024-01-03", &[]).unwrap();
    assert_eq!(parse_trade_bill(&empty).unwrap(), vec![]);
    assert!(parse_trade_bill(b"not a zip").is_err());
}

#[test]
fn yuan_fen_edges() {
    assert_eq!(yuan_to_fen("0.01"), Some(1));
    assert_eq!(yuan_to_fen("0.00"), Some(0));
    assert_eq!(yuan_to_fen("100000000.00"), Some(MAX_AMOUNT_FEN));
    assert_eq!(yuan_to_fen("0.10"), Some(10));
    assert_eq!(yuan_to_fen("92233720368547758.07"), Some(i64::MAX));
    assert_eq!(yuan_to_fen("92233720368547758.08"), None);
    assert_eq!(yuan_to_fen("99999999999999999999"), None);
    for bad in ["1.001", "+1.00", "-0.01", " ", "1. 00", "０.01"] {
        assert_eq!(yuan_to_fen(bad), None, "{bad}");
    }
    assert_eq!(fen_to_yuan(1), "0.01");
    assert_eq!(fen_to_yuan(0), "0.00");
    assert_eq!(fen_to_yuan(MAX_AMOUNT_FEN), "100000000.00");
    assert_eq!(fen_to_yuan(i64::MIN), "-92233720368547758.08");
    for fen in [1, 9, 10, 99, 100, 101, 8888, MAX_AMOUNT_FEN] {
        assert_eq!(yuan_to_fen(&fen_to_yuan(fen)), Some(fen));
    }
}

#[test]
fn beijing_time_format() {
    assert_eq!(beijing_time(0), "1970-01-01 08:00:00");
    assert_eq!(beijing_time(1_704_135_845), "2024-01-02 03:04:05");
    assert_eq!(
        parse_beijing_time("2024-01-02 03:04:05"),
        Some(1_704_135_845)
    );
    assert_eq!(parse_beijing_time("2024-01-02T03:04:05"), None);
}

/// Answers each request with the next canned body (signed with `key`), and
/// remembers the requests.
struct Canned {
    key: rsa::RsaPrivateKey,
    replies: Mutex<Vec<(String, String)>>,
    seen: Mutex<Vec<HttpRequest>>,
}

impl Transport for Canned {
    fn send(&self, req: &HttpRequest) -> Result<HttpResponse, String> {
        self.seen.lock().unwrap().push(req.clone());
        let (method, member) = self.replies.lock().unwrap().remove(0);
        let body = if method == "raw" {
            member
        } else {
            response_body(&method, &member, &self.key).unwrap()
        };
        Ok(HttpResponse {
            status: 200,
            headers: vec![],
            body: body.into_bytes(),
        })
    }
}

fn canned(replies: &[(&str, &str)]) -> (AlipayClient, Arc<Canned>) {
    let t = Arc::new(Canned {
        key: app_key(),
        replies: Mutex::new(
            replies
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        ),
        seen: Mutex::new(vec![]),
    });
    let cfg = AlipayConfig {
        app_id: "2021000000000001".into(),
        seller_id: "2088102177846880".into(),
        private_key: app_key(),
        alipay_public_key: app_public_key(),
        gateway: "http://127.0.0.1:9/gateway.do".into(),
    };
    (AlipayClient::new(cfg, t.clone()), t)
}

#[test]
fn client_maps_gateway_codes() {
    let (c, t) = canned(&[
        (
            "alipay.trade.query",
            r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"}"#,
        ),
        (
            "alipay.trade.query",
            r#"{"code":"10000","msg":"Success","trade_no":"T1","out_trade_no":"PF000001","trade_status":"TRADE_SUCCESS","total_amount":"88.88","send_pay_date":"2024-01-02 03:04:05"}"#,
        ),
        (
            "alipay.trade.query",
            r#"{"code":"10000","msg":"Success","trade_no":"T1","out_trade_no":"PF000001","trade_status":"TRADE_CLOSED","total_amount":"88.88"}"#,
        ),
        (
            "alipay.trade.close",
            r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"}"#,
        ),
        (
            "alipay.trade.close",
            r#"{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_STATUS_ERROR","sub_msg":"交易状态不合法"}"#,
        ),
        (
            "raw",
            r#"{"alipay_trade_query_response":{"code":"10000","msg":"Success"},"sign":"AAAA"}"#,
        ),
    ]);
    assert_eq!(c.query("PF000001").unwrap(), TradeStatus::NotPaid);
    assert_eq!(
        c.query("PF000001").unwrap(),
        TradeStatus::Paid {
            transaction_id: "T1".into(),
            amount_fen: 8888,
            paid_at: Some(1_704_135_845)
        }
    );
    assert_eq!(c.query("PF000001").unwrap(), TradeStatus::Closed);
    c.close("PF000001").unwrap();
    match c.close("PF000001") {
        Err(PayError::Refused { code, .. }) => assert_eq!(code, "ACQ.TRADE_STATUS_ERROR"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        c.query("PF000001"),
        Err(PayError::BadResponseSignature(_))
    ));

    // Every request was signed with the app key and carried the method.
    for req in t.seen.lock().unwrap().iter() {
        let p = form_decode(std::str::from_utf8(&req.body).unwrap()).unwrap();
        assert!(verify_request(&p, &app_public_key()));
        assert_eq!(
            param(&p, "biz_content"),
            Some(r#"{"out_trade_no":"PF000001"}"#)
        );
    }

    // Invalid input is refused before anything is sent.
    let before = t.seen.lock().unwrap().len();
    let order = QrOrder {
        out_trade_no: "PF000002".into(),
        description: "a/b".into(),
        amount_fen: 100,
        expires_at: 1_704_135_845,
        notify_url: String::new(),
        attach: None,
    };
    assert!(matches!(c.create_qr(&order), Err(PayError::Invalid { .. })));
    let order = QrOrder {
        description: "ok".into(),
        amount_fen: 0,
        ..order
    };
    assert!(matches!(c.create_qr(&order), Err(PayError::Invalid { .. })));
    assert_eq!(t.seen.lock().unwrap().len(), before);
}

#[test]
fn notification_answers() {
    let (c, _) = canned(&[]);
    assert_eq!(
        c.notification_answer(true),
        (200, "text/plain; charset=utf-8", b"success".to_vec())
    );
    assert_ne!(c.notification_answer(false).2, b"success".to_vec());
}

#[test]
fn config_debug_hides_the_private_key() {
    let (c, _) = canned(&[]);
    let text = format!("{:?}", c.cfg);
    assert!(text.contains("<redacted>"));
    assert!(!text.contains("primes"));
}

#[test]
fn refund_request_carries_the_notify_url() {
    let (c, t) = canned(&[(
        "alipay.trade.refund",
        r#"{"code":"10000","msg":"Success","trade_no":"T1","out_trade_no":"PF000001","fund_change":"Y","refund_fee":"88.88"}"#,
    )]);
    let order = doorstep_payments::RefundOrder {
        out_trade_no: "PF000001".into(),
        out_refund_no: "RF000001".into(),
        refund_fen: 8888,
        total_fen: 8888,
        reason: "业主重复支付".into(),
        notify_url: Some("https://pm.example.com/pay/notify/alipay/8".into()),
    };
    assert_eq!(
        c.refund(&order).unwrap(),
        doorstep_payments::RefundStatus::Success
    );
    let sent = t.seen.lock().unwrap().pop().unwrap();
    let p = form_decode(std::str::from_utf8(&sent.body).unwrap()).unwrap();
    assert!(verify_request(&p, &app_public_key()), "signed with it");
    assert_eq!(
        param(&p, "notify_url"),
        Some("https://pm.example.com/pay/notify/alipay/8")
    );
    assert_eq!(param(&p, "method"), Some("alipay.trade.refund"));
}
