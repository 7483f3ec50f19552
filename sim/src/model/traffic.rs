//! Conversation arrivals: a non-homogeneous Poisson process by time transformation. Each
//! arrival consumes an Exp(1) amount of integrated rate ("mass") from the arrivals stream; the
//! arrival time is where the integrated rate reaches it. The rate is a step function (diurnal
//! profiles are stepped per minute), so the inversion is exact and a multiplier change at any
//! time only changes the rate from then on. Trace profiles replay their timestamps as given.

use crate::scenario::{NANOS_PER_SECOND, Nanos, TrafficProfile};

/// Diurnal profiles are approximated by one constant rate per minute.
const DIURNAL_STEP: Nanos = 60_000_000_000;
const DAY: Nanos = 86_400_000_000_000;

/// The base rate (conversations per second, before the multiplier) at `t`, and the time it
/// next changes (`Nanos::MAX` when it never does).
pub fn rate_segment(profile: &TrafficProfile, t: Nanos) -> (f64, Nanos) {
    match profile {
        TrafficProfile::Constant { rate_per_s } => (*rate_per_s, Nanos::MAX),
        TrafficProfile::Piecewise { points } => {
            let next = points.partition_point(|point| point.at <= t);
            let rate = if next == 0 {
                0.0
            } else {
                points[next - 1].rate_per_s
            };
            let until = points.get(next).map_or(Nanos::MAX, |point| point.at);
            (rate, until)
        }
        TrafficProfile::Diurnal {
            mean_rate_per_s,
            peak_to_trough,
            peak_hour,
        } => {
            let step_start = t - t % DIURNAL_STEP;
            let mid = step_start + DIURNAL_STEP / 2;
            let hour = (mid % DAY) as f64 / 3.6e12;
            let amplitude = (peak_to_trough - 1.0) / (peak_to_trough + 1.0);
            let phase = 2.0 * std::f64::consts::PI * (hour - peak_hour) / 24.0;
            (
                mean_rate_per_s * (1.0 + amplitude * phase.cos()),
                step_start + DIURNAL_STEP,
            )
        }
        TrafficProfile::Trace { .. } => (0.0, Nanos::MAX),
    }
}

/// The time at which `mass` of integrated rate (times `multiplier`) has accumulated after
/// `from`, or `None` if that is not before `limit`.
pub fn time_of_mass(
    profile: &TrafficProfile,
    multiplier: f64,
    from: Nanos,
    mut mass: f64,
    limit: Nanos,
) -> Option<Nanos> {
    let mut t = from;
    while t < limit {
        let (base_rate, until) = rate_segment(profile, t);
        let rate = base_rate * multiplier;
        let end = until.min(limit);
        if rate > 0.0 {
            let needed_s = mass / rate;
            let span_s = (end - t) as f64 / NANOS_PER_SECOND;
            if needed_s < span_s {
                let at = t + (needed_s * NANOS_PER_SECOND) as Nanos;
                return (at < limit).then_some(at.max(from));
            }
            mass -= rate * span_s;
        }
        t = end;
    }
    None
}

/// Integrated rate (times `multiplier`) over [from, to).
pub fn mass_between(profile: &TrafficProfile, multiplier: f64, from: Nanos, to: Nanos) -> f64 {
    let mut t = from;
    let mut mass = 0.0;
    while t < to {
        let (base_rate, until) = rate_segment(profile, t);
        let end = until.min(to);
        mass += base_rate * multiplier * (end - t) as f64 / NANOS_PER_SECOND;
        t = end;
    }
    mass
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::RatePoint;

    #[test]
    fn piecewise_mass_inverts_across_steps() {
        let profile = TrafficProfile::Piecewise {
            points: vec![
                RatePoint {
                    at: 0,
                    rate_per_s: 1.0,
                },
                RatePoint {
                    at: 10_000_000_000,
                    rate_per_s: 0.0,
                },
                RatePoint {
                    at: 20_000_000_000,
                    rate_per_s: 2.0,
                },
            ],
        };
        // 10 units in the first 10 s, none in the next 10, then 2 per second.
        let at = time_of_mass(&profile, 1.0, 0, 12.0, Nanos::MAX).unwrap();
        assert_eq!(at, 21_000_000_000);
        assert!((mass_between(&profile, 1.0, 0, at) - 12.0).abs() < 1e-9);
        assert_eq!(time_of_mass(&profile, 1.0, 0, 12.0, 20_000_000_000), None);
    }

    #[test]
    fn diurnal_peaks_at_peak_hour_with_the_asked_ratio() {
        let profile = TrafficProfile::Diurnal {
            mean_rate_per_s: 10.0,
            peak_to_trough: 3.0,
            peak_hour: 14.0,
        };
        let hour = 3_600_000_000_000;
        let (peak, _) = rate_segment(&profile, 14 * hour);
        let (trough, _) = rate_segment(&profile, 2 * hour);
        assert!((peak / trough - 3.0).abs() < 0.01, "{peak} / {trough}");
        let day_mass = mass_between(&profile, 1.0, 0, 24 * hour);
        assert!((day_mass / 86_400.0 - 10.0).abs() < 0.01);
    }
}
