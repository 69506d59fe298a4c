//! Dispatch for staff: the board of one session (collectors on duty, the
//! route planner, manual adjustment, lock), each collector's itinerary with
//! its map, the estate's visit settings, and the message outbox.

use super::bookings::{day_param, needs, tel};
use super::{ConsoleUser, page, render};
use crate::ui::{Flash, enc};
use crate::ui::{at_local, back_or, done};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use doorstep_app::booking::BookingView;
use doorstep_app::dispatch::{RouteView, SessionView};
use doorstep_app::{App, AppError, parse_date, today};
use doorstep_domain::booking::{day_label, format_windows, hhmm, parse_windows};
use doorstep_domain::{BookingRules, Date, DayRule, DomainError, Lang, Permission, Window};
use doorstep_store::Estate;
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

/// Largest walking model accepted: 2 MiB (the demo's is about 20 KB).
const MAX_MODEL: usize = 2 * 1024 * 1024;

pub fn router() -> Router<App> {
    Router::new()
        .route("/console/{code}/dispatch", get(board_page))
        .route("/console/{code}/dispatch/plan", post(plan))
        .route("/console/{code}/dispatch/replan", post(replan))
        .route("/console/{code}/dispatch/lock", post(lock))
        .route("/console/{code}/dispatch/move", post(move_stop))
        .route("/console/{code}/duty", post(duty))
        .route("/console/{code}/itinerary", get(itinerary_page))
        .route("/console/{code}/visit-settings", get(settings_page))
        .route("/console/{code}/visit-settings/rules", post(save_rules))
        .route("/console/{code}/visit-settings/days", post(add_day))
        .route(
            "/console/{code}/visit-settings/days/remove",
            post(remove_day),
        )
        .route(
            "/console/{code}/visit-settings/model",
            post(upload_model).layer(DefaultBodyLimit::max(MAX_MODEL)),
        )
        .route(
            "/console/{code}/visit-settings/geofence",
            post(save_geofence),
        )
        .route("/console/outbox", get(outbox_page))
}

/// The visiting windows (sessions) of a day at the estate.
async fn windows_on(app: &App, e: &Estate, date: Date) -> Result<Vec<Window>, AppError> {
    let rules = app.store.booking_rules(e.id).await?;
    let rule = app
        .store
        .day_rules(e.id, date, date)
        .await?
        .pop()
        .map(|r| r.1);
    Ok(rules.windows_on(date, rule.as_ref()))
}

/// The planner's reason for leaving a booking out, in the staff member's language.
fn reason_text(l: Lang, why: &str) -> String {
    if l == Lang::En {
        return why.to_string();
    }
    if why.starts_with("no collector can reach") {
        "没有收费员能在预约时段内到达并按时返回物业中心".into()
    } else if why.starts_with("a collector has time") {
        "有收费员有空，但其任务已达均衡上限".into()
    } else if why.starts_with("every collector who could reach") {
        "能到达的收费员在该时段都有其他上门".into()
    } else {
        why.to_string()
    }
}

fn day_nav(l: Lang, base: &str, date: Date) -> Markup {
    let prev = date.yesterday().ok();
    let next = date.tomorrow().ok();
    html! {
        @if let Some(p) = prev { a href={(base) "?date=" (p)} { (l.pick("前一天", "Previous day")) } }
        @if let Some(n) = next { a href={(base) "?date=" (n)} { (l.pick("后一天", "Next day")) } }
    }
}

// ---------------------------------------------------------------------------
// The dispatch board.

#[derive(Deserialize, Default)]
struct BoardQuery {
    date: Option<String>,
    window: Option<String>,
    ok: Option<String>,
    err: Option<String>,
}

fn move_form(
    l: Lang,
    code: &str,
    booking: i64,
    collectors: &[(i64, String)],
    current: Option<i64>,
    position: Option<i64>,
    back: &str,
) -> Markup {
    html! {
        form.act method="post" action={"/console/" (code) "/dispatch/move"} {
            input type="hidden" name="booking" value=(booking);
            input type="hidden" name="back" value=(back);
            select name="collector" aria-label=(l.pick("派给收费员", "Assign to collector")) {
                @for (id, name) in collectors { option value=(id) selected[current == Some(*id)] { (name) } }
            }
            input name="position" type="number" min="1" inputmode="numeric" value=(position.map(|p| p.to_string()).unwrap_or_default()) aria-label=(l.pick("第几站（空 = 排在最后）", "Stop number (empty = last)")) placeholder=(l.pick("第几站", "Stop no."));
            button.secondary type="submit" { (l.pick("调整", "Move")) }
        }
    }
}

