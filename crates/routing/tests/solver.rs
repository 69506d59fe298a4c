//! The solver on random and tiny instances, checked independently; the
//! parsers on well-formed and malformed files.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_routing::rng::Rng;
use doorstep_routing::{Instance, Params, Violation, check, parse, solve};
use std::time::Duration;

/// A random instance: customers on a 100 × 100 square, windows of random
/// width around a reachable time, demands up to a fifth of the capacity.
fn random_instance(seed: u64, customers: usize) -> Instance {
    let mut rng = Rng::new(seed);
    let horizon = 1000.0;
    let mut coords = vec![(50.0, 50.0)];
    let (mut demand, mut ready, mut due, mut service) =
        (vec![0], vec![0.0], vec![horizon], vec![0.0]);
    for _ in 0..customers {
        let p = (rng.unit() * 100.0, rng.unit() * 100.0);
        let direct = ((p.0 - 50.0).powi(2) + (p.1 - 50.0).powi(2)).sqrt();
        let earliest = direct;
        let latest = horizon - 10.0 - direct;
        let centre = earliest + rng.unit() * (latest - earliest);
        let width = 20.0 + rng.unit() * 200.0;
        coords.push(p);
        demand.push(1 + rng.below(20) as i64);
        ready.push((centre - width / 2.0).max(0.0));
        due.push((centre + width / 2.0).min(latest));
        service.push(10.0);
    }
    let ids = (0..=customers).map(|i| i.to_string()).collect();
    Instance::euclidean(
        "random", ids, coords, demand, ready, due, service, 100, customers,
    )
}

fn quick(seed: u64) -> Params {
    Params {
        seed,
        time_limit: Duration::from_secs(60),
        max_iterations: Some(2_000),
    }
}

#[test]
fn random_instances_are_solved_feasibly_and_distance_is_exact() {
    for seed in 0..20 {
        let inst = random_instance(seed, 40);
        let sol = solve(&inst, &quick(seed));
        assert!(
            sol.unassigned.is_empty(),
            "seed {seed}: every customer fits when each can have its own vehicle"
        );
        let checked = check(&inst, &sol.routes, &[]).unwrap_or_else(|v| panic!("seed {seed}: {v}"));
        assert!(
            (checked.distance - sol.distance).abs() < 1e-6,
            "seed {seed}: reported {} recomputed {}",
            sol.distance,
            checked.distance
        );
        assert_eq!(checked.vehicles, sol.routes.len());
    }
}

#[test]
fn same_seed_same_routes() {
    let inst = random_instance(7, 50);
    let a = solve(&inst, &quick(42));
    let b = solve(&inst, &quick(42));
    assert_eq!(a.routes, b.routes);
    assert_eq!(a.distance, b.distance);
}

/// The optimum by brute force: every order of the customers, cut into routes every possible way.
fn brute_force(inst: &Instance) -> f64 {
    let customers: Vec<usize> = (1..inst.n()).collect();
    let mut best = f64::INFINITY;
    let mut perm = customers.clone();
    permutations(&mut perm, 0, &mut |order| {
        let k = order.len();
        for cuts in 0..(1u32 << (k - 1)) {
            let mut routes = vec![vec![order[0]]];
            for (i, &c) in order.iter().enumerate().skip(1) {
                if cuts & (1 << (i - 1)) != 0 {
                    routes.push(vec![]);
                }
                routes.last_mut().unwrap().push(c);
            }
            if let Ok(c) = check(inst, &routes, &[]) {
                best = best.min(c.distance);
            }
        }
    });
    best
}

fn permutations(v: &mut Vec<usize>, k: usize, f: &mut dyn FnMut(&[usize])) {
    if k == v.len() {
        f(v);
        return;
    }
    for i in k..v.len() {
        v.swap(k, i);
        permutations(v, k + 1, f);
        v.swap(k, i);
    }
}

