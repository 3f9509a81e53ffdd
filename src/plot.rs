//! Charts of the statistics pass, drawn with plotters into `DIR/plots/` as
//! PNG and SVG of the same base name, 800×600, each written atomically.
//!
//! Always drawn:
//! - `hist_<stat>`: a histogram of every numeric statistic whose distribution
//!   no config chart draws ([`distributions_drawn`]);
//! - `timings`: a box plot of the wall time per block (last attempt per sample);
//! - `failures`: failures per block and reason as horizontal bars; without
//!   failures it is a chart saying "No failures", so an old chart never
//!   outlives the failures it showed.
//!
//! Plus one chart per [`PlotSpec`] of the config's `plots:` list. A chart
//! without data (an unknown statistic, only NaN values, no timings) says so
//! in place of the plot, and [`render_all`] returns a warning for it.
//!
//! Text is drawn with the embedded DejaVu Sans (`assets/fonts/`, Bitstream
//! Vera license) through `ab_glyph`, so no system font library or font is
//! needed. SVG files name the font family `sans-serif` and leave it to the
//! viewer.

use std::collections::BTreeMap;
use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontStyle;
use serde::{Deserialize, Serialize};

use crate::stats::{self, Statistics, StatsError, Timings, SAMPLE_COLUMN};

/// Folder of the charts, inside the dataset folder.
pub const PLOTS_DIR: &str = "plots";
/// Width of every chart, in pixels.
pub const WIDTH: u32 = 800;
/// Height of every chart, in pixels.
pub const HEIGHT: u32 = 600;
/// Most points a scatter or line chart draws; more are thinned evenly.
pub const MAX_POINTS: usize = 10_000;
/// Most points a line chart marks with a dot.
const MAX_LINE_MARKERS: usize = 200;
/// Largest `bins` a histogram spec may ask for.
pub const MAX_BINS: usize = 1000;

/// DejaVu Sans 2.37, see `assets/fonts/LICENSE-DejaVu.txt`.
static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
const FONT_FAMILY: &str = "sans-serif";
const MARGIN: u32 = 20;
// Font sizes are even: at odd sizes plotters' ab_glyph text places glyphs
// by rounding half a pixel differently for each, so a '.' sits too high.
const TITLE_SIZE: u32 = 26;
const DESC_SIZE: u32 = 18;
const LABEL_SIZE: u32 = 14;
const SMALL_LABEL_SIZE: u32 = 12;
/// Room for the y tick labels and the y axis description.
const Y_AREA: u32 = 80;
/// Width of the plotting area between the y label area and the right margin.
const PLOT_WIDTH: u32 = WIDTH - 2 * MARGIN - 20 - Y_AREA;
/// Widest label area of the failures chart.
const MAX_ROW_LABEL_WIDTH: u32 = 360;
/// Most bars of the failures chart; the remaining reasons are summed up.
const MAX_FAILURE_ROWS: usize = 20;
/// Most characters of a category label (block name, failure reason).
const MAX_LABEL_CHARS: usize = 40;
/// Most outliers drawn at each end of a box.
const MAX_OUTLIERS: usize = 50;
/// Slowest over fastest wall time from which the timings chart is log-scaled.
const LOG_SCALE_RATIO: f64 = 100.0;
const BAR_COLOR: RGBColor = RGBColor(76, 114, 176);
const PALETTE: [RGBColor; 6] = [
    RGBColor(76, 114, 176),
    RGBColor(221, 132, 82),
    RGBColor(85, 168, 104),
    RGBColor(196, 78, 82),
    RGBColor(129, 114, 179),
    RGBColor(147, 120, 96),
];

/// The kind of a configured chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlotKind {
    /// Histogram of one statistic (`stat`, optional `bins`).
    Histogram,
    /// One dot per complete sample at (`x`, `y`).
    Scatter,
    /// `y` against `x`, joined in increasing `x`.
    Line,
    /// Box plot of one statistic (`stat`) or several side by side (`stats`).
    Box,
}

impl PlotKind {
    fn as_str(self) -> &'static str {
        match self {
            PlotKind::Histogram => "histogram",
            PlotKind::Scatter => "scatter",
            PlotKind::Line => "line",
            PlotKind::Box => "box",
        }
    }
}

/// One chart of the config's top-level `plots:` list.
///
/// Statistic names are full: `block.stat`, e.g. `render.objects`; the `x` of
/// a scatter or line chart may also be `sample`, the sample id.
///
/// ```yaml
/// plots:
///   - type: scatter
///     x: scene.objects
///     y: render.seconds
///     title: Render time by object count
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlotSpec {
    /// `histogram`, `scatter`, `line` or `box`.
    #[serde(rename = "type")]
    pub kind: PlotKind,
    /// The statistic of a histogram or of a single box.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<String>,
    /// The x statistic of a scatter or line chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The y statistic of a scatter or line chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The statistics of a box chart with several boxes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Vec<String>>,
    /// The chart's title.
    pub title: String,
    /// Label of the x axis (default: the statistic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_label: Option<String>,
    /// Label of the y axis (default: the statistic, or "samples").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_label: Option<String>,
    /// Base name of the files (default: `<type>_<stats>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Number of bins of a histogram (default: from the number of values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bins: Option<usize>,
}

