//! The billing run: compute a period's lines in the domain, insert them in
//! chunks; the database's unique key makes reruns create nothing twice.

use crate::{App, AppResult, now};
use doorstep_domain::{BillTarget, NewLine, Period, lines_for_period};
use doorstep_store::{BillingRunRecord, Estate, User};
use serde::Serialize;

/// Lines inserted per transaction; progress is reported between chunks.
const CHUNK: usize = 20_000;

/// What a billing run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BillingSummary {
    /// Estate code.
    pub estate: String,
    /// Period.
    pub period: Period,
    /// Lines created now.
    pub created: u64,
    /// Lines that already existed.
    pub existing: u64,
}

/// Every line the estate's active items yield for `period`.
pub fn compute_lines(inputs: &doorstep_store::BillingInputs, period: Period) -> Vec<NewLine> {
    let mut lines = Vec::new();
    for item in &inputs.items {
        if item.spec.basis == doorstep_domain::Basis::Entered {
            let targets: Vec<BillTarget> = inputs
                .targets
                .iter()
                .filter_map(|t| {
                    inputs.entered.get(&(item.id, t.id)).map(|a| BillTarget {
                        entered: Some(*a),
                        ..t.clone()
                    })
                })
                .collect();
            lines.extend(lines_for_period(item.id, &item.spec, period, &targets));
        } else {
            lines.extend(lines_for_period(
                item.id,
                &item.spec,
                period,
                &inputs.targets,
            ));
        }
    }
    lines
}

impl App {
    /// Runs billing for `period`, calling `progress(done, total)` between chunks.
    pub async fn run_billing(
        &self,
        estate: &Estate,
        period: Period,
        user: Option<&User>,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> AppResult<BillingSummary> {
        let started_at = now();
        let inputs = self.store.billing_inputs(estate.id, period).await?;
        let lines = compute_lines(&inputs, period);
        let total = lines.len() as u64;
        let mut created = 0;
        let mut done = 0;
        progress(0, total);
        for chunk in lines.chunks(CHUNK) {
            created += self
                .store
                .insert_bill_lines(estate.id, chunk, now())
                .await?;
            done += chunk.len() as u64;
            progress(done, total);
        }
        let existing = total - created;
        self.store
            .record_billing_run(&BillingRunRecord {
                estate_id: estate.id,
                period,
                created,
                existing,
                started_at,
                finished_at: now(),
                user_id: user.map(|u| u.id),
            })
            .await?;
        tracing::info!(estate = %estate.code, %period, created, existing, "billing run");
        Ok(BillingSummary {
            estate: estate.code.clone(),
            period,
            created,
            existing,
        })
    }
}
