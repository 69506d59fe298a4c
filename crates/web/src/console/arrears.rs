//! Arrears with each late fee's calculation; waivers and disputes; exports.

use super::{ConsoleUser, page, render};
use crate::ui::{Flash, back, enc};
use axum::Router;
use axum::extract::{Form, Path, Query, State};

use axum::response::Response;
use axum::routing::{get, post};
use doorstep_app::{App, AppError, parse_date, today};
use doorstep_domain::{Lang, Permission};
use maud::html;
use serde::Deserialize;

pub fn router() -> Router<App> {
    Router::new()
        .route("/console/{code}/arrears", get(arrears_page))
        .route("/console/{code}/arrears.csv", get(export_csv))
        .route("/console/{code}/arrears.xlsx", get(export_xlsx))
        .route(
            "/console/{code}/lines/{id}/waive-late-fee",
            post(waive_late_fee),
        )
        .route("/console/{code}/lines/{id}/dispute", post(dispute))
}

/// Rows shown per page; totals cover every row.
const PAGE: usize = 200;

#[derive(Deserialize, Default)]
struct Params {
    as_of: Option<String>,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: usize,
    ok: Option<String>,
    err: Option<String>,
}

async fn arrears_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(p): Query<Params>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app.estate_for(&cu.user, &code, Permission::ReadBills).await?;
        let as_of = match p.as_of.as_deref().filter(|s| !s.is_empty()) {
            Some(d) => parse_date("as_of", d)?,
            None => today(&e),
        };
        let a = app.arrears(&e, as_of, &p.q).await?;
        let can_waive = cu.user.role.allows(Permission::Waive);
        let tz = doorstep_app::estate_tz(&e);
        let pages = a.rows.len().div_ceil(PAGE).max(1);
        let pg = p.page.min(pages - 1);
        let here = format!("/console/{}/arrears?as_of={}&q={}", e.code, as_of, enc(&p.q));
        let flash = Flash { ok: p.ok.clone(), err: p.err.clone() };
        Ok::<_, AppError>(page(l, &format!("{} · {}", e.name, l.pick("欠费明细", "Arrears")), Some(&cu.user), Some(&e.code), &flash, html! {
            form.row method="get" {
                label { (l.pick("截至日期", "As of")) input type="date" name="as_of" value=(as_of.to_string()); }
                label { (l.pick("房号 / 业主 / 电话", "Room / owner / phone")) input name="q" value=(p.q); }
                button type="submit" { (l.pick("查询", "Show")) }
                a href={"/console/" (e.code) "/arrears.xlsx?as_of=" (as_of) "&q=" (enc(&p.q))} { (l.pick("导出 Excel", "Export Excel")) }
                a href={"/console/" (e.code) "/arrears.csv?as_of=" (as_of) "&q=" (enc(&p.q))} { "CSV" }
            }
            div.stats #totals {
                div.stat { b { (a.rows.len()) } (l.pick("欠费账单行", "owed lines")) }
                div.stat { b { (a.principal_owed) } (l.pick("欠费本金", "principal owed")) }
                div.stat { b { (a.late_fee_owed) } (l.pick("滞纳金", "late fees")) }
                div.stat { b { (a.total_owed) } (l.pick("合计", "total")) }
            }
            div.table { table #arrears {
                thead { tr {
                    th { (l.pick("房号/车位", "Room/space")) } th { (l.pick("业主", "Owner")) } th { (l.pick("项目", "Item")) } th { (l.pick("账期", "Period")) }
                    th { (l.pick("应缴日期", "Due")) } th.num { (l.pick("欠费本金", "Principal")) } th { (l.pick("滞纳金及计算", "Late fee and calculation")) } th.num { (l.pick("合计", "Total")) }
                    @if can_waive { th { (l.pick("操作", "Actions")) } }
                } }
                tbody { @for row in a.rows.iter().skip(pg * PAGE).take(PAGE) { tr data-line=(row.line_id) {
                    td { (row.object) }
                    td { (row.owners.join("、")) br; span.muted { (row.phones.join(" ")) } }
                    td { (row.fee_item) }
                    td { (row.period) }
                    td { (row.due_date) br; span.muted { (row.days_overdue) (l.pick("天", " days")) } }
                    td.num { (row.principal_owed) }
                    td {
                        @if row.late_fee.is_some() {
                            b { (row.late_fee_owed) } br;
                            span.calc { (if l == Lang::Zh { &row.late_fee_text } else { &row.late_fee_text_en }) }
                            @if let Some(w) = &row.late_fee_waived { br; span.calc { (l.pick("减免：", "Waived: ")) (w.reason) " · " (w.by) " · " (when(w.at, &tz)) } }
                        } @else { span.muted { "—" } }
                    }
                    td.num { b { (row.total_owed) } }
                    @if can_waive { td {
                        @if row.late_fee_owed.0 > 0 {
                            form.act method="post" action={"/console/" (e.code) "/lines/" (row.line_id) "/waive-late-fee"} {
                                input type="hidden" name="back" value=(here);
                                input name="reason" placeholder=(l.pick("减免原因", "Reason")) required;
                                button type="submit" { (l.pick("减免滞纳金", "Waive late fee")) }
                            }
                        }
                        form.act method="post" action={"/console/" (e.code) "/lines/" (row.line_id) "/dispute"} {
                            input type="hidden" name="back" value=(here);
                            input type="hidden" name="disputed" value=(if row.disputed { "false" } else { "true" });
                            input name="reason" placeholder=(l.pick("原因", "Reason")) required;
                            button.secondary type="submit" { @if row.disputed { (l.pick("解除争议", "Clear dispute")) } @else { (l.pick("标记争议", "Mark disputed")) } }
                        }
                    } }
                } } }
            } }
            @if pages > 1 {
                p.row {
                    @for i in 0..pages {
                        @if i == pg { b { (i + 1) } } @else { a href={(here) "&page=" (i)} { (i + 1) } }
                    }
                }
            }
        }))
    }
    .await;
    render(l, r)
}

