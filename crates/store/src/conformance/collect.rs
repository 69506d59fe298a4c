//! Conformance stories for collecting at the door: provider orders hold
//! their lines, one payment per provider transaction, the journal balances
//! through payments, waivers, voids and handovers, job leases.

use super::{bill, billed_estate};
use crate::*;
use doorstep_domain::{Fen, ObjectKind, Period, Role};
use jiff::civil::date;
use std::sync::Arc;

async fn collector(s: &Arc<dyn Store>, company: i64, estate: i64, name: &str) -> User {
    s.create_user(&NewUser {
        company_id: company,
        username: name.into(),
        display_name: format!("收费员{name}"),
        password_hash: "x".into(),
        role: Role::Collector,
        estate_ids: vec![estate],
    })
    .await
    .unwrap()
}

async fn merchant(s: &Arc<dyn Store>, company: i64) -> Merchant {
    s.set_merchant(&NewMerchant {
        company_id: company,
        estate_scope: 0,
        provider: "wechat".into(),
        merchant_id: "1230000109".into(),
        app_id: "wxd678efh567hg6787".into(),
        settings: "{}".into(),
        at: 1,
    })
    .await
    .unwrap()
}

fn qr(
    estate: i64,
    collector: i64,
    m: i64,
    no: &str,
    amount: i64,
    lines: Vec<i64>,
) -> NewCollection {
    NewCollection {
        estate_id: estate,
        booking_id: None,
        collector_id: collector,
        method: "wechat_qr".into(),
        merchant_ref: m,
        out_trade_no: no.into(),
        amount: Fen(amount),
        line_ids: lines,
        on: date(2026, 2, 15),
        expires_at: 1000,
        client_key: None,
        at: 10,
    }
}

async fn assert_ledger_ok(s: &Arc<dyn Store>) -> LedgerReport {
    let r = check_ledger(s.as_ref(), None).await.unwrap();
    assert!(r.ok(), "ledger problems: {:#?}", r.problems);
    r
}

