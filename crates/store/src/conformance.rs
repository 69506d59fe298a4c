//! The conformance suite: one story per function, run against every backend
//! by [`conformance_tests!`](crate::conformance_tests). Each function gets a
//! fresh, empty, migrated store and panics on the first disagreement.

#![allow(clippy::unwrap_used)]

mod booking;
mod collect;
mod custody;
mod evidence;
mod notice;
mod owner_codes;
mod scope;
mod sequencer;
pub use booking::*;
pub use collect::*;
pub use custody::*;
pub use evidence::*;
pub use notice::*;
pub use owner_codes::*;
pub use scope::*;
pub use sequencer::*;

use crate::*;
use doorstep_domain::{
    Area, Basis, Category, Cycle, EstateCode, FeeItemSpec, Fen, LateFeeCap, LateFeePolicy,
    ObjectKind, Period, PhoneNumber, Role, lines_for_period,
};
use jiff::civil::date;
use std::sync::Arc;

/// Generates one `#[tokio::test]` per conformance story. `$make` is an async
/// expression yielding `Option<Arc<dyn Store>>` (None = backend unavailable,
/// skip).
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            accounts_and_sessions, estates_are_unique, rooms_spaces_owners, import_is_all_or_nothing,
            staged_import_is_all_or_nothing,
            fee_items_validate, billing_is_idempotent, concurrent_billing_creates_each_line_once,
            late_fees_and_arrears, payments_allocate_oldest_first, payments_are_idempotent_and_never_overpay,
            concurrent_payments_never_overpay, waivers_and_disputes, entered_amounts_bill_once_all_or_nothing,
            bookings_follow_their_lifecycle, last_place_is_sold_once, owner_codes_and_sessions,
            code_sends_follow_the_phone_limits, parallel_tries_count_exactly_the_limit,
            parallel_code_requests_queue_within_limits,
            collections_hold_lines_and_pay_once, racing_collectors_hold_a_line_once,
            ledger_balances_through_cash_custody, cash_at_a_visit_needs_a_shift, job_leases_expire,
            only_what_is_due_now_is_paid,
            handover_differences_need_a_second_person, a_void_after_handover_leaves_no_negative_cash,
            receipts_are_numbered_without_gaps, evidence_log_appends_and_proves,
            one_invoice_request_per_payment_line, notices_once_a_day_with_their_message,
            report_totals_follow_every_write, rate_limits_count_every_parallel_hit,
            objects_of_another_estate_are_not_found, companies_need_a_valid_credit_code,
            totals_fold_into_the_same_figures, a_receipt_link_works_before_its_number);
    };
    (@each $make:expr; $($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(store) = $make else { return };
                $crate::conformance::$name(store).await;
            }
        )*
    };
}

/// A company, an estate and a user to hang the stories on.
pub async fn fixture(s: &Arc<dyn Store>) -> (Company, Estate, User) {
    let c = s
        .create_company("幸福物业", "91110000MA01ABCD2Q")
        .await
        .unwrap();
    let e = s
        .create_estate(
            c.id,
            &EstateInput {
                code: EstateCode::parse("happy").unwrap(),
                name: "幸福家园".into(),
                timezone: "Asia/Shanghai".into(),
                office: "1号楼一层".into(),
            },
        )
        .await
        .unwrap();
    let u = s
        .create_user(&NewUser {
            company_id: c.id,
            username: "fin".into(),
            display_name: "财务小王".into(),
            password_hash: "x".into(),
            role: Role::Finance,
            estate_ids: vec![e.id],
        })
        .await
        .unwrap();
    (c, e, u)
}

/// A company's unified social credit code must pass the GB 32100-2015
/// check; a refused one stores nothing.
pub async fn companies_need_a_valid_credit_code(s: Arc<dyn Store>) {
    // One wrong check character (it should be K): refused, naming the field.
    match s.create_company("幸福里物业", "91310115MA1K4XQ27Y").await {
        Err(StoreError::Invalid(e)) => {
            let m = e.to_string();
            assert!(
                m.contains("credit_code") && m.contains("should be K"),
                "{m}"
            );
        }
        other => panic!("a bad check character was accepted: {other:?}"),
    }
    assert!(s.company_by_name("幸福里物业").await.unwrap().is_none());
    // Lower case with spaces around is the same code, stored canonically.
    let c = s
        .create_company("幸福里物业", " 91310115ma1k4xq27k ")
        .await
        .unwrap();
    assert_eq!(c.credit_code, "91310115MA1K4XQ27K");
    assert_eq!(s.company(c.id).await.unwrap().credit_code, c.credit_code);
}

