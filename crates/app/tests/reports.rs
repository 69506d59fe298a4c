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
}
