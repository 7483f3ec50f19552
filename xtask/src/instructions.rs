//! `cargo xtask bench --instructions`: the instructions a run executes, counted by valgrind
//! (`--tool=cachegrind`, no cache simulation), for a few fixed workloads. Wall times on a shared
//! 2-vCPU host move by a third from one day to the next, and not even in proportion across
//! workloads (a contended day slowed the model more than the bare loop: see
//! `docs/performance.md`), so a change of a few percent to the hot path cannot be seen in
//! them; the instruction count of a single-threaded run is the same on every run of the same
//! binary, so it can. The performance log (`docs/performance.md`) judged each hot-path change
//! by such counts, taken by hand with callgrind (whose whole-process totals differ from these
//! by a fraction of a percent).
//!
//! Each model workload runs in a child process of this same xtask binary (`bench
//! --run-model`, which loads the scenario and calls `sim::model::run`, writing no outputs),
//! under valgrind; the same child loading the scenario without running it (`--load-only`) is
//! counted too, and the difference is the run's own instructions. One workload runs the `sim`
//! binary users run instead (`sim run ... --no-plots`, less `sim validate` of the same
//! scenario): it is optimised on its own (LTO across its commands) and inlines the hot path
//! differently from this xtask (its run loop once called `drain_immediate` per event where
//! the xtask's inlined it), so a change can cost there what it saves here. Its count includes
//! writing the outputs, not drawing the figures (a crate's fixed cost, about a fifth of a
//! short run's). The `sim` binary is built (`cargo build --release -p sim`) before the
//! children start. The children all start at once: the counts do not depend on how they
//! share the cores.
//! `--save FILE` writes the counts as JSON, `--compare FILE` prints each against a saved
//! one: `--save` on the base commit, then `--compare` on the change.
//!
//! `--simulate` turns on cachegrind's cache and branch-predictor simulation (`--cache-sim=yes
//! --branch-sim=yes`; the children take about twice as long) and adds each run's own first-level
//! misses (instruction and data), last-level misses and mispredicted branches, and KCachegrind's
//! cycle estimate of them (`Ir + 10 Bm + 10 L1m + 100 LLm`). An instruction count alone can
//! mislead: a lazy cache order took 1.0% off the M/M/c's instructions and made the support-agent
//! day 3% slower, through 23% more first-level data misses and 39% more mispredicted branches,
//! which the simulation shows and the count does not (`docs/performance.md`). Like the count,
//! the simulation gives the same figures on every run of the same binary on one machine
//! (cachegrind models the caches of the processor it runs on). It is a guide, not a verdict: its
//! branch predictor has no history, and a branch-free change with 19% fewer simulated
//! mispredictions once measured no faster. `--save` keeps them with the counts and `--compare`
//! compares them where both runs have them; `--check` gates on the instruction count alone.
//!
//! `--check` is the regression gate CI runs: it fails when a workload's count exceeds the one
//! committed in `xtask/instructions.json` by more than `CEILING_PERCENT`. The counts depend on
//! the toolchain and the valgrind version (and, by a little, on the processor: glibc picks its
//! `exp` and `memset` by CPU features), so the committed file names both, and where either
//! differs here the check says so and compares nothing rather than fail on a new compiler. A
//! change that costs instructions on purpose commits new counts with it (`--save
//! xtask/instructions.json`), and its message says why.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A workload: what `--save` calls it, the scenario (relative to the workspace), its
/// overrides, and whether it runs in the `sim` binary rather than in this xtask.
struct Workload {
    label: &'static str,
    scenario: &'static str,
    overrides: Vec<String>,
    binary: bool,
}

/// The committed counts `--check` compares against, relative to the workspace.
pub(crate) const COMMITTED: &str = "xtask/instructions.json";

/// `--check` fails when a workload's count is more than this much above the committed one.
/// Two runs of one binary count the same to the instruction, and the hot-path changes the
/// performance log records moved the counts by 0.5% to 8% (overflow checks: +7.8%; the crash
/// lists: +3.0% and +4.9%), so 2% lets a processor's different glibc routines through and stops a
/// change of that kind.
const CEILING_PERCENT: u64 = 2;

