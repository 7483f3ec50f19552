//! The postmortem timeline figure: what it shows and how it is laid out. Pure drawing on any
//! plotters backend; `plot.rs` owns fonts, encoding and files.
//!
//! Layout, top to bottom: a title band (scenario name, one line of facts), a band of
//! intervention labels, then five panels sharing one time axis in hours: (a) memory, (b)
//! instances, (c) CPU, (d) activity backlog and schedule-to-start (in request mode: requests
//! waiting for a slot and rejected), (e) latencies. The CPU panel's hint says what the
//! scenario's autoscaler scales on, or that a timeline `set` switches it. Each panel has a
//! title strip above it and its legend in a column to its right, so no legend hides data.
//! Every intervention is one dashed vertical line through all panels, labelled once in the band.

use crate::metrics::registry::named;
use crate::metrics::report::{EventKind, RunOutput, TimeseriesRow};
use crate::scenario::{Action, Autoscaler, HpaMetric, Scenario, nanos_to_seconds};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

pub const WIDTH: u32 = 1800;
pub const HEIGHT: u32 = 1500;

const FONT: &str = "sans-serif";
const TITLE_H: i32 = 88;
const SUBTITLE_LINE_H: i32 = 19;
const LABEL_ROW_H: i32 = 20;
const LABEL_ROWS_MAX: usize = 6;
const PANEL_TITLE_H: i32 = 30;
const X_AXIS_H: i32 = 58;
const BOTTOM_MARGIN: i32 = 6;
const LEGEND_W: i32 = 330;
const CHART_MARGIN_X: i32 = 10;
const Y_AREA_W: i32 = 80;
const RIGHT_Y_AREA_W: i32 = 90;
const PLOT_LEFT: i32 = CHART_MARGIN_X + Y_AREA_W;
const PLOT_RIGHT: i32 = WIDTH as i32 - LEGEND_W - CHART_MARGIN_X - RIGHT_Y_AREA_W;

const HOUR_S: f64 = 3600.0;
const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

const INK: RGBColor = RGBColor(30, 30, 30);
const MUTED: RGBColor = RGBColor(100, 100, 100);
const GRID: RGBColor = RGBColor(228, 228, 228);
const DAY_LINE: RGBColor = RGBColor(185, 185, 185);
const MARKER: RGBColor = RGBColor(106, 61, 154);
const BLUE_DARK: RGBColor = RGBColor(31, 100, 180);
const BLUE_LIGHT: RGBColor = RGBColor(120, 175, 225);
const RED: RGBColor = RGBColor(214, 39, 40);
const GREEN: RGBColor = RGBColor(44, 160, 44);
const ORANGE: RGBColor = RGBColor(245, 127, 14);
const PURPLE: RGBColor = RGBColor(148, 103, 189);
const BROWN: RGBColor = RGBColor(140, 86, 75);
const PROVIDER_COLORS: [RGBColor; 6] = [
    RGBColor(44, 160, 44),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(227, 119, 194),
    RGBColor(140, 86, 75),
    RGBColor(23, 170, 190),
];

/// A panel's chart: hours against one linear y axis.
type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<HoursAxis, RangedCoordf64>>;

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A labelled vertical marker: a timeline intervention or an event worth a line.
#[derive(Clone, Debug, PartialEq)]
struct Marker {
    t_h: f64,
    label: String,
}

/// How a legend entry is drawn.
#[derive(Clone, Copy)]
enum Swatch {
    Line(RGBColor, u32),
    Dashed(RGBColor),
    Cross(RGBColor),
    Area(RGBColor),
}

struct LegendEntry {
    swatch: Swatch,
    label: String,
}

/// Everything the panels need, computed once from the run.
struct Figure<'a> {
    scenario: &'a Scenario,
    output: &'a RunOutput,
    rows: &'a [TimeseriesRow],
    x_end_h: f64,
    markers: Vec<Marker>,
    crashes_t_h: Vec<f64>,
    raster: bool,
}

/// Draws the whole figure on `root`, which must be `WIDTH` x `HEIGHT`. `raster` is true for a
/// bitmap backend, whose thick polylines get spiky miter joins at sharp turns (a sawtooth
/// memory line would grow needles): there, thick lines are drawn one segment at a time.
pub fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    scenario: &Scenario,
    output: &RunOutput,
    raster: bool,
) -> DrawResult<DB> {
    // Decoded once for the figure: its series read the rows many times over.
    let rows = output.timeseries.rows.to_vec();
    let rows = rows.as_slice();
    let horizon_h = nanos_to_seconds(scenario.run.horizon) / HOUR_S;
    let last_row_h = rows.last().map_or(0.0, |row| row.t_s / HOUR_S);
    let x_end_h = finite_or(horizon_h.max(last_row_h), 0.0);
    let x_end_h = if x_end_h > 0.0 { x_end_h } else { 1.0 };
    let markers = collect_markers(scenario, output)
        .into_iter()
        .filter(|marker| marker.t_h >= 0.0 && marker.t_h <= x_end_h)
        .collect();
    let crashes_t_h = output
        .events
        .iter()
        .filter(|event| event.kind == EventKind::OomCrash)
        .map(|event| event.t_s / HOUR_S)
        .filter(|t_h| t_h.is_finite() && *t_h >= 0.0 && *t_h <= x_end_h)
        .collect();
    let figure = Figure {
        scenario,
        output,
        rows,
        x_end_h,
        markers,
        crashes_t_h,
        raster,
    };

    root.fill(&WHITE)?;
    draw_title(root, &figure)?;

    let label_layout = layout_labels(root, &figure);
    let band_h = label_layout.rows_used as i32 * LABEL_ROW_H + 8;
    let panels_top = TITLE_H + band_h;
    let panels_h = HEIGHT as i32 - panels_top - X_AXIS_H - BOTTOM_MARGIN;
    let panel_h = panels_h / 5;
    let mut panel_areas = Vec::with_capacity(5);
    for index in 0..5 {
        let top = panels_top + index * panel_h;
        let bottom = if index == 4 {
            HEIGHT as i32 - BOTTOM_MARGIN
        } else {
            top + panel_h
        };
        panel_areas.push(
            root.clone()
                .shrink((0, top), (WIDTH, (bottom - top) as u32)),
        );
    }

    let mut plot_y_top = 0;
    let mut plot_y_bottom = 0;
    let mut x_pixels = Vec::new();
    for (index, area) in panel_areas.iter().enumerate() {
        let is_bottom = index == 4;
        let body = area.clone().margin(PANEL_TITLE_H as u32, 0, 0, 0);
        let (chart_area, legend_area) = body.split_horizontally(WIDTH as i32 - LEGEND_W);
        let x_axis_h = if is_bottom { X_AXIS_H } else { 0 };
        let legend = match index {
            0 => draw_memory(&chart_area, &figure, x_axis_h)?,
            1 => draw_instances(&chart_area, &figure, x_axis_h)?,
            2 => draw_cpu(&chart_area, &figure, x_axis_h)?,
            3 if scenario.serving.is_request() => {
                draw_request_queue(&chart_area, &figure, x_axis_h)?
            }
            3 => draw_backlog(&chart_area, &figure, x_axis_h)?,
            _ => draw_latency(&chart_area, &figure, x_axis_h)?,
        };
        draw_legend(&legend_area, &legend)?;
        if index == 0 {
            plot_y_top = legend.plot_y.start;
            x_pixels = legend.marker_x.clone();
        }
        plot_y_bottom = legend.plot_y.end;
    }

    draw_markers(
        root,
        &figure,
        &label_layout,
        &x_pixels,
        plot_y_top,
        plot_y_bottom,
    )?;
    // Titles go on top of the marker lines, on a white ground, so both stay readable.
    for (area, (title, hint)) in panel_areas.iter().zip(panel_titles(scenario)) {
        draw_panel_title(area, title, hint)?;
    }
    root.present()
}

