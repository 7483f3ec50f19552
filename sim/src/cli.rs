//! The command line: the only user of clap. Turns raw arguments into validated settings
//! (`Task`) in one place; everything after this works with plain structs.

use clap::{Args, Parser, Subcommand};
use sim::sweep::{self, Shard};
use std::ffi::OsString;
use std::path::PathBuf;

/// The most replications one `sim run` accepts: a guard against a typo that would run for days.
pub const MAX_REPLICATIONS: u32 = 100_000;

/// What the user asked for, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Task {
    Run(RunSettings),
    Validate(ValidateSettings),
    Sweep(SweepSettings),
    Merge(MergeSettings),
    Diff(DiffSettings),
}

/// `sim run`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSettings {
    pub files: Vec<PathBuf>,
    /// `--set` strings in command-line order, then `--horizon` as `run.horizon=...`.
    pub overrides: Vec<String>,
    /// `--seed`: replaces the scenario's seed.
    pub seed: Option<u64>,
    pub replications: u32,
    /// `--out`: the output directory (with several files, the parent of one per scenario).
    pub out: Option<PathBuf>,
    pub quiet: bool,
    pub plots: bool,
}

/// `sim validate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidateSettings {
    pub files: Vec<PathBuf>,
    pub overrides: Vec<String>,
}

/// `sim sweep`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepSettings {
    pub file: PathBuf,
    /// `--grid` arguments in order (each already checked for syntax); empty: the file's
    /// `[sweep].grid`.
    pub grid: Vec<String>,
    /// `--replications`; `None`: the file's `sweep.replications`, else 1.
    pub replications: Option<u32>,
    /// `--set` strings in command-line order, then `--seed` as `seed=N`, so the seed is part of
    /// the scenario hash that `--resume` and `sim merge` check.
    pub overrides: Vec<String>,
    /// `--out`: the scenario's results folder; files go to `DIR/sweep/`.
    pub out: Option<PathBuf>,
    pub shard: Option<Shard>,
    pub resume: bool,
    /// `--jobs`: worker threads; `None` uses every core.
    pub jobs: Option<usize>,
    pub quiet: bool,
    pub plots: bool,
}

/// `sim merge`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeSettings {
    pub dirs: Vec<PathBuf>,
    pub out: PathBuf,
    pub quiet: bool,
    pub plots: bool,
}

/// `sim diff`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffSettings {
    pub a: PathBuf,
    pub b: PathBuf,
    pub replications: u32,
    /// Applied to both A and B.
    pub overrides: Vec<String>,
    /// Replaces A's seed, from which both A's and B's replication seeds derive.
    pub seed: Option<u64>,
    pub jobs: Option<usize>,
    /// `--json`: also write the report as JSON here.
    pub json: Option<PathBuf>,
}

/// The most threads `--jobs` accepts: a guard against a typo.
pub const MAX_JOBS: u32 = 1024;

#[derive(Debug, Parser)]
#[command(
    name = "sim",
    version,
    about = "Deterministic discrete-event simulator for capacity planning of LLM agent fleets",
    long_about = None,
    after_help = "Exit codes: 0 ran and every SLO held, 1 ran and an SLO failed, \
                  2 bad input (usage, scenario, grid, I/O) or a failed run. \
                  sweep/merge: 0 when some point is feasible (or a shard finished), 1 when none is. \
                  diff: 1 when B breaks an SLO that A meets."
)]
struct RawArgs {
    #[command(subcommand)]
    command: RawCommand,
}

#[derive(Debug, Subcommand)]
enum RawCommand {
    /// Run each scenario and write its outputs under results/<scenario-name>/
    Run(RawRunArgs),
    /// Check scenario files only; write nothing
    Validate(RawValidateArgs),
    /// Run a scenario over a grid of settings x replications in parallel; report per-point
    /// statistics and the cheapest point that meets every SLO (exit 1 when none does)
    Sweep(RawSweepArgs),
    /// Join the outputs of `sim sweep --shard k/n` into those of the whole sweep
    Merge(RawMergeArgs),
    /// Compare scenario B with A over paired replications (common random numbers); exit 1
    /// when B breaks an SLO that A meets
    Diff(RawDiffArgs),
}

