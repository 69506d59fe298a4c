//! An owner books a home visit from a phone in real headless Chromium: signs
//! in with the code texted to the phone, in large-text mode, books a
//! "call first" visit in three screens; staff confirm it by phone and plan
//! the evening; the itinerary's stop for it has an ETA inside its slot. The
//! owner pages pass axe-core with no serious or critical violations.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_app::App;
use doorstep_app::demo::{SAMPLE_PASSWORD, seed_sample};
use doorstep_e2e::{Driver, axe, skip_note};
use serde_json::{Value, json};
use std::io::Write;
use std::sync::Arc;

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

impl Phones {
    /// The code in the next SMS to `phone` (each is read once).
    fn code(&self, phone: &str) -> String {
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            {
                let mut inbox = self.0.lock().unwrap();
                if let Some(i) = inbox.iter().position(|(to, _)| to == phone) {
                    let (_, body) = inbox.remove(i);
                    return body.chars().filter(char::is_ascii_digit).take(6).collect();
                }
            }
            assert!(std::time::Instant::now() < until, "no SMS to {phone}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    fn count(&self, phone: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(to, _)| to == phone)
            .count()
    }
}

fn start_server(dir: &std::path::Path) -> (String, Arc<Phones>) {
    let file = dir.join("doorstep.sqlite");
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
            app.gateways = vec![gateway];
            seed_sample(&app).await.unwrap();
            let sender = app.clone();
            tokio::spawn(async move {
                loop {
                    let _ = sender.deliver_due().await;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(format!("http://{}", listener.local_addr().unwrap()))
                .unwrap();
            axum::serve(listener, doorstep_web::router(app))
                .await
                .unwrap();
        });
    });
    (rx.recv().unwrap(), phones)
}

