//! Cash custody (issue 14): a handover whose count differs needs a reason,
//! the collector's answer and a third person's approval, and waits in
//! suspense until then; a void after a handover takes the money from where
//! it is now (never the collector's cash), reopens the collection as a
//! follow-up linked to the void, marks the booking and texts the owner; the
//! ledger check names negative cash and everything still open.

use super::booking::{new_booking, owner_with_room};
use super::*;
use doorstep_domain::DomainError;

async fn user(s: &Arc<dyn Store>, company: i64, estate: i64, name: &str, role: Role) -> User {
    s.create_user(&NewUser {
        company_id: company,
        username: name.into(),
        display_name: name.to_string(),
        password_hash: "x".into(),
        role,
        estate_ids: vec![estate],
    })
    .await
    .unwrap()
}

fn cash(
    e: &Estate,
    objects: &[(ObjectKind, i64)],
    amount: i64,
    key: &str,
    at: i64,
    by: i64,
    booking: Option<i64>,
) -> NewPayment {
    NewPayment {
        estate_id: e.id,
        objects: objects.to_vec(),
        line_ids: vec![],
        amount: Fen(amount),
        method: "cash".into(),
        paid_on: date(2026, 2, 15),
        at,
        recorded_by: Some(by),
        idempotency_key: Some(key.into()),
        booking_id: booking,
        offline: false,
        only_due_now: false,
    }
}

async fn balance(s: &Arc<dyn Store>, account: String) -> Fen {
    s.account_balance(&account).await.unwrap()
}

async fn ledger_ok(s: &Arc<dyn Store>) -> LedgerReport {
    let r = check_ledger(s.as_ref(), None).await.unwrap();
    assert!(r.ok(), "ledger problems: {:#?}", r.problems);
    r
}

