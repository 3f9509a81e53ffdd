//! `shardgen run --accept-changes BLOCK,...`: the user asserts that a change
//! of these blocks (an edited script, a bumped `version:`) does not alter
//! their outputs, so the samples made before it are kept.
//!
//! For each targeted sample on which a named block is complete under the
//! fingerprint of the dataset's manifest, the block's record entry gets the
//! new fingerprint; so does every later block whose only change is the
//! chained fingerprint and that is complete too. Nothing else is touched, no
//! block runs. Each record is rewritten atomically under the sample's claim,
//! then the manifest, and the run log says which blocks and samples.

use rayon::prelude::*;

use crate::claim::{Claim, Claims};
use crate::dataset::{BlockDescription, Dataset, PipelineManifest};
use crate::error::{Error, Result};
use crate::pipeline::{own_changes, Pipeline};
use crate::ranges::RangeSet;
use crate::record::{read_record, write_record};
use crate::run::{RunOptions, Targets};
use crate::runlog::{now_rfc3339, RunCounts, RunId, RunLog};
use crate::state::{BlockState, StateJudge};

/// A block whose records get the new fingerprint: its index in the old
/// manifest and its new fingerprint.
struct Rewrite {
    old_index: usize,
    name: String,
    fingerprint: String,
}

/// Runs `--accept-changes` (names already checked against the pipeline).
pub(crate) fn accept_changes(
    pipeline: &Pipeline,
    options: &RunOptions,
    manifest: Option<&PipelineManifest>,
    dataset: &Dataset,
    targets: &Targets,
    lease: std::time::Duration,
) -> Result<RunCounts> {
    let Some(manifest) = manifest else {
        return Err(Error::usage(format!(
            "--accept-changes: {} holds no dataset yet, so there is no change to accept; \
             run without it",
            options.out.display()
        )));
    };
    let current: Vec<BlockDescription> = pipeline
        .blocks
        .iter()
        .map(|b| b.description.clone())
        .collect();
    let rewrites = rewrites(&manifest.blocks, &current, &options.accept_changes)?;
    let names: Vec<&str> = rewrites.iter().map(|r| r.name.as_str()).collect();
    let judge = StateJudge::new(manifest.blocks.clone());
    let mut ids = Vec::new();
    targets.for_each_chunk(|batch| ids.extend_from_slice(batch));

    if options.dry_run {
        let would = judge.judge_samples(dataset, &ids, |sample| {
            rewrites
                .iter()
                .any(|r| sample.states[r.old_index] == BlockState::Complete)
        });
        let count = would.iter().filter(|&&w| w).count();
        println!(
            "--accept-changes would record the new fingerprint of {} on {count} of {} samples \
             (dry run: nothing changed)",
            names.join(", "),
            ids.len()
        );
        return Ok(RunCounts {
            targeted: ids.len() as u64,
            ..RunCounts::default()
        });
    }

    let run_id = RunId::new();
    let claims = Claims::start(dataset, &run_id, lease, None);
    let mut log = RunLog {
        run: run_id.as_str().to_owned(),
        command_line: options.command_line.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        config: options.config.clone(),
        samples: format!(
            "{}: accept changes of {}",
            targets.describe(),
            names.join(", ")
        ),
        jobs: rayon::current_num_threads(),
        host: crate::host::name().to_owned(),
        pid: std::process::id(),
        started: now_rfc3339(),
        finished: None,
        status: "running".to_owned(),
        counts: RunCounts::default(),
        accepted_changes: None,
    };
    log.write(dataset)?;
    let outcomes: Vec<Result<Accepted>> = ids
        .par_iter()
        .map(|&id| accept_sample(dataset, &judge, &rewrites, &claims, id))
        .collect();
    let mut accepted = RangeSet::new();
    let mut elsewhere = 0;
    let mut first_error = None;
    for (&id, outcome) in ids.iter().zip(outcomes) {
        match outcome {
            Ok(Accepted::Yes) => accepted.insert(id),
            Ok(Accepted::No) => {}
            Ok(Accepted::ClaimedElsewhere) => elsewhere += 1,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if first_error.is_none() && !accepted.is_empty() {
        dataset.write_manifest(&pipeline.manifest())?;
    }
    let summary = format!(
        "new fingerprint of {} recorded on {} samples{}",
        names.join(", "),
        accepted.len(),
        if accepted.is_empty() {
            String::new()
        } else {
            format!(": {}", accepted.summary(8))
        }
    );
    log.finished = Some(now_rfc3339());
    log.accepted_changes = Some(summary.clone());
    log.counts = RunCounts {
        targeted: ids.len() as u64,
        claimed_elsewhere: elsewhere,
        ..RunCounts::default()
    };
    log.status = match &first_error {
        None => "finished".to_owned(),
        Some(e) => format!("stopped: {e}"),
    };
    log.write(dataset)?;
    claims.finish();
    if let Some(error) = first_error {
        return Err(error);
    }
    if !options.quiet {
        let left = ids.len() as u64 - accepted.len() - elsewhere;
        eprintln!(
            "accepted changes: {summary}; {left} targeted samples were not complete under \
             the old fingerprint and were left as they are{}",
            if elsewhere > 0 {
                format!("; {elsewhere} were claimed by another run")
            } else {
                String::new()
            }
        );
    }
    Ok(log.counts)
}

enum Accepted {
    Yes,
    No,
    ClaimedElsewhere,
}

fn accept_sample(
    dataset: &Dataset,
    judge: &StateJudge,
    rewrites: &[Rewrite],
    claims: &Claims,
    id: u64,
) -> Result<Accepted> {
    let _claim = match claims.acquire(id)? {
        Claim::Elsewhere { .. } => return Ok(Accepted::ClaimedElsewhere),
        held => held,
    };
    let dir = dataset.sample_dir(id);
    let read = read_record(&dir, id);
    let Some(mut record) = read.valid().cloned() else {
        return Ok(Accepted::No);
    };
    let states = judge.judge(&dir, Some(&record));
    let mut changed = false;
    for rewrite in rewrites {
        if states[rewrite.old_index] != BlockState::Complete {
            continue;
        }
        if let Some(entry) = record.blocks.iter_mut().find(|b| b.name == rewrite.name) {
            entry.fingerprint.clone_from(&rewrite.fingerprint);
            changed = true;
        }
    }
    if !changed {
        return Ok(Accepted::No);
    }
    write_record(&dir, &record).map_err(|e| Error::io("cannot write the record in", &dir, e))?;
    Ok(Accepted::Yes)
}

/// The blocks to rewrite: those named, and later ones whose only change is
/// the chained fingerprint of blocks that are rewritten too.
fn rewrites(
    old: &[BlockDescription],
    current: &[BlockDescription],
    accepted: &[String],
) -> Result<Vec<Rewrite>> {
    let mut rewrites = Vec::new();
    let mut chain_intact = true;
    for block in current {
        let named = accepted.contains(&block.name);
        let Some(old_index) = old.iter().position(|b| b.name == block.name) else {
            if named {
                return Err(Error::usage(format!(
                    "--accept-changes: block '{}' is new since the dataset was made; there \
                     are no samples of it to keep",
                    block.name
                )));
            }
            chain_intact &= !block.has_outputs();
            continue;
        };
        let before = &old[old_index];
        if before.fingerprint == block.fingerprint {
            if named {
                return Err(Error::usage(format!(
                    "--accept-changes: block '{}' has not changed since the dataset was made; \
                     nothing to accept",
                    block.name
                )));
            }
            continue;
        }
        let own = own_changes(before, block);
        if named && own.is_empty() && !chain_intact {
            return Err(Error::usage(format!(
                "--accept-changes: block '{}' did not change itself, a block before it did; \
                 accept that block too, or let both run",
                block.name
            )));
        }
        if named || (chain_intact && own.is_empty()) {
            rewrites.push(Rewrite {
                old_index,
                name: block.name.clone(),
                fingerprint: block.fingerprint.clone(),
            });
        } else if block.has_outputs() {
            chain_intact = false;
        }
    }
    Ok(rewrites)
}
