//! Deciding what runs: block states + flags -> per-sample steps and reasons.
//!
//! Pure functions of their inputs, so a dry run, the summary printed before a
//! run and the run itself always agree.

use std::collections::BTreeMap;

use crate::dataset::state::{final_rejection, BlockState};
use crate::pipeline::description::BlockDescription;
use crate::ranges::RangeSet;

/// Why a block runs on a sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RunReason {
    /// It never ran, or its outputs are gone.
    Missing,
    /// Its last attempt failed: retried.
    Failed,
    /// Its last attempt was rejected by validation: retried.
    Rejected,
    /// The pipeline changed since it ran.
    Stale,
    /// Named in `--force-run-blocks`.
    Forced,
    /// An earlier block reruns, so this one must too.
    AfterEarlier,
    /// It declares no outputs, so it runs on every run.
    NoOutputs,
}

impl RunReason {
    /// A short word for summaries.
    pub fn label(self) -> &'static str {
        match self {
            RunReason::Missing => "missing",
            RunReason::Failed => "failed before",
            RunReason::Rejected => "rejected before",
            RunReason::Stale => "stale",
            RunReason::Forced => "forced",
            RunReason::AfterEarlier => "after an earlier block",
            RunReason::NoOutputs => "no outputs, runs every time",
        }
    }

    fn of_state(state: &BlockState) -> Self {
        match state {
            BlockState::Failed(_) => RunReason::Failed,
            BlockState::Rejected(_) => RunReason::Rejected,
            BlockState::Stale => RunReason::Stale,
            BlockState::Missing | BlockState::Complete => RunReason::Missing,
        }
    }
}

/// The flags that change what runs, as per-block booleans in chain order.
#[derive(Clone, Debug, Default)]
pub(crate) struct PlanOptions {
    /// `--force-run-blocks`.
    pub force: Vec<bool>,
    /// `--do-not-retry-blocks`.
    pub no_retry: Vec<bool>,
    /// `--rerun-failed`: when set, only the samples whose recorded failure
    /// or rejection reason it matches run; every other sample is left alone.
    pub rerun_failed: Option<FailureFilter>,
}

/// `--rerun-failed REGEX`: matches a recorded reason anywhere in it, as
/// `grep -E` matches a line.
#[derive(Clone, Debug)]
pub(crate) struct FailureFilter(regex_lite::Regex);

impl FailureFilter {
    /// The filter of `pattern`, or why it is not a valid regex.
    pub(crate) fn new(pattern: &str) -> Result<Self, String> {
        regex_lite::Regex::new(pattern).map(Self).map_err(|e| {
            e.to_string()
                .lines()
                .last()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
    }

    /// Whether `reason` matches anywhere.
    pub(crate) fn matches(&self, reason: &str) -> bool {
        self.0.is_match(reason)
    }
}

/// What happens to one sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SamplePlan {
    /// Every block is complete and none must run: nothing to do.
    Complete,
    /// Run these blocks, in order.
    Run {
        /// The first block with outputs that reruns: its outputs and those of
        /// every later block are forgotten and removed before anything runs.
        reset_from: Option<usize>,
        /// `(block index, reason)` in chain order.
        steps: Vec<(usize, RunReason)>,
    },
    /// A block that would have to run is listed in `--do-not-retry-blocks`:
    /// the sample is left alone entirely.
    NotRetried {
        /// That block.
        block: usize,
    },
    /// Rejected by this block's validation with its current fingerprint,
    /// after blocks that are all complete: the rejection is final and the
    /// sample counts as done, until the fingerprint changes or a flag
    /// (`--force-run-blocks`, `--rerun-failed`) asks for it again.
    Rejected {
        /// The block that rejected it.
        block: usize,
    },
    /// `--rerun-failed` was given and this sample's reason (if it failed at
    /// all) does not match: left alone.
    NotSelected,
}

impl SamplePlan {
    /// Whether a run has anything to do with this sample.
    pub(crate) fn has_work(&self) -> bool {
        matches!(self, SamplePlan::Run { .. } | SamplePlan::NotRetried { .. })
    }
}

/// Plans one sample. `states` and `blocks` are in chain order.
pub(crate) fn plan_sample(
    blocks: &[BlockDescription],
    states: &[BlockState],
    options: &PlanOptions,
) -> SamplePlan {
    let forced = |i: usize| options.force.get(i).copied().unwrap_or(false);
    let failure = states.iter().position(|s| s.failure_reason().is_some());
    match (&options.rerun_failed, failure) {
        (Some(filter), Some(i))
            if states[i]
                .failure_reason()
                .is_some_and(|r| filter.matches(r)) => {}
        (Some(_), _) => return SamplePlan::NotSelected,
        (None, _) => match final_rejection(states) {
            Some(i) if !(0..=i).any(forced) => return SamplePlan::Rejected { block: i },
            _ => {}
        },
    }
    let reset_from = (0..blocks.len())
        .find(|&i| blocks[i].has_outputs() && (forced(i) || !states[i].is_complete()));
    let mut steps = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let reason = match reset_from {
            Some(first) if i == first && forced(i) => RunReason::Forced,
            Some(first) if i == first => RunReason::of_state(&states[i]),
            Some(first) if i > first && forced(i) => RunReason::Forced,
            Some(first) if i > first && block.has_outputs() => RunReason::AfterEarlier,
            _ if !block.has_outputs() => RunReason::NoOutputs,
            _ => continue,
        };
        if options.no_retry.get(i).copied().unwrap_or(false) {
            return SamplePlan::NotRetried { block: i };
        }
        steps.push((i, reason));
    }
    if steps.is_empty() {
        SamplePlan::Complete
    } else {
        SamplePlan::Run { reset_from, steps }
    }
}

