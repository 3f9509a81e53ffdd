//! `shardgen run`: config -> plan -> execute -> record -> aggregate, in two
//! steps so that a caller can show the plan before anything is written:
//!
//! 1. [`prepare`] checks everything that can be wrong with the command
//!    (config, flags, a dataset of another seed) and scans the dataset. It
//!    creates and changes nothing, so an error here always means "nothing
//!    changed" (exit 2), and `--dry-run` stops after it.
//! 2. [`PreparedRun::execute`] runs the planned samples, writes the run log,
//!    then the statistics pass, and returns a [`RunReport`]. Progress goes
//!    to the caller's [`RunObserver`] as [`RunEvent`]s; the engine prints
//!    nothing, and the counts it reports and logs are its own tally.

use std::fs;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

use crate::block::Registry;
use crate::dataset::claim::{resolve_lease, Claim, Claims};
use crate::dataset::record::BlockStatus;
use crate::dataset::runlog::{FailedAttempt, RunCounts, RunLog};
use crate::dataset::staging::{clean_dead_staging, staging_dir};
use crate::dataset::state::StateJudge;
use crate::dataset::statistics_stamp::{is_current, StatisticsStamp};
use crate::dataset::timings::TimingsJournal;
use crate::dataset::Dataset;
use crate::engine::accept::{AcceptJob, AcceptReport};
use crate::engine::adopt::{self, Adopted};
use crate::engine::execute::{Executor, Observer, SampleOutcome};
use crate::engine::known_samples::KnownSamples;
use crate::engine::plan::{FailureFilter, PlanOptions, PlanSummary, RunReason};
use crate::engine::queue::SampleQueue;
use crate::engine::scan::{resolve_targets, scan, SampleSelection, ScanCounts, Targets};
use crate::engine::tally::RunTally;
use crate::error::{Error, Result, UsageError};
use crate::layout::{PLOTS_DIR, STATISTICS_CSV, STATISTICS_YAML};
use crate::pipeline::config;
use crate::pipeline::description::PipelineManifest;
use crate::pipeline::fingerprint::explain_changes;
use crate::pipeline::Pipeline;
use crate::process::{now_rfc3339, thread_pool, RunId};
use crate::ranges::RangeSet;

/// The `format` of a run report: its schema and version.
pub const RUN_REPORT_FORMAT: &str = "shardgen-run/1";

/// Everything `shardgen run` was asked, free of any CLI parsing.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// The config file.
    pub config: PathBuf,
    /// The dataset folder.
    pub out: PathBuf,
    /// The samples to work on.
    pub selection: SampleSelection,
    /// Worker threads (`None`: all cores).
    pub jobs: Option<usize>,
    /// `--force-run-blocks`.
    pub force_run: Vec<String>,
    /// `--do-not-retry-blocks`.
    pub do_not_retry: Vec<String>,
    /// `--rerun-failed`: a regex; only samples whose recorded reason it
    /// matches run.
    pub rerun_failed: Option<String>,
    /// `--accept-changes`: record new fingerprints, run nothing.
    pub accept_changes: Vec<String>,
    /// `--adopt`: take over a dataset folder whose `.shardgen/` was lost.
    pub adopt: bool,
    /// `--max-failures`: start no new sample once this many failed in this
    /// run (rejections do not count).
    pub max_failures: Option<u64>,
    /// `--retries`: retry failed attempts of every block up to this many
    /// times (overrides each block's `retries:`).
    pub retries: Option<u32>,
    /// Only aggregate statistics.
    pub statistics_only: bool,
    /// `--dry-run`: the caller stops after the plan, so the scan keeps
    /// nothing for a statistics pass.
    pub dry_run: bool,
    /// `--verify`: read every recorded output of the targeted samples and
    /// treat one whose digest differs as missing, so its block and those
    /// after it are redone.
    pub verify: bool,
    /// `--durable`: fsync outputs, records and their folders before a block
    /// counts as done.
    pub durable: bool,
    /// `--claim-lease`: when another host's claim counts as stale.
    pub claim_lease: Option<Duration>,
    /// The command line, for the run log.
    pub command_line: Vec<String>,
}

