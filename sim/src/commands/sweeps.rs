//! The `sweep`, `merge` and `diff` commands: thin wrappers over `sim::sweep` that check the
//! input files, print the human summary, and decide the outcome. Exit rule for `sweep` and
//! `merge`: 0 when a shard (or a halving round) finished or some point is feasible, 1 when no point is, 2 on any
//! error (nothing is written when the grid or a scenario is invalid). `diff`: 1 when B breaks an
//! SLO that A meets, else 0; 2 on bad input.

use super::{Outcome, check_output_file, load_one, same_file};
use crate::Console;
use crate::cli::{DiffSettings, Format, MergeSettings, SweepSettings};
use sim::output::verdicts::{JunitCase, JunitResult, JunitSuite, junit_xml};
use sim::output::{self, lowercase_first, text};
use sim::sweep::diff::DiffReport;
use sim::sweep::{self, SweepError, SweepOptions, SweepOutcome};
use std::fs;
use std::path::Path;

/// `sim sweep FILE`.
pub fn sweep(settings: &SweepSettings, console: &Console) -> Outcome {
    if let Err(message) = check_readable(&settings.file) {
        console.error(&message);
        return Outcome::Failed;
    }
    if !settings.quiet {
        for warning in
            sim::scenario::grid_warnings(&settings.file, &settings.overrides, &settings.grid)
        {
            console.error(&warning);
        }
    }
    let options = SweepOptions {
        objective: settings.objective,
        search: settings.search,
        from: settings.from.clone(),
        shard: settings.shard,
        resume: settings.resume,
        threads: settings.jobs,
        progress: !settings.quiet,
        plots: settings.plots,
    };
    let result = sweep::sweep_file(
        &settings.file,
        &settings.overrides,
        &settings.grid,
        settings.replications,
        settings.out.clone(),
        options,
    );
    match result {
        Ok(outcome) if settings.format == Format::Json => {
            let json = serde_json::to_string_pretty(&outcome.points_json())
                .expect("the sweep report serialises");
            console.data((json + "\n").as_bytes());
            finish_outcome(&outcome)
        }
        Ok(outcome) => finish(&outcome, console),
        Err(error) => {
            console.error(&error_text(&settings.file, &error));
            Outcome::Failed
        }
    }
}

/// `sim merge DIR... --out DIR`.
pub fn merge(settings: &MergeSettings, console: &Console) -> Outcome {
    match sweep::merge(&settings.dirs, &settings.out, settings.plots) {
        Ok(outcome) => finish(&outcome, console),
        Err(error) => {
            console.error(&error.to_string());
            Outcome::Failed
        }
    }
}

/// `sim diff A.toml B.toml`: both files are checked (every problem of both reported), and the
/// `--json` and `--junit` files too, before anything runs.
pub fn diff(settings: &DiffSettings, console: &Console) -> Outcome {
    let a = load_one(&settings.a, &settings.overrides);
    let b = load_one(&settings.b, &settings.overrides);
    // The CSVs both read are inputs too (a report named as a trace would replace it).
    let csvs: Vec<std::path::PathBuf> = [&a, &b]
        .into_iter()
        .flat_map(|s| s.as_ref().map(sweep::input_files_of).unwrap_or_default())
        .collect();
    let inputs: Vec<&std::path::Path> = [settings.a.as_path(), settings.b.as_path()]
        .into_iter()
        .chain(csvs.iter().map(std::path::PathBuf::as_path))
        .collect();
    let mut files = [&settings.json, &settings.junit]
        .into_iter()
        .flatten()
        .filter_map(|path| check_output_file(path, &[], &inputs).err())
        .collect::<Vec<String>>();
    if let (Some(json), Some(junit)) = (&settings.json, &settings.junit)
        && same_file(json, junit)
    {
        files.push(format!(
            "{}: cannot write: --json and --junit name the same file; name two",
            junit.display()
        ));
    }
    let (mut a, b) = match (a, b) {
        (Ok(a), Ok(b)) if files.is_empty() => (a, b),
        (a, b) => {
            for messages in [a.err(), b.err(), Some(files)].into_iter().flatten() {
                for message in messages {
                    console.error(&message);
                }
            }
            return Outcome::Failed;
        }
    };
    if let Some(seed) = settings.seed {
        a.seed = seed;
    }
    // Said before the runs, which can take minutes, so the numbers are never read without it;
    // the report (`--json`, `--format json`) carries the same sentences.
    if !console.quiet {
        for warning in sweep::diff::incomparable(&a, &b) {
            console.error(&format!("warning: {warning}"));
        }
    }
    let run_commands = [
        text::run_command(&settings.a, &settings.overrides),
        text::run_command(&settings.b, &settings.overrides),
    ];
    let mut report = match sweep::diff(
        &a,
        &b,
        settings.replications,
        settings.jobs,
        Some(&run_commands),
        !console.quiet,
    ) {
        Ok(report) => report,
        Err(error) => {
            console.error(&error_text(&settings.a, &error));
            return Outcome::Failed;
        }
    };
    // Two files of the same name (a scenario and its edited copy) would read "A = x vs B = x":
    // name them by their paths instead, in every output.
    if report.a == report.b && settings.a != settings.b {
        report.a = settings.a.display().to_string();
        report.b = settings.b.display().to_string();
    }
    let json = match serde_json::to_string_pretty(&report) {
        Ok(json) => json + "\n",
        Err(error) => {
            console.error(&format!("cannot encode the diff report: {error}"));
            return Outcome::Failed;
        }
    };
    if let Some(path) = &settings.json
        && let Err(error) = output::write_user_file(path, json.as_bytes())
    {
        console.error(&error.to_string());
        return Outcome::Failed;
    }
    if let Some(path) = &settings.junit {
        let suite = diff_suite(&settings.b.display().to_string(), &report);
        if let Err(error) = output::write_user_file(path, junit_xml(&[suite]).as_bytes()) {
            console.error(&error.to_string());
            return Outcome::Failed;
        }
    }
    match settings.format {
        Format::Text => console.out(&report.summary_text()),
        Format::Json => console.data(json.as_bytes()),
    }
    if report.breaks_slo {
        Outcome::SloFailed
    } else {
        Outcome::Success
    }
}

