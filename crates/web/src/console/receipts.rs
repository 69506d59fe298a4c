//! Receipts, invoices and evidence for staff: an estate's receipts with
//! their PDFs and void requests (finance approves them on the cash page),
//! an owner's evidence bundle, the evidence log's audit, the invoice queue
//! (finance: filter, export to Excel, record what was issued or why it
//! failed), and each fee item's tax classification code and VAT rate.

use super::{ConsoleUser, error_page, page, render};
use crate::ui::{Flash, at_local, back_or, done, enc};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use doorstep_app::{App, AppError, require, today};
use doorstep_domain::{DomainError, Fen, Lang, ObjectKind, Permission};
use doorstep_receipt::{NOTE_HEADER, ReceiptContent, number_display};
use doorstep_store::{Estate, FeeItem, InvoiceRequest, Receipt, User, space_label};
use maud::{Markup, html};
use serde::Deserialize;

/// Above this many rooms and spaces, the evidence export asks for ids
/// instead of offering a list.
const PICK_LIMIT: usize = 2000;

pub fn router() -> Router<App> {
    Router::new()
        .route("/console/{code}/receipts", get(list_page))
        .route("/console/{code}/evidence/export", post(export_evidence))
        .route("/console/receipts/{id}/pdf", get(staff_pdf))
        .route("/console/receipts/{id}/void", post(request_void))
        .route("/console/invoices", get(invoices_page))
        .route("/console/invoices.xlsx", get(invoices_xlsx))
        .route("/console/invoices/{id}/outcome", post(record_outcome))
        .route(
            "/console/fee-items/{id}/tax",
            get(tax_page).post(tax_submit),
        )
}

/// The content of a stored note, read without checking the signature (it
/// is our own record; the owner's page and /verify check it).
fn content_of(note: &str) -> Option<ReceiptContent> {
    let rest = note.strip_prefix(NOTE_HEADER)?;
    let (json, _) = rest.split_once('\n')?;
    serde_json::from_str(json).ok()
}

fn receipt_status(l: Lang, s: &str) -> &'static str {
    match s {
        "issued" => l.pick("有效", "valid"),
        "void" => l.pick("已作废", "void"),
        "pending" => l.pick("开具中", "being issued"),
        _ => l.pick("其他", "other"),
    }
}

fn invoice_status(l: Lang, s: &str) -> &'static str {
    match s {
        "requested" => l.pick("待开票", "requested"),
        "issued" => l.pick("已开票", "issued"),
        "failed" => l.pick("开票失败", "failed"),
        _ => l.pick("未知", "unknown"),
    }
}

/// `600` → `6`, `550` → `5.5`.
fn percent_text(bp: i64) -> String {
    let s = format!("{}.{:02}", bp / 100, bp % 100);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A percentage with up to two decimals in basis points: `6` → 600,
/// `5.5` → 550, `13%` → 1300. No floats.
fn percent_bp(s: &str) -> Result<i64, DomainError> {
    let bad = || {
        DomainError::invalid(
            "vat_rate",
            format!("{s:?} is not a percentage such as 6, 9, 13 or 5.5 (at most two decimals)"),
        )
    };
    let t = s.trim().trim_end_matches(['%', '％']).trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty())
        || !digits(int)
        || !digits(frac)
        || frac.len() > 2
        || int.len() > 3
    {
        return Err(bad());
    }
    let i: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let f: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    let bp = i * 100 + f;
    if bp > 10_000 {
        return Err(DomainError::invalid(
            "vat_rate",
            format!("{s:?}: a VAT rate is at most 100%"),
        ));
    }
    Ok(bp)
}

/// A `back` path without control characters (they cannot go in a header).
fn clean(back: Option<&str>) -> Option<&str> {
    back.filter(|b| !b.chars().any(char::is_control))
}

fn web_link(u: &str) -> bool {
    let u = u.trim().to_ascii_lowercase();
    u.starts_with("https://") || u.starts_with("http://")
}

// --- an estate's receipts ---

#[derive(Deserialize, Default)]
struct ListQuery {
    ok: Option<String>,
    err: Option<String>,
    audit: Option<String>,
}

