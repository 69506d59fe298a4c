//! Receipts, invoice requests and the evidence log in the JSON API.

use crate::WebError;
use crate::api::{ApiResult, to_json};
use crate::error::Body;
use crate::session::{ClientAddr, Staff};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use doorstep_app::invoice::InvoiceForm;
use doorstep_app::receipt::parse_layout;
use doorstep_app::{App, AppError};
use doorstep_domain::{DomainError, ObjectKind};
use serde::Deserialize;
use serde_json::json;

type Raw = Result<Response, WebError>;

/// The routes (merged into `/api/v1`).
pub fn router() -> Router<App> {
    Router::new()
        .route("/receipts/{id}", get(get_receipt))
        .route("/receipts/{id}/pdf", get(download_receipt))
        .route("/receipts/{id}/void", post(void_receipt))
        .route("/receipts/verify", post(verify_receipt))
        .route("/payments/{id}/receipt", get(get_payment_receipt))
        .route("/receipt-links/{token}", get(get_receipt_by_token))
        .route("/receipt-links/{token}/invoice", post(request_invoice))
        .route("/invoice-requests", get(list_invoice_requests))
        .route(
            "/invoice-requests/{id}/outcome",
            post(record_invoice_outcome),
        )
        .route(
            "/fee-items/{id}/tax",
            get(get_fee_item_tax).put(set_fee_item_tax),
        )
        .route("/evidence/checkpoint", get(get_checkpoint))
        .route("/evidence/records/{index}/proof", get(get_evidence_proof))
        .route("/evidence/consistency", get(get_consistency_proof))
        .route("/evidence/keys", get(list_signing_keys))
        .route("/evidence/audit", get(audit_evidence))
        .route("/estates/{code}/evidence/export", get(export_evidence))
        .route("/signing-keys/rotate", post(rotate_signing_key))
        .route("/companies/{id}/checkpoint", get(get_public_checkpoint))
        .route("/companies/{id}/keys", get(get_public_keys))
}

fn receipt_json(app: &App, r: &doorstep_store::Receipt) -> serde_json::Value {
    json!({
        "id": r.id,
        "company_id": r.company_id,
        "number": r.number,
        "number_display": doorstep_receipt::number_display(r.number),
        "estate_id": r.estate_id,
        "payment_id": r.payment_id,
        "status": r.status,
        "sha256": r.sha256,
        "leaf_index": r.leaf_index,
        "issued_at": r.issued_at,
        "void_reason": r.void_reason,
        "voided_at": r.voided_at,
        "attempts": r.attempts,
        "last_error": r.last_error,
        "note": r.note,
        "url": app.receipt_url(r),
    })
}

async fn get_receipt(State(app): State<App>, Staff(user): Staff, Path(id): Path<i64>) -> ApiResult {
    let r = app.receipt_for(&user, id).await?;
    to_json(&receipt_json(&app, &r))
}

async fn get_payment_receipt(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
) -> ApiResult {
    let r = app
        .store
        .receipt_of_payment(id)
        .await
        .map_err(AppError::from)?
        .ok_or_else(|| AppError::NotFound(format!("receipt of payment {id}")))?;
    let r = app.receipt_for(&user, r.id).await?;
    to_json(&receipt_json(&app, &r))
}

async fn get_receipt_by_token(State(app): State<App>, Path(token): Path<String>) -> ApiResult {
    let r = app.receipt_by_token(&token).await?;
    let verdict = match &r.note {
        Some(n) => Some(app.verify_receipt_note(n).await?),
        None => None,
    };
    to_json(&json!({
        "number": r.number,
        "number_display": doorstep_receipt::number_display(r.number),
        "status": r.status,
        "leaf_index": r.leaf_index,
        "void_reason": r.void_reason,
        "content": verdict.as_ref().and_then(|v| v.content.clone()),
        "verdict": verdict.as_ref().map(|v| v.verdict),
        "code": r.note.as_deref().map(doorstep_receipt::verification_code),
    }))
}

#[derive(Deserialize)]
struct FormatQuery {
    format: Option<String>,
}

