//! Whether the outputs a record vouches for are still what was published.
//!
//! Each block entry of a record lists its published outputs with their size
//! and digest ([`OutputFile`]). Two depths of check:
//! - **size** (every scan, every run): one `lstat` per recorded output, the
//!   one that tells whether it exists anyway; a file that is gone, is no
//!   longer a regular file, or has another size is damaged;
//! - **digest** (`shardgen verify`, `run --verify`): the file is read whole
//!   and its digest compared, which finds a change that kept the size.
//!
//! Nothing here writes.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::dataset::record::OutputFile;
use crate::file_digest::{digest_file, is_known, open_no_follow};

/// What is wrong with one recorded output, if anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutputCheck {
    /// As published (as far as the check went).
    Intact,
    /// Absent, or no longer a regular file.
    Missing,
    /// Its size differs from the recorded one (truncated or extended): the
    /// size found.
    Resized(u64),
    /// Same size, other digest: changed in place.
    Changed,
}

/// How deep a check goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Depth {
    /// Presence and size, from one `lstat`.
    Size,
    /// Also reads the file and compares its digest (when the recorded one
    /// is of a known algorithm).
    Digest,
}

/// Checks one recorded output below `sample_dir`; with [`Depth::Digest`],
/// also the bytes read (for reports).
pub(crate) fn check_output(
    sample_dir: &Path,
    output: &OutputFile,
    depth: Depth,
) -> (OutputCheck, u64) {
    let path = sample_dir.join(&output.path);
    if depth == Depth::Size || !is_known(&output.digest) {
        return (size_check(path.symlink_metadata(), output), 0);
    }
    // One open (never through a symlink) gives the size and the bytes.
    let mut file = match open_no_follow(&path) {
        Ok(file) => file,
        Err(_) => return (OutputCheck::Missing, 0),
    };
    match size_check(file.metadata(), output) {
        OutputCheck::Intact => {}
        other => return (other, 0),
    }
    match digest_file(&mut file) {
        Ok(found) if found.size != output.size => (OutputCheck::Resized(found.size), found.size),
        Ok(found) if found.digest != output.digest => (OutputCheck::Changed, found.size),
        Ok(found) => (OutputCheck::Intact, found.size),
        // Unreadable (EIO on a bad sector): its bytes cannot be vouched for.
        Err(_) => (OutputCheck::Changed, 0),
    }
}

fn size_check(meta: io::Result<std::fs::Metadata>, output: &OutputFile) -> OutputCheck {
    match meta {
        Ok(meta) if !meta.is_file() => OutputCheck::Missing,
        Ok(meta) if meta.size() != output.size => OutputCheck::Resized(meta.size()),
        Ok(_) => OutputCheck::Intact,
        Err(_) => OutputCheck::Missing,
    }
}

/// Whether every recorded output is intact at `depth`.
pub(crate) fn all_intact(sample_dir: &Path, outputs: &[OutputFile], depth: Depth) -> bool {
    outputs
        .iter()
        .all(|output| check_output(sample_dir, output, depth).0 == OutputCheck::Intact)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_digest::digest_path;

    #[test]
    fn size_and_digest_checks_find_what_they_can() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        std::fs::write(&path, b"hello").unwrap();
        let found = digest_path(&path).unwrap();
        let output = OutputFile {
            path: "a.bin".into(),
            size: found.size,
            digest: found.digest,
        };
        let check = |depth| check_output(dir.path(), &output, depth).0;
        assert_eq!(check(Depth::Digest), OutputCheck::Intact);
        std::fs::write(&path, b"jello").unwrap();
        assert_eq!(check(Depth::Size), OutputCheck::Intact);
        assert_eq!(check(Depth::Digest), OutputCheck::Changed);
        std::fs::write(&path, b"hell").unwrap();
        assert_eq!(check(Depth::Size), OutputCheck::Resized(4));
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", &path).unwrap();
        assert_eq!(check(Depth::Size), OutputCheck::Missing);
        assert_eq!(check(Depth::Digest), OutputCheck::Missing);
    }
}
