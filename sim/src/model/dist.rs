//! Sampling the scenario's distributions. Pure functions of a generator and a `Dist`.

use crate::engine::rng::Rng;
use crate::scenario::{Dist, Nanos, round_to_u64, seconds_to_nanos};
use rand::Rng as _;
use rand_distr::{Distribution, Exp1, StandardNormal};

/// A draw in the distribution's own unit (seconds or count), never negative.
pub fn sample(dist: &Dist, rng: &mut Rng) -> f64 {
    let value = match dist {
        Dist::Constant { value } => *value,
        Dist::Exponential { mean } => {
            let draw: f64 = Exp1.sample(rng);
            mean * draw
        }
        Dist::Lognormal { median, sigma, .. } => {
            let z: f64 = StandardNormal.sample(rng);
            median * (sigma * z).exp()
        }
        Dist::Uniform { min, max } => {
            if max > min {
                rng.random_range(*min..*max)
            } else {
                *min
            }
        }
        Dist::Geometric { mean } => {
            // Trials to the first success with p = 1 / mean, by inversion.
            let p = 1.0 / mean.max(1.0);
            if p >= 1.0 {
                1.0
            } else {
                let u: f64 = rng.random::<f64>();
                ((1.0 - u).ln() / (1.0 - p).ln()).floor() + 1.0
            }
        }
        Dist::Empirical { values, .. } => {
            if values.is_empty() {
                0.0
            } else {
                values[rng.random_range(0..values.len())]
            }
        }
    };
    value.max(0.0)
}

/// A duration draw (the distribution is in seconds).
pub fn sample_nanos(dist: &Dist, rng: &mut Rng) -> Nanos {
    seconds_to_nanos(sample(dist, rng))
}

/// A count draw, rounded to the nearest integer.
pub fn sample_count(dist: &Dist, rng: &mut Rng) -> u64 {
    round_to_u64(sample(dist, rng))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::from_seed;

    fn sample_mean(dist: &Dist, n: usize) -> f64 {
        let mut rng = from_seed(7);
        (0..n).map(|_| sample(dist, &mut rng)).sum::<f64>() / n as f64
    }

    #[test]
    fn sample_means_match_the_distributions() {
        let cases = [
            Dist::Exponential { mean: 2.0 },
            Dist::lognormal(1.0, 10.0),
            Dist::Uniform {
                min: 10.0,
                max: 30.0,
            },
            Dist::Geometric { mean: 5.0 },
            Dist::Constant { value: 3.5 },
        ];
        for dist in &cases {
            let observed = sample_mean(dist, 200_000);
            let expected = dist.mean();
            assert!(
                (observed - expected).abs() / expected < 0.02,
                "{dist:?}: sample mean {observed} vs {expected}"
            );
        }
    }

    #[test]
    fn lognormal_p99_is_where_asked() {
        let dist = Dist::lognormal(0.8, 8.0);
        let mut rng = from_seed(3);
        let mut draws: Vec<f64> = (0..100_000).map(|_| sample(&dist, &mut rng)).collect();
        draws.sort_by(f64::total_cmp);
        let p50 = draws[50_000];
        let p99 = draws[99_000];
        assert!((p50 - 0.8).abs() < 0.02, "p50 {p50}");
        assert!((p99 - 8.0).abs() / 8.0 < 0.05, "p99 {p99}");
    }
}
