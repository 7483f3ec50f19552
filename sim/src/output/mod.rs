//! Output files: `summary.json`, `timeseries.csv`, `events.csv`, `scenario.resolved.toml` and
//! the figures of a run, written as one `set::OutputSet` (each file atomically, the folder's
//! `manifest.json` last, stale files of an earlier run removed first), with `report.html`
//! (`html`) for a reader with a browser. `set` holds the one atomic file writer of sim. Also the human text printed by `sim run` (`text`), the
//! across-replication statistics (`replications`), and the machine-readable verdicts of
//! `--format json` and `--junit` (`verdicts`).
//!
//! Floats are written with Rust's shortest round-trip formatting (`{}`), so the same run gives
//! byte-identical files.

pub mod html;
pub mod phase;
pub mod plot;
pub mod replications;
pub mod set;
pub mod text;
pub mod verdicts;

pub use html::ReportSource;
pub use set::{MANIFEST, OutputSet, SetKind, remove_files_except, write_atomic, write_user_file};

use crate::metrics::registry;
use crate::metrics::report::{
    EventRecord, QuotaColumns, RunOutput, Summary, Timeseries, TimeseriesRow,
};
use crate::scenario::{Scenario, to_resolved_toml};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What `write_run` writes besides the data files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOptions {
    /// The timeline figure (`timeline.png`, `timeline.svg`).
    pub plots: bool,
    /// `report.html`, whose reproduce command names this scenario file and these overrides;
    /// `None` writes no report.
    pub report: Option<ReportSource>,
}

/// A file or directory that could not be written.
#[derive(Debug)]
pub struct OutputError {
    pub path: PathBuf,
    pub source: io::Error,
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: cannot write: {}",
            self.path.display(),
            lowercase_first(&self.source.to_string())
        )
    }
}

impl std::error::Error for OutputError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// The columns of `events.csv`.
pub const EVENT_COLUMNS: [&str; 4] = ["t_s", "kind", "instance", "detail"];

/// Writes every output of one run into `dir` (created if missing) as a complete set: the
/// previous run's files go first, `manifest.json` comes last.
pub fn write_run(
    dir: &Path,
    scenario: &Scenario,
    output: &RunOutput,
    options: &WriteOptions,
) -> Result<(), OutputError> {
    let set = OutputSet::begin(dir, SetKind::Run)?;
    write_run_into(&set, "", scenario, output, options)?;
    set.finish()
}

/// Writes one run's files into `set`, under `prefix` (`""` for the folder itself, or
/// `"replications/3/"`). The caller finishes the set.
pub fn write_run_into(
    set: &OutputSet,
    prefix: &str,
    scenario: &Scenario,
    output: &RunOutput,
    options: &WriteOptions,
) -> Result<(), OutputError> {
    set.write(
        &format!("{prefix}summary.json"),
        summary_json(&output.summary).as_bytes(),
    )?;
    set.write(
        &format!("{prefix}timeseries.csv"),
        &timeseries_csv(&output.timeseries),
    )?;
    set.write(&format!("{prefix}events.csv"), &events_csv(&output.events))?;
    set.write(
        &format!("{prefix}scenario.resolved.toml"),
        to_resolved_toml(scenario).as_bytes(),
    )?;
    let mut timeline_svg = None;
    if options.plots {
        let (png, svg) =
            plot::timeline_figures(scenario, output).map_err(|source| OutputError {
                path: set.root().join(format!("{prefix}timeline.png")),
                source,
            })?;
        set.write(&format!("{prefix}timeline.png"), &png)?;
        set.write(&format!("{prefix}timeline.svg"), svg.as_bytes())?;
        timeline_svg = Some(svg);
    }
    if let Some(source) = &options.report {
        let report = html::run_report(scenario, output, timeline_svg.as_deref(), source);
        set.write(&format!("{prefix}{}", html::REPORT), report.as_bytes())?;
    }
    Ok(())
}

/// `summary.json`: pretty JSON with a trailing newline.
pub fn summary_json(summary: &Summary) -> String {
    // Serialising plain structs with string keys cannot fail.
    let mut json = serde_json::to_string_pretty(summary).expect("summary serialises to JSON");
    json.push('\n');
    json
}