fn route_table(
    l: Lang,
    code: &str,
    r: &RouteView,
    b: &SessionView,
    locked: bool,
    back: &str,
) -> Markup {
    html! {
        div.table { table.route data-collector=(r.collector_id) {
            thead { tr {
                th scope="col" { (l.pick("站", "Stop")) }
                th scope="col" { (l.pick("预计到达", "ETA")) }
                th scope="col" { (l.pick("预约时段", "Slot")) }
                th scope="col" { (l.pick("房屋/车位", "Rooms/spaces")) }
                th scope="col" { (l.pick("业主与需求", "Owner and needs")) }
                th scope="col" { (l.pick("步行", "Walk")) }
                @if !locked { th scope="col" { (l.pick("手动调整", "Adjust")) } }
            } }
            tbody { @for s in &r.stops { tr data-booking=(s.booking.booking.id) {
                td { (s.seq) @if s.done { br; span.tag { (l.pick("已完成", "done")) } } }
                td { b { (s.eta) } }
                td {
                    (s.slot) br;
                    @if s.on_time { span.ontime { "✓ " (l.pick("准时", "on time")) } } @else { span.late { "⚠ " (l.pick("不在时段内", "outside the slot")) } }
                }
                td { (s.booking.labels.join("、")) }
                td { (s.booking.booking.owner_name) " " (tel(&s.booking.booking.contact_phone)) br; (needs(l, &s.booking.booking)) }
                td.num { (s.walk_minutes) (l.pick(" 分钟", " min")) }
                @if !locked { td { @if !s.done { (move_form(l, code, s.booking.booking.id, &b.collectors, Some(r.collector_id), Some(s.seq), back)) } } }
            } } }
        } }
    }
}

fn waiting_table(
    l: Lang,
    code: &str,
    list: &[BookingView],
    b: &SessionView,
    locked: bool,
    back: &str,
    id: &str,
) -> Markup {
    html! {
        div.table { table id=(id) {
            thead { tr {
                th scope="col" { (l.pick("预约时段", "Slot")) }
                th scope="col" { (l.pick("房屋/车位", "Rooms/spaces")) }
                th scope="col" { (l.pick("业主与需求", "Owner and needs")) }
                th scope="col" { (l.pick("状态", "Status")) }
                th scope="col" { (l.pick("未排原因", "Why not routed")) }
                @if !locked && !b.collectors.is_empty() { th scope="col" { (l.pick("手动派单", "Assign")) } }
            } }
            tbody { @for v in list { tr data-booking=(v.booking.id) {
                td { (v.booking.slot) }
                td { a href={"/console/" (code) "/bookings/" (v.booking.id)} { (v.labels.join("、")) } }
                td { (v.booking.owner_name) " " (tel(&v.booking.contact_phone)) br; (needs(l, &v.booking)) }
                td { (v.booking.status.label(l)) }
                td { @if let Some(u) = b.unassigned.iter().find(|u| u.booking_id == v.booking.id) { (reason_text(l, &u.reason)) } @else { span.muted { "—" } } }
                @if !locked && !b.collectors.is_empty() { td { (move_form(l, code, v.booking.id, &b.collectors, None, None, back)) } }
            } } }
        } }
    }
}

