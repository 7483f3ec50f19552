//! The command line: the only user of clap. Turns raw arguments into validated settings
//! (`Task`) in one place; everything after this works with plain structs.

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use sim::sweep::{self, Shard};
use std::ffi::OsString;
use std::path::PathBuf;

pub use clap_complete::Shell;

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
    Headroom(HeadroomSettings),
    /// `sim completions SHELL`: the completion script on stdout.
    Completions(Shell),
    /// `sim man [--out DIR]`.
    Man(ManSettings),
    /// `sim schema`: the scenario files' JSON Schema on stdout.
    Schema,
    /// `sim new --template NAME [PATH]` or `sim new --list`.
    New(NewSettings),
}

/// `sim new`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewSettings {
    /// `--list`: the templates, one per line with what each is for.
    List,
    /// Write template `template` (a name of `sim::scenario::templates::TEMPLATES`) to `path`.
    Write { template: String, path: PathBuf },
}

/// How `run`, `sweep`, `diff` and `headroom` print their results on stdout. Each command
/// describes the two values itself (`format_values`): what the JSON holds is its own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// For people: tables, a summary or a report.
    #[default]
    Text,
    /// One JSON object instead.
    Json,
}

/// `--format`'s two values, with what the command that takes it prints for each.
fn format_values(
    text: &'static str,
    json: &'static str,
) -> impl clap::builder::TypedValueParser<Value = Format> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    PossibleValuesParser::new([
        PossibleValue::new("text").help(text),
        PossibleValue::new("json").help(json),
    ])
    .map(|value| match value.as_str() {
        "json" => Format::Json,
        _ => Format::Text,
    })
}

/// `sim run`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSettings {
    pub files: Vec<PathBuf>,
    /// `--set` strings in command-line order, then `--horizon` as `run.horizon=...`.
    pub overrides: Vec<String>,
    /// `--horizon` as typed, for messages (`Task::spellings`).
    pub horizon: Option<String>,
    /// `--seed`: replaces the scenario's seed.
    pub seed: Option<u64>,
    pub replications: u32,
    /// `--out`: the output directory (with several files, the parent of one per scenario).
    pub out: Option<PathBuf>,
    /// `--jobs`: worker threads for the replications; `None` uses every core.
    pub jobs: Option<usize>,
    /// `--junit`: also write the SLO verdicts as JUnit XML here.
    pub junit: Option<PathBuf>,
    pub format: Format,
    pub quiet: bool,
    pub plots: bool,
}

/// `sim validate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidateSettings {
    pub files: Vec<PathBuf>,
    /// `--set` strings, then `--horizon` as `run.horizon=...` (the limits depend on it).
    pub overrides: Vec<String>,
    /// `--horizon` as typed, for messages (`Task::spellings`).
    pub horizon: Option<String>,
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
    /// `--objective` (an index into `sweep::METRICS`); `None`: the file's `sweep.objective`,
    /// else the compute cost.
    pub objective: Option<usize>,
    /// `--search`, `--initial-replications`, `--halving-factor`; each `None` defers to the
    /// file's `[sweep]` key.
    pub search: sim::scenario::SearchTable,
    /// `--from`: carry on a halving search from a merged round.
    pub from: Option<PathBuf>,
    /// `--format`: the text summary and table, or the same as JSON.
    pub format: Format,
    /// `--set` strings in command-line order, then `--horizon` as `run.horizon=...`, then
    /// `--seed` as `seed=N`, so both are part of the scenario hash that `--resume` and
    /// `sim merge` check.
    pub overrides: Vec<String>,
    /// `--horizon` as typed, for messages (`Task::spellings`).
    pub horizon: Option<String>,
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
    /// Applied to both A and B: `--set` strings, then `--horizon` as `run.horizon=...`.
    pub overrides: Vec<String>,
    /// `--horizon` as typed, for messages (`Task::spellings`).
    pub horizon: Option<String>,
    /// Replaces A's seed, from which both A's and B's replication seeds derive.
    pub seed: Option<u64>,
    pub jobs: Option<usize>,
    /// `--json`: also write the report as JSON here.
    pub json: Option<PathBuf>,
    /// `--junit`: also write the SLO gate as JUnit XML here.
    pub junit: Option<PathBuf>,
    pub format: Format,
    pub quiet: bool,
}