/// What `--save` writes and `--check` and `--compare` read: the counts, each workload's
/// run's own instructions and its events, and what they were counted with.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Saved {
    /// `rustc -V` of the toolchain that built the xtask binary counted.
    toolchain: String,
    /// `valgrind --version`.
    valgrind: String,
    workloads: BTreeMap<String, Count>,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Count {
    instructions: u64,
    events: u64,
    /// With `--simulate`: the run's own simulated misses and mispredictions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    simulated: Option<Simulated>,
}

/// Cachegrind's cache and branch simulation of a run (`--simulate`), less its loading's.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Simulated {
    /// First-level misses: instruction (`I1`) and data (`D1`).
    l1i_misses: u64,
    l1d_misses: u64,
    /// Last-level misses, instruction and data (`LL misses`).
    ll_misses: u64,
    /// Mispredicted branches, conditional and indirect (`Mispredicts`).
    mispredicts: u64,
}

impl Simulated {
    /// KCachegrind's cycle estimate, `Ir + 10 Bm + 10 L1m + 100 LLm`: crude, but it weighs
    /// what the instruction count leaves out.
    fn cycle_estimate(&self, instructions: u64) -> u64 {
        instructions
            + 10 * self.mispredicts
            + 10 * (self.l1i_misses + self.l1d_misses)
            + 100 * self.ll_misses
    }

    fn less(&self, load: &Simulated) -> Simulated {
        Simulated {
            l1i_misses: self.l1i_misses.saturating_sub(load.l1i_misses),
            l1d_misses: self.l1d_misses.saturating_sub(load.l1d_misses),
            ll_misses: self.ll_misses.saturating_sub(load.ll_misses),
            mispredicts: self.mispredicts.saturating_sub(load.mispredicts),
        }
    }
}

/// Short enough that all five take well under a minute under valgrind on 2 cores, long
/// enough that loading is a small share of each. The M/M/c is the bench's (`bench::mmc_overrides`)
/// at a shorter horizon.
fn workloads() -> [Workload; 5] {
    let horizon = |h: &str| format!("run.horizon={h}");
    let mut mmc: Vec<String> = crate::bench::mmc_overrides()
        .into_iter()
        .filter(|o| !o.starts_with("run.horizon="))
        .collect();
    mmc.push(horizon("4h"));
    let model = |label, scenario, overrides| Workload {
        label,
        scenario,
        overrides,
        binary: false,
    };
    [
        model("M/M/c rho=0.9 c=10, 4 h", crate::bench::MMC, mmc),
        model(
            "support-agent, 2 h",
            crate::bench::SUPPORT_AGENT,
            vec![horizon("2h")],
        ),
        model(
            "gradient-labs 01, 2 h",
            "scenarios/gradient-labs/01-cache-oom.toml",
            vec![horizon("2h")],
        ),
        model(
            "thoughtly-voice peak, 40 min",
            "scenarios/thoughtly-voice/peak.toml",
            vec![horizon("40m")],
        ),
        Workload {
            label: "sim run support-agent, 2 h (the sim binary)",
            scenario: crate::bench::SUPPORT_AGENT,
            overrides: vec![horizon("2h")],
            binary: true,
        },
    ]
}

/// What one child reports: valgrind's count, and the run's events and customer messages.
#[derive(Clone, Copy)]
struct Child {
    instructions: u64,
    events: u64,
    messages: u64,
    /// With `--simulate`.
    simulated: Option<Simulated>,
}

