//! Across-replication results: `replications.csv` (one row per replication: its seed and the
//! key summary metrics) and the mean with a Student-t 95% confidence interval per metric.
//! Values are reduced in replication order on one thread, so the numbers are reproducible.

use crate::metrics::report::Summary;
use crate::output::float;

/// One summary number reported per replication.
pub struct KeyMetric {
    /// Column name in `replications.csv`.
    pub name: &'static str,
    /// Label in the human table.
    pub label: &'static str,
    pub value: fn(&Summary) -> f64,
}

/// The metrics in `replications.csv`, in column order.
pub const KEY_METRICS: &[KeyMetric] = &[
    KeyMetric {
        name: "messages_received",
        label: "messages received",
        value: |s| s.messages.received as f64,
    },
    KeyMetric {
        name: "messages_answered",
        label: "messages answered",
        value: |s| s.messages.answered as f64,
    },
    KeyMetric {
        name: "messages_unanswered",
        label: "messages unanswered",
        value: |s| s.messages.unanswered as f64,
    },
    KeyMetric {
        name: "response_latency_mean_s",
        label: "response latency mean (s)",
        value: |s| s.response_latency_s.mean,
    },
    KeyMetric {
        name: "response_latency_p50_s",
        label: "response latency p50 (s)",
        value: |s| s.response_latency_s.p50,
    },
    KeyMetric {
        name: "response_latency_p95_s",
        label: "response latency p95 (s)",
        value: |s| s.response_latency_s.p95,
    },
    KeyMetric {
        name: "response_latency_p99_s",
        label: "response latency p99 (s)",
        value: |s| s.response_latency_s.p99,
    },
    KeyMetric {
        name: "activity_schedule_to_start_mean_s",
        label: "activity schedule-to-start mean (s)",
        value: |s| s.activity_schedule_to_start_s.mean,
    },
    KeyMetric {
        name: "activity_schedule_to_start_p95_s",
        label: "activity schedule-to-start p95 (s)",
        value: |s| s.activity_schedule_to_start_s.p95,
    },
    KeyMetric {
        name: "cache_hits",
        label: "cache hits",
        value: |s| s.cache.hits as f64,
    },
    KeyMetric {
        name: "cache_misses",
        label: "cache misses",
        value: |s| s.cache.misses as f64,
    },
    KeyMetric {
        name: "instances_mean",
        label: "instances mean",
        value: |s| s.instances.mean,
    },
    KeyMetric {
        name: "instances_max",
        label: "instances max",
        value: |s| s.instances.max as f64,
    },
    KeyMetric {
        name: "oom_crashes",
        label: "oom crashes",
        value: |s| s.crashes.oom as f64,
    },
    KeyMetric {
        name: "cost_compute_usd",
        label: "cost compute (usd)",
        value: |s| s.cost_usd.compute,
    },
    KeyMetric {
        name: "cost_llm_usd",
        label: "cost llm (usd)",
        value: |s| s.cost_usd.llm,
    },
    KeyMetric {
        name: "cost_total_usd",
        label: "cost total (usd)",
        value: |s| s.cost_usd.total,
    },
    KeyMetric {
        name: "slos_failed",
        label: "slos failed",
        value: |s| s.slo.iter().filter(|slo| !slo.ok).count() as f64,
    },
];

/// `replications.csv`: `replication`, `seed`, then `KEY_METRICS`; rows in replication order.
pub fn replications_csv(summaries: &[Summary]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = ["replication", "seed"]
        .into_iter()
        .chain(KEY_METRICS.iter().map(|m| m.name));
    writer
        .write_record(header)
        .expect("CSV into memory cannot fail");
    for (replication, summary) in summaries.iter().enumerate() {
        let mut record = vec![replication.to_string(), summary.seed.to_string()];
        record.extend(
            KEY_METRICS
                .iter()
                .map(|metric| float((metric.value)(summary))),
        );
        writer
            .write_record(&record)
            .expect("CSV into memory cannot fail");
    }
    writer.into_inner().expect("CSV into memory cannot fail")
}

/// A sample mean and the half-width of its two-sided 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MeanInterval {
    pub mean: f64,
    /// `None` with fewer than two values (no variance estimate).
    pub half_width: Option<f64>,
}

/// Mean and Student-t 95% half-width, `t(0.975, n-1) * s / sqrt(n)`, summed in order.
pub fn mean_ci95(values: &[f64]) -> MeanInterval {
    if values.is_empty() {
        return MeanInterval {
            mean: f64::NAN,
            half_width: None,
        };
    }
    let stats = crate::metrics::stats::Stats::of(values);
    MeanInterval {
        mean: stats.mean,
        half_width: stats.ci95,
    }
}

/// `mean_ci95` of every key metric, in `KEY_METRICS` order.
pub fn key_metric_intervals(summaries: &[Summary]) -> Vec<(&'static KeyMetric, MeanInterval)> {
    KEY_METRICS
        .iter()
        .map(|metric| {
            let values: Vec<f64> = summaries.iter().map(metric.value).collect();
            (metric, mean_ci95(&values))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::sample_output;

    #[test]
    fn ci_matches_a_textbook_value() {
        // n = 5, mean 3, s = sqrt(2.5); t(0.975, 4) = 2.776445.
        let interval = mean_ci95(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(interval.mean, 3.0);
        let expected = 2.776_445 * (2.5f64 / 5.0).sqrt();
        assert!(
            (interval.half_width.unwrap() - expected).abs() < 1e-5,
            "{interval:?}"
        );
    }

    #[test]
    fn one_value_has_no_interval() {
        assert_eq!(
            mean_ci95(&[7.0]),
            MeanInterval {
                mean: 7.0,
                half_width: None
            }
        );
        assert_eq!(mean_ci95(&[2.0, 2.0]).half_width, Some(0.0));
    }

    #[test]
    fn csv_has_one_row_per_replication_with_its_seed() {
        let mut first = sample_output().summary;
        first.seed = 1;
        let mut second = first.clone();
        second.seed = 99;
        second.messages.received = 10;
        let bytes = replications_csv(&[first, second]);
        let mut reader = csv::Reader::from_reader(&bytes[..]);
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header.len(), 2 + KEY_METRICS.len());
        assert_eq!(header[..3], ["replication", "seed", "messages_received"]);
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][..3], ["0", "1", "4"]);
        assert_eq!(rows[1][..3], ["1", "99", "10"]);
        let slos_failed = header.iter().position(|h| h == "slos_failed").unwrap();
        assert_eq!(rows[0][slos_failed], "1");
    }
}
