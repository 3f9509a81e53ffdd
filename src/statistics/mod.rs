//! The statistics pass: records of the complete samples -> `statistics.yaml`,
//! `statistics.csv`, `timings.yaml`, the charts and contact sheet in
//! `plots/`, and `report.html` ([`crate::html`]). It runs at the end of
//! every `shardgen run`, and alone with `--statistics-only` (the step after
//! merging shards); it runs no block.
//!
//! Samples are fed to the [`Aggregator`] in increasing id order, so memory
//! stays bounded and the result does not depend on how the dataset was
//! made. At the end of a run, most of them come from what the run already
//! knows ([`SampleFacts`] kept by its scan and by its executor); the others
//! are read in parallel batches.

pub(crate) mod contact_sheet;
pub(crate) mod error;
pub(crate) mod moments;
pub(crate) mod point_sample;
pub(crate) mod sketch;
pub(crate) mod summary;
pub(crate) mod table;
pub(crate) mod timings;

use std::path::{Path, PathBuf};

use crate::dataset::facts_spool::SortedFacts;
use crate::dataset::sample_facts::SampleFacts;
use crate::dataset::state::StateJudge;
use crate::dataset::statistics_stamp::{self, StatisticsStamp};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::layout::sample_path;
use crate::pipeline::description::BlockDescription;
use crate::pipeline::plots::PlotSpec;
use crate::plot::{self};
pub(crate) use crate::statistics::error::StatisticsError;
use crate::statistics::error::StatsError;
use crate::statistics::table::Aggregator;
use crate::statistics::timings::aggregate_timings;

/// Samples read per parallel batch.
const CHUNK: usize = 4096;
/// Samples shown on the contact sheet `plots/samples.png`.
const CONTACT_SHEET_SAMPLES: usize = 16;

/// What the pass wrote.
#[derive(Debug)]
pub(crate) struct AggregateReport {
    /// Samples aggregated (all blocks complete).
    pub complete: u64,
    /// Samples looked at.
    pub seen: u64,
    /// Records read from disk (the samples `known` lacked).
    pub records_read: u64,
    /// Chart files written.
    pub plots: usize,
    /// Charts drawn without data (e.g. a statistic no block records).
    pub warnings: Vec<String>,
    /// `report.html`.
    pub report: PathBuf,
}

/// Aggregates the samples `ids` (sorted) of `dataset`, judged against
/// `blocks`, and draws the charts of `specs`. The facts in `known` (in id
/// order, see [`SortedFacts`]) stand for what is on disk; only the samples
/// they lack are read. With `all_present` (`ids` are every sample present),
/// it then records what the files were made from ([`statistics_stamp`]), so
/// that a run that changes nothing can skip it.
pub(crate) fn aggregate(
    dataset: &Dataset,
    blocks: &[BlockDescription],
    ids: &[u64],
    known: Option<SortedFacts>,
    specs: &[PlotSpec],
    all_present: bool,
) -> Result<AggregateReport> {
    let root = dataset.root();
    let stats_error = |e: StatsError| Error::Statistics {
        dataset: root.to_path_buf(),
        source: e.into(),
    };
    let names: Vec<String> = blocks.iter().map(|b| b.name.clone()).collect();
    let judge = StateJudge::new(blocks.iter().cloned());
    let mut aggregator = Aggregator::new(root, &names).map_err(stats_error)?;
    for (x, y) in crate::pipeline::plots::pairs_needed(specs) {
        aggregator.track_pair(&x, &y);
    }
    let mut complete_samples: Vec<PathBuf> = Vec::new();
    let mut report = crate::html::ReportTally::new(dataset, blocks);
    // The files are about to change: until they are all written, they are
    // not what any stamp says.
    let _ = statistics_stamp::forget(dataset);
    let mut stamp = StatisticsStamp::new(blocks, &plots_text(specs));
    let mut known = KnownFacts::new(known);
    for batch in ids.chunks(CHUNK) {
        stop_if_interrupted()?;
        for sample in known.then_read(dataset, &judge, &names, batch) {
            stamp.add(sample.id, sample.record_digest, &sample.states);
            report.add(&sample);
            if complete_samples.len() < CONTACT_SHEET_SAMPLES && sample.is_complete() {
                complete_samples.push(PathBuf::from(sample_path(sample.id)));
            }
            aggregator.add(&sample).map_err(stats_error)?;
        }
    }
    stop_if_interrupted()?;
    let statistics = aggregator.finish().map_err(stats_error)?;
    let timings = aggregate_timings(root).map_err(stats_error)?;
    let rendered =
        plot::render_all(root, &statistics, &timings, specs).map_err(|e| Error::Statistics {
            dataset: root.to_path_buf(),
            source: e.into(),
        })?;
    let mut plots = rendered.files.len();
    if write_samples_sheet(root, blocks, &complete_samples)? {
        plots += 1;
    }
    let report =
        crate::html::write_after_statistics(dataset, blocks, report, &statistics, &timings, specs)?;
    if all_present {
        // Informative: without it the next no-op run just redoes the pass.
        let _ = statistics_stamp::write_stamp(dataset, &stamp.finish(dataset));
    }
    Ok(AggregateReport {
        complete: statistics.summary.samples.complete,
        seen: statistics.summary.samples.seen,
        records_read: known.records_read,
        plots,
        warnings: rendered.warnings,
        report,
    })
}

