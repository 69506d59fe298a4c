//! Booking home visits: slots with their places, booking by owners and by
//! staff on an owner's behalf, cancelling, rescheduling, the phone
//! confirmation queue and visit outcomes.
//!
//! A slot's capacity is the collectors on duty that day times the visits one
//! collector makes in a slot. The store takes a place atomically, so a slot
//! is never oversold; the checks here (windows, cut-off, ownership) give the
//! clear message first.

use crate::{App, AppError, AppResult, estate_tz, now, require};
use doorstep_domain::booking::{day_label, hhmm};
use doorstep_domain::{
    BookingRules, BookingStatus, CallOutcome, Date, DayRule, DomainError, Lang, ObjectKind,
    Permission, PhoneNumber, Refusal, Slot, VisitResult,
};
use doorstep_store::{
    Actor, Booking, BookingChange, BookingEvent, BookingQuery, Estate, NewBooking, NewMessage, User,
};
use jiff::civil::{DateTime, Time};
use serde::{Deserialize, Serialize};

/// Who is booking or changing a booking.
#[derive(Debug, Clone)]
pub enum By<'a> {
    /// A signed-in owner (their phone, in the company signed in to).
    Owner(&'a crate::owner::OwnerId),
    /// A staff user.
    Staff(&'a User),
}

impl By<'_> {
    fn actor(&self) -> Actor {
        match self {
            By::Owner(o) => Actor::Owner {
                phone: o.phone.clone(),
            },
            By::Staff(u) => Actor::Staff { user_id: u.id },
        }
    }
}

/// One slot as owners and staff see it.
#[derive(Debug, Clone, Serialize)]
pub struct SlotView {
    /// Local start, `YYYY-MM-DDTHH:MM`.
    pub start: String,
    /// `19:00`.
    pub from: String,
    /// `19:30`.
    pub to: String,
    /// Places in all.
    pub capacity: i64,
    /// Places left.
    pub left: i64,
    /// Why it cannot be booked now, if it cannot (code).
    pub unavailable: Option<String>,
    /// The slot.
    #[serde(skip)]
    pub slot: Slot,
    /// The refusal, for localised messages.
    #[serde(skip)]
    pub refusal: Option<Refusal>,
}

/// The slots of one day.
#[derive(Debug, Clone, Serialize)]
pub struct DaySlots {
    /// The date.
    pub date: Date,
    /// `11月27日 周五`.
    pub label: String,
    /// Holiday, closure … if the estate set one.
    pub rule: Option<String>,
    /// The day's rule itself, for labels in other languages.
    #[serde(skip)]
    pub day_rule: Option<DayRule>,
    /// Slots in order.
    pub slots: Vec<SlotView>,
}

/// A booking request from a page or the API.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct BookingRequest {
    /// Rooms and spaces, e.g. `[{"kind":"room","id":12}]`.
    pub targets: Vec<Target>,
    /// Local date `YYYY-MM-DD`.
    pub date: String,
    /// Local slot start `HH:MM`.
    pub start: String,
    /// Will pay in cash.
    #[serde(default)]
    pub pays_cash: bool,
    /// Elderly person alone at home — call to confirm first.
    #[serde(default)]
    pub call_first: bool,
    /// Free note.
    #[serde(default)]
    pub note: String,
    /// Who to call about the visit (default: the owner's phone).
    #[serde(default)]
    pub contact_phone: String,
}

/// A room or space named in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub struct Target {
    /// `room` or `space`.
    pub kind: ObjectKind,
    /// Id.
    pub id: i64,
}

/// A booking with labels for pages.
#[derive(Debug, Clone, Serialize)]
pub struct BookingView {
    /// The booking.
    #[serde(flatten)]
    pub booking: Booking,
    /// Estate code.
    pub estate: String,
    /// `3号楼202室`, `车位B007`.
    pub labels: Vec<String>,
    /// ETA as local `HH:MM`.
    pub eta_local: Option<String>,
    /// Collector's name.
    pub collector: Option<String>,
    /// Cancel / reschedule still allowed for owners.
    pub changeable: bool,
}

/// Unix seconds of a local date-time at the estate.
pub fn local_to_unix(estate: &Estate, dt: DateTime) -> AppResult<i64> {
    dt.to_zoned(estate_tz(estate))
        .map(|z| z.timestamp().as_second())
        .map_err(|e| AppError::Invalid(DomainError::invalid("start", e.to_string())))
}

