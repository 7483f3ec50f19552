//! Sweep figures, each as PNG and SVG bytes (the sweep's output set writes them):
//! - one swept key: `sweep_1d` — p95 response latency and total cost against the key's values,
//!   mean with its 95% CI band, infeasible points crossed in red;
//! - two swept keys: `heatmap_latency_p95` and `heatmap_cost` — one cell per point, the mean
//!   printed in it, infeasible cells crossed in red;
//! - always: `pareto` — mean total cost against mean p95 latency for every point, each labelled
//!   with its swept values, the feasible ones in green, the Pareto frontier (no other point is
//!   both cheaper and faster) as a line, the best feasible point by the objective ringed.
//!
//! The p95 latency SLO, when every point has the same one, is a dashed red line (the 1-D
//! latency panel, the Pareto figure) or named in the title (the heatmap). A heatmap's colour
//! runs from 0 to its largest value (for metrics that cannot be negative), so cells that differ
//! by a fraction of a percent look alike, and its numbers carry as many significant digits as
//! it takes to tell different means apart.
//!
//! Keys are drawn as categories (equally spaced, labelled with their values), whatever their
//! units. Text uses the embedded DejaVu Sans so PNGs render on a machine without fonts.

use super::metrics::{COST_TOTAL_USD, METRICS, RESPONSE_LATENCY_P95_S};
use super::{PointResult, SweepError, SweepMeta};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

const SIZE: (u32, u32) = (960, 640);
const FEASIBLE: RGBColor = RGBColor(26, 150, 65);
const INFEASIBLE: RGBColor = RGBColor(215, 25, 28);
const LINE: RGBColor = RGBColor(44, 123, 182);
const GREY: RGBColor = RGBColor(150, 150, 150);

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| ())
            .expect("the embedded font is valid");
    });
}

type DrawResult = Result<(), String>;

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Draws `figure` as `<stem>.png` and `<stem>.svg` into the figure list `$figures`.
macro_rules! render {
    ($figures:expr, $dir:expr, $stem:expr, |$root:ident| $figure:expr) => {{
        let dir: &Path = $dir;
        let stem: &str = $stem;
        let mut pixels = vec![0u8; SIZE.0 as usize * SIZE.1 as usize * 3];
        {
            let $root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
            let drawn: DrawResult = $figure;
            drawn
                .and_then(|_| $root.present().map_err(err))
                .map_err(|e| figure_error(dir, stem, e))?;
        }
        let png = crate::output::plot::encode_png(&pixels, SIZE.0, SIZE.1)
            .map_err(|e| figure_error(dir, stem, e.to_string()))?;
        let mut svg = String::new();
        {
            let $root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            let drawn: DrawResult = $figure;
            drawn
                .and_then(|_| $root.present().map_err(err))
                .map_err(|e| figure_error(dir, stem, e))?;
        }
        $figures.push((format!("{stem}.png"), png));
        $figures.push((format!("{stem}.svg"), svg.into_bytes()));
    }};
}

fn figure_error(dir: &Path, stem: &str, why: String) -> SweepError {
    SweepError::Io {
        path: dir.join(stem),
        error: std::io::Error::other(format!("cannot draw the figure: {why}")),
    }
}

/// The figures that fit the grid's shape, as `(file name, bytes)`; `dir` only names them in
/// errors.
pub fn figures(
    dir: &Path,
    meta: &SweepMeta,
    points: &[PointResult],
    cheapest: Option<usize>,
) -> Result<Vec<(String, Vec<u8>)>, SweepError> {
    register_font();
    let mut figures: Vec<(String, Vec<u8>)> = Vec::new();
    let title = &meta.scenario;
    match meta.grid.axes.len() {
        1 => render!(figures, dir, "sweep_1d", |root| one_key(
            &root, meta, points, title
        )),
        2 => {
            let slo = meta
                .slo_limit(METRICS[RESPONSE_LATENCY_P95_S].name)
                .map(|limit| format!(" ({})", slo_text(limit)))
                .unwrap_or_default();
            render!(figures, dir, "heatmap_latency_p95", |root| heatmap(
                &root,
                meta,
                points,
                RESPONSE_LATENCY_P95_S,
                &format!("{title}: p95 response latency (s), mean{slo}; shade from 0"),
            ));
            render!(figures, dir, "heatmap_cost", |root| heatmap(
                &root,
                meta,
                points,
                COST_TOTAL_USD,
                &format!("{title}: total cost (USD), mean; shade from 0"),
            ));
        }
        _ => {}
    }
    render!(figures, dir, "pareto", |root| pareto(
        &root, meta, points, cheapest, title
    ));
    Ok(figures)
}

