//! What a dataset folder says about each block of each sample, judged from
//! the sample's record and the files present: the one notion of "done" that
//! planning, statistics and `analyze` share.

/// The state of one block on one sample.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum BlockState {
    /// Succeeded with the current fingerprint and its required outputs exist
    /// (as recorded: same size; with `--verify`, same digest).
    Complete,
    /// Its last attempt failed (error, exit code, timeout, missing output).
    Failed(String),
    /// Its last attempt was rejected by validation.
    Rejected(String),
    /// Made by another version of the pipeline (fingerprint differs).
    Stale,
    /// Never ran, was reset, or its outputs are gone or damaged.
    Missing,
}

impl BlockState {
    /// Whether this block counts as done.
    pub fn is_complete(&self) -> bool {
        matches!(self, BlockState::Complete)
    }

    /// The failure or rejection reason, if the block failed.
    pub fn failure_reason(&self) -> Option<&str> {
        match self {
            BlockState::Failed(reason) | BlockState::Rejected(reason) => Some(reason),
            _ => None,
        }
    }
}

/// How one block fares over many samples: the per-block counts that
/// `analyze` and `statistics.yaml` both show, counted by [`count_sample`].
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BlockCounts {
    /// Complete with the current fingerprint.
    pub complete: u64,
    /// Failed (error, exit code, timeout, missing output); rejections apart.
    pub failed: u64,
    /// Rejected by the block's validation.
    pub rejected: u64,
    /// Made by another version of the pipeline.
    pub stale: u64,
    /// Not run yet, or after a block that failed.
    pub missing: u64,
}

/// Adds one sample's block states to `counts` (one entry per block). A block
/// after one that failed counts as missing, whatever an old record says of
/// it: it has to run again. Returns the index of the failed block, if any.
pub(crate) fn count_sample<'a>(
    counts: impl IntoIterator<Item = &'a mut BlockCounts>,
    states: &[BlockState],
) -> Option<usize> {
    let mut failed = None;
    for (index, (counts, state)) in counts.into_iter().zip(states).enumerate() {
        match state {
            _ if failed.is_some() => counts.missing += 1,
            BlockState::Complete => counts.complete += 1,
            BlockState::Stale => counts.stale += 1,
            BlockState::Missing => counts.missing += 1,
            BlockState::Failed(_) => {
                counts.failed += 1;
                failed = Some(index);
            }
            BlockState::Rejected(_) => {
                counts.rejected += 1;
                failed = Some(index);
            }
        }
    }
    failed
}

/// The block whose rejection of this sample is final, if any: the first
/// block that did not succeed was rejected by its validation (with its
/// current fingerprint), and every block before it is complete, so running
/// it again would judge the same inputs. Such a sample counts as done.
pub(crate) fn final_rejection(states: &[BlockState]) -> Option<usize> {
    let first = states.iter().position(|s| !s.is_complete())?;
    matches!(states[first], BlockState::Rejected(_)).then_some(first)
}

use std::path::Path;

use rayon::prelude::*;

use crate::dataset::integrity::{all_intact, Depth};
use crate::dataset::record::{read_record_digested, BlockStatus, RecordRead, SampleRecord};
use crate::dataset::Dataset;
use crate::pipeline::description::BlockDescription;
use crate::pipeline::outputs::BlockOutputs;

/// A sample as read from disk: its record and the state of each block.
pub(crate) struct JudgedSample {
    /// What reading the record gave.
    pub record: RecordRead,
    /// The state of each block, in chain order.
    pub states: Vec<BlockState>,
    /// A digest of the record's bytes (0 without a record).
    pub record_digest: u64,
}

impl JudgedSample {
    /// Whether every block is complete.
    pub(crate) fn is_complete(&self) -> bool {
        self.states.iter().all(BlockState::is_complete)
    }
}

/// Judges the state of each block of a sample from its record and the files
/// present. Built once per command, from a loaded pipeline or from the
/// dataset's manifest alone.
pub(crate) struct StateJudge {
    blocks: Vec<(BlockDescription, BlockOutputs)>,
    depth: Depth,
    /// Recorded outputs are taken as they are recorded ([`Self::trusting`]).
    trusted: bool,
}

