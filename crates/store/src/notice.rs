//! Records of issue 7: notice settings, notices, disputes.

use doorstep_domain::{Fen, ObjectKind};
use serde::Serialize;

/// How an estate sends overdue notices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeSettings {
    /// The contract clause late fees rest on (empty: none recorded).
    pub contract_basis: String,
    /// The fee office's phone.
    pub office_phone: String,
    /// Quiet hours start, local `HH:MM`.
    pub quiet_from: String,
    /// Quiet hours end, local `HH:MM`.
    pub quiet_until: String,
    /// Days between two notices to one room or space.
    pub min_days: i64,
    /// Notices to one room or space per month.
    pub max_per_month: i64,
}

impl Default for NoticeSettings {
    fn default() -> Self {
        NoticeSettings {
            contract_basis: String::new(),
            office_phone: String::new(),
            quiet_from: "21:00".into(),
            quiet_until: "08:00".into(),
            min_days: 7,
            max_per_month: 2,
        }
    }
}

/// A notice to record (and its message to queue, in the same transaction).
#[derive(Debug, Clone)]
pub struct NewNotice {
    /// Estate.
    pub estate_id: i64,
    /// The room or space.
    pub object: (ObjectKind, i64),
    /// `sms`, `wechat`, `print`.
    pub channel: String,
    /// Phone (or `print`).
    pub recipient: String,
    /// The text.
    pub body: String,
    /// What it asks for.
    pub amount: Fen,
    /// The local day (`YYYY-MM-DD`): one notice per object, channel and
    /// recipient per day.
    pub local_day: String,
    /// Staff who sent it.
    pub created_by: Option<i64>,
    /// Unix seconds.
    pub at: i64,
    /// When the message may go (after quiet hours), unix seconds.
    pub due_at: i64,
    /// Queue the text in the outbox (not for printed notices).
    pub queue: bool,
}

/// A notice as recorded, with its delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// Id.
    pub id: i64,
    /// Estate.
    pub estate_id: i64,
    /// `room` / `space`.
    pub object_kind: String,
    /// Its id.
    pub object_id: i64,
    /// Channel.
    pub channel: String,
    /// Recipient.
    pub recipient: String,
    /// Text.
    pub body: String,
    /// Amount asked.
    pub amount: Fen,
    /// Outbox message.
    pub message_id: Option<i64>,
    /// Staff.
    pub created_by: Option<i64>,
    /// Unix seconds.
    pub created_at: i64,
    /// When it may go.
    pub due_at: i64,
    /// When the gateway took it (delivered), if it did.
    pub sent_at: Option<i64>,
    /// Withdrawn before it went.
    pub cancelled_at: Option<i64>,
}

/// A dispute or complaint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dispute {
    /// Id.
    pub id: i64,
    /// Estate.
    pub estate_id: i64,
    /// Room or space, if any.
    pub object: Option<(String, i64)>,
    /// The owner (name or how to reach them).
    pub owner: String,
    /// What it is about.
    pub topic: String,
    /// How it ended.
    pub outcome: String,
    /// `open` / `closed`.
    pub status: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub closed_at: Option<i64>,
}

/// A bill line with its payments, for the management reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLine {
    /// Bill line.
    pub line_id: i64,
    /// Room or space.
    pub object: (ObjectKind, i64),
    /// The room's building (`None` for parking spaces).
    pub building: Option<String>,
    /// Fee item name.
    pub item: String,
    /// Period, `2026-11`.
    pub period: String,
    /// Billed amount.
    pub amount: Fen,
    /// Waived (the line's unpaid rest, when waived).
    pub waived: Fen,
    /// Principal paid by posted payments, by day.
    pub paid: Vec<(doorstep_domain::Date, Fen)>,
}

/// A visit made (or attempted), for the visit report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitRow {
    /// Booking.
    pub booking_id: i64,
    /// Collector.
    pub collector_id: i64,
    /// Collector's name.
    pub collector: String,
    /// Local day `YYYY-MM-DD`.
    pub day: String,
    /// Slot start, local `HH:MM`.
    pub slot_start: String,
    /// Slot end, local `HH:MM`.
    pub slot_end: String,
    /// First check-in, unix seconds.
    pub arrived_at: Option<i64>,
    /// When the outcome was recorded, unix seconds.
    pub finished_at: Option<i64>,
    /// Rooms and spaces visited.
    pub households: i64,
}

/// Which estates a report sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportScope {
    /// One estate: the estate, each building and each fee item.
    Estate(i64),
    /// Every estate of a company, each as a whole.
    Company(i64),
}

/// Grouping of a running total: the whole estate (key 0).
pub const DIM_ESTATE: i64 = 0;
/// A building (key: building id; 0 for parking spaces).
pub const DIM_BUILDING: i64 = 1;
/// A fee item (key: fee item id).
pub const DIM_ITEM: i64 = 2;

/// One running total behind the collection report: due per period
/// (`paid_month` none), or principal paid per line period and month paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotalRow {
    /// Estate.
    pub estate_id: i64,
    /// [`DIM_ESTATE`], [`DIM_BUILDING`] or [`DIM_ITEM`].
    pub dim: i64,
    /// Building or fee item id (0 for the estate, or for parking spaces).
    pub key: i64,
    /// Billing period of the lines, `2026-11`.
    pub period: String,
    /// Month paid, `2026-11`; none for a due amount.
    pub paid_month: Option<String>,
    /// Fen.
    pub fen: i64,
}

/// Cash, custody and dispute figures of one estate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OperationsRow {
    /// Estate.
    pub estate_id: i64,
    /// Cash held by collectors now (fen), from the ledger's balances.
    pub cash_held: i64,
    /// Collectors holding cash.
    pub collectors_holding: i64,
    /// Shifts closed and waiting for their handover.
    pub handovers_pending: i64,
    /// Disputes and complaints opened in the window.
    pub disputes_opened: i64,
    /// Closed in the window.
    pub disputes_closed: i64,
    /// Open now.
    pub disputes_open: i64,
}
