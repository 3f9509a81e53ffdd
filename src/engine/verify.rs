//! `shardgen verify DIR`: re-reads the outputs the records vouch for and
//! reports those that are missing, truncated (or extended) or changed in
//! place, with their samples as ranges.
//!
//! It reads only: nothing in DIR is written, and it needs neither the config
//! nor the blocks' programs. Samples are checked in parallel (rayon), in
//! batches of [`CHUNK`] ids, and each file is streamed through a fixed
//! buffer, so memory is bounded whatever the dataset's size; at most
//! [`PROBLEMS_LISTED`] damaged files are listed one by one (all are counted).
//!
//! What is checked, per sample: every output of every block entry `ok` in
//! its record. An entry written before records held digests (no `outputs`)
//! is checked for its required outputs' presence only, and its samples are
//! reported as `unverified`. A record that cannot be trusted is `damaged`
//! (the next run redoes the sample). A sample folder absent from the range
//! is not damage: `analyze` lists such gaps.
//!
//! Run it while no run writes the samples checked: a file being replaced by
//! a run can be reported once.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::dataset::integrity::{check_output, Depth, OutputCheck};
use crate::dataset::record::{read_record, BlockStatus, RecordRead};
use crate::dataset::runlog::read_run_logs;
use crate::dataset::Dataset;
use crate::engine::analyze::read_manifest;
use crate::engine::gaps::gap_commands;
use crate::error::{Error, Result, UsageError};
use crate::layout::MAX_SAMPLE_ID;
use crate::pipeline::outputs::BlockOutputs;
use crate::ranges::{RangeSet, SampleRange};

/// The `format` of `verify --json`.
pub const VERIFY_FORMAT: &str = "shardgen-verify/1";
/// Samples checked per parallel batch: bounds memory.
const CHUNK: usize = 4096;
/// Damaged files listed one by one; the others are counted.
pub const PROBLEMS_LISTED: usize = 1000;

/// What `shardgen verify` was asked.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// The dataset folder.
    pub dir: PathBuf,
    /// `--start-sample`: the first sample checked [default: 0].
    pub start: Option<u64>,
    /// `--num-samples`: how many [default: all present from `start` on].
    pub count: Option<u64>,
    /// Worker threads (`None`: all cores).
    pub jobs: Option<usize>,
}

/// What `verify --json` prints: one object. Every range list is half-open
/// `[start, end)`, sorted; a sample can be in several.
///
/// ```json
/// {"format": "shardgen-verify/1", "dataset": "data",
///  "missing": [[5, 6]], "truncated": [[3, 4]], "changed": [[7, 8]],
///  "damaged_records": [], "unverified": [],
///  "samples": 40, "files": 120, "bytes": 30720, "damaged_files": 3,
///  "problems": [{"sample": 3, "block": "a", "path": "a.bin",
///                "problem": "truncated", "size": 100, "recorded_size": 256}],
///  "commands": ["shardgen run p.yaml --out data --start-sample 3 --num-samples 5 --verify"],
///  "seconds": 0.01}
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    /// [`VERIFY_FORMAT`].
    pub format: &'static str,
    /// The dataset folder, as given.
    pub dataset: PathBuf,
    /// Samples with a recorded output that is gone (or no longer a regular
    /// file).
    pub missing: RangeSet,
    /// Samples with a recorded output whose size differs from the record
    /// (truncated or extended). A plain `run` redoes these too.
    pub truncated: RangeSet,
    /// Samples with a recorded output of the recorded size whose bytes
    /// differ (changed in place). Only `run --verify` redoes these.
    pub changed: RangeSet,
    /// Samples whose record cannot be trusted (redone by the next run).
    pub damaged_records: RangeSet,
    /// Samples with outputs recorded without a digest (by an older
    /// shardgen): only their presence was checked.
    pub unverified: RangeSet,
    /// Sample folders checked.
    pub samples: u64,
    /// Recorded outputs checked.
    pub files: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Damaged files found (all of them; `problems` lists the first ones).
    pub damaged_files: u64,
    /// The first [`PROBLEMS_LISTED`] damaged files, by sample.
    pub problems: Vec<Problem>,
    /// `shardgen run ... --verify` commands that redo every damaged sample.
    pub commands: Vec<String>,
    /// Wall time of the check.
    pub seconds: f64,
}

