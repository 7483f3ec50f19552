//! Workload mixes (`[[workloads]]`): common random numbers per workload, per-workload outputs
//! and SLOs, the reader's rules, and the resolved TOML round trip.
//!
//! The CRN test is the issue's acceptance: changing workload B ("chat") or the fleet leaves
//! workload A's ("voice") arrivals, messages, think times and tokens identical, while its
//! latency does change (so the test is not vacuous).

use sim::metrics::report::WorkloadSummary;
use sim::model::{RunOptions, WorkloadRecord, run_with};
use sim::scenario::Scenario;
use std::path::{Path, PathBuf};

fn mixed_fleet_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/examples/mixed-fleet.toml")
}

/// 90 minutes, with the voice traffic stopping at 60: every voice conversation ends well
/// before the horizon, so no edge effect can make one run see a turn the other does not.
fn mixed_fleet(overrides: &[&str]) -> Scenario {
    let mut all: Vec<String> = vec![
        "run.horizon=90m".into(),
        "workloads.1.traffic={ kind = \"piecewise\", points = [{ at = \"0s\", rate_per_s = 0.2 }, { at = \"60m\", rate_per_s = 0 }] }".into(),
    ];
    all.extend(overrides.iter().map(|s| s.to_string()));
    sim::scenario::load(&mixed_fleet_path(), &all).unwrap_or_else(|e| panic!("{e}"))
}

/// The voice workload's records (arrivals, messages, think times) and its summary.
fn voice(scenario: &Scenario) -> (Vec<WorkloadRecord>, WorkloadSummary) {
    let index = scenario
        .workloads
        .iter()
        .position(|w| w.name.as_deref() == Some("voice"))
        .expect("a voice workload") as u32;
    let (output, records) = run_with(
        scenario,
        &RunOptions {
            record_workload: true,
        },
    )
    .expect("runs");
    let records = records
        .into_iter()
        .filter(|r| r.workload == index)
        .map(|r| WorkloadRecord { workload: 0, ..r })
        .collect();
    let summary = output
        .summary
        .workloads
        .iter()
        .find(|w| w.name == "voice")
        .expect("voice in the summary")
        .clone();
    (records, summary)
}

/// Same customers: the same arrivals (draw key, time, messages) and think times.
fn assert_same_customers(base: &[WorkloadRecord], other: &[WorkloadRecord], what: &str) {
    assert_eq!(base.len(), other.len(), "{what}: arrivals");
    for (a, b) in base.iter().zip(other) {
        assert_eq!(
            (a.index, a.arrived_at, a.messages),
            (b.index, b.arrived_at, b.messages),
            "{what}"
        );
        assert_eq!(a.think_times, b.think_times, "{what}");
    }
}

#[test]
fn changing_another_workload_or_the_fleet_leaves_a_workloads_customers_unchanged() {
    let (base_records, base) = voice(&mixed_fleet(&[]));
    assert!(base.messages.received > 1000, "{base:?}");
    assert_eq!(base.conversations.open_at_end, 0, "{base:?}");
    assert_eq!(
        base.messages.unanswered, 0,
        "the base run answers every voice turn"
    );

    let mut without_chat = mixed_fleet(&[]);
    without_chat
        .workloads
        .retain(|w| w.name.as_deref() != Some("chat"));
    without_chat.slos.retain(|s| s.workload.is_none());
    let variants: Vec<(&str, Scenario)> = vec![
        (
            "chat traffic tripled",
            mixed_fleet(&["workloads.0.traffic.multiplier=3"]),
        ),
        (
            "chat program changed",
            mixed_fleet(&[
                "workloads.0.agent.steps.0.output_tokens={ kind = \"constant\", value = 900 }",
                "workloads.0.agent.steps.1.failure_probability=0.3",
            ]),
        ),
        (
            "fleet changed",
            mixed_fleet(&[
                "temporal.workflow_task_cpu=20ms",
                "autoscaler.max_instances=2",
                "instance.vcpus=1",
            ]),
        ),
        ("chat removed", without_chat),
    ];
    let mut latency_moved = false;
    for (what, scenario) in &variants {
        let (records, summary) = voice(scenario);
        assert_same_customers(&base_records, &records, what);
        assert_eq!(summary.messages.unanswered, 0, "{what}");
        assert_eq!(
            (
                summary.conversations.started,
                summary.messages.received,
                summary.input_tokens,
                summary.cached_input_tokens,
                summary.output_tokens,
                summary.llm_calls,
            ),
            (
                base.conversations.started,
                base.messages.received,
                base.input_tokens,
                base.cached_input_tokens,
                base.output_tokens,
                base.llm_calls,
            ),
            "{what}: the voice workload's customers and tokens"
        );
        latency_moved |= summary.response_latency_s != base.response_latency_s;
    }
    assert!(
        latency_moved,
        "no variant changed the voice workload's latency: the test would pass vacuously"
    );
}

