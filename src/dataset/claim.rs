//! Claims: how several runs share one dataset folder at the same time, on one
//! machine or on several machines over a shared filesystem (NFS, Lustre),
//! without ever running the same sample twice at once.
//!
//! # Protocol
//!
//! A run claims a sample before it touches the sample's folder, and only the
//! samples its scan found work for (a no-op rerun takes no claim at all).
//! Everything lives in `DIR/.shardgen/claims/`, outside the sample folders
//! (which get copied between datasets):
//!
//! - `<run id>.holder`: written once per run, before its first claim; one
//!   line of JSON, `{"format":1,"run":"<run id>","host":"<host>","pid":P,"started":"<UTC>"}`.
//! - `<sample folder name>`: the claim of a sample, a hard link to its
//!   run's holder file, so it carries the holder's content and mtime. The
//!   10-digit name alone, without its bucket: the folder holds only the
//!   samples that live runs work on right now, a few per job slot.
//!
//! 1. **Claim**: `link(holder, claims/<sample>)`, which fails if the claim
//!    exists (atomic and exclusive on local filesystems and NFS; no `flock`).
//!    A link is a fraction of the cost of creating a file, and the content
//!    is complete from the first instant. Where hard links are not
//!    supported, the claim is created with `O_CREAT|O_EXCL` and written.
//! 2. **Re-plan** the sample from disk (another run may have finished it
//!    meanwhile), run what it needs, write its record.
//! 3. **Release**: unlink the claim, unless it is no longer ours (see the
//!    lease). Every way out of a sample releases its claim, errors included;
//!    the end of the run removes the holder file. A killed run leaves its
//!    claims behind, and they are stale.
//!
//! If the claim exists, its holder is judged:
//! - **same host** (`host` is this host's short name): live while process
//!   `pid` exists ([`crate::process::pid_alive`]);
//! - **other host, or unreadable content**: live while the file's mtime is
//!   younger than the *lease* ([`LEASE_ENV`] seconds, default
//!   [`DEFAULT_LEASE`]). A live run keeps its claims fresh: a heartbeat
//!   thread touches its holder file (hence all its claims) and its staging
//!   folder every lease/4. The lease must exceed the clock skew between
//!   hosts and the longest stall of a run: a run that cannot touch its files
//!   for a whole lease counts as dead, and its samples may be taken over.
//!
//! A live claim makes the run skip the sample and report it
//! ([`Claim::Elsewhere`]); nothing waits. A stale claim `S` is **taken over**
//! without races between runs that all see it stale at once:
//! 1. Create the token `claims/<sample>.<identity of S>.break0` with
//!    `O_EXCL`. The identity is the holder's run id (a dead run makes no new
//!    claims), or inode and mtime for unreadable content. Only one run gets
//!    the token: the right to remove `S`, and only `S`.
//! 2. The token holder re-reads the claim and unlinks it only if it still is
//!    `S`. Nobody else removes `S` meanwhile (its holder is dead, other runs
//!    lack the token) and nobody can create a claim while `S` exists, so the
//!    check and the unlink see the same file.
//! 3. It removes its token and starts over at step 1 of claiming, where the
//!    exclusive link decides between it and any other run. Losers of the
//!    token start over too, and find either the winner's fresh claim (skip)
//!    or no claim (and race fairly for it).
//!
//! The statistics pass at the end of a run is serialised the same way, by
//! the claim `claims/statistics` ([`Claims::statistics`]): the last pass to
//! end saw every sample of every run, so concurrent runs never leave the
//! statistics of an earlier state behind.
//!
//! A token lives for a few system calls; one left by a run killed in that
//! window is judged like a claim, and when stale the next level (`break1`,
//! `break2`, ...) is used instead.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::dataset::atomic::remove_if_present;
use crate::dataset::Dataset;
use crate::error::{Error, Result, UsageError};
use crate::layout::{parse_sample_dir_name, sample_dir_name};
use crate::process::{now_rfc3339, RunId};
use crate::ranges::SampleRange;

