//! Buildings, rooms, spaces and owners (imports: `import.rs`).

use super::store::SqlStore;
use super::{col, db_err, write_tx, writer};
use crate::Db;
use doorstep_domain::estate::validate_label;
use doorstep_domain::{Area, DomainError};
use doorstep_store::*;
use sqlx::{Pool, QueryBuilder};
use std::collections::HashMap;

type Tx = sqlx::Transaction<'static, Db>;

/// Ids per `IN (…)` list.
const CHUNK: usize = 500;

fn building_from(row: &<Db as sqlx::Database>::Row) -> StoreResult<Building> {
    Ok(Building {
        id: col(row, "id")?,
        estate_id: col(row, "estate_id")?,
        name: col(row, "name")?,
        entrances: i32::try_from(col::<i64>(row, "entrances")?).unwrap_or(1),
        floors: i32::try_from(col::<i64>(row, "floors")?).unwrap_or(1),
        has_lift: col(row, "has_lift")?,
    })
}

pub(super) fn check_building(b: &BuildingInput) -> StoreResult<()> {
    validate_label("building", &b.name, 20)?;
    if !(1..=20).contains(&b.entrances) {
        return Err(DomainError::invalid(
            "entrances",
            format!("must be 1–20, got {}", b.entrances),
        )
        .into());
    }
    if !(1..=200).contains(&b.floors) {
        return Err(
            DomainError::invalid("floors", format!("must be 1–200, got {}", b.floors)).into(),
        );
    }
    Ok(())
}

pub(super) fn check_room(r: &RoomInput) -> StoreResult<()> {
    validate_label("building", &r.building, 20)?;
    if !r.entrance.trim().is_empty() {
        validate_label("entrance", &r.entrance, 10)?;
    }
    validate_label("number", &r.number, 20)?;
    if !(-5..=200).contains(&r.floor) {
        return Err(
            DomainError::invalid("floor", format!("must be -5–200, got {}", r.floor)).into(),
        );
    }
    Area::from_centi(r.area.centi())?;
    Ok(())
}

pub(super) fn check_space(s: &SpaceInput) -> StoreResult<()> {
    validate_label("code", &s.code, 20)?;
    if !s.level.trim().is_empty() {
        validate_label("level", &s.level, 20)?;
    }
    Ok(())
}

pub(crate) async fn upsert_building(
    pool: &Pool<Db>,
    estate_id: i64,
    b: &BuildingInput,
) -> StoreResult<Building> {
    check_building(b)?;
    let row = sqlx::query(
        "INSERT INTO buildings (estate_id, name, entrances, floors, has_lift) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (estate_id, name) DO UPDATE SET entrances = excluded.entrances, floors = excluded.floors, has_lift = excluded.has_lift RETURNING *",
    )
    .bind(estate_id)
    .bind(b.name.trim())
    .bind(i64::from(b.entrances))
    .bind(i64::from(b.floors))
    .bind(b.has_lift)
    .fetch_one(&writer(pool))
    .await
    .map_err(db_err)?;
    building_from(&row)
}

