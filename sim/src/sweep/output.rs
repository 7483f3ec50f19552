//! The sweep's files under `<out>/sweep/`: `points.csv`, `runs.csv`, `sweep.json`, the figures,
//! and the per-run results `runs/<point>-<replication>.json`; and reading them back for
//! `merge` and `--resume`.
//!
//! Numbers are written with Rust's shortest round-trip formatting and read back with
//! `str::parse`, so a value survives a trip through `runs.csv` or a per-run file bit for bit:
//! that is what makes merged shards and resumed sweeps byte-identical to a single sweep. Per-run
//! files keep their metric values as strings for the same reason (a JSON number may be parsed
//! one ulp off).

use super::halving::Search;
use super::metrics::{METRIC_COUNT, METRICS};
use super::plan::{RunId, Shard};
use super::{Grid, PointResult, RunRecord, SweepError, SweepMeta};
use crate::output::OutputSet;
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Formats a number so that `str::parse` gives it back exactly.
fn num(v: f64) -> String {
    format!("{v}")
}

fn opt(v: Option<f64>) -> String {
    v.map(num).unwrap_or_default()
}

/// Ordered `{key: value}` JSON object (serde_json's own map would sort the keys).
struct Ordered<'a, V: Serialize>(&'a [(String, V)]);

impl<V: Serialize> Serialize for Ordered<'_, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The metadata part of `sweep.json`, which `merge` reads back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepHeader {
    pub scenario: String,
    pub version: String,
    pub scenario_hash: String,
    pub base_seed: u64,
    /// The `--set` arguments the sweep ran with, `--horizon` as `run.horizon=...` (absent when
    /// there were none; `scenario_hash` covers them too).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    pub grid: Grid,
    pub replications: u32,
    /// `{index, count}` (1-based index) for a shard; `null` for a whole sweep.
    pub shard: Option<Shard>,
    pub runs_total: usize,
    pub runs_in_file: usize,
    /// Fleet-wide SLO limits every point shares (absent when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slo_limits: Vec<super::SloLimit>,
    /// The metric minimised subject to the SLOs (absent when it is the default,
    /// `cost_compute_usd`).
    #[serde(
        default = "default_objective",
        skip_serializing_if = "is_default_objective"
    )]
    pub objective: String,
    /// How the runs were chosen (absent for the grid, every point at every replication).
    #[serde(default, skip_serializing_if = "Search::is_grid")]
    pub search: Search,
    /// A shard of a halving search: the round it ran (its runs.csv also holds every run of
    /// the earlier rounds, from `--from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u32>,
    /// A merged halving search that is not over: the round to run next, with `--from` this
    /// folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_round: Option<u32>,
}

fn default_objective() -> String {
    super::metrics::DEFAULT_OBJECTIVE.to_string()
}

fn is_default_objective(name: &str) -> bool {
    name == super::metrics::DEFAULT_OBJECTIVE
}

impl SweepHeader {
    pub fn meta(&self) -> SweepMeta {
        SweepMeta {
            scenario: self.scenario.clone(),
            version: self.version.clone(),
            scenario_hash: self.scenario_hash.clone(),
            base_seed: self.base_seed,
            overrides: self.overrides.clone(),
            grid: self.grid.clone(),
            replications: self.replications,
            shard: self.shard,
            slo_limits: self.slo_limits.clone(),
            objective: super::metrics::metric_index(&self.objective)
                .unwrap_or_else(super::metrics::default_objective),
            search: self.search,
            round: self.round,
            next_round: self.next_round,
        }
    }
}

#[derive(Serialize)]
struct SweepJson<'a> {
    #[serde(flatten)]
    header: SweepHeader,
    metrics: Vec<&'static str>,
    points: Vec<PointJson<'a>>,
    cheapest_feasible: Option<PointJson<'a>>,
}

#[derive(Serialize)]
struct PointJson<'a> {
    index: usize,
    parameters: Ordered<'a, String>,
    slo_feasible_fraction: f64,
    feasible: bool,
    /// A halving search: the point's replications and when it was eliminated.
    #[serde(skip_serializing_if = "Option::is_none")]
    replications: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    eliminated: Option<String>,
    stats: Ordered<'a, super::Stats>,
}