/// Local date-time at the estate of unix seconds.
pub fn unix_to_local(estate: &Estate, at: i64) -> DateTime {
    jiff::Timestamp::from_second(at)
        .map(|t| t.to_zoned(estate_tz(estate)).datetime())
        .unwrap_or_default()
}

fn parse_start(date: &str, start: &str) -> AppResult<DateTime> {
    let d = crate::parse_date("date", date)?;
    let t: Time = start.trim().parse().map_err(|_| {
        DomainError::invalid("start", format!("{start:?} is not a time like 19:30"))
    })?;
    Ok(d.to_datetime(t))
}

impl App {
    /// Places per slot on `day`: collectors on duty × visits per collector.
    pub async fn slot_capacity(
        &self,
        estate: &Estate,
        rules: &BookingRules,
        day: Date,
    ) -> AppResult<i64> {
        let on = self
            .store
            .on_duty_counts(estate.id, day, day)
            .await?
            .first()
            .map(|d| d.1)
            .unwrap_or(0);
        Ok(on * i64::from(rules.visits_per_collector))
    }

    /// Slots from `from` for `days` days, with places left and whether each
    /// can be booked now (by an owner: cut-off applies).
    pub async fn list_slots(
        &self,
        estate: &Estate,
        from: Date,
        days: u32,
    ) -> AppResult<Vec<DaySlots>> {
        let days = days.clamp(1, 31);
        let rules = self.store.booking_rules(estate.id).await?;
        let to = from
            .checked_add(jiff::Span::new().days(i64::from(days) - 1))
            .map_err(|e| DomainError::invalid("from", e.to_string()))?;
        let rules_by_day = self.store.day_rules(estate.id, from, to).await?;
        let duty = self.store.on_duty_counts(estate.id, from, to).await?;
        let start_unix = local_to_unix(estate, from.to_datetime(Time::midnight()))?;
        let end_unix = start_unix + i64::from(days + 1) * 86_400;
        let taken = self
            .store
            .slot_places(estate.id, start_unix, end_unix)
            .await?;
        let now_local = unix_to_local(estate, now());
        let mut out = Vec::new();
        let mut day = from;
        for _ in 0..days {
            let rule = rules_by_day
                .iter()
                .find(|r| r.0 == day)
                .map(|r| r.1.clone());
            let on = duty.iter().find(|d| d.0 == day).map(|d| d.1).unwrap_or(0);
            let capacity = on * i64::from(rules.visits_per_collector);
            let mut slots = Vec::new();
            for slot in rules.slots_on(day, rule.as_ref()) {
                let at = local_to_unix(estate, slot.starts())?;
                let used = taken.iter().find(|t| t.0 == at).map(|t| t.1).unwrap_or(0);
                let left = (capacity - used).max(0);
                let refusal = match rules.check_open(&slot, now_local) {
                    Err(r) => Some(r),
                    Ok(()) if left == 0 => Some(Refusal::Full),
                    Ok(()) => None,
                };
                slots.push(SlotView {
                    start: format!("{}T{}", day, hhmm(slot.start)),
                    from: hhmm(slot.start),
                    to: hhmm(slot.end),
                    capacity,
                    left,
                    unavailable: refusal.map(|r| refusal_code(&r).to_string()),
                    slot,
                    refusal,
                });
            }
            out.push(DaySlots {
                date: day,
                label: day_label(day, Lang::Zh),
                rule: rule.as_ref().map(|r| r.label(Lang::Zh)),
                day_rule: rule,
                slots,
            });
            day = match day.tomorrow() {
                Ok(d) => d,
                Err(_) => break,
            };
        }
        Ok(out)
    }