/// What the CPU panel's hint says the autoscaler of `scenario` scales on.
fn cpu_hint(scenario: &Scenario) -> &'static str {
    let request = scenario.serving.is_request();
    match &scenario.autoscaler {
        Autoscaler::Fixed { .. } => "mean over running instances; the fleet is fixed",
        Autoscaler::CloudRun(_) if request => {
            "mean over running instances; the autoscaler scales on it and on the requests in flight"
        }
        Autoscaler::CloudRun(_) => {
            "mean over running instances; the only signal the autoscaler sees"
        }
        Autoscaler::Hpa(hpa) => match hpa.metric {
            HpaMetric::Cpu { .. } => "mean over running instances; the HPA's metric",
            HpaMetric::Memory { .. } => {
                "mean over running instances; the HPA scales on memory, not on it"
            }
            HpaMetric::Backlog { .. } => {
                "mean over running instances; the HPA scales on the task-queue backlog, not on it"
            }
            HpaMetric::Concurrency { .. } => {
                "mean over running instances; the HPA scales on the requests in flight, not on it"
            }
        },
        Autoscaler::Keda(_) => {
            "mean over running instances; KEDA scales on the task-queue backlog, not on it"
        }
    }
}

/// Each panel's title and hint. The CPU panel says what the scenario's autoscaler scales on
/// (or, when a timeline `set` changes that, that it changes), and in request mode panel (d) is
/// the request queue: activities there run inside their session and never queue for a worker.
fn panel_titles(scenario: &Scenario) -> [(&'static str, &'static str); 5] {
    let request = scenario.serving.is_request();
    let start_hint = cpu_hint(scenario);
    let changes = scenario
        .timeline
        .iter()
        .any(|intervention| match &intervention.action {
            Action::Set { effective, .. } => cpu_hint(effective) != start_hint,
            _ => false,
        });
    let cpu_hint = if changes {
        "mean over running instances; a timeline change switches what the autoscaler scales on"
    } else {
        start_hint
    };
    let queue = if request {
        (
            "(d) Request queue",
            "requests waiting for a free slot, and those rejected after max_wait",
        )
    } else {
        (
            "(d) Activity queue",
            "activities waiting for a worker slot, and how long they waited",
        )
    };
    [
        (
            "(a) Memory per instance",
            "max and mean over instances; the container is OOM-killed when memory reaches the limit",
        ),
        (
            "(b) Instances",
            "running, starting (cold start) and desired by the autoscaler",
        ),
        ("(c) CPU utilisation", cpu_hint),
        queue,
        (
            "(e) Latency",
            "customer response latency vs the LLM providers' own (p95 where a provider had 20+ calls)",
        ),
    ]
}

fn draw_panel_title<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    hint: &str,
) -> DrawResult<DB> {
    let title_style = TextStyle::from((FONT, 20).into_font()).color(&INK);
    let hint_style = TextStyle::from((FONT, 15).into_font()).color(&MUTED);
    let title_w = area.estimate_text_size(title, &title_style)?.0 as i32;
    let hint_x = PLOT_LEFT + title_w + 14;
    let hint_w = area.estimate_text_size(hint, &hint_style)?.0 as i32;
    area.draw(&Rectangle::new(
        [(PLOT_LEFT - 4, 3), (hint_x + hint_w + 4, PANEL_TITLE_H - 4)],
        WHITE.filled(),
    ))?;
    area.draw(&Text::new(title, (PLOT_LEFT, 6), title_style))?;
    area.draw(&Text::new(hint, (hint_x, 9), hint_style))
}

/// A drawn panel: its legend and where its plotting area landed, in root pixels.
struct PanelInfo {
    entries: Vec<LegendEntry>,
    plot_y: std::ops::Range<i32>,
    /// Each marker's x, in root pixels.
    marker_x: Vec<i32>,
}

