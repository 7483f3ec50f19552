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

/// Whether the 95% intervals of two means overlap, so the two are not distinguishable at 95%.
/// Without an interval (one replication) nothing tells them apart.
pub fn intervals_overlap(a: &Stats, b: &Stats) -> bool {
    match (a.ci95, b.ci95) {
        (Some(x), Some(y)) => (a.mean - b.mean).abs() <= x + y,
        _ => true,
    }
}

/// Replications per point at which the 95% intervals of `a` and `b` would stop overlapping if
/// their means and standard deviations stayed as measured: the smallest n (at most `max`) with
/// t(0.975, n - 1) * (sd_a + sd_b) / sqrt(n) below the difference of the means. `None` without
/// spread to extrapolate from, for equal means, or past `max`.
pub fn replications_to_separate(a: &Stats, b: &Stats, max: usize) -> Option<usize> {
    let spread = a.sd? + b.sd?;
    let difference = (a.mean - b.mean).abs();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_and_replications_to_separate() {
        let a = Stats::of(&[10.0, 12.0]);
        let b = Stats::of(&[11.0, 13.0]);
        assert!(intervals_overlap(&a, &b));
        // sd = sqrt(2) each, difference 1: t(n-1) * 2.828 / sqrt(n) < 1 first at n = 34.
        let n = replications_to_separate(&a, &b, 10_000).unwrap();
        assert!(t_975(n - 1) * 2.0 * 2f64.sqrt() / (n as f64).sqrt() < 1.0);
        assert!(t_975(n - 2) * 2.0 * 2f64.sqrt() / ((n - 1) as f64).sqrt() >= 1.0);
        assert_eq!(n, 34);
        assert_eq!(replications_to_separate(&a, &a, 10_000), None);
        assert_eq!(replications_to_separate(&a, &b, 20), None);
        let far = Stats::of(&[100.0, 101.0]);
        assert!(!intervals_overlap(&a, &far));
        assert!(intervals_overlap(&Stats::of(&[1.0]), &Stats::of(&[5.0])));
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