/// The gate as a JUnit suite named after B's file: a case per SLO, failed when B breaks it (A
/// met it in every replication, B failed it in one or has no workload of the name it bounds),
/// skipped when A does not meet it (the gate does not judge B there) or B does not have it.
fn diff_suite(b_file: &str, report: &DiffReport) -> JunitSuite {
    let met = |v: Option<bool>| match v {
        Some(true) => "met",
        Some(false) => "failed",
        None => "absent",
    };
    let cases = report
        .slos
        .iter()
        .map(|slo| {
            let states = format!(
                "A {} ({}), B {} ({}) over {}",
                met(slo.a_met),
                report.a,
                met(slo.b_met),
                report.b,
                text::count(report.replications, "paired replication")
            );
            let result = match (slo.a_met, slo.b_met) {
                // Before the other arms: B's verdict is `None` here, which alone would skip.
                _ if slo.breaks() && slo.b_met.is_none() => {
                    let text = format!(
                        "B has no workload \"{}\", which this SLO bounds (removing or renaming a \
                         workload breaks its SLOs): {states}",
                        slo.b_lacks_workload.as_deref().unwrap_or_default()
                    );
                    JunitResult::Failed {
                        message: text.clone(),
                        text,
                    }
                }
                (Some(true), Some(false)) => JunitResult::Failed {
                    message: format!("B breaks this SLO: {states}"),
                    text: format!("B breaks this SLO: {states}"),
                },
                (Some(true), Some(true)) => JunitResult::Passed,
                (Some(true), None) => JunitResult::Skipped {
                    message: format!("B has no SLO of this name: {states}"),
                },
                // A new workload's SLO: nothing in A to hold B to.
                (None, _) if slo.a_lacks_workload.is_some() => JunitResult::Skipped {
                    message: format!(
                        "A has no workload \"{}\", which this SLO bounds, so B is not judged: \
                         {states}",
                        slo.a_lacks_workload.as_deref().unwrap_or_default()
                    ),
                },
                (None, _) => JunitResult::Skipped {
                    message: format!("A has no SLO of this name, so B is not judged: {states}"),
                },
                _ => JunitResult::Skipped {
                    message: format!("A does not meet this SLO, so B is not judged: {states}"),
                },
            };
            JunitCase {
                classname: "diff".to_string(),
                name: slo.name.clone(),
                result,
            }
        })
        .collect();
    JunitSuite {
        name: b_file.to_string(),
        cases,
    }
}

/// Prints the summary; a shard or a sweep with a feasible point succeeded.
fn finish(outcome: &SweepOutcome, console: &Console) -> Outcome {
    console.out(&outcome.summary_text());
    finish_outcome(outcome)
}

fn finish_outcome(outcome: &SweepOutcome) -> Outcome {
    if outcome.meta.shard.is_some()
        || outcome.meta.next_round.is_some()
        || outcome.cheapest_feasible.is_some()
    {
        Outcome::Success
    } else {
        Outcome::SloFailed
    }
}

/// A missing file or a directory is reported like `sim run` does, before the sweep reads it.
pub(super) fn check_readable(file: &Path) -> Result<(), String> {
    match fs::metadata(file) {
        Err(error) => Err(format!(
            "{}: cannot read scenario file: {}",
            file.display(),
            lowercase_first(&error.to_string())
        )),
        Ok(metadata) if metadata.is_dir() => Err(format!(
            "{}: cannot read scenario file: it is a directory; pass a .toml file",
            file.display()
        )),
        Ok(_) => Ok(()),
    }
}

/// Every line of a grid or scenario error names the file; I/O errors name their own path.
pub(super) fn error_text(file: &Path, error: &SweepError) -> String {
    let prefix = file.display().to_string();
    let name = |line: &str| {
        if line.starts_with(&prefix) {
            line.to_string()
        } else {
            format!("{prefix}: {line}")
        }
    };
    match error {
        SweepError::Grid(e) => name(&e.message),
        SweepError::Scenario(lines) => lines.iter().map(|l| name(l)).collect::<Vec<_>>().join("\n"),
        // A file the command read or wrote for this scenario: named after it too.
        SweepError::Io { .. } | SweepError::Output(_) => name(&error.to_string()),
        other => other.to_string(),
    }
}
