//! `cargo xtask swarm --runs N --seed S [--index I]`: swarm testing (TigerBeetle's VOPR habit).
//! Each run generates a random valid scenario from (seed, index) across the whole feature space
//! (every traffic kind, every distribution kind, agent programs nested 2-3 deep, retries,
//! Temporal, instances with OOM, leaks and GC, every autoscaler kind, providers with errors,
//! timeouts and failover, SLOs, timeline sets, deploys and incidents; one scenario in four is a
//! workload mix of 2-3 `[[workloads]]`, each with its own traffic, conversation and program,
//! with timeline sets and SLOs addressing one workload), runs it for 5-30 simulated minutes,
//! and checks:
//!
//! - the end-of-run checkers inside `sim::model::run` (conservation, Little's law): a failed
//!   check comes back as `RunError::CheckFailed`;
//! - no panic (caught with `catch_unwind`), in the loader or the run;
//! - determinism: the same scenario run twice gives byte-identical `summary.json`;
//! - the resolved scenario (`scenario.resolved.toml`) loads and runs to the same summary;
//! - output invariants: no NaN or infinity in the summary, answered + unanswered <= received,
//!   latency percentiles in order, CPU utilisation in [0, 1] in every time-series row,
//!   completed <= started conversations, every cost >= 0 and the total their sum;
//! - for a mix: the workloads' figures add up to the fleet's (conversations, messages, answered
//!   latencies and turns within budget, LLM and tool calls, tokens per provider, LLM and tool
//!   cost), each workload's messages and conversations balance, `cpu_share` sums to 1 (or all
//!   0); without `[[workloads]]`, summary.json has no `workloads`;
//! - common random numbers per workload, on every mix whose index is a multiple of 10: rerun
//!   with workload 0's traffic stopped or doubled (or on one vCPU), the other workloads (every
//!   workload) get the same customers: arrivals, draw keys and message counts.
//!
//! A finding prints the one command that reproduces it and writes the scenario to
//! `target/swarm/failure-S-I.toml` (loadable with `sim run`). A scenario the loader refuses is
//! a generator bug: counted and shown, not a finding; except a refusal for the up-front event
//! estimate alone (`run.max_events`), whose promise (the run would need more) is checked by
//! running it with four times the limit: a run within the limit after all is a finding. A run
//! that reaches a limit (`run.max_events`) is counted, not a finding.

use rand::Rng as _;
use sim::engine::rng::{self, Rng};
use sim::model::{RunError, RunOptions, WorkloadRecord};
use std::cell::RefCell;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const USAGE: &str =
    "usage: cargo xtask swarm [--runs N] [--seed S] [--index I] [--threads T] [--print]";

/// The random stream of the generator ("SWARM"), apart from any stream of the model.
const STREAM: u64 = 0x53_5741_524D;
/// The stream that decides whether a scenario is a workload mix ("SWARMMIX").
const MIX_STREAM: u64 = 0x5357_4152_4D4D_4958;

struct Options {
    runs: u64,
    seed: u64,
    index: Option<u64>,
    threads: usize,
    /// Print each generated scenario (with `--index`: the one to read).
    print: bool,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        runs: 100,
        seed: 1,
        index: None,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        print: false,
    };
    let mut args = args.iter();
    let number = |value: Option<&String>, name: &str| -> Result<u64, String> {
        let value = value.ok_or(USAGE)?;
        value
            .parse()
            .map_err(|_| format!("{name}: expected a non-negative integer, found {value:?}"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => options.runs = number(args.next(), "--runs")?,
            "--seed" => options.seed = number(args.next(), "--seed")?,
            "--index" => options.index = Some(number(args.next(), "--index")?),
            "--threads" => options.threads = number(args.next(), "--threads")?.max(1) as usize,
            "--print" => options.print = true,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(options)
}

/// What one generated scenario led to.
enum Outcome {
    /// Ran, every check held.
    Passed { events: u64, conversations: u64 },
    /// Reached a run limit (`max_events`, `max_open_conversations`), or was refused up front
    /// for an event estimate over `max_events` that a run with a higher limit bears out: not a
    /// finding.
    Limit,
    /// The loader refused the generated text: a generator bug.
    Invalid(String),
    /// A finding: a panic, a failed checker, non-determinism or a broken invariant.
    Finding(String),
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let options = options(args)?;
    let dir = root.join("target").join("swarm");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    write_csvs(&dir)?;
    // A panic is a finding: keep its message and location for the report instead of printing it.
    std::panic::set_hook(Box::new(|info| {
        let message = if let Some(s) = info.payload().downcast_ref::<&str>() {
            s.to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "(non-string panic payload)".to_string()
        };
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        PANIC.with(|p| *p.borrow_mut() = Some(format!("{message}{location}")));
    }));

    let indices: Vec<u64> = match options.index {
        Some(index) => vec![index],
        None => (0..options.runs).collect(),
    };
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(u64, Outcome)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..options.threads.min(indices.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&index) = indices.get(i) else { break };
                    let text = generate(options.seed, index);
                    if options.print {
                        println!("{text}");
                    }
                    let outcome = check(&text, &dir, options.seed, index);
                    if let Outcome::Finding(why) = &outcome {
                        report_finding(&dir, options.seed, index, &text, why);
                    }
                    results.lock().unwrap().push((index, outcome));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(index, _)| *index);
    let (mut passed, mut limits, mut invalid, mut findings) = (0u64, 0u64, 0u64, 0u64);
    let (mut events, mut conversations) = (0u64, 0u64);
    for (index, outcome) in &results {
        match outcome {
            Outcome::Passed {
                events: e,
                conversations: c,
            } => {
                passed += 1;
                events += e;
                conversations += c;
            }
            Outcome::Limit => limits += 1,
            Outcome::Invalid(why) => {
                invalid += 1;
                if invalid <= 3 {
                    eprintln!(
                        "swarm: generator bug, seed {} index {index} refused by the loader:\n{why}",
                        options.seed
                    );
                }
            }
            Outcome::Finding(_) => findings += 1,
        }
    }
    let runs = results.len() as u64;
    println!(
        "swarm: seed {}: {runs} runs, {} valid ({passed} passed, {limits} reached a limit), \
         {invalid} refused by the loader (generator bugs), {findings} findings; \
         {events} events, {conversations} conversations simulated in {:.1} s",
        options.seed,
        runs - invalid,
        started.elapsed().as_secs_f64()
    );
    if findings > 0 {
        Err(format!("{findings} findings (reproduce commands above)"))
    } else if options.index.is_some() && invalid > 0 {
        Err("the scenario was refused by the loader (a generator bug)".into())
    } else {
        Ok(())
    }
}

thread_local! {
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn report_finding(dir: &Path, seed: u64, index: u64, text: &str, why: &str) {
    let file = dir.join(format!("failure-{seed}-{index}.toml"));
    let written = std::fs::write(&file, text);
    eprintln!("swarm: FINDING seed {seed} index {index}: {why}");
    match written {
        Ok(()) => eprintln!("  scenario: {} (run it with `sim run`)", file.display()),
        Err(e) => eprintln!("  cannot write {}: {e}", file.display()),
    }
    eprintln!("  reproduce: cargo xtask swarm --runs 1 --seed {seed} --index {index}");
}

/// Every generated scenario's `run.max_events`.
const MAX_EVENTS: u64 = 3_000_000;

/// What the loader says of a run whose event estimate passes `run.max_events`.
const EVENT_REFUSAL: &str = ": run.max_events: the run would need more than ";

/// Whether the loader refused for the event estimate and nothing else.
fn refused_for_events_alone(errors: &sim::scenario::ScenarioErrors) -> bool {
    errors.messages.iter().all(|m| m.contains(EVENT_REFUSAL))
}

/// A scenario refused up front for its event estimate: the estimate promises that the run
/// would need more than `MAX_EVENTS` events. Run with four times the limit, the run must bear
/// that out (need more, or reach the higher limit); one that runs within `MAX_EVENTS` was
/// refused for nothing, a finding (as one once was: a saturated fleet, counted as if it ran
/// every retry that fits in a turn). An estimate past four times the limit is not checked.
fn check_event_refusal(text: &str, path: &Path) -> Outcome {
    let raised = format!("run.max_events={}", 4 * MAX_EVENTS);
    let scenario = match catch(|| {
        sim::scenario::load_bytes(text.as_bytes(), path, std::slice::from_ref(&raised))
    }) {
        Err(panic) => return Outcome::Finding(format!("the loader panicked: {panic}")),
        Ok(Err(errors)) if refused_for_events_alone(&errors) => {
            return Outcome::Limit;
        }
        Ok(Err(errors)) => return Outcome::Invalid(errors.to_string()),
        Ok(Ok(scenario)) => scenario,
    };
    match catch(|| sim::model::run(&scenario)) {
        Err(panic) => Outcome::Finding(format!("the run panicked: {panic}")),
        Ok(Err(RunError::LimitReached(_))) => Outcome::Limit,
        Ok(Err(error @ RunError::CheckFailed(_))) => Outcome::Finding(error.to_string()),
        Ok(Ok(output)) if output.summary.events_processed <= MAX_EVENTS => {
            Outcome::Finding(format!(
                "refused up front for an event estimate over run.max_events = {MAX_EVENTS}, \
                 yet it runs in {} events",
                output.summary.events_processed
            ))
        }
        Ok(Ok(_)) => Outcome::Limit,
    }
}

/// The scenario's path for the loader: in `target/swarm/`, so the CSV files resolve.
fn scenario_path(dir: &Path, seed: u64, index: u64) -> PathBuf {
    dir.join(format!("swarm-{seed}-{index}.toml"))
}

fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    PANIC.with(|p| p.borrow_mut().take());
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|_| {
        PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| "panic".into())
    })
}