fn draw_title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    figure: &Figure,
) -> DrawResult<DB> {
    let scenario = figure.scenario;
    let summary = &figure.output.summary;
    let title = format!("Postmortem timeline: {}", scenario.name);
    root.draw(&Text::new(
        title,
        (PLOT_LEFT, 10),
        (FONT, 30).into_font().color(&INK),
    ))?;
    let mut facts = vec![
        format!("seed {}", summary.seed),
        format!(
            "{} simulated",
            format_hours(nanos_to_seconds(scenario.run.horizon) / HOUR_S)
        ),
        format!("{} OOM crashes", figure.crashes_t_h.len()),
        format!(
            "mean {:.1} instances",
            finite_or(summary.instances.mean, 0.0)
        ),
        format!(
            "response latency p95 {}",
            format_seconds(finite_or(summary.response_latency_s.p95, 0.0))
        ),
        format!(
            "cost {}",
            format_usd(finite_or(summary.cost_usd.total, 0.0))
        ),
    ];
    let failed: Vec<&str> = summary
        .slo
        .iter()
        .filter(|slo| !slo.ok)
        .map(|slo| slo.name.as_str())
        .collect();
    if !summary.slo.is_empty() {
        if failed.is_empty() {
            facts.push(format!("all {} SLOs met", summary.slo.len()));
        } else {
            facts.push(format!("SLO failed: {}", failed.join(", ")));
        }
    }
    // Two lines, each shortened to the figure's width only if it must be: the description,
    // then the facts (which never lose a number: a long SLO list is what gets shortened).
    let style = TextStyle::from((FONT, 15).into_font()).color(&MUTED);
    let max_w = WIDTH as i32 - PLOT_LEFT - 20;
    let fits = |text: &str| {
        root.estimate_text_size(text, &style)
            .map_or(text.chars().count() as i32 * 9, |(w, _)| w as i32)
            <= max_w
    };
    let fit = |text: &str| {
        let mut chars = text.chars().count();
        let mut fitted = text.to_string();
        while chars > 1 && !fits(&fitted) {
            chars -= 1;
            fitted = truncate(text, chars);
        }
        fitted
    };
    let mut y = 46;
    if !scenario.description.is_empty() {
        root.draw(&Text::new(
            fit(&scenario.description),
            (PLOT_LEFT, y),
            style.clone(),
        ))?;
        y += SUBTITLE_LINE_H;
    }
    root.draw(&Text::new(fit(&facts.join("  ·  ")), (PLOT_LEFT, y), style))
}

/// Where each intervention label goes in the band above the panels.
struct LabelLayout {
    /// Per marker: row index and whether the text sits left of the line.
    placements: Vec<(usize, bool)>,
    rows_used: usize,
}

fn predicted_x_pixel(t_h: f64, x_end_h: f64) -> i32 {
    PLOT_LEFT + (t_h / x_end_h * (PLOT_RIGHT - PLOT_LEFT - 1) as f64).round() as i32
}

/// Greedy interval packing: each label goes in the first row where it does not overlap the
/// label before it; labels near the right edge hang to the left of their line.
fn layout_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    figure: &Figure,
) -> LabelLayout {
    let mut row_ends: Vec<i32> = Vec::new();
    let mut placements = Vec::with_capacity(figure.markers.len());
    for marker in &figure.markers {
        let x = predicted_x_pixel(marker.t_h, figure.x_end_h);
        let width = label_width(root, &marker_text(marker, figure.x_end_h));
        let hangs_left = x + 4 + width > WIDTH as i32 - 10;
        let (start, end) = if hangs_left {
            (x - 4 - width, x)
        } else {
            (x, x + 4 + width)
        };
        let free_row = row_ends.iter().position(|&row_end| start > row_end + 10);
        let row = match free_row {
            Some(row) => row,
            None if row_ends.len() < LABEL_ROWS_MAX => {
                row_ends.push(i32::MIN);
                row_ends.len() - 1
            }
            None => {
                // Out of rows: overlap the row that frees up first rather than lose a label.
                let mut best = 0;
                for (row, &row_end) in row_ends.iter().enumerate() {
                    if row_end < row_ends[best] {
                        best = row;
                    }
                }
                best
            }
        };
        row_ends[row] = row_ends[row].max(end);
        placements.push((row, hangs_left));
    }
    LabelLayout {
        placements,
        rows_used: row_ends.len(),
    }
}

fn label_width<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, text: &str) -> i32 {
    root.estimate_text_size(text, &TextStyle::from((FONT, 15).into_font()))
        .map_or(text.chars().count() as i32 * 9, |(w, _)| w as i32)
}

fn marker_text(marker: &Marker, x_end_h: f64) -> String {
    format!("{}  {}", format_clock(marker.t_h, x_end_h), marker.label)
}

fn draw_markers<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    figure: &Figure,
    layout: &LabelLayout,
    x_pixels: &[i32],
    plot_y_top: i32,
    plot_y_bottom: i32,
) -> DrawResult<DB> {
    let line_style = ShapeStyle {
        color: MARKER.mix(0.75),
        filled: false,
        stroke_width: 1,
    };
    for ((marker, &(row, hangs_left)), &x) in
        figure.markers.iter().zip(&layout.placements).zip(x_pixels)
    {
        let text = marker_text(marker, figure.x_end_h);
        let width = label_width(root, &text);
        let y_text = TITLE_H + row as i32 * LABEL_ROW_H;
        let x_text = if hangs_left { x - 4 - width } else { x + 4 };
        root.draw(&Text::new(
            text,
            (x_text, y_text),
            (FONT, 15).into_font().color(&MARKER),
        ))?;
        root.draw(&PathElement::new(
            vec![(x, y_text), (x, plot_y_top)],
            ShapeStyle {
                color: MARKER.mix(0.75),
                filled: false,
                stroke_width: 1,
            },
        ))?;
        root.draw(&DashedPathElement::new(
            vec![(x, plot_y_top), (x, plot_y_bottom)],
            6,
            4,
            line_style,
        ))?;
    }
    Ok(())
}

/// Builds one panel's chart with the shared x axis and a y axis `0..y_max`.
fn build_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    figure: &Figure,
    x_axis_h: i32,
    y_max: f64,
    secondary_axis: bool,
) -> Result<Chart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    // Every panel keeps the same plot width, so the shared time axis lines up: panels without
    // a secondary axis leave its room as margin (a label area would repeat the left labels).
    let mut builder = ChartBuilder::on(area);
    builder
        .margin_left(CHART_MARGIN_X)
        .margin_top(2)
        .margin_bottom(6)
        .x_label_area_size(x_axis_h)
        .y_label_area_size(Y_AREA_W);
    if secondary_axis {
        builder
            .margin_right(CHART_MARGIN_X)
            .right_y_label_area_size(RIGHT_Y_AREA_W);
    } else {
        builder.margin_right(CHART_MARGIN_X + RIGHT_Y_AREA_W);
    }
    let x_axis = HoursAxis {
        end_h: figure.x_end_h,
        ticks: x_ticks(figure.x_end_h),
    };
    builder.build_cartesian_2d(x_axis, 0.0..y_max)
}

