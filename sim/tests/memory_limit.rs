//! `run.max_memory` bounds the memory a run really takes. The model adds up its state from
//! counts (`Model::state_bytes`), not from the allocator or the operating system, so that the
//! stopping point is the same on every machine; this test holds that estimate to the resident
//! memory the kernel reports (`VmHWM`, the peak resident set, in `/proc/self/status`).
//!
//! Two fleets that cannot keep up, run until the limit stops them: the M/M/c reduction at 30
//! times its capacity (small conversations) and the research story at 100 times its traffic
//! (each conversation fanned out to subagents: a few kilobytes each). The growth of the peak
//! resident set over the run must lie between `LOW` and `HIGH` times the limit: the run is not
//! stopped long before its state is that large, nor let grow far past it.
//!
//! Each case runs in a child process (this test binary again, with `CASE` set), so that no other
//! test and no memory an earlier case freed is counted. Linux only: elsewhere it is skipped.

use std::path::Path;
use std::process::Command;

const LIMIT_MIB: f64 = 64.0;
/// The estimate leaves out the fixed structures (the time series, the histograms) and the
/// allocator's own overhead, and the check runs every 65,536 events, so the peak may pass the
/// limit by that much.
const HIGH: f64 = 1.5;
/// The estimate counts slabs to their high-water marks and queues by their capacity, which the
/// process has written, so it is not much above the resident memory.
const LOW: f64 = 0.75;

const CASES: [(&str, &str); 2] = [
    ("scenarios/validation/mmc.toml", "traffic.rate_per_s=300"),
    (
        "scenarios/anthropic-research/research.toml",
        "traffic.rate_per_s=20",
    ),
];
const CASE: &str = "SIM_MEMORY_LIMIT_CASE";
const TEST: &str = "the_memory_limit_stops_a_run_near_its_peak_resident_memory";

/// A `kB` line of `/proc/self/status`, in MiB.
fn status_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kib: f64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unreadable {line:?}"));
    kib / 1024.0
}

/// In the child: runs case `index` and prints the error and the growth of the peak resident
/// set over the run.
fn run_case(index: usize) {
    let (file, set) = CASES[index];
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(file);
    let overrides = [set.to_string(), format!("run.max_memory={LIMIT_MIB}MiB")];
    let scenario = sim::scenario::load(&path, &overrides).unwrap_or_else(|e| panic!("{file}: {e}"));
    // Start the peak from here: "5" resets VmHWM to the present resident set.
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak resident set");
    let before = status_mib("VmRSS:");
    let error = match sim::model::run(&scenario) {
        Ok(_) => panic!("{file} ran to its horizon under run.max_memory = {LIMIT_MIB}MiB"),
        Err(e) => e.to_string(),
    };
    let growth = status_mib("VmHWM:") - before;
    println!("GROWTH_MIB {growth:.1}\nERROR {error}");
}

#[test]
fn the_memory_limit_stops_a_run_near_its_peak_resident_memory() {
    if let Ok(index) = std::env::var(CASE) {
        run_case(index.parse().expect("a case index"));
        return;
    }
    if !Path::new("/proc/self/clear_refs").exists() {
        eprintln!("skipped: no /proc/self/clear_refs (not Linux)");
        return;
    }
    for (index, (file, _)) in CASES.iter().enumerate() {
        let child = Command::new(std::env::current_exe().expect("this test binary"))
            .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(CASE, index.to_string())
            .output()
            .expect("the test binary runs");
        let stdout = String::from_utf8_lossy(&child.stdout);
        assert!(
            child.status.success(),
            "{file}: {stdout}{}",
            String::from_utf8_lossy(&child.stderr)
        );
        let field = |name: &str| {
            stdout
                .lines()
                // The harness may print the test's name on the same line first.
                .find_map(|line| line.split_once(name).map(|(_, rest)| rest))
                .unwrap_or_else(|| panic!("{file}: no {name} in {stdout}"))
                .to_string()
        };
        let growth: f64 = field("GROWTH_MIB ").parse().expect("a number");
        let error = field("ERROR ");
        assert!(
            error.contains(&format!("run.max_memory = {LIMIT_MIB}MiB")),
            "{file}: {error}"
        );
        // Both pile up customers: the message blames the traffic, not the fleet's own state.
        assert!(
            error.contains("the fleet cannot keep up with the traffic"),
            "{file}: {error}"
        );
        let ratio = growth / LIMIT_MIB;
        eprintln!("{file}: the peak resident set grew by {growth:.1} MiB ({ratio:.2}x)");
        assert!(
            (LOW..=HIGH).contains(&ratio),
            "{file}: the peak resident set grew by {growth:.1} MiB, {ratio:.2}x the limit of \
             {LIMIT_MIB} MiB, outside {LOW}..{HIGH}: {error}"
        );
    }
}
