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
//! So a file in a sample folder is always complete, and a block counts as
//! done only once all its files are in place. When runs share the dataset,
//! all of this happens under the sample's claim, taken before the sample is
//! re-planned from disk and released after its record is written (see
//! [`crate::dataset::claim`]). `execute` never prints: it tells an [`Observer`].

use std::fs;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::block::{SampleContext, Stats};
use crate::dataset::atomic::{is_atomic_temp, remove_if_present};
use crate::dataset::claim::{Claim, Claims};
use crate::dataset::failure_log;
use crate::dataset::record::{
    read_record, write_record, BlockRecord, BlockStatus, RecordRead, SampleRecord,
};
use crate::dataset::safe_fs::{is_not_a_folder, kind_name, Dir};
use crate::dataset::sample_guard::{changes, Item, Listing, Watched};
use crate::dataset::state::{BlockState, StateJudge};
use crate::dataset::walk::{walk, FileKind};
use crate::dataset::Dataset;
use crate::engine::plan::{plan_sample, PlanOptions, SamplePlan};
use crate::error::{Error, Result};
use crate::layout::sample_dir_name;
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
            judge: StateJudge::new(descriptions.clone()),
            descriptions,
            options,
            staging,
            claims: None,
        }
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
            None => read_record(&dir, id),
            Some(_) => RecordRead::Absent,
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
                fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", &dir, e))?;
                remove_atomic_temps(&dir);
                let mut record = record.take().unwrap_or_else(|| SampleRecord::new(id));
                if let Some(first) = reset_from {
                    self.reset(&dir, &mut record, first)?;
                    listing = None;
                }
                let listing = match listing {
                    Some(listing) => listing,
                    None => Listing::of(&dir).map_err(|e| Error::io("cannot read", &dir, e))?,
                };
                let folder = Dir::open(&dir).map_err(|e| Error::io("cannot open", &dir, e))?;
                let mut watched = Watched { folder, listing };
                let indices = steps.iter().map(|s| s.0);
                let outcome =
                    self.run_steps(id, &dir, &mut record, indices, &mut watched, observer)?;
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
            write_record(dir, record)
                .map_err(|e| Error::io("cannot write the record in", dir, e))?;
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
    ) -> Result<SampleOutcome> {
        let mut last_write = Instant::now();
        let mut unwritten = false;
        for index in steps {
            let block = &self.pipeline.blocks[index];
            let started = Instant::now();
            let (status, reason, stats, spoiled) = self.attempt(id, dir, index, watched)?;
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
                    reason: reason.clone(),
                    stats,
                },
            );
            unwritten = true;
            if status != BlockStatus::Ok || last_write.elapsed() >= CHECKPOINT_INTERVAL {
                write_record(dir, record)
                    .map_err(|e| Error::io("cannot write the record in", dir, e))?;
                (last_write, unwritten) = (Instant::now(), false);
            }
            observer.block_finished(id, block.name(), status, seconds);
            if status != BlockStatus::Ok {
                return Ok(SampleOutcome::Failed {
                    block: index,
                    rejected: status == BlockStatus::Rejected,
                    reason: reason.unwrap_or_default(),
                });
            }
        }
        if unwritten {
            write_record(dir, record)
                .map_err(|e| Error::io("cannot write the record in", dir, e))?;
        }
        Ok(SampleOutcome::Completed)
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
        fs::create_dir_all(&out_dir).map_err(|e| Error::io("cannot create", &out_dir, e))?;
        empty_dir(&out_dir).map_err(|e| Error::io("cannot clean", &out_dir, e))?;
        remove_if_present(&stats_file).map_err(|e| Error::io("cannot clean", &stats_file, e))?;
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
        };
        let outcome = run_and_validate(block, &mut ctx);
        let stats = std::mem::take(&mut ctx.stats);
        let result = self.conclude(outcome, &out_dir, dir, index, watched, stats);
        let _ = empty_dir(&out_dir);
        if ctx.log_used.get() {
            let log = attempt_dir.join(crate::block::ATTEMPT_LOG);
            if matches!(result, Ok((BlockStatus::Failed, ..))) {
                failure_log::keep(self.dataset, id, block.name(), &log);
            }
            let _ = fs::remove_file(&log);
        }
        result
    }

    /// After a block ran: a disk condition stops the run; a change to the
    /// sample folder fails the sample; else the outputs are published.
    fn conclude(
        &self,
        outcome: std::result::Result<(), Failure>,
        out_dir: &Path,
        dir: &Path,
        index: usize,
        watched: &mut Watched,
        stats: Stats,
    ) -> Result<Attempt> {
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
        let after = Listing::of(dir).map_err(|e| Error::io("cannot read", dir, e))?;
        if let Some((reason, spoiled)) = changes(&self.pipeline.blocks, index, listing, &after) {
            *listing = after;
            return Ok((BlockStatus::Failed, Some(reason), stats, spoiled));
        }
        match outcome {
            Err(failure) => Ok((failure.status, Some(one_line(&failure.reason)), stats, None)),
            Ok(()) => match publish(out_dir, &watched.folder, block) {
                Ok(Ok(published)) => {
                    for (relative, item) in published {
                        listing.add_published(&relative, item);
                    }
                    Ok((BlockStatus::Ok, None, stats, None))
                }
                Ok(Err(reason)) => Ok((BlockStatus::Failed, Some(reason), stats, None)),
                Err(e) => Err(Error::io("cannot publish outputs into", dir, e)),
            },
        }
    }
}

