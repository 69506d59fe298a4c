//! Conformance stories for overdue notices and disputes.

use super::billed_estate;
use crate::*;
use doorstep_domain::{Date, Fen, ObjectKind, Period};
use jiff::civil::date;
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
    // Scope lives in the SQL: another estate can neither name this
    // estate's room in a dispute, close its dispute, nor label its room.
    let other = s
        .create_estate(
            e.company_id,
            &EstateInput {
                code: doorstep_domain::EstateCode::parse("scope-other").unwrap(),
                name: "别处".into(),
                timezone: "Asia/Shanghai".into(),
                office: String::new(),
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        s.open_dispute(
            other.id,
            Some((ObjectKind::Room, room.id)),
            "某人",
            "x",
            None,
            6
        )
        .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(s.disputes(other.id).await.unwrap().is_empty());
    assert!(matches!(
        s.close_dispute(other.id, d.id, "x", 7).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.object_labels(other.id, &[(ObjectKind::Room, room.id)])
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        s.object_labels(e.id, &[(ObjectKind::Room, room.id)])
            .await
            .unwrap()
            .len(),
        1
    );
    let c = s.close_dispute(e.id, d.id, "已复核", 9).await.unwrap();
    assert_eq!((c.status.as_str(), c.closed_at), ("closed", Some(9)));
    assert!(matches!(
        s.close_dispute(e.id, d.id, "again", 10).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.disputes(e.id).await.unwrap().len(), 1);
}

/// The figures of the collection rate for every group of `e`, from the
/// running totals and, independently, from every line and payment; they
/// must agree for each period and as-of day.
async fn totals_agree_with_lines(s: &Arc<dyn Store>, e: &Estate, days: &[Date]) {
    use doorstep_domain::report::{LineFacts, Totals, collection, collection_from_totals};
    let buildings: std::collections::HashMap<String, i64> = s
        .list_buildings(e.id)
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.name, b.id))
        .collect();
    let items: std::collections::HashMap<String, i64> = s
        .list_fee_items(e.id)
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.spec.name, f.id))
        .collect();
    let lines = s.report_lines(e.id, "9999-12").await.unwrap();
    let totals = s.report_totals(ReportScope::Estate(e.id)).await.unwrap();
    let company = s
        .report_totals(ReportScope::Company(e.company_id))
        .await
        .unwrap();
    let mut estate_rows: Vec<_> = totals
        .iter()
        .filter(|t| t.dim == DIM_ESTATE)
        .cloned()
        .collect();
    let mut company_rows: Vec<_> = company
        .iter()
        .filter(|t| t.estate_id == e.id)
        .cloned()
        .collect();
    estate_rows.sort_by(|a, b| (&a.period, &a.paid_month).cmp(&(&b.period, &b.paid_month)));
    company_rows.sort_by(|a, b| (&a.period, &a.paid_month).cmp(&(&b.period, &b.paid_month)));
    assert_eq!(
        estate_rows, company_rows,
        "a company's rows are its estates' own"
    );
    let p = |s: &str| Period::parse(s).unwrap();
    let mut groups: Vec<(i64, i64)> = vec![(DIM_ESTATE, 0)];
    groups.extend(buildings.values().map(|b| (DIM_BUILDING, *b)));
    groups.push((DIM_BUILDING, 0));
    groups.extend(items.values().map(|i| (DIM_ITEM, *i)));
    for &as_of in days {
        let month = Period::of(as_of);
        let until = month.day(31).to_string();
        let after = s
            .report_paid_between(ReportScope::Estate(e.id), &as_of.to_string(), &until)
            .await
            .unwrap();
        for &(dim, key) in &groups {
            let mut t = Totals::default();
            for r in totals.iter().filter(|r| r.dim == dim && r.key == key) {
                match &r.paid_month {
                    None => t.add_due(p(&r.period), r.fen),
                    Some(m) => t.add_paid(p(&r.period), p(m), r.fen),
                }
            }
            for r in after.iter().filter(|r| r.dim == dim && r.key == key) {
                t.add_after(p(&r.period), r.fen);
            }
            let facts: Vec<LineFacts> = lines
                .iter()
                .filter(|l| match dim {
                    DIM_ESTATE => true,
                    DIM_BUILDING => l.building.as_ref().map_or(0, |b| buildings[b]) == key,
                    _ => items[&l.item] == key,
                })
                .map(|l| LineFacts {
                    period: p(&l.period),
                    amount: l.amount,
                    waived: l.waived,
                    paid: l.paid.clone(),
                })
                .collect();
            for period in ["2026-01", "2026-02", "2026-03", "2026-04"] {
                assert_eq!(
                    collection_from_totals(&t, p(period), as_of),
                    collection(&facts, p(period), as_of),
                    "group ({dim}, {key}), {period} as of {as_of}"
                );
            }
        }
    }
}

