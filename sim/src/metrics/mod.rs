//! What a run measures: latency histograms, the time series sampler, the end-of-run checkers,
//! and the report types written by `output`.

pub mod report;
