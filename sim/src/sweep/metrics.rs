//! The key metrics a sweep or a diff compares, extracted from one run's `Summary` into a small
//! fixed-order record (`RunMetrics`). Everything downstream (statistics, CSV columns, figures)
//! follows `METRICS` order.

use crate::metrics::report::Summary;

/// One compared metric: its column name, what a sentence calls it, and its unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metric {
    /// Column and JSON name, unit last.
    pub name: &'static str,
    /// Words for a sentence ("p95 response latency").
    pub label: &'static str,
    pub unit: Unit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Count,
    Instances,
    Usd,
    UsdPerHour,
}

/// Indexes into `METRICS` and `RunMetrics::values`.
pub const RESPONSE_LATENCY_P95_S: usize = 1;
pub const COST_TOTAL_USD: usize = 9;

pub const METRICS: [Metric; 14] = [
    Metric {
        name: "response_latency_p50_s",
        label: "p50 response latency",
        unit: Unit::Seconds,
    },
    Metric {
        name: "response_latency_p95_s",
        label: "p95 response latency",
        unit: Unit::Seconds,
    },
    Metric {
        name: "response_latency_p99_s",
        label: "p99 response latency",
        unit: Unit::Seconds,
    },
    Metric {
        name: "activity_schedule_to_start_p95_s",
        label: "p95 activity schedule-to-start",
        unit: Unit::Seconds,
    },
    Metric {
        name: "unanswered_messages",
        label: "unanswered messages",
        unit: Unit::Count,
    },
    Metric {
        name: "oom_crashes",
        label: "OOM crashes",
        unit: Unit::Count,
    },
    Metric {
        name: "instances_mean",
        label: "mean instances",
        unit: Unit::Instances,
    },
    Metric {
        name: "cost_compute_usd",
        label: "compute cost",
        unit: Unit::Usd,
    },
    Metric {
        name: "cost_llm_usd",
        label: "LLM cost",
        unit: Unit::Usd,
    },
    Metric {
        name: "cost_total_usd",
        label: "total cost",
        unit: Unit::Usd,
    },
    Metric {
        name: "cost_per_hour_usd",
        label: "cost per hour",
        unit: Unit::UsdPerHour,
    },
    Metric {
        name: "llm_tokens_per_turn",
        label: "LLM tokens per turn",
        unit: Unit::Count,
    },
    Metric {
        name: "cost_llm_per_turn_usd",
        label: "LLM cost per turn",
        unit: Unit::Usd,
    },
    Metric {
        name: "tool_failure_conversation_fraction",
        label: "share of conversations with a failed tool call",
        unit: Unit::Count,
    },
];

pub const METRIC_COUNT: usize = METRICS.len();

/// What a sweep minimises by default: the compute bill. The LLM bill is the same work at every
/// point under common random numbers, so it only adds replication noise to the ranking.
pub const DEFAULT_OBJECTIVE: &str = "cost_compute_usd";

/// The index in `METRICS` of the metric named `name`.
pub fn metric_index(name: &str) -> Option<usize> {
    METRICS.iter().position(|m| m.name == name)
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
        Unit::Count | Unit::Instances => format!("{}{ci}", number(stats.mean)),
    }
}

/// The index of `DEFAULT_OBJECTIVE`.
pub fn default_objective() -> usize {
    metric_index(DEFAULT_OBJECTIVE).expect("the default objective is a metric")
}

/// What a sweep keeps of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunMetrics {
    /// In `METRICS` order.
    pub values: [f64; METRIC_COUNT],
    /// Every SLO of the scenario, by name, in the scenario's order: did it hold?
    pub slos: Vec<(String, bool)>,
}

impl RunMetrics {
    /// The key metrics of a run. Cost per hour is the total cost over the whole horizon. Per
    /// turn: LLM tokens (input and output, every provider, successful calls) and LLM cost over
    /// the whole run, divided by the turns the agent finished (0 without a finished turn).
    pub fn from_summary(summary: &Summary) -> RunMetrics {
        let hours = summary.horizon_s / 3600.0;
        let per_hour = if hours > 0.0 {
            summary.cost_usd.total / hours
        } else {
            0.0
        };
        let turns = summary.agent.turns as f64;
        let per_turn = |total: f64| if turns > 0.0 { total / turns } else { 0.0 };
        let tokens: u64 = summary
            .llm_calls
            .values()
            .map(|c| c.input_tokens + c.output_tokens)
            .sum();
        RunMetrics {
            values: [
                summary.response_latency_s.p50,
                summary.response_latency_s.p95,
                summary.response_latency_s.p99,
                summary.activity_schedule_to_start_s.p95,
                summary.messages.unanswered as f64,
                summary.crashes.oom as f64,
                summary.instances.mean,
                summary.cost_usd.compute,
                summary.cost_usd.llm,
                summary.cost_usd.total,
                per_hour,
                per_turn(tokens as f64),
                per_turn(summary.cost_usd.llm),
                summary.agent.tool_failure_conversation_fraction,
            ],
            slos: summary.slo.iter().map(|s| (s.name.clone(), s.ok)).collect(),
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
    }
}
