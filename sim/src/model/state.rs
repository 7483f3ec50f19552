//! The model's entity records and its closed event enum. State lives in slabs indexed by id;
//! events carry ids plus an epoch so an event about something that has since moved on (a task
//! retried, an instance restarted) is recognised as stale and dropped.

use crate::engine::Time;

pub const NONE: u32 = u32::MAX;

/// Every event the model schedules. Small and `Copy`: ids and epochs only.
/// (`ActivityFirstChunk` is the streaming hand-off of an LLM call.)
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// The next conversation of `workload` arrives (`epoch` invalidates it after a traffic
    /// change).
    Arrival {
        workload: u32,
        epoch: u32,
    },
    /// A customer sends their next message.
    CustomerMessage {
        conv: u32,
        epoch: u32,
    },
    /// A message is still unanswered after `abandon_after` (a deadline out of its workload's
    /// order; the others are `AbandonDue`).
    Abandon {
        conv: u32,
        epoch: u32,
    },
    /// The oldest unanswered message of `workload` reaches its `abandon_after` deadline
    /// (`conversation::AbandonDeadlines`).
    AbandonDue {
        workload: u32,
    },
    /// The parent workflow's idle timer fires.
    IdleTimer {
        conv: u32,
        epoch: u32,
    },
    /// A sticky workflow task was not started in time: move it to the normal queue.
    StickyTimeout {
        wf: u32,
        epoch: u32,
    },
    /// A cache miss finished fetching the workflow's history.
    HistoryFetched {
        inst: u32,
        inst_gen: u32,
        wf: u32,
        epoch: u32,
    },
    /// A CPU job finished on an instance.
    CpuDone {
        inst: u32,
        inst_gen: u32,
        job: CpuJob,
    },
    /// A workflow task lost with its worker times out and is scheduled again.
    WorkflowTaskTimeout {
        wf: u32,
        epoch: u32,
    },
    /// An activity attempt's wait (LLM or tool) ends with its drawn outcome.
    ActivityDone {
        act: u32,
        epoch: u32,
    },
    /// An activity attempt hits its start-to-close timeout.
    ActivityTimeout {
        act: u32,
        epoch: u32,
    },
    /// The retry backoff of an activity is over: schedule the next attempt.
    ActivityRetry {
        act: u32,
        epoch: u32,
    },
    /// A suspended LLM call (`calls[call]`) reaches its next attempt, on a provider with a
    /// quota that admits it now.
    LlmAttempt {
        act: u32,
        epoch: u32,
        call: u32,
    },
    /// A streaming LLM call's first chunk has arrived.
    ActivityFirstChunk {
        act: u32,
        epoch: u32,
    },
    /// An instance finished its cold start.
    InstanceReady {
        inst: u32,
        inst_gen: u32,
    },
    /// An OOM-killed instance starts again (then pays its cold start).
    InstanceRestart {
        inst: u32,
        inst_gen: u32,
    },
    /// A draining instance's grace period is over.
    ShutdownDeadline {
        inst: u32,
        inst_gen: u32,
    },
    /// A request still waiting for a slot after `serving.max_wait` is rejected.
    RequestTimeout {
        conv: u32,
        epoch: u32,
    },
    AutoscalerTick,
    Sample,
    /// Periodic OOM check for memory that grows with time alone (leaks).
    MemoryTick,
    Timeline {
        index: u32,
    },
    /// A provider incident's duration is over (`incident`: its id, from `Model::next_incident`).
    IncidentEnd {
        provider: u32,
        incident: u32,
    },
}

impl Event {
    /// How many variants `Event` has: the length of `EventCounts`.
    pub const KINDS: usize = 23;

    /// Each variant's name, indexed by `kind`.
    pub const KIND_NAMES: [&'static str; Event::KINDS] = [
        "Arrival",
        "CustomerMessage",
        "Abandon",
        "AbandonDue",
        "IdleTimer",
        "StickyTimeout",
        "HistoryFetched",
        "CpuDone",
        "WorkflowTaskTimeout",
        "ActivityDone",
        "ActivityTimeout",
        "ActivityRetry",
        "LlmAttempt",
        "ActivityFirstChunk",
        "InstanceReady",
        "InstanceRestart",
        "ShutdownDeadline",
        "RequestTimeout",
        "AutoscalerTick",
        "Sample",
        "MemoryTick",
        "Timeline",
        "IncidentEnd",
    ];

