//! `report.html`: one self-contained page per dataset, for people who want
//! to look rather than read YAML. The statistics pass writes it at its end
//! ([`write_after_statistics`]); `shardgen report DIR` writes it from what is
//! on disk ([`report_from_disk`]), reading only the records, the statistics
//! files, the run logs, the charts in `plots/` and the manifest.
//!
//! # Contract
//! - Self-contained: inline CSS, inline SVG, charts and previews as `data:`
//!   URIs; no network, no external script; a little inline JavaScript sorts
//!   tables, and the page reads the same without it.
//! - Bounded: no per-sample table. Every list is a bounded top-N (failure
//!   kinds, example ids, ranges, statistics, text values, runs, previews),
//!   so the page of 10^6 samples is the size of the page of 10^3.
//! - Every string from disk is escaped ([`escape::html`]).
//! - Counts in the page carry `data-count` / `data-block` + `data-state`
//!   attributes, the numbers of `shardgen analyze --json`.
//! - Nothing on disk can make it fail but an I/O error on the page itself or
//!   on the dataset folder: a damaged record counts as damaged, a missing or
//!   unreadable statistics file, run log, chart or image leaves its part out
//!   and says so in a note.
//!
//! [`mod.rs`](self) gathers the page model from disk, `page.rs` renders it,
//! `svg.rs` draws the small charts, `thumbnail.rs` the previews, `csv.rs`
//! reads `statistics.csv` back, `escape.rs` escapes and encodes.

mod csv;
mod escape;
mod page;
mod svg;
mod thumbnail;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rayon::prelude::*;

use crate::dataset::atomic::write_atomic;
use crate::dataset::runlog::RunLog;
use crate::dataset::sample_facts::SampleFacts;
use crate::dataset::state::StateJudge;
use crate::dataset::Dataset;
use crate::engine::analyze::{self, Analysis, AnalysisBuilder, FailureDigest};
use crate::error::{Error, Result};
use crate::failures::REJECTED_PREFIX;
use crate::layout::{PLOTS_DIR, STATISTICS_CSV, STATISTICS_YAML};
use crate::pipeline::description::BlockDescription;
use crate::pipeline::plots::{
    distributions_drawn, sanitize, PlotSpec, FAILURES_CHART, HISTOGRAM_PREFIX, TIMINGS_CHART,
};
use crate::plot::histogram_bins;
use crate::statistics::sketch::Sketch;
use crate::statistics::summary::{Statistics, StatisticsSummary, STATISTICS_FORMAT};
use crate::statistics::timings::{read_timings, Timings, TimingsSummary};

/// File name of the report inside the dataset folder.
pub(crate) const REPORT_FILE: &str = crate::layout::REPORT_HTML;
/// Complete samples previewed: the first ones, by id.
const GALLERY_COMPLETE: usize = 16;
/// Rejected samples previewed, and as many failed ones (the first by id).
const GALLERY_FAILED: usize = 3;
/// Most samples judged while looking for complete ones to preview.
const GALLERY_SCAN: usize = 4096;
/// Most failures looked at while looking for failed ones with an image.
const GALLERY_FAILURE_SCAN: usize = 256;
/// Failure kinds listed per block; the rest are summed up.
const FAILURE_KINDS: usize = 10;
/// Example sample ids per failure kind.
const EXAMPLE_IDS: usize = 3;
/// Ranges listed per failure kind and for the samples present.
pub(crate) const RANGES_SHOWN: usize = 6;
/// Numeric statistics in the table; the rest are counted.
const MAX_NUMBERS: usize = 300;
/// Text statistics listed; the rest are counted.
const MAX_TEXTS: usize = 100;
/// Values listed per text statistic, by count.
pub(crate) const TEXT_VALUES: usize = 10;
/// Run logs listed, the latest; every run counts in the per-host totals.
const MAX_RUNS: usize = 200;
/// Base name of the contact sheet the statistics pass draws in `plots/`.
const CONTACT_SHEET: &str = "samples";
/// Largest chart file embedded.
const MAX_CHART_BYTES: u64 = 2_000_000;

