//! Cash custody and corrections: collectors' shifts, finance's blind count
//! at handover, alerts for cash held too long or too much, the daily close,
//! voids and refunds with a second person's approval, and the ledger check.

use crate::{App, AppError, AppResult, now, require, today};
use doorstep_domain::ledger::{CashAlert, CashHeld, CashLimits, cash_alerts};
use doorstep_domain::{Date, DomainError, Fen, Permission};
use doorstep_store::*;
use serde::Serialize;

/// Cash at an estate right now.
#[derive(Debug, Clone, Serialize)]
pub struct CashStatus {
    /// Each collector holding cash.
    pub holdings: Vec<CashHolding>,
    /// Alerts: held too much or too long.
    pub alerts: Vec<(String, String)>,
    /// Shifts closed and waiting for a handover.
    pub pending: Vec<Shift>,
    /// Open shifts.
    pub open: Vec<Shift>,
    /// Recent handovers.
    pub recent: Vec<Shift>,
    /// Handover differences not yet approved.
    pub differences: Vec<HandoverDifference>,
    /// Collections reopened by voids or refunds whose lines are still owed.
    pub recollections: Vec<Recollection>,
}

impl App {
    /// The collector opens their shift at an estate.
    pub async fn open_shift(&self, user: &User, code: &str) -> AppResult<Shift> {
        let estate = self
            .estate_for(user, code, Permission::RecordPayment)
            .await?;
        Ok(self.store.open_shift(estate.id, user.id, now()).await?)
    }

    /// The collector's open shift at an estate, if any.
    pub async fn my_shift(&self, user: &User, code: &str) -> AppResult<Option<Shift>> {
        let estate = self.estate_for(user, code, Permission::Visit).await?;
        Ok(self
            .store
            .shifts(estate.id, Some("open"))
            .await?
            .into_iter()
            .find(|s| s.collector_id == user.id))
    }

    /// Closes a shift (the collector's own, or any for finance).
    pub async fn close_shift(&self, user: &User, shift_id: i64) -> AppResult<Shift> {
        let s = self.store.shift(shift_id).await?;
        let estate = self.store.estate_by_id(s.estate_id).await?;
        if !user.can_access(&estate)
            || (s.collector_id != user.id && !user.role.allows(Permission::Treasury))
        {
            return Err(AppError::NotFound(format!("shift {shift_id}")));
        }
        Ok(self.store.close_shift(shift_id, now()).await?)
    }

    /// Finance's blind count at handover: the counted amount is entered
    /// without seeing what the ledger expects. A count that differs needs a
    /// `reason` (refused otherwise, nothing changed) and stays pending until
    /// the collector has answered and a third person approves it; an exact
    /// count is settled at once.
    pub async fn submit_handover(
        &self,
        user: &User,
        shift_id: i64,
        counted: &str,
        reason: &str,
    ) -> AppResult<Shift> {
        require(user, Permission::Treasury)?;
        let s = self.store.shift(shift_id).await?;
        let estate = self.store.estate_by_id(s.estate_id).await?;
        if !user.can_access(&estate) {
            return Err(AppError::NotFound(format!("shift {shift_id}")));
        }
        let counted = Fen::parse_yuan("counted", counted)?;
        if reason.chars().count() > 200 {
            return Err(DomainError::invalid("reason", "at most 200 characters").into());
        }
        Ok(self
            .store
            .submit_handover(shift_id, counted, user.id, reason.trim(), now())
            .await?)
    }

    /// The collector's own recent handovers with what finance expected and
    /// counted, and any difference waiting for their answer.
    pub async fn my_handovers(
        &self,
        user: &User,
        code: &str,
    ) -> AppResult<(Estate, Vec<(Shift, Option<HandoverDifference>)>)> {
        let estate = self.estate_for(user, code, Permission::Visit).await?;
        let mut out = Vec::new();
        for s in self
            .store
            .shifts(estate.id, Some("handed_over"))
            .await?
            .into_iter()
            .filter(|s| s.collector_id == user.id)
            .take(10)
        {
            let d = self.store.handover_difference(estate.id, s.id).await?;
            out.push((s, d));
        }
        Ok((estate, out))
    }

