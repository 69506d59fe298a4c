//! The double-entry ledger (复式记账): accounts, postings, balanced entries,
//! the builders that turn billing, payments, waivers and cash handovers into
//! entries, balances, the checks a finance clerk runs, and the cash-custody
//! rules (how much cash a collector may hold, and for how long).
//!
//! Every amount is integer fen. An entry is never edited: a correction is its
//! [`Entry::reversal`] followed by a new entry. Sums use checked arithmetic;
//! an overflow is an error, never a wrapped number.
//!
//! Account codes are the stable text stored in the journal, ASCII and
//! colon-separated, e.g. `receivable:room:12:3`. Every id in a code is a
//! positive whole number written without sign or leading zeros, so a code
//! read back is the code written.

use crate::{Category, DomainError, Fen, ObjectKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Why an account code, an entry or a builder's input is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// An account code that does not parse, or an account that cannot be
    /// written as a code (a bad id, provider or merchant).
    #[error("account code {code:?}: {reason}")]
    BadCode {
        /// The code as given (or as it would be written).
        code: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An entry without postings, or a builder given nothing but zeros.
    #[error("entry has nothing to post: {0}")]
    Empty(&'static str),
    /// One posting is malformed (1-based position in the entry).
    #[error("posting {index} ({account}): {reason}")]
    Posting {
        /// Position of the posting in the entry, counting from 1.
        index: usize,
        /// The posting's account code.
        account: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Total debits differ from total credits.
    #[error("does not balance: debits {debits}, credits {credits}")]
    Unbalanced {
        /// Sum of the debits.
        debits: Fen,
        /// Sum of the credits.
        credits: Fen,
    },
    /// A sum does not fit in an `i64` of fen.
    #[error("amounts too large to add up: {0}")]
    Overflow(&'static str),
    /// A builder's input is wrong; names the field.
    #[error("{field}: {message}")]
    Invalid {
        /// The field (or argument) that is wrong.
        field: &'static str,
        /// What is wrong with it, in plain words.
        message: String,
    },
}

impl LedgerError {
    fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        LedgerError::Invalid {
            field,
            message: message.into(),
        }
    }

    fn bad_code(code: &str, reason: impl Into<String>) -> Self {
        LedgerError::BadCode {
            code: code.to_string(),
            reason: reason.into(),
        }
    }
}

/// A side of a posting, and the side on which an account's balance normally
/// sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Debit (借).
    Debit,
    /// Credit (贷).
    Credit,
}

/// The kind of an account in the accounting equation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// What the company has or is owed (资产). Debit-normal.
    Asset,
    /// What the company owes (负债). Credit-normal.
    Liability,
    /// What the company earns (收入). Credit-normal.
    Income,
    /// Reductions of income, such as waivers (收入抵减). Debit-normal.
    ContraIncome,
    /// Costs and losses (费用). Debit-normal.
    Expense,
}

impl AccountKind {
    /// The side on which accounts of this kind normally have their balance.
    pub fn normal_side(self) -> Side {
        match self {
            AccountKind::Asset | AccountKind::ContraIncome | AccountKind::Expense => Side::Debit,
            AccountKind::Liability | AccountKind::Income => Side::Credit,
        }
    }
}

/// A ledger account. Stored as its [`code`](Account::code).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Account {
    /// What an owner owes on one room or space for one fee item (应收).
    /// Asset. Code `receivable:<room|space>:<object_id>:<fee_item_id>`.
    Receivable {
        /// Room or space.
        object: ObjectKind,
        /// The room's or space's id.
        object_id: i64,
        /// The fee item.
        fee_item_id: i64,
    },
    /// Income of a property, parking or other fee item (收入).
    /// Code `revenue:<fee_item_id>`.
    Revenue {
        /// The fee item.
        fee_item_id: i64,
    },
    /// Money collected on behalf of a third party (代收代付: water, garbage…),
    /// owed onwards. Liability. Code `on_behalf:<fee_item_id>`.
    OnBehalfPayable {
        /// The fee item.
        fee_item_id: i64,
    },
    /// Waived charges of a fee item (减免). Contra-income.
    /// Code `waivers:<fee_item_id>`.
    Waivers {
        /// The fee item.
        fee_item_id: i64,
    },
    /// Late fees earned in an estate (滞纳金收入). Income.
    /// Code `late_fee_income:<estate_id>`.
    LateFeeIncome {
        /// The estate.
        estate_id: i64,
    },
    /// Cash held by a collector or a counter cashier until handed over
    /// (备用金/手持现金). Asset. Code `cash:<user_id>`.
    CashOnHand {
        /// The user holding the cash.
        user_id: i64,
    },
    /// Cash counted and taken over by finance (保险柜). Asset.
    /// Code `safe:<estate_id>`.
    CashInSafe {
        /// The estate.
        estate_id: i64,
    },
    /// Money at a payment provider not yet settled to the bank (在途资金).
    /// Asset. Code `clearing:<provider>:<merchant>`.
    Clearing {
        /// The provider: `wechat`, `alipay` or `bank` (any 1–16 characters of
        /// `a-z`, `0-9`, `_`).
        provider: String,
        /// The merchant id at the provider: 1–64 ASCII letters and digits.
        merchant: String,
    },
    /// Differences found at cash handovers (长短款). Expense (a shortage is a
    /// debit, an overage a credit). Code `over_short:<estate_id>`.
    CashOverShort {
        /// The estate.
        estate_id: i64,
    },
    /// Handover differences waiting for approval (待处理财产损溢): a
    /// shortage is a debit, an overage a credit, moved to over/short when a
    /// second finance user approves it. Asset. Code
    /// `handover_suspense:<estate_id>`.
    HandoverSuspense {
        /// The estate.
        estate_id: i64,
    },
    /// Money paid ahead and not yet applied to a bill (预收款). Liability.
    /// Code `advance:<room|space>:<object_id>`.
    Advance {
        /// Room or space.
        object: ObjectKind,
        /// The room's or space's id.
        object_id: i64,
    },
}

