//! Instances (containers), one worker process each: lifecycle (cold start, running, draining,
//! OOM-killed, stopped), CPU, memory, OOM kills and billing.
//!
//! CPU is a first-come-first-served multi-server queue with `vcpus` servers: each job (a
//! workflow task with any replay, an activity's CPU part, worker start-up) holds one vCPU for
//! its work times the GC factor in force when it starts, divided by the vCPU's `cpu_speed`. Work items are milliseconds long, so
//! FCFS and processor sharing give the same utilisation and nearly the same delays here, and
//! FCFS needs one event per job instead of a rescheduling on every arrival.
//!
//! Memory = runtime + cached workflows + in-flight activities + leak since (re)start. Going over
//! the limit kills the instance at once.

use super::Model;
use super::state::*;
use super::{dist, streams};
use crate::engine::Time;
use crate::metrics::report::EventKind;
use crate::scenario::MAX_DURATION_NANOS;
use std::collections::VecDeque;

/// A crash within this long of the previous one counts toward the crash-loop backoff.
const CRASH_LOOP_WINDOW: Time = 600_000_000_000;

impl Model {
    fn current_spec(&self) -> InstanceSpec {
        let (i, t) = (&self.cfg.instance, &self.cfg.temporal);
        InstanceSpec {
            vcpus: i.vcpus,
            cpu_speed: i.cpu_speed,
            memory_limit_bytes: i.memory_limit_bytes,
            runtime_memory_bytes: i.runtime_memory_bytes,
            leak_bytes_per_hour: i.leak_bytes_per_hour,
            cache_size: t.cache_size,
            workflow_slots: t.max_concurrent_workflow_tasks,
            // A request runs its steps in the request: no worker slot limits them.
            activity_slots: if self.cfg.serving.is_request() {
                u32::MAX
            } else {
                t.max_concurrent_activities
            },
            max_concurrency: self
                .cfg
                .serving
                .request
                .as_ref()
                .map_or(0, |r| r.max_concurrency),
        }
    }

    /// `gc_free_below` for an instance of `spec` under the scenario's current `[instance.gc]`.
    fn gc_free_below_of(&self, spec: &InstanceSpec) -> u64 {
        self.cfg
            .instance
            .gc
            .as_ref()
            .map_or(u64::MAX, |gc| gc_free_below(spec.memory_limit_bytes, gc))
    }

    /// A timeline `set` may change `[instance.gc]`, which every instance reads as it is now.
    pub(super) fn renew_gc_bounds(&mut self) {
        for inst in 0..self.instances.len() {
            self.instances[inst].gc_free_below = self.gc_free_below_of(&self.instances[inst].spec);
        }
    }

    /// A new instance slot (reusing a stopped one), not yet started.
    fn allocate_instance(&mut self) -> u32 {
        let spec = self.current_spec();
        let now = self.now();
        let gc_free_below = self.gc_free_below_of(&spec);
        let fresh = |generation: u32| Instance {
            generation,
            state: InstanceState::Stopped,
            spec: spec.clone(),
            gc_free_below,
            retiring: false,
            started_at: now,
            billed_since: now,
            busy_cores: 0,
            cpu_queue: VecDeque::new(),
            sticky_queue: VecDeque::new(),
            workflow_slots_used: 0,
            activity_slots_used: 0,
            sessions: 0,
            lru_head: NONE,
            lru_tail: NONE,
            cache_entries: 0,
            cache_bytes: 0,
            activity_bytes: 0,
            crashes_in_a_row: 0,
            last_crash_at: None,
            tasks_here: StartedHere::default(),
            activities_here: StartedHere::default(),
            sessions_here: StartedHere::default(),
        };
        if let Some(slot) = self
            .instances
            .iter()
            .position(|instance| instance.state == InstanceState::Stopped)
        {
            let generation = self.instances[slot].generation.wrapping_add(1);
            self.instances[slot] = fresh(generation);
            slot as u32
        } else {
            self.instances.push(fresh(0));
            (self.instances.len() - 1) as u32
        }
    }

