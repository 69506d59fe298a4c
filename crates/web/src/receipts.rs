//! The owner's e-receipt pages and the public verification page, no
//! sign-in: the receipt's unguessable token (in the SMS link sent only to
//! the owners' phones) is the key. The receipt as signed (its content
//! read back from the verified note, not from database fields), its PDF in
//! three sizes, a copy sent to another phone, the payment's evidence record
//! with its inclusion proof, invoice requests, and `/verify` for anyone
//! holding a receipt number (with its printed verification code) or a
//! receipt PDF. The QR code printed on a receipt opens `/verify` with the
//! number and code, never the private link: a paper receipt lets its holder
//! check it, not act for the owner. Chinese by default, English on a tap,
//! large text; no JavaScript.

use crate::WebError;
use crate::session::{ClientAddr, cookie, lang};
use crate::ui::enc;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use doorstep_app::evidence::EvidenceProof;
use doorstep_app::invoice::InvoiceForm;
use doorstep_app::receipt::{ReceiptVerdict, mask_payer};
use doorstep_app::{App, AppError};
use doorstep_domain::{DomainError, Fen, Lang, PhoneNumber};
use doorstep_receipt::{ReceiptContent, datetime_display, method_label, number_display};
use doorstep_store::{Estate, InvoiceRequest, Receipt};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

/// The largest receipt PDF `/verify` accepts.
const MAX_UPLOAD: usize = 10 * 1024 * 1024;

/// Public routes: `/r/{token}…` and `/verify`.
pub fn router() -> Router<App> {
    Router::new()
        .route("/r/prefs", get(prefs))
        .route("/r/{token}", get(receipt_page))
        .route("/r/{token}/pdf", get(receipt_pdf))
        .route("/r/{token}/copy", post(send_copy))
        .route("/r/{token}/invoice", get(invoice_page).post(invoice_submit))
        .route(
            "/verify",
            get(verify_page)
                .post(verify_upload)
                .layer(DefaultBodyLimit::max(MAX_UPLOAD)),
        )
}

/// Display preferences from cookies (shared with the owner pages).
#[derive(Clone, Copy)]
struct Prefs {
    lang: Lang,
    big: bool,
}

fn prefs_of(headers: &HeaderMap) -> Prefs {
    Prefs {
        lang: lang(headers),
        big: cookie(headers, "big").as_deref() == Some("1"),
    }
}