/// The `timeseries.csv` header, from `registry`'s column declarations: the fixed columns, in
/// request mode the request columns, then each per-provider column for every provider, then
/// each provider with a quota's columns.
pub fn timeseries_header(timeseries: &Timeseries) -> Vec<String> {
    let fixed = row_columns(timeseries).map(|column| column.name.to_string());
    let per_provider = registry::PROVIDER_COLUMNS.iter().flat_map(|column| {
        timeseries
            .providers
            .iter()
            .map(move |provider| format!("{}_{provider}", column.prefix))
    });
    let quotas = timeseries.quotas.iter().flat_map(|quota| {
        quota_columns(quota).map(move |column| format!("{}_{}", column.prefix, quota.provider))
    });
    fixed.chain(per_provider).chain(quotas).collect()
}

/// The columns with one cell per row: the fixed ones, and in request mode the request ones.
fn row_columns(
    timeseries: &Timeseries,
) -> impl Iterator<Item = &'static registry::Column<TimeseriesRow>> {
    let requests: &[registry::Column<TimeseriesRow>] = if timeseries.requests {
        registry::REQUEST_COLUMNS
    } else {
        &[]
    };
    registry::TIMESERIES_COLUMNS.iter().chain(requests)
}

/// The quota columns of a provider: its 429s, then those of the quotas it has at some time in
/// the run.
fn quota_columns(quota: &QuotaColumns) -> impl Iterator<Item = &'static registry::QuotaColumn> {
    registry::QUOTA_COLUMNS
        .iter()
        .filter(|column| (column.present)(quota))
}

fn cell(cell: registry::Cell) -> String {
    match cell {
        registry::Cell::Integer(n) => n.to_string(),
        registry::Cell::Number(x) => float(x),
        registry::Cell::Sampled(x) => optional_float(x),
    }
}

/// `timeseries.csv`; a `None` (no sample in the interval) is an empty cell.
pub fn timeseries_csv(timeseries: &Timeseries) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    write_csv_record(&mut writer, timeseries_header(timeseries));
    for row in &timeseries.rows {
        assert_eq!(
            row.llm_latency_p95_s.len(),
            timeseries.providers.len(),
            "one llm latency cell per provider"
        );
        assert_eq!(
            row.quota.len(),
            timeseries.quotas.len(),
            "one quota sample per provider with a quota"
        );
        let mut record: Vec<String> = row_columns(timeseries)
            .map(|column| cell((column.cell)(&row)))
            .collect();
        for column in registry::PROVIDER_COLUMNS {
            record.extend((0..timeseries.providers.len()).map(|p| cell((column.cell)(&row, p))));
        }
        for (sample, quota) in row.quota.iter().zip(&timeseries.quotas) {
            record.extend(quota_columns(quota).map(|column| cell((column.cell)(sample))));
        }
        write_csv_record(&mut writer, record);
    }
    into_bytes(writer)
}

/// `events.csv`; `instance` is empty for events that concern no single instance.
pub fn events_csv(events: &[EventRecord]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    write_csv_record(
        &mut writer,
        EVENT_COLUMNS.iter().map(|c| c.to_string()).collect(),
    );
    for event in events {
        write_csv_record(
            &mut writer,
            vec![
                float(event.t_s),
                event.kind.name().to_string(),
                event.instance.map(|id| id.to_string()).unwrap_or_default(),
                event.detail.clone(),
            ],
        );
    }
    into_bytes(writer)
}

/// Removes its folder when dropped, if the folder is empty (a cache folder nothing was saved
/// in, when its command fails).
pub struct RemoveIfEmpty<'p>(pub &'p Path);

impl Drop for RemoveIfEmpty<'_> {
    fn drop(&mut self) {
        let _ = fs::remove_dir(self.0);
    }
}

/// Creates `dir` and its parents.
pub fn create_dir(dir: &Path) -> Result<(), OutputError> {
    fs::create_dir_all(dir).map_err(|source| {
        // A file where a folder must be says so, naming the file, rather than "file exists"
        // or "not a directory".
        not_a_folder(dir).unwrap_or(OutputError {
            path: dir.to_path_buf(),
            source,
        })
    })
}

/// Refuses, as `create_dir` would, a `dir` that cannot become a folder because it or one of
/// its parents exists and is not one (a file, `/dev/null`); creates nothing. For commands that
/// run for minutes before they write.
pub fn check_can_be_folder(dir: &Path) -> Result<(), OutputError> {
    not_a_folder(dir).map_or(Ok(()), Err)
}

