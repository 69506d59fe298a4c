//! The collector's phone app, under `/c`: tonight's itinerary and one page
//! per stop (check-in, cash, QR and payment-code payments, the owner's
//! signature, the outcome). Server-rendered with maud plus one small script
//! (`assets/collector/app.js`) that talks to the JSON API, and a service
//! worker (`sw.js`) that keeps the pages and the data for a collector in an
//! underground garage: writes wait in a queue on the phone and are synced
//! once, by their client keys, when the network is back.

use crate::console::ConsoleUser;
use crate::ui::{Flash, enc};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use doorstep_app::collect::{CollectorStop, UnsignedPayment};
use doorstep_app::pay::PaymentView;
use doorstep_app::{App, AppError, parse_date, today};
use doorstep_domain::booking::day_label;
use doorstep_domain::{Category, Fen, Lang, Permission};
use doorstep_store::{Booking, Estate, User};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

/// Collector routes, under `/c`.
pub fn router() -> Router<App> {
    Router::new()
        .route("/c", get(home))
        .route("/c/", get(home))
        .route("/c/app.js", get(app_js))
        .route("/c/app.css", get(app_css))
        .route("/c/sw.js", get(sw_js))
        .route("/c/manifest.webmanifest", get(manifest))
        .route("/c/icon.svg", get(icon))
        .route("/c/lang/{code}", get(set_lang))
        .route("/c/visit/{id}", get(visit_page))
        .route("/c/{estate}/today", get(today_page))
        .route("/c/{estate}/shift/open", post(open_shift))
        .route("/c/{estate}/shift/{id}/close", post(close_shift))
        .route("/c/{estate}/handovers", get(handovers_page))
        .route("/c/{estate}/handovers/{id}/answer", post(answer_handover))
}

// ---------------------------------------------------------------------------
// Static assets: compiled in, served with a long cache life under a version
// query string that is a hash of their content (computed at compile time).

const APP_JS: &str = include_str!("../assets/collector/app.js");
const APP_CSS: &str = include_str!("../assets/collector/app.css");
const SW_JS: &str = include_str!("../assets/collector/sw.js");
const MANIFEST: &str = include_str!("../assets/collector/manifest.webmanifest");
const ICON: &str = include_str!("../assets/collector/icon.svg");

/// FNV-1a, 64 bits: a content hash usable in a `const`.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

const APP_JS_V: u64 = fnv1a(APP_JS.as_bytes());
const APP_CSS_V: u64 = fnv1a(APP_CSS.as_bytes());
const MANIFEST_V: u64 = fnv1a(MANIFEST.as_bytes());
const ICON_V: u64 = fnv1a(ICON.as_bytes());
const SW_V: u64 = fnv1a(SW_JS.as_bytes()) ^ APP_JS_V ^ APP_CSS_V ^ MANIFEST_V ^ ICON_V;

fn versioned(path: &str, v: u64) -> String {
    format!("{path}?v={:012x}", v & 0xffff_ffff_ffff)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn app_css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

async fn manifest() -> Response {
    asset("application/manifest+json; charset=utf-8", MANIFEST)
}

async fn icon() -> Response {
    asset("image/svg+xml", ICON)
}

/// The service worker, with the versioned asset list it precaches written
/// in front of it (so that any asset change is also a new worker). Never
/// cached by HTTP: the browser must see a new version at once.
async fn sw_js() -> Response {
    let head = format!(
        "const VERSION = \"{:012x}\";\nconst ASSETS = [\"{}\", \"{}\", \"{}\", \"{}\"];\n",
        SW_V & 0xffff_ffff_ffff,
        versioned("/c/app.js", APP_JS_V),
        versioned("/c/app.css", APP_CSS_V),
        versioned("/c/manifest.webmanifest", MANIFEST_V),
        versioned("/c/icon.svg", ICON_V),
    );
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (
                header::HeaderName::from_static("service-worker-allowed"),
                "/c/",
            ),
        ],
        format!("{head}{SW_JS}"),
    )
        .into_response()
}

// ---------------------------------------------------------------------------
// Shell, errors, formatting.

fn category_name(l: Lang, c: Category) -> &'static str {
    match c {
        Category::Property => l.pick("物业费", "Property fee"),
        Category::Parking => l.pick("车位费", "Parking fee"),
        Category::OnBehalf => l.pick("代收代付", "Collected on behalf"),
        Category::Other => l.pick("其他", "Other"),
    }
}

fn mask(phone: &str) -> String {
    doorstep_app::owner::mask(phone)
}

