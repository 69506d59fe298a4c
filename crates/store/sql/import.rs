//! Spreadsheet imports. A 50,000-row import written row by row in one
//! transaction held SQLite's write lock for minutes, and sign-ins failed
//! meanwhile. Now the rows are staged into `import_*` tables keyed by a
//! batch, one multi-row INSERT per short transaction, so other writers get
//! the lock between them; then one transaction of set-based INSERT … SELECT
//! statements makes the whole batch visible, or none of it (a unique key
//! violated or a holding not found rolls it all back). Staged rows are
//! deleted afterwards either way.

use super::objects::{check_building, check_room, check_space};
use super::{col, db_err, write_tx};
use crate::Db;
use doorstep_domain::estate::validate_label;
use doorstep_store::*;
use sqlx::{Pool, QueryBuilder};

type Tx = sqlx::Transaction<'static, Db>;

/// Bind parameters per statement (SQLite allows 32,766); with one statement
/// per staging transaction, a transaction holds 4,000–15,000 rows.
const PARAMS: usize = 30_000;
/// A batch still staging after this long was abandoned (its request was
/// cancelled or the server stopped) and is swept by the next import.
const ABANDONED_AFTER_SECONDS: i64 = 3600;
/// Staging tables, for the sweep.
const STAGING: [&str; 6] = [
    "import_rooms",
    "import_spaces",
    "import_owners",
    "import_owner_phones",
    "import_owner_rooms",
    "import_owner_spaces",
];

pub(crate) async fn apply_import(
    pool: &Pool<Db>,
    estate_id: i64,
    batch: &ImportBatch,
) -> StoreResult<ImportOutcome> {
    validate(batch)?;
    sweep(pool).await?;
    let id = open_batch(pool, estate_id).await?;
    let result = match stage(pool, id, batch).await {
        Ok(()) => publish(pool, estate_id, id, batch).await,
        Err(e) => Err(e),
    };
    // On success the batch is already marked applied; its staged rows go now
    // (or, if this fails, with the next import's sweep).
    let cleared = clear(pool, id).await;
    let out = result?;
    if let Err(e) = cleared {
        tracing::warn!(
            batch = id,
            "staged import rows left for the next sweep: {e}"
        );
    }
    Ok(out)
}

/// Staged rows in the database (0 unless an import is running or one was abandoned).
pub(crate) async fn staged_rows(pool: &Pool<Db>) -> StoreResult<i64> {
    let mut n = 0;
    for t in STAGING {
        let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {t}"))
            .fetch_one(pool)
            .await
            .map_err(db_err)?;
        n += col::<i64>(&row, "n")?;
    }
    Ok(n)
}

