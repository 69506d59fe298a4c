//! Overdue notices (催缴): when one may be sent, how often, and what it says.
//!
//! The guardrails follow the conventions research (users-and-conventions,
//! "Dunning timing" and "Privacy in arrears notices"):
//! - **Quiet hours**: no message at night. A notice due in quiet hours is
//!   held until they end (local time of the estate).
//! - **Frequency**: at most one notice per room or space in a number of
//!   days, and a monthly ceiling; a notice refused for frequency says when
//!   the next one may go.
//! - **Wording**: polite; addresses the owner of that room only (never
//!   another owner's data); late fees are named 违约金 and stated with their
//!   contract basis — the clause of the 物业服务合同 the estate records —
//!   and their calculation; no threat of cutting water, power, heat or gas
//!   (Civil Code art. 944 forbids it).
//!
//! Pure: callers pass the local time and the notices already sent.

use crate::{Fen, Lang};
use jiff::civil::{Date, DateTime, Time};

/// The rules an estate sends notices by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticePolicy {
    /// Quiet hours start (local), e.g. 21:00.
    pub quiet_from: Time,
    /// Quiet hours end (local), e.g. 08:00.
    pub quiet_until: Time,
    /// At least this many days between two notices to one room or space.
    pub min_days_between: i64,
    /// At most this many notices to one room or space in a calendar month.
    pub max_per_month: usize,
}

impl Default for NoticePolicy {
    fn default() -> Self {
        NoticePolicy {
            quiet_from: Time::constant(21, 0, 0, 0),
            quiet_until: Time::constant(8, 0, 0, 0),
            min_days_between: 7,
            max_per_month: 2,
        }
    }
}

/// Why a notice may not go now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// Quiet hours: it may go at this local time.
    QuietHours {
        /// When quiet hours end.
        until: DateTime,
    },
    /// Sent too recently: the next may go at this local time.
    TooSoon {
        /// The last notice.
        last: DateTime,
        /// The earliest next one.
        next: DateTime,
    },
    /// This month's ceiling is reached.
    MonthlyLimit {
        /// Notices sent this month.
        sent: usize,
        /// The first moment of next month (outside quiet hours).
        next: DateTime,
    },
}

impl Hold {
    /// The reason in the reader's language.
    pub fn describe(&self, lang: Lang) -> String {
        let f = |t: &DateTime| t.strftime("%Y-%m-%d %H:%M").to_string();
        match (self, lang) {
            (Hold::QuietHours { until }, Lang::Zh) => {
                format!("夜间免打扰时段，将于 {} 发送", f(until))
            }
            (Hold::QuietHours { until }, Lang::En) => {
                format!("quiet hours: it will go at {}", f(until))
            }
            (Hold::TooSoon { last, next }, Lang::Zh) => {
                format!("上次催缴在 {}，{} 之后才能再发", f(last), f(next))
            }
            (Hold::TooSoon { last, next }, Lang::En) => {
                format!("last notice {}; the next may go from {}", f(last), f(next))
            }
            (Hold::MonthlyLimit { sent, next }, Lang::Zh) => {
                format!("本月已催缴 {sent} 次，{} 之后才能再发", f(next))
            }
            (Hold::MonthlyLimit { sent, next }, Lang::En) => {
                format!(
                    "{sent} notices this month already; the next may go from {}",
                    f(next)
                )
            }
        }
    }
}

impl NoticePolicy {
    /// Whether `t` falls in quiet hours (which may span midnight).
    pub fn is_quiet(&self, t: Time) -> bool {
        if self.quiet_from <= self.quiet_until {
            t >= self.quiet_from && t < self.quiet_until
        } else {
            t >= self.quiet_from || t < self.quiet_until
        }
    }

    /// The first moment at or after `t` outside quiet hours.
    pub fn next_awake(&self, t: DateTime) -> DateTime {
        if !self.is_quiet(t.time()) {
            return t;
        }
        let day = if t.time() >= self.quiet_until && self.quiet_from > self.quiet_until {
            // Evening quiet hours: they end tomorrow morning.
            t.date().tomorrow().unwrap_or(t.date())
        } else {
            t.date()
        };
        day.to_datetime(self.quiet_until)
    }