async fn board_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(p): Query<BoardQuery>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app.estate_for(&cu.user, &code, Permission::Dispatch).await?;
        let date = day_param(&e, p.date.as_deref())?;
        let windows = windows_on(&app, &e, date).await?;
        let chosen = p
            .window
            .as_deref()
            .map(str::trim)
            .filter(|w| windows.iter().any(|x| hhmm(x.start) == *w))
            .map(str::to_string)
            .or_else(|| windows.first().map(|w| hhmm(w.start)));
        let duty = app.store.duty(e.id, date).await?;
        let board = match &chosen {
            Some(w) => Some(app.dispatch_board(&cu.user, &code, date, Some(w)).await?),
            None => None,
        };
        let w = chosen.clone().unwrap_or_default();
        let here = format!("/console/{}/dispatch?date={}&window={}", e.code, date, enc(&w));
        let base = format!("/console/{}/dispatch", e.code);
        let flash = Flash { ok: p.ok.clone(), err: p.err.clone() };
        Ok::<_, AppError>(page(l, &format!("{} · {}", e.name, l.pick("派单", "Dispatch")), Some(&cu.user), Some(&e.code), &flash, html! {
            form.row method="get" {
                label { (l.pick("日期", "Date")) input type="date" name="date" value=(date.to_string()); }
                @if !windows.is_empty() {
                    label { (l.pick("场次", "Session"))
                        select name="window" { @for x in &windows { option value=(hhmm(x.start)) selected[hhmm(x.start) == w] { (x) } } }
                    }
                }
                button type="submit" { (l.pick("查看", "Show")) }
                (day_nav(l, &base, date))
            }
            @if windows.is_empty() {
                p #no-session { (l.pick("当天不安排上门收费（可在“上门设置”中调整）。", "There are no home visits that day (see visit settings).")) }
            }
            h2 { (l.pick("值班收费员", "Collectors on duty")) " · " (day_label(date, l)) }
            @if duty.is_empty() {
                p.muted { (l.pick("本小区还没有收费员账号。", "This estate has no collector accounts yet.")) }
            } @else {
                div.table { table #duty {
                    thead { tr { th scope="col" { (l.pick("收费员", "Collector")) } th scope="col" { (l.pick("当天", "That day")) } th scope="col" { (l.pick("操作", "Action")) } } }
                    tbody { @for d in &duty { tr data-collector=(d.user_id) {
                        td { (d.name) }
                        td { @if d.on_duty { (l.pick("值班", "on duty")) } @else { span.muted { (l.pick("休息", "off duty")) } } }
                        td { form.act method="post" action={"/console/" (e.code) "/duty"} {
                            input type="hidden" name="date" value=(date.to_string());
                            input type="hidden" name="collector" value=(d.user_id);
                            input type="hidden" name="on" value=(if d.on_duty { "false" } else { "true" });
                            input type="hidden" name="back" value=(here);
                            button.secondary type="submit" { @if d.on_duty { (l.pick("设为休息", "Take off duty")) } @else { (l.pick("安排值班", "Put on duty")) } }
                        } }
                    } } }
                } }
            }
            @if let Some(b) = &board {
                @let locked = b.locked_at.is_some();
                @let stops: usize = b.routes.iter().map(|r| r.stops.len()).sum();
                h2 { (l.pick("本场：", "Session: ")) (day_label(date, l)) " " (b.window) }
                @if let Some(at) = b.locked_at {
                    p.locked #lock-state role="status" { (l.pick("已锁定发布", "Locked and published")) " · " (at_local(&e, at)) (l.pick("。收费员已可查看行程；调整前请先解锁。", ". Collectors see these routes; unlock before changing them.")) }
                } @else {
                    p #lock-state { (l.pick("未锁定：路线仍可调整，锁定后发布给收费员。", "Not locked: routes may still change; lock to publish them to the collectors.")) }
                }
                div.stats #board-stats {
                    div.stat { b { (stops) } (l.pick("已排站点", "stops on routes")) }
                    div.stat { b { (b.unplanned.len()) } (l.pick("待排线", "not yet routed")) }
                    div.stat { b { (b.awaiting_call.len()) } (l.pick("待电话确认", "awaiting a call")) }
                    div.stat { b { (b.collectors.len()) } (l.pick("值班收费员", "collectors on duty")) }
                }
                p.muted {
                    @if let Some(at) = b.planned_at { (l.pick("上次排线：", "Last planned: ")) (at_local(&e, at)) } @else { (l.pick("本场尚未排线。", "Not planned yet.")) }
                }
                div.row #board-actions {
                    @if !locked {
                        form method="post" action={"/console/" (e.code) "/dispatch/plan"} {
                            input type="hidden" name="date" value=(date.to_string());
                            input type="hidden" name="window" value=(w);
                            button #plan type="submit" { (l.pick("自动排线", "Plan routes")) }
                        }
                        form method="post" action={"/console/" (e.code) "/dispatch/replan"} {
                            input type="hidden" name="date" value=(date.to_string());
                            input type="hidden" name="window" value=(w);
                            button.secondary #replan type="submit" { (l.pick("重新排线（保留已完成）", "Re-plan (keeps done stops)")) }
                        }
                    }
                    form method="post" action={"/console/" (e.code) "/dispatch/lock"} {
                        input type="hidden" name="date" value=(date.to_string());
                        input type="hidden" name="window" value=(w);
                        @if locked {
                            input type="hidden" name="locked" value="false";
                            button.secondary #unlock type="submit" { (l.pick("解锁", "Unlock")) }
                        } @else {
                            input type="hidden" name="locked" value="true";
                            button.secondary #lock type="submit" { (l.pick("锁定发布", "Lock and publish")) }
                        }
                    }
                }
                h2 { (l.pick("路线", "Routes")) }
                @if b.routes.iter().all(|r| r.stops.is_empty()) {
                    p.muted { (l.pick("还没有路线。确认预约后点“自动排线”。", "No routes yet. Confirm the bookings, then press “Plan routes”.")) }
                }
                @for r in b.routes.iter().filter(|r| !r.stops.is_empty()) {
                    h3 { (r.collector) " · " (r.stops.len()) (l.pick(" 站 · 步行约 ", " stops · about ")) (r.walking_minutes) (l.pick(" 分钟", " min walking")) }
                    p { a href={"/console/" (e.code) "/itinerary?date=" (date) "&collector=" (r.collector_id)} { (l.pick("查看行程与路线图：", "Itinerary and map: ")) (r.collector) } }
                    (route_table(l, &e.code, r, b, locked, &here))
                }
                h2 { (l.pick("待排线", "Not yet routed")) }
                @if b.unplanned.is_empty() {
                    p.muted { (l.pick("没有待排线的预约。", "Every ready booking is on a route.")) }
                } @else {
                    (waiting_table(l, &e.code, &b.unplanned, b, locked, &here, "unplanned"))
                }
                h2 { (l.pick("待电话确认", "Awaiting a confirmation call")) }
                @if b.awaiting_call.is_empty() {
                    p.muted { (l.pick("没有。", "None.")) }
                } @else {
                    p { a href={"/console/" (e.code) "/calls"} { (l.pick("去电话确认", "Go to the confirmation queue")) } }
                    ul #awaiting { @for v in &b.awaiting_call { li { (v.booking.slot) " " (v.labels.join("、")) " · " (v.booking.owner_name) " " (tel(&v.booking.contact_phone)) } } }
                }
            }
        }))
    }
    .await;
    render(l, r)
}

#[derive(Deserialize)]
struct SessionForm {
    #[serde(default)]
    date: String,
    #[serde(default)]
    window: String,
    locked: Option<String>,
}

fn board_url(code: &str, date: &str, window: &str) -> String {
    format!(
        "/console/{code}/dispatch?date={}&window={}",
        enc(date),
        enc(window)
    )
}

fn window_arg(w: &str) -> Option<&str> {
    Some(w.trim()).filter(|w| !w.is_empty())
}

fn plan_message(l: Lang, v: &SessionView, what: &str) -> String {
    let routes = v.routes.iter().filter(|r| !r.stops.is_empty()).count();
    let stops: usize = v.routes.iter().map(|r| r.stops.len()).sum();
    match l {
        Lang::Zh => format!(
            "{what}：{routes} 条路线，共 {stops} 站；{} 个预约未能安排",
            v.unassigned.len()
        ),
        Lang::En => format!(
            "{what}: {routes} routes, {stops} stops; {} bookings left out",
            v.unassigned.len()
        ),
    }
}

