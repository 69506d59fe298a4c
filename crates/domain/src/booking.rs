//! Home-visit bookings: the estate's visiting windows and slots, what may be
//! booked when, and the booking lifecycle. Pure: callers pass "now".
//!
//! A *window* is a stretch of a day when collectors visit (weekdays
//! 19:00–21:00 by default); it is cut into *slots* of equal length (30
//! minutes). A window is also a dispatch *session*: the bookings of one window
//! are planned together into one route per collector on duty.

use crate::{DomainError, Lang};
use jiff::civil::{Date, DateTime, Time, Weekday};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A stretch of a day, `start` inclusive, `end` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Window {
    /// First minute.
    pub start: Time,
    /// Minute after the last.
    pub end: Time,
}

impl Window {
    /// Length in minutes.
    pub fn minutes(&self) -> i64 {
        minute_of_day(self.end) - minute_of_day(self.start)
    }
    /// Whether `t` falls inside.
    pub fn contains(&self, t: Time) -> bool {
        self.start <= t && t < self.end
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", hhmm(self.start), hhmm(self.end))
    }
}

/// `HH:MM`.
pub fn hhmm(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

fn minute_of_day(t: Time) -> i64 {
    i64::from(t.hour()) * 60 + i64::from(t.minute())
}

fn time_of_minute(m: i64) -> Option<Time> {
    if !(0..=24 * 60).contains(&m) {
        return None;
    }
    if m == 24 * 60 {
        return Some(Time::constant(23, 59, 59, 0));
    }
    Time::new(i8::try_from(m / 60).ok()?, i8::try_from(m % 60).ok()?, 0, 0).ok()
}

/// Parses `19:00-21:00, 14:00-18:00` (also `～`, `–`, `，`). Empty text is no
/// windows (a closed day). Windows must not overlap and come back sorted.
pub fn parse_windows(field: &'static str, s: &str) -> Result<Vec<Window>, DomainError> {
    let mut out = Vec::new();
    for part in s
        .split([',', '，', ';', '；'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let norm = part.replace(['～', '~', '–', '—', '至'], "-");
        let (a, b) = norm.split_once('-').ok_or_else(|| {
            DomainError::invalid(field, format!("{part:?} is not a window like 19:00-21:00"))
        })?;
        let start = parse_hhmm(field, a)?;
        let end = parse_hhmm(field, b)?;
        if end <= start {
            return Err(DomainError::invalid(
                field,
                format!("{part:?}: the window must end after it starts"),
            ));
        }
        out.push(Window { start, end });
    }
    out.sort();
    for w in out.windows(2) {
        if w[1].start < w[0].end {
            return Err(DomainError::invalid(
                field,
                format!("windows {} and {} overlap", w[0], w[1]),
            ));
        }
    }
    Ok(out)
}

fn parse_hhmm(field: &'static str, s: &str) -> Result<Time, DomainError> {
    let s = s.trim().replace('：', ":");
    let bad = || DomainError::invalid(field, format!("{s:?} is not a time like 19:00"));
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let h: i64 = h.trim().parse().map_err(|_| bad())?;
    let m: i64 = m.trim().parse().map_err(|_| bad())?;
    if !(0..=24).contains(&h) || !(0..60).contains(&m) || (h == 24 && m != 0) {
        return Err(bad());
    }
    time_of_minute(h * 60 + m).ok_or_else(bad)
}

/// Formats windows the way [`parse_windows`] reads them.
pub fn format_windows(ws: &[Window]) -> String {
    ws.iter()
        .map(|w| format!("{}-{}", hhmm(w.start), hhmm(w.end)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What kind of day a date is, when the estate says so explicitly
/// (holidays, make-up working days, closures, special hours).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "windows")]
pub enum DayRule {
    /// A public holiday: weekend windows.
    Holiday,
    /// A make-up working day (调休): weekday windows.
    Workday,
    /// No visits.
    Closed,
    /// These windows only.
    Custom(Vec<Window>),
}

impl DayRule {
    /// Storage code.
    pub fn code(&self) -> &'static str {
        match self {
            DayRule::Holiday => "holiday",
            DayRule::Workday => "workday",
            DayRule::Closed => "closed",
            DayRule::Custom(_) => "custom",
        }
    }
    /// From storage code and windows text.
    pub fn from_parts(kind: &str, windows: &str) -> Result<DayRule, DomainError> {
        Ok(match kind {
            "holiday" => DayRule::Holiday,
            "workday" => DayRule::Workday,
            "closed" => DayRule::Closed,
            "custom" => DayRule::Custom(parse_windows("windows", windows)?),
            _ => {
                return Err(DomainError::invalid(
                    "kind",
                    format!("{kind:?} is not holiday, workday, closed or custom"),
                ));
            }
        })
    }
    /// Label for pages.
    pub fn label(&self, lang: Lang) -> String {
        match self {
            DayRule::Holiday => lang.pick("节假日", "holiday").into(),
            DayRule::Workday => lang.pick("调休上班", "make-up workday").into(),
            DayRule::Closed => lang.pick("暂停上门", "no visits").into(),
            DayRule::Custom(ws) => format!(
                "{} {}",
                lang.pick("特别时段", "special hours"),
                format_windows(ws)
            ),
        }
    }
}

/// An estate's booking rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRules {
    /// Windows on Monday–Friday.
    pub weekday: Vec<Window>,
    /// Windows on Saturday, Sunday and holidays.
    pub weekend: Vec<Window>,
    /// Slot length in minutes.
    pub slot_minutes: u32,
    /// Visits one collector can make in one slot.
    pub visits_per_collector: u32,
    /// Bookings, cancellations and reschedules close this many minutes before
    /// the slot starts.
    pub cutoff_minutes: u32,
    /// The reminder goes out this many minutes before the slot.
    pub reminder_minutes: u32,
    /// Minutes at the door, for route planning.
    pub service_minutes: u32,
    /// How many days ahead owners may book.
    pub horizon_days: u32,
}

impl Default for BookingRules {
    fn default() -> Self {
        let w = |a: i8, b: i8| Window {
            start: Time::constant(a, 0, 0, 0),
            end: Time::constant(b, 0, 0, 0),
        };
        BookingRules {
            weekday: vec![w(19, 21)],
            weekend: vec![w(9, 12), w(14, 18)],
            slot_minutes: 30,
            visits_per_collector: 3,
            cutoff_minutes: 60,
            reminder_minutes: 120,
            service_minutes: 5,
            horizon_days: 14,
        }
    }
}

impl BookingRules {
    /// Checks ranges; names the field at fault.
    pub fn validate(&self) -> Result<(), DomainError> {
        if !(10..=240).contains(&self.slot_minutes) {
            return Err(DomainError::invalid(
                "slot_minutes",
                "a slot lasts 10 to 240 minutes",
            ));
        }
        if !(1..=50).contains(&self.visits_per_collector) {
            return Err(DomainError::invalid(
                "visits_per_collector",
                "visits per collector and slot must be 1 to 50",
            ));
        }
        if self.cutoff_minutes > 7 * 24 * 60 {
            return Err(DomainError::invalid(
                "cutoff_minutes",
                "the cut-off is at most a week",
            ));
        }
        if self.reminder_minutes > 7 * 24 * 60 {
            return Err(DomainError::invalid(
                "reminder_minutes",
                "the reminder goes out at most a week ahead",
            ));
        }
        if !(1..=120).contains(&self.service_minutes) {
            return Err(DomainError::invalid(
                "service_minutes",
                "a visit lasts 1 to 120 minutes",
            ));
        }
        if !(1..=90).contains(&self.horizon_days) {
            return Err(DomainError::invalid(
                "horizon_days",
                "owners may book 1 to 90 days ahead",
            ));
        }
        for (field, ws) in [("weekday", &self.weekday), ("weekend", &self.weekend)] {
            for w in ws.iter() {
                if w.minutes() % i64::from(self.slot_minutes) != 0 {
                    return Err(DomainError::invalid(
                        field,
                        format!(
                            "window {w} is not a whole number of {}-minute slots",
                            self.slot_minutes
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The windows on `date`, given the estate's rule for that date if any.
    pub fn windows_on(&self, date: Date, rule: Option<&DayRule>) -> Vec<Window> {
        match rule {
            Some(DayRule::Holiday) => self.weekend.clone(),
            Some(DayRule::Workday) => self.weekday.clone(),
            Some(DayRule::Closed) => Vec::new(),
            Some(DayRule::Custom(ws)) => ws.clone(),
            None => match date.weekday() {
                Weekday::Saturday | Weekday::Sunday => self.weekend.clone(),
                _ => self.weekday.clone(),
            },
        }
    }

    /// The slots on `date`, in order.
    pub fn slots_on(&self, date: Date, rule: Option<&DayRule>) -> Vec<Slot> {
        let len = i64::from(self.slot_minutes.max(1));
        let mut out = Vec::new();
        for w in self.windows_on(date, rule) {
            let (a, b) = (minute_of_day(w.start), minute_of_day(w.end));
            let mut m = a;
            while m + len <= b {
                if let (Some(s), Some(e)) = (time_of_minute(m), time_of_minute(m + len)) {
                    out.push(Slot {
                        date,
                        start: s,
                        end: e,
                        window: w,
                    });
                }
                m += len;
            }
        }
        out
    }

    /// The slot starting at `start`, if `start` is one of the slots on its
    /// date; else why not.
    pub fn slot_at(&self, start: DateTime, rule: Option<&DayRule>) -> Result<Slot, Refusal> {
        let date = start.date();
        let slots = self.slots_on(date, rule);
        if slots.is_empty() {
            return Err(Refusal::NoVisitsThatDay);
        }
        slots
            .into_iter()
            .find(|s| s.start == start.time())
            .ok_or(Refusal::OutsideWindows)
    }

    /// Whether a slot may be booked, cancelled or moved at local time `now`.
    pub fn check_open(&self, slot: &Slot, now: DateTime) -> Result<(), Refusal> {
        let start = slot.starts();
        if start <= now {
            return Err(Refusal::InPast);
        }
        let minutes = start.duration_since(now).as_secs() / 60;
        if minutes < i64::from(self.cutoff_minutes) {
            return Err(Refusal::PastCutoff {
                minutes: self.cutoff_minutes,
            });
        }
        let days = start.date().duration_since(now.date()).as_hours() / 24;
        if days > i64::from(self.horizon_days) {
            return Err(Refusal::TooFarAhead {
                days: self.horizon_days,
            });
        }
        Ok(())
    }
}

/// One bookable slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Slot {
    /// Local date.
    pub date: Date,
    /// Local start time.
    pub start: Time,
    /// Local end time.
    pub end: Time,
    /// The window (dispatch session) it belongs to.
    pub window: Window,
}

impl Slot {
    /// Local start.
    pub fn starts(&self) -> DateTime {
        self.date.to_datetime(self.start)
    }
    /// Local start of its session.
    pub fn session_start(&self) -> DateTime {
        self.date.to_datetime(self.window.start)
    }
    /// Text like `11月27日 周五 19:30–20:00` or `Fri 27 Nov 19:30–20:00`.
    pub fn label(&self, lang: Lang) -> String {
        day_label(self.date, lang) + " " + &format!("{}–{}", hhmm(self.start), hhmm(self.end))
    }
}

/// Text like `11月27日 周五` or `Fri 27 Nov`.
pub fn day_label(d: Date, lang: Lang) -> String {
    let wd = d.weekday().to_monday_zero_offset() as usize;
    match lang {
        Lang::Zh => {
            const W: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
            format!("{}月{}日 {}", d.month(), d.day(), W[wd])
        }
        Lang::En => {
            const W: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
            const M: [&str; 12] = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ];
            let m = usize::try_from(d.month() - 1).unwrap_or(0).min(11);
            format!("{} {} {}", W[wd], d.day(), M[m])
        }
    }
}

/// Why a slot cannot be booked (or a booking changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The slot has begun or passed.
    #[error("that time has passed")]
    InPast,
    /// Too close to the slot.
    #[error("bookings close {minutes} minutes before the visit")]
    PastCutoff {
        /// The cut-off.
        minutes: u32,
    },
    /// Beyond the booking horizon.
    #[error("bookings open at most {days} days ahead")]
    TooFarAhead {
        /// The horizon.
        days: u32,
    },
    /// No windows that day.
    #[error("there are no home visits that day")]
    NoVisitsThatDay,
    /// Not a slot start.
    #[error("that time is not one of the visiting slots")]
    OutsideWindows,
    /// Every place is taken.
    #[error("that slot is full")]
    Full,
}

impl Refusal {
    /// The message in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (Refusal::InPast, Lang::Zh) => "该时段已过，请选择其他时段".into(),
            (Refusal::PastCutoff { minutes }, Lang::Zh) => {
                format!("上门前{minutes}分钟内不能预约、取消或改期，请致电物业服务中心")
            }
            (Refusal::TooFarAhead { days }, Lang::Zh) => format!("最多可预约{days}天内的时段"),
            (Refusal::NoVisitsThatDay, Lang::Zh) => "当天不安排上门收费".into(),
            (Refusal::OutsideWindows, Lang::Zh) => "该时间不在上门时段内".into(),
            (Refusal::Full, Lang::Zh) => "该时段已约满，请选择其他时段".into(),
            (r, Lang::En) => {
                let mut s = r.to_string();
                if let Some(c) = s.get_mut(0..1) {
                    c.make_ascii_uppercase();
                }
                s
            }
        }
    }
}

/// Where a booking stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    /// Booked; ready to dispatch.
    Requested,
    /// "Call to confirm first": waits for staff to phone.
    AwaitingCall,
    /// Confirmed by phone; ready to dispatch.
    Confirmed,
    /// On a collector's route with an ETA.
    Scheduled,
    /// The collector came (paid, partly paid or not paid).
    Visited,
    /// Nobody opened the door.
    OwnerAbsent,
    /// Cancelled by the owner or staff.
    Cancelled,
    /// Moved to another slot (a new booking carries on).
    Rescheduled,
}

impl BookingStatus {
    /// Every status.
    pub const ALL: [BookingStatus; 8] = [
        BookingStatus::Requested,
        BookingStatus::AwaitingCall,
        BookingStatus::Confirmed,
        BookingStatus::Scheduled,
        BookingStatus::Visited,
        BookingStatus::OwnerAbsent,
        BookingStatus::Cancelled,
        BookingStatus::Rescheduled,
    ];
    /// Storage code.
    pub fn code(self) -> &'static str {
        match self {
            BookingStatus::Requested => "requested",
            BookingStatus::AwaitingCall => "awaiting_call",
            BookingStatus::Confirmed => "confirmed",
            BookingStatus::Scheduled => "scheduled",
            BookingStatus::Visited => "visited",
            BookingStatus::OwnerAbsent => "owner_absent",
            BookingStatus::Cancelled => "cancelled",
            BookingStatus::Rescheduled => "rescheduled",
        }
    }
    /// From storage code.
    pub fn from_code(s: &str) -> Result<BookingStatus, DomainError> {
        BookingStatus::ALL
            .into_iter()
            .find(|b| b.code() == s)
            .ok_or_else(|| DomainError::invalid("status", format!("unknown booking status {s:?}")))
    }
    /// Still to happen (holds a place in its slot).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            BookingStatus::Requested
                | BookingStatus::AwaitingCall
                | BookingStatus::Confirmed
                | BookingStatus::Scheduled
        )
    }
    /// Ready for the route planner.
    pub fn is_dispatchable(self) -> bool {
        matches!(
            self,
            BookingStatus::Requested | BookingStatus::Confirmed | BookingStatus::Scheduled
        )
    }
    /// Whether the lifecycle allows `self → to`.
    pub fn can_become(self, to: BookingStatus) -> bool {
        use BookingStatus::*;
        match self {
            Requested | Confirmed => matches!(to, Scheduled | Cancelled | Rescheduled),
            // "No answer" keeps it waiting (the attempt is counted).
            AwaitingCall => matches!(to, AwaitingCall | Confirmed | Cancelled | Rescheduled),
            // Back to `Requested`/`Confirmed` when a re-plan leaves it out.
            Scheduled => matches!(
                to,
                Scheduled | Requested | Confirmed | Visited | OwnerAbsent | Cancelled | Rescheduled
            ),
            Visited | OwnerAbsent | Cancelled | Rescheduled => false,
        }
    }
    /// Checks `self → to`, naming both when refused.
    pub fn transition(self, to: BookingStatus) -> Result<BookingStatus, DomainError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(DomainError::invalid(
                "status",
                format!(
                    "a booking that is {} cannot become {}",
                    self.code(),
                    to.code()
                ),
            ))
        }
    }
    /// Label for pages.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            BookingStatus::Requested => lang.pick("已预约", "booked"),
            BookingStatus::AwaitingCall => lang.pick("待电话确认", "awaiting call"),
            BookingStatus::Confirmed => lang.pick("已确认", "confirmed"),
            BookingStatus::Scheduled => lang.pick("已派单", "scheduled"),
            BookingStatus::Visited => lang.pick("已上门", "visited"),
            BookingStatus::OwnerAbsent => lang.pick("业主不在家", "owner absent"),
            BookingStatus::Cancelled => lang.pick("已取消", "cancelled"),
            BookingStatus::Rescheduled => lang.pick("已改期", "rescheduled"),
        }
    }
}

