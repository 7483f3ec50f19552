//! The `hpa` autoscaler: Kubernetes' Horizontal Pod Autoscaler (autoscaling/v2), after the
//! Kubernetes documentation ("Horizontal Pod Autoscaling") and its controller. Also the HPA
//! that `keda` drives (`Controller`, `average_value_replicas`).
//!
//! Every `sync_period` (15 s) the controller reconciles, with current = running + starting +
//! down instances of the current revision (the Deployment's replicas):
//! 1. current = 0: autoscaling is disabled (Kubernetes never scales a zero-replica target up).
//!    current > max_replicas: max_replicas. current < min_replicas: min_replicas. Otherwise:
//! 2. A proposal from the metric (the "algorithm details"):
//!    - `cpu` (busy / available vCPU-time of running instances over the last sync period) and
//!      `memory` (memory / limit, mean over running instances): ratio = utilisation / target.
//!      Without unready pods: within the tolerance (|ratio - 1| <= 0.1) keep current, else
//!      ceil(ratio × ready). Pods not yet ready (starting, restarting) are set aside for CPU
//!      and, on a scale-up, counted at 0%; for memory their metric is missing and counts as
//!      100% of the request on a scale-down, 0% on a scale-up. Then the ratio is recomputed
//!      over those pods; if it is within the tolerance or changed direction, keep current,
//!      else ceil(new ratio × pods), unless that moves against the ratio. No running instance
//!      means no metrics: no proposal, nothing changes.
//!    - `backlog` (an external AverageValue metric): ratio = backlog / (target × current);
//!      within the tolerance keep current, else ceil(backlog / target_queue_size).
//! 3. Stabilisation: every proposal is remembered (the first reconcile also remembers the
//!    current count, so a new HPA does not scale down within its first window); the result is
//!    current raised to the lowest proposal of the scale-up window (0 s) and lowered to the
//!    highest proposal of the scale-down window (300 s), so scale-down follows the highest
//!    recommendation of the last 5 minutes.
//! 4. Rate policies: scaling up is capped at the `select_policy` (max: the most permissive) of
//!    the policies' limits, each start + value pods or ceil(start × (1 + value%)) where start
//!    is the count at the start of the policy's period (current minus the replicas added plus
//!    those removed within the period); scaling down likewise with start - value pods or
//!    trunc(start × (1 - value%)). `disabled` forbids that direction. Then clamp to
//!    [min_replicas, max_replicas].
//! 5. A change is remembered as a scale event for later rate policies.
//!
//! The ceilings subtract 1e-9 first so float noise (4.0000000001) does not add a replica.

use super::{Observed, Recommendation, Signals};
use crate::engine::Time;
use crate::scenario::{
    HpaAutoscaler, HpaControl, HpaMetric, HpaScalingRules, PolicyKind, SelectPolicy,
};
use std::collections::VecDeque;

pub struct HpaState {
    last_busy_area: u128,
    last_capacity_area: u128,
    controller: Controller,
}

impl HpaState {
    pub fn new(signals_now: (u128, u128)) -> Self {
        HpaState {
            last_busy_area: signals_now.0,
            last_capacity_area: signals_now.1,
            controller: Controller::default(),
        }
    }

