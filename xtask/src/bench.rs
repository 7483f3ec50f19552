//! `cargo xtask bench`: times `sim::model::run` in process, on one thread, best of three wall
//! times. (a) The M/M/c reduction at rho = 0.9 (lambda 9/s, mu 1/s, c = 10) for at least a
//! million customers: customers/s and events/s. (b) The realistic support-agent scenario, a
//! simulated day: wall time, events/s, conversations.

use sim::metrics::report::Summary;
use std::path::Path;
use std::time::{Duration, Instant};

const REPEATS: usize = 3;
const MMC: &str = "scenarios/validation/mmc.toml";
const SUPPORT_AGENT: &str = "scenarios/examples/support-agent.toml";

/// lambda = 9/s for 34 h is about 1.1 M customers: above the 1 M the target asks for.
const MMC_OVERRIDES: [&str; 4] = [
    "traffic.rate_per_s=9",
    "agent.steps.0.latency.mean=1s",
    "temporal.max_concurrent_activities=10",
    "run.horizon=34h",
];

/// Targets from the issue: 2 M customers/s on M/M/c; a simulated day under 5 s.
const MMC_TARGET_CUSTOMERS_PER_S: f64 = 2e6;
const DAY_TARGET_WALL: Duration = Duration::from_secs(5);

struct Measurement {
    best_wall: Duration,
    summary: Summary,
}

pub fn run(root: &Path) -> Result<(), String> {
    let mmc = measure(root, MMC, &MMC_OVERRIDES)?;
    let day = measure(root, SUPPORT_AGENT, &[])?;

    let mmc_seconds = mmc.best_wall.as_secs_f64();
    let day_seconds = day.best_wall.as_secs_f64();
    let mmc_customers_per_s = mmc.summary.messages.received as f64 / mmc_seconds;
    let rows = [
        [
            format!(
                "M/M/c rho=0.9 c=10 ({} customers)",
                mmc.summary.messages.received
            ),
            format!("{mmc_seconds:.3}"),
            format!("{:.2}M", mmc_customers_per_s / 1e6),
            format!(
                "{:.2}M",
                mmc.summary.events_processed as f64 / mmc_seconds / 1e6
            ),
            "-".to_string(),
        ],
        [
            format!("support-agent ({} simulated)", hours(day.summary.horizon_s)),
            format!("{day_seconds:.3}"),
            "-".to_string(),
            format!(
                "{:.2}M",
                day.summary.events_processed as f64 / day_seconds / 1e6
            ),
            day.summary.conversations.started.to_string(),
        ],
    ];
    let header = [
        "benchmark",
        "wall_s",
        "customers/s",
        "events/s",
        "conversations",
    ];
    println!("{}", table(&header, &rows));
    println!(
        "best of {REPEATS} runs each, one thread, release build; command: cargo xtask bench\n\
         M/M/c overrides: --set {}",
        MMC_OVERRIDES.join(" --set ")
    );
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    println!(
        "targets: M/M/c >= 2M customers/s: {}; simulated day < 5 s: {}",
        verdict(mmc_customers_per_s >= MMC_TARGET_CUSTOMERS_PER_S),
        verdict(day.best_wall < DAY_TARGET_WALL)
    );
    if mmc.summary.messages.received < 1_000_000 {
        return Err(format!(
            "the M/M/c run saw {} customers, fewer than 1,000,000: raise run.horizon",
            mmc.summary.messages.received
        ));
    }
    Ok(())
}

/// Loads `relative` (under the workspace root) with `overrides` and keeps the best wall time.
fn measure(root: &Path, relative: &str, overrides: &[&str]) -> Result<Measurement, String> {
    let overrides: Vec<String> = overrides.iter().map(|o| o.to_string()).collect();
    let scenario = sim::scenario::load(&root.join(relative), &overrides)
        .map_err(|errors| format!("{relative}: invalid scenario:\n{errors}"))?;
    let mut best: Option<Measurement> = None;
    for _ in 0..REPEATS {
        let started = Instant::now();
        let output = sim::model::run(&scenario).map_err(|error| {
            format!(
                "{relative}: run failed with seed {}: {error}",
                scenario.seed
            )
        })?;
        let wall = started.elapsed();
        if best.as_ref().is_none_or(|b| wall < b.best_wall) {
            best = Some(Measurement {
                best_wall: wall,
                summary: output.summary,
            });
        }
    }
    best.ok_or_else(|| "no run was timed".to_string())
}

fn hours(seconds: f64) -> String {
    format!("{}h", seconds / 3600.0)
}

fn table(header: &[&str; 5], rows: &[[String; 5]]) -> String {
    let mut widths = header.map(str::len);
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (column, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if column == 0 {
                text.push_str(&format!("{cell:<width$}"));
            } else {
                text.push_str(&format!("  {cell:>width$}"));
            }
        }
        text
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}
