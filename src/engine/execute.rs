//! Running blocks on samples: stage, run, validate, publish, record.
//!
//! The order of writes is what makes a crash at any instant harmless:
//! 1. Before block `k` reruns, the record forgets blocks `k..` (atomic write),
//!    then their files are removed. A crash in between leaves files that no
//!    record vouches for; the next run removes them.
//! 2. A block writes into its own staging folder under `.shardgen/staging/`;
//!    only after `run` and `validate` succeed are its declared outputs
//!    renamed into the sample folder (same filesystem, so each file appears
//!    whole or not at all).
//! 3. Only then does the record say the block is done (atomic write). To
//!    spare the disk, consecutive quick blocks share one record write: the
//!    record is written when a block fails, at the end of the sample, and
//!    whenever [`CHECKPOINT_INTERVAL`] has passed since the last write. A
//!    crash in between costs at most that much redone work: published files
//!    that no record vouches for are removed and remade by the next run.
//!
//! 4. A failed attempt (not a rejection, not a program that cannot start)
//!    of a block with `retries:` (or under `--retries`) is made again at
//!    once, with the same seed and the staging folder emptied, so a retry
//!    cannot change the data; the record counts the attempts.
//! 5. When the run stops (SIGINT, SIGTERM, `--max-failures`) no block
//!    starts, and an attempt that fails meanwhile (the stop killed its
//!    program) is discarded, not recorded: the sample ends
//!    [`SampleOutcome::Stopped`] with the blocks before it recorded.
//!
//! 6. The fresh path of a block that declares it writes only its out
//!    folder ([`crate::block::Block::writes_only_out_dir`]) makes only the
//!    syscalls it needs: its worker's out folder, emptied after the
//!    previous such attempt, is not created or listed
//!    again ([`crate::engine::out_folder`]), and the sample folder is not
//!    listed after it. For every block, the out folder is walked by
//!    `d_type` and not listed again when publishing emptied it; a sample
//!    folder created by this run is not listed. An output such a block
//!    wrote through its context ([`SampleContext::create_output`]) is not
//!    read back: its size and digest were counted as it was written (any
//!    other output is read to its end, without an `fstat`). A block that
//!    writes only through its context
//!    ([`crate::block::Block::writes_only_through_context`]) is not walked
//!    either: what it wrote so is renamed from the out folder's descriptor
//!    into the sample folder's, and nothing else is published.
//!
//! So a file in a sample folder is always complete, and a block counts as
//! done only once all its files are in place. Each output's size and digest
//! are taken as it is published (read back from the page cache, or counted
//! as it was written through the context) and kept in the record, so later
//! scans notice a file truncated or changed since.
//! With `--durable`, each output is fsynced before its rename, the folders
//! that gained names after it, and the record (temp file and folder) when
//! written: a power loss cannot leave a record vouching for data that never
//! reached the disk. When runs share the dataset,
//! all of this happens under the sample's claim, taken before the sample is
//! re-planned from disk and released after its record is written (see
//! [`crate::dataset::claim`]). `execute` never prints: it tells an [`Observer`].

use std::fs;
use std::io;
use std::os::fd::AsFd;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::block::{SampleContext, Stats};
use crate::dataset::atomic::{is_atomic_temp, remove_if_present};
use crate::dataset::claim::{Claim, Claims};
use crate::dataset::failure_log;
use crate::dataset::record::{
    read_record, write_record, write_record_durable, BlockRecord, BlockStatus, OutputFile,
    RecordRead, SampleRecord,
};
use crate::dataset::safe_fs::{is_not_a_folder, kind_name, Dir};
use crate::dataset::sample_guard::{changes, Item, Listing, Watched};
use crate::dataset::state::{BlockState, StateJudge};
use crate::dataset::walk::{walk_is_file, walk_is_file_at};
use crate::dataset::Dataset;
use crate::engine::out_folder::{OutFolder, OutFolders, OutLeft};
use crate::engine::plan::{plan_sample, PlanOptions, SamplePlan};
use crate::error::{Error, Result};
use crate::file_digest::FileDigest;
use crate::layout::sample_dir_name;
use crate::output_writer::WrittenOutputs;
use crate::pipeline::{Pipeline, PipelineBlock};
use crate::seed::BlockSeed;

