//! Figures: the postmortem timeline (`timeline.png`, `timeline.svg`). This file owns the
//! embedded font and PNG encoding; `plot/timeline.rs` owns the drawing. Files are written by
//! the one atomic writer, `output::write_atomic`.
//!
//! Text is drawn with DejaVu Sans embedded in the binary and registered with plotters'
//! `ab_glyph` font table, so a PNG renders the same on a machine with no font packages. The
//! PNG is encoded here from an RGB buffer (not by plotters' file backend, which picks the
//! format from the file extension and so cannot write to a temporary name).

mod timeline;

use crate::metrics::report::RunOutput;
use crate::scenario::Scenario;
use plotters::prelude::*;
use std::path::Path;
use std::sync::OnceLock;

/// DejaVu Sans (Bitstream Vera license, see `assets/fonts/LICENSE-DejaVu.txt`).
const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Writes `timeline.png` and `timeline.svg` into `dir`, each atomically (not as a set: runs
/// write them through `write_run`).
pub fn write_timeline(dir: &Path, scenario: &Scenario, output: &RunOutput) -> std::io::Result<()> {
    let (png, svg) = timeline_figures(scenario, output)?;
    for (name, bytes) in [
        ("timeline.png", png.as_slice()),
        ("timeline.svg", svg.as_bytes()),
    ] {
        super::write_atomic(&dir.join(name), bytes)
            .map_err(|error| std::io::Error::new(error.source.kind(), error.to_string()))?;
    }
    Ok(())
}

/// The timeline figure as PNG bytes and SVG text.
pub fn timeline_figures(
    scenario: &Scenario,
    output: &RunOutput,
) -> std::io::Result<(Vec<u8>, String)> {
    register_font()?;
    Ok((render_png(scenario, output)?, render_svg(scenario, output)?))
}

fn register_font() -> std::io::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        // One face serves every family name plotters might ask for; bold falls back to it.
        ["sans-serif", "serif", "monospace"].iter().all(|family| {
            plotters::style::register_font(family, FontStyle::Normal, FONT_BYTES).is_ok()
        })
    });
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::other(
            "embedded font DejaVuSans.ttf is not a valid font",
        ))
    }
}

fn drawing_error(error: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("drawing the timeline figure: {error}"))
}

fn render_png(scenario: &Scenario, output: &RunOutput) -> std::io::Result<Vec<u8>> {
    let (width, height) = (timeline::WIDTH, timeline::HEIGHT);
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        timeline::draw(&root, scenario, output, true).map_err(drawing_error)?;
    }
    encode_png(&pixels, width, height)
}

/// An 8-bit RGB buffer (`width * height * 3` bytes) as PNG bytes.
pub fn encode_png(pixels: &[u8], width: u32, height: u32) -> std::io::Result<Vec<u8>> {
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
    writer
        .write_image_data(pixels)
        .map_err(std::io::Error::other)?;
    writer.finish().map_err(std::io::Error::other)?;
    Ok(png)
}

