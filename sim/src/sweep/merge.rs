//! `sim merge DIR...`: joins the outputs of `--shard k/n` sweeps into the outputs of the whole
//! sweep, byte-identical to an unsharded run. Refuses shards that do not belong together
//! (scenario hash, scenario name, grid, replications, base seed, shard count or program
//! version differ), shards given twice, missing shards, runs in the wrong shard, and an output
//! folder that is a shard's own.
//!
//! A halving search is merged round by round: the shards of round k each hold the runs of
//! rounds 0..k (from `--from`) and their share of round k. Their merge is the starting point of
//! round k + 1 (`runs.csv` and `sweep.json` with `next_round`, read by `sim sweep --from`) or,
//! after the last round, the outputs of the whole search.

use super::halving::{self, Search};
use super::output::{SweepHeader, read_header, read_runs_csv, write_outputs};
use super::{RunRecord, SweepError, SweepMeta, SweepOutcome, summarise};
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
        if header.search != first.search {
            return Err(differs("searches (--search and its settings)"));
        }
        if header.round != first.round {
            return Err(differs("halving rounds (merge the shards of one round)"));
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
    // The merge writes `<out_dir>/sweep/`: were that a shard's folder, the shard would be
    // replaced by the whole, and a merge run again would find it missing.
    if let Ok(target) = out_dir.join("sweep").canonicalize()
        && let Some((dir, _)) = shards
            .iter()
            .find(|(dir, _)| dir.canonicalize().is_ok_and(|dir| dir == target))
    {
        return Err(SweepError::Merge(format!(
            "--out {} would overwrite the shard in {}: merge into another folder",
            out_dir.display(),
            dir.display()
        )));
    }

    let mut meta = first.meta();
    meta.shard = None;
    if let Search::Halving(h) = meta.search {
        return merge_round(&shards, meta, h, out_dir, plots);
    }
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
    write_merged(
        out_dir,
        meta,
        records,
        points,
        cheapest_feasible,
        plots,
        (0, 0),
    )
}

/// Writes a merge's outputs into `<out_dir>/sweep/` as one output set; `halving` is the
/// search's (rounds, points left), `(0, 0)` for a grid.
fn write_merged(
    out_dir: &Path,
    meta: SweepMeta,
    records: Vec<RunRecord>,
    points: Vec<super::PointResult>,
    cheapest_feasible: Option<usize>,
    plots: bool,
    (rounds, points_left): (usize, usize),
) -> Result<SweepOutcome, SweepError> {
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
        runs_total: records.len(),
        rounds,
        points_left,
    })
}