async fn plan(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<SessionForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let date = parse_date("date", &f.date)?;
        let v = app
            .plan_dispatch(&cu.user, &code, date, window_arg(&f.window), 1000)
            .await?;
        Ok(plan_message(l, &v, l.pick("已自动排线", "Routes planned")))
    }
    .await;
    done(&board_url(&code, &f.date, &f.window), l, r)
}

async fn replan(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<SessionForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let date = parse_date("date", &f.date)?;
        let v = app
            .replan_dispatch(&cu.user, &code, date, window_arg(&f.window), 500)
            .await?;
        Ok(plan_message(
            l,
            &v,
            l.pick("已重新排线", "Routes re-planned"),
        ))
    }
    .await;
    done(&board_url(&code, &f.date, &f.window), l, r)
}

async fn lock(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<SessionForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let date = parse_date("date", &f.date)?;
        let locked = f.locked.as_deref() != Some("false");
        app.lock_dispatch(&cu.user, &code, date, window_arg(&f.window), locked)
            .await?;
        Ok(if locked {
            l.pick(
                "已锁定发布，收费员可查看行程",
                "Locked and published to the collectors",
            )
        } else {
            l.pick("已解锁，可以调整路线", "Unlocked; routes may be changed")
        }
        .to_string())
    }
    .await;
    done(&board_url(&code, &f.date, &f.window), l, r)
}

#[derive(Deserialize)]
struct MoveForm {
    #[serde(default)]
    booking: String,
    #[serde(default)]
    collector: String,
    #[serde(default)]
    position: String,
    back: Option<String>,
}

async fn move_stop(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<MoveForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app
            .estate_for(&cu.user, &code, Permission::Dispatch)
            .await?;
        let id: i64 = f
            .booking
            .trim()
            .parse()
            .map_err(|_| DomainError::invalid("booking", "no booking was given"))?;
        let collector: i64 = f
            .collector
            .trim()
            .parse()
            .map_err(|_| DomainError::invalid("collector", "choose a collector"))?;
        let position = match f.position.trim() {
            "" => usize::MAX,
            p => match p.parse::<usize>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    return Err(DomainError::invalid(
                        "position",
                        format!("{p:?} is not a stop number (1, 2, 3 …)"),
                    )
                    .into());
                }
            },
        };
        let (be, _) = app
            .booking_for(&doorstep_app::booking::By::Staff(&cu.user), id)
            .await?;
        if be.id != e.id {
            return Err(AppError::NotFound(format!("booking {id}")));
        }
        let v = app.move_stop(&cu.user, id, collector, position).await?;
        let (name, seq) = v
            .routes
            .iter()
            .find_map(|r| {
                r.stops
                    .iter()
                    .find(|s| s.booking.booking.id == id)
                    .map(|s| (r.collector.clone(), s.seq))
            })
            .unwrap_or_default();
        Ok(match l {
            Lang::Zh => format!("已将预约 #{id} 派给 {name}，第 {seq} 站"),
            Lang::En => format!("Booking #{id} moved to {name}, stop {seq}"),
        })
    }
    .await;
    done(
        &back_or(f.back.as_deref(), format!("/console/{code}/dispatch")),
        l,
        r,
    )
}

#[derive(Deserialize)]
struct DutyForm {
    #[serde(default)]
    date: String,
    #[serde(default)]
    collector: String,
    #[serde(default)]
    on: String,
    back: Option<String>,
}

async fn duty(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<DutyForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app
            .estate_for(&cu.user, &code, Permission::Dispatch)
            .await?;
        let day = parse_date("date", &f.date)?;
        let collector: i64 = f
            .collector
            .trim()
            .parse()
            .map_err(|_| DomainError::invalid("collector", "choose a collector"))?;
        let on = f.on.trim() == "true";
        app.set_duty(&cu.user, &code, day, collector, on).await?;
        let name = app
            .store
            .duty(e.id, day)
            .await?
            .into_iter()
            .find(|d| d.user_id == collector)
            .map(|d| d.name)
            .unwrap_or_default();
        Ok(match (l, on) {
            (Lang::Zh, true) => format!("{name} {} 值班", day_label(day, l)),
            (Lang::Zh, false) => format!("{name} {} 休息", day_label(day, l)),
            (Lang::En, true) => format!("{name} is on duty on {}", day_label(day, l)),
            (Lang::En, false) => format!("{name} is off duty on {}", day_label(day, l)),
        })
    }
    .await;
    done(
        &back_or(
            f.back.as_deref(),
            format!("/console/{code}/dispatch?date={}", enc(&f.date)),
        ),
        l,
        r,
    )
}

// ---------------------------------------------------------------------------
// A collector's itinerary.

#[derive(Deserialize, Default)]
struct ItineraryQuery {
    date: Option<String>,
    collector: Option<String>,
    ok: Option<String>,
    err: Option<String>,
}

