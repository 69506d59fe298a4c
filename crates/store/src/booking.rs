//! Records of home-visit bookings, dispatch, owner sign-in and the outbox.

use doorstep_domain::{BookingStatus, CallOutcome, Date, ObjectKind, VisitResult, Window};
use serde::Serialize;

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// An owner, signed in by phone.
    Owner {
        /// The phone they signed in with.
        phone: String,
    },
    /// A staff user.
    Staff {
        /// User id.
        user_id: i64,
    },
    /// Doorstep itself (e.g. the route planner).
    System,
}

impl Actor {
    /// Storage parts: kind, staff user id, owner phone.
    pub fn parts(&self) -> (&'static str, Option<i64>, &str) {
        match self {
            Actor::Owner { phone } => ("owner", None, phone),
            Actor::Staff { user_id } => ("staff", Some(*user_id), ""),
            Actor::System => ("system", None, ""),
        }
    }
}

/// A booking to create.
#[derive(Debug, Clone)]
pub struct NewBooking {
    /// Estate.
    pub estate_id: i64,
    /// The owner the visit is for.
    pub owner_id: i64,
    /// Their name (for the record returned; not stored).
    pub owner_name: String,
    /// The owner's phone on file used for this booking.
    pub phone: String,
    /// Who to call about the visit (a child booking for a parent…).
    pub contact_phone: String,
    /// Rooms and spaces to collect for (all the owner's, at one address).
    pub targets: Vec<(ObjectKind, i64)>,
    /// Local date of the slot.
    pub day: Date,
    /// The slot's local start and end.
    pub slot: Window,
    /// The window (session) it belongs to.
    pub window: Window,
    /// The slot's start (unix seconds).
    pub starts_at: i64,
    /// The session's start (unix seconds).
    pub session_at: i64,
    /// Places in the slot; the booking is refused when all are taken.
    pub capacity: i64,
    /// "Will pay in cash".
    pub pays_cash: bool,
    /// "Elderly person alone at home — call to confirm first".
    pub call_first: bool,
    /// Free note.
    pub note: String,
    /// Who booked.
    pub actor: Actor,
    /// The booking this one replaces (reschedule).
    pub rescheduled_from: Option<i64>,
    /// The reminder to queue, if any.
    pub reminder: Option<NewMessage>,
    /// When (unix seconds).
    pub now: i64,
}

/// A booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Booking {
    /// Id.
    pub id: i64,
    /// Estate.
    pub estate_id: i64,
    /// Owner.
    pub owner_id: i64,
    /// Owner's name.
    pub owner_name: String,
    /// The owner's phone on file.
    pub phone: String,
    /// Contact phone for the visit.
    pub contact_phone: String,
    /// Local date.
    pub day: Date,
    /// Local slot.
    pub slot: Window,
    /// Local session window.
    pub window: Window,
    /// Slot start (unix seconds).
    pub starts_at: i64,
    /// Session start (unix seconds).
    pub session_at: i64,
    /// Status.
    pub status: BookingStatus,
    /// Will pay in cash.
    pub pays_cash: bool,
    /// Call to confirm first.
    pub call_first: bool,
    /// Note.
    pub note: String,
    /// Staff who booked on the owner's behalf.
    pub booked_by_user: Option<i64>,
    /// Assigned collector.
    pub collector_id: Option<i64>,
    /// Planned arrival (unix seconds).
    pub eta: Option<i64>,
    /// Position in the collector's route.
    pub route_seq: Option<i64>,
    /// Confirmation calls made.
    pub call_attempts: i64,
    /// How the visit ended.
    pub visit_result: Option<VisitResult>,
    /// Why nothing (or not all) was paid.
    pub visit_reason: String,
    /// The booking this replaced.
    pub rescheduled_from: Option<i64>,
    /// Rooms and spaces.
    pub targets: Vec<(ObjectKind, i64)>,
    /// Created (unix seconds).
    pub created_at: i64,
    /// Last change (unix seconds).
    pub updated_at: i64,
}

/// One transition in a booking's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BookingEvent {
    /// When (unix seconds).
    pub at: i64,
    /// From (none at creation).
    pub from: Option<BookingStatus>,
    /// To.
    pub to: BookingStatus,
    /// Who.
    pub actor: Actor,
    /// Staff user's display name, if staff.
    pub actor_name: String,
    /// What happened, in words.
    pub detail: String,
}

/// Which bookings to list.
#[derive(Debug, Clone, Default)]
pub struct BookingQuery {
    /// Estate (required unless `phone` is given).
    pub estate_id: Option<i64>,
    /// Bookings made with this owner phone.
    pub phone: Option<String>,
    /// In estates of this company (an owner session's scope).
    pub company_id: Option<i64>,
    /// Of one session.
    pub session_at: Option<i64>,
    /// Slot starts from (unix seconds, inclusive).
    pub from: Option<i64>,
    /// Slot starts before (unix seconds).
    pub to: Option<i64>,
    /// In these statuses (all if empty).
    pub statuses: Vec<BookingStatus>,
    /// Assigned to this collector.
    pub collector_id: Option<i64>,
    /// At most this many (0 = 500).
    pub limit: i64,
}

/// A status change to apply, if the booking is in one of `from`.
#[derive(Debug, Clone)]
pub struct BookingChange {
    /// The booking.
    pub booking_id: i64,
    /// Allowed current statuses.
    pub from: Vec<BookingStatus>,
    /// New status.
    pub to: BookingStatus,
    /// Who.
    pub actor: Actor,
    /// What happened.
    pub detail: String,
    /// A call was made (counts attempts).
    pub call: Option<CallOutcome>,
    /// Visit result and reason.
    pub visit: Option<(VisitResult, String)>,
    /// When (unix seconds).
    pub now: i64,
}