async fn list_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app
            .estate_for(&cu.user, &code, Permission::ReadBills)
            .await?;
        let receipts = app.store.receipts(e.id, 200).await?;
        let mut rows = Vec::with_capacity(receipts.len());
        for r in receipts {
            let content = r.note.as_deref().and_then(content_of);
            // Pending receipts (rare) have no content yet: the payment says how much.
            let amount = match &content {
                Some(c) => Some(c.total_fen),
                None => app
                    .store
                    .payment_fact(r.payment_id)
                    .await?
                    .map(|f| f.amount.0),
            };
            rows.push((r, content, amount));
        }
        let audit = if q.audit.is_some() {
            require(&cu.user, Permission::Treasury)?;
            Some(app.audit_evidence(cu.user.company_id).await?)
        } else {
            None
        };
        let mut taxes = Vec::new();
        for i in app.store.list_fee_items(e.id).await? {
            let t = app.store.fee_item_tax(i.id).await?;
            taxes.push((i, t));
        }
        let rooms = app.store.list_rooms(e.id, "", PICK_LIMIT as i64 + 1, 0).await?;
        let spaces = app.store.list_spaces(e.id, "", PICK_LIMIT as i64 + 1, 0).await?;
        let pick = rooms.len() + spaces.len() <= PICK_LIMIT;
        let can_void = cu.user.role.allows(Permission::RecordPayment);
        let finance = cu.user.role.allows(Permission::Treasury);
        let can_tax = cu.user.role.allows(Permission::EditFees);
        let back = format!("/console/{}/receipts", e.code);
        let flash = Flash { ok: q.ok.clone(), err: q.err.clone() };
        let body = html! {
            @if finance {
                p { a href={"/console/invoices?estate=" (enc(&e.code))} { (l.pick("开票申请队列", "Invoice queue")) } " · "
                    a href={"/console/" (e.code) "/cash"} { (l.pick("作废审批（现金与对账）", "Approve voids (cash page)")) } }
            }
            section {
                h2 { (l.pick("收据（最近 200 张）", "Receipts (newest 200)")) }
                @if rows.is_empty() { p { (l.pick("还没有收据。", "No receipts yet.")) } }
                @else {
                    div.table tabindex="0" role="region" aria-label=(l.pick("收据", "Receipts")) { table #receipts {
                        thead { tr {
                            th scope="col" { (l.pick("编号", "No.")) }
                            th scope="col" { (l.pick("时间", "Time")) }
                            th scope="col" { (l.pick("交款人 / 房屋车位", "Payer / room or space")) }
                            th.num scope="col" { (l.pick("金额", "Amount")) }
                            th scope="col" { (l.pick("状态", "Status")) }
                            th scope="col" { (l.pick("操作", "Actions")) }
                        } }
                        tbody {
                            @for (r, c, amount) in &rows {
                                tr id={"receipt-" (r.id)} {
                                    td { "No." (number_display(r.number)) }
                                    td { (at_local(&e, r.issued_at.unwrap_or(r.created_at))) }
                                    td {
                                        @match c {
                                            Some(c) => { (c.payer) br; span.muted { (c.object) } }
                                            None => { span.muted { (l.pick("收款 #", "Payment #")) (r.payment_id) } }
                                        }
                                    }
                                    td.num { (amount.map(|f| Fen(f).to_string()).unwrap_or_default()) }
                                    td {
                                        (receipt_status(l, &r.status))
                                        @if let Some(why) = &r.void_reason { br; span.muted { (why) } }
                                    }
                                    td { (actions(l, r, can_void, &back)) }
                                }
                            }
                        }
                    } }
                }
            }
            section {
                h2 { (l.pick("导出业主存证包", "Export an owner's evidence bundle")) }
                p.muted { (l.pick(
                    "选择业主的房屋和车位，导出其全部存证记录、包含证明、已签名的检查点、签名图片和收据（ZIP），用于纠纷处理。",
                    "Pick the owner's rooms and spaces to export every record about them with inclusion proofs, the signed checkpoint, signature images and receipts (ZIP), for a dispute."
                )) }
                form.card method="post" action={"/console/" (e.code) "/evidence/export"} {
                    @if pick {
                        label { (l.pick("房屋 / 车位（可多选：按住 Ctrl 或 ⌘）", "Rooms / spaces (several: hold Ctrl or ⌘)"))
                            select name="object" multiple size="8" required {
                                optgroup label=(l.pick("房屋", "Rooms")) {
                                    @for r in &rooms {
                                        option value={"room:" (r.id)} { (r.label()) @if !r.owners.is_empty() { " · " (r.owners.join("、")) } }
                                    }
                                }
                                optgroup label=(l.pick("车位", "Spaces")) {
                                    @for s in &spaces {
                                        option value={"space:" (s.id)} { (space_label(&s.level, &s.code)) @if !s.owners.is_empty() { " · " (s.owners.join("、")) } }
                                    }
                                }
                            }
                        }
                    } @else {
                        label { (l.pick("房屋、车位编号（如 room:12 space:3，空格分隔；编号见房屋、车位页面链接）", "Room and space ids (e.g. room:12 space:3, separated by spaces; the ids are in the links of the rooms and spaces pages)"))
                            input name="objects" required; }
                    }
                    button type="submit" { (l.pick("导出 ZIP", "Export ZIP")) }
                }
            }
            @if finance {
                section {
                    h2 { (l.pick("存证日志", "Evidence log")) }
                    form method="get" action={"/console/" (e.code) "/receipts"} {
                        input type="hidden" name="audit" value="1";
                        button.secondary type="submit" { (l.pick("检查存证日志", "Audit the evidence log")) }
                    }
                    @if let Some(a) = &audit {
                        div.card #audit {
                            p { (l.pick("记录数 ", "Records ")) strong { (a.size) } (l.pick("，已签名检查点 ", ", signed checkpoints ")) strong { (a.checkpoints) } }
                            @if a.findings.is_empty() {
                                p.ok role="status" { (l.pick("完整：每条记录与日志一致，每个检查点的根哈希都能由记录重新算出。", "Intact: every record matches the log and every checkpoint's root recomputes from the records.")) }
                            } @else {
                                p.err role="alert" { (l.pick("发现问题：", "Findings: ")) (a.findings.len()) }
                                ul { @for f in &a.findings { li { (f) } } }
                            }
                        }
                    }
                }
            }
            section {
                h2 { (l.pick("收费项目税务信息", "Fee items: tax data")) }
                div.table tabindex="0" role="region" aria-label=(l.pick("收费项目税率", "Fee items' tax data")) { table #fee-tax {
                    thead { tr {
                        th scope="col" { (l.pick("收费项目", "Fee item")) }
                        th scope="col" { (l.pick("税收分类编码", "Tax classification code")) }
                        th.num scope="col" { (l.pick("税率", "VAT rate")) }
                        th scope="col" { (l.pick("操作", "Action")) }
                    } }
                    tbody { @for (i, (tax_code, bp)) in &taxes { tr {
                        td { (i.spec.name) }
                        td { @if tax_code.is_empty() { span.muted { (l.pick("未设置", "not set")) } } @else { code { (tax_code) } } }
                        td.num { (percent_text(*bp)) "%" }
                        td { @if can_tax { a href={"/console/fee-items/" (i.id) "/tax"} { (l.pick("设置", "Set")) } } }
                    } } }
                } }
            }
        };
        Ok::<Markup, AppError>(page(
            l,
            &format!("{} · {}", e.name, l.pick("收据与存证", "Receipts and evidence")),
            Some(&cu.user),
            Some(&e.code),
            &flash,
            body,
        ))
    }
    .await;
    render(l, r)
}

