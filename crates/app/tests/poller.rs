//! The order poller closes QR orders whose time is up at the provider (the
//! code can no longer be paid) and frees their lines; two instances never
//! poll at once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_app::App;
use doorstep_app::booking::{BookingRequest, By, Target};
use doorstep_app::demo::{SAMPLE_PASSWORD, seed_collecting, seed_sample};
use doorstep_domain::ObjectKind;
use std::sync::Arc;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_qr_orders_are_closed_at_the_provider() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        doorstep_store_sqlite::open(&dir.path().join("d.sqlite"))
            .await
            .unwrap(),
    );
    let (sim, _, wechat, alipay) = doorstep_paysim::kit::start(0, |c| c.notify = false)
        .await
        .unwrap();
    let app = App::new(store.clone());
    let ids = seed_sample(&app).await.unwrap();
    seed_collecting(&app, "sample", &wechat, &alipay)
        .await
        .unwrap();
    let disp = app
        .login("s-dispatcher", SAMPLE_PASSWORD)
        .await
        .unwrap()
        .user;
    let day = next_weekday();
    let b = app
        .create_booking(
            By::Staff(&disp),
            "sample",
            &BookingRequest {
                targets: vec![Target {
                    kind: ObjectKind::Room,
                    id: ids.room_202,
                }],
                date: day.to_string(),
                start: "19:00".into(),
                pays_cash: false,
                call_first: false,
                note: String::new(),
                contact_phone: String::new(),
            },
        )
        .await
        .unwrap();
    app.plan_dispatch(&disp, "sample", day, None, 200)
        .await
        .unwrap();
    let collector_id = app
        .store
        .booking(b.booking.id)
        .await
        .unwrap()
        .collector_id
        .unwrap();
    let collector = app.store.user(collector_id).await.unwrap();
    let qr = app
        .create_qr_payment(&collector, b.booking.id, "wechat", "10.00", None)
        .await
        .unwrap();
    assert_eq!(qr.collection.status, "open");

    // Not yet due: the poller leaves it open.
    app.poll_open_orders("instance-a").await.unwrap();
    assert_eq!(
        app.store.collection(qr.collection.id).await.unwrap().status,
        "open"
    );
    // Its time is up (as if five minutes had passed).
    sqlx::query("UPDATE collections SET expires_at = expires_at - 1000 WHERE id = $1")
        .bind(qr.collection.id)
        .execute(store.pool())
        .await
        .unwrap();
    // Another instance cannot poll while the first holds the lease.
    assert_eq!(app.poll_open_orders("instance-b").await.unwrap(), 0);
    assert_eq!(
        app.store.collection(qr.collection.id).await.unwrap().status,
        "open"
    );
    app.poll_open_orders("instance-a").await.unwrap();
    let c = app.store.collection(qr.collection.id).await.unwrap();
    assert_eq!(c.status, "closed");
    let at_sim = sim
        .lock()
        .orders
        .values()
        .find(|o| o.out_trade_no == c.out_trade_no)
        .map(|o| o.state.clone());
    assert_eq!(at_sim, Some(doorstep_paysim::TradeState::Closed));
    // The lines are free again: a new order for them opens.
    let again = app
        .create_qr_payment(&collector, b.booking.id, "alipay", "10.00", None)
        .await
        .unwrap();
    assert_eq!(again.collection.status, "open");
}