/// What happens during [`PreparedRun::execute`], in this order: `Started`,
/// then for each sample some `BlockFinished` and one `SampleFinished` (from
/// many threads at once), then `SamplesDone`, then the statistics pass.
#[derive(Debug)]
pub enum RunEvent<'a> {
    /// Samples are about to run.
    Started {
        /// How many samples have work.
        samples: u64,
        /// The pipeline's block names.
        blocks: &'a [String],
    },
    /// A block finished on a sample.
    BlockFinished {
        /// The sample.
        sample: u64,
        /// The block's name.
        block: &'a str,
        /// How it ended.
        status: BlockStatus,
        /// Its wall time.
        seconds: f64,
    },
    /// A sample is done for this run.
    SampleFinished {
        /// The sample.
        sample: u64,
        /// How it ended.
        outcome: &'a SampleOutcome,
    },
    /// A damaged sample folder (a symlink, a file, an unusable record
    /// folder) was moved aside into the bookkeeping; the sample is redone.
    SampleSetAside {
        /// The sample.
        sample: u64,
        /// What was wrong.
        why: &'a str,
        /// Where it now is.
        to: &'a std::path::Path,
    },
    /// Every sample is done; the statistics pass comes next.
    SamplesDone {
        /// What the samples did.
        tally: &'a RunTally,
        /// Wall time so far.
        elapsed: Duration,
    },
}

/// Receives a run's [`RunEvent`]s, from many threads at once.
pub trait RunObserver: Sync {
    /// Called for every event.
    fn event(&self, event: RunEvent<'_>);
}

/// An observer that ignores everything: a quiet run.
pub struct Quiet;

impl RunObserver for Quiet {
    fn event(&self, _event: RunEvent<'_>) {}
}

/// The plan of a run: what the scan found, per block and reason.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The targets in words, with the dataset folder.
    pub target: String,
    /// The pipeline's block names.
    pub blocks: Vec<String>,
    /// Per block, what changed in its declaration since the dataset's last
    /// pipeline, if anything.
    pub changes: Vec<Option<String>>,
    /// The scan's counts and ranges.
    pub summary: PlanSummary,
    /// What the scan cost: folders listed, records read.
    pub scan: ScanCounts,
}

impl Serialize for Plan {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Reason<'a> {
            reason: &'static str,
            change: Option<&'a str>,
            count: u64,
            samples: &'a RangeSet,
        }
        #[derive(Serialize)]
        struct Block<'a> {
            block: &'a str,
            to_run: u64,
            reasons: Vec<Reason<'a>>,
            not_retried: Option<&'a RangeSet>,
            rejected_final: Option<&'a RangeSet>,
        }
        #[derive(Serialize)]
        struct Json<'a> {
            target: &'a str,
            targeted: u64,
            already_complete: &'a RangeSet,
            blocks: Vec<Block<'a>>,
            damaged: &'a RangeSet,
            not_selected: &'a RangeSet,
            scan: ScanCounts,
        }
        let summary = &self.summary;
        let blocks = self
            .blocks
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let reasons: Vec<Reason<'_>> = summary
                    .runs
                    .get(&index)
                    .into_iter()
                    .flatten()
                    .map(|(reason, samples)| Reason {
                        reason: reason.label(),
                        change: match reason {
                            RunReason::Stale => self.changes.get(index).and_then(|c| c.as_deref()),
                            _ => None,
                        },
                        count: samples.len(),
                        samples,
                    })
                    .collect();
                Block {
                    block: name,
                    to_run: self.to_run(index),
                    reasons,
                    not_retried: summary.not_retried.get(&index),
                    rejected_final: summary.rejected.get(&index),
                }
            })
            .collect();
        Json {
            target: &self.target,
            targeted: summary.targeted,
            already_complete: &summary.complete,
            blocks,
            damaged: &summary.damaged,
            not_selected: &summary.not_selected,
            scan: self.scan,
        }
        .serialize(serializer)
    }
}

