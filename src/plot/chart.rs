//! From data to charts: binning, boxes, thinning and ticks. A [`Chart`] says
//! what to draw; [`super::draw`] draws it on any plotters backend.

use crate::pipeline::plots::{PlotKind, PlotSpec};
use crate::statistics::sketch::{Ranked, Sketch};
use crate::statistics::summary::{Statistics, SAMPLE_COLUMN};
use crate::statistics::timings::Timings;

/// Most points a scatter or line chart draws; more are thinned evenly.
pub(super) const MAX_POINTS: usize = crate::statistics::point_sample::MAX_POINTS;
/// Most bars of the failures chart; the remaining reasons are summed up.
pub(super) const MAX_FAILURE_ROWS: usize = 20;
/// Most characters of a category label (block name, failure reason).
pub(super) const MAX_LABEL_CHARS: usize = 40;
/// Most outliers drawn at each end of a box.
pub(super) const MAX_OUTLIERS: usize = 50;
/// Slowest over fastest wall time from which the timings chart is log-scaled.
pub(super) const LOG_SCALE_RATIO: f64 = 100.0;

/// What to draw, computed from the data; drawn by [`draw`] on any backend.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Chart {
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
pub(super) struct BoxData {
    pub(super) label: String,
    pub(super) q1: f64,
    pub(super) median: f64,
    pub(super) q3: f64,
    pub(super) low: f64,
    pub(super) high: f64,
    pub(super) outliers: Vec<f64>,
}

impl BoxData {
    /// From finite, non-empty values read by rank (a sorted slice or a
    /// [`Sketch`]).
    fn of<R: Ranked + ?Sized>(label: String, sorted: &R) -> Self {
        let at = |p| sorted.percentile(p).unwrap_or(0.0);
        let (q1, median, q3) = (at(25.0), at(50.0), at(75.0));
        let reach = 1.5 * (q3 - q1);
        let count = sorted.count();
        let first_in = sorted.count_below(q1 - reach);
        let end_in = sorted.count_at_most(q3 + reach);
        let mut outliers: Vec<f64> = thin_ranks(0, first_in, MAX_OUTLIERS)
            .map(|rank| sorted.at(rank))
            .collect();
        outliers.extend(thin_ranks(end_in, count, MAX_OUTLIERS).map(|rank| sorted.at(rank)));
        Self {
            label,
            q1,
            median,
            q3,
            low: if first_in < count {
                sorted.at(first_in)
            } else {
                q1
            },
            high: match end_in.checked_sub(1) {
                Some(rank) if rank < count => sorted.at(rank),
                _ => q3,
            },
            outliers,
        }
    }

    pub(super) fn extent(&self) -> (f64, f64) {
        self.outliers
            .iter()
            .fold((self.low, self.high), |(lo, hi), &v| (lo.min(v), hi.max(v)))
    }
}

/// Colours of the series of a chart (the drawing's palette has this many).
pub(super) const PALETTE_LEN: usize = 6;

/// NaN and infinite values of `stat`, left out of its charts.
pub(super) fn non_finite(statistics: &Statistics, stat: &str) -> u64 {
    statistics
        .summary
        .numbers
        .get(stat)
        .map_or(0, |n| n.non_finite)
}

/// At most `most` items, evenly spaced, always keeping the first and last.
pub(super) fn thin<T: Copy>(items: &[T], most: usize) -> Vec<T> {
    thin_ranks(0, items.len() as u64, most)
        .map(|at| items[at as usize])
        .collect()
}

/// The ranks [`thin`] keeps of the items of ranks `start..end`.
fn thin_ranks(start: u64, end: u64, most: usize) -> impl Iterator<Item = u64> {
    let len = end.saturating_sub(start);
    let most = most as u64;
    let (shown, last) = if len <= most || most < 2 {
        (len.min(most), None)
    } else {
        (most, Some(len - 1))
    };
    (0..shown).map(move |i| match last {
        Some(last) => start + i * last / (most - 1),
        None => start + i,
    })
}

pub(super) fn message(title: &str, message: String) -> Chart {
    Chart::Message {
        title: title.to_owned(),
        message,
    }
}