fn route_section(l: Lang, e: &Estate, r: &RouteView, n: usize) -> Markup {
    let window = r
        .stops
        .first()
        .map(|s| s.booking.booking.window.to_string())
        .unwrap_or_default();
    let summary = r
        .stops
        .iter()
        .map(|s| format!("{} {}", s.eta, s.booking.labels.join("、")))
        .collect::<Vec<_>>()
        .join(" → ");
    let map_label = format!(
        "{}{}{}",
        l.pick("路线图：物业中心 → ", "Route map: office → "),
        r.stops
            .iter()
            .map(|s| s.booking.labels.join("、"))
            .collect::<Vec<_>>()
            .join(" → "),
        l.pick(" → 返回物业中心", " → back to the office")
    );
    html! {
        section.itinerary data-collector=(r.collector_id) {
            h2 { (window) " · " (r.collector) }
            p.summary id={"summary-" (n)} { b { (summary) } }
            p.muted { (r.stops.len()) (l.pick(" 站 · 步行约 ", " stops · about ")) (r.walking_minutes) (l.pick(" 分钟", " min walking")) }
            ol.stops {
                @for s in &r.stops { @let b = &s.booking.booking;
                    li data-booking=(b.id) {
                        b.eta { (s.eta) } " " b { (s.booking.labels.join("、")) } " "
                        @if s.on_time { span.ontime { "✓ " (l.pick("在预约时段内", "inside the slot")) } } @else { span.late { "⚠ " (l.pick("不在预约时段内", "outside the slot")) } }
                        @if s.done { " " span.tag { (l.pick("已完成", "done")) } }
                        br;
                        span.muted { (l.pick("预约时段 ", "Slot ")) (s.slot) " · " (l.pick("步行 ", "walk ")) (s.walk_minutes) (l.pick(" 分钟", " min")) }
                        br;
                        (b.owner_name) " · " (tel(&b.contact_phone))
                        br;
                        (needs(l, b))
                    }
                }
            }
            @if let Some(svg) = &r.svg {
                // Generated by our own planner from the estate's model: safe to inline.
                div.map role="img" aria-label=(map_label) { (PreEscaped(svg)) }
            } @else {
                p.muted { (l.pick("本小区还没有步行模型，无法画出路线图。", "The estate has no walking model yet, so there is no map.")) " " a href={"/console/" (e.code) "/visit-settings"} { (l.pick("上传步行模型", "Upload one")) } }
            }
        }
    }
}

async fn itinerary_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(p): Query<ItineraryQuery>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app.estate_for(&cu.user, &code, Permission::Visit).await?;
        let date = day_param(&e, p.date.as_deref())?;
        let can_choose = cu.user.role.allows(Permission::Dispatch);
        let collectors = if can_choose { app.store.duty(e.id, date).await? } else { Vec::new() };
        let asked = match p.collector.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s) => Some(s.parse::<i64>().map_err(|_| DomainError::invalid("collector", format!("{s:?} is not a collector")))?),
            None => None,
        };
        let who = if can_choose {
            asked.or_else(|| {
                collectors
                    .iter()
                    .find(|d| d.on_duty)
                    .or(collectors.first())
                    .map(|d| d.user_id)
            })
        } else {
            // Collectors see their own route.
            Some(cu.user.id)
        };
        let routes = match who {
            Some(c) => app.itinerary(&cu.user, &code, date, Some(c)).await?,
            None => Vec::new(),
        };
        let name = routes.first().map(|r| r.collector.clone())
            .or_else(|| collectors.iter().find(|d| Some(d.user_id) == who).map(|d| d.name.clone()))
            .unwrap_or_else(|| if who == Some(cu.user.id) { cu.user.display_name.clone() } else { String::new() });
        let base = format!("/console/{}/itinerary", e.code);
        let flash = Flash { ok: p.ok.clone(), err: p.err.clone() };
        Ok::<_, AppError>(page(l, &format!("{} · {}", e.name, l.pick("行程", "Itinerary")), Some(&cu.user), Some(&e.code), &flash, html! {
            form.row method="get" {
                label { (l.pick("日期", "Date")) input type="date" name="date" value=(date.to_string()); }
                @if can_choose && !collectors.is_empty() {
                    label { (l.pick("收费员", "Collector"))
                        select name="collector" { @for d in &collectors { option value=(d.user_id) selected[Some(d.user_id) == who] { (d.name) @if !d.on_duty { (l.pick("（休息）", " (off duty)")) } } } }
                    }
                }
                button type="submit" { (l.pick("查看", "Show")) }
                @if let Some(c) = who.filter(|_| can_choose) {
                    @if let Ok(pd) = date.yesterday() { a href={(base) "?date=" (pd) "&collector=" (c)} { (l.pick("前一天", "Previous day")) } }
                    @if let Ok(nd) = date.tomorrow() { a href={(base) "?date=" (nd) "&collector=" (c)} { (l.pick("后一天", "Next day")) } }
                } @else {
                    (day_nav(l, &base, date))
                }
            }
            p { b { (name) } " · " (day_label(date, l)) }
            @if who.is_none() {
                p.muted { (l.pick("本小区还没有收费员。", "This estate has no collectors yet.")) }
            } @else if routes.is_empty() {
                p #no-stops { (l.pick("当天没有已派单的上门。", "No visits are routed that day.")) }
            }
            @for (n, r) in routes.iter().enumerate() { (route_section(l, &e, r, n + 1)) }
        }))
    }
    .await;
    render(l, r)
}

// ---------------------------------------------------------------------------
// Visit settings: booking rules, special days, the walking model.

fn day_kind_name(l: Lang, kind: &str) -> &'static str {
    match kind {
        "holiday" => l.pick("节假日（按周末时段）", "Holiday (weekend windows)"),
        "workday" => l.pick(
            "调休上班（按工作日时段）",
            "Make-up workday (weekday windows)",
        ),
        "closed" => l.pick("暂停上门", "No visits"),
        _ => l.pick("特别时段", "Special hours"),
    }
}

