//! The `keda` autoscaler: a KEDA ScaledObject with the Temporal scaler, after KEDA's
//! documentation ("Scaling Deployments", the "Temporal" scaler). KEDA owns the step between
//! zero and one replica; for one and more it drives a Kubernetes HPA (`hpa.rs`) whose metric
//! is the backlog as an AverageValue with target `target_queue_size`.
//!
//! The metric is the Temporal task-queue backlog of `queue_types`: queued workflow tasks
//! and/or queued activities, read from the model's queues at the moment of the poll. (The
//! model's workflow task backlog also holds tasks waiting on a worker's sticky queue, which
//! Temporal counts on that worker's own queue; they wait at most the sticky timeout.)
//!
//! - Every `polling_interval` (30 s) KEDA polls: the scaler is active while
//!   backlog > `activation_target_queue_size` (0). Active with 0 replicas: scale to
//!   max(`min_replica_count`, 1) (from zero on the first queued task). Inactive with replicas,
//!   `min_replica_count` = 0 and no activity for more than `cooldown_period` (300 s): scale
//!   to 0. The run's start counts as the last activity. Fewer replicas than
//!   `min_replica_count`: scale to it.
//! - Every `sync_period` (15 s) the HPA reconciles with min = max(`min_replica_count`, 1),
//!   max = `max_replica_count` and the proposal ceil(backlog / `target_queue_size`) (kept
//!   within the tolerance), its stabilisation and rate policies applying; at 0 replicas it
//!   does nothing, and it skips a tick on which KEDA has just scaled.
//!
//! This is also how a pull-based worker fleet on Cloud Run worker pools is scaled today: worker
//! pools take no requests and have no CPU autoscaler of their own, and KEDA (or a similar
//! external scaler) sets their instance count from the queue backlog.

use super::hpa::{Controller, average_value_replicas};
use super::{Observed, Recommendation, Signals};
use crate::engine::Time;
use crate::scenario::KedaAutoscaler;

pub struct KedaState {
    controller: Controller,
    /// The last poll that found the scaler active.
    last_active: Time,
    next_poll: Time,
    next_sync: Time,
}

impl KedaState {
    /// A ScaledObject created at `now` (the run's start or a timeline switch to `keda`).
    pub fn new(cfg: &KedaAutoscaler, now: Time) -> Self {
        KedaState {
            controller: Controller::default(),
            last_active: now,
            next_poll: now.saturating_add(cfg.polling_interval),
            next_sync: now.saturating_add(cfg.control.sync_period),
        }
    }

    pub fn evaluate(&mut self, cfg: &KedaAutoscaler, signals: &Signals) -> Recommendation {
        let now = signals.now;
        let current = signals.total;
        let backlog = cfg
            .queue_types
            .backlog(signals.workflow_backlog, signals.activity_backlog);
        let mut target = current;
        let mut keda_scaled = false;
        if now >= self.next_poll {
            self.next_poll = now.saturating_add(cfg.polling_interval);
            if let Some(count) = self.poll(cfg, now, current, backlog) {
                target = count;
                keda_scaled = count != current;
            }
        }
        if now >= self.next_sync {
            self.next_sync = now.saturating_add(cfg.control.sync_period);
            if !keda_scaled {
                let proposal = average_value_replicas(
                    current,
                    backlog as f64,
                    cfg.target_queue_size,
                    cfg.control.tolerance,
                );
                let bounds = (cfg.min_replica_count.max(1), cfg.max_replica_count);
                target =
                    self.controller
                        .reconcile(&cfg.control, now, current, Some(proposal), bounds);
            }
        }
        Recommendation {
            target,
            observed: Observed::Backlog(backlog),
            next_in: self.next_poll.min(self.next_sync) - now,
        }
    }

