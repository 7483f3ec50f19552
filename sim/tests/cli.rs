//! CLI-level tests: the `sim` binary as a user runs it, in a temporary directory. Exit codes,
//! messages on stderr, and what is (and is not) written. Tests marked `// needs model` or
//! `// needs scenario parser` exercise the real model or parser end to end.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{mmc, repo_file, sim, sim_in};

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

/// Asserts that a failed command left no trace: no `--out` folder and no `results/`.
fn assert_nothing_written(cwd: &Path, out: &Path) {
    assert!(!out.exists(), "{} was created", out.display());
    assert!(!cwd.join("results").exists(), "results/ was created");
}

/// A small scenario with a misspelt key on line 3, column 1.
const MISSPELT_KEY: &str = "name = \"bad\"\n[run]\nhorizn = \"1h\"\n";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn usage_errors_exit_2_with_a_message_on_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        &[][..],
        &["frobnicate"],
        &["run"],
        &["validate"],
        &["run", "a.toml", "--set", "no-equals"],
        &["run", "a.toml", "--replications", "0"],
        &["run", "a.toml", "--seed", "minus-one"],
        &["run", "a.toml", "--unknown-flag"],
    ] {
        let ran = sim(tmp.path(), args);
        assert_eq!(ran.code, 2, "sim {args:?}: {}", ran.stderr);
        assert!(!ran.stderr.is_empty(), "sim {args:?} explains itself");
        assert!(ran.stdout.is_empty(), "sim {args:?} printed {}", ran.stdout);
    }
    assert_nothing_written(tmp.path(), &tmp.path().join("out"));
}

/// `--horizon D` reaches the scenario as the override `run.horizon=D`: a bad D is blamed on
/// `--horizon D`, the flag the user typed, by every command that takes it (exit 2, nothing
/// written), and a real `--set run.horizon=D` keeps its name.
#[test]
fn a_bad_horizon_names_the_horizon_flag_on_every_command() {
    // needs scenario parser
    let tmp = tempfile::tempdir().unwrap();
    let file = repo_file("scenarios/examples/support-agent.toml");
    let out = tmp.path().join("out");
    let out = out.to_str().unwrap();
    let commands: [&[&str]; 5] = [
        &["run", &file, "--out", out],
        &["validate", &file],
        &[
            "sweep",
            &file,
            "--grid",
            "temporal.cache_size=10,20",
            "--out",
            out,
        ],
        &["diff", &file, &file],
        &[
            "headroom",
            &file,
            "--key",
            "traffic.multiplier",
            "--out",
            out,
        ],
    ];
    for command in commands {
        for (horizon, why) in [
            ("0.5ns", "not a whole number of nanoseconds"),
            ("banana", "expected a number at \"banana\""),
        ] {
            let mut args = command.to_vec();
            args.extend(["--horizon", horizon]);
            let ran = sim(tmp.path(), &args);
            assert_eq!(ran.code, 2, "sim {args:?}: {}", ran.stderr);
            let said =
                format!("--horizon {horizon}: run.horizon: invalid duration \"{horizon}\" ({why})");
            assert!(ran.stderr.contains(&said), "sim {args:?}: {}", ran.stderr);
            assert!(
                !ran.stderr.contains("--set"),
                "sim {args:?}: {}",
                ran.stderr
            );
            assert_nothing_written(tmp.path(), Path::new(out));
        }
        let mut args = command.to_vec();
        args.extend(["--set", "run.horizon=banana"]);
        let ran = sim(tmp.path(), &args);
        assert_eq!(ran.code, 2, "sim {args:?}: {}", ran.stderr);
        assert!(
            ran.stderr
                .contains("--set run.horizon=banana: run.horizon: invalid duration"),
            "sim {args:?}: {}",
            ran.stderr
        );
    }
    // Swept too: the conflict names the flag.
    let ran = sim(
        tmp.path(),
        &[
            "sweep",
            &file,
            "--grid",
            "run.horizon=1h,2h",
            "--horizon",
            "3h",
            "--out",
            out,
        ],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("--horizon 3h conflicts with --grid run.horizon=1h,2h"),
        "{}",
        ran.stderr
    );
    assert_nothing_written(tmp.path(), Path::new(out));
}

#[test]
fn help_and_version_exit_0_on_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        &["--help"][..],
        &["--version"],
        &["run", "--help"],
        &["validate", "--help"],
    ] {
        let ran = sim(tmp.path(), args);
        assert_eq!(ran.code, 0, "sim {args:?}: {}", ran.stderr);
        assert!(!ran.stdout.is_empty());
    }
    let help = sim(tmp.path(), &["run", "--help"]).stdout;
    for flag in [
        "--seed",
        "--set",
        "--replications",
        "--horizon",
        "--out",
        "--quiet",
        "--no-plots",
    ] {
        assert!(help.contains(flag), "run --help mentions {flag}");
    }
    assert!(sim(tmp.path(), &["--version"]).stdout.starts_with("sim "));
}

