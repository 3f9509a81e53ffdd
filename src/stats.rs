//! The statistics pass: merges the per-sample statistics of a dataset folder
//! into `DIR/statistics.yaml` (summary), `DIR/statistics.csv` (one row per
//! complete sample) and the per-run timing logs into `DIR/timings.yaml`.
//!
//! # Use
//! 1. [`Aggregator::new`] with the block names in chain order, then
//!    [`Aggregator::track_pair`] for each pair of `plot::pairs_needed`.
//! 2. [`Aggregator::add`] once per sample folder, in increasing sample order,
//!    with the block states and the record as read from disk.
//! 3. [`Aggregator::finish`] writes the YAML and CSV and returns
//!    [`Statistics`].
//! 4. [`aggregate_timings`] reads `DIR/.shardgen/runs/*.timings.tsv`, writes
//!    `DIR/timings.yaml` and returns [`Timings`].
//! 5. `plot::render_all` draws the charts from both.
//!
//! # What is aggregated
//! Statistics come from complete samples only (every block
//! [`BlockState::Complete`]); a block `render`'s stat `objects` becomes the
//! column `render.objects`. Per-block outcome counts cover every sample given
//! to [`Aggregator::add`].
//!
//! # `statistics.csv`
//! Header `sample,<block.stat>...` (statistics sorted by name), then one row
//! per complete sample in sample order; incomplete samples have no row (their
//! outcomes are in `statistics.yaml`). Numbers are written in their shortest
//! round-trip form (`NaN`, `inf`, `-inf` for the others), a missing stat is an
//! empty cell, texts are quoted as RFC 4180 asks: `pandas.read_csv` reads the
//! file as is.
//!
//! # Determinism
//! `statistics.yaml` and `statistics.csv` depend only on the records, taken
//! in increasing sample order: no times, no hosts, maps are `BTreeMap`s, the
//! mean is a plain sum in sample order, and every float in the YAML is
//! rounded to 9 significant digits ([`round_significant`]), so one run over
//! samples `0..N` and shards merged by copying give byte-identical files.
//!
//! # Memory
//! One `f64` per finite numeric value (percentiles are exact: the values are
//! sorted at the end), one count per distinct text value, and, for tracked
//! pairs, two `f64` per complete sample. CSV rows are spooled to a temporary
//! file while the column set grows and copied under their header at the end.
//! Every file is written to a temporary name in its folder and renamed.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::block::StatValue;
use crate::record::SampleRecord;
use crate::state::BlockState;

/// File name of the statistics summary inside the dataset folder.
pub const STATISTICS_YAML: &str = "statistics.yaml";
/// File name of the per-sample statistics table inside the dataset folder.
pub const STATISTICS_CSV: &str = "statistics.csv";
/// File name of the per-block wall-time summary inside the dataset folder.
pub const TIMINGS_YAML: &str = "timings.yaml";
/// Folder, relative to the dataset folder, holding the per-run files.
pub const RUNS_DIR: &str = ".shardgen/runs";
/// Suffix of the per-run timing logs inside [`RUNS_DIR`].
pub const TIMINGS_SUFFIX: &str = ".timings.tsv";
/// Format version of `statistics.yaml` and `timings.yaml`.
pub const STATISTICS_FORMAT: u32 = 1;
/// The pseudo-statistic naming the sample id, usable as the `x` of a pair.
pub const SAMPLE_COLUMN: &str = "sample";
/// Prefix of the failure reason of a rejected block in [`BlockSummary::failures`].
pub const REJECTED_PREFIX: &str = "rejected: ";

/// Spool of CSV rows (plus `-<pid>`), written next to the final table and
/// removed at the end.
const ROWS_SPOOL: &str = ".statistics.csv.rows.tmp";
/// Most distinct text values per statistic and failure reasons per block;
/// the rest are counted under [`OTHER_VALUES`] / [`OTHER_REASONS`].
pub const MAX_DISTINCT: usize = 1000;
/// Key counting the text values beyond [`MAX_DISTINCT`].
pub const OTHER_VALUES: &str = "(other values)";
/// Key counting the failure reasons beyond [`MAX_DISTINCT`].
pub const OTHER_REASONS: &str = "(other reasons)";
/// Significant digits kept for every float of the YAML summaries.
const SIGNIFICANT_DIGITS: usize = 9;

/// Why the statistics pass could not go on.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A summary could not be serialized.
    #[error("{}: {source}", path.display())]
    Yaml {
        /// The file being written.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_yaml::Error,
    },
    /// [`Aggregator::add`] was called out of increasing sample order.
    #[error(
        "sample {sample} given after sample {previous}: samples must come in increasing order"
    )]
    OutOfOrder {
        /// The sample given.
        sample: u64,
        /// The sample given before it.
        previous: u64,
    },
    /// [`Aggregator::add`] got a state list of the wrong length.
    #[error("sample {sample}: {got} block states given for a pipeline of {expected} blocks")]
    StateCount {
        /// The sample given.
        sample: u64,
        /// The number of blocks of the pipeline.
        expected: usize,
        /// The number of states given.
        got: usize,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> StatsError + '_ {
    move |source| StatsError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes `bytes` to `path` atomically ([`crate::dataset::write_atomic`]).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StatsError> {
    crate::dataset::write_atomic(path, bytes).map_err(io_error(path))
}

fn write_yaml<T: Serialize>(path: &Path, value: &T) -> Result<(), StatsError> {
    let text = serde_yaml::to_string(value).map_err(|source| StatsError::Yaml {
        path: path.to_owned(),
        source,
    })?;
    write_atomic(path, text.as_bytes())
}

/// Rounds to 9 significant digits (decimal, correctly rounded), so that the
/// YAML shows `0.3` rather than `0.30000000000000004`; integers below 10^9
/// stay exact. Negative zero becomes zero; NaN and infinities pass through.
pub fn round_significant(value: f64) -> f64 {
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
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = p.clamp(0.0, 100.0) / 100.0 * last as f64;
    let lower = rank.floor() as usize;
    let upper = (lower + 1).min(last);
    let fraction = rank - lower as f64;
    Some(sorted[lower] + fraction * (sorted[upper] - sorted[lower]))
}

/// Counts of outcomes of one block over the samples given to the aggregator.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockSummary {
    /// The block's name in the pipeline.
    pub name: String,
    /// Samples on which the block is complete.
    pub complete: u64,
    /// Samples on which it failed or was rejected.
    pub failed: u64,
    /// Of `failed`, those rejected by validation.
    pub rejected: u64,
    /// Samples made by another version of the pipeline.
    pub stale: u64,
    /// Samples on which it never ran or whose outputs are gone.
    pub missing: u64,
    /// `failed` split by reason; rejections carry the prefix `rejected: `.
    pub failures: BTreeMap<String, u64>,
}

