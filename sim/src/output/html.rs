//! `report.html`: one self-contained page per run and per sweep, for a reader with a browser
//! and nothing else: the summary, the SLO verdicts, the figures as inline SVG (the same drawing
//! code as the `.svg` files), for a timeline scenario a table per phase between interventions,
//! the resolved scenario and the command that reproduces the run.
//!
//! Self-contained: no script, no external stylesheet, font or image, so the page renders the
//! same offline. Deterministic: a pure function of what the run or sweep reported (no clock,
//! no paths of the machine), so the same scenario and seed give the same bytes. Everything that
//! comes from a user (names, labels, descriptions, keys, values, the scenario text) goes
//! through `escape`; the inline SVG comes from plotters' SVG backend, which escapes its text.

use super::verdicts::slo_verdicts;
use crate::metrics::report::{LatencyStats, RunOutput, Summary, TimeseriesRow};
use crate::scenario::{Action, Scenario, nanos_to_seconds, to_resolved_toml};
use crate::sweep::metrics::Unit;
use crate::sweep::{METRICS, PointResult, RunRecord, SweepMeta};
use std::fmt::Write;

/// The file name of the report in a run's or a sweep's folder.
pub const REPORT: &str = "report.html";

/// `text` safe inside HTML elements and double- or single-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;\
color:#1e1e1e;background:#fff;line-height:1.4}\
main{max-width:1280px;margin:0 auto;padding:16px 24px 48px}\
h1{font-size:1.6em;margin:.4em 0 .2em}h2{font-size:1.25em;margin:1.6em 0 .4em;\
border-bottom:1px solid #ddd;padding-bottom:.2em}\
.lead{color:#555;margin:0 0 .8em}\
table{border-collapse:collapse;margin:.4em 0;font-size:.92em}\
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}\
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.scroll{overflow-x:auto}\
.ok{color:#1a7f37;font-weight:600}.fail{color:#c62828;font-weight:600}\
.verdict{display:inline-block;padding:2px 10px;border-radius:4px;font-weight:600}\
.verdict.ok{background:#e6f4ea}.verdict.fail{background:#fdecea}\
figure{margin:.6em 0 1.2em}figure svg{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{color:#555;font-size:.9em}\
pre{background:#f7f7f7;border:1px solid #e4e4e4;padding:8px 10px;overflow-x:auto;\
font-size:.85em}code{font-family:ui-monospace,'DejaVu Sans Mono',monospace}";

/// The page around `body`: title, inline style, no script.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n{body}</main>\n\
         </body>\n</html>\n",
        escape(title)
    )
}

/// A table: header cells and rows of cells already HTML (numbers get `class="n"` by the
/// caller through `num_cell`).
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut html = String::from("<div class=\"scroll\"><table>\n<thead><tr>");
    for cell in header {
        let _ = write!(html, "<th>{}</th>", escape(cell));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            if cell.starts_with("<td") {
                html.push_str(cell);
            } else {
                let _ = write!(html, "<td>{cell}</td>");
            }
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody></table></div>\n");
    html
}

fn text_cell(text: &str) -> String {
    format!("<td>{}</td>", escape(text))
}

fn num_cell(text: &str) -> String {
    format!("<td class=\"n\">{}</td>", escape(text))
}

/// A figure's SVG inline. Only what plotters' SVG backend wrote is accepted: it escapes every
/// text it draws, so the SVG cannot carry markup of its own.
fn inline_svg(svg: &str, caption: &str) -> String {
    let body = svg.trim();
    assert!(
        body.starts_with("<svg") && body.ends_with("</svg>"),
        "an inline figure must be one SVG element"
    );
    format!(
        "<figure>\n{body}\n<figcaption>{}</figcaption>\n</figure>\n",
        escape(caption)
    )
}

/// A number with `digits` significant digits, without exponent for everyday magnitudes.
pub fn significant(value: f64, digits: usize) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    if value == 0.0 {
        return "0".into();
    }
    let magnitude = value.abs().log10().floor() as i32;
    if !(-6..15).contains(&magnitude) {
        return format!("{value:.*e}", digits.saturating_sub(1));
    }
    let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
    format!("{value:.decimals$}")
}

/// A duration in seconds for a table: four significant digits, trailing zeros dropped.
fn seconds(value: f64) -> String {
    let text = significant(value, 4);
    let text = if text.contains('.') && !text.contains('e') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text} s")
}

/// A horizon: days, hours or minutes, whichever reads best.
fn duration(seconds_total: f64) -> String {
    let hours = seconds_total / 3600.0;
    if hours >= 48.0 {
        format!("{} days", significant(hours / 24.0, 3))
    } else if hours >= 2.0 {
        format!("{} h", significant(hours, 3))
    } else {
        format!("{} min", significant(seconds_total / 60.0, 3))
    }
}

fn bytes(value: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let value = value as f64;
    if value >= 1024.0 * MIB {
        format!("{} GiB", significant(value / (1024.0 * MIB), 4))
    } else {
        format!("{} MiB", significant(value / MIB, 4))
    }
}

fn usd(value: f64) -> String {
    format!("${}", significant(value, 6))
}

fn latency_row(name: &str, stats: &LatencyStats) -> Vec<String> {
    let mut row = vec![text_cell(name), num_cell(&stats.count.to_string())];
    for value in [
        stats.mean, stats.p50, stats.p90, stats.p95, stats.p99, stats.max,
    ] {
        row.push(num_cell(&seconds(value)));
    }
    row
}

/// Where a run came from, for the reproduce command: the scenario file and the `--set`
/// overrides as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportSource {
    pub file: std::path::PathBuf,
    pub overrides: Vec<String>,
}