async fn settings_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = app.estate_for(&cu.user, &code, Permission::Dispatch).await?;
        let rules = app.store.booking_rules(e.id).await?;
        let from = today(&e);
        let to = from.checked_add(jiff::Span::new().days(3660)).unwrap_or(from);
        let days = app.store.day_rules(e.id, from, to).await?;
        let model = app.store.estate_model(e.id).await?;
        let fences = app.store.geofences(e.id).await?;
        let act = |p: &str| format!("/console/{}/visit-settings{p}", e.code);
        Ok::<_, AppError>(page(l, &format!("{} · {}", e.name, l.pick("上门设置", "Visit settings")), Some(&cu.user), Some(&e.code), &flash, html! {
            h2 { (l.pick("预约规则", "Booking rules")) }
            form.card #rules method="post" action=(act("/rules")) {
                p.muted { (l.pick("时段写法：19:00-21:00，多个用逗号分隔，如 9:00-12:00, 14:00-18:00；留空表示不上门。", "Windows like 19:00-21:00, several separated by commas, e.g. 9:00-12:00, 14:00-18:00; empty means no visits.")) }
                label { (l.pick("工作日上门时段", "Weekday windows")) input name="weekday" value=(format_windows(&rules.weekday)); }
                label { (l.pick("周末及节假日上门时段", "Weekend and holiday windows")) input name="weekend" value=(format_windows(&rules.weekend)); }
                label { (l.pick("每个时段的分钟数", "Minutes per slot")) input name="slot_minutes" type="number" min="10" max="240" value=(rules.slot_minutes) required; }
                label { (l.pick("每位收费员每个时段上门户数", "Visits per collector per slot")) input name="visits_per_collector" type="number" min="1" max="50" value=(rules.visits_per_collector) required; }
                label { (l.pick("上门前多少分钟停止业主预约、取消和改期", "Owners' cut-off (minutes before the visit)")) input name="cutoff_minutes" type="number" min="0" value=(rules.cutoff_minutes) required; }
                label { (l.pick("上门前多少分钟发送提醒", "Reminder (minutes before the visit)")) input name="reminder_minutes" type="number" min="0" value=(rules.reminder_minutes) required; }
                label { (l.pick("每户上门时长（分钟，用于排线）", "Minutes at each door (for route planning)")) input name="service_minutes" type="number" min="1" max="120" value=(rules.service_minutes) required; }
                label { (l.pick("业主可提前预约的天数", "Days ahead owners may book")) input name="horizon_days" type="number" min="1" max="90" value=(rules.horizon_days) required; }
                button type="submit" { (l.pick("保存规则", "Save rules")) }
            }
            h2 { (l.pick("特殊日期", "Special days")) }
            @if days.is_empty() {
                p.muted { (l.pick("没有设置特殊日期。", "No special days set.")) }
            } @else {
                div.table { table #special-days {
                    thead { tr { th scope="col" { (l.pick("日期", "Date")) } th scope="col" { (l.pick("安排", "Arrangement")) } th scope="col" { (l.pick("备注", "Note")) } th scope="col" { (l.pick("操作", "Action")) } } }
                    tbody { @for (d, rule, note) in &days { tr {
                        td { (d) " " span.muted { (day_label(*d, l)) } }
                        td { (rule.label(l)) }
                        td { (note) }
                        td { form.act method="post" action=(act("/days/remove")) {
                            input type="hidden" name="date" value=(d.to_string());
                            button.secondary type="submit" aria-label={(l.pick("删除 ", "Remove ")) (d)} { (l.pick("删除", "Remove")) }
                        } }
                    } } }
                } }
            }
            form.card #add-day method="post" action=(act("/days")) {
                h3 { (l.pick("添加特殊日期", "Add a special day")) }
                label { (l.pick("日期", "Date")) input type="date" name="date" required; }
                label { (l.pick("类型", "Kind")) select name="kind" {
                    @for k in ["holiday", "workday", "closed", "custom"] { option value=(k) { (day_kind_name(l, k)) } }
                } }
                label { (l.pick("特别时段（仅“特别时段”需要，如 18:00-20:00）", "Special windows (only for special hours, e.g. 18:00-20:00)")) input name="windows"; }
                label { (l.pick("备注", "Note")) input name="note" maxlength="200"; }
                button type="submit" { (l.pick("添加", "Add")) }
            }
            h2 { (l.pick("步行模型", "Walking model")) }
            @if let Some(m) = &model {
                p #model-size { (l.pick("当前模型：", "Current model: ")) (m.lines().count()) (l.pick(" 行，", " lines, ")) (m.len()) (l.pick(" 字节。前几行：", " bytes. First lines:")) }
                pre tabindex="0" aria-label=(l.pick("当前步行模型的前几行", "First lines of the current walking model")) { (m.lines().take(12).collect::<Vec<_>>().join("\n")) }
            } @else {
                p #model-size { (l.pick("还没有步行模型：上传后才能自动排线。", "No walking model yet: upload one before planning routes.")) }
            }
            form.card #model method="post" action=(act("/model")) enctype="multipart/form-data" {
                p.muted { (l.pick("选择模型文件，或把模型文本粘贴在下面（二选一）。上传前会检查格式。", "Choose the model file, or paste its text below. It is checked before it replaces the current one.")) }
                label { (l.pick("模型文件", "Model file")) input type="file" name="file" accept=".txt,text/plain"; }
                label { (l.pick("或粘贴模型文本", "Or paste the model text")) textarea name="model" rows="8" style="width:100%;font:inherit" {} }
                button type="submit" { (l.pick("上传模型", "Upload model")) }
            }
            h2 { (l.pick("签到范围（地理围栏）", "Check-in geofences")) }
            p.muted { (l.pick("收费员到达时的定位与此比较：范围外或无定位会记录并标记，不会拒绝。坐标为 WGS-84（手机浏览器给出的坐标）。", "Collectors' check-in locations are compared with these: outside or no fix is recorded and flagged, never refused. WGS-84 coordinates, as phone browsers report them.")) }
            @if !fences.is_empty() {
                table {
                    thead { tr { th { (l.pick("类型", "Kind")) } th { (l.pick("楼栋/车库层", "Building / level")) } th { (l.pick("纬度", "Latitude")) } th { (l.pick("经度", "Longitude")) } th { (l.pick("半径（米）", "Radius (m)")) } } }
                    tbody {
                        @for g in &fences {
                            tr {
                                td { (if g.area_kind == "building" { l.pick("楼栋", "building") } else { l.pick("车库", "parking") }) }
                                td { (if g.area.is_empty() { l.pick("（整个车库）", "(whole garage)").to_string() } else { g.area.clone() }) }
                                td.num { (format!("{:.6}", g.lat_e6 as f64 / 1e6)) }
                                td.num { (format!("{:.6}", g.lng_e6 as f64 / 1e6)) }
                                td.num { (g.radius_m) }
                            }
                        }
                    }
                }
            }
            form.card #geofence method="post" action=(act("/geofence")) {
                label { (l.pick("类型", "Kind")) select name="area_kind" { option value="building" { (l.pick("楼栋", "Building")) } option value="parking" { (l.pick("车库层", "Parking level")) } } }
                label { (l.pick("楼栋名或车库层（车库留空表示整个车库）", "Building name or parking level (empty = whole garage)")) input name="area"; }
                label { (l.pick("纬度", "Latitude")) input name="lat" inputmode="decimal" required placeholder="31.230400"; }
                label { (l.pick("经度", "Longitude")) input name="lng" inputmode="decimal" required placeholder="121.473700"; }
                label { (l.pick("半径（米）", "Radius (m)")) input name="radius" inputmode="numeric" value="60" required; }
                button type="submit" { (l.pick("保存范围", "Save geofence")) }
            }
        }))
    }
    .await;
    render(l, r)
}