impl VerifyReport {
    /// Whether no damage was found (`shardgen verify` exits 0).
    pub fn is_clean(&self) -> bool {
        self.damaged().is_empty()
    }

    /// Every damaged sample: missing, truncated, changed or damaged record.
    pub fn damaged(&self) -> RangeSet {
        let mut all = RangeSet::new();
        for set in [
            &self.missing,
            &self.truncated,
            &self.changed,
            &self.damaged_records,
        ] {
            for range in set.ranges() {
                all.insert_range(range);
            }
        }
        all
    }
}

/// One damaged file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The sample id.
    pub sample: u64,
    /// The block whose record entry lists the file.
    pub block: String,
    /// The path relative to the sample folder.
    pub path: String,
    /// What is wrong.
    pub problem: ProblemKind,
    /// The size found, when the file is there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The size the record holds (absent for an old entry without digests).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_size: Option<u64>,
}

/// What is wrong with a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemKind {
    /// Gone, or no longer a regular file.
    Missing,
    /// Its size differs from the record.
    Truncated,
    /// Same size, other bytes.
    Changed,
}

/// Verifies the dataset of `options.dir`.
pub fn verify(options: &VerifyOptions) -> Result<VerifyReport> {
    let started = Instant::now();
    let dataset = Dataset::new(&options.dir);
    let manifest = read_manifest(&dataset)?;
    let blocks: Vec<(String, BlockOutputs)> = manifest
        .blocks
        .iter()
        .map(|b| (b.name.clone(), BlockOutputs::of(b)))
        .collect();
    let range = target_range(options)?;
    let entries: Vec<(u64, bool)> = dataset
        .list_samples(Some(range))?
        .entries
        .into_iter()
        .map(|entry| (entry.id, entry.is_folder))
        .collect();
    let pool = crate::process::thread_pool(options.jobs)
        .map_err(|e| Error::Usage(UsageError::Threads(e)))?;
    let mut report = VerifyReport {
        format: VERIFY_FORMAT,
        dataset: options.dir.clone(),
        missing: RangeSet::new(),
        truncated: RangeSet::new(),
        changed: RangeSet::new(),
        damaged_records: RangeSet::new(),
        unverified: RangeSet::new(),
        samples: 0,
        files: 0,
        bytes: 0,
        damaged_files: 0,
        problems: Vec::new(),
        commands: Vec::new(),
        seconds: 0.0,
    };
    for batch in entries.chunks(CHUNK) {
        let verdicts: Vec<Verdict> = pool.install(|| {
            batch
                .par_iter()
                .map(|&(id, is_folder)| check_sample(&dataset, &blocks, id, is_folder))
                .collect()
        });
        for verdict in verdicts {
            report.add(verdict);
        }
    }
    report.commands = repair_commands(&dataset, &options.dir, &report.damaged());
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// `--start-sample`/`--num-samples` as a range (everything by default).
fn target_range(options: &VerifyOptions) -> Result<SampleRange> {
    let start = options.start.unwrap_or(0);
    let Some(count) = options.count else {
        return Ok(SampleRange::new(start.min(MAX_SAMPLE_ID + 1), u64::MAX));
    };
    crate::engine::scan::checked_range(start, count)
}

/// What checking one sample found.
#[derive(Default)]
struct Verdict {
    id: u64,
    damaged_record: bool,
    unverified: bool,
    files: u64,
    bytes: u64,
    /// Damaged files (at most [`PROBLEMS_LISTED`] kept), and how many.
    problems: Vec<Problem>,
    damaged_files: u64,
    kinds: [bool; 3],
}

impl Verdict {
    fn problem(&mut self, problem: Problem) {
        self.kinds[problem.problem as usize] = true;
        self.damaged_files += 1;
        if self.problems.len() < PROBLEMS_LISTED {
            self.problems.push(problem);
        }
    }
}

fn check_sample(
    dataset: &Dataset,
    blocks: &[(String, BlockOutputs)],
    id: u64,
    is_folder: bool,
) -> Verdict {
    let mut verdict = Verdict {
        id,
        ..Verdict::default()
    };
    if !is_folder {
        verdict.damaged_record = true;
        return verdict;
    }
    let dir = dataset.sample_dir(id);
    let record = match read_record(&dir, id) {
        RecordRead::Valid(record) => record,
        RecordRead::Absent => return verdict,
        RecordRead::Damaged(_) => {
            verdict.damaged_record = true;
            return verdict;
        }
    };
    for entry in record.blocks.iter().filter(|e| e.status == BlockStatus::Ok) {
        if entry.outputs.is_empty() {
            check_old_entry(&dir, blocks, id, &entry.name, &mut verdict);
            continue;
        }
        for output in &entry.outputs {
            verdict.files += 1;
            let (check, read) = check_output(&dir, output, Depth::Digest);
            verdict.bytes += read;
            let (problem, size) = match check {
                OutputCheck::Intact => continue,
                OutputCheck::Missing => (ProblemKind::Missing, None),
                OutputCheck::Resized(size) => (ProblemKind::Truncated, Some(size)),
                OutputCheck::Changed => (ProblemKind::Changed, Some(output.size)),
            };
            verdict.problem(Problem {
                sample: id,
                block: entry.name.clone(),
                path: output.path.clone(),
                problem,
                size,
                recorded_size: Some(output.size),
            });
        }
    }
    verdict
}

/// An entry of a record without digests: its block's required outputs must
/// exist (the rule of a scan before digests).
fn check_old_entry(
    dir: &Path,
    blocks: &[(String, BlockOutputs)],
    id: u64,
    name: &str,
    verdict: &mut Verdict,
) {
    let Some((_, outputs)) = blocks.iter().find(|(n, _)| n == name) else {
        return;
    };
    // A block with only optional outputs may have published none, which a
    // current record cannot tell from an old one: nothing to say of it.
    if outputs.required.is_empty() {
        return;
    }
    verdict.unverified = true;
    verdict.files += outputs.required.len() as u64;
    if let Some(missing) = outputs.first_missing(dir) {
        verdict.problem(Problem {
            sample: id,
            block: name.to_owned(),
            path: missing,
            problem: ProblemKind::Missing,
            size: None,
            recorded_size: None,
        });
    }
}

impl VerifyReport {
    fn add(&mut self, verdict: Verdict) {
        let id = verdict.id;
        self.samples += 1;
        self.files += verdict.files;
        self.bytes += verdict.bytes;
        self.damaged_files += verdict.damaged_files;
        if verdict.damaged_record {
            self.damaged_records.insert(id);
        }
        if verdict.unverified {
            self.unverified.insert(id);
        }
        let sets = [&mut self.missing, &mut self.truncated, &mut self.changed];
        for (set, found) in sets.into_iter().zip(verdict.kinds) {
            if found {
                set.insert(id);
            }
        }
        let room = PROBLEMS_LISTED.saturating_sub(self.problems.len());
        self.problems
            .extend(verdict.problems.into_iter().take(room));
    }
}

/// `shardgen run CONFIG --out DIR ... --verify` over the damaged samples,
/// with the config of the dataset's latest run.
fn repair_commands(dataset: &Dataset, dir: &Path, damaged: &RangeSet) -> Vec<String> {
    let (Some(first), Some(last)) = (damaged.ranges().next(), damaged.ranges().last()) else {
        return Vec::new();
    };
    let logs = read_run_logs(dataset);
    let config = logs.last().map(|log| log.config.as_path());
    let ranges: Vec<SampleRange> = damaged.ranges().collect();
    gap_commands(
        config,
        dir,
        &ranges,
        SampleRange::new(first.start, last.end),
    )
    .into_iter()
    .map(|command| format!("{command} --verify"))
    .collect()
}
