//! Statistics across replications: mean, sample standard deviation and the 95% confidence
//! half-width from Student's t with n - 1 degrees of freedom. Sums run in replication order on
//! one thread, so results never depend on which run finished first.
//!
//! With one replication there is no spread to estimate: `sd` and `ci95` are `None` (an empty
//! CSV cell, `null` in JSON) rather than a misleading 0 or a NaN.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Mean, spread and 95% CI half-width of one metric over replications.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (divisor n - 1); `None` when n < 2.
    pub sd: Option<f64>,
    /// Half-width of the 95% confidence interval of the mean: t(0.975, n - 1) * sd / sqrt(n).
    pub ci95: Option<f64>,
}

/// The 0.975 quantile of Student's t with `dof` degrees of freedom.
pub fn t_975(dof: usize) -> f64 {
    assert!(dof >= 1, "Student t needs at least one degree of freedom");
    StudentsT::new(0.0, 1.0, dof as f64)
        .expect("valid Student t parameters")
        .inverse_cdf(0.975)
}

impl Stats {
    /// Statistics of `values`, in the order given. Panics on an empty slice.
    pub fn of(values: &[f64]) -> Stats {
        let n = values.len();
        assert!(n > 0, "statistics of no values");
        let mean = values.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Stats {
                n,
                mean,
                sd: None,
                ci95: None,
            };
        }
        let sum_sq: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
        let sd = (sum_sq / (n - 1) as f64).sqrt();
        let ci95 = t_975(n - 1) * sd / (n as f64).sqrt();
        Stats {
            n,
            mean,
            sd: Some(sd),
            ci95: Some(ci95),
        }
    }
}

/// Whether two configurations run on the same seeds (common random numbers) are not
/// distinguishable at 95%: the 95% interval of the mean of the paired differences `b_r - a_r`
/// contains zero (a paired t-test). Without an interval (one replication) nothing tells them
/// apart. The pairing is what common random numbers buy: the two share each replication's
/// customers, so the differences vary far less than either value.
pub fn paired_indistinguishable(a: &[f64], b: &[f64]) -> bool {
    let differences = paired_differences(a, b);
    match differences.ci95 {
        Some(half) => differences.mean.abs() <= half,
        None => true,
    }
}

/// Replications per configuration at which the paired 95% interval would exclude zero if the
/// differences' mean and standard deviation stayed as measured: the smallest n (at most `max`)
/// with t(0.975, n - 1) * sd / sqrt(n) below |mean|. `None` without spread to extrapolate from,
/// for equal means, or past `max`.
pub fn paired_replications_to_separate(a: &[f64], b: &[f64], max: usize) -> Option<usize> {
    let differences = paired_differences(a, b);
    let spread = differences.sd?;
    let difference = differences.mean.abs();
    if difference <= 0.0 || !difference.is_finite() {
        return None;
    }
    let separated = |n: usize| t_975(n - 1) * spread / (n as f64).sqrt() < difference;
    // t is above 1.96, so the normal approximation is a lower bound to start from.
    let guess = (1.96 * spread / difference).powi(2).ceil();
    if guess.is_nan() || guess > max as f64 {
        return None;
    }
    (guess.max(2.0) as usize..=max).find(|&n| separated(n))
}

/// The statistics of `b_r - a_r` over the replications both have.
fn paired_differences(a: &[f64], b: &[f64]) -> Stats {
    let differences: Vec<f64> = a.iter().zip(b).map(|(x, y)| y - x).collect();
    Stats::of(&differences)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paired on common random numbers: two configurations whose values move together are told
    /// apart by their differences, however wide each one's own interval.
    #[test]
    fn paired_indistinguishability_and_replications_to_separate() {
        let a = [10.0, 12.0, 14.0];
        let b = [10.5, 12.6, 14.4];
        // Each interval is wide (sd 2) and they overlap, but the differences are 0.5 +- 0.1.
        assert!(!paired_indistinguishable(&a, &b));
        // Differences 1 and -0.5, mean 0.25: the interval contains zero.
        let c = [11.0, 11.5];
        assert!(paired_indistinguishable(&a[..2], &c));
        // sd of the differences 1.0607, mean 0.25: t(n-1) * 1.0607 / sqrt(n) < 0.25 first at n.
        let n = paired_replications_to_separate(&a[..2], &c, 10_000).unwrap();
        let sd = 1.5f64 / 2f64.sqrt();
        assert!(t_975(n - 1) * sd / (n as f64).sqrt() < 0.25);
        assert!(t_975(n - 2) * sd / ((n - 1) as f64).sqrt() >= 0.25);
        assert_eq!(paired_replications_to_separate(&a, &a, 10_000), None);
        assert_eq!(paired_replications_to_separate(&a[..2], &c, 20), None);
        assert!(paired_indistinguishable(&[1.0], &[5.0]));
    }

    #[test]
    fn hand_computed_case() {
        // mean 3, sd sqrt(2.5) = 1.5811, t(0.975, 4) = 2.7764, half-width 2.7764 * 1.5811 / sqrt(5).
        let s = Stats::of(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.n, 5);
        assert_eq!(s.mean, 3.0);
        assert!((s.sd.unwrap() - 1.581_139).abs() < 1e-6, "{s:?}");
        assert!((t_975(4) - 2.776_445).abs() < 1e-5, "{}", t_975(4));
        assert!((s.ci95.unwrap() - 1.963_243).abs() < 1e-5, "{s:?}");
    }

    #[test]
    fn t_quantiles_from_tables() {
        for (dof, t) in [
            (1, 12.706_205),
            (2, 4.302_653),
            (9, 2.262_157),
            (29, 2.045_230),
            (1000, 1.962_339),
        ] {
            assert!((t_975(dof) - t).abs() < 1e-4, "dof {dof}: {}", t_975(dof));
        }
    }

    #[test]
    fn one_replication_has_no_spread() {
        let s = Stats::of(&[4.2]);
        assert_eq!((s.mean, s.sd, s.ci95), (4.2, None, None));
    }

    #[test]
    fn constant_values_have_zero_spread() {
        let s = Stats::of(&[2.0, 2.0, 2.0]);
        assert_eq!((s.sd, s.ci95), (Some(0.0), Some(0.0)));
    }
}
