//! `shardgen analyze DIR`: what a dataset holds (done, failed, stale,
//! missing) from its records alone.
//!
//! It reads only: nothing in DIR is written, and it needs neither the config
//! file nor the blocks' programs, because the dataset's manifest remembers
//! the pipeline. It may run while a run is writing: a record being replaced
//! is read whole or not at all (atomic rename), and a damaged one is
//! reported, never fatal.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::block::Stats;
use crate::dataset::{Dataset, PipelineManifest};
use crate::error::{Error, Result};
use crate::ranges::{RangeSet, SampleRange};
use crate::record::{read_record, RecordRead};
use crate::seed::BlockSeed;
use crate::state::{reason_kind, BlockState, StateJudge};

/// Samples judged per parallel batch.
const CHUNK: usize = 8192;
/// Gap-filling commands listed one by one before a single command is offered.
const COMMANDS_SHOWN: usize = 8;

/// What `analyze --json` prints: one object.
///
/// ```json
/// {"dataset": "data", "seed": 7,
///  "samples": {"present": 40, "complete": 37, "failed": 2, "incomplete": 1},
///  "ranges": [[0, 30], [32, 42]],
///  "blocks": [{"name": "a", "complete": 39, "failed": 0, "missing": 1, "stale": 0}, ...],
///  "failures": [{"sample": 5, "block": "b", "reason": "exit code 3: boom"}],
///  "damaged": [[7, 8]],
///  "commands": ["shardgen run p.yaml --out data --start-sample 5 --num-samples 1"]}
/// ```
#[derive(Debug, Serialize)]
pub struct Analysis {
    /// The dataset folder, as given.
    pub dataset: PathBuf,
    /// The master seed.
    pub seed: u64,
    /// Sample counts.
    pub samples: SampleCounts,
    /// Half-open `[start, end)` ranges of the sample ids present, sorted.
    pub ranges: Vec<[u64; 2]>,
    /// Per block, in chain order; each entry's counts sum to `present`.
    pub blocks: Vec<BlockCounts>,
    /// One entry per failed sample: the block that failed and why.
    pub failures: Vec<Failure>,
    /// Half-open ranges of samples whose record is damaged (they count as
    /// incomplete, every block missing).
    pub damaged: Vec<[u64; 2]>,
    /// `shardgen run` commands that would complete every sample in
    /// `[0, highest id present]`.
    pub commands: Vec<String>,
}

/// Sample counts of an [`Analysis`].
#[derive(Debug, Default, Serialize)]
pub struct SampleCounts {
    /// Sample folders in DIR.
    pub present: u64,
    /// Every block complete.
    pub complete: u64,
    /// A block failed, timed out or was rejected and has not since succeeded.
    pub failed: u64,
    /// Present, neither complete nor failed.
    pub incomplete: u64,
}

/// Per-block counts of an [`Analysis`].
#[derive(Debug, Default, Serialize)]
pub struct BlockCounts {
    /// The block's name.
    pub name: String,
    /// Complete with the current fingerprint.
    pub complete: u64,
    /// Failed or rejected.
    pub failed: u64,
    /// Not run yet, or after a block that failed or is not complete.
    pub missing: u64,
    /// Made by another version of the pipeline.
    pub stale: u64,
}

/// One failed sample.
#[derive(Debug, Serialize)]
pub struct Failure {
    /// The sample id.
    pub sample: u64,
    /// The block that failed.
    pub block: String,
    /// The recorded reason (rejections start with `rejected: `).
    pub reason: String,
}

/// Analyzes the dataset at `dir`.
pub fn analyze(dir: &Path) -> Result<Analysis> {
    let dataset = Dataset::new(dir);
    let manifest = read_manifest(&dataset)?;
    let judge = StateJudge::new(manifest.blocks.iter().cloned());
    let ids = dataset.present_samples()?;
    let names: Vec<String> = manifest.blocks.iter().map(|b| b.name.clone()).collect();
    let mut builder = AnalysisBuilder::new(dir, manifest.seed, names);
    for batch in ids.chunks(CHUNK) {
        let judged = judge.judge_samples(&dataset, batch, |sample| {
            let damaged = matches!(sample.record, RecordRead::Damaged(_));
            (sample.states, damaged)
        });
        for (&id, (states, is_damaged)) in batch.iter().zip(judged) {
            builder.add(id, &states, is_damaged);
        }
    }
    Ok(builder.finish(&dataset))
}

