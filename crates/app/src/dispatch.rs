//! Dispatch: a session's confirmed bookings become one route per collector
//! on duty, planned by the route planner over the estate's walking model;
//! staff adjust by hand and lock; each collector gets an itinerary with ETAs
//! inside the booked slots and a map on the site plan.
//!
//! Times given to the planner are seconds from the session's *origin*: the
//! window's start minus [`LEAD_SECONDS`], when collectors leave the office.

use crate::booking::{BookingView, local_to_unix, unix_to_local};
use crate::{App, AppError, AppResult, now, require};
use doorstep_domain::booking::hhmm;
use doorstep_domain::{BookingStatus, Date, DomainError, ObjectKind, Permission};
use doorstep_routing::dispatch::{self as planner, Collector, DispatchParams, Visit};
use doorstep_routing::estate::{EstateModel, Stop};
use doorstep_store::{
    Actor, Assignment, Booking, BookingQuery, DispatchSession, Estate, PlanUpdate, User,
};
use serde::Serialize;

/// Collectors leave the office this long before the session's first slot.
pub const LEAD_SECONDS: i64 = 15 * 60;
/// And may be out this long after its last slot ends.
pub const TAIL_SECONDS: i64 = 45 * 60;

/// One stop of a collector's route.
#[derive(Debug, Clone, Serialize)]
pub struct StopView {
    /// The booking.
    pub booking: BookingView,
    /// Order, from 1.
    pub seq: i64,
    /// Arrival, local `HH:MM`.
    pub eta: String,
    /// `19:30–20:00`.
    pub slot: String,
    /// Whether the ETA falls inside the booked slot.
    pub on_time: bool,
    /// Walking minutes from the previous stop.
    pub walk_minutes: i64,
    /// Done (visited or owner absent).
    pub done: bool,
}

/// One collector's route in a session (or a day).
#[derive(Debug, Clone, Serialize)]
pub struct RouteView {
    /// Collector user id.
    pub collector_id: i64,
    /// Name.
    pub collector: String,
    /// Stops in order.
    pub stops: Vec<StopView>,
    /// Walking minutes in all.
    pub walking_minutes: i64,
    /// The route on the site plan (SVG), if the estate has a model.
    pub svg: Option<String>,
}

/// A booking the planner left out, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Unassigned {
    /// Booking id.
    pub booking_id: i64,
    /// Why, in words.
    pub reason: String,
}

/// A dispatch session as the board shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionView {
    /// Estate code.
    pub estate: String,
    /// Local date.
    pub date: Date,
    /// `19:00–21:00`.
    pub window: String,
    /// Session start (unix seconds).
    pub session_at: i64,
    /// Planned at (unix seconds).
    pub planned_at: Option<i64>,
    /// Locked (published) at.
    pub locked_at: Option<i64>,
    /// Collectors on duty (id, name).
    pub collectors: Vec<(i64, String)>,
    /// Routes.
    pub routes: Vec<RouteView>,
    /// Ready but not on a route.
    pub unplanned: Vec<BookingView>,
    /// Waiting for a confirmation call.
    pub awaiting_call: Vec<BookingView>,
    /// Left out by the last plan, with reasons.
    pub unassigned: Vec<Unassigned>,
}

fn stop_for(app_rooms: &[(ObjectKind, i64, Stop)], b: &Booking) -> Option<Stop> {
    let first = b.targets.first()?;
    app_rooms
        .iter()
        .find(|(k, id, _)| (*k, *id) == *first)
        .map(|(_, _, s)| s.clone())
}

impl App {
    /// The estate's walking model, parsed.
    pub async fn walking_model(&self, estate: &Estate) -> AppResult<EstateModel> {
        let text = self.store.estate_model(estate.id).await?.ok_or_else(|| {
            AppError::Conflict(format!(
                "estate {} has no walking model yet; upload one (doorstep estate model) before planning routes",
                estate.code
            ))
        })?;
        EstateModel::parse(&text)
            .map_err(|e| AppError::Conflict(format!("the estate's walking model is invalid: {e}")))
    }

    /// Stores an estate's walking model after checking it parses.
    pub async fn set_walking_model(&self, user: &User, code: &str, text: &str) -> AppResult<()> {
        let estate = self.estate_for(user, code, Permission::Dispatch).await?;
        EstateModel::parse(text).map_err(|e| DomainError::invalid("model", e.to_string()))?;
        Ok(self.store.set_estate_model(estate.id, text, now()).await?)
    }