impl Plan {
    /// How many samples block `index` runs on.
    pub fn to_run(&self, index: usize) -> u64 {
        let mut all = RangeSet::new();
        for ids in self
            .summary
            .runs
            .get(&index)
            .into_iter()
            .flat_map(|r| r.values())
        {
            ids.ranges().for_each(|range| all.insert_range(range));
        }
        all.len()
    }
}

/// What the statistics pass did at the end of a run.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StatisticsOutcome {
    /// The files were written.
    Written {
        /// Samples aggregated (every block complete).
        complete: u64,
        /// Samples looked at.
        seen: u64,
        /// Records the pass read from disk: the samples the run neither
        /// scanned and left alone nor wrote (all of them with
        /// `--statistics-only`, or after another run started or ended
        /// meanwhile).
        records_read: u64,
        /// Chart files written.
        plots: usize,
        /// `statistics.yaml`.
        statistics: PathBuf,
        /// `statistics.csv`.
        table: PathBuf,
        /// `plots/`.
        plots_dir: PathBuf,
        /// `report.html`.
        report: PathBuf,
        /// Charts drawn without data, and why.
        warnings: Vec<String>,
    },
    /// Nothing changed since the files were written (the scan read every
    /// sample, the run ran none, and the stamp of the last pass agrees):
    /// they were left as they are.
    Unchanged,
    /// Another run has held the statistics turn for a whole lease.
    Skipped {
        /// That run's id.
        holder: String,
    },
}

/// What a run did: the plan, the counts, the failures, the files written.
/// `--json` prints it as one object (schema in the README).
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// [`RUN_REPORT_FORMAT`].
    pub format: &'static str,
    /// The dataset folder.
    pub dataset: PathBuf,
    /// The config file.
    pub config: PathBuf,
    /// Nothing ran: `--dry-run`.
    pub dry_run: bool,
    /// Only the statistics pass ran: `--statistics-only`.
    pub statistics_only: bool,
    /// The plan, unless `--statistics-only`.
    pub plan: Option<Plan>,
    /// Counts and failures of the samples that ran.
    #[serde(flatten)]
    pub tally: RunTally,
    /// Wall time of the samples, in seconds.
    pub elapsed_seconds: f64,
    /// This run's log, if it wrote one.
    pub run_log: Option<PathBuf>,
    /// The statistics pass, if it ran.
    pub statistics: Option<StatisticsOutcome>,
    /// What `--accept-changes` recorded (or would, on a dry run).
    pub accepted: Option<AcceptReport>,
    /// What `--adopt` found, when it took over a folder.
    pub adopted: Option<Adopted>,
}

/// A checked and scanned run, ready to execute: the result of [`prepare`].
pub struct PreparedRun {
    pipeline: Pipeline,
    options: RunOptions,
    manifest: Option<PipelineManifest>,
    plan_options: PlanOptions,
    targets: Targets,
    pool: rayon::ThreadPool,
    lease: Duration,
    plan: Option<Plan>,
    work: RangeSet,
    /// The statistics files are those of this dataset as scanned.
    statistics_current: bool,
    adopted: Option<Adopted>,
    /// What the scan read of the samples it leaves alone, for the
    /// statistics pass (none on a dry run or with `--verify`).
    known: Option<KnownSamples>,
}

