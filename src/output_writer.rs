//! Outputs a block writes through its [`crate::block::SampleContext`]
//! ([`SampleContext::create_output`](crate::block::SampleContext::create_output),
//! [`SampleContext::write_output`](crate::block::SampleContext::write_output)):
//! each byte is hashed (XXH3-128, as [`crate::file_digest`]) and counted on
//! its way to the file, so the engine knows every such output's size and
//! digest without reading it back.
//!
//! Why: publishing an output used to cost a `stat` (is it there, a regular
//! file?), a listing of the out folder (what is there?) and a read-back (its
//! digest for the record), about three times the syscalls of writing a small
//! file. The bytes passed to `write` are the bytes on disk, so their digest
//! is the file's, as long as nothing else writes the file (the contract of
//! [`crate::block::Block::writes_only_out_dir`] and of these methods).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path};

use xxhash_rust::xxh3::Xxh3;

use crate::file_digest::{digest_text, FileDigest};

/// A file being written in the out folder by
/// [`SampleContext::create_output`](crate::block::SampleContext::create_output):
/// a [`Write`] that hashes and counts the bytes it passes to the file.
///
/// Unbuffered, like [`File`]: wrap it in a [`std::io::BufWriter`] for many
/// small writes (and take it back with `into_inner` before finishing it).
/// Hand it to
/// [`SampleContext::finish_output`](crate::block::SampleContext::finish_output)
/// when done: only a finished output counts as written through the context.
#[must_use = "hand the writer to SampleContext::finish_output when done"]
pub struct OutputWriter {
    file: File,
    relative: String,
    hasher: Xxh3,
    size: u64,
}

impl std::fmt::Debug for OutputWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputWriter")
            .field("name", &self.relative)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl OutputWriter {
    /// The output's name, relative to the out folder.
    pub fn name(&self) -> &str {
        &self.relative
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }
}

impl Write for OutputWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        // Only what reached the file: a short write hashes its part alone.
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// What one attempt wrote through its context, by output name.
#[derive(Debug, Default)]
pub(crate) struct WrittenOutputs {
    /// Finished outputs with their sizes and digests, sorted by name.
    pub(crate) finished: BTreeMap<String, FileDigest>,
    /// Outputs created and not finished (yet).
    pub(crate) open: BTreeSet<String>,
}

impl WrittenOutputs {
    /// Creates `name` below `out_dir` for writing, making its folders if it
    /// is nested; a plain name relative to `folder`, the out folder's
    /// descriptor, if given. The file is always a new one (`O_EXCL`; what
    /// was at `name`, e.g. an earlier writing of it, is unlinked first), so
    /// writing it can never change another file through a hard link or a
    /// symlink left there.
    pub(crate) fn create(
        &mut self,
        (out_dir, folder): (&Path, Option<BorrowedFd<'_>>),
        name: &str,
    ) -> io::Result<OutputWriter> {
        check_name(name)?;
        if self.open.contains(name) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("output '{name}' is already being written; finish it first"),
            ));
        }
        let file = match folder {
            Some(folder) if !name.contains('/') => create_at(folder, name)?,
            _ => {
                let path = out_dir.join(name);
                if name.contains('/') {
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                }
                let create = || {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .custom_flags(FLAGS)
                        .open(&path)
                };
                match create() {
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        std::fs::remove_file(&path)?;
                        create()?
                    }
                    made => made?,
                }
            }
        };
        self.finished.remove(name);
        self.open.insert(name.to_owned());
        Ok(OutputWriter {
            file,
            relative: name.to_owned(),
            hasher: Xxh3::new(),
            size: 0,
        })
    }

    /// Closes `writer`'s file and keeps its size and digest.
    pub(crate) fn finish(&mut self, writer: OutputWriter) {
        let OutputWriter {
            file,
            relative,
            hasher,
            size,
        } = writer;
        drop(file);
        self.open.remove(&relative);
        let digest = digest_text(hasher.digest128());
        self.finished.insert(relative, FileDigest { size, digest });
    }
}

/// Flags of an output's `open`, besides write, create and truncate.
const FLAGS: libc::c_int = libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// Creates the file `name` (one component) in `folder`, a new one: whatever
/// was at `name` is unlinked first (see [`WrittenOutputs::create`]).
fn create_at(folder: BorrowedFd<'_>, name: &str) -> io::Result<File> {
    let name = CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | FLAGS;
    let create = || {
        // SAFETY: a valid fd and NUL-terminated name; the fd is owned on success.
        let fd = unsafe { libc::openat(folder.as_raw_fd(), name.as_ptr(), flags, 0o666) };
        match fd < 0 {
            true => Err(io::Error::last_os_error()),
            // SAFETY: `fd` was just opened and is owned by no one else.
            false => Ok(unsafe { File::from_raw_fd(fd) }),
        }
    };
    match create() {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            // SAFETY: a valid fd and NUL-terminated name.
            if unsafe { libc::unlinkat(folder.as_raw_fd(), name.as_ptr(), 0) } < 0 {
                return Err(io::Error::last_os_error());
            }
            create()
        }
        made => made,
    }
}

