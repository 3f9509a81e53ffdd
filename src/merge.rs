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
//!    listed (names only). A sample found in one shard only is brought in as
//!    it is, without reading it. A sample found in several places is compared
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
//! sizes agree).
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
//!   renamed to `DIR/<id>`: a rename of a folder onto an absent name is
//!   atomic, so `DIR/<id>` never holds half a copy.
//! - A copy of DIR that loses to a copy ahead of it is renamed aside to
//!   `DIR/.shardgen/merge/<run id>/old/<id>` (once the winner is fully copied
//!   into the scratch folder), then the winner is renamed in.
//!   A crash in between leaves the sample absent, which is valid; the rerun
//!   brings the winner in from its shard.
//! - `--move` renames the shard's folder straight to `DIR/<id>` (the same
//!   atomic rename; the shard's copy and DIR's are never both gone, because
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

use std::cmp::Ordering;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::dataset::{
    is_atomic_temp, sample_dir_name, write_atomic, BlockDescription, Dataset, PipelineManifest,
};
use crate::error::{Error, MergeError, PipelineDifference, Result};
use crate::pipeline::{explain_changes, BlockOutputs};
use crate::ranges::{RangeSet, SampleRange};
use crate::record::{read_record, RECORD_FILE};
use crate::runlog::{remove_dead_run_folders, RunId};
use crate::state::StateJudge;

/// Bytes compared per read when two files have the same size.
const COMPARE_CHUNK: usize = 64 * 1024;

/// Everything `shardgen merge` was asked, free of any CLI parsing.
#[derive(Clone, Debug, Default)]
pub struct MergeOptions {
    /// The shard folders, in the order given.
    pub shards: Vec<PathBuf>,
    /// The dataset folder to merge into (`--into`), new or existing.
    pub into: PathBuf,
    /// Move the shards' sample folders instead of copying them.
    pub move_samples: bool,
    /// Report conflicting samples and keep DIR's copy instead of refusing.
    pub skip_conflicts: bool,
    /// Worker threads (`None`: all cores).
    pub jobs: Option<usize>,
}

/// A sample whose copies conflict, as reported with `--skip-conflicts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleConflict {
    /// The sample id.
    pub sample: u64,
    /// The folder (DIR or shard, as given) of one copy.
    pub first: PathBuf,
    /// The folder of the other copy.
    pub second: PathBuf,
    /// What differs, e.g. `'a.bin' differs`.
    pub difference: String,
    /// Whether DIR holds a copy (kept as it is); otherwise the sample is left
    /// out of DIR.
    pub kept_in_dir: bool,
}

/// What a merge did.
#[derive(Clone, Debug, Default)]
pub struct MergeSummary {
    /// The `--into` folder, as given.
    pub into: PathBuf,
    /// Number of shards merged.
    pub shards: usize,
    /// Whether samples were moved rather than copied.
    pub moved: bool,
    /// Samples that DIR did not hold and now does.
    pub brought: RangeSet,
    /// Samples whose copy in DIR was replaced by a copy further along.
    pub replaced: RangeSet,
    /// Shard copies not brought in because the copy kept is identical or
    /// further along.
    pub left_out: u64,
    /// Conflicting samples, by id (only with `--skip-conflicts`).
    pub conflicts: Vec<SampleConflict>,
    /// The samples DIR holds after the merge.
    pub present: RangeSet,
    /// The ids missing between the lowest and highest id present.
    pub gaps: Vec<SampleRange>,
    /// Run log files copied or moved into `DIR/.shardgen/runs/`.
    pub run_files: u64,
}

