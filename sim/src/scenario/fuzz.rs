//! Entry points shared by the fuzz targets (`fuzz/`, nightly) and the regression test that
//! replays their findings on stable (`sim/tests/fuzz_regressions.rs`): each takes the fuzzer's
//! bytes and returns what a user would see (the exit class). None may panic, hang or grow
//! without bound, whatever the bytes.

use super::{Scenario, load_bytes};
use std::path::Path;

/// What the input led to: the exit code class of `sim validate` / `sim run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Valid input (exit 0 or 1 for a run, by its SLOs).
    Accepted,
    /// Refused with located messages (exit 2).
    Refused,
}

/// The scenario the `--set` and model targets start from: a complete, realistic fleet.
pub const TEMPLATE: &str = include_str!("../../../scenarios/examples/support-agent.toml");

/// A path that does not exist: the text is loaded as if it were this file, so a relative CSV
/// path cannot find anything, and messages name it.
pub const FAKE_PATH: &str = "/nonexistent-fuzz-input/fuzz.toml";

fn outcome<T, E>(result: &Result<T, E>) -> Outcome {
    if result.is_ok() {
        Outcome::Accepted
    } else {
        Outcome::Refused
    }
}

/// Bytes as a scenario file.
pub fn scenario_load(bytes: &[u8]) -> Outcome {
    let result = load_bytes(bytes, Path::new(FAKE_PATH), &[]);
    if let Err(errors) = &result {
        assert!(!errors.messages.is_empty(), "refused without a message");
    }
    outcome(&result)
}

/// Each line of `bytes` (lossily UTF-8) as one `--set` argument on the template scenario.
pub fn set_override(bytes: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(bytes);
    let overrides: Vec<String> = text.lines().take(64).map(str::to_string).collect();
    let result = load_bytes(TEMPLATE.as_bytes(), Path::new(FAKE_PATH), &overrides);
    outcome(&result)
}

/// Bytes as a duration and as a size: whatever parses must print back to the same value.
pub fn units(bytes: &[u8]) -> Outcome {
    let text = String::from_utf8_lossy(bytes);
    let mut accepted = false;
    if let Ok(nanos) = super::parse_duration(&text) {
        assert!(nanos <= super::MAX_DURATION_NANOS, "duration over the cap");
        let printed = super::format_duration(nanos);
        assert_eq!(super::parse_duration(&printed), Ok(nanos), "{printed}");
        accepted = true;
    }
    if let Ok(bytes) = super::parse_size(&text) {
        assert!(bytes <= super::MAX_SIZE_BYTES, "size over the cap");
        let printed = super::format_size(bytes);
        assert_eq!(super::parse_size(&printed), Ok(bytes), "{printed}");
        accepted = true;
    }
    if accepted {
        Outcome::Accepted
    } else {
        Outcome::Refused
    }
}

/// One key of the template with the kind of value it takes.
#[derive(Clone, Copy)]
enum Kind {
    Duration,
    Size,
    Number,
    Probability,
    Integer,
    DurationDist,
    CountDist,
    /// One of these TOML values (quoted strings for the string keys).
    Word(&'static [&'static str]),
}

