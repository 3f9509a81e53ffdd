//! The entries of a folder read through a descriptor kept open: `lseek` to
//! the start and `getdents64` until the end, with each entry's `d_type`.
//! Re-reading a folder this way costs no `open`, `fstat` or `close`, which
//! is what the fresh path of a block needs from its out folder.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::io::AsRawFd;

/// What an entry is, from its `d_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntryType {
    /// A regular file.
    File,
    /// A folder.
    Folder,
    /// A symlink, fifo, socket or device.
    Other,
    /// The file system did not say (`DT_UNKNOWN`): ask `lstat`.
    Unknown,
}

/// The entries of the folder open as `dir` (without `.` and `..`), from its
/// start, in the order the file system returns them.
pub(crate) fn entries(dir: &File) -> io::Result<Vec<(OsString, EntryType)>> {
    let fd = dir.as_raw_fd();
    // SAFETY: a valid descriptor; lseek only moves its offset.
    if unsafe { libc::lseek(fd, 0, libc::SEEK_SET) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buffer = vec![0u8; 8192];
    let mut found = Vec::new();
    loop {
        // SAFETY: the kernel writes at most `buffer.len()` bytes into it.
        let read = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                fd,
                buffer.as_mut_ptr(),
                buffer.len() as libc::c_uint,
            )
        };
        if read < 0 {
            return Err(io::Error::last_os_error());
        }
        if read == 0 {
            return Ok(found);
        }
        parse(&buffer[..read as usize], &mut found);
    }
}

/// Appends the records of one `getdents64` answer: `d_ino` (8 bytes),
/// `d_off` (8), `d_reclen` (2), `d_type` (1), then the NUL-ended name.
fn parse(records: &[u8], found: &mut Vec<(OsString, EntryType)>) {
    let mut at = 0;
    while at + 19 <= records.len() {
        let length = u16::from_ne_bytes([records[at + 16], records[at + 17]]) as usize;
        if length == 0 || at + length > records.len() {
            break;
        }
        let kind = records[at + 18];
        let name = &records[at + 19..at + length];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        at += length;
        if name == b"." || name == b".." {
            continue;
        }
        let kind = match kind {
            libc::DT_REG => EntryType::File,
            libc::DT_DIR => EntryType::Folder,
            libc::DT_UNKNOWN => EntryType::Unknown,
            _ => EntryType::Other,
        };
        found.push((OsString::from_vec(name.to_vec()), kind));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rereads_a_folder_from_its_start_through_one_descriptor() {
        let dir = tempfile::tempdir().unwrap();
        let handle = File::open(dir.path()).unwrap();
        assert!(entries(&handle).unwrap().is_empty());
        std::fs::write(dir.path().join("a.bin"), b"1").unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::os::unix::fs::symlink("a.bin", dir.path().join("l")).unwrap();
        let mut found = entries(&handle).unwrap();
        found.sort_by(|x, y| x.0.cmp(&y.0));
        let names: Vec<_> = found.iter().map(|(n, _)| n.to_str().unwrap()).collect();
        assert_eq!(names, ["a.bin", "d", "l"]);
        // tmpfs and ext4 fill in d_type; other file systems may not.
        for ((_, kind), expected) in
            found
                .iter()
                .zip([EntryType::File, EntryType::Folder, EntryType::Other])
        {
            assert!(
                *kind == expected || *kind == EntryType::Unknown,
                "{found:?}"
            );
        }
        std::fs::remove_file(dir.path().join("a.bin")).unwrap();
        std::fs::remove_file(dir.path().join("l")).unwrap();
        std::fs::remove_dir(dir.path().join("d")).unwrap();
        assert!(entries(&handle).unwrap().is_empty());
    }
}