#[test]
fn missing_file_exits_2_names_the_path_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let ran = sim(
        tmp.path(),
        &[
            "run",
            "no-such-scenario.toml",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr
            .starts_with("no-such-scenario.toml: cannot read scenario file: "),
        "{}",
        ran.stderr
    );
    assert!(ran.stdout.is_empty());
    assert_nothing_written(tmp.path(), &out);

    let ran = sim(tmp.path(), &["validate", "no-such-scenario.toml"]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("no-such-scenario.toml"),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_directory_is_not_a_scenario() {
    let tmp = tempfile::tempdir().unwrap();
    let ran = sim(tmp.path(), &["validate", "."]);
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("it is a directory"), "{}", ran.stderr);
}

#[test]
fn one_missing_file_stops_every_run() {
    // needs scenario parser: mmc.toml must load for this to test more than the missing file
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let ran = sim(
        tmp.path(),
        &[
            "run",
            &mmc(),
            "missing.toml",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr
            .contains("missing.toml: cannot read scenario file"),
        "{}",
        ran.stderr
    );
    assert_nothing_written(tmp.path(), &out);
}

#[test]
fn validate_reports_an_unknown_key_with_its_location() {
    // needs scenario parser
    let tmp = tempfile::tempdir().unwrap();
    let bad = write(tmp.path(), "bad.toml", MISSPELT_KEY);
    let ran = sim(tmp.path(), &["validate", bad.to_str().unwrap()]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("bad.toml:3:1"),
        "file:line:col in {}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("horizon"),
        "did-you-mean hint in {}",
        ran.stderr
    );
    assert!(!ran.stdout.contains("ok:"));
    assert_eq!(
        files_under(tmp.path()),
        ["bad.toml"],
        "validate writes nothing"
    );
}

#[test]
fn run_with_an_invalid_file_writes_nothing() {
    // needs scenario parser
    let tmp = tempfile::tempdir().unwrap();
    let bad = write(tmp.path(), "bad.toml", MISSPELT_KEY);
    let out = tmp.path().join("out");
    let ran = sim(
        tmp.path(),
        &[
            "run",
            &mmc(),
            bad.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("bad.toml:3:1"), "{}", ran.stderr);
    assert!(ran.stdout.is_empty(), "{}", ran.stdout);
    assert_nothing_written(tmp.path(), &out);

    // A bad override is bad input too.
    let ran = sim(
        tmp.path(),
        &[
            "run",
            &mmc(),
            "--set",
            "temporal.cache_sise=10",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("cache_size"),
        "did-you-mean hint in {}",
        ran.stderr
    );
    assert_nothing_written(tmp.path(), &out);
}

#[test]
fn validate_accepts_the_shipped_scenario() {
    // needs scenario parser
    let tmp = tempfile::tempdir().unwrap();
    let ran = sim(tmp.path(), &["validate", &mmc()]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stdout, format!("ok: {}\n", mmc()));
    assert!(files_under(tmp.path()).is_empty());
}

#[test]
fn duplicate_output_folders_are_refused() {
    // needs scenario parser
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let ran = sim(
        tmp.path(),
        &["run", &mmc(), &mmc(), "--out", out.to_str().unwrap()],
    );
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("write to"), "{}", ran.stderr);
    assert_nothing_written(tmp.path(), &out);
}

#[test]
fn run_writes_every_output_and_a_summary() {
    // needs model
    let tmp = tempfile::tempdir().unwrap();
    let ran = sim(
        tmp.path(),
        &["run", &mmc(), "--horizon", "1h", "--seed", "5"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let folders: Vec<_> = fs::read_dir(tmp.path().join("results")).unwrap().collect();
    assert_eq!(folders.len(), 1, "one folder under results/");
    let dir = folders[0].as_ref().unwrap().path();
    let files = files_under(&dir);
    for expected in [
        "summary.json",
        "timeseries.csv",
        "events.csv",
        "scenario.resolved.toml",
    ] {
        assert!(
            files.contains(&expected.to_string()),
            "{expected} in {files:?}"
        );
    }
    assert!(!files.iter().any(|f| f.ends_with(".tmp")), "{files:?}");
    let json = fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(json.contains("\"seed\": 5"), "--seed is recorded: {json}");
    assert!(
        json.contains("\"horizon_s\": 3600"),
        "--horizon is applied: {json}"
    );
    let header = fs::read_to_string(dir.join("timeseries.csv")).unwrap();
    assert!(header.starts_with("t_s,instances_running,instances_starting,instances_desired,"));
    for label in [
        "messages received",
        "response latency p95 (s)",
        "cost total (usd)",
    ] {
        assert!(ran.stdout.contains(label), "{label} in {}", ran.stdout);
    }
    assert!(
        ran.stdout
            .contains(&format!("outputs: results{}", std::path::MAIN_SEPARATOR))
    );
}

#[test]
fn quiet_prints_nothing_and_no_plots_skips_the_figures() {
    // needs model
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let ran = sim(
        tmp.path(),
        &[
            "run",
            &mmc(),
            "--horizon",
            "1h",
            "--quiet",
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stdout, "");
    assert_eq!(ran.stderr, "");
    assert_eq!(
        files_under(&out),
        [
            "events.csv",
            "manifest.json",
            "report.html",
            "scenario.resolved.toml",
            "summary.json",
            "timeseries.csv"
        ]
    );
}

#[test]
fn a_rerun_leaves_no_file_of_the_earlier_run() {
    // needs model
    // An earlier run with figures and 3 replications, then a run with neither into the same
    // folder: the old figures and replications go, the user's own files and a sweep stay.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out_arg = out.to_str().unwrap();
    let file = mmc();
    let base = [
        "run",
        &file,
        "--horizon",
        "10m",
        "--set",
        "run.warmup=0s",
        "--quiet",
    ];
    let mut first = base.to_vec();
    first.extend(["--replications", "3", "--out", out_arg]);
    assert_eq!(sim(tmp.path(), &first).code, 0);
    assert!(out.join("timeline.png").is_file());
    assert!(out.join("replications/2/summary.json").is_file());
    fs::write(out.join("notes.md"), "mine").unwrap();
    fs::create_dir_all(out.join("sweep")).unwrap();
    fs::write(out.join("sweep/points.csv"), "a sweep's").unwrap();
    fs::write(out.join(".summary.json.tmp"), "{\"half").unwrap();

    let mut second = base.to_vec();
    second.extend(["--no-plots", "--out", out_arg]);
    assert_eq!(sim(tmp.path(), &second).code, 0);
    assert_eq!(
        files_under(&out),
        [
            "events.csv",
            "manifest.json",
            "notes.md",
            "report.html",
            "scenario.resolved.toml",
            "summary.json",
            "sweep/points.csv",
            "timeseries.csv"
        ]
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let listed: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [
            "events.csv",
            "report.html",
            "scenario.resolved.toml",
            "summary.json",
            "timeseries.csv"
        ]
    );
    assert_eq!(
        manifest["files"][3]["bytes"],
        fs::metadata(out.join("summary.json")).unwrap().len()
    );
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    // needs model
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, seed: &str| {
        let out = tmp.path().join(name);
        let ran = sim(
            tmp.path(),
            &[
                "run",
                &mmc(),
                "--horizon",
                "30m",
                "--seed",
                seed,
                "--no-plots",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        out
    };
    let (a, b, c) = (run("a", "11"), run("b", "11"), run("c", "12"));
    for file in [
        "summary.json",
        "timeseries.csv",
        "events.csv",
        "scenario.resolved.toml",
        "report.html",
    ] {
        assert_eq!(
            fs::read(a.join(file)).unwrap(),
            fs::read(b.join(file)).unwrap(),
            "{file}"
        );
    }
    assert_ne!(
        fs::read(a.join("summary.json")).unwrap(),
        fs::read(c.join("summary.json")).unwrap()
    );
}

/// The model calls the C library's `exp`, `ln`, `pow`, `sin` and `cos` (a lognormal draw is `exp`
/// of a normal one), and glibc picks a build of several of them at run time by the processor's
/// extensions: on this project's hosts `__ieee754_exp_fma`, else the AVX or the SSE2 build of the
/// same routine. The outputs must not depend on that pick, or a run would reproduce only on a
/// processor like the one that made it. The support-agent for 6 simulated hours, run as the host
/// picks and with the FMA and AVX builds masked (`GLIBC_TUNABLES`: the SSE2 build then runs;
/// `perf report` names it), gives the same bytes. Another C library ignores the variable, and a
/// host without these extensions picks alike in both runs: the test then passes by construction.
#[test]
fn outputs_do_not_depend_on_which_build_of_the_math_library_runs() {
    // needs model
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, env: &[(&str, &str)]| {
        let out = tmp.path().join(name);
        let ran = sim_in(
            tmp.path(),
            &[
                "run",
                &repo_file("scenarios/examples/support-agent.toml"),
                "--horizon",
                "6h",
                "--no-plots",
                "--out",
                out.to_str().unwrap(),
            ],
            env,
        );
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        out
    };
    let picked = run("picked", &[]);
    let sse2 = run(
        "sse2",
        &[("GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX,-AVX2,-FMA,-FMA4")],
    );
    for file in ["summary.json", "timeseries.csv", "events.csv"] {
        assert!(
            fs::read(picked.join(file)).unwrap() == fs::read(sse2.join(file)).unwrap(),
            "{file} differs between the math library's builds"
        );
    }
}

/// A seed past 2^63 - 1 (a replication's seed often is one) is taken alike by `--seed` and
/// `--set seed=N`, and the run's `scenario.resolved.toml`, which records it, runs again to the
/// same bytes.
#[test]
fn a_seed_past_i64_is_taken_by_seed_and_set_alike_and_reruns_from_the_resolved_file() {
    // needs scenario parser, model
    let tmp = tempfile::tempdir().unwrap();
    let seed = "18446744073709551615";
    let run = |name: &str, file: &str, extra: &[&str]| {
        let out = tmp.path().join(name);
        let mut args = vec!["run", file, "--horizon", "30m", "--no-plots"];
        args.extend(extra);
        args.extend(["--out", out.to_str().unwrap()]);
        let ran = sim(tmp.path(), &args);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        out
    };
    let flag = run("flag", &mmc(), &["--seed", seed]);
    let set = run("set", &mmc(), &["--set", &format!("seed={seed}")]);
    let resolved = flag.join("scenario.resolved.toml");
    let again = run("again", resolved.to_str().unwrap(), &[]);
    for file in ["timeseries.csv", "events.csv"] {
        let expected = fs::read(flag.join(file)).unwrap();
        assert_eq!(expected, fs::read(set.join(file)).unwrap(), "{file}");
        assert_eq!(expected, fs::read(again.join(file)).unwrap(), "{file}");
    }
    let past = sim(
        tmp.path(),
        &["validate", &mmc(), "--set", "seed=18446744073709551616"],
    );
    assert_eq!(past.code, 2, "{}", past.stderr);
    assert!(
        past.stderr.contains(
            "seed: expected an integer in [0, 18446744073709551615] (a seed), found \
             18446744073709551616"
        ),
        "{}",
        past.stderr
    );
}

#[test]
fn replications_write_a_table_and_do_not_depend_on_threads() {
    // needs model
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, threads: &str| {
        let out = tmp.path().join(name);
        let args = [
            "run",
            &mmc(),
            "--horizon",
            "1h",
            "--replications",
            "3",
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ];
        let ran = sim_in(tmp.path(), &args, &[("RAYON_NUM_THREADS", threads)]);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        (out, ran)
    };
    let (one, ran) = run("one", "1");
    let (two, _) = run("two", "2");
    assert!(
        ran.stdout.contains("across 3 replications"),
        "{}",
        ran.stdout
    );
    let table = fs::read_to_string(one.join("replications.csv")).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "header and 3 rows: {table}");
    assert!(lines[0].starts_with("replication,seed,messages_received,"));
    let seeds: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    assert!(seeds[0] != seeds[1] && seeds[1] != seeds[2], "{seeds:?}");
    for r in ["1", "2"] {
        assert!(
            one.join("replications")
                .join(r)
                .join("summary.json")
                .is_file()
        );
    }
    assert!(
        !one.join("replications/0").exists(),
        "replication 0 is the run itself"
    );
    for file in [
        "replications.csv",
        "summary.json",
        "replications/2/timeseries.csv",
        "replications/2/report.html",
    ] {
        assert_eq!(
            fs::read(one.join(file)).unwrap(),
            fs::read(two.join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn a_failed_slo_exits_1() {
    // needs model
    let tmp = tempfile::tempdir().unwrap();
    let mut text = fs::read_to_string(mmc()).unwrap();
    text.push_str(
        "\n[[slo]]\nname = \"impossible\"\nmetric = \"response_latency_p99_s\"\nmax = 0.000001\n",
    );
    let strict = write(tmp.path(), "strict.toml", &text);
    let out = tmp.path().join("out");
    let ran = sim(
        tmp.path(),
        &[
            "run",
            strict.to_str().unwrap(),
            "--horizon",
            "1h",
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(
        ran.stdout
            .lines()
            .any(|l| l.contains("impossible") && l.ends_with("FAILED")),
        "{}",
        ran.stdout
    );
    assert!(
        out.join("summary.json").is_file(),
        "outputs are written even when an SLO fails"
    );
}

#[test]
fn a_latency_slo_fails_when_nothing_is_answered() {
    // needs model
    // The issue's case: a fleet that answers nothing (no instance at all). The p95 of no
    // sample is 0, which used to pass a 10 s SLO with exit 0.
    let tmp = tempfile::tempdir().unwrap();
    let mut text = fs::read_to_string(mmc()).unwrap();
    text.push_str(
        "\n[[slo]]\nname = \"p95 under 10s\"\nmetric = \"response_latency_p95_s\"\nmax = 10.0\n\
         \n[[slo]]\nname = \"schedule\"\nmetric = \"activity_schedule_to_start_p95_s\"\nmax = 10.0\n\
         \n[[slo]]\nname = \"crashes\"\nmetric = \"oom_crashes\"\nmax = 0\n",
    );
    let file = write(tmp.path(), "nothing.toml", &text);
    let out = tmp.path().join("out");
    let ran = sim(
        tmp.path(),
        &[
            "run",
            file.to_str().unwrap(),
            "--horizon",
            "10m",
            "--set",
            "run.warmup=0s",
            "--set",
            "autoscaler.instances=0",
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 1, "{}{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout
            .contains("messages answered                       0"),
        "{}",
        ran.stdout
    );
    let reason = "no answered message after warmup: a latency SLO needs at least one sample";
    assert!(
        ran.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("p95 under 10s") && l.ends_with("FAILED")),
        "{}",
        ran.stdout
    );
    assert!(
        ran.stdout
            .contains(&format!("p95 under 10s FAILED: {reason}")),
        "{}",
        ran.stdout
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    let slo = &summary["slo"];
    assert_eq!(slo[0]["ok"], false);
    assert_eq!(slo[0]["value"], 0.0);
    assert_eq!(slo[0]["reason"], reason);
    assert_eq!(slo[1]["ok"], false);
    assert_eq!(
        slo[1]["reason"],
        "no activity started after warmup: a latency SLO needs at least one sample"
    );
    // No crash with no instance is a real zero, not a vacuous one.
    assert_eq!(slo[2]["ok"], true);
    assert!(slo[2].get("reason").is_none(), "{slo}");
}

#[test]
fn an_unanswered_slo_fails_when_no_message_arrives() {
    // needs model
    let tmp = tempfile::tempdir().unwrap();
    let mut text = fs::read_to_string(mmc()).unwrap();
    text.push_str("\n[[slo]]\nmetric = \"unanswered_fraction\"\nmax = 0.01\n");
    let file = write(tmp.path(), "quiet.toml", &text);
    let out = tmp.path().join("out");
    let ran = sim(
        tmp.path(),
        &[
            "run",
            file.to_str().unwrap(),
            "--horizon",
            "10m",
            "--set",
            "traffic.rate_per_s=0",
            "--set",
            "run.warmup=0s",
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 1, "{}{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout.contains(
            "unanswered_fraction FAILED: no message received: an unanswered-message SLO needs at \
             least one message"
        ),
        "{}",
        ran.stdout
    );
}

#[test]
fn an_slo_name_of_70000_characters_prints_ellipsized() {
    // needs model
    let tmp = tempfile::tempdir().unwrap();
    let mut text = fs::read_to_string(mmc()).unwrap();
    let name = "n".repeat(70_000);
    text.push_str(&format!(
        "\n[[slo]]\nname = \"{name}\"\nmetric = \"oom_crashes\"\nmax = 0\n"
    ));
    let file = write(tmp.path(), "long.toml", &text);
    let out = tmp.path().join("out");
    let ran = sim(
        tmp.path(),
        &[
            "run",
            file.to_str().unwrap(),
            "--horizon",
            "1m",
            "--set",
            "run.warmup=0s",
            "--no-plots",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout
            .contains(&format!("  {}…      0      0      ok", "n".repeat(59))),
        "{}",
        ran.stdout
    );
    let summary = fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains(&name), "summary.json keeps the whole name");
}

#[test]
fn a_failed_run_prints_the_seed_and_the_command_to_reproduce_it() {
    // needs model
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let ran = sim(
        tmp.path(),
        &[
            "run",
            &mmc(),
            "--set",
            // Above the up-front lower bound (half of 240,000 customers x 2 events), below
            // what the run needs (about 490,000): the limit is reached during the run.
            "run.max_events=300000",
            "--seed",
            "3",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("seed 3"), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!(
            "reproduce with: sim run {} --set run.max_events=300000 --seed 3",
            mmc()
        )),
        "{}",
        ran.stderr
    );
}

/// A run that fails (here: its event limit reached mid-run) leaves the folder's earlier
/// outputs whole and untouched, and leaves no folder where there was none.
#[test]
fn a_failed_run_keeps_the_earlier_outputs() {
    // needs model
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out_arg = out.to_str().unwrap();
    let file = mmc();
    let first = [
        "run",
        &file,
        "--set",
        "run.warmup=0s",
        "--horizon",
        "600s",
        "--replications",
        "2",
        "--quiet",
        "--out",
        out_arg,
    ];
    let ran = sim(tmp.path(), &first);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let contents = || -> Vec<(String, Vec<u8>)> {
        files_under(&out)
            .into_iter()
            .map(|name| {
                let bytes = fs::read(out.join(&name)).unwrap();
                (name, bytes)
            })
            .collect()
    };
    let before = contents();
    assert!(before.len() >= 5, "{before:?}");
    let failing = |out: &str| {
        sim(
            tmp.path(),
            &[
                "run",
                &file,
                "--set",
                "run.max_events=300000",
                "--quiet",
                "--out",
                out,
            ],
        )
    };
    let ran = failing(out_arg);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        before == contents(),
        "the failed run changed the earlier outputs"
    );
    let fresh = tmp.path().join("fresh");
    let ran = failing(fresh.to_str().unwrap());
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(!fresh.exists(), "a failed run left {}", fresh.display());
}

#[test]
fn several_files_with_out_get_a_folder_each() {
    // needs model
    let tmp = tempfile::tempdir().unwrap();
    // A second scenario with another name: the same queue.
    let text: String = fs::read_to_string(mmc())
        .unwrap()
        .lines()
        .map(|line| {
            if line.starts_with("name =") {
                "name = \"mmc-copy\""
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let copy = write(tmp.path(), "mmc-copy.toml", &text);
    let out = tmp.path().join("out");
    let ran = sim(
        tmp.path(),
        &[
            "run",
            &mmc(),
            copy.to_str().unwrap(),
            "--horizon",
            "1h",
            "--no-plots",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let mut folders: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    folders.sort();
    assert_eq!(folders, ["mmc", "mmc-copy"]);
    assert!(
        folders
            .iter()
            .all(|f| out.join(f).join("summary.json").is_file())
    );
}

// Bad input, one test per class: `sim validate` and `sim run --out` both exit 2, stderr carries
// the located message, and nothing is written. All need the scenario parser.

/// A minimal valid scenario; each bad-input case appends to it or replaces it.
const VALID_BASE: &str = "name = \"bad\"
[traffic]
kind = \"constant\"
rate_per_s = 1
[[agent.steps]]
kind = \"tool\"
latency = { kind = \"exponential\", mean = \"1s\" }
";

/// Writes `text` as `bad.toml`, then checks both commands reject it with every `expected`
/// fragment on stderr, exit code 2, and no file written.
fn check_bad_input(text: &str, expected: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let bad = write(tmp.path(), "bad.toml", text);
    let out = tmp.path().join("out");
    for args in [
        vec!["validate", bad.to_str().unwrap()],
        vec!["run", bad.to_str().unwrap(), "--out", out.to_str().unwrap()],
        vec!["run", bad.to_str().unwrap()],
    ] {
        let ran = sim(tmp.path(), &args);
        assert_eq!(ran.code, 2, "sim {args:?}: {}", ran.stderr);
        for fragment in expected {
            assert!(
                ran.stderr.contains(fragment),
                "{fragment:?} in {}",
                ran.stderr
            );
        }
        assert!(ran.stdout.is_empty(), "{}", ran.stdout);
        assert_nothing_written(tmp.path(), &out);
        assert_eq!(files_under(tmp.path()), ["bad.toml"]);
    }
}

#[test]
fn the_minimal_base_scenario_is_valid() {
    // needs scenario parser: the bad-input cases below must fail for their own reason only
    let tmp = tempfile::tempdir().unwrap();
    let good = write(tmp.path(), "good.toml", VALID_BASE);
    let ran = sim(tmp.path(), &["validate", good.to_str().unwrap()]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

#[test]
fn bad_input_toml_syntax_error() {
    // needs scenario parser
    check_bad_input("name = \"bad\n", &["bad.toml:1:"]);
}

#[test]
fn bad_input_unknown_key_with_suggestion() {
    // needs scenario parser
    let text = format!("{VALID_BASE}[run]\nhorizn = \"1h\"\n");
    check_bad_input(
        &text,
        &["bad.toml:9:1", "run.horizn", "did you mean \"horizon\""],
    );
}

#[test]
fn bad_input_wrong_type() {
    // needs scenario parser
    let text = format!("{VALID_BASE}[temporal]\ncache_size = \"big\"\n");
    check_bad_input(&text, &["bad.toml:9:", "temporal.cache_size", "\"big\""]);
}

#[test]
fn bad_input_unknown_unit() {
    // needs scenario parser
    let text = format!("{VALID_BASE}[run]\nhorizon = \"5 parsecs\"\n");
    check_bad_input(&text, &["bad.toml:9:", "run.horizon", "parsecs"]);
}

#[test]
fn bad_input_missing_unit_lists_the_accepted_units() {
    // needs scenario parser
    let text = format!("{VALID_BASE}[run]\nhorizon = 5\n");
    check_bad_input(&text, &["bad.toml:9:", "run.horizon", "ms", "units"]);
}

#[test]
fn bad_input_out_of_range_value() {
    // needs scenario parser
    let text = format!("{VALID_BASE}failure_probability = 1.5\n");
    check_bad_input(
        &text,
        &["bad.toml:8:", "agent.steps.0.failure_probability", "1.5"],
    );
}

#[test]
fn bad_input_min_above_max() {
    // needs scenario parser
    let text = format!(
        "{VALID_BASE}[autoscaler]\nkind = \"cloud_run\"\nmin_instances = 5\nmax_instances = 2\n"
    );
    check_bad_input(&text, &["bad.toml:10:", "min_instances", "max_instances"]);
}

#[test]
fn bad_input_unknown_provider_in_a_group() {
    // needs scenario parser
    let text = format!(
        "{VALID_BASE}[[agent.steps]]
kind = \"llm\"
group = \"main\"
input_tokens = {{ kind = \"constant\", value = 10 }}
output_tokens = {{ kind = \"constant\", value = 10 }}
[providers.openai]
ttft = {{ kind = \"constant\", value = \"1s\" }}
output_tokens_per_s = 50
[provider_groups]
main = [\"openai\", \"nope\"]
"
    );
    check_bad_input(&text, &["bad.toml:17:", "provider_groups.main", "\"nope\""]);
}

#[test]
fn bad_input_every_problem_is_reported_at_once() {
    // needs scenario parser
    let text = format!("{VALID_BASE}[run]\nhorizn = \"1h\"\n[temporal]\ncache_size = \"big\"\n");
    check_bad_input(&text, &["run.horizn", "temporal.cache_size"]);
}

#[test]
fn bad_input_through_an_override() {
    // needs scenario parser
    let tmp = tempfile::tempdir().unwrap();
    let good = write(tmp.path(), "good.toml", VALID_BASE);
    let out = tmp.path().join("out");
    let ran = sim(
        tmp.path(),
        &[
            "run",
            good.to_str().unwrap(),
            "--horizon",
            "5",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("run.horizon"), "{}", ran.stderr);
    assert_nothing_written(tmp.path(), &out);
}

/// The SLO gate on the story's scenarios: 01 and 03 fail an SLO by design (exit 1), 04 and 05
/// hold every SLO (exit 0).
#[test]
fn gradient_labs_scenarios_exit_1_for_01_and_03_and_0_for_04_and_05() {
    let cases = [
        ("01-cache-oom", 1),
        ("03-small-cache", 1),
        ("04-min-instances", 0),
        ("05-keda-backlog", 0),
    ];
    std::thread::scope(|scope| {
        for (name, expected) in cases {
            scope.spawn(move || {
                let dir = tempfile::tempdir().unwrap();
                let file = repo_file(&format!("scenarios/gradient-labs/{name}.toml"));
                let out = dir.path().join("out");
                let ran = sim(
                    dir.path(),
                    &[
                        "run",
                        &file,
                        "--no-plots",
                        "--quiet",
                        "--out",
                        out.to_str().unwrap(),
                    ],
                );
                assert_eq!(ran.code, expected, "{name}: {}", ran.stderr);
                let summary = fs::read_to_string(out.join("summary.json")).unwrap();
                let failed = summary.matches("\"ok\": false").count();
                assert_eq!(failed > 0, expected == 1, "{name}: {summary}");
            });
        }
    });
}

/// A panic injected (through the test hook `SIM_TEST_PANIC_SEED`) into the run with seed 7 of
/// each command: exit 2, the seed, and the command that reruns that run alone.
#[test]
fn a_panic_in_any_run_of_any_command_exits_2_with_the_seed_and_a_reproduce_command() {
    // needs model
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out_arg = out.to_str().unwrap();
    let file = mmc();
    let short = ["--set", "run.horizon=1m", "--set", "run.warmup=0s"];
    let panic_on_7 = [("SIM_TEST_PANIC_SEED", "7"), ("RUST_BACKTRACE", "0")];
    let reproduce =
        format!("reproduce with: sim run {file} --set run.horizon=1m --set run.warmup=0s --seed 7");

    let mut run = vec!["run", &file, "--seed", "7", "--no-plots", "--out", out_arg];
    run.extend_from_slice(&short);
    let ran = sim_in(tmp.path(), &run, &panic_on_7);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("seed 7"), "{}", ran.stderr);
    assert!(ran.stderr.contains("the model panicked"), "{}", ran.stderr);
    assert!(ran.stderr.contains(&reproduce), "{}", ran.stderr);

    let mut sweep = vec![
        "sweep",
        &file,
        "--set",
        "seed=7",
        "--grid",
        "traffic.rate_per_s=4,8",
        "--no-plots",
        "--out",
        out_arg,
    ];
    sweep.extend_from_slice(&short);
    let ran = sim_in(tmp.path(), &sweep, &panic_on_7);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("2 runs failed"), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "point 1 [traffic.rate_per_s=8] replication 0 seed 7: bug: the model panicked"
        ),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains(&format!(
            "reproduce with: sim run {file} --set run.horizon=1m --set run.warmup=0s \
             --set traffic.rate_per_s=8 --seed 7"
        )),
        "{}",
        ran.stderr
    );

    let mut diff = vec!["diff", &file, &file, "--seed", "7"];
    diff.extend_from_slice(&short);
    let ran = sim_in(tmp.path(), &diff, &panic_on_7);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("B replication 0 seed 7: bug: the model panicked"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains(&reproduce), "{}", ran.stderr);

    let mut headroom = vec![
        "headroom",
        &file,
        "--key",
        "temporal.max_concurrent_activities",
        "--seed",
        "7",
        "--replications",
        "1",
    ];
    headroom.extend_from_slice(&short);
    let ran = sim_in(tmp.path(), &headroom, &panic_on_7);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("temporal.max_concurrent_activities=2 seed 7: bug: the model panicked"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains(&format!(
            "reproduce with: sim run {file} --set run.horizon=1m --set run.warmup=0s \
             --set temporal.max_concurrent_activities=2 --seed 7"
        )),
        "{}",
        ran.stderr
    );

    // Without the hook the same commands succeed: the failure above was the injected panic.
    let ran = sim(tmp.path(), &run);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

/// Every subcommand, as a user types it.
const SUBCOMMANDS: [&str; 10] = [
    "run",
    "validate",
    "sweep",
    "merge",
    "diff",
    "headroom",
    "completions",
    "man",
    "schema",
    "new",
];

#[test]
fn completion_scripts_cover_every_subcommand_in_every_shell() {
    let tmp = tempfile::tempdir().unwrap();
    let help = sim(tmp.path(), &["--help"]).stdout;
    for subcommand in SUBCOMMANDS {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{subcommand} "))),
            "--help lists {subcommand}: {help}"
        );
    }
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let ran = sim(tmp.path(), &["completions", shell]);
        assert_eq!(ran.code, 0, "{shell}: {}", ran.stderr);
        assert!(ran.stdout.len() > 1000, "{shell}: {}", ran.stdout);
        for subcommand in SUBCOMMANDS {
            assert!(
                ran.stdout.contains(subcommand),
                "the {shell} script mentions {subcommand}"
            );
        }
        // Long flags by name: fish spells them `-l junit`.
        for flag in ["junit", "horizon", "format", "shard", "jobs"] {
            assert!(
                ran.stdout.contains(flag),
                "the {shell} script offers {flag}"
            );
        }
        if shell == "bash" && Command::new("bash").arg("--version").output().is_ok() {
            let script = write(tmp.path(), "sim.bash", &ran.stdout);
            let checked = Command::new("bash")
                .arg("-n")
                .arg(&script)
                .output()
                .unwrap();
            assert!(
                checked.status.success(),
                "bash -n: {}",
                String::from_utf8_lossy(&checked.stderr)
            );
        }
    }
    let ran = sim(tmp.path(), &["completions", "tcsh"]);
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("tcsh"), "{}", ran.stderr);
}

#[test]
fn the_man_page_names_every_subcommand_and_out_writes_one_page_each() {
    let tmp = tempfile::tempdir().unwrap();
    let ran = sim(tmp.path(), &["man"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.starts_with(".ie"), "{}", ran.stdout);
    assert!(ran.stdout.contains(".TH sim 1"), "{}", ran.stdout);
    for subcommand in SUBCOMMANDS {
        // roff escapes the hyphen: sim\-run(1).
        assert!(
            ran.stdout.contains(&format!("sim\\-{subcommand}(1)")),
            "the man page names {subcommand}"
        );
    }
    let pages = tmp.path().join("man/man1");
    let ran = sim(tmp.path(), &["man", "--out", pages.to_str().unwrap()]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let mut expected: Vec<String> = SUBCOMMANDS.iter().map(|s| format!("sim-{s}.1")).collect();
    expected.push("sim.1".into());
    expected.sort();
    assert_eq!(files_under(&pages), expected);
    let run_page = fs::read_to_string(pages.join("sim-run.1")).unwrap();
    for flag in ["junit", "format", "jobs", "horizon"] {
        assert!(run_page.contains(&format!("\\-\\-{flag}")), "{run_page}");
    }
    // A file where the folder should be: exit 2, naming it.
    let blocker = write(tmp.path(), "blocker", "");
    let ran = sim(
        tmp.path(),
        &["man", "--out", blocker.join("man1").to_str().unwrap()],
    );
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("blocker"), "{}", ran.stderr);
}

/// mmc with an SLO that fails (vacuously when nothing is answered) and one that holds.
fn mmc_with_two_slos(dir: &Path) -> PathBuf {
    let mut text = fs::read_to_string(mmc()).unwrap();
    text.push_str(
        "\n[[slo]]\nname = \"p99 <fast> & \\\"tight\\\"\"\nmetric = \"response_latency_p99_s\"\n\
         max = 0.000001\n\n[[slo]]\nname = \"no crash\"\nmetric = \"oom_crashes\"\nmax = 0\n",
    );
    write(dir, "two-slos.toml", &text)
}

/// The test cases of a JUnit file: (suite name, case name, failure message if failed).
fn junit_cases(path: &Path) -> Vec<(String, String, Option<String>)> {
    let xml = fs::read_to_string(path).unwrap();
    let document = roxmltree::Document::parse(&xml).expect("valid XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let mut cases = Vec::new();
    for suite in root.children().filter(|n| n.has_tag_name("testsuite")) {
        let failures = suite
            .attribute("failures")
            .unwrap()
            .parse::<usize>()
            .unwrap();
        let mut failed = 0;
        for case in suite.children().filter(|n| n.has_tag_name("testcase")) {
            let failure = case
                .children()
                .find(|n| n.has_tag_name("failure") || n.has_tag_name("error"))
                .map(|n| n.attribute("message").unwrap().to_string());
            failed += usize::from(failure.is_some());
            cases.push((
                suite.attribute("name").unwrap().to_string(),
                case.attribute("name").unwrap().to_string(),
                failure,
            ));
        }
        assert_eq!(failures, failed, "the failures attribute counts them");
    }
    cases
}

#[test]
fn junit_lists_one_case_per_slo_with_failures_marked() {
    // needs model
    let tmp = tempfile::tempdir().unwrap();
    let file = mmc_with_two_slos(tmp.path());
    let other = write(
        tmp.path(),
        "other.toml",
        &fs::read_to_string(&file)
            .unwrap()
            .replace("name = \"mmc\"", "name = \"other\""),
    );
    let junit = tmp.path().join("verdicts.xml");
    let ran = sim(
        tmp.path(),
        &[
            "run",
            "two-slos.toml",
            "other.toml",
            "--horizon",
            "1h",
            "--no-plots",
            "--out",
            "out",
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stdout.contains("FAILED"), "the tables still print");
    let cases = junit_cases(&junit);
    assert_eq!(cases.len(), 4, "{cases:?}");
    for (suite, file) in [(0, &file), (2, &other)] {
        let name = file.file_name().unwrap().to_str().unwrap();
        assert_eq!(cases[suite].0, name);
        assert_eq!(cases[suite].1, "p99 <fast> & \"tight\"");
        let message = cases[suite]
            .2
            .as_deref()
            .expect("the impossible SLO failed");
        assert!(
            message.starts_with("response_latency_p99_s = ") && message.ends_with(" > 0.000001"),
            "{message}"
        );
        assert_eq!(cases[suite + 1].1, "no crash");
        assert_eq!(cases[suite + 1].2, None);
    }

    // A vacuous failure carries its reason.
    let ran = sim(
        tmp.path(),
        &[
            "run",
            "two-slos.toml",
            "--horizon",
            "10m",
            "--set",
            "run.warmup=0s",
            "--set",
            "autoscaler.instances=0",
            "--no-plots",
            "--out",
            "out",
            "--junit",
            "out/verdicts.xml",
            "--replications",
            "2",
        ],
    );
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    let cases = junit_cases(&tmp.path().join("out/verdicts.xml"));
    assert_eq!(
        cases[0].2.as_deref(),
        Some(
            "response_latency_p99_s failed in 2/2 replications (mean 0, limit 0.000001): no \
             answered message after warmup: a latency SLO needs at least one sample"
        )
    );
    // Every SLO holds: no failure, exit 0.
    let ran = sim(
        tmp.path(),
        &[
            "run",
            "two-slos.toml",
            "--horizon",
            "1h",
            "--set",
            "slo.0.max=1000",
            "--no-plots",
            "--out",
            "out",
            "--junit",
            junit.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(junit_cases(&junit).iter().all(|c| c.2.is_none()));
}

#[test]
fn a_bad_junit_path_exits_2_naming_it_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let folder = tmp.path().join("a-folder");
    fs::create_dir(&folder).unwrap();
    let mut cases = vec![
        ("missing/verdicts.xml", "folder missing does not exist"),
        ("a-folder", "it is a directory"),
        // One of the run's own files: it would replace the summary, or the summary it.
        (
            "out/summary.json",
            "the run writes its own summary.json in that folder",
        ),
    ];
    if Path::new("/proc/self").is_dir() {
        // A folder that exists but takes no new file: found before the run, not after it.
        cases.push(("/proc/verdicts.xml", "folder /proc does not take new files"));
    }
    for (junit, why) in cases {
        let ran = sim(
            tmp.path(),
            &[
                "run",
                &mmc(),
                "--horizon",
                "1h",
                "--out",
                out.to_str().unwrap(),
                "--junit",
                junit,
            ],
        );
        assert_eq!(ran.code, 2, "{junit}: {}", ran.stderr);
        assert!(
            ran.stderr
                .contains(&format!("{junit}: cannot write: {why}")),
            "{}",
            ran.stderr
        );
        assert!(ran.stdout.is_empty(), "{}", ran.stdout);
        assert_nothing_written(tmp.path(), &out);
        assert!(!tmp.path().join("missing").exists());
    }
    assert!(files_under(&folder).is_empty());
    // diff checks its files before running too.
    let ran = sim(
        tmp.path(),
        &["diff", &mmc(), &mmc(), "--junit", "missing/j.xml"],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("missing/j.xml: cannot write"),
        "{}",
        ran.stderr
    );
}

/// An invalid scenario run as a CI gate runs it (`--out gate --junit gate/slo.xml`, `gate` not
/// made yet) gets its own errors alone: the JUnit file is judged once the run folder is known,
/// and a false "folder gate does not exist" no longer follows them.
#[test]
fn an_invalid_scenario_is_not_followed_by_a_false_junit_folder_error() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("bad.toml"), "name = \"x\"\nbogus = 1\n").unwrap();
    let ran = sim(
        tmp.path(),
        &[
            "run",
            "bad.toml",
            "--out",
            "gate",
            "--junit",
            "gate/slo.xml",
        ],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("bogus"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("cannot write"), "{}", ran.stderr);
    assert!(!tmp.path().join("gate").exists());
    // The same layout with a valid scenario runs and writes the verdicts there.
    let ran = sim(
        tmp.path(),
        &[
            "run",
            &mmc(),
            "--horizon",
            "1h",
            "--out",
            "gate",
            "--junit",
            "gate/slo.xml",
        ],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(tmp.path().join("gate/slo.xml").is_file());
}

#[test]
fn an_out_folder_that_is_a_file_is_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("notes.txt"), "keep").unwrap();
    let mmc = mmc();
    for args in [
        &["run", &mmc, "--horizon", "1h", "--out", "notes.txt"][..],
        &["run", &mmc, "--horizon", "1h", "--out", "notes.txt/deeper"],
        &[
            "sweep",
            &mmc,
            "--horizon",
            "1h",
            "--grid",
            "traffic.rate_per_s=8,9",
            "--out",
            "notes.txt",
        ],
        &["man", "--out", "notes.txt"],
    ] {
        let ran = sim(tmp.path(), args);
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        // `run` names the scenario's file first: it refuses before anything runs.
        assert!(
            ran.stderr.contains("notes.txt: ")
                && ran
                    .stderr
                    .contains("it is a file, and the outputs need a folder here"),
            "{args:?}: {}",
            ran.stderr
        );
        assert_eq!(
            fs::read_to_string(tmp.path().join("notes.txt")).unwrap(),
            "keep"
        );
    }
}

/// A CSV the scenario reads is an input too: a run's `--out` folder where it would be
/// replaced (a trace saved as `events.csv`), a sweep folder holding it, or a report named as
/// it, is refused before anything runs, and the CSV is kept. So is a report path that is the
/// output folder itself or ends with a separator (it names a folder).
#[test]
fn outputs_that_would_replace_a_csv_read_or_name_a_folder_are_refused_up_front() {
    let tmp = tempfile::tempdir().unwrap();
    let trace = "arrival\n1s\n2s\n3s\n";
    fs::write(tmp.path().join("events.csv"), trace).unwrap();
    fs::create_dir_all(tmp.path().join("sw/sweep")).unwrap();
    fs::write(tmp.path().join("sw/sweep/t.csv"), trace).unwrap();
    let scenario = |csv: &str| {
        format!(
            "[run]\nhorizon = \"10m\"\n[traffic]\nkind = \"trace\"\ncsv = \"{csv}\"\n\
             [[agent.steps]]\nkind = \"tool\"\nlatency = {{ kind = \"exponential\", mean = \"1s\" }}\n"
        )
    };
    fs::write(tmp.path().join("s.toml"), scenario("events.csv")).unwrap();
    fs::write(tmp.path().join("s2.toml"), scenario("sw/sweep/t.csv")).unwrap();
    let cases: [(&[&str], &str); 6] = [
        (
            &["run", "s.toml", "--out", "."],
            "a run would replace or delete",
        ),
        (
            &["run", "s.toml", "--out", "o", "--junit", "events.csv"],
            "events.csv, which this command reads",
        ),
        (
            &["diff", "s.toml", "s.toml", "--json", "./events.csv"],
            "events.csv, which this command reads",
        ),
        (
            &[
                "sweep",
                "s2.toml",
                "--out",
                "sw",
                "--grid",
                "traffic.multiplier=1,2",
                "--no-plots",
            ],
            "a sweep would replace or delete",
        ),
        (
            &["run", "s.toml", "--out", "oj", "--junit", "oj"],
            "it is the output folder oj",
        ),
        (
            &["run", "s.toml", "--out", "ox", "--junit", "nd/"],
            "it ends with a path separator",
        ),
    ];
    for (args, why) in cases {
        let ran = sim(tmp.path(), args);
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(why), "{args:?}: {}", ran.stderr);
        assert_eq!(
            fs::read_to_string(tmp.path().join("events.csv")).unwrap(),
            trace
        );
        assert_eq!(
            fs::read_to_string(tmp.path().join("sw/sweep/t.csv")).unwrap(),
            trace
        );
        for folder in ["o", "oj", "ox", "nd"] {
            assert!(!tmp.path().join(folder).exists(), "{args:?} wrote {folder}");
        }
        assert!(!tmp.path().join("summary.json").exists(), "{args:?}");
    }
}

#[test]
fn a_report_file_that_is_a_scenario_read_is_refused_and_the_scenario_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = fs::read_to_string(mmc()).unwrap();
    fs::write(tmp.path().join("a.toml"), &scenario).unwrap();
    fs::write(tmp.path().join("b.toml"), &scenario).unwrap();
    let out = tmp.path().join("out");
    let out_arg = out.to_str().unwrap();
    // The same file spelt differently still is the scenario.
    for args in [
        &["run", "a.toml", "--out", out_arg, "--junit", "./a.toml"][..],
        &["diff", "a.toml", "b.toml", "--json", "b.toml"],
        &["diff", "a.toml", "b.toml", "--junit", "sub/../a.toml"],
    ] {
        fs::create_dir_all(tmp.path().join("sub")).unwrap();
        let ran = sim(tmp.path(), &[args, &["--horizon", "1h"]].concat());
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(
            ran.stderr.contains("cannot write: it is ")
                && ran.stderr.contains("a.toml, which this command reads")
                || ran.stderr.contains("b.toml, which this command reads"),
            "{args:?}: {}",
            ran.stderr
        );
        assert!(!out.exists(), "{args:?}");
        for file in ["a.toml", "b.toml"] {
            let kept = fs::read_to_string(tmp.path().join(file)).unwrap();
            assert_eq!(kept, scenario, "{args:?} replaced {file}");
        }
    }
    // Nor may diff's two reports share one file (the second would replace the first).
    let ran = sim(
        tmp.path(),
        &[
            "diff",
            "a.toml",
            "b.toml",
            "--json",
            "r.txt",
            "--junit",
            "./r.txt",
            "--horizon",
            "1h",
        ],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("./r.txt: cannot write: --json and --junit name the same file"),
        "{}",
        ran.stderr
    );
    assert!(!tmp.path().join("r.txt").exists());
}

#[test]
fn format_json_prints_summaries_and_verdicts_the_same_on_any_thread_count() {
    // needs model
    let tmp = tempfile::tempdir().unwrap();
    mmc_with_two_slos(tmp.path());
    let run = |jobs: &str, out: &str, extra: &[&str]| {
        let mut args = vec![
            "run",
            "two-slos.toml",
            "--horizon",
            "1h",
            "--replications",
            "3",
            "--no-plots",
            "--format",
            "json",
            "--jobs",
            jobs,
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        sim(tmp.path(), &args)
    };
    let one = run("1", "out", &[]);
    assert_eq!(one.code, 1, "{}", one.stderr);
    let two = run("2", "out", &[]);
    assert_eq!(
        one.stdout, two.stdout,
        "byte-identical across thread counts"
    );
    assert_eq!(run("1", "out", &[]).stdout, one.stdout, "and across runs");
    let report: serde_json::Value = serde_json::from_str(&one.stdout).expect("one JSON object");
    assert_eq!(report["ok"], false);
    let scenario = &report["scenarios"][0];
    assert_eq!(scenario["status"], "slo_failed");
    assert_eq!(scenario["replications"], 3);
    assert_eq!(scenario["outputs"], "out");
    let summaries = scenario["summaries"].as_array().unwrap();
    assert_eq!(summaries.len(), 3);
    let written: serde_json::Value =
        serde_json::from_slice(&fs::read(tmp.path().join("out/summary.json")).unwrap()).unwrap();
    assert_eq!(summaries[0], written, "replication 0 is summary.json");
    let slo = scenario["slo"].as_array().unwrap();
    assert_eq!(slo.len(), 2);
    assert_eq!(slo[0]["ok"], false);
    assert_eq!(slo[0]["failed_replications"], 3);
    assert_eq!(slo[1]["name"], "no crash");
    assert_eq!(slo[1]["ok"], true);
    // --quiet silences the tables, not the JSON; every SLO held: exit 0.
    let held = run("2", "held", &["--set", "slo.0.max=1000", "--quiet"]);
    assert_eq!(held.code, 0, "{}", held.stderr);
    let report: serde_json::Value = serde_json::from_str(&held.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["scenarios"][0]["status"], "ok");
    // Bad input: exit 2, nothing on stdout.
    let bad = sim(
        tmp.path(),
        &["run", "missing.toml", "--format", "json", "--out", "x"],
    );
    assert_eq!(bad.code, 2);
    assert!(bad.stdout.is_empty(), "{}", bad.stdout);
}

#[test]
fn nothing_but_errors_on_stderr_when_it_is_not_a_terminal() {
    // needs model
    // The tests' stderr is a pipe: no progress bar, no stray line, with or without --quiet.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out = out.to_str().unwrap();
    for args in [
        vec!["run", &mmc(), "--horizon", "1h", "--out", out],
        vec![
            "run",
            &mmc(),
            "--horizon",
            "1h",
            "--replications",
            "3",
            "--out",
            out,
        ],
        vec![
            "sweep",
            &mmc(),
            "--set",
            "run.horizon=1h",
            "--grid",
            "traffic.rate_per_s=6,8",
            "--out",
            out,
        ],
    ] {
        let ran = sim(tmp.path(), &args);
        assert_eq!(ran.code, 0, "{args:?}: {}", ran.stderr);
        assert_eq!(ran.stderr, "", "{args:?} wrote to a piped stderr");
        assert!(
            !ran.stdout.is_empty(),
            "{args:?}: the summary still goes to stdout"
        );
    }
    // An error still reaches stderr.
    let ran = sim(tmp.path(), &["run", "missing.toml"]);
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("missing.toml"), "{}", ran.stderr);
}

/// The templates of `sim new`, as `sim new --list` names them.
const TEMPLATES: [&str; 4] = ["minimal", "support-agent", "research-agent", "underwriting"];

#[test]
fn new_lists_the_templates_and_each_one_validates_and_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let ran = sim(tmp.path(), &["new", "--list"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let listed: Vec<&str> = ran
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(listed, TEMPLATES, "{}", ran.stdout);
    for template in TEMPLATES {
        let ran = sim(tmp.path(), &["new", "--template", template]);
        assert_eq!(ran.code, 0, "{template}: {}", ran.stderr);
        let path = tmp.path().join(format!("{template}.toml"));
        assert!(
            ran.stdout.contains(&format!("wrote {template}.toml")),
            "{}",
            ran.stdout
        );
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("EDIT"), "{template} marks what to edit");
        let ran = sim(tmp.path(), &["validate", path.to_str().unwrap()]);
        assert_eq!(ran.code, 0, "{template}: {}", ran.stderr);
        let out = tmp.path().join(format!("out-{template}"));
        let ran = sim(
            tmp.path(),
            &[
                "run",
                path.to_str().unwrap(),
                "--no-plots",
                "--out",
                out.to_str().unwrap(),
            ],
        );
        // A template is a healthy starting point: over its own horizon, as written, it meets
        // every SLO it carries, so what an edit breaks shows up as the edit's doing.
        assert_eq!(
            ran.code, 0,
            "{template} fails its own SLOs as written:\n{}{}",
            ran.stdout, ran.stderr
        );
        let summary: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
        let answered = summary["messages"]["answered"].as_u64().unwrap();
        assert!(answered > 0, "{template}: no message answered in an hour");
    }
}

/// The commands `sim new` suggests are ones a shell runs: a path with a space is quoted.
#[test]
fn new_quotes_the_path_in_the_commands_it_suggests() {
    let tmp = tempfile::tempdir().unwrap();
    let ran = sim(
        tmp.path(),
        &["new", "--template", "minimal", "my agent.toml"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout
            .contains("then `sim validate 'my agent.toml'` and `sim run 'my agent.toml'`"),
        "{}",
        ran.stdout
    );
}

/// A path starting with `-` is suggested as `./-...`: as written, `sim validate -dash.toml`
/// is refused as an unknown flag.
#[test]
fn new_suggests_a_path_starting_with_a_dash_so_it_is_not_read_as_a_flag() {
    let tmp = tempfile::tempdir().unwrap();
    let ran = sim(tmp.path(), &["new", "-t", "minimal", "--", "-dash.toml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout
            .contains("then `sim validate ./-dash.toml` and `sim run ./-dash.toml`"),
        "{}",
        ran.stdout
    );
    let ran = sim(tmp.path(), &["validate", "./-dash.toml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    // Quoted as before when it needs quoting too.
    let ran = sim(
        tmp.path(),
        &["new", "-t", "minimal", "--", "-my agent.toml"],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout
            .contains("then `sim validate './-my agent.toml'`"),
        "{}",
        ran.stdout
    );
}

/// A missing folder, or a file where a folder should be, is named as what it is.
#[test]
fn new_says_which_folder_is_missing_or_is_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "exist.toml", "# mine\n");
    for (path, expected) in [
        (
            "a/",
            "a: no such folder: create it first, then give the path of a new .toml file in it \
             (e.g. a/agent.toml)",
        ),
        (
            "exist.toml/",
            "exist.toml: is a file, not a folder: give a PATH in a folder",
        ),
        (
            "exist.toml/x.toml",
            "exist.toml: is a file, not a folder: give a PATH in a folder",
        ),
        (
            "exist.toml/sub/x.toml",
            "exist.toml: is a file, not a folder: give a PATH in a folder",
        ),
        (
            "nodir/sub/x.toml",
            "nodir/sub: no such folder: create it first, or give another PATH",
        ),
    ] {
        let ran = sim(tmp.path(), &["new", "-t", "minimal", path]);
        assert_eq!(ran.code, 2, "{path}: {}", ran.stderr);
        assert_eq!(ran.stderr.trim(), expected, "{path}");
    }
    assert_eq!(files_under(tmp.path()), ["exist.toml"]);
}

/// `--list` with a PATH is refused, and the usage printed with it is one that works.
#[test]
fn new_list_with_a_path_prints_a_usage_that_works() {
    let tmp = tempfile::tempdir().unwrap();
    let ran = sim(tmp.path(), &["new", "--list", "x.toml"]);
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("cannot be used with"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("--list [PATH]"), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("sim new --template NAME [PATH]"),
        "{}",
        ran.stderr
    );
    assert!(files_under(tmp.path()).is_empty());
}

#[test]
fn new_never_overwrites_and_writes_nothing_on_error() {
    let tmp = tempfile::tempdir().unwrap();
    let existing = write(tmp.path(), "mine.toml", "# my scenario\n");
    let ran = sim(tmp.path(), &["new", "--template", "minimal", "mine.toml"]);
    assert_eq!(ran.code, 2);
    assert_eq!(
        ran.stderr.trim(),
        "mine.toml: already exists; sim new never overwrites a file: give another PATH or remove it"
    );
    assert_eq!(fs::read_to_string(&existing).unwrap(), "# my scenario\n");

    // A folder is not a file that exists: the message says what to give instead.
    fs::create_dir(tmp.path().join("agents")).unwrap();
    let ran = sim(tmp.path(), &["new", "--template", "minimal", "agents/"]);
    assert_eq!(ran.code, 2);
    assert_eq!(
        ran.stderr.trim(),
        "agents/: is a folder; give the path of a new .toml file (e.g. FOLDER/agent.toml)"
    );

    let ran = sim(
        tmp.path(),
        &["new", "--template", "minimal", "no/such/dir/a.toml"],
    );
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("no/such/dir: no such folder"),
        "{}",
        ran.stderr
    );

    let ran = sim(tmp.path(), &["new", "--template", "minimul"]);
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("possible values: minimal"),
        "{}",
        ran.stderr
    );

    let ran = sim(tmp.path(), &["new"]);
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("--template"), "{}", ran.stderr);
    assert_eq!(files_under(tmp.path()), ["mine.toml"]);
}

#[test]
fn a_file_that_is_not_toml_gives_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let ran = sim(tmp.path(), &["validate", &repo_file("README.md")]);
    assert_eq!(ran.code, 2);
    assert_eq!(ran.stderr.lines().count(), 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "more syntax errors after it: fix this one first; is this a TOML scenario file?"
        ),
        "{}",
        ran.stderr
    );
}

#[test]
fn an_unused_provider_group_is_a_warning_on_stderr() {
    let tmp = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(repo_file("scenarios/examples/support-agent.toml"))
        .unwrap()
        .replace(
            "[provider_groups]\n",
            "[provider_groups]\nspare = [\"small\"]\n",
        );
    let file = write(tmp.path(), "spare.toml", &text);
    let ran = sim(tmp.path(), &["validate", file.to_str().unwrap()]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(
        ran.stderr.trim(),
        format!(
            "{}: warning: provider_groups.spare: no llm step uses this group (group = \"spare\"); \
             remove it, or check the steps' group names",
            file.display()
        )
    );
    assert!(ran.stdout.starts_with("ok: "), "{}", ran.stdout);
}

/// Output that cannot be written (stdout on a full disk: Linux's /dev/full) is a failure,
/// exit 2 with the reason, not a silent success; a closed pipe (`sim schema | head`) is not.
#[test]
fn a_failed_write_to_stdout_exits_2() {
    let Ok(full) = fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // not Linux
    };
    let tmp = tempfile::tempdir().unwrap();
    let file = mmc();
    for args in [
        vec!["schema"],
        vec!["completions", "bash"],
        vec!["man"],
        vec!["validate", &file],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_sim"))
            .args(&args)
            .current_dir(tmp.path())
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "sim {args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write to standard output: No space left on device"),
            "sim {args:?}: {stderr}"
        );
    }
    // The reader of a pipe may stop early: that is not an error.
    let mut child = Command::new(env!("CARGO_BIN_EXE_sim"))
        .arg("schema")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `sim run` and `sim diff` refuse what `sim validate` refuses: a file whose `[sweep]` grid
/// names a misspelt key is a mistake whichever command reads it.
#[test]
fn run_and_diff_refuse_a_file_with_a_bad_sweep_grid_as_validate_does() {
    let tmp = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(mmc()).unwrap()
        + "\n[sweep]\ngrid = { \"temporal.max_concurent_activities\" = [9, 10] }\n";
    let file = write(tmp.path(), "grid.toml", &text);
    let file = file.to_str().unwrap();
    let out = tmp.path().join("out");
    for args in [
        vec!["validate", file],
        vec!["run", file, "--out", out.to_str().unwrap()],
        vec!["diff", file, file],
    ] {
        let ran = sim(tmp.path(), &args);
        assert_eq!(ran.code, 2, "sim {args:?}: {}", ran.stderr);
        assert!(
            ran.stderr
                .contains("sweep.grid.\"temporal.max_concurent_activities\": unknown key")
                && ran
                    .stderr
                    .contains("(did you mean \"max_concurrent_activities\"?)"),
            "sim {args:?}: {}",
            ran.stderr
        );
        assert_nothing_written(tmp.path(), &out);
    }
}

/// `--horizon` with `--set run.horizon=`, or `--seed` with `--set seed=`, would drop one of
/// the two without a word: a usage error naming both, and nothing runs.
#[test]
fn a_setting_given_by_its_flag_and_by_set_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = mmc();
    let out = tmp.path().join("out");
    let out_arg = out.to_str().unwrap();
    for (args, expected) in [
        (
            vec![
                "run",
                &file,
                "--horizon",
                "500s",
                "--set",
                "run.horizon=1000s",
                "--out",
                out_arg,
            ],
            "--horizon 500s and --set run.horizon=1000s both set the horizon: give one",
        ),
        (
            vec![
                "validate",
                &file,
                "--set",
                "run.horizon=1h",
                "--horizon",
                "2h",
            ],
            "--horizon 2h and --set run.horizon=1h both set the horizon: give one",
        ),
        (
            vec![
                "sweep", &file, "--seed", "1", "--set", "seed=2", "--out", out_arg,
            ],
            "--seed 1 and --set seed=2 both set the seed: give one",
        ),
        (
            vec!["diff", &file, &file, "--set", "seed=2", "--seed", "1"],
            "--seed 1 and --set seed=2 both set the seed: give one",
        ),
        (
            // The key as the loader reads it, spaces around its segments trimmed.
            vec![
                "validate",
                &file,
                "--set",
                "run . horizon=1h",
                "--horizon",
                "2h",
            ],
            "--horizon 2h and --set run . horizon=1h both set the horizon: give one",
        ),
    ] {
        let ran = sim(tmp.path(), &args);
        assert_eq!(ran.code, 2, "sim {args:?}: {}", ran.stderr);
        assert!(
            ran.stderr.contains(expected),
            "sim {args:?}: {}",
            ran.stderr
        );
        assert_nothing_written(tmp.path(), &out);
    }
    // Either alone is fine.
    let ran = sim(tmp.path(), &["validate", &file, "--set", "seed=2"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

/// `--junit` through a symlink replaces the file it leads to and leaves the link; through a
/// FIFO or a device it writes in place: neither is replaced by a regular file.
#[cfg(unix)]
#[test]
fn junit_follows_a_symlink_and_writes_a_fifo_or_device_in_place() {
    // needs model
    use std::os::unix::fs::{FileTypeExt, symlink};
    let tmp = tempfile::tempdir().unwrap();
    let run_with_junit = |junit: &str| {
        sim(
            tmp.path(),
            &[
                "run",
                &mmc(),
                "--horizon",
                "1h",
                "--no-plots",
                "--out",
                "out",
                "--quiet",
                "--junit",
                junit,
            ],
        )
    };
    write(tmp.path(), "target.xml", "old");
    symlink("target.xml", tmp.path().join("link.xml")).unwrap();
    let ran = run_with_junit("link.xml");
    assert_ne!(ran.code, 2, "{}", ran.stderr);
    assert!(
        fs::symlink_metadata(tmp.path().join("link.xml"))
            .unwrap()
            .is_symlink(),
        "the link stays a link"
    );
    let written = fs::read_to_string(tmp.path().join("target.xml")).unwrap();
    assert!(written.contains("<testsuites"), "{written}");

    let fifo = tmp.path().join("verdicts.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|status| status.success()) {
        let (sender, received) = std::sync::mpsc::channel();
        let reader_path = fifo.clone();
        std::thread::spawn(move || sender.send(fs::read(reader_path).unwrap()));
        let ran = run_with_junit("verdicts.fifo");
        assert_ne!(ran.code, 2, "{}", ran.stderr);
        let bytes = received
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("sim wrote the FIFO");
        assert!(String::from_utf8_lossy(&bytes).contains("<testsuites"));
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    }
    if Path::new("/dev/null").exists() {
        let ran = run_with_junit("/dev/null");
        assert_ne!(ran.code, 2, "{}", ran.stderr);
        let metadata = fs::symlink_metadata("/dev/null").unwrap();
        assert!(
            metadata.file_type().is_char_device(),
            "/dev/null stays a device"
        );
    }
}

/// The scenario's name names its output folder, and its default is the file's stem: a name
/// `sim run` cannot use is refused by `sim validate` too, and `sim new` writes no file whose
/// stem would be one (`.toml` would run into a hidden `results/.toml/`).
#[test]
fn a_name_that_cannot_name_a_folder_is_refused_by_validate_run_and_new() {
    // needs scenario parser
    let tmp = tempfile::tempdir().unwrap();
    let ran = sim(tmp.path(), &["new", "-t", "minimal", "agent.toml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let text = fs::read_to_string(tmp.path().join("agent.toml")).unwrap();
    write(tmp.path(), "..toml", &text);
    write(
        tmp.path(),
        "hidden.toml",
        &format!("name = \".hidden\"\n{text}"),
    );
    for (file, expected) in [
        ("..toml", "the file name gives the scenario the name \".\""),
        ("hidden.toml", "found \".hidden\", which starts with '.'"),
    ] {
        for command in ["validate", "run"] {
            let ran = sim(tmp.path(), &[command, file]);
            assert_eq!(ran.code, 2, "{command} {file}: {}", ran.stderr);
            assert!(
                ran.stderr.contains(expected),
                "{command} {file}: {}",
                ran.stderr
            );
        }
    }
    assert!(!tmp.path().join("results").exists());
    let ran = sim(tmp.path(), &["new", "-t", "minimal", ".toml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("starts with '.'"), "{}", ran.stderr);
    assert!(!tmp.path().join(".toml").exists());
}

/// Each command's `--help` describes the JSON it prints itself (not `run`'s summaries and
/// verdicts), and `-q` keeps that JSON wherever it is taken.
#[test]
fn format_json_and_quiet_are_described_per_command() {
    let tmp = tempfile::tempdir().unwrap();
    for (command, own_json) in [
        (
            "run",
            "the summaries and SLO verdicts of every scenario file",
        ),
        ("sweep", "the best feasible point, then every point"),
        ("diff", "the statistics of A, B and B - A per metric"),
        ("headroom", "the cliff with its 95% interval"),
    ] {
        let ran = sim(tmp.path(), &[command, "--help"]);
        assert_eq!(ran.code, 0, "{command}: {}", ran.stderr);
        let help = ran.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(help.contains(own_json), "{command}: {help}");
        if command != "run" {
            assert!(
                !help.contains("summaries and SLO verdicts"),
                "{command}: {help}"
            );
        }
        assert!(
            help.contains("Print nothing but errors (and the JSON of --format json)"),
            "{command}: {help}"
        );
    }
}

/// A horizon cut below the template's warmup says how to get out: lower the warmup with the
/// flag that does it, or keep the horizon longer.
#[test]
fn a_horizon_below_the_warmup_says_what_to_change() {
    let tmp = tempfile::tempdir().unwrap();
    let ran = sim(tmp.path(), &["new", "-t", "research-agent"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    for command in ["validate", "run"] {
        let ran = sim(
            tmp.path(),
            &[command, "research-agent.toml", "--horizon", "10m"],
        );
        assert_eq!(ran.code, 2, "{command}: {}", ran.stderr);
        assert!(
            ran.stderr.contains(
                "warmup (20m) must be below the horizon (10m): lower run.warmup (--set \
                 run.warmup=DURATION) or lengthen the horizon"
            ),
            "{command}: {}",
            ran.stderr
        );
    }
    assert!(!tmp.path().join("results").exists());
}

/// A blank name, or one with spaces at either end, would name a folder (`results/ /`) that
/// looks like another or like none: refused under the key `name`.
#[test]
fn a_blank_name_or_one_with_spaces_at_an_end_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ran = sim(tmp.path(), &["new", "-t", "minimal", "agent.toml"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let text = fs::read_to_string(tmp.path().join("agent.toml")).unwrap();
    write(tmp.path(), " .toml", &text);
    write(tmp.path(), "blank.toml", &format!("name = \"  \"\n{text}"));
    write(
        tmp.path(),
        "padded.toml",
        &format!("name = \"agent \"\n{text}"),
    );
    for (file, expected) in [
        (
            " .toml",
            "name: the file name gives the scenario the name \" \", which is blank",
        ),
        (
            "blank.toml",
            "name: expected a name that can name the output folder, found \"  \", which is blank",
        ),
        (
            "padded.toml",
            "found \"agent \", which starts or ends with whitespace",
        ),
    ] {
        for command in ["validate", "run"] {
            let ran = sim(tmp.path(), &[command, file]);
            assert_eq!(ran.code, 2, "{command} {file}: {}", ran.stderr);
            assert!(
                ran.stderr.contains(expected),
                "{command} {file}: {}",
                ran.stderr
            );
        }
    }
    assert!(!tmp.path().join("results").exists());
    fs::remove_file(tmp.path().join(" .toml")).unwrap();
    let ran = sim(tmp.path(), &["new", "-t", "minimal", " .toml"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("which is blank"), "{}", ran.stderr);
    assert!(!tmp.path().join(" .toml").exists());
}

/// Every file under `dir` with its bytes, to compare a folder before and after a command.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    files_under(dir)
        .into_iter()
        .map(|name| {
            let bytes = fs::read(dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

/// An output folder holding another command's finished outputs is not replaced: `sim run
/// --out` a sweep's folder (or `sim sweep` into a run's) exits 2 naming the folder, its kind
/// and what to do, touching nothing. The same kind is replaced as before.
#[test]
fn a_set_of_another_kind_is_not_replaced() {
    // needs model
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let file = mmc();
    let sweep_into = |out: &str| {
        sim(
            cwd,
            &[
                "sweep",
                &file,
                "--horizon",
                "1h",
                "--grid",
                "temporal.max_concurrent_activities=9,10",
                "--no-plots",
                "--quiet",
                "--out",
                out,
            ],
        )
    };
    let run_into = |out: &str| {
        sim(
            cwd,
            &[
                "run",
                &file,
                "--horizon",
                "1h",
                "--no-plots",
                "--quiet",
                "--out",
                out,
            ],
        )
    };
    // Each ends with 0 or 1 (an SLO or no feasible point), whichever: not 2.
    let finished = |ran: common::Ran| assert_ne!(ran.code, 2, "{}", ran.stderr);
    finished(sweep_into("rs"));
    let before = snapshot(&cwd.join("rs"));
    let ran = run_into("rs/sweep");
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "rs/sweep: cannot write: it holds the outputs of a sweep (manifest.json says kind \
             \"sweep\"), which a run would delete: choose another --out, or delete the folder"
        ),
        "{}",
        ran.stderr
    );
    assert!(
        snapshot(&cwd.join("rs")) == before,
        "the sweep's outputs were touched"
    );

    finished(run_into("r/sweep"));
    let before = snapshot(&cwd.join("r"));
    let ran = sweep_into("r");
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("outputs of a run"), "{}", ran.stderr);
    assert!(
        snapshot(&cwd.join("r")) == before,
        "the run's outputs were touched"
    );

    // The same kind replaces its own set.
    finished(run_into("r/sweep"));
    finished(sweep_into("rs"));
}

/// `sim man --out` writes every page or none: a folder in one page's place stops it before
/// any page is written.
#[test]
fn man_writes_every_page_or_none() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir_all(tmp.path().join("pages/sim-sweep.1")).unwrap();
    let ran = sim(tmp.path(), &["man", "--out", "pages"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("sim-sweep.1: cannot write: a folder is in the way"),
        "{}",
        ran.stderr
    );
    assert_eq!(files_under(&tmp.path().join("pages")), Vec::<String>::new());
    fs::remove_dir(tmp.path().join("pages/sim-sweep.1")).unwrap();
    let ran = sim(tmp.path(), &["man", "--out", "pages"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(files_under(&tmp.path().join("pages")).contains(&"sim-sweep.1".to_string()));
}

/// An output folder that cannot be made fails with the scenario named first, as every other
/// error of `sim run` does (with two scenarios, which one's outputs failed), exit 2.
#[cfg(target_os = "linux")]
#[test]
fn an_output_folder_that_cannot_be_made_names_the_scenario() {
    let tmp = tempfile::tempdir().unwrap();
    // /proc refuses every new folder, even to root.
    let out = format!("/proc/sim-test-{}", std::process::id());
    let mmc_path = mmc();
    let ran = sim(
        tmp.path(),
        &["run", &mmc(), "--set", "run.horizon=1001s", "--out", &out],
    );
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr
            .lines()
            .any(|l| l.starts_with(&format!("{}: {out}", mmc())) && l.contains("cannot write")),
        "{}",
        ran.stderr
    );
    // So do sweep's and headroom's folders.
    for (command, folder, args) in [
        ("sweep", "sweep", ["--grid", "temporal.cache_size=1,2"]),
        ("headroom", "headroom", ["--key", "traffic.rate_per_s"]),
    ] {
        let mut all = vec![command, mmc_path.as_str(), "--set", "run.horizon=1001s"];
        all.extend(args);
        all.extend(["--replications", "1", "--out", &out]);
        let ran = sim(tmp.path(), &all);
        assert_eq!(ran.code, 2, "{command}: {}", ran.stderr);
        let expected = format!("{}: {out}/{folder}: cannot write: ", mmc());
        assert!(
            ran.stderr.lines().any(|l| l.starts_with(&expected)),
            "{command}: {expected} in {}",
            ran.stderr
        );
    }
}
