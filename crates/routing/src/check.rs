//! Checks a solution against its instance without trusting the solver:
//! every customer exactly once, capacity, time windows, the shift, and the
//! distance recomputed from the matrix.

use crate::Instance;
use serde::Serialize;

/// Slack allowed on time comparisons (floating-point sums).
const EPS: f64 = 1e-6;

/// A valid solution's measures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Checked {
    /// Total travel distance, recomputed.
    pub distance: f64,
    /// Routes used (non-empty).
    pub vehicles: usize,
}

/// Why a solution is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Violation {
    /// A node index that is not a customer.
    #[error("route {route} visits node {node}, which is not a customer")]
    NotACustomer {
        /// Route index.
        route: usize,
        /// Node index.
        node: usize,
    },
    /// A customer visited twice.
    #[error("customer {0} is visited more than once")]
    Twice(String),
    /// A customer never visited.
    #[error("customer {0} is not visited")]
    Missing(String),
    /// A route carries too much.
    #[error("route {route} carries {load}, more than the capacity {capacity}")]
    Capacity {
        /// Route index.
        route: usize,
        /// Its load.
        load: i64,
        /// The capacity.
        capacity: i64,
    },
    /// Service starts after the window closes.
    #[error(
        "route {route} starts serving customer {customer} at {start:.2}, after its window closes at {due:.2}"
    )]
    Late {
        /// Route index.
        route: usize,
        /// Customer id.
        customer: String,
        /// Service start.
        start: f64,
        /// Window end.
        due: f64,
    },
    /// The vehicle returns after the shift ends.
    #[error("route {route} returns to the depot at {back:.2}, after the shift ends at {end:.2}")]
    Shift {
        /// Route index.
        route: usize,
        /// Return time.
        back: f64,
        /// Shift end.
        end: f64,
    },
    /// More routes than vehicles.
    #[error("{used} routes but only {fleet} vehicles")]
    Fleet {
        /// Routes used.
        used: usize,
        /// Fleet size.
        fleet: usize,
    },
}

/// Checks `routes` (customer node indices, depot excluded); `dropped` lists
/// optional customers deliberately left out.
pub fn check(
    inst: &Instance,
    routes: &[Vec<usize>],
    dropped: &[usize],
) -> Result<Checked, Violation> {
    let n = inst.n();
    let mut seen = vec![false; n];
    for &c in dropped {
        if c == 0 || c >= n {
            return Err(Violation::NotACustomer {
                route: usize::MAX,
                node: c,
            });
        }
        seen[c] = true;
    }
    let mut distance = 0.0;
    let mut vehicles = 0;
    for (r, route) in routes.iter().enumerate() {
        if route.is_empty() {
            continue;
        }
        vehicles += 1;
        let (mut prev, mut t, mut load) = (0, inst.ready[0], 0);
        for &c in route {
            if c == 0 || c >= n {
                return Err(Violation::NotACustomer { route: r, node: c });
            }
            if seen[c] {
                return Err(Violation::Twice(inst.ids[c].clone()));
            }
            seen[c] = true;
            load += inst.demand[c];
            distance += inst.d(prev, c);
            let start = (t + inst.service[prev] + inst.d(prev, c)).max(inst.ready[c]);
            if start > inst.due[c] + EPS {
                return Err(Violation::Late {
                    route: r,
                    customer: inst.ids[c].clone(),
                    start,
                    due: inst.due[c],
                });
            }
            t = start;
            prev = c;
        }
        distance += inst.d(prev, 0);
        let back = t + inst.service[prev] + inst.d(prev, 0);
        if back > inst.due[0] + EPS {
            return Err(Violation::Shift {
                route: r,
                back,
                end: inst.due[0],
            });
        }
        if load > inst.capacity {
            return Err(Violation::Capacity {
                route: r,
                load,
                capacity: inst.capacity,
            });
        }
    }
    if let Some(c) = (1..n).find(|&c| !seen[c]) {
        return Err(Violation::Missing(inst.ids[c].clone()));
    }
    if vehicles > inst.fleet {
        return Err(Violation::Fleet {
            used: vehicles,
            fleet: inst.fleet,
        });
    }
    Ok(Checked { distance, vehicles })
}
