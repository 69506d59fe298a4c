//! Re-planning speed: on each Solomon instance, plan the evening (1 s), stop
//! every vehicle after 40 % of its visits, and re-plan the remaining stops
//! (about 60) with a 90 ms budget. Prints the wall time of each re-plan and
//! how much shorter the re-planned rest is than carrying on.
//!
//! ```sh
//! cargo bench -p doorstep-routing --bench replan -- [--data DIR] [--budget-ms 90]
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness fails loudly

use doorstep_routing::{Params, VehicleStart, parse, replan, solve};
use std::time::{Duration, Instant};

fn main() {
    let mut data = format!(
        "{}/../../../shared/data/solomon",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut budget_ms = 90u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data = args.next().expect("--data DIR"),
            "--budget-ms" => {
                budget_ms = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--budget-ms N")
            }
            _ => {}
        }
    }
    let bks = std::fs::read_to_string(format!("{data}/bks.csv"))
        .expect("bks.csv in the data folder (pass --data DIR)");
    let (mut times, mut gains, mut stops) = (vec![], vec![], vec![]);
    for line in bks.lines().skip(1) {
        let name = line.split(',').next().unwrap();
        let inst = parse(&std::fs::read_to_string(format!("{data}/instances/{name}.txt")).unwrap())
            .unwrap();
        let plan = solve(
            &inst,
            &Params {
                seed: 1,
                time_limit: Duration::from_secs(1),
                max_iterations: None,
            },
        );
        let (mut vehicles, mut planned, mut remaining) = (vec![], vec![], vec![]);
        let mut carrying_on = 0.0;
        for r in &plan.routes {
            let done = r.len() * 2 / 5;
            let (mut prev, mut t, mut load) = (0, inst.ready[0], 0);
            for &c in &r[..done] {
                t = (t + inst.service[prev] + inst.d(prev, c)).max(inst.ready[c]);
                load += inst.demand[c];
                prev = c;
            }
            let mut p = prev;
            for &c in &r[done..] {
                carrying_on += inst.d(p, c);
                p = c;
            }
            carrying_on += inst.d(p, 0);
            vehicles.push(VehicleStart {
                node: prev,
                time: t + inst.service[prev],
                load,
            });
            planned.push(r[done..].to_vec());
            remaining.extend_from_slice(&r[done..]);
        }
        let t = Instant::now();
        let sol = replan(
            &inst,
            &vehicles,
            &planned,
            &remaining,
            &Params {
                seed: 1,
                time_limit: Duration::from_millis(budget_ms),
                max_iterations: None,
            },
        );
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        assert!(
            sol.unassigned.is_empty(),
            "{name}: the rest of a feasible plan always fits"
        );
        let gain = (carrying_on - sol.distance) / carrying_on * 100.0;
        println!(
            "{name:<6} remaining {:>3}  re-plan {ms:>6.1} ms  {:.2}% shorter than carrying on",
            remaining.len(),
            gain
        );
        times.push(ms);
        gains.push(gain);
        stops.push(remaining.len() as f64);
    }
    times.sort_by(f64::total_cmp);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "\n{} instances: mean {:.1} remaining stops; re-plan wall time median {:.1} ms, max {:.1} ms; mean {:.2}% shorter than carrying on",
        times.len(),
        mean(&stops),
        times[times.len() / 2],
        times[times.len() - 1],
        mean(&gains)
    );
}