impl PlotSpec {
    /// Checks that the fields fit the kind; `number` is how the error names
    /// the plot (`plot 2: scatter needs x and y`).
    pub fn validate(&self, number: usize) -> Result<(), String> {
        let kind = self.kind.as_str();
        let fail = |problem: String| Err(format!("plot {number}: {problem}"));
        let unused = |field: &str, present: bool| {
            if present {
                Err(format!("plot {number}: {kind} does not use `{field}`"))
            } else {
                Ok(())
            }
        };
        if self.title.trim().is_empty() {
            return fail("title is empty".to_owned());
        }
        match self.kind {
            PlotKind::Histogram => {
                if self.stat.is_none() {
                    return fail("histogram needs stat".to_owned());
                }
                unused("x", self.x.is_some())?;
                unused("y", self.y.is_some())?;
                unused("stats", self.stats.is_some())?;
            }
            PlotKind::Scatter | PlotKind::Line => {
                if self.x.is_none() || self.y.is_none() {
                    return fail(format!("{kind} needs x and y"));
                }
                unused("stat", self.stat.is_some())?;
                unused("stats", self.stats.is_some())?;
                unused("bins", self.bins.is_some())?;
            }
            PlotKind::Box => {
                match (&self.stat, &self.stats) {
                    (None, None) => return fail("box needs stat or stats".to_owned()),
                    (Some(_), Some(_)) => {
                        return fail("box takes stat or stats, not both".to_owned())
                    }
                    (None, Some(stats)) if stats.is_empty() => {
                        return fail("box needs at least one of stats".to_owned())
                    }
                    _ => {}
                }
                unused("x", self.x.is_some())?;
                unused("y", self.y.is_some())?;
                unused("bins", self.bins.is_some())?;
            }
        }
        let names = [&self.stat, &self.x, &self.y];
        let listed = self.stats.iter().flatten();
        if names
            .into_iter()
            .flatten()
            .chain(listed)
            .any(|s| s.trim().is_empty())
        {
            return fail("a statistic name is empty".to_owned());
        }
        if let Some(bins) = self.bins {
            if bins == 0 || bins > MAX_BINS {
                return fail(format!("bins must be 1 to {MAX_BINS}, not {bins}"));
            }
        }
        if let Some(name) = &self.name {
            let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
            if name.is_empty() || name.starts_with('.') || !name.chars().all(allowed) {
                return fail(format!(
                    "name '{name}' must be letters, digits, '.', '_' or '-', not starting with '.'"
                ));
            }
        }
        Ok(())
    }

    /// Base name of the chart's files (without `.png`/`.svg`).
    pub fn file_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        let subject = match self.kind {
            PlotKind::Histogram => self.stat.clone().unwrap_or_default(),
            PlotKind::Scatter | PlotKind::Line => format!(
                "{}_vs_{}",
                self.y.as_deref().unwrap_or_default(),
                self.x.as_deref().unwrap_or_default()
            ),
            PlotKind::Box => match (&self.stats, &self.stat) {
                (Some(stats), _) => stats.join("_"),
                (None, stat) => stat.clone().unwrap_or_default(),
            },
        };
        sanitize(&format!("{}_{subject}", self.kind.as_str()))
    }
}

/// Validates every spec ([`PlotSpec::validate`], numbered from 1) and that no
/// two charts write the same files.
pub fn validate_plots(specs: &[PlotSpec]) -> Result<(), String> {
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (at, spec) in specs.iter().enumerate() {
        let number = at + 1;
        spec.validate(number)?;
        let name = spec.file_name();
        if name == TIMINGS_CHART || name == FAILURES_CHART || name.starts_with(HISTOGRAM_PREFIX) {
            return Err(format!(
                "plot {number}: name '{name}' is taken by a built-in chart (timings, failures, hist_*)"
            ));
        }
        if let Some(first) = names.insert(name.clone(), number) {
            return Err(format!(
                "plot {number}: writes '{name}' like plot {first}; set `name`"
            ));
        }
    }
    Ok(())
}

/// The `(x, y)` pairs that the scatter and line specs need: pass each to
/// [`stats::Aggregator::track_pair`] before aggregating.
pub fn pairs_needed(specs: &[PlotSpec]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for spec in specs {
        if let (PlotKind::Scatter | PlotKind::Line, Some(x), Some(y)) =
            (spec.kind, &spec.x, &spec.y)
        {
            let pair = (x.clone(), y.clone());
            if !pairs.contains(&pair) {
                pairs.push(pair);
            }
        }
    }
    pairs
}