/// Everything the page shows, gathered from disk.
pub(crate) struct Report {
    /// The dataset folder, as the command named it.
    pub(crate) dataset: String,
    /// Prefix of links to sample folders and charts: empty when the page
    /// sits in the dataset folder.
    pub(crate) link_base: String,
    /// The master seed, if the manifest is readable.
    pub(crate) seed: Option<u64>,
    /// When the page was written (UTC, RFC 3339) and by what.
    pub(crate) written: String,
    pub(crate) written_by: &'static str,
    /// The pipeline, in chain order.
    pub(crate) blocks: Vec<BlockDescription>,
    /// Counts, ranges, failures and gap commands (`analyze`'s).
    pub(crate) analysis: Analysis,
    /// Per block, in chain order: rejections and failure kinds.
    pub(crate) block_failures: Vec<BlockFailures>,
    /// `statistics.yaml`.
    pub(crate) statistics: Option<StatisticsSummary>,
    /// Bins of the small histogram of each numeric statistic.
    pub(crate) bins: BTreeMap<String, Vec<(f64, f64, u64)>>,
    /// Statistics with a `plots/hist_<stat>.svg` of their own.
    pub(crate) hist_charts: BTreeMap<String, String>,
    /// Statistics whose distribution a config chart draws, by chart name.
    pub(crate) drawn_by: BTreeMap<String, String>,
    /// Wall times per block.
    pub(crate) timings: Option<TimingsSummary>,
    /// `plots/timings`.
    pub(crate) timings_chart: Option<Chart>,
    /// The config's charts.
    pub(crate) charts: Vec<Chart>,
    /// Previews.
    pub(crate) gallery: Vec<Tile>,
    /// The run logs.
    pub(crate) runs: Runs,
    /// What could not be read, one sentence each.
    pub(crate) notes: Vec<String>,
}

/// One block's failures, grouped by [`crate::failures::reason_kind`].
#[derive(Default)]
pub(crate) struct BlockFailures {
    /// The largest kinds, by count.
    pub(crate) kinds: Vec<FailureKind>,
    /// Kinds left out, and their samples.
    pub(crate) other_kinds: usize,
    pub(crate) other_samples: u64,
}

/// Failures of one block that differ only in numbers.
pub(crate) struct FailureKind {
    /// The reason with its numbers as `#`.
    pub(crate) kind: String,
    /// One reason in full.
    pub(crate) example: String,
    /// Samples.
    pub(crate) count: u64,
    /// Their ids as ranges, shortened.
    pub(crate) ranges: String,
    /// The first ids.
    pub(crate) examples: Vec<u64>,
    /// Whether these are rejections.
    pub(crate) rejected: bool,
}

/// An embedded chart file of `plots/`.
pub(crate) struct Chart {
    /// Base name in `plots/`.
    pub(crate) name: String,
    /// The file embedded, relative to the dataset folder.
    pub(crate) file: String,
    /// Its `data:` URI.
    pub(crate) uri: String,
}

/// A preview of one sample.
pub(crate) struct Tile {
    pub(crate) id: u64,
    /// `complete`, or the reason kind of its failure.
    pub(crate) state: TileState,
    /// The image shown, relative to the sample folder.
    pub(crate) file: String,
    pub(crate) uri: String,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

/// Why a sample is in the gallery.
#[derive(Clone)]
pub(crate) enum TileState {
    Complete,
    Rejected { block: String, reason: String },
    Failed { block: String, reason: String },
}

/// The run logs of `.shardgen/runs/`.
#[derive(Default)]
pub(crate) struct Runs {
    /// The latest [`MAX_RUNS`], by start.
    pub(crate) rows: Vec<RunRow>,
    /// Logs found.
    pub(crate) total: usize,
    /// Logs that could not be read or parsed.
    pub(crate) unreadable: Vec<String>,
    /// Per host, over every readable log.
    pub(crate) hosts: BTreeMap<String, HostTotals>,
}

/// One run.
pub(crate) struct RunRow {
    pub(crate) log: RunLog,
    /// Seconds from start to finish, once finished.
    pub(crate) seconds: Option<f64>,
}

/// What the runs of one host did.
#[derive(Default)]
pub(crate) struct HostTotals {
    pub(crate) runs: u64,
    pub(crate) completed: u64,
    pub(crate) failed: u64,
    pub(crate) seconds: f64,
}

/// What a report is made from, besides the dataset folder.
struct Sources<'a> {
    dataset: &'a Dataset,
    link_base: String,
    written_by: &'static str,
    seed: Option<u64>,
    blocks: &'a [BlockDescription],
    analysis: Analysis,
    failures: FailureDigest,
    statistics: Option<StatisticsSummary>,
    values: Option<&'a BTreeMap<String, Sketch>>,
    timings: Option<TimingsSummary>,
    /// Base names of the config's charts in `plots/`, in order.
    chart_names: Vec<String>,
    /// Which config chart draws each statistic's distribution.
    drawn_by: BTreeMap<String, String>,
    notes: Vec<String>,
}

