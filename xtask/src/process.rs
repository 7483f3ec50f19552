//! Running the external commands a task is made of, each a named step that fails clearly.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs `program args...` in `dir`, printing the step first; an error names the step.
pub fn step(name: &str, dir: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    eprintln!("xtask: {name}: {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .map_err(|error| format!("step {name:?} failed: cannot start {program}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "step {name:?} failed ({status}): `{program} {}`",
            args.join(" ")
        ))
    }
}

/// `cargo`, the one that runs this xtask when cargo set `CARGO`.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// `rustc`, or `$RUSTC` where set, as cargo uses it.
pub fn rustc() -> String {
    std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into())
}

/// Builds the `sim` binary as users do (`cargo build --release -p sim`), with `args` added
/// (`--target-dir DIR`) and `env` set (`RUSTFLAGS`), and returns its path as cargo reports it
/// (`--message-format json`), so a `CARGO_TARGET_DIR` or a build directory elsewhere is
/// followed. `task` names the caller in errors.
pub fn build_sim(
    root: &Path,
    task: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<PathBuf, String> {
    let cargo = cargo();
    let mut shown = vec!["build", "--release", "--package", "sim", "--bin", "sim"];
    shown.extend_from_slice(args);
    let settings: Vec<String> = env
        .iter()
        .map(|(key, value)| format!("{key}={value:?} "))
        .collect();
    eprintln!(
        "xtask: building the sim binary: {}{cargo} {}",
        settings.concat(),
        shown.join(" ")
    );
    let output = Command::new(&cargo)
        .args(&shown)
        .args(["--quiet", "--message-format", "json-render-diagnostics"])
        .envs(env.iter().copied())
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("{task}: cannot start {cargo}: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "{task}: building the sim binary failed ({})",
            output.status
        ));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == "sim"
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("{task}: cargo built the sim binary but named no executable"))
}
