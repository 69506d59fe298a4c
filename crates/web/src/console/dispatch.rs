//! Dispatch for staff: the board of one session (collectors on duty, the
//! route planner, manual adjustment, lock) and each collector's itinerary
//! with its map. (Visit settings: `visit_settings.rs`; the outbox:
//! `outbox.rs`.)

use super::bookings::{day_param, needs, tel};
use super::{ConsoleUser, page, render};
use crate::ui::{Flash, at_local, back_or, done, enc};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use doorstep_app::booking::BookingView;
use doorstep_app::dispatch::{RouteView, SessionView};
use doorstep_app::{App, AppError, parse_date};
use doorstep_domain::booking::{day_label, hhmm};
use doorstep_domain::{Date, DomainError, Lang, Permission, Window};
use doorstep_store::Estate;
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

pub fn router() -> Router<App> {
    Router::new()
        .route("/console/{code}/dispatch", get(board_page))
        .route("/console/{code}/dispatch/plan", post(plan))
        .route("/console/{code}/dispatch/replan", post(replan))
        .route("/console/{code}/dispatch/lock", post(lock))
        .route("/console/{code}/dispatch/move", post(move_stop))
        .route("/console/{code}/duty", post(duty))
        .route("/console/{code}/itinerary", get(itinerary_page))
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
