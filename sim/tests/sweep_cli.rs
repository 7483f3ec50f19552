//! Sweeps end to end with the real model: `sim sweep`, `sim merge` and `sim diff` as a user runs
//! them (exit codes, messages, files and their bytes), and common random numbers checked on the
//! drawn workload itself. Horizons are a few simulated minutes so the whole file runs in seconds.

use sim::model::{RunOptions, WorkloadRecord, run_with};
use sim::sweep::{Fleet, FleetPoint, Grid, Plan, RunId, SweepModel};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{Ran, repo_path, sim};

/// The M/M/c scenario cut to five simulated minutes, with an SLO it meets (p95 response latency
/// ~3 s with 10 slots at lambda = 8/s) and breaks with 7 slots (an overloaded, growing queue).
fn mmc_with_slo(dir: &Path) -> PathBuf {
    let mut text = fs::read_to_string(repo_path("scenarios/validation/mmc.toml")).unwrap();
    text = text
        .replace("horizon = \"30000s\"", "horizon = \"300s\"")
        .replace("warmup = \"1000s\"", "warmup = \"0s\"");
    text.push_str(
        "\n[[slo]]\nname = \"p95 response under 10 s\"\nmetric = \"response_latency_p95_s\"\nmax = 10\n",
    );
    let path = dir.join("mmc.toml");
    fs::write(&path, text).unwrap();
    path
}

const GRID: [&str; 4] = [
    "--grid",
    "temporal.max_concurrent_activities=7,10",
    "--grid",
    "traffic.rate_per_s=6,8",
];

/// `sim sweep FILE` over the 2 x 2 grid, 2 replications, with `extra` flags.
fn sweep(cwd: &Path, file: &Path, out: &Path, extra: &[&str]) -> Ran {
    let mut args = vec![
        "sweep",
        file.to_str().unwrap(),
        "--replications",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(&GRID);
    args.extend_from_slice(extra);
    sim(cwd, &args)
}

/// The files directly in `dir` (not the per-run files under `runs/`), sorted, with contents.
fn top_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

fn assert_same_files(a: &Path, b: &Path) {
    let (fa, fb) = (top_files(a), top_files(b));
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&fa), names(&fb), "{} vs {}", a.display(), b.display());
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(
            x == y,
            "{name} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

/// `[sweep]` is part of the scenario: `sim validate` checks the table and every grid point,
/// each problem once, where it is written, with the reader's hint; an invalid point by its
/// coordinates.
#[test]
fn validate_fails_a_broken_sweep_table_with_locations_and_hints() {
    let tmp = tempfile::tempdir().unwrap();
    let file = mmc_with_slo(tmp.path());
    let text = fs::read_to_string(&file).unwrap();
    let line = text.lines().count() + 3;
    let broken = tmp.path().join("broken.toml");
    fs::write(
        &broken,
        format!(
            "{text}\n[sweep]\ngrid = {{ \"temporal.cache_sise\" = [1, 2], \
             \"instance.vcpu\" = [1], \"run.horizn\" = [\"1h\"] }}\n"
        ),
    )
    .unwrap();
    let broken_arg = broken.to_str().unwrap();
    let ran = sim(tmp.path(), &["validate", broken_arg]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    let lines: Vec<&str> = ran.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}", ran.stderr);
    for (col, key, hint) in [
        (10, "temporal.cache_sise", "cache_size"),
        (42, "instance.vcpu", "vcpus"),
        (65, "run.horizn", "horizon"),
    ] {
        let start = format!("{broken_arg}:{line}:{col}: sweep.grid.\"{key}\": unknown key");
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&start)
                    && l.ends_with(&format!("(did you mean \"{hint}\"?)"))),
            "{start} in {}",
            ran.stderr
        );
    }
    assert!(ran.stdout.is_empty(), "{}", ran.stdout);

    // A point that only some combinations make invalid is named by its coordinates.
    let points = tmp.path().join("points.toml");
    fs::write(
        &points,
        format!(
            "{text}\n[sweep]\ngrid = {{ \"run.warmup\" = [\"0s\", \"2h\"], \
             \"run.horizon\" = [\"1h\", \"3h\"] }}\n"
        ),
    )
    .unwrap();
    let ran = sim(tmp.path(), &["validate", points.to_str().unwrap()]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("(grid point 2 [run.warmup=2h run.horizon=1h])"),
        "{}",
        ran.stderr
    );
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
    // The valid file's grid points all load: `sim validate` says ok.
    let good = tmp.path().join("good.toml");
    fs::write(
        &good,
        format!("{text}\n[sweep]\ngrid = {{ \"temporal.cache_size\" = [1, 2] }}\n"),
    )
    .unwrap();
    let ran = sim(tmp.path(), &["validate", good.to_str().unwrap()]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

#[test]
fn grid_and_scenario_errors_exit_2_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let file = mmc_with_slo(tmp.path());
    let file_arg = file.to_str().unwrap();
    let out = tmp.path().join("out");
    let out_arg = out.to_str().unwrap();
    let mut with_table = fs::read_to_string(&file).unwrap();
    with_table
        .push_str("\n[sweep]\nreplications = 2\ngrid = { \"temporal.cache_sise\" = [1, 2] }\n");
    let table_file = tmp.path().join("table.toml");
    fs::write(&table_file, with_table).unwrap();
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec![
                "sweep",
                file_arg,
                "--grid",
                "temporal.cache_sise=1,2",
                "--out",
                out_arg,
            ],
            vec![file_arg, "cache_sise", "did you mean"],
        ),
        (
            vec![
                "sweep",
                file_arg,
                "--grid",
                "temporal.cache_size=5..1:1",
                "--out",
                out_arg,
            ],
            vec!["bad range", "end is below the start"],
        ),
        (
            vec![
                "sweep",
                file_arg,
                "--grid",
                "temporal.cache_size=1..5",
                "--out",
                out_arg,
            ],
            vec!["bad range", "no `:step`"],
        ),
        (
            vec!["sweep", file_arg, "--grid", "seed=1,2", "--out", out_arg],
            vec!["--replications"],
        ),
        (
            vec![
                "sweep",
                file_arg,
                "--grid",
                "temporal.cache_size=1,2",
                "--grid",
                "temporal.cache_size=3",
                "--out",
                out_arg,
            ],
            vec![file_arg, "given twice"],
        ),
        (
            vec![
                "sweep",
                file_arg,
                "--grid",
                "instance.memory_limit=1GiB,lots",
                "--out",
                out_arg,
            ],
            vec![file_arg, "instance.memory_limit"],
        ),
        (
            vec!["sweep", table_file.to_str().unwrap(), "--out", out_arg],
            vec![table_file.to_str().unwrap(), "cache_sise"],
        ),
        (
            vec![
                "sweep",
                "missing.toml",
                "--grid",
                "temporal.cache_size=1,2",
                "--out",
                out_arg,
            ],
            vec!["missing.toml", "cannot read scenario file"],
        ),
        (
            vec!["sweep", file_arg, "--shard", "3/2", "--out", out_arg],
            vec!["--shard"],
        ),
    ];
    for (args, expected) in cases {
        let ran = sim(tmp.path(), &args);
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        for text in expected {
            assert!(
                ran.stderr.contains(text),
                "{args:?}: {text:?} not in {}",
                ran.stderr
            );
        }
        assert!(ran.stdout.is_empty(), "{args:?}: {}", ran.stdout);
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
        assert!(
            !tmp.path().join("results").exists(),
            "{args:?} wrote results/"
        );
    }
}

