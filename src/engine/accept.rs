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
//!
//! It costs what is on disk, like the scan ([`crate::engine::scan`]): one
//! listing of the root and of each bucket overlapping the targets
//! ([`Dataset::list_samples`]) finds the sample folders present, and only
//! their records are read (and, on a real run, only they are claimed). An
//! absent sample has nothing to accept and costs no system call: it counts
//! in `targeted` and among the samples left alone, unless a live run holds
//! its claim (it is being made right now): a real run lists the claims
//! folder once for those, and counts them as claimed elsewhere. An entry
//! named like a sample that is not a real folder (a symlink, a file) is
//! damage: it is left alone, never read through.

use rayon::prelude::*;
use serde::Serialize;

use crate::dataset::claim::{claimed_samples, claims_dir, Claim, Claims};
use crate::dataset::record::{read_record, write_record};
use crate::dataset::runlog::RunLog;
use crate::dataset::state::{BlockState, StateJudge};
use crate::dataset::Dataset;
use crate::engine::scan::{ScanCounts, Targets};
use crate::error::{Error, Result, UsageError};
use crate::pipeline::description::{BlockDescription, PipelineManifest};
use crate::pipeline::fingerprint::own_changes;
use crate::pipeline::Pipeline;
use crate::process::now_rfc3339;
use crate::ranges::{RangeSet, SampleRange};

/// A block whose records get the new fingerprint: its index in the old
/// manifest and its new fingerprint.
struct Rewrite {
    old_index: usize,
    name: String,
    fingerprint: String,
}

/// What `--accept-changes` did (or, on a dry run, would do).
#[derive(Clone, Debug, Default, Serialize)]
pub struct AcceptReport {
    /// The blocks whose new fingerprint is recorded (those named and later
    /// ones whose only change is the chain).
    pub blocks: Vec<String>,
    /// Samples targeted.
    pub targeted: u64,
    /// Samples that got the new fingerprints (on a dry run: would get).
    pub accepted: RangeSet,
    /// Samples held by another live run, left alone.
    pub claimed_elsewhere: u64,
    /// What finding them cost: folders listed, records read (the sample
    /// folders present in the targets, less those claimed elsewhere).
    pub scan: ScanCounts,
}

impl AcceptReport {
    /// Targeted samples not complete under the old fingerprint, left as they are.
    pub fn left_alone(&self) -> u64 {
        self.targeted - self.accepted.len() - self.claimed_elsewhere
    }
}

/// What the accepting needs from the prepared run.
pub(crate) struct AcceptJob<'a> {
    pub(crate) pipeline: &'a Pipeline,
    pub(crate) manifest: Option<&'a PipelineManifest>,
    pub(crate) dataset: &'a Dataset,
    pub(crate) targets: &'a Targets,
    pub(crate) names: &'a [String],
}

