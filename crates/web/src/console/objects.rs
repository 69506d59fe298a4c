//! Buildings, rooms, parking spaces and owners.

use super::{ConsoleUser, page, render};
use crate::ui::{Flash, back, enc};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use doorstep_app::{App, AppError};
use doorstep_domain::{Area, DomainError, Lang, Permission, PhoneNumber};
use doorstep_store::{BuildingInput, Estate, OwnerInput, RoomInput, SpaceInput};
use maud::{Markup, html};
use serde::Deserialize;

pub fn router() -> Router<App> {
    Router::new()
        .route(
            "/console/{code}/buildings",
            get(buildings).post(save_building),
        )
        .route("/console/{code}/rooms", get(rooms).post(create_room))
        .route(
            "/console/{code}/rooms/{id}",
            get(room_page).post(update_room),
        )
        .route("/console/{code}/spaces", get(spaces).post(create_space))
        .route(
            "/console/{code}/spaces/{id}",
            get(space_page).post(update_space),
        )
        .route("/console/{code}/owners", get(owners).post(create_owner))
        .route(
            "/console/{code}/owners/{id}",
            get(owner_page).post(update_owner),
        )
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: i64,
    ok: Option<String>,
    err: Option<String>,
}

const PAGE: i64 = 100;

fn search(l: Lang, q: &str, hint: &str) -> Markup {
    html! { form.row method="get" { label { (hint) input name="q" value=(q); } button type="submit" { (l.pick("查询", "Search")) } } }
}

fn pager(l: Lang, base: &str, q: &str, page: i64, shown: usize) -> Markup {
    html! { p.row {
        @if page > 0 { a href={(base) "?q=" (enc(q)) "&page=" (page - 1)} { (l.pick("上一页", "Previous")) } }
        @if shown as i64 == PAGE { a href={(base) "?q=" (enc(q)) "&page=" (page + 1)} { (l.pick("下一页", "Next")) } }
    } }
}

async fn estate(
    app: &App,
    cu: &ConsoleUser,
    code: &str,
    perm: Permission,
) -> Result<Estate, AppError> {
    app.estate_for(&cu.user, code, perm).await
}

async fn buildings(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(flash): Query<Flash>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = estate(&app, &cu, &code, Permission::ReadEstate).await?;
        let list = app.store.list_buildings(e.id).await?;
        Ok::<_, AppError>(page(l, &format!("{} · {}", e.name, l.pick("楼栋", "Buildings")), Some(&cu.user), Some(&e.code), &flash, html! {
            div.table { table {
                thead { tr { th { (l.pick("楼栋", "Building")) } th.num { (l.pick("单元数", "Entrances")) } th.num { (l.pick("层数", "Floors")) } th { (l.pick("电梯", "Lift")) } } }
                tbody { @for b in &list { tr { td { (b.name) } td.num { (b.entrances) } td.num { (b.floors) } td { @if b.has_lift { (l.pick("有", "yes")) } @else { (l.pick("无", "no")) } } } } }
            } }
            @if cu.user.role.allows(Permission::EditMasterData) {
                h2 { (l.pick("新增或修改楼栋", "Add or edit a building")) }
                form.card method="post" {
                    label { (l.pick("楼栋名称（如 3 或 3号楼）", "Name (e.g. 3)")) input name="name" required; }
                    label { (l.pick("单元数", "Entrances")) input name="entrances" type="number" min="1" max="20" value="1"; }
                    label { (l.pick("层数", "Floors")) input name="floors" type="number" min="1" max="200" value="6"; }
                    label.inline { input type="checkbox" name="has_lift" value="on"; (l.pick("有电梯", "Has a lift")) }
                    button type="submit" { (l.pick("保存", "Save")) }
                }
            }
        }))
    }
    .await;
    render(l, r)
}

#[derive(Deserialize)]
struct BuildingForm {
    name: String,
    entrances: String,
    floors: String,
    has_lift: Option<String>,
}

fn int(field: &'static str, s: &str) -> Result<i32, DomainError> {
    s.trim()
        .parse()
        .map_err(|_| DomainError::invalid(field, format!("{s:?} is not a whole number")))
}

async fn save_building(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<BuildingForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = estate(&app, &cu, &code, Permission::EditMasterData).await?;
        let b = BuildingInput {
            name: f.name.trim().into(),
            entrances: int("entrances", &f.entrances)?,
            floors: int("floors", &f.floors)?,
            has_lift: f.has_lift.is_some(),
        };
        let b = app.store.upsert_building(e.id, &b).await?;
        Ok(format!(
            "{} {}",
            l.pick("已保存楼栋", "Saved building"),
            b.name
        ))
    }
    .await;
    back(&format!("/console/{code}/buildings"), r)
}