    /// Finds the owner record behind `targets` for `by`, checking that every
    /// target belongs to that one owner (and, for an owner, that it is
    /// theirs). Someone else's room is "not found", never described.
    async fn owner_of_targets(
        &self,
        by: &By<'_>,
        estate: &Estate,
        targets: &[Target],
    ) -> AppResult<(i64, String, String)> {
        if targets.is_empty() {
            return Err(
                DomainError::invalid("targets", "choose at least one room or space").into(),
            );
        }
        if targets.len() > 20 {
            return Err(DomainError::invalid(
                "targets",
                "at most 20 rooms and spaces in one visit",
            )
            .into());
        }
        let phone = match by {
            // Another company's estate holds nothing of this session's.
            By::Owner(o) if o.company_id != estate.company_id => {
                return Err(AppError::NotFound("that room or space among yours".into()));
            }
            By::Owner(o) => Some(o.phone.as_str()),
            By::Staff(_) => None,
        };
        let pairs: Vec<(ObjectKind, i64)> = targets.iter().map(|t| (t.kind, t.id)).collect();
        let holder = self
            .store
            .owners_holding(estate.id, phone, &pairs)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| match by {
                By::Owner(_) => AppError::NotFound("that room or space among yours".into()),
                By::Staff(_) => {
                    AppError::NotFound("one owner holding all of these rooms and spaces".into())
                }
            })?;
        Ok((
            holder.owner_id,
            holder.name,
            phone.map(str::to_string).unwrap_or(holder.phone),
        ))
    }

    async fn new_booking(
        &self,
        by: &By<'_>,
        estate_code: &str,
        req: &BookingRequest,
    ) -> AppResult<(Estate, NewBooking, Vec<String>, BookingRules)> {
        let mut targets = req.targets.clone();
        targets.sort_by_key(|t| (t.kind, t.id));
        targets.dedup();
        let start = parse_start(&req.date, &req.start)?;
        doorstep_domain::EstateCode::parse(estate_code)?;
        // The estate, its rules, the day's rule and the duty roster: one read.
        let ctx = self
            .store
            .booking_context(estate_code, start.date())
            .await?
            .ok_or_else(|| AppError::NotFound(format!("estate {estate_code:?}")))?;
        let estate = &ctx.estate;
        if let By::Staff(u) = by {
            if !u.can_access(estate) {
                return Err(AppError::Forbidden(format!(
                    "you ({}) have no access to estate {estate_code:?}",
                    u.username
                )));
            }
            require(u, Permission::Dispatch)?;
        }
        let (owner_id, owner_name, phone) = self.owner_of_targets(by, estate, &targets).await?;
        let contact = if req.contact_phone.trim().is_empty() {
            phone.clone()
        } else {
            PhoneNumber::parse(&req.contact_phone)
                .map_err(|_| {
                    DomainError::invalid(
                        "contact_phone",
                        format!("{:?} is not a phone number", req.contact_phone),
                    )
                })?
                .as_str()
                .to_string()
        };
        if req.note.chars().count() > 500 {
            return Err(DomainError::invalid("note", "the note is at most 500 characters").into());
        }
        let rules = ctx.rules.clone();
        let slot = rules.slot_at(start, ctx.day_rule.as_ref())?;
        let now = now();
        let now_local = unix_to_local(estate, now);
        match by {
            By::Owner(_) => rules.check_open(&slot, now_local)?,
            // Staff may book inside the cut-off (they phone the collector),
            // never in the past.
            By::Staff(_) => {
                if slot.starts() <= now_local {
                    return Err(Refusal::InPast.into());
                }
            }
        }
        let capacity = ctx.on_duty * i64::from(rules.visits_per_collector);
        let starts_at = local_to_unix(estate, slot.starts())?;
        let session_at = local_to_unix(estate, slot.session_start())?;
        let reminder_at = starts_at - i64::from(rules.reminder_minutes) * 60;
        let labels = self
            .target_labels(
                estate.id,
                &targets.iter().map(|t| (t.kind, t.id)).collect::<Vec<_>>(),
            )
            .await?;
        let reminder = NewMessage {
            estate_id: Some(estate.id),
            channel: "sms".into(),
            recipient: contact.clone(),
            kind: "reminder".into(),
            body: format!(
                "【{}】提醒：收费员将于{}上门收取{}的物业费用，请留人在家。如需改期请打开预约页面或致电物业服务中心。",
                estate.name,
                slot.label(Lang::Zh),
                labels.join("、")
            ),
            due_at: reminder_at.max(now),
        };
        let nb = NewBooking {
            estate_id: estate.id,
            owner_id,
            owner_name,
            phone,
            contact_phone: contact,
            targets: targets.iter().map(|t| (t.kind, t.id)).collect(),
            day: slot.date,
            slot: doorstep_domain::Window {
                start: slot.start,
                end: slot.end,
            },
            window: slot.window,
            starts_at,
            session_at,
            capacity,
            pays_cash: req.pays_cash,
            call_first: req.call_first,
            note: req.note.trim().to_string(),
            actor: by.actor(),
            rescheduled_from: None,
            reminder: Some(reminder),
            now,
        };
        Ok((ctx.estate.clone(), nb, labels, rules))
    }

    /// Books a visit. Owners book their own rooms within the windows and
    /// before the cut-off; staff book on an owner's behalf.
    pub async fn create_booking(
        &self,
        by: By<'_>,
        estate_code: &str,
        req: &BookingRequest,
    ) -> AppResult<BookingView> {
        let (estate, nb, labels, rules) = self.new_booking(&by, estate_code, req).await?;
        let b = self.store.create_booking(&nb).await?;
        self.view_with(&estate, b, labels, &rules).await
    }

    /// A booking that `by` may see: an owner only their own (others are
    /// "not found"), staff within their estates.
    pub async fn booking_for(&self, by: &By<'_>, id: i64) -> AppResult<(Estate, Booking)> {
        let not_found = || AppError::NotFound(format!("booking {id}"));
        let b = self.store.booking(id).await.map_err(|_| not_found())?;
        let estate = self.store.estate_by_id(b.estate_id).await?;
        match by {
            By::Owner(o) => {
                if b.phone != o.phone || estate.company_id != o.company_id {
                    return Err(not_found());
                }
            }
            By::Staff(u) => {
                if !u.can_access(&estate) {
                    return Err(not_found());
                }
            }
        }
        Ok((estate, b))
    }

    fn check_owner_change(
        &self,
        by: &By<'_>,
        estate: &Estate,
        rules: &BookingRules,
        b: &Booking,
    ) -> AppResult<()> {
        if let By::Owner(_) = by {
            let slot = Slot {
                date: b.day,
                start: b.slot.start,
                end: b.slot.end,
                window: b.window,
            };
            match rules.check_open(&slot, unix_to_local(estate, now())) {
                Ok(()) | Err(Refusal::TooFarAhead { .. }) => {}
                Err(r) => return Err(r.into()),
            }
        }
        Ok(())
    }

    /// Cancels a booking (owners up to the cut-off).
    pub async fn cancel_booking(
        &self,
        by: By<'_>,
        id: i64,
        reason: &str,
    ) -> AppResult<BookingView> {
        let (estate, b) = self.booking_for(&by, id).await?;
        if let By::Staff(u) = &by {
            require(u, Permission::Dispatch)?;
        }
        let rules = self.store.booking_rules(estate.id).await?;
        self.check_owner_change(&by, &estate, &rules, &b)?;
        let detail = match (&by, reason.trim()) {
            (_, "") => "cancelled".to_string(),
            (_, r) => format!("cancelled: {}", r.chars().take(200).collect::<String>()),
        };
        let b = self
            .store
            .change_booking(&BookingChange {
                booking_id: id,
                from: BookingStatus::ALL
                    .into_iter()
                    .filter(|s| s.is_open())
                    .collect(),
                to: BookingStatus::Cancelled,
                actor: by.actor(),
                detail,
                call: None,
                visit: None,
                now: now(),
            })
            .await?;
        self.view(&estate, b).await
    }

    /// Moves a booking to another slot (owners up to the cut-off of the old
    /// slot and within the windows of the new one). One transaction.
    pub async fn reschedule_booking(
        &self,
        by: By<'_>,
        id: i64,
        date: &str,
        start: &str,
    ) -> AppResult<BookingView> {
        let (estate, old) = self.booking_for(&by, id).await?;
        if let By::Staff(u) = &by {
            require(u, Permission::Dispatch)?;
        }
        let rules = self.store.booking_rules(estate.id).await?;
        self.check_owner_change(&by, &estate, &rules, &old)?;
        let req = BookingRequest {
            targets: old
                .targets
                .iter()
                .map(|(kind, id)| Target {
                    kind: *kind,
                    id: *id,
                })
                .collect(),
            date: date.to_string(),
            start: start.to_string(),
            pays_cash: old.pays_cash,
            call_first: old.call_first,
            note: old.note.clone(),
            contact_phone: old.contact_phone.clone(),
        };
        // The new booking is checked as if new, for the same owner.
        let by_for_new = match &by {
            By::Owner(p) => By::Owner(p),
            By::Staff(u) => By::Staff(u),
        };
        let (_, mut nb, labels, rules) = self.new_booking(&by_for_new, &estate.code, &req).await?;
        nb.owner_id = old.owner_id;
        nb.phone = old.phone.clone();
        nb.owner_name = old.owner_name.clone();
        let open: Vec<BookingStatus> = BookingStatus::ALL
            .into_iter()
            .filter(|s| s.is_open())
            .collect();
        let b = self.store.reschedule_booking(id, &open, &nb).await?;
        self.view_with(&estate, b, labels, &rules).await
    }

    /// An owner's bookings in the company signed in to, newest slot first.
    pub async fn owner_bookings(
        &self,
        owner: &crate::owner::OwnerId,
    ) -> AppResult<Vec<BookingView>> {
        let mut list = self
            .store
            .bookings(&BookingQuery {
                phone: Some(owner.phone.clone()),
                company_id: Some(owner.company_id),
                limit: 100,
                ..Default::default()
            })
            .await?;
        list.sort_by_key(|b| (std::cmp::Reverse(b.is_open_key()), b.starts_at));
        let mut out = Vec::new();
        for b in list {
            let estate = self.store.estate_by_id(b.estate_id).await?;
            out.push(self.view(&estate, b).await?);
        }
        Ok(out)
    }

    /// Labels of an estate's rooms and spaces.
    pub async fn target_labels(
        &self,
        estate_id: i64,
        targets: &[(ObjectKind, i64)],
    ) -> AppResult<Vec<String>> {
        Ok(self.store.object_labels(estate_id, targets).await?)
    }

    /// A booking with its labels.
    pub async fn view(&self, estate: &Estate, b: Booking) -> AppResult<BookingView> {
        let labels = self.target_labels(estate.id, &b.targets).await?;
        let rules = self.store.booking_rules(estate.id).await?;
        self.view_with(estate, b, labels, &rules).await
    }

    /// A booking with labels and rules already at hand.
    async fn view_with(
        &self,
        estate: &Estate,
        b: Booking,
        labels: Vec<String>,
        rules: &BookingRules,
    ) -> AppResult<BookingView> {
        let collector = match b.collector_id {
            Some(id) => self.store.user(id).await.ok().map(|u| u.display_name),
            None => None,
        };
        let slot = Slot {
            date: b.day,
            start: b.slot.start,
            end: b.slot.end,
            window: b.window,
        };
        let changeable = b.status.is_open()
            && !matches!(
                rules.check_open(&slot, unix_to_local(estate, now())),
                Err(Refusal::InPast | Refusal::PastCutoff { .. })
            );
        Ok(BookingView {
            estate: estate.code.clone(),
            labels,
            eta_local: b.eta.map(|t| hhmm(unix_to_local(estate, t).time())),
            collector,
            changeable,
            booking: b,
        })
    }

    /// A booking's history (staff).
    pub async fn booking_history(&self, by: By<'_>, id: i64) -> AppResult<Vec<BookingEvent>> {
        self.booking_for(&by, id).await?;
        Ok(self.store.booking_events(id).await?)
    }

    /// "Call first" bookings waiting for a call, soonest first.
    pub async fn confirmation_queue(
        &self,
        user: &User,
        estate_code: &str,
    ) -> AppResult<Vec<BookingView>> {
        let estate = self
            .estate_for(user, estate_code, Permission::Dispatch)
            .await?;
        let list = self
            .store
            .bookings(&BookingQuery {
                estate_id: Some(estate.id),
                statuses: vec![BookingStatus::AwaitingCall],
                // Visits still ahead: a call for a slot long past is moot.
                from: Some(now() - 3600),
                ..Default::default()
            })
            .await?;
        let mut out = Vec::new();
        for b in list {
            out.push(self.view(&estate, b).await?);
        }
        Ok(out)
    }

    /// Records the outcome of a confirmation call.
    pub async fn record_call(
        &self,
        user: &User,
        id: i64,
        outcome: CallOutcome,
        note: &str,
    ) -> AppResult<BookingView> {
        let by = By::Staff(user);
        let (estate, _) = self.booking_for(&by, id).await?;
        require(user, Permission::Dispatch)?;
        let mut detail = format!("call: {}", outcome.code());
        if !note.trim().is_empty() {
            detail += &format!(" — {}", note.trim().chars().take(200).collect::<String>());
        }
        let b = self
            .store
            .change_booking(&BookingChange {
                booking_id: id,
                from: vec![BookingStatus::AwaitingCall],
                to: outcome.next_status(),
                actor: by.actor(),
                detail,
                call: Some(outcome),
                visit: None,
                now: now(),
            })
            .await?;
        self.view(&estate, b).await
    }

    /// Records how a visit ended (the collector on it, or dispatch staff).
    pub async fn record_visit(
        &self,
        user: &User,
        id: i64,
        result: VisitResult,
        reason: &str,
    ) -> AppResult<BookingView> {
        let by = By::Staff(user);
        let (estate, b) = self.booking_for(&by, id).await?;
        require(user, Permission::Visit)?;
        if !user.role.allows(Permission::Dispatch) && b.collector_id != Some(user.id) {
            return Err(AppError::NotFound(format!("booking {id} on your route")));
        }
        let b = self
            .store
            .change_booking(&BookingChange {
                booking_id: id,
                from: vec![BookingStatus::Scheduled],
                to: result.status(),
                actor: by.actor(),
                detail: format!("visit: {}", result.code()),
                call: None,
                visit: Some((result, reason.trim().to_string())),
                now: now(),
            })
            .await?;
        self.view(&estate, b).await
    }

    /// An estate's booking rules.
    pub async fn booking_rules(
        &self,
        user: &User,
        estate_code: &str,
    ) -> AppResult<(Estate, BookingRules)> {
        let estate = self
            .estate_for(user, estate_code, Permission::ReadEstate)
            .await?;
        let rules = self.store.booking_rules(estate.id).await?;
        Ok((estate, rules))
    }

    /// Replaces an estate's booking rules.
    pub async fn set_booking_rules(
        &self,
        user: &User,
        estate_code: &str,
        rules: &BookingRules,
    ) -> AppResult<()> {
        let estate = self
            .estate_for(user, estate_code, Permission::Dispatch)
            .await?;
        rules.validate()?;
        Ok(self.store.set_booking_rules(estate.id, rules).await?)
    }

    /// Sets or clears a day's rule (holiday, make-up workday, closed, special hours).
    pub async fn set_day_rule(
        &self,
        user: &User,
        estate_code: &str,
        day: Date,
        rule: Option<&DayRule>,
        note: &str,
    ) -> AppResult<()> {
        let estate = self
            .estate_for(user, estate_code, Permission::Dispatch)
            .await?;
        Ok(self.store.set_day_rule(estate.id, day, rule, note).await?)
    }

    /// Puts a collector on or off duty for a day.
    pub async fn set_duty(
        &self,
        user: &User,
        estate_code: &str,
        day: Date,
        collector: i64,
        on: bool,
    ) -> AppResult<()> {
        let estate = self
            .estate_for(user, estate_code, Permission::Dispatch)
            .await?;
        Ok(self.store.set_duty(estate.id, day, collector, on).await?)
    }
}