/// `sim headroom`.
#[derive(Clone, Debug, PartialEq)]
pub struct HeadroomSettings {
    pub file: PathBuf,
    /// `--key`: the dotted key searched, as `--set` names it.
    pub key: String,
    /// `--range LO..HI` (LO < HI, both finite); `None`: derived from the key's value.
    pub range: Option<(f64, f64)>,
    /// `--tolerance`: the search's step (> 0).
    pub tolerance: Option<f64>,
    /// `--direction`; `None`: chosen by the bracket's ends.
    pub direction: Option<sweep::headroom::Direction>,
    pub replications: u32,
    /// `--set` strings in command-line order, then `--horizon` as `run.horizon=...`, then
    /// `--seed` as `seed=N`.
    pub overrides: Vec<String>,
    /// `--horizon` as typed, for messages (`Task::spellings`).
    pub horizon: Option<String>,
    /// `--out`: also write `DIR/headroom/headroom.json`.
    pub out: Option<PathBuf>,
    pub jobs: Option<usize>,
    pub format: Format,
    pub quiet: bool,
}

// The floats are checked finite by their parsers, so equality is reflexive.
impl Eq for HeadroomSettings {}

/// `--direction` of `sim headroom`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum RawDirection {
    /// The largest value at which every SLO holds (load-like keys: traffic.multiplier)
    Max,
    /// The smallest value at which every SLO holds (capacity-like keys: slots, instances)
    Min,
}

/// `sim man`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManSettings {
    /// `--out`: write `sim.1` and one page per subcommand (`sim-run.1`, ...) here instead of
    /// printing `sim.1`.
    pub out: Option<PathBuf>,
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
                  diff: 1 when B breaks an SLO that A meets (fails it, or lacks the workload it bounds). \
                  headroom: 1 when the bracket's safe end breaks an SLO."
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
    /// statistics and the point that minimises --objective while meeting every SLO (exit 1 when
    /// none does)
    Sweep(RawSweepArgs),
    /// Join the outputs of `sim sweep --shard k/n` into those of the whole sweep
    Merge(RawMergeArgs),
    /// Compare scenario B with A over paired replications (common random numbers); exit 1
    /// when B breaks an SLO that A meets (fails it, or lacks the workload it bounds)
    Diff(RawDiffArgs),
    /// Find how far one setting (--key) can move before an SLO breaks: bisection per
    /// replication with common random numbers; the cliff with its 95% interval and the headroom
    /// from today's value (exit 1 when even the bracket's safe end breaks an SLO)
    Headroom(RawHeadroomArgs),
    /// Print the shell completion script for SHELL on stdout
    Completions(RawCompletionsArgs),
    /// Print the man page (roff) on stdout, or write one page per subcommand with --out
    Man(RawManArgs),
    /// Print the JSON Schema of scenario files on stdout (for editors: see .taplo.toml)
    Schema,
    /// Write a commented starting scenario from a template (refuses to overwrite a file)
    // The usage clap derives for `--list` with a PATH is `sim new --list [PATH]`, the very
    // line it refuses: the two ways of calling `new`, written out.
    #[command(override_usage = "sim new --template NAME [PATH]\n       sim new --list")]
    New(RawNewArgs),
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
    /// Worker threads for the replications [default: all cores]
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=MAX_JOBS as i64))]
    jobs: Option<u32>,
    /// Also write the SLO verdicts as JUnit XML (a test suite per scenario file, a test case
    /// per SLO)
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// What to print on stdout: text tables, or one JSON object with the summaries and SLO
    /// verdicts
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = format_values(
        "Tables for people",
        "One JSON object: the summaries and SLO verdicts of every scenario file",
    ))]
    format: Format,
    /// Print nothing but errors (and the JSON of --format json); no progress bar
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
    /// Simulated time the run would cover, e.g. 6h (same as --set run.horizon=6h)
    #[arg(long, value_name = "DURATION", value_parser = parse_non_empty)]
    horizon: Option<String>,
}

