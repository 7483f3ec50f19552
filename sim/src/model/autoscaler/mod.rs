//! Autoscalers: every kind in one home. `fixed` keeps N instances (crashed ones restart); each
//! other kind has its own file with its rule in the file's doc comment and its own state
//! (`cloud_run.rs`, `hpa.rs`, `keda.rs`). This module is the dispatch: on every tick it gathers what an evaluation
//! can see (`Signals`: instance counts, CPU time, memory, task-queue backlogs), asks the kind
//! for a `Recommendation` (the instance count to have, the metric it saw, when to evaluate
//! next), and applies it: launches instances or drains them, records the scale event and the
//! desired count the run reports. Nothing outside this folder matches on a kind's internals.

mod cloud_run;
mod hpa;
mod keda;

use super::Model;
use super::state::*;
use crate::engine::Time;
use crate::metrics::report::{CpuTargetStep, EventKind};
use crate::scenario::{Autoscaler, Scenario};

/// What one evaluation can see of the fleet and the task queues.
pub struct Signals {
    pub now: Time,
    /// Running instances of the current revision.
    pub running: u32,
    /// Running, starting and down (restarting) instances of the current revision: the count
    /// the autoscaler controls.
    pub total: u32,
    /// Busy vCPU-nanoseconds since the start (running and draining instances).
    pub busy_area: u128,
    /// Available vCPU-nanoseconds since the start (running and draining instances).
    pub capacity_area: u128,
    /// Mean over running instances of memory / memory limit; `None` without one.
    pub memory_utilization: Option<f64>,
    /// Workflow tasks waiting for a worker (normal and sticky queues).
    pub workflow_backlog: u64,
    /// Activities waiting for a worker.
    pub activity_backlog: u64,
    /// Request mode: requests held or waiting for a slot, integrated since the start
    /// (request-nanoseconds); 0 in poll mode.
    pub request_area: u128,
    /// Request mode: requests held or waiting now; 0 in poll mode.
    pub requests: u64,
}

/// The metric an evaluation acted on, for the scale event's detail.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Observed {
    /// Fleet CPU utilisation (0 to 1).
    Cpu(f64),
    /// Mean memory utilisation of running instances (0 to 1).
    Memory(f64),
    /// Task-queue backlog.
    Backlog(u64),
    /// Requests in flight or waiting (a window's average, or the request that woke a fleet
    /// scaled to zero).
    Requests(f64),
}

impl std::fmt::Display for Observed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Observed::Cpu(utilization) => write!(f, "cpu {utilization:.3}"),
            Observed::Memory(utilization) => write!(f, "memory {utilization:.3}"),
            Observed::Backlog(backlog) => write!(f, "backlog {backlog}"),
            Observed::Requests(requests) => write!(f, "requests {requests:.1}"),
        }
    }
}

/// One evaluation's outcome.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recommendation {
    /// The instance count to have now (after the kind's clamps, stabilisation and rate limits).
    pub target: u32,
    pub observed: Observed,
    /// When to evaluate next.
    pub next_in: Time,
}

/// The run's time integrals so far that a kind measures windows of: busy and available
/// vCPU-nanoseconds, and request-nanoseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Areas {
    pub busy: u128,
    pub capacity: u128,
    pub requests: u128,
}

enum KindState {
    Fixed,
    CloudRun(cloud_run::CloudRunState),
    Hpa(hpa::HpaState),
    Keda(keda::KedaState),
}

impl KindState {
    /// A fresh state at `now`, with the areas so far.
    fn new(cfg: &Autoscaler, now: Time, areas: Areas) -> Self {
        match cfg {
            Autoscaler::Fixed { .. } => KindState::Fixed,
            Autoscaler::CloudRun(_) => {
                KindState::CloudRun(cloud_run::CloudRunState::new(now, areas))
            }
            Autoscaler::Hpa(_) => KindState::Hpa(hpa::HpaState::new((areas.busy, areas.capacity))),
            Autoscaler::Keda(cfg) => KindState::Keda(keda::KedaState::new(cfg, now)),
        }
    }

    /// `None` for `fixed` (or a state left from another kind), which never evaluates.
    fn evaluate(&mut self, cfg: &Autoscaler, signals: &Signals) -> Option<Recommendation> {
        match (self, cfg) {
            (KindState::CloudRun(state), Autoscaler::CloudRun(cfg)) => {
                Some(state.evaluate(cfg, signals))
            }
            (KindState::Hpa(state), Autoscaler::Hpa(cfg)) => Some(state.evaluate(cfg, signals)),
            (KindState::Keda(state), Autoscaler::Keda(cfg)) => Some(state.evaluate(cfg, signals)),
            _ => None,
        }
    }
}

pub struct AutoscalerState {
    kind: KindState,
    /// The CPU utilisation target in force from each time on (at the start and after every
    /// timeline `set`), reported with the time series so figures draw it as the run had it.
    cpu_target_steps: Vec<CpuTargetStep>,
}

impl AutoscalerState {
    pub fn new(scenario: &Scenario) -> Self {
        AutoscalerState {
            kind: KindState::new(&scenario.autoscaler, 0, Areas::default()),
            cpu_target_steps: vec![CpuTargetStep {
                t_s: 0.0,
                cpu_utilization: scenario.autoscaler.cpu_target(),
            }],
        }
    }

    pub fn initial_instances(&self, cfg: &Scenario) -> u32 {
        cfg.autoscaler.initial_instances()
    }

