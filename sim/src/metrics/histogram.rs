//! Latency recording: an HDR histogram (microsecond resolution) for percentiles plus an exact
//! sum for the mean and an exact maximum.

use crate::metrics::report::LatencyStats;
use hdrhistogram::Histogram;

/// Highest trackable latency: about 11.5 days in microseconds; larger values saturate.
const MAX_MICROS: u64 = 1_000_000_000_000;

pub struct LatencyHistogram {
    /// The counts of an HDR histogram (`hdrhistogram`'s layout, see `Buckets`), kept here
    /// rather than in a `Histogram`: a record is an index computation and an increment, about
    /// half the instructions of the histogram's own record (which also tracks its minimum,
    /// maximum and total, and checks its range), and the model records a latency for every
    /// workflow task, activity and reply. The quantiles are read the histogram's way
    /// (`values_at_quantiles`), and the tests hold them to a `Histogram` recording the same
    /// values. Grows with the largest value recorded; values under 1 us land in index 0
    /// (whole microseconds).
    counts: Vec<u64>,
    /// Zeros recorded, which belong to index 0 but are counted here: a task or activity
    /// taken the moment it was scheduled waits exactly 0, and most do (all four workflow
    /// tasks of an M/M/c customer), so a zero costs one increment and a compare, not the
    /// index, bounds check, sum and maximum of any other value.
    zeros: u64,
    buckets: Buckets,
    /// Every value recorded, zeros included.
    count: u64,
    sum_nanos: u128,
    max_nanos: u64,
}

/// The bucket layout of an HDR histogram with lowest discernible value 1 and `digits`
/// significant digits, as `hdrhistogram` computes it (`Histogram::new`): a value's counts
/// index, and the lowest and highest values of an index.
#[derive(Clone, Copy)]
struct Buckets {
    /// log2 of half the sub-buckets per bucket.
    half_magnitude: u32,
    /// Values up to this mask share bucket 0 (unit resolution).
    sub_bucket_mask: u64,
    /// 64 less the leading zeros of the first value past bucket 0.
    leading_zero_base: u32,
}

impl Buckets {
    fn new(digits: u8) -> Buckets {
        let single_unit = 2 * 10u64.pow(u32::from(digits));
        let magnitude = (single_unit as f64).log2().ceil() as u32;
        let half_magnitude = magnitude.max(1) - 1;
        Buckets {
            half_magnitude,
            sub_bucket_mask: (1u64 << (half_magnitude + 1)) - 1,
            leading_zero_base: 64 - (half_magnitude + 1),
        }
    }

    #[inline]
    fn index(self, value: u64) -> usize {
        let bucket = self.leading_zero_base - (value | self.sub_bucket_mask).leading_zeros();
        let sub_bucket = (value >> bucket) as usize;
        ((bucket as usize + 1) << self.half_magnitude) + sub_bucket - (1 << self.half_magnitude)
    }

    /// The bucket of an index: the first two halves of indices are bucket 0 (unit
    /// resolution), each half after them the next bucket, twice as wide.
    fn bucket(self, index: usize) -> u32 {
        ((index >> self.half_magnitude) as u32).saturating_sub(1)
    }

    /// The lowest value of the index's bucket: `Histogram::lowest_equivalent` of its values.
    fn lowest_value(self, index: usize) -> u64 {
        let half = 1usize << self.half_magnitude;
        let sub_bucket = if index < half {
            index
        } else {
            (index & (half - 1)) + half
        };
        (sub_bucket as u64) << self.bucket(index)
    }

    /// One past the last index of the bucket holding `index` (each bucket past the first has
    /// half as many sub-buckets, `1 << half_magnitude`).
    fn bucket_end(self, index: usize) -> usize {
        ((index >> self.half_magnitude) + 1) << self.half_magnitude
    }

