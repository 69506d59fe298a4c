//! The staff side of home visits in real headless Chromium, on the sample
//! estate: a dispatcher books two visits on behalf of 张三 who phoned in
//! (one "call first" with a relative's contact phone, after a refused
//! attempt with a bad number), confirms the first by phone in the queue,
//! takes one collector off duty, plans the evening, locks it, and opens the
//! collector's itinerary: both stops in order, each ETA inside its slot, the
//! route drawn on the site plan. Every page passes axe-core (no serious or
//! critical violations) and fits a 360 px wide phone.
//!
//! The evening is the next weekday after today at the estate, computed at
//! run time, so the slots are always in the future.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_app::App;
use doorstep_app::demo::{SAMPLE_PASSWORD, seed_sample};
use doorstep_e2e::{Driver, Element, axe, skip_note};
use std::io::Write;
use std::sync::Arc;

/// Starts a server over a fresh SQLite file in `dir` holding the sample
/// estate; returns its address and the next weekday after today there.
fn start_server(dir: &std::path::Path) -> (String, String) {
    let file = dir.join("doorstep.sqlite");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = App::new(Arc::new(doorstep_store_sqlite::open(&file).await.unwrap()));
            seed_sample(&app).await.unwrap();
            let estate = app.store.estate_by_code("sample").await.unwrap().unwrap();
            let mut day = doorstep_app::today(&estate);
            loop {
                day = day.tomorrow().unwrap();
                if day.weekday().to_monday_one_offset() <= 5 {
                    break;
                }
            }
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send((
                format!("http://{}", listener.local_addr().unwrap()),
                day.to_string(),
            ))
            .unwrap();
            axum::serve(listener, doorstep_web::router(app))
                .await
                .unwrap();
        });
    });
    rx.recv().unwrap()
}

fn sign_in(d: &Driver, username: &str, password: &str) {
    d.find("#username").unwrap().send_keys(username).unwrap();
    d.find("#password").unwrap().send_keys(password).unwrap();
    go(d, &d.find("#login").unwrap());
}