#[test]
fn tiny_instances_reach_the_brute_force_optimum() {
    for seed in 100..110 {
        let mut inst = random_instance(seed, 6);
        inst.capacity = 30; // capacity binds: several routes
        if let Some(i) = inst.demand.iter().position(|&d| d > 30) {
            inst.demand[i] = 30;
        }
        let optimum = brute_force(&inst);
        let sol = solve(
            &inst,
            &Params {
                seed,
                time_limit: Duration::from_secs(60),
                max_iterations: Some(3_000),
            },
        );
        let got = check(&inst, &sol.routes, &[]).unwrap().distance;
        assert!(
            (got - optimum).abs() < 1e-6,
            "seed {seed}: solver {got}, optimum {optimum}"
        );
    }
}

#[test]
fn customers_that_fit_nowhere_are_reported() {
    let mut inst = random_instance(3, 10);
    // Customer 4's window closes before anyone could get there.
    inst.due[4] = 0.5;
    inst.ready[4] = 0.0;
    let sol = solve(&inst, &quick(1));
    assert_eq!(sol.unassigned, vec![4]);
    assert_eq!(
        doorstep_routing::why_dropped(&inst, 4),
        doorstep_routing::DropReason::TimeWindow
    );
    assert!(check(&inst, &sol.routes, &sol.unassigned).is_ok());
    assert!(matches!(check(&inst, &sol.routes, &[]), Err(Violation::Missing(id)) if id == "4"));
}

#[test]
fn checker_catches_each_violation() {
    let mut inst = random_instance(5, 5);
    // Wide windows, so that only the violation under test can trip.
    for c in 1..inst.n() {
        inst.ready[c] = 0.0;
        inst.due[c] = 900.0;
    }
    let all: Vec<usize> = (1..=5).collect();
    assert!(matches!(
        check(&inst, &[vec![1, 2], vec![2, 3, 4, 5]], &[]),
        Err(Violation::Twice(_))
    ));
    assert!(matches!(
        check(&inst, &[vec![1, 2, 3, 4]], &[]),
        Err(Violation::Missing(_))
    ));
    assert!(matches!(
        check(&inst, &[vec![1, 2, 3, 4, 9]], &[]),
        Err(Violation::NotACustomer { .. })
    ));
    let mut small = inst.clone();
    small.capacity = 1;
    assert!(matches!(
        check(&small, std::slice::from_ref(&all), &[]),
        Err(Violation::Capacity { .. }) | Err(Violation::Late { .. })
    ));
    let mut short = inst.clone();
    short.due[0] = 1.0;
    assert!(
        check(
            &short,
            &all.iter().map(|&c| vec![c]).collect::<Vec<_>>(),
            &[]
        )
        .is_err()
    );
}

const SOLOMON: &str = "TINY\r\n\r\nVEHICLE\r\nNUMBER     CAPACITY\r\n  3         20\r\n\r\nCUSTOMER\r\nCUST NO.   XCOORD.   YCOORD.    DEMAND   READY TIME   DUE DATE   SERVICE TIME\r\n \r\n    0   0   0   0   0   1000   0\r\n    1   3   4   5   0   100   10\r\n    2   6   8   5   0   200   10\r\n";

#[test]
fn solomon_format() {
    let inst = parse(SOLOMON).unwrap();
    assert_eq!(
        (inst.name.as_str(), inst.n(), inst.capacity, inst.fleet),
        ("TINY", 3, 20, 3)
    );
    assert_eq!(inst.d(0, 1), 5.0);
    let sol = solve(&inst, &quick(1));
    assert_eq!(sol.routes.len(), 1, "both fit on one vehicle: {sol:?}");
    assert!((sol.distance - 20.0).abs() < 1e-9);
}

#[test]
fn vrplib_explicit_matrix_with_windows() {
    let text = "NAME : M3\nTYPE : VRPTW\nDIMENSION : 3\nVEHICLES : 2\nCAPACITY : 10\nEDGE_WEIGHT_TYPE : EXPLICIT\nEDGE_WEIGHT_FORMAT : LOWER_ROW\nEDGE_WEIGHT_SECTION\n4\n6 3\nDEMAND_SECTION\n1 0\n2 4\n3 4\nTIME_WINDOW_SECTION\n1 0 100\n2 0 50\n3 0 50\nSERVICE_TIME_SECTION\n1 0\n2 1\n3 1\nDEPOT_SECTION\n1\n-1\nEOF\n";
    let inst = parse(text).unwrap();
    assert_eq!(
        (inst.d(0, 1), inst.d(0, 2), inst.d(1, 2), inst.d(2, 1)),
        (4.0, 6.0, 3.0, 3.0)
    );
    assert_eq!(inst.ids, vec!["1", "2", "3"]);
    assert_eq!(inst.service, vec![0.0, 1.0, 1.0]);
    let sol = solve(&inst, &quick(1));
    assert!((sol.distance - 13.0).abs() < 1e-9, "{sol:?}");
}