/// Number of samples seen and of complete samples.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SampleCounts {
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
pub struct NumberSummary {
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
    fn of(values: &mut [f64], non_finite: u64) -> Self {
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
pub struct TextSummary {
    /// Number of values.
    pub count: u64,
    /// How often each value occurred.
    pub values: BTreeMap<String, u64>,
}

/// The content of `statistics.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatisticsSummary {
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
}

/// Per-sample `(x, y)` pairs of two statistics, for scatter and line plots.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PairSeries {
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
pub struct Statistics {
    /// The content of `statistics.yaml`.
    pub summary: StatisticsSummary,
    /// Finite values of every numeric statistic, ascending.
    pub values: BTreeMap<String, Vec<f64>>,
    /// The tracked pairs, in the order they were asked for.
    pub pairs: Vec<PairSeries>,
}

impl Statistics {
    /// The finite values of numeric statistic `stat`, ascending.
    pub fn values(&self, stat: &str) -> Option<&[f64]> {
        self.values.get(stat).map(Vec::as_slice)
    }

    /// The pairs of `(x, y)`, if [`Aggregator::track_pair`] asked for them.
    pub fn pairs(&self, x: &str, y: &str) -> Option<&PairSeries> {
        self.pairs.iter().find(|p| p.x == x && p.y == y)
    }
}

/// One column of the table: a `block.stat` and the values seen so far.
struct Column {
    name: String,
    values: Vec<f64>,
    non_finite: u64,
    texts: BTreeMap<String, u64>,
    text_count: u64,
}

/// A block of the pipeline: its outcome counts and its stat-key → column map.
struct BlockTally {
    summary: BlockSummary,
    columns: HashMap<String, usize>,
}

/// A pair asked for, with its columns once they have been seen.
struct PairTrack {
    series: PairSeries,
    x: Option<usize>,
    y: Option<usize>,
}

/// Streaming aggregation of per-sample statistics, fed one sample at a time
/// in increasing sample order. See the [module docs](self).
pub struct Aggregator {
    dir: PathBuf,
    blocks: Vec<BlockTally>,
    columns: Vec<Column>,
    pairs: Vec<PairTrack>,
    samples: SampleCounts,
    previous: Option<u64>,
    spool_path: PathBuf,
    spool: Option<BufWriter<File>>,
}

/// Cell tags of the row spool.
const CELL_NUMBER: u8 = 0;
const CELL_TEXT: u8 = 1;

impl Aggregator {
    /// An aggregator for the dataset folder `dir` (which must exist) and the
    /// pipeline's block names in chain order. Creates the row spool in `dir`.
    pub fn new(dir: &Path, block_names: &[String]) -> Result<Self, StatsError> {
        // Host and pid: runs on several hosts may share the folder.
        let spool_path = dir.join(format!(
            "{ROWS_SPOOL}-{}-{}",
            crate::host::name(),
            std::process::id()
        ));
        let spool = File::create(&spool_path).map_err(io_error(&spool_path))?;
        Ok(Self {
            dir: dir.to_owned(),
            blocks: block_names
                .iter()
                .map(|name| BlockTally {
                    summary: BlockSummary {
                        name: name.clone(),
                        ..BlockSummary::default()
                    },
                    columns: HashMap::new(),
                })
                .collect(),
            columns: Vec::new(),
            pairs: Vec::new(),
            samples: SampleCounts::default(),
            previous: None,
            spool_path,
            spool: Some(BufWriter::with_capacity(1 << 16, spool)),
        })
    }

    /// Also collects the per-sample pairs of statistics `x` and `y` (full
    /// names such as `render.objects`, or [`SAMPLE_COLUMN`] for `x`). Call
    /// before the first [`add`](Self::add); asking twice is harmless.
    pub fn track_pair(&mut self, x: &str, y: &str) {
        if self
            .pairs
            .iter()
            .any(|p| p.series.x == x && p.series.y == y)
        {
            return;
        }
        let find = |name: &str| self.columns.iter().position(|c| c.name == name);
        let track = PairTrack {
            x: find(x),
            y: find(y),
            series: PairSeries {
                x: x.to_owned(),
                y: y.to_owned(),
                ..PairSeries::default()
            },
        };
        self.pairs.push(track);
    }

    /// Adds one sample: `states[i]` is the state of block `i` (chain order),
    /// `record` the sample's record if it has a readable one. Samples must
    /// come in strictly increasing order.
    pub fn add(
        &mut self,
        sample: u64,
        states: &[BlockState],
        record: Option<&SampleRecord>,
    ) -> Result<(), StatsError> {
        if let Some(previous) = self.previous.filter(|&p| p >= sample) {
            return Err(StatsError::OutOfOrder { sample, previous });
        }
        if states.len() != self.blocks.len() {
            return Err(StatsError::StateCount {
                sample,
                expected: self.blocks.len(),
                got: states.len(),
            });
        }
        self.previous = Some(sample);
        self.samples.seen += 1;
        for (tally, state) in self.blocks.iter_mut().zip(states) {
            count_state(&mut tally.summary, state);
        }
        if !states.iter().all(BlockState::is_complete) {
            return Ok(());
        }
        self.samples.complete += 1;
        self.add_row(sample, record)
    }