fn room(b: &str, n: &str, area: &str) -> RoomInput {
    RoomInput {
        building: b.into(),
        entrance: String::new(),
        floor: 2,
        number: n.into(),
        area: Area::parse(area).unwrap(),
    }
}

fn parking_item() -> FeeItemSpec {
    FeeItemSpec {
        code: "parking".into(),
        name: "车位费".into(),
        category: Category::Parking,
        basis: Basis::PerSpace,
        cycle: Cycle::Monthly,
        price: Fen(30000),
        due_day: 15,
        late_fee: LateFeePolicy {
            enabled: true,
            grace_days: 0,
            daily_rate_ppm: 500,
            cap: LateFeeCap::Principal,
        },
    }
}

fn property_item() -> FeeItemSpec {
    FeeItemSpec {
        code: "property".into(),
        name: "物业费".into(),
        category: Category::Property,
        basis: Basis::PerArea,
        cycle: Cycle::Monthly,
        price: Fen(250),
        due_day: 31,
        late_fee: LateFeePolicy::OFF,
    }
}

async fn bill(s: &Arc<dyn Store>, estate: i64, period: Period) -> (u64, u64) {
    let inputs = s.billing_inputs(estate, period).await.unwrap();
    let mut lines = Vec::new();
    for item in &inputs.items {
        lines.extend(lines_for_period(
            item.id,
            &item.spec,
            period,
            &inputs.targets,
        ));
    }
    let created = s.insert_bill_lines(estate, &lines, 1).await.unwrap();
    (created, lines.len() as u64 - created)
}

/// An estate with two rooms, one owned space, items for property and parking.
async fn billed_estate(s: &Arc<dyn Store>) -> (Estate, User, Room, Space) {
    let (_, e, u) = fixture(s).await;
    let r = s
        .create_room(e.id, &room("3", "202", "89.50"))
        .await
        .unwrap();
    s.create_room(e.id, &room("3", "203", "120")).await.unwrap();
    let sp = s
        .create_space(
            e.id,
            &SpaceInput {
                code: "B007".into(),
                level: "地下B1".into(),
            },
        )
        .await
        .unwrap();
    s.create_owner(
        e.id,
        &OwnerInput {
            name: "张三".into(),
            phones: vec![PhoneNumber::parse("13812345678").unwrap()],
            room_ids: vec![r.id],
            space_ids: vec![sp.id],
        },
    )
    .await
    .unwrap();
    s.create_fee_item(e.id, &property_item()).await.unwrap();
    s.create_fee_item(e.id, &parking_item()).await.unwrap();
    (e, u, r, sp)
}

/// Users, password hashes and sessions that any instance can read.
pub async fn accounts_and_sessions(s: Arc<dyn Store>) {
    let (c, e, u) = fixture(&s).await;
    assert_eq!(u.estate_ids, vec![e.id]);
    assert!(u.can_access(&e));
    let (found, hash) = s.user_credentials("fin").await.unwrap().unwrap();
    assert_eq!(found.id, u.id);
    assert_eq!(hash, "x");
    assert!(s.user_credentials("nobody").await.unwrap().is_none());
    let dup = s
        .create_user(&NewUser {
            company_id: c.id,
            username: "fin".into(),
            display_name: "x".into(),
            password_hash: "y".into(),
            role: Role::Admin,
            estate_ids: vec![],
        })
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    s.create_session("h1", u.id, 100, 200).await.unwrap();
    assert_eq!(s.session_user("h1", 150).await.unwrap().unwrap().id, u.id);
    assert!(
        s.session_user("h1", 200).await.unwrap().is_none(),
        "expired session"
    );
    assert!(s.session_user("h2", 150).await.unwrap().is_none());
    s.delete_session("h1").await.unwrap();
    assert!(s.session_user("h1", 150).await.unwrap().is_none());
}

