//! What `shardgen merge` is asked and what it reports.

use std::path::PathBuf;

use serde::Serialize;

use crate::ranges::{RangeSet, SampleRange};

/// Everything `shardgen merge` was asked, free of any CLI parsing.
#[derive(Clone, Debug, Default)]
pub struct MergeOptions {
    /// The shard folders, in the order given.
    pub shards: Vec<PathBuf>,
    /// The dataset folder to merge into (`--into`), new or existing.
    pub into: PathBuf,
    /// Move the shards' sample folders instead of copying them.
    pub move_samples: bool,
    /// Report conflicting samples and keep DIR's copy instead of refusing.
    pub skip_conflicts: bool,
    /// Worker threads (`None`: all cores).
    pub jobs: Option<usize>,
    /// `--durable`: every file copied, every folder made or renamed into and
    /// every run file is fsynced before the merge counts it done.
    pub durable: bool,
}

/// A sample whose copies conflict, as reported with `--skip-conflicts`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SampleConflict {
    /// The sample id.
    pub sample: u64,
    /// The folder (DIR or shard, as given) of one copy.
    pub first: PathBuf,
    /// The folder of the other copy.
    pub second: PathBuf,
    /// What differs, e.g. `'a.bin' differs`.
    pub difference: String,
    /// Whether DIR holds a copy (kept as it is); otherwise the sample is left
    /// out of DIR.
    pub kept_in_dir: bool,
}

/// The `format` of a merge report.
pub const MERGE_REPORT_FORMAT: &str = "shardgen-merge/1";

/// What a merge did. `--json` prints it as one object (schema in the README).
#[derive(Clone, Debug, Default, Serialize)]
pub struct MergeReport {
    /// [`MERGE_REPORT_FORMAT`].
    pub format: &'static str,
    /// The `--into` folder, as given.
    pub into: PathBuf,
    /// Number of shards merged.
    pub shards: usize,
    /// Whether samples were moved rather than copied.
    pub moved: bool,
    /// Samples that DIR did not hold and now does.
    pub brought: RangeSet,
    /// Samples whose copy in DIR was replaced by a copy further along.
    pub replaced: RangeSet,
    /// Shard copies not brought in because the copy kept is identical or
    /// further along.
    pub left_out: u64,
    /// Conflicting samples, by id (only with `--skip-conflicts`).
    pub conflicts: Vec<SampleConflict>,
    /// The samples DIR holds after the merge.
    pub present: RangeSet,
    /// The ids missing between the lowest and highest id present.
    pub gaps: Vec<SampleRange>,
    /// Run log files copied or moved into `DIR/.shardgen/runs/`.
    pub run_files: u64,
    /// Logs of failed attempts (`DIR/.shardgen/failures/`) brought in with
    /// the samples taken from the shards.
    pub failure_logs: u64,
    /// `shardgen run` commands that fill the gaps.
    pub commands: Vec<String>,
    /// The signal that interrupted the merge (`SIGINT`, `SIGTERM`), if any:
    /// the samples above are those merged before it, each whole; running
    /// the same merge again finishes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted_by: Option<String>,
    /// Samples the plan would have brought or replaced but that an
    /// interruption left for the next merge.
    #[serde(skip_serializing_if = "RangeSet::is_empty")]
    pub not_merged: RangeSet,
}
