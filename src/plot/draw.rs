//! Drawing a [`Chart`] with plotters, as PNG bytes or SVG text, with the
//! embedded font and a category axis for labelled boxes and bars.

use std::ops::Range;
use std::sync::Once;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;

use super::chart::*;
/// Width of every chart, in pixels.
pub(crate) const WIDTH: u32 = 800;
/// Height of every chart, in pixels.
pub(crate) const HEIGHT: u32 = 600;

/// Most points a line chart marks with a dot.
pub(super) const MAX_LINE_MARKERS: usize = 200;
/// DejaVu Sans 2.37, see `assets/fonts/LICENSE-DejaVu.txt`.
pub(super) static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
pub(super) const FONT_FAMILY: &str = "sans-serif";
pub(super) const MARGIN: u32 = 20;
// Font sizes are even: at odd sizes plotters' ab_glyph text places glyphs
// by rounding half a pixel differently for each, so a '.' sits too high.
pub(super) const TITLE_SIZE: u32 = 26;
pub(super) const DESC_SIZE: u32 = 18;
pub(super) const LABEL_SIZE: u32 = 14;
pub(super) const SMALL_LABEL_SIZE: u32 = 12;
/// Room for the y tick labels and the y axis description.
pub(super) const Y_AREA: u32 = 80;
/// Width of the plotting area between the y label area and the right margin.
pub(super) const PLOT_WIDTH: u32 = WIDTH - 2 * MARGIN - 20 - Y_AREA;
/// Widest label area of the failures chart.
pub(super) const MAX_ROW_LABEL_WIDTH: u32 = 360;
pub(super) const BAR_COLOR: RGBColor = RGBColor(76, 114, 176);
pub(super) const PALETTE: [RGBColor; PALETTE_LEN] = [
    RGBColor(76, 114, 176),
    RGBColor(221, 132, 82),
    RGBColor(85, 168, 104),
    RGBColor(196, 78, 82),
    RGBColor(129, 114, 179),
    RGBColor(147, 120, 96),
];

pub(super) fn ensure_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The bytes are a valid TTF (checked by the tests), so this cannot fail.
        let _ = plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT);
    });
}

pub(super) fn font(size: u32) -> TextStyle<'static> {
    (FONT_FAMILY, size).into_font().into()
}

pub(super) fn png_bytes(chart: &Chart) -> Result<Vec<u8>, String> {
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        draw(chart, &root)?;
        root.present().map_err(fail)?;
    }
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(fail)?;
    writer.write_image_data(&pixels).map_err(fail)?;
    writer.finish().map_err(fail)?;
    Ok(bytes)
}

pub(super) fn svg_text(chart: &Chart) -> Result<String, String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (WIDTH, HEIGHT)).into_drawing_area();
        draw(chart, &root)?;
        root.present().map_err(fail)?;
    }
    Ok(text)
}

pub(super) fn fail(error: impl std::fmt::Display) -> String {
    error.to_string()
}

pub(super) fn draw<DB: DrawingBackend>(
    chart: &Chart,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    ensure_font();
    root.fill(&WHITE).map_err(fail)?;
    match chart {
        Chart::Message { title, message } => draw_message(root, title, message),
        Chart::Histogram {
            title,
            x_label,
            y_label,
            bins,
        } => draw_histogram(root, title, x_label, y_label, bins),
        Chart::Boxes {
            title,
            y_label,
            boxes,
            log,
        } => draw_boxes(root, title, y_label, boxes, *log),
        Chart::Points {
            title,
            x_label,
            y_label,
            points,
            joined,
        } => draw_points(root, title, x_label, y_label, points, *joined),
        Chart::Ranking {
            title,
            x_label,
            rows,
        } => draw_ranking(root, title, x_label, rows),
    }
}

pub(super) fn draw_message<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    message: &str,
) -> Result<(), String> {
    let center = |size| font(size).pos(Pos::new(HPos::Center, VPos::Center));
    let middle = (WIDTH / 2) as i32;
    root.draw(&Text::new(
        title,
        (middle, (MARGIN + TITLE_SIZE) as i32),
        center(TITLE_SIZE),
    ))
    .map_err(fail)?;
    root.draw(&Text::new(
        message,
        (middle, (HEIGHT / 2) as i32),
        center(DESC_SIZE + 2),
    ))
    .map_err(fail)
}

pub(super) fn builder<'a, 'b, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    y_area: u32,
) -> ChartBuilder<'a, 'b, DB> {
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(title, font(TITLE_SIZE))
        .margin(MARGIN)
        .margin_right(MARGIN + 20)
        .x_label_area_size(60)
        .y_label_area_size(y_area);
    builder
}

