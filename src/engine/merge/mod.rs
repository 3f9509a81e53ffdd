//! `shardgen merge`: combines shard folders into one dataset folder, checked.
//!
//! `cp -a shard/. DIR/` of shards of one pipeline already gives a valid
//! dataset; merge adds the checks `cp` cannot make, crash safety, and a report
//! of what is still missing.
//!
//! # Algorithm
//!
//! 1. **Check, read only.** Every shard must be a folder with a readable
//!    `.shardgen/pipeline.json`; DIR must be new, empty or a dataset. The
//!    reference pipeline is DIR's manifest, else the first shard's; every
//!    shard must have its master seed, its block names in order and their
//!    fingerprints. Anything else is an [`MergeError`] (exit 2).
//! 2. **Decide, read only.** The sample folders of DIR and of every shard are
//!    listed (names only, bucket by bucket: shards made anywhere use the
//!    same bucket names, see [`crate::layout`]). A sample found in one shard
//!    only is brought in as it is, without reading it. A sample found in several places is compared
//!    copy by copy, DIR's copy first, then the shards in the order given (see
//!    [Copies of one sample](#copies-of-one-sample)); the winner is kept or
//!    brought in. Conflicts are collected over all samples; without
//!    `--skip-conflicts` any conflict refuses the merge (exit 2) before DIR is
//!    touched.
//! 3. **Write.** DIR is created and given the manifest if it has none; the
//!    leftovers of merges that died on this host are removed; then, in
//!    parallel over samples, each decision is applied as below; then the
//!    shards' run logs (`.shardgen/runs/*`, named uniquely per run) are
//!    copied (or moved) into DIR's.
//!
//! # Copies of one sample
//!
//! A copy is the set of files below its sample folder, recursively, the
//! record `.shardgen.json` included; temp files of interrupted atomic writes
//! (`.name.tmp-*`), symlinks and special files are ignored: merge never
//! copies or moves a link (a sample folder that is a link, or holds one, is
//! not moved; its regular files are copied, and the next run remakes the
//! rest).
//! Two copies are **identical** when they hold the same relative names with
//! the same bytes (sizes are compared first; bytes only when all names and
//! sizes agree, and then by the digests both records hold for the file when
//! they do, without reading it; see [`compare`]).
//!
//! The **complete part** of a copy is the longest run of blocks, from the
//! first in chain order, that [`StateJudge`] calls complete in it, with their
//! record entries and the files matching their declared outputs. Of two copies
//! that are not identical:
//! - if the record entries and output files of the blocks complete in both
//!   agree, and one copy completes more blocks, that copy is *ahead*: the
//!   other is a prefix of it (e.g. failed or interrupted at block `b` in one
//!   shard, complete in a shard that retried it) and the copy ahead wins;
//! - if they agree and complete equally many blocks but neither is complete
//!   (both failed or stopped at the same block, however differently), neither
//!   holds more finished work: the earlier copy (DIR's, else the first shard's)
//!   is kept, and the next run redoes the rest;
//! - otherwise they **conflict**: they disagree on work both call done, or
//!   both are complete and differ. A conflict refuses the merge; with
//!   `--skip-conflicts` it is reported and the sample is left as DIR has it
//!   (absent if DIR has no copy, so that the gap report lists it).
//!
//! # Crash safety
//!
//! DIR is valid at every instant: each sample folder in it is either a whole
//! copy or absent, so a merge killed at any point (kill -9 included) leaves
//! DIR usable, and running the same merge again finishes it.
//! - A copied sample is built in this merge's private scratch folder
//!   `DIR/.shardgen/merge/<run id>/new/<id>/`, its record last, and only then
//!   renamed to `DIR/<bucket>/<id>` (the bucket created first if needed):
//!   a rename of a folder onto an absent name is atomic, so
//!   `DIR/<bucket>/<id>` never holds half a copy.
//! - A copy of DIR that loses to a copy ahead of it is renamed aside to
//!   `DIR/.shardgen/merge/<run id>/old/<id>` (once the winner is fully copied
//!   into the scratch folder), then the winner is renamed in.
//!   A crash in between leaves the sample absent, which is valid; the rerun
//!   brings the winner in from its shard.
//! - `--move` renames the shard's folder straight to `DIR/<bucket>/<id>`
//!   (the same atomic rename; the shard's copy and DIR's are never both gone, because
//!   the shard's copy *is* the one renamed). Across filesystems, where rename
//!   fails with `EXDEV`, it copies as above and then removes the shard's copy.
//!   A shard copy is removed record first, so a removal cut short leaves a
//!   copy that no record vouches for: the rerun sees it as zero blocks done,
//!   a prefix of any copy, never a conflict, and removes the rest.
//! - Scratch folders are named by the merge's run id (time, host, pid); the
//!   next merge into DIR on this host removes those of dead processes.
//! - The manifest is written (atomically) before any sample, and only when DIR
//!   has none, so a partly merged DIR already names its pipeline.
//!
//! A rerun compares what the killed merge already placed with the shards:
//! identical copies need nothing (with `--move`, the shard's copy is then
//! removed), the rest is brought in.