    /// KEDA's own step: activation from zero, scale to zero after the cooldown, the minimum.
    fn poll(&mut self, cfg: &KedaAutoscaler, now: Time, current: u32, backlog: u64) -> Option<u32> {
        let active = backlog as f64 > cfg.activation_target_queue_size;
        if active {
            self.last_active = now;
        }
        if current < cfg.min_replica_count {
            return Some(cfg.min_replica_count);
        }
        if active && current == 0 {
            return Some(cfg.min_replica_count.max(1).min(cfg.max_replica_count));
        }
        let cooled_down = now - self.last_active > cfg.cooldown_period;
        if !active && current > 0 && cfg.min_replica_count == 0 && cooled_down {
            return Some(0);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testkit::{keda, secs};

    fn at(now_s: u64, total: u32, workflow_backlog: u64) -> Signals {
        super::super::test_signals(now_s, total, total, (workflow_backlog, 1000))
    }

    #[test]
    fn desired_is_the_backlog_over_the_target_clamped() {
        let cfg = keda(0, 3);
        let mut state = KedaState::new(&cfg, 0);
        // The first HPA sync at 15 s: ceil(12 / 5) = 3 (the activity backlog is not counted).
        let recommendation = state.evaluate(&cfg, &at(15, 1, 12));
        assert_eq!(recommendation.target, 3);
        assert_eq!(recommendation.observed, Observed::Backlog(12));
        assert_eq!(recommendation.next_in, secs(15.0));
        // 100 queued would want 20: max_replica_count caps it.
        assert_eq!(state.evaluate(&cfg, &at(30, 3, 100)).target, 3);
        let mut both = keda(0, 50);
        both.queue_types.activity = true;
        let mut state = KedaState::new(&both, 0);
        // 12 + 1000 queued: ceil(1012 / 5) = 203, capped by the rate policy at 1 + 4.
        assert_eq!(state.evaluate(&both, &at(15, 1, 12)).target, 5);
    }

    #[test]
    fn activation_takes_more_than_the_threshold() {
        let mut cfg = keda(0, 10);
        cfg.activation_target_queue_size = 3.0;
        let mut state = KedaState::new(&cfg, 0);
        assert_eq!(state.evaluate(&cfg, &at(30, 0, 3)).target, 0);
        assert_eq!(state.evaluate(&cfg, &at(60, 0, 4)).target, 1);
    }

    #[test]
    fn scales_to_zero_only_after_the_cooldown() {
        let cfg = keda(0, 10);
        let mut state = KedaState::new(&cfg, 0);
        // Idle from the start: the HPA holds its minimum of 1 until 300 s have passed.
        for t in (15..=300).step_by(15) {
            assert_eq!(state.evaluate(&cfg, &at(t, 1, 0)).target, 1, "at {t} s");
        }
        assert_eq!(state.evaluate(&cfg, &at(315, 1, 0)).target, 1);
        assert_eq!(state.evaluate(&cfg, &at(330, 1, 0)).target, 0);
        // With a minimum of 1 it never goes to zero.
        let cfg = keda(1, 10);
        let mut state = KedaState::new(&cfg, 0);
        for t in (15..=900).step_by(15) {
            assert_eq!(state.evaluate(&cfg, &at(t, 1, 0)).target, 1, "at {t} s");
        }
    }

    #[test]
    fn scales_from_zero_on_the_first_queued_task() {
        let cfg = keda(0, 10);
        let mut state = KedaState::new(&cfg, 0);
        assert_eq!(state.evaluate(&cfg, &at(15, 0, 0)).target, 0);
        assert_eq!(state.evaluate(&cfg, &at(30, 0, 0)).target, 0);
        // Activation waits for the next poll (60 s), not the HPA sync at 45 s.
        assert_eq!(state.evaluate(&cfg, &at(45, 0, 1)).target, 0);
        assert_eq!(state.evaluate(&cfg, &at(60, 0, 1)).target, 1);
        // A queued task means activity: the cooldown starts again.
        assert_eq!(state.evaluate(&cfg, &at(360, 1, 0)).target, 1);
        assert_eq!(state.evaluate(&cfg, &at(390, 1, 0)).target, 0);
    }
}
