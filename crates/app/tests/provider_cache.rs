//! A merchant's provider client is built once per stored settings: a
//! notification does not parse RSA keys again, and changed settings (or
//! another transport) always get a client of their own.

use doorstep_app::App;
use doorstep_store::Merchant;
use std::sync::Arc;

fn merchant(id: i64, settings: &serde_json::Value) -> Merchant {
    Merchant {
        id,
        company_id: 1,
        estate_scope: 0,
        provider: "wechat".into(),
        merchant_id: settings["mch_id"].as_str().unwrap_or_default().into(),
        app_id: settings["app_id"].as_str().unwrap_or_default().into(),
        settings: settings.to_string(),
        updated_at: 0,
    }
}

#[tokio::test]
async fn clients_are_reused_only_for_the_same_settings() {
    let dir = tempfile::tempdir().unwrap();
    let store = doorstep_store_sqlite::open(&dir.path().join("d.sqlite"))
        .await
        .unwrap();
    let mut app = App::new(Arc::new(store));
    let k1 = doorstep_paysim::kit::kit("http://127.0.0.1:1").unwrap();
    let k2 = doorstep_paysim::kit::kit("http://127.0.0.1:1").unwrap();
    let m1 = merchant(7, &k1.wechat);
    let a = app.provider_of(&m1).unwrap();
    let b = app.provider_of(&m1).unwrap();
    assert!(Arc::ptr_eq(&a, &b), "the same settings: the same client");
    // Merchant 7's keys replaced: a new client, never the old one.
    let m1_new = merchant(7, &k2.wechat);
    let c = app.provider_of(&m1_new).unwrap();
    assert!(!Arc::ptr_eq(&a, &c), "changed settings got the old client");
    // Another merchant with the first settings: its own client.
    let d = app.provider_of(&merchant(8, &k1.wechat)).unwrap();
    assert!(!Arc::ptr_eq(&a, &d) && !Arc::ptr_eq(&c, &d));
    // Another transport (tests point it at a simulator): a new client.
    app.pay.transport = Arc::new(doorstep_payments::http::UreqTransport::default());
    let e = app.provider_of(&m1_new).unwrap();
    assert!(
        !Arc::ptr_eq(&c, &e),
        "a client of the old transport was reused"
    );
    // Unusable settings are refused, not served from the cache.
    let mut broken = m1_new.clone();
    broken.settings = "{".into();
    assert!(app.provider_of(&broken).is_err());
}