    /// The session (window) of `date` that starts at `window_start`, or the
    /// first one of the day.
    async fn session(
        &self,
        estate: &Estate,
        date: Date,
        window_start: Option<&str>,
    ) -> AppResult<(doorstep_domain::Window, i64)> {
        let rules = self.store.booking_rules(estate.id).await?;
        let rule = self
            .store
            .day_rules(estate.id, date, date)
            .await?
            .pop()
            .map(|r| r.1);
        let windows = rules.windows_on(date, rule.as_ref());
        let w = match window_start.map(str::trim).filter(|s| !s.is_empty()) {
            Some(ws) => windows.iter().find(|w| hhmm(w.start) == ws).copied(),
            None => windows.first().copied(),
        }
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "a visiting window{} on {date}",
                window_start
                    .map(|s| format!(" starting {s}"))
                    .unwrap_or_default()
            ))
        })?;
        let at = local_to_unix(estate, date.to_datetime(w.start))?;
        Ok((w, at))
    }

    /// Where each target of `bookings` is, as a stop of the walking model.
    async fn stops_of(&self, bookings: &[Booking]) -> AppResult<Vec<(ObjectKind, i64, Stop)>> {
        let mut out = Vec::new();
        for b in bookings {
            if let Some(&(kind, id)) = b.targets.first() {
                if out.iter().any(|(k, i, _)| (*k, *i) == (kind, id)) {
                    continue;
                }
                let stop = match kind {
                    ObjectKind::Room => {
                        let r = self.store.room(b.estate_id, id).await?;
                        Stop::Room {
                            building: r.building,
                            floor: r.floor,
                        }
                    }
                    ObjectKind::Space => Stop::Space(self.store.space(b.estate_id, id).await?.code),
                };
                out.push((kind, id, stop));
            }
        }
        Ok(out)
    }

    async fn session_bookings(&self, estate: &Estate, session_at: i64) -> AppResult<Vec<Booking>> {
        Ok(self
            .store
            .bookings(&BookingQuery {
                estate_id: Some(estate.id),
                session_at: Some(session_at),
                ..Default::default()
            })
            .await?)
    }

    /// The dispatch board of one session.
    pub async fn dispatch_board(
        &self,
        user: &User,
        code: &str,
        date: Date,
        window_start: Option<&str>,
    ) -> AppResult<SessionView> {
        let estate = self.estate_for(user, code, Permission::Dispatch).await?;
        self.board(&estate, date, window_start).await
    }

    async fn board(
        &self,
        estate: &Estate,
        date: Date,
        window_start: Option<&str>,
    ) -> AppResult<SessionView> {
        let (w, session_at) = self.session(estate, date, window_start).await?;
        let session = self.store.dispatch_session(estate.id, session_at).await?;
        let bookings = self.session_bookings(estate, session_at).await?;
        let duty = self.store.duty(estate.id, date).await?;
        let collectors: Vec<(i64, String)> = duty
            .iter()
            .filter(|d| d.on_duty)
            .map(|d| (d.user_id, d.name.clone()))
            .collect();
        let model = self.walking_model(estate).await.ok();
        let stops = self.stops_of(&bookings).await?;
        let rules = self.store.booking_rules(estate.id).await?;
        let mut routes = Vec::new();
        let mut ids: Vec<i64> = collectors.iter().map(|c| c.0).collect();
        for b in &bookings {
            if let Some(c) = b.collector_id
                && !ids.contains(&c)
                && (b.status == BookingStatus::Scheduled || !b.status.is_open())
            {
                ids.push(c);
            }
        }
        for cid in ids {
            let mut mine: Vec<&Booking> = bookings
                .iter()
                .filter(|b| b.collector_id == Some(cid))
                .filter(|b| {
                    matches!(
                        b.status,
                        BookingStatus::Scheduled
                            | BookingStatus::Visited
                            | BookingStatus::OwnerAbsent
                    )
                })
                .collect();
            mine.sort_by_key(|b| (b.route_seq, b.eta));
            let name = match collectors.iter().find(|c| c.0 == cid) {
                Some(c) => c.1.clone(),
                None => self
                    .store
                    .user(cid)
                    .await
                    .map(|u| u.display_name)
                    .unwrap_or_default(),
            };
            routes.push(
                self.route_view(
                    estate,
                    cid,
                    name,
                    &mine,
                    model.as_ref(),
                    &stops,
                    rules.service_minutes,
                )
                .await?,
            );
        }
        let mut unplanned = Vec::new();
        let mut awaiting_call = Vec::new();
        for b in &bookings {
            match b.status {
                BookingStatus::Requested | BookingStatus::Confirmed => {
                    unplanned.push(self.view(estate, b.clone()).await?)
                }
                BookingStatus::AwaitingCall => {
                    awaiting_call.push(self.view(estate, b.clone()).await?)
                }
                _ => {}
            }
        }
        let unassigned: Vec<Unassigned> = session
            .as_ref()
            .and_then(|s| serde_json::from_str::<Vec<(i64, String)>>(&s.unassigned).ok())
            .unwrap_or_default()
            .into_iter()
            .filter(|(id, _)| unplanned.iter().any(|u| u.booking.id == *id))
            .map(|(booking_id, reason)| Unassigned { booking_id, reason })
            .collect();
        Ok(SessionView {
            estate: estate.code.clone(),
            date,
            window: w.to_string(),
            session_at,
            planned_at: session.as_ref().and_then(|s| s.planned_at),
            locked_at: session.as_ref().and_then(|s| s.locked_at),
            collectors,
            routes,
            unplanned,
            awaiting_call,
            unassigned,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn route_view(
        &self,
        estate: &Estate,
        collector_id: i64,
        collector: String,
        mine: &[&Booking],
        model: Option<&EstateModel>,
        stops: &[(ObjectKind, i64, Stop)],
        _service_minutes: u32,
    ) -> AppResult<RouteView> {
        let mut out = Vec::new();
        let mut prev = Stop::Office;
        let mut walking = 0.0;
        let mut path = Vec::new();
        for (i, b) in mine.iter().enumerate() {
            let here = stop_for(stops, b).unwrap_or(Stop::Office);
            let walk = model
                .and_then(|m| m.seconds(&prev, &here).ok())
                .unwrap_or(0.0);
            walking += walk;
            let eta = b.eta.unwrap_or(b.starts_at);
            let slot_end = b.starts_at + (b.slot.minutes() * 60);
            out.push(StopView {
                eta: hhmm(unix_to_local(estate, eta).time()),
                slot: b.slot.to_string(),
                on_time: eta >= b.starts_at && eta <= slot_end,
                walk_minutes: (walk / 60.0).round() as i64,
                seq: i as i64 + 1,
                done: matches!(
                    b.status,
                    BookingStatus::Visited | BookingStatus::OwnerAbsent
                ),
                booking: self.view(estate, (*b).clone()).await?,
            });
            path.push(here.clone());
            prev = here;
        }
        if let Some(m) = model {
            walking += m.seconds(&prev, &Stop::Office).unwrap_or(0.0);
        }
        Ok(RouteView {
            collector_id,
            collector,
            stops: out,
            walking_minutes: (walking / 60.0).round() as i64,
            svg: model.filter(|_| !path.is_empty()).map(|m| m.svg(&path)),
        })
    }

    /// Plans a session: every booked or confirmed visit goes to a collector
    /// on duty, each inside its slot, work balanced; saved as scheduled.
    pub async fn plan_dispatch(
        &self,
        user: &User,
        code: &str,
        date: Date,
        window_start: Option<&str>,
        time_limit_ms: u64,
    ) -> AppResult<SessionView> {
        let estate = self.estate_for(user, code, Permission::Dispatch).await?;
        let (w, session_at) = self.session(&estate, date, window_start).await?;
        let model = self.walking_model(&estate).await?;
        let rules = self.store.booking_rules(estate.id).await?;
        let bookings = self.session_bookings(&estate, session_at).await?;
        let ready: Vec<Booking> = bookings
            .into_iter()
            .filter(|b| b.status.is_dispatchable())
            .collect();
        let duty = self.store.duty(estate.id, date).await?;
        let on: Vec<i64> = duty
            .iter()
            .filter(|d| d.on_duty)
            .map(|d| d.user_id)
            .collect();
        if on.is_empty() {
            return Err(AppError::Conflict(format!(
                "no collector is on duty on {date}; put one on duty first"
            )));
        }
        let origin = session_at - LEAD_SECONDS;
        let stops = self.stops_of(&ready).await?;
        let visits: Vec<Visit> = ready
            .iter()
            .map(|b| visit_of(b, &stops, origin, rules.service_minutes))
            .collect();
        let collectors = shift_of(&on, w);
        let params = params_for(session_at, time_limit_ms);
        let plan = planner::plan(&model, &visits, &collectors, &params)
            .map_err(|e| AppError::Conflict(format!("route planning failed: {e}")))?;
        self.save_planned(&estate, session_at, origin, &plan, user)
            .await?;
        self.board(&estate, date, Some(&hhmm(w.start))).await
    }

    /// Moves a booking to `collector`'s route at `position` (1-based; past
    /// the end appends) and recomputes that route's ETAs from the walking
    /// model. Refused while the session is locked.
    pub async fn move_stop(
        &self,
        user: &User,
        booking_id: i64,
        collector: i64,
        position: usize,
    ) -> AppResult<SessionView> {
        require(user, Permission::Dispatch)?;
        let (estate, b) = self
            .booking_for(&crate::booking::By::Staff(user), booking_id)
            .await?;
        if !b.status.is_dispatchable() {
            return Err(AppError::Conflict(format!(
                "booking {booking_id} is {}; only booked or confirmed visits can be routed",
                b.status.code()
            )));
        }
        let duty = self.store.duty(estate.id, b.day).await?;
        if !duty.iter().any(|d| d.user_id == collector && d.on_duty) {
            return Err(AppError::NotFound(format!(
                "collector {collector} on duty on {}",
                b.day
            )));
        }
        let model = self.walking_model(&estate).await?;
        let rules = self.store.booking_rules(estate.id).await?;
        let all = self.session_bookings(&estate, b.session_at).await?;
        let stops = self.stops_of(&all).await?;
        let mut routes: std::collections::BTreeMap<i64, Vec<Booking>> = Default::default();
        for x in all
            .iter()
            .filter(|x| x.status == BookingStatus::Scheduled && x.id != booking_id)
        {
            if let Some(c) = x.collector_id {
                routes.entry(c).or_default().push(x.clone());
            }
        }
        for r in routes.values_mut() {
            r.sort_by_key(|x| (x.route_seq, x.eta));
        }
        let target = routes.entry(collector).or_default();
        let at = position.saturating_sub(1).min(target.len());
        target.insert(at, b.clone());
        let origin = b.session_at - LEAD_SECONDS;
        let service = i64::from(rules.service_minutes) * 60;
        let mut assignments = Vec::new();
        for (cid, list) in &routes {
            let mut t = origin;
            let mut prev = Stop::Office;
            for (i, x) in list.iter().enumerate() {
                let here = stop_for(&stops, x).unwrap_or(Stop::Office);
                let walk = model.seconds(&prev, &here).unwrap_or(0.0).round() as i64;
                let eta = (t + walk).max(x.starts_at);
                assignments.push(Assignment {
                    booking_id: x.id,
                    collector_id: *cid,
                    eta,
                    seq: i as i64 + 1,
                });
                t = eta + service;
                prev = here;
            }
        }
        let session = self.store.dispatch_session(estate.id, b.session_at).await?;
        let unassigned = session.map(|s| s.unassigned).unwrap_or_else(|| "[]".into());
        self.store
            .save_plan(&PlanUpdate {
                estate_id: estate.id,
                session_at: b.session_at,
                assignments: &assignments,
                unassigned_json: &unassigned,
                actor: &Actor::Staff { user_id: user.id },
                force: false,
                now: now(),
            })
            .await?;
        self.board(&estate, b.day, Some(&hhmm(b.window.start)))
            .await
    }

    /// Locks (publishes) or unlocks a session's routes.
    pub async fn lock_dispatch(
        &self,
        user: &User,
        code: &str,
        date: Date,
        window_start: Option<&str>,
        locked: bool,
    ) -> AppResult<SessionView> {
        let estate = self.estate_for(user, code, Permission::Dispatch).await?;
        let (w, session_at) = self.session(&estate, date, window_start).await?;
        let _: DispatchSession = self
            .store
            .lock_session(estate.id, session_at, user.id, locked, now())
            .await?;
        self.board(&estate, date, Some(&hhmm(w.start))).await
    }

    /// A collector's routes on `date` (every session). Collectors see only
    /// their own; dispatch staff may name any collector.
    pub async fn itinerary(
        &self,
        user: &User,
        code: &str,
        date: Date,
        collector: Option<i64>,
    ) -> AppResult<Vec<RouteView>> {
        let estate = self.estate_for(user, code, Permission::Visit).await?;
        let who = match collector {
            Some(c) if c != user.id => {
                require(user, Permission::Dispatch)?;
                c
            }
            _ => user.id,
        };
        let from = local_to_unix(&estate, date.to_datetime(jiff::civil::Time::midnight()))?;
        let list = self
            .store
            .bookings(&BookingQuery {
                estate_id: Some(estate.id),
                collector_id: Some(who),
                from: Some(from),
                to: Some(from + 86_400),
                statuses: vec![
                    BookingStatus::Scheduled,
                    BookingStatus::Visited,
                    BookingStatus::OwnerAbsent,
                ],
                ..Default::default()
            })
            .await?;
        let model = self.walking_model(&estate).await.ok();
        let stops = self.stops_of(&list).await?;
        let rules = self.store.booking_rules(estate.id).await?;
        let name = self.store.user(who).await?.display_name;
        let mut sessions: Vec<i64> = list.iter().map(|b| b.session_at).collect();
        sessions.dedup();
        let mut out = Vec::new();
        for s in sessions {
            let mut mine: Vec<&Booking> = list.iter().filter(|b| b.session_at == s).collect();
            mine.sort_by_key(|b| (b.route_seq, b.eta));
            out.push(
                self.route_view(
                    &estate,
                    who,
                    name.clone(),
                    &mine,
                    model.as_ref(),
                    &stops,
                    rules.service_minutes,
                )
                .await?,
            );
        }
        Ok(out)
    }
}

impl App {
    /// Re-plans a session now: visits done stay in place, each collector
    /// continues from their last visit (so a late visit pushes the rest
    /// later, or hands it to someone else); bookings added since the last
    /// plan are fitted in and cancelled ones are gone. Refused while locked.
    pub async fn replan_dispatch(
        &self,
        user: &User,
        code: &str,
        date: Date,
        window_start: Option<&str>,
        time_limit_ms: u64,
    ) -> AppResult<SessionView> {
        let estate = self.estate_for(user, code, Permission::Dispatch).await?;
        let (w, session_at) = self.session(&estate, date, window_start).await?;
        let model = self.walking_model(&estate).await?;
        let rules = self.store.booking_rules(estate.id).await?;
        let all = self.session_bookings(&estate, session_at).await?;
        let done_status = |b: &Booking| {
            matches!(
                b.status,
                BookingStatus::Visited | BookingStatus::OwnerAbsent
            ) && b.collector_id.is_some()
        };
        let live: Vec<Booking> = all
            .into_iter()
            .filter(|b| b.status.is_dispatchable() || done_status(b))
            .collect();
        let duty = self.store.duty(estate.id, date).await?;
        let mut on: Vec<i64> = duty
            .iter()
            .filter(|d| d.on_duty)
            .map(|d| d.user_id)
            .collect();
        for b in live.iter().filter(|b| done_status(b)) {
            if let Some(c) = b.collector_id
                && !on.contains(&c)
            {
                on.push(c);
            }
        }
        if on.is_empty() {
            return Err(AppError::Conflict(format!(
                "no collector is on duty on {date}; put one on duty first"
            )));
        }
        let origin = session_at - LEAD_SECONDS;
        let stops = self.stops_of(&live).await?;
        let visits: Vec<Visit> = live
            .iter()
            .map(|b| visit_of(b, &stops, origin, rules.service_minutes))
            .collect();
        let collectors = shift_of(&on, w);
        let route_of = |cid: i64| -> Vec<&Booking> {
            let mut r: Vec<&Booking> = live
                .iter()
                .filter(|b| b.collector_id == Some(cid))
                .collect();
            r.sort_by_key(|b| (b.route_seq, b.eta));
            r
        };
        let progress: Vec<planner::Progress> = on
            .iter()
            .map(|&cid| planner::Progress {
                collector: cid,
                done: route_of(cid)
                    .into_iter()
                    .filter(|b| done_status(b))
                    .map(|b| b.id)
                    .collect(),
            })
            .filter(|p| !p.done.is_empty())
            .collect();
        let previous = planner::DispatchPlan {
            routes: on
                .iter()
                .map(|&cid| planner::CollectorPlan {
                    collector: cid,
                    stops: route_of(cid)
                        .into_iter()
                        .map(|b| {
                            let eta =
                                u32::try_from(b.eta.unwrap_or(b.starts_at) - origin).unwrap_or(0);
                            planner::PlannedStop {
                                visit: b.id,
                                arrive: eta,
                                eta,
                                leave: eta + rules.service_minutes * 60,
                                walk_seconds: 0,
                                done: done_status(b),
                            }
                        })
                        .collect(),
                    back_at: 0,
                    walking_seconds: 0,
                })
                .collect(),
            unassigned: vec![],
            iterations: 0,
            first_plan_secs: 0.0,
        };
        let now_rel = u32::try_from((now() - origin).max(0)).unwrap_or(u32::MAX);
        let params = params_for(session_at, time_limit_ms);
        let plan = planner::replan(
            &model,
            &visits,
            &collectors,
            &progress,
            now_rel,
            &previous,
            &params,
        )
        .map_err(|e| AppError::Conflict(format!("route planning failed: {e}")))?;
        self.save_planned(&estate, session_at, origin, &plan, user)
            .await?;
        self.board(&estate, date, Some(&hhmm(w.start))).await
    }
}

impl App {
    /// Saves a planner's routes (visits already done are left as they are)
    /// and the visits it left out, with their reasons.
    async fn save_planned(
        &self,
        estate: &Estate,
        session_at: i64,
        origin: i64,
        plan: &planner::DispatchPlan,
        user: &User,
    ) -> AppResult<()> {
        let mut assignments = Vec::new();
        for r in &plan.routes {
            for (i, s) in r.stops.iter().enumerate() {
                if s.done {
                    continue;
                }
                assignments.push(Assignment {
                    booking_id: s.visit,
                    collector_id: r.collector,
                    eta: origin + i64::from(s.eta),
                    seq: i as i64 + 1,
                });
            }
        }
        let unassigned: Vec<(i64, String)> = plan
            .unassigned
            .iter()
            .map(|(k, why)| (*k, why.to_string()))
            .collect();
        self.store
            .save_plan(&PlanUpdate {
                estate_id: estate.id,
                session_at,
                assignments: &assignments,
                unassigned_json: &serde_json::to_string(&unassigned)
                    .unwrap_or_else(|_| "[]".into()),
                actor: &Actor::Staff { user_id: user.id },
                force: false,
                now: now(),
            })
            .await?;
        Ok(())
    }
}

/// A booking as the planner sees it: its stop, its slot measured from the
/// session's origin, its time at the door.
fn visit_of(
    b: &Booking,
    stops: &[(ObjectKind, i64, Stop)],
    origin: i64,
    service_minutes: u32,
) -> Visit {
    let open = u32::try_from(b.starts_at - origin).unwrap_or(0);
    Visit {
        key: b.id,
        stop: stop_for(stops, b).unwrap_or(Stop::Office),
        window: (
            open,
            open + u32::try_from(b.slot.minutes() * 60).unwrap_or(0),
        ),
        service: service_minutes * 60,
    }
}

/// The collectors on duty, each leaving the office at the origin and back
/// by the end of the window plus [`TAIL_SECONDS`].
fn shift_of(on: &[i64], w: doorstep_domain::Window) -> Vec<Collector> {
    let end = u32::try_from(LEAD_SECONDS + w.minutes() * 60 + TAIL_SECONDS).unwrap_or(u32::MAX);
    on.iter()
        .map(|&key| Collector { key, start: 0, end })
        .collect()
}

/// Search budget (clamped) and a seed fixed per session.
fn params_for(session_at: i64, time_limit_ms: u64) -> DispatchParams {
    DispatchParams {
        time_limit_ms: time_limit_ms.clamp(50, 10_000),
        seed: u64::try_from(session_at).unwrap_or(1),
        ..DispatchParams::default()
    }
}
