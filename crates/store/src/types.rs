//! Records read from and written to storage.

use doorstep_domain::estate::room_label;
use doorstep_domain::{
    Area, BillTarget, Category, Date, EstateCode, FeeItemSpec, Fen, LateFeeCalc, LateFeePolicy,
    LineAllocation, LineState, ObjectKind, Period, PhoneNumber, Role, late_fee,
};
use serde::Serialize;
use std::collections::HashMap;

/// A property company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Company {
    /// Id.
    pub id: i64,
    /// Registered name.
    pub name: String,
    /// 18-character unified social credit code.
    pub credit_code: String,
}

/// A staff user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The company.
    pub company_id: i64,
    /// Login name, unique in the database.
    pub username: String,
    /// Name shown on screens and in audit trails.
    pub display_name: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// Role.
    pub role: Role,
    /// Estates in scope (ignored for admins, who see all of their company's).
    pub estate_ids: Vec<i64>,
}

/// A staff user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Id.
    pub id: i64,
    /// The company.
    pub company_id: i64,
    /// Login name.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Estates in scope.
    pub estate_ids: Vec<i64>,
}

impl User {
    /// Whether the user may act on `estate` (same company, and in scope unless admin).
    pub fn can_access(&self, estate: &Estate) -> bool {
        estate.company_id == self.company_id
            && (self.role == Role::Admin || self.estate_ids.contains(&estate.id))
    }
}

/// One line of a company's estate list, counted for all estates at once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EstateSummary {
    /// Estate.
    pub estate_id: i64,
    /// Rooms.
    pub rooms: i64,
    /// Parking spaces.
    pub spaces: i64,
    /// Owners.
    pub owners: i64,
    /// The latest period billed (from the report totals), if any.
    pub last_period: Option<String>,
}

/// An estate's editable fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstateInput {
    /// Short code.
    pub code: EstateCode,
    /// Name, e.g. 幸福家园.
    pub name: String,
    /// IANA time zone of the estate.
    pub timezone: String,
    /// Where the office is (collectors start there).
    pub office: String,
}

/// An estate (小区).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Estate {
    /// Id.
    pub id: i64,
    /// The company running it.
    pub company_id: i64,
    /// Short code.
    pub code: String,
    /// Name.
    pub name: String,
    /// IANA time zone.
    pub timezone: String,
    /// The office.
    pub office: String,
}

/// What an estate holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EstateStats {
    /// Buildings.
    pub buildings: i64,
    /// Rooms.
    pub rooms: i64,
    /// Parking spaces.
    pub spaces: i64,
    /// Owners.
    pub owners: i64,
    /// Fee items.
    pub fee_items: i64,
    /// Bill lines.
    pub bill_lines: i64,
}

/// A building's editable fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildingInput {
    /// Name as written, e.g. `3` or `3号楼`.
    pub name: String,
    /// Number of entrances (单元).
    pub entrances: i32,
    /// Number of floors above ground.
    pub floors: i32,
    /// Whether it has a lift.
    pub has_lift: bool,
}

/// A building (号楼).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Building {
    /// Id.
    pub id: i64,
    /// Estate.
    pub estate_id: i64,
    /// Name.
    pub name: String,
    /// Entrances.
    pub entrances: i32,
    /// Floors.
    pub floors: i32,
    /// Lift.
    pub has_lift: bool,
}

/// A room's editable fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomInput {
    /// Building name (created if absent).
    pub building: String,
    /// Entrance, empty if the building has one.
    pub entrance: String,
    /// Floor.
    pub floor: i32,
    /// Room number, e.g. 202.
    pub number: String,
    /// Floor area.
    pub area: Area,
}

/// A room (房).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Room {
    /// Id.
    pub id: i64,
    /// Estate.
    pub estate_id: i64,
    /// Building id.
    pub building_id: i64,
    /// Building name.
    pub building: String,
    /// Entrance.
    pub entrance: String,
    /// Floor.
    pub floor: i32,
    /// Number.
    pub number: String,
    /// Area.
    pub area: Area,
    /// Names of its owners.
    pub owners: Vec<String>,
}

impl Room {
    /// `3号楼2单元202室`.
    pub fn label(&self) -> String {
        room_label(&self.building, &self.entrance, &self.number)
    }
}

/// A parking space's editable fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpaceInput {
    /// Code, e.g. B007.
    pub code: String,
    /// Level, e.g. 地下B1.
    pub level: String,
}

