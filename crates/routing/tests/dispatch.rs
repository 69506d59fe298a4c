//! Dispatch: routes per collector from bookings, checked against the walking
//! model independently of the planner; balance, unassigned visits and their
//! reasons, collectors' own hours, re-planning, determinism, errors.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_routing::dispatch::{
    Balance, Collector, DispatchError, DispatchParams, DispatchPlan, Progress, Reason, Visit, plan,
    replan,
};
use doorstep_routing::estate::{EstateModel, Stop};
use doorstep_routing::rng::Rng;
use std::collections::{HashMap, HashSet};

/// A small estate: six buildings (stairs and lifts) and a garage.
const MODEL: &str = "
speed 1
lift 20 3
stairs 15
door 30
office 0 0
point gate 10 0
point east 60 0
building 1 10 40 stairs
building 2 10 80 stairs
building 3 60 40 lift
building 4 60 80 lift
building 5 110 0 lift
building 6 110 60 stairs
ramp B1 10 -20
space B001 B1 10 -50
space B002 B1 30 -50
space B003 B1 50 -50
path office gate
path gate b:1
path b:1 b:2
path gate east
path east b:3
path b:3 b:4
path east b:5
path b:5 b:6
path gate r:B1
";

/// Half an hour, the booking slot.
const SLOT: u32 = 1800;

fn room(b: &str, floor: i32) -> Stop {
    Stop::Room {
        building: b.into(),
        floor,
    }
}

fn visit(key: i64, stop: Stop, window: (u32, u32), service: u32) -> Visit {
    Visit {
        key,
        stop,
        window,
        service,
    }
}

fn collector(key: i64, start: u32, end: u32) -> Collector {
    Collector { key, start, end }
}

/// The whole evening, 19:00–21:00.
fn crew(k: i64) -> Vec<Collector> {
    (1..=k).map(|c| collector(100 + c, 0, 4 * SLOT)).collect()
}

fn params(seed: u64) -> DispatchParams {
    DispatchParams {
        time_limit_ms: 60_000,
        max_iterations: Some(2_000),
        seed,
        ..DispatchParams::default()
    }
}

/// A stop somewhere on the small estate.
fn small_stop(i: usize) -> Stop {
    match i % 9 {
        0 => room("1", 2),
        1 => room("2", 5),
        2 => room("3", 11),
        3 => room("4", 3),
        4 => room("5", 8),
        5 => room("6", 4),
        6 => Stop::Space("B001".into()),
        7 => Stop::Space("B003".into()),
        _ => room("1", 6),
    }
}

/// `per_slot` visits in each of the four slots.
fn evening(per_slot: usize) -> Vec<Visit> {
    let mut out = vec![];
    for slot in 0..4u32 {
        for j in 0..per_slot {
            let i = out.len();
            out.push(visit(
                1000 + i as i64,
                small_stop(i * 7 + j),
                (slot * SLOT, (slot + 1) * SLOT),
                180 + 60 * (i as u32 % 3),
            ));
        }
    }
    out
}

fn walk(model: &EstateModel, a: &Stop, b: &Stop) -> u32 {
    model.seconds(a, b).unwrap().ceil() as u32
}

