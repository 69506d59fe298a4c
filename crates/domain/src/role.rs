//! Staff roles and what each may do.

use crate::DomainError;
use serde::{Deserialize, Serialize};

/// A staff user's role within a company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything in the company.
    Admin,
    /// Fees, billing, arrears, waivers, master data.
    Finance,
    /// Bookings and routes; reads estates and arrears.
    Dispatcher,
    /// Field collection; reads what is owed.
    Collector,
}

/// An action checked on every API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read estates, rooms, spaces, owners, fee items.
    ReadEstate,
    /// Read bills and arrears.
    ReadBills,
    /// Create or edit estates, rooms, spaces, owners; import.
    EditMasterData,
    /// Create or edit fee items and late-fee policies.
    EditFees,
    /// Run billing.
    RunBilling,
    /// Waive late fees or lines; mark disputes.
    Waive,
    /// Record payments.
    RecordPayment,
    /// Manage staff users.
    ManageUsers,
    /// Book on an owner's behalf, confirm by phone, plan and lock routes,
    /// set visiting windows and duty.
    Dispatch,
    /// See one's own itinerary and record visit outcomes.
    Visit,
    /// Count handed-over cash, approve voids and refunds, reconcile with
    /// the providers, close days, set merchant accounts (finance).
    Treasury,
}

impl Role {
    /// Whether this role grants `p`.
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Finance => !matches!(p, ManageUsers),
            Role::Dispatcher => matches!(p, ReadEstate | ReadBills | Dispatch | Visit),
            Role::Collector => matches!(p, ReadEstate | ReadBills | RecordPayment | Visit),
        }
    }
    /// Stable storage code.
    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Finance => "finance",
            Role::Dispatcher => "dispatcher",
            Role::Collector => "collector",
        }
    }
    /// Parses a storage code.
    pub fn from_code(s: &str) -> Result<Role, DomainError> {
        Ok(match s {
            "admin" => Role::Admin,
            "finance" => Role::Finance,
            "dispatcher" => Role::Dispatcher,
            "collector" => Role::Collector,
            _ => return Err(DomainError::invalid("role", format!("unknown role {s:?}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants() {
        assert!(Role::Admin.allows(Permission::ManageUsers));
        assert!(!Role::Finance.allows(Permission::ManageUsers));
        assert!(Role::Finance.allows(Permission::RunBilling));
        assert!(!Role::Dispatcher.allows(Permission::RunBilling));
        assert!(!Role::Collector.allows(Permission::Waive));
        assert!(Role::Collector.allows(Permission::ReadBills));
        assert!(Role::Dispatcher.allows(Permission::Dispatch));
        assert!(!Role::Collector.allows(Permission::Dispatch));
        assert!(Role::Collector.allows(Permission::Visit));
    }
}
