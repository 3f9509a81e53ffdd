//! Per-run bookkeeping: the run log and the timings journal, both named by a
//! run id that is unique across machines, so copying shard folders together
//! never makes two runs' files collide.
//!
//! Everything here is about *how* a run went (when, where, how long); none of
//! it is part of the deterministic dataset.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::dataset::{write_atomic, Dataset};
use crate::error::{Error, Result};
use crate::record::BlockStatus;

/// A run's identity: `<UTC start, e.g. 20261121T062046Z>-<host>-<pid>`.
/// Ids sort by start time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunId(String);

impl RunId {
    /// The id of this process's run, started now.
    pub fn new() -> Self {
        let stamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let compact: String = stamp.chars().filter(|c| *c != '-' && *c != ':').collect();
        Self(format!(
            "{compact}-{}-{}",
            crate::host::name(),
            std::process::id()
        ))
    }

    /// A made-up id, for unit tests that need several runs in one process.
    #[cfg(test)]
    pub(crate) fn fake(stamp_digit: u8) -> Self {
        Self(format!(
            "20260101T00000{stamp_digit}Z-{}-{}",
            crate::host::name(),
            std::process::id()
        ))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `(host, pid)` of a run id, or `None` if `text` is not one.
    pub fn parse_owner(text: &str) -> Option<(&str, u32)> {
        let (rest, pid) = text.rsplit_once('-')?;
        let (stamp, host) = rest.split_once('-')?;
        let stamp_ok = stamp.len() == 16 && stamp.ends_with('Z');
        (stamp_ok && !host.is_empty()).then_some((host, pid.parse().ok()?))
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts of a run, as its log records them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Samples in the targeted range.
    pub targeted: u64,
    /// Samples that were complete before the run.
    pub already_complete: u64,
    /// Samples that ran and are now complete.
    pub completed: u64,
    /// Samples that failed or were rejected.
    pub failed: u64,
    /// Of the failed samples, those rejected by a block's validation.
    #[serde(default)]
    pub rejected: u64,
    /// Samples left alone (`--do-not-retry-blocks`).
    pub skipped: u64,
    /// Samples skipped because another live run held their claim.
    #[serde(default)]
    pub claimed_elsewhere: u64,
}

/// `.shardgen/runs/<run-id>.yaml`: what one run was asked and what it did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunLog {
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
    /// `running`, `finished` or `stopped: <error>`.
    pub status: String,
    /// Counts, once finished.
    pub counts: RunCounts,
    /// What `--accept-changes` recorded, for runs with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_changes: Option<String>,
}

impl RunLog {
    /// Writes the log atomically to `.shardgen/runs/<run>.yaml`.
    pub fn write(&self, dataset: &Dataset) -> Result<()> {
        let path = dataset.runs_dir().join(format!("{}.yaml", self.run));
        let text = serde_yaml::to_string(self).expect("run logs serialize");
        fs::create_dir_all(dataset.runs_dir())
            .and_then(|()| write_atomic(&path, text.as_bytes()))
            .map_err(|e| Error::io("cannot write the run log", path, e))
    }
}

/// The current UTC time in RFC 3339.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// `.shardgen/runs/<run-id>.timings.tsv`: one line per block attempt,
/// `sample<TAB>block<TAB>status<TAB>seconds`, appended as the run goes. Only
/// this run writes it; readers skip a torn last line.
pub struct TimingsJournal {
    file: Mutex<BufWriter<File>>,
}

impl TimingsJournal {
    /// Opens (creates) the journal of `run`.
    pub fn open(dataset: &Dataset, run: &RunId) -> Result<Self> {
        let path = timings_path(dataset, run);
        let file = fs::create_dir_all(dataset.runs_dir())
            .and_then(|()| OpenOptions::new().create(true).append(true).open(&path))
            .map_err(|e| Error::io("cannot open", path, e))?;
        Ok(Self {
            file: Mutex::new(BufWriter::new(file)),
        })
    }

    /// Appends one attempt.
    pub fn append(&self, sample: u64, block: &str, status: BlockStatus, seconds: f64) {
        let status = match status {
            BlockStatus::Ok => "ok",
            BlockStatus::Failed => "failed",
            BlockStatus::Rejected => "rejected",
        };
        if let Ok(mut file) = self.file.lock() {
            // Timings are informative: a failed write must not stop the run.
            let _ = writeln!(file, "{sample}\t{block}\t{status}\t{seconds:.6}");
        }
    }

    /// Flushes buffered lines.
    pub fn flush(&self) -> io::Result<()> {
        match self.file.lock() {
            Ok(mut file) => file.flush(),
            Err(_) => Ok(()),
        }
    }
}

fn timings_path(dataset: &Dataset, run: &RunId) -> PathBuf {
    dataset
        .runs_dir()
        .join(format!("{}.timings.tsv", run.as_str()))
}

/// Removes the staging folders of dead runs: on this host, those whose
/// process is gone; of other hosts, those untouched for `lease` (a live run's
/// heartbeat keeps its folder fresh, see [`crate::claim`]).
pub fn clean_dead_staging(dataset: &Dataset, lease: Duration) {
    remove_dead_folders(&dataset.staging_root(), Some(lease));
}

/// Removes the folders below `parent` named by the [`RunId`] of a process
/// that died on this host (staging of runs, scratch of merges); folders of
/// live processes, of other hosts, and of other names are left alone.
pub fn remove_dead_run_folders(parent: &std::path::Path) {
    remove_dead_folders(parent, None);
}

/// [`remove_dead_run_folders`], and with `other_hosts_lease` also the
/// folders of other hosts untouched for that long.
fn remove_dead_folders(parent: &std::path::Path, other_hosts_lease: Option<Duration>) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((host, pid)) = RunId::parse_owner(&name) else {
            continue;
        };
        let dead = if host == crate::host::name() {
            !crate::host::pid_alive(pid)
        } else if let Some(lease) = other_hosts_lease {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|modified| crate::claim::older_than(modified, lease))
        } else {
            false
        };
        if dead {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// This run's staging folder.
pub fn staging_dir(dataset: &Dataset, run: &RunId) -> PathBuf {
    dataset.staging_root().join(run.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_name_their_owner() {
        let id = RunId::new();
        let (host, pid) = RunId::parse_owner(id.as_str()).unwrap();
        assert_eq!(host, crate::host::name());
        assert_eq!(pid, std::process::id());
        assert_eq!(
            RunId::parse_owner("20261121T062046Z-node-a-12"),
            Some(("node-a", 12))
        );
        assert_eq!(RunId::parse_owner("junk"), None);
    }
}