/// Loads the config, checks the flags and the dataset, and scans the
/// targeted samples. Creates and changes nothing.
pub fn prepare(registry: &Registry, options: &RunOptions) -> Result<PreparedRun> {
    crate::pipeline::bounds::check_utf8_paths(&[
        ("config", &options.config),
        ("--out", &options.out),
    ])?;
    let pipeline = config::load(&options.config, registry)?;
    if !options.statistics_only && options.accept_changes.is_empty() {
        crate::pipeline::programs::check_programs(&pipeline)?;
    }
    let plan_options = plan_options(&pipeline, options)?;
    let lease = resolve_lease(options.claim_lease)?;
    let dataset = Dataset::new(&options.out);
    let adopted = match options.adopt {
        true => adopt::vouch(&pipeline, &dataset)?,
        false => None,
    };
    if adopted.is_none() {
        dataset.check_usable("--out")?;
    }
    let manifest = dataset.read_manifest()?;
    check_seed(&pipeline, manifest.as_ref(), &dataset)?;
    let explicit = options.selection.start.is_some()
        || options.selection.count.is_some()
        || options.selection.shard.is_some();
    let targets = resolve_targets(
        &pipeline,
        &dataset,
        &options.selection,
        explicit || !options.statistics_only,
    )?;
    let pool = thread_pool(options.jobs).map_err(UsageError::Threads)?;
    let mut prepared = PreparedRun {
        pipeline,
        options: options.clone(),
        manifest,
        plan_options,
        targets,
        pool,
        lease,
        plan: None,
        work: RangeSet::new(),
        statistics_current: false,
        adopted,
        known: None,
    };
    if !options.accept_changes.is_empty() {
        prepared.accept_job(&dataset).check()?;
    } else if !options.statistics_only {
        prepared.scan(&dataset)?;
    }
    Ok(prepared)
}

impl PreparedRun {
    /// The plan, unless `--statistics-only`.
    pub fn plan(&self) -> Option<&Plan> {
        self.plan.as_ref()
    }

    /// What `--adopt` found, when it takes over a folder.
    pub fn adopted(&self) -> Option<&Adopted> {
        self.adopted.as_ref()
    }

    /// The report of a run that stops here (`--dry-run`); reads only.
    pub fn dry_run_report(&self) -> Result<RunReport> {
        let mut report = self.report(RunTally::default());
        report.dry_run = true;
        if !self.options.accept_changes.is_empty() {
            let dataset = Dataset::new(&self.options.out);
            report.accepted = Some(self.accept_job(&dataset).dry_run()?);
        }
        Ok(report)
    }

    fn accept_job<'a>(&'a self, dataset: &'a Dataset) -> AcceptJob<'a> {
        AcceptJob {
            pipeline: &self.pipeline,
            manifest: self.manifest.as_ref(),
            dataset,
            targets: &self.targets,
            names: &self.options.accept_changes,
        }
    }

    /// `--accept-changes`: new fingerprints recorded under claims, logged.
    fn execute_accept(self) -> Result<RunReport> {
        let dataset = Dataset::new(&self.options.out);
        let run_id = RunId::new();
        let mut log = self.run_log(&run_id);
        log.samples = format!(
            "{}: accept changes of {}",
            self.targets.describe(),
            self.options.accept_changes.join(", ")
        );
        log.write(&dataset)?;
        let claims = Claims::start(&dataset, &run_id, self.lease, None);
        let outcome = self
            .pool
            .install(|| self.accept_job(&dataset).accept(&claims, &mut log));
        log.status = match &outcome {
            Ok(_) => "finished".to_owned(),
            Err(e) => format!("stopped: {e}"),
        };
        let log_path = log.write(&dataset)?;
        claims.finish();
        let mut report = self.report(RunTally::default());
        report.tally.counts = log.counts.clone();
        report.accepted = Some(outcome?);
        report.run_log = Some(log_path);
        Ok(report)
    }

    fn scan(&mut self, dataset: &Dataset) -> Result<()> {
        let descriptions = self.pipeline.descriptions();
        let judge = StateJudge::new(descriptions.clone()).verifying(self.plan_options.verify);
        let stamp = StatisticsStamp::new(
            &descriptions,
            &crate::statistics::plots_text(&self.pipeline.plots),
        );
        let mut known = (!self.options.dry_run && !self.plan_options.verify)
            .then(|| KnownSamples::start(dataset, &descriptions));
        let (summary, work, scan_counts, stamp) = self.pool.install(|| {
            scan(
                dataset,
                &judge,
                &descriptions,
                &self.plan_options,
                &self.targets,
                stamp,
                known.as_mut().map(KnownSamples::scan_spool),
            )
        })?;
        self.known = known;
        // Whether the statistics files are already those of this dataset:
        // only a scan that read every sample can tell, and only with the
        // same judgement as the statistics pass (no --verify).
        self.statistics_current = work.is_empty()
            && !self.plan_options.verify
            && stamp.is_some_and(|stamp| is_current(dataset, &stamp.finish(dataset)));
        let changes = match &self.manifest {
            Some(previous) => explain_changes(previous, &descriptions),
            None => vec![None; descriptions.len()],
        };
        self.plan = Some(Plan {
            target: format!(
                "{} in {}",
                self.targets.describe(),
                self.options.out.display()
            ),
            blocks: self.pipeline.block_names(),
            changes,
            summary,
            scan: scan_counts,
        });
        self.work = work;
        Ok(())
    }

