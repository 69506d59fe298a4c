//! Owners: sign-in with a one-time SMS code to a phone on file, long-lived
//! sessions on their phone, and what they own and owe.
//!
//! No property certificate number, no ID card: the phone on file is the
//! identity, within one property company: a session is opened for the
//! company the owner signs in to (named by its estate, or implied when the
//! phone is on file with one company only) and reaches only that company's
//! rooms, bills and bookings. Codes are six digits, kept only as a hash,
//! valid five minutes, tried at most five times; codes per phone and per
//! client address are limited, and too many wrong codes lock the phone out
//! for a while (the owner is told until when).
//!
//! Asking for a code answers the same whether or not the phone is on file:
//! the client limit is counted before the lookup, and an unknown phone gets
//! a code row (never texted, never opening a session) through the same
//! counter, so neither the answer, nor its timing, nor the next answers
//! (resend interval, wrong-code replies) tell phones apart. The code's text
//! goes only to the SMS gateway: every outbox listing shows it redacted.

use crate::arrears::ArrearsRow;
use crate::auth::token_hash;
use crate::{App, AppError, AppResult, estate_tz, now, today};
use doorstep_domain::booking::CodeRefusal;
use doorstep_domain::{Category, Date, Fen, ObjectKind, PhoneNumber};
use doorstep_store::{BillLine, CodeSend, Estate, LineQuery, NewCode, NewMessage, NewOwnerSession};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How long an owner stays signed in on a phone: 180 days.
pub const OWNER_SESSION_SECONDS: i64 = 180 * 24 * 3600;

/// What every owner session token starts with.
pub const OWNER_TOKEN_PREFIX: &str = "o";

/// The answer to a code request: the same whether or not the phone is
/// on file (the code only ever goes to a phone on file).
#[derive(Debug, Clone, Serialize)]
pub struct CodeSent {
    /// The phone, masked (`138****5678`).
    pub phone: String,
    /// The code stops working at (unix seconds).
    pub expires_at: i64,
    /// Another may be asked for from (unix seconds).
    pub resend_at: i64,
}

/// A signed-in owner session.
#[derive(Debug, Clone, Serialize)]
pub struct OwnerSession {
    /// Bearer token / cookie value (shown once).
    pub token: String,
    /// The phone signed in.
    pub phone: String,
    /// Expiry (unix seconds).
    pub expires_at: i64,
}

/// Who an owner session is: a phone, signed in to one company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerId {
    /// The phone (normalised).
    pub phone: String,
    /// The company signed in to: all the session reaches.
    pub company_id: i64,
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
    /// Owed lines due now: on or before the day asked, late fees as of it
    /// (`doorstep_domain::due`, the same figure the collector asks for).
    pub lines: Vec<ArrearsRow>,
    /// Totals by category of the lines due now: (category, principal, late fee).
    pub by_category: Vec<(Category, Fen, Fen)>,
    /// Everything due now.
    pub total: Fen,
    /// Lines not yet due: shown apart, an optional prepayment.
    pub not_yet_due: Vec<ArrearsRow>,
    /// What the lines not yet due come to.
    pub not_yet_due_total: Fen,
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
    /// The estate takes prepayments (of lines not yet due) at the door.
    pub allow_prepay: bool,
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

/// Which company a code request signs in to, and where its message goes.
enum Target {
    /// The phone is on file with this company (message under this estate).
    Company { company_id: i64, estate_id: i64 },
    /// On file with several companies and none named: told to sign in from
    /// their estate's page, no code.
    Several,
    /// Not on file (with the company named): nothing is sent.
    Nobody,
}

fn target_of(on_file: &[(i64, i64)], company: Option<i64>) -> Target {
    let mut pairs = on_file
        .iter()
        .filter(|(c, _)| company.is_none_or(|x| x == *c));
    let Some(&(company_id, estate_id)) = pairs.next() else {
        return Target::Nobody;
    };
    if pairs.any(|(c, _)| *c != company_id) {
        return Target::Several;
    }
    Target::Company {
        company_id,
        estate_id,
    }
}