/// A parking space (车位).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Space {
    /// Id.
    pub id: i64,
    /// Estate.
    pub estate_id: i64,
    /// Code.
    pub code: String,
    /// Level.
    pub level: String,
    /// Names of its owners.
    pub owners: Vec<String>,
}

/// The usual label of a space: `地下B1 车位B007`.
pub fn space_label(level: &str, code: &str) -> String {
    if level.is_empty() {
        format!("车位{code}")
    } else {
        format!("{level} 车位{code}")
    }
}

/// An owner's editable fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerInput {
    /// Name.
    pub name: String,
    /// Phones, at least one.
    pub phones: Vec<PhoneNumber>,
    /// Rooms owned.
    pub room_ids: Vec<i64>,
    /// Spaces owned.
    pub space_ids: Vec<i64>,
}

/// An owner (业主).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Owner {
    /// Id.
    pub id: i64,
    /// Estate.
    pub estate_id: i64,
    /// Name.
    pub name: String,
    /// Phones.
    pub phones: Vec<String>,
    /// Rooms owned (id, label).
    pub rooms: Vec<(i64, String)>,
    /// Spaces owned (id, label).
    pub spaces: Vec<(i64, String)>,
}

/// A room named by its natural key in an import.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoomKey {
    /// Building name.
    pub building: String,
    /// Entrance.
    pub entrance: String,
    /// Number.
    pub number: String,
}

/// An owner in an import, with holdings by natural key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOwner {
    /// Name.
    pub name: String,
    /// Phones.
    pub phones: Vec<PhoneNumber>,
    /// Rooms owned.
    pub rooms: Vec<RoomKey>,
    /// Space codes owned.
    pub spaces: Vec<String>,
}

/// Rooms, spaces and owners to add to an estate at once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportBatch {
    /// Buildings (created if absent; existing ones keep their fields).
    pub buildings: Vec<BuildingInput>,
    /// Rooms (new).
    pub rooms: Vec<RoomInput>,
    /// Spaces (new).
    pub spaces: Vec<SpaceInput>,
    /// Owners: matched to an existing owner of the estate by name and phone, else created.
    pub owners: Vec<ImportOwner>,
}

/// What an import created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    /// Buildings created.
    pub buildings_created: u64,
    /// Rooms created.
    pub rooms_created: u64,
    /// Spaces created.
    pub spaces_created: u64,
    /// Owners created.
    pub owners_created: u64,
    /// Owners already on file that received holdings.
    pub owners_matched: u64,
}

/// A fee item with its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeeItem {
    /// Id.
    pub id: i64,
    /// Estate.
    pub estate_id: i64,
    /// Definition.
    pub spec: FeeItemSpec,
    /// Billed by runs.
    pub active: bool,
}

/// Inputs of a billing run.
#[derive(Debug, Clone, Default)]
pub struct BillingInputs {
    /// Active fee items.
    pub items: Vec<FeeItem>,
    /// Rooms and owned spaces.
    pub targets: Vec<BillTarget>,
    /// Entered amounts for the period: (fee item, room) → amount.
    pub entered: HashMap<(i64, i64), Fen>,
}

/// A finished billing run, kept for the record.
#[derive(Debug, Clone)]
pub struct BillingRunRecord {
    /// Estate.
    pub estate_id: i64,
    /// Period.
    pub period: Period,
    /// Lines created.
    pub created: u64,
    /// Lines that already existed.
    pub existing: u64,
    /// Start (unix seconds).
    pub started_at: i64,
    /// End (unix seconds).
    pub finished_at: i64,
    /// Who ran it, if a user.
    pub user_id: Option<i64>,
}

/// Which bill lines to read.
#[derive(Debug, Clone, Default)]
pub struct LineQuery {
    /// Estate.
    pub estate_id: i64,
    /// Only lines with something still owed (unpaid or partly paid).
    pub open_only: bool,
    /// Only these objects.
    pub objects: Vec<(ObjectKind, i64)>,
    /// Only these lines.
    pub line_ids: Vec<i64>,
    /// Only this period.
    pub period: Option<Period>,
}

/// Stored status of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    /// Nothing paid.
    Unpaid,
    /// Some principal paid.
    PartlyPaid,
    /// Principal paid in full.
    Paid,
    /// Waived by staff.
    Waived,
}