    fn report(&self, mut tally: RunTally) -> RunReport {
        if let Some(plan) = &self.plan {
            tally.counts.targeted = plan.summary.targeted;
            tally.counts.already_complete += plan.summary.complete.len();
            tally.counts.rejected_final = plan.summary.rejected.values().map(RangeSet::len).sum();
            tally.counts.not_selected = plan.summary.not_selected.len();
        }
        RunReport {
            format: RUN_REPORT_FORMAT,
            dataset: self.options.out.clone(),
            config: self.options.config.clone(),
            dry_run: false,
            statistics_only: self.options.statistics_only,
            plan: self.plan.clone(),
            tally,
            elapsed_seconds: 0.0,
            run_log: None,
            statistics: None,
            accepted: None,
            adopted: self.adopted,
        }
    }

    /// Runs the planned samples and the statistics pass (or, with
    /// `--accept-changes`, records the new fingerprints and runs nothing).
    pub fn execute(self, observer: &dyn RunObserver) -> Result<RunReport> {
        if !self.options.accept_changes.is_empty() {
            return self.execute_accept();
        }
        if self.options.statistics_only {
            let dataset = Dataset::new(&self.options.out);
            let ids = match &self.targets {
                Targets::Present(ids) => ids.clone(),
                Targets::Range(range) => dataset.present_samples_in(*range)?,
            };
            let all_present = matches!(self.targets, Targets::Present(_))
                && self.options.selection.start.unwrap_or(0) == 0;
            let claims = Claims::start(&dataset, &RunId::new(), self.lease, None);
            let statistics = self.pool.install(|| {
                statistics_pass(&self.pipeline, &dataset, &ids, all_present, &claims, None)
            })?;
            let mut report = self.report(RunTally::default());
            report.statistics = Some(statistics);
            return Ok(report);
        }
        self.execute_samples(observer)
    }

