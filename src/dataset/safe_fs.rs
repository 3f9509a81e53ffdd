//! File operations inside the dataset folder that never follow a symlink.
//!
//! The dataset root is trusted (the user named it); everything below it may
//! have been touched by blocks, `cp -a`, `rsync` or users. So the engine opens
//! a sample folder once with `O_NOFOLLOW | O_DIRECTORY` and works relative to
//! that descriptor (`openat`, `mkdirat`, `renameat`), one path component at a
//! time, each opened with `O_NOFOLLOW`: a symlink anywhere below the root
//! makes the operation fail with `ELOOP` (or `ENOTDIR`) instead of leading
//! outside the dataset.

use std::ffi::{CString, OsStr};
use std::fs::FileType;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// A folder opened without following symlinks.
pub(crate) struct Dir {
    fd: OwnedFd,
}

fn c_name(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

const DIR_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;

impl Dir {
    /// Opens the folder at `path`; fails if its last component is a symlink
    /// (`ELOOP`) or not a folder (`ENOTDIR`). Earlier components are the
    /// trusted dataset root.
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        let name = c_name(path.as_os_str())?;
        // SAFETY: a valid NUL-terminated path; the fd is owned on success.
        let fd = check(unsafe { libc::open(name.as_ptr(), DIR_FLAGS) })?;
        // SAFETY: `fd` was just opened and is owned by no one else.
        Ok(Self {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Opens the child folder `name` (one component) without following it.
    pub(crate) fn child(&self, name: &OsStr) -> io::Result<Self> {
        let name = c_name(name)?;
        // SAFETY: a valid fd and NUL-terminated name; the fd is owned on success.
        let fd = check(unsafe { libc::openat(self.fd.as_raw_fd(), name.as_ptr(), DIR_FLAGS) })?;
        // SAFETY: `fd` was just opened and is owned by no one else.
        Ok(Self {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Opens the folder `relative` (components separated by `/`) below this
    /// one, creating missing components; never follows a symlink.
    pub(crate) fn create_path(&self, relative: &str) -> io::Result<Self> {
        let mut components = relative.split('/').filter(|c| !c.is_empty());
        let Some(first) = components.next() else {
            return self.child(OsStr::new("."));
        };
        let mut dir = self.create_child(OsStr::new(first))?;
        for component in components {
            dir = dir.create_child(OsStr::new(component))?;
        }
        Ok(dir)
    }

    fn create_child(&self, name: &OsStr) -> io::Result<Self> {
        let c = c_name(name)?;
        // SAFETY: a valid fd and NUL-terminated name.
        match check(unsafe { libc::mkdirat(self.fd.as_raw_fd(), c.as_ptr(), 0o777) }) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        self.child(name)
    }

    /// Fsyncs the folder: the names created or renamed into it are on disk.
    pub(crate) fn sync(&self) -> io::Result<()> {
        // SAFETY: a valid fd owned by `self`.
        check(unsafe { libc::fsync(self.fd.as_raw_fd()) }).map(drop)
    }

    /// Renames the file at `from` (a path in the engine's own staging area)
    /// to `name` in this folder. A symlink at `name` is replaced, not followed.
    pub(crate) fn rename_into(&self, from: &Path, name: &OsStr) -> io::Result<()> {
        let (from, to) = (c_name(from.as_os_str())?, c_name(name)?);
        // SAFETY: valid NUL-terminated paths and a valid fd.
        check(unsafe {
            libc::renameat(
                libc::AT_FDCWD,
                from.as_ptr(),
                self.fd.as_raw_fd(),
                to.as_ptr(),
            )
        })
        .map(drop)
    }
}

impl Dir {
    /// Renames `from_name` in the folder `from` to `name` in this folder
    /// (`renameat`, both names one component).
    pub(crate) fn rename_from(
        &self,
        from: std::os::fd::BorrowedFd<'_>,
        from_name: &OsStr,
        name: &OsStr,
    ) -> io::Result<()> {
        let (from_name, to) = (c_name(from_name)?, c_name(name)?);
        // SAFETY: valid NUL-terminated names and valid fds.
        check(unsafe {
            libc::renameat(
                from.as_raw_fd(),
                from_name.as_ptr(),
                self.fd.as_raw_fd(),
                to.as_ptr(),
            )
        })
        .map(drop)
    }
}

/// What a non-regular, non-folder entry is, in words for failure reasons.
pub(crate) fn kind_name(file_type: &FileType) -> &'static str {
    if file_type.is_symlink() {
        "symlink"
    } else if file_type.is_dir() {
        "folder"
    } else if file_type.is_fifo() {
        "fifo"
    } else if file_type.is_socket() {
        "socket"
    } else if file_type.is_block_device() || file_type.is_char_device() {
        "device"
    } else if file_type.is_file() {
        "regular file"
    } else {
        "special file"
    }
}

/// Whether an error means a path component was a symlink or not a folder.
pub(crate) fn is_not_a_folder(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::ELOOP | libc::ENOTDIR | libc::EISDIR | libc::EEXIST | libc::ENOTEMPTY)
    )
}

/// Moves `path` (a sample folder, whatever it is: a folder, a symlink, a
/// file) to `aside`, creating the parent of `aside`. `rename` moves a symlink
/// itself, never what it points to.
pub(crate) fn move_aside(path: &Path, aside: &Path) -> io::Result<()> {
    if let Some(parent) = aside.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::rename(path, aside)
}

/// Renames `from` to `to` unless `to` exists (`EEXIST` then): never replaces
/// anything, not even an empty folder. Where the filesystem cannot refuse
/// in the rename itself (`renameat2` unsupported), `to` is checked just
/// before.
pub(crate) fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    let (c_from, c_to) = (c_name(from.as_os_str())?, c_name(to.as_os_str())?);
    // SAFETY: valid NUL-terminated paths.
    let result = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            c_from.as_ptr(),
            libc::AT_FDCWD,
            c_to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    match check(result) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) => {
            if std::fs::symlink_metadata(to).is_ok() {
                return Err(io::Error::from_raw_os_error(libc::EEXIST));
            }
            std::fs::rename(from, to)
        }
        Err(e) => Err(e),
    }
}

/// `DIR/.shardgen/damaged/<name>-<run>`: where a damaged sample is set aside.
pub(crate) fn damaged_path(meta_dir: &Path, name: &str, run: &str) -> PathBuf {
    meta_dir.join("damaged").join(format!("{name}-{run}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_a_symlink_component_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
        let root = Dir::open(dir.path()).unwrap();
        let error = root.create_path("link/sub").err().unwrap();
        assert!(is_not_a_folder(&error), "{error}");
        assert!(Dir::open(&dir.path().join("link")).is_err());
        let sub = root.create_path("real/deeper").unwrap();
        std::fs::write(dir.path().join("staged"), b"x").unwrap();
        sub.rename_into(&dir.path().join("staged"), OsStr::new("f"))
            .unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("real/deeper/f")).unwrap(),
            b"x"
        );
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn renames_never_replace() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        let error = rename_no_replace(&a, &b).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::EEXIST));
        assert!(a.is_dir() && b.is_dir());
        rename_no_replace(&a, &c).unwrap();
        assert!(!a.exists() && c.is_dir());
    }
}
