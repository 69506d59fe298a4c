//! The management dashboards (issue 7): for an estate, the period's
//! collection rate (current period and arrears apart) by building and fee
//! item, against the previous period and over twelve periods, the last 30
//! days' visit figures by collector, cash held now, handovers pending,
//! reconciliation mismatches and disputes; for the company, every estate
//! (lowest rate first) with the same totals. Charts are drawn on the
//! server as SVG (no JavaScript), each with the numbers as text. Every
//! figure comes from the reports (`doorstep_app::report`), which read the
//! running totals the database keeps.

use super::{ConsoleUser, error_page, page};
use crate::ui::Flash;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use doorstep_app::report::Rate;
use doorstep_app::report::{Operations, TrendPoint};
use doorstep_app::{App, AppError, today};
use doorstep_domain::{Fen, Lang, Permission};
use maud::{Markup, html};
use serde::Deserialize;

/// Routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/console/{code}/dashboard", get(dashboard))
        .route("/console/dashboard", get(company_dashboard))
}

#[derive(Deserialize)]
struct DashQuery {
    period: Option<String>,
}

/// Horizontal bars, one per row: label, a bar as wide as the rate (capped
/// at 100%), the rate as text. Readable on a 360 px phone.
fn bars(l: Lang, title: &str, rows: &[(String, Option<i64>, String)]) -> Markup {
    let h = 28 * rows.len().max(1) as i64 + 8;
    html! {
        figure.chart {
            figcaption { (title) }
            svg viewBox=(format!("0 0 340 {h}")) width="100%" role="img" aria-label=(title) {
                title { (title) }
                @for (i, (label, bp, text)) in rows.iter().enumerate() {
                    @let y = 4 + 28 * i as i64;
                    @let w = bp.unwrap_or(0).clamp(0, 10_000) * 170 / 10_000;
                    text x="0" y=(y + 17) font-size="12" fill="#111" { (label) }
                    rect x="110" y=(y + 4) width="170" height="16" fill="#e6eaf0" {}
                    rect x="110" y=(y + 4) width=(w) height="16" fill="#0047b3" {}
                    text x="286" y=(y + 17) font-size="12" fill="#111" { (text) }
                }
            }
            @if rows.is_empty() { p.muted { (l.pick("暂无数据", "No data yet")) } }
        }
    }
}

/// A rate against the previous period: `▲ 1.25` percentage points.
fn delta(l: Lang, now: &Rate, before: Option<&Rate>) -> Markup {
    let (Some(a), Some(b)) = (now.basis_points, before.and_then(|p| p.basis_points)) else {
        return html! {};
    };
    let d = a - b;
    let (sign, word) = match d.signum() {
        1 => ("▲", l.pick("较上期升", "up on the previous period")),
        -1 => ("▼", l.pick("较上期降", "down on the previous period")),
        _ => ("＝", l.pick("与上期持平", "as in the previous period")),
    };
    html! {
        span.delta title=(word) aria-label=(format!("{word} {}.{:02}", d.abs() / 100, d.abs() % 100)) {
            " " (sign) (format!("{}.{:02}", d.abs() / 100, d.abs() % 100))
        }
    }
}

/// The overall rate of each period as columns, with the rate under each.
fn trend_chart(l: Lang, title: &str, trend: &[TrendPoint]) -> Markup {
    let n = trend.len().max(1) as i64;
    let w = 340 / n;
    html! {
        figure.chart {
            figcaption { (title) }
            svg viewBox="0 0 340 150" width="100%" role="img" aria-label=(title) {
                title { (title) }
                line x1="0" y1="110" x2="340" y2="110" stroke="#999" {}
                @for (i, t) in trend.iter().enumerate() {
                    @let x = i as i64 * w;
                    @let h = t.overall.basis_points.unwrap_or(0).clamp(0, 10_000) * 100 / 10_000;
                    rect x=(x + 3) y=(110 - h) width=(w - 6) height=(h) fill="#0047b3" {
                        title { (t.period) " " (t.overall.percent) }
                    }
                    text x=(x + w / 2) y="126" font-size="10" text-anchor="middle" fill="#111" { (&t.period[5..]) }
                    text x=(x + w / 2) y="142" font-size="9" text-anchor="middle" fill="#111" {
                        (t.overall.basis_points.map(|b| format!("{}", (b + 50) / 100)).unwrap_or_else(|| "—".into()))
                    }
                }
            }
            @if trend.is_empty() { p.muted { (l.pick("暂无数据", "No data yet")) } }
            p.muted { (l.pick("每期截至期末（本期截至今天）的综合收缴率，%", "Overall rate of each period as of its last day (this period: today), %")) }
        }
    }
}