#[derive(Deserialize)]
struct RulesForm {
    #[serde(default)]
    weekday: String,
    #[serde(default)]
    weekend: String,
    #[serde(default)]
    slot_minutes: String,
    #[serde(default)]
    visits_per_collector: String,
    #[serde(default)]
    cutoff_minutes: String,
    #[serde(default)]
    reminder_minutes: String,
    #[serde(default)]
    service_minutes: String,
    #[serde(default)]
    horizon_days: String,
}

fn number(field: &'static str, s: &str) -> Result<u32, DomainError> {
    s.trim()
        .parse()
        .map_err(|_| DomainError::invalid(field, format!("{s:?} is not a whole number")))
}

async fn save_rules(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<RulesForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let rules = BookingRules {
            weekday: parse_windows("weekday", &f.weekday)?,
            weekend: parse_windows("weekend", &f.weekend)?,
            slot_minutes: number("slot_minutes", &f.slot_minutes)?,
            visits_per_collector: number("visits_per_collector", &f.visits_per_collector)?,
            cutoff_minutes: number("cutoff_minutes", &f.cutoff_minutes)?,
            reminder_minutes: number("reminder_minutes", &f.reminder_minutes)?,
            service_minutes: number("service_minutes", &f.service_minutes)?,
            horizon_days: number("horizon_days", &f.horizon_days)?,
        };
        app.set_booking_rules(&cu.user, &code, &rules).await?;
        Ok(l.pick("已保存预约规则", "Booking rules saved").to_string())
    }
    .await;
    done(&format!("/console/{code}/visit-settings"), l, r)
}

#[derive(Deserialize)]
struct DayForm {
    #[serde(default)]
    date: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    windows: String,
    #[serde(default)]
    note: String,
}

async fn add_day(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<DayForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let day = parse_date("date", &f.date)?;
        let rule = DayRule::from_parts(f.kind.trim(), &f.windows)?;
        if let DayRule::Custom(ws) = &rule
            && ws.is_empty()
        {
            return Err(DomainError::invalid(
                "windows",
                "special hours need windows such as 18:00-20:00 (or choose “no visits”)",
            )
            .into());
        }
        app.set_day_rule(&cu.user, &code, day, Some(&rule), f.note.trim())
            .await?;
        Ok(format!(
            "{}{} {}",
            l.pick("已设置 ", "Set "),
            day,
            rule.label(l)
        ))
    }
    .await;
    done(&format!("/console/{code}/visit-settings"), l, r)
}

#[derive(Deserialize)]
struct RemoveDayForm {
    #[serde(default)]
    date: String,
}

async fn remove_day(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<RemoveDayForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let day = parse_date("date", &f.date)?;
        app.set_day_rule(&cu.user, &code, day, None, "").await?;
        Ok(format!(
            "{}{}",
            l.pick("已删除特殊日期 ", "Removed special day "),
            day
        ))
    }
    .await;
    done(&format!("/console/{code}/visit-settings"), l, r)
}

