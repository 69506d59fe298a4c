//! The solver: ruin and recreate with string removals and blinking greedy
//! insertion under simulated annealing (after Christiaens & Vanden Berghe's
//! SISR, 2020). Time windows and capacity are hard: every solution it holds
//! is feasible; customers that fit nowhere stay unassigned and are reported.
//!
//! Insertion is checked in O(1) per position from two arrays kept per
//! route: the earliest service start at each position (forward) and the
//! latest start that keeps the rest of the route feasible (backward).

use crate::Instance;
use crate::rng::Rng;
use serde::Serialize;
use std::time::{Duration, Instant};

/// What the solver may spend and how it draws.
#[derive(Debug, Clone)]
pub struct Params {
    /// Seed: the same seed and iteration budget give the same routes.
    pub seed: u64,
    /// Wall-clock budget.
    pub time_limit: Duration,
    /// Iteration budget (deterministic runs set this and a long time limit).
    pub max_iterations: Option<u64>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            seed: 1,
            time_limit: Duration::from_secs(1),
            max_iterations: None,
        }
    }
}

/// The best solution found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Solution {
    /// Routes of customer node indices, depot excluded.
    pub routes: Vec<Vec<usize>>,
    /// Total distance.
    pub distance: f64,
    /// Customers that fit in no route (window, capacity or fleet).
    pub unassigned: Vec<usize>,
    /// Ruin-and-recreate iterations run.
    pub iterations: u64,
    /// Seconds until the first solution.
    pub first_solution_secs: f64,
}

/// Average customers removed per iteration (SISR's c̄).
const AVG_REMOVED: f64 = 10.0;
/// Longest string removed (SISR's L_max).
const MAX_STRING: f64 = 10.0;
/// Chance to skip a position while inserting (SISR's blink rate).
const BLINK: f64 = 0.01;
/// Annealing temperatures (start, end), in distance units.
const T_START: f64 = 100.0;
const T_END: f64 = 1.0;
/// Cost of leaving a customer out, far above any route's length.
const UNASSIGNED_PENALTY: f64 = 1e7;
/// Time-comparison slack.
const EPS: f64 = 1e-9;

#[derive(Clone)]
struct Route {
    /// Where the vehicle is: the depot, or when re-planning the customer it just served.
    origin: usize,
    /// When it may leave `origin` (None: when the depot opens).
    departure: Option<f64>,
    /// Load already delivered before `origin` (re-planning).
    base_load: i64,
    /// A vehicle under way: kept even when it has nothing left to do.
    pinned: bool,
    /// Customers, depot excluded.
    nodes: Vec<usize>,
    /// Earliest service start at each position of [depot, nodes…, depot].
    start: Vec<f64>,
    /// Latest service start at each position that keeps the rest feasible.
    latest: Vec<f64>,
    load: i64,
    cost: f64,
}

impl Route {
    fn new(inst: &Instance, nodes: Vec<usize>) -> Route {
        let mut r = Route {
            origin: 0,
            departure: None,
            base_load: 0,
            pinned: false,
            nodes,
            start: vec![],
            latest: vec![],
            load: 0,
            cost: 0.0,
        };
        r.update(inst);
        r
    }

    #[inline]
    fn at(&self, p: usize) -> usize {
        if p == 0 {
            self.origin
        } else if p > self.nodes.len() {
            0
        } else {
            self.nodes[p - 1]
        }
    }

    fn update(&mut self, inst: &Instance) {
        let m = self.nodes.len() + 2;
        self.start.resize(m, 0.0);
        self.latest.resize(m, 0.0);
        // Chosen so that start + service at the origin is the departure time.
        self.start[0] = match self.departure {
            Some(t) => t - inst.service[self.origin],
            None => inst.ready[0],
        };
        let mut cost = 0.0;
        let mut load = self.base_load;
        for p in 1..m {
            let (a, b) = (self.at(p - 1), self.at(p));
            cost += inst.d(a, b);
            load += inst.demand[b];
            self.start[p] = (self.start[p - 1] + inst.service[a] + inst.d(a, b)).max(inst.ready[b]);
        }
        self.latest[m - 1] = inst.due[0];
        for p in (0..m - 1).rev() {
            let (a, b) = (self.at(p), self.at(p + 1));
            self.latest[p] = inst.due[a].min(self.latest[p + 1] - inst.d(a, b) - inst.service[a]);
        }
        self.cost = cost;
        self.load = load;
    }