fn configure_mesh<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    figure: &Figure,
    x_axis_h: i32,
    y_desc: &str,
    y_format: &dyn Fn(&f64) -> String,
) -> DrawResult<DB> {
    let x_end_h = figure.x_end_h;
    let x_format = |x: &f64| format_tick(*x, x_end_h);
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(1000)
        .y_labels(5)
        .x_label_formatter(&x_format)
        .y_label_formatter(y_format)
        .y_desc(y_desc)
        .label_style((FONT, 14).into_font().color(&INK))
        .axis_desc_style((FONT, 15).into_font().color(&INK))
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED);
    if x_axis_h > 0 {
        mesh.x_desc(x_axis_description(x_end_h));
    }
    mesh.draw()?;
    let y_top = chart.y_range().end;
    for t_h in day_boundaries(x_end_h) {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(t_h, 0.0), (t_h, y_top)],
            DAY_LINE.stroke_width(2),
        )))?;
    }
    Ok(())
}

fn x_axis_description(x_end_h: f64) -> String {
    if x_end_h > 24.0 {
        "simulated time since start (h); day 1 starts at 00:00, labels above give day and clock time"
            .to_string()
    } else {
        "simulated time since start (h)".to_string()
    }
}

/// The shared time axis, 0 to `end_h` hours, with ticks we choose (plotters' own picks do not
/// land on day boundaries). Tick labels come from the mesh's formatter.
struct HoursAxis {
    end_h: f64,
    ticks: Vec<f64>,
}

impl Ranged for HoursAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(0.0..self.end_h).map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        // Light grid lines are off; ticks are bold points only.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        0.0..self.end_h
    }
}

/// Time-axis ticks: the smallest step from a list that suits hours and days (multiples of 6 h
/// once the run spans days, so every day boundary gets a tick) giving at most 17 ticks.
fn x_ticks(x_end_h: f64) -> Vec<f64> {
    const STEPS_H: [f64; 12] = [
        0.25, 0.5, 1.0, 2.0, 3.0, 6.0, 12.0, 24.0, 48.0, 168.0, 336.0, 720.0,
    ];
    let step = STEPS_H
        .iter()
        .copied()
        .find(|step| x_end_h / step <= 16.0)
        .unwrap_or_else(|| (x_end_h / 16.0).ceil());
    let count = (x_end_h / step).floor().min(1000.0) as usize;
    (0..=count).map(|index| index as f64 * step).collect()
}

/// Day boundaries (every 24 h after the start) for runs longer than a day.
fn day_boundaries(x_end_h: f64) -> Vec<f64> {
    if x_end_h <= 24.0 {
        return Vec::new();
    }
    let days = (x_end_h / 24.0).floor().min(1000.0) as usize;
    (1..=days)
        .map(|day| day as f64 * 24.0)
        .filter(|t_h| *t_h < x_end_h)
        .collect()
}

fn draw_memory<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    figure: &Figure,
    x_axis_h: i32,
) -> Result<PanelInfo, DrawingAreaErrorKind<DB::ErrorType>> {
    let rows = figure.rows;
    let base_limit = figure.scenario.instance.memory_limit_bytes as f64;
    let largest = rows
        .iter()
        .flat_map(|row| [row.memory_bytes_max as f64, row.memory_limit_bytes as f64])
        .chain([base_limit])
        .fold(0.0, f64::max);
    let (divisor, unit) = if largest >= 8.0 * GIB {
        (GIB, "GiB")
    } else {
        (MIB, "MiB")
    };
    let limit_steps = memory_limit_steps(figure, base_limit);
    let y_max = axis_max(
        rows.iter()
            .map(|row| row.memory_bytes_max as f64 / divisor)
            .chain(limit_steps.iter().map(|(_, v)| *v / divisor)),
    );
    let mut chart = build_chart(area, figure, x_axis_h, y_max, false)?;
    configure_mesh(
        &mut chart,
        figure,
        x_axis_h,
        &format!("memory ({unit})"),
        &|v| format_number(*v),
    )?;

    let mean = segments(rows, |row| Some(row.memory_bytes_mean as f64 / divisor));
    let max = segments(rows, |row| Some(row.memory_bytes_max as f64 / divisor));
    draw_segments(&mut chart, figure.raster, &mean, BLUE_LIGHT, 2)?;
    draw_segments(&mut chart, figure.raster, &max, BLUE_DARK, 2)?;
    let limit_points: Vec<(f64, f64)> = limit_steps
        .iter()
        .map(|(t_h, v)| (*t_h, *v / divisor))
        .collect();
    let scale = pixel_scale(&chart, figure.raster);
    chart.draw_series(line_elements(&limit_points, RED.stroke_width(2), scale))?;
    let crashes: Vec<(f64, f64)> = figure
        .crashes_t_h
        .iter()
        .map(|&t_h| (t_h, step_value_at(&limit_steps, t_h) / divisor))
        .collect();
    chart.draw_series(
        crashes
            .iter()
            .map(|&point| Cross::new(point, 6, ShapeStyle::from(RED).stroke_width(2))),
    )?;

    let entries = vec![
        LegendEntry {
            swatch: Swatch::Line(BLUE_DARK, 2),
            label: "memory max".into(),
        },
        LegendEntry {
            swatch: Swatch::Line(BLUE_LIGHT, 2),
            label: "memory mean".into(),
        },
        LegendEntry {
            swatch: Swatch::Line(RED, 2),
            label: "memory limit".into(),
        },
        LegendEntry {
            swatch: Swatch::Cross(RED),
            label: format!("OOM crash ({} in total)", figure.crashes_t_h.len()),
        },
    ];
    Ok(panel_info(&chart, figure, entries))
}

