//! `shardgen debug`: one sample, run into a scratch folder that keeps
//! everything each block wrote and printed, for debugging a block without
//! touching a dataset.
//!
//! The blocks get the seeds of a real run (so their outputs are the bytes
//! a run would publish) and the same environment, but nothing is staged,
//! claimed or recorded: the scratch folder holds, per block,
//! `<index>-<block>/out/` (what it wrote, kept), `output.log` (what it
//! printed) and `stats.json`, and `sample/` holds the sample folder as the
//! chain builds it (the declared outputs of each successful block, copied).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::block::{Registry, SampleContext, Stats};
use crate::dataset::record::BlockStatus;
use crate::dataset::Dataset;
use crate::engine::execute::run_and_validate;
use crate::error::{Error, Result, UsageError};
use crate::pipeline::{config, Pipeline};
use crate::seed::BlockSeed;

/// The `format` of `shardgen debug --json`.
pub const DEBUG_REPORT_FORMAT: &str = "shardgen-debug/1";

/// What `shardgen debug` was asked.
#[derive(Clone, Debug)]
pub struct DebugOptions {
    /// The config file.
    pub config: PathBuf,
    /// The sample.
    pub sample: u64,
    /// The last block to run (default: the whole chain).
    pub block: Option<String>,
    /// The scratch folder: must not exist, or be empty.
    pub into: PathBuf,
    /// A dataset whose sample folder gives the inputs: then only `block`
    /// runs, on a copy of that folder.
    pub from: Option<PathBuf>,
}

/// What one block did in a debug run.
#[derive(Clone, Debug, Serialize)]
pub struct DebugBlock {
    /// The block's name.
    pub name: String,
    /// How it ended.
    pub status: BlockStatus,
    /// Why it failed or was rejected.
    pub reason: Option<String>,
    /// Its seed for this sample (`SHARDGEN_SEED`).
    pub seed: u64,
    /// Its wall time.
    pub seconds: f64,
    /// The statistics it recorded.
    pub stats: Stats,
    /// Its folder in the scratch folder: `out/`, `output.log`, `stats.json`.
    pub folder: PathBuf,
}

/// What `shardgen debug` did: one object with `--json`.
#[derive(Clone, Debug, Serialize)]
pub struct DebugReport {
    /// [`DEBUG_REPORT_FORMAT`].
    pub format: &'static str,
    /// The sample.
    pub sample: u64,
    /// The scratch folder.
    pub scratch: PathBuf,
    /// The sample folder the chain built, inside the scratch folder.
    pub sample_dir: PathBuf,
    /// The blocks that ran, in order; the last one is the one that failed,
    /// if one did.
    pub blocks: Vec<DebugBlock>,
}

impl DebugReport {
    /// Whether every block that ran succeeded.
    pub fn succeeded(&self) -> bool {
        self.blocks.iter().all(|b| b.status == BlockStatus::Ok)
    }
}

/// Runs sample `options.sample` through the chain (or one block of it on
/// the inputs of a dataset) into the scratch folder. Reads the dataset of
/// `--from` only.
pub fn debug(registry: &Registry, options: &DebugOptions) -> Result<DebugReport> {
    let pipeline = config::load(&options.config, registry)?;
    crate::pipeline::programs::check_programs(&pipeline)?;
    let names = pipeline.block_names();
    let last = match &options.block {
        None => names.len() - 1,
        Some(name) => {
            names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| UsageError::UnknownBlock {
                    flag: "--block",
                    name: name.clone(),
                    config: options.config.clone(),
                    known: names.clone(),
                })?
        }
    };
    let first = if options.from.is_some() { last } else { 0 };
    let scratch = prepare_scratch(&options.into)?;
    let sample_dir = scratch.join("sample");
    fs::create_dir(&sample_dir).map_err(|e| Error::io("cannot create", &sample_dir, e))?;
    if let Some(from) = &options.from {
        copy_inputs(&Dataset::new(from), options.sample, &sample_dir)?;
    }
    let mut blocks = Vec::new();
    for index in first..=last {
        let outcome = run_block(&pipeline, index, options.sample, &scratch, &sample_dir)?;
        let failed = outcome.status != BlockStatus::Ok;
        blocks.push(outcome);
        if failed {
            break;
        }
    }
    Ok(DebugReport {
        format: DEBUG_REPORT_FORMAT,
        sample: options.sample,
        scratch,
        sample_dir,
        blocks,
    })
}