/// Longest stretch of finished block work a crash may cost a sample.
pub(crate) const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// How a sample ended in this run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SampleOutcome {
    /// Blocks ran and the sample is now complete.
    Completed,
    /// Nothing had to run (e.g. another run finished it meanwhile).
    AlreadyComplete,
    /// A block failed or was rejected; later blocks did not run.
    Failed {
        /// Index of the block.
        block: usize,
        /// Rejected by validation rather than failed.
        rejected: bool,
        /// The recorded reason.
        reason: String,
    },
    /// Left alone by `--do-not-retry-blocks`.
    NotRetried {
        /// The block that would have had to run.
        block: usize,
        /// Its last failure, if it had failed.
        failure: Option<String>,
    },
    /// Skipped: a live run of this dataset holds the sample's claim.
    ClaimedElsewhere {
        /// That run's id.
        holder: String,
    },
    /// Stopped by the run's stop (SIGINT, SIGTERM, `--max-failures`) before
    /// or while block `block` ran: that block's attempt was discarded, the
    /// blocks before it are recorded, and the next run goes on from there.
    Stopped {
        /// The block that did not finish.
        block: usize,
    },
}

/// Receives what happens during a run, from many threads at once.
pub(crate) trait Observer: Sync {
    /// Block `block` finished on `sample` after `seconds`.
    fn block_finished(&self, sample: u64, block: &str, status: BlockStatus, seconds: f64);
    /// The sample is done for this run.
    fn sample_finished(&self, sample: u64, outcome: &SampleOutcome);
    /// The sample's folder was damaged (`why`) and was moved to `to`; the
    /// sample is redone in a new folder.
    fn sample_set_aside(&self, sample: u64, why: &str, to: &Path) {
        let _ = (sample, why, to);
    }
    /// Whether the run is stopping: no block starts any more, and a block
    /// that fails now was most likely killed by the stop, so its attempt is
    /// discarded rather than recorded.
    fn stopping(&self) -> bool {
        crate::interrupt::requested().is_some()
    }
    /// The record of `sample` in `dir` was written for the last time in
    /// this run; its bytes have XXH3-64 `digest`. Told before
    /// [`sample_finished`](Self::sample_finished), so that the statistics
    /// pass need not read it back.
    fn record_written(&self, sample: u64, dir: &Path, record: &SampleRecord, digest: u64) {
        let _ = (sample, dir, record, digest);
    }
    /// Attempt `attempt` (from 1) of `block` on `sample` failed with
    /// `reason`; told for blocks that may retry (`retries:`), each attempt.
    fn attempt_failed(&self, sample: u64, block: &str, attempt: u32, reason: &str) {
        let _ = (sample, block, attempt, reason);
    }
}

/// Runs the pipeline on samples of a dataset; shared by all worker threads.
pub(crate) struct Executor<'a> {
    pipeline: &'a Pipeline,
    dataset: &'a Dataset,
    judge: StateJudge,
    descriptions: Vec<crate::pipeline::description::BlockDescription>,
    options: PlanOptions,
    staging: PathBuf,
    claims: Option<&'a Claims>,
    /// `--retries`: overrides every block's `retries:`.
    retries: Option<u32>,
    durable: bool,
    /// What each worker's out folder is known to be between attempts.
    out_folders: OutFolders,
}

impl<'a> Executor<'a> {
    /// An executor whose attempts stage below `staging` (this run's own
    /// folder inside the dataset). `dataset` must have an absolute root.
    pub(crate) fn new(
        pipeline: &'a Pipeline,
        dataset: &'a Dataset,
        options: PlanOptions,
        staging: PathBuf,
    ) -> Self {
        let descriptions = pipeline.descriptions();
        Self {
            pipeline,
            dataset,
            judge: StateJudge::new(descriptions.clone()).verifying(options.verify),
            descriptions,
            options,
            staging,
            claims: None,
            retries: None,
            durable: false,
            out_folders: OutFolders::default(),
        }
    }

    /// Retries failed attempts of every block up to `retries` times
    /// (`--retries`), instead of each block's `retries:`.
    #[must_use]
    pub(crate) fn with_retries(mut self, retries: Option<u32>) -> Self {
        self.retries = retries;
        self
    }

    /// With `on` (`--durable`): outputs, records and the folders holding
    /// them are fsynced before a block counts as done.
    #[must_use]
    pub(crate) fn durable(mut self, on: bool) -> Self {
        self.durable = on;
        self
    }

    /// Writes the record of a sample, durably with `--durable`; the digest
    /// of its bytes.
    fn save(&self, dir: &Path, record: &SampleRecord) -> Result<u64> {
        let written = match self.durable {
            true => write_record_durable(dir, record),
            false => write_record(dir, record),
        };
        written.map_err(|e| Error::io("cannot write the record in", dir, e))
    }

    /// Claims each sample in `claims` before planning and running it, so
    /// that runs sharing the dataset never work on one sample at once.
    #[must_use]
    pub(crate) fn with_claims(mut self, claims: &'a Claims) -> Self {
        self.claims = Some(claims);
        self
    }

