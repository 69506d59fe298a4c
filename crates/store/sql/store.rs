//! The store handle; companies, users, sessions, estates and fee items.

use super::{col, db_err, write_tx, writer};
use crate::Db;
use async_trait::async_trait;
use doorstep_domain::{
    Basis, BookingRules, BookingStatus, Category, Cycle, Date, DayRule, FeeItemSpec, Fen,
    LateFeeCap, LateFeePolicy, NewLine, Period, Role,
};
use doorstep_store::*;

/// A store over one sqlx connection pool.
#[derive(Clone)]
pub struct SqlStore {
    pub(crate) pool: sqlx::Pool<Db>,
}

impl SqlStore {
    /// Wraps a pool whose database has been migrated.
    pub fn from_pool(pool: sqlx::Pool<Db>) -> Self {
        SqlStore { pool }
    }

    /// The pool, for backend-specific maintenance.
    pub fn pool(&self) -> &sqlx::Pool<Db> {
        &self.pool
    }
}

type DbRow = <Db as sqlx::Database>::Row;

fn company_from(row: &DbRow) -> StoreResult<Company> {
    Ok(Company {
        id: col(row, "id")?,
        name: col(row, "name")?,
        credit_code: col(row, "credit_code")?,
    })
}

fn estate_from(row: &DbRow) -> StoreResult<Estate> {
    Ok(Estate {
        id: col(row, "id")?,
        company_id: col(row, "company_id")?,
        code: col(row, "code")?,
        name: col(row, "name")?,
        timezone: col(row, "timezone")?,
        office: col(row, "office")?,
    })
}

pub(crate) fn fee_item_from(row: &DbRow) -> StoreResult<FeeItem> {
    let due_day: i64 = col(row, "due_day")?;
    let cap_kind: String = col(row, "lf_cap_kind")?;
    Ok(FeeItem {
        id: col(row, "id")?,
        estate_id: col(row, "estate_id")?,
        active: col(row, "active")?,
        spec: FeeItemSpec {
            code: col(row, "code")?,
            name: col(row, "name")?,
            category: Category::from_code(&col::<String>(row, "category")?)?,
            basis: Basis::from_code(&col::<String>(row, "basis")?)?,
            cycle: Cycle::from_code(&col::<String>(row, "cycle")?)?,
            price: Fen(col(row, "price_fen")?),
            due_day: u8::try_from(due_day).unwrap_or(1),
            late_fee: policy_from(row, &cap_kind)?,
        },
    })
}

pub(crate) fn policy_from(row: &DbRow, cap_kind: &str) -> StoreResult<LateFeePolicy> {
    let grace: i64 = col(row, "lf_grace_days")?;
    let rate: i64 = col(row, "lf_rate_ppm")?;
    Ok(LateFeePolicy {
        enabled: col(row, "lf_enabled")?,
        grace_days: u32::try_from(grace).unwrap_or(0),
        daily_rate_ppm: u32::try_from(rate).unwrap_or(0),
        cap: LateFeeCap::from_parts(cap_kind, col(row, "lf_cap_fen")?)?,
    })
}

impl SqlStore {
    async fn user_row(&self, row: &DbRow) -> StoreResult<User> {
        let id: i64 = col(row, "id")?;
        let estates =
            sqlx::query("SELECT estate_id FROM user_estates WHERE user_id = $1 ORDER BY estate_id")
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(User {
            id,
            company_id: col(row, "company_id")?,
            username: col(row, "username")?,
            display_name: col(row, "display_name")?,
            role: Role::from_code(&col::<String>(row, "role")?)?,
            estate_ids: estates
                .iter()
                .map(|r| col(r, "estate_id"))
                .collect::<StoreResult<_>>()?,
        })
    }

    async fn estate(&self, id: i64) -> StoreResult<Estate> {
        let row = sqlx::query("SELECT * FROM estates WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| StoreError::NotFound(format!("estate {id}")))?;
        estate_from(&row)
    }
}

type Query<'q> = sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>;

/// Binds $2…$14 of the fee-item statements: the columns in table order, then `active`.
fn bind_fee_item<'q>(q: Query<'q>, spec: &'q FeeItemSpec, active: bool) -> Query<'q> {
    let lf = &spec.late_fee;
    let (cap_kind, cap_fen) = lf.cap.to_parts();
    q.bind(&spec.code)
        .bind(spec.name.trim())
        .bind(spec.category.code())
        .bind(spec.basis.code())
        .bind(spec.cycle.code())
        .bind(spec.price.0)
        .bind(i64::from(spec.due_day))
        .bind(lf.enabled)
        .bind(i64::from(lf.grace_days))
        .bind(i64::from(lf.daily_rate_ppm))
        .bind(cap_kind)
        .bind(cap_fen)
        .bind(active)
}

async fn count(pool: &sqlx::Pool<Db>, sql: &str, id: i64) -> StoreResult<i64> {
    let row = sqlx::query(sql)
        .bind(id)
        .fetch_one(pool)
        .await
        .map_err(db_err)?;
    col(&row, "n")
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        crate::BACKEND
    }

    async fn create_company(&self, name: &str, credit_code: &str) -> StoreResult<Company> {
        // Every way in (setup, the demo, tests) passes here, so no company
        // prints a receipt with a code the tax bureau would reject.
        let code = doorstep_domain::cn::CreditCode::parse(credit_code)?;
        let row = sqlx::query("INSERT INTO companies (name, credit_code) VALUES ($1, $2) RETURNING id, name, credit_code")
            .bind(name)
            .bind(code.as_str())
            .fetch_one(&writer(&self.pool))
            .await
            .map_err(db_err)?;
        company_from(&row)
    }

