//! The outbox goes out through gateways: each due message once, failures
//! retried, reminders only when due, withdrawn ones never.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use async_trait::async_trait;
use doorstep_app::App;
use doorstep_app::booking::{BookingRequest, By, Target};
use doorstep_app::demo::seed_sample;
use doorstep_app::notify::{Delivery, Gateway};
use doorstep_app::owner::OwnerId;
use doorstep_domain::ObjectKind;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<(String, String)>>,
    fail_next: Mutex<bool>,
}

#[async_trait]
impl Gateway for Recorder {
    fn channel(&self) -> &'static str {
        "sms"
    }
    async fn send(&self, recipient: &str, body: &str) -> Result<(), String> {
        let mut f = self.fail_next.lock().unwrap();
        if *f {
            *f = false;
            return Err("provider busy".into());
        }
        self.sent
            .lock()
            .unwrap()
            .push((recipient.to_string(), body.to_string()));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_messages_go_out_once_and_failures_are_retried() {
    let dir = tempfile::tempdir().unwrap();
    let store = doorstep_store_sqlite::open(&dir.path().join("d.sqlite"))
        .await
        .unwrap();
    let mut app = App::new(Arc::new(store));
    let ids = seed_sample(&app).await.unwrap();
    let gw = Arc::new(Recorder::default());
    app.gateways = vec![gw.clone()];
    // A code (due now) fails once, then goes out exactly once.
    app.request_owner_code("13812345678", None, "10.0.0.1")
        .await
        .unwrap();
    // Staff never read the code, before or after it goes out.
    let listed = app.store.outbox(Some("13812345678"), 1).await.unwrap();
    assert_eq!(listed[0].body, doorstep_store::REDACTED_CODE_TEXT);
    *gw.fail_next.lock().unwrap() = true;
    assert_eq!(
        app.deliver_due().await.unwrap(),
        Delivery { sent: 0, failed: 1 }
    );
    assert_eq!(
        app.deliver_due().await.unwrap(),
        Delivery { sent: 1, failed: 0 }
    );
    assert_eq!(app.deliver_due().await.unwrap(), Delivery::default());
    let sent = gw.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "13812345678");
    assert!(sent[0].1.contains("验证码"), "{}", sent[0].1);
    assert!(
        sent[0].1.chars().filter(char::is_ascii_digit).count() >= 6,
        "the gateway gets the real code: {}",
        sent[0].1
    );
    let owner = OwnerId {
        phone: "13812345678".into(),
        company_id: app.estate("sample").await.unwrap().company_id,
    };
    // A booking a week ahead queues a reminder that is not yet due.
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
    let mut day = jiff::Timestamp::now().to_zoned(tz).date();
    for _ in 0..7 {
        day = day.tomorrow().unwrap();
    }
    while day.weekday().to_monday_one_offset() > 5 {
        day = day.tomorrow().unwrap();
    }
    let b = app
        .create_booking(
            By::Owner(&owner),
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
    assert_eq!(app.deliver_due().await.unwrap(), Delivery::default());
    let out = app.store.outbox(Some("13812345678"), 10).await.unwrap();
    let reminder = out.iter().find(|m| m.kind == "reminder").unwrap();
    assert_eq!(reminder.booking_id, Some(b.booking.id));
    assert!(reminder.sent_at.is_none());
    // Once withdrawn (the booking is cancelled) it can never be claimed.
    app.cancel_booking(By::Owner(&owner), b.booking.id, "")
        .await
        .unwrap();
    assert!(!app.store.claim_message(reminder.id, 0).await.unwrap());
}