    pub fn evaluate(&mut self, cfg: &HpaAutoscaler, signals: &Signals) -> Recommendation {
        let current = signals.total;
        let ready = signals.running;
        let unready = signals.total - signals.running;
        let tolerance = cfg.control.tolerance;
        let (proposal, observed) = match &cfg.metric {
            HpaMetric::Cpu { target_utilization } => {
                let busy = signals.busy_area - self.last_busy_area;
                let capacity = signals.capacity_area - self.last_capacity_area;
                self.last_busy_area = signals.busy_area;
                self.last_capacity_area = signals.capacity_area;
                let utilization = (capacity > 0).then(|| busy as f64 / capacity as f64);
                let proposal = utilization.and_then(|u| {
                    let pods = Pods {
                        current,
                        ready,
                        unready,
                    };
                    utilization_replicas(pods, u, *target_utilization, tolerance, Unready::SetAside)
                });
                (proposal, Observed::Cpu(utilization.unwrap_or(0.0)))
            }
            HpaMetric::Memory { target_utilization } => {
                let utilization = signals.memory_utilization;
                let proposal = utilization.and_then(|u| {
                    let pods = Pods {
                        current,
                        ready,
                        unready,
                    };
                    utilization_replicas(pods, u, *target_utilization, tolerance, Unready::Missing)
                });
                (proposal, Observed::Memory(utilization.unwrap_or(0.0)))
            }
            HpaMetric::Backlog {
                queue_types,
                target_queue_size,
            } => {
                let backlog =
                    queue_types.backlog(signals.workflow_backlog, signals.activity_backlog);
                let proposal =
                    average_value_replicas(current, backlog as f64, *target_queue_size, tolerance);
                (Some(proposal), Observed::Backlog(backlog))
            }
            HpaMetric::Concurrency {
                target_average_value,
            } => {
                let requests = signals.requests as f64;
                let proposal =
                    average_value_replicas(current, requests, *target_average_value, tolerance);
                (Some(proposal), Observed::Requests(requests))
            }
        };
        let bounds = (cfg.min_replicas, cfg.max_replicas);
        let target =
            self.controller
                .reconcile(&cfg.control, signals.now, current, proposal, bounds);
        Recommendation {
            target,
            observed,
            next_in: cfg.control.sync_period,
        }
    }
}

fn ceil(x: f64) -> u32 {
    (x - 1e-9).ceil().clamp(0.0, u32::MAX as f64) as u32
}

/// The pods a utilisation metric sees: the target's replicas, those ready (running) and those
/// not yet ready (starting or restarting).
#[derive(Clone, Copy, Debug)]
pub struct Pods {
    pub current: u32,
    pub ready: u32,
    pub unready: u32,
}

/// How pods not yet ready count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unready {
    /// CPU: set aside; on a scale-up counted at 0% of the request.
    SetAside,
    /// No metric (memory here): 100% of the request on a scale-down, 0% on a scale-up.
    Missing,
}

/// The replica count a resource utilisation metric proposes: `utilization` is the mean over
/// ready pods (0 to 1 of the request), `target` the target utilisation. `None` without a ready
/// pod (no metrics).
pub fn utilization_replicas(
    pods: Pods,
    utilization: f64,
    target: f64,
    tolerance: f64,
    unready_rule: Unready,
) -> Option<u32> {
    if pods.ready == 0 {
        return None;
    }
    let ratio = utilization / target;
    let rebalance_unready = unready_rule == Unready::SetAside && pods.unready > 0 && ratio > 1.0;
    let missing = if unready_rule == Unready::Missing {
        pods.unready
    } else {
        0
    };
    if !rebalance_unready && missing == 0 {
        if (ratio - 1.0).abs() <= tolerance {
            return Some(pods.current);
        }
        return Some(ceil(ratio * pods.ready as f64));
    }
    let mut usage = utilization * pods.ready as f64;
    let mut counted = pods.ready;
    if missing > 0 {
        if ratio < 1.0 {
            usage += missing as f64;
            counted += missing;
        } else if ratio > 1.0 {
            counted += missing;
        }
    }
    if rebalance_unready {
        counted += pods.unready;
    }
    let new_ratio = usage / counted as f64 / target;
    if (new_ratio - 1.0).abs() <= tolerance
        || (ratio < 1.0 && new_ratio > 1.0)
        || (ratio > 1.0 && new_ratio < 1.0)
    {
        return Some(pods.current);
    }
    let proposal = ceil(new_ratio * counted as f64);
    if (new_ratio < 1.0 && proposal > pods.current) || (new_ratio > 1.0 && proposal < pods.current)
    {
        return Some(pods.current);
    }
    Some(proposal)
}

