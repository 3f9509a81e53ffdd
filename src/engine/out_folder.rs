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
//!
//! A block that also writes every file through the context
//! ([`crate::block::Block::writes_only_through_context`]) is published
//! without listing its out folder: the folder is then
//! [`OutFolder::Unlisted`], empty unless the block broke its promise. The
//! next attempt of such a block reuses it as is (it publishes only what it
//! writes through the context, so a stray file cannot become its output);
//! any other block prepares it in full.

use std::fs::File;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, PoisonError};

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
    /// Exists, and everything written through the context was moved out;
    /// not listed since: empty if the last block kept its promise.
    Unlisted = 2,
}

/// What publishing an attempt's outputs left in its out folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutLeft {
    /// Not known (no publish, a failure, files that are not outputs...):
    /// the folder must be emptied.
    Unknown,
    /// Every entry was an output and was moved out: the folder is empty.
    Nothing,
    /// Every output written through the context was moved out, and no
    /// folder was made for one; the folder was not listed.
    Unlisted,
}

/// The state of each worker's out folder, by worker index, shared by the
/// worker threads of one executor (each worker only touches its own), with
/// the folder kept open while it is not [`OutFolder::Unknown`] so that
/// publishing lists it through that descriptor.
pub(crate) struct OutFolders {
    states: Box<[AtomicU8]>,
    handles: Box<[Mutex<Option<File>>]>,
}

impl Default for OutFolders {
    fn default() -> Self {
        Self {
            states: (0..TRACKED).map(|_| AtomicU8::new(0)).collect(),
            handles: (0..TRACKED).map(|_| Mutex::new(None)).collect(),
        }
    }
}

impl OutFolders {
    /// What worker `worker`'s out folder is known to be; it becomes
    /// [`OutFolder::Unknown`] until [`OutFolders::put`] says otherwise, so an
    /// attempt that ends early (an error, a panic) leaves nothing trusted.
    /// With it, the folder's descriptor if one was kept.
    pub(crate) fn take(&self, worker: usize) -> (OutFolder, Option<File>) {
        let state = match self
            .states
            .get(worker)
            .map(|s| s.swap(0, Ordering::Relaxed))
        {
            Some(1) => OutFolder::Empty,
            Some(2) => OutFolder::Unlisted,
            _ => OutFolder::Unknown,
        };
        let handle = self
            .handles
            .get(worker)
            .and_then(|slot| slot.lock().unwrap_or_else(PoisonError::into_inner).take());
        (state, handle)
    }

    /// Records what worker `worker`'s out folder is after an attempt, and
    /// keeps its descriptor unless it is [`OutFolder::Unknown`].
    pub(crate) fn put(&self, worker: usize, state: OutFolder, handle: Option<File>) {
        if let (Some(slot), Some(kept)) = (self.states.get(worker), self.handles.get(worker)) {
            let handle = handle.filter(|_| state != OutFolder::Unknown);
            *kept.lock().unwrap_or_else(PoisonError::into_inner) = handle;
            slot.store(state as u8, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_trusted_once_and_unknown_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let open = || Some(File::open(dir.path()).unwrap());
        let folders = OutFolders::default();
        assert_eq!(folders.take(0).0, OutFolder::Unknown);
        folders.put(0, OutFolder::Empty, open());
        folders.put(1, OutFolder::Unknown, open());
        let (state, handle) = folders.take(0);
        assert_eq!(state, OutFolder::Empty);
        assert!(handle.is_some());
        let (state, handle) = folders.take(0);
        assert_eq!(state, OutFolder::Unknown, "taken: not trusted twice");
        assert!(handle.is_none());
        let (state, handle) = folders.take(1);
        assert_eq!(state, OutFolder::Unknown);
        assert!(handle.is_none(), "no descriptor kept for an unknown folder");
        folders.put(2, OutFolder::Unlisted, open());
        let (state, handle) = folders.take(2);
        assert_eq!(state, OutFolder::Unlisted);
        assert!(handle.is_some());
        assert_eq!(folders.take(2).0, OutFolder::Unknown);
        folders.put(TRACKED, OutFolder::Empty, open());
        assert_eq!(folders.take(TRACKED).0, OutFolder::Unknown);
    }
}