/// `sim sweep --search`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SearchArg {
    Grid,
    Halving,
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
    /// The metric to minimise subject to the SLOs, e.g. cost_total_usd or
    /// response_latency_p95_s [default: sweep.objective in the file, else cost_compute_usd]
    #[arg(long, value_name = "METRIC", value_parser = parse_objective)]
    objective: Option<usize>,
    /// How to choose the runs: every point at every replication (grid), or successive halving
    /// (few replications for every point, more for the promising ones) [default: sweep.search
    /// in the file, else grid]
    #[arg(long, value_name = "SEARCH", value_enum)]
    search: Option<SearchArg>,
    /// Halving: replications of every point in the first round [default:
    /// sweep.initial_replications in the file, else 1]
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=sweep::grid::MAX_REPLICATIONS as i64))]
    initial_replications: Option<u32>,
    /// Halving: each round keeps 1 point in N and gives it N times the replications
    /// [default: sweep.halving_factor in the file, else 2]
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(
              sweep::halving::MIN_FACTOR as i64..=sweep::halving::MAX_FACTOR as i64))]
    halving_factor: Option<u32>,
    /// Halving: carry on from the rounds merged into DIR by `sim merge` (with --shard, run
    /// this machine's share of the next round)
    #[arg(long, value_name = "DIR")]
    from: Option<PathBuf>,
    /// What to print on stdout: the summary and table of points, or the same as one JSON object
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = format_values(
        "The summary and the table of points",
        "The same as one JSON object: the best feasible point, then every point with its parameters, objective, feasibility and key metrics",
    ))]
    format: Format,
    /// Override a setting for every point, validated like the file's own keys (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
    overrides: Vec<String>,
    /// Simulated time of every run, e.g. 6h (same as --set run.horizon=6h)
    #[arg(long, value_name = "DURATION", value_parser = parse_non_empty)]
    horizon: Option<String>,
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
    /// Print nothing but errors (and the JSON of --format json); no progress bar
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
    /// Simulated time of every run of both, e.g. 6h (same as --set run.horizon=6h)
    #[arg(long, value_name = "DURATION", value_parser = parse_non_empty)]
    horizon: Option<String>,
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
    /// Also write the SLO gate as JUnit XML (a test case per SLO, failed when B breaks it)
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// What to print on stdout: the text summary, or the JSON report of --json
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = format_values(
        "The text summary",
        "The report --json writes: the statistics of A, B and B - A per metric, and the SLO gate",
    ))]
    format: Format,
    /// Print nothing but errors (and the JSON of --format json)
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct RawHeadroomArgs {
    /// Scenario file (TOML)
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The setting searched, a dotted key as --set takes it that holds a number, e.g.
    /// traffic.multiplier or temporal.max_concurrent_activities
    #[arg(long, value_name = "KEY", value_parser = parse_key)]
    key: String,
    /// The bracket searched, e.g. 0.5..4 [default: a quarter of the key's value to four times
    /// it]
    #[arg(long, value_name = "LO..HI", value_parser = parse_range)]
    range: Option<(f64, f64)>,
    /// The search's resolution: the step between probed values [default: 1 for an integer
    /// key, else a round number near a two-hundredth of the bracket]
    #[arg(long, value_name = "X", value_parser = parse_tolerance)]
    tolerance: Option<f64>,
    /// Look for the largest value that holds (max) or the smallest (min) [default: the end of
    /// the bracket at which every replication held is the safe end]
    #[arg(long, value_name = "DIRECTION", value_enum)]
    direction: Option<RawDirection>,
    /// Replications: replication r uses the same seed at every probed value
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=sweep::grid::MAX_REPLICATIONS as i64))]
    replications: u32,
    /// Override a setting for every run, validated like the file's own keys (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
    overrides: Vec<String>,
    /// Simulated time of every run, e.g. 6h (same as --set run.horizon=6h)
    #[arg(long, value_name = "DURATION", value_parser = parse_non_empty)]
    horizon: Option<String>,
    /// Master seed, replacing the scenario's `seed`; replication r derives its seed from it
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Also write the report as JSON to DIR/headroom/headroom.json
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Worker threads [default: all cores]
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=MAX_JOBS as i64))]
    jobs: Option<u32>,
    /// What to print on stdout: the text report, or the same as one JSON object
    #[arg(long, value_name = "FORMAT", default_value = "text", value_parser = format_values(
        "The text report",
        "The report as one JSON object: the cliff with its 95% interval, the headroom ratio and the SLO that broke first",
    ))]
    format: Format,
    /// Print nothing but errors (and the JSON of --format json); no progress bar
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct RawCompletionsArgs {
    /// The shell to complete for
    #[arg(value_name = "SHELL", value_enum)]
    shell: Shell,
}

