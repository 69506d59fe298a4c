//! The staff console: server-rendered pages in Simplified Chinese (English
//! on request), mobile-first, no JavaScript.

mod arrears;
mod bookings;
mod cash;
mod dashboard;
mod dispatch;
mod estates;
mod fees;
mod import;
mod objects;
mod outbox;
mod receipts;
mod visit_settings;

use crate::session::{COOKIE, ClientAddr, cookie, lang, token};
use crate::ui::{Flash, PREF_SECONDS, clear_cookie, enc, local_next, referer_back, set_cookie};
use axum::Router;
use axum::extract::{Form, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use doorstep_app::{App, AppError};
use doorstep_domain::Lang;
use doorstep_store::User;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

/// Console routes.
pub fn router() -> Router<App> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(set_lang))
        .merge(estates::router())
        .merge(arrears::router())
        .merge(fees::router())
        .merge(objects::router())
        .merge(import::router())
        .merge(bookings::router())
        .merge(dispatch::router())
        .merge(visit_settings::router())
        .merge(outbox::router())
        .merge(cash::router())
        .merge(dashboard::router())
        .merge(receipts::router())
}

/// A signed-in staff user on a console page; otherwise a redirect to /login.
pub struct ConsoleUser {
    /// Who.
    pub user: User,
    /// Their language.
    pub lang: Lang,
}

impl FromRequestParts<App> for ConsoleUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let l = lang(&parts.headers);
        let to_login = || {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/console");
            Redirect::to(&format!("/login?next={}", enc(next))).into_response()
        };
        let Some(t) = token(&parts.headers) else {
            return Err(to_login());
        };
        match app.session_user(&t).await {
            Ok(user) => Ok(ConsoleUser { user, lang: l }),
            Err(AppError::Unauthorized(_)) => Err(to_login()),
            Err(e) => Err(error_page(l, &e)),
        }
    }
}

/// The page shell.
pub fn page(
    l: Lang,
    title: &str,
    user: Option<&User>,
    estate: Option<&str>,
    flash: &Flash,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(l.pick("zh-CN", "en")) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (l.pick("门口收费", "Doorstep")) }
                link rel="icon" href="/favicon.svg" type="image/svg+xml";
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    a.brand href="/console" { (l.pick("门口收费", "Doorstep")) }
                    @if let Some(code) = estate {
                        nav {
                            a href={"/console/" (code)} { (l.pick("概览", "Overview")) }
                            a href={"/console/" (code) "/arrears"} { (l.pick("欠费", "Arrears")) }
                            a href={"/console/" (code) "/fee-items"} { (l.pick("收费项目", "Fee items")) }
                            a href={"/console/" (code) "/rooms"} { (l.pick("房屋", "Rooms")) }
                            a href={"/console/" (code) "/spaces"} { (l.pick("车位", "Spaces")) }
                            a href={"/console/" (code) "/owners"} { (l.pick("业主", "Owners")) }
                            a href={"/console/" (code) "/buildings"} { (l.pick("楼栋", "Buildings")) }
                            a href={"/console/" (code) "/import"} { (l.pick("导入", "Import")) }
                            a href={"/console/" (code) "/bookings"} { (l.pick("预约", "Bookings")) }
                            a href={"/console/" (code) "/bookings/new"} { (l.pick("代客预约", "Book on behalf")) }
                            a href={"/console/" (code) "/calls"} { (l.pick("电话确认", "Calls")) }
                            a href={"/console/" (code) "/dispatch"} { (l.pick("派单", "Dispatch")) }
                            a href={"/console/" (code) "/itinerary"} { (l.pick("行程", "Itinerary")) }
                            a href={"/console/" (code) "/visit-settings"} { (l.pick("上门设置", "Visit settings")) }
                            a href={"/console/" (code) "/dashboard"} { (l.pick("经营看板", "Dashboard")) }
                            a href={"/console/" (code) "/cash"} { (l.pick("现金与对账", "Cash")) }
                            a href={"/console/" (code) "/receipts"} { (l.pick("收据与存证", "Receipts")) }
                            a href={"/console/invoices?estate=" (code)} { (l.pick("开票申请", "Invoices")) }
                            a href="/console/outbox" { (l.pick("消息", "Outbox")) }
                        }
                    }
                    div.who {
                        @if l == Lang::Zh { a href="/lang/en" { "English" } } @else { a href="/lang/zh" { "中文" } }
                        @if let Some(u) = user {
                            span { (u.display_name) }
                            form method="post" action="/logout" { button.link type="submit" { (l.pick("退出", "Sign out")) } }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    @if let Some(m) = &flash.ok { p.ok role="status" { (m) } }
                    @if let Some(m) = &flash.err { p.err role="alert" { (m) } }
                    (body)
                }
            }
        }
    }
}

