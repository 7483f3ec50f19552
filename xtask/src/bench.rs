//! `cargo xtask bench`: times `sim::model::run` in process, on one thread, best of three wall
//! times, against the performance issue's targets. (a) The M/M/c reduction at rho = 0.9
//! (lambda 9/s, mu 1/s, c = 10) for at least a million customers: customers/s and events/s,
//! against the yardstick of a bare M/M/c event loop (`bare_mmc`) serving as many customers
//! back to back in the same process; `--check` fails when the model's share of the bare loop's
//! customers/s falls below the committed floor. (b) The story days: the support-agent day, the
//! Gradient Labs 01 day, the 90 h incident and a voice-agent day of about a million calls,
//! each against its wall-time target, as measured and scaled to the machine's speed when the
//! targets were set (by the bare loop's speed in the same run: `REFERENCE_BARE_CUSTOMERS_PER_S`).
//! (c) Events per story: each story scenario run once (some at a shorter horizon), its events
//! processed, customer messages and events per message, and the events broken down by kind
//! (`sim::model::run_counted`), so a change that schedules fewer events for the same story
//! shows here; `--events` prints this part alone. (d) Sweep throughput: the same sweep
//! (`sim::sweep::sweep`, files and all, no figures) on a local rayon pool of 1 and of 2
//! threads, timed alternately, runs/s and the speed-up (the median of the pairs' ratios).
//! (e) The Gradient Labs sweep (16 points x 10 replications) on 2 threads, against its
//! wall-time target, as measured and at the reference speed.
//! `--quick` times each once and leaves out (e): about a minute instead of several.
//! `--scale` runs the voice day at ten times its traffic (10 M calls, 160 instances) and at its
//! own, once each: the events against `run.max_events` (the default must fit such a day),
//! events/s and the peak heap: how a run's speed and memory go with its size.
//! `--instructions` times nothing: it counts instructions under valgrind (`instructions.rs`),
//! and with `--check` fails above the committed counts (`xtask/instructions.json`) by 2%.

use crate::bare_mmc;
use sim::metrics::report::Summary;
use sim::sweep::{self, Fleet, Grid, SweepConfig};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const REPEATS: usize = 3;
pub(crate) const MMC: &str = "scenarios/validation/mmc.toml";
pub(crate) const SUPPORT_AGENT: &str = "scenarios/examples/support-agent.toml";

/// lambda = 9/s for 34 h is about 1.1 M customers: above the 1 M the target asks for. The bare
/// loop uses the same lambda, mu and c; the model's overrides are written from them.
const MMC_LAMBDA: f64 = 9.0;
const MMC_MU: f64 = 1.0;
const MMC_SERVERS: u32 = 10;
const MMC_HORIZON: &str = "34h";

/// The `--set` overrides that turn `mmc.toml` into the benchmark's M/M/c.
pub(crate) fn mmc_overrides() -> [String; 4] {
    [
        format!("traffic.rate_per_s={MMC_LAMBDA}"),
        format!("agent.steps.0.latency.mean={}s", 1.0 / MMC_MU),
        format!("temporal.max_concurrent_activities={MMC_SERVERS}"),
        format!("run.horizon={MMC_HORIZON}"),
    ]
}

/// The performance issue's target for the model's customers/s over the bare loop's.
const MMC_TARGET_RATIO: f64 = 0.5;
/// `--check` fails below this ratio: the committed floor. Set at 0.7x of what this 2-core
/// machine measured when it was set (0.168, with other builds running: load 9), so only a real
/// regression trips it; a quiet machine measures more. Raise it as the hot path gets faster.
const MMC_RATIO_FLOOR: f64 = 0.12;
/// The bare loop's customers/s on this machine when the performance issue set its wall-time
/// targets (its text: "about 11.5 M customers/s"). The shared 2-vCPU host runs from one session
/// to the next at speeds a third apart (the bare loop: 10.4 M on 2026-12-04, 15.0 M the next
/// day), and a wall-time target then passes or fails with the host. So each wall time is also
/// shown at this reference speed: times the bare loop's customers/s in the same run, over
/// this. Both loops are single-threaded and cache-resident, so they slow down together.
const REFERENCE_BARE_CUSTOMERS_PER_S: f64 = 11.5e6;
const SWEEP_TARGET_SPEEDUP: f64 = 1.9;

