//! The JSON Schema of a scenario file, for editors (`sim schema`, committed as
//! `schema/scenario.schema.json`). The reader (`resolve.rs`, `agent.rs`, `timeline.rs`) reads
//! the TOML tree key by key so every value keeps its origin; these types describe the same
//! file shape declaratively so `schemars` can derive the schema from them. They are never
//! built: the reader stays the authority, and `sim/tests/schema.rs` holds the two together
//! (every shipped scenario, template and fixture validates; a misspelt key does not).
//!
//! Units are strings with patterns that accept what `units.rs` parses; lists of names the
//! reader already declares (SLO metrics, deploy and incident kinds) come from its constants.

#![allow(
    dead_code,
    reason = "the types exist to be described by schemars, never constructed"
)]

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// The schema as pretty-printed JSON with a final newline: what `sim schema` prints and
/// `schema/scenario.schema.json` holds.
pub fn schema_json() -> String {
    // Draft 7: the draft TOML language servers (taplo) and most editors understand.
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<ScenarioFile>();
    let mut value = schema.to_value();
    without_null(&mut value);
    let mut text = serde_json::to_string_pretty(&value).expect("a schema is JSON");
    text.push('\n');
    text
}

/// TOML has no null: an optional key is one that may be absent, not one that may be null, so
/// the `null` alternatives schemars gives every `Option` are removed (`"type": ["number",
/// "null"]` becomes `"type": "number"`, `"anyOf": [{"$ref": ...}, {"type": "null"}]` becomes
/// the `$ref`), as are the Rust integer formats (`uint64`), which say nothing to an editor.
fn without_null(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types.remove(0);
                    map.insert("type".into(), only);
                }
            }
            if let Some(Value::Array(alternatives)) = map.get_mut("anyOf") {
                alternatives.retain(|a| a.get("type").is_none_or(|t| t != "null"));
                if alternatives.len() == 1 {
                    let Some(Value::Object(only)) = alternatives.pop() else {
                        unreachable!("schemars writes schemas as objects")
                    };
                    map.remove("anyOf");
                    map.extend(only);
                }
            }
            map.remove("format");
            map.values_mut().for_each(without_null);
        }
        Value::Array(items) => items.iter_mut().for_each(without_null),
        _ => {}
    }
}

/// A number followed by a unit, as in `units::parse_duration` (several parts allowed).
const NUMBER: &str = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)";

fn duration_pattern() -> String {
    format!(r"^\s*(?:{NUMBER}\s*(?:ns|us|µs|ms|s|m|h|d)\s*)+$")
}

fn size_pattern() -> String {
    format!(r"^\s*{NUMBER}\s*(?:B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)\s*$")
}

fn rate_pattern() -> String {
    format!(r"^\s*{NUMBER}\s*/\s*(?:s|m|h|d)\s*$")
}

/// `"250ms"`, `"30s"`, `"1h30m"`.
struct Duration;

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": duration_pattern(),
            "description": "A duration: a number and a unit (ns, us, ms, s, m, h, d), e.g. \"250ms\", \"30s\", \"1h30m\"; at most \"10000d\".",
            "examples": ["30s", "250ms", "1h30m"]
        })
    }
}

/// `"512MiB"`, `"2GB"`.
struct Size;

impl JsonSchema for Size {
    fn schema_name() -> Cow<'static, str> {
        "Size".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": size_pattern(),
            "description": "A size: a number and a unit (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB), e.g. \"512MiB\"; at most \"1TiB\".",
            "examples": ["512MiB", "2GiB"]
        })
    }
}

/// `"120/h"`.
struct Rate;

impl JsonSchema for Rate {
    fn schema_name() -> Cow<'static, str> {
        "Rate".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": rate_pattern(),
            "description": "An arrival rate: a number, / and a unit (s, m, h, d), e.g. \"0.5/s\", \"30/m\", \"120/h\", \"2000/d\".",
            "examples": ["0.5/s", "30/m", "120/h", "2000/d"]
        })
    }
}

/// One of the names of `registry::slo_metrics()`.
struct MetricName;

impl JsonSchema for MetricName {
    fn schema_name() -> Cow<'static, str> {
        "SloMetric".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = crate::metrics::registry::slo_metrics()
            .map(|m| m.name)
            .collect();
        json_schema!({ "type": "string", "enum": names })
    }
}

/// One of the reader's `DEPLOYS`.
struct DeployKind;

impl JsonSchema for DeployKind {
    fn schema_name() -> Cow<'static, str> {
        "Deploy".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "enum": super::timeline::DEPLOYS })
    }
}