/// A run's own instructions: the child's that ran it less the one's that only loaded it.
fn own(full: &Child, load: &Child) -> u64 {
    full.instructions.saturating_sub(load.instructions)
}

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let (mut save, mut compare, mut check, mut simulate) = (None, None, false, false);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut path = |flag: &str| {
            args.next()
                .map(PathBuf::from)
                .ok_or_else(|| format!("bench --instructions: {flag} needs a file"))
        };
        match arg.as_str() {
            "--save" => save = Some(path("--save")?),
            "--compare" => compare = Some(path("--compare")?),
            "--check" => check = true,
            "--simulate" => simulate = true,
            other => {
                return Err(format!(
                    "bench --instructions: unexpected argument {other:?} (usage: cargo xtask \
                     bench --instructions [--check] [--simulate] [--save FILE] [--compare \
                     FILE])"
                ));
            }
        }
    }
    if check && compare.is_none() {
        compare = Some(root.join(COMMITTED));
    }
    let baseline = compare.as_deref().map(read_counts).transpose()?;
    let valgrind = match Command::new("valgrind").arg("--version").output() {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).trim().to_string()
        }
        _ => {
            return Err(
                "bench --instructions: valgrind not found on PATH (Debian and Ubuntu: apt-get \
                 install valgrind)"
                    .to_string(),
            );
        }
    };
    let toolchain = toolchain()?;
    let exe = std::env::current_exe()
        .map_err(|error| format!("bench --instructions: cannot find this program: {error}"))?;

    let workloads = workloads();
    // The `sim` binary, where a workload runs it: built first, as users build it.
    let sim = if workloads.iter().any(|w| w.binary) {
        Some(crate::process::build_sim(
            root,
            "bench --instructions",
            &[],
            &[],
        )?)
    } else {
        None
    };

    // Every child at once, each workload's run and its loading alone: the counts do not
    // depend on how the children share the cores, only the wall time does.
    let children = workloads
        .iter()
        .enumerate()
        .map(|(index, workload)| {
            let program = if workload.binary {
                Program::Sim {
                    exe: sim.as_deref().expect("built above for a binary workload"),
                    root,
                    out: out_dir(index),
                }
            } else {
                Program::Xtask(&exe)
            };
            Ok((
                spawn(&program, workload, false, simulate)?,
                spawn(&program, workload, true, simulate)?,
                program,
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut counts = Vec::new();
    for (workload, (run, load, program)) in workloads.iter().zip(children) {
        let full = collect(workload.label, &program, run, false, simulate);
        let load = collect(workload.label, &program, load, true, simulate);
        if let Program::Sim { out, .. } = &program {
            // A failed run may have left nothing to remove.
            let _ = std::fs::remove_dir_all(out);
        }
        counts.push((full?, load?));
    }

    let mut rows = Vec::new();
    for (Workload { label, .. }, (full, load)) in workloads.iter().zip(&counts) {
        let run = own(full, load);
        let mut row = vec![
            label.to_string(),
            millions(run),
            millions(load.instructions),
            full.events.to_string(),
            full.messages.to_string(),
            format!("{:.0}", run as f64 / full.events.max(1) as f64),
            format!("{:.0}", run as f64 / full.messages.max(1) as f64),
        ];
        let saved = baseline
            .as_ref()
            .and_then(|baseline| baseline.workloads.get(*label));
        if baseline.is_some() {
            row.push(match saved {
                Some(&Count {
                    instructions: before,
                    ..
                }) if before > 0 => change(before, run),
                _ => "-".to_string(),
            });
        }
        if let (Some(full_sim), Some(load_sim)) = (&full.simulated, &load.simulated) {
            let sim = full_sim.less(load_sim);
            row.push(millions(sim.l1d_misses));
            row.push(millions(sim.mispredicts));
            row.push(millions(sim.cycle_estimate(run)));
            if baseline.is_some() {
                row.push(match saved {
                    Some(Count {
                        instructions,
                        simulated: Some(before),
                        ..
                    }) => format!(
                        "D1 {}, mispredicts {}, cycles {}",
                        change(before.l1d_misses, sim.l1d_misses),
                        change(before.mispredicts, sim.mispredicts),
                        change(
                            before.cycle_estimate(*instructions),
                            sim.cycle_estimate(run)
                        )
                    ),
                    _ => "- (saved without --simulate)".to_string(),
                });
            }
        }
        rows.push(row);
    }
    let mut header = vec![
        "workload",
        "run",
        "loading",
        "events",
        "messages",
        "per event",
        "per message",
    ];
    if baseline.is_some() {
        header.push("against the saved run");
    }
    if simulate {
        header.extend(["D1 misses", "mispredicts", "cycle estimate"]);
        if baseline.is_some() {
            header.push("simulated, against the saved run");
        }
    }
    println!("{}", crate::bench::render_table(&header, &rows));
    println!(
        "instructions (valgrind --tool=cachegrind) of sim::model::run in this \
         xtask's process, less those of loading the scenario alone; of the sim binary, `sim \
         run --no-plots` (the run and its outputs) less `sim validate`; the same for every \
         run of the same binaries on this machine"
    );
    if simulate {
        println!(
            "simulated (--cache-sim=yes --branch-sim=yes, the run's own, less its loading's): \
             first-level data misses, mispredicted branches, and KCachegrind's cycle estimate \
             Ir + 10 Bm + 10 L1m + 100 LLm (L1m: instruction and data misses)"
        );
    }
    for workload in &workloads {
        let sets: String = (workload.overrides.iter())
            .map(|o| format!(" --set {o}"))
            .collect();
        let how = if workload.binary {
            "sim run --no-plots "
        } else {
            ""
        };
        println!("{}: {how}{}{sets}", workload.label, workload.scenario);
    }
    println!(
        "command: cargo xtask bench --instructions{}",
        if simulate { " --simulate" } else { "" }
    );
    let now = Saved {
        toolchain,
        valgrind,
        workloads: workloads
            .iter()
            .zip(&counts)
            .map(|(Workload { label, .. }, (full, load))| {
                let count = Count {
                    instructions: own(full, load),
                    events: full.events,
                    simulated: full
                        .simulated
                        .zip(load.simulated)
                        .map(|(full, load)| full.less(&load)),
                };
                (label.to_string(), count)
            })
            .collect(),
    };
    if let Some(path) = save {
        let json = serde_json::to_string_pretty(&now).expect("strings and numbers serialise");
        std::fs::write(&path, json + "\n")
            .map_err(|error| format!("bench --instructions: {}: {error}", path.display()))?;
        println!("saved to {}", path.display());
    }
    if check {
        let committed = baseline
            .as_ref()
            .expect("--check reads the committed counts");
        let against = compare.as_deref().expect("--check has a file").display();
        match verdict(committed, &now) {
            Verdict::Within(lines) => {
                for line in lines {
                    println!("{line}");
                }
                println!("check: every count within {CEILING_PERCENT}% of {against}: met");
            }
            Verdict::Skipped(why) => println!("check: SKIPPED, nothing compared: {why}"),
            Verdict::Above(lines) => {
                return Err(format!(
                    "bench --instructions --check: above the ceiling of {against} (its count \
                     + {CEILING_PERCENT}%):\n{}\nmake the change cheaper, or if the cost is \
                     meant, commit new counts with it: cargo xtask bench --instructions --save \
                     {COMMITTED}",
                    lines.join("\n")
                ));
            }
        }
    }
    Ok(())
}

/// What `--check` finds: every count within the ceiling (with a line for each that fell
/// well below it, whose counts could be committed to tighten it), some above it, or nothing
/// comparable.
#[derive(Debug, PartialEq)]
enum Verdict {
    Within(Vec<String>),
    Above(Vec<String>),
    Skipped(String),
}

fn verdict(committed: &Saved, now: &Saved) -> Verdict {
    for (what, then, here) in [
        ("toolchain", &committed.toolchain, &now.toolchain),
        ("valgrind", &committed.valgrind, &now.valgrind),
    ] {
        if then != here {
            return Verdict::Skipped(format!(
                "the saved counts were taken with {what} {then:?}, this is {here:?}; \
                 commit counts taken with it (cargo xtask bench --instructions --save \
                 {COMMITTED}) to check against"
            ));
        }
    }
    let (mut above, mut below) = (Vec::new(), Vec::new());
    for (label, count) in &now.workloads {
        let Some(then) = committed.workloads.get(label) else {
            above.push(format!(
                "{label}: no committed count (a new or renamed workload)"
            ));
            continue;
        };
        let change = (count.instructions as f64 / then.instructions.max(1) as f64 - 1.0) * 100.0;
        let line = format!(
            "{label}: {} -> {} ({change:+.2}%){}",
            millions(then.instructions),
            millions(count.instructions),
            if count.events == then.events {
                String::new()
            } else {
                format!(", events {} -> {}", then.events, count.events)
            }
        );
        // In integers: the ceiling itself is within it.
        let (here, there) = (
            u128::from(count.instructions) * 100,
            u128::from(then.instructions),
        );
        if here > there * u128::from(100 + CEILING_PERCENT) {
            above.push(line);
        } else if here < there * u128::from(100 - CEILING_PERCENT) {
            below.push(format!(
                "{line}: below; commit the new counts to tighten the ceiling"
            ));
        }
    }
    for label in committed.workloads.keys() {
        if !now.workloads.contains_key(label) {
            above.push(format!(
                "{label}: a committed count for a workload not run (removed or renamed)"
            ));
        }
    }
    if above.is_empty() {
        Verdict::Within(below)
    } else {
        Verdict::Above(above)
    }
}

/// `rustc -V` of the toolchain cargo builds with (`$RUSTC` where set, as cargo uses it):
/// `cargo xtask` rebuilds this binary with that toolchain before it runs.
fn toolchain() -> Result<String, String> {
    let rustc = crate::process::rustc();
    let output = Command::new(&rustc)
        .arg("-V")
        .output()
        .map_err(|error| format!("bench --instructions: cannot run {rustc} -V: {error}"))?;
    if !output.status.success() {
        return Err(format!("bench --instructions: {rustc} -V failed"));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// What a child runs: this xtask (`bench --run-model`), or the `sim` binary writing its
/// outputs to `out`.
enum Program<'a> {
    Xtask(&'a Path),
    Sim {
        exe: &'a Path,
        root: &'a Path,
        out: PathBuf,
    },
}

/// Where the `sim` binary of workload `index` writes its outputs: a folder of its own.
fn out_dir(index: usize) -> PathBuf {
    std::env::temp_dir().join(format!("xtask-instructions-{}-{index}", std::process::id()))
}

/// Starts one child under valgrind: the workload's run, or (`load_only`) its loading alone.
fn spawn(
    program: &Program,
    workload: &Workload,
    load_only: bool,
    simulate: bool,
) -> Result<std::process::Child, String> {
    let mut command = Command::new("valgrind");
    let sim = if simulate { "yes" } else { "no" };
    command.args([
        "--tool=cachegrind".to_string(),
        format!("--cache-sim={sim}"),
        format!("--branch-sim={sim}"),
        "--cachegrind-out-file=/dev/null".to_string(),
    ]);
    let sets = workload
        .overrides
        .iter()
        .flat_map(|o| ["--set", o.as_str()]);
    match program {
        Program::Xtask(exe) => {
            command
                .arg(exe)
                .args(["bench", "--run-model", workload.scenario])
                .args(&workload.overrides);
            if load_only {
                command.arg("--load-only");
            }
        }
        Program::Sim { exe, root, out } => {
            let scenario = root.join(workload.scenario);
            if load_only {
                command.arg(exe).arg("validate").arg(&scenario).args(sets);
            } else {
                let _ = std::fs::remove_dir_all(out);
                command
                    .arg(exe)
                    .arg("run")
                    .arg(&scenario)
                    .args(sets)
                    .arg("--out")
                    .arg(out)
                    .args(["--quiet", "--no-plots"]);
            }
        }
    }
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("{}: cannot start valgrind: {error}", workload.label))
}

/// Waits for a child and reads its count, and its events and customer messages: what this
/// xtask's child printed, or the `summary.json` the `sim` binary wrote (0 0 for loading).
fn collect(
    label: &str,
    program: &Program,
    child: std::process::Child,
    load_only: bool,
    simulate: bool,
) -> Result<Child, String> {
    let output = child
        .wait_with_output()
        .map_err(|error| format!("{label}: the child was lost: {error}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        // `sim run` exits 1 when it ran but an SLO failed, and `--quiet` prints no verdicts.
        let why = match program {
            Program::Sim { .. } if output.status.code() == Some(1) => {
                ": the run completed but an SLO of the scenario failed (its verdicts are not \
                 printed with --quiet; run it without valgrind to see them)"
            }
            _ => "",
        };
        return Err(format!(
            "{label}: the child failed ({}){why}:\n{stderr}",
            output.status
        ));
    }
    let instructions = instructions_in(&stderr)
        .ok_or_else(|| format!("{label}: no instruction count in valgrind's report:\n{stderr}"))?;
    let (events, messages) = match program {
        Program::Sim { .. } if load_only => (0, 0),
        Program::Sim { out, .. } => summary_counts(&out.join("summary.json"))
            .map_err(|error| format!("{label}: {error}"))?,
        Program::Xtask(_) => {
            let stdout = String::from_utf8_lossy(&output.stdout);
            let numbers: Vec<u64> = stdout
                .split_whitespace()
                .filter_map(|word| word.parse().ok())
                .collect();
            let [events, messages] = numbers[..] else {
                return Err(format!(
                    "{label}: expected the child to print its events and messages, found \
                     {stdout:?}"
                ));
            };
            (events, messages)
        }
    };
    // With `--simulate` every child simulated: a report without the figures is an error, not
    // a row short of its columns.
    let simulated = match (simulate, simulated_in(&stderr)) {
        (true, None) => {
            return Err(format!(
                "{label}: --simulate, but no cache and branch figures in valgrind's report:\n\
                 {stderr}"
            ));
        }
        (_, simulated) => simulated,
    };
    Ok(Child {
        instructions,
        events,
        messages,
        simulated,
    })
}

/// The events processed and customer messages received in a `summary.json` that `sim run`
/// wrote.
fn summary_counts(path: &Path) -> Result<(u64, u64), String> {
    let text =
        std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
    let summary: serde_json::Value = serde_json::from_str(&text)
        .map_err(|error| format!("{}: not JSON: {error}", path.display()))?;
    match (
        summary["events_processed"].as_u64(),
        summary["messages"]["received"].as_u64(),
    ) {
        (Some(events), Some(messages)) => Ok((events, messages)),
        _ => Err(format!(
            "{}: expected events_processed and messages.received",
            path.display()
        )),
    }
}

/// The child: `bench --run-model FILE [KEY=VALUE...] [--load-only]` (FILE relative to the
/// workspace) loads the scenario with the overrides and runs it (unless `--load-only`) as the
/// bench times it (`bench::measure`), writing no outputs, and prints its events processed and
/// customer messages (0 0 when only loaded).
pub fn run_model(root: &Path, args: &[String]) -> Result<(), String> {
    let load_only = args.iter().any(|arg| arg == "--load-only");
    let mut rest = args.iter().filter(|arg| *arg != "--load-only");
    let file = rest
        .next()
        .ok_or("bench --run-model: expected a scenario file")?;
    let overrides: Vec<String> = rest.cloned().collect();
    if load_only {
        sim::scenario::load(&root.join(file), &overrides)
            .map_err(|errors| format!("{file}: invalid scenario:\n{errors}"))?;
        println!("0 0");
        return Ok(());
    }
    let summary = crate::bench::measure(root, file, &overrides, 1)?.summary;
    println!("{} {}", summary.events_processed, summary.messages.received);
    Ok(())
}

/// The count in cachegrind's summary line, `==PID== I   refs:      578,830,167`.
fn instructions_in(report: &str) -> Option<u64> {
    report
        .lines()
        .find_map(|line| line.split_once("I   refs:").map(|(_, n)| n))
        .and_then(|n| n.trim().replace(',', "").parse().ok())
}

/// The simulated misses and mispredictions in cachegrind's summary (`--cache-sim=yes
/// --branch-sim=yes`), or `None` when it simulated neither: the totals on the lines
/// `I1  misses:`, `D1  misses:`, `LL misses:` and `Mispredicts:`.
fn simulated_in(report: &str) -> Option<Simulated> {
    let total = |label: &str| {
        report
            .lines()
            .find_map(|line| line.split_once(label).map(|(_, rest)| rest))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.replace(',', "").parse::<u64>().ok())
    };
    Some(Simulated {
        l1i_misses: total("I1  misses:")?,
        l1d_misses: total("D1  misses:")?,
        ll_misses: total("LL misses:")?,
        mispredicts: total("Mispredicts:")?,
    })
}

/// `before -> after (change)`, in millions.
fn change(before: u64, after: u64) -> String {
    format!(
        "{} -> {} ({:+.3}%)",
        millions(before),
        millions(after),
        (after as f64 / before.max(1) as f64 - 1.0) * 100.0
    )
}

fn read_counts(path: &Path) -> Result<Saved, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("bench --instructions: {}: {error}", path.display()))?;
    serde_json::from_str(&text).map_err(|error| {
        format!(
            "bench --instructions: {}: expected the JSON that --save writes ({{\"toolchain\", \
             \"valgrind\", \"workloads\": {{LABEL: {{\"instructions\", \"events\"}}}}}}): {error}",
            path.display()
        )
    })
}

fn millions(instructions: u64) -> String {
    format!("{:.1} M", instructions as f64 / 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_count_from_cachegrinds_summary() {
        let report = "==6794== Cachegrind, a cache and branch-prediction profiler\n\
                      ==6794== \n\
                      ==6794== I   refs:      578,830,167\n";
        assert_eq!(instructions_in(report), Some(578_830_167));
        assert_eq!(instructions_in("==1== error: no such tool\n"), None);
    }

    /// Cachegrind 3.19's summary with `--cache-sim=yes --branch-sim=yes`.
    #[test]
    fn reads_the_simulated_misses_from_cachegrinds_summary() {
        let report = "==2394== I   refs:      1,190,206,857\n\
                      ==2394== I1  misses:        5,252,073\n\
                      ==2394== LLi misses:            5,961\n\
                      ==2394== I1  miss rate:          0.43%\n\
                      ==2394== D   refs:        559,987,457  (377,059,973 rd   + 182,927,484 wr)\n\
                      ==2394== D1  misses:        8,825,163  (  6,205,596 rd   +   2,619,567 wr)\n\
                      ==2394== LLd misses:           52,139  (      4,610 rd   +      47,529 wr)\n\
                      ==2394== LL refs:          12,436,668  (  9,573,283 rd   +   2,863,385 wr)\n\
                      ==2394== LL misses:            62,005  (     11,886 rd   +      50,119 wr)\n\
                      ==2394== Branches:      150,000,000  (140,000,000 cond +  10,000,000 ind)\n\
                      ==2394== Mispredicts:       7,596,477  (  6,689,896 cond +     906,581 ind)\n";
        let simulated = simulated_in(report).expect("every figure is there");
        assert_eq!(
            simulated,
            Simulated {
                l1i_misses: 5_252_073,
                l1d_misses: 8_825_163,
                ll_misses: 62_005,
                mispredicts: 7_596_477,
            }
        );
        assert_eq!(
            simulated.cycle_estimate(1_190_206_857),
            1_190_206_857 + 10 * 7_596_477 + 10 * (5_252_073 + 8_825_163) + 100 * 62_005
        );
        // Without the simulation cachegrind prints the count alone: nothing simulated.
        assert_eq!(simulated_in("==1== I   refs:      578,830,167\n"), None);
    }

    fn saved(toolchain: &str, counts: &[(&str, u64, u64)]) -> Saved {
        Saved {
            toolchain: toolchain.to_string(),
            valgrind: "valgrind-3.19.0".to_string(),
            workloads: counts
                .iter()
                .map(|&(label, instructions, events)| {
                    let count = Count {
                        instructions,
                        events,
                        simulated: None,
                    };
                    (label.to_string(), count)
                })
                .collect(),
        }
    }

    #[test]
    fn a_saved_file_reads_back_and_a_foreign_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("xtask-instructions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.json");
        let written = saved(
            "rustc 1.95.0",
            &[("support-agent, 2 h", 446_348_678, 356_561)],
        );
        std::fs::write(&good, serde_json::to_string_pretty(&written).unwrap()).unwrap();
        assert_eq!(read_counts(&good).unwrap(), written);
        // The flat map an earlier --save wrote, and a count that is not a number.
        for (name, text) in [
            ("flat.json", r#"{"support-agent, 2 h": 446348678}"#),
            (
                "bad.json",
                r#"{"toolchain": "t", "valgrind": "v", "workloads": {"a": {"instructions": "many", "events": 1}}}"#,
            ),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            let error = read_counts(&path).unwrap_err();
            assert!(error.contains(name) && error.contains("--save"), "{error}");
        }
        let missing = read_counts(&dir.join("missing.json")).unwrap_err();
        assert!(missing.contains("missing.json"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn reads_the_counts_of_a_summary_the_binary_wrote() {
        let dir = std::env::temp_dir().join(format!("xtask-summary-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("summary.json");
        std::fs::write(
            &good,
            r#"{"scenario": "s", "events_processed": 356561, "messages": {"received": 21641}}"#,
        )
        .unwrap();
        assert_eq!(summary_counts(&good), Ok((356_561, 21_641)));
        let bad = dir.join("bad.json");
        std::fs::write(&bad, r#"{"events_processed": 1}"#).unwrap();
        let error = summary_counts(&bad).unwrap_err();
        assert!(
            error.contains("bad.json") && error.contains("messages.received"),
            "{error}"
        );
        let missing = summary_counts(&dir.join("missing.json")).unwrap_err();
        assert!(missing.contains("missing.json"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The lines of `verdict` of `counts` against the committed a (1 M) and b (2 M), and
    /// whether it passed.
    fn check(counts: &[(&str, u64, u64)]) -> (bool, Vec<String>) {
        let committed = saved(
            "rustc 1.95.0",
            &[("a", 1_000_000, 10), ("b", 2_000_000, 20)],
        );
        match verdict(&committed, &saved("rustc 1.95.0", counts)) {
            Verdict::Within(lines) => (true, lines),
            Verdict::Above(lines) => (false, lines),
            Verdict::Skipped(why) => panic!("the same toolchain compares: {why}"),
        }
    }

    #[test]
    fn the_check_fails_above_the_ceiling_and_only_there() {
        assert_eq!(
            check(&[("a", 1_000_000, 10), ("b", 2_000_000, 20)]),
            (true, Vec::new())
        );
        // At the ceiling (+2%) and below it: within; well below: a line saying to tighten.
        let (passed, lines) = check(&[("a", 1_020_000, 10), ("b", 1_900_000, 20)]);
        assert!(passed && lines.len() == 1, "{lines:?}");
        assert!(
            lines[0].starts_with("b: ") && lines[0].contains("tighten"),
            "{lines:?}"
        );
        // Just above the ceiling, with the events that changed named.
        let (passed, lines) = check(&[("a", 1_020_001, 11), ("b", 2_000_000, 20)]);
        assert!(!passed && lines.len() == 1, "{lines:?}");
        assert!(
            lines[0].starts_with("a: ") && lines[0].contains("events 10 -> 11"),
            "{lines:?}"
        );
        // A workload the committed file does not know, or one it knows and that is not run,
        // fails: the file is out of date.
        let (passed, lines) = check(&[("a", 1_000_000, 10), ("c", 2_000_000, 20)]);
        assert!(!passed && lines.len() == 2, "{lines:?}");
        assert!(
            lines[0].starts_with("c: no committed count") && lines[1].starts_with("b: "),
            "{lines:?}"
        );
    }

    #[test]
    fn another_toolchain_or_valgrind_compares_nothing() {
        let committed = saved("rustc 1.95.0", &[("a", 1_000_000, 10)]);
        let newer = saved("rustc 1.96.0", &[("a", 9_000_000, 10)]);
        let Verdict::Skipped(why) = verdict(&committed, &newer) else {
            panic!("another toolchain")
        };
        assert!(why.contains("1.96.0") && why.contains(COMMITTED), "{why}");
        let mut other_valgrind = committed.clone();
        other_valgrind.valgrind = "valgrind-3.22.0".to_string();
        assert!(matches!(
            verdict(&committed, &other_valgrind),
            Verdict::Skipped(_)
        ));
    }

    /// The committed counts are for the workloads this file runs, under the same labels.
    #[test]
    fn the_committed_counts_name_every_workload() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let committed = read_counts(&root.join(COMMITTED)).unwrap();
        let labels: Vec<&str> = committed.workloads.keys().map(String::as_str).collect();
        let mut expected: Vec<&str> = workloads().iter().map(|w| w.label).collect();
        expected.sort_unstable();
        assert_eq!(labels, expected);
    }

    /// The child loads every workload's scenario with its overrides: a renamed key or file
    /// fails here, not only under valgrind.
    #[test]
    fn every_workload_loads() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        for workload in workloads() {
            let mut args = vec![workload.scenario.to_string()];
            args.extend(workload.overrides);
            args.push("--load-only".to_string());
            run_model(root, &args).unwrap_or_else(|error| panic!("{}: {error}", workload.label));
        }
    }
}
