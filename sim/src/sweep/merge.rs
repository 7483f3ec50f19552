//! `sim merge DIR...`: joins the outputs of `--shard k/n` sweeps into the outputs of the whole
//! sweep, byte-identical to an unsharded run. Refuses shards that do not belong together
//! (scenario hash, scenario name, grid, replications, base seed, shard count or program
//! version differ), shards given twice, missing shards, and runs in the wrong shard.

use super::output::{SweepHeader, read_header, read_runs_csv, write_outputs};
use super::{RunRecord, SweepError, SweepOutcome, summarise};
use std::path::{Path, PathBuf};

/// The folder holding `sweep.json`: `dir` itself or `dir/sweep`.
fn sweep_dir(dir: &Path) -> PathBuf {
    if dir.join("sweep.json").is_file() {
        dir.to_path_buf()
    } else {
        dir.join("sweep")
    }
}

/// Merges shard folders (each a `<out>` or `<out>/sweep` of `sim sweep --shard k/n`) into
/// `<out_dir>/sweep/`.
pub fn merge(
    shard_dirs: &[PathBuf],
    out_dir: &Path,
    plots: bool,
) -> Result<SweepOutcome, SweepError> {
    if shard_dirs.is_empty() {
        return Err(SweepError::Usage(
            "sim merge needs at least one shard folder".into(),
        ));
    }
    let mut shards: Vec<(PathBuf, SweepHeader)> = Vec::new();
    for dir in shard_dirs {
        let dir = sweep_dir(dir);
        let header = read_header(&dir)?;
        shards.push((dir, header));
    }
    let (first_dir, first) = &shards[0];
    if first.version != crate::VERSION {
        return Err(SweepError::Merge(format!(
            "{} was written by sim {} but this is sim {}: merge with the same version",
            first_dir.display(),
            first.version,
            crate::VERSION
        )));
    }
    for (dir, header) in &shards {
        let differs = |what: &str| {
            SweepError::Merge(format!(
                "{} and {} have different {what}: they are not shards of one sweep",
                first_dir.display(),
                dir.display()
            ))
        };
        if header.version != first.version {
            return Err(differs("program versions"));
        }
        if header.scenario_hash != first.scenario_hash || header.scenario != first.scenario {
            return Err(differs("scenarios (file contents or --set overrides)"));
        }
        if header.grid != first.grid {
            return Err(differs("grids"));
        }
        if header.replications != first.replications {
            return Err(differs("replication counts"));
        }
        if header.base_seed != first.base_seed {
            return Err(differs("seeds"));
        }
        if header.objective != first.objective {
            return Err(differs("objectives (--objective)"));
        }
        if super::metrics::metric_index(&header.objective).is_none() {
            return Err(SweepError::Merge(format!(
                "{}: unknown objective \"{}\"",
                dir.display(),
                header.objective
            )));
        }
        let Some(shard) = header.shard else {
            return Err(SweepError::Merge(format!(
                "{} is a whole sweep, not a shard: it needs no merge",
                dir.display()
            )));
        };
        let first_count = first.shard.map_or(0, |s| s.count);
        if shard.count != first_count {
            return Err(differs("shard counts (--shard k/n with different n)"));
        }
    }
    let count = shards[0].1.shard.map_or(0, |s| s.count);
    let mut seen = vec![None::<&Path>; count as usize];
    for (dir, header) in &shards {
        let k = header.shard.map_or(0, |s| s.index) as usize;
        if let Some(other) = seen[k - 1] {
            return Err(SweepError::Merge(format!(
                "shard {k}/{count} is given twice: {} and {}",
                other.display(),
                dir.display()
            )));
        }
        seen[k - 1] = Some(dir);
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_none())
        .map(|(k, _)| format!("{}/{count}", k + 1))
        .collect();
    if !missing.is_empty() {
        return Err(SweepError::Merge(format!(
            "missing {} {}",
            if missing.len() == 1 {
                "shard"
            } else {
                "shards"
            },
            missing.join(", ")
        )));
    }

    let mut meta = first.meta();
    meta.shard = None;
    let plan = meta.plan();
    let mut slots: Vec<Option<RunRecord>> = vec![None; plan.total_runs()];
    for (dir, header) in &shards {
        let shard = header.shard.expect("checked above");
        let records = read_runs_csv(&dir.join("runs.csv"), &meta)?;
        if records.len() != header.runs_in_file {
            return Err(SweepError::Merge(format!(
                "{}: runs.csv has {} runs but sweep.json says {}: the shard is damaged, run it again",
                dir.display(),
                records.len(),
                header.runs_in_file
            )));
        }
        for record in records {
            let index = plan.global_index(super::RunId {
                point: record.point,
                replication: record.replication,
            });
            if !shard.contains(index) {
                return Err(SweepError::Merge(format!(
                    "{}: run {}-{} does not belong to shard {shard}",
                    dir.display(),
                    record.point,
                    record.replication
                )));
            }
            if record.seed != plan.seed(plan.run_at(index)) {
                return Err(SweepError::Merge(format!(
                    "{}: run {}-{} has the wrong seed",
                    dir.display(),
                    record.point,
                    record.replication
                )));
            }
            if slots[index].replace(record).is_some() {
                return Err(SweepError::Merge(format!(
                    "{}: a run appears twice",
                    dir.display()
                )));
            }
        }
    }
    let missing = slots.iter().filter(|s| s.is_none()).count();
    if missing > 0 {
        return Err(SweepError::Merge(format!(
            "{} missing from the shards: finish every shard first",
            if missing == 1 {
                "1 run is".to_string()
            } else {
                format!("{missing} runs are")
            }
        )));
    }
    let records: Vec<RunRecord> = slots
        .into_iter()
        .map(|s| s.expect("checked above"))
        .collect();
    let (points, cheapest_feasible) = summarise(&meta, &records);
    let dir = out_dir.join("sweep");
    let set = crate::output::OutputSet::begin(&dir, crate::output::SetKind::Sweep)?;
    write_outputs(&set, &meta, &records, &points, cheapest_feasible, plots)?;
    set.finish()?;
    Ok(SweepOutcome {
        dir,
        meta,
        points,
        cheapest_feasible,
        runs_executed: 0,
        runs_resumed: records.len(),
    })
}
