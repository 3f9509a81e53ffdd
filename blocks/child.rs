//! The child process of a `command` block, one-shot or worker: how it is
//! tied to shardgen's life, timed out, and read back (the tail of its log,
//! its statistics file). Shared by `command.rs` and `worker.rs`.

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
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
