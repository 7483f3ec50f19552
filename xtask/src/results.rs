//! `cargo xtask results`: regenerates the canonical results committed under
//! `results/gradient-labs/` (summaries, time series, events, resolved scenarios and figures)
//! from `scenarios/gradient-labs/` with the phase diagram of 03's regression (`phase_diagram`),
//! then the other stories' (`stories.rs`). The READMEs and the notebook read them; the test
//! `sim/tests/canonical.rs` checks that a fresh run reproduces each committed `summary.json`
//! byte for byte.

use sim::sweep::{Axis, Fleet, Grid, RunRecord, SweepConfig};
use std::fmt::Write as _;
use std::path::Path;

const SCENARIOS: &str = "scenarios/gradient-labs";
const RESULTS: &str = "results/gradient-labs";

/// The canonical scenarios: every file in the folder except sweeps, which have their own
/// outputs (`sim sweep`).
pub fn canonical_scenarios(root: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let dir = root.join(SCENARIOS);
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<_> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .filter(|path| {
            !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("sweep"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{}: no scenario files", dir.display()));
    }
    Ok(files)
}

/// Every story, or only those named (`cargo xtask results anthropic-research`); with
/// `--runs-only`, only their canonical runs.
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let runs_only = args.iter().any(|a| a == "--runs-only");
    let only: Vec<String> = args
        .iter()
        .filter(|a| *a != "--runs-only")
        .cloned()
        .collect();
    let known = || {
        std::iter::once("gradient-labs")
            .chain(crate::stories::STORIES)
            .collect::<Vec<_>>()
    };
    if let Some(unknown) = only.iter().find(|s| !known().contains(&s.as_str())) {
        return Err(format!(
            "results: unknown story {unknown:?}; stories: {}",
            known().join(", ")
        ));
    }
    let wanted = |story: &str| only.is_empty() || only.iter().any(|s| s == story);
    if wanted("gradient-labs") {
        gradient_labs(root, runs_only)?;
    }
    for story in crate::stories::STORIES.into_iter().filter(|s| wanted(s)) {
        let started = std::time::Instant::now();
        crate::stories::run(root, story, runs_only)?;
        println!("results/{story}: {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

fn gradient_labs(root: &Path, runs_only: bool) -> Result<(), String> {
    if !runs_only {
        run_sweeps(root)?;
    }
    for file in canonical_scenarios(root)? {
        let scenario = sim::scenario::load(&file, &[]).map_err(|e| e.to_string())?;
        let output = sim::model::run(&scenario)
            .map_err(|e| format!("{}: run failed: {e}", file.display()))?;
        let dir = root.join(RESULTS).join(&scenario.name);
        // The report names the file as the README's commands type it (relative to the
        // workspace), so `sim run FILE --out results/gradient-labs/NAME` reproduces the
        // folder byte for byte, report and manifest included.
        let relative = file.strip_prefix(root).unwrap_or(&file).to_path_buf();
        let options = sim::output::WriteOptions {
            plots: true,
            report: Some(sim::output::ReportSource {
                file: relative,
                overrides: Vec::new(),
            }),
        };
        sim::output::write_run(&dir, &scenario, &output, &options).map_err(|e| e.to_string())?;
        let failed: Vec<_> = output
            .summary
            .slo
            .iter()
            .filter(|s| !s.ok)
            .map(|s| &s.name)
            .collect();
        println!(
            "{}: {} OOM crashes, {:.2} instances on average, p95 response {:.2} s, SLOs failed: {:?}",
            dir.display(),
            output.summary.crashes.oom,
            output.summary.instances.mean,
            output.summary.response_latency_s.p95,
            failed
        );
    }
    if runs_only {
        return Ok(());
    }
    phase_diagram(root)
}

/// The folder's sweeps, into `results/gradient-labs/<file stem>/sweep/` (the per-run files
/// under `runs/` are git-ignored: they only serve `--resume`).
fn run_sweeps(root: &Path) -> Result<(), String> {
    let dir = root.join(SCENARIOS);
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut sweeps: Vec<_> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .filter(|path| {
            path.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("sweep"))
        })
        .collect();
    sweeps.sort();
    for file in sweeps {
        let stem = file
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let out = root.join(RESULTS).join(stem);
        let options = sim::sweep::SweepOptions {
            progress: false,
            ..Default::default()
        };
        let outcome = sim::sweep::sweep_file(&file, &[], &[], None, Some(out), options)
            .map_err(|e| format!("{}: {e}", file.display()))?;
        print!("{}", outcome.summary_text());
    }
    Ok(())
}

/// The phase diagram's grid: activity slots per worker × CPU cost scale (1 / `cpu_speed`).
const PHASE_SLOTS: std::ops::RangeInclusive<u32> = 18..=32;
/// CPU cost scale in hundredths: 0.80 to 1.20 in steps of 0.05.
const PHASE_CPU_COST_PERCENT: [u32; 9] = [80, 85, 90, 95, 100, 105, 110, 115, 120];
/// Replications of 03 per point; 01 runs once per point (replication 0, the seed of 03's
/// replication 0): its p95 is 17.81-17.84 s over 10 seeds at the calibration, so one run is
/// a fair denominator, while 03's p95 there ranges from 18 s to 117 s.
const PHASE_REPLICATIONS_03: u32 = 2;
const PHASE_OUT: &str = "results/gradient-labs/phase-diagram";
/// The sweeps' own folders (per-run files, for resuming an interrupted regeneration). The
/// sweep reuses only the runs this build saved (`sim::sweep::output::build_id`: the version
/// does not change from one commit to the next) and simulates the others again.
const PHASE_WORK: &str = "target/phase-diagram";

/// 03's SLO that fails when customers leave unanswered.
const UNANSWERED_SLO: &str = "at most 0.1% of messages unanswered";

/// Sweeps 01 and 03 over activity slots × CPU cost scale with the sweep machinery (common
/// random numbers: replication r of every point, in both files, uses the same seed, so 03 and
/// 01 are paired), and writes `phase.csv` and the figure `phase.png`/`.svg` into
/// `results/gradient-labs/phase-diagram/`. A rerun of the same build reuses the runs it
/// finished (`target/phase-diagram/`); another build's are simulated again.
fn phase_diagram(root: &Path) -> Result<(), String> {
    let work = root.join(PHASE_WORK);
    let speeds: Vec<String> = PHASE_CPU_COST_PERCENT
        .iter()
        .map(|&percent| format!("{}", 100.0 / percent as f64))
        .collect();
    let slots: Vec<String> = PHASE_SLOTS.map(|n| n.to_string()).collect();
    let grid = Grid {
        axes: vec![
            Axis {
                key: "instance.cpu_speed".into(),
                values: speeds.clone(),
            },
            Axis {
                key: "temporal.max_concurrent_activities".into(),
                values: slots.clone(),
            },
        ],
    };
    let sweep = |file: &str, replications: u32| -> Result<Vec<RunRecord>, String> {
        let path = root.join(SCENARIOS).join(file);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let stem = file.trim_end_matches(".toml");
        let config = SweepConfig {
            objective: sim::sweep::metrics::default_objective(),
            grid: grid.clone(),
            replications,
            shard: None,
            resume: true,
            threads: None,
            progress: true,
            plots: false,
            out_dir: work.join(stem),
            scenario_hash: sim::sweep::scenario_hash(&bytes, &[]),
            overrides: Vec::new(),
            search: sim::sweep::Search::Grid,
            from: None,
        };
        let fleet = Fleet {
            path: path.clone(),
            overrides: Vec::new(),
            ..Default::default()
        };
        let outcome = sim::sweep::sweep(&fleet, &config)
            .map_err(|e| format!("{}: phase sweep: {e}", path.display()))?;
        println!(
            "phase diagram, {file}: {} runs simulated, {} reused",
            outcome.runs_executed, outcome.runs_resumed
        );
        sim::sweep::output::read_runs_csv(&outcome.dir.join("runs.csv"), &outcome.meta)
            .map_err(|e| e.to_string())
    };
    let oom = sweep("01-cache-oom.toml", 1)?;
    let small = sweep("03-small-cache.toml", PHASE_REPLICATIONS_03)?;
    let reps = PHASE_REPLICATIONS_03 as usize;
    let p95 = sim::sweep::metrics::RESPONSE_LATENCY_P95_S;
    let metric = |name: &str| {
        sim::sweep::METRICS
            .iter()
            .position(|m| m.name == name)
            .unwrap_or_else(|| panic!("sweep metric {name}"))
    };
    let (wait_p95, instances) = (
        metric("activity_schedule_to_start_p95_s"),
        metric("instances_mean"),
    );
    let mean = |runs: &[RunRecord], m: usize| {
        runs.iter().map(|r| r.values[m]).sum::<f64>() / runs.len() as f64
    };
    let leave_fraction = |runs: &[RunRecord]| {
        runs.iter()
            .filter(|r| r.slo_failed.iter().any(|name| name == UNANSWERED_SLO))
            .count() as f64
            / runs.len() as f64
    };

    let mut csv = String::from(
        "cpu_cost_scale,cpu_speed,activity_slots,replications_03,\
         response_p95_s_01,response_p95_s_03_mean,p95_ratio_03_to_01,\
         p95_ratio_min,p95_ratio_max,schedule_to_start_p95_s_03_mean,\
         instances_mean_01,instances_mean_03,unanswered_slo_failed_01,unanswered_slo_failed_03\n",
    );
    let mut cells = Vec::new();
    let nx = slots.len();
    for (point, (run_01, runs_03)) in oom.iter().zip(small.chunks(reps)).enumerate() {
        let (y, x) = (point / nx, point % nx);
        let runs_01 = std::slice::from_ref(run_01);
        let (p95_01, p95_03) = (run_01.values[p95], mean(runs_03, p95));
        let ratio = p95_03 / p95_01;
        // Each of 03's replications against 01's run of the same point.
        let (lo, hi) = runs_03
            .iter()
            .map(|run| run.values[p95] / p95_01)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        let leave_03 = leave_fraction(runs_03);
        writeln!(
            csv,
            "{:.2},{},{},{reps},{p95_01},{p95_03},{ratio},{lo},{hi},{},{},{},{},{leave_03}",
            PHASE_CPU_COST_PERCENT[y] as f64 / 100.0,
            speeds[y],
            slots[x],
            mean(runs_03, wait_p95),
            mean(runs_01, instances),
            mean(runs_03, instances),
            leave_fraction(runs_01),
        )
        .expect("writing to a String");
        cells.push(sim::output::phase::PhaseCell {
            x,
            y,
            ratio,
            crossed: leave_03 >= 0.5,
        });
    }
    let out = root.join(PHASE_OUT);
    sim::output::create_dir(&out).map_err(|e| e.to_string())?;
    sim::output::write_atomic(&out.join("phase.csv"), csv.as_bytes()).map_err(|e| e.to_string())?;
    let calibration = (
        slots
            .iter()
            .position(|s| s == "25")
            .expect("25 slots in the grid"),
        PHASE_CPU_COST_PERCENT
            .iter()
            .position(|&p| p == 100)
            .expect("scale 1.00 in the grid"),
    );
    let diagram = sim::output::phase::PhaseDiagram {
        title: format!(
            "p95 response latency of 03 (cache 1,000) / 01 (cache 10,000); 03: mean of {reps} seeds"
        ),
        x_label: "activity slots per worker (temporal.max_concurrent_activities)".into(),
        x_values: slots,
        y_label: "CPU cost scale (1 / instance.cpu_speed)".into(),
        y_values: PHASE_CPU_COST_PERCENT
            .iter()
            .map(|&p| format!("{:.2}", p as f64 / 100.0))
            .collect(),
        ratio_label: "03 p95 /\n01 p95".into(),
        cross_label: format!(
            "03 fails \"{UNANSWERED_SLO}\" in at least half its seeds: customers leave"
        ),
        reference: calibration,
        reference_label: "the calibration of 01-04: 25 slots, CPU cost 1.00".into(),
        cells,
    };
    sim::output::phase::write_phase_diagram(&out, "phase", &diagram).map_err(|e| e.to_string())?;
    println!("{}: phase.csv, phase.png, phase.svg", out.display());
    Ok(())
}
