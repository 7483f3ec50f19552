//! `cargo xtask results`, the stories besides Gradient Labs: `scenarios/anthropic-research/`,
//! `scenarios/snorkel-underwriting/` and `scenarios/thoughtly-voice/`, regenerated into
//! `results/<story>/`.
//!
//! For each story: a canonical run of every scenario file (its `summary.json`, which
//! `sim/tests/canonical.rs` checks, time series, events, resolved scenario and timeline figure);
//! a sweep of every file with a `[sweep]` table, into `<name>/sweep/` (the per-run files under
//! `runs/` are git-ignored); the story's `sim diff` comparisons, as JSON and text; and the
//! story's table, computed from those sweeps and diffs (replication r of every sweep and diff
//! uses the same seed, so rows are paired by replication).

use sim::metrics::report::Summary;
use sim::sweep::{DiffReport, RunRecord, Stats, SweepOptions};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub const STORIES: [&str; 3] = [
    "anthropic-research",
    "snorkel-underwriting",
    "thoughtly-voice",
];

/// The canonical runs whose timeline figure a README shows; the others skip it (each figure is
/// ~0.5 MB of PNG).
const FIGURES: [&str; 4] = [
    "research",
    "rate-limit",
    "tool-failures",
    "thoughtly-voice-day",
];

/// One story of `STORIES`: its canonical runs, its sweeps, then its diffs and table (with
/// `runs_only`, the canonical runs alone).
pub fn run(root: &Path, story: &str, runs_only: bool) -> Result<(), String> {
    canonical_runs(root, story)?;
    if runs_only {
        return Ok(());
    }
    sweeps(root, story)?;
    match story {
        RESEARCH => anthropic_research(root),
        SNORKEL => snorkel_underwriting(root),
        VOICE => thoughtly_voice(root),
        _ => Err(format!("results: no story {story:?}")),
    }
}

/// Every `*.toml` of `scenarios/<story>/`, sorted.
pub fn scenario_files(root: &Path, story: &str) -> Result<Vec<PathBuf>, String> {
    let dir = root.join("scenarios").join(story);
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{}: no scenario files", dir.display()));
    }
    Ok(files)
}

fn results_dir(root: &Path, story: &str) -> PathBuf {
    root.join("results").join(story)
}

fn canonical_runs(root: &Path, story: &str) -> Result<(), String> {
    for file in scenario_files(root, story)? {
        let scenario = sim::scenario::load(&file, &[]).map_err(|e| e.to_string())?;
        let output = sim::model::run(&scenario)
            .map_err(|e| format!("{}: run failed: {e}", file.display()))?;
        let dir = results_dir(root, story).join(&scenario.name);
        let options = sim::output::WriteOptions {
            plots: FIGURES.contains(&scenario.name.as_str()),
            report: None,
        };
        sim::output::write_run(&dir, &scenario, &output, &options).map_err(|e| e.to_string())?;
        let s = &output.summary;
        let failed: Vec<_> = s.slo.iter().filter(|s| !s.ok).map(|s| &s.name).collect();
        println!(
            "{}: {} messages, p95 response {:.1} s, {:.0} LLM tokens per turn, {:.2} instances \
             on average, SLOs failed: {failed:?}",
            dir.display(),
            s.messages.received,
            s.response_latency_s.p95,
            tokens_per_turn(s),
            s.instances.mean,
        );
    }
    Ok(())
}

/// The sweep of every file with a `[sweep]` table, into `results/<story>/<name>/sweep/`.
fn sweeps(root: &Path, story: &str) -> Result<(), String> {
    for file in scenario_files(root, story)? {
        let spec = sim::scenario::load_sweep(&file, &[], &[]).map_err(|e| e.to_string())?;
        if !spec.has_sweep_table {
            continue;
        }
        let name = scenario_name(&file)?;
        let out = results_dir(root, story).join(name);
        // A sweep without a grid (replications only) has nothing to draw.
        let options = SweepOptions {
            progress: false,
            plots: !spec.grid.axes.is_empty(),
            ..Default::default()
        };
        let outcome = sim::sweep::sweep_file(&file, &[], &[], None, Some(out), options)
            .map_err(|e| format!("{}: {e}", file.display()))?;
        print!("{}", outcome.summary_text());
    }
    Ok(())
}

