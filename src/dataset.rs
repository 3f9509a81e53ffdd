//! The dataset folder: where everything lives, and the atomic write that is
//! the only way anything in it is written.
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
//!   statistics.yaml ...    written by the statistics pass
//! ```
//!
//! Every name is unique per sample or per run, so `cp -a shard/. all/` of
//! shards made anywhere yields a valid dataset.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Name of the engine's own folder inside the dataset.
pub const META_DIR: &str = ".shardgen";
/// Digits of a sample folder name: ids up to 9,999,999,999.
pub const SAMPLE_DIGITS: usize = 10;
/// The largest sample id a folder name can hold.
pub const MAX_SAMPLE_ID: u64 = 9_999_999_999;
/// Format version of `pipeline.json`.
pub const MANIFEST_FORMAT: u32 = 1;

/// The folder name of sample `id`: fixed width, so names sort in index order.
pub fn sample_dir_name(id: u64) -> String {
    format!("{id:0width$}", width = SAMPLE_DIGITS)
}

/// The sample id of a folder name, if it is one.
pub fn parse_sample_dir_name(name: &OsStr) -> Option<u64> {
    let bytes = name.as_encoded_bytes();
    if bytes.len() != SAMPLE_DIGITS || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    bytes
        .iter()
        .try_fold(0u64, |acc, &b| Some(acc * 10 + u64::from(b - b'0')))
}

