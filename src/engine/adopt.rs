//! `shardgen run CONFIG --out DIR --adopt`: a way back after `DIR/.shardgen/`
//! was lost (deleted, or not copied along) while the sample folders survived.
//!
//! Each sample record names the fingerprint of every block that ran on it,
//! and a fingerprint covers the master seed, the block's type, version,
//! params and declared files, and those of the blocks before it. So a record
//! whose entries all carry the fingerprints of CONFIG's blocks vouches that
//! the sample was made by this pipeline. Adopting needs at least one such
//! sample; the run then writes a new manifest and goes on as usual (samples
//! that do not agree are redone like those of a changed pipeline). Adopting
//! reads only: nothing is written before the run itself starts.

use rayon::prelude::*;

use serde::Serialize;

use crate::dataset::record::read_record;
use crate::dataset::Dataset;
use crate::error::{Result, UsageError};
use crate::pipeline::Pipeline;

/// What `--adopt` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Adopted {
    /// Sample folders whose record agrees with the config.
    pub vouched: u64,
    /// Sample folders present.
    pub seen: u64,
}

/// Checks that `dataset` can be adopted by `pipeline`: `None` if it needs no
/// adopting (it has `.shardgen/`, or is absent or empty), else how many
/// samples agree; refuses (exit 2) if none does.
pub(crate) fn vouch(pipeline: &Pipeline, dataset: &Dataset) -> Result<Option<Adopted>> {
    let root = dataset.root();
    let empty = std::fs::read_dir(root).map_or(true, |mut e| e.next().is_none());
    if empty || dataset.meta_dir().is_dir() {
        return Ok(None);
    }
    let ids = dataset.present_sample_folders()?;
    let fingerprints: Vec<(&str, &str)> = pipeline
        .blocks
        .iter()
        .map(|b| (b.name(), b.description.fingerprint.as_str()))
        .collect();
    let vouched = ids
        .par_iter()
        .filter(|&&id| {
            read_record(&dataset.sample_dir(id), id)
                .valid()
                .is_some_and(|record| {
                    !record.blocks.is_empty()
                        && record.blocks.iter().all(|entry| {
                            fingerprints.iter().any(|&(name, print)| {
                                name == entry.name && print == entry.fingerprint
                            })
                        })
                })
        })
        .count() as u64;
    let seen = ids.len() as u64;
    if vouched == 0 {
        return Err(UsageError::NothingToAdopt {
            seen,
            dataset: root.to_path_buf(),
            config: pipeline.config_path.clone(),
        }
        .into());
    }
    Ok(Some(Adopted { vouched, seen }))
}
