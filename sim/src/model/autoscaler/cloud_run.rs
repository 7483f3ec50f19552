//! The `cloud_run` autoscaler, after Cloud Run's documented behaviour for CPU and request
//! concurrency:
//!
//! Every `evaluation_interval` it computes the average CPU utilisation U of the fleet over the
//! trailing `window` (busy vCPU-seconds / available vCPU-seconds of running and draining
//! instances) and
//!   desired_cpu = ceil(U * running / target_cpu_utilization)
//!   desired_concurrency = ceil(R / (max_concurrency * target_concurrency_utilization))
//!   desired = clamp(max(desired_cpu, desired_concurrency), min_instances, max_instances),
//! where R is the average number of requests in flight or waiting for a slot over the same
//! window (request mode, `[serving]`). Temporal workers poll for work and receive no HTTP
//! requests, so in poll mode R is 0 and only CPU counts. Scale-out is immediate (new instances
//! pay a cold start); scale-in goes to the highest `desired` seen over the trailing
//! `scale_in_stabilization`, so an instance is removed only after that long without being
//! needed. The first evaluation counts the instances already there as desired, so none is
//! removed sooner than that after the start (or after a timeline switch to this kind). Crashed
//! (restarting) and starting instances count as instances. With `min_instances = 0` a fleet
//! whose CPU goes idle scales to zero and, receiving no requests, never scales back: a real
//! hazard of pull-based workers.

use super::{Areas, Observed, Recommendation, Signals};
use crate::engine::Time;
use crate::scenario::CloudRunAutoscaler;
use std::collections::VecDeque;

#[derive(Default)]
pub struct CloudRunState {
    /// (busy, available) vCPU-nanoseconds, request-nanoseconds and the nanoseconds they cover,
    /// per evaluation within the window.
    window: VecDeque<(u128, u128, u128, u128)>,
    /// The sums of `window`'s four columns, kept as entries come and go (exact integers), so
    /// an evaluation costs the same whatever the window holds: a 1 ms evaluation interval
    /// over a 60 s window added up 60,000 entries each millisecond.
    window_sums: (u128, u128, u128, u128),
    last_busy_area: u128,
    last_capacity_area: u128,
    last_request_area: u128,
    /// When the areas above were read: the last evaluation, or when this state began.
    last_at: Time,
    /// (time, desired) over the scale-in stabilisation window, less those a later one at
    /// least as high outlasts (they can never be the highest): the desired counts decrease
    /// from front to back, and the front is the highest of the window.
    /// Never empty once an evaluation has run (the count it just added stays).
    recent: VecDeque<(Time, u32)>,
}

impl CloudRunState {
    /// A state beginning at `now` with the run's areas so far (all zero at the start): its
    /// first window measures from `now`, not from the start of the run, after a timeline
    /// switch to this kind.
    pub fn new(now: Time, areas: Areas) -> Self {
        CloudRunState {
            last_busy_area: areas.busy,
            last_capacity_area: areas.capacity,
            last_request_area: areas.requests,
            last_at: now,
            ..Default::default()
        }
    }

    pub fn evaluate(&mut self, cfg: &CloudRunAutoscaler, signals: &Signals) -> Recommendation {
        let now = signals.now;
        let busy = signals.busy_area - self.last_busy_area;
        let capacity = signals.capacity_area - self.last_capacity_area;
        let requests = signals.request_area - self.last_request_area;
        let span = u128::from(now - self.last_at);
        self.last_busy_area = signals.busy_area;
        self.last_capacity_area = signals.capacity_area;
        self.last_request_area = signals.request_area;
        self.last_at = now;
        self.window.push_back((busy, capacity, requests, span));
        let sums = &mut self.window_sums;
        *sums = (
            sums.0 + busy,
            sums.1 + capacity,
            sums.2 + requests,
            sums.3 + span,
        );
        let slots = (cfg.window / cfg.evaluation_interval.max(1)).max(1) as usize;
        while self.window.len() > slots {
            let (b, c, r, t) = self.window.pop_front().expect("longer than the slots");
            *sums = (sums.0 - b, sums.1 - c, sums.2 - r, sums.3 - t);
        }
        let (busy_sum, capacity_sum, request_sum, covered) = *sums;
        // The time the window covers as measured: every evaluation_interval in steady state,
        // less for an evaluation that came sooner (the first after a switch to this kind, or
        // after the interval changed).
        let requests = request_sum as f64 / covered.max(1) as f64;
        let utilization = if capacity_sum == 0 {
            0.0
        } else {
            busy_sum as f64 / capacity_sum as f64
        };
        let total = signals.total;
        let desired = cloud_run_desired(cfg, utilization, signals.running, requests);
        let by_cpu = cloud_run_desired(cfg, utilization, signals.running, 0.0);
        let observed = if desired > by_cpu && requests > 0.0 {
            Observed::Requests(requests)
        } else {
            Observed::Cpu(utilization)
        };
        if self.recent.is_empty() {
            // The first evaluation remembers the instances there already are, as if they had
            // been wanted just now: like Cloud Run, which keeps an idle instance up to the
            // stabilisation period, a new autoscaler (at the start, or after a timeline switch
            // to it) does not stop instances before it has watched them that long.
            self.remember(now, total);
        }
        self.remember(now, desired);
        while self
            .recent
            .front()
            .is_some_and(|(t, _)| now - t > cfg.scale_in_stabilization)
        {
            self.recent.pop_front();
        }
        let stabilized = self.recent.front().map_or(desired, |(_, d)| *d);
        let target = if desired >= total {
            desired
        } else {
            stabilized.min(total)
        };
        Recommendation {
            target,
            observed,
            next_in: cfg.evaluation_interval,
        }
    }
}

