//! The agent fleet: traffic, conversations, Temporal workflows and workers, instances,
//! autoscalers, LLM providers and cost. `run` is the only entry point: a pure function of the
//! resolved scenario (which carries the seed) and the program version.
//!
//! One `Model` holds all state; `dispatch` is the single `match` over events, and the
//! `impl Model` blocks in the submodules are grouped by concern. Zero-duration CPU work
//! completes within the step of the event that caused it (through `immediate`), without a
//! round trip through the event queue.

mod activity;
mod autoscaler;
mod conversation;
pub mod dist;
mod instance;
pub mod llm;
mod program;
mod quota;
mod report;
mod serving;
mod state;
mod stats;
mod timeline;
pub mod traffic;
mod workflow;

use crate::engine::{EventQueue, Fifo, Slab, Time, rng};
use crate::metrics::report::{EventKind, EventRecord, RunOutput};
use crate::scenario::Scenario;
use state::*;
use std::collections::VecDeque;

pub use state::EventCounts;

/// Random stream ids, one per concern.
mod streams {
    pub const ARRIVALS: u64 = 1;
    pub const SHAPE: u64 = 2;
    pub const THINK: u64 = 3;
    pub const TOKENS: u64 = 4;
    pub const TOOL: u64 = 5;
    pub const LLM: u64 = 6;
    pub const COLD_START: u64 = 7;
    /// Per-turn program draws (branch widths, repeat counts, choices): workload streams.
    pub const PROGRAM: u64 = 8;
    /// The length of `Model::stream_bases`: one more than the largest constant above.
    pub const COUNT: usize = PROGRAM as usize + 1;
}

/// Why a run could not finish.
#[derive(Debug)]
pub enum RunError {
    /// A hard limit (events, open conversations) was reached.
    LimitReached(String),
    /// An end-of-run checker failed: a bug in the model.
    CheckFailed(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::LimitReached(why) => write!(f, "limit reached: {why}"),
            RunError::CheckFailed(why) => write!(f, "end-of-run check failed: {why}"),
        }
    }
}

impl std::error::Error for RunError {}

/// What a caller can ask of a run beyond the scenario.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Record every conversation's workload as drawn (arrival time, messages, think times) and
    /// return it from `run_with`, for common-random-number checks.
    pub record_workload: bool,
}

/// One conversation's workload as drawn: what common random numbers keep identical.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadRecord {
    /// The workload (index into the scenario's `workloads`).
    pub workload: u32,
    /// The conversation's draw key (its arrival index within an unnamed workload).
    pub index: u64,
    pub arrived_at: Time,
    pub messages: u32,
    /// Think times drawn for each reply sent (nanoseconds), in turn order.
    pub think_times: Vec<Time>,
}

/// Runs one scenario with its own seed.
pub fn run(scenario: &Scenario) -> Result<RunOutput, RunError> {
    run_with(scenario, &RunOptions::default()).map(|(output, _)| output)
}

/// Runs one scenario; with `record_workload` also returns the drawn workload.
pub fn run_with(
    scenario: &Scenario,
    options: &RunOptions,
) -> Result<(RunOutput, Vec<WorkloadRecord>), RunError> {
    let mut model = Model::new(scenario, options);
    model.start();
    model.run_loop()?;
    let output = model.finish()?;
    Ok((output, model.workload))
}

/// Runs one scenario like `run` and also returns how many events of each kind it processed
/// (for the bench's breakdown; the output is the same as `run`'s).
pub fn run_counted(scenario: &Scenario) -> Result<(RunOutput, EventCounts), RunError> {
    let mut model = Model::new(scenario, &RunOptions::default());
    model.start();
    model.run_loop()?;
    let output = model.finish()?;
    Ok((output, model.event_counts))
}

/// Runs one scenario like `run`, publishing its simulated clock and event count into
/// `progress` every `progress::PUBLISH_EVERY_EVENTS` events for a progress bar to read. The
/// model only writes there, so the output is the same as `run`'s.
pub fn run_observed(
    scenario: &Scenario,
    progress: &crate::progress::RunProgress,
) -> Result<RunOutput, RunError> {
    use std::sync::atomic::Ordering::Relaxed;
    let mut model = Model::new(scenario, &RunOptions::default());
    model.start();
    while model.step()? {
        if model
            .events_processed
            .is_multiple_of(crate::progress::PUBLISH_EVERY_EVENTS)
        {
            progress.now_ns.store(model.now(), Relaxed);
            progress.events.store(model.events_processed, Relaxed);
        }
    }
    progress.now_ns.store(model.horizon, Relaxed);
    progress.events.store(model.events_processed, Relaxed);
    model.finish()
}