/// Longest provider name in a clearing account code.
const MAX_PROVIDER_LEN: usize = 16;
/// Longest merchant id in a clearing account code.
const MAX_MERCHANT_LEN: usize = 64;

impl Account {
    /// The stable storage code, e.g. `receivable:room:12:3`.
    pub fn code(&self) -> String {
        match self {
            Account::Receivable {
                object,
                object_id,
                fee_item_id,
            } => format!("receivable:{}:{object_id}:{fee_item_id}", object.code()),
            Account::Revenue { fee_item_id } => format!("revenue:{fee_item_id}"),
            Account::OnBehalfPayable { fee_item_id } => format!("on_behalf:{fee_item_id}"),
            Account::Waivers { fee_item_id } => format!("waivers:{fee_item_id}"),
            Account::LateFeeIncome { estate_id } => format!("late_fee_income:{estate_id}"),
            Account::CashOnHand { user_id } => format!("cash:{user_id}"),
            Account::CashInSafe { estate_id } => format!("safe:{estate_id}"),
            Account::Clearing { provider, merchant } => format!("clearing:{provider}:{merchant}"),
            Account::CashOverShort { estate_id } => format!("over_short:{estate_id}"),
            Account::HandoverSuspense { estate_id } => format!("handover_suspense:{estate_id}"),
            Account::Advance { object, object_id } => {
                format!("advance:{}:{object_id}", object.code())
            }
        }
    }

    /// Parses a storage code. Refuses unknown accounts, a wrong number of
    /// parts, ids that are not positive whole numbers in canonical form, and
    /// bad providers or merchants.
    pub fn parse(code: &str) -> Result<Account, LedgerError> {
        if !code.is_ascii() {
            return Err(LedgerError::bad_code(code, "must be ASCII"));
        }
        let mut parts = code.split(':');
        let head = parts.next().unwrap_or_default();
        let rest: Vec<&str> = parts.collect();
        let want = |n: usize, shape: &str| -> Result<(), LedgerError> {
            if rest.len() == n {
                Ok(())
            } else {
                Err(LedgerError::bad_code(code, format!("expected {shape}")))
            }
        };
        let id = |i: usize, what: &str| parse_id(code, what, rest[i]);
        let object = |i: usize| {
            ObjectKind::from_code(rest[i]).map_err(|_| {
                LedgerError::bad_code(
                    code,
                    format!("object must be room or space, got {:?}", rest[i]),
                )
            })
        };
        let account = match head {
            "receivable" => {
                want(3, "receivable:<room|space>:<object_id>:<fee_item_id>")?;
                Account::Receivable {
                    object: object(0)?,
                    object_id: id(1, "object id")?,
                    fee_item_id: id(2, "fee item id")?,
                }
            }
            "revenue" => {
                want(1, "revenue:<fee_item_id>")?;
                Account::Revenue {
                    fee_item_id: id(0, "fee item id")?,
                }
            }
            "on_behalf" => {
                want(1, "on_behalf:<fee_item_id>")?;
                Account::OnBehalfPayable {
                    fee_item_id: id(0, "fee item id")?,
                }
            }
            "waivers" => {
                want(1, "waivers:<fee_item_id>")?;
                Account::Waivers {
                    fee_item_id: id(0, "fee item id")?,
                }
            }
            "late_fee_income" => {
                want(1, "late_fee_income:<estate_id>")?;
                Account::LateFeeIncome {
                    estate_id: id(0, "estate id")?,
                }
            }
            "cash" => {
                want(1, "cash:<user_id>")?;
                Account::CashOnHand {
                    user_id: id(0, "user id")?,
                }
            }
            "safe" => {
                want(1, "safe:<estate_id>")?;
                Account::CashInSafe {
                    estate_id: id(0, "estate id")?,
                }
            }
            "clearing" => {
                want(2, "clearing:<provider>:<merchant>")?;
                check_provider(code, rest[0])?;
                check_merchant(code, rest[1])?;
                Account::Clearing {
                    provider: rest[0].to_string(),
                    merchant: rest[1].to_string(),
                }
            }
            "over_short" => {
                want(1, "over_short:<estate_id>")?;
                Account::CashOverShort {
                    estate_id: id(0, "estate id")?,
                }
            }
            "handover_suspense" => {
                want(1, "handover_suspense:<estate_id>")?;
                Account::HandoverSuspense {
                    estate_id: id(0, "estate id")?,
                }
            }
            "advance" => {
                want(2, "advance:<room|space>:<object_id>")?;
                Account::Advance {
                    object: object(0)?,
                    object_id: id(1, "object id")?,
                }
            }
            other => {
                return Err(LedgerError::bad_code(
                    code,
                    format!("unknown account {other:?}"),
                ));
            }
        };
        Ok(account)
    }