/// A short count: refused without a reason (nothing written); with one the
/// cash goes to the safe and the shortage to suspense, pending; only the
/// collector answers; neither the counter nor the collector approves (code
/// and CHECK); a third finance user's approval moves it to over/short.
pub async fn handover_differences_need_a_second_person(s: Arc<dyn Store>) {
    let (e, counter, room, sp) = billed_estate(&s).await;
    bill(&s, e.id, Period::parse("2026-01").unwrap()).await;
    bill(&s, e.id, Period::parse("2026-02").unwrap()).await;
    let objects = [(ObjectKind::Room, room.id), (ObjectKind::Space, sp.id)];
    let c = user(&s, e.company_id, e.id, "c1", Role::Collector).await;
    let other = user(&s, e.company_id, e.id, "c2", Role::Collector).await;
    let approver = user(&s, e.company_id, e.id, "fin2", Role::Finance).await;
    let shift = s.open_shift(e.id, c.id, 100).await.unwrap();
    s.record_payment(&cash(&e, &objects, 39_172, "k1", 110, c.id, None))
        .await
        .unwrap();
    s.close_shift(shift.id, 150).await.unwrap();
    let entries = s.journal(Some(e.id)).await.unwrap().len();

    // No reason: refused, naming the field; nothing changed.
    match s
        .submit_handover(shift.id, Fen(39_000), counter.id, "  ", 160)
        .await
    {
        Err(StoreError::Invalid(DomainError::Invalid { field, .. })) => assert_eq!(field, "reason"),
        other => panic!("expected a refusal naming the reason, got {other:?}"),
    }
    assert_eq!(s.shift(shift.id).await.unwrap().status, "closed");
    assert_eq!(s.journal(Some(e.id)).await.unwrap().len(), entries);
    assert_eq!(balance(&s, format!("cash:{}", c.id)).await, Fen(39_172));
    assert!(
        s.handover_differences(e.id, false)
            .await
            .unwrap()
            .is_empty()
    );

    // With a reason: handed over, the difference pending in suspense.
    let h = s
        .submit_handover(shift.id, Fen(39_000), counter.id, "少1.72元", 161)
        .await
        .unwrap();
    assert_eq!(h.status, "handed_over");
    assert_eq!(h.difference(), Some(Fen(-172)));
    assert_eq!(balance(&s, format!("cash:{}", c.id)).await, Fen(0));
    assert_eq!(balance(&s, format!("safe:{}", e.id)).await, Fen(39_000));
    assert_eq!(
        balance(&s, format!("handover_suspense:{}", e.id)).await,
        Fen(172)
    );
    assert_eq!(balance(&s, format!("over_short:{}", e.id)).await, Fen(0));
    let pending = s.handover_differences(e.id, true).await.unwrap();
    assert_eq!(pending.len(), 1);
    let d = &pending[0];
    assert_eq!(
        (
            d.shift_id,
            d.status.as_str(),
            d.reason.as_str(),
            d.response.clone()
        ),
        (shift.id, "pending", "少1.72元", None)
    );
    assert_eq!((d.expected, d.counted), (Fen(39_172), Fen(39_000)));
    let open = s.open_custody(Some(e.id)).await.unwrap();
    assert!(
        open.iter()
            .any(|i| i.kind == "pending_difference" && i.id == shift.id),
        "{open:?}"
    );
    let report = ledger_ok(&s).await;
    assert!(
        report.open.iter().any(|o| o.contains("not approved")),
        "{report:?}"
    );

    // Not before the collector has answered.
    assert!(matches!(
        s.approve_difference(e.id, shift.id, approver.id, 170).await,
        Err(StoreError::Conflict(_))
    ));
    // Only the collector answers; a dispute needs a note; another estate's
    // id finds nothing.
    assert!(matches!(
        s.respond_to_difference(e.id, shift.id, other.id, false, "", 171)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.respond_to_difference(e.id + 1000, shift.id, c.id, false, "", 171)
            .await,
        Err(StoreError::NotFound(_))
    ));
    match s
        .respond_to_difference(e.id, shift.id, c.id, true, " ", 172)
        .await
    {
        Err(StoreError::Invalid(DomainError::Invalid { field, .. })) => assert_eq!(field, "note"),
        other => panic!("expected a refusal naming the note, got {other:?}"),
    }
    let d = s
        .respond_to_difference(e.id, shift.id, c.id, true, "我数的是391.72", 173)
        .await
        .unwrap();
    assert_eq!(d.response.as_deref(), Some("dispute"));
    let d = s
        .respond_to_difference(e.id, shift.id, c.id, false, "", 174)
        .await
        .unwrap();
    assert_eq!(
        (d.response.as_deref(), d.responded_at),
        (Some("ack"), Some(174))
    );

    // Neither the counter nor the collector approves.
    for who in [counter.id, c.id] {
        assert!(matches!(
            s.approve_difference(e.id, shift.id, who, 180).await,
            Err(StoreError::Conflict(_))
        ));
    }
    assert_eq!(
        s.handover_difference(e.id, shift.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        "pending"
    );
    let d = s
        .approve_difference(e.id, shift.id, approver.id, 181)
        .await
        .unwrap();
    assert_eq!(
        (d.status.as_str(), d.approved_by, d.approved_at),
        ("approved", Some(approver.id), Some(181))
    );
    assert!(d.approval_entry_id.is_some());
    assert_eq!(
        balance(&s, format!("handover_suspense:{}", e.id)).await,
        Fen(0)
    );
    assert_eq!(balance(&s, format!("over_short:{}", e.id)).await, Fen(172));
    assert!(matches!(
        s.approve_difference(e.id, shift.id, approver.id, 182).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.respond_to_difference(e.id, shift.id, c.id, false, "", 183)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(s.handover_differences(e.id, true).await.unwrap().is_empty());
    assert!(s.open_custody(Some(e.id)).await.unwrap().is_empty());
    let report = ledger_ok(&s).await;
    assert!(report.open.is_empty(), "{report:?}");

    // An overage waits in suspense as a credit and is approved into
    // over/short the other way; an exact count needs nothing.
    let shift = s.open_shift(e.id, c.id, 200).await.unwrap();
    s.record_payment(&cash(&e, &objects, 10_000, "k2", 210, c.id, None))
        .await
        .unwrap();
    s.close_shift(shift.id, 220).await.unwrap();
    s.submit_handover(shift.id, Fen(10_050), counter.id, "多5角", 230)
        .await
        .unwrap();
    assert_eq!(
        balance(&s, format!("handover_suspense:{}", e.id)).await,
        Fen(-50)
    );
    s.respond_to_difference(e.id, shift.id, c.id, false, "", 231)
        .await
        .unwrap();
    s.approve_difference(e.id, shift.id, approver.id, 232)
        .await
        .unwrap();
    assert_eq!(
        balance(&s, format!("handover_suspense:{}", e.id)).await,
        Fen(0)
    );
    assert_eq!(balance(&s, format!("over_short:{}", e.id)).await, Fen(122));
    let shift = s.open_shift(e.id, c.id, 300).await.unwrap();
    s.record_payment(&cash(&e, &objects, 1_000, "k3", 310, c.id, None))
        .await
        .unwrap();
    s.close_shift(shift.id, 320).await.unwrap();
    s.submit_handover(shift.id, Fen(1_000), counter.id, "", 330)
        .await
        .unwrap();
    assert!(
        s.handover_difference(e.id, shift.id)
            .await
            .unwrap()
            .is_none()
    );
    ledger_ok(&s).await;
}

/// A void approved after the shift was handed over takes the money from the
/// safe (the collector's cash stays at zero, never negative), or from the
/// shortage it explains; the lines are owed again, the follow-up is linked
/// to the void and its booking, the booking's history says so and the
/// owner's SMS sits in the outbox — all in the void's transaction.
pub async fn a_void_after_handover_leaves_no_negative_cash(s: Arc<dyn Store>) {
    let (e, counter, _, _) = billed_estate(&s).await;
    let (o, room) = owner_with_room(&s, e.id, "7", "701", "13800000071").await;
    bill(&s, e.id, Period::parse("2026-01").unwrap()).await;
    bill(&s, e.id, Period::parse("2026-02").unwrap()).await;
    let b = s
        .create_booking(&new_booking(e.id, &o, room.id, 5, false))
        .await
        .unwrap();
    let c = user(&s, e.company_id, e.id, "c1", Role::Collector).await;
    let approver = user(&s, e.company_id, e.id, "fin2", Role::Finance).await;
    let cash_acct = format!("cash:{}", c.id);
    let safe = format!("safe:{}", e.id);

    let shift = s.open_shift(e.id, c.id, 100).await.unwrap();
    let p = s
        .record_payment(&cash(
            &e,
            &[(ObjectKind::Room, room.id)],
            19_553,
            "v1",
            110,
            c.id,
            Some(b.id),
        ))
        .await
        .unwrap();
    s.close_shift(shift.id, 120).await.unwrap();
    s.submit_handover(shift.id, Fen(19_553), counter.id, "", 130)
        .await
        .unwrap();
    assert_eq!(balance(&s, cash_acct.clone()).await, Fen(0));
    assert_eq!(balance(&s, safe.clone()).await, Fen(19_553));
    let outbox_before = s.outbox(Some("13800000071"), 100).await.unwrap().len();

    let r = s
        .request_reversal(p.id, "void", "重复录入", c.id, 140)
        .await
        .unwrap();
    let done = s
        .decide_reversal(r.id, true, counter.id, None, 150)
        .await
        .unwrap();
    assert_eq!(done.status, "done");
    assert_eq!(
        balance(&s, cash_acct.clone()).await,
        Fen(0),
        "never the collector's cash after a handover"
    );
    assert_eq!(balance(&s, safe.clone()).await, Fen(0));
    assert!(s.cash_holdings(e.id).await.unwrap().is_empty());
    let report = ledger_ok(&s).await;
    assert!(
        !report.problems.iter().any(|p| p.contains("negative")),
        "{report:?}"
    );

    // The follow-up, linked to the void and the visit, with what is owed.
    let tasks = s.recollections(e.id).await.unwrap();
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let t = &tasks[0];
    assert_eq!(
        (t.reversal_id, t.payment_id, t.booking_id, t.amount),
        (r.id, p.id, Some(b.id), Fen(19_553))
    );
    assert_eq!(t.taken_from, safe);
    // The January line it paid is owed in full again.
    assert_eq!(t.still_owed, Fen(20_000), "{t:?}");
    assert_eq!(t.owners_told, 1);
    let events = s.booking_events(b.id).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.detail, format!("void {}: to collect again", r.id));
    assert_eq!(last.to, b.status);
    let sms = s.outbox(Some("13800000071"), 100).await.unwrap();
    assert_eq!(sms.len(), outbox_before + 1, "{sms:?}");
    let m = sms.iter().find(|m| m.kind == "void_notice").unwrap();
    assert_eq!((m.channel.as_str(), m.booking_id), ("sms", Some(b.id)));
    assert!(
        m.body.contains("195.53") && m.body.contains("作废"),
        "{m:?}"
    );

    // A void that explains a shortage still pending: it comes out of
    // suspense, and the approval moves only what is left.
    let shift = s.open_shift(e.id, c.id, 200).await.unwrap();
    s.record_payment(&cash(
        &e,
        &[(ObjectKind::Room, room.id)],
        10_000,
        "v2",
        210,
        c.id,
        None,
    ))
    .await
    .unwrap();
    let twice = s
        .record_payment(&cash(
            &e,
            &[(ObjectKind::Room, room.id)],
            3_000,
            "v3",
            211,
            c.id,
            None,
        ))
        .await
        .unwrap();
    s.close_shift(shift.id, 220).await.unwrap();
    s.submit_handover(shift.id, Fen(9_000), counter.id, "少40元", 230)
        .await
        .unwrap();
    let r = s
        .request_reversal(twice.id, "void", "录了两次", c.id, 240)
        .await
        .unwrap();
    s.decide_reversal(r.id, true, counter.id, None, 241)
        .await
        .unwrap();
    let d = s
        .handover_difference(e.id, shift.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((d.offset, d.status.as_str()), (Fen(3_000), "pending"));
    assert_eq!(
        balance(&s, format!("handover_suspense:{}", e.id)).await,
        Fen(1_000)
    );
    assert_eq!(balance(&s, safe.clone()).await, Fen(9_000));
    assert_eq!(balance(&s, cash_acct.clone()).await, Fen(0));
    s.respond_to_difference(e.id, shift.id, c.id, false, "", 250)
        .await
        .unwrap();
    s.approve_difference(e.id, shift.id, approver.id, 251)
        .await
        .unwrap();
    assert_eq!(
        balance(&s, format!("handover_suspense:{}", e.id)).await,
        Fen(0)
    );
    assert_eq!(
        balance(&s, format!("over_short:{}", e.id)).await,
        Fen(1_000)
    );

    // Before a handover, a void still comes out of the collector's cash.
    let shift = s.open_shift(e.id, c.id, 300).await.unwrap();
    let p = s
        .record_payment(&cash(
            &e,
            &[(ObjectKind::Room, room.id)],
            500,
            "v4",
            310,
            c.id,
            None,
        ))
        .await
        .unwrap();
    let r = s
        .request_reversal(p.id, "void", "录错", c.id, 320)
        .await
        .unwrap();
    s.decide_reversal(r.id, true, counter.id, None, 321)
        .await
        .unwrap();
    assert_eq!(balance(&s, cash_acct.clone()).await, Fen(0));
    let t = s.recollections(e.id).await.unwrap();
    assert_eq!(t[0].taken_from, cash_acct);
    s.close_shift(shift.id, 330).await.unwrap();
    ledger_ok(&s).await;
}