/// A SIGINT or SIGTERM stops the pass between batches, before any file is
/// written: the files of the last pass stay as they were (each is replaced
/// atomically, at the end), and the stamp is already gone, so the next run
/// writes them.
fn stop_if_interrupted() -> Result<()> {
    match crate::interrupt::requested() {
        Some(signal) => Err(Error::Interrupted {
            signal,
            resume: "the statistics were not written; rerun the same command, or with \
                     --statistics-only, to write them",
        }),
        None => Ok(()),
    }
}

/// The facts known before the pass, consumed in id order beside the ids
/// present.
struct KnownFacts {
    facts: Option<std::iter::Peekable<SortedFacts>>,
    /// Samples read from disk so far.
    records_read: u64,
}

impl KnownFacts {
    fn new(facts: Option<SortedFacts>) -> Self {
        Self {
            facts: facts.map(Iterator::peekable),
            records_read: 0,
        }
    }

    /// The facts of `batch` (sorted, after every earlier batch): the known
    /// ones, and the others read from disk in parallel.
    fn then_read(
        &mut self,
        dataset: &Dataset,
        judge: &StateJudge,
        names: &[String],
        batch: &[u64],
    ) -> Vec<SampleFacts> {
        let mut found: Vec<Option<SampleFacts>> = batch.iter().map(|&id| self.take(id)).collect();
        let unknown: Vec<u64> = batch
            .iter()
            .zip(&found)
            .filter(|(_, facts)| facts.is_none())
            .map(|(&id, _)| id)
            .collect();
        self.records_read += unknown.len() as u64;
        let mut read = judge
            .judge_samples(dataset, &unknown, |id, judged| {
                SampleFacts::from_judged(id, judged, names)
            })
            .into_iter();
        found
            .iter_mut()
            .map(|facts| {
                facts
                    .take()
                    .or_else(|| read.next())
                    .expect("one read per unknown id")
            })
            .collect()
    }

    /// The known facts of `id`, dropping those of samples before it (no
    /// longer present). Facts given twice for one id are not trusted: the
    /// sample is read.
    fn take(&mut self, id: u64) -> Option<SampleFacts> {
        let facts = self.facts.as_mut()?;
        while facts.next_if(|f| f.id < id).is_some() {}
        let first = facts.next_if(|f| f.id == id)?;
        let mut twice = false;
        while facts.next_if(|f| f.id == id).is_some() {
            twice = true;
        }
        (!twice).then_some(first)
    }
}

/// The `plots:` entries as stable text, for [`StatisticsStamp`].
pub(crate) fn plots_text(specs: &[PlotSpec]) -> String {
    serde_json::to_string(specs).expect("plot specs serialize")
}

/// `plots/samples.png`: the first complete samples' image beside its mask.
/// The image is the last PNG output of the chain whose name does not contain
/// "mask"; the mask, a PNG output of the same block whose name does.
fn write_samples_sheet(
    root: &Path,
    blocks: &[BlockDescription],
    samples: &[PathBuf],
) -> Result<bool> {
    let Some((image, mask)) = sheet_files(blocks) else {
        return Ok(false);
    };
    let out = root.join("plots").join("samples.png");
    crate::statistics::contact_sheet::write_contact_sheet(
        root,
        samples,
        &image,
        mask.as_deref(),
        &out,
    )
    .map_err(|source| Error::Statistics {
        dataset: root.to_path_buf(),
        source: StatisticsError::ContactSheet { path: out, source },
    })
}

fn sheet_files(blocks: &[BlockDescription]) -> Option<(String, Option<String>)> {
    blocks.iter().rev().find_map(|block| {
        let pngs: Vec<&String> = block
            .outputs
            .iter()
            .filter(|o| o.ends_with(".png") && !crate::globs::is_glob(o))
            .collect();
        let image = pngs.iter().find(|o| !o.contains("mask"))?;
        let mask = pngs.iter().find(|o| o.contains("mask"));
        Some(((*image).clone(), mask.map(|m| (*m).clone())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(outputs: &[&str]) -> BlockDescription {
        BlockDescription::for_test("b", outputs)
    }

    #[test]
    fn the_sheet_shows_the_last_image_and_its_mask() {
        let blocks = [
            block(&["image.png", "mask.png"]),
            block(&["image_aug.png", "mask_aug.png", "field.bin"]),
            block(&["labels.json"]),
        ];
        assert_eq!(
            sheet_files(&blocks),
            Some(("image_aug.png".into(), Some("mask_aug.png".into())))
        );
        assert_eq!(sheet_files(&[block(&["a.bin"])]), None);
    }
}