/// JSON safe to put inside `<script type="application/json">`.
fn embed_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The page shell: header with the network and queue status bar, the
/// manifest, the stylesheet and the script.
fn layout(l: Lang, title: &str, back: Option<(&str, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(l.pick("zh-CN", "en")) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="theme-color" content="#0b4fd6";
                title { (title) " · " (l.pick("门口收费·收费员", "Doorstep collector")) }
                link rel="manifest" href=(versioned("/c/manifest.webmanifest", MANIFEST_V));
                link rel="icon" href=(versioned("/c/icon.svg", ICON_V)) type="image/svg+xml";
                link rel="stylesheet" href=(versioned("/c/app.css", APP_CSS_V));
            }
            body {
                header.top {
                    @if let Some((href, text)) = back {
                        a.back href=(href) { "‹ " (text) }
                    } @else {
                        span.brand { (l.pick("门口收费", "Doorstep")) }
                    }
                    div #netbar role="status" aria-live="polite" {
                        span #net.net { (l.pick("在线", "Online")) }
                        " · "
                        span #queue-count { (l.pick("待同步 0 条", "0 to sync")) }
                    }
                    @if l == Lang::Zh { a.lang href="/c/lang/en" lang="en" { "English" } }
                    @else { a.lang href="/c/lang/zh" lang="zh-CN" { "中文" } }
                }
                main {
                    h1 { (title) }
                    (body)
                    section #failed-box hidden aria-labelledby="failed-h" {
                        h2 #failed-h { (l.pick("同步失败（请处理）", "Failed to sync (please check)")) }
                        ul #failed-list {}
                        button.secondary #failed-clear type="button" { (l.pick("我已处理，清除列表", "Done, clear the list")) }
                    }
                }
                script src=(versioned("/c/app.js", APP_JS_V)) defer {}
            }
        }
    }
}

fn html_response(m: Markup) -> Response {
    ([(header::CACHE_CONTROL, "private, no-cache")], m).into_response()
}

fn error_page(l: Lang, e: &AppError) -> Response {
    let w = crate::WebError(e.clone());
    let (status, _) = w.status();
    let msg = match e {
        AppError::NotFound(_) => l
            .pick(
                "没有找到（或不在您的行程上）",
                "Not found (or not on your route)",
            )
            .to_string(),
        AppError::Forbidden(_) => l.pick("您没有权限查看", "You may not see this").to_string(),
        _ => w.message(),
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        layout(
            l,
            l.pick("出错了", "Something went wrong"),
            Some(("/c", l.pick("今晚行程", "Tonight"))),
            html! { p.err role="alert" { (msg) } },
        ),
    )
        .into_response()
}

fn render(l: Lang, r: Result<Markup, AppError>) -> Response {
    match r {
        Ok(m) => html_response(m),
        Err(e) => error_page(l, &e),
    }
}

fn needs(l: Lang, b: &Booking) -> Markup {
    html! {
        @if b.pays_cash || b.call_first || !b.note.trim().is_empty() {
            p.needs {
                @if b.pays_cash { span.tag.cash { (l.pick("付现金", "Pays cash")) } " " }
                @if b.call_first { span.tag.call { (l.pick("先电话", "Call first")) } " " }
                @if !b.note.trim().is_empty() { span.note { (l.pick("备注：", "Note: ")) (b.note) } }
            }
        }
    }
}

fn tel(l: Lang, phone: &str) -> Markup {
    let digits: String = phone
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    html! {
        @if digits.is_empty() {
            span.muted { (l.pick("无电话", "No phone")) }
        } @else {
            a.tel href={"tel:" (digits)} aria-label={(l.pick("拨打 ", "Call ")) (mask(phone))} { "☎ " (mask(phone)) }
        }
    }
}

fn done_label(l: Lang, s: &CollectorStop) -> Markup {
    html! {
        @if s.done {
            span.state.done { (l.pick("已完成", "Done")) }
        } @else if !s.payments.is_empty() {
            span.state.part { (l.pick("已收款", "Paid some")) }
        } @else {
            span.state.todo { (l.pick("待上门", "To visit")) }
        }
    }
}

// ---------------------------------------------------------------------------
// Pages.

/// `/c`: the collector's estate (collectors have one), or a picker.
async fn home(State(app): State<App>, cu: ConsoleUser) -> Response {
    let l = cu.lang;
    let r = async {
        let estates: Vec<Estate> = app
            .store
            .list_estates(cu.user.company_id)
            .await?
            .into_iter()
            .filter(|e| cu.user.can_access(e))
            .collect();
        Ok::<_, AppError>(estates)
    }
    .await;
    match r {
        Ok(list) if list.len() == 1 => {
            Redirect::to(&format!("/c/{}/today", enc(list[0].code.as_str()))).into_response()
        }
        Ok(list) => html_response(layout(
            l,
            l.pick("选择小区", "Choose an estate"),
            None,
            html! {
                @if list.is_empty() {
                    p.muted { (l.pick("您还没有可以上门收费的小区。", "You have no estate to collect in.")) }
                }
                ul.picker {
                    @for e in &list {
                        li { a.button href={"/c/" (enc(e.code.as_str())) "/today"} { (e.name) } }
                    }
                }
            },
        )),
        Err(e) => error_page(l, &e),
    }
}

