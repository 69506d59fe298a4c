//! Management reports (issue 7): the collection rate (收缴率) by estate,
//! building and fee item and across a company, current period and arrears
//! kept apart, computed with [`doorstep_domain::report`] from the running
//! totals the database keeps with every line and payment; the trend, the
//! previous period, and cash, custody and dispute figures.

use crate::{App, AppResult, parse_date, today};
use doorstep_domain::report::{Collection, Ratio, Totals, collection_from_totals};
use doorstep_domain::{Date, Period, Permission};
use doorstep_store::{DIM_BUILDING, DIM_ESTATE, DIM_ITEM, ReportScope, TotalRow, User};
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

/// One period of a trend: its figures as of its last day (or today).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrendPoint {
    /// Period.
    pub period: String,
    /// As of this day.
    pub as_of: String,
    /// This period's bills.
    pub current: Rate,
    /// Arrears collected in the period.
    pub arrears: Rate,
    /// Both together.
    pub overall: Rate,
}

/// Cash, custody, reconciliation and disputes, now and in the period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Operations {
    /// Cash held by collectors now (fen); none without the treasury right.
    pub cash_held: Option<i64>,
    /// Collectors holding cash now.
    pub collectors_holding: Option<i64>,
    /// Shifts closed and waiting for their handover.
    pub handovers_pending: Option<i64>,
    /// Open mismatches of the latest reconciliation of each merchant account.
    pub mismatches_open: i64,
    /// Disputes and complaints opened in the period.
    pub disputes_opened: i64,
    /// Closed in the period.
    pub disputes_closed: i64,
    /// Open now.
    pub disputes_open: i64,
}

impl Operations {
    fn add(&mut self, o: &Operations) {
        let sum = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(x), Some(y)) => Some(x + y),
            (x, None) | (None, x) => x,
        };
        self.cash_held = sum(self.cash_held, o.cash_held);
        self.collectors_holding = sum(self.collectors_holding, o.collectors_holding);
        self.handovers_pending = sum(self.handovers_pending, o.handovers_pending);
        self.mismatches_open += o.mismatches_open;
        self.disputes_opened += o.disputes_opened;
        self.disputes_closed += o.disputes_closed;
        self.disputes_open += o.disputes_open;
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
    /// The previous period as of its last day, for comparison.
    pub previous: Option<CollectionRow>,
    /// By building (parking spaces as 车位).
    pub by_building: Vec<CollectionRow>,
    /// By fee item.
    pub by_item: Vec<CollectionRow>,
    /// The estate's last twelve periods up to this one (those with bills).
    pub trend: Vec<TrendPoint>,
    /// Cash held, handovers, mismatches and disputes.
    pub operations: Operations,
}

/// One estate in the company report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EstateFigures {
    /// Estate code.
    pub code: String,
    /// Its collection figures (name = the estate's name).
    #[serde(flatten)]
    pub collection: CollectionRow,
    /// Its previous period.
    pub previous: Option<CollectionRow>,
    /// Its cash, custody and disputes.
    pub operations: Operations,
}

/// The company-wide report: every estate the user may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompanyReport {
    /// Company name.
    pub company: String,
    /// Period.
    pub period: String,
    /// As of this day.
    pub as_of: String,
    /// All estates together.
    pub total: CollectionRow,
    /// The previous period, all estates together.
    pub previous: Option<CollectionRow>,
    /// Each estate, lowest overall rate first.
    pub by_estate: Vec<EstateFigures>,
    /// The last twelve periods, all estates together.
    pub trend: Vec<TrendPoint>,
    /// Cash, custody and disputes, all estates together.
    pub operations: Operations,
}

/// Running totals per (estate, dimension, key).
type Groups = BTreeMap<(i64, i64, i64), Totals>;

fn group_totals(rows: &[TotalRow]) -> Groups {
    let mut g = Groups::new();
    for r in rows {
        let Ok(period) = Period::parse(&r.period) else {
            continue;
        };
        let t = g.entry((r.estate_id, r.dim, r.key)).or_default();
        match r.paid_month.as_deref().map(Period::parse) {
            None => t.add_due(period, r.fen),
            Some(Ok(month)) => t.add_paid(period, month, r.fen),
            Some(Err(_)) => {}
        }
    }
    g
}

