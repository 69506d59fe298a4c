//! Booking over the JSON API as owners and staff use it: a real server on
//! 127.0.0.1 over a real SQLite file with the sample estate. Owners sign in
//! with the code their phone receives (a gateway that records what it is
//! given); the whole owner/room matrix is checked.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_app::App;
use doorstep_app::demo::{SAMPLE_PASSWORD, SampleIds, seed_sample};
use jiff::civil::Date;
use serde_json::{Value, json};
use std::sync::Arc;

struct Server {
    base: String,
    ids: SampleIds,
    phones: Arc<Phones>,
    _dir: tempfile::TempDir,
}

/// The phones' inboxes: what the SMS gateway delivered.
#[derive(Default)]
struct Phones(std::sync::Mutex<Vec<(String, String)>>);

#[async_trait::async_trait]
impl doorstep_app::notify::Gateway for Phones {
    fn channel(&self) -> &'static str {
        "sms"
    }
    async fn send(&self, recipient: &str, body: &str) -> Result<(), String> {
        self.0
            .lock()
            .unwrap()
            .push((recipient.to_string(), body.to_string()));
        Ok(())
    }
}

fn start(policy: Option<doorstep_domain::booking::CodePolicy>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doorstep.sqlite");
    let phones = Arc::new(Phones::default());
    let gateway = phones.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut app = App::new(Arc::new(doorstep_store_sqlite::open(&file).await.unwrap()));
            if let Some(p) = policy {
                app.code_policy = p;
            }
            app.gateways = vec![gateway];
            let ids = seed_sample(&app).await.unwrap();
            let sender = app.clone();
            tokio::spawn(async move {
                loop {
                    let _ = sender.deliver_due().await;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send((format!("http://{}", listener.local_addr().unwrap()), ids))
                .unwrap();
            axum::serve(listener, doorstep_web::router(app))
                .await
                .unwrap();
        });
    });
    let (base, ids) = rx.recv().unwrap();
    Server {
        base,
        ids,
        phones,
        _dir: dir,
    }
}