impl LineStatus {
    /// Storage code.
    pub fn code(self) -> &'static str {
        match self {
            LineStatus::Unpaid => "unpaid",
            LineStatus::PartlyPaid => "partly_paid",
            LineStatus::Paid => "paid",
            LineStatus::Waived => "waived",
        }
    }
    /// Parses a storage code.
    pub fn from_code(s: &str) -> Option<LineStatus> {
        Some(match s {
            "unpaid" => LineStatus::Unpaid,
            "partly_paid" => LineStatus::PartlyPaid,
            "paid" => LineStatus::Paid,
            "waived" => LineStatus::Waived,
            _ => return None,
        })
    }
    /// The status implied by principal paid.
    pub fn from_paid(amount: Fen, paid: Fen) -> LineStatus {
        if paid.0 <= 0 {
            LineStatus::Unpaid
        } else if paid < amount {
            LineStatus::PartlyPaid
        } else {
            LineStatus::Paid
        }
    }
}

/// Who did what and why, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffAct {
    /// Staff user id.
    pub user_id: i64,
    /// Reason given.
    pub reason: String,
    /// When (unix seconds).
    pub at: i64,
}

/// A recorded waiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waiver {
    /// Reason.
    pub reason: String,
    /// Who (display name).
    pub by: String,
    /// When (unix seconds).
    pub at: i64,
}

/// A bill line with what is needed to show and settle it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillLine {
    /// Id.
    pub id: i64,
    /// Estate.
    pub estate_id: i64,
    /// Room or space.
    pub object_kind: ObjectKind,
    /// Its id.
    pub object_id: i64,
    /// `3号楼202室` or `地下B1 车位B007`.
    pub object_label: String,
    /// Fee item.
    pub fee_item_id: i64,
    /// Fee item name.
    pub fee_item_name: String,
    /// Category.
    pub category: Category,
    /// The item's late-fee policy.
    pub policy: LateFeePolicy,
    /// Period.
    pub period: Period,
    /// Unit price.
    pub unit_price: Fen,
    /// Quantity in hundredths.
    pub quantity_centi: i64,
    /// Amount (principal).
    pub amount: Fen,
    /// Due date.
    pub due_date: Date,
    /// Principal paid.
    pub paid_principal: Fen,
    /// Late fee paid.
    pub late_fee_paid: Fen,
    /// Late fee fixed at the last payment.
    pub checkpoint: Option<(Date, Fen)>,
    /// Late-fee waiver.
    pub late_fee_waiver: Option<Waiver>,
    /// Whole-line waiver.
    pub line_waiver: Option<Waiver>,
    /// Disputed since.
    pub disputed_since: Option<Date>,
    /// Status.
    pub status: LineStatus,
    /// Owners' names.
    pub owners: Vec<String>,
    /// Owners' phones.
    pub phones: Vec<String>,
}

impl BillLine {
    /// The late-fee calculation's inputs.
    pub fn state(&self) -> LineState {
        LineState {
            category: self.category,
            principal: self.amount,
            paid_principal: self.paid_principal,
            due_date: self.due_date,
            checkpoint: self.checkpoint,
            late_fee_paid: self.late_fee_paid,
            late_fee_waived: self.late_fee_waiver.is_some(),
            disputed_since: self.disputed_since,
        }
    }
    /// Late fee as of `as_of` (none for waived lines or items without one).
    pub fn late_fee(&self, as_of: Date) -> Option<LateFeeCalc> {
        if self.line_waiver.is_some() {
            return None;
        }
        late_fee(&self.policy, &self.state(), as_of)
    }
    /// Principal still owed (zero for waived lines).
    pub fn principal_outstanding(&self) -> Fen {
        if self.line_waiver.is_some() {
            Fen::ZERO
        } else {
            Fen((self.amount - self.paid_principal).0.max(0))
        }
    }
    /// What the line owes on `today` and whether it is due now (the one
    /// definition: `doorstep_domain::due`).
    pub fn due(&self, today: Date) -> doorstep_domain::LineDue {
        doorstep_domain::line_due(
            &self.policy,
            &self.state(),
            self.line_waiver.is_some(),
            today,
        )
    }
}

