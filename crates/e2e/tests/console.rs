//! The staff console in real headless Chromium: sign in, see the sample
//! estate's arrears with the late-fee calculation, waive a late fee with a
//! reason, switch to English, and fit a phone screen.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_app::App;
use doorstep_app::demo::{SAMPLE_PASSWORD, seed_sample};
use doorstep_e2e::{Driver, skip_note};
use std::io::Write;
use std::sync::Arc;

/// What the test server holds.
enum Seed {
    /// The small sample estate with hand-checkable numbers.
    Sample,
    /// The full demo estate.
    Demo,
}

/// Starts a server over a fresh SQLite file in `dir`; for the demo, also
/// returns its arrears as of today, computed by the app.
fn start(dir: &std::path::Path, seed: Seed) -> (String, Option<doorstep_app::arrears::Arrears>) {
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
            let arrears = match seed {
                Seed::Sample => {
                    seed_sample(&app).await.unwrap();
                    None
                }
                Seed::Demo => {
                    app.seed_demo(&mut |_| {}).await.unwrap();
                    let estate = app.store.estate_by_code("demo").await.unwrap().unwrap();
                    Some(
                        app.arrears(&estate, doorstep_app::today(&estate), "")
                            .await
                            .unwrap(),
                    )
                }
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send((
                format!("http://{}", listener.local_addr().unwrap()),
                arrears,
            ))
            .unwrap();
            axum::serve(listener, doorstep_web::router(app))
                .await
                .unwrap();
        });
    });
    rx.recv().unwrap()
}

fn start_server(dir: &std::path::Path) -> String {
    start(dir, Seed::Sample).0
}

/// Fills in the sign-in form the console shows.
fn sign_in(d: &Driver, username: &str, password: &str) {
    d.find("#username").unwrap().send_keys(username).unwrap();
    d.find("#password").unwrap().send_keys(password).unwrap();
    d.find("#login").unwrap().click().unwrap();
}

#[test]
fn staff_sign_in_and_see_arrears_with_late_fee_calculation() {
    let Some(d) = Driver::start().unwrap() else {
        // Written straight to stderr so the note shows even though the test passes.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: browser suite — {}",
            skip_note()
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let base = start_server(dir.path());

    // Not signed in: the console sends us to the sign-in page.
    d.goto(&format!("{base}/console/sample/arrears?as_of=2026-02-15"))
        .unwrap();
    assert!(
        d.current_url().unwrap().contains("/login"),
        "{}",
        d.current_url().unwrap()
    );
    sign_in(&d, "s-finance", "wrong");
    d.wait_for_text(".err", "用户名或密码错误").unwrap();
    sign_in(&d, "s-finance", SAMPLE_PASSWORD);

    // Back where we wanted to go: the arrears, with each late fee's calculation.
    let table = d
        .wait_for_text("#arrears", "31天 × 日万分之五 × ¥300.00 = ¥4.65")
        .unwrap();
    let text = table.text().unwrap();
    assert!(text.contains("地下B1 车位B007"), "{text}");
    assert!(text.contains("3号楼202室"), "{text}");
    assert!(text.contains("张三"), "{text}");
    let totals = d.find("#totals").unwrap().text().unwrap();
    assert!(totals.contains("¥1,128.40"), "{totals}");
    assert!(totals.contains("¥4.65"), "{totals}");

    // Waive the late fee with a reason.
    let reason = d
        .find("form[action$='/waive-late-fee'] input[name=reason]")
        .unwrap();
    reason.send_keys("独居老人，经理批准").unwrap();
    d.find("form[action$='/waive-late-fee'] button")
        .unwrap()
        .click()
        .unwrap();
    d.wait_for_text(".ok", "已减免滞纳金").unwrap();
    let text = d.find("#arrears").unwrap().text().unwrap();
    assert!(text.contains("已减免"), "{text}");
    assert!(text.contains("独居老人，经理批准"), "{text}");
    assert!(text.contains("s-finance"), "who waived it is shown: {text}");
    assert!(
        d.find("#totals")
            .unwrap()
            .text()
            .unwrap()
            .contains("¥1,123.75")
    );

    // A phone screen: nothing but the table scrolls sideways.
    d.set_window_size(390, 844).unwrap();
    let overflow = d
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth",
            vec![],
        )
        .unwrap();
    assert!(
        overflow.as_i64().unwrap_or(999) <= 0,
        "page wider than the phone by {overflow}px"
    );
    if let Ok(path) = std::env::var("DOORSTEP_E2E_SCREENSHOT") {
        std::fs::write(path, d.screenshot_png().unwrap()).unwrap();
    }

    // English on request.
    d.find("a[href='/lang/en']").unwrap().click().unwrap();
    d.wait_for_text("h1", "Arrears").unwrap();
    d.wait_for_text("#arrears", "31 days × 0.05%/day × ¥300.00 = ¥4.65")
        .unwrap();
}