#[derive(Deserialize)]
struct GeofenceForm {
    area_kind: String,
    #[serde(default)]
    area: String,
    lat: String,
    lng: String,
    radius: String,
}

/// Degrees as text → millionths of a degree.
fn micro_degrees(field: &'static str, s: &str) -> Result<i64, AppError> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| DomainError::invalid(field, format!("{s:?} is not a number of degrees")))?;
    if !v.is_finite() {
        return Err(DomainError::invalid(field, "is not a number").into());
    }
    Ok((v * 1e6).round() as i64)
}

async fn save_geofence(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<GeofenceForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let g = doorstep_store::Geofence {
            area_kind: f.area_kind.trim().to_string(),
            area: f.area.trim().to_string(),
            lat_e6: micro_degrees("lat", &f.lat)?,
            lng_e6: micro_degrees("lng", &f.lng)?,
            radius_m: f
                .radius
                .trim()
                .parse()
                .map_err(|_| DomainError::invalid("radius", "a whole number of metres"))?,
        };
        app.set_geofence(&cu.user, &code, &g).await?;
        Ok(l.pick("已保存签到范围", "Geofence saved").to_string())
    }
    .await;
    done(&format!("/console/{code}/visit-settings"), l, r)
}

async fn upload_model(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    mut form: Multipart,
) -> Response {
    let l = cu.lang;
    let r = async {
        let bad = |m: String| AppError::Invalid(DomainError::invalid("model", m));
        let mut file: Vec<u8> = Vec::new();
        let mut pasted = String::new();
        while let Some(field) = form.next_field().await.map_err(|x| bad(x.body_text()))? {
            match field.name() {
                Some("file") => {
                    file = field
                        .bytes()
                        .await
                        .map_err(|x| bad(x.body_text()))?
                        .to_vec()
                }
                Some("model") => pasted = field.text().await.map_err(|x| bad(x.body_text()))?,
                _ => {}
            }
        }
        let text = if !file.is_empty() {
            String::from_utf8(file).map_err(|_| bad("the file is not UTF-8 text".into()))?
        } else {
            pasted
        };
        if text.trim().is_empty() {
            return Err(bad("choose a model file or paste the model text".into()));
        }
        app.set_walking_model(&cu.user, &code, &text).await?;
        Ok(match l {
            Lang::Zh => format!("已上传步行模型（{} 行）", text.lines().count()),
            Lang::En => format!("Walking model uploaded ({} lines)", text.lines().count()),
        })
    }
    .await;
    done(&format!("/console/{code}/visit-settings"), l, r)
}

// ---------------------------------------------------------------------------
// The outbox.

#[derive(Deserialize, Default)]
struct OutboxQuery {
    #[serde(default)]
    recipient: String,
    ok: Option<String>,
    err: Option<String>,
}

fn kind_name(l: Lang, kind: &str) -> String {
    match kind {
        "code" => l.pick("验证码", "sign-in code").into(),
        "reminder" => l.pick("上门提醒", "reminder").into(),
        "booking" => l.pick("预约通知", "booking").into(),
        "cancel" => l.pick("取消通知", "cancellation").into(),
        other => other.to_string(),
    }
}

async fn outbox_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Query(p): Query<OutboxQuery>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let list = app.outbox(&cu.user, Some(p.recipient.as_str()), 100).await?;
        let estates = app.store.list_estates(cu.user.company_id).await?;
        let now = doorstep_app::now();
        let when = |estate: Option<i64>, at: i64| match estates.iter().find(|e| Some(e.id) == estate) {
            Some(e) => at_local(e, at),
            None => jiff::Timestamp::from_second(at).map(|t| t.to_string()).unwrap_or_default(),
        };
        let flash = Flash { ok: p.ok.clone(), err: p.err.clone() };
        Ok::<_, AppError>(page(l, l.pick("消息发件箱", "Message outbox"), Some(&cu.user), None, &flash, html! {
            p.muted { (l.pick("发给业主的短信（最新在前）。登录验证码只发到业主手机，这里始终隐藏。", "Messages to owners (newest first). Sign-in codes go only to the owner's phone and are always hidden here.")) }
            form.row method="get" {
                label { (l.pick("收件人（手机号）", "Recipient (phone)")) input name="recipient" type="tel" inputmode="tel" value=(p.recipient); }
                button type="submit" { (l.pick("筛选", "Filter")) }
                @if !p.recipient.is_empty() { a href="/console/outbox" { (l.pick("全部", "All")) } }
            }
            @if list.is_empty() {
                p #outbox-empty { (l.pick("没有消息。", "No messages.")) }
            } @else {
                ul.msgs #outbox {
                    @for m in &list {
                        li.msg data-kind=(m.kind) {
                            p.muted {
                                (when(m.estate_id, m.created_at)) " · " (m.channel) " · " (kind_name(l, &m.kind)) " · "
                                @if let Some(at) = m.cancelled_at { (l.pick("已撤回 ", "withdrawn ")) (when(m.estate_id, at)) }
                                @else if let Some(at) = m.sent_at { (l.pick("已发送 ", "sent ")) (when(m.estate_id, at)) }
                                @else if m.due_at > now { (l.pick("待发送 ", "due ")) (when(m.estate_id, m.due_at)) }
                                @else { (l.pick("待发送", "queued")) }
                            }
                            p { (l.pick("收件人：", "To: ")) b { (m.recipient) } }
                            p { (m.body) }
                        }
                    }
                }
            }
        }))
    }
    .await;
    render(l, r)
}
