//! Worker mode of `command` blocks: the program is started once per job slot
//! and fed samples, instead of once per sample.
//!
//! Protocol version [`PROTOCOL_VERSION`] (docs/worker-protocol.md): the
//! worker reads one JSON request per line on file descriptor 3 and writes one
//! JSON line per request on file descriptor 4, after a first line
//! `{"ready": true, "protocol": 1}`. Its stdout and stderr go to a log, so
//! whatever it prints never corrupts the protocol.
//!
//! Contract kept here:
//! - a worker runs in its own process group, and the kernel kills it when
//!   the thread that started it dies. That thread is a spawner thread of the
//!   pool (not a rayon thread), so it lives exactly as long as the pool;
//! - a timeout, a crash, an exit or a line that is not protocol during a
//!   sample fails that sample and kills the worker's process group; the next
//!   sample of the slot starts a new worker;
//! - after [`START_FAILURES_LIMIT`] consecutive failed starts of a block
//!   (across its slots) its samples fail at once with the last reason;
//! - `recycle_after` / `max_memory_mb` restart a worker between samples;
//! - at the end (the pool is dropped) each worker's fd 3 is closed, it gets
//!   [`GRACE`] to exit, then its process group is killed.
//!
//! Publishing, validation and records are the engine's: a worker writes only
//! into the request's `out_dir`, a fresh staging folder per sample.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use super::child::{
    die_with_parent, expand_config_dir, output_tail, read_stats_file, with_tail, Watchdog,
};
use crate::block::{BlockError, SampleContext, StatValue};
use crate::env;
pub(crate) use crate::worker_settings::WorkerSettings;

/// The protocol version shardgen speaks (`SHARDGEN_WORKER_PROTOCOL`).
pub(crate) const PROTOCOL_VERSION: u64 = 1;
/// How long a worker may take to exit after its fd 3 was closed.
pub(crate) const GRACE: Duration = Duration::from_secs(3);
/// Consecutive failed starts of a block after which it is not restarted.
pub(crate) const START_FAILURES_LIMIT: u32 = 3;
/// How long a worker may take to become ready when the block has no `timeout:`.
pub(crate) const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest protocol line accepted.
const MAX_LINE_BYTES: usize = 1 << 20;

/// Refuses argv placeholders that depend on the sample: a worker is started
/// once per job slot, so they would be wrong for every later sample.
pub(crate) fn check_worker_argv(argv: &[String]) -> Result<(), String> {
    for arg in argv {
        if let Some(placeholder) = env::SAMPLE_PLACEHOLDERS.iter().find(|p| arg.contains(*p)) {
            return Err(format!(
                "placeholder {placeholder} in the command of a worker: a worker is started \
                 once per job slot and gets the sample's values in each request; remove it \
                 from `command` (only {{config_dir}} is allowed) or drop `worker`"
            ));
        }
    }
    Ok(())
}

/// The long-lived workers of one block, one per job slot.
pub(crate) struct WorkerPool {
    argv: Vec<String>,
    settings: WorkerSettings,
    slots: Mutex<HashMap<usize, Worker>>,
    starts: Mutex<StartFailures>,
    spawner: Mutex<Option<Spawner>>,
}

#[derive(Default)]
struct StartFailures {
    consecutive: u32,
    last: String,
}

impl WorkerPool {
    /// A pool for `argv` (checked by [`check_worker_argv`]); no worker runs
    /// until the first sample.
    pub(crate) fn new(argv: Vec<String>, settings: WorkerSettings) -> Self {
        Self {
            argv,
            settings,
            slots: Mutex::new(HashMap::new()),
            starts: Mutex::new(StartFailures::default()),
            spawner: Mutex::new(None),
        }
    }