fn actions(l: Lang, r: &Receipt, can_void: bool, back: &str) -> Markup {
    html! {
        @if r.note.is_some() {
            a href={"/console/receipts/" (r.id) "/pdf?format=a4"} { "PDF" } " · "
        }
        a href={"/r/" (r.token)} { (l.pick("业主页面", "Owner's page")) }
        @if can_void && r.status != "void" {
            form.act method="post" action={"/console/receipts/" (r.id) "/void"} {
                input type="hidden" name="back" value=(back);
                label { span.muted { (l.pick("作废原因", "Reason")) } input name="reason" required maxlength="200"; }
                button.secondary type="submit" { (l.pick("申请作废", "Request void")) }
            }
        }
    }
}

#[derive(Deserialize)]
struct PdfQuery {
    format: Option<String>,
}

async fn staff_pdf(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(id): Path<i64>,
    Query(q): Query<PdfQuery>,
) -> Response {
    let r = async {
        let r = app.receipt_for(&cu.user, id).await?;
        let layout = doorstep_app::receipt::parse_layout(q.format.as_deref().unwrap_or("a4"))?;
        let bytes = app.receipt_pdf(&r, layout).await?;
        Ok::<_, AppError>(crate::ui::pdf_response(bytes, r.number))
    }
    .await;
    match r {
        Ok(res) => res,
        Err(e) => error_page(cu.lang, &e),
    }
}