#[derive(Deserialize, Default)]
struct TodayQuery {
    date: Option<String>,
    ok: Option<String>,
    err: Option<String>,
}

/// Tonight's itinerary with the route map, each stop and what is owed, the
/// shift buttons, and the day's data as JSON for the phone to keep.
async fn today_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(q): Query<TodayQuery>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app.estate_for(&cu.user, &code, Permission::Visit).await?;
        let date = match q.date.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(d) => parse_date("date", d)?,
            None => today(&e),
        };
        let (routes, stops) = app.collector_stops(&cu.user, &code, date).await?;
        let next_day = if stops.is_empty() {
            app.next_route_day(&cu.user, &code, date).await?
        } else {
            None
        };
        let shift = if cu.user.role.allows(Permission::RecordPayment) {
            Some(app.my_shift(&cu.user, &code).await?)
        } else {
            None
        };
        let flash = Flash { ok: q.ok.clone(), err: q.err.clone() };
        let base = format!("/c/{}/today", enc(e.code.as_str()));
        let here = format!("{base}?date={date}");
        let day = serde_json::json!({
            "estate": e.code.as_str(),
            "date": date.to_string(),
            "collector_id": cu.user.id,
            "shift_id": shift.as_ref().and_then(|s| s.as_ref().map(|s| s.id)),
            "rendered_at_ms": doorstep_app::now() * 1000,
            "stops": stops,
        });
        let title = format!("{} · {}", l.pick("今晚行程", "Tonight's visits"), e.name);
        Ok::<_, AppError>(layout(
            l,
            &title,
            None,
            html! {
                @if let Some(m) = &flash.ok { p.ok role="status" { (m) } }
                @if let Some(m) = &flash.err { p.err role="alert" { (m) } }
                nav.days aria-label=(l.pick("日期", "Date")) {
                    @if let Ok(pd) = date.yesterday() { a href={(base) "?date=" (pd)} { "‹ " (l.pick("前一天", "Previous")) } }
                    b { (day_label(date, l)) }
                    @if let Ok(nd) = date.tomorrow() { a href={(base) "?date=" (nd)} { (l.pick("后一天", "Next")) " ›" } }
                }
                @if let Some(shift) = &shift {
                    (shift_box(l, &e, shift.as_ref(), &here))
                }
                @if stops.is_empty() {
                    p #no-stops.muted { (l.pick("当天没有派给您的上门。", "No visits are routed to you that day.")) }
                    @if let Some(nd) = next_day {
                        p { a.button #next-route href={(base) "?date=" (nd)} { (l.pick("下一次上门：", "Next visits: ")) (day_label(nd, l)) } }
                    }
                } @else {
                    @let owed: Fen = stops.iter().filter(|s| !s.done).map(|s| s.total).sum();
                    p.summary {
                        (stops.len()) (l.pick(" 站", " stops"))
                        " · " (l.pick("待收合计 ", "to collect ")) b { (owed) }
                    }
                    ol #stops.stops {
                        @for s in &stops { (stop_card(l, s)) }
                    }
                }
                @for r in &routes {
                    @if let Some(svg) = &r.svg {
                        @let label = format!("{}{}{}",
                            l.pick("路线图：物业中心 → ", "Route map: office → "),
                            r.stops.iter().map(|s| s.booking.labels.join("、")).collect::<Vec<_>>().join(" → "),
                            l.pick(" → 返回物业中心", " → back to the office"));
                        h2 { (l.pick("路线图", "Route map")) " " span.muted { (r.stops.first().map(|s| s.booking.booking.window.to_string()).unwrap_or_default()) } }
                        // Generated by our own planner from the estate's model: safe to inline.
                        div.map role="img" aria-label=(label) { (PreEscaped(svg)) }
                    }
                }
                script #day type="application/json" { (PreEscaped(embed_json(&day))) }
            },
        ))
    }
    .await;
    render(l, r)
}

fn shift_box(l: Lang, e: &Estate, shift: Option<&doorstep_store::Shift>, here: &str) -> Markup {
    let code = enc(e.code.as_str());
    html! {
        section.shift aria-labelledby="shift-h" {
            h2 #shift-h { (l.pick("班次", "Shift")) }
            @if let Some(s) = shift {
                p #shift-state {
                    span.state.done { (l.pick("班次进行中", "Shift open")) }
                    " " (l.pick("开始于 ", "since ")) (hhmm_of(e, s.opened_at))
                }
                form method="post" action={"/c/" (code) "/shift/" (s.id) "/close"} {
                    input type="hidden" name="back" value=(here);
                    button.secondary #shift-close type="submit" { (l.pick("结束班次（准备交款）", "Close shift (for handover)")) }
                }
            } @else {
                p #shift-state.muted { (l.pick("还没有开始班次。收现金前请先开始班次。", "No shift open. Open one before taking cash.")) }
                form method="post" action={"/c/" (code) "/shift/open"} {
                    input type="hidden" name="back" value=(here);
                    button #shift-open type="submit" { (l.pick("开始班次", "Open shift")) }
                }
            }
            p { a #my-handovers href={"/c/" (code) "/handovers"} { (l.pick("我的交款记录（核对应交与实点金额）", "My handovers (expected and counted)")) } }
        }
    }
}

