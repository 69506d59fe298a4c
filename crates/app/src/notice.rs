//! Overdue notices (催缴) by SMS or WeChat template message, through the
//! outbox, within the guardrails of [`doorstep_domain::notice`]: quiet
//! hours (held until morning), a limit on frequency per room or space,
//! polite wording with the contract basis for late fees, and only that
//! room's own amounts. Every notice is recorded (who, what, when, channel;
//! delivered once the gateway takes its message). Also the disputes log.

use crate::{App, AppError, AppResult, estate_tz, now, parse_date, today};
use doorstep_domain::notice::{NoticeInput, NoticeLine, NoticePolicy, forbidden_word};
use doorstep_domain::{DomainError, Fen, ObjectKind, Permission};
use doorstep_store::{Dispute, NewNotice, Notice, NoticeSettings, User};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What staff ask for.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SendNotices {
    /// `sms` (default) or `wechat`.
    #[serde(default)]
    pub channel: String,
    /// Arrears as of this day (default: today at the estate).
    #[serde(default)]
    pub as_of: Option<String>,
    /// Only rooms/spaces owing at least this much (yuan, default 0.01).
    #[serde(default)]
    pub min_owed: Option<String>,
    /// Only these rooms (ids); empty: all with arrears.
    #[serde(default)]
    pub rooms: Vec<i64>,
    /// Only these spaces (ids).
    #[serde(default)]
    pub spaces: Vec<i64>,
}

/// A notice not sent, and why.
#[derive(Debug, Clone, Serialize)]
pub struct HeldNotice {
    /// The room or space.
    pub object: String,
    /// Why, in Chinese.
    pub reason: String,
    /// Why, in English.
    pub reason_en: String,
}

/// What a run did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct NoticeRun {
    /// Notices queued (some for the end of quiet hours).
    pub queued: Vec<Notice>,
    /// Held back by the frequency rules.
    pub held: Vec<HeldNotice>,
    /// Rooms/spaces with arrears but no phone on file.
    pub no_phone: Vec<String>,
}

fn hm(s: &str) -> jiff::civil::Time {
    s.parse::<jiff::civil::Time>()
        .unwrap_or(jiff::civil::Time::midnight())
}

/// The policy of an estate's settings.
pub fn policy(s: &NoticeSettings) -> NoticePolicy {
    NoticePolicy {
        quiet_from: hm(&s.quiet_from),
        quiet_until: hm(&s.quiet_until),
        min_days_between: s.min_days,
        max_per_month: s.max_per_month.max(1) as usize,
    }
}

impl App {
    /// Sends overdue notices for an estate now.
    pub async fn send_overdue_notices(
        &self,
        user: &User,
        code: &str,
        req: &SendNotices,
    ) -> AppResult<NoticeRun> {
        self.send_overdue_notices_at(user, code, req, now()).await
    }

