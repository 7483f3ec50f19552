//! What the end-to-end test files share: running the `sim` binary as a user does, and naming
//! the repository's files. Each file declares `mod common;` and uses some of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// What one `sim` process did.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `sim args...` in `cwd` with extra environment variables.
pub fn sim_in(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sim"));
    command.args(args).current_dir(cwd);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("the sim binary starts");
    Ran {
        code: output
            .status
            .code()
            .expect("sim exits with a code, not a signal"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs `sim args...` in `cwd`.
pub fn sim(cwd: &Path, args: &[&str]) -> Ran {
    sim_in(cwd, args, &[])
}

/// A file of the repository, by its path from the repository's root.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// The same, as a command-line argument.
pub fn repo_file(relative: &str) -> String {
    repo_path(relative).display().to_string()
}

/// The M/M/c reduction, the scenario most end-to-end tests run (a few seconds at most).
pub fn mmc() -> String {
    repo_file("scenarios/validation/mmc.toml")
}