/// The scratch folder, created, or an empty one that exists; absolute.
/// Anything else is refused: a debug run never overwrites.
fn prepare_scratch(into: &Path) -> Result<PathBuf> {
    match fs::read_dir(into) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(UsageError::ScratchNotEmpty {
                    path: into.to_path_buf(),
                }
                .into());
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(into).map_err(|e| Error::io("cannot create", into, e))?;
        }
        Err(e) => return Err(Error::io("cannot read", into, e)),
    }
    fs::canonicalize(into).map_err(|e| Error::io("cannot resolve", into, e))
}

/// Copies the files of sample `id` of `dataset` (its record aside) into
/// `to`: the inputs earlier blocks published.
fn copy_inputs(dataset: &Dataset, id: u64, to: &Path) -> Result<()> {
    let from = dataset.sample_dir(id);
    if !from.is_dir() {
        return Err(UsageError::NoSuchSample {
            sample: id,
            dataset: dataset.root().to_path_buf(),
            folder: from,
        }
        .into());
    }
    let files =
        crate::dataset::walk::walk(&from).map_err(|e| Error::io("cannot read", &from, e))?;
    for file in files {
        if file.relative.as_os_str() == crate::layout::RECORD_FILE
            || !matches!(file.kind, crate::dataset::walk::FileKind::File { .. })
        {
            continue;
        }
        copy_file(&from.join(&file.relative), &to.join(&file.relative))?;
    }
    Ok(())
}

/// Runs block `index` on `sample` with its own folder in `scratch`, then
/// copies its declared outputs into `sample_dir` if it succeeded.
fn run_block(
    pipeline: &Pipeline,
    index: usize,
    sample: u64,
    scratch: &Path,
    sample_dir: &Path,
) -> Result<DebugBlock> {
    let block = &pipeline.blocks[index];
    let folder = scratch.join(format!("{index}-{}", block.name()));
    let out_dir = folder.join("out");
    fs::create_dir_all(&out_dir).map_err(|e| Error::io("cannot create", &out_dir, e))?;
    let stats_file = folder.join("stats.json");
    let params = block.description.params.to_string();
    let seed = BlockSeed::derive(pipeline.seed, block.name(), sample);
    let mut ctx = SampleContext {
        sample_id: sample,
        block: block.name(),
        seed,
        rng: seed.rng(),
        sample_dir,
        out_dir: &out_dir,
        scratch_dir: &folder,
        stats_file: &stats_file,
        config_dir: &pipeline.config_dir,
        params_json: &params,
        timeout: block.timeout,
        stats: Stats::new(),
        data: None,
        log_used: std::cell::Cell::new(false),
        written: Default::default(),
        out_folder: None,
    };
    let started = Instant::now();
    let outcome = run_and_validate(block, &mut ctx);
    let seconds = started.elapsed().as_secs_f64();
    let (status, reason) = match outcome {
        Ok(()) => (BlockStatus::Ok, None),
        Err(failure) => (failure.status, Some(failure.reason)),
    };
    if status == BlockStatus::Ok {
        let files = crate::dataset::walk::walk(&out_dir)
            .map_err(|e| Error::io("cannot read", &out_dir, e))?;
        for file in files {
            let relative = file.relative.to_string_lossy();
            if block.outputs.matches(&relative) {
                copy_file(
                    &out_dir.join(&file.relative),
                    &sample_dir.join(&file.relative),
                )?;
            }
        }
    }
    Ok(DebugBlock {
        name: block.name().to_owned(),
        status,
        reason,
        seed: seed.value(),
        seconds,
        stats: std::mem::take(&mut ctx.stats),
        folder,
    })
}

fn copy_file(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::io("cannot create", parent, e))?;
    }
    fs::copy(from, to).map_err(|e| Error::io("cannot copy", from, e))?;
    Ok(())
}