/// What staff heard when they phoned a "call first" owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// The owner confirmed the visit.
    Confirmed,
    /// Nobody answered: try again later.
    NoAnswer,
    /// The owner cancelled.
    Cancelled,
}

impl CallOutcome {
    /// Storage code.
    pub fn code(self) -> &'static str {
        match self {
            CallOutcome::Confirmed => "confirmed",
            CallOutcome::NoAnswer => "no_answer",
            CallOutcome::Cancelled => "cancelled",
        }
    }
    /// From code.
    pub fn from_code(s: &str) -> Result<CallOutcome, DomainError> {
        Ok(match s {
            "confirmed" => CallOutcome::Confirmed,
            "no_answer" => CallOutcome::NoAnswer,
            "cancelled" => CallOutcome::Cancelled,
            _ => {
                return Err(DomainError::invalid(
                    "outcome",
                    format!("{s:?} is not confirmed, no_answer or cancelled"),
                ));
            }
        })
    }
    /// The booking's status after this call, from `AwaitingCall`.
    pub fn next_status(self) -> BookingStatus {
        match self {
            CallOutcome::Confirmed => BookingStatus::Confirmed,
            CallOutcome::NoAnswer => BookingStatus::AwaitingCall,
            CallOutcome::Cancelled => BookingStatus::Cancelled,
        }
    }
    /// Label.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            CallOutcome::Confirmed => lang.pick("已确认", "confirmed"),
            CallOutcome::NoAnswer => lang.pick("无人接听，稍后再打", "no answer — try again"),
            CallOutcome::Cancelled => lang.pick("业主取消", "cancelled by owner"),
        }
    }
}