fn scenario_name(file: &Path) -> Result<String, String> {
    sim::scenario::load(file, &[])
        .map(|s| s.name)
        .map_err(|e| e.to_string())
}

/// The runs of a sweep written by `sweeps`, in run order (point, then replication).
fn sweep_runs(root: &Path, story: &str, name: &str) -> Result<Vec<RunRecord>, String> {
    let dir = results_dir(root, story).join(name).join("sweep");
    let json_path = dir.join("sweep.json");
    let json =
        std::fs::read_to_string(&json_path).map_err(|e| format!("{}: {e}", json_path.display()))?;
    let header: sim::sweep::output::SweepHeader =
        serde_json::from_str(&json).map_err(|e| format!("{}: {e}", json_path.display()))?;
    sim::sweep::output::read_runs_csv(&dir.join("runs.csv"), &header.meta())
        .map_err(|e| e.to_string())
}

/// `sim diff A B` with overrides on each side (`sim diff --set` sets both), written as
/// `<out>.json` (the `--json` report) and `<out>.txt` (what `sim diff` prints).
fn diff(
    a: (&Path, &[String]),
    b: (&Path, &[String]),
    replications: u32,
    out: &Path,
) -> Result<DiffReport, String> {
    let load = |(path, overrides): (&Path, &[String])| {
        sim::scenario::load(path, overrides).map_err(|e| format!("{}: {e}", path.display()))
    };
    let report = sim::sweep::diff(&load(a)?, &load(b)?, replications, None, None, false)
        .map_err(|e| format!("diff {} {}: {e}", a.0.display(), b.0.display()))?;
    let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n";
    sim::output::write_atomic(&out.with_extension("json"), json.as_bytes())
        .map_err(|e| e.to_string())?;
    sim::output::write_atomic(&out.with_extension("txt"), report.summary_text().as_bytes())
        .map_err(|e| e.to_string())?;
    print!("{}", report.summary_text());
    Ok(report)
}

fn metric(name: &str) -> usize {
    sim::sweep::METRICS
        .iter()
        .position(|m| m.name == name)
        .unwrap_or_else(|| panic!("sweep metric {name}"))
}

/// LLM tokens (input and output, every provider) per finished turn, as the registry computes it.
fn tokens_per_turn(s: &Summary) -> f64 {
    (sim::metrics::registry::named("llm_tokens_per_turn").value)(s)
}

/// "mean,ci95" CSV cells.
fn cells(stats: &Stats) -> String {
    format!(
        "{},{}",
        sim::output::float(stats.mean),
        stats.ci95.map_or(String::new(), sim::output::float)
    )
}

/// "12.3 ± 0.4" with `places` decimals.
fn pm(stats: &Stats, places: usize) -> String {
    match stats.ci95 {
        Some(h) => format!("{:.places$} ± {h:.places$}", stats.mean),
        None => format!("{:.places$}", stats.mean),
    }
}

const RESEARCH: &str = "anthropic-research";

/// The fan-out widths of research.toml's and serial.toml's `[sweep]` grids.
const WIDTHS: [u32; 4] = [1, 3, 5, 10];

