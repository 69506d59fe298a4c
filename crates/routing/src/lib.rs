//! The route planner: vehicle routing with time windows (VRPTW).
//!
//! Pure: no I/O, no dependency on the rest of Doorstep. Instances come from
//! text (Solomon or VRPLIB, [`parse`]) or are built in code; solutions are
//! checked by [`check`] independently of the solver that produced them.

pub mod check;
pub mod dispatch;
pub mod estate;
pub mod instance;
pub mod parse;
pub mod rng;
pub mod solver;

pub use check::{Checked, Violation, check};
pub use instance::Instance;
pub use parse::{ParseError, parse};
pub use solver::{
    DropReason, Params, Solution, VehicleStart, replan, solve, solve_parallel, why_dropped,
};
