//! The child process of a `command` block, one-shot or worker: how it is
//! tied to shardgen's life, timed out, and read back (the tail of its log,
//! its statistics file). Shared by `command.rs` and `worker.rs`.
//!
//! Every program is started by [`spawn_in_group`]: in a process group of its
//! own (so a kill reaches its children too), killed by the kernel when the
//! thread that started it dies, registered for a stop
//! ([`crate::interrupt`]), and marked so that the guard finds its
//! descendants after shardgen is gone ([`crate::orphans`]).

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::block::{BlockError, SampleContext, StatValue};
use crate::env;

/// Bytes of a program's log read back for a failure reason.
const OUTPUT_TAIL_BYTES: u64 = 1000;

/// Replaces `{config_dir}`, the only placeholder a worker's argv may hold.
pub(super) fn expand_config_dir(arg: &str, config_dir: &Path) -> String {
    arg.replace(env::CONFIG_DIR_PLACEHOLDER, &config_dir.to_string_lossy())
}

/// Asks the kernel to SIGKILL the program when the thread that spawned it
/// (a long-lived worker of shardgen) dies, e.g. on `kill -9` of shardgen.
#[cfg(target_os = "linux")]
pub(super) fn die_with_parent(command: &mut Command) {
    let parent = std::process::id();
    // SAFETY: only async-signal-safe calls (prctl, getppid, _exit) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if libc::getppid() as u32 != parent {
                libc::_exit(137); // shardgen died before prctl took effect
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn die_with_parent(_command: &mut Command) {}

/// Starts `command` as a block program: its own process group, parent-death
/// signal, the run's mark, registered until the returned guard is dropped
/// (drop it before reaping the leader).
pub(super) fn spawn_in_group(
    command: &mut Command,
) -> std::io::Result<(Child, crate::interrupt::Registered)> {
    command
        .process_group(0)
        .env(crate::orphans::MARK_ENV, crate::orphans::mark());
    die_with_parent(command);
    let child = command.spawn()?;
    let registered = crate::interrupt::register(child.id());
    Ok((child, registered))
}

/// Waits for a one-shot program to exit, kills what it left running in its
/// process group, unregisters the group, then reaps the program.
pub(super) fn wait_and_clear(
    child: &mut Child,
    registered: crate::interrupt::Registered,
) -> std::io::Result<ExitStatus> {
    let pid = child.id() as libc::pid_t;
    loop {
        // SAFETY: waitid only writes into the zeroed siginfo it is given;
        // WNOWAIT leaves the program unreaped, so its group id stays ours.
        let rc = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            break; // reaped elsewhere or not ours: wait() below says
        }
    }
    // SAFETY: signals only, to the program's own group, whose leader is unreaped.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    drop(registered);
    child.wait()
}

/// How long a program killed by SIGINT or SIGTERM waits for shardgen's own
/// stop signal: Slurm and `kill -TERM -- -PGID` signal every process at
/// once, and the program may be seen dead before shardgen's handler ran.
const STOP_SIGNAL_GRACE: Duration = Duration::from_secs(1);

/// After a program ended with `status`: if a stop signal killed it, waits up
/// to [`STOP_SIGNAL_GRACE`] for shardgen's own, so that the attempt is
/// discarded as stopped rather than recorded as failed.
pub(super) fn await_stop_after(status: ExitStatus) {
    use std::os::unix::process::ExitStatusExt;
    if !matches!(status.signal(), Some(libc::SIGINT | libc::SIGTERM)) {
        return;
    }
    let deadline = std::time::Instant::now() + STOP_SIGNAL_GRACE;
    while crate::interrupt::requested().is_none() && std::time::Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
}

/// Kills the program's process group when its time is up.
pub(super) struct Watchdog {
    done: mpsc::Sender<()>,
    fired: thread::JoinHandle<bool>,
}

