//! The owner's pages (what the WeChat official account's menu opens):
//! sign in with a phone on file and an SMS code, see rooms and what is owed,
//! book a home visit, see, cancel or move it. Three screens from signed in
//! to booked: rooms → slot and needs → booked. Large text / high contrast on
//! a tap; Chinese by default, English available; no JavaScript.

use crate::session::{ClientAddr, OWNER_COOKIE, cookie, lang, owner_token};
use crate::ui::{self, enc};
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use doorstep_app::booking::{BookingRequest, BookingView, By, DaySlots, Target};
use doorstep_app::owner::{OwnerEstate, OwnerId, code_message, mask};
use doorstep_app::{App, AppError};
use doorstep_domain::booking::day_label;
use doorstep_domain::{Fen, Lang, ObjectKind};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

/// Owner routes, under `/o`.
pub fn router() -> Router<App> {
    Router::new()
        .route("/o", get(home))
        .route("/o/login", get(login_page))
        .route("/o/login/code", post(send_code))
        .route("/o/login/verify", post(verify_code))
        .route("/o/logout", post(logout))
        .route("/o/prefs", get(prefs))
        .route("/o/book", get(book_page).post(book_submit))
        .route("/o/bookings", get(bookings_page))
        .route("/o/bookings/{id}", get(booking_page))
        .route("/o/bookings/{id}/cancel", post(cancel))
        .route(
            "/o/bookings/{id}/reschedule",
            get(reschedule_page).post(reschedule_submit),
        )
}

/// Display preferences from cookies.
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

/// A signed-in owner on a page; otherwise a redirect to the sign-in page.
struct OwnerPage {
    owner: OwnerId,
    p: Prefs,
}

impl FromRequestParts<App> for OwnerPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let p = prefs_of(&parts.headers);
        let next = parts
            .uri
            .path_and_query()
            .map(|x| x.as_str().to_string())
            .unwrap_or_else(|| "/o".into());
        let to_login = || Redirect::to(&format!("/o/login?next={}", enc(&next))).into_response();
        let Some(t) = owner_token(&parts.headers) else {
            return Err(to_login());
        };
        match app.owner_signed_in(&t).await {
            Ok(owner) => Ok(OwnerPage { owner, p }),
            Err(AppError::Unauthorized(_)) => Err(to_login()),
            Err(e) => Err(error_page(p, &e)),
        }
    }
}

