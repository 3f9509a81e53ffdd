//! Environmental errors: conditions of the disk (full, over quota, read-only,
//! failing) that no sample causes and no retry of a sample cures. They stop a
//! run (exit 1) instead of being recorded as a sample's failure.

use std::io;
use std::path::Path;

/// The disk condition an OS error number stands for, in words.
pub(crate) fn condition_of_code(code: i32) -> Option<&'static str> {
    match code {
        libc::ENOSPC => Some("the disk is full"),
        libc::EDQUOT => Some("the disk quota is exceeded"),
        libc::EROFS => Some("the file system is read-only"),
        libc::EIO => Some("the disk reports an I/O error"),
        _ => None,
    }
}

/// The disk condition of an I/O error, if it is one.
pub(crate) fn condition(error: &io::Error) -> Option<&'static str> {
    error.raw_os_error().and_then(condition_of_code)
}

/// Text appended to an I/O error's message: what to do about a disk
/// condition, or nothing.
pub(crate) fn hint(error: &io::Error) -> String {
    match condition(error) {
        Some(what) => {
            format!(" ({what}: free space or fix the disk, then rerun the same command to resume)")
        }
        None => String::new(),
    }
}

/// Whether the file system holding `path` has no free blocks or inodes left
/// for unprivileged writers: a program that failed then most likely failed
/// for want of space, whatever it printed.
pub(crate) fn is_full(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statvfs fills the zeroed struct; the path is NUL-terminated.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut stats) } != 0 {
        return false;
    }
    stats.f_bavail == 0 || (stats.f_files > 0 && stats.f_favail == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_conditions_are_named() {
        let full = io::Error::from_raw_os_error(libc::ENOSPC);
        assert_eq!(condition(&full), Some("the disk is full"));
        assert!(hint(&full).contains("rerun the same command"));
        assert_eq!(condition(&io::Error::from_raw_os_error(libc::ENOENT)), None);
    }
}