/// Checks `plan` against the model, recomputing every time: each visit
/// exactly once (on a route or unassigned), every ETA inside its slot,
/// arrivals and departures from the walking times, back by the end of the
/// shift. With `now` (re-planning), each collector sets off again at
/// `max(now, start)` after their done stops.
fn check_plan(
    model: &EstateModel,
    visits: &[Visit],
    collectors: &[Collector],
    plan: &DispatchPlan,
    now: Option<u32>,
) {
    let by_key: HashMap<i64, &Visit> = visits.iter().map(|v| (v.key, v)).collect();
    let mut seen = HashSet::new();
    assert_eq!(
        plan.routes.len(),
        collectors.len(),
        "one route per collector"
    );
    for (route, c) in plan.routes.iter().zip(collectors) {
        assert_eq!(route.collector, c.key);
        let (mut at, mut t, mut walking) = (Stop::Office, c.start, 0);
        let mut under_way = false;
        for s in &route.stops {
            let v = by_key[&s.visit];
            assert!(seen.insert(s.visit), "visit {} twice", s.visit);
            if !s.done && !under_way {
                under_way = true;
                if let Some(now) = now {
                    t = now.max(c.start);
                }
            }
            assert!(!(s.done && under_way), "done stops come first");
            let w = walk(model, &at, &v.stop);
            assert_eq!(s.walk_seconds, w, "visit {}: walk", s.visit);
            assert_eq!(s.arrive, t + w, "visit {}: arrival", s.visit);
            assert_eq!(s.eta, s.arrive.max(v.window.0), "visit {}: eta", s.visit);
            if !s.done {
                assert!(
                    v.window.0 <= s.eta && s.eta <= v.window.1,
                    "visit {}: eta {} outside {:?}",
                    s.visit,
                    s.eta,
                    v.window
                );
            }
            assert_eq!(s.leave, s.eta + v.service);
            walking += w;
            t = s.leave;
            at = v.stop.clone();
        }
        if !under_way && let Some(now) = now {
            t = now.max(c.start);
        }
        let w = walk(model, &at, &Stop::Office);
        assert_eq!(route.back_at, t + w, "collector {}: back", c.key);
        assert!(route.back_at <= c.end, "collector {} back late", c.key);
        assert_eq!(route.walking_seconds, walking + w);
    }
    for (key, _) in &plan.unassigned {
        assert!(seen.insert(*key), "visit {key} both routed and unassigned");
    }
    let all: HashSet<i64> = visits.iter().map(|v| v.key).collect();
    assert_eq!(seen, all, "every visit routed or reported");
}

fn visits_of(plan: &DispatchPlan) -> Vec<usize> {
    plan.routes.iter().map(|r| r.stops.len()).collect()
}

#[test]
fn etas_lie_in_their_slots_and_match_the_walking_model() {
    let model = EstateModel::parse(MODEL).unwrap();
    let visits = evening(4);
    let collectors = crew(3);
    let p = plan(&model, &visits, &collectors, &params(1)).unwrap();
    check_plan(&model, &visits, &collectors, &p, None);
    assert!(p.unassigned.is_empty(), "{:?}", p.unassigned);
    assert!(p.iterations > 0);
    // Routes run in time order.
    for r in &p.routes {
        assert!(r.stops.windows(2).all(|w| w[0].leave <= w[1].arrive));
    }
}

#[test]
fn work_is_shared_among_collectors() {
    let model = EstateModel::parse(MODEL).unwrap();
    // Twelve visits anywhere in the evening: walking alone would send one collector.
    let visits: Vec<Visit> = (0..12)
        .map(|i| visit(i, small_stop(i as usize), (0, 4 * SLOT), 240))
        .collect();
    let collectors = crew(3);
    let p = plan(&model, &visits, &collectors, &params(2)).unwrap();
    check_plan(&model, &visits, &collectors, &p, None);
    assert!(p.unassigned.is_empty());
    let counts = visits_of(&p);
    // ceil(12 / 3) + slack 1.
    assert!(counts.iter().all(|&n| n <= 5), "{counts:?}");
    assert!(counts.iter().all(|&n| n >= 2), "{counts:?}");

    let tight = DispatchParams {
        balance: Balance::MaxVisits { slack: 0 },
        ..params(2)
    };
    let p = plan(&model, &visits, &collectors, &tight).unwrap();
    check_plan(&model, &visits, &collectors, &p, None);
    assert_eq!(visits_of(&p), vec![4, 4, 4]);

    // Without the cap the walking objective piles the work up.
    let off = DispatchParams {
        balance: Balance::Off,
        ..params(2)
    };
    let p = plan(&model, &visits, &collectors, &off).unwrap();
    check_plan(&model, &visits, &collectors, &p, None);
    let counts = visits_of(&p);
    assert!(counts.iter().any(|&n| n > 5), "{counts:?}");
}