/// How a visit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitResult {
    /// Everything owed was paid.
    Paid,
    /// Some was paid.
    PartlyPaid,
    /// Nothing was paid (a reason is required).
    NotPaid,
    /// Nobody was home.
    OwnerAbsent,
}

impl VisitResult {
    /// Storage code.
    pub fn code(self) -> &'static str {
        match self {
            VisitResult::Paid => "paid",
            VisitResult::PartlyPaid => "partly_paid",
            VisitResult::NotPaid => "not_paid",
            VisitResult::OwnerAbsent => "owner_absent",
        }
    }
    /// From code.
    pub fn from_code(s: &str) -> Result<VisitResult, DomainError> {
        Ok(match s {
            "paid" => VisitResult::Paid,
            "partly_paid" => VisitResult::PartlyPaid,
            "not_paid" => VisitResult::NotPaid,
            "owner_absent" => VisitResult::OwnerAbsent,
            _ => {
                return Err(DomainError::invalid(
                    "result",
                    format!("{s:?} is not paid, partly_paid, not_paid or owner_absent"),
                ));
            }
        })
    }
    /// The booking's status after the visit.
    pub fn status(self) -> BookingStatus {
        match self {
            VisitResult::OwnerAbsent => BookingStatus::OwnerAbsent,
            _ => BookingStatus::Visited,
        }
    }
}

