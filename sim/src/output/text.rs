//! The human text `sim run` prints on stdout: a summary table per scenario, the SLO table, and
//! the across-replication table. Pure functions returning strings; the binary prints them.

use crate::metrics::report::Summary;
use crate::output::replications::key_metric_intervals;

/// The heading and key numbers of one run (replication 0 when there are several).
pub fn summary_table(summary: &Summary, replications: usize) -> String {
    let s = summary;
    let heading = format!(
        "{}: seed {}, horizon {}, {} replication{}",
        s.scenario,
        s.seed,
        duration(s.horizon_s),
        replications,
        if replications == 1 { "" } else { "s" }
    );
    let mut rows = vec![
        vec![
            "messages received".to_string(),
            s.messages.received.to_string(),
        ],
        vec![
            "messages answered".to_string(),
            s.messages.answered.to_string(),
        ],
        vec![
            "unanswered messages".to_string(),
            s.messages.unanswered.to_string(),
        ],
        vec![
            "response latency p50 (s)".to_string(),
            number(s.response_latency_s.p50),
        ],
        vec![
            "response latency p95 (s)".to_string(),
            number(s.response_latency_s.p95),
        ],
        vec![
            "response latency p99 (s)".to_string(),
            number(s.response_latency_s.p99),
        ],
        vec![
            "activity schedule-to-start p95 (s)".to_string(),
            number(s.activity_schedule_to_start_s.p95),
        ],
        vec!["cache hits".to_string(), s.cache.hits.to_string()],
        vec!["cache misses".to_string(), s.cache.misses.to_string()],
        vec!["instances mean".to_string(), number(s.instances.mean)],
        vec!["instances max".to_string(), s.instances.max.to_string()],
        vec!["oom crashes".to_string(), s.crashes.oom.to_string()],
        vec!["cost compute (usd)".to_string(), money(s.cost_usd.compute)],
        vec!["cost llm (usd)".to_string(), money(s.cost_usd.llm)],
    ];
    // Tool calls are priced only where a step sets `price_per_call_usd`: shown then, so that the
    // rows above the total add up to it.
    if s.cost_usd.tools != 0.0 {
        rows.push(vec![
            "cost tools (usd)".to_string(),
            money(s.cost_usd.tools),
        ]);
    }
    rows.push(vec![
        "cost total (usd)".to_string(),
        money(s.cost_usd.total),
    ]);
    if replications > 1 {
        format!(
            "{heading}\nreplication 0:\n{}",
            table(&["metric", "value"], rows)
        )
    } else {
        format!("{heading}\n{}", table(&["metric", "value"], rows))
    }
}

/// One row per named workload (replication 0): its traffic, replies, latency, tokens, prices
/// and share of the fleet's CPU work. Empty for a scenario with one unnamed workload.
pub fn workloads_table(summary: &Summary) -> String {
    if summary.workloads.is_empty() {
        return String::new();
    }
    let rows = summary
        .workloads
        .iter()
        .map(|w| {
            vec![
                w.name.clone(),
                w.messages.received.to_string(),
                w.messages.unanswered.to_string(),
                number(w.response_latency_s.p50),
                number(w.response_latency_s.p95),
                w.input_tokens.saturating_add(w.output_tokens).to_string(),
                money(w.cost_usd.llm + w.cost_usd.tools),
                format!("{:.1}%", 100.0 * w.cpu_share),
            ]
        })
        .collect();
    format!(
        "per workload:\n{}",
        table(
            &[
                "workload",
                "messages",
                "unanswered",
                "p50 (s)",
                "p95 (s)",
                "tokens",
                "llm+tools (usd)",
                "cpu share",
            ],
            rows,
        )
    )
}