fn check(text: &str, dir: &Path, seed: u64, index: u64) -> Outcome {
    let path = scenario_path(dir, seed, index);
    let scenario = match catch(|| sim::scenario::load_bytes(text.as_bytes(), &path, &[])) {
        Err(panic) => return Outcome::Finding(format!("the loader panicked: {panic}")),
        Ok(Err(errors)) if refused_for_events_alone(&errors) => {
            return check_event_refusal(text, &path);
        }
        Ok(Err(errors)) => return Outcome::Invalid(errors.to_string()),
        Ok(Ok(scenario)) => scenario,
    };
    let mix = scenario.workloads.iter().any(|w| w.name.is_some());
    // A sample of the mixes gets the per-workload common-random-numbers check: the first run
    // records the drawn workload (which must not change the run: the second run does not).
    let crn = mix && scenario.workloads.len() >= 2 && index.is_multiple_of(10);
    let options = RunOptions {
        record_workload: crn,
    };
    let (first, records) = match catch(|| sim::model::run_with(&scenario, &options)) {
        Err(panic) => return Outcome::Finding(format!("the run panicked: {panic}")),
        Ok(Err(RunError::LimitReached(_))) => return Outcome::Limit,
        Ok(Err(error @ RunError::CheckFailed(_))) => return Outcome::Finding(error.to_string()),
        Ok(Ok(output)) => output,
    };
    let second = match catch(|| sim::model::run(&scenario)) {
        Err(panic) => return Outcome::Finding(format!("the second run panicked: {panic}")),
        Ok(Err(error)) => {
            return Outcome::Finding(format!(
                "not deterministic: the first run passed, the second failed: {error}"
            ));
        }
        Ok(Ok(output)) => output,
    };
    let json = sim::output::summary_json(&first.summary);
    if json != sim::output::summary_json(&second.summary) {
        return Outcome::Finding("not deterministic: two runs gave different summaries".into());
    }
    if first.events != second.events || first.timeseries != second.timeseries {
        return Outcome::Finding(
            "not deterministic: two runs gave different events or time series".into(),
        );
    }
    if let Err(why) = invariants(&first.summary, &first.timeseries, &json, mix) {
        return Outcome::Finding(why);
    }
    if crn && let Err(why) = common_random_numbers(text, &path, index, &first.summary, records) {
        return Outcome::Finding(why);
    }
    // `scenario.resolved.toml` must load back to a scenario that runs the same.
    let resolved = sim::scenario::to_resolved_toml(&scenario);
    let reloaded = match catch(|| sim::scenario::load_bytes(resolved.as_bytes(), &path, &[])) {
        Err(panic) => {
            return Outcome::Finding(format!("reloading the resolved scenario panicked: {panic}"));
        }
        Ok(Err(errors)) => {
            return Outcome::Finding(format!(
                "the resolved scenario (scenario.resolved.toml) is refused:\n{errors}"
            ));
        }
        Ok(Ok(scenario)) => scenario,
    };
    match catch(|| sim::model::run(&reloaded)) {
        Ok(Ok(output)) if sim::output::summary_json(&output.summary) == json => {}
        Ok(Ok(_)) => {
            return Outcome::Finding(
                "the resolved scenario (scenario.resolved.toml) runs to a different summary".into(),
            );
        }
        Ok(Err(error)) => {
            return Outcome::Finding(format!("the resolved scenario's run failed: {error}"));
        }
        Err(panic) => {
            return Outcome::Finding(format!("the resolved scenario's run panicked: {panic}"));
        }
    }
    Outcome::Passed {
        events: first.summary.events_processed,
        conversations: first.summary.conversations.started,
    }
}

/// Common random numbers per workload: the scenario rerun with workload 0's traffic changed
/// (stopped, or set to a multiplier of 2) must give every other workload the same customers: the
/// same arrivals (draw key, time) with the same number of messages; rerun on a different fleet
/// (one vCPU), every workload, workload 0 included. Those are drawn when the conversation
/// arrives, from streams of its own workload, so they hold whatever happens to the fleet; think
/// times are not compared (a conversation cut short by the horizon, or abandoned, draws fewer).
/// A run that reaches a limit proves nothing: skipped.
fn common_random_numbers(
    text: &str,
    path: &Path,
    index: u64,
    summary: &sim::metrics::report::Summary,
    records: Vec<WorkloadRecord>,
) -> Result<(), String> {
    let (change, from) = match (index / 10) % 3 {
        0 => ("workloads.0.traffic.multiplier=0", 1),
        1 => ("workloads.0.traffic.multiplier=2", 1),
        _ => ("instance.vcpus=1", 0),
    };
    let change = change.to_string();
    let what = format!("with --set {change}");
    let variant = match catch(|| {
        sim::scenario::load_bytes(text.as_bytes(), path, std::slice::from_ref(&change))
    }) {
        Err(panic) => return Err(format!("{what}: the loader panicked: {panic}")),
        Ok(Err(errors)) => return Err(format!("{what}: the scenario is refused:\n{errors}")),
        Ok(Ok(scenario)) => scenario,
    };
    let options = RunOptions {
        record_workload: true,
    };
    let (output, other) = match catch(|| sim::model::run_with(&variant, &options)) {
        Err(panic) => return Err(format!("{what}: the run panicked: {panic}")),
        Ok(Err(RunError::LimitReached(_))) => return Ok(()),
        Ok(Err(error)) => return Err(format!("{what}: {error}")),
        Ok(Ok(output)) => output,
    };
    let customers = |records: Vec<WorkloadRecord>| {
        let mut out: Vec<(u32, u64, u64, u32)> = records
            .into_iter()
            .filter(|r| r.workload >= from)
            .map(|r| (r.workload, r.index, r.arrived_at, r.messages))
            .collect();
        out.sort_unstable();
        out
    };
    let (base, other) = (customers(records), customers(other));
    if base != other {
        let first = base
            .iter()
            .zip(&other)
            .find(|(a, b)| a != b)
            .map(|(a, b)| {
                format!(
                    "first difference (workload, index, arrived_at ns, messages): {a:?} / {b:?}"
                )
            })
            .unwrap_or_default();
        return Err(format!(
            "common random numbers broken {what}: the workloads' customers differ \
             ({} / {} arrivals); {first}",
            base.len(),
            other.len()
        ));
    }
    for (a, b) in summary
        .workloads
        .iter()
        .zip(&output.summary.workloads)
        .skip(from as usize)
    {
        if a.conversations.started != b.conversations.started {
            return Err(format!(
                "common random numbers broken {what}: workload {} started {} conversations, then {}",
                a.name, a.conversations.started, b.conversations.started
            ));
        }
    }
    Ok(())
}

/// Nulls allowed in `summary.json`: the optional fields. Any other null is a NaN or an infinity
/// (serde_json writes both as null).
const OPTIONAL: [&str; 2] = ["response_budget_s", "response_within_budget_fraction"];

fn invariants(
    summary: &sim::metrics::report::Summary,
    timeseries: &sim::metrics::report::Timeseries,
    json: &str,
    mix: bool,
) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("summary.json does not parse: {e}"))?;
    let mut nulls = Vec::new();
    find_nulls(&value, "", &mut nulls);
    if !nulls.is_empty() {
        return Err(format!(
            "NaN or infinity in the summary at {}",
            nulls.join(", ")
        ));
    }
    let m = &summary.messages;
    if m.answered + m.unanswered > m.received {
        return Err(format!(
            "answered {} + unanswered {} > received {}",
            m.answered, m.unanswered, m.received
        ));
    }
    let c = &summary.conversations;
    if c.completed > c.started {
        return Err(format!(
            "conversations completed {} > started {}",
            c.completed, c.started
        ));
    }
    let cost = &summary.cost_usd;
    for (name, v) in [
        ("compute", cost.compute),
        ("llm", cost.llm),
        ("tools", cost.tools),
        ("total", cost.total),
    ] {
        if !(v >= 0.0 && v.is_finite()) {
            return Err(format!("cost_usd.{name} = {v}"));
        }
    }
    let sum = cost.compute + cost.llm + cost.tools;
    if (cost.total - sum).abs() > 1e-9 * sum.max(1.0) {
        return Err(format!(
            "cost_usd.total {} != compute + llm + tools {sum}",
            cost.total
        ));
    }
    if summary.instances.min > summary.instances.max {
        return Err("instances.min > instances.max".into());
    }
    let mut latencies = vec![
        ("response_latency_s", &summary.response_latency_s),
        (
            "activity_schedule_to_start_s",
            &summary.activity_schedule_to_start_s,
        ),
        (
            "workflow_task_schedule_to_start_s",
            &summary.workflow_task_schedule_to_start_s,
        ),
    ];
    for (name, stats) in &summary.llm_call_latency_s {
        latencies.push((name.as_str(), stats));
    }
    for w in &summary.workloads {
        latencies.push((w.name.as_str(), &w.response_latency_s));
    }
    for (name, l) in latencies {
        let ordered = l.p50 <= l.p90 && l.p90 <= l.p95 && l.p95 <= l.p99 && l.mean >= 0.0;
        if !ordered {
            return Err(format!("{name}: percentiles out of order: {l:?}"));
        }
        if l.count == 0 && (l.mean != 0.0 || l.max != 0.0) {
            return Err(format!("{name}: no samples but non-zero figures: {l:?}"));
        }
    }
    for row in &timeseries.rows {
        if !(0.0..=1.0 + 1e-9).contains(&row.cpu_utilization) {
            return Err(format!(
                "timeseries at {} s: cpu_utilization {} outside [0, 1]",
                row.t_s, row.cpu_utilization
            ));
        }
    }
    if !mix {
        if value.get("workloads").is_some() {
            return Err("summary.json has `workloads` for a scenario without [[workloads]]".into());
        }
        return Ok(());
    }
    workload_invariants(summary)
}

