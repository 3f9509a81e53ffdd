//! The statistics pass: merges the per-sample statistics of a dataset folder
//! into `DIR/statistics.yaml` (summary), `DIR/statistics.csv` (one row per
//! complete sample) and the per-run timing logs into `DIR/timings.yaml`.
//!
//! # Use
//! 1. [`Aggregator::new`] with the block names in chain order, then
//!    [`Aggregator::track_pair`] for each pair of `plot::pairs_needed`.
//! 2. [`Aggregator::add`] once per sample folder, in increasing sample order,
//!    with its [`SampleFacts`] (block states and stats), as the scan or the
//!    run knew them or as read from disk.
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
//! mean and std are a compensated sum and Welford's update in sample order
//! ([`Moments`]), percentiles come from a [`Sketch`] whose result depends on
//! the values alone, chart points from a [`PointSample`] chosen by id hash,
//! and every float in the YAML is rounded to 9 significant digits
//! ([`round_significant`]), so one run over samples `0..N` and shards merged
//! by copying give byte-identical files.
//!
//! # Memory
//! Bounded per statistic, whatever the number of samples: per numeric
//! statistic a [`Moments`] (40 bytes) and a [`Sketch`] (exact up to 4,096
//! distinct values, 64 KiB; then at most 2 × 32,768 bucket counters,
//! 512 KiB); per text statistic at most [`MAX_DISTINCT`] counted values; per
//! tracked pair at most [`MAX_POINTS`](super::point_sample::MAX_POINTS) points (32 bytes each). CSV rows are
//! spooled to a temporary file while the column set grows and copied under
//! their header at the end. Every file is written to a temporary name in its
//! folder and renamed.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::block::{StatValue, Stats};
use crate::dataset::sample_facts::SampleFacts;
use crate::dataset::state::{count_sample, BlockState};
use crate::failures::{reason_kind, REJECTED_PREFIX};

use super::error::*;
use super::moments::Moments;
use super::point_sample::PointSample;
use super::sketch::Sketch;
use super::summary::*;
use crate::layout::{STATISTICS_CSV, STATISTICS_YAML};

/// One column of the table: a `block.stat` and the values seen so far.
struct Column {
    name: String,
    moments: Moments,
    sketch: Sketch,
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
    points: PointSample,
    x: Option<usize>,
    y: Option<usize>,
}

/// Streaming aggregation of per-sample statistics, fed one sample at a time
/// in increasing sample order. See the [module docs](self).
pub(crate) struct Aggregator {
    dir: PathBuf,
    blocks: Vec<BlockTally>,
    columns: Vec<Column>,
    pairs: Vec<PairTrack>,
    samples: SampleCounts,
    previous: Option<u64>,
    spool_path: PathBuf,
    spool: Option<BufWriter<File>>,
    /// Stats of rejecting blocks on rejected samples, by `block.stat`.
    rejected: BTreeMap<String, Column>,
}

/// Cell tags of the row spool.
const CELL_NUMBER: u8 = 0;
const CELL_TEXT: u8 = 1;

impl Aggregator {
    /// An aggregator for the dataset folder `dir` (which must exist) and the
    /// pipeline's block names in chain order. Creates the row spool in `dir`.
    pub(crate) fn new(dir: &Path, block_names: &[String]) -> Result<Self, StatsError> {
        // Host and pid: runs on several hosts may share the folder.
        let spool_path = dir.join(format!(
            "{ROWS_SPOOL}-{}-{}",
            crate::process::name(),
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
            rejected: BTreeMap::new(),
        })
    }