pub(crate) struct Model {
    /// The settings in force (the timeline swaps them).
    cfg: Scenario,
    /// The scenario as given, for the timeline.
    original: Scenario,
    seed: u64,
    /// Each concern's `rng::StreamBase` under this seed, by `streams` constant.
    stream_bases: [rng::StreamBase; streams::COUNT],
    horizon: Time,
    queue: EventQueue<Event>,
    /// Zero-CPU jobs to finish once the current event's other work is done, in order.
    immediate: Fifo<(u32, u32, CpuJob)>,
    /// Request mode: workflow tasks to run once the current event's other work is done.
    served_tasks: Fifo<(u32, u32)>,
    /// Request mode's state; `None` in poll mode.
    serving: Option<serving::ServingState>,
    memory_exceeded: Vec<u32>,
    /// Whether `MemoryTick`s run: from the start, or from the first timeline `set` with a
    /// leak; then until the horizon (an instance started with a leak keeps it).
    memory_ticking: bool,
    events_processed: u64,
    /// `step` checks `run.max_memory` when more activities than this are live.
    state_check_at_activities: usize,
    /// Set where a limit that `step` checks after the event may have been crossed (an
    /// instance's memory over its limit, a conversation opened past
    /// `run.max_open_conversations`, an activity scheduled past `state_check_at_activities`):
    /// `step` then looks, and otherwise looks only every `STATE_CHECK_EVENTS` events. Each of
    /// these is crossed only where this is set.
    limits_due: bool,
    /// Events processed per kind; they sum to `events_processed`.
    event_counts: EventCounts,
    convs: Slab<Conv>,
    wfs: Slab<Workflow>,
    acts: Slab<Activity>,
    frames: Slab<Frame>,
    completions: Slab<Completion>,
    /// The agent's steps compiled (recompiled when the timeline changes their settings).
    program: program::Program,
    /// Connection pools of tool steps with a concurrency limit.
    pools: Vec<ToolPool>,
    instances: Vec<Instance>,
    revision: u32,
    workflow_queue: VecDeque<(u32, u32)>,
    activity_queue: VecDeque<(u32, u32)>,
    free_workflow_slots: u64,
    /// Workflow tasks and activities waiting for a worker (checked against a scan at the end).
    workflow_tasks_queued: u64,
    activities_queued: u64,
    free_activity_slots: u64,
    round_robin: usize,
    /// Each workload's arrival process.
    arrivals: Vec<conversation::Arrivals>,
    /// Each workload's abandonment deadlines.
    abandons: Vec<conversation::AbandonDeadlines>,
    instance_starts: u64,
    // Providers.
    conditions: Vec<llm::ProviderCondition>,
    /// Each provider's incidents in progress, in the order they started: its condition is
    /// what they make together (`timeline::condition_of`).
    incidents: Vec<Vec<timeline::ActiveIncident>>,
    /// The id of the next incident.
    next_incident: u32,
    /// Each provider's quotas in force and what they did (see `quota.rs`).
    quotas: Vec<quota::ProviderQuota>,
    /// Whether any provider has a quota now: without one, calls skip admission entirely.
    quotas_active: bool,
    /// LLM calls suspended before an attempt a quota admits at its start time.
    calls: Slab<activity::PendingCall>,
    /// Providers that report quota figures (with a quota at some time in the run).
    quota_reported: Vec<(usize, crate::metrics::report::QuotaColumns)>,
    autoscaler: autoscaler::AutoscalerState,
    stats: stats::Stats,
    events: Vec<EventRecord>,
    rows: crate::metrics::report::Rows,
    /// The last sample's row, kept for its vectors' capacity: a sample allocates nothing.
    sample_row: crate::metrics::report::TimeseriesRow,
    record_workload: bool,
    workload: Vec<WorkloadRecord>,
}

