//! Keeps the [`SampleFacts`] of many samples between the scan and the
//! statistics pass: pushed in any order, read back in increasing id order,
//! within a fixed memory budget whatever the number of samples.
//!
//! Facts are encoded into an in-memory arena. When the arena outgrows the
//! budget, its entries are sorted by id and appended to a spill file as one
//! sorted *run*, and the arena starts over; [`FactsSpool::into_sorted`]
//! merges the runs and the arena on a heap. The spill file is unlinked the
//! moment it is created, so nothing is left behind however the process ends
//! and no other run ever sees it. The scan pushes in id order and the run in
//! nearly id order; neither is required.
//!
//! A spool that could not spill (no space, no folder) says so by returning
//! `None` from [`FactsSpool::into_sorted`]: the pass then reads every
//! sample from disk, as if nothing had been kept.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::dataset::sample_facts::SampleFacts;

/// Bytes of encoded facts kept in memory before a run is spilled.
const MEMORY_BUDGET: usize = 8 << 20;
/// Bytes read from the spill file at a time, per run being merged.
const READ_CHUNK: usize = 64 << 10;
/// Frame header in the spill file: the id (`u64`) and the length (`u32`).
const FRAME_HEADER: usize = 12;

/// Facts of samples, pushed in any order. See the [module docs](self).
pub(crate) struct FactsSpool {
    folder: PathBuf,
    budget: usize,
    arena: Vec<u8>,
    /// `(id, start, end)` of each entry of the arena, in push order.
    index: Vec<(u64, usize, usize)>,
    spill: Option<File>,
    /// `(offset, length)` of each sorted run in the spill file.
    runs: Vec<(u64, u64)>,
    spilled: u64,
    broken: bool,
}

impl FactsSpool {
    /// An empty spool that spills, if it must, into `folder` (a folder on
    /// the dataset's filesystem, which has room for what its records hold).
    pub(crate) fn new(folder: &Path) -> Self {
        Self::with_budget(folder, MEMORY_BUDGET)
    }

    fn with_budget(folder: &Path, budget: usize) -> Self {
        Self {
            folder: folder.to_owned(),
            budget,
            arena: Vec::new(),
            index: Vec::new(),
            spill: None,
            runs: Vec::new(),
            spilled: 0,
            broken: false,
        }
    }

    /// Keeps the facts of one sample (each sample at most once).
    pub(crate) fn push(&mut self, facts: &SampleFacts) {
        if self.broken {
            return;
        }
        let start = self.arena.len();
        facts.encode(&mut self.arena);
        self.index.push((facts.id, start, self.arena.len()));
        self.spill_if_full();
    }

    /// [`push`](Self::push) of facts already encoded
    /// ([`SampleFacts::encode`]), e.g. in parallel by the scan.
    pub(crate) fn push_encoded(&mut self, id: u64, encoded: &[u8]) {
        if self.broken {
            return;
        }
        let start = self.arena.len();
        self.arena.extend_from_slice(encoded);
        self.index.push((id, start, self.arena.len()));
        self.spill_if_full();
    }

    fn spill_if_full(&mut self) {
        if self.arena.len() >= self.budget {
            if let Err(_unusable) = self.spill_run() {
                // Too little room to keep them: the pass reads from disk.
                self.broken = true;
                self.arena = Vec::new();
                self.index = Vec::new();
            }
        }
    }

    /// Appends the arena, sorted by id, to the spill file as one run.
    fn spill_run(&mut self) -> std::io::Result<()> {
        let file = match &mut self.spill {
            Some(file) => file,
            spill => spill.insert(unlinked_file(&self.folder)?),
        };
        self.index.sort_by_key(|&(id, _, _)| id);
        let mut out = std::io::BufWriter::with_capacity(READ_CHUNK, &*file);
        let mut length = 0u64;
        for &(id, start, end) in &self.index {
            let bytes = &self.arena[start..end];
            out.write_all(&id.to_le_bytes())?;
            out.write_all(&(bytes.len() as u32).to_le_bytes())?;
            out.write_all(bytes)?;
            length += (FRAME_HEADER + bytes.len()) as u64;
        }
        out.flush()?;
        self.runs.push((self.spilled, length));
        self.spilled += length;
        self.arena.clear();
        self.index.clear();
        Ok(())
    }

    /// The facts in increasing id order, or `None` if some could not be kept.
    pub(crate) fn into_sorted(mut self) -> Option<SortedFacts> {
        if self.broken {
            return None;
        }
        self.index.sort_by_key(|&(id, _, _)| id);
        let mut cursors: Vec<Cursor> = self
            .runs
            .iter()
            .map(|&(offset, length)| Cursor::Spilled {
                next: offset,
                end: offset + length,
                buffer: Vec::new(),
                at: 0,
            })
            .collect();
        cursors.push(Cursor::Memory { at: 0 });
        let mut sorted = SortedFacts {
            arena: std::mem::take(&mut self.arena),
            index: std::mem::take(&mut self.index),
            spill: self.spill.take(),
            cursors,
            heads: Vec::new(),
            heap: BinaryHeap::new(),
        };
        sorted.heads = (0..sorted.cursors.len()).map(|_| None).collect();
        for cursor in 0..sorted.cursors.len() {
            sorted.advance(cursor);
        }
        Some(sorted)
    }
}

/// A spill file in `folder`, already unlinked: only its descriptor holds it.
fn unlinked_file(folder: &Path) -> std::io::Result<File> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        ".shardgen-facts-{}-{}-{}",
        crate::process::name(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let path = folder.join(name);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    fs::remove_file(&path)?;
    Ok(file)
}

