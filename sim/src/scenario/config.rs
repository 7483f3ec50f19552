//! The resolved scenario: what the simulator runs. Every value here has been validated, every
//! default applied and every unit converted (durations to integer nanoseconds, sizes to bytes,
//! rates to per-second floats). The raw TOML and its diagnostics live in the sibling modules;
//! the model only ever sees these types.
//!
//! TOML key names are the field names below (snake_case). Doc comments give the key, the unit
//! and the default.

use serde::Serialize;

/// Simulated time and durations, in nanoseconds.
pub type Nanos = u64;

pub const NANOS_PER_SECOND: f64 = 1e9;

/// Seconds (a sampled duration, say) to nanoseconds, clamped to [0, 10,000 days] (the longest
/// duration a scenario can state), so a far tail sample cannot overflow the model's clock.
/// NaN maps to 0.
pub fn seconds_to_nanos(seconds: f64) -> Nanos {
    // Clamped before rounding (the same result: the cap is an integer, exact in an f64; `max`
    // takes NaN to 0), the value fits an i64, whose conversions each way are one instruction on
    // x86-64 where a u64's take a dozen: this runs for every sampled duration.
    round_in_i64_range(
        (seconds * NANOS_PER_SECOND)
            .max(0.0)
            .min(MAX_DURATION_NANOS as f64),
    )
}

/// Exactly `value.round() as u64` (half away from zero; saturating; NaN and negatives to 0),
/// without the library call `f64::round` costs on the baseline x86-64 target (no SSE4.1). The
/// cast truncates, and the fraction `value - whole` is exact: Sterbenz's lemma for values of
/// at least 1, the value itself below 1, 0 where every f64 is an integer.
pub fn round_to_u64(value: f64) -> u64 {
    if (0.0..I64_LIMIT).contains(&value) {
        // The common case (see `seconds_to_nanos`).
        return round_in_i64_range(value);
    }
    let whole = value as u64;
    if value - whole as f64 >= 0.5 {
        whole.saturating_add(1)
    } else {
        whole
    }
}

/// 2^63: the values below it convert to and from an i64 exactly.
const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;

/// `round_to_u64` for a value in [0, 2^63), through an i64 (the same argument: the cast
/// truncates and the fraction is exact; from 2^53 on every value is whole, so `whole + 1`
/// cannot overflow).
#[inline]
fn round_in_i64_range(value: f64) -> u64 {
    debug_assert!((0.0..I64_LIMIT).contains(&value));
    let whole = value as i64;
    let rounded = if value - whole as f64 >= 0.5 {
        whole + 1
    } else {
        whole
    };
    rounded as u64
}

/// The longest duration: see `units::MAX_DURATION_NANOS`.
pub const MAX_DURATION_NANOS: Nanos = super::units::MAX_DURATION_NANOS;