/// One of the reader's `INCIDENTS`.
struct IncidentKind;

impl JsonSchema for IncidentKind {
    fn schema_name() -> Cow<'static, str> {
        "Incident".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "enum": super::timeline::INCIDENTS })
    }
}

/// Any TOML value (a timeline `set` or a grid value is checked when it is applied).
struct AnyValue;

impl JsonSchema for AnyValue {
    fn schema_name() -> Cow<'static, str> {
        "AnyValue".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!(true)
    }
}

/// A sim scenario file (TOML). See docs/scenario-reference.md.
#[derive(JsonSchema)]
#[schemars(title = "sim scenario", deny_unknown_fields)]
struct ScenarioFile {
    /// Names the output folder results/<name>/; default: the file name without .toml.
    name: Option<String>,
    description: Option<String>,
    /// The master seed (sim run --seed replaces it).
    seed: Option<u64>,
    run: Option<Run>,
    /// Required unless the scenario has [[workloads]].
    traffic: Option<Traffic>,
    conversation: Option<Conversation>,
    /// Required unless the scenario has [[workloads]].
    agent: Option<Agent>,
    workloads: Option<Vec<Workload>>,
    activity: Option<Activity>,
    retry: Option<Retry>,
    temporal: Option<Temporal>,
    instance: Option<Instance>,
    autoscaler: Option<Autoscaler>,
    serving: Option<Serving>,
    /// LLM provider endpoints by name.
    providers: Option<BTreeMap<String, Provider>>,
    /// Ordered failover lists of provider names.
    provider_groups: Option<BTreeMap<String, Vec<String>>>,
    cost: Option<Cost>,
    slo: Option<Vec<Slo>>,
    timeline: Option<Vec<TimelineEntry>>,
    sweep: Option<Sweep>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Run {
    horizon: Option<Duration>,
    warmup: Option<Duration>,
    max_events: Option<u64>,
    sample_interval: Option<Duration>,
    max_open_conversations: Option<u64>,
    max_conversations: Option<u64>,
    max_instances: Option<u64>,
    max_timeseries_rows: Option<u64>,
}

/// Conversations arrive as a Poisson process whose rate follows a profile.
#[derive(JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum Traffic {
    Constant {
        multiplier: Option<f64>,
        /// Conversations per second, minute, hour or day ("120/h"); or rate_per_s.
        rate: Option<Rate>,
        /// Conversations per second; or rate.
        rate_per_s: Option<f64>,
    },
    Piecewise {
        multiplier: Option<f64>,
        points: Vec<RatePoint>,
    },
    Diurnal {
        multiplier: Option<f64>,
        /// The daily mean ("5000/d"); or mean_rate_per_s.
        mean_rate: Option<Rate>,
        mean_rate_per_s: Option<f64>,
        peak_to_trough: f64,
        peak_hour: f64,
    },
    Trace {
        multiplier: Option<f64>,
        /// A one-column CSV of arrival times, relative to the scenario file.
        csv: String,
    },
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct RatePoint {
    at: Duration,
    rate: Option<Rate>,
    rate_per_s: Option<f64>,
}

/// A random duration: parameters are duration strings.
#[derive(JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum DurationDist {
    Constant { value: Duration },
    Exponential { mean: Duration },
    Lognormal { median: Duration, p99: Duration },
    Uniform { min: Duration, max: Duration },
    Empirical { csv: String },
}

