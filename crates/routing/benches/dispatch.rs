//! Planning a 120-booking evening for 6 collectors: a synthetic estate like
//! the demo (32 buildings of 6–18 floors, walk-ups with stairs and towers
//! with lifts, a two-level garage with 320 spaces), 19:00–21:00 in four
//! 30-minute slots, 30 bookings per slot (6 collectors × 5), 3–5 minutes at
//! each door, collectors back by 21:30. For each seed (a different evening)
//! it plans once with a zero budget (the first feasible plan) and once with
//! the time limit, checks every ETA against its slot, and prints the wall
//! times, how many visits were left out, and how the work is shared (and
//! how it would be without the balance cap).
//!
//! ```sh
//! cargo bench -p doorstep-routing --bench dispatch -- [--time-limit-ms 1000] [--seeds 5] [--collectors 6]
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness fails loudly

use doorstep_routing::dispatch::{Balance, Collector, DispatchParams, DispatchPlan, Visit, plan};
use doorstep_routing::estate::{EstateModel, Stop};
use doorstep_routing::rng::Rng;
use std::time::Instant;

const SLOT: u32 = 1800;
const PER_SLOT: usize = 30;

/// Like `doorstep_app::demo::demo_estate_model()` (which this crate cannot use).
fn estate() -> String {
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

/// One evening's bookings: a fifth of them at parking spaces.
fn evening(seed: u64) -> Vec<Visit> {
    let mut rng = Rng::new(seed);
    let mut visits = vec![];
    for slot in 0..4u32 {
        for _ in 0..PER_SLOT {
            let stop = if rng.below(5) == 0 {
                Stop::Space(format!("B{:03}", 1 + rng.below(320)))
            } else {
                let b = 1 + rng.below(32);
                // Walk-ups have 6 floors, towers 12 to 18.
                let floors = if b <= 20 { 6 } else { 12 + (b % 7) };
                Stop::Room {
                    building: b.to_string(),
                    floor: 1 + rng.below(floors) as i32,
                }
            };
            visits.push(Visit {
                key: visits.len() as i64 + 1,
                stop,
                window: (slot * SLOT, (slot + 1) * SLOT),
                service: 180 + 60 * rng.below(3) as u32,
            });
        }
    }
    visits
}

/// Every ETA inside its slot, every collector back in time.
fn verify(visits: &[Visit], collectors: &[Collector], p: &DispatchPlan) {
    for (r, c) in p.routes.iter().zip(collectors) {
        assert!(r.back_at <= c.end);
        for s in &r.stops {
            let v = visits.iter().find(|v| v.key == s.visit).unwrap();
            assert!(v.window.0 <= s.eta && s.eta <= v.window.1);
        }
    }
    let routed: usize = p.routes.iter().map(|r| r.stops.len()).sum();
    assert_eq!(routed + p.unassigned.len(), visits.len());
}

fn spread(p: &DispatchPlan) -> (usize, usize) {
    let n = p.routes.iter().map(|r| r.stops.len());
    (n.clone().min().unwrap_or(0), n.max().unwrap_or(0))
}

fn main() {
    let mut limit_ms = 1000u64;
    let mut seeds = 5u64;
    let mut collectors_on_duty = 6i64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--time-limit-ms" => {
                limit_ms = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--time-limit-ms N")
            }
            "--collectors" => {
                collectors_on_duty = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--collectors N")
            }
            "--seeds" => seeds = args.next().and_then(|v| v.parse().ok()).expect("--seeds N"),
            _ => {}
        }
    }
    let model = EstateModel::parse(&estate()).unwrap();
    let collectors: Vec<Collector> = (1..=collectors_on_duty)
        .map(|key| Collector {
            key,
            start: 0,
            end: 5 * SLOT,
        })
        .collect();
    let (mut first_ms, mut plan_ms, mut unassigned, mut first_unassigned) =
        (vec![], vec![], vec![], vec![]);
    for seed in 1..=seeds {
        let visits = evening(seed);
        let params = |time_limit_ms, balance| DispatchParams {
            time_limit_ms,
            max_iterations: None,
            seed,
            balance,
        };
        let t = Instant::now();
        let first = plan(&model, &visits, &collectors, &params(0, Balance::default())).unwrap();
        let f_ms = t.elapsed().as_secs_f64() * 1000.0;
        verify(&visits, &collectors, &first);
        let t = Instant::now();
        let best = plan(
            &model,
            &visits,
            &collectors,
            &params(limit_ms, Balance::default()),
        )
        .unwrap();
        let p_ms = t.elapsed().as_secs_f64() * 1000.0;
        verify(&visits, &collectors, &best);
        let off = plan(
            &model,
            &visits,
            &collectors,
            &params(limit_ms, Balance::Off),
        )
        .unwrap();
        verify(&visits, &collectors, &off);
        let walking: u32 = best.routes.iter().map(|r| r.walking_seconds).sum();
        let first_walking: u32 = first.routes.iter().map(|r| r.walking_seconds).sum();
        let (lo, hi) = spread(&best);
        let (off_lo, off_hi) = spread(&off);
        println!(
            "seed {seed:<3} first plan {f_ms:>6.1} ms ({} unassigned, walking {:>5.1} min)  plan {p_ms:>7.1} ms ({} unassigned, walking {:>5.1} min, {} iterations)  visits per collector {lo}–{hi} (no cap: {off_lo}–{off_hi}, {} unassigned)",
            first.unassigned.len(),
            f64::from(first_walking) / 60.0,
            best.unassigned.len(),
            f64::from(walking) / 60.0,
            best.iterations,
            off.unassigned.len(),
        );
        first_ms.push(f_ms);
        plan_ms.push(p_ms);
        unassigned.push(best.unassigned.len() as f64);
        first_unassigned.push(first.unassigned.len() as f64);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "\n{} visits, {collectors_on_duty} collectors, {seeds} evenings: plan wall time median {:.1} ms, max {:.1} ms (limit {limit_ms} ms); first feasible plan median {:.1} ms; mean unassigned {:.2} (first plan {:.2})",
        4 * PER_SLOT,
        median(&mut plan_ms.clone()),
        plan_ms.iter().copied().fold(0.0, f64::max),
        median(&mut first_ms),
        mean(&unassigned),
        mean(&first_unassigned),
    );
}