/// Writes every sweep file into `set` (the caller began it and finishes it). A shard writes
/// `runs.csv` and `sweep.json` only; a whole sweep (or a merge) adds `points.csv` and the
/// figures.
pub fn write_outputs(
    set: &OutputSet,
    meta: &SweepMeta,
    records: &[RunRecord],
    points: &[PointResult],
    cheapest_feasible: Option<usize>,
    plots: bool,
) -> Result<(), SweepError> {
    set.write("runs.csv", &runs_csv(meta, records)?)?;
    let named: Vec<Vec<(String, super::Stats)>> = points
        .iter()
        .map(|p| {
            METRICS
                .iter()
                .map(|m| m.name.to_string())
                .zip(p.stats.iter().copied())
                .collect()
        })
        .collect();
    fn point_json<'a>(
        p: &'a PointResult,
        stats: &'a [(String, super::Stats)],
        halving: bool,
    ) -> PointJson<'a> {
        PointJson {
            index: p.index,
            parameters: Ordered(&p.parameters),
            slo_feasible_fraction: p.slo_feasible_fraction,
            feasible: p.feasible,
            replications: halving.then_some(p.replications),
            eliminated: p.eliminated.map(|e| e.describe()),
            stats: Ordered(stats),
        }
    }
    let halving = !meta.search.is_grid();
    let json = SweepJson {
        header: SweepHeader {
            scenario: meta.scenario.clone(),
            version: meta.version.clone(),
            scenario_hash: meta.scenario_hash.clone(),
            base_seed: meta.base_seed,
            overrides: meta.overrides.clone(),
            grid: meta.grid.clone(),
            replications: meta.replications,
            shard: meta.shard,
            runs_total: meta.plan().total_runs(),
            runs_in_file: records.len(),
            slo_limits: meta.slo_limits.clone(),
            objective: METRICS[meta.objective].name.to_string(),
            search: meta.search,
            round: meta.round,
            next_round: meta.next_round,
        },
        metrics: METRICS.iter().map(|m| m.name).collect(),
        points: points
            .iter()
            .zip(&named)
            .map(|(p, s)| point_json(p, s, halving))
            .collect(),
        cheapest_feasible: cheapest_feasible.map(|i| point_json(&points[i], &named[i], halving)),
    };
    let mut bytes = serde_json::to_vec_pretty(&json).expect("sweep.json serialises");
    bytes.push(b'\n');
    set.write("sweep.json", &bytes)?;
    if meta.shard.is_none() && meta.next_round.is_none() {
        set.write("points.csv", &points_csv(meta, points)?)?;
        let figures = if plots {
            super::plot::figures(set.root(), meta, points, cheapest_feasible)?
        } else {
            Vec::new()
        };
        for (name, bytes) in &figures {
            set.write(name, bytes)?;
        }
        let report =
            crate::output::html::sweep_report(meta, records, points, cheapest_feasible, &figures);
        set.write(crate::output::html::REPORT, report.as_bytes())?;
    }
    Ok(())
}

fn csv_bytes(rows: Vec<Vec<String>>) -> Result<Vec<u8>, SweepError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer
            .write_record(&row)
            .map_err(|e| SweepError::Merge(e.to_string()))?;
    }
    writer
        .into_inner()
        .map_err(|e| SweepError::Merge(e.to_string()))
}

/// The header row of `runs.csv` for `meta`: what the writer writes and the reader demands.
fn runs_csv_header(meta: &SweepMeta) -> Vec<String> {
    let mut header = vec!["point".to_string(), "replication".into(), "seed".into()];
    header.extend(meta.grid.axes.iter().map(|a| a.key.clone()));
    header.extend(["slo_ok".to_string(), "slo_failed".into()]);
    header.extend(METRICS.iter().map(|m| m.name.to_string()));
    header
}

fn runs_csv(meta: &SweepMeta, records: &[RunRecord]) -> Result<Vec<u8>, SweepError> {
    let mut rows = vec![runs_csv_header(meta)];
    for r in records {
        let mut row = vec![
            r.point.to_string(),
            r.replication.to_string(),
            r.seed.to_string(),
        ];
        row.extend(meta.grid.point(r.point).into_iter().map(|(_, v)| v));
        row.extend([r.slo_ok().to_string(), r.slo_failed.join(";")]);
        row.extend(r.values.iter().map(|&v| num(v)));
        rows.push(row);
    }
    csv_bytes(rows)
}