fn hhmm_of(e: &Estate, at: i64) -> String {
    doorstep_app::booking::unix_to_local(e, at)
        .strftime("%H:%M")
        .to_string()
}

fn stop_card(l: Lang, s: &CollectorStop) -> Markup {
    let b = &s.booking.booking;
    html! {
        li.stop data-booking=(b.id) data-done=(s.done) {
            div.stop-head {
                span.seq aria-hidden="true" { (s.seq) }
                span.eta { b { (if s.eta.is_empty() { "--:--" } else { s.eta.as_str() }) } }
                span.muted { (l.pick("时段 ", "slot ")) (s.slot) }
                (done_label(l, s))
            }
            p.where {
                a.visit href={"/c/visit/" (b.id)} { (s.booking.labels.join("、")) }
            }
            p.who { (b.owner_name) " · " (tel(l, &b.contact_phone)) }
            (needs(l, b))
            p.owed {
                (l.pick("欠费 ", "Owed ")) b { (s.total) }
                @for (c, p, f) in &s.by_category {
                    " · " (category_name(l, *c)) " " (*p + *f)
                }
            }
            p { a.button.wide href={"/c/visit/" (b.id)} { (l.pick("打开此站", "Open this stop")) } }
        }
    }
}

/// One stop: who and where, what is owed line by line with the late-fee
/// calculation, and the tools for check-in, cash, QR, payment code,
/// signature and outcome (driven by app.js).
async fn visit_page(State(app): State<App>, cu: ConsoleUser, Path(id): Path<i64>) -> Response {
    let l = cu.lang;
    let r = async {
        let s = app.collector_stop(&cu.user, id).await?;
        let e = app.estate(&s.booking.estate).await?;
        let shift = if cu.user.role.allows(Permission::RecordPayment) {
            app.my_shift(&cu.user, e.code.as_str()).await?
        } else {
            None
        };
        // Orders still open at this visit and payments not signed for: a
        // reload (or a restarted phone) shows them again.
        let orders = app.open_orders(&cu.user, id).await?;
        let unsigned = app.unsigned_payments(&cu.user, id).await?;
        Ok::<_, AppError>(visit_markup(
            l,
            &cu.user,
            &e,
            &s,
            shift.map(|s| s.id),
            &orders,
            &unsigned,
        ))
    }
    .await;
    render(l, r)
}

/// Bills not yet due, apart from what is due now: an optional prepayment
/// the owner chooses (unticked; only where the estate takes prepayments).
fn prepay_markup(l: Lang, s: &CollectorStop) -> Markup {
    html! {
        @if !s.not_yet_due.is_empty() {
            fieldset #prepay data-allowed=(s.allow_prepay) {
                legend { (l.pick("预缴（未到期，业主自愿）", "Prepay (not yet due, owner's choice)")) }
                p.muted {
                    (l.pick("未到期合计 ", "Not yet due "))
                    span #prepay-total data-fen=(s.not_yet_due_total.0) { (s.not_yet_due_total) }
                    " · "
                    @if s.allow_prepay {
                        (l.pick("不计入应缴；业主要求预缴时才勾选。", "Not in what is due; tick only if the owner asks to prepay."))
                    } @else {
                        (l.pick("本小区不收预缴，到期后再收。", "This estate does not take prepayments: collect it when due."))
                    }
                }
                ul.prepay-lines {
                    @for r in &s.not_yet_due {
                        li data-line=(r.line_id) {
                            @if s.allow_prepay {
                                label.radio {
                                    input.prepay-line type="checkbox" value=(r.line_id) data-fen=(r.total_owed.0);
                                    span { (l.pick("预缴 ", "Prepay ")) (r.object) " · " (r.fee_item) " · " (r.period.to_string()) " · " b { (r.total_owed) } }
                                }
                            } @else {
                                (r.object) " · " (r.fee_item) " · " (r.period.to_string()) " · " (r.total_owed)
                            }
                            " " span.muted { (l.pick("到期日 ", "due ")) (r.due_date) }
                        }
                    }
                }
            }
        }
    }
}

