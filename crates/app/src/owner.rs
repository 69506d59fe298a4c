//! Owners: sign-in with a one-time SMS code to a phone on file, long-lived
//! sessions on their phone, and what they own and owe.
//!
//! No property certificate number, no ID card: the phone on file is the
//! identity. Codes are six digits, kept only as a hash, valid five minutes,
//! tried at most five times; codes per phone and per client address are
//! limited, and too many wrong codes lock the phone out for a while (the
//! owner is told until when). Without an SMS gateway the code waits in the
//! outbox, where staff and the demo can read it.

use crate::arrears::ArrearsRow;
use crate::auth::token_hash;
use crate::{App, AppError, AppResult, estate_tz, now, today};
use doorstep_domain::booking::CodeRefusal;
use doorstep_domain::{Category, Date, Fen, ObjectKind, PhoneNumber};
use doorstep_store::{Estate, LineQuery, NewMessage};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How long an owner stays signed in on a phone: 180 days.
pub const OWNER_SESSION_SECONDS: i64 = 180 * 24 * 3600;

/// What every owner session token starts with.
pub const OWNER_TOKEN_PREFIX: &str = "o";

/// A code was queued.
#[derive(Debug, Clone, Serialize)]
pub struct CodeSent {
    /// The phone (normalised).
    pub phone: String,
    /// The code stops working at (unix seconds).
    pub expires_at: i64,
    /// Another may be asked for from (unix seconds).
    pub resend_at: i64,
}

/// A signed-in owner's session.
#[derive(Debug, Clone, Serialize)]
pub struct OwnerSession {
    /// Bearer token / cookie value (shown once).
    pub token: String,
    /// The phone signed in.
    pub phone: String,
    /// Expiry (unix seconds).
    pub expires_at: i64,
}

/// What is owed on one room or space, by category.
#[derive(Debug, Clone, Serialize)]
pub struct Holding {
    /// Room or space.
    pub kind: ObjectKind,
    /// Its id.
    pub id: i64,
    /// `3号楼202室` / `车位B007`.
    pub label: String,
    /// The building (rooms) or garage level (spaces): one address per building.
    pub address: String,
    /// Owed lines due by the day asked.
    pub lines: Vec<ArrearsRow>,
    /// Totals by category: (category, principal, late fee).
    pub by_category: Vec<(Category, Fen, Fen)>,
    /// Everything owed.
    pub total: Fen,
    /// The open booking that already covers it, if any.
    pub booked: Option<i64>,
}

/// One owner record (per estate) of the signed-in phone, with holdings.
#[derive(Debug, Clone, Serialize)]
pub struct OwnerEstate {
    /// The owner record.
    pub owner_id: i64,
    /// Name on file.
    pub owner_name: String,
    /// The estate.
    pub estate: Estate,
    /// Its rooms and spaces.
    pub holdings: Vec<Holding>,
    /// Amounts are as of this date.
    pub as_of: Date,
}

fn code_hash(phone: &str, code: &str) -> String {
    hex::encode(Sha256::digest(format!(
        "doorstep-owner-code:{phone}:{code}"
    )))
}

/// Local `HH:MM` (with the date when not today) of a unix time in China.
fn local_hhmm(at: i64) -> String {
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai")
        .unwrap_or_else(|_| jiff::tz::TimeZone::fixed(jiff::tz::offset(8)));
    match jiff::Timestamp::from_second(at) {
        Ok(t) => {
            let z = t.to_zoned(tz.clone());
            let today = jiff::Timestamp::now().to_zoned(tz).date();
            if z.date() == today {
                z.strftime("%H:%M").to_string()
            } else {
                z.strftime("%Y-%m-%d %H:%M").to_string()
            }
        }
        Err(_) => String::new(),
    }
}

/// The message for a code refusal, with its retry time in China time.
pub fn code_message(r: &CodeRefusal, lang: doorstep_domain::Lang) -> String {
    r.message(lang, r.retry_at().map(local_hhmm).as_deref())
}

impl App {
    /// Sends a sign-in code to a phone on file (through the outbox).
    pub async fn request_owner_code(&self, phone: &str, client: &str) -> AppResult<CodeSent> {
        let phone = PhoneNumber::parse(phone)?;
        let p = phone.as_str();
        let owners = self.store.owners_by_phone(p).await?;
        if owners.is_empty() {
            return Err(AppError::NotFound(format!(
                "phone {p} on file with any estate (ask the property office to add it)"
            )));
        }
        let policy = self.code_policy;
        let now = now();
        let history = self.store.code_history(p, client, now - 3600).await?;
        policy.may_send(&history, now)?;
        let code = format!("{:06}", rand::rngs::OsRng.next_u32() % 1_000_000);
        let message = NewMessage {
            estate_id: Some(owners[0].estate_id),
            channel: "sms".into(),
            recipient: p.to_string(),
            kind: "code".into(),
            body: format!(
                "【门口收费】您的登录验证码是{code}，5分钟内有效。请勿告诉他人，物业工作人员不会向您索要验证码。"
            ),
            due_at: now,
        };
        let expires_at = now + policy.ttl;
        self.store
            .insert_code(p, &code_hash(p, &code), client, now, expires_at, &message)
            .await?;
        tracing::info!(phone = %mask(p), "owner code queued");
        Ok(CodeSent {
            phone: p.to_string(),
            expires_at,
            resend_at: now + policy.resend_after,
        })
    }

