//! Deciding what happens to each sample: comparing its copies file by file
//! under the reference pipeline.
//!
//! Two files of the same name and size are compared by the digests their
//! records hold for them, when both records vouch for the file at that size
//! with a digest of a known algorithm; otherwise by reading both. So copies
//! made by a shardgen that records digests are compared without reading
//! their outputs (a file changed in place after it was published is not
//! seen this way: `shardgen verify` the shards first when in doubt).

use std::cmp::Ordering;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::dataset::record::{read_record, BlockRecord, BlockStatus, RecordRead};
use crate::dataset::state::StateJudge;
use crate::dataset::walk::{walk, FileKind};
use crate::error::{Error, Result};
use crate::layout::RECORD_FILE;
use crate::pipeline::description::BlockDescription;
use crate::pipeline::outputs::BlockOutputs;

use super::check::*;
use super::report::*;

/// Bytes compared per read when two files have the same size.
pub(super) const COMPARE_CHUNK: usize = 64 * 1024;

/// What happens to one sample.
pub(super) enum Decision {
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
pub(super) struct MergePlan {
    /// `(id, decision)` in increasing id order.
    pub(super) decisions: Vec<(u64, Decision)>,
    /// DIR's samples before the merge.
    pub(super) dir_samples: Vec<u64>,
}

pub(super) fn decide(sources: &[Source], comparer: &Comparer) -> Result<MergePlan> {
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
pub(super) struct Comparer<'a> {
    pub(super) blocks: &'a [BlockDescription],
    pub(super) outputs: Vec<BlockOutputs>,
    pub(super) judge: StateJudge,
    pub(super) sources: &'a [Source],
}

/// One copy of a sample: where it is, its files and its record.
pub(super) struct SampleCopy {
    pub(super) source: usize,
    pub(super) dir: PathBuf,
    pub(super) files: Vec<Entry>,
    pub(super) record: RecordRead,
}

impl SampleCopy {
    /// The digest the record holds for the output `relative`, if it vouches
    /// for it at `size` (a block entry `ok`) with a known algorithm.
    fn recorded_digest(&self, relative: &Path, size: u64) -> Option<&str> {
        let relative = relative.to_str()?;
        self.record
            .valid()?
            .blocks
            .iter()
            .filter(|b| b.status == BlockStatus::Ok)
            .flat_map(|b| &b.outputs)
            .find(|o| o.path == relative && o.size == size)
            .filter(|o| crate::file_digest::is_known(&o.digest))
            .map(|o| o.digest.as_str())
    }
}

/// The first output whose size or digest differs between two entries that
/// agree on everything else, for the conflict's wording.
fn other_output<'r>(a: Option<&'r BlockRecord>, b: Option<&BlockRecord>) -> Option<&'r str> {
    let (a, b) = (a?, b?);
    let bare = |e: &BlockRecord| BlockRecord {
        outputs: Vec::new(),
        ..e.clone()
    };
    if bare(a) != bare(b) {
        return None;
    }
    a.outputs
        .iter()
        .find(|o| !b.outputs.contains(o))
        .map(|o| o.path.as_str())
}

/// Whether two record entries agree; their output lists only when both have
/// one (a record of before digests agrees with one that has them).
fn same_entry(a: Option<&BlockRecord>, b: Option<&BlockRecord>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) if a.outputs.is_empty() || b.outputs.is_empty() => {
            let bare = |e: &BlockRecord| BlockRecord {
                outputs: Vec::new(),
                ..e.clone()
            };
            bare(a) == bare(b)
        }
        (a, b) => a == b,
    }
}

/// A file of a copy, by path relative to the sample folder.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) relative: PathBuf,
    pub(super) kind: EntryKind,
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum EntryKind {
    /// A regular file of this size.
    File(u64),
}

/// How two copies relate.
pub(super) enum Order {
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
    pub(super) fn new(blocks: &'a [BlockDescription], sources: &'a [Source]) -> Self {
        Self {
            blocks,
            outputs: blocks.iter().map(BlockOutputs::of).collect(),
            judge: StateJudge::new(blocks.iter().cloned()),
            sources,
        }
    }

    /// Picks the copy to keep among those in `places` (sorted, DIR first).
    pub(super) fn decide(&self, id: u64, places: &[usize]) -> Result<Decision> {
        let dir_has_copy = places[0] == 0;
        if places.len() == 1 {
            return Ok(Decision::Bring {
                from: places[0],
                replace: false,
                discard: Vec::new(),
            });
        }
        let copy = |source: usize| -> Result<SampleCopy> {
            let dir = self.sources[source].sample_dir(id);
            let files = list_files(&dir).map_err(|e| Error::io("cannot read", &dir, e))?;
            let record = read_record(&dir, id);
            Ok(SampleCopy {
                source,
                dir,
                files,
                record,
            })
        };
        let mut best = copy(places[0])?;
        let mut losers = Vec::new();
        for &place in &places[1..] {
            let other = copy(place)?;
            let order = self
                .compare(&best, &other)
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
    pub(super) fn compare(&self, a: &SampleCopy, b: &SampleCopy) -> io::Result<Order> {
        let Some(difference) = self.first_difference(a, b, |_| true)? else {
            return Ok(Order::Same);
        };
        let (record_a, record_b) = (&a.record, &b.record);
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
            let entry_a = record_a.valid().and_then(|r| r.block(&block.name));
            let entry_b = record_b.valid().and_then(|r| r.block(&block.name));
            if !same_entry(entry_a, entry_b) {
                return Ok(Order::Conflict(match other_output(entry_a, entry_b) {
                    Some(path) => format!("'{path}' differs, of a block complete in both"),
                    None => format!(
                        "block '{}' is complete in both but recorded differently",
                        block.name
                    ),
                }));
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
                // Records that differ only in attempts (checked above) agree.
                let besides_record = |relative: &Path| relative != Path::new(RECORD_FILE);
                match self.first_difference(a, b, besides_record)? {
                    None => Order::Same,
                    Some(_) => Order::Conflict(format!("both complete, but {difference}")),
                }
            }
            Ordering::Equal => Order::Same,
        })
    }

    /// The first difference between the files of `a` and `b` that `keep`
    /// selects, in words; names and sizes first, bytes last.
    pub(super) fn first_difference(
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
            let EntryKind::File(size) = entry.kind;
            let same = match (
                a.recorded_digest(relative, size),
                b.recorded_digest(relative, size),
            ) {
                (Some(x), Some(y)) => x == y,
                _ => same_bytes(&a.dir.join(relative), &b.dir.join(relative))?,
            };
            if !same {
                return Ok(differs(entry));
            }
        }
        Ok(None)
    }
}

pub(super) fn differs(entry: &Entry) -> Option<String> {
    Some(format!("'{}' differs", entry.relative.display()))
}

/// The regular files below `dir`, sorted by relative path; atomic-write
/// temp files, symlinks and special files are left out: merge never copies
/// or moves a link.
pub(super) fn list_files(dir: &Path) -> io::Result<Vec<Entry>> {
    Ok(walk(dir)?
        .into_iter()
        .filter_map(|file| {
            let kind = match file.kind {
                FileKind::File { len } => EntryKind::File(len),
                FileKind::Link(_) | FileKind::Special => return None,
            };
            Some(Entry {
                relative: file.relative,
                kind,
            })
        })
        .collect())
}

/// Whether two files of equal size hold the same bytes.
pub(super) fn same_bytes(a: &Path, b: &Path) -> io::Result<bool> {
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
pub(super) fn read_full(file: &mut fs::File, buffer: &mut [u8]) -> io::Result<usize> {
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
