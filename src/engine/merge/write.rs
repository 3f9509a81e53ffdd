//! The write pass of a merge: copy or move each winning copy into DIR,
//! crash-safe, record last.

use std::fs;
use std::io::{self};
use std::path::Path;

use crate::dataset::atomic::{is_atomic_temp, sync_dir, write_atomic, write_atomic_durable};
use crate::dataset::walk::{walk, FileKind};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::layout::{sample_dir_name, RECORD_FILE};

use super::check::Source;
use super::compare::*;

/// The write pass: applies decisions to DIR and, with `--move`, the shards.
pub(super) struct Writer<'a> {
    pub(super) dataset: &'a Dataset,
    pub(super) sources: &'a [Source],
    pub(super) scratch: &'a Path,
    pub(super) move_samples: bool,
    /// `--durable`: copies, renames and run files are fsynced.
    pub(super) durable: bool,
}

impl Writer<'_> {
    pub(super) fn apply(&self, id: u64, decision: &Decision) -> Result<()> {
        let discard = match decision {
            Decision::Conflict(_) => return Ok(()),
            Decision::Keep { discard } => discard,
            Decision::Bring {
                from,
                replace,
                discard,
            } => {
                self.bring(id, &self.sources[*from].sample_dir(id), *replace)?;
                discard
            }
        };
        if self.move_samples {
            for &source in discard {
                let dir = self.sources[source].sample_dir(id);
                remove_copy(&dir).map_err(|e| Error::io("cannot remove", dir, e))?;
            }
        }
        Ok(())
    }

    /// Puts the copy in `from` at sample `id`'s folder in DIR, replacing
    /// DIR's copy if any; creates its bucket if needed.
    pub(super) fn bring(&self, id: u64, from: &Path, replace: bool) -> Result<()> {
        let name = sample_dir_name(id);
        let target = self.dataset.sample_dir(id);
        if !replace {
            let bucket = self.dataset.bucket_dir(crate::layout::bucket_of(id));
            match fs::create_dir(&bucket) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io("cannot create", bucket, e)),
            }
        }
        let aside = self.scratch.join("old").join(&name);
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
                Ok(()) => {
                    self.sync_parents(&[&target, from])?;
                    return remove_aside(&aside, replace);
                }
                Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {}
                Err(e) => return Err(Error::io("cannot move", from, e)),
            }
        }
        let fresh = self.scratch.join("new").join(&name);
        copy_tree(from, &fresh, self.durable).map_err(|e| Error::io("cannot copy", from, e))?;
        if !movable {
            // Copying first keeps the sample absent from DIR only for a rename.
            put_aside()?;
        }
        fs::rename(&fresh, &target).map_err(|e| Error::io("cannot move into place", &target, e))?;
        self.sync_parents(&[&target])?;
        if self.move_samples {
            remove_copy(from).map_err(|e| Error::io("cannot remove", from, e))?;
        }
        remove_aside(&aside, replace)
    }

    /// With `--durable`, fsyncs the folders holding `paths` (after renames).
    fn sync_parents(&self, paths: &[&Path]) -> Result<()> {
        if !self.durable {
            return Ok(());
        }
        for path in paths {
            if let Some(parent) = path.parent() {
                sync_dir(parent).map_err(|e| Error::io("cannot sync", parent, e))?;
            }
        }
        Ok(())
    }

    /// Copies (or moves) the run logs of a shard into DIR's; how many files.
    pub(super) fn merge_run_files(&self, shard: &Path) -> Result<u64> {
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
                self.sync_parents(&[&to, &from])?;
                count += 1;
                continue;
            }
            let bytes = fs::read(&from).map_err(|e| Error::io("cannot read", &from, e))?;
            if fs::read(&to).ok().as_deref() != Some(&bytes) {
                let written = match self.durable {
                    true => write_atomic_durable(&to, &bytes),
                    false => write_atomic(&to, &bytes),
                };
                written.map_err(|e| Error::io("cannot write", &to, e))?;
            }
            if self.move_samples {
                fs::remove_file(&from).map_err(|e| Error::io("cannot remove", &from, e))?;
            }
            count += 1;
        }
        Ok(count)
    }
}

pub(super) fn remove_aside(aside: &Path, replaced: bool) -> Result<()> {
    if replaced {
        fs::remove_dir_all(aside).map_err(|e| Error::io("cannot remove", aside, e))?;
    }
    Ok(())
}

/// Copies the sample folder `from` to the new folder `to`, the record last;
/// with `durable`, every file copied and every folder made is fsynced, the
/// record after the files it vouches for.
pub(super) fn copy_tree(from: &Path, to: &Path, durable: bool) -> io::Result<()> {
    copy_dir(from, to, durable)
}

pub(super) fn copy_dir(from: &Path, to: &Path, durable: bool) -> io::Result<()> {
    let copy = |from: &Path, to: &Path| -> io::Result<()> {
        fs::copy(from, to)?;
        if durable {
            fs::File::open(to)?.sync_data()?;
        }
        Ok(())
    };
    fs::create_dir(to)?;
    let mut folders = std::collections::BTreeSet::new();
    let mut record = None;
    for file in walk(from)? {
        if !matches!(file.kind, FileKind::File { .. }) {
            continue; // never a link, device, fifo or socket
        }
        if file.relative.as_os_str() == RECORD_FILE {
            record = Some(file.relative);
            continue;
        }
        let target = to.join(&file.relative);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
            if durable {
                folders.extend(
                    parent
                        .ancestors()
                        .take_while(|a| a.starts_with(to))
                        .map(Path::to_path_buf),
                );
            }
        }
        copy(&from.join(&file.relative), &target)?;
    }
    if durable {
        // Deepest first: each folder's name is on disk before its parent's.
        for folder in folders.iter().rev() {
            sync_dir(folder)?;
        }
    }
    if let Some(record) = record {
        copy(&from.join(&record), &to.join(RECORD_FILE))?;
    }
    if durable {
        sync_dir(to)?;
    }
    Ok(())
}

/// Whether a sample folder holds a symlink or special file, which a move
/// would bring into DIR.
pub(super) fn holds_links(dir: &Path) -> io::Result<bool> {
    Ok(walk(dir)?
        .iter()
        .any(|file| !matches!(file.kind, FileKind::File { .. })))
}

/// Removes a sample folder, its record first: a removal cut short leaves
/// files no record vouches for, never a copy that claims work it lacks.
pub(super) fn remove_copy(dir: &Path) -> io::Result<()> {
    match fs::remove_file(dir.join(RECORD_FILE)) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::remove_dir_all(dir)
}