impl Watchdog {
    pub(super) fn start(pid: u32, limit: Duration) -> Self {
        let (done, finished) = mpsc::channel::<()>();
        let fired = thread::spawn(move || {
            if finished.recv_timeout(limit) == Err(mpsc::RecvTimeoutError::Timeout) {
                // SAFETY: the group was created for this program (process_group(0)).
                unsafe { libc::kill(-(pid as libc::pid_t), libc::SIGKILL) };
                true
            } else {
                false
            }
        });
        Self { done, fired }
    }

    /// Stops the watchdog; whether it had killed the program.
    pub(super) fn stop(self) -> bool {
        let _ = self.done.send(());
        self.fired.join().unwrap_or(false)
    }
}

/// What a failed program printed, for its reason: the line that says what
/// went wrong ([`telling_line`]), else its last three lines joined with ` | `.
pub(super) fn output_tail(log_path: &Path) -> String {
    let Ok(mut file) = fs::File::open(log_path) else {
        return String::new();
    };
    let length = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(length.saturating_sub(OUTPUT_TAIL_BYTES)));
    let mut bytes = Vec::new();
    let _ = file.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    telling_line(&lines)
        .map(str::to_owned)
        .unwrap_or_else(|| lines[lines.len().saturating_sub(3)..].join(" | "))
}

/// Words that mark the line saying what went wrong (matched in lower case).
const TELLING_WORDS: [&str; 10] = [
    "error",
    "exception",
    "fatal",
    "panic",
    "traceback",
    "abort",
    "segmentation fault",
    "no such file",
    "permission denied",
    "out of memory",
];

/// The last line of a failed program's output that says what went wrong
/// (an `ERROR:` line, an exception), so that cleanup output printed after
/// it does not hide the cause in the recorded reason.
fn telling_line<'a>(lines: &[&'a str]) -> Option<&'a str> {
    lines.iter().rev().copied().find(|line| {
        let lower = line.to_ascii_lowercase();
        TELLING_WORDS.iter().any(|word| lower.contains(word))
    })
}

/// `what: tail`, or `what` alone when there is no tail.
pub(super) fn with_tail(what: String, tail: &str) -> String {
    if tail.is_empty() {
        what
    } else {
        format!("{what}: {tail}")
    }
}

/// Reads `SHARDGEN_STATS` if the program wrote it: a JSON or YAML mapping of
/// numbers, strings and booleans (as 0/1).
pub(super) fn read_stats_file(ctx: &mut SampleContext<'_>) -> Result<(), BlockError> {
    let path: PathBuf = ctx.stats_file().to_path_buf();
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(BlockError::new(format!("statistics file: {e}"))),
    };
    if text.trim().is_empty() {
        return Ok(());
    }
    // YAML is a superset of JSON: one parser reads both.
    let mapping: serde_yaml::Mapping = serde_yaml::from_str(&text)
        .map_err(|e| BlockError::new(format!("statistics file is not a JSON/YAML mapping: {e}")))?;
    for (key, value) in mapping {
        let key = match key {
            serde_yaml::Value::String(key) => key,
            other => serde_yaml::to_string(&other)
                .unwrap_or_default()
                .trim()
                .to_owned(),
        };
        let value = match value {
            serde_yaml::Value::Number(n) => StatValue::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_yaml::Value::String(s) => StatValue::Text(s),
            serde_yaml::Value::Bool(b) => StatValue::Number(if b { 1.0 } else { 0.0 }),
            _ => {
                return Err(BlockError::new(format!(
                    "statistics file: value of '{key}' must be a number, string or boolean"
                )))
            }
        };
        ctx.record_stat(key, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_line_beats_trailing_cleanup_output() {
        let lines = [
            "loading",
            "ERROR: the real problem",
            "cleanup 2",
            "cleanup 3",
        ];
        assert_eq!(telling_line(&lines), Some("ERROR: the real problem"));
        let python = [
            "Traceback (most recent call last):",
            "  File \"x.py\", line 3, in <module>",
            "ValueError: bad scene",
        ];
        assert_eq!(telling_line(&python), Some("ValueError: bad scene"));
        assert_eq!(telling_line(&["done 1", "done 2"]), None);
    }
}