const CSS: &str = r#"
:root{--fg:#111;--muted:#4a4a4a;--line:#c4c4c4;--accent:#0047b3;--bg:#fff;--warn:#a3120a;--ok:#05603a;--soft:#f3f5f8}
*{box-sizing:border-box}html{font-size:18px}html.big{font-size:24px}
body{margin:0;font:1rem/1.6 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:var(--fg);background:var(--bg)}
html.big body{--muted:#000;--line:#000;--accent:#002b80;--soft:#fff}
header{display:flex;flex-wrap:wrap;gap:.4rem .9rem;align-items:center;padding:.5rem .8rem;background:var(--soft);border-bottom:1px solid var(--line)}
header .brand{font-weight:700;color:var(--fg);text-decoration:none}header .tools{margin-left:auto;display:flex;flex-wrap:wrap;gap:.3rem .8rem}
a{color:var(--accent)}main{padding:.8rem;max-width:42rem;margin:0 auto}h1{font-size:1.35rem;margin:.3rem 0 .8rem}h2{font-size:1.15rem;margin:1.1rem 0 .5rem}
.card{border:1px solid var(--line);border-radius:10px;padding:.8rem;margin:.6rem 0}html.big .card{border-width:2px}
.ok{background:#ecfdf3;color:var(--ok);padding:.6rem .8rem;border-radius:8px;font-weight:600}.err{background:#fef3f2;color:var(--warn);padding:.6rem .8rem;border-radius:8px;font-weight:600}
label{display:block;margin:.6rem 0}input[type=tel],input[type=text],textarea{display:block;width:100%;font:inherit;padding:.55rem .6rem;border:2px solid #6b6b6b;border-radius:8px;min-height:3rem;margin-top:.2rem}
.check{display:flex;gap:.6rem;align-items:flex-start;margin:.5rem 0}.check input{width:1.4rem;height:1.4rem;margin-top:.2rem;flex:none}
button,.button{display:inline-block;font:inherit;font-weight:600;padding:.7rem 1.2rem;min-height:3rem;border-radius:10px;border:2px solid var(--accent);background:var(--accent);color:#fff;text-decoration:none;cursor:pointer}
button.secondary{background:#fff;color:var(--accent)}button.link{background:none;border:none;color:var(--accent);padding:0;min-height:0;font-weight:400;text-decoration:underline}
.wide{width:100%}fieldset{border:1px solid var(--line);border-radius:10px;margin:.6rem 0;padding:.4rem .7rem}legend{font-weight:700;padding:0 .3rem}
.slots{display:grid;grid-template-columns:repeat(auto-fill,minmax(7.5rem,1fr));gap:.45rem}
.slot{display:flex;gap:.4rem;align-items:center;border:2px solid var(--line);border-radius:8px;padding:.45rem .5rem;margin:0}
.slot input{width:1.3rem;height:1.3rem;flex:none}.slot.off{color:var(--muted);background:var(--soft);border-style:dashed}
.slot small{display:block;color:var(--muted);font-size:.8rem}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .35rem;border-bottom:1px solid var(--line);vertical-align:top}
td.num,th.num{text-align:right;white-space:nowrap}.calc{color:var(--muted);font-size:.88rem}.total{font-size:1.2rem;font-weight:700}.muted{color:var(--muted)}
.status{display:inline-block;padding:.05rem .5rem;border-radius:999px;border:1px solid currentColor;font-size:.9rem}
details summary{cursor:pointer;color:var(--accent);min-height:2rem}
"#;

fn layout(p: Prefs, title: &str, signed_in: bool, body: Markup) -> Markup {
    let l = p.lang;
    html! {
        (DOCTYPE)
        html lang=(if l == Lang::En { "en" } else { "zh-CN" }) class=(if p.big { "big" } else { "" }) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (l.pick("上门收费预约", "Home visit booking")) }
                style { (maud::PreEscaped(CSS)) }
            }
            body {
                header {
                    a.brand href="/o" { (l.pick("上门收费预约", "Home visit booking")) }
                    div.tools {
                        @if p.big {
                            a href="/o/prefs?big=0" { (l.pick("标准字体", "Normal text")) }
                        } @else {
                            a href="/o/prefs?big=1" { (l.pick("大字模式", "Large text")) }
                        }
                        @if l == Lang::En { a href="/o/prefs?lang=zh" lang="zh-CN" { "中文" } }
                        @else { a href="/o/prefs?lang=en" lang="en" { "English" } }
                        @if signed_in {
                            a href="/o/bookings" { (l.pick("我的预约", "My bookings")) }
                            form method="post" action="/o/logout" { button.link type="submit" { (l.pick("退出登录", "Sign out")) } }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

fn error_page(p: Prefs, e: &AppError) -> Response {
    let msg = message(p.lang, e);
    let status = match e {
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        AppError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        AppError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    (
        status,
        layout(
            p,
            p.lang.pick("出错了", "Something went wrong"),
            true,
            html! { p.err role="alert" { (msg) } p { a href="/o" { (p.lang.pick("返回我的房屋", "Back to my homes")) } } },
        ),
    )
        .into_response()
}

/// A user-facing message for an error, in the owner's language.
fn message(l: Lang, e: &AppError) -> String {
    match e {
        AppError::Refused(r) => r.message(l),
        AppError::Code(c) => code_message(c, l),
        AppError::NotFound(_) => l
            .pick("没有找到（或不属于您）", "Not found (or not yours)")
            .into(),
        AppError::Invalid(d) if d.field() == "phone" => l
            .pick("请输入11位手机号码", "Enter an 11-digit mobile number")
            .into(),
        AppError::Invalid(d) if d.field() == "code" => {
            l.pick("验证码是6位数字", "The code is 6 digits").into()
        }
        AppError::Storage(_) | AppError::Busy(_) => l
            .pick(
                "服务暂时不可用，请稍后再试",
                "The service is busy; please try again",
            )
            .into(),
        AppError::TooMany { retry_after, .. } => {
            let mins = (retry_after + 59) / 60;
            match l {
                Lang::Zh => format!("操作太频繁，请{mins}分钟后再试"),
                Lang::En => format!("Too many attempts; please try again in {mins} min"),
            }
        }
        other => crate::WebError(other.clone()).message(),
    }
}

/// Local paths of the owner pages only, never off-site (the console's
/// rule: no `\`, control characters or schemes, also once decoded).
fn safe_next(n: Option<&str>) -> String {
    let n = crate::ui::local_next(n);
    if n == "/o" || n.starts_with("/o/") || n.starts_with("/o?") {
        n
    } else {
        "/o".into()
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    /// The estate whose company the owner signs in to (the link the
    /// property office gives its owners carries it).
    estate: Option<String>,
    phone: Option<String>,
    sent: Option<String>,
    err: Option<String>,
}

async fn login_page(headers: HeaderMap, Query(q): Query<LoginQuery>) -> Markup {
    let p = prefs_of(&headers);
    let l = p.lang;
    let next = safe_next(q.next.as_deref());
    let phone = q.phone.clone().unwrap_or_default();
    let estate = q.estate.clone().unwrap_or_default();
    layout(
        p,
        l.pick("手机号登录", "Sign in with your phone"),
        false,
        html! {
            @if let Some(e) = &q.err { p.err role="alert" { (e) } }
            @if q.sent.is_some() {
                p.ok role="status" { (l.pick("若该手机号已在物业登记，验证码已发送到 ", "If this number is on file, a code was sent to ")) (mask(&phone)) }
                form.card method="post" action="/o/login/verify" {
                    input type="hidden" name="next" value=(next);
                    input type="hidden" name="estate" value=(estate);
                    input type="hidden" name="phone" value=(phone);
                    label { (l.pick("短信验证码（6位数字）", "SMS code (6 digits)"))
                        input #code type="text" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" required; }
                    button #verify.wide type="submit" { (l.pick("登录", "Sign in")) }
                }
                form method="post" action="/o/login/code" {
                    input type="hidden" name="next" value=(next);
                    input type="hidden" name="estate" value=(estate);
                    input type="hidden" name="phone" value=(phone);
                    button.secondary type="submit" { (l.pick("重新获取验证码", "Send a new code")) }
                }
            } @else {
                p { (l.pick("请输入在物业登记的手机号码，我们会发送短信验证码。无需房产证号或身份证。", "Enter the mobile number the property office has on file; we will text you a code. No certificate or ID number needed.")) }
                form.card method="post" action="/o/login/code" {
                    input type="hidden" name="next" value=(next);
                    input type="hidden" name="estate" value=(estate);
                    label { (l.pick("手机号码", "Mobile number"))
                        input #phone type="tel" name="phone" inputmode="tel" autocomplete="tel" value=(phone) required; }
                    button #send-code.wide type="submit" { (l.pick("获取验证码", "Text me a code")) }
                }
            }
        },
    )
}

#[derive(Deserialize)]
struct PhoneForm {
    phone: String,
    estate: Option<String>,
    next: Option<String>,
}

async fn send_code(
    State(app): State<App>,
    headers: HeaderMap,
    ClientAddr(client): ClientAddr,
    axum::Form(f): axum::Form<PhoneForm>,
) -> Response {
    let l = prefs_of(&headers).lang;
    let next = safe_next(f.next.as_deref());
    let estate = f.estate.as_deref().unwrap_or("").trim();
    match app
        .request_owner_code(&f.phone, Some(estate), &client)
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "/o/login?sent=1&phone={}&estate={}&next={}",
            enc(&normalised(&f.phone)),
            enc(estate),
            enc(&next)
        ))
        .into_response(),
        Err(e) => Redirect::to(&format!(
            "/o/login?phone={}&estate={}&next={}&err={}",
            enc(f.phone.trim()),
            enc(estate),
            enc(&next),
            enc(&message(l, &e))
        ))
        .into_response(),
    }
}

/// The phone as the code went to it (the answer itself shows it masked).
fn normalised(phone: &str) -> String {
    doorstep_domain::PhoneNumber::parse(phone)
        .map(|p| p.as_str().to_string())
        .unwrap_or_default()
}

#[derive(Deserialize)]
struct CodeForm {
    phone: String,
    code: String,
    estate: Option<String>,
    next: Option<String>,
}

async fn verify_code(
    State(app): State<App>,
    headers: HeaderMap,
    ClientAddr(client): ClientAddr,
    axum::Form(f): axum::Form<CodeForm>,
) -> Response {
    let l = prefs_of(&headers).lang;
    let next = safe_next(f.next.as_deref());
    match app.verify_owner_code(&f.phone, &f.code, &client).await {
        Ok(s) => {
            let mut res = Redirect::to(&next).into_response();
            ui::set_cookie(
                &mut res,
                OWNER_COOKIE,
                &s.token,
                doorstep_app::owner::OWNER_SESSION_SECONDS,
                true,
            );
            res
        }
        Err(e) => {
            // A dead code needs a new one: back to the phone step.
            let sent = matches!(
                e,
                AppError::Code(doorstep_domain::booking::CodeRefusal::Wrong { .. })
            ) || matches!(e, AppError::Invalid(_));
            Redirect::to(&format!(
                "/o/login?{}phone={}&estate={}&next={}&err={}",
                if sent { "sent=1&" } else { "" },
                enc(f.phone.trim()),
                enc(f.estate.as_deref().unwrap_or("").trim()),
                enc(&next),
                enc(&message(l, &e))
            ))
            .into_response()
        }
    }
}

async fn logout(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Some(t) = cookie(&headers, OWNER_COOKIE) {
        let _ = app.owner_sign_out(&t).await;
    }
    let mut res = Redirect::to("/o/login").into_response();
    ui::clear_cookie(&mut res, OWNER_COOKIE);
    res
}

#[derive(Deserialize)]
struct PrefsQuery {
    big: Option<String>,
    lang: Option<String>,
}

async fn prefs(headers: HeaderMap, Query(q): Query<PrefsQuery>) -> Response {
    ui::prefs_redirect(
        &ui::referer_back(&headers, "/o", "/o"),
        q.big.as_deref(),
        q.lang.as_deref(),
    )
}

fn category_label(c: doorstep_domain::Category, l: Lang) -> &'static str {
    use doorstep_domain::Category::*;
    match c {
        Property => l.pick("物业费", "Property"),
        Parking => l.pick("车位费", "Parking"),
        OnBehalf => l.pick("代收费用", "Collected on behalf"),
        Other => l.pick("其他", "Other"),
    }
}

fn target_value(kind: ObjectKind, id: i64) -> String {
    format!("{}:{id}", kind.code())
}

fn owed_table(l: Lang, h: &doorstep_app::owner::Holding) -> Markup {
    html! {
        @if h.lines.is_empty() {
            p.muted { (l.pick("目前没有欠费", "Nothing owed now")) }
        } @else {
            table {
                caption.muted style="text-align:left" { (l.pick("按类别", "By category")) }
                thead { tr { th scope="col" { (l.pick("类别", "Category")) } th.num scope="col" { (l.pick("本金", "Principal")) } th.num scope="col" { (l.pick("滞纳金", "Late fee")) } } }
                tbody {
                    @for (c, principal, late) in &h.by_category {
                        tr { td { (category_label(*c, l)) } td.num { (*principal) } td.num { (*late) } }
                    }
                }
            }
            p.total { (l.pick("现应缴合计 ", "Due now ")) span.due-now { (h.total) } }
            details {
                summary { (l.pick("查看明细与滞纳金计算", "Details and late-fee calculation")) }
                ul {
                    @for r in &h.lines {
                        li {
                            (r.fee_item) " " (r.period) "：" (r.principal_owed)
                            @if r.late_fee_owed.0 > 0 || r.late_fee.is_some() {
                                br; span.calc { (l.pick("滞纳金 ", "Late fee ")) (r.late_fee_owed) " = " (if l == Lang::En { &r.late_fee_text_en } else { &r.late_fee_text }) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Bills not yet due: apart from what is owed now, an optional prepayment
/// the owner may choose at the visit (where the estate takes prepayments).
fn prepay_block(l: Lang, h: &doorstep_app::owner::Holding, allow: bool) -> Markup {
    html! {
        @if !h.not_yet_due.is_empty() {
            section.prepay aria-label=(l.pick("未到期账单（可选预缴）", "Bills not yet due (optional prepayment)")) {
                h4 style="margin:.8rem 0 .2rem" { (l.pick("未到期账单（可选预缴）", "Bills not yet due (optional prepayment)")) }
                p.muted {
                    @if allow {
                        (l.pick("不计入上方应缴合计。如需预缴，请在上门收费时告诉收费员。", "Not in the total due above. To prepay, tell the collector at the visit."))
                    } @else {
                        (l.pick("不计入上方应缴合计，到期后再缴。", "Not in the total due above; pay it when it falls due."))
                    }
                }
                ul {
                    @for r in &h.not_yet_due {
                        li data-line=(r.line_id) {
                            (r.fee_item) " " (r.period) "：" (r.principal_owed)
                            span.muted { " " (l.pick("到期日 ", "due ")) (r.due_date) }
                        }
                    }
                }
                p { (l.pick("可预缴合计 ", "Prepayment total ")) span.prepay-total { (h.not_yet_due_total) } }
            }
        }
    }
}

async fn home(State(app): State<App>, o: OwnerPage, Query(q): Query<crate::ui::Flash>) -> Response {
    let l = o.p.lang;
    let estates = match app.owner_holdings(&o.owner, None).await {
        Ok(e) => e,
        Err(e) => return error_page(o.p, &e),
    };
    layout(
        o.p,
        l.pick("我的房屋", "My homes"),
        true,
        html! {
            @if let Some(m) = &q.ok { p.ok role="status" { (m) } }
            @if let Some(m) = &q.err { p.err role="alert" { (m) } }
            @if estates.is_empty() {
                p { (l.pick("没有找到登记在此手机号下的房屋。", "No homes are on file for this phone.")) }
            }
            @for e in &estates { (estate_block(l, e)) }
        },
    )
    .into_response()
}

fn estate_block(l: Lang, e: &OwnerEstate) -> Markup {
    let bookable: Vec<_> = e.holdings.iter().filter(|h| h.booked.is_none()).collect();
    html! {
        section aria-labelledby=(format!("estate-{}", e.estate.code)) {
            h2 id=(format!("estate-{}", e.estate.code)) { (e.estate.name) " · " (e.owner_name) }
            p.muted { (l.pick("金额计算至 ", "Amounts as of ")) (e.as_of) }
            form method="get" action="/o/book" {
                input type="hidden" name="estate" value=(e.estate.code);
                @for h in &e.holdings {
                    div.card {
                        @if let Some(b) = h.booked {
                            h3 style="margin:0;font-size:1.1rem" { (h.label) }
                            p { a href=(format!("/o/bookings/{b}")) { (l.pick("已预约上门，查看预约", "A visit is booked — see it")) } }
                        } @else {
                            label.check style="margin:0" {
                                input type="checkbox" name="t" value=(target_value(h.kind, h.id)) checked[bookable.len() == 1];
                                span style="font-size:1.1rem;font-weight:700" { (h.label) }
                            }
                        }
                        (owed_table(l, h))
                        (prepay_block(l, h, e.allow_prepay))
                    }
                }
                @if !bookable.is_empty() {
                    button #book.wide type="submit" { (l.pick("预约上门收费", "Book a home visit")) }
                }
            }
        }
    }
}

/// `k=v&k=v` pairs, percent-decoded (`+` is a space).
fn pairs(s: &str) -> Vec<(String, String)> {
    fn dec(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    match u8::from_str_radix(
                        std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"),
                        16,
                    ) {
                        Ok(v) => {
                            out.push(v);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    s.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (dec(k), dec(v)),
            None => (dec(kv), String::new()),
        })
        .collect()
}

fn field<'a>(p: &'a [(String, String)], k: &str) -> Option<&'a str> {
    p.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

fn targets_of(p: &[(String, String)]) -> Result<Vec<Target>, AppError> {
    p.iter()
        .filter(|(k, _)| k == "t")
        .map(|(_, v)| {
            let bad = || {
                AppError::Invalid(doorstep_domain::DomainError::invalid(
                    "targets",
                    format!("{v:?} is not a room or space"),
                ))
            };
            let (kind, id) = v.split_once(':').ok_or_else(bad)?;
            Ok(Target {
                kind: ObjectKind::from_code(kind).map_err(|_| bad())?,
                id: id.parse().map_err(|_| bad())?,
            })
        })
        .collect()
}

fn slot_picker(l: Lang, days: &[DaySlots], chosen: Option<&str>) -> Markup {
    html! {
        @for d in days {
            @if !d.slots.is_empty() {
                fieldset {
                    legend { (day_label(d.date, l)) @if let Some(r) = &d.day_rule { " · " (r.label(l)) } }
                    div.slots {
                        @for s in &d.slots {
                            @let id = format!("slot-{}", s.start.replace([':', '-'], ""));
                            @if let Some(r) = s.refusal {
                                label.slot.off for=(id) {
                                    input id=(id) type="radio" name="slot" value=(s.start) disabled;
                                    span { (s.from) "–" (s.to) small { (r.message(l).split(['，', ',']).next().unwrap_or_default()) } }
                                }
                            } @else {
                                label.slot for=(id) {
                                    input id=(id) type="radio" name="slot" value=(s.start) required checked[chosen == Some(s.start.as_str())];
                                    span { (s.from) "–" (s.to) small { (l.pick("余", "left ")) (s.left) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn book_page(State(app): State<App>, o: OwnerPage, RawQuery(raw): RawQuery) -> Response {
    let l = o.p.lang;
    let q = pairs(raw.as_deref().unwrap_or(""));
    let code = field(&q, "estate").unwrap_or("").to_string();
    let targets = match targets_of(&q) {
        Ok(t) if !t.is_empty() => t,
        Ok(_) => {
            return Redirect::to(&format!(
                "/o?err={}",
                enc(l.pick(
                    "请先勾选要预约的房屋或车位",
                    "Tick the homes or spaces to visit first"
                ))
            ))
            .into_response();
        }
        Err(e) => return error_page(o.p, &e),
    };
    let estates = match app.owner_holdings(&o.owner, None).await {
        Ok(e) => e,
        Err(e) => return error_page(o.p, &e),
    };
    let Some(est) = estates.iter().find(|e| {
        e.estate.code == code
            && targets
                .iter()
                .all(|t| e.holdings.iter().any(|h| h.kind == t.kind && h.id == t.id))
    }) else {
        return error_page(o.p, &AppError::NotFound("room".into()));
    };
    let days = match app
        .list_slots(&est.estate, doorstep_app::today(&est.estate), 8)
        .await
    {
        Ok(d) => d,
        Err(e) => return error_page(o.p, &e),
    };
    let chosen: Vec<_> = est
        .holdings
        .iter()
        .filter(|h| targets.iter().any(|t| t.kind == h.kind && t.id == h.id))
        .collect();
    layout(
        o.p,
        l.pick("选择上门时间", "Choose a time"),
        true,
        html! {
            @if let Some(e) = field(&q, "err") { p.err role="alert" { (e) } }
            p { (est.estate.name) "：" @for (i, h) in chosen.iter().enumerate() { @if i > 0 { "、" } strong { (h.label) } } }
            p { (l.pick("应缴合计 ", "Owed in all ")) strong { (chosen.iter().map(|h| h.total).sum::<Fen>()) } span.muted { " " (l.pick("（滞纳金按上门当天计算）", "(late fees as of the visit day)")) } }
            form method="post" action="/o/book" {
                input type="hidden" name="estate" value=(est.estate.code);
                @for t in &targets { input type="hidden" name="t" value=(target_value(t.kind, t.id)); }
                (slot_picker(l, &days, field(&q, "slot")))
                fieldset {
                    legend { (l.pick("特殊需要", "Special needs")) }
                    label.check { input #cash type="checkbox" name="cash" value="1"; span { (l.pick("我将用现金缴费", "I will pay in cash")) } }
                    label.check { input #call-first type="checkbox" name="call_first" value="1"; span { (l.pick("家中只有老人，请上门前先打电话确认", "An elderly person is alone at home — call to confirm first")) } }
                    label { (l.pick("联系电话（可填子女或家人的电话）", "Contact phone (a child or relative's is fine)"))
                        input #contact type="tel" name="contact_phone" inputmode="tel" value=(o.owner.phone); }
                    label { (l.pick("备注（选填）", "Note (optional)"))
                        textarea #note name="note" rows="2" maxlength="500" {} }
                }
                button #confirm.wide type="submit" { (l.pick("确认预约", "Confirm booking")) }
            }
        },
    )
    .into_response()
}

async fn book_submit(State(app): State<App>, o: OwnerPage, body: String) -> Response {
    let l = o.p.lang;
    let f = pairs(&body);
    let code = field(&f, "estate").unwrap_or("").to_string();
    let targets = match targets_of(&f) {
        Ok(t) => t,
        Err(e) => return error_page(o.p, &e),
    };
    let retry = |err: &str| {
        let mut q = format!("/o/book?estate={}", enc(&code));
        for t in &targets {
            q += &format!("&t={}", enc(&target_value(t.kind, t.id)));
        }
        Redirect::to(&format!("{q}&err={}", enc(err))).into_response()
    };
    let Some((date, start)) = field(&f, "slot").and_then(|s| s.split_once('T')) else {
        return retry(l.pick("请选择一个上门时段", "Choose a time slot"));
    };
    let req = BookingRequest {
        targets: targets.clone(),
        date: date.to_string(),
        start: start.to_string(),
        pays_cash: field(&f, "cash").is_some(),
        call_first: field(&f, "call_first").is_some(),
        note: field(&f, "note").unwrap_or("").to_string(),
        contact_phone: field(&f, "contact_phone").unwrap_or("").to_string(),
    };
    match app.create_booking(By::Owner(&o.owner), &code, &req).await {
        Ok(b) => Redirect::to(&format!("/o/bookings/{}?new=1", b.booking.id)).into_response(),
        Err(e @ (AppError::Refused(_) | AppError::Invalid(_) | AppError::Conflict(_))) => {
            retry(&message(l, &e))
        }
        Err(e) => error_page(o.p, &e),
    }
}

fn booking_card(l: Lang, v: &BookingView) -> Markup {
    let b = &v.booking;
    html! {
        div.card {
            p style="margin:0" { span.status { (b.status.label(l)) } }
            p style="font-size:1.15rem;margin:.3rem 0" {
                strong { (day_label(b.day, l)) " " (b.slot) }
            }
            p style="margin:.2rem 0" { (v.labels.join("、")) }
            @if let Some(eta) = &v.eta_local {
                p style="margin:.2rem 0" { (l.pick("收费员预计到达 ", "Collector expected at ")) strong { (eta) } @if let Some(c) = &v.collector { " · " (c) } }
            }
            p.muted style="margin:.2rem 0" {
                (l.pick("联系电话 ", "Contact ")) (b.contact_phone)
                @if b.pays_cash { " · " (l.pick("现金缴费", "paying cash")) }
                @if b.call_first { " · " (l.pick("上门前先电话确认", "call first")) }
            }
            @if !b.note.is_empty() { p.muted style="margin:.2rem 0" { (b.note) } }
        }
    }
}

async fn bookings_page(
    State(app): State<App>,
    o: OwnerPage,
    Query(q): Query<crate::ui::Flash>,
) -> Response {
    let l = o.p.lang;
    let list = match app.owner_bookings(&o.owner).await {
        Ok(v) => v,
        Err(e) => return error_page(o.p, &e),
    };
    layout(
        o.p,
        l.pick("我的预约", "My bookings"),
        true,
        html! {
            @if let Some(m) = &q.ok { p.ok role="status" { (m) } }
            @if list.is_empty() { p { (l.pick("还没有预约。", "No bookings yet.")) " " a href="/o" { (l.pick("去预约", "Book a visit")) } } }
            @for v in &list {
                (booking_card(l, v))
                p { a href=(format!("/o/bookings/{}", v.booking.id)) { (l.pick("查看、改期或取消", "View, move or cancel")) } }
            }
        },
    )
    .into_response()
}

#[derive(Deserialize)]
struct BookingQ {
    new: Option<String>,
    ok: Option<String>,
    err: Option<String>,
}

async fn booking_page(
    State(app): State<App>,
    o: OwnerPage,
    Path(id): Path<i64>,
    Query(q): Query<BookingQ>,
) -> Response {
    let l = o.p.lang;
    let (estate, b) = match app.booking_for(&By::Owner(&o.owner), id).await {
        Ok(x) => x,
        Err(e) => return error_page(o.p, &e),
    };
    let day = b.day;
    let targets = b.targets.clone();
    let v = match app.view(&estate, b).await {
        Ok(v) => v,
        Err(e) => return error_page(o.p, &e),
    };
    // What will be owed on the visit day, late fees included.
    let owed = app
        .owner_holdings(&o.owner, Some(day))
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.estate.id == estate.id)
        .flat_map(|e| e.holdings)
        .filter(|h| targets.contains(&(h.kind, h.id)))
        .collect::<Vec<_>>();
    layout(
        o.p,
        if q.new.is_some() { l.pick("预约成功", "Booked") } else { l.pick("预约详情", "Booking") },
        true,
        html! {
            @if q.new.is_some() {
                p.ok role="status" { (l.pick("已预约。上门前会短信提醒您。", "Your visit is booked. We will text you a reminder.")) }
                @if v.booking.call_first { p { (l.pick("物业会先打电话与您确认。", "The office will phone you to confirm first.")) } }
            }
            @if let Some(m) = &q.ok { p.ok role="status" { (m) } }
            @if let Some(m) = &q.err { p.err role="alert" { (m) } }
            (booking_card(l, &v))
            h2 { (l.pick("上门当天应缴", "Owed on the visit day")) }
            @for h in &owed {
                div.card { h3 style="margin:0;font-size:1.05rem" { (h.label) } (owed_table(l, h)) }
            }
            @if v.changeable {
                p { a.button href=(format!("/o/bookings/{id}/reschedule")) { (l.pick("改期", "Move to another time")) } }
                form method="post" action=(format!("/o/bookings/{id}/cancel")) {
                    button.secondary #cancel type="submit" { (l.pick("取消预约", "Cancel booking")) }
                }
            } @else if v.booking.status.is_open() {
                p.muted { (l.pick("临近上门时间，如需改期或取消请致电物业服务中心。", "It is close to the visit; please phone the office to change it.")) }
            }
            p { a href="/o" { (l.pick("返回我的房屋", "Back to my homes")) } }
        },
    )
    .into_response()
}

async fn cancel(State(app): State<App>, o: OwnerPage, Path(id): Path<i64>) -> Response {
    let l = o.p.lang;
    match app.cancel_booking(By::Owner(&o.owner), id, "").await {
        Ok(_) => Redirect::to(&format!(
            "/o/bookings?ok={}",
            enc(l.pick("预约已取消", "Booking cancelled"))
        ))
        .into_response(),
        Err(AppError::NotFound(_)) => error_page(o.p, &AppError::NotFound("booking".into())),
        Err(e) => {
            Redirect::to(&format!("/o/bookings/{id}?err={}", enc(&message(l, &e)))).into_response()
        }
    }
}

async fn reschedule_page(
    State(app): State<App>,
    o: OwnerPage,
    Path(id): Path<i64>,
    Query(q): Query<crate::ui::Flash>,
) -> Response {
    let l = o.p.lang;
    let (estate, b) = match app.booking_for(&By::Owner(&o.owner), id).await {
        Ok(x) => x,
        Err(e) => return error_page(o.p, &e),
    };
    let days = match app
        .list_slots(&estate, doorstep_app::today(&estate), 8)
        .await
    {
        Ok(d) => d,
        Err(e) => return error_page(o.p, &e),
    };
    let v = match app.view(&estate, b).await {
        Ok(v) => v,
        Err(e) => return error_page(o.p, &e),
    };
    layout(
        o.p,
        l.pick("改到其他时间", "Move to another time"),
        true,
        html! {
            @if let Some(m) = &q.err { p.err role="alert" { (m) } }
            (booking_card(l, &v))
            form method="post" action=(format!("/o/bookings/{id}/reschedule")) {
                (slot_picker(l, &days, None))
                button #move.wide type="submit" { (l.pick("确认改期", "Move booking")) }
            }
        },
    )
    .into_response()
}

#[derive(Deserialize)]
struct SlotForm {
    slot: Option<String>,
}

async fn reschedule_submit(
    State(app): State<App>,
    o: OwnerPage,
    Path(id): Path<i64>,
    axum::Form(f): axum::Form<SlotForm>,
) -> Response {
    let l = o.p.lang;
    let Some((date, start)) = f.slot.as_deref().and_then(|s| s.split_once('T')) else {
        return Redirect::to(&format!(
            "/o/bookings/{id}/reschedule?err={}",
            enc(l.pick("请选择一个上门时段", "Choose a time slot"))
        ))
        .into_response();
    };
    match app
        .reschedule_booking(By::Owner(&o.owner), id, date, start)
        .await
    {
        Ok(b) => Redirect::to(&format!(
            "/o/bookings/{}?ok={}",
            b.booking.id,
            enc(l.pick("已改期", "Booking moved"))
        ))
        .into_response(),
        Err(AppError::NotFound(_)) => error_page(o.p, &AppError::NotFound("booking".into())),
        Err(e) => Redirect::to(&format!(
            "/o/bookings/{id}/reschedule?err={}",
            enc(&message(l, &e))
        ))
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_the_owner_pages() {
        assert_eq!(safe_next(Some("/o/book?x=1")), "/o/book?x=1");
        assert_eq!(safe_next(Some("/o")), "/o");
        for bad in [
            "/o\\evil.example",
            "/\\evil.example",
            "//evil.example",
            "/o%5C%5Cevil",
            "/oevil",
            "/console",
            "https://evil.example/o",
            "/o/\tx",
        ] {
            assert_eq!(safe_next(Some(bad)), "/o", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/o");
    }

    #[test]
    fn limits_are_told_in_the_owners_language() {
        let e = doorstep_app::AppError::TooMany {
            what: "owner code attempts".into(),
            retry_after: 61,
        };
        assert_eq!(
            super::message(doorstep_domain::Lang::Zh, &e),
            "操作太频繁，请2分钟后再试"
        );
        assert!(super::message(doorstep_domain::Lang::En, &e).contains("2 min"));
    }
}