/// The story days and their wall-time targets (seconds, one thread): (label, file, overrides,
/// target). The voice day is the peak scenario's diurnal traffic over a whole day: about a
/// million calls.
const DAYS: [(&str, &str, &[&str], f64); 4] = [
    ("support-agent", SUPPORT_AGENT, &[], 0.5),
    (
        "gradient-labs 01",
        "scenarios/gradient-labs/01-cache-oom.toml",
        &[],
        1.0,
    ),
    (
        "gradient-labs incident",
        "scenarios/gradient-labs/incident.toml",
        &[],
        3.0,
    ),
    (
        "thoughtly-voice, a day",
        "scenarios/thoughtly-voice/peak.toml",
        &["run.horizon=24h"],
        10.0,
    ),
];

/// A run's peak heap over this many simulated days must stay within `MEMORY_TARGET_RATIO` of
/// one day's.
const MEMORY_DAYS: u32 = 7;
const MEMORY_TARGET_RATIO: f64 = 1.2;
/// The support-agent day's traffic multipliers for memory against open conversations.
const CONVERSATION_MULTIPLIERS: [u32; 3] = [1, 2, 4];
/// Memory grows linearly in open conversations when the heap per extra open conversation from
/// one multiplier to the next agrees within this factor.
const CONVERSATION_SLOPE_SPREAD: f64 = 1.5;

/// `--scale`: the voice day at its own traffic (about a million calls) and at ten times it,
/// just under the default `run.max_conversations` of 10 M (115.7/s over a day: 9,996,480
/// calls), on ten times the fleet (160 instances): the run the default `run.max_events` is
/// said to fit, run rather than estimated. (label, overrides)
const SCALE_RUNS: [(&str, &[&str]); 2] = [
    ("thoughtly-voice day, x1", &["run.horizon=24h"]),
    (
        "thoughtly-voice day, x10",
        &[
            "run.horizon=24h",
            "traffic.mean_rate_per_s=115.7",
            "autoscaler.instances=160",
        ],
    ),
];
const SCALE_STORY: &str = "scenarios/thoughtly-voice/peak.toml";
/// The calls the ten-times day must serve for the verdict: the 10 M a day, less the
/// Poisson arrivals' spread and the rate's rounding to stay under `run.max_conversations`.
const SCALE_CALLS: u64 = 9_900_000;

/// The Gradient Labs sweep of the issue: the shipped sweep file's 16 points (its grid, its
/// 15 h horizon) at 10 replications, on 2 threads, under 2 minutes.
const GL_SWEEP: &str = "scenarios/gradient-labs/sweep-cache-min-instances.toml";
const GL_SWEEP_GRID: [&str; 2] = [
    "temporal.cache_size=500,1000,2000,10000",
    "autoscaler.min_instances=1,4,5,6",
];
const GL_SWEEP_REPLICATIONS: u32 = 10;
const GL_SWEEP_THREADS: usize = 2;
const GL_SWEEP_TARGET: Duration = Duration::from_secs(120);

/// The sweep: 4 cache sizes x 2 autoscaler CPU targets x 2 replications = 16 support-agent
/// runs of 8 simulated hours each: long enough that writing the outputs, the serial part, stays
/// small next to the runs.
const SWEEP_GRID: [&str; 2] = [
    "temporal.cache_size=1000,2000,5000,10000",
    "autoscaler.target_cpu_utilization=0.5,0.7",
];
const SWEEP_REPLICATIONS: u32 = 2;
const SWEEP_OVERRIDES: [&str; 1] = ["run.horizon=8h"];
const SWEEP_THREADS: [usize; 2] = [1, 2];
/// The pairs `bench --sweep` times.
const SWEEP_ALONE_PAIRS: usize = 5;

/// The stories whose events per customer message the bench prints: (label, file, overrides),
/// each at its own horizon (support-agent and Gradient Labs 01 a day, the incident its 90 h,
/// whose timeline cannot be cut short, the voice peak 90 minutes).
const STORIES: [(&str, &str, &[&str]); 4] = [
    ("support-agent", SUPPORT_AGENT, &[]),
    (
        "gradient-labs 01",
        "scenarios/gradient-labs/01-cache-oom.toml",
        &[],
    ),
    (
        "gradient-labs incident",
        "scenarios/gradient-labs/incident.toml",
        &[],
    ),
    (
        "thoughtly-voice peak",
        "scenarios/thoughtly-voice/peak.toml",
        &[],
    ),
];