/// An [`Analysis`] built one judged sample at a time, in increasing id
/// order: `analyze` and the statistics pass (for `report.html`) share it.
pub(crate) struct AnalysisBuilder {
    analysis: Analysis,
    names: Vec<String>,
    present: RangeSet,
    complete: RangeSet,
    damaged: RangeSet,
    /// With [`Self::digesting`]: failures folded here instead of listed.
    digest: Option<FailureDigest>,
}

impl AnalysisBuilder {
    /// A builder for the dataset `dir` (as given), its master seed and the
    /// names of its blocks in chain order.
    pub(crate) fn new(dir: &Path, seed: u64, names: Vec<String>) -> Self {
        Self {
            analysis: Analysis {
                dataset: dir.to_path_buf(),
                seed,
                samples: SampleCounts::default(),
                ranges: Vec::new(),
                blocks: names
                    .iter()
                    .map(|name| BlockCounts {
                        name: name.clone(),
                        ..BlockCounts::default()
                    })
                    .collect(),
                failures: Vec::new(),
                damaged: Vec::new(),
                commands: Vec::new(),
            },
            names,
            present: RangeSet::new(),
            complete: RangeSet::new(),
            damaged: RangeSet::new(),
            digest: None,
        }
    }

    /// Folds failures into a [`FailureDigest`] that keeps `keep` whole of
    /// each sort, instead of listing every one in [`Analysis::failures`]
    /// (which stays empty): memory no longer grows per failed sample.
    pub(crate) fn digesting(mut self, keep: usize) -> Self {
        self.digest = Some(FailureDigest::new(keep));
        self
    }

    /// Adds one sample: its block states in chain order, and whether its
    /// record is damaged.
    pub(crate) fn add(&mut self, id: u64, states: &[BlockState], damaged: bool) {
        self.present.insert(id);
        if damaged {
            self.damaged.insert(id);
        }
        if count_sample(&mut self.analysis, id, states, &self.names) {
            self.complete.insert(id);
        }
        if let Some(digest) = &mut self.digest {
            self.analysis.failures.drain(..).for_each(|f| digest.add(f));
        }
    }

    /// The analysis, with the commands that fill the gaps in `dataset`.
    pub(crate) fn finish(mut self, dataset: &Dataset) -> Analysis {
        self.analysis.ranges = as_pairs(&self.present);
        self.analysis.damaged = as_pairs(&self.damaged);
        self.analysis.commands = fill_commands(dataset, &self.complete, &self.present);
        self.analysis
    }

    /// [`Self::finish`], and the digest of the failures (made from
    /// [`Analysis::failures`] unless [`Self::digesting`]).
    pub(crate) fn finish_digested(
        mut self,
        dataset: &Dataset,
        keep: usize,
    ) -> (Analysis, FailureDigest) {
        let digest = self.digest.take();
        let analysis = self.finish(dataset);
        let digest = digest.unwrap_or_else(|| FailureDigest::of(&analysis.failures, keep));
        (analysis, digest)
    }
}

/// Failures grouped by block and [`reason_kind`], with the first `keep`
/// rejected and the first `keep` other failures kept whole: what a summary
/// needs, in memory that grows with the kinds and id ranges, not the samples.
pub(crate) struct FailureDigest {
    /// The groups, as [`group_failures`] makes them.
    pub(crate) groups: FailureGroups,
    /// Failed samples that were rejected by a validation.
    pub(crate) rejected: u64,
    /// The first rejections, by sample id.
    pub(crate) first_rejected: Vec<Failure>,
    /// The first other failures, by sample id.
    pub(crate) first_failed: Vec<Failure>,
    keep: usize,
}

impl FailureDigest {
    fn new(keep: usize) -> Self {
        Self {
            groups: FailureGroups::new(),
            rejected: 0,
            first_rejected: Vec::new(),
            first_failed: Vec::new(),
            keep,
        }
    }

    /// The digest of `failures` (in sample order).
    pub(crate) fn of(failures: &[Failure], keep: usize) -> Self {
        let mut digest = Self::new(keep);
        for failure in failures {
            digest.add(Failure {
                sample: failure.sample,
                block: failure.block.clone(),
                reason: failure.reason.clone(),
            });
        }
        digest
    }

    fn add(&mut self, failure: Failure) {
        add_to_groups(&mut self.groups, &failure);
        let first = if failure.reason.starts_with(crate::stats::REJECTED_PREFIX) {
            self.rejected += 1;
            &mut self.first_rejected
        } else {
            &mut self.first_failed
        };
        if first.len() < self.keep {
            first.push(failure);
        }
    }
}