    /// Whether a notice to one room or space may go at `now`, given the
    /// local times of the notices already sent to it (any order). `Ok` means
    /// now; `Err` says why not and when.
    pub fn check(&self, now: DateTime, sent: &[DateTime]) -> Result<(), Hold> {
        let month = |d: Date| (d.year(), d.month());
        let this_month = sent
            .iter()
            .filter(|s| month(s.date()) == month(now.date()))
            .count();
        if this_month >= self.max_per_month {
            let first_next = now
                .date()
                .first_of_month()
                .checked_add(jiff::Span::new().months(1))
                .unwrap_or(now.date());
            return Err(Hold::MonthlyLimit {
                sent: this_month,
                next: self.next_awake(first_next.to_datetime(Time::midnight())),
            });
        }
        if let Some(last) = sent.iter().max()
            && let Ok(next) = last.checked_add(jiff::Span::new().days(self.min_days_between))
            && now < next
        {
            return Err(Hold::TooSoon {
                last: *last,
                next: self.next_awake(next),
            });
        }
        if self.is_quiet(now.time()) {
            return Err(Hold::QuietHours {
                until: self.next_awake(now),
            });
        }
        Ok(())
    }
}

/// One overdue line in a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeLine {
    /// Fee item, e.g. 物业服务费.
    pub item: String,
    /// Period, `2026-10`.
    pub period: String,
    /// Principal still owed.
    pub principal: Fen,
    /// Late fee (违约金) owed, if any.
    pub late_fee: Fen,
    /// How the late fee was computed (from [`crate::LateFeeCalc::describe`]).
    pub late_fee_text: String,
}

/// What a notice is about: one room or space and its owner, never anyone else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeInput {
    /// The company, as it signs.
    pub company: String,
    /// The estate.
    pub estate: String,
    /// The room or space, e.g. 3栋2单元1201.
    pub object: String,
    /// Overdue lines.
    pub lines: Vec<NoticeLine>,
    /// The contract clause late fees rest on, e.g. 《物业服务合同》第十二条;
    /// `None` when the estate has recorded none (then no late fee is claimed
    /// in the notice's wording beyond what the bill shows).
    pub contract_basis: Option<String>,
    /// The owner's booking/payment page for this room (no certificate number
    /// needed), for the QR code and the link.
    pub link: String,
    /// The fee office's phone.
    pub office_phone: String,
    /// The date the notice is made (local).
    pub date: Date,
}

impl NoticeInput {
    /// Principal owed on every line.
    pub fn principal(&self) -> Fen {
        self.lines.iter().map(|l| l.principal).sum()
    }

    /// Late fees owed on every line.
    pub fn late_fees(&self) -> Fen {
        self.lines.iter().map(|l| l.late_fee).sum()
    }

    /// Everything owed.
    pub fn total(&self) -> Fen {
        self.principal() + self.late_fees()
    }

    /// The periods covered, earliest to latest, e.g. `2026-08 ~ 2026-10`.
    pub fn periods(&self) -> String {
        let mut ps: Vec<&str> = self.lines.iter().map(|l| l.period.as_str()).collect();
        ps.sort();
        ps.dedup();
        match (ps.first(), ps.last()) {
            (Some(a), Some(b)) if a != b => format!("{a} ~ {b}"),
            (Some(a), _) => (*a).to_string(),
            _ => String::new(),
        }
    }

    /// The SMS / WeChat template text (short; the link carries the detail).
    pub fn message(&self) -> String {
        let late = if self.late_fees().0 > 0 {
            match &self.contract_basis {
                Some(basis) => format!(
                    "，另按{basis}约定产生违约金{}元",
                    self.late_fees().yuan_string()
                ),
                None => format!("，另有违约金{}元", self.late_fees().yuan_string()),
            }
        } else {
            String::new()
        };
        format!(
            "【{}】尊敬的{}业主您好：您{}的物业相关费用{}元尚未缴纳{}。可点击 {} 查看明细、在线缴费或预约上门收费；如已缴纳请忽略。咨询电话 {}。感谢您的支持！",
            self.estate,
            self.object,
            self.periods(),
            self.principal().yuan_string(),
            late,
            self.link,
            self.office_phone
        )
    }