impl Model {
    fn new(scenario: &Scenario, options: &RunOptions) -> Self {
        let providers = scenario.providers.len();
        Model {
            cfg: scenario.clone(),
            original: scenario.clone(),
            seed: scenario.seed,
            stream_bases: std::array::from_fn(|s| rng::StreamBase::new(scenario.seed, s as u64)),
            horizon: scenario.run.horizon,
            queue: EventQueue::new(),
            immediate: Fifo::default(),
            served_tasks: Fifo::default(),
            serving: scenario
                .serving
                .is_request()
                .then(serving::ServingState::new),
            memory_exceeded: Vec::new(),
            memory_ticking: false,
            events_processed: 0,
            state_check_at_activities: STATE_CHECK_ACTIVITIES,
            limits_due: false,
            event_counts: EventCounts::default(),
            convs: Slab::default(),
            wfs: Slab::default(),
            acts: Slab::default(),
            frames: Slab::default(),
            completions: Slab::default(),
            program: program::Program::compile(&scenario.workloads),
            pools: Vec::new(),
            instances: Vec::new(),
            revision: 0,
            workflow_queue: VecDeque::new(),
            activity_queue: VecDeque::new(),
            free_workflow_slots: 0,
            workflow_tasks_queued: 0,
            activities_queued: 0,
            free_activity_slots: 0,
            round_robin: 0,
            arrivals: scenario
                .workloads
                .iter()
                .map(|w| conversation::Arrivals::new(scenario.seed, w))
                .collect(),
            abandons: scenario
                .workloads
                .iter()
                .map(|_| conversation::AbandonDeadlines::default())
                .collect(),
            instance_starts: 0,
            conditions: vec![
                llm::ProviderCondition {
                    latency_factor: 1.0,
                    ..Default::default()
                };
                providers
            ],
            incidents: vec![Vec::new(); providers],
            next_incident: 0,
            quotas: scenario
                .providers
                .iter()
                .map(|p| quota::ProviderQuota::new(p, 0))
                .collect(),
            quotas_active: scenario.providers.iter().any(|p| p.has_quota()),
            calls: Slab::default(),
            quota_reported: quota::reported(scenario),
            autoscaler: autoscaler::AutoscalerState::new(scenario),
            stats: stats::Stats::new(scenario),
            events: Vec::new(),
            rows: crate::metrics::report::Rows::new(),
            sample_row: Default::default(),
            record_workload: options.record_workload,
            workload: Vec::new(),
        }
    }

    fn start_pools(&mut self) {
        self.pools = (0..self.program.pool_limits.len())
            .map(|_| ToolPool::default())
            .collect();
    }

    fn now(&self) -> Time {
        self.queue.now()
    }

    /// The random stream of concern `stream` (a `streams` constant) and draw key `index`:
    /// `rng::stream(self.seed, stream, index)`, from the concern's precomputed base.
    #[inline]
    fn draws(&self, stream: u64, index: u64) -> rng::Rng {
        self.stream_bases[stream as usize].at(index)
    }

    #[inline]
    fn schedule(&mut self, at: Time, event: Event) {
        self.queue.schedule(at, event);
    }

    /// Schedules `event` after `delay` unless that falls beyond the horizon (where it could
    /// not be observed anyway). Returns whether it was scheduled.
    fn schedule_within_horizon(&mut self, delay: Time, event: Event) -> bool {
        let at = self.now().saturating_add(delay);
        if at > self.horizon {
            return false;
        }
        self.schedule(at, event);
        true
    }

    fn record_event(&mut self, kind: EventKind, instance: Option<u32>, detail: String) {
        let t_s = self.now() as f64 / 1e9;
        self.events.push(EventRecord {
            t_s,
            kind,
            instance,
            detail,
        });
    }

    fn start(&mut self) {
        self.start_pools();
        self.start_initial_instances();
        for workload in 0..self.arrivals.len() as u32 {
            self.schedule_first_arrival(workload);
        }
        let sample = self.cfg.run.sample_interval.min(self.horizon);
        if sample > 0 {
            self.schedule(sample, Event::Sample);
        }
        self.autoscaler_start();
        self.memory_ticks_start();
        self.timeline_start();
    }

    fn run_loop(&mut self) -> Result<(), RunError> {
        while self.step()? {}
        Ok(())
    }

    /// Processes the next event; `false` when the run is over (no event before the horizon).
    /// Inlined into the loops that call it, so an event no longer pays a call's saving and
    /// restoring of registers.
    #[inline(always)]
    fn step(&mut self) -> Result<bool, RunError> {
        let Some((_, event)) = self.queue.pop_until(self.horizon) else {
            return Ok(false);
        };
        self.events_processed += 1;
        if self.events_processed > self.cfg.run.max_events {
            return Err(self.too_many_events());
        }
        self.dispatch(event);
        self.drain_immediate();
        if self.limits_due || self.events_processed.is_multiple_of(STATE_CHECK_EVENTS) {
            self.check_limits()?;
        }
        Ok(true)
    }