    /// Creates the dataset if needed and runs the planned work.
    fn execute_samples(mut self, observer: &dyn RunObserver) -> Result<RunReport> {
        let out = &self.options.out;
        fs::create_dir_all(out).map_err(|e| Error::io("cannot create", out, e))?;
        let root = fs::canonicalize(out).map_err(|e| Error::io("cannot resolve", out, e))?;
        let dataset = Dataset::new(root);
        let current = self.pipeline.manifest();
        if self.manifest.as_ref() != Some(&current) {
            dataset.write_manifest(&current)?;
        }
        let run_id = RunId::new();
        let mut log = self.run_log(&run_id);
        log.write(&dataset)?;
        clean_dead_staging(&dataset, self.lease);
        let staging = staging_dir(&dataset, &run_id);
        fs::create_dir_all(&staging).map_err(|e| Error::io("cannot create", &staging, e))?;

        let started = Instant::now();
        crate::dataset::leftovers::remove_dead_temps(&dataset);
        let blocks = self.pipeline.block_names();
        observer.event(RunEvent::Started {
            samples: self.work.len(),
            blocks: &blocks,
        });
        let timings = TimingsJournal::open(&dataset, &run_id)?;
        let queue = SampleQueue::new(&self.work);
        let known = self.known.take();
        let fan_out = FanOut {
            observer,
            timings: &timings,
            tally: Mutex::new(RunTally::default()),
            blocks: &blocks,
            queue: &queue,
            max_failures: self.options.max_failures,
            failed: Default::default(),
            attempts: Mutex::default(),
            known: known.as_ref(),
        };
        let claims = Claims::start(&dataset, &run_id, self.lease, Some(staging.clone()));
        let executor = Executor::new(
            &self.pipeline,
            &dataset,
            self.plan_options.clone(),
            staging.clone(),
        )
        .with_claims(&claims)
        .with_retries(self.options.retries)
        .durable(self.options.durable);
        // Each worker thread takes the next sample from the front.
        let outcome = self.pool.install(|| {
            (0..self.pool.current_num_threads())
                .into_par_iter()
                .try_for_each(|_| {
                    while let Some(id) = queue.next() {
                        if let Err(error) = executor.run_sample(id, &fan_out) {
                            queue.stop();
                            return Err(error);
                        }
                    }
                    Ok(())
                })
        });
        let signal = crate::interrupt::requested();
        let limit_hit = self.options.max_failures.is_some_and(|limit| {
            fan_out.failed.load(std::sync::atomic::Ordering::Relaxed) >= limit
        });
        if signal.is_some() || limit_hit {
            // Block processes that left their group: none may outlive the run.
            crate::orphans::kill_marked();
        }
        let _ = fs::remove_dir_all(&staging);
        let _ = timings.flush();
        let failed = fan_out.failed.into_inner();
        let mut tally = fan_out.tally.into_inner().unwrap_or_default();
        tally.interrupted_by = signal.map(crate::interrupt::signal_name);
        log.attempts = fan_out.attempts.into_inner().unwrap_or_default();
        let too_many = self.options.max_failures.filter(|&limit| failed >= limit);
        let mut report = self.report(tally);
        report.elapsed_seconds = started.elapsed().as_secs_f64();
        log.finished = Some(now_rfc3339());
        log.counts = report.tally.counts.clone();
        let stopped = outcome.err().or_else(|| {
            signal
                .map(|signal| Error::Interrupted {
                    signal,
                    resume: "rerun the same command to resume: it does only what is missing",
                })
                .or_else(|| too_many.map(|limit| Error::TooManyFailures { failed, limit }))
        });
        log.status = match &stopped {
            None => "finished".to_owned(),
            Some(Error::Interrupted { .. }) => "interrupted".to_owned(),
            Some(e) => format!("stopped: {e}"),
        };
        log.signal = report.tally.interrupted_by.clone();
        // The error that stopped the run matters more than one writing its log.
        let logged = log.write(&dataset);
        if let Some(Error::Interrupted { .. }) = stopped {
            // Only the CLI installs the handler: it turns this report (its
            // `interrupted_by` set) into exit 130/143 after printing it.
            report.run_log = logged.ok();
            claims.finish();
            observer.event(RunEvent::SamplesDone {
                tally: &report.tally,
                elapsed: started.elapsed(),
            });
            return Ok(report);
        }
        if let Some(Error::TooManyFailures { failed, limit }) = stopped {
            // Stopped on purpose: the report says what the samples did, and
            // the caller turns `max_failures_reached` into its error (exit 1).
            let _ = logged;
            claims.finish();
            observer.event(RunEvent::SamplesDone {
                tally: &report.tally,
                elapsed: started.elapsed(),
            });
            report.tally.max_failures_reached =
                Some(crate::engine::tally::MaxFailuresReached { failed, limit });
            return Ok(report);
        }
        if let Some(error) = stopped {
            return Err(error);
        }
        report.run_log = Some(logged?);
        observer.event(RunEvent::SamplesDone {
            tally: &report.tally,
            elapsed: started.elapsed(),
        });
        let statistics = if self.statistics_current {
            StatisticsOutcome::Unchanged
        } else {
            let ids = dataset.present_samples()?;
            let known = known.map(|known| (known, run_id.as_str()));
            self.pool
                .install(|| statistics_pass(&self.pipeline, &dataset, &ids, true, &claims, known))?
        };
        claims.finish();
        report.statistics = Some(statistics);
        Ok(report)
    }