/// Totals as of `as_of`: what was paid after it (same month) taken out.
fn with_after(base: &Groups, after: &[TotalRow]) -> Groups {
    let mut g = base.clone();
    for r in after {
        if let Ok(period) = Period::parse(&r.period) {
            g.entry((r.estate_id, r.dim, r.key))
                .or_default()
                .add_after(period, r.fen);
        }
    }
    g
}

fn sum_groups<'a>(
    groups: impl Iterator<Item = &'a Totals>,
    period: Period,
    as_of: Date,
) -> Collection {
    let mut c = Collection::default();
    for t in groups {
        c.add(&collection_from_totals(t, period, as_of));
    }
    c
}

/// The as-of day of `period`: the day asked for, else today or the
/// period's last day if that is earlier.
fn resolve_as_of(as_of: Option<&str>, period: Period, today: Date) -> AppResult<Date> {
    Ok(match as_of.filter(|s| !s.trim().is_empty()) {
        Some(s) => parse_date("as_of", s)?,
        None => today.min(period.day(31)),
    })
}

/// Figures for a scope: totals fetched once, then any period as of any day
/// (a day that is neither today nor a month's last needs one more query).
struct Figures {
    base: Groups,
    today: Date,
    at_today: Groups,
    asked: Option<(Date, Groups)>,
}

impl Figures {
    async fn load(app: &App, scope: ReportScope, today: Date, as_of: Date) -> AppResult<Figures> {
        let rows = app.store.report_totals(scope).await?;
        let base = group_totals(&rows);
        let end = |d: Date| Period::of(d).day(31).to_string();
        let after_today = app
            .store
            .report_paid_between(scope, &today.to_string(), &end(today))
            .await?;
        let at_today = with_after(&base, &after_today);
        let asked = if as_of != today && as_of != Period::of(as_of).day(31) {
            let after = app
                .store
                .report_paid_between(scope, &as_of.to_string(), &end(as_of))
                .await?;
            Some((as_of, with_after(&base, &after)))
        } else {
            None
        };
        Ok(Figures {
            base,
            today,
            at_today,
            asked,
        })
    }

    fn groups(&self, as_of: Date) -> &Groups {
        match &self.asked {
            Some((d, g)) if *d == as_of => g,
            _ if as_of == self.today => &self.at_today,
            _ => &self.base,
        }
    }

    /// The figures of `period` as of `as_of` over the groups `keep` picks.
    fn collection(
        &self,
        period: Period,
        as_of: Date,
        keep: impl Fn(&(i64, i64, i64)) -> bool,
    ) -> Collection {
        sum_groups(
            self.groups(as_of)
                .iter()
                .filter(|(k, _)| keep(k))
                .map(|(_, t)| t),
            period,
            as_of,
        )
    }

    /// Each period's figures as of its last day (today for this month),
    /// the twelve up to `period`, those with anything due.
    fn trend(&self, period: Period, keep: impl Fn(&(i64, i64, i64)) -> bool) -> Vec<TrendPoint> {
        let mut periods = vec![period];
        for _ in 0..11 {
            let p = periods[periods.len() - 1].prev();
            periods.push(p);
        }
        periods.reverse();
        periods
            .into_iter()
            .filter(|p| p.first_day() <= self.today)
            .map(|p| {
                let as_of = self.today.min(p.day(31));
                let c = self.collection(p, as_of, &keep);
                TrendPoint {
                    period: p.to_string(),
                    as_of: as_of.to_string(),
                    current: c.current.into(),
                    arrears: c.arrears.into(),
                    overall: c.overall().into(),
                }
            })
            .filter(|t| t.current.receivable > 0 || t.arrears.receivable > 0)
            .collect()
    }