    pub(super) fn start_initial_instances(&mut self) {
        let count = self.autoscaler.initial_instances(&self.cfg);
        for _ in 0..count {
            let inst = self.allocate_instance();
            self.set_state(inst, InstanceState::Starting);
            self.become_running(inst);
        }
        self.stats.instances_desired = count;
        // The fleet exists before t = 0: its start-up is not a dip in the instance count.
        self.stats.instances_min = count as u64;
    }

    /// Starts a new instance: billed from now, running after its cold start.
    pub(super) fn launch_instance(&mut self) -> u32 {
        let inst = self.allocate_instance();
        self.set_state(inst, InstanceState::Starting);
        self.schedule_cold_start(inst);
        inst
    }

    fn schedule_cold_start(&mut self, inst: u32) {
        let mut draws = self.draws(streams::COLD_START, self.instance_starts);
        self.instance_starts += 1;
        let cold_start = dist::sample_nanos(&self.cfg.instance.cold_start, &mut draws);
        let inst_gen = self.instances[inst as usize].generation;
        self.schedule_within_horizon(cold_start, Event::InstanceReady { inst, inst_gen });
    }

    pub(super) fn on_instance_ready(&mut self, inst: u32, inst_gen: u32) {
        let instance = &self.instances[inst as usize];
        if instance.generation != inst_gen || instance.state != InstanceState::Starting {
            return;
        }
        self.become_running(inst);
        self.record_event(EventKind::InstanceReady, Some(inst), String::new());
        self.retire_one_old_instance();
    }

    fn become_running(&mut self, inst: u32) {
        let now = self.now();
        self.instances[inst as usize].started_at = now;
        self.set_state(inst, InstanceState::Running);
        let startup = self.cfg.instance.startup_cpu;
        self.submit_cpu(inst, CpuJob::Startup, startup);
        self.pull_workflow_tasks(inst);
        self.pull_activities(inst);
        if self.is_request_mode() {
            self.admit_waiting(inst);
        }
    }

    pub(super) fn on_instance_restart(&mut self, inst: u32, inst_gen: u32) {
        let instance = &self.instances[inst as usize];
        if instance.generation != inst_gen || instance.state != InstanceState::Down {
            return;
        }
        self.set_state(inst, InstanceState::Starting);
        self.schedule_cold_start(inst);
    }

    /// Moves `inst` to `state`, keeping the fleet-wide slot, capacity and billing accounts.
    pub(super) fn set_state(&mut self, inst: u32, state: InstanceState) {
        let now = self.now();
        let old = self.instances[inst as usize].state;
        if old == state {
            return;
        }
        let (free_wf, free_act, vcpus) = {
            let i = &self.instances[inst as usize];
            (
                (i.spec.workflow_slots - i.workflow_slots_used.min(i.spec.workflow_slots)) as u64,
                (i.spec.activity_slots - i.activity_slots_used.min(i.spec.activity_slots)) as u64,
                i.spec.vcpus,
            )
        };
        if old == InstanceState::Running {
            self.free_workflow_slots = (self.free_workflow_slots.checked_sub(free_wf))
                .expect("free workflow slots include this worker's");
            self.free_activity_slots = (self.free_activity_slots.checked_sub(free_act))
                .expect("free activity slots include this worker's");
        }
        if state == InstanceState::Running {
            self.free_workflow_slots += free_wf;
            self.free_activity_slots += free_act;
        }
        let counts_capacity =
            |s: InstanceState| matches!(s, InstanceState::Running | InstanceState::Draining);
        if counts_capacity(old) && !counts_capacity(state) {
            self.stats.change_capacity(now, -(vcpus as i64));
        }
        if !counts_capacity(old) && counts_capacity(state) {
            self.stats.change_capacity(now, vcpus as i64);
        }
        let billed = |s: InstanceState| s != InstanceState::Stopped;
        if billed(old) && !billed(state) {
            self.bill(inst);
            self.stats.change_instances(now, -1);
        }
        if !billed(old) && billed(state) {
            self.instances[inst as usize].billed_since = now;
            self.stats.change_instances(now, 1);
        }
        self.instances[inst as usize].state = state;
    }