    /// Runs one sample on the worker of the calling thread's job slot.
    pub(crate) fn run(&self, ctx: &mut SampleContext<'_>) -> Result<(), BlockError> {
        let slot = rayon::current_thread_index().unwrap_or(0);
        let idle = lock(&self.slots).remove(&slot);
        let mut worker = match idle {
            // One that died while idle is not this sample's fault.
            Some(mut worker) if has_exited(worker.pgid) => {
                worker.kill();
                self.start(ctx)?
            }
            Some(worker) => worker,
            None => self.start(ctx)?,
        };
        let served = worker.serve(ctx);
        if served.outcome.as_ref().is_err_and(|e| !e.is_rejection()) {
            // What the worker printed during this sample: kept with the failure.
            let _ = fs::copy(&worker.log_path, ctx.attempt_log());
        }
        if !served.alive {
            worker.kill();
            return served.outcome;
        }
        worker.served += 1;
        let recycle = self
            .settings
            .recycle_after
            .is_some_and(|n| worker.served >= n)
            || self
                .settings
                .max_memory_mb
                .is_some_and(|mb| group_rss_bytes(worker.pgid) > mb.saturating_mul(1 << 20));
        if recycle {
            worker.shut_down();
        } else {
            lock(&self.slots).insert(slot, worker);
        }
        served.outcome
    }

    /// Starts a worker and waits for its ready line.
    fn start(&self, ctx: &SampleContext<'_>) -> Result<Worker, BlockError> {
        {
            let starts = lock(&self.starts);
            if starts.consecutive >= START_FAILURES_LIMIT {
                return Err(BlockError::new(&starts.last));
            }
        }
        match self.try_start(ctx) {
            Ok(worker) => {
                lock(&self.starts).consecutive = 0;
                Ok(worker)
            }
            Err(reason) => {
                let reason = format!("worker did not become ready: {reason}");
                let mut starts = lock(&self.starts);
                starts.consecutive += 1;
                starts.last.clone_from(&reason);
                Err(BlockError::new(reason))
            }
        }
    }

    fn try_start(&self, ctx: &SampleContext<'_>) -> Result<Worker, String> {
        let base = ctx.scratch_dir();
        let log_path = base.join(format!("{}.worker.log", ctx.block_name()));
        let io_error = |e: io::Error| format!("cannot set it up: {e}");
        fs::File::create(&log_path).map_err(io_error)?;
        // Append mode, so that truncating the log between samples works.
        let log = fs::OpenOptions::new()
            .append(true)
            .open(&log_path)
            .map_err(io_error)?;
        let (request_read, request_write) = pipe().map_err(io_error)?;
        let (reply_read, reply_write) = pipe().map_err(io_error)?;
        let argv: Vec<String> = self
            .argv
            .iter()
            .map(|a| expand_config_dir(a, ctx.config_dir()))
            .collect();
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .current_dir(base)
            .env(env::WORKER, "1")
            .env(env::WORKER_PROTOCOL, PROTOCOL_VERSION.to_string())
            .env(env::BLOCK, ctx.block_name())
            .env(env::PARAMS, ctx.params_json())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io_error)?)
            .stderr(log.try_clone().map_err(io_error)?)
            .process_group(0);
        for name in env::PER_SAMPLE {
            command.env_remove(name);
        }
        die_with_parent(&mut command);
        let (from3, from4) = (request_read.as_raw_fd(), reply_write.as_raw_fd());
        // SAFETY: only async-signal-safe calls (fcntl, dup2, close) between
        // fork and exec. The pipe ends are first moved above fd 9 so that
        // dup2 onto 3 and 4 cannot clobber one with the other.
        unsafe {
            command.pre_exec(move || {
                let high3 = libc::fcntl(from3, libc::F_DUPFD, 10);
                let high4 = libc::fcntl(from4, libc::F_DUPFD, 10);
                if high3 < 0 || high4 < 0 || libc::dup2(high3, 3) < 0 || libc::dup2(high4, 4) < 0 {
                    return Err(io::Error::last_os_error());
                }
                libc::close(high3);
                libc::close(high4);
                Ok(())
            });
        }
        let child = self
            .spawn(command)
            .map_err(|e| format!("cannot start '{}': {e}", argv[0]))?;
        drop((request_read, reply_write)); // the worker's ends
        let pgid = child.id() as libc::pid_t;
        let mut worker = Worker {
            child,
            pgid,
            requests: Some(fs::File::from(request_write)),
            replies: LineReader::new(fs::File::from(reply_read)),
            log_path,
            log,
            served: 0,
            reaped: false,
        };
        let limit = ctx.timeout().unwrap_or(DEFAULT_READY_TIMEOUT);
        let watchdog = Watchdog::start(worker.pgid as u32, limit);
        let line = worker.replies.read_line();
        let timed_out = watchdog.stop();
        let problem = match line {
            _ if timed_out => Some(format!("no ready line within {} s", limit.as_secs_f64())),
            Ok(line) => check_ready(&line).err(),
            Err(LineError::Closed) => Some(match worker.exit_status(GRACE) {
                Some(status) => describe_exit(status),
                None => "it closed fd 4 without exiting".to_owned(),
            }),
            Err(LineError::Invalid(why)) => Some(why),
        };
        match problem {
            None => Ok(worker),
            Some(problem) => {
                worker.kill();
                Err(with_tail(problem, &output_tail(&worker.log_path)))
            }
        }
    }

    /// Spawns from the pool's own thread: the kernel's parent-death signal
    /// follows the thread that forked, and rayon's threads end before the
    /// pool is dropped.
    fn spawn(&self, command: Command) -> io::Result<Child> {
        let mut spawner = lock(&self.spawner);
        let spawner = spawner.get_or_insert_with(Spawner::start);
        let (reply, result) = mpsc::channel();
        spawner
            .jobs
            .send((command, reply))
            .map_err(|_| io::Error::other("the spawner thread is gone"))?;
        result
            .recv()
            .map_err(|_| io::Error::other("the spawner thread is gone"))?
    }
}