/// Runs `shardgen merge`; what it did on success.
pub fn merge(options: &MergeOptions) -> Result<MergeSummary> {
    let dataset = Dataset::new(&options.into);
    dataset.check_usable("--into")?;
    let (sources, manifest, dir_has_manifest) = check_sources(options, &dataset)?;
    let pool = crate::run::thread_pool(options.jobs)?;
    let comparer = Comparer::new(&manifest.blocks, &sources);
    let plan = pool.install(|| decide(&sources, &comparer))?;
    let mut summary = summarize(&plan, options)?;

    // Nothing was written up to here: from now on DIR changes.
    fs::create_dir_all(&options.into).map_err(|e| Error::io("cannot create", &options.into, e))?;
    if !dir_has_manifest {
        dataset.write_manifest(&manifest)?;
    }
    let scratch_root = dataset.meta_dir().join("merge");
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
    };
    let outcome = pool.install(|| {
        plan.decisions
            .par_iter()
            .with_max_len(64)
            .try_for_each(|(id, decision)| writer.apply(*id, decision))
    });
    let _ = fs::remove_dir_all(&scratch);
    outcome?;
    for source in &sources[1..] {
        summary.run_files += writer.merge_run_files(&source.root)?;
    }
    Ok(summary)
}

/// What the plan will do, or the refusal if samples conflict and
/// `--skip-conflicts` was not given.
fn summarize(plan: &MergePlan, options: &MergeOptions) -> Result<MergeSummary> {
    let mut summary = MergeSummary {
        into: options.into.clone(),
        shards: options.shards.len(),
        moved: options.move_samples,
        ..MergeSummary::default()
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

/// A place holding sample folders: DIR (index 0) or a shard.
struct Source {
    /// The path as given, for messages.
    label: PathBuf,
    /// The folder.
    root: PathBuf,
    /// Its sample ids, sorted.
    samples: Vec<u64>,
}

/// Checks the shards and DIR; the sources (DIR first), the reference
/// manifest, and whether DIR already has a manifest.
fn check_sources(
    options: &MergeOptions,
    dataset: &Dataset,
) -> Result<(Vec<Source>, PipelineManifest, bool)> {
    let into_canonical = fs::canonicalize(&options.into).ok();
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut manifests = Vec::new();
    for shard in &options.shards {
        let not_a_folder = || MergeError::NotAFolder {
            path: shard.clone(),
        };
        if !fs::metadata(shard).is_ok_and(|m| m.is_dir()) {
            return Err(not_a_folder().into());
        }
        let canonical = fs::canonicalize(shard).map_err(|_| not_a_folder())?;
        let repeated = |what| MergeError::Repeated {
            path: shard.clone(),
            what,
        };
        if into_canonical.as_ref() == Some(&canonical) {
            return Err(repeated("it is the --into folder").into());
        }
        if seen.contains(&canonical) {
            return Err(repeated("given twice").into());
        }
        seen.push(canonical);
        let manifest =
            Dataset::new(shard)
                .read_manifest()?
                .ok_or_else(|| MergeError::NotADataset {
                    path: shard.clone(),
                })?;
        manifests.push(manifest);
    }
    let dir_manifest = dataset.read_manifest()?;
    let dir_has_manifest = dir_manifest.is_some();
    let (reference, reference_label) = match dir_manifest {
        Some(manifest) => (manifest, options.into.clone()),
        None => match manifests.first() {
            Some(first) => (first.clone(), options.shards[0].clone()),
            None => return Err(Error::usage("merge needs at least one shard folder")),
        },
    };
    for (shard, manifest) in options.shards.iter().zip(&manifests) {
        if let Some(difference) = pipeline_difference(&reference, manifest) {
            return Err(MergeError::PipelineMismatch {
                shard: shard.clone(),
                reference: reference_label,
                difference,
            }
            .into());
        }
    }
    let mut sources = vec![Source {
        label: options.into.clone(),
        root: options.into.clone(),
        samples: dataset.present_sample_folders()?,
    }];
    for shard in &options.shards {
        sources.push(Source {
            label: shard.clone(),
            root: shard.clone(),
            samples: Dataset::new(shard).present_sample_folders()?,
        });
    }
    Ok((sources, reference, dir_has_manifest))
}

/// How `shard`'s pipeline differs from `reference`'s, if it does.
fn pipeline_difference(
    reference: &PipelineManifest,
    shard: &PipelineManifest,
) -> Option<PipelineDifference> {
    if reference.seed != shard.seed {
        return Some(PipelineDifference::Seed {
            shard: shard.seed,
            reference: reference.seed,
        });
    }
    let names = |m: &PipelineManifest| m.blocks.iter().map(|b| b.name.clone()).collect::<Vec<_>>();
    if names(reference) != names(shard) {
        return Some(PipelineDifference::Blocks {
            shard: names(shard),
            reference: names(reference),
        });
    }
    explain_changes(reference, &shard.blocks)
        .into_iter()
        .zip(&shard.blocks)
        .find_map(|(change, block)| {
            change.map(|change| PipelineDifference::Fingerprint {
                block: block.name.clone(),
                change,
            })
        })
}

/// What happens to one sample.
enum Decision {
    /// DIR's copy stays; `discard` are the shards' copies to remove with
    /// `--move` (identical or behind).
    Keep {
        /// Indices of the sources whose copies lose.
        discard: Vec<usize>,
    },
    /// The copy of source `from` is brought in.
    Bring {
        /// The winning source (a shard).
        from: usize,
        /// Whether DIR holds a copy that it replaces.
        replace: bool,
        /// Indices of the other shards whose copies lose.
        discard: Vec<usize>,
    },
    /// Two copies conflict; nothing is done to the sample.
    Conflict(SampleConflict),
}

/// The read-only pass: a decision for every sample a shard holds.
struct MergePlan {
    /// `(id, decision)` in increasing id order.
    decisions: Vec<(u64, Decision)>,
    /// DIR's samples before the merge.
    dir_samples: Vec<u64>,
}

fn decide(sources: &[Source], comparer: &Comparer) -> Result<MergePlan> {
    let mut occurrences: Vec<(u64, usize)> = sources
        .iter()
        .enumerate()
        .flat_map(|(index, source)| source.samples.iter().map(move |&id| (id, index)))
        .collect();
    occurrences.sort_unstable();
    let groups: Vec<&[(u64, usize)]> = occurrences
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|group| group.iter().any(|&(_, source)| source != 0))
        .collect();
    let decisions = groups
        .par_iter()
        .map(|group| {
            let id = group[0].0;
            let places: Vec<usize> = group.iter().map(|&(_, source)| source).collect();
            comparer.decide(id, &places).map(|d| (id, d))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(MergePlan {
        decisions,
        dir_samples: sources[0].samples.clone(),
    })
}

/// Compares copies of a sample under the reference pipeline.
struct Comparer<'a> {
    blocks: &'a [BlockDescription],
    outputs: Vec<BlockOutputs>,
    judge: StateJudge,
    sources: &'a [Source],
}

/// One copy of a sample: where it is and its files.
struct SampleCopy {
    source: usize,
    dir: PathBuf,
    files: Vec<Entry>,
}

/// A file of a copy, by path relative to the sample folder.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    relative: PathBuf,
    kind: EntryKind,
}

#[derive(Debug, PartialEq, Eq)]
enum EntryKind {
    /// A regular file of this size.
    File(u64),
}

/// How two copies relate.
enum Order {
    /// Identical, or equally far and neither complete: keep the first.
    Same,
    /// The first is ahead: the second is a prefix of it.
    FirstAhead,
    /// The second is ahead.
    SecondAhead,
    /// They conflict; what differs.
    Conflict(String),
}

impl<'a> Comparer<'a> {
    fn new(blocks: &'a [BlockDescription], sources: &'a [Source]) -> Self {
        Self {
            blocks,
            outputs: blocks.iter().map(BlockOutputs::of).collect(),
            judge: StateJudge::new(blocks.iter().cloned()),
            sources,
        }
    }

    /// Picks the copy to keep among those in `places` (sorted, DIR first).
    fn decide(&self, id: u64, places: &[usize]) -> Result<Decision> {
        let name = sample_dir_name(id);
        let dir_has_copy = places[0] == 0;
        if places.len() == 1 {
            return Ok(Decision::Bring {
                from: places[0],
                replace: false,
                discard: Vec::new(),
            });
        }
        let copy = |source: usize| -> Result<SampleCopy> {
            let dir = self.sources[source].root.join(&name);
            let files = list_files(&dir).map_err(|e| Error::io("cannot read", &dir, e))?;
            Ok(SampleCopy { source, dir, files })
        };
        let mut best = copy(places[0])?;
        let mut losers = Vec::new();
        for &place in &places[1..] {
            let other = copy(place)?;
            let order = self
                .compare(id, &best, &other)
                .map_err(|e| Error::io("cannot compare", &other.dir, e))?;
            match order {
                Order::Same | Order::FirstAhead => losers.push(other.source),
                Order::SecondAhead => {
                    losers.push(best.source);
                    best = other;
                }
                Order::Conflict(difference) => {
                    return Ok(Decision::Conflict(SampleConflict {
                        sample: id,
                        first: self.sources[best.source].label.clone(),
                        second: self.sources[other.source].label.clone(),
                        difference,
                        kept_in_dir: dir_has_copy,
                    }))
                }
            }
        }
        let discard = losers.into_iter().filter(|&s| s != 0).collect();
        Ok(if best.source == 0 {
            Decision::Keep { discard }
        } else {
            Decision::Bring {
                from: best.source,
                replace: dir_has_copy,
                discard,
            }
        })
    }

    /// How copy `b` relates to copy `a` (see the module doc).
    fn compare(&self, id: u64, a: &SampleCopy, b: &SampleCopy) -> io::Result<Order> {
        let Some(difference) = self.first_difference(a, b, |_| true)? else {
            return Ok(Order::Same);
        };
        let (record_a, record_b) = (read_record(&a.dir, id), read_record(&b.dir, id));
        let complete = |copy: &SampleCopy, record: Option<&_>| {
            self.judge
                .judge(&copy.dir, record)
                .iter()
                .take_while(|state| state.is_complete())
                .count()
        };
        let done_a = complete(a, record_a.valid());
        let done_b = complete(b, record_b.valid());
        let common = done_a.min(done_b);
        for block in &self.blocks[..common] {
            let entry = |read: &crate::record::RecordRead| {
                read.valid().and_then(|r| r.block(&block.name)).cloned()
            };
            if entry(&record_a) != entry(&record_b) {
                return Ok(Order::Conflict(format!(
                    "block '{}' is complete in both but recorded differently",
                    block.name
                )));
            }
        }
        let outputs = &self.outputs[..common];
        let of_common_blocks = |relative: &Path| {
            relative
                .to_str()
                .is_some_and(|r| outputs.iter().any(|o| o.matches(r)))
        };
        if let Some(difference) = self.first_difference(a, b, of_common_blocks)? {
            return Ok(Order::Conflict(format!(
                "{difference}, of a block complete in both"
            )));
        }
        Ok(match done_a.cmp(&done_b) {
            Ordering::Greater => Order::FirstAhead,
            Ordering::Less => Order::SecondAhead,
            Ordering::Equal if common == self.blocks.len() => {
                Order::Conflict(format!("both complete, but {difference}"))
            }
            Ordering::Equal => Order::Same,
        })
    }

    /// The first difference between the files of `a` and `b` that `keep`
    /// selects, in words; names and sizes first, bytes last.
    fn first_difference(
        &self,
        a: &SampleCopy,
        b: &SampleCopy,
        keep: impl Fn(&Path) -> bool,
    ) -> io::Result<Option<String>> {
        let mut left = a.files.iter().filter(|e| keep(&e.relative)).peekable();
        let mut right = b.files.iter().filter(|e| keep(&e.relative)).peekable();
        let mut same_size = Vec::new();
        loop {
            let only_in = |entry: &Entry, copy: &SampleCopy| {
                Some(format!(
                    "'{}' is only in {}",
                    entry.relative.display(),
                    self.sources[copy.source].label.display()
                ))
            };
            match (left.peek(), right.peek()) {
                (None, None) => break,
                (Some(x), None) => return Ok(only_in(x, a)),
                (None, Some(y)) => return Ok(only_in(y, b)),
                (Some(x), Some(y)) => match x.relative.cmp(&y.relative) {
                    Ordering::Less => return Ok(only_in(x, a)),
                    Ordering::Greater => return Ok(only_in(y, b)),
                    Ordering::Equal if x.kind != y.kind => return Ok(differs(x)),
                    Ordering::Equal => {
                        if matches!(x.kind, EntryKind::File(_)) {
                            same_size.push(*x);
                        }
                        left.next();
                        right.next();
                    }
                },
            }
        }
        for entry in same_size {
            let relative = &entry.relative;
            if !same_bytes(&a.dir.join(relative), &b.dir.join(relative))? {
                return Ok(differs(entry));
            }
        }
        Ok(None)
    }
}

fn differs(entry: &Entry) -> Option<String> {
    Some(format!("'{}' differs", entry.relative.display()))
}

/// The regular files below `dir`, sorted by relative path; atomic-write temp
/// files, symlinks and special files are left out.
fn list_files(dir: &Path) -> io::Result<Vec<Entry>> {
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in fs::read_dir(dir.join(&relative))? {
            let entry = entry?;
            let name = entry.file_name();
            if is_atomic_temp(&name) {
                continue;
            }
            let path = relative.join(&name);
            let file_type = entry.file_type()?;
            let kind = if file_type.is_dir() {
                pending.push(path);
                continue;
            } else if file_type.is_file() {
                EntryKind::File(entry.metadata()?.len())
            } else {
                continue;
            };
            files.push(Entry {
                relative: path,
                kind,
            });
        }
    }
    files.sort_unstable_by(|x, y| x.relative.cmp(&y.relative));
    Ok(files)
}

