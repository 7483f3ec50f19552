//! The phase-diagram figure (`<stem>.png`, `<stem>.svg`): a grid of cells over two settings,
//! each coloured by a ratio on a logarithmic scale (1 is neutral), with its value printed in
//! it, a colour bar, cells marked where a second condition holds (a cross), and one reference
//! cell outlined. It draws what the caller measured; it knows nothing about the model.
//!
//! Text uses the embedded DejaVu Sans, as the other figures do, so the PNG renders the same on
//! a machine with no fonts.

use super::{OutputError, write_atomic};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;
use std::sync::OnceLock;

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 900;
const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// Ratios at or above this get the darkest colour.
const RATIO_TOP: f64 = 8.0;
const CROSS: RGBColor = RGBColor(20, 20, 20);

/// One cell: its column (x) and row (y) index, its ratio, and whether it is crossed.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseCell {
    pub x: usize,
    pub y: usize,
    pub ratio: f64,
    pub crossed: bool,
}

/// What the figure shows. Rows are drawn bottom-up in `y_values` order.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseDiagram {
    pub title: String,
    pub x_label: String,
    pub x_values: Vec<String>,
    pub y_label: String,
    pub y_values: Vec<String>,
    /// What the colour is, for the colour bar ("03 p95 / 01 p95").
    pub ratio_label: String,
    /// What a cross means, for the legend.
    pub cross_label: String,
    /// The outlined cell (column, row) and what it is, for the legend.
    pub reference: (usize, usize),
    pub reference_label: String,
    pub cells: Vec<PhaseCell>,
}

/// Writes `<dir>/<stem>.png` and `<dir>/<stem>.svg`, each atomically.
pub fn write_phase_diagram(
    dir: &Path,
    stem: &str,
    diagram: &PhaseDiagram,
) -> Result<(), OutputError> {
    let failed = |path: &Path, error: String| OutputError {
        path: path.to_path_buf(),
        source: std::io::Error::other(error),
    };
    let png_path = dir.join(format!("{stem}.png"));
    let svg_path = dir.join(format!("{stem}.svg"));
    register_font().map_err(|e| failed(&png_path, e))?;
    let png = render_png(diagram).map_err(|e| failed(&png_path, e))?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, diagram).map_err(|e| failed(&svg_path, e))?;
    }
    write_atomic(&png_path, &png)?;
    write_atomic(&svg_path, svg.as_bytes())
}

fn register_font() -> Result<(), String> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        ["sans-serif", "serif", "monospace"].iter().all(|family| {
            plotters::style::register_font(family, FontStyle::Normal, FONT_BYTES).is_ok()
        })
    });
    if ok {
        Ok(())
    } else {
        Err("embedded font DejaVuSans.ttf is not a valid font".into())
    }
}

fn render_png(diagram: &PhaseDiagram) -> Result<Vec<u8>, String> {
    let mut pixels = vec![0u8; WIDTH as usize * HEIGHT as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, diagram)?;
        root.present().map_err(err)?;
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(err)?;
    writer.write_image_data(&pixels).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(png)
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("drawing the phase diagram: {e:?}")
}

/// Position on the colour scale: 0 at a ratio of 1 or less, 1 at `RATIO_TOP` or more, linear
/// in log(ratio) between.
fn scale_position(ratio: f64) -> f64 {
    if ratio.is_nan() || ratio <= 1.0 {
        return 0.0;
    }
    (ratio.ln() / RATIO_TOP.ln()).min(1.0)
}

/// White-yellow-orange-red-dark red (ColorBrewer YlOrRd), interpolated.
fn colour(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 6] = [
        (255, 255, 229),
        (254, 227, 145),
        (254, 153, 41),
        (236, 112, 20),
        (204, 76, 2),
        (102, 37, 6),
    ];
    let t = t.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn centred(size: u32, colour: &RGBColor) -> TextStyle<'static> {
    ("sans-serif", size)
        .into_font()
        .color(colour)
        .pos(Pos::new(HPos::Center, VPos::Center))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    diagram: &PhaseDiagram,
) -> Result<(), String> {
    root.fill(&WHITE).map_err(err)?;
    let (main, side) = root.split_horizontally(WIDTH - 190);
    let (plot, legend) = main.split_vertically(HEIGHT - 70);
    let (nx, ny) = (diagram.x_values.len(), diagram.y_values.len());
    let mut chart = ChartBuilder::on(&plot)
        .caption(&diagram.title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..nx as f64, 0f64..ny as f64)
        .map_err(err)?;
    // Labels at cell centres only.
    let label = |values: &[String], at: f64| {
        let i = (at - 0.5).round();
        if (at - 0.5 - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < values.len() {
            values[i as usize].clone()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(nx * 2 + 1)
        .y_labels(ny * 2 + 1)
        .x_label_formatter(&|x| label(&diagram.x_values, *x))
        .y_label_formatter(&|y| label(&diagram.y_values, *y))
        .x_desc(diagram.x_label.as_str())
        .y_desc(diagram.y_label.as_str())
        .axis_desc_style(("sans-serif", 18))
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(err)?;
    for cell in &diagram.cells {
        let (x, y) = (cell.x as f64, cell.y as f64);
        let t = scale_position(cell.ratio);
        chart
            .draw_series([
                Rectangle::new([(x, y), (x + 1.0, y + 1.0)], colour(t).filled()),
                Rectangle::new([(x, y), (x + 1.0, y + 1.0)], WHITE.stroke_width(1)),
            ])
            .map_err(err)?;
        if cell.crossed {
            // Light on dark cells, dark on light ones.
            let stroke = if t > 0.6 {
                WHITE.mix(0.6).stroke_width(2)
            } else {
                CROSS.mix(0.45).stroke_width(2)
            };
            for line in [
                [(x + 0.08, y + 0.08), (x + 0.92, y + 0.92)],
                [(x + 0.08, y + 0.92), (x + 0.92, y + 0.08)],
            ] {
                chart
                    .draw_series(std::iter::once(PathElement::new(line.to_vec(), stroke)))
                    .map_err(err)?;
            }
        }
        let text = if t > 0.6 { WHITE } else { BLACK };
        let value = if cell.ratio.is_finite() {
            format!("{:.1}", cell.ratio)
        } else {
            "-".into()
        };
        chart
            .draw_series(std::iter::once(Text::new(
                value,
                (x + 0.5, y + 0.5),
                centred(15, &text),
            )))
            .map_err(err)?;
    }
    let (rx, ry) = (diagram.reference.0 as f64, diagram.reference.1 as f64);
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(rx + 0.03, ry + 0.03), (rx + 0.97, ry + 0.97)],
            BLUE.stroke_width(4),
        )))
        .map_err(err)?;
    draw_legend(&legend, diagram)?;
    draw_colour_bar(&side, &diagram.ratio_label)
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    diagram: &PhaseDiagram,
) -> Result<(), String> {
    let style = ("sans-serif", 16).into_font().color(&BLACK);
    let (x0, y0) = (110, 12);
    area.draw(&Rectangle::new(
        [(x0, y0), (x0 + 26, y0 + 20)],
        BLUE.stroke_width(4),
    ))
    .map_err(err)?;
    area.draw(&Text::new(
        diagram.reference_label.clone(),
        (x0 + 36, y0 + 2),
        style.clone(),
    ))
    .map_err(err)?;
    let y1 = y0 + 30;
    for line in [
        [(x0, y1), (x0 + 26, y1 + 20)],
        [(x0, y1 + 20), (x0 + 26, y1)],
    ] {
        area.draw(&PathElement::new(
            line.to_vec(),
            CROSS.mix(0.6).stroke_width(2),
        ))
        .map_err(err)?;
    }
    area.draw(&Text::new(
        diagram.cross_label.clone(),
        (x0 + 36, y1 + 2),
        style,
    ))
    .map_err(err)
}

