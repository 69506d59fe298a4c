//! Refunds finished by the provider's notification (issue 14 item 5), on a
//! real SQLite file and a real PostgreSQL schema, against the payment
//! simulator: a WeChat refund request carries Doorstep's notify_url; a
//! refund the provider is still processing stays "approved" until
//! `REFUND.SUCCESS` arrives (then the payment is reversed: `done`), and a
//! refund that ends `REFUND.ABNORMAL` becomes `failed` with nothing
//! reversed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_app::App;
use doorstep_app::demo::{SAMPLE_PASSWORD, SampleIds, seed_collecting, seed_sample};
use doorstep_paysim::Sim;
use doorstep_paysim::state::RefundPlan;
use doorstep_store::Store;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Server {
    base: String,
    sim: Sim,
    sim_base: String,
    ids: SampleIds,
    _dir: tempfile::TempDir,
}

fn start(pg: bool) -> Option<Server> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doorstep.sqlite");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let store: Arc<dyn Store> = if pg {
                let url = std::env::var("DOORSTEP_TEST_PG_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
                let schema = format!("refunds_{}", jiff::Timestamp::now().as_millisecond());
                match doorstep_store_postgres::open(&url, Some(&schema)).await {
                    Ok(s) => Arc::new(s),
                    Err(e) => {
                        tx.send(Err(e.to_string())).unwrap();
                        return;
                    }
                }
            } else {
                Arc::new(doorstep_store_sqlite::open(&file).await.unwrap())
            };
            let (sim, sim_base, wechat, alipay) = doorstep_paysim::kit::start(0, |c| {
                c.retry_scale = 0.01;
            })
            .await
            .unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let mut app = App::new(store);
            app.pay.public_url = base.clone();
            let ids = seed_sample(&app).await.unwrap();
            seed_collecting(&app, "sample", &wechat, &alipay)
                .await
                .unwrap();
            tx.send(Ok((base, sim, sim_base, ids))).unwrap();
            axum::serve(listener, doorstep_web::router(app))
                .await
                .unwrap();
        });
    });
    match rx.recv().unwrap() {
        Ok((base, sim, sim_base, ids)) => Some(Server {
            base,
            sim,
            sim_base,
            ids,
            _dir: dir,
        }),
        Err(e) => {
            if std::env::var("DOORSTEP_REQUIRE_PG").is_ok() || std::env::var("CI").is_ok() {
                panic!("PostgreSQL is required but not reachable: {e}");
            }
            eprintln!("SKIPPED: PostgreSQL not reachable ({e})");
            None
        }
    }
}

fn call_raw(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut req = ureq::request(method, url).timeout(Duration::from_secs(60));
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let res = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    };
    let resp = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