/// The replica count an AverageValue metric (a total such as a backlog, `target` per replica)
/// proposes with `current` replicas.
pub fn average_value_replicas(current: u32, total: f64, target: f64, tolerance: f64) -> u32 {
    if current > 0 {
        let ratio = total / (target * current as f64);
        if (ratio - 1.0).abs() <= tolerance {
            return current;
        }
    }
    ceil(total / target)
}

/// The HPA controller's memory: past proposals (for stabilisation) and past scale events (for
/// rate policies).
#[derive(Default)]
pub struct Controller {
    /// Whether a reconcile has reached stabilisation before: the first one starts the window
    /// with the current count, as Kubernetes does, so a new HPA does not scale down at once.
    started: bool,
    /// (time, proposal) within the longer stabilisation window, less those a later one
    /// outdoes: for scaling up the lowest proposal counts, and one no lower than a later
    /// proposal never is the lowest of a window that holds it (the later one is there too), so
    /// `lowest` keeps proposals increasing from front to back; `highest`, for scaling down,
    /// decreasing. An evaluation reads the first of each within its window: a 1 ms sync
    /// period under a 5-minute window scanned 300,000 proposals every millisecond.
    lowest: VecDeque<(Time, u32)>,
    highest: VecDeque<(Time, u32)>,
    /// (time, replicas added), within the longest scale-up policy period.
    scale_up_events: VecDeque<(Time, u32)>,
    /// (time, replicas removed), within the longest scale-down policy period.
    scale_down_events: VecDeque<(Time, u32)>,
}

impl Controller {
    /// One reconcile at `now` with `current` replicas and the metric's `proposal` (`None`
    /// without metrics); returns the replica count to have.
    pub fn reconcile(
        &mut self,
        control: &HpaControl,
        now: Time,
        current: u32,
        proposal: Option<u32>,
        (min, max): (u32, u32),
    ) -> u32 {
        let desired = if current == 0 {
            0
        } else if current > max {
            max
        } else if current < min {
            min
        } else if let Some(proposal) = proposal {
            let stabilized = self.stabilize(control, now, current, proposal);
            self.rate_limit(control, now, current, stabilized, (min, max))
        } else {
            current
        };
        self.record_scale(control, now, current, desired);
        desired
    }

    fn stabilize(&mut self, control: &HpaControl, now: Time, current: u32, proposal: u32) -> u32 {
        if !self.started {
            self.started = true;
            self.remember(now, current);
        }
        let up_window = control.scale_up.stabilization_window;
        let down_window = control.scale_down.stabilization_window;
        // The first proposal within the window (time ascends along each list).
        let first_within = |list: &VecDeque<(Time, u32)>, window: Time| {
            let outside = list.partition_point(|(t, _)| now - t >= window);
            list.get(outside).map(|(_, recommendation)| *recommendation)
        };
        let up = first_within(&self.lowest, up_window).map_or(proposal, |r| r.min(proposal));
        let down = first_within(&self.highest, down_window).map_or(proposal, |r| r.max(proposal));
        self.remember(now, proposal);
        let keep = up_window.max(down_window);
        for list in [&mut self.lowest, &mut self.highest] {
            while list.front().is_some_and(|(t, _)| now - t >= keep) {
                list.pop_front();
            }
        }
        current.max(up).min(down)
    }

    /// Adds a proposal to both lists, dropping those it outdoes.
    fn remember(&mut self, now: Time, proposal: u32) {
        while self.lowest.back().is_some_and(|(_, r)| *r >= proposal) {
            self.lowest.pop_back();
        }
        self.lowest.push_back((now, proposal));
        while self.highest.back().is_some_and(|(_, r)| *r <= proposal) {
            self.highest.pop_back();
        }
        self.highest.push_back((now, proposal));
    }