#[test]
fn visits_that_cannot_fit_are_reported_with_a_reason() {
    let model = EstateModel::parse(MODEL).unwrap();
    let visits = vec![
        // Ten seconds after the start, a walk of minutes away.
        visit(1, room("6", 4), (0, 10), 180),
        // Ends the evening with a long visit: no time to walk back.
        visit(2, room("6", 4), (4 * SLOT - 100, 4 * SLOT), 600),
        // Two at the same minute at opposite ends of the estate.
        visit(3, room("2", 5), (SLOT, SLOT + 60), 300),
        visit(4, room("6", 1), (SLOT, SLOT + 60), 300),
        visit(5, Stop::Space("B002".into()), (2 * SLOT, 3 * SLOT), 180),
    ];
    let collectors = crew(1);
    let p = plan(&model, &visits, &collectors, &params(3)).unwrap();
    check_plan(&model, &visits, &collectors, &p, None);
    let reasons: HashMap<i64, Reason> = p.unassigned.iter().copied().collect();
    assert_eq!(reasons.get(&1), Some(&Reason::OutOfReach));
    assert_eq!(reasons.get(&2), Some(&Reason::OutOfReach));
    assert_eq!(p.unassigned.len(), 3, "{:?}", p.unassigned);
    let busy = if reasons.contains_key(&3) { 3 } else { 4 };
    assert_eq!(reasons[&busy], Reason::Busy);
    assert!(Reason::OutOfReach.to_string().contains("inside its slot"));
    // Visits keep their given order in the report.
    let keys: Vec<i64> = p.unassigned.iter().map(|u| u.0).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));

    // The balance cap: the second collector starts after the slot, so the first
    // could do all four but may take only two.
    let visits: Vec<Visit> = (0..4)
        .map(|i| visit(10 + i, small_stop(i as usize), (0, SLOT), 120))
        .collect();
    let collectors = vec![collector(1, 0, 2 * SLOT), collector(2, 2 * SLOT, 4 * SLOT)];
    let tight = DispatchParams {
        balance: Balance::MaxVisits { slack: 0 },
        ..params(3)
    };
    let p = plan(&model, &visits, &collectors, &tight).unwrap();
    check_plan(&model, &visits, &collectors, &p, None);
    assert_eq!(visits_of(&p), vec![2, 0]);
    assert_eq!(p.unassigned.len(), 2);
    assert!(p.unassigned.iter().all(|u| u.1 == Reason::Balance));
    let loose = DispatchParams {
        balance: Balance::MaxVisits { slack: 2 },
        ..params(3)
    };
    let p = plan(&model, &visits, &collectors, &loose).unwrap();
    check_plan(&model, &visits, &collectors, &p, None);
    assert!(p.unassigned.is_empty());
}

#[test]
fn each_collector_keeps_their_own_hours() {
    let model = EstateModel::parse(MODEL).unwrap();
    // One works the evening; one comes at 19:30 and must be back by 20:00.
    let collectors = vec![collector(1, 0, 4 * SLOT), collector(2, SLOT, 2 * SLOT)];
    let mut visits = vec![];
    for (slot, n) in [(0u32, 4), (1, 3), (3, 3)] {
        for _ in 0..n {
            let i = visits.len();
            visits.push(visit(
                i as i64,
                small_stop(i * 4),
                (slot * SLOT, (slot + 1) * SLOT),
                200,
            ));
        }
    }
    for seed in 1..=4 {
        let p = plan(&model, &visits, &collectors, &params(seed)).unwrap();
        check_plan(&model, &visits, &collectors, &p, None);
        assert!(p.unassigned.is_empty(), "{:?}", p.unassigned);
        let late = &p.routes[1];
        // Shares: ceil(10 × 4/5) + 1 = 9 and ceil(10 × 1/5) + 1 = 3.
        assert!(!late.stops.is_empty() && late.stops.len() <= 3);
        assert!(late.stops[0].arrive > SLOT);
        assert!(late.back_at <= 2 * SLOT);
    }
    // Three visits at 20:30 sharp at three corners of the estate: only the
    // first collector is still out, and can do one. The solver knows only the
    // latest end, so it gives one to the collector who has gone home by then;
    // the repair takes it back, and both are reported.
    for (key, stop) in [
        (20, room("2", 5)),
        (21, room("6", 4)),
        (22, Stop::Space("B003".into())),
    ] {
        visits.push(visit(key, stop, (3 * SLOT, 3 * SLOT + 60), 300));
    }
    for seed in 1..=4 {
        let p = plan(&model, &visits, &collectors, &params(seed)).unwrap();
        check_plan(&model, &visits, &collectors, &p, None);
        assert_eq!(p.unassigned.len(), 2, "{:?}", p.unassigned);
        assert!(
            p.unassigned
                .iter()
                .all(|u| u.0 >= 20 && u.1 == Reason::Busy)
        );
        assert!(p.routes[1].back_at <= 2 * SLOT);
    }
}

