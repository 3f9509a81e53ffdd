//! A read-only view of a dataset folder for other programs: its samples in id
//! order, each with its blocks' states, its files and its statistics. It
//! writes nothing and may be used while a run is writing (records are
//! replaced atomically; a damaged one reads as "nothing done").

use std::path::{Path, PathBuf};

use crate::block::StatValue;
use crate::dataset::record::{read_record, RecordRead};
use crate::dataset::state::{BlockState, StateJudge};
use crate::dataset::walk::walk;
use crate::dataset::Dataset;
use crate::error::{Error, Result, UsageError};
use crate::layout::RECORD_FILE;
use crate::pipeline::description::BlockDescription;

/// An opened dataset folder.
pub struct DatasetView {
    dataset: Dataset,
    seed: u64,
    blocks: Vec<BlockDescription>,
    judge: StateJudge,
}

/// One sample of a [`DatasetView`].
#[derive(Clone, Debug)]
pub struct SampleView {
    /// The sample id.
    pub id: u64,
    /// The sample folder.
    pub path: PathBuf,
    /// Each block's name and state under the dataset's current pipeline.
    pub states: Vec<(String, BlockState)>,
    /// The files of the sample folder, relative to it, sorted (the record and
    /// temp files left out).
    pub files: Vec<PathBuf>,
    /// The recorded statistics, keyed `block.stat` as in `statistics.csv`.
    pub stats: Vec<(String, StatValue)>,
}

impl SampleView {
    /// Whether every block is complete under the current pipeline.
    pub fn is_complete(&self) -> bool {
        self.states.iter().all(|(_, state)| state.is_complete())
    }
}

impl DatasetView {
    /// Opens the dataset at `root`; an error if it is not one.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let dataset = Dataset::new(root);
        let manifest = dataset.read_manifest()?.ok_or_else(|| {
            Error::Usage(UsageError::NotADataset {
                path: dataset.root().to_path_buf(),
            })
        })?;
        Ok(Self {
            judge: StateJudge::new(manifest.blocks.iter().cloned()),
            seed: manifest.seed,
            blocks: manifest.blocks,
            dataset,
        })
    }

    /// The master seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The pipeline, in chain order.
    pub fn blocks(&self) -> &[BlockDescription] {
        &self.blocks
    }

    /// The ids of the sample folders present, sorted.
    pub fn sample_ids(&self) -> Result<Vec<u64>> {
        self.dataset.present_samples()
    }

    /// Sample `id`, if its folder is present.
    pub fn sample(&self, id: u64) -> Option<SampleView> {
        let dir = self.dataset.sample_dir(id);
        if !dir.is_dir() {
            return None;
        }
        let read = read_record(&dir, id);
        let states = self.judge.judge(&dir, read.valid());
        let mut stats = Vec::new();
        if let RecordRead::Valid(record) = &read {
            for block in &record.blocks {
                for (key, value) in &block.stats {
                    stats.push((format!("{}.{key}", block.name), value.clone()));
                }
            }
        }
        stats.sort_by(|a, b| a.0.cmp(&b.0));
        Some(SampleView {
            id,
            files: walk(&dir)
                .unwrap_or_default()
                .into_iter()
                .map(|f| f.relative)
                .filter(|f| f.as_os_str() != RECORD_FILE)
                .collect(),
            states: self
                .blocks
                .iter()
                .map(|b| b.name.clone())
                .zip(states)
                .collect(),
            stats,
            path: dir,
        })
    }

    /// Every sample present, in id order.
    pub fn samples(&self) -> Result<impl Iterator<Item = SampleView> + '_> {
        let ids = self.sample_ids()?;
        Ok(ids.into_iter().filter_map(|id| self.sample(id)))
    }

    /// The dataset folder.
    pub fn root(&self) -> &Path {
        self.dataset.root()
    }
}
