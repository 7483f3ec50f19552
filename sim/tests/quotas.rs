//! Acceptance tests of provider quotas (`requests_per_minute`, `tokens_per_minute`,
//! `max_concurrent_requests`): under a steady offered load of twice the quota, the provider
//! admits exactly its quota per minute and the rest fail over or retry as configured; a
//! concurrency limit is never exceeded. Arrivals are deterministic (a trace, one conversation
//! of one single-LLM-call turn every 0.5 s) and every latency is constant, so the figures are
//! exact and a test compares them with the quota, per time-series window.

use sim::metrics::report::{QuotaSample, RunOutput, Summary};
use sim::scenario::Scenario;
use std::fs;

/// Arrivals every 0.5 s (120 a minute) until `arrivals_s`.
const ARRIVALS_S: u64 = 600;
const HORIZON_S: u64 = 720;

/// One conversation of one turn every 0.5 s, its one LLM step on group `main` (100 input and
/// 20 output tokens), retries as `retry`, and the providers and group of `providers`; no CPU,
/// cache or memory cost; slots to spare.
fn scenario(providers: &str, retry: &str) -> String {
    format!(
        r#"
name = "quotas"
seed = 7

[run]
horizon = "{HORIZON_S}s"
sample_interval = "60s"

[traffic]
kind = "trace"
csv = "arrivals.csv"

[conversation]
messages = {{ kind = "constant", value = 1 }}
think_time = {{ kind = "constant", value = "1s" }}
idle_timeout = "0s"
abandon_after = "1000d"

[agent]
steps = [
    {{ kind = "llm", name = "answer", cpu = "0s", group = "main", input_tokens = {{ kind = "constant", value = 100 }}, output_tokens = {{ kind = "constant", value = 20 }} }},
]

[activity]
start_to_close_timeout = "1000d"
memory = "0B"

[retry]
{retry}

[temporal]
max_concurrent_activities = 1000000
max_concurrent_workflow_tasks = 1000000
cache_size = 1000000
workflow_task_cpu = "0s"
replay_cpu_per_event = "0s"
history_fetch_base = "0s"
history_fetch_per_page = "0s"
cached_workflow_memory = "0B"
cached_memory_per_event = "0B"

[instance]
vcpus = 1
memory_limit = "1TiB"
runtime_memory = "0B"
startup_cpu = "0s"

[autoscaler]
kind = "fixed"
instances = 1

{providers}
"#
    )
}

/// A provider with a constant 1 s TTFT (1.2 s per call with 20 output tokens) and `extra`
/// keys.
fn provider(name: &str, extra: &str) -> String {
    format!(
        "[providers.{name}]\nttft = {{ kind = \"constant\", value = \"1s\" }}\n\
         output_tokens_per_s = 100\ntimeout = \"1d\"\n{extra}\n"
    )
}

const NO_RETRY: &str = "maximum_attempts = 1";