/// Labels for `values` with 3 significant digits, or more (up to 7) until values that differ
/// get different labels, all with the same number of significant digits.
fn labels(values: &[f64]) -> Vec<String> {
    let mut labels = Vec::new();
    for digits in 3..=7 {
        labels = values
            .iter()
            .map(|&v| crate::output::html::significant(v, digits))
            .collect();
        let ambiguous = values.iter().enumerate().any(|(i, a)| {
            values[..i]
                .iter()
                .zip(&labels)
                .any(|(b, label)| a != b && *label == labels[i])
        });
        if !ambiguous {
            break;
        }
    }
    labels
}

/// Where a heatmap cell's colour sits, 0 (lightest) to 1 (darkest): from 0 to the largest
/// value when no value is negative, else from the smallest to the largest.
fn colour_position(value: f64, lo: f64, hi: f64) -> f64 {
    let lo = lo.min(0.0);
    if hi > lo {
        ((value - lo) / (hi - lo)).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// A p95 latency SLO label: "SLO: p95 ≤ 30 s".
fn slo_text(limit: f64) -> String {
    format!(
        "SLO: p95 ≤ {} s",
        crate::output::html::significant(limit, 3)
    )
}

fn padded_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let pad = if hi > lo {
        (hi - lo) * 0.08
    } else {
        lo.abs().max(1.0) * 0.1
    };
    (lo - pad)..(hi + pad)
}

fn one_key<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    meta: &SweepMeta,
    points: &[PointResult],
    title: &str,
) -> DrawResult {
    root.fill(&WHITE).map_err(err)?;
    let axis = &meta.grid.axes[0];
    let root = root
        .margin(8, 0, 0, 0)
        .titled(
            &format!("{title}: sweep of {}", axis.key),
            ("sans-serif", 22),
        )
        .map_err(err)?;
    let panels = root.split_evenly((2, 1));
    let n = points.len();
    for (panel, (metric, label)) in panels.iter().zip([
        (RESPONSE_LATENCY_P95_S, "p95 response latency (s)"),
        (COST_TOTAL_USD, "total cost (USD)"),
    ]) {
        let lo_hi = |p: &PointResult| {
            let s = p.stats[metric];
            let h = s.ci95.unwrap_or(0.0);
            [s.mean - h, s.mean + h]
        };
        let slo = meta.slo_limit(METRICS[metric].name);
        let y = padded_range(points.iter().flat_map(lo_hi).chain(slo));
        let mut chart = ChartBuilder::on(panel)
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), y)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_labels(n.min(20))
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
                    axis.values[i as usize].clone()
                } else {
                    String::new()
                }
            })
            .x_desc(axis.key.as_str())
            .y_desc(label)
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(err)?;
        let band: Vec<(f64, f64)> = points
            .iter()
            .enumerate()
            .map(|(i, p)| (i as f64, lo_hi(p)[1]))
            .chain(
                points
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(i, p)| (i as f64, lo_hi(p)[0])),
            )
            .collect();
        chart
            .draw_series(std::iter::once(Polygon::new(band, LINE.mix(0.2))))
            .map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                points
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (i as f64, p.stats[metric].mean)),
                LINE.stroke_width(2),
            ))
            .map_err(err)?;
        if let Some(limit) = slo {
            chart
                .draw_series(DashedLineSeries::new(
                    [(-0.5, limit), (n as f64 - 0.5, limit)],
                    10,
                    6,
                    INFEASIBLE.stroke_width(2),
                ))
                .map_err(err)?
                .label(slo_text(limit))
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], INFEASIBLE.stroke_width(2))
                });
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 14))
                .draw()
                .map_err(err)?;
        }
        chart
            .draw_series(points.iter().enumerate().map(|(i, p)| {
                let at = (i as f64, p.stats[metric].mean);
                if p.feasible {
                    Circle::new(at, 4, FEASIBLE.filled()).into_dyn()
                } else {
                    Cross::new(at, 6, INFEASIBLE.stroke_width(2)).into_dyn()
                }
            }))
            .map_err(err)?;
    }
    Ok(())
}