/// The lease when [`LEASE_ENV`] is not set: 10 minutes.
pub(crate) const DEFAULT_LEASE: Duration = Duration::from_secs(600);
/// The environment variable that sets the lease, in seconds (e.g. `600`, `2.5`).
pub(crate) const LEASE_ENV: &str = crate::env::CLAIM_LEASE;
/// Format version of a holder file.
pub(crate) const CLAIM_FORMAT: u32 = 1;
/// Suffix of holder file names.
const HOLDER_SUFFIX: &str = ".holder";
/// Longest lease accepted: a year.
const MAX_LEASE_SECONDS: f64 = 365.0 * 24.0 * 3600.0;
/// Shortest heartbeat period, whatever the lease.
const MIN_HEARTBEAT: Duration = Duration::from_millis(10);
/// How often claiming a sample starts over before giving up on it.
const ATTEMPTS: u32 = 20;
/// Pause before starting over after losing a takeover.
const RETRY_PAUSE: Duration = Duration::from_millis(10);
/// Token levels tried before giving up on a stale claim.
const BREAK_LEVELS: u32 = 8;
/// The claim on writing the dataset's statistics.
const STATISTICS_CLAIM: &str = "statistics";
/// How often a run waiting to write statistics looks again.
const STATISTICS_POLL: Duration = Duration::from_millis(100);

/// The lease: `--claim-lease` if given, else [`LEASE_ENV`], else
/// [`DEFAULT_LEASE`].
pub(crate) fn resolve_lease(flag: Option<Duration>) -> Result<Duration> {
    match (flag, std::env::var_os(LEASE_ENV)) {
        (Some(lease), _) => Ok(lease),
        (None, None) => Ok(DEFAULT_LEASE),
        (None, Some(value)) => parse_lease(&value.to_string_lossy()).map_err(|why| {
            Error::Usage(UsageError::BadEnvironment {
                name: LEASE_ENV,
                value: value.to_string_lossy().into_owned(),
                why,
            })
        }),
    }
}

/// Parses a lease in seconds: a positive number, at most a year. `Err` says
/// why, for the caller to name where the value came from.
pub(crate) fn parse_lease(text: &str) -> std::result::Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| "not a number of seconds; e.g. 600".to_owned())?;
    if !(seconds > 0.0 && seconds <= MAX_LEASE_SECONDS) {
        return Err(format!(
            "the lease must be more than 0 and at most {MAX_LEASE_SECONDS} seconds; e.g. 600"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// What a holder file (and so each of its claims) says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClaimInfo {
    /// [`CLAIM_FORMAT`].
    pub format: u32,
    /// The holder's run id.
    pub run: String,
    /// The holder's short host name.
    pub host: String,
    /// The holder's process id.
    pub pid: u32,
    /// When the holder started claiming (UTC, RFC 3339).
    pub started: String,
}

/// The outcome of claiming a sample.
pub(crate) enum Claim<'a> {
    /// This run holds the sample until the guard is dropped.
    Held(
        #[cfg_attr(
            not(test),
            expect(dead_code, reason = "held for its Drop, which releases the claim")
        )]
        ClaimGuard<'a>,
    ),
    /// A live run holds it.
    Elsewhere {
        /// The holder's run id, or a description when unknown.
        holder: String,
    },
}

/// A held claim; dropping it releases the claim.
pub(crate) struct ClaimGuard<'a> {
    claims: &'a Claims,
    /// The claim's file name in the claims folder.
    name: String,
}

impl Drop for ClaimGuard<'_> {
    fn drop(&mut self) {
        self.claims.release(&self.name);
    }
}

/// A claim of this run: the file's `(device, inode)`, and whether it is a
/// file of its own (no hard links) that the heartbeat must touch itself.
#[derive(Clone, Copy)]
struct Held {
    inode: (u64, u64),
    own_file: bool,
}

/// State shared with the heartbeat thread.
struct Shared {
    /// Held claims by file name.
    held: Mutex<HashMap<String, Held>>,
    /// The holder file and its inode, once written.
    holder: Mutex<Option<(PathBuf, (u64, u64))>>,
    dir: PathBuf,
    stop: Mutex<bool>,
    wake: Condvar,
}

/// The claims of one run in one dataset, kept fresh by a heartbeat thread.
pub(crate) struct Claims {
    run: String,
    lease: Duration,
    shared: Arc<Shared>,
    heartbeat: Option<thread::JoinHandle<()>>,
}