    /// Adds the instance's compute cost since `billed_since`.
    pub(super) fn bill(&mut self, inst: u32) {
        let now = self.now();
        let instance = &mut self.instances[inst as usize];
        let seconds = (now - instance.billed_since) as f64 / 1e9;
        instance.billed_since = now;
        let gib = instance.spec.memory_limit_bytes as f64 / (1u64 << 30) as f64;
        let cost = &self.cfg.cost;
        self.stats.instance_seconds += seconds;
        self.stats.compute_cost_usd += seconds
            * (instance.spec.vcpus as f64 * cost.vcpu_second_usd + gib * cost.gib_second_usd);
    }

    pub(super) fn take_workflow_slot(&mut self, inst: u32) {
        let instance = &mut self.instances[inst as usize];
        assert!(
            instance.workflow_slots_used < instance.spec.workflow_slots,
            "no free workflow slot"
        );
        instance.workflow_slots_used += 1;
        if instance.state == InstanceState::Running {
            self.free_workflow_slots = (self.free_workflow_slots.checked_sub(1))
                .expect("free workflow slots count the running workers' free slots");
        }
    }

    pub(super) fn release_workflow_slot(&mut self, inst: u32) {
        let instance = &mut self.instances[inst as usize];
        instance.workflow_slots_used = (instance.workflow_slots_used.checked_sub(1))
            .expect("workflow slots released are slots taken");
        if instance.state == InstanceState::Running {
            self.free_workflow_slots += 1;
        }
    }

    pub(super) fn take_activity_slot(&mut self, inst: u32) {
        let instance = &mut self.instances[inst as usize];
        assert!(
            instance.activity_slots_used < instance.spec.activity_slots,
            "no free activity slot"
        );
        instance.activity_slots_used += 1;
        if instance.state == InstanceState::Running {
            self.free_activity_slots = (self.free_activity_slots.checked_sub(1))
                .expect("free activity slots count the running workers' free slots");
        }
    }

    pub(super) fn release_activity_slot(&mut self, inst: u32) {
        let instance = &mut self.instances[inst as usize];
        instance.activity_slots_used = (instance.activity_slots_used.checked_sub(1))
            .expect("activity slots released are slots taken");
        if instance.state == InstanceState::Running {
            self.free_activity_slots += 1;
        }
    }

    /// A running worker that `has_room`, round-robin, as the service hands tasks to whichever
    /// poller is waiting.
    pub(super) fn pick_worker(&mut self, has_room: impl Fn(&Instance) -> bool) -> Option<u32> {
        let count = self.instances.len();
        if count == 0 {
            return None;
        }
        // A wrap instead of a division per candidate (some ten cycles each, on every workflow
        // task and activity handed out). `round_robin` is at most `count`: it is one past an
        // instance, and instances are only ever added.
        let mut inst = if self.round_robin >= count {
            0
        } else {
            self.round_robin
        };
        for _ in 0..count {
            let instance = &self.instances[inst];
            if instance.state == InstanceState::Running && has_room(instance) {
                self.round_robin = inst + 1;
                return Some(inst as u32);
            }
            inst += 1;
            if inst == count {
                inst = 0;
            }
        }
        None
    }

    // ----- CPU -----

    /// Runs `work` nanoseconds of CPU for `job` on `inst`; zero work completes in this step.
    /// Zero work inline, the rest out of line: without the core's bookkeeping inlined here, a
    /// zero-CPU task (every one of the M/M/c's) no longer pays for saving its registers.
    #[inline]
    pub(super) fn submit_cpu(&mut self, inst: u32, job: CpuJob, work: u64) {
        if work == 0 {
            let inst_gen = self.instances[inst as usize].generation;
            self.immediate.push((inst, inst_gen, job));
            return;
        }
        self.submit_cpu_work(inst, job, work);
    }