    async fn company_by_name(&self, name: &str) -> StoreResult<Option<Company>> {
        let row = sqlx::query("SELECT id, name, credit_code FROM companies WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(company_from).transpose()
    }

    async fn company(&self, id: i64) -> StoreResult<Company> {
        let row = sqlx::query("SELECT id, name, credit_code FROM companies WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| StoreError::NotFound(format!("company {id}")))?;
        company_from(&row)
    }

    async fn create_user(&self, u: &NewUser) -> StoreResult<User> {
        let mut tx = write_tx(&self.pool).await?;
        let row = sqlx::query("INSERT INTO users (company_id, username, display_name, password_hash, role) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(u.company_id)
            .bind(&u.username)
            .bind(&u.display_name)
            .bind(&u.password_hash)
            .bind(u.role.code())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let id: i64 = col(&row, "id")?;
        for e in &u.estate_ids {
            sqlx::query("INSERT INTO user_estates (user_id, estate_id) SELECT $1, id FROM estates WHERE id = $2 AND company_id = $3")
                .bind(id)
                .bind(e)
                .bind(u.company_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        let row = sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        self.user_row(&row).await
    }

    async fn user_credentials(&self, username: &str) -> StoreResult<Option<(User, String)>> {
        let Some(row) = sqlx::query("SELECT * FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        let hash: String = col(&row, "password_hash")?;
        Ok(Some((self.user_row(&row).await?, hash)))
    }

    async fn user(&self, id: i64) -> StoreResult<User> {
        let row = sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| StoreError::NotFound(format!("user {id}")))?;
        self.user_row(&row).await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user_id: i64,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(now)
            .bind(expires_at)
            .execute(&writer(&self.pool))
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now: i64) -> StoreResult<Option<User>> {
        // The user and their estates in one round trip (every signed-in
        // request asks): one row per estate, or one with none.
        let rows = sqlx::query(
            "SELECT u.id, u.company_id, u.username, u.display_name, u.role, ue.estate_id AS ue_estate \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             LEFT JOIN user_estates ue ON ue.user_id = u.id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 ORDER BY ue.estate_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let mut estate_ids = Vec::with_capacity(rows.len());
        for r in &rows {
            if let Some(e) = col::<Option<i64>>(r, "ue_estate")? {
                estate_ids.push(e);
            }
        }
        Ok(Some(User {
            id: col(first, "id")?,
            company_id: col(first, "company_id")?,
            username: col(first, "username")?,
            display_name: col(first, "display_name")?,
            role: Role::from_code(&col::<String>(first, "role")?)?,
            estate_ids,
        }))
    }

    async fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&writer(&self.pool))
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn create_estate(&self, company_id: i64, e: &EstateInput) -> StoreResult<Estate> {
        let row = sqlx::query("INSERT INTO estates (company_id, code, name, timezone, office) VALUES ($1, $2, $3, $4, $5) RETURNING *")
            .bind(company_id)
            .bind(e.code.as_str())
            .bind(&e.name)
            .bind(&e.timezone)
            .bind(&e.office)
            .fetch_one(&writer(&self.pool))
            .await
            .map_err(db_err)?;
        estate_from(&row)
    }

    async fn update_estate(&self, id: i64, e: &EstateInput) -> StoreResult<Estate> {
        let row = sqlx::query("UPDATE estates SET code = $2, name = $3, timezone = $4, office = $5 WHERE id = $1 RETURNING *")
            .bind(id)
            .bind(e.code.as_str())
            .bind(&e.name)
            .bind(&e.timezone)
            .bind(&e.office)
            .fetch_optional(&writer(&self.pool))
            .await
            .map_err(db_err)?
            .ok_or_else(|| StoreError::NotFound(format!("estate {id}")))?;
        estate_from(&row)
    }

    async fn list_estates(&self, company_id: i64) -> StoreResult<Vec<Estate>> {
        let rows = sqlx::query("SELECT * FROM estates WHERE company_id = $1 ORDER BY code")
            .bind(company_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(estate_from).collect()
    }

    async fn estate_by_code(&self, code: &str) -> StoreResult<Option<Estate>> {
        let row = sqlx::query("SELECT * FROM estates WHERE code = $1")
            .bind(code)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.as_ref().map(estate_from).transpose()
    }

    async fn estate_by_id(&self, id: i64) -> StoreResult<Estate> {
        self.estate(id).await
    }

    async fn estate_stats(&self, estate_id: i64) -> StoreResult<EstateStats> {
        self.estate(estate_id).await?;
        let p = &self.pool;
        Ok(EstateStats {
            buildings: count(
                p,
                "SELECT COUNT(*) AS n FROM buildings WHERE estate_id = $1",
                estate_id,
            )
            .await?,
            rooms: count(
                p,
                "SELECT COUNT(*) AS n FROM rooms WHERE estate_id = $1",
                estate_id,
            )
            .await?,
            spaces: count(
                p,
                "SELECT COUNT(*) AS n FROM spaces WHERE estate_id = $1",
                estate_id,
            )
            .await?,
            owners: count(
                p,
                "SELECT COUNT(*) AS n FROM owners WHERE estate_id = $1",
                estate_id,
            )
            .await?,
            fee_items: count(
                p,
                "SELECT COUNT(*) AS n FROM fee_items WHERE estate_id = $1",
                estate_id,
            )
            .await?,
            bill_lines: count(
                p,
                "SELECT COUNT(*) AS n FROM bill_lines WHERE estate_id = $1",
                estate_id,
            )
            .await?,
        })
    }

    async fn estate_summaries(&self, company_id: i64) -> StoreResult<Vec<EstateSummary>> {
        let mut out: std::collections::BTreeMap<i64, EstateSummary> =
            sqlx::query("SELECT id FROM estates WHERE company_id = $1")
                .bind(company_id)
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?
                .iter()
                .map(|r| {
                    let id: i64 = col(r, "id")?;
                    Ok((
                        id,
                        EstateSummary {
                            estate_id: id,
                            ..Default::default()
                        },
                    ))
                })
                .collect::<StoreResult<_>>()?;
        for table in ["rooms", "spaces", "owners"] {
            let rows = sqlx::query(&format!(
                "SELECT t.estate_id, COUNT(*) AS n FROM {table} t JOIN estates e ON e.id = t.estate_id \
                 WHERE e.company_id = $1 GROUP BY t.estate_id"
            ))
            .bind(company_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
            for r in &rows {
                let id: i64 = col(r, "estate_id")?;
                let n: i64 = col(r, "n")?;
                if let Some(s) = out.get_mut(&id) {
                    match table {
                        "rooms" => s.rooms = n,
                        "spaces" => s.spaces = n,
                        _ => s.owners = n,
                    }
                }
            }
        }
        let rows = sqlx::query(
            "SELECT d.estate_id, MAX(d.period) AS period FROM report_due d JOIN estates e ON e.id = d.estate_id \
             WHERE e.company_id = $1 AND d.dim = 0 GROUP BY d.estate_id",
        )
        .bind(company_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        for r in &rows {
            let id: i64 = col(r, "estate_id")?;
            if let Some(s) = out.get_mut(&id) {
                s.last_period = col(r, "period")?;
            }
        }
        Ok(out.into_values().collect())
    }
    async fn upsert_building(&self, estate_id: i64, b: &BuildingInput) -> StoreResult<Building> {
        super::objects::upsert_building(&self.pool, estate_id, b).await
    }
    async fn list_buildings(&self, estate_id: i64) -> StoreResult<Vec<Building>> {
        super::objects::list_buildings(&self.pool, estate_id).await
    }
    async fn create_room(&self, estate_id: i64, r: &RoomInput) -> StoreResult<Room> {
        super::objects::create_room(self, estate_id, r).await
    }
    async fn update_room(&self, estate_id: i64, id: i64, r: &RoomInput) -> StoreResult<Room> {
        super::objects::update_room(self, estate_id, id, r).await
    }
    async fn list_rooms(
        &self,
        estate_id: i64,
        filter: &str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<Room>> {
        super::objects::list_rooms(&self.pool, estate_id, filter, limit, offset, None).await
    }
    async fn room(&self, estate_id: i64, id: i64) -> StoreResult<Room> {
        self.room_by_id(estate_id, id).await
    }
    async fn space(&self, estate_id: i64, id: i64) -> StoreResult<Space> {
        self.space_by_id(estate_id, id).await
    }
    async fn create_space(&self, estate_id: i64, s: &SpaceInput) -> StoreResult<Space> {
        super::objects::create_space(self, estate_id, s).await
    }
    async fn update_space(&self, estate_id: i64, id: i64, s: &SpaceInput) -> StoreResult<Space> {
        super::objects::update_space(self, estate_id, id, s).await
    }
    async fn list_spaces(
        &self,
        estate_id: i64,
        filter: &str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<Space>> {
        super::objects::list_spaces(&self.pool, estate_id, filter, limit, offset, None).await
    }
    async fn create_owner(&self, estate_id: i64, o: &OwnerInput) -> StoreResult<Owner> {
        super::objects::save_owner(self, estate_id, None, o).await
    }
    async fn update_owner(&self, estate_id: i64, id: i64, o: &OwnerInput) -> StoreResult<Owner> {
        super::objects::save_owner(self, estate_id, Some(id), o).await
    }
    async fn list_owners(
        &self,
        estate_id: i64,
        filter: &str,
        limit: i64,
        offset: i64,
    ) -> StoreResult<Vec<Owner>> {
        super::objects::list_owners(&self.pool, estate_id, filter, limit, offset, None).await
    }
    async fn owner(&self, estate_id: i64, id: i64) -> StoreResult<Owner> {
        super::objects::list_owners(&self.pool, estate_id, "", 1, 0, Some(id))
            .await?
            .pop()
            .ok_or_else(|| StoreError::NotFound(format!("owner {id}")))
    }
    async fn apply_import(
        &self,
        estate_id: i64,
        batch: &ImportBatch,
    ) -> StoreResult<ImportOutcome> {
        self.estate(estate_id).await?;
        super::import::apply_import(&self.pool, estate_id, batch).await
    }
    async fn bulk_seed(&self, estate_id: i64, batch: &ImportBatch) -> StoreResult<ImportOutcome> {
        self.estate(estate_id).await?;
        super::import::apply_import(&self.pool, estate_id, batch).await
    }
    async fn staged_import_rows(&self) -> StoreResult<i64> {
        super::import::staged_rows(&self.pool).await
    }

    async fn create_fee_item(&self, estate_id: i64, spec: &FeeItemSpec) -> StoreResult<FeeItem> {
        spec.validate()?;
        self.estate(estate_id).await?;
        let insert = sqlx::query(
            "INSERT INTO fee_items (estate_id, code, name, category, basis, cycle, price_fen, due_day, lf_enabled, lf_grace_days, lf_rate_ppm, lf_cap_kind, lf_cap_fen, active) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING *",
        )
        .bind(estate_id);
        let row = bind_fee_item(insert, spec, true)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        fee_item_from(&row)
    }

    async fn update_fee_item(
        &self,
        estate_id: i64,
        id: i64,
        spec: &FeeItemSpec,
        active: bool,
    ) -> StoreResult<FeeItem> {
        spec.validate()?;
        let update = sqlx::query(
            "UPDATE fee_items SET code = $2, name = $3, category = $4, basis = $5, cycle = $6, price_fen = $7, due_day = $8, lf_enabled = $9, \
             lf_grace_days = $10, lf_rate_ppm = $11, lf_cap_kind = $12, lf_cap_fen = $13, active = $14 WHERE id = $1 AND estate_id = $15",
        )
        .bind(id);
        let n = bind_fee_item(update, spec, active)
            .bind(estate_id)
            .execute(&self.pool)
            .await
            .map_err(db_err)?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("fee item {id}")));
        }
        self.fee_item(estate_id, id).await
    }

    async fn fee_item(&self, estate_id: i64, id: i64) -> StoreResult<FeeItem> {
        let row = sqlx::query("SELECT * FROM fee_items WHERE id = $1 AND estate_id = $2")
            .bind(id)
            .bind(estate_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| StoreError::NotFound(format!("fee item {id}")))?;
        fee_item_from(&row)
    }

    async fn list_fee_items(&self, estate_id: i64) -> StoreResult<Vec<FeeItem>> {
        let rows = sqlx::query("SELECT * FROM fee_items WHERE estate_id = $1 ORDER BY id")
            .bind(estate_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(fee_item_from).collect()
    }

    async fn set_entered_amounts(
        &self,
        estate_id: i64,
        fee_item_id: i64,
        period: Period,
        amounts: &[(i64, Fen)],
    ) -> StoreResult<u64> {
        let item = self.fee_item(estate_id, fee_item_id).await?;
        if item.spec.basis != Basis::Entered {
            return Err(doorstep_domain::DomainError::invalid(
                "fee_item",
                format!("{} is not an entered item", item.spec.name),
            )
            .into());
        }
        if let Some((room, a)) = amounts.iter().find(|(_, a)| a.0 < 0) {
            return Err(doorstep_domain::DomainError::invalid(
                "amount",
                format!("room {room}: must not be negative, got {a}"),
            )
            .into());
        }
        let mut tx = write_tx(&self.pool).await?;
        let mut n = 0;
        for (room_id, amount) in amounts {
            // Only an item and rooms of the estate: the SELECT yields nothing otherwise.
            let done = sqlx::query(
                "INSERT INTO entered_amounts (fee_item_id, room_id, period, amount_fen) SELECT f.id, r.id, $3, $4 \
                 FROM rooms r JOIN fee_items f ON f.id = $1 AND f.estate_id = r.estate_id WHERE r.id = $2 AND r.estate_id = $5 \
                 ON CONFLICT (fee_item_id, room_id, period) DO UPDATE SET amount_fen = excluded.amount_fen",
            )
            .bind(fee_item_id)
            .bind(room_id)
            .bind(period.to_string())
            .bind(amount.0)
            .bind(estate_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            if done == 0 {
                return Err(StoreError::NotFound(format!(
                    "room {room_id} in this estate"
                )));
            }
            n += done;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(n)
    }

    async fn billing_inputs(&self, estate_id: i64, period: Period) -> StoreResult<BillingInputs> {
        self.estate(estate_id).await?;
        super::billing::billing_inputs(&self.pool, estate_id, period).await
    }
    async fn insert_bill_lines(
        &self,
        estate_id: i64,
        lines: &[NewLine],
        now: i64,
    ) -> StoreResult<u64> {
        super::billing::insert_bill_lines(&self.pool, estate_id, lines, now).await
    }
    async fn record_billing_run(&self, run: &BillingRunRecord) -> StoreResult<()> {
        super::billing::record_billing_run(&self.pool, run).await
    }
    async fn bill_lines(&self, q: &LineQuery) -> StoreResult<Vec<BillLine>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        super::billing::fetch_lines(&mut conn, q, false).await
    }
    async fn bill_amounts(&self, q: &LineQuery) -> StoreResult<Vec<BillLine>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        super::billing::fetch_lines_with(&mut conn, q, false, false).await
    }
    async fn bill_line(&self, estate_id: i64, id: i64) -> StoreResult<BillLine> {
        super::billing::line_by_id(&self.pool, estate_id, id).await
    }
    async fn waive_late_fee(
        &self,
        estate_id: i64,
        line_id: i64,
        act: &StaffAct,
    ) -> StoreResult<BillLine> {
        super::payments::waive_late_fee(&self.pool, estate_id, line_id, act).await
    }
    async fn waive_line(
        &self,
        estate_id: i64,
        line_id: i64,
        act: &StaffAct,
    ) -> StoreResult<BillLine> {
        super::payments::waive_line(&self.pool, estate_id, line_id, act).await
    }
    async fn set_dispute(
        &self,
        estate_id: i64,
        line_id: i64,
        disputed: bool,
        on: Date,
        act: &StaffAct,
    ) -> StoreResult<BillLine> {
        super::payments::set_dispute(&self.pool, estate_id, line_id, disputed, on, act).await
    }
    async fn record_payment(&self, p: &NewPayment) -> StoreResult<PaymentRecord> {
        super::payments::record_payment(&self.pool, p).await
    }

    async fn booking_rules(&self, estate_id: i64) -> StoreResult<BookingRules> {
        super::booking::booking_rules(&self.pool, estate_id).await
    }
    async fn set_booking_rules(&self, estate_id: i64, rules: &BookingRules) -> StoreResult<()> {
        self.estate(estate_id).await?;
        super::booking::set_booking_rules(&self.pool, estate_id, rules).await
    }
    async fn day_rules(
        &self,
        estate_id: i64,
        from: Date,
        to: Date,
    ) -> StoreResult<Vec<(Date, DayRule, String)>> {
        super::booking::day_rules(&self.pool, estate_id, from, to).await
    }
    async fn set_day_rule(
        &self,
        estate_id: i64,
        day: Date,
        rule: Option<&DayRule>,
        note: &str,
    ) -> StoreResult<()> {
        self.estate(estate_id).await?;
        super::booking::set_day_rule(&self.pool, estate_id, day, rule, note).await
    }
    async fn duty(&self, estate_id: i64, day: Date) -> StoreResult<Vec<Duty>> {
        super::booking::duty(&self.pool, estate_id, day).await
    }
    async fn set_duty(&self, estate_id: i64, day: Date, user_id: i64, on: bool) -> StoreResult<()> {
        super::booking::set_duty(&self.pool, estate_id, day, user_id, on).await
    }
    async fn slot_places(
        &self,
        estate_id: i64,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(i64, i64)>> {
        super::booking::slot_places(&self.pool, estate_id, from, to).await
    }
    async fn create_booking(&self, b: &NewBooking) -> StoreResult<Booking> {
        super::booking::create_booking(&self.pool, b).await
    }
    async fn booking(&self, id: i64) -> StoreResult<Booking> {
        super::booking::booking(&self.pool, id).await
    }
    async fn bookings(&self, q: &BookingQuery) -> StoreResult<Vec<Booking>> {
        super::booking::bookings(&self.pool, q).await
    }
    async fn booking_events(&self, id: i64) -> StoreResult<Vec<BookingEvent>> {
        super::booking::booking_events(&self.pool, id).await
    }
    async fn change_booking(&self, c: &BookingChange) -> StoreResult<Booking> {
        super::booking::change_booking(&self.pool, c).await
    }
    async fn reschedule_booking(
        &self,
        id: i64,
        from: &[BookingStatus],
        new: &NewBooking,
    ) -> StoreResult<Booking> {
        super::booking::reschedule_booking(&self.pool, id, from, new).await
    }
    async fn save_plan(&self, p: &PlanUpdate<'_>) -> StoreResult<DispatchSession> {
        super::booking::save_plan(&self.pool, p).await
    }
    async fn lock_session(
        &self,
        estate_id: i64,
        session_at: i64,
        user_id: i64,
        locked: bool,
        now: i64,
    ) -> StoreResult<DispatchSession> {
        super::booking::lock_session(&self.pool, estate_id, session_at, user_id, locked, now).await
    }
    async fn dispatch_session(
        &self,
        estate_id: i64,
        session_at: i64,
    ) -> StoreResult<Option<DispatchSession>> {
        super::booking::dispatch_session(&self.pool, estate_id, session_at).await
    }
    async fn estate_model(&self, estate_id: i64) -> StoreResult<Option<String>> {
        super::booking::estate_model(&self.pool, estate_id).await
    }
    async fn set_estate_model(&self, estate_id: i64, model: &str, now: i64) -> StoreResult<()> {
        self.estate(estate_id).await?;
        super::booking::set_estate_model(&self.pool, estate_id, model, now).await
    }
    async fn phone_on_file(&self, phone: &str) -> StoreResult<Vec<(i64, i64)>> {
        super::owner_codes::phone_on_file(&self.pool, phone).await
    }
    async fn owners_by_phone(&self, phone: &str, company_id: i64) -> StoreResult<Vec<Owner>> {
        let mut out = Vec::new();
        let ids = super::owner_codes::owner_ids_by_phone(&self.pool, phone, company_id).await?;
        for (estate_id, id) in ids {
            out.push(self.owner(estate_id, id).await?);
        }
        Ok(out)
    }
    async fn code_failures(&self, phone: &str, since: i64) -> StoreResult<Vec<i64>> {
        super::owner_codes::code_failures(&self.pool, phone, since).await
    }
    async fn insert_code(&self, c: &NewCode) -> StoreResult<CodeSend> {
        super::owner_codes::insert_code(&self.pool, c).await
    }
    async fn try_code(
        &self,
        phone: &str,
        now: i64,
        max_tries: i64,
    ) -> StoreResult<Option<StoredCode>> {
        super::owner_codes::try_code(&self.pool, phone, now, max_tries).await
    }
    async fn code_failed(&self, phone: &str, client: &str, now: i64) -> StoreResult<()> {
        super::owner_codes::code_failed(&self.pool, phone, client, now).await
    }
    async fn use_code(&self, code_id: i64, session: &NewOwnerSession) -> StoreResult<bool> {
        super::owner_codes::use_code(&self.pool, code_id, session).await
    }
    async fn owner_session(
        &self,
        token_hash: &str,
        now: i64,
    ) -> StoreResult<Option<OwnerSessionInfo>> {
        super::owner_codes::owner_session(&self.pool, token_hash, now).await
    }
    async fn delete_owner_session(&self, token_hash: &str) -> StoreResult<()> {
        super::owner_codes::delete_owner_session(&self.pool, token_hash).await
    }
    async fn enqueue(&self, m: &NewMessage, booking_id: Option<i64>) -> StoreResult<i64> {
        let now = jiff::Timestamp::now().as_second();
        super::booking::enqueue(&self.pool, m, booking_id, now).await
    }
    async fn outbox(&self, recipient: Option<&str>, limit: i64) -> StoreResult<Vec<Message>> {
        super::booking::outbox(&self.pool, recipient, limit).await
    }
    async fn due_messages(&self, now: i64, limit: i64) -> StoreResult<Vec<Message>> {
        super::booking::due_messages(&self.pool, now, limit).await
    }
    async fn claim_message(&self, id: i64, now: i64) -> StoreResult<bool> {
        let n = sqlx::query("UPDATE outbox SET sent_at = $2 WHERE id = $1 AND sent_at IS NULL AND cancelled_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&writer(&self.pool))
            .await
            .map_err(db_err)?
            .rows_affected();
        Ok(n == 1)
    }
    async fn release_message(&self, id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET sent_at = NULL WHERE id = $1")
            .bind(id)
            .execute(&writer(&self.pool))
            .await
            .map_err(db_err)?;
        Ok(())
    }
    async fn redact_sent_code(&self, id: i64) -> StoreResult<()> {
        super::owner_codes::redact_sent_code(&self.pool, id).await
    }
    async fn on_duty_counts(
        &self,
        estate_id: i64,
        from: Date,
        to: Date,
    ) -> StoreResult<Vec<(Date, i64)>> {
        super::booking::on_duty_counts(&self.pool, estate_id, from, to).await
    }
    async fn owners_holding(
        &self,
        estate_id: i64,
        phone: Option<&str>,
        targets: &[(doorstep_domain::ObjectKind, i64)],
    ) -> StoreResult<Vec<OwnerHolding>> {
        super::booking::owners_holding(&self.pool, estate_id, phone, targets).await
    }
    async fn object_labels(
        &self,
        estate_id: i64,
        targets: &[(doorstep_domain::ObjectKind, i64)],
    ) -> StoreResult<Vec<String>> {
        super::booking::object_labels(&self.pool, estate_id, targets).await
    }
    async fn booking_context(&self, code: &str, day: Date) -> StoreResult<Option<BookingContext>> {
        super::booking::booking_context(&self.pool, code, day).await
    }

    async fn collect_settings(&self, estate_id: i64) -> StoreResult<CollectSettings> {
        super::collect::collect_settings(&self.pool, estate_id).await
    }
    async fn set_collect_settings(&self, estate_id: i64, s: &CollectSettings) -> StoreResult<()> {
        super::collect::set_collect_settings(&self.pool, estate_id, s).await
    }
    async fn set_merchant(&self, m: &NewMerchant) -> StoreResult<Merchant> {
        super::collect::set_merchant(&self.pool, m).await
    }
    async fn merchants(&self, company_id: i64) -> StoreResult<Vec<Merchant>> {
        super::collect::merchants(&self.pool, company_id).await
    }
    async fn merchant(&self, id: i64) -> StoreResult<Merchant> {
        super::collect::merchant(&self.pool, id).await
    }
    async fn merchant_for(
        &self,
        company_id: i64,
        estate_id: i64,
        provider: &str,
    ) -> StoreResult<Option<Merchant>> {
        super::collect::merchant_for(&self.pool, company_id, estate_id, provider).await
    }
    async fn set_geofence(&self, estate_id: i64, g: &Geofence) -> StoreResult<()> {
        super::collect::set_geofence(&self.pool, estate_id, g).await
    }
    async fn geofences(&self, estate_id: i64) -> StoreResult<Vec<Geofence>> {
        super::collect::geofences(&self.pool, estate_id).await
    }
    async fn record_checkin(&self, c: &NewCheckin) -> StoreResult<Checkin> {
        super::collect::record_checkin(&self.pool, c).await
    }
    async fn checkins(&self, booking_id: i64) -> StoreResult<Vec<Checkin>> {
        super::collect::checkins(&self.pool, booking_id).await
    }
    async fn open_collection(&self, c: &NewCollection) -> StoreResult<Collection> {
        super::collect::open_collection(&self.pool, c).await
    }
    async fn set_collection_code(&self, id: i64, code: &str, now: i64) -> StoreResult<()> {
        super::collect::set_collection_code(&self.pool, id, code, now).await
    }
    async fn collection(&self, id: i64) -> StoreResult<Collection> {
        super::collect::collection(&self.pool, id).await
    }
    async fn collection_by_trade_no(&self, out_trade_no: &str) -> StoreResult<Option<Collection>> {
        super::collect::collection_by_trade_no(&self.pool, out_trade_no).await
    }
    async fn open_collections(&self, limit: i64) -> StoreResult<Vec<Collection>> {
        super::collect::open_collections(&self.pool, limit).await
    }
    async fn open_collections_of_booking(
        &self,
        estate_id: i64,
        booking_id: i64,
    ) -> StoreResult<Vec<Collection>> {
        super::collect::open_collections_of_booking(&self.pool, estate_id, booking_id).await
    }
    async fn complete_collection(
        &self,
        c: &CompleteCollection,
    ) -> StoreResult<CompletedCollection> {
        super::collect::complete_collection(&self.pool, c).await
    }
    async fn close_collection(
        &self,
        id: i64,
        status: &str,
        reason: &str,
        now: i64,
    ) -> StoreResult<bool> {
        super::collect::close_collection(&self.pool, id, status, reason, now).await
    }
    async fn record_signature(&self, s: &NewSignature) -> StoreResult<Signature> {
        super::collect::record_signature(&self.pool, s).await
    }
    async fn signature(&self, id: i64) -> StoreResult<(Signature, Vec<u8>)> {
        super::collect::signature(&self.pool, id).await
    }
    async fn signatures(&self, booking_id: i64) -> StoreResult<Vec<Signature>> {
        super::collect::signatures(&self.pool, booking_id).await
    }
    async fn booking_payments(&self, booking_id: i64) -> StoreResult<Vec<PaymentFact>> {
        super::collect::booking_payments(&self.pool, booking_id).await
    }
    async fn record_provider_event(
        &self,
        provider: &str,
        notify_id: &str,
        out_trade_no: Option<&str>,
        verdict: &str,
        detail: &str,
        now: i64,
    ) -> StoreResult<()> {
        super::collect::record_provider_event(
            &self.pool,
            provider,
            notify_id,
            out_trade_no,
            verdict,
            detail,
            now,
        )
        .await
    }
    async fn provider_events(
        &self,
        out_trade_no: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<(String, String, Option<String>, String, String, i64)>> {
        super::collect::provider_events(&self.pool, out_trade_no, limit).await
    }
    async fn journal(&self, estate_id: Option<i64>) -> StoreResult<Vec<JournalEntry>> {
        super::ledger::journal(&self.pool, estate_id).await
    }
    async fn receivable_expectations(
        &self,
        estate_id: Option<i64>,
    ) -> StoreResult<Vec<ReceivableExpectation>> {
        super::ledger::receivable_expectations(&self.pool, estate_id).await
    }
    async fn payment_facts(&self, estate_id: Option<i64>) -> StoreResult<Vec<PaymentFact>> {
        super::ledger::payment_facts(&self.pool, estate_id).await
    }
    async fn account_balance(&self, account: &str) -> StoreResult<Fen> {
        super::ledger::account_balance(&self.pool, account).await
    }
    async fn open_shift(&self, estate_id: i64, collector_id: i64, now: i64) -> StoreResult<Shift> {
        super::ledger::open_shift(&self.pool, estate_id, collector_id, now).await
    }
    async fn close_shift(&self, shift_id: i64, now: i64) -> StoreResult<Shift> {
        super::ledger::close_shift(&self.pool, shift_id, now).await
    }
    async fn submit_handover(
        &self,
        shift_id: i64,
        counted: Fen,
        counted_by: i64,
        reason: &str,
        now: i64,
    ) -> StoreResult<Shift> {
        super::ledger::submit_handover(&self.pool, shift_id, counted, counted_by, reason, now).await
    }
    async fn shift(&self, id: i64) -> StoreResult<Shift> {
        super::ledger::shift(&self.pool, id).await
    }
    async fn shifts(&self, estate_id: i64, status: Option<&str>) -> StoreResult<Vec<Shift>> {
        super::ledger::shifts(&self.pool, estate_id, status).await
    }
    async fn cash_holdings(&self, estate_id: i64) -> StoreResult<Vec<CashHolding>> {
        super::ledger::cash_holdings(&self.pool, estate_id).await
    }
    async fn daily_close(
        &self,
        estate_id: i64,
        day: Date,
        by: i64,
        summary: &str,
        now: i64,
    ) -> StoreResult<()> {
        super::ledger::daily_close(&self.pool, estate_id, day, by, summary, now).await
    }
    async fn daily_close_of(
        &self,
        estate_id: i64,
        day: Date,
    ) -> StoreResult<Option<(i64, i64, String)>> {
        super::ledger::daily_close_of(&self.pool, estate_id, day).await
    }
    async fn handover_differences(
        &self,
        estate_id: i64,
        pending_only: bool,
    ) -> StoreResult<Vec<HandoverDifference>> {
        super::ledger::handover_differences(&self.pool, estate_id, pending_only).await
    }
    async fn handover_difference(
        &self,
        estate_id: i64,
        shift_id: i64,
    ) -> StoreResult<Option<HandoverDifference>> {
        super::ledger::handover_difference(&self.pool, estate_id, shift_id).await
    }
    async fn respond_to_difference(
        &self,
        estate_id: i64,
        shift_id: i64,
        collector_id: i64,
        dispute: bool,
        note: &str,
        now: i64,
    ) -> StoreResult<HandoverDifference> {
        super::ledger::respond_to_difference(
            &self.pool,
            estate_id,
            shift_id,
            collector_id,
            dispute,
            note,
            now,
        )
        .await
    }
    async fn approve_difference(
        &self,
        estate_id: i64,
        shift_id: i64,
        by: i64,
        now: i64,
    ) -> StoreResult<HandoverDifference> {
        super::ledger::approve_difference(&self.pool, estate_id, shift_id, by, now).await
    }
    async fn open_custody(&self, estate_id: Option<i64>) -> StoreResult<Vec<OpenCustodyItem>> {
        super::ledger::open_custody(&self.pool, estate_id).await
    }
    async fn recollections(&self, estate_id: i64) -> StoreResult<Vec<Recollection>> {
        super::ledger::recollections(&self.pool, estate_id).await
    }
    async fn request_reversal(
        &self,
        payment_id: i64,
        kind: &str,
        reason: &str,
        by: i64,
        now: i64,
    ) -> StoreResult<Reversal> {
        super::ledger::request_reversal(&self.pool, payment_id, kind, reason, by, now).await
    }
    async fn decide_reversal(
        &self,
        id: i64,
        approve: bool,
        by: i64,
        out_refund_no: Option<&str>,
        now: i64,
    ) -> StoreResult<Reversal> {
        super::ledger::decide_reversal(&self.pool, id, approve, by, out_refund_no, now).await
    }
    async fn finish_refund(
        &self,
        id: i64,
        ok: bool,
        detail: &str,
        now: i64,
    ) -> StoreResult<Reversal> {
        super::ledger::finish_refund(&self.pool, id, ok, detail, now).await
    }
    async fn reversal(&self, id: i64) -> StoreResult<Reversal> {
        super::ledger::reversal(&self.pool, id).await
    }
    async fn reversals(&self, estate_id: i64) -> StoreResult<Vec<Reversal>> {
        super::ledger::reversals(&self.pool, estate_id).await
    }
    async fn paid_collections(
        &self,
        merchant_ref: i64,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<Collection>> {
        super::collect::paid_collections(&self.pool, merchant_ref, from, to).await
    }
    async fn record_reconciliation(&self, r: &Reconciliation) -> StoreResult<i64> {
        super::ledger::record_reconciliation(&self.pool, r).await
    }
    async fn reconciliations(&self, merchant_ref: i64) -> StoreResult<Vec<Reconciliation>> {
        super::ledger::reconciliations(&self.pool, merchant_ref).await
    }
    async fn record_reconcile_attempt(&self, a: &ReconcileAttempt) -> StoreResult<()> {
        super::payments::record_reconcile_attempt(&self.pool, a).await
    }
    async fn reconcile_attempts(&self, merchant_ref: i64) -> StoreResult<Vec<ReconcileAttempt>> {
        super::payments::reconcile_attempts(&self.pool, merchant_ref).await
    }
    async fn claim_job(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        seconds: i64,
    ) -> StoreResult<bool> {
        super::ledger::claim_job(&self.pool, name, holder, now, seconds).await
    }
    async fn rate_hit(&self, key: &str, now: i64, window: i64) -> StoreResult<RateWindow> {
        super::limits::rate_hit(&self.pool, key, now, window).await
    }
    async fn rate_peek(&self, key: &str, now: i64, window: i64) -> StoreResult<RateWindow> {
        super::limits::rate_peek(&self.pool, key, now, window).await
    }
    async fn rate_reset(&self, key: &str, now: i64) -> StoreResult<()> {
        super::limits::rate_reset(&self.pool, key, now).await
    }
    async fn release_job(&self, name: &str, holder: &str) -> StoreResult<()> {
        super::ledger::release_job(&self.pool, name, holder).await
    }
    async fn payment_collection(&self, payment_id: i64) -> StoreResult<Option<Collection>> {
        super::collect::payment_collection(&self.pool, payment_id).await
    }
    async fn all_merchants(&self) -> StoreResult<Vec<Merchant>> {
        super::collect::all_merchants(&self.pool).await
    }

    async fn signing_keys(&self, company_id: i64) -> StoreResult<Vec<SigningKey>> {
        super::evidence::signing_keys(&self.pool, Some(company_id)).await
    }
    async fn all_signing_keys(&self) -> StoreResult<Vec<SigningKey>> {
        super::evidence::signing_keys(&self.pool, None).await
    }
    async fn active_signing_key(
        &self,
        company_id: i64,
    ) -> StoreResult<Option<(SigningKey, String)>> {
        super::evidence::active_signing_key(&self.pool, company_id).await
    }
    async fn add_signing_key(
        &self,
        company_id: i64,
        name: &str,
        vkey: &str,
        skey: &str,
        now: i64,
        if_none: bool,
    ) -> StoreResult<SigningKey> {
        super::evidence::add_signing_key(&self.pool, company_id, name, vkey, skey, now, if_none)
            .await
    }
    async fn receipt(&self, id: i64) -> StoreResult<Receipt> {
        super::evidence::receipt(&self.pool, id).await
    }
    async fn receipt_by_token(&self, token: &str) -> StoreResult<Option<Receipt>> {
        super::evidence::receipt_by_token(&self.pool, token).await
    }
    async fn receipt_by_number(
        &self,
        company_id: i64,
        number: i64,
    ) -> StoreResult<Option<Receipt>> {
        super::evidence::receipt_by_number(&self.pool, company_id, number).await
    }
    async fn receipt_of_payment(&self, payment_id: i64) -> StoreResult<Option<Receipt>> {
        super::evidence::receipt_of_payment(&self.pool, payment_id).await
    }
    async fn receipt_ref_of_payment(&self, payment_id: i64) -> StoreResult<Option<ReceiptRef>> {
        super::evidence::receipt_ref_of_payment(&self.pool, payment_id).await
    }
    async fn receipts(&self, estate_id: i64, limit: i64) -> StoreResult<Vec<Receipt>> {
        super::evidence::receipts(&self.pool, estate_id, limit).await
    }
    async fn pending_receipts(&self, limit: i64) -> StoreResult<Vec<Receipt>> {
        super::evidence::pending_receipts(&self.pool, limit).await
    }
    async fn receipt_facts(&self, payment_id: i64) -> StoreResult<ReceiptFacts> {
        super::evidence::receipt_facts(&self.pool, payment_id).await
    }
    async fn receipt_facts_many(&self, payment_ids: &[i64]) -> StoreResult<Vec<ReceiptFacts>> {
        super::evidence::receipt_facts_many(&self.pool, payment_ids).await
    }
    async fn issue_receipts(&self, batch: &[IssueReceipt]) -> StoreResult<Vec<(Receipt, bool)>> {
        super::evidence::issue_receipts(&self.pool, batch).await
    }
    async fn take_receipt_copy(&self, id: i64, max: i64) -> StoreResult<bool> {
        super::evidence::take_receipt_copy(&self.pool, id, max).await
    }
    async fn receipt_attempt_failed(&self, id: i64, error: &str) -> StoreResult<()> {
        super::evidence::receipt_attempt_failed(&self.pool, id, error).await
    }
    async fn append_evidence(&self, company_id: i64, e: &NewEvidence) -> StoreResult<u64> {
        super::evidence::append_evidence(&self.pool, company_id, std::slice::from_ref(e)).await
    }
    async fn append_evidence_batch(&self, company_id: i64, es: &[NewEvidence]) -> StoreResult<u64> {
        super::evidence::append_evidence(&self.pool, company_id, es).await
    }
    async fn evidence_size(&self, company_id: i64) -> StoreResult<u64> {
        super::evidence::evidence_size(&self.pool, company_id).await
    }
    async fn evidence_logs(&self) -> StoreResult<Vec<(i64, u64)>> {
        super::evidence::evidence_logs(&self.pool).await
    }
    async fn evidence_records(
        &self,
        company_id: i64,
        from: u64,
        limit: u64,
    ) -> StoreResult<Vec<EvidenceRecord>> {
        super::evidence::evidence_records(&self.pool, company_id, from, limit).await
    }
    async fn evidence_record(
        &self,
        company_id: i64,
        index: u64,
    ) -> StoreResult<Option<EvidenceRecord>> {
        super::evidence::evidence_record(&self.pool, company_id, index).await
    }
    async fn evidence_about(
        &self,
        company_id: i64,
        objects: &[(doorstep_domain::ObjectKind, i64)],
        booking_id: Option<i64>,
        payment_id: Option<i64>,
    ) -> StoreResult<Vec<EvidenceRecord>> {
        super::evidence::evidence_about(&self.pool, company_id, objects, booking_id, payment_id)
            .await
    }
    async fn merkle_nodes(
        &self,
        company_id: i64,
        nodes: &[(u8, u64)],
    ) -> StoreResult<Vec<((u8, u64), [u8; 32])>> {
        super::evidence::merkle_nodes(&self.pool, company_id, nodes).await
    }
    async fn add_checkpoint(&self, c: &StoredCheckpoint) -> StoreResult<()> {
        super::evidence::add_checkpoint(&self.pool, c).await
    }
    async fn checkpoints(&self, company_id: i64) -> StoreResult<Vec<StoredCheckpoint>> {
        super::evidence::checkpoints(&self.pool, company_id).await
    }
    async fn latest_checkpoint(&self, company_id: i64) -> StoreResult<Option<StoredCheckpoint>> {
        super::evidence::latest_checkpoint(&self.pool, company_id).await
    }
    async fn sequence(&self) -> StoreResult<usize> {
        use super::sequencer::{Lock, integrate_all, number_all};
        Ok(number_all(&self.pool, Lock::Skip).await?
            + integrate_all(&self.pool, Lock::Skip).await?)
    }
    async fn fold_totals(&self, max: i64) -> StoreResult<usize> {
        super::sequencer::fold_totals(&self.pool, max).await
    }
    async fn set_fee_item_tax(
        &self,
        item_id: i64,
        tax_code: &str,
        vat_rate_bp: i64,
    ) -> StoreResult<()> {
        super::evidence::set_fee_item_tax(&self.pool, item_id, tax_code, vat_rate_bp).await
    }
    async fn fee_item_tax(&self, item_id: i64) -> StoreResult<(String, i64)> {
        super::evidence::fee_item_tax(&self.pool, item_id).await
    }
    async fn fee_item_estate(&self, item_id: i64) -> StoreResult<i64> {
        super::evidence::fee_item_estate(&self.pool, item_id).await
    }
    async fn create_invoice_request(&self, r: &NewInvoiceRequest) -> StoreResult<InvoiceRequest> {
        super::evidence::create_invoice_request(&self.pool, r).await
    }
    async fn invoice_request(&self, id: i64) -> StoreResult<InvoiceRequest> {
        super::evidence::invoice_request(&self.pool, id).await
    }
    async fn invoice_requests(
        &self,
        company_id: i64,
        estate_id: Option<i64>,
        status: Option<&str>,
    ) -> StoreResult<Vec<InvoiceRequest>> {
        super::evidence::invoice_requests(&self.pool, company_id, estate_id, status, None).await
    }
    async fn receipt_invoice_requests(&self, receipt_id: i64) -> StoreResult<Vec<InvoiceRequest>> {
        super::evidence::invoice_requests(&self.pool, 0, None, None, Some(receipt_id)).await
    }
    async fn notice_settings(&self, estate_id: i64) -> StoreResult<NoticeSettings> {
        super::notice::notice_settings(&self.pool, estate_id).await
    }
    async fn set_notice_settings(&self, estate_id: i64, s: &NoticeSettings) -> StoreResult<()> {
        super::notice::set_notice_settings(&self.pool, estate_id, s).await
    }
    async fn record_notice(&self, n: &NewNotice) -> StoreResult<Notice> {
        super::notice::record_notice(&self.pool, n).await
    }
    async fn notices(
        &self,
        estate_id: i64,
        object: Option<(doorstep_domain::ObjectKind, i64)>,
        limit: i64,
    ) -> StoreResult<Vec<Notice>> {
        super::notice::notices(&self.pool, estate_id, object, limit).await
    }
    async fn open_dispute(
        &self,
        estate_id: i64,
        object: Option<(doorstep_domain::ObjectKind, i64)>,
        owner: &str,
        topic: &str,
        by: Option<i64>,
        at: i64,
    ) -> StoreResult<Dispute> {
        super::notice::open_dispute(&self.pool, estate_id, object, owner, topic, by, at).await
    }
    async fn close_dispute(
        &self,
        estate_id: i64,
        id: i64,
        outcome: &str,
        at: i64,
    ) -> StoreResult<Dispute> {
        super::notice::close_dispute(&self.pool, estate_id, id, outcome, at).await
    }
    async fn visit_rows(&self, estate_id: i64, from: &str, to: &str) -> StoreResult<Vec<VisitRow>> {
        super::notice::visit_rows(&self.pool, estate_id, from, to).await
    }
    async fn operations_figures(
        &self,
        scope: ReportScope,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<OperationsRow>> {
        super::notice::operations_figures(&self.pool, scope, from, to).await
    }
    async fn latest_mismatches(&self, company_id: i64) -> StoreResult<Vec<(i64, i64)>> {
        super::notice::latest_mismatches(&self.pool, company_id).await
    }
    async fn ledger_balances(
        &self,
        estate_id: Option<i64>,
    ) -> StoreResult<Vec<(i64, String, i64)>> {
        super::notice::ledger_balances(&self.pool, estate_id).await
    }
    async fn report_totals(&self, scope: ReportScope) -> StoreResult<Vec<TotalRow>> {
        super::notice::report_totals(&self.pool, scope).await
    }
    async fn report_paid_between(
        &self,
        scope: ReportScope,
        after: &str,
        until: &str,
    ) -> StoreResult<Vec<TotalRow>> {
        super::notice::report_paid_between(&self.pool, scope, after, until).await
    }
    async fn report_lines(&self, estate_id: i64, up_to: &str) -> StoreResult<Vec<ReportLine>> {
        super::notice::report_lines(&self.pool, estate_id, up_to).await
    }
    async fn disputes(&self, estate_id: i64) -> StoreResult<Vec<Dispute>> {
        super::notice::disputes(&self.pool, estate_id).await
    }
    async fn set_invoice_outcome(
        &self,
        id: i64,
        o: &InvoiceOutcome,
    ) -> StoreResult<InvoiceRequest> {
        super::evidence::set_invoice_outcome(&self.pool, id, o).await
    }
    async fn payment_fact(&self, id: i64) -> StoreResult<Option<PaymentFact>> {
        super::ledger::payment_fact_by_id(&self.pool, id).await
    }
}
