//! Dispatch: an evening's confirmed home-visit bookings become one route per
//! collector on duty, and the routes are re-planned as the evening goes on.
//!
//! # Times
//! Every time is whole seconds since the session start (e.g. 19:00 = 0).
//! Walking times come from the [`EstateModel`] with the office as the depot,
//! each rounded *up* to a whole second, so that the plan's arithmetic is
//! exact and [`PlannedStop`]s can be recomputed from [`EstateModel::seconds`]:
//!
//! - `arrive` = previous stop's `leave` (or the collector's departure) + `walk_seconds`;
//! - `eta` = max(`arrive`, slot start): a collector who is early waits at the
//!   door (or nearby) until the slot opens. The ETA is what the owner is
//!   told, and it always lies inside the slot: `window.0 <= eta <= window.1`;
//! - `leave` = `eta` + the visit's service time;
//! - `back_at` = last `leave` + the walk back to the office, never after the
//!   collector's `end`.
//!
//! # Optional visits
//! Every visit is optional with a penalty far above any evening's walking,
//! so the solver serves as many as fit and the plan always comes back; the
//! ones left out are listed in [`DispatchPlan::unassigned`] with a
//! [`Reason`].
//!
//! # Balance
//! Minimising walking alone piles the visits on as few collectors as the
//! slots allow (one long round is shorter than three short ones). Each visit
//! therefore has a demand of 1 and each collector a capacity, their share of
//! the evening: with [`Balance::MaxVisits`] a collector takes at most
//! `ceil(n × their on-duty seconds / everyone's on-duty seconds) + slack`
//! visits, which is `ceil(n / k) + slack` when all work the same hours (the
//! solver has one capacity; a smaller share is given to the solver as load
//! already carried). `slack` (default 1) trades balance for walking: 0 is
//! the tightest split, [`Balance::Off`] the pure walking objective. The cap
//! is an upper bound: when the slots are full the windows already spread the
//! work and the cap rarely binds; when windows are wide it is what stops one
//! collector taking everything. Visits left out only because of the cap are
//! reported as [`Reason::Balance`]. When re-planning, visits already done
//! count towards the cap.
//!
//! # Search
//! Every collector is a vehicle (fleet = collectors). A first plan is built
//! forwards in time (each step appends, of all collector–visit pairs, the
//! visit a collector can start earliest), then improved by the solver's
//! ruin and recreate ([`crate::solver::replan`], each collector a vehicle
//! leaving the office at their `start`) within the budget; the objective is
//! the visits left out (each costing far more than any walk), then the
//! walking.
//!
//! # Collectors' hours
//! Each collector leaves the office at their own `start` (exact: the solver
//! starts each vehicle at its own time). The solver knows one office closing
//! time, the latest `end`; a route that would bring its collector back after
//! *their* `end` is repaired after the search: stops are taken off it one
//! at a time (the one whose removal makes it fit with the least walking, or
//! else brings them back earliest) and are given to another collector where
//! they fit (cheapest place), else reported. With equal ends (the common
//! case) this never happens; with different ends the result is feasible but
//! may be less good than a solver that knew every end.
//!
//! # Re-planning
//! [`replan`] keeps the visits already done in place at the head of their
//! collector's route (flagged [`PlannedStop::done`]) and re-optimises the
//! rest from where each collector is now, starting from the previous plan
//! ([`crate::solver::replan`] keeps its order as far as it still fits and
//! inserts what is new or no longer fits).
//!
//! Deterministic for a seed and an iteration budget
//! ([`DispatchParams::max_iterations`]); with only a time limit the number
//! of iterations, and so the result, depends on the machine.

use crate::estate::{EstateError, EstateModel, Stop};
use crate::instance::Instance;
use crate::solver::{self, Params, VehicleStart};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// A confirmed home visit.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    /// The booking id.
    pub key: i64,
    /// Where.
    pub stop: Stop,
    /// The booked slot, seconds since the session start: the visit must
    /// start inside `window.0..=window.1`.
    pub window: (u32, u32),
    /// Seconds spent at the door.
    pub service: u32,
}