    fn run_log(&self, run_id: &RunId) -> RunLog {
        RunLog {
            run: run_id.as_str().to_owned(),
            command_line: self.options.command_line.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            config: fs::canonicalize(&self.options.config)
                .unwrap_or_else(|_| self.options.config.clone()),
            samples: format!("{}: {} to run", self.targets.describe(), self.work.len()),
            range: match &self.targets {
                Targets::Range(range) => Some([range.start, range.end]),
                Targets::Present(_) => None,
            },
            jobs: self.pool.current_num_threads(),
            host: crate::process::name().to_owned(),
            pid: std::process::id(),
            started: now_rfc3339(),
            finished: None,
            status: "running".to_owned(),
            counts: RunCounts::default(),
            accepted_changes: None,
            signal: None,
            attempts: Vec::new(),
        }
    }
}

/// Aggregates statistics and draws the plots over `ids`, in turn with the
/// other runs of the dataset ([`Claims::statistics`]), from what run `known.1`
/// knows (`known.0`) and, for the rest, from disk.
fn statistics_pass(
    pipeline: &Pipeline,
    dataset: &Dataset,
    ids: &[u64],
    all_present: bool,
    claims: &Claims,
    known: Option<(KnownSamples, &str)>,
) -> Result<StatisticsOutcome> {
    // No turn to take in a folder that is not (yet) a dataset: the pass
    // fails there and must leave it untouched.
    let exists = dataset.meta_dir().is_dir();
    let _turn = match exists.then(|| claims.statistics()).transpose()? {
        Some(Claim::Elsewhere { holder }) => return Ok(StatisticsOutcome::Skipped { holder }),
        turn => turn,
    };
    let blocks = pipeline.descriptions();
    // Only now, in turn: a run that ended before is seen.
    let known = known.and_then(|(known, run)| known.into_sorted(dataset, run));
    let report =
        crate::statistics::aggregate(dataset, &blocks, ids, known, &pipeline.plots, all_present)?;
    let root = dataset.root();
    Ok(StatisticsOutcome::Written {
        complete: report.complete,
        seen: report.seen,
        records_read: report.records_read,
        plots: report.plots,
        statistics: root.join(STATISTICS_YAML),
        table: root.join(STATISTICS_CSV),
        plots_dir: root.join(PLOTS_DIR),
        warnings: report.warnings,
        report: report.report,
    })
}

/// Fans the executor's events out to the tally, the timings journal and the
/// caller's observer.
struct FanOut<'a> {
    observer: &'a dyn RunObserver,
    timings: &'a TimingsJournal,
    tally: Mutex<RunTally>,
    blocks: &'a [String],
    queue: &'a SampleQueue,
    max_failures: Option<u64>,
    /// Samples whose blocks failed in this run (not rejected, not left
    /// alone), for `--max-failures`.
    failed: std::sync::atomic::AtomicU64,
    /// Failed attempts of blocks that may retry, for the run log.
    attempts: Mutex<Vec<FailedAttempt>>,
    /// Keeps the records written, for the statistics pass.
    known: Option<&'a KnownSamples>,
}

impl Observer for FanOut<'_> {
    fn block_finished(&self, sample: u64, block: &str, status: BlockStatus, seconds: f64) {
        self.timings.append(sample, block, status, seconds);
        self.observer.event(RunEvent::BlockFinished {
            sample,
            block,
            status,
            seconds,
        });
    }

    fn stopping(&self) -> bool {
        self.queue.is_stopped()
    }

    fn attempt_failed(&self, sample: u64, block: &str, attempt: u32, reason: &str) {
        if let Ok(mut attempts) = self.attempts.lock() {
            attempts.push(FailedAttempt {
                sample,
                block: block.to_owned(),
                attempt,
                reason: reason.to_owned(),
            });
        }
    }

    fn record_written(
        &self,
        sample: u64,
        dir: &std::path::Path,
        record: &crate::dataset::record::SampleRecord,
        digest: u64,
    ) {
        if let Some(known) = self.known {
            known.record_written(sample, dir, record, digest);
        }
    }

    fn sample_set_aside(&self, sample: u64, why: &str, to: &std::path::Path) {
        self.observer
            .event(RunEvent::SampleSetAside { sample, why, to });
    }

    fn sample_finished(&self, sample: u64, outcome: &SampleOutcome) {
        if let SampleOutcome::Failed {
            rejected: false, ..
        } = outcome
        {
            let failed = self
                .failed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1;
            if self.max_failures.is_some_and(|limit| failed >= limit) {
                // The same stop as on SIGTERM: no new sample, the running
                // blocks killed, their attempts discarded.
                self.queue.stop();
                crate::interrupt::kill_groups();
            }
        }
        if let Ok(mut tally) = self.tally.lock() {
            tally.add(sample, outcome, self.blocks);
        }
        self.observer
            .event(RunEvent::SampleFinished { sample, outcome });
    }
}