/// The error for the nearest of `dir` and its parents that exists and is not a folder.
fn not_a_folder(dir: &Path) -> Option<OutputError> {
    let blocker = dir
        .ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .find(|a| fs::metadata(a).is_ok_and(|m| !m.is_dir()))?;
    let what = if blocker.is_file() {
        "it is a file"
    } else {
        "it is not a folder"
    };
    let message = if blocker == dir {
        format!("{what}, and the outputs need a folder here")
    } else {
        format!(
            "{what}, and the outputs need a folder here ({})",
            dir.display()
        )
    };
    Some(OutputError {
        path: blocker.to_path_buf(),
        source: io::Error::new(io::ErrorKind::NotADirectory, message),
    })
}

/// A float as written in every output file: shortest round-trip decimal.
pub fn float(value: f64) -> String {
    format!("{value}")
}

fn optional_float(value: Option<f64>) -> String {
    value.map(float).unwrap_or_default()
}

// Writing CSV into a Vec<u8> can only fail on I/O, which a Vec never does.
fn write_csv_record(writer: &mut csv::Writer<Vec<u8>>, record: Vec<String>) {
    writer
        .write_record(&record)
        .expect("CSV into memory cannot fail");
}

fn into_bytes(writer: csv::Writer<Vec<u8>>) -> Vec<u8> {
    writer.into_inner().expect("CSV into memory cannot fail")
}