/// `width.csv`: per fan-out width, from the sweeps of research.toml (parallel), serial.toml (the
/// same subtasks one at a time) and chat.toml (the chat baseline), paired by replication: tokens
/// and LLM cost per turn and their ratio to a chat turn, latency, the time parallelism saves,
/// instances; and, from one run per width (replication 0), the tokens per minute each model's
/// endpoints served. Then `sim diff research.toml rate-limit.toml` at widths 1, 5 and 10.
fn anthropic_research(root: &Path) -> Result<(), String> {
    let scenarios = root.join("scenarios").join(RESEARCH);
    let results = results_dir(root, RESEARCH);
    let parallel = sweep_runs(root, RESEARCH, "research")?;
    let serial = sweep_runs(root, RESEARCH, "serial")?;
    let chat = sweep_runs(root, RESEARCH, "chat")?;
    let reps = chat.len();
    if parallel.len() != WIDTHS.len() * reps || serial.len() != parallel.len() {
        return Err(format!(
            "{RESEARCH}: the sweeps of research.toml, serial.toml and chat.toml must have \
             {} widths x {reps} replications",
            WIDTHS.len()
        ));
    }
    let (tokens, cost, p50, p95, instances) = (
        metric("llm_tokens_per_turn"),
        metric("cost_llm_per_turn_usd"),
        metric("response_latency_p50_s"),
        metric("response_latency_p95_s"),
        metric("instances_mean"),
    );
    let column =
        |runs: &[RunRecord], m: usize| -> Vec<f64> { runs.iter().map(|r| r.values[m]).collect() };
    let chat_tokens = column(&chat, tokens);
    let chat_cost = column(&chat, cost);

    let mut csv = String::from(
        "width,replications,\
         tokens_per_turn_mean,tokens_per_turn_ci95,tokens_vs_chat_mean,tokens_vs_chat_ci95,\
         llm_cost_per_turn_usd_mean,llm_cost_per_turn_usd_ci95,cost_vs_chat_mean,cost_vs_chat_ci95,\
         p50_s_mean,p50_s_ci95,p95_s_mean,p95_s_ci95,\
         serial_p50_s_mean,serial_p50_s_ci95,serial_p95_s_mean,serial_p95_s_ci95,\
         p50_cut_by_parallelism_mean,p50_cut_by_parallelism_ci95,\
         instances_mean,instances_ci95,\
         sonnet_tokens_per_min_mean_r0,sonnet_tokens_per_min_peak_r0,\
         opus_tokens_per_min_mean_r0,opus_tokens_per_min_peak_r0,\
         activities_running_peak_r0,activity_slots_at_peak_r0\n",
    );
    let mut table = String::from(
        "width | tokens/turn | x chat | LLM $/turn | x chat | p50 s | p95 s | serial p50 s | \
         p50 cut | instances | Sonnet tok/min (mean, peak) | Opus tok/min (mean, peak) | \
         peak activities / slots\n",
    );
    let research = scenarios.join("research.toml");
    for (w, width) in WIDTHS.iter().enumerate() {
        let par = &parallel[w * reps..(w + 1) * reps];
        let ser = &serial[w * reps..(w + 1) * reps];
        let ratio = |m: usize, base: &[f64]| {
            Stats::of(
                &par.iter()
                    .zip(base)
                    .map(|(r, b)| r.values[m] / b)
                    .collect::<Vec<_>>(),
            )
        };
        let cut = Stats::of(
            &par.iter()
                .zip(ser)
                .map(|(p, s)| 1.0 - p.values[p50] / s.values[p50])
                .collect::<Vec<_>>(),
        );
        let stats = |runs: &[RunRecord], m: usize| Stats::of(&column(runs, m));
        // Tokens per minute by model, from replication 0 (the scenario's own seed).
        let overrides = [format!("agent.steps.1.width.value={width}")];
        let scenario = sim::scenario::load(&research, &overrides).map_err(|e| e.to_string())?;
        let output = sim::model::run(&scenario)
            .map_err(|e| format!("{}: run failed: {e}", research.display()))?;
        let minutes = output.summary.horizon_s / 60.0;
        let served = |prefix: &str| -> (f64, f64) {
            let providers: Vec<usize> = output
                .timeseries
                .providers
                .iter()
                .enumerate()
                .filter(|(_, p)| p.contains(prefix))
                .map(|(i, _)| i)
                .collect();
            let total: u64 = output
                .summary
                .llm_calls
                .iter()
                .filter(|(p, _)| p.contains(prefix))
                .map(|(_, c)| c.input_tokens + c.output_tokens)
                .sum();
            let peak = output
                .timeseries
                .rows
                .iter()
                .map(|row| {
                    providers
                        .iter()
                        .map(|&i| row.llm_tokens_per_min[i])
                        .sum::<f64>()
                })
                .fold(0.0, f64::max);
            (total as f64 / minutes, peak)
        };
        let (sonnet, opus) = (served("sonnet"), served("opus"));
        // The most activities in flight in any sampled minute, and the fleet's slots then.
        let slots = scenario.temporal.max_concurrent_activities as u64;
        let (peak, slots_then) = output
            .timeseries
            .rows
            .iter()
            .map(|row| (row.activities_running, row.instances_running as u64 * slots))
            .fold((0, 0), |best, row| if row.0 > best.0 { row } else { best });
        let row = [
            width.to_string(),
            reps.to_string(),
            cells(&stats(par, tokens)),
            cells(&ratio(tokens, &chat_tokens)),
            cells(&stats(par, cost)),
            cells(&ratio(cost, &chat_cost)),
            cells(&stats(par, p50)),
            cells(&stats(par, p95)),
            cells(&stats(ser, p50)),
            cells(&stats(ser, p95)),
            cells(&cut),
            cells(&stats(par, instances)),
            sim::output::float(sonnet.0.round()),
            sim::output::float(sonnet.1.round()),
            sim::output::float(opus.0.round()),
            sim::output::float(opus.1.round()),
            peak.to_string(),
            slots_then.to_string(),
        ];
        csv += &row.join(",");
        csv.push('\n');
        let _ = writeln!(
            table,
            "{width} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0}k, {:.0}k | {:.0}k, {:.0}k \
             | {peak} / {slots_then}",
            pm(&stats(par, tokens), 0),
            pm(&ratio(tokens, &chat_tokens), 1),
            pm(&stats(par, cost), 3),
            pm(&ratio(cost, &chat_cost), 1),
            pm(&stats(par, p50), 1),
            pm(&stats(par, p95), 1),
            pm(&stats(ser, p50), 1),
            pm(&cut, 3),
            pm(&stats(par, instances), 2),
            sonnet.0 / 1e3,
            sonnet.1 / 1e3,
            opus.0 / 1e3,
            opus.1 / 1e3,
        );
    }
    let chat_row = format!(
        "chat: {} tokens/turn, LLM ${}/turn",
        pm(&Stats::of(&chat_tokens), 0),
        pm(&Stats::of(&chat_cost), 4)
    );
    sim::output::write_atomic(&results.join("width.csv"), csv.as_bytes())
        .map_err(|e| e.to_string())?;
    println!("{}\n{table}{chat_row}", results.join("width.csv").display());

    let rate_limit = scenarios.join("rate-limit.toml");
    // Failover headroom: the 2 h window on the first-party endpoint only (its cloud twin keeps
    // serving), so both windows are absorbed by failover.
    diff(
        (&research, &[]),
        (
            &rate_limit,
            &["timeline.2.provider=anthropic-sonnet".to_string()],
        ),
        10,
        &results.join("rate-limit").join("diff-failover-only"),
    )?;
    for width in [1, 5, 10] {
        let overrides = [format!("agent.steps.1.width.value={width}")];
        diff(
            (&research, &overrides),
            (&rate_limit, &overrides),
            10,
            &results
                .join("rate-limit")
                .join(format!("diff-width-{width}")),
        )?;
    }
    Ok(())
}

