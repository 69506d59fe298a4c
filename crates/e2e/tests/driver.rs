//! Drives real headless Chromium against a tiny page served from this process.
//! Skips (with a note on stderr) when chromedriver/chromium are not installed,
//! unless CI or DOORSTEP_REQUIRE_BROWSER is set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use doorstep_e2e::{Driver, skip_note};

const PAGE: &str = r#"<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>门阶测试页</title>
<style>body { font: 18px sans-serif; margin: 2em; } #out { color: #060; }</style></head>
<body>
<h1>欢迎来到门阶</h1>
<form id="f" onsubmit="return false">
  <label>姓名 <input id="name" name="name" data-hint="请输入姓名"></label>
  <button id="go" type="button"
    onclick="document.getElementById('out').textContent = '你好，' + document.getElementById('name').value">提交</button>
</form>
<p id="out"></p>
<ul><li class="fee">物业费</li><li class="fee">停车费</li><li class="fee">水费</li></ul>
</body>
</html>
"#;

/// Serves `PAGE` for `/` (404 otherwise) on 127.0.0.1; bounded number of
/// connections, each with read timeouts, so the thread can never spin forever.
fn serve_page() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind test server");
    let addr = listener.local_addr().expect("test server address");
    thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(stream) = stream else { continue };
            thread::spawn(move || handle(stream));
        }
    });
    format!("http://{addr}/")
}

fn handle(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Skip headers (bounded).
    for _ in 0..100 {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    let (status, body) = if path == "/" || path.starts_with("/?") {
        ("200 OK", PAGE)
    } else {
        ("404 Not Found", "")
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
    let _ = stream.flush();
}

fn driver_or_skip() -> Option<Driver> {
    match Driver::start() {
        Ok(Some(driver)) => Some(driver),
        Ok(None) => {
            eprintln!("SKIPPED: browser suite — {}", skip_note());
            None
        }
        Err(e) => panic!("could not start the browser: {e}"),
    }
}

#[test]
fn fills_form_in_chinese_and_reads_result() {
    let started = Instant::now();
    let url = serve_page();
    let Some(driver) = driver_or_skip() else {
        return;
    };
    let launched = started.elapsed();

    driver.goto(&url).unwrap();
    assert_eq!(driver.title().unwrap(), "门阶测试页");
    assert_eq!(driver.current_url().unwrap(), url);
    assert!(driver.page_source().unwrap().contains("欢迎来到门阶"));

    let input = driver.find("#name").unwrap();
    assert_eq!(
        input.attr("data-hint").unwrap().as_deref(),
        Some("请输入姓名")
    );
    assert_eq!(input.attr("no-such-attr").unwrap(), None);
    input.send_keys("临时").unwrap();
    assert_eq!(input.value().unwrap(), "临时");
    input.clear().unwrap();
    assert_eq!(input.value().unwrap(), "");
    input.send_keys("张三丰").unwrap();
    assert_eq!(input.value().unwrap(), "张三丰");
    assert_eq!(
        input.attr("value").unwrap(),
        None,
        "attr is the markup attribute"
    );

    driver.find("#go").unwrap().click().unwrap();
    let out = driver.wait_for_text("#out", "你好，张三丰").unwrap();
    assert_eq!(out.text().unwrap(), "你好，张三丰");

    // nested find, find_all, execute with an element argument
    let button = driver.find("#f").unwrap().find("button").unwrap();
    assert_eq!(button.text().unwrap(), "提交");
    let fees: Vec<String> = driver
        .find_all("li.fee")
        .unwrap()
        .iter()
        .map(|e| e.text().unwrap())
        .collect();
    assert_eq!(fees, ["物业费", "停车费", "水费"]);
    assert!(driver.find_all("li.nothing").unwrap().is_empty());
    let tag = driver
        .execute(
            "return arguments[0].tagName + ':' + arguments[1];",
            vec![out.to_arg(), serde_json::json!(7)],
        )
        .unwrap();
    assert_eq!(tag, serde_json::json!("P:7"));
    let lang = driver
        .execute("return navigator.language;", vec![])
        .unwrap();
    assert_eq!(lang, serde_json::json!("zh-CN"));

    driver.set_window_size(800, 600).unwrap();
    let width = driver.execute("return window.outerWidth;", vec![]).unwrap();
    assert_eq!(width, serde_json::json!(800));

    let png = driver.screenshot_png().unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert!(
        png.len() > 1000,
        "suspiciously small screenshot: {} bytes",
        png.len()
    );
    if let Ok(path) = std::env::var("DOORSTEP_E2E_SCREENSHOT") {
        std::fs::write(path, &png).unwrap();
    }

    drop(driver);
    eprintln!(
        "browser test: launch {launched:?}, total {:?} (incl. shutdown)",
        started.elapsed()
    );
}

#[test]
fn missing_selector_is_an_error_naming_it() {
    let url = serve_page();
    let Some(driver) = driver_or_skip() else {
        return;
    };
    driver.goto(&url).unwrap();

    let started = Instant::now();
    let err = driver.find("#does-not-exist .nope").unwrap_err();
    let waited = started.elapsed();
    let msg = err.to_string();
    assert!(msg.contains("#does-not-exist .nope"), "{msg}");
    assert!(
        waited >= Duration::from_secs(4),
        "gave up too early: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(8),
        "waited too long: {waited:?}"
    );

    // nested misses name the whole chain
    let err = driver.find("#f").unwrap().find("textarea").unwrap_err();
    assert!(err.to_string().contains("#f >> textarea"), "{err}");

    // an invalid selector fails at once, naming the selector and the WebDriver error
    let started = Instant::now();
    let err = driver.find("p[[").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("p[[") && msg.contains("invalid selector"),
        "{msg}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // wait_for_text gives up after the wait, reporting the last text seen
    let err = driver.wait_for_text("h1", "不存在的文字").unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("h1") && msg.contains("欢迎来到门阶"), "{msg}");

    // a bad URL names the URL
    let err = driver.goto("notaurl").unwrap_err();
    assert!(err.to_string().contains("notaurl"), "{err}");
}