    /// The variant's index in declaration order (its discriminant): a `match` of constants the
    /// compiler reduces to the tag, no table and no hashing.
    pub fn kind(&self) -> usize {
        match self {
            Event::Arrival { .. } => 0,
            Event::CustomerMessage { .. } => 1,
            Event::Abandon { .. } => 2,
            Event::AbandonDue { .. } => 3,
            Event::IdleTimer { .. } => 4,
            Event::StickyTimeout { .. } => 5,
            Event::HistoryFetched { .. } => 6,
            Event::CpuDone { .. } => 7,
            Event::WorkflowTaskTimeout { .. } => 8,
            Event::ActivityDone { .. } => 9,
            Event::ActivityTimeout { .. } => 10,
            Event::ActivityRetry { .. } => 11,
            Event::LlmAttempt { .. } => 12,
            Event::ActivityFirstChunk { .. } => 13,
            Event::InstanceReady { .. } => 14,
            Event::InstanceRestart { .. } => 15,
            Event::ShutdownDeadline { .. } => 16,
            Event::RequestTimeout { .. } => 17,
            Event::AutoscalerTick => 18,
            Event::Sample => 19,
            Event::MemoryTick => 20,
            Event::Timeline { .. } => 21,
            Event::IncidentEnd { .. } => 22,
        }
    }
}

/// Events processed per `Event` variant (indexed by `Event::kind`), counted in
/// `Model::dispatch`: what the bench breaks a run's events down by. Not part of any output file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventCounts {
    pub processed: [u64; Event::KINDS],
}

impl EventCounts {
    /// `(variant name, events processed)` for every variant, in declaration order.
    pub fn by_kind(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Event::KIND_NAMES
            .iter()
            .copied()
            .zip(self.processed.iter().copied())
    }