/// A `--set` of a key the grid varies would be replaced by the grid's value at every point
/// without a word: a usage error naming the `--set` as typed, the grid (its `--grid` argument
/// or its line in the file) and the key, before anything runs. The key is read as the loader
/// reads it (spaces around segments, `--horizon` as `run.horizon`, a table value holding the
/// key). A `--set` of another key, or of a key the grid no longer varies, sweeps as before;
/// `sim validate` (no sweep) takes the `--set`.
#[test]
fn a_set_of_a_key_the_grid_varies_is_refused_naming_both() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let plain = mmc_with_slo(cwd);
    let mut text = fs::read_to_string(&plain).unwrap();
    let grid_line = text.lines().count() + 3;
    text.push_str("\n[sweep]\ngrid = { \"traffic.rate_per_s\" = [6, 8] }\n");
    let swept = cwd.join("swept.toml");
    fs::write(&swept, text).unwrap();
    let (plain, swept) = (plain.to_str().unwrap(), swept.to_str().unwrap());
    let out = cwd.join("out");
    let out_arg = out.to_str().unwrap();
    let file_grid = format!("conflicts with the sweep grid (sweep.grid, line {grid_line})");
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec![swept, "--set", "traffic.rate_per_s=5"],
            format!(
                "{swept}: --set traffic.rate_per_s=5 {file_grid}, which varies \
                 traffic.rate_per_s: drop one"
            ),
        ),
        (
            vec![swept, "--set", "traffic . rate_per_s = 5"],
            format!("--set traffic . rate_per_s = 5 {file_grid}"),
        ),
        (
            vec![
                swept,
                "--set",
                "traffic={ kind = \"constant\", rate_per_s = 5 }",
            ],
            format!(
                "--set traffic={{ kind = \"constant\", rate_per_s = 5 }} {file_grid}, which \
                 varies traffic.rate_per_s"
            ),
        ),
        (
            vec![
                plain,
                "--grid",
                "traffic.rate_per_s=6,8",
                "--set",
                "traffic.rate_per_s=5",
            ],
            "--set traffic.rate_per_s=5 conflicts with --grid traffic.rate_per_s=6,8, which \
             varies traffic.rate_per_s: drop one"
                .to_string(),
        ),
        (
            vec![plain, "--grid", "run.horizon=1m,2m", "--horizon", "3m"],
            "--horizon 3m conflicts with --grid run.horizon=1m,2m".to_string(),
        ),
    ];
    for (args, expected) in cases {
        let mut argv = vec!["sweep"];
        argv.extend(args);
        argv.extend(["--replications", "1", "--out", out_arg]);
        let ran = sim(cwd, &argv);
        assert_eq!(ran.code, 2, "{argv:?}: {}", ran.stderr);
        assert!(
            ran.stderr.contains(&expected),
            "{argv:?}: {expected:?} not in {}",
            ran.stderr
        );
        assert!(ran.stdout.is_empty(), "{argv:?}: {}", ran.stdout);
        assert!(!out.exists(), "{argv:?} wrote {}", out.display());
    }

    // --grid replaces the file's grid, which then varies something else: no conflict.
    let ran = sim(
        cwd,
        &[
            "sweep",
            swept,
            "--set",
            "traffic.rate_per_s=5",
            "--grid",
            "temporal.max_concurrent_activities=10,12",
            "--replications",
            "1",
            "--no-plots",
            "--out",
            out_arg,
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let points = fs::read_to_string(out.join("sweep/points.csv")).unwrap();
    assert!(
        points.starts_with("point,temporal.max_concurrent_activities,"),
        "{points}"
    );
    let ran = sim(cwd, &["validate", swept, "--set", "traffic.rate_per_s=5"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

#[test]
fn sweep_outputs_are_identical_across_thread_counts_and_shards_merge_into_them() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let file = mmc_with_slo(cwd);
    let one = cwd.join("one");
    let two = cwd.join("two");

    let ran = sweep(cwd, &file, &one, &["--jobs", "1"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    // 7 slots at 8/s are overloaded; the other three points hold the SLO. Slots cost nothing
    // here (one fixed instance), so the cheapest feasible point is the first.
    assert!(
        ran.stdout
            .contains("4 points x 2 replications = 8 runs (0 reused"),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("3 feasible points"), "{}", ran.stdout);
    assert!(
        ran.stdout.contains(
            "best feasible point (lowest compute cost): #0 temporal.max_concurrent_activities=7 \
             traffic.rate_per_s=6"
        ),
        "{}",
        ran.stdout
    );
    let dir = one.join("sweep");
    for name in [
        "points.csv",
        "runs.csv",
        "sweep.json",
        "heatmap_latency_p95.png",
        "heatmap_latency_p95.svg",
        "heatmap_cost.png",
        "heatmap_cost.svg",
        "pareto.png",
        "pareto.svg",
        "report.html",
        "runs/0-0.json",
        "runs/3-1.json",
    ] {
        assert!(dir.join(name).is_file(), "{name} is missing");
    }
    let points = fs::read_to_string(dir.join("points.csv")).unwrap();
    assert_eq!(points.lines().count(), 5, "{points}");
    assert!(points.starts_with("point,temporal.max_concurrent_activities,traffic.rate_per_s,"));
    // The scenario's p95 SLO is drawn, and every Pareto point is labelled with its values.
    let pareto = fs::read_to_string(dir.join("pareto.svg")).unwrap();
    assert!(pareto.contains("SLO: p95 ≤ 10.0 s"), "{pareto}");
    for label in ["7 / 6", "7 / 8", "10 / 6", "10 / 8"] {
        assert!(pareto.contains(label), "pareto lacks {label:?}");
    }
    let heatmap = fs::read_to_string(dir.join("heatmap_latency_p95.svg")).unwrap();
    assert!(heatmap.contains("(SLO: p95 ≤ 10.0 s)"), "{heatmap}");
    let report = fs::read_to_string(dir.join("report.html")).unwrap();
    assert_eq!(
        report.matches("<svg").count(),
        3,
        "the three figures inline"
    );
    assert!(report.contains("--grid temporal.max_concurrent_activities=7,10"));
    assert_eq!(
        fs::read_to_string(dir.join("runs.csv"))
            .unwrap()
            .lines()
            .count(),
        9
    );
    assert!(
        !dir.read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".tmp")),
        "a temporary file was left behind"
    );

    let ran = sweep(cwd, &file, &two, &["--jobs", "2", "--quiet"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.is_empty(), "--quiet printed {}", ran.stdout);
    assert_same_files(&dir, &two.join("sweep"));
    assert_same_files(&dir.join("runs"), &two.join("sweep/runs"));

    let shard1 = cwd.join("s1");
    let shard2 = cwd.join("s2");
    for (shard, out) in [("1/2", &shard1), ("2/2", &shard2)] {
        let ran = sweep(cwd, &file, out, &["--shard", shard]);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        assert!(
            ran.stdout.contains(&format!("shard {shard}: 4 runs done")),
            "{}",
            ran.stdout
        );
        assert!(
            !out.join("sweep/points.csv").exists(),
            "a shard has no points.csv"
        );
    }
    let merged = cwd.join("merged");
    let ran = sim(
        cwd,
        &[
            "merge",
            shard2.to_str().unwrap(),
            shard1.join("sweep").to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout
            .contains("best feasible point (lowest compute cost): #0"),
        "{}",
        ran.stdout
    );
    assert_same_files(&dir, &merged.join("sweep"));

    // Refusals: a shard twice, a missing shard, shards of different sweeps.
    let other = cwd.join("other");
    let ran = sim(
        cwd,
        &[
            "sweep",
            file.to_str().unwrap(),
            "--replications",
            "3",
            "--shard",
            "2/2",
            "--out",
            other.to_str().unwrap(),
            "--grid",
            GRID[1],
            "--grid",
            GRID[3],
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let refused = cwd.join("refused");
    for (dirs, reason) in [
        (vec![&shard1, &shard1], "given twice"),
        (vec![&shard1], "missing shard 2/2"),
        (vec![&shard1, &other], "different replication counts"),
    ] {
        let mut args = vec!["merge"];
        args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
        args.extend(["--out", refused.to_str().unwrap()]);
        let ran = sim(cwd, &args);
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains("cannot merge"), "{}", ran.stderr);
        assert!(
            ran.stderr.contains(reason),
            "{reason:?} not in {}",
            ran.stderr
        );
        assert!(!refused.exists(), "a refused merge wrote files");
    }
    // Merging into a shard's own folder would replace the shard with the whole: refused, by
    // the folder or by its `sweep/` inside, and the shard is left as it was.
    let before = fs::read(shard1.join("sweep/runs.csv")).unwrap();
    for shard_arg in [shard1.clone(), shard1.join("sweep")] {
        let args = [
            "merge",
            shard_arg.to_str().unwrap(),
            shard2.to_str().unwrap(),
            "--out",
            shard1.to_str().unwrap(),
        ];
        let ran = sim(cwd, &args);
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(
            ran.stderr.contains("would overwrite the shard"),
            "{}",
            ran.stderr
        );
    }
    assert_eq!(fs::read(shard1.join("sweep/runs.csv")).unwrap(), before);
}

#[test]
fn resume_reuses_saved_runs_and_reruns_a_changed_scenario() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let file = mmc_with_slo(cwd);
    let out = cwd.join("out");
    let ran = sweep(cwd, &file, &out, &["--no-plots"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let runs_csv = fs::read(out.join("sweep/runs.csv")).unwrap();
    let run_file = out.join("sweep/runs/1-1.json");
    let written = fs::metadata(&run_file).unwrap().modified().unwrap();

    let ran = sweep(cwd, &file, &out, &["--no-plots", "--resume"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("= 8 runs (8 reused"), "{}", ran.stdout);
    assert_eq!(fs::read(out.join("sweep/runs.csv")).unwrap(), runs_csv);
    assert_eq!(
        fs::metadata(&run_file).unwrap().modified().unwrap(),
        written,
        "a reused run was written again"
    );

    // A stale run file (edited by hand) is simulated again and the result is unchanged.
    let text = fs::read_to_string(&run_file).unwrap();
    fs::write(&run_file, text.replace("\"seed\"", "\"seeds\"")).unwrap();
    let ran = sweep(cwd, &file, &out, &["--no-plots", "--resume"]);
    assert!(ran.stdout.contains("= 8 runs (7 reused"), "{}", ran.stdout);
    assert_eq!(fs::read(out.join("sweep/runs.csv")).unwrap(), runs_csv);

    // Another --set is another scenario: nothing is reused.
    let ran = sweep(
        cwd,
        &file,
        &out,
        &["--no-plots", "--resume", "--set", "run.horizon=200s"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("= 8 runs (0 reused"), "{}", ran.stdout);
}

#[test]
fn resume_reruns_everything_when_a_referenced_csv_changes() {
    // The tool latency comes from an empirical CSV; the scenario file does not change.
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let file = mmc_with_slo(cwd);
    let text = fs::read_to_string(&file).unwrap().replace(
        "latency = { kind = \"exponential\", mean = \"1s\" }",
        "latency = { kind = \"empirical\", csv = \"latency.csv\" }",
    );
    fs::write(&file, text).unwrap();
    let csv = cwd.join("latency.csv");
    fs::write(&csv, "latency\n0.5s\n1s\n1.5s\n").unwrap();
    let out = cwd.join("out");
    let ran = sweep(cwd, &file, &out, &["--no-plots"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.contains("3 feasible point"), "{}", ran.stdout);

    // Ten times slower tools: the saved runs belong to another input and are not reused.
    fs::write(&csv, "latency\n5s\n10s\n15s\n").unwrap();
    let ran = sweep(cwd, &file, &out, &["--no-plots", "--resume"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stdout.contains("= 8 runs (0 reused"), "{}", ran.stdout);
    assert!(ran.stdout.contains("0 feasible point"), "{}", ran.stdout);
    let fresh = cwd.join("fresh");
    let ran = sweep(cwd, &file, &fresh, &["--no-plots"]);
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert_eq!(
        fs::read(out.join("sweep/points.csv")).unwrap(),
        fs::read(fresh.join("sweep/points.csv")).unwrap(),
        "a resumed sweep after the CSV changed matches a fresh one"
    );
    // Unchanged again: everything is reused.
    let ran = sweep(cwd, &file, &out, &["--no-plots", "--resume"]);
    assert!(ran.stdout.contains("= 8 runs (8 reused"), "{}", ran.stdout);
}

#[test]
fn a_sweep_without_a_feasible_point_exits_1() {
    let tmp = tempfile::tempdir().unwrap();
    let file = mmc_with_slo(tmp.path());
    let out = tmp.path().join("out");
    let ran = sim(
        tmp.path(),
        &[
            "sweep",
            file.to_str().unwrap(),
            "--grid",
            "temporal.max_concurrent_activities=5..7:1",
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stdout.contains(
            "3 points x 1 replication = 3 runs (0 reused from earlier results); 0 feasible points"
        ),
        "{}",
        ran.stdout
    );
    assert!(ran.stdout.contains("no feasible point"), "{}", ran.stdout);
    assert!(out.join("sweep/points.csv").is_file());
}

#[test]
fn a_fleet_that_answers_nothing_is_not_a_feasible_point() {
    // With no instance, p95 of no answered message is 0 and used to pass a 10 s SLO.
    let tmp = tempfile::tempdir().unwrap();
    let file = mmc_with_slo(tmp.path());
    let out = tmp.path().join("out");
    let ran = sim(
        tmp.path(),
        &[
            "sweep",
            file.to_str().unwrap(),
            "--grid",
            "autoscaler.instances=0",
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stdout.contains("0 feasible point"), "{}", ran.stdout);
    let points = fs::read_to_string(out.join("sweep/points.csv")).unwrap();
    let header: Vec<&str> = points.lines().next().unwrap().split(',').collect();
    let row: Vec<&str> = points.lines().nth(1).unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    assert_eq!(row[column("feasible")], "false");
    assert_eq!(row[column("response_latency_p95_s_mean")], "0");
}

/// The `a` and `b` labels of a `sim diff --json` report.
fn report_names(path: &Path) -> [String; 2] {
    let report = diff_json(path);
    ["a", "b"].map(|k| report[k].as_str().unwrap().to_string())
}

fn diff_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

#[test]
fn diff_of_a_scenario_with_itself_is_exactly_zero() {
    let tmp = tempfile::tempdir().unwrap();
    let file = mmc_with_slo(tmp.path());
    let json = tmp.path().join("diff.json");
    let f = file.to_str().unwrap();
    let ran = sim(
        tmp.path(),
        &[
            "diff",
            f,
            f,
            "--replications",
            "3",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout.contains("3 paired replications"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout
            .contains("B leaves p95 response latency unchanged"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout
            .contains("slo p95 response under 10 s: A met, B met"),
        "{}",
        ran.stdout
    );
    let report = diff_json(&json);
    let metrics = report["metrics"].as_array().unwrap();
    assert!(metrics.len() >= 5);
    for m in metrics {
        assert_eq!(m["difference"]["mean"], 0.0, "{m}");
        assert_eq!(m["difference"]["sd"], 0.0, "{m}");
        assert_eq!(m["a"], m["b"], "{m}");
    }
    assert_eq!(report["breaks_slo"], false);
}

#[test]
fn diff_exits_1_when_b_breaks_an_slo_that_a_meets() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let a = mmc_with_slo(cwd);
    let text = fs::read_to_string(&a).unwrap().replace(
        "max_concurrent_activities = 10",
        "max_concurrent_activities = 7",
    );
    let b = cwd.join("fewer-slots.toml");
    fs::write(&b, text).unwrap();
    let json = cwd.join("diff.json");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());

    let ran = sim(
        cwd,
        &[
            "diff",
            a,
            b,
            "--replications",
            "4",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    // Both files say name = "mmc": the heading tells them apart by path.
    assert!(
        ran.stdout.starts_with(&format!(
            "diff A = {a} vs B = {b}: 4 paired replications, seed 1\n"
        )),
        "{}",
        ran.stdout
    );
    assert_eq!(report_names(&json), [a, b]);
    assert!(
        ran.stdout.contains("A met, B failed  <- B breaks it"),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout.contains("B raises p95 response latency by"),
        "{}",
        ran.stdout
    );
    let report = diff_json(&json);
    let p95 = report["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "response_latency_p95_s")
        .unwrap();
    let mean = p95["difference"]["mean"].as_f64().unwrap();
    let half = p95["difference"]["ci95"].as_f64().unwrap();
    assert!(mean > 10.0 && half < mean, "an unstable queue: {p95}");
    let a_mean = p95["a"]["mean"].as_f64().unwrap();
    let b_mean = p95["b"]["mean"].as_f64().unwrap();
    assert!(
        (b_mean - a_mean - mean).abs() < 1e-9,
        "paired mean = mean of B - mean of A"
    );
    assert_eq!(report["breaks_slo"], true);

    // Deleting the SLO in B does not get it through the gate: A's SLO judges B's runs.
    let without = fs::read_to_string(b).unwrap();
    let without = &without[..without.find("[[slo]]").unwrap()];
    let b_without = cwd.join("fewer-slots-no-slo.toml");
    fs::write(&b_without, without).unwrap();
    let ran = sim(
        cwd,
        &[
            "diff",
            a,
            b_without.to_str().unwrap(),
            "--replications",
            "2",
        ],
    );
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stdout.contains(
            "slo p95 response under 10 s: A met, B failed (by A's SLO: B does not declare it)  \
             <- B breaks it"
        ),
        "{}",
        ran.stdout
    );

    // The other way round B improves on A: no SLO broken.
    let ran = sim(cwd, &["diff", b, a, "--replications", "2"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout.contains("B lowers p95 response latency by"),
        "{}",
        ran.stdout
    );

    // Bad input: both files are checked, nothing runs.
    let ran = sim(cwd, &["diff", a, "nope.toml"]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("nope.toml: cannot read scenario file"),
        "{}",
        ran.stderr
    );
    let ran = sim(cwd, &["diff", a, b, "--replications", "0"]);
    assert_eq!(ran.code, 2);
}

/// A per-workload SLO cannot be bypassed by renaming (or removing) the workload it bounds: B
/// has no workload "chat" to judge A's SLO `chat.response_latency_p95_s` on, which counts as
/// breaking it (exit 1, with a line saying why and how to rename), in the text, `--json` and
/// `--junit` alike. Keeping the SLO's name in B acknowledges a rename; the renamed workload's
/// SLO in B, which A cannot be judged by, never fails the gate (nor does the same diff reversed).
#[test]
fn diff_exits_1_when_b_lacks_the_workload_of_an_slo_that_a_meets() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let a = repo_path("scenarios/examples/mixed-fleet.toml");
    let text = fs::read_to_string(&a).unwrap();
    let renamed = text
        .replace("name = \"chat\"", "name = \"chat2\"")
        .replace("workload = \"chat\"", "workload = \"chat2\"");
    assert_ne!(renamed, text);
    // Over the tool's 30 s timeout: chat2 is never answered, so its SLO fails in B.
    let slow_tool = "latency = { kind = \"constant\", value = \"45s\" }";
    let broken = renamed.replace(
        "latency = { kind = \"lognormal\", median = \"200ms\", p99 = \"2s\" }",
        slow_tool,
    );
    assert!(broken.contains(slow_tool));
    let b = cwd.join("renamed.toml");
    fs::write(&b, &broken).unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let diff = |first: &str, second: &str, extra: &[&str]| {
        let mut args = vec![
            "diff",
            first,
            second,
            "--horizon",
            "30m",
            "--replications",
            "2",
        ];
        args.extend_from_slice(extra);
        sim(cwd, &args)
    };

    let ran = diff(a, b, &["--json", "diff.json", "--junit", "gate.xml"]);
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    for line in [
        "  slo chat.response_latency_p95_s: A met, B has no workload \"chat\"  <- B breaks it\n",
        "  slo chat2.response_latency_p95_s: A has no workload \"chat2\", B failed\n",
        "B lacks workload \"chat\", which A's SLO chat.response_latency_p95_s bounds: removing \
         or renaming a workload breaks its SLOs; to rename it, give B an [[slo]] named \
         \"chat.response_latency_p95_s\" on the new workload\n",
        "B breaks an SLO that A meets\n",
    ] {
        assert!(ran.stdout.contains(line), "{line}\nin\n{}", ran.stdout);
    }
    let report = diff_json(&cwd.join("diff.json"));
    assert_eq!(report["breaks_slo"], true);
    let slo = |name: &str| {
        report["slos"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {report}"))
            .clone()
    };
    assert_eq!(
        slo("chat.response_latency_p95_s"),
        serde_json::json!({
            "name": "chat.response_latency_p95_s",
            "a_met": true,
            "b_met": null,
            "b_lacks_workload": "chat",
        })
    );
    assert_eq!(
        slo("chat2.response_latency_p95_s"),
        serde_json::json!({
            "name": "chat2.response_latency_p95_s",
            "a_met": null,
            "b_met": false,
            "a_lacks_workload": "chat2",
        })
    );
    let xml = fs::read_to_string(cwd.join("gate.xml")).unwrap();
    let document = roxmltree::Document::parse(&xml).unwrap();
    let case = |name: &str| {
        document
            .descendants()
            .find(|n| n.has_tag_name("testcase") && n.attribute("name") == Some(name))
            .unwrap_or_else(|| panic!("{name} in {xml}"))
    };
    let failure = case("chat.response_latency_p95_s")
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("B breaks it");
    assert!(
        failure
            .attribute("message")
            .unwrap()
            .starts_with("B has no workload \"chat\", which this SLO bounds"),
        "{xml}"
    );
    assert!(
        case("chat2.response_latency_p95_s")
            .children()
            .any(|n| n.has_tag_name("skipped")),
        "{xml}"
    );

    // Reversed, A's chat2 SLO fails in A and B lacks its workload: nothing A met is broken,
    // and B's chat SLO has nothing in A to be held to.
    let ran = diff(b, a, &[]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout.contains(
            "  slo chat2.response_latency_p95_s: A failed, B has no workload \"chat2\"\n"
        ),
        "{}",
        ran.stdout
    );
    assert!(!ran.stdout.contains("breaks"), "{}", ran.stdout);

    // A rename that keeps the SLO's name in B: B declares it, on the renamed workload, and
    // the gate judges chat2 by it. Unchanged behaviour, so the gate passes.
    let acknowledged = renamed.replace(
        "workload = \"chat2\"",
        "name = \"chat.response_latency_p95_s\"\nworkload = \"chat2\"",
    );
    let b_acknowledged = cwd.join("acknowledged.toml");
    fs::write(&b_acknowledged, acknowledged).unwrap();
    let ran = diff(a, b_acknowledged.to_str().unwrap(), &[]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout
            .contains("  slo chat.response_latency_p95_s: A met, B met\n"),
        "{}",
        ran.stdout
    );

    // And the scenario against itself, names unchanged: every SLO met on both sides.
    let ran = diff(a, a, &[]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout
            .contains("  slo chat.response_latency_p95_s: A met, B met\n"),
        "{}",
        ran.stdout
    );
    assert!(!ran.stdout.contains("lacks"), "{}", ran.stdout);
}

/// A and B that run for different horizons, or skip different warmups, measure different
/// things: `sim diff` still compares them, but says so on stderr before anything runs (a run
/// that fails leaves the warning said), naming both values and the key, and the report carries
/// the same sentences. Different seeds are normal (both run with A's): nothing to say.
#[test]
fn diff_warns_when_the_horizons_or_warmups_differ() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let a = mmc_with_slo(cwd);
    let text = fs::read_to_string(&a).unwrap();
    let longer = cwd.join("longer.toml");
    fs::write(
        &longer,
        text.replace("horizon = \"300s\"", "horizon = \"600s\"")
            .replace("warmup = \"0s\"", "warmup = \"60s\""),
    )
    .unwrap();
    let reseeded = cwd.join("reseeded.toml");
    fs::write(&reseeded, text.replace("seed = 1\n", "seed = 2\n")).unwrap();
    let json = cwd.join("diff.json");
    let (a, longer, reseeded, json_arg) = (
        a.to_str().unwrap(),
        longer.to_str().unwrap(),
        reseeded.to_str().unwrap(),
        json.to_str().unwrap(),
    );
    let horizon = "A runs for 5m and B for 10m (run.horizon): totals (counts, crashes, cost) \
                   are not comparable";
    let warmup = "A's warmup is 0s and B's 1m (run.warmup): latency percentiles and cache \
                  counters skip different starts and are not comparable";
    let warnings = |stderr: &str| -> Vec<String> {
        stderr
            .lines()
            .filter_map(|l| l.strip_prefix("warning: "))
            .map(str::to_string)
            .collect()
    };

    let ran = sim(
        cwd,
        &["diff", a, longer, "--replications", "2", "--json", json_arg],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let said = warnings(&ran.stderr);
    assert_eq!(said.len(), 2, "{}", ran.stderr);
    assert!(said[0].starts_with(horizon), "{}", ran.stderr);
    assert!(said[1].starts_with(warmup), "{}", ran.stderr);
    assert!(
        ran.stdout.contains("2 paired replications"),
        "{}",
        ran.stdout
    );
    assert_eq!(diff_json(&json)["warnings"], serde_json::json!(said));

    // One horizon for both: only the warmups still differ.
    let ran = sim(
        cwd,
        &[
            "diff",
            a,
            longer,
            "--replications",
            "1",
            "--horizon",
            "300s",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let said = warnings(&ran.stderr);
    assert_eq!(said.len(), 1, "{}", ran.stderr);
    assert!(said[0].starts_with(warmup), "{}", ran.stderr);

    // --quiet keeps stderr for errors; the report still says it.
    let ran = sim(
        cwd,
        &[
            "diff",
            a,
            longer,
            "--replications",
            "1",
            "--json",
            json_arg,
            "-q",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stderr, "");
    assert_eq!(diff_json(&json)["warnings"].as_array().unwrap().len(), 2);

    // Before anything runs: a run that fails still leaves the warning, ahead of its error.
    let output = Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["diff", a, longer, "--replications", "1"])
        .current_dir(cwd)
        .env("SIM_TEST_PANIC_SEED", "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let (warned, failed) = (
        stderr.find(horizon).expect("the warning"),
        stderr.find("the model panicked").expect("the failure"),
    );
    assert!(warned < failed, "{stderr}");

    // B's own seed is not a difference: both run with A's.
    let ran = sim(
        cwd,
        &[
            "diff",
            a,
            reseeded,
            "--replications",
            "1",
            "--json",
            json_arg,
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stderr, "");
    assert!(diff_json(&json).get("warnings").is_none());
}

/// The workload of point `point`, replication `replication` of `grid` over the support agent,
/// through the sweep's own loading and seeding; with the run's compute cost and cache misses.
fn workload(
    fleet: &Fleet,
    grid: &Grid,
    point: usize,
    replication: u32,
) -> (Vec<WorkloadRecord>, f64, u64) {
    let FleetPoint::Resolved(mut scenario) = fleet.load(&grid.overrides(point)).unwrap() else {
        panic!("a scenario loaded alone is resolved");
    };
    let plan = Plan {
        points: grid.len(),
        replications: 2,
        base_seed: scenario.seed,
    };
    scenario.seed = plan.seed(RunId { point, replication });
    let (output, workload) = run_with(
        &scenario,
        &RunOptions {
            record_workload: true,
        },
    )
    .unwrap();
    let summary = output.summary;
    (workload, summary.cost_usd.compute, summary.cache.misses)
}

#[test]
fn grid_points_of_one_replication_see_the_same_customers() {
    let fleet = Fleet {
        path: repo_path("scenarios/examples/support-agent.toml"),
        overrides: vec!["run.horizon=20m".into()],
        ..Default::default()
    };
    // Points: (50, 1 vCPU), (50, 4), (10000, 1), (10000, 4).
    let grid = Grid::from_args(&["temporal.cache_size=50,10000", "instance.vcpus=1,4"]).unwrap();
    let (base, base_compute_usd, base_misses) = workload(&fleet, &grid, 0, 1);
    assert!(base.len() > 500, "{} conversations", base.len());
    for point in 1..grid.len() {
        let (other, compute_usd, misses) = workload(&fleet, &grid, point, 1);
        assert_eq!(other.len(), base.len(), "point {point}");
        for (x, y) in base.iter().zip(&other) {
            assert_eq!(
                (x.index, x.arrived_at, x.messages),
                (y.index, y.arrived_at, y.messages)
            );
            let common = x.think_times.len().min(y.think_times.len());
            assert_eq!(
                x.think_times[..common],
                y.think_times[..common],
                "conversation {}",
                x.index
            );
        }
        // The fleets themselves differ: 4 vCPUs cost more, a 10,000-entry cache misses less.
        if point % 2 == 1 {
            assert!(compute_usd > base_compute_usd * 2.0, "point {point}");
        }
        if point >= 2 {
            assert!(
                misses < base_misses,
                "point {point}: {misses} vs {base_misses}"
            );
        }
    }
    let (replication_0, _, _) = workload(&fleet, &grid, 0, 0);
    assert_ne!(
        replication_0
            .iter()
            .map(|w| w.arrived_at)
            .take(10)
            .collect::<Vec<_>>(),
        base.iter()
            .map(|w| w.arrived_at)
            .take(10)
            .collect::<Vec<_>>(),
        "another replication draws other customers"
    );
}

#[test]
fn diff_junit_and_json_show_the_gate_for_ci() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let a = mmc_with_slo(cwd);
    let b = cwd.join("fewer-slots.toml");
    fs::write(
        &b,
        fs::read_to_string(&a).unwrap().replace(
            "max_concurrent_activities = 10",
            "max_concurrent_activities = 7",
        ),
    )
    .unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let gate = |first: &str, second: &str, jobs: &str| {
        sim(
            cwd,
            &[
                "diff",
                first,
                second,
                "--replications",
                "3",
                "--jobs",
                jobs,
                "--format",
                "json",
                "--junit",
                "gate.xml",
                "--json",
                "diff.json",
                "--quiet",
            ],
        )
    };
    let ran = gate(a, b, "1");
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert_eq!(
        ran.stdout,
        fs::read_to_string(cwd.join("diff.json")).unwrap(),
        "stdout is the --json report"
    );
    assert_eq!(gate(a, b, "2").stdout, ran.stdout, "whatever the threads");
    let report: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(report["breaks_slo"], true);
    let xml = fs::read_to_string(cwd.join("gate.xml")).unwrap();
    let document = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<roxmltree::Node> = document
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 1, "{xml}");
    assert_eq!(cases[0].attribute("name"), Some("p95 response under 10 s"));
    let failure = cases[0]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("B breaks it");
    assert!(
        failure
            .attribute("message")
            .unwrap()
            .starts_with("B breaks this SLO: A met"),
        "{xml}"
    );
    // The other way round nothing breaks: the case passes, exit 0, and --quiet prints nothing.
    let ran = sim(
        cwd,
        &[
            "diff",
            b,
            a,
            "--replications",
            "2",
            "--junit",
            "gate.xml",
            "-q",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.is_empty(), "{}", ran.stdout);
    let xml = fs::read_to_string(cwd.join("gate.xml")).unwrap();
    let document = roxmltree::Document::parse(&xml).unwrap();
    let case = document
        .descendants()
        .find(|n| n.has_tag_name("testcase"))
        .unwrap();
    // A (here the slower fleet) fails it, so the gate does not judge B.
    assert!(case.children().any(|n| n.has_tag_name("skipped")), "{xml}");
}

#[test]
fn objective_flag_and_json_format_print_every_point_ranked() {
    let tmp = tempfile::tempdir().unwrap();
    let file = mmc_with_slo(tmp.path());
    let out = tmp.path().join("out");
    let ran = sweep(
        tmp.path(),
        &file,
        &out,
        &[
            "--objective",
            "response_latency_p95_s",
            "--format",
            "json",
            "--quiet",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let json: serde_json::Value = serde_json::from_str(&ran.stdout).unwrap();
    assert_eq!(json["objective"], "response_latency_p95_s");
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 4);
    // Feasible first, by p95; the best feasible point heads the list.
    assert_eq!(json["best_feasible_point"], points[0]["point"]);
    assert_eq!(points[0]["feasible"], true);
    let p95: Vec<f64> = points
        .iter()
        .filter(|p| p["feasible"] == true)
        .map(|p| p["objective"]["mean"].as_f64().unwrap())
        .collect();
    assert!(p95.windows(2).all(|w| w[0] <= w[1]), "{p95:?}");
    assert!(points[0]["metrics"]["cost_compute_usd"]["mean"].is_f64());
    // An unknown objective is a usage error with a hint, before anything runs.
    let ran = sweep(tmp.path(), &file, &out, &["--objective", "cost_totl_usd"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("(did you mean \"cost_total_usd\"?)"),
        "{}",
        ran.stderr
    );
}

/// The runs a sweep did, from the first line of its summary ("N runs in").
fn halving_runs(stdout: &str) -> usize {
    let (_, rest) = stdout.split_once("): ").expect("a halving summary");
    rest.split_whitespace().next().unwrap().parse().unwrap()
}

/// The best feasible point's line.
fn best_line(stdout: &str) -> &str {
    stdout
        .lines()
        .find(|l| l.starts_with("best feasible point"))
        .expect("a best feasible point")
}

/// Successive halving with the real model on a 12-point grid (activity slots x arrival rate,
/// the M/M/c scenario cut to five minutes): the grid's best feasible point at fewer runs; the same files whatever the thread count, and round by round over two shards
/// with `--from` and `sim merge`.
#[test]
fn halving_finds_the_grid_best_and_shards_round_by_round() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let file = mmc_with_slo(cwd);
    let file = file.to_str().unwrap();
    let grid = [
        "--grid",
        "temporal.max_concurrent_activities=7..12:1",
        "--grid",
        "traffic.rate_per_s=6,8",
        "--replications",
        "8",
        "--no-plots",
    ];
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec!["sweep", file, "--out", out];
        args.extend_from_slice(&grid);
        args.extend_from_slice(extra);
        let ran = sim(cwd, &args);
        assert_eq!(ran.code, 0, "{args:?}: {}", ran.stderr);
        ran
    };
    let exhaustive = run("grid", &[]);
    let halving = run("one", &["--search", "halving", "--jobs", "1"]);
    assert_eq!(best_line(&halving.stdout), best_line(&exhaustive.stdout));
    let runs = halving_runs(&halving.stdout);
    // Activity slots cost nothing here (one fixed instance), so many points tie on the
    // objective and ties are kept: fewer runs than the grid, not half (the slow test below
    // checks half on the shipped example).
    assert!(runs < 96, "{runs} runs: {}", halving.stdout);
    assert!(
        halving.stdout.contains("of the 96 a full grid runs"),
        "{}",
        halving.stdout
    );
    assert!(
        halving.stdout.contains("eliminated: round 0"),
        "{}",
        halving.stdout
    );
    run("two", &["--search", "halving", "--jobs", "2"]);
    assert_same_files(&cwd.join("one/sweep"), &cwd.join("two/sweep"));

    let mut from: Option<String> = None;
    let mut round = 0;
    let merged = loop {
        for k in 1..=2 {
            let shard = format!("{k}/2");
            let out = format!("r{round}-s{k}");
            let mut extra = vec!["--search", "halving", "--shard", shard.as_str()];
            if let Some(from) = &from {
                extra.extend(["--from", from.as_str()]);
            }
            let ran = run(&out, &extra);
            assert!(
                ran.stdout.contains(&format!("halving round {round}")),
                "{}",
                ran.stdout
            );
        }
        let out = format!("m{round}");
        let ran = sim(
            cwd,
            &[
                "merge",
                &format!("r{round}-s1"),
                &format!("r{round}-s2"),
                "--out",
                &out,
                "--no-plots",
            ],
        );
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        round += 1;
        if ran.stdout.contains("best feasible point") {
            break out;
        }
        assert!(
            ran.stdout.contains(&format!("Run round {round} with")),
            "{}",
            ran.stdout
        );
        from = Some(out);
    };
    assert_same_files(&cwd.join("one/sweep"), &cwd.join(&merged).join("sweep"));

    // Halving settings without halving, and --from a finished search, are refused (exit 2).
    let ran = sim(
        cwd,
        &["sweep", file, "--initial-replications", "2", "--out", "bad"],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("add --search halving"),
        "{}",
        ran.stderr
    );
    assert!(!cwd.join("bad").exists());
    // --from a folder that is not an unfinished merged round: refused as a problem with --from
    // (not as a `sim merge` the user did not run), a missing file without the byte limit.
    let merged_dir = cwd.join(&merged).join("sweep");
    for (from, expected) in [
        (
            "nowhere".to_string(),
            "--from: nowhere/sweep/sweep.json: cannot read: no such file or directory".to_string(),
        ),
        (
            "r0-s1".to_string(),
            "--from r0-s1/sweep: a shard, not a merged round".to_string(),
        ),
        (
            merged.clone(),
            format!(
                "--from {}: the search there is over",
                Path::new(&merged).join("sweep").display()
            ),
        ),
    ] {
        let mut args = vec!["sweep", file, "--out", "bad", "--search", "halving"];
        args.extend_from_slice(&grid);
        args.extend(["--from", from.as_str()]);
        let ran = sim(cwd, &args);
        assert_eq!(ran.code, 2, "{from}: {}", ran.stderr);
        assert!(
            ran.stderr.contains(&expected),
            "{expected:?} not in {}",
            ran.stderr
        );
        assert!(!ran.stderr.contains("cannot merge"), "{}", ran.stderr);
        assert!(!ran.stderr.contains("reads at most"), "{}", ran.stderr);
        assert!(!cwd.join("bad").exists());
    }
    assert!(merged_dir.is_dir());
}

/// `[sweep] search` is read like every key: a bad value and a halving key without halving are
/// reported by `sim validate` with their line and column.
#[test]
fn a_bad_search_key_fails_validate_with_its_location() {
    let tmp = tempfile::tempdir().unwrap();
    let file = mmc_with_slo(tmp.path());
    let mut text = fs::read_to_string(&file).unwrap();
    text.push_str("\n[sweep]\nsearch = \"halfing\"\nhalving_factor = 1\n");
    fs::write(&file, text).unwrap();
    let ran = sim(tmp.path(), &["validate", file.to_str().unwrap()]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("sweep.search: expected")
            && ran.stderr.contains("did you mean \"halving\""),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("sweep.halving_factor"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("mmc.toml:"), "{}", ran.stderr);
}

/// Halving ends at the sweep's replications, so it cannot start above them: a table that
/// leaves `replications` out ends at its default, 1, and `initial_replications = 4` there is
/// refused by `sim validate` (it used to pass, and only `sim sweep` refused it, without a
/// location), with its line and column and what to write; setting the replications, in the
/// file or with `--set`, makes it valid.
#[test]
fn initial_replications_above_the_default_replications_fail_validate() {
    let tmp = tempfile::tempdir().unwrap();
    let file = mmc_with_slo(tmp.path());
    let mut text = fs::read_to_string(&file).unwrap();
    let line = text.lines().count() + 4;
    text.push_str("\n[sweep]\nsearch = \"halving\"\ninitial_replications = 4\n");
    fs::write(&file, &text).unwrap();
    let file = file.to_str().unwrap();
    let expected = format!(
        "{file}:{line}:24: sweep.initial_replications: expected at most 1, the default of \
         sweep.replications (the count halving ends at), found 4: set sweep.replications to 4 \
         or more"
    );
    let out = tmp.path().join("out");
    for args in [
        vec!["validate", file],
        vec!["sweep", file, "--out", out.to_str().unwrap()],
    ] {
        let ran = sim(tmp.path(), &args);
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert_eq!(ran.stderr.trim_end(), expected, "{args:?}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
    let ran = sim(
        tmp.path(),
        &["validate", file, "--set", "sweep.replications=4"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    fs::write(
        file,
        text.replace(
            "initial_replications = 4",
            "initial_replications = 4\nreplications = 4",
        ),
    )
    .unwrap();
    let ran = sim(tmp.path(), &["validate", file]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

/// The shipped example (gated: a few minutes of simulation): halving finds the exhaustive
/// grid's best feasible point at 8 replications with at most half the runs.
#[test]
fn halving_on_the_shipped_sweep_finds_the_grid_best_with_half_the_runs() {
    if std::env::var_os("SIM_SLOW_TESTS").is_none() {
        eprintln!("halving on the shipped sweep: skipped; set SIM_SLOW_TESTS=1 to run it");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let file = repo_path("scenarios/gradient-labs/sweep-cache-min-instances.toml");
    let file = file.to_str().unwrap();
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "sweep",
            file,
            "--replications",
            "8",
            "--no-plots",
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        let ran = sim(cwd, &args);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        ran
    };
    let grid = run("grid", &[]);
    let halving = run("halving", &["--search", "halving"]);
    assert_eq!(best_line(&halving.stdout), best_line(&grid.stdout));
    assert!(
        halving_runs(&halving.stdout) * 2 <= 128,
        "{}",
        halving.stdout
    );
}

/// The command a sweep's `report.html` gives under "Reproduce", run as written (the scenario
/// file for `SCENARIO.toml`), gives the same sweep: it carries the `--set` values, `--horizon`,
/// `--seed` and `--objective` of the first (it used to leave them out, and ran another sweep).
#[test]
fn the_report_gives_the_command_that_reruns_the_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let file = mmc_with_slo(cwd);
    let first = cwd.join("first");
    let flags = [
        "--seed",
        "7",
        "--horizon",
        "2m",
        "--set",
        "conversation.abandon_after=500d",
        "--objective",
        "response_latency_p95_s",
        "--jobs",
        "1",
        "--no-plots",
        "--quiet",
    ];
    let ran = sweep(cwd, &file, &first, &flags);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let report = fs::read_to_string(first.join("sweep/report.html")).unwrap();
    let command = report
        .split("<h2>Reproduce</h2>\n<pre><code>")
        .nth(1)
        .and_then(|rest| rest.split("</code></pre>").next())
        .unwrap_or_else(|| panic!("no command under Reproduce: {report}"));
    for part in [
        "--set conversation.abandon_after=500d",
        "--set run.horizon=2m",
        "--seed 7",
        "--objective response_latency_p95_s",
        "--replications 2",
    ] {
        assert!(command.contains(part), "{part:?} is not in {command:?}");
    }
    let again = cwd.join("again");
    let mut args: Vec<&str> = command
        .split_whitespace()
        .skip(1)
        .map(|word| {
            if word == "SCENARIO.toml" {
                file.to_str().unwrap()
            } else {
                word
            }
        })
        .collect();
    args.extend([
        "--out",
        again.to_str().unwrap(),
        "--jobs",
        "1",
        "--no-plots",
        "--quiet",
    ]);
    let rerun = sim(cwd, &args);
    assert_eq!(rerun.code, ran.code, "{args:?}: {}", rerun.stderr);
    assert_same_files(&first.join("sweep"), &again.join("sweep"));
    // A default seed would have given other runs: the comparison above is not vacuous.
    let seeded = cwd.join("seeded");
    let mut default_seed: Vec<&str> = args.clone();
    let at = default_seed.iter().position(|w| *w == "--seed").unwrap();
    default_seed.drain(at..at + 2);
    let out_at = default_seed.iter().position(|w| *w == "--out").unwrap();
    default_seed[out_at + 1] = seeded.to_str().unwrap();
    assert_eq!(sim(cwd, &default_seed).code, ran.code);
    assert_ne!(
        fs::read(first.join("sweep/runs.csv")).unwrap(),
        fs::read(seeded.join("sweep/runs.csv")).unwrap()
    );
}

/// A grid whose resolved points would not fit comfortably in memory keeps a summary of each
/// point and resolves it again for each run: the same names, seeds, SLO limits, input files and
/// run results as points kept whole.
#[test]
fn points_resolved_again_for_each_run_run_as_points_kept_whole() {
    let path = repo_path("scenarios/validation/mmc.toml");
    let overrides = vec!["run.horizon=300s".to_string(), "run.warmup=10s".to_string()];
    let grid_args = vec!["temporal.max_concurrent_activities=9,10,11".to_string()];
    let source = sim::scenario::load_sweep(&path, &overrides, &grid_args).unwrap();
    let grid = source.grid.clone();
    let fleet = Fleet {
        path,
        overrides,
        source: Some(std::sync::Arc::new(source)),
    };
    let whole = fleet.load_points_keeping(&grid, usize::MAX).unwrap();
    let lazy = fleet.load_points_keeping(&grid, 0).unwrap();
    assert_eq!(whole.len(), 3);
    assert_eq!(lazy.len(), 3);
    for (point, (w, l)) in whole.iter().zip(&lazy).enumerate() {
        assert!(matches!(w, FleetPoint::Resolved(_)), "point {point}");
        assert!(matches!(l, FleetPoint::Lazy(_)), "point {point}");
        assert_eq!(fleet.describe(w), fleet.describe(l));
        assert_eq!(fleet.slo_limits(w), fleet.slo_limits(l));
        assert_eq!(fleet.input_files(w), fleet.input_files(l));
        for seed in [1, 2] {
            assert_eq!(fleet.run(w, seed).unwrap(), fleet.run(l, seed).unwrap());
        }
    }
    // The points differ: the comparison above is not of one scenario three times.
    assert_ne!(fleet.run(&whole[0], 1), fleet.run(&whole[2], 1));
}
