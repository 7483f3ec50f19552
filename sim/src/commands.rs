//! The `run` and `validate` commands: load and validate every scenario before anything runs,
//! run replications in parallel (one run per rayon task, results in replication order), write
//! the outputs, print the human tables (or the JSON of `--format json`), write the JUnit XML of
//! `--junit`, and decide the outcome. `completions` and `man` print what `cli` generates.
//! `sweeps.rs`: the `sweep`, `merge` and `diff` commands over `sim::sweep`; `headroom.rs`: the
//! `headroom` command.

mod headroom;
mod sweeps;

pub use headroom::run as headroom;
pub use sweeps::{diff, merge, sweep};

use crate::Console;
use crate::cli::{self, Format, ManSettings, NewSettings, RunSettings, ValidateSettings};
use rayon::prelude::*;
use sim::engine::rng::replication_seed;
use sim::metrics::report::Summary;
use sim::model::{self, RunError};
use sim::output::replications::replications_csv;
use sim::output::verdicts::{self, RunReport, ScenarioReport};
use sim::output::{self, OutputError, OutputSet, SetKind, WriteOptions, lowercase_first, text};
use sim::progress::{self, RunProgress};
use sim::scenario::{self, Scenario};
use std::fs;
use std::path::{Path, PathBuf};

/// How a command ended; `main` maps it to the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Ran (or validated) and every SLO held: exit 0.
    Success,
    /// Ran and at least one SLO failed: exit 1.
    SloFailed,
    /// Bad input, an I/O error, or a failed run: exit 2.
    Failed,
}

/// `sim validate`: every file is checked and every problem printed.
pub fn validate(settings: &ValidateSettings, console: &Console) -> Outcome {
    let mut outcome = Outcome::Success;
    for file in &settings.files {
        match load_one(file, &settings.overrides) {
            Ok(scenario) => {
                print_warnings(file, &scenario, console);
                if !console.quiet {
                    for warning in scenario::grid_warnings(file, &settings.overrides, &[]) {
                        console.error(&warning);
                    }
                }
                console.out(&format!("ok: {}", file.display()));
            }
            Err(messages) => {
                outcome = Outcome::Failed;
                for message in messages {
                    console.error(&message);
                }
            }
        }
    }
    outcome
}

/// `sim run`: nothing runs and nothing is written unless every file is valid (and the
/// `--junit` file can be written).
pub fn run(settings: &RunSettings, console: &Console) -> Outcome {
    let planned = match plan(settings) {
        Ok(planned) => planned,
        Err(messages) => {
            for message in messages {
                console.error(&message);
            }
            return Outcome::Failed;
        }
    };
    for planned_run in &planned {
        print_warnings(&planned_run.file, &planned_run.scenario, console);
    }
    let pool = match settings.jobs.map(thread_pool).transpose() {
        Ok(pool) => pool,
        Err(message) => {
            console.error(&message);
            return Outcome::Failed;
        }
    };
    let mut finished: Vec<Finished> = Vec::with_capacity(planned.len());
    for (index, planned_run) in planned.iter().enumerate() {
        if index > 0 && settings.format == Format::Text {
            console.out("");
        }
        let one = || run_one(planned_run, settings, console);
        finished.push(match &pool {
            Some(pool) => pool.install(one),
            None => one(),
        });
    }
    let mut outcome = finished
        .iter()
        .fold(Outcome::Success, |outcome, f| worst(outcome, f.outcome));
    if let Some(path) = &settings.junit {
        let suites: Vec<verdicts::JunitSuite> = planned
            .iter()
            .zip(&finished)
            .map(|(p, f)| {
                let file = p.file.display().to_string();
                match &f.error {
                    Some(message) => verdicts::error_suite(&file, &p.scenario.name, message),
                    None => verdicts::run_suite(
                        &file,
                        &p.scenario.name,
                        settings.replications,
                        &verdicts::slo_verdicts(&f.summaries),
                    ),
                }
            })
            .collect();
        if let Err(error) = output::write_user_file(path, verdicts::junit_xml(&suites).as_bytes()) {
            console.error(&error.to_string());
            outcome = Outcome::Failed;
        }
    }
    if settings.format == Format::Json {
        let report = RunReport {
            ok: outcome == Outcome::Success,
            scenarios: planned
                .iter()
                .zip(&finished)
                .map(|(p, f)| ScenarioReport {
                    file: p.file.display().to_string(),
                    scenario: p.scenario.name.clone(),
                    outputs: p.dir.display().to_string(),
                    status: match f.outcome {
                        Outcome::Success => "ok",
                        Outcome::SloFailed => "slo_failed",
                        Outcome::Failed => "error",
                    },
                    replications: settings.replications,
                    slo: verdicts::slo_verdicts(&f.summaries),
                    summaries: &f.summaries,
                })
                .collect(),
        };
        match serde_json::to_string_pretty(&report) {
            Ok(json) => console.data((json + "\n").as_bytes()),
            Err(error) => {
                console.error(&format!("cannot encode the JSON report: {error}"));
                outcome = Outcome::Failed;
            }
        }
    }
    outcome
}

