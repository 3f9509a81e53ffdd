//! Summaries of numbers and texts: what `statistics.yaml` says about each
//! statistic and each block, with the rounding that keeps it deterministic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::dataset::state::BlockCounts;
use crate::statistics::moments::Moments;
use crate::statistics::sketch::{Ranked, Sketch};

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
/// `null` when no finite value was seen. Percentiles are exact while the
/// statistic has at most 4,096 distinct values, and within 0.195 % beyond
/// ([`crate::statistics::sketch`]); count, mean, std, min and max are exact
/// (up to floating-point rounding).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct NumberSummary {
    /// Number of finite values.
    pub count: u64,
    /// Number of NaN or infinite values, left out of everything else.
    pub non_finite: u64,
    /// Arithmetic mean (a compensated sum in sample order, divided by `count`).
    pub mean: Option<f64>,
    /// Population standard deviation (divides by `count`, numpy's `ddof=0`;
    /// Welford's update in sample order).
    pub std: Option<f64>,
    /// Smallest value.
    pub min: Option<f64>,
    /// 5th percentile (linear interpolation between closest ranks, see
    /// [`Ranked::percentile`]).
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
    /// Summarizes the finite values seen by `moments` and `sketch` (the same
    /// values) and the count of the others.
    pub(crate) fn of(moments: &Moments, sketch: &Sketch, non_finite: u64) -> Self {
        let at = |p| sketch.percentile(p).map(round_significant);
        Self {
            count: moments.count(),
            non_finite,
            mean: moments.mean().map(round_significant),
            std: moments.std().map(round_significant),
            min: at(0.0),
            p5: at(5.0),
            p25: at(25.0),
            p50: at(50.0),
            p75: at(75.0),
            p95: at(95.0),
            max: at(100.0),
        }
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
    /// Complete samples where both are finite numbers.
    pub count: u64,
    /// The pairs of those samples, in sample order: all of them up to
    /// [`crate::statistics::point_sample::MAX_POINTS`], else that many chosen
    /// by a hash of the sample id ([`crate::statistics::point_sample`]).
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
    /// Distribution of the finite values of every numeric statistic.
    pub values: BTreeMap<String, Sketch>,
    /// The tracked pairs, in the order they were asked for.
    pub pairs: Vec<PairSeries>,
}

impl Statistics {
    /// The distribution of numeric statistic `stat`.
    pub(crate) fn values(&self, stat: &str) -> Option<&Sketch> {
        self.values.get(stat)
    }

    /// The pairs of `(x, y)`, if [`Aggregator::track_pair`] asked for them.
    pub(crate) fn pairs(&self, x: &str, y: &str) -> Option<&PairSeries> {
        self.pairs.iter().find(|p| p.x == x && p.y == y)
    }
}
