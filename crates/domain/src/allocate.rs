//! Allocation of a payment to open bill lines: oldest first, and within a
//! line the late fee before the principal (Civil Code art. 561 order:
//! interest before principal).

use crate::{Date, Fen, Period};
use serde::Serialize;

/// An open bill line as the allocator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenLine {
    /// The line's id.
    pub line_id: i64,
    /// Its due date (oldest first).
    pub due_date: Date,
    /// Its period (tie-break).
    pub period: Period,
    /// Late fee still owed as of the payment date.
    pub late_fee_outstanding: Fen,
    /// Principal still owed.
    pub principal_outstanding: Fen,
}

/// What a payment pays on one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineAllocation {
    /// The line.
    pub line_id: i64,
    /// Paid towards its late fee.
    pub late_fee: Fen,
    /// Paid towards its principal.
    pub principal: Fen,
}

/// The whole allocation of one payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allocation {
    /// Per line, in the order paid.
    pub lines: Vec<LineAllocation>,
    /// What was left over (more than was owed).
    pub unapplied: Fen,
}

/// Allocates `amount` over `lines`, oldest due date first.
pub fn allocate(amount: Fen, lines: &[OpenLine]) -> Allocation {
    let mut order: Vec<&OpenLine> = lines.iter().collect();
    order.sort_by_key(|l| (l.due_date, l.period, l.line_id));
    let mut left = Fen(amount.0.max(0));
    let mut out = Vec::new();
    for l in order {
        if left.0 == 0 {
            break;
        }
        let late = left.min(Fen(l.late_fee_outstanding.0.max(0)));
        left -= late;
        let principal = left.min(Fen(l.principal_outstanding.0.max(0)));
        left -= principal;
        if late.0 > 0 || principal.0 > 0 {
            out.push(LineAllocation {
                line_id: l.line_id,
                late_fee: late,
                principal,
            });
        }
    }
    Allocation {
        lines: out,
        unapplied: left,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn line(id: i64, m: i8, late: i64, principal: i64) -> OpenLine {
        OpenLine {
            line_id: id,
            due_date: date(2026, m, 15),
            period: Period::new(2026, i32::from(m)).unwrap(),
            late_fee_outstanding: Fen(late),
            principal_outstanding: Fen(principal),
        }
    }

    #[test]
    fn oldest_first_late_fee_before_principal() {
        let lines = [
            line(3, 3, 0, 30000),
            line(1, 1, 465, 30000),
            line(2, 2, 100, 30000),
        ];
        let a = allocate(Fen(40000), &lines);
        assert_eq!(
            a.lines[0],
            LineAllocation {
                line_id: 1,
                late_fee: Fen(465),
                principal: Fen(30000)
            }
        );
        assert_eq!(
            a.lines[1],
            LineAllocation {
                line_id: 2,
                late_fee: Fen(100),
                principal: Fen(9435)
            }
        );
        assert_eq!(a.lines.len(), 2);
        assert_eq!(a.unapplied, Fen(0));
        let total: Fen = a.lines.iter().map(|l| l.late_fee + l.principal).sum();
        assert_eq!(total, Fen(40000));
    }

    #[test]
    fn overpayment_is_left_unapplied() {
        let a = allocate(Fen(50000), &[line(1, 1, 0, 30000)]);
        assert_eq!(a.unapplied, Fen(20000));
    }
}
