//! Scope in the SQL: an id of another estate is "not found" to every loader
//! and writer that takes an estate, and nothing is written.

use super::{bill, billed_estate, room};
use crate::*;
use doorstep_domain::{
    Basis, Category, Cycle, EstateCode, FeeItemSpec, Fen, LateFeePolicy, ObjectKind, Period,
    PhoneNumber,
};
use std::sync::Arc;

fn not_found<T: std::fmt::Debug>(what: &str, r: StoreResult<T>) {
    assert!(
        matches!(r, Err(StoreError::NotFound(_))),
        "{what} from another estate: {r:?}"
    );
}

fn water() -> FeeItemSpec {
    FeeItemSpec {
        code: "water".into(),
        name: "代收水费".into(),
        category: Category::OnBehalf,
        basis: Basis::Entered,
        cycle: Cycle::Monthly,
        price: Fen(0),
        due_day: 25,
        late_fee: LateFeePolicy::OFF,
    }
}

/// Everything of an estate that a foreign call could have changed.
#[derive(Debug, PartialEq)]
struct Snapshot {
    stats: EstateStats,
    buildings: Vec<Building>,
    rooms: Vec<Room>,
    spaces: Vec<Space>,
    owners: Vec<Owner>,
    items: Vec<FeeItem>,
    lines: Vec<BillLine>,
    entered: Vec<((i64, i64), Fen)>,
    journal: usize,
}

async fn snapshot(s: &Arc<dyn Store>, estate_id: i64, p: Period) -> Snapshot {
    let mut entered: Vec<_> = s
        .billing_inputs(estate_id, p)
        .await
        .unwrap()
        .entered
        .into_iter()
        .collect();
    entered.sort();
    Snapshot {
        stats: s.estate_stats(estate_id).await.unwrap(),
        buildings: s.list_buildings(estate_id).await.unwrap(),
        rooms: s.list_rooms(estate_id, "", 1000, 0).await.unwrap(),
        spaces: s.list_spaces(estate_id, "", 1000, 0).await.unwrap(),
        owners: s.list_owners(estate_id, "", 1000, 0).await.unwrap(),
        items: s.list_fee_items(estate_id).await.unwrap(),
        lines: s
            .bill_lines(&LineQuery {
                estate_id,
                ..Default::default()
            })
            .await
            .unwrap(),
        entered,
        journal: s.journal(None).await.unwrap().len(),
    }
}

/// Another estate's room, space, owner, fee item, entered amounts and bill
/// line, named by id, are not found and stay as they were.
pub async fn objects_of_another_estate_are_not_found(s: Arc<dyn Store>) {
    let (a, u, room_a, space_a) = billed_estate(&s).await;
    let p = Period::parse("2026-01").unwrap();
    let water_a = s.create_fee_item(a.id, &water()).await.unwrap();
    s.set_entered_amount(a.id, water_a.id, room_a.id, p, Fen(3560))
        .await
        .unwrap();
    bill(&s, a.id, p).await;
    let owner_a = s.list_owners(a.id, "", 10, 0).await.unwrap().remove(0);
    let lines_a = s
        .bill_lines(&LineQuery {
            estate_id: a.id,
            objects: vec![(ObjectKind::Space, space_a.id)],
            ..Default::default()
        })
        .await
        .unwrap();
    let line_a = lines_a[0].id;
    let b = s
        .create_estate(
            a.company_id,
            &EstateInput {
                code: EstateCode::parse("other").unwrap(),
                name: "别的小区".into(),
                timezone: "Asia/Shanghai".into(),
                office: String::new(),
            },
        )
        .await
        .unwrap();
    let room_b = s.create_room(b.id, &room("1", "101", "50")).await.unwrap();
    let water_b = s.create_fee_item(b.id, &water()).await.unwrap();
    let before_a = snapshot(&s, a.id, p).await;
    let before_b = snapshot(&s, b.id, p).await;

    not_found("room", s.room(b.id, room_a.id).await);
    not_found("space", s.space(b.id, space_a.id).await);
    not_found("owner", s.owner(b.id, owner_a.id).await);
    not_found("fee item", s.fee_item(b.id, water_a.id).await);
    // A new building name: the refused update must not leave it behind.
    not_found(
        "room update",
        s.update_room(b.id, room_a.id, &room("新楼", "909", "60"))
            .await,
    );
    not_found(
        "space update",
        s.update_space(
            b.id,
            space_a.id,
            &SpaceInput {
                code: "X1".into(),
                level: "地下B9".into(),
            },
        )
        .await,
    );
    not_found(
        "owner update",
        s.update_owner(
            b.id,
            owner_a.id,
            &OwnerInput {
                name: "冒名".into(),
                phones: vec![PhoneNumber::parse("13700000009").unwrap()],
                room_ids: vec![room_b.id],
                space_ids: vec![],
            },
        )
        .await,
    );
    let mut cheaper = water();
    cheaper.name = "改名".into();
    not_found(
        "fee item update",
        s.update_fee_item(b.id, water_a.id, &cheaper, false).await,
    );
    not_found(
        "entered amounts of an item",
        s.set_entered_amounts(b.id, water_a.id, p, &[(room_b.id, Fen(1))])
            .await,
    );
    not_found(
        "entered amounts of a room",
        s.set_entered_amounts(b.id, water_b.id, p, &[(room_a.id, Fen(1))])
            .await,
    );
    not_found(
        "entered amounts of a room (item of the estate)",
        s.set_entered_amounts(a.id, water_a.id, p, &[(room_b.id, Fen(1))])
            .await,
    );
    let act = StaffAct {
        user_id: u.id,
        reason: "越权".into(),
        at: 1_700_000_000,
    };
    not_found("bill line", s.bill_line(b.id, line_a).await);
    not_found(
        "late fee waiver",
        s.waive_late_fee(b.id, line_a, &act).await,
    );
    not_found("line waiver", s.waive_line(b.id, line_a, &act).await);
    not_found(
        "dispute",
        s.set_dispute(b.id, line_a, true, jiff::civil::date(2026, 2, 1), &act)
            .await,
    );

    assert_eq!(snapshot(&s, a.id, p).await, before_a);
    assert_eq!(snapshot(&s, b.id, p).await, before_b);
    // Named with their own estate, the same objects load.
    let room_now = s.room(a.id, room_a.id).await.unwrap();
    assert!(before_a.rooms.contains(&room_now), "{room_now:?}");
    assert_eq!(s.bill_line(a.id, line_a).await.unwrap(), lines_a[0]);
}