    /// The period before, as of its last day.
    fn previous(
        &self,
        name: &str,
        period: Period,
        keep: impl Fn(&(i64, i64, i64)) -> bool,
    ) -> Option<CollectionRow> {
        let p = period.prev();
        let as_of = self.today.min(p.day(31));
        let c = self.collection(p, as_of, keep);
        (c.current.den > 0 || c.arrears.den > 0).then(|| row(name.to_string(), &c))
    }
}

impl App {
    /// The collection rate of `period` as of `as_of` (default: today, or the
    /// period's last day if that is earlier), with the previous period, a
    /// twelve-period trend, and cash, custody and dispute figures. Read
    /// from the running totals the database keeps, so it costs the same for
    /// an estate of 50 rooms or 50,000.
    pub async fn collection_report(
        &self,
        user: &User,
        code: &str,
        period: &str,
        as_of: Option<&str>,
    ) -> AppResult<CollectionReport> {
        let estate = self.estate_for(user, code, Permission::ReadBills).await?;
        let period = Period::parse(period)?;
        let today = today(&estate);
        let as_of = resolve_as_of(as_of, period, today)?;
        let f = Figures::load(self, ReportScope::Estate(estate.id), today, as_of).await?;
        let buildings: BTreeMap<i64, String> = self
            .store
            .list_buildings(estate.id)
            .await?
            .into_iter()
            .map(|b| (b.id, b.name))
            .collect();
        let items: BTreeMap<i64, String> = self
            .store
            .list_fee_items(estate.id)
            .await?
            .into_iter()
            .map(|i| (i.id, i.spec.name))
            .collect();
        let group = |dim: i64, name: &dyn Fn(i64) -> String| {
            let mut rows: Vec<CollectionRow> = f
                .groups(as_of)
                .iter()
                .filter(|((_, d, _), _)| *d == dim)
                .map(|((_, _, key), t)| row(name(*key), &collection_from_totals(t, period, as_of)))
                .filter(|r| r.current.receivable > 0 || r.arrears.receivable > 0)
                .collect();
            rows.sort_by(|a, b| a.name.cmp(&b.name));
            rows
        };
        let by_building = group(DIM_BUILDING, &|k| {
            if k == 0 {
                "车位".to_string()
            } else {
                buildings
                    .get(&k)
                    .cloned()
                    .unwrap_or_else(|| format!("#{k}"))
            }
        });
        let by_item = group(DIM_ITEM, &|k| {
            items.get(&k).cloned().unwrap_or_else(|| format!("#{k}"))
        });
        let whole = |k: &(i64, i64, i64)| k.1 == DIM_ESTATE;
        let ops = self
            .operations(user, ReportScope::Estate(estate.id), &estate, period)
            .await?;
        Ok(CollectionReport {
            estate: estate.code.clone(),
            period: period.to_string(),
            as_of: as_of.to_string(),
            total: row(estate.name.clone(), &f.collection(period, as_of, whole)),
            previous: f.previous(&estate.name, period, whole),
            by_building,
            by_item,
            trend: f.trend(period, whole),
            operations: ops.into_iter().next().map(|(_, o)| o).unwrap_or_default(),
        })
    }

