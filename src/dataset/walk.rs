//! The one recursive walk over a folder of the dataset (a sample folder, a
//! staging folder): every entry that is not a folder, sorted by relative
//! path, without the temp files of interrupted atomic writes. Publishing,
//! cleaning, merging and the read-only view all list files through it, so
//! they agree on what a folder holds.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::dataset::atomic::is_atomic_temp;

/// What an entry is, as `lstat` sees it (links are never followed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// A regular file of this many bytes.
    File {
        /// Its size.
        len: u64,
    },
    /// A symbolic link, and where it points.
    Link(PathBuf),
    /// A device, fifo or socket.
    Special,
}

/// One entry found by [`walk`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WalkedFile {
    /// The path relative to the folder walked.
    pub relative: PathBuf,
    /// What it is.
    pub kind: FileKind,
}

/// Every non-folder entry below `dir`, sorted by relative path; none if `dir`
/// does not exist.
pub(crate) fn walk(dir: &Path) -> io::Result<Vec<WalkedFile>> {
    let files = visit(dir, &std::cell::Cell::new(false), |entry, file_type| {
        Ok(if file_type.is_symlink() {
            FileKind::Link(fs::read_link(entry.path())?)
        } else if file_type.is_file() {
            FileKind::File {
                len: entry.metadata()?.len(),
            }
        } else {
            FileKind::Special
        })
    })?;
    Ok(files.into_iter().map(WalkedFile::from).collect())
}

/// [`walk`] without a syscall per entry: whether each entry is a regular
/// file, from the directory entry's type (`d_type`; `lstat` only on file
/// systems that do not fill it in), and whether there was any folder below
/// `dir`.
pub(crate) fn walk_is_file(dir: &Path) -> io::Result<(Vec<(PathBuf, bool)>, bool)> {
    let folder = std::cell::Cell::new(false);
    let files = visit(dir, &folder, |_, file_type| Ok(file_type.is_file()))?;
    let files = files.into_iter().map(|f| (f.relative, f.kind)).collect();
    Ok((files, folder.get()))
}

/// [`walk_is_file`] of the folder `dir`, open as `handle`, read through
/// that descriptor (no `open`, `fstat` or `close`); a folder holding folders
/// is walked by path instead.
pub(crate) fn walk_is_file_at(
    dir: &Path,
    handle: &fs::File,
) -> io::Result<(Vec<(PathBuf, bool)>, bool)> {
    use crate::dataset::dir_entries::{entries, EntryType};
    let mut files = Vec::new();
    for (name, kind) in entries(handle)? {
        if is_atomic_temp(&name) {
            continue;
        }
        let is_file = match kind {
            EntryType::File => true,
            EntryType::Other => false,
            EntryType::Folder => return walk_is_file(dir),
            EntryType::Unknown => {
                let file_type = fs::symlink_metadata(dir.join(&name))?.file_type();
                if file_type.is_dir() {
                    return walk_is_file(dir);
                }
                file_type.is_file()
            }
        };
        files.push((PathBuf::from(name), is_file));
    }
    files.sort_unstable();
    Ok((files, false))
}

/// One entry found by [`visit`], with what `kind` made of it.
struct Visited<K> {
    relative: PathBuf,
    kind: K,
}

impl From<Visited<FileKind>> for WalkedFile {
    fn from(v: Visited<FileKind>) -> Self {
        WalkedFile {
            relative: v.relative,
            kind: v.kind,
        }
    }
}

/// The traversal behind [`walk`]: `kind` says what each non-folder entry
/// is; `folder` is set if there is a folder below `dir`.
fn visit<K>(
    dir: &Path,
    folder: &std::cell::Cell<bool>,
    kind: impl Fn(&fs::DirEntry, &fs::FileType) -> io::Result<K>,
) -> io::Result<Vec<Visited<K>>> {
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let entries = match fs::read_dir(dir.join(&relative)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound && relative.as_os_str().is_empty() => {
                continue
            }
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            if is_atomic_temp(&name) {
                continue;
            }
            let path = relative.join(&name);
            let file_type = entry.file_type()?;
            if file_type.is_dir() {
                folder.set(true);
                pending.push(path);
                continue;
            }
            files.push(Visited {
                relative: path,
                kind: kind(&entry, &file_type)?,
            });
        }
    }
    files.sort_unstable_by(|x, y| x.relative.cmp(&y.relative));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_nested_files_sorted_without_temps_or_folders() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("d/e")).unwrap();
        fs::write(dir.path().join("d/e/x.bin"), b"12").unwrap();
        fs::write(dir.path().join("a.txt"), b"1").unwrap();
        fs::write(dir.path().join(".a.txt.tmp-h-1-0"), b"torn").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
        let files = walk(dir.path()).unwrap();
        let names: Vec<_> = files.iter().map(|f| f.relative.clone()).collect();
        assert_eq!(
            names,
            [PathBuf::from("a.txt"), "d/e/x.bin".into(), "link".into()]
        );
        assert_eq!(files[1].kind, FileKind::File { len: 2 });
        assert_eq!(files[2].kind, FileKind::Link("/etc/passwd".into()));
        assert!(walk(&dir.path().join("absent")).unwrap().is_empty());
    }
}