pub(crate) async fn list_buildings(pool: &Pool<Db>, estate_id: i64) -> StoreResult<Vec<Building>> {
    let rows = sqlx::query("SELECT * FROM buildings WHERE estate_id = $1 ORDER BY id")
        .bind(estate_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
    rows.iter().map(building_from).collect()
}

/// The building's id, creating it with defaults if absent.
async fn building_id(tx: &mut Tx, estate_id: i64, name: &str) -> StoreResult<i64> {
    sqlx::query("INSERT INTO buildings (estate_id, name) VALUES ($1, $2) ON CONFLICT (estate_id, name) DO NOTHING")
        .bind(estate_id)
        .bind(name.trim())
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    let row = sqlx::query("SELECT id FROM buildings WHERE estate_id = $1 AND name = $2")
        .bind(estate_id)
        .bind(name.trim())
        .fetch_one(&mut **tx)
        .await
        .map_err(db_err)?;
    col(&row, "id")
}

pub(crate) async fn create_room(s: &SqlStore, estate_id: i64, r: &RoomInput) -> StoreResult<Room> {
    check_room(r)?;
    let mut tx = write_tx(&s.pool).await?;
    let b = building_id(&mut tx, estate_id, &r.building).await?;
    let row = sqlx::query("INSERT INTO rooms (estate_id, building_id, entrance, floor, number, area_centi) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
        .bind(estate_id)
        .bind(b)
        .bind(r.entrance.trim())
        .bind(i64::from(r.floor))
        .bind(r.number.trim())
        .bind(r.area.centi())
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    let id: i64 = col(&row, "id")?;
    s.room_by_id(estate_id, id).await
}

pub(crate) async fn update_room(
    s: &SqlStore,
    estate_id: i64,
    id: i64,
    r: &RoomInput,
) -> StoreResult<Room> {
    check_room(r)?;
    let mut tx = write_tx(&s.pool).await?;
    let b = building_id(&mut tx, estate_id, &r.building).await?;
    let n = sqlx::query("UPDATE rooms SET building_id = $2, entrance = $3, floor = $4, number = $5, area_centi = $6 WHERE id = $1 AND estate_id = $7")
        .bind(id)
        .bind(b)
        .bind(r.entrance.trim())
        .bind(i64::from(r.floor))
        .bind(r.number.trim())
        .bind(r.area.centi())
        .bind(estate_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    if n == 0 {
        // Dropping the transaction also undoes the building it may have added.
        return Err(StoreError::NotFound(format!("room {id}")));
    }
    tx.commit().await.map_err(db_err)?;
    s.room_by_id(estate_id, id).await
}

impl SqlStore {
    pub(crate) async fn room_by_id(&self, estate_id: i64, id: i64) -> StoreResult<Room> {
        list_rooms(&self.pool, estate_id, "", 1, 0, Some(id))
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("room {id}")))
    }
    pub(crate) async fn space_by_id(&self, estate_id: i64, id: i64) -> StoreResult<Space> {
        list_spaces(&self.pool, estate_id, "", 1, 0, Some(id))
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("space {id}")))
    }
}

fn like(filter: &str) -> String {
    format!("%{}%", filter.trim().replace(['%', '_'], ""))
}

/// Owner names per object id, for a set of rooms or spaces.
async fn owner_names(
    pool: &Pool<Db>,
    link: &str,
    ids: &[i64],
) -> StoreResult<HashMap<i64, Vec<String>>> {
    let mut out: HashMap<i64, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let (table, key) = if link == "room" {
        ("room_owners", "room_id")
    } else {
        ("space_owners", "space_id")
    };
    // In chunks: SQLite allows at most 32,766 bound variables per statement.
    for chunk in ids.chunks(CHUNK) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(format!(
            "SELECT x.{key} AS oid, o.name FROM {table} x JOIN owners o ON o.id = x.owner_id WHERE x.{key} IN ("
        ));
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        qb.push(") ORDER BY o.id");
        for row in qb.build().fetch_all(pool).await.map_err(db_err)? {
            out.entry(col(&row, "oid")?)
                .or_default()
                .push(col(&row, "name")?);
        }
    }
    Ok(out)
}

pub(crate) async fn list_rooms(
    pool: &Pool<Db>,
    estate_id: i64,
    filter: &str,
    limit: i64,
    offset: i64,
    id: Option<i64>,
) -> StoreResult<Vec<Room>> {
    let base =
        "SELECT r.*, b.name AS building FROM rooms r JOIN buildings b ON b.id = r.building_id";
    let rows = if let Some(id) = id {
        sqlx::query(&format!("{base} WHERE r.id = $1 AND r.estate_id = $2"))
            .bind(id)
            .bind(estate_id)
            .fetch_all(pool)
            .await
    } else {
        sqlx::query(&format!(
            "{base} WHERE r.estate_id = $1 AND ($2 = '' OR b.name = $2 OR r.number LIKE $3 OR (b.name || '-' || r.number) = $2 \
             OR EXISTS (SELECT 1 FROM room_owners ro JOIN owners o ON o.id = ro.owner_id WHERE ro.room_id = r.id AND o.name LIKE $3)) \
             ORDER BY r.building_id, r.entrance, r.floor, r.number LIMIT $4 OFFSET $5"
        ))
        .bind(estate_id)
        .bind(filter.trim())
        .bind(like(filter))
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await
    }
    .map_err(db_err)?;
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| col(r, "id"))
        .collect::<StoreResult<_>>()?;
    let mut owners = owner_names(pool, "room", &ids).await?;
    rows.iter()
        .map(|row| {
            let id: i64 = col(row, "id")?;
            Ok(Room {
                id,
                estate_id: col(row, "estate_id")?,
                building_id: col(row, "building_id")?,
                building: col(row, "building")?,
                entrance: col(row, "entrance")?,
                floor: i32::try_from(col::<i64>(row, "floor")?).unwrap_or(0),
                number: col(row, "number")?,
                area: Area::from_centi(col(row, "area_centi")?)?,
                owners: owners.remove(&id).unwrap_or_default(),
            })
        })
        .collect()
}