    #[inline(never)]
    fn submit_cpu_work(&mut self, inst: u32, job: CpuJob, work: u64) {
        // Per-workload figures exist only for named workloads (see `Stats::workloads`).
        if !self.stats.workloads.is_empty() {
            let workload = match job {
                CpuJob::Startup => None,
                CpuJob::WorkflowTask { wf, .. } => Some(self.wfs[wf].workload),
                CpuJob::Activity { act, .. } => {
                    let node = self.acts[act].node as usize;
                    Some(self.program.node_workloads[node])
                }
            };
            if let Some(w) = workload {
                self.stats.workloads[w as usize].cpu_work += u128::from(work);
            }
        }
        let instance = &self.instances[inst as usize];
        if instance.busy_cores < instance.spec.vcpus {
            self.start_cpu_job(inst, job, work);
        } else {
            self.instances[inst as usize]
                .cpu_queue
                .push_back((job, work));
        }
    }

    /// A CPU job holds its vCPU at most this long: more than any horizon (at most
    /// `MAX_DURATION_NANOS`, 10,000 days), so the cap changes nothing a run reports, while a
    /// stretched job (10,000 days of work at `cpu_speed` 0.01 under 10x GC overhead: 3,000
    /// years) would overflow the clock when its end is scheduled.
    const MAX_CPU_HOLD: u64 = 2 * MAX_DURATION_NANOS;

    /// Forced inline, as `on_cpu_done` and the queue's `schedule`: left to the optimiser,
    /// each CPU job paid a call's saving and restoring of registers (in the `sim` binary
    /// more than in the bench's).
    #[inline(always)]
    fn start_cpu_job(&mut self, inst: u32, job: CpuJob, work: u64) {
        let now = self.now();
        let factor = self.gc_factor(inst);
        let speed = self.instances[inst as usize].spec.cpu_speed;
        // cpu_speed 1.0 divides exactly, so the default changes no result; with no GC overhead
        // either, the work (exact in an f64 up to 2^53 ns) is the duration, without the floats.
        let duration = if factor == 1.0 && speed == 1.0 && work <= 1 << 53 {
            work
        } else {
            ((work as f64) * factor / speed) as u64
        };
        let duration = duration.min(Self::MAX_CPU_HOLD);
        let instance = &mut self.instances[inst as usize];
        instance.busy_cores += 1;
        let inst_gen = instance.generation;
        self.stats.change_busy(now, 1);
        self.schedule(
            now + duration.max(1),
            Event::CpuDone {
                inst,
                inst_gen,
                job,
            },
        );
    }

    #[inline(always)]
    pub(super) fn on_cpu_done(&mut self, inst: u32, inst_gen: u32, job: CpuJob) {
        if self.instances[inst as usize].generation != inst_gen {
            return;
        }
        let now = self.now();
        let instance = &mut self.instances[inst as usize];
        instance.busy_cores =
            (instance.busy_cores.checked_sub(1)).expect("busy cores count the running CPU jobs");
        self.stats.change_busy(now, -1);
        if let Some((next, work)) = self.instances[inst as usize].cpu_queue.pop_front() {
            self.start_cpu_job(inst, next, work);
        }
        self.cpu_job_finished(inst, job);
    }

    pub(super) fn cpu_job_finished(&mut self, inst: u32, job: CpuJob) {
        match job {
            CpuJob::Startup => {}
            CpuJob::WorkflowTask { wf, epoch } => self.complete_workflow_task(inst, wf, epoch),
            CpuJob::Activity { act, epoch } => self.begin_activity_wait(act, epoch),
        }
    }

    /// Go-like GC pressure: CPU work costs more as memory approaches the limit.
    pub(super) fn gc_factor(&self, inst: u32) -> f64 {
        let Some(gc) = &self.cfg.instance.gc else {
            return 1.0;
        };
        let instance = &self.instances[inst as usize];
        let (limit, free_below) = (instance.spec.memory_limit_bytes, instance.gc_free_below);
        gc_factor_of(self.memory_bytes(inst), limit, free_below, gc)
    }

    // ----- memory and OOM -----