#[derive(Deserialize)]
struct VoidForm {
    #[serde(default)]
    reason: String,
    back: Option<String>,
}

async fn request_void(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(id): Path<i64>,
    Form(f): Form<VoidForm>,
) -> Response {
    let l = cu.lang;
    let to = back_or(clean(f.back.as_deref()), "/console".into());
    let r = async {
        let reason = f.reason.trim();
        if reason.is_empty() {
            return Err(
                DomainError::invalid("reason", "say why the receipt is to be voided").into(),
            );
        }
        let rev = app.request_receipt_void(&cu.user, id, reason).await?;
        Ok(format!(
            "{} (#{})",
            l.pick(
                "已提交作废申请，待财务审批",
                "Void requested; finance must approve it"
            ),
            rev.id
        ))
    }
    .await;
    done(&to, l, r)
}

/// `room:12` or `space:3`.
fn parse_object(s: &str) -> Result<(ObjectKind, i64), DomainError> {
    let bad = || {
        DomainError::invalid(
            "objects",
            format!("{s:?} is not a room or space (write room:ID or space:ID)"),
        )
    };
    let (kind, id) = s.trim().split_once(':').ok_or_else(bad)?;
    let kind = ObjectKind::from_code(kind.trim()).map_err(|_| bad())?;
    let id: i64 = id.trim().parse().map_err(|_| bad())?;
    Ok((kind, id))
}

async fn export_evidence(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app
            .estate_for(&cu.user, &code, Permission::ReadBills)
            .await?;
        let mut objects = Vec::new();
        for (k, v) in &fields {
            match k.as_str() {
                "object" => objects.push(parse_object(v)?),
                "objects" => {
                    for t in v.split([' ', ',', '，', '、', '\n', '\r', '\t']) {
                        if !t.trim().is_empty() {
                            objects.push(parse_object(t)?);
                        }
                    }
                }
                _ => {}
            }
        }
        objects.sort();
        objects.dedup();
        let zip = app.export_evidence(&cu.user, &e.code, &objects).await?;
        Ok::<_, AppError>((e, zip))
    }
    .await;
    match r {
        Ok((e, zip)) => crate::download(
            zip,
            "application/zip",
            &format!("evidence-{}-{}.zip", e.code, today(&e)),
        ),
        Err(err) => done(&format!("/console/{}/receipts", enc(&code)), l, Err(err)),
    }
}

// --- the invoice queue ---

#[derive(Deserialize, Default)]
struct QueueQuery {
    estate: Option<String>,
    status: Option<String>,
    ok: Option<String>,
    err: Option<String>,
}

