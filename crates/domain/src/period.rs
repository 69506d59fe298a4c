//! Billing periods: a calendar month, written `YYYY-MM`.

use crate::{Date, DomainError};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A calendar month such as 2026-03.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Period {
    year: i16,
    month: i8,
}

impl Period {
    /// A period from year and month, validated.
    pub fn new(year: i32, month: i32) -> Result<Period, DomainError> {
        if !(2000..=2100).contains(&year) {
            return Err(DomainError::invalid(
                "period",
                format!("year {year} is outside 2000–2100"),
            ));
        }
        if !(1..=12).contains(&month) {
            return Err(DomainError::invalid(
                "period",
                format!("month {month} is not between 01 and 12"),
            ));
        }
        Ok(Period {
            year: year as i16,
            month: month as i8,
        })
    }

    /// Parses `YYYY-MM` strictly (e.g. `2026-03`; `2026-13` is rejected).
    pub fn parse(s: &str) -> Result<Period, DomainError> {
        let t = s.trim();
        let bad = || {
            DomainError::invalid(
                "period",
                format!("{s:?} is not a period; use YYYY-MM, e.g. 2026-03"),
            )
        };
        let (y, m) = t.split_once('-').ok_or_else(bad)?;
        if y.len() != 4
            || m.len() != 2
            || !y.chars().all(|c| c.is_ascii_digit())
            || !m.chars().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let y: i32 = y.parse().map_err(|_| bad())?;
        let m: i32 = m.parse().map_err(|_| bad())?;
        Period::new(y, m)
    }

    /// The period containing `date`.
    pub fn of(date: Date) -> Period {
        Period {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The year.
    pub fn year(self) -> i32 {
        i32::from(self.year)
    }

    /// The month, 1–12.
    pub fn month(self) -> i32 {
        i32::from(self.month)
    }

    /// The following month.
    pub fn next(self) -> Period {
        if self.month == 12 {
            Period {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Period {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The preceding month.
    pub fn prev(self) -> Period {
        if self.month == 1 {
            Period {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Period {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// Number of days in the month.
    pub fn days(self) -> i8 {
        self.first_day().days_in_month()
    }

    /// The first day of the month.
    pub fn first_day(self) -> Date {
        jiff::civil::date(self.year, self.month, 1)
    }

    /// The given day of this month, clamped to the month's last day
    /// (a due day of 31 falls on 28 February).
    pub fn day(self, day: u8) -> Date {
        let d = (day.max(1) as i8).min(self.days());
        jiff::civil::date(self.year, self.month, d)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl TryFrom<String> for Period {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Period, DomainError> {
        Period::parse(&s)
    }
}

impl From<Period> for String {
    fn from(p: Period) -> String {
        p.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_strictly() {
        assert_eq!(Period::parse("2026-03").unwrap().to_string(), "2026-03");
        assert!(Period::parse("2026-13").is_err());
        assert!(Period::parse("2026-00").is_err());
        assert!(Period::parse("2026-3").is_err());
        assert!(Period::parse("26-03").is_err());
        assert!(Period::parse("2026/03").is_err());
        let e = Period::parse("2026-13").unwrap_err();
        assert!(e.to_string().contains("month 13"), "{e}");
    }

    #[test]
    fn steps_and_days() {
        let p = Period::parse("2026-12").unwrap();
        assert_eq!(p.next().to_string(), "2027-01");
        assert_eq!(p.next().prev(), p);
        assert_eq!(
            Period::parse("2028-02").unwrap().day(31),
            jiff::civil::date(2028, 2, 29)
        );
        assert_eq!(
            Period::parse("2026-02").unwrap().day(31),
            jiff::civil::date(2026, 2, 28)
        );
    }
}