    /// The top of the index's bucket: `Histogram::highest_equivalent` of its values.
    fn highest_value(self, index: usize) -> u64 {
        self.lowest_value(index) + (1u64 << self.bucket(index)) - 1
    }
}

impl LatencyHistogram {
    /// `significant_digits`: 3 for run totals (per-interval figures use `IntervalHistogram`).
    /// The counts grow with the largest value recorded (at most to `MAX_MICROS`), rather than
    /// span the whole range from the start: 240 KB each at 3 digits, and a scenario has one
    /// per step and per provider, most of which record only short latencies, or none. The
    /// buckets, hence every quantile, are those of the full range.
    pub fn new(significant_digits: u8) -> Self {
        LatencyHistogram {
            counts: Vec::new(),
            zeros: 0,
            buckets: Buckets::new(significant_digits),
            count: 0,
            sum_nanos: 0,
            max_nanos: 0,
        }
    }

    #[inline]
    pub fn record(&mut self, nanos: u64) {
        if nanos == 0 {
            // Adds nothing to the sum or the maximum.
            self.zeros += 1;
            self.count += 1;
            return;
        }
        // Whole microseconds (1,999 ns is 1 us), saturating at the range's top.
        let micros = (nanos / 1_000).min(MAX_MICROS);
        let index = self.buckets.index(micros);
        match self.counts.get_mut(index) {
            Some(count) => *count += 1,
            None => self.grow_and_record(index),
        }
        self.count += 1;
        self.sum_nanos += nanos as u128;
        self.max_nanos = self.max_nanos.max(nanos);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// An index past the counts: they grow to the end of its bucket, as a growing `Histogram`
    /// does (a bucket at a time, so a maximum creeping up copies the counts at most once per
    /// bucket, some 30 times in all), and to no more than that.
    #[cold]
    #[inline(never)]
    fn grow_and_record(&mut self, index: usize) {
        let len = self.buckets.bucket_end(index);
        self.counts.reserve_exact(len - self.counts.len());
        self.counts.resize(len, 0);
        self.counts[index] += 1;
    }

    /// Quantile in seconds, `None` when empty.
    pub fn quantile_s(&self, quantile: f64) -> Option<f64> {
        (self.count > 0).then(|| self.clamped_quantiles([quantile])[0])
    }

    /// `Histogram::value_at_quantile` of each quantile (ascending), in one walk of the counts:
    /// the first index where the cumulative count reaches `ceil(quantile * count)` (at least
    /// 1), read as its bucket's top (its bottom for the quantile 0).
    fn values_at_quantiles<const N: usize>(&self, quantiles: [f64; N]) -> [u64; N] {
        debug_assert!(quantiles.is_sorted());
        let quantiles = quantiles.map(|quantile| quantile.min(1.0));
        let ranks = quantiles.map(|quantile| ((quantile * self.count as f64).ceil() as u64).max(1));
        let mut out = [0; N];
        let mut next = 0;
        let mut seen = 0u64;
        // Index 0 with the zeros counted apart, even before the counts have grown.
        for index in 0..self.counts.len().max(1) {
            let count = self.counts.get(index).copied().unwrap_or(0)
                + if index == 0 { self.zeros } else { 0 };
            if count == 0 {
                continue;
            }
            seen += count;
            while next < N && seen >= ranks[next] {
                out[next] = if quantiles[next] == 0.0 {
                    self.buckets.lowest_value(index)
                } else {
                    self.buckets.highest_value(index)
                };
                next += 1;
            }
            if next == N {
                break;
            }
        }
        out
    }

    /// The highest value of the bucket holding each quantile (what an HDR histogram reports),
    /// but never above the exact maximum: the quantile lies in that bucket and at or below
    /// the largest value, and the bucket's top can be above it (waits capped at exactly 5 s
    /// read "p99 5.001215 s, max 5 s"). Clamped, a quantile is still within the bucket's
    /// precision of the true one, and never more than the maximum beside it.
    fn clamped_quantiles<const N: usize>(&self, quantiles: [f64; N]) -> [f64; N] {
        let max = self.max_nanos as f64 / 1e9;
        self.values_at_quantiles(quantiles)
            .map(|micros| (micros as f64 / 1e6).min(max))
    }

    pub fn mean_s(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_nanos as f64 / self.count as f64 / 1e9
        }
    }

