//! Running the external commands a task is made of, each a named step that fails clearly.

use std::path::Path;
use std::process::Command;

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