fn points_csv(meta: &SweepMeta, points: &[PointResult]) -> Result<Vec<u8>, SweepError> {
    let mut header = vec!["point".to_string()];
    header.extend(meta.grid.axes.iter().map(|a| a.key.clone()));
    header.extend([
        "replications".to_string(),
        "slo_feasible_fraction".into(),
        "feasible".into(),
    ]);
    let halving = !meta.search.is_grid();
    if halving {
        header.push("eliminated".into());
    }
    for m in METRICS {
        header.extend(["mean", "sd", "ci95"].map(|s| format!("{}_{s}", m.name)));
    }
    let mut rows = vec![header];
    for p in points {
        let mut row = vec![p.index.to_string()];
        row.extend(p.parameters.iter().map(|(_, v)| v.clone()));
        row.extend([
            p.replications.to_string(),
            num(p.slo_feasible_fraction),
            p.feasible.to_string(),
        ]);
        if halving {
            row.push(p.eliminated.map(|e| e.describe()).unwrap_or_default());
        }
        for s in &p.stats {
            row.extend([num(s.mean), opt(s.sd), opt(s.ci95)]);
        }
        rows.push(row);
    }
    csv_bytes(rows)
}

/// The largest `sweep.json` read. It grows with the points: a 4-point grid's measured 11.5 KB,
/// about 2.2 KB a point pretty-printed, so the largest grid (`grid::MAX_POINTS`, 10,000 points)
/// with long parameter values stays under 50 MB; 256 MiB leaves a wide margin.
pub const MAX_SWEEP_JSON_BYTES: usize = 256 << 20;

/// The largest `runs.csv` read. A row of a one-axis sweep measured 100 to 120 bytes; with
/// 20-digit metrics, ten axes and several failed SLO names a row stays under 1 KB, so the
/// largest sweep (`grid::MAX_RUNS`, 1,000,000 runs) under 1 GB: 1 GiB is the limit.
pub const MAX_RUNS_CSV_BYTES: usize = 1 << 30;

/// The largest `runs/<point>-<replication>.json` `--resume` reads: they measured 1.1 KB (a
/// parameter, no failed SLO); 1 MiB is a thousand times that.
pub const MAX_RUN_FILE_BYTES: usize = 1 << 20;

/// The bytes of the file `name` in the sweep folder `dir`, with its path: `merge` checks them
/// against the folder's manifest and parses them (`parse_header`, `parse_runs_csv`). Only a
/// regular file of at most `max_bytes` is read: a shard is the user's input, and a FIFO there
/// would block, `/dev/zero` fill memory, a huge file be read whole before being refused.
pub fn read_sweep_file(
    dir: &Path,
    name: &str,
    max_bytes: usize,
) -> Result<(PathBuf, Vec<u8>), SweepError> {
    let path = dir.join(name);
    let bytes = read_output_file(&path, max_bytes)?;
    Ok((path, bytes))
}

/// `path`'s bytes by `scenario::read_input_file`, the error naming the file and the limit.
fn read_output_file(path: &Path, max_bytes: usize) -> Result<Vec<u8>, SweepError> {
    crate::scenario::read_input_file(path, max_bytes)
        .map_err(|why| SweepError::Merge(format!("{}: cannot read: {why}", path.display())))
}

/// Parses `bytes`, the `sweep.json` at `path` (a shard's, for `sim merge`).
pub fn parse_header(path: &Path, bytes: &[u8]) -> Result<SweepHeader, SweepError> {
    serde_json::from_slice(bytes)
        .map_err(|e| SweepError::Merge(format!("{}: not a sweep.json: {e}", path.display())))
}

/// The largest value a swept metric can take. No run comes near it (prices are at most $1e6,
/// a horizon at most 584 years, counts at most `run.max_events`), and below it the statistics
/// of a point cannot overflow: over `grid::MAX_REPLICATIONS` runs the sum is at most 1e154, the
/// sum of squared deviations at most 1e304, the 95% half-width under 7 times the bound. A
/// larger value read back (a `runs.csv` or saved run edited, its hash recomputed) would show an
/// infinite sd or interval for its point.
pub const MAX_METRIC_VALUE: f64 = 1e150;

