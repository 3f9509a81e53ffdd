//! The checks before a merge changes anything: every shard and DIR are
//! datasets of the same seed and pipeline.

use std::fs;
use std::path::PathBuf;

use crate::dataset::Dataset;
use crate::error::{Error, MergeError, PipelineDifference, Result, UsageError};
use crate::pipeline::description::PipelineManifest;
use crate::pipeline::fingerprint::explain_changes;

use super::report::*;

/// A place holding sample folders: DIR (index 0) or a shard.
pub(super) struct Source {
    /// The path as given, for messages.
    pub(super) label: PathBuf,
    /// The folder.
    pub(super) root: PathBuf,
    /// Its sample ids, sorted.
    pub(super) samples: Vec<u64>,
}

impl Source {
    /// The folder of sample `id` in it.
    pub(super) fn sample_dir(&self, id: u64) -> PathBuf {
        self.root.join(crate::layout::sample_path(id))
    }
}

/// Checks the shards and DIR; the sources (DIR first), the reference
/// manifest, and whether DIR already has a manifest.
pub(super) fn check_sources(
    options: &MergeOptions,
    dataset: &Dataset,
) -> Result<(Vec<Source>, PipelineManifest, bool)> {
    let into_canonical = fs::canonicalize(&options.into).ok();
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut manifests = Vec::new();
    for shard in &options.shards {
        let not_a_folder = || MergeError::NotAFolder {
            path: shard.clone(),
        };
        if !fs::metadata(shard).is_ok_and(|m| m.is_dir()) {
            return Err(not_a_folder().into());
        }
        let canonical = fs::canonicalize(shard).map_err(|_| not_a_folder())?;
        let repeated = |what| MergeError::Repeated {
            path: shard.clone(),
            what,
        };
        if into_canonical.as_ref() == Some(&canonical) {
            return Err(repeated("it is the --into folder").into());
        }
        if seen.contains(&canonical) {
            return Err(repeated("given twice").into());
        }
        seen.push(canonical);
        let manifest =
            Dataset::new(shard)
                .read_manifest()?
                .ok_or_else(|| MergeError::NotADataset {
                    path: shard.clone(),
                })?;
        manifests.push(manifest);
    }
    let dir_manifest = dataset.read_manifest()?;
    let dir_has_manifest = dir_manifest.is_some();
    let (reference, reference_label) = match dir_manifest {
        Some(manifest) => (manifest, options.into.clone()),
        None => match manifests.first() {
            Some(first) => (first.clone(), options.shards[0].clone()),
            None => return Err(Error::Usage(UsageError::NoShards)),
        },
    };
    for (shard, manifest) in options.shards.iter().zip(&manifests) {
        if let Some(difference) = pipeline_difference(&reference, manifest) {
            return Err(MergeError::PipelineMismatch {
                shard: shard.clone(),
                reference: reference_label,
                difference,
            }
            .into());
        }
    }
    let mut sources = vec![Source {
        label: options.into.clone(),
        root: options.into.clone(),
        samples: dataset.present_sample_folders()?,
    }];
    for shard in &options.shards {
        sources.push(Source {
            label: shard.clone(),
            root: shard.clone(),
            samples: Dataset::new(shard).present_sample_folders()?,
        });
    }
    Ok((sources, reference, dir_has_manifest))
}

/// How `shard`'s pipeline differs from `reference`'s, if it does.
pub(super) fn pipeline_difference(
    reference: &PipelineManifest,
    shard: &PipelineManifest,
) -> Option<PipelineDifference> {
    if reference.seed != shard.seed {
        return Some(PipelineDifference::Seed {
            shard: shard.seed,
            reference: reference.seed,
        });
    }
    let names = |m: &PipelineManifest| m.blocks.iter().map(|b| b.name.clone()).collect::<Vec<_>>();
    if names(reference) != names(shard) {
        return Some(PipelineDifference::Blocks {
            shard: names(shard),
            reference: names(reference),
        });
    }
    explain_changes(reference, &shard.blocks)
        .into_iter()
        .zip(&shard.blocks)
        .find_map(|(change, block)| {
            change.map(|change| PipelineDifference::Fingerprint {
                block: block.name.clone(),
                change,
            })
        })
}
