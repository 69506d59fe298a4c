//! "Due now": the one definition of what an owner owes today, used by the
//! owner's pages, the collector's visit screen, overdue notices and
//! receipts alike.
//!
//! A bill line is due now when its due date is on or before today (the
//! estate's local date); what it owes now is its unpaid principal plus its
//! late fee as of today. A line due later is not owed yet: it may only be
//! paid as a prepayment the owner chooses (and only where the estate takes
//! prepayments), and it is always shown apart.

use crate::{Date, Fen, LateFeePolicy, LineState, late_fee};
use serde::Serialize;

/// Whether a line due on `due_date` is owed on `today` (due today counts).
pub fn is_due_now(due_date: Date, today: Date) -> bool {
    due_date <= today
}

/// What one open bill line owes as of a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineDue {
    /// Due on or before the day: owed now. Otherwise a prepayment.
    pub due_now: bool,
    /// Unpaid principal (zero for a waived line).
    pub principal: Fen,
    /// Late fee still owed as of the day (zero when none applies).
    pub late_fee: Fen,
}

impl LineDue {
    /// Principal plus late fee.
    pub fn total(&self) -> Fen {
        self.principal + self.late_fee
    }
}

/// What the line described by `policy` and `line` owes on `today`.
/// `line_waived` is a whole-line waiver: nothing is owed then.
pub fn line_due(
    policy: &LateFeePolicy,
    line: &LineState,
    line_waived: bool,
    today: Date,
) -> LineDue {
    let due_now = is_due_now(line.due_date, today);
    if line_waived {
        return LineDue {
            due_now,
            principal: Fen::ZERO,
            late_fee: Fen::ZERO,
        };
    }
    let principal = Fen((line.principal - line.paid_principal).0.max(0));
    let late_fee = late_fee(policy, line, today)
        .map(|c| c.outstanding)
        .unwrap_or(Fen::ZERO);
    LineDue {
        due_now,
        principal,
        late_fee,
    }
}

/// Totals over many lines, due now and not yet due kept apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DueTotals {
    /// Principal due now.
    pub due_now_principal: Fen,
    /// Late fees as of the day.
    pub due_now_late_fee: Fen,
    /// Everything owed now: principal + late fees of lines due now.
    pub due_now: Fen,
    /// Owed later (an optional prepayment): lines not yet due.
    pub not_yet_due: Fen,
}

/// Sums lines into what is owed now and what is owed later.
pub fn due_totals<I: IntoIterator<Item = LineDue>>(lines: I) -> DueTotals {
    let mut t = DueTotals::default();
    for l in lines {
        if l.due_now {
            t.due_now_principal += l.principal;
            t.due_now_late_fee += l.late_fee;
            t.due_now += l.total();
        } else {
            t.not_yet_due += l.total();
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Category, LateFeeCap};
    use jiff::civil::date;

    fn policy() -> LateFeePolicy {
        LateFeePolicy {
            enabled: true,
            grace_days: 0,
            daily_rate_ppm: 500,
            cap: LateFeeCap::Principal,
        }
    }

    fn line(due: Date, principal: i64) -> LineState {
        LineState {
            category: Category::Parking,
            principal: Fen(principal),
            paid_principal: Fen::ZERO,
            due_date: due,
            checkpoint: None,
            late_fee_paid: Fen::ZERO,
            late_fee_waived: false,
            disputed_since: None,
        }
    }

    #[test]
    fn due_today_counts_and_due_tomorrow_does_not() {
        let today = date(2026, 12, 7);
        assert!(is_due_now(today, today));
        assert!(is_due_now(date(2026, 11, 7), today));
        assert!(!is_due_now(date(2026, 12, 8), today));
        let on_the_day = line_due(&policy(), &line(today, 30_000), false, today);
        assert!(on_the_day.due_now);
        assert_eq!(on_the_day.total(), Fen(30_000));
        let tomorrow = line_due(&policy(), &line(date(2026, 12, 8), 30_000), false, today);
        assert!(!tomorrow.due_now);
        assert_eq!(tomorrow.late_fee, Fen::ZERO);
    }

    #[test]
    fn late_fee_is_as_of_today() {
        let due = date(2026, 11, 7);
        // 30 days × 0.05% × ¥300.00 = ¥4.50 on 12-07; ¥4.65 a day later.
        let d = line_due(&policy(), &line(due, 30_000), false, date(2026, 12, 7));
        assert_eq!(d.late_fee, Fen(450));
        assert_eq!(d.total(), Fen(30_450));
        let d = line_due(&policy(), &line(due, 30_000), false, date(2026, 12, 8));
        assert_eq!(d.late_fee, Fen(465));
        // Partly paid: the late fee runs on what is left.
        let mut half = line(due, 30_000);
        half.paid_principal = Fen(10_000);
        let d = line_due(&policy(), &half, false, date(2026, 12, 7));
        assert_eq!((d.principal, d.late_fee), (Fen(20_000), Fen(300)));
        // A waived line owes nothing.
        let d = line_due(&policy(), &line(due, 30_000), true, date(2026, 12, 7));
        assert_eq!(d.total(), Fen::ZERO);
        assert!(d.due_now);
    }

    #[test]
    fn totals_keep_not_yet_due_apart() {
        let today = date(2026, 12, 7);
        let p = policy();
        let lines = [
            line_due(&p, &line(date(2026, 11, 7), 30_000), false, today),
            line_due(&p, &line(today, 25_000), false, today),
            line_due(&p, &line(date(2027, 1, 7), 20_000), false, today),
        ];
        let t = due_totals(lines);
        assert_eq!(t.due_now_principal, Fen(55_000));
        assert_eq!(t.due_now_late_fee, Fen(450));
        assert_eq!(t.due_now, Fen(55_450));
        assert_eq!(t.not_yet_due, Fen(20_000));
    }
}
