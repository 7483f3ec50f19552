//! The fuzzers' findings, replayed on stable in the normal test suite: every file under
//! `fuzz/regressions/<target>/` goes through the same entry point as the cargo-fuzz target of
//! that name (`fuzz/fuzz_targets/`). None may panic; a file named `accepted-*` must be
//! accepted and `refused-*` refused (exit 2 for a scenario), so a fix cannot quietly turn a
//! refusal into a crash or an accepted input into an error.

use sim::scenario::fuzz::{self, Outcome};
use std::path::{Path, PathBuf};

fn regressions() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions")
}

/// The entry point of each target, with its result as an exit class.
fn entry_point(target: &str) -> fn(&[u8]) -> Outcome {
    match target {
        "scenario_load" => fuzz::scenario_load,
        "set_override" => fuzz::set_override,
        "units" => fuzz::units,
        "model_run" => fuzz::model_run,
        "grid" => |bytes| {
            if sim::sweep::grid::fuzz_grid(bytes) {
                Outcome::Accepted
            } else {
                Outcome::Refused
            }
        },
        other => panic!("fuzz/regressions/{other}: no such fuzz target"),
    }
}

#[test]
fn every_committed_finding_is_handled_without_a_panic() {
    let mut targets: Vec<PathBuf> = std::fs::read_dir(regressions())
        .expect("fuzz/regressions exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .collect();
    targets.sort();
    assert_eq!(targets.len(), 5, "one folder per fuzz target: {targets:?}");
    let mut replayed = 0;
    let mut failures = Vec::new();
    for dir in targets {
        let target = dir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let run = entry_point(&target);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("readable")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        for file in files {
            let name = file
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&file).expect("readable");
            let outcome = std::panic::catch_unwind(|| run(&bytes));
            replayed += 1;
            let expected = if name.starts_with("accepted-") {
                Some(Outcome::Accepted)
            } else if name.starts_with("refused-") {
                Some(Outcome::Refused)
            } else {
                None
            };
            match outcome {
                Err(_) => failures.push(format!("{target}/{name}: panicked")),
                Ok(outcome) if expected.is_some_and(|e| e != outcome) => {
                    failures.push(format!("{target}/{name}: {outcome:?}"))
                }
                Ok(_) => {}
            }
        }
    }
    assert!(replayed >= 5, "only {replayed} files replayed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