    /// The limits an event may have crossed: instances over their memory (killed now, at the
    /// end of the step), then the limits on what the run holds. Out of line: a flag and a
    /// counter decide, per event, whether to look.
    #[inline(never)]
    fn check_limits(&mut self) -> Result<(), RunError> {
        self.limits_due = false;
        self.check_exceeded_memory();
        if self.convs.len() as u64 > self.cfg.run.max_open_conversations {
            return Err(self.too_many_open());
        }
        // Also as soon as activities pile up: one event can start a whole fan-out.
        if self.events_processed.is_multiple_of(STATE_CHECK_EVENTS)
            || self.acts.len() > self.state_check_at_activities
        {
            self.check_state_memory()?;
        }
        Ok(())
    }

    /// `run.max_events` reached (out of line: `step` runs per event, this once).
    #[cold]
    #[inline(never)]
    fn too_many_events(&self) -> RunError {
        let max_events = self.cfg.run.max_events;
        RunError::LimitReached(format!(
            "run.max_events = {max_events} processed before the horizon; raise it or \
             shorten run.horizon (seed {})",
            self.seed
        ))
    }

    /// `run.max_open_conversations` exceeded (out of line, as `too_many_events`).
    #[cold]
    #[inline(never)]
    fn too_many_open(&self) -> RunError {
        let max_open = self.cfg.run.max_open_conversations;
        RunError::LimitReached(format!(
            "run.max_open_conversations = {max_open} conversations open at t = {:.0} s: \
             the fleet cannot keep up with the traffic (seed {})",
            self.now() as f64 / 1e9,
            self.seed
        ))
    }

    /// Stops the run once its state outgrows `run.max_memory`: a fleet that cannot keep up
    /// piles up conversations, workflows and activities without end, and a parallel step can
    /// pile up hundreds per conversation, which the open-conversations limit alone does not
    /// bound.
    fn check_state_memory(&mut self) -> Result<(), RunError> {
        self.state_check_at_activities = self.acts.len() + STATE_CHECK_ACTIVITIES;
        let bytes = self.state_bytes() as u64;
        let max = self.cfg.run.max_memory_bytes;
        if bytes <= max {
            return Ok(());
        }
        // Many activities per open conversation: the fan-out, not the backlog, is what is large.
        let why = if self.acts.len() > 1000 * self.convs.len().max(1) {
            "each open conversation holds more than 1,000 activities: narrow the parallel steps' \
             widths"
                .to_string()
        } else if self.customers_bytes() < bytes as usize / 2 {
            // Not the customers: the fleet's own records (instances, their pending starts,
            // stops and deadlines, the instance events logged).
            format!(
                "most of it is the fleet's own state, not conversations ({} instances, {} \
                 instance events logged): a timeline that deploys or resizes a large fleet \
                 often piles it up; deploy less often or to fewer instances",
                self.instances.len(),
                self.events.len()
            )
        } else {
            "the fleet cannot keep up with the traffic: lower the rate or shorten the horizon"
                .to_string()
        };
        Err(RunError::LimitReached(format!(
            "run.max_memory = {}: the run's state reached {} at t = {:.0} s ({} conversations \
             open, {} workflows, {} activities, {} events pending): {why}, or raise \
             run.max_memory if this machine has the memory (seed {})",
            crate::scenario::format_size(max),
            approx_size(bytes),
            self.now() as f64 / 1e9,
            self.convs.len(),
            self.wfs.len(),
            self.acts.len(),
            self.queue.len(),
            self.seed
        )))
    }

    /// The bytes the run's state holds: its slabs (to their high-water marks), queues,
    /// instances and event log (their vectors' capacities: kept once grown). What grows when
    /// the fleet falls behind is all here; the time series, the histograms and the allocator's
    /// overhead are not (the peak heap of a run is some megabytes above this). Deterministic
    /// for a given build.
    fn state_bytes(&self) -> usize {
        use std::mem::size_of;
        let deque = |len: usize| len * size_of::<(u32, u32)>();
        self.queue.footprint()
            + self.customers_bytes()
            + self.immediate.capacity() * size_of::<(u32, u32, CpuJob)>()
            + deque(self.served_tasks.capacity())
            + deque(self.workflow_queue.capacity())
            + deque(self.activity_queue.capacity())
            + self
                .pools
                .iter()
                .map(|pool| deque(pool.waiting.capacity()))
                .sum::<usize>()
            + self
                .instances
                .iter()
                .map(Instance::footprint)
                .sum::<usize>()
            + self
                .serving
                .as_ref()
                .map_or(0, serving::ServingState::footprint)
            + self.events.capacity() * size_of::<EventRecord>()
            + self.workload.capacity() * size_of::<WorkloadRecord>()
    }

