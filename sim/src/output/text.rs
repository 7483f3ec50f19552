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
    let rows = vec![
        vec![
            "messages received".to_string(),
            s.messages.received.to_string(),
        ],
        vec![
            "messages answered".to_string(),
            s.messages.answered.to_string(),
        ],
        vec![
            "messages unanswered".to_string(),
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
        vec!["cost total (usd)".to_string(), money(s.cost_usd.total)],
    ];
    if replications > 1 {
        format!(
            "{heading}\nreplication 0:\n{}",
            table(&["metric", "value"], rows)
        )
    } else {
        format!("{heading}\n{}", table(&["metric", "value"], rows))
    }
}

/// Mean and 95% confidence half-width of the key metrics across replications.
pub fn replications_table(summaries: &[Summary]) -> String {
    let rows = key_metric_intervals(summaries)
        .into_iter()
        .map(|(metric, interval)| {
            vec![
                metric.label.to_string(),
                number(interval.mean),
                interval
                    .half_width
                    .map(number)
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
/// its limit, and `ok` or `FAILED` (failed in any replication). Empty when there are no SLOs.
pub fn slo_table(summaries: &[Summary]) -> String {
    let Some(first) = summaries.first() else {
        return String::new();
    };
    if first.slo.is_empty() {
        return String::new();
    }
    let several = summaries.len() > 1;
    let rows = first
        .slo
        .iter()
        .enumerate()
        .map(|(index, slo)| {
            let failed = summaries
                .iter()
                .filter(|s| s.slo.get(index).is_some_and(|r| !r.ok))
                .count();
            let mean = summaries
                .iter()
                .filter_map(|s| s.slo.get(index))
                .map(|r| r.value)
                .sum::<f64>()
                / summaries.len() as f64;
            let mut row = vec![
                slo.name.clone(),
                number(if several { mean } else { slo.value }),
                number(slo.limit),
                if failed == 0 {
                    "ok".to_string()
                } else {
                    "FAILED".to_string()
                },
            ];
            if several {
                row.push(format!("{failed}/{}", summaries.len()));
            }
            row
        })
        .collect();
    let header: &[&str] = if several {
        &["slo", "mean value", "limit", "status", "failed in"]
    } else {
        &["slo", "value", "limit", "status"]
    };
    table(header, rows)
}

/// True when every SLO held in every replication.
pub fn slos_held(summaries: &[Summary]) -> bool {
    summaries
        .iter()
        .all(|summary| summary.slo.iter().all(|slo| slo.ok))
}

/// A plain-text table: two-space indent, first column left-aligned, the others right-aligned.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (column, cell) in row.iter().enumerate() {
            if column < widths.len() {
                widths[column] = widths[column].max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows.iter()) {
        let mut line = String::from(" ");
        for (column, cell) in row.iter().enumerate() {
            let width = widths.get(column).copied().unwrap_or(0);
            if column == 0 {
                line.push_str(&format!(" {cell:<width$}"));
            } else {
                line.push_str(&format!("  {cell:>width$}"));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Three significant digits (whole numbers above 1000, scientific below 0.001), for reading,
/// not for files.
pub fn number(value: f64) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    if value == 0.0 {
        return "0".into();
    }
    if value.abs() < 1e-3 {
        return format!("{value:.2e}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    let decimals = (2 - magnitude).clamp(0, 9) as usize;
    format!("{value:.decimals$}")
}

fn money(value: f64) -> String {
    if value.abs() >= 1.0 || value == 0.0 {
        format!("{value:.2}")
    } else {
        number(value)
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
        assert_eq!(cell(&text, "messages unanswered"), "1");
        assert_eq!(cell(&text, "response latency p95 (s)"), "2.50");
        assert_eq!(cell(&text, "oom crashes"), "1");
        assert_eq!(cell(&text, "instances mean"), "1.50");
        assert_eq!(cell(&text, "cost total (usd)"), "0.110");
        assert_eq!(text.lines().count(), 17, "{text}");
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
    fn numbers_read_well() {
        assert_eq!(number(0.0123456), "0.0123");
        assert_eq!(number(1.23456), "1.23");
        assert_eq!(number(123456.7), "123457");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(0.000001), "1.00e-6");
        assert_eq!(duration(86400.0), "24h");
        assert_eq!(duration(5400.0), "90m");
        assert_eq!(duration(12.5), "12.5s");
    }
}
