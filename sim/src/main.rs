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
    let outcome = match &task {
        cli::Task::Run(settings) => commands::run(
            settings,
            &Console {
                quiet: settings.quiet,
            },
        ),
        cli::Task::Validate(settings) => commands::validate(settings, &Console { quiet: false }),
        cli::Task::Sweep(settings) => commands::sweep(
            settings,
            &Console {
                quiet: settings.quiet,
            },
        ),
        cli::Task::Merge(settings) => commands::merge(
            settings,
            &Console {
                quiet: settings.quiet,
            },
        ),
        cli::Task::Diff(settings) => commands::diff(
            settings,
            &Console {
                quiet: settings.quiet,
            },
        ),
        cli::Task::Headroom(settings) => commands::headroom(
            settings,
            &Console {
                quiet: settings.quiet,
            },
        ),
        cli::Task::Completions(shell) => commands::completions(*shell, &Console { quiet: false }),
        cli::Task::Man(settings) => commands::man(settings, &Console { quiet: false }),
        cli::Task::Schema => commands::schema(&Console { quiet: false }),
        cli::Task::New(settings) => commands::new(settings, &Console { quiet: false }),
    };
    match outcome {
        commands::Outcome::Success => ExitCode::SUCCESS,
        commands::Outcome::SloFailed => ExitCode::from(1),
        commands::Outcome::Failed => ExitCode::from(2),
    }
}

/// Where the commands print: results for humans on stdout (silenced by `--quiet`), errors on
/// stderr. Write errors (a closed pipe) are ignored rather than turned into panics.
pub struct Console {
    pub quiet: bool,
}

impl Console {
    /// Human output on stdout, unless quiet.
    pub fn out(&self, text: &str) {
        if !self.quiet {
            let mut stdout = std::io::stdout().lock();
            let _ = stdout.write_all(text.as_bytes());
            if !text.ends_with('\n') {
                let _ = stdout.write_all(b"\n");
            }
            let _ = stdout.flush();
        }
    }

    /// Machine-readable output on stdout (`--format json`, completion scripts, man pages),
    /// printed even when quiet: it is what was asked for.
    pub fn data(&self, bytes: &[u8]) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(bytes);
        let _ = stdout.flush();
    }

    /// One error line (or several) on stderr, always.
    pub fn error(&self, text: &str) {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{}", text.trim_end());
    }
}
