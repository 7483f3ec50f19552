//! sim: a deterministic discrete-event simulator for capacity planning of LLM agent fleets.
//!
//! `engine` is the domain-free event loop, `model` the agent fleet, `scenario` the TOML input,
//! `metrics` what a run measures and reports, `output` the files and figures. See
//! ARCHITECTURE.md for the map and its invariants.

pub mod engine;
pub mod metrics;
pub mod model;
pub mod output;
pub mod progress;
pub mod scenario;
pub mod sweep;

/// The program version recorded in every output.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
