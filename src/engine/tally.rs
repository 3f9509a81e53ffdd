//! The run's own count of what happened to its samples: the numbers in the
//! run log and the run report. It is fed by the engine, never by a display,
//! so a quiet run, a JSON run and a run with a custom observer count alike.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::dataset::runlog::RunCounts;
use crate::engine::execute::SampleOutcome;
use crate::failures::{FailureGroups, REJECTED_PREFIX};
use crate::ranges::RangeSet;

/// Counts and failures of the samples a run handled.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunTally {
    /// The counts, as the run log records them.
    #[serde(flatten)]
    pub counts: RunCounts,
    /// Failed and rejected samples, by block and kind of reason.
    pub failures: FailureGroups,
    /// Per block, the samples left alone by `--do-not-retry-blocks`.
    pub not_retried: BTreeMap<String, RangeSet>,
    /// Samples skipped because another live run held their claim.
    pub claimed_samples: RangeSet,
    /// The runs that held those claims.
    pub claimed_by: BTreeSet<String>,
    /// The signal that interrupted the run (`SIGINT`, `SIGTERM`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted_by: Option<String>,
    /// Set when `--max-failures` stopped the run: how many samples had
    /// failed, and the limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_failures_reached: Option<MaxFailuresReached>,
}

/// `--max-failures N` stopped the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct MaxFailuresReached {
    /// Samples of this run that had failed.
    pub failed: u64,
    /// N.
    pub limit: u64,
}

impl RunTally {
    /// Adds the outcome of `sample`; `blocks` names the pipeline's blocks.
    pub(crate) fn add(&mut self, sample: u64, outcome: &SampleOutcome, blocks: &[String]) {
        let counts = &mut self.counts;
        match outcome {
            SampleOutcome::Completed => counts.completed += 1,
            SampleOutcome::AlreadyComplete => counts.already_complete += 1,
            SampleOutcome::Failed {
                block,
                rejected,
                reason,
            } => {
                match rejected {
                    true => counts.rejected += 1,
                    false => counts.failed += 1,
                }
                let reason = if *rejected {
                    format!("{REJECTED_PREFIX}{reason}")
                } else {
                    reason.clone()
                };
                self.failures.add(&blocks[*block], &reason, sample);
            }
            SampleOutcome::NotRetried { block, failure } => {
                match failure {
                    Some(reason) => {
                        counts.failed += 1;
                        self.failures.add(&blocks[*block], reason, sample);
                    }
                    None => counts.skipped += 1,
                }
                let name = blocks[*block].clone();
                self.not_retried.entry(name).or_default().insert(sample);
            }
            SampleOutcome::ClaimedElsewhere { holder } => {
                counts.claimed_elsewhere += 1;
                self.claimed_samples.insert(sample);
                self.claimed_by.insert(holder.clone());
            }
            SampleOutcome::Stopped { .. } => counts.stopped += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_counted_and_failures_grouped() {
        let blocks = ["a".to_owned(), "b".to_owned()];
        let mut tally = RunTally::default();
        tally.add(0, &SampleOutcome::Completed, &blocks);
        tally.add(1, &SampleOutcome::AlreadyComplete, &blocks);
        let rejected = |id: u64| SampleOutcome::Failed {
            block: 1,
            rejected: true,
            reason: format!("object {id} is 0.{id}% visible"),
        };
        tally.add(2, &rejected(2), &blocks);
        tally.add(3, &rejected(3), &blocks);
        tally.add(
            4,
            &SampleOutcome::NotRetried {
                block: 0,
                failure: None,
            },
            &blocks,
        );
        tally.add(
            5,
            &SampleOutcome::ClaimedElsewhere {
                holder: "run-x".into(),
            },
            &blocks,
        );
        let counts = &tally.counts;
        assert_eq!(
            (
                counts.completed,
                counts.already_complete,
                counts.failed,
                counts.rejected
            ),
            (1, 1, 0, 2)
        );
        assert_eq!((counts.skipped, counts.claimed_elsewhere), (1, 1));
        let groups = tally.failures.largest_first();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].kind, "rejected: object is visible");
        assert_eq!(groups[0].count, 2);
        assert_eq!(tally.not_retried["a"].len(), 1);
    }
}