pub(crate) struct Measurement {
    best_wall: Duration,
    pub(crate) summary: Summary,
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        // Instruction counts under valgrind: deterministic, no timing (`instructions.rs`).
        Some("--instructions") => return crate::instructions::run(root, &args[1..]),
        // The child that `--instructions` runs under valgrind.
        Some("--run-model") => return crate::instructions::run_model(root, &args[1..]),
        _ => {}
    }
    let (mut check, mut quick) = (false, false);
    for arg in args {
        match arg.as_str() {
            "--check" => check = true,
            "--quick" => quick = true,
            // The event counts alone: deterministic, no timing, a quick check of an event
            // reduction.
            "--events" if args.len() == 1 => return events_per_story(root),
            "--events" => {
                return Err(
                    "bench: --events takes no other argument (it times nothing)".to_string()
                );
            }
            // The peak heaps alone: deterministic allocator counts, no timing, a quick check
            // of a change to what a run holds.
            "--memory" if args.len() == 1 => {
                memory_in_time(root)?;
                return memory_in_conversations(root);
            }
            "--memory" => {
                return Err(
                    "bench: --memory takes no other argument (it times nothing)".to_string()
                );
            }
            // The sweep's speed-up on 2 threads alone, over more pairs than the whole bench
            // times (the pairs' ratios spread widely on this shared host).
            "--sweep" if args.len() == 1 => return sweep_throughput(root, SWEEP_ALONE_PAIRS),
            "--sweep" => {
                return Err("bench: --sweep takes no other argument".to_string());
            }
            // The 10 M-calls voice day against the event limit, its speed and heap against
            // the 1 M day's: a few minutes, so not part of the whole bench.
            "--scale" if args.len() == 1 => return scale(root),
            "--scale" => {
                return Err("bench: --scale takes no other argument".to_string());
            }
            other => {
                return Err(format!(
                    "bench: unexpected argument {other:?} (usage: cargo xtask bench [--check] \
                     [--quick] | cargo xtask bench --events | cargo xtask bench --memory | \
                     cargo xtask bench --sweep | cargo xtask bench --scale | \
                     cargo xtask bench --instructions [--check] [--simulate] [--save FILE] \
                     [--compare FILE])"
                ));
            }
        }
    }
    let repeats = if quick { 1 } else { REPEATS };
    let mmc_overrides = mmc_overrides();
    let mmc = measure(root, MMC, &mmc_overrides, repeats)?;
    let bare = best_bare(mmc.summary.messages.received, repeats);

    let mmc_seconds = mmc.best_wall.as_secs_f64();
    let mmc_customers_per_s = mmc.summary.messages.received as f64 / mmc_seconds;
    let bare_seconds = bare.wall.as_secs_f64();
    let bare_customers_per_s = bare.customers as f64 / bare_seconds;
    let ratio = mmc_customers_per_s / bare_customers_per_s;
    let rows = [
        [
            format!("bare M/M/c loop ({} customers)", bare.customers),
            format!("{bare_seconds:.3}"),
            format!("{:.2}M", bare_customers_per_s / 1e6),
            "-".to_string(),
        ],
        [
            format!(
                "M/M/c rho=0.9 c=10 ({} customers)",
                mmc.summary.messages.received
            ),
            format!("{mmc_seconds:.3}"),
            format!("{:.2}M", mmc_customers_per_s / 1e6),
            format!(
                "{:.2}M",
                mmc.summary.events_processed as f64 / mmc_seconds / 1e6
            ),
        ],
    ];
    println!(
        "{}",
        render(&with_header(
            &["yardstick", "wall_s", "customers/s", "events/s"],
            &rows
        ))
    );
    println!(
        "M/M/c overrides: --set {}\n\
         the model serves {ratio:.3}x the bare loop's customers/s in the same run (target >= \
         {MMC_TARGET_RATIO}x: {}; --check floor {MMC_RATIO_FLOOR}x); bare loop Wq {:.4} s, \
         Erlang C {:.4} s",
        mmc_overrides.join(" --set "),
        verdict(ratio >= MMC_TARGET_RATIO),
        bare.mean_wait_s,
        bare_mmc::erlang_c_wait_s(MMC_LAMBDA, MMC_MU, MMC_SERVERS)
    );

    // Multiplies a wall time measured now into one at the reference speed.
    let to_reference = bare_customers_per_s / REFERENCE_BARE_CUSTOMERS_PER_S;
    println!();
    story_days(root, repeats, to_reference)?;

    println!();
    memory_in_time(root)?;
    memory_in_conversations(root)?;

    println!();
    events_per_story(root)?;

    println!();
    sweep_throughput(root, repeats)?;

    if !quick {
        println!();
        gradient_labs_sweep(root, to_reference)?;
    }
    println!(
        "\n{}, one thread unless stated, release build; command: cargo xtask bench{}",
        if quick {
            "one run each".to_string()
        } else {
            format!("best of {REPEATS} runs each")
        },
        if quick { " --quick" } else { "" }
    );

    if check && ratio < MMC_RATIO_FLOOR {
        return Err(format!(
            "bench --check: the model's M/M/c customers/s is {ratio:.3}x the bare loop's, below \
             the committed floor {MMC_RATIO_FLOOR} (xtask/src/bench.rs): a hot-path regression"
        ));
    }
    if mmc.summary.messages.received < 1_000_000 {
        return Err(format!(
            "the M/M/c run saw {} customers, fewer than 1,000,000: raise run.horizon",
            mmc.summary.messages.received
        ));
    }
    Ok(())
}