mod check;
mod compare;
mod failure_logs;
mod report;
mod write;

use std::fs;

use rayon::prelude::*;

use crate::dataset::runlog::read_run_logs;
use crate::dataset::staging::remove_dead_run_folders;
use crate::dataset::Dataset;
use crate::engine::gaps::gap_commands;
use crate::error::{Error, MergeError, Result, UsageError};
use crate::process::RunId;
use crate::ranges::SampleRange;

use check::*;
use compare::*;
pub use report::*;
use write::*;

/// Runs `shardgen merge`; what it did on success.
pub fn merge(options: &MergeOptions) -> Result<MergeReport> {
    let dataset = Dataset::new(&options.into);
    dataset.check_usable("--into")?;
    let (sources, manifest, dir_has_manifest) = check_sources(options, &dataset)?;
    let pool = crate::process::thread_pool(options.jobs)
        .map_err(|e| Error::Usage(UsageError::Threads(e)))?;
    let comparer = Comparer::new(&manifest.blocks, &sources);
    let plan = pool.install(|| decide(&sources, &comparer))?;
    let mut summary = summarize(&plan, options)?;

    // Nothing was written up to here: from now on DIR changes.
    fs::create_dir_all(&options.into).map_err(|e| Error::io("cannot create", &options.into, e))?;
    if !dir_has_manifest {
        dataset.write_manifest(&manifest)?;
    }
    let scratch_root = dataset.meta_dir().join(crate::layout::MERGE_DIR);
    remove_dead_run_folders(&scratch_root);
    let scratch = scratch_root.join(RunId::new().as_str());
    for sub in ["new", "old"] {
        let path = scratch.join(sub);
        fs::create_dir_all(&path).map_err(|e| Error::io("cannot create", path, e))?;
    }
    let writer = Writer {
        dataset: &dataset,
        sources: &sources,
        scratch: &scratch,
        move_samples: options.move_samples,
        durable: options.durable,
    };
    // A stop signal lets the samples being written finish (each is whole
    // or absent anyway) and starts no other.
    let skipped = std::sync::Mutex::new(crate::ranges::RangeSet::new());
    let outcome = pool.install(|| {
        plan.decisions
            .par_iter()
            .with_max_len(64)
            .try_for_each(|(id, decision)| {
                if crate::interrupt::requested().is_some() {
                    if let Ok(mut skipped) = skipped.lock() {
                        skipped.insert(*id);
                    }
                    return Ok(());
                }
                writer.apply(*id, decision)
            })
    });
    let _ = fs::remove_dir_all(&scratch);
    outcome?;
    let skipped = skipped.into_inner().unwrap_or_default();
    if let Some(signal) = crate::interrupt::requested() {
        return Ok(interrupted(summary, &plan, &skipped, signal));
    }
    for source in &sources[1..] {
        summary.run_files += writer.merge_run_files(&source.root)?;
    }
    let blocks: Vec<String> = manifest.blocks.iter().map(|b| b.name.clone()).collect();
    summary.failure_logs = failure_logs::carry_failure_logs(
        &dataset,
        &sources,
        &plan.decisions,
        &blocks,
        options.move_samples,
    );
    summary.commands = fill_commands(&dataset, &summary);
    Ok(summary)
}

/// The report of a merge interrupted by `signal` before it wrote the
/// samples `skipped`: only what was merged counts; no run files were copied
/// and no fill commands are given (the same merge finishes the work).
fn interrupted(
    mut summary: MergeReport,
    plan: &MergePlan,
    skipped: &crate::ranges::RangeSet,
    signal: i32,
) -> MergeReport {
    let keep = |set: &crate::ranges::RangeSet| {
        let mut kept = crate::ranges::RangeSet::new();
        set.ranges()
            .flat_map(|r| r.start..r.end)
            .filter(|&id| !skipped.contains(id))
            .for_each(|id| kept.insert(id));
        kept
    };
    let (brought, replaced) = (keep(&summary.brought), keep(&summary.replaced));
    let mut not_merged = crate::ranges::RangeSet::new();
    for (id, decision) in &plan.decisions {
        if skipped.contains(*id) && matches!(decision, Decision::Bring { .. }) {
            not_merged.insert(*id);
        }
    }
    let mut present = crate::ranges::RangeSet::new();
    plan.dir_samples.iter().for_each(|&id| present.insert(id));
    brought.ranges().for_each(|r| present.insert_range(r));
    summary.gaps = match (present.ranges().next(), present.ranges().last()) {
        (Some(first), Some(last)) => present.gaps(SampleRange::new(first.start, last.end)),
        _ => Vec::new(),
    };
    summary.brought = brought;
    summary.replaced = replaced;
    summary.present = present;
    summary.not_merged = not_merged;
    summary.interrupted_by = Some(crate::interrupt::signal_name(signal));
    summary
}

