//! SLO evaluation against a finished run's summary: each SLO's metric is an entry of
//! `registry::METRICS`, which says how its value is computed, for the fleet or per workload,
//! and when it is vacuous.
//!
//! The rule for metrics that can be vacuous: an SLO cannot pass on nothing. Without what its
//! metric needs (`registry::Vacuity`: a latency sample after warmup, a message received, ...)
//! the SLO fails, with a `reason` that says why, whatever its value (a percentile of no samples
//! is reported as 0). `oom_crashes` and `cost_per_hour_usd` describe the fleet over the whole
//! horizon and are never vacuous.

use crate::metrics::registry::{Metric, Vacuity};
use crate::metrics::report::{SloResult, Summary, WorkloadSummary};
use crate::scenario::Slo;

/// The value of a per-workload `metric` for workload `w`, and why it is vacuous, if it is.
fn workload_value(metric: &Metric, w: &WorkloadSummary) -> (f64, Option<&'static str>) {
    match metric.per_workload {
        Some(value) => (value(w), metric.slo.unwrap_or(Vacuity::Never).workload(w)),
        // Refused by the scenario reader.
        None => (0.0, Some("a fleet metric has no value per workload")),
    }
}

/// Every SLO of the scenario against `summary`, in the scenario's order.
pub fn evaluate(slos: &[Slo], summary: &Summary) -> Vec<SloResult> {
    slos.iter()
        .map(|slo| {
            let (value, reason) = match &slo.workload {
                None => (
                    (slo.metric.value)(summary),
                    slo.metric.slo.unwrap_or(Vacuity::Never).fleet(summary),
                ),
                Some(name) => match summary.workloads.iter().find(|w| &w.name == name) {
                    Some(w) => workload_value(slo.metric, w),
                    None => (0.0, Some("no such workload in the run")),
                },
            };
            SloResult {
                name: slo.name.clone(),
                metric: slo.metric.name.to_string(),
                ok: reason.is_none() && value <= slo.max,
                value,
                limit: slo.max,
                reason: reason.map(String::from),
            }
        })
        .collect()
}