pub(super) fn draw_histogram<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    x_label: &str,
    y_label: &str,
    bins: &[(f64, f64, u64)],
) -> Result<(), String> {
    let mut lo = bins.first().map_or(0.0, |b| b.0);
    let mut hi = bins.last().map_or(1.0, |b| b.1);
    if bins.len() == 1 {
        // One bar as wide as the chart reads as a filled box, not a bar.
        (lo, hi) = (lo - (hi - lo), hi + (hi - lo));
    }
    let most = bins.iter().map(|b| b.2).max().unwrap_or(0);
    let top = (most + most / 12).max(most + 1);
    let mut chart = builder(root, title, Y_AREA)
        .build_cartesian_2d(lo..hi, 0u64..top)
        .map_err(fail)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .max_light_lines(1)
        .light_line_style(WHITE)
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&|v| value_tick(*v))
        .y_label_formatter(&|v| count_tick(*v, top) + " ")
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style(font(LABEL_SIZE))
        .axis_desc_style(font(DESC_SIZE))
        .draw()
        .map_err(fail)?;
    chart
        .draw_series(bins.iter().map(|&(from, to, count)| {
            Rectangle::new([(from, 0), (to, count)], BAR_COLOR.mix(0.85).filled())
        }))
        .map_err(fail)?;
    chart
        .draw_series(bins.iter().filter(|b| b.2 > 0).map(|&(from, to, count)| {
            Rectangle::new([(from, 0), (to, count)], WHITE.stroke_width(1))
        }))
        .map_err(fail)?;
    Ok(())
}

pub(super) fn draw_boxes<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    boxes: &[BoxData],
    log: bool,
) -> Result<(), String> {
    let (lo, hi) = boxes
        .iter()
        .map(BoxData::extent)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (l, h)| {
            (lo.min(l), hi.max(h))
        });
    let (lo, hi) = padded(lo, hi);
    let count = boxes.len();
    let x_range = CategoryAxis(count);
    let mut chart = builder(root, title, Y_AREA)
        .build_cartesian_2d(x_range, lo..hi)
        .map_err(fail)?;
    let labels: Vec<String> = boxes.iter().map(|b| b.label.clone()).collect();
    let room = (PLOT_WIDTH / count as u32).saturating_sub(8);
    let (labels, size) = fit_labels(root, &labels, room);
    let label = |x: &f64| category(&labels, *x).unwrap_or_default();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .max_light_lines(1)
        .light_line_style(WHITE)
        .y_labels(8)
        .x_label_formatter(&label)
        .y_label_formatter(&|v| {
            if log {
                value_tick(round_to_two_digits(10f64.powf(*v)))
            } else {
                value_tick(*v)
            }
        })
        .y_desc(y_label)
        .x_label_style(font(size))
        .y_label_style(font(LABEL_SIZE))
        .axis_desc_style(font(DESC_SIZE))
        .draw()
        .map_err(fail)?;
    let half = 0.3_f64.min(0.4 * (1.0 - 1.0 / (count as f64 + 1.0)));
    for (at, data) in boxes.iter().enumerate() {
        let x = at as f64;
        let color = PALETTE[at % PALETTE.len()];
        let line = color.stroke_width(2);
        chart
            .draw_series([Rectangle::new(
                [(x - half, data.q1), (x + half, data.q3)],
                color.mix(0.35).filled(),
            )])
            .map_err(fail)?;
        chart
            .draw_series([Rectangle::new(
                [(x - half, data.q1), (x + half, data.q3)],
                line,
            )])
            .map_err(fail)?;
        let segments = [
            [(x - half, data.median), (x + half, data.median)],
            [(x, data.q3), (x, data.high)],
            [(x, data.q1), (x, data.low)],
            [(x - half / 2.0, data.high), (x + half / 2.0, data.high)],
            [(x - half / 2.0, data.low), (x + half / 2.0, data.low)],
        ];
        chart
            .draw_series(
                segments
                    .into_iter()
                    .map(|points| PathElement::new(points.to_vec(), line)),
            )
            .map_err(fail)?;
        chart
            .draw_series(
                data.outliers
                    .iter()
                    .map(|&v| Circle::new((x, v), 3, color.stroke_width(1))),
            )
            .map_err(fail)?;
    }
    Ok(())
}