/// Mean and 95% confidence half-width of the key metrics across replications.
pub fn replications_table(summaries: &[Summary]) -> String {
    let rows = key_metric_intervals(summaries)
        .into_iter()
        .map(|(metric, interval)| {
            vec![
                metric.heading(),
                number(interval.mean),
                interval
                    .half_width
                    .map(|h| half_width(h, interval.mean))
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    format!(
        "across {} replications (95% confidence, Student t):\n{}",
        summaries.len(),
        table(&["metric", "mean", "+/-"], rows)
    )
}

/// The SLO table: per SLO, its value (the mean across replications when there are several),
/// its limit, and `ok` or `FAILED` (failed in any replication). An SLO that failed because the
/// run gave it nothing to measure gets a line under the table with the reason. Empty when
/// there are no SLOs.
pub fn slo_table(summaries: &[Summary]) -> String {
    let verdicts = crate::output::verdicts::slo_verdicts(summaries);
    if verdicts.is_empty() {
        return String::new();
    }
    let several = summaries.len() > 1;
    let mut reasons: Vec<String> = Vec::new();
    let rows = verdicts
        .iter()
        .enumerate()
        .map(|(index, verdict)| {
            if let Some(reason) = &verdict.reason {
                let within = if several {
                    let vacuous = summaries
                        .iter()
                        .filter_map(|s| s.slo.get(index))
                        .filter(|r| r.reason.is_some())
                        .count();
                    format!(" (in {vacuous}/{} replications)", summaries.len())
                } else {
                    String::new()
                };
                reasons.push(format!(
                    "  {} FAILED: {reason}{within}\n",
                    ellipsize(&verdict.name, MAX_CELL_CHARS)
                ));
            }
            let mut row = vec![
                verdict.name.clone(),
                number(verdict.value),
                number(verdict.limit),
                if verdict.ok { "ok" } else { "FAILED" }.to_string(),
            ];
            if several {
                row.push(format!(
                    "{}/{}",
                    verdict.failed_replications,
                    summaries.len()
                ));
            }
            row
        })
        .collect();
    let header: &[&str] = if several {
        &["slo", "mean value", "limit", "status", "failed in"]
    } else {
        &["slo", "value", "limit", "status"]
    };
    let mut text = table(header, rows);
    for reason in reasons {
        text.push_str(&reason);
    }
    text
}

/// True when every SLO held in every replication.
pub fn slos_held(summaries: &[Summary]) -> bool {
    summaries
        .iter()
        .all(|summary| summary.slo.iter().all(|slo| slo.ok))
}

/// The widest a table cell gets, in characters; longer cells (an SLO name of any length) are
/// cut with an ellipsis, so a table stays readable and its padding stays small.
pub const MAX_CELL_CHARS: usize = 60;

/// A plain-text table: two-space indent, first column left-aligned, the others right-aligned.
/// Cells longer than `MAX_CELL_CHARS` are ellipsized. Padding is written by hand rather than
/// with a `{:width$}` argument, whose width must fit in 16 bits.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let rows: Vec<Vec<String>> = std::iter::once(header)
        .chain(rows)
        .map(|row| {
            row.iter()
                .map(|cell| ellipsize(cell, MAX_CELL_CHARS))
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = Vec::new();
    for row in &rows {
        for (column, cell) in row.iter().enumerate() {
            if column >= widths.len() {
                widths.push(0);
            }
            widths[column] = widths[column].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::from(" ");
        for (column, cell) in row.iter().enumerate() {
            let padding = " ".repeat(widths[column].saturating_sub(cell.chars().count()));
            if column == 0 {
                line.push(' ');
                line.push_str(cell);
                line.push_str(&padding);
            } else {
                line.push_str("  ");
                line.push_str(&padding);
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `text` if it has at most `max_chars` characters, else its first `max_chars - 1` and `…`.
pub fn ellipsize(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_string()
    } else {
        let mut short: String = text.chars().take(max_chars.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

/// Below this a number on a table is 0: sim's quantities (seconds to the nanosecond, dollars,
/// fractions of counts) carry nothing there but floating-point noise, such as the 1e-22
/// spread of replications that all measured the same 1 µs.
pub const TINY: f64 = 1e-9;

/// Three significant digits (whole numbers above 1000, plain decimals below 0.001 without
/// trailing zeros: `0.000001` rather than `1.00e-6`), and 0 below `TINY`; for reading, not
/// for files.
pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    if value.abs() < TINY {
        return "0".into();
    }
    if value.abs() >= 1e15 {
        // Three significant digits, as below, without 16 or more of them.
        return format!("{value:.2e}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (2 - magnitude).clamp(0, 11) as usize;
    let text = format!("{value:.decimals$}");
    if value.abs() < 1e-3 {
        text.trim_end_matches('0').to_string()
    } else {
        text
    }
}

/// The half-width of a confidence interval: 0 when it is noise next to the mean (replications
/// that all gave the same value, up to rounding), else `number`.
pub fn half_width(half_width: f64, mean: f64) -> String {
    if half_width.abs() <= TINY * mean.abs().max(1.0) {
        "0".into()
    } else {
        number(half_width)
    }
}

/// `n` and the noun, plural unless `n` is 1: "1 point", "16 points".
pub fn count(n: impl Into<u64>, singular: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {singular}s")
    }
}

fn money(value: f64) -> String {
    if value.abs() >= 1.0 || value == 0.0 {
        format!("{value:.2}")
    } else {
        number(value)
    }
}

/// The `sim run` command (without `--seed`) that loads `file` with `overrides`, quoted for a
/// POSIX shell. A `seed=...` override (how a sweep passes its `--seed`) is left out: every
/// caller adds the run's own `--seed`, which replaces it, and `sim run` refuses the two
/// together.
pub fn run_command(file: &std::path::Path, overrides: &[String]) -> String {
    let mut words = vec![
        "sim".to_string(),
        "run".to_string(),
        shell_quote(&file.display().to_string()),
    ];
    let seed = |o: &&String| crate::scenario::override_key(o).as_deref() == Some("seed");
    for value in overrides.iter().filter(|o| !seed(o)) {
        words.push("--set".into());
        words.push(shell_quote(value));
    }
    words.join(" ")
}

/// The command that reruns exactly one run: `run_command` plus `--seed`. A replication's or a
/// sweep run's seed given to `--seed` reproduces it alone (replication 0 runs with the seed
/// itself).
pub fn reproduce_command(file: &std::path::Path, overrides: &[String], seed: u64) -> String {
    format!("{} --seed {seed}", run_command(file, overrides))
}

/// `word` as one POSIX shell word.
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Seconds as the largest whole unit: "24h", "90m", "45s", "0.5s".
pub fn duration(seconds: f64) -> String {
    if seconds > 0.0 && seconds % 3600.0 == 0.0 {
        format!("{}h", seconds / 3600.0)
    } else if seconds > 0.0 && seconds % 60.0 == 0.0 {
        format!("{}m", seconds / 60.0)
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::sample_output;

    /// The value cell of the row labelled `label`.
    fn cell<'a>(text: &'a str, label: &str) -> &'a str {
        let line = text
            .lines()
            .find(|line| line.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no row {label:?} in\n{text}"));
        line.rsplit(' ').next().unwrap()
    }

    #[test]
    fn summary_table_shows_the_key_numbers() {
        let text = summary_table(&sample_output().summary, 1);
        assert!(
            text.starts_with("sample: seed 42, horizon 2m, 1 replication\n"),
            "{text}"
        );
        assert_eq!(cell(&text, "unanswered messages"), "1");
        assert_eq!(cell(&text, "response latency p95 (s)"), "2.50");
        assert_eq!(cell(&text, "oom crashes"), "1");
        assert_eq!(cell(&text, "instances mean"), "1.50");
        assert_eq!(cell(&text, "cost total (usd)"), "0.110");
        assert_eq!(text.lines().count(), 17, "{text}");
        assert!(!text.contains("cost tools"), "no tool is priced: {text}");
    }

    /// Priced tool calls get their own row, so that the cost rows add up to the total.
    #[test]
    fn summary_table_shows_tool_costs_when_tools_are_priced() {
        let mut summary = sample_output().summary;
        summary.cost_usd.tools = 29.96;
        summary.cost_usd.total += 29.96;
        let text = summary_table(&summary, 1);
        assert_eq!(cell(&text, "cost tools (usd)"), "29.96");
        let sum: f64 = ["cost compute (usd)", "cost llm (usd)", "cost tools (usd)"]
            .iter()
            .map(|label| cell(&text, label).parse::<f64>().unwrap())
            .sum();
        let total: f64 = cell(&text, "cost total (usd)").parse().unwrap();
        assert!((sum - total).abs() < 0.01, "{sum} vs {total}: {text}");
    }

    #[test]
    fn slo_table_marks_failures() {
        let summary = sample_output().summary;
        let text = slo_table(std::slice::from_ref(&summary));
        assert_eq!(
            text,
            "  slo           value  limit  status\n  p95 under 2s   2.50   2.00  FAILED\n"
        );
        let mut passing = summary.clone();
        passing.slo[0].ok = true;
        passing.slo[0].value = 1.5;
        assert!(!slos_held(&[passing.clone(), summary.clone()]));
        assert!(slos_held(std::slice::from_ref(&passing)));
        let text = slo_table(&[passing, summary]);
        assert!(
            text.contains("p95 under 2s        2.00   2.00  FAILED        1/2"),
            "{text}"
        );
    }

    #[test]
    fn replications_table_has_a_row_per_key_metric() {
        let summary = sample_output().summary;
        let text = replications_table(&[summary.clone(), summary]);
        assert!(text.starts_with("across 2 replications"));
        assert!(text.contains("messages received"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with("cache misses") && l.ends_with("  0")),
            "{text}"
        );
    }

    #[test]
    fn an_slo_with_nothing_to_measure_says_why_under_the_table() {
        let mut summary = sample_output().summary;
        summary.slo[0].ok = false;
        summary.slo[0].value = 0.0;
        summary.slo[0].reason = Some(
            "no answered message after warmup: a latency SLO needs at least one sample".into(),
        );
        let text = slo_table(std::slice::from_ref(&summary));
        assert_eq!(
            text,
            "  slo           value  limit  status\n  p95 under 2s      0   2.00  FAILED\n  \
             p95 under 2s FAILED: no answered message after warmup: a latency SLO needs at least one sample\n"
        );
        let text = slo_table(&[summary.clone(), sample_output().summary]);
        assert!(
            text.ends_with("at least one sample (in 1/2 replications)\n"),
            "{text}"
        );
    }

    #[test]
    fn a_name_of_any_length_prints_ellipsized() {
        let mut summary = sample_output().summary;
        let long = "x".repeat(70_000);
        summary.slo[0].name = long.clone();
        summary.scenario = long;
        let text = slo_table(std::slice::from_ref(&summary));
        let row = text.lines().nth(1).unwrap();
        assert_eq!(row, format!("  {}…   2.50   2.00  FAILED", "x".repeat(59)));
        assert!(summary_table(&summary, 1).len() < 71_000);
        assert_eq!(ellipsize("abc", 3), "abc");
        assert_eq!(ellipsize("abcd", 3), "ab…");
        // A table wider than 65,535 characters in one cell cannot be built any more.
        let text = table(
            &["a", "b"],
            vec![vec!["y".repeat(70_000), "z".repeat(70_000)]],
        );
        assert_eq!(
            text.lines().nth(1).unwrap().chars().count(),
            2 + 60 + 2 + 60,
            "{text}"
        );
    }

    #[test]
    fn reproduce_command_quotes_what_the_shell_would_split() {
        let command = reproduce_command(
            std::path::Path::new("scenarios/my story.toml"),
            &["run.horizon=6h".into(), "name=it's".into()],
            123,
        );
        assert_eq!(
            command,
            "sim run 'scenarios/my story.toml' --set run.horizon=6h --set 'name=it'\\''s' --seed 123"
        );
        // A sweep passes its --seed as `seed=N`: the run's own --seed replaces it (sim run
        // refuses both), so it is left out.
        let command = reproduce_command(
            std::path::Path::new("s.toml"),
            &["seed=7".into(), "temporal.cache_size=10".into()],
            99,
        );
        assert_eq!(
            command,
            "sim run s.toml --set temporal.cache_size=10 --seed 99"
        );
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(0.0123456), "0.0123");
        assert_eq!(number(1.23456), "1.23");
        assert_eq!(number(123456.7), "123457");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(0.000001), "0.000001");
        assert_eq!(number(0.0000123456), "0.0000123");
        assert_eq!(number(0.00015), "0.00015");
        assert_eq!(number(0.001), "0.00100");
        assert_eq!(number(1.02e-22), "0");
        assert_eq!(number(999999999999999.0), "999999999999999");
        assert_eq!(number(1e30), "1.00e30");
        assert_eq!(number(-2.5e20), "-2.50e20");
        assert_eq!(number(-3e-12), "0");
        assert_eq!(half_width(1.02e-22, 1e-6), "0");
        assert_eq!(half_width(4e-16, 3.84), "0");
        assert_eq!(half_width(0.0123, 3.84), "0.0123");
        assert_eq!(half_width(0.0, 0.0), "0");
        assert_eq!(count(1u32, "point"), "1 point");
        assert_eq!(count(0u32, "run"), "0 runs");
        assert_eq!(count(16u64, "replication"), "16 replications");
        assert_eq!(duration(86400.0), "24h");
        assert_eq!(duration(5400.0), "90m");
        assert_eq!(duration(12.5), "12.5s");
    }
}