/// A histogram of the finite `values`; integers spanning at most 60 get one
/// bar each unless `bins` is given.
pub(super) fn histogram(
    title: &str,
    x_label: &str,
    y_label: &str,
    values: &Sketch,
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
        x_label: format!("{x_label}   (n = {}{skipped})", thousands(values.len())),
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

/// The bins `(from, to, count)` of the histograms of the finite `values`,
/// as `hist_*` charts draw them (and `report.html` beside each statistic):
/// integers spanning at most 60 get one bar each unless `bins` is given,
/// else `bins` or `2 * cbrt(n)` (5 to 50) equal bins. Exact while the
/// sketch is; beyond, each value counts in the bin of its bucket's
/// representative (within 0.195 % of it).
pub(crate) fn histogram_bins(
    values: &Sketch,
    bins: Option<usize>,
) -> Result<Vec<(f64, f64, u64)>, BinError> {
    let (Some(lo), Some(hi)) = (values.min(), values.max()) else {
        return Err(BinError::NoValues);
    };
    let integers = values.all_integers();
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
    for (value, count) in values.runs() {
        while bin + 1 < counts.len() && value >= edges[bin + 1] {
            bin += 1;
        }
        counts[bin] += count;
    }
    Ok(edges
        .windows(2)
        .zip(counts)
        .map(|(e, c)| (e[0], e[1], c))
        .collect())
}

pub(super) fn timing_boxes(statistics: &Statistics, timings: &Timings) -> Chart {
    let title = "Wall time per block";
    let chain = statistics.summary.blocks.iter().map(|b| &b.name);
    let others = timings
        .seconds
        .keys()
        .filter(|name| !statistics.summary.blocks.iter().any(|b| &&b.name == name));
    let series: Vec<(&String, &Sketch)> = chain
        .chain(others)
        .filter_map(|name| Some((name, timings.seconds.get(name).filter(|s| !s.is_empty())?)))
        .collect();
    if series.is_empty() {
        return message(
            title,
            format!("No timings recorded under {}", ".shardgen/runs/"),
        );
    }
    // Blocks of very different speeds share a readable axis on a log scale.
    let fastest = series
        .iter()
        .filter_map(|s| s.1.min())
        .fold(f64::INFINITY, f64::min);
    let slowest = series.iter().filter_map(|s| s.1.max()).fold(0.0, f64::max);
    let log = fastest > 0.0 && slowest / fastest >= LOG_SCALE_RATIO;
    let boxes = series
        .into_iter()
        .map(|(name, seconds)| {
            let label = format!("{} (n={})", truncate(name), thousands(seconds.len()));
            if log {
                BoxData::of(label, &Log10(seconds))
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

/// The `log10` of positive values, read by rank (the logarithm keeps the
/// order).
struct Log10<'a>(&'a Sketch);

impl Ranked for Log10<'_> {
    fn count(&self) -> u64 {
        self.0.count()
    }

    fn at(&self, rank: u64) -> f64 {
        self.0.at(rank).log10()
    }

    fn count_below(&self, x: f64) -> u64 {
        let runs = self.0.runs().take_while(|(value, _)| value.log10() < x);
        runs.map(|(_, count)| count).sum()
    }

    fn count_at_most(&self, x: f64) -> u64 {
        let runs = self.0.runs().take_while(|(value, _)| value.log10() <= x);
        runs.map(|(_, count)| count).sum()
    }
}

pub(super) fn failure_bars(statistics: &Statistics) -> Chart {
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
        rows.push((format!("{reasons} other reasons"), rest, PALETTE_LEN));
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

pub(super) fn spec_chart(spec: &PlotSpec, statistics: &Statistics) -> Chart {
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
                        let label = format!("{} (n={})", truncate(stat), thousands(values.len()));
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
            let mut note = format!("n = {}", thousands(series.count));
            if (shown.len() as u64) < series.count {
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
pub(super) fn truncate(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label.to_owned();
    }
    let mut cut: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(value: u64) -> String {
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
pub(super) fn count_tick(value: u64, top: u64) -> String {
    match top {
        _ if value == 0 => "0".to_owned(),
        0..10_000 => value.to_string(),
        10_000..1_000_000 => trim_zeros(format!("{:.1}", value as f64 / 1e3)) + "k",
        _ => trim_zeros(format!("{:.2}", value as f64 / 1e6)) + "M",
    }
}

/// A value for an axis tick: at most 5 significant digits, exponent form
/// for very large or small magnitudes, no float noise.
pub(super) fn value_tick(value: f64) -> String {
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
pub(super) fn round_to_two_digits(value: f64) -> f64 {
    format!("{value:.1e}").parse().unwrap_or(value)
}

pub(super) fn trim_zeros(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// `(lo, hi)` widened by 5 % on each side, or around a single value.
pub(super) fn padded(lo: f64, hi: f64) -> (f64, f64) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
            histogram("t", "s", "samples", &Sketch::of(&sorted), 3, None)
        else {
            panic!("no histogram");
        };
        assert_eq!(bins.len(), 7);
        assert_eq!((bins[0].0, bins[6].1), (-0.5, 6.5));
        assert_eq!(bins.iter().map(|b| b.2).sum::<u64>(), 100);
        assert_eq!(x_label, "s   (n = 100; 3 NaN/inf skipped)");
        let spread: Vec<f64> = (0..1000).map(|i| f64::from(i) / 10.0).collect();
        let Chart::Histogram { bins, .. } =
            histogram("t", "s", "samples", &Sketch::of(&spread), 0, Some(10))
        else {
            panic!("no histogram");
        };
        assert_eq!(bins.iter().map(|b| b.2).collect::<Vec<_>>(), [100; 10]);
        let one = histogram("t", "s", "samples", &Sketch::of(&[0.25]), 0, None);
        assert!(matches!(&one, Chart::Histogram { bins, .. } if bins.len() == 1 && bins[0].2 == 1));
        let none = histogram("t", "s", "samples", &Sketch::new(), 4, None);
        assert_eq!(
            none,
            message("t", "No finite values of s; 4 NaN/inf skipped".to_owned())
        );
        let wide = histogram("t", "s", "samples", &Sketch::of(&[-1e308, 1e308]), 0, None);
        assert_eq!(
            wide,
            message("t", "The range of s is too wide to bin".to_owned())
        );
    }
}
