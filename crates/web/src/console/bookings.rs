//! Home-visit bookings for staff: the day's bookings with cancel and
//! reschedule, each booking's history, booking on behalf of an owner who
//! phones in, and the phone-confirmation queue.

use super::{ConsoleUser, page, render};
use crate::ui::{Flash, at_local, back_or, done, enc};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use doorstep_app::booking::{
    BookingRequest, BookingView, By, Target, local_to_unix, unix_to_local,
};
use doorstep_app::{App, AppError, parse_date, today};
use doorstep_domain::booking::{day_label, hhmm};
use doorstep_domain::{
    BookingStatus, CallOutcome, Date, DayRule, DomainError, Lang, ObjectKind, Permission, Refusal,
};
use doorstep_store::{Actor, Booking, BookingQuery, Estate, Owner};
use maud::{Markup, html};
use serde::Deserialize;

pub fn router() -> Router<App> {
    Router::new()
        .route("/console/{code}/bookings", get(list_page))
        .route(
            "/console/{code}/bookings/new",
            get(new_page).post(new_submit),
        )
        .route("/console/{code}/bookings/{id}", get(detail_page))
        .route("/console/{code}/bookings/{id}/cancel", post(cancel))
        .route("/console/{code}/bookings/{id}/reschedule", post(reschedule))
        .route("/console/{code}/bookings/{id}/call", post(call))
        .route("/console/{code}/calls", get(calls_page))
}

// ---------------------------------------------------------------------------
// Helpers shared with the dispatch pages.

/// A phone number one tap dials.
pub(super) fn tel(phone: &str) -> Markup {
    html! { a.tel href={"tel:" (phone)} { (phone) } }
}

/// `11月27日 周五 19:30–20:00`.
pub(super) fn slot_label(l: Lang, b: &Booking) -> String {
    format!("{} {}", day_label(b.day, l), b.slot)
}

/// Special needs: cash, call first, the note.
pub(super) fn needs(l: Lang, b: &Booking) -> Markup {
    html! {
        @if !b.pays_cash && !b.call_first && b.note.is_empty() { span.muted { "—" } }
        @if b.pays_cash { span.tag { (l.pick("现金", "Cash")) } " " }
        @if b.call_first { span.tag { (l.pick("先电话确认", "Call first")) } " " }
        @if !b.note.is_empty() { br; span.calc { (b.note) } }
    }
}

/// The estate's date from a `date` parameter, or today.
pub(super) fn day_param(e: &Estate, d: Option<&str>) -> Result<Date, AppError> {
    match d.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => parse_date("date", d),
        None => Ok(today(e)),
    }
}

/// The estate with `code` and a booking in it that `cu` may act on.
async fn staff_booking(
    app: &App,
    cu: &ConsoleUser,
    code: &str,
    id: i64,
) -> Result<(Estate, Booking), AppError> {
    let e = app.estate_for(&cu.user, code, Permission::Dispatch).await?;
    let (be, b) = app.booking_for(&By::Staff(&cu.user), id).await?;
    if be.id != e.id {
        return Err(AppError::NotFound(format!("booking {id}")));
    }
    Ok((e, b))
}

/// Slot start times staff may move a booking to: every slot of the weekday
/// and weekend windows and of special days ahead.
async fn slot_starts(app: &App, e: &Estate) -> Result<Vec<String>, AppError> {
    let rules = app.store.booking_rules(e.id).await?;
    let d = today(e);
    let mut starts: Vec<String> = [DayRule::Workday, DayRule::Holiday]
        .iter()
        .flat_map(|r| rules.slots_on(d, Some(r)))
        .map(|s| hhmm(s.start))
        .collect();
    let to = d
        .checked_add(jiff::Span::new().days(i64::from(rules.horizon_days.max(31))))
        .unwrap_or(d);
    for (day, rule, _) in app.store.day_rules(e.id, d, to).await? {
        starts.extend(
            rules
                .slots_on(day, Some(&rule))
                .iter()
                .map(|s| hhmm(s.start)),
        );
    }
    starts.sort();
    starts.dedup();
    Ok(starts)
}

