//! What a run already knows of its samples when its statistics pass starts,
//! so that the pass reads each record at most once per run: the scan keeps
//! the facts of every sample it leaves alone, the executor those of every
//! record it writes, and the pass reads from disk only the rest (samples
//! outside the targeted range, samples another run finished meanwhile).
//!
//! What the scan read is trusted only while no other run has started or
//! ended since ([`RunFiles`]): a run that may have rewritten records always
//! writes its log when it ends, and the pass of the last run to end (they
//! take turns) then reads from disk whatever it did not write itself.
//! `--verify` judges outputs deeper than the pass does, so its scan keeps
//! nothing.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::dataset::facts_spool::{FactsSpool, SortedFacts};
use crate::dataset::record::SampleRecord;
use crate::dataset::runlog::RunFiles;
use crate::dataset::sample_facts::SampleFacts;
use crate::dataset::state::StateJudge;
use crate::dataset::Dataset;
use crate::pipeline::description::BlockDescription;

/// The facts a run keeps for its statistics pass. See the [module docs](self).
pub(crate) struct KnownSamples {
    spool: Mutex<FactsSpool>,
    /// The runs folder before the scan.
    before: RunFiles,
    /// Judges the records the executor writes, without looking at files.
    judge: StateJudge,
    names: Vec<String>,
}

impl KnownSamples {
    /// Starts keeping facts for a run on `dataset` with the pipeline
    /// `blocks`; call before the scan reads anything.
    pub(crate) fn start(dataset: &Dataset, blocks: &[BlockDescription]) -> Self {
        Self {
            spool: Mutex::new(FactsSpool::new(&spill_folder(dataset))),
            before: RunFiles::of(dataset, None),
            judge: StateJudge::new(blocks.iter().cloned()).trusting(),
            names: blocks.iter().map(|b| b.name.clone()).collect(),
        }
    }

    /// The spool the scan puts the facts of untouched samples in.
    pub(crate) fn scan_spool(&mut self) -> &mut FactsSpool {
        self.spool.get_mut().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps the facts of a record the executor just wrote in `dir`: its
    /// outputs were just published as recorded, so no file is looked at.
    pub(crate) fn record_written(
        &self,
        sample: u64,
        dir: &Path,
        record: &SampleRecord,
        digest: u64,
    ) {
        let states = self.judge.judge(dir, Some(record));
        let facts = SampleFacts::from_written(sample, states, record, digest, &self.names);
        if let Ok(mut spool) = self.spool.lock() {
            spool.push(&facts);
        }
    }

    /// The facts to aggregate, in id order; `None` (read everything) if
    /// another run than `run` started or ended since the scan.
    pub(crate) fn into_sorted(self, dataset: &Dataset, run: &str) -> Option<SortedFacts> {
        if RunFiles::of(dataset, Some(run)) != self.before {
            return None;
        }
        self.spool.into_inner().ok()?.into_sorted()
    }
}

/// Where a spool too large for memory spills: the dataset's own `.shardgen/`
/// (its filesystem has room for what the records hold), or the temporary
/// folder for a dataset that has none yet.
fn spill_folder(dataset: &Dataset) -> PathBuf {
    let meta = dataset.meta_dir();
    match meta.is_dir() {
        true => meta,
        false => std::env::temp_dir(),
    }
}