fn visit_markup(
    l: Lang,
    user: &User,
    e: &Estate,
    s: &CollectorStop,
    shift_id: Option<i64>,
    orders: &[PaymentView],
    unsigned: &[UnsignedPayment],
) -> Markup {
    let b = &s.booking.booking;
    let back = format!("/c/{}/today?date={}", enc(e.code.as_str()), b.day);
    let title = s.booking.labels.join("、");
    let ctx = serde_json::json!({
        "booking_id": b.id,
        "collector_id": user.id,
        "estate": e.code.as_str(),
        "date": b.day.to_string(),
        "lang": l.code(),
        "rendered_at_ms": doorstep_app::now() * 1000,
        // Cash queued offline carries the shift it was taken under.
        "shift_id": shift_id,
        // The open QR / payment-code orders (shown below; the script
        // follows their state) and the payments not signed for yet (the
        // signature card confirms the last).
        "open_orders": orders,
        "unsigned_payments": unsigned,
    });
    let owed_now = s.total;
    let can_pay = user.role.allows(Permission::RecordPayment);
    layout(
        l,
        &title,
        Some((&back, l.pick("今晚行程", "Tonight"))),
        html! {
            section.card #who aria-labelledby="who-h" {
                h2 #who-h.vh { (l.pick("业主与时间", "Owner and time")) }
                p.who { b { (b.owner_name) } " · " (tel(l, &b.contact_phone)) }
                p { (l.pick("预约时段 ", "Slot ")) (s.slot)
                    @if !s.eta.is_empty() { " · " (l.pick("预计到达 ", "ETA ")) (s.eta) }
                    " · " (done_label(l, s)) }
                (needs(l, b))
            }

            section.card #owed aria-labelledby="owed-h" {
                h2 #owed-h { (l.pick("现应缴明细", "Due now")) }
                p.total { (l.pick("现应缴合计 ", "Due now ")) span #owed-total data-fen=(owed_now.0) data-due-now=(s.due_now.0) { (owed_now) } }
                p.muted { (l.pick("到期日在今天及以前的账单，滞纳金计至今天；与业主页面所示一致。", "Bills due today or earlier, late fees to today: the amount the owner's page shows.")) }
                @if !s.by_category.is_empty() {
                    table.cats {
                        caption.vh { (l.pick("按类别", "By category")) }
                        thead { tr { th scope="col" { (l.pick("类别", "Category")) } th.num scope="col" { (l.pick("本金", "Principal")) } th.num scope="col" { (l.pick("滞纳金", "Late fee")) } th.num scope="col" { (l.pick("小计", "Subtotal")) } } }
                        tbody {
                            @for (c, p, f) in &s.by_category {
                                tr { th scope="row" { (category_name(l, *c)) } td.num { (*p) } td.num { (*f) } td.num { (*p + *f) } }
                            }
                        }
                    }
                }
                @if s.lines.is_empty() {
                    p #nothing-owed.ok { (l.pick("已无欠费。", "Nothing is owed.")) }
                } @else {
                    ul.lines {
                        @for r in &s.lines {
                            li data-line=(r.line_id) {
                                b { (r.object) " · " (r.fee_item) " · " (r.period.to_string()) }
                                br;
                                (l.pick("本金 ", "principal ")) (r.principal_owed)
                                " · " (l.pick("滞纳金 ", "late fee ")) (r.late_fee_owed)
                                " · " b { (r.total_owed) }
                                @let calc = if l == Lang::En { &r.late_fee_text_en } else { &r.late_fee_text };
                                @if !calc.is_empty() { br; span.calc { (calc) } }
                            }
                        }
                    }
                }
                (prepay_markup(l, s))
                @if !s.payments.is_empty() {
                    p #paid-here { (l.pick("本次已收：", "Taken at this visit: "))
                        @for (i, p) in s.payments.iter().enumerate() {
                            @if i > 0 { (l.pick("、", ", ")) }
                            (p.amount) " "
                            (match p.method.as_str() {
                                "cash" => l.pick("现金", "cash"),
                                "wechat" => l.pick("微信", "WeChat"),
                                "alipay" => l.pick("支付宝", "Alipay"),
                                _ => l.pick("其他", "other"),
                            })
                            " " (hhmm_of(e, p.paid_at))
                            @if p.status != "posted" { " (" (p.status) ")" }
                        }
                    }
                }
            }

            section.card #checkin aria-labelledby="checkin-h" {
                h2 #checkin-h { (l.pick("到达签到", "Check in")) }
                @if let Some(c) = s.checkins.last() {
                    p #checkin-last.muted { (l.pick("上次签到 ", "Last check-in ")) (hhmm_of(e, c.recorded_at)) " · " (verdict_text(l, &c.verdict)) }
                }
                button.wide #checkin-btn type="button" { (l.pick("到达签到（获取定位）", "Check in (get location)")) }
                p #checkin-result role="status" aria-live="polite" {}
            }

            @if can_pay {
                section.card #cash aria-labelledby="cash-h" {
                    h2 #cash-h { (l.pick("现金收款", "Cash")) }
                    form #cash-form novalidate {
                        label for="cash-amount" { (l.pick("收款金额（元）", "Amount (yuan)")) }
                        input #cash-amount name="amount" type="text" inputmode="decimal" autocomplete="off" value=(owed_now.yuan_string()) required;
                        label for="cash-tendered" { (l.pick("实收现金（元）", "Cash handed over (yuan)")) }
                        input #cash-tendered name="tendered" type="text" inputmode="decimal" autocomplete="off";
                        p #cash-change aria-live="polite" { (l.pick("找零 ", "Change ")) b { "¥0.00" } }
                        button.wide #cash-submit type="submit" { (l.pick("确认收到现金", "Confirm cash received")) }
                    }
                    p #cash-result role="status" aria-live="polite" {}
                }

                section.card #qr aria-labelledby="qr-h" {
                    h2 #qr-h { (l.pick("二维码收款", "QR payment")) }
                    p #qr-offline.warn hidden { (l.pick("二维码收款需要网络，请改用现金或到有信号处", "QR payment needs the network: take cash, or move to where there is a signal")) }
                    label for="qr-amount" { (l.pick("收款金额（元）", "Amount (yuan)")) }
                    input #qr-amount type="text" inputmode="decimal" autocomplete="off" value=(owed_now.yuan_string());
                    div.two {
                        button.wechat #qr-wechat type="button" data-provider="wechat" { (l.pick("微信收款码", "WeChat Pay QR")) }
                        button.alipay #qr-alipay type="button" data-provider="alipay" { (l.pick("支付宝收款码", "Alipay QR")) }
                    }
                    (open_order_box(l, orders.last()))
                    p #qr-result role="status" aria-live="polite" {}
                }

                section.card #paycode aria-labelledby="paycode-h" {
                    h2 #paycode-h { (l.pick("扫付款码", "Scan the owner's payment code")) }
                    form #code-form novalidate {
                        label for="code-amount" { (l.pick("收款金额（元）", "Amount (yuan)")) }
                        input #code-amount type="text" inputmode="decimal" autocomplete="off" value=(owed_now.yuan_string());
                        label for="code-digits" { (l.pick("付款码数字（业主微信/支付宝“付款码”下方的数字）", "Payment code digits (under the owner's WeChat/Alipay pay code)")) }
                        input #code-digits type="text" inputmode="numeric" autocomplete="off" pattern="[0-9]*" maxlength="24";
                        button.wide #code-scan type="button" hidden { (l.pick("用摄像头扫码", "Scan with the camera")) }
                        video #code-video hidden playsinline muted aria-label=(l.pick("摄像头画面：对准业主的付款码", "Camera: point at the owner's payment code")) {}
                        p #code-provider.muted aria-live="polite" {}
                        button.wide #code-submit type="submit" { (l.pick("收款", "Charge")) }
                    }
                    p #code-result role="status" aria-live="polite" {}
                }
            }

            section.card #sign aria-labelledby="sign-h" {
                h2 #sign-h { (l.pick("业主签名确认", "Owner's signature")) }
                // The owner confirms one payment: the last one of this visit
                // not signed for yet (the script adds cash still queued).
                @let to_sign = unsigned.last();
                div #sign-shown aria-live="polite" data-payment=[to_sign.map(|p| p.payment_id)] {
                    p.muted { (l.pick("请业主核对以下收款后签名：", "The owner checks this payment, then signs:")) }
                    p.big { (l.pick("确认金额 ", "Amount ")) b #sign-amount { (to_sign.map(|p| p.amount.to_string()).unwrap_or_else(|| "—".into())) } }
                    ul #sign-lines {}
                    p #sign-none.muted hidden[to_sign.is_some()] { (l.pick("本次上门还没有待业主签名确认的收款", "No payment at this visit is waiting for the owner's signature")) }
                }
                canvas #sign-pad width="600" height="240" role="img" aria-label=(l.pick("签名区：请业主用手指在此签名", "Signature area: the owner signs here with a finger")) {}
                div.two {
                    button.secondary #sign-clear type="button" { (l.pick("清除", "Clear")) }
                    button #sign-submit type="button" { (l.pick("确认签名", "Confirm signature")) }
                }
                p #sign-result role="status" aria-live="polite" {}
                @if !s.signatures.is_empty() {
                    p.muted #sign-count { (l.pick("本次已签名 ", "Signatures at this visit: ")) (s.signatures.len()) }
                }
            }

            section.card #outcome aria-labelledby="outcome-h" {
                h2 #outcome-h { (l.pick("上门结果", "Outcome")) }
                @if s.done {
                    p #outcome-done.ok { (l.pick("本次上门已结束：", "This visit is finished: ")) (status_text(l, b)) }
                }
                form #outcome-form novalidate {
                    fieldset {
                        legend { (l.pick("结果", "Result")) }
                        @for (v, zh, en) in [("paid", "已缴清", "Paid in full"), ("partly_paid", "部分缴费", "Partly paid"), ("owner_absent", "业主不在家", "Owner not at home"), ("not_paid", "拒绝缴费", "Refused to pay")] {
                            label.radio { input type="radio" name="result" value=(v) id={"result-" (v)}; " " (l.pick(zh, en)) }
                        }
                    }
                    label for="outcome-reason" { (l.pick("原因（拒绝缴费时必填）", "Reason (required when refused)")) }
                    textarea #outcome-reason name="reason" rows="2" maxlength="200" {}
                    button.wide #outcome-submit type="submit" { (l.pick("提交结果", "Record outcome")) }
                }
                p #outcome-result role="status" aria-live="polite" {}
            }

            section.card #pending-box hidden aria-labelledby="pending-h" {
                h2 #pending-h { (l.pick("本机待同步", "Waiting to sync on this phone")) }
                ul #pending-list {}
            }

            script #ctx type="application/json" { (PreEscaped(embed_json(&ctx))) }
            script #stop type="application/json" { (PreEscaped(embed_json(s))) }
        },
    )
}

