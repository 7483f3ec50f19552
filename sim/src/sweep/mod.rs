//! Sweeps: many runs of one scenario over a grid of settings and replications, in parallel,
//! with statistics per grid point; shards across machines and their merge; and `diff`, the
//! paired comparison of two scenarios that gates a config change in CI.
//!
//! The contract:
//! - One run per rayon task, never parallel inside a run. Results are collected in run order
//!   (point, then replication) and every statistic is reduced on one thread in that order, so
//!   outputs are byte-identical whatever the thread count or completion order.
//! - Replication r of every grid point runs with `replication_seed(base_seed, r)`: common random
//!   numbers, so points differ only by their settings, not by their customers.
//! - Every file is written atomically (`.NAME.tmp`, then rename). Each finished run is saved
//!   at once as `runs/<point>-<replication>.json`, which `--resume` reuses when the scenario
//!   hash, program version and build (`output::build_id`), parameters and seed all match. The
//!   scenario hash covers every input byte: the program version, the scenario file, the
//!   `--set` values and the contents of every CSV any grid point reads.
//!
//! The model is reached through the `SweepModel` trait so that the machinery can be tested with
//! a fake, fast, deterministic model; `Fleet` is the real one (`scenario::load` + `model::run`).

pub mod diff;
pub mod grid;
pub mod halving;
pub mod headroom;
pub mod merge;
pub mod metrics;
pub mod output;
pub mod plan;
pub mod plot;

pub use crate::metrics::stats::{self, Stats};
pub use diff::{DiffReport, diff, diff_with};
pub use grid::{Axis, Grid, GridError, parse_grid_arg};
pub use halving::{Halving, Search};
pub use merge::merge;
pub use metrics::{METRICS, Metric, RunMetrics};
pub use plan::{Plan, RunId, Shard};

use crate::output::text::count;
use crate::scenario::Scenario;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// How a sweep reaches the simulator: load a scenario with overrides, run it with a seed.
pub trait SweepModel: Sync {
    type Scenario: Sync;
    /// The scenario with `overrides` (`"dotted.key=value"`) applied; errors one per line.
    fn load(&self, overrides: &[String]) -> Result<Self::Scenario, String>;
    /// Every point of `grid`, in point order, or every problem of every invalid point (each
    /// message once). By default each point is loaded with its overrides.
    fn load_points(&self, grid: &Grid) -> Result<Vec<Self::Scenario>, Vec<String>>
    where
        Self: Sized,
        Self::Scenario: Send,
    {
        load_each(self, grid)
    }
    /// The scenario's name and master seed.
    fn describe(&self, scenario: &Self::Scenario) -> (String, u64);
    /// One run with `seed` in place of the scenario's own seed.
    fn run(&self, scenario: &Self::Scenario, seed: u64) -> Result<RunMetrics, String>;
    /// Files the scenario read besides the scenario file itself (CSV traces and empirical
    /// distributions), whose bytes the sweep's scenario hash covers.
    fn input_files(&self, scenario: &Self::Scenario) -> Vec<PathBuf> {
        let _ = scenario;
        Vec::new()
    }
    /// The command that reruns one run alone: the scenario with `overrides` and `seed`.
    /// `None` when the model has no command line (test models).
    fn reproduce(&self, overrides: &[String], seed: u64) -> Option<String> {
        let _ = (overrides, seed);
        None
    }
    /// The scenario's fleet-wide SLO limits as (metric name, at most), for the figures to
    /// draw; a metric with several SLOs gives its tightest limit.
    fn slo_limits(&self, scenario: &Self::Scenario) -> Vec<SloLimit> {
        let _ = scenario;
        Vec::new()
    }
}