/// What the `at_ref_s` column is, with this run's factor.
fn reference_note(to_reference: f64) -> String {
    format!(
        "at_ref_s: the wall time at the reference speed, the bare loop's {:.1} M customers/s \
         when the targets were set: wall_s x {to_reference:.3} (the bare loop's customers/s in \
         this run over the reference)",
        REFERENCE_BARE_CUSTOMERS_PER_S / 1e6
    )
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// Times each of `DAYS` (best of `repeats`) and prints it against its target, as measured and
/// at the reference speed (`to_reference`: see `REFERENCE_BARE_CUSTOMERS_PER_S`). A missed
/// target is printed, not an error: the machine may be busy.
fn story_days(root: &Path, repeats: usize, to_reference: f64) -> Result<(), String> {
    let mut rows = Vec::new();
    for (label, relative, overrides, target_s) in DAYS {
        let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
        let day = measure(root, relative, &overrides, repeats)?;
        let seconds = day.best_wall.as_secs_f64();
        let at_reference = seconds * to_reference;
        rows.push([
            format!("{label} ({} simulated)", hours(day.summary.horizon_s)),
            format!("{seconds:.3}"),
            format!("{at_reference:.3}"),
            format!("{target_s}"),
            verdict(seconds <= target_s).to_string(),
            verdict(at_reference <= target_s).to_string(),
            day.summary.events_processed.to_string(),
            format!(
                "{:.2}M",
                day.summary.events_processed as f64 / seconds / 1e6
            ),
            day.summary.conversations.started.to_string(),
        ]);
    }
    let header = [
        "story",
        "wall_s",
        "at_ref_s",
        "target_s",
        "target",
        "at_ref",
        "events",
        "events/s",
        "conversations",
    ];
    println!("{}", render(&with_header(&header, &rows)));
    println!("{}", reference_note(to_reference));
    for (label, relative, overrides, _) in DAYS {
        let sets: String = overrides.iter().map(|o| format!(" --set {o}")).collect();
        println!("{label}: {relative}{sets}");
    }
    Ok(())
}

/// A run's peak heap (`heap::peak_during` around `sim::model::run`, so the output it returns
/// included) over `MEMORY_DAYS` simulated days against one day, at the scenario's own sample
/// interval and with hourly time-series rows: the first grows by the time-series rows, one per
/// sample interval, which are the run's output; the second shows the model's own state.
fn memory_in_time(root: &Path) -> Result<(), String> {
    let mut rows = Vec::new();
    for rows_every in [None, Some("1h")] {
        let mut peaks = Vec::new();
        let mut interval_s = 0.0;
        for days in [1, MEMORY_DAYS] {
            let mut overrides = vec![format!("run.horizon={}h", 24 * days)];
            overrides.extend(rows_every.map(|every| format!("run.sample_interval={every}")));
            let scenario = sim::scenario::load(&root.join(SUPPORT_AGENT), &overrides)
                .map_err(|errors| format!("{SUPPORT_AGENT}: invalid scenario:\n{errors}"))?;
            interval_s = scenario.run.sample_interval as f64 / 1e9;
            let (output, peak) = crate::heap::peak_during(|| sim::model::run(&scenario));
            output.map_err(|error| format!("{SUPPORT_AGENT}: run failed: {error}"))?;
            peaks.push(peak);
        }
        let ratio = peaks[1] as f64 / peaks[0] as f64;
        rows.push([
            format!(
                "support-agent, a time-series row every {interval_s} s{}",
                if rows_every.is_none() {
                    " (its own)"
                } else {
                    ""
                }
            ),
            format!("{:.2}", peaks[0] as f64 / 1048576.0),
            format!("{:.2}", peaks[1] as f64 / 1048576.0),
            format!("{ratio:.2}x"),
            verdict(ratio <= MEMORY_TARGET_RATIO).to_string(),
        ]);
    }
    let header = [
        "peak heap of one run".to_string(),
        "1 day MiB".to_string(),
        format!("{MEMORY_DAYS} days MiB"),
        "ratio".to_string(),
        format!("<= {MEMORY_TARGET_RATIO}x"),
    ];
    let mut table = vec![header.to_vec()];
    table.extend(rows.iter().map(|row| row.to_vec()));
    println!("{}", render(&table));
    Ok(())
}

/// A run's peak heap against the conversations it holds open: the support-agent day at
/// `CONVERSATION_MULTIPLIERS` times its traffic (`traffic.multiplier`; the autoscaler grows the
/// fleet with it), each with its peak heap and the most conversations open at a time-series
/// row (one a minute, the same number of rows at every traffic, so they cancel out of the
/// increments). Linear growth shows as the same heap per extra open conversation from one
/// traffic to the next: the verdict asks the increments to agree within
/// `CONVERSATION_SLOPE_SPREAD`.
fn memory_in_conversations(root: &Path) -> Result<(), String> {
    let mut points = Vec::new();
    for multiplier in CONVERSATION_MULTIPLIERS {
        let overrides = vec![format!("traffic.multiplier={multiplier}")];
        let scenario = sim::scenario::load(&root.join(SUPPORT_AGENT), &overrides)
            .map_err(|errors| format!("{SUPPORT_AGENT}: invalid scenario:\n{errors}"))?;
        let (output, peak) = crate::heap::peak_during(|| sim::model::run(&scenario));
        let output = output.map_err(|error| format!("{SUPPORT_AGENT}: run failed: {error}"))?;
        points.push((multiplier, most_open(&output), peak));
    }
    let mut slopes = Vec::new();
    let mut rows = Vec::new();
    for (index, &(multiplier, open, peak)) in points.iter().enumerate() {
        let slope = index.checked_sub(1).map(|previous| {
            let (_, open_before, peak_before) = points[previous];
            (peak as f64 - peak_before as f64) / (open as f64 - open_before as f64)
        });
        slopes.extend(slope);
        rows.push([
            format!("support-agent day, traffic x{multiplier}"),
            open.to_string(),
            format!("{:.2}", peak as f64 / 1048576.0),
            slope.map_or("-".to_string(), |bytes| format!("{bytes:.0}")),
        ]);
    }
    let header = [
        "peak heap against open conversations",
        "most open",
        "peak heap MiB",
        "bytes per extra open conversation",
    ];
    println!("{}", render(&with_header(&header, &rows)));
    let (least, most) = slopes
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &s| {
            (lo.min(s), hi.max(s))
        });
    let linear = least > 0.0 && most <= least * CONVERSATION_SLOPE_SPREAD;
    println!(
        "target: memory linear in open conversations (the increments within \
         {CONVERSATION_SLOPE_SPREAD}x of each other): {}",
        if linear { "met" } else { "MISSED" }
    );
    Ok(())
}