/// A page for an error on a GET.
pub fn error_page(l: Lang, e: &AppError) -> Response {
    let status = crate::WebError(e.clone());
    let (code, _) = status.status();
    let flash = Flash {
        ok: None,
        err: Some(status.message()),
    };
    let mut res = (
        code,
        page(
            l,
            l.pick("出错了", "Something went wrong"),
            None,
            None,
            &flash,
            html! { p { a href="/console" { (l.pick("返回首页", "Back to start")) } } },
        ),
    )
        .into_response();
    if matches!(e, AppError::Busy(_)) {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    res
}

/// Renders a console result: the page, or an error page.
pub fn render(l: Lang, r: Result<Markup, AppError>) -> Response {
    match r {
        Ok(m) => m.into_response(),
        Err(e) => error_page(l, &e),
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    err: Option<String>,
}

async fn login_page(headers: HeaderMap, Query(q): Query<LoginQuery>) -> Markup {
    let l = lang(&headers);
    let flash = Flash {
        ok: None,
        err: q.err,
    };
    page(
        l,
        l.pick("员工登录", "Staff sign-in"),
        None,
        None,
        &flash,
        html! {
            form.card method="post" action="/login" {
                input type="hidden" name="next" value=(local_next(q.next.as_deref()));
                label { (l.pick("用户名", "Username")) input #username name="username" autocomplete="username" required; }
                label { (l.pick("密码", "Password")) input #password name="password" type="password" autocomplete="current-password" required; }
                button #login type="submit" { (l.pick("登录", "Sign in")) }
            }
        },
    )
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login_submit(
    State(app): State<App>,
    headers: HeaderMap,
    ClientAddr(client): ClientAddr,
    Form(f): Form<LoginForm>,
) -> Response {
    let l = lang(&headers);
    let next = local_next(f.next.as_deref());
    let again = |msg: String| {
        Redirect::to(&format!("/login?next={}&err={}", enc(&next), enc(&msg))).into_response()
    };
    match app.login_from(&f.username, &f.password, &client).await {
        Ok(s) => {
            let mut res = Redirect::to(&next).into_response();
            set_cookie(
                &mut res,
                COOKIE,
                &s.token,
                doorstep_app::auth::SESSION_SECONDS,
                true,
            );
            res
        }
        Err(AppError::Unauthorized(_)) => again(
            l.pick("用户名或密码错误", "Wrong username or password")
                .into(),
        ),
        Err(AppError::TooMany { retry_after, .. }) => again(match l {
            Lang::Zh => format!("登录尝试过多，请 {} 后再试", wait_text(l, retry_after)),
            Lang::En => format!(
                "Too many sign-in attempts; try again in {}",
                wait_text(l, retry_after)
            ),
        }),
        Err(e) => error_page(l, &e),
    }
}

/// "45 秒" / "3 分钟" (rounded up).
fn wait_text(l: Lang, secs: i64) -> String {
    if secs < 60 {
        format!("{secs}{}", l.pick(" 秒", " s"))
    } else {
        format!("{}{}", (secs + 59) / 60, l.pick(" 分钟", " min"))
    }
}

async fn logout(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Some(t) = cookie(&headers, COOKIE) {
        let _ = app.logout(&t).await;
    }
    let mut res = Redirect::to("/login").into_response();
    clear_cookie(&mut res, COOKIE);
    res
}

async fn set_lang(
    axum::extract::Path(code): axum::extract::Path<String>,
    headers: HeaderMap,
) -> Response {
    let l = Lang::parse(&code);
    let mut res = Redirect::to(&referer_back(&headers, "/console", "/console")).into_response();
    set_cookie(&mut res, "lang", l.code(), PREF_SECONDS, false);
    res
}

const CSS: &str = r#"
:root{--fg:#1a1a1a;--muted:#555;--line:#d0d7de;--accent:#0b5fff;--bg:#fff;--warn:#b42318;--ok:#067647}
*{box-sizing:border-box}body{margin:0;font:17px/1.55 system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:.6rem 1rem;border-bottom:1px solid var(--line);background:#f6f8fa}
.brand{font-weight:700;color:var(--fg);text-decoration:none;font-size:1.15rem}nav{display:flex;flex-wrap:wrap;gap:.25rem .9rem}
nav a,.who a{color:var(--accent);text-decoration:none;padding:.35rem 0}.who{margin-left:auto;display:flex;gap:.8rem;align-items:center}
main{padding:1rem;max-width:1200px;margin:0 auto}h1{font-size:1.45rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:1.4rem 0 .6rem}
.ok{background:#ecfdf3;color:var(--ok);padding:.6rem .8rem;border-radius:6px}.err{background:#fef3f2;color:var(--warn);padding:.6rem .8rem;border-radius:6px}
.card{border:1px solid var(--line);border-radius:8px;padding:1rem;margin:.6rem 0;max-width:40rem}
label{display:block;margin:.5rem 0}input,select{font:inherit;padding:.45rem .55rem;border:1px solid #8c959f;border-radius:6px;min-height:2.6rem;max-width:100%}
label input,label select{display:block;width:100%;margin-top:.2rem}label.inline{display:flex;gap:.5rem;align-items:center}label.inline input{width:auto;display:inline;margin:0}
button{font:inherit;padding:.5rem 1rem;min-height:2.6rem;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}
button.secondary{background:#fff;color:var(--accent)}button.link{background:none;border:none;color:var(--accent);padding:0;min-height:0}
.table{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.95rem}th,td{border-bottom:1px solid var(--line);padding:.45rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;white-space:nowrap}td.num,th.num{text-align:right;white-space:nowrap}.calc{color:var(--muted);font-size:.85rem}
.row{display:flex;flex-wrap:wrap;gap:.6rem;align-items:flex-end}.row label{margin:0}.stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(9rem,1fr));gap:.6rem}
.stat{border:1px solid var(--line);border-radius:8px;padding:.6rem}.stat b{display:block;font-size:1.4rem}.muted{color:var(--muted)}
form.act{display:flex;gap:.3rem;margin:.2rem 0}form.act input{min-height:2.2rem;padding:.2rem .4rem;width:9rem}form.act button{min-height:2.2rem;padding:.2rem .6rem;font-size:.9rem}
.tag{display:inline-block;border:1px solid var(--line);border-radius:4px;padding:0 .3rem;font-size:.85rem}.ontime{color:var(--ok)}.late{color:var(--warn)}
.locked{background:#fffaeb;color:#7a2e0e;padding:.6rem .8rem;border-radius:6px;font-weight:600}fieldset{border:1px solid var(--line);border-radius:8px;margin:.5rem 0}
.map{max-width:40rem;border:1px solid var(--line);border-radius:8px;overflow:hidden}.map svg{display:block;width:100%;height:auto}ol.stops li{margin:.5rem 0}h3{font-size:1.05rem;margin:1rem 0 .4rem}ul.msgs{padding:0}.msg{list-style:none;border:1px solid var(--line);border-radius:8px;padding:0 .8rem;margin:.5rem 0}pre{overflow-x:auto;background:#f6f8fa;padding:.6rem;font-size:.85rem}
@media (max-width:600px){body{font-size:18px}th,td{padding:.4rem .3rem}}
"#;
