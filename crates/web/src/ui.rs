//! What every page area shares (console, collector, owner, receipts): query
//! encoding, flash messages across redirects, the redirect guard, error
//! texts, local times and cookies. One place, so that the areas stop
//! borrowing from each other.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use doorstep_app::AppError;
use doorstep_domain::Lang;
use doorstep_store::Estate;
use serde::Deserialize;

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Messages carried across a redirect.
#[derive(Deserialize, Default)]
pub struct Flash {
    /// A success message.
    pub ok: Option<String>,
    /// An error message.
    pub err: Option<String>,
}

/// Redirects to `to` with a message.
pub fn back(to: &str, result: Result<String, AppError>) -> Response {
    let sep = if to.contains('?') { '&' } else { '?' };
    match result {
        Ok(m) => Redirect::to(&format!("{to}{sep}ok={}", enc(&m))).into_response(),
        Err(e) => Redirect::to(&format!(
            "{to}{sep}err={}",
            enc(&crate::WebError(e).message())
        ))
        .into_response(),
    }
}

/// Redirects to `to` with the outcome as a flash message.
pub fn done(to: &str, l: Lang, r: Result<String, AppError>) -> Response {
    let sep = if to.contains('?') { '&' } else { '?' };
    let q = match r {
        Ok(m) => format!("ok={}", enc(&m)),
        Err(e) => format!("err={}", enc(&err_text(l, &e))),
    };
    Redirect::to(&format!("{to}{sep}{q}")).into_response()
}

/// A message for an error in the staff member's language: slot refusals in
/// words, bad input naming the field at fault.
pub fn err_text(l: Lang, e: &AppError) -> String {
    match e {
        AppError::Refused(r) => r.message(l),
        AppError::Invalid(d) => match (l, field_name(d.field())) {
            (Lang::Zh, Some(f)) => format!("{f}有误（{d}）"),
            _ => d.to_string(),
        },
        AppError::Storage(m) => {
            tracing::error!(error = %m, "storage failure");
            l.pick(
                "服务器未能完成操作，请重试",
                "The server could not complete the request; try again",
            )
            .into()
        }
        other => other.to_string(),
    }
}

/// Chinese names of the fields these pages ask for.
fn field_name(f: &str) -> Option<&'static str> {
    Some(match f {
        "targets" => "房屋/车位",
        "date" => "日期",
        "start" | "slot" => "时段",
        "contact_phone" => "联系电话",
        "note" => "备注",
        "reason" => "原因",
        "owner" => "业主",
        "outcome" => "通话结果",
        "position" => "位置",
        "collector" => "收费员",
        "booking" => "预约",
        "weekday" => "工作日时段",
        "weekend" => "周末时段",
        "slot_minutes" => "每个时段的分钟数",
        "visits_per_collector" => "每人每时段上门户数",
        "cutoff_minutes" => "截止分钟数",
        "reminder_minutes" => "提醒提前分钟数",
        "service_minutes" => "每户上门分钟数",
        "horizon_days" => "可预约天数",
        "windows" => "特别时段",
        "kind" => "类型",
        "model" => "步行模型",
        _ => return None,
    })
}

/// A `back` field if it stays inside the console, else `default`.
pub fn back_or(back: Option<&str>, default: String) -> String {
    back.filter(|b| b.starts_with("/console/") && !b.contains("//"))
        .map(str::to_string)
        .unwrap_or(default)
}

