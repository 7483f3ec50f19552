//! `cargo xtask ci`: the checks a change must pass, in order, stopping at the first failure:
//! formatting, clippy with warnings denied, the tests in the `checked` profile (release with
//! overflow checks: the statistical tests are heavy), and `sim validate` on every scenario
//! file under `scenarios/`.

use crate::process::{cargo, step};
use std::path::{Path, PathBuf};

pub fn run(root: &Path) -> Result<(), String> {
    let cargo = cargo();
    step("format", root, &cargo, &["fmt", "--all", "--", "--check"])?;
    step(
        "clippy",
        root,
        &cargo,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    // The `checked` profile is release with overflow checks (see Cargo.toml): the tests run
    // optimised, as users do, and an integer overflow anywhere fails them.
    step(
        "test",
        root,
        &cargo,
        &["test", "--workspace", "--profile", "checked"],
    )?;

    let scenarios = scenario_files(&root.join("scenarios"))?;
    if scenarios.is_empty() {
        return Err("step \"validate scenarios\" failed: no *.toml files under scenarios/".into());
    }
    let relative: Vec<String> = scenarios
        .iter()
        .map(|path| {
            path.strip_prefix(root)
                .unwrap_or(path)
                .display()
                .to_string()
        })
        .collect();
    // The tests' build of the binary: a release build would add a whole fat-LTO compile.
    let mut args = vec![
        "run",
        "--profile",
        "checked",
        "--quiet",
        "--package",
        "sim",
        "--",
        "validate",
    ];
    args.extend(relative.iter().map(String::as_str));
    step("validate scenarios", root, &cargo, &args)?;
    eprintln!("xtask: ci passed");
    Ok(())
}

/// Every `*.toml` under `dir`, recursively, sorted.
pub(crate) fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current)
            .map_err(|error| format!("{}: cannot list: {error}", current.display()))?;
        for entry in entries {
            let path = entry
                .map_err(|error| format!("{}: {error}", current.display()))?
                .path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "toml") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}