    /// The printed notice's paragraphs (to post at the door): greeting,
    /// what is owed, the late-fee basis, how to pay, the sign-off.
    pub fn letter(&self) -> Vec<String> {
        let mut out = vec![
            format!("尊敬的{}业主：", self.object),
            format!(
                "您好！感谢您一直以来对{}物业服务工作的理解与支持。经核对，截至{}，您的房屋/车位尚有以下费用未缴纳，合计人民币{}元（{}）。",
                self.estate,
                self.date.strftime("%Y年%m月%d日"),
                self.total().yuan_string(),
                crate::cn::amount_in_capitals(self.total())
            ),
        ];
        if self.late_fees().0 > 0 {
            out.push(match &self.contract_basis {
                Some(basis) => format!(
                    "其中违约金{}元系依据{}的约定计算，计算方法见明细。如对金额有疑问，欢迎来电或到物业服务中心核对。",
                    self.late_fees().yuan_string(),
                    basis
                ),
                None => format!(
                    "其中违约金{}元，计算方法见明细。如对金额有疑问，欢迎来电或到物业服务中心核对。",
                    self.late_fees().yuan_string()
                ),
            });
        }
        out.push(format!(
            "您可扫描下方二维码查看明细、在线缴费，或预约工作人员晚间、周末上门收费，无需提供房产证件。如您已缴纳，请忽略本通知。咨询电话：{}。",
            self.office_phone
        ));
        out.push(format!(
            "{}　{}",
            self.company,
            self.date.strftime("%Y年%m月%d日")
        ));
        out
    }
}

/// Words a notice must never contain: threats the law forbids (cutting
/// utilities, restricting access) and shaming.
pub const FORBIDDEN_WORDS: [&str; 8] = [
    "停水",
    "停电",
    "停气",
    "停暖",
    "断水",
    "断电",
    "曝光",
    "限制出入",
];