/// What the statistics pass tallies for the report while it judges the
/// samples: feed it each sample with [`ReportTally::add`], in increasing id
/// order, then hand it to [`write_after_statistics`].
pub(crate) struct ReportTally {
    builder: AnalysisBuilder,
    seed: Option<u64>,
    notes: Vec<String>,
}

impl ReportTally {
    /// A tally for `dataset`, whose pipeline has `blocks`.
    pub(crate) fn new(dataset: &Dataset, blocks: &[BlockDescription]) -> Self {
        let mut notes = Vec::new();
        let seed = match dataset.read_manifest() {
            Ok(manifest) => manifest.map(|m| m.seed),
            Err(e) => {
                notes.push(format!("The manifest is unreadable: {e}."));
                None
            }
        };
        let builder = AnalysisBuilder::new(dataset.root(), seed.unwrap_or(0), blocks)
            .digesting(GALLERY_FAILURE_SCAN);
        Self {
            builder,
            seed,
            notes,
        }
    }

    /// Adds one sample.
    pub(crate) fn add(&mut self, sample: &SampleFacts) {
        self.builder.add(sample.id, &sample.states, sample.damaged);
    }
}

/// Writes `DIR/report.html` at the end of the statistics pass, from what the
/// pass has in memory (the tally of the samples it judged, the statistics,
/// the timings) and the charts it just drew; returns its path.
pub(crate) fn write_after_statistics(
    dataset: &Dataset,
    blocks: &[BlockDescription],
    tally: ReportTally,
    statistics: &Statistics,
    timings: &Timings,
    specs: &[PlotSpec],
) -> Result<PathBuf> {
    let ReportTally {
        builder,
        seed,
        notes,
    } = tally;
    let (analysis, failures) = builder.finish_digested(dataset, GALLERY_FAILURE_SCAN);
    let drawn_by = drawn_by(specs);
    let sources = Sources {
        dataset,
        link_base: String::new(),
        written_by: "the statistics pass",
        seed,
        blocks,
        analysis,
        failures,
        statistics: Some(statistics.summary.clone()),
        values: Some(&statistics.values),
        timings: Some(timings.summary.clone()),
        chart_names: specs.iter().map(PlotSpec::file_name).collect(),
        drawn_by,
        notes,
    };
    let html = page::render(&build(sources));
    let path = dataset.root().join(REPORT_FILE);
    write_report(&path, &html)?;
    Ok(path)
}

/// The page of the dataset at `dir`, from what is on disk; it writes
/// nothing. Links to samples and charts are relative when the page is to be
/// saved in `dir` (`in_dataset`), else they name `dir`'s absolute path.
pub(crate) fn report_from_disk(dir: &Path, in_dataset: bool) -> Result<String> {
    // Absolute, as a run names it: the gap commands work from anywhere.
    let absolute = fs::canonicalize(dir).map_err(|e| Error::io("cannot resolve", dir, e))?;
    let dir = absolute.as_path();
    let dataset = Dataset::new(dir);
    let manifest = analyze::read_manifest(&dataset)?;
    let analysis = analyze::analyze(dir)?;
    let failures = FailureDigest::of(&analysis.failures, GALLERY_FAILURE_SCAN);
    let mut notes = Vec::new();
    let statistics = read_statistics(dir, &mut notes);
    let values = match &statistics {
        Some(summary) => csv::read_values(&dir.join(STATISTICS_CSV), summary, &mut notes),
        None => None,
    };
    let timings = match read_timings(dir) {
        Ok(timings) if timings.summary.files > 0 => Some(timings.summary),
        Ok(_) => None,
        Err(e) => {
            notes.push(format!("The timing logs are unreadable: {e}."));
            None
        }
    };
    let chart_names = config_chart_names(&dir.join(PLOTS_DIR));
    let link_base = if in_dataset {
        String::new()
    } else {
        format!("{}/", path_href(dir))
    };
    let sources = Sources {
        dataset: &dataset,
        link_base,
        written_by: "shardgen report",
        seed: Some(manifest.seed),
        blocks: &manifest.blocks,
        analysis,
        failures,
        statistics,
        values: values.as_ref(),
        timings,
        chart_names,
        // Without the config, a config chart is known by its name only.
        drawn_by: BTreeMap::new(),
        notes,
    };
    Ok(page::render(&build(sources)))
}