pub(crate) async fn create_space(
    s: &SqlStore,
    estate_id: i64,
    sp: &SpaceInput,
) -> StoreResult<Space> {
    check_space(sp)?;
    let row =
        sqlx::query("INSERT INTO spaces (estate_id, code, level) VALUES ($1, $2, $3) RETURNING id")
            .bind(estate_id)
            .bind(sp.code.trim())
            .bind(sp.level.trim())
            .fetch_one(&s.pool)
            .await
            .map_err(db_err)?;
    s.space_by_id(estate_id, col(&row, "id")?).await
}

pub(crate) async fn update_space(
    s: &SqlStore,
    estate_id: i64,
    id: i64,
    sp: &SpaceInput,
) -> StoreResult<Space> {
    check_space(sp)?;
    let n = sqlx::query("UPDATE spaces SET code = $2, level = $3 WHERE id = $1 AND estate_id = $4")
        .bind(id)
        .bind(sp.code.trim())
        .bind(sp.level.trim())
        .bind(estate_id)
        .execute(&s.pool)
        .await
        .map_err(db_err)?
        .rows_affected();
    if n == 0 {
        return Err(StoreError::NotFound(format!("space {id}")));
    }
    s.space_by_id(estate_id, id).await
}

pub(crate) async fn list_spaces(
    pool: &Pool<Db>,
    estate_id: i64,
    filter: &str,
    limit: i64,
    offset: i64,
    id: Option<i64>,
) -> StoreResult<Vec<Space>> {
    let rows = if let Some(id) = id {
        sqlx::query("SELECT * FROM spaces WHERE id = $1 AND estate_id = $2")
            .bind(id)
            .bind(estate_id)
            .fetch_all(pool)
            .await
    } else {
        sqlx::query(
            "SELECT s.* FROM spaces s WHERE s.estate_id = $1 AND ($2 = '' OR s.code LIKE $3 OR s.level = $2 \
             OR EXISTS (SELECT 1 FROM space_owners so JOIN owners o ON o.id = so.owner_id WHERE so.space_id = s.id AND o.name LIKE $3)) \
             ORDER BY s.code LIMIT $4 OFFSET $5",
        )
        .bind(estate_id)
        .bind(filter.trim())
        .bind(like(filter))
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await
    }
    .map_err(db_err)?;
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| col(r, "id"))
        .collect::<StoreResult<_>>()?;
    let mut owners = owner_names(pool, "space", &ids).await?;
    rows.iter()
        .map(|row| {
            let id: i64 = col(row, "id")?;
            Ok(Space {
                id,
                estate_id: col(row, "estate_id")?,
                code: col(row, "code")?,
                level: col(row, "level")?,
                owners: owners.remove(&id).unwrap_or_default(),
            })
        })
        .collect()
}

fn check_owner(o: &OwnerInput) -> StoreResult<()> {
    validate_label("name", &o.name, 40)?;
    if o.phones.is_empty() {
        return Err(
            DomainError::invalid("phone", "an owner needs at least one phone number").into(),
        );
    }
    Ok(())
}

/// Links an owner to rooms and spaces of the same estate; ids from other estates are refused.
async fn link_holdings(
    tx: &mut Tx,
    estate_id: i64,
    owner_id: i64,
    rooms: &[i64],
    spaces: &[i64],
) -> StoreResult<()> {
    for r in rooms {
        let n = sqlx::query("INSERT INTO room_owners (room_id, owner_id) SELECT id, $2 FROM rooms WHERE id = $1 AND estate_id = $3 ON CONFLICT DO NOTHING")
            .bind(r)
            .bind(owner_id)
            .bind(estate_id)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        if n == 0 {
            let exists = sqlx::query(
                "SELECT 1 AS one FROM room_owners WHERE room_id = $1 AND owner_id = $2",
            )
            .bind(r)
            .bind(owner_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?;
            if exists.is_none() {
                return Err(StoreError::NotFound(format!("room {r} in this estate")));
            }
        }
    }
    for sp in spaces {
        let n = sqlx::query("INSERT INTO space_owners (space_id, owner_id) SELECT id, $2 FROM spaces WHERE id = $1 AND estate_id = $3 ON CONFLICT DO NOTHING")
            .bind(sp)
            .bind(owner_id)
            .bind(estate_id)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        if n == 0 {
            let exists = sqlx::query(
                "SELECT 1 AS one FROM space_owners WHERE space_id = $1 AND owner_id = $2",
            )
            .bind(sp)
            .bind(owner_id)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_err)?;
            if exists.is_none() {
                return Err(StoreError::NotFound(format!("space {sp} in this estate")));
            }
        }
    }
    Ok(())
}

