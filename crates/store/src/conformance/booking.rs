//! Conformance stories for bookings, dispatch, owner sign-in and the outbox.

use super::fixture;
use crate::*;
use doorstep_domain::booking::parse_windows;
use doorstep_domain::{
    Area, BookingRules, BookingStatus, CallOutcome, DayRule, ObjectKind, PhoneNumber, Role,
    VisitResult,
};
use jiff::civil::date;
use std::sync::Arc;

/// An owner with one room in building `b`.
pub(super) async fn owner_with_room(
    s: &Arc<dyn Store>,
    estate: i64,
    b: &str,
    n: &str,
    phone: &str,
) -> (Owner, Room) {
    let r = s
        .create_room(
            estate,
            &RoomInput {
                building: b.into(),
                entrance: String::new(),
                floor: 3,
                number: n.into(),
                area: Area::parse("80").unwrap(),
            },
        )
        .await
        .unwrap();
    let o = s
        .create_owner(
            estate,
            &OwnerInput {
                name: format!("业主{n}"),
                phones: vec![PhoneNumber::parse(phone).unwrap()],
                room_ids: vec![r.id],
                space_ids: vec![],
            },
        )
        .await
        .unwrap();
    (o, r)
}

fn window(s: &str) -> doorstep_domain::Window {
    parse_windows("w", s).unwrap()[0]
}

/// A booking for `o`'s room in the 19:00 slot of 2026-12-01 (a Tuesday).
pub(super) fn new_booking(
    e: i64,
    o: &Owner,
    room: i64,
    capacity: i64,
    call_first: bool,
) -> NewBooking {
    let starts_at = 1_796_122_800; // 2026-12-01 19:00 +08:00
    NewBooking {
        estate_id: e,
        owner_id: o.id,
        owner_name: o.name.clone(),
        phone: o.phones[0].clone(),
        contact_phone: o.phones[0].clone(),
        targets: vec![(ObjectKind::Room, room)],
        day: date(2026, 12, 1),
        slot: window("19:00-19:30"),
        window: window("19:00-21:00"),
        starts_at,
        session_at: starts_at,
        capacity,
        pays_cash: true,
        call_first,
        note: "请先打电话".into(),
        actor: Actor::Owner {
            phone: o.phones[0].clone(),
        },
        rescheduled_from: None,
        reminder: Some(NewMessage {
            estate_id: Some(e),
            channel: "sms".into(),
            recipient: o.phones[0].clone(),
            kind: "reminder".into(),
            body: "明晚19:00上门收费".into(),
            due_at: starts_at - 7200,
        }),
        now: starts_at - 86_400,
    }
}

async fn collector(s: &Arc<dyn Store>, c: i64, e: i64, name: &str) -> User {
    s.create_user(&NewUser {
        company_id: c,
        username: name.into(),
        display_name: name.into(),
        password_hash: "x".into(),
        role: Role::Collector,
        estate_ids: vec![e],
    })
    .await
    .unwrap()
}