const KEYS: &[(&str, Kind)] = &[
    ("run.warmup", Kind::Duration),
    ("run.sample_interval", Kind::Duration),
    ("run.max_memory", Kind::Size),
    ("traffic.mean_rate_per_s", Kind::Number),
    ("traffic.peak_to_trough", Kind::Number),
    ("traffic.peak_hour", Kind::Number),
    ("traffic.multiplier", Kind::Number),
    ("conversation.messages", Kind::CountDist),
    ("conversation.think_time", Kind::DurationDist),
    ("conversation.idle_timeout", Kind::Duration),
    ("conversation.abandon_after", Kind::Duration),
    ("agent.steps.0.cpu", Kind::Duration),
    ("agent.steps.0.input_tokens", Kind::CountDist),
    ("agent.steps.1.output_tokens", Kind::CountDist),
    ("agent.steps.1.start_to_close_timeout", Kind::Duration),
    ("agent.steps.2.latency", Kind::DurationDist),
    ("agent.steps.2.failure_probability", Kind::Probability),
    ("agent.steps.2.memory", Kind::Size),
    ("agent.steps.3.cpu", Kind::Duration),
    ("activity.start_to_close_timeout", Kind::Duration),
    ("activity.memory", Kind::Size),
    ("retry.initial_interval", Kind::Duration),
    ("retry.backoff_coefficient", Kind::Number),
    ("retry.maximum_interval", Kind::Duration),
    ("retry.maximum_attempts", Kind::Integer),
    ("temporal.cache_size", Kind::Integer),
    ("temporal.max_concurrent_workflow_tasks", Kind::Integer),
    ("temporal.max_concurrent_activities", Kind::Integer),
    ("temporal.sticky_schedule_to_start_timeout", Kind::Duration),
    ("temporal.workflow_task_timeout", Kind::Duration),
    ("temporal.workflow_task_cpu", Kind::Duration),
    ("temporal.replay_cpu_per_event", Kind::Duration),
    ("temporal.history_fetch_base", Kind::Duration),
    ("temporal.history_fetch_per_page", Kind::Duration),
    ("temporal.history_page_size", Kind::Integer),
    ("temporal.cached_workflow_memory", Kind::Size),
    ("temporal.cached_memory_per_event", Kind::Size),
    ("temporal.cached_memory_per_turn", Kind::Size),
    ("instance.vcpus", Kind::Integer),
    ("instance.memory_limit", Kind::Size),
    ("instance.runtime_memory", Kind::Size),
    ("instance.leak_per_hour", Kind::Size),
    ("instance.restart_delay", Kind::Duration),
    ("instance.cold_start", Kind::DurationDist),
    ("instance.startup_cpu", Kind::Duration),
    ("instance.crash_loop_backoff", Kind::Duration),
    ("instance.crash_loop_backoff_max", Kind::Duration),
    ("instance.shutdown_grace", Kind::Duration),
    ("instance.gc.threshold", Kind::Probability),
    ("instance.gc.max_overhead", Kind::Number),
    ("autoscaler.min_instances", Kind::Integer),
    ("autoscaler.max_instances", Kind::Integer),
    ("autoscaler.initial_instances", Kind::Integer),
    ("autoscaler.target_cpu_utilization", Kind::Probability),
    ("autoscaler.max_concurrency", Kind::Integer),
    (
        "autoscaler.target_concurrency_utilization",
        Kind::Probability,
    ),
    ("autoscaler.window", Kind::Duration),
    ("autoscaler.evaluation_interval", Kind::Duration),
    ("autoscaler.scale_in_stabilization", Kind::Duration),
    ("providers.maker.ttft", Kind::DurationDist),
    ("providers.maker.output_tokens_per_s", Kind::Number),
    ("providers.maker.error_probability", Kind::Probability),
    ("providers.maker.timeout", Kind::Duration),
    ("providers.cloud.error_probability", Kind::Probability),
    ("providers.small.input_price_per_million_usd", Kind::Number),
    ("cost.vcpu_second_usd", Kind::Number),
    ("cost.gib_second_usd", Kind::Number),
    // Appended, so that a key byte below the earlier length (66) still picks the same key: the
    // committed model_run findings were re-encoded below it and replay the same overrides.
    ("providers.maker.requests_per_minute", Kind::Number),
    ("providers.maker.tokens_per_minute", Kind::Number),
    ("providers.cloud.max_concurrent_requests", Kind::Integer),
    ("providers.small.requests_per_minute", Kind::Number),
    ("serving.mode", Kind::Word(&["\"poll\"", "\"request\""])),
    (
        "serving.session",
        Kind::Word(&["\"turn\"", "\"conversation\""]),
    ),
    ("serving.max_concurrency", Kind::Integer),
    ("serving.max_wait", Kind::Duration),
];