/// What a scan found over many samples, as ranges: the summary printed
/// before every run and by `--dry-run`.
#[derive(Clone, Debug, Default)]
pub struct PlanSummary {
    /// Samples scanned.
    pub targeted: u64,
    /// Samples with nothing to do.
    pub complete: RangeSet,
    /// Per block index: the samples it runs on, by reason.
    pub runs: BTreeMap<usize, BTreeMap<RunReason, RangeSet>>,
    /// Per block index: samples left alone by `--do-not-retry-blocks`.
    pub not_retried: BTreeMap<usize, RangeSet>,
    /// Samples whose record was damaged (they rerun from the first block).
    pub damaged: RangeSet,
    /// Per block index: samples it rejected, finally (see
    /// [`SamplePlan::Rejected`]); they count as done.
    pub rejected: BTreeMap<usize, RangeSet>,
    /// Samples left alone because `--rerun-failed` does not select them.
    pub not_selected: RangeSet,
}

impl PlanSummary {
    /// Adds the same plan for every sample of `range` (absent samples, in
    /// bulk: a range of billions costs what one sample does).
    pub fn add_range(&mut self, range: crate::ranges::SampleRange, plan: &SamplePlan) {
        self.targeted += range.len();
        match plan {
            SamplePlan::Complete => self.complete.insert_range(range),
            SamplePlan::Run { steps, .. } => {
                for &(block, reason) in steps {
                    let runs = self.runs.entry(block).or_default();
                    runs.entry(reason).or_default().insert_range(range);
                }
            }
            SamplePlan::NotRetried { block } => self
                .not_retried
                .entry(*block)
                .or_default()
                .insert_range(range),
            SamplePlan::Rejected { block } => {
                self.rejected.entry(*block).or_default().insert_range(range)
            }
            SamplePlan::NotSelected => self.not_selected.insert_range(range),
        }
    }

