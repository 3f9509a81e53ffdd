//! `shardgen upgrade DIR`: converts a dataset of the flat layout (layout 1:
//! every sample folder directly in DIR) to the bucketed layout of
//! [`crate::layout`] in place.
//!
//! # Algorithm
//!
//! 1. **Check, read only.** DIR must hold `.shardgen/pipeline.json` (of
//!    either layout), or flat sample folders (a dataset whose `.shardgen/`
//!    was lost: they are moved, and `run --adopt` takes it from there). No live run may hold claims in it (a run of an
//!    earlier version could still be writing flat sample folders). Every
//!    flat sample folder's bucket must be absent or a real folder, and must
//!    not already hold a folder of that sample (two copies of one sample:
//!    the user decides which stays). Any refusal is exit 2 with nothing
//!    changed.
//! 2. **Move.** Each sample folder (whatever it is: a folder, or a symlink
//!    or file named like one, which then stays damage that a run sets aside)
//!    is renamed into its bucket, the bucket created first: one `rename`
//!    per sample, never replacing anything (`RENAME_NOREPLACE`), never
//!    copying or deleting. Buckets are done in parallel.
//! 3. **Bump.** Only when no flat sample folder is left, the manifest is
//!    rewritten (atomically) with the layout version: before that instant,
//!    every other shardgen command refuses DIR as flat, so none sees a half
//!    converted dataset.
//!
//! A kill at any point leaves each sample folder either at its old or at its
//! new place; running `shardgen upgrade DIR` again moves the rest and bumps
//! the layout. On a dataset already in the bucketed layout it changes
//! nothing. A flat shard copied into a bucketed dataset (`cp -a`) is moved
//! the same way.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::dataset::claim::{live_holder, resolve_lease};
use crate::dataset::safe_fs::rename_no_replace;
use crate::dataset::Dataset;
use crate::error::{Error, Result, UsageError};
use crate::layout::{bucket_of, sample_dir_name, FLAT_LAYOUT, LAYOUT_VERSION};
use crate::pipeline::description::{PipelineManifest, MANIFEST_FORMAT};

/// Format of the `--json` report of `shardgen upgrade`.
pub const UPGRADE_REPORT_FORMAT: &str = "shardgen-upgrade/1";

/// What `shardgen upgrade` did.
#[derive(Clone, Debug, Serialize)]
pub struct UpgradeReport {
    /// [`UPGRADE_REPORT_FORMAT`].
    pub format: &'static str,
    /// The dataset folder.
    pub dataset: PathBuf,
    /// The layout before (1: flat).
    pub from_layout: u32,
    /// The layout now.
    pub layout: u32,
    /// Sample folders renamed into their bucket by this command.
    pub moved: u64,
    /// Bucket folders it created.
    pub buckets_created: u64,
    /// Whether `report.html` exists and still links to the old folders.
    pub report_outdated: bool,
}