#[derive(Debug, Args)]
struct RawManArgs {
    /// Write sim.1 and one page per subcommand (sim-run.1, ...) into DIR instead of printing
    /// sim.1
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct RawNewArgs {
    /// The template to start from (see --list)
    #[arg(
        long,
        short,
        value_name = "NAME",
        required_unless_present = "list",
        value_parser = clap::builder::PossibleValuesParser::new(
            sim::scenario::templates::TEMPLATES.iter().map(|t| t.name)
        )
    )]
    template: Option<String>,
    /// List the templates and what each is for
    #[arg(long, conflicts_with_all = ["template", "path"])]
    list: bool,
    /// Where to write the scenario; default: NAME.toml in the current directory
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,
}

/// Parses the command line. A `clap::Error` is either a usage error or a request for help or
/// the version; the caller prints it and picks the exit code.
pub fn parse<I, T>(args: I) -> Result<Task, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let raw = RawArgs::try_parse_from(args)?;
    let given = match &raw.command {
        RawCommand::Run(run) => Some((&run.overrides, &run.horizon, run.seed)),
        RawCommand::Validate(validate) => Some((&validate.overrides, &validate.horizon, None)),
        RawCommand::Sweep(raw) => Some((&raw.overrides, &raw.horizon, raw.seed)),
        RawCommand::Diff(raw) => Some((&raw.overrides, &raw.horizon, raw.seed)),
        RawCommand::Headroom(raw) => Some((&raw.overrides, &raw.horizon, raw.seed)),
        _ => None,
    };
    if let Some((overrides, horizon, seed)) = given {
        refuse_two_ways(overrides, horizon.as_deref(), seed)?;
    }
    Ok(match raw.command {
        RawCommand::Run(run) => Task::Run(RunSettings {
            files: run.files,
            overrides: with_horizon(run.overrides, run.horizon.clone()),
            horizon: run.horizon,
            seed: run.seed,
            replications: run.replications,
            out: run.out,
            jobs: run.jobs.map(|n| n as usize),
            junit: run.junit,
            format: run.format,
            quiet: run.quiet,
            plots: !run.no_plots,
        }),
        RawCommand::Validate(validate) => Task::Validate(ValidateSettings {
            files: validate.files,
            overrides: with_horizon(validate.overrides, validate.horizon.clone()),
            horizon: validate.horizon,
        }),
        RawCommand::Sweep(raw) => {
            let mut overrides = with_horizon(raw.overrides, raw.horizon.clone());
            if let Some(seed) = raw.seed {
                overrides.push(format!("seed={seed}"));
            }
            Task::Sweep(SweepSettings {
                file: raw.file,
                grid: raw.grid,
                replications: raw.replications,
                objective: raw.objective,
                search: sim::scenario::SearchTable {
                    halving: raw.search.map(|s| s == SearchArg::Halving),
                    initial_replications: raw.initial_replications,
                    halving_factor: raw.halving_factor,
                },
                from: raw.from,
                format: raw.format,
                overrides,
                horizon: raw.horizon,
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
            overrides: with_horizon(raw.overrides, raw.horizon.clone()),
            horizon: raw.horizon,
            seed: raw.seed,
            jobs: raw.jobs.map(|n| n as usize),
            json: raw.json,
            junit: raw.junit,
            format: raw.format,
            quiet: raw.quiet,
        }),
        RawCommand::Headroom(raw) => {
            let mut overrides = with_horizon(raw.overrides, raw.horizon.clone());
            if let Some(seed) = raw.seed {
                overrides.push(format!("seed={seed}"));
            }
            Task::Headroom(HeadroomSettings {
                file: raw.file,
                key: raw.key,
                range: raw.range,
                tolerance: raw.tolerance,
                direction: raw.direction.map(|d| match d {
                    RawDirection::Max => sweep::headroom::Direction::Max,
                    RawDirection::Min => sweep::headroom::Direction::Min,
                }),
                replications: raw.replications,
                overrides,
                horizon: raw.horizon,
                out: raw.out,
                jobs: raw.jobs.map(|n| n as usize),
                format: raw.format,
                quiet: raw.quiet,
            })
        }
        RawCommand::Completions(raw) => Task::Completions(raw.shell),
        RawCommand::Man(raw) => Task::Man(ManSettings { out: raw.out }),
        RawCommand::Schema => Task::Schema,
        RawCommand::New(raw) => match raw.template {
            Some(template) if !raw.list => {
                let path = raw
                    .path
                    .unwrap_or_else(|| PathBuf::from(format!("{template}.toml")));
                Task::New(NewSettings::Write { template, path })
            }
            _ => Task::New(NewSettings::List),
        },
    })
}

