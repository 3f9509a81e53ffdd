//! `shardgen run`: config -> plan -> execute -> record -> aggregate.
//!
//! Everything that can be wrong with the command (config, flags, a dataset of
//! another seed) is checked before the dataset folder is created or touched,
//! so exit code 2 always means "nothing changed".

use std::fs;
use std::path::PathBuf;

use rayon::prelude::*;

use crate::block::Registry;
use crate::claim::{resolve_lease, Claim, Claims};
use crate::config;
use crate::dataset::{Dataset, PipelineManifest, MAX_SAMPLE_ID};
use crate::error::{Error, Result};
use crate::execute::{Executor, Observer, SampleOutcome};
use crate::pipeline::{explain_changes, Pipeline};
use crate::plan::{plan_sample, PlanOptions, PlanSummary, SamplePlan};
use crate::ranges::{RangeSet, SampleRange};
use crate::record::{BlockStatus, RecordRead};
use crate::report::{plan_text, ProgressMode, Reporter};
use crate::runlog::{
    clean_dead_staging, now_rfc3339, staging_dir, RunCounts, RunId, RunLog, TimingsJournal,
};
use crate::state::StateJudge;

/// Samples scanned per parallel batch: bounds the scan's memory.
const SCAN_CHUNK: u64 = 8192;

/// Shard `index` of `count` (`--shard I/K`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 0-based shard index, below `count`.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Shard {
    /// The contiguous part of `range` that shard `index` of `count` gets:
    /// `[start + floor(I*n/K), start + floor((I+1)*n/K))`.
    pub fn part_of(&self, range: SampleRange) -> SampleRange {
        let n = u128::from(range.len());
        let at = |i: u64| range.start + (u128::from(i) * n / u128::from(self.count)) as u64;
        SampleRange::new(at(self.index), at(self.index + 1))
    }
}

/// Which samples a command works on, as the user gave them.
#[derive(Clone, Debug, Default)]
pub struct SampleSelection {
    /// `--start-sample`.
    pub start: Option<u64>,
    /// `--num-samples`.
    pub count: Option<u64>,
    /// `--shard I/K`.
    pub shard: Option<Shard>,
}

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
    /// Print the plan and change nothing.
    pub dry_run: bool,
    /// Only aggregate statistics.
    pub statistics_only: bool,
    /// Print nothing but errors.
    pub quiet: bool,
    /// `--claim-lease`: when another host's claim counts as stale.
    pub claim_lease: Option<std::time::Duration>,
    /// The command line, for the run log.
    pub command_line: Vec<String>,
    /// `--adopt`: take over a dataset folder whose `.shardgen/` was lost.
    pub adopt: bool,
}

/// The samples a command targets.
pub enum Targets {
    /// An explicit range.
    Range(SampleRange),
    /// The samples present in the dataset (sorted).
    Present(Vec<u64>),
}

impl Targets {
    fn describe(&self) -> String {
        match self {
            Targets::Range(range) => format!("samples {}..{}", range.start, range.end),
            Targets::Present(ids) => format!("the {} samples present", ids.len()),
        }
    }
}