/// Converts the dataset at `dir` to the bucketed layout; a no-op on one
/// already converted.
pub fn upgrade(dir: &Path) -> Result<UpgradeReport> {
    let dataset = Dataset::new(dir);
    let manifest = dataset.read_manifest_of_any_layout()?;
    let root = dataset.list_root()?;
    // Without a manifest (`.shardgen/` lost) only flat sample folders make
    // it a dataset: they are moved, and `run --adopt` takes it from there.
    if manifest.is_none() && root.flat_samples.is_empty() {
        return Err(UsageError::NotADataset {
            path: dir.to_path_buf(),
        }
        .into());
    }
    let from_layout = manifest.as_ref().map_or(FLAT_LAYOUT, |m| m.layout);
    let mut report = UpgradeReport {
        format: UPGRADE_REPORT_FORMAT,
        dataset: dir.to_path_buf(),
        from_layout,
        layout: from_layout,
        moved: 0,
        buckets_created: 0,
        report_outdated: false,
    };
    if from_layout == LAYOUT_VERSION && root.flat_samples.is_empty() {
        return Ok(report);
    }
    let lease = resolve_lease(None)?;
    let claims = live_holder(&dataset, lease)
        .map_err(|e| Error::io("cannot read", dataset.meta_dir().join("claims"), e))?;
    if let Some(holder) = claims {
        return Err(UsageError::UpgradeWhileRunning {
            dataset: dir.to_path_buf(),
            holder,
        }
        .into());
    }
    let mut by_bucket: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for &id in &root.flat_samples {
        by_bucket.entry(bucket_of(id)).or_default().push(id);
    }
    check_targets(&dataset, &root.buckets, &root.not_folders, &by_bucket)?;

    // From here on the dataset changes; each step is a rename.
    let moved: Vec<(u64, bool)> = by_bucket
        .par_iter()
        .map(|(&bucket, ids)| move_bucket(&dataset, bucket, ids))
        .collect::<Result<_>>()?;
    report.moved = moved.iter().map(|m| m.0).sum();
    report.buckets_created = moved.iter().filter(|m| m.1).count() as u64;
    let left = dataset.list_root()?.flat_samples;
    if let Some(&id) = left.first() {
        return Err(Error::Dataset {
            path: dir.join(sample_dir_name(id)),
            message: "appeared while upgrading (is a run of an earlier shardgen writing \
                      here?); stop it, then upgrade again"
                .to_owned(),
        });
    }
    if let Some(manifest) = manifest.filter(|m| m.layout == FLAT_LAYOUT) {
        dataset.write_manifest(&PipelineManifest {
            format: MANIFEST_FORMAT,
            layout: LAYOUT_VERSION,
            ..manifest
        })?;
    }
    report.layout = LAYOUT_VERSION;
    report.report_outdated =
        report.moved > 0 && dataset.root().join(crate::layout::REPORT_HTML).is_file();
    Ok(report)
}

/// Refuses (exit 2, nothing changed) if a sample's bucket is not a real
/// folder, or already holds an entry of that sample.
fn check_targets(
    dataset: &Dataset,
    buckets: &[u64],
    not_folders: &[u64],
    by_bucket: &BTreeMap<u64, Vec<u64>>,
) -> Result<()> {
    for (&bucket, ids) in by_bucket {
        let dir = dataset.bucket_dir(bucket);
        if not_folders.binary_search(&bucket).is_ok() {
            return Err(Error::Dataset {
                path: dir,
                message: "named like a bucket of sample folders but not a real folder (a \
                          symlink or a file); move it away, then upgrade again"
                    .to_owned(),
            });
        }
        if buckets.binary_search(&bucket).is_err() {
            continue;
        }
        let present: Vec<_> = fs::read_dir(&dir)
            .map_err(|e| Error::io("cannot read", &dir, e))?
            .flatten()
            .map(|e| e.file_name())
            .collect();
        for &id in ids {
            let name = sample_dir_name(id);
            if present.iter().any(|p| *p == *name) {
                return Err(Error::Dataset {
                    path: dataset.root().join(&name),
                    message: format!(
                        "sample {id} is also in {}; keep one copy (move the other out of the \
                         dataset), then upgrade again",
                        dir.join(&name).display()
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Renames the flat sample folders `ids` into `bucket`, creating it; how
/// many moved, and whether the bucket was created.
fn move_bucket(dataset: &Dataset, bucket: u64, ids: &[u64]) -> Result<(u64, bool)> {
    let dir = dataset.bucket_dir(bucket);
    let created = match fs::create_dir(&dir) {
        Ok(()) => true,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(Error::io("cannot create", dir, e)),
    };
    let mut moved = 0;
    for &id in ids {
        let name = sample_dir_name(id);
        let from = dataset.root().join(&name);
        match rename_no_replace(&from, &dir.join(&name)) {
            Ok(()) => moved += 1,
            // Moved meanwhile by another upgrade of the same folder.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("cannot move into its bucket", from, e)),
        }
    }
    Ok((moved, created))
}