pub fn nanos_to_seconds(nanos: Nanos) -> f64 {
    nanos as f64 / NANOS_PER_SECOND
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scenario {
    /// `name`: default the file stem. Names the output folder `results/<name>/`.
    pub name: String,
    /// `description`: free text, default "".
    pub description: String,
    /// `seed`: master seed, default 1. `sim run --seed` overrides it.
    pub seed: u64,
    /// `[run]`
    pub run: RunLimits,
    /// What the fleet serves: `[traffic]`, `[conversation]` and `[agent]` at the top level (one
    /// unnamed workload), or `[[workloads]]`, each with its own three tables. At least one.
    pub workloads: Vec<Workload>,
    /// `[activity]`: defaults shared by every step.
    pub activity: ActivityDefaults,
    /// `[retry]`: the activity retry policy.
    pub retry: RetryPolicy,
    /// `[temporal]`: worker and service settings.
    pub temporal: Temporal,
    /// `[instance]`: one container running one worker process.
    pub instance: Instance,
    /// `[autoscaler]`
    pub autoscaler: Autoscaler,
    /// `[serving]`: how work reaches the fleet (polling workers, or requests routed to
    /// instances).
    pub serving: Serving,
    /// `[providers.NAME]`, in name order.
    pub providers: Vec<Provider>,
    /// `[provider_groups]`: `NAME = ["provider", ...]`, in name order.
    pub provider_groups: Vec<ProviderGroup>,
    /// `[cost]`
    pub cost: CostPrices,
    /// `[[slo]]`
    pub slos: Vec<Slo>,
    /// `[[timeline]]`, sorted by time (stable for equal times).
    pub timeline: Vec<Intervention>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunLimits {
    /// `horizon`: simulated time to run, default "24h".
    pub horizon: Nanos,
    /// `warmup`: latency statistics (response latency by when the message arrived; schedule-to-
    /// start by when the wait ended, LLM call latency by when the call started) and cache counters ignore what
    /// happens before this; counts, crashes and cost cover the whole run. Default "0s"; must
    /// be below the horizon.
    pub warmup: Nanos,
    /// `max_events`: hard limit on processed events, default 10_000_000_000
    /// (`limits::DEFAULT_MAX_EVENTS`: a 10,000,000-calls day fits).
    pub max_events: u64,
    /// `sample_interval`: the time-series row interval, default "60s".
    pub sample_interval: Nanos,
    /// `max_open_conversations`: hard limit on conversations open at once, default 10_000_000.
    pub max_open_conversations: u64,
    /// `max_memory`: hard limit on the memory of the run's state (conversations, workflows,
    /// activities, pending events, queues), estimated from their counts during the run;
    /// default "2GiB" (`limits::DEFAULT_MAX_MEMORY`), at least "1MiB".
    pub max_memory_bytes: u64,
    /// `max_conversations`: limit on the conversations the traffic is expected to bring over
    /// the horizon (the integral of rate x multiplier, timeline included), checked before the
    /// run; default 10_000_000.
    pub max_conversations: u64,
    /// `max_instances`: limit on `autoscaler.instances` / `autoscaler.max_instances`, checked
    /// before the run; default 10_000.
    pub max_instances: u64,
    /// `max_timeseries_rows`: limit on horizon / sample_interval, checked before the run;
    /// default 1_000_000.
    pub max_timeseries_rows: u64,
}

/// A probability distribution over a non-negative quantity. Durations are sampled in seconds,
/// counts in units; the scenario parser knows which a key expects.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Dist {
    /// `{ kind = "constant", value = X }`
    Constant { value: f64 },
    /// `{ kind = "exponential", mean = X }`
    Exponential { mean: f64 },
    /// `{ kind = "lognormal", median = X, p99 = Y }` with 0 < median < p99. Built with
    /// `Dist::lognormal`, which works out `sigma`, the underlying normal's standard deviation,
    /// once rather than per draw.
    Lognormal {
        median: f64,
        p99: f64,
        #[serde(skip)]
        sigma: f64,
    },
    /// `{ kind = "uniform", min = X, max = Y }` with min <= max.
    Uniform { min: f64, max: f64 },
    /// `{ kind = "geometric", mean = X }` (counts only, X >= 1): number of trials to the first
    /// success, support 1, 2, 3, ...
    Geometric { mean: f64 },
    /// `{ kind = "empirical", csv = "path" }`: resample uniformly from the values of a one-column
    /// CSV (header optional; durations in the same string units as the scenario, or bare
    /// numbers for counts). `csv` is the path made absolute (relative paths are relative to
    /// the scenario file's folder), so `scenario.resolved.toml` loads from anywhere; `values`
    /// are what was loaded.
    Empirical {
        csv: String,
        #[serde(skip)]
        values: std::sync::Arc<[f64]>,
    },
}

/// z such that P(Z <= z) = 0.99 for a standard normal.
const Z_99: f64 = 2.326_347_874_040_841;

impl Dist {
    /// The lognormal with this median and 99th percentile.
    pub fn lognormal(median: f64, p99: f64) -> Dist {
        Dist::Lognormal {
            median,
            p99,
            sigma: (p99 / median).ln() / Z_99,
        }
    }

    /// The distribution's mean, in its own unit (0 for an empirical one without values).
    pub fn mean(&self) -> f64 {
        match self {
            Dist::Constant { value } => *value,
            Dist::Exponential { mean } | Dist::Geometric { mean } => *mean,
            Dist::Lognormal { median, sigma, .. } => median * (sigma * sigma / 2.0).exp(),
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::Empirical { values, .. } => {
                values.iter().sum::<f64>() / values.len().max(1) as f64
            }
        }
    }
}

/// One kind of customer the fleet serves: its traffic, its conversations and its agent program.
/// Every workload runs on the same fleet (workers, instances, providers, tool pools).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Workload {
    /// `name` in `[[workloads]]`: required, unique, letters, digits, `_` and `-`. `None` for the
    /// single workload of a file that states `[traffic]`, `[conversation]` and `[agent]` at the
    /// top level.
    pub name: Option<String>,
    /// `[traffic]` (or `[workloads.traffic]`)
    pub traffic: Traffic,
    /// `[conversation]` (or `[workloads.conversation]`)
    pub conversation: Conversation,
    /// `[agent]` (or `[workloads.agent]`): the steps of one turn.
    pub agent: Agent,
}

impl Workload {
    /// The name used in outputs: the given name, or `default` for the unnamed workload.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or("default")
    }

    /// The path prefix of its keys: `""` for the unnamed workload, `workloads.<i>.` otherwise.
    pub fn key_prefix(&self, index: usize) -> String {
        if self.name.is_some() {
            format!("workloads.{index}.")
        } else {
            String::new()
        }
    }
}

impl Scenario {
    /// Whether the file states `[[workloads]]` (named workloads) rather than one unnamed one.
    pub fn has_named_workloads(&self) -> bool {
        self.workloads.iter().any(|w| w.name.is_some())
    }