#[derive(Debug, Args)]
struct RawRunArgs {
    /// Scenario files (TOML)
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Master seed, replacing the scenario's `seed`
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Override a setting, validated like the file's own keys (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
    overrides: Vec<String>,
    /// Independent replications, run in parallel; replication 0 uses the master seed
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=MAX_REPLICATIONS as i64))]
    replications: u32,
    /// Simulated time to run, e.g. 6h (same as --set run.horizon=6h)
    #[arg(long, value_name = "DURATION", value_parser = parse_non_empty)]
    horizon: Option<String>,
    /// Output directory [default: results/<scenario-name>]; with several files,
    /// outputs go to DIR/<scenario-name>
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print nothing but errors
    #[arg(long, short)]
    quiet: bool,
    /// Skip the figures (faster)
    #[arg(long)]
    no_plots: bool,
}

#[derive(Debug, Args)]
struct RawValidateArgs {
    /// Scenario files (TOML)
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Override a setting before validating (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
    overrides: Vec<String>,
}

#[derive(Debug, Args)]
struct RawSweepArgs {
    /// Scenario file (TOML); its `[sweep]` table gives the default grid and replications
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// A swept setting: key=v1,v2,... or key=start..end:step (inclusive end); repeatable,
    /// replaces the file's [sweep] grid
    #[arg(long = "grid", value_name = "KEY=VALUES", value_parser = parse_grid)]
    grid: Vec<String>,
    /// Replications per grid point [default: sweep.replications in the file, else 1]
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=sweep::grid::MAX_REPLICATIONS as i64))]
    replications: Option<u32>,
    /// Override a setting for every point, validated like the file's own keys (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
    overrides: Vec<String>,
    /// Master seed, replacing the scenario's `seed`; replication r of every point derives
    /// its seed from it
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Results folder [default: results/<scenario-name>]; files go to DIR/sweep/
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Run only the k-th of n disjoint subsets of the runs (join them with `sim merge`)
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// Reuse runs already saved under DIR/sweep/runs/ for the same scenario and version
    #[arg(long)]
    resume: bool,
    /// Worker threads [default: all cores]
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=MAX_JOBS as i64))]
    jobs: Option<u32>,
    /// Print nothing but errors; no progress bar
    #[arg(long, short)]
    quiet: bool,
    /// Skip the figures (faster)
    #[arg(long)]
    no_plots: bool,
}

#[derive(Debug, Args)]
struct RawMergeArgs {
    /// Shard folders: the --out folders (or their sweep/ subfolders) of `sim sweep --shard`
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Results folder of the merged sweep; files go to DIR/sweep/
    #[arg(long, value_name = "DIR", required = true)]
    out: PathBuf,
    /// Print nothing but errors
    #[arg(long, short)]
    quiet: bool,
    /// Skip the figures (faster)
    #[arg(long)]
    no_plots: bool,
}