fn validate(batch: &ImportBatch) -> StoreResult<()> {
    for b in &batch.buildings {
        check_building(b)?;
    }
    for r in &batch.rooms {
        check_room(r)?;
    }
    for s in &batch.spaces {
        check_space(s)?;
    }
    for o in &batch.owners {
        validate_label("name", &o.name, 40)?;
    }
    Ok(())
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Deletes the staged rows of finished batches and of abandoned ones,
/// marking the abandoned ones failed.
async fn sweep(pool: &Pool<Db>) -> StoreResult<()> {
    let cutoff = now() - ABANDONED_AFTER_SECONDS;
    let mut tx = write_tx(pool).await?;
    sqlx::query(
        "UPDATE import_batches SET state = 'failed' WHERE state = 'staging' AND started_at < $1",
    )
    .bind(cutoff)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    for t in STAGING {
        sqlx::query(&format!(
            "DELETE FROM {t} WHERE batch_id IN (SELECT id FROM import_batches WHERE state <> 'staging')"
        ))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)
}

async fn open_batch(pool: &Pool<Db>, estate_id: i64) -> StoreResult<i64> {
    let mut tx = write_tx(pool).await?;
    let row = sqlx::query(
        "INSERT INTO import_batches (estate_id, started_at) VALUES ($1, $2) RETURNING id",
    )
    .bind(estate_id)
    .bind(now())
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let id = col(&row, "id")?;
    tx.commit().await.map_err(db_err)?;
    Ok(id)
}

/// Marks the batch failed unless it was applied, and deletes its staged rows.
async fn clear(pool: &Pool<Db>, id: i64) -> StoreResult<()> {
    let mut tx = write_tx(pool).await?;
    sqlx::query("UPDATE import_batches SET state = 'failed' WHERE id = $1 AND state = 'staging'")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    for t in STAGING {
        sqlx::query(&format!("DELETE FROM {t} WHERE batch_id = $1"))
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)
}

/// Inserts `rows` into a staging table, `columns` values each, in
/// statements of at most [`PARAMS`] parameters, each its own transaction.
async fn stage_rows<T>(
    pool: &Pool<Db>,
    head: &str,
    columns: usize,
    rows: &[T],
    bind: impl Fn(sqlx::query_builder::Separated<'_, '_, Db, &'static str>, &T) + Copy,
) -> StoreResult<()> {
    for chunk in rows.chunks(PARAMS / columns) {
        let mut tx = write_tx(pool).await?;
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(head);
        qb.push_values(chunk, bind);
        qb.push(" ON CONFLICT DO NOTHING");
        qb.build().execute(&mut *tx).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
    }
    Ok(())
}

async fn stage(pool: &Pool<Db>, id: i64, batch: &ImportBatch) -> StoreResult<()> {
    let rooms: Vec<(i64, &RoomInput)> = (0..).zip(&batch.rooms).collect();
    stage_rows(
        pool,
        "INSERT INTO import_rooms (batch_id, seq, building, entrance, floor, number, area_centi) ",
        7,
        &rooms,
        |mut b, (seq, r)| {
            b.push_bind(id)
                .push_bind(*seq)
                .push_bind(r.building.trim().to_string())
                .push_bind(r.entrance.trim().to_string())
                .push_bind(i64::from(r.floor))
                .push_bind(r.number.trim().to_string())
                .push_bind(r.area.centi());
        },
    )
    .await?;
    let spaces: Vec<(i64, &SpaceInput)> = (0..).zip(&batch.spaces).collect();
    stage_rows(
        pool,
        "INSERT INTO import_spaces (batch_id, seq, code, level) ",
        4,
        &spaces,
        |mut b, (seq, s)| {
            b.push_bind(id)
                .push_bind(*seq)
                .push_bind(s.code.trim().to_string())
                .push_bind(s.level.trim().to_string());
        },
    )
    .await?;
    let owners: Vec<(i64, &ImportOwner)> = (0..).zip(&batch.owners).collect();
    stage_rows(
        pool,
        "INSERT INTO import_owners (batch_id, seq, name) ",
        3,
        &owners,
        |mut b, (seq, o)| {
            b.push_bind(id)
                .push_bind(*seq)
                .push_bind(o.name.trim().to_string());
        },
    )
    .await?;
    let phones: Vec<(i64, &str)> = owners
        .iter()
        .flat_map(|(seq, o)| o.phones.iter().map(move |p| (*seq, p.as_str())))
        .collect();
    stage_rows(
        pool,
        "INSERT INTO import_owner_phones (batch_id, owner_seq, phone) ",
        3,
        &phones,
        |mut b, (seq, p)| {
            b.push_bind(id).push_bind(*seq).push_bind(p.to_string());
        },
    )
    .await?;
    let holdings: Vec<(i64, &RoomKey)> = owners
        .iter()
        .flat_map(|(seq, o)| o.rooms.iter().map(move |k| (*seq, k)))
        .collect();
    stage_rows(
        pool,
        "INSERT INTO import_owner_rooms (batch_id, owner_seq, building, entrance, number) ",
        5,
        &holdings,
        |mut b, (seq, k)| {
            b.push_bind(id)
                .push_bind(*seq)
                .push_bind(k.building.trim().to_string())
                .push_bind(k.entrance.trim().to_string())
                .push_bind(k.number.trim().to_string());
        },
    )
    .await?;
    let spaces_held: Vec<(i64, &str)> = owners
        .iter()
        .flat_map(|(seq, o)| o.spaces.iter().map(move |c| (*seq, c.trim())))
        .collect();
    stage_rows(
        pool,
        "INSERT INTO import_owner_spaces (batch_id, owner_seq, code) ",
        3,
        &spaces_held,
        |mut b, (seq, c)| {
            b.push_bind(id).push_bind(*seq).push_bind(c.to_string());
        },
    )
    .await
}

/// Runs one statement of the publishing transaction with `binds` as `$1`, `$2`, ….
async fn run(tx: &mut Tx, sql: &str, binds: &[i64]) -> StoreResult<u64> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(*b);
    }
    Ok(q.execute(&mut **tx).await.map_err(db_err)?.rows_affected())
}