/// `--scale`: each of `SCALE_RUNS` once, timed with its peak heap (`heap::peak_during`, which
/// counts the allocations of this one thread while it runs), and the events it processed
/// against its `run.max_events`. A run past its limits stops with an error that names the key,
/// returned as this command's failure; the verdict asks that the last run, with every limit at
/// its default, served at least `SCALE_CALLS` calls (the story's traffic could change under it).
fn scale(root: &Path) -> Result<(), String> {
    let mut rows = Vec::new();
    let mut calls = 0;
    for (label, overrides) in SCALE_RUNS {
        let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
        let scenario = sim::scenario::load(&root.join(SCALE_STORY), &overrides)
            .map_err(|errors| format!("{SCALE_STORY}: invalid scenario:\n{errors}"))?;
        let started = Instant::now();
        let (output, peak) = crate::heap::peak_during(|| sim::model::run(&scenario));
        let wall = started.elapsed().as_secs_f64();
        let output = output.map_err(|error| {
            format!(
                "{SCALE_STORY} ({label}): run failed with seed {}: {error}",
                scenario.seed
            )
        })?;
        let summary = &output.summary;
        let limit = scenario.run.max_events;
        calls = summary.conversations.started;
        rows.push([
            label.to_string(),
            summary.conversations.started.to_string(),
            most_open(&output).to_string(),
            summary.events_processed.to_string(),
            format!(
                "{:.1}%",
                100.0 * summary.events_processed as f64 / limit as f64
            ),
            format!("{wall:.1}"),
            format!("{:.2}M", summary.events_processed as f64 / wall / 1e6),
            format!("{:.2}", peak as f64 / 1048576.0),
        ]);
    }
    let header = [
        "run at scale",
        "calls",
        "most open",
        "events",
        "of run.max_events",
        "wall_s",
        "events/s",
        "peak heap MiB",
    ];
    println!("{}", render(&with_header(&header, &rows)));
    for (label, overrides) in SCALE_RUNS {
        let sets: String = overrides.iter().map(|o| format!(" --set {o}")).collect();
        println!("{label}: {SCALE_STORY}{sets}");
    }
    println!(
        "target: a day of at least {SCALE_CALLS} calls runs within the default limits: {}",
        verdict(calls >= SCALE_CALLS)
    );
    Ok(())
}