    /// Claims sample `id` (if claiming), plans it afresh from disk and runs
    /// what it needs. Failed samples are `Ok`; `Err` is an I/O error that
    /// must stop the run.
    pub(crate) fn run_sample(&self, id: u64, observer: &dyn Observer) -> Result<SampleOutcome> {
        // Held until the record is written, released on every way out.
        let _claim = match self.claims.map(|c| c.acquire(id)).transpose()? {
            Some(Claim::Elsewhere { holder }) => {
                let outcome = SampleOutcome::ClaimedElsewhere { holder };
                observer.sample_finished(id, &outcome);
                return Ok(outcome);
            }
            held => held,
        };
        let dir = self.dataset.sample_dir(id);
        // A folder that is a symlink or a file, or an untrustworthy record,
        // is damage: the folder is set aside and the sample made afresh.
        let (mut damage, absent) = match fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() => (None, false),
            Ok(meta) => (
                Some(format!(
                    "the sample folder is a {}",
                    kind_name(&meta.file_type())
                )),
                false,
            ),
            Err(_) => (None, true),
        };
        let read = match damage {
            // No folder, no record: not even an open to find that out.
            None if !absent => read_record(&dir, id),
            _ => RecordRead::Absent,
        };
        if let RecordRead::Damaged(why) = &read {
            damage = Some(why.clone());
        }
        let mut record = read.valid().cloned();
        let mut states = self.judge.judge(&dir, record.as_ref());
        let mut plan = plan_sample(&self.descriptions, &states, &self.options);
        // A new folder is empty: no need to list it.
        let mut listing = absent.then(Listing::default);
        if damage.is_none() && !absent && matches!(plan, SamplePlan::Run { .. }) {
            let found = Listing::of(&dir).map_err(|e| Error::io("cannot read", &dir, e))?;
            match found.first_special() {
                Some((name, kind)) => damage = Some(format!("'{name}' in it is a {kind}")),
                None => listing = Some(found),
            }
        }
        if let Some(why) = damage {
            let fresh = self.judge.judge(&dir, None);
            let fresh_plan = plan_sample(&self.descriptions, &fresh, &self.options);
            if matches!(fresh_plan, SamplePlan::Run { .. }) {
                if let Err(reason) = self.set_aside(id, &dir, &why, observer)? {
                    let outcome = SampleOutcome::Failed {
                        block: 0,
                        rejected: false,
                        reason,
                    };
                    observer.sample_finished(id, &outcome);
                    return Ok(outcome);
                }
                (record, states, plan) = (None, fresh, fresh_plan);
                listing = Some(Listing::default());
            }
        }
        let outcome = match plan {
            // Rejected for good or unselected meanwhile (another run got
            // there between the scan and the claim): nothing to do either.
            SamplePlan::Complete | SamplePlan::Rejected { .. } | SamplePlan::NotSelected => {
                SampleOutcome::AlreadyComplete
            }
            SamplePlan::NotRetried { block } => SampleOutcome::NotRetried {
                block,
                failure: failure_of(&states),
            },
            SamplePlan::Run { reset_from, steps } => {
                // A folder made just now is empty: nothing in it to list,
                // clean or reset.
                let created =
                    create_sample_dir(&dir).map_err(|e| Error::io("cannot create", &dir, e))?;
                if created && self.durable {
                    sync_ancestors(&dir, self.dataset.root())
                        .map_err(|e| Error::io("cannot sync", &dir, e))?;
                }
                let mut record = record.take().unwrap_or_else(|| SampleRecord::new(id));
                if created && record.blocks.is_empty() {
                    listing = Some(Listing::default());
                } else {
                    remove_atomic_temps(&dir);
                    if let Some(first) = reset_from {
                        self.reset(&dir, &mut record, first)?;
                        listing = None;
                    }
                }
                let listing = match listing {
                    Some(listing) => listing,
                    None => Listing::of(&dir).map_err(|e| Error::io("cannot read", &dir, e))?,
                };
                let folder = Dir::open(&dir).map_err(|e| Error::io("cannot open", &dir, e))?;
                let mut watched = Watched {
                    folder,
                    listing,
                    published: Vec::new(),
                };
                let indices = steps.iter().map(|s| s.0);
                let (outcome, written) =
                    self.run_steps(id, &dir, &mut record, indices, &mut watched, observer)?;
                if let Some(digest) = written {
                    observer.record_written(id, &dir, &record, digest);
                }
                if outcome == SampleOutcome::Completed {
                    // The failure logs of blocks that failed before are moot.
                    for (index, state) in states.iter().enumerate() {
                        if matches!(state, BlockState::Failed(_)) {
                            failure_log::forget(
                                self.dataset,
                                id,
                                self.pipeline.blocks[index].name(),
                            );
                        }
                    }
                }
                outcome
            }
        };
        observer.sample_finished(id, &outcome);
        Ok(outcome)
    }

    /// Moves a damaged sample folder to `.shardgen/damaged/<id>-<run>`;
    /// `Ok(Err(reason))` if it cannot be moved for a reason of its own.
    fn set_aside(
        &self,
        id: u64,
        dir: &Path,
        why: &str,
        observer: &dyn Observer,
    ) -> Result<std::result::Result<(), String>> {
        let run = self
            .staging
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        let aside = crate::dataset::safe_fs::damaged_path(
            &self.dataset.meta_dir(),
            &sample_dir_name(id),
            &run,
        );
        match crate::dataset::safe_fs::move_aside(dir, &aside) {
            Ok(()) => {
                observer.sample_set_aside(id, why, &aside);
                Ok(Ok(()))
            }
            Err(e) if crate::disk::condition(&e).is_some() => {
                Err(Error::io("cannot set aside the damaged sample", dir, e))
            }
            Err(e) => Ok(Err(format!(
                "damaged sample folder ({why}) cannot be set aside: {e}; move it away by hand"
            ))),
        }
    }

    /// Forgets blocks `first..` in the record, then removes their files.
    fn reset(&self, dir: &Path, record: &mut SampleRecord, first: usize) -> Result<()> {
        let later = &self.pipeline.blocks[first..];
        let before = record.blocks.len();
        record
            .blocks
            .retain(|entry| !later.iter().any(|b| b.name() == entry.name));
        if record.blocks.len() != before {
            self.save(dir, record)?;
        }
        remove_outputs(dir, later).map_err(|e| Error::io("cannot clean", dir, e))
    }

    fn run_steps(
        &self,
        id: u64,
        dir: &Path,
        record: &mut SampleRecord,
        steps: impl Iterator<Item = usize>,
        watched: &mut Watched,
        observer: &dyn Observer,
    ) -> Result<(SampleOutcome, Option<u64>)> {
        let mut last_write = Instant::now();
        let mut unwritten = false;
        // The digest of the record as last written.
        let mut written = None;
        for index in steps {
            let block = &self.pipeline.blocks[index];
            if observer.stopping() {
                return Ok((stopped(dir, record, unwritten, index)?, None));
            }
            let started = Instant::now();
            let retries = self.retries.unwrap_or(block.retries);
            let mut attempts = 1;
            let (status, reason, stats, spoiled) = loop {
                let (status, reason, stats, spoiled, retryable) =
                    self.attempt(id, dir, index, watched)?;
                let failed = status == BlockStatus::Failed && spoiled.is_none();
                if failed && observer.stopping() {
                    // Killed by the stop, or failed as it came: left as it was.
                    return Ok((stopped(dir, record, unwritten, index)?, None));
                }
                if failed && retries > 0 {
                    let why = reason.as_deref().unwrap_or_default();
                    observer.attempt_failed(id, block.name(), attempts, why);
                }
                if failed && retryable && attempts <= retries {
                    // Same seed, emptied staging: a retry cannot change the data.
                    attempts += 1;
                    continue;
                }
                break (status, reason, stats, spoiled);
            };
            if let Some(first) = spoiled {
                // Files of block `first` were changed: forget it and later ones.
                let later = &self.pipeline.blocks[first..];
                record
                    .blocks
                    .retain(|entry| !later.iter().any(|b| b.name() == entry.name));
            }
            let seconds = started.elapsed().as_secs_f64();
            self.put(
                record,
                BlockRecord {
                    name: block.name().to_owned(),
                    fingerprint: block.description.fingerprint.clone(),
                    status,
                    attempts,
                    reason: reason.clone(),
                    stats,
                    outputs: std::mem::take(&mut watched.published),
                },
            );
            unwritten = true;
            if status != BlockStatus::Ok || last_write.elapsed() >= CHECKPOINT_INTERVAL {
                written = Some(self.save(dir, record)?);
                (last_write, unwritten) = (Instant::now(), false);
            }
            observer.block_finished(id, block.name(), status, seconds);
            if status != BlockStatus::Ok {
                let outcome = SampleOutcome::Failed {
                    block: index,
                    rejected: status == BlockStatus::Rejected,
                    reason: reason.unwrap_or_default(),
                };
                return Ok((outcome, written));
            }
        }
        if unwritten {
            written = Some(self.save(dir, record)?);
        }
        Ok((SampleOutcome::Completed, written))
    }

    /// Puts a block's entry into the record, in chain order.
    fn put(&self, record: &mut SampleRecord, entry: BlockRecord) {
        record.blocks.retain(|b| b.name != entry.name);
        record.blocks.push(entry);
        let position = |name: &str| self.pipeline.block_index(name).unwrap_or(usize::MAX);
        record.blocks.sort_by_key(|b| position(&b.name));
    }

    /// One attempt of block `index`: returns status, reason, statistics and
    /// the earliest block whose files it changed. `listing` is the sample
    /// folder before the attempt; it is updated with what was published.
    fn attempt(&self, id: u64, dir: &Path, index: usize, watched: &mut Watched) -> Result<Attempt> {
        let block = &self.pipeline.blocks[index];
        // Each worker thread reuses one staging folder: making and removing
        // folders per attempt costs more than most blocks.
        let worker = rayon::current_thread_index().unwrap_or(0);
        let attempt_dir = self.staging.join(format!("worker-{worker}"));
        let out_dir = attempt_dir.join("out");
        let stats_file = attempt_dir.join("stats.json");
        let out_only = block.instance.writes_only_out_dir();
        let through = out_only && block.instance.writes_only_through_context();
        // An out folder this executor emptied after an attempt of a block
        // that writes only there is still empty, and no stats file was left.
        // Taken whatever the block: after any other block it is unknown.
        let mut handle = match self.out_folders.take(worker) {
            (OutFolder::Empty, Some(handle)) if out_only => Some(handle),
            (OutFolder::Unlisted, Some(handle)) if through => Some(handle),
            _ => None,
        };
        if !out_only && watched.listing.has_unlisted() {
            // Files published without a stat: their metadata, to compare.
            watched.listing = Listing::of(dir).map_err(|e| Error::io("cannot read", dir, e))?;
        }
        if handle.is_none() {
            fs::create_dir_all(&out_dir).map_err(|e| Error::io("cannot create", &out_dir, e))?;
            empty_dir(&out_dir).map_err(|e| Error::io("cannot clean", &out_dir, e))?;
            remove_if_present(&stats_file)
                .map_err(|e| Error::io("cannot clean", &stats_file, e))?;
            // Kept open to list it on the fresh path from now on.
            if out_only {
                handle = fs::File::open(&out_dir).ok();
            }
        }
        let params = block.description.params.to_string();
        let seed = BlockSeed::derive(self.pipeline.seed, block.name(), id);
        let mut ctx = SampleContext {
            sample_id: id,
            block: block.name(),
            seed,
            rng: seed.rng(),
            sample_dir: dir,
            out_dir: &out_dir,
            scratch_dir: &attempt_dir,
            stats_file: &stats_file,
            config_dir: &self.pipeline.config_dir,
            params_json: &params,
            timeout: block.timeout,
            stats: Stats::new(),
            data: None,
            log_used: std::cell::Cell::new(false),
            written: Default::default(),
            out_folder: handle.as_ref().map(AsFd::as_fd),
        };
        let outcome = run_and_validate(block, &mut ctx);
        let stats = std::mem::take(&mut ctx.stats);
        let log_used = ctx.log_used.get();
        let mut left = OutLeft::Unknown;
        let written = (out_only, std::mem::take(&mut ctx.written));
        let result = self.conclude(
            outcome,
            (&out_dir, handle.as_ref(), &written),
            dir,
            index,
            watched,
            stats,
            &mut left,
        );
        // Emptied after every attempt; known empty if publishing moved out
        // everything there was.
        let now = match left {
            OutLeft::Nothing => OutFolder::Empty,
            OutLeft::Unlisted => OutFolder::Unlisted,
            OutLeft::Unknown => match empty_dir(&out_dir) {
                Ok(()) => OutFolder::Empty,
                Err(_) => OutFolder::Unknown,
            },
        };
        if out_only {
            self.out_folders.put(worker, now, handle);
        }
        if log_used {
            let log = attempt_dir.join(crate::block::ATTEMPT_LOG);
            if matches!(result, Ok((BlockStatus::Failed, ..))) {
                failure_log::keep(self.dataset, id, block.name(), &log);
            }
            let _ = fs::remove_file(&log);
        }
        result
    }

    /// After a block ran: a disk condition stops the run; a change to the
    /// sample folder fails the sample (not looked for after a block that
    /// writes only its out folder); else the outputs are published, and
    /// `left` says what publishing left in the out folder. `written` is
    /// whether the block writes only its out folder (so what it wrote
    /// through the context is trusted) and what it wrote so.
    #[allow(clippy::too_many_arguments)]
    fn conclude(
        &self,
        outcome: std::result::Result<(), Failure>,
        (out_dir, out_handle, written): (&Path, Option<&fs::File>, &(bool, WrittenOutputs)),
        dir: &Path,
        index: usize,
        watched: &mut Watched,
        stats: Stats,
        left: &mut OutLeft,
    ) -> Result<Attempt> {
        watched.published.clear();
        let listing = &mut watched.listing;
        let block = &self.pipeline.blocks[index];
        if let Err(failure) = &outcome {
            let code = failure
                .os_error
                .filter(|&c| crate::disk::condition_of_code(c).is_some());
            let code = code.or_else(|| crate::disk::is_full(out_dir).then_some(libc::ENOSPC));
            if let Some(code) = code {
                let error = io::Error::from_raw_os_error(code);
                return Err(Error::io(
                    "cannot stage the outputs of a block in",
                    out_dir,
                    error,
                ));
            }
        }
        if !block.instance.writes_only_out_dir() {
            let after = Listing::of(dir).map_err(|e| Error::io("cannot read", dir, e))?;
            if let Some((reason, spoiled)) = changes(&self.pipeline.blocks, index, listing, &after)
            {
                *listing = after;
                return Ok((BlockStatus::Failed, Some(reason), stats, spoiled, false));
            }
        }
        match outcome {
            Err(failure) => Ok((
                failure.status,
                Some(one_line(&failure.reason)),
                stats,
                None,
                failure.retryable,
            )),
            Ok(()) => match publish(
                (out_dir, out_handle),
                written,
                &watched.folder,
                block,
                self.durable,
                left,
            ) {
                Ok(Ok(published)) => {
                    for (item, output) in published {
                        listing.add_published(&output.path, item);
                        watched.published.push(output);
                    }
                    Ok((BlockStatus::Ok, None, stats, None, false))
                }
                Ok(Err(reason)) => Ok((BlockStatus::Failed, Some(reason), stats, None, true)),
                Err(e) => Err(Error::io("cannot publish outputs into", dir, e)),
            },
        }
    }
}