/// In a mix, the workloads' figures add up to the fleet's.
fn workload_invariants(summary: &sim::metrics::report::Summary) -> Result<(), String> {
    let workloads = &summary.workloads;
    if workloads.is_empty() {
        return Err("summary.json has no `workloads` for a scenario with [[workloads]]".into());
    }
    for w in workloads {
        let (c, m) = (&w.conversations, &w.messages);
        if c.completed > c.started || c.open_at_end != c.started - c.completed {
            return Err(format!("workload {}: conversations {c:?}", w.name));
        }
        if m.answered + m.unanswered > m.received
            || m.in_flight_at_end != m.received - m.answered - m.unanswered
        {
            return Err(format!(
                "workload {}: messages {m:?}: in flight != received - answered - unanswered",
                w.name
            ));
        }
        if !(0.0..=1.0 + 1e-9).contains(&w.cpu_share) || w.cpu_s.is_nan() || w.cpu_s < 0.0 {
            return Err(format!(
                "workload {}: cpu_s {} cpu_share {}",
                w.name, w.cpu_s, w.cpu_share
            ));
        }
    }
    let total = |f: fn(&sim::metrics::report::WorkloadSummary) -> u64| -> u64 {
        workloads.iter().map(f).sum()
    };
    let providers = |f: fn(&sim::metrics::report::LlmCallCounts) -> u64| -> u64 {
        summary.llm_calls.values().map(f).sum()
    };
    let counts = [
        (
            "conversations.started",
            total(|w| w.conversations.started),
            summary.conversations.started,
        ),
        (
            "conversations.completed",
            total(|w| w.conversations.completed),
            summary.conversations.completed,
        ),
        (
            "messages.received",
            total(|w| w.messages.received),
            summary.messages.received,
        ),
        (
            "messages.answered",
            total(|w| w.messages.answered),
            summary.messages.answered,
        ),
        (
            "messages.unanswered",
            total(|w| w.messages.unanswered),
            summary.messages.unanswered,
        ),
        (
            "tool_calls (agent.tool_calls)",
            total(|w| w.tool_calls),
            summary.agent.tool_calls,
        ),
        (
            "response_latency_s.count",
            total(|w| w.response_latency_s.count),
            summary.response_latency_s.count,
        ),
        (
            // A workload's share within budget is of its answered turns after warm-up.
            "turns within budget (agent.turns_within_budget)",
            total(|w| {
                w.response_within_budget_fraction.map_or(0, |f| {
                    (f * w.response_latency_s.count as f64).round() as u64
                })
            }),
            summary.agent.turns_within_budget,
        ),
        (
            "llm_calls (llm_calls.*)",
            total(|w| w.llm_calls),
            providers(|p| p.calls),
        ),
        (
            "input_tokens (llm_calls.*)",
            total(|w| w.input_tokens),
            providers(|p| p.input_tokens),
        ),
        (
            "cached_input_tokens (llm_calls.*)",
            total(|w| w.cached_input_tokens),
            providers(|p| p.cached_input_tokens),
        ),
        (
            "output_tokens (llm_calls.*)",
            total(|w| w.output_tokens),
            providers(|p| p.output_tokens),
        ),
    ];
    for (name, sum, fleet) in counts {
        if sum != fleet {
            return Err(format!(
                "the workloads' {name} add up to {sum}, the fleet's is {fleet}"
            ));
        }
    }
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
    let llm: f64 = workloads.iter().map(|w| w.cost_usd.llm).sum();
    let tools: f64 = workloads.iter().map(|w| w.cost_usd.tools).sum();
    for (name, sum, fleet) in [
        ("cost_usd.llm", llm, summary.cost_usd.llm),
        ("cost_usd.tools", tools, summary.cost_usd.tools),
    ] {
        if !close(sum, fleet) {
            return Err(format!(
                "the workloads' {name} add up to {sum}, the fleet's is {fleet}"
            ));
        }
    }
    if let Some(slo) = summary.slo.iter().find(|s| {
        s.reason
            .as_deref()
            .is_some_and(|r| r.contains("no such workload"))
    }) {
        return Err(format!("SLO {} names a workload the run lacks", slo.name));
    }
    let share: f64 = workloads.iter().map(|w| w.cpu_share).sum();
    let no_cpu = workloads
        .iter()
        .all(|w| w.cpu_s == 0.0 && w.cpu_share == 0.0);
    if !no_cpu && !close(share, 1.0) {
        return Err(format!("the workloads' cpu_share add up to {share}, not 1"));
    }
    Ok(())
}

fn find_nulls(value: &serde_json::Value, at: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Null => {
            let key = at.rsplit('.').next().unwrap_or(at);
            if !OPTIONAL.contains(&key) {
                out.push(at.to_string());
            }
        }
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                find_nulls(v, &format!("{at}.{key}"), out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                find_nulls(v, &format!("{at}.{i}"), out);
            }
        }
        _ => {}
    }
}

/// The CSV files the generated scenarios name (empirical distributions, traces), written once
/// into `target/swarm/` next to the scenarios.
fn write_csvs(dir: &Path) -> Result<(), String> {
    let durations = "latency\n100ms\n250ms\n1s\n2.5s\n0s\n40ms\n";
    let counts = "count\n1\n2\n3\n5\n8\n";
    let mut trace = String::from("arrival\n");
    for i in 0..600 {
        // Uneven gaps, bare seconds and durations mixed.
        let t = i as f64 * 3.0 + (i % 7) as f64 * 0.25;
        if i % 2 == 0 {
            writeln!(trace, "{t}").unwrap();
        } else {
            writeln!(trace, "\"{}ms\"", (t * 1000.0) as u64).unwrap();
        }
    }
    for (name, text) in [
        ("swarm-durations.csv", durations.to_string()),
        ("swarm-counts.csv", counts.to_string()),
        ("swarm-trace.csv", trace),
    ] {
        let path = dir.join(name);
        // Another swarm may be reading them: leave equal files alone, replace others whole.
        if std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
            continue;
        }
        // sim's one atomic writer. Two swarms writing the same file at once share its
        // temporary name, so one rename may fail: what counts is that the file holds the text.
        if let Err(error) = sim::output::write_atomic(&path, text.as_bytes())
            && !std::fs::read_to_string(&path).is_ok_and(|now| now == text)
        {
            return Err(error.to_string());
        }
    }
    Ok(())
}

// --- The generator ---------------------------------------------------------------------------

struct Gen {
    rng: Rng,
    /// Steps named so far (names are `s1`, `s2`, ...: unique in the program).
    steps: u32,
    groups: Vec<String>,
    providers: Vec<String>,
}