/// Error text from the OS starts with a capital ("No such file"); ours is lowercase.
pub fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::metrics::report::*;
    use std::collections::BTreeMap;

    /// A small, hand-built run output with every kind of cell.
    pub(crate) fn sample_output() -> RunOutput {
        let latency = LatencyStats {
            count: 3,
            mean: 1.5,
            p50: 1.25,
            p90: 2.0,
            p95: 2.5,
            p99: 3.0,
            max: 3.0,
        };
        let summary = Summary {
            scenario: "sample".into(),
            seed: 42,
            horizon_s: 120.0,
            warmup_s: 0.0,
            version: crate::VERSION.into(),
            events_processed: 1000,
            conversations: ConversationCounts {
                started: 2,
                completed: 1,
                open_at_end: 1,
            },
            messages: MessageCounts {
                received: 4,
                answered: 3,
                unanswered: 1,
                in_flight_at_end: 0,
            },
            response_latency_s: latency.clone(),
            activity_schedule_to_start_s: LatencyStats::default(),
            workflow_task_schedule_to_start_s: LatencyStats::default(),
            llm_call_latency_s: BTreeMap::from([("openai".to_string(), latency)]),
            llm_calls: BTreeMap::from([("openai".to_string(), LlmCallCounts::default())]),
            activities: ActivityCounts::default(),
            cache: CacheCounts {
                hits: 10,
                misses: 2,
                evictions: 0,
                replayed_events: 40,
            },
            instances: InstanceStats {
                mean: 1.5,
                min: 1,
                max: 2,
            },
            requests: None,
            instance_seconds: 180.0,
            crashes: CrashCounts { oom: 1 },
            memory_peak_bytes: 512 * 1024 * 1024,
            cost_usd: CostUsd {
                compute: 0.01,
                llm: 0.1,
                tools: 0.0,
                total: 0.11,
            },
            agent: Default::default(),
            steps: BTreeMap::new(),
            workloads: Vec::new(),
            slo: vec![SloResult {
                name: "p95 under 2s".into(),
                metric: "response_latency_p95_s".into(),
                ok: false,
                value: 2.5,
                limit: 2.0,
                reason: None,
            }],
            checks: Checks::default(),
        };
        let row = |t_s: f64, p95: Option<f64>| TimeseriesRow {
            t_s,
            instances_running: 1,
            instances_starting: 1,
            instances_desired: 2,
            cpu_utilization: 0.1,
            memory_bytes_max: 100,
            memory_bytes_mean: 90,
            memory_limit_bytes: 512,
            cache_entries: 3,
            open_conversations: 2,
            workflow_task_backlog: 0,
            activity_backlog: 1,
            activities_running: 1,
            messages_received: 2,
            messages_unanswered: 0,
            response_latency_p50_s: p95.map(|p| p / 2.0),
            response_latency_p95_s: p95,
            activity_schedule_to_start_p95_s: None,
            crashes: 0,
            cache_misses: 1,
            requests_in_flight: 0,
            requests_waiting: 0,
            requests_rejected: 0,
            llm_latency_p95_s: vec![p95, None],
            llm_calls: vec![u64::from(p95.is_some()) * 25, 0],
            llm_tokens_per_min: vec![1500.0, 0.0],
            quota: Vec::new(),
        };
        RunOutput {
            summary,
            timeseries: Timeseries {
                providers: vec!["openai".into(), "vertex".into()],
                requests: false,
                quotas: Vec::new(),
                rows: vec![row(60.0, Some(0.3)), row(120.0, None)].into(),
                cpu_target_steps: Vec::new(),
            },
            events: vec![
                EventRecord {
                    t_s: 61.5,
                    kind: EventKind::OomCrash,
                    instance: Some(0),
                    detail: "memory 513 > 512".into(),
                },
                EventRecord {
                    t_s: 90.0,
                    kind: EventKind::Intervention,
                    instance: None,
                    detail: "set cache_size=1000, \"quoted\"".into(),
                },
            ],
        }
    }

    fn read_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
        let mut reader = csv::Reader::from_reader(bytes);
        let header = reader.headers().unwrap().iter().map(String::from).collect();
        let rows = reader
            .records()
            .map(|record| record.unwrap().iter().map(String::from).collect())
            .collect();
        (header, rows)
    }

    #[test]
    fn timeseries_round_trips_through_a_csv_reader() {
        let output = sample_output();
        let (header, rows) = read_csv(&timeseries_csv(&output.timeseries));
        assert_eq!(header.len(), 26);
        assert_eq!(header[0], "t_s");
        assert_eq!(header[19], "cache_misses");
        assert_eq!(
            header[20..],
            [
                "llm_latency_p95_s_openai",
                "llm_latency_p95_s_vertex",
                "llm_calls_openai",
                "llm_calls_vertex",
                "llm_tokens_per_min_openai",
                "llm_tokens_per_min_vertex"
            ]
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][0], "60");
        assert_eq!(rows[0][4], "0.1");
        assert_eq!(rows[0][15], "0.15");
        assert_eq!(rows[0][16], "0.3");
        assert_eq!(rows[0][17], "", "None is an empty cell");
        assert_eq!(rows[0][20..], ["0.3", "", "25", "0", "1500", "0"]);
        assert_eq!(rows[1][16], "");
        assert!(rows.iter().all(|row| row.len() == header.len()));
    }

    #[test]
    fn events_round_trip_with_quoting() {
        let output = sample_output();
        let (header, rows) = read_csv(&events_csv(&output.events));
        assert_eq!(header, EVENT_COLUMNS);
        assert_eq!(rows[0], ["61.5", "oom_crash", "0", "memory 513 > 512"]);
        assert_eq!(
            rows[1],
            ["90", "intervention", "", "set cache_size=1000, \"quoted\""]
        );
    }

    #[test]
    fn summary_json_is_pretty_with_a_trailing_newline() {
        let json = summary_json(&sample_output().summary);
        assert!(json.ends_with("}\n"));
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["seed"], 42);
        assert_eq!(value["response_latency_s"]["p95"], 2.5);
        assert_eq!(value["llm_call_latency_s"]["openai"]["p99"], 3.0);
        assert_eq!(value["slo"][0]["ok"], false);
        assert!(
            json.contains("\n  \"scenario\": \"sample\""),
            "indented: {json}"
        );
    }

    #[test]
    fn a_run_lands_complete_with_a_manifest_and_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let run_dir = dir.path().join("nested/run");
        let output = sample_output();
        let scenario = crate::model::testkit::fleet(0.5, 120.0);
        let options = WriteOptions {
            plots: false,
            report: None,
        };
        write_run(&run_dir, &scenario, &output, &options).unwrap();
        let mut names: Vec<_> = fs::read_dir(&run_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "events.csv",
                "manifest.json",
                "scenario.resolved.toml",
                "summary.json",
                "timeseries.csv"
            ]
        );
        assert_eq!(
            fs::read_to_string(run_dir.join("summary.json")).unwrap(),
            summary_json(&output.summary)
        );
        let manifest = set::verify(&run_dir).unwrap();
        assert_eq!(manifest.files.len(), 4);
    }

    #[test]
    fn floats_are_shortest_round_trip() {
        assert_eq!(float(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(float(60.0), "60");
        assert_eq!(float(1e-7), "0.0000001");
    }
}