async fn download_receipt(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
    Query(q): Query<FormatQuery>,
) -> Raw {
    let layout = parse_layout(q.format.as_deref().unwrap_or("a4"))?;
    let r = app.receipt_for(&user, id).await?;
    let pdf = app.receipt_pdf(&r, layout).await?;
    Ok(crate::ui::pdf_response(pdf, r.number))
}

#[derive(Deserialize)]
struct ReasonBody {
    reason: String,
}

async fn void_receipt(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
    Body(b): Body<ReasonBody>,
) -> ApiResult {
    to_json(&app.request_receipt_void(&user, id, &b.reason).await?)
}

#[derive(Deserialize)]
struct VerifyBody {
    note: Option<String>,
    company_id: Option<i64>,
    number: Option<i64>,
    code: Option<String>,
}

/// Verifies a receipt: a PDF (`Content-Type: application/pdf`), or JSON
/// with the signed `note`, or `company_id` and `number` (with the printed
/// verification `code` for more than "exists / void"; limited per client).
/// Public.
async fn verify_receipt(
    State(app): State<App>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let verdict = if ct.starts_with("application/pdf") || body.starts_with(b"%PDF") {
        app.verify_receipt_pdf(&body).await?
    } else {
        let b: VerifyBody = serde_json::from_slice(&body).map_err(|e| {
            AppError::Invalid(DomainError::invalid(
                "body",
                format!("send a PDF, or JSON with note or company_id and number: {e}"),
            ))
        })?;
        match (b.note, b.company_id, b.number) {
            (Some(n), _, _) => app.verify_receipt_note(&n).await?,
            (None, Some(c), Some(n)) => {
                app.lookup_receipt(&client, c, n, b.code.as_deref()).await?
            }
            _ => {
                return Err(AppError::Invalid(DomainError::invalid(
                    "note",
                    "give the signed note, or company_id and number",
                ))
                .into());
            }
        }
    };
    to_json(&verdict)
}

async fn request_invoice(
    State(app): State<App>,
    Path(token): Path<String>,
    Body(form): Body<InvoiceForm>,
) -> ApiResult {
    to_json(&app.request_invoice(&token, &form).await?)
}

#[derive(Deserialize)]
struct QueueQuery {
    estate: Option<String>,
    status: Option<String>,
    format: Option<String>,
}

async fn list_invoice_requests(
    State(app): State<App>,
    Staff(user): Staff,
    Query(q): Query<QueueQuery>,
) -> Raw {
    let list = app
        .invoice_queue(&user, q.estate.as_deref(), q.status.as_deref())
        .await?;
    if q.format.as_deref() == Some("xlsx") {
        let bytes = doorstep_app::invoice::queue_xlsx(&list)?;
        return Ok(crate::download(bytes, crate::XLSX, "invoice-requests.xlsx"));
    }
    Ok(to_json(&list)?.into_response())
}

#[derive(Deserialize)]
struct OutcomeBody {
    status: String,
    invoice_no: Option<String>,
    file_url: Option<String>,
    reason: Option<String>,
}

async fn record_invoice_outcome(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
    Body(b): Body<OutcomeBody>,
) -> ApiResult {
    to_json(
        &app.record_invoice_outcome(
            &user,
            id,
            &b.status,
            b.invoice_no.as_deref(),
            b.file_url.as_deref(),
            b.reason.as_deref(),
        )
        .await?,
    )
}

async fn get_fee_item_tax(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
) -> ApiResult {
    app.fee_item_of_user(&user, id).await?;
    let (code, bp) = app.store.fee_item_tax(id).await.map_err(AppError::from)?;
    to_json(&json!({"tax_code": code, "vat_rate_bp": bp}))
}

#[derive(Deserialize)]
struct TaxBody {
    tax_code: String,
    vat_rate_bp: i64,
}

async fn set_fee_item_tax(
    State(app): State<App>,
    Staff(user): Staff,
    Path(id): Path<i64>,
    Body(b): Body<TaxBody>,
) -> ApiResult {
    doorstep_app::require(&user, doorstep_domain::Permission::EditFees)?;
    app.fee_item_of_user(&user, id).await?;
    app.store
        .set_fee_item_tax(id, &b.tax_code, b.vat_rate_bp)
        .await
        .map_err(AppError::from)?;
    let (code, bp) = app.store.fee_item_tax(id).await.map_err(AppError::from)?;
    to_json(&json!({"tax_code": code, "vat_rate_bp": bp}))
}