/// Cancel (with a reason) and reschedule (date and slot) forms.
fn change_forms(l: Lang, code: &str, b: &Booking, starts: &[String], back: &str) -> Markup {
    let current = hhmm(b.slot.start);
    html! {
        form.act method="post" action={"/console/" (code) "/bookings/" (b.id) "/reschedule"} {
            input type="hidden" name="back" value=(back);
            input type="date" name="date" value=(b.day.to_string()) required aria-label=(l.pick("新日期", "New date"));
            select name="start" aria-label=(l.pick("新时段", "New slot")) {
                @for s in starts { option value=(s) selected[*s == current] { (s) } }
            }
            button.secondary type="submit" { (l.pick("改期", "Reschedule")) }
        }
        form.act method="post" action={"/console/" (code) "/bookings/" (b.id) "/cancel"} {
            input type="hidden" name="back" value=(back);
            input name="reason" required aria-label=(l.pick("取消原因", "Reason for cancelling")) placeholder=(l.pick("取消原因", "Reason"));
            button.secondary type="submit" { (l.pick("取消预约", "Cancel booking")) }
        }
    }
}

// ---------------------------------------------------------------------------
// The day's bookings.

#[derive(Deserialize, Default)]
struct DayQuery {
    date: Option<String>,
    ok: Option<String>,
    err: Option<String>,
}

async fn list_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(p): Query<DayQuery>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app.estate_for(&cu.user, &code, Permission::Dispatch).await?;
        let date = day_param(&e, p.date.as_deref())?;
        let next = date.tomorrow().map_err(|x| DomainError::invalid("date", x.to_string()))?;
        let prev = date.yesterday().map_err(|x| DomainError::invalid("date", x.to_string()))?;
        let from = local_to_unix(&e, date.to_datetime(jiff::civil::Time::midnight()))?;
        let to = local_to_unix(&e, next.to_datetime(jiff::civil::Time::midnight()))?;
        let mut list = app
            .store
            .bookings(&BookingQuery { estate_id: Some(e.id), from: Some(from), to: Some(to), ..Default::default() })
            .await?;
        list.sort_by_key(|b| (b.starts_at, b.id));
        let mut views: Vec<BookingView> = Vec::new();
        for b in list {
            views.push(app.view(&e, b).await?);
        }
        let starts = slot_starts(&app, &e).await?;
        let here = format!("/console/{}/bookings?date={}", e.code, date);
        let count = |f: &dyn Fn(BookingStatus) -> bool| views.iter().filter(|v| f(v.booking.status)).count();
        let flash = Flash { ok: p.ok.clone(), err: p.err.clone() };
        Ok::<_, AppError>(page(l, &format!("{} · {}", e.name, l.pick("预约", "Bookings")), Some(&cu.user), Some(&e.code), &flash, html! {
            form.row method="get" {
                label { (l.pick("日期", "Date")) input type="date" name="date" value=(date.to_string()); }
                button type="submit" { (l.pick("查看", "Show")) }
                a href={"/console/" (e.code) "/bookings?date=" (prev)} { (l.pick("前一天", "Previous day")) }
                a href={"/console/" (e.code) "/bookings?date=" (next)} { (l.pick("后一天", "Next day")) }
                a href={"/console/" (e.code) "/bookings/new"} { (l.pick("代客预约", "Book on behalf")) }
            }
            h2 { (day_label(date, l)) }
            div.stats #booking-stats {
                div.stat { b { (views.len()) } (l.pick("预约", "bookings")) }
                div.stat { b { (count(&|s| s.is_open())) } (l.pick("待上门", "to visit")) }
                div.stat { b { (count(&|s| s == BookingStatus::AwaitingCall)) } (l.pick("待电话确认", "awaiting call")) }
                div.stat { b { (count(&|s| s == BookingStatus::Scheduled)) } (l.pick("已派单", "scheduled")) }
            }
            @if views.is_empty() {
                p.muted { (l.pick("当天没有预约。", "No bookings that day.")) }
            } @else {
                div.table { table #bookings {
                    thead { tr {
                        th scope="col" { (l.pick("时段", "Slot")) }
                        th scope="col" { (l.pick("房屋/车位", "Rooms/spaces")) }
                        th scope="col" { (l.pick("业主", "Owner")) }
                        th scope="col" { (l.pick("联系电话", "Contact phone")) }
                        th scope="col" { (l.pick("需求", "Needs")) }
                        th scope="col" { (l.pick("状态", "Status")) }
                        th scope="col" { (l.pick("收费员 / 预计到达", "Collector / ETA")) }
                        th scope="col" { (l.pick("操作", "Actions")) }
                    } }
                    tbody { @for v in &views { @let b = &v.booking; tr data-booking=(b.id) {
                        td { (b.slot) }
                        td { (v.labels.join("、")) }
                        td { (b.owner_name) br; span.muted { (b.phone) } }
                        td { (tel(&b.contact_phone)) }
                        td { (needs(l, b)) }
                        td { (b.status.label(l)) }
                        td {
                            @if let Some(c) = &v.collector { (c) } @else { span.muted { "—" } }
                            @if let Some(eta) = &v.eta_local { br; (l.pick("约 ", "ETA ")) (eta) }
                        }
                        td {
                            a href={"/console/" (e.code) "/bookings/" (b.id)} { (l.pick("详情与历史", "Details and history")) }
                            @if b.status.is_open() { (change_forms(l, &e.code, b, &starts, &here)) }
                        }
                    } } }
                } }
            }
        }))
    }
    .await;
    render(l, r)
}

