//! What the statistics files were made from, as one digest, so that a run
//! that changed nothing can prove it and skip the statistics pass.
//!
//! The digest covers everything `statistics.yaml`, `statistics.csv`,
//! `timings.yaml` and the charts depend on: shardgen's version, the
//! pipeline and its `plots:`, every present sample in id order (its id, a
//! digest of its record's bytes and the state of each block, which covers
//! its outputs being there with their recorded sizes) and the timings
//! journals that hold lines. The statistics pass writes it to
//! `.shardgen/statistics.stamp` after the files; a run whose scan read
//! every present sample, ran nothing and computed the same digest leaves
//! the files as they are. `report.html` is left as it is too: it then does
//! not list that run, which changed nothing.

use std::fs;

use xxhash_rust::xxh3::Xxh3;

use crate::dataset::atomic::write_atomic;
use crate::dataset::state::BlockState;
use crate::dataset::Dataset;
use crate::layout::{
    REPORT_HTML, STATISTICS_CSV, STATISTICS_STAMP, STATISTICS_YAML, TIMINGS_SUFFIX,
};
use crate::pipeline::description::BlockDescription;

/// Folds what the statistics depend on into one digest, sample by sample
/// in increasing id order.
pub(crate) struct StatisticsStamp {
    hasher: Xxh3,
}

impl StatisticsStamp {
    /// A stamp of the pipeline `blocks` with the charts described by
    /// `plots` (any stable text of the `plots:` entries).
    pub(crate) fn new(blocks: &[BlockDescription], plots: &str) -> Self {
        let mut hasher = Xxh3::new();
        hasher.update(b"shardgen-statistics-stamp/1\0");
        hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
        let blocks = serde_json::to_vec(blocks).expect("descriptions serialize");
        hasher.update(&blocks);
        hasher.update(plots.as_bytes());
        Self { hasher }
    }

    /// Adds the present sample `id` (call in increasing id order).
    pub(crate) fn add(&mut self, id: u64, record_digest: u64, states: &[BlockState]) {
        self.hasher.update(&id.to_le_bytes());
        self.hasher.update(&record_digest.to_le_bytes());
        // No allocation: this runs for every sample the scan reads.
        for state in states {
            self.hasher.update(&[state_code(state)]);
        }
    }

    /// The digest, with the timings journals of `dataset` that hold lines.
    pub(crate) fn finish(mut self, dataset: &Dataset) -> String {
        let mut journals: Vec<(String, u64)> = fs::read_dir(dataset.runs_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().to_string_lossy().into_owned();
                let len = entry.metadata().ok()?.len();
                (name.ends_with(TIMINGS_SUFFIX) && len > 0).then_some((name, len))
            })
            .collect();
        journals.sort();
        for (name, len) in journals {
            self.hasher.update(name.as_bytes());
            self.hasher.update(&len.to_le_bytes());
        }
        format!("{:032x}", self.hasher.digest128())
    }
}

fn state_code(state: &BlockState) -> u8 {
    match state {
        BlockState::Complete => 0,
        BlockState::Failed(_) => 1,
        BlockState::Rejected(_) => 2,
        BlockState::Stale => 3,
        BlockState::Missing => 4,
    }
}

/// Records that the statistics files were made from `stamp`.
pub(crate) fn write_stamp(dataset: &Dataset, stamp: &str) -> std::io::Result<()> {
    write_atomic(
        &dataset.meta_dir().join(STATISTICS_STAMP),
        format!("{stamp}\n").as_bytes(),
    )
}

/// Forgets the stamp (the statistics files are being rewritten).
pub(crate) fn forget(dataset: &Dataset) -> std::io::Result<()> {
    crate::dataset::atomic::remove_if_present(&dataset.meta_dir().join(STATISTICS_STAMP))
}

/// Whether the statistics files are there and were made from `stamp`.
pub(crate) fn is_current(dataset: &Dataset, stamp: &str) -> bool {
    let Ok(recorded) = fs::read_to_string(dataset.meta_dir().join(STATISTICS_STAMP)) else {
        return false;
    };
    recorded.trim() == stamp
        && [STATISTICS_YAML, STATISTICS_CSV, REPORT_HTML]
            .iter()
            .all(|name| dataset.root().join(name).is_file())
}
