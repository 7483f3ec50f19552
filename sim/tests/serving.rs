//! Request mode (`[serving] mode = "request"`) beyond the textbook queues of `erlang_b.rs`:
//! Cloud Run's concurrency term, scale from zero, whole-conversation sessions, sessions lost
//! with their instance, and the reader's rules for the section.

use sim::metrics::report::Summary;
use std::path::Path;

const BASE: &str = r#"
name = "serving"
seed = 7

[run]
horizon = "4h"
warmup = "30m"
sample_interval = "60s"

[traffic]
kind = "constant"
rate_per_s = 20.0

[conversation]
messages = { kind = "constant", value = 1 }
idle_timeout = "0s"
abandon_after = "1000d"

[[agent.steps]]
name = "work"
kind = "tool"
latency = { kind = "exponential", mean = "5s" }
cpu = "0s"
memory = "0B"
start_to_close_timeout = "1000d"

[serving]
mode = "request"
max_concurrency = 10
max_wait = "30s"

[instance]
vcpus = 1
memory_limit = "4GiB"
runtime_memory = "0B"
startup_cpu = "0s"
cold_start = { kind = "constant", value = "5s" }
"#;

fn load(extra: &str, overrides: &[&str]) -> sim::scenario::Scenario {
    let text = format!("{BASE}\n{extra}");
    let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
    match sim::scenario::load_bytes(text.as_bytes(), Path::new("serving.toml"), &overrides) {
        Ok(scenario) => scenario,
        Err(errors) => panic!("{}", errors.messages.join("\n")),
    }
}

fn errors(extra: &str) -> String {
    let text = format!("{BASE}\n{extra}");
    match sim::scenario::load_bytes(text.as_bytes(), Path::new("serving.toml"), &[]) {
        Ok(_) => panic!("expected the scenario to be rejected"),
        Err(errors) => errors.messages.join("\n"),
    }
}

fn run(scenario: &sim::scenario::Scenario) -> sim::metrics::report::RunOutput {
    sim::model::run(scenario).expect("runs")
}

fn requests(summary: &Summary) -> &sim::metrics::report::RequestSummary {
    summary.requests.as_ref().expect("request mode")
}

/// 20 requests/s of 5 s each keep about 100 requests in flight; at 10 slots per instance and
/// Cloud Run's 60% concurrency target the autoscaler wants ceil(100 / 6) = 17 instances, though
/// CPU is idle (no step uses any).
#[test]
fn cloud_run_scales_on_request_concurrency() {
    let scenario = load(
        "[autoscaler]\nkind = \"cloud_run\"\nmin_instances = 1\nmax_instances = 100\n",
        &[],
    );
    let output = run(&scenario);
    let rows = &output.timeseries.rows;
    // The second half of the run, well past the ramp-up.
    let late: Vec<_> = rows.iter().filter(|r| r.t_s >= 7200.0).collect();
    let mean_desired =
        late.iter().map(|r| r.instances_desired as f64).sum::<f64>() / late.len() as f64;
    assert!(
        (16.0..=19.0).contains(&mean_desired),
        "desired instances {mean_desired:.2}, expected about 17"
    );
    assert!(late.iter().all(|r| r.cpu_utilization == 0.0));
    let r = requests(&output.summary);
    assert!(
        r.rejected_fraction < 0.001,
        "rejected {}",
        r.rejected_fraction
    );
    assert!(
        (r.concurrency_mean - 100.0).abs() < 5.0,
        "concurrency {}",
        r.concurrency_mean
    );
    // The scale events name the requests as what they saw.
    assert!(
        output
            .events
            .iter()
            .any(|e| e.kind.name() == "scale_out" && e.detail.contains("requests")),
        "a scale-out driven by requests"
    );
}

