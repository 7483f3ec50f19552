//! `sim merge DIR...`: joins the outputs of `--shard k/n` sweeps into the outputs of the whole
//! sweep, byte-identical to an unsharded run. Refuses shards that do not belong together
//! (scenario hash, scenario name, grid, replications, base seed, shard count or program
//! version differ), shards given twice, missing shards, runs in the wrong shard, and an output
//! folder that is a shard's own.
//!
//! Every file a merge reads (a shard's `sweep.json` and `runs.csv`, and the same of a `--from`
//! folder) must be the one the sweep wrote: its size and SHA-256 are those its folder's
//! `manifest.json` lists. `runs.csv` must then have the writer's header exactly and possible
//! values on every line. A merge refused for any reason writes nothing.
//!
//! A halving search is merged round by round: the shards of round k each hold the runs of
//! rounds 0..k (from `--from`) and their share of round k. Their merge is the starting point of
//! round k + 1 (`runs.csv` and `sweep.json` with `next_round`, read by `sim sweep --from`) or,
//! after the last round, the outputs of the whole search.

use super::halving::{self, Search};
use super::output::{
    MAX_RUNS_CSV_BYTES, MAX_SWEEP_JSON_BYTES, SweepHeader, parse_header, parse_runs_csv,
    read_sweep_file, write_outputs,
};
use super::{RunRecord, SweepError, SweepMeta, SweepOutcome, summarise};
use crate::output::set::{self, Manifest};
use std::path::{Path, PathBuf};

/// A shard's (or a merged round's) folder as the merge reads it: its `sweep.json`, read once,
/// and the folder's `manifest.json`, against which every file read is checked.
struct Folder {
    dir: PathBuf,
    header: SweepHeader,
    header_bytes: Vec<u8>,
}

impl Folder {
    /// The folder holding `sweep.json` in `dir`, with that file parsed but not yet checked: its
    /// program version decides first whether this program can read the folder at all.
    fn open(dir: &Path) -> Result<Folder, SweepError> {
        let dir = sweep_dir(dir);
        let (path, header_bytes) = read_sweep_file(&dir, "sweep.json", MAX_SWEEP_JSON_BYTES)?;
        let header = parse_header(&path, &header_bytes)?;
        Ok(Folder {
            dir,
            header,
            header_bytes,
        })
    }

    /// The folder's `manifest.json`, or why the folder is not a complete sweep output.
    fn manifest(&self) -> Result<Manifest, SweepError> {
        let path = self.dir.join(set::MANIFEST);
        let manifest = set::load_manifest(&self.dir).map_err(|why| {
            SweepError::Merge(if path.exists() {
                format!(
                    "{}: not a readable manifest of sim's outputs ({why}): run the sweep again",
                    path.display()
                )
            } else {
                format!(
                    "{}: no {}: the sweep there did not finish (or its folder was changed): \
                     run it again",
                    self.dir.display(),
                    set::MANIFEST
                )
            })
        })?;
        if manifest.kind != set::SetKind::Sweep {
            return Err(SweepError::Merge(format!(
                "{}: lists the outputs of another command, not of a sweep",
                path.display()
            )));
        }
        Ok(manifest)
    }

    /// Checks that `bytes`, read from the folder's `name`, are what the sweep wrote: the size
    /// and SHA-256 the manifest lists. Otherwise the file was changed (by hand, or damaged)
    /// after the sweep wrote it.
    fn check(&self, name: &str, bytes: &[u8]) -> Result<(), SweepError> {
        let path = self.dir.join(name);
        let manifest_path = self.dir.join(set::MANIFEST);
        let manifest = self.manifest()?;
        let entry = manifest
            .files
            .iter()
            .find(|entry| entry.path == name)
            .ok_or_else(|| {
                SweepError::Merge(format!(
                    "{}: not listed in {}: the folder is damaged; run the sweep again",
                    path.display(),
                    manifest_path.display()
                ))
            })?;
        if bytes.len() as u64 != entry.bytes || set::sha256_hex(bytes) != entry.sha256 {
            return Err(SweepError::Merge(format!(
                "{}: changed since the sweep wrote it (its size or SHA-256 is not the one {} \
                 lists): the shard is damaged; run the sweep again",
                path.display(),
                manifest_path.display()
            )));
        }
        Ok(())
    }

    /// Checks `sweep.json`, read by `open`, against the manifest.
    fn check_header(&self) -> Result<(), SweepError> {
        self.check("sweep.json", &self.header_bytes)
    }