    /// Sends overdue notices as if it were `at` (unix seconds).
    pub async fn send_overdue_notices_at(
        &self,
        user: &User,
        code: &str,
        req: &SendNotices,
        at: i64,
    ) -> AppResult<NoticeRun> {
        let estate = self.estate_for(user, code, Permission::Treasury).await?;
        let channel = match req.channel.trim() {
            "" | "sms" => "sms",
            "wechat" => "wechat",
            other => {
                return Err(DomainError::invalid(
                    "channel",
                    format!("sms or wechat, got {other:?} (printed notices are PDFs)"),
                )
                .into());
            }
        };
        let as_of = match req.as_of.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(s) => parse_date("as_of", s)?,
            None => today(&estate),
        };
        let min = match req.min_owed.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(s) => Fen::parse_yuan("min_owed", s)?,
            None => Fen(1),
        };
        let settings = self.store.notice_settings(estate.id).await?;
        let pol = policy(&settings);
        let tz = estate_tz(&estate);
        let local = |t: i64| {
            jiff::Timestamp::from_second(t)
                .map(|x| x.to_zoned(tz.clone()).datetime())
                .unwrap_or_default()
        };
        let now_local = local(at);
        let company = self.store.company(estate.company_id).await?;
        let mut run = NoticeRun::default();
        for t in self
            .notice_targets(&estate, &company.name, &settings, as_of, req)
            .await?
        {
            let (kind, id) = t.object;
            let label = t.input.object.clone();
            let input = t.input;
            if input.total() < min {
                continue;
            }
            let phones = t.phones;
            if phones.is_empty() {
                run.no_phone.push(label);
                continue;
            }
            let sent: Vec<jiff::civil::DateTime> = self
                .store
                .notices(estate.id, Some((kind, id)), 100)
                .await?
                .iter()
                .filter(|n| n.channel != "print")
                .map(|n| local(n.created_at))
                .collect();
            let due_at = match pol.check(now_local, &sent) {
                Ok(()) => at,
                Err(doorstep_domain::notice::Hold::QuietHours { until }) => until
                    .to_zoned(tz.clone())
                    .map(|z| z.timestamp().as_second())
                    .unwrap_or(at),
                Err(hold) => {
                    run.held.push(HeldNotice {
                        object: label,
                        reason: hold.describe(doorstep_domain::Lang::Zh),
                        reason_en: hold.describe(doorstep_domain::Lang::En),
                    });
                    continue;
                }
            };
            let body = input.message();
            if let Some(w) = forbidden_word(&body) {
                return Err(AppError::Conflict(format!(
                    "the notice would contain {w:?}, which a notice may not say"
                )));
            }
            for phone in phones {
                let n = self
                    .store
                    .record_notice(&NewNotice {
                        estate_id: estate.id,
                        object: (kind, id),
                        channel: channel.into(),
                        recipient: phone,
                        body: body.clone(),
                        amount: input.total(),
                        local_day: now_local.date().to_string(),
                        created_by: Some(user.id),
                        at,
                        due_at,
                        queue: true,
                    })
                    .await;
                match n {
                    Ok(n) => run.queued.push(n),
                    Err(doorstep_store::StoreError::Conflict(m)) => run.held.push(HeldNotice {
                        object: label.clone(),
                        reason: "今天已催缴过".into(),
                        reason_en: m,
                    }),
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(run)
    }

    /// The notices of an estate (staff only: arrears are never shown to
    /// other owners).
    pub async fn notices(&self, user: &User, code: &str, limit: i64) -> AppResult<Vec<Notice>> {
        let estate = self.estate_for(user, code, Permission::ReadBills).await?;
        Ok(self
            .store
            .notices(estate.id, None, limit.clamp(1, 1000))
            .await?)
    }

    /// An estate's notice settings.
    pub async fn notice_settings(&self, user: &User, code: &str) -> AppResult<NoticeSettings> {
        let estate = self.estate_for(user, code, Permission::ReadEstate).await?;
        Ok(self.store.notice_settings(estate.id).await?)
    }

    /// Sets them (finance).
    pub async fn set_notice_settings(
        &self,
        user: &User,
        code: &str,
        s: &NoticeSettings,
    ) -> AppResult<NoticeSettings> {
        let estate = self.estate_for(user, code, Permission::Treasury).await?;
        self.store.set_notice_settings(estate.id, s).await?;
        Ok(self.store.notice_settings(estate.id).await?)
    }

    /// Logs a dispute or complaint.
    pub async fn open_dispute(
        &self,
        user: &User,
        code: &str,
        object: Option<(ObjectKind, i64)>,
        owner: &str,
        topic: &str,
    ) -> AppResult<Dispute> {
        let estate = self.estate_for(user, code, Permission::ReadBills).await?;
        Ok(self
            .store
            .open_dispute(estate.id, object, owner, topic, Some(user.id), now())
            .await?)
    }

    /// Closes a dispute with its outcome.
    pub async fn close_dispute(
        &self,
        user: &User,
        code: &str,
        id: i64,
        outcome: &str,
    ) -> AppResult<Dispute> {
        let estate = self.estate_for(user, code, Permission::ReadBills).await?;
        Ok(self
            .store
            .close_dispute(estate.id, id, outcome, now())
            .await?)
    }

    /// An estate's disputes.
    pub async fn disputes(&self, user: &User, code: &str) -> AppResult<Vec<Dispute>> {
        let estate = self.estate_for(user, code, Permission::ReadBills).await?;
        Ok(self.store.disputes(estate.id).await?)
    }
}

/// A room or space with arrears and the notice about it.
pub struct NoticeTarget {
    /// The room or space.
    pub object: (ObjectKind, i64),
    /// Its owners' phones.
    pub phones: Vec<String>,
    /// What the notice says.
    pub input: NoticeInput,
}

impl App {
    /// The rooms/spaces with arrears as of `as_of` (disputed lines left
    /// out), each with the notice about it and its owners' phones.
    pub async fn notice_targets(
        &self,
        estate: &doorstep_store::Estate,
        company: &str,
        settings: &NoticeSettings,
        as_of: jiff::civil::Date,
        req: &SendNotices,
    ) -> AppResult<Vec<NoticeTarget>> {
        // Rooms/spaces named must be this estate's: another estate's id is
        // "not found", never an empty success.
        let named: Vec<(ObjectKind, i64)> = req
            .rooms
            .iter()
            .map(|id| (ObjectKind::Room, *id))
            .chain(req.spaces.iter().map(|id| (ObjectKind::Space, *id)))
            .collect();
        if !named.is_empty() {
            self.store.object_labels(estate.id, &named).await?;
        }
        let arrears = self.arrears(estate, as_of, "").await?;
        let mut by_object: BTreeMap<(u8, i64), Vec<&crate::arrears::ArrearsRow>> = BTreeMap::new();
        // Only what is due now (the one definition the owner's page and the
        // collector's screen use): lines due later are never dunned.
        for r in arrears
            .rows
            .iter()
            .filter(|r| !r.disputed && doorstep_domain::is_due_now(r.due_date, as_of))
        {
            let k = match r.object_kind {
                ObjectKind::Room => 0,
                ObjectKind::Space => 1,
            };
            let wanted = (req.rooms.is_empty() && req.spaces.is_empty())
                || (k == 0 && req.rooms.contains(&r.object_id))
                || (k == 1 && req.spaces.contains(&r.object_id));
            if wanted {
                by_object.entry((k, r.object_id)).or_default().push(r);
            }
        }
        let link = format!("{}/o", self.pay.public_url.trim_end_matches('/'));
        let mut out = Vec::new();
        for ((k, id), rows) in by_object {
            let kind = if k == 0 {
                ObjectKind::Room
            } else {
                ObjectKind::Space
            };
            let mut phones: Vec<String> = rows.iter().flat_map(|r| r.phones.clone()).collect();
            phones.sort();
            phones.dedup();
            out.push(NoticeTarget {
                object: (kind, id),
                phones,
                input: NoticeInput {
                    company: company.to_string(),
                    estate: estate.name.clone(),
                    object: rows[0].object.clone(),
                    lines: rows
                        .iter()
                        .map(|r| NoticeLine {
                            item: r.fee_item.clone(),
                            period: r.period.to_string(),
                            principal: r.principal_owed,
                            late_fee: r.late_fee_owed,
                            late_fee_text: r.late_fee_text.clone(),
                        })
                        .collect(),
                    contract_basis: (!settings.contract_basis.is_empty())
                        .then(|| settings.contract_basis.clone()),
                    link: link.clone(),
                    office_phone: if settings.office_phone.is_empty() {
                        estate.office.clone()
                    } else {
                        settings.office_phone.clone()
                    },
                    date: as_of,
                },
            });
        }
        Ok(out)
    }

    /// Printable notices to post at the door: one page (or more) per room or
    /// space with arrears, in one PDF; each is recorded as a `print` notice.
    pub async fn print_notices(
        &self,
        user: &User,
        code: &str,
        req: &SendNotices,
        layout: &str,
    ) -> AppResult<Vec<u8>> {
        let estate = self.estate_for(user, code, Permission::Treasury).await?;
        let layout = match crate::receipt::parse_layout(layout)? {
            doorstep_receipt::Layout::Thermal80 => {
                return Err(DomainError::invalid("format", "notices print on A4 or A5").into());
            }
            l => l,
        };
        let as_of = match req.as_of.as_deref().filter(|s| !s.trim().is_empty()) {
            Some(s) => parse_date("as_of", s)?,
            None => today(&estate),
        };
        let settings = self.store.notice_settings(estate.id).await?;
        let company = self.store.company(estate.company_id).await?;
        let targets = self
            .notice_targets(&estate, &company.name, &settings, as_of, req)
            .await?;
        if targets.is_empty() {
            return Err(AppError::NotFound("arrears to print a notice for".into()));
        }
        let at = now();
        let day = jiff::Timestamp::from_second(at)
            .map(|t| t.to_zoned(estate_tz(&estate)).date().to_string())
            .unwrap_or_default();
        for t in &targets {
            let r = self
                .store
                .record_notice(&NewNotice {
                    estate_id: estate.id,
                    object: t.object,
                    channel: "print".into(),
                    recipient: "print".into(),
                    body: t.input.letter().join("\n"),
                    amount: t.input.total(),
                    local_day: day.clone(),
                    created_by: Some(user.id),
                    at,
                    due_at: at,
                    queue: false,
                })
                .await;
            // Printed again the same day: the first print is the record.
            if let Err(e) = r
                && !matches!(e, doorstep_store::StoreError::Conflict(_))
            {
                return Err(e.into());
            }
        }
        let docs: Vec<doorstep_receipt::notice::NoticeDoc> = targets
            .iter()
            .map(|t| doorstep_receipt::notice::NoticeDoc { notice: &t.input })
            .collect();
        doorstep_receipt::notice::render_notices(&docs, layout)
            .map_err(|e| AppError::Storage(format!("rendering notices: {e}")))
    }
}
