//! A VRPTW instance: a depot (node 0) and customers with demands, time
//! windows and service times; a travel-time matrix; a fleet.

use serde::Serialize;

/// One problem to solve. Node 0 is the depot; its window is the shift.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instance {
    /// Name from the file.
    pub name: String,
    /// Node ids as written in the file (depot first).
    pub ids: Vec<String>,
    /// Demand per node.
    pub demand: Vec<i64>,
    /// Earliest service start per node.
    pub ready: Vec<f64>,
    /// Latest service start per node.
    pub due: Vec<f64>,
    /// Service duration per node.
    pub service: Vec<f64>,
    /// Vehicle capacity.
    pub capacity: i64,
    /// Vehicles available.
    pub fleet: usize,
    /// Travel time (= distance) from i to j, row-major n × n.
    pub dist: Vec<f64>,
    /// Optional stops: the cost of leaving each one out (None: required).
    pub penalty: Vec<Option<f64>>,
    /// Coordinates, when the file has them.
    pub coords: Option<Vec<(f64, f64)>>,
}

impl Instance {
    /// Number of nodes including the depot.
    pub fn n(&self) -> usize {
        self.demand.len()
    }

    /// Travel time from `i` to `j`.
    #[inline]
    pub fn d(&self, i: usize, j: usize) -> f64 {
        self.dist[i * self.n() + j]
    }

    /// An instance from coordinates with Euclidean distances in double precision.
    #[allow(clippy::too_many_arguments)]
    pub fn euclidean(
        name: &str,
        ids: Vec<String>,
        coords: Vec<(f64, f64)>,
        demand: Vec<i64>,
        ready: Vec<f64>,
        due: Vec<f64>,
        service: Vec<f64>,
        capacity: i64,
        fleet: usize,
    ) -> Instance {
        let n = coords.len();
        let mut dist = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let (dx, dy) = (coords[i].0 - coords[j].0, coords[i].1 - coords[j].1);
                dist[i * n + j] = (dx * dx + dy * dy).sqrt();
            }
        }
        Instance {
            name: name.into(),
            ids,
            demand,
            ready,
            due,
            service,
            capacity,
            fleet,
            dist,
            penalty: vec![None; n],
            coords: Some(coords),
        }
    }
}
