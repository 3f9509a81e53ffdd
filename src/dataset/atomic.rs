//! Atomic writes: a temp file beside the target, then `rename`, so readers
//! (other runs, merges, the next run after a crash) see either the old file or
//! the complete new one. The temp names say which host and process made them,
//! so a later run can tell its own from a dead process's leftovers.

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A temp name beside `path`, unique across hosts, processes and calls:
/// `.<name>.tmp-<host>-<pid>-<n>`. Renaming it over `path` is atomic.
pub(crate) fn temp_path_for(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().unwrap_or_else(|| OsStr::new("file"));
    let mut temp_name = OsStr::new(".").to_os_string();
    temp_name.push(name);
    temp_name.push(format!(
        ".tmp-{}-{}-{}",
        crate::process::name(),
        pid(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    path.with_file_name(temp_name)
}

/// This process's id, asked of the kernel once (not once per temp name).
fn pid() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// Writes `bytes` to `path` so that readers see either the old file or the
/// complete new one: a temp file in the same folder, then `rename`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = temp_path_for(path);
    let result = fs::File::create(&temp)
        .and_then(|mut file| file.write_all(bytes))
        .and_then(|()| fs::rename(&temp, path));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// [`write_atomic`], durably: the temp file is fsynced before the rename and
/// the folder after it, so once this returns the new file survives a power
/// loss (`--durable`).
pub(crate) fn write_atomic_durable(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let temp = temp_path_for(path);
    let result = fs::File::create(&temp)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_data()))
        .and_then(|()| fs::rename(&temp, path));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result?;
    sync_dir(path.parent().unwrap_or_else(|| Path::new(".")))
}

/// Fsyncs a folder, so the names created, renamed or removed in it are on
/// disk.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Whether a file name is a temp file left by an interrupted [`write_atomic`].
pub(crate) fn is_atomic_temp(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.') && name.contains(".tmp-")
}

/// Removes a file; a file already gone is not an error.
pub(crate) fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
