//! The kept logs of failed attempts (`.shardgen/failures/`, see
//! [`crate::dataset::failure_log`]) travel with the sample copies a merge
//! takes, so that `shardgen analyze DIR --sample N` on the merged dataset
//! shows why a sample failed on whichever machine ran it.
//!
//! A shard's log comes in when that shard's copy of the sample is brought
//! in; DIR's logs of a sample whose copy is replaced go, since they tell of
//! a copy no longer there. Logs are informative: one that cannot be copied
//! is left out, never an error of the merge. Each shard's failures folder
//! is listed once; samples without a log cost nothing.

use std::fs;
use std::path::Path;

use crate::dataset::atomic::write_atomic;
use crate::dataset::failure_log::{forget, kept_log_path};
use crate::dataset::Dataset;
use crate::engine::merge::check::Source;
use crate::engine::merge::compare::Decision;
use crate::layout::{parse_bucket_dir_name, parse_sample_dir_name, FAILURES_DIR};

/// Brings the failure logs of the samples `decisions` took from the shards
/// `sources[1..]` into `dataset` (renamed with `move_logs`, else copied),
/// after removing DIR's logs of the samples replaced; how many came in.
pub(super) fn carry_failure_logs(
    dataset: &Dataset,
    sources: &[Source],
    decisions: &[(u64, Decision)],
    blocks: &[String],
    move_logs: bool,
) -> u64 {
    for (id, decision) in decisions {
        if let Decision::Bring { replace: true, .. } = decision {
            for block in blocks {
                forget(dataset, *id, block);
            }
        }
    }
    let taken_from = |id: u64| match decisions.binary_search_by_key(&id, |(id, _)| *id) {
        Ok(at) => match &decisions[at].1 {
            Decision::Bring { from, .. } => Some(*from),
            _ => None,
        },
        Err(_) => None,
    };
    let mut carried = 0;
    for (index, source) in sources.iter().enumerate().skip(1) {
        for (id, block, log) in kept_logs(&source.root) {
            if taken_from(id) == Some(index) && blocks.contains(&block) {
                carried += u64::from(bring(&log, &kept_log_path(dataset, id, &block), move_logs));
            }
        }
    }
    carried
}

/// `(sample, block, path)` of every kept log of the dataset at `root`.
fn kept_logs(root: &Path) -> Vec<(u64, String, std::path::PathBuf)> {
    let folder = Dataset::new(root).meta_dir().join(FAILURES_DIR);
    let buckets = fs::read_dir(&folder).into_iter().flatten().flatten();
    let buckets = buckets.filter(|entry| parse_bucket_dir_name(&entry.file_name()).is_some());
    let mut logs = Vec::new();
    for bucket in buckets {
        for entry in fs::read_dir(bucket.path()).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".log")) else {
                continue;
            };
            let Some((sample, block)) = stem.split_once('.') else {
                continue;
            };
            if let Some(id) = parse_sample_dir_name(sample.as_ref()) {
                logs.push((id, block.to_owned(), entry.path()));
            }
        }
    }
    logs
}

/// Puts the log `from` at `to`, atomically; whether it is there.
fn bring(from: &Path, to: &Path, move_logs: bool) -> bool {
    if let Some(folder) = to.parent() {
        let _ = fs::create_dir_all(folder);
    }
    if move_logs && fs::rename(from, to).is_ok() {
        return true;
    }
    fs::read(from).is_ok_and(|bytes| write_atomic(to, &bytes).is_ok())
}
