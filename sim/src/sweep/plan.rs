//! The plan of a sweep: grid points × replications = runs. Run `(point, replication)` has the
//! global index `point * replications + replication` and the seed
//! `replication_seed(base_seed, replication)`: the same seed for replication r of every point,
//! which gives the points common random numbers (the same customers, turns and tokens).
//!
//! Shards: `--shard k/n` (1-based k, 1 <= k <= n) takes the runs whose global index ≡ k - 1
//! (mod n). Round-robin rather than contiguous blocks, so that expensive corners of the grid
//! spread over all shards.

use crate::engine::rng::replication_seed;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One run of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RunId {
    pub point: usize,
    pub replication: u32,
}

/// `--shard k/n`: the k-th (1-based) of n disjoint subsets of the runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 1-based.
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub fn contains(self, global_index: usize) -> bool {
        global_index % self.count as usize == (self.index - 1) as usize
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard `{text}`: expected k/n with 1 <= k <= n, e.g. 1/4");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = k.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Points × replications, with the base seed the replication seeds derive from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    pub points: usize,
    pub replications: u32,
    pub base_seed: u64,
}

impl Plan {
    pub fn total_runs(&self) -> usize {
        self.points * self.replications as usize
    }

    pub fn global_index(&self, run: RunId) -> usize {
        run.point * self.replications as usize + run.replication as usize
    }

    pub fn run_at(&self, global_index: usize) -> RunId {
        let reps = self.replications as usize;
        RunId {
            point: global_index / reps,
            replication: (global_index % reps) as u32,
        }
    }

    pub fn seed(&self, run: RunId) -> u64 {
        replication_seed(self.base_seed, run.replication)
    }

    /// The runs of `shard` (all runs when `None`), in global index order.
    pub fn runs(&self, shard: Option<Shard>) -> Vec<RunId> {
        (0..self.total_runs())
            .filter(|&i| shard.is_none_or(|s| s.contains(i)))
            .map(|i| self.run_at(i))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_runs() {
        let plan = Plan {
            points: 5,
            replications: 3,
            base_seed: 7,
        };
        let mut all: Vec<RunId> = (1..=4)
            .flat_map(|k| plan.runs(Some(Shard { index: k, count: 4 })))
            .collect();
        all.sort();
        assert_eq!(all, plan.runs(None));
        assert_eq!(
            plan.runs(Some("2/4".parse().unwrap()))[0],
            RunId {
                point: 0,
                replication: 1
            }
        );
    }

    #[test]
    fn replication_seeds_are_shared_by_points() {
        let plan = Plan {
            points: 2,
            replications: 2,
            base_seed: 7,
        };
        let a = plan.seed(RunId {
            point: 0,
            replication: 1,
        });
        assert_eq!(
            a,
            plan.seed(RunId {
                point: 1,
                replication: 1
            })
        );
        assert_ne!(
            a,
            plan.seed(RunId {
                point: 1,
                replication: 0
            })
        );
        assert_eq!(
            plan.seed(RunId {
                point: 1,
                replication: 0
            }),
            7
        );
    }

    #[test]
    fn shard_syntax() {
        assert_eq!("3/8".parse::<Shard>(), Ok(Shard { index: 3, count: 8 }));
        for bad in ["0/4", "5/4", "1/0", "1", "a/b", "1/4/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
