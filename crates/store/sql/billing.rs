//! Billing runs and reading bill lines.

use super::store::policy_from;
use super::{col, db_err, parse_date, write_tx, writer};
use crate::Db;
use doorstep_domain::{Area, BillTarget, Category, Fen, NewLine, ObjectKind, Period};
use doorstep_store::*;
use sqlx::{Pool, QueryBuilder};
use std::collections::HashMap;

pub(crate) async fn billing_inputs(
    pool: &Pool<Db>,
    estate_id: i64,
    period: Period,
) -> StoreResult<BillingInputs> {
    let items =
        sqlx::query("SELECT * FROM fee_items WHERE estate_id = $1 AND active = $2 ORDER BY id")
            .bind(estate_id)
            .bind(true)
            .fetch_all(pool)
            .await
            .map_err(db_err)?;
    let items = items
        .iter()
        .map(super::store::fee_item_from)
        .collect::<StoreResult<Vec<_>>>()?;
    let mut targets = Vec::new();
    for r in sqlx::query("SELECT id, area_centi FROM rooms WHERE estate_id = $1 ORDER BY id")
        .bind(estate_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
    {
        targets.push(BillTarget {
            kind: ObjectKind::Room,
            id: col(&r, "id")?,
            area: Some(Area::from_centi(col(&r, "area_centi")?)?),
            entered: None,
        });
    }
    // Parking is billed on spaces that someone owns or rents.
    for r in sqlx::query("SELECT s.id FROM spaces s WHERE s.estate_id = $1 AND EXISTS (SELECT 1 FROM space_owners so WHERE so.space_id = s.id) ORDER BY s.id")
        .bind(estate_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
    {
        targets.push(BillTarget { kind: ObjectKind::Space, id: col(&r, "id")?, area: None, entered: None });
    }
    let mut entered = HashMap::new();
    for r in sqlx::query("SELECT e.fee_item_id, e.room_id, e.amount_fen FROM entered_amounts e JOIN fee_items f ON f.id = e.fee_item_id WHERE f.estate_id = $1 AND e.period = $2")
        .bind(estate_id)
        .bind(period.to_string())
        .fetch_all(pool)
        .await
        .map_err(db_err)?
    {
        entered.insert((col(&r, "fee_item_id")?, col(&r, "room_id")?), Fen(col(&r, "amount_fen")?));
    }
    Ok(BillingInputs {
        items,
        targets,
        entered,
    })
}

/// Rows per INSERT statement (10 parameters each).
const CHUNK: usize = 1000;

pub(crate) async fn insert_bill_lines(
    pool: &Pool<Db>,
    estate_id: i64,
    lines: &[NewLine],
    now: i64,
) -> StoreResult<u64> {
    let mut tx = write_tx(pool).await?;
    // The billing entry comes first so that each new line can name it; lines
    // that already existed keep theirs. The postings are then written from
    // the lines that carry this entry's id: exactly the ones created.
    let entry = sqlx::query("INSERT INTO journal_entries (estate_id, kind, memo, created_at) VALUES ($1, 'billing', '', $2) RETURNING id")
        .bind(estate_id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    let entry_id: i64 = col(&entry, "id")?;
    let mut created = 0;
    for chunk in lines.chunks(CHUNK) {
        let mut qb: QueryBuilder<Db> = QueryBuilder::new(
            "INSERT INTO bill_lines (estate_id, object_kind, object_id, fee_item_id, period, unit_price_fen, quantity_centi, amount_fen, due_date, created_at, billing_entry_id) ",
        );
        qb.push_values(chunk, |mut b, l| {
            b.push_bind(estate_id)
                .push_bind(l.object_kind.code())
                .push_bind(l.object_id)
                .push_bind(l.fee_item_id)
                .push_bind(l.period.to_string())
                .push_bind(l.unit_price.0)
                .push_bind(l.quantity_centi)
                .push_bind(l.amount.0)
                .push_bind(l.due_date.to_string())
                .push_bind(now)
                .push_bind(entry_id);
        });
        // The unique key makes reruns and crash recovery create nothing twice.
        qb.push(" ON CONFLICT (object_kind, object_id, fee_item_id, period) DO NOTHING");
        created += qb
            .build()
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
    }
    if created == 0 {
        // Nothing new: no entry either (the journal never holds an empty one).
        tx.rollback().await.map_err(db_err)?;
        return Ok(0);
    }
    // Dr each new line's receivable; Cr each fee item's revenue (or, for
    // collected-on-behalf items, its payable). Account codes as
    // `doorstep_domain::ledger::Account::code` writes them.
    sqlx::query("INSERT INTO journal_postings (entry_id, account, debit_fen, credit_fen) \
                 SELECT $1, 'receivable:' || object_kind || ':' || object_id || ':' || fee_item_id, amount_fen, 0 \
                 FROM bill_lines WHERE billing_entry_id = $1 AND amount_fen > 0 ORDER BY id")
        .bind(entry_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    sqlx::query("INSERT INTO journal_postings (entry_id, account, debit_fen, credit_fen) \
                 SELECT $1, CASE WHEN f.category = 'on_behalf' THEN 'on_behalf:' ELSE 'revenue:' END || f.id, 0, CAST(SUM(l.amount_fen) AS BIGINT) \
                 FROM bill_lines l JOIN fee_items f ON f.id = l.fee_item_id WHERE l.billing_entry_id = $1 \
                 GROUP BY f.id, f.category HAVING SUM(l.amount_fen) > 0 ORDER BY f.id")
        .bind(entry_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(created)
}

pub(crate) async fn record_billing_run(pool: &Pool<Db>, run: &BillingRunRecord) -> StoreResult<()> {
    sqlx::query("INSERT INTO billing_runs (estate_id, period, created, existing, started_at, finished_at, user_id) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(run.estate_id)
        .bind(run.period.to_string())
        .bind(i64::try_from(run.created).unwrap_or(i64::MAX))
        .bind(i64::try_from(run.existing).unwrap_or(i64::MAX))
        .bind(run.started_at)
        .bind(run.finished_at)
        .bind(run.user_id)
        .execute(&writer(pool))
        .await
        .map_err(db_err)?;
    Ok(())
}

const LINE_SELECT: &str = "SELECT l.*, f.name AS item_name, f.category, f.lf_enabled, f.lf_grace_days, f.lf_rate_ppm, f.lf_cap_kind, f.lf_cap_fen, \
    b.name AS b_name, r.entrance AS r_entrance, r.number AS r_number, s.code AS s_code, s.level AS s_level, \
    u1.display_name AS late_by_name, u2.display_name AS line_by_name \
    FROM bill_lines l JOIN fee_items f ON f.id = l.fee_item_id \
    LEFT JOIN rooms r ON l.object_kind = 'room' AND r.id = l.object_id \
    LEFT JOIN buildings b ON b.id = r.building_id \
    LEFT JOIN spaces s ON l.object_kind = 'space' AND s.id = l.object_id \
    LEFT JOIN users u1 ON u1.id = l.late_waived_by \
    LEFT JOIN users u2 ON u2.id = l.line_waived_by ";

/// [`LINE_SELECT`] for what a payment needs: amounts, dates, late-fee
/// rules and waivers, without the object's label or the waivers' names
/// (no joins beyond the fee item: each is an index lookup, or a hash of a
/// whole table when the planner thinks that table small, for every line).
const LINE_AMOUNTS_SELECT: &str = "SELECT l.*, f.name AS item_name, f.category, f.lf_enabled, f.lf_grace_days, f.lf_rate_ppm, f.lf_cap_kind, f.lf_cap_fen, \
    CAST(NULL AS TEXT) AS b_name, CAST(NULL AS TEXT) AS r_entrance, CAST(NULL AS TEXT) AS r_number, CAST(NULL AS TEXT) AS s_code, CAST(NULL AS TEXT) AS s_level, \
    CAST(NULL AS TEXT) AS late_by_name, CAST(NULL AS TEXT) AS line_by_name \
    FROM bill_lines l JOIN fee_items f ON f.id = l.fee_item_id ";

pub(crate) fn push_ids(qb: &mut QueryBuilder<Db>, ids: &[i64]) {
    let mut sep = qb.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
}

/// Reads lines matching `q`; with `lock`, the rows are locked for update
/// (PostgreSQL; SQLite's write transaction already excludes other writers).
pub(crate) async fn fetch_lines(
    conn: &mut <Db as sqlx::Database>::Connection,
    q: &LineQuery,
    lock: bool,
) -> StoreResult<Vec<BillLine>> {
    fetch_lines_with(conn, q, lock, !lock).await
}

/// [`fetch_lines`], with the owners' names and phones, the objects' labels
/// and the waivers' names only if `names` (without, amounts).
pub(crate) async fn fetch_lines_with(
    conn: &mut <Db as sqlx::Database>::Connection,
    q: &LineQuery,
    lock: bool,
    names: bool,
) -> StoreResult<Vec<BillLine>> {
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(if names {
        LINE_SELECT
    } else {
        LINE_AMOUNTS_SELECT
    });
    // Lines of named objects or ids are found through the (object, item,
    // period) key or the primary key; adding the estate to the WHERE clause
    // lets SQLite's planner (without statistics) pick the estate index and
    // scan the whole estate instead, so the estate is checked on the rows.
    let by_key = !q.objects.is_empty() || !q.line_ids.is_empty();
    if by_key {
        qb.push("WHERE 1 = 1");
    } else {
        qb.push("WHERE l.estate_id = ").push_bind(q.estate_id);
    }
    if q.open_only {
        qb.push(" AND l.status IN ('unpaid', 'partly_paid')");
    }
    if let Some(p) = q.period {
        qb.push(" AND l.period = ").push_bind(p.to_string());
    }
    if !q.line_ids.is_empty() {
        qb.push(" AND l.id IN (");
        push_ids(&mut qb, &q.line_ids);
        qb.push(")");
    }
    if !q.objects.is_empty() {
        let rooms: Vec<i64> = q
            .objects
            .iter()
            .filter(|o| o.0 == ObjectKind::Room)
            .map(|o| o.1)
            .collect();
        let spaces: Vec<i64> = q
            .objects
            .iter()
            .filter(|o| o.0 == ObjectKind::Space)
            .map(|o| o.1)
            .collect();
        qb.push(" AND ((l.object_kind = 'room' AND l.object_id IN (");
        push_ids(&mut qb, if rooms.is_empty() { &[-1] } else { &rooms });
        qb.push(")) OR (l.object_kind = 'space' AND l.object_id IN (");
        push_ids(&mut qb, if spaces.is_empty() { &[-1] } else { &spaces });
        qb.push(")))");
    }
    qb.push(" ORDER BY l.due_date, l.period, l.id");
    if lock {
        qb.push(crate::FOR_UPDATE);
    }
    let mut rows = qb.build().fetch_all(&mut *conn).await.map_err(db_err)?;
    if by_key {
        let mut kept = Vec::with_capacity(rows.len());
        for r in rows {
            if col::<i64>(&r, "estate_id")? == q.estate_id {
                kept.push(r);
            }
        }
        rows = kept;
    }
    let mut objects: Vec<(String, i64)> = rows
        .iter()
        .map(|r| {
            Ok((
                col::<String>(r, "object_kind")?,
                col::<i64>(r, "object_id")?,
            ))
        })
        .collect::<StoreResult<_>>()?;
    objects.sort();
    objects.dedup();
    // A payment (the locking read) needs amounts, not names.
    let (names, phones) = if names {
        owners_of(conn, q.estate_id, &objects).await?
    } else {
        Default::default()
    };
    rows.iter()
        .map(|row| line_from(row, &names, &phones))
        .collect()
}

type OwnerMap = HashMap<(String, i64), Vec<String>>;

/// Few objects are looked up by id; more than this loads the whole estate's owners.
const OWNER_LOOKUP_LIMIT: usize = 200;

/// Owner names and phones per (object kind, object id) for `objects` of an estate.
async fn owners_of(
    conn: &mut <Db as sqlx::Database>::Connection,
    estate_id: i64,
    objects: &[(String, i64)],
) -> StoreResult<(OwnerMap, OwnerMap)> {
    if objects.is_empty() {
        return Ok(Default::default());
    }
    let few = objects.len() <= OWNER_LOOKUP_LIMIT;
    let ids_of = |kind: &str| -> Vec<i64> {
        let v: Vec<i64> = objects
            .iter()
            .filter(|o| o.0 == kind)
            .map(|o| o.1)
            .collect();
        if v.is_empty() { vec![-1] } else { v }
    };
    let mut qb: QueryBuilder<Db> = QueryBuilder::new(
        "SELECT 'room' AS kind, x.room_id AS oid, o.id AS owner_id, o.name FROM room_owners x \
         JOIN owners o ON o.id = x.owner_id WHERE o.estate_id = ",
    );
    qb.push_bind(estate_id);
    if few {
        qb.push(" AND x.room_id IN (");
        push_ids(&mut qb, &ids_of("room"));
        qb.push(")");
    }
    qb.push(
        " UNION ALL SELECT 'space' AS kind, x.space_id AS oid, o.id AS owner_id, o.name FROM space_owners x \
         JOIN owners o ON o.id = x.owner_id WHERE o.estate_id = ",
    );
    qb.push_bind(estate_id);
    if few {
        qb.push(" AND x.space_id IN (");
        push_ids(&mut qb, &ids_of("space"));
        qb.push(")");
    }
    qb.push(" ORDER BY owner_id");
    let rows = qb.build().fetch_all(&mut *conn).await.map_err(db_err)?;
    let mut owner_ids: Vec<i64> = rows
        .iter()
        .map(|r| col(r, "owner_id"))
        .collect::<StoreResult<_>>()?;
    owner_ids.sort_unstable();
    owner_ids.dedup();
    let mut pq: QueryBuilder<Db> = QueryBuilder::new(
        "SELECT p.owner_id, p.phone FROM owner_phones p JOIN owners o ON o.id = p.owner_id WHERE o.estate_id = ",
    );
    pq.push_bind(estate_id);
    if owner_ids.len() <= OWNER_LOOKUP_LIMIT {
        pq.push(" AND p.owner_id IN (");
        push_ids(
            &mut pq,
            if owner_ids.is_empty() {
                &[-1]
            } else {
                &owner_ids
            },
        );
        pq.push(")");
    }
    pq.push(" ORDER BY p.owner_id, p.phone");
    let mut phone_of: HashMap<i64, Vec<String>> = HashMap::new();
    for r in pq.build().fetch_all(&mut *conn).await.map_err(db_err)? {
        phone_of
            .entry(col(&r, "owner_id")?)
            .or_default()
            .push(col(&r, "phone")?);
    }
    let mut names: OwnerMap = HashMap::new();
    let mut phones: OwnerMap = HashMap::new();
    for r in &rows {
        let key = (col::<String>(r, "kind")?, col::<i64>(r, "oid")?);
        let owner: i64 = col(r, "owner_id")?;
        names.entry(key.clone()).or_default().push(col(r, "name")?);
        phones
            .entry(key)
            .or_default()
            .extend(phone_of.get(&owner).cloned().unwrap_or_default());
    }
    Ok((names, phones))
}

fn waiver(
    row: &<Db as sqlx::Database>::Row,
    prefix: &str,
    by: &str,
) -> StoreResult<Option<Waiver>> {
    let reason: Option<String> = col(row, &format!("{prefix}_waived_reason"))?;
    Ok(match reason {
        Some(reason) => Some(Waiver {
            reason,
            by: col::<Option<String>>(row, by)?.unwrap_or_default(),
            at: col::<Option<i64>>(row, &format!("{prefix}_waived_at"))?.unwrap_or(0),
        }),
        None => None,
    })
}

fn line_from(
    row: &<Db as sqlx::Database>::Row,
    names: &OwnerMap,
    phones: &OwnerMap,
) -> StoreResult<BillLine> {
    let kind_code: String = col(row, "object_kind")?;
    let object_kind = ObjectKind::from_code(&kind_code)?;
    let object_id: i64 = col(row, "object_id")?;
    let object_label = match object_kind {
        ObjectKind::Room => doorstep_domain::estate::room_label(
            &col::<Option<String>>(row, "b_name")?.unwrap_or_default(),
            &col::<Option<String>>(row, "r_entrance")?.unwrap_or_default(),
            &col::<Option<String>>(row, "r_number")?.unwrap_or_default(),
        ),
        ObjectKind::Space => space_label(
            &col::<Option<String>>(row, "s_level")?.unwrap_or_default(),
            &col::<Option<String>>(row, "s_code")?.unwrap_or_default(),
        ),
    };
    let checkpoint = match col::<Option<String>>(row, "checkpoint_date")? {
        Some(d) => Some((parse_date(&d)?, Fen(col(row, "checkpoint_fen")?))),
        None => None,
    };
    let key = (kind_code, object_id);
    let status: String = col(row, "status")?;
    Ok(BillLine {
        id: col(row, "id")?,
        estate_id: col(row, "estate_id")?,
        object_kind,
        object_id,
        object_label,
        fee_item_id: col(row, "fee_item_id")?,
        fee_item_name: col(row, "item_name")?,
        category: Category::from_code(&col::<String>(row, "category")?)?,
        policy: policy_from(row, &col::<String>(row, "lf_cap_kind")?)?,
        period: Period::parse(&col::<String>(row, "period")?)?,
        unit_price: Fen(col(row, "unit_price_fen")?),
        quantity_centi: col(row, "quantity_centi")?,
        amount: Fen(col(row, "amount_fen")?),
        due_date: parse_date(&col::<String>(row, "due_date")?)?,
        paid_principal: Fen(col(row, "paid_principal_fen")?),
        late_fee_paid: Fen(col(row, "late_fee_paid_fen")?),
        checkpoint,
        late_fee_waiver: waiver(row, "late", "late_by_name")?,
        line_waiver: waiver(row, "line", "line_by_name")?,
        disputed_since: col::<Option<String>>(row, "disputed_since")?
            .map(|d| parse_date(&d))
            .transpose()?,
        status: LineStatus::from_code(&status)
            .ok_or_else(|| StoreError::Database(format!("bad stored status {status:?}")))?,
        owners: names.get(&key).cloned().unwrap_or_default(),
        phones: phones.get(&key).cloned().unwrap_or_default(),
    })
}

/// A line of the estate (`fetch_lines` checks the estate on the row).
pub(crate) async fn line_by_id(pool: &Pool<Db>, estate_id: i64, id: i64) -> StoreResult<BillLine> {
    let q = LineQuery {
        estate_id,
        line_ids: vec![id],
        ..Default::default()
    };
    let mut conn = pool.acquire().await.map_err(db_err)?;
    fetch_lines(&mut conn, &q, false)
        .await?
        .pop()
        .ok_or_else(|| StoreError::NotFound(format!("bill line {id}")))
}