    /// Checks that the account can be written as a code that parses back to
    /// it: positive ids, a well-formed provider and merchant.
    pub fn validate(&self) -> Result<(), LedgerError> {
        let code = self.code();
        let positive = |what: &str, v: i64| {
            if v > 0 {
                Ok(())
            } else {
                Err(LedgerError::bad_code(
                    &code,
                    format!("{what} must be a positive whole number, got {v}"),
                ))
            }
        };
        match self {
            Account::Receivable {
                object_id,
                fee_item_id,
                ..
            } => {
                positive("object id", *object_id)?;
                positive("fee item id", *fee_item_id)
            }
            Account::Revenue { fee_item_id }
            | Account::OnBehalfPayable { fee_item_id }
            | Account::Waivers { fee_item_id } => positive("fee item id", *fee_item_id),
            Account::LateFeeIncome { estate_id }
            | Account::CashInSafe { estate_id }
            | Account::CashOverShort { estate_id }
            | Account::HandoverSuspense { estate_id } => positive("estate id", *estate_id),
            Account::CashOnHand { user_id } => positive("user id", *user_id),
            Account::Clearing { provider, merchant } => {
                check_provider(&code, provider)?;
                check_merchant(&code, merchant)
            }
            Account::Advance { object_id, .. } => positive("object id", *object_id),
        }
    }

    /// The account's kind.
    pub fn kind(&self) -> AccountKind {
        match self {
            Account::Receivable { .. }
            | Account::CashOnHand { .. }
            | Account::CashInSafe { .. }
            | Account::HandoverSuspense { .. }
            | Account::Clearing { .. } => AccountKind::Asset,
            Account::OnBehalfPayable { .. } | Account::Advance { .. } => AccountKind::Liability,
            Account::Revenue { .. } | Account::LateFeeIncome { .. } => AccountKind::Income,
            Account::Waivers { .. } => AccountKind::ContraIncome,
            Account::CashOverShort { .. } => AccountKind::Expense,
        }
    }

    /// The side on which the account's balance normally sits.
    pub fn normal_side(&self) -> Side {
        self.kind().normal_side()
    }

    /// Whether a payment may be received into this account: cash on hand,
    /// cash in the safe, or a provider's clearing account.
    pub fn is_payment_source(&self) -> bool {
        matches!(
            self,
            Account::CashOnHand { .. } | Account::CashInSafe { .. } | Account::Clearing { .. }
        )
    }
}

fn parse_id(code: &str, what: &str, s: &str) -> Result<i64, LedgerError> {
    let canonical = !s.is_empty()
        && s.len() <= 18
        && s.bytes().all(|b| b.is_ascii_digit())
        && !s.starts_with('0');
    let v = if canonical {
        s.parse::<i64>().ok()
    } else {
        None
    };
    v.ok_or_else(|| {
        LedgerError::bad_code(
            code,
            format!("{what} must be a positive whole number, got {s:?}"),
        )
    })
}

fn check_provider(code: &str, p: &str) -> Result<(), LedgerError> {
    let ok = !p.is_empty()
        && p.len() <= MAX_PROVIDER_LEN
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(LedgerError::bad_code(
            code,
            format!("provider must be 1–16 characters of a-z, 0-9, _ (e.g. wechat), got {p:?}"),
        ))
    }
}

