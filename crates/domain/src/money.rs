//! Money in integer fen and floor areas in hundredths of a square metre.
//!
//! Area × price is rounded half-up to the fen in exactly one place:
//! [`area_times_price`].

use crate::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of money in fen (1 yuan = 100 fen). May be negative in sums.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

/// Largest amount accepted from input: 100 million yuan.
const MAX_INPUT_FEN: i64 = 10_000_000_000;

impl Fen {
    /// Zero fen.
    pub const ZERO: Fen = Fen(0);

    /// Parses a yuan amount such as `300`, `2.5`, `1,234.56` or `¥12.30`.
    /// At most two decimals; negative amounts are rejected.
    pub fn parse_yuan(field: &'static str, s: &str) -> Result<Fen, DomainError> {
        let t: String = s
            .trim()
            .trim_start_matches(['¥', '￥'])
            .trim_end_matches('元')
            .chars()
            .filter(|c| *c != ',' && *c != '，')
            .collect();
        let t = t.trim();
        if t.is_empty() {
            return Err(DomainError::invalid(field, "is empty"));
        }
        if t.starts_with('-') {
            return Err(DomainError::invalid(
                field,
                format!("must not be negative: {s}"),
            ));
        }
        let (int, frac) = match t.split_once('.') {
            Some((i, f)) => (i, f),
            None => (t, ""),
        };
        if int.is_empty() && frac.is_empty()
            || !int.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
        {
            return Err(DomainError::invalid(
                field,
                format!("not an amount in yuan: {s}"),
            ));
        }
        if frac.len() > 2 {
            return Err(DomainError::invalid(
                field,
                format!("more than two decimals (fen): {s}"),
            ));
        }
        if int.len() > 12 {
            return Err(DomainError::invalid(
                field,
                format!("amount too large: {s}"),
            ));
        }
        let yuan: i64 = if int.is_empty() {
            0
        } else {
            int.parse()
                .map_err(|_| DomainError::invalid(field, format!("not a number: {s}")))?
        };
        let mut f: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse()
                .map_err(|_| DomainError::invalid(field, format!("not a number: {s}")))?
        };
        if frac.len() == 1 {
            f *= 10;
        }
        let v = yuan * 100 + f;
        if v > MAX_INPUT_FEN {
            return Err(DomainError::invalid(
                field,
                format!("amount too large: {s}"),
            ));
        }
        Ok(Fen(v))
    }

    /// The amount as a plain yuan string with two decimals, e.g. `1234.56`.
    pub fn yuan_string(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", a / 100, a % 100)
    }

    /// The amount with thousands separators, for people: `123456` fen →
    /// `1,234.56` (what [`Fen`]'s `Display` shows after `¥`).
    pub fn grouped(self) -> String {
        let plain = self.yuan_string();
        let (sign, digits) = match plain.strip_prefix('-') {
            Some(rest) => ("-", rest),
            None => ("", plain.as_str()),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, "00"));
        let mut grouped = String::with_capacity(int.len() + int.len() / 3);
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        format!("{sign}{grouped}.{frac}")
    }

    /// The amount as a number of yuan for a spreadsheet cell (Excel keeps
    /// numbers as doubles; exact for any amount below 2^53 fen). Never for
    /// arithmetic.
    pub fn yuan_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// Saturating-free checked add for sums of many lines.
    pub fn checked_add(self, o: Fen) -> Option<Fen> {
        self.0.checked_add(o.0).map(Fen)
    }
}

/// The one way an amount is shown to people: `¥1,234.56` (machine
/// formats — JSON, forms, provider messages, CSV — use
/// [`Fen::yuan_string`]).
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "¥{}", self.grouped())
    }
}

impl std::ops::Add for Fen {
    type Output = Fen;
    fn add(self, o: Fen) -> Fen {
        Fen(self.0 + o.0)
    }
}
impl std::ops::Sub for Fen {
    type Output = Fen;
    fn sub(self, o: Fen) -> Fen {
        Fen(self.0 - o.0)
    }
}
impl std::ops::AddAssign for Fen {
    fn add_assign(&mut self, o: Fen) {
        self.0 += o.0;
    }
}
impl std::ops::SubAssign for Fen {
    fn sub_assign(&mut self, o: Fen) {
        self.0 -= o.0;
    }
}
impl std::iter::Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        Fen(iter.map(|f| f.0).sum())
    }
}

/// A floor area in hundredths of a square metre (m² to two decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Area(i64);

/// Largest plausible floor area of one room: 10,000 m².
const MAX_AREA_CENTI: i64 = 1_000_000;

impl Area {
    /// An area from hundredths of a square metre; must be positive and plausible.
    pub fn from_centi(centi: i64) -> Result<Area, DomainError> {
        if centi <= 0 {
            return Err(DomainError::invalid(
                "area",
                format!("must be greater than 0 m², got {}", fmt_centi(centi)),
            ));
        }
        if centi > MAX_AREA_CENTI {
            return Err(DomainError::invalid(
                "area",
                format!(
                    "{} m² is not a plausible room area (at most 10000 m²)",
                    fmt_centi(centi)
                ),
            ));
        }
        Ok(Area(centi))
    }