fn draw_colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    label: &str,
) -> Result<(), String> {
    let (left, right) = (20, 55);
    let (top, bottom) = (90, HEIGHT as i32 - 160);
    let steps = 200;
    for k in 0..steps {
        let t0 = k as f64 / steps as f64;
        let t1 = (k + 1) as f64 / steps as f64;
        let y_hi = bottom - ((bottom - top) as f64 * t1) as i32;
        let y_lo = bottom - ((bottom - top) as f64 * t0) as i32;
        area.draw(&Rectangle::new(
            [(left, y_hi), (right, y_lo)],
            colour((t0 + t1) / 2.0).filled(),
        ))
        .map_err(err)?;
    }
    area.draw(&Rectangle::new(
        [(left, top), (right, bottom)],
        BLACK.stroke_width(1),
    ))
    .map_err(err)?;
    let tick_style = ("sans-serif", 15)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (ratio, text) in [
        (1.0, "≤ 1"),
        (1.5, "1.5"),
        (2.0, "2"),
        (3.0, "3"),
        (4.0, "4"),
        (6.0, "6"),
        (RATIO_TOP, "≥ 8"),
    ] {
        let y = bottom - ((bottom - top) as f64 * scale_position(ratio)) as i32;
        area.draw(&PathElement::new(
            vec![(right, y), (right + 6, y)],
            BLACK.stroke_width(1),
        ))
        .map_err(err)?;
        area.draw(&Text::new(text, (right + 10, y), tick_style.clone()))
            .map_err(err)?;
    }
    // The bar's title, above it, on up to three lines.
    let title_style = ("sans-serif", 16).into_font().color(&BLACK);
    for (i, line) in label.split('\n').enumerate() {
        area.draw(&Text::new(
            line.to_string(),
            (8, 20 + 20 * i as i32),
            title_style.clone(),
        ))
        .map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_colour_scale_is_neutral_at_one_and_saturates_at_the_top() {
        assert_eq!(scale_position(0.7), 0.0);
        assert_eq!(scale_position(1.0), 0.0);
        assert!((scale_position(RATIO_TOP.sqrt()) - 0.5).abs() < 1e-12);
        assert_eq!(scale_position(100.0), 1.0);
        assert_eq!(colour(0.0), RGBColor(255, 255, 229));
        assert_eq!(colour(1.0), RGBColor(102, 37, 6));
    }

    #[test]
    fn writes_a_png_and_an_svg_with_the_labels() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let diagram = PhaseDiagram {
            title: "phase".into(),
            x_label: "activity slots".into(),
            x_values: vec!["24".into(), "25".into()],
            y_label: "CPU cost scale".into(),
            y_values: vec!["0.9".into(), "1".into()],
            ratio_label: "03 p95 /\n01 p95".into(),
            cross_label: "customers leave".into(),
            reference: (1, 1),
            reference_label: "calibration".into(),
            cells: vec![
                PhaseCell {
                    x: 0,
                    y: 0,
                    ratio: 1.0,
                    crossed: false,
                },
                PhaseCell {
                    x: 1,
                    y: 1,
                    ratio: 2.6,
                    crossed: true,
                },
            ],
        };
        write_phase_diagram(dir.path(), "phase", &diagram).expect("written");
        let png = std::fs::read(dir.path().join("phase.png")).expect("png");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let svg = std::fs::read_to_string(dir.path().join("phase.svg")).expect("svg");
        for text in ["activity slots", "CPU cost scale", "2.6", "customers leave"] {
            assert!(svg.contains(text), "SVG lacks {text:?}");
        }
    }
}