#[test]
fn replanning_keeps_done_stops_drops_cancelled_and_adds_new() {
    let model = EstateModel::parse(MODEL).unwrap();
    let visits = evening(3);
    let collectors = crew(3);
    let before = plan(&model, &visits, &collectors, &params(4)).unwrap();
    check_plan(&model, &visits, &collectors, &before, None);
    assert!(before.unassigned.is_empty());
    // At 19:50 every collector has done what the plan had them finish by then.
    let now = SLOT + 1200;
    let progress: Vec<Progress> = before
        .routes
        .iter()
        .map(|r| Progress {
            collector: r.collector,
            done: r
                .stops
                .iter()
                .filter(|s| s.leave <= now)
                .map(|s| s.visit)
                .collect(),
        })
        .collect();
    let done: HashSet<i64> = progress.iter().flat_map(|p| p.done.clone()).collect();
    assert!(!done.is_empty());
    // One booking is cancelled, one is added for 20:30.
    let cancelled = before
        .routes
        .iter()
        .flat_map(|r| &r.stops)
        .find(|s| !done.contains(&s.visit))
        .unwrap()
        .visit;
    let mut tonight: Vec<Visit> = visits
        .iter()
        .filter(|v| v.key != cancelled)
        .cloned()
        .collect();
    tonight.push(visit(9999, room("4", 7), (3 * SLOT, 4 * SLOT), 240));
    let after = replan(
        &model,
        &tonight,
        &collectors,
        &progress,
        now,
        &before,
        &params(4),
    )
    .unwrap();
    check_plan(&model, &tonight, &collectors, &after, Some(now));
    assert!(after.unassigned.is_empty(), "{:?}", after.unassigned);
    for (r, pr) in after.routes.iter().zip(&progress) {
        let head: Vec<i64> = r.stops[..pr.done.len()].iter().map(|s| s.visit).collect();
        assert_eq!(head, pr.done, "done stops stay in place");
        assert!(r.stops[..pr.done.len()].iter().all(|s| s.done));
        assert!(r.stops[pr.done.len()..].iter().all(|s| !s.done));
        assert!(r.stops[pr.done.len()..].iter().all(|s| s.arrive >= now));
    }
    let routed: HashSet<i64> = after
        .routes
        .iter()
        .flat_map(|r| r.stops.iter().map(|s| s.visit))
        .collect();
    assert!(!routed.contains(&cancelled));
    assert!(routed.contains(&9999));
}

#[test]
fn replanning_starts_from_the_previous_plan() {
    let model = EstateModel::parse(MODEL).unwrap();
    let visits = evening(3);
    let collectors = crew(3);
    let before = plan(&model, &visits, &collectors, &params(6)).unwrap();
    // No search at all: nothing has changed, so the plan comes back as it was.
    let no_search = DispatchParams {
        time_limit_ms: 0,
        max_iterations: None,
        ..params(6)
    };
    let after = replan(&model, &visits, &collectors, &[], 0, &before, &no_search).unwrap();
    assert_eq!(after.routes, before.routes);
    assert_eq!(after.iterations, 0);
}

#[test]
fn a_late_collector_visits_later() {
    let model = EstateModel::parse(MODEL).unwrap();
    let visits: Vec<Visit> = (0..5)
        .map(|i| visit(i, small_stop(i as usize * 2), (0, 4 * SLOT), 300))
        .collect();
    let collectors = crew(1);
    let before = plan(&model, &visits, &collectors, &params(5)).unwrap();
    check_plan(&model, &visits, &collectors, &before, None);
    let first = &before.routes[0].stops[0];
    // The first visit took half an hour longer than planned.
    let now = first.leave + SLOT;
    let progress = [Progress {
        collector: collectors[0].key,
        done: vec![first.visit],
    }];
    let after = replan(
        &model,
        &visits,
        &collectors,
        &progress,
        now,
        &before,
        &params(5),
    )
    .unwrap();
    check_plan(&model, &visits, &collectors, &after, Some(now));
    assert!(after.unassigned.is_empty());
    let old: HashMap<i64, u32> = before.routes[0]
        .stops
        .iter()
        .map(|s| (s.visit, s.eta))
        .collect();
    let (was, is) = (&before.routes[0].stops[0], &after.routes[0].stops[0]);
    assert!(is.done && !was.done);
    assert_eq!(
        (is.visit, is.eta, is.leave),
        (was.visit, was.eta, was.leave)
    );
    for s in &after.routes[0].stops[1..] {
        assert!(s.eta > old[&s.visit], "visit {} not later", s.visit);
        assert!(s.eta > now);
    }
    // Running so late that the shift is over: what is left is reported.
    let now = 4 * SLOT - 10;
    let after = replan(
        &model,
        &visits,
        &collectors,
        &progress,
        now,
        &before,
        &params(5),
    )
    .unwrap();
    assert_eq!(after.routes[0].stops.len(), 1);
    assert_eq!(after.unassigned.len(), 4);
    assert!(after.unassigned.iter().all(|u| u.1 == Reason::OutOfReach));
}

