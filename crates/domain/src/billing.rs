//! The billing run's pure core: which lines a fee item yields for a period.

use crate::{Area, Basis, Cycle, Date, FeeItemSpec, Fen, ObjectKind, Period, area_times_price};
use serde::Serialize;

/// An object that may be billed: a room (with its area) or an owned space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillTarget {
    /// Room or space.
    pub kind: ObjectKind,
    /// Its id.
    pub id: i64,
    /// Floor area, for rooms.
    pub area: Option<Area>,
    /// Amount entered for this period, for entered items.
    pub entered: Option<Fen>,
}

/// A bill line to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewLine {
    /// Room or space.
    pub object_kind: ObjectKind,
    /// Its id.
    pub object_id: i64,
    /// The fee item.
    pub fee_item_id: i64,
    /// The period billed.
    pub period: Period,
    /// Unit price in fen.
    pub unit_price: Fen,
    /// Quantity in hundredths (area in centi-m², or 100 for one unit).
    pub quantity_centi: i64,
    /// The amount.
    pub amount: Fen,
    /// When it is due.
    pub due_date: Date,
}

impl Basis {
    /// Which kind of object this basis bills.
    pub fn object_kind(self) -> ObjectKind {
        match self {
            Basis::PerSpace => ObjectKind::Space,
            Basis::PerArea | Basis::PerRoom | Basis::Entered => ObjectKind::Room,
        }
    }
}

impl FeeItemSpec {
    /// Whether the item is billed in `period` (yearly items only in January).
    pub fn bills_in(&self, period: Period) -> bool {
        match self.cycle {
            Cycle::Monthly => true,
            Cycle::Yearly => period.month() == 1,
        }
    }

    /// The due date of this item's line for `period`.
    pub fn due_date(&self, period: Period) -> Date {
        period.day(self.due_day)
    }
}

/// The lines `item` yields for `period` over `targets`. Targets of the wrong
/// kind, rooms without area for per-area items and entered items without an
/// amount yield nothing.
pub fn lines_for_period(
    item_id: i64,
    item: &FeeItemSpec,
    period: Period,
    targets: &[BillTarget],
) -> Vec<NewLine> {
    if !item.bills_in(period) {
        return Vec::new();
    }
    let kind = item.basis.object_kind();
    let due_date = item.due_date(period);
    targets
        .iter()
        .filter(|t| t.kind == kind)
        .filter_map(|t| {
            let (unit_price, quantity_centi, amount) = match item.basis {
                Basis::PerArea => {
                    let area = t.area?;
                    (item.price, area.centi(), area_times_price(area, item.price))
                }
                Basis::PerRoom | Basis::PerSpace => (item.price, 100, item.price),
                Basis::Entered => {
                    let a = t.entered.filter(|a| a.0 > 0)?;
                    (a, 100, a)
                }
            };
            Some(NewLine {
                object_kind: t.kind,
                object_id: t.id,
                fee_item_id: item_id,
                period,
                unit_price,
                quantity_centi,
                amount,
                due_date,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Category, LateFeePolicy};

    fn item(basis: Basis, cycle: Cycle, price: i64) -> FeeItemSpec {
        FeeItemSpec {
            code: "x".into(),
            name: "x".into(),
            category: Category::Property,
            basis,
            cycle,
            price: Fen(price),
            due_day: 31,
            late_fee: LateFeePolicy::OFF,
        }
    }

    fn targets() -> Vec<BillTarget> {
        vec![
            BillTarget {
                kind: ObjectKind::Room,
                id: 1,
                area: Some(Area::parse("89.53").unwrap()),
                entered: Some(Fen(1234)),
            },
            BillTarget {
                kind: ObjectKind::Room,
                id: 2,
                area: Some(Area::parse("120").unwrap()),
                entered: None,
            },
            BillTarget {
                kind: ObjectKind::Space,
                id: 7,
                area: None,
                entered: None,
            },
        ]
    }

    #[test]
    fn per_area_rounds_once() {
        let p = Period::parse("2026-02").unwrap();
        let l = lines_for_period(9, &item(Basis::PerArea, Cycle::Monthly, 235), p, &targets());
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].amount, Fen(21040));
        assert_eq!(l[1].amount, Fen(28200));
        assert_eq!(l[0].due_date, jiff::civil::date(2026, 2, 28));
    }

    #[test]
    fn per_space_entered_and_yearly() {
        let p = Period::parse("2026-03").unwrap();
        let l = lines_for_period(
            1,
            &item(Basis::PerSpace, Cycle::Monthly, 30000),
            p,
            &targets(),
        );
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].object_id, 7);
        let l = lines_for_period(1, &item(Basis::Entered, Cycle::Monthly, 0), p, &targets());
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].amount, Fen(1234));
        assert!(
            lines_for_period(
                1,
                &item(Basis::PerRoom, Cycle::Yearly, 18000),
                p,
                &targets()
            )
            .is_empty()
        );
        let jan = Period::parse("2027-01").unwrap();
        assert_eq!(
            lines_for_period(
                1,
                &item(Basis::PerRoom, Cycle::Yearly, 18000),
                jan,
                &targets()
            )
            .len(),
            2
        );
    }
}
