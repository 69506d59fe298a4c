//! The collector's phone app in real headless Chromium, on the sample estate
//! with the payment simulator: a dispatcher books 张三's room 202 and space
//! B007 and plans the evening; the collector it went to signs in, opens the
//! itinerary and the stop, checks in inside building 3's geofence (emulated
//! position), takes cash with the owner's signature (the page reloaded
//! before signing still shows that payment's amount, and the signature is
//! bound to it), opens a QR order and reloads (the same QR, its state and a
//! cancel button are back; asking again names the open order in Chinese;
//! cancel closes it), a WeChat QR payment and
//! an Alipay one — each page turning to 已支付 by itself when the simulator
//! pays — and the owner's WeChat payment code (with a password to enter),
//! then loses the network (the page is cut off with chromedriver's
//! network conditions and the server is made unreachable), takes cash, a
//! signature and the outcome (saved on the phone, 待同步), reloads the stop
//! from the service worker's cache, and syncs when the network is back:
//! exactly one payment for the offline cash, the offline signature bound to
//! it; sending the same queue again
//! changes nothing; the ledger check finds no problem. The itinerary and the
//! stop pass axe-core with no serious or critical violations.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_app::App;
use doorstep_app::demo::{SAMPLE_PASSWORD, demo_building_point, seed_collecting, seed_sample};
use doorstep_e2e::{Driver, Element, axe, skip_note};
use serde_json::{Value, json};
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the server thread hands back.
struct Server {
    /// The server itself (the payment simulator notifies it here).
    base: String,
    /// The payment simulator.
    sim_base: String,
    app: App,
    rt: tokio::runtime::Handle,
    room_202: i64,
    space_b007: i64,
}

/// Starts the payment simulator and a server over a fresh SQLite file in
/// `dir` holding the sample estate with collecting set up.
fn start_server(dir: &std::path::Path) -> Server {
    let file = dir.join("doorstep.sqlite");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let handle = rt.handle().clone();
        rt.block_on(async move {
            let (_sim, sim_base, wechat, alipay) = doorstep_paysim::kit::start(0, |c| {
                c.retry_scale = 0.01;
            })
            .await
            .unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let mut app = App::new(Arc::new(doorstep_store_sqlite::open(&file).await.unwrap()));
            app.pay.public_url = base.clone();
            app.pay.code_wait = Duration::from_secs(5);
            app.pay.code_poll = Duration::from_millis(300);
            let ids = seed_sample(&app).await.unwrap();
            seed_collecting(&app, "sample", &wechat, &alipay)
                .await
                .unwrap();
            tx.send(Server {
                base,
                sim_base,
                app: app.clone(),
                rt: handle,
                room_202: ids.room_202,
                space_b007: ids.space_b007,
            })
            .unwrap_or_else(|_| panic!("test gone"));
            axum::serve(listener, doorstep_web::router(app))
                .await
                .unwrap();
        });
    });
    rx.recv().unwrap()
}

/// A TCP relay in front of the server that the test can switch off: then
/// open connections are cut and new ones refused, as in a garage — for the
/// page, its service worker and the browser alike.
struct Gate {
    online: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Gate {
    fn start(target: &str) -> (String, Gate) {
        let target: SocketAddr = target.trim_start_matches("http://").parse().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let gate = Gate {
            online: Arc::new(AtomicBool::new(true)),
            conns: Arc::new(Mutex::new(Vec::new())),
        };
        let (online, conns) = (gate.online.clone(), gate.conns.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !online.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                {
                    let mut list = conns.lock().unwrap();
                    list.push(client.try_clone().unwrap());
                    list.push(server.try_clone().unwrap());
                }
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Write);
                    });
                }
            }
        });
        (base, gate)
    }

    fn set_online(&self, on: bool) {
        self.online.store(on, Ordering::SeqCst);
        if !on {
            for c in self.conns.lock().unwrap().drain(..) {
                let _ = c.shutdown(Shutdown::Both);
            }
        }
    }
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

/// The next Monday–Friday after today at the estate.
fn next_weekday(app: &App, rt: &tokio::runtime::Handle) -> String {
    let estate = rt
        .block_on(app.store.estate_by_code("sample"))
        .unwrap()
        .unwrap();
    let mut day = doorstep_app::today(&estate);
    loop {
        day = day.tomorrow().unwrap();
        if day.weekday().to_monday_one_offset() <= 5 {
            return day.to_string();
        }
    }
}