/// Whether two files of equal size hold the same bytes.
fn same_bytes(a: &Path, b: &Path) -> io::Result<bool> {
    let (mut a, mut b) = (fs::File::open(a)?, fs::File::open(b)?);
    let (mut x, mut y) = (vec![0u8; COMPARE_CHUNK], vec![0u8; COMPARE_CHUNK]);
    loop {
        let n = read_full(&mut a, &mut x)?;
        let m = read_full(&mut b, &mut y)?;
        if n != m || x[..n] != y[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// Reads until `buffer` is full or the file ends; the bytes read.
fn read_full(file: &mut fs::File, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The write pass: applies decisions to DIR and, with `--move`, the shards.
struct Writer<'a> {
    dataset: &'a Dataset,
    sources: &'a [Source],
    scratch: &'a Path,
    move_samples: bool,
}

impl Writer<'_> {
    fn apply(&self, id: u64, decision: &Decision) -> Result<()> {
        let name = sample_dir_name(id);
        let discard = match decision {
            Decision::Conflict(_) => return Ok(()),
            Decision::Keep { discard } => discard,
            Decision::Bring {
                from,
                replace,
                discard,
            } => {
                self.bring(&name, &self.sources[*from].root.join(&name), *replace)?;
                discard
            }
        };
        if self.move_samples {
            for &source in discard {
                let dir = self.sources[source].root.join(&name);
                remove_copy(&dir).map_err(|e| Error::io("cannot remove", dir, e))?;
            }
        }
        Ok(())
    }

    /// Puts the copy in `from` at `DIR/<name>`, replacing DIR's copy if any.
    fn bring(&self, name: &str, from: &Path, replace: bool) -> Result<()> {
        let target = self.dataset.root().join(name);
        let aside = self.scratch.join("old").join(name);
        let put_aside = || {
            if replace {
                fs::rename(&target, &aside)
                    .map_err(|e| Error::io("cannot move aside", &target, e))?;
            }
            Ok::<(), Error>(())
        };
        // A folder holding a link is copied (without the link), not moved.
        let movable = self.move_samples
            && !holds_links(from).map_err(|e| Error::io("cannot read", from, e))?;
        if movable {
            put_aside()?;
            match fs::rename(from, &target) {
                Ok(()) => return remove_aside(&aside, replace),
                Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {}
                Err(e) => return Err(Error::io("cannot move", from, e)),
            }
        }
        let fresh = self.scratch.join("new").join(name);
        copy_tree(from, &fresh).map_err(|e| Error::io("cannot copy", from, e))?;
        if !movable {
            // Copying first keeps the sample absent from DIR only for a rename.
            put_aside()?;
        }
        fs::rename(&fresh, &target).map_err(|e| Error::io("cannot move into place", &target, e))?;
        if self.move_samples {
            remove_copy(from).map_err(|e| Error::io("cannot remove", from, e))?;
        }
        remove_aside(&aside, replace)
    }

    /// Copies (or moves) the run logs of a shard into DIR's; how many files.
    fn merge_run_files(&self, shard: &Path) -> Result<u64> {
        let from_dir = Dataset::new(shard).runs_dir();
        let entries = match fs::read_dir(&from_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(Error::io("cannot read", from_dir, e)),
        };
        let to_dir = self.dataset.runs_dir();
        fs::create_dir_all(&to_dir).map_err(|e| Error::io("cannot create", &to_dir, e))?;
        let mut count = 0;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io("cannot read", &from_dir, e))?;
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            if !is_file || is_atomic_temp(&entry.file_name()) {
                continue;
            }
            let (from, to) = (entry.path(), to_dir.join(entry.file_name()));
            if self.move_samples && fs::rename(&from, &to).is_ok() {
                count += 1;
                continue;
            }
            let bytes = fs::read(&from).map_err(|e| Error::io("cannot read", &from, e))?;
            if fs::read(&to).ok().as_deref() != Some(&bytes) {
                write_atomic(&to, &bytes).map_err(|e| Error::io("cannot write", &to, e))?;
            }
            if self.move_samples {
                fs::remove_file(&from).map_err(|e| Error::io("cannot remove", &from, e))?;
            }
            count += 1;
        }
        Ok(count)
    }
}