/// A collector on duty.
#[derive(Debug, Clone, PartialEq)]
pub struct Collector {
    /// The user id.
    pub key: i64,
    /// When they leave the office, seconds since the session start.
    pub start: u32,
    /// When they must be back at the office.
    pub end: u32,
}

/// How work is shared among collectors (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balance {
    /// No cap: the least walking, however the visits fall.
    Off,
    /// At most `ceil(n × share) + slack` visits per collector, `share`
    /// being their part of the total on-duty time.
    MaxVisits {
        /// Visits allowed above an even share.
        slack: u32,
    },
}

impl Default for Balance {
    fn default() -> Self {
        Balance::MaxVisits { slack: 1 }
    }
}

/// What planning may spend, how it draws, and how it shares the work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchParams {
    /// Wall-clock budget of the search, milliseconds (0: the first feasible plan).
    pub time_limit_ms: u64,
    /// Iteration budget; set it (and a generous time limit) for results
    /// that are the same on every machine.
    pub max_iterations: Option<u64>,
    /// The same seed and iteration budget give the same plan.
    pub seed: u64,
    /// How work is shared among collectors.
    pub balance: Balance,
}

impl Default for DispatchParams {
    fn default() -> Self {
        DispatchParams {
            time_limit_ms: 1000,
            max_iterations: None,
            seed: 1,
            balance: Balance::default(),
        }
    }
}

/// One visit on a collector's route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedStop {
    /// The booking id.
    pub visit: i64,
    /// When the collector reaches the door (may be before the slot opens).
    pub arrive: u32,
    /// When the visit starts: `max(arrive, slot start)`, always inside the
    /// slot. The time to tell the owner.
    pub eta: u32,
    /// When the collector leaves: `eta` + service.
    pub leave: u32,
    /// Walking seconds from the previous stop (or the office).
    pub walk_seconds: u32,
    /// Already visited (re-planning): kept in place, not re-optimised. Its
    /// times are as planned along the done order from the collector's start,
    /// not as they happened.
    pub done: bool,
}

/// One collector's evening.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectorPlan {
    /// The user id.
    pub collector: i64,
    /// Visits in order (done ones first).
    pub stops: Vec<PlannedStop>,
    /// Back at the office (their start when they have nothing to do).
    pub back_at: u32,
    /// Walking seconds, office to office.
    pub walking_seconds: u32,
}

/// Why a visit is not on any route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// No collector can reach it inside its slot and be back at the office
    /// by the end of their shift, even going straight there and back.
    OutOfReach,
    /// A collector could fit it in time, but has their full share of visits
    /// already (the balance cap); more slack would let it in.
    Balance,
    /// Every collector who could reach it is busy with other visits then.
    Busy,
}

impl Reason {
    /// The reason in words.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::OutOfReach => {
                "no collector can reach it inside its slot and be back at the office by the end of their shift"
            }
            Reason::Balance => {
                "a collector has time for it but already has their full share of visits (raise the balance slack)"
            }
            Reason::Busy => "every collector who could reach it is busy with other visits then",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// The evening's routes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DispatchPlan {
    /// One route per collector, in the order the collectors were given
    /// (possibly with no stops).
    pub routes: Vec<CollectorPlan>,
    /// Visits on no route (booking id, why), in the order the visits were given.
    pub unassigned: Vec<(i64, Reason)>,
    /// Search iterations run.
    pub iterations: u64,
    /// Seconds from the call until the first feasible plan.
    pub first_plan_secs: f64,
}

/// What one collector has done so far (re-planning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The user id.
    pub collector: i64,
    /// Booking ids visited, in order. The collector is at the last one.
    pub done: Vec<i64>,
}

