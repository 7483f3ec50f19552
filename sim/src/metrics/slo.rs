//! SLO evaluation against a finished run's summary.
//!
//! The rule for metrics that can be vacuous: an SLO cannot pass on nothing. A latency SLO
//! needs at least one sample in the measured window (an answered message received at or
//! after warmup for the response-latency metrics; an activity attempt started at or after
//! warmup for schedule-to-start), and the message SLOs (`unanswered_messages`,
//! `unanswered_fraction`) need at least one message received; so does
//! `response_over_budget_fraction` (an answered message after warmup). Without it the SLO fails, with a
//! `reason` that says why, whatever its value (a percentile of no samples is reported as 0).
//! `oom_crashes` and `cost_per_hour_usd` describe the fleet over the whole horizon and are
//! never vacuous.

use crate::metrics::report::{SloResult, Summary, WorkloadSummary};
use crate::scenario::{Slo, SloMetric};

/// The value of `metric` in `summary`.
pub fn metric_value(metric: SloMetric, summary: &Summary) -> f64 {
    match metric {
        SloMetric::ResponseLatencyP50S => summary.response_latency_s.p50,
        SloMetric::ResponseLatencyP95S => summary.response_latency_s.p95,
        SloMetric::ResponseLatencyP99S => summary.response_latency_s.p99,
        SloMetric::ActivityScheduleToStartP95S => summary.activity_schedule_to_start_s.p95,
        SloMetric::UnansweredMessages => summary.messages.unanswered as f64,
        SloMetric::UnansweredFraction => {
            let received = summary.messages.received;
            if received == 0 {
                0.0
            } else {
                summary.messages.unanswered as f64 / received as f64
            }
        }
        SloMetric::OomCrashes => summary.crashes.oom as f64,
        SloMetric::ResponseOverBudgetFraction => summary
            .agent
            .response_within_budget_fraction
            .map_or(1.0, |within| 1.0 - within),
        SloMetric::CostPerHourUsd => {
            let hours = summary.horizon_s / 3600.0;
            if hours > 0.0 {
                summary.cost_usd.total / hours
            } else {
                0.0
            }
        }
    }
}

/// Why `metric` has nothing to measure in `summary`, or `None` when it has a real value.
pub fn vacuous_reason(metric: SloMetric, summary: &Summary) -> Option<&'static str> {
    match metric {
        SloMetric::ResponseLatencyP50S
        | SloMetric::ResponseLatencyP95S
        | SloMetric::ResponseLatencyP99S => (summary.response_latency_s.count == 0)
            .then_some("no answered message after warmup: a latency SLO needs at least one sample"),
        SloMetric::ActivityScheduleToStartP95S => (summary.activity_schedule_to_start_s.count == 0)
            .then_some("no activity started after warmup: a latency SLO needs at least one sample"),
        SloMetric::UnansweredMessages | SloMetric::UnansweredFraction => {
            (summary.messages.received == 0).then_some(
                "no message received: an unanswered-message SLO needs at least one message",
            )
        }
        SloMetric::ResponseOverBudgetFraction => summary
            .agent
            .response_within_budget_fraction
            .is_none()
            .then_some(
                "no answered message after warmup: a response-budget SLO needs at least one sample",
            ),
        SloMetric::OomCrashes | SloMetric::CostPerHourUsd => None,
    }
}

/// The value of a per-workload `metric` (see `SloMetric::per_workload`) for workload `w`,
/// and why it is vacuous, if it is.
fn workload_value(metric: SloMetric, w: &WorkloadSummary) -> (f64, Option<&'static str>) {
    let latency = &w.response_latency_s;
    let no_latency = (latency.count == 0)
        .then_some("no answered message after warmup: a latency SLO needs at least one sample");
    let no_message = (w.messages.received == 0)
        .then_some("no message received: an unanswered-message SLO needs at least one message");
    match metric {
        SloMetric::ResponseLatencyP50S => (latency.p50, no_latency),
        SloMetric::ResponseLatencyP95S => (latency.p95, no_latency),
        SloMetric::ResponseLatencyP99S => (latency.p99, no_latency),
        SloMetric::UnansweredMessages => (w.messages.unanswered as f64, no_message),
        SloMetric::UnansweredFraction => (
            if w.messages.received == 0 {
                0.0
            } else {
                w.messages.unanswered as f64 / w.messages.received as f64
            },
            no_message,
        ),
        SloMetric::ResponseOverBudgetFraction => match w.response_within_budget_fraction {
            Some(within) => (1.0 - within, None),
            None => (
                1.0,
                Some(
                    "no answered message after warmup: a response-budget SLO needs at least \
                     one sample",
                ),
            ),
        },
        // Refused by the scenario reader.
        SloMetric::ActivityScheduleToStartP95S
        | SloMetric::OomCrashes
        | SloMetric::CostPerHourUsd => (0.0, Some("a fleet metric has no value per workload")),
    }
}

/// Every SLO of the scenario against `summary`, in the scenario's order.
pub fn evaluate(slos: &[Slo], summary: &Summary) -> Vec<SloResult> {
    slos.iter()
        .map(|slo| {
            let (value, reason) = match &slo.workload {
                None => (
                    metric_value(slo.metric, summary),
                    vacuous_reason(slo.metric, summary),
                ),
                Some(name) => match summary.workloads.iter().find(|w| &w.name == name) {
                    Some(w) => workload_value(slo.metric, w),
                    None => (0.0, Some("no such workload in the run")),
                },
            };
            SloResult {
                name: slo.name.clone(),
                metric: slo.metric.name().to_string(),
                ok: reason.is_none() && value <= slo.max,
                value,
                limit: slo.max,
                reason: reason.map(String::from),
            }
        })
        .collect()
}