/// Writes a page atomically.
pub(crate) fn write_report(path: &Path, html: &str) -> Result<()> {
    write_atomic(path, html.as_bytes()).map_err(|e| Error::io("cannot write", path, e))
}

fn build(sources: Sources<'_>) -> Report {
    let Sources {
        dataset,
        link_base,
        written_by,
        seed,
        blocks,
        analysis,
        failures,
        statistics,
        values,
        timings,
        chart_names,
        drawn_by,
        mut notes,
    } = sources;
    let root = dataset.root();
    let plots = root.join(PLOTS_DIR);
    let block_failures = block_failures(&failures, blocks);
    let mut bins = BTreeMap::new();
    if let (Some(summary), Some(values)) = (&statistics, values) {
        for stat in summary.numbers.keys().take(MAX_NUMBERS) {
            if let Some(Ok(b)) = values.get(stat).map(|v| histogram_bins(v, None)) {
                bins.insert(stat.clone(), b);
            }
        }
    }
    let mut hist_charts = BTreeMap::new();
    if let Some(summary) = &statistics {
        for stat in summary.numbers.keys().take(MAX_NUMBERS) {
            let name = format!("{}{}", HISTOGRAM_PREFIX, sanitize(stat));
            if plots.join(format!("{name}.svg")).is_file() {
                hist_charts.insert(stat.clone(), format!("{}/{name}.svg", PLOTS_DIR));
            }
        }
    }
    let timings_chart = timings
        .as_ref()
        .and_then(|_| load_chart(&plots, TIMINGS_CHART, &mut notes));
    let charts = chart_names
        .iter()
        .filter_map(|name| load_chart(&plots, name, &mut notes))
        .collect();
    let gallery = gallery(dataset, blocks, &analysis, &failures);
    let runs = read_runs(&dataset.runs_dir(), &mut notes);
    Report {
        dataset: root.display().to_string(),
        link_base,
        seed,
        written: crate::process::now_rfc3339(),
        written_by,
        blocks: blocks.to_vec(),
        analysis,
        block_failures,
        statistics,
        bins,
        hist_charts,
        drawn_by,
        timings,
        timings_chart,
        charts,
        gallery,
        runs,
        notes,
    }
}

/// `statistics.yaml`, if present and readable.
fn read_statistics(dir: &Path, notes: &mut Vec<String>) -> Option<StatisticsSummary> {
    let path = dir.join(STATISTICS_YAML);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => {
            notes.push(format!("{STATISTICS_YAML} is unreadable: {e}."));
            return None;
        }
    };
    match serde_yaml::from_str::<StatisticsSummary>(&text) {
        Ok(summary) if summary.format == STATISTICS_FORMAT => Some(summary),
        Ok(summary) => {
            notes.push(format!(
                "{STATISTICS_YAML} has format {}, this shardgen reads {STATISTICS_FORMAT}.",
                summary.format
            ));
            None
        }
        Err(e) => {
            notes.push(format!("{STATISTICS_YAML} is damaged: {e}."));
            None
        }
    }
}

/// Which config chart (by file name) draws the distribution of each statistic.
fn drawn_by(specs: &[PlotSpec]) -> BTreeMap<String, String> {
    let drawn = distributions_drawn(specs);
    let mut by = BTreeMap::new();
    for spec in specs {
        for stat in spec.stat.iter().chain(spec.stats.iter().flatten()) {
            if drawn.contains(stat.as_str()) {
                by.entry(stat.clone()).or_insert_with(|| spec.file_name());
            }
        }
    }
    by
}

/// The charts of `plots/` that are neither built in nor `hist_*`: the
/// config's, sorted by name (without the config, their order is unknown).
fn config_chart_names(plots: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(plots) else {
        return Vec::new();
    };
    let mut names: BTreeSet<String> = BTreeSet::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(base) = name.strip_suffix(".svg").or(name.strip_suffix(".png")) else {
            continue;
        };
        let built_in = base == TIMINGS_CHART
            || base == FAILURES_CHART
            || base == CONTACT_SHEET
            || base.starts_with(HISTOGRAM_PREFIX)
            || base.starts_with('.');
        if !built_in {
            names.insert(base.to_owned());
        }
    }
    names.into_iter().collect()
}

