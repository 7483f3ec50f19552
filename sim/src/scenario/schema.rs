//! The JSON Schema of a scenario file, for editors (`sim schema`, committed as
//! `schema/scenario.schema.json`). The reader (`resolve.rs`, `agent.rs`, `timeline.rs`) reads
//! the TOML tree key by key so every value keeps its origin; these types describe the same
//! file shape declaratively so `schemars` can derive the schema from them. They are never
//! built: the reader stays the authority, and `sim/tests/schema.rs` holds the two together
//! (every shipped scenario, template and fixture validates; a misspelt key does not).
//!
//! Units are strings with patterns that accept what `units.rs` parses; lists of names the
//! reader already declares (SLO metrics, deploy and incident kinds) come from its constants, and
//! so do the ranges of integer keys (`SLOTS_MAX`, `u32::MAX` for a key read as a u32). A key
//! read as a u64 has no `maximum`: the reader takes any integer TOML can write. Rules between
//! keys (min <= max, a limit in `[run]`) stay with the reader.

#![allow(
    dead_code,
    reason = "the types exist to be described by schemars, never constructed"
)]

use super::agent::TOKENS_MAX;
use super::read::{SLOTS_MAX, VCPUS_MAX};
use crate::sweep::grid::MAX_REPLICATIONS;
use crate::sweep::halving::{MAX_FACTOR, MIN_FACTOR};
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

/// Gives the `kind` of each variant of a `kind`-tagged enum the variant's description, as
/// `kind = "lognormal": ...`, so an editor hovering `kind` says what the written kind means.
fn kind_described(schema: &mut Schema) {
    use serde_json::Value;
    let Some(Value::Array(variants)) = schema.get_mut("oneOf") else {
        return;
    };
    for variant in variants {
        let Some(Value::String(description)) = variant.get("description").cloned() else {
            continue;
        };
        let Some(Value::Object(kind)) = variant.pointer_mut("/properties/kind") else {
            continue;
        };
        let Some(Value::String(name)) = kind.get("const").cloned() else {
            continue;
        };
        kind.entry("description")
            .or_insert_with(|| format!("kind = {name:?}: {description}").into());
    }
}