// ---------------------------------------------------------------------------
// One booking and its history.

fn actor_text(l: Lang, a: &Actor, name: &str) -> String {
    match a {
        Actor::Owner { phone } => format!("{} {phone}", l.pick("业主", "Owner")),
        Actor::Staff { user_id } if name.is_empty() => {
            format!("{} #{user_id}", l.pick("员工", "Staff"))
        }
        Actor::Staff { .. } => name.to_string(),
        Actor::System => l.pick("系统", "System").into(),
    }
}

/// An event's stored detail (`booked`, `call: confirmed — note`, `collector 5
/// at 1764500000` …) in words; `names` are the collectors' names by id.
fn event_text(l: Lang, e: &Estate, detail: &str, names: &[(i64, String)]) -> String {
    let num = |s: &str| s.trim().parse::<i64>().ok();
    if detail == "booked" {
        return l.pick("预约", "booked").into();
    }
    if detail == "left out of the plan" {
        return l.pick("未排入路线", "left out of the plan").into();
    }
    if detail == "cancelled" {
        return l.pick("取消", "cancelled").into();
    }
    if let Some(r) = detail.strip_prefix("cancelled: ") {
        return format!("{}{r}", l.pick("取消：", "cancelled: "));
    }
    if let Some(id) = detail
        .strip_prefix("rescheduled from booking ")
        .and_then(num)
    {
        return format!(
            "{}{id}",
            l.pick("改期自预约 #", "rescheduled from booking #")
        );
    }
    if let Some(id) = detail.strip_prefix("moved to booking ").and_then(num) {
        return format!("{}{id}", l.pick("改期为预约 #", "moved to booking #"));
    }
    if let Some(rest) = detail.strip_prefix("call: ") {
        let (code, note) = rest.split_once(" — ").unwrap_or((rest, ""));
        if let Ok(o) = CallOutcome::from_code(code) {
            let mut t = format!("{}{}", l.pick("电话：", "call: "), o.label(l));
            if !note.is_empty() {
                t += &format!(" — {note}");
            }
            return t;
        }
    }
    // A void or refund reopened what this visit collected (issue 14).
    if let Some((kind, id)) = detail
        .strip_suffix(": to collect again")
        .and_then(|r| r.split_once(' '))
        && let Some(id) = num(id)
    {
        return match (l, kind) {
            (Lang::Zh, "refund") => format!("退款待重收（退款单 #{id}）"),
            (Lang::Zh, _) => format!("作废待重收（作废单 #{id}）"),
            (Lang::En, "refund") => format!("refunded – to collect again (refund #{id})"),
            (Lang::En, _) => format!("voided – to collect again (void #{id})"),
        };
    }
    if let Some(code) = detail.strip_prefix("visit: ") {
        let what = match code {
            "paid" => l.pick("已缴清", "paid"),
            "partly_paid" => l.pick("部分缴费", "partly paid"),
            "not_paid" => l.pick("未缴费", "not paid"),
            "owner_absent" => l.pick("业主不在家", "owner absent"),
            other => other,
        };
        return format!("{}{what}", l.pick("上门：", "visit: "));
    }
    if let Some((c, at)) = detail
        .strip_prefix("collector ")
        .and_then(|r| r.split_once(" at "))
        && let (Some(c), Some(at)) = (num(c), num(at))
    {
        let name = names
            .iter()
            .find(|n| n.0 == c)
            .map(|n| n.1.clone())
            .unwrap_or_else(|| format!("#{c}"));
        let eta = hhmm(unix_to_local(e, at).time());
        return match l {
            Lang::Zh => format!("派给 {name}，预计 {eta} 到达"),
            Lang::En => format!("assigned to {name}, ETA {eta}"),
        };
    }
    detail.to_string()
}