/// The report of one run. `timeline_svg` is the timeline figure when figures were drawn.
pub fn run_report(
    scenario: &Scenario,
    output: &RunOutput,
    timeline_svg: Option<&str>,
    source: &ReportSource,
) -> String {
    let summary = &output.summary;
    let mut body = String::new();
    let _ = writeln!(body, "<h1>sim run: {}</h1>", escape(&scenario.name));
    if !scenario.description.is_empty() {
        let _ = writeln!(
            body,
            "<p class=\"lead\">{}</p>",
            escape(&scenario.description)
        );
    }
    let verdicts = slo_verdicts(std::slice::from_ref(summary));
    let failed = verdicts.iter().filter(|v| !v.ok).count();
    let verdict = if verdicts.is_empty() {
        "<span class=\"verdict ok\">no SLOs declared</span>".to_string()
    } else if failed == 0 {
        format!(
            "<span class=\"verdict ok\">all {} SLOs met</span>",
            verdicts.len()
        )
    } else {
        format!(
            "<span class=\"verdict fail\">{failed} of {} SLOs failed</span>",
            verdicts.len()
        )
    };
    let _ = writeln!(
        body,
        "<p>{verdict} &nbsp; seed {} · {} simulated · sim {}</p>",
        summary.seed,
        duration(summary.horizon_s),
        escape(&summary.version)
    );

    body.push_str("<h2>Summary</h2>\n");
    body.push_str(&summary_table(summary));

    body.push_str("<h2>Latency</h2>\n");
    let mut latency_rows = vec![
        latency_row("response", &summary.response_latency_s),
        latency_row(
            "activity schedule-to-start",
            &summary.activity_schedule_to_start_s,
        ),
        latency_row(
            "workflow task schedule-to-start",
            &summary.workflow_task_schedule_to_start_s,
        ),
    ];
    for (provider, stats) in &summary.llm_call_latency_s {
        latency_rows.push(latency_row(&format!("LLM call: {provider}"), stats));
    }
    body.push_str(&table(
        &[
            "latency", "count", "mean", "p50", "p90", "p95", "p99", "max",
        ],
        &latency_rows,
    ));

    body.push_str("<h2>SLO verdicts</h2>\n");
    if verdicts.is_empty() {
        body.push_str("<p>The scenario declares no SLOs.</p>\n");
    } else {
        let rows: Vec<Vec<String>> = verdicts
            .iter()
            .map(|v| {
                vec![
                    text_cell(&v.name),
                    text_cell(&v.metric),
                    num_cell(&significant(v.value, 5)),
                    num_cell(&significant(v.limit, 5)),
                    if v.ok {
                        "<td class=\"ok\">met</td>".to_string()
                    } else {
                        "<td class=\"fail\">FAILED</td>".to_string()
                    },
                    text_cell(v.reason.as_deref().unwrap_or("")),
                ]
            })
            .collect();
        body.push_str(&table(
            &[
                "SLO",
                "metric",
                "value",
                "limit (at most)",
                "verdict",
                "why",
            ],
            &rows,
        ));
    }

    if !summary.workloads.is_empty() {
        body.push_str("<h2>Workloads</h2>\n");
        let rows: Vec<Vec<String>> = summary
            .workloads
            .iter()
            .map(|w| {
                vec![
                    text_cell(&w.name),
                    num_cell(&w.conversations.started.to_string()),
                    num_cell(&w.messages.received.to_string()),
                    num_cell(&w.messages.unanswered.to_string()),
                    num_cell(&seconds(w.response_latency_s.p95)),
                ]
            })
            .collect();
        body.push_str(&table(
            &[
                "workload",
                "conversations",
                "messages",
                "unanswered",
                "response p95",
            ],
            &rows,
        ));
    }

    body.push_str("<h2>Figures</h2>\n");
    match timeline_svg {
        Some(svg) => body.push_str(&inline_svg(
            svg,
            "Postmortem timeline: memory, instances, CPU, activity queue and latency over \
             simulated time, with every intervention marked (also timeline.png, timeline.svg).",
        )),
        None => body.push_str("<p>Figures were not drawn (<code>--no-plots</code>).</p>\n"),
    }

    if !scenario.timeline.is_empty() {
        body.push_str("<h2>Phases</h2>\n");
        body.push_str(
            "<p>The run cut at every timeline intervention; each row sums or summarises the \
             time-series intervals that end inside the phase.</p>\n",
        );
        body.push_str(&phase_table(scenario, &output.timeseries.rows.to_vec()));
    }

    body.push_str("<h2>Reproduce</h2>\n");
    let command = super::text::reproduce_command(&source.file, &source.overrides, scenario.seed);
    let _ = writeln!(body, "<pre><code>{}</code></pre>", escape(&command));
    body.push_str(
        "<p>Same scenario, seed and program version give the same outputs byte for byte. \
         Data beside this page: <code>summary.json</code>, <code>timeseries.csv</code>, \
         <code>events.csv</code>, <code>scenario.resolved.toml</code>.</p>\n",
    );

    body.push_str("<h2>Resolved scenario</h2>\n");
    let _ = writeln!(
        body,
        "<pre><code>{}</code></pre>",
        escape(&to_resolved_toml(scenario))
    );

    page(&format!("sim run: {}", scenario.name), &body)
}