    /// Checks a code and opens a long-lived owner session.
    pub async fn verify_owner_code(
        &self,
        phone: &str,
        code: &str,
        client: &str,
    ) -> AppResult<OwnerSession> {
        let phone = PhoneNumber::parse(phone)?;
        let p = phone.as_str();
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(
                doorstep_domain::DomainError::invalid("code", "the code is 6 digits").into(),
            );
        }
        let policy = self.code_policy;
        let now = now();
        let history = self.store.code_history(p, client, now - 3600).await?;
        policy.check_locked(&history, now)?;
        let Some(stored) = self.store.live_code(p, now).await? else {
            return Err(CodeRefusal::Expired.into());
        };
        if stored.attempts >= policy.attempts_per_code {
            return Err(CodeRefusal::Expired.into());
        }
        if !constant_eq(&stored.code_hash, &code_hash(p, code)) {
            self.store.code_failed(stored.id, p, client, now).await?;
            let history = self.store.code_history(p, client, now - 3600).await?;
            policy.check_locked(&history, now)?;
            let left = policy.attempts_per_code - stored.attempts - 1;
            return Err(if left > 0 {
                CodeRefusal::Wrong { left }
            } else {
                CodeRefusal::Expired
            }
            .into());
        }
        if !self.store.use_code(stored.id, now).await? {
            return Err(CodeRefusal::Expired.into());
        }
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        // Owner tokens start with `o` (never a hex digit), so one lookup
        // tells owners from staff.
        let token = format!("{OWNER_TOKEN_PREFIX}{}", hex::encode(bytes));
        let expires_at = now + OWNER_SESSION_SECONDS;
        self.store
            .create_owner_session(&token_hash(&token), p, now, expires_at)
            .await?;
        tracing::info!(phone = %mask(p), "owner signed in");
        Ok(OwnerSession {
            token,
            phone: p.to_string(),
            expires_at,
        })
    }

    /// The phone of an owner session token, or 401.
    pub async fn owner_phone(&self, token: &str) -> AppResult<String> {
        self.store
            .owner_session(&token_hash(token), now())
            .await?
            .ok_or_else(|| AppError::Unauthorized("sign in with your phone number first".into()))
    }

    /// Ends an owner session.
    pub async fn owner_sign_out(&self, token: &str) -> AppResult<()> {
        Ok(self.store.delete_owner_session(&token_hash(token)).await?)
    }

    /// Every room and space of the owners with `phone`, with what is owed
    /// as of `as_of` (default: today at each estate).
    pub async fn owner_holdings(
        &self,
        phone: &str,
        as_of: Option<Date>,
    ) -> AppResult<Vec<OwnerEstate>> {
        let mut out = Vec::new();
        let open = self
            .store
            .bookings(&doorstep_store::BookingQuery {
                phone: Some(phone.to_string()),
                statuses: doorstep_domain::BookingStatus::ALL
                    .into_iter()
                    .filter(|s| s.is_open())
                    .collect(),
                ..Default::default()
            })
            .await?;
        for owner in self.store.owners_by_phone(phone).await? {
            let estate = self.store.estate_by_id(owner.estate_id).await?;
            let as_of = as_of.unwrap_or_else(|| today(&estate));
            let mut objects: Vec<(ObjectKind, i64)> = owner
                .rooms
                .iter()
                .map(|(id, _)| (ObjectKind::Room, *id))
                .collect();
            objects.extend(owner.spaces.iter().map(|(id, _)| (ObjectKind::Space, *id)));
            let lines = if objects.is_empty() {
                Vec::new()
            } else {
                self.store
                    .bill_lines(&LineQuery {
                        estate_id: estate.id,
                        open_only: true,
                        objects: objects.clone(),
                        ..Default::default()
                    })
                    .await?
            };
            let mut holdings = Vec::new();
            for (kind, id) in objects {
                let label = match kind {
                    ObjectKind::Room => owner.rooms.iter().find(|r| r.0 == id).map(|r| r.1.clone()),
                    ObjectKind::Space => {
                        owner.spaces.iter().find(|r| r.0 == id).map(|r| r.1.clone())
                    }
                }
                .unwrap_or_default();
                let address = match kind {
                    ObjectKind::Room => self.store.room(id).await?.building,
                    ObjectKind::Space => self.store.space(id).await?.level,
                };
                let rows: Vec<ArrearsRow> = lines
                    .iter()
                    .filter(|l| l.object_kind == kind && l.object_id == id && l.due_date <= as_of)
                    .map(|l| ArrearsRow::of(l, as_of))
                    .filter(|r| r.total_owed.0 > 0)
                    .collect();
                let mut by_category: Vec<(Category, Fen, Fen)> = Vec::new();
                for r in &rows {
                    match by_category.iter_mut().find(|c| c.0 == r.category) {
                        Some(c) => {
                            c.1 += r.principal_owed;
                            c.2 += r.late_fee_owed;
                        }
                        None => by_category.push((r.category, r.principal_owed, r.late_fee_owed)),
                    }
                }
                let total = rows.iter().map(|r| r.total_owed).sum();
                let booked = open
                    .iter()
                    .find(|b| b.targets.contains(&(kind, id)))
                    .map(|b| b.id);
                holdings.push(Holding {
                    kind,
                    id,
                    label,
                    address,
                    lines: rows,
                    by_category,
                    total,
                    booked,
                });
            }
            out.push(OwnerEstate {
                owner_id: owner.id,
                owner_name: owner.name.clone(),
                estate,
                holdings,
                as_of,
            });
        }
        Ok(out)
    }
}

/// `138****5678` for logs.
pub fn mask(phone: &str) -> String {
    if phone.len() == 11 {
        format!("{}****{}", &phone[..3], &phone[7..])
    } else {
        "***".into()
    }
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The estate's local time zone (re-exported for pages).
pub fn tz_of(estate: &Estate) -> jiff::tz::TimeZone {
    estate_tz(estate)
}