/// The QR box: empty and hidden until the script fills it, or showing the
/// order still open at this visit (after a reload, a killed app, a
/// restarted phone) with its QR re-rendered from the stored code, its state
/// and the cancel button; the script then follows its state.
fn open_order_box(l: Lang, open: Option<&PaymentView>) -> Markup {
    let svg = open.and_then(|o| o.qr_svg.clone());
    html! {
        div #qr-box hidden[open.is_none()] data-payment=[open.map(|o| o.collection.id)] data-status=[open.map(|o| o.collection.status.clone())] {
            p #qr-title.big {
                @if let Some(o) = open {
                    @let p = if o.provider == "wechat" { l.pick("微信", "WeChat") } else { l.pick("支付宝", "Alipay") };
                    @if o.collection.method.ends_with("_code") {
                        (p) (l.pick("付款码收款 ", " payment code ")) (o.collection.amount)
                    } @else {
                        (p) (l.pick("扫码支付 ", ": scan to pay ")) (o.collection.amount)
                    }
                }
            }
            @if open.is_some() {
                p #qr-reopened.warn { (l.pick("这笔订单还未完成：业主可继续支付，或取消后重新收款。", "This order is still open: the owner can still pay it, or cancel it and take the payment again.")) }
            }
            div #qr-svg.qr role="img" aria-label=(l.pick("收款二维码，请业主扫码", "Payment QR code for the owner to scan")) hidden[svg.is_none()] data-code=[open.and_then(|o| o.collection.code.clone())] {
                // Made by our own server from the order's stored code.
                @if let Some(svg) = &svg { (PreEscaped(svg)) }
            }
            p #qr-state.big role="status" aria-live="polite" {
                @if let Some(o) = open {
                    @if l == Lang::En {
                        @if o.collection.method.ends_with("_code") { "Waiting for the owner to confirm" } @else { "Waiting for the owner to scan and pay" }
                    } @else { (o.state_zh) }
                }
            }
            p #qr-countdown.muted {}
            button.secondary #qr-cancel type="button" { (l.pick("取消此订单", "Cancel this order")) }
        }
    }
}