fn summary_table(summary: &Summary) -> String {
    let row = |what: &str, value: String| vec![text_cell(what), num_cell(&value)];
    let rows = vec![
        row("events processed", summary.events_processed.to_string()),
        row(
            "conversations started / completed / open at end",
            format!(
                "{} / {} / {}",
                summary.conversations.started,
                summary.conversations.completed,
                summary.conversations.open_at_end
            ),
        ),
        row(
            "messages received / answered / unanswered / in flight",
            format!(
                "{} / {} / {} / {}",
                summary.messages.received,
                summary.messages.answered,
                summary.messages.unanswered,
                summary.messages.in_flight_at_end
            ),
        ),
        row(
            "response latency p50 / p95 / p99",
            format!(
                "{} / {} / {}",
                seconds(summary.response_latency_s.p50),
                seconds(summary.response_latency_s.p95),
                seconds(summary.response_latency_s.p99)
            ),
        ),
        row(
            "instances mean / min / max",
            format!(
                "{} / {} / {}",
                significant(summary.instances.mean, 4),
                summary.instances.min,
                summary.instances.max
            ),
        ),
        row("instance-seconds", significant(summary.instance_seconds, 6)),
        row("OOM crashes", summary.crashes.oom.to_string()),
        row("memory peak", bytes(summary.memory_peak_bytes)),
        row(
            "cache hits / misses / evictions / replayed events",
            format!(
                "{} / {} / {} / {}",
                summary.cache.hits,
                summary.cache.misses,
                summary.cache.evictions,
                summary.cache.replayed_events
            ),
        ),
        row(
            "cost compute / LLM / tools",
            format!(
                "{} / {} / {}",
                usd(summary.cost_usd.compute),
                usd(summary.cost_usd.llm),
                usd(summary.cost_usd.tools)
            ),
        ),
        row("cost total", usd(summary.cost_usd.total)),
    ];
    table(&["", "value"], &rows)
}