/// Checks the block names of the flags; per-block booleans for the planner.
fn plan_options(pipeline: &Pipeline, options: &RunOptions) -> Result<PlanOptions> {
    if options.statistics_only && !options.force_run.is_empty() {
        return Err(UsageError::FlagsExclude {
            first: "--force-run-blocks",
            second: "--statistics-only",
            why: "which runs no block",
        }
        .into());
    }
    let known = pipeline.block_names();
    let mark = |flag: &'static str, names: &[String]| -> Result<Vec<bool>> {
        if let Some(unknown) = names.iter().find(|n| !known.contains(n)) {
            return Err(UsageError::UnknownBlock {
                flag,
                name: unknown.clone(),
                config: options.config.clone(),
                known: known.clone(),
            }
            .into());
        }
        Ok(known.iter().map(|k| names.contains(k)).collect())
    };
    let force = mark("--force-run-blocks", &options.force_run)?;
    mark("--accept-changes", &options.accept_changes)?;
    if !options.accept_changes.is_empty() {
        let other = if options.statistics_only {
            Some("--statistics-only")
        } else if !options.force_run.is_empty() {
            Some("--force-run-blocks")
        } else {
            None
        };
        if let Some(other) = other {
            return Err(UsageError::FlagsExclude {
                first: "--accept-changes",
                second: other,
                why: "which runs blocks or statistics while --accept-changes runs nothing",
            }
            .into());
        }
    }
    let no_retry = mark("--do-not-retry-blocks", &options.do_not_retry)?;
    if let Some(both) = options
        .force_run
        .iter()
        .find(|n| options.do_not_retry.contains(n))
    {
        return Err(UsageError::BlockInTwoFlags {
            block: both.clone(),
            first: "--force-run-blocks",
            second: "--do-not-retry-blocks",
        }
        .into());
    }
    let rerun_failed = match &options.rerun_failed {
        None => None,
        Some(_) if options.statistics_only || !options.accept_changes.is_empty() => {
            return Err(UsageError::FlagsExclude {
                first: "--rerun-failed",
                second: if options.statistics_only {
                    "--statistics-only"
                } else {
                    "--accept-changes"
                },
                why: "which runs no block",
            }
            .into())
        }
        Some(pattern) => Some(
            FailureFilter::new(pattern).map_err(|why| UsageError::BadRegex {
                flag: "--rerun-failed",
                pattern: pattern.clone(),
                why,
            })?,
        ),
    };
    if let (true, Some(other)) = (
        options.verify,
        [
            (options.statistics_only, "--statistics-only"),
            (!options.accept_changes.is_empty(), "--accept-changes"),
        ]
        .iter()
        .find_map(|&(given, flag)| given.then_some(flag)),
    ) {
        return Err(UsageError::FlagsExclude {
            first: "--verify",
            second: other,
            why: "which runs no block to redo what --verify finds",
        }
        .into());
    }
    Ok(PlanOptions {
        force,
        no_retry,
        rerun_failed,
        verify: options.verify,
    })
}

fn check_seed(
    pipeline: &Pipeline,
    manifest: Option<&PipelineManifest>,
    dataset: &Dataset,
) -> Result<()> {
    match manifest {
        Some(m) if m.seed != pipeline.seed => Err(UsageError::SeedMismatch {
            dataset: dataset.root().to_path_buf(),
            dataset_seed: m.seed,
            config: pipeline.config_path.clone(),
            config_seed: pipeline.seed,
        }
        .into()),
        _ => Ok(()),
    }
}