fn load(text: &str) -> Scenario {
    let dir = tempfile::tempdir().expect("tempdir");
    let arrivals: String = (0..ARRIVALS_S * 2)
        .map(|i| format!("{}\n", i as f64 * 0.5 + 0.25))
        .collect();
    fs::write(dir.path().join("arrivals.csv"), arrivals).expect("write arrivals");
    let path = dir.path().join("quotas.toml");
    fs::write(&path, text).expect("write scenario");
    sim::scenario::load(&path, &[]).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn run(scenario: &Scenario) -> RunOutput {
    let output =
        sim::model::run(scenario).unwrap_or_else(|e| panic!("seed {}: {e}", scenario.seed));
    assert!(output.summary.checks.conservation);
    assert_eq!(output.summary.messages.in_flight_at_end, 0);
    output
}

/// The quota samples of the provider with a quota (the only one), one per minute.
fn samples(output: &RunOutput) -> Vec<QuotaSample> {
    assert_eq!(output.timeseries.quotas.len(), 1);
    output.timeseries.rows.iter().map(|r| r.quota[0]).collect()
}

/// Attempts admitted by `provider`'s quota: its attempts minus its quota 429s.
fn admitted(summary: &Summary, provider: &str) -> u64 {
    let calls = &summary.llm_calls[provider];
    calls.calls - calls.quota.as_ref().map_or(0, |q| q.rejected)
}

/// Windows 3 to 10 (t = 120 s to 600 s): the bucket's first full minute is spent and the
/// offered load is steady. Each admitted `quota` ± 1 (the fraction of a request refilled
/// across a window's edge).
fn assert_steady_windows_admit(
    samples: &[QuotaSample],
    quota: f64,
    used: impl Fn(&QuotaSample) -> f64,
) {
    let per_window: Vec<f64> = samples.iter().map(|q| used(q) * quota).collect();
    let rejected: Vec<u64> = samples.iter().map(|q| q.rejected).collect();
    eprintln!("admitted per minute {per_window:?}, 429s per minute {rejected:?}");
    for (window, sample) in samples.iter().enumerate().take(10).skip(2) {
        let admitted = used(sample) * quota;
        assert!(
            (admitted - quota).abs() <= 1.0 + 1e-9,
            "window {window}: {admitted} admitted, quota {quota} a minute ({samples:?})"
        );
        assert!(sample.rejected > 0, "window {window}: the excess gets 429s");
    }
}

#[test]
fn requests_per_minute_admits_the_quota_and_the_excess_fails_over() {
    let providers = format!(
        "{}{}[provider_groups]\nmain = [\"primary\", \"backup\"]\n",
        provider("primary", "requests_per_minute = 60"),
        provider("backup", "")
    );
    let output = run(&load(&scenario(&providers, NO_RETRY)));
    let s = &output.summary;
    let samples = samples(&output);
    assert_steady_windows_admit(&samples, 60.0, |q| q.requests_used.unwrap());
    // Offered 2R = 120 a minute: half fail over (after the first minute's saved-up quota).
    let quota = s.llm_calls["primary"].quota.clone().unwrap();
    assert_eq!(quota.rejected, quota.rejected_requests_per_minute);
    assert_eq!(
        s.llm_calls["primary"].calls, 1200,
        "every turn tries primary first"
    );
    assert_eq!(
        s.llm_calls["backup"].calls, quota.rejected,
        "every 429 fails over"
    );
    assert_eq!(
        s.llm_calls["primary"].rate_limited, 0,
        "no timeline incident"
    );
    // 60 at once (the full bucket) + 1 a second over the 600 s of arrivals.
    let admitted = admitted(s, "primary");
    assert!(
        (admitted as i64 - 660).abs() <= 1,
        "{admitted} admitted over 600 s at 60 a minute plus a full bucket"
    );
    assert_eq!(s.messages.answered, 1200, "failover answers every turn");
    assert_eq!(s.activities.retries, 0);
}

#[test]
fn requests_per_minute_admits_the_quota_and_the_excess_retries() {
    let providers = format!(
        "{}[provider_groups]\nmain = [\"primary\"]\n",
        provider("primary", "requests_per_minute = 60")
    );
    let retry = "maximum_attempts = 3\ninitial_interval = \"2s\"\nbackoff_coefficient = 2.0";
    let output = run(&load(&scenario(&providers, retry)));
    let s = &output.summary;
    assert_steady_windows_admit(&samples(&output), 60.0, |q| q.requests_used.unwrap());
    let quota = s.llm_calls["primary"].quota.clone().unwrap();
    let a = &s.activities;
    // Every admitted attempt succeeds; every 429 is a failed attempt, retried until the third.
    assert_eq!(a.attempts_completed, admitted(s, "primary"));
    assert_eq!(a.attempts_failed, quota.rejected);
    assert_eq!(a.retries, a.attempts_failed - a.failed);
    assert!(a.retries > 0 && a.failed > 0);
    assert_eq!(a.completed + a.failed, 1200);
    assert_eq!(s.messages.unanswered, a.failed);
    // The retries compete for the same quota: 60 a minute + the full bucket, plus what
    // refills while the last retries (up to 2 s + 4 s after the last arrival) still come.
    let admitted = admitted(s, "primary");
    assert!(
        (660..=667).contains(&admitted),
        "{admitted} admitted over 600 s (+ 6 s of retries) at 60 a minute plus a full bucket"
    );
}

#[test]
fn a_quota_behind_a_failing_provider_admits_attempts_at_their_own_start() {
    // Every call first spends 1 s on a provider that errors, then reaches the quota: the
    // attempts on `limited` start 1 s after their calls and are admitted then, in time order.
    let providers = format!(
        "{}{}[provider_groups]\nmain = [\"broken\", \"limited\"]\n",
        provider("broken", "error_probability = 1.0"),
        provider("limited", "requests_per_minute = 60")
    );
    let output = run(&load(&scenario(&providers, NO_RETRY)));
    let s = &output.summary;
    assert_steady_windows_admit(&samples(&output), 60.0, |q| q.requests_used.unwrap());
    assert_eq!(s.llm_calls["broken"].errors, 1200);
    assert_eq!(s.llm_calls["limited"].calls, 1200);
    assert_eq!(s.messages.answered, admitted(s, "limited"));
    // Same seed, same bytes.
    let again = run(&load(&scenario(&providers, NO_RETRY)));
    assert_eq!(output.summary, again.summary);
    assert_eq!(output.timeseries, again.timeseries);
}

#[test]
fn tokens_per_minute_admits_the_quota_in_tokens() {
    // 120 tokens a call (100 in + 20 out), 7,200 tokens a minute: 60 calls a minute.
    let providers = format!(
        "{}{}[provider_groups]\nmain = [\"primary\", \"backup\"]\n",
        provider("primary", "tokens_per_minute = 7200"),
        provider("backup", "")
    );
    let output = run(&load(&scenario(&providers, NO_RETRY)));
    let s = &output.summary;
    let samples = samples(&output);
    assert!(samples.iter().all(|q| q.requests_used.is_none()));
    // 7,200 tokens a minute ± one call's 120 tokens.
    assert_steady_windows_admit(&samples, 60.0, |q| q.tokens_used.unwrap());
    let quota = s.llm_calls["primary"].quota.clone().unwrap();
    assert_eq!(quota.rejected, quota.rejected_tokens_per_minute);
    assert_eq!(s.llm_calls["backup"].calls, quota.rejected);
    // Tokens are counted for the admitted (successful) calls only.
    assert_eq!(
        s.llm_calls["primary"].input_tokens,
        100 * admitted(s, "primary")
    );
    assert_eq!(s.messages.answered, 1200);
}

#[test]
fn a_concurrency_limit_is_never_exceeded_and_the_excess_gets_429s() {
    // Calls of 10.2 s at 2 a second want about 20 in flight; the limit is 5.
    let slow = |name: &str, extra: &str| {
        format!(
            "[providers.{name}]\nttft = {{ kind = \"constant\", value = \"10s\" }}\n\
             output_tokens_per_s = 100\ntimeout = \"1d\"\n{extra}\n"
        )
    };
    let providers = format!(
        "{}{}[provider_groups]\nmain = [\"primary\", \"backup\"]\n",
        slow("primary", "max_concurrent_requests = 5"),
        slow("backup", "")
    );
    let output = run(&load(&scenario(&providers, NO_RETRY)));
    let s = &output.summary;
    let samples = samples(&output);
    for (window, q) in samples.iter().enumerate().take(10) {
        assert_eq!(q.in_flight_max, Some(5), "window {window}: {samples:?}");
        assert!(q.requests_used.is_none() && q.tokens_used.is_none());
        assert!(q.rejected > 0);
    }
    let quota = s.llm_calls["primary"].quota.clone().unwrap();
    assert_eq!(quota.rejected, quota.rejected_concurrency);
    assert_eq!(s.llm_calls["backup"].calls, quota.rejected);
    // Five slots of 10.2 s, taken by the next arrival (every 0.5 s) after each frees up: a
    // slot turns over every 10.5 s, so 600 s admit about 5 x 600 / 10.5 = 286.
    let admitted = admitted(s, "primary");
    assert!(
        (admitted as i64 - 286).abs() <= 5,
        "{admitted} admitted with 5 slots of 10.5 s over 600 s"
    );
    assert_eq!(s.messages.answered, 1200);
}

#[test]
fn a_timeline_set_adds_a_quota_whose_columns_exist_from_the_start() {
    // No quota until 300 s; then 60 a minute, starting full: window 5 (300 s to 360 s) admits
    // the full bucket and a minute's refill, later windows 60.
    let providers = format!(
        "{}{}[provider_groups]\nmain = [\"primary\", \"backup\"]\n\n[[timeline]]\nat = \"300s\"\n\
         set = {{ \"providers.primary.requests_per_minute\" = 60 }}\n",
        provider("primary", ""),
        provider("backup", "")
    );
    let output = run(&load(&scenario(&providers, NO_RETRY)));
    let header = sim::output::timeseries_header(&output.timeseries);
    assert!(header.contains(&"llm_quota_429s_primary".to_string()));
    assert!(header.contains(&"llm_requests_quota_used_primary".to_string()));
    assert!(
        !header
            .iter()
            .any(|c| c.contains("backup") && c.contains("quota"))
    );
    let samples = samples(&output);
    for sample in &samples[..5] {
        assert_eq!(sample.rejected, 0);
        assert_eq!(
            sample.requests_used, None,
            "no quota in force: an empty cell"
        );
    }
    let admitted: Vec<f64> = samples[5..10]
        .iter()
        .map(|q| q.requests_used.unwrap() * 60.0)
        .collect();
    eprintln!("admitted per minute from 300 s: {admitted:?}");
    assert!((admitted[0] - 119.0).abs() <= 1.0, "{admitted:?}");
    for a in &admitted[1..] {
        assert!((a - 60.0).abs() <= 1.0, "{admitted:?}");
    }
    assert_eq!(output.summary.messages.answered, 1200);
    // In the file: an empty cell before the quota, the share used after it.
    let csv = String::from_utf8(sim::output::timeseries_csv(&output.timeseries)).unwrap();
    let lines: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    let column = |name: &str| lines[0].iter().position(|c| *c == name).unwrap();
    let used = column("llm_requests_quota_used_primary");
    let rejected = column("llm_quota_429s_primary");
    assert_eq!((lines[1][used], lines[1][rejected]), ("", "0"));
    assert_eq!((lines[8][used], lines[8][rejected]), ("1", "60"));
}