/// `--horizon` with `--set run.horizon=...`, or `--seed` with `--set seed=...`, say one thing
/// two ways, and one of the two would be dropped without a word: a usage error (exit 2).
fn refuse_two_ways(
    overrides: &[String],
    horizon: Option<&str>,
    seed: Option<u64>,
) -> Result<(), clap::Error> {
    let set = |key: &str| {
        overrides
            .iter()
            .find(|o| sim::scenario::override_key(o).as_deref() == Some(key))
    };
    let conflict = match (horizon, set("run.horizon"), seed, set("seed")) {
        (Some(h), Some(o), ..) => Some(format!(
            "--horizon {h} and --set {o} both set the horizon: give one"
        )),
        (_, _, Some(s), Some(o)) => Some(format!(
            "--seed {s} and --set {o} both set the seed: give one"
        )),
        _ => None,
    };
    match conflict {
        Some(message) => {
            Err(RawArgs::command().error(clap::error::ErrorKind::ArgumentConflict, message))
        }
        None => Ok(()),
    }
}

/// `--horizon D` is `--set run.horizon=D`, applied after the `--set`s so it wins.
fn with_horizon(mut overrides: Vec<String>, horizon: Option<String>) -> Vec<String> {
    if let Some(horizon) = horizon {
        overrides.push(horizon_override(&horizon));
    }
    overrides
}

fn horizon_override(horizon: &str) -> String {
    format!("run.horizon={horizon}")
}

impl Task {
    /// How the messages of this task name the overrides the command line wrote for a flag, as
    /// (written, typed) pairs: the scenario's messages say `--set run.horizon=D`, but the user
    /// typed `--horizon D`. The pairing is exact: `--horizon` with a `--set` of `run.horizon`
    /// is refused (`refuse_two_ways`), so every mention of that override is the flag's.
    pub fn spellings(&self) -> Vec<(String, String)> {
        let horizon = match self {
            Task::Run(settings) => &settings.horizon,
            Task::Validate(settings) => &settings.horizon,
            Task::Sweep(settings) => &settings.horizon,
            Task::Diff(settings) => &settings.horizon,
            Task::Headroom(settings) => &settings.horizon,
            Task::Merge(_) | Task::Completions(_) | Task::Man(_) | Task::Schema | Task::New(_) => {
                &None
            }
        };
        horizon
            .iter()
            .map(|h| {
                (
                    format!("--set {}", horizon_override(h)),
                    format!("--horizon {h}"),
                )
            })
            .collect()
    }
}

/// `message` with each written spelling of `spellings` replaced by the typed one where it is a
/// whole word: followed by the end, a space or a colon (`--set run.horizon=1h` is not the
/// start of `--set run.horizon=1h30m`).
pub fn as_typed(message: &str, spellings: &[(String, String)]) -> String {
    let mut text = message.to_string();
    for (written, typed) in spellings {
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find(written.as_str()) {
            let after = &rest[at + written.len()..];
            let whole = after.is_empty() || after.starts_with([' ', ':', '\n']);
            out.push_str(&rest[..at]);
            out.push_str(if whole { typed } else { written });
            rest = after;
        }
        out.push_str(rest);
        text = out;
    }
    text
}

/// The whole command line as clap sees it, for the completion scripts and the man pages.
pub fn command() -> clap::Command {
    RawArgs::command()
}

/// The completion script of `shell` for `sim`.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let mut command = command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "sim", &mut script);
    script
}