/// The smaller of `plots/<name>.svg` and `.png` as a `data:` URI; `None`
/// (with a note) when neither is a readable chart of a sane size.
fn load_chart(plots: &Path, name: &str, notes: &mut Vec<String>) -> Option<Chart> {
    let mut best: Option<(u64, &str, &str)> = None;
    for (extension, mime) in [("svg", "image/svg+xml"), ("png", "image/png")] {
        let path = plots.join(format!("{name}.{extension}"));
        if let Ok(meta) = fs::metadata(&path) {
            let size = meta.len();
            if meta.is_file() && size <= MAX_CHART_BYTES && best.is_none_or(|b| size < b.0) {
                best = Some((size, extension, mime));
            }
        }
    }
    let Some((_, extension, mime)) = best else {
        notes.push(format!("Chart plots/{name} is missing or too large."));
        return None;
    };
    let file = format!("{}/{name}.{extension}", PLOTS_DIR);
    let bytes = match fs::read(plots.join(format!("{name}.{extension}"))) {
        Ok(bytes) => bytes,
        Err(e) => {
            notes.push(format!("Chart {file} is unreadable: {e}."));
            return None;
        }
    };
    let looks_right = match extension {
        "svg" => String::from_utf8_lossy(&bytes[..bytes.len().min(256)]).contains("<svg"),
        _ => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
    };
    if !looks_right {
        notes.push(format!("Chart {file} is damaged."));
        return None;
    }
    Some(Chart {
        name: name.to_owned(),
        file,
        uri: escape::data_uri(mime, &bytes),
    })
}

fn block_failures(failures: &FailureDigest, blocks: &[BlockDescription]) -> Vec<BlockFailures> {
    let groups = failures.groups.largest_first();
    blocks
        .iter()
        .map(|block| {
            let mut kinds: Vec<FailureKind> = groups
                .iter()
                .filter(|group| group.block == block.name)
                .map(|group| FailureKind {
                    kind: group.kind.clone(),
                    example: group.example.clone(),
                    count: group.count,
                    ranges: group.samples.summary(RANGES_SHOWN),
                    examples: group
                        .samples
                        .ranges()
                        .flat_map(|r| r.start..r.end)
                        .take(EXAMPLE_IDS)
                        .collect(),
                    rejected: group.kind.starts_with(REJECTED_PREFIX),
                })
                .collect();
            let rest = kinds.split_off(kinds.len().min(FAILURE_KINDS));
            BlockFailures {
                kinds,
                other_kinds: rest.len(),
                other_samples: rest.iter().map(|k| k.count).sum(),
            }
        })
        .collect()
}

/// The PNG outputs worth previewing, best first: of the last block first,
/// images before masks.
fn preview_files(blocks: &[BlockDescription]) -> Vec<String> {
    let pngs: Vec<&String> = blocks
        .iter()
        .rev()
        .flat_map(|b| &b.outputs)
        .filter(|o| o.ends_with(".png") && !crate::globs::is_glob(o))
        .collect();
    let (masks, images): (Vec<&String>, Vec<&String>) =
        pngs.into_iter().partition(|o| o.contains("mask"));
    images.into_iter().chain(masks).cloned().collect()
}

