//! What a run measures: the registry of every reported metric and time-series column, latency histograms, the end-of-run checkers, SLO evaluation, the report
//! types written by `output`, Erlang B and C (`queueing`), and the across-runs statistics (mean, sd, Student-t CI) that
//! replications and sweeps share.

pub mod checks;
pub mod histogram;
pub mod queueing;
pub mod registry;
pub mod report;
pub mod rows;
pub mod slo;
pub mod stats;