/// The running totals behind the reports follow billing, payments,
/// waivers and voids in the same transaction, on every backend: at each
/// step they give exactly the figures computed from the lines themselves.
pub async fn report_totals_follow_every_write(s: Arc<dyn Store>) {
    let (e, fin, r, sp) = billed_estate(&s).await;
    let other = s
        .create_room(
            e.id,
            &RoomInput {
                building: "5".into(),
                entrance: String::new(),
                floor: 1,
                number: "101".into(),
                area: doorstep_domain::Area::parse("100").unwrap(),
            },
        )
        .await
        .unwrap();
    let days = [
        date(2026, 1, 31),
        date(2026, 2, 10),
        date(2026, 2, 28),
        date(2026, 3, 4),
        date(2026, 3, 31),
        date(2026, 4, 15),
    ];
    for period in ["2026-01", "2026-02", "2026-03"] {
        super::bill(&s, e.id, Period::parse(period).unwrap()).await;
    }
    totals_agree_with_lines(&s, &e, &days).await;
    let pay = |object: (ObjectKind, i64), amount: i64, on: Date, key: &str| NewPayment {
        estate_id: e.id,
        objects: vec![object],
        line_ids: vec![],
        amount: Fen(amount),
        method: "cash".into(),
        paid_on: on,
        at: 1_000,
        recorded_by: Some(fin.id),
        idempotency_key: Some(key.into()),
        booking_id: None,
        offline: false,
        only_due_now: false,
    };
    s.record_payment(&pay(
        (ObjectKind::Room, r.id),
        10_000,
        date(2026, 1, 20),
        "a",
    ))
    .await
    .unwrap();
    s.record_payment(&pay(
        (ObjectKind::Space, sp.id),
        40_000,
        date(2026, 2, 15),
        "b",
    ))
    .await
    .unwrap();
    let late = s
        .record_payment(&pay(
            (ObjectKind::Room, other.id),
            30_000,
            date(2026, 3, 5),
            "c",
        ))
        .await
        .unwrap();
    s.record_payment(&pay(
        (ObjectKind::Room, r.id),
        5_000,
        date(2026, 3, 20),
        "d",
    ))
    .await
    .unwrap();
    totals_agree_with_lines(&s, &e, &days).await;
    let figures = s.report_totals(ReportScope::Estate(e.id)).await.unwrap();
    let paid: i64 = figures
        .iter()
        .filter(|t| t.dim == DIM_ESTATE && t.paid_month.is_some())
        .map(|t| t.fen)
        .sum();
    let principal: i64 = s
        .report_lines(e.id, "9999-12")
        .await
        .unwrap()
        .iter()
        .flat_map(|l| l.paid.iter().map(|(_, f)| f.0))
        .sum();
    assert!(paid > 0 && paid == principal, "{paid} vs {principal}");
    // A partly paid line waived: only what was paid stays due.
    let lines = s
        .bill_lines(&LineQuery {
            estate_id: e.id,
            objects: vec![(ObjectKind::Room, r.id)],
            ..Default::default()
        })
        .await
        .unwrap();
    let partly = lines
        .iter()
        .find(|l| l.status == LineStatus::PartlyPaid)
        .expect("a partly paid line");
    s.waive_line(
        e.id,
        partly.id,
        &StaffAct {
            user_id: fin.id,
            reason: "业主家中变故".into(),
            at: 2_000,
        },
    )
    .await
    .unwrap();
    totals_agree_with_lines(&s, &e, &days).await;
    // A payment voided (by a second person) leaves the totals.
    let boss = s
        .create_user(&NewUser {
            company_id: e.company_id,
            username: "boss".into(),
            display_name: "经理".into(),
            password_hash: "x".into(),
            role: doorstep_domain::Role::Admin,
            estate_ids: vec![],
        })
        .await
        .unwrap();
    let rev = s
        .request_reversal(late.id, "void", "录错房号", fin.id, 3_000)
        .await
        .unwrap();
    s.decide_reversal(rev.id, true, boss.id, None, 3_001)
        .await
        .unwrap();
    totals_agree_with_lines(&s, &e, &days).await;
    // The void's rows are gone from the month it was paid in.
    let march: i64 = s
        .report_totals(ReportScope::Estate(e.id))
        .await
        .unwrap()
        .iter()
        .filter(|t| t.dim == DIM_ESTATE && t.paid_month.as_deref() == Some("2026-03"))
        .map(|t| t.fen)
        .sum();
    assert_eq!(march, 5_000, "only the 20 March payment is left in March");
    // The company's estate list counts every estate at once.
    let list = s.estate_summaries(e.company_id).await.unwrap();
    let mine = list.iter().find(|x| x.estate_id == e.id).unwrap();
    assert_eq!(
        (
            mine.rooms,
            mine.spaces,
            mine.owners,
            mine.last_period.as_deref()
        ),
        (3, 1, 1, Some("2026-03"))
    );
}