/// The memory limit as a step line in hours and bytes: the rows' per-interval limit (which a
/// timeline `set` can change), or the scenario's limit across the run when there are no rows.
fn memory_limit_steps(figure: &Figure, base_limit: f64) -> Vec<(f64, f64)> {
    let rows = figure.rows;
    if rows.is_empty() {
        return vec![(0.0, base_limit), (figure.x_end_h, base_limit)];
    }
    let mut points = Vec::with_capacity(rows.len() * 2);
    let mut start_h = 0.0;
    for row in rows {
        let t_h = finite_or(row.t_s / HOUR_S, start_h);
        let value = row.memory_limit_bytes as f64;
        points.push((start_h, value));
        points.push((t_h, value));
        start_h = t_h;
    }
    points
}

/// The step line's value at `t_h`: the first step ending at or after it.
fn step_value_at(steps: &[(f64, f64)], t_h: f64) -> f64 {
    steps
        .iter()
        .find(|(end_h, _)| *end_h >= t_h)
        .or(steps.last())
        .map_or(0.0, |(_, value)| *value)
}

fn draw_instances<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    figure: &Figure,
    x_axis_h: i32,
) -> Result<PanelInfo, DrawingAreaErrorKind<DB::ErrorType>> {
    let rows = figure.rows;
    let y_max = axis_max(rows.iter().flat_map(|row| {
        [
            row.instances_running as f64,
            row.instances_starting as f64,
            row.instances_desired as f64,
        ]
    }))
    .max(2.0);
    let mut chart = build_chart(area, figure, x_axis_h, y_max, false)?;
    configure_mesh(&mut chart, figure, x_axis_h, "instances", &|v| {
        format_number(*v)
    })?;
    let starting = segments(rows, |row| Some(row.instances_starting as f64));
    let running = segments(rows, |row| Some(row.instances_running as f64));
    let desired = segments(rows, |row| Some(row.instances_desired as f64));
    draw_segments(&mut chart, figure.raster, &starting, ORANGE, 2)?;
    draw_segments(&mut chart, figure.raster, &running, GREEN, 4)?;
    draw_dashed_segments(&mut chart, &desired, INK, 1)?;
    let entries = vec![
        LegendEntry {
            swatch: Swatch::Line(GREEN, 4),
            label: "running".into(),
        },
        LegendEntry {
            swatch: Swatch::Line(ORANGE, 2),
            label: "starting (cold start)".into(),
        },
        LegendEntry {
            swatch: Swatch::Dashed(INK),
            label: "desired (autoscaler)".into(),
        },
    ];
    Ok(panel_info(&chart, figure, entries))
}

fn draw_cpu<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    figure: &Figure,
    x_axis_h: i32,
) -> Result<PanelInfo, DrawingAreaErrorKind<DB::ErrorType>> {
    let rows = figure.rows;
    let target_steps = cpu_target_steps(figure);
    let y_max = axis_max(rows.iter().map(|row| row.cpu_utilization * 100.0)).max(100.0);
    let mut chart = build_chart(area, figure, x_axis_h, y_max, false)?;
    configure_mesh(&mut chart, figure, x_axis_h, "CPU utilisation (%)", &|v| {
        format!("{v:.0}")
    })?;
    let cpu = segments(rows, |row| Some(row.cpu_utilization * 100.0));
    draw_segments(&mut chart, figure.raster, &cpu, PURPLE, 2)?;
    let mut entries = vec![LegendEntry {
        swatch: Swatch::Line(PURPLE, 2),
        label: "CPU utilisation".into(),
    }];
    if !target_steps.is_empty() {
        let points: Vec<(f64, f64)> = target_steps.iter().map(|(t, v)| (*t, v * 100.0)).collect();
        draw_dashed_segments(&mut chart, &[points], INK, 2)?;
        entries.push(LegendEntry {
            swatch: Swatch::Dashed(INK),
            label: "autoscaler CPU target".into(),
        });
    }
    Ok(panel_info(&chart, figure, entries))
}

/// The autoscaler's CPU target over the run as a step line, as the run reported it (a timeline
/// `set` can change it or the autoscaler kind); no line while the autoscaler does not scale
/// on CPU.
fn cpu_target_steps(figure: &Figure) -> Vec<(f64, f64)> {
    let changes: Vec<(f64, Option<f64>)> = figure
        .output
        .timeseries
        .cpu_target_steps
        .iter()
        .map(|step| (step.t_s / HOUR_S, step.cpu_utilization))
        .filter(|(t_h, _)| *t_h <= figure.x_end_h)
        .collect();
    let mut points = Vec::new();
    for (index, &(start_h, value)) in changes.iter().enumerate() {
        let end_h = changes
            .get(index + 1)
            .map_or(figure.x_end_h, |(t_h, _)| *t_h);
        if let Some(value) = value {
            points.push((start_h, value));
            points.push((end_h, value));
        }
    }
    points
}

fn draw_backlog<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    figure: &Figure,
    x_axis_h: i32,
) -> Result<PanelInfo, DrawingAreaErrorKind<DB::ErrorType>> {
    let rows = figure.rows;
    let backlog_max = axis_max(rows.iter().map(|row| row.activity_backlog as f64)).max(5.0);
    // At least one second: sub-second waits are no queue to speak of, and a microsecond
    // axis would print a column of zeros.
    let wait_max = axis_max(
        rows.iter()
            .filter_map(|row| row.activity_schedule_to_start_p95_s),
    )
    .max(1.0);
    let chart = build_chart(area, figure, x_axis_h, backlog_max, true)?;
    // The secondary coordinate takes over the right label area, so the primary mesh is drawn
    // after it and labels only the left axis.
    let mut chart = chart.set_secondary_coord(0.0..figure.x_end_h, 0.0..wait_max);
    configure_mesh(&mut chart, figure, x_axis_h, "backlog (activities)", &|v| {
        format_number(*v)
    })?;
    let info_entries = vec![
        LegendEntry {
            swatch: Swatch::Area(BROWN),
            label: "activity backlog (left axis)".into(),
        },
        LegendEntry {
            swatch: Swatch::Line(ORANGE, 2),
            label: "schedule-to-start p95 (right axis)".into(),
        },
    ];
    let info = panel_info(&chart, figure, info_entries);

    let backlog = segments(rows, |row| Some(row.activity_backlog as f64));
    for segment in &backlog {
        chart.draw_series(
            AreaSeries::new(segment.iter().copied(), 0.0, BROWN.mix(0.25)).border_style(BROWN),
        )?;
    }
    chart
        .configure_secondary_axes()
        .y_labels(5)
        .y_label_formatter(&|v| format_axis_label(*v, wait_max))
        .y_desc("schedule-to-start p95 (s)")
        .label_style((FONT, 14).into_font().color(&ORANGE))
        .axis_desc_style((FONT, 15).into_font().color(&ORANGE))
        .axis_style(MUTED)
        .draw()?;
    let wait = segments(rows, |row| row.activity_schedule_to_start_p95_s);
    let scale = pixel_scale(&chart, figure.raster)
        .map(|(x_scale, y_scale)| (x_scale, y_scale * backlog_max / wait_max));
    for segment in &wait {
        if segment.len() == 1 {
            chart.draw_secondary_series(std::iter::once(Circle::new(
                segment[0],
                3,
                ORANGE.filled(),
            )))?;
        } else {
            chart.draw_secondary_series(line_elements(segment, ORANGE.stroke_width(2), scale))?;
        }
    }
    Ok(info)
}

