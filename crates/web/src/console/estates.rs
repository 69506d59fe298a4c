//! Estates: the list, one estate's overview, running billing.

use super::{ConsoleUser, page, render};
use crate::ui::{Flash, back};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use doorstep_app::{App, AppError, today};
use doorstep_domain::{EstateCode, Period, Permission};
use doorstep_store::{EstateInput, EstateSummary};
use maud::html;
use serde::Deserialize;

pub fn router() -> Router<App> {
    Router::new()
        .route("/console", get(list))
        .route("/console/estates", post(create))
        .route("/console/{code}", get(overview))
        .route("/console/{code}/edit", post(edit))
        .route("/console/{code}/billing", post(run_billing))
}

async fn list(State(app): State<App>, cu: ConsoleUser, Query(flash): Query<Flash>) -> Response {
    let l = cu.lang;
    let r = async {
        let estates: Vec<_> = app.store.list_estates(cu.user.company_id).await?.into_iter().filter(|e| cu.user.can_access(e)).collect();
        let company = app.store.company(cu.user.company_id).await?;
        let summaries: std::collections::HashMap<i64, EstateSummary> = app
            .store
            .estate_summaries(cu.user.company_id)
            .await?
            .into_iter()
            .map(|s| (s.estate_id, s))
            .collect();
        let rows: Vec<_> = estates
            .iter()
            .map(|e| (e, summaries.get(&e.id).cloned().unwrap_or_default()))
            .collect();
        Ok::<_, AppError>(page(l, &company.name, Some(&cu.user), None, &flash, html! {
            @if cu.user.role.allows(Permission::ReadBills) {
                p { a #company-dashboard href="/console/dashboard" { (l.pick("公司经营看板：各小区收缴率、趋势、现金与争议", "Company dashboard: every estate's collection rate, trend, cash and disputes")) } }
            }
            h2 { (l.pick("小区", "Estates")) }
            div.table { table {
                thead { tr { th { (l.pick("小区", "Estate")) } th { (l.pick("代码", "Code")) } th.num { (l.pick("房屋", "Rooms")) } th.num { (l.pick("车位", "Spaces")) } th.num { (l.pick("业主", "Owners")) } th { (l.pick("最近出账账期", "Last billed")) } } }
                tbody { @for (e, s) in &rows { tr {
                    td { a.estate href={"/console/" (e.code)} { (e.name) } }
                    td { (e.code) } td.num { (s.rooms) } td.num { (s.spaces) } td.num { (s.owners) } td { (s.last_period.as_deref().unwrap_or("—")) }
                } } }
            } }
            @if cu.user.role.allows(Permission::ManageUsers) {
                h2 { (l.pick("新建小区", "New estate")) }
                form.card method="post" action="/console/estates" {
                    label { (l.pick("代码（小写字母、数字、-）", "Code (a-z, 0-9, -)")) input name="code" required pattern="[a-z0-9-]{1,32}"; }
                    label { (l.pick("名称", "Name")) input name="name" required; }
                    label { (l.pick("物业服务中心位置", "Office location")) input name="office"; }
                    button type="submit" { (l.pick("创建", "Create")) }
                }
            }
        }))
    }
    .await;
    render(l, r)
}

#[derive(Deserialize)]
struct EstateForm {
    code: String,
    name: String,
    #[serde(default)]
    office: String,
}

async fn create(State(app): State<App>, cu: ConsoleUser, Form(f): Form<EstateForm>) -> Response {
    let l = cu.lang;
    let r = async {
        doorstep_app::require(&cu.user, Permission::ManageUsers)?;
        if f.name.trim().is_empty() {
            return Err(doorstep_domain::DomainError::invalid("name", "is empty").into());
        }
        let input = EstateInput {
            code: EstateCode::parse(&f.code)?,
            name: f.name.trim().into(),
            timezone: "Asia/Shanghai".into(),
            office: f.office,
        };
        let e = app.store.create_estate(cu.user.company_id, &input).await?;
        Ok(format!("{} {}", l.pick("已创建", "Created"), e.name))
    }
    .await;
    back("/console", r)
}

async fn overview(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app.estate_for(&cu.user, &code, Permission::ReadEstate).await?;
        let s = app.store.estate_stats(e.id).await?;
        let period = Period::of(today(&e));
        let a = if cu.user.role.allows(Permission::ReadBills) { Some(app.arrears(&e, today(&e), "").await?) } else { None };
        Ok::<_, AppError>(page(l, &e.name, Some(&cu.user), Some(&e.code), &flash, html! {
            div.stats {
                div.stat { b { (s.buildings) } (l.pick("楼栋", "buildings")) }
                div.stat { b { (s.rooms) } (l.pick("房屋", "rooms")) }
                div.stat { b { (s.spaces) } (l.pick("车位", "parking spaces")) }
                div.stat { b { (s.owners) } (l.pick("业主", "owners")) }
                div.stat { b { (s.fee_items) } (l.pick("收费项目", "fee items")) }
                div.stat { b { (s.bill_lines) } (l.pick("账单行", "bill lines")) }
                @if let Some(a) = &a {
                    div.stat { b { (a.total_owed) } (l.pick("欠费合计（含滞纳金）", "owed incl. late fees")) }
                    div.stat { b { (a.rows.len()) } (l.pick("欠费账单行", "owed lines")) }
                }
            }
            p.muted { (l.pick("物业服务中心：", "Office: ")) (e.office) " · " (e.timezone) }
            @if cu.user.role.allows(Permission::RunBilling) {
                h2 { (l.pick("出账", "Run billing")) }
                form.card #billing method="post" action={"/console/" (e.code) "/billing"} {
                    p.muted { (l.pick("为账期生成账单行。重复执行不会重复出账。", "Creates the period's bill lines. Running it again creates nothing twice.")) }
                    label { (l.pick("账期（YYYY-MM）", "Period (YYYY-MM)")) input name="period" value=(period.to_string()) required; }
                    button type="submit" { (l.pick("出账", "Run billing")) }
                }
            }
            @if cu.user.role.allows(Permission::EditMasterData) {
                h2 { (l.pick("小区信息", "Estate details")) }
                form.card method="post" action={"/console/" (e.code) "/edit"} {
                    label { (l.pick("名称", "Name")) input name="name" value=(e.name) required; }
                    label { (l.pick("物业服务中心位置", "Office location")) input name="office" value=(e.office); }
                    button.secondary type="submit" { (l.pick("保存", "Save")) }
                }
            }
        }))
    }
    .await;
    render(l, r)
}