    fn rate_limit(
        &self,
        control: &HpaControl,
        now: Time,
        current: u32,
        desired: u32,
        (min, max): (u32, u32),
    ) -> u32 {
        let (mut lowest, mut highest) = (i64::from(min), i64::from(max));
        let current_i = i64::from(current);
        if desired > current {
            let limit = self.limit(&control.scale_up, now, current_i, Direction::Up);
            highest = highest.min(limit.max(current_i));
        } else {
            let limit = self.limit(&control.scale_down, now, current_i, Direction::Down);
            lowest = lowest.max(limit.min(current_i));
        }
        i64::from(desired).max(lowest).min(highest) as u32
    }

    /// The furthest the rules let the count go from `current` in `direction` now.
    fn limit(&self, rules: &HpaScalingRules, now: Time, current: i64, direction: Direction) -> i64 {
        if rules.select_policy == SelectPolicy::Disabled {
            return current;
        }
        let changed = |events: &VecDeque<(Time, u32)>, period: Time| -> i64 {
            events
                .iter()
                .filter(|(t, _)| now - t < period)
                .map(|(_, n)| i64::from(*n))
                .sum()
        };
        let proposals = rules.policies.iter().map(|policy| {
            let added = changed(&self.scale_up_events, policy.period);
            let removed = changed(&self.scale_down_events, policy.period);
            let start = current - added + removed;
            let value = i64::from(policy.value);
            match (direction, policy.kind) {
                (Direction::Up, PolicyKind::Pods) => start + value,
                (Direction::Up, PolicyKind::Percent) => {
                    (start as f64 * (1.0 + value as f64 / 100.0)).ceil() as i64
                }
                (Direction::Down, PolicyKind::Pods) => start - value,
                (Direction::Down, PolicyKind::Percent) => {
                    (start as f64 * (1.0 - value as f64 / 100.0)) as i64
                }
            }
        });
        // `max` picks the policy allowing the biggest change: the highest limit up, the lowest
        // down.
        let most_permissive = matches!(
            (rules.select_policy, direction),
            (SelectPolicy::Max, Direction::Up) | (SelectPolicy::Min, Direction::Down)
        );
        let limit = if most_permissive {
            proposals.max()
        } else {
            proposals.min()
        };
        limit.unwrap_or(current)
    }

