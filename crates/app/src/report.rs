//! Management reports (issue 7): the collection rate (收缴率) by estate,
//! building and fee item, current period and arrears kept apart, computed
//! with [`doorstep_domain::report`] from the bill lines and their posted
//! payments.

use crate::{App, AppResult, parse_date, today};
use doorstep_domain::report::{Collection, LineFacts, Ratio, collection};
use doorstep_domain::{Period, Permission};
use doorstep_store::User;
use serde::Serialize;
use std::collections::BTreeMap;

/// A ratio as shown: the parts in fen, the rate in basis points and words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rate {
    /// Collected (fen).
    pub received: i64,
    /// Due (fen).
    pub receivable: i64,
    /// Basis points, when anything was due.
    pub basis_points: Option<i64>,
    /// `87.50%` or `—`.
    pub percent: String,
}

impl From<Ratio> for Rate {
    fn from(r: Ratio) -> Self {
        Rate {
            received: r.num,
            receivable: r.den,
            basis_points: r.basis_points(),
            percent: r.percent(),
        }
    }
}

/// One group's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionRow {
    /// The group (estate, building, fee item).
    pub name: String,
    /// This period's bills.
    pub current: Rate,
    /// Arrears collected in the period.
    pub arrears: Rate,
    /// Both together.
    pub overall: Rate,
}

fn row(name: String, c: &Collection) -> CollectionRow {
    CollectionRow {
        name,
        current: c.current.into(),
        arrears: c.arrears.into(),
        overall: c.overall().into(),
    }
}

/// The collection report of one estate and period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionReport {
    /// Estate code.
    pub estate: String,
    /// Period.
    pub period: String,
    /// As of this day.
    pub as_of: String,
    /// The whole estate.
    pub total: CollectionRow,
    /// By building (parking spaces as 车位).
    pub by_building: Vec<CollectionRow>,
    /// By fee item.
    pub by_item: Vec<CollectionRow>,
}

impl App {
    /// The collection rate of `period` as of `as_of` (default: today, or the
    /// period's last day if that is earlier).
    pub async fn collection_report(
        &self,
        user: &User,
        code: &str,
        period: &str,
        as_of: Option<&str>,
    ) -> AppResult<CollectionReport> {
        let estate = self.estate_for(user, code, Permission::ReadBills).await?;
        let period = Period::parse(period)?;
        let as_of = match as_of.filter(|s| !s.trim().is_empty()) {
            Some(s) => parse_date("as_of", s)?,
            None => {
                let t = today(&estate);
                let end = period.day(31);
                if t < end { t } else { end }
            }
        };
        let lines = self
            .store
            .report_lines(estate.id, &period.to_string())
            .await?;
        let mut total = Vec::with_capacity(lines.len());
        let mut by_building: BTreeMap<String, Vec<LineFacts>> = BTreeMap::new();
        let mut by_item: BTreeMap<String, Vec<LineFacts>> = BTreeMap::new();
        for l in &lines {
            let Ok(p) = Period::parse(&l.period) else {
                continue;
            };
            let f = LineFacts {
                period: p,
                amount: l.amount,
                waived: l.waived,
                paid: l.paid.clone(),
            };
            by_building
                .entry(l.building.clone().unwrap_or_else(|| "车位".into()))
                .or_default()
                .push(f.clone());
            by_item.entry(l.item.clone()).or_default().push(f.clone());
            total.push(f);
        }
        let group = |m: BTreeMap<String, Vec<LineFacts>>| {
            m.into_iter()
                .map(|(k, v)| row(k, &collection(&v, period, as_of)))
                .filter(|r| r.current.receivable > 0 || r.arrears.receivable > 0)
                .collect::<Vec<_>>()
        };
        Ok(CollectionReport {
            estate: estate.code.clone(),
            period: period.to_string(),
            as_of: as_of.to_string(),
            total: row(estate.name.clone(), &collection(&total, period, as_of)),
            by_building: group(by_building),
            by_item: group(by_item),
        })
    }
}

/// Column headers of the collection report export.
pub const COLLECTION_HEADERS: [&str; 9] = [
    "维度",
    "名称",
    "本期应收(元)",
    "本期实收(元)",
    "本期收缴率",
    "往期欠费(元)",
    "往期收回(元)",
    "清欠率",
    "综合收缴率",
];

/// The collection report as an .xlsx workbook with Chinese headers; money
/// as numbers Excel can sum.
pub fn collection_xlsx(r: &CollectionReport) -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let x = |e: rust_xlsxwriter::XlsxError| crate::AppError::Storage(format!("writing xlsx: {e}"));
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    sheet.set_name("收缴率").map_err(x)?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    sheet
        .write_string_with_format(
            0,
            0,
            format!("{} 收缴率 {}（截至 {}）", r.total.name, r.period, r.as_of),
            &bold,
        )
        .map_err(x)?;
    for (c, h) in COLLECTION_HEADERS.iter().enumerate() {
        sheet
            .write_string_with_format(1, c as u16, *h, &bold)
            .map_err(x)?;
    }
    let groups = std::iter::once(("小区", &r.total))
        .chain(r.by_building.iter().map(|b| ("楼栋", b)))
        .chain(r.by_item.iter().map(|b| ("收费项目", b)));
    for (row, (dim, g)) in (2u32..).zip(groups) {
        sheet.write_string(row, 0, dim).map_err(x)?;
        sheet.write_string(row, 1, &g.name).map_err(x)?;
        for (c, v) in [
            (2u16, g.current.receivable),
            (3, g.current.received),
            (5, g.arrears.receivable),
            (6, g.arrears.received),
        ] {
            sheet
                .write_number_with_format(row, c, v as f64 / 100.0, &money)
                .map_err(x)?;
        }
        sheet.write_string(row, 4, &g.current.percent).map_err(x)?;
        sheet.write_string(row, 7, &g.arrears.percent).map_err(x)?;
        sheet.write_string(row, 8, &g.overall.percent).map_err(x)?;
    }
    sheet.set_column_width(1, 24).map_err(x)?;
    wb.save_to_buffer().map_err(x)
}
