//! `cargo xtask fuzz [--seconds N] [--target NAME]`: runs every cargo-fuzz target in `fuzz/`
//! for N seconds each (default 60), on the nightly toolchain, from a seed corpus made fresh
//! from `scenarios/`, a few hand-written seeds and the committed findings in
//! `fuzz/regressions/<target>/`. The growing corpus lives in `fuzz/corpus/` (git-ignored). A
//! finding stops the task and names its file: fix the cause, then copy the file into
//! `fuzz/regressions/<target>/`, where `sim/tests/fuzz_regressions.rs` replays it on stable.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The targets, in the order they run (cheapest first).
pub const TARGETS: [&str; 5] = [
    "units",
    "grid",
    "set_override",
    "scenario_load",
    "model_run",
];

const USAGE: &str = "usage: cargo xtask fuzz [--seconds N] [--target NAME]";

struct Options {
    seconds: u64,
    targets: Vec<String>,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        seconds: 60,
        targets: Vec::new(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = args.next().ok_or(USAGE)?;
                options.seconds = value.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                    format!("--seconds: expected a positive integer, found {value:?}")
                })?;
            }
            "--target" => {
                let value = args.next().ok_or(USAGE)?;
                if !TARGETS.contains(&value.as_str()) {
                    return Err(format!(
                        "--target: unknown target {value:?}, expected one of {}",
                        TARGETS.join(", ")
                    ));
                }
                options.targets.push(value.clone());
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if options.targets.is_empty() {
        options.targets = TARGETS.iter().map(|t| t.to_string()).collect();
    }
    Ok(options)
}

/// `cargo +nightly ...` through rustup, whatever toolchain runs this xtask.
fn nightly_cargo(root: &Path) -> Command {
    let mut command = Command::new("cargo");
    command
        .arg("+nightly")
        .current_dir(root)
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("CARGO");
    command
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let options = options(args)?;
    let version = nightly_cargo(root).args(["fuzz", "--version"]).output();
    match version {
        Ok(output) if output.status.success() => {}
        _ => {
            return Err(
                "cargo-fuzz is not installed (or the nightly toolchain is missing): \
                 run `cargo install cargo-fuzz --locked` (about a minute) and \
                 `rustup toolchain install nightly`, then try again"
                    .into(),
            );
        }
    }
    let mut report = Vec::new();
    for target in &options.targets {
        let corpus = seed_corpus(root, target)?;
        eprintln!(
            "xtask: fuzz {target} for {} s (corpus {})",
            options.seconds,
            corpus.display()
        );
        let output = nightly_cargo(root)
            // Debug assertions and overflow checks on (cargo-fuzz's default without
            // `--release`): an integer that wraps silently in a release build is a finding.
            .args(["fuzz", "run", "--debug-assertions", target])
            .arg(&corpus)
            .args([
                "--",
                &format!("-max_total_time={}", options.seconds),
                "-timeout=10",
                "-rss_limit_mb=2048",
                "-max_len=65536",
                "-print_final_stats=1",
            ])
            .output()
            .map_err(|error| format!("cannot start cargo fuzz: {error}"))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        let executions = final_stat(&stderr, "stat::number_of_executed_units").unwrap_or(0);
        if !output.status.success() {
            let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!(
                "fuzz target {target} found a problem after {executions} executions:\n{}\n\n\
                 fix its cause, then copy the artifact above into fuzz/regressions/{target}/ \
                 (replayed by `cargo test --profile checked --test fuzz_regressions`)",
                tail.join("\n")
            ));
        }
        eprintln!("xtask: fuzz {target}: {executions} executions, no finding");
        report.push(format!("{target:>14}: {executions} executions"));
    }
    eprintln!("xtask: fuzz passed\n{}", report.join("\n"));
    Ok(())
}

/// `fuzz/corpus/<target>/` with the seeds added (the fuzzer keeps what it finds there too).
fn seed_corpus(root: &Path, target: &str) -> Result<PathBuf, String> {
    let corpus = root.join("fuzz/corpus").join(target);
    fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    match target {
        "scenario_load" => {
            for file in toml_files(&root.join("scenarios"))? {
                let bytes = fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
                let name = file
                    .strip_prefix(root)
                    .unwrap_or(&file)
                    .display()
                    .to_string()
                    .replace(['/', '\\'], "_");
                seeds.push((format!("seed-{name}"), bytes));
            }
        }
        "set_override" => {
            for (i, text) in [
                "temporal.cache_size=1000",
                "run.horizon=6h\ntraffic.multiplier=2",
                "agent.steps.0.cpu=10ms",
                "instance.memory_limit=1GiB",
                "providers.maker.ttft={ kind = \"constant\", value = \"1s\" }",
            ]
            .iter()
            .enumerate()
            {
                seeds.push((format!("seed-{i}"), text.as_bytes().to_vec()));
            }
        }
        "grid" => {
            for (i, text) in [
                "temporal.cache_size=100,1000,10000",
                "instance.memory_limit=1GiB..4GiB:1GiB\nautoscaler.min_instances=0..4:1",
                "traffic.multiplier=0.5..2.0:0.25",
                "[sweep]\nreplications = 3\ngrid = { \"temporal.cache_size\" = [10, 100] }",
            ]
            .iter()
            .enumerate()
            {
                seeds.push((format!("seed-{i}"), text.as_bytes().to_vec()));
            }
        }
        "units" => {
            for (i, text) in ["250ms", "1h30m", "0.5s", "10000d", "2GiB", "1.5GiB", "1TB"]
                .iter()
                .enumerate()
            {
                seeds.push((format!("seed-{i}"), text.as_bytes().to_vec()));
            }
        }
        _ => {
            // model_run: (key, value) byte pairs; the empty input runs the template as is.
            seeds.push(("seed-template".into(), Vec::new()));
            seeds.push(("seed-pairs".into(), (0u8..64).collect()));
        }
    }
    let regressions = root.join("fuzz/regressions").join(target);
    if let Ok(entries) = fs::read_dir(&regressions) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                seeds.push((format!("regression-{name}"), bytes));
            }
        }
    }
    for (name, bytes) in seeds {
        let path = corpus.join(name);
        fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(corpus)
}

fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(toml_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// A `-print_final_stats=1` number such as `stat::number_of_executed_units: 12345`.
fn final_stat(stderr: &str, name: &str) -> Option<u64> {
    stderr
        .lines()
        .filter_map(|line| line.strip_prefix(name))
        .filter_map(|rest| rest.trim_start_matches(':').trim().parse().ok())
        .next_back()
}