/// Why charts could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The plots folder could not be made or a file could not be written.
    #[error(transparent)]
    Write(#[from] StatsError),
    /// plotters or the PNG encoder failed.
    #[error("{}: {message}", path.display())]
    Draw {
        /// The file being drawn.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// What [`render_all`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RenderedPlots {
    /// Every file written, PNG and SVG.
    pub files: Vec<PathBuf>,
    /// Charts drawn without data, one line each (e.g. an unknown statistic).
    pub warnings: Vec<String>,
}

/// Base name of the wall-time chart.
pub const TIMINGS_CHART: &str = "timings";
/// Base name of the failures chart.
pub const FAILURES_CHART: &str = "failures";
/// Prefix of the automatic histogram charts.
pub const HISTOGRAM_PREFIX: &str = "hist_";

/// Draws every chart into `DIR/plots/`: the histograms, `timings`,
/// `failures` and one per spec (validated beforehand by [`validate_plots`]).
pub fn render_all(
    dir: &Path,
    statistics: &Statistics,
    timings: &Timings,
    specs: &[PlotSpec],
) -> Result<RenderedPlots, PlotError> {
    let plots = dir.join(PLOTS_DIR);
    fs::create_dir_all(&plots).map_err(|source| StatsError::Io {
        path: plots.clone(),
        source,
    })?;
    let mut rendered = RenderedPlots::default();
    let drawn = distributions_drawn(specs);
    for (stat, values) in &statistics.values {
        let name = format!("{HISTOGRAM_PREFIX}{}", sanitize(stat));
        if drawn.contains(stat.as_str()) {
            // Said once, by the config's chart; an older pass's copy goes.
            for extension in ["png", "svg"] {
                let _ = fs::remove_file(plots.join(format!("{name}.{extension}")));
            }
            continue;
        }
        let chart = histogram(
            &stat_title(stat),
            stat,
            "samples",
            values,
            non_finite(statistics, stat),
            None,
        );
        rendered.write(&plots, &name, &chart, true)?;
    }
    let chart = timing_boxes(statistics, timings);
    // No timings (nothing ran yet) and no failures are news, not problems.
    rendered.write(&plots, TIMINGS_CHART, &chart, false)?;
    rendered.write(&plots, FAILURES_CHART, &failure_bars(statistics), false)?;
    for spec in specs {
        rendered.write(
            &plots,
            &spec.file_name(),
            &spec_chart(spec, statistics),
            true,
        )?;
    }
    Ok(rendered)
}

/// The statistics whose distribution a config chart draws (a histogram or
/// a box of it): they get no `hist_<stat>` chart of their own. Scatter and
/// line charts show a relation, not a distribution, so they do not count.
pub fn distributions_drawn(specs: &[PlotSpec]) -> std::collections::BTreeSet<&str> {
    specs
        .iter()
        .filter(|spec| matches!(spec.kind, PlotKind::Histogram | PlotKind::Box))
        .flat_map(|spec| spec.stat.iter().chain(spec.stats.iter().flatten()))
        .map(String::as_str)
        .collect()
}

impl RenderedPlots {
    /// Writes `name.png` and `name.svg`; a chart without data is a warning
    /// if `warn`.
    fn write(
        &mut self,
        plots: &Path,
        name: &str,
        chart: &Chart,
        warn: bool,
    ) -> Result<(), PlotError> {
        if let (Chart::Message { title, message }, true) = (chart, warn) {
            self.warnings.push(format!("{name}: {title}: {message}"));
        }
        let png = plots.join(format!("{name}.png"));
        let bytes = png_bytes(chart).map_err(|message| PlotError::Draw {
            path: png.clone(),
            message,
        })?;
        stats::write_atomic(&png, &bytes)?;
        let svg = plots.join(format!("{name}.svg"));
        let text = svg_text(chart).map_err(|message| PlotError::Draw {
            path: svg.clone(),
            message,
        })?;
        stats::write_atomic(&svg, text.as_bytes())?;
        self.files.push(png);
        self.files.push(svg);
        Ok(())
    }
}

fn non_finite(statistics: &Statistics, stat: &str) -> u64 {
    statistics
        .summary
        .numbers
        .get(stat)
        .map_or(0, |n| n.non_finite)
}

fn stat_title(stat: &str) -> String {
    format!("Distribution of {stat}")
}

/// A file-name-safe form: anything but letters, digits, `.`, `_`, `-` becomes `_`.
pub(crate) fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What to draw, computed from the data; drawn by [`draw`] on any backend.
#[derive(Clone, Debug, PartialEq)]
enum Chart {
    /// No data: the title and a sentence in the middle.
    Message { title: String, message: String },
    /// Vertical bars over a numeric x: `(from, to, count)`.
    Histogram {
        title: String,
        x_label: String,
        y_label: String,
        bins: Vec<(f64, f64, u64)>,
    },
    /// Box plots side by side; with `log`, the boxes hold `log10` values.
    Boxes {
        title: String,
        y_label: String,
        boxes: Vec<BoxData>,
        log: bool,
    },
    /// Dots, or a line through them.
    Points {
        title: String,
        x_label: String,
        y_label: String,
        points: Vec<(f64, f64)>,
        joined: bool,
    },
    /// Horizontal bars, top to bottom: `(label, count, color)`.
    Ranking {
        title: String,
        x_label: String,
        rows: Vec<(String, u64, usize)>,
    },
}

/// One box: quartiles, Tukey whiskers (the furthest values within 1.5 IQR)
/// and some outliers.
#[derive(Clone, Debug, PartialEq)]
struct BoxData {
    label: String,
    q1: f64,
    median: f64,
    q3: f64,
    low: f64,
    high: f64,
    outliers: Vec<f64>,
}

impl BoxData {
    /// From ascending, finite, non-empty values.
    fn of(label: String, sorted: &[f64]) -> Self {
        let at = |p| stats::percentile(sorted, p).unwrap_or(0.0);
        let (q1, median, q3) = (at(25.0), at(50.0), at(75.0));
        let reach = 1.5 * (q3 - q1);
        let first_in = sorted.partition_point(|&v| v < q1 - reach);
        let end_in = sorted.partition_point(|&v| v <= q3 + reach);
        let (below, above) = (&sorted[..first_in], &sorted[end_in..]);
        let mut outliers = thin(below, MAX_OUTLIERS);
        outliers.extend(thin(above, MAX_OUTLIERS));
        Self {
            label,
            q1,
            median,
            q3,
            low: sorted.get(first_in).copied().unwrap_or(q1),
            high: end_in
                .checked_sub(1)
                .and_then(|i| sorted.get(i))
                .copied()
                .unwrap_or(q3),
            outliers,
        }
    }

    fn extent(&self) -> (f64, f64) {
        self.outliers
            .iter()
            .fold((self.low, self.high), |(lo, hi), &v| (lo.min(v), hi.max(v)))
    }
}

/// At most `most` items, evenly spaced, always keeping the first and last.
fn thin<T: Copy>(items: &[T], most: usize) -> Vec<T> {
    if items.len() <= most || most < 2 {
        return items.iter().take(most).copied().collect();
    }
    let last = items.len() - 1;
    (0..most).map(|i| items[i * last / (most - 1)]).collect()
}

fn message(title: &str, message: String) -> Chart {
    Chart::Message {
        title: title.to_owned(),
        message,
    }
}

/// A histogram of ascending finite `values`; integers spanning at most 60
/// get one bar each unless `bins` is given.
fn histogram(
    title: &str,
    x_label: &str,
    y_label: &str,
    values: &[f64],
    non_finite: u64,
    bins: Option<usize>,
) -> Chart {
    let skipped = if non_finite > 0 {
        format!("; {} NaN/inf skipped", thousands(non_finite))
    } else {
        String::new()
    };
    let bins = match histogram_bins(values, bins) {
        Ok(bins) => bins,
        Err(BinError::NoValues) => {
            return message(title, format!("No finite values of {x_label}{skipped}"))
        }
        Err(BinError::TooWide) => {
            return message(title, format!("The range of {x_label} is too wide to bin"))
        }
    };
    Chart::Histogram {
        title: title.to_owned(),
        x_label: format!(
            "{x_label}   (n = {}{skipped})",
            thousands(values.len() as u64)
        ),
        y_label: y_label.to_owned(),
        bins,
    }
}

/// Why [`histogram_bins`] has no bins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinError {
    /// No values.
    NoValues,
    /// The range overflows `f64` when divided into bins.
    TooWide,
}