const DURATIONS: &[&str] = &[
    "0s", "1ns", "1us", "1ms", "50ms", "1s", "2s", "30s", "60s", "5m", "1h", "24h", "10000d",
];
const SIZES: &[&str] = &["0B", "1B", "1KiB", "64KiB", "1MiB", "96MiB", "2GiB", "1TiB"];
const NUMBERS: &[&str] = &[
    "0", "0.001", "0.5", "1", "1.5", "3", "23.99", "80", "1000", "1e6", "1e-300",
];
const PROBABILITIES: &[&str] = &["0", "0.001", "0.5", "0.6", "0.999", "1"];
const INTEGERS: &[&str] = &["0", "1", "2", "3", "25", "80", "1000", "1000000"];
const DURATION_DISTS: &[&str] = &[
    "{ kind = \"constant\", value = \"0s\" }",
    "{ kind = \"constant\", value = \"10000d\" }",
    "{ kind = \"exponential\", mean = \"1ns\" }",
    "{ kind = \"exponential\", mean = \"10000d\" }",
    "{ kind = \"lognormal\", median = \"1ns\", p99 = \"10000d\" }",
    "{ kind = \"lognormal\", median = \"1s\", p99 = \"2s\" }",
    "{ kind = \"uniform\", min = \"0s\", max = \"10000d\" }",
];
const COUNT_DISTS: &[&str] = &[
    "{ kind = \"constant\", value = 0 }",
    "{ kind = \"constant\", value = 1000000000 }",
    "{ kind = \"geometric\", mean = 1 }",
    "{ kind = \"geometric\", mean = 1000000000 }",
    "{ kind = \"exponential\", mean = 1e-300 }",
    "{ kind = \"lognormal\", median = 1e-300, p99 = 1000000000 }",
    "{ kind = \"uniform\", min = 0, max = 1000000000 }",
];

/// The `--set` arguments the bytes pick: each pair of bytes is (key, value) on the template.
pub fn model_overrides(bytes: &[u8]) -> Vec<String> {
    bytes
        .chunks_exact(2)
        .take(32)
        .map(|pair| {
            let (key, kind) = KEYS[usize::from(pair[0]) % KEYS.len()];
            let pool = match kind {
                Kind::Duration => DURATIONS,
                Kind::Size => SIZES,
                Kind::Number => NUMBERS,
                Kind::Probability => PROBABILITIES,
                Kind::Integer => INTEGERS,
                Kind::DurationDist => DURATION_DISTS,
                Kind::CountDist => COUNT_DISTS,
                Kind::Word(words) => words,
            };
            let value = pool[usize::from(pair[1]) % pool.len()];
            format!("{key}={value}")
        })
        .collect()
}

/// The horizon and event budget every fuzzed run gets, applied after the picked overrides.
pub const MODEL_LIMITS: [&str; 3] = [
    "run.horizon=10m",
    "run.max_events=200000",
    "run.max_open_conversations=10000",
];

/// The template with the picked values, a 10-minute horizon and at most 200,000 events.
pub fn model_scenario(bytes: &[u8]) -> Result<Scenario, Vec<String>> {
    let mut overrides = model_overrides(bytes);
    overrides.extend(MODEL_LIMITS.iter().map(|s| s.to_string()));
    load_bytes(TEMPLATE.as_bytes(), Path::new(FAKE_PATH), &overrides).map_err(|e| e.messages)
}

/// The template with picked values, then, if it validates, a short run: the run may end in a
/// clear error (a limit reached), never a panic.
pub fn model_run(bytes: &[u8]) -> Outcome {
    match model_scenario(bytes) {
        Err(_) => Outcome::Refused,
        Ok(scenario) => match crate::model::run(&scenario) {
            Ok(_) => Outcome::Accepted,
            Err(_) => Outcome::Refused,
        },
    }
}

/// Bytes as a scenario file's `[sweep]` table (the `grid` target): the grid it declares, or
/// `None` when the text is not TOML, has no `[sweep]` table or the table is refused.
pub fn sweep_grid(bytes: &[u8]) -> Option<crate::sweep::Grid> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut diags = super::diag::Diags::new(FAKE_PATH.into());
    let root = super::raw::parse_document(text, &mut diags)?;
    let super::raw::Value::Table(table) = &root.value else {
        return None;
    };
    let sweep = super::sweep::sweep_table(table.get("sweep"), &mut diags);
    if !sweep.present || !diags.is_empty() {
        return None;
    }
    let grid = super::sweep::plain_grid(&sweep.axes);
    grid.check_size().ok()?;
    Some(grid)
}