/// Request mode's panel (d): requests waiting for a slot at each sample (an area) and those
/// rejected in each interval (a line), on one count axis.
fn draw_request_queue<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    figure: &Figure,
    x_axis_h: i32,
) -> Result<PanelInfo, DrawingAreaErrorKind<DB::ErrorType>> {
    let rows = figure.rows;
    let y_max = axis_max(
        rows.iter()
            .map(|row| row.requests_waiting.max(row.requests_rejected) as f64),
    )
    .max(5.0);
    let mut chart = build_chart(area, figure, x_axis_h, y_max, false)?;
    configure_mesh(&mut chart, figure, x_axis_h, "requests", &|v| {
        format_number(*v)
    })?;
    let waiting = segments(rows, |row| Some(row.requests_waiting as f64));
    for segment in &waiting {
        chart.draw_series(
            AreaSeries::new(segment.iter().copied(), 0.0, BROWN.mix(0.25)).border_style(BROWN),
        )?;
    }
    let rejected = segments(rows, |row| Some(row.requests_rejected as f64));
    draw_segments(&mut chart, figure.raster, &rejected, RED, 2)?;
    let entries = vec![
        LegendEntry {
            swatch: Swatch::Area(BROWN),
            label: "waiting for a slot".into(),
        },
        LegendEntry {
            swatch: Swatch::Line(RED, 2),
            label: "rejected in the interval".into(),
        },
    ];
    Ok(panel_info(&chart, figure, entries))
}

/// A provider's p95 is drawn for an interval only when it rests on at least this many calls:
/// with fewer, the 95th percentile (the ceil(0.95 n)-th smallest) is the slowest call, and a
/// provider used only on failover draws a band of single-call spikes over the response
/// latency it is meant to be read against.
pub(crate) const MIN_CALLS_FOR_P95: u64 = 20;

/// Provider `index`'s p95 in `row`, when enough calls back it (`MIN_CALLS_FOR_P95`).
fn provider_p95(row: &TimeseriesRow, index: usize) -> Option<f64> {
    let calls = row.llm_calls.get(index).copied().unwrap_or(0);
    row.llm_latency_p95_s
        .get(index)
        .copied()
        .flatten()
        .filter(|_| calls >= MIN_CALLS_FOR_P95)
}

fn draw_latency<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    figure: &Figure,
    x_axis_h: i32,
) -> Result<PanelInfo, DrawingAreaErrorKind<DB::ErrorType>> {
    let rows = figure.rows;
    let providers = &figure.output.timeseries.providers;
    let slo_s = figure
        .scenario
        .slos
        .iter()
        .find(|slo| *slo.metric == *named("response_latency_p95_s"))
        .map(|slo| slo.max)
        .filter(|max| max.is_finite() && *max >= 0.0);
    let y_max = axis_max(
        rows.iter()
            .flat_map(|row| {
                [row.response_latency_p50_s, row.response_latency_p95_s]
                    .into_iter()
                    .chain((0..providers.len()).map(|index| provider_p95(row, index)))
            })
            .flatten()
            .chain(slo_s.map(|slo| slo * 1.15)),
    );
    let mut chart = build_chart(area, figure, x_axis_h, y_max, false)?;
    configure_mesh(&mut chart, figure, x_axis_h, "latency (s)", &|v| {
        format_number(*v)
    })?;

    let mut entries = Vec::new();
    for (index, name) in providers.iter().enumerate() {
        let color = PROVIDER_COLORS[index % PROVIDER_COLORS.len()];
        let series = segments(rows, |row| provider_p95(row, index));
        draw_segments(&mut chart, figure.raster, &series, color, 2)?;
        let drawn = series.iter().any(|segment| !segment.is_empty());
        entries.push(LegendEntry {
            swatch: Swatch::Line(color, 2),
            label: if drawn {
                format!("LLM call p95: {}", truncate(name, 22))
            } else {
                format!(
                    "LLM call p95: {} (never {MIN_CALLS_FOR_P95} calls)",
                    truncate(name, 14)
                )
            },
        });
    }
    let p50 = segments(rows, |row| row.response_latency_p50_s);
    let p95 = segments(rows, |row| row.response_latency_p95_s);
    draw_segments(&mut chart, figure.raster, &p50, BLUE_LIGHT, 2)?;
    draw_segments(&mut chart, figure.raster, &p95, BLUE_DARK, 3)?;
    let mut head = vec![
        LegendEntry {
            swatch: Swatch::Line(BLUE_DARK, 3),
            label: "response latency p95".into(),
        },
        LegendEntry {
            swatch: Swatch::Line(BLUE_LIGHT, 2),
            label: "response latency p50".into(),
        },
    ];
    if let Some(slo) = slo_s {
        chart.draw_series(DashedLineSeries::new(
            [(0.0, slo), (figure.x_end_h, slo)],
            10,
            6,
            RED.stroke_width(2),
        ))?;
        head.push(LegendEntry {
            swatch: Swatch::Dashed(RED),
            label: format!("SLO: response p95 ≤ {}", format_seconds(slo)),
        });
    }
    head.append(&mut entries);
    Ok(panel_info(&chart, figure, head))
}

