//! Fee items: what is charged, on what basis, how often, and the late-fee
//! policy the service contract provides for.

use crate::{DomainError, Fen};
use serde::{Deserialize, Serialize};

/// The category every breakdown groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 物业费 and other property-service charges.
    Property,
    /// 车位费.
    Parking,
    /// 代收代付: collected on behalf of a third party (water, garbage …).
    OnBehalf,
    /// Anything else.
    Other,
}

/// How an item's amount is computed for one object and period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Price per m² of the room's floor area.
    PerArea,
    /// A fixed price per room.
    PerRoom,
    /// A fixed price per parking space that has an owner.
    PerSpace,
    /// An amount entered for each room and period (e.g. metered water).
    Entered,
}

/// How often an item is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cycle {
    /// Every month.
    Monthly,
    /// Once a year, in the January run; the price is per year.
    Yearly,
}

/// Upper bound on the late fee of one bill line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "fen", rename_all = "snake_case")]
pub enum LateFeeCap {
    /// No cap.
    None,
    /// Not above the line's unpaid principal.
    Principal,
    /// Not above a fixed amount.
    Fixed(Fen),
}

/// A contractual late-fee rule (滞纳金). Off unless enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LateFeePolicy {
    /// Whether the contract provides for a late fee at all.
    pub enabled: bool,
    /// Days after the due date before accrual starts.
    pub grace_days: u32,
    /// Daily rate in parts per million: 万分之五 (0.05 %/day) = 500.
    pub daily_rate_ppm: u32,
    /// Cap on the accrued fee.
    pub cap: LateFeeCap,
}

/// Highest daily rate accepted: 1 %/day, already far above what courts uphold.
pub const MAX_DAILY_RATE_PPM: u32 = 10_000;

impl LateFeePolicy {
    /// No late fee.
    pub const OFF: LateFeePolicy = LateFeePolicy {
        enabled: false,
        grace_days: 0,
        daily_rate_ppm: 0,
        cap: LateFeeCap::None,
    };
}

impl Category {
    /// Stable storage code.
    pub fn code(self) -> &'static str {
        match self {
            Category::Property => "property",
            Category::Parking => "parking",
            Category::OnBehalf => "on_behalf",
            Category::Other => "other",
        }
    }
    /// Parses a storage code.
    pub fn from_code(s: &str) -> Result<Category, DomainError> {
        Ok(match s {
            "property" => Category::Property,
            "parking" => Category::Parking,
            "on_behalf" => Category::OnBehalf,
            "other" => Category::Other,
            _ => {
                return Err(DomainError::invalid(
                    "category",
                    format!("unknown category {s:?}; use property, parking, on_behalf or other"),
                ));
            }
        })
    }
    /// All categories in display order.
    pub const ALL: [Category; 4] = [
        Category::Property,
        Category::Parking,
        Category::OnBehalf,
        Category::Other,
    ];
}

impl Basis {
    /// Stable storage code.
    pub fn code(self) -> &'static str {
        match self {
            Basis::PerArea => "per_area",
            Basis::PerRoom => "per_room",
            Basis::PerSpace => "per_space",
            Basis::Entered => "entered",
        }
    }
    /// Parses a storage code.
    pub fn from_code(s: &str) -> Result<Basis, DomainError> {
        Ok(match s {
            "per_area" => Basis::PerArea,
            "per_room" => Basis::PerRoom,
            "per_space" => Basis::PerSpace,
            "entered" => Basis::Entered,
            _ => {
                return Err(DomainError::invalid(
                    "basis",
                    format!("unknown basis {s:?}; use per_area, per_room, per_space or entered"),
                ));
            }
        })
    }
    /// All bases in display order.
    pub const ALL: [Basis; 4] = [
        Basis::PerArea,
        Basis::PerRoom,
        Basis::PerSpace,
        Basis::Entered,
    ];
}

impl Cycle {
    /// Stable storage code.
    pub fn code(self) -> &'static str {
        match self {
            Cycle::Monthly => "monthly",
            Cycle::Yearly => "yearly",
        }
    }
    /// Parses a storage code.
    pub fn from_code(s: &str) -> Result<Cycle, DomainError> {
        Ok(match s {
            "monthly" => Cycle::Monthly,
            "yearly" => Cycle::Yearly,
            _ => {
                return Err(DomainError::invalid(
                    "cycle",
                    format!("unknown cycle {s:?}; use monthly or yearly"),
                ));
            }
        })
    }
}

