//! Conformance stories for overdue notices and disputes.

use super::billed_estate;
use crate::*;
use doorstep_domain::{Fen, ObjectKind};
use std::sync::Arc;

/// A notice and its outbox message are written together; one notice per
/// room/space, channel and recipient per local day even when staff race;
/// settings are checked; disputes open and close once.
pub async fn notices_once_a_day_with_their_message(s: Arc<dyn Store>) {
    let (e, fin, room, _) = billed_estate(&s).await;
    assert_eq!(
        s.notice_settings(e.id).await.unwrap(),
        NoticeSettings::default()
    );
    let bad = NoticeSettings {
        quiet_until: "8am".into(),
        ..Default::default()
    };
    assert!(matches!(
        s.set_notice_settings(e.id, &bad).await,
        Err(StoreError::Invalid(_))
    ));
    let good = NoticeSettings {
        contract_basis: "《物业服务合同》第十二条".into(),
        min_days: 10,
        ..Default::default()
    };
    s.set_notice_settings(e.id, &good).await.unwrap();
    assert_eq!(s.notice_settings(e.id).await.unwrap(), good);
    let n = |day: &str| NewNotice {
        estate_id: e.id,
        object: (ObjectKind::Room, room.id),
        channel: "sms".into(),
        recipient: "13812345678".into(),
        body: "尊敬的业主您好".into(),
        amount: Fen(12_345),
        local_day: day.into(),
        created_by: Some(fin.id),
        at: 1_000,
        due_at: 1_000,
        queue: true,
    };
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let s = s.clone();
        let x = n("2026-05-20");
        tasks.push(tokio::spawn(async move { s.record_notice(&x).await }));
    }
    let mut ok = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(x) => ok.push(x),
            Err(StoreError::Conflict(m)) => assert!(m.contains("today"), "{m}"),
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(ok.len(), 1, "one notice a day");
    let first = &ok[0];
    let mid = first.message_id.unwrap();
    let msgs = s.outbox(Some("13812345678"), 10).await.unwrap();
    assert_eq!(msgs.len(), 1, "one message for the one notice");
    assert_eq!((msgs[0].id, msgs[0].kind.as_str()), (mid, "overdue"));
    // Another day, and a printed notice the same day, are fine.
    s.record_notice(&n("2026-05-27")).await.unwrap();
    let printed = s
        .record_notice(&NewNotice {
            channel: "print".into(),
            recipient: "print".into(),
            queue: false,
            ..n("2026-05-20")
        })
        .await
        .unwrap();
    assert_eq!(printed.message_id, None);
    assert!(matches!(
        s.record_notice(&NewNotice {
            channel: "fax".into(),
            ..n("2026-06-01")
        })
        .await,
        Err(StoreError::Invalid(_))
    ));
    let list = s
        .notices(e.id, Some((ObjectKind::Room, room.id)), 10)
        .await
        .unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0].id, printed.id, "newest first");
    assert!(s.claim_message(mid, 2_000).await.unwrap());
    let after = s.notices(e.id, None, 10).await.unwrap();
    assert_eq!(
        after.iter().find(|x| x.id == first.id).unwrap().sent_at,
        Some(2_000),
        "delivered when the gateway took it"
    );

    let d = s
        .open_dispute(
            e.id,
            Some((ObjectKind::Room, room.id)),
            "张三",
            "面积有误",
            Some(fin.id),
            5,
        )
        .await
        .unwrap();
    assert_eq!(d.object, Some(("room".to_string(), room.id)));
    assert!(matches!(
        s.open_dispute(e.id, None, " ", "x", None, 5).await,
        Err(StoreError::Invalid(_))
    ));
    let c = s.close_dispute(d.id, "已复核", 9).await.unwrap();
    assert_eq!((c.status.as_str(), c.closed_at), ("closed", Some(9)));
    assert!(matches!(
        s.close_dispute(d.id, "again", 10).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.disputes(e.id).await.unwrap().len(), 1);
}