fn sms(estate_id: Option<i64>, phone: &str, kind: &str, body: String, now: i64) -> NewMessage {
    NewMessage {
        estate_id,
        channel: "sms".into(),
        recipient: phone.to_string(),
        kind: kind.into(),
        body,
        due_at: now,
    }
}

fn too_many(e: AppError, now: i64) -> AppError {
    match e {
        AppError::TooMany { retry_after, .. } => CodeRefusal::TooMany {
            retry_at: now + retry_after,
        }
        .into(),
        other => other,
    }
}

impl App {
    /// Asks for a sign-in code to `phone` for the company of estate
    /// `estate` (or the one company the phone is on file with). The answer
    /// is the same for phones on file and not; only a phone on file gets
    /// the code.
    pub async fn request_owner_code(
        &self,
        phone: &str,
        estate: Option<&str>,
        client: &str,
    ) -> AppResult<CodeSent> {
        let phone = PhoneNumber::parse(phone)?;
        let p = phone.as_str();
        let company = match estate.map(str::trim).filter(|e| !e.is_empty()) {
            Some(code) => Some(self.estate(code).await?.company_id),
            None => None,
        };
        let policy = self.code_policy;
        let now = now();
        // Before anything looks at the phone: one client cannot probe many.
        let per_client = u32::try_from(policy.per_client_per_hour).unwrap_or(u32::MAX);
        self.throttle(&format!("owner-code:{client}"), per_client, 3600)
            .await
            .map_err(|e| too_many(e, now))?;
        let failures = self.store.code_failures(p, now - 3600).await?;
        policy.check_locked(&failures, now)?;
        // A code is drawn and hashed whatever the phone, so both branches
        // do the same work and store one row through the same counter.
        let code = format!(
            "{:06}",
            rand::Rng::gen_range(&mut rand::rngs::OsRng, 0..1_000_000u32)
        );
        let on_file = self.store.phone_on_file(p).await?;
        let (company_id, message) = match target_of(&on_file, company) {
            Target::Company { company_id, estate_id } => (
                Some(company_id),
                Some(sms(
                    Some(estate_id),
                    p,
                    "code",
                    format!(
                        "【门口收费】您的登录验证码是{code}，5分钟内有效。请勿告诉他人，物业工作人员不会向您索要验证码。"
                    ),
                    now,
                )),
            ),
            Target::Several => (
                None,
                Some(sms(
                    None,
                    p,
                    "sign-in-help",
                    "【门口收费】您的手机号在多家物业公司登记。请从您所在小区物业提供的链接登录，以便只查看该物业的账单。".into(),
                    now,
                )),
            ),
            Target::Nobody => (None, None),
        };
        let expires_at = now + policy.ttl;
        let sent = self
            .store
            .insert_code(&NewCode {
                phone: p.to_string(),
                code_hash: code_hash(p, &code),
                client: client.to_string(),
                company_id,
                now,
                expires_at,
                resend_after: policy.resend_after,
                per_hour: policy.per_phone_per_hour,
                message,
            })
            .await?;
        if let CodeSend::Refused(s) = sent {
            return Err(policy
                .send_refusal(s.window_start, s.sent, s.last_at, now)
                .into());
        }
        tracing::info!(phone = %mask(p), "owner code asked for");
        Ok(CodeSent {
            phone: mask(p),
            expires_at,
            resend_at: now + policy.resend_after,
        })
    }