/// The man pages: `sim.1` first, then one per subcommand (`sim-run.1`, ...), each as (file
/// name, roff text). The same pages `clap_mangen::generate_to` would write, rendered in memory
/// so the caller writes each one atomically.
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let mut command = command().disable_help_subcommand(true);
    command.build();
    let mut pages = vec![render_man_page(command.clone())];
    for subcommand in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages.push(render_man_page(subcommand.clone()));
    }
    pages
}

fn render_man_page(command: clap::Command) -> (String, Vec<u8>) {
    let man = clap_mangen::Man::new(command);
    let mut page = Vec::new();
    // Rendering into a Vec cannot fail: its writer never returns an error.
    man.render(&mut page)
        .expect("rendering a man page into memory cannot fail");
    (man.get_filename(), page)
}

/// `--grid` syntax is checked here (lists, ranges, units); the keys and values are checked by
/// the scenario loader when the sweep loads every point.
/// `--objective` names a sweep metric.
fn parse_objective(raw: &str) -> Result<usize, String> {
    sim::scenario::objective_index(raw.trim())
}

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

/// `--key` of `sim headroom`: a dotted key; the scenario loader checks that it exists.
fn parse_key(raw: &str) -> Result<String, String> {
    let key = raw.trim();
    if key.is_empty() || key.split('.').any(|s| s.trim().is_empty()) || key.contains('=') {
        return Err("expected a dotted key such as traffic.multiplier, without a value".into());
    }
    if key == "seed" {
        return Err("the seed is not a setting to search; replications vary it".into());
    }
    Ok(key.to_string())
}

/// `--range LO..HI`: two finite numbers, LO < HI.
fn parse_range(raw: &str) -> Result<(f64, f64), String> {
    let bad = || format!("expected LO..HI with finite numbers LO < HI, e.g. 0.5..4, found `{raw}`");
    let (lo, hi) = raw.split_once("..").ok_or_else(bad)?;
    let lo: f64 = lo.trim().parse().map_err(|_| bad())?;
    let hi: f64 = hi.trim().parse().map_err(|_| bad())?;
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(bad());
    }
    Ok((lo, hi))
}