    pub(super) fn memory_bytes(&self, inst: u32) -> u64 {
        let instance = &self.instances[inst as usize];
        let leak = if instance.spec.leak_bytes_per_hour > 0 {
            let hours = (self.now() - instance.started_at) as f64 / 3.6e12;
            (instance.spec.leak_bytes_per_hour as f64 * hours) as u64
        } else {
            0
        };
        instance.spec.runtime_memory_bytes + instance.cache_bytes + instance.activity_bytes + leak
    }

    /// Tracks the interval and run peaks after memory grew, and marks the instance for the
    /// OOM check at the end of the current step (checking in the middle of a handler would
    /// kill the instance under the handler's feet).
    #[inline]
    pub(super) fn note_memory(&mut self, inst: u32) {
        let bytes = self.memory_bytes(inst);
        self.stats.note_memory(bytes);
        if bytes > self.instances[inst as usize].spec.memory_limit_bytes {
            self.mark_memory_exceeded(inst);
        }
    }

    /// Out of line: an instance is over its limit in few steps, and this path's search and
    /// push kept `note_memory` (run at every cache and activity change) from inlining.
    #[cold]
    #[inline(never)]
    fn mark_memory_exceeded(&mut self, inst: u32) {
        self.limits_due = true;
        if !self.memory_exceeded.contains(&inst) {
            self.memory_exceeded.push(inst);
        }
    }

    /// Kills the instances whose memory went over their limit during this step.
    pub(super) fn check_exceeded_memory(&mut self) {
        while let Some(inst) = self.memory_exceeded.pop() {
            self.check_oom(inst);
        }
    }

    pub(super) fn check_oom(&mut self, inst: u32) {
        let limit = self.instances[inst as usize].spec.memory_limit_bytes;
        self.check_oom_with_limit(inst, limit);
    }

    /// `check_oom` against `limit` (tests force a crash with a limit of 0).
    pub(super) fn check_oom_with_limit(&mut self, inst: u32, limit: u64) {
        let instance = &self.instances[inst as usize];
        if !matches!(
            instance.state,
            InstanceState::Running | InstanceState::Draining
        ) {
            return;
        }
        let memory = self.memory_bytes(inst);
        if memory > limit {
            let detail = format!(
                "memory {memory} bytes > limit {limit} bytes, {} cached workflows",
                instance.cache_entries
            );
            self.record_event(EventKind::OomCrash, Some(inst), detail);
            self.stats.oom_crashes += 1;
            self.stats.interval_crashes += 1;
            self.kill(inst);
            self.schedule_restart(inst);
        }
    }

    /// Memory that grows with time alone (a leak) is checked every second, from the first
    /// moment a scenario has one (the start, or a timeline `set`).
    pub(super) fn memory_ticks_start(&mut self) {
        if !self.memory_ticking && self.cfg.instance.leak_bytes_per_hour > 0 {
            self.memory_ticking = true;
            self.schedule_within_horizon(super::MEMORY_TICK, Event::MemoryTick);
        }
    }

    pub(super) fn on_memory_tick(&mut self) {
        for inst in 0..self.instances.len() as u32 {
            self.note_memory_if_alive(inst);
            self.check_oom(inst);
        }
        self.schedule_within_horizon(super::MEMORY_TICK, Event::MemoryTick);
    }

    fn note_memory_if_alive(&mut self, inst: u32) {
        if matches!(
            self.instances[inst as usize].state,
            InstanceState::Running | InstanceState::Draining
        ) {
            self.note_memory(inst);
        }
    }

    /// The worker process dies: its cache and everything in flight on it are lost.
    fn kill(&mut self, inst: u32) {
        let now = self.now();
        self.lose_workflow_tasks(inst);
        if self.is_request_mode() {
            self.drop_sessions(inst);
        }
        self.lose_activities(inst);
        self.cache_clear(inst);
        let busy = self.instances[inst as usize].busy_cores;
        self.stats.change_busy(now, -(busy as i64));
        let instance = &mut self.instances[inst as usize];
        instance.generation = instance.generation.wrapping_add(1);
        instance.busy_cores = 0;
        instance.cpu_queue.clear();
        instance.sticky_queue.clear();
        instance.activity_bytes = 0;
        // Slots go back with the state change below (a dead worker has no free slots).
        let running = instance.state == InstanceState::Running;
        let (used_wf, used_act) = (instance.workflow_slots_used, instance.activity_slots_used);
        instance.workflow_slots_used = 0;
        instance.activity_slots_used = 0;
        if running {
            self.free_workflow_slots += used_wf as u64;
            self.free_activity_slots += used_act as u64;
        }
    }