    /// Parses `89.5`, `89.50` or `89.50㎡`. At most two decimals.
    pub fn parse(s: &str) -> Result<Area, DomainError> {
        let t = s
            .trim()
            .trim_end_matches(['㎡'])
            .trim_end_matches("m²")
            .trim_end_matches("平方米")
            .trim_end_matches("平米")
            .trim();
        if t.starts_with('-') {
            return Err(DomainError::invalid(
                "area",
                format!("must be greater than 0 m², got {s}"),
            ));
        }
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if int.is_empty()
            || int.len() > 7
            || !int.chars().all(|c| c.is_ascii_digit())
            || !frac.chars().all(|c| c.is_ascii_digit())
        {
            return Err(DomainError::invalid(
                "area",
                format!("not an area in m²: {s:?}"),
            ));
        }
        if frac.len() > 2 {
            return Err(DomainError::invalid(
                "area",
                format!("more than two decimals: {s}"),
            ));
        }
        let i: i64 = int
            .parse()
            .map_err(|_| DomainError::invalid("area", format!("not a number: {s}")))?;
        let mut f: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse()
                .map_err(|_| DomainError::invalid("area", format!("not a number: {s}")))?
        };
        if frac.len() == 1 {
            f *= 10;
        }
        Area::from_centi(i * 100 + f)
    }

    /// Hundredths of a square metre.
    pub fn centi(self) -> i64 {
        self.0
    }
}

fn fmt_centi(c: i64) -> String {
    let sign = if c < 0 { "-" } else { "" };
    let a = c.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&fmt_centi(self.0))
    }
}

/// Area × unit price per m², rounded half-up to the fen. The only place where
/// an area meets a price.
pub fn area_times_price(area: Area, price_per_m2: Fen) -> Fen {
    let product = i128::from(area.0) * i128::from(price_per_m2.0);
    // Both factors are non-negative (validated), so half-up is +50 then floor.
    let rounded = (product + 50).div_euclid(100);
    Fen(i64::try_from(rounded).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_yuan() {
        assert_eq!(Fen::parse_yuan("p", "300").unwrap(), Fen(30000));
        assert_eq!(Fen::parse_yuan("p", "2.5").unwrap(), Fen(250));
        assert_eq!(Fen::parse_yuan("p", "¥1,234.56").unwrap(), Fen(123456));
        assert_eq!(Fen::parse_yuan("p", "0.05").unwrap(), Fen(5));
        assert!(Fen::parse_yuan("p", "-1").is_err());
        assert!(Fen::parse_yuan("p", "1.234").is_err());
        assert!(Fen::parse_yuan("p", "abc").is_err());
        assert!(Fen::parse_yuan("p", "").is_err());
        assert!(Fen::parse_yuan("p", "999999999999").is_err());
    }

    #[test]
    fn formats_yuan() {
        assert_eq!(Fen(123456).to_string(), "¥1,234.56");
        assert_eq!(Fen(123456).grouped(), "1,234.56");
        assert_eq!(Fen(5).grouped(), "0.05");
        assert_eq!(Fen(100_000_000).grouped(), "1,000,000.00");
        assert_eq!(Fen(-123456).to_string(), "¥-1,234.56");
        assert_eq!(Fen(-17).to_string(), "¥-0.17");
        assert_eq!(Fen(150).yuan_f64(), 1.5);
        assert_eq!(Fen(-5).yuan_string(), "-0.05");
    }

    #[test]
    fn area_parse_and_bounds() {
        assert_eq!(Area::parse("89.5").unwrap().centi(), 8950);
        assert_eq!(Area::parse("120.25㎡").unwrap().centi(), 12025);
        assert!(Area::parse("0").is_err());
        assert!(Area::parse("-3").is_err());
        assert!(Area::parse("12.345").is_err());
        assert!(Area::parse("20000").is_err());
        assert!(Area::parse("").is_err());
    }

    #[test]
    fn area_times_price_rounds_half_up_once() {
        // 89.50 m² × 2.50 = 223.75 exactly
        assert_eq!(
            area_times_price(Area::parse("89.5").unwrap(), Fen(250)),
            Fen(22375)
        );
        // 89.53 × 2.35 = 210.3955 -> 210.40
        assert_eq!(
            area_times_price(Area::parse("89.53").unwrap(), Fen(235)),
            Fen(21040)
        );
        // 0.01 × 0.50 = 0.005 -> 0.01 (half rounds up)
        assert_eq!(
            area_times_price(Area::parse("0.01").unwrap(), Fen(50)),
            Fen(1)
        );
        // 0.01 × 0.49 = 0.0049 -> 0.00
        assert_eq!(
            area_times_price(Area::parse("0.01").unwrap(), Fen(49)),
            Fen(0)
        );
    }
}