/// Rules, day rules, duty; the lifecycle with its history; places freed on
/// cancel; reschedule; plans, locks; ownership and open-booking rules.
pub async fn bookings_follow_their_lifecycle(s: Arc<dyn Store>) {
    let (c, e, staff) = fixture(&s).await;
    // Rules: defaults until set; round trip; invalid refused.
    assert_eq!(
        s.booking_rules(e.id).await.unwrap(),
        BookingRules::default()
    );
    let rules = BookingRules {
        weekday: parse_windows("w", "18:30-20:30").unwrap(),
        visits_per_collector: 2,
        ..BookingRules::default()
    };
    s.set_booking_rules(e.id, &rules).await.unwrap();
    assert_eq!(s.booking_rules(e.id).await.unwrap(), rules);
    let bad = BookingRules {
        slot_minutes: 7,
        ..BookingRules::default()
    };
    assert!(matches!(
        s.set_booking_rules(e.id, &bad).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(s.booking_rules(e.id).await.unwrap(), rules);
    // Day rules.
    s.set_day_rule(e.id, date(2026, 10, 1), Some(&DayRule::Holiday), "国庆")
        .await
        .unwrap();
    let custom = DayRule::Custom(parse_windows("w", "18:00-19:00").unwrap());
    s.set_day_rule(e.id, date(2026, 10, 8), Some(&custom), "")
        .await
        .unwrap();
    let days = s
        .day_rules(e.id, date(2026, 10, 1), date(2026, 10, 31))
        .await
        .unwrap();
    assert_eq!(days.len(), 2);
    assert_eq!(
        days[0],
        (date(2026, 10, 1), DayRule::Holiday, "国庆".to_string())
    );
    assert_eq!(days[1].1, custom);
    s.set_day_rule(e.id, date(2026, 10, 1), None, "")
        .await
        .unwrap();
    assert_eq!(
        s.day_rules(e.id, date(2026, 10, 1), date(2026, 10, 31))
            .await
            .unwrap()
            .len(),
        1
    );
    // Duty: collectors of the estate, on by default.
    let c1 = collector(&s, c.id, e.id, "collector-a").await;
    let c2 = collector(&s, c.id, e.id, "collector-b").await;
    let day = date(2026, 12, 1);
    let duty = s.duty(e.id, day).await.unwrap();
    assert_eq!(duty.len(), 2);
    assert!(duty.iter().all(|d| d.on_duty));
    s.set_duty(e.id, day, c2.id, false).await.unwrap();
    let duty = s.duty(e.id, day).await.unwrap();
    assert_eq!(duty.iter().filter(|d| d.on_duty).count(), 1);
    assert!(
        s.duty(e.id, date(2026, 12, 2))
            .await
            .unwrap()
            .iter()
            .all(|d| d.on_duty)
    );
    assert!(matches!(
        s.set_duty(e.id, day, staff.id, true).await,
        Err(StoreError::NotFound(_))
    ));

    // A call-first booking waits for a call.
    let (o1, r1) = owner_with_room(&s, e.id, "3", "202", "13800000001").await;
    let (o2, r2) = owner_with_room(&s, e.id, "5", "101", "13800000002").await;
    let b1 = s
        .create_booking(&new_booking(e.id, &o1, r1.id, 2, true))
        .await
        .unwrap();
    assert_eq!(b1.status, BookingStatus::AwaitingCall);
    assert_eq!(b1.targets, vec![(ObjectKind::Room, r1.id)]);
    assert_eq!(b1.owner_name, o1.name);
    assert!(b1.pays_cash && b1.call_first);
    assert_eq!(b1.slot, window("19:00-19:30"));
    // The same room cannot be in two open bookings.
    let again = s
        .create_booking(&new_booking(e.id, &o1, r1.id, 5, false))
        .await;
    assert!(
        matches!(again, Err(StoreError::Conflict(ref m)) if m.contains("open booking")),
        "{again:?}"
    );
    // Somebody else's room: not found, nothing written.
    let theirs = s
        .create_booking(&new_booking(e.id, &o1, r2.id, 5, false))
        .await;
    assert!(matches!(theirs, Err(StoreError::NotFound(_))), "{theirs:?}");
    // Second place taken by o2; then the slot (capacity 2) is full.
    let b2 = s
        .create_booking(&new_booking(e.id, &o2, r2.id, 2, false))
        .await
        .unwrap();
    assert_eq!(b2.status, BookingStatus::Requested);
    let (o3, r3) = owner_with_room(&s, e.id, "6", "901", "13800000003").await;
    let full = s
        .create_booking(&new_booking(e.id, &o3, r3.id, 2, false))
        .await;
    assert!(matches!(full, Err(StoreError::SlotFull)), "{full:?}");
    let places = s
        .slot_places(e.id, b1.starts_at, b1.starts_at + 1)
        .await
        .unwrap();
    assert_eq!(places, vec![(b1.starts_at, 2)]);
    // Reminders queued for both.
    let out = s.outbox(Some("13800000001"), 10).await.unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, "reminder");
    assert_eq!(out[0].booking_id, Some(b1.id));

    // The call: no answer, then confirmed. A confirmed booking cannot be
    // "confirmed by call" again.
    let call = |outcome: CallOutcome| BookingChange {
        booking_id: b1.id,
        from: vec![BookingStatus::AwaitingCall],
        to: outcome.next_status(),
        actor: Actor::Staff { user_id: staff.id },
        detail: format!("call: {}", outcome.code()),
        call: Some(outcome),
        visit: None,
        now: b1.created_at + 60,
    };
    let b = s
        .change_booking(&call(CallOutcome::NoAnswer))
        .await
        .unwrap();
    assert_eq!(
        (b.status, b.call_attempts),
        (BookingStatus::AwaitingCall, 1)
    );
    let b = s
        .change_booking(&call(CallOutcome::Confirmed))
        .await
        .unwrap();
    assert_eq!((b.status, b.call_attempts), (BookingStatus::Confirmed, 2));
    assert!(matches!(
        s.change_booking(&call(CallOutcome::Confirmed)).await,
        Err(StoreError::Conflict(_))
    ));
    let events = s.booking_events(b1.id).await.unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[0].from, None);
    assert_eq!(
        events[0].actor,
        Actor::Owner {
            phone: "13800000001".into()
        }
    );
    assert_eq!(events[2].to, BookingStatus::Confirmed);
    assert_eq!(events[2].actor_name, staff.display_name);

    // Plan: both scheduled; an unknown booking refuses the whole plan.
    let plan = [
        Assignment {
            booking_id: b1.id,
            collector_id: c1.id,
            eta: b1.starts_at + 300,
            seq: 1,
        },
        Assignment {
            booking_id: b2.id,
            collector_id: c1.id,
            eta: b1.starts_at + 900,
            seq: 2,
        },
    ];
    let actor = Actor::Staff { user_id: staff.id };
    let bogus = [Assignment {
        booking_id: b2.id + 100,
        collector_id: c1.id,
        eta: 0,
        seq: 1,
    }];
    assert!(
        s.save_plan(&PlanUpdate {
            estate_id: e.id,
            session_at: b1.session_at,
            assignments: &bogus,
            unassigned_json: "[]",
            actor: &actor,
            force: false,
            now: 1
        })
        .await
        .is_err()
    );
    assert_eq!(
        s.booking(b2.id).await.unwrap().status,
        BookingStatus::Requested
    );
    let sess = s
        .save_plan(&PlanUpdate {
            estate_id: e.id,
            session_at: b1.session_at,
            assignments: &plan,
            unassigned_json: "[]",
            actor: &actor,
            force: false,
            now: 10,
        })
        .await
        .unwrap();
    assert_eq!(sess.planned_at, Some(10));
    let mine = s
        .bookings(&BookingQuery {
            estate_id: Some(e.id),
            collector_id: Some(c1.id),
            ..BookingQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(
        mine.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![b1.id, b2.id]
    );
    assert!(mine.iter().all(|b| b.status == BookingStatus::Scheduled));
    assert_eq!(mine[1].eta, Some(b1.starts_at + 900));
    // Locked: a new plan is refused unless forced; unlock again.
    s.lock_session(e.id, b1.session_at, staff.id, true, 20)
        .await
        .unwrap();
    let locked = s
        .save_plan(&PlanUpdate {
            estate_id: e.id,
            session_at: b1.session_at,
            assignments: &plan[..1],
            unassigned_json: "[]",
            actor: &actor,
            force: false,
            now: 30,
        })
        .await;
    assert!(matches!(locked, Err(StoreError::Conflict(ref m)) if m.contains("locked")));
    // A re-plan that leaves b2 out returns it to "requested".
    s.save_plan(&PlanUpdate {
        estate_id: e.id,
        session_at: b1.session_at,
        assignments: &plan[..1],
        unassigned_json: "[]",
        actor: &actor,
        force: true,
        now: 30,
    })
    .await
    .unwrap();
    let b2now = s.booking(b2.id).await.unwrap();
    assert_eq!(
        (b2now.status, b2now.collector_id),
        (BookingStatus::Requested, None)
    );
    let sess = s
        .dispatch_session(e.id, b1.session_at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sess.locked_by, Some(staff.id));
    s.lock_session(e.id, b1.session_at, staff.id, false, 40)
        .await
        .unwrap();
    assert!(
        s.dispatch_session(e.id, b1.session_at)
            .await
            .unwrap()
            .unwrap()
            .locked_at
            .is_none()
    );

    // Cancel b2: its place frees, its reminder is withdrawn, the room may be
    // booked again; o3 now gets the place.
    let cancel = BookingChange {
        booking_id: b2.id,
        from: vec![],
        to: BookingStatus::Cancelled,
        actor: Actor::Owner {
            phone: "13800000002".into(),
        },
        detail: "owner cancelled".into(),
        call: None,
        visit: None,
        now: 50,
    };
    s.change_booking(&cancel).await.unwrap();
    assert!(matches!(
        s.change_booking(&cancel).await,
        Err(StoreError::Conflict(_))
    ));
    let rem = s.outbox(Some("13800000002"), 10).await.unwrap();
    assert_eq!(rem[0].cancelled_at, Some(50));
    s.create_booking(&new_booking(e.id, &o3, r3.id, 2, false))
        .await
        .unwrap();
    // Reschedule b1 into 19:30: the old one says so, the new one links back.
    let mut moved = new_booking(e.id, &o1, r1.id, 2, false);
    moved.slot = window("19:30-20:00");
    moved.starts_at += 1800;
    let nb = s
        .reschedule_booking(
            b1.id,
            &[BookingStatus::Confirmed, BookingStatus::Scheduled],
            &moved,
        )
        .await
        .unwrap();
    assert_eq!(nb.rescheduled_from, Some(b1.id));
    assert_eq!(
        s.booking(b1.id).await.unwrap().status,
        BookingStatus::Rescheduled
    );
    let places = s
        .slot_places(e.id, b1.starts_at, b1.starts_at + 3600)
        .await
        .unwrap();
    assert_eq!(places, vec![(b1.starts_at, 1), (b1.starts_at + 1800, 1)]);
    // A full target slot refuses the move and changes nothing.
    let mut to_full = new_booking(e.id, &o1, r1.id, 0, false);
    to_full.slot = window("20:00-20:30");
    to_full.starts_at += 3600;
    let refused = s.reschedule_booking(nb.id, &[], &to_full).await;
    assert!(matches!(refused, Err(StoreError::SlotFull)), "{refused:?}");
    assert_eq!(
        s.booking(nb.id).await.unwrap().status,
        BookingStatus::Requested
    );
    // Visit outcome: "not paid" needs a reason.
    s.save_plan(&PlanUpdate {
        estate_id: e.id,
        session_at: nb.session_at,
        assignments: &[Assignment {
            booking_id: nb.id,
            collector_id: c1.id,
            eta: nb.starts_at,
            seq: 1,
        }],
        unassigned_json: "[]",
        actor: &actor,
        force: false,
        now: 60,
    })
    .await
    .unwrap();
    let mut visit = BookingChange {
        booking_id: nb.id,
        from: vec![BookingStatus::Scheduled],
        to: BookingStatus::Visited,
        actor: Actor::Staff { user_id: c1.id },
        detail: "visited".into(),
        call: None,
        visit: Some((VisitResult::NotPaid, " ".into())),
        now: 70,
    };
    assert!(matches!(
        s.change_booking(&visit).await,
        Err(StoreError::Invalid(_))
    ));
    visit.visit = Some((VisitResult::NotPaid, "对账单有异议".into()));
    let done = s.change_booking(&visit).await.unwrap();
    assert_eq!(done.visit_result, Some(VisitResult::NotPaid));
    assert_eq!(done.visit_reason, "对账单有异议");
    // Phone query finds the owner's whole history.
    let by_phone = s
        .bookings(&BookingQuery {
            phone: Some("13800000001".into()),
            ..BookingQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(by_phone.len(), 2);
    // Estate model round trip.
    assert_eq!(s.estate_model(e.id).await.unwrap(), None);
    s.set_estate_model(e.id, "office 0 0", 1).await.unwrap();
    assert_eq!(
        s.estate_model(e.id).await.unwrap().as_deref(),
        Some("office 0 0")
    );
}

/// Many owners book the last place of one slot at the same moment: exactly
/// one succeeds, on every backend.
pub async fn last_place_is_sold_once(s: Arc<dyn Store>) {
    let (_, e, _) = fixture(&s).await;
    let mut owners = Vec::new();
    for i in 0..34 {
        owners.push(
            owner_with_room(
                &s,
                e.id,
                "8",
                &format!("{}", 101 + i),
                &format!("139{:08}", i),
            )
            .await,
        );
    }
    // Two places of three taken already.
    for (o, r) in &owners[..2] {
        s.create_booking(&new_booking(e.id, o, r.id, 3, false))
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for (o, r) in owners[2..24].iter().cloned() {
        let s = s.clone();
        let eid = e.id;
        tasks.push(tokio::spawn(async move {
            s.create_booking(&new_booking(eid, &o, r.id, 3, false))
                .await
        }));
    }
    let mut ok = 0;
    let mut full = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::SlotFull) => full += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, full), (1, 21));
    let b = new_booking(e.id, &owners[0].0, owners[0].1.id, 3, false);
    let places = s
        .slot_places(e.id, b.starts_at, b.starts_at + 1)
        .await
        .unwrap();
    assert_eq!(places, vec![(b.starts_at, 3)]);
    let all = s
        .bookings(&BookingQuery {
            estate_id: Some(e.id),
            ..BookingQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    // A refused booking leaves nothing behind: the next one, at once, works
    // (its transaction was rolled back, not left open on the connection).
    for (i, (o, r)) in owners[24..34].iter().enumerate() {
        let full = s
            .create_booking(&new_booking(e.id, o, r.id, 3, false))
            .await;
        assert!(matches!(full, Err(StoreError::SlotFull)), "{full:?}");
        let mut later = new_booking(e.id, o, r.id, 30, false);
        later.starts_at += 1800 * (1 + i as i64 % 3);
        later.slot = window(["19:30-20:00", "20:00-20:30", "20:30-21:00"][i % 3]);
        s.create_booking(&later).await.unwrap();
    }
}