impl AcceptJob<'_> {
    /// The dataset's manifest, the blocks to rewrite and the judge of the
    /// old pipeline; reads nothing of the samples.
    fn prepare(&self) -> Result<(Vec<Rewrite>, StateJudge)> {
        let Some(manifest) = self.manifest else {
            return Err(UsageError::NothingToAccept {
                dataset: self.dataset.root().to_path_buf(),
            }
            .into());
        };
        let rewrites = rewrites(&manifest.blocks, &self.pipeline.descriptions(), self.names)?;
        let judge = StateJudge::new(manifest.blocks.clone());
        Ok((rewrites, judge))
    }

    /// The samples targeted and those present among them, from one listing
    /// of the root and of the buckets overlapping the targets.
    fn present(&self) -> Result<Present> {
        let (targeted, span) = match self.targets {
            Targets::Range(range) => (range.len(), Some(*range)),
            Targets::Present(ids) => (
                ids.len() as u64,
                ids.first()
                    .zip(ids.last())
                    .map(|(&first, &last)| SampleRange::new(first, last + 1)),
            ),
        };
        let Some(span) = span else {
            return Ok(Present::default());
        };
        let listing = self.dataset.list_samples(Some(span))?;
        let targets = |id: &u64| match self.targets {
            Targets::Range(_) => true,
            // The ids were listed a moment ago; keep those still there.
            Targets::Present(ids) => ids.binary_search(id).is_ok(),
        };
        Ok(Present {
            targeted,
            folders: listing
                .entries
                .iter()
                .filter(|e| e.is_folder && targets(&e.id))
                .map(|e| e.id)
                .collect(),
            entries: listing.entries.iter().map(|e| e.id).collect(),
            folders_listed: listing.folders_listed,
        })
    }

    /// The targeted samples absent from `present` that have a claim: made
    /// by another run right now (or left by a dead one).
    fn claimed_absent(&self, present: &Present) -> Result<Vec<u64>> {
        let Targets::Range(range) = self.targets else {
            return Ok(Vec::new());
        };
        let claimed = claimed_samples(self.dataset, *range)
            .map_err(|e| Error::io("cannot read", claims_dir(self.dataset), e))?;
        Ok(claimed
            .into_iter()
            .filter(|id| present.entries.binary_search(id).is_err())
            .collect())
    }

    /// Checks the names against the dataset's and the config's pipelines.
    pub(crate) fn check(&self) -> Result<()> {
        self.prepare().map(drop)
    }

    /// Which samples would be accepted; changes nothing.
    pub(crate) fn dry_run(&self) -> Result<AcceptReport> {
        let (rewrites, judge) = self.prepare()?;
        let Present {
            targeted,
            folders: ids,
            folders_listed,
            ..
        } = self.present()?;
        let would = judge.judge_samples(self.dataset, &ids, |_, sample| {
            rewrites
                .iter()
                .any(|r| sample.states[r.old_index] == BlockState::Complete)
        });
        let mut accepted = RangeSet::new();
        for (&id, yes) in ids.iter().zip(would) {
            if yes {
                accepted.insert(id);
            }
        }
        Ok(AcceptReport {
            blocks: rewrites.into_iter().map(|r| r.name).collect(),
            targeted,
            accepted,
            claimed_elsewhere: 0,
            scan: ScanCounts {
                folders_listed,
                records_read: ids.len() as u64,
            },
        })
    }

    /// Records the new fingerprints, each sample under its claim, then the
    /// manifest; notes it in `log` (written by the caller).
    pub(crate) fn accept(&self, claims: &Claims, log: &mut RunLog) -> Result<AcceptReport> {
        let (rewrites, judge) = self.prepare()?;
        let present = self.present()?;
        let claimed_absent = self.claimed_absent(&present)?;
        let Present {
            targeted,
            folders: ids,
            folders_listed,
            ..
        } = present;
        let outcomes: Vec<Result<Accepted>> = ids
            .par_iter()
            .map(|&id| accept_sample(self.dataset, &judge, &rewrites, claims, id))
            .collect();
        let mut report = AcceptReport {
            blocks: rewrites.iter().map(|r| r.name.clone()).collect(),
            targeted,
            scan: ScanCounts {
                folders_listed,
                records_read: 0,
            },
            ..AcceptReport::default()
        };
        let mut first_error = None;
        for (&id, outcome) in ids.iter().zip(outcomes) {
            match outcome {
                Ok(Accepted::Yes) => {
                    report.accepted.insert(id);
                    report.scan.records_read += 1;
                }
                Ok(Accepted::No) => report.scan.records_read += 1,
                Ok(Accepted::ClaimedElsewhere) => report.claimed_elsewhere += 1,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        // Absent when listed, nothing to accept; but one a live run is
        // making counts as held by it, as a present one would.
        for &id in &claimed_absent {
            match claims.acquire(id) {
                Ok(Claim::Elsewhere { .. }) => report.claimed_elsewhere += 1,
                Ok(Claim::Held(_)) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if first_error.is_none() && !report.accepted.is_empty() {
            self.dataset.write_manifest(&self.pipeline.manifest())?;
        }
        log.finished = Some(now_rfc3339());
        log.accepted_changes = Some(format!(
            "new fingerprint of {} recorded on {} samples{}",
            report.blocks.join(", "),
            report.accepted.len(),
            if report.accepted.is_empty() {
                String::new()
            } else {
                format!(": {}", report.accepted.summary(8))
            }
        ));
        log.counts.targeted = report.targeted;
        log.counts.claimed_elsewhere = report.claimed_elsewhere;
        match first_error {
            None => Ok(report),
            Some(error) => Err(error),
        }
    }
}

/// The samples targeted and the sample folders present among them.
#[derive(Default)]
struct Present {
    /// How many samples are targeted.
    targeted: u64,
    /// The targeted sample folders present, sorted.
    folders: Vec<u64>,
    /// Every sample entry listed (folders or not), sorted.
    entries: Vec<u64>,
    /// Folders listed to find them.
    folders_listed: u64,
}

/// What became of one sample folder present.
enum Accepted {
    /// Its record got the new fingerprints.
    Yes,
    /// Its record was read (or found gone): nothing to accept.
    No,
    /// Another live run holds it; its record was not read.
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
                return Err(UsageError::AcceptNewBlock {
                    block: block.name.clone(),
                }
                .into());
            }
            chain_intact &= !block.has_outputs();
            continue;
        };
        let before = &old[old_index];
        if before.fingerprint == block.fingerprint {
            if named {
                return Err(UsageError::AcceptUnchanged {
                    block: block.name.clone(),
                }
                .into());
            }
            continue;
        }
        let own = own_changes(before, block);
        if named && own.is_empty() && !chain_intact {
            return Err(UsageError::AcceptOnlyChained {
                block: block.name.clone(),
            }
            .into());
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