    pub fn stats(&self) -> LatencyStats {
        if self.count == 0 {
            return LatencyStats::default();
        }
        let [p50, p90, p95, p99] = self.clamped_quantiles([0.50, 0.90, 0.95, 0.99]);
        LatencyStats {
            count: self.count,
            mean: self.mean_s(),
            p50,
            p90,
            p95,
            p99,
            max: self.max_nanos as f64 / 1e9,
        }
    }

    pub fn reset(&mut self) {
        if self.count > 0 {
            self.counts.fill(0);
            self.zeros = 0;
            self.count = 0;
            self.sum_nanos = 0;
            self.max_nanos = 0;
        }
    }
}

/// A per-interval latency histogram (2 significant digits), for the time series' per-sample
/// percentiles: the same quantiles as a `LatencyHistogram` of 2 digits, bucket for bucket,
/// at a fraction of the cost when an interval holds few values. An interval's values are
/// kept as they come (in microseconds, as the histogram would record them) and a quantile is
/// the highest equivalent value of the bucket of the k-th smallest, which is what the
/// histogram's cumulative walk finds; resetting clears a short vector instead of the
/// histogram's whole counts array. Past `SPARSE_CAPACITY` values, or on a value beyond the
/// histogram's range (whose clamping only the histogram itself knows), the values move into
/// the histogram and the interval is read from it, so memory stays bounded.
pub struct IntervalHistogram {
    /// Records only when `dense`; otherwise computes bucket bounds.
    histogram: Histogram<u64>,
    values: Vec<u64>,
    /// Values under 1 us (whole microseconds 0, the lowest bucket), counted apart and never
    /// in `values` or `histogram`: as for `LatencyHistogram::zeros`, most waits are 0.
    zeros: u64,
    dense: bool,
}

/// Values an interval keeps before it moves them into its histogram: 512 KiB at most. A push
/// and a share of a linear selection cost less than a histogram record up to far larger
/// counts than a minute of a busy fleet's replies (a voice fleet's peak: about 16,000
/// activity waits a minute).
const SPARSE_CAPACITY: usize = 1 << 16;

impl Default for IntervalHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl IntervalHistogram {
    pub fn new() -> Self {
        IntervalHistogram {
            histogram: Histogram::new_with_bounds(1, MAX_MICROS, 2)
                .expect("static histogram bounds are valid"),
            values: Vec::new(),
            zeros: 0,
            dense: false,
        }
    }

    #[inline]
    pub fn record(&mut self, nanos: u64) {
        // Whole microseconds, below 1 us as 0, as `LatencyHistogram::record` counts it.
        let micros = nanos / 1_000;
        if micros == 0 {
            self.zeros += 1;
        } else if self.dense {
            self.histogram.saturating_record(micros);
        } else if self.values.len() < SPARSE_CAPACITY && micros <= MAX_MICROS {
            self.values.push(micros);
        } else {
            self.densify_and_record(micros);
        }
    }

    #[cold]
    #[inline(never)]
    fn densify_and_record(&mut self, micros: u64) {
        self.densify();
        self.histogram.saturating_record(micros);
    }

    fn densify(&mut self) {
        for &micros in &self.values {
            self.histogram.saturating_record(micros);
        }
        self.values.clear();
        self.dense = true;
    }