/// One row per phase: from the start (or an intervention) to the next intervention (or the
/// horizon). Per-interval percentiles cannot be merged into a phase percentile, so the table
/// gives the worst interval's p95.
fn phase_table(scenario: &Scenario, rows: &[TimeseriesRow]) -> String {
    let horizon_s = nanos_to_seconds(scenario.run.horizon);
    let mut starts: Vec<(f64, String)> = vec![(0.0, "start".to_string())];
    for intervention in &scenario.timeline {
        let kind = match &intervention.action {
            Action::Set { .. } => "set",
            Action::ProviderIncident { .. } => "provider incident",
            Action::Deploy { .. } => "deploy",
        };
        let label = if intervention.label.is_empty() {
            kind.to_string()
        } else {
            intervention.label.clone()
        };
        starts.push((nanos_to_seconds(intervention.at), label));
    }
    let mut table_rows = Vec::new();
    for (index, (start_s, label)) in starts.iter().enumerate() {
        let end_s = starts.get(index + 1).map_or(horizon_s, |(t, _)| *t);
        if end_s <= *start_s && index + 1 < starts.len() {
            continue;
        }
        let inside: Vec<&TimeseriesRow> = rows
            .iter()
            .filter(|row| row.t_s > *start_s && row.t_s <= end_s)
            .collect();
        let count = inside.len().max(1) as f64;
        let mean = |value: &dyn Fn(&TimeseriesRow) -> f64| {
            inside.iter().map(|row| value(row)).sum::<f64>() / count
        };
        let sum = |value: &dyn Fn(&TimeseriesRow) -> u64| {
            inside.iter().map(|row| value(row)).sum::<u64>()
        };
        let worst_p95 = inside
            .iter()
            .filter_map(|row| row.response_latency_p95_s)
            .filter(|v| v.is_finite())
            .fold(None, |acc: Option<f64>, v| {
                Some(acc.map_or(v, |a| a.max(v)))
            });
        let peak_memory = inside.iter().map(|row| row.memory_bytes_max).max();
        let peak_backlog = inside.iter().map(|row| row.activity_backlog).max();
        let dash = || num_cell("–");
        table_rows.push(vec![
            text_cell(&format!(
                "{} – {}",
                clock(*start_s, horizon_s),
                clock(end_s, horizon_s)
            )),
            text_cell(label),
            num_cell(&inside.len().to_string()),
            if inside.is_empty() {
                dash()
            } else {
                num_cell(&significant(mean(&|r| r.instances_running as f64), 3))
            },
            if inside.is_empty() {
                dash()
            } else {
                num_cell(&format!(
                    "{}%",
                    significant(mean(&|r| r.cpu_utilization * 100.0), 3)
                ))
            },
            peak_memory.map_or_else(dash, |b| num_cell(&bytes(b))),
            num_cell(&sum(&|r| r.crashes).to_string()),
            peak_backlog.map_or_else(dash, |b| num_cell(&b.to_string())),
            num_cell(&sum(&|r| r.messages_received).to_string()),
            num_cell(&sum(&|r| r.messages_unanswered).to_string()),
            worst_p95.map_or_else(dash, |v| num_cell(&seconds(v))),
        ]);
    }
    table(
        &[
            "phase",
            "begins with",
            "intervals",
            "instances (mean)",
            "CPU (mean)",
            "memory max (peak)",
            "OOM crashes",
            "activity backlog (peak)",
            "messages",
            "unanswered",
            "response p95 (worst interval)",
        ],
        &table_rows,
    )
}