async fn detail_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Path((code, id)): Path<(String, i64)>,
    Query(flash): Query<Flash>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let (e, b) = staff_booking(&app, &cu, &code, id).await?;
        let events = app.booking_history(By::Staff(&cu.user), id).await?;
        let v = app.view(&e, b).await?;
        let b = &v.booking;
        let booked_by = match b.booked_by_user {
            Some(u) => Some(app.store.user(u).await.map(|u| u.display_name).unwrap_or_else(|_| format!("#{u}"))),
            None => None,
        };
        let starts = slot_starts(&app, &e).await?;
        let here = format!("/console/{}/bookings/{}", e.code, id);
        let mut names: Vec<(i64, String)> = Vec::new();
        for ev in &events {
            if let Some(c) = ev
                .detail
                .strip_prefix("collector ")
                .and_then(|r| r.split_once(' '))
                .and_then(|(c, _)| c.parse::<i64>().ok())
                && !names.iter().any(|n| n.0 == c)
            {
                let name = app.store.user(c).await.map(|u| u.display_name).unwrap_or_default();
                names.push((c, name));
            }
        }
        let title = format!("{} #{} · {}", l.pick("预约", "Booking"), id, v.labels.join("、"));
        Ok::<_, AppError>(page(l, &title, Some(&cu.user), Some(&e.code), &flash, html! {
            p { a href={"/console/" (e.code) "/bookings?date=" (b.day)} { (l.pick("返回当天预约", "Back to the day's bookings")) } }
            div.card #booking {
                p { b { (slot_label(l, b)) } " · " (b.status.label(l)) }
                p { (l.pick("房屋/车位：", "Rooms/spaces: ")) (v.labels.join("、")) }
                p { (l.pick("业主：", "Owner: ")) (b.owner_name) " " span.muted { (b.phone) } }
                p { (l.pick("联系电话：", "Contact phone: ")) (tel(&b.contact_phone)) }
                p { (l.pick("需求：", "Needs: ")) (needs(l, b)) }
                @if b.call_first { p { (l.pick("电话确认次数：", "Confirmation calls: ")) (b.call_attempts) } }
                @if let Some(c) = &v.collector {
                    p { (l.pick("收费员：", "Collector: ")) (c) @if let Some(eta) = &v.eta_local { " · " (l.pick("预计到达 ", "ETA ")) (eta) } }
                }
                @if let Some(r) = b.visit_result { p { (l.pick("上门结果：", "Visit result: ")) (r.code()) @if !b.visit_reason.is_empty() { " — " (b.visit_reason) } } }
                @if events.iter().any(|ev| ev.detail.ends_with(": to collect again")) {
                    p #recollect { strong.warn { (l.pick("作废待重收", "Voided – to collect again")) } " "
                        span.muted { (l.pick("本次上门的收款已作废或退款，费用恢复为待缴。", "A payment taken at this visit was voided or refunded; what it paid is owed again.")) } }
                }
                @if let Some(by) = &booked_by { p.muted { (l.pick("代客预约：", "Booked on the owner's behalf by ")) (by) } }
                @if let Some(from) = b.rescheduled_from {
                    p { a href={"/console/" (e.code) "/bookings/" (from)} { (l.pick("由预约 #", "Rescheduled from booking #")) (from) (l.pick(" 改期而来", "")) } }
                }
            }
            @if b.status.is_open() {
                h2 { (l.pick("改期或取消", "Reschedule or cancel")) }
                div.card { (change_forms(l, &e.code, b, &starts, &here)) }
            }
            h2 { (l.pick("历史记录", "History")) }
            div.table tabindex="0" role="region" aria-label=(l.pick("历史记录", "History")) { table #history {
                thead { tr {
                    th scope="col" { (l.pick("时间", "When")) }
                    th scope="col" { (l.pick("状态变化", "Status change")) }
                    th scope="col" { (l.pick("操作人", "Who")) }
                    th scope="col" { (l.pick("说明", "What")) }
                } }
                tbody { @for ev in &events { tr {
                    td { (at_local(&e, ev.at)) }
                    td {
                        @if let Some(f) = ev.from { (f.label(l)) " → " } @else { (l.pick("新建 → ", "new → ")) }
                        (ev.to.label(l))
                    }
                    td { (actor_text(l, &ev.actor, &ev.actor_name)) }
                    td { (event_text(l, &e, &ev.detail, &names)) }
                } } }
            } }
        }))
    }
    .await;
    render(l, r)
}

#[derive(Deserialize)]
struct CancelForm {
    #[serde(default)]
    reason: String,
    back: Option<String>,
}