    /// Folds the stats of a complete sample into the columns, the tracked
    /// pairs and the row spool.
    fn add_row(&mut self, sample: u64, record: Option<&SampleRecord>) -> Result<(), StatsError> {
        let mut cells: Vec<(usize, &StatValue)> = Vec::new();
        for tally in &mut self.blocks {
            let block = record.and_then(|r| r.blocks.iter().find(|b| b.name == tally.summary.name));
            for (key, value) in block.map(|b| &b.stats).into_iter().flatten() {
                let column = match tally.columns.get(key.as_str()) {
                    Some(&column) => column,
                    None => {
                        let column = self.columns.len();
                        let name = format!("{}.{key}", tally.summary.name);
                        for pair in &mut self.pairs {
                            pair.x = pair.x.or((pair.series.x == name).then_some(column));
                            pair.y = pair.y.or((pair.series.y == name).then_some(column));
                        }
                        self.columns.push(Column::new(name));
                        tally.columns.insert(key.clone(), column);
                        column
                    }
                };
                cells.push((column, value));
            }
        }
        let spool = self.spool.as_mut().expect("the spool is open until finish");
        write_spooled_row(spool, sample, &cells).map_err(io_error(&self.spool_path))?;
        for &(column, value) in &cells {
            self.columns[column].add(value);
        }
        for pair in &mut self.pairs {
            let x = if pair.series.x == SAMPLE_COLUMN {
                Some(sample as f64)
            } else {
                finite_cell(&cells, pair.x)
            };
            match (x, finite_cell(&cells, pair.y)) {
                (Some(x), Some(y)) => pair.series.points.push((x, y)),
                _ => pair.series.skipped += 1,
            }
        }
        Ok(())
    }

    /// Writes `statistics.yaml` and `statistics.csv` (atomically) and returns
    /// what they were made of, for the plots.
    pub fn finish(mut self) -> Result<Statistics, StatsError> {
        let spool = self.spool.take().expect("the spool is open until finish");
        spool
            .into_inner()
            .map_err(|e| io_error(&self.spool_path)(e.into_error()))?;
        self.write_csv()?;
        let _ = fs::remove_file(&self.spool_path);

        let mut summary = StatisticsSummary {
            format: STATISTICS_FORMAT,
            samples: self.samples.clone(),
            blocks: self.blocks.iter().map(|b| b.summary.clone()).collect(),
            ..StatisticsSummary::default()
        };
        let mut values = BTreeMap::new();
        for mut column in std::mem::take(&mut self.columns) {
            if !column.values.is_empty() || column.non_finite > 0 {
                let number = NumberSummary::of(&mut column.values, column.non_finite);
                summary.numbers.insert(column.name.clone(), number);
                values.insert(column.name.clone(), column.values);
            }
            if column.text_count > 0 {
                let text = TextSummary {
                    count: column.text_count,
                    values: column.texts,
                };
                summary.texts.insert(column.name, text);
            }
        }
        write_yaml(&self.dir.join(STATISTICS_YAML), &summary)?;
        let pairs = std::mem::take(&mut self.pairs)
            .into_iter()
            .map(|p| p.series)
            .collect();
        Ok(Statistics {
            summary,
            values,
            pairs,
        })
    }

    /// Copies the spooled rows under a header of all columns, sorted by name.
    fn write_csv(&self) -> Result<(), StatsError> {
        let path = self.dir.join(STATISTICS_CSV);
        let temp = crate::dataset::temp_path_for(&path);
        let result = self
            .write_csv_to(&temp)
            .and_then(|()| fs::rename(&temp, &path).map_err(io_error(&path)));
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result
    }

    fn write_csv_to(&self, temp: &Path) -> Result<(), StatsError> {
        let mut order: Vec<usize> = (0..self.columns.len()).collect();
        order.sort_by(|&a, &b| self.columns[a].name.cmp(&self.columns[b].name));
        let mut position = vec![0; order.len()];
        for (at, &column) in order.iter().enumerate() {
            position[column] = at;
        }
        let file = File::create(temp).map_err(io_error(temp))?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let mut header = String::from(SAMPLE_COLUMN);
        for &column in &order {
            header.push(',');
            push_csv_field(&mut header, &self.columns[column].name);
        }
        header.push('\n');
        out.write_all(header.as_bytes()).map_err(io_error(temp))?;

        let spool = File::open(&self.spool_path).map_err(io_error(&self.spool_path))?;
        let mut reader = BufReader::with_capacity(1 << 16, spool);
        let mut cells: Vec<Option<SpooledCell>> = vec![None; order.len()];
        let mut line = String::new();
        while let Some(sample) = read_spooled_row(&mut reader, &mut cells, &position)
            .map_err(io_error(&self.spool_path))?
        {
            line.clear();
            let _ = write!(line, "{sample}");
            for cell in &mut cells {
                line.push(',');
                match cell.take() {
                    Some(SpooledCell::Number(number)) => push_number(&mut line, number),
                    Some(SpooledCell::Text(text)) => push_csv_field(&mut line, &text),
                    None => {}
                }
            }
            line.push('\n');
            out.write_all(line.as_bytes()).map_err(io_error(temp))?;
        }
        out.into_inner()
            .map_err(|e| e.into_error())
            .and_then(|file| file.sync_all())
            .map_err(io_error(temp))
    }
}

impl Drop for Aggregator {
    fn drop(&mut self) {
        // Also after a failed `finish` (e.g. a full disk): no temp is left.
        self.spool.take();
        let _ = fs::remove_file(&self.spool_path);
    }
}

impl Column {
    fn new(name: String) -> Self {
        Self {
            name,
            values: Vec::new(),
            non_finite: 0,
            texts: BTreeMap::new(),
            text_count: 0,
        }
    }