/// Why `value` cannot be a run's `metric`, if it cannot: every swept metric is a finite
/// number, never negative, at most `MAX_METRIC_VALUE`, and a fraction is at most 1. A NaN
/// would make a point look feasible and an infinity (or a value past the bound) would poison
/// every statistic of its point.
pub fn impossible_value(metric: &super::Metric, value: f64) -> Option<String> {
    let fraction = metric.unit == super::metrics::Unit::Fraction;
    let max = if fraction { 1.0 } else { MAX_METRIC_VALUE };
    let possible = value.is_finite() && (0.0..=max).contains(&value);
    (!possible).then(|| {
        let expected = if fraction {
            "a fraction between 0 and 1".to_string()
        } else {
            format!(
                "a finite number from 0 to {MAX_METRIC_VALUE:e} (no run comes near it, and past it \
                 the statistics of its point overflow)"
            )
        };
        // `1e308`, not its 309 digits.
        let value = if value.abs() >= 1e15 {
            format!("{value:e}")
        } else {
            value.to_string()
        };
        format!("{} is {value}: expected {expected}", metric.name)
    })
}

/// The most problems of one file an error lists (the count of the rest follows).
const MAX_LISTED_PROBLEMS: usize = 10;

/// Reads and parses the `runs.csv` at `path` (for the result and story tools, which read a
/// sweep they just wrote).
pub fn read_runs_csv(path: &Path, meta: &SweepMeta) -> Result<Vec<RunRecord>, SweepError> {
    let bytes = read_output_file(path, MAX_RUNS_CSV_BYTES)?;
    parse_runs_csv(path, &bytes, meta)
}

/// Parses `bytes`, the `runs.csv` at `path` written by `write_outputs` for `meta`. The header
/// must be the writer's exactly; every row must be a run of the grid with its parameters, an
/// `slo_ok` that agrees with `slo_failed` and possible metric values. Every problem is reported
/// with its line (the first few, and how many there are).
pub fn parse_runs_csv(
    path: &Path,
    bytes: &[u8],
    meta: &SweepMeta,
) -> Result<Vec<RunRecord>, SweepError> {
    let damaged = |why: String| SweepError::Merge(format!("{}: {why}", path.display()));
    let mut reader = csv::Reader::from_reader(bytes);
    let keys = meta.grid.axes.len();
    let expected = runs_csv_header(meta);
    let header = reader.headers().map_err(|e| damaged(e.to_string()))?;
    if header.len() != expected.len() {
        return Err(damaged(format!(
            "line 1: {} columns, expected {} ({})",
            header.len(),
            expected.len(),
            expected.join(",")
        )));
    }
    let mut problems: Vec<String> = header
        .iter()
        .zip(&expected)
        .enumerate()
        .filter(|(_, (found, wanted))| found != wanted)
        .map(|(i, (found, wanted))| {
            format!(
                "line 1: column {} is \"{found}\", expected \"{wanted}\"",
                i + 1
            )
        })
        .collect();
    if !problems.is_empty() {
        return Err(damaged(problems.join("\n  ")));
    }
    let mut records = Vec::new();
    let mut row = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            // A row of the wrong length or bytes that are not UTF-8: csv names the line.
            Err(e) => return Err(damaged(e.to_string())),
        }
        let line = row.position().map_or(0, |p| p.line());
        let mut bad = |why: String| problems.push(format!("line {line}: {why}"));
        let (Ok(point), Ok(replication), Ok(seed)) = (
            row[0].parse::<usize>(),
            row[1].parse::<u32>(),
            row[2].parse::<u64>(),
        ) else {
            bad("point, replication and seed must be whole numbers".into());
            continue;
        };
        if point >= meta.grid.len() || replication >= meta.replications {
            bad(format!(
                "run {point}-{replication} is outside the grid ({} points, {} replications)",
                meta.grid.len(),
                meta.replications
            ));
            continue;
        }
        for (i, (key, value)) in meta.grid.point(point).iter().enumerate() {
            if row[3 + i] != *value {
                bad(format!(
                    "{key} is \"{}\" but point {point} has {value}",
                    &row[3 + i]
                ));
            }
        }
        let failed = &row[3 + keys + 1];
        let slo_failed: Vec<String> = if failed.is_empty() {
            Vec::new()
        } else {
            failed.split(';').map(String::from).collect()
        };
        match row[3 + keys].parse::<bool>() {
            Ok(ok) if ok == slo_failed.is_empty() => {}
            Ok(ok) => bad(format!(
                "slo_ok is {ok} but slo_failed is \"{failed}\": they disagree"
            )),
            Err(_) => bad(format!(
                "slo_ok is \"{}\", expected true or false",
                &row[3 + keys]
            )),
        }
        let mut values = [0.0; METRIC_COUNT];
        for (m, value) in values.iter_mut().enumerate() {
            let text = &row[3 + keys + 2 + m];
            match text.parse::<f64>() {
                Ok(v) => {
                    *value = v;
                    if let Some(why) = impossible_value(METRICS[m], v) {
                        bad(why);
                    }
                }
                Err(_) => bad(format!(
                    "{} is \"{text}\", expected a number",
                    METRICS[m].name
                )),
            }
        }
        records.push(RunRecord {
            point,
            replication,
            seed,
            values,
            slo_failed,
        });
    }
    if !problems.is_empty() {
        let more = problems.len().saturating_sub(MAX_LISTED_PROBLEMS);
        problems.truncate(MAX_LISTED_PROBLEMS);
        if more > 0 {
            problems.push(format!("and {more} more"));
        }
        return Err(damaged(problems.join("\n  ")));
    }
    Ok(records)
}