impl Gen {
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }
    fn int(&mut self, lo: u64, hi: u64) -> u64 {
        self.rng.random_range(lo..=hi)
    }
    fn float(&mut self, lo: f64, hi: f64) -> f64 {
        let x: f64 = self.rng.random_range(lo..=hi);
        // Short decimals: readable files.
        (x * 1000.0).round() / 1000.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.rng.random_range(0..items.len())]
    }
    /// A duration string between `lo_ms` and `hi_ms` milliseconds.
    fn dur(&mut self, lo_ms: u64, hi_ms: u64) -> String {
        // Sometimes exactly a bound: the edges are where bugs live.
        let ms = match self.int(0, 39) {
            0 => lo_ms,
            1 => hi_ms,
            _ => self.int(lo_ms, hi_ms),
        };
        format!("\"{ms}ms\"")
    }
    /// A duration distribution whose values are mostly between `lo_ms` and `hi_ms`.
    fn dur_dist(&mut self, lo_ms: u64, hi_ms: u64) -> String {
        match self.int(0, 9) {
            0 if self.chance(0.2) => "{ kind = \"constant\", value = \"0s\" }".to_string(),
            0 | 1 => format!(
                "{{ kind = \"constant\", value = {} }}",
                self.dur(lo_ms, hi_ms)
            ),
            2 | 3 => format!(
                "{{ kind = \"exponential\", mean = {} }}",
                self.dur(lo_ms.max(1), hi_ms.max(1))
            ),
            4..=6 => {
                let median = self.int(lo_ms.max(1), hi_ms.max(2));
                let p99 = median + self.int(1, median * 20 + 1);
                format!("{{ kind = \"lognormal\", median = \"{median}ms\", p99 = \"{p99}ms\" }}")
            }
            7 | 8 => {
                let min = self.int(lo_ms, hi_ms);
                let max = min + self.int(0, hi_ms);
                format!("{{ kind = \"uniform\", min = \"{min}ms\", max = \"{max}ms\" }}")
            }
            _ => "{ kind = \"empirical\", csv = \"swarm-durations.csv\" }".to_string(),
        }
    }
    /// A count distribution whose values are mostly between `lo` and `hi`.
    fn count_dist(&mut self, lo: u64, hi: u64) -> String {
        match self.int(0, 11) {
            0 if self.chance(0.2) => format!("{{ kind = \"constant\", value = {lo} }}"),
            1 if self.chance(0.2) => format!("{{ kind = \"constant\", value = {hi} }}"),
            0 | 1 => format!("{{ kind = \"constant\", value = {} }}", self.int(lo, hi)),
            2 | 3 => format!(
                "{{ kind = \"geometric\", mean = {} }}",
                self.float(1.0, hi.max(1) as f64)
            ),
            4 | 5 => format!(
                "{{ kind = \"exponential\", mean = {} }}",
                self.float(0.5, hi.max(1) as f64)
            ),
            6..=8 => {
                let median = self.float(lo.max(1) as f64, hi.max(1) as f64);
                let p99 = median * self.float(1.1, 5.0);
                format!(
                    "{{ kind = \"lognormal\", median = {median}, p99 = {:.3} }}",
                    p99 + 0.001
                )
            }
            9 | 10 => {
                let min = self.float(lo as f64, hi as f64);
                let max = min + self.float(0.0, hi as f64);
                format!("{{ kind = \"uniform\", min = {min}, max = {max:.3} }}")
            }
            _ => "{ kind = \"empirical\", csv = \"swarm-counts.csv\" }".to_string(),
        }
    }
    /// A small count distribution for widths and repeat counts (keeps a turn's work bounded).
    fn small_count(&mut self, max: u64) -> String {
        match self.int(0, 4) {
            0 | 1 => format!("{{ kind = \"constant\", value = {} }}", self.int(0, max)),
            2 => format!(
                "{{ kind = \"uniform\", min = 0, max = {} }}",
                self.float(0.0, max as f64 + 0.4)
            ),
            3 => "{ kind = \"empirical\", csv = \"swarm-counts.csv\" }".to_string(),
            _ => format!(
                "{{ kind = \"geometric\", mean = {} }}",
                self.float(1.0, (max as f64).max(1.0))
            ),
        }
    }
    fn name(&mut self) -> String {
        self.steps += 1;
        format!("s{}", self.steps)
    }

    /// One step as an inline table; `depth` is its nesting level (0 = top), `budget` how many
    /// more composite levels it may open.
    fn step(&mut self, depth: u32, budget: u32) -> String {
        format!("{{ {} }}", self.step_fields(depth, budget).join(", "))
    }

    /// The `key = value` fields of one step (`step` writes them as an inline table).
    fn step_fields(&mut self, depth: u32, budget: u32) -> Vec<String> {
        let composite = budget > 0 && self.chance(if depth == 0 { 0.45 } else { 0.3 });
        let mut fields = vec![format!("name = \"{}\"", self.name())];
        if composite {
            match self.int(0, 2) {
                0 => self.parallel(&mut fields, depth, budget),
                1 => {
                    fields.push("kind = \"repeat\"".into());
                    let count = self.small_count(3);
                    fields.push(format!("count = {count}"));
                    let steps = self.steps_array(depth + 1, budget - 1, 1, 2);
                    fields.push(format!("steps = {steps}"));
                }
                _ => {
                    fields.push("kind = \"choice\"".into());
                    let probabilities: &[&[&str]] = &[
                        &["1"],
                        &["0.5", "0.5"],
                        &["0.25", "0.75"],
                        &["0.5", "0.25", "0.25"],
                        &["0", "1"],
                    ];
                    let pick = probabilities[self.int(0, probabilities.len() as u64 - 1) as usize];
                    let options: Vec<String> = pick
                        .iter()
                        .map(|p| {
                            let steps = self.steps_array(depth + 1, budget - 1, 1, 2);
                            format!("{{ probability = {p}, steps = {steps} }}")
                        })
                        .collect();
                    fields.push(format!("options = [{}]", options.join(", ")));
                }
            }
        } else if self.chance(0.5) {
            self.llm(&mut fields);
        } else {
            self.tool(&mut fields);
        }
        if !composite {
            if self.chance(0.3) {
                fields.push(format!("cpu = {}", self.dur(0, 200)));
            }
            if self.chance(0.3) {
                fields.push(format!(
                    "start_to_close_timeout = {}",
                    self.dur(200, 300_000)
                ));
            }
            if self.chance(0.2) {
                fields.push(format!("memory = \"{}KiB\"", self.int(0, 65_536)));
            }
        }
        if budget > 0 && self.chance(0.15) {
            let steps = self.steps_array(depth + 1, budget - 1, 1, 2);
            let max_runs = self.int(1, 3);
            fields.push(format!(
                "on_failure = {{ max_runs = {max_runs}, steps = {steps} }}"
            ));
        }
        fields
    }

    fn steps_array(&mut self, depth: u32, budget: u32, lo: u64, hi: u64) -> String {
        let n = self.int(lo, hi);
        let steps: Vec<String> = (0..n).map(|_| self.step(depth, budget)).collect();
        format!("[{}]", steps.join(", "))
    }

    fn parallel(&mut self, fields: &mut Vec<String>, depth: u32, budget: u32) {
        fields.push("kind = \"parallel\"".into());
        let branches = if self.chance(0.5) {
            let width = self.small_count(4);
            fields.push(format!("width = {width}"));
            let steps = self.steps_array(depth + 1, budget - 1, 1, 2);
            fields.push(format!("steps = {steps}"));
            // A drawn width can be anything; wait_for is capped at the number run.
            if self.chance(0.3) { self.int(1, 3) } else { 0 }
        } else {
            let n = self.int(1, 3);
            let branches: Vec<String> = (0..n)
                .map(|_| {
                    let name = self.name();
                    let steps = self.steps_array(depth + 1, budget - 1, 1, 2);
                    format!("{{ name = \"{name}\", steps = {steps} }}")
                })
                .collect();
            fields.push(format!("branches = [{}]", branches.join(", ")));
            if self.chance(0.4) { self.int(1, n) } else { 0 }
        };
        if branches > 0 {
            fields.push(format!("wait_for = {branches}"));
        }
        if self.chance(0.5) {
            let how = self.pick(&["fail", "continue"]);
            fields.push(format!("on_branch_failure = \"{how}\""));
        }
        if self.chance(0.4) {
            fields.push(format!("child_workflow = {}", self.chance(0.7)));
        }
    }

    fn llm(&mut self, fields: &mut Vec<String>) {
        fields.push("kind = \"llm\"".into());
        let i = self.int(0, self.groups.len() as u64 - 1) as usize;
        let group = self.groups[i].clone();
        fields.push(format!("group = \"{group}\""));
        let extreme = self.chance(0.03);
        let input = if extreme {
            self.count_dist(100_000, 1_000_000)
        } else {
            self.count_dist(10, 4000)
        };
        fields.push(format!("input_tokens = {input}"));
        let output = self.count_dist(0, 800);
        fields.push(format!("output_tokens = {output}"));
        if self.chance(0.3) {
            fields.push(format!("input_tokens_per_turn = {}", self.int(0, 2000)));
        }
        if self.chance(0.3) {
            fields.push(format!("carry_previous_output = {}", self.chance(0.7)));
        }
        if self.chance(0.3) {
            let f = self.pick(&["0", "0.3", "0.5", "0.9", "1"]);
            fields.push(format!("cached_input_fraction = {f}"));
        }
        if self.chance(0.3) {
            fields.push(format!("first_chunk_tokens = {}", self.int(1, 500)));
        }
    }

    fn tool(&mut self, fields: &mut Vec<String>) {
        fields.push("kind = \"tool\"".into());
        let latency = if self.chance(0.05) {
            self.dur_dist(0, 120_000)
        } else {
            self.dur_dist(1, 3000)
        };
        fields.push(format!("latency = {latency}"));
        if self.chance(0.5) {
            let p = self.pick(&["0", "0.001", "0.05", "0.3", "0.9", "1"]);
            fields.push(format!("failure_probability = {p}"));
        }
        if self.chance(0.3) {
            fields.push(format!("price_per_call_usd = {}", self.float(0.0, 0.1)));
        }
        if self.chance(0.3) {
            fields.push(format!("max_concurrent_calls = {}", self.int(1, 20)));
        }
    }
}

/// What the generator keeps of one workload, for the timeline's sets and the SLOs.
struct Workload {
    /// Its name in a mix (`[[workloads]]`), none for the top-level workload.
    name: Option<String>,
    /// How its tables are written: `""` (`[traffic]`) or `"workloads."` (`[workloads.traffic]`).
    table: String,
    /// How its keys are addressed in a timeline `set`: `""` or `"workloads.1."`.
    key: String,
    /// It has a `response_budget`.
    budget: bool,
    first_is_tool: bool,
    first_is_llm: bool,
}

