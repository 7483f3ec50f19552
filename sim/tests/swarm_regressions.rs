//! Scenarios found by `cargo xtask swarm` (see README, "Swarm testing"), replayed in the normal
//! test suite: every `*.toml` under `sim/tests/swarm_regressions/` must load, run without a
//! panic or a failed end-of-run checker (a run limit is fine), and give the same summary twice.
//! The CSV files the generator names (`swarm-*.csv`) live next to them.
//! `example-1-2.toml` is a generated scenario kept as an example of the format (no finding).

use sim::model::RunError;
use std::path::{Path, PathBuf};

#[test]
fn every_committed_swarm_scenario_runs_clean_and_deterministic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/swarm_regressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("sim/tests/swarm_regressions exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenario under {}", dir.display());
    for file in files {
        let scenario = sim::scenario::load(&file, &[])
            .unwrap_or_else(|e| panic!("{}: refused:\n{e}", file.display()));
        let first = sim::model::run(&scenario);
        let second = sim::model::run(&scenario);
        match (first, second) {
            (Ok(a), Ok(b)) => assert_eq!(
                sim::output::summary_json(&a.summary),
                sim::output::summary_json(&b.summary),
                "{}: two runs differ",
                file.display()
            ),
            (Err(RunError::LimitReached(_)), Err(RunError::LimitReached(_))) => {}
            (a, b) => panic!(
                "{}: {:?} / {:?}",
                file.display(),
                a.err().map(|e| e.to_string()),
                b.err().map(|e| e.to_string())
            ),
        }
    }
}