impl Claims {
    /// Starts claiming for `run` in `dataset`; touches nothing on disk until
    /// the first claim. The heartbeat also keeps `keep_fresh` (the run's
    /// staging folder) younger than the lease.
    pub(crate) fn start(
        dataset: &Dataset,
        run: &RunId,
        lease: Duration,
        keep_fresh: Option<PathBuf>,
    ) -> Self {
        let shared = Arc::new(Shared {
            held: Mutex::new(HashMap::new()),
            holder: Mutex::new(None),
            dir: claims_dir(dataset),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let period = (lease / 4).max(MIN_HEARTBEAT);
        let beat = shared.clone();
        let heartbeat = thread::spawn(move || heartbeat(&beat, period, keep_fresh.as_deref()));
        Self {
            run: run.as_str().to_owned(),
            lease,
            shared,
            heartbeat: Some(heartbeat),
        }
    }

    /// Claims sample `id`: held, or held by a live run elsewhere. `Err` is
    /// an I/O error on the claims folder, which must stop the run.
    pub(crate) fn acquire(&self, id: u64) -> Result<Claim<'_>> {
        self.acquire_name(sample_dir_name(id))
    }

    /// Claims the right to write the dataset's statistics, which runs take
    /// in turn: each pass starts after the previous one ended, and after
    /// the run's own samples, so the last pass to end sees every sample of
    /// every run. While a live run holds it, waits up to a lease, then
    /// gives up (`Elsewhere`).
    pub(crate) fn statistics(&self) -> Result<Claim<'_>> {
        let started = Instant::now();
        loop {
            let claim = self.acquire_name(STATISTICS_CLAIM.to_owned())?;
            if matches!(claim, Claim::Held(_)) || started.elapsed() > self.lease {
                return Ok(claim);
            }
            thread::sleep(STATISTICS_POLL);
        }
    }