/// An open order holds its lines: a second order or a cash payment for them
/// is refused until it closes; the provider's word is recorded once
/// however often it comes; a wrong amount records nothing.
pub async fn collections_hold_lines_and_pay_once(s: Arc<dyn Store>) {
    let (e, fin, _, sp) = billed_estate(&s).await;
    bill(&s, e.id, Period::parse("2026-01").unwrap()).await;
    let c = collector(&s, e.company_id, e.id, "c1").await;
    let m = merchant(&s, e.company_id).await;
    assert_eq!(
        s.merchant_for(e.company_id, e.id, "wechat")
            .await
            .unwrap()
            .map(|x| x.id),
        Some(m.id)
    );
    let lines = s
        .bill_lines(&LineQuery {
            estate_id: e.id,
            open_only: true,
            objects: vec![(ObjectKind::Space, sp.id)],
            line_ids: vec![],
            period: None,
        })
        .await
        .unwrap();
    let line = lines[0].id;
    // 300.00 principal + 4.65 late fee as of 2026-02-15.
    let too_much = s
        .open_collection(&qr(e.id, c.id, m.id, "DS0000000001", 30466, vec![line]))
        .await;
    assert!(
        matches!(too_much, Err(StoreError::Conflict(_))),
        "{too_much:?}"
    );
    let open = s
        .open_collection(&qr(e.id, c.id, m.id, "DS0000000001", 30465, vec![line]))
        .await
        .unwrap();
    assert_eq!(open.status, "open");
    let second = s
        .open_collection(&qr(e.id, c.id, m.id, "DS0000000002", 100, vec![line]))
        .await;
    assert!(matches!(second, Err(StoreError::Conflict(_))), "{second:?}");
    let cash = s
        .record_payment(&NewPayment {
            estate_id: e.id,
            objects: vec![],
            line_ids: vec![line],
            amount: Fen(100),
            method: "cash".into(),
            paid_on: date(2026, 2, 15),
            at: 11,
            recorded_by: Some(c.id),
            idempotency_key: None,
            booking_id: None,
            offline: false,
            only_due_now: false,
        })
        .await;
    assert!(
        matches!(cash, Err(StoreError::Conflict(ref m)) if m.contains("open")),
        "{cash:?}"
    );

    let done = |amount: i64, txn: &str| CompleteCollection {
        out_trade_no: "DS0000000001".into(),
        transaction_id: txn.into(),
        amount: Fen(amount),
        paid_on: date(2026, 2, 15),
        at: 20,
    };
    let wrong = s.complete_collection(&done(30400, "4200000001")).await;
    assert!(matches!(wrong, Err(StoreError::Conflict(_))), "{wrong:?}");
    assert_eq!(s.collection(open.id).await.unwrap().status, "open");
    // The provider repeats itself, concurrently: one payment.
    let runs = (0..6).map(|_| {
        let s = s.clone();
        let d = done(30465, "4200000001");
        tokio::spawn(async move { s.complete_collection(&d).await })
    });
    let mut ids = Vec::new();
    for r in runs {
        let r = r.await.unwrap().unwrap();
        assert_eq!(r.collection.status, "paid");
        ids.push(r.payment.id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one payment for one transaction");
    let other = s.complete_collection(&done(30465, "4200000009")).await;
    assert!(matches!(other, Err(StoreError::Conflict(_))), "{other:?}");
    assert_eq!(
        s.bill_line(e.id, line).await.unwrap().status,
        LineStatus::Paid
    );
    let facts = s.payment_facts(Some(e.id)).await.unwrap();
    assert_eq!(facts.len(), 1);
    // The money is in WeChat's clearing account for the merchant.
    assert_eq!(
        s.account_balance("clearing:wechat:1230000109")
            .await
            .unwrap(),
        Fen(30465)
    );
    // Closing a paid order does nothing; closing an open one frees its lines.
    assert!(
        !s.close_collection(open.id, "closed", "late", 30)
            .await
            .unwrap()
    );
    bill(&s, e.id, Period::parse("2026-02").unwrap()).await;
    let feb = s
        .bill_lines(&LineQuery {
            estate_id: e.id,
            open_only: true,
            objects: vec![(ObjectKind::Space, sp.id)],
            line_ids: vec![],
            period: None,
        })
        .await
        .unwrap()[0]
        .id;
    let o2 = s
        .open_collection(&NewCollection {
            client_key: Some("k-2".into()),
            ..qr(e.id, c.id, m.id, "DS0000000003", 1000, vec![feb])
        })
        .await
        .unwrap();
    let again = s
        .open_collection(&NewCollection {
            client_key: Some("k-2".into()),
            ..qr(e.id, c.id, m.id, "DS0000000004", 1000, vec![feb])
        })
        .await
        .unwrap();
    assert_eq!(again.id, o2.id, "the same client key opens once");
    assert!(
        s.close_collection(o2.id, "closed", "expired", 40)
            .await
            .unwrap()
    );
    assert_eq!(s.open_collections(10).await.unwrap().len(), 0);
    s.record_payment(&NewPayment {
        estate_id: e.id,
        objects: vec![],
        line_ids: vec![feb],
        amount: Fen(1000),
        method: "cash".into(),
        paid_on: date(2026, 2, 15),
        at: 41,
        recorded_by: Some(c.id),
        idempotency_key: None,
        booking_id: None,
        offline: false,
        only_due_now: false,
    })
    .await
    .unwrap();
    let _ = fin;
    assert_ledger_ok(&s).await;
}

/// Only one of two collectors racing for the same line gets to hold it.
pub async fn racing_collectors_hold_a_line_once(s: Arc<dyn Store>) {
    let (e, _, _, sp) = billed_estate(&s).await;
    bill(&s, e.id, Period::parse("2026-01").unwrap()).await;
    let m = merchant(&s, e.company_id).await;
    let c1 = collector(&s, e.company_id, e.id, "c1").await;
    let line = s
        .bill_lines(&LineQuery {
            estate_id: e.id,
            open_only: true,
            objects: vec![(ObjectKind::Space, sp.id)],
            line_ids: vec![],
            period: None,
        })
        .await
        .unwrap()[0]
        .id;
    let tasks = (0..8).map(|i| {
        let s = s.clone();
        let c = qr(e.id, c1.id, m.id, &format!("DSRACE{i:06}"), 100, vec![line]);
        tokio::spawn(async move { s.open_collection(&c).await })
    });
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won, 1);
}

/// A payment that pays only what is due now picks those lines itself, in
/// its transaction, by the one definition (`BillLine::due`): bills not yet
/// due are left alone, and it says what those lines still owe.
pub async fn only_what_is_due_now_is_paid(s: Arc<dyn Store>) {
    let (e, _fin, room, _sp) = billed_estate(&s).await;
    bill(&s, e.id, Period::parse("2026-01").unwrap()).await;
    bill(&s, e.id, Period::parse("2026-06").unwrap()).await;
    let q = LineQuery {
        estate_id: e.id,
        open_only: true,
        objects: vec![(ObjectKind::Room, room.id)],
        line_ids: vec![],
        period: None,
    };
    let before = s.bill_lines(&q).await.unwrap();
    let on = before.iter().map(|l| l.due_date).min().unwrap();
    let (due, later): (Vec<_>, Vec<_>) = before.iter().partition(|l| l.due(on).due_now);
    assert!(!due.is_empty() && !later.is_empty(), "{before:?}");
    let owed: Fen = due.iter().map(|l| l.due(on).total()).sum();
    let pay = |amount: Fen, key: &str| NewPayment {
        estate_id: e.id,
        objects: vec![(ObjectKind::Room, room.id)],
        line_ids: vec![],
        amount,
        method: "cash".into(),
        paid_on: on,
        at: 100,
        recorded_by: None,
        idempotency_key: Some(key.into()),
        booking_id: None,
        offline: false,
        only_due_now: true,
    };
    let p = s
        .record_payment(&pay(owed - Fen(100), "due-1"))
        .await
        .unwrap();
    assert_eq!(p.still_due_now, Some(Fen(100)));
    assert!(
        p.allocation
            .iter()
            .all(|a| due.iter().any(|l| l.id == a.line_id)),
        "{p:?}"
    );
    // The rest of what is due: nothing is left due now.
    let p2 = s.record_payment(&pay(Fen(100), "due-2")).await.unwrap();
    assert_eq!(p2.still_due_now, Some(Fen::ZERO));
    // More, with nothing due now: refused (or kept as an advance where the
    // estate takes prepayments), never put on a bill not yet due.
    match s.record_payment(&pay(Fen(5000), "due-3")).await {
        Err(StoreError::Conflict(_)) => {}
        Ok(p) => assert!(p.allocation.is_empty(), "{p:?}"),
        Err(e) => panic!("{e}"),
    }
    let after = s.bill_lines(&q).await.unwrap();
    for l in &later {
        let now = after.iter().find(|x| x.id == l.id).unwrap();
        assert_eq!(now.paid_principal, Fen::ZERO, "a bill not yet due was paid");
    }
    // The same key again: the payment it recorded.
    let again = s.record_payment(&pay(Fen(100), "due-2")).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.id, p2.id);
    assert_ledger_ok(&s).await;
}

