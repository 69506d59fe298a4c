//! Management figures (issue 7), computed from facts the store hands over:
//! the collection rate (收缴率) with current-period and arrears collection
//! kept apart, and visit figures (night and weekend share, on-time
//! arrivals, minutes per visit, households per collector).
//!
//! Definitions (what a test checks exactly):
//! - **Current period** `P` as of day `D`: receivable = Σ (amount − waived)
//!   of the lines billed for `P`; received = principal paid on them on or
//!   before `D`.
//! - **Arrears** in `P` as of `D`: opening = Σ of what lines of earlier
//!   periods still owed on the first day of `P` (amount − waived − principal
//!   paid before that day); collected = principal paid on them from the
//!   first day of `P` to `min(D, last day of P)`.
//! - Late fees are income when paid, not receivable: they are outside both.
//! - Rates are integer basis points, rounded half up; no rate when nothing
//!   was receivable.

use crate::{Fen, Period};
use jiff::civil::{Date, DateTime, Weekday};
use std::collections::BTreeMap;

/// A part of a whole, in integer money or counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ratio {
    /// Part.
    pub num: i64,
    /// Whole.
    pub den: i64,
}

impl Ratio {
    /// `num / den` in basis points (1/100 of a percent), half up; `None`
    /// when the whole is zero.
    pub fn basis_points(self) -> Option<i64> {
        if self.den <= 0 {
            return None;
        }
        let n = i128::from(self.num) * 10_000;
        let d = i128::from(self.den);
        let q = (2 * n + d).div_euclid(2 * d);
        i64::try_from(q).ok()
    }

    /// `87.50%`, or `—` when there is no whole.
    pub fn percent(self) -> String {
        match self.basis_points() {
            Some(bp) => format!(
                "{}{}.{:02}%",
                if bp < 0 { "-" } else { "" },
                bp.abs() / 100,
                bp.abs() % 100
            ),
            None => "—".into(),
        }
    }
}

/// A bill line with its payments, as the report needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFacts {
    /// Billing period.
    pub period: Period,
    /// Billed amount.
    pub amount: Fen,
    /// Waived on the line (not receivable).
    pub waived: Fen,
    /// Principal paid, by day (voided payments left out).
    pub paid: Vec<(Date, Fen)>,
}

/// Collection figures of one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Collection {
    /// Current period: received ÷ receivable.
    pub current: Ratio,
    /// Arrears: collected in the period ÷ owed at its start.
    pub arrears: Ratio,
}

impl Collection {
    /// Both together: everything collected in the period on what was due.
    pub fn overall(&self) -> Ratio {
        Ratio {
            num: self.current.num + self.arrears.num,
            den: self.current.den + self.arrears.den,
        }
    }

    /// Adds another group's figures (estates into a company, …).
    pub fn add(&mut self, o: &Collection) {
        self.current.num += o.current.num;
        self.current.den += o.current.den;
        self.arrears.num += o.arrears.num;
        self.arrears.den += o.arrears.den;
    }
}

/// The collection figures of `period` as of `as_of` over `lines`.
pub fn collection(lines: &[LineFacts], period: Period, as_of: Date) -> Collection {
    let first = period.first_day();
    let last = period.day(31);
    let until = if as_of < last { as_of } else { last };
    let mut out = Collection::default();
    for l in lines {
        let due = l.amount.0 - l.waived.0;
        if l.period == period {
            out.current.den += due;
            out.current.num += l
                .paid
                .iter()
                .filter(|(d, _)| *d <= as_of)
                .map(|(_, f)| f.0)
                .sum::<i64>();
        } else if l.period < period {
            let before: i64 = l
                .paid
                .iter()
                .filter(|(d, _)| *d < first)
                .map(|(_, f)| f.0)
                .sum();
            let opening = due - before;
            if opening <= 0 {
                continue;
            }
            out.arrears.den += opening;
            out.arrears.num += l
                .paid
                .iter()
                .filter(|(d, _)| *d >= first && *d <= until)
                .map(|(_, f)| f.0)
                .sum::<i64>();
        }
    }
    out
}

/// Running totals of one group (an estate, a building, a fee item): what
/// the database keeps instead of every line, so a company's figures come
/// from thousands of rows rather than tens of millions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Due (amount − waived) per billing period.
    pub due: BTreeMap<Period, i64>,
    /// Principal paid per (billing period of the line, month paid).
    pub paid: BTreeMap<(Period, Period), i64>,
    /// Principal paid in the as-of day's month but after that day, per
    /// billing period of the line: taken back out of `paid`.
    pub after: BTreeMap<Period, i64>,
}