/// The previews: which samples and files are chosen first (cheap: records
/// and file names), then the images are decoded and scaled in parallel, so
/// large renders cost the pass a fraction of their count.
fn gallery(
    dataset: &Dataset,
    blocks: &[BlockDescription],
    analysis: &Analysis,
    failures: &FailureDigest,
) -> Vec<Tile> {
    let files = preview_files(blocks);
    if files.is_empty() {
        return Vec::new();
    }
    // The first preview file the sample has.
    let file_of = |id: u64| {
        let dir = dataset.sample_dir(id);
        files.iter().find(|file| dir.join(file).is_file()).cloned()
    };
    let mut chosen: Vec<(u64, TileState, String)> = Vec::new();
    let judge = StateJudge::new(blocks.iter().cloned());
    let ids = analysis
        .ranges
        .iter()
        .flat_map(|&[start, end]| start..end)
        .take(GALLERY_SCAN)
        .collect::<Vec<u64>>();
    for batch in ids.chunks(GALLERY_COMPLETE) {
        let done = judge.judge_samples(dataset, batch, |_, s| s.is_complete());
        for (&id, done) in batch.iter().zip(done) {
            if chosen.len() == GALLERY_COMPLETE {
                break;
            }
            if let Some(file) = file_of(id).filter(|_| done) {
                chosen.push((id, TileState::Complete, file));
            }
        }
        if chosen.len() == GALLERY_COMPLETE {
            break;
        }
    }
    for (rejected, picked) in [
        (true, &failures.first_rejected),
        (false, &failures.first_failed),
    ] {
        let with_image = picked
            .iter()
            .filter_map(|failure| Some((failure, file_of(failure.sample)?)))
            .take(GALLERY_FAILED);
        for (failure, file) in with_image {
            let (block, reason) = (failure.block.clone(), failure.reason.clone());
            let state = if rejected {
                TileState::Rejected { block, reason }
            } else {
                TileState::Failed { block, reason }
            };
            chosen.push((failure.sample, state, file));
        }
    }
    chosen
        .into_par_iter()
        .filter_map(|(id, state, file)| {
            let preview = thumbnail::thumbnail(&dataset.sample_dir(id).join(&file))?;
            Some(Tile {
                id,
                state,
                file,
                uri: escape::data_uri("image/png", &preview.png),
                width: preview.width,
                height: preview.height,
            })
        })
        .collect()
}

/// Every `runs/*.yaml`, sorted by name (which sorts by start).
fn read_runs(runs_dir: &Path, notes: &mut Vec<String>) -> Runs {
    let mut runs = Runs::default();
    let entries = match fs::read_dir(runs_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return runs,
        Err(e) => {
            notes.push(format!("The run logs are unreadable: {e}."));
            return runs;
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| n.ends_with(".yaml") && !n.starts_with('.'))
        })
        .collect();
    paths.sort();
    runs.total = paths.len();
    let first_shown = paths.len().saturating_sub(MAX_RUNS);
    for (at, path) in paths.iter().enumerate() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let log = fs::read_to_string(path)
            .ok()
            .and_then(|text| serde_yaml::from_str::<RunLog>(&text).ok());
        let Some(log) = log else {
            runs.unreadable.push(name);
            continue;
        };
        let seconds = log
            .finished
            .as_deref()
            .and_then(|f| duration(&log.started, f));
        let host = runs.hosts.entry(log.host.clone()).or_default();
        host.runs += 1;
        host.completed += log.counts.completed;
        host.failed += log.counts.failed;
        host.seconds += seconds.unwrap_or(0.0);
        if at >= first_shown {
            runs.rows.push(RunRow { log, seconds });
        }
    }
    runs
}

/// Seconds from `started` to `finished` (RFC 3339).
fn duration(started: &str, finished: &str) -> Option<f64> {
    let parse = |t: &str| humantime::parse_rfc3339(t).ok();
    let (start, end): (SystemTime, SystemTime) = (parse(started)?, parse(finished)?);
    end.duration_since(start).ok().map(|d| d.as_secs_f64())
}

/// An absolute path as a URL path, percent-encoding all but unreserved
/// characters and `/`.
fn path_href(path: &Path) -> String {
    let mut out = String::new();
    for byte in path.as_os_str().as_encoded_bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(*byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    format!("file://{out}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_prefer_the_last_image_over_masks() {
        let blocks = [
            BlockDescription::for_test("render", &["image.png", "mask.png"]),
            BlockDescription::for_test("augment", &["image_aug.png", "mask_aug.png", "f.bin"]),
            BlockDescription::for_test("glob", &["*.png"]),
        ];
        assert_eq!(
            preview_files(&blocks),
            ["image_aug.png", "image.png", "mask_aug.png", "mask.png"]
        );
    }

    #[test]
    fn hrefs_of_paths_are_percent_encoded() {
        assert_eq!(
            path_href(Path::new("/data/my set#1")),
            "file:///data/my%20set%231"
        );
    }

    #[test]
    fn durations_come_from_the_log_times() {
        assert_eq!(
            duration("2026-01-01T00:00:00Z", "2026-01-01T00:02:05Z"),
            Some(125.0)
        );
        assert_eq!(duration("junk", "2026-01-01T00:02:05Z"), None);
    }
}