fn status_text(l: Lang, b: &Booking) -> &'static str {
    match b.visit_result.map(|r| r.code()) {
        Some("paid") => l.pick("已缴清", "paid in full"),
        Some("partly_paid") => l.pick("部分缴费", "partly paid"),
        Some("not_paid") => l.pick("拒绝缴费", "refused to pay"),
        Some(_) => l.pick("业主不在家", "owner not at home"),
        None => l.pick("已结束", "finished"),
    }
}

fn verdict_text(l: Lang, v: &str) -> &'static str {
    match v {
        "inside" => l.pick("在范围内", "inside the area"),
        "outside" => l.pick("不在范围内（已标记）", "outside the area (flagged)"),
        "no_fix" => l.pick("无定位（已标记）", "no location (flagged)"),
        _ => l.pick("此处未设范围", "no area set here"),
    }
}

// ---------------------------------------------------------------------------
// Small form handlers.

#[derive(Deserialize)]
struct BackForm {
    back: Option<String>,
}

fn safe_back(code: &str, b: Option<String>) -> String {
    b.filter(|b| b.starts_with("/c/") && !b.starts_with("//"))
        .unwrap_or_else(|| format!("/c/{}/today", enc(code)))
}

async fn open_shift(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    axum::extract::Form(f): axum::extract::Form<BackForm>,
) -> Response {
    let l = cu.lang;
    let to = safe_back(&code, f.back);
    let r = app
        .open_shift(&cu.user, &code)
        .await
        .map(|_| l.pick("班次已开始", "Shift opened").to_string());
    crate::ui::back(&to, r)
}