/// What [`Executor::attempt`] returns: status, reason, statistics, the
/// earliest block whose files the attempt changed, and whether another
/// attempt could succeed.
type Attempt = (BlockStatus, Option<String>, Stats, Option<usize>, bool);

/// The end of a sample cut short by the run's stop before block `block`
/// finished: what is done is recorded, the rest is left for the next run.
fn stopped(
    dir: &Path,
    record: &SampleRecord,
    unwritten: bool,
    block: usize,
) -> Result<SampleOutcome> {
    if unwritten {
        write_record(dir, record).map_err(|e| Error::io("cannot write the record in", dir, e))?;
    }
    if record.blocks.is_empty() {
        // A folder made for this run alone; removed only if empty.
        let _ = fs::remove_dir(dir);
    }
    Ok(SampleOutcome::Stopped { block })
}

/// A failed or rejected attempt.
pub(crate) struct Failure {
    /// Failed or rejected.
    pub(crate) status: BlockStatus,
    /// Why.
    pub(crate) reason: String,
    /// The OS error the block failed with, if it said.
    os_error: Option<i32>,
    /// Whether another attempt could succeed.
    retryable: bool,
}

impl Failure {
    fn new(status: BlockStatus, reason: String) -> Self {
        Self {
            status,
            reason,
            os_error: None,
            retryable: true,
        }
    }
}

