//! The statistics pass: records of the complete samples -> `statistics.yaml`,
//! `statistics.csv`, `timings.yaml`, and the charts and contact sheet in
//! `plots/`. It runs at the end of every `shardgen run`, and alone with
//! `--statistics-only` (the step after merging shards); it runs no block.
//!
//! Samples are read in parallel batches and fed to the [`Aggregator`] in
//! increasing id order, so memory stays bounded and the result does not
//! depend on how the dataset was made.

use std::path::{Path, PathBuf};

use crate::dataset::{sample_dir_name, BlockDescription, Dataset};
use crate::error::{Error, Result};
use crate::plot::{self, PlotSpec};
use crate::state::StateJudge;
use crate::stats::{aggregate_timings, Aggregator};

/// Samples read per parallel batch.
const CHUNK: usize = 4096;
/// Samples shown on the contact sheet `plots/samples.png`.
const CONTACT_SHEET_SAMPLES: usize = 16;

/// What the pass wrote.
#[derive(Debug)]
pub struct AggregateReport {
    /// Samples aggregated (all blocks complete).
    pub complete: u64,
    /// Samples looked at.
    pub seen: u64,
    /// Chart files written.
    pub plots: usize,
    /// Charts drawn without data (e.g. a statistic no block records).
    pub warnings: Vec<String>,
}

/// Aggregates the samples `ids` (sorted) of `dataset`, judged against
/// `blocks`, and draws the charts of `specs`.
pub fn aggregate(
    dataset: &Dataset,
    blocks: &[BlockDescription],
    ids: &[u64],
    specs: &[PlotSpec],
) -> Result<AggregateReport> {
    let root = dataset.root();
    let stats_error = |e: crate::stats::StatsError| match e {
        // A disk condition stops the command (exit 1), like any I/O error.
        crate::stats::StatsError::Io { path, source }
            if crate::disk::condition(&source).is_some() =>
        {
            Error::io("cannot write the statistics", path, source)
        }
        e => Error::Dataset {
            path: root.to_path_buf(),
            message: format!("statistics: {e}"),
        },
    };
    let names: Vec<String> = blocks.iter().map(|b| b.name.clone()).collect();
    let judge = StateJudge::new(blocks.iter().cloned());
    let mut aggregator = Aggregator::new(root, &names).map_err(stats_error)?;
    for (x, y) in plot::pairs_needed(specs) {
        aggregator.track_pair(&x, &y);
    }
    let mut complete_samples: Vec<PathBuf> = Vec::new();
    for batch in ids.chunks(CHUNK) {
        for (&id, sample) in batch.iter().zip(judge.judge_samples(dataset, batch, |s| s)) {
            if complete_samples.len() < CONTACT_SHEET_SAMPLES && sample.is_complete() {
                complete_samples.push(PathBuf::from(sample_dir_name(id)));
            }
            aggregator
                .add(id, &sample.states, sample.record.valid())
                .map_err(stats_error)?;
        }
    }
    let statistics = aggregator.finish().map_err(stats_error)?;
    let timings = aggregate_timings(root).map_err(stats_error)?;
    let rendered = plot::render_all(root, &statistics, &timings, specs).map_err(|e| match e {
        plot::PlotError::Write(crate::stats::StatsError::Io { path, source })
            if crate::disk::condition(&source).is_some() =>
        {
            Error::io("cannot write the plots", path, source)
        }
        e => Error::Dataset {
            path: root.join("plots"),
            message: format!("plots: {e}"),
        },
    })?;
    let mut plots = rendered.files.len();
    if write_samples_sheet(root, blocks, &complete_samples)? {
        plots += 1;
    }
    Ok(AggregateReport {
        complete: statistics.summary.samples.complete,
        seen: statistics.summary.samples.seen,
        plots,
        warnings: rendered.warnings,
    })
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
    crate::contact_sheet::write_contact_sheet(root, samples, &image, mask.as_deref(), &out)
        .map_err(|e| Error::io("cannot write", out, e))
}

fn sheet_files(blocks: &[BlockDescription]) -> Option<(String, Option<String>)> {
    blocks.iter().rev().find_map(|block| {
        let pngs: Vec<&String> = block
            .outputs
            .iter()
            .filter(|o| o.ends_with(".png") && !o.contains(['*', '?', '[']))
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