/// The rules for one-time sign-in codes sent by SMS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodePolicy {
    /// A code is valid this long (seconds).
    pub ttl: i64,
    /// Wrong tries allowed on one code.
    pub attempts_per_code: i64,
    /// At least this long between two codes to one phone (seconds).
    pub resend_after: i64,
    /// Codes per phone per hour.
    pub per_phone_per_hour: i64,
    /// Codes per client address per hour.
    pub per_client_per_hour: i64,
    /// Wrong tries per phone per hour before the phone is locked out.
    pub failures_per_hour: i64,
}

impl Default for CodePolicy {
    fn default() -> Self {
        CodePolicy {
            ttl: 5 * 60,
            attempts_per_code: 5,
            resend_after: 60,
            per_phone_per_hour: 5,
            per_client_per_hour: 20,
            failures_per_hour: 10,
        }
    }
}

/// Why a code cannot be sent or checked now; `retry_at` is unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeRefusal {
    /// Asked again too soon, or too many codes this hour.
    #[error("too many codes requested; try again later")]
    TooMany {
        /// When another may be asked for.
        retry_at: i64,
    },
    /// Too many wrong codes: locked out for a while.
    #[error("too many wrong codes; locked out")]
    LockedOut {
        /// When the lock ends.
        retry_at: i64,
    },
    /// The code is wrong (tries left on it).
    #[error("the code is wrong")]
    Wrong {
        /// Tries left on this code.
        left: i64,
    },
    /// No live code: never sent, used, expired or tried too often.
    #[error("the code has expired or was not sent; ask for a new one")]
    Expired,
}