fn check_merchant(code: &str, m: &str) -> Result<(), LedgerError> {
    let ok = !m.is_empty()
        && m.len() <= MAX_MERCHANT_LEN
        && m.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(LedgerError::bad_code(
            code,
            format!("merchant id must be 1–64 ASCII letters and digits, got {m:?}"),
        ))
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

impl std::str::FromStr for Account {
    type Err = LedgerError;
    fn from_str(s: &str) -> Result<Self, LedgerError> {
        Account::parse(s)
    }
}

impl TryFrom<String> for Account {
    type Error = LedgerError;
    fn try_from(s: String) -> Result<Self, LedgerError> {
        Account::parse(&s)
    }
}

impl From<Account> for String {
    fn from(a: Account) -> String {
        a.code()
    }
}

/// One line of an entry: an amount on one side of one account. Exactly one
/// of `debit` and `credit` is positive, the other zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    /// The account.
    pub account: Account,
    /// Debit amount (zero when this is a credit).
    pub debit: Fen,
    /// Credit amount (zero when this is a debit).
    pub credit: Fen,
}

impl Posting {
    /// A debit of `amount` to `account`.
    pub fn debit(account: Account, amount: Fen) -> Posting {
        Posting {
            account,
            debit: amount,
            credit: Fen::ZERO,
        }
    }

    /// A credit of `amount` to `account`.
    pub fn credit(account: Account, amount: Fen) -> Posting {
        Posting {
            account,
            debit: Fen::ZERO,
            credit: amount,
        }
    }

    /// The same amount on the other side.
    pub fn swapped(&self) -> Posting {
        Posting {
            account: self.account.clone(),
            debit: self.credit,
            credit: self.debit,
        }
    }

    /// Checks one posting: a valid account, exactly one side positive.
    fn check(&self, index: usize) -> Result<(), LedgerError> {
        let fail = |reason: String| LedgerError::Posting {
            index,
            account: self.account.code(),
            reason,
        };
        self.account.validate().map_err(|e| fail(e.to_string()))?;
        if self.debit.0 < 0 || self.credit.0 < 0 {
            return Err(fail(format!(
                "amounts must not be negative (debit {}, credit {})",
                self.debit, self.credit
            )));
        }
        match (self.debit.0 > 0, self.credit.0 > 0) {
            (true, true) => Err(fail(format!(
                "both debit {} and credit {} are set",
                self.debit, self.credit
            ))),
            (false, false) => Err(fail("both debit and credit are zero".to_string())),
            _ => Ok(()),
        }
    }
}

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// Balances brought in from before the journal existed.
    Opening,
    /// A billing run's charges.
    Billing,
    /// A payment received.
    Payment,
    /// A waiver of what is left of a line.
    Waiver,
    /// A voided entry's reversal.
    Void,
    /// Money paid back to an owner.
    Refund,
    /// Cash handed over by a collector to finance.
    Handover,
    /// A provider's settlement to the bank.
    Settlement,
    /// A correction made by finance.
    Adjustment,
}

impl EntryKind {
    /// Every kind, in declaration order.
    pub const ALL: [EntryKind; 9] = [
        EntryKind::Opening,
        EntryKind::Billing,
        EntryKind::Payment,
        EntryKind::Waiver,
        EntryKind::Void,
        EntryKind::Refund,
        EntryKind::Handover,
        EntryKind::Settlement,
        EntryKind::Adjustment,
    ];

    /// Stable storage code, e.g. `payment`.
    pub fn code(self) -> &'static str {
        match self {
            EntryKind::Opening => "opening",
            EntryKind::Billing => "billing",
            EntryKind::Payment => "payment",
            EntryKind::Waiver => "waiver",
            EntryKind::Void => "void",
            EntryKind::Refund => "refund",
            EntryKind::Handover => "handover",
            EntryKind::Settlement => "settlement",
            EntryKind::Adjustment => "adjustment",
        }
    }

    /// Parses a storage code.
    pub fn parse(s: &str) -> Result<EntryKind, LedgerError> {
        EntryKind::ALL
            .into_iter()
            .find(|k| k.code() == s)
            .ok_or_else(|| LedgerError::invalid("entry_kind", format!("unknown entry kind {s:?}")))
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A journal entry: postings whose debits equal their credits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// What the entry records.
    pub kind: EntryKind,
    /// Its postings, in order.
    pub postings: Vec<Posting>,
}

impl Entry {
    /// Checks the entry: at least one posting, every posting on a valid
    /// account with exactly one side positive, and total debits equal to
    /// total credits (summed without overflow).
    pub fn check(&self) -> Result<(), LedgerError> {
        if self.postings.is_empty() {
            return Err(LedgerError::Empty("no postings"));
        }
        for (i, p) in self.postings.iter().enumerate() {
            p.check(i + 1)?;
        }
        let (debits, credits) = self.sums()?;
        if debits != credits {
            return Err(LedgerError::Unbalanced { debits, credits });
        }
        Ok(())
    }

