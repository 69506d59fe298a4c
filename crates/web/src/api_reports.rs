//! Overdue notices and the disputes log in the JSON API (issue 7).

use crate::api::{ApiResult, to_json};
use crate::error::Body;
use crate::session::Staff;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use doorstep_app::App;
use doorstep_app::notice::SendNotices;
use doorstep_domain::{DomainError, ObjectKind};
use doorstep_store::NoticeSettings;
use serde::Deserialize;

/// The routes (merged into `/api/v1`).
pub fn router() -> Router<App> {
    Router::new()
        .route(
            "/estates/{code}/notices",
            post(send_overdue_notices).get(list_notices),
        )
        .route(
            "/estates/{code}/notice-settings",
            get(get_notice_settings).put(set_notice_settings),
        )
        .route(
            "/estates/{code}/disputes",
            post(open_dispute).get(list_disputes),
        )
        .route("/estates/{code}/disputes/{id}/close", post(close_dispute))
        .route(
            "/estates/{code}/reports/collection",
            get(get_collection_report),
        )
        .route("/estates/{code}/reports/visits", get(get_visit_report))
        .route("/reports/company", get(get_company_report))
        .route("/reports/export", get(export_report))
        .route("/estates/{code}/notices/print", get(print_notices))
}

async fn send_overdue_notices(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(b): Body<SendNotices>,
) -> ApiResult {
    to_json(&app.send_overdue_notices(&user, &code, &b).await?)
}

#[derive(Deserialize)]
struct LimitQuery {
    limit: Option<i64>,
}

async fn list_notices(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Query(q): Query<LimitQuery>,
) -> ApiResult {
    to_json(&app.notices(&user, &code, q.limit.unwrap_or(200)).await?)
}

async fn get_notice_settings(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
) -> ApiResult {
    to_json(&app.notice_settings(&user, &code).await?)
}

#[derive(Deserialize)]
struct SettingsBody {
    #[serde(default)]
    contract_basis: String,
    #[serde(default)]
    office_phone: String,
    quiet_from: Option<String>,
    quiet_until: Option<String>,
    min_days: Option<i64>,
    max_per_month: Option<i64>,
}

async fn set_notice_settings(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(b): Body<SettingsBody>,
) -> ApiResult {
    let d = NoticeSettings::default();
    let s = NoticeSettings {
        contract_basis: b.contract_basis,
        office_phone: b.office_phone,
        quiet_from: b.quiet_from.unwrap_or(d.quiet_from),
        quiet_until: b.quiet_until.unwrap_or(d.quiet_until),
        min_days: b.min_days.unwrap_or(d.min_days),
        max_per_month: b.max_per_month.unwrap_or(d.max_per_month),
    };
    to_json(&app.set_notice_settings(&user, &code, &s).await?)
}

#[derive(Deserialize)]
struct DisputeBody {
    owner: String,
    topic: String,
    room: Option<i64>,
    space: Option<i64>,
}

async fn open_dispute(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Body(b): Body<DisputeBody>,
) -> ApiResult {
    let object = match (b.room, b.space) {
        (Some(r), None) => Some((ObjectKind::Room, r)),
        (None, Some(s)) => Some((ObjectKind::Space, s)),
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(doorstep_app::AppError::Invalid(DomainError::invalid(
                "room",
                "name a room or a space, not both",
            ))
            .into());
        }
    };
    to_json(
        &app.open_dispute(&user, &code, object, &b.owner, &b.topic)
            .await?,
    )
}

async fn list_disputes(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
) -> ApiResult {
    to_json(&app.disputes(&user, &code).await?)
}

#[derive(Deserialize)]
struct CloseBody {
    outcome: String,
}

async fn close_dispute(
    State(app): State<App>,
    Staff(user): Staff,
    Path((code, id)): Path<(String, i64)>,
    Body(b): Body<CloseBody>,
) -> ApiResult {
    to_json(&app.close_dispute(&user, &code, id, &b.outcome).await?)
}

#[derive(Deserialize)]
struct ReportQuery {
    period: String,
    as_of: Option<String>,
    format: Option<String>,
}