    /// Extra distance of inserting `c` after position `p`, if feasible.
    #[inline]
    fn insert_delta(&self, inst: &Instance, c: usize, p: usize) -> Option<f64> {
        let (a, b) = (self.at(p), self.at(p + 1));
        let tc = (self.start[p] + inst.service[a] + inst.d(a, c)).max(inst.ready[c]);
        if tc > inst.due[c] + EPS {
            return None;
        }
        let tb = (tc + inst.service[c] + inst.d(c, b)).max(inst.ready[b]);
        if tb > self.latest[p + 1] + EPS {
            return None;
        }
        Some(inst.d(a, c) + inst.d(c, b) - inst.d(a, b))
    }
}

#[derive(Clone)]
struct State {
    routes: Vec<Route>,
    unassigned: Vec<usize>,
}

/// What leaving `c` out costs: its penalty if optional, else far more than any route.
fn drop_cost(inst: &Instance, c: usize) -> f64 {
    inst.penalty[c].unwrap_or(UNASSIGNED_PENALTY)
}

impl State {
    fn cost(&self, inst: &Instance) -> f64 {
        self.routes.iter().map(|r| r.cost).sum::<f64>()
            + self
                .unassigned
                .iter()
                .map(|&c| drop_cost(inst, c))
                .sum::<f64>()
    }
    fn distance(&self) -> f64 {
        self.routes.iter().map(|r| r.cost).sum()
    }
}

struct Ctx<'a> {
    inst: &'a Instance,
    /// Routes the fleet allows.
    max_routes: usize,
    /// Customers sorted by distance from each node.
    near: Vec<Vec<usize>>,
}

/// Why a customer was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Its demand exceeds a vehicle's capacity.
    Capacity,
    /// Even a vehicle going straight there and back cannot meet its window
    /// within the shift.
    TimeWindow,
    /// It would fit alone, but every vehicle is in use and none has room.
    Fleet,
    /// An optional stop whose detour costs more than leaving it out.
    NotWorthIt,
}

impl DropReason {
    /// The reason in words.
    pub fn describe(self) -> &'static str {
        match self {
            DropReason::Capacity => "its demand exceeds a vehicle's capacity",
            DropReason::TimeWindow => {
                "its time window cannot be met even by a vehicle going straight there and back within the shift"
            }
            DropReason::Fleet => "every vehicle is in use and none has room for it",
            DropReason::NotWorthIt => {
                "it is optional and serving it would cost more than its penalty for leaving it out"
            }
        }
    }
}

/// Why customer `c` could not be served.
pub fn why_dropped(inst: &Instance, c: usize) -> DropReason {
    if inst.demand[c] > inst.capacity {
        return DropReason::Capacity;
    }
    let alone = Route::new(inst, vec![c]);
    if alone
        .start
        .iter()
        .zip(&alone.latest)
        .any(|(a, b)| *a > *b + EPS)
    {
        DropReason::TimeWindow
    } else if inst.penalty[c].is_some() {
        DropReason::NotWorthIt
    } else {
        DropReason::Fleet
    }
}

/// Solves `inst` within `params`' budget.
pub fn solve(inst: &Instance, params: &Params) -> Solution {
    let started = Instant::now();
    let n = inst.n();
    let near = (0..n)
        .map(|i| {
            let mut v: Vec<usize> = (1..n).filter(|&j| j != i).collect();
            v.sort_by(|&a, &b| inst.d(i, a).total_cmp(&inst.d(i, b)));
            v
        })
        .collect();
    let ctx = Ctx {
        inst,
        near,
        max_routes: inst.fleet,
    };
    let start = State {
        routes: vec![],
        unassigned: vec![],
    };
    let mut sol = search(&ctx, start, (1..n).collect(), params, started);
    sol.routes.retain(|r| !r.is_empty());
    sol
}

/// Runs `threads` independent searches in parallel (seeds `seed`,
/// `seed + 1`, …) and keeps the best: fewest unserved stops, then shortest.
/// With an iteration budget the result is the same on every run.
pub fn solve_parallel(inst: &Instance, params: &Params, threads: usize) -> Solution {
    let threads = threads.max(1);
    let runs: Vec<Solution> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads as u64)
            .map(|k| {
                let p = Params {
                    seed: params.seed.wrapping_add(k),
                    ..params.clone()
                };
                scope.spawn(move || solve(inst, &p))
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut best: Option<Solution> = None;
    for sol in runs {
        let better = best.as_ref().is_none_or(|b| {
            (sol.unassigned.len(), sol.distance) < (b.unassigned.len(), b.distance)
        });
        if better {
            best = Some(sol);
        }
    }
    // A search thread can only fail by panicking; fall back to one search here.
    best.unwrap_or_else(|| solve(inst, params))
}

/// Where a vehicle under way is when re-planning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VehicleStart {
    /// Its node: the depot (0) or the customer it just served.
    pub node: usize,
    /// When it can leave that node.
    pub time: f64,
    /// Capacity already used (demand delivered so far).
    pub load: i64,
}

