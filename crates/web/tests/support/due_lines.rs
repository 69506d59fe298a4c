//! The bill lines the "due now" tests share (`due_now.rs`, `qr_prepay.rs`):
//! a room of a new owner (the including test's `PHONE`) with a line due last
//! month (with a late fee), one due today and one due next month.

use super::PHONE;
use doorstep_app::App;
use doorstep_domain::{
    Area, Basis, Category, Cycle, Date, FeeItemSpec, Fen, LateFeeCap, LateFeePolicy, NewLine,
    ObjectKind, Period, PhoneNumber,
};

/// Principal of the lines due last month, today and next month.
pub(crate) const LAST: i64 = 30_000;
pub(crate) const TODAY: i64 = 25_000;
pub(crate) const NEXT: i64 = 20_000;

pub(crate) fn policy() -> LateFeePolicy {
    LateFeePolicy {
        enabled: true,
        grace_days: 0,
        daily_rate_ppm: 500,
        cap: LateFeeCap::Principal,
    }
}

pub(crate) struct Fixture {
    pub(crate) room: i64,
    /// Line ids: due last month, today, next month.
    pub(crate) lines: [i64; 3],
    /// Their due dates.
    pub(crate) due: [Date; 3],
    /// The estate's date when the lines were made.
    pub(crate) today: Date,
}

pub(crate) fn pg_url() -> String {
    std::env::var("DOORSTEP_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub(crate) fn estate_today() -> Date {
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
    jiff::Timestamp::now().to_zoned(tz).date()
}

/// A new room 3号楼203室 of a new owner, with three lines of a fee item with
/// a late fee: due a month ago, today and in a month.
pub(crate) async fn fixture(app: &App, estate_id: i64) -> Fixture {
    let store = &app.store;
    let room = store
        .create_room(
            estate_id,
            &doorstep_store::RoomInput {
                building: "3".into(),
                entrance: String::new(),
                floor: 2,
                number: "203".into(),
                area: Area::parse("80").unwrap(),
            },
        )
        .await
        .unwrap();
    store
        .create_owner(
            estate_id,
            &doorstep_store::OwnerInput {
                name: "王五".into(),
                phones: vec![PhoneNumber::parse(PHONE).unwrap()],
                room_ids: vec![room.id],
                space_ids: vec![],
            },
        )
        .await
        .unwrap();
    let today = estate_today();
    let item = store
        .create_fee_item(
            estate_id,
            &FeeItemSpec {
                code: "mgmt".into(),
                name: "综合管理费".into(),
                category: Category::Property,
                basis: Basis::PerRoom,
                cycle: Cycle::Monthly,
                price: Fen(LAST),
                due_day: 1,
                late_fee: policy(),
            },
        )
        .await
        .unwrap();
    let month = jiff::Span::new().months(1);
    let due = [
        today.checked_sub(month).unwrap(),
        today,
        today.checked_add(month).unwrap(),
    ];
    let new = |due: Date, amount: i64| NewLine {
        object_kind: ObjectKind::Room,
        object_id: room.id,
        fee_item_id: item.id,
        period: Period::of(due),
        unit_price: Fen(amount),
        quantity_centi: 100,
        amount: Fen(amount),
        due_date: due,
    };
    let made = store
        .insert_bill_lines(
            estate_id,
            &[new(due[0], LAST), new(due[1], TODAY), new(due[2], NEXT)],
            doorstep_app::now(),
        )
        .await
        .unwrap();
    assert_eq!(made, 3);
    let lines = store
        .bill_lines(&doorstep_store::LineQuery {
            estate_id,
            objects: vec![(ObjectKind::Room, room.id)],
            ..Default::default()
        })
        .await
        .unwrap();
    let id_of = |d: Date| lines.iter().find(|l| l.due_date == d).unwrap().id;
    Fixture {
        room: room.id,
        lines: [id_of(due[0]), id_of(due[1]), id_of(due[2])],
        due,
        today,
    }
}

/// The next Monday–Friday after today in China (evening windows 19–21).
pub(crate) fn next_weekday() -> Date {
    let mut d = estate_today();
    loop {
        d = d.tomorrow().unwrap();
        if d.weekday().to_monday_one_offset() <= 5 {
            return d;
        }
    }
}