    fn add(&mut self, value: &StatValue) {
        match value {
            StatValue::Number(number) if number.is_finite() => self.values.push(*number),
            StatValue::Number(_) => self.non_finite += 1,
            StatValue::Text(text) => {
                self.text_count += 1;
                count_distinct(&mut self.texts, text, OTHER_VALUES);
            }
        }
    }
}

fn count_state(summary: &mut BlockSummary, state: &BlockState) {
    let reason = match state {
        BlockState::Complete => {
            summary.complete += 1;
            return;
        }
        BlockState::Stale => {
            summary.stale += 1;
            return;
        }
        BlockState::Missing => {
            summary.missing += 1;
            return;
        }
        BlockState::Failed(reason) => reason.clone(),
        BlockState::Rejected(reason) => {
            summary.rejected += 1;
            format!("{REJECTED_PREFIX}{reason}")
        }
    };
    summary.failed += 1;
    count_distinct(&mut summary.failures, &reason, OTHER_REASONS);
}

/// Counts `key`, or `other` once [`MAX_DISTINCT`] keys are counted: a value
/// unique to each sample must not cost memory per sample.
fn count_distinct(counts: &mut BTreeMap<String, u64>, key: &str, other: &str) {
    if let Some(count) = counts.get_mut(key) {
        *count += 1;
    } else if counts.len() < MAX_DISTINCT {
        counts.insert(key.to_owned(), 1);
    } else {
        *counts.entry(other.to_owned()).or_insert(0) += 1;
    }
}

fn finite_cell(cells: &[(usize, &StatValue)], column: Option<usize>) -> Option<f64> {
    let column = column?;
    cells.iter().find_map(|&(c, value)| match value {
        StatValue::Number(number) if c == column && number.is_finite() => Some(*number),
        _ => None,
    })
}

/// A cell read back from the row spool.
#[derive(Clone)]
enum SpooledCell {
    Number(f64),
    Text(String),
}

/// Spool row layout (little endian): sample `u64`, cell count `u32`, then per
/// cell the column `u32`, a tag byte and an `f64` or a `u32` length + UTF-8.
fn write_spooled_row(
    out: &mut impl Write,
    sample: u64,
    cells: &[(usize, &StatValue)],
) -> io::Result<()> {
    out.write_all(&sample.to_le_bytes())?;
    out.write_all(&(cells.len() as u32).to_le_bytes())?;
    for &(column, value) in cells {
        out.write_all(&(column as u32).to_le_bytes())?;
        match value {
            StatValue::Number(number) => {
                out.write_all(&[CELL_NUMBER])?;
                out.write_all(&number.to_le_bytes())?;
            }
            StatValue::Text(text) => {
                out.write_all(&[CELL_TEXT])?;
                out.write_all(&(text.len() as u32).to_le_bytes())?;
                out.write_all(text.as_bytes())?;
            }
        }
    }
    Ok(())
}

/// Reads one spooled row into `cells` (indexed by CSV position); `None` at
/// the end of the spool.
fn read_spooled_row(
    input: &mut impl BufRead,
    cells: &mut [Option<SpooledCell>],
    position: &[usize],
) -> io::Result<Option<u64>> {
    if input.fill_buf()?.is_empty() {
        return Ok(None);
    }
    let sample = u64::from_le_bytes(read_array(input)?);
    let count = u32::from_le_bytes(read_array(input)?);
    for _ in 0..count {
        let column = u32::from_le_bytes(read_array(input)?) as usize;
        let [tag] = read_array(input)?;
        let cell = if tag == CELL_NUMBER {
            SpooledCell::Number(f64::from_le_bytes(read_array(input)?))
        } else {
            let len = u32::from_le_bytes(read_array(input)?) as usize;
            let mut bytes = vec![0; len];
            input.read_exact(&mut bytes)?;
            let text = String::from_utf8(bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            SpooledCell::Text(text)
        };
        let slot = position.get(column).and_then(|&at| cells.get_mut(at));
        let slot = slot.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "row spool names an unknown column",
            )
        })?;
        *slot = Some(cell);
    }
    Ok(Some(sample))
}

fn read_array<const N: usize>(input: &mut impl Read) -> io::Result<[u8; N]> {
    let mut bytes = [0; N];
    input.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// Appends a number as a CSV cell that pandas parses back to the same
/// `f64`: the shortest round-trip digits, in exponent form outside
/// `1e-5..1e16`; `NaN`, `inf`, `-inf` for the others.
fn push_number(line: &mut String, value: f64) {
    let _ = if value.is_nan() {
        line.write_str("NaN")
    } else if value.is_infinite() {
        line.write_str(if value > 0.0 { "inf" } else { "-inf" })
    } else if value == 0.0 || (1e-5..1e16).contains(&value.abs()) {
        write!(line, "{value}")
    } else {
        write!(line, "{value:e}")
    };
}

/// Appends `field` to a CSV line, quoted (RFC 4180, quotes doubled) when it
/// holds a comma, quote, line break, leading or trailing space, or is empty.
fn push_csv_field(line: &mut String, field: &str) {
    let needs_quotes = field.is_empty()
        || field.contains([',', '"', '\n', '\r'])
        || field.starts_with(char::is_whitespace)
        || field.ends_with(char::is_whitespace);
    if needs_quotes {
        line.push('"');
        line.push_str(&field.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(field);
    }
}

/// Wall time of one block, over the last attempt recorded for each sample.
///
/// Floats are rounded by [`round_significant`]; the distribution fields are
/// `null` for a block without a timing line.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockTimings {
    /// Samples with a timing line for this block.
    pub count: u64,
    /// Of those, last attempts that succeeded.
    pub ok: u64,
    /// Of those, last attempts that failed.
    pub failed: u64,
    /// Of those, last attempts that were rejected.
    pub rejected: u64,
    /// Sum of the seconds.
    pub total_seconds: f64,
    /// Mean seconds.
    pub mean: Option<f64>,
    /// Median seconds (linear interpolation, see [`percentile`]).
    pub p50: Option<f64>,
    /// 95th percentile of the seconds.
    pub p95: Option<f64>,
    /// Longest seconds.
    pub max: Option<f64>,
}

/// The content of `timings.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimingsSummary {
    /// [`STATISTICS_FORMAT`].
    pub format: u32,
    /// Timing files read.
    pub files: u64,
    /// Lines skipped: torn (no final newline) or unparsable.
    pub skipped_lines: u64,
    /// Per block, by name.
    pub blocks: BTreeMap<String, BlockTimings>,
}

