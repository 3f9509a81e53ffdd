//! The logs of failed block attempts, kept in the dataset's bookkeeping so
//! that the cause of a failure survives its staging folder:
//! `.shardgen/failures/<bucket>/<sample>.<block>.log`, the last
//! [`KEPT_LOG_BYTES`] of what the attempt printed (stdout and stderr).
//!
//! A log is written when a block's attempt fails and removed when the
//! sample later completes; a block that never fails costs nothing here.
//! Logs are informative: failing to keep one never fails a sample or a run.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::dataset::atomic::write_atomic;
use crate::dataset::Dataset;
use crate::layout::{bucket_dir_name, bucket_of, sample_dir_name, FAILURES_DIR};

/// How much of a failed attempt's log is kept: its end, where the error is.
pub(crate) const KEPT_LOG_BYTES: u64 = 64 << 10;
/// Where the log of block `block`'s last failed attempt on sample `id` is:
/// in the sample's bucket ([`crate::layout`]), so that a range of failed
/// samples does not make one huge folder.
pub(crate) fn kept_log_path(dataset: &Dataset, id: u64, block: &str) -> PathBuf {
    dataset
        .meta_dir()
        .join(FAILURES_DIR)
        .join(bucket_dir_name(bucket_of(id)))
        .join(format!("{}.{block}.log", sample_dir_name(id)))
}

/// Keeps the end of `log` (a failed attempt's log) as the failure log of
/// block `block` on sample `id`, atomically, replacing an older one.
pub(crate) fn keep(dataset: &Dataset, id: u64, block: &str, log: &Path) {
    let Ok(tail) = read_end(log, KEPT_LOG_BYTES) else {
        return;
    };
    let path = kept_log_path(dataset, id, block);
    if let Some(folder) = path.parent() {
        let _ = fs::create_dir_all(folder);
    }
    let _ = write_atomic(&path, &tail);
}

/// Forgets the failure log of block `block` on sample `id`, if there is one.
pub(crate) fn forget(dataset: &Dataset, id: u64, block: &str) {
    let _ = fs::remove_file(kept_log_path(dataset, id, block));
}

/// The last `lines` non-empty lines of the kept log of `block` on sample
/// `id`, with its path; `None` when there is no kept log.
pub(crate) fn kept_tail(
    dataset: &Dataset,
    id: u64,
    block: &str,
    lines: usize,
) -> Option<(PathBuf, Vec<String>)> {
    let path = kept_log_path(dataset, id, block);
    let bytes = read_end(&path, KEPT_LOG_BYTES).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|l| (*l).to_owned())
        .collect();
    Some((path, tail))
}

/// The last `limit` bytes of the file at `path` (refusing a symlink).
fn read_end(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let length = file.metadata()?.len();
    file.seek(SeekFrom::Start(length.saturating_sub(limit)))?;
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_a_log_is_kept_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let dataset = Dataset::new(dir.path());
        let log = dir.path().join("output.log");
        let mut text = "x".repeat(KEPT_LOG_BYTES as usize);
        text.push_str("\nERROR: the real problem\ncleanup\n");
        fs::write(&log, &text).unwrap();
        keep(&dataset, 12_345, "render", &log);
        let path = kept_log_path(&dataset, 12_345, "render");
        assert!(path.ends_with(".shardgen/failures/000001/0000012345.render.log"));
        assert_eq!(fs::metadata(&path).unwrap().len(), KEPT_LOG_BYTES);
        let (shown, tail) = kept_tail(&dataset, 12_345, "render", 2).unwrap();
        assert_eq!(shown, path);
        assert_eq!(tail, ["ERROR: the real problem", "cleanup"]);
        forget(&dataset, 12_345, "render");
        assert!(kept_tail(&dataset, 12_345, "render", 2).is_none());
    }
}
