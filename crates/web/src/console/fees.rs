//! Fee items and their late-fee policies.

use super::{ConsoleUser, page, render};
use crate::ui::{Flash, back};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use doorstep_app::{App, AppError};
use doorstep_domain::latefee::describe_rate;
use doorstep_domain::{
    Basis, Category, Cycle, DomainError, FeeItemSpec, Fen, Lang, LateFeeCap, LateFeePolicy,
    Permission,
};
use doorstep_store::FeeItem;
use maud::{Markup, html};
use serde::Deserialize;

pub fn router() -> Router<App> {
    Router::new()
        .route("/console/{code}/fee-items", get(list).post(create))
        .route(
            "/console/{code}/fee-items/{id}",
            get(edit_page).post(update),
        )
        .route(
            "/console/{code}/fee-items/{id}/amounts",
            axum::routing::post(enter_amounts),
        )
}

/// Category names for people.
pub fn category_name(c: Category, l: Lang) -> &'static str {
    match c {
        Category::Property => l.pick("物业服务", "Property"),
        Category::Parking => l.pick("车位", "Parking"),
        Category::OnBehalf => l.pick("代收代付", "On behalf"),
        Category::Other => l.pick("其他", "Other"),
    }
}

fn basis_name(b: Basis, l: Lang) -> &'static str {
    match b {
        Basis::PerArea => l.pick("按面积（元/㎡/月）", "Per m² per month"),
        Basis::PerRoom => l.pick("按户", "Per room"),
        Basis::PerSpace => l.pick("按车位", "Per parking space"),
        Basis::Entered => l.pick("按期录入（如水费）", "Entered per period (e.g. water)"),
    }
}

fn policy_text(p: &LateFeePolicy, l: Lang) -> String {
    if !p.enabled {
        return l.pick("不收滞纳金", "No late fee").into();
    }
    let cap = match p.cap {
        LateFeeCap::None => l.pick("不封顶", "no cap").to_string(),
        LateFeeCap::Principal => l
            .pick("不超过欠费本金", "not above the unpaid principal")
            .to_string(),
        LateFeeCap::Fixed(f) => format!("{} {f}", l.pick("封顶", "capped at")),
    };
    match l {
        Lang::Zh => format!(
            "宽限 {} 天后按{}计收，{}",
            p.grace_days,
            describe_rate(p.daily_rate_ppm, l),
            cap
        ),
        Lang::En => format!(
            "after {} grace days at {}, {}",
            p.grace_days,
            describe_rate(p.daily_rate_ppm, l),
            cap
        ),
    }
}

fn form(l: Lang, action: &str, item: Option<&FeeItem>) -> Markup {
    let spec = item.map(|i| i.spec.clone());
    let s = spec.as_ref();
    let lf = s.map(|s| s.late_fee).unwrap_or(LateFeePolicy::OFF);
    let (cap_kind, cap_fen) = lf.cap.to_parts();
    html! {
        form.card method="post" action=(action) {
            label { (l.pick("代码", "Code")) input name="code" value=(s.map(|s| s.code.as_str()).unwrap_or("")) required; }
            label { (l.pick("名称", "Name")) input name="name" value=(s.map(|s| s.name.as_str()).unwrap_or("")) required; }
            label { (l.pick("类别", "Category")) select name="category" { @for c in Category::ALL { option value=(c.code()) selected[s.map(|s| s.category) == Some(c)] { (category_name(c, l)) } } } }
            label { (l.pick("计费方式", "Basis")) select name="basis" { @for b in Basis::ALL { option value=(b.code()) selected[s.map(|s| s.basis) == Some(b)] { (basis_name(b, l)) } } } }
            label { (l.pick("周期", "Cycle")) select name="cycle" {
                option value="monthly" selected[s.map(|s| s.cycle) == Some(Cycle::Monthly)] { (l.pick("按月", "Monthly")) }
                option value="yearly" selected[s.map(|s| s.cycle) == Some(Cycle::Yearly)] { (l.pick("按年（一月出账）", "Yearly (billed in January)")) }
            } }
            label { (l.pick("单价（元）", "Unit price (yuan)")) input name="price" inputmode="decimal" value=(s.map(|s| s.price.yuan_string()).unwrap_or_default()); }
            label { (l.pick("每月缴费截止日", "Due day of month")) input name="due_day" type="number" min="1" max="31" value=(s.map(|s| s.due_day).unwrap_or(31)); }
            h2 { (l.pick("滞纳金（须有合同约定）", "Late fee (only if the contract provides for it)")) }
            label.inline { input type="checkbox" name="lf_enabled" value="on" checked[lf.enabled]; (l.pick("收取滞纳金", "Charge a late fee")) }
            label { (l.pick("宽限天数", "Grace days")) input name="lf_grace_days" type="number" min="0" value=(lf.grace_days); }
            label { (l.pick("日费率（万分之，如 5 = 万分之五）", "Daily rate (per 10,000; 5 = 0.05%/day)")) input name="lf_rate" inputmode="decimal" value=(rate_text(lf.daily_rate_ppm)); }
            label { (l.pick("封顶", "Cap")) select name="lf_cap" {
                option value="none" selected[cap_kind == "none"] { (l.pick("不封顶", "No cap")) }
                option value="principal" selected[cap_kind == "principal"] { (l.pick("不超过欠费本金", "Not above unpaid principal")) }
                option value="fixed" selected[cap_kind == "fixed"] { (l.pick("固定金额", "Fixed amount")) }
            } }
            label { (l.pick("封顶金额（元）", "Cap amount (yuan)")) input name="lf_cap_amount" inputmode="decimal" value=(if cap_kind == "fixed" { Fen(cap_fen).yuan_string() } else { String::new() }); }
            @if let Some(i) = item { label.inline { input type="checkbox" name="active" value="on" checked[i.active]; (l.pick("启用（出账时计费）", "Active (billed by runs)")) } }
            button type="submit" { (l.pick("保存", "Save")) }
        }
    }
}

