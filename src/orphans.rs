//! What a block program leaves behind when shardgen is gone: every block
//! process carries a mark, and a small guard process kills whatever carries
//! it once shardgen has died, however it died.
//!
//! Why: the kernel's parent-death signal reaches only the direct child, and
//! a process group only the processes that stayed in it. A SIGKILL of
//! shardgen runs no code of it, so the cleanup must live elsewhere:
//! - every block program gets [`MARK_ENV`] in its environment; children,
//!   grandchildren and processes that left the group (`setsid`, daemons)
//!   inherit it, even after they were reparented;
//! - [`start_guard`] (the CLI calls it before a run executes) starts
//!   `shardgen __guard MARK` in a process group of its own, ignoring SIGINT,
//!   SIGTERM and SIGHUP, with a pipe from shardgen as its stdin. When shardgen
//!   exits or is killed, the pipe closes; the guard then sends SIGKILL to every
//!   process whose environment holds the mark, and exits;
//! - the graceful stop ([`crate::interrupt`]) calls [`kill_marked`] itself, so
//!   nothing is left when shardgen's exit status is seen.
//!
//! This plays the part of `PR_SET_CHILD_SUBREAPER` and more: a subreaper
//! adopts escaped grandchildren only while it lives, while the mark finds
//! them after a SIGKILL too. shardgen is deliberately no subreaper: it would
//! have to reap what it adopts, and reaping children it did not start could
//! steal the exit status of a program that a Rust block spawned and waits
//! for. A program that clears its environment, or runs
//! as another user, escapes the mark; the next run still ignores anything it
//! writes (it can only write into a staging folder the next run removes).
//!
//! A leaf of the crate (it imports only the name of the mark, from `env`).

use std::io::Read;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// The environment variable that marks every block process of a run.
pub(crate) const MARK_ENV: &str = crate::env::RUN_MARK;
/// The hidden first argument that makes the binary a guard.
pub(crate) const GUARD_ARG: &str = "__guard";
/// Scans of `/proc` a kill makes at most, for processes forked meanwhile.
const KILL_PASSES: usize = 20;

/// This process's mark: its pid and start time in nanoseconds.
pub(crate) fn mark() -> &'static str {
    static MARK: OnceLock<String> = OnceLock::new();
    MARK.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        format!("{}-{nanos}", std::process::id())
    })
}

/// The write end of the guard's stdin: held until this process ends.
static GUARD: Mutex<Option<ChildStdin>> = Mutex::new(None);

/// Starts the guard (once per process), from this very executable. Best
/// effort: a guard that cannot start leaves the graceful paths intact.
pub(crate) fn start_guard() {
    let mut guard = GUARD
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if guard.is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    use std::os::unix::process::CommandExt;
    let child = Command::new(exe)
        .args([GUARD_ARG, mark()])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    if let Ok(mut child) = child {
        *guard = child.stdin.take();
        // Reaped by nobody while we live: it exits only after we are gone.
        std::mem::forget(child);
    }
}

/// The guard's life: waits for its stdin to close (shardgen is gone), then
/// kills every process with `mark`. Returns the exit status.
pub(crate) fn guard_main(mark: &str) -> u8 {
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
        // SAFETY: setting a signal to be ignored has no preconditions.
        unsafe { libc::signal(signal, libc::SIG_IGN) };
    }
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    if !mark.is_empty() {
        kill_marked_with(mark);
    }
    0
}

/// Sends SIGKILL to every process that carries this process's mark.
pub(crate) fn kill_marked() {
    kill_marked_with(mark());
}

fn kill_marked_with(mark: &str) {
    let needle = format!("{MARK_ENV}={mark}");
    for _ in 0..KILL_PASSES {
        let found = marked_processes(needle.as_bytes());
        if found.is_empty() {
            return;
        }
        for pid in found {
            // SAFETY: signals only, to a process that carries our mark.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// The processes (other than this one) whose environment holds `needle`.
fn marked_processes(needle: &[u8]) -> Vec<libc::pid_t> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ.split(|&b| b == 0).any(|var| var == needle) {
            if let Ok(pid) = libc::pid_t::try_from(pid) {
                // A zombie has an empty environ, so this one still runs.
                found.push(pid);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_names_this_process() {
        assert!(mark().starts_with(&format!("{}-", std::process::id())));
        assert_eq!(mark(), mark());
    }
}
