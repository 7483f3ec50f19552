//! The metrics a sweep or a diff compares: `registry::SWEPT`, extracted from one run's `Summary`
//! into a small fixed-order record (`RunMetrics`). Everything downstream (statistics, CSV
//! columns, figures) follows `METRICS` order, and the positions named here are derived from the
//! metrics' names.

use crate::metrics::registry::{self, Direction};
pub use crate::metrics::registry::{Metric, Unit};
use crate::metrics::report::Summary;

/// The swept metrics, in column order.
pub const METRICS: [&Metric; 14] = registry::SWEPT;

pub const METRIC_COUNT: usize = METRICS.len();

/// Indexes into `METRICS` and `RunMetrics::values`, found by name when compiled.
pub const RESPONSE_LATENCY_P95_S: usize = registry::index_in(&METRICS, "response_latency_p95_s");
pub const COST_TOTAL_USD: usize = registry::index_in(&METRICS, "cost_total_usd");

/// What a sweep minimises by default: the compute bill. The LLM bill is the same work at every
/// point under common random numbers, so it only adds replication noise to the ranking.
pub const DEFAULT_OBJECTIVE: &str = "cost_compute_usd";

/// The index in `METRICS` of the metric named `name`.
pub fn metric_index(name: &str) -> Option<usize> {
    METRICS.iter().position(|m| m.name == name)
}

/// The metrics a sweep can minimise: the swept ones for which lower is better.
pub fn objectives() -> impl Iterator<Item = &'static Metric> + Clone {
    METRICS
        .into_iter()
        .filter(|m| m.direction == Direction::LowerIsBetter)
}

/// The index in `METRICS` of the objective named `name`, if a sweep can minimise it.
pub fn objective_index(name: &str) -> Option<usize> {
    objectives()
        .any(|m| m.name == name)
        .then(|| metric_index(name))
        .flatten()
}

/// The key metrics the sweep table shows besides the objective (means), in `METRICS` order.
pub fn table_columns(objective: usize) -> Vec<usize> {
    [
        "response_latency_p95_s",
        "unanswered_messages",
        "oom_crashes",
        "instances_mean",
        "cost_compute_usd",
        "cost_total_usd",
    ]
    .iter()
    .filter_map(|name| metric_index(name))
    .filter(|&m| m != objective)
    .collect()
}

/// A mean with its 95% CI half-width and unit: `$5.20 ± 0.03`, `17.490 s ± 0.2`, `3.1 ± 0.4`.
pub fn show_with_ci(metric: &Metric, stats: &crate::metrics::stats::Stats) -> String {
    use crate::output::text::{half_width, number};
    let ci = stats.ci95.map_or(String::new(), |h| {
        format!(" ± {}", half_width(h, stats.mean))
    });
    match metric.unit {
        Unit::Usd | Unit::UsdPerHour => format!("${}{ci}", number(stats.mean)),
        Unit::Seconds => format!("{} s{ci}", number(stats.mean)),
        _ => format!("{}{ci}", number(stats.mean)),
    }
}

/// The index of `DEFAULT_OBJECTIVE`.
pub const fn default_objective() -> usize {
    registry::index_in(&METRICS, DEFAULT_OBJECTIVE)
}

/// What a sweep keeps of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunMetrics {
    /// In `METRICS` order.
    pub values: [f64; METRIC_COUNT],
    /// Every SLO of the scenario, by name, in the scenario's order: did it hold?
    pub slos: Vec<(String, bool)>,
    /// The SLOs that failed with nothing to measure (no latency sample, no message...), by
    /// name, each with why (`SloResult::reason`).
    pub vacuous: Vec<(String, String)>,
}

impl RunMetrics {
    /// The swept metrics of a run, each as its registry entry computes it.
    pub fn from_summary(summary: &Summary) -> RunMetrics {
        RunMetrics {
            values: METRICS.map(|m| (m.value)(summary)),
            slos: summary.slo.iter().map(|s| (s.name.clone(), s.ok)).collect(),
            vacuous: summary
                .slo
                .iter()
                .filter_map(|s| Some((s.name.clone(), s.reason.clone()?)))
                .collect(),
        }
    }

    /// True when every SLO held (and trivially when there are none).
    pub fn slo_ok(&self) -> bool {
        self.slos.iter().all(|(_, ok)| *ok)
    }

    /// The names of the SLOs that failed, joined with `;`.
    pub fn slo_failed(&self) -> String {
        let failed: Vec<&str> = self
            .slos
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(n, _)| n.as_str())
            .collect();
        failed.join(";")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_indexes_match_the_table() {
        assert_eq!(
            METRICS[RESPONSE_LATENCY_P95_S].name,
            "response_latency_p95_s"
        );
        assert_eq!(METRICS[COST_TOTAL_USD].name, "cost_total_usd");
        assert_eq!(METRICS[default_objective()].name, DEFAULT_OBJECTIVE);
    }

    #[test]
    fn only_a_metric_lower_is_better_is_an_objective() {
        assert_eq!(
            objective_index("cost_total_usd"),
            metric_index("cost_total_usd")
        );
        // Reported, but not by sweeps: no objective.
        assert_eq!(objective_index("messages_received"), None);
        assert_eq!(objective_index("no_such_metric"), None);
    }
}