    fn schedule_restart(&mut self, inst: u32) {
        let now = self.now();
        let cfg = &self.cfg.instance;
        let instance = &mut self.instances[inst as usize];
        let in_a_row = instance
            .last_crash_at
            .is_some_and(|at| now - at < CRASH_LOOP_WINDOW);
        instance.crashes_in_a_row = if in_a_row {
            instance.crashes_in_a_row + 1
        } else {
            0
        };
        instance.last_crash_at = Some(now);
        let backoff = if cfg.crash_loop_backoff == 0 || instance.crashes_in_a_row == 0 {
            0
        } else {
            let doublings = (instance.crashes_in_a_row - 1).min(30);
            (cfg.crash_loop_backoff.saturating_mul(1 << doublings)).min(cfg.crash_loop_backoff_max)
        };
        let delay = cfg.restart_delay + backoff;
        let inst_gen = instance.generation;
        self.set_state(inst, InstanceState::Down);
        self.schedule_within_horizon(delay, Event::InstanceRestart { inst, inst_gen });
    }

    // ----- scale-in and deploys -----

    /// Graceful stop: no new tasks; what is still running at the deadline is lost.
    pub(super) fn drain(&mut self, inst: u32) {
        match self.instances[inst as usize].state {
            InstanceState::Running => {
                self.set_state(inst, InstanceState::Draining);
                let inst_gen = self.instances[inst as usize].generation;
                let grace = self.cfg.instance.shutdown_grace;
                self.schedule_within_horizon(grace, Event::ShutdownDeadline { inst, inst_gen });
                self.record_event(EventKind::InstanceStopped, Some(inst), "draining".into());
                self.stop_if_drained(inst);
            }
            InstanceState::Starting | InstanceState::Down => {
                self.instances[inst as usize].generation =
                    self.instances[inst as usize].generation.wrapping_add(1);
                self.set_state(inst, InstanceState::Stopped);
                self.record_event(EventKind::InstanceStopped, Some(inst), "cancelled".into());
            }
            InstanceState::Draining | InstanceState::Stopped => {}
        }
    }

    /// A draining instance with nothing left in flight stops early.
    pub(super) fn stop_if_drained(&mut self, inst: u32) {
        let instance = &self.instances[inst as usize];
        if instance.state == InstanceState::Draining
            && instance.workflow_slots_used == 0
            && instance.activity_slots_used == 0
            && instance.sessions == 0
        {
            self.stop(inst);
        }
    }

    pub(super) fn on_shutdown_deadline(&mut self, inst: u32, inst_gen: u32) {
        let instance = &self.instances[inst as usize];
        if instance.generation == inst_gen && instance.state == InstanceState::Draining {
            self.stop(inst);
        }
    }

    fn stop(&mut self, inst: u32) {
        self.kill(inst);
        self.set_state(inst, InstanceState::Stopped);
    }

    /// Rolling deploys: each new instance that becomes ready retires one old one.
    fn retire_one_old_instance(&mut self) {
        if let Some(old) = self.instances.iter().position(|i| {
            i.retiring && matches!(i.state, InstanceState::Running | InstanceState::Starting)
        }) {
            self.instances[old].retiring = false;
            self.drain(old as u32);
        }
    }
}

