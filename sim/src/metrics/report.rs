//! What a run reports: the boundary types written to `summary.json`, `timeseries.csv` and
//! `events.csv`. Filled by the model's collector, written by `output`.

pub use super::rows::Rows;
use serde::Serialize;
use std::collections::BTreeMap;

/// `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub horizon_s: f64,
    pub warmup_s: f64,
    pub version: String,
    pub events_processed: u64,
    pub conversations: ConversationCounts,
    pub messages: MessageCounts,
    pub response_latency_s: LatencyStats,
    pub activity_schedule_to_start_s: LatencyStats,
    pub workflow_task_schedule_to_start_s: LatencyStats,
    /// Per provider name, every call attempt (successful or not) that returned.
    pub llm_call_latency_s: BTreeMap<String, LatencyStats>,
    pub llm_calls: BTreeMap<String, LlmCallCounts>,
    pub activities: ActivityCounts,
    pub cache: CacheCounts,
    pub instances: InstanceStats,
    /// Request mode (`[serving] mode = "request"`) only: requests, slots and rejections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<RequestSummary>,
    pub instance_seconds: f64,
    pub crashes: CrashCounts,
    pub memory_peak_bytes: u64,
    pub cost_usd: CostUsd,
    /// What the agents' programs did: turns, budgets, failures, re-plans, branches.
    pub agent: AgentCounts,
    /// Per step name (every step of the program, nested ones included; a named workload's
    /// steps are `<workload>.<step>`).
    pub steps: BTreeMap<String, StepStats>,
    /// Per named workload (`[[workloads]]`), in the scenario's order; absent for a scenario
    /// with one unnamed workload (the fleet's figures are its figures).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub workloads: Vec<WorkloadSummary>,
    pub slo: Vec<SloResult>,
    pub checks: Checks,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ConversationCounts {
    pub started: u64,
    pub completed: u64,
    pub open_at_end: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MessageCounts {
    pub received: u64,
    pub answered: u64,
    pub unanswered: u64,
    pub in_flight_at_end: u64,
}

/// Seconds. Percentiles from an HDR histogram (3 significant digits); `mean` is exact.
/// All zero when `count` is 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LatencyStats {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LlmCallCounts {
    pub calls: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub rate_limited: u64,
    pub input_tokens: u64,
    /// Of `input_tokens`, those read from the provider's prompt cache.
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    /// 429s from the provider's own quotas (`rate_limited` counts the timeline's rate-limit
    /// incidents); present only for a provider with a quota at some time in the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaCounts>,
}