#[test]
fn per_workload_figures_add_up_to_the_fleet() {
    let scenario = mixed_fleet(&[]);
    let output = sim::model::run(&scenario).expect("runs");
    let s = &output.summary;
    assert_eq!(s.workloads.len(), 2);
    let sum = |f: fn(&WorkloadSummary) -> u64| s.workloads.iter().map(f).sum::<u64>();
    assert_eq!(sum(|w| w.conversations.started), s.conversations.started);
    assert_eq!(
        sum(|w| w.conversations.completed),
        s.conversations.completed
    );
    assert_eq!(sum(|w| w.messages.received), s.messages.received);
    assert_eq!(sum(|w| w.messages.answered), s.messages.answered);
    assert_eq!(sum(|w| w.messages.unanswered), s.messages.unanswered);
    assert_eq!(sum(|w| w.tool_calls), s.agent.tool_calls);
    let input: u64 = s.llm_calls.values().map(|c| c.input_tokens).sum();
    let output_tokens: u64 = s.llm_calls.values().map(|c| c.output_tokens).sum();
    assert_eq!(sum(|w| w.input_tokens), input);
    assert_eq!(sum(|w| w.output_tokens), output_tokens);
    let llm: f64 = s.workloads.iter().map(|w| w.cost_usd.llm).sum();
    let tools: f64 = s.workloads.iter().map(|w| w.cost_usd.tools).sum();
    assert!((llm - s.cost_usd.llm).abs() <= 1e-9 * s.cost_usd.llm.max(1.0));
    assert!((tools - s.cost_usd.tools).abs() <= 1e-9);
    let share: f64 = s.workloads.iter().map(|w| w.cpu_share).sum();
    assert!((share - 1.0).abs() < 1e-9, "{share}");
    assert!(s.workloads.iter().all(|w| w.cpu_s > 0.0));
    // Steps are named per workload.
    assert!(s.steps.contains_key("voice.tts"), "{:?}", s.steps.keys());
    assert!(s.steps.contains_key("chat.plan"));
    // The voice workload has a budget and the chat has none: the fleet's share counts the
    // voice turns only.
    assert!(s.agent.response_within_budget_fraction.is_some());
    let voice = &s.workloads[1];
    assert_eq!(
        s.agent.response_within_budget_fraction,
        voice.response_within_budget_fraction
    );
    // Per-workload SLOs read the workload's own figures.
    let chat_p95 = s
        .slo
        .iter()
        .find(|r| r.name == "chat.response_latency_p95_s")
        .expect("the chat SLO");
    assert_eq!(chat_p95.value, s.workloads[0].response_latency_s.p95);
}

#[test]
fn a_scenario_with_one_unnamed_workload_reports_no_workloads() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/examples/support-agent.toml");
    let scenario = sim::scenario::load(&path, &["run.horizon=20m".into()]).expect("loads");
    let output = sim::model::run(&scenario).expect("runs");
    assert!(output.summary.workloads.is_empty());
    let json = serde_json::to_string(&output.summary).expect("serialises");
    assert!(!json.contains("\"workloads\""));
}

#[test]
fn the_resolved_toml_of_a_workload_mix_loads_back_to_the_same_scenario() {
    let original = mixed_fleet(&[]);
    let text = sim::scenario::to_resolved_toml(&original);
    assert!(text.contains("[[workloads]]"), "{text}");
    assert!(text.contains("[[workloads.agent.steps]]"), "{text}");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("resolved.toml");
    std::fs::write(&path, &text).expect("write");
    let reloaded = sim::scenario::load(&path, &[]).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(reloaded, original);
}

fn errors(text: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).expect("write");
    match sim::scenario::load(&path, &[]) {
        Ok(_) => panic!("loaded:\n{text}"),
        Err(e) => e.to_string(),
    }
}

const TWO: &str = r#"
[[workloads]]
name = "a"
[workloads.traffic]
kind = "constant"
rate_per_s = 1
[[workloads.agent.steps]]
name = "s"
kind = "tool"
latency = { kind = "constant", value = "1s" }