    /// `runs.csv`, checked against the manifest, then line by line.
    fn runs(&self, meta: &SweepMeta) -> Result<Vec<RunRecord>, SweepError> {
        let (path, bytes) = read_sweep_file(&self.dir, "runs.csv", MAX_RUNS_CSV_BYTES)?;
        self.check("runs.csv", &bytes)?;
        parse_runs_csv(&path, &bytes, meta)
    }
}

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
    let shards: Vec<Folder> = shard_dirs
        .iter()
        .map(|dir| Folder::open(dir))
        .collect::<Result<_, _>>()?;
    let first_dir = &shards[0].dir;
    let first = &shards[0].header;
    if first.version != crate::VERSION {
        return Err(SweepError::Merge(format!(
            "{} was written by sim {} but this is sim {}: merge with the same version",
            first_dir.display(),
            first.version,
            crate::VERSION
        )));
    }
    let differs = |dir: &Path, what: &str| {
        SweepError::Merge(format!(
            "{} and {} have different {what}: they are not shards of one sweep",
            first_dir.display(),
            dir.display()
        ))
    };
    for Folder { dir, header, .. } in &shards {
        if header.version != first.version {
            return Err(differs(dir, "program versions"));
        }
    }
    // The rest of sweep.json is believed only once it is the file the sweep wrote.
    for shard in &shards {
        shard.check_header()?;
    }
    for Folder { dir, header, .. } in &shards {
        let differs = |what: &str| differs(dir, what);
        // Before the scenario hash: `--seed` is part of the hash too, and the seeds are the
        // difference a user can act on.
        if header.base_seed != first.base_seed {
            return Err(SweepError::Merge(format!(
                "{} and {} have different seeds ({} and {}): they are not shards of one sweep; \
                 run every shard with the same --seed",
                first_dir.display(),
                dir.display(),
                first.base_seed,
                header.base_seed
            )));
        }
        if header.scenario_hash != first.scenario_hash || header.scenario != first.scenario {
            return Err(differs("scenarios (file contents or --set overrides)"));
        }
        if header.grid != first.grid {
            return Err(differs("grids"));
        }
        if header.replications != first.replications {
            return Err(differs(&format!(
                "replication counts ({} and {})",
                first.replications, header.replications
            )));
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
        if shard.index == 0 || shard.index > shard.count {
            return Err(SweepError::Merge(format!(
                "{}: sweep.json says shard {shard}, which no --shard k/n gives (1 <= k <= n)",
                dir.display()
            )));
        }
        let first_count = first.shard.map_or(0, |s| s.count);
        if shard.count != first_count {
            return Err(differs("shard counts (--shard k/n with different n)"));
        }
    }
    let count = first.shard.map_or(0, |s| s.count);
    let mut seen = vec![None::<&Path>; count as usize];
    for Folder { dir, header, .. } in &shards {
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
        && let Some(shard) = shards
            .iter()
            .find(|shard| shard.dir.canonicalize().is_ok_and(|dir| dir == target))
    {
        return Err(SweepError::Merge(format!(
            "--out {} would overwrite the shard in {}: merge into another folder",
            out_dir.display(),
            shard.dir.display()
        )));
    }

    let mut meta = first.meta();
    meta.shard = None;
    if let Search::Halving(h) = meta.search {
        return merge_round(&shards, meta, h, out_dir, plots);
    }
    let plan = meta.plan();
    let mut slots: Vec<Option<RunRecord>> = vec![None; plan.total_runs()];
    for folder in &shards {
        let Folder { dir, header, .. } = folder;
        let shard = header.shard.expect("checked above");
        let records = folder.runs(&meta)?;
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
    shards: &[Folder],
    mut meta: SweepMeta,
    h: halving::Halving,
    out_dir: &Path,
    plots: bool,
) -> Result<SweepOutcome, SweepError> {
    let round = meta.round.ok_or_else(|| {
        SweepError::Merge(format!(
            "{} is not a shard of a halving round",
            shards[0].dir.display()
        ))
    })?;
    meta.round = None;
    type Key = (usize, u32);
    let mut union: std::collections::BTreeMap<Key, RunRecord> = Default::default();
    let mut per_shard: Vec<Vec<Key>> = Vec::new();
    for folder in shards {
        let Folder { dir, header, .. } = folder;
        let records = folder.runs(&meta)?;
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
    for (Folder { dir, header, .. }, keys) in shards.iter().zip(&per_shard) {
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
    let folder = Folder::open(from)?;
    let Folder { dir, header, .. } = &folder;
    let refuse = |why: &str| SweepError::Merge(format!("--from {}: {why}", dir.display()));
    if header.version != meta.version {
        return Err(refuse("written by another version of sim"));
    }
    folder.check_header()?;
    if header.base_seed != meta.base_seed {
        return Err(refuse(&format!(
            "its rounds ran with seed {} but this sweep has seed {}: carry on with \
             --seed {}",
            header.base_seed, meta.base_seed, header.base_seed
        )));
    }
    if header.scenario_hash != meta.scenario_hash || header.scenario != meta.scenario {
        return Err(refuse(
            "another scenario (file contents or --set overrides differ)",
        ));
    }
    if header.grid != meta.grid || header.replications != meta.replications {
        return Err(refuse("another grid or replication count"));
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
    let records = folder.runs(meta)?;
    if records.len() != header.runs_in_file {
        return Err(refuse(
            "runs.csv does not match sweep.json: merge the round again",
        ));
    }
    Ok(records)
}