#[test]
fn same_seed_same_plan() {
    let model = EstateModel::parse(MODEL).unwrap();
    let visits = evening(4);
    let collectors = crew(3);
    let a = plan(&model, &visits, &collectors, &params(7)).unwrap();
    let b = plan(&model, &visits, &collectors, &params(7)).unwrap();
    assert_eq!(a.routes, b.routes);
    assert_eq!(a.unassigned, b.unassigned);
    let progress: Vec<Progress> = a
        .routes
        .iter()
        .map(|r| Progress {
            collector: r.collector,
            done: r.stops.iter().take(1).map(|s| s.visit).collect(),
        })
        .collect();
    let ra = replan(
        &model,
        &visits,
        &collectors,
        &progress,
        SLOT,
        &a,
        &params(7),
    )
    .unwrap();
    let rb = replan(
        &model,
        &visits,
        &collectors,
        &progress,
        SLOT,
        &a,
        &params(7),
    )
    .unwrap();
    assert_eq!(ra.routes, rb.routes);
    assert_eq!(ra.unassigned, rb.unassigned);
}

#[test]
fn nothing_to_plan_is_quick_and_empty() {
    let model = EstateModel::parse(MODEL).unwrap();
    let collectors = crew(2);
    let slow = DispatchParams {
        time_limit_ms: 10_000,
        max_iterations: None,
        ..DispatchParams::default()
    };
    let t = std::time::Instant::now();
    let p = plan(&model, &[], &collectors, &slow).unwrap();
    assert!(t.elapsed().as_secs() < 5);
    assert!(p.unassigned.is_empty());
    assert!(
        p.routes
            .iter()
            .all(|r| r.stops.is_empty() && r.back_at == 0)
    );
}

#[test]
fn errors_name_what_is_wrong() {
    let model = EstateModel::parse(MODEL).unwrap();
    let ok = vec![visit(1, room("1", 2), (0, SLOT), 120)];
    let p = params(1);
    let e = plan(&model, &ok, &[], &p).unwrap_err();
    assert_eq!(e, DispatchError::NoCollectors);
    assert!(e.to_string().contains("no collectors"));

    for window in [(600, 600), (900, 600)] {
        let bad = vec![visit(7, room("1", 2), window, 120)];
        let e = plan(&model, &bad, &crew(1), &p).unwrap_err();
        assert!(matches!(e, DispatchError::EmptyWindow { visit: 7, .. }));
        let msg = e.to_string();
        assert!(msg.contains("visit 7") && msg.contains("empty"), "{msg}");
    }

    let bad = vec![visit(5, room("9", 2), (0, SLOT), 120)];
    let msg = plan(&model, &bad, &crew(1), &p).unwrap_err().to_string();
    assert!(
        msg.contains("visit 5") && msg.contains("no building 9"),
        "{msg}"
    );
    let bad = vec![visit(6, Stop::Space("Z999".into()), (0, SLOT), 120)];
    let msg = plan(&model, &bad, &crew(1), &p).unwrap_err().to_string();
    assert!(
        msg.contains("visit 6") && msg.contains("no parking space Z999"),
        "{msg}"
    );

    let twice = vec![ok[0].clone(), ok[0].clone()];
    assert_eq!(
        plan(&model, &twice, &crew(1), &p).unwrap_err(),
        DispatchError::DuplicateVisit(1)
    );
    let two = vec![collector(3, 0, SLOT), collector(3, 0, SLOT)];
    assert_eq!(
        plan(&model, &ok, &two, &p).unwrap_err(),
        DispatchError::DuplicateCollector(3)
    );
    let e = plan(&model, &ok, &[collector(3, SLOT, 0)], &p).unwrap_err();
    assert!(e.to_string().contains("collector 3"), "{e}");

    let before = plan(&model, &ok, &crew(1), &p).unwrap();
    let who = crew(1)[0].key;
    let progress = |collector: i64, done: Vec<i64>| vec![Progress { collector, done }];
    let e = replan(
        &model,
        &ok,
        &crew(1),
        &progress(who, vec![42]),
        0,
        &before,
        &p,
    )
    .unwrap_err();
    assert_eq!(
        e,
        DispatchError::UnknownDoneVisit {
            collector: who,
            visit: 42
        }
    );
    assert!(e.to_string().contains("visit 42"));
    let e = replan(
        &model,
        &ok,
        &crew(1),
        &progress(77, vec![1]),
        0,
        &before,
        &p,
    )
    .unwrap_err();
    assert_eq!(e, DispatchError::UnknownCollector(77));
    let e = replan(
        &model,
        &ok,
        &crew(1),
        &progress(who, vec![1, 1]),
        0,
        &before,
        &p,
    )
    .unwrap_err();
    assert_eq!(e, DispatchError::DoneTwice(1));
}