fn rate_text(ppm: u32) -> String {
    let s = format!("{}.{:02}", ppm / 100, ppm % 100);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

async fn list(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app.estate_for(&cu.user, &code, doorstep_domain::Permission::ReadEstate).await?;
        let items = app.store.list_fee_items(e.id).await?;
        let can_edit = cu.user.role.allows(Permission::EditFees);
        Ok::<_, AppError>(page(l, &format!("{} · {}", e.name, l.pick("收费项目", "Fee items")), Some(&cu.user), Some(&e.code), &flash, html! {
            div.table { table #fee-items {
                thead { tr { th { (l.pick("名称", "Name")) } th { (l.pick("类别", "Category")) } th { (l.pick("计费", "Basis")) } th.num { (l.pick("单价", "Price")) } th { (l.pick("截止日", "Due day")) } th { (l.pick("滞纳金", "Late fee")) } th { (l.pick("状态", "Status")) } } }
                tbody { @for i in &items { tr {
                    td { @if can_edit { a href={"/console/" (e.code) "/fee-items/" (i.id)} { (i.spec.name) } } @else { (i.spec.name) } }
                    td { (category_name(i.spec.category, l)) }
                    td { (basis_name(i.spec.basis, l)) }
                    td.num { @if i.spec.basis == Basis::Entered { "—" } @else { (i.spec.price) } }
                    td { (i.spec.due_day) }
                    td { (policy_text(&i.spec.late_fee, l)) }
                    td { @if i.active { (l.pick("启用", "active")) } @else { (l.pick("停用", "inactive")) } }
                } } }
            } }
            @if can_edit {
                h2 { (l.pick("新增收费项目", "New fee item")) }
                (form(l, &format!("/console/{}/fee-items", e.code), None))
            }
        }))
    }
    .await;
    render(l, r)
}

async fn edit_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Path((code, id)): Path<(String, i64)>,
    Query(flash): Query<Flash>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app.estate_for(&cu.user, &code, Permission::EditFees).await?;
        let item = app.store.list_fee_items(e.id).await?.into_iter().find(|i| i.id == id).ok_or_else(|| AppError::NotFound(format!("fee item {id}")))?;
        let period = doorstep_domain::Period::of(doorstep_app::today(&e));
        Ok::<_, AppError>(page(l, &item.spec.name, Some(&cu.user), Some(&e.code), &flash, html! {
            @if item.spec.basis == Basis::Entered {
                h2 { (l.pick("录入本期金额", "Enter this period's amounts")) }
                form.card #amounts method="post" action={"/console/" (e.code) "/fee-items/" (id) "/amounts"} {
                    p.muted { (l.pick("每行一户：房号 金额，可直接从 Excel 粘贴两列。例如：3-1-202 35.60", "One room per line: room amount, pasted from two Excel columns. E.g. 3-1-202 35.60")) }
                    label { (l.pick("账期（YYYY-MM）", "Period (YYYY-MM)")) input name="period" value=(period.to_string()) required; }
                    label { (l.pick("房号与金额", "Rooms and amounts")) textarea name="lines" rows="8" style="width:100%;font:inherit" required {} }
                    button type="submit" { (l.pick("录入", "Enter")) }
                }
            }
            h2 { (l.pick("修改收费项目", "Edit fee item")) }
            (form(l, &format!("/console/{}/fee-items/{}", e.code, id), Some(&item)))
        }))
    }
    .await;
    render(l, r)
}