impl Workload {
    fn single() -> Workload {
        Workload {
            name: None,
            table: String::new(),
            key: String::new(),
            budget: false,
            first_is_tool: false,
            first_is_llm: false,
        }
    }
    fn named(index: usize, name: &str) -> Workload {
        Workload {
            name: Some(name.to_string()),
            table: "workloads.".into(),
            key: format!("workloads.{index}."),
            ..Workload::single()
        }
    }
}

/// `[{table}traffic]`: every kind of arrival process.
fn traffic(g: &mut Gen, s: &mut String, table: &str, stress: bool, horizon_ms: u64) {
    writeln!(s, "\n[{table}traffic]").unwrap();
    match g.int(0, 9) {
        0..=3 => {
            let rate = if g.chance(0.05) {
                0.0
            } else {
                g.float(0.01, 1.5)
            };
            // Half the files state the rate per hour, chosen from the drawn value so the draws
            // (and so every other part of the file) stay what they were.
            if rate.to_bits() % 2 == 0 {
                writeln!(s, "kind = \"constant\"\nrate = \"{}/h\"", rate * 3600.0).unwrap();
            } else {
                writeln!(s, "kind = \"constant\"\nrate_per_s = {rate}").unwrap();
            }
        }
        4..=5 => {
            let n = g.int(1, 4);
            let mut at = 0;
            let mut points = Vec::new();
            for _ in 0..n {
                let rate = if g.chance(0.15) {
                    0.0
                } else {
                    g.float(0.01, 2.0)
                };
                points.push(format!("{{ at = \"{at}ms\", rate_per_s = {rate} }}"));
                at += g.int(1, horizon_ms / 2);
            }
            writeln!(s, "kind = \"piecewise\"\npoints = [{}]", points.join(", ")).unwrap();
        }
        6..=8 => {
            writeln!(
                s,
                "kind = \"diurnal\"\nmean_rate_per_s = {}\npeak_to_trough = {}\npeak_hour = {}",
                g.float(0.01, 1.5),
                g.float(1.0, 20.0),
                g.float(0.0, 23.99)
            )
            .unwrap();
        }
        _ => s.push_str("kind = \"trace\"\ncsv = \"swarm-trace.csv\"\n"),
    }
    if stress {
        writeln!(s, "multiplier = {}", g.float(3.0, 15.0)).unwrap();
    } else if g.chance(0.3) {
        writeln!(s, "multiplier = {}", g.float(0.0, 2.0)).unwrap();
    }
}

/// `[{table}conversation]`; true when it states a `response_budget`.
fn conversation(g: &mut Gen, s: &mut String, table: &str) -> bool {
    writeln!(s, "\n[{table}conversation]").unwrap();
    writeln!(s, "messages = {}", g.count_dist(1, 4)).unwrap();
    writeln!(s, "think_time = {}", g.dur_dist(100, 120_000)).unwrap();
    if g.chance(0.6) {
        let idle = if g.chance(0.1) {
            "\"0s\"".into()
        } else {
            g.dur(1000, 1_800_000)
        };
        writeln!(s, "idle_timeout = {idle}").unwrap();
    }
    if g.chance(0.6) {
        writeln!(s, "abandon_after = {}", g.dur(1000, 900_000)).unwrap();
    }
    let budget = g.chance(0.3);
    if budget {
        writeln!(s, "response_budget = {}", g.dur(1, 60_000)).unwrap();
    }
    budget
}

/// Providers (`p0`, `p1`, ...) and failover groups (`g0`, ...), recorded in `g` for the steps
/// to name: (providers, groups, the text of both tables).
fn providers(g: &mut Gen) -> (u64, u64, String) {
    let n_providers = g.int(1, 3);
    let mut providers_text = String::new();
    for p in 0..n_providers {
        let name = format!("p{p}");
        writeln!(providers_text, "\n[providers.{name}]").unwrap();
        writeln!(providers_text, "ttft = {}", g.dur_dist(1, 3000)).unwrap();
        let speed = if g.chance(0.05) {
            g.pick(&["0.5", "1000000"]).to_string()
        } else {
            g.float(10.0, 400.0).to_string()
        };
        writeln!(providers_text, "output_tokens_per_s = {speed}").unwrap();
        if g.chance(0.6) {
            let p = g.pick(&["0", "0.005", "0.05", "0.3", "1"]);
            writeln!(providers_text, "error_probability = {p}").unwrap();
        }
        if g.chance(0.4) {
            writeln!(providers_text, "timeout = {}", g.dur(100, 120_000)).unwrap();
        }
        if g.chance(0.3) {
            writeln!(providers_text, "ttft_timeout = {}", g.dur(50, 20_000)).unwrap();
        }
        if g.chance(0.3) {
            writeln!(
                providers_text,
                "prefill_tokens_per_s = {}",
                g.float(100.0, 50_000.0)
            )
            .unwrap();
        }
        for key in ["input", "output", "cached_input"] {
            if g.chance(0.5) {
                writeln!(
                    providers_text,
                    "{key}_price_per_million_usd = {}",
                    g.float(0.0, 80.0)
                )
                .unwrap();
            }
        }
        // Quotas: tight ones make 429s, failover into a limited provider suspends calls.
        if g.chance(0.2) {
            let quota = g.pick(&["0.5", "1", "30", "600", "100000"]);
            writeln!(providers_text, "requests_per_minute = {quota}").unwrap();
        }
        if g.chance(0.2) {
            let quota = g.pick(&["1000", "100000", "10000000"]);
            writeln!(providers_text, "tokens_per_minute = {quota}").unwrap();
        }
        if g.chance(0.2) {
            let limit = g.pick(&["1", "4", "50"]);
            writeln!(providers_text, "max_concurrent_requests = {limit}").unwrap();
        }
        g.providers.push(name);
    }
    let n_groups = g.int(1, 2);
    let mut groups_text = String::from("\n[provider_groups]\n");
    for i in 0..n_groups {
        // A random non-empty ordering of distinct providers.
        let mut order: Vec<String> = g.providers.clone();
        for k in (1..order.len()).rev() {
            let j = g.int(0, k as u64) as usize;
            order.swap(k, j);
        }
        order.truncate(g.int(1, order.len() as u64) as usize);
        let names: Vec<String> = order.iter().map(|n| format!("\"{n}\"")).collect();
        writeln!(groups_text, "g{i} = [{}]", names.join(", ")).unwrap();
        g.groups.push(format!("g{i}"));
    }
    providers_text.push_str(&groups_text);
    (n_providers, n_groups, providers_text)
}

/// `[{table}agent]`: 1-3 top-level steps, composite ones nested up to 3 levels, as an inline
/// array or (`headers`) as `[[{table}agent.steps]]` tables; whether the first step is a tool,
/// an LLM call.
fn agent(g: &mut Gen, s: &mut String, table: &str, headers: bool) -> (bool, bool) {
    let depth_budget = g.int(0, 2) as u32;
    let n = g.int(1, 3);
    let steps: Vec<Vec<String>> = (0..n).map(|_| g.step_fields(0, depth_budget)).collect();
    if headers {
        for fields in &steps {
            writeln!(s, "\n[[{table}agent.steps]]\n{}", fields.join("\n")).unwrap();
        }
    } else {
        let inline: Vec<String> = steps
            .iter()
            .map(|fields| format!("{{ {} }}", fields.join(", ")))
            .collect();
        writeln!(s, "\n[{table}agent]\nsteps = [{}]", inline.join(", ")).unwrap();
    }
    let first = |kind: &str| {
        steps[0]
            .get(1)
            .is_some_and(|f| *f == format!("kind = \"{kind}\""))
    };
    (first("tool"), first("llm"))
}

/// The key a timeline `set` entry stands for: its key, or the table it belongs to when the
/// generator may also set that table whole (`"autoscaler`, `"workloads.1.traffic`).
fn family(set: &str) -> &str {
    let key = set.split('=').next().unwrap_or("").trim_end();
    if key.starts_with("\"autoscaler") {
        return "\"autoscaler";
    }
    match key.find("traffic") {
        Some(at) => &key[..at + "traffic".len()],
        None => key,
    }
}

/// The scenario of (seed, index) as TOML text: a pure function of the two numbers.
/// The autoscaler kind in force while the generator writes the timeline.
#[derive(Clone, Copy, PartialEq)]
enum Scaler {
    Fixed,
    CloudRun,
    Hpa,
    Keda,
}

impl Scaler {
    /// The key that bounds the instance count.
    fn max_key(self) -> &'static str {
        match self {
            Scaler::Hpa => "max_replicas",
            Scaler::Keda => "max_replica_count",
            Scaler::Fixed | Scaler::CloudRun => "max_instances",
        }
    }
}

/// `[autoscaler]` of kind `hpa` on a random metric, sometimes with a random `behavior`;
/// returns its `max_replicas`.
fn hpa(g: &mut Gen, s: &mut String) -> u64 {
    let min = g.int(1, 3);
    let max = min + g.int(0, 8);
    writeln!(
        s,
        "\n[autoscaler]\nkind = \"hpa\"\nmin_replicas = {min}\nmax_replicas = {max}\n\
         initial_replicas = {}",
        g.int(min, max)
    )
    .unwrap();
    match g.pick(&["cpu", "memory", "backlog"]) {
        "backlog" => writeln!(
            s,
            "metric = \"backlog\"\nqueue_types = \"{}\"\ntarget_queue_size = {}",
            g.pick(&["workflow", "activity", "workflow,activity"]),
            g.float(0.5, 20.0)
        )
        .unwrap(),
        metric => writeln!(
            s,
            "metric = \"{metric}\"\ntarget_utilization = {}",
            g.float(0.05, 1.0)
        )
        .unwrap(),
    }
    hpa_control(g, s);
    max
}

