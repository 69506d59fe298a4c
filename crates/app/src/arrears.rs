//! Arrears: every owed line with its late fee as of a date, and how it was computed.

use crate::{App, AppResult};
use doorstep_domain::{Category, Date, Fen, Lang, LateFeeCalc, ObjectKind, Period};
use doorstep_store::{BillLine, Estate, LineQuery, LineStatus};
use serde::Serialize;

/// One owed bill line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArrearsRow {
    /// Bill line id.
    pub line_id: i64,
    /// Room or space.
    pub object_kind: ObjectKind,
    /// Its id.
    pub object_id: i64,
    /// `3号楼202室`.
    pub object: String,
    /// Owners' names.
    pub owners: Vec<String>,
    /// Owners' phones.
    pub phones: Vec<String>,
    /// Fee item name.
    pub fee_item: String,
    /// Category.
    pub category: Category,
    /// Period.
    pub period: Period,
    /// Due date.
    pub due_date: Date,
    /// Line amount (fen).
    pub amount: Fen,
    /// Principal paid (fen).
    pub paid: Fen,
    /// Principal still owed (fen).
    pub principal_owed: Fen,
    /// Days past the due date as of the date asked.
    pub days_overdue: i64,
    /// Late fee, if the item has one.
    pub late_fee: Option<LateFeeCalc>,
    /// Late fee still owed (fen).
    pub late_fee_owed: Fen,
    /// The calculation in words (Chinese).
    pub late_fee_text: String,
    /// The calculation in words (English).
    pub late_fee_text_en: String,
    /// principal_owed + late_fee_owed.
    pub total_owed: Fen,
    /// Status.
    pub status: LineStatus,
    /// Disputed (accrual stopped).
    pub disputed: bool,
    /// Late-fee waiver: reason, who, when.
    pub late_fee_waived: Option<doorstep_store::Waiver>,
}

/// Arrears of an estate as of a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Arrears {
    /// Estate code.
    pub estate: String,
    /// As of.
    pub as_of: Date,
    /// Lines, oldest first.
    pub rows: Vec<ArrearsRow>,
    /// Sum of principal owed.
    pub principal_owed: Fen,
    /// Sum of late fees owed.
    pub late_fee_owed: Fen,
    /// Sum of both.
    pub total_owed: Fen,
}

impl ArrearsRow {
    /// The row for `line` as of `as_of`.
    pub fn of(line: &BillLine, as_of: Date) -> ArrearsRow {
        let late_fee = line.late_fee(as_of);
        let late_fee_owed = late_fee
            .as_ref()
            .map(|c| c.outstanding)
            .unwrap_or(Fen::ZERO);
        let principal_owed = line.principal_outstanding();
        ArrearsRow {
            line_id: line.id,
            object_kind: line.object_kind,
            object_id: line.object_id,
            object: line.object_label.clone(),
            owners: line.owners.clone(),
            phones: line.phones.clone(),
            fee_item: line.fee_item_name.clone(),
            category: line.category,
            period: line.period,
            due_date: line.due_date,
            amount: line.amount,
            paid: line.paid_principal,
            principal_owed,
            days_overdue: doorstep_domain::latefee::days_between(line.due_date, as_of).max(0),
            late_fee_text: late_fee
                .as_ref()
                .map(|c| c.describe(Lang::Zh))
                .unwrap_or_default(),
            late_fee_text_en: late_fee
                .as_ref()
                .map(|c| c.describe(Lang::En))
                .unwrap_or_default(),
            late_fee,
            late_fee_owed,
            total_owed: principal_owed + late_fee_owed,
            status: line.status,
            disputed: line.disputed_since.is_some(),
            late_fee_waived: line.late_fee_waiver.clone(),
        }
    }
}

impl App {
    /// Every line still owed in `estate` that fell due on or before `as_of`,
    /// with late fees as of that date. `filter` narrows by room/space label or owner.
    pub async fn arrears(&self, estate: &Estate, as_of: Date, filter: &str) -> AppResult<Arrears> {
        let lines = self
            .store
            .bill_lines(&LineQuery {
                estate_id: estate.id,
                open_only: true,
                ..Default::default()
            })
            .await?;
        let f = filter.trim();
        let rows: Vec<ArrearsRow> = lines
            .iter()
            .filter(|l| l.due_date <= as_of)
            .filter(|l| {
                f.is_empty()
                    || l.object_label.contains(f)
                    || l.owners.iter().any(|o| o.contains(f))
                    || l.phones.iter().any(|p| p.contains(f))
            })
            .map(|l| ArrearsRow::of(l, as_of))
            .filter(|r| r.total_owed.0 > 0)
            .collect();
        let principal_owed = rows.iter().map(|r| r.principal_owed).sum();
        let late_fee_owed = rows.iter().map(|r| r.late_fee_owed).sum();
        Ok(Arrears {
            estate: estate.code.clone(),
            as_of,
            principal_owed,
            late_fee_owed,
            total_owed: principal_owed + late_fee_owed,
            rows,
        })
    }
}
