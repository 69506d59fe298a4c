//! The storage interface: one trait, implemented once per backend
//! (`doorstep-store-sqlite`, `doorstep-store-postgres`), proved equal by the
//! shared conformance suite in `doorstep-store/tests`-style functions exported
//! from [`conformance`].
//!
//! Every method is one business operation and runs in one transaction. The
//! database enforces the invariants (unique keys), not only this code.

mod booking;
mod collect;
pub mod conformance;
mod evidence;
mod ledger_check;
mod notice;
mod types;

pub use booking::*;
pub use collect::*;
pub use evidence::*;
pub use ledger_check::{LedgerReport, check_ledger};
pub use notice::*;
pub use types::*;

use async_trait::async_trait;
use doorstep_domain::{
    BookingRules, BookingStatus, Date, DayRule, DomainError, FeeItemSpec, Fen, NewLine, Period,
};

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A uniqueness rule was violated; the message says which.
    #[error("{0}")]
    Conflict(String),
    /// Input failed domain validation.
    #[error(transparent)]
    Invalid(#[from] DomainError),
    /// Every place in the slot is taken.
    #[error("that slot is full")]
    SlotFull,
    /// The database failed; the message is for logs.
    #[error("database error: {0}")]
    Database(String),
    /// The database is locked or every connection is in use: nothing was
    /// done, and the same request may succeed in a moment.
    #[error("database busy: {0}")]
    Busy(String),
}

/// Result of storage operations.
pub type StoreResult<T> = Result<T, StoreError>;