/// `[autoscaler]` of kind `keda`; returns its `max_replica_count`.
fn keda(g: &mut Gen, s: &mut String) -> u64 {
    let min = g.int(0, 2);
    let max = min.max(1) + g.int(0, 8);
    writeln!(
        s,
        "\n[autoscaler]\nkind = \"keda\"\nmin_replica_count = {min}\nmax_replica_count = {max}\n\
         initial_replicas = {}\npolling_interval = {}\ncooldown_period = {}\n\
         queue_types = \"{}\"\ntarget_queue_size = {}\nactivation_target_queue_size = {}",
        g.int(min, max),
        g.dur(1_000, 60_000),
        g.dur(0, 600_000),
        g.pick(&["workflow", "activity", "workflow,activity"]),
        g.float(0.5, 20.0),
        g.pick(&["0", "0.5", "3"])
    )
    .unwrap();
    hpa_control(g, s);
    max
}

/// The HPA's `tolerance`, `sync_period` and, half the time, `[autoscaler.behavior.*]`.
fn hpa_control(g: &mut Gen, s: &mut String) {
    if g.chance(0.5) {
        writeln!(s, "tolerance = {}", g.float(0.0, 0.5)).unwrap();
    }
    writeln!(s, "sync_period = {}", g.dur(1_000, 60_000)).unwrap();
    for direction in ["scale_up", "scale_down"] {
        if !g.chance(0.5) {
            continue;
        }
        writeln!(
            s,
            "[autoscaler.behavior.{direction}]\nstabilization_window = {}\nselect_policy = \"{}\"",
            g.dur(0, 900_000),
            g.pick(&["max", "min", "disabled"])
        )
        .unwrap();
        let policies: Vec<String> = (0..g.int(1, 2))
            .map(|_| {
                format!(
                    "{{ kind = \"{}\", value = {}, period = {} }}",
                    g.pick(&["pods", "percent"]),
                    g.int(1, 200),
                    g.dur(1_000, 120_000)
                )
            })
            .collect();
        writeln!(s, "policies = [{}]", policies.join(", ")).unwrap();
    }
}

