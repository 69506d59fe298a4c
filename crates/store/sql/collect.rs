//! Collecting at the door: settings, merchants, geofences, check-ins,
//! provider orders (collections) and signatures.

use super::billing::fetch_lines;
use super::payments::{PaymentInsert, apply_payment, payment_record, refuse_held};
use super::{col, db_err, write_tx, writer};
use crate::{Db, ROW_LOCK};
use doorstep_domain::ledger::Account;
use doorstep_domain::{DomainError, Fen};
use doorstep_store::*;
use sha2::{Digest, Sha256};
use sqlx::Pool;

type Conn = <Db as sqlx::Database>::Connection;
type Row = <Db as sqlx::Database>::Row;

pub(crate) async fn settings_in(conn: &mut Conn, estate_id: i64) -> StoreResult<CollectSettings> {
    let row = sqlx::query("SELECT allow_prepay, qr_expiry_seconds, cash_limit_fen, cash_limit_hours FROM collect_settings WHERE estate_id = $1")
        .bind(estate_id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(match row {
        None => CollectSettings::default(),
        Some(r) => CollectSettings {
            allow_prepay: col(&r, "allow_prepay")?,
            qr_expiry_seconds: col(&r, "qr_expiry_seconds")?,
            cash_limit: Fen(col(&r, "cash_limit_fen")?),
            cash_limit_hours: col(&r, "cash_limit_hours")?,
        },
    })
}

pub(crate) async fn collect_settings(
    pool: &Pool<Db>,
    estate_id: i64,
) -> StoreResult<CollectSettings> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    settings_in(&mut conn, estate_id).await
}

pub(crate) async fn set_collect_settings(
    pool: &Pool<Db>,
    estate_id: i64,
    s: &CollectSettings,
) -> StoreResult<()> {
    if !(60..=7200).contains(&s.qr_expiry_seconds) {
        return Err(DomainError::invalid(
            "qr_expiry_seconds",
            format!("must be 60–7200 seconds, got {}", s.qr_expiry_seconds),
        )
        .into());
    }
    if s.cash_limit.0 <= 0 || s.cash_limit_hours <= 0 {
        return Err(DomainError::invalid("cash_limit", "limits must be greater than 0").into());
    }
    sqlx::query("INSERT INTO collect_settings (estate_id, allow_prepay, qr_expiry_seconds, cash_limit_fen, cash_limit_hours) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (estate_id) DO UPDATE SET allow_prepay = excluded.allow_prepay, qr_expiry_seconds = excluded.qr_expiry_seconds, cash_limit_fen = excluded.cash_limit_fen, cash_limit_hours = excluded.cash_limit_hours")
        .bind(estate_id)
        .bind(s.allow_prepay)
        .bind(s.qr_expiry_seconds)
        .bind(s.cash_limit.0)
        .bind(s.cash_limit_hours)
        .execute(&writer(pool))
        .await
        .map_err(db_err)?;
    Ok(())
}

fn merchant_row(r: &Row) -> StoreResult<Merchant> {
    Ok(Merchant {
        id: col(r, "id")?,
        company_id: col(r, "company_id")?,
        estate_scope: col(r, "estate_scope")?,
        provider: col(r, "provider")?,
        merchant_id: col(r, "merchant_id")?,
        app_id: col(r, "app_id")?,
        settings: col(r, "settings")?,
        updated_at: col(r, "updated_at")?,
    })
}

pub(crate) async fn set_merchant(pool: &Pool<Db>, m: &NewMerchant) -> StoreResult<Merchant> {
    if m.provider != "wechat" && m.provider != "alipay" {
        return Err(DomainError::invalid(
            "provider",
            format!("must be wechat or alipay, got {:?}", m.provider),
        )
        .into());
    }
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if !ok(&m.merchant_id) {
        return Err(DomainError::invalid("merchant_id", "1–64 letters, digits, _ or -").into());
    }
    if !ok(&m.app_id) {
        return Err(DomainError::invalid("app_id", "1–64 letters, digits, _ or -").into());
    }
    let row = sqlx::query("INSERT INTO merchants (company_id, estate_scope, provider, merchant_id, app_id, settings, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (company_id, estate_scope, provider) DO UPDATE SET merchant_id = excluded.merchant_id, app_id = excluded.app_id, settings = excluded.settings, updated_at = excluded.updated_at RETURNING *")
        .bind(m.company_id)
        .bind(m.estate_scope)
        .bind(&m.provider)
        .bind(&m.merchant_id)
        .bind(&m.app_id)
        .bind(&m.settings)
        .bind(m.at)
        .fetch_one(&writer(pool))
        .await
        .map_err(db_err)?;
    merchant_row(&row)
}