/// Scaled to zero, the first request starts an instance; it waits out the cold start (5 s,
/// within `max_wait`) and is served.
#[test]
fn a_request_scales_from_zero() {
    let scenario = load(
        "[autoscaler]\nkind = \"cloud_run\"\nmin_instances = 0\nmax_instances = 10\n\
         initial_instances = 0\n",
        &["traffic.rate_per_s=0.001", "run.warmup=\"0s\""],
    );
    let output = run(&scenario);
    let r = requests(&output.summary);
    assert!(r.requests > 0);
    assert_eq!(r.rejected, 0, "the cold start fits in max_wait");
    assert!(
        r.wait_s.max >= 5.0,
        "the first request waited out the cold start"
    );
    assert!(
        output.events.iter().any(|e| e.kind.name() == "scale_out"),
        "an instance was started for a request"
    );
    // Between calls hours apart the fleet goes back to zero.
    assert_eq!(output.summary.instances.min, 0);
}

/// A voice call holds its slot for the whole conversation, thinking time included: the fleet's
/// concurrency is the arrival rate times the call length (Little's law), not times a turn.
#[test]
fn a_conversation_session_holds_its_slot_between_turns() {
    let scenario = load(
        "[autoscaler]\nkind = \"fixed\"\ninstances = 50\n",
        &[
            "serving.session=\"conversation\"",
            "serving.max_concurrency=100",
            "traffic.rate_per_s=2",
            "conversation.messages={ kind = \"constant\", value = 4 }",
            "conversation.think_time={ kind = \"constant\", value = \"10s\" }",
            "conversation.idle_timeout=\"60s\"",
            "agent.steps.0.latency={ kind = \"constant\", value = \"2s\" }",
        ],
    );
    let output = run(&scenario);
    let r = requests(&output.summary);
    assert_eq!(r.session, "conversation");
    // One request per call, not per message.
    assert_eq!(r.requests, output.summary.conversations.started);
    // A call: 4 turns of 2 s, 3 thinking gaps of 10 s, then the 60 s idle timeout: 98 s.
    let expected = 2.0 * 98.0;
    assert!(
        (r.concurrency_mean - expected).abs() < 0.05 * expected,
        "concurrency {} against {expected}",
        r.concurrency_mean
    );
}

/// An instance killed by OOM drops the sessions on it: their turns fail at once (no retry
/// outside a live session), the customers see no answer, and every count still balances (the
/// end-of-run checkers ran, or the run would be an error).
#[test]
fn an_oom_kill_drops_the_sessions_on_the_instance() {
    let scenario = load(
        "[autoscaler]\nkind = \"fixed\"\ninstances = 4\n",
        &[
            // Each session holds 100 MiB; 11 at once on one instance exceed its 1 GiB.
            "agent.steps.0.memory=\"100MiB\"",
            "instance.memory_limit=\"1GiB\"",
            "serving.max_concurrency=40",
            "traffic.rate_per_s=8",
        ],
    );
    let output = run(&scenario);
    let s = &output.summary;
    let r = requests(s);
    assert!(s.crashes.oom > 0, "instances ran out of memory");
    assert!(r.dropped > 0, "sessions went down with them");
    assert!(s.messages.unanswered > 0, "dropped turns go unanswered");
    assert!(s.checks.conservation);
}

/// A caller who hangs up while the agent is still working leaves the turn running, so when the
/// instance then dies the call must not end under the turn: it ends when the failed turn has
/// reported. Ended at once, its workflow slot went to a new call, which the old turn then
/// "answered" while that call still waited for a slot (found by the swarm: the waiting count
/// drifted from the calls waiting).
#[test]
fn a_call_abandoned_mid_turn_outlives_its_turn_when_the_instance_dies() {
    let scenario = load(
        "[autoscaler]\nkind = \"fixed\"\ninstances = 4\n",
        &[
            "serving.session=\"conversation\"",
            "serving.max_concurrency=12",
            "agent.steps.0.memory=\"100MiB\"",
            "instance.memory_limit=\"1GiB\"",
            "traffic.rate_per_s=8",
            "conversation.messages={ kind = \"constant\", value = 3 }",
            "conversation.think_time={ kind = \"constant\", value = \"2s\" }",
            "conversation.idle_timeout=\"5s\"",
            "conversation.abandon_after=\"4s\"",
        ],
    );
    let output = run(&scenario);
    let s = &output.summary;
    let r = requests(s);
    assert!(s.crashes.oom > 0, "instances ran out of memory");
    assert!(r.dropped > 0, "sessions went down with them");
    assert!(r.withdrawn + r.rejected > 0, "calls waited for a slot");
    assert!(s.checks.conservation);
}

