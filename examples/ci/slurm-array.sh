#!/bin/bash
# A sharded sweep as a Slurm array: task k of 4 runs shard k/4 with the CPUs Slurm gave it,
# into shards/k; --resume makes a requeued task pick up the runs it had saved. The sweep is 16
# points x 2 replications, 32 runs: 8 a task, one on each of its 8 CPUs (more CPUs than runs
# would sit idle; for a bigger grid, raise the array and the --shard count together). Run it
# from the repository (or any folder holding scenarios/, with sim on the PATH):
#   bash examples/ci/slurm-array.sh
# submits the array, then the merge, which starts once every task has succeeded.
#SBATCH --job-name=sim-sweep
#SBATCH --array=1-4
#SBATCH --cpus-per-task=8
set -euo pipefail

if [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
    # Not inside the array yet: submit it, and the merge after it.
    job=$(sbatch --parsable "$0")
    sbatch --dependency="afterok:${job}" --job-name=sim-merge \
        --wrap "sim merge shards/* --out results/sweep-cache-min-instances"
    exit 0
fi

sim sweep scenarios/gradient-labs/sweep-cache-min-instances.toml \
    --shard "${SLURM_ARRAY_TASK_ID}/4" --jobs "${SLURM_CPUS_PER_TASK}" \
    --out "shards/${SLURM_ARRAY_TASK_ID}" --resume --quiet