/// An output name must stay inside the out folder: relative, and made of
/// plain names only (no `.`, `..` or empty parts).
fn check_name(name: &str) -> io::Result<()> {
    let plain = !name.is_empty()
        && !name.ends_with('/')
        && !name.contains("//")
        && Path::new(name)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        && !name.split('/').any(|part| part == ".");
    match plain {
        true => Ok(()),
        false => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "output name '{name}' must be a relative path inside the out folder, made of \
                 plain names (no '.', '..' or empty parts)"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn the_digest_and_size_are_those_of_the_file_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut written = WrittenOutputs::default();
        let mut writer = written
            .create((dir.path(), None), "nested/deep/a.bin")
            .unwrap();
        let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        for part in bytes.chunks(7_777) {
            writer.write_all(part).unwrap();
        }
        assert_eq!(writer.size(), bytes.len() as u64);
        assert!(written.open.contains("nested/deep/a.bin"));
        written.finish(writer);
        let on_disk = crate::file_digest::digest_path(&dir.path().join("nested/deep/a.bin"));
        assert_eq!(written.finished["nested/deep/a.bin"], on_disk.unwrap());
        assert!(written.open.is_empty());

        // Rewriting a name replaces what was known of it.
        let mut writer = written
            .create((dir.path(), None), "nested/deep/a.bin")
            .unwrap();
        assert!(written.finished.is_empty());
        assert!(written
            .create((dir.path(), None), "nested/deep/a.bin")
            .is_err());
        writer.write_all(b"short").unwrap();
        written.finish(writer);
        let on_disk = crate::file_digest::digest_path(&dir.path().join("nested/deep/a.bin"));
        assert_eq!(written.finished["nested/deep/a.bin"], on_disk.unwrap());
        assert_eq!(written.finished["nested/deep/a.bin"].size, 5);

        // A file left at the name (here a hard link) is replaced, never
        // written through.
        let elsewhere = dir.path().join("elsewhere.bin");
        std::fs::write(&elsewhere, b"keep me").unwrap();
        std::fs::hard_link(&elsewhere, dir.path().join("linked.bin")).unwrap();
        let folder = File::open(dir.path()).unwrap();
        for at in [None, Some(folder.as_fd())] {
            let mut writer = written.create((dir.path(), at), "linked.bin").unwrap();
            writer.write_all(b"new").unwrap();
            written.finish(writer);
            assert_eq!(std::fs::read(&elsewhere).unwrap(), b"keep me");
            assert_eq!(
                std::fs::read(dir.path().join("linked.bin")).unwrap(),
                b"new"
            );
            std::fs::remove_file(dir.path().join("linked.bin")).unwrap();
            std::fs::hard_link(&elsewhere, dir.path().join("linked.bin")).unwrap();
        }

        // A plain name relative to the out folder's descriptor.
        let folder = File::open(dir.path()).unwrap();
        let mut writer = written
            .create((dir.path(), Some(folder.as_fd())), "flat.bin")
            .unwrap();
        writer.write_all(b"flat").unwrap();
        written.finish(writer);
        assert_eq!(std::fs::read(dir.path().join("flat.bin")).unwrap(), b"flat");
        let on_disk = crate::file_digest::digest_path(&dir.path().join("flat.bin"));
        assert_eq!(written.finished["flat.bin"], on_disk.unwrap());
    }

    #[test]
    fn names_stay_inside_the_out_folder_and_a_symlink_there_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let mut written = WrittenOutputs::default();
        for bad in [
            "", "/abs", "../up", "a/../b", "./a", "a//b", "a/", "a/./b", ".",
        ] {
            let error = written.create((dir.path(), None), bad).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
        assert!(written.open.is_empty() && written.finished.is_empty());
        // A symlink left at the name is replaced by the new file.
        let folder = File::open(dir.path()).unwrap();
        for at in [None, Some(folder.as_fd())] {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(dir.path().join("elsewhere"), &link).unwrap();
            let writer = written.create((dir.path(), at), "link").unwrap();
            written.finish(writer);
            assert!(std::fs::symlink_metadata(&link).unwrap().is_file());
            assert!(!dir.path().join("elsewhere").exists());
            std::fs::remove_file(&link).unwrap();
        }
    }
}