/// The bins `(from, to, count)` of the histograms of ascending finite
/// `values`, as `hist_*` charts draw them (and `report.html` beside each
/// statistic): integers spanning at most 60 get one bar each unless `bins`
/// is given, else `bins` or `2 * cbrt(n)` (5 to 50) equal bins.
pub(crate) fn histogram_bins(
    values: &[f64],
    bins: Option<usize>,
) -> Result<Vec<(f64, f64, u64)>, BinError> {
    let (Some(&lo), Some(&hi)) = (values.first(), values.last()) else {
        return Err(BinError::NoValues);
    };
    let integers = values.iter().all(|v| v.fract() == 0.0);
    let edges: Vec<f64> = if integers && hi - lo <= 60.0 && bins.is_none() {
        (0..=(hi - lo) as usize + 1)
            .map(|i| lo - 0.5 + i as f64)
            .collect()
    } else if hi > lo {
        let default = (2.0 * (values.len() as f64).cbrt()).ceil() as usize;
        let count = bins.unwrap_or(default.clamp(5, 50));
        let width = (hi - lo) / count as f64;
        if !width.is_finite() || width <= 0.0 {
            return Err(BinError::TooWide);
        }
        (0..=count)
            .map(|i| {
                if i == count {
                    hi
                } else {
                    lo + width * i as f64
                }
            })
            .collect()
    } else {
        let half = if lo == 0.0 { 0.5 } else { lo.abs() * 0.05 };
        vec![lo - half, lo + half]
    };
    let mut counts = vec![0u64; edges.len() - 1];
    let mut bin = 0;
    for &value in values {
        while bin + 1 < counts.len() && value >= edges[bin + 1] {
            bin += 1;
        }
        counts[bin] += 1;
    }
    Ok(edges
        .windows(2)
        .zip(counts)
        .map(|(e, c)| (e[0], e[1], c))
        .collect())
}

fn timing_boxes(statistics: &Statistics, timings: &Timings) -> Chart {
    let title = "Wall time per block";
    let chain = statistics.summary.blocks.iter().map(|b| &b.name);
    let others = timings
        .seconds
        .keys()
        .filter(|name| !statistics.summary.blocks.iter().any(|b| &&b.name == name));
    let series: Vec<(&String, &Vec<f64>)> = chain
        .chain(others)
        .filter_map(|name| Some((name, timings.seconds.get(name).filter(|s| !s.is_empty())?)))
        .collect();
    if series.is_empty() {
        return message(
            title,
            format!("No timings recorded under {}", stats::RUNS_DIR),
        );
    }
    // Blocks of very different speeds share a readable axis on a log scale.
    let fastest = series.iter().map(|s| s.1[0]).fold(f64::INFINITY, f64::min);
    let slowest = series
        .iter()
        .map(|s| s.1[s.1.len() - 1])
        .fold(0.0, f64::max);
    let log = fastest > 0.0 && slowest / fastest >= LOG_SCALE_RATIO;
    let boxes = series
        .into_iter()
        .map(|(name, seconds)| {
            let label = format!("{} (n={})", truncate(name), thousands(seconds.len() as u64));
            if log {
                let logs: Vec<f64> = seconds.iter().map(|s| s.log10()).collect();
                BoxData::of(label, &logs)
            } else {
                BoxData::of(label, seconds)
            }
        })
        .collect();
    let scale = if log { ", log scale" } else { "" };
    Chart::Boxes {
        title: title.to_owned(),
        y_label: format!("seconds (last attempt per sample{scale})"),
        boxes,
        log,
    }
}