/// Runs a block and its validation; `Err` carries the status and reason.
pub(crate) fn run_and_validate(
    block: &PipelineBlock,
    ctx: &mut SampleContext<'_>,
) -> std::result::Result<(), Failure> {
    let started = Instant::now();
    let ran = panic::catch_unwind(AssertUnwindSafe(|| block.instance.run(ctx)));
    match ran {
        Err(payload) => return Err(Failure::new(BlockStatus::Failed, panic_message(&*payload))),
        Ok(Err(error)) => {
            let status = if error.is_rejection() {
                BlockStatus::Rejected
            } else {
                BlockStatus::Failed
            };
            return Err(Failure {
                status,
                reason: error.reason().to_owned(),
                os_error: error.os_error(),
                retryable: error.is_retryable(),
            });
        }
        Ok(Ok(())) => {}
    }
    if let Some(limit) = block.timeout {
        if started.elapsed() > limit {
            let reason = format!("timed out after {} s", limit.as_secs_f64());
            return Err(Failure::new(BlockStatus::Failed, reason));
        }
    }
    if let Some(reason) = missing_output(block, ctx) {
        return Err(Failure::new(BlockStatus::Failed, reason));
    }
    match panic::catch_unwind(AssertUnwindSafe(|| block.instance.validate(ctx))) {
        Err(payload) => Err(Failure::new(BlockStatus::Failed, panic_message(&*payload))),
        Ok(Err(rejection)) => Err(Failure::new(BlockStatus::Rejected, rejection.0)),
        Ok(Ok(())) => Ok(()),
    }
}