async fn cancel(
    State(app): State<App>,
    cu: ConsoleUser,
    Path((code, id)): Path<(String, i64)>,
    Form(f): Form<CancelForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        staff_booking(&app, &cu, &code, id).await?;
        if f.reason.trim().is_empty() {
            return Err(DomainError::invalid("reason", "say why the booking is cancelled").into());
        }
        let v = app
            .cancel_booking(By::Staff(&cu.user), id, &f.reason)
            .await?;
        Ok(format!(
            "{}{} {}",
            l.pick("已取消预约：", "Cancelled: "),
            v.labels.join("、"),
            slot_label(l, &v.booking)
        ))
    }
    .await;
    done(
        &back_or(f.back.as_deref(), format!("/console/{code}/bookings/{id}")),
        l,
        r,
    )
}

#[derive(Deserialize)]
struct RescheduleForm {
    #[serde(default)]
    date: String,
    #[serde(default)]
    start: String,
    back: Option<String>,
}

async fn reschedule(
    State(app): State<App>,
    cu: ConsoleUser,
    Path((code, id)): Path<(String, i64)>,
    Form(f): Form<RescheduleForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        staff_booking(&app, &cu, &code, id).await?;
        let v = app
            .reschedule_booking(By::Staff(&cu.user), id, &f.date, &f.start)
            .await?;
        Ok(match l {
            Lang::Zh => format!(
                "已改期：{} 改到 {}（新预约 #{}）",
                v.labels.join("、"),
                slot_label(l, &v.booking),
                v.booking.id
            ),
            Lang::En => format!(
                "Rescheduled {} to {} (new booking #{})",
                v.labels.join(", "),
                slot_label(l, &v.booking),
                v.booking.id
            ),
        })
    }
    .await;
    done(
        &back_or(f.back.as_deref(), format!("/console/{code}/bookings/{id}")),
        l,
        r,
    )
}

// ---------------------------------------------------------------------------
// Booking on behalf of an owner who phones in.

#[derive(Deserialize, Default)]
struct NewQuery {
    #[serde(default)]
    q: String,
    owner: Option<String>,
    /// Values to show again after a refusal.
    slot: Option<String>,
    t: Option<String>,
    cash: Option<String>,
    call: Option<String>,
    note: Option<String>,
    contact: Option<String>,
    ok: Option<String>,
    err: Option<String>,
}

/// Room search text from what staff type: `3号楼202室` → `3-202`.
fn room_filter(q: &str) -> String {
    let q = q.trim();
    if let Some((building, rest)) = q.split_once("号楼") {
        let rest = rest.trim_end_matches('室');
        let number = rest.rsplit_once("单元").map(|x| x.1).unwrap_or(rest);
        return format!("{}-{}", building.trim(), number.trim());
    }
    q.to_string()
}

/// Owners matching a name, a phone, a room (`3-202`, `3号楼202室`, `202`) or a
/// space (`B007`).
async fn find_owners(app: &App, e: &Estate, q: &str) -> Result<Vec<Owner>, AppError> {
    let q = q.trim();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = app.store.list_owners(e.id, q, 20, 0).await?;
    let rooms = app.store.list_rooms(e.id, &room_filter(q), 20, 0).await?;
    let space_q = q.trim_start_matches("车位");
    let spaces = app.store.list_spaces(e.id, space_q, 20, 0).await?;
    let objects = rooms
        .iter()
        .map(|r| (ObjectKind::Room, r.id, &r.owners))
        .chain(spaces.iter().map(|s| (ObjectKind::Space, s.id, &s.owners)));
    for (kind, id, names) in objects {
        for name in names {
            for o in app.store.list_owners(e.id, name, 20, 0).await? {
                let holds = match kind {
                    ObjectKind::Room => o.rooms.iter().any(|x| x.0 == id),
                    ObjectKind::Space => o.spaces.iter().any(|x| x.0 == id),
                };
                if holds && !found.iter().any(|f| f.id == o.id) {
                    found.push(o);
                }
            }
        }
        if found.len() >= 30 {
            break;
        }
    }
    found.truncate(30);
    Ok(found)
}

/// Whether staff may pick a slot: not past and a place left (staff may book
/// inside the owners' cut-off).
fn staff_can_book(s: &doorstep_app::booking::SlotView) -> bool {
    s.left > 0 && !matches!(s.refusal, Some(Refusal::InPast | Refusal::Full))
}

