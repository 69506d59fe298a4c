//! Visit settings: booking rules, special days, the geofence and the
//! estate's walking model.

use super::{ConsoleUser, page, render};
use crate::ui::{Flash, done};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Form, Multipart, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use doorstep_app::{App, AppError, parse_date, today};
use doorstep_domain::booking::{day_label, format_windows, parse_windows};
use doorstep_domain::{BookingRules, DayRule, DomainError, Lang, Permission};
use maud::html;
use serde::Deserialize;

/// Largest walking model accepted: 2 MiB (the demo's is about 20 KB).
const MAX_MODEL: usize = 2 * 1024 * 1024;

/// Visit settings routes.
pub fn router() -> Router<App> {
    Router::new()
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
}

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
