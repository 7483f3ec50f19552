//! What a run measures: latency histograms, the end-of-run checkers, SLO evaluation, and the
//! report types written by `output`.

pub mod checks;
pub mod histogram;
pub mod report;
pub mod slo;
