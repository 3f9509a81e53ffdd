//! Which samples a command targets, and the scan that plans them: the
//! records of the targeted samples, read in parallel batches, judged against
//! the pipeline and turned into a [`PlanSummary`] and the ids with work.

use crate::dataset::facts_spool::FactsSpool;
use crate::dataset::record::RecordRead;
use crate::dataset::sample_facts::SampleFacts;
use crate::dataset::state::StateJudge;
use crate::dataset::statistics_stamp::StatisticsStamp;
use crate::dataset::Dataset;
use crate::engine::plan::{plan_sample, PlanOptions, PlanSummary};
use crate::error::{Result, UsageError};
use crate::layout::MAX_SAMPLE_ID;
use crate::pipeline::description::BlockDescription;
use crate::pipeline::Pipeline;
use crate::ranges::{RangeSet, SampleRange};

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

/// The samples a command targets.
pub(crate) enum Targets {
    /// An explicit range.
    Range(SampleRange),
    /// The samples present in the dataset (sorted).
    Present(Vec<u64>),
}

impl Targets {
    /// The targets in words, e.g. `samples 0..1000`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Targets::Range(range) => format!("samples {}..{}", range.start, range.end),
            Targets::Present(ids) => format!("the {} samples present", ids.len()),
        }
    }
}

/// What a scan cost, in the run's JSON report (`plan.scan`): it grows with
/// the samples present in the targeted range, never with absent ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ScanCounts {
    /// Folders listed: the dataset root and the buckets overlapping the range.
    pub folders_listed: u64,
    /// Sample records read: one per sample entry present in the range.
    pub records_read: u64,
}

/// Scans the targets in parallel batches: the plan summary, the ids with
/// work to do, what the scan cost, and `stamp` fed with every sample read
/// when they were all the samples present (else `None`). Of a range, only the sample folders
/// present are read (the root and the buckets overlapping the range are
/// listed to find them); the absent stretches between them share one plan,
/// added in bulk, so a range of billions of new samples is planned at once.
///
/// With `known`, the facts of every sample read that has no work (the run
/// leaves it as it is) go there, for the statistics pass at the end of the
/// run: it then does not read those records again.
pub(crate) fn scan(
    dataset: &Dataset,
    judge: &StateJudge,
    descriptions: &[BlockDescription],
    options: &PlanOptions,
    targets: &Targets,
    mut stamp: StatisticsStamp,
    mut known: Option<&mut FactsSpool>,
) -> Result<(PlanSummary, RangeSet, ScanCounts, Option<StatisticsStamp>)> {
    let mut summary = PlanSummary::default();
    let mut work = RangeSet::new();
    // One listing of the root and of each bucket overlapping the targets:
    // which samples exist, and which of them are not real folders
    // (symlinks, files: damaged, set aside by run).
    let range = match targets {
        Targets::Present(_) => None,
        Targets::Range(range) => Some(*range),
    };
    let listed = match targets {
        Targets::Present(ids) => ids
            .first()
            .zip(ids.last())
            .map(|(&first, &last)| SampleRange::new(first, last + 1)),
        Targets::Range(range) => Some(*range),
    };
    let listing = match (targets, listed) {
        (Targets::Present(_), None) => Default::default(),
        _ => dataset.list_samples(listed)?,
    };
    let entries = &listing.entries;
    let not_folder = |id: u64| {
        entries
            .binary_search_by_key(&id, |e| e.id)
            .is_ok_and(|at| !entries[at].is_folder)
    };
    let ids: Vec<u64> = match targets {
        Targets::Present(ids) => ids.clone(),
        Targets::Range(_) => entries.iter().map(|e| e.id).collect(),
    };
    let counts = ScanCounts {
        folders_listed: listing.folders_listed,
        records_read: ids.len() as u64,
    };
    let absent = plan_sample(descriptions, &judge.judge(dataset.root(), None), options);
    let add_absent = |summary: &mut PlanSummary, work: &mut RangeSet, stretch: SampleRange| {
        if range.is_some() && !stretch.is_empty() {
            summary.add_range(stretch, &absent);
            if absent.has_work() {
                work.insert_range(stretch);
            }
        }
    };
    let names: Vec<String> = descriptions.iter().map(|d| d.name.clone()).collect();
    let mut next = range.map_or(0, |r| r.start);
    for batch in ids.chunks(SCAN_CHUNK as usize) {
        let keep = known.is_some();
        let plans = judge.judge_samples(dataset, batch, |id, sample| {
            let plan = plan_sample(descriptions, &sample.states, options);
            let damaged = matches!(sample.record, RecordRead::Damaged(_));
            let digest = sample.record_digest;
            // Only the facts of samples the run leaves alone are kept,
            // encoded here: their stats maps cost far more than their bytes.
            let (states, facts) = match keep && !plan.has_work() {
                true => {
                    let facts = SampleFacts::from_judged(id, sample, &names);
                    let mut encoded = Vec::new();
                    facts.encode(&mut encoded);
                    (facts.states, Some(encoded))
                }
                false => (sample.states, None),
            };
            (plan, damaged, digest, states, facts)
        });
        for (&id, (mut plan, mut damaged, digest, states, facts)) in batch.iter().zip(plans) {
            stamp.add(id, digest, &states);
            if not_folder(id) {
                (plan, damaged) = (absent.clone(), true);
            }
            add_absent(&mut summary, &mut work, SampleRange::new(next.min(id), id));
            next = id + 1;
            summary.add(id, &plan, damaged);
            if plan.has_work() {
                work.insert(id);
            } else if let Some((known, facts)) = known.as_deref_mut().zip(facts) {
                known.push_encoded(id, &facts);
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
    // The stamp is of the whole dataset only if the scan read all of it.
    let stamp = listing.covers_all.then_some(stamp);
    Ok((summary, work, counts, stamp))
}

/// The samples to work on: an explicit range, or those present.
pub(crate) fn resolve_targets(
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
            return Err(UsageError::ShardNeedsCount.into());
        }
        let ids = dataset.present_samples_in(SampleRange::new(start, MAX_SAMPLE_ID + 1))?;
        if ids.is_empty() && !dataset.meta_dir().exists() {
            return Err(UsageError::NoSamples {
                dataset: dataset.root().to_path_buf(),
            }
            .into());
        }
        return Ok(Targets::Present(ids));
    };
    let range = checked_range(start, count)?;
    Ok(Targets::Range(
        selection.shard.map_or(range, |s| s.part_of(range)),
    ))
}

/// `--start-sample S --num-samples N` as the range `[S, S+N)`, or the usage
/// error of a range past the largest sample id.
pub(crate) fn checked_range(start: u64, count: u64) -> Result<SampleRange> {
    let end = start
        .checked_add(count)
        .filter(|&end| end <= MAX_SAMPLE_ID + 1)
        .ok_or(UsageError::RangeTooLarge {
            start,
            count,
            max: MAX_SAMPLE_ID,
        })?;
    Ok(SampleRange::new(start, end))
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
