//! The `sim` binary: parses the command line (`cli`), runs the command (`commands`), and owns
//! stdio and the exit code. Exit codes: 0 ran and every SLO held (`sweep`/`merge`: a shard
//! finished or some point is feasible; `diff`: B breaks no SLO that A meets); 1 ran and an SLO
//! failed (`sweep`/`merge`: no point is feasible; `diff`: B breaks an SLO A meets; `headroom`: the
//! bracket's safe end breaks an SLO); 2 bad input
//! (usage, scenario, grid, I/O, mismatched shards) or a failed run.

mod cli;
mod commands;

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let task = match cli::parse(std::env::args_os()) {
        Ok(task) => task,
        Err(error) => {
            // Help and version go to stdout and are not errors; usage errors exit 2.
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let quiet = match &task {
        cli::Task::Run(settings) => settings.quiet,
        cli::Task::Sweep(settings) => settings.quiet,
        cli::Task::Merge(settings) => settings.quiet,
        cli::Task::Diff(settings) => settings.quiet,
        cli::Task::Headroom(settings) => settings.quiet,
        cli::Task::Validate(_)
        | cli::Task::Completions(_)
        | cli::Task::Man(_)
        | cli::Task::Schema
        | cli::Task::New(_) => false,
    };
    let console = Console::new(quiet, task.spellings());
    let outcome = match &task {
        cli::Task::Run(settings) => commands::run(settings, &console),
        cli::Task::Validate(settings) => commands::validate(settings, &console),
        cli::Task::Sweep(settings) => commands::sweep(settings, &console),
        cli::Task::Merge(settings) => commands::merge(settings, &console),
        cli::Task::Diff(settings) => commands::diff(settings, &console),
        cli::Task::Headroom(settings) => commands::headroom(settings, &console),
        cli::Task::Completions(shell) => commands::completions(*shell, &console),
        cli::Task::Man(settings) => commands::man(settings, &console),
        cli::Task::Schema => commands::schema(&console),
        cli::Task::New(settings) => commands::new(settings, &console),
    };
    // Results that did not reach stdout (a full disk, a closed file) are a failure: a script
    // reading them would otherwise take a truncated report for a whole one.
    let stdout_error = console
        .stdout_error
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    if let Some(error) = stdout_error {
        console.error(&format!("sim: cannot write to standard output: {error}"));
        return ExitCode::from(2);
    }
    match outcome {
        commands::Outcome::Success => ExitCode::SUCCESS,
        commands::Outcome::SloFailed => ExitCode::from(1),
        commands::Outcome::Failed => ExitCode::from(2),
    }
}

/// Where the commands print: results for humans on stdout (silenced by `--quiet`), errors on
/// stderr. A closed pipe (`sim schema | head`) is not an error: the reader has what it wanted.
/// Any other failure to write stdout is kept, and `main` exits 2 with it; the command itself
/// carries on (its files are still worth writing).
pub struct Console {
    pub quiet: bool,
    stdout_error: std::sync::Mutex<Option<std::io::Error>>,
    /// Overrides the command line wrote for a flag, as (written, typed): errors name the flag
    /// the user typed (`cli::Task::spellings`).
    spellings: Vec<(String, String)>,
}

impl Console {
    pub fn new(quiet: bool, spellings: Vec<(String, String)>) -> Console {
        Console {
            quiet,
            stdout_error: std::sync::Mutex::new(None),
            spellings,
        }
    }

    /// Human output on stdout, unless quiet.
    pub fn out(&self, text: &str) {
        if !self.quiet {
            let mut bytes = text.as_bytes().to_vec();
            if !text.ends_with('\n') {
                bytes.push(b'\n');
            }
            self.write_stdout(&bytes);
        }
    }

    /// Machine-readable output on stdout (`--format json`, completion scripts, man pages),
    /// printed even when quiet: it is what was asked for.
    pub fn data(&self, bytes: &[u8]) {
        self.write_stdout(bytes);
    }

    fn write_stdout(&self, bytes: &[u8]) {
        let mut stdout = std::io::stdout().lock();
        let written = stdout.write_all(bytes).and_then(|()| stdout.flush());
        if let Err(error) = written
            && error.kind() != std::io::ErrorKind::BrokenPipe
        {
            let mut kept = self
                .stdout_error
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            kept.get_or_insert(error);
        }
    }

    /// One error line (or several) on stderr, always.
    pub fn error(&self, text: &str) {
        let text = cli::as_typed(text, &self.spellings);
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{}", text.trim_end());
    }
}