/// A sim scenario file (TOML). See docs/scenario-reference.md.
#[derive(JsonSchema)]
#[schemars(title = "sim scenario", deny_unknown_fields)]
struct ScenarioFile {
    /// Names the output folder results/<name>/; default: the file name without .toml.
    name: Option<String>,
    /// Free text about the scenario; default "".
    description: Option<String>,
    /// The master seed every random draw derives from (sim run --seed replaces it); default 1.
    seed: Option<u64>,
    /// Run limits: the horizon, the warm-up, the sampling interval and safety limits.
    run: Option<Run>,
    /// How conversations arrive. Required unless the scenario has [[workloads]].
    traffic: Option<Traffic>,
    /// The shape of one customer conversation; every key is optional.
    conversation: Option<Conversation>,
    /// The program of one agent turn. Required unless the scenario has [[workloads]].
    agent: Option<Agent>,
    /// Several workloads on one fleet, each with its own traffic, conversation and agent;
    /// not with a top-level [traffic], [conversation] or [agent].
    workloads: Option<Vec<Workload>>,
    /// Defaults for every llm and tool step that does not set its own timeout or memory.
    activity: Option<Activity>,
    /// The activity retry policy, applied to every step; the defaults are Temporal's.
    retry: Option<Retry>,
    /// Temporal worker and service settings.
    temporal: Option<Temporal>,
    /// One container running one worker process.
    instance: Option<Instance>,
    /// How many instances run; default a fixed fleet of 1 instance.
    autoscaler: Option<Autoscaler>,
    /// How work reaches the fleet: Temporal workers polling (the default) or requests routed
    /// to instances.
    serving: Option<Serving>,
    /// LLM provider endpoints by name; at least one when a step has kind = "llm".
    providers: Option<BTreeMap<String, Provider>>,
    /// Ordered failover lists of provider names, by group name; an llm step names its group.
    provider_groups: Option<BTreeMap<String, Vec<String>>>,
    /// Compute prices of instance time.
    cost: Option<Cost>,
    /// Service-level objectives: sim run exits with code 1 when one fails.
    slo: Option<Vec<Slo>>,
    /// Interventions at given simulated times: setting changes, deploys, provider incidents.
    timeline: Option<Vec<TimelineEntry>>,
    /// The grid, replications and objective of sim sweep; sim run ignores it.
    sweep: Option<Sweep>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Run {
    /// Simulated time to run; default "24h".
    horizon: Option<Duration>,
    /// The start of the run that latency statistics skip; default "0s", below horizon.
    warmup: Option<Duration>,
    /// Events the run may process before it stops with an error; default 10_000_000_000.
    #[schemars(range(min = 1))]
    max_events: Option<u64>,
    /// Simulated time between two timeseries.csv rows; default "60s".
    sample_interval: Option<Duration>,
    /// Conversations open at once beyond which the run stops with an error (also estimated
    /// before it starts); default 10_000_000.
    #[schemars(range(min = 1))]
    max_open_conversations: Option<u64>,
    /// Memory of the run's state (conversations, workflows, activities, pending events and
    /// queues), estimated from their counts during the run, beyond which the run stops with an
    /// error; default "2GiB", at least "1MiB".
    max_memory: Option<Size>,
    /// Conversations the traffic may bring over the horizon, checked before the run; default
    /// 10_000_000.
    #[schemars(range(min = 1))]
    max_conversations: Option<u64>,
    /// Instances the autoscaler may run, checked before the run; default 10_000.
    #[schemars(range(min = 1))]
    max_instances: Option<u64>,
    /// timeseries.csv rows (horizon / sample_interval), checked before the run; default
    /// 1_000_000.
    #[schemars(range(min = 1))]
    max_timeseries_rows: Option<u64>,
}

/// Conversations arrive as a Poisson process whose rate follows a profile.
#[derive(JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[schemars(transform = kind_described)]
enum Traffic {
    /// A constant rate.
    Constant {
        /// Scales the rate (a traffic surge on the timeline); default 1.0.
        multiplier: Option<f64>,
        /// Conversations per second, minute, hour or day ("120/h"); or rate_per_s.
        rate: Option<Rate>,
        /// Conversations per second; or rate.
        rate_per_s: Option<f64>,
    },
    /// A step function: the rate of the last point at or before t.
    Piecewise {
        /// Scales the rate (a traffic surge on the timeline); default 1.0.
        multiplier: Option<f64>,
        /// The profile's points, each { at, rate } or { at, rate_per_s }; the first at "0s",
        /// times strictly increasing.
        points: Vec<RatePoint>,
    },
    /// A daily cycle: a cosine around the mean rate, highest at peak_hour.
    Diurnal {
        /// Scales the rate (a traffic surge on the timeline); default 1.0.
        multiplier: Option<f64>,
        /// The daily mean ("5000/d"); or mean_rate_per_s.
        mean_rate: Option<Rate>,
        /// The daily mean in conversations per second; or mean_rate.
        mean_rate_per_s: Option<f64>,
        /// Peak rate / trough rate, at least 1; required.
        peak_to_trough: f64,
        /// The hour of the day of the peak, 0 <= h < 24 in simulated time (t = 0 is
        /// midnight); required.
        peak_hour: f64,
    },
    /// Replays real arrival times from a CSV file.
    Trace {
        /// Accepted but has no effect on a trace; default 1.0.
        multiplier: Option<f64>,
        /// A one-column CSV of arrival times (durations or bare seconds), relative to the
        /// scenario file; required.
        csv: String,
    },
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct RatePoint {
    /// When this point's rate starts, from t = 0; required.
    at: Duration,
    /// The rate from this point on ("30/m"); or rate_per_s.
    rate: Option<Rate>,
    /// The rate from this point on, in conversations per second; or rate.
    rate_per_s: Option<f64>,
}

/// A random duration: parameters are duration strings.
#[derive(JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[schemars(transform = kind_described)]
enum DurationDist {
    /// Always the same value.
    Constant {
        /// The value of every draw, >= 0.
        value: Duration,
    },
    /// Exponentially distributed.
    Exponential {
        /// The mean, > 0.
        mean: Duration,
    },
    /// Lognormal, set by its median and 99th percentile (sigma = ln(p99 / median) / 2.326).
    Lognormal {
        /// The median, > 0 and below p99.
        median: Duration,
        /// The 99th percentile, above median.
        p99: Duration,
    },
    /// Uniform on [min, max).
    Uniform {
        /// The lower bound, >= 0.
        min: Duration,
        /// The upper bound, >= min.
        max: Duration,
    },
    /// Resampled uniformly from the values of a CSV file.
    Empirical {
        /// A one-column CSV file of duration strings ("12s"), relative to the scenario file; a
        /// first row that does not start like a number is a header.
        csv: String,
    },
}

/// A random count: parameters are plain numbers.
#[derive(JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[schemars(transform = kind_described)]
enum CountDist {
    /// Always the same value.
    Constant {
        /// The value of every draw, >= 0.
        value: f64,
    },
    /// Exponentially distributed, rounded.
    Exponential {
        /// The mean, > 0.
        mean: f64,
    },
    /// Lognormal, set by its median and 99th percentile (sigma = ln(p99 / median) / 2.326),
    /// rounded.
    Lognormal {
        /// The median, > 0 and below p99.
        median: f64,
        /// The 99th percentile, above median.
        p99: f64,
    },
    /// Uniform on [min, max), rounded.
    Uniform {
        /// The lower bound, >= 0.
        min: f64,
        /// The upper bound, >= min.
        max: f64,
    },
    /// The number of trials up to the first success: 1, 2, 3, ...
    Geometric {
        /// The mean, >= 1.
        mean: f64,
    },
    /// Resampled uniformly from the values of a CSV file.
    Empirical {
        /// A one-column CSV file of non-negative numbers, relative to the scenario file; a
        /// first row that does not start like a number is a header.
        csv: String,
    },
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Conversation {
    /// Customer messages per conversation, a count distribution drawn when it starts (at
    /// least 1); default { kind = "geometric", mean = 5 }.
    messages: Option<CountDist>,
    /// From a reply to the customer's next message, a duration distribution drawn per reply;
    /// default { kind = "lognormal", median = "30s", p99 = "10m" }.
    think_time: Option<DurationDist>,
    /// Idle time after a reply before the conversation's workflow completes; default "30m".
    idle_timeout: Option<Duration>,
    /// A message still unanswered this long after it arrived counts as unanswered, and the
    /// customer leaves; default "5m".
    abandon_after: Option<Duration>,
    /// A target response latency, reported in summary.json and checked by the
    /// response_over_budget_fraction SLO; default none.
    response_budget: Option<Duration>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Agent {
    /// The program of one agent turn, run in order; at least one step.
    steps: Vec<Step>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Workload {
    /// The workload's name: unique, 1 to 64 letters, digits, _ and -; required.
    name: String,
    /// The workload's arrivals, as [traffic]; required.
    traffic: Traffic,
    /// The workload's conversation shape, as [conversation]; default all defaults.
    conversation: Option<Conversation>,
    /// The workload's program of one turn, as [agent]; required.
    agent: Agent,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct OnFailure {
    /// How many times the fallback steps may run in all before the step fails; default 1.
    #[schemars(range(min = 1, max = u32::MAX))]
    max_runs: Option<u32>,
    /// The fallback steps (a re-plan); their success is the step's success. Required.
    steps: Vec<Step>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Branch {
    /// The branch's name; default "PARENT.branch-N" (N = 1-based position).
    name: Option<String>,
    /// The steps the branch runs in order.
    steps: Vec<Step>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct ChoiceOption {
    /// The chance that this option runs, in [0, 1]; the options' probabilities sum to 1.
    probability: f64,
    /// The steps the option runs in order.
    steps: Vec<Step>,
}

/// One step of the agent's program, by kind.
#[derive(JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[schemars(transform = kind_described)]
enum Step {
    /// One LLM call through a provider group, as an activity.
    Llm {
        /// The step's name in summary.json, unique in the program; default "step-N" (N =
        /// 1-based position, nested steps prefixed with their parent's name).
        name: Option<String>,
        /// Fallback steps (a re-plan) run when the step has failed for good; default none.
        on_failure: Option<OnFailure>,
        /// CPU work of one attempt on the worker's instance, before the LLM wait; default
        /// "2ms".
        cpu: Option<Duration>,
        /// The longest one attempt may take, from its start on a worker to its end; default
        /// [activity] start_to_close_timeout.
        start_to_close_timeout: Option<Duration>,
        /// Memory one attempt holds on its instance while it runs; default [activity] memory.
        memory: Option<Size>,
        /// A [provider_groups] name: its providers are tried in order; required.
        group: String,
        /// Input tokens of a call, a count distribution drawn once per conversation, turn and
        /// step; required.
        input_tokens: CountDist,
        /// Output tokens of a call, a count distribution drawn once per conversation, turn and
        /// step; required.
        output_tokens: CountDist,
        /// Input tokens added for each earlier turn of the conversation (input = drawn + this
        /// x (turn - 1)); default 0.
        #[schemars(range(min = 0, max = TOKENS_MAX))]
        input_tokens_per_turn: Option<u64>,
        /// Whether the input also holds the output tokens of this conversation's earlier
        /// successful calls of carrying steps; default false.
        carry_previous_output: Option<bool>,
        /// The share of input tokens read from the provider's prompt cache (billed at its
        /// cached price, not prefilled), in [0, 1]; default 0.0.
        cached_input_fraction: Option<f64>,
        /// Streaming: the next step starts once this many output tokens have arrived, while
        /// the call goes on; default none (no streaming).
        #[schemars(range(min = 1, max = TOKENS_MAX))]
        first_chunk_tokens: Option<u64>,
    },
    /// One tool call (an API, a database) with a drawn latency, as an activity.
    Tool {
        /// The step's name in summary.json, unique in the program; default "step-N" (N =
        /// 1-based position, nested steps prefixed with their parent's name).
        name: Option<String>,
        /// Fallback steps (a re-plan) run when the step has failed for good; default none.
        on_failure: Option<OnFailure>,
        /// CPU work of one attempt on the worker's instance, before the tool wait; default
        /// "2ms".
        cpu: Option<Duration>,
        /// The longest one attempt may take, from its start on a worker to its end; default
        /// [activity] start_to_close_timeout.
        start_to_close_timeout: Option<Duration>,
        /// Memory one attempt holds on its instance while it runs; default [activity] memory.
        memory: Option<Size>,
        /// The time one call takes, a duration distribution; required.
        latency: DurationDist,
        /// The chance that a call fails (after its latency; the retry policy applies), in
        /// [0, 1]; default 0.0.
        failure_probability: Option<f64>,
        /// US dollars charged for every attempt; default 0.0.
        price_per_call_usd: Option<f64>,
        /// A connection limit shared by every attempt of this step across the fleet; an
        /// attempt beyond it waits holding its worker slot. Default none (unlimited).
        #[schemars(range(min = 1, max = SLOTS_MAX))]
        max_concurrent_calls: Option<u32>,
    },
    /// Fan-out and join: fixed branches, or the template steps run width times.
    Parallel {
        /// The step's name in summary.json, unique in the program; default "step-N" (N =
        /// 1-based position, nested steps prefixed with their parent's name).
        name: Option<String>,
        /// Fallback steps (a re-plan) run when the step has failed for good; default none.
        on_failure: Option<OnFailure>,
        /// Fixed branches, each with its own steps; 1 to 1,000, not with width.
        branches: Option<Vec<Branch>>,
        /// How many copies of the template steps run, a count distribution drawn per turn; at
        /// most 1,000, not with branches.
        width: Option<CountDist>,
        /// The branch template, run width times.
        steps: Option<Vec<Step>>,
        /// The join succeeds when this many branches have succeeded; default all branches.
        #[schemars(range(min = 1, max = u32::MAX))]
        wait_for: Option<u32>,
        /// "fail" (the first failed branch fails the step) or "continue" (failed branches are
        /// dropped); default "fail".
        on_branch_failure: Option<BranchFailure>,
        /// Whether each branch runs as a child workflow of the response child, with its own
        /// history, workflow tasks and cache entry; default false.
        child_workflow: Option<bool>,
    },
    /// The steps run count times in a row.
    Repeat {
        /// The step's name in summary.json, unique in the program; default "step-N" (N =
        /// 1-based position, nested steps prefixed with their parent's name).
        name: Option<String>,
        /// Fallback steps (a re-plan) run when the step has failed for good; default none.
        on_failure: Option<OnFailure>,
        /// How many times the steps run, a count distribution drawn per turn (0 is an
        /// immediate success), at most 10,000; required.
        count: CountDist,
        /// The steps to repeat; required.
        steps: Vec<Step>,
    },
    /// One of the options runs, drawn per turn by its probability.
    Choice {
        /// The step's name in summary.json, unique in the program; default "step-N" (N =
        /// 1-based position, nested steps prefixed with their parent's name).
        name: Option<String>,
        /// Fallback steps (a re-plan) run when the step has failed for good; default none.
        on_failure: Option<OnFailure>,
        /// The options, each a probability and its steps; the probabilities sum to 1.
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
    /// The longest one activity attempt may take, for steps without their own; default
    /// "10m".
    start_to_close_timeout: Option<Duration>,
    /// Memory an activity attempt holds on its instance, for steps without their own; default
    /// "4MiB".
    memory: Option<Size>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Retry {
    /// The wait before the first retry; default "1s".
    initial_interval: Option<Duration>,
    /// The factor each wait grows by, at least 1; default 2.0.
    backoff_coefficient: Option<f64>,
    /// The longest wait between two attempts; default 100 x initial_interval ("100s").
    maximum_interval: Option<Duration>,
    /// Attempts before the activity fails for good, 0 = unlimited; default 0.
    #[schemars(range(min = 0, max = u32::MAX))]
    maximum_attempts: Option<u32>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Temporal {
    /// Sticky workflow cache entries per worker (Go SDK SetStickyWorkflowCacheSize), 0 turns
    /// the cache off; default 10_000.
    #[schemars(range(min = 0, max = SLOTS_MAX))]
    cache_size: Option<u32>,
    /// Workflow-task slots per worker (Go SDK MaxConcurrentWorkflowTaskExecutionSize);
    /// default 1000.
    #[schemars(range(min = 1, max = SLOTS_MAX))]
    max_concurrent_workflow_tasks: Option<u32>,
    /// Activity slots per worker (Go SDK MaxConcurrentActivityExecutionSize); default 1000.
    #[schemars(range(min = 1, max = SLOTS_MAX))]
    max_concurrent_activities: Option<u32>,
    /// How long a task waits on its sticky worker's queue before the service moves it to the
    /// normal queue; default "5s".
    sticky_schedule_to_start_timeout: Option<Duration>,
    /// A workflow task lost with its worker is scheduled again this long after it started;
    /// default "10s".
    workflow_task_timeout: Option<Duration>,
    /// CPU work of one workflow task; default "1ms".
    workflow_task_cpu: Option<Duration>,
    /// CPU work per history event replayed on a cache miss; default "50us".
    replay_cpu_per_event: Option<Duration>,
    /// The fixed latency of fetching a workflow's history on a cache miss; default "20ms".
    history_fetch_base: Option<Duration>,
    /// Extra history-fetch latency per page of history_page_size events; default "10ms".
    history_fetch_per_page: Option<Duration>,
    /// History events per page fetched on a cache miss; default 256.
    #[schemars(range(min = 1, max = u32::MAX))]
    history_page_size: Option<u32>,
    /// Memory of one cached workflow before its events and turns; default "64KiB".
    cached_workflow_memory: Option<Size>,
    /// Memory per history event of a cached workflow; default "1KiB".
    cached_memory_per_event: Option<Size>,
    /// Memory per completed turn of a cached parent workflow (the agent's conversation
    /// state); default "0B".
    cached_memory_per_turn: Option<Size>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Instance {
    /// vCPUs of one instance, 1 to 1024; default 1.
    #[schemars(range(min = 1, max = VCPUS_MAX))]
    vcpus: Option<u32>,
    /// Relative speed of one vCPU (CPU work takes work / cpu_speed), 0.01 to 100; default
    /// 1.0.
    cpu_speed: Option<f64>,
    /// Memory above which the instance is killed at once (OOM); default "512MiB".
    memory_limit: Option<Size>,
    /// Memory of the worker process with nothing cached, below memory_limit; default
    /// "64MiB".
    runtime_memory: Option<Size>,
    /// Constant memory growth since the instance's last (re)start; default "0B".
    leak_per_hour: Option<Size>,
    /// From an OOM kill to the start of the restart's cold start; default "1s".
    restart_delay: Option<Duration>,
    /// From launching or restarting an instance to its worker polling, a duration
    /// distribution; default { kind = "uniform", min = "10s", max = "30s" }.
    cold_start: Option<DurationDist>,
    /// CPU work the worker does when it starts; default "1s".
    startup_cpu: Option<Duration>,
    /// Extra restart delay after a crash within 10 minutes of the previous one, doubling with
    /// each further crash; default "0s" (off).
    crash_loop_backoff: Option<Duration>,
    /// The most the crash-loop backoff grows to; default "5m".
    crash_loop_backoff_max: Option<Duration>,
    /// Time a scaled-in or replaced instance gets to finish its work; default "10s".
    shutdown_grace: Option<Duration>,
    /// Go-like GC pressure: CPU work costs more as memory nears the limit. On when the table
    /// is present (even empty), off without it.
    gc: Option<Gc>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Gc {
    /// The fraction of memory_limit where GC overhead starts, in [0, 1); default 0.5.
    threshold: Option<f64>,
    /// Extra CPU work at the memory limit (1.0 doubles it), 0 to 10; default 1.0.
    max_overhead: Option<f64>,
}

/// How work reaches the fleet: Temporal workers polling (the default), or requests routed to
/// instances with a free slot. `session`, `max_concurrency` and `max_wait` go with
/// `mode = "request"` (the reader says so).
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Serving {
    /// "poll" (Temporal workers poll their task queues) or "request" (requests routed to
    /// instances with a free slot); default "poll".
    mode: Option<ServingMode>,
    /// What one request is: "turn" (one customer message) or "conversation" (the whole
    /// conversation, as a voice call); request mode only, default "turn".
    session: Option<SessionScope>,
    /// Request slots per instance, request mode only; default 80 (Cloud Run), at most 1000
    /// with the cloud_run autoscaler.
    #[schemars(range(min = 1, max = SLOTS_MAX))]
    max_concurrency: Option<u32>,
    /// How long a request waits for a slot before it is rejected, request mode only; default
    /// "10s" ("0s" rejects at once).
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
#[schemars(transform = kind_described)]
enum Autoscaler {
    /// Always the same number of instances.
    Fixed {
        /// Instances always running (an OOM-killed one restarts), at most run.max_instances;
        /// default 1.
        #[schemars(range(min = 0, max = u32::MAX))]
        instances: Option<u32>,
    },
    /// Cloud Run's CPU and request-concurrency autoscaling.
    CloudRun {
        /// The fewest instances, at most max_instances; default 0.
        #[schemars(range(min = 0, max = u32::MAX))]
        min_instances: Option<u32>,
        /// The most instances, at most run.max_instances; default 100.
        #[schemars(range(min = 1, max = u32::MAX))]
        max_instances: Option<u32>,
        /// Instances running at t = 0, without a cold start; default max(min_instances, 1).
        #[schemars(range(min = 0, max = u32::MAX))]
        initial_instances: Option<u32>,
        /// The CPU utilisation the autoscaler aims at, in (0, 1]; default 0.6.
        target_cpu_utilization: Option<f64>,
        /// Requests per instance for the concurrency rule (in request mode [serving]
        /// max_concurrency, which it must agree with); default 80.
        #[schemars(range(min = 1, max = SLOTS_MAX))]
        max_concurrency: Option<u32>,
        /// The share of max_concurrency the concurrency rule aims at, in (0, 1]; default 0.6.
        target_concurrency_utilization: Option<f64>,
        /// The trailing window CPU utilisation (and, in request mode, requests) is averaged
        /// over; default "60s".
        window: Option<Duration>,
        /// How often the autoscaler decides; must divide window; default "2s".
        evaluation_interval: Option<Duration>,
        /// The fleet scales in only to the highest count wanted over this trailing period;
        /// default "15m".
        scale_in_stabilization: Option<Duration>,
    },
    /// Kubernetes' Horizontal Pod Autoscaler. `target_utilization` goes with `cpu` and
    /// `memory`, `queue_types` and `target_queue_size` with `backlog` (the reader says which).
    Hpa {
        /// What the HPA scales on: "cpu", "memory", "backlog" (the Temporal task-queue
        /// backlog) or "concurrency" (request mode only); required.
        metric: HpaMetric,
        /// The fewest replicas, at least 1; default 1.
        #[schemars(range(min = 1, max = u32::MAX))]
        min_replicas: Option<u32>,
        /// The most replicas, at most run.max_instances; required.
        #[schemars(range(min = 1, max = u32::MAX))]
        max_replicas: u32,
        /// Replicas running at t = 0, without a cold start; default min_replicas.
        // The reader reads it from 0 but wants it within [min_replicas, max_replicas], so 0
        // is never valid here.
        #[schemars(range(min = 1, max = u32::MAX))]
        initial_replicas: Option<u32>,
        /// With metric "cpu" or "memory": the target average utilisation, in (0, 1]; default
        /// 0.8.
        target_utilization: Option<f64>,
        /// With metric "backlog": which task-queue backlogs add up; default "workflow".
        queue_types: Option<QueueTypes>,
        /// With metric "backlog": the backlog per replica aimed at; default 5.
        target_queue_size: Option<f64>,
        /// With `metric = "concurrency"` (request mode): requests per replica; required with
        /// it.
        target_average_value: Option<f64>,
        /// No scaling while |metric / target - 1| is at most this, in [0, 1); default 0.1.
        tolerance: Option<f64>,
        /// How often the HPA controller evaluates; default "15s".
        sync_period: Option<Duration>,
        /// The HPA's scale-up and scale-down rules; default Kubernetes' behavior.
        behavior: Option<Behavior>,
    },
    /// KEDA with the Temporal scaler, driving an HPA.
    Keda {
        /// The fewest replicas (0 lets KEDA scale the fleet to zero); default 0.
        #[schemars(range(min = 0, max = u32::MAX))]
        min_replica_count: Option<u32>,
        /// The most replicas, at most run.max_instances; default 100.
        #[schemars(range(min = 1, max = u32::MAX))]
        max_replica_count: Option<u32>,
        /// Replicas running at t = 0, without a cold start; default max(min_replica_count, 1).
        #[schemars(range(min = 0, max = u32::MAX))]
        initial_replicas: Option<u32>,
        /// How often KEDA polls the backlog for activation; default "30s".
        polling_interval: Option<Duration>,
        /// With min_replica_count = 0: how long the scaler must have been inactive before the
        /// fleet goes to zero; default "5m".
        cooldown_period: Option<Duration>,
        /// Which task-queue backlogs add up: workflow tasks, activities or both; default
        /// "workflow".
        queue_types: Option<QueueTypes>,
        /// The backlog one replica is expected to absorb; default 5.
        target_queue_size: Option<f64>,
        /// The scaler is active (and may bring the fleet up from zero) while the backlog is
        /// above this; default 0.
        activation_target_queue_size: Option<f64>,
        /// The HPA's tolerance: no scaling while |metric / target - 1| is at most this, in
        /// [0, 1); default 0.1.
        tolerance: Option<f64>,
        /// How often the HPA controller evaluates; default "15s".
        sync_period: Option<Duration>,
        /// The scale-up and scale-down rules of the HPA KEDA drives; default Kubernetes'
        /// behavior.
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
    /// Rules for scaling up; default no stabilization window, at most the larger of 4 pods
    /// or 100% per "15s".
    scale_up: Option<ScalingRules>,
    /// Rules for scaling down; default a "5m" stabilization window, at most 100% per "15s".
    scale_down: Option<ScalingRules>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct ScalingRules {
    /// Up: only as high as the lowest recommendation of this trailing window; down: only as
    /// low as the highest. Default "0s" up, "5m" down; at most "1h".
    stabilization_window: Option<Duration>,
    /// "max" uses the policy that allows the biggest change, "min" the smallest, "disabled"
    /// forbids scaling in this direction; default "max".
    select_policy: Option<SelectPolicy>,
    /// Limits on the change per trailing period; giving them replaces the defaults. At least
    /// one unless select_policy = "disabled".
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
    /// "pods": at most value instances per period; "percent": at most value% of the count at
    /// the start of the period.
    kind: PolicyKind,
    /// The instances or percent allowed per period, at least 1.
    #[schemars(range(min = 1, max = u32::MAX))]
    value: u32,
    /// The trailing period the limit applies to, above "0s" and at most "30m".
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
    /// Time to first token, a duration distribution (a lognormal by median and p99 is the
    /// usual choice); required.
    ttft: DurationDist,
    /// Generation speed in output tokens per second (an attempt takes TTFT + output tokens /
    /// this); required.
    output_tokens_per_s: f64,
    /// The chance that an attempt fails with a 5xx, after its TTFT, in [0, 1]; default 0.0.
    error_probability: Option<f64>,
    /// The longest one attempt may take before it fails; default "60s".
    timeout: Option<Duration>,
    /// US dollars per million input tokens of successful attempts; default 0.0.
    input_price_per_million_usd: Option<f64>,
    /// US dollars per million output tokens of successful attempts; default 0.0.
    output_price_per_million_usd: Option<f64>,
    /// US dollars per million input tokens read from the prompt cache; default
    /// input_price_per_million_usd.
    cached_input_price_per_million_usd: Option<f64>,
    /// A time-to-first-token limit per attempt: a later first token fails the attempt as a
    /// timeout; default none.
    ttft_timeout: Option<Duration>,
    /// Prefill speed: TTFT grows by the uncached input tokens / this; default none (TTFT does
    /// not depend on the prompt).
    prefill_tokens_per_s: Option<f64>,
    /// A requests-per-minute quota (a token bucket); over it, a 429 at once. Default none.
    requests_per_minute: Option<f64>,
    /// A tokens-per-minute quota (input + output tokens, charged at admission); default none.
    tokens_per_minute: Option<f64>,
    /// In-flight requests the provider accepts at once; over it, a 429 at once. Default none.
    #[schemars(range(min = 1, max = SLOTS_MAX))]
    max_concurrent_requests: Option<u32>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Cost {
    /// US dollars per vCPU-second of instance time; default 0.000018 (Cloud Run, Tier 1).
    vcpu_second_usd: Option<f64>,
    /// US dollars per GiB-second of memory_limit; default 0.000002 (Cloud Run, Tier 1).
    gib_second_usd: Option<f64>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Slo {
    /// The SLO's name in the outputs; default the metric name (WORKLOAD.metric with
    /// workload).
    name: Option<String>,
    /// The metric bounded; required.
    metric: MetricName,
    /// The SLO holds when the metric's value is at most this, >= 0; required.
    max: f64,
    /// With [[workloads]]: a workload's name, to bound that workload's value; default none
    /// (the whole fleet).
    workload: Option<String>,
}

/// An intervention at a simulated time: `set` (optionally with `deploy`), `incident`, or
/// `deploy` alone.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct TimelineEntry {
    /// When the entry applies, from t = 0 and before run.horizon; required.
    at: Duration,
    /// Shown on the figures and in events.csv; default derived from the action.
    label: Option<String>,
    /// Settings to change, as quoted dotted keys: { "temporal.cache_size" = 200 }.
    set: Option<BTreeMap<String, AnyValue>>,
    /// Replace every instance with a new revision, "rolling" or "at_once"; alone or with
    /// set.
    deploy: Option<DeployKind>,
    /// A provider incident: "outage", "degradation" or "rate_limit"; with provider and
    /// duration.
    incident: Option<IncidentKind>,
    /// With incident: the [providers.NAME] name the incident hits.
    provider: Option<String>,
    /// With incident: how long it lasts.
    duration: Option<Duration>,
    /// With incident = "degradation": the factor the provider's TTFT and generation time are
    /// multiplied by, > 0; required with it.
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
    /// Runs of every grid point, each with its own seed, 1 to 10,000; default 1.
    #[schemars(range(min = 1, max = MAX_REPLICATIONS))]
    replications: Option<u32>,
    /// The metric the sweep minimises subject to the SLOs; default "cost_compute_usd".
    objective: Option<String>,
    /// How the runs are chosen: "grid" (every point at every replication) or "halving"
    /// (successive halving); default "grid".
    search: Option<SearchKind>,
    /// Halving: replications of every point in the first round, at most replications; default
    /// 1.
    #[schemars(range(min = 1, max = MAX_REPLICATIONS))]
    initial_replications: Option<u32>,
    /// Halving: each round keeps 1 point in this many and gives it this many times the
    /// replications; default 2.
    #[schemars(range(min = MIN_FACTOR, max = MAX_FACTOR))]
    halving_factor: Option<u32>,
    /// Dotted keys to an array of values or a range string "start..end:step"; default none
    /// (one point).
    grid: Option<BTreeMap<String, AnyValue>>,
}