/// `runs/<point>-<replication>.json`.
pub fn run_file_path(runs_dir: &Path, run: RunId) -> PathBuf {
    runs_dir.join(format!("{}-{}.json", run.point, run.replication))
}

#[derive(Clone, Serialize, Deserialize)]
struct RunFile {
    version: String,
    /// `build_id()` of the program that ran it; absent (empty) in files written before
    /// it was recorded, which are simulated again.
    #[serde(default)]
    build: String,
    scenario_hash: String,
    point: usize,
    replication: u32,
    seed: u64,
    parameters: Vec<(String, String)>,
    slo_failed: Vec<String>,
    /// `[name, value]`, the value as an exactly round-tripping string.
    metrics: Vec<(String, String)>,
    /// `fingerprint` of the fields above: a file edited by hand or damaged on disk no longer
    /// matches it. Absent in files written before it existed, which are simulated again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
}

impl RunFile {
    /// Lowercase hex SHA-256 of the file's fields but the fingerprint, as compact JSON in
    /// field order. It catches edits and damage, not forgery: anyone can compute it.
    fn fingerprint(&self) -> String {
        let body = RunFile {
            fingerprint: None,
            ..self.clone()
        };
        crate::output::set::sha256_hex(&serde_json::to_vec(&body).expect("run file serialises"))
    }
}

/// This build of the program: the first 16 hex digits of the SHA-256 of the running
/// executable, or `unknown` when it cannot be read (builds that cannot read themselves then
/// share their saved runs, as every build of a version did before). The version names a
/// release, and a build from source between two releases keeps the last one's; a sweep's
/// `--resume` reuses only the saved runs of the same build, so runs of an older model are not
/// mixed with a newer one's. Read once per process: tens of milliseconds for the 29 MB
/// release binary.
pub fn build_id() -> &'static str {
    static BUILD: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BUILD.get_or_init(|| {
        std::env::current_exe().and_then(std::fs::read).map_or_else(
            |_| "unknown".into(),
            |bytes| crate::output::set::sha256_hex(&bytes)[..16].to_string(),
        )
    })
}

/// Saves one finished run, atomically, with its fingerprint.
pub fn write_run_file(
    path: &Path,
    meta: &SweepMeta,
    parameters: &[(String, String)],
    record: &RunRecord,
) -> Result<(), SweepError> {
    let mut file = RunFile {
        version: meta.version.clone(),
        build: build_id().to_string(),
        scenario_hash: meta.scenario_hash.clone(),
        point: record.point,
        replication: record.replication,
        seed: record.seed,
        parameters: parameters.to_vec(),
        slo_failed: record.slo_failed.clone(),
        metrics: METRICS
            .iter()
            .zip(&record.values)
            .map(|(m, &v)| (m.name.into(), num(v)))
            .collect(),
        fingerprint: None,
    };
    file.fingerprint = Some(file.fingerprint());
    let mut bytes = serde_json::to_vec_pretty(&file).expect("run file serialises");
    bytes.push(b'\n');
    Ok(crate::output::write_atomic(path, &bytes)?)
}