/// The storage interface shared by both backends.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Backend name for logs (`sqlite`, `postgres`).
    fn backend(&self) -> &'static str;

    // --- companies, users, sessions ---
    /// Creates a company; refuses (Invalid, field `credit_code`) a code that
    /// fails the GB 32100-2015 check and stores it upper-cased.
    async fn create_company(&self, name: &str, credit_code: &str) -> StoreResult<Company>;
    /// The company with this name, if any.
    async fn company_by_name(&self, name: &str) -> StoreResult<Option<Company>>;
    /// A company by id.
    async fn company(&self, id: i64) -> StoreResult<Company>;
    /// Creates a staff user scoped to `estate_ids` (admins see every estate).
    async fn create_user(&self, user: &NewUser) -> StoreResult<User>;
    /// A user and their password hash, by username.
    async fn user_credentials(&self, username: &str) -> StoreResult<Option<(User, String)>>;
    /// A user by id.
    async fn user(&self, id: i64) -> StoreResult<User>;
    /// Stores a session (the token's hash, never the token).
    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()>;
    /// The user of a live session.
    async fn session_user(&self, token_hash: &str, now: i64) -> StoreResult<Option<User>>;
    /// Ends a session.
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;

    // --- estates and their objects ---
    /// Creates an estate.
    async fn create_estate(&self, company_id: i64, e: &EstateInput) -> StoreResult<Estate>;
    /// Updates an estate's name, timezone and office.
    async fn update_estate(&self, id: i64, e: &EstateInput) -> StoreResult<Estate>;
    /// Estates of a company, by code.
    async fn list_estates(&self, company_id: i64) -> StoreResult<Vec<Estate>>;
    /// An estate by code (unique in the database).
    async fn estate_by_code(&self, code: &str) -> StoreResult<Option<Estate>>;
    /// An estate by id.
    async fn estate_by_id(&self, id: i64) -> StoreResult<Estate>;
    /// Counts of what an estate holds.
    async fn estate_stats(&self, estate_id: i64) -> StoreResult<EstateStats>;
    /// Every estate of a company with its rooms, spaces, owners and latest
    /// billed period, in a few grouped queries (the console's list of 200
    /// estates must not count millions of bill lines).
    async fn estate_summaries(&self, company_id: i64) -> StoreResult<Vec<EstateSummary>>;
    /// Creates or updates a building by name.
    async fn upsert_building(&self, estate_id: i64, b: &BuildingInput) -> StoreResult<Building>;
    /// Buildings of an estate.
    async fn list_buildings(&self, estate_id: i64) -> StoreResult<Vec<Building>>;
    /// Creates a room.
    async fn create_room(&self, estate_id: i64, r: &RoomInput) -> StoreResult<Room>;
    /// Updates a room of the estate (NotFound, nothing changed, if the room
    /// is not in it).
    async fn update_room(&self, estate_id: i64, id: i64, r: &RoomInput) -> StoreResult<Room>;
    /// Rooms of an estate matching `filter` (building, number or owner), paged.
    async fn list_rooms(
        &self,
        estate_id: i64,
        filter: &str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<Room>>;
    /// A room of the estate by id.
    async fn room(&self, estate_id: i64, id: i64) -> StoreResult<Room>;
    /// A parking space of the estate by id.
    async fn space(&self, estate_id: i64, id: i64) -> StoreResult<Space>;
    /// Creates a parking space.
    async fn create_space(&self, estate_id: i64, s: &SpaceInput) -> StoreResult<Space>;
    /// Updates a parking space of the estate.
    async fn update_space(&self, estate_id: i64, id: i64, s: &SpaceInput) -> StoreResult<Space>;
    /// Spaces of an estate.
    async fn list_spaces(
        &self,
        estate_id: i64,
        filter: &str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<Space>>;
    /// Creates an owner with phones and holdings.
    async fn create_owner(&self, estate_id: i64, o: &OwnerInput) -> StoreResult<Owner>;
    /// Replaces the name, phones and holdings of an owner of the estate.
    async fn update_owner(&self, estate_id: i64, id: i64, o: &OwnerInput) -> StoreResult<Owner>;
    /// Owners of an estate matching name or phone.
    async fn list_owners(
        &self,
        estate_id: i64,
        filter: &str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<Owner>>;
    /// An owner of the estate by id.
    async fn owner(&self, estate_id: i64, id: i64) -> StoreResult<Owner>;
    /// Applies an import batch in one transaction: all or nothing.
    async fn apply_import(&self, estate_id: i64, batch: &ImportBatch)
    -> StoreResult<ImportOutcome>;
    /// Rows staged by imports and not yet cleared: 0 unless an import is
    /// running or one was abandoned (swept by the next import after an hour).
    async fn staged_import_rows(&self) -> StoreResult<i64>;
    /// Seeds many rooms, spaces and owners at once (demo and benchmarks).
    async fn bulk_seed(&self, estate_id: i64, batch: &ImportBatch) -> StoreResult<ImportOutcome>;

    // --- fee items ---
    /// Creates a fee item.
    async fn create_fee_item(&self, estate_id: i64, spec: &FeeItemSpec) -> StoreResult<FeeItem>;
    /// Replaces the definition of a fee item of the estate; `active`
    /// switches billing on or off.
    async fn update_fee_item(
        &self,
        estate_id: i64,
        id: i64,
        spec: &FeeItemSpec,
        active: bool,
    ) -> StoreResult<FeeItem>;
    /// Fee items of an estate.
    async fn list_fee_items(&self, estate_id: i64) -> StoreResult<Vec<FeeItem>>;
    /// A fee item of the estate by id.
    async fn fee_item(&self, estate_id: i64, id: i64) -> StoreResult<FeeItem>;
    /// Sets the entered amount of an entered item for a room and period.
    async fn set_entered_amount(
        &self,
        estate_id: i64,
        fee_item_id: i64,
        room_id: i64,
        period: Period,
        amount: Fen,
    ) -> StoreResult<()> {
        self.set_entered_amounts(estate_id, fee_item_id, period, &[(room_id, amount)])
            .await
            .map(|_| ())
    }
    /// Sets many entered amounts (room, amount) of one item and period in one
    /// transaction: all or nothing. The item and every room must belong to
    /// the estate.
    async fn set_entered_amounts(
        &self,
        estate_id: i64,
        fee_item_id: i64,
        period: Period,
        amounts: &[(i64, Fen)],
    ) -> StoreResult<u64>;

    // --- billing ---
    /// Everything a billing run for `period` needs to compute lines.
    async fn billing_inputs(&self, estate_id: i64, period: Period) -> StoreResult<BillingInputs>;
    /// Inserts lines, skipping any (object, item, period) that exists.
    /// Returns how many were created.
    async fn insert_bill_lines(
        &self,
        estate_id: i64,
        lines: &[NewLine],
        now: i64,
    ) -> StoreResult<u64>;
    /// Records a finished billing run.
    async fn record_billing_run(&self, run: &BillingRunRecord) -> StoreResult<()>;
    /// Bill lines matching a query, oldest first.
    async fn bill_lines(&self, q: &LineQuery) -> StoreResult<Vec<BillLine>>;
    /// [`Store::bill_lines`] without the owners' names and phones, the
    /// objects' labels and the waivers' names (what a payment needs:
    /// amounts), in one query.
    async fn bill_amounts(&self, q: &LineQuery) -> StoreResult<Vec<BillLine>>;
    /// One bill line of the estate.
    async fn bill_line(&self, estate_id: i64, id: i64) -> StoreResult<BillLine>;

    // --- changes to lines ---
    /// Waives the late fee of a line of the estate with a reason.
    async fn waive_late_fee(
        &self,
        estate_id: i64,
        line_id: i64,
        act: &StaffAct,
    ) -> StoreResult<BillLine>;
    /// Waives a whole line of the estate with a reason.
    async fn waive_line(
        &self,
        estate_id: i64,
        line_id: i64,
        act: &StaffAct,
    ) -> StoreResult<BillLine>;
    /// Marks a line disputed from `on` (accrual stops), or clears the dispute
    /// on `on` (accrual resumes from then; the disputed days are not charged).
    async fn set_dispute(
        &self,
        estate_id: i64,
        line_id: i64,
        disputed: bool,
        on: Date,
        act: &StaffAct,
    ) -> StoreResult<BillLine>;
    /// Records a payment on the open lines of `objects` (or the given lines),
    /// allocating oldest first; one transaction; idempotent by key. Paying
    /// more than is owed is refused.
    async fn record_payment(&self, p: &NewPayment) -> StoreResult<PaymentRecord>;

    // --- bookings ---
    /// An estate's booking rules (the defaults until set).
    async fn booking_rules(&self, estate_id: i64) -> StoreResult<BookingRules>;
    /// Replaces an estate's booking rules.
    async fn set_booking_rules(&self, estate_id: i64, rules: &BookingRules) -> StoreResult<()>;
    /// Day rules (holidays, closures …) from `from` to `to` inclusive, with notes.
    async fn day_rules(
        &self,
        estate_id: i64,
        from: Date,
        to: Date,
    ) -> StoreResult<Vec<(Date, DayRule, String)>>;
    /// Sets (or with `None` removes) the rule for one day.
    async fn set_day_rule(
        &self,
        estate_id: i64,
        day: Date,
        rule: Option<&DayRule>,
        note: &str,
    ) -> StoreResult<()>;
    /// The estate's collectors and whether each is on duty on `day`.
    async fn duty(&self, estate_id: i64, day: Date) -> StoreResult<Vec<Duty>>;
    /// Puts a collector on or off duty for a day.
    async fn set_duty(&self, estate_id: i64, day: Date, user_id: i64, on: bool) -> StoreResult<()>;
    /// The estate with `code`, its rules, the rule of `day` and collectors on
    /// duty that day, in one read.
    async fn booking_context(&self, code: &str, day: Date) -> StoreResult<Option<BookingContext>>;
    /// How many collectors are on duty on each day from `from` to `to`
    /// inclusive (one query for the range, not one per day).
    async fn on_duty_counts(
        &self,
        estate_id: i64,
        from: Date,
        to: Date,
    ) -> StoreResult<Vec<(Date, i64)>>;
    /// Owner records of the estate (with `phone` on file, if given) that hold
    /// every one of `targets`, with their first phone; one query.
    async fn owners_holding(
        &self,
        estate_id: i64,
        phone: Option<&str>,
        targets: &[(doorstep_domain::ObjectKind, i64)],
    ) -> StoreResult<Vec<OwnerHolding>>;
    /// `3号楼202室` / `车位B007` for each room or space of the estate, in
    /// order; NotFound names the first that is not the estate's.
    async fn object_labels(
        &self,
        estate_id: i64,
        targets: &[(doorstep_domain::ObjectKind, i64)],
    ) -> StoreResult<Vec<String>>;
    /// Places taken per slot start in `[from, to)` (unix seconds).
    async fn slot_places(&self, estate_id: i64, from: i64, to: i64)
    -> StoreResult<Vec<(i64, i64)>>;
    /// Creates a booking, taking a place in its slot unless all `capacity`
    /// places are taken ([`StoreError::SlotFull`]); a room or space already
    /// in an open booking is a conflict. One transaction.
    async fn create_booking(&self, b: &NewBooking) -> StoreResult<Booking>;
    /// A booking.
    async fn booking(&self, id: i64) -> StoreResult<Booking>;
    /// Bookings matching a query, by slot then id.
    async fn bookings(&self, q: &BookingQuery) -> StoreResult<Vec<Booking>>;
    /// A booking's history, oldest first.
    async fn booking_events(&self, id: i64) -> StoreResult<Vec<BookingEvent>>;
    /// Moves a booking to a new status if it is in one of `c.from`; closing
    /// it frees its place and its rooms and withdraws pending reminders.
    async fn change_booking(&self, c: &BookingChange) -> StoreResult<Booking>;
    /// Moves a booking to a new slot: the old one becomes `rescheduled` and
    /// `new` is created in the same transaction (refused if it is full).
    async fn reschedule_booking(
        &self,
        id: i64,
        from: &[BookingStatus],
        new: &NewBooking,
    ) -> StoreResult<Booking>;
    /// Saves a session's plan: `assignments` become scheduled with their
    /// collector and ETA; scheduled bookings of the session left out return
    /// to `requested`/`confirmed`. Refused when the session is locked and
    /// `force` is false.
    async fn save_plan(&self, p: &PlanUpdate<'_>) -> StoreResult<DispatchSession>;
    /// Locks (publishes) or unlocks a session's plan.
    async fn lock_session(
        &self,
        estate_id: i64,
        session_at: i64,
        user_id: i64,
        locked: bool,
        now: i64,
    ) -> StoreResult<DispatchSession>;
    /// A session's state, if it was ever planned.
    async fn dispatch_session(
        &self,
        estate_id: i64,
        session_at: i64,
    ) -> StoreResult<Option<DispatchSession>>;
    /// The estate's walking model text, if stored.
    async fn estate_model(&self, estate_id: i64) -> StoreResult<Option<String>>;
    /// Stores the estate's walking model text.
    async fn set_estate_model(&self, estate_id: i64, model: &str, now: i64) -> StoreResult<()>;

    // --- owner sign-in ---
    /// Where `phone` is on file: (company id, estate id) of each owner
    /// record with it, by company and estate. One query, known or not.
    async fn phone_on_file(&self, phone: &str) -> StoreResult<Vec<(i64, i64)>>;
    /// Owners with this phone on file in the estates of `company_id`.
    async fn owners_by_phone(&self, phone: &str, company_id: i64) -> StoreResult<Vec<Owner>>;
    /// When wrong codes were tried for `phone` since `since`.
    async fn code_failures(&self, phone: &str, since: i64) -> StoreResult<Vec<i64>>;
    /// Takes a place in the phone's code counter (one conditional upsert:
    /// refused while the resend interval or the hourly ceiling holds), then
    /// stores the code, withdraws the phone's older unsent codes and queues
    /// the message: one transaction.
    async fn insert_code(&self, c: &NewCode) -> StoreResult<CodeSend>;
    /// Counts one try on the newest live code of `phone`, only while fewer
    /// than `max_tries` were counted (one conditional UPDATE … RETURNING);
    /// the code as counted, or `None` (no live code, or no tries left).
    async fn try_code(
        &self,
        phone: &str,
        now: i64,
        max_tries: i64,
    ) -> StoreResult<Option<StoredCode>>;
    /// Records a wrong code tried for `phone` (the lock-out counts these).
    async fn code_failed(&self, phone: &str, client: &str, now: i64) -> StoreResult<()>;
    /// Marks a code used and opens the owner session in one transaction;
    /// false (and no session) if it was used or expired meanwhile.
    async fn use_code(&self, code_id: i64, session: &NewOwnerSession) -> StoreResult<bool>;
    /// The phone and company of a live owner session.
    async fn owner_session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<OwnerSessionInfo>>;
    /// Ends an owner session.
    async fn delete_owner_session(&self, token_hash: &str) -> StoreResult<()>;

    // --- outbox ---
    /// Queues a message.
    async fn enqueue(&self, m: &NewMessage, booking_id: Option<i64>) -> StoreResult<i64>;
    /// Messages, newest first, optionally to one recipient. Sign-in codes
    /// read [`REDACTED_CODE_TEXT`], sent or not: listings are for staff.
    async fn outbox(&self, recipient: Option<&str>, limit: i64) -> StoreResult<Vec<Message>>;
    /// Unsent, unwithdrawn messages due by `now`, oldest first.
    async fn due_messages(&self, now: i64, limit: i64) -> StoreResult<Vec<Message>>;
    /// Claims a message for sending (marks it sent); false if another
    /// instance claimed it first or it was withdrawn.
    async fn claim_message(&self, id: i64, now: i64) -> StoreResult<bool>;
    /// Gives a claimed message back after a failed send, to be retried.
    async fn release_message(&self, id: i64) -> StoreResult<()>;
    /// Forgets a sent sign-in code's text (keeps [`REDACTED_CODE_TEXT`]).
    async fn redact_sent_code(&self, id: i64) -> StoreResult<()>;

    // --- collecting at the door ---
    /// An estate's collection settings (the defaults until set).
    async fn collect_settings(&self, estate_id: i64) -> StoreResult<CollectSettings>;
    /// Replaces an estate's collection settings.
    async fn set_collect_settings(&self, estate_id: i64, s: &CollectSettings) -> StoreResult<()>;
    /// Stores (or replaces) a merchant account for a company or one estate.
    async fn set_merchant(&self, m: &NewMerchant) -> StoreResult<Merchant>;
    /// A company's merchant accounts.
    async fn merchants(&self, company_id: i64) -> StoreResult<Vec<Merchant>>;
    /// One merchant account.
    async fn merchant(&self, id: i64) -> StoreResult<Merchant>;
    /// Every merchant account (background jobs).
    async fn all_merchants(&self) -> StoreResult<Vec<Merchant>>;
    /// The account an estate collects into at a provider: the estate's own,
    /// else the company's.
    async fn merchant_for(
        &self,
        company_id: i64,
        estate_id: i64,
        provider: &str,
    ) -> StoreResult<Option<Merchant>>;
    /// Sets a geofence.
    async fn set_geofence(&self, estate_id: i64, g: &Geofence) -> StoreResult<()>;
    /// An estate's geofences.
    async fn geofences(&self, estate_id: i64) -> StoreResult<Vec<Geofence>>;
    /// Records a check-in; idempotent by client key.
    async fn record_checkin(&self, c: &NewCheckin) -> StoreResult<Checkin>;
    /// A booking's check-ins, oldest first.
    async fn checkins(&self, booking_id: i64) -> StoreResult<Vec<Checkin>>;
    /// Opens a provider order for lines of one estate, holding the lines so
    /// that nobody else takes money for them meanwhile (one transaction;
    /// idempotent by client key). Refused when a line is held, not open, or
    /// the amount is above what is owed.
    async fn open_collection(&self, c: &NewCollection) -> StoreResult<Collection>;
    /// Stores what the QR code encodes.
    async fn set_collection_code(&self, id: i64, code: &str, now: i64) -> StoreResult<()>;
    /// One collection.
    async fn collection(&self, id: i64) -> StoreResult<Collection>;
    /// The collection with our order number.
    async fn collection_by_trade_no(&self, out_trade_no: &str) -> StoreResult<Option<Collection>>;
    /// The collection a payment completed, if it came through a provider.
    async fn payment_collection(&self, payment_id: i64) -> StoreResult<Option<Collection>>;
    /// Open collections, oldest first.
    async fn open_collections(&self, limit: i64) -> StoreResult<Vec<Collection>>;
    /// The open collections of one visit (of this estate), oldest first:
    /// what the visit page shows again after a reload.
    async fn open_collections_of_booking(
        &self,
        estate_id: i64,
        booking_id: i64,
    ) -> StoreResult<Vec<Collection>>;
    /// Records the provider's word that an order was paid: the payment, its
    /// allocation, its journal entry, the holds released — once, however
    /// often the provider says it (one payment per transaction number).
    /// The amount must equal the order's.
    async fn complete_collection(&self, c: &CompleteCollection)
    -> StoreResult<CompletedCollection>;
    /// Closes an open collection (`closed` or `failed`) and releases its
    /// holds; false if it was no longer open.
    async fn close_collection(
        &self,
        id: i64,
        status: &str,
        reason: &str,
        now: i64,
    ) -> StoreResult<bool>;
    /// Records a signature; idempotent by client key.
    async fn record_signature(&self, s: &NewSignature) -> StoreResult<Signature>;
    /// A signature and its PNG.
    async fn signature(&self, id: i64) -> StoreResult<(Signature, Vec<u8>)>;
    /// Signatures of a booking, oldest first.
    async fn signatures(&self, booking_id: i64) -> StoreResult<Vec<Signature>>;
    /// Payments taken at a booking, oldest first.
    async fn booking_payments(&self, booking_id: i64) -> StoreResult<Vec<PaymentFact>>;
    /// Logs a provider notification and what became of it.
    async fn record_provider_event(
        &self,
        provider: &str,
        notify_id: &str,
        out_trade_no: Option<&str>,
        verdict: &str,
        detail: &str,
        now: i64,
    ) -> StoreResult<()>;
    /// Provider notifications logged for an order (or all, newest first).
    async fn provider_events(
        &self,
        out_trade_no: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<(String, String, Option<String>, String, String, i64)>>;

    // --- ledger ---
    /// Journal entries (of one estate, or all), oldest first.
    async fn journal(&self, estate_id: Option<i64>) -> StoreResult<Vec<JournalEntry>>;
    /// What the bill lines say each receivable must hold.
    async fn receivable_expectations(
        &self,
        estate_id: Option<i64>,
    ) -> StoreResult<Vec<ReceivableExpectation>>;
    /// One payment as the ledger check sees it.
    async fn payment_fact(&self, id: i64) -> StoreResult<Option<PaymentFact>>;
    /// Payments (of one estate, or all).
    async fn payment_facts(&self, estate_id: Option<i64>) -> StoreResult<Vec<PaymentFact>>;
    /// Balance (debit − credit) of one account.
    async fn account_balance(&self, account: &str) -> StoreResult<Fen>;

    // --- cash custody ---
    /// Opens a shift for a collector (one open shift each).
    async fn open_shift(&self, estate_id: i64, collector_id: i64, now: i64) -> StoreResult<Shift>;
    /// Closes a collector's open shift.
    async fn close_shift(&self, shift_id: i64, now: i64) -> StoreResult<Shift>;
    /// Finance's blind count of a closed shift's cash: the expected amount
    /// is the collector's cash balance; the handover entry moves the counted
    /// cash to the safe. A count that differs needs a `reason` and puts the
    /// difference in suspense as a pending [`HandoverDifference`] (approved
    /// later by a third person); an exact count needs neither.
    async fn submit_handover(
        &self,
        shift_id: i64,
        counted: Fen,
        counted_by: i64,
        reason: &str,
        now: i64,
    ) -> StoreResult<Shift>;
    /// One shift.
    async fn shift(&self, id: i64) -> StoreResult<Shift>;
    /// An estate's shifts, newest first (`status` filters).
    async fn shifts(&self, estate_id: i64, status: Option<&str>) -> StoreResult<Vec<Shift>>;
    /// Cash held by each collector of an estate.
    async fn cash_holdings(&self, estate_id: i64) -> StoreResult<Vec<CashHolding>>;
    /// Records an estate's daily close; refused if the day is closed.
    async fn daily_close(
        &self,
        estate_id: i64,
        day: Date,
        by: i64,
        summary: &str,
        now: i64,
    ) -> StoreResult<()>;
    /// The daily close of a day, if done: (by, at, summary).
    async fn daily_close_of(
        &self,
        estate_id: i64,
        day: Date,
    ) -> StoreResult<Option<(i64, i64, String)>>;
    /// An estate's handover differences, newest first (`pending_only`: not
    /// yet approved).
    async fn handover_differences(
        &self,
        estate_id: i64,
        pending_only: bool,
    ) -> StoreResult<Vec<HandoverDifference>>;
    /// The difference found at a shift's handover, if any (of this estate).
    async fn handover_difference(
        &self,
        estate_id: i64,
        shift_id: i64,
    ) -> StoreResult<Option<HandoverDifference>>;
    /// The collector acknowledges a pending difference (or disputes it with
    /// a note). Only the shift's collector; refused once approved.
    async fn respond_to_difference(
        &self,
        estate_id: i64,
        shift_id: i64,
        collector_id: i64,
        dispute: bool,
        note: &str,
        now: i64,
    ) -> StoreResult<HandoverDifference>;
    /// Finance approves a pending difference the collector has answered:
    /// what is left of it moves from suspense to over/short. Never by the
    /// counter or the collector (a CHECK as well).
    async fn approve_difference(
        &self,
        estate_id: i64,
        shift_id: i64,
        by: i64,
        now: i64,
    ) -> StoreResult<HandoverDifference>;
    /// Everything in cash custody still open (of one estate, or all): open
    /// shifts, shifts closed but not handed over, pending differences,
    /// voids and refunds not carried out.
    async fn open_custody(&self, estate_id: Option<i64>) -> StoreResult<Vec<OpenCustodyItem>>;
    /// Collections reopened by voids, newest first.
    async fn recollections(&self, estate_id: i64) -> StoreResult<Vec<Recollection>>;

    // --- voids and refunds ---
    /// Asks for a void or refund of a payment.
    async fn request_reversal(
        &self,
        payment_id: i64,
        kind: &str,
        reason: &str,
        by: i64,
        now: i64,
    ) -> StoreResult<Reversal>;
    /// Rejects, or approves, a requested reversal (never by the requester).
    /// An approved void is carried out at once: the reversing entry, the
    /// lines reopened. An approved refund waits for [`Store::finish_refund`].
    async fn decide_reversal(
        &self,
        id: i64,
        approve: bool,
        by: i64,
        out_refund_no: Option<&str>,
        now: i64,
    ) -> StoreResult<Reversal>;
    /// Records the provider's answer to an approved refund.
    async fn finish_refund(
        &self,
        id: i64,
        ok: bool,
        detail: &str,
        now: i64,
    ) -> StoreResult<Reversal>;
    /// One reversal.
    async fn reversal(&self, id: i64) -> StoreResult<Reversal>;
    /// An estate's reversals, newest first.
    async fn reversals(&self, estate_id: i64) -> StoreResult<Vec<Reversal>>;

    // --- reconciliation ---
    /// Paid collections of a merchant account paid within `[from, to)`.
    async fn paid_collections(
        &self,
        merchant_ref: i64,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<Collection>>;
    /// Stores a reconciliation run and its mismatches.
    async fn record_reconciliation(&self, r: &Reconciliation) -> StoreResult<i64>;
    /// Reconciliation runs of a merchant account, newest first.
    async fn reconciliations(&self, merchant_ref: i64) -> StoreResult<Vec<Reconciliation>>;
    /// Records a failed try of the daily reconciliation for
    /// (`merchant_ref`, `bill_date`): inserts the row or replaces its count,
    /// reason, detail, last and next try (`first_at` is kept).
    async fn record_reconcile_attempt(&self, a: &ReconcileAttempt) -> StoreResult<()>;
    /// A merchant account's failed reconciliation days not reconciled
    /// since, newest bill date first.
    async fn reconcile_attempts(&self, merchant_ref: i64) -> StoreResult<Vec<ReconcileAttempt>>;

    // --- rate limits ---
    /// Counts one hit on `key` in a fixed window of `window` seconds (a
    /// window older than that starts over) and returns the window after it.
    async fn rate_hit(&self, key: &str, now: i64, window: i64) -> StoreResult<RateWindow>;
    /// `key`'s current window without counting a hit (0 hits when none).
    async fn rate_peek(&self, key: &str, now: i64, window: i64) -> StoreResult<RateWindow>;
    /// Forgets `key` (and windows that ended a day ago).
    async fn rate_reset(&self, key: &str, now: i64) -> StoreResult<()>;

    // --- background jobs ---
    /// Claims (or renews) a job lease until `now + seconds`; false if another
    /// holder's lease is still live.
    async fn claim_job(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        seconds: i64,
    ) -> StoreResult<bool>;
    /// Gives a lease back.
    async fn release_job(&self, name: &str, holder: &str) -> StoreResult<()>;

    // --- signing keys, receipts, the evidence log, invoices ---
    /// A company's signing keys, newest first (no secrets).
    async fn signing_keys(&self, company_id: i64) -> StoreResult<Vec<SigningKey>>;
    /// Every company's signing keys (for verifying anything this server signed).
    async fn all_signing_keys(&self) -> StoreResult<Vec<SigningKey>>;
    /// The key that signs now and its secret (C2SP `PRIVATE+KEY+…` form).
    async fn active_signing_key(
        &self,
        company_id: i64,
    ) -> StoreResult<Option<(SigningKey, String)>>;
    /// Adds a key and retires the one that signed until now (rotation), in
    /// one transaction. `if_none`: add only if the company has no active key
    /// (a race between instances creates one key).
    async fn add_signing_key(
        &self,
        company_id: i64,
        name: &str,
        vkey: &str,
        skey: &str,
        now: i64,
        if_none: bool,
    ) -> StoreResult<SigningKey>;
    /// A receipt by id.
    async fn receipt(&self, id: i64) -> StoreResult<Receipt>;
    /// A receipt by its owner-link token.
    async fn receipt_by_token(&self, token: &str) -> StoreResult<Option<Receipt>>;
    /// A receipt by company and number.
    async fn receipt_by_number(&self, company_id: i64, number: i64)
    -> StoreResult<Option<Receipt>>;
    /// A payment's receipt.
    async fn receipt_of_payment(&self, payment_id: i64) -> StoreResult<Option<Receipt>>;
    /// A payment's receipt link and number as known now, in one query,
    /// without numbering it (PostgreSQL numbers in the sequencer's batch).
    async fn receipt_ref_of_payment(&self, payment_id: i64) -> StoreResult<Option<ReceiptRef>>;
    /// Receipts of an estate, newest first.
    async fn receipts(&self, estate_id: i64, limit: i64) -> StoreResult<Vec<Receipt>>;
    /// Receipts still to be signed, oldest first.
    async fn pending_receipts(&self, limit: i64) -> StoreResult<Vec<Receipt>>;
    /// What a receipt for this payment says.
    async fn receipt_facts(&self, payment_id: i64) -> StoreResult<ReceiptFacts>;
    /// What the receipts of these payments say, in three queries, in the
    /// order asked (payments that do not exist are left out).
    async fn receipt_facts_many(&self, payment_ids: &[i64]) -> StoreResult<Vec<ReceiptFacts>>;
    /// Marks a receipt issued and appends the payment's evidence record, in
    /// one transaction. A receipt already issued is returned unchanged.
    async fn issue_receipt(&self, r: &IssueReceipt) -> StoreResult<Receipt> {
        Ok(self
            .issue_receipts(std::slice::from_ref(r))
            .await?
            .pop()
            .map(|(r, _)| r)
            .ok_or_else(|| StoreError::NotFound(format!("receipt {}", r.receipt_id)))?)
    }
    /// Issues several receipts in one transaction: each pending one turns
    /// issued with its evidence record queued and its messages enqueued;
    /// one already issued or void is returned as it is. Each answer says
    /// whether this call issued it.
    async fn issue_receipts(&self, batch: &[IssueReceipt]) -> StoreResult<Vec<(Receipt, bool)>>;
    /// Counts one more copy of a receipt's link sent to another phone;
    /// false (nothing counted) once `max` copies have been sent.
    async fn take_receipt_copy(&self, id: i64, max: i64) -> StoreResult<bool>;
    /// Notes a failed signing attempt (the receipt stays pending).
    async fn receipt_attempt_failed(&self, id: i64, error: &str) -> StoreResult<()>;
    /// Appends a record to a company's evidence log; returns its index.
    async fn append_evidence(&self, company_id: i64, e: &NewEvidence) -> StoreResult<u64>;
    /// Appends many records in one transaction (bulk loads, benchmarks).
    async fn append_evidence_batch(&self, company_id: i64, es: &[NewEvidence]) -> StoreResult<u64>;
    /// The size of a company's log.
    async fn evidence_size(&self, company_id: i64) -> StoreResult<u64>;
    /// Companies with a log and their sizes.
    async fn evidence_logs(&self) -> StoreResult<Vec<(i64, u64)>>;
    /// Records `from..from+limit` of a company's log, in order.
    async fn evidence_records(
        &self,
        company_id: i64,
        from: u64,
        limit: u64,
    ) -> StoreResult<Vec<EvidenceRecord>>;
    /// One record.
    async fn evidence_record(
        &self,
        company_id: i64,
        index: u64,
    ) -> StoreResult<Option<EvidenceRecord>>;
    /// The records about these rooms/spaces, a visit or a payment.
    async fn evidence_about(
        &self,
        company_id: i64,
        objects: &[(doorstep_domain::ObjectKind, i64)],
        booking_id: Option<i64>,
        payment_id: Option<i64>,
    ) -> StoreResult<Vec<EvidenceRecord>>;
    /// Stored Merkle nodes `(level, index)` of a company's log; missing ones are left out.
    async fn merkle_nodes(
        &self,
        company_id: i64,
        nodes: &[(u8, u64)],
    ) -> StoreResult<Vec<((u8, u64), [u8; 32])>>;
    /// Keeps a signed checkpoint (a second one for the same size is ignored).
    async fn add_checkpoint(&self, c: &StoredCheckpoint) -> StoreResult<()>;
    /// A company's checkpoints, oldest first.
    async fn checkpoints(&self, company_id: i64) -> StoreResult<Vec<StoredCheckpoint>>;
    /// The newest checkpoint.
    async fn latest_checkpoint(&self, company_id: i64) -> StoreResult<Option<StoredCheckpoint>>;
    /// One pass of the sequencer (see `crates/store/sql/sequencer.rs`):
    /// numbers queued receipts and integrates queued evidence records of
    /// every company, leaving alone what another instance is doing; returns
    /// how many rows it took up.
    async fn sequence(&self) -> StoreResult<usize>;
    /// Folds up to `max` delta rows of each running-total table into the
    /// folded totals; returns how many.
    async fn fold_totals(&self, max: i64) -> StoreResult<usize>;
    /// Sets a fee item's tax classification code and VAT rate (basis points).
    async fn set_fee_item_tax(
        &self,
        item_id: i64,
        tax_code: &str,
        vat_rate_bp: i64,
    ) -> StoreResult<()>;
    /// A fee item's tax classification code and VAT rate.
    async fn fee_item_tax(&self, item_id: i64) -> StoreResult<(String, i64)>;
    /// The estate of a fee item.
    async fn fee_item_estate(&self, item_id: i64) -> StoreResult<i64>;
    /// Creates an invoice request for every line of the receipt's payment
    /// not already in a live request (one live request per payment line).
    async fn create_invoice_request(&self, r: &NewInvoiceRequest) -> StoreResult<InvoiceRequest>;
    /// An invoice request.
    async fn invoice_request(&self, id: i64) -> StoreResult<InvoiceRequest>;
    /// A company's invoice requests, oldest first, optionally by status and estate.
    async fn invoice_requests(
        &self,
        company_id: i64,
        estate_id: Option<i64>,
        status: Option<&str>,
    ) -> StoreResult<Vec<InvoiceRequest>>;
    /// Requests made for a receipt.
    async fn receipt_invoice_requests(&self, receipt_id: i64) -> StoreResult<Vec<InvoiceRequest>>;
    /// Records an invoice request's outcome (a failed request frees its lines).
    async fn set_invoice_outcome(&self, id: i64, o: &InvoiceOutcome)
    -> StoreResult<InvoiceRequest>;

    // --- notices and disputes ---
    /// An estate's notice settings (defaults if never set).
    async fn notice_settings(&self, estate_id: i64) -> StoreResult<NoticeSettings>;
    /// Sets them.
    async fn set_notice_settings(&self, estate_id: i64, s: &NoticeSettings) -> StoreResult<()>;
    /// Records a notice and queues its message, in one transaction; a second
    /// notice for the same room/space, channel and recipient on the same
    /// local day is refused (Conflict).
    async fn record_notice(&self, n: &NewNotice) -> StoreResult<Notice>;
    /// Notices of an estate, newest first, optionally about one room/space.
    async fn notices(
        &self,
        estate_id: i64,
        object: Option<(doorstep_domain::ObjectKind, i64)>,
        limit: i64,
    ) -> StoreResult<Vec<Notice>>;
    /// Opens a dispute or complaint; a room/space named must be the
    /// estate's (NotFound otherwise, nothing written).
    async fn open_dispute(
        &self,
        estate_id: i64,
        object: Option<(doorstep_domain::ObjectKind, i64)>,
        owner: &str,
        topic: &str,
        by: Option<i64>,
        at: i64,
    ) -> StoreResult<Dispute>;
    /// Closes one of the estate's disputes with its outcome (NotFound if
    /// it is not the estate's, Conflict if it is closed).
    async fn close_dispute(
        &self,
        estate_id: i64,
        id: i64,
        outcome: &str,
        at: i64,
    ) -> StoreResult<Dispute>;
    /// An estate's disputes, newest first.
    async fn disputes(&self, estate_id: i64) -> StoreResult<Vec<Dispute>>;
    /// Every bill line of an estate up to `period` (inclusive) with the
    /// principal its posted payments paid, by day: the collection
    /// report's facts line by line. Reports read the running totals; this
    /// is the independent reference the conformance suite checks them
    /// against.
    async fn report_lines(&self, estate_id: i64, up_to: &str) -> StoreResult<Vec<ReportLine>>;
    /// The running totals of a scope (kept by the database's triggers with
    /// every line, payment, waiver and void): every group of one estate,
    /// or the estate rows of every estate of a company.
    async fn report_totals(&self, scope: ReportScope) -> StoreResult<Vec<TotalRow>>;
    /// Principal paid by posted payments dated after `after` up to `until`
    /// (local days), grouped like [`Store::report_totals`]' paid rows.
    async fn report_paid_between(
        &self,
        scope: ReportScope,
        after: &str,
        until: &str,
    ) -> StoreResult<Vec<TotalRow>>;
    /// Per estate of a scope: cash held by collectors (from the ledger's
    /// balances), handovers pending, disputes opened and closed in
    /// `from..to` (unix seconds) and open now.
    async fn operations_figures(
        &self,
        scope: ReportScope,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<OperationsRow>>;
    /// Mismatches of each merchant account's latest reconciliation, per
    /// account of the company: `(estate_scope, mismatches)` (0 = an account
    /// serving every estate).
    async fn latest_mismatches(&self, company_id: i64) -> StoreResult<Vec<(i64, i64)>>;
    /// The running balance of every ledger account, per estate (kept with
    /// each posting): `(estate, account, balance)`.
    async fn ledger_balances(&self, estate_id: Option<i64>)
    -> StoreResult<Vec<(i64, String, i64)>>;
    /// Visits with an outcome on days `from..=to` (local `YYYY-MM-DD`):
    /// collector, slot, first check-in, outcome time, households.
    async fn visit_rows(&self, estate_id: i64, from: &str, to: &str) -> StoreResult<Vec<VisitRow>>;
}
