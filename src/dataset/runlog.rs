//! The run log `.shardgen/runs/<run-id>.yaml`: what one run was asked and
//! what it did. Named by a run id that is unique across machines, so copying
//! shard folders together never makes two runs' files collide.
//!
//! Everything here is about *how* a run went (when, where, how long); none of
//! it is part of the deterministic dataset.

use std::fs;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::dataset::atomic::write_atomic;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::layout::RUN_LOG_SUFFIX;

/// Counts of a run, as its log records them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Samples in the targeted range.
    pub targeted: u64,
    /// Samples that were complete before the run.
    pub already_complete: u64,
    /// Samples that ran and are now complete.
    pub completed: u64,
    /// Samples whose blocks failed in this run (rejections apart).
    pub failed: u64,
    /// Samples rejected by a block's validation in this run.
    #[serde(default)]
    pub rejected: u64,
    /// Samples left alone (`--do-not-retry-blocks`).
    pub skipped: u64,
    /// Samples skipped because another live run held their claim.
    #[serde(default)]
    pub claimed_elsewhere: u64,
    /// Samples rejected before for good (same fingerprint): not run again.
    #[serde(default)]
    pub rejected_final: u64,
    /// Samples left alone because `--rerun-failed` did not select them.
    #[serde(default)]
    pub not_selected: u64,
    /// Samples cut short by a stop (SIGINT, SIGTERM, `--max-failures`): the
    /// attempt that ran was discarded, the next run goes on from there.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stopped: u64,
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "serde's signature")]
fn is_zero(count: &u64) -> bool {
    *count == 0
}

/// A failed attempt of a block that may retry (`retries:`, `--retries`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FailedAttempt {
    /// The sample.
    pub sample: u64,
    /// The block.
    pub block: String,
    /// Which attempt, from 1.
    pub attempt: u32,
    /// Why it failed: exit code or reason, with the last output lines.
    pub reason: String,
}

/// `.shardgen/runs/<run-id>.yaml`: what one run was asked and what it did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RunLog {
    /// The run id.
    pub run: String,
    /// The full command line.
    pub command_line: Vec<String>,
    /// shardgen's version.
    pub version: String,
    /// The config file.
    pub config: PathBuf,
    /// The targeted samples, as text (e.g. `0..1000`).
    pub samples: String,
    /// The targeted range `[start, end)`, when the run was given one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<[u64; 2]>,
    /// Worker threads.
    pub jobs: usize,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// UTC start time (RFC 3339).
    pub started: String,
    /// UTC end time, once finished.
    pub finished: Option<String>,
    /// `running`, `finished`, `interrupted` (SIGINT, SIGTERM) or
    /// `stopped: <error>`.
    pub status: String,
    /// Counts, once finished.
    pub counts: RunCounts,
    /// What `--accept-changes` recorded, for runs with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_changes: Option<String>,
    /// The stop signal, for an interrupted run (`SIGINT`, `SIGTERM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// Every failed attempt of blocks that may retry, in the order they
    /// failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<FailedAttempt>,
}

impl RunLog {
    /// Writes the log atomically to `.shardgen/runs/<run>.yaml`; its path.
    pub(crate) fn write(&self, dataset: &Dataset) -> Result<PathBuf> {
        let path = dataset
            .runs_dir()
            .join(format!("{}{RUN_LOG_SUFFIX}", self.run));
        let text = serde_yaml::to_string(self).expect("run logs serialize");
        fs::create_dir_all(dataset.runs_dir())
            .and_then(|()| write_atomic(&path, text.as_bytes()))
            .map_err(|e| Error::io("cannot write the run log", &path, e))?;
        Ok(path)
    }
}

/// Every readable run log of the dataset, oldest first (names sort by run
/// start). Unreadable logs (torn, foreign) are left out: they are
/// informative, never needed to judge a sample.
pub(crate) fn read_run_logs(dataset: &Dataset) -> Vec<RunLog> {
    let Ok(entries) = fs::read_dir(dataset.runs_dir()) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(RUN_LOG_SUFFIX) && !n.starts_with('.'))
        })
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| fs::read_to_string(p).ok())
        .filter_map(|text| serde_yaml::from_str(&text).ok())
        .collect()
}

/// What `.shardgen/runs/` holds at one moment: each file's name, inode,
/// length and mtime. Every run writes its log there when it starts and when
/// it ends, so two snapshots that differ (other than in the files of a run
/// one leaves out) mean that another run started or ended in between: one
/// that may have changed records. The statistics pass uses this to know
/// whether what its scan read still stands.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RunFiles(Vec<(std::ffi::OsString, u64, u64, Option<std::time::SystemTime>)>);

impl RunFiles {
    /// The files of the runs folder now, without those of run `except`
    /// (named `<run id>.…`). An unreadable folder reads as empty.
    pub(crate) fn of(dataset: &Dataset, except: Option<&str>) -> Self {
        use std::os::unix::fs::MetadataExt;
        let mut files: Vec<_> = fs::read_dir(dataset.runs_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|entry| {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                except.is_none_or(|run| !name.starts_with(&format!("{run}.")))
            })
            .map(|entry| {
                let meta = entry.metadata().ok();
                let ino = meta.as_ref().map_or(0, MetadataExt::ino);
                let len = meta.as_ref().map_or(0, |m| m.len());
                let modified = meta.and_then(|m| m.modified().ok());
                (entry.file_name(), ino, len, modified)
            })
            .collect();
        files.sort();
        Self(files)
    }
}