/// Adds one sample to the counts; whether it is complete.
fn count_sample(analysis: &mut Analysis, id: u64, states: &[BlockState], names: &[String]) -> bool {
    analysis.samples.present += 1;
    let mut failed = false;
    for (i, state) in states.iter().enumerate() {
        let counts = &mut analysis.blocks[i];
        match state {
            // A block after a failed one counts as missing.
            _ if failed => counts.missing += 1,
            BlockState::Complete => counts.complete += 1,
            BlockState::Stale => counts.stale += 1,
            BlockState::Missing => counts.missing += 1,
            BlockState::Failed(reason) | BlockState::Rejected(reason) => {
                counts.failed += 1;
                failed = true;
                let reason = match state {
                    BlockState::Rejected(_) => format!("rejected: {reason}"),
                    _ => reason.clone(),
                };
                analysis.failures.push(Failure {
                    sample: id,
                    block: names[i].clone(),
                    reason,
                });
            }
        }
    }
    let complete = !failed && states.iter().all(BlockState::is_complete);
    match (complete, failed) {
        (true, _) => analysis.samples.complete += 1,
        (_, true) => analysis.samples.failed += 1,
        _ => analysis.samples.incomplete += 1,
    }
    complete
}

/// The manifest, or a usage error naming a folder that is not a dataset.
pub(crate) fn read_manifest(dataset: &Dataset) -> Result<PipelineManifest> {
    dataset.read_manifest()?.ok_or_else(|| {
        Error::usage(format!(
            "{} is not a shardgen dataset (no .shardgen/pipeline.json); give the --out folder of \
             a run",
            dataset.root().display()
        ))
    })
}

fn as_pairs(set: &RangeSet) -> Vec<[u64; 2]> {
    set.ranges().map(|r| [r.start, r.end]).collect()
}

/// Commands that complete every sample up to the highest id present.
fn fill_commands(dataset: &Dataset, complete: &RangeSet, present: &RangeSet) -> Vec<String> {
    let Some(last) = present.ranges().last() else {
        return Vec::new();
    };
    let gaps = complete.gaps(SampleRange::new(0, last.end));
    let config = latest_config(dataset).unwrap_or_else(|| "<config.yaml>".to_owned());
    let out = dataset.root().display();
    let command = |range: SampleRange| {
        format!(
            "shardgen run {config} --out {out} --start-sample {} --num-samples {}",
            range.start,
            range.len()
        )
    };
    if gaps.len() <= COMMANDS_SHOWN {
        gaps.into_iter().map(command).collect()
    } else {
        // One command over everything: complete samples are skipped anyway.
        vec![command(SampleRange::new(0, last.end))]
    }
}

/// The config file of the latest run, from its run log.
fn latest_config(dataset: &Dataset) -> Option<String> {
    let mut logs: Vec<PathBuf> = fs::read_dir(dataset.runs_dir())
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    logs.sort();
    let text = fs::read_to_string(logs.last()?).ok()?;
    let log: serde_yaml::Value = serde_yaml::from_str(&text).ok()?;
    log.get("config")?.as_str().map(str::to_owned)
}

/// Renders an analysis as text for people.
pub fn analysis_text(
    analysis: &Analysis,
    manifest_blocks: &[crate::dataset::BlockDescription],
) -> String {
    let mut text = format!(
        "dataset {} (master seed {})\npipeline:\n",
        analysis.dataset.display(),
        analysis.seed
    );
    for block in manifest_blocks {
        let _ = writeln!(
            text,
            "  {} ({}): inputs [{}] -> outputs [{}]{}",
            block.name,
            block.type_name,
            block.inputs.join(", "),
            block.outputs.join(", "),
            if block.optional_outputs.is_empty() {
                String::new()
            } else {
                format!(" + optional [{}]", block.optional_outputs.join(", "))
            }
        );
    }
    let ranges: Vec<String> = analysis
        .ranges
        .iter()
        .map(|[s, e]| SampleRange::new(*s, *e).to_string())
        .collect();
    let samples = &analysis.samples;
    let _ = writeln!(
        text,
        "samples present: {} [{}]\n  complete {}, failed {}, incomplete {}",
        samples.present,
        ranges.join(", "),
        samples.complete,
        samples.failed,
        samples.incomplete
    );
    text.push_str("blocks:          complete     failed    missing      stale\n");
    for block in &analysis.blocks {
        let _ = writeln!(
            text,
            "  {:<12} {:>10} {:>10} {:>10} {:>10}",
            block.name, block.complete, block.failed, block.missing, block.stale
        );
    }
    if !analysis.failures.is_empty() {
        text.push_str("failures:\n");
        for ((block, _), (example, ids)) in group_failures(&analysis.failures) {
            let _ = writeln!(
                text,
                "  {block}: {} x {example} [{}]",
                ids.len(),
                ids.summary(8)
            );
        }
    }
    if !analysis.damaged.is_empty() {
        let count: u64 = analysis.damaged.iter().map(|[s, e]| e - s).sum();
        let _ = writeln!(
            text,
            "damaged records: {count} (these samples will be redone)"
        );
    }
    if analysis.commands.is_empty() {
        text.push_str("nothing to do: every sample up to the highest id is complete\n");
    } else {
        text.push_str("to complete every sample up to the highest id present:\n");
        for command in &analysis.commands {
            let _ = writeln!(text, "  {command}");
        }
    }
    text
}

