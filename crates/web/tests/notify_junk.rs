//! Anonymous junk posted at the notification URLs: every post gets the
//! provider's documented failure answer, but only a few rows a minute are
//! stored, on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_app::App;
use doorstep_app::demo::{seed_collecting, seed_sample};
use doorstep_app::pay::JUNK_ROWS_PER_MINUTE;
use doorstep_store::Store;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

const POSTS: usize = 200;

struct Running {
    base: String,
    store: Arc<dyn Store>,
    wechat: i64,
    alipay: i64,
    rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn start(pg: bool) -> Option<Running> {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let file = dir.path().join("doorstep.sqlite");
    let (base, store, wechat, alipay) = rt.block_on(async move {
        let store: Arc<dyn Store> = if pg {
            let url = std::env::var("DOORSTEP_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
            let schema = format!("junk_{}", jiff::Timestamp::now().as_millisecond());
            match doorstep_store_postgres::open(&url, Some(&schema)).await {
                Ok(s) => Arc::new(s),
                Err(e) => {
                    if std::env::var("DOORSTEP_REQUIRE_PG").is_ok() || std::env::var("CI").is_ok() {
                        panic!("PostgreSQL is required but not reachable: {e}");
                    }
                    eprintln!("SKIPPED: PostgreSQL not reachable ({e})");
                    return None;
                }
            }
        } else {
            Arc::new(doorstep_store_sqlite::open(&file).await.unwrap())
        };
        let (_sim, _sim_base, wechat, alipay) =
            doorstep_paysim::kit::start(0, |_| {}).await.unwrap();
        let app = App::new(store.clone());
        seed_sample(&app).await.unwrap();
        seed_collecting(&app, "sample", &wechat, &alipay)
            .await
            .unwrap();
        let ms = store.all_merchants().await.unwrap();
        let id_of = |p: &str| ms.iter().find(|m| m.provider == p).unwrap().id;
        let (w, a) = (id_of("wechat"), id_of("alipay"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, doorstep_web::router(app)).await });
        Some((base, store, w, a))
    })?;
    Some(Running {
        base,
        store,
        wechat,
        alipay,
        rt,
        _dir: dir,
    })
}

/// Posts `body` unsigned; the status and body of the answer.
fn post(url: &str, body: &str) -> (u16, String) {
    let req = ureq::post(url)
        .timeout(Duration::from_secs(30))
        .set("Content-Type", "application/json");
    let resp = match req.send_string(body) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST {url}: {e}"),
    };
    (resp.status(), resp.into_string().unwrap())
}

fn junk_stays_cheap(r: Running) {
    let wechat = format!("{}/pay/notify/wechat/{}", r.base, r.wechat);
    let alipay = format!("{}/pay/notify/alipay/{}", r.base, r.alipay);
    for i in 0..POSTS {
        let (s, b) = post(&wechat, &format!(r#"{{"id":"junk-{i}"}}"#));
        assert_eq!(s, 500, "WeChat Pay's failure answer, post {i}: {b}");
        assert!(b.contains(r#""code":"FAIL""#), "post {i}: {b}");
        let (s, b) = post(&alipay, &format!("notify_id=junk-{i}"));
        assert_eq!(
            (s, b.as_str()),
            (400, "fail"),
            "Alipay's failure body, refused with a 4xx as today, post {i}"
        );
        // A different made-up merchant every time.
        let unknown = format!("{}/pay/notify/wechat/{}", r.base, 1_000_000 + i);
        let (s, b) = post(&unknown, "{}");
        assert_eq!(s, 404, "unknown merchant, post {i}: {b}");
    }
    let events =
        r.rt.block_on(r.store.provider_events(None, 10_000))
            .unwrap();
    let mut per_kind: HashMap<(String, String), u32> = HashMap::new();
    for (provider, _, _, verdict, _, _) in &events {
        *per_kind
            .entry((provider.clone(), verdict.clone()))
            .or_default() += 1;
    }
    let providers: std::collections::HashSet<_> = per_kind.keys().map(|k| k.0.as_str()).collect();
    assert!(
        providers.contains("wechat") && providers.contains("alipay"),
        "refusals are still recorded: {per_kind:?}"
    );
    assert!(
        per_kind.keys().any(|k| k.1 == "unknown_merchant"),
        "unknown merchants are still recorded: {per_kind:?}"
    );
    for (kind, n) in &per_kind {
        // The posts may straddle a minute boundary: two windows at most.
        assert!(
            *n <= 2 * JUNK_ROWS_PER_MINUTE,
            "{kind:?} stored {n} rows for {POSTS} junk posts"
        );
    }
}

#[test]
fn junk_stays_cheap_on_sqlite() {
    junk_stays_cheap(start(false).unwrap());
}

#[test]
fn junk_stays_cheap_on_postgres() {
    if let Some(r) = start(true) {
        junk_stays_cheap(r);
    }
}