impl Server {
    fn ok(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
        let (s, v) = call_raw(method, &format!("{}{path}", self.base), Some(token), body);
        assert!((200..300).contains(&s), "{method} {path}: {s} {v}");
        v
    }
    fn login(&self, user: &str) -> String {
        let (s, v) = call_raw(
            "POST",
            &format!("{}/api/v1/login", self.base),
            None,
            Some(json!({"username": user, "password": SAMPLE_PASSWORD})),
        );
        assert_eq!(s, 200, "{v}");
        v["token"].as_str().unwrap().to_string()
    }
    fn wait(&self, what: &str, mut f: impl FnMut() -> bool) {
        let t = Instant::now();
        while !f() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    fn events(&self, fin: &str, no: &str) -> Vec<Value> {
        self.ok(
            "GET",
            &format!("/api/v1/provider-events?out_trade_no={no}"),
            fin,
            None,
        )
        .as_array()
        .unwrap()
        .clone()
    }
    fn reversal(&self, fin: &str, id: i64) -> Value {
        self.ok("GET", "/api/v1/estates/sample/reversals", fin, None)
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"].as_i64() == Some(id))
            .cloned()
            .unwrap()
    }
}

/// The next Monday–Friday after today in China (evening windows 19–21).
fn next_weekday() -> jiff::civil::Date {
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
    let mut d = jiff::Timestamp::now().to_zoned(tz).date();
    loop {
        d = d.tomorrow().unwrap();
        if d.weekday().to_monday_one_offset() <= 5 {
            return d;
        }
    }
}

/// Books room 202 for the next weekday evening and plans it; the visit and
/// its collector's token.
fn booked_visit(s: &Server) -> (i64, String) {
    let disp = s.login("s-dispatcher");
    let day = next_weekday().to_string();
    let b = s.ok(
        "POST",
        "/api/v1/estates/sample/bookings",
        &disp,
        Some(json!({"targets": [{"kind": "room", "id": s.ids.room_202}], "date": day, "start": "19:00"})),
    );
    let id = b["id"].as_i64().unwrap();
    s.ok(
        "POST",
        "/api/v1/estates/sample/dispatch/plan",
        &disp,
        Some(json!({"date": day})),
    );
    let b = s.ok("GET", &format!("/api/v1/bookings/{id}"), &disp, None);
    let who = b["collector_id"].as_i64().unwrap();
    for u in ["s-collector", "s-collector2"] {
        let t = s.login(u);
        if s.ok("GET", "/api/v1/me", &t, None)["id"].as_i64() == Some(who) {
            return (id, t);
        }
    }
    panic!("the visit went to neither sample collector");
}

/// A WeChat QR payment of `amount` paid at the simulator: (collection
/// id, out_trade_no, payment id).
fn paid_qr(s: &Server, visit: i64, c: &str, amount: &str) -> (i64, String, i64) {
    let qr = s.ok(
        "POST",
        &format!("/api/v1/visits/{visit}/qr"),
        c,
        Some(json!({"provider": "wechat", "amount": amount})),
    );
    let code = qr["code"].as_str().unwrap().to_string();
    let no = qr["out_trade_no"].as_str().unwrap().to_string();
    let id = qr["id"].as_i64().unwrap();
    let (st, v) = call_raw(
        "POST",
        &format!("{}/sim/api/pay", s.sim_base),
        None,
        Some(json!({"code": code})),
    );
    assert_eq!(st, 200, "{v}");
    s.wait("the payment", || {
        s.ok("GET", &format!("/api/v1/payments/{id}"), c, None)["status"] == "paid"
    });
    let payment = s.ok("GET", &format!("/api/v1/payments/{id}"), c, None)["payment_id"]
        .as_i64()
        .unwrap();
    (id, no, payment)
}

fn refunds_end_by_notification(s: Server) {
    let fin = s.login("s-finance");
    let (visit, c) = booked_visit(&s);
    let mchid = doorstep_paysim::kit::WECHAT_MCHID.to_string();

    for (plan, amount, paid_fen, want, verdict) in [
        (
            RefundPlan::SucceedLater,
            "50.00",
            5000,
            "done",
            "refund_done",
        ),
        (
            RefundPlan::Abnormal,
            "30.00",
            3000,
            "failed",
            "refund_failed",
        ),
    ] {
        let (_, no, payment) = paid_qr(&s, visit, &c, amount);
        let owed = |s: &Server| {
            s.ok("GET", &format!("/api/v1/visits/{visit}"), &c, None)["total"]
                .as_i64()
                .unwrap()
        };
        let owed_before = owed(&s);
        // The provider answers PROCESSING; only its notification ends it.
        s.sim
            .lock()
            .wechat_refund_plans
            .insert((mchid.clone(), no.clone()), plan);
        let rev = s.ok(
            "POST",
            &format!("/api/v1/payments-recorded/{payment}/reversals"),
            &c,
            Some(json!({"kind": "refund", "reason": "业主重复支付"})),
        );
        let rid = rev["id"].as_i64().unwrap();
        let decided = s.ok(
            "POST",
            &format!("/api/v1/reversals/{rid}/decision"),
            &fin,
            Some(json!({"approve": true})),
        );
        // The notification may already have come while the refund call
        // returned.
        assert!(
            decided["status"] == "approved" || decided["status"] == want,
            "{decided}"
        );
        let refund_no = decided["out_refund_no"].as_str().unwrap().to_string();
        // The refund request named where to notify.
        let url = s
            .sim
            .lock()
            .wechat_refund_urls
            .get(&(mchid.clone(), refund_no.clone()))
            .cloned();
        let url = url.expect("the refund request carries a notify_url");
        assert!(
            url.starts_with(&format!("{}/pay/notify/wechat/", s.base)),
            "{url}"
        );
        s.wait("the refund notification", || {
            s.reversal(&fin, rid)["status"] == want
        });
        let events = s.events(&fin, &no);
        assert!(
            events.iter().any(|e| e["verdict"] == verdict),
            "{verdict} among {events:?}"
        );
        let r = s.reversal(&fin, rid);
        if want == "done" {
            // Reversed: a reversing entry, the lines owed again.
            assert!(r["entry_id"].as_i64().is_some(), "{r}");
            assert_eq!(owed(&s), owed_before + paid_fen, "{r}");
        } else {
            // Not refunded: nothing reversed, the payment stands.
            assert!(r["entry_id"].is_null(), "{r}");
            assert_eq!(owed(&s), owed_before, "{r}");
        }
    }
}

#[test]
fn refunds_end_by_notification_on_sqlite() {
    refunds_end_by_notification(start(false).unwrap());
}

#[test]
fn refunds_end_by_notification_on_postgres() {
    if let Some(s) = start(true) {
        refunds_end_by_notification(s);
    }
}