    /// Whether any workload states a response budget.
    pub fn has_response_budget(&self) -> bool {
        self.workloads
            .iter()
            .any(|w| w.conversation.response_budget.is_some())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Traffic {
    pub profile: TrafficProfile,
    /// `multiplier`: scales the arrival rate, default 1.0. The timeline changes it.
    pub multiplier: f64,
}

/// `[traffic] kind = "..."` plus the keys of that kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrafficProfile {
    /// `rate_per_s`: conversations per second.
    Constant { rate_per_s: f64 },
    /// `points = [{ at = "0h", rate_per_s = 1.0 }, ...]`: a step function; the first point must
    /// be at 0, times strictly increasing.
    Piecewise { points: Vec<RatePoint> },
    /// `mean_rate_per_s`, `peak_to_trough` (>= 1), `peak_hour` (0 <= h < 24):
    /// rate(t) = mean * (1 + a * cos(2 pi (hour(t) - peak_hour) / 24)), a = (r - 1) / (r + 1).
    Diurnal {
        mean_rate_per_s: f64,
        peak_to_trough: f64,
        peak_hour: f64,
    },
    /// `csv = "path"`: arrival times, one per row, as durations from the start ("12.5s") or
    /// bare seconds. Sorted on load; the path is stored absolute, as for empirical CSVs.
    Trace {
        csv: String,
        #[serde(skip)]
        arrivals: std::sync::Arc<[Nanos]>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RatePoint {
    pub at: Nanos,
    pub rate_per_s: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Conversation {
    /// `messages`: customer messages per conversation (count distribution, rounded, at least 1).
    /// Default geometric with mean 5.
    pub messages: Dist,
    /// `think_time`: from a reply to the customer's next message (duration distribution).
    /// Default lognormal median 30s, p99 10m.
    pub think_time: Dist,
    /// `idle_timeout`: the workflow completes when no message came for this long after a reply.
    /// Default "30m". "0s" closes the conversation right after its last reply.
    pub idle_timeout: Nanos,
    /// `abandon_after`: a message still unanswered this long after it arrived counts as
    /// unanswered and the customer leaves. Default "5m".
    pub abandon_after: Nanos,
    /// `response_budget`: the reply time a turn should meet; the summary reports the fraction
    /// of answered turns within it. Default none.
    pub response_budget: Option<Nanos>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Agent {
    /// `[[agent.steps]]`: the turn's program, run in order by the response child workflow.
    /// At least one. Steps nest (parallel, repeat, choice, on_failure).
    pub steps: Vec<Step>,
}

/// Most workloads (`[[workloads]]`) in one scenario.
pub const MAX_WORKLOADS: usize = 100;
/// Deepest nesting of composite steps.
pub const MAX_DEPTH: usize = 8;
/// Most steps in one program, counting nested ones.
pub const MAX_STEPS: usize = 1000;
/// Most branches of one parallel step: fixed ones, or the largest width a draw may give
/// (larger draws are clamped to it).
pub const MAX_BRANCHES: u32 = 1000;
/// The largest count a repeat step may draw (larger draws are clamped to it).
pub const MAX_REPEAT: u32 = 10_000;

/// One step of a turn's program: an activity (`llm`, `tool`) or a composite step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// `name`: unique in the program. Default "step-N" at the top level (N = 1-based
    /// position), "<enclosing name>.N" inside a composite step.
    pub name: String,
    pub kind: StepKind,
    /// `cpu`: CPU work per attempt, on the worker's instance, before the wait. Default "2ms".
    /// Activities only.
    pub cpu: Nanos,
    /// `start_to_close_timeout`: default `[activity] start_to_close_timeout`. Activities only.
    pub start_to_close_timeout: Nanos,
    /// `memory`: bytes held while the attempt runs. Default `[activity] memory`. Activities only.
    pub memory_bytes: u64,
    /// `[agent.steps.on_failure]`: what to run when this step fails for good.
    pub on_failure: Option<OnFailure>,
}

impl Step {
    pub fn is_activity(&self) -> bool {
        matches!(self.kind, StepKind::Llm { .. } | StepKind::Tool { .. })
    }
}

/// `on_failure = { max_runs = N, steps = [...] }`: when the step has failed (an activity after
/// its retry policy, a composite step when its rules say so), run `steps` (e.g. re-plan: an LLM
/// call, then the tool again); if they succeed the step counts as succeeded, if they fail they
/// run again, at most `max_runs` times in all, before the failure goes on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OnFailure {
    /// `max_runs`: default 1, at least 1.
    pub max_runs: u32,
    /// `[[...on_failure.steps]]`: at least one.
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StepKind {
    /// `kind = "llm"`, `group = "NAME"` (a provider group), `input_tokens`, `output_tokens`
    /// (count distributions), and the prompt's shape (see `LlmPrompt`).
    Llm {
        group: String,
        /// Index into `Scenario::provider_groups`, resolved by the parser.
        #[serde(skip)]
        group_index: usize,
        input_tokens: Dist,
        output_tokens: Dist,
        #[serde(flatten)]
        prompt: LlmPrompt,
    },
    /// `kind = "tool"`, `latency` (duration distribution), `failure_probability` in [0, 1],
    /// `price_per_call_usd` (default 0), `max_concurrent_calls` (default unlimited: calls
    /// beyond it wait for a free connection, holding their activity slot).
    Tool {
        latency: Dist,
        failure_probability: f64,
        price_per_call_usd: f64,
        max_concurrent_calls: Option<u32>,
    },
    /// `kind = "parallel"`: fan-out and join. Either `[[...branches]]` (each a table with an
    /// optional `name` and its `steps`), or `width` (a count distribution, drawn per turn) with
    /// the branch template in `steps`. `wait_for` (default all), `on_branch_failure`, and
    /// `child_workflow` (default false: each branch runs in its own child workflow).
    Parallel(Parallel),
    /// `kind = "repeat"`: `count` (a count distribution, drawn per run) times `steps`.
    Repeat { count: Dist, steps: Vec<Step> },
    /// `kind = "choice"`: one of `[[...options]]` (each `probability` and `steps`), drawn per
    /// run; the probabilities sum to 1.
    Choice { options: Vec<ChoiceOption> },
}

/// How an LLM step's prompt behaves.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LlmPrompt {
    /// `input_tokens_per_turn`: added to the input for every earlier turn of the conversation
    /// (input = drawn + this x (turn - 1)). Default 0.
    pub input_tokens_per_turn: u64,
    /// `carry_previous_output`: add the output tokens of this conversation's earlier successful
    /// calls of carrying steps to the input. Default false.
    pub carry_previous_output: bool,
    /// `cached_input_fraction`: share of input tokens read from the provider's prompt cache
    /// (billed at its cached-input price, and not prefilled). Default 0, in [0, 1].
    pub cached_input_fraction: f64,
    /// `first_chunk_tokens`: streaming. The next step starts when this many output tokens have
    /// arrived, while the call goes on; the enclosing sequence waits for both. Default none.
    pub first_chunk_tokens: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Parallel {
    /// Fixed branches, or (with `width`) exactly one: the template.
    pub branches: Vec<Branch>,
    /// `width`: how many copies of the template run (count distribution, drawn per run).
    pub width: Option<Dist>,
    /// `wait_for`: the join completes when this many branches have succeeded. Default all.
    pub wait_for: Option<u32>,
    /// `on_branch_failure`: "fail" (default: the step fails at once) or "continue" (the
    /// failed branch is dropped; the step fails only if no branch succeeded).
    pub on_branch_failure: BranchFailure,
    /// `child_workflow`: each branch is a child workflow of the response child (its own
    /// history, cache entry and workflow tasks). Default false.
    pub child_workflow: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Branch {
    pub name: String,
    pub steps: Vec<Step>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BranchFailure {
    Fail,
    Continue,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChoiceOption {
    pub probability: f64,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActivityDefaults {
    /// `start_to_close_timeout`: default "10m" (Temporal requires one to be set; this is ours).
    pub start_to_close_timeout: Nanos,
    /// `memory`: bytes per in-flight activity, default "4MiB" (modelling assumption).
    pub memory_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RetryPolicy {
    /// `initial_interval`: default "1s" (Temporal).
    pub initial_interval: Nanos,
    /// `backoff_coefficient`: default 2.0, at least 1.
    pub backoff_coefficient: f64,
    /// `maximum_interval`: default 100 x `initial_interval` (Temporal's rule: "100s" with the
    /// default initial interval), at least the initial interval.
    pub maximum_interval: Nanos,
    /// `maximum_attempts`: 0 = unlimited (Temporal default).
    pub maximum_attempts: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Temporal {
    /// `cache_size`: sticky workflow cache entries per worker, default 10_000 (Go SDK).
    pub cache_size: u32,
    /// `max_concurrent_workflow_tasks`: default 1000 (Go SDK).
    pub max_concurrent_workflow_tasks: u32,
    /// `max_concurrent_activities`: default 1000 (Go SDK).
    pub max_concurrent_activities: u32,
    /// `sticky_schedule_to_start_timeout`: default "5s" (Go SDK).
    pub sticky_schedule_to_start_timeout: Nanos,
    /// `workflow_task_timeout`: default "10s" (Temporal).
    pub workflow_task_timeout: Nanos,
    /// `workflow_task_cpu`: CPU per workflow task, default "1ms" (modelling assumption).
    pub workflow_task_cpu: Nanos,
    /// `replay_cpu_per_event`: CPU per history event replayed on a cache miss, default "50us".
    pub replay_cpu_per_event: Nanos,
    /// `history_fetch_base`: latency to fetch history on a miss, default "20ms".
    pub history_fetch_base: Nanos,
    /// `history_fetch_per_page`: extra latency per page of `history_page_size` events,
    /// default "10ms".
    pub history_fetch_per_page: Nanos,
    /// `history_page_size`: default 256 (Temporal).
    pub history_page_size: u32,
    /// `cached_workflow_memory`: bytes per cached workflow, default "64KiB".
    pub cached_workflow_memory_bytes: u64,
    /// `cached_memory_per_event`: bytes per history event of a cached workflow, default "1KiB".
    pub cached_memory_per_event_bytes: u64,
    /// `cached_memory_per_turn`: bytes of agent conversation state per completed turn of a
    /// cached parent workflow, default "0B".
    pub cached_memory_per_turn_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Instance {
    /// `vcpus`: default 1.
    pub vcpus: u32,
    /// `cpu_speed`: relative speed of one vCPU, default 1.0, in [0.01, 100]: a vCPU of a
    /// different machine generation or a throttled CPU. CPU work takes work / cpu_speed.
    pub cpu_speed: f64,
    /// `memory_limit`: default "512MiB" (Cloud Run default).
    pub memory_limit_bytes: u64,
    /// `runtime_memory`: the worker process without any cached workflow, default "64MiB".
    pub runtime_memory_bytes: u64,
    /// `leak_per_hour`: constant growth since (re)start, default "0B".
    pub leak_bytes_per_hour: u64,
    /// `[instance.gc]`: absent means no GC pressure.
    pub gc: Option<GcPressure>,
    /// `restart_delay`: from an OOM kill to the start of the cold start, default "1s".
    pub restart_delay: Nanos,
    /// `cold_start`: duration distribution, default uniform 10s..30s (Cloud Run, typical).
    pub cold_start: Dist,
    /// `startup_cpu`: CPU work when the worker starts (counts in utilisation), default "1s".
    pub startup_cpu: Nanos,
    /// `crash_loop_backoff`: extra delay that doubles with each crash within 10 minutes of the
    /// previous one, up to `crash_loop_backoff_max`; "0s" (default) turns it off.
    pub crash_loop_backoff: Nanos,
    /// `crash_loop_backoff_max`: default "5m".
    pub crash_loop_backoff_max: Nanos,
    /// `shutdown_grace`: time a scaled-in instance gets to finish, default "10s" (Cloud Run).
    pub shutdown_grace: Nanos,
}

/// Go-like GC pressure: CPU work is multiplied by `1 + max_overhead * x^2` where
/// `x = max(0, (memory / limit - threshold) / (1 - threshold))`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GcPressure {
    /// `threshold`: fraction of the limit where overhead starts, default 0.5, in [0, 1).
    pub threshold: f64,
    /// `max_overhead`: extra CPU fraction at the limit, default 1.0 (doubles CPU work).
    pub max_overhead: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Autoscaler {
    /// `kind = "fixed"`, `instances` (default 1).
    Fixed { instances: u32 },
    /// `kind = "cloud_run"` and the keys of `CloudRunAutoscaler`.
    CloudRun(CloudRunAutoscaler),
    /// `kind = "hpa"` and the keys of `HpaAutoscaler`.
    Hpa(HpaAutoscaler),
    /// `kind = "keda"` and the keys of `KedaAutoscaler`.
    Keda(KedaAutoscaler),
}

/// `[serving]`. Absent: Temporal workers poll their task queues (`mode = "poll"`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Serving {
    /// `mode = "request"`: the fleet serves requests; `None` for `mode = "poll"` (the default).
    pub request: Option<RequestServing>,
}

impl Serving {
    pub fn is_request(&self) -> bool {
        self.request.is_some()
    }
}

/// `[serving] mode = "request"`: each session holds one request slot on one instance for its
/// whole length; the agent's code runs in the request, on that instance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RequestServing {
    /// `session`: what one request is, default "turn".
    pub session: SessionScope,
    /// `max_concurrency`: request slots per instance, default 80 (Cloud Run's default,
    /// `containerConcurrency`), in [1, 1000] (Cloud Run's maximum). With the `cloud_run`
    /// autoscaler this is also its concurrency term's `max_concurrency`.
    pub max_concurrency: u32,
    /// `max_wait`: how long a request waits for a free slot before it is rejected (a 429 or
    /// 503 the customer sees), default "10s" (modelling assumption); "0s" rejects at once.
    pub max_wait: Nanos,
}

/// `[serving] session`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionScope {
    /// Each customer message is one request, from its arrival to the reply.
    Turn,
    /// The whole conversation is one session (a voice call, a WebSocket): from its first
    /// message to its end.
    Conversation,
}

impl Autoscaler {
    /// Instances at t = 0 (they start without a cold start).
    pub fn initial_instances(&self) -> u32 {
        match self {
            Autoscaler::Fixed { instances } => *instances,
            Autoscaler::CloudRun(c) => c.initial_instances,
            Autoscaler::Hpa(h) => h.initial_replicas,
            Autoscaler::Keda(k) => k.initial_replicas,
        }
    }

    /// The dotted key that bounds the instance count, and its value.
    pub fn max_instances_key(&self) -> (&'static str, u32) {
        match self {
            Autoscaler::Fixed { instances } => ("autoscaler.instances", *instances),
            Autoscaler::CloudRun(c) => ("autoscaler.max_instances", c.max_instances),
            Autoscaler::Hpa(h) => ("autoscaler.max_replicas", h.max_replicas),
            Autoscaler::Keda(k) => ("autoscaler.max_replica_count", k.max_replica_count),
        }
    }

    /// The instance count a deploy starts, given `total` counted instances before it: the
    /// fixed count, or `total` within the autoscaler's bounds.
    pub fn deploy_count(&self, total: u32) -> u32 {
        match self {
            Autoscaler::Fixed { instances } => *instances,
            Autoscaler::CloudRun(c) => total.clamp(c.min_instances, c.max_instances),
            Autoscaler::Hpa(h) => total.clamp(h.min_replicas, h.max_replicas),
            Autoscaler::Keda(k) => total.clamp(k.min_replica_count, k.max_replica_count),
        }
    }

    /// The delay from the start (or from a switch away from `fixed`) to the first evaluation;
    /// `None` for `fixed`, which never evaluates.
    pub fn first_evaluation_in(&self) -> Option<Nanos> {
        match self {
            Autoscaler::Fixed { .. } => None,
            Autoscaler::CloudRun(c) => Some(c.evaluation_interval),
            Autoscaler::Hpa(h) => Some(h.control.sync_period),
            Autoscaler::Keda(k) => Some(k.polling_interval.min(k.control.sync_period)),
        }
    }

    /// The shortest time between two evaluations, for the up-front event estimate.
    pub fn shortest_evaluation_interval(&self) -> Option<Nanos> {
        self.first_evaluation_in()
    }

    /// The CPU utilisation (0 to 1) the autoscaler aims at, if it scales on CPU.
    pub fn cpu_target(&self) -> Option<f64> {
        match self {
            Autoscaler::Fixed { .. } => None,
            Autoscaler::CloudRun(c) => Some(c.target_cpu_utilization),
            Autoscaler::Hpa(h) => match h.metric {
                HpaMetric::Cpu { target_utilization } => Some(target_utilization),
                HpaMetric::Memory { .. }
                | HpaMetric::Backlog { .. }
                | HpaMetric::Concurrency { .. } => None,
            },
            Autoscaler::Keda(_) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CloudRunAutoscaler {
    /// `min_instances`: default 0.
    pub min_instances: u32,
    /// `max_instances`: default 100.
    pub max_instances: u32,
    /// `initial_instances`: at t = 0, default max(min_instances, 1), clamped to [min, max].
    pub initial_instances: u32,
    /// `target_cpu_utilization`: default 0.6, in (0, 1].
    pub target_cpu_utilization: f64,
    /// `max_concurrency`: HTTP requests per instance, default 80.
    pub max_concurrency: u32,
    /// `target_concurrency_utilization`: default 0.6, in (0, 1].
    pub target_concurrency_utilization: f64,
    /// `window`: CPU averaging window, default "60s".
    pub window: Nanos,
    /// `evaluation_interval`: default "2s"; must divide `window`.
    pub evaluation_interval: Nanos,
    /// `scale_in_stabilization`: scale in to the highest desired count of this trailing
    /// window, default "15m".
    pub scale_in_stabilization: Nanos,
}

/// Kubernetes' Horizontal Pod Autoscaler (autoscaling/v2) on one metric. Defaults are the
/// Kubernetes documentation's ("Horizontal Pod Autoscaling").
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HpaAutoscaler {
    /// `min_replicas`: default 1, >= 1 (scaling to zero needs KEDA).
    pub min_replicas: u32,
    /// `max_replicas`: required, >= `min_replicas`.
    pub max_replicas: u32,
    /// `initial_replicas`: at t = 0, default `min_replicas`, in [min, max].
    pub initial_replicas: u32,
    /// `metric` and its target.
    pub metric: HpaMetric,
    /// `tolerance`, `sync_period`, `[autoscaler.behavior]`.
    pub control: HpaControl,
}

/// The metric an HPA scales on (`metric = "cpu" | "memory" | "backlog"`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "metric", rename_all = "snake_case")]
pub enum HpaMetric {
    /// Resource utilisation of ready pods: busy vCPUs / vCPUs; `target_utilization` default
    /// 0.8 (kubectl autoscale's default), in (0, 1].
    Cpu { target_utilization: f64 },
    /// Resource utilisation: memory / memory limit; `target_utilization` default 0.8, in (0, 1].
    Memory { target_utilization: f64 },
    /// An external metric, the Temporal task-queue backlog, as an AverageValue target:
    /// `queue_types` default "workflow", `target_queue_size` per replica default 5.
    Backlog {
        queue_types: QueueTypes,
        target_queue_size: f64,
    },
    /// Request mode only: requests in flight or waiting for a slot, as an AverageValue target
    /// per replica (`target_average_value`, required).
    Concurrency { target_average_value: f64 },
}

/// Which Temporal task queues a backlog metric adds up (`queue_types = "workflow"`,
/// `"activity"` or `"workflow,activity"`, as KEDA's Temporal scaler's `queueTypes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct QueueTypes {
    pub workflow: bool,
    pub activity: bool,
}

impl QueueTypes {
    /// The TOML value: "workflow", "activity" or "workflow,activity".
    pub fn as_str(&self) -> &'static str {
        match (self.workflow, self.activity) {
            (true, true) => "workflow,activity",
            (false, true) => "activity",
            _ => "workflow",
        }
    }

    /// The backlog these queue types add up.
    pub fn backlog(&self, workflow_tasks: u64, activities: u64) -> u64 {
        let mut total = 0;
        if self.workflow {
            total += workflow_tasks;
        }
        if self.activity {
            total += activities;
        }
        total
    }
}

/// The HPA controller's settings, shared by `hpa` and the HPA that `keda` drives.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HpaControl {
    /// `tolerance`: no scaling while |current metric / target - 1| <= this, default 0.1, in
    /// [0, 1).
    pub tolerance: f64,
    /// `sync_period`: how often the controller evaluates, default "15s".
    pub sync_period: Nanos,
    /// `[autoscaler.behavior]`: `scale_up` and `scale_down` rules.
    pub scale_up: HpaScalingRules,
    pub scale_down: HpaScalingRules,
}

/// `[autoscaler.behavior.scale_up]` / `[autoscaler.behavior.scale_down]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HpaScalingRules {
    /// `stabilization_window`: scale-up takes the lowest, scale-down the highest recommendation
    /// of this trailing window; default "0s" up, "5m" down; at most "1h".
    pub stabilization_window: Nanos,
    /// `select_policy`: "max" (default: the policy allowing the biggest change), "min" or
    /// "disabled" (no scaling in this direction).
    pub select_policy: SelectPolicy,
    /// `policies`: default up [4 pods per 15 s, 100% per 15 s], down [100% per 15 s].
    pub policies: Vec<HpaPolicy>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectPolicy {
    Max,
    Min,
    Disabled,
}

/// `{ kind = "pods" | "percent", value = N, period = "15s" }`: at most `value` pods (or percent
/// of the count at the start of the period) added or removed per trailing `period`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct HpaPolicy {
    pub kind: PolicyKind,
    /// >= 1.
    pub value: u32,
    /// In (0, 30 min].
    pub period: Nanos,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    Pods,
    Percent,
}

impl HpaControl {
    /// Kubernetes' defaults: tolerance 0.1, 15 s sync period, scale up at once by the larger of
    /// 4 pods or 100% per 15 s, scale down by up to 100% per 15 s after a 5-minute window.
    pub fn kubernetes_defaults() -> HpaControl {
        let period = 15 * NANOS_PER_SECOND_U64;
        HpaControl {
            tolerance: 0.1,
            sync_period: period,
            scale_up: HpaScalingRules {
                stabilization_window: 0,
                select_policy: SelectPolicy::Max,
                policies: vec![
                    HpaPolicy {
                        kind: PolicyKind::Pods,
                        value: 4,
                        period,
                    },
                    HpaPolicy {
                        kind: PolicyKind::Percent,
                        value: 100,
                        period,
                    },
                ],
            },
            scale_down: HpaScalingRules {
                stabilization_window: 300 * NANOS_PER_SECOND_U64,
                select_policy: SelectPolicy::Max,
                policies: vec![HpaPolicy {
                    kind: PolicyKind::Percent,
                    value: 100,
                    period,
                }],
            },
        }
    }
}

const NANOS_PER_SECOND_U64: Nanos = 1_000_000_000;

/// KEDA's ScaledObject with the Temporal scaler: KEDA itself scales between zero and one
/// (activation, cooldown) and drives an HPA for one and more replicas on the backlog as an
/// AverageValue metric. Defaults are KEDA's ("Scaling Deployments", "Temporal" scaler).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KedaAutoscaler {
    /// `min_replica_count`: default 0.
    pub min_replica_count: u32,
    /// `max_replica_count`: default 100, >= 1 and >= `min_replica_count`.
    pub max_replica_count: u32,
    /// `initial_replicas`: at t = 0, default max(min_replica_count, 1), in [min, max].
    pub initial_replicas: u32,
    /// `polling_interval`: how often KEDA checks activation, default "30s".
    pub polling_interval: Nanos,
    /// `cooldown_period`: inactive this long before scaling to `min_replica_count` when that is
    /// 0, default "5m".
    pub cooldown_period: Nanos,
    /// `queue_types`: default "workflow".
    pub queue_types: QueueTypes,
    /// `target_queue_size`: backlog per replica, default 5, > 0.
    pub target_queue_size: f64,
    /// `activation_target_queue_size`: active while the backlog exceeds this, default 0, >= 0.
    pub activation_target_queue_size: f64,
    /// The HPA's `tolerance`, `sync_period`, `[autoscaler.behavior]`.
    pub control: HpaControl,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Provider {
    /// The key of `[providers.NAME]`.
    pub name: String,
    /// `ttft`: time to first token, duration distribution (lognormal by median and p99 is the
    /// usual choice). Required.
    pub ttft: Dist,
    /// `output_tokens_per_s`: required, > 0.
    pub output_tokens_per_s: f64,
    /// `error_probability`: 5xx per call, default 0.0. An error is returned after the TTFT.
    pub error_probability: f64,
    /// `timeout`: per attempt, default "60s".
    pub timeout: Nanos,
    /// `input_price_per_million_usd`: default 0.
    pub input_price_per_million_usd: f64,
    /// `output_price_per_million_usd`: default 0.
    pub output_price_per_million_usd: f64,
    /// `cached_input_price_per_million_usd`: input tokens read from the prompt cache, default
    /// the input price.
    pub cached_input_price_per_million_usd: f64,
    /// `ttft_timeout`: an attempt whose first token has not come by then fails over, default
    /// none (only `timeout` applies).
    pub ttft_timeout: Option<Nanos>,
    /// `prefill_tokens_per_s`: TTFT grows by the uncached input tokens / this rate, default
    /// none (TTFT does not depend on the input).
    pub prefill_tokens_per_s: Option<f64>,
    /// `requests_per_minute`: a quota on attempts admitted per minute, as a token bucket that
    /// holds one minute's quota, starts full and refills continuously at quota / 60 s; an
    /// attempt that finds it empty gets a 429 at once and fails over. Default none (no
    /// quota); > 0, at most 1e9.
    pub requests_per_minute: Option<f64>,
    /// `tokens_per_minute`: a quota on tokens per minute, a token bucket like
    /// `requests_per_minute`'s; an admitted attempt takes its input tokens (cached ones
    /// included) plus its output tokens at admission. Default none; > 0, at most 1e12.
    pub tokens_per_minute: Option<f64>,
    /// `max_concurrent_requests`: attempts in flight at the provider at once; one more gets a
    /// 429 at once. Default none (no limit); 1 to 1,000,000.
    pub max_concurrent_requests: Option<u32>,
}

impl Provider {
    /// Whether any quota (requests, tokens, concurrency) limits the provider.
    pub fn has_quota(&self) -> bool {
        self.requests_per_minute.is_some()
            || self.tokens_per_minute.is_some()
            || self.max_concurrent_requests.is_some()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProviderGroup {
    pub name: String,
    /// Indexes into `Scenario::providers`, in failover order. At least one.
    pub providers: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CostPrices {
    /// `vcpu_second_usd`: default 0.000018 (Cloud Run instance-based, Tier 1).
    pub vcpu_second_usd: f64,
    /// `gib_second_usd`: default 0.000002 (Cloud Run instance-based, Tier 1).
    pub gib_second_usd: f64,
}

/// `[[slo]] name = "...", metric = "...", max = X`: holds when the metric's value <= max.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Slo {
    pub name: String,
    /// One of `registry::slo_metrics()`.
    pub metric: &'static crate::metrics::registry::Metric,
    pub max: f64,
    /// `workload`: bound this workload's value of the metric instead of the fleet's (only the
    /// per-conversation metrics: response latency, unanswered, over budget). Default none.
    pub workload: Option<String>,
}

/// `[[timeline]] at = "DURATION", label = "...", ...` plus the keys of one action.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Intervention {
    pub at: Nanos,
    /// `label`: shown on plots and in events.csv; default derived from the action.
    pub label: String,
    pub action: Action,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// `set = { "dotted.key" = value, ... }`, optional `deploy = "rolling" | "at_once"`.
    Set {
        assignments: Vec<(String, String)>,
        deploy: Option<Deploy>,
        /// The whole scenario after this and every earlier `set` (its own timeline empty).
        #[serde(skip)]
        effective: Box<Scenario>,
    },
    /// `incident = "outage" | "degradation" | "rate_limit"`, `provider = "NAME"`,
    /// `duration = "..."`, `factor = X` (degradation only, > 0: latency multiplier).
    ProviderIncident {
        provider: usize,
        incident: IncidentKind,
        duration: Nanos,
        factor: f64,
    },
    /// `deploy = "rolling" | "at_once"` alone: a redeploy with no setting changed.
    Deploy { deploy: Deploy },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Deploy {
    Rolling,
    AtOnce,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    Outage,
    Degradation,
    RateLimit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_to_u64_is_round_then_cast_and_seconds_to_nanos_clamps_it() {
        use rand::Rng as _;
        let edges = [
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            0.499_999_999_999_999_94,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9_007_199_254_740_993.0,
            1.8e19,
            1.9e19,
            u64::MAX as f64,
            -0.5,
            -0.7,
            -3.5,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            f64::MAX,
        ];
        let mut rng = crate::engine::rng::from_seed(5);
        let random = (0..100_000).map(|i| {
            let magnitude = 2f64.powi(rng.random_range(-4..70));
            let value = rng.random::<f64>() * magnitude;
            // Exact halves too.
            if i % 4 == 0 {
                (value * 2.0).trunc() / 2.0
            } else {
                value
            }
        });
        for value in edges.into_iter().chain(random) {
            assert_eq!(round_to_u64(value), value.round() as u64, "{value:e}");
            // What seconds_to_nanos was: round, then NaN and non-positive to 0, then clamp.
            let nanos = (value * NANOS_PER_SECOND).round();
            let clamped = if nanos.is_nan() || nanos <= 0.0 {
                0
            } else {
                (nanos as Nanos).min(MAX_DURATION_NANOS)
            };
            assert_eq!(seconds_to_nanos(value), clamped, "{value:e}");
        }
    }
}