fn failure_bars(statistics: &Statistics) -> Chart {
    let title = "Failures per block and reason";
    let mut rows: Vec<(String, u64, usize)> = Vec::new();
    for (color, block) in statistics.summary.blocks.iter().enumerate() {
        let mut reasons: Vec<(&String, &u64)> = block.failures.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        rows.extend(
            reasons
                .into_iter()
                .map(|(reason, &count)| (format!("{}: {reason}", block.name), count, color)),
        );
    }
    if rows.is_empty() {
        let seen = thousands(statistics.summary.samples.seen);
        return message(title, format!("No failures in {seen} samples"));
    }
    if rows.len() > MAX_FAILURE_ROWS {
        let rest: u64 = rows[MAX_FAILURE_ROWS - 1..].iter().map(|r| r.1).sum();
        let reasons = rows.len() - (MAX_FAILURE_ROWS - 1);
        rows.truncate(MAX_FAILURE_ROWS - 1);
        rows.push((format!("{reasons} other reasons"), rest, PALETTE.len()));
    }
    for row in &mut rows {
        row.0 = truncate(&row.0);
    }
    Chart::Ranking {
        title: title.to_owned(),
        x_label: "samples".to_owned(),
        rows,
    }
}

fn spec_chart(spec: &PlotSpec, statistics: &Statistics) -> Chart {
    let title = spec.title.as_str();
    match spec.kind {
        PlotKind::Histogram => {
            let stat = spec.stat.as_deref().unwrap_or_default();
            let Some(values) = statistics.values(stat) else {
                return message(title, format!("No numeric values of {stat}"));
            };
            let x_label = spec.x_label.as_deref().unwrap_or(stat);
            let y_label = spec.y_label.as_deref().unwrap_or("samples");
            histogram(
                title,
                x_label,
                y_label,
                values,
                non_finite(statistics, stat),
                spec.bins,
            )
        }
        PlotKind::Box => {
            let stats: Vec<&String> = spec.stats.iter().flatten().chain(&spec.stat).collect();
            let mut missing = Vec::new();
            let mut boxes = Vec::new();
            for stat in stats {
                match statistics.values(stat).filter(|v| !v.is_empty()) {
                    Some(values) => {
                        let label =
                            format!("{} (n={})", truncate(stat), thousands(values.len() as u64));
                        boxes.push(BoxData::of(label, values));
                    }
                    None => missing.push(stat.as_str()),
                }
            }
            if boxes.is_empty() {
                return message(
                    title,
                    format!("No numeric values of {}", missing.join(", ")),
                );
            }
            let y_label = spec.y_label.clone().unwrap_or_else(|| "value".to_owned());
            Chart::Boxes {
                title: title.to_owned(),
                y_label,
                boxes,
                log: false,
            }
        }
        PlotKind::Scatter | PlotKind::Line => {
            let (x, y) = (
                spec.x.as_deref().unwrap_or_default(),
                spec.y.as_deref().unwrap_or_default(),
            );
            let Some(series) = statistics.pairs(x, y) else {
                return message(title, format!("Pairs of {x} and {y} were not collected"));
            };
            if series.points.is_empty() {
                return message(title, format!("No sample has numeric {x} and {y}"));
            }
            let joined = spec.kind == PlotKind::Line;
            let mut points = series.points.clone();
            if joined && x != SAMPLE_COLUMN {
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
            let shown = thin(&points, MAX_POINTS);
            let mut note = format!("n = {}", thousands(points.len() as u64));
            if shown.len() < points.len() {
                note.push_str(&format!(", {} shown", thousands(shown.len() as u64)));
            }
            let x_label = spec.x_label.as_deref().unwrap_or(x);
            Chart::Points {
                title: title.to_owned(),
                x_label: format!("{x_label}   ({note})"),
                y_label: spec.y_label.clone().unwrap_or_else(|| y.to_owned()),
                points: shown,
                joined,
            }
        }
    }
}

/// `label` cut to [`MAX_LABEL_CHARS`] with an ellipsis.
fn truncate(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label.to_owned();
    }
    let mut cut: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// `1234567` as `1,234,567`.
fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A count for an axis tick, in the unit the axis' `top` calls for:
/// `950`, `12k`, `1.5M`.
fn count_tick(value: u64, top: u64) -> String {
    match top {
        _ if value == 0 => "0".to_owned(),
        0..10_000 => value.to_string(),
        10_000..1_000_000 => trim_zeros(format!("{:.1}", value as f64 / 1e3)) + "k",
        _ => trim_zeros(format!("{:.2}", value as f64 / 1e6)) + "M",
    }
}

/// A value for an axis tick: at most 5 significant digits, exponent form
/// for very large or small magnitudes, no float noise.
fn value_tick(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude < 1e-12 {
        return "0".to_owned();
    }
    if !(1e-3..1e6).contains(&magnitude) {
        let text = format!("{value:.3e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        return format!("{}e{exponent}", trim_zeros(mantissa.to_owned()));
    }
    let decimals = (4 - magnitude.log10().floor() as i32).clamp(0, 7) as usize;
    trim_zeros(format!("{value:.decimals$}"))
}

/// `value` rounded to 2 significant digits (`3.1623` -> `3.2`).
fn round_to_two_digits(value: f64) -> f64 {
    format!("{value:.1e}").parse().unwrap_or(value)
}

fn trim_zeros(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// `(lo, hi)` widened by 5 % on each side, or around a single value.
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let span = hi - lo;
    if span > 0.0 && span.is_finite() {
        (lo - 0.05 * span, hi + 0.05 * span)
    } else if span > 0.0 {
        (lo, hi)
    } else {
        let half = if lo == 0.0 { 0.5 } else { lo.abs() * 0.05 };
        (lo - half, hi + half)
    }
}

fn ensure_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // The bytes are a valid TTF (checked by the tests), so this cannot fail.
        let _ = plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT);
    });
}