/// An instant as local `YYYY-MM-DD HH:MM` at the estate.
pub fn at_local(e: &Estate, unix: i64) -> String {
    doorstep_app::booking::unix_to_local(e, unix)
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// Where a sign-in may send the browser: a path inside one of our own
/// areas, checked as written and percent-decoded; anything else (other
/// sites, `//host`, `/\host`, schemes, control characters) is `/console`.
pub fn local_next(next: Option<&str>) -> String {
    const HOME: &str = "/console";
    const AREAS: [&str; 6] = ["/console", "/c", "/o", "/r", "/verify", "/login"];
    let Some(n) = next else {
        return HOME.into();
    };
    let decoded = percent_decode(n);
    let safe = |p: &str| {
        p.starts_with('/')
            && !p.starts_with("//")
            && !p.contains('\\')
            && !p.chars().any(char::is_control)
            && AREAS.iter().any(|a| {
                p.strip_prefix(a)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']))
            })
    };
    if safe(n) && decoded.as_deref().is_some_and(safe) {
        n.to_string()
    } else {
        HOME.into()
    }
}

/// Percent-decodes until nothing changes (a double-encoded `%255C` is
/// still a backslash to some browser); `None` when it is not valid UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let mut cur = s.to_string();
    for _ in 0..4 {
        let b = cur.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            match (
                b[i],
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) {
                (b'%', Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                }
                (c, _, _) => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        let next = String::from_utf8(out).ok()?;
        if next == cur {
            return Some(cur);
        }
        cur = next;
    }
    Some(cur)
}

/// Sets cookie `name` on `res` (`Path=/; SameSite=Lax`, `HttpOnly` if
/// `http_only`; over HTTPS the front adds `Secure` and the `__Host-` prefix).
pub fn set_cookie(res: &mut Response, name: &str, value: &str, max_age: i64, http_only: bool) {
    let c = format!(
        "{name}={value}; Path=/;{} SameSite=Lax; Max-Age={max_age}",
        if http_only { " HttpOnly;" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Clears the session cookie `name` on `res`.
pub fn clear_cookie(res: &mut Response, name: &str) {
    set_cookie(res, name, "", 0, true);
}

/// A year: how long language and large-text choices are kept.
pub const PREF_SECONDS: i64 = 31_536_000;

/// The path of the page the browser came from (its `Referer`), from `area`
/// on (`/console`, `/c/`, `/o`), if it is one of ours; else `default`.
pub fn referer_back(headers: &HeaderMap, area: &str, default: &str) -> String {
    headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find(area).map(|i| r[i..].to_string()))
        .filter(|p| p.starts_with(area) && !p.starts_with("//"))
        .unwrap_or_else(|| default.into())
}

/// Redirects to `back` (a path of ours), setting the large-text and
/// language cookies asked for (pages for owners share them).
pub fn prefs_redirect(back: &str, big: Option<&str>, lang: Option<&str>) -> Response {
    let mut res = Redirect::to(back).into_response();
    if let Some(b) = big {
        let b = if b == "1" { "1" } else { "0" };
        set_cookie(&mut res, "big", b, PREF_SECONDS, false);
    }
    if let Some(l) = lang {
        set_cookie(&mut res, "lang", Lang::parse(l).code(), PREF_SECONDS, false);
    }
    res
}

/// A PDF shown in the browser, named after the receipt's number.
pub fn pdf_response(bytes: Vec<u8>, number: i64) -> Response {
    let name = format!("receipt-{}.pdf", doorstep_receipt::number_display(number));
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_our_own_areas() {
        for ok in [
            "/console",
            "/console/demo/arrears?period=2026-11",
            "/c/demo/today",
            "/o",
            "/r/0123abcd",
            "/verify",
        ] {
            assert_eq!(local_next(Some(ok)), ok, "{ok}");
        }
        for bad in [
            "/\\evil.example",
            "//evil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "/%255Cevil.example",
            "/%2F/evil.example",
            "/console\\..\\evil",
            "javascript:alert(1)",
            "https://evil.example/console",
            "/\tevil.example",
            "/console\t",
            "/console%0d%0aSet-Cookie:x=y",
            "\\evil.example",
            "/evil",
            "/consolex",
            "",
            " /console",
            "/%ff",
        ] {
            assert_eq!(local_next(Some(bad)), "/console", "{bad:?}");
        }
        assert_eq!(local_next(None), "/console");
    }

    #[test]
    fn cookies_are_written_one_way() {
        let mut res = Redirect::to("/").into_response();
        set_cookie(&mut res, "doorstep_session", "abc", 60, true);
        set_cookie(&mut res, "lang", "en", PREF_SECONDS, false);
        clear_cookie(&mut res, "doorstep_owner");
        let set: Vec<&str> = res
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(
            set,
            [
                "doorstep_session=abc; Path=/; HttpOnly; SameSite=Lax; Max-Age=60",
                "lang=en; Path=/; SameSite=Lax; Max-Age=31536000",
                "doorstep_owner=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0",
            ]
        );
        // A value that cannot be a header is not set at all.
        let mut res = Redirect::to("/").into_response();
        set_cookie(&mut res, "lang", "a\nb", 1, false);
        assert!(res.headers().get(header::SET_COOKIE).is_none());
    }

    #[test]
    fn referer_goes_back_only_inside_its_area() {
        let with = |r: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::REFERER, HeaderValue::from_str(r).unwrap());
            h
        };
        let h = with("https://x.example/console/demo/cash?ok=1");
        assert_eq!(
            referer_back(&h, "/console", "/console"),
            "/console/demo/cash?ok=1"
        );
        assert_eq!(referer_back(&h, "/c/", "/c"), "/c");
        assert_eq!(referer_back(&HeaderMap::new(), "/o", "/o"), "/o");
    }

    #[test]
    fn a_flash_redirect_carries_the_message_encoded() {
        let res = back("/console/demo?tab=1", Ok("已保存 & ok".into()));
        let loc = res
            .headers()
            .get(header::LOCATION)
            .unwrap()
            .to_str()
            .unwrap();
        assert_eq!(
            loc,
            "/console/demo?tab=1&ok=%E5%B7%B2%E4%BF%9D%E5%AD%98%20%26%20ok"
        );
    }
}