async fn add_phones(
    tx: &mut Tx,
    owner_id: i64,
    phones: &[doorstep_domain::PhoneNumber],
) -> StoreResult<()> {
    for p in phones {
        sqlx::query(
            "INSERT INTO owner_phones (owner_id, phone) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(owner_id)
        .bind(p.as_str())
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    }
    Ok(())
}

pub(crate) async fn save_owner(
    s: &SqlStore,
    estate_id: i64,
    id: Option<i64>,
    o: &OwnerInput,
) -> StoreResult<Owner> {
    check_owner(o)?;
    let mut tx = write_tx(&s.pool).await?;
    let owner_id = match id {
        Some(id) => {
            let n = sqlx::query("UPDATE owners SET name = $2 WHERE id = $1 AND estate_id = $3")
                .bind(id)
                .bind(o.name.trim())
                .bind(estate_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound(format!("owner {id}")));
            }
            for t in [
                "DELETE FROM owner_phones WHERE owner_id = $1",
                "DELETE FROM room_owners WHERE owner_id = $1",
                "DELETE FROM space_owners WHERE owner_id = $1",
            ] {
                sqlx::query(t)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            id
        }
        None => {
            let row =
                sqlx::query("INSERT INTO owners (estate_id, name) VALUES ($1, $2) RETURNING id")
                    .bind(estate_id)
                    .bind(o.name.trim())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
            col(&row, "id")?
        }
    };
    add_phones(&mut tx, owner_id, &o.phones).await?;
    link_holdings(&mut tx, estate_id, owner_id, &o.room_ids, &o.space_ids).await?;
    tx.commit().await.map_err(db_err)?;
    list_owners(&s.pool, estate_id, "", 1, 0, Some(owner_id))
        .await?
        .pop()
        .ok_or_else(|| StoreError::NotFound(format!("owner {owner_id}")))
}

pub(crate) async fn list_owners(
    pool: &Pool<Db>,
    estate_id: i64,
    filter: &str,
    limit: i64,
    offset: i64,
    id: Option<i64>,
) -> StoreResult<Vec<Owner>> {
    let rows = if let Some(id) = id {
        sqlx::query("SELECT * FROM owners WHERE id = $1 AND estate_id = $2")
            .bind(id)
            .bind(estate_id)
            .fetch_all(pool)
            .await
    } else {
        sqlx::query(
            "SELECT o.* FROM owners o WHERE o.estate_id = $1 AND ($2 = '' OR o.name LIKE $3 \
             OR EXISTS (SELECT 1 FROM owner_phones p WHERE p.owner_id = o.id AND p.phone LIKE $3)) ORDER BY o.id LIMIT $4 OFFSET $5",
        )
        .bind(estate_id)
        .bind(filter.trim())
        .bind(like(filter))
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await
    }
    .map_err(db_err)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = col(row, "id")?;
        let phones =
            sqlx::query("SELECT phone FROM owner_phones WHERE owner_id = $1 ORDER BY phone")
                .bind(id)
                .fetch_all(pool)
                .await
                .map_err(db_err)?;
        let rooms = sqlx::query(
            "SELECT r.id, b.name AS building, r.entrance, r.number FROM room_owners ro JOIN rooms r ON r.id = ro.room_id JOIN buildings b ON b.id = r.building_id WHERE ro.owner_id = $1 ORDER BY r.id",
        )
        .bind(id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?;
        let spaces = sqlx::query("SELECT s.id, s.code, s.level FROM space_owners so JOIN spaces s ON s.id = so.space_id WHERE so.owner_id = $1 ORDER BY s.id")
            .bind(id)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
        out.push(Owner {
            id,
            estate_id: col(row, "estate_id")?,
            name: col(row, "name")?,
            phones: phones
                .iter()
                .map(|p| col(p, "phone"))
                .collect::<StoreResult<_>>()?,
            rooms: rooms
                .iter()
                .map(|r| {
                    let label = doorstep_domain::estate::room_label(
                        &col::<String>(r, "building")?,
                        &col::<String>(r, "entrance")?,
                        &col::<String>(r, "number")?,
                    );
                    Ok((col(r, "id")?, label))
                })
                .collect::<StoreResult<_>>()?,
            spaces: spaces
                .iter()
                .map(|s| {
                    Ok((
                        col(s, "id")?,
                        space_label(&col::<String>(s, "level")?, &col::<String>(s, "code")?),
                    ))
                })
                .collect::<StoreResult<_>>()?,
        });
    }
    Ok(out)
}