fn checkpoint_json(c: &doorstep_store::StoredCheckpoint) -> serde_json::Value {
    json!({
        "origin": doorstep_app::receipt::origin(c.company_id),
        "size": c.size,
        "root": hex::encode(c.root),
        "note": c.note,
        "signed_at": c.signed_at,
    })
}

async fn get_checkpoint(State(app): State<App>, Staff(user): Staff) -> ApiResult {
    let c = app
        .checkpoint_for(&user)
        .await?
        .ok_or_else(|| AppError::NotFound("checkpoint (the log is empty)".into()))?;
    to_json(&checkpoint_json(&c))
}

/// A company's newest checkpoint, public: anyone holding a proof can check
/// it against the signed root.
async fn get_public_checkpoint(State(app): State<App>, Path(id): Path<i64>) -> ApiResult {
    app.store.company(id).await.map_err(AppError::from)?;
    let c = app
        .store
        .latest_checkpoint(id)
        .await
        .map_err(AppError::from)?
        .ok_or_else(|| AppError::NotFound("checkpoint".into()))?;
    to_json(&checkpoint_json(&c))
}

async fn get_public_keys(State(app): State<App>, Path(id): Path<i64>) -> ApiResult {
    app.store.company(id).await.map_err(AppError::from)?;
    let keys = app.store.signing_keys(id).await.map_err(AppError::from)?;
    to_json(&keys)
}

async fn list_signing_keys(State(app): State<App>, Staff(user): Staff) -> ApiResult {
    let keys = app
        .store
        .signing_keys(user.company_id)
        .await
        .map_err(AppError::from)?;
    to_json(&keys)
}

async fn rotate_signing_key(State(app): State<App>, Staff(user): Staff) -> ApiResult {
    to_json(&app.rotate_signing_key(&user).await?)
}

async fn get_evidence_proof(
    State(app): State<App>,
    Staff(user): Staff,
    Path(index): Path<u64>,
) -> ApiResult {
    to_json(&app.evidence_proof_for(&user, index).await?)
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    from: u64,
    to: u64,
}

async fn get_consistency_proof(
    State(app): State<App>,
    Staff(user): Staff,
    Query(q): Query<ConsistencyQuery>,
) -> ApiResult {
    to_json(&app.consistency_proof(user.company_id, q.from, q.to).await?)
}

async fn audit_evidence(State(app): State<App>, Staff(user): Staff) -> ApiResult {
    doorstep_app::require(&user, doorstep_domain::Permission::Treasury)?;
    to_json(&app.audit_evidence(user.company_id).await?)
}

#[derive(Deserialize)]
struct ExportQuery {
    #[serde(default)]
    room: Vec<i64>,
    #[serde(default)]
    space: Vec<i64>,
}

async fn export_evidence(
    State(app): State<App>,
    Staff(user): Staff,
    Path(code): Path<String>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Raw {
    let q = parse_export_query(raw.as_deref().unwrap_or(""))?;
    let mut objects: Vec<(ObjectKind, i64)> =
        q.room.iter().map(|i| (ObjectKind::Room, *i)).collect();
    objects.extend(q.space.iter().map(|i| (ObjectKind::Space, *i)));
    let zip = app.export_evidence(&user, &code, &objects).await?;
    Ok(crate::download(
        zip,
        "application/zip",
        &format!("evidence-{code}.zip"),
    ))
}

/// `room=1&room=2&space=3` (repeated keys, which serde_urlencoded does not
/// collect into vectors).
fn parse_export_query(raw: &str) -> Result<ExportQuery, WebError> {
    let mut q = ExportQuery {
        room: Vec::new(),
        space: Vec::new(),
    };
    for part in raw.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let n: i64 = v.parse().map_err(|_| {
            AppError::Invalid(DomainError::invalid(
                "room",
                format!("{k}={v:?} is not an id"),
            ))
        })?;
        match k {
            "room" => q.room.push(n),
            "space" => q.space.push(n),
            other => {
                return Err(AppError::Invalid(DomainError::invalid(
                    "query",
                    format!("unknown parameter {other:?}; use room=ID and space=ID"),
                ))
                .into());
            }
        }
    }
    Ok(q)
}
