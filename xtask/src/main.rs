//! `cargo xtask TASK`: project automation in Rust, so it runs wherever cargo does. Wired by the
//! `xtask` alias in `.cargo/config.toml` (built in release). One module per task.

mod bare_mmc;
mod bench;
mod ci;
mod fuzz;
mod heap;
mod instructions;
mod pgo;
mod process;
mod results;
mod stories;
mod swarm;

use std::path::PathBuf;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: heap::PeakAllocator = heap::PeakAllocator;

const USAGE: &str = "usage: cargo xtask TASK

tasks:
  ci       format check, clippy (warnings denied), tests (the checked profile: release
           with overflow checks), validate every scenario
  bench    [--check] [--quick] | --events | --memory | --sweep | --scale | --instructions [--check]
           [--simulate] [--save FILE] [--compare FILE]: time the simulator against the
           performance targets: M/M/c customers/s against a bare M/M/c event loop in the
           same run, the story days (support-agent, Gradient Labs 01, the 90 h incident, a
           voice day), a run's peak heap over 1 and 7 simulated days, the events per
           customer message of each story (by event kind), sweep throughput (runs/s) on 1
           and 2 threads and the Gradient Labs sweep (16 points x 10 replications, 2
           threads); --check fails when the M/M/c ratio to the bare loop is below the
           committed floor; --quick times each once and leaves out the Gradient Labs sweep;
           --events prints the events per story alone, --memory the peak heaps alone,
           --sweep the sweep's speed-up alone (five pairs), --scale the voice day at ten
           times its traffic (10 M calls) against the event limit, with its events/s and
           peak heap beside the 1 M day's (a few minutes); --instructions counts the
           instructions of five short runs under valgrind, one in the sim binary, built
           first (deterministic on one machine: the measure for a hot-path change),
           --simulate adds cachegrind's simulated cache misses, mispredicted branches and a
           cycle estimate (what the count alone misses), --save writes them as JSON,
           --compare prints them against a saved file and --check fails when a count is
           more than 2% above xtask/instructions.json's
  results [--runs-only] [STORY...]
           regenerate the canonical results/<story>/ from scenarios/<story>/, for every story
           (gradient-labs, anthropic-research, snorkel-underwriting, thoughtly-voice) or
           those named;
           --runs-only regenerates the canonical runs alone (not the sweeps, diffs, tables
           and phase diagram), for a change that moves only what a single run reports
  fuzz     [--seconds N] [--target NAME]: run every cargo-fuzz target in fuzz/ for N seconds
           each (default 60; nightly toolchain and cargo-fuzz needed)
  swarm    [--runs N] [--seed S] [--index I] [--threads T] [--print]: generate N random
           valid scenarios
           from seed S (default 100 from seed 1), run each for 5-30 simulated minutes, check
           the end-of-run checkers, no panic, determinism and output invariants; --index I
           reruns one (the command a finding prints) and writes target/swarm/failure-S-I.toml;
           --print prints the generated scenarios
  pgo      [--llvm-profdata PATH]: a profile-guided build of the sim binary: build it
           instrumented, run it on every shipped scenario and the bench's M/M/c, build it
           again by the counts, and check that it writes the release build's outputs byte
           for byte; prints its path (target/pgo/optimized/release/sim). Needs the
           llvm-profdata of rustc's LLVM (Debian: llvm-22 for rustc 1.95)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci::run(&workspace_root()),
        Some("bench") => bench::run(&workspace_root(), &args[1..]),
        Some("results") => results::run(&workspace_root(), &args[1..]),
        Some("fuzz") => fuzz::run(&workspace_root(), &args[1..]),
        Some("swarm") => swarm::run(&workspace_root(), &args[1..]),
        Some("pgo") => pgo::run(&workspace_root(), &args[1..]),
        Some("help" | "-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown task {other:?}\n\n{USAGE}")),
        None => Err(format!("no task given\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask's own manifest lives one level below it.
fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