fn room_form(l: Lang, r: Option<&doorstep_store::Room>) -> Markup {
    html! {
        label { (l.pick("楼栋", "Building")) input name="building" value=(r.map(|r| r.building.as_str()).unwrap_or("")) required; }
        label { (l.pick("单元（可空）", "Entrance (optional)")) input name="entrance" value=(r.map(|r| r.entrance.as_str()).unwrap_or("")); }
        label { (l.pick("楼层", "Floor")) input name="floor" type="number" value=(r.map(|r| r.floor).unwrap_or(1)) required; }
        label { (l.pick("房号", "Room number")) input name="number" value=(r.map(|r| r.number.as_str()).unwrap_or("")) required; }
        label { (l.pick("建筑面积（㎡）", "Floor area (m²)")) input name="area" inputmode="decimal" value=(r.map(|r| r.area.to_string()).unwrap_or_default()) required; }
    }
}

async fn rooms(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = estate(&app, &cu, &code, Permission::ReadEstate).await?;
        let list = app.store.list_rooms(e.id, &q.q, PAGE, q.page.max(0) * PAGE).await?;
        let flash = Flash { ok: q.ok.clone(), err: q.err.clone() };
        let base = format!("/console/{}/rooms", e.code);
        Ok::<_, AppError>(page(l, &format!("{} · {}", e.name, l.pick("房屋", "Rooms")), Some(&cu.user), Some(&e.code), &flash, html! {
            (search(l, &q.q, l.pick("楼栋 / 房号 / 业主", "Building / number / owner")))
            div.table { table #rooms {
                thead { tr { th { (l.pick("房号", "Room")) } th.num { (l.pick("楼层", "Floor")) } th.num { (l.pick("面积㎡", "Area m²")) } th { (l.pick("业主", "Owners")) } } }
                tbody { @for r in &list { tr {
                    td { a href={(base) "/" (r.id)} { (r.label()) } } td.num { (r.floor) } td.num { (r.area) } td { (r.owners.join("、")) }
                } } }
            } }
            (pager(l, &base, &q.q, q.page, list.len()))
            @if cu.user.role.allows(Permission::EditMasterData) {
                h2 { (l.pick("新增房屋", "New room")) }
                form.card method="post" { (room_form(l, None)) button type="submit" { (l.pick("新增", "Add")) } }
            }
        }))
    }
    .await;
    render(l, r)
}

#[derive(Deserialize)]
struct RoomForm {
    building: String,
    #[serde(default)]
    entrance: String,
    floor: String,
    number: String,
    area: String,
}

fn room_input(f: &RoomForm) -> Result<RoomInput, DomainError> {
    Ok(RoomInput {
        building: f.building.trim().into(),
        entrance: f.entrance.trim().into(),
        floor: int("floor", &f.floor)?,
        number: f.number.trim().into(),
        area: Area::parse(&f.area)?,
    })
}

async fn create_room(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<RoomForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = estate(&app, &cu, &code, Permission::EditMasterData).await?;
        let room = app.store.create_room(e.id, &room_input(&f)?).await?;
        Ok(format!("{} {}", l.pick("已新增", "Added"), room.label()))
    }
    .await;
    back(&format!("/console/{code}/rooms"), r)
}

async fn room_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Path((code, id)): Path<(String, i64)>,
    Query(flash): Query<Flash>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let (e, room) = app.room(&cu.user, &code, id).await?;
        Ok(page(l, &room.label(), Some(&cu.user), Some(&e.code), &flash, html! {
            p { (l.pick("业主：", "Owners: ")) (room.owners.join("、")) }
            p { a href={"/console/" (e.code) "/arrears?q=" (enc(&room.label()))} { (l.pick("查看欠费", "See arrears")) } }
            @if cu.user.role.allows(Permission::EditMasterData) {
                form.card method="post" { (room_form(l, Some(&room))) button type="submit" { (l.pick("保存", "Save")) } }
            }
        }))
    }
    .await;
    render(l, r)
}

async fn update_room(
    State(app): State<App>,
    cu: ConsoleUser,
    Path((code, id)): Path<(String, i64)>,
    Form(f): Form<RoomForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let room = app
            .update_room(&cu.user, &code, id, &room_input(&f)?)
            .await?;
        Ok(format!("{} {}", l.pick("已保存", "Saved"), room.label()))
    }
    .await;
    back(&format!("/console/{code}/rooms/{id}"), r)
}