/// The bound under which the GC factor of an instance with memory `limit` is exactly 1, so
/// `gc_factor_of` answers with one integer compare on most CPU jobs: below the threshold by a
/// margin far wider than the rounding of `bytes / limit` (a relative 1e-9 against 1e-16),
/// `used` is below it too. `bytes < gc_free_below(limit, gc)` is `bytes as f64 <=
/// gc.threshold * limit as f64 * (1.0 - 1e-9)` for every `bytes` below 2^53, which converts
/// to an f64 exactly: that product's floor plus one.
fn gc_free_below(limit: u64, gc: &crate::scenario::GcPressure) -> u64 {
    const EXACT: u64 = 1 << 53;
    let edge = gc.threshold * limit as f64 * (1.0 - 1e-9);
    if edge >= EXACT as f64 {
        EXACT
    } else if edge >= 0.0 {
        edge.floor() as u64 + 1
    } else {
        0
    }
}

/// The GC factor of an instance using `bytes` of its `limit`: 1 up to the threshold, rising
/// as a square to `1 + max_overhead` at the limit; 1 at once below `free_below`
/// (`gc_free_below` of the limit).
fn gc_factor_of(bytes: u64, limit: u64, free_below: u64, gc: &crate::scenario::GcPressure) -> f64 {
    if bytes < free_below {
        return 1.0;
    }
    let used = bytes as f64 / limit as f64;
    let x = ((used - gc.threshold) / (1.0 - gc.threshold)).clamp(0.0, 1.0);
    1.0 + gc.max_overhead * x * x
}

#[cfg(test)]
mod tests {
    use super::{gc_factor_of, gc_free_below};
    use crate::engine::rng;
    use crate::scenario::GcPressure;
    use rand::Rng;

    /// The formula as written before the shortcut below the threshold.
    fn reference(bytes: u64, limit: u64, gc: &GcPressure) -> f64 {
        let used = bytes as f64 / limit as f64;
        let x = ((used - gc.threshold) / (1.0 - gc.threshold)).clamp(0.0, 1.0);
        1.0 + gc.max_overhead * x * x
    }

    /// The shortcut (the integer bound, `gc_free_below`) gives the formula's factor to the bit: on random memory, limits and
    /// settings, and on the bytes nearest each side of the threshold, where the two could
    /// part if the margin were too thin.
    #[test]
    fn the_factor_below_the_threshold_is_the_formulas_to_the_bit() {
        let mut draws = rng::from_seed(11);
        let mut near_threshold = 0;
        for _ in 0..200_000 {
            let limit = draws.random_range(1u64..=1 << 44);
            let gc = GcPressure {
                threshold: if draws.random_bool(0.1) {
                    0.0
                } else {
                    draws.random_range(0.0..1.0)
                },
                max_overhead: draws.random_range(0.0..=10.0),
            };
            let edge = (gc.threshold * limit as f64) as u64;
            let mut cases = vec![draws.random_range(0..=limit.saturating_mul(2))];
            for delta in 0..3 {
                cases.push(edge.saturating_sub(delta));
                cases.push(edge.saturating_add(delta));
            }
            let free_below = gc_free_below(limit, &gc);
            for delta in 0..3 {
                cases.push(free_below.saturating_sub(delta));
                cases.push(free_below.saturating_add(delta));
            }
            for bytes in cases {
                let (got, want) = (
                    gc_factor_of(bytes, limit, free_below, &gc),
                    reference(bytes, limit, &gc),
                );
                // The integer bound is never wrong where it answers, and answers up to the
                // margin's edge (it answers for the most CPU jobs it can).
                if bytes < free_below {
                    assert_eq!(want, 1.0, "bytes {bytes} under the bound {free_below}");
                }
                assert!(
                    bytes < free_below || bytes as f64 > gc.threshold * limit as f64 * (1.0 - 1e-9),
                    "bytes {bytes} at or over the bound {free_below} but within the margin"
                );
                assert_eq!(
                    got.to_bits(),
                    want.to_bits(),
                    "bytes {bytes}, limit {limit}, threshold {}, max_overhead {}",
                    gc.threshold,
                    gc.max_overhead
                );
                let above = bytes as f64 / limit as f64 > gc.threshold;
                near_threshold += usize::from(bytes.abs_diff(edge) <= 2 && above);
            }
        }
        // The edge cases reach above the threshold too, not only the shortcut's side.
        assert!(near_threshold > 1000, "{near_threshold}");
    }
}