/// The most conversations open at a time-series row of a run.
fn most_open(output: &sim::metrics::report::RunOutput) -> u64 {
    output
        .timeseries
        .rows
        .iter()
        .map(|row| row.open_conversations)
        .max()
        .unwrap_or(0)
}

/// The Gradient Labs sweep of `GL_SWEEP_GRID` x `GL_SWEEP_REPLICATIONS` on
/// `GL_SWEEP_THREADS` threads, timed once, against `GL_SWEEP_TARGET`.
fn gradient_labs_sweep(root: &Path, to_reference: f64) -> Result<(), String> {
    let fleet = Fleet {
        path: root.join(GL_SWEEP),
        ..Default::default()
    };
    let grid = Grid::from_args(&GL_SWEEP_GRID).map_err(|e| e.to_string())?;
    let runs = grid.len() * GL_SWEEP_REPLICATIONS as usize;
    let scratch = std::env::temp_dir().join(format!("sim-bench-gl-sweep-{}", std::process::id()));
    let config = sweep_config(
        grid,
        GL_SWEEP_REPLICATIONS,
        GL_SWEEP_THREADS,
        scratch.clone(),
    );
    sim::sweep::output::build_id(); // read once per process (see `sweep_throughput`), not timed
    let started = Instant::now();
    let outcome = sweep::sweep(&fleet, &config);
    let wall = started.elapsed();
    let _ = std::fs::remove_dir_all(&scratch);
    outcome.map_err(|e| format!("{GL_SWEEP}: benchmark sweep failed: {e}"))?;
    let at_reference = wall.as_secs_f64() * to_reference;
    let rows = [[
        format!("gradient-labs sweep, {GL_SWEEP_THREADS} threads"),
        format!("{:.1}", wall.as_secs_f64()),
        format!("{at_reference:.1}"),
        format!("{}", GL_SWEEP_TARGET.as_secs()),
        verdict(wall <= GL_SWEEP_TARGET).to_string(),
        verdict(at_reference <= GL_SWEEP_TARGET.as_secs_f64()).to_string(),
        runs.to_string(),
        format!("{:.2}", runs as f64 / wall.as_secs_f64()),
    ]];
    let header = [
        "sweep", "wall_s", "at_ref_s", "target_s", "target", "at_ref", "runs", "runs/s",
    ];
    println!("{}", render(&with_header(&header, &rows)));
    println!("{}", reference_note(to_reference));
    println!(
        "sim sweep {GL_SWEEP} --grid {} --replications {GL_SWEEP_REPLICATIONS} --jobs \
         {GL_SWEEP_THREADS} --no-plots, timed once",
        GL_SWEEP_GRID.join(" --grid ")
    );
    Ok(())
}