/// One booking's place in a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    /// Booking.
    pub booking_id: i64,
    /// Collector.
    pub collector_id: i64,
    /// Arrival (unix seconds).
    pub eta: i64,
    /// Order in the route, from 1.
    pub seq: i64,
}

/// A dispatch session's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DispatchSession {
    /// Estate.
    pub estate_id: i64,
    /// Session start (unix seconds).
    pub session_at: i64,
    /// Last planned (unix seconds).
    pub planned_at: Option<i64>,
    /// Locked (unix seconds): the routes are final and published.
    pub locked_at: Option<i64>,
    /// Who locked.
    pub locked_by: Option<i64>,
    /// Bookings the planner could not fit, with reasons (JSON text).
    pub unassigned: String,
}

/// A collector's duty on a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duty {
    /// Collector user id.
    pub user_id: i64,
    /// Display name.
    pub name: String,
    /// On duty that day.
    pub on_duty: bool,
}

/// A one-time code as counted by [`crate::Store::try_code`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCode {
    /// Id.
    pub id: i64,
    /// Hash of the code.
    pub code_hash: String,
    /// Expiry (unix seconds).
    pub expires_at: i64,
    /// Tries counted on it, the one just counted included.
    pub attempts: i64,
    /// The company it signs in to; `None` for a code that was never texted
    /// (it never opens a session).
    pub company_id: Option<i64>,
}

/// What a code's message says in every listing staff can read: the code
/// itself only ever goes to the gateway.
pub const REDACTED_CODE_TEXT: &str = "【门口收费】您的登录验证码是******（已隐藏）";

/// A sign-in code to store, with the phone's sending limits.
#[derive(Debug, Clone)]
pub struct NewCode {
    /// The phone (normalised).
    pub phone: String,
    /// Hash of the code.
    pub code_hash: String,
    /// The client address that asked.
    pub client: String,
    /// The company it signs in to (`None`: never texted, never opens a session).
    pub company_id: Option<i64>,
    /// Now (unix seconds).
    pub now: i64,
    /// Expiry (unix seconds).
    pub expires_at: i64,
    /// At least this long between two codes to the phone (seconds).
    pub resend_after: i64,
    /// Codes to the phone per hour.
    pub per_hour: i64,
    /// The message to queue, if any.
    pub message: Option<NewMessage>,
}

/// A phone's code counter: codes in the hour from `window_start`, the last at `last_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneSends {
    /// Start of the current hour window (unix seconds).
    pub window_start: i64,
    /// Codes in it.
    pub sent: i64,
    /// The last code (unix seconds).
    pub last_at: i64,
}

/// The outcome of storing a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSend {
    /// Stored (and its message queued): the code's id.
    Stored(i64),
    /// Refused by the phone's limits; nothing stored.
    Refused(PhoneSends),
}

/// A live owner session: the phone and the company it was opened for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerSessionInfo {
    /// The phone signed in.
    pub phone: String,
    /// The company signed in to.
    pub company_id: i64,
}

/// An owner session to open with a code.
#[derive(Debug, Clone)]
pub struct NewOwnerSession {
    /// SHA-256 of the token.
    pub token_hash: String,
    /// The phone.
    pub phone: String,
    /// The company.
    pub company_id: i64,
    /// Now (unix seconds).
    pub now: i64,
    /// Expiry (unix seconds).
    pub expires_at: i64,
}

/// A message to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// Estate, if any.
    pub estate_id: Option<i64>,
    /// `sms` or `wechat`.
    pub channel: String,
    /// Phone number or open id.
    pub recipient: String,
    /// What for: `code`, `booking`, `reminder`, `cancel` …
    pub kind: String,
    /// Text.
    pub body: String,
    /// Not before (unix seconds).
    pub due_at: i64,
}

/// A queued or sent message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// Id.
    pub id: i64,
    /// Estate.
    pub estate_id: Option<i64>,
    /// Channel.
    pub channel: String,
    /// Recipient.
    pub recipient: String,
    /// Kind.
    pub kind: String,
    /// Text.
    pub body: String,
    /// Booking it is about.
    pub booking_id: Option<i64>,
    /// Queued (unix seconds).
    pub created_at: i64,
    /// Due (unix seconds).
    pub due_at: i64,
    /// Sent (unix seconds).
    pub sent_at: Option<i64>,
    /// Withdrawn (unix seconds), e.g. a reminder for a cancelled visit.
    pub cancelled_at: Option<i64>,
}

/// A session's plan to save.
#[derive(Debug, Clone)]
pub struct PlanUpdate<'a> {
    /// Estate.
    pub estate_id: i64,
    /// Session start (unix seconds).
    pub session_at: i64,
    /// Bookings on routes.
    pub assignments: &'a [Assignment],
    /// Bookings left out, with reasons, as JSON `[[id, "reason"], …]`.
    pub unassigned_json: &'a str,
    /// Who planned.
    pub actor: &'a Actor,
    /// Save even when the session is locked.
    pub force: bool,
    /// When (unix seconds).
    pub now: i64,
}

/// What the booking path reads before it writes, in one query.
#[derive(Debug, Clone)]
pub struct BookingContext {
    /// The estate.
    pub estate: crate::Estate,
    /// Its booking rules.
    pub rules: doorstep_domain::BookingRules,
    /// The day's rule, if set.
    pub day_rule: Option<doorstep_domain::DayRule>,
    /// Collectors on duty that day.
    pub on_duty: i64,
}

/// An owner record holding a set of rooms and spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerHolding {
    /// Owner id.
    pub owner_id: i64,
    /// Name.
    pub name: String,
    /// First phone on file.
    pub phone: String,
}
