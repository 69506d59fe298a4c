//! Doorstep's domain: money, periods, estates, fee items, bills, late fees,
//! payment allocation and the double-entry ledger. Pure logic: no I/O, no
//! async, no clocks.

pub mod allocate;
pub mod billing;
pub mod booking;
pub mod cn;
pub mod due;
pub mod error;
pub mod estate;
pub mod fee;
pub mod geo;
pub mod i18n;
pub mod jcs;
pub mod latefee;
pub mod ledger;
pub mod money;
pub mod notice;
pub mod period;
pub mod phone;
pub mod report;
pub mod role;

pub use allocate::{Allocation, LineAllocation, OpenLine, allocate};
pub use billing::{BillTarget, NewLine, lines_for_period};
pub use booking::{
    BookingRules, BookingStatus, CallOutcome, DayRule, Refusal, Slot, VisitResult, Window,
};
pub use due::{DueTotals, LineDue, due_totals, is_due_now, line_due};
pub use error::DomainError;
pub use estate::{EstateCode, ObjectKind};
pub use fee::{Basis, Category, Cycle, FeeItemSpec, LateFeeCap, LateFeePolicy};
pub use i18n::Lang;
pub use latefee::{LateFeeCalc, LineState, late_fee};
pub use ledger::{
    Account, AccountKind, AlertReason, BilledLine, CashAlert, CashHeld, CashLimits, Entry,
    EntryKind, HandoverVerdict, LedgerError, LedgerProblem, PaidLine, Posting, Side, balances,
    billing_entry, cash_alerts, check_entries, compare_receivables, expected_receivable,
    handover_difference, handover_entry, handover_verdict, payment_entry, waiver_entry,
};
pub use money::{Area, Fen, area_times_price};
pub use period::Period;
pub use phone::PhoneNumber;
pub use role::{Permission, Role};

/// Calendar dates are civil dates local to the estate.
pub type Date = jiff::civil::Date;