impl Drop for WorkerPool {
    /// Closes every worker's fd 3, gives them [`GRACE`] together, then kills
    /// what is left of their process groups.
    fn drop(&mut self) {
        let mut workers: Vec<Worker> = lock(&self.slots).drain().map(|(_, w)| w).collect();
        for worker in &mut workers {
            worker.requests = None;
        }
        let deadline = Instant::now() + GRACE;
        for worker in &mut workers {
            let _ = worker.exit_status(deadline.saturating_duration_since(Instant::now()));
            worker.kill();
        }
        if let Some(spawner) = lock(&self.spawner).take() {
            drop(spawner.jobs);
            let _ = spawner.thread.join();
        }
    }
}

type SpawnJob = (Command, mpsc::Sender<io::Result<Child>>);

struct Spawner {
    jobs: mpsc::Sender<SpawnJob>,
    thread: thread::JoinHandle<()>,
}

impl Spawner {
    fn start() -> Self {
        let (jobs, queue) = mpsc::channel::<SpawnJob>();
        let thread = thread::spawn(move || {
            for (mut command, reply) in queue {
                let _ = reply.send(command.spawn());
            }
        });
        Self { jobs, thread }
    }
}

/// What serving one sample did to the worker.
struct Served {
    outcome: Result<(), BlockError>,
    /// Whether the worker can serve another sample.
    alive: bool,
}

struct Worker {
    child: Child,
    pgid: libc::pid_t,
    /// fd 3's other end; `None` once closed.
    requests: Option<fs::File>,
    replies: LineReader,
    log_path: PathBuf,
    log: fs::File,
    served: u64,
    /// Whether the worker was waited for (after its group was killed).
    reaped: bool,
}