/// Cash, a waiver, a void with a second person's approval, a shift and a
/// blind handover with a shortfall: every entry balances, receivables match
/// the bills, the journal cannot be edited.
pub async fn ledger_balances_through_cash_custody(s: Arc<dyn Store>) {
    let (e, fin, room, sp) = billed_estate(&s).await;
    bill(&s, e.id, Period::parse("2026-01").unwrap()).await;
    bill(&s, e.id, Period::parse("2026-02").unwrap()).await;
    let c = collector(&s, e.company_id, e.id, "c1").await;
    let shift = s.open_shift(e.id, c.id, 100).await.unwrap();
    assert!(matches!(
        s.open_shift(e.id, c.id, 101).await,
        Err(StoreError::Conflict(_))
    ));
    let pay = |amount: i64, key: &str| NewPayment {
        estate_id: e.id,
        objects: vec![(ObjectKind::Space, sp.id), (ObjectKind::Room, room.id)],
        line_ids: vec![],
        amount: Fen(amount),
        method: "cash".into(),
        paid_on: date(2026, 2, 15),
        at: 110,
        recorded_by: Some(c.id),
        idempotency_key: Some(key.into()),
        booking_id: None,
        offline: true,
        only_due_now: false,
    };
    let p1 = s.record_payment(&pay(40000, "cash-1")).await.unwrap();
    let p2 = s.record_payment(&pay(5000, "cash-2")).await.unwrap();
    assert_eq!(
        s.account_balance(&format!("cash:{}", c.id)).await.unwrap(),
        Fen(45000)
    );
    let holdings = s.cash_holdings(e.id).await.unwrap();
    assert_eq!(holdings.len(), 1);
    assert_eq!(
        (holdings[0].amount, holdings[0].oldest_at),
        (Fen(45000), Some(110))
    );

    // A waiver posts the rest of a line off the receivable (the other room's).
    let other_room = s
        .bill_lines(&LineQuery {
            estate_id: e.id,
            open_only: true,
            objects: vec![],
            line_ids: vec![],
            period: None,
        })
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.object_kind == ObjectKind::Room && l.object_id != room.id)
        .unwrap();
    s.waive_line(
        e.id,
        other_room.id,
        &StaffAct {
            user_id: fin.id,
            reason: "维修期间减免".into(),
            at: 120,
        },
    )
    .await
    .unwrap();

    // A void: asked by the collector, refused to the same person, approved by finance.
    let r = s
        .request_reversal(p2.id, "void", "录错金额", c.id, 130)
        .await
        .unwrap();
    assert!(matches!(
        s.request_reversal(p2.id, "void", "again", c.id, 131).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.request_reversal(p1.id, "refund", "no provider", c.id, 131)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.decide_reversal(r.id, true, c.id, None, 132).await,
        Err(StoreError::Conflict(_))
    ));
    let done = s
        .decide_reversal(r.id, true, fin.id, None, 133)
        .await
        .unwrap();
    assert_eq!(done.status, "done");
    assert!(done.entry_id.is_some());
    assert_eq!(
        s.account_balance(&format!("cash:{}", c.id)).await.unwrap(),
        Fen(40000)
    );
    let facts = s.payment_facts(Some(e.id)).await.unwrap();
    assert_eq!(
        facts.iter().map(|f| f.status.as_str()).collect::<Vec<_>>(),
        ["posted", "voided"]
    );

    // Handover: only a closed shift, counted by someone else; 399.50 counted.
    assert!(matches!(
        s.submit_handover(shift.id, Fen(39950), fin.id, "", 140)
            .await,
        Err(StoreError::Conflict(_))
    ));
    s.close_shift(shift.id, 150).await.unwrap();
    assert!(matches!(
        s.submit_handover(shift.id, Fen(39950), c.id, "", 151).await,
        Err(StoreError::Conflict(_))
    ));
    let h = s
        .submit_handover(shift.id, Fen(39950), fin.id, "少50元", 152)
        .await
        .unwrap();
    assert_eq!(h.status, "handed_over");
    assert_eq!(
        (h.expected, h.counted, h.difference()),
        (Some(Fen(40000)), Some(Fen(39950)), Some(Fen(-50)))
    );
    assert_eq!(
        s.account_balance(&format!("cash:{}", c.id)).await.unwrap(),
        Fen(0)
    );
    assert_eq!(
        s.account_balance(&format!("safe:{}", e.id)).await.unwrap(),
        Fen(39950)
    );
    // The shortage waits in suspense until approved (see the custody story).
    assert_eq!(
        s.account_balance(&format!("handover_suspense:{}", e.id))
            .await
            .unwrap(),
        Fen(50)
    );
    assert_eq!(
        s.account_balance(&format!("over_short:{}", e.id))
            .await
            .unwrap(),
        Fen(0)
    );
    assert!(s.cash_holdings(e.id).await.unwrap().is_empty());
    let report = assert_ledger_ok(&s).await;
    assert!(report.entries >= 6, "{report:?}");

    s.daily_close(e.id, date(2026, 2, 15), fin.id, "{}", 160)
        .await
        .unwrap();
    assert!(matches!(
        s.daily_close(e.id, date(2026, 2, 15), fin.id, "{}", 161)
            .await,
        Err(StoreError::Conflict(_))
    ));
}