impl Server {
    fn call_from(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        client: &str,
    ) -> (u16, Value) {
        let mut req =
            ureq::request(method, &format!("{}{}", self.base, path)).set("X-Forwarded-For", client);
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
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let text = resp.into_string().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call_from(method, path, token, body, "10.0.0.1")
    }
    fn login(&self, user: &str) -> String {
        let (s, v) = self.call(
            "POST",
            "/api/v1/login",
            None,
            Some(json!({"username": user, "password": SAMPLE_PASSWORD})),
        );
        assert_eq!(s, 200, "{v}");
        v["token"].as_str().unwrap().to_string()
    }
    /// The code in the next SMS to `phone` (each code is read once).
    fn code_for(&self, phone: &str) -> String {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            {
                let mut inbox = self.phones.0.lock().unwrap();
                if let Some(i) = inbox.iter().position(|(to, _)| to == phone) {
                    let (_, body) = inbox.remove(i);
                    return body.chars().filter(char::is_ascii_digit).take(6).collect();
                }
            }
            assert!(std::time::Instant::now() < until, "no SMS to {phone}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    /// Signs an owner in with the code their phone received.
    fn owner(&self, phone: &str) -> String {
        let (s, v) = self.call(
            "POST",
            "/api/v1/owner/code",
            None,
            Some(json!({"phone": phone})),
        );
        assert_eq!(s, 200, "{v}");
        let code = self.code_for(phone);
        let (s, v) = self.call(
            "POST",
            "/api/v1/owner/session",
            None,
            Some(json!({"phone": phone, "code": code})),
        );
        assert_eq!(s, 200, "{v}");
        v["token"].as_str().unwrap().to_string()
    }
}

/// The next Monday–Friday after today in China (evening windows 19–21).
fn next_weekday() -> Date {
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
    let mut d = jiff::Timestamp::now().to_zoned(tz).date();
    loop {
        d = d.tomorrow().unwrap();
        if d.weekday().to_monday_one_offset() <= 5 {
            return d;
        }
    }
}

fn loose() -> doorstep_domain::booking::CodePolicy {
    doorstep_domain::booking::CodePolicy {
        resend_after: 0,
        per_phone_per_hour: 100,
        ..Default::default()
    }
}

#[test]
fn owner_sign_in_codes() {
    let s = start(None);
    let staff = s.login("s-admin");
    // A bad phone: a clear error. An unknown one: the same answer as a
    // phone on file (tests/owner_codes.rs), and nothing queued.
    let (st, v) = s.call(
        "POST",
        "/api/v1/owner/code",
        None,
        Some(json!({"phone": "12345"})),
    );
    assert_eq!((st, v["field"].as_str()), (422, Some("phone")), "{v}");
    let (st, v) = s.call(
        "POST",
        "/api/v1/owner/code",
        None,
        Some(json!({"phone": "13700000000"})),
    );
    assert_eq!((st, v["phone"].as_str()), (200, Some("137****0000")), "{v}");
    let (_, out) = s.call(
        "GET",
        "/api/v1/outbox?recipient=13700000000",
        Some(&staff),
        None,
    );
    assert_eq!(out, json!([]));
    // A code; asking again at once is refused with a time to retry.
    let (st, v) = s.call(
        "POST",
        "/api/v1/owner/code",
        None,
        Some(json!({"phone": "138 1234 5678"})),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["phone"], "138****5678");
    let (st, v) = s.call(
        "POST",
        "/api/v1/owner/code",
        None,
        Some(json!({"phone": "13812345678"})),
    );
    assert_eq!(
        (st, v["error"].as_str()),
        (429, Some("too_many_attempts")),
        "{v}"
    );
    let code = s.code_for("13812345678");
    assert_eq!(code.len(), 6);
    // Wrong code: 401, tries left; malformed: 422.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (st, v) = s.call(
        "POST",
        "/api/v1/owner/session",
        None,
        Some(json!({"phone": "13812345678", "code": wrong})),
    );
    assert_eq!((st, v["error"].as_str()), (401, Some("wrong_code")), "{v}");
    let (st, _) = s.call(
        "POST",
        "/api/v1/owner/session",
        None,
        Some(json!({"phone": "13812345678", "code": "12ab"})),
    );
    assert_eq!(st, 422);
    // Right code: a long-lived session; the code works once only.
    let (st, v) = s.call(
        "POST",
        "/api/v1/owner/session",
        None,
        Some(json!({"phone": "13812345678", "code": code})),
    );
    assert_eq!(st, 200, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    assert!(v["expires_at"].as_i64().unwrap() > jiff::Timestamp::now().as_second() + 90 * 86_400);
    let (st, _) = s.call(
        "POST",
        "/api/v1/owner/session",
        None,
        Some(json!({"phone": "13812345678", "code": code})),
    );
    assert_eq!(st, 401);
    // Signed in: their rooms and what is owed; not 李四's room.
    let (st, v) = s.call(
        "GET",
        "/api/v1/owner/targets?as_of=2026-02-20",
        Some(&token),
        None,
    );
    assert_eq!(st, 200, "{v}");
    let estates = v.as_array().unwrap();
    assert_eq!(estates.len(), 1);
    assert_eq!(estates[0]["estate"]["code"], "sample");
    let holdings = estates[0]["holdings"].as_array().unwrap();
    let ids: Vec<(String, i64)> = holdings
        .iter()
        .map(|h| {
            (
                h["kind"].as_str().unwrap().to_string(),
                h["id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ids,
        vec![
            ("room".into(), s.ids.room_202),
            ("space".into(), s.ids.space_b007)
        ]
    );
    // 202: January's 89.50 m² × 2.50 = 223.75 (February's falls due on
    // the 28th, after the date asked), no late fee.
    let r202 = holdings
        .iter()
        .find(|h| h["kind"] == "room" && h["id"] == s.ids.room_202)
        .unwrap();
    assert_eq!(r202["total"], 22375);
    // B007: parking 300/month with 万分之五 late fee as of 2026-02-20.
    let b007 = holdings
        .iter()
        .find(|h| h["kind"] == "space" && h["id"] == s.ids.space_b007)
        .unwrap();
    let lines = b007["lines"].as_array().unwrap();
    assert!(
        lines[0]["late_fee_text"]
            .as_str()
            .unwrap()
            .contains("万分之五"),
        "{b007}"
    );
    // Signing out ends the session.
    let (st, _) = s.call("DELETE", "/api/v1/owner/session", Some(&token), None);
    assert_eq!(st, 204);
    let (st, _) = s.call("GET", "/api/v1/owner/targets", Some(&token), None);
    assert_eq!(st, 401);
    // Staff tokens are not owner tokens.
    let (st, _) = s.call("GET", "/api/v1/owner/targets", Some(&staff), None);
    assert_eq!(st, 401);
}

#[test]
fn wrong_codes_lock_the_phone_out() {
    let s = start(Some(loose()));
    let phone = "13900000001";
    let mut last = Value::Null;
    // Five wrong tries kill a code; ten in the hour lock the phone.
    for round in 0..2 {
        let (st, v) = s.call(
            "POST",
            "/api/v1/owner/code",
            None,
            Some(json!({"phone": phone})),
        );
        assert_eq!(st, 200, "round {round}: {v}");
        let code = s.code_for(phone);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            let (_, v) = s.call(
                "POST",
                "/api/v1/owner/session",
                None,
                Some(json!({"phone": phone, "code": wrong})),
            );
            last = v;
        }
        // The right code no longer works once five wrong ones were tried.
        let (st, v) = s.call(
            "POST",
            "/api/v1/owner/session",
            None,
            Some(json!({"phone": phone, "code": code})),
        );
        assert_ne!(st, 200, "{v}");
    }
    assert_eq!(last["error"], "too_many_attempts", "{last}");
    // Locked: no new code either, and the owner is told until when.
    let (st, v) = s.call(
        "POST",
        "/api/v1/owner/code",
        None,
        Some(json!({"phone": phone})),
    );
    assert_eq!(st, 429, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("locked until"),
        "{v}"
    );
    assert!(
        v["retry_at"].as_i64().unwrap() > jiff::Timestamp::now().as_second() + 3000,
        "{v}"
    );
    // Per-client limit: one address asking for many phones is stopped.
    let s2 = start(Some(doorstep_domain::booking::CodePolicy {
        per_client_per_hour: 2,
        ..loose()
    }));
    for (i, p) in ["13812345678", "13900000001", "13812345678"]
        .iter()
        .enumerate()
    {
        let (st, _) = s2.call_from(
            "POST",
            "/api/v1/owner/code",
            None,
            Some(json!({"phone": p})),
            "10.9.9.9",
        );
        assert_eq!(st, if i < 2 { 200 } else { 429 }, "request {i}");
    }
    let (st, _) = s2.call_from(
        "POST",
        "/api/v1/owner/code",
        None,
        Some(json!({"phone": "13812345678"})),
        "10.9.9.8",
    );
    assert_eq!(st, 200);
}

#[test]
fn owners_book_only_their_own_and_staff_dispatch() {
    let s = start(Some(loose()));
    let admin = s.login("s-admin");
    let disp = s.login("s-dispatcher");
    let zhang = s.owner("13812345678");
    let li = s.owner("13900000001");
    let day = next_weekday().to_string();
    let ids = s.ids;
    let book = |token: &str, targets: Value, start: &str, extra: Value| {
        let mut body = json!({"targets": targets, "date": day, "start": start});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        s.call(
            "POST",
            "/api/v1/estates/sample/bookings",
            Some(token),
            Some(body),
        )
    };
    // Slots: public, four evening slots with places = 3 collectors × 3.
    let (st, v) = s.call(
        "GET",
        &format!("/api/v1/estates/sample/slots?from={day}&days=1"),
        None,
        None,
    );
    assert_eq!(st, 200, "{v}");
    let slots = v["days"][0]["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 4);
    assert_eq!(slots[0]["from"], "19:00");
    assert_eq!(slots[0]["capacity"], 6, "two collectors × three visits");
    // 张三 books 202 and B007 together, call first, in large numbers of fields.
    let (st, mine) = book(
        &zhang,
        json!([{"kind": "room", "id": ids.room_202}, {"kind": "space", "id": ids.space_b007}]),
        "19:30",
        json!({"call_first": true, "pays_cash": true, "note": "老人在家", "contact_phone": "13611112222"}),
    );
    assert_eq!(st, 201, "{mine}");
    assert_eq!(mine["status"], "awaiting_call");
    assert_eq!(mine["contact_phone"], "13611112222");
    assert_eq!(mine["labels"], json!(["3号楼202室", "车位B007"]));
    let mine_id = mine["id"].as_i64().unwrap();
    // The matrix: nobody books, sees, cancels or moves another owner's.
    let (st, v) = book(
        &zhang,
        json!([{"kind": "room", "id": ids.room_301}]),
        "19:30",
        json!({}),
    );
    assert_eq!(st, 404, "{v}");
    let (st, v) = book(
        &li,
        json!([{"kind": "room", "id": ids.room_202}]),
        "20:00",
        json!({}),
    );
    assert_eq!(st, 404, "{v}");
    let (st, v) = book(
        &li,
        json!([{"kind": "room", "id": ids.room_301}, {"kind": "room", "id": ids.room_202}]),
        "20:00",
        json!({}),
    );
    assert_eq!(st, 404, "{v}");
    for (m, path, body) in [
        ("GET", format!("/api/v1/bookings/{mine_id}"), None),
        (
            "POST",
            format!("/api/v1/bookings/{mine_id}/cancel"),
            Some(json!({})),
        ),
        (
            "POST",
            format!("/api/v1/bookings/{mine_id}/reschedule"),
            Some(json!({"date": day, "start": "20:00"})),
        ),
        ("GET", format!("/api/v1/bookings/{mine_id}/history"), None),
    ] {
        let (st, v) = s.call(m, &path, Some(&li), body);
        assert!(st == 404 || st == 401, "{m} {path}: {st} {v}");
    }
    let other = s.login("s-other");
    let (st, _) = s.call(
        "GET",
        &format!("/api/v1/bookings/{mine_id}"),
        Some(&other),
        None,
    );
    assert_eq!(st, 404);
    let (st, _) = s.call(
        "GET",
        "/api/v1/estates/sample/confirmation-queue",
        Some(&other),
        None,
    );
    assert_eq!(st, 403);
    let (_, v) = s.call("GET", "/api/v1/owner/bookings", Some(&li), None);
    assert_eq!(v, json!([]));
    // Nothing was changed by the refused calls.
    let (_, v) = s.call(
        "GET",
        &format!("/api/v1/bookings/{mine_id}"),
        Some(&zhang),
        None,
    );
    assert_eq!(v["status"], "awaiting_call");
    // The same room cannot be booked twice while open.
    let (st, v) = book(
        &zhang,
        json!([{"kind": "room", "id": ids.room_202}]),
        "20:30",
        json!({}),
    );
    assert_eq!(st, 409, "{v}");
    // Bad slots: past, outside the windows, unknown estate, nonsense.
    let yesterday = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap())
        .date()
        .yesterday()
        .unwrap()
        .to_string();
    let (st, v) = s.call("POST", "/api/v1/estates/sample/bookings", Some(&li), Some(json!({"targets": [{"kind": "room", "id": ids.room_301}], "date": yesterday, "start": "19:00"})));
    assert!(st == 422 && v["error"] == "slot_unavailable", "{st} {v}");
    let (st, v) = book(
        &li,
        json!([{"kind": "room", "id": ids.room_301}]),
        "19:15",
        json!({}),
    );
    assert!(
        st == 422 && v["message"].as_str().unwrap().contains("slots"),
        "{st} {v}"
    );
    let (st, _) = s.call("POST", "/api/v1/estates/nowhere/bookings", Some(&li), Some(json!({"targets": [{"kind": "room", "id": ids.room_301}], "date": day, "start": "19:00"})));
    assert_eq!(st, 404);
    let (st, v) = book(
        &li,
        json!([{"kind": "room", "id": ids.room_301}]),
        "7pm",
        json!({}),
    );
    assert_eq!((st, v["field"].as_str()), (422, Some("start")), "{v}");
    let (st, v) = book(
        &li,
        json!([{"kind": "room", "id": ids.room_301}]),
        "19:00",
        json!({"contact_phone": "abc"}),
    );
    assert_eq!(
        (st, v["field"].as_str()),
        (422, Some("contact_phone")),
        "{v}"
    );
    // Staff phone-in booking on 李四's behalf.
    let (st, hers) = s.call("POST", "/api/v1/estates/sample/bookings", Some(&disp), Some(json!({"targets": [{"kind": "room", "id": ids.room_301}], "date": day, "start": "19:00"})));
    assert_eq!(st, 201, "{hers}");
    assert_eq!(hers["status"], "requested");
    assert_eq!(hers["phone"], "13900000001");
    let (_, v) = s.call("GET", "/api/v1/owner/bookings", Some(&li), None);
    assert_eq!(v.as_array().unwrap().len(), 1);
    // The confirmation queue: 张三's call-first booking; a call confirms it.
    let (st, q) = s.call(
        "GET",
        "/api/v1/estates/sample/confirmation-queue",
        Some(&disp),
        None,
    );
    assert_eq!(st, 200);
    assert_eq!(
        q.as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![mine_id]
    );
    let call = |outcome: &str| {
        s.call(
            "POST",
            &format!("/api/v1/bookings/{mine_id}/calls"),
            Some(&disp),
            Some(json!({"outcome": outcome, "note": "儿子接的电话"})),
        )
    };
    let (st, v) = call("no_answer");
    assert_eq!(
        (st, v["status"].as_str(), v["call_attempts"].as_i64()),
        (200, Some("awaiting_call"), Some(1))
    );
    let (st, v) = call("maybe");
    assert_eq!((st, v["field"].as_str()), (422, Some("outcome")));
    let (st, v) = call("confirmed");
    assert_eq!((st, v["status"].as_str()), (200, Some("confirmed")));
    let (st, _) = call("confirmed");
    assert_eq!(st, 409);
    // A collector may not dispatch.
    let collector = s.login("s-collector");
    let (st, _) = s.call(
        "POST",
        "/api/v1/estates/sample/dispatch/plan",
        Some(&collector),
        Some(json!({"date": day})),
    );
    assert_eq!(st, 403);
    // Plan the evening: both visits routed, each ETA inside its slot.
    let (st, board) = s.call(
        "POST",
        "/api/v1/estates/sample/dispatch/plan",
        Some(&disp),
        Some(json!({"date": day, "time_limit_ms": 200})),
    );
    assert_eq!(st, 200, "{board}");
    let stops: Vec<&Value> = board["routes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["stops"].as_array().unwrap())
        .collect();
    assert_eq!(stops.len(), 2, "{board}");
    for stop in &stops {
        assert_eq!(stop["on_time"], true, "{stop}");
        let eta = stop["booking"]["eta"].as_i64().unwrap();
        let start = stop["booking"]["starts_at"].as_i64().unwrap();
        assert!(eta >= start && eta <= start + 1800, "{stop}");
    }
    // The collector's itinerary shows their own stops; not someone else's.
    let mine_stop = stops
        .iter()
        .find(|x| x["booking"]["id"] == mine_id)
        .unwrap();
    let who = mine_stop["booking"]["collector_id"].as_i64().unwrap();
    let (st, it) = s.call(
        "GET",
        &format!("/api/v1/estates/sample/itinerary?date={day}&collector={who}"),
        Some(&disp),
        None,
    );
    assert_eq!(st, 200, "{it}");
    let first = &it[0]["stops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["booking"]["id"] == mine_id)
        .unwrap()
        .clone();
    assert!(
        first["eta"].as_str().unwrap() >= "19:30" && first["eta"].as_str().unwrap() <= "20:00",
        "{first}"
    );
    assert!(it[0]["svg"].as_str().unwrap().starts_with("<svg"));
    // Lock: the plan is published; planning again is refused until unlocked.
    let (st, v) = s.call(
        "POST",
        "/api/v1/estates/sample/dispatch/lock",
        Some(&disp),
        Some(json!({"date": day})),
    );
    assert_eq!(st, 200, "{v}");
    assert!(v["locked_at"].as_i64().is_some());
    let (st, _) = s.call(
        "POST",
        "/api/v1/estates/sample/dispatch/plan",
        Some(&disp),
        Some(json!({"date": day})),
    );
    assert_eq!(st, 409);
    // The owner sees the ETA; then cancels (before the cut-off): place freed.
    let (_, v) = s.call(
        "GET",
        &format!("/api/v1/bookings/{mine_id}"),
        Some(&zhang),
        None,
    );
    assert_eq!(v["status"], "scheduled");
    assert!(v["eta_local"].as_str().is_some());
    let (st, v) = s.call(
        "POST",
        &format!("/api/v1/bookings/{mine_id}/cancel"),
        Some(&zhang),
        Some(json!({"reason": "出差"})),
    );
    assert_eq!((st, v["status"].as_str()), (200, Some("cancelled")), "{v}");
    let (_, v) = s.call(
        "GET",
        &format!("/api/v1/estates/sample/slots?from={day}&days=1"),
        None,
        None,
    );
    assert_eq!(v["days"][0]["slots"][1]["left"], 6);
    let (_, h) = s.call(
        "GET",
        &format!("/api/v1/bookings/{mine_id}/history"),
        Some(&disp),
        None,
    );
    let to: Vec<&str> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        to,
        [
            "awaiting_call",
            "awaiting_call",
            "confirmed",
            "scheduled",
            "cancelled"
        ]
    );
    // A reminder was queued to the contact phone and withdrawn on cancel.
    let (_, out) = s.call(
        "GET",
        "/api/v1/outbox?recipient=13611112222",
        Some(&admin),
        None,
    );
    assert_eq!(out[0]["kind"], "reminder");
    assert!(out[0]["cancelled_at"].as_i64().is_some(), "{out}");
}

#[test]
fn full_slots_and_rules() {
    let s = start(Some(loose()));
    let admin = s.login("s-admin");
    let zhang = s.owner("13812345678");
    let li = s.owner("13900000001");
    let day = next_weekday();
    // One collector on duty, one visit per slot: capacity 1.
    let (st, v) = s.call(
        "GET",
        &format!("/api/v1/estates/sample/duty?date={day}"),
        Some(&admin),
        None,
    );
    assert_eq!(st, 200, "{v}");
    let collectors: Vec<i64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["user_id"].as_i64().unwrap())
        .collect();
    assert_eq!(collectors.len(), 2);
    let (st, _) = s.call(
        "PUT",
        &format!("/api/v1/estates/sample/duty/{day}/{}", collectors[1]),
        Some(&admin),
        Some(json!({"on_duty": false})),
    );
    assert_eq!(st, 200);
    let rules = json!({"weekday": "19:00-21:00", "weekend": "09:00-12:00, 14:00-18:00", "slot_minutes": 30, "visits_per_collector": 1, "cutoff_minutes": 60, "reminder_minutes": 120, "service_minutes": 5, "horizon_days": 14});
    let (st, v) = s.call(
        "PUT",
        "/api/v1/estates/sample/booking-rules",
        Some(&admin),
        Some(rules.clone()),
    );
    assert_eq!(st, 200, "{v}");
    let mut bad = rules.clone();
    bad["weekday"] = json!("19:00-20:45");
    let (st, v) = s.call(
        "PUT",
        "/api/v1/estates/sample/booking-rules",
        Some(&admin),
        Some(bad),
    );
    assert_eq!((st, v["field"].as_str()), (422, Some("weekday")), "{v}");
    let (st, v) = s.call("POST", "/api/v1/estates/sample/bookings", Some(&zhang), Some(json!({"targets": [{"kind": "room", "id": s.ids.room_202}], "date": day.to_string(), "start": "20:00"})));
    assert_eq!(st, 201, "{v}");
    let (st, v) = s.call("POST", "/api/v1/estates/sample/bookings", Some(&li), Some(json!({"targets": [{"kind": "room", "id": s.ids.room_301}], "date": day.to_string(), "start": "20:00"})));
    assert_eq!((st, v["error"].as_str()), (409, Some("slot_full")), "{v}");
    let (_, v) = s.call(
        "GET",
        &format!("/api/v1/estates/sample/slots?from={day}&days=1"),
        None,
        None,
    );
    assert_eq!(v["days"][0]["slots"][2]["unavailable"], "full");
    // A closed day has no slots; a holiday on a weekday gets weekend hours.
    let (st, _) = s.call(
        "PUT",
        &format!("/api/v1/estates/sample/booking-days/{day}"),
        Some(&admin),
        Some(json!({"kind": "closed", "note": "停电检修"})),
    );
    assert_eq!(st, 200);
    let (st, v) = s.call("POST", "/api/v1/estates/sample/bookings", Some(&li), Some(json!({"targets": [{"kind": "room", "id": s.ids.room_301}], "date": day.to_string(), "start": "19:00"})));
    assert_eq!(st, 422, "{v}");
    let (st, _) = s.call(
        "PUT",
        &format!("/api/v1/estates/sample/booking-days/{day}"),
        Some(&admin),
        Some(json!({"kind": "holiday"})),
    );
    assert_eq!(st, 200);
    let (_, v) = s.call(
        "GET",
        &format!("/api/v1/estates/sample/slots?from={day}&days=1"),
        None,
        None,
    );
    assert_eq!(v["days"][0]["slots"][0]["from"], "09:00");
    let (st, v) = s.call(
        "PUT",
        &format!("/api/v1/estates/sample/booking-days/{day}"),
        Some(&admin),
        Some(json!({"kind": "sometimes"})),
    );
    assert_eq!((st, v["field"].as_str()), (422, Some("kind")));
    // A walking model that does not parse is refused and the old one kept.
    let (st, v) = s.call_text(
        "PUT",
        "/api/v1/estates/sample/walking-model",
        &admin,
        "building 3 x y lift\n",
    );
    assert_eq!(st, 422, "{v}");
    let (st, v) = s.call(
        "GET",
        "/api/v1/estates/sample/walking-model",
        Some(&admin),
        None,
    );
    assert_eq!(st, 200);
    assert!(v.as_str().unwrap().contains("building 5"));
}

impl Server {
    fn call_text(&self, method: &str, path: &str, token: &str, body: &str) -> (u16, Value) {
        let res = ureq::request(method, &format!("{}{}", self.base, path))
            .set("Authorization", &format!("Bearer {token}"))
            .send_string(body);
        let resp = match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{e}"),
        };
        let st = resp.status();
        let text = resp.into_string().unwrap();
        (
            st,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

#[test]
fn openapi_lists_the_booking_operations() {
    let doc = doorstep_web::openapi_document();
    let mut ids = Vec::new();
    for (_, item) in doc["paths"].as_object().unwrap() {
        for (_, op) in item.as_object().unwrap() {
            ids.push(op["operationId"].as_str().unwrap().to_string());
        }
    }
    for needed in [
        "requestOwnerCode",
        "verifyOwnerCode",
        "listOwnerTargets",
        "listSlots",
        "createBooking",
        "cancelBooking",
        "rescheduleBooking",
        "listConfirmationQueue",
        "recordConfirmationCall",
        "planDispatch",
        "getItinerary",
    ] {
        assert!(ids.iter().any(|i| i == needed), "{needed} missing");
    }
}

#[test]
fn replanning_keeps_done_visits_and_fits_changes() {
    let s = start(Some(loose()));
    let disp = s.login("s-dispatcher");
    let zhang = s.owner("13812345678");
    let day = next_weekday().to_string();
    let ids = s.ids;
    let (st, first) = s.call("POST", "/api/v1/estates/sample/bookings", Some(&zhang), Some(json!({"targets": [{"kind": "room", "id": ids.room_202}], "date": day, "start": "19:00"})));
    assert_eq!(st, 201, "{first}");
    let first = first["id"].as_i64().unwrap();
    let (st, second) = s.call("POST", "/api/v1/estates/sample/bookings", Some(&disp), Some(json!({"targets": [{"kind": "room", "id": ids.room_301}], "date": day, "start": "19:30"})));
    assert_eq!(st, 201, "{second}");
    let second = second["id"].as_i64().unwrap();
    let (st, board) = s.call(
        "POST",
        "/api/v1/estates/sample/dispatch/plan",
        Some(&disp),
        Some(json!({"date": day, "time_limit_ms": 100})),
    );
    assert_eq!(st, 200, "{board}");
    let collector_of = |board: &Value, id: i64| -> Option<i64> {
        board["routes"].as_array().unwrap().iter().find_map(|r| {
            r["stops"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["booking"]["id"] == id)
                .then(|| r["collector_id"].as_i64().unwrap())
        })
    };
    let c1 = collector_of(&board, first).unwrap();
    // A collector not on that visit cannot record it; the one on it can.
    let c1_name = if board["collectors"][0][0] == c1 {
        "s-collector"
    } else {
        "s-collector2"
    };
    let other_name = if c1_name == "s-collector" {
        "s-collector2"
    } else {
        "s-collector"
    };
    let (st, _) = s.call(
        "POST",
        &format!("/api/v1/bookings/{first}/visit"),
        Some(&s.login(other_name)),
        Some(json!({"result": "paid"})),
    );
    assert_eq!(st, 404);
    let (st, v) = s.call(
        "POST",
        &format!("/api/v1/bookings/{first}/visit"),
        Some(&s.login(c1_name)),
        Some(json!({"result": "not_paid"})),
    );
    assert_eq!((st, v["field"].as_str()), (422, Some("reason")), "{v}");
    let (st, v) = s.call(
        "POST",
        &format!("/api/v1/bookings/{first}/visit"),
        Some(&s.login(c1_name)),
        Some(json!({"result": "paid"})),
    );
    assert_eq!((st, v["status"].as_str()), (200, Some("visited")), "{v}");
    // 李四 cancels by phone; 张三 adds his parking space for 20:00.
    let (st, _) = s.call(
        "POST",
        &format!("/api/v1/bookings/{second}/cancel"),
        Some(&disp),
        Some(json!({"reason": "业主来电取消"})),
    );
    assert_eq!(st, 200);
    let (st, third) = s.call("POST", "/api/v1/estates/sample/bookings", Some(&zhang), Some(json!({"targets": [{"kind": "space", "id": ids.space_b007}], "date": day, "start": "20:00"})));
    assert_eq!(st, 201, "{third}");
    let third = third["id"].as_i64().unwrap();
    let (st, board) = s.call(
        "POST",
        "/api/v1/estates/sample/dispatch/replan",
        Some(&disp),
        Some(json!({"date": day, "time_limit_ms": 100})),
    );
    assert_eq!(st, 200, "{board}");
    // The done visit stays first on its collector's route, marked done.
    let route = board["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["collector_id"] == c1)
        .unwrap();
    assert_eq!(route["stops"][0]["booking"]["id"], first, "{route}");
    assert_eq!(route["stops"][0]["done"], true);
    // The new visit is routed inside its slot; the cancelled one is gone.
    assert!(collector_of(&board, third).is_some(), "{board}");
    assert!(collector_of(&board, second).is_none(), "{board}");
    let stop = board["routes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["stops"].as_array().unwrap())
        .find(|x| x["booking"]["id"] == third)
        .unwrap();
    assert_eq!(stop["on_time"], true, "{stop}");
    assert!(stop["eta"].as_str().unwrap() >= "20:00");
}

/// Every owner × every room and space × book: only their own succeeds; every
/// booking × every other owner × see/cancel/move: never.
#[test]
fn the_whole_owner_matrix() {
    let s = start(Some(loose()));
    let admin = s.login("s-admin");
    let owners = [
        ("13812345678", s.owner("13812345678")),
        ("13900000001", s.owner("13900000001")),
    ];
    let ids = s.ids;
    let targets = [
        ("room", ids.room_202, "13812345678"),
        ("room", ids.room_301, "13900000001"),
        ("space", ids.space_b007, "13812345678"),
    ];
    let day = next_weekday().to_string();
    let mut made = Vec::new();
    for (phone, token) in &owners {
        for (kind, id, holder) in targets {
            let (st, v) = s.call(
                "POST",
                "/api/v1/estates/sample/bookings",
                Some(token),
                Some(json!({"targets": [{"kind": kind, "id": id}], "date": day, "start": "20:30"})),
            );
            if *phone == holder {
                assert_eq!(st, 201, "{phone} {kind} {id}: {v}");
                made.push((phone.to_string(), v["id"].as_i64().unwrap()));
            } else {
                assert_eq!(st, 404, "{phone} {kind} {id}: {v}");
                assert!(
                    !v.to_string().contains("张三") && !v.to_string().contains("李四"),
                    "{v}"
                );
            }
        }
    }
    assert_eq!(made.len(), 3);
    for (holder, booking) in &made {
        for (phone, token) in &owners {
            let calls = [
                ("GET", format!("/api/v1/bookings/{booking}"), None),
                (
                    "POST",
                    format!("/api/v1/bookings/{booking}/reschedule"),
                    Some(json!({"date": day, "start": "20:00"})),
                ),
                (
                    "POST",
                    format!("/api/v1/bookings/{booking}/cancel"),
                    Some(json!({})),
                ),
            ];
            if phone == holder {
                continue;
            }
            for (m, path, body) in calls {
                let (st, v) = s.call(m, &path, Some(token), body);
                assert_eq!(st, 404, "{phone} {m} {path}: {v}");
            }
        }
        let (_, v) = s.call(
            "GET",
            &format!("/api/v1/bookings/{booking}"),
            Some(&admin),
            None,
        );
        assert_eq!(v["status"], "requested", "unchanged: {v}");
    }
    for (phone, token) in &owners {
        let (_, list) = s.call("GET", "/api/v1/owner/bookings", Some(token), None);
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .all(|b| b["phone"] == *phone),
            "{list}"
        );
    }
}