/// Runs `shardgen run`; the counts of the run on success.
pub fn run(registry: &Registry, options: &RunOptions) -> Result<RunCounts> {
    crate::bounds::check_utf8_paths(&[("config", &options.config), ("--out", &options.out)])?;
    let pipeline = config::load(&options.config, registry)?;
    let plan_options = plan_options(&pipeline, options)?;
    let lease = resolve_lease(options.claim_lease)?;
    let dataset = Dataset::new(&options.out);
    let adopted = match options.adopt {
        true => crate::adopt::vouch(&pipeline, &dataset)?,
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
    let pool = thread_pool(options.jobs)?;
    if options.statistics_only {
        let ids = match &targets {
            Targets::Present(ids) => ids.clone(),
            Targets::Range(range) => present_in(&dataset, *range)?,
        };
        let claims = Claims::start(&dataset, &RunId::new(), lease, None);
        pool.install(|| statistics_pass(&pipeline, &dataset, &ids, options.quiet, &claims))?;
        return Ok(RunCounts::default());
    }

    let descriptions: Vec<_> = pipeline
        .blocks
        .iter()
        .map(|b| b.description.clone())
        .collect();
    let judge = StateJudge::new(descriptions.clone());
    let (summary, work) =
        pool.install(|| scan(&dataset, &judge, &descriptions, &plan_options, &targets))?;
    let names: Vec<String> = descriptions.iter().map(|d| d.name.clone()).collect();
    let changes = match &manifest {
        Some(previous) => explain_changes(previous, &descriptions),
        None => vec![None; descriptions.len()],
    };
    let target = format!("{} in {}", targets.describe(), options.out.display());
    let plan = plan_text(&summary, &names, &changes, &target);
    if options.dry_run {
        if let Some(adopted) = adopted {
            println!(
                "{} (dry run: nothing written)",
                adopted.text(&options.out, &options.config)
            );
        }
        print!("{plan}");
        return Ok(RunCounts {
            targeted: summary.targeted,
            already_complete: summary.complete.len(),
            ..RunCounts::default()
        });
    }
    let mode = ProgressMode::detect(options.quiet);
    if let Some(adopted) = adopted.filter(|_| mode != ProgressMode::Quiet) {
        eprintln!("{}", adopted.text(&options.out, &options.config));
    }
    if mode != ProgressMode::Quiet {
        eprint!("{plan}");
    }
    let planned = Planned {
        summary,
        work,
        target: targets.describe(),
        options: plan_options,
        lease,
    };
    execute(&pipeline, options, &pool, manifest.as_ref(), &planned, mode)
}

/// What the scan decided: the summary, the ids with work, the targets in
/// words (for the run log), and the settings the execution needs.
struct Planned {
    summary: PlanSummary,
    work: RangeSet,
    target: String,
    options: PlanOptions,
    lease: std::time::Duration,
}

/// Creates the dataset if needed and runs the planned work.
fn execute(
    pipeline: &Pipeline,
    options: &RunOptions,
    pool: &rayon::ThreadPool,
    manifest: Option<&PipelineManifest>,
    planned: &Planned,
    mode: ProgressMode,
) -> Result<RunCounts> {
    let (summary, work, lease) = (&planned.summary, &planned.work, planned.lease);
    fs::create_dir_all(&options.out).map_err(|e| Error::io("cannot create", &options.out, e))?;
    let root =
        fs::canonicalize(&options.out).map_err(|e| Error::io("cannot resolve", &options.out, e))?;
    let dataset = Dataset::new(root);
    let current = pipeline.manifest();
    if manifest != Some(&current) {
        dataset.write_manifest(&current)?;
    }
    let run_id = RunId::new();
    let mut log = RunLog {
        run: run_id.as_str().to_owned(),
        command_line: options.command_line.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        config: options.config.clone(),
        samples: format!("{}: {} to run", planned.target, work.len()),
        jobs: pool.current_num_threads(),
        host: crate::host::name().to_owned(),
        pid: std::process::id(),
        started: now_rfc3339(),
        finished: None,
        status: "running".to_owned(),
        counts: RunCounts::default(),
    };
    log.write(&dataset)?;
    clean_dead_staging(&dataset, lease);
    crate::leftovers::remove_dead_temps(&dataset);
    let staging = staging_dir(&dataset, &run_id);
    fs::create_dir_all(&staging).map_err(|e| Error::io("cannot create", &staging, e))?;

    let names = pipeline
        .blocks
        .iter()
        .map(|b| b.name().to_owned())
        .collect();
    let reporter = Reporter::start(mode, work.len(), names);
    let timings = TimingsJournal::open(&dataset, &run_id)?;
    let observer = RunObserver {
        reporter: &reporter,
        timings: &timings,
        quiet: mode == ProgressMode::Quiet,
    };
    let claims = Claims::start(&dataset, &run_id, lease, Some(staging.clone()));
    let executor = Executor::new(pipeline, &dataset, planned.options.clone(), staging.clone())
        .with_claims(&claims);
    let outcome = pool.install(|| {
        let ranges: Vec<SampleRange> = work.ranges().collect();
        ranges.par_iter().try_for_each(|range| {
            // Ids are below 10^10, so a range's length fits a 64-bit usize.
            let len = usize::try_from(range.len()).unwrap_or(usize::MAX);
            (0..len).into_par_iter().with_max_len(1).try_for_each(|i| {
                executor
                    .run_sample(range.start + i as u64, &observer)
                    .map(drop)
            })
        })
    });
    let _ = fs::remove_dir_all(&staging);
    let _ = timings.flush();
    let (mut counts, text) = reporter.finish(summary.complete.len());
    counts.targeted = summary.targeted;
    log.finished = Some(now_rfc3339());
    log.counts = counts.clone();
    log.status = match &outcome {
        Ok(()) => "finished".to_owned(),
        Err(e) => format!("stopped: {e}"),
    };
    // The error that stopped the run matters more than one writing its log.
    let logged = log.write(&dataset);
    outcome?;
    logged?;
    if mode != ProgressMode::Quiet {
        eprint!("{text}");
    }
    let ids = dataset.present_samples()?;
    pool.install(|| statistics_pass(pipeline, &dataset, &ids, options.quiet, &claims))?;
    claims.finish();
    Ok(counts)
}

/// Aggregates statistics and draws the plots over `ids`, in turn with the
/// other runs of the dataset ([`Claims::statistics`]).
fn statistics_pass(
    pipeline: &Pipeline,
    dataset: &Dataset,
    ids: &[u64],
    quiet: bool,
    claims: &Claims,
) -> Result<()> {
    // No turn to take in a folder that is not (yet) a dataset: the pass
    // fails there and must leave it untouched.
    let exists = dataset.meta_dir().is_dir();
    let _turn = match exists.then(|| claims.statistics()).transpose()? {
        Some(Claim::Elsewhere { holder }) => {
            eprintln!(
                "warning: statistics not updated: run {holder} has been writing them for a \
                 whole lease; rerun with --statistics-only once it is done"
            );
            return Ok(());
        }
        turn => turn,
    };
    let blocks: Vec<_> = pipeline
        .blocks
        .iter()
        .map(|b| b.description.clone())
        .collect();
    let report = crate::aggregate::aggregate(dataset, &blocks, ids, &pipeline.plots)?;
    if !quiet {
        for warning in &report.warnings {
            eprintln!("warning: {warning}");
        }
        eprintln!(
            "statistics of {} complete samples (of {}) in {}, {} plot files in {}",
            report.complete,
            report.seen,
            dataset.root().join("statistics.yaml").display(),
            report.plots,
            dataset.root().join("plots").display()
        );
    }
    Ok(())
}

/// The samples of `range` present in the dataset, sorted.
fn present_in(dataset: &Dataset, range: SampleRange) -> Result<Vec<u64>> {
    let mut ids = dataset.present_samples()?;
    ids.retain(|&id| range.contains(id));
    Ok(ids)
}

/// Fans run events out to the reporter and the timings journal.
struct RunObserver<'a> {
    reporter: &'a Reporter,
    timings: &'a TimingsJournal,
    quiet: bool,
}

