"""Writes postmortem.ipynb (without outputs) from the cells below, so the notebook's source
stays reviewable as a plain Python file. Run: python notebooks/make_notebook.py"""

import nbformat
from pathlib import Path

cells = []


def md(text):
    cells.append(nbformat.v4.new_markdown_cell(text.strip()))


def code(text):
    cells.append(nbformat.v4.new_code_cell(text.strip()))


md("""
# Postmortem: the Gradient Labs cache cascade, replayed by sim

This notebook reads the committed canonical results in `results/gradient-labs/` (regenerate them
with `cargo xtask results`). It never re-implements the model: every number here comes from
sim's own outputs. It redraws the timeline of `incident.toml` and adds what the static figure
lacks: a per-phase table and the relation between the instance count and the time activities
wait for a worker.
""")

code("""
import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

RESULTS = Path("..") / "results" / "gradient-labs"
if not RESULTS.exists():  # run from the repository root
    RESULTS = Path("results") / "gradient-labs"
incident = RESULTS / "incident"
ts = pd.read_csv(incident / "timeseries.csv")
events = pd.read_csv(incident / "events.csv")
summary = json.loads((incident / "summary.json").read_text())
ts["t_h"] = ts["t_s"] / 3600.0
providers = [c.removeprefix("llm_latency_p95_s_") for c in ts.columns if c.startswith("llm_latency_p95_s_")]
print(f"{summary['scenario']}: {len(ts)} rows over {summary['horizon_s'] / 3600:.0f} h, "
      f"{summary['crashes']['oom']} OOM crashes, providers {providers}")
""")

md("## The timeline, redrawn")

code("""
markers = events[events["kind"].isin(["intervention", "deploy"])].drop_duplicates("t_s")
crashes = events[events["kind"] == "oom_crash"]
fig, axes = plt.subplots(5, 1, figsize=(14, 16), sharex=True)
mib = 2 ** 20
ax = axes[0]
ax.plot(ts["t_h"], ts["memory_bytes_max"] / mib, label="max")
ax.plot(ts["t_h"], ts["memory_bytes_mean"] / mib, label="mean")
ax.step(ts["t_h"], ts["memory_limit_bytes"] / mib, where="post", color="red", ls="--", label="limit")
ax.scatter(crashes["t_s"] / 3600, [0] * len(crashes), marker="x", color="red", label="OOM crash")
ax.set_ylabel("memory per instance (MiB)")
ax = axes[1]
for column in ["instances_running", "instances_starting", "instances_desired"]:
    ax.plot(ts["t_h"], ts[column], label=column.removeprefix("instances_"))
ax.set_ylabel("instances")
ax = axes[2]
ax.plot(ts["t_h"], 100 * ts["cpu_utilization"], label="CPU")
ax.set_ylabel("CPU utilisation (%)")
ax = axes[3]
ax.plot(ts["t_h"], ts["activity_backlog"], label="activity backlog")
ax.set_ylabel("activities waiting")
right = ax.twinx()
right.plot(ts["t_h"], ts["activity_schedule_to_start_p95_s"], color="tab:orange", label="schedule-to-start p95")
right.set_ylabel("schedule-to-start p95 (s)")
ax = axes[4]
ax.plot(ts["t_h"], ts["response_latency_p95_s"], lw=2, label="response p95")
ax.plot(ts["t_h"], ts["response_latency_p50_s"], label="response p50")
for provider in providers:
    # As in sim's figure: a p95 over fewer than 20 calls is the slowest call; leave it out.
    p95 = ts[f"llm_latency_p95_s_{provider}"].where(ts[f"llm_calls_{provider}"] >= 20)
    ax.plot(ts["t_h"], p95, lw=1, label=f"LLM p95 {provider}")
ax.set_ylabel("latency (s)")
ax.set_xlabel("simulated time (h)")
for ax in axes:
    for t in markers["t_s"]:
        ax.axvline(t / 3600, color="purple", ls=":", lw=1)
    ax.legend(loc="upper left", fontsize=8)
for _, marker in markers.iterrows():
    axes[0].annotate(str(marker["detail"])[:40], (marker["t_s"] / 3600, axes[0].get_ylim()[1]),
                     rotation=90, va="top", fontsize=7, color="purple")
fig.tight_layout()
plt.show()
""")

