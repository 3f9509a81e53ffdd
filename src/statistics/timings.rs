//! `timings.yaml`: per-block wall times from the runs' timing journals.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::*;
use super::summary::*;
use crate::dataset::record::BlockStatus;
use crate::dataset::timings::{journal_files, read_journal};
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
    /// Median seconds (linear interpolation, see [`percentile`]).
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
    /// Seconds per block (last attempt per sample), ascending.
    pub seconds: BTreeMap<String, Vec<f64>>,
}

/// One parsed timing line, its block interned.
struct TimingLine {
    sample: u64,
    block: u32,
    status: BlockStatus,
    seconds: f64,
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
    let mut block_names: Vec<String> = Vec::new();
    let mut block_ids: HashMap<String, u32> = HashMap::new();
    let mut lines = Vec::new();
    for path in &files {
        let skipped = read_journal(path, |line| {
            let block = match block_ids.get(line.block) {
                Some(&id) => id,
                None => {
                    let id = block_names.len() as u32;
                    block_names.push(line.block.to_owned());
                    block_ids.insert(line.block.to_owned(), id);
                    id
                }
            };
            lines.push(TimingLine {
                sample: line.sample,
                block,
                status: line.status,
                seconds: line.seconds,
            });
        })
        .map_err(io_error(path))?;
        summary.skipped_lines += skipped;
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
            BlockStatus::Ok => timings.ok += 1,
            BlockStatus::Failed => timings.failed += 1,
            BlockStatus::Rejected => timings.rejected += 1,
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
    timings.summary = summary;
    Ok(timings)
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
        assert_eq!(timings.seconds["scene"], [0.5, 1.5, 2.5]);
        assert_eq!(timings.seconds["render"], [2.0]);
        let yaml = fs::read_to_string(dir.path().join(TIMINGS_YAML)).unwrap();
        let reread: TimingsSummary = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(&reread, summary);
        assert!(yaml.contains("skipped_lines: 2\n"));
    }
}