impl Worker {
    fn serve(&mut self, ctx: &mut SampleContext<'_>) -> Served {
        // The log holds what the worker printed during this sample only.
        let _ = self.log.set_len(0);
        let scratch = ctx
            .scratch_dir()
            .join(format!("{}.scratch", ctx.block_name()));
        let _ = fs::remove_dir_all(&scratch);
        if let Err(e) = fs::create_dir_all(&scratch) {
            return Served {
                outcome: Err(BlockError::new(format!("cannot create scratch_dir: {e}"))),
                alive: true,
            };
        }
        let request = request_line(ctx, &scratch);
        let watchdog = ctx
            .timeout()
            .map(|limit| Watchdog::start(self.pgid as u32, limit));
        let written = match self.requests.as_mut() {
            Some(requests) => requests.write_all(request.as_bytes()),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        };
        let line = match written {
            Ok(()) => self.replies.read_line(),
            Err(_) => Err(LineError::Closed),
        };
        let timed_out = watchdog.is_some_and(Watchdog::stop);
        let _ = fs::remove_dir_all(&scratch);
        let id = ctx.sample_id();
        let lost = |what: String, worker: &mut Worker| {
            let tail = output_tail(&worker.log_path);
            Served {
                outcome: Err(BlockError::new(with_tail(what, &tail))),
                alive: false,
            }
        };
        if timed_out {
            let limit = ctx.timeout().unwrap_or_default().as_secs_f64();
            return lost(format!("timed out after {limit} s"), self);
        }
        let line = match line {
            Ok(line) => line,
            Err(LineError::Closed) => {
                let what = match self.exit_status(GRACE) {
                    Some(status) => format!("worker {} on sample {id}", describe_exit(status)),
                    None => format!("worker closed fd 4 without exiting on sample {id}"),
                };
                return lost(what, self);
            }
            Err(LineError::Invalid(why)) => {
                return lost(
                    format!("worker broke the protocol on sample {id}: {why}"),
                    self,
                )
            }
        };
        match parse_reply(&line) {
            Ok(reply) => Served {
                outcome: finish_sample(ctx, reply),
                alive: true,
            },
            Err(why) => lost(
                format!("worker broke the protocol on sample {id}: {why}"),
                self,
            ),
        }
    }

    /// Waits up to `within` for the worker to exit, without reaping it (so
    /// its process group id stays reserved until [`Worker::kill`]).
    fn exit_status(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if has_exited(self.pgid) {
                // Kill what it left behind while its pid still holds the group id.
                // SAFETY: signals only, to the worker's own group.
                unsafe { libc::kill(-self.pgid, libc::SIGKILL) };
                self.reaped = true;
                return self.child.wait().ok();
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// Closes fd 3, waits [`GRACE`] for the worker to exit, then kills its group.
    fn shut_down(mut self) {
        self.requests = None;
        let _ = self.exit_status(GRACE);
        self.kill();
    }

    /// Kills the worker's process group and reaps the worker.
    fn kill(&mut self) {
        if self.reaped {
            return; // its group was killed then
        }
        // SAFETY: the group was created for this worker (process_group(0)),
        // and the unreaped worker keeps its id from being reused.
        unsafe { libc::kill(-self.pgid, libc::SIGKILL) };
        let _ = self.child.wait();
        self.reaped = true;
    }
}

/// Whether the process has exited, leaving it waitable (`WNOWAIT`).
fn has_exited(pid: libc::pid_t) -> bool {
    // SAFETY: waitid only writes into the zeroed siginfo it is given.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let result = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        result == 0 && info.si_pid() != 0
    }
}

fn describe_exit(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "ended abnormally".to_owned(),
    }
}

/// The request for one sample, as one line.
fn request_line(ctx: &SampleContext<'_>, scratch: &Path) -> String {
    let text = |s: &str| serde_json::Value::from(s).to_string();
    let path = |p: &Path| text(&p.to_string_lossy());
    format!(
        "{{\"sample_id\":{},\"seed\":\"{}\",\"block\":{},\"sample_dir\":{},\"out_dir\":{},\
         \"scratch_dir\":{},\"stats\":{},\"params\":{}}}\n",
        ctx.sample_id(),
        ctx.seed(),
        text(ctx.block_name()),
        path(ctx.sample_dir()),
        path(ctx.out_dir()),
        path(scratch),
        path(ctx.stats_file()),
        ctx.params_json()
    )
}