impl Observer for RunObserver<'_> {
    fn block_finished(&self, sample: u64, block: &str, status: BlockStatus, seconds: f64) {
        self.timings.append(sample, block, status, seconds);
        self.reporter.block_finished(sample, block, status, seconds);
    }

    fn sample_finished(&self, sample: u64, outcome: &SampleOutcome) {
        self.reporter.sample_finished(sample, outcome);
    }

    fn sample_set_aside(&self, sample: u64, why: &str, to: &std::path::Path) {
        if !self.quiet {
            eprintln!(
                "warning: sample {} is damaged ({why}): set aside as {}, redone in a new folder",
                crate::dataset::sample_dir_name(sample),
                to.display()
            );
        }
    }
}

/// Scans the targets in parallel batches: the plan summary, and the ids with
/// work to do. Of a range, only the sample folders present are read (one
/// listing of the dataset folder finds them); the absent stretches between
/// them share one plan, added in bulk, so a range of billions of new samples
/// is planned at once.
fn scan(
    dataset: &Dataset,
    judge: &StateJudge,
    descriptions: &[crate::dataset::BlockDescription],
    options: &PlanOptions,
    targets: &Targets,
) -> Result<(PlanSummary, RangeSet)> {
    let mut summary = PlanSummary::default();
    let mut work = RangeSet::new();
    // One listing of the dataset folder: which samples exist, and which of
    // them are not real folders (symlinks, files: damaged, set aside by run).
    let entries = dataset.sample_entries()?;
    let not_folder = |id: u64| {
        entries
            .binary_search_by_key(&id, |e| e.0)
            .is_ok_and(|at| !entries[at].1)
    };
    let (ids, range) = match targets {
        Targets::Present(ids) => (ids.clone(), None),
        Targets::Range(range) => {
            let ids = entries.iter().map(|e| e.0).filter(|&id| range.contains(id));
            (ids.collect(), Some(*range))
        }
    };
    let absent = plan_sample(descriptions, &judge.judge(dataset.root(), None), options);
    let add_absent = |summary: &mut PlanSummary, work: &mut RangeSet, stretch: SampleRange| {
        if range.is_some() && !stretch.is_empty() {
            summary.add_range(stretch, &absent);
            if absent != SamplePlan::Complete {
                work.insert_range(stretch);
            }
        }
    };
    let mut next = range.map_or(0, |r| r.start);
    for batch in ids.chunks(SCAN_CHUNK as usize) {
        let plans = judge.judge_samples(dataset, batch, |sample| {
            let damaged = matches!(sample.record, RecordRead::Damaged(_));
            (plan_sample(descriptions, &sample.states, options), damaged)
        });
        for (&id, (mut plan, mut damaged)) in batch.iter().zip(plans) {
            if not_folder(id) {
                (plan, damaged) = (absent.clone(), true);
            }
            add_absent(&mut summary, &mut work, SampleRange::new(next.min(id), id));
            next = id + 1;
            summary.add(id, &plan, damaged);
            if plan != SamplePlan::Complete {
                work.insert(id);
            }
        }
    }
    if let Some(range) = range {
        add_absent(
            &mut summary,
            &mut work,
            SampleRange::new(next.min(range.end), range.end),
        );
    }
    Ok((summary, work))
}