    /// Total debits and total credits, or `Overflow`.
    fn sums(&self) -> Result<(Fen, Fen), LedgerError> {
        let mut debits = Fen::ZERO;
        let mut credits = Fen::ZERO;
        for p in &self.postings {
            debits = debits
                .checked_add(p.debit)
                .ok_or(LedgerError::Overflow("total debits"))?;
            credits = credits
                .checked_add(p.credit)
                .ok_or(LedgerError::Overflow("total credits"))?;
        }
        Ok((debits, credits))
    }

    /// The entry that undoes this one: the same postings, in the same order,
    /// with debit and credit swapped. A correction is a reversal, never an
    /// edit.
    pub fn reversal(&self, kind: EntryKind) -> Entry {
        Entry {
            kind,
            postings: self.postings.iter().map(Posting::swapped).collect(),
        }
    }

    /// Total debits (equal to total credits once [`check`](Entry::check)ed).
    /// Saturates at the largest `Fen` if the sum overflows, which a checked
    /// entry never does.
    pub fn total(&self) -> Fen {
        self.postings
            .iter()
            .fold(Fen::ZERO, |acc, p| Fen(acc.0.saturating_add(p.debit.0)))
    }

    fn checked(
        kind: EntryKind,
        postings: Vec<Posting>,
        what: &'static str,
    ) -> Result<Entry, LedgerError> {
        if postings.is_empty() {
            return Err(LedgerError::Empty(what));
        }
        let e = Entry { kind, postings };
        e.check()?;
        Ok(e)
    }
}

fn not_negative(field: &'static str, line: usize, v: Fen) -> Result<(), LedgerError> {
    if v.0 < 0 {
        Err(LedgerError::invalid(
            field,
            format!("line {line}: must not be negative, got {v}"),
        ))
    } else {
        Ok(())
    }
}

/// One bill line as billing posts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilledLine {
    /// Room or space.
    pub object: ObjectKind,
    /// The room's or space's id.
    pub object_id: i64,
    /// The fee item.
    pub fee_item_id: i64,
    /// The fee item's category (on-behalf items credit a liability).
    pub category: Category,
    /// The line's amount.
    pub amount: Fen,
}

/// The billing entry for `lines`: a debit to each line's receivable (one per
/// line, in order) and a credit per fee item, in first-seen order, to its
/// revenue or, for on-behalf items, its on-behalf payable. Zero lines are
/// skipped; negative amounts, a fee item given two categories, or nothing
/// to post are errors.
pub fn billing_entry(lines: &[BilledLine]) -> Result<Entry, LedgerError> {
    let mut debits = Vec::new();
    // (fee item, category, sum), first-seen order; few items, so a Vec.
    let mut credits: Vec<(i64, Category, Fen)> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        not_negative("amount", i + 1, l.amount)?;
        if l.amount.0 == 0 {
            continue;
        }
        debits.push(Posting::debit(
            Account::Receivable {
                object: l.object,
                object_id: l.object_id,
                fee_item_id: l.fee_item_id,
            },
            l.amount,
        ));
        match credits.iter_mut().find(|c| c.0 == l.fee_item_id) {
            Some(c) => {
                if c.1 != l.category {
                    return Err(LedgerError::invalid(
                        "category",
                        format!(
                            "line {}: fee item {} is {:?} here but {:?} on an earlier line",
                            i + 1,
                            l.fee_item_id,
                            l.category,
                            c.1
                        ),
                    ));
                }
                c.2 =
                    c.2.checked_add(l.amount)
                        .ok_or(LedgerError::Overflow("billed amounts of one fee item"))?;
            }
            None => credits.push((l.fee_item_id, l.category, l.amount)),
        }
    }
    let mut postings = debits;
    postings.extend(credits.into_iter().map(|(fee_item_id, category, sum)| {
        Posting::credit(income_account(fee_item_id, category), sum)
    }));
    Entry::checked(EntryKind::Billing, postings, "every billed amount is zero")
}

/// Where a charge of `category` is credited.
fn income_account(fee_item_id: i64, category: Category) -> Account {
    match category {
        Category::OnBehalf => Account::OnBehalfPayable { fee_item_id },
        Category::Property | Category::Parking | Category::Other => {
            Account::Revenue { fee_item_id }
        }
    }
}

/// What a payment pays on one bill line (see
/// [`LineAllocation`](crate::LineAllocation)), with the line's receivable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidLine {
    /// Room or space.
    pub object: ObjectKind,
    /// The room's or space's id.
    pub object_id: i64,
    /// The fee item.
    pub fee_item_id: i64,
    /// Paid towards the line's late fee.
    pub late_fee: Fen,
    /// Paid towards the line's principal.
    pub principal: Fen,
}