/// Why a plan cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DispatchError {
    /// Nobody to send.
    #[error("no collectors on duty: at least one is needed to plan routes")]
    NoCollectors,
    /// A collector listed twice.
    #[error("collector {0} is listed twice")]
    DuplicateCollector(i64),
    /// A shift that ends before it starts.
    #[error(
        "collector {collector}: the shift {start}..{end} is empty (it must end after it starts)"
    )]
    EmptyShift {
        /// The user id.
        collector: i64,
        /// Start, seconds.
        start: u32,
        /// End, seconds.
        end: u32,
    },
    /// A booking listed twice.
    #[error("visit {0} is listed twice")]
    DuplicateVisit(i64),
    /// A slot that ends before it starts.
    #[error("visit {visit}: the window {from}..{to} is empty (the slot must end after it starts)")]
    EmptyWindow {
        /// The booking id.
        visit: i64,
        /// Slot start, seconds.
        from: u32,
        /// Slot end, seconds.
        to: u32,
    },
    /// A stop the estate model does not know.
    #[error("visit {visit}: {source}")]
    UnknownStop {
        /// The booking id.
        visit: i64,
        /// What the model says.
        source: EstateError,
    },
    /// Progress for someone not on duty.
    #[error("progress is reported for collector {0}, who is not on duty")]
    UnknownCollector(i64),
    /// A done visit that is not among the visits.
    #[error("collector {collector} reports visit {visit} done, but there is no such visit")]
    UnknownDoneVisit {
        /// The user id.
        collector: i64,
        /// The booking id.
        visit: i64,
    },
    /// A visit reported done twice.
    #[error("visit {0} is reported done more than once")]
    DoneTwice(i64),
}

/// Cost of leaving a visit out, in walking seconds: far above any evening.
const PENALTY: f64 = 1e7;

/// Plans the evening: one route per collector, every visit inside its slot,
/// the work shared per `params.balance`, and the visits that do not fit
/// listed with a reason.
pub fn plan(
    model: &EstateModel,
    visits: &[Visit],
    collectors: &[Collector],
    params: &DispatchParams,
) -> Result<DispatchPlan, DispatchError> {
    let started = Instant::now();
    let p = Problem::new(model, visits, collectors, params.balance)?;
    let origins: Vec<Origin> = collectors
        .iter()
        .map(|c| Origin {
            node: 0,
            depart: u64::from(c.start),
            done: vec![],
        })
        .collect();
    let remaining: Vec<usize> = (1..p.nodes).collect();
    let planned = p.by_time(&origins, &remaining);
    Ok(p.run(&origins, &planned, &remaining, params, started))
}

