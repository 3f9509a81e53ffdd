//! `shardgen analyze DIR`: what a dataset holds (done, failed, stale,
//! missing) from its records alone.
//!
//! It reads only: nothing in DIR is written, and it needs neither the config
//! file nor the blocks' programs, because the dataset's manifest remembers
//! the pipeline. It may run while a run is writing: a record being replaced
//! is read whole or not at all (atomic rename), and a damaged one is
//! reported, never fatal.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::block::Stats;
use crate::dataset::failure_log;
use crate::dataset::record::{read_record, RecordRead};
use crate::dataset::runlog::read_run_logs;
use crate::dataset::state::{count_sample, final_rejection, BlockState, StateJudge};
use crate::dataset::timings::{journal_files, read_journal};
use crate::dataset::Dataset;
use crate::engine::gaps::gap_commands;
use crate::error::{Error, Result, UsageError};
use crate::failures::{FailureGroups, REJECTED_PREFIX};
use crate::pipeline::description::{BlockDescription, PipelineManifest};
use crate::ranges::{RangeSet, SampleRange};
use crate::seed::BlockSeed;

/// The `format` of `analyze --json`.
pub const ANALYSIS_FORMAT: &str = "shardgen-analyze/1";
/// Samples judged per parallel batch.
const CHUNK: usize = 8192;

/// What `analyze --json` prints: one object.
///
/// ```json
/// {"dataset": "data", "seed": 7,
///  "samples": {"present": 40, "complete": 36, "failed": 2, "rejected": 1, "incomplete": 1},
///  "ranges": [[0, 30], [32, 42]],
///  "blocks": [{"name": "a", "complete": 39, "failed": 0, "rejected": 0, "missing": 1, "stale": 0}, ...],
///  "failures": [{"sample": 5, "block": "b", "reason": "exit code 3: boom"}],
///  "damaged": [[7, 8]],
///  "commands": ["shardgen run p.yaml --out data --start-sample 5 --num-samples 1"]}
/// ```
#[derive(Debug, Serialize)]
pub struct Analysis {
    /// [`ANALYSIS_FORMAT`].
    pub format: &'static str,
    /// The dataset folder, as given.
    pub dataset: PathBuf,
    /// The master seed.
    pub seed: u64,
    /// Sample counts.
    pub samples: SampleCounts,
    /// Half-open `[start, end)` ranges of the sample ids present, sorted.
    pub ranges: Vec<[u64; 2]>,
    /// Per block, in chain order; each entry's counts sum to `present`.
    pub blocks: Vec<BlockCounts>,
    /// One entry per failed sample: the block that failed and why.
    pub failures: Vec<Failure>,
    /// Half-open ranges of samples whose record is damaged (they count as
    /// incomplete, every block missing).
    pub damaged: Vec<[u64; 2]>,
    /// `shardgen run` commands that would complete every sample of the
    /// ranges the runs targeted and up to the highest id present.
    pub commands: Vec<String>,
    /// The pipeline, as the manifest records it.
    pub pipeline: Vec<BlockDescription>,
}

/// Sample counts of an [`Analysis`].
#[derive(Debug, Default, Serialize)]
pub struct SampleCounts {
    /// Sample folders in DIR.
    pub present: u64,
    /// Every block complete.
    pub complete: u64,
    /// A block failed or timed out and has not since succeeded.
    pub failed: u64,
    /// Rejected for good by a block's validation (see
    /// [`crate::dataset::state::final_rejection`]): done, not a gap.
    pub rejected: u64,
    /// Present, neither complete, failed nor rejected.
    pub incomplete: u64,
}

/// Per-block counts of an [`Analysis`].
#[derive(Debug, Default, Serialize)]
pub struct BlockCounts {
    /// The block's name.
    pub name: String,
    /// The counts ([`crate::dataset::state::count_sample`]).
    #[serde(flatten)]
    pub counts: crate::dataset::state::BlockCounts,
}