/// Cash, custody, reconciliation and disputes.
fn operations(l: Lang, o: &Operations) -> Markup {
    html! {
        @if let Some(cash) = o.cash_held {
            p { (l.pick("收费员手上现金", "Cash held by collectors")) ": " strong #cash-held { (Fen(cash).to_string()) }
                " (" (o.collectors_holding.unwrap_or(0)) " " (l.pick("人", "collectors")) ")" }
        }
        @if let Some(h) = o.handovers_pending {
            p { (l.pick("待交接班次", "Handovers pending")) ": " strong #handovers { (h) } }
        }
        p { (l.pick("对账差异（最近一次）", "Reconciliation mismatches (latest)")) ": " strong #mismatches { (o.mismatches_open) } }
        p { (l.pick("本期新增争议/投诉", "Disputes opened this period")) ": " strong #disputes-opened { (o.disputes_opened) }
            " · " (l.pick("本期结案", "closed")) ": " strong #disputes-closed { (o.disputes_closed) }
            " · " (l.pick("未结", "open now")) ": " strong #disputes-open { (o.disputes_open) } }
    }
}

/// The days the daily reconciliation could not run, per merchant account:
/// why (in words) and when it tries again. Nothing when all is well.
fn reconcile_failures(
    l: Lang,
    estate: &doorstep_store::Estate,
    list: &[(
        doorstep_store::Merchant,
        Vec<doorstep_store::ReconcileAttempt>,
    )],
) -> Markup {
    html! {
        @if !list.is_empty() {
            div #reconcile-failures {
                h3 { (l.pick("自动对账未完成", "Daily reconciliation not done")) }
                table {
                    thead { tr {
                        th scope="col" { (l.pick("收款账户", "Merchant account")) }
                        th scope="col" { (l.pick("账单日期", "Bill date")) }
                        th scope="col" { (l.pick("原因", "Reason")) }
                        th scope="col" { (l.pick("已尝试", "Tries")) }
                        th scope="col" { (l.pick("下次自动重试", "Next try")) }
                    } }
                    tbody {
                        @for (m, attempts) in list {
                            @for a in attempts {
                                tr {
                                    td { (match m.provider.as_str() { "wechat" => l.pick("微信支付", "WeChat Pay"), _ => l.pick("支付宝", "Alipay") }) " " (m.merchant_id) }
                                    td { (a.bill_date) }
                                    td {
                                        @if a.reason == "not_ready" { (doorstep_app::pay::reconcile_reason_text(l, &a.reason)) }
                                        @else { strong.err { (doorstep_app::pay::reconcile_reason_text(l, &a.reason)) } }
                                        @if !a.detail.is_empty() { br; small.muted { (a.detail) } }
                                    }
                                    td { (a.attempts) }
                                    td { (crate::ui::at_local(estate, a.next_at)) }
                                }
                            }
                        }
                    }
                }
                p.hint { (l.pick("可在“现金与对账”页面手动对账，立即执行。", "A manual run under Cash and reconciliation runs at once.")) }
            }
        }
    }
}

#[derive(Deserialize)]
struct CompanyQuery {
    period: Option<String>,
}

async fn company_dashboard(
    State(app): State<App>,
    cu: ConsoleUser,
    Query(q): Query<CompanyQuery>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let period = match q.period.filter(|p| !p.trim().is_empty()) {
            Some(p) => p,
            None => {
                let estates = app.store.list_estates(cu.user.company_id).await?;
                let day = estates
                    .iter()
                    .find(|e| cu.user.can_access(e))
                    .map(today)
                    .unwrap_or_else(|| jiff::Zoned::now().date());
                day.to_string()[..7].to_string()
            }
        };
        let rep = app.company_report(&cu.user, &period, None).await?;
        let lowest: Vec<(String, Option<i64>, String)> = rep
            .by_estate
            .iter()
            .take(10)
            .map(|e| (e.collection.name.clone(), e.collection.overall.basis_points, e.collection.overall.percent.clone()))
            .collect();
        let body = html! {
            form method="get" {
                label for="period" { (l.pick("账期", "Period")) " " }
                input #period name="period" value=(period) pattern="[0-9]{4}-[0-9]{2}" size="8";
                " " button type="submit" { (l.pick("查看", "Show")) }
                " " a href=(format!("/c/api/v1/reports/export?period={period}")) { (l.pick("导出 Excel", "Export to Excel")) }
            }
            section #collection {
                h2 { (rep.company) " · " (l.pick("收缴率", "Collection rate")) " " (period) }
                p.muted { (l.pick("截至", "As of")) " " (rep.as_of) " · " (rep.by_estate.len()) " " (l.pick("个小区", "estates")) }
                div.kpis {
                    p { (l.pick("本期", "This period")) ": " strong #rate-current { (rep.total.current.percent) } (delta(l, &rep.total.current, rep.previous.as_ref().map(|p| &p.current))) }
                    p { (l.pick("清欠", "Arrears")) ": " strong #rate-arrears { (rep.total.arrears.percent) } (delta(l, &rep.total.arrears, rep.previous.as_ref().map(|p| &p.arrears))) }
                    p { (l.pick("综合", "Overall")) ": " strong #rate-overall { (rep.total.overall.percent) } (delta(l, &rep.total.overall, rep.previous.as_ref().map(|p| &p.overall))) }
                    p { (l.pick("本期应收", "Due this period")) ": " strong { (Fen(rep.total.current.receivable).to_string()) } }
                    p { (l.pick("本期实收", "Received")) ": " strong { (Fen(rep.total.current.received).to_string()) } }
                }
                (trend_chart(l, l.pick("近十二期综合收缴率", "Overall rate, last twelve periods"), &rep.trend))
                (bars(l, l.pick("收缴率最低的小区（综合）", "Estates with the lowest rate (overall)"), &lowest))
            }
            section #estates {
                h2 { (l.pick("各小区", "Estates")) }
                div.scroll tabindex="0" role="region" aria-label=(l.pick("各小区", "Estates")) {
                    table {
                        thead { tr {
                            th scope="col" { (l.pick("小区", "Estate")) }
                            th scope="col" { (l.pick("本期", "This period")) }
                            th scope="col" { (l.pick("清欠", "Arrears")) }
                            th scope="col" { (l.pick("综合", "Overall")) }
                            th scope="col" { (l.pick("上期综合", "Previous")) }
                            @if rep.operations.cash_held.is_some() { th scope="col" { (l.pick("手上现金", "Cash held")) } }
                            th scope="col" { (l.pick("未结争议", "Open disputes")) }
                        } }
                        tbody {
                            @for e in &rep.by_estate {
                                tr {
                                    td { a href=(format!("/console/{}/dashboard?period={period}", e.code)) { (e.collection.name) } }
                                    td { (e.collection.current.percent) }
                                    td { (e.collection.arrears.percent) }
                                    td { (e.collection.overall.percent) }
                                    td { (e.previous.as_ref().map(|p| p.overall.percent.clone()).unwrap_or_else(|| "—".into())) }
                                    @if let Some(c) = e.operations.cash_held { td { (Fen(c).to_string()) } }
                                    td { (e.operations.disputes_open) }
                                }
                            }
                        }
                    }
                }
            }
            section #money {
                h2 { (l.pick("资金与争议（全部小区）", "Cash and disputes (all estates)")) }
                (operations(l, &rep.operations))
            }
        };
        Ok::<Markup, AppError>(page(
            l,
            l.pick("公司经营看板", "Company dashboard"),
            Some(&cu.user),
            None,
            &Flash::default(),
            body,
        ))
    }
    .await;
    match r {
        Ok(m) => m.into_response(),
        Err(e) => error_page(l, &e),
    }
}

async fn dashboard(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(q): Query<DashQuery>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let estate = app
            .estate_for(&cu.user, &code, Permission::ReadBills)
            .await?;
        let failures = if cu.user.role.allows(Permission::Treasury) {
            app.reconcile_failures(&cu.user, &code).await?
        } else {
            Vec::new()
        };
        let day = today(&estate);
        let period = q
            .period
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| day.to_string()[..7].to_string());
        let rep = app
            .collection_report(&cu.user, &code, &period, None)
            .await?;
        let from = day
            .checked_sub(jiff::Span::new().days(29))
            .unwrap_or(day)
            .to_string();
        let visits = app
            .visit_report(&cu.user, &code, &from, &day.to_string())
            .await?;
        let pct = |bp: Option<i64>| match bp {
            Some(b) => format!("{}.{:02}%", b / 100, b % 100),
            None => "—".into(),
        };
        let building_rows: Vec<(String, Option<i64>, String)> = rep
            .by_building
            .iter()
            .map(|b| (b.name.clone(), b.overall.basis_points, b.overall.percent.clone()))
            .collect();
        let item_rows: Vec<(String, Option<i64>, String)> = rep
            .by_item
            .iter()
            .map(|b| (b.name.clone(), b.overall.basis_points, b.overall.percent.clone()))
            .collect();
        let collector_rows: Vec<(String, Option<i64>, String)> = visits
            .by_collector
            .iter()
            .map(|c| (c.name.clone(), c.night.basis_points, format!("{} {}", c.visits, l.pick("次", "visits"))))
            .collect();
        let body = html! {
            form method="get" {
                label for="period" { (l.pick("账期", "Period")) " " }
                input #period name="period" value=(period) pattern="[0-9]{4}-[0-9]{2}" size="8";
                " " button type="submit" { (l.pick("查看", "Show")) }
                " " a href=(format!("/c/api/v1/reports/export?estate={code}&period={period}")) { (l.pick("导出 Excel", "Export to Excel")) }
            }
            section #collection {
                h2 { (l.pick("收缴率", "Collection rate")) " " (period) }
                div.kpis {
                    p { (l.pick("本期", "This period")) ": " strong #rate-current { (rep.total.current.percent) } (delta(l, &rep.total.current, rep.previous.as_ref().map(|p| &p.current))) }
                    p { (l.pick("清欠", "Arrears")) ": " strong #rate-arrears { (rep.total.arrears.percent) } (delta(l, &rep.total.arrears, rep.previous.as_ref().map(|p| &p.arrears))) }
                    p { (l.pick("综合", "Overall")) ": " strong #rate-overall { (rep.total.overall.percent) } (delta(l, &rep.total.overall, rep.previous.as_ref().map(|p| &p.overall))) }
                }
                (trend_chart(l, l.pick("近十二期综合收缴率", "Overall rate, last twelve periods"), &rep.trend))
                (bars(l, l.pick("按楼栋（综合收缴率）", "By building (overall)"), &building_rows))
                (bars(l, l.pick("按收费项目（综合收缴率）", "By fee item (overall)"), &item_rows))
            }
            section #visits {
                h2 { (l.pick("近30天上门", "Visits, last 30 days")) }
                div.kpis {
                    p { (l.pick("上门次数", "Visits")) ": " strong #visits-count { (visits.total.visits) } }
                    p { (l.pick("晚间占比", "At night")) ": " strong { (pct(visits.total.night.basis_points)) } }
                    p { (l.pick("周末占比", "At weekends")) ": " strong { (pct(visits.total.weekend.basis_points)) } }
                    p { (l.pick("准时到达", "On time")) ": " strong { (pct(visits.total.on_time.basis_points)) } }
                    p { (l.pick("平均每户分钟", "Minutes per visit")) ": " strong { (visits.total.average_minutes.map(|m| m.to_string()).unwrap_or_else(|| "—".into())) } }
                }
                (bars(l, l.pick("各收费员（晚间占比）", "Per collector (share at night)"), &collector_rows))
            }
            section #money {
                h2 { (l.pick("资金与对账", "Cash and reconciliation")) }
                (operations(l, &rep.operations))
                (reconcile_failures(l, &estate, &failures))
            }
        };
        Ok::<Markup, AppError>(page(
            l,
            l.pick("经营看板", "Dashboard"),
            Some(&cu.user),
            Some(&code),
            &Flash::default(),
            body,
        ))
    }
    .await;
    match r {
        Ok(m) => m.into_response(),
        Err(e) => error_page(l, &e),
    }
}