/// Makes the staged batch visible in one transaction, or none of it.
async fn publish(
    pool: &Pool<Db>,
    estate_id: i64,
    id: i64,
    batch: &ImportBatch,
) -> StoreResult<ImportOutcome> {
    let mut out = ImportOutcome::default();
    let mut tx = write_tx(pool).await?;
    if !batch.buildings.is_empty() {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "INSERT INTO buildings (estate_id, name, entrances, floors, has_lift) ",
        );
        qb.push_values(&batch.buildings, |mut b, x| {
            b.push_bind(estate_id)
                .push_bind(x.name.trim().to_string())
                .push_bind(i64::from(x.entrances))
                .push_bind(i64::from(x.floors))
                .push_bind(x.has_lift);
        });
        qb.push(" ON CONFLICT (estate_id, name) DO NOTHING");
        out.buildings_created += qb
            .build()
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
    }
    let both = [estate_id, id];
    out.buildings_created += run(&mut tx, "INSERT INTO buildings (estate_id, name) SELECT DISTINCT $1, building FROM import_rooms WHERE batch_id = $2 ON CONFLICT (estate_id, name) DO NOTHING", &both).await?;
    out.rooms_created = run(&mut tx, "INSERT INTO rooms (estate_id, building_id, entrance, floor, number, area_centi) SELECT $1, b.id, r.entrance, r.floor, r.number, r.area_centi FROM import_rooms r JOIN buildings b ON b.estate_id = $1 AND b.name = r.building WHERE r.batch_id = $2 ORDER BY r.seq", &both).await?;
    out.spaces_created = run(&mut tx, "INSERT INTO spaces (estate_id, code, level) SELECT $1, code, level FROM import_spaces WHERE batch_id = $2 ORDER BY seq", &both).await?;
    refresh_statistics(&mut tx).await?;
    publish_owners(&mut tx, estate_id, id, &mut out).await?;
    sqlx::query("UPDATE import_batches SET state = 'applied' WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

/// PostgreSQL plans the joins below from table statistics, which know
/// nothing yet of the rows just staged and inserted: with them stale it
/// picked nested loops over whole tables (1.9 s of a 7 s import of 50,000
/// rows in one anti-join). ANALYZE samples the tables, this transaction's
/// own new rows included. SQLite's planner does well without it.
async fn refresh_statistics(tx: &mut Tx) -> StoreResult<()> {
    if crate::BACKEND != "postgres" {
        return Ok(());
    }
    for t in STAGING.iter().chain(&["rooms", "spaces", "owners"]) {
        sqlx::query(&format!("ANALYZE {t}"))
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Matches staged owners to the estate's (same name and a shared phone),
/// creates the rest, and links phones, rooms and spaces.
async fn publish_owners(
    tx: &mut Tx,
    estate_id: i64,
    id: i64,
    out: &mut ImportOutcome,
) -> StoreResult<()> {
    let both = [estate_id, id];
    out.owners_matched = run(
        tx,
        "UPDATE import_owners SET owner_id = m.owner_id FROM (\
        SELECT io.seq, MIN(o.id) AS owner_id FROM import_owners io \
        JOIN import_owner_phones ip ON ip.batch_id = io.batch_id AND ip.owner_seq = io.seq \
        JOIN owner_phones p ON p.phone = ip.phone \
        JOIN owners o ON o.id = p.owner_id AND o.estate_id = $1 AND o.name = io.name \
        WHERE io.batch_id = $2 GROUP BY io.seq) m \
        WHERE import_owners.batch_id = $2 AND import_owners.seq = m.seq",
        &both,
    )
    .await?;
    out.owners_created = run(tx, "INSERT INTO owners (estate_id, name, import_batch, import_seq) SELECT $1, name, batch_id, seq FROM import_owners WHERE batch_id = $2 AND owner_id IS NULL ORDER BY seq", &both).await?;
    run(
        tx,
        "UPDATE import_owners SET owner_id = o.id FROM owners o \
        WHERE import_owners.batch_id = $2 AND import_owners.owner_id IS NULL \
        AND o.estate_id = $1 AND o.import_batch = $2 AND o.import_seq = import_owners.seq",
        &both,
    )
    .await?;
    run(tx, "INSERT INTO owner_phones (owner_id, phone) SELECT io.owner_id, ip.phone FROM import_owner_phones ip \
        JOIN import_owners io ON io.batch_id = ip.batch_id AND io.seq = ip.owner_seq \
        WHERE ip.batch_id = $1 ON CONFLICT DO NOTHING", &[id]).await?;
    missing(tx, "SELECT h.building || '-' || h.entrance || '-' || h.number AS what FROM import_owner_rooms h \
        WHERE h.batch_id = $2 AND NOT EXISTS (SELECT 1 FROM rooms r JOIN buildings b ON b.id = r.building_id \
        WHERE b.estate_id = $1 AND b.name = h.building AND r.entrance = h.entrance AND r.number = h.number)", "room", estate_id, id).await?;
    run(tx, "INSERT INTO room_owners (room_id, owner_id) SELECT r.id, io.owner_id FROM import_owner_rooms h \
        JOIN import_owners io ON io.batch_id = h.batch_id AND io.seq = h.owner_seq \
        JOIN buildings b ON b.estate_id = $1 AND b.name = h.building \
        JOIN rooms r ON r.building_id = b.id AND r.entrance = h.entrance AND r.number = h.number \
        WHERE h.batch_id = $2 ON CONFLICT DO NOTHING", &both).await?;
    missing(
        tx,
        "SELECT h.code AS what FROM import_owner_spaces h WHERE h.batch_id = $2 \
        AND NOT EXISTS (SELECT 1 FROM spaces s WHERE s.estate_id = $1 AND s.code = h.code)",
        "space",
        estate_id,
        id,
    )
    .await?;
    run(tx, "INSERT INTO space_owners (space_id, owner_id) SELECT s.id, io.owner_id FROM import_owner_spaces h \
        JOIN import_owners io ON io.batch_id = h.batch_id AND io.seq = h.owner_seq \
        JOIN spaces s ON s.estate_id = $1 AND s.code = h.code \
        WHERE h.batch_id = $2 ON CONFLICT DO NOTHING", &both).await?;
    Ok(())
}

/// Refuses the batch when `sql` finds a holding that is neither in the estate nor in the batch.
async fn missing(tx: &mut Tx, sql: &str, what: &str, estate_id: i64, id: i64) -> StoreResult<()> {
    let row = sqlx::query(&format!("{sql} LIMIT 1"))
        .bind(estate_id)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_err)?;
    match row {
        None => Ok(()),
        Some(r) => Err(StoreError::NotFound(format!(
            "{what} {} in this estate",
            col::<String>(&r, "what")?
        ))),
    }
}