#[derive(Deserialize)]
struct EditForm {
    name: String,
    #[serde(default)]
    office: String,
}

async fn edit(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<EditForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app
            .estate_for(&cu.user, &code, Permission::EditMasterData)
            .await?;
        if f.name.trim().is_empty() {
            return Err(doorstep_domain::DomainError::invalid("name", "is empty").into());
        }
        let input = EstateInput {
            code: EstateCode::parse(&e.code)?,
            name: f.name.trim().into(),
            timezone: e.timezone.clone(),
            office: f.office,
        };
        app.store.update_estate(e.id, &input).await?;
        Ok(l.pick("已保存", "Saved").to_string())
    }
    .await;
    back(&format!("/console/{code}"), r)
}

#[derive(Deserialize)]
struct BillingForm {
    period: String,
}

async fn run_billing(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<BillingForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app
            .estate_for(&cu.user, &code, Permission::RunBilling)
            .await?;
        let period = Period::parse(&f.period)?;
        let s = app
            .run_billing(&e, period, Some(&cu.user), &mut |_, _| {})
            .await?;
        Ok(match l {
            doorstep_domain::Lang::Zh => format!(
                "{} 出账完成：新建 {} 行，已存在 {} 行",
                s.period, s.created, s.existing
            ),
            doorstep_domain::Lang::En => format!(
                "Billing {} done: {} lines created, {} already existed",
                s.period, s.created, s.existing
            ),
        })
    }
    .await;
    back(&format!("/console/{code}"), r)
}
