//! Runs the solver on the Solomon instances, checks every solution
//! independently, and prints the gap to the distance-only best-known values
//! per family and overall.
//!
//! ```sh
//! cargo bench -p doorstep-routing --bench solomon -- [--data DIR] [--time-limit SECONDS] [--seed N] [--only PREFIX]
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark harness fails loudly

use doorstep_routing::{Params, check, parse, solve};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn main() {
    let mut data = format!(
        "{}/../../../shared/data/solomon",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut secs = 1.0;
    let mut seed = 1;
    let mut only = String::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data = args.next().expect("--data DIR"),
            "--time-limit" => {
                secs = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--time-limit SECONDS")
            }
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).expect("--seed N"),
            "--only" => only = args.next().expect("--only PREFIX"),
            _ => {}
        }
    }
    let bks_text = std::fs::read_to_string(format!("{data}/bks.csv"))
        .expect("bks.csv in the data folder (pass --data DIR)");
    let mut families: BTreeMap<String, Vec<(f64, usize, f64)>> = BTreeMap::new();
    println!("instance  family  vehicles  distance    bks        gap%   iterations  first_ms");
    for line in bks_text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (name, family, bks) = (f[0], f[1], f[7].parse::<f64>().unwrap());
        if !name.starts_with(&only) {
            continue;
        }
        let text = std::fs::read_to_string(format!("{data}/instances/{name}.txt")).unwrap();
        let inst = parse(&text).unwrap();
        let t = Instant::now();
        let sol = solve(
            &inst,
            &Params {
                seed,
                time_limit: Duration::from_secs_f64(secs),
                max_iterations: None,
            },
        );
        let elapsed = t.elapsed().as_secs_f64();
        assert!(sol.unassigned.is_empty(), "{name}: unassigned customers");
        let checked =
            check(&inst, &sol.routes, &[]).unwrap_or_else(|v| panic!("{name}: infeasible: {v}"));
        assert!(
            (checked.distance - sol.distance).abs() < 1e-6,
            "{name}: reported distance differs from recomputed"
        );
        let gap = (checked.distance - bks) / bks * 100.0;
        println!(
            "{name:<9} {family:<7} {:>8}  {:>9.2}  {bks:>9.2}  {gap:>6.2}  {:>10}  {:>8.2}",
            checked.vehicles,
            checked.distance,
            sol.iterations,
            sol.first_solution_secs * 1000.0
        );
        families
            .entry(family.to_string())
            .or_default()
            .push((gap, checked.vehicles, elapsed));
    }
    println!("\nfamily  instances  mean_gap%  mean_vehicles  mean_secs");
    let mut all = Vec::new();
    for (fam, v) in &families {
        let k = v.len() as f64;
        println!(
            "{fam:<7} {:>9}  {:>9.2}  {:>13.2}  {:>9.2}",
            v.len(),
            v.iter().map(|x| x.0).sum::<f64>() / k,
            v.iter().map(|x| x.1 as f64).sum::<f64>() / k,
            v.iter().map(|x| x.2).sum::<f64>() / k
        );
        all.extend(v.iter().copied());
    }
    let k = all.len() as f64;
    println!(
        "{:<7} {:>9}  {:>9.2}  {:>13.2}  {:>9.2}",
        "all",
        all.len(),
        all.iter().map(|x| x.0).sum::<f64>() / k,
        all.iter().map(|x| x.1 as f64).sum::<f64>() / k,
        all.iter().map(|x| x.2).sum::<f64>() / k
    );
}
