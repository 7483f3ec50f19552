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
use super::{Grid, PointResult, RunRecord, SweepError, SweepMeta, io_error};
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

fn runs_csv(meta: &SweepMeta, records: &[RunRecord]) -> Result<Vec<u8>, SweepError> {
    let mut header = vec!["point".to_string(), "replication".into(), "seed".into()];
    header.extend(meta.grid.axes.iter().map(|a| a.key.clone()));
    header.extend(["slo_ok".to_string(), "slo_failed".into()]);
    header.extend(METRICS.iter().map(|m| m.name.to_string()));
    let mut rows = vec![header];
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

/// Reads the `sweep.json` in `dir` (a shard's, for `sim merge`).
pub fn read_header(dir: &Path) -> Result<SweepHeader, SweepError> {
    let path = dir.join("sweep.json");
    let bytes = std::fs::read(&path).map_err(io_error(&path))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| SweepError::Merge(format!("{}: not a sweep.json: {e}", path.display())))
}

/// Reads a `runs.csv` written by `write_outputs` for `meta`.
pub fn read_runs_csv(path: &Path, meta: &SweepMeta) -> Result<Vec<RunRecord>, SweepError> {
    let damaged = |why: String| SweepError::Merge(format!("{}: {why}", path.display()));
    let bytes = std::fs::read(path).map_err(io_error(path))?;
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let keys = meta.grid.axes.len();
    let expected_columns = 3 + keys + 2 + METRIC_COUNT;
    let header = reader.headers().map_err(|e| damaged(e.to_string()))?;
    if header.len() != expected_columns {
        return Err(damaged(format!(
            "{} columns, expected {expected_columns}",
            header.len()
        )));
    }
    let mut records = Vec::new();
    for (line, row) in reader.records().enumerate() {
        let row = row.map_err(|e| damaged(e.to_string()))?;
        let bad = |what: &str| damaged(format!("row {}: bad {what}", line + 2));
        let point: usize = row[0].parse().map_err(|_| bad("point"))?;
        let replication: u32 = row[1].parse().map_err(|_| bad("replication"))?;
        let seed: u64 = row[2].parse().map_err(|_| bad("seed"))?;
        if point >= meta.grid.len() || replication >= meta.replications {
            return Err(bad("point or replication (outside the grid)"));
        }
        let parameters = meta.grid.point(point);
        if parameters
            .iter()
            .enumerate()
            .any(|(i, (_, v))| row[3 + i] != *v)
        {
            return Err(bad("parameters (they do not match the grid)"));
        }
        let failed = &row[3 + keys + 1];
        let slo_failed: Vec<String> = if failed.is_empty() {
            Vec::new()
        } else {
            failed.split(';').map(String::from).collect()
        };
        let mut values = [0.0; METRIC_COUNT];
        for (m, value) in values.iter_mut().enumerate() {
            *value = row[3 + keys + 2 + m]
                .parse()
                .map_err(|_| bad(METRICS[m].name))?;
        }
        records.push(RunRecord {
            point,
            replication,
            seed,
            values,
            slo_failed,
        });
    }
    Ok(records)
}

/// `runs/<point>-<replication>.json`.
pub fn run_file_path(runs_dir: &Path, run: RunId) -> PathBuf {
    runs_dir.join(format!("{}-{}.json", run.point, run.replication))
}

#[derive(Serialize, Deserialize)]
struct RunFile {
    version: String,
    scenario_hash: String,
    point: usize,
    replication: u32,
    seed: u64,
    parameters: Vec<(String, String)>,
    slo_failed: Vec<String>,
    /// `[name, value]`, the value as an exactly round-tripping string.
    metrics: Vec<(String, String)>,
}

/// Saves one finished run, atomically.
pub fn write_run_file(
    path: &Path,
    meta: &SweepMeta,
    parameters: &[(String, String)],
    record: &RunRecord,
) -> Result<(), SweepError> {
    let file = RunFile {
        version: meta.version.clone(),
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
    };
    let mut bytes = serde_json::to_vec_pretty(&file).expect("run file serialises");
    bytes.push(b'\n');
    Ok(crate::output::write_atomic(path, &bytes)?)
}

/// The saved run at `path` if it exists and belongs to this sweep (same scenario hash, program
/// version, parameters and seed); anything else means "run it again".
pub fn read_run_file(
    path: &Path,
    meta: &SweepMeta,
    parameters: &[(String, String)],
    run: RunId,
    seed: u64,
) -> Option<RunRecord> {
    let bytes = std::fs::read(path).ok()?;
    let file: RunFile = serde_json::from_slice(&bytes).ok()?;
    let matches = file.version == meta.version
        && file.scenario_hash == meta.scenario_hash
        && file.point == run.point
        && file.replication == run.replication
        && file.seed == seed
        && file.parameters == parameters
        && file.metrics.len() == METRIC_COUNT
        && file
            .metrics
            .iter()
            .zip(METRICS)
            .all(|((name, _), m)| name == m.name);
    if !matches {
        return None;
    }
    let mut values = [0.0; METRIC_COUNT];
    for (value, (_, text)) in values.iter_mut().zip(&file.metrics) {
        *value = text.parse().ok()?;
    }
    Some(RunRecord {
        point: run.point,
        replication: run.replication,
        seed,
        values,
        slo_failed: file.slo_failed,
    })
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
