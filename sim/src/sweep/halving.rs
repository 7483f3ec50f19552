//! Successive halving (`[sweep] search = "halving"`): a search for the best feasible point of a
//! grid too big to run whole. Round 0 runs every point with `initial_replications`; after each
//! round the points that can no longer be the best feasible point are eliminated, and the
//! survivors get `factor` times the replications (capped at the sweep's `replications`), until a
//! round has run its survivors at the full count.
//!
//! Every run is the run the exhaustive grid does for that (point, replication), with the same
//! seed, so halving's numbers are the grid's numbers for the runs it does.
//!
//! The elimination rule, after a round in which every surviving point has n replications:
//! - a point with a run that broke an SLO is out: the grid calls a point feasible only when
//!   every replication holds every SLO, and these are the grid's own runs, so that point is not
//!   the grid's best feasible point either. A failed run is a verdict, not noise;
//! - the points whose runs all held every SLO so far are ranked by the objective's mean (then by
//!   point number). The first ⌈alive / factor⌉ of them are kept (alive: the points that entered
//!   the round); a point past that cut is kept as well unless it is worse than the last kept
//!   point at 95% by a paired comparison (the per-replication differences of the objective,
//!   replication r against replication r: common random numbers make these differences far less
//!   noisy than either point). With one replication there is no spread to judge by and the cut
//!   alone decides;
//! - when a round ran at the full replication count it is the last one.
//!
//! The schedule is a pure function of the runs already done (`progress`), which is what makes
//! halving shard-friendly: a shard of round k is given the merged runs of rounds 0..k (`--from`),
//! computes round k's runs itself and runs its share (round-robin over the round's run list);
//! `sim merge` of round k's shards either writes the next round's starting point or, after the
//! last round, the final outputs, byte-identical to the unsharded search.

use super::RunRecord;
use super::plan::{RunId, Shard};
use crate::metrics::stats::Stats;
use serde::{Deserialize, Serialize};

/// How a sweep chooses its runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Search {
    /// Every point at the full replication count.
    #[default]
    Grid,
    /// Successive halving.
    Halving(Halving),
}

impl Search {
    pub fn is_grid(&self) -> bool {
        matches!(self, Search::Grid)
    }
}

/// The parameters of successive halving.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Halving {
    /// Replications of every point in round 0.
    pub initial_replications: u32,
    /// Each round keeps about 1/factor of the points and gives them factor times the
    /// replications.
    pub factor: u32,
}

/// The default initial replications and factor.
pub const DEFAULT_INITIAL_REPLICATIONS: u32 = 1;
pub const DEFAULT_FACTOR: u32 = 2;
/// The factor's bounds: 2 halves, 16 keeps one point in sixteen.
pub const MIN_FACTOR: u32 = 2;
pub const MAX_FACTOR: u32 = 16;

/// The search of a sweep from the command line's flags (`cli`), else the file's `[sweep]`
/// keys, else the grid; a halving search's defaults are 1 initial replication and a factor of 2.
/// Halving settings without halving, and more initial replications than the sweep's count,
/// are errors.
pub fn choose(
    cli: crate::scenario::SearchTable,
    file: crate::scenario::SearchTable,
    replications: u32,
) -> Result<Search, super::GridError> {
    let bad = |message: String| super::GridError { message };
    if !cli.halving.or(file.halving).unwrap_or(false) {
        if cli.initial_replications.is_some() || cli.halving_factor.is_some() {
            return Err(bad(
                "--initial-replications and --halving-factor are settings of a halving \
                 search: add --search halving"
                    .into(),
            ));
        }
        return Ok(Search::Grid);
    }
    let initial_replications = cli
        .initial_replications
        .or(file.initial_replications)
        .unwrap_or(DEFAULT_INITIAL_REPLICATIONS);
    let factor = cli
        .halving_factor
        .or(file.halving_factor)
        .unwrap_or(DEFAULT_FACTOR);
    if initial_replications > replications {
        return Err(bad(format!(
            "the halving search starts at {initial_replications} replications, more than the \
             sweep's {replications} it ends at: lower the initial replications or raise \
             --replications"
        )));
    }
    Ok(Search::Halving(Halving {
        initial_replications,
        factor,
    }))
}

/// Why and when a point left the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elimination {
    /// 0-based round after which it left.
    pub round: u32,
    pub reason: Reason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A run broke an SLO.
    SloFailed,
    /// Ranked past the cut and worse than the last kept point at 95%.
    Outranked,
}

impl Elimination {
    /// Words for the table: "round 1, SLO failed".
    pub fn describe(&self) -> String {
        let why = match self.reason {
            Reason::SloFailed => "SLO failed",
            Reason::Outranked => "outranked",
        };
        format!("round {}, {why}", self.round)
    }
}