/// A job lease is held by one instance until it expires or is given back.
pub async fn job_leases_expire(s: Arc<dyn Store>) {
    assert!(s.claim_job("poller", "a", 100, 30).await.unwrap());
    assert!(!s.claim_job("poller", "b", 110, 30).await.unwrap());
    assert!(
        s.claim_job("poller", "a", 120, 30).await.unwrap(),
        "the holder renews"
    );
    assert!(!s.claim_job("poller", "b", 149, 30).await.unwrap());
    assert!(
        s.claim_job("poller", "b", 150, 30).await.unwrap(),
        "an expired lease is taken over"
    );
    s.release_job("poller", "a").await.unwrap();
    assert!(
        !s.claim_job("poller", "a", 151, 30).await.unwrap(),
        "only the holder releases"
    );
    s.release_job("poller", "b").await.unwrap();
    assert!(s.claim_job("poller", "a", 152, 30).await.unwrap());
}

/// Cash at a visit needs the collector's shift, checked in the payment's
/// transaction: refused (nothing written) with no shift open; once the
/// shift closes, only cash taken offline while it was open still lands in
/// it, and not after its count; a close racing payments lets none past it.
pub async fn cash_at_a_visit_needs_a_shift(s: Arc<dyn Store>) {
    use super::booking::{new_booking, owner_with_room};
    let (e, fin, _, _) = billed_estate(&s).await;
    let (o, room) = owner_with_room(&s, e.id, "7", "701", "13800000071").await;
    bill(&s, e.id, Period::parse("2026-01").unwrap()).await;
    let b = s
        .create_booking(&new_booking(e.id, &o, room.id, 5, false))
        .await
        .unwrap();
    let c = collector(&s, e.company_id, e.id, "c1").await;
    let cash = format!("cash:{}", c.id);
    let pay = |amount: i64, key: &str, at: i64, offline: bool| NewPayment {
        estate_id: e.id,
        objects: vec![(ObjectKind::Room, room.id)],
        line_ids: vec![],
        amount: Fen(amount),
        method: "cash".into(),
        paid_on: date(2026, 2, 15),
        at,
        recorded_by: Some(c.id),
        idempotency_key: Some(key.into()),
        booking_id: Some(b.id),
        offline,
        only_due_now: false,
    };
    let refused = |r: StoreResult<PaymentRecord>, want: &str| match r {
        Err(StoreError::Conflict(m)) => assert!(m.contains(want), "{m}"),
        other => panic!("expected a refusal naming {want:?}, got {other:?}"),
    };
    refused(
        s.record_payment(&pay(24568, "none-1", 50, false)).await,
        "no open shift",
    );
    refused(
        s.record_payment(&pay(100, "none-2", 50, true)).await,
        "outside any shift",
    );
    assert_eq!(s.account_balance(&cash).await.unwrap(), Fen(0));
    assert!(s.booking_payments(b.id).await.unwrap().is_empty());

    let shift = s.open_shift(e.id, c.id, 100).await.unwrap();
    s.record_payment(&pay(1000, "in-1", 110, false))
        .await
        .unwrap();
    s.close_shift(shift.id, 200).await.unwrap();
    refused(
        s.record_payment(&pay(100, "after-1", 210, false)).await,
        "no open shift",
    );
    s.record_payment(&pay(300, "offline-1", 150, true))
        .await
        .unwrap();
    refused(
        s.record_payment(&pay(100, "offline-2", 250, true)).await,
        "outside any shift",
    );
    assert_eq!(s.account_balance(&cash).await.unwrap(), Fen(1300));
    let h = s
        .submit_handover(shift.id, Fen(1300), fin.id, "", 300)
        .await
        .unwrap();
    assert_eq!(h.expected, Some(Fen(1300)));
    refused(
        s.record_payment(&pay(100, "offline-3", 150, true)).await,
        "handed over",
    );
    assert_eq!(s.account_balance(&cash).await.unwrap(), Fen(0));

    // A close racing payments: every payment that got in is in the count.
    let shift = s.open_shift(e.id, c.id, 400).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (s, p) = (s.clone(), pay(10, &format!("race-{i}"), 410, false));
        tasks.push(tokio::spawn(async move { s.record_payment(&p).await }));
    }
    let closer = {
        let s = s.clone();
        tokio::spawn(async move { s.close_shift(shift.id, 420).await })
    };
    let mut taken = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => taken += 10,
            Err(e) => refused(Err(e), "no open shift"),
        }
    }
    closer.await.unwrap().unwrap();
    refused(
        s.record_payment(&pay(10, "race-late", 430, false)).await,
        "no open shift",
    );
    let h = s
        .submit_handover(shift.id, Fen(taken), fin.id, "", 500)
        .await
        .unwrap();
    assert_eq!(h.expected, Some(Fen(taken)));
    assert_eq!(s.account_balance(&cash).await.unwrap(), Fen(0));
    assert_ledger_ok(&s).await;
}