async fn spaces(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = estate(&app, &cu, &code, Permission::ReadEstate).await?;
        let list = app.store.list_spaces(e.id, &q.q, PAGE, q.page.max(0) * PAGE).await?;
        let flash = Flash { ok: q.ok.clone(), err: q.err.clone() };
        let base = format!("/console/{}/spaces", e.code);
        Ok::<_, AppError>(page(l, &format!("{} · {}", e.name, l.pick("车位", "Parking spaces")), Some(&cu.user), Some(&e.code), &flash, html! {
            (search(l, &q.q, l.pick("车位号 / 区域 / 业主", "Code / level / owner")))
            div.table { table {
                thead { tr { th { (l.pick("车位", "Space")) } th { (l.pick("区域", "Level")) } th { (l.pick("业主", "Owners")) } } }
                tbody { @for s in &list { tr { td { a href={(base) "/" (s.id)} { (s.code) } } td { (s.level) } td { (s.owners.join("、")) } } } }
            } }
            (pager(l, &base, &q.q, q.page, list.len()))
            @if cu.user.role.allows(Permission::EditMasterData) {
                h2 { (l.pick("新增车位", "New parking space")) }
                form.card method="post" {
                    label { (l.pick("车位号（如 B007）", "Code (e.g. B007)")) input name="code" required; }
                    label { (l.pick("区域（如 地下B1）", "Level (e.g. B1)")) input name="level"; }
                    button type="submit" { (l.pick("新增", "Add")) }
                }
            }
        }))
    }
    .await;
    render(l, r)
}

#[derive(Deserialize)]
struct SpaceForm {
    code: String,
    #[serde(default)]
    level: String,
}

async fn create_space(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<SpaceForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = estate(&app, &cu, &code, Permission::EditMasterData).await?;
        let s = app
            .store
            .create_space(
                e.id,
                &SpaceInput {
                    code: f.code,
                    level: f.level,
                },
            )
            .await?;
        Ok(format!(
            "{} {}",
            l.pick("已新增车位", "Added space"),
            s.code
        ))
    }
    .await;
    back(&format!("/console/{code}/spaces"), r)
}

fn owner_form(l: Lang, o: Option<&doorstep_store::Owner>) -> Markup {
    html! {
        label { (l.pick("姓名", "Name")) input name="name" value=(o.map(|o| o.name.as_str()).unwrap_or("")) required; }
        label { (l.pick("电话（多个用逗号分隔）", "Phones (comma-separated)")) input name="phones" inputmode="tel" value=(o.map(|o| o.phones.join(", ")).unwrap_or_default()) required; }
        label { (l.pick("房屋（楼栋-单元-房号，多个用逗号分隔，如 3-1-202）", "Rooms (building-entrance-number, comma-separated, e.g. 3-1-202)")) input name="rooms" value=(o.map(|o| o.rooms.iter().map(|r| r.1.clone()).collect::<Vec<_>>().join(", ")).unwrap_or_default()); }
        label { (l.pick("车位号（多个用逗号分隔）", "Parking spaces (comma-separated codes)")) input name="spaces" value=(o.map(|o| o.spaces.iter().map(|s| s.1.rsplit("车位").next().unwrap_or("").to_string()).collect::<Vec<_>>().join(", ")).unwrap_or_default()); }
    }
}

async fn owners(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Query(q): Query<ListQuery>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = estate(&app, &cu, &code, Permission::ReadEstate).await?;
        let list = app.store.list_owners(e.id, &q.q, PAGE, q.page.max(0) * PAGE).await?;
        let flash = Flash { ok: q.ok.clone(), err: q.err.clone() };
        let base = format!("/console/{}/owners", e.code);
        Ok::<_, AppError>(page(l, &format!("{} · {}", e.name, l.pick("业主", "Owners")), Some(&cu.user), Some(&e.code), &flash, html! {
            (search(l, &q.q, l.pick("姓名 / 电话", "Name / phone")))
            div.table { table #owners {
                thead { tr { th { (l.pick("姓名", "Name")) } th { (l.pick("电话", "Phones")) } th { (l.pick("房屋", "Rooms")) } th { (l.pick("车位", "Spaces")) } } }
                tbody { @for o in &list { tr {
                    td { a href={(base) "/" (o.id)} { (o.name) } } td { (o.phones.join(" ")) }
                    td { (o.rooms.iter().map(|r| r.1.as_str()).collect::<Vec<_>>().join("、")) } td { (o.spaces.iter().map(|s| s.1.as_str()).collect::<Vec<_>>().join("、")) }
                } } }
            } }
            (pager(l, &base, &q.q, q.page, list.len()))
            @if cu.user.role.allows(Permission::EditMasterData) {
                h2 { (l.pick("新增业主", "New owner")) }
                form.card method="post" { (owner_form(l, None)) button type="submit" { (l.pick("新增", "Add")) } }
            }
        }))
    }
    .await;
    render(l, r)
}

#[derive(Deserialize)]
struct OwnerForm {
    name: String,
    phones: String,
    #[serde(default)]
    rooms: String,
    #[serde(default)]
    spaces: String,
}