fn heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    meta: &SweepMeta,
    points: &[PointResult],
    metric: usize,
    title: &str,
) -> DrawResult {
    root.fill(&WHITE).map_err(err)?;
    let (rows, cols) = (&meta.grid.axes[0], &meta.grid.axes[1]);
    let (nr, nc) = (rows.values.len(), cols.values.len());
    let means: Vec<f64> = points.iter().map(|p| p.stats[metric].mean).collect();
    let finite = || means.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = (
        finite().fold(f64::INFINITY, f64::min),
        finite().fold(f64::NEG_INFINITY, f64::max),
    );
    let texts = labels(&means);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..nc as f64, 0f64..nr as f64)
        .map_err(err)?;
    let label = |values: &[String], x: f64| {
        let i = (x - 0.5).round();
        if (x - 0.5 - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < values.len() {
            values[i as usize].clone()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(nc * 2 + 1)
        .y_labels(nr * 2 + 1)
        .x_label_formatter(&|x| label(&cols.values, *x))
        .y_label_formatter(&|y| label(&rows.values, *y))
        .x_desc(cols.key.as_str())
        .y_desc(rows.key.as_str())
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    for (p, text) in points.iter().zip(&texts) {
        let (r, c) = (p.index / nc, p.index % nc);
        let (x, y) = (c as f64, r as f64);
        let t = colour_position(p.stats[metric].mean, lo, hi);
        // Pale yellow (low) to dark blue (high).
        let color = RGBColor(
            (255.0 - t * 221.0) as u8,
            (255.0 - t * 161.0) as u8,
            (204.0 - t * 36.0) as u8,
        );
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x, y), (x + 1.0, y + 1.0)],
                color.filled(),
            )))
            .map_err(err)?;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x, y), (x + 1.0, y + 1.0)],
                WHITE.stroke_width(1),
            )))
            .map_err(err)?;
        if !p.feasible {
            let cross = [
                [(x + 0.05, y + 0.05), (x + 0.95, y + 0.95)],
                [(x + 0.05, y + 0.95), (x + 0.95, y + 0.05)],
            ];
            for line in cross {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        line.to_vec(),
                        INFEASIBLE.stroke_width(2),
                    )))
                    .map_err(err)?;
            }
        }
        let text_color = if t > 0.55 { WHITE } else { BLACK };
        let style = ("sans-serif", 15).into_font().color(&text_color).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ),
        );
        chart
            .draw_series(std::iter::once(Text::new(
                text.clone(),
                (x + 0.5, y + 0.5),
                style,
            )))
            .map_err(err)?;
    }
    Ok(())
}

/// Indexes of the points no other point beats on both mean p95 latency and mean total cost,
/// sorted by latency.
pub fn pareto_frontier(points: &[PointResult]) -> Vec<usize> {
    let key = |p: &PointResult| {
        (
            p.stats[RESPONSE_LATENCY_P95_S].mean,
            p.stats[COST_TOTAL_USD].mean,
        )
    };
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        let (la, ca) = key(&points[a]);
        let (lb, cb) = key(&points[b]);
        la.total_cmp(&lb).then(ca.total_cmp(&cb)).then(a.cmp(&b))
    });
    let mut frontier = Vec::new();
    let mut best_cost = f64::INFINITY;
    for i in order {
        let cost = key(&points[i]).1;
        if cost < best_cost {
            best_cost = cost;
            frontier.push(i);
        }
    }
    frontier
}

/// The ring's legend: the default objective (compute cost) keeps "cheapest"; another objective
/// names itself, so a point picked for its latency is not called the cheapest.
fn best_label(objective: usize, point: usize) -> String {
    if objective == super::metrics::default_objective() {
        format!("cheapest feasible: point {point}")
    } else {
        format!(
            "best feasible by {}: point {point}",
            METRICS[objective].label
        )
    }
}

