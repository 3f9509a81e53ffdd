//! This machine and process, as recorded in run logs, staging folders and
//! claims: the host name, whether a pid on this host is still alive, the
//! run's identity, the clock, and the worker threads.
//!
//! A leaf of the crate: it imports nothing of it.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// The short host name (up to the first dot), or `unknown-host`.
pub(crate) fn name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let mut buffer = [0u8; 256];
        // SAFETY: gethostname writes at most `len` bytes into our buffer.
        let rc = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
        let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
        let full = String::from_utf8_lossy(&buffer[..end]).into_owned();
        let short: String = full
            .split('.')
            .next()
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if rc != 0 || short.is_empty() {
            "unknown-host".to_owned()
        } else {
            short
        }
    })
}

/// Whether process `pid` exists on this host (it may belong to another user).
pub(crate) fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// A run's identity: `<UTC start, e.g. 20261121T062046Z>-<host>-<pid>`.
/// Ids sort by start time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RunId(String);

impl RunId {
    /// The id of this process's run, started now.
    pub(crate) fn new() -> Self {
        let stamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let compact: String = stamp.chars().filter(|c| *c != '-' && *c != ':').collect();
        Self(format!("{compact}-{}-{}", name(), std::process::id()))
    }

    /// A made-up id, for unit tests that need several runs in one process.
    #[cfg(test)]
    pub(crate) fn fake(stamp_digit: u8) -> Self {
        Self(format!(
            "20260101T00000{stamp_digit}Z-{}-{}",
            name(),
            std::process::id()
        ))
    }

    /// The id as text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// `(host, pid)` of a run id, or `None` if `text` is not one.
    pub(crate) fn parse_owner(text: &str) -> Option<(&str, u32)> {
        let (rest, pid) = text.rsplit_once('-')?;
        let (stamp, host) = rest.split_once('-')?;
        let stamp_ok = stamp.len() == 16 && stamp.ends_with('Z');
        (stamp_ok && !host.is_empty()).then_some((host, pid.parse().ok()?))
    }
}

impl Default for RunId {
    fn default() -> Self {
        Self::new()
    }
}

/// The current UTC time in RFC 3339.
pub(crate) fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// Whether a file modified at `modified` is older than `lease` by this
/// host's clock (a time in the future, from clock skew, is young).
pub(crate) fn older_than(modified: SystemTime, lease: Duration) -> bool {
    SystemTime::now()
        .duration_since(modified)
        .is_ok_and(|age| age > lease)
}

/// A pool of `jobs` worker threads (default: one per core).
pub(crate) fn thread_pool(jobs: Option<usize>) -> Result<rayon::ThreadPool, String> {
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| format!("--jobs {jobs}: cannot start worker threads: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_name_their_owner() {
        let id = RunId::new();
        let (host, pid) = RunId::parse_owner(id.as_str()).unwrap();
        assert_eq!(host, name());
        assert_eq!(pid, std::process::id());
        assert_eq!(
            RunId::parse_owner("20261121T062046Z-node-a-12"),
            Some(("node-a", 12))
        );
        assert_eq!(RunId::parse_owner("junk"), None);
    }
}