/// A synthetic estate like the demo: 32 buildings along lanes (walk-ups with
/// stairs, towers with lifts) and a two-level garage with 320 spaces.
fn demo_like_model() -> String {
    let mut m = String::from("speed 1.2\nlift 25 3\nstairs 14\ndoor 40\noffice 0 0\n");
    for c in 0..=8 {
        m.push_str(&format!("point m{c} {} 10\n", 10 + c * 40));
        if c > 0 {
            m.push_str(&format!("path m{} m{c}\n", c - 1));
        }
    }
    m.push_str("path office m0\n");
    for b in 1..=32 {
        let (row, col) = ((b - 1) / 8, (b - 1) % 8);
        let kind = if b <= 20 { "stairs" } else { "lift" };
        m.push_str(&format!(
            "point l{col}_{row} {} {}\n",
            10 + col * 40,
            30 + row * 40
        ));
        m.push_str(&format!(
            "building {b} {} {} {kind}\n",
            30 + col * 40,
            30 + row * 40
        ));
        m.push_str(&format!("path l{col}_{row} b:{b}\n"));
        let below = if row == 0 {
            format!("m{col}")
        } else {
            format!("l{col}_{}", row - 1)
        };
        m.push_str(&format!("path {below} l{col}_{row}\n"));
    }
    m.push_str("ramp B1 170 0\npath m4 r:B1\nramp B2 330 0\npath m8 r:B2\n");
    for i in 0..320 {
        let (level, base, k) = if i < 200 {
            ("B1", 130, i)
        } else {
            ("B2", 290, i - 200)
        };
        m.push_str(&format!(
            "space B{:03} {level} {} {}\n",
            i + 1,
            base + (k % 40) * 2,
            -10 - (k / 40) * 5
        ));
    }
    m
}

#[test]
fn a_demo_sized_evening_is_planned_in_full() {
    let model = EstateModel::parse(&demo_like_model()).unwrap();
    let mut rng = Rng::new(11);
    // 4 collectors × 4 visits per slot.
    let mut visits = vec![];
    for slot in 0..4u32 {
        for _ in 0..16 {
            let stop = if rng.below(5) == 0 {
                Stop::Space(format!("B{:03}", 1 + rng.below(320)))
            } else {
                let b = 1 + rng.below(32);
                let floors = if b <= 20 { 6 } else { 18 };
                room(&b.to_string(), 1 + rng.below(floors) as i32)
            };
            let key = visits.len() as i64;
            visits.push(visit(
                key,
                stop,
                (slot * SLOT, (slot + 1) * SLOT),
                180 + 60 * rng.below(3) as u32,
            ));
        }
    }
    // Back by 21:15: the last slot's visits need time to finish.
    let collectors: Vec<Collector> = (1..=4).map(|c| collector(c, 0, 4 * SLOT + 900)).collect();
    let p = plan(&model, &visits, &collectors, &params(1)).unwrap();
    check_plan(&model, &visits, &collectors, &p, None);
    assert!(p.unassigned.is_empty(), "{:?}", p.unassigned);
    assert!(visits_of(&p).iter().all(|&n| n <= 64 / 4 + 1));
}