/// Checks a notice text against [`FORBIDDEN_WORDS`]; returns the first found.
pub fn forbidden_word(text: &str) -> Option<&'static str> {
    FORBIDDEN_WORDS.iter().copied().find(|w| text.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn at(d: Date, h: i8, m: i8) -> DateTime {
        d.to_datetime(Time::constant(h, m, 0, 0))
    }

    #[test]
    fn quiet_hours_hold_until_morning() {
        let p = NoticePolicy::default();
        let d = date(2026, 11, 27);
        assert_eq!(p.check(at(d, 10, 0), &[]), Ok(()));
        assert_eq!(p.check(at(d, 20, 59), &[]), Ok(()));
        assert_eq!(
            p.check(at(d, 21, 0), &[]),
            Err(Hold::QuietHours {
                until: at(date(2026, 11, 28), 8, 0)
            })
        );
        assert_eq!(
            p.check(at(d, 6, 30), &[]),
            Err(Hold::QuietHours { until: at(d, 8, 0) })
        );
        // Month end: quiet hours on the 30th end on the 1st.
        assert_eq!(
            p.next_awake(at(date(2026, 11, 30), 23, 0)),
            at(date(2026, 12, 1), 8, 0)
        );
        // Quiet hours that do not span midnight.
        let lunch = NoticePolicy {
            quiet_from: Time::constant(12, 0, 0, 0),
            quiet_until: Time::constant(14, 0, 0, 0),
            ..p
        };
        assert!(lunch.is_quiet(Time::constant(13, 0, 0, 0)));
        assert!(!lunch.is_quiet(Time::constant(21, 0, 0, 0)));
        assert_eq!(lunch.next_awake(at(d, 12, 30)), at(d, 14, 0));
    }

    #[test]
    fn frequency_is_limited_per_room() {
        let p = NoticePolicy::default();
        let d = date(2026, 11, 20);
        let last = at(date(2026, 11, 15), 10, 0);
        match p.check(at(d, 10, 0), &[last]) {
            Err(Hold::TooSoon { next, .. }) => assert_eq!(next, at(date(2026, 11, 22), 10, 0)),
            other => panic!("{other:?}"),
        }
        assert_eq!(p.check(at(date(2026, 11, 22), 10, 0), &[last]), Ok(()));
        // The earliest next notice is never in quiet hours.
        let late = at(date(2026, 11, 15), 20, 30);
        match p.check(at(date(2026, 11, 16), 10, 0), &[late]) {
            Err(Hold::TooSoon { next, .. }) => assert_eq!(next, at(date(2026, 11, 22), 20, 30)),
            other => panic!("{other:?}"),
        }
        // Two this month: the next goes next month, in the morning.
        let two = [at(date(2026, 11, 2), 9, 0), at(date(2026, 11, 10), 9, 0)];
        match p.check(at(date(2026, 11, 25), 10, 0), &two) {
            Err(h @ Hold::MonthlyLimit { sent: 2, .. }) => {
                assert_eq!(
                    h,
                    Hold::MonthlyLimit {
                        sent: 2,
                        next: at(date(2026, 12, 1), 8, 0)
                    }
                );
                assert!(h.describe(Lang::Zh).contains("本月已催缴 2 次"));
                assert!(h.describe(Lang::En).contains("2 notices"));
            }
            other => panic!("{other:?}"),
        }
        // Last month's notices do not count against this month.
        assert_eq!(p.check(at(date(2026, 12, 20), 10, 0), &two), Ok(()));
    }

    fn input(basis: Option<&str>, late: i64) -> NoticeInput {
        NoticeInput {
            company: "幸福里物业服务有限公司".into(),
            estate: "幸福里小区".into(),
            object: "3栋2单元1201".into(),
            lines: vec![
                NoticeLine {
                    item: "物业服务费".into(),
                    period: "2026-09".into(),
                    principal: Fen(22375),
                    late_fee: Fen(late),
                    late_fee_text: "22375 × 0.05%/日 × 40 天".into(),
                },
                NoticeLine {
                    item: "物业服务费".into(),
                    period: "2026-10".into(),
                    principal: Fen(22375),
                    late_fee: Fen(0),
                    late_fee_text: String::new(),
                },
            ],
            contract_basis: basis.map(str::to_string),
            link: "https://pay.example.com/o/r/abc".into(),
            office_phone: "0591-88888888".into(),
            date: date(2026, 11, 27),
        }
    }

    #[test]
    fn wording_is_polite_and_states_the_contract_basis() {
        let n = input(Some("《物业服务合同》第十二条"), 448);
        let m = n.message();
        assert!(
            m.starts_with("【幸福里小区】尊敬的3栋2单元1201业主您好"),
            "{m}"
        );
        assert!(m.contains("2026-09 ~ 2026-10"), "{m}");
        assert!(m.contains("447.50元"), "{m}");
        assert!(
            m.contains("按《物业服务合同》第十二条约定产生违约金4.48元"),
            "{m}"
        );
        assert!(m.contains("如已缴纳请忽略"), "{m}");
        assert_eq!(forbidden_word(&m), None);
        let letter = n.letter().join("\n");
        assert!(
            letter.contains("合计人民币451.98元（肆佰伍拾壹元玖角捌分）"),
            "{letter}"
        );
        assert!(
            letter.contains("系依据《物业服务合同》第十二条的约定计算"),
            "{letter}"
        );
        assert!(letter.contains("无需提供房产证件"), "{letter}");
        assert!(letter.contains("2026年11月27日"), "{letter}");
        assert_eq!(forbidden_word(&letter), None);
        // No late fee: no mention of one.
        let none = input(None, 0);
        assert!(!none.message().contains("违约金"));
        assert!(!none.letter().join("").contains("违约金"));
        assert_eq!(none.total(), Fen(44750));
        assert_eq!(forbidden_word("逾期将停水停电"), Some("停水"));
    }
}