pub fn generate(seed: u64, index: u64) -> String {
    let mut g = Gen {
        rng: rng::stream(seed, STREAM, index),
        steps: 0,
        groups: Vec::new(),
        providers: Vec::new(),
    };
    let mut s = String::new();
    // One scenario in ten is a stress case: more traffic, on a slow and small fleet.
    let stress = g.chance(0.1);
    let horizon_m = if stress { g.int(5, 10) } else { g.int(5, 30) };
    let horizon_ms = horizon_m * 60_000;
    writeln!(
        s,
        "# cargo xtask swarm --runs 1 --seed {seed} --index {index}"
    )
    .unwrap();
    writeln!(s, "name = \"swarm-{seed}-{index}\"").unwrap();
    writeln!(s, "seed = {}", g.int(0, u32::MAX as u64)).unwrap();

    // [run]
    writeln!(s, "\n[run]\nhorizon = \"{horizon_m}m\"").unwrap();
    if g.chance(0.3) {
        writeln!(s, "warmup = {}", g.dur(0, horizon_ms - 1)).unwrap();
    }
    let sample = g.pick(&["10s", "30s", "60s", "7s"]);
    writeln!(s, "sample_interval = \"{sample}\"").unwrap();
    writeln!(
        s,
        "max_events = {MAX_EVENTS}\nmax_open_conversations = 2_000_000"
    )
    .unwrap();

    // The workloads: one at the top level, or (one scenario in four) a mix of 2-3
    // `[[workloads]]`, each with its own traffic, conversation and program. The choice is drawn
    // from its own stream, so a single-workload scenario is the one the generator always gave
    // for its (seed, index).
    let mix = rng::stream(seed, MIX_STREAM, index).random_bool(0.25);
    let mut workloads: Vec<Workload> = Vec::new();
    let (n_providers, n_groups, providers_text) = if !mix {
        let mut w = Workload::single();
        traffic(&mut g, &mut s, &w.table, stress, horizon_ms);
        w.budget = conversation(&mut g, &mut s, &w.table);
        // Providers and groups come first in the generator (steps name the groups), and are
        // written after the program.
        let providers = providers(&mut g);
        (w.first_is_tool, w.first_is_llm) = agent(&mut g, &mut s, &w.table, false);
        workloads.push(w);
        providers
    } else {
        let providers = providers(&mut g);
        // Names use every allowed character class; distinct, in a random order.
        let mut names = ["chat", "voice", "batch-jobs", "tier_2", "X", "w0"];
        for k in (1..names.len()).rev() {
            let j = g.int(0, k as u64) as usize;
            names.swap(k, j);
        }
        let n = g.int(2, 3) as usize;
        for (i, name) in names.iter().enumerate().take(n) {
            let mut w = Workload::named(i, name);
            writeln!(s, "\n[[workloads]]\nname = \"{name}\"").unwrap();
            // One stressed workload is enough load for a mix.
            traffic(&mut g, &mut s, &w.table, stress && i == 0, horizon_ms);
            w.budget = if g.chance(0.8) {
                conversation(&mut g, &mut s, &w.table)
            } else {
                // All defaults: no [workloads.conversation] table.
                false
            };
            // Step names restart in each workload: the same name in two workloads is fine.
            g.steps = 0;
            let headers = g.chance(0.5);
            (w.first_is_tool, w.first_is_llm) = agent(&mut g, &mut s, &w.table, headers);
            workloads.push(w);
        }
        providers
    };
    let any_budget = workloads.iter().any(|w| w.budget);

    // [activity], [retry]
    if g.chance(0.5) {
        writeln!(
            s,
            "\n[activity]\nstart_to_close_timeout = {}\nmemory = \"{}KiB\"",
            g.dur(500, 600_000),
            g.int(0, 32_768)
        )
        .unwrap();
    }
    if g.chance(0.7) {
        s.push_str("\n[retry]\n");
        let initial = g.int(1, 5000);
        writeln!(s, "initial_interval = \"{initial}ms\"").unwrap();
        writeln!(s, "backoff_coefficient = {}", g.float(1.0, 4.0)).unwrap();
        if g.chance(0.5) {
            writeln!(s, "maximum_interval = \"{}ms\"", initial + g.int(0, 60_000)).unwrap();
        }
        writeln!(s, "maximum_attempts = {}", g.int(0, 6)).unwrap();
    }

    // [temporal]
    s.push_str("\n[temporal]\n");
    let cache = g.pick(&["0", "1", "2", "5", "50", "1000", "10000"]);
    writeln!(s, "cache_size = {cache}").unwrap();
    if g.chance(0.5) {
        writeln!(s, "max_concurrent_workflow_tasks = {}", g.int(1, 200)).unwrap();
    }
    if g.chance(0.5) {
        writeln!(s, "max_concurrent_activities = {}", g.int(1, 200)).unwrap();
    }
    if g.chance(0.3) {
        writeln!(s, "sticky_schedule_to_start_timeout = {}", g.dur(1, 20_000)).unwrap();
        writeln!(s, "workflow_task_timeout = {}", g.dur(1, 20_000)).unwrap();
    }
    if g.chance(0.4) {
        writeln!(s, "workflow_task_cpu = \"{}us\"", g.int(0, 50_000)).unwrap();
        writeln!(s, "replay_cpu_per_event = \"{}us\"", g.int(0, 2000)).unwrap();
        writeln!(s, "history_fetch_base = {}", g.dur(0, 200)).unwrap();
        writeln!(s, "history_fetch_per_page = {}", g.dur(0, 100)).unwrap();
        writeln!(s, "history_page_size = {}", g.int(1, 1000)).unwrap();
    }
    if g.chance(0.4) {
        writeln!(s, "cached_workflow_memory = \"{}KiB\"", g.int(0, 4096)).unwrap();
        writeln!(s, "cached_memory_per_event = \"{}KiB\"", g.int(0, 256)).unwrap();
        writeln!(s, "cached_memory_per_turn = \"{}KiB\"", g.int(0, 4096)).unwrap();
    }

    // [instance]
    s.push_str("\n[instance]\n");
    writeln!(s, "vcpus = {}", g.int(1, 4)).unwrap();
    if stress {
        writeln!(s, "cpu_speed = {}", g.float(0.01, 0.2)).unwrap();
    } else if g.chance(0.3) {
        let speed = if g.chance(0.2) {
            g.pick(&["0.01", "100"]).to_string()
        } else {
            g.float(0.3, 3.0).to_string()
        };
        writeln!(s, "cpu_speed = {speed}").unwrap();
    }
    let runtime_mib = g.int(1, 256);
    writeln!(s, "runtime_memory = \"{runtime_mib}MiB\"").unwrap();
    // Small limits make OOM kills likely.
    let limit_mib = runtime_mib
        + if g.chance(0.3) {
            g.int(1, 64)
        } else {
            g.int(64, 4096)
        };
    writeln!(s, "memory_limit = \"{limit_mib}MiB\"").unwrap();
    if g.chance(0.3) {
        writeln!(s, "leak_per_hour = \"{}MiB\"", g.int(0, 4096)).unwrap();
    }
    if g.chance(0.5) {
        writeln!(s, "restart_delay = {}", g.dur(0, 10_000)).unwrap();
        writeln!(s, "cold_start = {}", g.dur_dist(0, 30_000)).unwrap();
        writeln!(s, "startup_cpu = {}", g.dur(0, 3000)).unwrap();
        writeln!(s, "shutdown_grace = {}", g.dur(0, 30_000)).unwrap();
    }
    if g.chance(0.3) {
        let backoff = g.int(0, 60_000);
        writeln!(s, "crash_loop_backoff = \"{backoff}ms\"").unwrap();
        writeln!(
            s,
            "crash_loop_backoff_max = \"{}ms\"",
            backoff + g.int(0, 300_000)
        )
        .unwrap();
    }
    if g.chance(0.3) {
        s.push_str("\n[instance.gc]\n");
        if g.chance(0.7) {
            writeln!(s, "threshold = {}", g.float(0.0, 0.99)).unwrap();
        }
        if g.chance(0.7) {
            writeln!(s, "max_overhead = {}", g.float(0.0, 10.0)).unwrap();
        }
    }

    // [autoscaler]
    let mut max_instances = 1;
    let mut concurrency_written = None;
    let mut kind = if g.chance(0.5) {
        Scaler::CloudRun
    } else {
        // Half of the rest: Kubernetes' HPA or KEDA, so their rules meet the invariants too.
        match g.int(0, 3) {
            0 => Scaler::Hpa,
            1 => Scaler::Keda,
            _ => Scaler::Fixed,
        }
    };
    match kind {
        Scaler::CloudRun => {
            let min = g.int(0, 3);
            let max = min.max(1) + g.int(0, 10);
            max_instances = max;
            let initial = g.int(min, max.min(min + 3));
            let eval_s = g.int(1, 10);
            let window_s = eval_s * g.int(1, 30);
            writeln!(
                s,
                "\n[autoscaler]\nkind = \"cloud_run\"\nmin_instances = {min}\nmax_instances = {max}\n\
                 initial_instances = {initial}\ntarget_cpu_utilization = {}\nwindow = \"{window_s}s\"\n\
                 evaluation_interval = \"{eval_s}s\"\nscale_in_stabilization = {}",
                g.float(0.05, 1.0),
                g.dur(0, 900_000)
            )
            .unwrap();
            if g.chance(0.3) {
                let concurrency = g.int(1, 100);
                writeln!(
                    s,
                    "max_concurrency = {concurrency}\ntarget_concurrency_utilization = {}",
                    g.float(0.05, 1.0)
                )
                .unwrap();
                concurrency_written = Some(concurrency);
            }
        }
        Scaler::Hpa => max_instances = hpa(&mut g, &mut s),
        Scaler::Keda => max_instances = keda(&mut g, &mut s),
        Scaler::Fixed => {
            if g.chance(0.8) {
                let instances = if g.chance(0.05) { 0 } else { g.int(1, 5) };
                writeln!(
                    s,
                    "\n[autoscaler]\nkind = \"fixed\"\ninstances = {instances}"
                )
                .unwrap();
            }
        }
    }

    // [serving]: request mode now and then (a turn or a whole conversation per request, a
    // wait bound from none to long), so its slots, routing and drops meet the invariants too.
    if g.chance(0.25) {
        let session = g.pick(&["turn", "conversation"]);
        writeln!(
            s,
            "\n[serving]\nmode = \"request\"\nsession = \"{session}\"\nmax_wait = {}",
            g.dur(0, 60_000)
        )
        .unwrap();
        // Written on the cloud_run autoscaler already, serving's must agree with it.
        let concurrency = concurrency_written.unwrap_or_else(|| g.int(1, 200));
        writeln!(s, "max_concurrency = {concurrency}").unwrap();
    }

    s.push_str(&providers_text);

    if g.chance(0.4) {
        writeln!(
            s,
            "\n[cost]\nvcpu_second_usd = {}\ngib_second_usd = {}",
            g.float(0.0, 0.001),
            g.float(0.0, 0.0001)
        )
        .unwrap();
    }

    // [[slo]]
    let mut metrics = vec![
        "response_latency_p50_s",
        "response_latency_p95_s",
        "response_latency_p99_s",
        "activity_schedule_to_start_p95_s",
        "unanswered_messages",
        "unanswered_fraction",
        "oom_crashes",
        "cost_per_hour_usd",
    ];
    if any_budget {
        metrics.push("response_over_budget_fraction");
    }
    for i in 0..g.int(0, 3) {
        // In a mix, half the SLOs bound one workload (a per-conversation metric).
        let workload = if mix && g.chance(0.5) {
            let w = &workloads[g.int(0, workloads.len() as u64 - 1) as usize];
            let mut per_workload = vec![
                "response_latency_p50_s",
                "response_latency_p95_s",
                "response_latency_p99_s",
                "unanswered_messages",
                "unanswered_fraction",
            ];
            if w.budget {
                per_workload.push("response_over_budget_fraction");
            }
            Some((w.name.clone().unwrap_or_default(), per_workload))
        } else {
            None
        };
        let metric = match &workload {
            Some((_, per_workload)) => g.pick(per_workload),
            None => g.pick(&metrics),
        };
        writeln!(
            s,
            "\n[[slo]]\nname = \"slo-{i}\"\nmetric = \"{metric}\"\nmax = {}",
            g.float(0.0, 100.0)
        )
        .unwrap();
        if let Some((name, _)) = workload {
            writeln!(s, "workload = \"{name}\"").unwrap();
        }
    }

    // [[timeline]]
    // Entries apply in time order, and each set applies on top of the earlier ones: generate
    // them in that order, so a set of the autoscaler's keys matches the kind then in force.
    let mut ats: Vec<u64> = (0..g.int(0, 4)).map(|_| g.int(0, horizon_ms - 1)).collect();
    ats.sort_unstable();
    for at in ats {
        writeln!(s, "\n[[timeline]]\nat = \"{at}ms\"").unwrap();
        match g.int(0, 5) {
            0 | 1 => {
                let mut sets: Vec<String> = Vec::new();
                for _ in 0..g.int(1, 3) {
                    // Arms 14-17 set more of a workload's tables: mixes only (a single
                    // workload's scenarios stay as they were).
                    let arm = g.int(0, if mix { 17 } else { 13 });
                    // The autoscaler's arms change the generator's state: at most one per set.
                    if (arm == 5 || arm == 8) && sets.iter().any(|s| s.starts_with("\"autoscaler"))
                    {
                        continue;
                    }
                    // The workload a workload key addresses (in a mix, drawn only for those).
                    let w = if mix && matches!(arm, 0 | 10 | 11 | 14..=17) {
                        &workloads[g.int(0, workloads.len() as u64 - 1) as usize]
                    } else {
                        &workloads[0]
                    };
                    let prefix = &w.key;
                    let set = match arm {
                        0 => format!("\"{prefix}traffic.multiplier\" = {}", g.float(0.0, 3.0)),
                        1 => format!(
                            "\"temporal.cache_size\" = {}",
                            g.pick(&["0", "1", "3", "100", "5000"])
                        ),
                        2 => format!(
                            "\"instance.memory_limit\" = \"{}MiB\"",
                            runtime_mib + g.int(1, 2048)
                        ),
                        3 => format!("\"retry.maximum_attempts\" = {}", g.int(0, 5)),
                        4 => {
                            let p = g.int(0, n_providers - 1);
                            let e = g.pick(&["0", "0.1", "1"]);
                            format!("\"providers.p{p}.error_probability\" = {e}")
                        }
                        5 if kind != Scaler::Fixed => format!(
                            "\"autoscaler.{}\" = {}",
                            kind.max_key(),
                            max_instances + g.int(0, 5)
                        ),
                        5 => "\"instance.vcpus\" = 2".to_string(),
                        6 => format!("\"temporal.max_concurrent_activities\" = {}", g.int(1, 100)),
                        7 => format!("\"instance.leak_per_hour\" = \"{}MiB\"", g.int(0, 2048)),
                        8 => {
                            // Switch the autoscaler's kind (or re-set it).
                            let max = g.int(1, 8);
                            kind = match g.int(0, 5) {
                                0 | 1 => Scaler::Fixed,
                                2 | 3 => Scaler::CloudRun,
                                4 => Scaler::Hpa,
                                _ => Scaler::Keda,
                            };
                            if kind != Scaler::Fixed {
                                max_instances = max;
                            }
                            match kind {
                                Scaler::Fixed => format!(
                                    "\"autoscaler\" = {{ kind = \"fixed\", instances = {} }}",
                                    g.int(0, 4)
                                ),
                                Scaler::CloudRun => format!(
                                    "\"autoscaler\" = {{ kind = \"cloud_run\", max_instances = \
                                     {max}, min_instances = {}, initial_instances = {max} }}",
                                    g.int(0, max)
                                ),
                                Scaler::Hpa => format!(
                                    "\"autoscaler\" = {{ kind = \"hpa\", metric = \"{}\", \
                                     max_replicas = {max}, min_replicas = {}, initial_replicas = \
                                     {max}, sync_period = {} }}",
                                    g.pick(&["cpu", "memory", "backlog"]),
                                    g.int(1, max),
                                    g.dur(1_000, 60_000)
                                ),
                                Scaler::Keda => format!(
                                    "\"autoscaler\" = {{ kind = \"keda\", max_replica_count = \
                                     {max}, min_replica_count = {}, initial_replicas = {max}, \
                                     polling_interval = {}, cooldown_period = {} }}",
                                    g.int(0, max),
                                    g.dur(1_000, 60_000),
                                    g.dur(0, 600_000)
                                ),
                            }
                        }
                        9 => {
                            // Reorder (or shrink) a failover group.
                            let group = g.int(0, n_groups - 1);
                            let mut order: Vec<String> = g.providers.clone();
                            for k in (1..order.len()).rev() {
                                let j = g.int(0, k as u64) as usize;
                                order.swap(k, j);
                            }
                            order.truncate(g.int(1, order.len() as u64) as usize);
                            let names: Vec<String> =
                                order.iter().map(|n| format!("\"{n}\"")).collect();
                            format!("\"provider_groups.g{group}\" = [{}]", names.join(", "))
                        }
                        10 if w.first_is_tool => format!(
                            "\"{prefix}agent.steps.0.failure_probability\" = {}",
                            g.pick(&["0", "0.5", "1"])
                        ),
                        10 if w.first_is_llm => format!(
                            "\"{prefix}agent.steps.0.output_tokens\" = {}",
                            g.count_dist(0, 2000)
                        ),
                        10 => format!(
                            "\"{prefix}conversation.abandon_after\" = {}",
                            g.dur(1000, 600_000)
                        ),
                        11 => format!("\"{prefix}conversation.messages\" = {}", g.count_dist(1, 6)),
                        12 => format!(
                            "\"providers.p{}.timeout\" = {}",
                            g.int(0, n_providers - 1),
                            g.dur(100, 60_000)
                        ),
                        14 => format!(
                            "\"{prefix}conversation.response_budget\" = {}",
                            g.dur(1, 60_000)
                        ),
                        15 => format!(
                            "\"{prefix}conversation.idle_timeout\" = {}",
                            g.dur(0, 1_800_000)
                        ),
                        16 => format!(
                            "\"{prefix}conversation.think_time\" = {}",
                            g.dur_dist(100, 120_000)
                        ),
                        17 => {
                            // The whole traffic table, of another kind.
                            let rate = if g.chance(0.2) {
                                0.0
                            } else {
                                g.float(0.01, 1.5)
                            };
                            format!(
                                "\"{prefix}traffic\" = {{ kind = \"constant\", rate_per_s = {rate} }}"
                            )
                        }
                        _ => format!(
                            "\"instance.gc\" = {{ threshold = {}, max_overhead = {} }}",
                            g.float(0.0, 0.99),
                            g.float(0.0, 10.0)
                        ),
                    };
                    // A key twice in one table is a TOML error: keep the first.
                    // And a whole table (the autoscaler, a workload's traffic) with one of its
                    // keys: one of them only.
                    if !sets.iter().any(|s| family(s) == family(&set)) {
                        sets.push(set);
                    }
                }
                writeln!(s, "set = {{ {} }}", sets.join(", ")).unwrap();
                if g.chance(0.4) {
                    let how = g.pick(&["rolling", "at_once"]);
                    writeln!(s, "deploy = \"{how}\"").unwrap();
                }
            }
            2..=4 => {
                let kind = g.pick(&["outage", "degradation", "rate_limit"]);
                let p = g.int(0, n_providers - 1);
                writeln!(
                    s,
                    "incident = \"{kind}\"\nprovider = \"p{p}\"\nduration = {}",
                    g.dur(1, horizon_ms)
                )
                .unwrap();
                if kind == "degradation" {
                    writeln!(s, "factor = {}", g.float(0.1, 20.0)).unwrap();
                }
            }
            _ => {
                let how = g.pick(&["rolling", "at_once"]);
                writeln!(s, "deploy = \"{how}\"").unwrap();
            }
        }
        if g.chance(0.2) {
            s.push_str("label = \"swarm\"\n");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The editors' JSON Schema (`sim schema`) accepts every generated scenario: the generator
    /// covers the whole feature space, so a key the reader takes and the schema lacks shows here.
    #[test]
    fn generated_scenarios_match_the_editors_schema() {
        let schema: serde_json::Value =
            serde_json::from_str(&sim::scenario::schema_json()).unwrap();
        let validator = jsonschema::draft7::new(&schema).unwrap();
        let mut per_hour = 0;
        for index in 0..400 {
            let text = generate(3, index);
            per_hour += usize::from(text.contains("/h\"\n"));
            let table: toml::Table = toml::from_str(&text).unwrap();
            let instance = serde_json::to_value(table).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&instance)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "index {index}: {errors:?}\n{text}");
        }
        assert!(per_hour > 10, "{per_hour} files state a rate per hour");
    }

    #[test]
    fn generation_is_a_pure_function_of_seed_and_index() {
        assert_eq!(generate(7, 3), generate(7, 3));
        assert_ne!(generate(7, 3), generate(7, 4));
        assert_ne!(generate(7, 3), generate(8, 3));
    }

    #[test]
    fn about_one_scenario_in_four_is_a_workload_mix() {
        let mixes = (0..200)
            .filter(|&index| generate(1, index).contains("\n[[workloads]]\n"))
            .count();
        assert!((30..=70).contains(&mixes), "{mixes} mixes in 200");
        // A mix addresses its workloads' keys by index, never the top-level tables.
        for index in 0..200 {
            let text = generate(1, index);
            if text.contains("[[workloads]]") {
                assert!(!text.contains("\n[traffic]") && !text.contains("\"traffic."));
            }
        }
    }

    #[test]
    fn every_autoscaler_kind_is_generated() {
        let count = |kind: &str| {
            (0..400)
                .filter(|&index| generate(1, index).contains(&format!("kind = \"{kind}\"")))
                .count()
        };
        // Half cloud_run; of the rest, a quarter each hpa and keda (plus timeline switches).
        for (kind, lo, hi) in [("cloud_run", 150, 280), ("hpa", 30, 110), ("keda", 30, 110)] {
            let n = count(kind);
            assert!((lo..=hi).contains(&n), "{n} of 400 scenarios use {kind}");
        }
    }

    #[test]
    fn a_whole_table_and_one_of_its_keys_are_one_family() {
        assert_eq!(family("\"autoscaler.max_instances\" = 3"), "\"autoscaler");
        assert_eq!(
            family("\"workloads.1.traffic\" = { kind = \"constant\", rate_per_s = 1 }"),
            family("\"workloads.1.traffic.multiplier\" = 2")
        );
        assert_ne!(
            family("\"workloads.0.traffic.multiplier\" = 2"),
            family("\"workloads.1.traffic.multiplier\" = 2")
        );
        assert_eq!(
            family("\"retry.maximum_attempts\" = 2"),
            "\"retry.maximum_attempts\""
        );
    }

    #[test]
    fn a_panic_is_caught_and_reported() {
        let result = catch(|| -> u32 { panic!("boom") });
        assert!(result.is_err());
    }

    /// A refusal for the event estimate is checked by running with four times the limit: a
    /// run within the limit after all is a finding; an estimate past four times the limit is
    /// refused again and counted as a limit.
    #[test]
    fn an_event_refusal_that_a_run_does_not_bear_out_is_a_finding() {
        let small = format!(
            "name = \"small\"\n[run]\nhorizon = \"2m\"\nmax_events = {MAX_EVENTS}\n\n\
             [traffic]\nkind = \"constant\"\nrate_per_s = 1.0\n\n\
             [[agent.steps]]\nname = \"tool\"\nkind = \"tool\"\n\
             latency = {{ kind = \"constant\", value = \"1s\" }}\n"
        );
        let path = Path::new("small.toml");
        match check_event_refusal(&small, path) {
            Outcome::Finding(why) => assert!(why.contains("yet it runs in"), "{why}"),
            _ => panic!("a run within the limit is a finding"),
        }
        // A tool that always fails, retried without limit every millisecond on a large fleet
        // for a day: an estimate far past four times the limit.
        let storm = small
            .replace("horizon = \"2m\"", "horizon = \"24h\"")
            .replace(
                "value = \"1s\" }",
                "value = \"1ms\" }\nfailure_probability = 1.0\n\n\
                 [retry]\ninitial_interval = \"1ms\"\nmaximum_interval = \"1ms\"\n\n\
                 [autoscaler]\nkind = \"fixed\"\ninstances = 1000",
            );
        let refused = sim::scenario::load_bytes(storm.as_bytes(), path, &[])
            .expect_err("the storm is refused up front");
        assert!(refused_for_events_alone(&refused), "{refused}");
        assert!(matches!(check_event_refusal(&storm, path), Outcome::Limit));
    }

    #[test]
    fn generated_scenarios_load_and_pass() {
        let dir = std::env::temp_dir().join(format!("swarm-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_csvs(&dir).unwrap();
        for index in 0..20 {
            let text = generate(1, index);
            match check(&text, &dir, 1, index) {
                Outcome::Passed { .. } | Outcome::Limit => {}
                Outcome::Invalid(why) => panic!("index {index} refused:\n{why}\n{text}"),
                Outcome::Finding(why) => panic!("index {index}: {why}\n{text}"),
            }
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