/// A payment to record.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// Estate.
    pub estate_id: i64,
    /// Pay the open lines of these objects…
    pub objects: Vec<(ObjectKind, i64)>,
    /// …or exactly these lines.
    pub line_ids: Vec<i64>,
    /// Amount received.
    pub amount: Fen,
    /// `cash`, `wechat`, `alipay`, `bank`, `other`.
    pub method: String,
    /// Local date of payment (late fees are computed as of it).
    pub paid_on: Date,
    /// Instant (unix seconds).
    pub at: i64,
    /// Staff user who recorded it.
    pub recorded_by: Option<i64>,
    /// Client-made key: the same key records once.
    pub idempotency_key: Option<String>,
    /// The home visit it was taken at.
    pub booking_id: Option<i64>,
    /// Taken offline and synced later.
    pub offline: bool,
    /// Only the lines due now as of `paid_on` ([`BillLine::due`], the one
    /// definition owner pages, the collector's screen and notices use),
    /// chosen in the payment's transaction from the lines it locks: bills
    /// not yet due are a prepayment only when the owner chose it.
    pub only_due_now: bool,
}

/// A recorded payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentRecord {
    /// Id.
    pub id: i64,
    /// Amount received.
    pub amount: Fen,
    /// Per line.
    pub allocation: Vec<LineAllocation>,
    /// This key had been recorded before; nothing new was written.
    pub replayed: bool,
    /// The receipt link drawn in the payment's own transaction (`None` on
    /// a replay: look it up), so that the answer needs no second read.
    #[serde(skip)]
    pub receipt: Option<crate::ReceiptRef>,
    /// With [`NewPayment::only_due_now`]: what those lines still owe now
    /// after this payment, as of its date (`None` on a replay: read again).
    #[serde(skip)]
    pub still_due_now: Option<Fen>,
}

/// A rate limit's current window for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    /// Hits counted in this window, the current one included.
    pub hits: u32,
    /// When the window began (Unix seconds).
    pub window_start: i64,
}

/// A handover whose count differs from the ledger (issue 14): pending
/// until the collector has answered and a third person has approved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandoverDifference {
    /// The shift counted.
    pub shift_id: i64,
    /// Estate.
    pub estate_id: i64,
    /// The collector whose cash it was.
    pub collector_id: i64,
    /// Their name.
    pub collector_name: String,
    /// Who counted.
    pub counted_by: i64,
    /// What the ledger said the collector held.
    pub expected: Fen,
    /// What was counted.
    pub counted: Fen,
    /// Why they differ (given with the count).
    pub reason: String,
    /// The handover entry (difference to suspense).
    pub entry_id: i64,
    /// Unix seconds.
    pub created_at: i64,
    /// `pending` or `approved`.
    pub status: String,
    /// The collector's answer: `ack` or `dispute`, none yet.
    pub response: Option<String>,
    /// The collector's note (required with a dispute).
    pub response_note: String,
    /// Unix seconds.
    pub responded_at: Option<i64>,
    /// Part of a shortage since explained by voids of the shift's payments.
    pub offset: Fen,
    /// The approver (neither the counter nor the collector).
    pub approved_by: Option<i64>,
    /// Unix seconds.
    pub approved_at: Option<i64>,
    /// The entry moving the difference to over/short (none when voids
    /// explained all of it).
    pub approval_entry_id: Option<i64>,
}

impl HandoverDifference {
    /// counted − expected (negative = short).
    pub fn difference(&self) -> Fen {
        self.counted - self.expected
    }
}

/// A collection reopened by a void: the lines are owed again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recollection {
    /// Id.
    pub id: i64,
    /// Estate.
    pub estate_id: i64,
    /// The void (or refund) that reopened it.
    pub reversal_id: i64,
    /// The reversed payment.
    pub payment_id: i64,
    /// The visit it had been paid at, if any.
    pub booking_id: Option<i64>,
    /// The reversed amount.
    pub amount: Fen,
    /// The account the reversal took the money from.
    pub taken_from: String,
    /// Messages queued to the owners.
    pub owners_told: i64,
    /// What the reopened lines still owe now (zero: collected again).
    pub still_owed: Fen,
    /// Unix seconds.
    pub created_at: i64,
}

/// Something in cash custody still open (for the ledger check and the day
/// close): `open_shift`, `not_handed_over`, `pending_difference`,
/// `pending_reversal`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenCustodyItem {
    /// Estate.
    pub estate_id: i64,
    /// What kind of item.
    pub kind: String,
    /// The shift's or reversal's id.
    pub id: i64,
    /// In words (names, amounts, status).
    pub detail: String,
}