/// One failed sample.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    /// The sample id.
    pub sample: u64,
    /// The block that failed.
    pub block: String,
    /// The recorded reason (rejections start with `rejected: `).
    pub reason: String,
}

/// Analyzes the dataset at `dir`.
pub fn analyze(dir: &Path) -> Result<Analysis> {
    let dataset = Dataset::new(dir);
    let manifest = read_manifest(&dataset)?;
    let judge = StateJudge::new(manifest.blocks.iter().cloned());
    let ids = dataset.present_samples()?;
    let mut builder = AnalysisBuilder::new(dir, manifest.seed, &manifest.blocks);
    for batch in ids.chunks(CHUNK) {
        let judged = judge.judge_samples(&dataset, batch, |_, sample| {
            let damaged = matches!(sample.record, RecordRead::Damaged(_));
            (sample.states, damaged)
        });
        for (&id, (states, is_damaged)) in batch.iter().zip(judged) {
            builder.add(id, &states, is_damaged);
        }
    }
    Ok(builder.finish(&dataset))
}

/// An [`Analysis`] built one judged sample at a time, in increasing id
/// order: `analyze` and the statistics pass (for `report.html`) share it.
pub(crate) struct AnalysisBuilder {
    analysis: Analysis,
    names: Vec<String>,
    present: RangeSet,
    /// Complete or rejected for good: not gaps.
    done: RangeSet,
    damaged: RangeSet,
    /// With [`Self::digesting`]: failures folded here instead of listed.
    digest: Option<FailureDigest>,
}

impl AnalysisBuilder {
    /// A builder for the dataset `dir` (as given), its master seed and its
    /// blocks in chain order.
    pub(crate) fn new(dir: &Path, seed: u64, blocks: &[BlockDescription]) -> Self {
        let names: Vec<String> = blocks.iter().map(|b| b.name.clone()).collect();
        Self {
            analysis: Analysis {
                format: ANALYSIS_FORMAT,
                dataset: dir.to_path_buf(),
                seed,
                samples: SampleCounts::default(),
                ranges: Vec::new(),
                blocks: names
                    .iter()
                    .map(|name| BlockCounts {
                        name: name.clone(),
                        ..BlockCounts::default()
                    })
                    .collect(),
                failures: Vec::new(),
                damaged: Vec::new(),
                commands: Vec::new(),
                pipeline: blocks.to_vec(),
            },
            names,
            present: RangeSet::new(),
            done: RangeSet::new(),
            damaged: RangeSet::new(),
            digest: None,
        }
    }

    /// Folds failures into a [`FailureDigest`] that keeps `keep` whole of
    /// each sort, instead of listing every one in [`Analysis::failures`]
    /// (which stays empty): memory no longer grows per failed sample.
    pub(crate) fn digesting(mut self, keep: usize) -> Self {
        self.digest = Some(FailureDigest::new(keep));
        self
    }

    /// Adds one sample: its block states in chain order, and whether its
    /// record is damaged.
    pub(crate) fn add(&mut self, id: u64, states: &[BlockState], damaged: bool) {
        self.present.insert(id);
        if damaged {
            self.damaged.insert(id);
        }
        if count(&mut self.analysis, id, states, &self.names) {
            self.done.insert(id);
        }
        if let Some(digest) = &mut self.digest {
            self.analysis.failures.drain(..).for_each(|f| digest.add(f));
        }
    }

    /// The analysis, with the commands that fill the gaps in `dataset`.
    pub(crate) fn finish(mut self, dataset: &Dataset) -> Analysis {
        self.analysis.ranges = as_pairs(&self.present);
        self.analysis.damaged = as_pairs(&self.damaged);
        self.analysis.commands = fill_commands(dataset, &self.done, &self.present);
        self.analysis
    }