    /// Claims the file `name` of the claims folder.
    fn acquire_name(&self, name: String) -> Result<Claim<'_>> {
        let path = self.shared.dir.join(&name);
        let mut holder = String::from("a run taking over a stale claim");
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                thread::sleep(RETRY_PAUSE);
            }
            match self.link(&path) {
                Ok(held) => return Ok(self.hold(name, held)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io("cannot create the claim", path, e)),
            }
            let Some(seen) = inspect(&path).map_err(|e| Error::io("cannot read", &path, e))? else {
                continue;
            };
            if self.is_own_link(&seen) {
                // Over NFS a retransmitted link that had succeeded fails
                // with EEXIST: the claim is ours.
                let held = Held {
                    inode: seen.inode,
                    own_file: false,
                };
                return Ok(self.hold(name, held));
            }
            if !seen.is_stale(self.lease) {
                return Ok(Claim::Elsewhere {
                    holder: seen.holder(),
                });
            }
            holder = seen.holder();
            self.take_over(&path, &seen)
                .map_err(|e| Error::io("cannot take over the stale claim", &path, e))?;
        }
        Ok(Claim::Elsewhere { holder })
    }

    fn hold(&self, name: String, held: Held) -> Claim<'_> {
        self.held_map().insert(name.clone(), held);
        Claim::Held(ClaimGuard { claims: self, name })
    }

    /// Makes `path` a claim of this run, exclusively: a hard link to the
    /// holder file, or a file of its own where links are not supported.
    fn link(&self, path: &Path) -> io::Result<Held> {
        let (holder, inode) = self.holder_file()?;
        match fs::hard_link(&holder, path) {
            Ok(()) => Ok(Held {
                inode,
                own_file: false,
            }),
            Err(e) if links_unsupported(&e) => {
                let file = self.create(path)?;
                let meta = file.metadata()?;
                Ok(Held {
                    inode: (meta.dev(), meta.ino()),
                    own_file: true,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Whether `seen` is a hard link to this run's holder file.
    fn is_own_link(&self, seen: &Seen) -> bool {
        let holder = self
            .shared
            .holder
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        holder
            .as_ref()
            .is_some_and(|(_, inode)| *inode == seen.inode)
    }

    /// The holder file, written on first use.
    fn holder_file(&self) -> io::Result<(PathBuf, (u64, u64))> {
        let mut holder = self
            .shared
            .holder
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(known) = &*holder {
            return Ok(known.clone());
        }
        fs::create_dir_all(&self.shared.dir)?;
        let path = self.shared.dir.join(format!("{}{HOLDER_SUFFIX}", self.run));
        let _ = fs::remove_file(&path);
        let file = self.create(&path)?;
        let meta = file.metadata()?;
        let known = (path, (meta.dev(), meta.ino()));
        *holder = Some(known.clone());
        Ok(known)
    }

    /// Creates a file with this run's [`ClaimInfo`], exclusively.
    fn create(&self, path: &Path) -> io::Result<File> {
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        let info = ClaimInfo {
            format: CLAIM_FORMAT,
            run: self.run.clone(),
            host: crate::process::name().to_owned(),
            pid: std::process::id(),
            started: now_rfc3339(),
        };
        let mut line = serde_json::to_vec(&info).expect("claims serialize");
        line.push(b'\n');
        if let Err(e) = (&file).write_all(&line) {
            let _ = fs::remove_file(path);
            return Err(e);
        }
        Ok(file)
    }

    /// Removes the stale claim `seen` at `path` if this run wins the right
    /// to (see the module docs); either way the caller starts over.
    fn take_over(&self, path: &Path, seen: &Seen) -> io::Result<()> {
        let token = |level: u32| {
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(format!(".{}.break{level}", seen.identity));
            path.with_file_name(name)
        };
        for level in 0..BREAK_LEVELS {
            let mine = token(level);
            match self.create(&mine) {
                Ok(file) => {
                    drop(file);
                    let result = match inspect(path) {
                        Ok(Some(now)) if now.identity == seen.identity => remove_if_present(path),
                        Ok(_) => Ok(()),
                        Err(e) => Err(e),
                    };
                    // Lower levels were stale; with `S` gone all are garbage.
                    for old in (0..=level).rev() {
                        let _ = fs::remove_file(token(old));
                    }
                    return result;
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            match inspect(&mine)? {
                Some(other) if other.is_stale(self.lease) => continue,
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    /// Releases the claim `name`, unless it was taken over meanwhile (this
    /// run stalled for a lease): then the file is another run's.
    fn release(&self, name: &str) {
        let Some(held) = self.held_map().remove(name) else {
            return;
        };
        let path = self.shared.dir.join(name);
        if fs::symlink_metadata(&path).is_ok_and(|m| (m.dev(), m.ino()) == held.inode) {
            let _ = fs::remove_file(&path);
        }
    }

    fn held_map(&self) -> MutexGuard<'_, HashMap<String, Held>> {
        self.shared
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops the heartbeat, releases every claim still held, removes the
    /// holder file and those of dead runs.
    pub(crate) fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Ok(mut stop) = self.shared.stop.lock() {
            *stop = true;
        }
        self.shared.wake.notify_all();
        let Some(heartbeat) = self.heartbeat.take() else {
            return;
        };
        let _ = heartbeat.join();
        let names: Vec<String> = self.held_map().keys().cloned().collect();
        for name in names {
            self.release(&name);
        }
        let holder = self
            .shared
            .holder
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((path, _)) = holder {
            let _ = fs::remove_file(path);
            self.remove_dead_holders();
        }
    }

    /// Removes the holder files of dead runs (killed runs leave them). Their
    /// claims are other links to the same file and stay until taken over.
    fn remove_dead_holders(&self) {
        let Ok(entries) = fs::read_dir(&self.shared.dir) else {
            return;
        };
        for entry in entries.flatten() {
            if !entry.file_name().to_string_lossy().ends_with(HOLDER_SUFFIX) {
                continue;
            }
            if let Ok(Some(seen)) = inspect(&entry.path()) {
                if seen.is_stale(self.lease) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }
}

impl Drop for Claims {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `DIR/.shardgen/claims/`.
pub(crate) fn claims_dir(dataset: &Dataset) -> PathBuf {
    dataset.meta_dir().join(crate::layout::CLAIMS_DIR)
}

/// A live run holding claims in `dataset` (its holder file is not stale
/// under `lease`), by run id, if there is one. Commands that must not run
/// beside a run (`shardgen upgrade`) refuse while there is.
pub(crate) fn live_holder(dataset: &Dataset, lease: Duration) -> io::Result<Option<String>> {
    let dir = claims_dir(dataset);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        if !entry.file_name().to_string_lossy().ends_with(HOLDER_SUFFIX) {
            continue;
        }
        if let Some(seen) = inspect(&entry.path())? {
            if !seen.is_stale(lease) {
                return Ok(Some(seen.holder()));
            }
        }
    }
    Ok(None)
}

/// The samples in `range` that have a claim file, live or stale, sorted:
/// one listing of the claims folder, which holds only the few samples live
/// runs work on right now (and those dead runs left behind).
pub(crate) fn claimed_samples(dataset: &Dataset, range: SampleRange) -> io::Result<Vec<u64>> {
    let entries = match fs::read_dir(claims_dir(dataset)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut ids = Vec::new();
    for entry in entries {
        if let Some(id) = parse_sample_dir_name(&entry?.file_name()) {
            if range.contains(id) {
                ids.push(id);
            }
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Whether `link` failed because the filesystem has no hard links.
fn links_unsupported(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EPERM | libc::EOPNOTSUPP | libc::EXDEV | libc::EMLINK | libc::ENOSYS)
    )
}

/// Touches the holder file (so every linked claim), claims that are files of
/// their own, and `keep_fresh`, every `period` until stopped.
fn heartbeat(shared: &Shared, period: Duration, keep_fresh: Option<&Path>) {
    let Ok(mut stop) = shared.stop.lock() else {
        return;
    };
    // The flag is checked under the lock before each wait: a stop signalled
    // before the thread first waits is not missed.
    while !*stop {
        stop = match shared.wake.wait_timeout(stop, period) {
            Ok((guard, _)) => guard,
            Err(_) => return,
        };
        if *stop {
            return;
        }
        // A failed touch only risks a takeover after a whole lease.
        let touch = |path: &Path| {
            let _ = OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|f| f.set_modified(SystemTime::now()));
        };
        let holder = shared.holder.lock().ok().and_then(|h| h.clone());
        if let Some((path, _)) = holder {
            touch(&path);
        }
        let own: Vec<PathBuf> = shared.held.lock().map_or_else(
            |_| Vec::new(),
            |held| {
                held.iter()
                    .filter(|(_, h)| h.own_file)
                    .map(|(name, _)| shared.dir.join(name))
                    .collect()
            },
        );
        for path in own {
            touch(&path);
        }
        if let Some(dir) = keep_fresh {
            let _ = File::open(dir).and_then(|dir| dir.set_modified(SystemTime::now()));
        }
    }
}

/// A claim-like file as read once.
struct Seen {
    info: Option<ClaimInfo>,
    identity: String,
    modified: SystemTime,
    /// `(device, inode)`.
    inode: (u64, u64),
}

impl Seen {
    /// Whether its holder is dead (see the module docs).
    fn is_stale(&self, lease: Duration) -> bool {
        match &self.info {
            Some(info) if info.host == crate::process::name() => {
                !crate::process::pid_alive(info.pid)
            }
            _ => crate::process::older_than(self.modified, lease),
        }
    }

    fn holder(&self) -> String {
        match &self.info {
            Some(info) => info.run.clone(),
            None => "an unknown run (unreadable claim)".to_owned(),
        }
    }
}

/// Reads a claim-like file; `None` if there is none.
fn inspect(path: &Path) -> io::Result<Option<Seen>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    let mut text = String::new();
    let info = (&file)
        .take(4096)
        .read_to_string(&mut text)
        .ok()
        .and_then(|_| serde_json::from_str::<ClaimInfo>(text.trim()).ok())
        .filter(|info| info.format == CLAIM_FORMAT && RunId::parse_owner(&info.run).is_some());
    let modified = meta.modified()?;
    let identity = match &info {
        Some(info) => info.run.clone(),
        None => format!("i{}-{}-{}", meta.ino(), meta.mtime(), meta.mtime_nsec()),
    };
    Ok(Some(Seen {
        info,
        identity,
        modified,
        inode: (meta.dev(), meta.ino()),
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

    use super::*;

    /// Claims of a new run (at most 10 per test: ids differ by one digit).
    fn claims(dataset: &Dataset, lease: Duration) -> Claims {
        static RUNS: AtomicU8 = AtomicU8::new(0);
        let staging = dataset.root().join("staging");
        fs::create_dir_all(&staging).unwrap();
        let run = RunId::fake(RUNS.fetch_add(1, Ordering::Relaxed) % 10);
        Claims::start(dataset, &run, lease, Some(staging))
    }

    fn two_runs(dataset: &Dataset) -> (Claims, Claims) {
        (
            claims(dataset, DEFAULT_LEASE),
            claims(dataset, DEFAULT_LEASE),
        )
    }

    fn write_claim(dataset: &Dataset, id: u64, host: &str, pid: u32, age: Duration) -> PathBuf {
        let dir = claims_dir(dataset);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(sample_dir_name(id));
        let info = ClaimInfo {
            format: CLAIM_FORMAT,
            run: format!("20200101T000000Z-{host}-{pid}"),
            host: host.to_owned(),
            pid,
            started: "2020-01-01T00:00:00Z".to_owned(),
        };
        fs::write(&path, serde_json::to_vec(&info).unwrap()).unwrap();
        let file = File::options().write(true).open(&path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
        path
    }

    #[test]
    fn leases_parse_as_positive_seconds() {
        assert_eq!(parse_lease("600").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_lease(" 2.5 ").unwrap(), Duration::from_millis(2500));
        for bad in ["", "abc", "0", "-3", "NaN", "inf", "1e12"] {
            assert!(parse_lease(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn claimed_samples_are_the_claims_named_like_samples_in_the_range() {
        let root = tempfile::tempdir().unwrap();
        let dataset = Dataset::new(root.path());
        let range = SampleRange::new(10, 30_000);
        assert!(claimed_samples(&dataset, range).unwrap().is_empty());
        let runs = two_runs(&dataset);
        let _held = [runs.0.acquire(25_000).unwrap(), runs.0.acquire(9).unwrap()];
        let _statistics = runs.1.statistics().unwrap();
        write_claim(&dataset, 12, "elsewhere", 1, Duration::ZERO);
        assert_eq!(claimed_samples(&dataset, range).unwrap(), [12, 25_000]);
    }

    #[test]
    fn a_claim_is_exclusive_and_released_on_drop() {
        let root = tempfile::tempdir().unwrap();
        let dataset = Dataset::new(root.path());
        let (a, b) = two_runs(&dataset);
        let held = a.acquire(5).unwrap();
        assert!(matches!(held, Claim::Held(_)));
        let Claim::Elsewhere { holder } = b.acquire(5).unwrap() else {
            panic!("claimed twice");
        };
        assert_eq!(holder, a.run);
        drop(held);
        assert!(!claims_dir(&dataset).join(sample_dir_name(5)).exists());
        assert!(matches!(b.acquire(5).unwrap(), Claim::Held(_)));
    }

    #[test]
    fn a_link_of_our_own_holder_file_is_our_claim() {
        let root = tempfile::tempdir().unwrap();
        let dataset = Dataset::new(root.path());
        let a = claims(&dataset, DEFAULT_LEASE);
        drop(a.acquire(1).unwrap());
        // What an NFS link retransmitted after success leaves: our link, EEXIST.
        let (holder, _) = a.holder_file().unwrap();
        let path = claims_dir(&dataset).join(sample_dir_name(7));
        fs::hard_link(holder, &path).unwrap();
        let held = a.acquire(7).unwrap();
        assert!(matches!(held, Claim::Held(_)));
        drop(held);
        assert!(!path.exists());
    }

    #[test]
    fn runs_take_turns_at_the_statistics() {
        let root = tempfile::tempdir().unwrap();
        let dataset = Dataset::new(root.path());
        let (a, b) = two_runs(&dataset);
        let turn = a.statistics().unwrap();
        assert!(matches!(turn, Claim::Held(_)));
        thread::scope(|scope| {
            let waiter = scope.spawn(|| matches!(b.statistics().unwrap(), Claim::Held(_)));
            thread::sleep(Duration::from_millis(300));
            assert!(!waiter.is_finished(), "b did not wait for a's turn");
            drop(turn);
            assert!(waiter.join().unwrap(), "b never got its turn");
        });
        let short = claims(&dataset, Duration::from_millis(200));
        let _held = b.statistics().unwrap();
        assert!(matches!(
            short.statistics().unwrap(),
            Claim::Elsewhere { .. }
        ));
    }

    #[test]
    fn finish_releases_what_is_still_held() {
        let root = tempfile::tempdir().unwrap();
        let dataset = Dataset::new(root.path());
        let a = claims(&dataset, DEFAULT_LEASE);
        let guard = a.acquire(1).unwrap();
        std::mem::forget(guard);
        a.finish();
        assert_eq!(fs::read_dir(claims_dir(&dataset)).unwrap().count(), 0);
    }

    #[test]
    fn stale_claims_are_taken_over_and_fresh_ones_of_other_hosts_respected() {
        let root = tempfile::tempdir().unwrap();
        let dataset = Dataset::new(root.path());
        let lease = Duration::from_secs(60);
        let a = claims(&dataset, lease);
        write_claim(&dataset, 1, "other-host", 1, Duration::from_secs(3600));
        write_claim(&dataset, 2, "other-host", 1, Duration::ZERO);
        write_claim(
            &dataset,
            3,
            crate::process::name(),
            u32::MAX - 1,
            Duration::ZERO,
        );
        let unreadable = claims_dir(&dataset).join(sample_dir_name(4));
        fs::write(&unreadable, b"").unwrap();
        assert!(matches!(a.acquire(1).unwrap(), Claim::Held(_)));
        assert!(matches!(a.acquire(2).unwrap(), Claim::Elsewhere { .. }));
        assert!(matches!(a.acquire(3).unwrap(), Claim::Held(_)));
        assert!(matches!(a.acquire(4).unwrap(), Claim::Elsewhere { .. }));
        File::options()
            .write(true)
            .open(&unreadable)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
        assert!(matches!(a.acquire(4).unwrap(), Claim::Held(_)));
    }

    #[test]
    fn racing_takeovers_of_one_stale_claim_have_one_winner() {
        let root = tempfile::tempdir().unwrap();
        let dataset = Dataset::new(root.path());
        let lease = Duration::from_secs(60);
        let runs: Vec<Claims> = (0..4).map(|_| claims(&dataset, lease)).collect();
        for round in 0..40 {
            write_claim(&dataset, round, "other-host", 1, Duration::from_secs(3600));
            let winners = AtomicU64::new(0);
            let barrier = std::sync::Barrier::new(runs.len());
            thread::scope(|scope| {
                for run in &runs {
                    let (winners, barrier) = (&winners, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        if let Claim::Held(guard) = run.acquire(round).unwrap() {
                            winners.fetch_add(1, Ordering::Relaxed);
                            // Hold it until every other run has decided.
                            barrier.wait();
                            drop(guard);
                        } else {
                            barrier.wait();
                        }
                    });
                }
            });
            assert_eq!(winners.load(Ordering::Relaxed), 1, "round {round}");
            let left: Vec<_> = fs::read_dir(claims_dir(&dataset))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| !name.ends_with(HOLDER_SUFFIX))
                .collect();
            assert!(left.is_empty(), "round {round}: {left:?}");
        }
    }

    #[test]
    fn the_heartbeat_keeps_held_claims_fresh() {
        let root = tempfile::tempdir().unwrap();
        let dataset = Dataset::new(root.path());
        let a = claims(&dataset, Duration::from_millis(200));
        let _guard = a.acquire(9).unwrap();
        let path = claims_dir(&dataset).join(sample_dir_name(9));
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let age = || {
            SystemTime::now()
                .duration_since(fs::metadata(&path).unwrap().modified().unwrap())
                .unwrap_or_default()
        };
        while age() > Duration::from_secs(60) && std::time::Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        assert!(age() < Duration::from_secs(60), "never touched");
    }
}