    /// Checks a code and opens a long-lived owner session for the code's
    /// company. Each try is counted by the statement that reads the code,
    /// so parallel guesses cannot exceed the tries a code has.
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
        policy.check_locked(&self.store.code_failures(p, now - 3600).await?, now)?;
        let Some(tried) = self
            .store
            .try_code(p, now, policy.attempts_per_code)
            .await?
        else {
            return Err(CodeRefusal::Expired.into());
        };
        let right = constant_eq(&tried.code_hash, &code_hash(p, code));
        match (right, tried.company_id) {
            (true, Some(company_id)) => self.open_owner_session(tried.id, p, company_id, now).await,
            _ => {
                self.store.code_failed(p, client, now).await?;
                policy.check_locked(&self.store.code_failures(p, now - 3600).await?, now)?;
                let left = policy.attempts_per_code - tried.attempts;
                Err(if left > 0 {
                    CodeRefusal::Wrong { left }
                } else {
                    CodeRefusal::Expired
                }
                .into())
            }
        }
    }

    async fn open_owner_session(
        &self,
        code_id: i64,
        phone: &str,
        company_id: i64,
        now: i64,
    ) -> AppResult<OwnerSession> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        // Owner tokens start with `o` (never a hex digit), so one lookup
        // tells owners from staff.
        let token = format!("{OWNER_TOKEN_PREFIX}{}", hex::encode(bytes));
        let expires_at = now + OWNER_SESSION_SECONDS;
        let opened = self
            .store
            .use_code(
                code_id,
                &NewOwnerSession {
                    token_hash: token_hash(&token),
                    phone: phone.to_string(),
                    company_id,
                    now,
                    expires_at,
                },
            )
            .await?;
        if !opened {
            return Err(CodeRefusal::Expired.into());
        }
        tracing::info!(phone = %mask(phone), company = company_id, "owner signed in");
        Ok(OwnerSession {
            token,
            phone: phone.to_string(),
            expires_at,
        })
    }

    /// The owner (phone and company) of a session token, or 401.
    pub async fn owner_signed_in(&self, token: &str) -> AppResult<OwnerId> {
        self.store
            .owner_session(&token_hash(token), now())
            .await?
            .map(|s| OwnerId {
                phone: s.phone,
                company_id: s.company_id,
            })
            .ok_or_else(|| AppError::Unauthorized("sign in with your phone number first".into()))
    }

    /// Ends an owner session.
    pub async fn owner_sign_out(&self, token: &str) -> AppResult<()> {
        Ok(self.store.delete_owner_session(&token_hash(token)).await?)
    }

    /// Every room and space of the owner's records in the company signed
    /// in to, with what is owed as of `as_of` (default: today at each estate).
    pub async fn owner_holdings(
        &self,
        who: &OwnerId,
        as_of: Option<Date>,
    ) -> AppResult<Vec<OwnerEstate>> {
        let mut out = Vec::new();
        let open = self
            .store
            .bookings(&doorstep_store::BookingQuery {
                phone: Some(who.phone.clone()),
                company_id: Some(who.company_id),
                statuses: doorstep_domain::BookingStatus::ALL
                    .into_iter()
                    .filter(|s| s.is_open())
                    .collect(),
                ..Default::default()
            })
            .await?;
        for owner in self
            .store
            .owners_by_phone(&who.phone, who.company_id)
            .await?
        {
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
                    ObjectKind::Room => self.store.room(estate.id, id).await?.building,
                    ObjectKind::Space => self.store.space(estate.id, id).await?.level,
                };
                let (due_now, later): (Vec<&BillLine>, Vec<&BillLine>) = lines
                    .iter()
                    .filter(|l| l.object_kind == kind && l.object_id == id)
                    .filter(|l| l.due(as_of).total() > Fen::ZERO)
                    .partition(|l| l.due(as_of).due_now);
                let due =
                    doorstep_domain::due_totals(due_now.iter().chain(&later).map(|l| l.due(as_of)));
                let rows: Vec<ArrearsRow> =
                    due_now.iter().map(|l| ArrearsRow::of(l, as_of)).collect();
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
                    total: due.due_now,
                    not_yet_due: later.iter().map(|l| ArrearsRow::of(l, as_of)).collect(),
                    not_yet_due_total: due.not_yet_due,
                    booked,
                });
            }
            let allow_prepay = self.store.collect_settings(estate.id).await?.allow_prepay;
            out.push(OwnerEstate {
                owner_id: owner.id,
                owner_name: owner.name.clone(),
                estate,
                holdings,
                as_of,
                allow_prepay,
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