/// A rayon pool of `threads` workers for `--jobs`.
fn thread_pool(threads: usize) -> Result<rayon::ThreadPool, String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|e| format!("cannot start {threads} threads: {e}"))
}

/// A file named by `--junit` or `--json` must be writable before anything runs (a symlink is
/// judged by the file it leads to; a FIFO or device is written in place and passes): not a
/// folder, not one of the scenario files the command reads (`inputs`: a slip of the shell
/// must not replace a scenario with a report), not a file the command writes into one of the
/// run folders it creates (`creates`), and in a folder that exists (or is one of `creates`)
/// and lets a file be created there (checked by creating and removing the temporary file
/// `write_atomic` would use).
pub(crate) fn check_output_file(
    path: &Path,
    creates: &[&Path],
    inputs: &[&Path],
) -> Result<(), String> {
    let cannot = |why: &str| Err(format!("{}: cannot write: {why}", path.display()));
    // `nd/` names a folder (which `Path` would read as the file `nd`).
    if path
        .as_os_str()
        .to_string_lossy()
        .ends_with(std::path::is_separator)
    {
        return cannot("it ends with a path separator, so it names a folder; name a file");
    }
    // The checks below are about the file that will be replaced: a symlink's target. A FIFO or
    // a device is written in place (nothing is created or replaced), so none of them apply.
    let path = match output::set::user_file_target(path) {
        Ok(output::set::UserFileTarget::WriteThrough) => return Ok(()),
        Ok(output::set::UserFileTarget::Replace(target)) => target,
        Err(error) => return cannot(&lowercase_first(&error.to_string())),
    };
    let path = path.as_path();
    if path.is_dir() {
        return cannot("it is a directory; name a file");
    }
    // The run folders may not exist yet: compared as absolute paths too.
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    if let Some(dir) = creates.iter().find(|dir| absolute(dir) == absolute(path)) {
        return cannot(&format!(
            "it is the output folder {} this command writes; name a file",
            dir.display()
        ));
    }
    if let Some(input) = inputs.iter().find(|input| same_file(path, input)) {
        return cannot(&format!(
            "it is {}, which this command reads; name another file",
            input.display()
        ));
    }
    let Some(name) = path.file_name() else {
        return cannot("no file name; name a file");
    };
    let created = |dir: &Path| creates.iter().find(|d| absolute(d) == absolute(dir));
    let run_output = creates
        .iter()
        .find(|dir| same_file(path, &dir.join(name)))
        .or_else(|| created(path.parent().unwrap_or(Path::new("."))));
    if run_output.is_some() && output::set::run_writes(&name.to_string_lossy()) {
        return cannot(&format!(
            "the run writes its own {} in that folder; name another file",
            name.to_string_lossy()
        ));
    }
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if created(parent).is_some() && !parent.exists() {
        return Ok(());
    }
    if parent.is_dir() {
        return match output::set::check_can_create(parent, &name.to_string_lossy()) {
            Ok(()) => Ok(()),
            Err(error) => cannot(&format!(
                "folder {} does not take new files ({error})",
                parent.display()
            )),
        };
    }
    if parent.exists() {
        cannot(&format!("{} is not a directory", parent.display()))
    } else {
        cannot(&format!(
            "folder {} does not exist; create it first",
            parent.display()
        ))
    }
}