#[derive(Debug, Args)]
struct RawDiffArgs {
    /// The baseline scenario
    #[arg(value_name = "A.toml")]
    a: PathBuf,
    /// The changed scenario
    #[arg(value_name = "B.toml")]
    b: PathBuf,
    /// Paired replications: replication r of A and of B share one seed
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=sweep::grid::MAX_REPLICATIONS as i64))]
    replications: u32,
    /// Override a setting in both scenarios (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
    overrides: Vec<String>,
    /// Master seed for both [default: A's `seed`]
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Worker threads [default: all cores]
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=MAX_JOBS as i64))]
    jobs: Option<u32>,
    /// Also write the report (statistics of A, B and B - A per metric, SLOs) as JSON
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// Parses the command line. A `clap::Error` is either a usage error or a request for help or
/// the version; the caller prints it and picks the exit code.
pub fn parse<I, T>(args: I) -> Result<Task, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let raw = RawArgs::try_parse_from(args)?;
    Ok(match raw.command {
        RawCommand::Run(run) => {
            let mut overrides = run.overrides;
            if let Some(horizon) = run.horizon {
                overrides.push(format!("run.horizon={horizon}"));
            }
            Task::Run(RunSettings {
                files: run.files,
                overrides,
                seed: run.seed,
                replications: run.replications,
                out: run.out,
                quiet: run.quiet,
                plots: !run.no_plots,
            })
        }
        RawCommand::Validate(validate) => Task::Validate(ValidateSettings {
            files: validate.files,
            overrides: validate.overrides,
        }),
        RawCommand::Sweep(raw) => {
            let mut overrides = raw.overrides;
            if let Some(seed) = raw.seed {
                overrides.push(format!("seed={seed}"));
            }
            Task::Sweep(SweepSettings {
                file: raw.file,
                grid: raw.grid,
                replications: raw.replications,
                overrides,
                out: raw.out,
                shard: raw.shard,
                resume: raw.resume,
                jobs: raw.jobs.map(|n| n as usize),
                quiet: raw.quiet,
                plots: !raw.no_plots,
            })
        }
        RawCommand::Merge(raw) => Task::Merge(MergeSettings {
            dirs: raw.dirs,
            out: raw.out,
            quiet: raw.quiet,
            plots: !raw.no_plots,
        }),
        RawCommand::Diff(raw) => Task::Diff(DiffSettings {
            a: raw.a,
            b: raw.b,
            replications: raw.replications,
            overrides: raw.overrides,
            seed: raw.seed,
            jobs: raw.jobs.map(|n| n as usize),
            json: raw.json,
        }),
    })
}

/// `--grid` syntax is checked here (lists, ranges, units); the keys and values are checked by
/// the scenario loader when the sweep loads every point.
fn parse_grid(raw: &str) -> Result<String, String> {
    sweep::parse_grid_arg(raw)
        .map(|_| raw.to_string())
        .map_err(|e| e.message)
}

/// `--set` takes `dotted.key=value`; the scenario loader checks the key and the value.
fn parse_override(raw: &str) -> Result<String, String> {
    match raw.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => Ok(raw.to_string()),
        Some(_) => Err("the key before '=' is empty; expected dotted.key=value".into()),
        None => {
            Err("no '=' found; expected dotted.key=value, e.g. temporal.cache_size=1000".into())
        }
    }
}