    fn record_scale(&mut self, control: &HpaControl, now: Time, from: u32, to: u32) {
        if to > from {
            self.scale_up_events.push_back((now, to - from));
        } else if to < from {
            self.scale_down_events.push_back((now, from - to));
        }
        let longest =
            |rules: &HpaScalingRules| rules.policies.iter().map(|p| p.period).max().unwrap_or(0);
        for (events, keep) in [
            (&mut self.scale_up_events, longest(&control.scale_up)),
            (&mut self.scale_down_events, longest(&control.scale_down)),
        ] {
            while events.front().is_some_and(|(t, _)| now - t >= keep) {
                events.pop_front();
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Direction {
    Up,
    Down,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testkit::{hpa_cpu, secs};
    use crate::scenario::HpaPolicy;

    fn pods(current: u32, ready: u32, unready: u32) -> Pods {
        Pods {
            current,
            ready,
            unready,
        }
    }

    /// Two running pods at `utilization` over the sync period ending at `now_s`.
    fn cpu_signals(now_s: u64, pods: u32, utilization: f64) -> Signals {
        let mut signals = super::super::test_signals(now_s, pods, pods, (0, 0));
        signals.capacity_area = 1_000_000;
        signals.busy_area = (utilization * 1e6) as u128;
        signals
    }

    /// Stabilisation reads the same lowest and highest proposals as a scan of every proposal
    /// in the windows (the lists keep only those that can be the extreme of a window), over a
    /// random walk of proposals, evaluation times and windows that change between
    /// evaluations (a timeline `set`), including zero windows.
    #[test]
    fn stabilisation_matches_a_scan_of_every_proposal() {
        use rand::Rng as _;
        let mut rng = crate::engine::rng::from_seed(5);
        let mut control = hpa_cpu(1, 100, 0.5).control;
        let mut controller = Controller::default();
        let mut all: Vec<(Time, u32)> = Vec::new();
        let mut now: Time = 0;
        let mut started = false;
        for step in 0..5_000 {
            now += rng.random_range(1..4);
            if step % 700 == 0 {
                control.scale_up.stabilization_window = rng.random_range(0..40);
                control.scale_down.stabilization_window = rng.random_range(0..300);
            }
            let (current, proposal) = (rng.random_range(1..50), rng.random_range(1..50));
            let (up_window, down_window) = (
                control.scale_up.stabilization_window,
                control.scale_down.stabilization_window,
            );
            if !started {
                started = true;
                all.push((now, current));
            }
            let within = |window: Time| all.iter().filter(move |(t, _)| now - t < window);
            let up = within(up_window).map(|(_, r)| *r).fold(proposal, u32::min);
            let down = within(down_window)
                .map(|(_, r)| *r)
                .fold(proposal, u32::max);
            all.push((now, proposal));
            let keep = up_window.max(down_window);
            all.retain(|(t, _)| now - t < keep);
            let expected = current.max(up).min(down);
            assert_eq!(
                controller.stabilize(&control, now, current, proposal),
                expected,
                "step {step}"
            );
        }
    }

    #[test]
    fn cpu_at_twice_the_target_scales_two_pods_to_four() {
        let cfg = hpa_cpu(1, 10, 0.4);
        let mut state = HpaState::new((0, 0));
        let recommendation = state.evaluate(&cfg, &cpu_signals(15, 2, 0.8));
        assert_eq!(recommendation.target, 4);
        assert_eq!(recommendation.observed, Observed::Cpu(0.8));
        assert_eq!(recommendation.next_in, secs(15.0));
    }

    #[test]
    fn no_change_inside_the_tolerance() {
        // 0.85 / 0.8 = 1.0625: inside 0.1, keep 10; 0.9 / 0.8 = 1.125: ceil(11.25) = 12.
        assert_eq!(
            utilization_replicas(pods(10, 10, 0), 0.85, 0.8, 0.1, Unready::SetAside),
            Some(10)
        );
        assert_eq!(
            utilization_replicas(pods(10, 10, 0), 0.9, 0.8, 0.1, Unready::SetAside),
            Some(12)
        );
        assert_eq!(
            utilization_replicas(pods(10, 10, 0), 0.75, 0.8, 0.1, Unready::SetAside),
            Some(10)
        );
        assert_eq!(average_value_replicas(4, 21.0, 5.0, 0.1), 4);
        assert_eq!(average_value_replicas(4, 23.0, 5.0, 0.1), 5);
    }

    #[test]
    fn unready_pods_dampen_a_cpu_scale_up_and_missing_memory_a_scale_down() {
        // Ready pods at 1.2x the target would propose ceil(2.4) = 3 of 4; with the two starting
        // pods at 0% the ratio falls to 0.6, a change of direction: keep 4.
        assert_eq!(
            utilization_replicas(pods(4, 2, 2), 0.6, 0.5, 0.1, Unready::SetAside),
            Some(4)
        );
        // Scaling down, CPU sets unready pods aside: ceil(0.25 x 2) = 1.
        assert_eq!(
            utilization_replicas(pods(4, 2, 2), 0.2, 0.8, 0.1, Unready::SetAside),
            Some(1)
        );
        // Memory: the two without metrics count at 100%: (0.4 + 2) / 4 / 0.8 = 0.75 -> 3.
        assert_eq!(
            utilization_replicas(pods(4, 2, 2), 0.2, 0.8, 0.1, Unready::Missing),
            Some(3)
        );
        assert_eq!(
            utilization_replicas(pods(2, 0, 2), 0.9, 0.5, 0.1, Unready::SetAside),
            None
        );
    }

    #[test]
    fn scale_down_waits_for_the_stabilization_window() {
        let control = HpaControl::kubernetes_defaults();
        let mut controller = Controller::default();
        let bounds = (1, 20);
        assert_eq!(controller.reconcile(&control, 0, 10, Some(10), bounds), 10);
        // The load drops: every proposal is 2, but 10 was recommended within 5 minutes.
        for t in (15..300).step_by(15) {
            assert_eq!(
                controller.reconcile(&control, secs(t as f64), 10, Some(2), bounds),
                10,
                "at {t} s"
            );
        }
        // 300 s after the last recommendation of 10, the highest of the window is 2.
        assert_eq!(
            controller.reconcile(&control, secs(300.0), 10, Some(2), bounds),
            2
        );
    }

    #[test]
    fn a_new_hpa_keeps_its_current_count_for_the_first_window() {
        let control = HpaControl::kubernetes_defaults();
        let mut controller = Controller::default();
        assert_eq!(
            controller.reconcile(&control, secs(15.0), 3, Some(0), (1, 10)),
            3
        );
        assert_eq!(
            controller.reconcile(&control, secs(300.0), 3, Some(0), (1, 10)),
            3
        );
        assert_eq!(
            controller.reconcile(&control, secs(315.0), 3, Some(0), (1, 10)),
            1
        );
    }

    #[test]
    fn rate_policies_cap_a_jump() {
        let control = HpaControl::kubernetes_defaults();
        let mut controller = Controller::default();
        let bounds = (1, 100);
        // From 2 pods wanting 40: the larger of +4 pods and +100% is 6.
        assert_eq!(controller.reconcile(&control, 0, 2, Some(40), bounds), 6);
        // Within the same 15 s period the start is still 2: no further step.
        assert_eq!(
            controller.reconcile(&control, secs(10.0), 6, Some(40), bounds),
            6
        );
        // A period later: the larger of 6 + 4 and 2 x 6.
        assert_eq!(
            controller.reconcile(&control, secs(15.0), 6, Some(40), bounds),
            12
        );

        // One pod per minute, and `min` of that and +100% when both are given.
        let mut slow = control.clone();
        slow.scale_up.policies = vec![HpaPolicy {
            kind: PolicyKind::Pods,
            value: 1,
            period: secs(60.0),
        }];
        let mut controller = Controller::default();
        assert_eq!(controller.reconcile(&slow, 0, 2, Some(40), bounds), 3);
        assert_eq!(
            controller.reconcile(&slow, secs(30.0), 3, Some(40), bounds),
            3
        );
        assert_eq!(
            controller.reconcile(&slow, secs(60.0), 3, Some(40), bounds),
            4
        );
        slow.scale_up.select_policy = SelectPolicy::Disabled;
        assert_eq!(
            controller.reconcile(&slow, secs(600.0), 4, Some(40), bounds),
            4
        );
        // Scale-down: 100% per 15 s allows going straight to the proposal once stabilised.
        let mut controller = Controller::default();
        let mut fast_down = control.clone();
        fast_down.scale_down.stabilization_window = 0;
        assert_eq!(controller.reconcile(&fast_down, 0, 12, Some(1), bounds), 1);
        fast_down.scale_down.policies = vec![HpaPolicy {
            kind: PolicyKind::Percent,
            value: 50,
            period: secs(15.0),
        }];
        let mut controller = Controller::default();
        assert_eq!(controller.reconcile(&fast_down, 0, 12, Some(1), bounds), 6);
    }

    #[test]
    fn bounds_and_zero_replicas() {
        let control = HpaControl::kubernetes_defaults();
        let mut controller = Controller::default();
        // Outside [min, max]: straight to the bound; at zero replicas the HPA is disabled.
        assert_eq!(controller.reconcile(&control, 0, 30, Some(30), (1, 10)), 10);
        assert_eq!(controller.reconcile(&control, 0, 1, Some(1), (3, 10)), 3);
        assert_eq!(controller.reconcile(&control, 0, 0, Some(7), (1, 10)), 0);
        // No metrics (no running pod): no change.
        assert_eq!(controller.reconcile(&control, 0, 5, None, (1, 10)), 5);
    }
}