    /// The company-wide report of `period`: every estate the user may see,
    /// all together and one by one, with the trend and the previous period.
    pub async fn company_report(
        &self,
        user: &User,
        period: &str,
        as_of: Option<&str>,
    ) -> AppResult<CompanyReport> {
        crate::require(user, Permission::ReadBills)?;
        let period = Period::parse(period)?;
        let company = self.store.company(user.company_id).await?;
        let estates: Vec<_> = self
            .store
            .list_estates(user.company_id)
            .await?
            .into_iter()
            .filter(|e| user.can_access(e))
            .collect();
        // One company, one clock: the first estate's time zone.
        let today = estates.first().map(today).unwrap_or_else(|| {
            jiff::Zoned::now()
                .with_time_zone(jiff::tz::TimeZone::UTC)
                .date()
        });
        let as_of = resolve_as_of(as_of, period, today)?;
        let scope = ReportScope::Company(user.company_id);
        let f = Figures::load(self, scope, today, as_of).await?;
        let visible: std::collections::BTreeSet<i64> = estates.iter().map(|e| e.id).collect();
        let ops: BTreeMap<i64, Operations> = match estates.first() {
            Some(e) => self
                .operations(user, scope, e, period)
                .await?
                .into_iter()
                .collect(),
            None => BTreeMap::new(),
        };
        let mut by_estate: Vec<EstateFigures> = estates
            .iter()
            .map(|e| {
                let mine = |k: &(i64, i64, i64)| k.0 == e.id && k.1 == DIM_ESTATE;
                EstateFigures {
                    code: e.code.clone(),
                    collection: row(e.name.clone(), &f.collection(period, as_of, mine)),
                    previous: f.previous(&e.name, period, mine),
                    operations: ops.get(&e.id).cloned().unwrap_or_default(),
                }
            })
            .collect();
        by_estate.sort_by(|a, b| {
            let bp = |x: &EstateFigures| x.collection.overall.basis_points.unwrap_or(i64::MAX);
            bp(a).cmp(&bp(b)).then_with(|| a.code.cmp(&b.code))
        });
        let all = |k: &(i64, i64, i64)| k.1 == DIM_ESTATE && visible.contains(&k.0);
        // Each estate's cash figures are already none without the treasury right.
        let mut operations = Operations::default();
        for e in &by_estate {
            operations.add(&e.operations);
        }
        Ok(CompanyReport {
            company: company.name.clone(),
            period: period.to_string(),
            as_of: as_of.to_string(),
            total: row(company.name.clone(), &f.collection(period, as_of, all)),
            previous: f.previous(&company.name, period, all),
            by_estate,
            trend: f.trend(period, all),
            operations,
        })
    }

    /// Cash, custody, reconciliation and dispute figures per estate of a
    /// scope (`tz_of` gives the period's clock); cash only for the
    /// treasury right.
    async fn operations(
        &self,
        user: &User,
        scope: ReportScope,
        tz_of: &doorstep_store::Estate,
        period: Period,
    ) -> AppResult<Vec<(i64, Operations)>> {
        let tz = crate::estate_tz(tz_of);
        let at = |d: Date| {
            d.to_zoned(tz.clone())
                .map(|z| z.timestamp().as_second())
                .unwrap_or(0)
        };
        let rows = self
            .store
            .operations_figures(scope, at(period.first_day()), at(period.next().first_day()))
            .await?;
        // Mismatches of each merchant account's latest reconciliation, by
        // the estate it serves (0: every estate of the company).
        let mut mismatches: BTreeMap<i64, i64> = BTreeMap::new();
        for (scope, n) in self.store.latest_mismatches(tz_of.company_id).await? {
            *mismatches.entry(scope).or_default() += n;
        }
        let cash = user.role.allows(Permission::Treasury);
        let mut shared = mismatches.get(&0).copied().unwrap_or(0);
        Ok(rows
            .into_iter()
            .map(|r| {
                let o = Operations {
                    cash_held: cash.then_some(r.cash_held),
                    collectors_holding: cash.then_some(r.collectors_holding),
                    handovers_pending: cash.then_some(r.handovers_pending),
                    // Company-wide accounts' mismatches are counted once, with the first estate.
                    mismatches_open: mismatches.get(&r.estate_id).copied().unwrap_or(0)
                        + std::mem::take(&mut shared),
                    disputes_opened: r.disputes_opened,
                    disputes_closed: r.disputes_closed,
                    disputes_open: r.disputes_open,
                };
                (r.estate_id, o)
            })
            .collect())
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
    estate_xlsx(r, None)
}

/// An estate's workbook: the collection report (rates, trend, cash and
/// disputes) and, when given, the visit report of the same days.
pub fn estate_xlsx(r: &CollectionReport, visits: Option<&VisitReport>) -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let x = |e: rust_xlsxwriter::XlsxError| crate::AppError::Storage(format!("writing xlsx: {e}"));
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    sheet.set_name("收缴率").map_err(x)?;
    let bold = Format::new().set_bold();
    sheet
        .write_string_with_format(
            0,
            0,
            format!("{} 收缴率 {}（截至 {}）", r.total.name, r.period, r.as_of),
            &bold,
        )
        .map_err(x)?;
    header_row(sheet, 1, &COLLECTION_HEADERS)?;
    let groups = std::iter::once(("小区", &r.total))
        .chain(r.by_building.iter().map(|b| ("楼栋", b)))
        .chain(r.by_item.iter().map(|b| ("收费项目", b)));
    for (row, (dim, g)) in (2u32..).zip(groups) {
        sheet.write_string(row, 0, dim).map_err(x)?;
        sheet.write_string(row, 1, &g.name).map_err(x)?;
        rate_cells(sheet, row, g)?;
    }
    sheet.set_column_width(1, 24).map_err(x)?;
    trend_sheet(&mut wb, &r.trend)?;
    operations_sheet(
        &mut wb,
        &[(r.total.name.as_str(), &r.operations)],
        &r.period,
    )?;
    if let Some(v) = visits {
        visit_sheet(&mut wb, v)?;
    }
    wb.save_to_buffer().map_err(x)
}