fn remove_aside(aside: &Path, replaced: bool) -> Result<()> {
    if replaced {
        fs::remove_dir_all(aside).map_err(|e| Error::io("cannot remove", aside, e))?;
    }
    Ok(())
}

/// Copies the sample folder `from` to the new folder `to`, the record last.
fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    copy_dir(from, to, true)
}

fn copy_dir(from: &Path, to: &Path, top: bool) -> io::Result<()> {
    fs::create_dir(to)?;
    let mut record = None;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if is_atomic_temp(&name) {
            continue;
        }
        if top && name == RECORD_FILE {
            record = Some(entry.path());
            continue;
        }
        let target = to.join(&name);
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            copy_dir(&entry.path(), &target, false)?;
        } else if file_type.is_file() {
            fs::copy(entry.path(), &target)?;
        }
    }
    if let Some(record) = record {
        fs::copy(record, to.join(RECORD_FILE))?;
    }
    Ok(())
}

/// Whether a sample folder holds a symlink or special file (which a move
/// would bring into DIR); from the listings' file types, no `stat`.
fn holds_links(dir: &Path) -> io::Result<bool> {
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                pending.push(entry.path());
            } else if !file_type.is_file() {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Removes a sample folder, its record first: a removal cut short leaves
/// files no record vouches for, never a copy that claims work it lacks.
fn remove_copy(dir: &Path) -> io::Result<()> {
    match fs::remove_file(dir.join(RECORD_FILE)) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::remove_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        copy_tree(&from, &to).unwrap();
        assert_eq!(list_files(&from).unwrap(), list_files(&to).unwrap());
        assert!(!to.join("link").exists() && !holds_links(&to).unwrap());
        remove_copy(&to).unwrap();
        assert!(!to.exists());
    }
}