/// What [`aggregate_timings`] returns: the summary it wrote and the seconds
/// the box plot needs.
#[derive(Clone, Debug, Default)]
pub struct Timings {
    /// The content of `timings.yaml`.
    pub summary: TimingsSummary,
    /// Seconds per block (last attempt per sample), ascending.
    pub seconds: BTreeMap<String, Vec<f64>>,
}

/// One parsed timing line.
struct TimingLine {
    sample: u64,
    block: u32,
    status: TimingStatus,
    seconds: f64,
}

#[derive(Clone, Copy)]
enum TimingStatus {
    Ok,
    Failed,
    Rejected,
}

/// Reads every `DIR/.shardgen/runs/*.timings.tsv` in file-name order (names
/// sort by run start), keeps for each `(sample, block)` the last line seen,
/// writes `DIR/timings.yaml` atomically and returns the distributions.
///
/// A line is `sample\tblock\tstatus\tseconds\n` with status `ok`, `failed`
/// or `rejected`; a last line without its newline (torn by a crash) and
/// unparsable lines are skipped and counted. No runs folder means no timings.
pub fn aggregate_timings(dir: &Path) -> Result<Timings, StatsError> {
    let runs = dir.join(RUNS_DIR);
    let mut files = Vec::new();
    match fs::read_dir(&runs) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(io_error(&runs))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(TIMINGS_SUFFIX) && !name.starts_with('.') {
                    files.push((name, entry.path()));
                }
            }
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(io_error(&runs)(error)),
    }
    files.sort();

    let mut summary = TimingsSummary {
        format: STATISTICS_FORMAT,
        files: files.len() as u64,
        ..TimingsSummary::default()
    };
    let mut block_names: Vec<String> = Vec::new();
    let mut block_ids: HashMap<String, u32> = HashMap::new();
    let mut lines = Vec::new();
    for (_, path) in &files {
        let file = File::open(path).map_err(io_error(path))?;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let mut bytes = Vec::new();
        loop {
            bytes.clear();
            if reader
                .read_until(b'\n', &mut bytes)
                .map_err(io_error(path))?
                == 0
            {
                break;
            }
            let parsed = bytes
                .strip_suffix(b"\n")
                .and_then(|line| std::str::from_utf8(line).ok())
                .and_then(parse_timing_line);
            let Some((sample, block, status, seconds)) = parsed else {
                summary.skipped_lines += 1;
                continue;
            };
            let block = match block_ids.get(block) {
                Some(&id) => id,
                None => {
                    let id = block_names.len() as u32;
                    block_names.push(block.to_owned());
                    block_ids.insert(block.to_owned(), id);
                    id
                }
            };
            lines.push(TimingLine {
                sample,
                block,
                status,
                seconds,
            });
        }
    }
    // Stable: within one (sample, block), lines keep their reading order.
    lines.sort_by_key(|line| (line.sample, line.block));
    let mut per_block: Vec<(BlockTimings, Vec<f64>)> =
        vec![(BlockTimings::default(), Vec::new()); block_names.len()];
    for (at, line) in lines.iter().enumerate() {
        let superseded = lines
            .get(at + 1)
            .is_some_and(|next| (next.sample, next.block) == (line.sample, line.block));
        if superseded {
            continue;
        }
        let (timings, seconds) = &mut per_block[line.block as usize];
        timings.count += 1;
        match line.status {
            TimingStatus::Ok => timings.ok += 1,
            TimingStatus::Failed => timings.failed += 1,
            TimingStatus::Rejected => timings.rejected += 1,
        }
        seconds.push(line.seconds);
    }
    drop(lines);

    let mut timings = Timings::default();
    for (name, (mut block, mut seconds)) in block_names.into_iter().zip(per_block) {
        let total: f64 = seconds.iter().sum();
        seconds.sort_unstable_by(f64::total_cmp);
        block.total_seconds = round_significant(total);
        block.mean = (!seconds.is_empty()).then(|| round_significant(total / seconds.len() as f64));
        block.p50 = percentile(&seconds, 50.0).map(round_significant);
        block.p95 = percentile(&seconds, 95.0).map(round_significant);
        block.max = seconds.last().copied().map(round_significant);
        summary.blocks.insert(name.clone(), block);
        timings.seconds.insert(name, seconds);
    }
    write_yaml(&dir.join(TIMINGS_YAML), &summary)?;
    timings.summary = summary;
    Ok(timings)
}