/// Simulated time as clock time, with the day when the run spans more than one.
fn clock(t_s: f64, horizon_s: f64) -> String {
    let total_minutes = (t_s / 60.0).round().max(0.0) as u64;
    let (day, hour, minute) = (
        total_minutes / (24 * 60),
        (total_minutes / 60) % 24,
        total_minutes % 60,
    );
    if horizon_s > 24.0 * 3600.0 {
        format!("day {} {hour:02}:{minute:02}", day + 1)
    } else {
        format!("{hour:02}:{minute:02}")
    }
}

/// The report of a sweep (or of the merge of its shards, which must be byte-identical): a pure
/// function of what `sweep.json` and `runs.csv` hold. `figures` are the sweep's figures as
/// `(file name, bytes)`; the SVG ones are inlined.
pub fn sweep_report(
    meta: &SweepMeta,
    records: &[RunRecord],
    points: &[PointResult],
    cheapest: Option<usize>,
    figures: &[(String, Vec<u8>)],
) -> String {
    let plan = meta.plan();
    let mut body = String::new();
    let _ = writeln!(body, "<h1>sim sweep: {}</h1>", escape(&meta.scenario));
    let feasible = points.iter().filter(|p| p.feasible).count();
    let verdict = if feasible > 0 {
        format!(
            "<span class=\"verdict ok\">{feasible} of {} points feasible</span>",
            points.len()
        )
    } else {
        format!(
            "<span class=\"verdict fail\">no feasible point of {}</span>",
            points.len()
        )
    };
    let _ = writeln!(
        body,
        "<p>{verdict} &nbsp; {} points × {} replications = {} runs · base seed {} · sim {}</p>",
        plan.points,
        plan.replications,
        plan.total_runs(),
        meta.base_seed,
        escape(&meta.version)
    );
    if let crate::sweep::Search::Halving(h) = meta.search {
        let _ = writeln!(
            body,
            "<p>Successive halving: {} of these runs were done (every point from {} \
             replication(s), 1 point in {} kept each round with {}× the replications); a point \
             eliminated early is marked with its round.</p>",
            records.len(),
            h.initial_replications,
            h.factor,
            h.factor
        );
    }
    body.push_str("<h2>Grid</h2>\n");
    let axes: Vec<Vec<String>> = meta
        .grid
        .axes
        .iter()
        .map(|axis| vec![text_cell(&axis.key), text_cell(&axis.values.join(", "))])
        .collect();
    if axes.is_empty() {
        body.push_str("<p>No swept key: replications of the scenario as it is.</p>\n");
    } else {
        body.push_str(&table(&["key", "values"], &axes));
    }

    // The default objective keeps the page's historical heading; another names itself.
    let objective = &crate::sweep::METRICS[meta.objective];
    if meta.objective == crate::sweep::metrics::default_objective() {
        body.push_str("<h2>Cheapest feasible point</h2>\n");
    } else {
        let _ = writeln!(
            body,
            "<h2>Best feasible point (lowest {})</h2>",
            escape(objective.label)
        );
    }
    match cheapest.and_then(|i| points.get(i)) {
        Some(point) if meta.objective != crate::sweep::metrics::default_objective() => {
            let _ = writeln!(
                body,
                "<p>Point {}: {} — mean {} {}, mean total cost {}.</p>",
                point.index,
                escape(&parameters_text(&point.parameters)),
                escape(objective.label),
                escape(&crate::sweep::metrics::show_with_ci(
                    objective,
                    &point.stats[meta.objective]
                )),
                usd(point.stats[crate::sweep::metrics::COST_TOTAL_USD].mean),
            );
        }
        Some(point) => {
            let _ = writeln!(
                body,
                "<p>Point {}: {} — mean total cost {}, mean p95 response latency {}.</p>",
                point.index,
                escape(&parameters_text(&point.parameters)),
                usd(point.stats[crate::sweep::metrics::COST_TOTAL_USD].mean),
                seconds(point.stats[crate::sweep::metrics::RESPONSE_LATENCY_P95_S].mean)
            );
        }
        None => body.push_str("<p>No point met every SLO in every replication.</p>\n"),
    }

    body.push_str("<h2>Points and SLO verdicts</h2>\n");
    body.push_str(
        "<p>Mean over replications ± the half-width of its 95% confidence interval. A point \
         is feasible when every SLO held in every replication.</p>\n",
    );
    let mut header: Vec<&str> = vec!["point"];
    header.extend(meta.grid.axes.iter().map(|axis| axis.key.as_str()));
    header.extend(["SLOs held", "SLOs failed (replications)"]);
    header.extend(METRICS.iter().map(|m| m.name));
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|point| {
            let mut row = vec![num_cell(&point.index.to_string())];
            row.extend(point.parameters.iter().map(|(_, value)| text_cell(value)));
            row.push(if point.feasible {
                "<td class=\"ok\">all</td>".to_string()
            } else if let Some(eliminated) = point.eliminated {
                format!(
                    "<td class=\"fail\">eliminated ({}; {} replications)</td>",
                    escape(&eliminated.describe()),
                    point.replications
                )
            } else {
                format!(
                    "<td class=\"fail\">{}%</td>",
                    significant(point.slo_feasible_fraction * 100.0, 3)
                )
            });
            let runs: Vec<RunRecord> = records
                .iter()
                .filter(|r| r.point == point.index)
                .cloned()
                .collect();
            row.push(text_cell(&failed_slos(&runs)));
            for (metric, stats) in METRICS.iter().zip(&point.stats) {
                let value = format_metric(metric.unit, stats.mean);
                let text = match stats.ci95 {
                    Some(half) => format!("{value} ± {}", significant(half, 3)),
                    None => value,
                };
                row.push(num_cell(&text));
            }
            row
        })
        .collect();
    body.push_str(&table(&header, &rows));

    body.push_str("<h2>Figures</h2>\n");
    let svgs: Vec<&(String, Vec<u8>)> = figures
        .iter()
        .filter(|(name, _)| name.ends_with(".svg"))
        .collect();
    if svgs.is_empty() {
        body.push_str("<p>Figures were not drawn (<code>--no-plots</code>).</p>\n");
    }
    for (name, svg) in svgs {
        let svg = String::from_utf8_lossy(svg);
        body.push_str(&inline_svg(&svg, name));
    }

    body.push_str("<h2>Reproduce</h2>\n");
    let _ = writeln!(
        body,
        "<pre><code>{}</code></pre>",
        escape(&sweep_command(meta))
    );
    let _ = writeln!(
        body,
        "<p>where <code>SCENARIO.toml</code> is the file of scenario <code>{}</code> \
         (scenario hash <code>{}</code>, which covers the file, the <code>--set</code> values \
         and the CSV files the points read). \
         Data beside this page: <code>points.csv</code>, <code>runs.csv</code>, \
         <code>sweep.json</code>.</p>",
        escape(&meta.scenario),
        escape(&meta.scenario_hash)
    );
    page(&format!("sim sweep: {}", meta.scenario), &body)
}