    /// The collector acknowledges the difference found at their shift's
    /// handover, or disputes it with a note. Nobody else may.
    pub async fn respond_to_difference(
        &self,
        user: &User,
        shift_id: i64,
        dispute: bool,
        note: &str,
    ) -> AppResult<HandoverDifference> {
        let s = self.store.shift(shift_id).await?;
        let estate = self.store.estate_by_id(s.estate_id).await?;
        if !user.can_access(&estate) || s.collector_id != user.id {
            return Err(AppError::NotFound(format!("shift {shift_id}")));
        }
        if s.status != "handed_over" {
            return Err(AppError::Conflict(format!(
                "shift {shift_id} has not been handed over yet"
            )));
        }
        if self
            .store
            .handover_difference(estate.id, shift_id)
            .await?
            .is_none()
        {
            return Err(AppError::Conflict(format!(
                "the count of shift {shift_id} matched the ledger: there is no difference to answer or approve"
            )));
        }
        Ok(self
            .store
            .respond_to_difference(estate.id, shift_id, user.id, dispute, note, now())
            .await?)
    }

    /// A finance user who neither counted the cash nor collected it
    /// approves a handover difference the collector has answered: it moves
    /// from suspense to over/short.
    pub async fn approve_difference(
        &self,
        user: &User,
        shift_id: i64,
    ) -> AppResult<HandoverDifference> {
        require(user, Permission::Treasury)?;
        let s = self.store.shift(shift_id).await?;
        let estate = self.store.estate_by_id(s.estate_id).await?;
        if !user.can_access(&estate) {
            return Err(AppError::NotFound(format!("shift {shift_id}")));
        }
        if s.status != "handed_over" {
            return Err(AppError::Conflict(format!(
                "shift {shift_id} has not been handed over yet"
            )));
        }
        if self
            .store
            .handover_difference(estate.id, shift_id)
            .await?
            .is_none()
        {
            return Err(AppError::Conflict(format!(
                "the count of shift {shift_id} matched the ledger: there is no difference to answer or approve"
            )));
        }
        Ok(self
            .store
            .approve_difference(estate.id, shift_id, user.id, now())
            .await?)
    }

    /// Cash held now, alerts, shifts waiting for a handover.
    pub async fn cash_status(&self, user: &User, code: &str) -> AppResult<(Estate, CashStatus)> {
        let estate = self.estate_for(user, code, Permission::Treasury).await?;
        let settings = self.store.collect_settings(estate.id).await?;
        let holdings = self.store.cash_holdings(estate.id).await?;
        let limits = CashLimits {
            max_fen: settings.cash_limit,
            max_hours: settings.cash_limit_hours,
        };
        let held: Vec<CashHeld> = holdings
            .iter()
            .map(|h| CashHeld {
                user_id: h.user_id,
                amount: h.amount,
                oldest_at: h.oldest_at.unwrap_or_else(now),
            })
            .collect();
        let alerts = cash_alerts(&held, now(), &limits)
            .into_iter()
            .map(|a: CashAlert| {
                let name = holdings
                    .iter()
                    .find(|h| h.user_id == a.user_id)
                    .map(|h| h.name.clone())
                    .unwrap_or_default();
                (name, a.to_string())
            })
            .collect();
        let all = self.store.shifts(estate.id, None).await?;
        let pending = all
            .iter()
            .filter(|s| s.status == "closed")
            .cloned()
            .collect();
        let open = all.iter().filter(|s| s.status == "open").cloned().collect();
        let recent = all
            .iter()
            .filter(|s| s.status == "handed_over")
            .take(20)
            .cloned()
            .collect();
        let differences = self.store.handover_differences(estate.id, true).await?;
        let recollections = self
            .store
            .recollections(estate.id)
            .await?
            .into_iter()
            .filter(|r| r.still_owed.0 > 0)
            .collect();
        Ok((
            estate,
            CashStatus {
                holdings,
                alerts,
                pending,
                open,
                recent,
                differences,
                recollections,
            },
        ))
    }