[[workloads]]
name = "b"
[workloads.traffic]
kind = "constant"
rate_per_s = 1
[[workloads.agent.steps]]
name = "s"
kind = "tool"
latency = { kind = "constant", value = "1s" }
"#;

#[test]
fn the_reader_names_the_key_of_every_workload_mistake() {
    // Both forms at once.
    let e = errors(&format!(
        "[traffic]\nkind = \"constant\"\nrate_per_s = 1\n{TWO}"
    ));
    assert!(
        e.contains("traffic: [traffic] cannot be used with [[workloads]]"),
        "{e}"
    );
    // A duplicate name, a bad name, a missing name.
    let e = errors(&TWO.replace("name = \"b\"", "name = \"a\""));
    assert!(
        e.contains("workloads.1.name: workload name \"a\" is used twice"),
        "{e}"
    );
    // A `--set` that renames the first workload onto the second's name is what is blamed.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.toml");
    std::fs::write(&path, TWO).expect("write");
    let e = sim::scenario::load(&path, &["workloads.0.name=b".to_string()])
        .expect_err("two workloads named b")
        .to_string();
    let line = TWO.lines().position(|l| l == "name = \"b\"").expect("b") + 1;
    assert!(
        e.contains(&format!(
            "s.toml: --set workloads.0.name=b: workloads.0.name: workload name \"b\" is used \
             twice (also at {line}:8)"
        )),
        "{e}"
    );
    let e = errors(&TWO.replace("name = \"b\"", "name = \"b c\""));
    assert!(
        e.contains("workloads.1.name: expected at most 64 letters"),
        "{e}"
    );
    let e = errors(&TWO.replace("name = \"b\"\n", ""));
    assert!(e.contains("workloads.1.name"), "{e}");
    // A missing traffic table names the workload's key.
    let without_traffic = TWO.replacen(
        "[workloads.traffic]\nkind = \"constant\"\nrate_per_s = 1\n",
        "",
        1,
    );
    let e = errors(&without_traffic);
    assert!(
        e.contains("workloads.0.traffic: missing required table, expected [workloads.traffic]"),
        "{e}"
    );
    // A misspelt key inside a workload's table.
    let e = errors(&TWO.replacen("rate_per_s = 1", "rate_per_sec = 1", 1));
    assert!(e.contains("workloads.0.traffic.rate_per_sec"), "{e}");
    // An SLO on an unknown workload, and a fleet metric per workload.
    let e = errors(&format!(
        "{TWO}\n[[slo]]\nworkload = \"c\"\nmetric = \"response_latency_p95_s\"\nmax = 1\n"
    ));
    assert!(
        e.contains("slo.0.workload: no workload is named \"c\""),
        "{e}"
    );
    let e = errors(&format!(
        "{TWO}\n[[slo]]\nworkload = \"a\"\nmetric = \"oom_crashes\"\nmax = 1\n"
    ));
    assert!(
        e.contains("slo.0.workload: oom_crashes is a fleet metric"),
        "{e}"
    );
    // An empty [[workloads]] array is refused.
    let e = errors("workloads = []\n");
    assert!(
        e.contains("expected at least one [[workloads]] table"),
        "{e}"
    );
}

#[test]
fn a_timeline_set_can_change_a_workloads_values_but_not_the_workloads() {
    let ok = format!(
        "[run]\nhorizon = \"1h\"\n{TWO}\n[[timeline]]\nat = \"10m\"\nset = {{ \"workloads.1.traffic.multiplier\" = 2.0 }}\n"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.toml");
    std::fs::write(&path, &ok).expect("write");
    let scenario = sim::scenario::load(&path, &[]).unwrap_or_else(|e| panic!("{e}"));
    let output = sim::model::run(&scenario).expect("runs");
    let (a, b) = (&output.summary.workloads[0], &output.summary.workloads[1]);
    // b's rate doubles after 10 minutes: about 6,600 arrivals against a's 3,600.
    assert!(
        b.conversations.started as f64 > 1.6 * a.conversations.started as f64,
        "{a:?} {b:?}"
    );
    let renamed = ok.replace(
        "\"workloads.1.traffic.multiplier\" = 2.0",
        "\"workloads.1.name\" = \"z\"",
    );
    let e = errors(&renamed);
    assert!(
        e.contains("a timeline set cannot add, remove or rename workloads"),
        "{e}"
    );
}