/// The sweep on 1 and on 2 threads, alternately `repeats` times (1, 2, 1, 2, ...), so both
/// see the same machine: the speed-up is the median of the pairs' ratios (wall of 1 thread
/// over wall of 2), which a passing load shifts less than a ratio of two best times taken
/// apart. The table shows each thread count's best wall. A missed target is printed, not an
/// error: the machine may be busy.
fn sweep_throughput(root: &Path, repeats: usize) -> Result<(), String> {
    let fleet = Fleet {
        path: root.join(SUPPORT_AGENT),
        overrides: SWEEP_OVERRIDES.iter().map(|o| o.to_string()).collect(),
        ..Default::default()
    };
    let grid = Grid::from_args(&SWEEP_GRID).map_err(|e| e.to_string())?;
    let runs = grid.len() * SWEEP_REPLICATIONS as usize;
    let scratch = std::env::temp_dir().join(format!("sim-bench-sweep-{}", std::process::id()));
    // The build id (a hash of this executable, for the saved runs) is read once per process:
    // read it now, or the first sweep timed would pay for it.
    sim::sweep::output::build_id();
    let mut walls: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..repeats {
        for (slot, threads) in SWEEP_THREADS.into_iter().enumerate() {
            let config = sweep_config(
                grid.clone(),
                SWEEP_REPLICATIONS,
                threads,
                scratch.join(threads.to_string()),
            );
            let started = Instant::now();
            let outcome = sweep::sweep(&fleet, &config);
            let wall = started.elapsed();
            outcome.map_err(|e| format!("{SUPPORT_AGENT}: benchmark sweep failed: {e}"))?;
            walls[slot].push(wall.as_secs_f64());
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let pair_ratios: Vec<f64> = walls[0]
        .iter()
        .zip(&walls[1])
        .map(|(one, two)| one / two)
        .collect();
    let speedup = median(&pair_ratios);
    let best = |slot: usize| walls[slot].iter().copied().fold(f64::INFINITY, f64::min);
    let rows: Vec<[String; 4]> = SWEEP_THREADS
        .into_iter()
        .enumerate()
        .map(|(slot, threads)| {
            let wall = best(slot);
            [
                format!("sweep, {threads} thread(s)"),
                format!("{wall:.3}"),
                runs.to_string(),
                format!("{:.2}", runs as f64 / wall),
            ]
        })
        .collect();
    let header = ["benchmark", "best wall_s", "runs", "runs/s"];
    println!("{}", render(&with_header(&header, &rows)));
    println!(
        "sweep: {SUPPORT_AGENT} --set {} --grid {} --replications {SWEEP_REPLICATIONS} \
         --no-plots, on local rayon pools of 1 and 2 threads ({} cores here), {repeats} \
         pair(s) timed alternately",
        SWEEP_OVERRIDES.join(" --set "),
        SWEEP_GRID.join(" --grid "),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let ratios: Vec<String> = pair_ratios.iter().map(|r| format!("{r:.2}x")).collect();
    println!(
        "target: 2 threads >= {SWEEP_TARGET_SPEEDUP}x the runs/s of 1: {} (median of the \
         pairs {speedup:.2}x; pairs {})",
        verdict(speedup >= SWEEP_TARGET_SPEEDUP),
        ratios.join(", ")
    );
    Ok(())
}

/// The median of `values` (the mean of the middle two when even); not empty.
fn median(values: &[f64]) -> f64 {
    use statrs::statistics::{Data, Median};
    Data::new(values.to_vec()).median()
}

/// A whole-grid sweep of `grid` x `replications` on a local pool of `threads`, writing to
/// `out_dir`, without figures or progress: what both sweep benchmarks run.
fn sweep_config(grid: Grid, replications: u32, threads: usize, out_dir: PathBuf) -> SweepConfig {
    SweepConfig {
        objective: sim::sweep::metrics::default_objective(),
        grid,
        replications,
        shard: None,
        resume: false,
        threads: Some(threads),
        progress: false,
        plots: false,
        out_dir,
        scenario_hash: "bench".into(),
        overrides: Vec::new(),
        search: sim::sweep::Search::Grid,
        from: None,
    }
}

/// Runs each of `STORIES` once and prints its events per customer message and its events by
/// kind (one column per story; kinds no story processes are left out).
fn events_per_story(root: &Path) -> Result<(), String> {
    let mut rows = Vec::new();
    let mut counts = Vec::new();
    for (label, relative, overrides) in STORIES {
        let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
        let scenario = sim::scenario::load(&root.join(relative), &overrides)
            .map_err(|errors| format!("{relative}: invalid scenario:\n{errors}"))?;
        let (output, by_kind) = sim::model::run_counted(&scenario).map_err(|error| {
            format!(
                "{relative}: run failed with seed {}: {error}",
                scenario.seed
            )
        })?;
        let summary = output.summary;
        let messages = summary.messages.received;
        rows.push([
            format!("{label} ({} simulated)", hours(summary.horizon_s)),
            summary.events_processed.to_string(),
            messages.to_string(),
            format!(
                "{:.2}",
                summary.events_processed as f64 / messages.max(1) as f64
            ),
            summary.conversations.started.to_string(),
        ]);
        counts.push(by_kind);
    }
    let header = [
        "story",
        "events",
        "messages",
        "events/message",
        "conversations",
    ];
    println!("{}", render(&with_header(&header, &rows)));
    for (label, relative, overrides) in STORIES {
        let sets: String = overrides.iter().map(|o| format!(" --set {o}")).collect();
        println!("{label}: {relative}{sets}");
    }

    println!();
    let mut breakdown = vec![
        std::iter::once("event kind".to_string())
            .chain(STORIES.iter().map(|(label, _, _)| label.to_string()))
            .collect::<Vec<_>>(),
    ];
    let names = sim::model::EventCounts::default();
    for (kind, (name, _)) in names.by_kind().enumerate() {
        if counts.iter().all(|c| c.processed[kind] == 0) {
            continue;
        }
        let mut row = vec![name.to_string()];
        row.extend(counts.iter().map(|c| c.processed[kind].to_string()));
        breakdown.push(row);
    }
    println!("{}", render(&breakdown));
    Ok(())
}

/// Left-aligned first column, right-aligned others, widths from the cells; row 0 is the header.
fn render(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(String::len)
                .max()
                .unwrap_or(0)
        })
        .collect();
    let lines: Vec<String> = rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(&widths)
                .enumerate()
                .map(|(column, (cell, &width))| {
                    if column == 0 {
                        format!("{cell:<width$}")
                    } else {
                        format!("  {cell:>width$}")
                    }
                })
                .collect()
        })
        .collect();
    lines.join("\n")
}