#[derive(Deserialize)]
struct AmountsForm {
    period: String,
    lines: String,
}

async fn enter_amounts(
    State(app): State<App>,
    cu: ConsoleUser,
    Path((code, id)): Path<(String, i64)>,
    Form(f): Form<AmountsForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app
            .estate_for(&cu.user, &code, Permission::EditFees)
            .await?;
        let period = doorstep_domain::Period::parse(&f.period)?;
        let n = app.enter_amounts_text(&e, id, period, &f.lines).await?;
        Ok(match l {
            Lang::Zh => format!("已录入 {period} 的 {n} 户金额，出账时计入"),
            Lang::En => format!("Entered {n} amounts for {period}; billing will include them"),
        })
    }
    .await;
    back(&format!("/console/{code}/fee-items/{id}"), r)
}

#[derive(Deserialize)]
struct ItemForm {
    code: String,
    name: String,
    category: String,
    basis: String,
    cycle: String,
    #[serde(default)]
    price: String,
    due_day: String,
    lf_enabled: Option<String>,
    #[serde(default)]
    lf_grace_days: String,
    #[serde(default)]
    lf_rate: String,
    #[serde(default)]
    lf_cap: String,
    #[serde(default)]
    lf_cap_amount: String,
    active: Option<String>,
}

fn spec_of(f: &ItemForm) -> Result<FeeItemSpec, DomainError> {
    let basis = Basis::from_code(&f.basis)?;
    let price = if basis == Basis::Entered && f.price.trim().is_empty() {
        Fen::ZERO
    } else {
        Fen::parse_yuan("price", &f.price)?
    };
    let due_day: u8 = f.due_day.trim().parse().map_err(|_| {
        DomainError::invalid(
            "due_day",
            format!("{:?} is not a day of the month (1–31)", f.due_day),
        )
    })?;
    let enabled = f.lf_enabled.is_some();
    let grace_days: u32 = if f.lf_grace_days.trim().is_empty() {
        0
    } else {
        f.lf_grace_days.trim().parse().map_err(|_| {
            DomainError::invalid(
                "grace_days",
                format!("{:?} is not a number of days", f.lf_grace_days),
            )
        })?
    };
    // The rate is entered per 10,000 (万分之) with up to two decimals: 5 → 500 ppm.
    let rate = if f.lf_rate.trim().is_empty() {
        Fen::ZERO
    } else {
        Fen::parse_yuan("late_fee_rate", &f.lf_rate)?
    };
    let cap = match f.lf_cap.as_str() {
        "fixed" => LateFeeCap::Fixed(Fen::parse_yuan("late_fee_cap", &f.lf_cap_amount)?),
        "principal" => LateFeeCap::Principal,
        _ => LateFeeCap::None,
    };
    let spec = FeeItemSpec {
        code: f.code.trim().into(),
        name: f.name.trim().into(),
        category: Category::from_code(&f.category)?,
        basis,
        cycle: Cycle::from_code(&f.cycle)?,
        price,
        due_day,
        late_fee: LateFeePolicy {
            enabled,
            grace_days,
            daily_rate_ppm: u32::try_from(rate.0).unwrap_or(u32::MAX),
            cap: if enabled { cap } else { LateFeeCap::None },
        },
    };
    spec.validate()?;
    Ok(spec)
}

async fn create(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<ItemForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app
            .estate_for(&cu.user, &code, Permission::EditFees)
            .await?;
        let item = app.store.create_fee_item(e.id, &spec_of(&f)?).await?;
        Ok(format!("{} {}", l.pick("已新增", "Added"), item.spec.name))
    }
    .await;
    back(&format!("/console/{code}/fee-items"), r)
}

async fn update(
    State(app): State<App>,
    cu: ConsoleUser,
    Path((code, id)): Path<(String, i64)>,
    Form(f): Form<ItemForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let item = app
            .update_fee_item(&cu.user, &code, id, &spec_of(&f)?, f.active.is_some())
            .await?;
        Ok(format!("{} {}", l.pick("已保存", "Saved"), item.spec.name))
    }
    .await;
    match &r {
        Ok(_) => back(&format!("/console/{code}/fee-items"), r),
        Err(_) => back(&format!("/console/{code}/fee-items/{id}"), r),
    }
}