const CSS: &str = r#"
:root{--fg:#111;--muted:#4a4a4a;--line:#c4c4c4;--accent:#0047b3;--bg:#fff;--warn:#a3120a;--ok:#05603a;--soft:#f3f5f8;--amber:#7a2e0e}
*{box-sizing:border-box}html{font-size:18px}html.big{font-size:24px}
body{margin:0;font:1rem/1.6 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:var(--fg);background:var(--bg)}
html.big body{--muted:#000;--line:#000;--accent:#002b80;--soft:#fff}
header{display:flex;flex-wrap:wrap;gap:.4rem .9rem;align-items:center;padding:.5rem .8rem;background:var(--soft);border-bottom:1px solid var(--line)}
header .brand{font-weight:700;color:var(--fg);text-decoration:none}header .tools{margin-left:auto;display:flex;flex-wrap:wrap;gap:.3rem .8rem}
a{color:var(--accent)}main{padding:.8rem;max-width:46rem;margin:0 auto}h1{font-size:1.35rem;margin:.3rem 0 .8rem}h2{font-size:1.15rem;margin:1.2rem 0 .5rem}h3{font-size:1.05rem;margin:1rem 0 .4rem}
.card{border:1px solid var(--line);border-radius:10px;padding:.8rem;margin:.6rem 0}html.big .card{border-width:2px}
.ok{background:#ecfdf3;color:var(--ok);padding:.6rem .8rem;border-radius:8px;font-weight:600}.err{background:#fef3f2;color:var(--warn);padding:.6rem .8rem;border-radius:8px;font-weight:600}
.banner{border-radius:12px;padding:.8rem 1rem;margin:.4rem 0 1rem;border:3px solid currentColor}.banner b{display:block;font-size:1.7rem;line-height:1.3}.banner p{margin:.3rem 0 0}
.banner.valid{color:var(--ok);background:#ecfdf3}.banner.void,.banner.invalid{color:var(--warn);background:#fef3f2}.banner.pending{color:var(--amber);background:#fffaeb}
label{display:block;margin:.6rem 0}input[type=tel],input[type=text],input[type=email],input[type=number],input[type=file]{display:block;width:100%;font:inherit;padding:.55rem .6rem;border:2px solid #6b6b6b;border-radius:8px;min-height:3rem;margin-top:.2rem;background:#fff}
input[aria-invalid=true]{border-color:var(--warn)}.field-err{color:var(--warn);font-weight:600;margin:.2rem 0 0}
.check{display:flex;gap:.6rem;align-items:center;margin:.4rem 0}.check input{width:1.4rem;height:1.4rem;flex:none}
button,.button{display:inline-block;font:inherit;font-weight:600;padding:.7rem 1.2rem;min-height:3rem;border-radius:10px;border:2px solid var(--accent);background:var(--accent);color:#fff;text-decoration:none;cursor:pointer}
.button.secondary,button.secondary{background:#fff;color:var(--accent)}.buttons{display:flex;flex-wrap:wrap;gap:.5rem;margin:.6rem 0}
fieldset{border:1px solid var(--line);border-radius:10px;margin:.6rem 0;padding:.4rem .7rem}legend{font-weight:700;padding:0 .3rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .35rem;border-bottom:1px solid var(--line);vertical-align:top}
td.num,th.num{text-align:right;white-space:nowrap}.table{overflow-x:auto}.muted{color:var(--muted)}.total{font-size:1.2rem;font-weight:700}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.4rem 0}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
code,.hash{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;word-break:break-all}
pre{white-space:pre-wrap;word-break:break-all;background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:.6rem;font-size:.85rem}
details summary{cursor:pointer;color:var(--accent);min-height:2rem}ol.path{padding-left:1.6rem}ol.path li{margin:.15rem 0}
.status{display:inline-block;padding:.05rem .5rem;border-radius:999px;border:1px solid currentColor;font-size:.9rem}
"#;

fn layout(p: Prefs, title: &str, here: &str, body: Markup) -> Markup {
    let l = p.lang;
    let here = enc(here);
    html! {
        (DOCTYPE)
        html lang=(l.pick("zh-CN", "en")) class=(if p.big { "big" } else { "" }) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                meta name="robots" content="noindex";
                title { (title) " · " (l.pick("电子收据", "E-receipt")) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    span.brand { (l.pick("电子收据", "E-receipt")) }
                    nav.tools aria-label=(l.pick("显示设置", "Display")) {
                        @if p.big {
                            a href={"/r/prefs?big=0&back=" (here)} { (l.pick("标准字体", "Normal text")) }
                        } @else {
                            a href={"/r/prefs?big=1&back=" (here)} { (l.pick("大字模式", "Large text")) }
                        }
                        @if l == Lang::En { a href={"/r/prefs?lang=zh&back=" (here)} lang="zh-CN" { "中文" } }
                        @else { a href={"/r/prefs?lang=en&back=" (here)} lang="en" { "English" } }
                        a href="/verify" { (l.pick("验证收据", "Verify a receipt")) }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// A page for an error: 404 says only "not found".
fn error_page(p: Prefs, e: &AppError) -> Response {
    let l = p.lang;
    let (status, _) = WebError(e.clone()).status();
    let msg: String = match e {
        AppError::NotFound(_) => l
            .pick(
                "没有找到这张收据。请核对链接是否完整，或联系物业服务中心。",
                "No such receipt. Check that the link is complete, or ask the property office.",
            )
            .into(),
        AppError::Invalid(d) => field_error(l, d),
        AppError::Storage(_) => {
            // Logs the detail; shows nothing of it.
            let _ = WebError(e.clone()).message();
            l.pick(
                "服务暂时不可用，请稍后再试。",
                "The service is busy; please try again.",
            )
            .into()
        }
        other => WebError(other.clone()).message(),
    };
    let title = match status {
        StatusCode::NOT_FOUND => l.pick("没有找到", "Not found"),
        _ => l.pick("出错了", "Something went wrong"),
    };
    (
        status,
        layout(
            p,
            title,
            "/verify",
            html! { p.err role="alert" { (msg) } p { a href="/verify" { (l.pick("验证收据", "Verify a receipt")) } } },
        ),
    )
        .into_response()
}

/// A message for a bad field, naming it.
fn field_error(l: Lang, d: &DomainError) -> String {
    let f = d.field();
    let detail = d.to_string();
    let zh = match f {
        "format" => "format 参数有误：只能是 a4、a5 或 80mm".to_string(),
        "kind" => "请选择发票类型：个人或单位".into(),
        "title" if detail.contains("at most") => "发票抬头过长，最多 100 个字".into(),
        "title" => "请填写发票抬头（个人姓名或单位全称）".into(),
        "tax_id" => "单位发票请填写纳税人识别号（18 位统一社会信用代码）".into(),
        "credit_code" => "纳税人识别号有误，请核对 18 位统一社会信用代码".into(),
        "email" if detail.contains("give an email") => {
            "请填写邮箱或手机号码（至少一项），用于接收电子发票".into()
        }
        "email" => "邮箱地址格式不正确".into(),
        "phone" => "请输入 11 位手机号码".into(),
        "address" => "地址、电话最多 200 个字".into(),
        "bank" => "开户行及账号最多 200 个字".into(),
        "company" => "公司编号应为数字".into(),
        "number" => "收据编号应为数字，如 00000123".into(),
        "code" => "验证码应为 8 位字母和数字，如 7K3M-Q9XD".into(),
        "file" => "请选择收据 PDF 文件".into(),
        _ => format!("{f} 有误：{detail}"),
    };
    match l {
        Lang::Zh => zh,
        Lang::En => detail,
    }
}

/// The input a domain error belongs to.
fn input_of(field: &str) -> &str {
    match field {
        "credit_code" => "tax_id",
        f => f,
    }
}

#[derive(Deserialize)]
struct PrefsQuery {
    big: Option<String>,
    lang: Option<String>,
    back: Option<String>,
}

async fn prefs(Query(q): Query<PrefsQuery>) -> Response {
    // Back to a public receipt page only, never off-site.
    let back = q
        .back
        .filter(|b| {
            (b.starts_with("/r/") || b.starts_with("/verify"))
                && !b.contains("//")
                && !b.chars().any(char::is_control)
        })
        .unwrap_or_else(|| "/verify".into());
    crate::ui::prefs_redirect(&back, q.big.as_deref(), q.lang.as_deref())
}

/// Local `YYYY-MM-DD HH:MM` at the estate.
fn local_time(e: &Estate, unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|t| {
            t.to_zoned(doorstep_app::estate_tz(e))
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// `13812345678` → `138****5678`.
fn mask_phone(p: &str) -> String {
    let c: Vec<char> = p.chars().collect();
    if c.len() == 11 {
        format!(
            "{}****{}",
            c[..3].iter().collect::<String>(),
            c[7..].iter().collect::<String>()
        )
    } else {
        p.to_string()
    }
}

/// Only web links are shown as links.
fn web_link(u: &str) -> bool {
    let u = u.trim().to_ascii_lowercase();
    u.starts_with("https://") || u.starts_with("http://")
}

// --- the receipt ---

#[derive(Deserialize, Default)]
struct ReceiptQuery {
    /// A copy was queued for this (masked) phone.
    sent: Option<String>,
}

/// The copy form's state when it is shown again.
#[derive(Default)]
struct CopyForm {
    phone: String,
    error: Option<String>,
    sent: Option<String>,
}

async fn receipt_page(
    State(app): State<App>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Query(q): Query<ReceiptQuery>,
) -> Response {
    let p = prefs_of(&headers);
    let copy = CopyForm {
        sent: q.sent,
        ..CopyForm::default()
    };
    show_receipt(&app, p, &token, copy, StatusCode::OK).await
}

fn status_banner(l: Lang, e: &Estate, r: &Receipt, v: Option<&ReceiptVerdict>) -> Markup {
    let verdict = v.map(|v| v.verdict).unwrap_or("");
    html! {
        @if r.status == "pending" {
            div.banner.pending #status role="status" {
                b { (l.pick("开具中", "Being issued")) }
                p { (l.pick("正在开具，请稍候刷新。", "The receipt is being issued; refresh in a minute.")) }
            }
        } @else if r.status == "void" || verdict == "void" {
            div.banner.void #status role="status" {
                b { (l.pick("已作废", "Void")) }
                @if let Some(why) = &r.void_reason { p { (l.pick("作废原因：", "Reason: ")) (why) } }
                @if let Some(at) = r.voided_at { p { (l.pick("作废时间：", "Voided at: ")) (local_time(e, at)) } }
                p { (l.pick("本收据已作废，不能作为缴费凭证。", "This receipt is void and no longer proves payment.")) }
            }
        } @else if verdict == "valid" {
            div.banner.valid #status role="status" {
                b { (l.pick("有效", "Valid")) }
                p { (l.pick("签名验证通过，与物业存档一致。", "The signature verifies and matches the office's records.")) }
            }
        } @else {
            div.banner.invalid #status role="alert" {
                b { (l.pick("无法验证", "Cannot be verified")) }
                @if let Some(v) = v { p { (l.pick(&v.why_zh, &v.why)) } }
                p { (l.pick("请联系物业服务中心核实。", "Please ask the property office.")) }
            }
        }
    }
}

fn content_block(l: Lang, c: &ReceiptContent) -> Markup {
    let waived = c.lines.iter().any(|x| x.waived_fen != 0);
    html! {
        section.card aria-labelledby="receipt-h" {
            h2 #receipt-h style="margin-top:0" { (c.company) }
            dl.facts {
                dt { (l.pick("小区", "Estate")) } dd { (c.estate) }
                dt { (l.pick("收据编号", "Receipt No.")) } dd #number { "No." (number_display(c.number)) }
                dt { (l.pick("收款时间", "Paid at")) } dd { (c.issued_at_display()) }
                dt { (l.pick("交款人", "Payer")) } dd { (c.payer) }
                dt { (l.pick("房屋/车位", "Room / space")) } dd { (c.object) }
            }
            // A region that may scroll sideways on a narrow phone: focusable,
            // so it can be scrolled from the keyboard, and named.
            div.table tabindex="0" role="region" aria-label=(l.pick("收费明细", "Items")) {
                table {
                    caption.muted style="text-align:left" { (l.pick("收费明细", "Items")) }
                    thead { tr {
                        th scope="col" { (l.pick("项目", "Item")) }
                        th scope="col" { (l.pick("所属期", "Period")) }
                        th scope="col" { (l.pick("计费依据", "Basis")) }
                        th.num scope="col" { (l.pick("应收", "Amount")) }
                        th.num scope="col" { (l.pick("滞纳金", "Late fee")) }
                        @if waived { th.num scope="col" { (l.pick("减免", "Waived")) } }
                        th.num scope="col" { (l.pick("实收", "Paid")) }
                    } }
                    tbody {
                        @for x in &c.lines {
                            tr {
                                td { (x.item) }
                                td { (x.period) }
                                td { (x.basis) }
                                td.num { (Fen(x.amount_fen)) }
                                td.num { (Fen(x.late_fee_fen)) }
                                @if waived { td.num { (Fen(x.waived_fen)) } }
                                td.num { (Fen(x.paid_fen)) }
                            }
                        }
                    }
                }
            }
            p.total #total { (l.pick("合计 ", "Total ")) (Fen(c.total_fen)) }
            p { (l.pick("人民币大写：", "In words (Chinese capitals): ")) span lang="zh-CN" { (c.total_in_capitals()) } }
            dl.facts {
                dt { (l.pick("收款方式", "Method")) } dd { (method_label(&c.method, l)) }
                @if let Some(t) = &c.transaction_id { dt { (l.pick("交易单号", "Transaction")) } dd.hash { (t) } }
                @if !c.collector.is_empty() { dt { (l.pick("收款人", "Collector")) } dd { (c.collector) } }
            }
        }
    }
}

fn proof_block(l: Lang, what: &str, pr: &EvidenceProof) -> Markup {
    html! {
        div.card {
            h3 style="margin-top:0" { (what) " #" (pr.index) }
            dl.facts {
                dt { (l.pick("记录类型", "Kind")) } dd { (pr.kind) }
                dt { (l.pick("记录哈希", "Leaf hash")) } dd.hash { (pr.leaf_hash) }
                dt { (l.pick("日志大小", "Tree size")) } dd { (pr.tree_size) }
                dt { (l.pick("根哈希", "Root hash")) } dd.hash { (pr.root) }
            }
            @if pr.verified {
                p.ok { (l.pick("已验证 ✓ 该记录包含在已签名的日志检查点中", "Verified ✓ the record is included in the signed checkpoint")) }
            } @else {
                p.err { (l.pick("未能验证包含证明，请联系物业服务中心。", "The inclusion proof did not verify; please ask the office.")) }
            }
            details {
                summary { (l.pick("包含证明", "Inclusion proof")) " (" (pr.inclusion.len()) ")" }
                @if pr.inclusion.is_empty() {
                    p.muted { (l.pick("日志只有这一条记录，记录哈希即根哈希。", "The log has one record: the leaf hash is the root.")) }
                } @else {
                    ol.path start="1" { @for h in &pr.inclusion { li { code { (h) } } } }
                }
            }
            details {
                summary { (l.pick("存证记录内容（JSON）", "The record (JSON)")) }
                pre { (pr.record) }
            }
        }
    }
}

async fn show_receipt(
    app: &App,
    p: Prefs,
    token: &str,
    copy: CopyForm,
    status: StatusCode,
) -> Response {
    let l = p.lang;
    let r = match app.receipt_by_token(token).await {
        Ok(r) => r,
        Err(e) => return error_page(p, &e),
    };
    let estate = match app.store.estate_by_id(r.estate_id).await {
        Ok(e) => e,
        Err(e) => return error_page(p, &e.into()),
    };
    let verdict = match &r.note {
        Some(note) => match app.verify_receipt_note(note).await {
            Ok(v) => Some(v),
            Err(e) => return error_page(p, &e),
        },
        None => None,
    };
    let content = verdict.as_ref().and_then(|v| v.content.clone());
    // The newest record first, so that a checkpoint covering it is signed
    // if needed and both proofs are against the same checkpoint.
    let mut proofs = Vec::new();
    for (what, idx) in [
        (l.pick("作废存证记录", "Void record"), r.void_leaf_index),
        (l.pick("收款存证记录", "Payment record"), r.leaf_index),
    ] {
        if let Some(i) = idx {
            match app.evidence_proof(r.company_id, i).await {
                Ok(pr) => proofs.insert(0, (what, pr)),
                Err(e) => tracing::warn!(receipt = r.id, index = i, "evidence proof: {e}"),
            }
        }
    }
    let checkpoint = proofs
        .iter()
        .map(|(_, pr)| pr)
        .max_by_key(|pr| pr.tree_size)
        .map(|pr| pr.checkpoint.clone());
    let pending_amount = if r.note.is_none() {
        app.store
            .payment_fact(r.payment_id)
            .await
            .ok()
            .flatten()
            .map(|f| f.amount.0)
    } else {
        None
    };
    let here = format!("/r/{token}");
    let title = format!(
        "{} No.{}",
        l.pick("电子收据", "E-receipt"),
        number_display(r.number)
    );
    let body = html! {
        (status_banner(l, &estate, &r, verdict.as_ref()))
        @match &content {
            Some(c) => (content_block(l, c)),
            None => div.card {
                dl.facts {
                    dt { (l.pick("小区", "Estate")) } dd { (estate.name) }
                    dt { (l.pick("收据编号", "Receipt No.")) } dd #number { "No." (number_display(r.number)) }
                    @if let Some(a) = pending_amount { dt { (l.pick("金额", "Amount")) } dd { (Fen(a)) } }
                }
            },
        }
        @if r.note.is_some() {
            section aria-labelledby="dl-h" {
                h2 #dl-h { (l.pick("下载与打印", "Download and print")) }
                @if let Some(note) = &r.note {
                    p #code { (l.pick("验证码：", "Verification code: ")) strong.hash { (doorstep_receipt::verification_code(note)) }
                        br; span.muted { (l.pick("他人可凭收据编号和验证码在验证页核对这张收据（只显示金额、日期和隐去姓名的交款人）。", "Anyone with the receipt's number and this code can check it on the verification page (they see only the amount, date and a masked payer).")) } }
                }
                div.buttons {
                    a.button href={(here) "/pdf?format=a4"} { (l.pick("下载 PDF（A4）", "Download PDF (A4)")) }
                    a.button.secondary href={(here) "/pdf?format=a5"} { (l.pick("A5", "A5")) }
                    a.button.secondary href={(here) "/pdf?format=80mm"} { (l.pick("80mm 小票", "80 mm slip")) }
                }
            }
        }
        @if r.status == "issued" {
            section aria-labelledby="inv-h" {
                h2 #inv-h { (l.pick("发票", "Invoice")) }
                p { a.button.secondary href={(here) "/invoice"} { (l.pick("申请发票", "Request an invoice")) } }
            }
            section #copy aria-labelledby="copy-h" {
                h2 #copy-h { (l.pick("发送副本到其他手机", "Send a copy to another phone")) }
                @if let Some(to) = &copy.sent {
                    p.ok role="status" { (l.pick("已安排发送：收据链接将以短信发送至 ", "Queued: the receipt's link will be texted to ")) (to) }
                }
                p.muted { (l.pick("例如替父母缴费的子女，也可以收到一份。", "For example, a son or daughter who paid for a parent can get a copy.")) }
                form.card method="post" action={(here) "/copy"} {
                    label for="copy-phone" { (l.pick("对方手机号码", "Their mobile number")) }
                    @if let Some(e) = &copy.error {
                        input #copy-phone type="tel" name="phone" inputmode="tel" autocomplete="tel" value=(copy.phone) required aria-invalid="true" aria-describedby="copy-phone-err";
                        p.field-err #copy-phone-err role="alert" { (e) }
                    } @else {
                        input #copy-phone type="tel" name="phone" inputmode="tel" autocomplete="tel" value=(copy.phone) required;
                    }
                    p { button type="submit" { (l.pick("发送副本", "Send a copy")) } }
                }
            }
        }
        @if !proofs.is_empty() {
            section #evidence aria-labelledby="ev-h" {
                h2 #ev-h { (l.pick("存证", "Evidence")) }
                p { (l.pick(
                    "这笔收款已写入本物业公司的电子存证日志：一棵只可追加的默克尔树（RFC 6962/9162），并由公司密钥定期签署检查点。记录写入后，任何修改或删除都会使下面的证明失败。",
                    "This payment is in the company's evidence log: an append-only Merkle tree (RFC 6962/9162) whose checkpoints the company's key signs. Changing or deleting a record afterwards makes the proof below fail."
                )) }
                @for (what, pr) in &proofs { (proof_block(l, what, pr)) }
                @if let Some(cp) = &checkpoint {
                    h3 { (l.pick("已签名的检查点", "Signed checkpoint")) }
                    pre #checkpoint { (cp) }
                }
                h3 { (l.pick("如何自行核验", "How to check it yourself")) }
                ol {
                    li { (l.pick("记录哈希 = SHA-256(0x00 ‖ 记录内容)。", "Leaf hash = SHA-256(0x00 ‖ the record).")) }
                    li { (l.pick("按包含证明逐层计算（RFC 9162 §2.1.3.2），结果应等于根哈希。", "Hash up the inclusion proof (RFC 9162 §2.1.3.2); the result must equal the root hash.")) }
                    li { (l.pick("根哈希应与检查点第三行（Base64）一致，检查点的签名可用物业公司的公钥验证。", "The root must equal the checkpoint's third line (Base64), whose signature verifies with the company's public key.")) }
                    li { (l.pick("收据本身可在 ", "The receipt itself can be checked at ")) a href="/verify" { (l.pick("收据验证页", "the verification page")) } (l.pick(" 上传 PDF 或输入编号核验。", " by uploading its PDF or entering its number.")) }
                }
            }
        }
        @if let Some(v) = &verdict && let Some(k) = &v.key_name {
            p.muted { (l.pick("签名密钥：", "Signing key: ")) code { (k) } }
        }
    };
    (status, layout(p, &title, &here, body)).into_response()
}

#[derive(Deserialize)]
struct PdfQuery {
    format: Option<String>,
}

async fn receipt_pdf(
    State(app): State<App>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Query(q): Query<PdfQuery>,
) -> Response {
    let p = prefs_of(&headers);
    let l = p.lang;
    let r = match app.receipt_by_token(&token).await {
        Ok(r) => r,
        Err(e) => return error_page(p, &e),
    };
    let layout_ = match doorstep_app::receipt::parse_layout(q.format.as_deref().unwrap_or("a4")) {
        Ok(x) => x,
        Err(e) => return error_page(p, &e),
    };
    if r.note.is_none() {
        return error_page(
            p,
            &AppError::Conflict(
                l.pick(
                    "收据正在开具，请稍候刷新再下载。",
                    "The receipt is still being issued; try again in a minute.",
                )
                .into(),
            ),
        );
    }
    match app.receipt_pdf(&r, layout_).await {
        Ok(bytes) => crate::ui::pdf_response(bytes, r.number),
        Err(e) => error_page(p, &e),
    }
}

#[derive(Deserialize)]
struct CopyFields {
    #[serde(default)]
    phone: String,
}

async fn send_copy(
    State(app): State<App>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(f): Form<CopyFields>,
) -> Response {
    let p = prefs_of(&headers);
    let l = p.lang;
    let r = match app.receipt_by_token(&token).await {
        Ok(r) => r,
        Err(e) => return error_page(p, &e),
    };
    if r.status != "issued" {
        let msg = if r.status == "void" {
            l.pick(
                "该收据已作废，不能发送副本。",
                "This receipt is void; no copy can be sent.",
            )
        } else {
            l.pick(
                "收据正在开具，请稍候再发送。",
                "The receipt is still being issued; try again in a minute.",
            )
        };
        return error_page(p, &AppError::Conflict(msg.into()));
    }
    let again = |error: String| CopyForm {
        phone: f.phone.trim().to_string(),
        error: Some(error),
        sent: None,
    };
    // A text message goes to mobiles only.
    let phone = match PhoneNumber::parse(&f.phone) {
        Ok(ph) if ph.is_mobile() => ph,
        Ok(_) => {
            let e = DomainError::invalid("phone", "a text message needs an 11-digit mobile number");
            return show_receipt(
                &app,
                p,
                &token,
                again(field_error(l, &e)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        Err(e) => {
            return show_receipt(
                &app,
                p,
                &token,
                again(field_error(l, &e)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    match app.send_receipt_link(&r, Some(phone.as_str())).await {
        Ok(_) => Redirect::to(&format!(
            "/r/{token}?sent={}#copy",
            enc(&mask_phone(phone.as_str()))
        ))
        .into_response(),
        Err(AppError::Invalid(d)) => {
            show_receipt(
                &app,
                p,
                &token,
                again(field_error(l, &d)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => error_page(p, &e),
    }
}

// --- invoices ---

/// The invoice form as posted: every field optional, so that a missing one
/// is named by validation rather than refused by the form parser.
#[derive(Deserialize, Default, Clone)]
struct InvoiceFields {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    tax_id: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    bank: String,
}

impl InvoiceFields {
    fn form(&self) -> InvoiceForm {
        InvoiceForm {
            kind: self.kind.clone(),
            title: self.title.clone(),
            tax_id: self.tax_id.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            address: self.address.clone(),
            bank: self.bank.clone(),
        }
    }
}

fn invoice_status(l: Lang, s: &str) -> &'static str {
    match s {
        "requested" => l.pick("待开票", "Waiting to be issued"),
        "issued" => l.pick("已开票", "Issued"),
        "failed" => l.pick("开票失败", "Failed"),
        _ => l.pick("未知", "Unknown"),
    }
}

fn request_card(l: Lang, e: &Estate, q: &InvoiceRequest) -> Markup {
    html! {
        div.card id={"req-" (q.id)} {
            p style="margin:0" {
                span.status { (invoice_status(l, &q.status)) }
                " " strong { (l.pick("申请 #", "Request #")) (q.id) }
                " · " (local_time(e, q.created_at))
            }
            dl.facts {
                dt { (l.pick("抬头", "Title")) } dd { (q.title) }
                @if let Some(t) = &q.tax_id { dt { (l.pick("税号", "Tax id")) } dd.hash { (t) } }
                dt { (l.pick("金额", "Amount")) } dd { (q.amount) }
                dt { (l.pick("项目", "Items")) } dd { (q.lines.iter().map(|x| x.item.as_str()).collect::<Vec<_>>().join("、")) }
                @if let Some(m) = &q.email { dt { (l.pick("邮箱", "Email")) } dd { (m) } }
                @if let Some(m) = &q.phone { dt { (l.pick("手机", "Phone")) } dd { (mask_phone(m)) } }
                @if q.status == "issued" {
                    dt { (l.pick("发票号码", "Invoice No.")) } dd { (q.invoice_no.clone().unwrap_or_default()) }
                    @if let Some(u) = q.file_url.as_deref().filter(|u| web_link(u)) {
                        dt { (l.pick("发票文件", "Invoice file")) } dd { a href=(u) rel="noopener noreferrer" { (l.pick("查看/下载发票", "View / download")) } }
                    }
                }
                @if q.status == "failed" {
                    dt { (l.pick("原因", "Reason")) } dd { (q.reason.clone().unwrap_or_default()) }
                }
            }
        }
    }
}

/// One labelled text input with its error, if it is the one at fault.
#[allow(clippy::too_many_arguments)]
fn text_input(
    name: &str,
    label: &str,
    hint: Option<&str>,
    kind: &str,
    value: &str,
    err: Option<(&str, &str)>,
    autocomplete: &str,
    maxlength: u32,
) -> Markup {
    let id = format!("f-{name}");
    let mine = err.filter(|(f, _)| *f == name).map(|(_, m)| m);
    let err_id = format!("{id}-err");
    let hint_id = format!("{id}-hint");
    let described = match (mine.is_some(), hint.is_some()) {
        (true, true) => Some(format!("{err_id} {hint_id}")),
        (true, false) => Some(err_id.clone()),
        (false, true) => Some(hint_id.clone()),
        (false, false) => None,
    };
    html! {
        label for=(id) { (label) }
        @if let Some(h) = hint { span.muted id=(hint_id) style="display:block;font-size:.9rem" { (h) } }
        input id=(id) type=(kind) name=(name) value=(value) autocomplete=(autocomplete) maxlength=(maxlength)
            aria-invalid=[mine.map(|_| "true")] aria-describedby=[described];
        @if let Some(m) = mine { p.field-err id=(err_id) { (m) } }
    }
}

fn invoice_form(l: Lang, token: &str, v: &InvoiceFields, err: Option<(&str, &str)>) -> Markup {
    let kind_err = err.filter(|(f, _)| *f == "kind").map(|(_, m)| m);
    html! {
        form.card method="post" action={"/r/" (token) "/invoice"} novalidate {
            fieldset aria-describedby=[kind_err.map(|_| "f-kind-err")] {
                legend { (l.pick("发票类型", "Invoice for")) }
                label.check for="f-kind-personal" {
                    input #f-kind-personal type="radio" name="kind" value="personal" checked[v.kind == "personal" || v.kind.is_empty()];
                    span { (l.pick("个人", "A person")) }
                }
                label.check for="f-kind-company" {
                    input #f-kind-company type="radio" name="kind" value="company" checked[v.kind == "company"];
                    span { (l.pick("单位（需填写税号）", "A company (tax id needed)")) }
                }
                @if let Some(m) = kind_err { p.field-err #f-kind-err { (m) } }
            }
            (text_input("title", l.pick("发票抬头", "Invoice title"), Some(l.pick("个人姓名或单位全称", "A person's name or the company's registered name")), "text", &v.title, err, "name", 100))
            (text_input("tax_id", l.pick("纳税人识别号（单位必填）", "Tax id (companies)"), Some(l.pick("18 位统一社会信用代码", "The 18-character unified social credit code")), "text", &v.tax_id, err, "off", 18))
            (text_input("email", l.pick("电子邮箱", "Email"), Some(l.pick("邮箱和手机至少填一项，用于接收电子发票", "An email or a mobile number (at least one) to receive the e-invoice")), "email", &v.email, err, "email", 100))
            (text_input("phone", l.pick("手机号码", "Mobile number"), None, "tel", &v.phone, err, "tel", 20))
            (text_input("address", l.pick("地址、电话（选填）", "Address and phone (optional)"), None, "text", &v.address, err, "street-address", 200))
            (text_input("bank", l.pick("开户行及账号（选填）", "Bank and account (optional)"), None, "text", &v.bank, err, "off", 200))
            p { button #submit-invoice type="submit" { (l.pick("提交申请", "Submit request")) } }
        }
    }
}

#[derive(Deserialize, Default)]
struct InvoiceQuery {
    /// The request just made.
    req: Option<i64>,
}

/// What the invoice page shows besides the receipt's requests.
enum InvoiceState<'a> {
    /// A fresh form (or the confirmation of request `Some(id)`).
    Fresh(Option<i64>),
    /// The form again, with the field at fault.
    Invalid(&'a InvoiceFields, &'a str, String),
    /// A refusal.
    Refused(String),
}

async fn invoice_page(
    State(app): State<App>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Query(q): Query<InvoiceQuery>,
) -> Response {
    let p = prefs_of(&headers);
    show_invoice(&app, p, &token, InvoiceState::Fresh(q.req), StatusCode::OK).await
}

async fn show_invoice(
    app: &App,
    p: Prefs,
    token: &str,
    state: InvoiceState<'_>,
    status: StatusCode,
) -> Response {
    let l = p.lang;
    let r = match app.receipt_by_token(token).await {
        Ok(r) => r,
        Err(e) => return error_page(p, &e),
    };
    let estate = match app.store.estate_by_id(r.estate_id).await {
        Ok(e) => e,
        Err(e) => return error_page(p, &e.into()),
    };
    let existing = match app.store.receipt_invoice_requests(r.id).await {
        Ok(v) => v,
        Err(e) => return error_page(p, &e.into()),
    };
    let here = format!("/r/{token}/invoice");
    let blank = InvoiceFields::default();
    let body = html! {
        p { (l.pick("收据 ", "Receipt ")) a href={"/r/" (token)} { "No." (number_display(r.number)) } " · " (estate.name) }
        @match &state {
            InvoiceState::Fresh(Some(id)) => {
                @if let Some(q) = existing.iter().find(|q| q.id == *id) {
                    div.ok role="status" #confirmation {
                        (l.pick("已提交开票申请 #", "Invoice request #")) (q.id)
                        (l.pick("，当前状态：", " submitted; status: ")) (invoice_status(l, &q.status))
                        @if q.status == "requested" {
                            (l.pick("。开出后电子发票将发送到您填写的邮箱或手机。", ". The e-invoice will be sent to the email or phone you gave."))
                        }
                    }
                }
            }
            InvoiceState::Invalid(_, f, m) => {
                p.err role="alert" { a href={"#f-" (if *f == "kind" { "kind-personal" } else { f })} { (m) } }
            }
            InvoiceState::Refused(m) => {
                p.err role="alert" #refused { (m) }
            }
            _ => {}
        }
        @if r.status == "void" {
            p.err { (l.pick("该收据已作废，不能申请发票。", "This receipt is void; no invoice can be requested.")) }
        } @else if r.status != "issued" {
            p.err { (l.pick("收据正在开具，请稍候再申请发票。", "The receipt is still being issued; request an invoice in a minute.")) }
        } @else if !matches!(state, InvoiceState::Fresh(Some(_))) {
            h2 { (l.pick("填写开票信息", "Invoice details")) }
            @match &state {
                InvoiceState::Invalid(v, f, m) => (invoice_form(l, token, v, Some((f, m.as_str())))),
                _ => (invoice_form(l, token, &blank, None)),
            }
        }
        @if !existing.is_empty() {
            h2 { (l.pick("本收据的开票申请", "Invoice requests of this receipt")) }
            @for q in existing.iter().rev() { (request_card(l, &estate, q)) }
        }
        p { a href={"/r/" (token)} { (l.pick("返回收据", "Back to the receipt")) } }
    };
    (
        status,
        layout(p, l.pick("申请发票", "Request an invoice"), &here, body),
    )
        .into_response()
}

async fn invoice_submit(
    State(app): State<App>,
    headers: HeaderMap,
    Path(token): Path<String>,
    Form(f): Form<InvoiceFields>,
) -> Response {
    let p = prefs_of(&headers);
    let l = p.lang;
    match app.request_invoice(&token, &f.form()).await {
        Ok(req) => {
            Redirect::to(&format!("/r/{token}/invoice?req={}#confirmation", req.id)).into_response()
        }
        Err(AppError::Invalid(d)) => {
            let msg = field_error(l, &d);
            show_invoice(
                &app,
                p,
                &token,
                InvoiceState::Invalid(&f, input_of(d.field()), msg),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::Conflict(m)) => {
            let msg = if m.contains("void") {
                l.pick(
                    "该收据已作废，不能申请发票。",
                    "This receipt is void; no invoice can be requested.",
                )
            } else if m.contains("already") {
                l.pick(
                    "这张收据的所有项目都已申请过发票，不能重复申请。如需更正，请联系物业服务中心。",
                    "An invoice has already been requested for every item of this receipt. To correct one, ask the property office.",
                )
            } else if m.contains("being issued") {
                l.pick(
                    "收据正在开具，请稍候再申请发票。",
                    "The receipt is still being issued; try again in a minute.",
                )
            } else {
                l.pick(
                    "暂时不能申请发票，请联系物业服务中心。",
                    "An invoice cannot be requested now; please ask the property office.",
                )
            };
            show_invoice(
                &app,
                p,
                &token,
                InvoiceState::Refused(msg.into()),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => error_page(p, &e),
    }
}

// --- verification ---

#[derive(Deserialize, Default)]
struct VerifyQuery {
    company: Option<String>,
    number: Option<String>,
    code: Option<String>,
}

fn parse_id(field: &'static str, s: &str) -> Result<i64, DomainError> {
    let t = s.trim();
    let t = t.strip_prefix("doorstep/company/").unwrap_or(t);
    let t = t
        .strip_prefix("No.")
        .or_else(|| t.strip_prefix("NO."))
        .or_else(|| t.strip_prefix("no."))
        .unwrap_or(t)
        .trim();
    match t.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(DomainError::invalid(
            field,
            format!("{s:?} is not a number (e.g. 00000123)"),
        )),
    }
}

fn verdict_block(l: Lang, v: &ReceiptVerdict) -> Markup {
    let (class, head) = match v.verdict {
        "valid" => ("valid", l.pick("真实有效", "Genuine and valid")),
        "void" => ("void", l.pick("已作废", "Void")),
        "exists" => ("pending", l.pick("编号存在", "The number exists")),
        _ => ("invalid", l.pick("无效", "Not valid")),
    };
    html! {
        section #verdict aria-labelledby="verdict-h" {
            div class={"banner " (class)} role="status" {
                b #verdict-h { (head) }
                p { (l.pick(&v.why_zh, &v.why)) }
            }
            @if let Some(c) = &v.content {
                dl.facts.card {
                    dt { (l.pick("开具单位", "Issued by")) } dd { (c.company) }
                    dt { (l.pick("收据编号", "Receipt No.")) } dd { "No." (number_display(c.number)) }
                    dt { (l.pick("交款人", "Payer")) } dd { (mask_payer(&c.payer)) }
                    dt { (l.pick("金额", "Amount")) } dd { (Fen(c.total_fen)) }
                    dt { (l.pick("收款时间", "Paid at")) } dd { (datetime_display(&c.issued_at)) }
                }
            }
            @if let Some(s) = &v.summary {
                dl.facts.card #summary {
                    dt { (l.pick("开具单位", "Issued by")) } dd { (s.company) }
                    dt { (l.pick("收据编号", "Receipt No.")) } dd { "No." (s.number_display) }
                    dt { (l.pick("交款人", "Payer")) } dd { (s.payer) }
                    dt { (l.pick("金额", "Amount")) } dd { (Fen(s.amount_fen)) }
                    dt { (l.pick("收款时间", "Paid at")) } dd { (s.paid_at) }
                }
            }
        }
    }
}

#[derive(Default)]
struct VerifyInputs {
    company: String,
    number: String,
    code: String,
    /// (field, message)
    error: Option<(&'static str, String)>,
}

fn verify_response(
    p: Prefs,
    l: Lang,
    status: StatusCode,
    inp: &VerifyInputs,
    verdict: Option<&ReceiptVerdict>,
) -> Response {
    let body = verify_body(l, inp, verdict);
    (
        status,
        layout(
            p,
            l.pick("验证电子收据", "Verify an e-receipt"),
            "/verify",
            body,
        ),
    )
        .into_response()
}

fn verify_body(l: Lang, inp: &VerifyInputs, v: Option<&ReceiptVerdict>) -> Markup {
    let err = inp.error.as_ref().map(|(f, m)| (*f, m.as_str()));
    html! {
        @if let Some(v) = v { (verdict_block(l, v)) }
        @if let Some((_, m)) = err { p.err role="alert" { (m) } }
        h2 { (l.pick("按编号验证", "By number")) }
        form.card method="get" action="/verify" {
            (text_input("company", l.pick("公司编号", "Company number"), Some(l.pick("收据上“签名密钥 doorstep/company/”后面的数字", "The number after “doorstep/company/” in the receipt's signing key")), "text", &inp.company, err, "off", 20))
            (text_input("number", l.pick("收据编号", "Receipt number"), Some(l.pick("收据右上角 No. 后的 8 位数字", "The 8 digits after No. on the receipt")), "text", &inp.number, err, "off", 20))
            (text_input("code", l.pick("验证码", "Verification code"), Some(l.pick("收据二维码旁印的 8 位验证码；不填只能查到编号是否存在", "The 8-character code printed by the receipt's QR code; without it you only learn whether the number exists")), "text", &inp.code, err, "off", 12))
            p { button #verify-number type="submit" { (l.pick("验证", "Verify")) } }
        }
        h2 { (l.pick("上传收据 PDF 验证", "By uploading the receipt PDF")) }
        form.card method="post" action="/verify" enctype="multipart/form-data" {
            label for="f-file" { (l.pick("收据 PDF 文件", "Receipt PDF file")) }
            @if let Some((_, m)) = err.filter(|(f, _)| *f == "file") {
                input #f-file type="file" name="file" accept="application/pdf,.pdf" required aria-invalid="true" aria-describedby="f-file-err";
                p.field-err #f-file-err { (m) }
            } @else {
                input #f-file type="file" name="file" accept="application/pdf,.pdf" required;
            }
            p { button #verify-file type="submit" { (l.pick("上传并验证", "Upload and verify")) } }
        }
        p.muted { (l.pick(
            "验证会检查收据上的电子签名是否由物业公司的密钥签署、内容是否与存档一致，以及收据是否已作废。上传的 PDF 须与签名内容逐字节一致；经其他程序另存的文件请改用编号和验证码核验。",
            "Verification checks that the receipt's signature is by the company's key, that its content matches the records, and whether it was voided. An uploaded PDF must be byte for byte what was signed; for a file saved again by another program, use the number and code."
        )) }
    }
}

async fn verify_page(
    State(app): State<App>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Query(q): Query<VerifyQuery>,
) -> Response {
    let p = prefs_of(&headers);
    let l = p.lang;
    let mut inp = VerifyInputs {
        company: q.company.clone().unwrap_or_default(),
        number: q.number.clone().unwrap_or_default(),
        code: q.code.clone().unwrap_or_default(),
        error: None,
    };
    let asked = !inp.company.trim().is_empty() || !inp.number.trim().is_empty();
    let mut verdict = None;
    let mut status = StatusCode::OK;
    if asked {
        match parse_lookup(&inp) {
            Ok((c, n, code)) => match app.lookup_receipt(&client, c, n, code.as_deref()).await {
                Ok(v) => verdict = Some(v),
                Err(AppError::TooMany { retry_after, .. }) => {
                    return too_many(p, &inp, retry_after);
                }
                Err(e) => return error_page(p, &e),
            },
            Err(e) => {
                inp.error = Some((e.field(), field_error(l, &e)));
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
        }
    }
    verify_response(p, l, status, &inp, verdict.as_ref())
}

/// Company, number and (normalised) code from the form; a code that cannot
/// be one is named rather than counted as a wrong guess.
fn parse_lookup(inp: &VerifyInputs) -> Result<(i64, i64, Option<String>), DomainError> {
    let company = parse_id("company", &inp.company)?;
    let number = parse_id("number", &inp.number)?;
    let code = match inp.code.trim() {
        "" => None,
        c => Some(doorstep_receipt::normalize_code(c).ok_or_else(|| {
            DomainError::invalid(
                "code",
                format!("{c:?} is not a verification code (e.g. 7K3M-Q9XD)"),
            )
        })?),
    };
    Ok((company, number, code))
}

/// The lookup limit was reached: 429 with `Retry-After` and a page that
/// says when to try again.
fn too_many(p: Prefs, inp: &VerifyInputs, retry_after: i64) -> Response {
    let l = p.lang;
    let minutes = (retry_after + 59) / 60;
    let msg = match l {
        Lang::Zh => format!("查询过于频繁，请 {minutes} 分钟后再试。"),
        Lang::En => format!("Too many lookups from your network; try again in {minutes} min."),
    };
    let inp = VerifyInputs {
        company: inp.company.clone(),
        number: inp.number.clone(),
        code: inp.code.clone(),
        error: Some(("limit", msg)),
    };
    let mut res = verify_response(p, l, StatusCode::TOO_MANY_REQUESTS, &inp, None);
    if let Ok(v) = HeaderValue::from_str(&retry_after.max(1).to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

async fn verify_upload(State(app): State<App>, headers: HeaderMap, mut mp: Multipart) -> Response {
    let p = prefs_of(&headers);
    let l = p.lang;
    let mut file: Option<Vec<u8>> = None;
    let mut failed = None;
    loop {
        match mp.next_field().await {
            Ok(Some(field)) => {
                if field.name() == Some("file") {
                    match field.bytes().await {
                        Ok(b) => file = Some(b.to_vec()),
                        Err(e) => {
                            failed = Some(e.body_text());
                            break;
                        }
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                failed = Some(e.body_text());
                break;
            }
        }
    }
    let mut inp = VerifyInputs::default();
    let (verdict, status) = match (failed, file) {
        (None, Some(bytes)) if !bytes.is_empty() => match app.verify_receipt_pdf(&bytes).await {
            Ok(v) => (Some(v), StatusCode::OK),
            Err(e) => return error_page(p, &e),
        },
        (failed, _) => {
            let msg = match failed {
                Some(why) => match l {
                    Lang::Zh => "文件上传失败（文件不能超过 10 MB），请重试".to_string(),
                    Lang::En => format!("file: the upload failed ({why}); at most 10 MB"),
                },
                None => field_error(
                    l,
                    &DomainError::invalid("file", "choose the receipt's PDF file"),
                ),
            };
            inp.error = Some(("file", msg));
            (None, StatusCode::UNPROCESSABLE_ENTITY)
        }
    };
    verify_response(p, l, status, &inp, verdict.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_payer("张三"), "张*");
        assert_eq!(mask_payer("张三、李四"), "张*、李*");
        assert_eq!(mask_payer(""), "");
        assert_eq!(mask_phone("13812345678"), "138****5678");
    }

    #[test]
    fn ids() {
        assert_eq!(parse_id("number", "00000123").ok(), Some(123));
        assert_eq!(parse_id("number", " No.00000123 ").ok(), Some(123));
        assert_eq!(
            parse_id("company", "x").err().map(|e| e.field()),
            Some("company")
        );
        assert!(parse_id("number", "0").is_err());
    }

    #[test]
    fn links() {
        assert!(web_link("https://example.com/a.pdf"));
        assert!(!web_link("javascript:alert(1)"));
    }
}
