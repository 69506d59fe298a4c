//! Late fees (滞纳金): simple interest on the unpaid principal, computed as of
//! a date and always shown with its calculation.
//!
//! A line's late fee accrues from the day after `due date + grace days` at the
//! daily rate on the unpaid principal. When a payment is recorded the fee
//! accrued so far is fixed in a checkpoint (date, amount) so later accrual uses
//! the new, smaller principal. A disputed line stops accruing on the day the
//! dispute was raised. Collected-on-behalf items never accrue.

use crate::{Category, Date, Fen, Lang, LateFeeCap, LateFeePolicy};
use serde::Serialize;

/// What the late-fee calculation needs to know about one bill line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineState {
    /// The item's category (on-behalf never accrues).
    pub category: Category,
    /// The line's amount.
    pub principal: Fen,
    /// Principal paid so far.
    pub paid_principal: Fen,
    /// The due date.
    pub due_date: Date,
    /// Late fee fixed at the last payment: (date, amount accrued up to it).
    pub checkpoint: Option<(Date, Fen)>,
    /// Late fee paid so far.
    pub late_fee_paid: Fen,
    /// Staff waived the late fee.
    pub late_fee_waived: bool,
    /// The line is disputed since this date: accrual stops there.
    pub disputed_since: Option<Date>,
}

/// A late fee as of a date, with everything needed to show how it was computed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LateFeeCalc {
    /// Accrual counted from this date (exclusive).
    pub from: Date,
    /// Days counted since `from`.
    pub days: i64,
    /// Daily rate in parts per million.
    pub daily_rate_ppm: u32,
    /// The unpaid principal the rate applies to.
    pub base: Fen,
    /// Fee fixed at earlier payments.
    pub accrued_before: Fen,
    /// days × rate × base, rounded half-up to the fen.
    pub accrual: Fen,
    /// accrued_before + accrual, after the cap.
    pub total: Fen,
    /// The cap that bit, if any.
    pub capped_at: Option<Fen>,
    /// Paid so far.
    pub paid: Fen,
    /// Waived by staff.
    pub waived: bool,
    /// Accrual stopped by a dispute.
    pub frozen: bool,
    /// What is still owed: total − paid, or 0 if waived.
    pub outstanding: Fen,
}

fn add_days(d: Date, n: i64) -> Date {
    d.checked_add(jiff::Span::new().days(n)).unwrap_or(d)
}

/// Whole days from `a` to `b` (negative if `b` is earlier).
pub fn days_between(a: Date, b: Date) -> i64 {
    b.since(a).map(|s| i64::from(s.get_days())).unwrap_or(0)
}

/// The late fee of a line as of `as_of`, or `None` when no late fee applies
/// (policy off, or a collected-on-behalf item).
pub fn late_fee(policy: &LateFeePolicy, line: &LineState, as_of: Date) -> Option<LateFeeCalc> {
    if !policy.enabled || line.category == Category::OnBehalf {
        return None;
    }
    let start = add_days(line.due_date, i64::from(policy.grace_days));
    let (from, accrued_before) = match line.checkpoint {
        Some((d, a)) if d > start => (d, a),
        Some((_, a)) => (start, a),
        None => (start, Fen::ZERO),
    };
    let (end, frozen) = match line.disputed_since {
        Some(d) if d < as_of => (d, true),
        Some(_) => (as_of, true),
        None => (as_of, false),
    };
    let days = days_between(from, end).max(0);
    let base = Fen((line.principal - line.paid_principal).0.max(0));
    let product = i128::from(base.0) * i128::from(policy.daily_rate_ppm) * i128::from(days);
    let accrual = Fen(i64::try_from((product + 500_000) / 1_000_000).unwrap_or(i64::MAX));
    let raw = accrued_before + accrual;
    let limit = match policy.cap {
        LateFeeCap::None => None,
        LateFeeCap::Principal => Some(base.max(line.late_fee_paid)),
        LateFeeCap::Fixed(f) => Some(f.max(line.late_fee_paid)),
    };
    let (total, capped_at) = match limit {
        Some(l) if raw > l => (l, Some(l)),
        _ => (raw, None),
    };
    let outstanding = if line.late_fee_waived {
        Fen::ZERO
    } else {
        Fen((total - line.late_fee_paid).0.max(0))
    };
    Some(LateFeeCalc {
        from,
        days,
        daily_rate_ppm: policy.daily_rate_ppm,
        base,
        accrued_before,
        accrual,
        total,
        capped_at,
        paid: line.late_fee_paid,
        waived: line.late_fee_waived,
        frozen,
        outstanding,
    })
}

