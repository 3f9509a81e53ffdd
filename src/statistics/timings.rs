//! `timings.yaml`: per-block wall times from the runs' timing journals.
//!
//! # Memory
//! The journals are read newest first and each one from its end, so the
//! first line met for a `(sample, block)` is its last attempt; a paged bit
//! set per block (1 bit per sample id, 512 bytes per 4,096 ids) remembers
//! which were met. The seconds go into a [`Moments`] and a [`Sketch`] per
//! block: no line is kept.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::*;
use super::moments::Moments;
use super::sketch::{Ranked, Sketch};
use super::summary::*;
use crate::dataset::record::BlockStatus;
use crate::dataset::timings::{journal_files, parse_line, TimingLine};
use crate::dataset::Dataset;
use crate::layout::TIMINGS_YAML;

/// Wall time of one block, over the last attempt recorded for each sample.
///
/// Floats are rounded by [`round_significant`]; the distribution fields are
/// `null` for a block without a timing line.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct BlockTimings {
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
    /// Median seconds (linear interpolation, see [`Ranked::percentile`]; exact up
    /// to 4,096 distinct values, within 0.195 % beyond, see
    /// [`crate::statistics::sketch`]).
    pub p50: Option<f64>,
    /// 95th percentile of the seconds.
    pub p95: Option<f64>,
    /// Longest seconds.
    pub max: Option<f64>,
}

/// The content of `timings.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct TimingsSummary {
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
pub(crate) struct Timings {
    /// The content of `timings.yaml`.
    pub summary: TimingsSummary,
    /// Distribution of the seconds per block (last attempt per sample).
    pub seconds: BTreeMap<String, Sketch>,
}

/// What is gathered of one block.
#[derive(Default)]
struct BlockTally {
    timings: BlockTimings,
    moments: Moments,
    seconds: Sketch,
    met: IdSet,
}

/// Reads every `DIR/.shardgen/runs/*.timings.tsv` in file-name order (names
/// sort by run start), keeps for each `(sample, block)` the last line seen,
/// writes `DIR/timings.yaml` atomically and returns the distributions.
///
/// A line is `sample\tblock\tstatus\tseconds\n` with status `ok`, `failed`
/// or `rejected`; a last line without its newline (torn by a crash) and
/// unparsable lines are skipped and counted. No runs folder means no timings.
pub(crate) fn aggregate_timings(dir: &Path) -> Result<Timings, StatsError> {
    let timings = read_timings(dir)?;
    write_yaml(&dir.join(TIMINGS_YAML), &timings.summary)?;
    Ok(timings)
}

/// [`aggregate_timings`] without writing `timings.yaml`: reads only.
pub(crate) fn read_timings(dir: &Path) -> Result<Timings, StatsError> {
    let dataset = Dataset::new(dir);
    let files = journal_files(&dataset).map_err(io_error(&dataset.runs_dir()))?;
    let mut summary = TimingsSummary {
        format: STATISTICS_FORMAT,
        files: files.len() as u64,
        ..TimingsSummary::default()
    };
    let mut block_ids: HashMap<String, usize> = HashMap::new();
    let mut blocks: Vec<(String, BlockTally)> = Vec::new();
    // Newest file first, each from its end: the first line met for a
    // (sample, block) is the last one written.
    for path in files.iter().rev() {
        let skipped = read_journal_backwards(path, |line| {
            let at = match block_ids.get(line.block) {
                Some(&at) => at,
                None => {
                    block_ids.insert(line.block.to_owned(), blocks.len());
                    blocks.push((line.block.to_owned(), BlockTally::default()));
                    blocks.len() - 1
                }
            };
            let tally = &mut blocks[at].1;
            if !tally.met.insert(line.sample) {
                return;
            }
            let timings = &mut tally.timings;
            timings.count += 1;
            match line.status {
                BlockStatus::Ok => timings.ok += 1,
                BlockStatus::Failed => timings.failed += 1,
                BlockStatus::Rejected => timings.rejected += 1,
            }
            tally.moments.add(line.seconds);
            tally.seconds.add(line.seconds);
        })
        .map_err(io_error(path))?;
        summary.skipped_lines += skipped;
    }

    let mut timings = Timings::default();
    for (name, tally) in blocks {
        let BlockTally {
            timings: mut block,
            moments,
            seconds,
            met: _,
        } = tally;
        block.total_seconds = round_significant(moments.sum());
        block.mean = moments.mean().map(round_significant);
        block.p50 = seconds.percentile(50.0).map(round_significant);
        block.p95 = seconds.percentile(95.0).map(round_significant);
        block.max = seconds.max().map(round_significant);
        summary.blocks.insert(name.clone(), block);
        timings.seconds.insert(name, seconds);
    }
    timings.summary = summary;
    Ok(timings)
}