impl Totals {
    /// Adds a due amount.
    pub fn add_due(&mut self, period: Period, fen: i64) {
        *self.due.entry(period).or_default() += fen;
    }

    /// Adds principal paid on lines of `period` in `month`.
    pub fn add_paid(&mut self, period: Period, month: Period, fen: i64) {
        *self.paid.entry((period, month)).or_default() += fen;
    }

    /// Adds principal paid after the as-of day (same month).
    pub fn add_after(&mut self, period: Period, fen: i64) {
        *self.after.entry(period).or_default() += fen;
    }
}

/// The same figures as [`collection`], from running totals. `t.after` must
/// hold what was paid after `as_of` in its month (nothing, when `as_of` is
/// today or a month's last day). Exact because a line's principal paid
/// never exceeds what it is due, so no line's opening arrears is negative
/// and the sums over lines can be taken over groups instead.
pub fn collection_from_totals(t: &Totals, period: Period, as_of: Date) -> Collection {
    let as_of_month = Period::of(as_of);
    let mut out = Collection::default();
    out.current.den = t.due.get(&period).copied().unwrap_or(0);
    for (&(line, month), &fen) in &t.paid {
        if line == period && month <= as_of_month {
            out.current.num += fen;
        }
        if line < period {
            if month < period {
                out.arrears.den -= fen;
            } else if month == period && as_of >= period.first_day() {
                out.arrears.num += fen;
            }
        }
    }
    for (&line, &fen) in &t.after {
        if line == period {
            out.current.num -= fen;
        } else if line < period && as_of_month == period && as_of >= period.first_day() {
            out.arrears.num -= fen;
        }
    }
    out.arrears.den += t.due.range(..period).map(|(_, fen)| *fen).sum::<i64>();
    out
}

/// A visit as the visit report needs it (local times of the estate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitFacts {
    /// The collector.
    pub collector_id: i64,
    /// The booked slot.
    pub slot_start: DateTime,
    /// Its end.
    pub slot_end: DateTime,
    /// Check-in, if the collector got there.
    pub arrived: Option<DateTime>,
    /// When the visit's outcome was recorded.
    pub finished: Option<DateTime>,
    /// Households (rooms) served at the visit.
    pub households: i64,
    /// A public holiday (counts with weekends).
    pub holiday: bool,
    /// A make-up working day (调休) on a Saturday or Sunday: a working day,
    /// not counted with weekends.
    pub workday: bool,
}

/// Visit figures.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VisitFigures {
    /// Visits made (arrived).
    pub visits: i64,
    /// Of which at night (slot from 19:00).
    pub night: Ratio,
    /// Of which at weekends or on holidays.
    pub weekend: Ratio,
    /// Arrived within the booked slot.
    pub on_time: Ratio,
    /// Total minutes from arrival to outcome, and visits with both.
    pub minutes: Ratio,
    /// Visits per collector per session (collector × evening).
    pub per_session: Ratio,
    /// Households served per collector per month.
    pub households_per_collector_month: Ratio,
}

impl VisitFigures {
    /// Average minutes per visit, rounded half up.
    pub fn average_minutes(&self) -> Option<i64> {
        (self.minutes.den > 0)
            .then(|| (2 * self.minutes.num + self.minutes.den) / (2 * self.minutes.den))
    }
}

/// Night starts at 19:00.
pub const NIGHT_FROM_HOUR: i8 = 19;