/// Where a halving search stands, given the runs done so far.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// The runs of each completed round, in run order.
    pub rounds: Vec<Vec<RunId>>,
    /// The round to run next and its runs (point, then replication), or `None` when the search
    /// is over.
    pub next: Option<(u32, Vec<RunId>)>,
    /// Per point: when it left the search (`None` for the points still in it, or at the end the
    /// points that reached the full replication count).
    pub eliminated: Vec<Option<Elimination>>,
}

/// The runs of `round_runs` that belong to `shard` (round-robin over the round's run list).
pub fn shard_runs(round_runs: &[RunId], shard: Option<Shard>) -> Vec<RunId> {
    round_runs
        .iter()
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|s| s.contains(*i)))
        .map(|(_, &run)| run)
        .collect()
}

/// Replays the search over `records` (any order): which rounds are complete, which points left
/// when, and the next round's runs. An error when the records are not the runs of whole rounds
/// of this search (a run the search would not do, or a round only partly done).
pub fn progress(
    halving: Halving,
    points: usize,
    replications: u32,
    objective: usize,
    records: &[RunRecord],
) -> Result<Progress, String> {
    let full = replications as usize;
    // by_point[p][r]: the record of run (p, r), if done.
    let mut by_point: Vec<Vec<Option<&RunRecord>>> = vec![vec![None; full]; points];
    for record in records {
        let slot = by_point
            .get_mut(record.point)
            .and_then(|runs| runs.get_mut(record.replication as usize))
            .ok_or_else(|| {
                format!(
                    "run {}-{} is outside the grid",
                    record.point, record.replication
                )
            })?;
        if slot.replace(record).is_some() {
            return Err(format!(
                "run {}-{} appears twice",
                record.point, record.replication
            ));
        }
    }
    let mut used = 0usize;
    let mut rounds: Vec<Vec<RunId>> = Vec::new();
    let mut eliminated: Vec<Option<Elimination>> = vec![None; points];
    let mut alive: Vec<usize> = (0..points).collect();
    let mut done = 0usize; // replications every alive point has
    let mut target = (halving.initial_replications as usize).clamp(1, full);
    let next = loop {
        let round = rounds.len() as u32;
        let runs: Vec<RunId> = alive
            .iter()
            .flat_map(|&point| {
                (done..target).map(move |r| RunId {
                    point,
                    replication: r as u32,
                })
            })
            .collect();
        let present = runs
            .iter()
            .filter(|run| by_point[run.point][run.replication as usize].is_some())
            .count();
        if present == 0 && !runs.is_empty() {
            break Some((round, runs));
        }
        if present != runs.len() {
            return Err(format!(
                "round {round} is incomplete: {present} of its {} runs are done",
                runs.len()
            ));
        }
        used += present;
        rounds.push(runs);
        done = target;
        // SLO failures are final.
        let quota = alive.len().div_ceil(halving.factor as usize).max(1);
        let mut ranked: Vec<usize> = Vec::new();
        for &point in &alive {
            let failed = by_point[point][..done]
                .iter()
                .any(|r| r.is_some_and(|r| !r.slo_ok()));
            if failed {
                eliminated[point] = Some(Elimination {
                    round,
                    reason: Reason::SloFailed,
                });
            } else {
                ranked.push(point);
            }
        }
        let values = |point: usize| -> Vec<f64> {
            by_point[point][..done]
                .iter()
                .map(|r| r.expect("a complete round").values[objective])
                .collect()
        };
        if done == full || ranked.is_empty() {
            break None;
        }
        let means: Vec<f64> = ranked.iter().map(|&p| Stats::of(&values(p)).mean).collect();
        let mut order: Vec<usize> = (0..ranked.len()).collect();
        order.sort_by(|&a, &b| {
            means[a]
                .total_cmp(&means[b])
                .then(ranked[a].cmp(&ranked[b]))
        });
        let ranked: Vec<usize> = order.into_iter().map(|i| ranked[i]).collect();
        let cut = quota.min(ranked.len());
        let last_kept = values(ranked[cut - 1]);
        let mut survivors: Vec<usize> = ranked[..cut].to_vec();
        for &point in &ranked[cut..] {
            if clearly_worse(&values(point), &last_kept) {
                eliminated[point] = Some(Elimination {
                    round,
                    reason: Reason::Outranked,
                });
            } else {
                survivors.push(point);
            }
        }
        survivors.sort_unstable();
        alive = survivors;
        target = if alive.len() == 1 {
            full
        } else {
            (done * halving.factor as usize).min(full)
        };
    };
    if used != records.len() {
        return Err(format!(
            "{} runs do not belong to the rounds of this search",
            records.len() - used
        ));
    }
    Ok(Progress {
        rounds,
        next,
        eliminated,
    })
}