fn render_svg(scenario: &Scenario, output: &RunOutput) -> std::io::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (timeline::WIDTH, timeline::HEIGHT))
            .into_drawing_area();
        timeline::draw(&root, scenario, output, false).map_err(drawing_error)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::report::*;
    use crate::scenario::*;
    use std::collections::BTreeMap;

    const HOUR_NS: u64 = 3_600_000_000_000;
    const MIB: u64 = 1024 * 1024;

    /// A Cloud Run agent fleet (the model's own test fleet) for 12 hours, 512 MiB, GC pressure,
    /// a p95 SLO, and `timeline` as given.
    fn test_scenario(timeline: Vec<Intervention>) -> Scenario {
        let mut scenario = crate::model::testkit::fleet(0.5, 12.0 * 3600.0);
        scenario.name = "plot-test".into();
        scenario.description = "synthetic cache OOM then scale-down".into();
        scenario.seed = 7;
        scenario.run.sample_interval = 60_000_000_000;
        scenario.providers[0].name = "anthropic".into();
        scenario.providers[1].name = "vertex".into();
        scenario.instance.memory_limit_bytes = 512 * MIB;
        scenario.instance.gc = Some(GcPressure {
            threshold: 0.5,
            max_overhead: 1.0,
        });
        scenario.autoscaler = Autoscaler::CloudRun(crate::model::testkit::cloud_run(0, 100, 2));
        scenario.slos = vec![Slo {
            name: "p95 response".into(),
            metric: crate::metrics::registry::named("response_latency_p95_s"),
            max: 30.0,
            workload: None,
        }];
        scenario.timeline = timeline;
        scenario
    }

    /// The CPU target steps a run of `scenario` reports: its target at t = 0, then the target
    /// in force after each timeline `set`.
    fn cpu_target_steps(scenario: &Scenario) -> Vec<CpuTargetStep> {
        let step = |t_s: f64, s: &Scenario| CpuTargetStep {
            t_s,
            cpu_utilization: s.autoscaler.cpu_target(),
        };
        let mut steps = vec![step(0.0, scenario)];
        for intervention in &scenario.timeline {
            if let Action::Set { effective, .. } = &intervention.action {
                steps.push(step(nanos_to_seconds(intervention.at), effective));
            }
        }
        steps
    }

    /// The incident in miniature: memory climbs to the limit and crashes until a 5x memory
    /// redeploy at 4 h; a cache cut at 8 h stops the crash restarts, instances drop, the
    /// backlog and response latency climb while the providers stay flat.
    fn incident() -> (Scenario, RunOutput) {
        let base = test_scenario(Vec::new());
        let mut more_memory = base.clone();
        more_memory.instance.memory_limit_bytes = 5 * 512 * MIB;
        let mut small_cache = more_memory.clone();
        small_cache.temporal.cache_size = 1000;
        let timeline = vec![
            Intervention {
                at: 4 * HOUR_NS,
                label: "redeploy with 5x memory".into(),
                action: Action::Set {
                    assignments: vec![("instance.memory_limit".into(), "2560MiB".into())],
                    deploy: Some(Deploy::AtOnce),
                    effective: Box::new(more_memory),
                },
            },
            Intervention {
                at: 8 * HOUR_NS,
                label: "cache cut 10x".into(),
                action: Action::Set {
                    assignments: vec![("temporal.cache_size".into(), "1000".into())],
                    deploy: Some(Deploy::Rolling),
                    effective: Box::new(small_cache),
                },
            },
        ];
        let scenario = test_scenario(timeline);
        let mut rows = Vec::new();
        let mut events = Vec::new();
        for minute in 1..=720u64 {
            let t_s = minute as f64 * 60.0;
            let t_h = t_s / 3600.0;
            let phase_min = minute % 60;
            let before_fix = t_h <= 4.0;
            let after_cut = t_h > 8.0;
            let limit = if before_fix { 512 * MIB } else { 2560 * MIB };
            let memory_max = if before_fix {
                100 * MIB + phase_min * 412 * MIB / 60
            } else if after_cut {
                300 * MIB
            } else {
                (600 + (minute % 240)) * MIB
            };
            let crashed = before_fix && phase_min == 0;
            if crashed {
                events.push(EventRecord {
                    t_s,
                    kind: EventKind::OomCrash,
                    instance: Some((minute / 60) as u32 % 3),
                    detail: "memory 512MiB over limit 512MiB".into(),
                });
            }
            let running = if after_cut { 2 } else { 5 };
            let backlog = if after_cut {
                40 + (minute % 30) * 3
            } else {
                minute % 3
            };
            let quiet = minute % 97 == 0;
            rows.push(TimeseriesRow {
                t_s,
                instances_running: running,
                instances_starting: u32::from(crashed),
                instances_desired: running,
                cpu_utilization: if after_cut {
                    0.55
                } else {
                    0.35 + 0.2 * (phase_min as f64 / 60.0)
                },
                memory_bytes_max: memory_max,
                memory_bytes_mean: memory_max * 3 / 4,
                memory_limit_bytes: limit,
                cache_entries: 1000,
                open_conversations: 900,
                workflow_task_backlog: 0,
                activity_backlog: backlog,
                activities_running: 20,
                messages_received: 30,
                messages_unanswered: 0,
                response_latency_p50_s: (!quiet).then_some(if after_cut { 22.0 } else { 6.0 }),
                response_latency_p95_s: (!quiet).then_some(if after_cut { 48.0 } else { 12.0 }),
                activity_schedule_to_start_p95_s: (!quiet).then_some(if after_cut {
                    25.0
                } else {
                    0.05
                }),
                crashes: u64::from(crashed),
                cache_misses: 3,
                requests_in_flight: 0,
                requests_waiting: 0,
                requests_rejected: 0,
                llm_latency_p95_s: vec![(!quiet).then_some(4.2), (!quiet).then_some(5.0)],
                llm_calls: if quiet { vec![0, 0] } else { vec![300, 40] },
                llm_tokens_per_min: vec![0.0, 0.0],
                quota: Vec::new(),
            });
        }
        events.push(EventRecord {
            t_s: 4.0 * 3600.0,
            kind: EventKind::Intervention,
            instance: None,
            detail: "redeploy with 5x memory".into(),
        });
        events.push(EventRecord {
            t_s: 8.0 * 3600.0,
            kind: EventKind::Intervention,
            instance: None,
            detail: "cache cut 10x".into(),
        });
        let output = RunOutput {
            summary: summary(&scenario, 4),
            timeseries: Timeseries {
                providers: vec!["anthropic".into(), "vertex".into()],
                requests: false,
                quotas: Vec::new(),
                rows: rows.into(),
                cpu_target_steps: cpu_target_steps(&scenario),
            },
            events,
        };
        (scenario, output)
    }

    /// Four simulated days in the shape of `incident.toml`: daily deploys masking memory
    /// growth, crashes over a weekend night, the 5x memory redeploy, the cache cut and the
    /// min-instances fix close together, and a provider incident with its end.
    fn long_incident() -> (Scenario, RunOutput) {
        let base = test_scenario(Vec::new());
        let at = |day: u64, hour: u64, minute: u64| {
            (day * 24 + hour) * HOUR_NS + minute * 60 * 1_000_000_000
        };
        let set = |label: &str, at_ns: u64, effective: &Scenario| Intervention {
            at: at_ns,
            label: label.into(),
            action: Action::Set {
                assignments: Vec::new(),
                deploy: Some(Deploy::Rolling),
                effective: Box::new(effective.clone()),
            },
        };
        let mut more_memory = base.clone();
        more_memory.instance.memory_limit_bytes = 2560 * MIB;
        let mut small_cache = more_memory.clone();
        small_cache.temporal.cache_size = 1000;
        let mut min_instances = small_cache.clone();
        if let Autoscaler::CloudRun(cloud_run) = &mut min_instances.autoscaler {
            cloud_run.min_instances = 4;
        }
        let mut timeline = vec![
            set("daily deploy", at(0, 10, 0), &base),
            set("daily deploy (Tue)", at(1, 10, 0), &base),
            Intervention {
                at: at(1, 14, 0),
                label: "vertex latency x2".into(),
                action: Action::ProviderIncident {
                    provider: 1,
                    incident: IncidentKind::Degradation,
                    duration: HOUR_NS,
                    factor: 2.0,
                },
            },
            set("redeploy with 5x memory", at(2, 21, 40), &more_memory),
            set("cache cut 10x", at(3, 2, 10), &small_cache),
            set("min instances = 4", at(3, 9, 30), &min_instances),
        ];
        timeline.sort_by_key(|intervention| intervention.at);
        let mut scenario = test_scenario(timeline);
        scenario.run.horizon = 96 * HOUR_NS;
        let hours =
            |day: u64, hour: u64, minute: u64| at(day, hour, minute) as f64 / HOUR_NS as f64;
        let (more_memory_h, cache_cut_h, min_instances_h) =
            (hours(2, 21, 40), hours(3, 2, 10), hours(3, 9, 30));
        let mut rows = Vec::new();
        let mut events = Vec::new();
        let mut memory_mib: f64 = 100.0;
        for minute in 1..=96 * 60u64 {
            let t_s = minute as f64 * 60.0;
            let t_h = t_s / 3600.0;
            let deploy_now = minute == 10 * 60 || minute == 34 * 60;
            let mut crashed = false;
            if deploy_now {
                memory_mib = 100.0;
            } else if t_h < more_memory_h {
                memory_mib += 1.0;
                if memory_mib >= 512.0 {
                    crashed = true;
                    memory_mib = 100.0;
                    events.push(EventRecord {
                        t_s,
                        kind: EventKind::OomCrash,
                        instance: Some((minute % 5) as u32),
                        detail: String::new(),
                    });
                }
            } else if t_h < cache_cut_h {
                memory_mib = (memory_mib + 2.0).min(1800.0);
            } else {
                memory_mib = 300.0;
            }
            let (running, cpu, backlog, wait_s, p50_s, p95_s) = if t_h >= min_instances_h {
                (4, 0.3, 2, 0.1, 6.0, 12.0)
            } else if t_h >= cache_cut_h {
                (2, 0.55, 60 + minute % 40, 25.0, 22.0, 48.0)
            } else {
                (5, 0.4 + memory_mib / 2000.0, minute % 4, 0.2, 6.0, 12.0)
            };
            let degraded = (38.0..39.0).contains(&t_h);
            let vertex_s = if degraded { 10.0 } else { 5.0 };
            rows.push(TimeseriesRow {
                t_s,
                instances_running: running,
                instances_starting: u32::from(crashed),
                instances_desired: running,
                cpu_utilization: cpu,
                memory_bytes_max: (memory_mib * MIB as f64) as u64,
                memory_bytes_mean: (memory_mib * 0.7 * MIB as f64) as u64,
                memory_limit_bytes: if t_h <= more_memory_h {
                    512 * MIB
                } else {
                    2560 * MIB
                },
                activity_backlog: backlog,
                response_latency_p50_s: Some(p50_s + if degraded { 3.0 } else { 0.0 }),
                response_latency_p95_s: Some(p95_s + if degraded { 5.0 } else { 0.0 }),
                activity_schedule_to_start_p95_s: Some(wait_s),
                crashes: u64::from(crashed),
                requests_in_flight: 0,
                requests_waiting: 0,
                requests_rejected: 0,
                llm_latency_p95_s: vec![Some(4.2), Some(vertex_s)],
                llm_calls: vec![300, 40],
                llm_tokens_per_min: vec![0.0, 0.0],
                ..TimeseriesRow::default()
            });
        }
        for intervention in &scenario.timeline {
            events.push(EventRecord {
                t_s: nanos_to_seconds(intervention.at),
                kind: EventKind::Intervention,
                instance: None,
                detail: intervention.label.clone(),
            });
        }
        events.push(EventRecord {
            t_s: 39.0 * 3600.0,
            kind: EventKind::ProviderIncidentEnd,
            instance: None,
            detail: "vertex degradation".into(),
        });
        events.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
        let crashes = events
            .iter()
            .filter(|event| event.kind == EventKind::OomCrash)
            .count();
        let output = RunOutput {
            summary: summary(&scenario, crashes as u64),
            timeseries: Timeseries {
                providers: vec!["anthropic".into(), "vertex".into()],
                requests: false,
                quotas: Vec::new(),
                rows: rows.into(),
                cpu_target_steps: cpu_target_steps(&scenario),
            },
            events,
        };
        (scenario, output)
    }

    fn summary(scenario: &Scenario, crashes: u64) -> Summary {
        Summary {
            scenario: scenario.name.clone(),
            seed: scenario.seed,
            horizon_s: nanos_to_seconds(scenario.run.horizon),
            warmup_s: 0.0,
            version: crate::VERSION.into(),
            events_processed: 0,
            conversations: ConversationCounts::default(),
            messages: MessageCounts::default(),
            response_latency_s: LatencyStats {
                p95: 41.0,
                ..LatencyStats::default()
            },
            activity_schedule_to_start_s: LatencyStats::default(),
            workflow_task_schedule_to_start_s: LatencyStats::default(),
            llm_call_latency_s: BTreeMap::new(),
            llm_calls: BTreeMap::new(),
            activities: ActivityCounts::default(),
            cache: CacheCounts::default(),
            instances: InstanceStats {
                mean: 4.0,
                min: 2,
                max: 5,
            },
            requests: None,
            instance_seconds: 0.0,
            crashes: CrashCounts { oom: crashes },
            memory_peak_bytes: 512 * MIB,
            cost_usd: CostUsd::default(),
            agent: Default::default(),
            steps: BTreeMap::new(),
            workloads: Vec::new(),
            slo: vec![SloResult {
                name: "p95 response".into(),
                metric: "response_latency_p95_s".into(),
                ok: false,
                value: 41.0,
                limit: 30.0,
                reason: None,
            }],
            checks: Checks::default(),
        }
    }

    /// Width and height from the PNG signature and IHDR chunk.
    fn png_size(bytes: &[u8]) -> (u32, u32) {
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
        assert_eq!(&bytes[12..16], b"IHDR");
        let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        (width, height)
    }

    fn render(scenario: &Scenario, output: &RunOutput) -> (Vec<u8>, String) {
        let dir = tempfile::tempdir().unwrap();
        write_timeline(dir.path(), scenario, output).unwrap();
        let png = std::fs::read(dir.path().join("timeline.png")).unwrap();
        let svg = std::fs::read_to_string(dir.path().join("timeline.svg")).unwrap();
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".tmp"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "temporary files left behind: {leftovers:?}"
        );
        (png, svg)
    }

    #[test]
    fn timeline_figure_is_large_and_carries_titles_and_every_intervention_label() {
        let (scenario, output) = incident();
        let (png, svg) = render(&scenario, &output);
        let (width, height) = png_size(&png);
        assert!(width >= 1600 && height >= 1200, "png is {width}x{height}");
        for title in [
            "Postmortem timeline: plot-test",
            "(a) Memory per instance",
            "(b) Instances",
            "(c) CPU utilisation",
            "(d) Activity queue",
            "(e) Latency",
            "OOM crash (4 in total)",
            "SLO: response p95 ≤ 30 s",
            "LLM call p95: anthropic",
            "LLM call p95: vertex",
            "synthetic cache OOM then scale-down",
            "mean 4.0 instances  ·  response latency p95 41 s  ·  cost $0.00  ·  SLO failed: p95 response",
        ] {
            assert!(svg.contains(title), "svg lacks {title:?}");
        }
        assert!(!svg.contains('…'), "nothing in the figure is cut short");
        for intervention in &scenario.timeline {
            assert_eq!(
                svg.matches(&intervention.label).count(),
                1,
                "svg should label {:?} exactly once",
                intervention.label
            );
        }
        if let Ok(path) = std::env::var("SIM_PLOT_PREVIEW") {
            std::fs::write(path, &png).unwrap();
        }
    }

    #[test]
    fn multi_day_timeline_labels_every_marker_once_even_when_close_together() {
        let (scenario, output) = long_incident();
        let (png, svg) = render(&scenario, &output);
        let (width, height) = png_size(&png);
        assert!(width >= 1600 && height >= 1200, "png is {width}x{height}");
        for label in [
            "day 1 10:00  daily deploy",
            "day 2 10:00  daily deploy (Tue)",
            "day 2 14:00  vertex latency x2",
            "day 2 15:00  end of vertex latency x2",
            "day 3 21:40  redeploy with 5x memory",
            "day 4 02:10  cache cut 10x",
            "day 4 09:30  min instances = 4",
        ] {
            assert_eq!(
                svg.matches(label).count(),
                1,
                "svg should hold {label:?} once"
            );
        }
        assert!(
            svg.contains("48 (day 3)"),
            "day boundaries should be named on the time axis"
        );
        if let Ok(path) = std::env::var("SIM_PLOT_PREVIEW_LONG") {
            std::fs::write(&path, &png).unwrap();
            std::fs::write(Path::new(&path).with_extension("svg"), &svg).unwrap();
        }
    }

    #[test]
    fn timeline_figure_is_deterministic() {
        let (scenario, output) = incident();
        let first = render(&scenario, &output);
        let second = render(&scenario, &output);
        assert!(first.0 == second.0, "png bytes differ between two renders");
        assert!(first.1 == second.1, "svg differs between two renders");
    }

    #[test]
    fn timeline_figure_survives_edge_cases() {
        let (scenario, full) = incident();
        let empty = RunOutput {
            summary: summary(&scenario, 0),
            timeseries: Timeseries {
                providers: vec!["anthropic".into()],
                requests: false,
                quotas: Vec::new(),
                rows: Rows::new(),
                cpu_target_steps: cpu_target_steps(&scenario),
            },
            events: Vec::new(),
        };
        let mut one_row = full.clone();
        one_row.timeseries.rows = full.timeseries.rows.iter().take(1).collect();
        one_row.events.clear();
        let mut all_none = full.clone();
        all_none.timeseries.rows = full
            .timeseries
            .rows
            .iter()
            .map(|mut row| {
                row.response_latency_p50_s = None;
                row.response_latency_p95_s = None;
                row.activity_schedule_to_start_p95_s = None;
                row.llm_latency_p95_s = vec![None, None];
                row
            })
            .collect();
        let mut huge = full.clone();
        huge.timeseries.rows = full
            .timeseries
            .rows
            .iter()
            .map(|mut row| {
                row.memory_bytes_max = u64::MAX;
                row.memory_limit_bytes = u64::MAX;
                row.activity_backlog = u64::MAX;
                row.instances_desired = u32::MAX;
                row.response_latency_p95_s = Some(1e300);
                row.cpu_utilization = f64::NAN;
                row.llm_latency_p95_s = vec![Some(f64::INFINITY)];
                row
            })
            .collect();
        let mut zero_horizon = test_scenario(Vec::new());
        zero_horizon.run.horizon = 0;
        zero_horizon.autoscaler = Autoscaler::Fixed { instances: 1 };
        zero_horizon.slos.clear();
        let cases = [
            ("no rows", &scenario, &empty),
            ("one row", &scenario, &one_row),
            ("all latencies missing", &scenario, &all_none),
            ("huge values", &scenario, &huge),
            ("zero horizon, fixed fleet", &zero_horizon, &empty),
        ];
        for (name, scenario, output) in cases {
            let (png, svg) = render(scenario, output);
            let (width, height) = png_size(&png);
            assert!(
                width >= 1600 && height >= 1200,
                "{name}: png is {width}x{height}"
            );
            assert!(
                svg.contains("(e) Latency"),
                "{name}: svg lacks the last panel"
            );
        }
    }

    /// In request mode panel (d) is the request queue (activities run in their session and
    /// never queue for a worker), and the CPU panel says what each autoscaler scales on.
    #[test]
    fn request_mode_timeline_shows_the_request_queue_and_what_the_autoscaler_sees() {
        let file =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/thoughtly-voice/day.toml");
        // Too few slots for the night's calls: requests wait, then are rejected.
        let overrides: Vec<String> = [
            "run.horizon=40m",
            "run.warmup=5m",
            "serving.max_concurrency=50",
            "autoscaler.max_instances=6",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let scenario = crate::scenario::load(&file, &overrides).expect("day.toml loads");
        let output = crate::model::run(&scenario).expect("runs");
        let requests = output.summary.requests.as_ref().expect("request mode");
        assert!(requests.rejected > 0, "{requests:?}");
        let (_, svg) = render(&scenario, &output);
        for text in [
            "(d) Request queue",
            "waiting for a slot",
            "rejected in the interval",
            "the autoscaler scales on it and on the requests in flight",
        ] {
            assert!(svg.contains(text), "svg lacks {text:?}");
        }
        assert!(!svg.contains("(d) Activity queue"));

        let mut huge = output.clone();
        huge.timeseries.rows = output
            .timeseries
            .rows
            .iter()
            .map(|mut row| {
                row.requests_waiting = u64::MAX;
                row.requests_rejected = u64::MAX;
                row
            })
            .collect();
        let (png, _) = render(&scenario, &huge);
        assert!(png_size(&png).0 >= 1600);

        let mut fixed = scenario.clone();
        fixed.autoscaler = Autoscaler::Fixed { instances: 6 };
        let (_, svg) = render(&fixed, &output);
        assert!(svg.contains("mean over running instances; the fleet is fixed"));
    }

    /// A provider's p95 over fewer than `MIN_CALLS_FOR_P95` calls (its slowest call) is not
    /// drawn, nor does it stretch the latency axis; the legend says when a provider never had
    /// enough. With enough calls the same values are drawn.
    #[test]
    fn a_provider_p95_over_too_few_calls_is_left_out() {
        let (scenario, output) = incident();
        // Vertex is PROVIDER_COLORS[1]: its lines and its legend swatch use this stroke.
        let vertex_stroke = "#7F7F7F";
        let with_calls = |calls: u64| {
            let mut changed = output.clone();
            changed.timeseries.rows = output
                .timeseries
                .rows
                .iter()
                .map(|mut row| {
                    row.llm_latency_p95_s[1] = row.llm_latency_p95_s[1].map(|_| 900.0);
                    row.llm_calls[1] = calls;
                    row
                })
                .collect();
            render(&scenario, &changed).1
        };
        let min = crate::output::plot::timeline::MIN_CALLS_FOR_P95;
        let sparse = with_calls(min - 1);
        // The panel's hint and the legend name the threshold the drawing uses.
        assert!(sparse.contains(&format!("p95 where a provider had {min}+ calls")));
        assert!(sparse.contains(&format!("LLM call p95: vertex (never {min} calls)")));
        assert!(
            !sparse.contains(">900<") && !sparse.contains(">800<"),
            "axis not stretched"
        );
        let enough = with_calls(min);
        assert!(enough.contains("LLM call p95: vertex"));
        assert!(!enough.contains("never 20 calls"));
        assert!(
            enough.matches(vertex_stroke).count() > sparse.matches(vertex_stroke).count(),
            "the p95 line is drawn with enough calls ({} vs {} strokes)",
            enough.matches(vertex_stroke).count(),
            sparse.matches(vertex_stroke).count()
        );
    }

    /// A timeline `set` that changes what the autoscaler scales on (Cloud Run's CPU to a fixed
    /// fleet) makes the CPU panel say so instead of naming the starting one; one that leaves it
    /// alone (a new minimum) does not.
    #[test]
    fn cpu_hint_says_when_the_timeline_switches_the_autoscaler() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../scenarios/gradient-labs/01-cache-oom.toml");
        let load = |set: &str| {
            let mut text = std::fs::read_to_string(&file).unwrap();
            text.push_str(&format!(
                "\n[[timeline]]\nat = \"10m\"\nset = {{ {set} }}\n"
            ));
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("switch.toml");
            std::fs::write(&path, text).unwrap();
            crate::scenario::load(&path, &["run.horizon=20m".to_string()]).expect("loads")
        };
        let switched = load(r#"autoscaler = { kind = "fixed", instances = 3 }"#);
        let output = crate::model::run(&switched).expect("runs");
        let (_, svg) = render(&switched, &output);
        assert!(svg.contains("a timeline change switches what the autoscaler scales on"));
        assert!(!svg.contains("the only signal the autoscaler sees"));

        let same = load(r#""autoscaler.min_instances" = 3"#);
        let output = crate::model::run(&same).expect("runs");
        let (_, svg) = render(&same, &output);
        assert!(svg.contains("the only signal the autoscaler sees"));
        assert!(!svg.contains("switches what the autoscaler"));
    }
}
