//! Latency recording: an HDR histogram (microsecond resolution) for percentiles plus an exact
//! sum for the mean and an exact maximum.

use crate::metrics::report::LatencyStats;
use hdrhistogram::Histogram;

/// Highest trackable latency: about 11.5 days in microseconds; larger values saturate.
const MAX_MICROS: u64 = 1_000_000_000_000;

pub struct LatencyHistogram {
    histogram: Histogram<u64>,
    /// Values under 1 us are counted here and folded into the histogram when it is read:
    /// most workflow-task waits are zero, and a counter is much cheaper than a record.
    below_one_micro: u64,
    count: u64,
    sum_nanos: u128,
    max_nanos: u64,
}

impl LatencyHistogram {
    /// `significant_digits`: 3 for run totals, 2 for per-interval time-series histograms.
    pub fn new(significant_digits: u8) -> Self {
        let histogram = Histogram::new_with_bounds(1, MAX_MICROS, significant_digits)
            .expect("static histogram bounds are valid");
        LatencyHistogram {
            histogram,
            below_one_micro: 0,
            count: 0,
            sum_nanos: 0,
            max_nanos: 0,
        }
    }

    #[inline]
    pub fn record(&mut self, nanos: u64) {
        if nanos < 1_000 {
            self.below_one_micro += 1;
        } else {
            self.histogram.saturating_record(nanos / 1_000);
        }
        self.count += 1;
        self.sum_nanos += nanos as u128;
        self.max_nanos = self.max_nanos.max(nanos);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    fn fold(&mut self) {
        if self.below_one_micro > 0 {
            let count = std::mem::take(&mut self.below_one_micro);
            self.histogram.saturating_record_n(1, count);
        }
    }

    /// Quantile in seconds, `None` when empty.
    pub fn quantile_s(&mut self, quantile: f64) -> Option<f64> {
        self.fold();
        (self.count > 0).then(|| self.histogram.value_at_quantile(quantile) as f64 / 1e6)
    }

    /// Several quantiles (ascending) in one pass over the histogram, in seconds; `None`s when
    /// empty. Cheaper than one `quantile_s` per quantile for per-interval statistics.
    pub fn quantiles_s<const N: usize>(&mut self, quantiles: [f64; N]) -> [Option<f64>; N] {
        let mut out = [None; N];
        if self.count == 0 {
            return out;
        }
        self.fold();
        let total = self.histogram.len();
        let mut next = 0;
        let mut seen = 0u64;
        for value in self.histogram.iter_recorded() {
            seen += value.count_since_last_iteration();
            while next < N && seen as f64 >= (quantiles[next] * total as f64).ceil().max(1.0) {
                let micros = self.histogram.highest_equivalent(value.value_iterated_to());
                out[next] = Some(micros as f64 / 1e6);
                next += 1;
            }
            if next == N {
                break;
            }
        }
        out
    }

    pub fn mean_s(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_nanos as f64 / self.count as f64 / 1e9
        }
    }

    pub fn stats(&mut self) -> LatencyStats {
        if self.count == 0 {
            return LatencyStats::default();
        }
        self.fold();
        let q = |quantile| self.histogram.value_at_quantile(quantile) as f64 / 1e6;
        LatencyStats {
            count: self.count,
            mean: self.mean_s(),
            p50: q(0.50),
            p90: q(0.90),
            p95: q(0.95),
            p99: q(0.99),
            max: self.max_nanos as f64 / 1e9,
        }
    }

    pub fn reset(&mut self) {
        if self.count > 0 {
            self.histogram.reset();
            self.below_one_micro = 0;
            self.count = 0;
            self.sum_nanos = 0;
            self.max_nanos = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_is_exact_and_percentiles_are_close() {
        let mut histogram = LatencyHistogram::new(3);
        for millis in 1..=1000u64 {
            histogram.record(millis * 1_000_000);
        }
        let stats = histogram.stats();
        assert_eq!(stats.count, 1000);
        assert!((stats.mean - 0.5005).abs() < 1e-12);
        assert!((stats.p95 - 0.950).abs() < 0.001, "{}", stats.p95);
        assert_eq!(stats.max, 1.0);
        let [p50, p95] = histogram.quantiles_s([0.5, 0.95]);
        assert_eq!(p50, histogram.quantile_s(0.5));
        assert_eq!(p95, histogram.quantile_s(0.95));
        histogram.reset();
        assert_eq!(histogram.stats(), LatencyStats::default());
        assert_eq!(histogram.quantiles_s([0.5]), [None]);
    }
}