/// Attempts a provider's quotas refused with a 429, by the quota that refused them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct QuotaCounts {
    pub rejected: u64,
    pub rejected_requests_per_minute: u64,
    pub rejected_tokens_per_minute: u64,
    pub rejected_concurrency: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ActivityCounts {
    pub scheduled: u64,
    pub attempts_started: u64,
    pub attempts_completed: u64,
    pub attempts_failed: u64,
    pub attempts_timed_out: u64,
    pub attempts_in_flight_at_end: u64,
    pub retries: u64,
    /// Final outcomes: succeeded, failed after the retry policy, or dropped because their
    /// workflow had completed (abandoned branches).
    pub completed: u64,
    pub failed: u64,
    pub orphaned: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AgentCounts {
    /// Replies the agent finished (answered, or failed for good).
    pub turns: u64,
    /// `[conversation] response_budget` in seconds, when set.
    pub response_budget_s: Option<f64>,
    /// Answered turns (after warm-up) within the budget, and their share of answered turns
    /// (null without a budget or without answered turns).
    pub turns_within_budget: u64,
    pub response_within_budget_fraction: Option<f64>,
    /// LLM provider calls (attempts at any provider) per finished turn.
    pub llm_calls_per_turn: f64,
    pub tool_calls: u64,
    /// Completed conversations with at least one failed (or timed out) tool call, and with at
    /// least one on-failure fallback run; and their shares of completed conversations.
    pub conversations_with_tool_failure: u64,
    pub conversations_with_replan: u64,
    pub tool_failure_conversation_fraction: f64,
    pub replan_conversation_fraction: f64,
    pub fallbacks_run: u64,
    pub branches: BranchCounts,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BranchCounts {
    pub started: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Still running when their join had decided (first k, or a failure).
    pub abandoned: u64,
    pub in_flight_at_end: u64,
}

/// One workload's share of the run: its customers, its replies, its tokens and prices (the sum
/// of its steps'), and its share of the fleet's CPU work.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WorkloadSummary {
    pub name: String,
    pub conversations: ConversationCounts,
    /// Received, answered and unanswered; `in_flight_at_end` is the rest.
    pub messages: MessageCounts,
    pub response_latency_s: LatencyStats,
    pub response_budget_s: Option<f64>,
    pub response_within_budget_fraction: Option<f64>,
    pub tool_failure_conversation_fraction: f64,
    pub replan_conversation_fraction: f64,
    pub llm_calls: u64,
    pub tool_calls: u64,
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    /// LLM and tool prices of its steps (compute is the fleet's: see `cpu_share`).
    pub cost_usd: WorkloadCost,
    /// CPU work of its workflow tasks and activities (seconds at speed 1, before GC
    /// pressure), and its share of all workloads' CPU work.
    pub cpu_s: f64,
    pub cpu_share: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WorkloadCost {
    pub llm: f64,
    pub tools: f64,
}

/// One step's figures. Latency from the step's start (first scheduling, for an activity) to its
/// success, over steps started after warm-up; a step with `on_failure` includes its fallbacks.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StepStats {
    pub latency_s: LatencyStats,
    pub completed: u64,
    pub failed: u64,
    pub llm_calls: u64,
    pub tool_calls: u64,
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CacheCounts {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub replayed_events: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct InstanceStats {
    /// Time-average of instances running or starting.
    pub mean: f64,
    pub min: u64,
    pub max: u64,
}

/// Request mode: what happened to the requests (a turn, or a whole conversation, each).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RequestSummary {
    /// `turn` or `conversation`.
    pub session: String,
    pub max_concurrency: u32,
    /// Requests that reached the service; each was admitted, rejected, withdrawn by its
    /// customer while it waited, or is still waiting at the end.
    pub requests: u64,
    pub admitted: u64,
    /// Waited `max_wait` without a free slot: a 429/503 the customer saw.
    pub rejected: u64,
    pub withdrawn: u64,
    pub waiting_at_end: u64,
    /// Admitted sessions lost with their instance (OOM kill, end of a drain's grace period).
    pub dropped: u64,
    /// Rejected / requests, over requests that came after warm-up.
    pub rejected_fraction: f64,
    /// Wait for a slot of admitted requests (after warm-up).
    pub wait_s: LatencyStats,
    /// Time-average and peak of the sessions held (concurrency across the fleet).
    pub concurrency_mean: f64,
    pub concurrency_max: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CrashCounts {
    pub oom: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CostUsd {
    pub compute: f64,
    pub llm: f64,
    /// Tool calls at their `price_per_call_usd`.
    pub tools: f64,
    pub total: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SloResult {
    pub name: String,
    pub metric: String,
    pub ok: bool,
    pub value: f64,
    pub limit: f64,
    /// Why the SLO failed although its value is within the limit: the run gave the metric
    /// nothing to measure (no answered message, no message at all). Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// End-of-run checker results; a failed checker makes the run an error, so these are `true`
/// in every written summary. Recorded so a reader knows they ran.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Checks {
    pub conservation: bool,
    pub littles_law_messages: LittleCheck,
    pub littles_law_conversations: LittleCheck,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LittleCheck {
    /// Time-average number in system.
    pub l: f64,
    /// Arrival rate per second.
    pub lambda_per_s: f64,
    /// Mean time in system, seconds (in-flight items counted up to the horizon).
    pub w_s: f64,
}

/// One `timeseries.csv` row: the state at `t_s` and what happened in the interval ending there.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimeseriesRow {
    pub t_s: f64,
    pub instances_running: u32,
    pub instances_starting: u32,
    pub instances_desired: u32,
    /// Mean over the interval of busy vCPUs / vCPUs of running instances.
    pub cpu_utilization: f64,
    pub memory_bytes_max: u64,
    pub memory_bytes_mean: u64,
    pub memory_limit_bytes: u64,
    pub cache_entries: u64,
    pub open_conversations: u64,
    pub workflow_task_backlog: u64,
    pub activity_backlog: u64,
    pub activities_running: u64,
    pub messages_received: u64,
    pub messages_unanswered: u64,
    pub response_latency_p50_s: Option<f64>,
    pub response_latency_p95_s: Option<f64>,
    pub activity_schedule_to_start_p95_s: Option<f64>,
    pub crashes: u64,
    pub cache_misses: u64,
    /// Request mode only (`Timeseries::requests`): sessions held and requests waiting at
    /// `t_s`, and requests rejected in the interval.
    pub requests_in_flight: u64,
    pub requests_waiting: u64,
    pub requests_rejected: u64,
    /// Per provider, in `Timeseries::providers` order.
    pub llm_latency_p95_s: Vec<Option<f64>>,
    /// Per provider: its successful calls started in the interval, which `llm_latency_p95_s`
    /// is the p95 of.
    pub llm_calls: Vec<u64>,
    /// Per provider: input + output tokens of successful calls started in the interval, per
    /// minute.
    pub llm_tokens_per_min: Vec<f64>,
    /// Per provider with a quota, in `Timeseries::quotas` order.
    pub quota: Vec<QuotaSample>,
}

/// One provider's quotas over one interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QuotaSample {
    /// Attempts its quotas refused (429s).
    pub rejected: u64,
    /// Attempts admitted / what the requests-per-minute quota allowed over the interval
    /// (`None` while no such quota is in force). Above 1 when the bucket's saved-up minute is
    /// spent.
    pub requests_used: Option<f64>,
    /// The same for tokens and the tokens-per-minute quota.
    pub tokens_used: Option<f64>,
    /// The most attempts in flight at once (`None` without a concurrency limit).
    pub in_flight_max: Option<u32>,
}

/// The quota columns of one provider: which quotas it has at some time in the run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct QuotaColumns {
    pub provider: String,
    pub requests: bool,
    pub tokens: bool,
    pub concurrency: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeseries {
    pub providers: Vec<String>,
    /// Request mode: the rows carry the request columns.
    pub requests: bool,
    /// Providers with a quota at some time in the run (none: no quota columns).
    pub quotas: Vec<QuotaColumns>,
    /// Packed (`metrics::rows`): iterate to read them.
    pub rows: Rows,
    /// The autoscaler's CPU utilisation target from each time on: one step at t = 0 and one
    /// after every timeline `set` (`None` while the autoscaler does not scale on CPU).
    pub cpu_target_steps: Vec<CpuTargetStep>,
}

/// The CPU utilisation target (0 to 1) the autoscaler had from `t_s` on.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CpuTargetStep {
    pub t_s: f64,
    pub cpu_utilization: Option<f64>,
}

/// One `events.csv` row.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRecord {
    pub t_s: f64,
    pub kind: EventKind,
    /// Instance id, when the event concerns one.
    pub instance: Option<u32>,
    pub detail: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    OomCrash,
    InstanceReady,
    InstanceStopped,
    ScaleOut,
    ScaleIn,
    Deploy,
    Intervention,
    ProviderIncidentStart,
    ProviderIncidentEnd,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::OomCrash => "oom_crash",
            EventKind::InstanceReady => "instance_ready",
            EventKind::InstanceStopped => "instance_stopped",
            EventKind::ScaleOut => "scale_out",
            EventKind::ScaleIn => "scale_in",
            EventKind::Deploy => "deploy",
            EventKind::Intervention => "intervention",
            EventKind::ProviderIncidentStart => "provider_incident_start",
            EventKind::ProviderIncidentEnd => "provider_incident_end",
        }
    }
}

/// Everything one run produces.
#[derive(Clone, Debug)]
pub struct RunOutput {
    pub summary: Summary,
    pub timeseries: Timeseries,
    pub events: Vec<EventRecord>,
}