impl CloudRunState {
    /// Adds `desired` at `now` to the stabilisation window, dropping the earlier counts it is
    /// at least as high as: within any window that holds them, it is there too.
    fn remember(&mut self, now: Time, desired: u32) {
        while self.recent.back().is_some_and(|(_, d)| *d <= desired) {
            self.recent.pop_back();
        }
        self.recent.push_back((now, desired));
    }
}

/// Cloud Run's desired instance count for utilisation `cpu_utilization` over the window with
/// `running` instances and `requests` in flight, before stabilisation.
pub fn cloud_run_desired(
    cfg: &CloudRunAutoscaler,
    cpu_utilization: f64,
    running: u32,
    requests: f64,
) -> u32 {
    // The small epsilon keeps float noise (0.6000000001) from adding an instance.
    let ceil = |x: f64| (x - 1e-9).ceil().max(0.0) as u32;
    let by_cpu = ceil(cpu_utilization * running as f64 / cfg.target_cpu_utilization);
    let per_instance = cfg.max_concurrency as f64 * cfg.target_concurrency_utilization;
    let by_requests = ceil(requests / per_instance);
    by_cpu
        .max(by_requests)
        .clamp(cfg.min_instances, cfg.max_instances)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud_run(min: u32, max: u32) -> CloudRunAutoscaler {
        crate::model::testkit::cloud_run(min, max, 1)
    }

    #[test]
    fn desired_follows_cpu_over_target_and_clamps() {
        let cfg = cloud_run(0, 100);
        assert_eq!(cloud_run_desired(&cfg, 0.6, 10, 0.0), 10);
        assert_eq!(cloud_run_desired(&cfg, 0.9, 10, 0.0), 15);
        assert_eq!(cloud_run_desired(&cfg, 0.3, 10, 0.0), 5);
        assert_eq!(cloud_run_desired(&cfg, 0.0, 10, 0.0), 0);
        assert_eq!(cloud_run_desired(&cloud_run(3, 12), 0.0, 10, 0.0), 3);
        assert_eq!(cloud_run_desired(&cloud_run(3, 12), 1.0, 10, 0.0), 12);
    }

    /// The window's sums and the stabilisation's highest desired count are those of a scan
    /// of every evaluation, over random loads, evaluation gaps and settings that change
    /// between evaluations (a timeline `set`).
    #[test]
    fn running_sums_and_the_highest_desired_match_a_scan() {
        use rand::Rng as _;
        let mut rng = crate::engine::rng::from_seed(9);
        let mut cfg = cloud_run(0, 1000);
        let mut state = CloudRunState::default();
        let (mut busy, mut capacity, mut requests) = (0u128, 0u128, 0u128);
        let mut window: VecDeque<(u128, u128, u128, u128)> = VecDeque::new();
        let mut recent: Vec<(Time, u32)> = Vec::new();
        let (mut now, mut last_at, mut first) = (0, 0, true);
        for step in 0..3_000 {
            if step % 500 == 0 {
                cfg.evaluation_interval = rng.random_range(1..5);
                cfg.window = rng.random_range(1..40);
                cfg.scale_in_stabilization = rng.random_range(0..200);
            }
            now += rng.random_range(1..6);
            let running: u32 = rng.random_range(1..60);
            let span = u128::from(now - last_at);
            let (b, c, r) = (
                span * rng.random_range(0..=u128::from(running)),
                span * u128::from(running),
                span * rng.random_range(0..500),
            );
            (busy, capacity, requests) = (busy + b, capacity + c, requests + r);
            let signals = Signals {
                now,
                running,
                total: running,
                busy_area: busy,
                capacity_area: capacity,
                memory_utilization: None,
                workflow_backlog: 0,
                activity_backlog: 0,
                request_area: requests,
                requests: 0,
            };
            let got = state.evaluate(&cfg, &signals);
            // The scan.
            window.push_back((b, c, r, span));
            let slots = (cfg.window / cfg.evaluation_interval).max(1) as usize;
            while window.len() > slots {
                window.pop_front();
            }
            let sums = window.iter().fold((0, 0, 0, 0), |s, w| {
                (s.0 + w.0, s.1 + w.1, s.2 + w.2, s.3 + w.3)
            });
            assert_eq!(state.window_sums, sums, "step {step}");
            let utilization = if sums.1 == 0 {
                0.0
            } else {
                sums.0 as f64 / sums.1 as f64
            };
            let desired = cloud_run_desired(
                &cfg,
                utilization,
                running,
                sums.2 as f64 / sums.3.max(1) as f64,
            );
            if first {
                first = false;
                recent.push((now, running));
            }
            recent.push((now, desired));
            recent.retain(|(t, _)| now - t <= cfg.scale_in_stabilization);
            let highest = recent.iter().map(|(_, d)| *d).max().unwrap_or(desired);
            let target = if desired >= running {
                desired
            } else {
                highest.min(running)
            };
            assert_eq!(got.target, target, "step {step}");
            last_at = now;
        }
    }

    /// Eight idle instances at the start, wanting two (the minimum): none goes before the
    /// stabilisation period has passed since the first evaluation, then six go at once.
    #[test]
    fn the_instances_there_at_the_start_are_kept_for_the_stabilisation_period() {
        let cfg = cloud_run(2, 100);
        let mut state = CloudRunState::default();
        let step = cfg.evaluation_interval;
        let signals = |now: Time| Signals {
            now,
            running: 8,
            total: 8,
            busy_area: 0,
            capacity_area: u128::from(now) * 8,
            memory_utilization: None,
            workflow_backlog: 0,
            activity_backlog: 0,
            request_area: 0,
            requests: 0,
        };
        let mut now = step;
        while now <= step + cfg.scale_in_stabilization {
            assert_eq!(state.evaluate(&cfg, &signals(now)).target, 8, "at {now} ns");
            now += step;
        }
        assert_eq!(state.evaluate(&cfg, &signals(now)).target, 2);
    }

    /// After a timeline switch to this kind (here at 600 s, from a fleet that held 1,000
    /// requests for ten minutes), the first window measures from the switch: 96 requests in
    /// flight since then at 80 x 0.6 per instance want 2 instances, not the 10,000 that the whole
    /// run's request-time over one interval made of it. An evaluation sooner than the interval
    /// (the old kind's tick) divides by the time it covers.
    #[test]
    fn a_state_begun_mid_run_measures_its_window_from_its_start() {
        let cfg = cloud_run(0, 100);
        let second = 1_000_000_000u128;
        let at_switch = Areas {
            busy: 0,
            capacity: 600 * second * 4,
            requests: 600 * second * 1000,
        };
        let signals = |now_s: u64| Signals {
            now: now_s * 1_000_000_000,
            running: 4,
            total: 4,
            busy_area: 0,
            capacity_area: u128::from(now_s) * second * 4,
            memory_utilization: None,
            workflow_backlog: 0,
            activity_backlog: 0,
            request_area: at_switch.requests + u128::from(now_s - 600) * second * 96,
            requests: 96,
        };
        let mut state = CloudRunState::new(600 * 1_000_000_000, at_switch);
        let first = state.evaluate(&cfg, &signals(601));
        assert_eq!(first.observed, Observed::Requests(96.0));
        assert_eq!(
            first.target, 4,
            "kept: the instances there count as wanted at first"
        );
        let second_evaluation = state.evaluate(&cfg, &signals(603));
        assert_eq!(second_evaluation.observed, Observed::Requests(96.0));
        assert_eq!(
            cloud_run_desired(&cfg, 0.0, 4, 96.0),
            2,
            "what the window asks for"
        );
    }

    #[test]
    fn requests_would_count_but_a_poller_has_none() {
        let cfg = cloud_run(0, 100);
        // 480 requests in flight at 80 x 0.6 per instance would need 10 instances.
        assert_eq!(cloud_run_desired(&cfg, 0.0, 1, 480.0), 10);
        assert_eq!(cloud_run_desired(&cfg, 0.05, 4, 0.0), 1);
    }
}