fn split(s: &str) -> impl Iterator<Item = &str> {
    s.split([',', '，', ';', '；', '、'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
}

/// Resolves "3-1-202", "3-202" or "3号楼1单元202室" to room ids of the estate.
async fn owner_input(app: &App, e: &Estate, f: &OwnerForm) -> Result<OwnerInput, AppError> {
    let phones = split(&f.phones)
        .map(PhoneNumber::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let rooms_all = app.store.list_rooms(e.id, "", i64::MAX, 0).await?;
    let mut room_ids = Vec::new();
    for want in split(&f.rooms) {
        match rooms_all
            .iter()
            .find(|r| doorstep_app::entered::names_room(want, r))
        {
            Some(r) => room_ids.push(r.id),
            None => {
                return Err(DomainError::invalid("rooms", format!("no room {want:?} in this estate (write building-entrance-number, e.g. 3-1-202)")).into());
            }
        }
    }
    let spaces_all = app.store.list_spaces(e.id, "", i64::MAX, 0).await?;
    let mut space_ids = Vec::new();
    for want in split(&f.spaces) {
        match spaces_all.iter().find(|s| s.code == want) {
            Some(s) => space_ids.push(s.id),
            None => {
                return Err(DomainError::invalid(
                    "spaces",
                    format!("no parking space {want:?} in this estate"),
                )
                .into());
            }
        }
    }
    Ok(OwnerInput {
        name: f.name.trim().into(),
        phones,
        room_ids,
        space_ids,
    })
}

async fn create_owner(
    State(app): State<App>,
    cu: ConsoleUser,
    Path(code): Path<String>,
    Form(f): Form<OwnerForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let e = estate(&app, &cu, &code, Permission::EditMasterData).await?;
        let o = app
            .store
            .create_owner(e.id, &owner_input(&app, &e, &f).await?)
            .await?;
        Ok(format!(
            "{} {}",
            l.pick("已新增业主", "Added owner"),
            o.name
        ))
    }
    .await;
    back(&format!("/console/{code}/owners"), r)
}

async fn owner_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Path((code, id)): Path<(String, i64)>,
    Query(flash): Query<Flash>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let (e, o) = app.owner(&cu.user, &code, id).await?;
        Ok(page(l, &o.name, Some(&cu.user), Some(&e.code), &flash, html! {
            @if cu.user.role.allows(Permission::EditMasterData) {
                form.card method="post" { (owner_form(l, Some(&o))) button type="submit" { (l.pick("保存", "Save")) } }
            } @else {
                p { (o.phones.join(" ")) }
            }
        }))
    }
    .await;
    render(l, r)
}

async fn update_owner(
    State(app): State<App>,
    cu: ConsoleUser,
    Path((code, id)): Path<(String, i64)>,
    Form(f): Form<OwnerForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        // The estate resolves the rooms and spaces the form names; the
        // update checks the owner is the estate's in its own SQL.
        let e = estate(&app, &cu, &code, Permission::EditMasterData).await?;
        let input = owner_input(&app, &e, &f).await?;
        let o = app.update_owner(&cu.user, &code, id, &input).await?;
        Ok(format!("{} {}", l.pick("已保存", "Saved"), o.name))
    }
    .await;
    back(&format!("/console/{code}/owners/{id}"), r)
}

async fn space_page(
    State(app): State<App>,
    cu: ConsoleUser,
    Path((code, id)): Path<(String, i64)>,
    Query(flash): Query<Flash>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let (e, s) = app.space(&cu.user, &code, id).await?;
        Ok(page(l, &doorstep_store::space_label(&s.level, &s.code), Some(&cu.user), Some(&e.code), &flash, html! {
            p { (l.pick("业主：", "Owners: ")) (s.owners.join("、")) }
            @if cu.user.role.allows(Permission::EditMasterData) {
                form.card method="post" {
                    label { (l.pick("车位号", "Code")) input name="code" value=(s.code) required; }
                    label { (l.pick("区域", "Level")) input name="level" value=(s.level); }
                    button type="submit" { (l.pick("保存", "Save")) }
                }
            }
        }))
    }
    .await;
    render(l, r)
}

async fn update_space(
    State(app): State<App>,
    cu: ConsoleUser,
    Path((code, id)): Path<(String, i64)>,
    Form(f): Form<SpaceForm>,
) -> Response {
    let l = cu.lang;
    let r = async {
        let input = SpaceInput {
            code: f.code,
            level: f.level,
        };
        let s = app.update_space(&cu.user, &code, id, &input).await?;
        Ok(format!(
            "{} {}",
            l.pick("已保存车位", "Saved space"),
            s.code
        ))
    }
    .await;
    back(&format!("/console/{code}/spaces/{id}"), r)
}