/// The bare loop's best of `repeats` on `customers` customers, with the model's M/M/c settings.
fn best_bare(customers: u64, repeats: usize) -> bare_mmc::BareRun {
    (0..repeats)
        .map(|_| bare_mmc::run(MMC_LAMBDA, MMC_MU, MMC_SERVERS, customers, 1))
        .min_by_key(|run| run.wall)
        .expect("timed at least once")
}

/// Loads `relative` (under the workspace root) with `overrides` and keeps the best wall time
/// of `repeats` runs.
pub(crate) fn measure(
    root: &Path,
    relative: &str,
    overrides: &[String],
    repeats: usize,
) -> Result<Measurement, String> {
    let scenario = sim::scenario::load(&root.join(relative), overrides)
        .map_err(|errors| format!("{relative}: invalid scenario:\n{errors}"))?;
    let mut best: Option<Measurement> = None;
    for _ in 0..repeats {
        let started = Instant::now();
        let output = sim::model::run(&scenario).map_err(|error| {
            format!(
                "{relative}: run failed with seed {}: {error}",
                scenario.seed
            )
        })?;
        let wall = started.elapsed();
        if best.as_ref().is_none_or(|b| wall < b.best_wall) {
            best = Some(Measurement {
                best_wall: wall,
                summary: output.summary,
            });
        }
    }
    best.ok_or_else(|| "no run was timed".to_string())
}

fn hours(seconds: f64) -> String {
    format!("{}h", seconds / 3600.0)
}

/// `render` of a header and rows of any width.
pub(crate) fn render_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut table = vec![header.iter().map(|h| h.to_string()).collect()];
    table.extend(rows.iter().cloned());
    render(&table)
}

/// A header row and rows of cells, as `grid` takes them.
fn with_header<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> Vec<Vec<String>> {
    std::iter::once(header.iter().map(|h| h.to_string()).collect())
        .chain(rows.iter().map(|row| row.to_vec()))
        .collect()
}

#[cfg(test)]
mod tests {
    /// The overrides written from the bare loop's constants are the ones the README quotes.
    #[test]
    fn mmc_overrides_spell_the_bare_loops_queue() {
        assert_eq!(
            super::mmc_overrides(),
            [
                "traffic.rate_per_s=9",
                "agent.steps.0.latency.mean=1s",
                "temporal.max_concurrent_activities=10",
                "run.horizon=34h",
            ]
        );
    }

    #[test]
    fn median_takes_the_middle_or_the_mean_of_the_middle_two() {
        assert_eq!(super::median(&[2.1]), 2.1);
        assert_eq!(super::median(&[1.9, 2.3, 1.7]), 1.9);
        assert_eq!(super::median(&[2.0, 1.0, 4.0, 3.0]), 2.5);
    }
}
