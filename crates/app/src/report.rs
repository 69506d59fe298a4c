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

/// Visit figures as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitRow {
    /// Who (the estate, or a collector).
    pub name: String,
    /// Visits made.
    pub visits: i64,
    /// Share at night (slot from 19:00).
    pub night: Rate,
    /// Share at weekends and holidays.
    pub weekend: Rate,
    /// Arrived within the booked slot.
    pub on_time: Rate,
    /// Average minutes from check-in to the outcome.
    pub average_minutes: Option<i64>,
    /// Visits per collector per session (evening), as a ratio.
    pub per_session: Rate,
    /// Households served per collector per month, as a ratio.
    pub households_per_collector_month: Rate,
}

fn visit_row(name: String, f: &doorstep_domain::report::VisitFigures) -> VisitRow {
    VisitRow {
        name,
        visits: f.visits,
        night: f.night.into(),
        weekend: f.weekend.into(),
        on_time: f.on_time.into(),
        average_minutes: f.average_minutes(),
        per_session: f.per_session.into(),
        households_per_collector_month: f.households_per_collector_month.into(),
    }
}

/// The visit report of an estate for days `from..=to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VisitReport {
    /// Estate code.
    pub estate: String,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Everyone.
    pub total: VisitRow,
    /// Per collector.
    pub by_collector: Vec<VisitRow>,
}

impl App {
    /// Night and weekend share, on-time arrivals, minutes per visit, visits
    /// per session and households per collector-month, from the bookings
    /// with an outcome and their check-ins.
    pub async fn visit_report(
        &self,
        user: &User,
        code: &str,
        from: &str,
        to: &str,
    ) -> AppResult<VisitReport> {
        let estate = self.estate_for(user, code, Permission::ReadBills).await?;
        let from = parse_date("from", from)?;
        let to = parse_date("to", to)?;
        if to < from {
            return Err(
                doorstep_domain::DomainError::invalid("to", "must not be before from").into(),
            );
        }
        let tz = crate::estate_tz(&estate);
        let rows = self
            .store
            .visit_rows(estate.id, &from.to_string(), &to.to_string())
            .await?;
        // Holidays count with weekends; make-up working days do not.
        let rules = self.store.day_rules(estate.id, from, to).await?;
        let rule_of = |d: jiff::civil::Date| {
            rules
                .iter()
                .find(|(day, _, _)| *day == d)
                .map(|(_, r, _)| r.clone())
        };
        let local = |t: i64| {
            jiff::Timestamp::from_second(t)
                .ok()
                .map(|x| x.to_zoned(tz.clone()).datetime())
        };
        let facts: Vec<(String, doorstep_domain::report::VisitFacts)> = rows
            .iter()
            .filter_map(|r| {
                let day: jiff::civil::Date = r.day.parse().ok()?;
                let start: jiff::civil::Time = r.slot_start.parse().ok()?;
                let end: jiff::civil::Time = r.slot_end.parse().ok()?;
                Some((
                    r.collector.clone(),
                    doorstep_domain::report::VisitFacts {
                        collector_id: r.collector_id,
                        slot_start: day.to_datetime(start),
                        slot_end: day.to_datetime(end),
                        arrived: r.arrived_at.and_then(local),
                        finished: r.finished_at.and_then(local),
                        households: r.households,
                        holiday: matches!(rule_of(day), Some(doorstep_domain::DayRule::Holiday)),
                        workday: matches!(rule_of(day), Some(doorstep_domain::DayRule::Workday)),
                    },
                ))
            })
            .collect();
        let all: Vec<_> = facts.iter().map(|(_, f)| f.clone()).collect();
        let mut by: BTreeMap<String, Vec<doorstep_domain::report::VisitFacts>> = BTreeMap::new();
        for (name, f) in facts {
            by.entry(name).or_default().push(f);
        }
        Ok(VisitReport {
            estate: estate.code.clone(),
            from: from.to_string(),
            to: to.to_string(),
            total: visit_row(
                estate.name.clone(),
                &doorstep_domain::report::visit_figures(&all),
            ),
            by_collector: by
                .into_iter()
                .map(|(n, v)| visit_row(n, &doorstep_domain::report::visit_figures(&v)))
                .collect(),
        })
    }
}

/// Column headers of the visit report export.
pub const VISIT_HEADERS: [&str; 8] = [
    "收费员",
    "上门次数",
    "晚间占比",
    "周末节假日占比",
    "准时到达率",
    "平均每户分钟",
    "每班次上门数",
    "每人每月服务户数",
];

/// The visit report as an .xlsx workbook with Chinese headers.
pub fn visit_xlsx(r: &VisitReport) -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let x = |e: rust_xlsxwriter::XlsxError| crate::AppError::Storage(format!("writing xlsx: {e}"));
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    sheet.set_name("上门统计").map_err(x)?;
    let bold = Format::new().set_bold();
    let ratio = |r: &Rate| -> f64 {
        if r.receivable > 0 {
            r.received as f64 / r.receivable as f64
        } else {
            0.0
        }
    };
    sheet
        .write_string_with_format(
            0,
            0,
            format!("{} 上门统计 {} ~ {}", r.total.name, r.from, r.to),
            &bold,
        )
        .map_err(x)?;
    for (c, h) in VISIT_HEADERS.iter().enumerate() {
        sheet
            .write_string_with_format(1, c as u16, *h, &bold)
            .map_err(x)?;
    }
    let two = Format::new().set_num_format("0.00");
    let rows = std::iter::once(&r.total).chain(r.by_collector.iter());
    for (row, v) in (2u32..).zip(rows) {
        sheet.write_string(row, 0, &v.name).map_err(x)?;
        sheet.write_number(row, 1, v.visits as f64).map_err(x)?;
        sheet.write_string(row, 2, &v.night.percent).map_err(x)?;
        sheet.write_string(row, 3, &v.weekend.percent).map_err(x)?;
        sheet.write_string(row, 4, &v.on_time.percent).map_err(x)?;
        match v.average_minutes {
            Some(m) => sheet.write_number(row, 5, m as f64).map_err(x)?,
            None => sheet.write_string(row, 5, "—").map_err(x)?,
        };
        sheet
            .write_number_with_format(row, 6, ratio(&v.per_session), &two)
            .map_err(x)?;
        sheet
            .write_number_with_format(row, 7, ratio(&v.households_per_collector_month), &two)
            .map_err(x)?;
    }
    sheet.set_column_width(0, 20).map_err(x)?;
    wb.save_to_buffer().map_err(x)
}