/// Re-plans the `remaining` customers for vehicles under way: visited stops
/// stay done, each vehicle continues from where it is. `planned` (one list
/// per vehicle, may be empty) is the rest of the current plan: the search
/// starts from it, keeping what still fits, so the answer is never worse
/// than carrying on; customers in `remaining` but in no plan (a booking added
/// tonight, or a visit that no longer fits where it was) are inserted. The
/// routes returned are one per vehicle, in the order given, customers still
/// to visit only; their distance runs from each vehicle's position back to
/// the depot.
pub fn replan(
    inst: &Instance,
    vehicles: &[VehicleStart],
    planned: &[Vec<usize>],
    remaining: &[usize],
    params: &Params,
) -> Solution {
    let started = Instant::now();
    let near = (0..inst.n())
        .map(|i| {
            let mut v: Vec<usize> = remaining.iter().copied().filter(|&j| j != i).collect();
            v.sort_by(|&a, &b| inst.d(i, a).total_cmp(&inst.d(i, b)));
            v
        })
        .collect();
    let ctx = Ctx {
        inst,
        near,
        max_routes: vehicles.len(),
    };
    let wanted: std::collections::HashSet<usize> = remaining.iter().copied().collect();
    let mut placed = std::collections::HashSet::new();
    let mut routes = Vec::with_capacity(vehicles.len());
    for (i, v) in vehicles.iter().enumerate() {
        let mut r = Route {
            origin: v.node,
            departure: Some(v.time),
            base_load: v.load,
            pinned: true,
            nodes: vec![],
            start: vec![],
            latest: vec![],
            load: 0,
            cost: 0.0,
        };
        r.update(inst);
        // Keep the planned order as far as it still fits.
        for &c in planned.get(i).map(Vec::as_slice).unwrap_or(&[]) {
            let end = r.nodes.len();
            if wanted.contains(&c)
                && !placed.contains(&c)
                && r.load + inst.demand[c] <= inst.capacity
                && r.insert_delta(inst, c, end).is_some()
            {
                r.nodes.push(c);
                r.update(inst);
                placed.insert(c);
            }
        }
        routes.push(r);
    }
    let rest: Vec<usize> = remaining
        .iter()
        .copied()
        .filter(|c| !placed.contains(c))
        .collect();
    search(
        &ctx,
        State {
            routes,
            unassigned: vec![],
        },
        rest,
        params,
        started,
    )
}

/// Builds a first solution from `start` by inserting `customers`, then
/// improves it by ruin and recreate until the budget is spent.
fn search(
    ctx: &Ctx,
    start: State,
    mut all: Vec<usize>,
    params: &Params,
    started: Instant,
) -> Solution {
    let inst = ctx.inst;
    let mut rng = Rng::new(params.seed);
    let mut cur = start;
    // First solution: insert the hardest customers (tightest windows) first.
    all.sort_by(|&a, &b| (inst.due[a] - inst.ready[a]).total_cmp(&(inst.due[b] - inst.ready[b])));
    recreate(ctx, &mut cur, all, &mut rng, false);
    let first_solution_secs = started.elapsed().as_secs_f64();
    let mut best = cur.clone();
    let mut iterations = 0u64;
    loop {
        let progress = match params.max_iterations {
            Some(m) => iterations as f64 / m.max(1) as f64,
            None => started.elapsed().as_secs_f64() / params.time_limit.as_secs_f64().max(1e-9),
        };
        if progress >= 1.0
            || (iterations.is_multiple_of(64) && started.elapsed() >= params.time_limit)
        {
            break;
        }
        iterations += 1;
        let temperature = T_START * (T_END / T_START).powf(progress.min(1.0));
        let mut cand = cur.clone();
        let removed = ruin(ctx, &mut cand, &mut rng);
        recreate(ctx, &mut cand, removed, &mut rng, true);
        let threshold = cur.cost(inst) - temperature * rng.unit().max(1e-12).ln();
        if cand.cost(inst) < threshold {
            cur = cand;
            if cur.cost(inst) < best.cost(inst) - 1e-9 {
                best = cur.clone();
            }
        }
    }
    let routes: Vec<Vec<usize>> = best.routes.iter().map(|r| r.nodes.clone()).collect();
    let mut unassigned = best.unassigned.clone();
    unassigned.sort_unstable();
    Solution {
        distance: best.distance(),
        routes,
        unassigned,
        iterations,
        first_solution_secs,
    }
}