/// Estate codes are unique; updates keep the id.
pub async fn estates_are_unique(s: Arc<dyn Store>) {
    let (c, e, _) = fixture(&s).await;
    let dup = s
        .create_estate(
            c.id,
            &EstateInput {
                code: EstateCode::parse("happy").unwrap(),
                name: "x".into(),
                timezone: "Asia/Shanghai".into(),
                office: String::new(),
            },
        )
        .await;
    assert!(
        matches!(dup, Err(StoreError::Conflict(ref m)) if m.contains("estate")),
        "{dup:?}"
    );
    assert_eq!(s.list_estates(c.id).await.unwrap().len(), 1);
    let upd = s
        .update_estate(
            e.id,
            &EstateInput {
                code: EstateCode::parse("happy").unwrap(),
                name: "幸福家园二期".into(),
                timezone: "Asia/Shanghai".into(),
                office: "北门".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(upd.name, "幸福家园二期");
    assert_eq!(s.estate_by_code("happy").await.unwrap().unwrap().id, e.id);
    assert!(s.estate_by_code("nope").await.unwrap().is_none());
}

/// Rooms, spaces and owners; duplicates are refused by the database.
pub async fn rooms_spaces_owners(s: Arc<dyn Store>) {
    let (c, e, _) = fixture(&s).await;
    let r = s
        .create_room(e.id, &room("3", "202", "89.5"))
        .await
        .unwrap();
    assert_eq!(r.label(), "3号楼202室");
    let dup = s.create_room(e.id, &room("3", "202", "70")).await;
    assert!(
        matches!(dup, Err(StoreError::Conflict(ref m)) if m.contains("room")),
        "{dup:?}"
    );
    let sp = s
        .create_space(
            e.id,
            &SpaceInput {
                code: "B007".into(),
                level: "地下B1".into(),
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        s.create_space(
            e.id,
            &SpaceInput {
                code: "B007".into(),
                level: String::new()
            }
        )
        .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(s.space(e.id, sp.id).await.unwrap().level, "地下B1");
    assert!(matches!(
        s.space(e.id, sp.id + 1000).await,
        Err(StoreError::NotFound(_))
    ));
    let phone = PhoneNumber::parse("13812345678").unwrap();
    let o = s
        .create_owner(
            e.id,
            &OwnerInput {
                name: "张三".into(),
                phones: vec![phone.clone()],
                room_ids: vec![r.id],
                space_ids: vec![sp.id],
            },
        )
        .await
        .unwrap();
    assert_eq!(o.rooms, vec![(r.id, "3号楼202室".to_string())]);
    assert_eq!(o.spaces.len(), 1);
    // A co-owner of the same room.
    s.create_owner(
        e.id,
        &OwnerInput {
            name: "李四".into(),
            phones: vec![PhoneNumber::parse("13900000000").unwrap()],
            room_ids: vec![r.id],
            space_ids: vec![],
        },
    )
    .await
    .unwrap();
    assert_eq!(
        s.room(e.id, r.id).await.unwrap().owners,
        vec!["张三".to_string(), "李四".to_string()]
    );
    assert_eq!(s.list_rooms(e.id, "张三", 10, 0).await.unwrap().len(), 1);
    assert_eq!(
        s.list_owners(e.id, "1381234", 10, 0).await.unwrap().len(),
        1
    );
    // A room of another estate cannot be linked, and nothing changes.
    let e2 = s
        .create_estate(
            c.id,
            &EstateInput {
                code: EstateCode::parse("other").unwrap(),
                name: "x".into(),
                timezone: "Asia/Shanghai".into(),
                office: String::new(),
            },
        )
        .await
        .unwrap();
    let r2 = s.create_room(e2.id, &room("1", "101", "50")).await.unwrap();
    let bad = s
        .create_owner(
            e.id,
            &OwnerInput {
                name: "王五".into(),
                phones: vec![phone.clone()],
                room_ids: vec![r2.id],
                space_ids: vec![],
            },
        )
        .await;
    assert!(matches!(bad, Err(StoreError::NotFound(_))), "{bad:?}");
    assert_eq!(s.estate_stats(e.id).await.unwrap().owners, 2);
    let upd = s
        .update_room(e.id, r.id, &room("3", "202", "90.25"))
        .await
        .unwrap();
    assert_eq!(upd.area.centi(), 9025);
    let o2 = s
        .update_owner(
            e.id,
            o.id,
            &OwnerInput {
                name: "张三丰".into(),
                phones: vec![phone],
                room_ids: vec![],
                space_ids: vec![sp.id],
            },
        )
        .await
        .unwrap();
    assert!(o2.rooms.is_empty());
    assert_eq!(o2.name, "张三丰");
}

/// An import either applies completely or not at all.
pub async fn import_is_all_or_nothing(s: Arc<dyn Store>) {
    let (_, e, _) = fixture(&s).await;
    s.create_room(e.id, &room("1", "101", "80")).await.unwrap();
    let before = s.estate_stats(e.id).await.unwrap();
    let owner = |rooms: Vec<RoomKey>| ImportOwner {
        name: "赵六".into(),
        phones: vec![PhoneNumber::parse("13700000000").unwrap()],
        rooms,
        spaces: vec!["C001".into()],
    };
    let key = |n: &str| RoomKey {
        building: "1".into(),
        entrance: String::new(),
        number: n.into(),
    };
    let bad = ImportBatch {
        buildings: vec![],
        rooms: vec![room("1", "102", "80"), room("1", "101", "80")],
        spaces: vec![SpaceInput {
            code: "C001".into(),
            level: String::new(),
        }],
        owners: vec![owner(vec![key("102")])],
    };
    assert!(matches!(
        s.apply_import(e.id, &bad).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        s.estate_stats(e.id).await.unwrap(),
        before,
        "a failed import changes nothing"
    );
    let good = ImportBatch {
        buildings: vec![],
        rooms: vec![room("1", "102", "80"), room("2", "101", "80")],
        spaces: vec![SpaceInput {
            code: "C001".into(),
            level: String::new(),
        }],
        owners: vec![owner(vec![key("102")])],
    };
    let out = s.apply_import(e.id, &good).await.unwrap();
    assert_eq!(
        (
            out.rooms_created,
            out.spaces_created,
            out.owners_created,
            out.buildings_created
        ),
        (2, 1, 1, 1)
    );
    // The same owner named again is matched, not duplicated.
    let again = ImportBatch {
        owners: vec![owner(vec![key("101")])],
        ..Default::default()
    };
    let out = s.apply_import(e.id, &again).await.unwrap();
    assert_eq!((out.owners_created, out.owners_matched), (0, 1));
    assert_eq!(s.estate_stats(e.id).await.unwrap().owners, 1);
}

/// A 12,000-row import whose rows are staged over many short transactions
/// still applies completely or not at all: a clash or a missing holding
/// found only when the batch is made visible leaves the estate as it was,
/// and staged rows never outlive the import.
pub async fn staged_import_is_all_or_nothing(s: Arc<dyn Store>) {
    const N: usize = 12_000;
    let (_, e, _) = fixture(&s).await;
    s.create_room(e.id, &room("1", "101", "80")).await.unwrap();
    let before = s.estate_stats(e.id).await.unwrap();
    let key = |n: String| RoomKey {
        building: "9".into(),
        entrance: String::new(),
        number: n,
    };
    let batch = || ImportBatch {
        buildings: vec![],
        rooms: (0..N)
            .map(|i| room("9", &format!("{}", 1000 + i), "80"))
            .collect(),
        spaces: (0..N / 4)
            .map(|i| SpaceInput {
                code: format!("P{}", i * 4),
                level: "B1".into(),
            })
            .collect(),
        owners: (0..N)
            .map(|i| ImportOwner {
                name: format!("业主{i}"),
                phones: vec![PhoneNumber::parse(&format!("139{i:08}")).unwrap()],
                rooms: vec![key(format!("{}", 1000 + i))],
                spaces: if i % 4 == 0 {
                    vec![format!("P{i}")]
                } else {
                    vec![]
                },
            })
            .collect(),
    };
    let mut clash = batch();
    clash.rooms.push(room("1", "101", "80"));
    let r = s.apply_import(e.id, &clash).await;
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
    assert_eq!(s.estate_stats(e.id).await.unwrap(), before);
    assert_eq!(s.staged_import_rows().await.unwrap(), 0);

    let mut lost = batch();
    lost.owners[N - 1].rooms.push(key("nowhere".into()));
    let r = s.apply_import(e.id, &lost).await;
    assert!(
        matches!(&r, Err(StoreError::NotFound(m)) if m.contains("nowhere")),
        "{r:?}"
    );
    assert_eq!(s.estate_stats(e.id).await.unwrap(), before);
    assert_eq!(s.staged_import_rows().await.unwrap(), 0);

    let out = s.apply_import(e.id, &batch()).await.unwrap();
    let n = N as u64;
    assert_eq!(
        (
            out.buildings_created,
            out.rooms_created,
            out.spaces_created,
            out.owners_created,
            out.owners_matched
        ),
        (1, n, n / 4, n, 0)
    );
    let after = s.estate_stats(e.id).await.unwrap();
    let n = N as i64;
    assert_eq!(
        (after.rooms, after.spaces, after.owners),
        (before.rooms + n, before.spaces + n / 4, before.owners + n)
    );
    assert_eq!(s.staged_import_rows().await.unwrap(), 0);
    for (i, space) in [(N - 1, None), (N - 4, Some(format!("P{}", N - 4)))] {
        let found = s
            .list_owners(e.id, &format!("139{i:08}"), 10, 0)
            .await
            .unwrap();
        assert_eq!(found.len(), 1, "owner {i}");
        let o = &found[0];
        assert_eq!(o.name, format!("业主{i}"));
        assert_eq!(o.rooms.len(), 1);
        assert!(
            o.rooms[0].1.contains(&format!("{}", 1000 + i)),
            "{:?}",
            o.rooms
        );
        match space {
            Some(code) => assert!(
                o.spaces.iter().any(|sp| sp.1.contains(&code)),
                "{:?}",
                o.spaces
            ),
            None => assert!(o.spaces.is_empty(), "{:?}", o.spaces),
        }
    }
    // The same owners again are matched by name and phone, not duplicated.
    let mut again = batch();
    again.rooms.clear();
    again.spaces.clear();
    again.owners.truncate(10);
    let out = s.apply_import(e.id, &again).await.unwrap();
    assert_eq!((out.owners_created, out.owners_matched), (0, 10));
    assert_eq!(
        s.estate_stats(e.id).await.unwrap().owners,
        before.owners + n
    );
}

/// Fee items validate; late fees on on-behalf items are refused.
pub async fn fee_items_validate(s: Arc<dyn Store>) {
    let (_, e, _) = fixture(&s).await;
    let item = s.create_fee_item(e.id, &parking_item()).await.unwrap();
    assert_eq!(item.spec, parking_item());
    assert!(matches!(
        s.create_fee_item(e.id, &parking_item()).await,
        Err(StoreError::Conflict(_))
    ));
    let mut water = parking_item();
    water.code = "water".into();
    water.category = Category::OnBehalf;
    assert!(matches!(
        s.create_fee_item(e.id, &water).await,
        Err(StoreError::Invalid(_))
    ));
    let mut neg = property_item();
    neg.price = Fen(-5);
    assert!(matches!(
        s.create_fee_item(e.id, &neg).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(s.list_fee_items(e.id).await.unwrap().len(), 1);
    let mut changed = parking_item();
    changed.price = Fen(32000);
    let upd = s
        .update_fee_item(e.id, item.id, &changed, false)
        .await
        .unwrap();
    assert_eq!((upd.spec.price, upd.active), (Fen(32000), false));
    assert!(
        s.billing_inputs(e.id, Period::parse("2026-01").unwrap())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// A rerun creates nothing; a half-done run completed by a rerun yields one line each.
pub async fn billing_is_idempotent(s: Arc<dyn Store>) {
    let (e, _, _, _) = billed_estate(&s).await;
    let p = Period::parse("2026-01").unwrap();
    assert_eq!(bill(&s, e.id, p).await, (3, 0));
    assert_eq!(bill(&s, e.id, p).await, (0, 3));
    // Crash halfway: only some lines of the next period got in.
    let p2 = p.next();
    let inputs = s.billing_inputs(e.id, p2).await.unwrap();
    let lines = lines_for_period(
        inputs.items[0].id,
        &inputs.items[0].spec,
        p2,
        &inputs.targets,
    );
    assert_eq!(s.insert_bill_lines(e.id, &lines[..1], 1).await.unwrap(), 1);
    assert_eq!(bill(&s, e.id, p2).await, (2, 1));
    assert_eq!(s.estate_stats(e.id).await.unwrap().bill_lines, 6);
    let l = s
        .bill_lines(&LineQuery {
            estate_id: e.id,
            period: Some(p),
            ..Default::default()
        })
        .await
        .unwrap();
    let room_line = l.iter().find(|l| l.object_label == "3号楼202室").unwrap();
    assert_eq!(room_line.amount, Fen(22375));
    assert_eq!(room_line.owners, vec!["张三".to_string()]);
    assert_eq!(room_line.phones, vec!["13812345678".to_string()]);
    assert_eq!(room_line.status, LineStatus::Unpaid);
}

/// Two billing runs at the same moment still create each line once.
pub async fn concurrent_billing_creates_each_line_once(s: Arc<dyn Store>) {
    let (e, _, _, _) = billed_estate(&s).await;
    let p = Period::parse("2026-03").unwrap();
    let (a, b) = tokio::join!(bill(&s, e.id, p), bill(&s, e.id, p));
    assert_eq!(a.0 + b.0, 3);
    assert_eq!(s.estate_stats(e.id).await.unwrap().bill_lines, 3);
}

/// Open lines carry their late fee, computed as of a date.
pub async fn late_fees_and_arrears(s: Arc<dyn Store>) {
    let (e, _, _, _) = billed_estate(&s).await;
    bill(&s, e.id, Period::parse("2026-01").unwrap()).await;
    let open = s
        .bill_lines(&LineQuery {
            estate_id: e.id,
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 3);
    let parking = open
        .iter()
        .find(|l| l.object_kind == ObjectKind::Space)
        .unwrap();
    assert_eq!(parking.object_label, "地下B1 车位B007");
    let calc = parking.late_fee(date(2026, 2, 15)).unwrap();
    assert_eq!((calc.days, calc.outstanding), (31, Fen(465)));
    // Lines named by object or id stay inside the estate asked about.
    let other = s
        .create_estate(
            e.company_id,
            &EstateInput {
                code: EstateCode::parse("next-door").unwrap(),
                name: "x".into(),
                timezone: "Asia/Shanghai".into(),
                office: String::new(),
            },
        )
        .await
        .unwrap();
    let far_room = s
        .create_room(other.id, &room("1", "101", "50"))
        .await
        .unwrap();
    s.create_fee_item(other.id, &property_item()).await.unwrap();
    bill(&s, other.id, Period::parse("2026-01").unwrap()).await;
    let far_lines = s
        .bill_lines(&LineQuery {
            estate_id: other.id,
            objects: vec![(ObjectKind::Room, far_room.id)],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(far_lines.len(), 1);
    assert!(
        s.bill_lines(&LineQuery {
            estate_id: e.id,
            objects: vec![(ObjectKind::Room, far_room.id)],
            ..Default::default()
        })
        .await
        .unwrap()
        .is_empty()
    );
    assert!(
        s.bill_lines(&LineQuery {
            estate_id: e.id,
            line_ids: vec![far_lines[0].id],
            ..Default::default()
        })
        .await
        .unwrap()
        .is_empty()
    );
    let property = open
        .iter()
        .find(|l| l.category == Category::Property)
        .unwrap();
    assert!(
        property.late_fee(date(2026, 6, 1)).is_none(),
        "no late fee unless the item enables it"
    );
}

/// A payment pays the oldest line first, late fee before principal.
pub async fn payments_allocate_oldest_first(s: Arc<dyn Store>) {
    let (e, u, _, sp) = billed_estate(&s).await;
    bill(&s, e.id, Period::parse("2026-01").unwrap()).await;
    bill(&s, e.id, Period::parse("2026-02").unwrap()).await;
    let pay = NewPayment {
        estate_id: e.id,
        objects: vec![(ObjectKind::Space, sp.id)],
        line_ids: vec![],
        amount: Fen(40000),
        method: "cash".into(),
        paid_on: date(2026, 2, 15),
        at: 1,
        recorded_by: Some(u.id),
        idempotency_key: None,
        booking_id: None,
        offline: false,
        only_due_now: false,
    };
    let rec = s.record_payment(&pay).await.unwrap();
    assert_eq!(rec.allocation.len(), 2);
    assert_eq!(
        (rec.allocation[0].late_fee, rec.allocation[0].principal),
        (Fen(465), Fen(30000))
    );
    assert_eq!(
        (rec.allocation[1].late_fee, rec.allocation[1].principal),
        (Fen(0), Fen(9535))
    );
    let lines = s
        .bill_lines(&LineQuery {
            estate_id: e.id,
            objects: vec![(ObjectKind::Space, sp.id)],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(lines[0].status, LineStatus::Paid);
    assert_eq!(lines[1].status, LineStatus::PartlyPaid);
    // After the payment the fee accrues on the smaller principal: 20465 × 0.05% × 10 days.
    let c = lines[1].late_fee(date(2026, 3, 25)).unwrap();
    assert_eq!((c.base, c.days, c.accrual), (Fen(20465), 38, Fen(389)));
}

/// Retries with the same key record once; overpaying changes nothing.
pub async fn payments_are_idempotent_and_never_overpay(s: Arc<dyn Store>) {
    let (e, _, r, _) = billed_estate(&s).await;
    bill(&s, e.id, Period::parse("2026-01").unwrap()).await;
    let pay = |amount: i64, key: Option<&str>| NewPayment {
        estate_id: e.id,
        objects: vec![(ObjectKind::Room, r.id)],
        line_ids: vec![],
        amount: Fen(amount),
        method: "cash".into(),
        paid_on: date(2026, 1, 20),
        at: 1,
        recorded_by: None,
        idempotency_key: key.map(String::from),
        booking_id: None,
        offline: false,
        only_due_now: false,
    };
    let over = s.record_payment(&pay(22376, None)).await;
    assert!(
        matches!(over, Err(StoreError::Conflict(ref m)) if m.contains("more than")),
        "{over:?}"
    );
    let a = s.record_payment(&pay(10000, Some("k1"))).await.unwrap();
    let b = s.record_payment(&pay(10000, Some("k1"))).await.unwrap();
    assert!(!a.replayed && b.replayed);
    assert_eq!(a.id, b.id);
    // The same key in another estate never answers this estate's payment.
    let other = s
        .create_estate(
            e.company_id,
            &EstateInput {
                code: EstateCode::parse("next-door").unwrap(),
                name: "x".into(),
                timezone: "Asia/Shanghai".into(),
                office: String::new(),
            },
        )
        .await
        .unwrap();
    let far_room = s
        .create_room(other.id, &room("1", "101", "50"))
        .await
        .unwrap();
    s.create_fee_item(other.id, &property_item()).await.unwrap();
    bill(&s, other.id, Period::parse("2026-01").unwrap()).await;
    let far = s
        .record_payment(&NewPayment {
            estate_id: other.id,
            objects: vec![(ObjectKind::Room, far_room.id)],
            ..pay(1000, Some("k1"))
        })
        .await;
    assert!(
        !matches!(far, Ok(ref p) if p.id == a.id),
        "another estate's key answered this estate's payment: {far:?}"
    );
    let line = &s
        .bill_lines(&LineQuery {
            estate_id: e.id,
            objects: vec![(ObjectKind::Room, r.id)],
            ..Default::default()
        })
        .await
        .unwrap()[0];
    assert_eq!(line.paid_principal, Fen(10000));
    assert!(matches!(
        s.record_payment(&pay(0, None)).await,
        Err(StoreError::Invalid(_))
    ));
}

/// Two collectors paying the same lines at once never take more than is owed.
pub async fn concurrent_payments_never_overpay(s: Arc<dyn Store>) {
    let (e, _, r, _) = billed_estate(&s).await;
    bill(&s, e.id, Period::parse("2026-01").unwrap()).await;
    let pay = NewPayment {
        estate_id: e.id,
        objects: vec![(ObjectKind::Room, r.id)],
        line_ids: vec![],
        amount: Fen(22375),
        method: "cash".into(),
        paid_on: date(2026, 1, 20),
        at: 1,
        recorded_by: None,
        idempotency_key: None,
        booking_id: None,
        offline: false,
        only_due_now: false,
    };
    let (a, b) = tokio::join!(s.record_payment(&pay), s.record_payment(&pay));
    assert_eq!(a.is_ok() as u8 + b.is_ok() as u8, 1, "{a:?} {b:?}");
    let line = &s
        .bill_lines(&LineQuery {
            estate_id: e.id,
            objects: vec![(ObjectKind::Room, r.id)],
            ..Default::default()
        })
        .await
        .unwrap()[0];
    assert_eq!(
        (line.paid_principal, line.status),
        (Fen(22375), LineStatus::Paid)
    );
}

/// Waivers keep who, when and why; a dispute stops accrual.
pub async fn waivers_and_disputes(s: Arc<dyn Store>) {
    let (e, u, _, sp) = billed_estate(&s).await;
    bill(&s, e.id, Period::parse("2026-01").unwrap()).await;
    let lines = s
        .bill_lines(&LineQuery {
            estate_id: e.id,
            objects: vec![(ObjectKind::Space, sp.id)],
            ..Default::default()
        })
        .await
        .unwrap();
    let id = lines[0].id;
    let act = |reason: &str| StaffAct {
        user_id: u.id,
        reason: reason.into(),
        at: 1_700_000_000,
    };
    assert!(matches!(
        s.waive_late_fee(e.id, id, &act(" ")).await,
        Err(StoreError::Invalid(_))
    ));
    let l = s
        .set_dispute(e.id, id, true, date(2026, 1, 25), &act("业主称车位被占用"))
        .await
        .unwrap();
    assert_eq!(l.late_fee(date(2026, 6, 1)).unwrap().days, 10);
    let l = s
        .set_dispute(e.id, id, false, date(2026, 3, 1), &act("已核实"))
        .await
        .unwrap();
    let c = l.late_fee(date(2026, 3, 11)).unwrap();
    assert_eq!(
        (c.accrued_before, c.days, c.total),
        (Fen(150), 10, Fen(300))
    );
    let l = s
        .waive_late_fee(e.id, id, &act("老人独居，经理批准"))
        .await
        .unwrap();
    let w = l.late_fee_waiver.clone().unwrap();
    assert_eq!((w.by.as_str(), w.at), ("财务小王", 1_700_000_000));
    assert_eq!(l.late_fee(date(2026, 6, 1)).unwrap().outstanding, Fen(0));
    assert!(matches!(
        s.waive_late_fee(e.id, id, &act("again")).await,
        Err(StoreError::Conflict(_))
    ));
    let room_line = s
        .bill_lines(&LineQuery {
            estate_id: e.id,
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.object_kind == ObjectKind::Room)
        .unwrap();
    let l = s
        .waive_line(e.id, room_line.id, &act("空置房减免"))
        .await
        .unwrap();
    assert_eq!(l.status, LineStatus::Waived);
    assert_eq!(l.principal_outstanding(), Fen(0));
    assert!(matches!(
        s.waive_line(e.id, room_line.id, &act("again")).await,
        Err(StoreError::Conflict(_))
    ));
}

/// Metered amounts are entered per room and period, all or nothing, and billed as entered.
pub async fn entered_amounts_bill_once_all_or_nothing(s: Arc<dyn Store>) {
    let (e, _, r, _) = billed_estate(&s).await;
    let water = s
        .create_fee_item(
            e.id,
            &FeeItemSpec {
                code: "water".into(),
                name: "代收水费".into(),
                category: Category::OnBehalf,
                basis: Basis::Entered,
                cycle: Cycle::Monthly,
                price: Fen(0),
                due_day: 25,
                late_fee: LateFeePolicy::OFF,
            },
        )
        .await
        .unwrap();
    let p = Period::parse("2026-04").unwrap();
    let other = s
        .create_estate(
            e.company_id,
            &EstateInput {
                code: EstateCode::parse("far").unwrap(),
                name: "x".into(),
                timezone: "Asia/Shanghai".into(),
                office: String::new(),
            },
        )
        .await
        .unwrap();
    let foreign = s
        .create_room(other.id, &room("9", "901", "50"))
        .await
        .unwrap();
    let bad = s
        .set_entered_amounts(
            e.id,
            water.id,
            p,
            &[(r.id, Fen(3560)), (foreign.id, Fen(100))],
        )
        .await;
    assert!(matches!(bad, Err(StoreError::NotFound(_))), "{bad:?}");
    assert!(
        s.billing_inputs(e.id, p).await.unwrap().entered.is_empty(),
        "nothing entered after a refused batch"
    );
    assert!(matches!(
        s.set_entered_amounts(e.id, water.id, p, &[(r.id, Fen(-1))])
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        s.set_entered_amounts(e.id, water.id, p, &[(r.id, Fen(3560))])
            .await
            .unwrap(),
        1
    );
    s.set_entered_amount(e.id, water.id, r.id, p, Fen(3580))
        .await
        .unwrap();
    let inputs = s.billing_inputs(e.id, p).await.unwrap();
    assert_eq!(inputs.entered.get(&(water.id, r.id)), Some(&Fen(3580)));
    let parking = s
        .list_fee_items(e.id)
        .await
        .unwrap()
        .into_iter()
        .find(|i| i.spec.code == "parking")
        .unwrap();
    assert!(matches!(
        s.set_entered_amounts(e.id, parking.id, p, &[(r.id, Fen(1))])
            .await,
        Err(StoreError::Invalid(_))
    ));
}

/// A rate limit counts each of many parallel hits exactly once, starts a
/// new window when the old one ended, and forgets a key on reset.
pub async fn rate_limits_count_every_parallel_hit(s: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.rate_hit("login-user:admin", 1_000, 600).await.unwrap()
        }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        let w = t.await.unwrap();
        assert_eq!(w.window_start, 1_000);
        seen.push(w.hits);
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=40).collect::<Vec<u32>>(),
        "each hit counted once"
    );
    assert_eq!(
        s.rate_peek("login-user:admin", 1_100, 600)
            .await
            .unwrap()
            .hits,
        40
    );
    // Another key is separate.
    assert_eq!(
        s.rate_hit("login-user:other", 1_100, 600)
            .await
            .unwrap()
            .hits,
        1
    );
    // The window ends 600 s after it began: the next hit starts a new one.
    let w = s.rate_hit("login-user:admin", 1_600, 600).await.unwrap();
    assert_eq!((w.hits, w.window_start), (1, 1_600));
    assert_eq!(
        s.rate_peek("login-user:admin", 2_300, 600)
            .await
            .unwrap()
            .hits,
        0
    );
    s.rate_reset("login-user:admin", 1_650).await.unwrap();
    assert_eq!(
        s.rate_peek("login-user:admin", 1_650, 600)
            .await
            .unwrap()
            .hits,
        0
    );
    assert_eq!(
        s.rate_peek("login-user:other", 1_650, 600)
            .await
            .unwrap()
            .hits,
        1
    );
}