impl QueueQuery {
    fn estate(&self) -> Option<&str> {
        self.estate
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
    fn status(&self) -> Option<&str> {
        self.status
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }
    /// The query string of the filters.
    fn filters(&self) -> String {
        format!(
            "estate={}&status={}",
            enc(self.estate().unwrap_or("")),
            enc(self.status().unwrap_or(""))
        )
    }
}

async fn estates_of(app: &App, user: &User) -> Result<Vec<Estate>, AppError> {
    Ok(app
        .store
        .list_estates(user.company_id)
        .await?
        .into_iter()
        .filter(|e| user.can_access(e))
        .collect())
}

fn request_row(l: Lang, q: &InvoiceRequest, estate: Option<&Estate>, back: &str) -> Markup {
    html! {
        tr id={"invoice-" (q.id)} {
            td { (q.id) }
            td {
                "No." (number_display(q.receipt_number))
                @if let Some(e) = estate { br; span.muted { (e.name) } }
            }
            td { @if let Some(e) = estate { (at_local(e, q.created_at)) } }
            td {
                (if q.kind == "company" { l.pick("单位", "company") } else { l.pick("个人", "person") })
                br; strong { (q.title) }
                @if let Some(t) = &q.tax_id { br; code { (t) } }
            }
            td {
                @if let Some(m) = &q.email { (m) br; }
                @if let Some(p) = &q.phone { (p) br; }
                @if let Some(a) = &q.address { span.muted { (a) } br; }
                @if let Some(b) = &q.bank { span.muted { (b) } }
            }
            td {
                ul style="margin:0;padding-left:1rem" {
                    @for x in &q.lines {
                        li { (x.item) " " (x.amount)
                            br; span.calc {
                                @if x.tax_code.is_empty() { (l.pick("税收分类编码未设置", "no tax code")) } @else { (x.tax_code) }
                                " · " (percent_text(x.vat_rate_bp)) "%"
                            }
                        }
                    }
                }
            }
            td.num { (q.amount) }
            td {
                (invoice_status(l, &q.status))
                @if let Some(n) = &q.invoice_no { br; (n) }
                @if let Some(u) = q.file_url.as_deref().filter(|u| web_link(u)) { br; a href=(u) rel="noopener noreferrer" { (l.pick("发票文件", "file")) } }
                @if let Some(r) = &q.reason { br; span.muted { (r) } }
            }
            td {
                @if q.status == "requested" {
                    form.act method="post" action={"/console/invoices/" (q.id) "/outcome"} {
                        input type="hidden" name="status" value="issued";
                        input type="hidden" name="back" value=(back);
                        label { span.muted { (l.pick("发票号码", "Invoice No.")) } input name="invoice_no" required maxlength="40"; }
                        label { span.muted { (l.pick("文件链接（选填）", "File link (optional)")) } input name="file_url" type="url" maxlength="500"; }
                        button type="submit" { (l.pick("已开票", "Issued")) }
                    }
                    form.act method="post" action={"/console/invoices/" (q.id) "/outcome"} {
                        input type="hidden" name="status" value="failed";
                        input type="hidden" name="back" value=(back);
                        label { span.muted { (l.pick("失败原因", "Why it failed")) } input name="reason" required maxlength="200"; }
                        button.secondary type="submit" { (l.pick("开票失败", "Failed")) }
                    }
                }
            }
        }
    }
}

async fn invoices_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Query(q): Query<QueueQuery>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let list = app
            .invoice_queue(&cu.user, q.estate(), q.status())
            .await?;
        let estates = estates_of(&app, &cu.user).await?;
        let back = format!("/console/invoices?{}", q.filters());
        let flash = Flash {
            ok: q.ok.clone(),
            err: q.err.clone(),
        };
        let status = q.status().unwrap_or("");
        let body = html! {
            form.row method="get" action="/console/invoices" {
                label { (l.pick("小区", "Estate"))
                    select name="estate" {
                        option value="" { (l.pick("全部", "All")) }
                        @for e in &estates { option value=(e.code) selected[q.estate() == Some(e.code.as_str())] { (e.name) } }
                    }
                }
                label { (l.pick("状态", "Status"))
                    select name="status" {
                        option value="" selected[status.is_empty()] { (l.pick("全部", "All")) }
                        @for s in ["requested", "issued", "failed"] {
                            option value=(s) selected[status == s] { (invoice_status(l, s)) }
                        }
                    }
                }
                button type="submit" { (l.pick("筛选", "Filter")) }
            }
            p { a href={"/console/invoices.xlsx?" (q.filters())} { (l.pick("导出 Excel（手工开票用）", "Export to Excel (for issuing by hand)")) } }
            @if list.is_empty() {
                p { (l.pick("没有开票申请。", "No invoice requests.")) }
            } @else {
                div.table tabindex="0" role="region" aria-label=(l.pick("开票申请", "Invoice requests")) { table #invoices {
                    thead { tr {
                        th scope="col" { "#" }
                        th scope="col" { (l.pick("收据", "Receipt")) }
                        th scope="col" { (l.pick("申请时间", "Requested")) }
                        th scope="col" { (l.pick("抬头 / 税号", "Title / tax id")) }
                        th scope="col" { (l.pick("联系方式", "Contact")) }
                        th scope="col" { (l.pick("项目", "Lines")) }
                        th.num scope="col" { (l.pick("金额", "Amount")) }
                        th scope="col" { (l.pick("状态", "Status")) }
                        th scope="col" { (l.pick("记录结果", "Record outcome")) }
                    } }
                    tbody {
                        @for r in &list {
                            (request_row(l, r, estates.iter().find(|e| e.id == r.estate_id), &back))
                        }
                    }
                } }
            }
        };
        Ok::<Markup, AppError>(page(
            l,
            l.pick("开票申请", "Invoice requests"),
            Some(&cu.user),
            q.estate(),
            &flash,
            body,
        ))
    }
    .await;
    render(l, r)
}

