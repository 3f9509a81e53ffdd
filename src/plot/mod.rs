//! Charts of the statistics pass, drawn with plotters into `DIR/plots/` as
//! PNG and SVG of the same base name, 800×600, each written atomically.
//!
//! Always drawn:
//! - `hist_<stat>`: a histogram of every numeric statistic;
//! - `timings`: a box plot of the wall time per block (last attempt per sample);
//! - `failures`: failures per block and reason as horizontal bars; without
//!   failures it is a chart saying "No failures", so an old chart never
//!   outlives the failures it showed.
//!
//! Plus one chart per [`PlotSpec`] of the config's `plots:` list. A chart
//! without data (an unknown statistic, only NaN values, no timings) says so
//! in place of the plot, and [`render_all`] returns a warning for it.
//!
//! Text is drawn with the embedded DejaVu Sans (`assets/fonts/`, Bitstream
//! Vera license) through `ab_glyph`, so no system font library or font is
//! needed. SVG files name the font family `sans-serif` and leave it to the
//! viewer.

mod chart;
mod draw;

pub(crate) use chart::{histogram_bins, thousands};
pub(crate) use draw::{HEIGHT, WIDTH};

use chart::*;
use draw::*;

use std::fs;
use std::path::{Path, PathBuf};

use crate::layout::PLOTS_DIR;
use crate::pipeline::plots::{
    distributions_drawn, sanitize, PlotSpec, FAILURES_CHART, HISTOGRAM_PREFIX, TIMINGS_CHART,
};
pub(crate) use crate::statistics::error::PlotError;
use crate::statistics::error::{self as stats, StatsError};
use crate::statistics::summary::Statistics;
use crate::statistics::timings::Timings;

/// What [`render_all`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct RenderedPlots {
    /// Every file written, PNG and SVG.
    pub files: Vec<PathBuf>,
    /// Charts drawn without data, one line each (e.g. an unknown statistic).
    pub warnings: Vec<String>,
}

/// Draws every chart into `DIR/plots/`: the histograms, `timings`,
/// `failures` and one per spec (validated beforehand by [`validate_plots`]).
pub(crate) fn render_all(
    dir: &Path,
    statistics: &Statistics,
    timings: &Timings,
    specs: &[PlotSpec],
) -> Result<RenderedPlots, PlotError> {
    let plots = dir.join(PLOTS_DIR);
    fs::create_dir_all(&plots).map_err(|source| StatsError::Io {
        path: plots.clone(),
        source,
    })?;
    let mut rendered = RenderedPlots::default();
    let drawn = distributions_drawn(specs);
    for (stat, values) in &statistics.values {
        let name = format!("{HISTOGRAM_PREFIX}{}", sanitize(stat));
        if drawn.contains(stat.as_str()) {
            // Said once, by the config's chart; an older pass's copy goes.
            for extension in ["png", "svg"] {
                let _ = fs::remove_file(plots.join(format!("{name}.{extension}")));
            }
            continue;
        }
        let chart = histogram(
            &stat_title(stat),
            stat,
            "samples",
            values,
            non_finite(statistics, stat),
            None,
        );
        rendered.write(&plots, &name, &chart, true)?;
    }
    let chart = timing_boxes(statistics, timings);
    // No timings (nothing ran yet) and no failures are news, not problems.
    rendered.write(&plots, TIMINGS_CHART, &chart, false)?;
    rendered.write(&plots, FAILURES_CHART, &failure_bars(statistics), false)?;
    for spec in specs {
        rendered.write(
            &plots,
            &spec.file_name(),
            &spec_chart(spec, statistics),
            true,
        )?;
    }
    Ok(rendered)
}

impl RenderedPlots {
    /// Writes `name.png` and `name.svg`; a chart without data is a warning
    /// if `warn`.
    fn write(
        &mut self,
        plots: &Path,
        name: &str,
        chart: &Chart,
        warn: bool,
    ) -> Result<(), PlotError> {
        if let (Chart::Message { title, message }, true) = (chart, warn) {
            self.warnings.push(format!("{name}: {title}: {message}"));
        }
        let png = plots.join(format!("{name}.png"));
        let bytes = png_bytes(chart).map_err(|message| PlotError::Draw {
            path: png.clone(),
            message,
        })?;
        stats::write_atomic(&png, &bytes)?;
        let svg = plots.join(format!("{name}.svg"));
        let text = svg_text(chart).map_err(|message| PlotError::Draw {
            path: svg.clone(),
            message,
        })?;
        stats::write_atomic(&svg, text.as_bytes())?;
        self.files.push(png);
        self.files.push(svg);
        Ok(())
    }
}

