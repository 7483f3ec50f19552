//! Determinism and common random numbers, through the library: the same scenario and seed give
//! identical results; another seed gives different ones; fleet settings do not change the
//! customers (arrivals, messages, think times). Byte-identical output files are checked in the
//! CLI tests.

use sim::model::{RunOptions, run_with};
use std::path::Path;

fn support_agent(overrides: &[&str]) -> sim::scenario::Scenario {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/examples/support-agent.toml");
    let mut all: Vec<String> = vec!["run.horizon=2h".into()];
    all.extend(overrides.iter().map(|s| s.to_string()));
    sim::scenario::load(&path, &all).expect("support-agent.toml loads")
}

fn run_recorded(
    scenario: &sim::scenario::Scenario,
) -> (
    sim::metrics::report::RunOutput,
    Vec<sim::model::WorkloadRecord>,
) {
    run_with(
        scenario,
        &RunOptions {
            record_workload: true,
        },
    )
    .expect("runs")
}

#[test]
fn the_same_seed_gives_the_same_run_and_another_seed_does_not() {
    let scenario = support_agent(&[]);
    let (first, first_workload) = run_recorded(&scenario);
    let (second, second_workload) = run_recorded(&scenario);
    assert_eq!(first.summary, second.summary);
    assert_eq!(first.timeseries, second.timeseries);
    assert_eq!(first.events, second.events);
    assert_eq!(first_workload, second_workload);
    let mut reseeded = scenario.clone();
    reseeded.seed += 1;
    let (other, other_workload) = run_recorded(&reseeded);
    assert_ne!(first.summary, other.summary);
    assert_ne!(first_workload, other_workload);
}

#[test]
fn a_run_watched_by_a_progress_bar_gives_the_same_outputs() {
    let scenario = support_agent(&[]);
    let progress = sim::progress::RunProgress::default();
    let watched = sim::model::run_observed(&scenario, &progress).expect("runs");
    let plain = sim::model::run(&scenario).expect("runs");
    assert_eq!(watched.summary, plain.summary);
    assert_eq!(watched.timeseries, plain.timeseries);
    assert_eq!(watched.events, plain.events);
    // The bar saw the run to its end.
    let seen =
        |value: &std::sync::atomic::AtomicU64| value.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(seen(&progress.now_ns), scenario.run.horizon);
    assert_eq!(seen(&progress.events), plain.summary.events_processed);
}

#[test]
fn fleet_settings_leave_the_customers_unchanged() {
    let base = support_agent(&[]);
    let (base_output, base_workload) = run_recorded(&base);
    for changed in [
        support_agent(&["temporal.cache_size=50"]),
        support_agent(&[
            "autoscaler.min_instances=6",
            "autoscaler.max_instances=6",
            "autoscaler.initial_instances=6",
        ]),
        support_agent(&["instance.vcpus=4", "instance.memory_limit=8GiB"]),
    ] {
        let (output, workload) = run_recorded(&changed);
        assert_ne!(
            output.summary, base_output.summary,
            "the fleet change had an effect"
        );
        // Arrival times, message counts and the think times drawn so far are identical;
        // a slower fleet may simply not have reached as many replies by the horizon.
        assert_eq!(workload.len(), base_workload.len());
        for (a, b) in workload.iter().zip(&base_workload) {
            assert_eq!(
                (a.index, a.arrived_at, a.messages),
                (b.index, b.arrived_at, b.messages)
            );
            let common = a.think_times.len().min(b.think_times.len());
            assert_eq!(a.think_times[..common], b.think_times[..common]);
        }
    }
}