/// The `sim sweep` command that runs this sweep again, with the scenario file as
/// `SCENARIO.toml`: its `--set` values (`--horizon` among them, as `run.horizon`), grid,
/// replications, seed, objective and search.
fn sweep_command(meta: &SweepMeta) -> String {
    let mut words = vec!["sim".to_string(), "sweep".into(), "SCENARIO.toml".into()];
    for value in &meta.overrides {
        words.push("--set".into());
        words.push(super::text::shell_quote(value));
    }
    for axis in &meta.grid.axes {
        words.push("--grid".into());
        words.push(super::text::shell_quote(&format!(
            "{}={}",
            axis.key,
            axis.values.join(",")
        )));
    }
    words.push("--replications".into());
    words.push(meta.replications.to_string());
    words.push("--seed".into());
    words.push(meta.base_seed.to_string());
    if meta.objective != crate::sweep::metrics::default_objective() {
        words.push("--objective".into());
        words.push(METRICS[meta.objective].name.to_string());
    }
    if let crate::sweep::Search::Halving(h) = meta.search {
        words.extend([
            "--search".to_string(),
            "halving".into(),
            "--initial-replications".into(),
            h.initial_replications.to_string(),
            "--halving-factor".into(),
            h.factor.to_string(),
        ]);
    }
    words.join(" ")
}