/// A daily rate for people: `日万分之五` / `0.05%/day`.
pub fn describe_rate(ppm: u32, lang: Lang) -> String {
    const DIGITS: [&str; 11] = [
        "零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十",
    ];
    let pct = percent(ppm);
    match lang {
        Lang::Zh if ppm.is_multiple_of(1000) && (1..=10).contains(&(ppm / 1000)) => {
            format!("日千分之{}", DIGITS[(ppm / 1000) as usize])
        }
        Lang::Zh if ppm.is_multiple_of(100) && (1..=10).contains(&(ppm / 100)) => {
            format!("日万分之{}", DIGITS[(ppm / 100) as usize])
        }
        Lang::Zh => format!("日{pct}%"),
        Lang::En => format!("{pct}%/day"),
    }
}

fn percent(ppm: u32) -> String {
    // ppm / 10_000 percent, shown with up to four decimals.
    let s = format!("{}.{:04}", ppm / 10_000, ppm % 10_000);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl LateFeeCalc {
    /// The calculation in words, e.g. `31天 × 日万分之五 × ¥300.00 = ¥4.65`.
    pub fn describe(&self, lang: Lang) -> String {
        let rate = describe_rate(self.daily_rate_ppm, lang);
        let mut s = match lang {
            Lang::Zh => format!(
                "{}天 × {} × {} = {}",
                self.days, rate, self.base, self.accrual
            ),
            Lang::En => format!(
                "{} days × {} × {} = {}",
                self.days, rate, self.base, self.accrual
            ),
        };
        if self.accrued_before.0 > 0 {
            s = match lang {
                Lang::Zh => format!("此前已计 {} + {}", self.accrued_before, s),
                Lang::En => format!("{} accrued before + {}", self.accrued_before, s),
            };
        }
        if let Some(c) = self.capped_at {
            s.push_str(&match lang {
                Lang::Zh => format!("，封顶 {c}"),
                Lang::En => format!(", capped at {c}"),
            });
        }
        if self.paid.0 > 0 {
            s.push_str(&match lang {
                Lang::Zh => format!("，已付 {}", self.paid),
                Lang::En => format!(", {} paid", self.paid),
            });
        }
        if self.frozen {
            s.push_str(lang.pick("，争议中停止计算", ", accrual stopped: disputed"));
        }
        if self.waived {
            s.push_str(lang.pick("，已减免", ", waived"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn policy(cap: LateFeeCap) -> LateFeePolicy {
        LateFeePolicy {
            enabled: true,
            grace_days: 0,
            daily_rate_ppm: 500,
            cap,
        }
    }

    fn line() -> LineState {
        LineState {
            category: Category::Parking,
            principal: Fen(30000),
            paid_principal: Fen(0),
            due_date: date(2026, 1, 15),
            checkpoint: None,
            late_fee_paid: Fen(0),
            late_fee_waived: false,
            disputed_since: None,
        }
    }

    #[test]
    fn simple_interest_on_unpaid_principal() {
        // 31 days × 0.05% × 300.00 = 4.65
        let c = late_fee(&policy(LateFeeCap::None), &line(), date(2026, 2, 15)).unwrap();
        assert_eq!(c.days, 31);
        assert_eq!(c.accrual, Fen(465));
        assert_eq!(c.outstanding, Fen(465));
        assert_eq!(c.describe(Lang::Zh), "31天 × 日万分之五 × ¥300.00 = ¥4.65");
        assert_eq!(
            c.describe(Lang::En),
            "31 days × 0.05%/day × ¥300.00 = ¥4.65"
        );
        // On or before the due date nothing accrues.
        assert_eq!(
            late_fee(&policy(LateFeeCap::None), &line(), date(2026, 1, 15))
                .unwrap()
                .outstanding,
            Fen(0)
        );
        assert_eq!(
            late_fee(&policy(LateFeeCap::None), &line(), date(2026, 1, 1))
                .unwrap()
                .days,
            0
        );
    }

    #[test]
    fn grace_days_delay_accrual() {
        let mut p = policy(LateFeeCap::None);
        p.grace_days = 10;
        let c = late_fee(&p, &line(), date(2026, 1, 30)).unwrap();
        assert_eq!(c.days, 5);
        assert_eq!(c.accrual, Fen(75));
    }

    #[test]
    fn off_and_on_behalf_never_accrue() {
        assert!(late_fee(&LateFeePolicy::OFF, &line(), date(2027, 1, 1)).is_none());
        let mut l = line();
        l.category = Category::OnBehalf;
        assert!(late_fee(&policy(LateFeeCap::None), &l, date(2027, 1, 1)).is_none());
    }

    #[test]
    fn caps() {
        // 10 years late: uncapped 0.05% × 3650 days = 182.5% of principal.
        let c = late_fee(&policy(LateFeeCap::None), &line(), date(2036, 1, 15)).unwrap();
        assert!(c.total > Fen(30000));
        let c = late_fee(&policy(LateFeeCap::Principal), &line(), date(2036, 1, 15)).unwrap();
        assert_eq!(c.total, Fen(30000));
        assert_eq!(c.capped_at, Some(Fen(30000)));
        let c = late_fee(
            &policy(LateFeeCap::Fixed(Fen(5000))),
            &line(),
            date(2036, 1, 15),
        )
        .unwrap();
        assert_eq!(c.outstanding, Fen(5000));
        assert!(c.describe(Lang::Zh).contains("封顶 ¥50.00"));
    }

    #[test]
    fn checkpoint_uses_new_principal() {
        // Paid 200.00 of principal on 2026-02-15 after 4.65 had accrued.
        let mut l = line();
        l.paid_principal = Fen(20000);
        l.checkpoint = Some((date(2026, 2, 15), Fen(465)));
        l.late_fee_paid = Fen(465);
        let c = late_fee(&policy(LateFeeCap::None), &l, date(2026, 3, 17)).unwrap();
        // 30 days × 0.05% × 100.00 = 1.50
        assert_eq!(c.days, 30);
        assert_eq!(c.accrual, Fen(150));
        assert_eq!(c.total, Fen(615));
        assert_eq!(c.outstanding, Fen(150));
    }

    #[test]
    fn dispute_freezes_and_waiver_zeroes() {
        let mut l = line();
        l.disputed_since = Some(date(2026, 1, 25));
        let c = late_fee(&policy(LateFeeCap::None), &l, date(2026, 6, 1)).unwrap();
        assert_eq!(c.days, 10);
        assert!(c.frozen);
        let mut l = line();
        l.late_fee_waived = true;
        let c = late_fee(&policy(LateFeeCap::None), &l, date(2026, 2, 15)).unwrap();
        assert_eq!(c.total, Fen(465));
        assert_eq!(c.outstanding, Fen(0));
        assert!(c.describe(Lang::Zh).ends_with("已减免"));
    }

    #[test]
    fn rates_in_words() {
        assert_eq!(describe_rate(500, Lang::Zh), "日万分之五");
        assert_eq!(describe_rate(3000, Lang::Zh), "日千分之三");
        assert_eq!(describe_rate(250, Lang::Zh), "日0.025%");
        assert_eq!(describe_rate(3000, Lang::En), "0.3%/day");
    }
}