/// The collection report as JSON, or `format=xlsx` for Excel.
async fn get_collection_report(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<axum::response::Response, crate::WebError> {
    use axum::response::IntoResponse;
    let r = app
        .collection_report(&user, &code, &q.period, q.as_of.as_deref())
        .await?;
    if q.format.as_deref() == Some("xlsx") {
        let bytes = doorstep_app::report::collection_xlsx(&r)?;
        return Ok(crate::download(
            bytes,
            crate::XLSX,
            &format!("collection-{code}-{}.xlsx", r.period),
        ));
    }
    Ok(to_json(&r)?.into_response())
}

/// The company report (every estate the caller may see) as JSON, or
/// `format=xlsx` for Excel.
async fn get_company_report(
    State(app): State<App>,
    Staff(user): Staff,
    Query(q): Query<ReportQuery>,
) -> Result<axum::response::Response, crate::WebError> {
    use axum::response::IntoResponse;
    let r = app
        .company_report(&user, &q.period, q.as_of.as_deref())
        .await?;
    if q.format.as_deref() == Some("xlsx") {
        return company_download(&r);
    }
    Ok(to_json(&r)?.into_response())
}

fn company_download(
    r: &doorstep_app::report::CompanyReport,
) -> Result<axum::response::Response, crate::WebError> {
    Ok(crate::download(
        doorstep_app::report::company_xlsx(r)?,
        crate::XLSX,
        &format!("collection-company-{}.xlsx", r.period),
    ))
}

#[derive(Deserialize)]
struct ExportQuery {
    estate: Option<String>,
    period: String,
    as_of: Option<String>,
}

/// exportReport: the collection report of one estate (`estate=`, with its
/// visit report of the same days) or of the whole company as an Excel
/// workbook with Chinese headers: rates, the twelve-period trend, cash and
/// disputes.
async fn export_report(
    State(app): State<App>,
    Staff(user): Staff,
    Query(q): Query<ExportQuery>,
) -> Result<axum::response::Response, crate::WebError> {
    match q.estate.as_deref().filter(|e| !e.trim().is_empty()) {
        Some(code) => {
            let r = app
                .collection_report(&user, code, &q.period, q.as_of.as_deref())
                .await?;
            // The visits of the same days: the period's first day to the as-of day.
            let from = r.period.clone() + "-01";
            let visits = app.visit_report(&user, code, &from, &r.as_of).await?;
            Ok(crate::download(
                doorstep_app::report::estate_xlsx(&r, Some(&visits))?,
                crate::XLSX,
                &format!("collection-{code}-{}.xlsx", r.period),
            ))
        }
        None => company_download(
            &app.company_report(&user, &q.period, q.as_of.as_deref())
                .await?,
        ),
    }
}

#[derive(Deserialize)]
struct VisitQuery {
    from: String,
    to: String,
    format: Option<String>,
}

/// The visit report as JSON, or `format=xlsx` for Excel.
async fn get_visit_report(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Query(q): Query<VisitQuery>,
) -> Result<axum::response::Response, crate::WebError> {
    use axum::response::IntoResponse;
    let r = app.visit_report(&user, &code, &q.from, &q.to).await?;
    if q.format.as_deref() == Some("xlsx") {
        let bytes = doorstep_app::report::visit_xlsx(&r)?;
        return Ok(crate::download(
            bytes,
            crate::XLSX,
            &format!("visits-{code}-{}-{}.xlsx", r.from, r.to),
        ));
    }
    Ok(to_json(&r)?.into_response())
}

#[derive(Deserialize)]
struct PrintQuery {
    format: Option<String>,
    as_of: Option<String>,
    room: Option<i64>,
    space: Option<i64>,
}

/// Printable notices (PDF, one page or more per room/space) to post at the door.
async fn print_notices(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    Query(q): Query<PrintQuery>,
) -> Result<axum::response::Response, crate::WebError> {
    use axum::response::IntoResponse;
    let req = SendNotices {
        as_of: q.as_of,
        rooms: q.room.into_iter().collect(),
        spaces: q.space.into_iter().collect(),
        ..Default::default()
    };
    let pdf = app
        .print_notices(&user, &code, &req, q.format.as_deref().unwrap_or("a4"))
        .await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/pdf".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("inline; filename=\"notices-{code}.pdf\""),
            ),
        ],
        pdf,
    )
        .into_response())
}