/// Bytes read at a time from the end of a journal.
const BACKWARDS_CHUNK: u64 = 1 << 16;

/// Visits the lines of the journal at `path` from the last to the first;
/// returns the number skipped, as [`crate::dataset::timings::read_journal`]
/// counts them: a last line without its newline (torn) and unparsable lines.
fn read_journal_backwards(path: &Path, mut visit: impl FnMut(TimingLine<'_>)) -> io::Result<u64> {
    let mut file = File::open(path)?;
    let mut pos = file.metadata()?.len();
    // Bytes [pos, pos + buf.len()) not visited yet.
    let mut buf: Vec<u8> = Vec::new();
    let mut at_end = true;
    let mut skipped = 0;
    let mut segment = |bytes: &[u8], at_end: bool| {
        if at_end {
            // What follows the last newline: empty, or a torn line.
            skipped += u64::from(!bytes.is_empty());
            return;
        }
        match std::str::from_utf8(bytes).ok().and_then(parse_line) {
            Some(line) => visit(line),
            None => skipped += 1,
        }
    };
    loop {
        if let Some(newline) = buf.iter().rposition(|&b| b == b'\n') {
            segment(&buf[newline + 1..], at_end);
            at_end = false;
            buf.truncate(newline);
        } else if pos == 0 {
            if !(buf.is_empty() && at_end) {
                segment(&buf, at_end);
            }
            return Ok(skipped);
        } else {
            let start = pos.saturating_sub(BACKWARDS_CHUNK);
            let mut chunk = vec![0; (pos - start) as usize];
            file.seek(SeekFrom::Start(start))?;
            file.read_exact(&mut chunk)?;
            chunk.extend_from_slice(&buf);
            buf = chunk;
            pos = start;
        }
    }
}

/// A set of sample ids in pages of 4,096 bits: memory per id met, not per
/// id in the range.
#[derive(Default)]
struct IdSet {
    pages: HashMap<u64, Box<[u64; 64]>>,
}

impl IdSet {
    /// Adds `id`; whether it was new.
    fn insert(&mut self, id: u64) -> bool {
        let page = self
            .pages
            .entry(id >> 12)
            .or_insert_with(|| Box::new([0; 64]));
        let bit = id & 4095;
        let (word, mask) = ((bit >> 6) as usize, 1u64 << (bit & 63));
        let new = page[word] & mask == 0;
        page[word] |= mask;
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{META_DIR, RUNS_DIR};
    use std::fs;

    fn write_timings(dir: &Path, name: &str, text: &str) {
        let runs = dir.join(META_DIR).join(RUNS_DIR);
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
        let runs = |block: &str| timings.seconds[block].runs().collect::<Vec<_>>();
        assert_eq!(runs("scene"), [(0.5, 1), (1.5, 1), (2.5, 1)]);
        assert_eq!(runs("render"), [(2.0, 1)]);
        let yaml = fs::read_to_string(dir.path().join(TIMINGS_YAML)).unwrap();
        let reread: TimingsSummary = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(&reread, summary);
        assert!(yaml.contains("skipped_lines: 2\n"));
    }

    /// Backwards, over many chunks and lines across chunk boundaries, the
    /// lines are those of the forward reader in reverse, skips included.
    #[test]
    fn journals_read_backwards_as_forwards_reversed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.timings.tsv");
        let mut text = String::new();
        for i in 0..20_000u64 {
            match i % 1000 {
                7 => text.push_str("garbage\n"),
                8 => text.push('\n'),
                _ => text.push_str(&format!("{i}\tblock{}\tok\t{}.25\n", i % 3, i % 17)),
            }
        }
        assert!(text.len() as u64 > 4 * BACKWARDS_CHUNK);
        for torn in ["", "5\tblock0\tok\t1"] {
            fs::write(&path, format!("{text}{torn}")).unwrap();
            let owned = |l: TimingLine<'_>| (l.sample, l.block.to_owned(), l.seconds);
            let mut forwards = Vec::new();
            let skipped =
                crate::dataset::timings::read_journal(&path, |l| forwards.push(owned(l))).unwrap();
            let mut backwards = Vec::new();
            let skipped_back = read_journal_backwards(&path, |l| backwards.push(owned(l))).unwrap();
            backwards.reverse();
            assert_eq!(backwards, forwards);
            assert_eq!(skipped_back, skipped);
            assert_eq!(skipped, 40 + u64::from(!torn.is_empty()));
        }
        fs::write(&path, "").unwrap();
        assert_eq!(
            read_journal_backwards(&path, |_| panic!("a line")).unwrap(),
            0
        );
        fs::write(&path, "torn").unwrap();
        assert_eq!(
            read_journal_backwards(&path, |_| panic!("a line")).unwrap(),
            1
        );
    }
}