fn parameters_text(parameters: &[(String, String)]) -> String {
    if parameters.is_empty() {
        return "the scenario as it is".into();
    }
    parameters
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SLOs that failed in some of `runs`, with how many replications each failed in.
fn failed_slos(runs: &[RunRecord]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for run in runs {
        for name in &run.slo_failed {
            match counts.iter_mut().find(|(n, _)| n == name) {
                Some((_, count)) => *count += 1,
                None => counts.push((name, 1)),
            }
        }
    }
    counts
        .iter()
        .map(|(name, count)| format!("{name} ({count})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn format_metric(unit: Unit, value: f64) -> String {
    match unit {
        Unit::Seconds => seconds(value),
        Unit::Usd => usd(value),
        Unit::UsdPerHour => format!("{}/h", usd(value)),
        _ => significant(value, 4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_both_quotes() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(escape("plain · text"), "plain · text");
    }

    #[test]
    fn significant_digits_keep_small_differences_readable() {
        assert_eq!(significant(1400.06, 6), "1400.06");
        assert_eq!(significant(1400.0, 6), "1400.00");
        assert_eq!(significant(0.000123456, 3), "0.000123");
        assert_eq!(significant(0.0, 3), "0");
        assert_eq!(significant(12.3456, 3), "12.3");
        assert_eq!(significant(2.5e20, 3), "2.50e20");
    }

    #[test]
    fn durations_read_in_human_units() {
        assert_eq!(seconds(0.000001), "0.000001 s");
        assert_eq!(seconds(21.2170), "21.22 s");
        assert_eq!(seconds(5.0), "5 s");
        assert_eq!(duration(324_000.0), "3.75 days");
        assert_eq!(duration(12.0 * 3600.0), "12.0 h");
        assert_eq!(duration(120.0), "2.00 min");
    }

    #[test]
    fn a_run_report_escapes_user_text_and_carries_every_section() {
        let mut output = crate::output::tests::sample_output();
        let mut scenario = crate::model::testkit::fleet(0.5, 120.0);
        scenario.name = "evil<script>".into();
        scenario.description = "a & b <img src=x onerror=alert(1)>".into();
        output.summary.slo[0].name = "p95 <b>".into();
        let source = ReportSource {
            file: "scenarios/x y.toml".into(),
            overrides: vec!["temporal.cache_size=1000".into()],
        };
        let svg = "<svg width=\"10\" height=\"10\" xmlns=\"http://www.w3.org/2000/svg\"></svg>";
        let html = run_report(&scenario, &output, Some(svg), &source);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(
            !html.contains("<script"),
            "no script, and user text escaped"
        );
        assert!(!html.contains("<img"));
        assert!(html.contains("evil&lt;script&gt;"));
        assert!(html.contains("p95 &lt;b&gt;"));
        assert!(html.contains("FAILED"));
        assert!(html.contains(svg), "the figure is inlined as is");
        assert!(html.contains("sim run &#39;scenarios/x y.toml&#39; --set"));
        assert!(html.contains("--seed"));
        assert!(html.contains("[run]"), "the resolved scenario is embedded");
        for external in ["http://", "https://"] {
            let outside_svg = html.replace("http://www.w3.org/2000/svg", "");
            assert!(
                !outside_svg.contains(external),
                "nothing fetched from a network"
            );
        }
        assert_eq!(
            html,
            run_report(&scenario, &output, Some(svg), &source),
            "deterministic"
        );
    }

    #[test]
    fn phases_split_the_run_at_each_intervention() {
        let output = crate::output::tests::sample_output();
        let mut scenario = crate::model::testkit::fleet(0.5, 120.0);
        scenario.timeline = vec![crate::scenario::Intervention {
            at: 90_000_000_000,
            label: "cut the <cache>".into(),
            action: Action::Deploy {
                deploy: crate::scenario::Deploy::Rolling,
            },
        }];
        let html = phase_table(&scenario, &output.timeseries.rows.to_vec());
        assert!(html.contains("<td>00:00 – 00:02</td><td>start</td><td class=\"n\">1</td>"));
        assert!(html.contains("<td>00:02 – 00:02</td><td>cut the &lt;cache&gt;</td>"));
        assert_eq!(html.matches("<tr>").count(), 3, "header and two phases");
    }
}