fn slot_option_text(l: Lang, s: &doorstep_app::booking::SlotView) -> String {
    let base = format!("{}–{}", s.from, s.to);
    let left = match l {
        Lang::Zh => format!("余 {} 位", s.left),
        Lang::En => format!("{} left", s.left),
    };
    match s.refusal {
        Some(Refusal::InPast) => format!("{base} · {}", l.pick("已过", "past")),
        Some(Refusal::Full) => format!("{base} · {}", l.pick("已约满", "full")),
        _ if s.left <= 0 => format!("{base} · {}", l.pick("已约满", "full")),
        Some(Refusal::PastCutoff { .. }) => format!(
            "{base} · {left} · {}",
            l.pick("已过业主截止时间", "past the owners' cut-off")
        ),
        Some(Refusal::TooFarAhead { .. }) => format!(
            "{base} · {left} · {}",
            l.pick("超出业主可约范围", "beyond the owners' horizon")
        ),
        _ => format!("{base} · {left}"),
    }
}

async fn new_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(p): Query<NewQuery>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app.estate_for(&cu.user, &code, Permission::Dispatch).await?;
        let owner_id = match p.owner.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(s.parse::<i64>().map_err(|_| DomainError::invalid("owner", format!("{s:?} is not an owner id")))?),
            None => None,
        };
        let owner = match owner_id {
            Some(id) => {
                Some(app.store.owner(e.id, id).await?)
            }
            None => None,
        };
        let found = if owner.is_none() { find_owners(&app, &e, &p.q).await? } else { Vec::new() };
        let rules = app.store.booking_rules(e.id).await?;
        let days = if owner.is_some() { app.list_slots(&e, today(&e), rules.horizon_days.clamp(1, 31)).await? } else { Vec::new() };
        let any_open = days.iter().flat_map(|d| &d.slots).any(staff_can_book);
        let ticked: Vec<&str> = p.t.as_deref().map(|t| t.split(',').collect()).unwrap_or_default();
        let is_ticked = |v: &str| ticked.is_empty() || ticked.contains(&v);
        let flash = Flash { ok: p.ok.clone(), err: p.err.clone() };
        Ok::<_, AppError>(page(l, &format!("{} · {}", e.name, l.pick("代客预约", "Book on behalf")), Some(&cu.user), Some(&e.code), &flash, html! {
            form.row #find-owner method="get" action={"/console/" (e.code) "/bookings/new"} {
                label { (l.pick("业主姓名、电话或房号", "Owner's name, phone or room")) input name="q" value=(p.q) required; }
                button type="submit" { (l.pick("查找业主", "Find owner")) }
            }
            p.muted { (l.pick("例如：张三、13812345678、3-202、3号楼202室、B007", "E.g. 张三, 13812345678, 3-202, 3号楼202室, B007")) }
            @if let Some(o) = &owner {
                h2 { (l.pick("为业主预约：", "Book for: ")) (o.name) }
                p.muted { (l.pick("业主电话：", "Owner's phones: ")) (o.phones.join("、")) " · " a href={"/console/" (e.code) "/bookings/new?q=" (enc(&p.q))} { (l.pick("换一位业主", "Choose another owner")) } }
                @if o.rooms.is_empty() && o.spaces.is_empty() {
                    p.err role="alert" { (l.pick("该业主名下没有房屋或车位，无法预约。", "This owner holds no room or space to book for.")) }
                } @else {
                    form.card #book method="post" action={"/console/" (e.code) "/bookings/new"} {
                        input type="hidden" name="owner" value=(o.id);
                        input type="hidden" name="q" value=(p.q);
                        fieldset {
                            legend { (l.pick("上门收费的房屋与车位", "Rooms and spaces to collect for")) }
                            @for (id, name) in &o.rooms {
                                @let v = format!("room:{id}");
                                label.inline { input type="checkbox" name="target" value=(v) checked[is_ticked(&v)]; (name) }
                            }
                            @for (id, name) in &o.spaces {
                                @let v = format!("space:{id}");
                                label.inline { input type="checkbox" name="target" value=(v) checked[is_ticked(&v)]; (name) }
                            }
                        }
                        label { (l.pick("时段（显示剩余名额）", "Slot (places left shown)"))
                            select name="slot" #slot required {
                                option value="" { (l.pick("请选择时段", "Choose a slot")) }
                                @for d in &days {
                                    @let rule = d.day_rule.as_ref().map(|r| format!(" · {}", r.label(l))).unwrap_or_default();
                                    optgroup label={(day_label(d.date, l)) (rule)} {
                                        @for s in &d.slots {
                                            option value=(s.start) disabled[!staff_can_book(s)] selected[p.slot.as_deref() == Some(s.start.as_str())] { (slot_option_text(l, s)) }
                                        }
                                    }
                                }
                            }
                        }
                        @if !any_open {
                            p.err role="alert" { (l.pick("近期没有可约时段：请在“派单”页安排值班收费员，或在“上门设置”中调整时段。", "No slot can be booked soon: put collectors on duty on the dispatch page, or change the windows in visit settings.")) }
                        }
                        label.inline { input type="checkbox" name="pays_cash" value="on" checked[p.cash.is_some()]; (l.pick("将用现金支付", "Will pay in cash")) }
                        label.inline { input type="checkbox" name="call_first" value="on" checked[p.call.is_some()]; (l.pick("独居老人等：上门前先电话确认", "Elderly person alone at home — call to confirm first")) }
                        label { (l.pick("联系电话（不填则用业主电话）", "Contact phone (default: the owner's)"))
                            input name="contact_phone" type="tel" inputmode="tel" autocomplete="off" value=(p.contact.as_deref().unwrap_or("")) placeholder=(o.phones.first().map(String::as_str).unwrap_or(""));
                        }
                        label { (l.pick("备注（可选）", "Note (optional)")) input name="note" maxlength="500" value=(p.note.as_deref().unwrap_or("")); }
                        button #book-submit type="submit" { (l.pick("提交预约", "Book the visit")) }
                    }
                }
            } @else if !p.q.trim().is_empty() {
                h2 { (l.pick("查找结果", "Owners found")) }
                @if found.is_empty() {
                    p { (l.pick("没有找到匹配的业主。请换用姓名、电话或房号（如 3-202）查找。", "No owner matches. Try a name, a phone number or a room such as 3-202.")) }
                } @else {
                    div.table { table #owners {
                        thead { tr {
                            th scope="col" { (l.pick("业主", "Owner")) }
                            th scope="col" { (l.pick("电话", "Phones")) }
                            th scope="col" { (l.pick("房屋与车位", "Rooms and spaces")) }
                            th scope="col" { (l.pick("操作", "Action")) }
                        } }
                        tbody { @for o in &found { tr data-owner=(o.id) {
                            td { (o.name) }
                            td { (o.phones.join(" ")) }
                            td { (o.rooms.iter().map(|r| r.1.as_str()).chain(o.spaces.iter().map(|s| s.1.as_str())).collect::<Vec<_>>().join("、")) }
                            td { a.choose href={"/console/" (e.code) "/bookings/new?q=" (enc(&p.q)) "&owner=" (o.id)} { (l.pick("为其预约", "Book for them")) } }
                        } } }
                    } }
                }
            }
        }))
    }
    .await;
    render(l, r)
}

