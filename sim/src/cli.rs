//! The command line: the only user of clap. Turns raw arguments into validated settings
//! (`Task`) in one place; everything after this works with plain structs.

use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;

/// The most replications one `sim run` accepts: a guard against a typo that would run for days.
pub const MAX_REPLICATIONS: u32 = 100_000;

/// What the user asked for, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Task {
    Run(RunSettings),
    Validate(ValidateSettings),
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

#[derive(Debug, Parser)]
#[command(
    name = "sim",
    version,
    about = "Deterministic discrete-event simulator for capacity planning of LLM agent fleets",
    long_about = None,
    after_help = "Exit codes: 0 ran and every SLO held, 1 ran and an SLO failed, \
                  2 bad input (usage, scenario, I/O) or a failed run."
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
    })
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
