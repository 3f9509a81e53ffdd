//! What the engine remembers of each sample: one small JSON file per sample
//! folder (`.shardgen.json`), written atomically after every block.
//!
//! The record holds only deterministic content (fingerprints, status, failure
//! reason, statistics), so a sample folder is byte-identical however it was
//! made; timings and hosts go to the per-run files under `.shardgen/runs/`.
//! A record that is missing, torn, unparsable, of another format version or
//! of another sample is never trusted: it reads as "no block done".

use serde::{Deserialize, Serialize};

use crate::block::Stats;

/// File name of the per-sample record inside a sample folder.
pub const RECORD_FILE: &str = ".shardgen.json";

/// Format version of [`SampleRecord`]; bump on any incompatible change.
pub const RECORD_FORMAT: u32 = 1;

/// The record of one sample: the blocks that ran on it, in chain order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SampleRecord {
    /// [`RECORD_FORMAT`] of the writer.
    pub format: u32,
    /// The global sample index (guards against a folder copied to a wrong name).
    pub sample: u64,
    /// One entry per block that finished on this sample, in chain order.
    pub blocks: Vec<BlockRecord>,
}

/// The outcome of one block on one sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockRecord {
    /// The block's name in the pipeline.
    pub name: String,
    /// The block's fingerprint when it ran (hex).
    pub fingerprint: String,
    /// What happened.
    pub status: BlockStatus,
    /// Why it failed or was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Statistics the block recorded (also kept for rejected samples).
    #[serde(default, skip_serializing_if = "Stats::is_empty")]
    pub stats: Stats,
}

/// The outcome of a block on a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockStatus {
    /// Ran, validated, outputs published.
    Ok,
    /// `run` failed (error, exit code, timeout, missing output).
    Failed,
    /// `validate` rejected the sample.
    Rejected,
}
