//! The dataset folder: where everything lives. Every file the engine reads
//! or writes in it is owned by one module below; the names are in
//! [`crate::layout`], and [`atomic`] is the only way anything is written.
//!
//! ```text
//! DIR/
//!   000000/                a bucket: the samples id / 10000 == 0 (layout.rs)
//!     0000000000/          one folder per sample, named by its global index
//!       scene.json ...     published block outputs
//!       .shardgen.json     the sample's record (see record.rs)
//!   000001/0000010000/ ...
//!   .shardgen/
//!     pipeline.json        master seed + pipeline of the latest run, layout version
//!     runs/<run-id>.yaml   one log per run; <run-id> = UTC time, host, pid
//!     runs/<run-id>.timings.tsv
//!     staging/<run-id>/    private scratch space of a run's block attempts
//!     claims/              which live run works on which sample (claim.rs)
//!     failures/<bucket>/<sample>.<block>.log   the end of a failed attempt's log
//!     statistics.stamp     what the statistics files were made from
//!   statistics.yaml ...    written by the statistics pass
//! ```
//!
//! Every name is unique per sample or per run, so `cp -a shard/. all/` of
//! shards made anywhere yields a valid dataset.

pub(crate) mod atomic;
pub(crate) mod claim;
pub(crate) mod dir_entries;
pub(crate) mod facts_spool;
pub(crate) mod failure_log;
pub(crate) mod integrity;
pub(crate) mod leftovers;
pub(crate) mod listing;
pub(crate) mod record;
pub(crate) mod runlog;
pub(crate) mod safe_fs;
pub(crate) mod sample_facts;
pub(crate) mod sample_guard;
pub(crate) mod staging;
pub(crate) mod state;
pub(crate) mod statistics_stamp;
pub(crate) mod timings;
pub(crate) mod view;
pub(crate) mod walk;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, UsageError};
use crate::layout::{
    bucket_dir_name, bucket_of, sample_dir_name, LAYOUT_VERSION, MANIFEST_FILE, META_DIR, RUNS_DIR,
    STAGING_DIR,
};
use crate::pipeline::description::{PipelineManifest, FLAT_MANIFEST_FORMAT, MANIFEST_FORMAT};
use atomic::write_atomic;

/// A dataset folder.
#[derive(Clone, Debug)]
pub(crate) struct Dataset {
    root: PathBuf,
}

impl Dataset {
    /// The dataset at `root` (which may not exist yet).
    pub(crate) fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The dataset folder.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of sample `id`: `DIR/<bucket>/<sample>`.
    pub(crate) fn sample_dir(&self, id: u64) -> PathBuf {
        let mut path = self.root.join(bucket_dir_name(bucket_of(id)));
        path.push(sample_dir_name(id));
        path
    }

    /// `.shardgen/`.
    pub(crate) fn meta_dir(&self) -> PathBuf {
        self.root.join(META_DIR)
    }

    /// `.shardgen/pipeline.json`.
    pub(crate) fn manifest_path(&self) -> PathBuf {
        self.meta_dir().join(MANIFEST_FILE)
    }

    /// `.shardgen/runs/`.
    pub(crate) fn runs_dir(&self) -> PathBuf {
        self.meta_dir().join(RUNS_DIR)
    }

    /// `.shardgen/staging/`.
    pub(crate) fn staging_root(&self) -> PathBuf {
        self.meta_dir().join(STAGING_DIR)
    }

    /// Whether the folder is absent, empty, or already a shardgen dataset:
    /// the engine never writes into a folder of something else. `flag` names
    /// the folder in messages (`--out`, `--into`).
    pub(crate) fn check_usable(&self, flag: &'static str) -> Result<()> {
        let mut entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
                return Err(Error::Usage(UsageError::FolderIsAFile {
                    flag,
                    path: self.root.clone(),
                }))
            }
            Err(e) => return Err(Error::io("cannot read", &self.root, e)),
        };
        if entries.next().is_none() || self.meta_dir().is_dir() {
            return Ok(());
        }
        Err(Error::Usage(UsageError::NotEmpty {
            flag,
            path: self.root.clone(),
        }))
    }

    /// The manifest, or `None` for a new dataset. A manifest of the flat
    /// layout is refused with the command that converts it.
    pub(crate) fn read_manifest(&self) -> Result<Option<PipelineManifest>> {
        let manifest = self.read_manifest_of_any_layout()?;
        match manifest {
            Some(manifest) if manifest.layout == crate::layout::FLAT_LAYOUT => {
                Err(listing::flat_layout_error(
                    &self.root,
                    format!("{} has no layout version", self.manifest_path().display()),
                ))
            }
            manifest => Ok(manifest),
        }
    }

    /// The manifest of this layout or of the flat one (for `shardgen
    /// upgrade`), or `None` for a new dataset.
    pub(crate) fn read_manifest_of_any_layout(&self) -> Result<Option<PipelineManifest>> {
        let path = self.manifest_path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("cannot read", path, e)),
        };
        match serde_json::from_slice::<PipelineManifest>(&bytes) {
            Ok(manifest)
                if manifest.format == MANIFEST_FORMAT && manifest.layout == LAYOUT_VERSION =>
            {
                Ok(Some(manifest))
            }
            Ok(manifest) if manifest.format == MANIFEST_FORMAT => Err(Error::Dataset {
                path,
                message: format!(
                    "layout {} is not supported by this shardgen (expects {LAYOUT_VERSION}); \
                     use the shardgen version that made the dataset",
                    manifest.layout
                ),
            }),
            Ok(manifest) if manifest.format == FLAT_MANIFEST_FORMAT => Ok(Some(PipelineManifest {
                layout: crate::layout::FLAT_LAYOUT,
                ..manifest
            })),
            Ok(manifest) => Err(Error::Dataset {
                path,
                message: format!(
                    "format {} is not supported by this shardgen (expects {MANIFEST_FORMAT}); \
                     use the shardgen version that made the dataset",
                    manifest.format
                ),
            }),
            Err(e) => Err(Error::Dataset {
                path,
                message: format!("unreadable ({e}); restore it from a shard of this dataset"),
            }),
        }
    }

    /// Writes the manifest atomically.
    pub(crate) fn write_manifest(&self, manifest: &PipelineManifest) -> Result<()> {
        let path = self.manifest_path();
        let mut bytes = serde_json::to_vec_pretty(manifest).expect("manifest serializes");
        bytes.push(b'\n');
        fs::create_dir_all(self.meta_dir())
            .and_then(|()| write_atomic(&path, &bytes))
            .map_err(|e| Error::io("cannot write", path, e))
    }
}
