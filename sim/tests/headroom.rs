//! `sim headroom` end to end with the real model: the acceptance on the Gradient Labs 04
//! scenario (the headroom interval contains the multiplier at which a plain `sim sweep` with the
//! same replications first fails an SLO), an integer capacity key on the M/M/c scenario (the
//! smallest slot count that holds, byte-identical output whatever the thread count), and bad
//! input (exit 2 naming the key, nothing written).
//!
//! The Gradient Labs check runs the first 15 simulated hours (midnight to 15:00, past the 14:00
//! peak) with 3 replications and a coarse step, a few minutes on two cores; the full day is
//! gated behind `SIM_SLOW_TESTS=1`.

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

mod common;
use common::{Ran, repo_file};

/// `sim args...` in the test's working directory (the paths given are absolute).
fn sim(args: &[&str]) -> Ran {
    common::sim(Path::new("."), args)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sim-headroom-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn json(ran: &Ran) -> Value {
    serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", ran.stdout, ran.stderr))
}

/// Headroom on `traffic.multiplier` over `lo..hi` in steps of `step`, then a plain sweep of the
/// same lattice with the same replications (the same seeds): the first multiplier at which
/// some replication fails an SLO lies in the headroom interval.
///
/// Why it should: when each replication is monotone on the lattice, the sweep's first failure
/// is the smallest replication cliff plus one step. That is at most the mean plus one step (the
/// interval's top), and the smallest of n values is at most (n - 1) / sqrt(n) sample standard
/// deviations below their mean (Samuelson's inequality), inside t(0.975, n - 1) / sqrt(n) of
/// them for n <= 4 (the interval's bottom). A replication that holds past one of its failures
/// can still break it; the test would show it.
fn headroom_contains_the_sweeps_first_failure(horizon: &str, replications: u32) {
    let file = repo_file("scenarios/gradient-labs/04-min-instances.toml");
    let (lo, hi, step) = (1.0, 1.6, 0.05);
    let reps = replications.to_string();
    let range = format!("{lo}..{hi}");
    let ran = sim(&[
        "headroom",
        &file,
        "--key",
        "traffic.multiplier",
        "--range",
        &range,
        "--tolerance",
        &step.to_string(),
        "--replications",
        &reps,
        "--horizon",
        horizon,
        "--format",
        "json",
        "--quiet",
    ]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let report = json(&ran);
    assert_eq!(report["verdict"]["kind"], "found", "{report}");
    assert_eq!(report["direction"], "max");
    let interval = &report["interval"];
    let (from, to) = (interval[0].as_f64().unwrap(), interval[1].as_f64().unwrap());

    let out = temp_dir(&format!("sweep-{horizon}"));
    let grid = format!("traffic.multiplier={lo}..{hi}:{step}");
    let ran = sim(&[
        "sweep",
        &file,
        "--grid",
        &grid,
        "--replications",
        &reps,
        "--horizon",
        horizon,
        "--out",
        out.to_str().unwrap(),
        "--no-plots",
        "--format",
        "json",
        "--quiet",
    ]);
    assert!(ran.code == 0 || ran.code == 1, "{}", ran.stderr);
    let sweep = json(&ran);
    let mut points: Vec<(f64, bool)> = sweep["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let m: f64 = p["parameters"]["traffic.multiplier"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            (m, p["feasible"].as_bool().unwrap())
        })
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let first_failure = points
        .iter()
        .find(|(_, feasible)| !feasible)
        .map(|(m, _)| *m)
        .expect("the sweep fails an SLO somewhere in the bracket");
    eprintln!(
        "GL 04, {horizon}, {replications} replications: headroom interval {from:.3}..{to:.3} \
         (cliff {}), sweep first fails at {first_failure}",
        report["cliff"]["mean"]
    );
    assert!(
        from <= first_failure && first_failure <= to,
        "the headroom interval {from}..{to} does not contain {first_failure}, where the sweep \
         first fails an SLO: {points:?}\n{report}"
    );
    // What the story needed to know: half as much traffic again is past the cliff.
    let ratio = report["headroom_ratio"].as_f64().unwrap();
    assert!(1.0 < ratio && ratio < 1.5, "{report}");
    let _ = fs::remove_dir_all(&out);
}

#[test]
fn gradient_labs_04_headroom_contains_the_multiplier_where_a_sweep_first_fails() {
    headroom_contains_the_sweeps_first_failure("15h", 3);
}

#[test]
fn gradient_labs_04_headroom_over_the_whole_day() {
    if std::env::var_os("SIM_SLOW_TESTS").is_none() {
        eprintln!("skipped: set SIM_SLOW_TESTS=1 to run headroom over the full simulated day");
        return;
    }
    headroom_contains_the_sweeps_first_failure("24h", 4);
}

/// The M/M/c scenario cut to five simulated minutes, with an SLO it meets with its 10 slots
/// (p95 ~3 s at lambda = 8/s) and breaks with 7 (a growing queue).
fn mmc_with_slo(dir: &Path) -> String {
    let mut text = fs::read_to_string(repo_file("scenarios/validation/mmc.toml")).unwrap();
    text = text
        .replace("horizon = \"30000s\"", "horizon = \"300s\"")
        .replace("warmup = \"1000s\"", "warmup = \"0s\"");
    text.push_str(
        "\n[[slo]]\nname = \"p95 response under 10 s\"\nmetric = \"response_latency_p95_s\"\nmax = 10\n",
    );
    let path = dir.join("mmc.toml");
    fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn slots_bisect_on_integers_toward_the_smallest_count_and_threads_change_nothing() {
    let dir = temp_dir("mmc");
    let file = mmc_with_slo(&dir);
    let run = |jobs: &str, format: &str| {
        sim(&[
            "headroom",
            &file,
            "--key",
            "temporal.max_concurrent_activities",
            "--replications",
            "3",
            "--jobs",
            jobs,
            "--format",
            format,
        ])
    };
    let one = run("1", "text");
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert!(
        one.stdout
            .contains("cliff: temporal.max_concurrent_activities = "),
        "{}",
        one.stdout
    );
    assert_eq!(
        one.stdout,
        run("2", "text").stdout,
        "text differs by thread count"
    );
    let report = json(&run("2", "json"));
    assert_eq!(json(&run("1", "json")), report);
    // 10 slots today, bracket 2..40; at lambda = 8/s 7 slots cannot keep up (in five minutes 8
    // may still meet the SLO: rho = 1 grows its queue slowly).
    assert_eq!(report["direction"], "min");
    assert_eq!(report["direction_given"], false);
    assert_eq!(report["lattice"]["lo"], 2.0);
    assert_eq!(report["lattice"]["hi"], 40.0);
    for c in report["per_replication"].as_array().unwrap() {
        let cliff = c["cliff"].as_f64().unwrap();
        assert_eq!(cliff.fract(), 0.0, "{c}");
        assert!((8.0..=10.0).contains(&cliff), "{c}");
        assert_eq!(c["first_breaking"].as_f64().unwrap(), cliff - 1.0, "{c}");
    }
    assert!(
        one.stdout
            .contains("smallest value at which every SLO holds")
    );
    let _ = fs::remove_dir_all(&dir);
}

/// The search's set owns all of `DIR/headroom/`: a scenario kept there is refused as an
/// output that would delete what the command reads, before anything runs, and is kept.
#[test]
fn an_out_folder_holding_the_scenario_is_refused_up_front() {
    let dir = temp_dir("spares");
    let file = mmc_with_slo(&dir);
    let inside = dir.join("o/headroom");
    fs::create_dir_all(&inside).unwrap();
    let kept = inside.join("mmc.toml");
    fs::copy(&file, &kept).unwrap();
    let out = dir.join("o");
    let ran = sim(&[
        "headroom",
        kept.to_str().unwrap(),
        "--key",
        "traffic.rate_per_s",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("a headroom search would replace or delete"),
        "{}",
        ran.stderr
    );
    assert!(kept.exists());
    assert!(!inside.join("headroom.json").exists());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_exits_2_naming_the_key_and_writes_nothing() {
    let dir = temp_dir("bad");
    let file = mmc_with_slo(&dir);
    let out = dir.join("out");
    let out_arg = out.to_str().unwrap();
    for (args, expected) in [
        (
            vec!["--key", "temporal.max_concurent_activities"],
            "did you mean \"max_concurrent_activities\"",
        ),
        (
            vec!["--key", "temporal.workflow_task_timeout"],
            "expected a key that holds a number",
        ),
        (
            vec!["--key", "traffic.rate_per_s", "--range", "1..5000000"],
            "--range: traffic.rate_per_s: expected a number in [0, 1000000]",
        ),
        (
            // No traffic: the latency SLO has no sample, which says nothing of where the cliff
            // is (it used to steer the search toward the smallest rate that holds).
            vec!["--key", "traffic.rate_per_s", "--range", "0..9"],
            "--range: at traffic.rate_per_s = 0.0 the runs that break have nothing to measure \
             (seed ",
        ),
        (
            // The end is handed to the scenario as 1e308, not as 309 digits (which TOML reads
            // as a string, and the error said "found string").
            vec!["--key", "traffic.rate_per_s", "--range", "1..1e308"],
            "--range: traffic.rate_per_s: expected a number in [0, 1000000], found 1e308",
        ),
        (
            // An integer key's end beyond its bounds is said before the steps the default
            // tolerance would take, and as typed (it was i64::MAX, after a complaint about a
            // --tolerance not given).
            vec![
                "--key",
                "temporal.max_concurrent_activities",
                "--range",
                "1..1e300",
            ],
            "--range: temporal.max_concurrent_activities: expected an integer in [1, 1000000], \
             found float 1e300",
        ),
        (
            vec![
                "--key",
                "temporal.max_concurrent_activities",
                "--tolerance",
                "0.5",
            ],
            "takes integers",
        ),
        (
            // Huge ends of a float key are said as typed (the lower end read "found inf": it
            // was rounded to 1e-9 through 1e300 x 1e9).
            vec!["--key", "traffic.rate_per_s", "--range=1e300..1e301"],
            "--range: traffic.rate_per_s: expected a number in [0, 1000000], found 1e300",
        ),
        (
            // The rate string's key: the search needs its per-second spelling.
            vec!["--key", "traffic.rate"],
            "--key traffic.rate: a rate string, and headroom searches a number: use --key \
             traffic.rate_per_s (the same rate per second,",
        ),
        (
            // Without --range, an end the key cannot take is the default bracket's, said so.
            vec!["--key", "retry.backoff_coefficient"],
            "--range (not given: the default bracket 0.5..8.0, a quarter to four times today's \
             value): retry.backoff_coefficient: expected a number in [1, 1000000], found 0.5",
        ),
    ] {
        let mut argv = vec!["headroom", file.as_str(), "--out", out_arg];
        argv.extend(args.iter().copied());
        let ran = sim(&argv);
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(expected), "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.starts_with(&file), "{args:?}: {}", ran.stderr);
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
    for args in [
        &["--range", "4..1"][..],
        &["--range", "1"],
        &["--tolerance", "0"],
        &["--direction", "up"],
        &["--replications", "0"],
    ] {
        let mut argv = vec!["headroom", file.as_str(), "--key", "traffic.rate_per_s"];
        argv.extend(args.iter().copied());
        assert_eq!(sim(&argv).code, 2, "{args:?}");
    }
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn out_writes_the_report_as_a_complete_set_and_a_safe_end_that_breaks_exits_1() {
    let dir = temp_dir("out");
    let file = mmc_with_slo(&dir);
    let out = dir.join("out");
    let ran = sim(&[
        "headroom",
        &file,
        "--key",
        "temporal.max_concurrent_activities",
        "--range",
        "2..7",
        "--direction",
        "min",
        "--replications",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(ran.code, 1, "7 slots break the SLO: {}", ran.stderr);
    let written: Value =
        serde_json::from_slice(&fs::read(out.join("headroom/headroom.json")).unwrap()).unwrap();
    assert_eq!(written["verdict"]["kind"], "safe_end_breaks");
    assert_eq!(written["runs"], 4, "only the ends ran");
    sim::output::set::verify(&out.join("headroom")).expect("a complete output set");
    let _ = fs::remove_dir_all(&dir);
}

/// A bracket that leaves out today's value runs, with a warning that the headroom "from
/// today's value" is measured from outside it; `--quiet` silences the warning.
#[test]
fn a_bracket_without_todays_value_is_warned_about() {
    let dir = temp_dir("outside");
    let text = fs::read_to_string(repo_file("scenarios/validation/mmc.toml"))
        .unwrap()
        .replace("horizon = \"30000s\"", "horizon = \"300s\"")
        .replace("warmup = \"1000s\"", "warmup = \"0s\"")
        + "\n[[slo]]\nname = \"p95\"\nmetric = \"response_latency_p95_s\"\nmax = 10\n";
    let file = dir.join("mmc.toml");
    fs::write(&file, text).unwrap();
    let file = file.to_str().unwrap();
    let args = [
        "headroom",
        file,
        "--key",
        "traffic.rate_per_s",
        "--range",
        "1..2",
        "--tolerance",
        "0.5",
        "--replications",
        "1",
    ];
    let ran = sim(&args);
    assert!(ran.code == 0 || ran.code == 1, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(
            "warning: --key traffic.rate_per_s is 8 in the scenario, outside --range 1..2"
        ),
        "{}",
        ran.stderr
    );
    let mut quiet = args.to_vec();
    quiet.push("--quiet");
    assert!(!sim(&quiet).stderr.contains("warning"));
    let _ = fs::remove_dir_all(&dir);
}

/// `--set` of the searched key is not dropped: it is today's value, from which the default
/// bracket and the headroom ratio are measured ("what if we were at 6/s today?"), and the
/// report says so. The probes replace it run by run, as they replace the file's value.
#[test]
fn a_set_of_the_searched_key_is_todays_value() {
    let dir = temp_dir("set-key");
    let file = mmc_with_slo(&dir);
    let args = |set: &[&'static str]| {
        let mut args = vec![
            "headroom",
            file.as_str(),
            "--key",
            "traffic.rate_per_s",
            "--tolerance",
            "1",
            "--replications",
            "1",
            "--format",
            "json",
        ];
        args.extend_from_slice(set);
        sim(&args)
    };
    let set = args(&["--set", "traffic.rate_per_s=6"]);
    assert_eq!(set.code, 0, "{}", set.stderr);
    let report = json(&set);
    assert_eq!(report["current"], 6.0, "{report}");
    assert_eq!(report["lattice"]["lo"], 1.5, "a quarter of 6: {report}");
    assert_eq!(report["lattice"]["hi"], 24.0, "four times 6: {report}");
    assert_eq!(json(&args(&[]))["current"], 8.0, "the file's value");
    let _ = fs::remove_dir_all(&dir);
}