    /// [`Self::finish`], and the digest of the failures (made from
    /// [`Analysis::failures`] unless [`Self::digesting`]).
    pub(crate) fn finish_digested(
        mut self,
        dataset: &Dataset,
        keep: usize,
    ) -> (Analysis, FailureDigest) {
        let digest = self.digest.take();
        let analysis = self.finish(dataset);
        let digest = digest.unwrap_or_else(|| FailureDigest::of(&analysis.failures, keep));
        (analysis, digest)
    }
}

/// Failures grouped by block and kind, with the first `keep` rejected and
/// the first `keep` other failures kept whole: what a summary needs, in
/// memory that grows with the kinds and id ranges, not the samples.
pub(crate) struct FailureDigest {
    /// The groups.
    pub(crate) groups: FailureGroups,
    /// Failed samples that were rejected by a validation.
    pub(crate) rejected: u64,
    /// The first rejections, by sample id.
    pub(crate) first_rejected: Vec<Failure>,
    /// The first other failures, by sample id.
    pub(crate) first_failed: Vec<Failure>,
    keep: usize,
}

impl FailureDigest {
    fn new(keep: usize) -> Self {
        Self {
            groups: FailureGroups::new(),
            rejected: 0,
            first_rejected: Vec::new(),
            first_failed: Vec::new(),
            keep,
        }
    }

    /// The digest of `failures` (in sample order).
    pub(crate) fn of(failures: &[Failure], keep: usize) -> Self {
        let mut digest = Self::new(keep);
        failures.iter().cloned().for_each(|f| digest.add(f));
        digest
    }

    fn add(&mut self, failure: Failure) {
        self.groups
            .add(&failure.block, &failure.reason, failure.sample);
        let first = if failure.reason.starts_with(REJECTED_PREFIX) {
            self.rejected += 1;
            &mut self.first_rejected
        } else {
            &mut self.first_failed
        };
        if first.len() < self.keep {
            first.push(failure);
        }
    }
}

/// Adds one sample to the counts; whether it is done (complete, or
/// rejected for good).
fn count(analysis: &mut Analysis, id: u64, states: &[BlockState], names: &[String]) -> bool {
    analysis.samples.present += 1;
    let counts = analysis.blocks.iter_mut().map(|b| &mut b.counts);
    let failed = count_sample(counts, states);
    if let Some(index) = failed {
        let reason = match &states[index] {
            BlockState::Rejected(reason) => format!("{REJECTED_PREFIX}{reason}"),
            state => state.failure_reason().unwrap_or_default().to_owned(),
        };
        analysis.failures.push(Failure {
            sample: id,
            block: names[index].clone(),
            reason,
        });
    }
    let complete = failed.is_none() && states.iter().all(BlockState::is_complete);
    let rejected = final_rejection(states).is_some();
    let samples = &mut analysis.samples;
    match (complete, rejected, failed.is_some()) {
        (true, _, _) => samples.complete += 1,
        (_, true, _) => samples.rejected += 1,
        (_, _, true) => samples.failed += 1,
        _ => samples.incomplete += 1,
    }
    complete || rejected
}

/// The manifest, or a usage error naming a folder that is not a dataset.
pub(crate) fn read_manifest(dataset: &Dataset) -> Result<PipelineManifest> {
    dataset.read_manifest()?.ok_or_else(|| {
        Error::Usage(UsageError::NotADataset {
            path: dataset.root().to_path_buf(),
        })
    })
}

fn as_pairs(set: &RangeSet) -> Vec<[u64; 2]> {
    set.ranges().map(|r| [r.start, r.end]).collect()
}