fn pareto<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    meta: &SweepMeta,
    points: &[PointResult],
    cheapest: Option<usize>,
    title: &str,
) -> DrawResult {
    root.fill(&WHITE).map_err(err)?;
    let at = |p: &PointResult| {
        (
            p.stats[RESPONSE_LATENCY_P95_S].mean,
            p.stats[COST_TOTAL_USD].mean,
        )
    };
    let slo = meta.slo_limit(METRICS[RESPONSE_LATENCY_P95_S].name);
    let x = padded_range(points.iter().map(|p| at(p).0).chain(slo));
    let y = padded_range(points.iter().map(|p| at(p).1));
    let keys: Vec<&str> = meta.grid.axes.iter().map(|a| a.key.as_str()).collect();
    let x_desc = if keys.is_empty() {
        "p95 response latency (s), mean".to_string()
    } else {
        format!(
            "p95 response latency (s), mean; points labelled {}",
            keys.join(" / ")
        )
    };
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("{title}: cost against p95 response latency"),
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x.clone(), y.clone())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("total cost (USD), mean")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    let frontier = pareto_frontier(points);
    chart
        .draw_series(LineSeries::new(
            frontier.iter().map(|&i| at(&points[i])),
            LINE.stroke_width(2),
        ))
        .map_err(err)?
        .label("Pareto frontier")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], LINE.stroke_width(2)));
    chart
        .draw_series(
            points
                .iter()
                .filter(|p| !p.feasible)
                .map(|p| Circle::new(at(p), 5, GREY.filled())),
        )
        .map_err(err)?
        .label("infeasible (an SLO failed)")
        .legend(|(x, y)| Circle::new((x + 10, y), 5, GREY.filled()));
    chart
        .draw_series(
            points
                .iter()
                .filter(|p| p.feasible)
                .map(|p| Circle::new(at(p), 5, FEASIBLE.filled())),
        )
        .map_err(err)?
        .label("feasible (every SLO met)")
        .legend(|(x, y)| Circle::new((x + 10, y), 5, FEASIBLE.filled()));
    if !keys.is_empty() {
        let style = ("sans-serif", 13).into_font().color(&BLACK);
        let near = |a: (f64, f64), b: (f64, f64)| {
            ((a.0 - b.0) / (x.end - x.start)).abs() < 0.015
                && ((a.1 - b.1) / (y.end - y.start)).abs() < 0.015
        };
        // Points that land on top of each other share one label, so no two texts overlap.
        let mut groups: Vec<((f64, f64), Vec<String>)> = Vec::new();
        for p in points {
            let values: Vec<&str> = p.parameters.iter().map(|(_, v)| v.as_str()).collect();
            let label = values.join(" / ");
            match groups
                .iter_mut()
                .find(|(at_group, _)| near(*at_group, at(p)))
            {
                Some((_, labels)) => labels.push(label),
                None => groups.push((at(p), vec![label])),
            }
        }
        chart
            .draw_series(groups.iter().enumerate().map(|(i, (point, labels))| {
                // Alternate above and below the point so neighbours' labels overlap less.
                let dy = if i % 2 == 0 { -17 } else { 5 };
                EmptyElement::at(*point) + Text::new(labels.join(", "), (7, dy), style.clone())
            }))
            .map_err(err)?;
    }
    if let Some(limit) = slo {
        chart
            .draw_series(DashedLineSeries::new(
                [(limit, y.start), (limit, y.end)],
                10,
                6,
                INFEASIBLE.stroke_width(2),
            ))
            .map_err(err)?
            .label(slo_text(limit))
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], INFEASIBLE.stroke_width(2))
            });
    }
    if let Some(i) = cheapest {
        chart
            .draw_series(std::iter::once(Circle::new(
                at(&points[i]),
                10,
                BLACK.stroke_width(2),
            )))
            .map_err(err)?
            .label(best_label(meta.objective, i))
            .legend(|(x, y)| Circle::new((x + 10, y), 6, BLACK.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_is_called_cheapest_only_when_the_objective_is_the_compute_cost() {
        let default = crate::sweep::metrics::default_objective();
        assert_eq!(best_label(default, 3), "cheapest feasible: point 3");
        assert_eq!(
            best_label(RESPONSE_LATENCY_P95_S, 3),
            "best feasible by p95 response latency: point 3"
        );
    }

    #[test]
    fn labels_carry_the_digits_that_tell_cells_apart() {
        assert_eq!(labels(&[3.48, 7.19]), ["3.48", "7.19"]);
        assert_eq!(
            labels(&[1400.06, 1400.0, 1400.03]),
            ["1400.06", "1400.00", "1400.03"]
        );
        assert_eq!(labels(&[1400.0, 1400.0]), ["1400", "1400"], "equal values");
    }

    #[test]
    fn a_tiny_relative_difference_gets_nearly_the_same_colour() {
        let (lo, hi) = (1400.0, 1400.06);
        let spread = colour_position(hi, lo, hi) - colour_position(lo, lo, hi);
        assert!(spread < 0.001, "{spread}");
        assert_eq!(colour_position(3.5, 3.5, 7.0), 0.5);
        assert_eq!(colour_position(0.0, 0.0, 0.0), 0.0);
        assert_eq!(
            colour_position(-1.0, -1.0, 1.0),
            0.0,
            "negative data spans its range"
        );
    }
}
