//! What a block may change in the sample folder: nothing.
//!
//! A block reads earlier blocks' files in the sample folder and writes only
//! into its own out dir. Before a block runs, the engine holds a listing of
//! the sample folder (each file's size, mtime and inode, read with the
//! `lstat` a directory walk already does); after it ran, a fresh listing must
//! be equal: a file changed, removed or added there fails the sample with a
//! reason naming the block and the file. The record and temp files of atomic
//! writes are not listed (the engine writes them between blocks). A block
//! type that declares it writes only its out folder
//! ([`crate::block::Block::writes_only_out_dir`]) is taken at its word: no
//! listing after it (what it publishes is added to the listing as before,
//! as [`Item::Unlisted`] when published without a `stat`; the folder is
//! then listed again before the next block that is watched).
//!
//! The same listing finds symlinks and special files (fifos, sockets,
//! devices) in the sample folder: the engine never made them, so such a
//! folder is damaged and set aside.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::dataset::atomic::is_atomic_temp;
use crate::layout::RECORD_FILE;
use crate::pipeline::PipelineBlock;

/// A sample folder while its blocks run: opened once without following
/// links (publishing works relative to it), and its listing.
pub(crate) struct Watched {
    /// The sample folder.
    pub folder: crate::dataset::safe_fs::Dir,
    /// Its entries as the engine left them.
    pub listing: Listing,
    /// What the last attempt published, with sizes and digests, for the
    /// block's record entry (empty after a failed attempt).
    pub published: Vec<crate::dataset::record::OutputFile>,
}

/// One entry of a listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Item {
    /// A regular file: size, mtime (s, ns), inode.
    File(u64, i64, i64, u64),
    /// A folder (its mtime changes with its entries, so only presence counts).
    Folder,
    /// A symlink, fifo, socket or device: never made by the engine.
    Special(&'static str),
    /// A file the engine published without taking its metadata (written
    /// through the context, [`crate::block::SampleContext::create_output`]):
    /// the folder is listed again ([`Listing::has_unlisted`]) before a block
    /// whose changes are looked for.
    Unlisted,
}

impl Item {
    /// The entry of a file from its metadata.
    pub(crate) fn of(meta: &fs::Metadata) -> Self {
        if meta.is_file() {
            Item::File(meta.len(), meta.mtime(), meta.mtime_nsec(), meta.ino())
        } else if meta.is_dir() {
            Item::Folder
        } else {
            Item::Special(crate::dataset::safe_fs::kind_name(&meta.file_type()))
        }
    }
}

/// The entries below a sample folder by relative path (`/` separators).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Listing(pub BTreeMap<String, Item>);

impl Listing {
    /// Lists the sample folder `dir` (absent: empty), without following links.
    pub(crate) fn of(dir: &Path) -> io::Result<Self> {
        let mut items = BTreeMap::new();
        let mut pending = vec![PathBuf::new()];
        while let Some(relative) = pending.pop() {
            let entries = match fs::read_dir(dir.join(&relative)) {
                Ok(entries) => entries,
                Err(e)
                    if e.kind() == io::ErrorKind::NotFound && relative.as_os_str().is_empty() =>
                {
                    break
                }
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                let name = entry.file_name();
                let top = relative.as_os_str().is_empty();
                if is_atomic_temp(&name) || (top && name == RECORD_FILE) {
                    continue;
                }
                let path = relative.join(&name);
                let file_type = entry.file_type()?;
                let item = if file_type.is_dir() {
                    pending.push(path.clone());
                    Item::Folder
                } else if file_type.is_file() {
                    Item::of(&entry.metadata()?)
                } else {
                    Item::Special(crate::dataset::safe_fs::kind_name(&file_type))
                };
                items.insert(path.to_string_lossy().into_owned(), item);
            }
        }
        Ok(Self(items))
    }

    /// The first symlink or special file, with its kind.
    pub(crate) fn first_special(&self) -> Option<(&str, &'static str)> {
        self.0.iter().find_map(|(name, item)| match item {
            Item::Special(kind) => Some((name.as_str(), *kind)),
            _ => None,
        })
    }

    /// Whether a file in it was published without its metadata
    /// ([`Item::Unlisted`]): such a listing cannot tell a change, so list
    /// the folder again before comparing.
    pub(crate) fn has_unlisted(&self) -> bool {
        self.0.values().any(|item| *item == Item::Unlisted)
    }

    /// Adds a published file and the folders above it.
    pub(crate) fn add_published(&mut self, relative: &str, item: Item) {
        let mut at = 0;
        while let Some(slash) = relative[at..].find('/') {
            let folder = &relative[..at + slash];
            self.0.entry(folder.to_owned()).or_insert(Item::Folder);
            at += slash + 1;
        }
        self.0.insert(relative.to_owned(), item);
    }
}

/// What block `blocks[index]` did to the sample folder, if anything: the
/// failure reason and the index of the earliest block whose file it changed
/// or removed (that block's work can no longer be vouched for).
pub(crate) fn changes(
    blocks: &[PipelineBlock],
    index: usize,
    before: &Listing,
    after: &Listing,
) -> Option<(String, Option<usize>)> {
    let name = blocks[index].name();
    let owner = |file: &str| blocks.iter().position(|b| b.outputs.matches(file));
    let of_owner = |file: &str| match owner(file) {
        Some(o) => format!("'{file}' of block '{}'", blocks[o].name()),
        None => format!("'{file}' in the sample folder"),
    };
    let mut reason = None;
    let mut earliest: Option<usize> = None;
    for (file, item) in &before.0 {
        let verb = match after.0.get(file) {
            None => "removed",
            Some(now) if now != item && !matches!((item, now), (Item::Folder, Item::Folder)) => {
                "changed"
            }
            Some(_) => continue,
        };
        if let Some(o) = owner(file) {
            earliest = Some(earliest.map_or(o, |e| e.min(o)));
        }
        reason.get_or_insert_with(|| format!("block '{name}' {verb} {}", of_owner(file)));
    }
    if reason.is_none() {
        if let Some(file) = after.0.keys().find(|f| !before.0.contains_key(*f)) {
            reason = Some(format!(
                "block '{name}' wrote '{file}' into the sample folder; blocks write only into \
                 their out dir (SHARDGEN_OUT_DIR)"
            ));
        }
    }
    reason.map(|r| (r, earliest))
}