/// Failures by (block, reason kind): an example reason and the samples.
pub(crate) type FailureGroups = BTreeMap<(String, String), (String, RangeSet)>;

/// Groups failures by block and [`reason_kind`].
pub(crate) fn group_failures(failures: &[Failure]) -> FailureGroups {
    let mut groups = FailureGroups::new();
    for failure in failures {
        add_to_groups(&mut groups, failure);
    }
    groups
}

fn add_to_groups(groups: &mut FailureGroups, failure: &Failure) {
    let key = (failure.block.clone(), reason_kind(&failure.reason));
    let entry = groups
        .entry(key)
        .or_insert_with(|| (failure.reason.clone(), RangeSet::new()));
    entry.1.insert(failure.sample);
}

/// `analyze --sample N`: each block's state, reason, statistics, timing, seed.
pub fn sample_text(dir: &Path, id: u64) -> Result<String> {
    let dataset = Dataset::new(dir);
    let manifest = read_manifest(&dataset)?;
    let sample_dir = dataset.sample_dir(id);
    if !sample_dir.is_dir() {
        return Err(Error::usage(format!(
            "sample {id} is not in {} (no folder {})",
            dir.display(),
            sample_dir.display()
        )));
    }
    let read = read_record(&sample_dir, id);
    let judge = StateJudge::new(manifest.blocks.iter().cloned());
    let states = judge.judge(&sample_dir, read.valid());
    let timings = sample_timings(&dataset, id);
    let mut text = format!("sample {id} in {}\n", dir.display());
    if let RecordRead::Damaged(why) = &read {
        let _ = writeln!(text, "record damaged: {why}; every block counts as missing");
    }
    for (block, state) in manifest.blocks.iter().zip(&states) {
        let seed = BlockSeed::derive(manifest.seed, &block.name, id).value();
        let status = match state {
            BlockState::Complete => "complete".to_owned(),
            BlockState::Failed(reason) => format!("failed: {reason}"),
            BlockState::Rejected(reason) => format!("rejected: {reason}"),
            BlockState::Stale => "stale (made by another version of the pipeline)".to_owned(),
            BlockState::Missing => "missing".to_owned(),
        };
        let _ = writeln!(text, "  {}: {status}\n    seed {seed}", block.name);
        if let Some(seconds) = timings.get(&block.name) {
            let _ = writeln!(text, "    last wall time {seconds:.3} s");
        }
        let stats = read
            .valid()
            .and_then(|r| r.block(&block.name))
            .map(|b| b.stats.clone())
            .unwrap_or_default();
        write_stats(&mut text, &stats);
    }
    Ok(text)
}

fn write_stats(text: &mut String, stats: &Stats) {
    for (key, value) in stats {
        let value = match value {
            crate::block::StatValue::Number(n) => n.to_string(),
            crate::block::StatValue::Text(s) => s.clone(),
        };
        let _ = writeln!(text, "    {key} = {value}");
    }
}

/// The last recorded wall time of each block for sample `id`, over all runs.
fn sample_timings(dataset: &Dataset, id: u64) -> BTreeMap<String, f64> {
    let mut files: Vec<PathBuf> = fs::read_dir(dataset.runs_dir())
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.to_string_lossy().ends_with(".timings.tsv"));
    files.sort();
    let prefix = format!("{id}\t");
    let mut last = BTreeMap::new();
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        for line in text.lines().filter(|l| l.starts_with(&prefix)) {
            let fields: Vec<&str> = line.split('\t').collect();
            if let [_, block, _, seconds] = fields[..] {
                if let Ok(seconds) = seconds.parse::<f64>() {
                    last.insert(block.to_owned(), seconds);
                }
            }
        }
    }
    last
}

/// The manifest's blocks, for [`analysis_text`].
pub fn pipeline_blocks(dir: &Path) -> Result<Vec<crate::dataset::BlockDescription>> {
    Ok(read_manifest(&Dataset::new(dir))?.blocks)
}