const SNORKEL: &str = "snorkel-underwriting";

/// The two first tool calls' failure probabilities in tool-failures.toml.
const FAILURE_KEYS: [&str; 2] = [
    "agent.steps.1.options.1.steps.0.branches.0.steps.0.failure_probability",
    "agent.steps.1.options.1.steps.0.branches.1.steps.0.failure_probability",
];
/// Per-call failure probabilities of the calibration range; 0.067 is tool-failures.toml's.
const FAILURE_RATES: [&str; 5] = ["0.03", "0.05", "0.067", "0.09", "0.12"];

/// `sim diff no-tool-failures.toml tool-failures.toml`, then the same paired diff with both first
/// tool calls' failure probability set to each of `FAILURE_RATES` (on B only), as
/// `failure-rate-range.csv`.
fn snorkel_underwriting(root: &Path) -> Result<(), String> {
    let scenarios = root.join("scenarios").join(SNORKEL);
    let results = results_dir(root, SNORKEL).join("tool-failures");
    let (a, b) = (
        scenarios.join("no-tool-failures.toml"),
        scenarios.join("tool-failures.toml"),
    );
    diff((&a, &[]), (&b, &[]), 10, &results.join("diff"))?;

    let mut csv = String::from(
        "failure_probability,replications,\
         conversations_with_failure_mean,conversations_with_failure_ci95,\
         baseline_p50_s,delta_p50_s_mean,delta_p50_s_ci95,\
         baseline_p95_s,delta_p95_s_mean,delta_p95_s_ci95,\
         baseline_tokens_per_turn,delta_tokens_per_turn_mean,delta_tokens_per_turn_ci95,\
         baseline_llm_cost_per_turn_usd,delta_llm_cost_per_turn_usd_mean,delta_llm_cost_per_turn_usd_ci95,\
         delta_unanswered_mean,delta_unanswered_ci95\n",
    );
    let mut table = String::from(
        "p | conversations with a failure | p50 +s | p95 +s | tokens/turn + | LLM $/turn + | \
         unanswered +\n",
    );
    for p in FAILURE_RATES {
        let overrides: Vec<String> = FAILURE_KEYS.iter().map(|k| format!("{k}={p}")).collect();
        let report = sim::sweep::diff(
            &sim::scenario::load(&a, &[]).map_err(|e| e.to_string())?,
            &sim::scenario::load(&b, &overrides).map_err(|e| e.to_string())?,
            10,
            None,
            None,
            false,
        )
        .map_err(|e| e.to_string())?;
        let get = |name: &str| {
            report
                .metrics
                .iter()
                .find(|m| m.metric == name)
                .unwrap_or_else(|| panic!("diff metric {name}"))
        };
        let share = get("tool_failure_conversation_fraction");
        let (p50, p95, tokens, cost, unanswered) = (
            get("response_latency_p50_s"),
            get("response_latency_p95_s"),
            get("llm_tokens_per_turn"),
            get("cost_llm_per_turn_usd"),
            get("unanswered_messages"),
        );
        let row = [
            p.to_string(),
            report.replications.to_string(),
            cells(&share.b),
            sim::output::float(p50.a.mean),
            cells(&p50.difference),
            sim::output::float(p95.a.mean),
            cells(&p95.difference),
            sim::output::float(tokens.a.mean),
            cells(&tokens.difference),
            sim::output::float(cost.a.mean),
            cells(&cost.difference),
            cells(&unanswered.difference),
        ];
        csv += &row.join(",");
        csv.push('\n');
        let _ = writeln!(
            table,
            "{p} | {} | {} | {} | {} ({:+.1}%) | {} ({:+.1}%) | {}",
            pm(&share.b, 3),
            pm(&p50.difference, 2),
            pm(&p95.difference, 2),
            pm(&tokens.difference, 0),
            100.0 * tokens.difference.mean / tokens.a.mean,
            pm(&cost.difference, 5),
            100.0 * cost.difference.mean / cost.a.mean,
            pm(&unanswered.difference, 1),
        );
    }
    let path = results.join("failure-rate-range.csv");
    sim::output::write_atomic(&path, csv.as_bytes()).map_err(|e| e.to_string())?;
    println!("{}\n{table}", path.display());
    Ok(())
}