impl CodePolicy {
    /// Why a phone's counter refused a code at `now`: the code `last_at`
    /// was too recent, or `sent` codes already went in the hour from
    /// `window_start`. The store counts atomically; this says until when.
    pub fn send_refusal(
        &self,
        window_start: i64,
        sent: i64,
        last_at: i64,
        now: i64,
    ) -> CodeRefusal {
        let retry_at = if now - last_at < self.resend_after {
            last_at + self.resend_after
        } else if sent >= self.per_phone_per_hour {
            window_start + 3600
        } else {
            now
        };
        CodeRefusal::TooMany { retry_at }
    }

    /// Refuses while the phone is locked out: `failures` are when wrong
    /// codes were tried for it (unix seconds).
    pub fn check_locked(&self, failures: &[i64], now: i64) -> Result<(), CodeRefusal> {
        let mut recent: Vec<i64> = failures
            .iter()
            .copied()
            .filter(|t| *t > now - 3600)
            .collect();
        if recent.len() as i64 >= self.failures_per_hour {
            recent.sort_unstable();
            // Locked until enough failures have aged out of the hour.
            let idx = recent.len() - usize::try_from(self.failures_per_hour).unwrap_or(1).max(1);
            return Err(CodeRefusal::LockedOut {
                retry_at: recent[idx] + 3600,
            });
        }
        Ok(())
    }
}