pub(crate) async fn merchants(pool: &Pool<Db>, company_id: i64) -> StoreResult<Vec<Merchant>> {
    sqlx::query("SELECT * FROM merchants WHERE company_id = $1 ORDER BY estate_scope, provider")
        .bind(company_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(merchant_row)
        .collect()
}

pub(crate) async fn merchant(pool: &Pool<Db>, id: i64) -> StoreResult<Merchant> {
    let row = sqlx::query("SELECT * FROM merchants WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound(format!("merchant account {id}")))?;
    merchant_row(&row)
}

pub(crate) async fn merchant_for(
    pool: &Pool<Db>,
    company_id: i64,
    estate_id: i64,
    provider: &str,
) -> StoreResult<Option<Merchant>> {
    let row = sqlx::query("SELECT * FROM merchants WHERE company_id = $1 AND provider = $3 AND estate_scope IN (0, $2) ORDER BY estate_scope DESC LIMIT 1")
        .bind(company_id)
        .bind(estate_id)
        .bind(provider)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    row.as_ref().map(merchant_row).transpose()
}

pub(crate) async fn set_geofence(pool: &Pool<Db>, estate_id: i64, g: &Geofence) -> StoreResult<()> {
    if g.area_kind != "building" && g.area_kind != "parking" {
        return Err(DomainError::invalid("area_kind", "must be building or parking").into());
    }
    if !(-90_000_000..=90_000_000).contains(&g.lat_e6)
        || !(-180_000_000..=180_000_000).contains(&g.lng_e6)
    {
        return Err(DomainError::invalid("lat/lng", "outside the globe").into());
    }
    if !(1..=5000).contains(&g.radius_m) {
        return Err(DomainError::invalid("radius_m", "must be 1–5000 metres").into());
    }
    sqlx::query("INSERT INTO geofences (estate_id, area_kind, area, lat_e6, lng_e6, radius_m) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (estate_id, area_kind, area) DO UPDATE SET lat_e6 = excluded.lat_e6, lng_e6 = excluded.lng_e6, radius_m = excluded.radius_m")
        .bind(estate_id)
        .bind(&g.area_kind)
        .bind(&g.area)
        .bind(g.lat_e6)
        .bind(g.lng_e6)
        .bind(g.radius_m)
        .execute(&writer(pool))
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn geofences(pool: &Pool<Db>, estate_id: i64) -> StoreResult<Vec<Geofence>> {
    sqlx::query("SELECT * FROM geofences WHERE estate_id = $1 ORDER BY area_kind, area")
        .bind(estate_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| {
            Ok(Geofence {
                area_kind: col(r, "area_kind")?,
                area: col(r, "area")?,
                lat_e6: col(r, "lat_e6")?,
                lng_e6: col(r, "lng_e6")?,
                radius_m: col(r, "radius_m")?,
            })
        })
        .collect()
}

fn checkin_row(r: &Row, replayed: bool) -> StoreResult<Checkin> {
    Ok(Checkin {
        id: col(r, "id")?,
        booking_id: col(r, "booking_id")?,
        collector_id: col(r, "collector_id")?,
        lat_e6: col(r, "lat_e6")?,
        lng_e6: col(r, "lng_e6")?,
        accuracy_m: col(r, "accuracy_m")?,
        fix_at: col(r, "fix_at")?,
        verdict: col(r, "verdict")?,
        distance_m: col(r, "distance_m")?,
        offline: col(r, "offline")?,
        recorded_at: col(r, "recorded_at")?,
        replayed,
    })
}

pub(crate) async fn record_checkin(pool: &Pool<Db>, c: &NewCheckin) -> StoreResult<Checkin> {
    if let Some(key) = &c.client_key
        && let Some(r) = sqlx::query("SELECT * FROM checkins WHERE client_key = $1")
            .bind(key)
            .fetch_optional(pool)
            .await
            .map_err(db_err)?
    {
        return checkin_row(&r, true);
    }
    let (lat, lng, acc, at) = match c.fix {
        Some((a, b, c, d)) => (Some(a), Some(b), Some(c), Some(d)),
        None => (None, None, None, None),
    };
    let mut tx = write_tx(pool).await?;
    let r = sqlx::query("INSERT INTO checkins (estate_id, booking_id, collector_id, lat_e6, lng_e6, accuracy_m, fix_at, verdict, distance_m, device, offline, client_key, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (client_key) DO NOTHING RETURNING *")
        .bind(c.estate_id)
        .bind(c.booking_id)
        .bind(c.collector_id)
        .bind(lat)
        .bind(lng)
        .bind(acc)
        .bind(at)
        .bind(&c.verdict)
        .bind(c.distance_m)
        .bind(&c.device)
        .bind(c.offline)
        .bind(c.client_key.as_deref())
        .bind(c.at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
    if let Some(r) = &r {
        let company = super::evidence::company_of_estate(&mut tx, c.estate_id).await?;
        let objects = super::evidence::booking_objects(&mut tx, c.booking_id).await?;
        let fix = c.fix.map(|(lat, lng, acc, at)| {
            serde_json::json!({
                "lat": lat as f64 / 1e6,
                "lng": lng as f64 / 1e6,
                "accuracy_m": acc,
                "fix_at": super::evidence::utc(at),
            })
        });
        let data = super::evidence::record(
            "checkin",
            serde_json::json!({
                "checkin": col::<i64>(r, "id")?,
                "estate": c.estate_id,
                "booking": c.booking_id,
                "collector": c.collector_id,
                "device": c.device,
                "fix": fix,
                "geofence": c.verdict,
                "distance_m": c.distance_m,
                "offline": c.offline,
                "at": super::evidence::utc(c.at),
            }),
        );
        super::evidence::append_in(
            &mut tx,
            company,
            &[NewEvidence {
                kind: "checkin".into(),
                estate_id: Some(c.estate_id),
                booking_id: Some(c.booking_id),
                payment_id: None,
                objects,
                data,
                at: c.at,
            }],
        )
        .await?;
    }
    tx.commit().await.map_err(db_err)?;
    match r {
        Some(r) => checkin_row(&r, false),
        // A concurrent sync of the same key won.
        None => {
            let r = sqlx::query("SELECT * FROM checkins WHERE client_key = $1")
                .bind(c.client_key.as_deref())
                .fetch_one(pool)
                .await
                .map_err(db_err)?;
            checkin_row(&r, true)
        }
    }
}

pub(crate) async fn checkins(pool: &Pool<Db>, booking_id: i64) -> StoreResult<Vec<Checkin>> {
    sqlx::query("SELECT * FROM checkins WHERE booking_id = $1 ORDER BY id")
        .bind(booking_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| checkin_row(r, false))
        .collect()
}

fn ids_text(ids: &[i64]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn collection_row(r: &Row) -> StoreResult<Collection> {
    let ids: String = col(r, "line_ids")?;
    Ok(Collection {
        id: col(r, "id")?,
        estate_id: col(r, "estate_id")?,
        booking_id: col(r, "booking_id")?,
        collector_id: col(r, "collector_id")?,
        method: col(r, "method")?,
        merchant_ref: col(r, "merchant_ref")?,
        out_trade_no: col(r, "out_trade_no")?,
        amount: Fen(col(r, "amount_fen")?),
        line_ids: ids
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .map_err(|_| StoreError::Database(format!("bad line ids {ids:?}")))
            })
            .collect::<StoreResult<_>>()?,
        status: col(r, "status")?,
        code: col(r, "code")?,
        expires_at: col(r, "expires_at")?,
        transaction_id: col(r, "transaction_id")?,
        payment_id: col(r, "payment_id")?,
        close_reason: col(r, "close_reason")?,
        created_at: col(r, "created_at")?,
        updated_at: col(r, "updated_at")?,
    })
}

async fn collection_by_key(pool: &Pool<Db>, key: &str) -> StoreResult<Option<Collection>> {
    sqlx::query("SELECT * FROM collections WHERE client_key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(collection_row)
        .transpose()
}

pub(crate) async fn open_collection(pool: &Pool<Db>, c: &NewCollection) -> StoreResult<Collection> {
    if c.amount.0 <= 0 {
        return Err(DomainError::invalid(
            "amount",
            format!("must be greater than 0, got {}", c.amount),
        )
        .into());
    }
    if c.line_ids.is_empty() {
        return Err(DomainError::invalid("lines", "name the bill lines being paid").into());
    }
    if !["wechat_qr", "alipay_qr", "wechat_code", "alipay_code"].contains(&c.method.as_str()) {
        return Err(
            DomainError::invalid("method", format!("unknown method {:?}", c.method)).into(),
        );
    }
    if let Some(key) = &c.client_key
        && let Some(found) = collection_by_key(pool, key).await?
    {
        return Ok(found);
    }
    let mut tx = write_tx(pool).await?;
    let q = LineQuery {
        estate_id: c.estate_id,
        open_only: true,
        objects: Vec::new(),
        line_ids: c.line_ids.clone(),
        period: None,
    };
    let lines = fetch_lines(&mut tx, &q, true).await?;
    for id in &c.line_ids {
        if !lines
            .iter()
            .any(|l| l.id == *id && l.estate_id == c.estate_id)
        {
            return Err(StoreError::Conflict(format!(
                "bill line {id} is not open in this estate"
            )));
        }
    }
    refuse_held(&mut tx, &lines).await?;
    let owed: Fen = lines
        .iter()
        .map(|l| {
            l.late_fee(c.on).map(|f| f.outstanding).unwrap_or(Fen::ZERO) + l.principal_outstanding()
        })
        .sum();
    let prepay = settings_in(&mut tx, c.estate_id).await?.allow_prepay;
    if c.amount > owed && !prepay {
        return Err(StoreError::Conflict(format!(
            "the amount {} is more than what is owed ({owed})",
            c.amount
        )));
    }
    let row = sqlx::query("INSERT INTO collections (estate_id, booking_id, collector_id, method, merchant_ref, out_trade_no, amount_fen, line_ids, status, expires_at, client_key, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $11, $11) RETURNING *")
        .bind(c.estate_id)
        .bind(c.booking_id)
        .bind(c.collector_id)
        .bind(&c.method)
        .bind(c.merchant_ref)
        .bind(&c.out_trade_no)
        .bind(c.amount.0)
        .bind(ids_text(&c.line_ids))
        .bind(c.expires_at)
        .bind(c.client_key.as_deref())
        .bind(c.at)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    let collection = collection_row(&row)?;
    for id in &c.line_ids {
        sqlx::query("INSERT INTO line_holds (line_id, collection_id) VALUES ($1, $2)")
            .bind(id)
            .bind(collection.id)
            .execute(&mut *tx)
            .await
            .map_err(|e| match db_err(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("bill line {id} {HELD_BY_OPEN_ORDER}"))
                }
                other => other,
            })?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(collection)
}

pub(crate) async fn set_collection_code(
    pool: &Pool<Db>,
    id: i64,
    code: &str,
    now: i64,
) -> StoreResult<()> {
    sqlx::query("UPDATE collections SET code = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(code)
        .bind(now)
        .execute(&writer(pool))
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn collection(pool: &Pool<Db>, id: i64) -> StoreResult<Collection> {
    let row = sqlx::query("SELECT * FROM collections WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .ok_or_else(|| StoreError::NotFound(format!("collection {id}")))?;
    collection_row(&row)
}

pub(crate) async fn collection_by_trade_no(
    pool: &Pool<Db>,
    no: &str,
) -> StoreResult<Option<Collection>> {
    sqlx::query("SELECT * FROM collections WHERE out_trade_no = $1")
        .bind(no)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(collection_row)
        .transpose()
}

pub(crate) async fn open_collections(pool: &Pool<Db>, limit: i64) -> StoreResult<Vec<Collection>> {
    sqlx::query("SELECT * FROM collections WHERE status = 'open' ORDER BY created_at, id LIMIT $1")
        .bind(limit)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(collection_row)
        .collect()
}

pub(crate) async fn open_collections_of_booking(
    pool: &Pool<Db>,
    estate_id: i64,
    booking_id: i64,
) -> StoreResult<Vec<Collection>> {
    sqlx::query("SELECT * FROM collections WHERE booking_id = $1 AND estate_id = $2 AND status = 'open' ORDER BY created_at, id")
        .bind(booking_id)
        .bind(estate_id)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(collection_row)
        .collect()
}

pub(crate) async fn complete_collection(
    pool: &Pool<Db>,
    c: &CompleteCollection,
) -> StoreResult<CompletedCollection> {
    let mut tx = write_tx(pool).await?;
    // The merchant's id comes along (the clearing account names it).
    let row = sqlx::query(&format!(
        "SELECT collections.*, (SELECT merchant_id FROM merchants WHERE id = collections.merchant_ref) AS m_merchant_id \
         FROM collections WHERE out_trade_no = $1{ROW_LOCK}"
    ))
    .bind(&c.out_trade_no)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?
    .ok_or_else(|| StoreError::NotFound(format!("order {}", c.out_trade_no)))?;
    let collection = collection_row(&row)?;
    if let Some(pid) = collection.payment_id {
        drop(tx);
        if collection.transaction_id.as_deref() != Some(c.transaction_id.as_str()) {
            return Err(StoreError::Conflict(format!(
                "order {} was paid by another transaction",
                c.out_trade_no
            )));
        }
        return Ok(CompletedCollection {
            collection,
            payment: payment_record(pool, pid).await?,
        });
    }
    if c.amount != collection.amount {
        return Err(StoreError::Conflict(format!(
            "order {} is for {}, the provider reports {}",
            c.out_trade_no, collection.amount, c.amount
        )));
    }
    let merchant_id: String = col::<Option<String>>(&row, "m_merchant_id")?
        .ok_or_else(|| StoreError::NotFound(format!("merchant {}", collection.merchant_ref)))?;
    sqlx::query("DELETE FROM line_holds WHERE collection_id = $1")
        .bind(collection.id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    let q = LineQuery {
        estate_id: collection.estate_id,
        open_only: true,
        objects: Vec::new(),
        line_ids: collection.line_ids.clone(),
        period: None,
    };
    let lines = fetch_lines(&mut tx, &q, true).await?;
    // Money received is always recorded: what the lines no longer owe (they
    // were paid otherwise after the order was closed here) is kept as an
    // advance on the first line's room or space, for finance to apply or refund.
    let first = collection.line_ids.first().copied().unwrap_or(0);
    let advance_to = match lines.iter().find(|l| l.id == first) {
        // Still open: read just now.
        Some(l) => Some((l.object_kind, l.object_id)),
        None => {
            let r = sqlx::query("SELECT object_kind, object_id FROM bill_lines WHERE id = $1")
                .bind(first)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
            match r {
                Some(r) => {
                    let k: String = col(&r, "object_kind")?;
                    let id: i64 = col(&r, "object_id")?;
                    Some((doorstep_domain::ObjectKind::from_code(&k)?, id))
                }
                None => None,
            }
        }
    };
    let provider = collection.provider().to_string();
    let payment = apply_payment(
        &mut tx,
        &PaymentInsert {
            estate_id: collection.estate_id,
            amount: c.amount,
            method: &provider,
            paid_on: c.paid_on,
            at: c.at,
            recorded_by: Some(collection.collector_id),
            idempotency_key: None,
            booking_id: collection.booking_id,
            provider: Some(&provider),
            transaction_id: Some(&c.transaction_id),
            collection_id: Some(collection.id),
            offline: false,
            source: Account::Clearing {
                provider: provider.clone(),
                merchant: merchant_id,
            },
            advance_to,
        },
        &lines,
    )
    .await?;
    let row = sqlx::query("UPDATE collections SET status = 'paid', transaction_id = $2, payment_id = $3, updated_at = $4 WHERE id = $1 RETURNING *")
        .bind(collection.id)
        .bind(&c.transaction_id)
        .bind(payment.id)
        .bind(c.at)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
    let collection = collection_row(&row)?;
    tx.commit().await.map_err(db_err)?;
    Ok(CompletedCollection {
        collection,
        payment,
    })
}

pub(crate) async fn close_collection(
    pool: &Pool<Db>,
    id: i64,
    status: &str,
    reason: &str,
    now: i64,
) -> StoreResult<bool> {
    if status != "closed" && status != "failed" {
        return Err(DomainError::invalid("status", "must be closed or failed").into());
    }
    let mut tx = write_tx(pool).await?;
    let n = sqlx::query("UPDATE collections SET status = $2, close_reason = $3, updated_at = $4 WHERE id = $1 AND status = 'open'")
        .bind(id)
        .bind(status)
        .bind(reason)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    if n == 1 {
        sqlx::query("DELETE FROM line_holds WHERE collection_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(n == 1)
}

fn sha256_hex(b: &[u8]) -> String {
    format!("{:x}", Sha256::digest(b))
}

fn signature_row(r: &Row, replayed: bool) -> StoreResult<Signature> {
    Ok(Signature {
        id: col(r, "id")?,
        booking_id: col(r, "booking_id")?,
        payment_id: col(r, "payment_id")?,
        payment_key: col(r, "payment_key")?,
        amount: col::<Option<i64>>(r, "shown_amount_fen")?.map(Fen),
        collector_id: col(r, "collector_id")?,
        shown_hash: col(r, "shown_hash")?,
        strokes_hash: col(r, "strokes_hash")?,
        png_hash: col(r, "png_hash")?,
        signed_at: col(r, "signed_at")?,
        offline: col(r, "offline")?,
        recorded_at: col(r, "recorded_at")?,
        replayed,
    })
}

const SIGNATURE_COLS: &str = "id, booking_id, payment_id, payment_key, shown_amount_fen, collector_id, shown_hash, strokes_hash, png_hash, signed_at, offline, recorded_at";

pub(crate) async fn record_signature(pool: &Pool<Db>, s: &NewSignature) -> StoreResult<Signature> {
    if s.png.len() < 8 || &s.png[..8] != b"\x89PNG\r\n\x1a\n" {
        return Err(DomainError::invalid("png", "the signature image must be a PNG").into());
    }
    if s.png.len() > 512 * 1024 {
        return Err(
            DomainError::invalid("png", "the signature image is larger than 512 KB").into(),
        );
    }
    if s.strokes.trim().is_empty() || s.strokes.len() > 512 * 1024 {
        return Err(
            DomainError::invalid("strokes", "strokes are required (at most 512 KB)").into(),
        );
    }
    let Some(booking_id) = s.booking_id else {
        return Err(DomainError::invalid("booking_id", "a signature belongs to a visit").into());
    };
    if s.payment_id.is_none() && s.payment_key.is_none() {
        return Err(DomainError::invalid(
            "payment_id",
            "name the payment this signature confirms (payment_id, or payment_key for cash taken offline)",
        )
        .into());
    }
    if s.amount.0 <= 0 {
        return Err(
            DomainError::invalid("shown", "the amount shown must be greater than 0").into(),
        );
    }
    if let Some(key) = &s.client_key
        && let Some(r) = sqlx::query(&format!(
            "SELECT {SIGNATURE_COLS} FROM signatures WHERE client_key = $1"
        ))
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
    {
        return signature_row(&r, true);
    }
    let mut tx = write_tx(pool).await?;
    // The visit's row lock: a cash payment recorded under `payment_key` at
    // the same moment takes it too, so one of the two sees the other and
    // the link is made (see `payments::link_signature`).
    let (open, changed_at) = super::payments::lock_visit(&mut tx, s.estate_id, booking_id).await?;
    // Signing is allowed until the visit is closed; a signature made on the
    // phone offline before the outcome was recorded still counts.
    let signed_before_close = s.offline && s.signed_at <= changed_at;
    if !(open || signed_before_close) {
        return Err(StoreError::Conflict(
            "the visit is closed: an owner signs before its outcome is recorded".into(),
        ));
    }
    // The payment confirmed: taken at this visit, in this estate, by this
    // collector. It may not exist yet (offline cash still in the queue).
    let found = match (s.payment_id, &s.payment_key) {
        (Some(id), _) => sqlx::query("SELECT id, amount_fen, idempotency_key, booking_id, estate_id, recorded_by FROM payments WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?,
        (None, Some(key)) => sqlx::query("SELECT id, amount_fen, idempotency_key, booking_id, estate_id, recorded_by FROM payments WHERE idempotency_key = $1")
            .bind(key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?,
        (None, None) => None,
    };
    let named = match (s.payment_id, &s.payment_key) {
        (Some(id), _) => format!("payment {id}"),
        (None, key) => format!("the payment with key {}", key.as_deref().unwrap_or("")),
    };
    let mut payment_id = None;
    let mut payment_key = s.payment_key.clone();
    match found {
        None if s.payment_id.is_some() => {
            return Err(StoreError::NotFound(format!("{named} at this visit")));
        }
        None => {}
        Some(r) => {
            let id: i64 = col(&r, "id")?;
            let ours = col::<Option<i64>>(&r, "booking_id")? == Some(booking_id)
                && col::<i64>(&r, "estate_id")? == s.estate_id
                && col::<Option<i64>>(&r, "recorded_by")? == Some(s.collector_id);
            if !ours {
                // Another visit's, collector's or estate's: not found here.
                return Err(StoreError::NotFound(format!("{named} at this visit")));
            }
            let key: Option<String> = col(&r, "idempotency_key")?;
            if let Some(k) = &s.payment_key
                && key.as_deref() != Some(k.as_str())
            {
                return Err(DomainError::invalid(
                    "payment_key",
                    format!("is not the key of payment {id}"),
                )
                .into());
            }
            let amount = Fen(col(&r, "amount_fen")?);
            if amount != s.amount {
                return Err(DomainError::invalid(
                    "shown",
                    format!(
                        "the amount shown ({}) is not the amount of payment {id} ({amount})",
                        s.amount
                    ),
                )
                .into());
            }
            payment_id = Some(id);
            payment_key = payment_key.or(key);
        }
    }
    // At most one signature per payment (the unique indexes hold it too).
    if let Some(r) =
        sqlx::query("SELECT id FROM signatures WHERE payment_id = $1 OR payment_key = $2")
            .bind(payment_id)
            .bind(payment_key.as_deref())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
    {
        return Err(StoreError::Conflict(format!(
            "{named} is already signed (signature {})",
            col::<i64>(&r, "id")?
        )));
    }
    let r = sqlx::query(&format!("INSERT INTO signatures (estate_id, booking_id, payment_id, payment_key, shown_amount_fen, collector_id, shown, shown_hash, strokes, strokes_hash, png, png_hash, signed_at, offline, client_key, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT (client_key) DO NOTHING RETURNING {SIGNATURE_COLS}"))
        .bind(s.estate_id)
        .bind(booking_id)
        .bind(payment_id)
        .bind(payment_key.as_deref())
        .bind(s.amount.0)
        .bind(s.collector_id)
        .bind(&s.shown)
        .bind(sha256_hex(s.shown.as_bytes()))
        .bind(&s.strokes)
        .bind(sha256_hex(s.strokes.as_bytes()))
        .bind(&s.png)
        .bind(sha256_hex(&s.png))
        .bind(s.signed_at)
        .bind(s.offline)
        .bind(s.client_key.as_deref())
        .bind(s.at)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| match db_err(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("{named} is already signed"))
            }
            other => other,
        })?;
    if let Some(r) = &r {
        let company = super::evidence::company_of_estate(&mut tx, s.estate_id).await?;
        let mut objects = super::evidence::booking_objects(&mut tx, booking_id).await?;
        if let Some(p) = payment_id {
            objects.extend(super::evidence::payment_objects(&mut tx, p).await?);
        }
        let data = super::evidence::record(
            "signature",
            serde_json::json!({
                "signature": col::<i64>(r, "id")?,
                "estate": s.estate_id,
                "booking": booking_id,
                "payment": payment_id,
                "payment_key": payment_key,
                "amount_fen": s.amount.0,
                "collector": s.collector_id,
                "shown_sha256": sha256_hex(s.shown.as_bytes()),
                "strokes_sha256": sha256_hex(s.strokes.as_bytes()),
                "image_sha256": sha256_hex(&s.png),
                "signed_at": super::evidence::utc(s.signed_at),
                "offline": s.offline,
                "at": super::evidence::utc(s.at),
            }),
        );
        super::evidence::append_in(
            &mut tx,
            company,
            &[NewEvidence {
                kind: "signature".into(),
                estate_id: Some(s.estate_id),
                booking_id: Some(booking_id),
                payment_id,
                objects,
                data,
                at: s.at,
            }],
        )
        .await?;
    }
    tx.commit().await.map_err(db_err)?;
    match r {
        Some(r) => signature_row(&r, false),
        None => {
            let r = sqlx::query(&format!(
                "SELECT {SIGNATURE_COLS} FROM signatures WHERE client_key = $1"
            ))
            .bind(s.client_key.as_deref())
            .fetch_one(pool)
            .await
            .map_err(db_err)?;
            signature_row(&r, true)
        }
    }
}

pub(crate) async fn signature(pool: &Pool<Db>, id: i64) -> StoreResult<(Signature, Vec<u8>)> {
    let r = sqlx::query(&format!(
        "SELECT {SIGNATURE_COLS}, png FROM signatures WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?
    .ok_or_else(|| StoreError::NotFound(format!("signature {id}")))?;
    Ok((signature_row(&r, false)?, col(&r, "png")?))
}

pub(crate) async fn signatures(pool: &Pool<Db>, booking_id: i64) -> StoreResult<Vec<Signature>> {
    sqlx::query(&format!(
        "SELECT {SIGNATURE_COLS} FROM signatures WHERE booking_id = $1 ORDER BY id"
    ))
    .bind(booking_id)
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(|r| signature_row(r, false))
    .collect()
}

pub(crate) async fn booking_payments(
    pool: &Pool<Db>,
    booking_id: i64,
) -> StoreResult<Vec<PaymentFact>> {
    sqlx::query(
        "SELECT id, estate_id, amount_fen, status, opening, method, paid_at FROM payments WHERE booking_id = $1 ORDER BY id",
    )
    .bind(booking_id)
    .fetch_all(pool)
    .await
    .map_err(db_err)?
    .iter()
    .map(super::ledger::payment_fact)
    .collect()
}

pub(crate) async fn record_provider_event(
    pool: &Pool<Db>,
    provider: &str,
    notify_id: &str,
    out_trade_no: Option<&str>,
    verdict: &str,
    detail: &str,
    now: i64,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO provider_events (provider, notify_id, out_trade_no, verdict, detail, received_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(provider)
        .bind(notify_id)
        .bind(out_trade_no)
        .bind(verdict)
        .bind(detail)
        .bind(now)
        .execute(&writer(pool))
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn provider_events(
    pool: &Pool<Db>,
    out_trade_no: Option<&str>,
    limit: i64,
) -> StoreResult<Vec<(String, String, Option<String>, String, String, i64)>> {
    sqlx::query("SELECT * FROM provider_events WHERE ($1 IS NULL OR out_trade_no = $1) ORDER BY id DESC LIMIT $2")
        .bind(out_trade_no)
        .bind(limit)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| {
            Ok((
                col(r, "provider")?,
                col(r, "notify_id")?,
                col(r, "out_trade_no")?,
                col(r, "verdict")?,
                col(r, "detail")?,
                col(r, "received_at")?,
            ))
        })
        .collect()
}

pub(crate) async fn paid_collections(
    pool: &Pool<Db>,
    merchant_ref: i64,
    from: i64,
    to: i64,
) -> StoreResult<Vec<Collection>> {
    sqlx::query("SELECT c.* FROM collections c JOIN payments p ON p.id = c.payment_id WHERE c.merchant_ref = $1 AND p.paid_at >= $2 AND p.paid_at < $3 ORDER BY c.id")
        .bind(merchant_ref)
        .bind(from)
        .bind(to)
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(collection_row)
        .collect()
}

pub(crate) async fn payment_collection(
    pool: &Pool<Db>,
    payment_id: i64,
) -> StoreResult<Option<Collection>> {
    sqlx::query("SELECT * FROM collections WHERE payment_id = $1")
        .bind(payment_id)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?
        .as_ref()
        .map(collection_row)
        .transpose()
}

pub(crate) async fn all_merchants(pool: &Pool<Db>) -> StoreResult<Vec<Merchant>> {
    sqlx::query("SELECT * FROM merchants ORDER BY id")
        .fetch_all(pool)
        .await
        .map_err(db_err)?
        .iter()
        .map(merchant_row)
        .collect()
}