    pub fn total(&self) -> u64 {
        self.processed.iter().sum()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuJob {
    Startup,
    WorkflowTask { wf: u32, epoch: u32 },
    Activity { act: u32, epoch: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageState {
    None,
    InFlight,
    Done,
}

/// A customer conversation: the customer's side of the story.
#[derive(Clone, Debug)]
pub struct Conv {
    /// Bumped for every scheduled customer event; carried across slot reuse.
    pub epoch: u32,
    /// Draw key: keys this conversation's workload streams (common random numbers). The
    /// arrival index within its workload; for a named workload mixed with the name's hash.
    pub index: u64,
    /// Its workload (index into the scenario's `workloads`).
    pub workload: u32,
    pub arrived_at: Time,
    pub parent: u32,
    pub messages_total: u32,
    pub messages_sent: u32,
    pub message: MessageState,
    pub message_received_at: Time,
    /// The customer left (abandoned) or has no more messages: nothing more will come.
    pub done_talking: bool,
    pub timer_pending: bool,
    /// A response child is running: from the parent's start of it to its reply. Not the same
    /// as an unanswered message: a customer who abandons leaves the turn running.
    pub turn_running: bool,
    /// A tool call (attempt) failed or timed out in this conversation.
    pub tool_failed: bool,
    /// An on-failure fallback ran in this conversation.
    pub replanned: bool,
    /// Output tokens of earlier successful calls of carrying steps.
    pub carried_output_tokens: u64,
    /// Request mode: its request's place (see `serving`), the instance (and generation)
    /// holding its slot, when the request came, and the epoch of its wait's timeout.
    pub session: SessionState,
    pub session_inst: u32,
    pub session_gen: u32,
    pub request_at: Time,
    pub request_epoch: u32,
}

/// Request mode: where a conversation's current request is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// No request open (poll mode, or between turns).
    None,
    /// Waiting for a free slot.
    Waiting,
    /// Holding a slot on `session_inst`.
    Held,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkflowKind {
    Parent,
    /// A response child; `turn` is the conversation's message number it answers (1-based).
    Child {
        parent: u32,
        turn: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    Idle,
    QueuedNormal,
    QueuedSticky,
    /// Started on `task_inst`, waiting for its history (cache miss).
    Fetching,
    /// Started on `task_inst`, waiting for or using CPU.
    Running,
    /// Its worker died while running it; waits for the workflow task timeout.
    Lost,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivityState {
    Queued,
    Backoff,
    /// Started on `act_inst`: the CPU part.
    Cpu,
    /// Started on `act_inst`: waiting for the LLM or tool.
    Waiting,
    /// Its worker died; only the start-to-close timeout brings it back.
    Lost,
    /// Started on `inst`, CPU part done: waiting for a connection of its tool's pool.
    WaitingForConnection,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivityOutcome {
    Completed,
    Failed,
    TimedOut,
}

// Inbox flags: what the next workflow task has to process.
pub const INBOX_MESSAGE: u8 = 1;
pub const INBOX_CHILD_DONE: u8 = 2;
pub const INBOX_CHILD_FAILED: u8 = 4;
pub const INBOX_TIMER: u8 = 8;
pub const INBOX_START: u8 = 16;
/// Completions (activities, branch children) wait in the workflow's completion list.
pub const INBOX_COMPLETIONS: u8 = 32;
/// A frameless program's lone activity (see `program::Model::start_program`) has finished
/// (`Workflow::root_ok` says how), or has sent its first chunk (which changes nothing but, as
/// any completion, takes a workflow task). Flags, not completion records: a frameless program
/// has one activity, so nothing needs ordering.
pub const INBOX_ROOT_DONE: u8 = 64;
pub const INBOX_ROOT_CHUNK: u8 = 128;

/// A workflow execution (parent, response child or branch child) and its workflow task. The
/// activities it runs are entities of their own (`Activity`); what its program does with their
/// results is in `Frame`s.
#[derive(Clone, Debug)]
pub struct Workflow {
    /// Bumped when the slot is reused, so activities and frames of a completed workflow can tell.
    pub generation: u32,
    pub kind: WorkflowKind,
    pub conv: u32,
    /// The conversation's arrival index (its draw key; a branch child may outlive it).
    pub conv_index: u64,
    /// The conversation's workload.
    pub workload: u32,
    pub history_events: u32,
    /// Parent: replies sent, for per-turn cached memory.
    pub turns_done: u32,
    /// The instance caching it, or NONE; and the LRU links within that instance's cache.
    pub cached_on: u32,
    pub lru_prev: u32,
    pub lru_next: u32,
    pub cached_bytes: u64,
    /// The service's sticky attachment: the worker (instance, generation) that ran the last task.
    pub sticky_inst: u32,
    pub sticky_gen: u32,
    /// The current workflow task. `task_epoch` is bumped for every new task or move and carried
    /// across slot reuse.
    pub task: TaskState,
    pub task_epoch: u32,
    pub task_inst: u32,
    pub task_scheduled_at: Time,
    pub task_started_at: Time,
    /// Whether the task started on a worker without the workflow cached (a replay).
    pub task_replaying: bool,
    /// Whether any of its workflow tasks has completed (a first task has nothing to replay).
    pub has_run: bool,
    pub inbox: u8,
    pub processing: u8,
    /// Completions not yet seen by a workflow task (a FIFO list through `Completion::next`),
    /// and those the running task is processing.
    pub completions: CompletionList,
    pub processing_completions: CompletionList,
    /// Child: what its program runs (a program node) and the draw key of that run; for a
    /// branch child, the frame in its parent that waits for it (NONE for a response child).
    pub program_node: u32,
    pub program_key: u64,
    pub report_frame: u32,
    pub report_frame_gen: u32,
    /// Child: the generation of its parent workflow when it started.
    pub parent_gen: u32,
    /// Child: the program's outcome once its root frame finished.
    pub program_outcome: Option<bool>,
    /// Child with a frameless program: its activity's outcome, taken when a task processes
    /// `INBOX_ROOT_DONE`.
    pub root_ok: bool,
}

impl Workflow {
    pub fn new(
        kind: WorkflowKind,
        conv: u32,
        conv_index: u64,
        previous: Option<&Workflow>,
    ) -> Self {
        Workflow {
            conv_index,
            generation: previous.map_or(0, |p| p.generation.wrapping_add(1)),
            kind,
            conv,
            workload: 0,
            history_events: 0,
            turns_done: 0,
            cached_on: NONE,
            lru_prev: NONE,
            lru_next: NONE,
            cached_bytes: 0,
            sticky_inst: NONE,
            sticky_gen: 0,
            task: TaskState::Idle,
            task_epoch: previous.map_or(0, |p| p.task_epoch.wrapping_add(1)),
            task_inst: NONE,
            task_scheduled_at: 0,
            task_started_at: 0,
            task_replaying: false,
            has_run: false,
            inbox: 0,
            processing: 0,
            completions: CompletionList::EMPTY,
            processing_completions: CompletionList::EMPTY,
            program_node: NONE,
            program_key: 0,
            report_frame: NONE,
            report_frame_gen: 0,
            parent_gen: 0,
            program_outcome: None,
            root_ok: false,
        }
    }
}

/// One activity: a leaf step of a turn's program, run by a workflow, retried by its policy.
/// Lives from its scheduling to its final outcome.
#[derive(Clone, Debug)]
pub struct Activity {
    /// Bumped for every attempt, move or timer; carried across slot reuse.
    pub epoch: u32,
    pub wf: u32,
    pub wf_gen: u32,
    /// The conversation (slot and index) and turn it works for, kept from its scheduling: its
    /// workflow may complete while it still runs (an abandoned branch), and its slot be reused.
    pub conv: u32,
    pub conv_index: u64,
    pub turn: u32,
    /// The frame its outcome is reported to, and the program node (the step) it runs.
    pub frame: u32,
    pub frame_gen: u32,
    pub node: u32,
    /// Draw key within the turn (see `program::occurrence`).
    pub occurrence: u64,
    pub attempt: u32,
    pub state: ActivityState,
    pub inst: u32,
    pub first_scheduled_at: Time,
    pub scheduled_at: Time,
    pub started_at: Time,
    pub outcome: ActivityOutcome,
    pub memory: u64,
    /// Streaming: the first chunk has been handed on (by this or an earlier attempt).
    pub chunk_sent: bool,
    /// Holds a connection of its tool's pool.
    pub holds_connection: bool,
    /// Output tokens of the current attempt (LLM), carried into later turns on success.
    pub output_tokens: u64,
}

/// What a finished child (activity, frame or branch workflow) tells its frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Finished; `streamed` when it had handed on its first chunk already (so the sequence
    /// that ran it has moved on).
    Done { ok: bool, streamed: bool },
    /// A streaming LLM step's first chunk: the next step may start.
    FirstChunk,
}

/// A completion waiting for its workflow's next task.
#[derive(Clone, Copy, Debug)]
pub struct Completion {
    pub frame: u32,
    pub frame_gen: u32,
    pub signal: Signal,
    pub next: u32,
}

/// A FIFO list of completions, linked through `Completion::next`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompletionList {
    pub head: u32,
    pub tail: u32,
}

impl CompletionList {
    pub const EMPTY: CompletionList = CompletionList {
        head: NONE,
        tail: NONE,
    };

    pub fn is_empty(&self) -> bool {
        self.head == NONE
    }
}

/// The running state of one composite program node (or of a step's on-failure wrapper) in one
/// turn. The meaning of the counters depends on the node's kind (see `program`).
#[derive(Clone, Debug)]
pub struct Frame {
    /// Bumped when the slot is reused.
    pub generation: u32,
    pub node: u32,
    /// Whether this frame is the on-failure wrapper of `node` rather than the node itself.
    pub wrapper: bool,
    /// The workflow whose tasks drive it.
    pub wf: u32,
    /// The frame waiting for it, or NONE for the root of `wf`'s program.
    pub parent: u32,
    pub parent_gen: u32,
    /// Draw key of this run of the node (0 for the turn's top-level sequence).
    pub key: u64,
    pub started_at: Time,
    /// Children started so far (sequence position, repeat iterations, branches, fallbacks).
    pub position: u32,
    /// How many children this run has in all (repeat count, branch width).
    pub total: u32,
    /// Children started and not yet finished.
    pub running: u32,
    pub succeeded: u32,
    pub failed: u32,
    /// Reported to its parent already; waits only for stragglers before it is freed.
    pub finished: bool,
    /// A wrapper whose step handed on its first chunk (its parent has moved on).
    pub streamed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceState {
    /// Cold start in progress.
    Starting,
    Running,
    /// Scaled in or replaced: takes no new tasks, finishes what it has within the grace period.
    Draining,
    /// OOM-killed, waiting to restart.
    Down,
    /// Gone; the slot may be reused.
    Stopped,
}

/// Settings an instance takes when it starts (a revision's container and worker options).
#[derive(Clone, Debug)]
pub struct InstanceSpec {
    pub vcpus: u32,
    /// Relative speed of one vCPU: a CPU job holds a vCPU for work / cpu_speed.
    pub cpu_speed: f64,
    pub memory_limit_bytes: u64,
    pub runtime_memory_bytes: u64,
    pub leak_bytes_per_hour: u64,
    pub cache_size: u32,
    pub workflow_slots: u32,
    pub activity_slots: u32,
    /// Request mode: request slots (0 in poll mode).
    pub max_concurrency: u32,
}

#[derive(Clone, Debug)]
pub struct Instance {
    pub generation: u32,
    pub state: InstanceState,
    pub spec: InstanceSpec,
    /// Memory below this many bytes leaves the GC factor exactly 1 (`instance::gc_free_below`
    /// of the limit and the scenario's `[instance.gc]`, renewed when a timeline `set` changes
    /// it): one integer compare per CPU job where the shortcut converted and multiplied floats.
    pub gc_free_below: u64,
    /// Old revision waiting for its replacement to be ready (rolling deploy).
    pub retiring: bool,
    pub started_at: Time,
    pub billed_since: Time,
    pub busy_cores: u32,
    pub cpu_queue: std::collections::VecDeque<(CpuJob, u64)>,
    pub sticky_queue: std::collections::VecDeque<(u32, u32)>,
    pub workflow_slots_used: u32,
    pub activity_slots_used: u32,
    /// Request mode: slots held by sessions.
    pub sessions: u32,
    pub lru_head: u32,
    pub lru_tail: u32,
    pub cache_entries: u32,
    pub cache_bytes: u64,
    pub activity_bytes: u64,
    pub crashes_in_a_row: u32,
    pub last_crash_at: Option<Time>,
    /// What a crash or stop loses, found without scanning every item of the run: the
    /// workflows whose task started here, the activity attempts started here, and (request
    /// mode) the conversations whose session was bound here.
    pub tasks_here: StartedHere,
    pub activities_here: StartedHere,
    pub sessions_here: StartedHere,
}

impl Instance {
    /// The bytes this instance's record and queues hold (capacities), for the run's memory
    /// check.
    pub fn footprint(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.cpu_queue.capacity() * std::mem::size_of::<(CpuJob, u64)>()
            + self.sticky_queue.capacity() * std::mem::size_of::<(u32, u32)>()
            + [&self.tasks_here, &self.activities_here, &self.sessions_here]
                .iter()
                .map(|here| here.ids.capacity() * std::mem::size_of::<u32>())
                .sum::<usize>()
    }
}

/// The ids of the items started on one instance: a superset of those still there (an item
/// that finished or moved is dropped at the next pruning, or at once by `leave` if it was the
/// last listed), pruned once the list has grown `GROWTH` times over what the last pruning
/// left, so a start costs amortised O(1) and the list holds at most `GROWTH` times the most
/// items ever there at once, plus `MIN_PRUNE`. Scanning every workflow, activity and
/// conversation of the run at each crash made a crash-looping fleet with many open
/// conversations quadratic (a fuzzed 1,000-instance crash loop to 40,000 open conversations:
/// 12.1 s in release, 0.59 s with these lists).
#[derive(Clone, Debug, Default)]
pub struct StartedHere {
    ids: Vec<u32>,
    prune_at: usize,
}

impl StartedHere {
    /// Lists ids shorter than this are never pruned.
    const MIN_PRUNE: usize = 256;
    /// The list is pruned when it has grown this many times over what the last pruning left.
    const GROWTH: usize = 4;

    /// Notes `id` as started here; `here` says whether an id listed earlier still is.
    #[inline]
    pub fn push(&mut self, id: u32, here: impl Fn(u32) -> bool) {
        if self.ids.len() >= self.prune_at.max(Self::MIN_PRUNE) {
            self.prune(here);
        }
        self.ids.push(id);
    }

    /// Notes that `id` is no longer here: dropped at once if it was the last listed (a task
    /// or attempt that ends before another starts here, as a zero-CPU workflow task does within
    /// its event), so the pruning has fewer to look at; left for it otherwise.
    #[inline]
    pub fn leave(&mut self, id: u32) {
        if self.ids.last() == Some(&id) {
            self.ids.pop();
        }
    }

    #[cold]
    #[inline(never)]
    fn prune(&mut self, here: impl Fn(u32) -> bool) {
        // An id reused while listed is listed twice: keep one.
        self.ids.retain(|&id| here(id));
        self.ids.sort_unstable();
        self.ids.dedup();
        self.prune_at = Self::GROWTH * self.ids.len();
    }

    /// The listed ids for which `here` holds, ascending and each once (the order in which a
    /// scan of every id would meet them); the list is left empty.
    pub fn take(&mut self, here: impl Fn(u32) -> bool) -> Vec<u32> {
        self.prune(here);
        self.prune_at = 0;
        std::mem::take(&mut self.ids)
    }
}

/// A tool's connections (`max_concurrent_calls`): how many are held, and who waits, in order.
#[derive(Clone, Debug, Default)]
pub struct ToolPool {
    pub in_use: u32,
    pub waiting: std::collections::VecDeque<(u32, u32)>,
}

#[cfg(test)]
mod tests {
    use super::StartedHere;

    /// Against a brute-force scan: items start here (pushed) or elsewhere, finish, and ids are
    /// reused, in a deterministic shuffle; at every step `take` of a copy finds exactly the
    /// ids a scan of all items finds, in its order, and the list stays within twice the most
    /// items here at once (plus the constant).
    #[test]
    fn started_here_finds_what_a_scan_of_every_item_finds() {
        const ITEMS: usize = 500;
        // Where each item runs: Some(true) here, Some(false) elsewhere, None finished.
        let mut at: Vec<Option<bool>> = vec![None; ITEMS];
        let mut list = StartedHere::default();
        let mut peak = 0;
        let mut state = 20261205u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        for step in 0..20_000 {
            let id = next() % ITEMS;
            match next() % 3 {
                0 => {
                    // (Re)starts, here or elsewhere; an id reused while listed is listed twice.
                    let here = next() % 2 == 0;
                    at[id] = Some(here);
                    if here {
                        let snapshot = at.clone();
                        list.push(id as u32, |i| snapshot[i as usize] == Some(true));
                    }
                }
                // Finishes or moves, and says so (as the model does where a task or
                // attempt ends) half the time.
                _ => {
                    if at[id] == Some(true) && next() % 2 == 0 {
                        at[id] = None;
                        list.leave(id as u32);
                    } else {
                        at[id] = None;
                    }
                }
            }
            peak = peak.max(at.iter().filter(|a| **a == Some(true)).count());
            assert!(
                list.ids.len() <= StartedHere::GROWTH * peak + StartedHere::MIN_PRUNE + 1,
                "step {step}: {} listed, at most {peak} here at once",
                list.ids.len()
            );
            if step % 997 == 0 {
                let scan: Vec<u32> = (0..ITEMS as u32)
                    .filter(|&i| at[i as usize] == Some(true))
                    .collect();
                let found = list.clone().take(|i| at[i as usize] == Some(true));
                assert_eq!(found, scan, "step {step}");
            }
        }
        let found = list.take(|i| at[i as usize] == Some(true));
        assert_eq!(found.len(), at.iter().filter(|a| **a == Some(true)).count());
        assert!(list.ids.is_empty(), "take leaves the list empty");
    }
}