/// Removes strings of customers near a random seed customer (SISR).
fn ruin(ctx: &Ctx, s: &mut State, rng: &mut Rng) -> Vec<usize> {
    let inst = ctx.inst;
    let routed: usize = s.routes.iter().map(|r| r.nodes.len()).sum();
    if routed == 0 {
        return vec![];
    }
    let non_empty = s
        .routes
        .iter()
        .filter(|r| !r.nodes.is_empty())
        .count()
        .max(1);
    let avg_len = routed as f64 / non_empty as f64;
    let l_max = MAX_STRING.min(avg_len);
    let k_max = 4.0 * AVG_REMOVED / (1.0 + l_max) - 1.0;
    let k_s = (rng.unit() * k_max).floor() as usize + 1;
    let mut route_of = vec![usize::MAX; inst.n()];
    for (ri, r) in s.routes.iter().enumerate() {
        for &c in &r.nodes {
            route_of[c] = ri;
        }
    }
    let seed = 1 + rng.below(inst.n() - 1);
    let mut ruined = Vec::new();
    let mut removed = Vec::new();
    for &c in std::iter::once(&seed).chain(ctx.near[seed].iter()) {
        if ruined.len() >= k_s {
            break;
        }
        let ri = route_of[c];
        if ri == usize::MAX || ruined.contains(&ri) {
            continue;
        }
        let route = &mut s.routes[ri];
        let len = route.nodes.len();
        let l = ((rng.unit() * l_max.min(len as f64)).floor() as usize + 1).min(len);
        let pos = route.nodes.iter().position(|&x| x == c).unwrap_or(0);
        // A string of length l containing c, at a random offset.
        let lo_min = (pos + 1).saturating_sub(l);
        let lo_max = pos.min(len - l);
        let lo = lo_min + rng.below(lo_max - lo_min + 1);
        removed.extend(route.nodes.drain(lo..lo + l));
        route.update(inst);
        ruined.push(ri);
    }
    for &c in &removed {
        route_of[c] = usize::MAX;
    }
    removed.append(&mut s.unassigned);
    s.routes.retain(|r| r.pinned || !r.nodes.is_empty());
    removed
}

/// Inserts `customers` one by one at their cheapest feasible position,
/// opening a route when none fits and the fleet allows.
fn recreate(ctx: &Ctx, s: &mut State, mut customers: Vec<usize>, rng: &mut Rng, reorder: bool) {
    let inst = ctx.inst;
    if reorder {
        match rng.below(11) {
            0..=3 => shuffle(&mut customers, rng),
            4..=7 => customers.sort_by_key(|&c| std::cmp::Reverse(inst.demand[c])),
            8..=9 => customers.sort_by(|&a, &b| inst.d(0, b).total_cmp(&inst.d(0, a))),
            _ => customers.sort_by(|&a, &b| inst.d(0, a).total_cmp(&inst.d(0, b))),
        }
    }
    for c in customers {
        let mut best: Option<(f64, usize, usize)> = None;
        for (ri, r) in s.routes.iter().enumerate() {
            if r.load + inst.demand[c] > inst.capacity {
                continue;
            }
            for p in 0..=r.nodes.len() {
                if reorder && rng.unit() < BLINK {
                    continue;
                }
                if let Some(delta) = r.insert_delta(inst, c, p)
                    && best.is_none_or(|b| delta < b.0)
                {
                    best = Some((delta, ri, p));
                }
            }
        }
        // A route of its own competes on cost: with vehicles free, a lone
        // far-away customer may be cheaper on its own route.
        let alone = if s.routes.len() < ctx.max_routes {
            let r = Route::new(inst, vec![c]);
            (r.start.iter().zip(&r.latest).all(|(a, b)| *a <= *b + EPS) && r.load <= inst.capacity)
                .then_some(r)
        } else {
            None
        };
        // An optional stop is left out when even its cheapest place costs more than its penalty.
        let cheapest = best
            .map(|b| b.0)
            .into_iter()
            .chain(alone.as_ref().map(|r| r.cost))
            .fold(f64::INFINITY, f64::min);
        if inst.penalty[c].is_some_and(|p| cheapest >= p) {
            s.unassigned.push(c);
            continue;
        }
        match (best, alone) {
            (Some((delta, _, _)), Some(r)) if r.cost < delta => s.routes.push(r),
            (Some((_, ri, p)), _) => {
                let r = &mut s.routes[ri];
                r.nodes.insert(p, c);
                r.update(inst);
            }
            (None, Some(r)) => s.routes.push(r),
            (None, None) => s.unassigned.push(c),
        }
    }
}

fn shuffle(v: &mut [usize], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i + 1);
        v.swap(i, j);
    }
}
