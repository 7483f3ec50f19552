//! Progress bars on stderr, one style for every command: `sim run` (one run: simulated time
//! against the horizon and events per second; several replications: replications done),
//! `sim sweep`, `sim diff` and `sim headroom` (runs done). A bar appears at once and its clock ticks on its own (indicatif's
//! steady tick), whatever the work is doing.
//!
//! Drawn only when stderr is a terminal and the command is not quiet: piped or redirected, a
//! command writes nothing to stderr but its errors. Progress is observation only: the model
//! publishes its clock and event count into `RunProgress` (two relaxed atomic stores every few
//! thousand events) and never reads anything back, so results cannot depend on it.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How often a bar redraws (and a followed run is sampled).
pub const TICK: Duration = Duration::from_millis(100);

/// Whether to draw: wanted (not `--quiet`) and stderr is a terminal.
pub fn enabled(wanted: bool) -> bool {
    wanted && std::io::stderr().is_terminal()
}

fn style(counts: &str) -> ProgressStyle {
    ProgressStyle::with_template(&format!(
        "{{prefix}} {counts} · {{elapsed}} · ETA {{eta}} [{{wide_bar}}]"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

fn start(enabled: bool, prefix: &str, total: u64, counts: &str) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(style(counts));
    bar.set_prefix(prefix.to_string());
    bar.enable_steady_tick(TICK);
    bar
}

/// A bar counting `total` items named `unit` ("runs", "replications"); hidden unless `enabled`.
pub fn counter(enabled: bool, prefix: &str, total: u64, unit: &str) -> ProgressBar {
    start(enabled, prefix, total, &format!("{{pos}}/{{len}} {unit}"))
}

/// What a running model publishes: its simulated clock and events processed so far.
#[derive(Debug, Default)]
pub struct RunProgress {
    pub now_ns: AtomicU64,
    pub events: AtomicU64,
}

/// Events between two updates of `RunProgress`: rare enough to cost nothing per event.
pub const PUBLISH_EVERY_EVENTS: u64 = 4096;

/// Runs `work` (one simulation publishing into `progress`) while a bar follows its simulated
/// time against `horizon_ns` and its events per second; without `enabled` it only runs `work`.
pub fn follow_run<T: Send>(
    enabled: bool,
    prefix: &str,
    horizon_ns: u64,
    progress: &RunProgress,
    work: impl FnOnce() -> T + Send,
) -> T {
    if !enabled {
        return work();
    }
    let horizon_s = horizon_ns / 1_000_000_000;
    let bar = start(enabled, prefix, horizon_s.max(1), "{msg}");
    let done = AtomicBool::new(false);
    let started = Instant::now();
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !done.load(Ordering::Relaxed) {
                let now_ns = progress.now_ns.load(Ordering::Relaxed);
                let events = progress.events.load(Ordering::Relaxed);
                bar.set_position(now_ns / 1_000_000_000);
                bar.set_message(run_message(
                    now_ns,
                    horizon_ns,
                    events,
                    started.elapsed().as_secs_f64(),
                ));
                std::thread::sleep(TICK);
            }
        });
        let result = work();
        done.store(true, Ordering::Relaxed);
        result
    });
    bar.finish_and_clear();
    result
}

/// "5.2 h of 24.0 h simulated · 1.3 M events/s".
pub fn run_message(now_ns: u64, horizon_ns: u64, events: u64, wall_s: f64) -> String {
    let rate = if wall_s > 0.0 {
        events as f64 / wall_s
    } else {
        0.0
    };
    format!(
        "{} of {} simulated · {} events/s",
        simulated(now_ns),
        simulated(horizon_ns),
        compact(rate)
    )
}

fn simulated(ns: u64) -> String {
    let s = ns as f64 / 1e9;
    if s >= 2.0 * 86_400.0 {
        format!("{:.1} days", s / 86_400.0)
    } else if s >= 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else if s >= 60.0 {
        format!("{:.1} min", s / 60.0)
    } else {
        format!("{s:.0} s")
    }
}

fn compact(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.1} M", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.0} k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_reads_as_simulated_time_against_the_horizon_and_a_rate() {
        let hour = 3_600_000_000_000;
        assert_eq!(
            run_message(5 * hour + hour / 5, 24 * hour, 2_600_000, 2.0),
            "5.2 h of 24.0 h simulated · 1.3 M events/s"
        );
        assert_eq!(
            run_message(30_000_000_000, 96 * hour, 5_000, 0.5),
            "30 s of 4.0 days simulated · 10 k events/s"
        );
    }

    #[test]
    fn without_a_terminal_nothing_is_drawn() {
        let bar = counter(false, "x", 10, "runs");
        assert!(bar.is_hidden());
        let progress = RunProgress::default();
        assert_eq!(follow_run(false, "x", 1, &progress, || 7), 7);
    }
}