async fn export(
    app: &App,
    cu: &ConsoleUser,
    code: &str,
    p: &Params,
) -> Result<doorstep_app::arrears::Arrears, AppError> {
    let e = app
        .estate_for(&cu.user, code, Permission::ReadBills)
        .await?;
    let as_of = match p.as_of.as_deref().filter(|s| !s.is_empty()) {
        Some(d) => parse_date("as_of", d)?,
        None => today(&e),
    };
    app.arrears(&e, as_of, &p.q).await
}

async fn export_csv(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(p): Query<Params>,
) -> Response {
    match export(&app, &cu, &code, &p)
        .await
        .and_then(|a| Ok((doorstep_app::export::arrears_csv(&a)?, a.as_of)))
    {
        Ok((b, d)) => crate::download(
            b,
            "text/csv; charset=utf-8",
            &format!("{code}-欠费-{d}.csv"),
        ),
        Err(e) => super::error_page(cu.lang, &e),
    }
}

async fn export_xlsx(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(p): Query<Params>,
) -> Response {
    match export(&app, &cu, &code, &p)
        .await
        .and_then(|a| Ok((doorstep_app::export::arrears_xlsx(&a)?, a.as_of)))
    {
        Ok((b, d)) => crate::download(b, crate::XLSX, &format!("{code}-欠费-{d}.xlsx")),
        Err(e) => super::error_page(cu.lang, &e),
    }
}

#[derive(Deserialize)]
struct ActForm {
    reason: String,
    back: Option<String>,
    disputed: Option<String>,
}

fn back_to(code: &str, f: &ActForm) -> String {
    f.back
        .clone()
        .filter(|b| b.starts_with("/console/"))
        .unwrap_or_else(|| format!("/console/{code}/arrears"))
}

async fn waive_late_fee(
    State(app): State<App>,
    cu: ConsoleUser,
    Path((code, id)): Path<(String, i64)>,
    Form(f): Form<ActForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let line = app.waive_late_fee(&cu.user, &code, id, &f.reason).await?;
        Ok(format!(
            "{} {} {} {}",
            l.pick("已减免滞纳金：", "Late fee waived:"),
            line.object_label,
            line.fee_item_name,
            line.period
        ))
    }
    .await;
    back(&back_to(&code, &f), r)
}

async fn dispute(
    State(app): State<App>,
    cu: ConsoleUser,
    Path((code, id)): Path<(String, i64)>,
    Form(f): Form<ActForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let disputed = f.disputed.as_deref() != Some("false");
        app.set_dispute(&cu.user, &code, id, disputed, &f.reason)
            .await?;
        Ok(if disputed {
            l.pick(
                "已标记争议，滞纳金停止计算",
                "Marked disputed; late fee accrual stopped",
            )
        } else {
            l.pick("已解除争议", "Dispute cleared")
        }
        .to_string())
    }
    .await;
    back(&back_to(&code, &f), r)
}

/// An instant in the estate's time zone, e.g. `2026-11-27 08:30`.
fn when(unix: i64, tz: &jiff::tz::TimeZone) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|t| {
            t.to_zoned(tz.clone())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}