/// Whether `a` is worse (higher) than `b` at 95%, from the paired differences a_r - b_r: the
/// lower end of the difference's 95% interval is above zero. With one pair there is no spread
/// to judge by, and the rank alone decides: `a` is ranked behind `b`, so it is worse.
fn clearly_worse(a: &[f64], b: &[f64]) -> bool {
    let differences: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let paired = Stats::of(&differences);
    paired.ci95.is_none_or(|half| paired.mean - half > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(point: usize, replication: u32, objective: f64, ok: bool) -> RunRecord {
        let mut values = [0.0; super::super::metrics::METRIC_COUNT];
        values[0] = objective;
        RunRecord {
            point,
            replication,
            seed: replication as u64,
            values,
            slo_failed: if ok { Vec::new() } else { vec!["p95".into()] },
        }
    }

    const HALVING: Halving = Halving {
        initial_replications: 1,
        factor: 2,
    };

    #[test]
    fn the_first_round_is_every_point_at_the_initial_count() {
        let p = progress(HALVING, 4, 4, 0, &[]).unwrap();
        let (round, runs) = p.next.unwrap();
        assert_eq!(round, 0);
        assert_eq!(runs.len(), 4);
        assert!(runs.iter().all(|r| r.replication == 0));
    }

    #[test]
    fn a_failed_run_is_final_and_the_cut_keeps_half() {
        // Point 0 is cheapest but broke an SLO; 1 and 2 are kept (4 alive / 2), 3 goes.
        let records = [
            record(0, 0, 1.0, false),
            record(1, 0, 2.0, true),
            record(2, 0, 3.0, true),
            record(3, 0, 4.0, true),
        ];
        let p = progress(HALVING, 4, 4, 0, &records).unwrap();
        assert_eq!(p.eliminated[0].unwrap().reason, Reason::SloFailed);
        assert_eq!(p.eliminated[3].unwrap().reason, Reason::Outranked);
        assert_eq!(p.eliminated[1], None);
        let (round, runs) = p.next.unwrap();
        assert_eq!(round, 1);
        let ids: Vec<(usize, u32)> = runs.iter().map(|r| (r.point, r.replication)).collect();
        assert_eq!(ids, [(1, 1), (2, 1)]);
    }

    #[test]
    fn a_point_not_clearly_worse_than_the_cut_survives() {
        let halving = Halving {
            initial_replications: 2,
            factor: 2,
        };
        // Point 2 is behind point 1 on average but their paired differences disagree in sign;
        // point 3 is behind by exactly 1 in both replications: clearly worse.
        let records = [
            record(0, 0, 1.0, true),
            record(0, 1, 1.0, true),
            record(1, 0, 2.0, true),
            record(1, 1, 2.0, true),
            record(2, 0, 1.5, true),
            record(2, 1, 3.0, true),
            record(3, 0, 3.0, true),
            record(3, 1, 3.0, true),
        ];
        let p = progress(halving, 4, 8, 0, &records).unwrap();
        assert_eq!(p.eliminated[2], None);
        assert_eq!(p.eliminated[3].unwrap().reason, Reason::Outranked);
        let (_, runs) = p.next.unwrap();
        assert_eq!(
            runs.len(),
            3 * 2,
            "three survivors from 2 to 4 replications"
        );
    }

    #[test]
    fn an_incomplete_round_and_a_stray_run_are_refused() {
        let records = [record(0, 0, 1.0, true), record(1, 0, 2.0, true)];
        let err = progress(HALVING, 3, 4, 0, &records).unwrap_err();
        assert!(err.contains("round 0 is incomplete"), "{err}");
        let stray = [
            record(0, 0, 1.0, true),
            record(1, 0, 2.0, true),
            record(1, 3, 2.0, true),
        ];
        let err = progress(HALVING, 2, 4, 0, &stray).unwrap_err();
        assert!(err.contains("do not belong"), "{err}");
    }

    #[test]
    fn a_lone_survivor_goes_to_the_full_count_and_the_search_ends() {
        let records = [record(0, 0, 1.0, true), record(1, 0, 2.0, true)];
        let p = progress(HALVING, 2, 8, 0, &records).unwrap();
        let (_, runs) = p.next.clone().unwrap();
        assert_eq!(runs.len(), 7);
        let mut all = records.to_vec();
        all.extend(
            runs.iter()
                .map(|r| record(r.point, r.replication, 1.0, true)),
        );
        let p = progress(HALVING, 2, 8, 0, &all).unwrap();
        assert_eq!(p.next, None);
        assert_eq!(p.rounds.len(), 2);
        assert_eq!(p.eliminated[0], None);
    }
}
