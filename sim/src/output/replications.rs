//! Across-replication results: `replications.csv` (one row per replication: its seed and the
//! key summary metrics) and the mean with a Student-t 95% confidence interval per metric.
//! Values are reduced in replication order on one thread, so the numbers are reproducible.

use crate::metrics::registry::{Metric, REPLICATED};
use crate::metrics::report::Summary;
use crate::output::float;

/// `replications.csv`: `replication`, `seed`, then `REPLICATED`; rows in replication order.
pub fn replications_csv(summaries: &[Summary]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let header = ["replication", "seed"]
        .into_iter()
        .chain(REPLICATED.iter().map(|m| m.name));
    writer
        .write_record(header)
        .expect("CSV into memory cannot fail");
    for (replication, summary) in summaries.iter().enumerate() {
        let mut record = vec![replication.to_string(), summary.seed.to_string()];
        record.extend(
            REPLICATED
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

/// `mean_ci95` of every key metric, in `REPLICATED` order.
pub fn key_metric_intervals(summaries: &[Summary]) -> Vec<(&'static Metric, MeanInterval)> {
    REPLICATED
        .into_iter()
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
        assert_eq!(header.len(), 2 + REPLICATED.len());
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