async fn new_submit(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let l = cu.lang;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let has = |k: &str| pairs.iter().any(|(n, v)| n == k && !v.is_empty());
    let ticked: Vec<String> = pairs
        .iter()
        .filter(|(n, _)| n == "target")
        .map(|(_, v)| v.trim().to_string())
        .collect();
    let (owner, q, slot) = (get("owner"), get("q"), get("slot"));
    // Back to the form with what was entered, when refused.
    let mut retry = format!(
        "/console/{code}/bookings/new?q={}&owner={}&slot={}&t={}&note={}&contact={}",
        enc(&q),
        enc(&owner),
        enc(&slot),
        enc(&ticked.join(",")),
        enc(&get("note")),
        enc(&get("contact_phone"))
    );
    if has("pays_cash") {
        retry.push_str("&cash=1");
    }
    if has("call_first") {
        retry.push_str("&call=1");
    }
    let r = async {
        let e = app
            .estate_for(&cu.user, &code, Permission::Dispatch)
            .await?;
        let owner_id: i64 = owner
            .parse()
            .map_err(|_| DomainError::invalid("owner", "choose the owner first"))?;
        let o = app.store.owner(e.id, owner_id).await?;
        let mut targets = Vec::new();
        for v in &ticked {
            let bad = || DomainError::invalid("targets", format!("{v:?} is not a room or space"));
            let (kind, id) = v.split_once(':').ok_or_else(bad)?;
            let id: i64 = id.parse().map_err(|_| bad())?;
            let (kind, held) = match kind {
                "room" => (ObjectKind::Room, o.rooms.iter().any(|r| r.0 == id)),
                "space" => (ObjectKind::Space, o.spaces.iter().any(|s| s.0 == id)),
                _ => return Err(bad().into()),
            };
            if !held {
                return Err(DomainError::invalid(
                    "targets",
                    format!("{v} is not held by {}", o.name),
                )
                .into());
            }
            targets.push(Target { kind, id });
        }
        if targets.is_empty() {
            return Err(DomainError::invalid("targets", "tick at least one room or space").into());
        }
        let (date, start) = slot
            .split_once('T')
            .ok_or_else(|| DomainError::invalid("slot", "choose a slot"))?;
        let req = BookingRequest {
            targets,
            date: date.to_string(),
            start: start.to_string(),
            pays_cash: has("pays_cash"),
            call_first: has("call_first"),
            note: get("note"),
            contact_phone: get("contact_phone"),
        };
        app.create_booking(By::Staff(&cu.user), &code, &req).await
    }
    .await;
    match r {
        Ok(v) => {
            let b = &v.booking;
            let waiting = b.status == BookingStatus::AwaitingCall;
            let msg = match l {
                Lang::Zh => format!(
                    "已为{}预约 {} {}（预约 #{}{}）",
                    b.owner_name,
                    v.labels.join("、"),
                    slot_label(l, b),
                    b.id,
                    if waiting { "，待电话确认" } else { "" }
                ),
                Lang::En => format!(
                    "Booked {} for {} at {} (booking #{}{})",
                    v.labels.join(", "),
                    b.owner_name,
                    slot_label(l, b),
                    b.id,
                    if waiting { ", awaiting a call" } else { "" }
                ),
            };
            done(
                &format!("/console/{code}/bookings?date={}", b.day),
                l,
                Ok(msg),
            )
        }
        Err(e) => done(&retry, l, Err(e)),
    }
}