/// What [`Executor::attempt`] returns: status, reason, statistics, and the
/// earliest block whose files the attempt changed.
type Attempt = (BlockStatus, Option<String>, Stats, Option<usize>);

/// A failed or rejected attempt.
struct Failure {
    status: BlockStatus,
    reason: String,
    /// The OS error the block failed with, if it said.
    os_error: Option<i32>,
}

impl Failure {
    fn new(status: BlockStatus, reason: String) -> Self {
        Self {
            status,
            reason,
            os_error: None,
        }
    }
}

/// Runs a block and its validation; `Err` carries the status and reason.
fn run_and_validate(
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
    if let Some(missing) = block.outputs.first_missing(ctx.out_dir()) {
        let reason = match fs::symlink_metadata(ctx.out_dir().join(&missing)) {
            Ok(meta) => not_regular(&missing, &meta.file_type()),
            Err(_) => format!("missing required output '{missing}'"),
        };
        return Err(Failure::new(BlockStatus::Failed, reason));
    }
    match panic::catch_unwind(AssertUnwindSafe(|| block.instance.validate(ctx))) {
        Err(payload) => Err(Failure::new(BlockStatus::Failed, panic_message(&*payload))),
        Ok(Err(rejection)) => Err(Failure::new(BlockStatus::Rejected, rejection.0)),
        Ok(Ok(())) => Ok(()),
    }
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
/// on success, the published files with their metadata.
fn publish(
    out_dir: &Path,
    sample: &Dir,
    block: &PipelineBlock,
) -> io::Result<std::result::Result<Vec<(String, Item)>, String>> {
    let mut staged = Vec::new();
    for (relative, kind) in relative_files(out_dir)? {
        if !block.outputs.matches(&relative) {
            continue;
        }
        if !matches!(kind, FileKind::File { .. }) {
            // Only on this failure path: which kind, for the reason.
            let file_type = fs::symlink_metadata(out_dir.join(&relative))?.file_type();
            return Ok(Err(not_regular(&relative, &file_type)));
        }
        staged.push(relative);
    }
    if let Some(missing) = block
        .outputs
        .required
        .iter()
        .find(|p| !staged.iter().any(|s| p.matches(s)))
    {
        return Ok(Err(format!(
            "missing required output '{}' (as a regular file)",
            missing.text()
        )));
    }
    let mut published = Vec::with_capacity(staged.len());
    for relative in staged {
        let from = out_dir.join(&relative);
        let meta = fs::symlink_metadata(&from)?;
        if !meta.is_file() {
            return Ok(Err(not_regular(&relative, &meta.file_type())));
        }
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
        match target.rename_into(&from, name.as_ref()) {
            Ok(()) => published.push((relative, Item::of(&meta))),
            Err(e) if is_not_a_folder(&e) => {
                return Ok(Err(format!("cannot publish '{relative}': {e}")))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Ok(published))
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
    for (relative, _) in relative_files(dir)? {
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
/// never followed), relative to it, with `/` separators, and what they are.
fn relative_files(dir: &Path) -> io::Result<Vec<(String, FileKind)>> {
    Ok(walk(dir)?
        .into_iter()
        .map(|f| (f.relative.to_string_lossy().into_owned(), f.kind))
        .collect())
}