/// The payment entry: a debit to `source` (cash on hand, cash in the safe or
/// a clearing account) for the whole amount; a credit to each line's
/// receivable for its principal (one per line, in order); one credit to the
/// estate's late-fee income for all late fees; and a credit to the object's
/// advance account for a prepayment. Zero parts are skipped.
pub fn payment_entry(
    source: Account,
    estate_id: i64,
    lines: &[PaidLine],
    advance: Option<(ObjectKind, i64, Fen)>,
) -> Result<Entry, LedgerError> {
    if !source.is_payment_source() {
        return Err(LedgerError::invalid(
            "source",
            format!(
                "{source} cannot receive a payment (use cash:<user>, safe:<estate> or \
                 clearing:<provider>:<merchant>)"
            ),
        ));
    }
    let mut credits = Vec::new();
    let mut total = Fen::ZERO;
    let mut late = Fen::ZERO;
    let overflow = || LedgerError::Overflow("payment total");
    for (i, l) in lines.iter().enumerate() {
        not_negative("late_fee", i + 1, l.late_fee)?;
        not_negative("principal", i + 1, l.principal)?;
        late = late.checked_add(l.late_fee).ok_or_else(overflow)?;
        total = total.checked_add(l.late_fee).ok_or_else(overflow)?;
        total = total.checked_add(l.principal).ok_or_else(overflow)?;
        if l.principal.0 > 0 {
            credits.push(Posting::credit(
                Account::Receivable {
                    object: l.object,
                    object_id: l.object_id,
                    fee_item_id: l.fee_item_id,
                },
                l.principal,
            ));
        }
    }
    if late.0 > 0 {
        credits.push(Posting::credit(Account::LateFeeIncome { estate_id }, late));
    }
    if let Some((object, object_id, amount)) = advance {
        if amount.0 < 0 {
            return Err(LedgerError::invalid(
                "advance",
                format!("must not be negative, got {amount}"),
            ));
        }
        if amount.0 > 0 {
            total = total.checked_add(amount).ok_or_else(overflow)?;
            credits.push(Posting::credit(
                Account::Advance { object, object_id },
                amount,
            ));
        }
    }
    if total.0 == 0 {
        return Err(LedgerError::Empty("the payment pays nothing"));
    }
    let mut postings = vec![Posting::debit(source, total)];
    postings.extend(credits);
    Entry::checked(EntryKind::Payment, postings, "the payment pays nothing")
}

/// The waiver entry for what is left of one line (`(object, object_id,
/// fee_item_id)`): a debit to the item's waivers (or, for an on-behalf item,
/// back to its on-behalf payable, since nothing will be passed on) and a
/// credit to the line's receivable. `outstanding` must be positive.
pub fn waiver_entry(
    line: (ObjectKind, i64, i64),
    category: Category,
    outstanding: Fen,
) -> Result<Entry, LedgerError> {
    let (object, object_id, fee_item_id) = line;
    if outstanding.0 < 0 {
        return Err(LedgerError::invalid(
            "outstanding",
            format!("must not be negative, got {outstanding}"),
        ));
    }
    if outstanding.0 == 0 {
        return Err(LedgerError::Empty("nothing is outstanding on the line"));
    }
    let debit = match category {
        Category::OnBehalf => Account::OnBehalfPayable { fee_item_id },
        Category::Property | Category::Parking | Category::Other => {
            Account::Waivers { fee_item_id }
        }
    };
    let postings = vec![
        Posting::debit(debit, outstanding),
        Posting::credit(
            Account::Receivable {
                object,
                object_id,
                fee_item_id,
            },
            outstanding,
        ),
    ];
    Entry::checked(EntryKind::Waiver, postings, "nothing is outstanding")
}

/// The handover entry: finance counts `counted` from a collector whose cash
/// on hand says `expected`. Debit the estate's safe with what was counted,
/// credit the collector's cash on hand with what was expected, and post the
/// difference to over/short (a shortage as a debit, an overage as a credit).
/// Either amount may be zero, neither negative, not both zero.
pub fn handover_entry(
    collector_user_id: i64,
    estate_id: i64,
    expected: Fen,
    counted: Fen,
) -> Result<Entry, LedgerError> {
    for (field, v) in [("expected", expected), ("counted", counted)] {
        if v.0 < 0 {
            return Err(LedgerError::invalid(
                field,
                format!("must not be negative, got {v}"),
            ));
        }
    }
    if expected.0 == 0 && counted.0 == 0 {
        return Err(LedgerError::Empty("nothing was expected or counted"));
    }
    let mut postings = Vec::new();
    if counted.0 > 0 {
        postings.push(Posting::debit(Account::CashInSafe { estate_id }, counted));
    }
    let over_short = Account::CashOverShort { estate_id };
    match handover_verdict(expected, counted) {
        HandoverVerdict::Exact => {}
        HandoverVerdict::Short(d) => postings.push(Posting::debit(over_short, d)),
        HandoverVerdict::Over(d) => postings.push(Posting::credit(over_short, d)),
    }
    if expected.0 > 0 {
        postings.push(Posting::credit(
            Account::CashOnHand {
                user_id: collector_user_id,
            },
            expected,
        ));
    }
    Entry::checked(
        EntryKind::Handover,
        postings,
        "nothing was expected or counted",
    )
}