fn panel_info<DB: DrawingBackend>(
    chart: &Chart<'_, DB>,
    figure: &Figure,
    entries: Vec<LegendEntry>,
) -> PanelInfo {
    let (_, plot_y) = chart.plotting_area().get_pixel_range();
    let marker_x = figure
        .markers
        .iter()
        .map(|marker| chart.backend_coord(&(marker.t_h, 0.0)).0)
        .collect();
    PanelInfo {
        entries,
        plot_y,
        marker_x,
    }
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    info: &PanelInfo,
) -> DrawResult<DB> {
    let max_entries = 9;
    let base_y = info.plot_y.start - area.get_base_pixel().1;
    for (index, entry) in info.entries.iter().take(max_entries).enumerate() {
        let y = base_y + 6 + index as i32 * 21;
        let (x0, x1, y_mid) = (12, 44, y + 8);
        match entry.swatch {
            Swatch::Line(color, width) => {
                area.draw(&PathElement::new(
                    vec![(x0, y_mid), (x1, y_mid)],
                    color.stroke_width(width),
                ))?;
            }
            Swatch::Dashed(color) => {
                area.draw(&PathElement::new(
                    vec![(x0, y_mid), (x0 + 12, y_mid)],
                    color.stroke_width(2),
                ))?;
                area.draw(&PathElement::new(
                    vec![(x1 - 12, y_mid), (x1, y_mid)],
                    color.stroke_width(2),
                ))?;
            }
            Swatch::Cross(color) => {
                area.draw(&Cross::new(
                    ((x0 + x1) / 2, y_mid),
                    6,
                    color.stroke_width(2),
                ))?;
            }
            Swatch::Area(color) => {
                area.draw(&Rectangle::new(
                    [(x0, y_mid - 6), (x1, y_mid + 6)],
                    color.mix(0.25).filled(),
                ))?;
                area.draw(&PathElement::new(
                    vec![(x0, y_mid - 6), (x1, y_mid - 6)],
                    color.stroke_width(1),
                ))?;
            }
        }
        area.draw(&Text::new(
            entry.label.clone(),
            (x1 + 10, y),
            (FONT, 15).into_font().color(&INK),
        ))?;
    }
    let hidden = info.entries.len().saturating_sub(max_entries);
    if hidden > 0 {
        let y = base_y + 6 + max_entries as i32 * 21;
        area.draw(&Text::new(
            format!("… and {hidden} more"),
            (54, y),
            (FONT, 15).into_font().color(&MUTED),
        ))?;
    }
    Ok(())
}