fn xerr(e: rust_xlsxwriter::XlsxError) -> crate::AppError {
    crate::AppError::Storage(format!("writing xlsx: {e}"))
}

/// A row of bold headers.
fn header_row(sheet: &mut rust_xlsxwriter::Worksheet, row: u32, headers: &[&str]) -> AppResult<()> {
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, h) in headers.iter().enumerate() {
        sheet
            .write_string_with_format(row, c as u16, *h, &bold)
            .map_err(xerr)?;
    }
    Ok(())
}

/// A group's figures in columns 2–8 of the collection layout: receivable,
/// received and rate of the period, arrears owed, collected and rate, and
/// the overall rate; money as yuan numbers Excel can sum.
fn rate_cells(
    sheet: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    g: &CollectionRow,
) -> AppResult<()> {
    let money = rust_xlsxwriter::Format::new().set_num_format("#,##0.00");
    for (c, v) in [
        (2u16, g.current.receivable),
        (3, g.current.received),
        (5, g.arrears.receivable),
        (6, g.arrears.received),
    ] {
        sheet
            .write_number_with_format(row, c, v as f64 / 100.0, &money)
            .map_err(xerr)?;
    }
    for (c, text) in [
        (4u16, &g.current.percent),
        (7, &g.arrears.percent),
        (8, &g.overall.percent),
    ] {
        sheet.write_string(row, c, text).map_err(xerr)?;
    }
    Ok(())
}

/// Column headers of the trend sheet.
pub const TREND_HEADERS: [&str; 8] = [
    "账期",
    "截至",
    "本期应收(元)",
    "本期实收(元)",
    "本期收缴率",
    "往期收回(元)",
    "清欠率",
    "综合收缴率",
];

fn trend_sheet(wb: &mut rust_xlsxwriter::Workbook, trend: &[TrendPoint]) -> AppResult<()> {
    use rust_xlsxwriter::Format;
    let sheet = wb.add_worksheet();
    sheet.set_name("趋势").map_err(xerr)?;
    let money = Format::new().set_num_format("#,##0.00");
    header_row(sheet, 0, &TREND_HEADERS)?;
    for (row, t) in (1u32..).zip(trend) {
        sheet.write_string(row, 0, &t.period).map_err(xerr)?;
        sheet.write_string(row, 1, &t.as_of).map_err(xerr)?;
        for (c, v) in [
            (2u16, t.current.receivable),
            (3, t.current.received),
            (5, t.arrears.received),
        ] {
            sheet
                .write_number_with_format(row, c, v as f64 / 100.0, &money)
                .map_err(xerr)?;
        }
        sheet
            .write_string(row, 4, &t.current.percent)
            .map_err(xerr)?;
        sheet
            .write_string(row, 6, &t.arrears.percent)
            .map_err(xerr)?;
        sheet
            .write_string(row, 7, &t.overall.percent)
            .map_err(xerr)?;
    }
    sheet.set_column_width(1, 12).map_err(xerr)?;
    Ok(())
}