fn check_ready(line: &str) -> Result<(), String> {
    let expected = format!(
        "its first line on fd 4 must be {{\"ready\": true, \"protocol\": {PROTOCOL_VERSION}}}"
    );
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|_| format!("{expected}, not '{}'", shorten(line)))?;
    if value.get("ready") != Some(&serde_json::Value::Bool(true)) {
        return Err(format!("{expected}, not '{}'", shorten(line)));
    }
    match value.get("protocol").and_then(serde_json::Value::as_u64) {
        Some(PROTOCOL_VERSION) => Ok(()),
        Some(other) => Err(format!(
            "it speaks protocol {other}; this shardgen speaks protocol {PROTOCOL_VERSION}"
        )),
        None => Err(format!("{expected}, not '{}'", shorten(line))),
    }
}

/// A reply: `{"ok": true}` or `{"ok": false, "reason": "...", "rejected": bool}`,
/// with optional `"stats": {...}`.
struct Reply {
    ok: bool,
    rejected: bool,
    reason: Option<String>,
    stats: serde_json::Map<String, serde_json::Value>,
}

fn parse_reply(line: &str) -> Result<Reply, String> {
    let invalid = |what: &str| format!("{what}, got '{}'", shorten(line));
    let serde_json::Value::Object(mut object) =
        serde_json::from_str(line).map_err(|_| invalid("expected a JSON object with \"ok\""))?
    else {
        return Err(invalid("expected a JSON object with \"ok\""));
    };
    let Some(ok) = object.get("ok").and_then(serde_json::Value::as_bool) else {
        return Err(invalid("expected \"ok\": true or false"));
    };
    let rejected = match object.get("rejected") {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(_) => return Err(invalid("\"rejected\" must be true or false")),
    };
    if ok && rejected {
        return Err(invalid("a reply cannot be ok and rejected"));
    }
    let reason = match object.get("reason") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(invalid("\"reason\" must be a string")),
    };
    let stats = match object.remove("stats") {
        None | Some(serde_json::Value::Null) => serde_json::Map::new(),
        Some(serde_json::Value::Object(stats)) => stats,
        Some(_) => return Err(invalid("\"stats\" must be a mapping")),
    };
    Ok(Reply {
        ok,
        rejected,
        reason,
        stats,
    })
}

/// Records the statistics (the `stats` file first, then the reply's) and
/// turns the reply into the sample's outcome.
fn finish_sample(ctx: &mut SampleContext<'_>, reply: Reply) -> Result<(), BlockError> {
    let from_file = read_stats_file(ctx);
    for (key, value) in reply.stats {
        let value = match value {
            serde_json::Value::Number(n) => StatValue::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => StatValue::Text(s),
            serde_json::Value::Bool(b) => StatValue::Number(if b { 1.0 } else { 0.0 }),
            _ => {
                return Err(BlockError::new(format!(
                    "reply stats: value of '{key}' must be a number, string or boolean"
                )))
            }
        };
        ctx.record_stat(key, value);
    }
    if reply.ok {
        return from_file;
    }
    let reason = reply.reason.filter(|r| !r.trim().is_empty());
    if reply.rejected {
        let reason = reason.unwrap_or_else(|| "rejected by the worker".to_owned());
        return Err(BlockError::rejected(reason));
    }
    Err(BlockError::new(reason.unwrap_or_else(|| {
        "the worker replied ok: false without a reason".to_owned()
    })))
}

fn shorten(line: &str) -> String {
    const MAX: usize = 120;
    let line = line.trim();
    match line.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_owned(),
    }
}

/// A pipe whose two ends are closed on exec.
fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two fds into the array on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

enum LineError {
    /// End of file: the worker closed fd 4 or exited.
    Closed,
    /// Not a protocol line at all (too long, not UTF-8).
    Invalid(String),
}

/// Reads `\n`-terminated lines, skipping blank ones.
struct LineReader {
    file: fs::File,
    buffer: Vec<u8>,
}

impl LineReader {
    fn new(file: fs::File) -> Self {
        Self {
            file,
            buffer: Vec::new(),
        }
    }