fn api(
    base: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = ureq::request(method, &format!("{base}{path}"));
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
    let st = resp.status();
    let text = resp.into_string().unwrap();
    (
        st,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn staff_token(base: &str, user: &str) -> String {
    let (st, v) = api(
        base,
        "POST",
        "/api/v1/login",
        None,
        Some(json!({"username": user, "password": SAMPLE_PASSWORD})),
    );
    assert_eq!(st, 200, "{v}");
    v["token"].as_str().unwrap().to_string()
}

/// The next Monday–Friday after today in China.
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

fn check_axe(d: &Driver, source: &Option<String>, page: &str) {
    let Some(src) = source else { return };
    let v = axe::check(d, src).unwrap_or_else(|e| panic!("{e}"));
    let bad = axe::serious(&v);
    assert!(bad.is_empty(), "{page}: {}", axe::report(&bad));
}

fn no_sideways_scroll(d: &Driver, page: &str) {
    let v = d
        .execute(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
            vec![],
        )
        .unwrap();
    let (sw, cw) = (v[0].as_i64().unwrap(), v[1].as_i64().unwrap());
    assert!(
        sw <= cw + 1,
        "{page}: content {sw}px wide in a {cw}px screen"
    );
}

#[test]
fn owner_books_a_call_first_visit_and_staff_dispatch_it() {
    let Some(d) = Driver::start().unwrap() else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: browser suite — {}",
            skip_note()
        );
        return;
    };
    let axe_js = match axe::axe_source() {
        Ok(Some(s)) => Some(s),
        Ok(None) => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: accessibility checks — {}",
                axe::skip_note()
            );
            None
        }
        Err(e) => panic!("{e}"),
    };
    let dir = tempfile::tempdir().unwrap();
    let (base, phones) = start_server(dir.path());
    let staff = staff_token(&base, "s-dispatcher");
    d.set_window_size(360, 740).unwrap();

    // Not signed in: the sign-in page. Large text on.
    d.goto(&format!("{base}/o")).unwrap();
    assert!(d.current_url().unwrap().contains("/o/login"));
    d.find("a[href='/o/prefs?big=1']").unwrap().click().unwrap();
    d.wait_for_text("a[href='/o/prefs?big=0']", "标准字体")
        .unwrap();
    let big = d
        .execute("return document.documentElement.className;", vec![])
        .unwrap();
    assert_eq!(big, "big");
    let font = d
        .execute("return getComputedStyle(document.body).fontSize;", vec![])
        .unwrap();
    assert_eq!(font, "24px");
    check_axe(&d, &axe_js, "sign-in");
    no_sideways_scroll(&d, "sign-in");

    // A number not on file gets the same answer (nothing is texted); then
    // the owner's own number.
    d.find("#phone").unwrap().send_keys("13700000000").unwrap();
    d.find("#send-code").unwrap().click().unwrap();
    d.wait_for_text(".ok", "验证码已发送到 137****0000")
        .unwrap();
    d.goto(&format!("{base}/o/login")).unwrap();
    d.find("#phone").unwrap().send_keys("13812345678").unwrap();
    d.find("#send-code").unwrap().click().unwrap();
    d.wait_for_text(".ok", "验证码已发送").unwrap();
    // The code, as the phone received it; staff never see it.
    let code = phones.code("13812345678");
    assert_eq!(phones.count("13700000000"), 0);
    let (st, out) = api(
        &base,
        "GET",
        "/api/v1/outbox?recipient=13812345678",
        Some(&staff),
        None,
    );
    assert_eq!(st, 200, "{out}");
    assert!(!out.to_string().contains(&code), "{out}");
    // A wrong code first: told so, still on the code step.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    d.find("#code").unwrap().send_keys(wrong).unwrap();
    d.find("#verify").unwrap().click().unwrap();
    d.wait_for_text(".err", "验证码不正确").unwrap();
    d.find("#code").unwrap().send_keys(&code).unwrap();
    d.find("#verify").unwrap().click().unwrap();

    // Screen 1: the rooms and what is owed.
    d.wait_for_text("h1", "我的房屋").unwrap();
    let text = d.find("main").unwrap().text().unwrap();
    assert!(
        text.contains("3号楼202室") && text.contains("B007"),
        "{text}"
    );
    assert!(
        !text.contains("5号楼301室"),
        "another owner's room shown: {text}"
    );
    check_axe(&d, &axe_js, "my homes");
    no_sideways_scroll(&d, "my homes");
    let room = d.find("input[name=t][value^='room:']").unwrap();
    room.click().unwrap();
    d.find("#book").unwrap().click().unwrap();

    // Screen 2: a slot and the special needs.
    d.wait_for_text("h1", "选择上门时间").unwrap();
    check_axe(&d, &axe_js, "choose a time");
    no_sideways_scroll(&d, "choose a time");
    let day = next_weekday();
    let slot_id = format!("slot-{}T1930", day.to_string().replace('-', ""));
    d.find(&format!("#{slot_id}")).unwrap().click().unwrap();
    d.find("#call-first").unwrap().click().unwrap();
    d.find("#note")
        .unwrap()
        .send_keys("老人耳背，请多敲门")
        .unwrap();
    d.find("#confirm").unwrap().click().unwrap();

    // Screen 3: booked, waiting for the office's call.
    d.wait_for_text("h1", "预约成功").unwrap();
    let text = d.find("main").unwrap().text().unwrap();
    assert!(text.contains("待电话确认"), "{text}");
    assert!(text.contains("19:30–20:00"), "{text}");
    assert!(text.contains("上门前先电话确认"), "{text}");
    check_axe(&d, &axe_js, "booked");
    no_sideways_scroll(&d, "booked");
    let booking_id: i64 = d
        .current_url()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();

    // Staff phone the owner: confirmed. Then plan the evening.
    let (st, q) = api(
        &base,
        "GET",
        "/api/v1/estates/sample/confirmation-queue",
        Some(&staff),
        None,
    );
    assert_eq!(st, 200);
    assert_eq!(q[0]["id"], booking_id, "{q}");
    let (st, v) = api(
        &base,
        "POST",
        &format!("/api/v1/bookings/{booking_id}/calls"),
        Some(&staff),
        Some(json!({"outcome": "confirmed"})),
    );
    assert_eq!((st, v["status"].as_str()), (200, Some("confirmed")), "{v}");
    let (st, board) = api(
        &base,
        "POST",
        "/api/v1/estates/sample/dispatch/plan",
        Some(&staff),
        Some(json!({"date": day.to_string(), "time_limit_ms": 200})),
    );
    assert_eq!(st, 200, "{board}");
    let route = board["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["stops"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["booking"]["id"] == booking_id)
        })
        .unwrap_or_else(|| panic!("not routed: {board}"));
    let collector = route["collector_id"].as_i64().unwrap();
    let (st, it) = api(
        &base,
        "GET",
        &format!("/api/v1/estates/sample/itinerary?date={day}&collector={collector}"),
        Some(&staff),
        None,
    );
    assert_eq!(st, 200, "{it}");
    let stop = it[0]["stops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["booking"]["id"] == booking_id)
        .unwrap()
        .clone();
    let eta = stop["eta"].as_str().unwrap();
    assert!(
        ("19:30"..="20:00").contains(&eta),
        "ETA {eta} outside 19:30–20:00"
    );
    assert_eq!(stop["on_time"], true);

    // The owner sees the expected arrival on the booking page.
    d.goto(&format!("{base}/o/bookings/{booking_id}")).unwrap();
    d.wait_for_text("main", "收费员预计到达").unwrap();
    let text = d.find("main").unwrap().text().unwrap();
    assert!(text.contains(eta), "{text}");
    assert!(text.contains("已派单"), "{text}");

    // English is one tap away and still large.
    d.find("a[href='/o/prefs?lang=en']")
        .unwrap()
        .click()
        .unwrap();
    d.wait_for_text("main", "Collector expected at").unwrap();
    check_axe(&d, &axe_js, "booking (English)");
}