impl App {
    /// The outbox as staff may see it: messages of their estates (dispatch
    /// staff and admins), newest first.
    pub async fn outbox(
        &self,
        user: &User,
        recipient: Option<&str>,
        limit: i64,
    ) -> AppResult<Vec<doorstep_store::Message>> {
        require(user, Permission::Dispatch)?;
        let estates = self.store.list_estates(user.company_id).await?;
        let mine: Vec<i64> = estates
            .iter()
            .filter(|e| user.can_access(e))
            .map(|e| e.id)
            .collect();
        let list = self
            .store
            .outbox(
                recipient.map(str::trim).filter(|r| !r.is_empty()),
                limit.clamp(1, 500),
            )
            .await?;
        Ok(list
            .into_iter()
            .filter(|m| m.estate_id.is_some_and(|e| mine.contains(&e)))
            .collect())
    }
}

trait OpenKey {
    fn is_open_key(&self) -> bool;
}
impl OpenKey for Booking {
    fn is_open_key(&self) -> bool {
        self.status.is_open()
    }
}

/// A stable code for a refusal (API `unavailable` field).
pub fn refusal_code(r: &Refusal) -> &'static str {
    match r {
        Refusal::InPast => "past",
        Refusal::PastCutoff { .. } => "cutoff",
        Refusal::TooFarAhead { .. } => "too_far_ahead",
        Refusal::NoVisitsThatDay => "no_visits",
        Refusal::OutsideWindows => "outside_windows",
        Refusal::Full => "full",
    }
}