impl CodeRefusal {
    /// The message in `lang`, with the retry time as local `HH:MM` given by
    /// `at` (the caller converts `retry_at` to the estate's time zone).
    pub fn message(&self, lang: Lang, at: Option<&str>) -> String {
        let at = at.unwrap_or("");
        match (self, lang) {
            (CodeRefusal::TooMany { .. }, Lang::Zh) => {
                format!("获取验证码过于频繁，请于 {at} 后再试")
            }
            (CodeRefusal::TooMany { .. }, Lang::En) => {
                format!("Too many codes requested. Try again after {at}.")
            }
            (CodeRefusal::LockedOut { .. }, Lang::Zh) => {
                format!("验证码错误次数过多，已暂时锁定，请于 {at} 后再试")
            }
            (CodeRefusal::LockedOut { .. }, Lang::En) => {
                format!("Too many wrong codes. Locked until {at}.")
            }
            (CodeRefusal::Wrong { left }, Lang::Zh) => format!("验证码不正确，还可再试 {left} 次"),
            (CodeRefusal::Wrong { left }, Lang::En) => {
                format!("That code is not right. {left} tries left.")
            }
            (CodeRefusal::Expired, Lang::Zh) => "验证码已失效，请重新获取".into(),
            (CodeRefusal::Expired, Lang::En) => {
                "The code has expired or was not sent. Ask for a new one.".into()
            }
        }
    }
    /// When to retry, if this refusal has a time.
    pub fn retry_at(&self) -> Option<i64> {
        match self {
            CodeRefusal::TooMany { retry_at } | CodeRefusal::LockedOut { retry_at } => {
                Some(*retry_at)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jiff::civil::date;

    #[test]
    fn default_windows_and_slots() {
        let r = BookingRules::default();
        r.validate().unwrap();
        // 2026-11-27 is a Friday.
        let fri = r.slots_on(date(2026, 11, 27), None);
        assert_eq!(fri.len(), 4);
        assert_eq!(hhmm(fri[0].start), "19:00");
        assert_eq!(hhmm(fri[3].end), "21:00");
        let sat = r.slots_on(date(2026, 11, 28), None);
        assert_eq!(sat.len(), 6 + 8);
        assert_eq!(hhmm(sat[6].start), "14:00");
        // Holiday on a weekday takes weekend windows; a make-up workday on a
        // Sunday takes weekday windows; closed has none.
        assert_eq!(
            r.slots_on(date(2026, 11, 27), Some(&DayRule::Holiday))
                .len(),
            14
        );
        assert_eq!(
            r.slots_on(date(2026, 11, 29), Some(&DayRule::Workday))
                .len(),
            4
        );
        assert!(
            r.slots_on(date(2026, 11, 27), Some(&DayRule::Closed))
                .is_empty()
        );
        let custom = DayRule::Custom(parse_windows("w", "18:00-19:00").unwrap());
        assert_eq!(r.slots_on(date(2026, 11, 27), Some(&custom)).len(), 2);
    }

    #[test]
    fn windows_parse_and_refuse() {
        let ws = parse_windows("w", "14:00-18:00， 9:00～12:00").unwrap();
        assert_eq!(format_windows(&ws), "09:00-12:00, 14:00-18:00");
        assert!(parse_windows("w", "").unwrap().is_empty());
        assert!(parse_windows("w", "21:00-19:00").is_err());
        assert!(parse_windows("w", "19:00-21:00,20:00-22:00").is_err());
        assert!(parse_windows("w", "25:00-26:00").is_err());
        assert!(parse_windows("w", "evening").is_err());
        let mut r = BookingRules {
            weekday: parse_windows("w", "19:00-20:45").unwrap(),
            ..BookingRules::default()
        };
        assert_eq!(r.validate().unwrap_err().field(), "weekday");
        r = BookingRules {
            slot_minutes: 5,
            ..BookingRules::default()
        };
        assert_eq!(r.validate().unwrap_err().field(), "slot_minutes");
    }

    #[test]
    fn open_checks() {
        let r = BookingRules::default();
        let now = date(2026, 11, 27).at(18, 0, 0, 0);
        let at = |h, m| {
            r.slot_at(date(2026, 11, 27).at(h, m, 0, 0), None)
                .map(|s| r.check_open(&s, now))
        };
        assert_eq!(at(19, 0), Ok(Ok(())));
        assert_eq!(at(19, 15), Err(Refusal::OutsideWindows));
        assert_eq!(at(17, 0), Err(Refusal::OutsideWindows));
        let late = date(2026, 11, 27).at(18, 31, 0, 0);
        let s = r.slot_at(date(2026, 11, 27).at(19, 0, 0, 0), None).unwrap();
        assert_eq!(
            r.check_open(&s, late),
            Err(Refusal::PastCutoff { minutes: 60 })
        );
        let past = date(2026, 11, 27).at(19, 5, 0, 0);
        assert_eq!(r.check_open(&s, past), Err(Refusal::InPast));
        let far = r.slot_at(date(2026, 12, 14).at(19, 0, 0, 0), None).unwrap();
        assert_eq!(
            r.check_open(&far, now),
            Err(Refusal::TooFarAhead { days: 14 })
        );
        let ok = r.slot_at(date(2026, 12, 11).at(19, 0, 0, 0), None).unwrap();
        assert_eq!(r.check_open(&ok, now), Ok(()));
        // A whole day ahead but within the cut-off never happens; two hours
        // ahead on another day is fine.
        let next = r.slot_at(date(2026, 11, 28).at(9, 0, 0, 0), None).unwrap();
        assert_eq!(
            r.check_open(&next, date(2026, 11, 28).at(7, 30, 0, 0)),
            Ok(())
        );
        assert_eq!(
            r.check_open(&next, date(2026, 11, 28).at(8, 30, 0, 0)),
            Err(Refusal::PastCutoff { minutes: 60 })
        );
        assert_eq!(
            r.slot_at(date(2026, 11, 27).at(19, 0, 0, 0), Some(&DayRule::Closed)),
            Err(Refusal::NoVisitsThatDay)
        );
    }

    #[test]
    fn lifecycle() {
        use BookingStatus::*;
        assert!(AwaitingCall.can_become(Confirmed));
        assert!(!AwaitingCall.can_become(Scheduled));
        assert!(Requested.can_become(Scheduled));
        assert!(Scheduled.can_become(Visited));
        assert!(!Visited.can_become(Cancelled));
        assert!(Cancelled.transition(Scheduled).is_err());
        for s in BookingStatus::ALL {
            assert_eq!(BookingStatus::from_code(s.code()).unwrap(), s);
        }
        assert_eq!(CallOutcome::NoAnswer.next_status(), AwaitingCall);
        assert_eq!(VisitResult::OwnerAbsent.status(), OwnerAbsent);
    }

    #[test]
    fn code_rules() {
        let p = CodePolicy::default();
        let now = 1_000_000;
        assert_eq!(
            p.send_refusal(now - 30, 1, now - 30, now),
            CodeRefusal::TooMany { retry_at: now + 30 }
        );
        assert_eq!(
            p.send_refusal(now - 3000, 5, now - 100, now),
            CodeRefusal::TooMany {
                retry_at: now + 600
            }
        );
        assert!(p.check_locked(&[], now).is_ok());
        let failures: Vec<i64> = (0..10).map(|i| now - 1000 + i).collect();
        assert_eq!(
            p.check_locked(&failures, now),
            Err(CodeRefusal::LockedOut {
                retry_at: now - 1000 + 3600
            })
        );
        assert!(p.check_locked(&failures[1..], now).is_ok());
        assert!(p.check_locked(&failures, now - 1000 + 3600).is_ok());
    }
}