/// `--tolerance X`: a finite number > 0.
fn parse_tolerance(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("expected a number > 0, e.g. 0.01, found `{raw}`")),
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
                horizon: None,
                seed: None,
                replications: 1,
                out: None,
                jobs: None,
                junit: None,
                format: Format::Text,
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
            "--jobs",
            "3",
            "--junit",
            "j.xml",
            "--format",
            "json",
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
        assert_eq!(settings.jobs, Some(3));
        assert_eq!(settings.junit, Some(PathBuf::from("j.xml")));
        assert_eq!(settings.format, Format::Json);
    }

    #[test]
    fn horizon_means_the_same_on_every_command_that_runs_or_checks_a_scenario() {
        let Ok(Task::Sweep(sweep)) = parse([
            "sim",
            "sweep",
            "s.toml",
            "--set",
            "a.b=1",
            "--horizon",
            "2h",
            "--seed",
            "3",
        ]) else {
            panic!("sweep")
        };
        assert_eq!(sweep.overrides, ["a.b=1", "run.horizon=2h", "seed=3"]);
        let Ok(Task::Diff(diff)) = parse(["sim", "diff", "a.toml", "b.toml", "--horizon", "2h"])
        else {
            panic!("diff")
        };
        assert_eq!(diff.overrides, ["run.horizon=2h"]);
        let Ok(Task::Validate(validate)) = parse(["sim", "validate", "a.toml", "--horizon", "2h"])
        else {
            panic!("validate")
        };
        assert_eq!(validate.overrides, ["run.horizon=2h"]);
        for command in ["sweep", "diff", "validate"] {
            let mut args = vec!["sim", command, "a.toml"];
            if command == "diff" {
                args.push("b.toml");
            }
            args.extend(["--horizon", ""]);
            assert!(parse(args).is_err(), "{command} --horizon ''");
        }
    }

    /// A message about the override `--horizon D` stands for names `--horizon D`, on every
    /// command that takes it; a real `--set` keeps its own name.
    #[test]
    fn horizon_messages_name_the_flag_as_typed() {
        for args in [
            &["sim", "run", "a.toml"][..],
            &["sim", "validate", "a.toml"],
            &["sim", "sweep", "a.toml"],
            &["sim", "diff", "a.toml", "b.toml"],
            &["sim", "headroom", "a.toml", "--key", "traffic.multiplier"],
        ] {
            let mut with_flag = args.to_vec();
            with_flag.extend(["--horizon", "0.5ns"]);
            let task = parse(with_flag).unwrap();
            let spellings = task.spellings();
            assert_eq!(
                as_typed(
                    "a.toml: --set run.horizon=0.5ns: run.horizon: invalid duration",
                    &spellings
                ),
                "a.toml: --horizon 0.5ns: run.horizon: invalid duration",
                "{args:?}"
            );
            let mut with_set = args.to_vec();
            with_set.extend(["--set", "run.horizon=0.5ns"]);
            assert_eq!(parse(with_set).unwrap().spellings(), [], "{args:?}");
        }
        let spellings = [(
            "--set run.horizon=1h".to_string(),
            "--horizon 1h".to_string(),
        )];
        assert_eq!(
            as_typed(
                "--set run.horizon=1h conflicts; --set run.horizon=1h30m: x\n--set run.horizon=1h",
                &spellings
            ),
            "--horizon 1h conflicts; --set run.horizon=1h30m: x\n--horizon 1h"
        );
        assert_eq!(
            parse(["sim", "merge", "a", "--out", "m"])
                .unwrap()
                .spellings(),
            []
        );
    }

    #[test]
    fn quiet_is_accepted_by_every_command_that_prints_results() {
        for args in [
            &["sim", "run", "a.toml", "-q"][..],
            &["sim", "sweep", "a.toml", "-q"],
            &["sim", "merge", "a", "--out", "m", "-q"],
            &["sim", "diff", "a.toml", "b.toml", "-q"],
            &[
                "sim",
                "headroom",
                "a.toml",
                "--key",
                "traffic.multiplier",
                "-q",
            ],
        ] {
            assert!(parse(args.iter().copied()).is_ok(), "{args:?}");
        }
    }

    #[test]
    fn completions_and_man_are_generated_from_the_same_definitions() {
        assert_eq!(
            parse(["sim", "completions", "zsh"]).unwrap(),
            Task::Completions(Shell::Zsh)
        );
        assert!(parse(["sim", "completions", "tcsh"]).is_err());
        assert_eq!(
            parse(["sim", "man", "--out", "m"]).unwrap(),
            Task::Man(ManSettings {
                out: Some(PathBuf::from("m"))
            })
        );
        let names: Vec<String> = man_pages().into_iter().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            [
                "sim.1",
                "sim-run.1",
                "sim-validate.1",
                "sim-sweep.1",
                "sim-merge.1",
                "sim-diff.1",
                "sim-headroom.1",
                "sim-completions.1",
                "sim-man.1",
                "sim-schema.1",
                "sim-new.1"
            ]
        );
    }

    #[test]
    fn new_takes_a_known_template_and_an_optional_path() {
        assert_eq!(parse(["sim", "schema"]).unwrap(), Task::Schema);
        assert_eq!(
            parse(["sim", "new", "--list"]).unwrap(),
            Task::New(NewSettings::List)
        );
        assert_eq!(
            parse(["sim", "new", "-t", "minimal"]).unwrap(),
            Task::New(NewSettings::Write {
                template: "minimal".into(),
                path: PathBuf::from("minimal.toml")
            })
        );
        assert_eq!(
            parse(["sim", "new", "--template", "underwriting", "s/u.toml"]).unwrap(),
            Task::New(NewSettings::Write {
                template: "underwriting".into(),
                path: PathBuf::from("s/u.toml")
            })
        );
        assert!(parse(["sim", "new", "--template", "nope"]).is_err());
        assert!(parse(["sim", "new"]).is_err());
        assert!(parse(["sim", "new", "--list", "--template", "minimal"]).is_err());
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
            "--objective",
            "cost_total_usd",
            "--format",
            "json",
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
            "--search",
            "halving",
            "--initial-replications",
            "2",
            "--halving-factor",
            "3",
            "--from",
            "m",
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
                objective: sweep::metrics::metric_index("cost_total_usd"),
                search: sim::scenario::SearchTable {
                    halving: Some(true),
                    initial_replications: Some(2),
                    halving_factor: Some(3),
                },
                from: Some(PathBuf::from("m")),
                format: Format::Json,
                overrides: vec!["run.horizon=1h".into(), "seed=9".into()],
                horizon: None,
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
        assert_eq!(defaults.objective, None);
        assert_eq!(defaults.format, Format::Text);
        assert_eq!(defaults.jobs, None);
        assert_eq!(defaults.search, sim::scenario::SearchTable::default());
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
        let task = parse([
            "sim", "diff", "a.toml", "b.toml", "--json", "d.json", "--junit", "j.xml", "--format",
            "json", "--quiet",
        ])
        .unwrap();
        assert_eq!(
            task,
            Task::Diff(DiffSettings {
                a: PathBuf::from("a.toml"),
                b: PathBuf::from("b.toml"),
                replications: 10,
                overrides: vec![],
                horizon: None,
                seed: None,
                jobs: None,
                json: Some(PathBuf::from("d.json")),
                junit: Some(PathBuf::from("j.xml")),
                format: Format::Json,
                quiet: true,
            })
        );
    }

    #[test]
    fn headroom_flags_become_settings() {
        let task = parse([
            "sim",
            "headroom",
            "s.toml",
            "--key",
            "traffic.multiplier",
            "--range",
            "0.5..3",
            "--tolerance",
            "0.05",
            "--direction",
            "max",
            "--replications",
            "3",
            "--set",
            "a.b=1",
            "--horizon",
            "2h",
            "--seed",
            "4",
            "--jobs",
            "2",
            "--out",
            "o",
            "--format",
            "json",
            "-q",
        ])
        .unwrap();
        assert_eq!(
            task,
            Task::Headroom(HeadroomSettings {
                file: PathBuf::from("s.toml"),
                key: "traffic.multiplier".into(),
                range: Some((0.5, 3.0)),
                tolerance: Some(0.05),
                direction: Some(sweep::headroom::Direction::Max),
                replications: 3,
                overrides: vec!["a.b=1".into(), "run.horizon=2h".into(), "seed=4".into()],
                horizon: Some("2h".into()),
                out: Some(PathBuf::from("o")),
                jobs: Some(2),
                format: Format::Json,
                quiet: true,
            })
        );
        let Ok(Task::Headroom(defaults)) = parse(["sim", "headroom", "s.toml", "--key", "k.x"])
        else {
            panic!("headroom with defaults")
        };
        assert_eq!(defaults.replications, 5);
        assert_eq!(
            (defaults.range, defaults.tolerance, defaults.direction),
            (None, None, None)
        );
        for args in [
            &["sim", "headroom", "s.toml"][..],
            &["sim", "headroom", "s.toml", "--key", "a.b=1"],
            &["sim", "headroom", "s.toml", "--key", "a..b"],
            &["sim", "headroom", "s.toml", "--key", "seed"],
            &["sim", "headroom", "s.toml", "--key", "k", "--range", "3..1"],
            &[
                "sim", "headroom", "s.toml", "--key", "k", "--range", "1..inf",
            ],
            &[
                "sim", "headroom", "s.toml", "--key", "k", "--range", "NaN..1",
            ],
            &[
                "sim",
                "headroom",
                "s.toml",
                "--key",
                "k",
                "--tolerance",
                "-1",
            ],
            &[
                "sim",
                "headroom",
                "s.toml",
                "--key",
                "k",
                "--direction",
                "up",
            ],
        ] {
            let error = parse(args.iter().copied()).expect_err(&format!("{args:?}"));
            assert!(error.use_stderr(), "{args:?} should be a usage error");
        }
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
            &["sim", "sweep", "a.toml", "--search", "bisect"],
            &["sim", "sweep", "a.toml", "--halving-factor", "1"],
            &["sim", "sweep", "a.toml", "--initial-replications", "0"],
            &["sim", "merge", "a"],
            &["sim", "merge", "--out", "m"],
            &["sim", "diff", "a.toml"],
            &["sim", "diff", "a.toml", "b.toml", "--replications", "0"],
            &["sim", "diff", "a.toml", "b.toml", "--format", "xml"],
            &["sim", "run", "a.toml", "--jobs", "0"],
            &["sim", "completions"],
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