    /// Several quantiles in seconds (ascending is cheapest); `None`s when the interval is
    /// empty.
    pub fn quantiles_s<const N: usize>(&mut self, quantiles: [f64; N]) -> [Option<f64>; N] {
        let mut out = [None; N];
        // The zeros are the lowest bucket, whose top is 0: what a quantile reads when its rank
        // falls among them.
        let zero = self.histogram.highest_equivalent(0) as f64 / 1e6;
        if self.dense {
            if !quantiles.is_sorted() {
                // The walk reads ascending quantiles: one walk each.
                return quantiles.map(|quantile| self.quantiles_s([quantile])[0]);
            }
            let total = self.histogram.len() + self.zeros;
            let mut next = 0;
            let mut seen = self.zeros;
            while next < N && seen as f64 >= rank(quantiles[next], total) {
                out[next] = Some(zero);
                next += 1;
            }
            for value in self.histogram.iter_recorded() {
                if next == N {
                    break;
                }
                seen += value.count_since_last_iteration();
                while next < N && seen as f64 >= rank(quantiles[next], total) {
                    let micros = self.histogram.highest_equivalent(value.value_iterated_to());
                    out[next] = Some(micros as f64 / 1e6);
                    next += 1;
                }
            }
            return out;
        }
        let zeros = self.zeros as usize;
        if self.values.is_empty() && zeros == 0 {
            return out;
        }
        let total = self.values.len() as u64 + self.zeros;
        // Values below `selected` are the smallest, in some order (quantiles ascend).
        let mut selected = 0;
        for (slot, &quantile) in out.iter_mut().zip(&quantiles) {
            // The k-th smallest value's bucket is where the histogram's cumulative count first
            // reaches k = rank: a selection, linear in the interval's values. The zeros are
            // the smallest `zeros`; past them, the (k - zeros)-th smallest of `values`.
            let k = (rank(quantile, total) as u64).clamp(1, total) as usize;
            if k <= zeros {
                *slot = Some(zero);
                continue;
            }
            let k = k - zeros;
            // Invariant: the first `selected` values are the smallest, and the last of them is
            // the `selected`-th smallest.
            let value = match k.cmp(&selected) {
                std::cmp::Ordering::Greater => {
                    let (_, &mut value, _) =
                        self.values[selected..].select_nth_unstable(k - 1 - selected);
                    selected = k;
                    value
                }
                std::cmp::Ordering::Equal => self.values[k - 1],
                // Quantiles out of order: select among the smaller ones.
                std::cmp::Ordering::Less => {
                    *self.values[..selected - 1].select_nth_unstable(k - 1).1
                }
            };
            *slot = Some(self.histogram.highest_equivalent(value) as f64 / 1e6);
        }
        out
    }

    /// The values recorded since the last reset.
    pub fn count(&self) -> u64 {
        self.zeros
            + if self.dense {
                self.histogram.len()
            } else {
                self.values.len() as u64
            }
    }

    pub fn reset(&mut self) {
        if self.dense {
            self.histogram.reset();
            self.dense = false;
        }
        self.values.clear();
        self.zeros = 0;
    }
}