const VOICE: &str = "thoughtly-voice";

/// The seeds every voice comparison runs on: replication r's seed as `sim run --replications`
/// derives it from the file's.
const VOICE_REPLICATIONS: u32 = 5;

/// A configuration of a voice comparison: its label and its overrides of the file.
type VoiceConfig = (&'static str, &'static [&'static str]);

/// Question 1 on 5 seeds (`thoughtly-voice-peak/fleet-size.csv`): (label, overrides of
/// peak.toml). 16 x 150 is peak.toml itself; 12 instances get 200 slots each, so that CPU, not
/// slots, decides.
const VOICE_FLEETS: [VoiceConfig; 4] = [
    (
        "12 x 200",
        &["autoscaler.instances=12", "serving.max_concurrency=200"],
    ),
    ("14 x 150", &["autoscaler.instances=14"]),
    ("16 x 150", &[]),
    ("20 x 150", &["autoscaler.instances=20"]),
];

/// Question 4 on 5 seeds (`thoughtly-voice-day/day.csv`): (label, overrides of day.toml). The
/// fixed fleet of question 1 kept all day, then Cloud Run at four values of max_concurrency
/// (day.toml's own is 200).
const VOICE_DAYS: [VoiceConfig; 5] = [
    (
        "fixed 16 x 150",
        &[
            "autoscaler={ kind = \"fixed\", instances = 16 }",
            "serving.max_concurrency=150",
        ],
    ),
    ("cloud_run 150", &["serving.max_concurrency=150"]),
    ("cloud_run 200", &[]),
    ("cloud_run 225", &["serving.max_concurrency=225"]),
    ("cloud_run 250", &["serving.max_concurrency=250"]),
];

/// Each of `configs` (label, overrides of `file`) on `VOICE_REPLICATIONS` seeds, one thread
/// per configuration, as a CSV and a text table: instances (mean over the run, and the most),
/// compute cost, p95 turn, the share of turns over the budget and unanswered (each as the mean
/// over seeds and its 95% half-width), and on how many seeds each SLO held.
fn voice_seeds(file: &Path, configs: &[VoiceConfig]) -> Result<(String, String), String> {
    let runs: Vec<Result<Vec<Summary>, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = configs
            .iter()
            .map(|(_, overrides)| {
                scope.spawn(move || {
                    let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
                    let base = sim::scenario::load(file, &overrides)
                        .map_err(|e| format!("{}: {e}", file.display()))?;
                    (0..VOICE_REPLICATIONS)
                        .map(|r| {
                            let mut scenario = base.clone();
                            scenario.seed = sim::engine::rng::replication_seed(base.seed, r);
                            sim::model::run(&scenario)
                                .map(|output| output.summary)
                                .map_err(|e| format!("{}: run failed: {e}", file.display()))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a voice run does not panic"))
            .collect()
    });
    let metric = |name: &str| sim::metrics::registry::named(name).value;
    let columns = [
        ("instances_mean", metric("instances_mean"), 2),
        (
            "instances_max",
            (|s: &Summary| s.instances.max as f64) as fn(&Summary) -> f64,
            1,
        ),
        ("cost_compute_usd", metric("cost_compute_usd"), 2),
        (
            "response_latency_p95_s",
            metric("response_latency_p95_s"),
            4,
        ),
        (
            "response_over_budget_fraction",
            metric("response_over_budget_fraction"),
            4,
        ),
        ("unanswered_fraction", metric("unanswered_fraction"), 4),
    ];
    let mut csv = String::from("fleet,replications");
    let mut table = String::from("fleet");
    for (name, _, _) in &columns {
        let _ = write!(csv, ",{name}_mean,{name}_ci95");
        let _ = write!(table, " | {name}");
    }
    csv += ",budget_slo_held,unanswered_slo_held\n";
    table += " | SLOs held (budget, unanswered)\n";
    for ((label, _), summaries) in configs.iter().zip(runs) {
        let summaries = summaries?;
        // On how many seeds the SLO on `metric` held.
        let held = |metric: &str| {
            summaries
                .iter()
                .filter(|s| s.slo.iter().any(|r| r.metric == metric && r.ok))
                .count()
        };
        let (budget, unanswered) = (
            held("response_over_budget_fraction"),
            held("unanswered_fraction"),
        );
        let _ = write!(csv, "{label},{}", summaries.len());
        table += label;
        for (_, value, places) in &columns {
            let stats = Stats::of(&summaries.iter().map(value).collect::<Vec<_>>());
            let _ = write!(csv, ",{}", cells(&stats));
            let _ = write!(table, " | {}", pm(&stats, *places));
        }
        let _ = writeln!(csv, ",{budget},{unanswered}");
        let _ = writeln!(table, " | {budget} and {unanswered} of {}", summaries.len());
    }
    Ok((csv, table))
}

/// The voice story's tables on `VOICE_REPLICATIONS` seeds: `thoughtly-voice-peak/fleet-size.csv`
/// (question 1) and `thoughtly-voice-day/day.csv` (question 4); then `sim diff peak.toml
/// no-streaming.toml` and `sim diff peak.toml quota.toml` (questions 2 and 3) on the same
/// seeds, into the B scenario's folder.
fn thoughtly_voice(root: &Path) -> Result<(), String> {
    let scenarios = root.join("scenarios").join(VOICE);
    let results = results_dir(root, VOICE);
    let peak = scenarios.join("peak.toml");
    let tables: [(&str, &[VoiceConfig], &str); 2] = [
        ("peak.toml", &VOICE_FLEETS, "fleet-size.csv"),
        ("day.toml", &VOICE_DAYS, "day.csv"),
    ];
    for (file, configs, out) in tables {
        let file = scenarios.join(file);
        let (csv, table) = voice_seeds(&file, configs)?;
        let path = results.join(scenario_name(&file)?).join(out);
        sim::output::write_atomic(&path, csv.as_bytes()).map_err(|e| e.to_string())?;
        println!("{}\n{table}", path.display());
    }
    for file in ["no-streaming.toml", "quota.toml"] {
        let b = scenarios.join(file);
        diff(
            (&peak, &[]),
            (&b, &[]),
            VOICE_REPLICATIONS,
            &results.join(scenario_name(&b)?).join("diff"),
        )?;
    }
    Ok(())
}