fn stat_title(stat: &str) -> String {
    format!("Distribution of {stat}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::{StatValue, Stats};
    use crate::dataset::record::{BlockRecord, BlockStatus, SampleRecord, RECORD_FORMAT};
    use crate::dataset::sample_facts::SampleFacts;
    use crate::dataset::state::BlockState;
    use crate::pipeline::plots::{pairs_needed, validate_plots};
    use crate::statistics::sketch::Sketch;
    use crate::statistics::table::Aggregator;

    fn spec(yaml: &str) -> PlotSpec {
        serde_yaml::from_str(yaml).unwrap()
    }

    /// A dataset with every awkward case: integers, a long tail, one value,
    /// equal values, only NaN, text, failures with many reasons.
    fn awkward_statistics(dir: &Path, samples: u64) -> Statistics {
        let blocks = ["scene".to_owned(), "render".to_owned()];
        let mut aggregator = Aggregator::new(dir, &blocks).unwrap();
        for (x, y) in pairs_needed(&review_specs()) {
            aggregator.track_pair(&x, &y);
        }
        for sample in 0..samples {
            let mut scene = Stats::new();
            scene.insert("objects".into(), StatValue::from(sample % 9));
            let area = (sample as f64 * 0.37).sin() * 50.0 + (sample % 9) as f64 * 20.0;
            scene.insert("area".into(), StatValue::from(area));
            scene.insert("kind".into(), StatValue::from("cube"));
            let mut render = Stats::new();
            render.insert(
                "seconds".into(),
                StatValue::from(0.5 + 100.0 / (sample as f64 + 3.0)),
            );
            render.insert("equal".into(), StatValue::from(7.0));
            render.insert("nan".into(), StatValue::from(f64::NAN));
            if sample == 3 {
                render.insert("once".into(), StatValue::from(42.0));
            }
            let state = match sample % 10 {
                1 => BlockState::Failed(format!("exit code {}", sample % 23)),
                2 => BlockState::Rejected(
                    "object fully hidden behind the camera near plane, so nothing to see".into(),
                ),
                _ => BlockState::Complete,
            };
            let record = SampleRecord {
                format: RECORD_FORMAT,
                sample,
                blocks: vec![
                    BlockRecord {
                        name: "scene".into(),
                        fingerprint: String::new(),
                        status: BlockStatus::Ok,
                        attempts: 1,
                        reason: None,
                        stats: scene,
                        outputs: Vec::new(),
                    },
                    BlockRecord {
                        name: "render".into(),
                        fingerprint: String::new(),
                        status: BlockStatus::Ok,
                        attempts: 1,
                        reason: None,
                        stats: render,
                        outputs: Vec::new(),
                    },
                ],
            };
            let names = ["scene".to_owned(), "render".to_owned()];
            let states = vec![BlockState::Complete, state];
            let facts = SampleFacts::from_record(sample, states, Some(record), false, 0, &names);
            aggregator.add(&facts).unwrap();
        }
        aggregator.finish().unwrap()
    }

    fn review_specs() -> Vec<PlotSpec> {
        [
            "{type: scatter, x: scene.objects, y: scene.area, title: Area by object count}",
            "{type: line, x: sample, y: render.seconds, title: Render time over the dataset, y_label: seconds}",
            "{type: box, stats: [scene.area, render.seconds, render.once, render.equal], title: Several statistics}",
            "{type: histogram, stat: render.seconds, bins: 12, title: Render seconds (12 bins), name: render_seconds}",
            "{type: histogram, stat: render.missing, title: A statistic nobody records}",
        ]
        .iter()
        .map(|yaml| spec(yaml))
        .collect()
    }

    fn review_timings() -> Timings {
        let mut timings = Timings::default();
        let mut scene: Vec<f64> = (0..5000)
            .map(|i| 0.01 + f64::from(i % 100) * 0.0004)
            .collect();
        scene.sort_by(f64::total_cmp);
        let mut render: Vec<f64> = (0..5000)
            .map(|i| 0.5 + f64::from(i % 50) * 0.05 + if i % 97 == 0 { 4.0 } else { 0.0 })
            .collect();
        render.sort_by(f64::total_cmp);
        timings.seconds.insert("scene".into(), Sketch::of(&scene));
        timings.seconds.insert("render".into(), Sketch::of(&render));
        timings
    }

    fn assert_chart_files(plots: &Path, name: &str, title: &str) {
        let png = fs::read(plots.join(format!("{name}.png"))).unwrap();
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{name}.png signature"
        );
        let mut reader = png::Decoder::new(std::io::Cursor::new(png))
            .read_info()
            .unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(
            (info.width, info.height),
            (WIDTH, HEIGHT),
            "{name}.png size"
        );
        // Not blank: some pixels are dark (text, axes).
        assert!(
            pixels
                .chunks(3)
                .filter(|p| p.iter().all(|&c| c < 100))
                .count()
                > 200,
            "{name}.png is blank"
        );
        let svg = fs::read_to_string(plots.join(format!("{name}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg"),
            "{name}.svg starts with {:?}",
            &svg[..20.min(svg.len())]
        );
        assert!(svg.contains(title), "{name}.svg lacks its title {title:?}");
    }

    #[test]
    fn every_chart_renders_to_valid_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let statistics = awkward_statistics(dir.path(), 400);
        let specs = review_specs();
        validate_plots(&specs).unwrap();
        let rendered = render_all(dir.path(), &statistics, &review_timings(), &specs).unwrap();
        let plots = dir.path().join(PLOTS_DIR);
        for (name, title) in [
            ("hist_scene.objects", "Distribution of scene.objects"),
            ("hist_render.nan", "Distribution of render.nan"),
            ("timings", "Wall time per block"),
            ("failures", "Failures per block and reason"),
            (
                "scatter_scene.area_vs_scene.objects",
                "Area by object count",
            ),
            (
                "line_render.seconds_vs_sample",
                "Render time over the dataset",
            ),
            (
                "box_scene.area_render.seconds_render.once_render.equal",
                "Several statistics",
            ),
            ("render_seconds", "Render seconds (12 bins)"),
            ("histogram_render.missing", "A statistic nobody records"),
        ] {
            assert_chart_files(&plots, name, title);
        }
        // The box and histogram specs draw scene.area, render.seconds,
        // render.once and render.equal: no hist_ chart says it again.
        for stat in [
            "scene.area",
            "render.seconds",
            "render.once",
            "render.equal",
        ] {
            assert!(!plots.join(format!("hist_{stat}.png")).exists(), "{stat}");
            assert!(!plots.join(format!("hist_{stat}.svg")).exists(), "{stat}");
        }
        // 2 undrawn numeric stats + timings + failures + 5 specs, twice each.
        assert_eq!(rendered.files.len(), 2 * (2 + 2 + 5));
        assert_eq!(
            rendered.warnings,
            [
                "hist_render.nan: Distribution of render.nan: No finite values of render.nan; 320 NaN/inf skipped",
                "histogram_render.missing: A statistic nobody records: No numeric values of render.missing",
            ]
        );
        let leftovers = fs::read_dir(&plots)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    fn empty_dataset_renders_messages() {
        let dir = tempfile::tempdir().unwrap();
        let statistics = Aggregator::new(dir.path(), &["a".to_owned()])
            .unwrap()
            .finish()
            .unwrap();
        let rendered = render_all(dir.path(), &statistics, &Timings::default(), &[]).unwrap();
        assert_eq!(rendered.files.len(), 4);
        assert_eq!(rendered.warnings, Vec::<String>::new());
        let plots = dir.path().join(PLOTS_DIR);
        assert_chart_files(&plots, "failures", "No failures in 0 samples");
        assert_chart_files(
            &plots,
            "timings",
            "No timings recorded under .shardgen/runs",
        );
    }

    /// Awkward data (NaN, single values, huge counts, long labels, no data at
    /// all) renders without failing. Set `SHARDGEN_PLOT_REVIEW=DIR` to keep
    /// the charts in DIR for a person to look at.
    #[test]
    fn awkward_data_renders() {
        let temp = tempfile::tempdir().unwrap();
        let dir = std::env::var_os("SHARDGEN_PLOT_REVIEW")
            .map_or_else(|| temp.path().to_path_buf(), std::path::PathBuf::from);
        fs::create_dir_all(&dir).unwrap();
        let statistics = awkward_statistics(&dir, 20_000);
        let rendered = render_all(&dir, &statistics, &review_timings(), &review_specs()).unwrap();
        assert!(rendered.files.len() >= 10, "{:?}", rendered.files);
        let empty = dir.join("empty");
        fs::create_dir_all(&empty).unwrap();
        let statistics = Aggregator::new(&empty, &["a".to_owned()])
            .unwrap()
            .finish()
            .unwrap();
        render_all(&empty, &statistics, &Timings::default(), &[]).unwrap();
    }
}