/// Balances per account, as debits minus credits (so credit-normal accounts
/// are negative when they hold money). Every account posted to appears, even
/// when it nets to zero. Sums saturate at the `i64` bounds, which checked
/// entries of real money never reach.
pub fn balances<'a>(postings: impl IntoIterator<Item = &'a Posting>) -> BTreeMap<Account, i64> {
    let mut out: BTreeMap<Account, i64> = BTreeMap::new();
    for p in postings {
        let b = out.entry(p.account.clone()).or_insert(0);
        *b = b.saturating_add(p.debit.0).saturating_sub(p.credit.0);
    }
    out
}

/// Something wrong that the ledger checks found, readable by a finance clerk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerProblem {
    /// An entry whose debits and credits differ.
    Unbalanced {
        /// The entry's id.
        entry_id: i64,
        /// Its total debits.
        debits: Fen,
        /// Its total credits.
        credits: Fen,
    },
    /// An entry that is malformed in another way (empty, a bad posting, an
    /// overflowing sum).
    Malformed {
        /// The entry's id.
        entry_id: i64,
        /// What is wrong.
        error: LedgerError,
    },
    /// A receivable whose ledger balance differs from what the bills say.
    ReceivableDiffers {
        /// The receivable account.
        account: Account,
        /// Its ledger balance; `None` when the ledger has no such account.
        ledger: Option<Fen>,
        /// What the bills say it should be; `None` when no bill line is on it.
        bills: Option<Fen>,
    },
}

impl fmt::Display for LedgerProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedgerProblem::Unbalanced {
                entry_id,
                debits,
                credits,
            } => write!(
                f,
                "entry {entry_id} does not balance: debits {debits}, credits {credits}"
            ),
            LedgerProblem::Malformed { entry_id, error } => write!(f, "entry {entry_id}: {error}"),
            LedgerProblem::ReceivableDiffers {
                account,
                ledger,
                bills,
            } => {
                write!(f, "{account}: ")?;
                match ledger {
                    Some(l) => write!(f, "ledger {l}")?,
                    None => f.write_str("not in the ledger")?,
                }
                match bills {
                    Some(b) => write!(f, ", bills {b}"),
                    None => f.write_str(", no bill line"),
                }
            }
        }
    }
}

/// Checks every entry; lists each unbalanced or malformed one by id, in the
/// order given.
pub fn check_entries(entries: &[(i64, Entry)]) -> Vec<LedgerProblem> {
    entries
        .iter()
        .filter_map(|(entry_id, e)| match e.check() {
            Ok(()) => None,
            Err(LedgerError::Unbalanced { debits, credits }) => Some(LedgerProblem::Unbalanced {
                entry_id: *entry_id,
                debits,
                credits,
            }),
            Err(error) => Some(LedgerProblem::Malformed {
                entry_id: *entry_id,
                error,
            }),
        })
        .collect()
}

/// What the receivable balance of one bill line must be: zero once waived,
/// else its amount less the principal paid.
pub fn expected_receivable(amount: Fen, paid_principal: Fen, waived: bool) -> Fen {
    if waived {
        Fen::ZERO
    } else {
        Fen(amount.0.saturating_sub(paid_principal.0))
    }
}

/// Compares the ledger's receivable balances with the bills. `bills` holds
/// `(object, object_id, fee_item_id, expected)` per bill line (see
/// [`expected_receivable`]); lines on the same receivable are summed. Reports
/// every receivable whose ledger balance differs from the bills' sum, in
/// account order, a receivable missing on one side counting as zero there
/// (so a missing account is reported unless the other side is zero too).
/// Accounts other than receivables are ignored.
pub fn compare_receivables(
    ledger: &BTreeMap<Account, i64>,
    bills: &[(ObjectKind, i64, i64, Fen)],
) -> Vec<LedgerProblem> {
    let mut expected: BTreeMap<Account, i64> = BTreeMap::new();
    for &(object, object_id, fee_item_id, amount) in bills {
        let e = expected
            .entry(Account::Receivable {
                object,
                object_id,
                fee_item_id,
            })
            .or_insert(0);
        *e = e.saturating_add(amount.0);
    }
    let mut accounts: Vec<&Account> = ledger
        .keys()
        .filter(|a| matches!(a, Account::Receivable { .. }))
        .chain(expected.keys())
        .collect();
    accounts.sort();
    accounts.dedup();
    accounts
        .into_iter()
        .filter_map(|a| {
            let l = ledger.get(a).copied();
            let b = expected.get(a).copied();
            if l.unwrap_or(0) == b.unwrap_or(0) {
                return None;
            }
            Some(LedgerProblem::ReceivableDiffers {
                account: a.clone(),
                ledger: l.map(Fen),
                bills: b.map(Fen),
            })
        })
        .collect()
}

