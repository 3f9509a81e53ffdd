//! Content digests of published outputs: XXH3-128, written as
//! `xxh3-128:<32 lowercase hex digits>` (the prefix names the algorithm, so a
//! later format can add another and an unknown one reads as "no digest").
//!
//! Why XXH3-128 and not BLAKE3 (see docs/formats.md, "Output digests", for
//! the figures): the digest guards against accidents (a truncated copy, a
//! flipped bit, a file rewritten in place), not against an adversary, who
//! could rewrite the record beside the file anyway; 128 bits make an
//! accidental collision negligible over any number of files; and XXH3 hashes
//! about four times as fast as BLAKE3 on this project's machines, in pure
//! Rust (BLAKE3's fast paths are C and assembly that need a C compiler).
//!
//! A file is hashed by streaming it through a per-thread buffer: memory stays
//! bounded whatever the file's size.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use xxhash_rust::xxh3::Xxh3;

/// The prefix of every digest this shardgen writes.
pub(crate) const DIGEST_PREFIX: &str = "xxh3-128:";

/// Bytes read per `read` call.
const BUFFER: usize = 256 * 1024;

thread_local! {
    static BUFFER_OF_THREAD: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A file's size and digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileDigest {
    /// The bytes read.
    pub size: u64,
    /// `xxh3-128:<hex>`.
    pub digest: String,
}

/// Opens `path` read-only without following a symlink (`O_NOFOLLOW`), and
/// without blocking should it be a fifo (`O_NONBLOCK`; no effect on files).
pub(crate) fn open_no_follow(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
}

/// Reads `file` to its end and returns its size and digest.
pub(crate) fn digest_file(file: &mut File) -> io::Result<FileDigest> {
    BUFFER_OF_THREAD.with(|cell| {
        let mut buffer = cell.borrow_mut();
        if buffer.len() < BUFFER {
            buffer.resize(BUFFER, 0);
        }
        let mut hasher = Xxh3::new();
        let mut size = 0u64;
        loop {
            match file.read(&mut buffer[..]) {
                Ok(0) => break,
                Ok(n) => {
                    hasher.update(&buffer[..n]);
                    size += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(FileDigest {
            size,
            digest: digest_text(hasher.digest128()),
        })
    })
}

/// A digest as records write it: `xxh3-128:<32 lowercase hex digits>`.
pub(crate) fn digest_text(hash: u128) -> String {
    format!("{DIGEST_PREFIX}{hash:032x}")
}

/// The size and digest of the file at `path` (never through a symlink).
#[cfg(test)]
pub(crate) fn digest_path(path: &Path) -> io::Result<FileDigest> {
    digest_file(&mut open_no_follow(path)?)
}

/// Whether this shardgen can check `digest` (it names an algorithm it has).
pub(crate) fn is_known(digest: &str) -> bool {
    digest.starts_with(DIGEST_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_stream_past_one_buffer_and_name_their_algorithm() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let bytes: Vec<u8> = (0..BUFFER * 2 + 7).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let digest = digest_path(&path).unwrap();
        assert_eq!(digest.size, bytes.len() as u64);
        let whole = xxhash_rust::xxh3::xxh3_128(&bytes);
        assert_eq!(digest.digest, format!("xxh3-128:{whole:032x}"));
        assert!(is_known(&digest.digest) && !is_known("blake3:00"));
        std::fs::write(&path, b"").unwrap();
        assert_eq!(
            digest_path(&path).unwrap().digest,
            "xxh3-128:99aa06d3014798d86001c324468d497f"
        );
        std::os::unix::fs::symlink(&path, dir.path().join("link")).unwrap();
        assert!(digest_path(&dir.path().join("link")).is_err());
    }
}