/// The visit figures over `visits` (those never arrived count nowhere).
pub fn visit_figures(visits: &[VisitFacts]) -> VisitFigures {
    let mut f = VisitFigures::default();
    let mut sessions = std::collections::BTreeSet::new();
    let mut collector_months = std::collections::BTreeSet::new();
    let mut households = 0i64;
    for v in visits {
        let Some(arrived) = v.arrived else { continue };
        f.visits += 1;
        if v.slot_start.hour() >= NIGHT_FROM_HOUR {
            f.night.num += 1;
        }
        let weekend_day = matches!(v.slot_start.weekday(), Weekday::Saturday | Weekday::Sunday);
        if v.holiday || (weekend_day && !v.workday) {
            f.weekend.num += 1;
        }
        if arrived >= v.slot_start && arrived <= v.slot_end {
            f.on_time.num += 1;
        }
        if let Some(done) = v.finished
            && done >= arrived
            && let Ok(span) = arrived.until(done)
            && let Ok(secs) = span.total(jiff::Unit::Second)
        {
            f.minutes.num += (secs as i64 + 30) / 60;
            f.minutes.den += 1;
        }
        sessions.insert((v.collector_id, v.slot_start.date()));
        collector_months.insert((
            v.collector_id,
            v.slot_start.date().year(),
            v.slot_start.date().month(),
        ));
        households += v.households;
    }
    f.night.den = f.visits;
    f.weekend.den = f.visits;
    f.on_time.den = f.visits;
    f.per_session = Ratio {
        num: f.visits,
        den: sessions.len() as i64,
    };
    f.households_per_collector_month = Ratio {
        num: households,
        den: collector_months.len() as i64,
    };
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn p(s: &str) -> Period {
        Period::parse(s).unwrap()
    }

    #[test]
    fn ratios_round_half_up_in_basis_points() {
        assert_eq!(Ratio { num: 7, den: 8 }.basis_points(), Some(8750));
        assert_eq!(Ratio { num: 7, den: 8 }.percent(), "87.50%");
        assert_eq!(Ratio { num: 1, den: 3 }.percent(), "33.33%");
        assert_eq!(Ratio { num: 2, den: 3 }.percent(), "66.67%");
        assert_eq!(Ratio { num: 1, den: 20000 }.basis_points(), Some(1)); // 0.5 bp → 1
        assert_eq!(Ratio { num: 0, den: 0 }.percent(), "—");
        assert_eq!(Ratio { num: 5, den: 4 }.percent(), "125.00%");
        assert_eq!(
            Ratio {
                num: i64::MAX / 2,
                den: i64::MAX
            }
            .basis_points(),
            Some(5000)
        );
    }

    #[test]
    fn current_period_and_arrears_are_kept_apart() {
        let lines = vec![
            // November, paid in part on the 10th and after the report date.
            LineFacts {
                period: p("2026-11"),
                amount: Fen(20000),
                waived: Fen(0),
                paid: vec![
                    (date(2026, 11, 10), Fen(15000)),
                    (date(2026, 11, 28), Fen(5000)),
                ],
            },
            // November, waived by half, unpaid.
            LineFacts {
                period: p("2026-11"),
                amount: Fen(10000),
                waived: Fen(5000),
                paid: vec![],
            },
            // October arrears: 3000 paid in October, 4000 in November.
            LineFacts {
                period: p("2026-10"),
                amount: Fen(10000),
                waived: Fen(0),
                paid: vec![
                    (date(2026, 10, 20), Fen(3000)),
                    (date(2026, 11, 5), Fen(4000)),
                ],
            },
            // Fully paid before November: not arrears.
            LineFacts {
                period: p("2026-09"),
                amount: Fen(8000),
                waived: Fen(0),
                paid: vec![(date(2026, 9, 30), Fen(8000))],
            },
            // December is not yet due.
            LineFacts {
                period: p("2026-12"),
                amount: Fen(9999),
                waived: Fen(0),
                paid: vec![(date(2026, 11, 20), Fen(9999))],
            },
        ];
        let c = collection(&lines, p("2026-11"), date(2026, 11, 27));
        assert_eq!(
            c.current,
            Ratio {
                num: 15000,
                den: 25000
            }
        );
        assert_eq!(c.current.percent(), "60.00%");
        assert_eq!(
            c.arrears,
            Ratio {
                num: 4000,
                den: 7000
            }
        );
        assert_eq!(
            c.overall(),
            Ratio {
                num: 19000,
                den: 32000
            }
        );
        // At month end the late November payment counts.
        let end = collection(&lines, p("2026-11"), date(2026, 11, 30));
        assert_eq!(end.current.num, 20000);
        // Looking back at October from December: October's payments only.
        let oct = collection(&lines, p("2026-10"), date(2026, 12, 15));
        assert_eq!(
            oct.current,
            Ratio {
                num: 7000,
                den: 10000
            }
        );
        assert_eq!(oct.arrears, Ratio { num: 0, den: 0 });
        let mut sum = c;
        sum.add(&oct);
        assert_eq!(sum.current.den, 35000);
    }

    /// Splitmix64: reproducible pseudo-random facts.
    fn rnd(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    #[test]
    fn running_totals_give_the_figures_of_the_lines_for_any_day() {
        let mut seed = 7u64;
        let first = p("2025-01");
        for round in 0..300 {
            // Lines over 8 periods, paid in parts on days before, in and
            // after their period; some waived after a part payment.
            let mut lines = Vec::new();
            for _ in 0..(1 + rnd(&mut seed) % 12) {
                let mut period = first;
                for _ in 0..rnd(&mut seed) % 8 {
                    period = period.next();
                }
                let amount = 100 + (rnd(&mut seed) % 50_000) as i64;
                let mut left = amount;
                let mut paid = Vec::new();
                for _ in 0..rnd(&mut seed) % 4 {
                    if left == 0 {
                        break;
                    }
                    let part = 1 + (rnd(&mut seed) as i64).rem_euclid(left);
                    left -= part;
                    let day = period
                        .first_day()
                        .checked_add(jiff::Span::new().days(rnd(&mut seed) as i64 % 150 - 20))
                        .unwrap();
                    paid.push((day, Fen(part)));
                }
                let waived = if rnd(&mut seed).is_multiple_of(6) {
                    left
                } else {
                    0
                };
                lines.push(LineFacts {
                    period,
                    amount: Fen(amount),
                    waived: Fen(waived),
                    paid,
                });
            }
            for _ in 0..8 {
                let mut period = first;
                for _ in 0..rnd(&mut seed) % 9 {
                    period = period.next();
                }
                let as_of = first
                    .first_day()
                    .checked_add(jiff::Span::new().days(rnd(&mut seed) as i64 % 330))
                    .unwrap();
                let mut t = Totals::default();
                for l in &lines {
                    t.add_due(l.period, l.amount.0 - l.waived.0);
                    for (day, fen) in &l.paid {
                        t.add_paid(l.period, Period::of(*day), fen.0);
                        if Period::of(*day) == Period::of(as_of) && *day > as_of {
                            t.add_after(l.period, fen.0);
                        }
                    }
                }
                assert_eq!(
                    collection_from_totals(&t, period, as_of),
                    collection(&lines, period, as_of),
                    "round {round}: {period} as of {as_of} over {lines:?}"
                );
            }
        }
    }

    #[test]
    fn visit_figures_count_nights_weekends_and_punctuality() {
        let dt = |d: Date, h: i8, m: i8| d.at(h, m, 0, 0);
        let fri = date(2026, 11, 27);
        let sat = date(2026, 11, 28);
        let v =
            |c: i64, d: Date, h: i8, arrive: Option<(i8, i8)>, minutes: i64, hh: i64| VisitFacts {
                collector_id: c,
                slot_start: dt(d, h, 0),
                slot_end: dt(d, h, 30),
                arrived: arrive.map(|(a, b)| dt(d, a, b)),
                finished: arrive.map(|(a, b)| {
                    dt(d, a, b)
                        .checked_add(jiff::Span::new().minutes(minutes))
                        .unwrap()
                }),
                households: hh,
                holiday: false,
                workday: false,
            };
        let visits = vec![
            v(1, fri, 18, Some((18, 10)), 12, 1), // on time, not night
            v(1, fri, 19, Some((19, 40)), 8, 2),  // night, late
            v(1, sat, 10, Some((10, 0)), 10, 1),  // weekend, on time
            v(2, fri, 20, Some((20, 29)), 15, 1), // night, on time
            v(2, fri, 21, None, 0, 1),            // never arrived: not counted
        ];
        let f = visit_figures(&visits);
        assert_eq!(f.visits, 4);
        assert_eq!(f.night, Ratio { num: 2, den: 4 });
        assert_eq!(f.weekend, Ratio { num: 1, den: 4 });
        assert_eq!(f.on_time, Ratio { num: 3, den: 4 });
        assert_eq!(f.minutes, Ratio { num: 45, den: 4 });
        assert_eq!(f.average_minutes(), Some(11));
        // Sessions: collector 1 Friday, collector 1 Saturday, collector 2 Friday.
        assert_eq!(f.per_session, Ratio { num: 4, den: 3 });
        // Households per collector-month: (1+2+1) + 1 over 2.
        assert_eq!(f.households_per_collector_month, Ratio { num: 5, den: 2 });
        // A holiday counts with weekends.
        let mut h = visits[0].clone();
        h.holiday = true;
        assert_eq!(visit_figures(&[h]).weekend, Ratio { num: 1, den: 1 });
        // A make-up working day on a Saturday does not.
        let mut w = visits[2].clone();
        w.workday = true;
        assert_eq!(visit_figures(&[w]).weekend, Ratio { num: 0, den: 1 });
    }
}
