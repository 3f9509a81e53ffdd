//! Summaries of numbers and texts: what `statistics.yaml` says about each
//! statistic and each block, with the rounding that keeps it deterministic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dataset::state::BlockCounts;

/// Format version of `statistics.yaml` and `timings.yaml`.
pub(crate) const STATISTICS_FORMAT: u32 = 1;
/// The pseudo-statistic naming the sample id, usable as the `x` of a pair.
pub(crate) const SAMPLE_COLUMN: &str = "sample";

/// Spool of CSV rows (plus `-<pid>`), written next to the final table and
/// removed at the end.
pub(crate) const ROWS_SPOOL: &str = ".statistics.csv.rows.tmp";
/// Most distinct text values per statistic and failure reasons per block;
/// the rest are counted under [`OTHER_VALUES`] / [`OTHER_REASONS`].
pub(crate) const MAX_DISTINCT: usize = 1000;
/// Key counting the text values beyond [`MAX_DISTINCT`].
pub(crate) const OTHER_VALUES: &str = "(other values)";
/// Key counting the failure reasons beyond [`MAX_DISTINCT`].
pub(crate) const OTHER_REASONS: &str = "(other reasons)";
/// Significant digits kept for every float of the YAML summaries.
const SIGNIFICANT_DIGITS: usize = 9;

/// Rounds to 9 significant digits (decimal, correctly rounded), so that the
/// YAML shows `0.3` rather than `0.30000000000000004`; integers below 10^9
/// stay exact. Negative zero becomes zero; NaN and infinities pass through.
pub(crate) fn round_significant(value: f64) -> f64 {
    if !value.is_finite() {
        return value;
    }
    let rounded: f64 = format!("{value:.*e}", SIGNIFICANT_DIGITS - 1)
        .parse()
        .unwrap_or(value);
    if rounded == 0.0 {
        0.0
    } else {
        rounded
    }
}

/// The `p`-th percentile (`0.0..=100.0`) of ascending `sorted` values by
/// linear interpolation between closest ranks (numpy's and pandas' default);
/// `None` when there are no values.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = p.clamp(0.0, 100.0) / 100.0 * last as f64;
    let lower = rank.floor() as usize;
    let upper = (lower + 1).min(last);
    let fraction = rank - lower as f64;
    Some(sorted[lower] + fraction * (sorted[upper] - sorted[lower]))
}

/// Counts of outcomes of one block over the samples given to the aggregator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct BlockSummary {
    /// The block's name in the pipeline.
    pub name: String,
    /// Its counts over the samples seen, as `analyze` counts them.
    #[serde(flatten)]
    pub counts: BlockCounts,
    /// `failed` split by kind of reason ([`crate::failures::reason_kind`]);
    /// rejections carry the prefix `rejected: `.
    pub failures: BTreeMap<String, u64>,
}

/// Number of samples seen and of complete samples.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct SampleCounts {
    /// Samples given to [`Aggregator::add`].
    pub seen: u64,
    /// Of those, samples on which every block is complete.
    pub complete: u64,
}

/// Distribution of one numeric statistic over the complete samples.
///
/// Floats are rounded by [`round_significant`]; the distribution fields are
/// `null` when no finite value was seen.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct NumberSummary {
    /// Number of finite values.
    pub count: u64,
    /// Number of NaN or infinite values, left out of everything else.
    pub non_finite: u64,
    /// Arithmetic mean (a plain sum in sample order, divided by `count`).
    pub mean: Option<f64>,
    /// Population standard deviation (divides by `count`, numpy's `ddof=0`).
    pub std: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// 5th percentile (linear interpolation, see [`percentile`]).
    pub p5: Option<f64>,
    /// 25th percentile.
    pub p25: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 75th percentile.
    pub p75: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// Largest value.
    pub max: Option<f64>,
}

impl NumberSummary {
    /// Summarizes `values` given in sample order (sorted in place).
    pub(crate) fn of(values: &mut [f64], non_finite: u64) -> Self {
        let count = values.len() as u64;
        let mut summary = Self {
            count,
            non_finite,
            ..Self::default()
        };
        if values.is_empty() {
            return summary;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        values.sort_unstable_by(f64::total_cmp);
        let at = |p| percentile(values, p).map(round_significant);
        summary.mean = Some(round_significant(mean));
        summary.std = Some(round_significant(variance.sqrt()));
        summary.min = at(0.0);
        summary.p5 = at(5.0);
        summary.p25 = at(25.0);
        summary.p50 = at(50.0);
        summary.p75 = at(75.0);
        summary.p95 = at(95.0);
        summary.max = at(100.0);
        summary
    }
}

/// Counts of the values of one text statistic over the complete samples.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct TextSummary {
    /// Number of values.
    pub count: u64,
    /// How often each value occurred.
    pub values: BTreeMap<String, u64>,
}

/// The content of `statistics.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct StatisticsSummary {
    /// [`STATISTICS_FORMAT`].
    pub format: u32,
    /// Samples seen and complete.
    pub samples: SampleCounts,
    /// Outcome counts per block, in chain order.
    pub blocks: Vec<BlockSummary>,
    /// Numeric statistics by `block.stat`. A stat that was sometimes a number
    /// and sometimes a text appears here and in `texts`.
    pub numbers: BTreeMap<String, NumberSummary>,
    /// Text statistics by `block.stat`.
    pub texts: BTreeMap<String, TextSummary>,
    /// Numeric statistics of rejected samples, by `block.stat` of the
    /// rejecting block: what a filter threw away, counted apart.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rejected_numbers: BTreeMap<String, NumberSummary>,
    /// Text statistics of rejected samples, by `block.stat`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rejected_texts: BTreeMap<String, TextSummary>,
}

/// Per-sample `(x, y)` pairs of two statistics, for scatter and line plots.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PairSeries {
    /// The statistic on the x axis ([`SAMPLE_COLUMN`] for the sample id).
    pub x: String,
    /// The statistic on the y axis.
    pub y: String,
    /// The pairs, in sample order, of complete samples where both are finite numbers.
    pub points: Vec<(f64, f64)>,
    /// Complete samples where one of the two is missing, a text or not finite.
    pub skipped: u64,
}

/// What [`Aggregator::finish`] returns: the summary it wrote and the values
/// the plots need.
#[derive(Clone, Debug, Default)]
pub(crate) struct Statistics {
    /// The content of `statistics.yaml`.
    pub summary: StatisticsSummary,
    /// Finite values of every numeric statistic, ascending.
    pub values: BTreeMap<String, Vec<f64>>,
    /// The tracked pairs, in the order they were asked for.
    pub pairs: Vec<PairSeries>,
}

impl Statistics {
    /// The finite values of numeric statistic `stat`, ascending.
    pub(crate) fn values(&self, stat: &str) -> Option<&[f64]> {
        self.values.get(stat).map(Vec::as_slice)
    }

    /// The pairs of `(x, y)`, if [`Aggregator::track_pair`] asked for them.
    pub(crate) fn pairs(&self, x: &str, y: &str) -> Option<&PairSeries> {
        self.pairs.iter().find(|p| p.x == x && p.y == y)
    }
}
