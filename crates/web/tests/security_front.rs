//! The web front (issue 13, items 8–12) against a real server on
//! 127.0.0.1:0 served by `doorstep_web::serve_only` (the production accept
//! loop) over a real SQLite file, and PostgreSQL where the database decides:
//! cross-site requests, bearer-only `/api/v1`, the sign-in `next`, sign-in
//! throttling under parallel requests, headers and cookies, timeouts, the
//! connection cap and a busy database.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_app::App;
use doorstep_app::demo::{SAMPLE_PASSWORD, seed_sample};
use doorstep_store::Store;
use doorstep_web::{Cidr, FrontConfig};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

struct Server {
    base: String,
    /// The origin a browser on our own pages sends.
    origin: String,
    file: PathBuf,
    _dir: tempfile::TempDir,
}

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Sqlite,
    Postgres,
}

fn pg_url() -> String {
    std::env::var("DOORSTEP_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A seeded server with `cfg`; `None` when PostgreSQL is wanted but absent
/// (and not required).
fn start(backend: Backend, cfg: FrontConfig) -> Option<Server> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doorstep.sqlite");
    let f = file.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let store: Arc<dyn Store> = match backend {
                Backend::Sqlite => Arc::new(doorstep_store_sqlite::open(&f).await.unwrap()),
                Backend::Postgres => {
                    let schema = format!(
                        "front_{}_{}",
                        std::process::id(),
                        jiff::Timestamp::now().as_nanosecond()
                    );
                    match doorstep_store_postgres::open(&pg_url(), Some(&schema)).await {
                        Ok(s) => Arc::new(s),
                        Err(e) => {
                            tx.send(Err(e.to_string())).unwrap();
                            return;
                        }
                    }
                }
            };
            let app = App::new(store);
            seed_sample(&app).await.unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            tx.send(Ok(base)).unwrap();
            doorstep_web::serve_only(listener, app, cfg, std::future::pending())
                .await
                .unwrap();
        });
    });
    match rx.recv().unwrap() {
        Ok(base) => Some(Server {
            origin: base.clone(),
            base,
            file,
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

fn sqlite() -> Server {
    start(Backend::Sqlite, FrontConfig::default()).unwrap()
}

struct Res {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Res {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::String(self.body.clone()))
    }
}

enum Payload<'a> {
    Nothing,
    Form(&'a [(&'a str, &'a str)]),
    Json(Value),
}

impl Server {
    fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: Payload) -> Res {
        let agent = ureq::AgentBuilder::new()
            .redirects(0)
            .timeout(Duration::from_secs(60))
            .build();
        let mut r = agent.request(method, &format!("{}{path}", self.base));
        for (k, v) in headers {
            r = r.set(k, v);
        }
        let out = match body {
            Payload::Nothing => r.call(),
            Payload::Form(f) => r.send_form(f),
            Payload::Json(v) => r.send_json(v),
        };
        let resp = match out {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let mut headers = Vec::new();
        for name in resp.headers_names() {
            for v in resp.all(&name) {
                headers.push((name.clone(), v.to_string()));
            }
        }
        Res {
            status,
            headers,
            body: resp.into_string().unwrap_or_default(),
        }
    }

    fn api_login(&self, user: &str, password: &str, headers: &[(&str, &str)]) -> Res {
        self.req(
            "POST",
            "/api/v1/login",
            headers,
            Payload::Json(json!({"username": user, "password": password})),
        )
    }

    fn token(&self, user: &str) -> String {
        let r = self.api_login(user, SAMPLE_PASSWORD, &[]);
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["token"].as_str().unwrap().to_string()
    }

    fn keys(&self, token: &str) -> Value {
        let r = self.req(
            "GET",
            "/api/v1/evidence/keys",
            &[("Authorization", &format!("Bearer {token}"))],
            Payload::Nothing,
        );
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }

    fn estate_exists(&self, token: &str, code: &str) -> bool {
        let r = self.req(
            "GET",
            &format!("/api/v1/estates/{code}"),
            &[("Authorization", &format!("Bearer {token}"))],
            Payload::Nothing,
        );
        assert!(matches!(r.status, 200 | 404), "{} {}", r.status, r.body);
        r.status == 200
    }
}

// ---------------------------------------------------------------------------
// Item 8: cross-site requests and bearer-only /api/v1.

#[test]
fn a_form_from_another_port_is_refused_and_changes_nothing() {
    let s = sqlite();
    let token = s.token("s-admin");
    let cookie = format!("doorstep_session={token}");
    let other_port = "http://127.0.0.1:1";
    let form: &[(&str, &str)] = &[("code", "xsite"), ("name", "跨站")];
    for headers in [
        vec![("Cookie", cookie.as_str()), ("Origin", other_port)],
        vec![
            ("Cookie", cookie.as_str()),
            ("Origin", other_port),
            ("Sec-Fetch-Site", "same-site"),
        ],
        vec![
            ("Cookie", cookie.as_str()),
            ("Sec-Fetch-Site", "cross-site"),
        ],
        vec![("Cookie", cookie.as_str()), ("Origin", "null")],
        // A cookie and nothing that says where the form came from.
        vec![("Cookie", cookie.as_str())],
    ] {
        let r = s.req("POST", "/console/estates", &headers, Payload::Form(form));
        assert_eq!(r.status, 403, "{headers:?}: {}", r.body);
        assert!(!s.estate_exists(&token, "xsite"), "{headers:?}");
    }
    // A browser page of our own (Accept: text/html) gets a readable page.
    let r = s.req(
        "POST",
        "/console/estates",
        &[
            ("Cookie", cookie.as_str()),
            ("Origin", other_port),
            ("Accept", "text/html"),
        ],
        Payload::Form(form),
    );
    assert_eq!(r.status, 403);
    assert!(r.body.contains("请求来自其他网站"), "{}", r.body);
    // The same form from our own page works.
    let r = s.req(
        "POST",
        "/console/estates",
        &[
            ("Cookie", cookie.as_str()),
            ("Origin", s.origin.as_str()),
            ("Sec-Fetch-Site", "same-origin"),
        ],
        Payload::Form(form),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(s.estate_exists(&token, "xsite"));
}

#[test]
fn api_v1_takes_bearer_tokens_only() {
    let s = sqlite();
    let token = s.token("s-admin");
    let cookie = format!("doorstep_session={token}");
    let before = s.keys(&token);
    // A cookie-only rotation: not signed in, whatever the Origin says.
    for origin in [None, Some(s.origin.as_str())] {
        let mut h = vec![("Cookie", cookie.as_str())];
        if let Some(o) = origin {
            h.push(("Origin", o));
        }
        let r = s.req("POST", "/api/v1/signing-keys/rotate", &h, Payload::Nothing);
        assert_eq!(r.status, 401, "{origin:?}: {}", r.body);
        let r = s.req("GET", "/api/v1/me", &h, Payload::Nothing);
        assert_eq!(r.status, 401, "{}", r.body);
    }
    assert_eq!(s.keys(&token), before);
    // The cookie path for our own pages: a foreign page is refused …
    let r = s.req(
        "POST",
        "/c/api/v1/signing-keys/rotate",
        &[
            ("Cookie", cookie.as_str()),
            ("Origin", "http://127.0.0.1:1"),
        ],
        Payload::Nothing,
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(s.keys(&token), before);
    // … our own page is not, and the bearer token still works on /api/v1.
    let r = s.req(
        "POST",
        "/c/api/v1/signing-keys/rotate",
        &[("Cookie", cookie.as_str()), ("Origin", s.origin.as_str())],
        Payload::Nothing,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let rotated = s.keys(&token);
    assert_ne!(rotated, before);
    let r = s.req(
        "POST",
        "/api/v1/signing-keys/rotate",
        &[("Authorization", &format!("Bearer {token}"))],
        Payload::Nothing,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ne!(s.keys(&token), rotated);
}

#[test]
fn provider_notifications_carry_no_cookie_and_still_arrive() {
    let s = sqlite();
    let r = s.req(
        "POST",
        "/pay/notify/wechat/1",
        &[("Content-Type", "application/json")],
        Payload::Json(json!({"id": "x"})),
    );
    assert_ne!(r.status, 403, "{}", r.body);
    assert!(
        !r.body.contains("did not come from this site"),
        "{}",
        r.body
    );
}

// ---------------------------------------------------------------------------
// Item 9: the sign-in's `next`.

#[test]
fn console_sign_in_never_sends_the_browser_off_site() {
    let s = sqlite();
    for (next, to) in [
        ("/\\evil.example", "/console"),
        ("//evil.example", "/console"),
        ("/%5Cevil.example", "/console"),
        ("javascript:alert(1)", "/console"),
        ("https://evil.example/", "/console"),
        ("/\tevil.example", "/console"),
        ("/console/sample/arrears", "/console/sample/arrears"),
    ] {
        let r = s.req(
            "POST",
            "/login",
            &[("Origin", s.origin.as_str())],
            Payload::Form(&[
                ("username", "s-admin"),
                ("password", SAMPLE_PASSWORD),
                ("next", next),
            ]),
        );
        assert_eq!(r.status, 303, "{next:?}: {}", r.body);
        assert_eq!(r.header("location"), Some(to), "{next:?}");
    }
    // The page does not even carry it.
    let r = s.req("GET", "/login?next=/%5Cevil.example", &[], Payload::Nothing);
    assert!(
        r.body.contains(r#"name="next" value="/console""#),
        "{}",
        r.body
    );
}

// ---------------------------------------------------------------------------
// Item 10: sign-in throttling.

fn parallel_wrong_logins(s: &Server, n: usize) -> Vec<Res> {
    std::thread::scope(|sc| {
        let hs: Vec<_> = (0..n)
            .map(|_| sc.spawn(|| s.api_login("s-admin", "wrong-password", &[])))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn parallel_guesses_are_counted_before_checking(backend: Backend) {
    let Some(s) = start(backend, FrontConfig::default()) else {
        return;
    };
    let rs = parallel_wrong_logins(&s, 50);
    let checked = rs.iter().filter(|r| r.status == 401).count();
    let refused: Vec<_> = rs.iter().filter(|r| r.status == 429).collect();
    let allowed = doorstep_app::auth::USER_TIERS[0].0 as usize;
    assert!(
        (1..=allowed).contains(&checked),
        "{checked} passwords checked"
    );
    assert_eq!(checked + refused.len(), 50);
    for r in refused {
        let secs: i64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&secs), "{secs}");
        assert_eq!(r.json()["error"], "too_many_requests");
    }
    // Locked: even the right password waits.
    assert_eq!(s.api_login("s-admin", SAMPLE_PASSWORD, &[]).status, 429);
    // Other users are not affected.
    assert_eq!(s.api_login("s-finance", SAMPLE_PASSWORD, &[]).status, 200);
}

#[test]
fn parallel_guesses_are_counted_before_checking_sqlite() {
    parallel_guesses_are_counted_before_checking(Backend::Sqlite);
}

#[test]
fn parallel_guesses_are_counted_before_checking_postgres() {
    parallel_guesses_are_counted_before_checking(Backend::Postgres);
}

#[test]
fn a_successful_sign_in_clears_the_username_count() {
    let s = sqlite();
    for _ in 0..4 {
        assert_eq!(s.api_login("s-admin", "nope", &[]).status, 401);
    }
    assert_eq!(s.api_login("s-admin", SAMPLE_PASSWORD, &[]).status, 200);
    for _ in 0..4 {
        assert_eq!(s.api_login("s-admin", "nope", &[]).status, 401);
    }
}

#[test]
fn the_console_sign_in_says_when_to_try_again() {
    let s = sqlite();
    let wrong: &[(&str, &str)] = &[("username", "s-admin"), ("password", "nope")];
    let h = [("Origin", s.origin.as_str())];
    for _ in 0..5 {
        let r = s.req("POST", "/login", &h, Payload::Form(wrong));
        assert!(r.header("location").unwrap().contains("err="));
    }
    let r = s.req("POST", "/login", &h, Payload::Form(wrong));
    let page = s.req("GET", r.header("location").unwrap(), &[], Payload::Nothing);
    assert!(page.body.contains("登录尝试过多"), "{}", page.body);
}

#[test]
fn the_client_limit_believes_forwarded_for_only_from_trusted_proxies() {
    let guess = |s: &Server, i: usize| {
        let fwd = format!("203.0.113.{i}");
        s.api_login(&format!("nobody-{i}"), "nope", &[("X-Forwarded-For", &fwd)])
            .status
    };
    let tier = doorstep_app::auth::CLIENT_TIERS[0].0 as usize;
    // Not trusted: every guess is the peer's, whatever the header says.
    let s = start(
        Backend::Sqlite,
        FrontConfig {
            trusted_proxies: vec![],
            ..Default::default()
        },
    )
    .unwrap();
    let statuses: Vec<u16> = (0..=tier).map(|i| guess(&s, i)).collect();
    assert!(statuses[..tier].iter().all(|st| *st == 401), "{statuses:?}");
    assert_eq!(statuses[tier], 429);
    // A trusted proxy (this host): each forwarded client is its own.
    let s = start(
        Backend::Sqlite,
        FrontConfig {
            trusted_proxies: vec![Cidr::parse("127.0.0.1").unwrap()],
            ..Default::default()
        },
    )
    .unwrap();
    assert!((0..=tier).all(|i| guess(&s, i) == 401));
}

// ---------------------------------------------------------------------------
// Item 11: headers, cookies, favicon.

#[test]
fn pages_carry_the_security_headers() {
    let s = sqlite();
    let r = s.req("GET", "/login", &[], Payload::Nothing);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-security-policy"), Some(CSP));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!(r.header("referrer-policy"), Some("same-origin"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("strict-transport-security"), None);
    assert!(r.body.contains(r#"rel="icon""#));
    // Personal JSON is not stored either; versioned assets still are.
    let token = s.token("s-admin");
    let r = s.req(
        "GET",
        "/api/v1/me",
        &[("Authorization", &format!("Bearer {token}"))],
        Payload::Nothing,
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let r = s.req("GET", "/c/app.js?v=1", &[], Payload::Nothing);
    assert!(r.header("cache-control").unwrap().contains("immutable"));
    let r = s.req("GET", "/favicon.ico", &[], Payload::Nothing);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("image/svg+xml"));
    assert!(r.body.starts_with("<svg"));
    // Plain http: cookies as before, HttpOnly and SameSite.
    let r = console_login(&s, &[("Origin", s.origin.as_str())]);
    let c = r.header("set-cookie").unwrap();
    assert!(c.starts_with("doorstep_session="), "{c}");
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && !c.contains("Secure"));
}

fn console_login(s: &Server, headers: &[(&str, &str)]) -> Res {
    let r = s.req(
        "POST",
        "/login",
        headers,
        Payload::Form(&[("username", "s-admin"), ("password", SAMPLE_PASSWORD)]),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    r
}

fn session_of(set_cookie: &str) -> String {
    let (_, v) = set_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap();
    v.to_string()
}

#[test]
fn over_https_cookies_are_secure_with_the_host_prefix() {
    let public = "https://doorstep.example";
    let s = start(
        Backend::Sqlite,
        FrontConfig {
            public_url: Some(public.into()),
            ..Default::default()
        },
    )
    .unwrap();
    let r = console_login(&s, &[("Origin", public)]);
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    let c = r.header("set-cookie").unwrap();
    assert!(c.starts_with("__Host-doorstep_session="), "{c}");
    assert!(c.contains("; Secure") && c.contains("Path=/") && c.contains("HttpOnly"));
    let token = session_of(c);
    let signed_in = format!("__Host-doorstep_session={token}");
    let r = s.req(
        "GET",
        "/console",
        &[("Cookie", &signed_in)],
        Payload::Nothing,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // A plain-named cookie (another port could have planted it) counts for nothing.
    let plain = format!("doorstep_session={token}");
    let r = s.req("GET", "/console", &[("Cookie", &plain)], Payload::Nothing);
    assert_eq!(r.status, 303);
    // Signing out clears the prefixed cookie.
    let r = s.req(
        "POST",
        "/logout",
        &[("Cookie", &signed_in), ("Origin", public)],
        Payload::Nothing,
    );
    let c = r.header("set-cookie").unwrap();
    assert!(
        c.starts_with("__Host-doorstep_session=;") && c.contains("Secure"),
        "{c}"
    );
}

#[test]
fn behind_a_trusted_tls_proxy_cookies_are_secure() {
    let proxy = [
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "doorstep.example"),
        ("Origin", "https://doorstep.example"),
    ];
    // Nothing is trusted by default: the forwarded scheme and host are not believed.
    let s = sqlite();
    let r = s.req(
        "POST",
        "/login",
        &proxy,
        Payload::Form(&[("username", "s-admin"), ("password", SAMPLE_PASSWORD)]),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let s = start(
        Backend::Sqlite,
        FrontConfig {
            trusted_proxies: vec![Cidr::parse("127.0.0.1").unwrap()],
            ..Default::default()
        },
    )
    .unwrap();
    let r = console_login(&s, &proxy);
    assert!(
        r.header("set-cookie")
            .unwrap()
            .starts_with("__Host-doorstep_session=")
    );
    assert!(r.all("set-cookie").iter().all(|c| c.contains("Secure")));
    // A peer the settings do not name is not believed: its Origin is foreign.
    let s = start(
        Backend::Sqlite,
        FrontConfig {
            trusted_proxies: vec![Cidr::parse("10.0.0.0/8").unwrap()],
            ..Default::default()
        },
    )
    .unwrap();
    let r = s.req(
        "POST",
        "/login",
        &proxy,
        Payload::Form(&[("username", "s-admin"), ("password", SAMPLE_PASSWORD)]),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    let r = console_login(&s, &[("X-Forwarded-Proto", "https")]);
    let c = r.header("set-cookie").unwrap();
    assert!(
        c.starts_with("doorstep_session=") && !c.contains("Secure"),
        "{c}"
    );
}

// ---------------------------------------------------------------------------
// Item 12: timeouts, the connection cap, a busy database.

fn raw(base: &str) -> TcpStream {
    let s = TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Reads until the server closes the connection (or 20 s pass).
fn read_to_close(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_slow_client_is_cut_off_after_the_header_timeout() {
    let s = start(
        Backend::Sqlite,
        FrontConfig {
            header_read_timeout: Duration::from_secs(1),
            ..Default::default()
        },
    )
    .unwrap();
    let mut c = raw(&s.base);
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let t = Instant::now();
    let _ = read_to_close(&mut c);
    let waited = t.elapsed();
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    // Nor may a connection that says nothing at all, or nothing after its
    // first request, keep its place.
    let mut silent = raw(&s.base);
    let t = Instant::now();
    let _ = read_to_close(&mut silent);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let mut kept = raw(&s.base);
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let t = Instant::now();
    let answer = read_to_close(&mut kept);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[test]
fn connections_past_the_cap_wait_their_turn() {
    let s = start(
        Backend::Sqlite,
        FrontConfig {
            header_read_timeout: Duration::from_secs(2),
            max_connections: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let mut slow = raw(&s.base);
    slow.write_all(b"GET /healthz HTTP/1.1\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    let mut next = raw(&s.base);
    next.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let answer = read_to_close(&mut next);
    let waited = t.elapsed();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(waited >= Duration::from_millis(1200), "{waited:?}");
}

/// Holds SQLite's write lock from another connection until dropped.
struct WriteLock {
    stop: std::sync::mpsc::Sender<()>,
    done: Option<std::thread::JoinHandle<()>>,
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        let _ = self.stop.send(());
        if let Some(h) = self.done.take() {
            h.join().unwrap();
        }
    }
}

fn hold_write_lock(file: &std::path::Path) -> WriteLock {
    use sqlx::Connection;
    let url = format!("sqlite://{}", file.display());
    let (stop, wait) = std::sync::mpsc::channel::<()>();
    let (locked, is_locked) = std::sync::mpsc::channel();
    let done = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::query("BEGIN IMMEDIATE")
                .execute(&mut c)
                .await
                .unwrap();
            locked.send(()).unwrap();
            let _ = tokio::task::spawn_blocking(move || wait.recv()).await;
            sqlx::query("ROLLBACK").execute(&mut c).await.unwrap();
        });
    });
    is_locked.recv().unwrap();
    WriteLock {
        stop,
        done: Some(done),
    }
}

#[test]
fn a_locked_database_answers_503_within_seconds() {
    let s = sqlite();
    let lock = hold_write_lock(&s.file);
    let t = Instant::now();
    let r = s.api_login("s-admin", SAMPLE_PASSWORD, &[]);
    let waited = t.elapsed();
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.json()["error"], "busy");
    assert!(waited < Duration::from_secs(9), "{waited:?}");
    drop(lock);
    assert_eq!(s.api_login("s-admin", SAMPLE_PASSWORD, &[]).status, 200);
}

#[test]
fn a_request_past_the_timeout_answers_503() {
    let s = start(
        Backend::Sqlite,
        FrontConfig {
            request_timeout: Duration::from_secs(1),
            ..Default::default()
        },
    )
    .unwrap();
    let lock = hold_write_lock(&s.file);
    let t = Instant::now();
    let r = s.api_login("s-admin", SAMPLE_PASSWORD, &[]);
    let waited = t.elapsed();
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.json()["error"], "timeout");
    assert!(r.header("retry-after").is_some());
    assert!(waited < Duration::from_secs(4), "{waited:?}");
    drop(lock);
}