    /// Also collects the per-sample pairs of statistics `x` and `y` (full
    /// names such as `render.objects`, or [`SAMPLE_COLUMN`] for `x`). Call
    /// before the first [`add`](Self::add); asking twice is harmless.
    pub(crate) fn track_pair(&mut self, x: &str, y: &str) {
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
            points: PointSample::default(),
            series: PairSeries {
                x: x.to_owned(),
                y: y.to_owned(),
                ..PairSeries::default()
            },
        };
        self.pairs.push(track);
    }

    /// Adds one sample: its block states and the stats of each block, in
    /// chain order. Samples must come in strictly increasing order.
    pub(crate) fn add(&mut self, facts: &SampleFacts) -> Result<(), StatsError> {
        let (sample, states) = (facts.id, facts.states.as_slice());
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
        let counts = self.blocks.iter_mut().map(|b| &mut b.summary.counts);
        if let Some(failed) = count_sample(counts, states) {
            let reason = match &states[failed] {
                BlockState::Rejected(reason) => format!("{REJECTED_PREFIX}{reason}"),
                state => state.failure_reason().unwrap_or_default().to_owned(),
            };
            let failures = &mut self.blocks[failed].summary.failures;
            count_distinct(failures, &reason_kind(&reason), OTHER_REASONS);
        }
        // What the rejecting block recorded, so that users see what their
        // filter threw away.
        for ((tally, state), stats) in self.blocks.iter().zip(states).zip(&facts.stats) {
            if matches!(state, BlockState::Rejected(_)) {
                let name = &tally.summary.name;
                for (key, value) in stats {
                    let column = format!("{name}.{key}");
                    self.rejected
                        .entry(column.clone())
                        .or_insert_with(|| Column::new(column))
                        .add(value);
                }
            }
        }
        if !states.iter().all(BlockState::is_complete) {
            return Ok(());
        }
        self.samples.complete += 1;
        self.add_row(sample, &facts.stats)
    }

    /// Folds the stats of a complete sample (per block, chain order) into
    /// the columns, the tracked pairs and the row spool.
    fn add_row(&mut self, sample: u64, stats: &[Stats]) -> Result<(), StatsError> {
        let mut cells: Vec<(usize, &StatValue)> = Vec::new();
        for (tally, stats) in self.blocks.iter_mut().zip(stats) {
            for (key, value) in stats {
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
                (Some(x), Some(y)) => pair.points.add(sample, (x, y)),
                _ => pair.series.skipped += 1,
            }
        }
        Ok(())
    }

    /// Writes `statistics.yaml` and `statistics.csv` (atomically) and returns
    /// what they were made of, for the plots.
    pub(crate) fn finish(mut self) -> Result<Statistics, StatsError> {
        let spool = self.spool.take().expect("the spool is open until finish");
        spool
            .into_inner()
            .map_err(|e| io_error(&self.spool_path)(e.into_error()))?;
        self.write_csv()?;

        let mut summary = StatisticsSummary {
            format: STATISTICS_FORMAT,
            samples: self.samples.clone(),
            blocks: self.blocks.iter().map(|b| b.summary.clone()).collect(),
            ..StatisticsSummary::default()
        };
        let mut values = BTreeMap::new();
        for column in std::mem::take(&mut self.columns) {
            if !column.sketch.is_empty() || column.non_finite > 0 {
                let number = NumberSummary::of(&column.moments, &column.sketch, column.non_finite);
                summary.numbers.insert(column.name.clone(), number);
                values.insert(column.name.clone(), column.sketch);
            }
            if column.text_count > 0 {
                let text = TextSummary {
                    count: column.text_count,
                    values: column.texts,
                };
                summary.texts.insert(column.name, text);
            }
        }
        for (name, column) in std::mem::take(&mut self.rejected) {
            if !column.sketch.is_empty() || column.non_finite > 0 {
                let number = NumberSummary::of(&column.moments, &column.sketch, column.non_finite);
                summary.rejected_numbers.insert(name.clone(), number);
            }
            if column.text_count > 0 {
                let text = TextSummary {
                    count: column.text_count,
                    values: column.texts,
                };
                summary.rejected_texts.insert(name, text);
            }
        }
        write_yaml(&self.dir.join(STATISTICS_YAML), &summary)?;
        let pairs = std::mem::take(&mut self.pairs)
            .into_iter()
            .map(|p| PairSeries {
                count: p.points.seen(),
                points: p.points.into_points(),
                ..p.series
            })
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
        let temp = crate::dataset::atomic::temp_path_for(&path);
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

/// The spool is removed however the pass ends: finished, failed midway (a
/// full disk), or dropped.
impl Drop for Aggregator {
    fn drop(&mut self) {
        drop(self.spool.take());
        let _ = fs::remove_file(&self.spool_path);
    }
}

impl Column {
    fn new(name: String) -> Self {
        Self {
            name,
            moments: Moments::default(),
            sketch: Sketch::new(),
            non_finite: 0,
            texts: BTreeMap::new(),
            text_count: 0,
        }
    }

    fn add(&mut self, value: &StatValue) {
        match value {
            StatValue::Number(number) if number.is_finite() => {
                self.moments.add(*number);
                self.sketch.add(*number);
            }
            StatValue::Number(_) => self.non_finite += 1,
            StatValue::Text(text) => {
                self.text_count += 1;
                count_distinct(&mut self.texts, text, OTHER_VALUES);
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::record::SampleRecord;
    use crate::dataset::record::{BlockRecord, BlockStatus, RECORD_FORMAT};
    use crate::dataset::state::BlockCounts;
    use crate::layout::RECORD_FILE;
    const BLOCKS: [&str; 2] = ["scene", "render"];

    fn names() -> Vec<String> {
        BLOCKS.iter().map(|b| (*b).to_owned()).collect()
    }

    fn block(name: &str, status: BlockStatus, reason: Option<&str>, stats: Stats) -> BlockRecord {
        BlockRecord {
            name: name.to_owned(),
            fingerprint: "f".repeat(16),
            status,
            attempts: 1,
            reason: reason.map(str::to_owned),
            stats,
            outputs: Vec::new(),
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

    fn facts(
        sample: u64,
        states: &[BlockState],
        record: Option<&SampleRecord>,
        names: &[String],
    ) -> SampleFacts {
        SampleFacts::from_record(sample, states.to_vec(), record.cloned(), false, 0, names)
    }

    fn sample_dir(dir: &Path, sample: u64) -> PathBuf {
        dir.join(crate::layout::sample_path(sample))
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
        let dataset = crate::dataset::Dataset::new(dir);
        let mut aggregator = Aggregator::new(dir, &names()).unwrap();
        for id in dataset.present_samples().unwrap() {
            let text = fs::read(dataset.sample_dir(id).join(RECORD_FILE)).unwrap();
            let record: SampleRecord = serde_json::from_slice(&text).unwrap();
            let (states, _) = synthetic(record.sample);
            aggregator
                .add(&facts(record.sample, &states, Some(&record), &names()))
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
                .add(&facts(
                    sample as u64,
                    &[BlockState::Complete],
                    Some(&record),
                    &["m".to_owned()],
                ))
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
        let runs: Vec<(f64, u64)> = statistics.values("m.v").unwrap().runs().collect();
        assert_eq!(
            runs,
            (1..=10).map(|v| (f64::from(v), 1)).collect::<Vec<_>>()
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
            aggregator
                .add(&facts(sample, &states, Some(&record), &names()))
                .unwrap();
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
        let mn = ["m".to_owned(), "n".to_owned()];
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
            aggregator
                .add(&facts(2 * sample, &states, Some(&record), &mn))
                .unwrap();
            let failed = [
                BlockState::Complete,
                BlockState::Failed(format!("seed {}", letters(sample))),
            ];
            aggregator
                .add(&facts(2 * sample + 1, &failed, None, &mn))
                .unwrap();
        }
        let summary = aggregator.finish().unwrap().summary;
        let hash = &summary.texts["m.hash"];
        assert_eq!(hash.values.len(), MAX_DISTINCT + 1);
        assert_eq!(hash.values[OTHER_VALUES], extra);
        assert_eq!(hash.values.values().sum::<u64>(), hash.count);
        let n = &summary.blocks[1];
        assert_eq!(n.failures.len(), MAX_DISTINCT + 1);
        assert_eq!(n.failures[OTHER_REASONS], extra);
        assert_eq!(n.counts.failed, MAX_DISTINCT as u64 + extra);
    }

    /// `n` in base 26 with letters: distinct reasons without digits, which
    /// failure kinds would otherwise merge.
    fn letters(mut n: u64) -> String {
        let mut text = String::new();
        loop {
            text.push(char::from(b'a' + (n % 26) as u8));
            n /= 26;
            if n == 0 {
                return text;
            }
        }
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
            aggregator
                .add(&facts(sample as u64 * 3, states, None, &names()))
                .unwrap();
        }
        let error = aggregator
            .add(&facts(3, &states[0], None, &names()))
            .unwrap_err();
        assert!(matches!(
            error,
            StatsError::OutOfOrder {
                sample: 3,
                previous: 18
            }
        ));
        let error = aggregator
            .add(&facts(30, &states[0][..1], None, &names()))
            .unwrap_err();
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
            scene.counts,
            BlockCounts {
                complete: 4,
                failed: 1,
                rejected: 0,
                stale: 1,
                missing: 1
            }
        );
        assert_eq!(
            scene.failures,
            BTreeMap::from([("exit code".to_owned(), 1)])
        );
        let render = &summary.blocks[1];
        assert_eq!(render.name, "render");
        assert_eq!(
            render.counts,
            BlockCounts {
                complete: 1,
                failed: 2,
                rejected: 1,
                stale: 1,
                missing: 2
            }
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
                .add(&facts(record.sample, &states, Some(&record), &names()))
                .unwrap();
        }
        // An incomplete sample has no row.
        aggregator
            .add(&facts(
                50,
                &[BlockState::Complete, BlockState::Missing],
                None,
                &names(),
            ))
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
}