/// Splits a series into runs of consecutive present, finite values, in hours: a missing
/// interval (no samples) is a gap in the line, not a drop to zero.
fn segments(
    rows: &[TimeseriesRow],
    value: impl Fn(&TimeseriesRow) -> Option<f64>,
) -> Vec<Vec<(f64, f64)>> {
    let mut all = Vec::new();
    let mut current = Vec::new();
    for row in rows {
        let t_h = row.t_s / HOUR_S;
        match value(row) {
            Some(v) if v.is_finite() && t_h.is_finite() => current.push((t_h, v)),
            _ => {
                if !current.is_empty() {
                    all.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        all.push(current);
    }
    all
}

fn draw_segments<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    raster: bool,
    segments: &[Vec<(f64, f64)>],
    color: RGBColor,
    width: u32,
) -> DrawResult<DB> {
    let scale = pixel_scale(chart, raster);
    for segment in segments {
        if segment.len() == 1 {
            chart.draw_series(std::iter::once(Circle::new(
                segment[0],
                2 + width,
                color.filled(),
            )))?;
        } else {
            chart.draw_series(line_elements(segment, color.stroke_width(width), scale))?;
        }
    }
    Ok(())
}

/// Pixels per data unit along x and y of a chart's plotting area, when drawing on a raster.
fn pixel_scale<DB: DrawingBackend>(chart: &Chart<'_, DB>, raster: bool) -> Option<(f64, f64)> {
    if !raster {
        return None;
    }
    let (width, height) = chart.plotting_area().dim_in_pixel();
    let (x, y) = (chart.x_range(), chart.y_range());
    Some((
        f64::from(width) / (x.end - x.start),
        f64::from(height) / (y.end - y.start),
    ))
}

/// A polyline as path elements. On a raster (`scale` given) a thick line is cut wherever it
/// turns back on itself (the turn is sharper than a right angle, in pixels), since plotters'
/// raster joins are mitred and a sawtooth would grow needles; gentler joins stay joined.
fn line_elements(
    points: &[(f64, f64)],
    style: ShapeStyle,
    scale: Option<(f64, f64)>,
) -> Vec<PathElement<(f64, f64)>> {
    let Some((x_scale, y_scale)) = scale.filter(|_| style.stroke_width > 1) else {
        return vec![PathElement::new(points.to_vec(), style)];
    };
    let mut elements = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    for &point in points {
        if let [.., before, last] = run[..] {
            let incoming = ((last.0 - before.0) * x_scale, (last.1 - before.1) * y_scale);
            let outgoing = ((point.0 - last.0) * x_scale, (point.1 - last.1) * y_scale);
            if incoming.0 * outgoing.0 + incoming.1 * outgoing.1 < 0.0 {
                elements.push(PathElement::new(std::mem::take(&mut run), style));
                run.push(last);
            }
        }
        run.push(point);
    }
    elements.push(PathElement::new(run, style));
    elements
}

fn draw_dashed_segments<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    segments: &[Vec<(f64, f64)>],
    color: RGBColor,
    width: u32,
) -> DrawResult<DB> {
    for segment in segments {
        chart.draw_series(DashedLineSeries::new(
            segment.iter().copied(),
            8,
            5,
            color.stroke_width(width),
        ))?;
    }
    Ok(())
}

/// The vertical markers: every timeline entry at its time, plus events the timeline does not
/// already cover (deploys and interventions from elsewhere, the end of a provider incident).
fn collect_markers(scenario: &Scenario, output: &RunOutput) -> Vec<Marker> {
    let mut markers: Vec<Marker> = scenario
        .timeline
        .iter()
        .map(|intervention| Marker {
            t_h: nanos_to_seconds(intervention.at) / HOUR_S,
            label: intervention.label.clone(),
        })
        .collect();
    let timeline_at = |t_s: f64| {
        scenario
            .timeline
            .iter()
            .any(|intervention| (nanos_to_seconds(intervention.at) - t_s).abs() < 1e-3)
    };
    for event in &output.events {
        if !event.t_s.is_finite() {
            continue;
        }
        let detail = event.detail.trim();
        let label = match event.kind {
            EventKind::Intervention | EventKind::Deploy | EventKind::ProviderIncidentStart
                if timeline_at(event.t_s) =>
            {
                continue;
            }
            EventKind::Intervention => or_default(detail, "intervention"),
            EventKind::Deploy => prefixed("deploy", detail),
            EventKind::ProviderIncidentStart => prefixed("provider incident", detail),
            EventKind::ProviderIncidentEnd => match incident_ending_at(scenario, event.t_s) {
                Some(label) => format!("end of {label}"),
                None => prefixed("provider incident ends", detail),
            },
            _ => continue,
        };
        markers.push(Marker {
            t_h: event.t_s / HOUR_S,
            label,
        });
    }
    markers.sort_by(|a, b| a.t_h.total_cmp(&b.t_h));
    markers.dedup();
    markers
}

fn incident_ending_at(scenario: &Scenario, t_s: f64) -> Option<&str> {
    scenario
        .timeline
        .iter()
        .find_map(|intervention| match &intervention.action {
            Action::ProviderIncident { duration, .. }
                if (nanos_to_seconds(intervention.at + duration) - t_s).abs() < 1e-3 =>
            {
                Some(intervention.label.as_str())
            }
            _ => None,
        })
}

fn or_default(detail: &str, default: &str) -> String {
    if detail.is_empty() {
        default.to_string()
    } else {
        detail.to_string()
    }
}

fn prefixed(prefix: &str, detail: &str) -> String {
    if detail.is_empty() {
        prefix.to_string()
    } else {
        format!("{prefix}: {detail}")
    }
}

/// A y axis top with headroom over the largest finite value, at least something positive.
fn axis_max(values: impl Iterator<Item = f64>) -> f64 {
    let largest = values.filter(|v| v.is_finite()).fold(0.0, f64::max);
    if largest > 0.0 {
        (largest * 1.08).min(f64::MAX / 4.0)
    } else {
        1.0
    }
}

fn finite_or(value: f64, default: f64) -> f64 {
    if value.is_finite() { value } else { default }
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_string()
    } else {
        let kept: String = text.chars().take(max_chars.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

/// Tick labels: compact, with k/M/G/T suffixes so huge values still fit the label area.
fn format_number(value: f64) -> String {
    let magnitude = value.abs();
    let (scaled, suffix) = if magnitude >= 1e12 {
        (value / 1e12, "T")
    } else if magnitude >= 1e9 {
        (value / 1e9, "G")
    } else if magnitude >= 1e6 {
        (value / 1e6, "M")
    } else if magnitude >= 1e4 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    if magnitude >= 1e15 {
        return format!("{value:.1e}");
    }
    let text = if scaled.fract().abs() < 1e-9 || scaled.abs() >= 100.0 {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 10.0 {
        format!("{scaled:.1}")
    } else {
        format!("{scaled:.2}")
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text}{suffix}")
}

/// An axis label with the decimals the axis needs: a tick step below 1 gets the digits that
/// tell ticks apart (0.2, 0.05), larger ones the compact `format_number`.
fn format_axis_label(value: f64, axis_max: f64) -> String {
    let step = axis_max / 5.0;
    if !(step.is_finite() && step > 0.0 && step < 1.0) {
        return format_number(value);
    }
    let decimals = (-step.log10().floor()).clamp(0.0, 9.0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Money in the subtitle: cents below $100, whole dollars with thousands separators above.
fn format_usd(value: f64) -> String {
    if value.abs() < 100.0 {
        return format!("${value:.2}");
    }
    let digits = format!("{:.0}", value.abs());
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if value < 0.0 { "-" } else { "" };
    format!("{sign}${grouped}")
}

/// Hours since the start; on multi-day runs the day starts are named too.
fn format_tick(t_h: f64, x_end_h: f64) -> String {
    if x_end_h > 24.0 && (t_h / 24.0).fract().abs() < 1e-9 {
        format!(
            "{} (day {})",
            format_number(t_h),
            (t_h / 24.0).round() as u64 + 1
        )
    } else {
        format_number(t_h)
    }
}

fn format_hours(hours: f64) -> String {
    if hours >= 48.0 && (hours / 24.0).fract().abs() < 1e-9 {
        format!("{:.0} days", hours / 24.0)
    } else {
        format!("{} h", format_number(hours))
    }
}

fn format_seconds(seconds: f64) -> String {
    if seconds >= 120.0 {
        format!("{:.1} min", seconds / 60.0)
    } else if seconds >= 10.0 {
        format!("{seconds:.0} s")
    } else {
        format!("{seconds:.2} s")
    }
}

/// A marker's time as clock time, with the day when the run spans more than one.
fn format_clock(t_h: f64, x_end_h: f64) -> String {
    let total_minutes = (t_h * 60.0).round().max(0.0) as u64;
    let day = total_minutes / (24 * 60);
    let hour = (total_minutes / 60) % 24;
    let minute = total_minutes % 60;
    if x_end_h > 24.0 {
        format!("day {} {hour:02}:{minute:02}", day + 1)
    } else {
        format!("{hour:02}:{minute:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_axis_ranges_keep_their_digits() {
        let labels: Vec<String> = [0.0, 0.2, 0.4, 0.6]
            .iter()
            .map(|v| format_axis_label(*v, 1.0))
            .collect();
        assert_eq!(labels, ["0", "0.2", "0.4", "0.6"]);
        assert_eq!(format_axis_label(0.05, 0.25), "0.05");
        assert_eq!(format_axis_label(1500.0, 3000.0), "1500");
        assert_eq!(format_axis_label(25_000.0, 50_000.0), "25k");
    }

    #[test]
    fn money_drops_cents_once_it_is_large() {
        assert_eq!(format_usd(4.132), "$4.13");
        assert_eq!(format_usd(88_639.73), "$88,640");
        assert_eq!(format_usd(1_234_567.0), "$1,234,567");
        assert_eq!(format_usd(100.0), "$100");
    }
}