/// A temp name beside `path`, unique across hosts, processes and calls:
/// `.<name>.tmp-<host>-<pid>-<n>`. Renaming it over `path` is atomic.
pub fn temp_path_for(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().unwrap_or_else(|| OsStr::new("file"));
    let mut temp_name = OsStr::new(".").to_os_string();
    temp_name.push(name);
    temp_name.push(format!(
        ".tmp-{}-{}-{}",
        crate::host::name(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    path.with_file_name(temp_name)
}

/// Writes `bytes` to `path` so that readers see either the old file or the
/// complete new one: a temp file in the same folder, then `rename`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = temp_path_for(path);
    let result = fs::File::create(&temp)
        .and_then(|mut file| file.write_all(bytes))
        .and_then(|()| fs::rename(&temp, path));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Whether a file name is a temp file left by an interrupted [`write_atomic`].
pub fn is_atomic_temp(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.') && name.contains(".tmp-")
}

/// How one block was declared in the run that last wrote the dataset: all the
/// later tools (analyze, statistics, merge) need, without the config file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockDescription {
    /// Unique name in the chain.
    pub name: String,
    /// Registered block type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Version of the block type.
    pub version: u32,
    /// Params after defaults, as JSON.
    pub params: serde_json::Value,
    /// The `command:` argv, for command blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Declared inputs.
    pub inputs: Vec<String>,
    /// Required outputs (names or glob patterns).
    pub outputs: Vec<String>,
    /// Optional outputs.
    pub optional_outputs: Vec<String>,
    /// The block's fingerprint (hex).
    pub fingerprint: String,
}

impl BlockDescription {
    /// Whether the block declares any output; blocks without outputs run on
    /// every run and never make later blocks rerun.
    pub fn has_outputs(&self) -> bool {
        !self.outputs.is_empty() || !self.optional_outputs.is_empty()
    }
}

#[cfg(test)]
impl BlockDescription {
    /// A `random-bytes`-like block for unit tests, without a fingerprint.
    pub(crate) fn for_test(name: &str, outputs: &[&str]) -> Self {
        Self {
            name: name.into(),
            type_name: "random-bytes".into(),
            version: 1,
            params: serde_json::Value::Null,
            command: None,
            inputs: vec![],
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            optional_outputs: vec![],
            fingerprint: String::new(),
        }
    }
}

/// `.shardgen/pipeline.json`: the master seed and the pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PipelineManifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// The master seed.
    pub seed: u64,
    /// The blocks, in chain order.
    pub blocks: Vec<BlockDescription>,
}

/// A dataset folder.
#[derive(Clone, Debug)]
pub struct Dataset {
    root: PathBuf,
}

impl Dataset {
    /// The dataset at `root` (which may not exist yet).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The dataset folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of sample `id`.
    pub fn sample_dir(&self, id: u64) -> PathBuf {
        self.root.join(sample_dir_name(id))
    }

    /// `.shardgen/`.
    pub fn meta_dir(&self) -> PathBuf {
        self.root.join(META_DIR)
    }

    /// `.shardgen/pipeline.json`.
    pub fn manifest_path(&self) -> PathBuf {
        self.meta_dir().join("pipeline.json")
    }

    /// `.shardgen/runs/`.
    pub fn runs_dir(&self) -> PathBuf {
        self.meta_dir().join("runs")
    }

    /// `.shardgen/staging/`.
    pub fn staging_root(&self) -> PathBuf {
        self.meta_dir().join("staging")
    }

    /// Whether the folder is absent, empty, or already a shardgen dataset:
    /// the engine never writes into a folder of something else. `flag` names
    /// the folder in messages (`--out`, `--into`).
    pub fn check_usable(&self, flag: &str) -> Result<()> {
        let mut entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
                return Err(Error::usage(format!(
                    "{flag} {}: is a file, not a folder; pick a dataset folder",
                    self.root.display()
                )))
            }
            Err(e) => return Err(Error::io("cannot read", &self.root, e)),
        };
        if entries.next().is_none() || self.meta_dir().is_dir() {
            return Ok(());
        }
        let adopt = match flag {
            "--out" => {
                "; if it is a dataset whose .shardgen/ was lost, rerun with --adopt to keep the \
                 samples made by this config"
            }
            _ => "",
        };
        Err(Error::usage(format!(
            "{flag} {}: folder is not empty and is not a shardgen dataset (no {META_DIR}/); \
             pick a new or empty folder{adopt}",
            self.root.display()
        )))
    }

    /// The manifest, or `None` for a new dataset.
    pub fn read_manifest(&self) -> Result<Option<PipelineManifest>> {
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
    pub fn write_manifest(&self, manifest: &PipelineManifest) -> Result<()> {
        let path = self.manifest_path();
        let mut bytes = serde_json::to_vec_pretty(manifest).expect("manifest serializes");
        bytes.push(b'\n');
        fs::create_dir_all(self.meta_dir())
            .and_then(|()| write_atomic(&path, &bytes))
            .map_err(|e| Error::io("cannot write", path, e))
    }

    /// The ids of the sample folders present that are real folders (not
    /// symlinks or files), sorted; from the listing's file types, no `stat`.
    pub fn present_sample_folders(&self) -> Result<Vec<u64>> {
        let entries = self.sample_entries()?;
        Ok(entries.into_iter().filter(|e| e.1).map(|e| e.0).collect())
    }

    /// The ids of the sample entries present, sorted, each with whether it
    /// is a real folder (a symlink or file named like a sample is damage).
    pub fn sample_entries(&self) -> Result<Vec<(u64, bool)>> {
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

    /// The ids of the sample folders present, sorted.
    pub fn present_samples(&self) -> Result<Vec<u64>> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("cannot read", &self.root, e)),
        };
        let mut ids = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("cannot read", &self.root, e))?;
            if let Some(id) = parse_sample_dir_name(&entry.file_name()) {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_names_are_fixed_width_and_round_trip() {
        assert_eq!(sample_dir_name(42), "0000000042");
        assert_eq!(sample_dir_name(MAX_SAMPLE_ID), "9999999999");
        for id in [0, 7, 123_456_789, MAX_SAMPLE_ID] {
            assert_eq!(
                parse_sample_dir_name(OsStr::new(&sample_dir_name(id))),
                Some(id)
            );
        }
        for bad in ["42", "00000000x1", "000000000042", "plots"] {
            assert_eq!(parse_sample_dir_name(OsStr::new(bad)), None);
        }
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