#[test]
fn owner_cannot_open_another_owners_booking_in_the_browser() {
    let Some(d) = Driver::start().unwrap() else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: browser suite — {}",
            skip_note()
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (base, phones) = start_server(dir.path());
    let staff = staff_token(&base, "s-dispatcher");
    // Staff book for 李四 (phoned in).
    let day = next_weekday().to_string();
    let (st, rooms) = api(
        &base,
        "GET",
        "/api/v1/estates/sample/rooms?q=301",
        Some(&staff),
        None,
    );
    assert_eq!(st, 200, "{rooms}");
    let (st, b) = api(
        &base,
        "POST",
        "/api/v1/estates/sample/bookings",
        Some(&staff),
        Some(
            json!({"targets": [{"kind": "room", "id": rooms[0]["room"]["id"]}], "date": day, "start": "20:00"}),
        ),
    );
    assert_eq!(st, 201, "{b}");
    let theirs = b["id"].as_i64().unwrap();
    // 张三 signs in and tries 李四's booking by its address.
    d.goto(&format!("{base}/o/login")).unwrap();
    d.find("#phone").unwrap().send_keys("13812345678").unwrap();
    d.find("#send-code").unwrap().click().unwrap();
    d.wait_for_text(".ok", "验证码已发送").unwrap();
    let code = phones.code("13812345678");
    d.find("#code").unwrap().send_keys(&code).unwrap();
    d.find("#verify").unwrap().click().unwrap();
    d.wait_for_text("h1", "我的房屋").unwrap();
    for path in [
        format!("/o/bookings/{theirs}"),
        format!("/o/bookings/{theirs}/reschedule"),
    ] {
        d.goto(&format!("{base}{path}")).unwrap();
        let text = d.find("main").unwrap().text().unwrap();
        assert!(text.contains("没有找到"), "{path}: {text}");
        assert!(!text.contains("5号楼301室"), "{path} leaked: {text}");
    }
    // Their booking is untouched.
    let (_, v) = api(
        &base,
        "GET",
        &format!("/api/v1/bookings/{theirs}"),
        Some(&staff),
        None,
    );
    assert_eq!(v["status"], "requested");
}