/// Why a required output of `block` is missing after its `run`, if one is.
/// An output written through the context (by a block that writes only its
/// out folder) is there without a look at the disk; for a block that
/// writes only through the context, nothing else counts.
fn missing_output(block: &PipelineBlock, ctx: &SampleContext<'_>) -> Option<String> {
    let trusted = block.instance.writes_only_out_dir();
    let through = trusted && block.instance.writes_only_through_context();
    let written = &ctx.written;
    let pattern = block.outputs.required.iter().find(|pattern| {
        let known = trusted && written.finished.keys().any(|name| pattern.matches(name));
        !known && (through || !pattern.present_in(ctx.out_dir()))
    })?;
    let missing = pattern.text();
    if through {
        let how = match written.open.iter().any(|name| pattern.matches(name)) {
            true => "created with create_output but never given to finish_output",
            false => "the block writes its outputs only through create_output/write_output",
        };
        return Some(format!("missing required output '{missing}' ({how})"));
    }
    Some(match fs::symlink_metadata(ctx.out_dir().join(missing)) {
        Ok(meta) => not_regular(missing, &meta.file_type()),
        Err(_) => format!("missing required output '{missing}'"),
    })
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    format!("block panicked: {text}")
}

fn one_line(reason: &str) -> String {
    reason.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn failure_of(states: &[BlockState]) -> Option<String> {
    states
        .iter()
        .find_map(|s| s.failure_reason().map(str::to_owned))
}

/// Moves the declared outputs of `block` from `out_dir` into the sample folder;
/// anything else the block wrote is left behind and discarded. Outputs must
/// be regular files, and no path in the sample folder is followed through a
/// symlink (see [`crate::safe_fs`]). `Ok(Err(reason))` fails the sample;
/// on success, the published files with their metadata, sizes and digests
/// (sorted by path).
///
/// Each file is hashed just before its rename, while the block's writes are
/// still in the page cache, unless it was written through the context
/// (`written`, trusted when the block writes only its out folder): its size
/// and digest were counted as it was written. With `durable`, each file is
/// fsynced before its rename, and every folder that gained a name after it.
///
/// The out folder is walked to find the outputs, without a syscall per entry
/// (the entries' `d_type`; through `out_handle`, the out folder kept open,
/// if given), and `left` becomes [`OutLeft::Nothing`] when everything in it
/// was published. A block that writes only through the context is not
/// walked: what it wrote through the context is published, and `left`
/// becomes [`OutLeft::Unlisted`].
fn publish(
    (out_dir, out_handle): (&Path, Option<&fs::File>),
    (trusted, written): &(bool, WrittenOutputs),
    sample: &Dir,
    block: &PipelineBlock,
    durable: bool,
    left: &mut OutLeft,
) -> io::Result<std::result::Result<Vec<(Item, OutputFile)>, String>> {
    let outputs = &block.outputs;
    let through = *trusted && block.instance.writes_only_through_context();
    // Each output, with its size and digest when written through the context.
    let mut staged: Vec<(String, Option<&FileDigest>)> = Vec::new();
    let mut rest = !written.open.is_empty();
    if through {
        for (relative, found) in &written.finished {
            match outputs.matches(relative) {
                true => staged.push((relative.clone(), Some(found))),
                false => rest = true,
            }
        }
    } else {
        let (files, more) = match out_handle {
            Some(handle) => walk_is_file_at(out_dir, handle)?,
            None => walk_is_file(out_dir)?,
        };
        rest |= more;
        for (relative, is_file) in files {
            let relative = relative.to_string_lossy().into_owned();
            if !outputs.matches(&relative) {
                rest = true;
                continue;
            }
            if !is_file {
                // Only on this failure path: which kind, for the reason.
                let file_type = fs::symlink_metadata(out_dir.join(&relative))?.file_type();
                return Ok(Err(not_regular(&relative, &file_type)));
            }
            let found = written.finished.get(&relative).filter(|_| *trusted);
            staged.push((relative, found));
        }
    }
    if let Some(missing) = outputs
        .required
        .iter()
        .find(|p| !staged.iter().any(|s| p.matches(&s.0)))
    {
        return Ok(Err(format!(
            "missing required output '{}' (as a regular file)",
            missing.text()
        )));
    }
    let mut published = Vec::with_capacity(staged.len());
    let mut folders = std::collections::BTreeSet::new();
    for (relative, known) in staged {
        let from = out_dir.join(&relative);
        let (item, found) = match known {
            Some(found) => {
                if durable {
                    crate::file_digest::open_no_follow(&from)?.sync_data()?;
                }
                (Item::Unlisted, found.clone())
            }
            None => match digest_staged(&from, &relative, durable, !*trusted)? {
                Ok(done) => done,
                Err(reason) => return Ok(Err(reason)),
            },
        };
        let (parent, name) = match relative.rsplit_once('/') {
            Some((parent, name)) => (Some(parent), name),
            None => (None, relative.as_str()),
        };
        let nested;
        let target = match parent {
            None => sample,
            Some(parent) => match sample.create_path(parent) {
                Ok(dir) => {
                    nested = dir;
                    &nested
                }
                Err(e) if is_not_a_folder(&e) => {
                    return Ok(Err(format!(
                        "cannot publish '{relative}': '{parent}' in the sample folder is not a \
                         folder ({e})"
                    )))
                }
                Err(e) => return Err(e),
            },
        };
        if durable {
            folders.extend(parent.map(str::to_owned));
        }
        let renamed = match (known, out_handle) {
            // Written through the context relative to the out folder's
            // descriptor: renamed from it too (a shorter path walk).
            (Some(_), Some(handle)) if parent.is_none() => {
                target.rename_from(handle.as_fd(), name.as_ref(), name.as_ref())
            }
            _ => target.rename_into(&from, name.as_ref()),
        };
        match renamed {
            Ok(()) => published.push((
                item,
                OutputFile {
                    path: relative,
                    size: found.size,
                    digest: found.digest,
                },
            )),
            Err(e) if is_not_a_folder(&e) => {
                return Ok(Err(format!("cannot publish '{relative}': {e}")))
            }
            Err(e) => return Err(e),
        }
    }
    if durable {
        // Deepest first, the sample folder last: each name a rename or a
        // mkdir made is on disk before the record can vouch for it.
        let mut chain: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        for folder in &folders {
            let mut at = folder.as_str();
            chain.insert(at.to_owned());
            while let Some((up, _)) = at.rsplit_once('/') {
                chain.insert(up.to_owned());
                at = up;
            }
        }
        for folder in chain.iter().rev() {
            sample.create_path(folder)?.sync()?;
        }
        sample.sync()?;
    }
    published.sort_by(|a, b| a.1.path.cmp(&b.1.path));
    // Empty now if every entry was an output and no folder held one.
    if !rest && !published.iter().any(|p| p.1.path.contains('/')) {
        *left = match through {
            true => OutLeft::Unlisted,
            false => OutLeft::Nothing,
        };
    }
    Ok(Ok(published))
}

/// Opens a staged output without following a symlink, checks it is a
/// regular file and reads it back for its size and digest (fsynced with
/// `durable`): `Ok(Err(reason))` if it is no regular file.
///
/// Without `check` (a block that writes only its out folder, so nothing can
/// have replaced the regular file its directory entry showed), the file is
/// read to its end without an `fstat`, and its listing entry is
/// [`Item::Unlisted`].
fn digest_staged(
    from: &Path,
    relative: &str,
    durable: bool,
    check: bool,
) -> io::Result<std::result::Result<(Item, FileDigest), String>> {
    let mut file = match crate::file_digest::open_no_follow(from) {
        Ok(file) => file,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            let file_type = fs::symlink_metadata(from)?.file_type();
            return Ok(Err(not_regular(relative, &file_type)));
        }
        Err(e) => return Err(e),
    };
    let item = match check {
        false => Item::Unlisted,
        true => {
            let meta = file.metadata()?;
            if !meta.is_file() {
                return Ok(Err(not_regular(relative, &meta.file_type())));
            }
            Item::of(&meta)
        }
    };
    let found = crate::file_digest::digest_file(&mut file)?;
    if durable {
        file.sync_data()?;
    }
    Ok(Ok((item, found)))
}