md("""
## Per phase: what each intervention changed

Phases run from one timeline intervention to the next. The static figure shows the curves; the
table gives each phase's numbers, so the postmortem can quote them.
""")

code("""
cuts = [0.0] + sorted(markers["t_s"].tolist()) + [ts["t_s"].max() + 1]
labels = ["start"] + [str(d).split(":")[0] for d in markers.sort_values("t_s")["detail"]]
ts["phase"] = pd.cut(ts["t_s"], bins=cuts, labels=[f"{i}: {l}" for i, l in enumerate(labels)],
                     right=False, duplicates="drop")
agg = {
    "instances_running": "mean",
    "cpu_utilization": "mean",
    "crashes": "sum",
    "memory_bytes_max": "max",
    "activity_schedule_to_start_p95_s": "median",
    "response_latency_p95_s": "median",
}
agg.update({f"llm_latency_p95_s_{p}": "median" for p in providers})
phases = ts.groupby("phase", observed=True).agg(agg)
phases["hours"] = ts.groupby("phase", observed=True)["t_s"].agg(lambda s: (s.max() - s.min()) / 3600)
phases["memory_gib_max"] = phases.pop("memory_bytes_max") / 2 ** 30
phases.round(3)
""")

md("""
## Fewer instances, longer waits

Each point is one sample interval. Across phases, the activity schedule-to-start latency is a
function of how many instances are running, not of the LLM providers, whose own latency stays
flat: the queue moved, the providers did not.
""")

code("""
fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5))
for phase, rows in ts.groupby("phase", observed=True):
    left.scatter(rows["instances_running"], rows["activity_schedule_to_start_p95_s"], s=8, label=phase)
left.set_xlabel("instances running")
left.set_ylabel("activity schedule-to-start p95 (s)")
left.set_yscale("symlog", linthresh=0.01)
left.legend(fontsize=7)
provider_p95 = phases[[f"llm_latency_p95_s_{p}" for p in providers]]
provider_p95.columns = providers
provider_p95.plot.bar(ax=right, rot=20)
right.set_ylabel("LLM call latency p95 (s), median per phase")
fig.tight_layout()
plt.show()
correlation = ts[["instances_running", "activity_schedule_to_start_p95_s"]].corr(method="spearman").iloc[0, 1]
print(f"Spearman correlation, instances vs schedule-to-start p95: {correlation:.2f}")
""")

md("## The four what-if scenarios side by side")

code("""
rows = []
for name in ["01-cache-oom", "02-more-memory", "03-small-cache", "04-min-instances"]:
    path = RESULTS / name / "summary.json"
    if not path.exists():
        continue
    s = json.loads(path.read_text())
    rows.append({
        "scenario": name,
        "oom crashes": s["crashes"]["oom"],
        "instances mean": s["instances"]["mean"],
        "activity schedule-to-start p95 (s)": s["activity_schedule_to_start_s"]["p95"],
        "response p95 (s)": s["response_latency_s"]["p95"],
        "compute $": s["cost_usd"]["compute"],
        "SLOs failed": ", ".join(x["name"] for x in s["slo"] if not x["ok"]) or "none",
    })
pd.DataFrame(rows).set_index("scenario").round(3)
""")

# Cell ids by position, not nbformat's random ones, so regenerating the notebook changes only
# the cells whose source changed (and the rendered HTML only there).
for index, cell in enumerate(cells):
    cell["id"] = f"cell-{index}"
nb = nbformat.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbformat.write(nb, Path(__file__).with_name("postmortem.ipynb"))