/// Whether two paths name one file, whether or not it exists yet: the same path once their
/// folders are resolved (`./a.toml`, `a.toml` and `dir/../a.toml` are one file). Paths that
/// cannot be resolved are compared as written.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    fn resolved(path: &Path) -> Option<PathBuf> {
        if let Ok(path) = path.canonicalize() {
            return Some(path);
        }
        let name = path.file_name()?;
        let parent = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        Some(parent.canonicalize().ok()?.join(name))
    }
    match (resolved(a), resolved(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// `sim completions SHELL`.
pub fn completions(shell: cli::Shell, console: &Console) -> Outcome {
    console.data(&cli::completion_script(shell));
    Outcome::Success
}

/// `sim schema`: the JSON Schema of scenario files (`schema/scenario.schema.json`) on stdout.
pub fn schema(console: &Console) -> Outcome {
    console.data(scenario::schema_json().as_bytes());
    Outcome::Success
}

/// `sim new`: list the templates, or write one to a path that does not exist yet. Nothing is
/// written on error: an existing file is never replaced (exit 2).
pub fn new(settings: &NewSettings, console: &Console) -> Outcome {
    let (name, path) = match settings {
        NewSettings::List => {
            let width = scenario::templates::TEMPLATES
                .iter()
                .map(|t| t.name.len())
                .max()
                .unwrap_or(0);
            let mut text = String::new();
            for template in &scenario::templates::TEMPLATES {
                text.push_str(&format!("{:width$}  {}\n", template.name, template.summary));
            }
            console.out(&text);
            return Outcome::Success;
        }
        NewSettings::Write { template, path } => (template, path),
    };
    // The command line only accepts template names, so this is a program error if it fails.
    let template = scenario::templates::find(name).expect("cli accepts only template names");
    if let Ok(metadata) = fs::symlink_metadata(path) {
        let message = if metadata.is_dir() {
            "is a folder; give the path of a new .toml file (e.g. FOLDER/agent.toml)"
        } else {
            "already exists; sim new never overwrites a file: give another PATH or remove it"
        };
        console.error(&format!("{}: {message}", path.display()));
        return Outcome::Failed;
    }
    // `a/` names a folder, which sim new does not make: say so of the folder, not of `a/` as a
    // file (writing it failed with "not a directory").
    let written = path.to_string_lossy();
    if written.ends_with(std::path::is_separator) {
        let folder = Path::new(written.trim_end_matches(std::path::is_separator));
        console.error(&not_a_folder(
            folder,
            &format!(
                "create it first, then give the path of a new .toml file in it (e.g. {})",
                folder.join("agent.toml").display()
            ),
        ));
        return Outcome::Failed;
    }
    // The file's stem is the scenario's default name, which names its output folder: a file
    // `sim validate` would refuse is not written (`.toml` would run into a hidden folder).
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    if let Err(why) = scenario::check_name(&stem) {
        console.error(&format!(
            "{}: the file name gives the scenario the name {stem:?}, which {why} (it names the \
             output folder): give a PATH such as agent.toml",
            path.display()
        ));
        return Outcome::Failed;
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        console.error(&not_a_folder(
            parent,
            "create it first, or give another PATH",
        ));
        return Outcome::Failed;
    }
    if let Err(error) = output::write_atomic(path, template.text.as_bytes()) {
        console.error(&error.to_string());
        return Outcome::Failed;
    }
    // The commands quote the path as a shell needs it ("a b.toml" is two words unquoted).
    // A path starting with `-` would be read as a flag: `./-a.toml` is the same file.
    let mut shown = path.display().to_string();
    if shown.starts_with('-') {
        shown.insert_str(0, "./");
    }
    let shown = output::text::shell_quote(&shown);
    console.out(&format!(
        "wrote {} (template {name}): edit the values marked EDIT, then `sim validate {shown}` \
         and `sim run {shown}`",
        path.display()
    ));
    Outcome::Success
}

/// Why `folder`, which is not a folder, cannot hold the new file: the deepest existing part of
/// it (itself included) is a file (for `a.toml/x`, the file `a.toml` that no folder can be made
/// under), or it does not exist, and then `what_next`.
fn not_a_folder(folder: &Path, what_next: &str) -> String {
    let file_in_the_way = folder
        .ancestors()
        .filter(|part| !part.as_os_str().is_empty())
        .find(|part| part.exists())
        .filter(|part| !part.is_dir());
    match file_in_the_way {
        Some(file) => format!(
            "{}: is a file, not a folder: give a PATH in a folder",
            file.display()
        ),
        None => format!("{}: no such folder: {what_next}", folder.display()),
    }
}

/// `sim man`: `sim.1` on stdout, or with `--out DIR` every page written there, or none.
pub fn man(settings: &ManSettings, console: &Console) -> Outcome {
    let pages = cli::man_pages();
    let Some(dir) = &settings.out else {
        console.data(&pages[0].1);
        return Outcome::Success;
    };
    if let Err(error) = output::create_dir(dir) {
        console.error(&error.to_string());
        return Outcome::Failed;
    }
    // All or nothing: a page that cannot be written leaves none of the others behind.
    if let Err(error) = output::set::write_all_or_none(dir, &pages) {
        console.error(&error.to_string());
        return Outcome::Failed;
    }
    console.out(&format!(
        "wrote {} man pages to {}",
        pages.len(),
        dir.display()
    ));
    Outcome::Success
}

/// One scenario, validated, with where its outputs go.
struct PlannedRun {
    file: PathBuf,
    scenario: Scenario,
    dir: PathBuf,
}

/// Loads every file (with the overrides and `--seed`) and picks each output directory. Returns
/// every problem found, each as one message.
fn plan(settings: &RunSettings) -> Result<Vec<PlannedRun>, Vec<String>> {
    let mut errors = Vec::new();
    let mut planned: Vec<PlannedRun> = Vec::new();
    for file in &settings.files {
        match load_one(file, &settings.overrides) {
            Ok(mut scenario) => {
                if let Some(seed) = settings.seed {
                    scenario.seed = seed;
                }
                let dir = match (&settings.out, settings.files.len()) {
                    (Some(out), 1) => out.clone(),
                    (Some(out), _) => out.join(&scenario.name),
                    (None, _) => Path::new("results").join(&scenario.name),
                };
                // Refused here, before any scenario runs, rather than at its set's `begin`.
                if let Err(error) = output::set::check_replaceable(&dir, SetKind::Run) {
                    errors.push(format!("{}: {error}", file.display()));
                    continue;
                }
                let mut inputs = vec![file.clone()];
                inputs.extend(sim::sweep::input_files_of(&scenario));
                if let Err(error) = output::set::check_spares_inputs(&dir, SetKind::Run, &inputs) {
                    errors.push(format!("{}: {error}", file.display()));
                    continue;
                }
                if let Some(other) = planned.iter().find(|p| p.dir == dir) {
                    errors.push(format!(
                        "{}: both this and {} write to {}: give the scenarios different names \
                         or run them separately",
                        file.display(),
                        other.file.display(),
                        dir.display()
                    ));
                    continue;
                }
                planned.push(PlannedRun {
                    file: file.clone(),
                    scenario,
                    dir,
                });
            }
            Err(messages) => errors.extend(messages),
        }
    }
    // Only once every file has loaded: a file that did not has no run folder yet, and the
    // `--junit` file may be meant for it (`--out gate --junit gate/slo.xml`, with `gate` not
    // made yet), so a check now would add a false "folder does not exist" to the real error.
    if let Some(junit) = settings.junit.as_ref().filter(|_| errors.is_empty()) {
        let dirs: Vec<&Path> = planned.iter().map(|p| p.dir.as_path()).collect();
        let csvs: Vec<PathBuf> = planned
            .iter()
            .flat_map(|p| sim::sweep::input_files_of(&p.scenario))
            .collect();
        let inputs: Vec<&Path> = settings
            .files
            .iter()
            .chain(&csvs)
            .map(PathBuf::as_path)
            .collect();
        if let Err(message) = check_output_file(junit, &dirs, &inputs) {
            errors.push(message);
        }
    }
    if errors.is_empty() {
        Ok(planned)
    } else {
        Err(errors)
    }
}

/// The scenario's warnings on stderr (unless quiet), each naming the file: it still runs.
fn print_warnings(file: &Path, scenario: &Scenario, console: &Console) {
    if console.quiet {
        return;
    }
    for warning in scenario::warnings(scenario) {
        console.error(&format!("{}: warning: {warning}", file.display()));
    }
}

/// Reads and validates one scenario file for `sim run`, `sim validate` and `sim diff`; every
/// message names the file. The `[sweep]` table and every point of its grid are checked too,
/// so a file one command refuses is refused by all (a misspelt grid key is a mistake in the
/// file whichever command reads it).
fn load_one(file: &Path, overrides: &[String]) -> Result<Scenario, Vec<String>> {
    load_with(file, overrides, scenario::validate)
}

fn load_with(
    file: &Path,
    overrides: &[String],
    load: fn(&Path, &[String]) -> Result<Scenario, scenario::ScenarioErrors>,
) -> Result<Scenario, Vec<String>> {
    match fs::metadata(file) {
        Err(error) => {
            return Err(vec![format!(
                "{}: cannot read scenario file: {}",
                file.display(),
                lowercase_first(&error.to_string())
            )]);
        }
        Ok(metadata) if metadata.is_dir() => {
            return Err(vec![format!(
                "{}: cannot read scenario file: it is a directory; pass the .toml files in it",
                file.display()
            )]);
        }
        Ok(_) => {}
    }
    load(file, overrides).map_err(|errors| {
        let prefix = file.display().to_string();
        errors
            .messages
            .into_iter()
            .map(|message| {
                if message.starts_with(&prefix) {
                    message
                } else {
                    format!("{prefix}: {message}")
                }
            })
            .collect()
    })
}

/// Why one replication produced no outputs.
enum Failure {
    Run {
        replication: u32,
        seed: u64,
        why: String,
    },
    Output(OutputError),
}

/// One scenario's end: its outcome, its summaries in replication order (none when it failed),
/// and, when it failed, the errors it printed.
struct Finished {
    outcome: Outcome,
    summaries: Vec<Summary>,
    error: Option<String>,
}

impl Finished {
    fn failed(messages: Vec<String>) -> Finished {
        Finished {
            outcome: Outcome::Failed,
            summaries: Vec::new(),
            error: Some(messages.join("\n")),
        }
    }
}

fn run_one(planned: &PlannedRun, settings: &RunSettings, console: &Console) -> Finished {
    let replications = settings.replications;
    let options = WriteOptions {
        plots: settings.plots,
        report: Some(output::ReportSource {
            file: planned.file.clone(),
            overrides: settings.overrides.clone(),
        }),
    };
    // The files go to the set's staging folder; the previous run's stay whole until `finish`
    // swaps them (its manifest first, the new one last), and stay if this run fails.
    // An output error names the scenario it is for, as every other error does: `sim run a.toml
    // b.toml` runs both, and a message must say which one's outputs failed.
    let located = |error: &OutputError| format!("{}: {error}", planned.file.display());
    let set = match OutputSet::begin(&planned.dir, SetKind::Run) {
        Ok(set) => set,
        Err(error) => {
            console.error(&located(&error));
            return Finished::failed(vec![located(&error)]);
        }
    };
    let show = progress::enabled(!console.quiet);
    let name = &planned.scenario.name;
    let results: Vec<Result<Summary, Failure>> = if replications == 1 {
        let observed = RunProgress::default();
        let horizon = planned.scenario.run.horizon;
        vec![progress::follow_run(show, name, horizon, &observed, || {
            run_replication(planned, 0, &set, &options, Some(&observed))
        })]
    } else {
        let bar = progress::counter(show, name, replications.into(), "replications");
        let results = (0..replications)
            .into_par_iter()
            .map(|replication| {
                let result = run_replication(planned, replication, &set, &options, None);
                bar.inc(1);
                result
            })
            .collect();
        bar.finish_and_clear();
        results
    };

    let mut summaries = Vec::with_capacity(results.len());
    let mut errors = Vec::new();
    for result in results {
        match result {
            Ok(summary) => summaries.push(summary),
            Err(Failure::Output(error)) => errors.push(located(&error)),
            Err(Failure::Run {
                replication,
                seed,
                why,
            }) => errors.push(format!(
                "{}: run failed (replication {replication}, seed {seed}): {why}\n\
                 reproduce with: {}",
                planned.file.display(),
                text::reproduce_command(&planned.file, &settings.overrides, seed)
            )),
        }
    }
    for error in &errors {
        console.error(error);
    }
    if !errors.is_empty() {
        return Finished::failed(errors);
    }
    let finished = if replications > 1 {
        set.write("replications.csv", &replications_csv(&summaries))
    } else {
        Ok(())
    };
    if let Err(error) = finished.and_then(|()| set.finish()) {
        console.error(&located(&error));
        return Finished::failed(vec![located(&error)]);
    }
    let outcome = if text::slos_held(&summaries) {
        Outcome::Success
    } else {
        Outcome::SloFailed
    };
    if settings.format == Format::Text {
        console.out(&report_text(planned, &summaries));
    }
    Finished {
        outcome,
        summaries,
        error: None,
    }
}

/// The tables `sim run` prints for one scenario.
fn report_text(planned: &PlannedRun, summaries: &[Summary]) -> String {
    let mut report = text::summary_table(&summaries[0], summaries.len());
    let workloads = text::workloads_table(&summaries[0]);
    if !workloads.is_empty() {
        report.push('\n');
        report.push_str(&workloads);
    }
    if summaries.len() > 1 {
        report.push('\n');
        report.push_str(&text::replications_table(summaries));
    }
    let slos = text::slo_table(summaries);
    if !slos.is_empty() {
        report.push('\n');
        report.push_str(&slos);
    }
    report.push_str(&format!("outputs: {}\n", planned.dir.display()));
    report
}

/// Runs replication `replication` and writes its outputs: replication 0 into the run's
/// directory, the others into `replications/<r>/` under it. With `observed`, the model
/// publishes its progress there for a bar to show. A panic in the model is reported like a
/// failed run, with its seed.
fn run_replication(
    planned: &PlannedRun,
    replication: u32,
    set: &OutputSet,
    options: &WriteOptions,
    observed: Option<&RunProgress>,
) -> Result<Summary, Failure> {
    let mut scenario = planned.scenario.clone();
    scenario.seed = replication_seed(planned.scenario.seed, replication);
    let seed = scenario.seed;
    let run = || {
        sim::sweep::injected_panic(seed);
        match observed {
            Some(progress) => model::run_observed(&scenario, progress),
            None => model::run(&scenario),
        }
        .map_err(|error| run_error_text(&error))
    };
    let output = sim::sweep::catch_panic(run).map_err(|why| Failure::Run {
        replication,
        seed,
        why,
    })?;
    let prefix = if replication == 0 {
        String::new()
    } else {
        format!("replications/{replication}/")
    };
    output::write_run_into(set, &prefix, &scenario, &output, options).map_err(Failure::Output)?;
    Ok(output.summary)
}

fn run_error_text(error: &RunError) -> String {
    lowercase_first(&error.to_string())
}

fn worst(a: Outcome, b: Outcome) -> Outcome {
    let rank = |o: Outcome| match o {
        Outcome::Success => 0,
        Outcome::SloFailed => 1,
        Outcome::Failed => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_cannot_escape_results_or_hide() {
        assert!(scenario::check_name("support-agent").is_ok());
        assert!(scenario::check_name("v1.2").is_ok());
        assert!(scenario::check_name("my agent").is_ok());
        for bad in [
            "", ".", "..", ".toml", ".x.tmp", "a/b", "a\\b", "a\nb", " ", "  ", " a", "a ",
            "\u{a0}a",
        ] {
            assert!(scenario::check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_worst_outcome_wins() {
        assert_eq!(
            worst(Outcome::Success, Outcome::SloFailed),
            Outcome::SloFailed
        );
        assert_eq!(worst(Outcome::Failed, Outcome::SloFailed), Outcome::Failed);
        assert_eq!(worst(Outcome::Success, Outcome::Success), Outcome::Success);
    }
}