    /// The part of `state_bytes` that conversations hold: their workflows, activities, frames,
    /// completions and calls.
    fn customers_bytes(&self) -> usize {
        self.convs.footprint()
            + self.wfs.footprint()
            + self.acts.footprint()
            + self.frames.footprint()
            + self.completions.footprint()
            + self.calls.footprint()
    }

    #[inline(always)]
    fn dispatch(&mut self, event: Event) {
        self.event_counts.processed[event.kind()] += 1;
        match event {
            Event::Arrival { workload, epoch } => self.on_arrival(workload, epoch),
            Event::CustomerMessage { conv, epoch } => self.on_customer_message(conv, epoch),
            Event::Abandon { conv, epoch } => self.on_abandon(conv, epoch),
            Event::AbandonDue { workload } => self.on_abandon_due(workload),
            Event::IdleTimer { conv, epoch } => self.on_idle_timer(conv, epoch),
            Event::StickyTimeout { wf, epoch } => self.on_sticky_timeout(wf, epoch),
            Event::HistoryFetched {
                inst,
                inst_gen,
                wf,
                epoch,
            } => self.on_history_fetched(inst, inst_gen, wf, epoch),
            Event::CpuDone {
                inst,
                inst_gen,
                job,
            } => self.on_cpu_done(inst, inst_gen, job),
            Event::WorkflowTaskTimeout { wf, epoch } => self.on_workflow_task_timeout(wf, epoch),
            Event::ActivityDone { act, epoch } => self.on_activity_done(act, epoch),
            Event::ActivityTimeout { act, epoch } => self.on_activity_timeout(act, epoch),
            Event::ActivityRetry { act, epoch } => self.on_activity_retry(act, epoch),
            Event::ActivityFirstChunk { act, epoch } => self.on_activity_first_chunk(act, epoch),
            Event::LlmAttempt { act, epoch, call } => self.on_llm_attempt(act, epoch, call),
            Event::InstanceReady { inst, inst_gen } => self.on_instance_ready(inst, inst_gen),
            Event::InstanceRestart { inst, inst_gen } => self.on_instance_restart(inst, inst_gen),
            Event::ShutdownDeadline { inst, inst_gen } => self.on_shutdown_deadline(inst, inst_gen),
            Event::RequestTimeout { conv, epoch } => self.on_request_timeout(conv, epoch),
            Event::AutoscalerTick => self.on_autoscaler_tick(),
            Event::Sample => self.on_sample(),
            Event::MemoryTick => self.on_memory_tick(),
            Event::Timeline { index } => self.on_timeline(index),
            Event::IncidentEnd { provider, incident } => self.on_incident_end(provider, incident),
        }
    }

    /// Completes zero-duration CPU work queued during the current step.
    /// Then (request mode) the workflow tasks that became due, which may queue more of both.
    #[inline(always)]
    fn drain_immediate(&mut self) {
        loop {
            while let Some((inst, inst_gen, job)) = self.immediate.pop() {
                if self.instances[inst as usize].generation == inst_gen {
                    self.cpu_job_finished(inst, job);
                }
            }
            match self.served_tasks.pop() {
                Some((wf, epoch)) => self.run_served_task(wf, epoch),
                None => return,
            }
        }
    }
}

/// A size to a tenth of a unit ("1.3 GiB"), for a figure that is an estimate.
fn approx_size(bytes: u64) -> String {
    let mib = bytes as f64 / f64::from(1 << 20);
    if mib >= 1024.0 {
        format!("about {:.1} GiB", mib / 1024.0)
    } else {
        format!("about {mib:.1} MiB")
    }
}

/// How often (in events processed) `step` adds up the run's state against `run.max_memory`:
/// rarely enough that the sum (a few additions per instance) costs nothing per event, often
/// enough that the state grows by at most some megabytes between two checks.
const STATE_CHECK_EVENTS: u64 = 1 << 16;

/// `step` adds up the state too once this many more activities are live than at the last
/// check: an event that fans out starts up to `limits::MAX_IN_FLIGHT_PER_TURN` of them.
const STATE_CHECK_ACTIVITIES: usize = 1 << 16;

/// How often leaking instances are checked against their memory limit.
const MEMORY_TICK: Time = 1_000_000_000;

/// Scenarios built in code, for tests and benchmarks of the model itself.
#[doc(hidden)]
pub mod testkit;

#[cfg(test)]
mod tests;
