//! The dataset folder: where everything lives. Every file the engine reads
//! or writes in it is owned by one module below; the names are in
//! [`crate::layout`], and [`atomic`] is the only way anything is written.
//!
//! ```text
//! DIR/
//!   0000000000/            one folder per sample, named by its global index
//!     scene.json ...       published block outputs
//!     .shardgen.json       the sample's record (see record.rs)
//!   .shardgen/
//!     pipeline.json        master seed + pipeline of the latest run
//!     runs/<run-id>.yaml   one log per run; <run-id> = UTC time, host, pid
//!     runs/<run-id>.timings.tsv
//!     staging/<run-id>/    private scratch space of a run's block attempts
//!     claims/              which live run works on which sample (claim.rs)
//!     failures/<bucket>/<sample>.<block>.log   the end of a failed attempt's log
//!   statistics.yaml ...    written by the statistics pass
//! ```
//!
//! Every name is unique per sample or per run, so `cp -a shard/. all/` of
//! shards made anywhere yields a valid dataset.

pub(crate) mod atomic;
pub(crate) mod claim;
pub(crate) mod failure_log;
pub(crate) mod integrity;
pub(crate) mod leftovers;
pub(crate) mod record;
pub(crate) mod runlog;
pub(crate) mod safe_fs;
pub(crate) mod sample_guard;
pub(crate) mod staging;
pub(crate) mod state;
pub(crate) mod timings;
pub(crate) mod view;
pub(crate) mod walk;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, UsageError};
use crate::layout::{
    parse_sample_dir_name, sample_dir_name, MANIFEST_FILE, META_DIR, RUNS_DIR, STAGING_DIR,
};
use crate::pipeline::description::{PipelineManifest, MANIFEST_FORMAT};
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

    /// The folder of sample `id`.
    pub(crate) fn sample_dir(&self, id: u64) -> PathBuf {
        self.root.join(sample_dir_name(id))
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

    /// The manifest, or `None` for a new dataset.
    pub(crate) fn read_manifest(&self) -> Result<Option<PipelineManifest>> {
        let path = self.manifest_path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("cannot read", path, e)),
        };
        match serde_json::from_slice::<PipelineManifest>(&bytes) {
            Ok(manifest) if manifest.format == MANIFEST_FORMAT => Ok(Some(manifest)),
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

    /// The ids of the sample folders present that are real folders (not
    /// symlinks or files), sorted; from the listing's file types, no `stat`.
    pub(crate) fn present_sample_folders(&self) -> Result<Vec<u64>> {
        let entries = self.sample_entries()?;
        Ok(entries.into_iter().filter(|e| e.1).map(|e| e.0).collect())
    }

    /// The ids of the sample entries present, sorted, each with whether it
    /// is a real folder (a symlink or file named like a sample is damage).
    pub(crate) fn sample_entries(&self) -> Result<Vec<(u64, bool)>> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("cannot read", &self.root, e)),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("cannot read", &self.root, e))?;
            if let Some(id) = parse_sample_dir_name(&entry.file_name()) {
                ids.push((id, entry.file_type().is_ok_and(|t| t.is_dir())));
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }

    /// The ids of the sample entries present (folders or not), sorted.
    pub(crate) fn present_samples(&self) -> Result<Vec<u64>> {
        Ok(self.sample_entries()?.into_iter().map(|e| e.0).collect())
    }
}