    /// Closes a day at an estate: refused while any shift of the day is
    /// open or waiting for its handover; keeps the day's totals.
    pub async fn daily_close(
        &self,
        user: &User,
        code: &str,
        day: Option<Date>,
    ) -> AppResult<serde_json::Value> {
        let estate = self.estate_for(user, code, Permission::Treasury).await?;
        let day = day.unwrap_or_else(|| today(&estate));
        let shifts = self.store.shifts(estate.id, None).await?;
        let holdings = self.store.cash_holdings(estate.id).await?;
        let reversals = self.store.reversals(estate.id).await?;
        let differences = self.store.handover_differences(estate.id, true).await?;
        let open = day_close_blockers(&shifts, &holdings, &reversals, &differences);
        if !open.is_empty() {
            return Err(AppError::Conflict(format!(
                "the day cannot close while {} thing(s) are open: {}",
                open.len(),
                open.join("; ")
            )));
        }
        let facts = self.store.payment_facts(Some(estate.id)).await?;
        let ledger = crate::custody::ledger_report(self, Some(estate.id)).await?;
        if !ledger.ok() {
            return Err(AppError::Conflict(format!(
                "the ledger check found {} problems; resolve them first: {}",
                ledger.problems.len(),
                ledger.problems.first().cloned().unwrap_or_default()
            )));
        }
        let summary = serde_json::json!({
            "day": day.to_string(),
            "payments": facts.iter().filter(|f| f.status == "posted").count(),
            "posted_fen": facts.iter().filter(|f| f.status == "posted").map(|f| f.amount.0).sum::<i64>(),
            "entries": ledger.entries,
        });
        self.store
            .daily_close(estate.id, day, user.id, &summary.to_string(), now())
            .await?;
        Ok(summary)
    }

    /// Asks for a void (cash recorded in error) or a refund (money back
    /// through the provider); someone else must approve it.
    pub async fn request_reversal(
        &self,
        user: &User,
        payment_id: i64,
        kind: &str,
        reason: &str,
    ) -> AppResult<Reversal> {
        require(user, Permission::RecordPayment)?;
        let p = self
            .store
            .payment_fact(payment_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("payment {payment_id}")))?;
        let estate = self.store.estate_by_id(p.estate_id).await?;
        if !user.can_access(&estate) {
            return Err(AppError::NotFound(format!("payment {payment_id}")));
        }
        Ok(self
            .store
            .request_reversal(payment_id, kind, reason, user.id, now())
            .await?)
    }

    /// Finance approves or rejects a void or refund (never their own
    /// request). An approved refund is sent to the provider at once.
    pub async fn decide_reversal(
        &self,
        user: &User,
        id: i64,
        approve: bool,
    ) -> AppResult<Reversal> {
        require(user, Permission::Treasury)?;
        let r = self.store.reversal(id).await?;
        let estate = self.store.estate_by_id(r.estate_id).await?;
        if !user.can_access(&estate) {
            return Err(AppError::NotFound(format!("reversal {id}")));
        }
        let refund_no = (r.kind == "refund").then(|| format!("RF{}{:06}", r.payment_id, id));
        let r = self
            .store
            .decide_reversal(id, approve, user.id, refund_no.as_deref(), now())
            .await?;
        if r.status == "approved" {
            return self.carry_out_refund(r.id).await;
        }
        Ok(r)
    }

    /// An estate's voids and refunds.
    pub async fn reversals(&self, user: &User, code: &str) -> AppResult<(Estate, Vec<Reversal>)> {
        let estate = self.estate_for(user, code, Permission::ReadBills).await?;
        let list = self.store.reversals(estate.id).await?;
        Ok((estate, list))
    }
}

