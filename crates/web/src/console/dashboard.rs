//! The management dashboard (issue 7, first version): the period's
//! collection rate (current period and arrears apart) by building and fee
//! item, the last 30 days' visit figures by collector, cash held now,
//! handovers pending, reconciliation mismatches and disputes — charts drawn
//! on the server as SVG (no JavaScript), each with the numbers as text.

use super::{ConsoleUser, Flash, error_page, page};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use doorstep_app::{App, AppError, today};
use doorstep_domain::{Lang, Permission};
use maud::{Markup, html};
use serde::Deserialize;

/// Routes.
pub fn router() -> Router<App> {
    Router::new().route("/console/{code}/dashboard", get(dashboard))
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
        let cash = if cu.user.role.allows(Permission::Treasury) {
            Some(app.cash_status(&cu.user, &code).await?.1)
        } else {
            None
        };
        let mut mismatches = 0usize;
        for m in app.store.merchants(estate.company_id).await? {
            if let Some(last) = app.store.reconciliations(m.id).await?.into_iter().max_by_key(|r| r.run_at) {
                mismatches += last.items.len();
            }
        }
        let disputes = app.disputes(&cu.user, &code).await?;
        let open_disputes = disputes.iter().filter(|d| d.status == "open").count();
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
                " " a href=(format!("/api/v1/estates/{code}/reports/collection?period={period}&format=xlsx")) { (l.pick("导出 Excel", "Export to Excel")) }
            }
            section #collection {
                h2 { (l.pick("收缴率", "Collection rate")) " " (period) }
                div.kpis {
                    p { (l.pick("本期", "This period")) ": " strong #rate-current { (rep.total.current.percent) } }
                    p { (l.pick("清欠", "Arrears")) ": " strong #rate-arrears { (rep.total.arrears.percent) } }
                    p { (l.pick("综合", "Overall")) ": " strong #rate-overall { (rep.total.overall.percent) } }
                }
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
                @if let Some(c) = &cash {
                    p { (l.pick("收费员手上现金", "Cash held by collectors")) ": " strong #cash-held { (c.holdings.iter().map(|h| h.amount).sum::<doorstep_domain::Fen>().to_string()) } }
                    p { (l.pick("待交接班次", "Handovers pending")) ": " strong #handovers { (c.pending.len()) } }
                    p { (l.pick("现金提醒", "Cash alerts")) ": " strong { (c.alerts.len()) } }
                }
                p { (l.pick("对账差异（最近一次）", "Reconciliation mismatches (latest)")) ": " strong #mismatches { (mismatches) } }
                p { (l.pick("未结争议/投诉", "Open disputes/complaints")) ": " strong #disputes-open { (open_disputes) } " / " (disputes.len()) }
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