/// Commands that complete every sample of the ranges the run logs targeted
/// and up to the highest id present, with the latest run's config file.
fn fill_commands(dataset: &Dataset, done: &RangeSet, present: &RangeSet) -> Vec<String> {
    let logs = read_run_logs(dataset);
    let targeted_end = logs
        .iter()
        .filter_map(|log| log.range)
        .filter(|[start, end]| end > start)
        .map(|[_, end]| end)
        .max();
    let present_end = present.ranges().last().map(|r| r.end);
    let Some(end) = targeted_end.max(present_end) else {
        return Vec::new();
    };
    let within = SampleRange::new(0, end);
    let gaps = done.gaps(within);
    let config = logs.last().map(|log| log.config.as_path());
    gap_commands(config, dataset.root(), &gaps, within)
}

/// `analyze --sample N`: one sample, block by block.
#[derive(Debug, Serialize)]
pub struct SampleDetail {
    /// The sample id.
    pub sample: u64,
    /// The dataset folder, as given.
    pub dataset: PathBuf,
    /// Why the record could not be trusted, if it could not.
    pub damaged: Option<String>,
    /// Each block, in chain order.
    pub blocks: Vec<BlockDetail>,
}

/// One block of a [`SampleDetail`].
#[derive(Debug, Serialize)]
pub struct BlockDetail {
    /// The block's name.
    pub name: String,
    /// Its state.
    pub state: BlockState,
    /// Its seed for this sample.
    pub seed: u64,
    /// Its last recorded wall time, over all runs.
    pub seconds: Option<f64>,
    /// Its recorded statistics.
    pub stats: Stats,
    /// The kept log of the block's last failed attempt, if it failed.
    pub failure_log: Option<KeptLog>,
}

/// The end of a failed attempt's log, kept in `.shardgen/failures/`.
#[derive(Debug, Serialize)]
pub struct KeptLog {
    /// The log file.
    pub path: PathBuf,
    /// Its last lines (at most [`LOG_LINES_SHOWN`]).
    pub tail: Vec<String>,
}

/// Lines of a kept failure log that `analyze --sample` shows.
pub(crate) const LOG_LINES_SHOWN: usize = 20;

/// Reads one sample of the dataset at `dir`.
pub fn sample_detail(dir: &Path, id: u64) -> Result<SampleDetail> {
    let dataset = Dataset::new(dir);
    let manifest = read_manifest(&dataset)?;
    let sample_dir = dataset.sample_dir(id);
    if !sample_dir.is_dir() {
        return Err(Error::Usage(UsageError::NoSuchSample {
            sample: id,
            dataset: dir.to_path_buf(),
            folder: sample_dir,
        }));
    }
    let read = read_record(&sample_dir, id);
    let judge = StateJudge::new(manifest.blocks.iter().cloned());
    let states = judge.judge(&sample_dir, read.valid());
    let timings = sample_timings(&dataset, id);
    let blocks = manifest
        .blocks
        .iter()
        .zip(states)
        .map(|(block, state)| BlockDetail {
            name: block.name.clone(),
            failure_log: matches!(state, BlockState::Failed(_))
                .then(|| failure_log::kept_tail(&dataset, id, &block.name, LOG_LINES_SHOWN))
                .flatten()
                .map(|(path, tail)| KeptLog { path, tail }),
            state,
            seed: BlockSeed::derive(manifest.seed, &block.name, id).value(),
            seconds: timings.get(&block.name).copied(),
            stats: read
                .valid()
                .and_then(|r| r.block(&block.name))
                .map(|b| b.stats.clone())
                .unwrap_or_default(),
        })
        .collect();
    Ok(SampleDetail {
        sample: id,
        dataset: dir.to_path_buf(),
        damaged: match read {
            RecordRead::Damaged(why) => Some(why),
            _ => None,
        },
        blocks,
    })
}

/// The last recorded wall time of each block for sample `id`, over all runs.
fn sample_timings(dataset: &Dataset, id: u64) -> BTreeMap<String, f64> {
    let mut last = BTreeMap::new();
    for file in journal_files(dataset).unwrap_or_default() {
        let _ = read_journal(&file, |line| {
            if line.sample == id {
                last.insert(line.block.to_owned(), line.seconds);
            }
        });
    }
    last
}
