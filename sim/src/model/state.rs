//! The model's entity records and its closed event enum. State lives in slabs indexed by id;
//! events carry ids plus an epoch so an event about something that has since moved on (a task
//! retried, an instance restarted) is recognised as stale and dropped.

use crate::engine::Time;

pub const NONE: u32 = u32::MAX;

/// Every event the model schedules. Small and `Copy`: ids and epochs only.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// The next conversation arrives (`epoch` invalidates it after a traffic change).
    Arrival {
        epoch: u32,
    },
    /// A customer sends their next message.
    CustomerMessage {
        conv: u32,
        epoch: u32,
    },
    /// A message is still unanswered after `abandon_after`.
    Abandon {
        conv: u32,
        epoch: u32,
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
        wf: u32,
        epoch: u32,
    },
    /// An activity attempt hits its start-to-close timeout.
    ActivityTimeout {
        wf: u32,
        epoch: u32,
    },
    /// The retry backoff of an activity is over: schedule the next attempt.
    ActivityRetry {
        wf: u32,
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
    AutoscalerTick,
    Sample,
    /// Periodic OOM check for memory that grows with time alone (leaks).
    MemoryTick,
    Timeline {
        index: u32,
    },
    IncidentEnd {
        provider: u32,
        epoch: u32,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuJob {
    Startup,
    WorkflowTask { wf: u32, epoch: u32 },
    Activity { wf: u32, epoch: u32 },
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
    /// Arrival index: keys this conversation's workload streams (common random numbers).
    pub index: u64,
    pub arrived_at: Time,
    pub parent: u32,
    pub messages_total: u32,
    pub messages_sent: u32,
    pub message: MessageState,
    pub message_received_at: Time,
    /// The customer left (abandoned) or has no more messages: nothing more will come.
    pub done_talking: bool,
    pub timer_pending: bool,
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
    None,
    Queued,
    Backoff,
    /// Started on `act_inst`: the CPU part.
    Cpu,
    /// Started on `act_inst`: waiting for the LLM or tool.
    Waiting,
    /// Its worker died; only the start-to-close timeout brings it back.
    Lost,
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
pub const INBOX_ACTIVITY_DONE: u8 = 32;
pub const INBOX_ACTIVITY_FAILED: u8 = 64;

/// A workflow execution (parent or response child), its task and (for a child) its activity.
#[derive(Clone, Debug)]
pub struct Workflow {
    pub kind: WorkflowKind,
    pub conv: u32,
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
    /// Child: the step being run (index into the agent's steps) and its activity attempt.
    pub step: u32,
    pub attempt: u32,
    pub act: ActivityState,
    pub act_epoch: u32,
    pub act_inst: u32,
    pub act_scheduled_at: Time,
    pub act_started_at: Time,
    pub act_outcome: ActivityOutcome,
    pub act_memory: u64,
}

impl Workflow {
    pub fn new(kind: WorkflowKind, conv: u32, previous: Option<&Workflow>) -> Self {
        Workflow {
            kind,
            conv,
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
            step: 0,
            attempt: 0,
            act: ActivityState::None,
            act_epoch: previous.map_or(0, |p| p.act_epoch.wrapping_add(1)),
            act_inst: NONE,
            act_scheduled_at: 0,
            act_started_at: 0,
            act_outcome: ActivityOutcome::Completed,
            act_memory: 0,
        }
    }
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
}

#[derive(Clone, Debug)]
pub struct Instance {
    pub generation: u32,
    pub state: InstanceState,
    pub spec: InstanceSpec,
    /// Old revision waiting for its replacement to be ready (rolling deploy).
    pub retiring: bool,
    pub started_at: Time,
    pub billed_since: Time,
    pub busy_cores: u32,
    pub cpu_queue: std::collections::VecDeque<(CpuJob, u64)>,
    pub sticky_queue: std::collections::VecDeque<(u32, u32)>,
    pub workflow_slots_used: u32,
    pub activity_slots_used: u32,
    pub lru_head: u32,
    pub lru_tail: u32,
    pub cache_entries: u32,
    pub cache_bytes: u64,
    pub activity_bytes: u64,
    pub crashes_in_a_row: u32,
    pub last_crash_at: Option<Time>,
}