/// Merges the shards of one round of a halving search.
fn merge_round(
    shards: &[(PathBuf, SweepHeader)],
    mut meta: SweepMeta,
    h: halving::Halving,
    out_dir: &Path,
    plots: bool,
) -> Result<SweepOutcome, SweepError> {
    let round = meta.round.ok_or_else(|| {
        SweepError::Merge(format!(
            "{} is not a shard of a halving round",
            shards[0].0.display()
        ))
    })?;
    meta.round = None;
    type Key = (usize, u32);
    let mut union: std::collections::BTreeMap<Key, RunRecord> = Default::default();
    let mut per_shard: Vec<Vec<Key>> = Vec::new();
    for (dir, header) in shards {
        let records = read_runs_csv(&dir.join("runs.csv"), &meta)?;
        if records.len() != header.runs_in_file {
            return Err(SweepError::Merge(format!(
                "{}: runs.csv has {} runs but sweep.json says {}: the shard is damaged, run it again",
                dir.display(),
                records.len(),
                header.runs_in_file
            )));
        }
        let plan = meta.plan();
        let mut keys = Vec::with_capacity(records.len());
        for record in records {
            let key = (record.point, record.replication);
            let run = super::RunId {
                point: record.point,
                replication: record.replication,
            };
            if record.seed != plan.seed(run) {
                return Err(SweepError::Merge(format!(
                    "{}: run {}-{} has the wrong seed",
                    dir.display(),
                    record.point,
                    record.replication
                )));
            }
            if let Some(other) = union.get(&key)
                && *other != record
            {
                return Err(SweepError::Merge(format!(
                    "{}: run {}-{} differs from the same run in another shard: they did not \
                     carry on from the same merged round",
                    dir.display(),
                    record.point,
                    record.replication
                )));
            }
            keys.push(key);
            union.insert(key, record);
        }
        keys.sort_unstable();
        per_shard.push(keys);
    }
    let records: Vec<RunRecord> = union.into_values().collect();
    let progress = halving::progress(
        h,
        meta.grid.len(),
        meta.replications,
        meta.objective,
        &records,
    )
    .map_err(|why| {
        SweepError::Merge(format!(
            "the shards' runs are not whole rounds ({why}): finish every shard of round {round} \
             first"
        ))
    })?;
    if progress.rounds.len() != round as usize + 1 {
        return Err(SweepError::Merge(format!(
            "the shards hold {} complete rounds but are shards of round {round}",
            progress.rounds.len()
        )));
    }
    let earlier: Vec<Key> = progress.rounds[..round as usize]
        .iter()
        .flatten()
        .map(|r| (r.point, r.replication))
        .collect();
    for ((dir, header), keys) in shards.iter().zip(&per_shard) {
        let mut expected = earlier.clone();
        expected.extend(
            halving::shard_runs(&progress.rounds[round as usize], header.shard)
                .iter()
                .map(|r| (r.point, r.replication)),
        );
        expected.sort_unstable();
        if *keys != expected {
            return Err(SweepError::Merge(format!(
                "{}: its runs are not the earlier rounds and its share of round {round}",
                dir.display()
            )));
        }
    }
    let points_left = progress.eliminated.iter().filter(|e| e.is_none()).count();
    let (points, cheapest_feasible) = match &progress.next {
        Some((next, _)) => {
            meta.next_round = Some(*next);
            (Vec::new(), None)
        }
        None => summarise(&meta, &records),
    };
    let halving = (progress.rounds.len(), points_left);
    write_merged(
        out_dir,
        meta,
        records,
        points,
        cheapest_feasible,
        plots,
        halving,
    )
}

/// The runs of an unfinished halving search merged into `from` (`sim merge --out`), for
/// `sim sweep --from`: refused unless it is the same search of the same scenario, merged and
/// not over.
pub fn read_unfinished(from: &Path, meta: &SweepMeta) -> Result<Vec<RunRecord>, SweepError> {
    let dir = sweep_dir(from);
    let header = read_header(&dir)?;
    let refuse = |why: &str| SweepError::Merge(format!("--from {}: {why}", dir.display()));
    if header.version != meta.version {
        return Err(refuse("written by another version of sim"));
    }
    if header.scenario_hash != meta.scenario_hash || header.scenario != meta.scenario {
        return Err(refuse(
            "another scenario (file contents or --set overrides differ)",
        ));
    }
    if header.grid != meta.grid
        || header.replications != meta.replications
        || header.base_seed != meta.base_seed
    {
        return Err(refuse("another grid, replication count or seed"));
    }
    if header.search != meta.search
        || super::metrics::metric_index(&header.objective) != Some(meta.objective)
    {
        return Err(refuse("another search or objective"));
    }
    if header.shard.is_some() {
        return Err(refuse(
            "a shard, not a merged round: merge the round's shards with `sim merge` first",
        ));
    }
    if header.next_round.is_none() {
        return Err(refuse(
            "the search there is over: there is nothing to carry on",
        ));
    }
    let records = read_runs_csv(&dir.join("runs.csv"), meta)?;
    if records.len() != header.runs_in_file {
        return Err(refuse(
            "runs.csv does not match sweep.json: merge the round again",
        ));
    }
    Ok(records)
}