#[test]
fn serving_keys_outside_request_mode_are_errors() {
    let text = BASE.replace("mode = \"request\"", "mode = \"poll\"");
    let error = match sim::scenario::load_bytes(text.as_bytes(), Path::new("serving.toml"), &[]) {
        Ok(_) => panic!("accepted"),
        Err(e) => e.messages.join("\n"),
    };
    assert!(
        error.contains("serving.max_concurrency") && error.contains("only applies with mode"),
        "{error}"
    );
}

#[test]
fn max_concurrency_agrees_with_the_cloud_run_autoscaler() {
    let error = errors("[autoscaler]\nkind = \"cloud_run\"\nmax_concurrency = 80\n");
    assert!(
        error.contains("autoscaler.max_concurrency") && error.contains("differs"),
        "{error}"
    );
    // Written in both places and equal: accepted.
    load(
        "[autoscaler]\nkind = \"cloud_run\"\nmax_concurrency = 10\n",
        &[],
    );
    // Cloud Run allows at most 1000 concurrent requests per instance.
    let text = format!("{BASE}\n[autoscaler]\nkind = \"cloud_run\"\n");
    let over = ["serving.max_concurrency=1001".to_string()];
    let error = match sim::scenario::load_bytes(text.as_bytes(), Path::new("s.toml"), &over) {
        Ok(_) => panic!("accepted 1001 slots on Cloud Run"),
        Err(e) => e.messages.join("\n"),
    };
    assert!(error.contains("serving.max_concurrency"), "{error}");
    // Without an autoscaler.max_concurrency, serving's is the autoscaler's.
    let scenario = load("[autoscaler]\nkind = \"cloud_run\"\n", &[]);
    let sim::scenario::Autoscaler::CloudRun(cloud_run) = &scenario.autoscaler else {
        panic!("cloud_run")
    };
    assert_eq!(cloud_run.max_concurrency, 10);
}

/// An HPA on request concurrency (an AverageValue target of 10 requests per replica) holds the
/// ~100 requests in flight on about 10 replicas; the same metric without request mode is an
/// error, since polling workers receive no requests.
#[test]
fn hpa_scales_on_request_concurrency() {
    let scenario = load(
        "[autoscaler]\nkind = \"hpa\"\nmetric = \"concurrency\"\ntarget_average_value = 10\n\
         min_replicas = 1\nmax_replicas = 50\n",
        &[],
    );
    let output = run(&scenario);
    let late: Vec<_> = output
        .timeseries
        .rows
        .iter()
        .filter(|r| r.t_s >= 7200.0)
        .collect();
    let mean_desired =
        late.iter().map(|r| r.instances_desired as f64).sum::<f64>() / late.len() as f64;
    assert!(
        (9.0..=12.5).contains(&mean_desired),
        "desired replicas {mean_desired:.2}, expected about 10"
    );
    let text = BASE
        .replace("mode = \"request\"", "mode = \"poll\"")
        .replace("max_concurrency = 10\nmax_wait = \"30s\"\n", "")
        + "[autoscaler]\nkind = \"hpa\"\nmetric = \"concurrency\"\ntarget_average_value = 10\n\
         max_replicas = 5\n";
    let error = match sim::scenario::load_bytes(text.as_bytes(), Path::new("s.toml"), &[]) {
        Ok(_) => panic!("accepted a concurrency HPA on pollers"),
        Err(e) => e.messages.join("\n"),
    };
    assert!(
        error.contains("autoscaler.metric") && error.contains("request"),
        "{error}"
    );
}