/// The cumulative count at which a quantile is reached: `ceil(quantile * total)`, at least 1.
fn rank(quantile: f64, total: u64) -> f64 {
    (quantile * total as f64).ceil().max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The counts grow with the values recorded, and the quantiles are those of a histogram
    /// bounded at `MAX_MICROS` from the start, saturation included.
    #[test]
    fn counts_grow_with_the_values_and_the_quantiles_are_the_bounded_ones() {
        let full = Histogram::<u64>::new_with_bounds(1, MAX_MICROS, 3).unwrap();
        let mut growing = LatencyHistogram::new(3);
        assert!(
            growing.counts.len() * 10 < full.distinct_values(),
            "{} counts when empty",
            growing.counts.len()
        );
        let mut bounded = full.clone();
        // A step's latencies: tens of milliseconds to seconds.
        for i in 1..=10_000u64 {
            let nanos = i * i * 37_000 % 5_000_000_000;
            growing.record(nanos);
            bounded.saturating_record(nanos / 1_000);
        }
        assert!(growing.counts.len() * 2 < full.distinct_values());
        // Then beyond the range: 20 days saturates at the bound, in both.
        for nanos in [MAX_MICROS * 1_000, 20 * 86_400 * 1_000_000_000] {
            growing.record(nanos);
            bounded.saturating_record(nanos / 1_000);
        }
        for q in [0.0, 0.1, 0.5, 0.9, 0.95, 0.99, 0.9999, 1.0] {
            assert_eq!(
                growing.values_at_quantiles([q])[0],
                bounded.value_at_quantile(q),
                "quantile {q}"
            );
        }
    }

    /// The counts' layout is the histogram's own: a value's index is the one its
    /// bucket's lowest value has, that lowest value is the histogram's `lowest_equivalent`,
    /// and the indices run on without a gap, bucket after bucket, to the range's top.
    #[test]
    fn buckets_are_the_histograms() {
        use crate::engine::rng::from_seed;
        use rand::Rng as _;
        let mut rng = from_seed(5);
        for digits in [2u8, 3] {
            let buckets = Buckets::new(digits);
            let reference = Histogram::<u64>::new_with_bounds(1, MAX_MICROS, digits).unwrap();
            let mut values: Vec<u64> = (0..5_000u64).collect();
            values.extend((0..40).map(|shift| 1u64 << shift));
            values.extend((1..40).map(|shift| (1u64 << shift) - 1));
            values.extend((0..20_000).map(|_| rng.random_range(0..=MAX_MICROS)));
            values.push(MAX_MICROS);
            for value in values {
                let index = buckets.index(value);
                let lowest = buckets.lowest_value(index);
                assert_eq!(lowest, reference.lowest_equivalent(value), "{value}");
                let highest = buckets.highest_value(index);
                assert_eq!(highest, reference.highest_equivalent(value), "{value}");
                assert_eq!(buckets.index(lowest), index, "{value}");
            }
            for index in [0, 1, 511, 512, 1023, 1024, 2047, 2048, 5000] {
                let end = buckets.bucket_end(index);
                assert!(end > index && end - index <= 1 << buckets.half_magnitude);
                assert_eq!(end % (1 << buckets.half_magnitude), 0);
            }
            let top = buckets.index(MAX_MICROS);
            for index in 1..=top {
                let (below, here) = (buckets.lowest_value(index - 1), buckets.lowest_value(index));
                assert!(below < here, "digits {digits}, index {index}");
                assert_eq!(
                    buckets.index(here - 1),
                    index - 1,
                    "digits {digits}, index {index}"
                );
            }
        }
    }

    /// Recorded values read the same quantiles as a histogram recording them itself, whether
    /// read one at a time or together, between records and after more.
    #[test]
    fn quantiles_are_those_of_the_histogram_recording_directly() {
        use crate::engine::rng::from_seed;
        use rand::Rng as _;
        let mut rng = from_seed(9);
        let mut ours = LatencyHistogram::new(3);
        let mut direct = Histogram::<u64>::new(3).unwrap();
        direct.auto(true);
        for round in 0..3 {
            for _ in 0..20_000 {
                // Zeros too, which are counted apart from index 0 (see `zeros`).
                let nanos = match rng.random_range(0..5) {
                    0 => rng.random_range(0..2_000),
                    1 => rng.random_range(0..50_000_000),
                    2 => (rng.random::<f64>().powi(6) * 4e12) as u64,
                    3 => 0,
                    _ => 7_000_000,
                };
                ours.record(nanos);
                direct.record(nanos / 1_000).unwrap();
            }
            for q in [0.0, 0.001, 0.1, 0.25, 0.5, 0.9, 0.99, 0.9999, 1.0] {
                let top =
                    (direct.value_at_quantile(q) as f64 / 1e6).min(ours.max_nanos as f64 / 1e9);
                assert_eq!(ours.quantile_s(q), Some(top), "round {round}, quantile {q}");
            }
            assert_eq!(ours.count(), direct.len());
        }
    }

    /// Zeros alone (the counts never grown), then zeros among other values, then after a
    /// reset: the counts, sum, mean and quantiles are those of recording each value.
    #[test]
    fn zeros_count_as_values_of_the_lowest_bucket() {
        let mut ours = LatencyHistogram::new(3);
        assert_eq!(ours.quantile_s(0.5), None);
        for _ in 0..10 {
            ours.record(0);
        }
        assert!(ours.counts.is_empty());
        let stats = ours.stats();
        assert_eq!(
            (stats.count, stats.mean, stats.p50, stats.p99, stats.max),
            (10, 0.0, 0.0, 0.0, 0.0)
        );
        // 10 zeros and 10 values of 3 ms: the median is a zero, the 51st percentile is not.
        for _ in 0..10 {
            ours.record(3_000_000);
        }
        assert_eq!(ours.count(), 20);
        assert_eq!(ours.quantile_s(0.5), Some(0.0));
        assert_eq!(ours.quantile_s(0.51), Some(0.003));
        assert_eq!(ours.mean_s(), 0.0015);
        ours.reset();
        assert_eq!((ours.count(), ours.quantile_s(0.5)), (0, None));
        ours.record(2_000_000);
        assert_eq!(ours.quantile_s(0.0), Some(0.002));
    }

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
        histogram.reset();
        assert_eq!(histogram.stats(), LatencyStats::default());
        assert_eq!(histogram.quantile_s(0.5), None);
    }

    /// A quantile never reads above the maximum beside it (waits capped at exactly 5 s: a
    /// sticky schedule-to-start timeout), and waits under a microsecond read 0, whatever else
    /// was recorded (they read 1 us, and 0 only when the maximum clamped them).
    #[test]
    fn quantiles_are_never_above_the_maximum() {
        let mut capped = LatencyHistogram::new(3);
        for i in 0..1000u64 {
            capped.record(if i < 980 {
                i * 1_000_000
            } else {
                5_000_000_000
            });
        }
        let stats = capped.stats();
        assert_eq!((stats.p99, stats.max), (5.0, 5.0));
        assert!((stats.p50 - 0.5).abs() < 0.001, "{}", stats.p50);
        assert_eq!(capped.quantile_s(1.0), Some(5.0));
        let mut instant = LatencyHistogram::new(3);
        for nanos in [0, 0, 999] {
            instant.record(nanos);
        }
        let stats = instant.stats();
        // Whole microseconds, as 1,999 ns is 1 us: under one is 0.
        assert_eq!((stats.p50, stats.p99, stats.max), (0.0, 0.0, 999e-9));
        let mut zero = LatencyHistogram::new(3);
        zero.record(0);
        assert_eq!(zero.stats().p50, 0.0);
        let mut mostly_nil = LatencyHistogram::new(3);
        for i in 0..100u64 {
            mostly_nil.record(if i < 96 { 0 } else { 2_000_000_000 });
        }
        assert_eq!(mostly_nil.stats().p95, 0.0);
        // Within a bucket's precision of the true quantile otherwise: the top of its bucket.
        let mut spread = LatencyHistogram::new(3);
        for millis in 1..=1000u64 {
            spread.record(millis * 1_000_000 + 1);
        }
        assert!(spread.stats().p50 > 0.5 && spread.stats().p50 < 0.5005);
    }

    /// The sparse path (values kept, k-th smallest) gives exactly the dense path's quantiles
    /// (the histogram's cumulative walk), bucket for bucket, on samples of every size, with
    /// sub-microsecond values, ties and a value beyond the range.
    #[test]
    fn interval_quantiles_are_the_histograms_exactly() {
        /// The quantiles of an `hdrhistogram` of 2 digits recording every value's whole
        /// microseconds, read as the interval's walk reads them: the oracle.
        fn reference_quantiles<const N: usize>(
            values: &[u64],
            quantiles: [f64; N],
        ) -> [Option<f64>; N] {
            let mut histogram = Histogram::<u64>::new_with_bounds(1, MAX_MICROS, 2).unwrap();
            for &v in values {
                histogram.saturating_record(v / 1_000);
            }
            quantiles.map(|quantile| {
                let mut seen = 0;
                histogram.iter_recorded().find_map(|value| {
                    seen += value.count_since_last_iteration();
                    (seen as f64 >= rank(quantile, histogram.len())).then(|| {
                        histogram.highest_equivalent(value.value_iterated_to()) as f64 / 1e6
                    })
                })
            })
        }
        use crate::engine::rng::from_seed;
        use rand::Rng as _;
        let mut rng = from_seed(11);
        let quantiles = [0.0, 0.01, 0.5, 0.9, 0.95, 0.99, 1.0];
        // Values under 1 us are counted apart (`zeros`), so the last size holds more than
        // `SPARSE_CAPACITY` of the others and goes dense; the one before holds fewer.
        let sizes = [
            1usize,
            2,
            3,
            7,
            20,
            100,
            999,
            5000,
            SPARSE_CAPACITY + 1,
            SPARSE_CAPACITY * 5 / 4 + 5,
        ];
        for size in sizes {
            let values: Vec<u64> = (0..size)
                .map(|i| match i % 5 {
                    0 => rng.random_range(0..1_000),                      // below 1 us
                    1 => 40_000_000,                                      // ties
                    _ => (rng.random::<f64>().powi(4) * 3e11) as u64 + 1, // up to 300 s
                })
                .collect();
            let mut sparse = IntervalHistogram::new();
            let mut dense = IntervalHistogram::new();
            dense.densify();
            for &v in &values {
                sparse.record(v);
                dense.record(v);
            }
            let above_one_us = values.iter().filter(|&&v| v >= 1_000).count();
            assert_eq!(sparse.dense, above_one_us > SPARSE_CAPACITY, "size {size}");
            assert_eq!(sparse.count(), size as u64);
            assert_eq!(dense.count(), size as u64);
            let expected = reference_quantiles(&values, quantiles);
            assert_eq!(dense.quantiles_s(quantiles), expected, "size {size}");
            assert_eq!(sparse.quantiles_s(quantiles), expected, "size {size}");
            // Asked again, and out of order, from the values as the selections left them.
            let [p99, p50, p0, p95] = sparse.quantiles_s([0.99, 0.5, 0.0, 0.95]);
            assert_eq!(
                [p99, p50, p0, p95],
                [expected[5], expected[2], expected[0], expected[4]]
            );
            sparse.reset();
            dense.reset();
            assert_eq!(sparse.quantiles_s([0.5]), [None]);
            assert_eq!(dense.quantiles_s([0.5]), [None]);
        }
        // Zeros alone, in both forms, and again after a reset.
        for densify in [false, true] {
            let mut zeros = IntervalHistogram::new();
            if densify {
                zeros.densify();
            }
            for _ in 0..3 {
                zeros.record(999);
            }
            assert_eq!(zeros.quantiles_s([0.0, 0.5, 1.0]), [Some(0.0); 3]);
            zeros.record(2_000_000);
            let expected = reference_quantiles(&[999, 999, 999, 2_000_000], [0.75, 0.76]);
            assert_eq!(expected[0], Some(0.0));
            assert_eq!(zeros.quantiles_s([0.75, 0.76]), expected);
            zeros.reset();
            assert_eq!((zeros.count(), zeros.quantiles_s([0.5])), (0, [None]));
        }
        // Beyond the range: the histogram clamps it, so the interval goes dense at once.
        let mut far = IntervalHistogram::new();
        far.record(5_000);
        far.record(u64::MAX / 2);
        assert!(far.dense);
        let top = far.quantiles_s([1.0])[0].expect("recorded");
        assert!(top >= MAX_MICROS as f64 / 1e6 * 0.99, "{top}");
    }
}