/// What the plan will do, or the refusal if samples conflict and
/// `--skip-conflicts` was not given.
fn summarize(plan: &MergePlan, options: &MergeOptions) -> Result<MergeReport> {
    let mut summary = MergeReport {
        format: MERGE_REPORT_FORMAT,
        into: options.into.clone(),
        shards: options.shards.len(),
        moved: options.move_samples,
        ..MergeReport::default()
    };
    for &id in &plan.dir_samples {
        summary.present.insert(id);
    }
    for (id, decision) in &plan.decisions {
        match decision {
            Decision::Keep { discard } => summary.left_out += discard.len() as u64,
            Decision::Bring {
                replace, discard, ..
            } => {
                summary.left_out += discard.len() as u64;
                if *replace {
                    summary.replaced.insert(*id);
                } else {
                    summary.brought.insert(*id);
                    summary.present.insert(*id);
                }
            }
            Decision::Conflict(conflict) => summary.conflicts.push(conflict.clone()),
        }
    }
    if let Some(first) = summary
        .conflicts
        .first()
        .filter(|_| !options.skip_conflicts)
    {
        return Err(MergeError::Conflict {
            sample: first.sample,
            first: first.first.clone(),
            second: first.second.clone(),
            difference: first.difference.clone(),
            more: summary.conflicts.len() as u64 - 1,
        }
        .into());
    }
    let first = summary.present.ranges().next();
    if let (Some(first), Some(last)) = (first, summary.present.ranges().last()) {
        summary.gaps = summary
            .present
            .gaps(SampleRange::new(first.start, last.end));
    }
    Ok(summary)
}

/// The commands that fill the gaps between the lowest and highest id
/// present, with the config of the latest run of the merged dataset.
fn fill_commands(dataset: &Dataset, summary: &MergeReport) -> Vec<String> {
    let (Some(first), Some(last)) = (
        summary.present.ranges().next(),
        summary.present.ranges().last(),
    ) else {
        return Vec::new();
    };
    let logs = read_run_logs(dataset);
    let config = logs.last().map(|log| log.config.as_path());
    let within = SampleRange::new(first.start, last.end);
    gap_commands(config, &summary.into, &summary.gaps, within)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::RECORD_FILE;
    use std::path::{Path, PathBuf};

    fn write(dir: &Path, name: &str, bytes: &[u8]) {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    #[test]
    fn listing_skips_temps_and_sorts_nested_files() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "b.bin", b"12");
        write(dir.path(), "debug/x.png", b"1");
        write(dir.path(), ".a.bin.tmp-host-1-0", b"half");
        let files = list_files(dir.path()).unwrap();
        let names: Vec<_> = files.iter().map(|e| e.relative.clone()).collect();
        assert_eq!(
            names,
            vec![PathBuf::from("b.bin"), PathBuf::from("debug/x.png")]
        );
        assert_eq!(files[0].kind, EntryKind::File(2));
    }

    #[test]
    fn byte_comparison_reads_past_one_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = vec![7u8; COMPARE_CHUNK * 2 + 5];
        write(dir.path(), "a", &bytes);
        write(dir.path(), "b", &bytes);
        assert!(same_bytes(&dir.path().join("a"), &dir.path().join("b")).unwrap());
        *bytes.last_mut().unwrap() = 8;
        write(dir.path(), "b", &bytes);
        assert!(!same_bytes(&dir.path().join("a"), &dir.path().join("b")).unwrap());
    }

    #[test]
    fn copies_keep_nested_files_and_never_links() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("from");
        write(&from, RECORD_FILE, b"{}");
        write(&from, "debug/x.png", b"png");
        std::os::unix::fs::symlink("debug/x.png", from.join("link")).unwrap();
        assert!(holds_links(&from).unwrap());
        let to = dir.path().join("to");
        copy_tree(&from, &to, true).unwrap();
        assert_eq!(list_files(&from).unwrap(), list_files(&to).unwrap());
        assert!(!to.join("link").exists() && !holds_links(&to).unwrap());
        remove_copy(&to).unwrap();
        assert!(!to.exists());
    }
}