impl LateFeeCap {
    /// Storage form: (kind code, fixed amount).
    pub fn to_parts(self) -> (&'static str, i64) {
        match self {
            LateFeeCap::None => ("none", 0),
            LateFeeCap::Principal => ("principal", 0),
            LateFeeCap::Fixed(f) => ("fixed", f.0),
        }
    }
    /// Parses the storage form.
    pub fn from_parts(kind: &str, fen: i64) -> Result<LateFeeCap, DomainError> {
        Ok(match kind {
            "none" => LateFeeCap::None,
            "principal" => LateFeeCap::Principal,
            "fixed" => LateFeeCap::Fixed(Fen(fen)),
            _ => {
                return Err(DomainError::invalid(
                    "late_fee_cap",
                    format!("unknown cap {kind:?}; use none, principal or fixed"),
                ));
            }
        })
    }
}

/// The editable definition of a fee item, validated as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeItemSpec {
    /// Short code unique in the estate, e.g. `property`.
    pub code: String,
    /// Display name, e.g. 物业费.
    pub name: String,
    /// Breakdown category.
    pub category: Category,
    /// How the amount is computed.
    pub basis: Basis,
    /// Billing cycle.
    pub cycle: Cycle,
    /// Unit price in fen (per m², per room, per space; per year for yearly items).
    /// Unused for entered items.
    pub price: Fen,
    /// Day of the month the bill is due (1–31, clamped to the month's end).
    pub due_day: u8,
    /// Late-fee rule.
    pub late_fee: LateFeePolicy,
}

/// Largest unit price accepted: 100,000 yuan.
const MAX_PRICE_FEN: i64 = 10_000_000;

impl FeeItemSpec {
    /// Checks every field; the error names the first field at fault.
    pub fn validate(&self) -> Result<(), DomainError> {
        let code_ok = !self.code.is_empty()
            && self.code.len() <= 32
            && self
                .code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !code_ok {
            return Err(DomainError::invalid(
                "code",
                format!(
                    "{:?} must be 1–32 characters of a-z, 0-9, _ or -",
                    self.code
                ),
            ));
        }
        if self.name.trim().is_empty() || self.name.chars().count() > 40 {
            return Err(DomainError::invalid("name", "must be 1–40 characters"));
        }
        if self.basis != Basis::Entered {
            if self.price.0 <= 0 {
                return Err(DomainError::invalid(
                    "price",
                    format!("must be greater than 0, got {}", self.price),
                ));
            }
            if self.price.0 > MAX_PRICE_FEN {
                return Err(DomainError::invalid(
                    "price",
                    format!(
                        "{} is not a plausible unit price (at most ¥100000.00)",
                        self.price
                    ),
                ));
            }
        }
        if self.basis == Basis::Entered && self.cycle != Cycle::Monthly {
            return Err(DomainError::invalid(
                "cycle",
                "entered items are billed monthly",
            ));
        }
        if !(1..=31).contains(&self.due_day) {
            return Err(DomainError::invalid(
                "due_day",
                format!("must be 1–31, got {}", self.due_day),
            ));
        }
        let lf = &self.late_fee;
        if lf.enabled {
            if self.category == Category::OnBehalf {
                return Err(DomainError::invalid(
                    "late_fee",
                    "late fees never apply to collected-on-behalf (代收代付) items",
                ));
            }
            if lf.daily_rate_ppm == 0 || lf.daily_rate_ppm > MAX_DAILY_RATE_PPM {
                return Err(DomainError::invalid(
                    "late_fee_rate",
                    format!(
                        "daily rate must be above 0 and at most 1%/day, got {} ppm",
                        lf.daily_rate_ppm
                    ),
                ));
            }
            if lf.grace_days > 366 {
                return Err(DomainError::invalid(
                    "grace_days",
                    format!("must be 0–366, got {}", lf.grace_days),
                ));
            }
            if let LateFeeCap::Fixed(f) = lf.cap
                && (f.0 <= 0 || f.0 > MAX_PRICE_FEN)
            {
                return Err(DomainError::invalid(
                    "late_fee_cap",
                    format!("fixed cap must be above 0 and at most ¥100000.00, got {f}"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> FeeItemSpec {
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

    #[test]
    fn validates() {
        assert!(spec().validate().is_ok());
        let mut s = spec();
        s.price = Fen(-1);
        assert_eq!(s.validate().unwrap_err().field(), "price");
        let mut s = spec();
        s.category = Category::OnBehalf;
        assert_eq!(s.validate().unwrap_err().field(), "late_fee");
        let mut s = spec();
        s.late_fee.daily_rate_ppm = 20_000;
        assert_eq!(s.validate().unwrap_err().field(), "late_fee_rate");
        let mut s = spec();
        s.due_day = 0;
        assert_eq!(s.validate().unwrap_err().field(), "due_day");
        let mut s = spec();
        s.code = "Bad Code".into();
        assert_eq!(s.validate().unwrap_err().field(), "code");
    }
}