/// Re-plans at `now` (seconds since the session start). `visits` is
/// tonight's list as it is now: bookings added since `previous` are
/// planned, cancelled ones (in `previous` but no longer in `visits`) are
/// dropped. Each collector in `progress` is at their last done visit at
/// `now` (so a collector running late pushes their next visits later, or
/// loses them to someone else); the others are at the office and leave at
/// `max(now, start)`. Done visits stay in place at the head of their
/// collector's route; the rest is re-optimised starting from `previous`.
#[allow(clippy::too_many_arguments)]
pub fn replan(
    model: &EstateModel,
    visits: &[Visit],
    collectors: &[Collector],
    progress: &[Progress],
    now: u32,
    previous: &DispatchPlan,
    params: &DispatchParams,
) -> Result<DispatchPlan, DispatchError> {
    let started = Instant::now();
    let p = Problem::new(model, visits, collectors, params.balance)?;
    let node_of: HashMap<i64, usize> = visits
        .iter()
        .enumerate()
        .map(|(i, v)| (v.key, i + 1))
        .collect();
    let mut done_by: HashMap<i64, Vec<usize>> = HashMap::new();
    let mut done_set = HashSet::new();
    let on_duty: HashSet<i64> = collectors.iter().map(|c| c.key).collect();
    for pr in progress {
        if !on_duty.contains(&pr.collector) {
            return Err(DispatchError::UnknownCollector(pr.collector));
        }
        for &v in &pr.done {
            let node = *node_of.get(&v).ok_or(DispatchError::UnknownDoneVisit {
                collector: pr.collector,
                visit: v,
            })?;
            if !done_set.insert(v) {
                return Err(DispatchError::DoneTwice(v));
            }
            done_by.entry(pr.collector).or_default().push(node);
        }
    }
    let now = u64::from(now);
    let origins: Vec<Origin> = collectors
        .iter()
        .map(|c| {
            let done = done_by.get(&c.key).cloned().unwrap_or_default();
            Origin {
                node: done.last().copied().unwrap_or(0),
                depart: now.max(u64::from(c.start)),
                done,
            }
        })
        .collect();
    let remaining: Vec<usize> = visits
        .iter()
        .enumerate()
        .filter(|(_, v)| !done_set.contains(&v.key))
        .map(|(i, _)| i + 1)
        .collect();
    let planned: Vec<Vec<usize>> = collectors
        .iter()
        .map(|c| {
            previous
                .routes
                .iter()
                .find(|r| r.collector == c.key)
                .map(|r| {
                    r.stops
                        .iter()
                        .filter(|s| !done_set.contains(&s.visit))
                        .filter_map(|s| node_of.get(&s.visit).copied())
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    Ok(p.run(&origins, &planned, &remaining, params, started))
}

/// Where a collector sets off from.
struct Origin {
    /// The office (0) or their last done visit.
    node: usize,
    /// When they leave it.
    depart: u64,
    /// Visits done, in order (nodes).
    done: Vec<usize>,
}

/// One timed stop.
struct Leg {
    node: usize,
    arrive: u64,
    eta: u64,
    leave: u64,
    walk: u64,
}

/// A route walked through: its legs, the return and the walking.
struct Walked {
    legs: Vec<Leg>,
    back: u64,
    walking: u64,
}

/// The problem in whole seconds; node 0 is the office, node i + 1 is visit i.
struct Problem<'a> {
    visits: &'a [Visit],
    collectors: &'a [Collector],
    nodes: usize,
    dur: Vec<u64>,
    /// Most visits per collector (done ones included).
    caps: Vec<usize>,
}

fn secs(x: u64) -> u32 {
    u32::try_from(x).unwrap_or(u32::MAX)
}

impl<'a> Problem<'a> {
    fn new(
        model: &EstateModel,
        visits: &'a [Visit],
        collectors: &'a [Collector],
        balance: Balance,
    ) -> Result<Problem<'a>, DispatchError> {
        if collectors.is_empty() {
            return Err(DispatchError::NoCollectors);
        }
        let mut seen = HashSet::new();
        for c in collectors {
            if !seen.insert(c.key) {
                return Err(DispatchError::DuplicateCollector(c.key));
            }
            if c.start >= c.end {
                return Err(DispatchError::EmptyShift {
                    collector: c.key,
                    start: c.start,
                    end: c.end,
                });
            }
        }
        let mut seen = HashSet::new();
        for v in visits {
            if !seen.insert(v.key) {
                return Err(DispatchError::DuplicateVisit(v.key));
            }
            if v.window.0 >= v.window.1 {
                return Err(DispatchError::EmptyWindow {
                    visit: v.key,
                    from: v.window.0,
                    to: v.window.1,
                });
            }
            model
                .seconds(&Stop::Office, &v.stop)
                .map_err(|source| DispatchError::UnknownStop {
                    visit: v.key,
                    source,
                })?;
        }
        let nodes = visits.len() + 1;
        let stops: Vec<&Stop> = std::iter::once(&Stop::Office)
            .chain(visits.iter().map(|v| &v.stop))
            .collect();
        let mut dur = Vec::with_capacity(nodes * nodes);
        for (i, a) in stops.iter().enumerate() {
            for (j, b) in stops.iter().enumerate() {
                let s = model.seconds(a, b).map_err(|source| {
                    // Every stop was checked above; name one of the two anyway.
                    let culprit = if i == 0 { j } else { i };
                    DispatchError::UnknownStop {
                        visit: visits.get(culprit.wrapping_sub(1)).map_or(0, |v| v.key),
                        source,
                    }
                })?;
                // Seconds are finite and non-negative; whole seconds, rounded up.
                dur.push(s.max(0.0).ceil().min(u32::MAX as f64) as u64);
            }
        }
        let n = visits.len();
        let caps = match balance {
            Balance::Off => vec![n; collectors.len()],
            Balance::MaxVisits { slack } => {
                let shift = |c: &Collector| u64::from(c.end - c.start);
                let total: u64 = collectors.iter().map(shift).sum();
                collectors
                    .iter()
                    .map(|c| {
                        let share = (n as u64 * shift(c)).div_ceil(total.max(1));
                        share as usize + slack as usize
                    })
                    .collect()
            }
        };
        Ok(Problem {
            visits,
            collectors,
            nodes,
            dur,
            caps,
        })
    }

    #[inline]
    fn d(&self, a: usize, b: usize) -> u64 {
        self.dur[a * self.nodes + b]
    }

    fn window(&self, node: usize) -> (u64, u64) {
        let w = self.visits[node - 1].window;
        (u64::from(w.0), u64::from(w.1))
    }

    fn service(&self, node: usize) -> u64 {
        if node == 0 {
            0
        } else {
            u64::from(self.visits[node - 1].service)
        }
    }

    /// Walks `nodes` from `from`, leaving at `depart`; no checks.
    fn walk(&self, from: usize, depart: u64, nodes: &[usize]) -> Walked {
        let (mut prev, mut t, mut walking) = (from, depart, 0);
        let mut legs = Vec::with_capacity(nodes.len());
        for &c in nodes {
            let walk = self.d(prev, c);
            let arrive = t + walk;
            let eta = arrive.max(self.window(c).0);
            t = eta + self.service(c);
            walking += walk;
            legs.push(Leg {
                node: c,
                arrive,
                eta,
                leave: t,
                walk,
            });
            prev = c;
        }
        let walk_back = self.d(prev, 0);
        Walked {
            legs,
            back: t + walk_back,
            walking: walking + walk_back,
        }
    }

    /// Collector `k` doing `nodes` after `origin`: every visit inside its
    /// slot, back by the end of the shift, within the cap (if `capped`).
    fn fits(&self, k: usize, origin: &Origin, nodes: &[usize], capped: bool) -> Option<Walked> {
        if capped && origin.done.len() + nodes.len() > self.caps[k] {
            return None;
        }
        let w = self.walk(origin.node, origin.depart, nodes);
        let on_time = w.legs.iter().all(|l| l.eta <= self.window(l.node).1);
        (on_time && w.back <= u64::from(self.collectors[k].end)).then_some(w)
    }

    /// The cheapest feasible place for `c` in route `k` (added walking, position).
    fn best_insertion(
        &self,
        k: usize,
        origin: &Origin,
        route: &[usize],
        c: usize,
        capped: bool,
    ) -> Option<(u64, usize)> {
        let base = self.walk(origin.node, origin.depart, route).walking;
        let mut best: Option<(u64, usize)> = None;
        let mut cand = Vec::with_capacity(route.len() + 1);
        for pos in 0..=route.len() {
            cand.clear();
            cand.extend_from_slice(&route[..pos]);
            cand.push(c);
            cand.extend_from_slice(&route[pos..]);
            if let Some(w) = self.fits(k, origin, &cand, capped) {
                let delta = w.walking.saturating_sub(base);
                if best.is_none_or(|b| delta < b.0) {
                    best = Some((delta, pos));
                }
            }
        }
        best
    }

    /// A first plan built forwards in time: repeatedly, of all (collector,
    /// visit) pairs, append the visit that collector can start earliest
    /// (ties: the slot that closes first, then the shorter walk). Every
    /// collector keeps moving, so the work starts out shared, and the
    /// search starts from a plan that serves far more than cheapest
    /// insertion into identical empty routes does.
    fn by_time(&self, origins: &[Origin], remaining: &[usize]) -> Vec<Vec<usize>> {
        let mut routes: Vec<Vec<usize>> = vec![vec![]; origins.len()];
        // Per collector: where they are, when they can leave, visits so far.
        let mut at: Vec<(usize, u64, usize)> = origins
            .iter()
            .map(|o| (o.node, o.depart, o.done.len()))
            .collect();
        let mut pending: Vec<usize> = remaining.to_vec();
        loop {
            let mut best: Option<((u64, u64, u64), usize, usize)> = None;
            for (i, &(node, free, load)) in at.iter().enumerate() {
                if load >= self.caps[i] {
                    continue;
                }
                let end = u64::from(self.collectors[i].end);
                for (j, &c) in pending.iter().enumerate() {
                    let (w0, w1) = self.window(c);
                    let walk = self.d(node, c);
                    let eta = (free + walk).max(w0);
                    if eta > w1 || eta + self.service(c) + self.d(c, 0) > end {
                        continue;
                    }
                    let score = (eta, w1, walk);
                    if best.is_none_or(|b| score < b.0) {
                        best = Some((score, i, j));
                    }
                }
            }
            let Some(((eta, _, _), i, j)) = best else {
                break;
            };
            let c = pending.swap_remove(j);
            routes[i].push(c);
            at[i] = (c, eta + self.service(c), at[i].2 + 1);
        }
        routes
    }

    fn instance(&self) -> Instance {
        let shift_start = self.collectors.iter().map(|c| c.start).min().unwrap_or(0);
        let shift_end = self.collectors.iter().map(|c| c.end).max().unwrap_or(0);
        let cap = self.caps.iter().copied().max().unwrap_or(0);
        Instance {
            name: "dispatch".into(),
            ids: std::iter::once("office".to_string())
                .chain(self.visits.iter().map(|v| v.key.to_string()))
                .collect(),
            demand: std::iter::once(0)
                .chain(self.visits.iter().map(|_| 1))
                .collect(),
            ready: std::iter::once(f64::from(shift_start))
                .chain(self.visits.iter().map(|v| f64::from(v.window.0)))
                .collect(),
            due: std::iter::once(f64::from(shift_end))
                .chain(self.visits.iter().map(|v| f64::from(v.window.1)))
                .collect(),
            service: std::iter::once(0.0)
                .chain(self.visits.iter().map(|v| f64::from(v.service)))
                .collect(),
            capacity: cap as i64,
            fleet: self.collectors.len(),
            dist: self.dur.iter().map(|&x| x as f64).collect(),
            penalty: std::iter::once(None)
                .chain(self.visits.iter().map(|_| Some(PENALTY)))
                .collect(),
            coords: None,
        }
    }

    /// Searches, repairs per-collector ends, re-inserts what it can, and
    /// writes the plan.
    fn run(
        &self,
        origins: &[Origin],
        planned: &[Vec<usize>],
        remaining: &[usize],
        params: &DispatchParams,
        started: Instant,
    ) -> DispatchPlan {
        let k = self.collectors.len();
        let (mut routes, mut pool, iterations, first_plan_secs) = if remaining.is_empty() {
            (vec![vec![]; k], vec![], 0, started.elapsed().as_secs_f64())
        } else {
            let inst = self.instance();
            let cap = inst.capacity;
            // Visits already done count against the cap, and a share below the
            // largest is given as load already carried.
            let vehicles: Vec<VehicleStart> = origins
                .iter()
                .enumerate()
                .map(|(i, o)| VehicleStart {
                    node: o.node,
                    time: o.depart as f64,
                    load: o.done.len() as i64 + (cap - self.caps[i] as i64),
                })
                .collect();
            let sp = Params {
                seed: params.seed,
                time_limit: Duration::from_millis(params.time_limit_ms),
                max_iterations: params.max_iterations,
            };
            let before = started.elapsed().as_secs_f64();
            let sol = solver::replan(&inst, &vehicles, planned, remaining, &sp);
            let mut routes = sol.routes;
            routes.resize(k, vec![]);
            (
                routes,
                sol.unassigned,
                sol.iterations,
                before + sol.first_solution_secs,
            )
        };
        // Repair: a route that brings its collector back after their own end
        // (or breaks anything else) loses the stop whose removal helps most.
        for (i, route) in routes.iter_mut().enumerate() {
            while !route.is_empty() && self.fits(i, &origins[i], route, true).is_none() {
                let mut best: Option<((u8, u64), usize)> = None;
                for pos in 0..route.len() {
                    let mut cand = route.clone();
                    cand.remove(pos);
                    let score = match self.fits(i, &origins[i], &cand, true) {
                        Some(w) => (0, w.walking),
                        None => (1, self.walk(origins[i].node, origins[i].depart, &cand).back),
                    };
                    if best.is_none_or(|b| score < b.0) {
                        best = Some((score, pos));
                    }
                }
                let pos = best.map_or(route.len() - 1, |b| b.1);
                pool.push(route.remove(pos));
            }
        }
        // Re-insert what was taken off or left out, tightest slots first.
        pool.sort_by_key(|&c| {
            let w = self.window(c);
            (w.1 - w.0, c)
        });
        let mut left = vec![];
        for c in pool {
            let mut best: Option<(u64, usize, usize)> = None;
            for (i, route) in routes.iter().enumerate() {
                if let Some((delta, pos)) = self.best_insertion(i, &origins[i], route, c, true)
                    && best.is_none_or(|b| delta < b.0)
                {
                    best = Some((delta, i, pos));
                }
            }
            match best {
                Some((_, i, pos)) => routes[i].insert(pos, c),
                None => left.push(c),
            }
        }
        left.sort_unstable();
        let unassigned = left
            .iter()
            .map(|&c| (self.visits[c - 1].key, self.reason(origins, &routes, c)))
            .collect();
        let out = routes
            .iter()
            .enumerate()
            .map(|(i, route)| self.collector_plan(i, &origins[i], route))
            .collect();
        DispatchPlan {
            routes: out,
            unassigned,
            iterations,
            first_plan_secs,
        }
    }

    fn reason(&self, origins: &[Origin], routes: &[Vec<usize>], c: usize) -> Reason {
        let reachable: Vec<usize> = (0..routes.len())
            .filter(|&i| self.fits(i, &origins[i], &[c], false).is_some())
            .collect();
        if reachable.is_empty() {
            Reason::OutOfReach
        } else if reachable.iter().any(|&i| {
            self.best_insertion(i, &origins[i], &routes[i], c, false)
                .is_some()
        }) {
            Reason::Balance
        } else {
            Reason::Busy
        }
    }

    fn collector_plan(&self, i: usize, origin: &Origin, route: &[usize]) -> CollectorPlan {
        let c = &self.collectors[i];
        let done = self.walk(0, u64::from(c.start), &origin.done);
        let rest = self.walk(origin.node, origin.depart, route);
        let done_walk: u64 = done.legs.iter().map(|l| l.walk).sum();
        let stop = |l: &Leg, is_done: bool| PlannedStop {
            visit: self.visits[l.node - 1].key,
            arrive: secs(l.arrive),
            eta: secs(l.eta),
            leave: secs(l.leave),
            walk_seconds: secs(l.walk),
            done: is_done,
        };
        let mut stops: Vec<PlannedStop> = done.legs.iter().map(|l| stop(l, true)).collect();
        stops.extend(rest.legs.iter().map(|l| stop(l, false)));
        CollectorPlan {
            collector: c.key,
            stops,
            back_at: secs(rest.back),
            walking_seconds: secs(done_walk + rest.walking),
        }
    }
}