    /// After a timeline `set`: a new kind starts from a fresh state; the same kind keeps its
    /// history (windows, recommendations) under its new settings.
    fn settings_changed(&mut self, before: &Autoscaler, after: &Autoscaler, signals: &Signals) {
        if std::mem::discriminant(before) != std::mem::discriminant(after) {
            let areas = Areas {
                busy: signals.busy_area,
                capacity: signals.capacity_area,
                requests: signals.request_area,
            };
            self.kind = KindState::new(after, signals.now, areas);
        }
        self.cpu_target_steps.push(CpuTargetStep {
            t_s: crate::scenario::nanos_to_seconds(signals.now),
            cpu_utilization: after.cpu_target(),
        });
    }

    pub fn take_cpu_target_steps(&mut self) -> Vec<CpuTargetStep> {
        std::mem::take(&mut self.cpu_target_steps)
    }
}

impl Model {
    pub(super) fn autoscaler_start(&mut self) {
        if let Some(interval) = self.cfg.autoscaler.first_evaluation_in() {
            self.schedule_within_horizon(interval, Event::AutoscalerTick);
        }
    }

    /// Called by the timeline after a `set` replaced the settings (`before` were in force).
    pub(super) fn autoscaler_settings_changed(&mut self, before: &Autoscaler) {
        let signals = self.signals();
        self.autoscaler
            .settings_changed(before, &self.cfg.autoscaler, &signals);
        if matches!(before, Autoscaler::Fixed { .. }) {
            self.autoscaler_start();
        }
    }

    /// Instances of the current revision that count toward the desired number.
    pub(super) fn counted_instances(&self) -> (u32, u32) {
        let mut running = 0;
        let mut total = 0;
        for instance in &self.instances {
            if instance.retiring {
                continue;
            }
            match instance.state {
                InstanceState::Running => {
                    running += 1;
                    total += 1;
                }
                InstanceState::Starting | InstanceState::Down => total += 1,
                InstanceState::Draining | InstanceState::Stopped => {}
            }
        }
        (running, total)
    }

    fn signals(&mut self) -> Signals {
        let now = self.now();
        let (running, total) = self.counted_instances();
        let mut memory_sum = 0.0;
        for inst in 0..self.instances.len() as u32 {
            let instance = &self.instances[inst as usize];
            if !instance.retiring && instance.state == InstanceState::Running {
                let limit = instance.spec.memory_limit_bytes.max(1) as f64;
                memory_sum += self.memory_bytes(inst) as f64 / limit;
            }
        }
        Signals {
            now,
            running,
            total,
            busy_area: self.stats.busy_cores.area_at(now),
            capacity_area: self.stats.capacity_cores.area_at(now),
            memory_utilization: (running > 0).then(|| memory_sum / running as f64),
            workflow_backlog: self.workflow_tasks_queued,
            activity_backlog: self.activities_queued,
            request_area: self.demand_area(),
            requests: self.serving.as_ref().map_or(0, |s| s.held + s.waiting),
        }
    }

    pub(super) fn on_autoscaler_tick(&mut self) {
        if matches!(self.cfg.autoscaler, Autoscaler::Fixed { .. }) {
            return;
        }
        let signals = self.signals();
        let Some(recommendation) = self
            .autoscaler
            .kind
            .evaluate(&self.cfg.autoscaler, &signals)
        else {
            return;
        };
        self.stats.instances_desired = recommendation.target;
        self.scale_to(
            recommendation.target,
            signals.total,
            recommendation.observed,
        );
        self.schedule_within_horizon(recommendation.next_in, Event::AutoscalerTick);
    }

    pub(super) fn scale_to(&mut self, target: u32, total: u32, observed: Observed) {
        if target > total {
            for _ in total..target {
                self.launch_instance();
            }
            let detail = format!("{total} -> {target} ({observed})");
            self.record_event(EventKind::ScaleOut, None, detail);
        } else if target < total {
            for _ in target..total {
                if let Some(victim) = self.scale_in_victim() {
                    self.drain(victim);
                }
            }
            let detail = format!("{total} -> {target} ({observed})");
            self.record_event(EventKind::ScaleIn, None, detail);
        }
    }

    /// Which instance to remove: one not serving yet (restarting, then starting), else the
    /// running one with the fewest request sessions (its sessions finish while it drains; in
    /// poll mode every instance has none), the newest on ties.
    fn scale_in_victim(&self) -> Option<u32> {
        let pick = |state: InstanceState| {
            self.instances
                .iter()
                .enumerate()
                .filter(|(_, i)| !i.retiring && i.state == state)
                .max_by_key(|(index, i)| (std::cmp::Reverse(i.sessions), i.started_at, *index))
                .map(|(index, _)| index as u32)
        };
        pick(InstanceState::Down)
            .or_else(|| pick(InstanceState::Starting))
            .or_else(|| pick(InstanceState::Running))
    }
}

/// What evaluations see in the autoscalers' unit tests.
#[cfg(test)]
fn test_signals(now_s: u64, running: u32, total: u32, backlog: (u64, u64)) -> Signals {
    Signals {
        now: now_s * 1_000_000_000,
        running,
        total,
        busy_area: 0,
        capacity_area: 0,
        memory_utilization: None,
        workflow_backlog: backlog.0,
        activity_backlog: backlog.1,
        request_area: 0,
        requests: 0,
    }
}