pub(super) fn draw_points<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    x_label: &str,
    y_label: &str,
    points: &[(f64, f64)],
    joined: bool,
) -> Result<(), String> {
    let extent = |pick: fn(&(f64, f64)) -> f64| {
        let (lo, hi) = points
            .iter()
            .map(pick)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        padded(lo, hi)
    };
    let (x_lo, x_hi) = extent(|p| p.0);
    let (y_lo, y_hi) = extent(|p| p.1);
    let mut chart = builder(root, title, Y_AREA)
        .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)
        .map_err(fail)?;
    chart
        .configure_mesh()
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&|v| value_tick(*v))
        .y_label_formatter(&|v| value_tick(*v))
        .x_desc(x_label)
        .y_desc(y_label)
        .max_light_lines(1)
        .light_line_style(WHITE)
        .label_style(font(LABEL_SIZE))
        .axis_desc_style(font(DESC_SIZE))
        .draw()
        .map_err(fail)?;
    if joined {
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                BAR_COLOR.stroke_width(2),
            ))
            .map_err(fail)?;
    }
    // A line shows its points only while they are few enough to tell apart.
    if !joined || points.len() <= MAX_LINE_MARKERS {
        let radius = if joined || points.len() > 2_000 { 2 } else { 3 };
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&p| Circle::new(p, radius, BAR_COLOR.mix(0.6).filled())),
            )
            .map_err(fail)?;
    }
    Ok(())
}

pub(super) fn draw_ranking<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    x_label: &str,
    rows: &[(String, u64, usize)],
) -> Result<(), String> {
    let count = rows.len();
    // Row 0 at the top: the axis counts from the bottom.
    let labels: Vec<String> = rows.iter().rev().map(|r| r.0.clone()).collect();
    let (labels, size) = fit_labels(root, &labels, MAX_ROW_LABEL_WIDTH);
    let widest = labels
        .iter()
        .map(|l| text_width(root, l, size))
        .max()
        .unwrap_or(0);
    let y_area = (widest + 16).clamp(Y_AREA, MAX_ROW_LABEL_WIDTH + 16);
    let most = rows.iter().map(|r| r.1).max().unwrap_or(0);
    let right = (most + most / 8).max(most + 1);
    let mut chart = builder(root, title, y_area)
        .build_cartesian_2d(0u64..right, CategoryAxis(count))
        .map_err(fail)?;
    let label = |y: &f64| category(&labels, *y).unwrap_or_default();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .max_light_lines(1)
        .light_line_style(WHITE)
        .x_labels(8)
        .x_label_formatter(&|v| count_tick(*v, right))
        .y_label_formatter(&label)
        .x_desc(x_label)
        .x_label_style(font(LABEL_SIZE))
        .y_label_style(font(size))
        .axis_desc_style(font(DESC_SIZE))
        .draw()
        .map_err(fail)?;
    let half = 0.35;
    let value_style = font(size).pos(Pos::new(HPos::Left, VPos::Center));
    for (at, (_, value, color)) in rows.iter().enumerate() {
        let y = (count - 1 - at) as f64;
        let color = PALETTE
            .get(*color)
            .copied()
            .unwrap_or(RGBColor(150, 150, 150));
        chart
            .draw_series([Rectangle::new(
                [(0, y - half), (*value, y + half)],
                color.mix(0.85).filled(),
            )])
            .map_err(fail)?;
        let text = format!(" {}", thousands(*value));
        chart
            .draw_series([Text::new(text, (*value, y), value_style.clone())])
            .map_err(fail)?;
    }
    Ok(())
}

/// The label of the category at `at`, if `at` is one of `0.0, 1.0, …`.
pub(super) fn category(labels: &[String], at: f64) -> Option<String> {
    let index = at.round();
    if index < 0.0 || (at - index).abs() > 1e-9 {
        return None;
    }
    labels.get(index as usize).cloned()
}

pub(super) fn text_width<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: &str,
    size: u32,
) -> u32 {
    root.estimate_text_size(text, &font(size))
        .map_or(u32::MAX, |(width, _)| width)
}

/// Fits category labels into `room` pixels each: all at the label size if
/// they fit, else at the small size, cutting (with `…`) those still too wide.
pub(super) fn fit_labels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    labels: &[String],
    room: u32,
) -> (Vec<String>, u32) {
    for size in [LABEL_SIZE, SMALL_LABEL_SIZE] {
        if labels.iter().all(|l| text_width(root, l, size) <= room) {
            return (labels.to_vec(), size);
        }
    }
    let cut = |label: &String| {
        let mut chars: Vec<char> = label.chars().collect();
        let mut text = label.clone();
        while chars.len() > 1 && text_width(root, &text, SMALL_LABEL_SIZE) > room {
            chars.pop();
            text = chars.iter().collect::<String>() + "…";
        }
        text
    };
    (labels.iter().map(cut).collect(), SMALL_LABEL_SIZE)
}

/// An axis of `count` categories at `0.0, 1.0, …` with a tick each, for
/// labelled boxes and bars.
#[derive(Clone)]
pub(super) struct CategoryAxis(usize);

impl Ranged for CategoryAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let share = (value + 0.5) / self.0.max(1) as f64;
        limit.0 + (f64::from(limit.1 - limit.0) * share).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        (0..self.0).map(|i| i as f64).collect()
    }

    fn range(&self) -> Range<f64> {
        -0.5..self.0 as f64 - 0.5
    }
}