/// The saved run at `path` for `--resume`. `Ok(None)` (run it again) when there is no file or
/// it is not this run of this sweep (another scenario hash, program version or build,
/// parameters or seed, or not a run file at all). `Err` names the file when it is this run's
/// but cannot be trusted: changed since the sweep wrote it (the fingerprint does not match) or
/// holding a value no run produces (not a number, infinite, negative, a fraction above 1). A
/// path that is not a regular file (a FIFO, a link to a device) or is over
/// `MAX_RUN_FILE_BYTES` is not read: no sweep writes such a thing, so it is "not a run file at
/// all" (`Ok(None)`), and the run's new file replaces it; reading it could block or exhaust
/// memory.
pub fn read_run_file(
    path: &Path,
    meta: &SweepMeta,
    parameters: &[(String, String)],
    run: RunId,
    seed: u64,
) -> Result<Option<RunRecord>, String> {
    let Ok(bytes) = crate::scenario::read_input_file(path, MAX_RUN_FILE_BYTES) else {
        return Ok(None);
    };
    let Ok(file) = serde_json::from_slice::<RunFile>(&bytes) else {
        return Ok(None);
    };
    let ours = file.version == meta.version
        && file.build == build_id()
        && file.scenario_hash == meta.scenario_hash
        && file.point == run.point
        && file.replication == run.replication
        && file.seed == seed
        && file.parameters == parameters;
    let Some(fingerprint) = file.fingerprint.as_deref().filter(|_| ours) else {
        return Ok(None);
    };
    let refuse = |why: String| {
        format!(
            "{}: {why}: delete the file to run it again (or sweep without --resume)",
            path.display()
        )
    };
    if fingerprint != file.fingerprint() {
        return Err(refuse(
            "changed since the sweep wrote it (its fingerprint does not match its contents)".into(),
        ));
    }
    let names: Vec<&str> = file.metrics.iter().map(|(name, _)| name.as_str()).collect();
    let expected: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
    if names != expected {
        return Err(refuse(format!(
            "its metrics are [{}], expected [{}]",
            names.join(", "),
            expected.join(", ")
        )));
    }
    let mut values = [0.0; METRIC_COUNT];
    let mut problems = Vec::new();
    for ((value, (name, text)), metric) in values.iter_mut().zip(&file.metrics).zip(METRICS) {
        match text.parse::<f64>() {
            Ok(v) => {
                *value = v;
                problems.extend(impossible_value(metric, v));
            }
            Err(_) => problems.push(format!("{name} is \"{text}\", expected a number")),
        }
    }
    if !problems.is_empty() {
        return Err(refuse(problems.join("; ")));
    }
    Ok(Some(RunRecord {
        point: run.point,
        replication: run.replication,
        seed,
        values,
        slo_failed: file.slo_failed,
    }))
}

/// Deletes the per-run files in `runs_dir` that are not runs of this sweep (`runs`): those of
/// an earlier, larger grid or of another shard would otherwise sit beside the results.
pub fn remove_other_run_files(runs_dir: &Path, runs: &[RunId]) -> Result<(), SweepError> {
    let keep: std::collections::BTreeSet<PathBuf> = runs
        .iter()
        .map(|&run| run_file_path(runs_dir, run))
        .collect();
    Ok(crate::output::remove_files_except(runs_dir, &keep)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::stats::Stats;

    /// The bound keeps the statistics finite however the values lie below it: the widest spread
    /// (half at 0, half at the bound) over the most replications, and over the fewest.
    #[test]
    fn statistics_of_values_up_to_the_bound_are_finite() {
        let most = crate::sweep::grid::MAX_REPLICATIONS as usize;
        for n in [2, 3, most] {
            let values: Vec<f64> = (0..n)
                .map(|i| if i % 2 == 0 { MAX_METRIC_VALUE } else { 0.0 })
                .collect();
            let stats = Stats::of(&values);
            assert!(stats.mean.is_finite(), "{n}: {stats:?}");
            assert!(stats.sd.is_some_and(f64::is_finite), "{n}: {stats:?}");
            assert!(stats.ci95.is_some_and(f64::is_finite), "{n}: {stats:?}");
            let all_at_the_bound = Stats::of(&vec![MAX_METRIC_VALUE; n]);
            assert!(all_at_the_bound.mean.is_finite(), "{n}");
        }
        // Past it, two values are enough to overflow: what the bound refuses.
        let past = Stats::of(&[1e308, 0.0]);
        assert!(!past.sd.unwrap().is_finite());
    }

    #[test]
    fn a_value_past_the_bound_is_impossible_and_one_at_it_is_not() {
        let cost = METRICS[crate::sweep::metrics::COST_TOTAL_USD];
        assert_eq!(impossible_value(cost, MAX_METRIC_VALUE), None);
        assert_eq!(impossible_value(cost, 1e12), None);
        assert_eq!(
            impossible_value(cost, 1e308).unwrap(),
            "cost_total_usd is 1e308: expected a finite number from 0 to 1e150 (no run comes \
             near it, and past it the statistics of its point overflow)"
        );
        assert!(impossible_value(cost, 1.1e150).is_some());
    }
}