/// Runs `script` until it returns something other than null/false, for up
/// to `secs` seconds; returns that value.
fn wait_js(d: &Driver, script: &str, secs: u64, what: &str) -> Value {
    let started = Instant::now();
    let mut last = Value::Null;
    while started.elapsed() < Duration::from_secs(secs) {
        match d.execute(script, vec![]) {
            Ok(v) if !v.is_null() && v != Value::Bool(false) => return v,
            Ok(v) => last = v,
            Err(e) => last = Value::String(e.to_string()),
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    // What the page and its service worker look like, to say why.
    let state = d
        .execute(
            "caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.keys()).then(rs => k + ': ' + rs.map(r => new URL(r.url).pathname).join(' '))))).then(x => { window.__diag = x.join(' | '); }); return JSON.stringify({url: location.pathname, controlled: !!(navigator.serviceWorker && navigator.serviceWorker.controller), swError: window.__swError || null, caches: window.__diag || null});",
            vec![],
        )
        .map(|v| v.to_string())
        .unwrap_or_default();
    std::thread::sleep(Duration::from_millis(300));
    let state2 = d
        .execute("return window.__diag || null", vec![])
        .map(|v| v.to_string())
        .unwrap_or_default();
    panic!("waited {secs} s for {what}; last: {last}; page: {state} {state2}");
}

/// Clicks what leads to another page and waits until that page has loaded.
fn go(d: &Driver, el: &Element) {
    d.execute("window.__leaving = true", vec![]).unwrap();
    el.click().unwrap();
    wait_js(
        d,
        "return window.__leaving !== true && document.readyState === 'complete'",
        15,
        "the next page",
    );
}

fn load(d: &Driver, url: &str) {
    d.goto(url).unwrap();
    wait_js(d, "return document.readyState === 'complete'", 15, url);
}

/// Runs axe-core and checks the page fits a 360 px phone.
fn audit(d: &Driver, source: Option<&str>, page: &str, failures: &mut Vec<String>) {
    let overflow = d
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            vec![],
        )
        .unwrap();
    if overflow.as_i64().unwrap_or(999) > 0 {
        let culprits = d
            .execute(
                "const w = document.documentElement.clientWidth; return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 1).slice(-3).map(e => e.tagName + '#' + e.id + '.' + e.className + ': ' + (e.textContent || '').slice(0, 40)).join(' | ');",
                vec![],
            )
            .unwrap();
        failures.push(format!(
            "{page}: wider than a 360 px phone by {overflow}px: {culprits}"
        ));
    }
    if let Ok(dir) = std::env::var("DOORSTEP_E2E_SCREENSHOT_DIR") {
        shot(d, &dir, page);
    }
    let Some(source) = source else { return };
    let violations = axe::check(d, source).unwrap_or_else(|e| panic!("{page}: {e}"));
    let serious = axe::serious(&violations);
    let milder: Vec<&axe::Violation> = violations.iter().filter(|v| !serious.contains(v)).collect();
    if !milder.is_empty() {
        let _ = writeln!(
            std::io::stderr(),
            "note: {page}: minor/moderate accessibility findings (not failing):\n{}",
            axe::report(&milder)
        );
    }
    if !serious.is_empty() {
        failures.push(format!("{page}:\n{}", axe::report(&serious)));
    }
}

/// A whole-page screenshot into `dir` (for a person to look at).
fn shot(d: &Driver, dir: &str, page: &str) {
    let name: String = page
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let height = d
        .execute("return document.documentElement.scrollHeight", vec![])
        .unwrap()
        .as_u64()
        .unwrap_or(780);
    d.set_window_size(360, u32::try_from(height).unwrap_or(780).max(780))
        .unwrap();
    let png = d.screenshot_png().unwrap();
    d.set_window_size(360, 780).unwrap();
    std::fs::write(std::path::Path::new(dir).join(format!("{name}.png")), png).unwrap();
}

fn set_field(d: &Driver, css: &str, text: &str) {
    let el = d.find(css).unwrap();
    el.clear().unwrap();
    el.send_keys(text).unwrap();
}

/// The owner signs: a zigzag drawn with pointer events on the pad.
fn sign(d: &Driver) {
    d.execute(
        r#"const c = document.getElementById('sign-pad');
           c.scrollIntoView();
           const r = c.getBoundingClientRect();
           const ev = (type, x, y) => c.dispatchEvent(new PointerEvent(type, {
             clientX: r.left + x * r.width, clientY: r.top + y * r.height, pointerId: 7,
             pointerType: 'touch', isPrimary: true, bubbles: true, cancelable: true }));
           ev('pointerdown', 0.1, 0.5);
           for (let i = 1; i <= 12; i++) ev('pointermove', 0.1 + i * 0.06, i % 2 ? 0.3 : 0.7);
           ev('pointerup', 0.82, 0.5);"#,
        vec![],
    )
    .unwrap();
}

fn text(d: &Driver, css: &str) -> String {
    d.find(css).unwrap().text().unwrap()
}

fn queue_count(d: &Driver) -> i64 {
    d.execute(
        "return Number(document.getElementById('queue-count').getAttribute('data-count'))",
        vec![],
    )
    .unwrap()
    .as_i64()
    .unwrap()
}

/// Amounts (fen) of the payments recorded at the visit.
fn payments(base: &str, token: &str, booking: i64) -> (Vec<i64>, Value) {
    let (st, v) = api(
        base,
        "GET",
        &format!("/api/v1/visits/{booking}"),
        Some(token),
        None,
    );
    assert_eq!(st, 200, "{v}");
    let amounts = v["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["amount"].as_i64().unwrap())
        .collect();
    (amounts, v)
}

fn pay_qr(d: &Driver, sim_base: &str, provider_button: &str, amount: &str) {
    set_field(d, "#qr-amount", amount);
    d.find(provider_button).unwrap().click().unwrap();
    let code = wait_js(
        d,
        "const e = document.getElementById('qr-svg'); const c = e && !e.hidden && e.getAttribute('data-code'); return c && e.querySelector('svg') ? c : null;",
        20,
        "the QR code",
    );
    let code = code.as_str().unwrap().to_string();
    let state = text(d, "#qr-state");
    assert!(!state.contains("已支付"), "paid before paying: {state}");
    // The owner scans and pays in the simulator; the page turns by itself.
    let (st, v) = api(
        sim_base,
        "POST",
        "/sim/api/pay",
        None,
        Some(json!({"code": code})),
    );
    assert_eq!(st, 200, "{v}");
    wait_js(
        d,
        "return document.getElementById('qr-state').textContent.indexOf('已支付') >= 0",
        25,
        "已支付 after the simulator paid",
    );
    // With the e-receipt's link to show the owner.
    wait_js(
        d,
        "const a = document.querySelector('#qr-state a.receipt-link'); return a && a.href.indexOf('/r/') > 0 ? true : null;",
        10,
        "the receipt link on the paid QR screen",
    );
}

#[test]
fn collector_checks_in_takes_cash_qr_and_offline_payments_that_sync_once() {
    let Some(d) = Driver::start().unwrap() else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: browser suite — {}",
            skip_note()
        );
        return;
    };
    let source = axe::axe_source().unwrap_or_else(|e| panic!("{e}"));
    if source.is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: accessibility checks — {}",
            axe::skip_note()
        );
    }
    let source = source.as_deref();
    let mut failures = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    let srv = start_server(dir.path());
    let (base, gate) = Gate::start(&srv.base);
    let staff = staff_token(&srv.base, "s-dispatcher");
    let day = next_weekday(&srv.app, &srv.rt);

    // 张三 phoned in: staff book 202 and B007 for 19:30, cash; then plan.
    let (st, b) = api(
        &srv.base,
        "POST",
        "/api/v1/estates/sample/bookings",
        Some(&staff),
        Some(json!({
            "targets": [{"kind": "room", "id": srv.room_202}, {"kind": "space", "id": srv.space_b007}],
            "date": day, "start": "19:30", "pays_cash": true, "note": "请按门铃两次",
        })),
    );
    assert_eq!(st, 201, "{b}");
    let booking = b["id"].as_i64().unwrap();
    let (st, board) = api(
        &srv.base,
        "POST",
        "/api/v1/estates/sample/dispatch/plan",
        Some(&staff),
        Some(json!({"date": day, "time_limit_ms": 200})),
    );
    assert_eq!(st, 200, "{board}");
    let collector_id = board["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["stops"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["booking"]["id"] == booking)
        })
        .unwrap_or_else(|| panic!("not routed: {board}"))["collector_id"]
        .as_i64()
        .unwrap();
    let collector = srv
        .rt
        .block_on(srv.app.store.user(collector_id))
        .unwrap()
        .username;
    let token = staff_token(&srv.base, &collector);

    // Not signed in: /c goes to the sign-in page and back.
    d.set_window_size(360, 780).unwrap();
    load(&d, &format!("{base}/c"));
    assert!(
        d.current_url().unwrap().contains("/login?next=/c"),
        "{}",
        d.current_url().unwrap()
    );
    d.find("#username").unwrap().send_keys(&collector).unwrap();
    d.find("#password")
        .unwrap()
        .send_keys(SAMPLE_PASSWORD)
        .unwrap();
    go(&d, &d.find("#login").unwrap());
    assert!(
        d.current_url().unwrap().contains("/c/sample/today"),
        "{}",
        d.current_url().unwrap()
    );

    // The evening's itinerary: the stop with who, where, needs and what is owed.
    load(&d, &format!("{base}/c/sample/today?date={day}"));
    let stops = d
        .wait_for_text("#stops", "3号楼202室")
        .unwrap()
        .text()
        .unwrap();
    for want in [
        "张三",
        "付现金",
        "请按门铃两次",
        "19:30–20:00",
        "138****5678",
    ] {
        assert!(stops.contains(want), "{want} missing from: {stops}");
    }
    let tel = d.find("#stops a.tel").unwrap().attr("href").unwrap();
    assert_eq!(tel.as_deref(), Some("tel:13812345678"));
    let day_json = d
        .execute(
            "return JSON.parse(document.getElementById('day').textContent)",
            vec![],
        )
        .unwrap();
    assert_eq!(day_json["stops"][0]["booking"]["id"], booking, "{day_json}");
    assert!(d.find("svg").is_ok(), "no route map");
    assert_eq!(text(&d, "#net"), "在线");
    audit(&d, source, "itinerary", &mut failures);
    // The service worker takes over (it keeps the pages for the garage).
    // The service worker installs (it keeps the pages for the garage); the
    // pages opened from now on are under its control.
    wait_js(
        &d,
        "navigator.serviceWorker.getRegistration('/c/').then(r => { window.__sw = r && r.active && r.active.state; }, e => { window.__sw = String(e); }); return window.__sw === 'activated' ? true : null;",
        30,
        "the service worker to be active",
    );

    // Every stop's page is fetched ahead, for the garage.
    wait_js(
        &d,
        &format!(
            "caches.open('doorstep-c-pages-v1').then(c => c.match('/c/visit/{booking}')).then(r => {{ window.__kept = !!r; }}); return window.__kept === true ? true : null;"
        ),
        20,
        "the stop's page to be kept by the service worker",
    );

    // The shift opens from the itinerary.
    go(&d, &d.find("#shift-open").unwrap());
    d.wait_for_text("#shift-state", "班次进行中").unwrap();

    // The stop.
    go(
        &d,
        &d.find(&format!("li[data-booking='{booking}'] a.visit"))
            .unwrap(),
    );
    let visit_url = d.current_url().unwrap();
    let controlled = d
        .execute("return !!navigator.serviceWorker.controller", vec![])
        .unwrap();
    assert_eq!(
        controlled, true,
        "the stop page is not under the service worker"
    );
    assert!(
        visit_url.ends_with(&format!("/c/visit/{booking}")),
        "{visit_url}"
    );
    let owed = text(&d, "#owed");
    for want in ["物业费", "车位费", "滞纳金", "2026-01", "2026-02"] {
        assert!(owed.contains(want), "{want} missing from: {owed}");
    }
    let total0: i64 = d
        .find("#owed-total")
        .unwrap()
        .attr("data-fen")
        .unwrap()
        .unwrap()
        .parse()
        .unwrap();
    assert!(total0 > 30_000, "owed {total0}");
    audit(&d, source, "stop", &mut failures);

    // Check-in at building 3 (emulated position inside its 60 m fence).
    let (lat_e6, lng_e6) = demo_building_point("3");
    d.grant_permissions(&base, &["geolocation"]).unwrap();
    d.set_geolocation(lat_e6 as f64 / 1e6, (lng_e6 + 100) as f64 / 1e6, 10.0)
        .unwrap();
    d.find("#checkin-btn").unwrap().click().unwrap();
    let verdict = wait_js(
        &d,
        "return document.getElementById('checkin-result').getAttribute('data-verdict')",
        20,
        "the check-in verdict",
    );
    assert_eq!(verdict, "inside", "{}", text(&d, "#checkin-result"));
    assert!(text(&d, "#checkin-result").contains("在范围内"));
    let (_, v) = payments(&srv.base, &token, booking);
    let checkins = v["checkins"].as_array().unwrap();
    assert_eq!(checkins.len(), 1, "{v}");
    assert_eq!(checkins[0]["verdict"], "inside");
    assert_eq!(checkins[0]["offline"], false);

    // Cash: 100.00 from 200.00 handed over; change is worked out as typed.
    set_field(&d, "#cash-amount", "100.00");
    set_field(&d, "#cash-tendered", "200");
    d.wait_for_text("#cash-change", "¥100.00").unwrap();
    d.find("#cash-submit").unwrap().click().unwrap();
    d.wait_for_text("#cash-result", "已收现金 ¥100.00").unwrap();
    // The e-receipt is issued at once: its link is there to show the owner.
    d.wait_for_text("#cash-result", "电子收据 No.").unwrap();
    let receipt_url = d
        .find("#cash-result a.receipt-link")
        .unwrap()
        .attr("href")
        .unwrap()
        .expect("the receipt link");
    assert!(receipt_url.contains("/r/"), "{receipt_url}");
    // The owner confirms exactly that amount with a signature — also after
    // the page is reloaded before signing: the card shows the payment not
    // signed for yet, and the signature is bound to it.
    assert_eq!(text(&d, "#sign-amount"), "¥100.00");
    let cash_payment = d
        .find("#cash-result")
        .unwrap()
        .attr("data-payment")
        .unwrap()
        .expect("the cash payment's id");
    load(&d, &visit_url);
    d.wait_for_text("h1", "3号楼202室").unwrap();
    assert_eq!(text(&d, "#sign-amount"), "¥100.00");
    assert_eq!(
        d.find("#sign-shown").unwrap().attr("data-payment").unwrap(),
        Some(cash_payment.clone()),
        "the signature card after a reload names the cash payment"
    );
    sign(&d);
    d.find("#sign-submit").unwrap().click().unwrap();
    d.wait_for_text("#sign-result", "签名已保存").unwrap();
    assert!(!text(&d, "#sign-result").contains("待同步"));
    let (amounts, v) = payments(&srv.base, &token, booking);
    assert_eq!(amounts, vec![10_000], "{v}");
    assert_eq!(v["signatures"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["signatures"][0]["payment_id"], v["payments"][0]["id"]);
    assert_eq!(v["payments"][0]["id"].to_string(), cash_payment);
    // Nothing else waits for a signature now.
    d.wait_for_text("#sign-amount", "—").unwrap();

    // A QR order survives a reload: the page shows it again with the same
    // QR, its state and a cancel button; asking for another says (in
    // Chinese) that this one is open; cancelling it frees the bills.
    set_field(&d, "#qr-amount", "50.00");
    d.find("#qr-wechat").unwrap().click().unwrap();
    let code = wait_js(
        &d,
        "const e = document.getElementById('qr-svg'); const c = e && !e.hidden && e.getAttribute('data-code'); return c && e.querySelector('svg') ? c : null;",
        20,
        "the QR code before the reload",
    );
    let order = d
        .find("#qr-box")
        .unwrap()
        .attr("data-payment")
        .unwrap()
        .expect("the order id");
    load(&d, &visit_url);
    d.wait_for_text("h1", "3号楼202室").unwrap();
    let again = wait_js(
        &d,
        "const b = document.getElementById('qr-box'); const e = document.getElementById('qr-svg'); return b && !b.hidden && !e.hidden && e.querySelector('svg') ? e.getAttribute('data-code') : null;",
        10,
        "the open QR order after the reload",
    );
    assert_eq!(again, code, "the same QR after the reload");
    assert_eq!(
        d.find("#qr-box").unwrap().attr("data-payment").unwrap(),
        Some(order.clone())
    );
    d.wait_for_text("#qr-title", "微信扫码支付 ¥50.00").unwrap();
    d.wait_for_text("#qr-state", "等待扫码支付").unwrap();
    assert_eq!(
        d.execute(
            "return !document.getElementById('qr-cancel').hidden && !document.getElementById('qr-box').hidden",
            vec![]
        )
        .unwrap(),
        true,
        "the cancel button of the open order"
    );
    set_field(&d, "#qr-amount", "50.00");
    d.find("#qr-alipay").unwrap().click().unwrap();
    d.wait_for_text("#qr-result", "未完成的微信二维码订单（¥50.00）")
        .unwrap();
    assert!(!text(&d, "#qr-result").contains("wait"));
    d.find("#qr-cancel").unwrap().click().unwrap();
    d.wait_for_text("#qr-state", "已关闭").unwrap();
    let (st, o) = api(
        &srv.base,
        "GET",
        &format!("/api/v1/payments/{order}"),
        Some(&token),
        None,
    );
    assert_eq!((st, o["status"].as_str()), (200, Some("closed")), "{o}");

    // WeChat QR for 50.00, then Alipay for 60.00: each turns to 已支付 by itself.
    pay_qr(&d, &srv.sim_base, "#qr-wechat", "50.00");
    pay_qr(&d, &srv.sim_base, "#qr-alipay", "60.00");

    // The owner's WeChat payment code for 20.00, with a password to enter.
    let (st, w) = api(
        &srv.sim_base,
        "POST",
        "/sim/api/wallet",
        None,
        Some(json!({"provider": "wechat", "needs_password": true, "balance_fen": 100_000})),
    );
    assert_eq!(st, 200, "{w}");
    let pay_code = w["code"].as_str().unwrap();
    set_field(&d, "#code-amount", "20.00");
    set_field(&d, "#code-digits", pay_code);
    d.wait_for_text("#code-provider", "微信付款码").unwrap();
    d.find("#code-submit").unwrap().click().unwrap();
    d.wait_for_text("#code-result", "等待业主输入密码").unwrap();
    let started = Instant::now();
    loop {
        let (st, v) = api(
            &srv.sim_base,
            "POST",
            &format!("/sim/api/wallet/{pay_code}/confirm"),
            None,
            Some(json!({})),
        );
        if st == 200 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(4), "{v}");
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_js(
        &d,
        "return document.getElementById('code-result').getAttribute('data-status') === 'paid'",
        20,
        "the payment code to be paid",
    );
    d.wait_for_text("#code-result", "已支付 ¥20.00").unwrap();

    let (amounts, v) = payments(&srv.base, &token, booking);
    assert_eq!(amounts, vec![10_000, 5_000, 6_000, 2_000], "{v}");
    let owed_online = v["total"].as_i64().unwrap();
    assert_eq!(owed_online, total0 - 23_000, "{v}");
    wait_js(
        &d,
        &format!(
            "return document.getElementById('owed-total').getAttribute('data-fen') === '{owed_online}'"
        ),
        10,
        "the owed total to follow the payments",
    );

    if let Ok(dir) = std::env::var("DOORSTEP_E2E_SCREENSHOT_DIR") {
        shot(&d, &dir, "stop after payments");
    }

    // The garage: no network for the page, its service worker or anyone.
    gate.set_online(false);
    d.set_offline(true).unwrap();
    wait_js(
        &d,
        "return navigator.onLine === false",
        10,
        "navigator.onLine false",
    );
    d.wait_for_text("#net", "离线").unwrap();
    // QR needs the network and says so.
    set_field(&d, "#qr-amount", "10.00");
    d.find("#qr-wechat").unwrap().click().unwrap();
    d.wait_for_text("#qr-offline", "二维码收款需要网络")
        .unwrap();
    // Cash, signature and outcome are kept on the phone.
    set_field(&d, "#cash-amount", "70.00");
    set_field(&d, "#cash-tendered", "");
    d.find("#cash-submit").unwrap().click().unwrap();
    d.wait_for_text("#cash-result", "待同步").unwrap();
    assert_eq!(text(&d, "#sign-amount"), "¥70.00");
    sign(&d);
    d.find("#sign-submit").unwrap().click().unwrap();
    d.wait_for_text("#sign-result", "待同步").unwrap();
    d.find("#result-partly_paid").unwrap().click().unwrap();
    d.find("#outcome-submit").unwrap().click().unwrap();
    d.wait_for_text("#outcome-result", "待同步").unwrap();
    d.wait_for_text("#queue-count", "待同步 3 条").unwrap();
    assert_eq!(queue_count(&d), 3);
    // Nothing reached the server.
    let (amounts, _) = payments(&srv.base, &token, booking);
    assert_eq!(amounts.len(), 4);

    // The stop opens again without a network, from the service worker's
    // cache, with what waits to sync and what is owed after it.
    load(&d, &visit_url);
    d.wait_for_text("h1", "3号楼202室").unwrap();
    d.wait_for_text("#pending-list", "现金 ¥70.00").unwrap();
    assert_eq!(queue_count(&d), 3);
    let shown = d.find("#owed-total").unwrap().attr("data-fen").unwrap();
    assert_eq!(shown, Some((owed_online - 7_000).to_string()));
    if let Ok(dir) = std::env::var("DOORSTEP_E2E_SCREENSHOT_DIR") {
        shot(&d, &dir, "stop offline");
    }
    let saved_queue = d
        .execute("return localStorage.getItem('doorstep.c.queue')", vec![])
        .unwrap();
    assert!(saved_queue.as_str().unwrap().contains("\"offline\":true"));

    // Back online: the queue syncs by itself.
    gate.set_online(true);
    d.set_offline(false).unwrap();
    wait_js(
        &d,
        "return document.getElementById('queue-count').getAttribute('data-count') === '0'",
        40,
        "the queue to sync",
    );
    d.wait_for_text("#net", "在线").unwrap();
    let (amounts, v) = payments(&srv.base, &token, booking);
    assert_eq!(amounts, vec![10_000, 5_000, 6_000, 2_000, 7_000], "{v}");
    assert_eq!(v["signatures"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["signatures"][1]["offline"], true, "{v}");
    // The offline signature is bound to the payment its offline cash made.
    assert_eq!(v["payments"][4]["amount"], 7_000, "{v}");
    assert_eq!(
        v["signatures"][1]["payment_id"], v["payments"][4]["id"],
        "{v}"
    );
    assert_eq!(v["booking"]["status"], "visited", "{v}");
    assert_eq!(v["done"], true);
    let failed_hidden = d
        .execute(
            "return document.getElementById('failed-box').hidden",
            vec![],
        )
        .unwrap();
    assert_eq!(failed_hidden, true, "{}", text(&d, "main"));

    // The same queue sent again (a lost answer, a second phone tab): replays only.
    d.execute(
        "localStorage.setItem('doorstep.c.queue', arguments[0])",
        vec![saved_queue],
    )
    .unwrap();
    load(&d, &visit_url);
    wait_js(
        &d,
        "return document.getElementById('queue-count').getAttribute('data-count') === '0'",
        40,
        "the second sync",
    );
    let (again, v2) = payments(&srv.base, &token, booking);
    assert_eq!(again, amounts, "{v2}");
    assert_eq!(v2["signatures"].as_array().unwrap().len(), 2, "{v2}");
    assert_eq!(v2["checkins"].as_array().unwrap().len(), 1, "{v2}");
    let failed_hidden = d
        .execute(
            "return document.getElementById('failed-box').hidden",
            vec![],
        )
        .unwrap();
    assert_eq!(failed_hidden, true, "{}", text(&d, "main"));

    // English is one tap away, on the same page.
    go(&d, &d.find("header a.lang").unwrap());
    assert_eq!(d.current_url().unwrap(), visit_url);
    d.wait_for_text("#cash-h", "Cash").unwrap();
    d.wait_for_text("#net", "Online").unwrap();
    audit(&d, source, "stop (English)", &mut failures);

    // The owner's receipt page, as the owner's phone opens it: valid, with
    // the amount in capitals, the PDF and the invoice request.
    // (In English here: the collector switched the language above.)
    d.goto(&receipt_url).unwrap();
    d.wait_for_text("main", "Valid").unwrap();
    let page = text(&d, "main");
    assert!(page.contains("壹佰元整"), "{page}");
    assert!(page.contains("Request an invoice"), "{page}");
    assert!(page.contains("Verified ✓"), "{page}");
    audit(&d, source, "receipt (owner)", &mut failures);

    // The books balance.
    let report = srv
        .rt
        .block_on(doorstep_app::custody::ledger_report(&srv.app, None))
        .unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert!(report.payments >= 5, "{report:?}");

    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
