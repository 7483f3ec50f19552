//! SLO evaluation against a finished run's summary.

use crate::metrics::report::{SloResult, Summary};
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

pub fn evaluate(slos: &[Slo], summary: &Summary) -> Vec<SloResult> {
    slos.iter()
        .map(|slo| {
            let value = metric_value(slo.metric, summary);
            SloResult {
                name: slo.name.clone(),
                metric: slo.metric.name().to_string(),
                ok: value <= slo.max,
                value,
                limit: slo.max,
            }
        })
        .collect()
}
