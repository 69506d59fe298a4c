//! `doorstep ledger check`: every journal entry balances, every reversal
//! mirrors what it reverses, every payment has its entry, every
//! receivable's balance matches the bill lines, and no one's cash on hand is
//! negative. It also lists what is still open in cash custody (open shifts,
//! shifts not handed over, unapproved handover differences, voids and
//! refunds not carried out): not errors in the ledger, but what keeps a day
//! from closing.

use crate::{Store, StoreResult};
use doorstep_domain::Fen;
use doorstep_domain::ledger::{
    Account, Entry, EntryKind, Posting, balances, check_entries, compare_receivables,
};
use serde::Serialize;
use std::collections::HashMap;

/// What the check found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LedgerReport {
    /// Journal entries read.
    pub entries: usize,
    /// Postings read.
    pub postings: usize,
    /// Accounts with postings.
    pub accounts: usize,
    /// Payments checked.
    pub payments: usize,
    /// Receivable accounts compared with the bills.
    pub receivables: usize,
    /// Every disagreement, in words for finance.
    pub problems: Vec<String>,
    /// Cash custody items still open, in words (not problems).
    pub open: Vec<String>,
}

impl LedgerReport {
    /// No problems.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the journal of one estate (or all) against itself and the bills.
pub async fn check_ledger(s: &dyn Store, estate_id: Option<i64>) -> StoreResult<LedgerReport> {
    let journal = s.journal(estate_id).await?;
    let mut report = LedgerReport {
        entries: journal.len(),
        ..LedgerReport::default()
    };
    let mut parsed: Vec<(i64, Entry)> = Vec::with_capacity(journal.len());
    let mut all: Vec<Posting> = Vec::new();
    for e in &journal {
        report.postings += e.postings.len();
        let kind = match EntryKind::parse(&e.kind) {
            Ok(k) => k,
            Err(err) => {
                report.problems.push(format!("entry {}: {err}", e.id));
                continue;
            }
        };
        let mut postings = Vec::with_capacity(e.postings.len());
        for p in &e.postings {
            match Account::parse(&p.account) {
                Ok(account) => postings.push(Posting {
                    account,
                    debit: p.debit,
                    credit: p.credit,
                }),
                Err(err) => report.problems.push(format!("entry {}: {err}", e.id)),
            }
        }
        all.extend(postings.iter().cloned());
        parsed.push((e.id, Entry { kind, postings }));
    }
    report
        .problems
        .extend(check_entries(&parsed).iter().map(|p| p.to_string()));

    // Reversals mirror the entry they reverse, posting for posting — except
    // that cash is taken back from where it is now: a void after a handover
    // credits the safe (or the shortage it explains) instead of the
    // collector's cash, for the same total.
    let by_id: HashMap<i64, &Entry> = parsed.iter().map(|(id, e)| (*id, e)).collect();
    for e in &journal {
        let Some(orig_id) = e.reverses else { continue };
        match (by_id.get(&orig_id), by_id.get(&e.id)) {
            (Some(orig), Some(rev)) => {
                let mirror = orig.reversal(rev.kind);
                if mirror.postings != rev.postings && !same_but_cash(&mirror, rev) {
                    report.problems.push(format!(
                        "entry {} does not mirror entry {orig_id}, which it reverses",
                        e.id
                    ));
                }
            }
            _ => report.problems.push(format!(
                "entry {} reverses entry {orig_id}, which is missing",
                e.id
            )),
        }
    }

    // Each payment: one payment entry for its amount; a voided or refunded
    // payment also has exactly one reversal of it.
    let facts = s.payment_facts(estate_id).await?;
    report.payments = facts.len();
    let mut entries_of: HashMap<i64, Vec<&crate::JournalEntry>> = HashMap::new();
    for e in &journal {
        if let Some(p) = e.payment_id {
            entries_of.entry(p).or_default().push(e);
        }
    }
    for p in &facts {
        let es = entries_of.get(&p.id).cloned().unwrap_or_default();
        if p.opening {
            if !es.is_empty() {
                report.problems.push(format!(
                    "payment {} predates the journal but has entries of its own",
                    p.id
                ));
            }
            continue;
        }
        let pay: Vec<_> = es.iter().filter(|e| e.kind == "payment").collect();
        let rev: Vec<_> = es.iter().filter(|e| e.reverses.is_some()).collect();
        if pay.len() != 1 {
            report.problems.push(format!(
                "payment {} has {} payment entries (expected 1)",
                p.id,
                pay.len()
            ));
            continue;
        }
        let total: Fen = pay[0].postings.iter().map(|x| x.debit).sum();
        if total != p.amount {
            report.problems.push(format!(
                "payment {} is {}, its entry {} moves {total}",
                p.id, p.amount, pay[0].id
            ));
        }
        let want = usize::from(p.status != "posted");
        if rev.len() != want {
            report.problems.push(format!(
                "payment {} is {} but has {} reversing entries",
                p.id,
                p.status,
                rev.len()
            ));
        }
    }

    // The running balances kept with each posting agree with the postings.
    let mut summed: std::collections::BTreeMap<(i64, &str), i64> = Default::default();
    for e in &journal {
        for p in &e.postings {
            *summed.entry((e.estate_id, p.account.as_str())).or_default() += p.debit.0 - p.credit.0;
        }
    }
    let kept = s.ledger_balances(estate_id).await?;
    let mut kept_map: std::collections::BTreeMap<(i64, &str), i64> = Default::default();
    for (estate, account, fen) in &kept {
        kept_map.insert((*estate, account.as_str()), *fen);
    }
    for (key, fen) in &summed {
        let have = kept_map.get(key).copied().unwrap_or(0);
        if have != *fen {
            report.problems.push(format!(
                "account {} of estate {}: the kept balance is {} but its postings sum to {}",
                key.1,
                key.0,
                Fen(have),
                Fen(*fen)
            ));
        }
    }
    for (key, fen) in &kept_map {
        if *fen != 0 && !summed.contains_key(key) {
            report.problems.push(format!(
                "account {} of estate {}: a kept balance of {} without postings",
                key.1,
                key.0,
                Fen(*fen)
            ));
        }
    }

    // Nobody holds negative cash.
    for ((estate, account), fen) in &summed {
        if *fen >= 0 {
            continue;
        }
        if let Ok(Account::CashOnHand { user_id }) = Account::parse(account) {
            let name = s
                .user(user_id)
                .await
                .map(|u| u.display_name)
                .unwrap_or_else(|_| format!("user {user_id}"));
            report.problems.push(format!(
                "negative cash balance: {name}'s cash ({account}) of estate {estate} is {} (taken back after it was handed over?)",
                Fen(*fen)
            ));
        }
    }

    report.open = s
        .open_custody(estate_id)
        .await?
        .into_iter()
        .map(|i| format!("estate {}: {}", i.estate_id, i.detail))
        .collect();

    let ledger = balances(all.iter());
    report.accounts = ledger.len();
    let expectations = s.receivable_expectations(estate_id).await?;
    report.receivables = expectations.len();
    let bills: Vec<_> = expectations
        .iter()
        .map(|r| (r.object, r.object_id, r.fee_item_id, r.expected))
        .collect();
    report.problems.extend(
        compare_receivables(&ledger, &bills)
            .iter()
            .map(|p| p.to_string()),
    );
    Ok(report)
}

/// Whether `rev` is `mirror` with its cash postings moved between cash
/// accounts (a collector's cash, the safe, suspense, over/short) for the
/// same totals: every other posting identical and in order.
fn same_but_cash(mirror: &Entry, rev: &Entry) -> bool {
    let is_cash = |a: &Account| {
        matches!(
            a,
            Account::CashOnHand { .. }
                | Account::CashInSafe { .. }
                | Account::HandoverSuspense { .. }
                | Account::CashOverShort { .. }
        )
    };
    let other = |e: &Entry| -> Vec<Posting> {
        e.postings
            .iter()
            .filter(|p| !is_cash(&p.account))
            .cloned()
            .collect()
    };
    let cash = |e: &Entry| -> (i64, i64) {
        e.postings
            .iter()
            .filter(|p| is_cash(&p.account))
            .fold((0, 0), |(d, c), p| (d + p.debit.0, c + p.credit.0))
    };
    mirror.kind == rev.kind && other(mirror) == other(rev) && cash(mirror) == cash(rev)
}