fn parse_non_empty(raw: &str) -> Result<String, String> {
    if raw.trim().is_empty() {
        Err("empty value; expected a duration such as 6h or 90m".into())
    } else {
        Ok(raw.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_settings(args: &[&str]) -> RunSettings {
        match parse(args.iter().copied()) {
            Ok(Task::Run(settings)) => settings,
            other => panic!("expected run settings, got {other:?}"),
        }
    }

    #[test]
    fn run_defaults() {
        let settings = run_settings(&["sim", "run", "a.toml"]);
        assert_eq!(
            settings,
            RunSettings {
                files: vec![PathBuf::from("a.toml")],
                overrides: vec![],
                seed: None,
                replications: 1,
                out: None,
                quiet: false,
                plots: true,
            }
        );
    }

    #[test]
    fn horizon_is_an_override_after_the_sets() {
        let settings = run_settings(&[
            "sim",
            "run",
            "a.toml",
            "b.toml",
            "--horizon",
            "6h",
            "--set",
            "temporal.cache_size=1000",
            "--seed",
            "7",
            "--replications",
            "4",
            "--no-plots",
            "--quiet",
            "--out",
            "o",
        ]);
        assert_eq!(settings.files.len(), 2);
        assert_eq!(
            settings.overrides,
            vec!["temporal.cache_size=1000", "run.horizon=6h"]
        );
        assert_eq!(settings.seed, Some(7));
        assert_eq!(settings.replications, 4);
        assert!(!settings.plots);
        assert!(settings.quiet);
        assert_eq!(settings.out, Some(PathBuf::from("o")));
    }

    #[test]
    fn usage_errors_are_rejected() {
        for args in [
            &["sim"][..],
            &["sim", "run"],
            &["sim", "frobnicate", "a.toml"],
            &["sim", "run", "a.toml", "--set", "no-equals-sign"],
            &["sim", "run", "a.toml", "--set", "=1"],
            &["sim", "run", "a.toml", "--replications", "0"],
            &["sim", "run", "a.toml", "--seed", "-1"],
            &["sim", "run", "a.toml", "--horizon", ""],
        ] {
            let error = parse(args.iter().copied()).expect_err(&format!("{args:?}"));
            assert!(error.use_stderr(), "{args:?} should be a usage error");
        }
    }

    #[test]
    fn sweep_flags_become_settings() {
        let task = parse([
            "sim",
            "sweep",
            "s.toml",
            "--grid",
            "temporal.cache_size=100,1000",
            "--grid",
            "autoscaler.min_instances=0..4:2",
            "--replications",
            "5",
            "--set",
            "run.horizon=1h",
            "--seed",
            "9",
            "--shard",
            "2/3",
            "--resume",
            "--jobs",
            "2",
            "--quiet",
            "--no-plots",
            "--out",
            "o",
        ])
        .unwrap();
        assert_eq!(
            task,
            Task::Sweep(SweepSettings {
                file: PathBuf::from("s.toml"),
                grid: vec![
                    "temporal.cache_size=100,1000".into(),
                    "autoscaler.min_instances=0..4:2".into()
                ],
                replications: Some(5),
                overrides: vec!["run.horizon=1h".into(), "seed=9".into()],
                out: Some(PathBuf::from("o")),
                shard: Some(Shard { index: 2, count: 3 }),
                resume: true,
                jobs: Some(2),
                quiet: true,
                plots: false,
            })
        );
        let Ok(Task::Sweep(defaults)) = parse(["sim", "sweep", "s.toml"]) else {
            panic!("sweep with defaults")
        };
        assert_eq!(defaults.replications, None);
        assert_eq!(defaults.jobs, None);
        assert!(defaults.grid.is_empty() && defaults.plots && !defaults.resume);
    }

    #[test]
    fn merge_and_diff_flags_become_settings() {
        let task = parse(["sim", "merge", "a", "b/sweep", "--out", "m", "--no-plots"]).unwrap();
        assert_eq!(
            task,
            Task::Merge(MergeSettings {
                dirs: vec![PathBuf::from("a"), PathBuf::from("b/sweep")],
                out: PathBuf::from("m"),
                quiet: false,
                plots: false,
            })
        );
        let task = parse(["sim", "diff", "a.toml", "b.toml", "--json", "d.json"]).unwrap();
        assert_eq!(
            task,
            Task::Diff(DiffSettings {
                a: PathBuf::from("a.toml"),
                b: PathBuf::from("b.toml"),
                replications: 10,
                overrides: vec![],
                seed: None,
                jobs: None,
                json: Some(PathBuf::from("d.json")),
            })
        );
    }

    #[test]
    fn sweep_usage_errors_are_rejected() {
        for args in [
            &["sim", "sweep"][..],
            &["sim", "sweep", "a.toml", "b.toml"],
            &["sim", "sweep", "a.toml", "--grid", "temporal.cache_size"],
            &[
                "sim",
                "sweep",
                "a.toml",
                "--grid",
                "temporal.cache_size=4..1:1",
            ],
            &[
                "sim",
                "sweep",
                "a.toml",
                "--grid",
                "temporal.cache_size=1..4:0",
            ],
            &["sim", "sweep", "a.toml", "--grid", "seed=1,2"],
            &["sim", "sweep", "a.toml", "--shard", "0/2"],
            &["sim", "sweep", "a.toml", "--shard", "3/2"],
            &["sim", "sweep", "a.toml", "--jobs", "0"],
            &["sim", "sweep", "a.toml", "--replications", "0"],
            &["sim", "merge", "a"],
            &["sim", "merge", "--out", "m"],
            &["sim", "diff", "a.toml"],
            &["sim", "diff", "a.toml", "b.toml", "--replications", "0"],
        ] {
            let error = parse(args.iter().copied()).expect_err(&format!("{args:?}"));
            assert!(error.use_stderr(), "{args:?} should be a usage error");
        }
    }

    #[test]
    fn help_and_version_are_not_errors_of_use() {
        for args in [
            &["sim", "--help"][..],
            &["sim", "--version"],
            &["sim", "run", "--help"],
        ] {
            let error = parse(args.iter().copied()).expect_err("help is reported as an error");
            assert!(!error.use_stderr(), "{args:?}");
        }
    }
}
