//! The collection report on a small estate with known numbers: every figure
//! (current period and arrears, by estate, building and fee item) is
//! checked exactly against the bills and the principal the payments paid.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_app::App;
use doorstep_app::demo::{SAMPLE_PASSWORD, seed_sample};
use doorstep_domain::{Fen, ObjectKind};
use doorstep_store::{LineQuery, NewPayment, Store};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collection_rates_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        doorstep_store_sqlite::open(&dir.path().join("d.sqlite"))
            .await
            .unwrap(),
    );
    let app = App::new(store.clone());
    let ids = seed_sample(&app).await.unwrap();
    let fin = app.login("s-finance", SAMPLE_PASSWORD).await.unwrap().user;
    let lines = store
        .bill_lines(&LineQuery {
            estate_id: ids.estate_id,
            ..Default::default()
        })
        .await
        .unwrap();
    let of = |kind: ObjectKind, id: i64, period: &str| {
        lines
            .iter()
            .find(|l| l.object_kind == kind && l.object_id == id && l.period.to_string() == period)
            .unwrap()
            .clone()
    };
    let jan_202 = of(ObjectKind::Room, ids.room_202, "2026-01");
    let feb_301 = of(ObjectKind::Room, ids.room_301, "2026-02");
    let pay = |line: i64, amount: Fen, day: jiff::civil::Date, key: &str| NewPayment {
        estate_id: ids.estate_id,
        objects: vec![],
        line_ids: vec![line],
        amount,
        method: "cash".into(),
        paid_on: day,
        at: 1,
        recorded_by: Some(fin.id),
        idempotency_key: Some(key.into()),
        booking_id: None,
        offline: false,
        only_due_now: false,
    };
    // Arrears: January of 202, paid on 10 February (with its late fee).
    let owed = jan_202.amount
        + jan_202
            .late_fee(jiff::civil::date(2026, 2, 10))
            .map(|c| c.outstanding)
            .unwrap_or(Fen::ZERO);
    let p1 = store
        .record_payment(&pay(
            jan_202.id,
            owed,
            jiff::civil::date(2026, 2, 10),
            "rep-1",
        ))
        .await
        .unwrap();
    let arrears_paid: i64 = p1.allocation.iter().map(|a| a.principal.0).sum();
    assert_eq!(arrears_paid, jan_202.amount.0, "the whole principal");
    // Current: 100.00 of 301's February line on 15 February.
    let p2 = store
        .record_payment(&pay(
            feb_301.id,
            Fen(10_000),
            jiff::civil::date(2026, 2, 15),
            "rep-2",
        ))
        .await
        .unwrap();
    let current_paid: i64 = p2.allocation.iter().map(|a| a.principal.0).sum();
    // Paid in March: not in February's figures as of 28 February.
    store
        .record_payment(&pay(
            feb_301.id,
            Fen(100),
            jiff::civil::date(2026, 3, 2),
            "rep-3",
        ))
        .await
        .unwrap();

    let r = app
        .collection_report(&fin, "sample", "2026-02", Some("2026-02-28"))
        .await
        .unwrap();
    let feb_due: i64 = lines
        .iter()
        .filter(|l| l.period.to_string() == "2026-02")
        .map(|l| l.amount.0)
        .sum();
    let jan_due: i64 = lines
        .iter()
        .filter(|l| l.period.to_string() == "2026-01")
        .map(|l| l.amount.0)
        .sum();
    assert_eq!(r.total.current.receivable, feb_due);
    assert_eq!(r.total.current.received, current_paid);
    assert_eq!(r.total.arrears.receivable, jan_due);
    assert_eq!(r.total.arrears.received, arrears_paid);
    let bp = |n: i64, d: i64| (2 * n * 10_000 + d) / (2 * d);
    assert_eq!(
        r.total.current.basis_points,
        Some(bp(current_paid, feb_due))
    );
    assert_eq!(
        r.total.overall.basis_points,
        Some(bp(current_paid + arrears_paid, feb_due + jan_due))
    );
    assert!(r.total.current.percent.ends_with('%'));
    // By fee item: the parking item has nothing collected.
    let parking = r.by_item.iter().find(|x| x.name.contains("车位")).unwrap();
    assert_eq!(parking.current.received, 0);
    assert_eq!(parking.arrears.received, 0);
    let parking_feb: i64 = lines
        .iter()
        .filter(|l| l.period.to_string() == "2026-02" && l.object_kind == ObjectKind::Space)
        .map(|l| l.amount.0)
        .sum();
    assert_eq!(parking.current.receivable, parking_feb);
    // By building: parking spaces group as 车位; the buildings add up.
    let sum_current: i64 = r.by_building.iter().map(|b| b.current.receivable).sum();
    assert_eq!(sum_current, feb_due);
    let sum_received: i64 = r
        .by_building
        .iter()
        .map(|b| b.current.received + b.arrears.received)
        .sum();
    assert_eq!(sum_received, current_paid + arrears_paid);
    assert!(r.by_building.iter().any(|b| b.name == "车位"));
    // As of March: the March payment counts (February's line, paid in March).
    let later = app
        .collection_report(&fin, "sample", "2026-02", Some("2026-03-05"))
        .await
        .unwrap();
    assert_eq!(later.total.current.received, current_paid + 100);
    // A bad period names the field.
    let e = app
        .collection_report(&fin, "sample", "2026-13", None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("period"), "{e}");

    // Mid-month: what was paid after the day is taken back out (the 15
    // February payment is not in the figures as of 12 February).
    let mid = app
        .collection_report(&fin, "sample", "2026-02", Some("2026-02-12"))
        .await
        .unwrap();
    assert_eq!(mid.total.current.received, 0);
    assert_eq!(mid.total.arrears.received, arrears_paid);
    // The previous period as of its last day: January's bills, nothing
    // paid on them in January.
    let prev = r.previous.as_ref().unwrap();
    assert_eq!(
        (prev.current.receivable, prev.current.received),
        (jan_due, 0)
    );
    // The trend: each period as of its last day; February's point is the
    // report as of 28 February.
    let feb = r.trend.iter().find(|t| t.period == "2026-02").unwrap();
    assert_eq!(feb.as_of, "2026-02-28");
    assert_eq!(
        (&feb.current, &feb.arrears, &feb.overall),
        (&r.total.current, &r.total.arrears, &r.total.overall)
    );
    assert!(r.trend.iter().any(|t| t.period == "2026-01"));
    assert!(r.trend.windows(2).all(|w| w[0].period < w[1].period));

    // The company: every estate together and one by one.
    let c = app
        .company_report(&fin, "2026-02", Some("2026-02-28"))
        .await
        .unwrap();
    let mine = c.by_estate.iter().find(|e| e.code == "sample").unwrap();
    assert_eq!(mine.collection.current, r.total.current);
    assert_eq!(mine.collection.arrears, r.total.arrears);
    let sum = |f: &dyn Fn(&doorstep_app::report::EstateFigures) -> i64| -> i64 {
        c.by_estate.iter().map(f).sum()
    };
    assert_eq!(
        c.total.current.receivable,
        sum(&|e| e.collection.current.receivable)
    );
    assert_eq!(
        c.total.overall.received,
        sum(&|e| e.collection.overall.received)
    );
    assert_eq!(
        c.trend
            .iter()
            .find(|t| t.period == "2026-02")
            .unwrap()
            .overall,
        c.total.overall
    );

    // Cash held: the three cash payments finance recorded (principal and
    // late fee), from the ledger's running balances.
    let cash_in = owed.0 + 10_000 + 100;
    assert_eq!(r.operations.cash_held, Some(cash_in));
    assert_eq!(r.operations.collectors_holding, Some(1));
    assert_eq!(c.operations.cash_held, Some(cash_in));
    // Disputes opened and closed in a period, open now.
    let d1 = app
        .open_dispute(&fin, "sample", None, "王女士", "电梯费分摊有异议")
        .await
        .unwrap();
    app.open_dispute(&fin, "sample", None, "李先生", "车位费")
        .await
        .unwrap();
    app.close_dispute(&fin, "sample", d1.id, "已解释分摊办法，业主认可")
        .await
        .unwrap();
    let this_month = doorstep_app::today(&store.estate_by_code("sample").await.unwrap().unwrap())
        .to_string()[..7]
        .to_string();
    let now = app
        .collection_report(&fin, "sample", &this_month, None)
        .await
        .unwrap();
    assert_eq!(
        (
            now.operations.disputes_opened,
            now.operations.disputes_closed,
            now.operations.disputes_open
        ),
        (2, 1, 1)
    );
    let then = app
        .collection_report(&fin, "sample", "2026-02", None)
        .await
        .unwrap();
    assert_eq!(
        (
            then.operations.disputes_opened,
            then.operations.disputes_open
        ),
        (0, 1)
    );
    // A dispatcher sees the rates and the disputes but no cash figures;
    // s-other (another estate) sees only their own estate in the company.
    let disp = app
        .login("s-dispatcher", SAMPLE_PASSWORD)
        .await
        .unwrap()
        .user;
    let rep = app
        .collection_report(&disp, "sample", &this_month, None)
        .await
        .unwrap();
    assert_eq!(
        (rep.operations.cash_held, rep.operations.disputes_open),
        (None, 1)
    );
    assert_eq!(
        app.company_report(&disp, "2026-02", None)
            .await
            .unwrap()
            .operations
            .cash_held,
        None
    );
    let other = app.login("s-other", SAMPLE_PASSWORD).await.unwrap().user;
    let theirs = app.company_report(&other, "2026-02", None).await.unwrap();
    assert!(theirs.by_estate.iter().all(|e| e.code != "sample"));
    assert_ne!(theirs.total.current.receivable, c.total.current.receivable);
}