fn parse_timing_line(line: &str) -> Option<(u64, &str, TimingStatus, f64)> {
    let mut fields = line.split('\t');
    let sample = fields.next()?.parse().ok()?;
    let block = fields.next().filter(|b| !b.is_empty())?;
    let status = match fields.next()? {
        "ok" => TimingStatus::Ok,
        "failed" => TimingStatus::Failed,
        "rejected" => TimingStatus::Rejected,
        _ => return None,
    };
    let seconds: f64 = fields.next()?.parse().ok()?;
    if fields.next().is_some() || !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Some((sample, block, status, seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::Stats;
    use crate::record::{BlockRecord, BlockStatus, RECORD_FILE, RECORD_FORMAT};

    const BLOCKS: [&str; 2] = ["scene", "render"];

    fn names() -> Vec<String> {
        BLOCKS.iter().map(|b| (*b).to_owned()).collect()
    }

    fn block(name: &str, status: BlockStatus, reason: Option<&str>, stats: Stats) -> BlockRecord {
        BlockRecord {
            name: name.to_owned(),
            fingerprint: "f".repeat(16),
            status,
            reason: reason.map(str::to_owned),
            stats,
        }
    }

    /// A synthetic dataset: sample `i` has awkward floats, a text, and every
    /// 7th sample fails `render`, every 11th is rejected by it.
    fn synthetic(sample: u64) -> (Vec<BlockState>, SampleRecord) {
        let mut scene = Stats::new();
        scene.insert("objects".into(), StatValue::from(sample % 5));
        scene.insert(
            "area".into(),
            StatValue::from((sample as f64 * 0.1).sin() * 1e3 / 3.0),
        );
        scene.insert(
            "shape".into(),
            StatValue::from(["cube", "ball, big", "say \"hi\""][sample as usize % 3]),
        );
        let mut render = Stats::new();
        render.insert("light".into(), StatValue::from(1.0 / (sample as f64 + 1.0)));
        let (render_state, render_record) = if sample % 7 == 3 {
            (
                BlockState::Failed("exit code 1".into()),
                block(
                    "render",
                    BlockStatus::Failed,
                    Some("exit code 1"),
                    Stats::new(),
                ),
            )
        } else if sample % 11 == 5 {
            (
                BlockState::Rejected("hidden".into()),
                block("render", BlockStatus::Rejected, Some("hidden"), render),
            )
        } else {
            (
                BlockState::Complete,
                block("render", BlockStatus::Ok, None, render),
            )
        };
        let record = SampleRecord {
            format: RECORD_FORMAT,
            sample,
            blocks: vec![block("scene", BlockStatus::Ok, None, scene), render_record],
        };
        (vec![BlockState::Complete, render_state], record)
    }

    fn sample_dir(dir: &Path, sample: u64) -> PathBuf {
        dir.join(format!("{sample:010}"))
    }

    fn write_record(dir: &Path, record: &SampleRecord) {
        let folder = sample_dir(dir, record.sample);
        fs::create_dir_all(&folder).unwrap();
        fs::write(
            folder.join(RECORD_FILE),
            serde_json::to_vec(record).unwrap(),
        )
        .unwrap();
    }

    /// Aggregates every sample folder of `dir`, reading records from disk,
    /// as the statistics pass does.
    fn aggregate_from_disk(dir: &Path) -> Statistics {
        let mut folders: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        folders.sort();
        let mut aggregator = Aggregator::new(dir, &names()).unwrap();
        for folder in folders {
            let text = fs::read(dir.join(&folder).join(RECORD_FILE)).unwrap();
            let record: SampleRecord = serde_json::from_slice(&text).unwrap();
            let (states, _) = synthetic(record.sample);
            aggregator
                .add(record.sample, &states, Some(&record))
                .unwrap();
        }
        aggregator.finish().unwrap()
    }

    fn copy_tree(from: &Path, to: &Path) {
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                fs::create_dir_all(&target).unwrap();
                copy_tree(&entry.path(), &target);
            } else {
                fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    #[test]
    fn one_run_and_merged_shards_give_identical_files() {
        let root = tempfile::tempdir().unwrap();
        let single = root.path().join("single");
        let merged = root.path().join("merged");
        let shards = [root.path().join("shard0"), root.path().join("shard1")];
        for dir in [&single, &merged, &shards[0], &shards[1]] {
            fs::create_dir_all(dir).unwrap();
        }
        for sample in 0..300 {
            let (_, record) = synthetic(sample);
            write_record(&single, &record);
            // Interleaved shards (even / odd), merged by copying.
            write_record(&shards[(sample % 2) as usize], &record);
        }
        for shard in &shards {
            copy_tree(shard, &merged);
        }
        let a = aggregate_from_disk(&single);
        let b = aggregate_from_disk(&merged);
        assert_eq!(a.summary, b.summary);
        for file in [STATISTICS_YAML, STATISTICS_CSV] {
            let one = fs::read(single.join(file)).unwrap();
            let other = fs::read(merged.join(file)).unwrap();
            assert!(one.len() > 1000, "{file} is too small: {} bytes", one.len());
            assert_eq!(one, other, "{file} differs");
        }
        // No temporary file is left behind.
        let leftovers: Vec<_> = fs::read_dir(&merged)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        // Complete samples: not failed (i % 7 == 3) and not rejected (i % 11 == 5).
        let complete = (0..300u64).filter(|i| i % 7 != 3 && i % 11 != 5).count() as u64;
        assert_eq!(
            a.summary.samples,
            SampleCounts {
                seen: 300,
                complete
            }
        );
        assert_eq!(a.summary.numbers["scene.objects"].count, complete);
    }

    fn numbers(dir: &Path, values: &[f64]) -> Statistics {
        let mut aggregator = Aggregator::new(dir, &["m".to_owned()]).unwrap();
        for (sample, value) in values.iter().enumerate() {
            let mut stats = Stats::new();
            stats.insert("v".into(), StatValue::from(*value));
            let record = SampleRecord {
                format: RECORD_FORMAT,
                sample: sample as u64,
                blocks: vec![block("m", BlockStatus::Ok, None, stats)],
            };
            aggregator
                .add(sample as u64, &[BlockState::Complete], Some(&record))
                .unwrap();
        }
        aggregator.finish().unwrap()
    }

    #[test]
    fn percentiles_mean_and_std_on_known_data() {
        let dir = tempfile::tempdir().unwrap();
        // 1..=10 shuffled, plus values that are skipped and counted.
        let values = [
            7.0,
            3.0,
            f64::NAN,
            10.0,
            1.0,
            5.0,
            f64::INFINITY,
            9.0,
            2.0,
            8.0,
            4.0,
            6.0,
        ];
        let statistics = numbers(dir.path(), &values);
        let v = &statistics.summary.numbers["m.v"];
        assert_eq!(v.count, 10);
        assert_eq!(v.non_finite, 2);
        assert_eq!(v.mean, Some(5.5));
        // Population std of 1..=10: sqrt(8.25) = 2.8722813232690143.
        assert_eq!(v.std, Some(2.87228132));
        assert_eq!(
            [v.min, v.p5, v.p25, v.p50, v.p75, v.p95, v.max],
            [1.0, 1.45, 3.25, 5.5, 7.75, 9.55, 10.0].map(Some)
        );
        assert_eq!(
            statistics.values("m.v").unwrap(),
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
        );
        let yaml = fs::read_to_string(dir.path().join(STATISTICS_YAML)).unwrap();
        let expected = "\
format: 1
samples:
  seen: 12
  complete: 12
blocks:
- name: m
  complete: 12
  failed: 0
  rejected: 0
  stale: 0
  missing: 0
  failures: {}
numbers:
  m.v:
    count: 10
    non_finite: 2
    mean: 5.5
    std: 2.87228132
    min: 1.0
    p5: 1.45
    p25: 3.25
    p50: 5.5
    p75: 7.75
    p95: 9.55
    max: 10.0
texts: {}
";
        assert_eq!(yaml, expected);
    }

    #[test]
    fn single_value_all_equal_and_no_finite_value() {
        let dir = tempfile::tempdir().unwrap();
        let one = numbers(dir.path(), &[0.1 + 0.2]);
        let v = &one.summary.numbers["m.v"];
        assert_eq!(
            (v.mean, v.std, v.p5, v.p95),
            (Some(0.3), Some(0.0), Some(0.3), Some(0.3))
        );
        let equal = numbers(dir.path(), &[4.0; 5]);
        assert_eq!(equal.summary.numbers["m.v"].std, Some(0.0));
        let none = numbers(dir.path(), &[f64::NAN, f64::NEG_INFINITY]);
        let v = &none.summary.numbers["m.v"];
        assert_eq!((v.count, v.non_finite, v.mean, v.max), (0, 2, None, None));
        assert!(fs::read_to_string(dir.path().join(STATISTICS_YAML))
            .unwrap()
            .contains("    mean: null\n"));
    }

    #[test]
    fn text_values_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut aggregator = Aggregator::new(dir.path(), &names()).unwrap();
        for sample in 0..9 {
            let (states, record) = synthetic(sample);
            aggregator.add(sample, &states, Some(&record)).unwrap();
        }
        let statistics = aggregator.finish().unwrap();
        // Complete: 0 1 2 4 6 7 8 (3 failed, 5 rejected); shapes cycle by 3:
        // cube 0 6, ball 1 4 7, say 2 8.
        let shape = &statistics.summary.texts["scene.shape"];
        assert_eq!(shape.count, 7);
        let counts: Vec<(&str, u64)> = shape.values.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(counts, [("ball, big", 3), ("cube", 2), ("say \"hi\"", 2)]);
        assert!(!statistics.summary.numbers.contains_key("scene.shape"));
    }

    #[test]
    fn distinct_values_and_reasons_are_capped() {
        let dir = tempfile::tempdir().unwrap();
        let mut aggregator =
            Aggregator::new(dir.path(), &["m".to_owned(), "n".to_owned()]).unwrap();
        let extra = 5u64;
        for sample in 0..MAX_DISTINCT as u64 + extra {
            let mut stats = Stats::new();
            stats.insert("hash".into(), StatValue::from(format!("h{sample}")));
            let record = SampleRecord {
                format: RECORD_FORMAT,
                sample: 2 * sample,
                blocks: vec![block("m", BlockStatus::Ok, None, stats)],
            };
            let states = [BlockState::Complete, BlockState::Complete];
            aggregator.add(2 * sample, &states, Some(&record)).unwrap();
            let failed = [
                BlockState::Complete,
                BlockState::Failed(format!("seed {sample}")),
            ];
            aggregator.add(2 * sample + 1, &failed, None).unwrap();
        }
        let summary = aggregator.finish().unwrap().summary;
        let hash = &summary.texts["m.hash"];
        assert_eq!(hash.values.len(), MAX_DISTINCT + 1);
        assert_eq!(hash.values[OTHER_VALUES], extra);
        assert_eq!(hash.values.values().sum::<u64>(), hash.count);
        let n = &summary.blocks[1];
        assert_eq!(n.failures.len(), MAX_DISTINCT + 1);
        assert_eq!(n.failures[OTHER_REASONS], extra);
        assert_eq!(n.failed, MAX_DISTINCT as u64 + extra);
    }

    #[test]
    fn block_outcomes_are_counted_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let mut aggregator = Aggregator::new(dir.path(), &names()).unwrap();
        let states = [
            vec![BlockState::Complete, BlockState::Complete],
            vec![BlockState::Complete, BlockState::Failed("timeout".into())],
            vec![BlockState::Complete, BlockState::Failed("timeout".into())],
            vec![BlockState::Complete, BlockState::Rejected("timeout".into())],
            vec![
                BlockState::Failed("exit code 2".into()),
                BlockState::Missing,
            ],
            vec![BlockState::Stale, BlockState::Stale],
            vec![BlockState::Missing, BlockState::Missing],
        ];
        for (sample, states) in states.iter().enumerate() {
            aggregator.add(sample as u64 * 3, states, None).unwrap();
        }
        let error = aggregator.add(3, &states[0], None).unwrap_err();
        assert!(matches!(
            error,
            StatsError::OutOfOrder {
                sample: 3,
                previous: 18
            }
        ));
        let error = aggregator.add(30, &states[0][..1], None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "sample 30: 1 block states given for a pipeline of 2 blocks"
        );
        let summary = aggregator.finish().unwrap().summary;
        assert_eq!(
            summary.samples,
            SampleCounts {
                seen: 7,
                complete: 1
            }
        );
        let scene = &summary.blocks[0];
        assert_eq!(
            (
                scene.complete,
                scene.failed,
                scene.rejected,
                scene.stale,
                scene.missing
            ),
            (4, 1, 0, 1, 1)
        );
        assert_eq!(
            scene.failures,
            BTreeMap::from([("exit code 2".to_owned(), 1)])
        );
        let render = &summary.blocks[1];
        assert_eq!(render.name, "render");
        assert_eq!(
            (
                render.complete,
                render.failed,
                render.rejected,
                render.stale,
                render.missing
            ),
            (1, 3, 1, 1, 2)
        );
        assert_eq!(
            render.failures,
            BTreeMap::from([
                ("rejected: timeout".to_owned(), 1),
                ("timeout".to_owned(), 2)
            ])
        );
    }

    #[test]
    fn csv_has_a_header_quotes_and_empty_cells() {
        let dir = tempfile::tempdir().unwrap();
        let mut aggregator = Aggregator::new(dir.path(), &names()).unwrap();
        let rows: [&[(&str, &str, StatValue)]; 3] = [
            &[
                ("scene", "label", StatValue::from("a,b")),
                ("render", "n", StatValue::from(3u64)),
            ],
            &[
                ("scene", "label", StatValue::from("say \"x\"\nnext")),
                ("scene", "z", StatValue::from(1e-7)),
            ],
            &[
                ("render", "n", StatValue::from(f64::NAN)),
                ("scene", "label", StatValue::from(" pad")),
            ],
        ];
        for (sample, cells) in rows.iter().enumerate() {
            let mut record = SampleRecord {
                format: RECORD_FORMAT,
                sample: sample as u64 + 40,
                blocks: names()
                    .iter()
                    .map(|b| block(b, BlockStatus::Ok, None, Stats::new()))
                    .collect(),
            };
            for (name, key, value) in cells.iter() {
                let at = BLOCKS.iter().position(|b| b == name).unwrap();
                record.blocks[at]
                    .stats
                    .insert((*key).to_owned(), value.clone());
            }
            let states = [BlockState::Complete, BlockState::Complete];
            aggregator
                .add(record.sample, &states, Some(&record))
                .unwrap();
        }
        // An incomplete sample has no row.
        aggregator
            .add(50, &[BlockState::Complete, BlockState::Missing], None)
            .unwrap();
        aggregator.finish().unwrap();
        let csv = fs::read_to_string(dir.path().join(STATISTICS_CSV)).unwrap();
        let expected = "\
sample,render.n,scene.label,scene.z
40,3,\"a,b\",
41,,\"say \"\"x\"\"
next\",1e-7
42,NaN,\" pad\",
";
        assert_eq!(csv, expected);
    }

    #[test]
    fn numbers_format_for_csv() {
        let cases = [
            (0.0, "0"),
            (-0.0, "-0"),
            (3.0, "3"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e-5, "0.00001"),
            (2.5e-6, "2.5e-6"),
            (1e16, "1e16"),
            (-123456.75, "-123456.75"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (value, text) in cases {
            let mut line = String::new();
            push_number(&mut line, value);
            assert_eq!(line, text);
            if value.is_finite() {
                assert_eq!(text.parse::<f64>().unwrap(), value);
            }
        }
    }

    fn write_timings(dir: &Path, name: &str, text: &str) {
        let runs = dir.join(RUNS_DIR);
        fs::create_dir_all(&runs).unwrap();
        fs::write(runs.join(name), text).unwrap();
    }

    #[test]
    fn timings_keep_the_last_line_and_skip_torn_ones() {
        let dir = tempfile::tempdir().unwrap();
        let empty = aggregate_timings(dir.path()).unwrap();
        assert!(empty.summary.blocks.is_empty());
        write_timings(
            dir.path(),
            "2026-01-01T00-00-00-a.timings.tsv",
            "0\tscene\tok\t1.5\n1\tscene\tfailed\t9\n0\trender\tok\t2\nbad line\n1\trender\tok\t",
        );
        write_timings(
            dir.path(),
            "2026-01-02T00-00-00-b.timings.tsv",
            "1\tscene\tok\t2.5\n2\tscene\trejected\t0.5\n",
        );
        write_timings(dir.path(), "notes.txt", "3\tscene\tok\t100\n");
        let timings = aggregate_timings(dir.path()).unwrap();
        let summary = &timings.summary;
        assert_eq!((summary.files, summary.skipped_lines), (2, 2));
        let scene = &summary.blocks["scene"];
        assert_eq!(
            (scene.count, scene.ok, scene.failed, scene.rejected),
            (3, 2, 0, 1)
        );
        assert_eq!(scene.total_seconds, 4.5);
        assert_eq!(
            (scene.mean, scene.p50, scene.max),
            (Some(1.5), Some(1.5), Some(2.5))
        );
        assert_eq!(timings.seconds["scene"], [0.5, 1.5, 2.5]);
        assert_eq!(timings.seconds["render"], [2.0]);
        let yaml = fs::read_to_string(dir.path().join(TIMINGS_YAML)).unwrap();
        let reread: TimingsSummary = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(&reread, summary);
        assert!(yaml.contains("skipped_lines: 2\n"));
    }
}