/// Creates the sample folder `dir` (and its bucket folder if need be);
/// `true` if it was made now, so is empty, `false` if it was there.
fn create_sample_dir(dir: &Path) -> io::Result<bool> {
    let made = match fs::create_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dir.parent().unwrap_or(dir))?;
            fs::create_dir(dir)
        }
        made => made,
    };
    match made {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Fsyncs the folders from `dir`'s parent up to `root`, included, so that a
/// sample folder just created is named on disk (`--durable`).
fn sync_ancestors(dir: &Path, root: &Path) -> io::Result<()> {
    let mut at = dir.parent();
    while let Some(folder) = at {
        crate::dataset::atomic::sync_dir(folder)?;
        if folder == root {
            break;
        }
        at = folder.parent();
    }
    Ok(())
}

fn not_regular(relative: &str, file_type: &fs::FileType) -> String {
    format!(
        "output '{relative}' is a {}; outputs must be regular files (no symlinks, fifos, \
         sockets or devices)",
        kind_name(file_type)
    )
}

/// Removes every file below `dir` that is an output of one of `blocks`.
fn remove_outputs(dir: &Path, blocks: &[PipelineBlock]) -> io::Result<()> {
    for relative in relative_files(dir)? {
        if blocks.iter().any(|b| b.outputs.matches(&relative)) {
            remove_if_present(&dir.join(&relative))?;
        }
    }
    Ok(())
}

/// Removes everything inside `dir` (usually nothing: outputs were moved out).
fn empty_dir(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            fs::remove_dir_all(entry.path())?;
        } else {
            remove_if_present(&entry.path())?;
        }
    }
    Ok(())
}

/// Temp files of interrupted atomic writes (e.g. a torn record) are garbage.
fn remove_atomic_temps(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for entry in entries.flatten() {
            if is_atomic_temp(&entry.file_name()) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// Paths of all files below `dir` (anything but folders, symlinks included,
/// never followed), relative to it, with `/` separators.
fn relative_files(dir: &Path) -> io::Result<Vec<String>> {
    Ok(walk_is_file(dir)?
        .0
        .into_iter()
        .map(|(relative, _)| relative.to_string_lossy().into_owned())
        .collect())
}