#[test]
fn vrplib_coordinates_round_like_tsplib_and_depot_moves_first() {
    let text = "NAME : C\nDIMENSION : 3\nCAPACITY : 10\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1 1\n3 5 5\nDEMAND_SECTION\n1 1\n2 0\n3 1\nDEPOT_SECTION\n2\n-1\nEOF\n";
    let inst = parse(text).unwrap();
    assert_eq!(inst.ids, vec!["2", "1", "3"]);
    assert_eq!(inst.d(0, 1), 1.0, "sqrt(2) rounds to 1");
}

#[test]
fn malformed_files_name_the_line() {
    let cases: [(&str, usize, &str); 6] = [
        (
            &SOLOMON.replace(
                "    2   6   8   5   0   200   10",
                "    2   6   8   5   0   200",
            ),
            12,
            "7 columns",
        ),
        (
            &SOLOMON.replace("   0   100   10", "   0   abc   10"),
            11,
            "not a number",
        ),
        (
            &SOLOMON.replace("   0   200   10", "   300   200   10"),
            12,
            "before ready",
        ),
        (
            "NAME : X\nDIMENSION : 3\nEDGE_WEIGHT_TYPE : EXPLICIT\nEDGE_WEIGHT_FORMAT : LOWER_ROW\nEDGE_WEIGHT_SECTION\n4\n6\nEOF\n",
            7,
            "needs 3",
        ),
        (
            "NAME : X\nDIMENSION : 3\nNODE_COORD_SECTION\n1 0 0\n9 1 1\nEOF\n",
            5,
            "outside 1..3",
        ),
        (
            "NAME : X\nDIMENSION : 2\nCAPACITY : 5\nNODE_COORD_SECTION\n1 0 0\n2 1 1\nTIME_WINDOW_SECTION\n1 0 10\n2 9 3\nEOF\n",
            9,
            "closes",
        ),
    ];
    for (text, line, needle) in cases {
        let e = parse(text).unwrap_err();
        assert_eq!(e.line, line, "{e}");
        assert!(e.to_string().contains(needle), "{e}");
    }
    assert!(parse("").is_err());
}

#[test]
fn a_full_fleet_drops_customers_and_says_why() {
    let mut inst = random_instance(11, 12);
    inst.fleet = 1;
    inst.capacity = 25;
    let sol = solve(&inst, &quick(3));
    assert!(
        !sol.unassigned.is_empty(),
        "one small vehicle cannot serve everyone"
    );
    assert!(check(&inst, &sol.routes, &sol.unassigned).is_ok());
    for &c in &sol.unassigned {
        assert_ne!(
            doorstep_routing::why_dropped(&inst, c),
            doorstep_routing::DropReason::Capacity
        );
    }
    assert!(
        sol.unassigned.iter().any(
            |&c| doorstep_routing::why_dropped(&inst, c) == doorstep_routing::DropReason::Fleet
        )
    );
}

/// Checks re-planned routes: each vehicle from where it is, windows,
/// remaining capacity, every remaining customer once. Returns the distance.
fn check_replan(
    inst: &Instance,
    vehicles: &[doorstep_routing::VehicleStart],
    remaining: &[usize],
    routes: &[Vec<usize>],
) -> f64 {
    assert_eq!(routes.len(), vehicles.len(), "one route per vehicle");
    let mut seen: Vec<usize> = routes.iter().flatten().copied().collect();
    seen.sort_unstable();
    let mut want = remaining.to_vec();
    want.sort_unstable();
    assert_eq!(seen, want, "every remaining customer exactly once");
    let mut dist = 0.0;
    for (v, r) in vehicles.iter().zip(routes) {
        let (mut prev, mut t, mut load) = (v.node, v.time, v.load);
        for &c in r {
            let start = (t + inst.d(prev, c)).max(inst.ready[c]);
            assert!(start <= inst.due[c] + 1e-6, "customer {c} late");
            dist += inst.d(prev, c);
            load += inst.demand[c];
            t = start + inst.service[c];
            prev = c;
        }
        dist += inst.d(prev, 0);
        assert!(
            t + inst.d(prev, 0) <= inst.due[0] + 1e-6,
            "back after the shift"
        );
        assert!(load <= inst.capacity, "capacity");
    }
    dist
}