/// How much cash one person may hold, and for how long, before finance is
/// alerted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashLimits {
    /// Most cash one person may hold (an alert above it).
    pub max_fen: Fen,
    /// Most hours the oldest cash may go without a handover (an alert above).
    pub max_hours: i64,
}

impl Default for CashLimits {
    /// ¥2,000.00 and 24 hours.
    fn default() -> Self {
        CashLimits {
            max_fen: Fen(200_000),
            max_hours: 24,
        }
    }
}

/// Cash one person holds, not yet handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CashHeld {
    /// The collector or cashier.
    pub user_id: i64,
    /// How much (their cash-on-hand balance).
    pub amount: Fen,
    /// When the oldest of it was taken, in Unix seconds.
    pub oldest_at: i64,
}

/// Why someone's cash needs handing over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum AlertReason {
    /// Holding more than the limit.
    Amount {
        /// What they hold.
        held: Fen,
        /// The limit.
        limit: Fen,
    },
    /// Holding the oldest cash longer than the limit.
    Age {
        /// Whole hours since the oldest cash was taken (rounded down).
        hours: i64,
        /// The limit in hours.
        limit: i64,
    },
}

/// One cash-custody alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CashAlert {
    /// Who holds the cash.
    pub user_id: i64,
    /// Why it is an alert.
    pub reason: AlertReason,
}

impl fmt::Display for CashAlert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            AlertReason::Amount { held, limit } => write!(
                f,
                "user {}: holds {held} in cash, more than the {limit} limit",
                self.user_id
            ),
            AlertReason::Age { hours, limit } => write!(
                f,
                "user {}: oldest cash held {hours} h, longer than the {limit} h limit",
                self.user_id
            ),
        }
    }
}

/// Alerts for everyone holding more cash than `limits.max_fen`, or holding
/// cash taken more than `limits.max_hours` before `now` (Unix seconds).
/// Exactly at a limit is not an alert. Both reasons may fire for one person
/// (amount first); people holding nothing get no alert. In input order.
pub fn cash_alerts(held: &[CashHeld], now: i64, limits: &CashLimits) -> Vec<CashAlert> {
    let max_secs = limits.max_hours.saturating_mul(3600);
    let mut out = Vec::new();
    for h in held {
        if h.amount.0 <= 0 {
            continue;
        }
        if h.amount > limits.max_fen {
            out.push(CashAlert {
                user_id: h.user_id,
                reason: AlertReason::Amount {
                    held: h.amount,
                    limit: limits.max_fen,
                },
            });
        }
        let age = now.saturating_sub(h.oldest_at);
        if age > max_secs {
            out.push(CashAlert {
                user_id: h.user_id,
                reason: AlertReason::Age {
                    hours: age / 3600,
                    limit: limits.max_hours,
                },
            });
        }
    }
    out
}

/// Counted less expected: negative when short, positive when over.
pub fn handover_difference(expected: Fen, counted: Fen) -> Fen {
    Fen(counted.0.saturating_sub(expected.0))
}

/// The outcome of counting a handover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "fen")]
pub enum HandoverVerdict {
    /// Counted exactly what was expected.
    Exact,
    /// Counted less than expected, by this much (positive).
    Short(Fen),
    /// Counted more than expected, by this much (positive).
    Over(Fen),
}

/// Whether a handover was exact, short or over, and by how much.
pub fn handover_verdict(expected: Fen, counted: Fen) -> HandoverVerdict {
    let d = handover_difference(expected, counted);
    match d.0.cmp(&0) {
        std::cmp::Ordering::Equal => HandoverVerdict::Exact,
        std::cmp::Ordering::Less => HandoverVerdict::Short(Fen(d.0.saturating_neg())),
        std::cmp::Ordering::Greater => HandoverVerdict::Over(d),
    }
}

impl fmt::Display for HandoverVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandoverVerdict::Exact => f.write_str("exact"),
            HandoverVerdict::Short(d) => write!(f, "short by {d}"),
            HandoverVerdict::Over(d) => write!(f, "over by {d}"),
        }
    }
}

impl From<LedgerError> for DomainError {
    fn from(e: LedgerError) -> DomainError {
        match e {
            LedgerError::Invalid { field, message } => DomainError::Invalid { field, message },
            LedgerError::BadCode { .. } => DomainError::invalid("account", e.to_string()),
            LedgerError::Empty(_)
            | LedgerError::Posting { .. }
            | LedgerError::Unbalanced { .. }
            | LedgerError::Overflow(_) => DomainError::invalid("entry", e.to_string()),
        }
    }
}