    /// Adds the plan of sample `id`.
    pub fn add(&mut self, id: u64, plan: &SamplePlan, damaged: bool) {
        self.targeted += 1;
        if damaged {
            self.damaged.insert(id);
        }
        match plan {
            SamplePlan::Complete => self.complete.insert(id),
            SamplePlan::Run { steps, .. } => {
                for &(block, reason) in steps {
                    self.runs
                        .entry(block)
                        .or_default()
                        .entry(reason)
                        .or_default()
                        .insert(id);
                }
            }
            SamplePlan::NotRetried { block } => {
                self.not_retried.entry(*block).or_default().insert(id)
            }
            SamplePlan::Rejected { block } => self.rejected.entry(*block).or_default().insert(id),
            SamplePlan::NotSelected => self.not_selected.insert(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BlockState::*;

    fn chain(outputs: &[bool]) -> Vec<BlockDescription> {
        outputs
            .iter()
            .enumerate()
            .map(|(i, &has)| {
                let output = format!("o{i}");
                let outputs: &[&str] = if has { &[&output] } else { &[] };
                BlockDescription::for_test(&format!("b{i}"), outputs)
            })
            .collect()
    }

    fn options(n: usize, force: &[usize], no_retry: &[usize]) -> PlanOptions {
        PlanOptions {
            force: (0..n).map(|i| force.contains(&i)).collect(),
            no_retry: (0..n).map(|i| no_retry.contains(&i)).collect(),
            rerun_failed: None,
        }
    }

    #[test]
    fn first_incomplete_block_and_everything_after_run() {
        let blocks = chain(&[true, true, true]);
        let plan = plan_sample(&blocks, &[Complete, Stale, Missing], &options(3, &[], &[]));
        assert_eq!(
            plan,
            SamplePlan::Run {
                reset_from: Some(1),
                steps: vec![(1, RunReason::Stale), (2, RunReason::AfterEarlier)]
            }
        );
        let done = [Complete, Complete, Complete];
        assert_eq!(
            plan_sample(&blocks, &done, &options(3, &[], &[])),
            SamplePlan::Complete
        );
        let forced = plan_sample(&blocks, &done, &options(3, &[2], &[]));
        assert_eq!(
            forced,
            SamplePlan::Run {
                reset_from: Some(2),
                steps: vec![(2, RunReason::Forced)]
            }
        );
    }

    #[test]
    fn blocks_without_outputs_always_run_and_never_reset() {
        let blocks = chain(&[true, false, true]);
        let done = [Complete, Complete, Complete];
        assert_eq!(
            plan_sample(&blocks, &done, &options(3, &[], &[])),
            SamplePlan::Run {
                reset_from: None,
                steps: vec![(1, RunReason::NoOutputs)]
            }
        );
    }

    #[test]
    fn do_not_retry_leaves_the_whole_sample_alone() {
        let blocks = chain(&[true, true]);
        let states = [Complete, Failed("x".into())];
        assert_eq!(
            plan_sample(&blocks, &states, &options(2, &[], &[1])),
            SamplePlan::NotRetried { block: 1 }
        );
        let states = [Missing, Missing];
        assert_eq!(
            plan_sample(&blocks, &states, &options(2, &[], &[1])),
            SamplePlan::NotRetried { block: 1 }
        );
    }

    #[test]
    fn a_rejection_is_final_until_forced_or_an_earlier_block_changes() {
        let blocks = chain(&[true, true, true]);
        let rejected = [Complete, Rejected("too dark".into()), Missing];
        let none = options(3, &[], &[]);
        assert_eq!(
            plan_sample(&blocks, &rejected, &none),
            SamplePlan::Rejected { block: 1 }
        );
        let forced = plan_sample(&blocks, &rejected, &options(3, &[1], &[]));
        assert!(matches!(
            forced,
            SamplePlan::Run {
                reset_from: Some(1),
                ..
            }
        ));
        let earlier_forced = plan_sample(&blocks, &rejected, &options(3, &[0], &[]));
        assert!(matches!(
            earlier_forced,
            SamplePlan::Run {
                reset_from: Some(0),
                ..
            }
        ));
        // A later block forced does not reopen the rejection.
        assert_eq!(
            plan_sample(&blocks, &rejected, &options(3, &[2], &[])),
            SamplePlan::Rejected { block: 1 }
        );
        let earlier_stale = [Stale, Rejected("too dark".into()), Missing];
        assert!(matches!(
            plan_sample(&blocks, &earlier_stale, &none),
            SamplePlan::Run {
                reset_from: Some(0),
                ..
            }
        ));
        // A stale rejecting block reads as Stale, not Rejected: it reruns.
        let failed = [Complete, Failed("exit code 1".into()), Missing];
        assert!(matches!(
            plan_sample(&blocks, &failed, &none),
            SamplePlan::Run {
                reset_from: Some(1),
                ..
            }
        ));
    }

    #[test]
    fn rerun_failed_selects_only_matching_reasons() {
        let blocks = chain(&[true, true]);
        let mut select = options(2, &[], &[]);
        select.rerun_failed = Some(FailureFilter::new("licen[cs]e|GPU").unwrap());
        let plan = |states: &[BlockState]| plan_sample(&blocks, states, &select);
        assert!(matches!(
            plan(&[Complete, Failed("exit code 1: no license server".into())]),
            SamplePlan::Run {
                reset_from: Some(1),
                ..
            }
        ));
        assert!(matches!(
            plan(&[Complete, Rejected("GPU result blank".into())]),
            SamplePlan::Run {
                reset_from: Some(1),
                ..
            }
        ));
        assert_eq!(
            plan(&[Complete, Failed("timed out after 5 s".into())]),
            SamplePlan::NotSelected
        );
        assert_eq!(plan(&[Missing, Missing]), SamplePlan::NotSelected);
        assert_eq!(plan(&[Complete, Complete]), SamplePlan::NotSelected);
        assert!(FailureFilter::new("(unclosed").is_err());
        select.no_retry = vec![false, true];
        assert_eq!(
            plan_sample(&blocks, &[Complete, Failed("license".into())], &select),
            SamplePlan::NotRetried { block: 1 }
        );
    }
}