async fn close_shift(
    State(app): State<App>,
    cu: ConsoleUser,
    Path((code, id)): Path<(String, i64)>,
    axum::extract::Form(f): axum::extract::Form<BackForm>,
) -> Response {
    let l = cu.lang;
    let to = safe_back(&code, f.back);
    let r = app.close_shift(&cu.user, id).await.map(|_| {
        l.pick(
            "班次已结束，请到财务交款",
            "Shift closed: hand the cash over to finance",
        )
        .to_string()
    });
    crate::ui::back(&to, r)
}

/// The collector's own handovers: what the ledger expected and finance
/// counted (shown once the count is in), and any difference waiting for
/// their acknowledgement or dispute.
async fn handovers_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let (e, list) = app.my_handovers(&cu.user, &code).await?;
        let here = format!("/c/{}/handovers", enc(e.code.as_str()));
        let back = format!("/c/{}/today", enc(e.code.as_str()));
        Ok::<_, AppError>(layout(
            l,
            l.pick("我的交款记录", "My handovers"),
            Some((back.as_str(), l.pick("今晚行程", "Tonight's visits"))),
            html! {
                @if let Some(m) = &flash.ok { p.ok role="status" { (m) } }
                @if let Some(m) = &flash.err { p.err role="alert" { (m) } }
                @if list.is_empty() { p.muted #handovers-none { (l.pick("还没有交接过的班次。", "No shift handed over yet.")) } }
                @for (s, d) in &list {
                    section.card.handover id={"handover-" (s.id)} {
                        p { b { (l.pick("班次 ", "Shift ")) (s.id) } " · " (hhmm_of(&e, s.opened_at))
                            @if let Some(c) = s.closed_at { "–" (hhmm_of(&e, c)) } }
                        p { (l.pick("应交：", "Expected: ")) b.expected { (s.expected.map(|f| f.to_string()).unwrap_or_default()) }
                            " · " (l.pick("实点：", "Counted: ")) b.counted { (s.counted.map(|f| f.to_string()).unwrap_or_default()) } }
                        @if let Some(d) = d {
                            p.err { (l.pick("差额 ", "Difference ")) b { (d.difference()) } " — " (l.pick("原因：", "reason: ")) (d.reason) }
                            @if d.status == "approved" {
                                p.muted { (l.pick("财务已审批。", "Approved by finance.")) }
                            } @else {
                                @match d.response.as_deref() {
                                    Some("dispute") => p.warn { (l.pick("您已提出异议：", "You disputed it: ")) (d.response_note) },
                                    Some(_) => p.ok { (l.pick("您已确认，待财务审批。", "You acknowledged it; waiting for finance's approval.")) },
                                    None => p.warn { (l.pick("请核对后确认或提出异议。", "Please check, then acknowledge or dispute.")) },
                                }
                                form method="post" action={"/c/" (enc(e.code.as_str())) "/handovers/" (s.id) "/answer"} {
                                    input type="hidden" name="back" value=(here);
                                    label { (l.pick("说明（有异议时必填）", "Note (required to dispute)")) input name="note" maxlength="200"; }
                                    button.ack type="submit" name="dispute" value="false" { (l.pick("确认差额", "Acknowledge")) }
                                    " "
                                    button.secondary.dispute type="submit" name="dispute" value="true" { (l.pick("有异议", "Dispute")) }
                                }
                            }
                        } @else if s.counted.is_some() {
                            p.ok { (l.pick("金额一致。", "Exact.")) }
                        }
                    }
                }
            },
        ))
    }
    .await;
    render(l, r)
}

#[derive(Deserialize)]
struct AnswerForm {
    #[serde(default)]
    dispute: bool,
    #[serde(default)]
    note: String,
    back: Option<String>,
}

async fn answer_handover(
    State(app): State<App>,
    cu: ConsoleUser,
    Path((code, id)): Path<(String, i64)>,
    axum::extract::Form(f): axum::extract::Form<AnswerForm>,
) -> Response {
    let l = cu.lang;
    let to = safe_back(
        &code,
        f.back
            .or_else(|| Some(format!("/c/{}/handovers", enc(&code)))),
    );
    let r = app
        .respond_to_difference(&cu.user, id, f.dispute, &f.note)
        .await
        .map(|d| {
            if d.response.as_deref() == Some("dispute") {
                l.pick(
                    "已提交异议，财务会核实",
                    "Dispute sent: finance will look into it",
                )
            } else {
                l.pick("已确认差额", "Difference acknowledged")
            }
            .to_string()
        });
    crate::ui::back(&to, r)
}

/// Sets the language cookie and goes back to the collector page it came from.
async fn set_lang(Path(code): Path<String>, headers: HeaderMap) -> Response {
    let l = Lang::parse(&code);
    let mut res = Redirect::to(&crate::ui::referer_back(&headers, "/c/", "/c")).into_response();
    crate::ui::set_cookie(&mut res, "lang", l.code(), crate::ui::PREF_SECONDS, false);
    res
}