/// Every point of `grid` loaded with its overrides, in point order, or every distinct error
/// line of every invalid point.
fn load_each<M: SweepModel>(model: &M, grid: &Grid) -> Result<Vec<M::Scenario>, Vec<String>>
where
    M::Scenario: Send,
{
    let loaded: Vec<Result<M::Scenario, String>> = (0..grid.len())
        .into_par_iter()
        .map(|p| catch_panic(|| model.load(&grid.overrides(p))))
        .collect();
    let mut errors: Vec<String> = Vec::new();
    for message in loaded.iter().filter_map(|r| r.as_ref().err()) {
        for line in message.lines() {
            if !errors.iter().any(|e| e == line) {
                errors.push(line.to_string());
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(loaded.into_iter().flatten().collect())
}

/// An SLO's bound on a swept metric (`metric` as in `METRICS`), the same at every grid point.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SloLimit {
    pub metric: String,
    pub max: f64,
}

/// The limits every point shares (a grid that sweeps an SLO's own limit has no single line to
/// draw), in the first point's order.
fn common_slo_limits(per_point: &[Vec<SloLimit>]) -> Vec<SloLimit> {
    let Some((first, rest)) = per_point.split_first() else {
        return Vec::new();
    };
    first
        .iter()
        .filter(|limit| rest.iter().all(|other| other.contains(limit)))
        .cloned()
        .collect()
}

/// Runs `work`, turning a panic into an error that says it is a bug, so that one run's panic
/// becomes a reported failure with its seed instead of exit 101.
pub fn catch_panic<T>(work: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(panic) => {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(format!("bug: the model panicked: {why}"))
        }
    }
}

/// A test hook: when the environment variable `SIM_TEST_PANIC_SEED` holds `seed`, panic. The
/// tests use it to check that a panic in any run of any command is caught and reported with
/// the seed and the command that reproduces it. Read once per process; never set it otherwise.
pub fn injected_panic(seed: u64) {
    static PANIC_SEED: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    let target = PANIC_SEED.get_or_init(|| {
        std::env::var("SIM_TEST_PANIC_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
    });
    if *target == Some(seed) {
        panic!("injected panic for seed {seed} (SIM_TEST_PANIC_SEED)");
    }
}

/// The real model: a scenario file plus `--set` overrides, run by `model::run`.
#[derive(Clone, Debug, Default)]
pub struct Fleet {
    pub path: PathBuf,
    /// `--set` overrides, applied before each grid point's own.
    pub overrides: Vec<String>,
    /// The file read for a sweep: its grid points are loaded from it, each key and value
    /// located where it was written (`[sweep].grid` or `--grid`).
    pub source: Option<std::sync::Arc<crate::scenario::SweepSource>>,
}

/// Above this many bytes of scenario file times grid points, a sweep does not keep every
/// point's resolved scenario: it keeps what it reports of each (name, seed, SLO limits, input
/// files) and resolves the point again for each of its runs. A resolved point takes about twice
/// its file's bytes (320 KB for a 180 KB file of 1,000 steps), so points kept whole stay under
/// about 130 MB; a typical 5 to 10 KB file keeps every point of the largest grid (10,000). A
/// point resolves in well under its run's time (a few milliseconds for the 1,000-step file:
/// `sim validate` checked 2,000 of its points in 6.6 s on 2 threads).
pub const LAZY_POINTS_ABOVE_BYTES: usize = 64 << 20;

/// A grid point of the real model: its resolved scenario, or for a grid too large to hold
/// every resolved point (`LAZY_POINTS_ABOVE_BYTES`), what the sweep reports of it and where to
/// resolve it again.
#[derive(Clone, Debug)]
pub enum FleetPoint {
    Resolved(Box<Scenario>),
    Lazy(Box<LazyPoint>),
}

/// A point resolved again for each run: from the file read once (its tree and CSV columns).
#[derive(Clone, Debug)]
pub struct LazyPoint {
    source: std::sync::Arc<crate::scenario::SweepSource>,
    index: usize,
    name: String,
    seed: u64,
    slo_limits: Vec<SloLimit>,
    input_files: Vec<PathBuf>,
}

impl FleetPoint {
    fn lazy(
        source: &std::sync::Arc<crate::scenario::SweepSource>,
        index: usize,
        s: &Scenario,
    ) -> Self {
        FleetPoint::Lazy(Box::new(LazyPoint {
            source: std::sync::Arc::clone(source),
            index,
            name: s.name.clone(),
            seed: s.seed,
            slo_limits: slo_limits_of(s),
            input_files: input_files_of(s),
        }))
    }
}

impl Fleet {
    /// `load_points`, keeping points whole up to `lazy_above` bytes of file times points.
    pub fn load_points_keeping(
        &self,
        grid: &Grid,
        lazy_above: usize,
    ) -> Result<Vec<FleetPoint>, Vec<String>> {
        match &self.source {
            Some(source) if source.grid == *grid => {
                let lazy = source.file_bytes().saturating_mul(grid.len()) > lazy_above;
                catch_panic(|| {
                    source
                        .load_points_with(|index, scenario| {
                            if lazy {
                                FleetPoint::lazy(source, index, &scenario)
                            } else {
                                FleetPoint::Resolved(Box::new(scenario))
                            }
                        })
                        .map_err(|errors| errors.to_string())
                })
                .map_err(|errors| errors.lines().map(str::to_string).collect())
            }
            _ => load_each(self, grid),
        }
    }
}

impl SweepModel for Fleet {
    type Scenario = FleetPoint;

    fn load(&self, overrides: &[String]) -> Result<FleetPoint, String> {
        let mut all = self.overrides.clone();
        all.extend_from_slice(overrides);
        crate::scenario::load(&self.path, &all)
            .map(|s| FleetPoint::Resolved(Box::new(s)))
            .map_err(|e| e.to_string())
    }

    fn load_points(&self, grid: &Grid) -> Result<Vec<FleetPoint>, Vec<String>> {
        self.load_points_keeping(grid, LAZY_POINTS_ABOVE_BYTES)
    }

    fn describe(&self, point: &FleetPoint) -> (String, u64) {
        match point {
            FleetPoint::Resolved(s) => (s.name.clone(), s.seed),
            FleetPoint::Lazy(p) => (p.name.clone(), p.seed),
        }
    }

    fn run(&self, point: &FleetPoint, seed: u64) -> Result<RunMetrics, String> {
        injected_panic(seed);
        let mut scenario = match point {
            FleetPoint::Resolved(s) => (**s).clone(),
            FleetPoint::Lazy(p) => p
                .source
                .point_scenario(p.index)
                .map_err(|e| format!("bug: a checked point no longer resolves: {e}"))?,
        };
        scenario.seed = seed;
        crate::model::run(&scenario)
            .map(|output| RunMetrics::from_summary(&output.summary))
            .map_err(|e| e.to_string())
    }

    fn slo_limits(&self, point: &FleetPoint) -> Vec<SloLimit> {
        match point {
            FleetPoint::Resolved(s) => slo_limits_of(s),
            FleetPoint::Lazy(p) => p.slo_limits.clone(),
        }
    }

    fn input_files(&self, point: &FleetPoint) -> Vec<PathBuf> {
        match point {
            FleetPoint::Resolved(s) => input_files_of(s),
            FleetPoint::Lazy(p) => p.input_files.clone(),
        }
    }

    fn reproduce(&self, overrides: &[String], seed: u64) -> Option<String> {
        let mut all = self.overrides.clone();
        all.extend_from_slice(overrides);
        Some(crate::output::text::reproduce_command(
            &self.path, &all, seed,
        ))
    }
}

/// The scenario's fleet-wide SLO limits as (metric name, at most), the tightest per metric.
fn slo_limits_of(scenario: &Scenario) -> Vec<SloLimit> {
    let mut limits: Vec<SloLimit> = Vec::new();
    for slo in scenario.slos.iter().filter(|slo| slo.workload.is_none()) {
        let metric = slo.metric.name;
        match limits.iter_mut().find(|limit| limit.metric == metric) {
            Some(limit) => limit.max = limit.max.min(slo.max),
            None => limits.push(SloLimit {
                metric: metric.to_string(),
                max: slo.max,
            }),
        }
    }
    limits
}

/// Every `csv` path in the resolved scenario, found by walking its serialised form, so a new
/// CSV-backed key is covered without a list to keep up to date.
pub fn input_files_of(scenario: &Scenario) -> Vec<PathBuf> {
    fn walk(value: &serde_json::Value, found: &mut Vec<PathBuf>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    match value {
                        serde_json::Value::String(path) if key == "csv" => {
                            found.push(PathBuf::from(path))
                        }
                        other => walk(other, found),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    if let Ok(value) = serde_json::to_value(scenario) {
        walk(&value, &mut found);
    }
    found
}

/// How to run a sweep (the CLI's flags, validated).
#[derive(Clone, Debug)]
pub struct SweepConfig {
    pub grid: Grid,
    pub replications: u32,
    /// Run only this shard's runs and write shard outputs (for `merge`).
    pub shard: Option<Shard>,
    /// Reuse `runs/<point>-<replication>.json` results of the same scenario hash.
    pub resume: bool,
    /// Worker threads; `None` uses rayon's global pool (all cores).
    pub threads: Option<usize>,
    /// Show a progress bar on stderr (only drawn when stderr is a terminal).
    pub progress: bool,
    /// Write the figures.
    pub plots: bool,
    /// The scenario's results folder; files go to `<out_dir>/sweep/`.
    pub out_dir: PathBuf,
    /// `scenario_hash(file bytes, --set overrides)`; the sweep extends it with the bytes of
    /// every CSV the grid points read (`with_input_files`).
    pub scenario_hash: String,
    /// The `--set` arguments the points were loaded with (`--horizon` as `run.horizon=...`;
    /// not `--seed`, which is `base_seed`), for the command that reruns the sweep.
    pub overrides: Vec<String>,
    /// The metric minimised subject to the SLOs (an index into `METRICS`).
    pub objective: usize,
    /// Every point at every replication, or successive halving.
    pub search: Search,
    /// A halving search carried on from the merged runs of its earlier rounds (`--from`, the
    /// `--out` folder of `sim merge`).
    pub from: Option<PathBuf>,
}

/// Why a sweep, a merge or a diff did not complete. The binary maps every variant to exit 2.
#[derive(Debug)]
pub enum SweepError {
    Grid(GridError),
    /// The scenario did not load for some grid point (each message once).
    Scenario(Vec<String>),
    /// A file read or drawn that failed (`path: why`).
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// An output that could not be written (`path: cannot write: why`).
    Output(crate::output::OutputError),
    /// Runs that failed, in run order (first few), and how many failed in all.
    RunFailed {
        failures: Vec<String>,
        count: usize,
    },
    /// Shards that do not belong together, or a damaged output folder.
    Merge(String),
    Usage(String),
}

impl fmt::Display for SweepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SweepError::Grid(e) => write!(f, "{e}"),
            SweepError::Scenario(messages) => write!(f, "{}", messages.join("\n")),
            SweepError::Output(e) => write!(f, "{e}"),
            SweepError::Io { path, error } => write!(
                f,
                "{}: {}",
                path.display(),
                crate::output::lowercase_first(&error.to_string())
            ),
            SweepError::RunFailed { failures, count } => {
                write!(
                    f,
                    "{} failed:",
                    crate::output::text::count(*count as u64, "run")
                )?;
                for failure in failures {
                    write!(f, "\n  {failure}")?;
                }
                Ok(())
            }
            SweepError::Merge(why) => write!(f, "cannot merge: {why}"),
            SweepError::Usage(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for SweepError {}

impl From<crate::output::OutputError> for SweepError {
    fn from(e: crate::output::OutputError) -> Self {
        SweepError::Output(e)
    }
}

impl From<GridError> for SweepError {
    fn from(e: GridError) -> Self {
        SweepError::Grid(e)
    }
}

/// An input file's bytes, refusing what is not a regular file (a FIFO would block) or is larger
/// than `max_bytes`, as the scenario loader does.
fn read_bounded(path: &Path, max_bytes: usize) -> Result<Vec<u8>, SweepError> {
    crate::scenario::read_input_file(path, max_bytes)
        .map_err(|e| SweepError::Scenario(vec![format!("{}: {e}", path.display())]))
}

/// 64-bit FNV-1a of the program version, the scenario file's bytes and the `--set` overrides,
/// as 16 hex digits. With `with_input_files` (the bytes of every CSV the scenario reads) it
/// identifies "the same scenario" for `--resume` and `merge`.
pub fn scenario_hash(file_bytes: &[u8], overrides: &[String]) -> String {
    let mut hash = Fnv::new();
    hash.eat(crate::VERSION.as_bytes());
    hash.eat(&[0xff]);
    hash.eat(file_bytes);
    for o in overrides {
        hash.eat(&[0xff]);
        hash.eat(o.as_bytes());
    }
    hash.hex()
}

/// `base` (a `scenario_hash`) extended with the contents of `files`, in order; `base` itself
/// when there are none. A file that cannot be read is an error naming it.
pub fn with_input_files(base: &str, files: &[PathBuf]) -> Result<String, SweepError> {
    if files.is_empty() {
        return Ok(base.to_string());
    }
    let mut hash = Fnv::new();
    hash.eat(base.as_bytes());
    for file in files {
        let bytes = read_bounded(file, crate::scenario::limits::MAX_CSV_FILE_BYTES)?;
        hash.eat(&[0xfe]);
        hash.eat(&(bytes.len() as u64).to_le_bytes());
        hash.eat(&bytes);
    }
    Ok(hash.hex())
}

/// 64-bit FNV-1a: identifies inputs, not a defence against anyone.
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn eat(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// The replication count of a sweep (`--replications`, else `sweep.replications`, else 1),
/// checked with the grid's size against the limits.
pub fn check_plan(
    grid: &Grid,
    file_replications: Option<u32>,
    replications: Option<u32>,
) -> Result<u32, GridError> {
    let replications = replications
        .or(file_replications)
        .unwrap_or(grid::DEFAULT_REPLICATIONS);
    if replications == 0 || replications > grid::MAX_REPLICATIONS {
        return Err(GridError {
            message: format!("--replications must be in 1..={}", grid::MAX_REPLICATIONS),
        });
    }
    let points = grid.check_size()? as u64;
    let runs = points.saturating_mul(u64::from(replications));
    if runs > grid::MAX_RUNS {
        return Err(GridError {
            message: format!(
                "the sweep has {} x {} = {}, more than the limit of {}: use fewer grid values \
                 or fewer replications",
                count(points, "point"),
                count(replications, "replication"),
                count(runs, "run"),
                grid::MAX_RUNS
            ),
        });
    }
    Ok(replications)
}

/// One finished run as the sweep keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    pub point: usize,
    pub replication: u32,
    pub seed: u64,
    /// In `METRICS` order.
    pub values: [f64; metrics::METRIC_COUNT],
    /// Names of the SLOs that failed; empty when every SLO held.
    pub slo_failed: Vec<String>,
}

impl RunRecord {
    pub fn slo_ok(&self) -> bool {
        self.slo_failed.is_empty()
    }
}

/// What the sweep's files describe, besides the runs.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepMeta {
    pub scenario: String,
    pub version: String,
    pub scenario_hash: String,
    pub base_seed: u64,
    /// The `--set` arguments of the sweep (`SweepConfig::overrides`).
    pub overrides: Vec<String>,
    pub grid: Grid,
    pub replications: u32,
    pub shard: Option<Shard>,
    /// Fleet-wide SLO limits shared by every point, drawn on the figures.
    pub slo_limits: Vec<SloLimit>,
    /// The metric minimised subject to the SLOs (an index into `METRICS`).
    pub objective: usize,
    pub search: Search,
    /// A shard of a halving search: the round it ran.
    pub round: Option<u32>,
    /// A merged halving search that is not over: the round to run next (`--from`).
    pub next_round: Option<u32>,
}

impl SweepMeta {
    /// The SLO limit on the metric named `metric`, if every point has the same one.
    pub fn slo_limit(&self, metric: &str) -> Option<f64> {
        self.slo_limits
            .iter()
            .find(|limit| limit.metric == metric)
            .map(|limit| limit.max)
            .filter(|max| max.is_finite())
    }

    pub fn plan(&self) -> Plan {
        Plan {
            points: self.grid.len(),
            replications: self.replications,
            base_seed: self.base_seed,
        }
    }
}

/// Statistics of one grid point over its replications.
#[derive(Clone, Debug, PartialEq)]
pub struct PointResult {
    pub index: usize,
    pub parameters: Vec<(String, String)>,
    /// In `METRICS` order.
    pub stats: Vec<Stats>,
    /// Replications run for this point: the sweep's count, or fewer for a point a halving
    /// search eliminated.
    pub replications: usize,
    /// Fraction of its replications in which every SLO held.
    pub slo_feasible_fraction: f64,
    /// Every replication (of the sweep's full count) met every SLO.
    pub feasible: bool,
    /// The objective in each replication, in replication order: what the paired comparison
    /// with the best point reads.
    pub objective_runs: Vec<f64>,
    /// When a halving search eliminated the point.
    pub eliminated: Option<halving::Elimination>,
}

/// Per-point statistics from all runs (in run order), and the best feasible point: the feasible
/// point with the lowest mean of the objective, the lowest index on a tie. A grid sweep has every
/// run; a halving search the runs of its rounds, and its eliminated points are not feasible
/// (they did not reach the full replication count).
pub fn summarise(meta: &SweepMeta, records: &[RunRecord]) -> (Vec<PointResult>, Option<usize>) {
    let full = meta.replications as usize;
    let eliminated: Vec<Option<halving::Elimination>> = match meta.search {
        Search::Grid => {
            assert_eq!(
                records.len(),
                meta.grid.len() * full,
                "summarise needs every run"
            );
            vec![None; meta.grid.len()]
        }
        Search::Halving(h) => {
            halving::progress(
                h,
                meta.grid.len(),
                meta.replications,
                meta.objective,
                records,
            )
            .expect("summarise needs the runs of whole rounds")
            .eliminated
        }
    };
    let mut by_point: Vec<Vec<&RunRecord>> = vec![Vec::new(); meta.grid.len()];
    for record in records {
        by_point[record.point].push(record);
    }
    let mut points = Vec::with_capacity(meta.grid.len());
    for (index, runs) in by_point.iter().enumerate() {
        assert!(!runs.is_empty(), "every point has a run");
        let stats = (0..metrics::METRIC_COUNT)
            .map(|m| Stats::of(&runs.iter().map(|r| r.values[m]).collect::<Vec<_>>()))
            .collect();
        let ok = runs.iter().filter(|r| r.slo_ok()).count();
        let mut by_replication: Vec<&&RunRecord> = runs.iter().collect();
        by_replication.sort_by_key(|r| r.replication);
        let objective_runs = by_replication
            .iter()
            .map(|r| r.values[meta.objective])
            .collect();
        points.push(PointResult {
            index,
            parameters: meta.grid.point(index),
            stats,
            replications: runs.len(),
            slo_feasible_fraction: ok as f64 / runs.len() as f64,
            feasible: ok == full && runs.len() == full,
            objective_runs,
            eliminated: eliminated[index],
        });
    }
    let objective = meta.objective;
    let mut best: Option<usize> = None;
    for p in points.iter().filter(|p| p.feasible) {
        let value = p.stats[objective].mean;
        if best.is_none_or(|b| value < points[b].stats[objective].mean) {
            best = Some(p.index);
        }
    }
    (points, best)
}

/// What a sweep (or merge) produced.
#[derive(Clone, Debug)]
pub struct SweepOutcome {
    /// `<out>/sweep/`.
    pub dir: PathBuf,
    pub meta: SweepMeta,
    /// Empty for a shard.
    pub points: Vec<PointResult>,
    pub cheapest_feasible: Option<usize>,
    /// Runs simulated by this call.
    pub runs_executed: usize,
    /// Runs read back from files: `--resume` hits, or every run of a merge.
    pub runs_resumed: usize,
    /// The runs behind the results: every run of a grid sweep; a halving search's runs so
    /// far (those of `--from` included).
    pub runs_total: usize,
    /// A halving search: its completed rounds, and the points still in it.
    pub rounds: usize,
    pub points_left: usize,
}

impl SweepOutcome {
    /// The points, feasible first, each group by the objective (then point number): the rows of
    /// the stdout table and of `--format json`.
    pub fn ranked_points(&self) -> Vec<&PointResult> {
        let objective = self.meta.objective;
        let mut ranked: Vec<&PointResult> = self.points.iter().collect();
        ranked.sort_by(|a, b| {
            (!a.feasible)
                .cmp(&!b.feasible)
                .then(a.stats[objective].mean.total_cmp(&b.stats[objective].mean))
                .then(a.index.cmp(&b.index))
        });
        ranked
    }

    /// Every point as a table: its swept values, the objective with its 95% CI, feasibility
    /// and the key metrics, ranked by `ranked_points`.
    pub fn points_table(&self) -> String {
        let objective = self.meta.objective;
        let keys: Vec<&str> = self.meta.grid.axes.iter().map(|a| a.key.as_str()).collect();
        let columns = metrics::table_columns(objective);
        let mut header: Vec<String> = vec!["point".into()];
        header.extend(keys.iter().map(|k| k.to_string()));
        header.push(format!("{} (objective)", METRICS[objective].name));
        header.push("feasible".into());
        header.extend(columns.iter().map(|&m| METRICS[m].name.to_string()));
        let rows: Vec<Vec<String>> = self
            .ranked_points()
            .into_iter()
            .map(|p| {
                let mut row = vec![format!("#{}", p.index)];
                row.extend(p.parameters.iter().map(|(_, v)| v.clone()));
                row.push(metrics::show_with_ci(
                    METRICS[objective],
                    &p.stats[objective],
                ));
                row.push(match p.eliminated {
                    _ if p.feasible => "yes".into(),
                    Some(e) => format!("eliminated: {}", e.describe()),
                    None => format!("no ({:.0}% ok)", p.slo_feasible_fraction * 100.0),
                });
                row.extend(
                    columns
                        .iter()
                        .map(|&m| crate::output::text::number(p.stats[m].mean)),
                );
                row
            })
            .collect();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        crate::output::text::table(&header, rows)
    }

    /// What the text summary and table say, as one JSON object (`sim sweep --format json`):
    /// the objective, the best feasible point and every point in table order, each with its
    /// swept values, the objective's statistics, feasibility and the key metrics' statistics.
    pub fn points_json(&self) -> serde_json::Value {
        use serde_json::{Map, Value, json};
        let objective = self.meta.objective;
        let stats_json = |s: &Stats| json!({"mean": s.mean, "sd": s.sd, "ci95": s.ci95});
        let best = self.cheapest_feasible;
        let points: Vec<Value> = self
            .ranked_points()
            .into_iter()
            .map(|p| {
                let mut parameters = Map::new();
                for (k, v) in &p.parameters {
                    parameters.insert(k.clone(), Value::String(v.clone()));
                }
                let mut key_metrics = Map::new();
                for m in metrics::table_columns(objective) {
                    key_metrics.insert(METRICS[m].name.to_string(), stats_json(&p.stats[m]));
                }
                let indistinguishable = best.is_some_and(|b| {
                    b != p.index
                        && p.feasible
                        && stats::paired_indistinguishable(
                            &self.points[b].objective_runs,
                            &p.objective_runs,
                        )
                });
                let mut point = json!({
                    "point": p.index,
                    "parameters": parameters,
                    "objective": stats_json(&p.stats[objective]),
                    "feasible": p.feasible,
                    "slo_feasible_fraction": p.slo_feasible_fraction,
                    "indistinguishable_from_best": indistinguishable,
                    "replications_to_separate": if indistinguishable {
                        best.and_then(|b| stats::paired_replications_to_separate(
                            &self.points[b].objective_runs,
                            &p.objective_runs,
                            grid::MAX_REPLICATIONS as usize,
                        ))
                    } else {
                        None
                    },
                    "metrics": key_metrics,
                });
                if !self.meta.search.is_grid() {
                    point["replications"] = json!(p.replications);
                    point["eliminated"] = json!(p.eliminated.map(|e| e.describe()));
                }
                point
            })
            .collect();
        let mut report = json!({
            "scenario": self.meta.scenario,
            "objective": METRICS[objective].name,
            "replications": self.meta.replications,
            "best_feasible_point": best,
            "points": points,
            "outputs": self.dir.display().to_string(),
        });
        if let Search::Halving(h) = self.meta.search {
            report["search"] = json!({
                "kind": "halving",
                "initial_replications": h.initial_replications,
                "factor": h.factor,
                "rounds": self.rounds,
                "runs": self.runs_total,
                "grid_runs": self.meta.plan().total_runs(),
            });
        }
        report
    }

    /// The human summary for stdout.
    pub fn summary_text(&self) -> String {
        let plan = self.meta.plan();
        let mut text = String::new();
        if let (Some(shard), Some(round)) = (self.meta.shard, self.meta.round) {
            text += &format!(
                "sweep {} shard {shard}, halving round {round}: {} done ({} reused from earlier \
                 results or --from); merge the round's shards with `sim merge`\n",
                self.meta.scenario,
                count((self.runs_executed + self.runs_resumed) as u64, "run"),
                self.runs_resumed,
            );
            return text;
        }
        if let Some(next) = self.meta.next_round {
            text += &format!(
                "sweep {}: halving rounds 0 to {} merged ({} so far); {} of {} still in the \
                 search. Run round {next} with `sim sweep FILE --search halving --from {} \
                 --shard k/n` (the same flags as before) on each machine, then merge its shards\n",
                self.meta.scenario,
                next - 1,
                count(self.runs_total as u64, "run"),
                count(self.points_left as u64, "point"),
                plan.points,
                self.dir.display()
            );
            return text;
        }
        if let Some(shard) = self.meta.shard {
            text += &format!(
                "sweep {} shard {shard}: {} done ({} reused from earlier results), {} x {} in \
                 all; merge the shards with `sim merge`\n",
                self.meta.scenario,
                count((self.runs_executed + self.runs_resumed) as u64, "run"),
                self.runs_resumed,
                count(plan.points as u64, "point"),
                count(plan.replications, "replication")
            );
            return text;
        }
        let feasible = self.points.iter().filter(|p| p.feasible).count();
        if let Search::Halving(h) = self.meta.search {
            let grid_runs = plan.total_runs();
            text += &format!(
                "sweep {}: halving search over {} (from {} to {} per point, keeping 1 in {} \
                 each round): {} in {}, {:.0}% of the {} a full grid runs ({} reused from \
                 earlier results); {}\n",
                self.meta.scenario,
                count(plan.points as u64, "point"),
                count(
                    h.initial_replications.min(plan.replications) as u64,
                    "replication"
                ),
                plan.replications,
                h.factor,
                count(self.runs_total as u64, "run"),
                count(self.rounds as u64, "round"),
                100.0 * self.runs_total as f64 / grid_runs.max(1) as f64,
                grid_runs,
                self.runs_resumed,
                count(feasible as u64, "feasible point")
            );
        } else {
            text += &format!(
                "sweep {}: {} x {} = {} ({} reused from earlier results); {}\n",
                self.meta.scenario,
                count(plan.points as u64, "point"),
                count(plan.replications, "replication"),
                count(plan.total_runs() as u64, "run"),
                self.runs_resumed,
                count(feasible as u64, "feasible point")
            );
        }
        let objective = &METRICS[self.meta.objective];
        let named = |p: &PointResult| {
            let params: Vec<String> = p
                .parameters
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            if params.is_empty() {
                format!("#{} (the scenario as is)", p.index)
            } else {
                format!("#{} {}", p.index, params.join(" "))
            }
        };
        match self.cheapest_feasible {
            Some(i) => {
                let best = &self.points[i];
                let stats = best.stats[self.meta.objective];
                let p95 = best.stats[metrics::RESPONSE_LATENCY_P95_S];
                text += &format!(
                    "best feasible point (lowest {}): {} ({} {}, p95 response latency {:.3} s)\n",
                    objective.label,
                    named(best),
                    objective.label,
                    metrics::show_with_ci(objective, &stats),
                    p95.mean
                );
                for other in self.points.iter().filter(|p| p.feasible && p.index != i) {
                    let theirs = other.stats[self.meta.objective];
                    if !stats::paired_indistinguishable(&best.objective_runs, &other.objective_runs)
                    {
                        continue;
                    }
                    let separate = if stats.sd.is_none() {
                        "run more replications to tell them apart".to_string()
                    } else {
                        match stats::paired_replications_to_separate(
                            &best.objective_runs,
                            &other.objective_runs,
                            grid::MAX_REPLICATIONS as usize,
                        ) {
                            Some(n) => {
                                format!("about {n} replications per point would separate them")
                            }
                            None if stats.mean == theirs.mean => {
                                "the same mean: no number of replications separates them"
                                    .to_string()
                            }
                            None => format!(
                                "more than {} replications would be needed to separate them",
                                grid::MAX_REPLICATIONS
                            ),
                        }
                    };
                    text += &format!(
                        "  not distinguishable at 95% from {} ({}): {separate}\n",
                        named(other),
                        metrics::show_with_ci(objective, &theirs)
                    );
                }
            }
            None => {
                text += "no feasible point: no configuration met every SLO in every replication\n"
            }
        }
        text += &self.points_table();
        text += &format!("outputs: {}\n", self.dir.display());
        text
    }
}

/// Runs `sim sweep FILE`: reads the file's `[sweep]` table, applies `--grid`/`--replications`,
/// and runs the real model. `out_dir` is the scenario's results folder (`results/<name>` unless
/// `--out`); `None` uses `results/<scenario name>`.
#[allow(clippy::too_many_arguments)]
pub fn sweep_file(
    path: &Path,
    overrides: &[String],
    grid_args: &[String],
    replications: Option<u32>,
    out_dir: Option<PathBuf>,
    options: SweepOptions,
) -> Result<SweepOutcome, SweepError> {
    let bytes = read_bounded(path, crate::scenario::limits::MAX_SCENARIO_FILE_BYTES)?;
    let source = crate::scenario::load_sweep(path, overrides, grid_args)
        .map_err(|errors| SweepError::Scenario(errors.messages))?;
    let replications = check_plan(&source.grid, source.replications, replications)?;
    // `--objective`, else `sweep.objective` (checked by the reader), else the compute cost.
    let objective = options
        .objective
        .or_else(|| source.objective.as_deref().and_then(metrics::metric_index))
        .unwrap_or_else(metrics::default_objective);
    let search = halving::choose(options.search, source.search, replications)?;
    let grid = source.grid.clone();
    let out_dir = out_dir.unwrap_or_else(|| PathBuf::from("results").join(&source.base.name));
    let fleet = Fleet {
        path: path.to_path_buf(),
        overrides: overrides.to_vec(),
        source: Some(std::sync::Arc::new(source)),
    };
    let config = SweepConfig {
        grid,
        replications,
        shard: options.shard,
        resume: options.resume,
        threads: options.threads,
        progress: options.progress,
        plots: options.plots,
        out_dir,
        scenario_hash: scenario_hash(&bytes, overrides),
        overrides: overrides
            .iter()
            .filter(|o| crate::scenario::override_key(o).as_deref() != Some("seed"))
            .cloned()
            .collect(),
        objective,
        search,
        from: options.from,
    };
    sweep(&fleet, &config)
}

/// The flags of `sim sweep` besides the grid (`--objective`, `--search` and its settings,
/// `--from`, `--shard`, `--resume`, `--jobs`, `--quiet`, `--no-plots`).
#[derive(Clone, Debug)]
pub struct SweepOptions {
    /// `--objective` (an index into `METRICS`); `None`: `sweep.objective`, else the default.
    pub objective: Option<usize>,
    /// `--search`, `--initial-replications`, `--halving-factor`; each `None` defers to the
    /// file's `[sweep]` key.
    pub search: crate::scenario::SearchTable,
    /// `--from`: carry on a halving search from a merged round.
    pub from: Option<PathBuf>,
    pub shard: Option<Shard>,
    pub resume: bool,
    pub threads: Option<usize>,
    pub progress: bool,
    pub plots: bool,
}

impl Default for SweepOptions {
    fn default() -> Self {
        SweepOptions {
            objective: None,
            search: crate::scenario::SearchTable::default(),
            from: None,
            shard: None,
            resume: false,
            threads: None,
            progress: true,
            plots: true,
        }
    }
}

pub(crate) fn with_pool<T: Send>(
    threads: Option<usize>,
    work: impl FnOnce() -> T + Send,
) -> Result<T, SweepError> {
    match threads {
        None => Ok(work()),
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build()
                .map_err(|e| SweepError::Usage(format!("cannot start {n} threads: {e}")))?;
            Ok(pool.install(work))
        }
    }
}

/// Loads every grid point (validating the grid keys through the scenario loader), runs the
/// plan (or the shard's part of it) in parallel, and writes the outputs. A halving search runs
/// round after round (a shard: one round's share, after the rounds of `--from`).
pub fn sweep<M: SweepModel>(model: &M, config: &SweepConfig) -> Result<SweepOutcome, SweepError>
where
    M::Scenario: Send,
{
    config.grid.check_size()?;
    if config.from.is_some() && config.search.is_grid() {
        return Err(SweepError::Usage(
            "--from carries on a halving search: use it with --search halving".into(),
        ));
    }
    let dir = config.out_dir.join("sweep");
    let scenarios: Vec<M::Scenario> =
        with_pool(config.threads, || model.load_points(&config.grid))?
            .map_err(SweepError::Scenario)?;
    let (name, base_seed) = model.describe(&scenarios[0]);
    let mut input_files: Vec<PathBuf> = Vec::new();
    for scenario in &scenarios {
        for file in model.input_files(scenario) {
            if !input_files.contains(&file) {
                input_files.push(file);
            }
        }
    }
    let per_point: Vec<Vec<SloLimit>> = scenarios.iter().map(|s| model.slo_limits(s)).collect();
    let mut meta = SweepMeta {
        scenario: name,
        version: crate::VERSION.to_string(),
        scenario_hash: with_input_files(&config.scenario_hash, &input_files)?,
        base_seed,
        overrides: config.overrides.clone(),
        grid: config.grid.clone(),
        replications: config.replications,
        shard: config.shard,
        slo_limits: common_slo_limits(&per_point),
        objective: config.objective,
        search: config.search,
        round: None,
        next_round: None,
    };
    // The earlier rounds of a halving search, read before anything is deleted.
    let mut records: Vec<RunRecord> = match &config.from {
        // Said as a problem with --from, not as a failed `sim merge` the user did not run.
        Some(from) => merge::read_unfinished(from, &meta).map_err(|e| match e {
            SweepError::Merge(why) if why.starts_with("--from ") => SweepError::Usage(why),
            SweepError::Merge(why) => SweepError::Usage(format!("--from: {why}")),
            other => other,
        })?,
        None => Vec::new(),
    };
    let from_records = records.len();
    let runs_dir = dir.join("runs");
    // The saved runs `--resume` may reuse, read and checked before anything is deleted or
    // written: a run file that cannot be trusted stops the sweep with the folder as it was.
    let saved = if config.resume {
        read_saved_runs(&meta, &runs_dir, config)?
    } else {
        BTreeMap::new()
    };
    // The new set is written into a staging folder; the previous one stays whole until
    // `finish` swaps them at the end. A CSV the points read inside that folder would go.
    crate::output::set::check_spares_inputs(&dir, crate::output::SetKind::Sweep, &input_files)?;
    let set = crate::output::OutputSet::begin(&dir, crate::output::SetKind::Sweep)?;
    crate::output::create_dir(&runs_dir)?;
    // Dropped before `set`: a sweep that saved no run leaves no empty `runs/` (and then `set`
    // removes the folders it created); saved runs stay for `--resume`.
    let _runs_if_empty = crate::output::RemoveIfEmpty(&runs_dir);
    let batch = Batch {
        model,
        scenarios: &scenarios,
        runs_dir: &runs_dir,
        saved: &saved,
        config,
    };
    let mut done_here: Vec<RunId> = Vec::new();
    let mut resumed = 0;
    let mut halving_state = None;
    match config.search {
        Search::Grid => {
            let runs = meta.plan().runs(config.shard);
            let (new, reused) = batch.run(&meta, &runs)?;
            records = new;
            resumed = reused;
            done_here = runs;
        }
        Search::Halving(h) => loop {
            let progress = halving::progress(
                h,
                meta.grid.len(),
                meta.replications,
                meta.objective,
                &records,
            )
            .map_err(SweepError::Merge)?;
            let Some((round, round_runs)) = progress.next.clone() else {
                if config.shard.is_some() {
                    return Err(SweepError::Usage(
                        "the halving search is over: there is no round left to shard; merge                          the last round's shards with `sim merge`"
                            .into(),
                    ));
                }
                halving_state = Some(progress);
                break;
            };
            let runs = halving::shard_runs(&round_runs, config.shard);
            let (new, reused) = batch.run(&meta, &runs)?;
            resumed += reused;
            done_here.extend_from_slice(&runs);
            records.extend(new);
            records.sort_by_key(|r| (r.point, r.replication));
            if config.shard.is_some() {
                meta.round = Some(round);
                break;
            }
        },
    }
    let executed = done_here.len() - resumed;
    let (points, cheapest_feasible) = if config.shard.is_some() {
        (Vec::new(), None)
    } else {
        summarise(&meta, &records)
    };
    let (rounds, points_left) = match &halving_state {
        Some(progress) => (
            progress.rounds.len(),
            progress.eliminated.iter().filter(|e| e.is_none()).count(),
        ),
        None => (0, 0),
    };
    output::remove_other_run_files(&runs_dir, &done_here)?;
    output::write_outputs(
        &set,
        &meta,
        &records,
        &points,
        cheapest_feasible,
        config.plots,
    )?;
    set.finish()?;
    Ok(SweepOutcome {
        dir,
        meta,
        points,
        cheapest_feasible,
        runs_executed: executed,
        runs_resumed: resumed + from_records,
        runs_total: records.len(),
        rounds,
        points_left,
    })
}

/// The runs saved in `runs_dir` that this sweep may reuse under `--resume` (its shard's runs;
/// every run of a halving search, whose rounds are not known yet), by global index. A file of
/// another sweep is left out (that run is simulated again); a file of this sweep that cannot
/// be trusted is an error naming it, with every other such file.
fn read_saved_runs(
    meta: &SweepMeta,
    runs_dir: &Path,
    config: &SweepConfig,
) -> Result<BTreeMap<usize, RunRecord>, SweepError> {
    let plan = meta.plan();
    let runs = match config.search {
        Search::Grid => plan.runs(config.shard),
        Search::Halving(_) => plan.runs(None),
    };
    let found: Vec<(usize, Result<RunRecord, String>)> = with_pool(config.threads, || {
        runs.par_iter()
            .filter_map(|&run| {
                let path = output::run_file_path(runs_dir, run);
                let parameters = meta.grid.point(run.point);
                let read = output::read_run_file(&path, meta, &parameters, run, plan.seed(run));
                read.transpose().map(|read| (plan.global_index(run), read))
            })
            .collect()
    })?;
    let mut saved = BTreeMap::new();
    let mut problems = Vec::new();
    for (index, read) in found {
        match read {
            Ok(record) => {
                saved.insert(index, record);
            }
            Err(problem) => problems.push(problem),
        }
    }
    if problems.is_empty() {
        return Ok(saved);
    }
    const LISTED: usize = 10;
    let more = problems.len().saturating_sub(LISTED);
    problems.truncate(LISTED);
    if more > 0 {
        problems.push(format!("and {} more", count(more as u64, "run file")));
    }
    Err(SweepError::Usage(problems.join("\n")))
}

/// What running a list of runs needs: the model, every point's scenario, the per-run folder,
/// the saved runs `--resume` reuses and the sweep's flags.
struct Batch<'a, M: SweepModel> {
    model: &'a M,
    scenarios: &'a [M::Scenario],
    runs_dir: &'a Path,
    saved: &'a BTreeMap<usize, RunRecord>,
    config: &'a SweepConfig,
}

impl<M: SweepModel> Batch<'_, M> {
    /// Runs `runs` in parallel, collected in the order given, with a progress bar; the records
    /// and how many were reused from per-run files, or every failure.
    fn run(&self, meta: &SweepMeta, runs: &[RunId]) -> Result<(Vec<RunRecord>, usize), SweepError> {
        let bar = crate::progress::counter(
            crate::progress::enabled(self.config.progress),
            &meta.scenario,
            runs.len() as u64,
            "runs",
        );
        let results: Vec<Result<(RunRecord, bool), String>> =
            with_pool(self.config.threads, || {
                runs.par_iter()
                    .map(|&run| {
                        let result = execute(
                            self.model,
                            meta,
                            &self.scenarios[run.point],
                            self.runs_dir,
                            run,
                            self.saved.get(&meta.plan().global_index(run)),
                        );
                        bar.inc(1);
                        result
                    })
                    .collect()
            })?;
        bar.finish_and_clear();
        let mut records = Vec::with_capacity(results.len());
        let mut failures = Vec::new();
        let mut resumed = 0;
        for result in results {
            match result {
                Ok((record, was_resumed)) => {
                    resumed += was_resumed as usize;
                    records.push(record);
                }
                Err(failure) => failures.push(failure),
            }
        }
        if !failures.is_empty() {
            let count = failures.len();
            failures.truncate(5);
            return Err(SweepError::RunFailed { failures, count });
        }
        Ok((records, resumed))
    }
}

/// One run: `saved` (its per-run file, read under `--resume`) when there is one, else
/// simulated and saved atomically. `Ok((record, resumed))`, or a one-line failure naming the
/// run.
fn execute<M: SweepModel>(
    model: &M,
    meta: &SweepMeta,
    scenario: &M::Scenario,
    runs_dir: &Path,
    run: RunId,
    saved: Option<&RunRecord>,
) -> Result<(RunRecord, bool), String> {
    if let Some(record) = saved {
        return Ok((record.clone(), true));
    }
    let plan = meta.plan();
    let seed = plan.seed(run);
    let parameters = meta.grid.point(run.point);
    let path = output::run_file_path(runs_dir, run);
    let params: Vec<String> = parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let who = format!(
        "point {} [{}] replication {} seed {seed}",
        run.point,
        params.join(" "),
        run.replication
    );
    let describe = |why: String| {
        let mut text = format!("{who}: {why}");
        if let Some(command) = model.reproduce(&meta.grid.overrides(run.point), seed) {
            text += &format!("\n    reproduce with: {command}");
        }
        text
    };
    let metrics = catch_panic(|| model.run(scenario, seed)).map_err(describe)?;
    let record = RunRecord {
        point: run.point,
        replication: run.replication,
        seed,
        values: metrics.values,
        slo_failed: metrics
            .slos
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(n, _)| n.clone())
            .collect(),
    };
    // The run's identity, then the file and why ("PATH: cannot write: why": the error names
    // the path, so it is not prefixed again); no reproduce command: the run itself went well.
    output::write_run_file(&path, meta, &parameters, &record)
        .map_err(|e| format!("{who}: ran, but its file cannot be saved: {e}"))?;
    Ok((record, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_slo_limits_every_point_shares_are_drawn() {
        let limit = |metric: &str, max: f64| SloLimit {
            metric: metric.into(),
            max,
        };
        let p95 = limit("response_latency_p95_s", 30.0);
        let crashes = limit("oom_crashes", 0.0);
        let points = vec![
            vec![p95.clone(), crashes.clone()],
            vec![crashes.clone(), p95.clone()],
            vec![limit("response_latency_p95_s", 60.0), crashes.clone()],
        ];
        assert_eq!(common_slo_limits(&points), vec![crashes.clone()]);
        assert_eq!(common_slo_limits(&points[..2]), vec![p95, crashes]);
        assert!(common_slo_limits(&[]).is_empty());
    }
}