#[test]
fn demo_estate_arrears_in_the_console() {
    let Some(d) = Driver::start().unwrap() else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: browser suite — {}",
            skip_note()
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (base, arrears) = start(dir.path(), Seed::Demo);
    let arrears = arrears.unwrap();
    assert!(
        arrears.late_fee_owed.0 > 0,
        "the demo has overdue parking with late fees"
    );

    d.goto(&format!("{base}/console")).unwrap();
    sign_in(&d, "finance", doorstep_app::demo::DEMO_PASSWORD);
    d.find("a.estate").unwrap().click().unwrap();
    d.wait_for_text("main", "幸福里小区").unwrap();
    d.find("nav a[href='/console/demo/arrears']")
        .unwrap()
        .click()
        .unwrap();
    let totals = d
        .wait_for_text("#totals", &arrears.total_owed.to_string())
        .unwrap()
        .text()
        .unwrap();
    assert!(
        totals.contains(&arrears.late_fee_owed.to_string()),
        "{totals}"
    );
    assert!(totals.contains(&arrears.rows.len().to_string()), "{totals}");
    // The first page shows the oldest lines, parking among them, each late fee with its calculation.
    let first_late = arrears
        .rows
        .iter()
        .take(200)
        .find(|r| r.late_fee_owed.0 > 0)
        .unwrap();
    let table = d
        .wait_for_text("#arrears", &first_late.late_fee_text)
        .unwrap()
        .text()
        .unwrap();
    assert!(table.contains("日万分之五"), "late fees show their rate");
    assert_eq!(
        d.find_all("#arrears tbody tr").unwrap().len(),
        arrears.rows.len().min(200)
    );
}

#[test]
fn import_upload_reports_bad_rows_and_imports_nothing_until_fixed() {
    let Some(d) = Driver::start().unwrap() else {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: browser suite — {}",
            skip_note()
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let base = start_server(dir.path());
    let csv = dir.path().join("业主名单.csv");
    std::fs::write(&csv, "楼栋,单元,房号,面积,业主,电话\n8,1,101,88.50,王五,13700000001\n8,1,102,-3,赵六,13700000002\n").unwrap();

    d.goto(&format!("{base}/console/sample/import")).unwrap();
    sign_in(&d, "s-finance", SAMPLE_PASSWORD);
    d.find("#import input[type=file]")
        .unwrap()
        .send_keys(csv.to_str().unwrap())
        .unwrap();
    d.find("#import button").unwrap().click().unwrap();
    let errors = d
        .wait_for_text("#import-errors", "面积")
        .unwrap()
        .text()
        .unwrap();
    assert!(
        errors.contains('3') && errors.contains("-3"),
        "row 3's area is named: {errors}"
    );
    d.wait_for_text(".err", "未导入任何数据").unwrap();

    // Skip the bad row: the good one goes in.
    d.find("#import input[type=file]")
        .unwrap()
        .send_keys(csv.to_str().unwrap())
        .unwrap();
    d.find("#import input[name=skip_invalid]")
        .unwrap()
        .click()
        .unwrap();
    d.find("#import button").unwrap().click().unwrap();
    d.wait_for_text(".ok", "房屋 1 户").unwrap();
    d.goto(&format!("{base}/console/sample/rooms?q=王五"))
        .unwrap();
    d.wait_for_text("#rooms", "8号楼1单元101室").unwrap();
}