    fn read_line(&mut self) -> Result<String, LineError> {
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                let text = String::from_utf8(line)
                    .map_err(|_| LineError::Invalid("a line on fd 4 is not UTF-8".into()))?;
                if text.trim().is_empty() {
                    continue;
                }
                return Ok(text.trim_end().to_owned());
            }
            if self.buffer.len() > MAX_LINE_BYTES {
                return Err(LineError::Invalid(format!(
                    "a line on fd 4 is longer than {MAX_LINE_BYTES} bytes"
                )));
            }
            match self.file.read(&mut chunk) {
                Ok(0) => {
                    return Err(match self.buffer.iter().all(u8::is_ascii_whitespace) {
                        true => LineError::Closed,
                        false => LineError::Invalid(format!(
                            "unterminated line '{}' before fd 4 closed",
                            shorten(&String::from_utf8_lossy(&self.buffer))
                        )),
                    })
                }
                Ok(n) => self.buffer.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(LineError::Closed),
            }
        }
    }
}

/// Resident memory of every process in group `pgid`, from `/proc/*/stat`.
fn group_rss_bytes(pgid: libc::pid_t) -> u64 {
    // SAFETY: sysconf has no preconditions.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let Ok(entries) = fs::read_dir("/proc") else {
        return 0;
    };
    let mut total = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.as_encoded_bytes().iter().all(u8::is_ascii_digit) {
            continue;
        }
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command name "(...)": state ppid pgrp ... ; rss is
        // field 24 of the whole line, i.e. the 22nd after the name.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2).and_then(|g| g.parse::<libc::pid_t>().ok()) != Some(pgid) {
            continue;
        }
        if let Some(pages) = fields.get(21).and_then(|r| r.parse::<u64>().ok()) {
            total += pages * page;
        }
    }
    total
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Option<WorkerSettings>, String> {
        WorkerSettings::parse(&serde_yaml::from_str(text).unwrap())
    }

    #[test]
    fn worker_settings_parse_and_refuse_bad_values() {
        assert_eq!(parse("true"), Ok(Some(WorkerSettings::default())));
        assert_eq!(parse("false"), Ok(None));
        assert_eq!(
            parse("{recycle_after: 5, max_memory_mb: 100}"),
            Ok(Some(WorkerSettings {
                recycle_after: Some(5),
                max_memory_mb: Some(100)
            }))
        );
        for bad in [
            "{recycle_after: 0}",
            "{recycle_after: -1}",
            "{max_memory_mb: 1.5}",
        ] {
            assert!(
                parse(bad)
                    .unwrap_err()
                    .contains("must be a positive integer"),
                "{bad}"
            );
        }
        assert!(parse("{recycle: 5}")
            .unwrap_err()
            .starts_with("unknown key 'recycle' under `worker`"));
        assert!(parse("3").is_err());
    }

    #[test]
    fn sample_placeholders_are_refused_in_worker_argv() {
        assert!(check_worker_argv(&["python3".into(), "{config_dir}/w.py".into()]).is_ok());
        let error = check_worker_argv(&["x".into(), "--seed={seed}".into()]).unwrap_err();
        assert!(error.starts_with("placeholder {seed} in the command of a worker"));
    }

    #[test]
    fn replies_are_checked() {
        assert!(parse_reply(r#"{"ok": true, "stats": {"a": 1}}"#).is_ok_and(|r| r.ok));
        let rejected = parse_reply(r#"{"ok": false, "rejected": true, "reason": "x"}"#).unwrap();
        assert!(rejected.rejected && !rejected.ok);
        for bad in [
            "garbage",
            "[1]",
            r#"{"ok": 1}"#,
            r#"{"ok": true, "rejected": true}"#,
        ] {
            assert!(parse_reply(bad).is_err(), "{bad}");
        }
        assert!(check_ready(r#"{"ready": true, "protocol": 1}"#).is_ok());
        assert!(check_ready(r#"{"ready": true, "protocol": 2}"#)
            .unwrap_err()
            .contains("speaks protocol 2"));
    }
}