/// Runs axe-core on the current page and checks it fits the phone screen;
/// records problems under `page` in `failures`, prints milder findings.
fn audit(d: &Driver, source: Option<&str>, page: &str, failures: &mut Vec<String>) {
    let overflow = d
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            vec![],
        )
        .unwrap();
    if overflow.as_i64().unwrap_or(999) > 0 {
        failures.push(format!("{page}: wider than a 360 px phone by {overflow}px"));
    }
    if let Ok(dir) = std::env::var("DOORSTEP_E2E_SCREENSHOT_DIR") {
        let name: String = page
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        // The whole page, not just the first screen.
        let height = d
            .execute("return document.documentElement.scrollHeight", vec![])
            .unwrap()
            .as_u64()
            .unwrap_or(800);
        d.set_window_size(360, u32::try_from(height).unwrap_or(800).max(800))
            .unwrap();
        let png = d.screenshot_png().unwrap();
        d.set_window_size(360, 800).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
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

/// Clicks what leads to another page and waits until that page has loaded,
/// so the next look finds the new page, never the old one going away.
fn go(d: &Driver, el: &Element) {
    d.execute("window.__leaving = true", vec![]).unwrap();
    el.click().unwrap();
    let started = std::time::Instant::now();
    loop {
        let loaded = d.execute(
            "return window.__leaving !== true && document.readyState === 'complete'",
            vec![],
        );
        if matches!(loaded, Ok(serde_json::Value::Bool(true))) {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(15),
            "no new page after clicking {}",
            el.selector()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A JSON string argument for a script.
fn serde_json_str(s: &str) -> serde_json::Value {
    serde_json::Value::String(s.to_owned())
}

/// Picks 张三 from the owner search and shows the booking form.
fn open_booking_form(d: &Driver, base: &str) {
    d.goto(&format!("{base}/console/sample/bookings/new"))
        .unwrap();
    d.find("#find-owner input[name=q]")
        .unwrap()
        .send_keys("3号楼202室")
        .unwrap();
    go(d, &d.find("#find-owner button").unwrap());
    d.wait_for_text("#owners", "张三").unwrap();
    go(d, &d.find("#owners a.choose").unwrap());
    d.wait_for_text("h2", "张三").unwrap();
}

/// Ticks exactly the rooms and spaces whose labels contain `keep`.
fn tick_only(d: &Driver, keep: &str) {
    for label in d.find_all("#book fieldset label").unwrap() {
        let text = label.text().unwrap();
        let input = label.find("input").unwrap();
        let checked = d
            .execute("return arguments[0].checked", vec![input.to_arg()])
            .unwrap()
            .as_bool()
            .unwrap();
        if checked != text.contains(keep) {
            input.click().unwrap();
        }
    }
}

#[test]
fn staff_book_confirm_dispatch_and_see_the_itinerary() {
    let Some(d) = Driver::start().unwrap() else {
        // Written straight to stderr so the note shows even though the test passes.
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
    let dir = tempfile::tempdir().unwrap();
    let (base, day) = start_server(dir.path());
    let mut failures = Vec::new();
    d.set_window_size(360, 800).unwrap();

    d.goto(&format!("{base}/console/sample/bookings/new"))
        .unwrap();
    sign_in(&d, "s-dispatcher", SAMPLE_PASSWORD);

    // Find the owner by room; book 3号楼202室 at 19:30, call first, with a
    // relative's phone — first with a bad number, which is refused clearly.
    open_booking_form(&d, &base);
    audit(&d, source, "book on behalf (form)", &mut failures);
    tick_only(&d, "202");
    let slot_1930 = format!("#slot option[value='{day}T19:30']");
    d.find(&slot_1930).unwrap().click().unwrap();
    d.find("#book input[name=call_first]")
        .unwrap()
        .click()
        .unwrap();
    d.find("#book input[name=contact_phone]")
        .unwrap()
        .send_keys("12345")
        .unwrap();
    d.find("#book input[name=note]")
        .unwrap()
        .send_keys("老人独居，上门前请先打电话")
        .unwrap();
    go(&d, &d.find("#book-submit").unwrap());
    d.wait_for_text(".err", "联系电话").unwrap();
    audit(&d, source, "book on behalf (refused)", &mut failures);
    // What was entered is still there.
    assert_eq!(
        d.find("#book input[name=note]").unwrap().value().unwrap(),
        "老人独居，上门前请先打电话"
    );
    let contact = d.find("#book input[name=contact_phone]").unwrap();
    contact.clear().unwrap();
    contact.send_keys("13900009999").unwrap();
    go(&d, &d.find("#book-submit").unwrap());
    let ok = d
        .wait_for_text(".ok", "待电话确认")
        .unwrap()
        .text()
        .unwrap();
    assert!(ok.contains("3号楼202室"), "{ok}");
    assert!(ok.contains("19:30–20:00"), "{ok}");

    // A second visit for the parking space at 20:00, paying cash.
    open_booking_form(&d, &base);
    tick_only(&d, "B007");
    d.find(&format!("#slot option[value='{day}T20:00']"))
        .unwrap()
        .click()
        .unwrap();
    d.find("#book input[name=pays_cash]")
        .unwrap()
        .click()
        .unwrap();
    go(&d, &d.find("#book-submit").unwrap());
    d.wait_for_text(".ok", "车位B007").unwrap();

    // The day's bookings.
    let table = d
        .wait_for_text("#bookings", "待电话确认")
        .unwrap()
        .text()
        .unwrap();
    assert!(table.contains("13900009999"), "{table}");
    assert!(table.contains("先电话确认"), "{table}");
    assert!(table.contains("现金"), "{table}");
    audit(&d, source, "bookings of the day", &mut failures);

    // Confirm the call-first booking by phone.
    go(&d, &d.find("nav a[href='/console/sample/calls']").unwrap());
    let card = d.wait_for_text("#calls", "3号楼202室").unwrap();
    assert!(card.text().unwrap().contains("老人独居"));
    d.find("#calls a[href='tel:13900009999']").unwrap();
    audit(&d, source, "confirmation queue", &mut failures);
    d.find("#calls input[name=note]")
        .unwrap()
        .send_keys("女儿接听，已确认")
        .unwrap();
    go(&d, &d.find("#calls button[value=confirmed]").unwrap());
    d.wait_for_text(".ok", "已确认").unwrap();
    d.find("#calls-empty").unwrap();

    // Dispatch that evening: one collector only, plan, lock.
    d.goto(&format!(
        "{base}/console/sample/dispatch?date={day}&window=19:00"
    ))
    .unwrap();
    d.wait_for_text("#duty", "s-collector2").unwrap();
    audit(
        &d,
        source,
        "dispatch board (before planning)",
        &mut failures,
    );
    let off = d.find_all("#duty tr[data-collector]").unwrap();
    let second = off
        .iter()
        .find(|r| r.text().unwrap().contains("s-collector2"))
        .unwrap();
    go(&d, &second.find("button").unwrap());
    d.wait_for_text(".ok", "休息").unwrap();
    go(&d, &d.find("#plan").unwrap());
    d.wait_for_text(".ok", "已自动排线").unwrap();
    let route = d
        .wait_for_text("table.route", "3号楼202室")
        .unwrap()
        .text()
        .unwrap();
    assert!(route.contains("车位B007"), "{route}");
    assert!(route.contains("准时"), "{route}");
    go(&d, &d.find("#lock").unwrap());
    d.wait_for_text("#lock-state", "已锁定发布").unwrap();
    assert!(
        d.find_all("#plan").unwrap().is_empty(),
        "no planning while locked"
    );
    audit(
        &d,
        source,
        "dispatch board (planned and locked)",
        &mut failures,
    );

    // The collector's itinerary: both stops in order, ETAs inside the slots, the map.
    go(&d, &d.find("a[href*='/itinerary?date=']").unwrap());
    let summary = d
        .wait_for_text(".summary", "3号楼202室")
        .unwrap()
        .text()
        .unwrap();
    let first = summary.find("3号楼202室").unwrap();
    let then = summary.find("车位B007").expect(&summary);
    assert!(
        first < then,
        "202 at 19:30 comes before B007 at 20:00: {summary}"
    );
    assert!(summary.contains('→'), "{summary}");
    let stops = d.find_all("ol.stops li").unwrap();
    assert_eq!(stops.len(), 2);
    for (li, (from, to)) in stops.iter().zip([("19:30", "20:00"), ("20:00", "20:30")]) {
        let eta = li.find(".eta").unwrap().text().unwrap();
        assert!(
            eta.as_str() >= from && eta.as_str() <= to,
            "ETA {eta} outside {from}–{to}"
        );
        let text = li.text().unwrap();
        assert!(text.contains("在预约时段内"), "{text}");
        assert!(text.contains(&format!("{from}–{to}")), "{text}");
    }
    let first_stop = stops[0].text().unwrap();
    assert!(first_stop.contains("张三"), "{first_stop}");
    assert!(first_stop.contains("13900009999"), "{first_stop}");
    assert!(first_stop.contains("先电话确认"), "{first_stop}");
    d.find("ol.stops a[href='tel:13900009999']").unwrap();
    let map = d.find(".map[role=img]").unwrap();
    assert!(
        map.attr("aria-label")
            .unwrap()
            .unwrap_or_default()
            .contains("3号楼202室")
    );
    map.find("svg").unwrap();
    audit(&d, source, "itinerary", &mut failures);

    // The booking's history: every transition with who and when.
    d.goto(&format!("{base}/console/sample/bookings?date={day}"))
        .unwrap();
    go(&d, &d.find("#bookings a[href*='/bookings/']").unwrap());
    let history = d
        .wait_for_text("#history", "s-dispatcher")
        .unwrap()
        .text()
        .unwrap();
    for step in [
        "待电话确认",
        "已确认",
        "已派单",
        "女儿接听",
        "派给 s-collector",
    ] {
        assert!(history.contains(step), "{step} missing from: {history}");
    }
    audit(&d, source, "booking history", &mut failures);

    // Unlock, move a stop by hand (the other now runs late), re-plan.
    d.goto(&format!(
        "{base}/console/sample/dispatch?date={day}&window=19:00"
    ))
    .unwrap();
    go(&d, &d.find("#unlock").unwrap());
    d.wait_for_text("#lock-state", "未锁定").unwrap();
    let rows = d.find_all("table.route tbody tr").unwrap();
    let b007 = rows
        .iter()
        .find(|r| r.text().unwrap().contains("B007"))
        .unwrap();
    let position = b007.find("input[name=position]").unwrap();
    position.clear().unwrap();
    position.send_keys("1").unwrap();
    go(&d, &b007.find("form button").unwrap());
    d.wait_for_text(".ok", "第 1 站").unwrap();
    let route = d.find("table.route").unwrap().text().unwrap();
    assert!(
        route.contains("不在时段内"),
        "202 now arrives late: {route}"
    );
    go(&d, &d.find("#replan").unwrap());
    d.wait_for_text(".ok", "已重新排线").unwrap();
    let route = d.find("table.route").unwrap().text().unwrap();
    assert!(!route.contains("不在时段内"), "{route}");

    // Reschedule the parking visit to 20:30, then cancel it with a reason.
    d.goto(&format!("{base}/console/sample/bookings?date={day}"))
        .unwrap();
    let rows = d.find_all("#bookings tbody tr").unwrap();
    let b007 = rows
        .iter()
        .find(|r| r.text().unwrap().contains("B007"))
        .unwrap();
    b007.find("select[name=start] option[value='20:30']")
        .unwrap()
        .click()
        .unwrap();
    go(
        &d,
        &b007.find("form[action$='/reschedule'] button").unwrap(),
    );
    d.wait_for_text(".ok", "20:30–21:00").unwrap();
    let rows = d.find_all("#bookings tbody tr").unwrap();
    let moved = rows
        .iter()
        .find(|r| {
            let t = r.text().unwrap();
            t.contains("B007") && t.contains("20:30–21:00")
        })
        .unwrap();
    moved
        .find("input[name=reason]")
        .unwrap()
        .send_keys("业主改为到物业中心缴费")
        .unwrap();
    go(&d, &moved.find("form[action$='/cancel'] button").unwrap());
    d.wait_for_text(".ok", "已取消").unwrap();
    let table = d.find("#bookings").unwrap().text().unwrap();
    assert!(table.contains("已改期"), "{table}");
    assert!(table.contains("已取消"), "{table}");

    // Settings and the outbox (the reminders queued for both visits).
    d.goto(&format!("{base}/console/sample/visit-settings"))
        .unwrap();
    d.wait_for_text("#model-size", "字节").unwrap();
    audit(&d, source, "visit settings", &mut failures);
    // Date inputs take their value in the browser's locale; set it directly.
    let date = d.find("#add-day input[name=date]").unwrap();
    d.execute("arguments[0].value = '2030-01-01'", vec![date.to_arg()])
        .unwrap();
    go(&d, &d.find("#add-day button").unwrap());
    d.wait_for_text(".ok", "2030-01-01").unwrap();
    d.wait_for_text("#special-days", "节假日").unwrap();
    // 19:00–20:45 is not a whole number of 30-minute slots: refused, named.
    let weekday = d.find("#rules input[name=weekday]").unwrap();
    weekday.clear().unwrap();
    weekday.send_keys("19:00-20:45").unwrap();
    go(&d, &d.find("#rules button").unwrap());
    d.wait_for_text(".err", "工作日时段").unwrap();
    assert_eq!(
        d.find("#rules input[name=weekday]")
            .unwrap()
            .value()
            .unwrap(),
        "19:00-21:00",
        "nothing changed"
    );
    audit(&d, source, "visit settings (refused)", &mut failures);

    // A broken walking model is refused and the current one stays; a good one replaces it.
    d.find("#model textarea[name=model]")
        .unwrap()
        .send_keys("speed fast")
        .unwrap();
    go(&d, &d.find("#model button").unwrap());
    d.wait_for_text(".err", "步行模型").unwrap();
    d.wait_for_text("#model-size", "206").unwrap();
    let text = doorstep_app::demo::SAMPLE_MODEL.replace("door 30", "door 20");
    let area = d.find("#model textarea[name=model]").unwrap();
    d.execute(
        "arguments[0].value = arguments[1]",
        vec![area.to_arg(), serde_json_str(&text)],
    )
    .unwrap();
    go(&d, &d.find("#model button").unwrap());
    d.wait_for_text(".ok", "已上传步行模型").unwrap();
    d.wait_for_text("pre", "door 20").unwrap();
    go(&d, &d.find("#special-days button").unwrap());
    d.wait_for_text(".ok", "已删除特殊日期").unwrap();

    d.goto(&format!("{base}/console/outbox")).unwrap();
    d.wait_for_text("#outbox", "13900009999").unwrap();
    audit(&d, source, "outbox", &mut failures);

    // English on request.
    go(&d, &d.find("a[href='/lang/en']").unwrap());
    d.wait_for_text("h1", "Message outbox").unwrap();
    d.goto(&format!("{base}/console/sample/itinerary?date={day}"))
        .unwrap();
    d.wait_for_text("ol.stops", "inside the slot").unwrap();

    assert!(
        failures.is_empty(),
        "problems on the staff visit pages:\n\n{}",
        failures.join("\n\n")
    );
}