#[test]
fn replanning_keeps_what_is_done_and_continues_from_where_vehicles_are() {
    let inst = random_instance(21, 80);
    let plan = solve(&inst, &quick(5));
    assert!(plan.unassigned.is_empty());
    // Half-way through the evening: each vehicle has served the first half of its route.
    let (mut vehicles, mut remaining, mut rest_of_plan) = (vec![], vec![], vec![]);
    for r in &plan.routes {
        let done = r.len() / 2;
        let (mut prev, mut t, mut load) = (0, inst.ready[0], 0);
        for &c in &r[..done] {
            t = (t + inst.d(prev, c)).max(inst.ready[c]) + inst.service[c];
            load += inst.demand[c];
            prev = c;
        }
        vehicles.push(doorstep_routing::VehicleStart {
            node: prev,
            time: t,
            load,
        });
        remaining.extend_from_slice(&r[done..]);
        rest_of_plan.push(r[done..].to_vec());
    }
    let continuing = check_replan(&inst, &vehicles, &remaining, &rest_of_plan);
    let params = Params {
        seed: 9,
        time_limit: Duration::from_secs(60),
        max_iterations: Some(3_000),
    };
    let sol = doorstep_routing::replan(&inst, &vehicles, &rest_of_plan, &remaining, &params);
    assert!(sol.unassigned.is_empty(), "the rest of the plan still fits");
    let replanned = check_replan(&inst, &vehicles, &remaining, &sol.routes);
    assert!((replanned - sol.distance).abs() < 1e-6);
    assert!(
        replanned <= continuing + 1e-6,
        "re-planning starts from the plan, so it never does worse: {replanned} vs {continuing}"
    );
    // A visit taken out of the plan (as if booked tonight) is placed again.
    let mut without = rest_of_plan.clone();
    let late_booking = without
        .iter_mut()
        .find(|r| !r.is_empty())
        .unwrap()
        .remove(0);
    let sol = doorstep_routing::replan(&inst, &vehicles, &without, &remaining, &params);
    assert!(sol.routes.iter().flatten().any(|&c| c == late_booking));
    check_replan(&inst, &vehicles, &remaining, &sol.routes);
}

#[test]
fn optional_stops_are_left_out_when_their_detour_costs_more_than_their_penalty() {
    let mut inst = random_instance(31, 15);
    // Customer 7 is optional and cheap to skip; customer 8 optional but valuable.
    inst.penalty[7] = Some(0.001);
    inst.penalty[8] = Some(1e6);
    let sol = solve(&inst, &quick(2));
    assert_eq!(sol.unassigned, vec![7]);
    assert_eq!(
        doorstep_routing::why_dropped(&inst, 7),
        doorstep_routing::DropReason::NotWorthIt
    );
    assert!(sol.routes.iter().flatten().any(|&c| c == 8));
    assert!(check(&inst, &sol.routes, &sol.unassigned).is_ok());
}

#[test]
fn parallel_search_keeps_the_best_of_its_seeds() {
    let inst = random_instance(41, 40);
    let par = doorstep_routing::solve_parallel(&inst, &quick(10), 3);
    let best_single = (10..13)
        .map(|seed| solve(&inst, &quick(seed)).distance)
        .fold(f64::INFINITY, f64::min);
    assert!(
        (par.distance - best_single).abs() < 1e-9,
        "{} vs {best_single}",
        par.distance
    );
    assert!(check(&inst, &par.routes, &par.unassigned).is_ok());
}