/// Column headers of the cash and disputes sheet.
pub const OPERATIONS_HEADERS: [&str; 8] = [
    "名称",
    "收费员手上现金(元)",
    "持有现金人数",
    "待交接班次",
    "对账差异(未结)",
    "本期新增争议",
    "本期结案",
    "未结争议",
];

fn operations_sheet(
    wb: &mut rust_xlsxwriter::Workbook,
    rows: &[(&str, &Operations)],
    period: &str,
) -> AppResult<()> {
    use rust_xlsxwriter::Format;
    let sheet = wb.add_worksheet();
    sheet.set_name("资金与争议").map_err(xerr)?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0.00");
    sheet
        .write_string_with_format(
            0,
            0,
            format!("现金与交接为当前数；争议按账期 {period} 统计"),
            &bold,
        )
        .map_err(xerr)?;
    header_row(sheet, 1, &OPERATIONS_HEADERS)?;
    for (row, (name, o)) in (2u32..).zip(rows) {
        sheet.write_string(row, 0, *name).map_err(xerr)?;
        match o.cash_held {
            Some(f) => sheet.write_number_with_format(row, 1, f as f64 / 100.0, &money),
            None => sheet.write_string(row, 1, "—"),
        }
        .map_err(xerr)?;
        for (c, v) in [(2u16, o.collectors_holding), (3, o.handovers_pending)] {
            match v {
                Some(n) => sheet.write_number(row, c, n as f64),
                None => sheet.write_string(row, c, "—"),
            }
            .map_err(xerr)?;
        }
        for (c, v) in [
            (4u16, o.mismatches_open),
            (5, o.disputes_opened),
            (6, o.disputes_closed),
            (7, o.disputes_open),
        ] {
            sheet.write_number(row, c, v as f64).map_err(xerr)?;
        }
    }
    sheet.set_column_width(0, 24).map_err(xerr)?;
    sheet.set_column_width(1, 18).map_err(xerr)?;
    Ok(())
}

/// The company report as an .xlsx workbook: each estate's rates (lowest
/// first) with the previous period, the trend, and cash and disputes.
pub fn company_xlsx(r: &CompanyReport) -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let sheet = wb.add_worksheet();
    sheet.set_name("各小区收缴率").map_err(xerr)?;
    let bold = Format::new().set_bold();
    sheet
        .write_string_with_format(
            0,
            0,
            format!("{} 收缴率 {}（截至 {}）", r.company, r.period, r.as_of),
            &bold,
        )
        .map_err(xerr)?;
    let mut headers = vec!["小区代码"];
    headers.extend(COLLECTION_HEADERS.iter().skip(1));
    headers.push("上期综合收缴率");
    header_row(sheet, 1, &headers)?;
    let rows = std::iter::once(("", &r.total, r.previous.as_ref())).chain(
        r.by_estate
            .iter()
            .map(|e| (e.code.as_str(), &e.collection, e.previous.as_ref())),
    );
    for (row, (code, g, prev)) in (2u32..).zip(rows) {
        sheet.write_string(row, 0, code).map_err(xerr)?;
        sheet.write_string(row, 1, &g.name).map_err(xerr)?;
        rate_cells(sheet, row, g)?;
        sheet
            .write_string(row, 9, prev.map_or("—", |p| p.overall.percent.as_str()))
            .map_err(xerr)?;
    }
    sheet.set_column_width(1, 24).map_err(xerr)?;
    trend_sheet(&mut wb, &r.trend)?;
    let ops: Vec<(&str, &Operations)> = std::iter::once((r.company.as_str(), &r.operations))
        .chain(
            r.by_estate
                .iter()
                .map(|e| (e.collection.name.as_str(), &e.operations)),
        )
        .collect();
    operations_sheet(&mut wb, &ops, &r.period)?;
    wb.save_to_buffer().map_err(xerr)
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
    let mut wb = rust_xlsxwriter::Workbook::new();
    visit_sheet(&mut wb, r)?;
    wb.save_to_buffer().map_err(xerr)
}

fn visit_sheet(wb: &mut rust_xlsxwriter::Workbook, r: &VisitReport) -> AppResult<()> {
    use rust_xlsxwriter::Format;
    let x = xerr;
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
    Ok(())
}