impl StateJudge {
    /// A judge for the blocks of a pipeline, in chain order.
    pub(crate) fn new(blocks: impl IntoIterator<Item = BlockDescription>) -> Self {
        Self {
            blocks: blocks
                .into_iter()
                .map(|d| {
                    let outputs = BlockOutputs::of(&d);
                    (d, outputs)
                })
                .collect(),
            depth: Depth::Size,
            trusted: false,
        }
    }

    /// A judge of records this run has just written, whose outputs it has
    /// just published: each recorded output is taken to be there, as
    /// recorded, without looking (the same states a later scan would find,
    /// at no syscall).
    #[must_use]
    pub(crate) fn trusting(mut self) -> Self {
        self.trusted = true;
        self
    }

    /// With `on` (`run --verify`), recorded outputs are also read and their
    /// digests compared: a file changed in place reads as missing.
    #[must_use]
    pub(crate) fn verifying(mut self, on: bool) -> Self {
        self.depth = if on { Depth::Digest } else { Depth::Size };
        self
    }

    /// Reads and judges the samples `ids` of `dataset` in parallel (on the
    /// current rayon pool) and maps each with `then`, in parallel too, so a
    /// caller keeps only what it needs (`then` gets each id with its sample);
    /// the results are in the order of `ids`.
    pub(crate) fn judge_samples<T: Send>(
        &self,
        dataset: &Dataset,
        ids: &[u64],
        then: impl Fn(u64, JudgedSample) -> T + Sync + Send,
    ) -> Vec<T> {
        ids.par_iter()
            .map(|&id| {
                let dir = dataset.sample_dir(id);
                let (record, record_digest) = read_record_digested(&dir, id);
                let states = self.judge(&dir, record.valid());
                let judged = JudgedSample {
                    record,
                    states,
                    record_digest,
                };
                then(id, judged)
            })
            .collect()
    }

    /// The state of every block of the sample in `sample_dir`, in chain order.
    ///
    /// A block with outputs that would count as complete after an earlier
    /// block with outputs that is not complete reads as `Missing`: it will
    /// have to be remade.
    pub(crate) fn judge(
        &self,
        sample_dir: &Path,
        record: Option<&SampleRecord>,
    ) -> Vec<BlockState> {
        let mut chain_broken = false;
        self.blocks
            .iter()
            .map(|(description, outputs)| {
                let mut state = judge_block(
                    description,
                    outputs,
                    sample_dir,
                    record,
                    self.depth,
                    self.trusted,
                );
                if description.has_outputs() {
                    if chain_broken && state.is_complete() {
                        state = BlockState::Missing;
                    }
                    chain_broken |= !state.is_complete();
                }
                state
            })
            .collect()
    }
}

fn judge_block(
    description: &BlockDescription,
    outputs: &BlockOutputs,
    sample_dir: &Path,
    record: Option<&SampleRecord>,
    depth: Depth,
    trusted: bool,
) -> BlockState {
    let Some(entry) = record.and_then(|r| r.block(&description.name)) else {
        return BlockState::Missing;
    };
    if entry.fingerprint != description.fingerprint {
        return BlockState::Stale;
    }
    let reason = || entry.reason.clone().unwrap_or_default();
    match entry.status {
        BlockStatus::Failed => BlockState::Failed(reason()),
        BlockStatus::Rejected => BlockState::Rejected(reason()),
        // A record of before digests: the required outputs must exist.
        BlockStatus::Ok if entry.outputs.is_empty() => match outputs.required_present(sample_dir) {
            true => BlockState::Complete,
            false => BlockState::Missing,
        },
        // Else every output it vouches for must be as published (the same
        // `lstat` per file as the presence check), and cover the required
        // patterns (in memory: no glob walk).
        BlockStatus::Ok => {
            let covered = outputs
                .required
                .iter()
                .all(|p| entry.outputs.iter().any(|o| p.matches(&o.path)));
            match covered && (trusted || all_intact(sample_dir, &entry.outputs, depth)) {
                true => BlockState::Complete,
                false => BlockState::Missing,
            }
        }
    }
}