// ---------------------------------------------------------------------------
// The phone-confirmation queue.

async fn calls_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app.estate_for(&cu.user, &code, Permission::Dispatch).await?;
        let mut queue = app.confirmation_queue(&cu.user, &code).await?;
        queue.sort_by_key(|v| (v.booking.starts_at, v.booking.id));
        let outcomes = [CallOutcome::Confirmed, CallOutcome::NoAnswer, CallOutcome::Cancelled];
        Ok::<_, AppError>(page(l, &format!("{} · {}", e.name, l.pick("电话确认", "Confirmation calls")), Some(&cu.user), Some(&e.code), &flash, html! {
            p.muted { (l.pick("勾选了“先电话确认”的预约在这里等待，按上门时间排序。确认后才会排线。", "Bookings marked “call first” wait here, soonest first. They are routed only once confirmed.")) }
            @if queue.is_empty() {
                p #calls-empty { (l.pick("没有等待电话确认的预约。", "No booking is waiting for a call.")) }
            }
            div #calls {
                @for v in &queue { @let b = &v.booking;
                    section.card data-booking=(b.id) {
                        h2 { (slot_label(l, b)) " · " (v.labels.join("、")) }
                        p { (l.pick("业主：", "Owner: ")) (b.owner_name) }
                        p { (l.pick("联系电话：", "Contact phone: ")) (tel(&b.contact_phone)) }
                        p { (l.pick("已拨打：", "Calls so far: ")) (b.call_attempts) (l.pick(" 次", "")) }
                        p { (l.pick("需求：", "Needs: ")) (needs(l, b)) }
                        form method="post" action={"/console/" (e.code) "/bookings/" (b.id) "/call"} {
                            label { (l.pick("通话备注（可选）", "Call note (optional)")) input name="note" maxlength="200"; }
                            div.row {
                                @for o in outcomes {
                                    @if o == CallOutcome::Confirmed {
                                        button type="submit" name="outcome" value=(o.code()) { (o.label(l)) }
                                    } @else {
                                        button.secondary type="submit" name="outcome" value=(o.code()) { (o.label(l)) }
                                    }
                                }
                            }
                        }
                        p { a href={"/console/" (e.code) "/bookings/" (b.id)} { (l.pick("详情与历史", "Details and history")) } }
                    }
                }
            }
        }))
    }
    .await;
    render(l, r)
}

#[derive(Deserialize)]
struct CallForm {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    note: String,
    back: Option<String>,
}

async fn call(
    State(app): State<App>,
    cu: ConsoleUser,
    Path((code, id)): Path<(String, i64)>,
    Form(f): Form<CallForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        staff_booking(&app, &cu, &code, id).await?;
        let outcome = CallOutcome::from_code(f.outcome.trim())?;
        let v = app.record_call(&cu.user, id, outcome, &f.note).await?;
        Ok(format!(
            "{} {}：{}",
            v.labels.join("、"),
            slot_label(l, &v.booking),
            outcome.label(l)
        ))
    }
    .await;
    done(
        &back_or(f.back.as_deref(), format!("/console/{code}/calls")),
        l,
        r,
    )
}
