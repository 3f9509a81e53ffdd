//! What the engine knows about each worker's out folder between attempts,
//! so that the fresh path of a block that writes only its out folder
//! ([`crate::block::Block::writes_only_out_dir`]) costs no syscall to prepare
//! it: the engine empties the out folder after every attempt, so the next
//! attempt of such a block need not create, list or clean it again.
//!
//! Anything else (a block that may run programs or write elsewhere, an
//! attempt that could not be cleaned up after) leaves the folder
//! [`OutFolder::Unknown`]: the next attempt creates and empties it and
//! removes a stale stats file, as always.

use std::sync::atomic::{AtomicU8, Ordering};

/// Worker folders tracked; a worker beyond (more threads) is always prepared
/// in full.
const TRACKED: usize = 256;

/// A worker's out folder between two attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutFolder {
    /// Not known: create it, empty it and remove the stats file.
    Unknown = 0,
    /// Exists and is empty, and the worker folder holds no stats file.
    Empty = 1,
}

/// What publishing an attempt's outputs left in its out folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutLeft {
    /// Not known (no publish, a failure, files that are not outputs...):
    /// the folder must be emptied.
    Unknown,
    /// Every entry was an output and was moved out: the folder is empty.
    Nothing,
}

/// The state of each worker's out folder, by worker index, shared by the
/// worker threads of one executor (each worker only touches its own).
pub(crate) struct OutFolders(Box<[AtomicU8]>);

impl Default for OutFolders {
    fn default() -> Self {
        Self((0..TRACKED).map(|_| AtomicU8::new(0)).collect())
    }
}

impl OutFolders {
    /// What worker `worker`'s out folder is known to be; it becomes
    /// [`OutFolder::Unknown`] until [`OutFolders::put`] says otherwise, so an
    /// attempt that ends early (an error, a panic) leaves nothing trusted.
    pub(crate) fn take(&self, worker: usize) -> OutFolder {
        match self.0.get(worker).map(|s| s.swap(0, Ordering::Relaxed)) {
            Some(1) => OutFolder::Empty,
            _ => OutFolder::Unknown,
        }
    }

    /// Records what worker `worker`'s out folder is after an attempt.
    pub(crate) fn put(&self, worker: usize, state: OutFolder) {
        if let Some(slot) = self.0.get(worker) {
            slot.store(state as u8, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_trusted_once_and_unknown_by_default() {
        let folders = OutFolders::default();
        assert_eq!(folders.take(0), OutFolder::Unknown);
        folders.put(0, OutFolder::Empty);
        folders.put(1, OutFolder::Empty);
        assert_eq!(folders.take(0), OutFolder::Empty);
        assert_eq!(
            folders.take(0),
            OutFolder::Unknown,
            "taken: not trusted twice"
        );
        assert_eq!(folders.take(1), OutFolder::Empty);
        folders.put(TRACKED, OutFolder::Empty);
        assert_eq!(folders.take(TRACKED), OutFolder::Unknown);
    }
}