/// Everything that keeps a day from closing, each named: cash still out
/// (open shifts, shifts closed but not handed over, money held outside any
/// handover), handover differences not yet approved, negative cash
/// balances, voids and refunds not yet carried out.
pub fn day_close_blockers(
    shifts: &[Shift],
    holdings: &[CashHolding],
    reversals: &[Reversal],
    differences: &[HandoverDifference],
) -> Vec<String> {
    let mut out = Vec::new();
    for s in shifts {
        match s.status.as_str() {
            "open" => out.push(format!(
                "cash still out: {}'s shift {} is open",
                s.collector_name, s.id
            )),
            "closed" => out.push(format!(
                "cash still out: {}'s shift {} is closed but not handed over",
                s.collector_name, s.id
            )),
            _ => {}
        }
    }
    for h in holdings {
        if h.amount.0 < 0 {
            out.push(format!(
                "negative balance: {} holds {} (voids exceed takings)",
                h.name, h.amount
            ));
        } else if !shifts
            .iter()
            .any(|s| s.collector_id == h.user_id && s.status != "handed_over")
        {
            out.push(format!(
                "cash still out: {} holds {} outside any shift",
                h.name, h.amount
            ));
        }
    }
    for d in differences.iter().filter(|d| d.status == "pending") {
        let answer = match d.response.as_deref() {
            None => "the collector has not acknowledged it",
            Some("dispute") => "the collector disputes it",
            Some(_) => "acknowledged, waiting for approval",
        };
        out.push(format!(
            "unapproved handover difference: {} on {}'s shift {} (expected {}, counted {}; {answer})",
            d.difference(),
            d.collector_name,
            d.shift_id,
            d.expected,
            d.counted
        ));
    }
    for r in reversals {
        if r.status == "requested" || r.status == "approved" {
            out.push(format!(
                "{} {} of payment {} is {}",
                r.kind, r.id, r.payment_id, r.status
            ));
        }
    }
    out
}

/// The ledger check of one estate (or all).
pub async fn ledger_report(app: &App, estate_id: Option<i64>) -> AppResult<LedgerReport> {
    Ok(check_ledger(app.store.as_ref(), estate_id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(user_id: i64, fen: i64) -> CashHolding {
        CashHolding {
            user_id,
            name: format!("收费员{user_id}"),
            amount: Fen(fen),
            oldest_at: None,
        }
    }

    #[test]
    fn negative_balances_and_cash_outside_shifts_block_the_day() {
        let open = day_close_blockers(&[], &[held(1, -500), held(2, 700)], &[], &[]);
        assert_eq!(open.len(), 2, "{open:?}");
        assert!(open[0].contains("negative balance") && open[0].contains("收费员1"));
        assert!(open[1].contains("cash still out") && open[1].contains("收费员2"));
        assert!(day_close_blockers(&[], &[], &[], &[]).is_empty());
    }

    #[test]
    fn unapproved_differences_block_the_day_and_approved_ones_do_not() {
        let mut d = HandoverDifference {
            shift_id: 7,
            estate_id: 1,
            collector_id: 3,
            collector_name: "收费员3".into(),
            counted_by: 2,
            expected: Fen(391_724),
            counted: Fen(390_000),
            reason: "少17.24元".into(),
            entry_id: 9,
            created_at: 0,
            status: "pending".into(),
            response: None,
            response_note: String::new(),
            responded_at: None,
            offset: Fen(0),
            approved_by: None,
            approved_at: None,
            approval_entry_id: None,
        };
        let open = day_close_blockers(&[], &[], &[], std::slice::from_ref(&d));
        assert_eq!(open.len(), 1, "{open:?}");
        assert!(
            open[0].contains("unapproved handover difference")
                && open[0].contains("shift 7")
                && open[0].contains("¥-17.24")
                && open[0].contains("not acknowledged"),
            "{open:?}"
        );
        d.status = "approved".into();
        assert!(day_close_blockers(&[], &[], &[], &[d]).is_empty());
    }
}
