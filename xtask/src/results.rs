//! `cargo xtask results`: regenerates the canonical results committed under
//! `results/gradient-labs/` (summaries, time series, events, resolved scenarios and figures)
//! from `scenarios/gradient-labs/`, then the other stories' (`stories.rs`). The READMEs and the
//! notebook read them; the test `sim/tests/canonical.rs` checks that a fresh run reproduces each
//! committed `summary.json` byte for byte.

use std::path::Path;

const SCENARIOS: &str = "scenarios/gradient-labs";
const RESULTS: &str = "results/gradient-labs";

/// The canonical scenarios: every file in the folder except sweeps, which have their own
/// outputs (`sim sweep`).
pub fn canonical_scenarios(root: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let dir = root.join(SCENARIOS);
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<_> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .filter(|path| {
            !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("sweep"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{}: no scenario files", dir.display()));
    }
    Ok(files)
}

/// Every story, or only those named (`cargo xtask results anthropic-research`).
pub fn run(root: &Path, only: &[String]) -> Result<(), String> {
    let known = || {
        std::iter::once("gradient-labs")
            .chain(crate::stories::STORIES)
            .collect::<Vec<_>>()
    };
    if let Some(unknown) = only.iter().find(|s| !known().contains(&s.as_str())) {
        return Err(format!(
            "results: unknown story {unknown:?}; stories: {}",
            known().join(", ")
        ));
    }
    let wanted = |story: &str| only.is_empty() || only.iter().any(|s| s == story);
    if wanted("gradient-labs") {
        gradient_labs(root)?;
    }
    for story in crate::stories::STORIES.into_iter().filter(|s| wanted(s)) {
        let started = std::time::Instant::now();
        crate::stories::run(root, story)?;
        println!("results/{story}: {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

fn gradient_labs(root: &Path) -> Result<(), String> {
    run_sweeps(root)?;
    for file in canonical_scenarios(root)? {
        let scenario = sim::scenario::load(&file, &[]).map_err(|e| e.to_string())?;
        let output = sim::model::run(&scenario)
            .map_err(|e| format!("{}: run failed: {e}", file.display()))?;
        let dir = root.join(RESULTS).join(&scenario.name);
        let options = sim::output::WriteOptions { plots: true };
        sim::output::write_run(&dir, &scenario, &output, &options).map_err(|e| e.to_string())?;
        let failed: Vec<_> = output
            .summary
            .slo
            .iter()
            .filter(|s| !s.ok)
            .map(|s| &s.name)
            .collect();
        println!(
            "{}: {} OOM crashes, {:.2} instances on average, p95 response {:.2} s, SLOs failed: {:?}",
            dir.display(),
            output.summary.crashes.oom,
            output.summary.instances.mean,
            output.summary.response_latency_s.p95,
            failed
        );
    }
    Ok(())
}

/// The folder's sweeps, into `results/gradient-labs/<file stem>/sweep/` (the per-run files
/// under `runs/` are git-ignored: they only serve `--resume`).
fn run_sweeps(root: &Path) -> Result<(), String> {
    let dir = root.join(SCENARIOS);
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut sweeps: Vec<_> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .filter(|path| {
            path.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("sweep"))
        })
        .collect();
    sweeps.sort();
    for file in sweeps {
        let stem = file
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let out = root.join(RESULTS).join(stem);
        let options = sim::sweep::SweepOptions {
            progress: false,
            ..Default::default()
        };
        let outcome = sim::sweep::sweep_file(&file, &[], &[], None, Some(out), options)
            .map_err(|e| format!("{}: {e}", file.display()))?;
        print!("{}", outcome.summary_text());
    }
    Ok(())
}
