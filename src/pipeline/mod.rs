//! A validated pipeline: the built blocks in chain order, each with its
//! description (what the dataset records) and its fingerprint.

pub(crate) mod bounds;
pub(crate) mod config;
pub(crate) mod description;
pub(crate) mod fingerprint;
pub(crate) mod outputs;
pub(crate) mod plots;
pub(crate) mod programs;

use std::path::PathBuf;
use std::time::Duration;

use crate::block::DynBlock;
use crate::pipeline::description::{BlockDescription, PipelineManifest, MANIFEST_FORMAT};
use crate::pipeline::outputs::BlockOutputs;

/// One block of a loaded pipeline.
pub(crate) struct PipelineBlock {
    /// What the dataset records of it.
    pub description: BlockDescription,
    /// Compiled output patterns.
    pub outputs: BlockOutputs,
    /// The `timeout:` of the config.
    pub timeout: Option<Duration>,
    /// The `retries:` of the config: failed attempts retried in the run.
    pub retries: u32,
    pub(crate) instance: Box<dyn DynBlock>,
}

impl PipelineBlock {
    /// The block's name.
    pub(crate) fn name(&self) -> &str {
        &self.description.name
    }
}

/// A pipeline loaded from a config and validated.
pub(crate) struct Pipeline {
    /// The master seed.
    pub seed: u64,
    /// The config's `samples:`, the default `--num-samples`.
    pub samples: Option<u64>,
    /// The blocks, in chain order.
    pub blocks: Vec<PipelineBlock>,
    /// The config's `plots:` entries.
    pub plots: Vec<crate::pipeline::plots::PlotSpec>,
    /// The config file.
    pub config_path: PathBuf,
    /// The folder holding the config file (absolute), `{config_dir}`.
    pub config_dir: PathBuf,
}

impl Pipeline {
    /// What `.shardgen/pipeline.json` records of this pipeline.
    pub(crate) fn manifest(&self) -> PipelineManifest {
        PipelineManifest {
            format: MANIFEST_FORMAT,
            layout: crate::layout::LAYOUT_VERSION,
            seed: self.seed,
            blocks: self.descriptions(),
        }
    }

    /// Each block's description, in chain order.
    pub(crate) fn descriptions(&self) -> Vec<BlockDescription> {
        self.blocks.iter().map(|b| b.description.clone()).collect()
    }

    /// Each block's name, in chain order.
    pub(crate) fn block_names(&self) -> Vec<String> {
        self.blocks.iter().map(|b| b.name().to_owned()).collect()
    }

    /// The index of the block named `name`.
    pub(crate) fn block_index(&self, name: &str) -> Option<usize> {
        self.blocks.iter().position(|b| b.name() == name)
    }
}