/// Where one sorted run is read from.
enum Cursor {
    /// The arena's sorted index, at entry `at`.
    Memory { at: usize },
    /// A run of the spill file: bytes `next..end` not yet read, and
    /// `buffer[at..]` read but not yet taken.
    Spilled {
        next: u64,
        end: u64,
        buffer: Vec<u8>,
        at: usize,
    },
}

/// The facts of a [`FactsSpool`] in increasing id order (an iterator).
/// An entry that cannot be read back ends its run early: the samples it
/// would have given are then read from disk by the pass.
pub(crate) struct SortedFacts {
    arena: Vec<u8>,
    index: Vec<(u64, usize, usize)>,
    spill: Option<File>,
    cursors: Vec<Cursor>,
    /// The next facts of each cursor.
    heads: Vec<Option<SampleFacts>>,
    /// `(id, cursor)` of each cursor that has a head.
    heap: BinaryHeap<Reverse<(u64, usize)>>,
}

impl SortedFacts {
    /// Loads the next facts of `cursor` into its head and onto the heap.
    fn advance(&mut self, cursor: usize) {
        let next = match &mut self.cursors[cursor] {
            Cursor::Memory { at } => self.index.get(*at).and_then(|&(id, start, end)| {
                *at += 1;
                SampleFacts::decode(id, &self.arena[start..end])
            }),
            Cursor::Spilled {
                next,
                end,
                buffer,
                at,
            } => match &self.spill {
                Some(file) => read_frame(file, next, *end, buffer, at),
                None => None,
            },
        };
        if let Some(facts) = &next {
            self.heap.push(Reverse((facts.id, cursor)));
        }
        self.heads[cursor] = next;
    }
}

impl Iterator for SortedFacts {
    type Item = SampleFacts;

    fn next(&mut self) -> Option<SampleFacts> {
        let Reverse((_, cursor)) = self.heap.pop()?;
        let facts = self.heads[cursor].take();
        self.advance(cursor);
        facts
    }
}

/// The next frame of a spilled run, decoded; `None` at its end or on an
/// unreadable frame.
fn read_frame(
    file: &File,
    next: &mut u64,
    end: u64,
    buffer: &mut Vec<u8>,
    at: &mut usize,
) -> Option<SampleFacts> {
    let mut fill = |need: usize, buffer: &mut Vec<u8>, at: &mut usize| -> Option<()> {
        if buffer.len() - *at >= need {
            return Some(());
        }
        buffer.drain(..*at);
        *at = 0;
        let want = (need - buffer.len()).max(READ_CHUNK) as u64;
        let take = want.min(end - *next) as usize;
        let old = buffer.len();
        buffer.resize(old + take, 0);
        file.read_exact_at(&mut buffer[old..], *next).ok()?;
        *next += take as u64;
        (buffer.len() >= need).then_some(())
    };
    fill(FRAME_HEADER, buffer, at)?;
    let id = u64::from_le_bytes(buffer[*at..*at + 8].try_into().ok()?);
    let len = u32::from_le_bytes(buffer[*at + 8..*at + 12].try_into().ok()?) as usize;
    *at += FRAME_HEADER;
    fill(len, buffer, at)?;
    let facts = SampleFacts::decode(id, &buffer[*at..*at + len]);
    *at += len;
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{StatValue, Stats};
    use crate::dataset::state::BlockState;

    fn facts(id: u64) -> SampleFacts {
        let mut stats = Stats::new();
        stats.insert("value".into(), StatValue::Number(id as f64 * 0.5));
        SampleFacts {
            id,
            states: vec![BlockState::Complete, BlockState::Failed(format!("no {id}"))],
            damaged: id % 7 == 0,
            record_digest: id * 31,
            stats: vec![stats, Stats::new()],
        }
    }

    #[test]
    fn facts_pushed_in_any_order_come_back_sorted_across_spilled_runs() {
        let folder = tempfile::tempdir().unwrap();
        // A small budget: many runs, each spilled to the one unlinked file.
        let mut spool = FactsSpool::with_budget(folder.path(), 2_000);
        // A scrambled permutation of 0..5000 (37 is coprime with 5000).
        let ids: Vec<u64> = (0..5000u64).map(|i| (i * 37) % 5000).collect();
        for &id in &ids {
            spool.push(&facts(id));
        }
        assert!(spool.runs.len() > 10, "{} runs", spool.runs.len());
        // The spill file is already gone from the folder.
        assert_eq!(fs::read_dir(folder.path()).unwrap().count(), 0);
        let back: Vec<SampleFacts> = spool.into_sorted().unwrap().collect();
        assert_eq!(back.len(), 5000);
        for (expected, got) in (0..5000u64).zip(&back) {
            assert_eq!(got, &facts(expected));
        }
    }

    #[test]
    fn a_spool_that_cannot_spill_gives_nothing_rather_than_part() {
        let mut spool = FactsSpool::with_budget(Path::new("/nonexistent/folder"), 100);
        for id in 0..100 {
            spool.push(&facts(id));
        }
        assert!(spool.into_sorted().is_none());
        // Within the budget nothing is written, and all of it comes back.
        let mut small = FactsSpool::with_budget(Path::new("/nonexistent/folder"), 1 << 20);
        for id in (0..100).rev() {
            small.push(&facts(id));
        }
        let ids: Vec<u64> = small.into_sorted().unwrap().map(|f| f.id).collect();
        assert_eq!(ids, (0..100).collect::<Vec<_>>());
    }
}