async fn invoices_xlsx(
    State(app): State<App>,
    cu: ConsoleUser,
    Query(q): Query<QueueQuery>,
) -> Response {
    let r = async {
        let list = app.invoice_queue(&cu.user, q.estate(), q.status()).await?;
        doorstep_app::invoice::queue_xlsx(&list)
    }
    .await;
    match r {
        Ok(bytes) => {
            let day = jiff::Timestamp::now()
                .to_zoned(
                    jiff::tz::TimeZone::get("Asia/Shanghai").unwrap_or(jiff::tz::TimeZone::UTC),
                )
                .date();
            crate::download(bytes, crate::XLSX, &format!("invoices-{day}.xlsx"))
        }
        Err(e) => error_page(cu.lang, &e),
    }
}

#[derive(Deserialize)]
struct OutcomeForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    invoice_no: String,
    #[serde(default)]
    file_url: String,
    #[serde(default)]
    reason: String,
    back: Option<String>,
}

fn non_empty(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

async fn record_outcome(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(id): Path<i64>,
    Form(f): Form<OutcomeForm>,
) -> Response {
    let l = cu.lang;
    let to = back_or(clean(f.back.as_deref()), "/console/invoices".into());
    let r = async {
        let status = f.status.trim();
        match status {
            "issued" => {
                if let Some(u) = non_empty(&f.file_url)
                    && !web_link(u)
                {
                    return Err(DomainError::invalid(
                        "file_url",
                        "the invoice file link must start with https:// or http://",
                    )
                    .into());
                }
                let q = app
                    .record_invoice_outcome(
                        &cu.user,
                        id,
                        "issued",
                        non_empty(&f.invoice_no),
                        non_empty(&f.file_url),
                        None,
                    )
                    .await?;
                Ok(format!(
                    "#{} {} {}",
                    q.id,
                    l.pick(
                        "已记录为已开票，发票号码",
                        "recorded as issued, invoice No."
                    ),
                    q.invoice_no.unwrap_or_default()
                ))
            }
            "failed" => {
                let q = app
                    .record_invoice_outcome(
                        &cu.user,
                        id,
                        "failed",
                        None,
                        None,
                        non_empty(&f.reason),
                    )
                    .await?;
                Ok(format!(
                    "#{} {}",
                    q.id,
                    l.pick(
                        "已记录为开票失败，业主可重新申请",
                        "recorded as failed; the owner may ask again"
                    )
                ))
            }
            other => Err(DomainError::invalid(
                "status",
                format!("must be issued or failed, got {other:?}"),
            )
            .into()),
        }
    }
    .await;
    done(&to, l, r)
}

// --- fee item tax data ---

/// A fee item the user may see, with its estate.
#[derive(Deserialize, Default)]
struct TaxForm {
    #[serde(default)]
    tax_code: String,
    #[serde(default)]
    vat_rate: String,
}

fn tax_error(l: Lang, d: &DomainError) -> String {
    match (l, d.field()) {
        (Lang::Zh, "tax_code") => format!("税收分类编码应为 19 位数字（{d}）"),
        (Lang::Zh, "vat_rate") => {
            format!("税率应为百分数，如 6、9、13 或 5.5，最多两位小数（{d}）")
        }
        _ => d.to_string(),
    }
}

fn tax_body(
    l: Lang,
    e: &Estate,
    item: &FeeItem,
    can_edit: bool,
    v: &TaxForm,
    err: Option<(&str, String)>,
) -> Markup {
    let mine = |f: &str| {
        err.as_ref()
            .filter(|(x, _)| *x == f)
            .map(|(_, m)| m.clone())
    };
    let code_err = mine("tax_code");
    let rate_err = mine("vat_rate");
    html! {
        p { (e.name) " · " a href={"/console/" (e.code) "/receipts"} { (l.pick("收据与存证", "Receipts and evidence")) } }
        @if let Some((f, m)) = &err && *f != "tax_code" && *f != "vat_rate" { p.err role="alert" { (m) } }
        @if can_edit {
            form.card method="post" action={"/console/fee-items/" (item.id) "/tax"} {
                label for="tax_code" { (l.pick("税收分类编码（19 位数字）", "Tax classification code (19 digits)")) }
                input #tax_code name="tax_code" value=(v.tax_code) inputmode="numeric" maxlength="19" pattern="[0-9]{19}" required
                    aria-invalid=[code_err.as_ref().map(|_| "true")] aria-describedby=[code_err.as_ref().map(|_| "tax_code-err")];
                @if let Some(m) = &code_err { p.err #tax_code-err role="alert" { (m) } }
                p.muted { (l.pick("见国家税务总局《商品和服务税收分类编码表》。", "From the State Taxation Administration's classification table.")) }
                label for="vat_rate" { (l.pick("税率（%，如 6、9、13）", "VAT rate (%, e.g. 6, 9, 13)")) }
                input #vat_rate name="vat_rate" value=(v.vat_rate) inputmode="decimal" required
                    aria-invalid=[rate_err.as_ref().map(|_| "true")] aria-describedby=[rate_err.as_ref().map(|_| "vat_rate-err")];
                @if let Some(m) = &rate_err { p.err #vat_rate-err role="alert" { (m) } }
                button type="submit" { (l.pick("保存", "Save")) }
            }
        } @else {
            p { (l.pick("税收分类编码：", "Tax classification code: ")) code { (v.tax_code) } }
            p { (l.pick("税率：", "VAT rate: ")) (v.vat_rate) "%" }
        }
    }
}

async fn tax_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(id): Path<i64>,
    Query(flash): Query<Flash>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let (e, item) = app.fee_item_of_user(&cu.user, id).await?;
        let (code, bp) = app.store.fee_item_tax(id).await?;
        let v = TaxForm {
            tax_code: code,
            vat_rate: percent_text(bp),
        };
        let can_edit = cu.user.role.allows(Permission::EditFees);
        Ok::<Markup, AppError>(page(
            l,
            &format!("{} · {}", item.spec.name, l.pick("税务信息", "Tax data")),
            Some(&cu.user),
            Some(&e.code),
            &flash,
            tax_body(l, &e, &item, can_edit, &v, None),
        ))
    }
    .await;
    render(l, r)
}

async fn tax_submit(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(id): Path<i64>,
    Form(f): Form<TaxForm>,
) -> Response {
    let l = cu.lang;
    let (e, item) = match app.fee_item_of_user(&cu.user, id).await {
        Ok(x) => x,
        Err(err) => return error_page(l, &err),
    };
    let saved = async {
        require(&cu.user, Permission::EditFees)?;
        let bp = percent_bp(&f.vat_rate)?;
        app.store
            .set_fee_item_tax(id, f.tax_code.trim(), bp)
            .await?;
        Ok::<_, AppError>(())
    }
    .await;
    match saved {
        Ok(()) => done(
            &format!("/console/fee-items/{id}/tax"),
            l,
            Ok(format!("{} {}", l.pick("已保存", "Saved"), item.spec.name)),
        ),
        Err(AppError::Invalid(d)) => {
            let msg = tax_error(l, &d);
            let field = d.field();
            let flash = Flash::default();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                page(
                    l,
                    &format!("{} · {}", item.spec.name, l.pick("税务信息", "Tax data")),
                    Some(&cu.user),
                    Some(&e.code),
                    &flash,
                    tax_body(l, &e, &item, true, &f, Some((field, msg))),
                ),
            )
                .into_response()
        }
        Err(err) => error_page(l, &err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages() {
        assert_eq!(percent_bp("6").ok(), Some(600));
        assert_eq!(percent_bp("5.5").ok(), Some(550));
        assert_eq!(percent_bp(" 13% ").ok(), Some(1300));
        assert_eq!(percent_bp("0.75").ok(), Some(75));
        assert_eq!(percent_bp("6.").ok(), Some(600));
        assert_eq!(percent_bp(".5").ok(), Some(50));
        assert_eq!(percent_bp("100").ok(), Some(10_000));
        for bad in ["", ".", "abc", "5.555", "-6", "6,5", "101", "1e2", "１３"] {
            assert_eq!(
                percent_bp(bad).err().map(|e| e.field()),
                Some("vat_rate"),
                "{bad}"
            );
        }
        assert_eq!(percent_text(600), "6");
        assert_eq!(percent_text(550), "5.5");
        assert_eq!(percent_text(75), "0.75");
        assert_eq!(percent_text(0), "0");
    }

    #[test]
    fn objects() {
        assert_eq!(parse_object("room:12").ok(), Some((ObjectKind::Room, 12)));
        assert_eq!(parse_object(" space:3 ").ok(), Some((ObjectKind::Space, 3)));
        assert!(parse_object("room").is_err());
        assert!(parse_object("house:1").is_err());
        assert!(parse_object("room:x").is_err());
    }

    #[test]
    fn notes() {
        assert!(content_of("not a note").is_none());
        assert!(content_of("doorstep-receipt/v1\n{bad json}\n\n— x").is_none());
    }
}