/// A random count: parameters are plain numbers.
#[derive(JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum CountDist {
    Constant { value: f64 },
    Exponential { mean: f64 },
    Lognormal { median: f64, p99: f64 },
    Uniform { min: f64, max: f64 },
    Geometric { mean: f64 },
    Empirical { csv: String },
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Conversation {
    messages: Option<CountDist>,
    think_time: Option<DurationDist>,
    idle_timeout: Option<Duration>,
    abandon_after: Option<Duration>,
    response_budget: Option<Duration>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Agent {
    /// The program of one agent turn.
    steps: Vec<Step>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Workload {
    name: String,
    traffic: Traffic,
    conversation: Option<Conversation>,
    agent: Agent,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct OnFailure {
    max_runs: Option<u32>,
    steps: Vec<Step>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Branch {
    name: Option<String>,
    steps: Vec<Step>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct ChoiceOption {
    probability: f64,
    steps: Vec<Step>,
}

/// One step of the agent's program, by kind.
#[derive(JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum Step {
    Llm {
        name: Option<String>,
        on_failure: Option<OnFailure>,
        cpu: Option<Duration>,
        start_to_close_timeout: Option<Duration>,
        memory: Option<Size>,
        /// A [provider_groups] name.
        group: String,
        input_tokens: CountDist,
        output_tokens: CountDist,
        input_tokens_per_turn: Option<u64>,
        carry_previous_output: Option<bool>,
        cached_input_fraction: Option<f64>,
        first_chunk_tokens: Option<u64>,
    },
    Tool {
        name: Option<String>,
        on_failure: Option<OnFailure>,
        cpu: Option<Duration>,
        start_to_close_timeout: Option<Duration>,
        memory: Option<Size>,
        latency: DurationDist,
        failure_probability: Option<f64>,
        price_per_call_usd: Option<f64>,
        max_concurrent_calls: Option<u64>,
    },
    Parallel {
        name: Option<String>,
        on_failure: Option<OnFailure>,
        branches: Option<Vec<Branch>>,
        width: Option<CountDist>,
        steps: Option<Vec<Step>>,
        wait_for: Option<u64>,
        on_branch_failure: Option<BranchFailure>,
        child_workflow: Option<bool>,
    },
    Repeat {
        name: Option<String>,
        on_failure: Option<OnFailure>,
        count: CountDist,
        steps: Vec<Step>,
    },
    Choice {
        name: Option<String>,
        on_failure: Option<OnFailure>,
        options: Vec<ChoiceOption>,
    },
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
enum BranchFailure {
    Fail,
    Continue,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Activity {
    start_to_close_timeout: Option<Duration>,
    memory: Option<Size>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Retry {
    initial_interval: Option<Duration>,
    backoff_coefficient: Option<f64>,
    maximum_interval: Option<Duration>,
    /// 0 = unlimited.
    maximum_attempts: Option<u64>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Temporal {
    /// Sticky workflow cache entries per worker (Go SDK SetStickyWorkflowCacheSize).
    cache_size: Option<u64>,
    /// Go SDK MaxConcurrentWorkflowTaskExecutionSize.
    max_concurrent_workflow_tasks: Option<u64>,
    /// Go SDK MaxConcurrentActivityExecutionSize.
    max_concurrent_activities: Option<u64>,
    sticky_schedule_to_start_timeout: Option<Duration>,
    workflow_task_timeout: Option<Duration>,
    workflow_task_cpu: Option<Duration>,
    replay_cpu_per_event: Option<Duration>,
    history_fetch_base: Option<Duration>,
    history_fetch_per_page: Option<Duration>,
    history_page_size: Option<u64>,
    cached_workflow_memory: Option<Size>,
    cached_memory_per_event: Option<Size>,
    cached_memory_per_turn: Option<Size>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Instance {
    vcpus: Option<u64>,
    cpu_speed: Option<f64>,
    memory_limit: Option<Size>,
    runtime_memory: Option<Size>,
    leak_per_hour: Option<Size>,
    restart_delay: Option<Duration>,
    cold_start: Option<DurationDist>,
    startup_cpu: Option<Duration>,
    crash_loop_backoff: Option<Duration>,
    crash_loop_backoff_max: Option<Duration>,
    shutdown_grace: Option<Duration>,
    /// Present: Go-like GC pressure on.
    gc: Option<Gc>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Gc {
    threshold: Option<f64>,
    max_overhead: Option<f64>,
}

/// How work reaches the fleet: Temporal workers polling (the default), or requests routed to
/// instances with a free slot. `session`, `max_concurrency` and `max_wait` go with
/// `mode = "request"` (the reader says so).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Serving {
    mode: Option<ServingMode>,
    session: Option<SessionScope>,
    /// Request slots per instance (Cloud Run: default 80, at most 1000).
    max_concurrency: Option<u64>,
    /// How long a request waits for a slot before it is rejected.
    max_wait: Option<Duration>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum ServingMode {
    Poll,
    Request,
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum SessionScope {
    Turn,
    Conversation,
}

#[derive(JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum Autoscaler {
    Fixed {
        instances: Option<u64>,
    },
    CloudRun {
        min_instances: Option<u64>,
        max_instances: Option<u64>,
        initial_instances: Option<u64>,
        target_cpu_utilization: Option<f64>,
        max_concurrency: Option<u64>,
        target_concurrency_utilization: Option<f64>,
        window: Option<Duration>,
        evaluation_interval: Option<Duration>,
        scale_in_stabilization: Option<Duration>,
    },
    /// Kubernetes' Horizontal Pod Autoscaler. `target_utilization` goes with `cpu` and
    /// `memory`, `queue_types` and `target_queue_size` with `backlog` (the reader says which).
    Hpa {
        metric: HpaMetric,
        min_replicas: Option<u64>,
        max_replicas: u64,
        initial_replicas: Option<u64>,
        target_utilization: Option<f64>,
        queue_types: Option<QueueTypes>,
        target_queue_size: Option<f64>,
        /// With `metric = "concurrency"` (request mode): requests per replica.
        target_average_value: Option<f64>,
        tolerance: Option<f64>,
        sync_period: Option<Duration>,
        behavior: Option<Behavior>,
    },
    /// KEDA with the Temporal scaler, driving an HPA.
    Keda {
        min_replica_count: Option<u64>,
        max_replica_count: Option<u64>,
        initial_replicas: Option<u64>,
        polling_interval: Option<Duration>,
        cooldown_period: Option<Duration>,
        queue_types: Option<QueueTypes>,
        target_queue_size: Option<f64>,
        activation_target_queue_size: Option<f64>,
        tolerance: Option<f64>,
        sync_period: Option<Duration>,
        behavior: Option<Behavior>,
    },
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
enum HpaMetric {
    Cpu,
    Memory,
    Backlog,
    Concurrency,
}

#[derive(JsonSchema)]
enum QueueTypes {
    #[serde(rename = "workflow")]
    Workflow,
    #[serde(rename = "activity")]
    Activity,
    #[serde(rename = "workflow,activity")]
    WorkflowActivity,
    #[serde(rename = "activity,workflow")]
    ActivityWorkflow,
}

/// `[autoscaler.behavior]`: the HPA's scale-up and scale-down rules.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Behavior {
    scale_up: Option<ScalingRules>,
    scale_down: Option<ScalingRules>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct ScalingRules {
    stabilization_window: Option<Duration>,
    select_policy: Option<SelectPolicy>,
    policies: Option<Vec<ScalingPolicy>>,
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
enum SelectPolicy {
    Max,
    Min,
    Disabled,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct ScalingPolicy {
    kind: PolicyKind,
    value: u64,
    period: Duration,
}

#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
enum PolicyKind {
    Pods,
    Percent,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Provider {
    /// Time to first token.
    ttft: DurationDist,
    output_tokens_per_s: f64,
    error_probability: Option<f64>,
    timeout: Option<Duration>,
    input_price_per_million_usd: Option<f64>,
    output_price_per_million_usd: Option<f64>,
    cached_input_price_per_million_usd: Option<f64>,
    ttft_timeout: Option<Duration>,
    prefill_tokens_per_s: Option<f64>,
    /// A requests-per-minute quota (a token bucket); over it, a 429 at once.
    requests_per_minute: Option<f64>,
    /// A tokens-per-minute quota (input + output tokens, charged at admission).
    tokens_per_minute: Option<f64>,
    /// In-flight requests the provider accepts at once; over it, a 429 at once.
    max_concurrent_requests: Option<u32>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Cost {
    vcpu_second_usd: Option<f64>,
    gib_second_usd: Option<f64>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Slo {
    name: Option<String>,
    metric: MetricName,
    max: f64,
    workload: Option<String>,
}

/// An intervention at a simulated time: `set` (optionally with `deploy`), `incident`, or
/// `deploy` alone.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct TimelineEntry {
    at: Duration,
    label: Option<String>,
    /// Quoted dotted keys: { "temporal.cache_size" = 200 }.
    set: Option<BTreeMap<String, AnyValue>>,
    deploy: Option<DeployKind>,
    incident: Option<IncidentKind>,
    provider: Option<String>,
    duration: Option<Duration>,
    factor: Option<f64>,
}

/// `[sweep] search`.
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
enum SearchKind {
    Grid,
    Halving,
}

/// The grid, replications and objective of `sim sweep`, checked by `sim validate`.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Sweep {
    replications: Option<u64>,
    /// The metric the sweep minimises subject to the SLOs, e.g. "cost_compute_usd".
    objective: Option<String>,
    /// How the runs are chosen: every point at every replication, or successive halving.
    search: Option<SearchKind>,
    /// Halving: replications of every point in the first round.
    #[schemars(range(min = 1))]
    initial_replications: Option<u64>,
    /// Halving: each round keeps 1 point in this many and gives it this many times the
    /// replications.
    #[schemars(range(min = 2, max = 16))]
    halving_factor: Option<u64>,
    /// Dotted keys to an array of values or a range string "start..end:step".
    grid: Option<BTreeMap<String, AnyValue>>,
}