/// Checks the block names of the flags; per-block booleans for the planner.
fn plan_options(pipeline: &Pipeline, options: &RunOptions) -> Result<PlanOptions> {
    if options.statistics_only && !options.force_run.is_empty() {
        return Err(Error::usage(
            "--force-run-blocks cannot be combined with --statistics-only, which runs no block; \
             drop one of them",
        ));
    }
    let known: Vec<&str> = pipeline.blocks.iter().map(|b| b.name()).collect();
    let mark = |flag: &str, names: &[String]| -> Result<Vec<bool>> {
        if let Some(unknown) = names.iter().find(|n| !known.contains(&n.as_str())) {
            return Err(Error::usage(format!(
                "{flag}: no block named '{unknown}' in {}; blocks: {}",
                options.config.display(),
                known.join(", ")
            )));
        }
        Ok(known.iter().map(|k| names.iter().any(|n| n == k)).collect())
    };
    let force = mark("--force-run-blocks", &options.force_run)?;
    let no_retry = mark("--do-not-retry-blocks", &options.do_not_retry)?;
    if let Some(both) = options
        .force_run
        .iter()
        .find(|n| options.do_not_retry.contains(n))
    {
        return Err(Error::usage(format!(
            "block '{both}' is named in both --force-run-blocks and --do-not-retry-blocks; \
             keep it in one"
        )));
    }
    Ok(PlanOptions { force, no_retry })
}

fn check_seed(
    pipeline: &Pipeline,
    manifest: Option<&PipelineManifest>,
    dataset: &Dataset,
) -> Result<()> {
    match manifest {
        Some(m) if m.seed != pipeline.seed => Err(Error::usage(format!(
            "{} was made with master seed {} but {} says seed {}; a dataset has one seed: \
             use a new --out folder or restore the seed",
            dataset.root().display(),
            m.seed,
            pipeline.config_path.display(),
            pipeline.seed
        ))),
        _ => Ok(()),
    }
}

/// The samples to work on: an explicit range, or those present.
pub fn resolve_targets(
    pipeline: &Pipeline,
    dataset: &Dataset,
    selection: &SampleSelection,
    use_config_count: bool,
) -> Result<Targets> {
    let start = selection.start.unwrap_or(0);
    let count = selection.count.or(if use_config_count {
        pipeline.samples
    } else {
        None
    });
    let Some(count) = count else {
        if selection.shard.is_some() {
            return Err(Error::usage(
                "--shard needs a sample count: give --num-samples or set `samples:` in the config",
            ));
        }
        let ids: Vec<u64> = dataset
            .present_samples()?
            .into_iter()
            .filter(|&id| id >= start)
            .collect();
        if ids.is_empty() && !dataset.root().join(crate::dataset::META_DIR).exists() {
            return Err(Error::usage(format!(
                "no samples to work on: {} holds none; give --num-samples N or set `samples:` in \
                 the config",
                dataset.root().display()
            )));
        }
        return Ok(Targets::Present(ids));
    };
    let end = start
        .checked_add(count)
        .filter(|&end| end <= MAX_SAMPLE_ID + 1)
        .ok_or_else(|| {
            Error::usage(format!(
                "--start-sample {start} + --num-samples {count} goes past the largest sample id \
                 {MAX_SAMPLE_ID}"
            ))
        })?;
    let range = SampleRange::new(start, end);
    Ok(Targets::Range(
        selection.shard.map_or(range, |s| s.part_of(range)),
    ))
}

pub(crate) fn thread_pool(jobs: Option<usize>) -> Result<rayon::ThreadPool> {
    let jobs = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| Error::usage(format!("--jobs {jobs}: cannot start worker threads: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_tile_the_range_contiguously() {
        let range = SampleRange::new(10, 50);
        let parts: Vec<_> = (0..3)
            .map(|i| Shard { index: i, count: 3 }.part_of(range))
            .collect();
        assert_eq!(
            parts,
            vec![
                SampleRange::new(10, 23),
                SampleRange::new(23, 36),
                SampleRange::new(36, 50)
            ]
        );
        let tiny = SampleRange::new(0, 2);
        let parts: Vec<_> = (0..4)
            .map(|i| Shard { index: i, count: 4 }.part_of(tiny))
            .collect();
        assert_eq!(parts.iter().map(SampleRange::len).sum::<u64>(), 2);
    }
}
