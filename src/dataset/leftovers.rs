//! Temp files that dead processes left in the dataset's shared folders.
//!
//! Atomic writes and the statistics row spool name their temp files
//! `.<name>.tmp-<host>-<pid>[-<n>]`. A process killed mid-write leaves one
//! behind; the next run on the same host removes those whose process is
//! gone. Temp files of other hosts are left alone (their process may live).
//! Sample folders are cleaned when a run works on the sample.

use std::fs;
use std::path::Path;

use crate::dataset::Dataset;

/// Removes the temp files of dead processes of this host from the dataset
/// root, `plots/`, `.shardgen/` and `.shardgen/runs/`; how many.
pub(crate) fn remove_dead_temps(dataset: &Dataset) -> usize {
    let root = dataset.root();
    let folders = [
        root.to_path_buf(),
        root.join("plots"),
        dataset.meta_dir(),
        dataset.runs_dir(),
    ];
    folders.iter().map(|dir| remove_in(dir)).sum()
}

fn remove_in(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| temp_owner_pid(n, crate::process::name()))
        else {
            continue;
        };
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && !crate::process::pid_alive(pid) && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The pid in a temp file name `.<name>.tmp-<host>-<pid>[-<n>]` made on
/// `host`, if `name` is one.
fn temp_owner_pid(name: &str, host: &str) -> Option<u32> {
    if !name.starts_with('.') {
        return None;
    }
    let (_, rest) = name.rsplit_once(".tmp-")?;
    let rest = rest.strip_prefix(host)?.strip_prefix('-')?;
    let pid = rest.split('-').next()?;
    let counter_ok = rest[pid.len()..]
        .strip_prefix('-')
        .is_none_or(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    counter_ok.then_some(())?;
    pid.parse().ok().filter(|&p| p > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_name_their_owner() {
        assert_eq!(temp_owner_pid(".a.yaml.tmp-node-7-0", "node"), Some(7));
        assert_eq!(
            temp_owner_pid(".statistics.csv.rows.tmp-node-12", "node"),
            Some(12)
        );
        assert_eq!(temp_owner_pid(".a.tmp-node-a-7-0", "node"), None);
        assert_eq!(temp_owner_pid(".a.tmp-other-7-0", "node"), None);
        assert_eq!(temp_owner_pid("a.tmp-node-7-0", "node"), None);
        assert_eq!(temp_owner_pid(".a.tmp-node-x", "node"), None);
    }
}