fn font(size: u32) -> TextStyle<'static> {
    (FONT_FAMILY, size).into_font().into()
}

fn png_bytes(chart: &Chart) -> Result<Vec<u8>, String> {
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

fn svg_text(chart: &Chart) -> Result<String, String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (WIDTH, HEIGHT)).into_drawing_area();
        draw(chart, &root)?;
        root.present().map_err(fail)?;
    }
    Ok(text)
}

fn fail(error: impl std::fmt::Display) -> String {
    error.to_string()
}

fn draw<DB: DrawingBackend>(chart: &Chart, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
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

fn draw_message<DB: DrawingBackend>(
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

fn builder<'a, 'b, DB: DrawingBackend>(
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

fn draw_histogram<DB: DrawingBackend>(
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

fn draw_boxes<DB: DrawingBackend>(
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

fn draw_points<DB: DrawingBackend>(
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

fn draw_ranking<DB: DrawingBackend>(
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
fn category(labels: &[String], at: f64) -> Option<String> {
    let index = at.round();
    if index < 0.0 || (at - index).abs() > 1e-9 {
        return None;
    }
    labels.get(index as usize).cloned()
}

fn text_width<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, text: &str, size: u32) -> u32 {
    root.estimate_text_size(text, &font(size))
        .map_or(u32::MAX, |(width, _)| width)
}

/// Fits category labels into `room` pixels each: all at the label size if
/// they fit, else at the small size, cutting (with `…`) those still too wide.
fn fit_labels<DB: DrawingBackend>(
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
struct CategoryAxis(usize);

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{StatValue, Stats};
    use crate::record::{BlockRecord, BlockStatus, SampleRecord, RECORD_FORMAT};
    use crate::state::BlockState;
    use crate::stats::Aggregator;

    fn spec(yaml: &str) -> PlotSpec {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn specs_are_validated_with_one_line_errors() {
        let good = spec("{type: scatter, x: scene.objects, y: render.seconds, title: T}");
        let no_y = spec("{type: scatter, x: scene.objects, title: T}");
        let error = validate_plots(&[good.clone(), no_y]).unwrap_err();
        assert_eq!(error, "plot 2: scatter needs x and y");
        let cases = [
            ("{type: histogram, title: T}", "plot 1: histogram needs stat"),
            ("{type: histogram, stat: a.b, x: a.c, title: T}", "plot 1: histogram does not use `x`"),
            ("{type: histogram, stat: a.b, bins: 0, title: T}", "plot 1: bins must be 1 to 1000, not 0"),
            ("{type: box, title: T}", "plot 1: box needs stat or stats"),
            ("{type: box, stats: [], title: T}", "plot 1: box needs at least one of stats"),
            ("{type: line, x: sample, y: a.b, bins: 3, title: T}", "plot 1: line does not use `bins`"),
            ("{type: line, x: sample, y: a.b, title: ' '}", "plot 1: title is empty"),
            ("{type: box, stat: a.b, title: T, name: ../x}", "plot 1: name '../x' must be letters, digits, '.', '_' or '-', not starting with '.'"),
            ("{type: box, stat: a.b, title: T, name: timings}", "plot 1: name 'timings' is taken by a built-in chart (timings, failures, hist_*)"),
        ];
        for (yaml, expected) in cases {
            assert_eq!(
                validate_plots(&[spec(yaml)]).unwrap_err(),
                expected,
                "{yaml}"
            );
        }
        let twice = validate_plots(&[good.clone(), good.clone()]).unwrap_err();
        assert_eq!(
            twice,
            "plot 2: writes 'scatter_render.seconds_vs_scene.objects' like plot 1; set `name`"
        );
        let unknown = serde_yaml::from_str::<PlotSpec>("{type: pie, stat: a, title: T}");
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("unknown variant `pie`"));
        let typo = serde_yaml::from_str::<PlotSpec>("{type: box, stat: a, titel: T}");
        assert!(typo
            .unwrap_err()
            .to_string()
            .contains("unknown field `titel`"));
        let line = spec("{type: line, x: sample, y: a.b, title: T}");
        assert_eq!(
            pairs_needed(&[good.clone(), line, good]),
            [
                ("scene.objects".to_owned(), "render.seconds".to_owned()),
                ("sample".to_owned(), "a.b".to_owned())
            ]
        );
    }

    #[test]
    fn ticks_and_counts_read_well() {
        let ticks = [
            (0.30000000000000004, "0.3"),
            (1e-13, "0"),
            (-2.5, "-2.5"),
            (1234.5678, "1234.6"),
            (2e6, "2e6"),
            (1.5e-5, "1.5e-5"),
            (100.0, "100"),
        ];
        for (value, text) in ticks {
            assert_eq!(value_tick(value), text);
        }
        let counts = [
            (950, 9_000, "950"),
            (0, 20_000, "0"),
            (5_000, 12_000, "5k"),
            (12_345, 20_000, "12.3k"),
            (1_500_000, 2_000_000, "1.5M"),
        ];
        for (value, top, text) in counts {
            assert_eq!(count_tick(value, top), text);
        }
        assert_eq!(round_to_two_digits(3.1623), 3.2);
        assert_eq!(round_to_two_digits(0.031623), 0.032);
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(thin(&[1, 2, 3, 4, 5, 6, 7], 3), [1, 4, 7]);
        assert_eq!(thin(&[1, 2], 3), [1, 2]);
    }

    #[test]
    fn histogram_bins_cover_every_value() {
        let integers: Vec<f64> = (0..100).map(|i| f64::from(i % 7)).collect();
        let mut sorted = integers.clone();
        sorted.sort_by(f64::total_cmp);
        let Chart::Histogram { bins, x_label, .. } =
            histogram("t", "s", "samples", &sorted, 3, None)
        else {
            panic!("no histogram");
        };
        assert_eq!(bins.len(), 7);
        assert_eq!((bins[0].0, bins[6].1), (-0.5, 6.5));
        assert_eq!(bins.iter().map(|b| b.2).sum::<u64>(), 100);
        assert_eq!(x_label, "s   (n = 100; 3 NaN/inf skipped)");
        let spread: Vec<f64> = (0..1000).map(|i| f64::from(i) / 10.0).collect();
        let Chart::Histogram { bins, .. } = histogram("t", "s", "samples", &spread, 0, Some(10))
        else {
            panic!("no histogram");
        };
        assert_eq!(bins.iter().map(|b| b.2).collect::<Vec<_>>(), [100; 10]);
        let one = histogram("t", "s", "samples", &[0.25], 0, None);
        assert!(matches!(&one, Chart::Histogram { bins, .. } if bins.len() == 1 && bins[0].2 == 1));
        let none = histogram("t", "s", "samples", &[], 4, None);
        assert_eq!(
            none,
            message("t", "No finite values of s; 4 NaN/inf skipped".to_owned())
        );
        let wide = histogram("t", "s", "samples", &[-1e308, 1e308], 0, None);
        assert_eq!(
            wide,
            message("t", "The range of s is too wide to bin".to_owned())
        );
    }

    /// A dataset with every awkward case: integers, a long tail, one value,
    /// equal values, only NaN, text, failures with many reasons.
    fn awkward_statistics(dir: &Path, samples: u64) -> Statistics {
        let blocks = ["scene".to_owned(), "render".to_owned()];
        let mut aggregator = Aggregator::new(dir, &blocks).unwrap();
        for (x, y) in pairs_needed(&review_specs()) {
            aggregator.track_pair(&x, &y);
        }
        for sample in 0..samples {
            let mut scene = Stats::new();
            scene.insert("objects".into(), StatValue::from(sample % 9));
            let area = (sample as f64 * 0.37).sin() * 50.0 + (sample % 9) as f64 * 20.0;
            scene.insert("area".into(), StatValue::from(area));
            scene.insert("kind".into(), StatValue::from("cube"));
            let mut render = Stats::new();
            render.insert(
                "seconds".into(),
                StatValue::from(0.5 + 100.0 / (sample as f64 + 3.0)),
            );
            render.insert("equal".into(), StatValue::from(7.0));
            render.insert("nan".into(), StatValue::from(f64::NAN));
            if sample == 3 {
                render.insert("once".into(), StatValue::from(42.0));
            }
            let state = match sample % 10 {
                1 => BlockState::Failed(format!("exit code {}", sample % 23)),
                2 => BlockState::Rejected(
                    "object fully hidden behind the camera near plane, so nothing to see".into(),
                ),
                _ => BlockState::Complete,
            };
            let record = SampleRecord {
                format: RECORD_FORMAT,
                sample,
                blocks: vec![
                    BlockRecord {
                        name: "scene".into(),
                        fingerprint: String::new(),
                        status: BlockStatus::Ok,
                        reason: None,
                        stats: scene,
                    },
                    BlockRecord {
                        name: "render".into(),
                        fingerprint: String::new(),
                        status: BlockStatus::Ok,
                        reason: None,
                        stats: render,
                    },
                ],
            };
            aggregator
                .add(sample, &[BlockState::Complete, state], Some(&record))
                .unwrap();
        }
        aggregator.finish().unwrap()
    }

    fn review_specs() -> Vec<PlotSpec> {
        [
            "{type: scatter, x: scene.objects, y: scene.area, title: Area by object count}",
            "{type: line, x: sample, y: render.seconds, title: Render time over the dataset, y_label: seconds}",
            "{type: box, stats: [scene.area, render.seconds, render.once, render.equal], title: Several statistics}",
            "{type: histogram, stat: render.seconds, bins: 12, title: Render seconds (12 bins), name: render_seconds}",
            "{type: histogram, stat: render.missing, title: A statistic nobody records}",
        ]
        .iter()
        .map(|yaml| spec(yaml))
        .collect()
    }

    fn review_timings() -> Timings {
        let mut timings = Timings::default();
        let mut scene: Vec<f64> = (0..5000)
            .map(|i| 0.01 + f64::from(i % 100) * 0.0004)
            .collect();
        scene.sort_by(f64::total_cmp);
        let mut render: Vec<f64> = (0..5000)
            .map(|i| 0.5 + f64::from(i % 50) * 0.05 + if i % 97 == 0 { 4.0 } else { 0.0 })
            .collect();
        render.sort_by(f64::total_cmp);
        timings.seconds.insert("scene".into(), scene);
        timings.seconds.insert("render".into(), render);
        timings
    }

    fn assert_chart_files(plots: &Path, name: &str, title: &str) {
        let png = fs::read(plots.join(format!("{name}.png"))).unwrap();
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{name}.png signature"
        );
        let mut reader = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(
            (info.width, info.height),
            (WIDTH, HEIGHT),
            "{name}.png size"
        );
        // Not blank: some pixels are dark (text, axes).
        assert!(
            pixels
                .chunks(3)
                .filter(|p| p.iter().all(|&c| c < 100))
                .count()
                > 200,
            "{name}.png is blank"
        );
        let svg = fs::read_to_string(plots.join(format!("{name}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg"),
            "{name}.svg starts with {:?}",
            &svg[..20.min(svg.len())]
        );
        assert!(svg.contains(title), "{name}.svg lacks its title {title:?}");
    }

    #[test]
    fn every_chart_renders_to_valid_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let statistics = awkward_statistics(dir.path(), 400);
        let specs = review_specs();
        validate_plots(&specs).unwrap();
        let rendered = render_all(dir.path(), &statistics, &review_timings(), &specs).unwrap();
        let plots = dir.path().join(PLOTS_DIR);
        for (name, title) in [
            ("hist_scene.objects", "Distribution of scene.objects"),
            ("hist_render.nan", "Distribution of render.nan"),
            ("timings", "Wall time per block"),
            ("failures", "Failures per block and reason"),
            (
                "scatter_scene.area_vs_scene.objects",
                "Area by object count",
            ),
            (
                "line_render.seconds_vs_sample",
                "Render time over the dataset",
            ),
            (
                "box_scene.area_render.seconds_render.once_render.equal",
                "Several statistics",
            ),
            ("render_seconds", "Render seconds (12 bins)"),
            ("histogram_render.missing", "A statistic nobody records"),
        ] {
            assert_chart_files(&plots, name, title);
        }
        // The box and histogram specs draw scene.area, render.seconds,
        // render.once and render.equal: no hist_ chart says it again.
        for stat in [
            "scene.area",
            "render.seconds",
            "render.once",
            "render.equal",
        ] {
            assert!(!plots.join(format!("hist_{stat}.png")).exists(), "{stat}");
            assert!(!plots.join(format!("hist_{stat}.svg")).exists(), "{stat}");
        }
        // 2 undrawn numeric stats + timings + failures + 5 specs, twice each.
        assert_eq!(rendered.files.len(), 2 * (2 + 2 + 5));
        assert_eq!(
            rendered.warnings,
            [
                "hist_render.nan: Distribution of render.nan: No finite values of render.nan; 320 NaN/inf skipped",
                "histogram_render.missing: A statistic nobody records: No numeric values of render.missing",
            ]
        );
        let leftovers = fs::read_dir(&plots)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    fn empty_dataset_renders_messages() {
        let dir = tempfile::tempdir().unwrap();
        let statistics = Aggregator::new(dir.path(), &["a".to_owned()])
            .unwrap()
            .finish()
            .unwrap();
        let rendered = render_all(dir.path(), &statistics, &Timings::default(), &[]).unwrap();
        assert_eq!(rendered.files.len(), 4);
        assert_eq!(rendered.warnings, Vec::<String>::new());
        let plots = dir.path().join(PLOTS_DIR);
        assert_chart_files(&plots, "failures", "No failures in 0 samples");
        assert_chart_files(
            &plots,
            "timings",
            "No timings recorded under .shardgen/runs",
        );
    }

    /// Awkward data (NaN, single values, huge counts, long labels, no data at
    /// all) renders without failing. Set `SHARDGEN_PLOT_REVIEW=DIR` to keep
    /// the charts in DIR for a person to look at.
    #[test]
    fn awkward_data_renders() {
        let temp = tempfile::tempdir().unwrap();
        let dir = std::env::var_os("SHARDGEN_PLOT_REVIEW")
            .map_or_else(|| temp.path().to_path_buf(), std::path::PathBuf::from);
        fs::create_dir_all(&dir).unwrap();
        let statistics = awkward_statistics(&dir, 20_000);
        let rendered = render_all(&dir, &statistics, &review_timings(), &review_specs()).unwrap();
        assert!(rendered.files.len() >= 10, "{:?}", rendered.files);
        let empty = dir.join("empty");
        fs::create_dir_all(&empty).unwrap();
        let statistics = Aggregator::new(&empty, &["a".to_owned()])
            .unwrap()
            .finish()
            .unwrap();
        render_all(&empty, &statistics, &Timings::default(), &[]).unwrap();
    }
}
