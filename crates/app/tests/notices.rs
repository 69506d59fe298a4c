//! Overdue notices on the sample estate (a real SQLite file): each owner
//! gets only their own room's amounts, politely, with the contract basis of
//! the late fee; nothing goes at night (it waits for the morning); a room
//! is not dunned twice within the set days nor more than the monthly
//! ceiling; every notice is recorded and shows when it was delivered.
//! Also the disputes log.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use async_trait::async_trait;
use doorstep_app::App;
use doorstep_app::demo::{SAMPLE_PASSWORD, seed_sample};
use doorstep_app::notice::SendNotices;
use doorstep_app::notify::Gateway;
use doorstep_domain::ObjectKind;
use doorstep_store::NoticeSettings;
use std::sync::{Arc, Mutex};

/// Unix seconds of a local time in Asia/Shanghai.
fn at(y: i16, m: i8, d: i8, h: i8, min: i8) -> i64 {
    jiff::civil::date(y, m, d)
        .at(h, min, 0, 0)
        .to_zoned(jiff::tz::TimeZone::get("Asia/Shanghai").unwrap())
        .unwrap()
        .timestamp()
        .as_second()
}

struct Phone(Mutex<Vec<(String, String)>>);

#[async_trait]
impl Gateway for Phone {
    fn channel(&self) -> &'static str {
        "sms"
    }
    async fn send(&self, to: &str, body: &str) -> Result<(), String> {
        self.0.lock().unwrap().push((to.into(), body.into()));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_are_polite_private_quiet_at_night_and_not_too_frequent() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        doorstep_store_sqlite::open(&dir.path().join("d.sqlite"))
            .await
            .unwrap(),
    );
    let mut app = App::new(store.clone());
    let phone = Arc::new(Phone(Mutex::new(Vec::new())));
    app.gateways = vec![phone.clone()];
    let ids = seed_sample(&app).await.unwrap();
    let fin = app.login("s-finance", SAMPLE_PASSWORD).await.unwrap().user;
    let collector = app
        .login("s-collector", SAMPLE_PASSWORD)
        .await
        .unwrap()
        .user;

    // Settings: the contract clause and the office phone; bad times refused.
    let mut s = NoticeSettings {
        contract_basis: "《物业服务合同》第十二条".into(),
        office_phone: "0591-88880000".into(),
        ..Default::default()
    };
    let bad = NoticeSettings {
        quiet_from: "25:00".into(),
        ..s.clone()
    };
    let e = app
        .set_notice_settings(&fin, "sample", &bad)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("quiet_from"), "{e}");
    s = app.set_notice_settings(&fin, "sample", &s).await.unwrap();
    assert!(
        app.set_notice_settings(&collector, "sample", &s)
            .await
            .is_err()
    );
    assert!(
        app.send_overdue_notices(&collector, "sample", &SendNotices::default())
            .await
            .is_err(),
        "collectors do not dun"
    );

    // A weekday morning: both owners with arrears get one SMS each.
    let req = SendNotices {
        as_of: Some("2026-05-20".into()),
        ..Default::default()
    };
    let run = app
        .send_overdue_notices_at(&fin, "sample", &req, at(2026, 5, 20, 10, 0))
        .await
        .unwrap();
    assert!(run.held.is_empty(), "{:?}", run.held);
    let objects: Vec<(String, i64)> = run
        .queued
        .iter()
        .map(|n| (n.object_kind.clone(), n.object_id))
        .collect();
    assert!(
        objects.contains(&("room".into(), ids.room_202)),
        "{objects:?}"
    );
    assert!(
        objects.contains(&("room".into(), ids.room_301)),
        "{objects:?}"
    );
    assert!(
        objects.contains(&("space".into(), ids.space_b007)),
        "{objects:?}"
    );
    let labels = app
        .store
        .object_labels(
            ids.estate_id,
            &[
                (ObjectKind::Room, ids.room_202),
                (ObjectKind::Room, ids.room_301),
            ],
        )
        .await
        .unwrap();
    for n in &run.queued {
        assert_eq!(n.due_at, at(2026, 5, 20, 10, 0), "not held: {n:?}");
        assert!(n.body.contains("尊敬的"), "{}", n.body);
        assert!(n.body.contains("如已缴纳请忽略"), "{}", n.body);
        assert!(n.body.contains("/o"), "{}", n.body);
        // Only this room's label: never another owner's.
        let mine = app
            .store
            .object_labels(
                ids.estate_id,
                &[(
                    if n.object_kind == "room" {
                        ObjectKind::Room
                    } else {
                        ObjectKind::Space
                    },
                    n.object_id,
                )],
            )
            .await
            .unwrap();
        assert!(n.body.contains(&mine[0]), "{}", n.body);
        for other in labels.iter().filter(|l| **l != mine[0]) {
            assert!(!n.body.contains(other.as_str()), "{other} in {}", n.body);
        }
        if n.body.contains("违约金") {
            assert!(n.body.contains("《物业服务合同》第十二条"), "{}", n.body);
        }
        assert!(!n.body.contains("停水") && !n.body.contains("停电"));
    }
    assert!(
        run.queued.iter().any(|n| n.body.contains("违约金")),
        "the sample's arrears carry late fees by May"
    );
    assert_eq!(run.queued[0].sent_at, None, "not delivered yet");

    // The gateway delivers; the notices say so.
    let d = app.deliver_due().await.unwrap();
    assert_eq!(d.sent as usize, run.queued.len());
    let list = app.notices(&fin, "sample", 100).await.unwrap();
    assert_eq!(list.len(), run.queued.len());
    assert!(list.iter().all(|n| n.sent_at.is_some()), "{list:?}");
    assert!(phone.lock_len() >= 2);

    // Again the same day, or within the week: held, nothing queued.
    for when in [at(2026, 5, 20, 15, 0), at(2026, 5, 24, 10, 0)] {
        let again = app
            .send_overdue_notices_at(&fin, "sample", &req, when)
            .await
            .unwrap();
        assert!(again.queued.is_empty(), "{:?}", again.queued);
        assert!(!again.held.is_empty());
        assert!(
            again.held.iter().all(|h| h.reason.contains("之后才能再发")),
            "{:?}",
            again.held
        );
    }

    // A week later, at 22:00: queued for 08:00 the next morning.
    let night = app
        .send_overdue_notices_at(&fin, "sample", &req, at(2026, 5, 27, 22, 0))
        .await
        .unwrap();
    assert!(!night.queued.is_empty());
    assert!(
        night
            .queued
            .iter()
            .all(|n| n.due_at == at(2026, 5, 28, 8, 0)),
        "{:?}",
        night.queued
    );
    // The outbox holds each message until then (the sender sends what is due).
    let held_msgs = app.store.outbox(None, 100).await.unwrap();
    for n in &night.queued {
        let m = held_msgs
            .iter()
            .find(|m| Some(m.id) == n.message_id)
            .unwrap();
        assert_eq!(m.due_at, at(2026, 5, 28, 8, 0));
        assert_eq!(m.kind, "overdue");
    }

    // Two this month already: the ceiling holds the third until June.
    let third = app
        .send_overdue_notices_at(&fin, "sample", &req, at(2026, 5, 30, 10, 0))
        .await
        .unwrap();
    assert!(third.queued.is_empty());
    assert!(
        third
            .held
            .iter()
            .all(|h| h.reason.contains("本月已催缴 2 次")),
        "{:?}",
        third.held
    );

    // One room only, by request.
    let june = app
        .send_overdue_notices_at(
            &fin,
            "sample",
            &SendNotices {
                as_of: Some("2026-06-10".into()),
                rooms: vec![ids.room_301],
                ..Default::default()
            },
            at(2026, 6, 10, 10, 0),
        )
        .await
        .unwrap();
    assert_eq!(june.queued.len(), 1, "{june:?}");
    assert_eq!(june.queued[0].object_id, ids.room_301);
    let bad = SendNotices {
        channel: "fax".into(),
        ..Default::default()
    };
    let e = app
        .send_overdue_notices(&fin, "sample", &bad)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("channel"), "{e}");

    // Printable notices for the door: a PDF, one page or more per room,
    // each recorded; A4 or A5 only.
    let pdf = app
        .print_notices(
            &fin,
            "sample",
            &SendNotices {
                as_of: Some("2026-06-10".into()),
                ..Default::default()
            },
            "a5",
        )
        .await
        .unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let printed = app.notices(&fin, "sample", 500).await.unwrap();
    assert!(
        printed.iter().filter(|n| n.channel == "print").count() >= 3,
        "{printed:?}"
    );
    assert!(
        printed
            .iter()
            .filter(|n| n.channel == "print")
            .all(|n| n.message_id.is_none() && n.body.contains("无需提供房产证件"))
    );
    let e = app
        .print_notices(&fin, "sample", &SendNotices::default(), "80mm")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("format"), "{e}");
    assert!(
        app.print_notices(&collector, "sample", &SendNotices::default(), "a4")
            .await
            .is_err()
    );

    // Disputes: a simple log.
    let dsp = app
        .open_dispute(
            &fin,
            "sample",
            Some((ObjectKind::Room, ids.room_202)),
            "张三",
            "对二月物业费面积有异议",
        )
        .await
        .unwrap();
    assert_eq!(dsp.status, "open");
    assert!(
        app.open_dispute(&fin, "sample", None, "", "x")
            .await
            .is_err()
    );
    let closed = app
        .close_dispute(&fin, "sample", dsp.id, "复核面积无误，已解释")
        .await
        .unwrap();
    assert_eq!(closed.status, "closed");
    assert!(
        app.close_dispute(&fin, "sample", dsp.id, "again")
            .await
            .is_err()
    );
    assert_eq!(app.disputes(&fin, "sample").await.unwrap().len(), 1);
}

trait LockLen {
    fn lock_len(&self) -> usize;
}

impl LockLen for Phone {
    fn lock_len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}
