//! Staging folders: each run's private scratch space under
//! `.shardgen/staging/<run-id>/`, and the removal of folders that dead runs
//! (or merges) left behind.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::dataset::Dataset;
use crate::process::RunId;

/// Removes the staging folders of dead runs: on this host, those whose
/// process is gone; of other hosts, those untouched for `lease` (a live run's
/// heartbeat keeps its folder fresh, see [`crate::dataset::claim`]).
pub(crate) fn clean_dead_staging(dataset: &Dataset, lease: Duration) {
    remove_dead_folders(&dataset.staging_root(), Some(lease));
}

/// Removes the folders below `parent` named by the [`RunId`] of a process
/// that died on this host (staging of runs, scratch of merges); folders of
/// live processes, of other hosts, and of other names are left alone.
pub(crate) fn remove_dead_run_folders(parent: &Path) {
    remove_dead_folders(parent, None);
}

/// [`remove_dead_run_folders`], and with `other_hosts_lease` also the
/// folders of other hosts untouched for that long.
fn remove_dead_folders(parent: &Path, other_hosts_lease: Option<Duration>) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((host, pid)) = RunId::parse_owner(&name) else {
            continue;
        };
        let dead = if host == crate::process::name() {
            !crate::process::pid_alive(pid)
        } else if let Some(lease) = other_hosts_lease {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|modified| crate::process::older_than(modified, lease))
        } else {
            false
        };
        if dead {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// This run's staging folder.
pub(crate) fn staging_dir(dataset: &Dataset, run: &RunId) -> PathBuf {
    dataset.staging_root().join(run.as_str())
}
