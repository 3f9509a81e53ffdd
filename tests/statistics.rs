//! The statistics pass: deterministic files, no block run, valid plots.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::process::Command;

use shardgen::rand::Rng;
use shardgen::{Block, BlockError, BlockSetup, Registry, SampleContext};

use crate::common::{sample, tree_digest, Workspace};

/// A pipeline whose command block counts its invocations in a file, and
/// records a number and a string per sample.
const COUNTED: &str = "seed: 4
samples: 20
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 32}}
  - name: m
    type: command
    command: [sh, -c, 'echo x >> {config_dir}/invocations; echo \"{\\\"v\\\": $((SHARDGEN_SAMPLE_ID % 7)), \\\"parity\\\": \\\"p$((SHARDGEN_SAMPLE_ID % 2))\\\"}\" > \"$SHARDGEN_STATS\"; [ $SHARDGEN_SAMPLE_ID != 13 ] && touch m.txt; true']
    outputs: [m.txt]
plots:
  - {type: scatter, x: sample, y: m.v, title: \"v by sample\", x_label: sample, y_label: v}
";

#[test]
fn one_run_and_merged_shards_give_identical_statistics() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", COUNTED);
    ws.run_failing(&config, "whole", &["--quiet"]);
    ws.run_ok(&config, "s1", &["--shard", "0/2", "--quiet"]);
    ws.run_failing(&config, "s2", &["--shard", "1/2", "--quiet"]);
    fs::create_dir_all(ws.path("merged")).unwrap();
    for shard in ["s1", "s2"] {
        let status = Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", ws.path(shard).display()))
            .arg(ws.path("merged"))
            .status()
            .unwrap();
        assert!(status.success());
    }
    ws.run_ok(&config, "merged", &["--statistics-only", "--quiet"]);
    for file in ["statistics.yaml", "statistics.csv"] {
        let whole = fs::read(ws.path("whole").join(file)).unwrap();
        assert_eq!(
            whole,
            fs::read(ws.path("merged").join(file)).unwrap(),
            "{file}"
        );
    }
    let yaml = fs::read_to_string(ws.path("whole/statistics.yaml")).unwrap();
    assert!(yaml.contains("complete: 19"), "{yaml}");
    assert!(
        yaml.contains("missing required output 'm.txt': 1"),
        "{yaml}"
    );
    assert!(yaml.contains("m.parity"), "{yaml}");
    let csv = fs::read_to_string(ws.path("whole/statistics.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("sample,a.bytes,m.parity,m.v"));
    assert_eq!(lines.next(), Some("0,32,p0,0"));
    assert_eq!(csv.lines().count(), 1 + 19, "one row per complete sample");
}

#[test]
fn statistics_only_runs_no_block() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", COUNTED);
    ws.run_ok(&config, "data", &["--quiet", "--num-samples", "6"]);
    let invocations = || {
        fs::read_to_string(ws.path("invocations"))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(invocations(), 6);
    fs::remove_file(ws.path("data/statistics.yaml")).unwrap();
    // Sample 3 loses an output: a run would redo it; statistics only must not.
    fs::remove_file(sample(&ws.path("data"), 3).join("m.txt")).unwrap();
    let outcome = ws.run_ok(
        &config,
        "data",
        &["--statistics-only", "--num-samples", "20"],
    );
    assert_eq!(invocations(), 6, "a block ran");
    assert!(
        outcome
            .stderr()
            .contains("statistics of 5 complete samples (of 6)"),
        "{}",
        outcome.stderr()
    );
    assert!(ws.path("data/statistics.yaml").exists());
    assert!(
        !sample(&ws.path("data"), 10).exists(),
        "--statistics-only made a sample"
    );
}

#[test]
fn plots_are_valid_png_and_svg_files() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", COUNTED);
    ws.run_failing(&config, "data", &["--quiet"]);
    let plots = ws.path("data/plots");
    for name in [
        "hist_m.v",
        "hist_a.bytes",
        "timings",
        "failures",
        "scatter_m.v_vs_sample",
    ] {
        let png =
            fs::read(plots.join(format!("{name}.png"))).unwrap_or_else(|_| panic!("{name}.png"));
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let info = decoder.read_info().expect("a valid PNG").info().clone();
        assert_eq!((info.width, info.height), (800, 600), "{name}");
        let svg = fs::read_to_string(plots.join(format!("{name}.svg"))).unwrap();
        assert!(svg.contains("<svg"), "{name}.svg");
    }
    let svg = fs::read_to_string(plots.join("scatter_m.v_vs_sample.svg")).unwrap();
    assert!(svg.contains("v by sample"), "the title is in the SVG");
}

/// A Rust block that records, per sample, statistics with more than 4,096
/// distinct values (so their percentiles come from the sketch), a small
/// integer one (exact at any size), and values of both signs; the values
/// depend on the sample's seed alone. Run in-process through the library's
/// CLI, as a user's `main` would (fast: no process per sample).
struct Sketched;

impl Block for Sketched {
    const TYPE: &'static str = "sketched";
    const VERSION: u32 = 1;
    const SUMMARY: &'static str = "records statistics of many distinct values";
    type Params = ();

    fn new(_params: (), _setup: &mut BlockSetup) -> Result<Self, String> {
        Ok(Self)
    }

    fn run(&self, ctx: &mut SampleContext<'_>) -> Result<(), BlockError> {
        let h: f64 = ctx.rng().random();
        let id = ctx.sample_id();
        ctx.record_stat("wide", (20.0 * h).exp());
        ctx.record_stat("small", (id % 13) as f64);
        ctx.record_stat("signed", (h - 0.5) * 1e3);
        ctx.record_stat("tail", 1.0 / (1.0 - h + 1e-9));
        Ok(())
    }
}

/// `shardgen ARGS... --quiet` with the [`Sketched`] block registered; must exit 0.
fn sketched_cli(args: &[&OsStr]) {
    let mut registry = Registry::builtin();
    registry.register::<Sketched>();
    let mut argv: Vec<OsString> = vec!["shardgen".into()];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    argv.push("--quiet".into());
    let code = shardgen::cli::main(registry, argv.clone());
    assert_eq!(code, std::process::ExitCode::SUCCESS, "{argv:?}");
}

const SKETCHED: &str = "seed: 3
samples: 6000
blocks:
  - {name: m, type: sketched}
plots:
  - {type: scatter, x: m.signed, y: m.wide, title: wide by signed}
  - {type: line, x: sample, y: m.tail, title: tail by sample}
  - {type: box, stats: [m.signed, m.small], title: boxes}
  - {type: histogram, stat: m.tail, bins: 30, title: tail}
";

/// Above 4,096 values per statistic (the sketch's side): one run and the
/// same samples made by three shards and merged by copying give
/// byte-identical statistics files and charts (all but the wall times), and
/// the percentiles are within the documented 0.195 % of the exact ones.
#[test]
fn sketched_statistics_and_plots_are_identical_for_one_run_and_merged_shards() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", SKETCHED);
    let run = |out: &str, args: &[&str]| {
        let out = ws.path(out);
        let mut argv: Vec<&OsStr> = vec!["run".as_ref(), config.as_os_str()];
        argv.extend(["--out".as_ref(), out.as_os_str()]);
        argv.extend(args.iter().map(OsStr::new));
        sketched_cli(&argv);
    };
    run("whole", &[]);
    fs::create_dir_all(ws.path("merged")).unwrap();
    for shard in 0..3 {
        let name = format!("s{shard}");
        run(&name, &["--shard", &format!("{shard}/3")]);
        let status = Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", ws.path(&name).display()))
            .arg(ws.path("merged"))
            .status()
            .unwrap();
        assert!(status.success());
    }
    run("merged", &["--statistics-only"]);
    let deterministic = |path: &str| {
        path == "statistics.yaml"
            || path == "statistics.csv"
            || (path.starts_with("plots/") && !path.starts_with("plots/timings."))
    };
    let whole = tree_digest(&ws.path("whole"), deterministic);
    let merged = tree_digest(&ws.path("merged"), deterministic);
    // yaml, csv, and PNG + SVG of: 4 config charts, hist_m.wide, failures.
    assert_eq!(whole.len(), 2 + 2 * 6, "{whole:?}");
    assert_eq!(whole, merged);

    // The percentiles against the exact ones, from the CSV.
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(&fs::read_to_string(ws.path("whole/statistics.yaml")).unwrap())
            .unwrap();
    let csv = fs::read_to_string(ws.path("whole/statistics.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        header,
        ["sample", "m.signed", "m.small", "m.tail", "m.wide"]
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|c| c.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 6000);
    for (column, stat) in header.iter().enumerate().skip(1) {
        let mut values: Vec<f64> = rows.iter().map(|r| r[column]).collect();
        values.sort_by(f64::total_cmp);
        let summary = &yaml["numbers"][stat];
        assert_eq!(summary["count"].as_u64(), Some(6000));
        for (key, p) in [
            ("p5", 5.0),
            ("p25", 25.0),
            ("p50", 50.0),
            ("p75", 75.0),
            ("p95", 95.0),
        ] {
            let rank: f64 = p / 100.0 * 5999.0;
            let (lower, upper) = (rank.floor() as usize, rank.ceil() as usize);
            let exact = values[lower] + (rank - rank.floor()) * (values[upper] - values[lower]);
            let scale = values[lower].abs().max(values[upper].abs());
            let got = summary[key].as_f64().unwrap();
            // 0.195 %, plus the 9 significant digits of the YAML.
            assert!(
                (got - exact).abs() <= scale / 512.0 + exact.abs() * 1e-8,
                "{stat} {key}: {got} vs exact {exact}"
            );
            if *stat == "m.small" {
                assert_eq!(got, exact, "{stat} has 13 distinct values: exact");
            }
        }
        let min = summary["min"].as_f64().unwrap();
        let max = summary["max"].as_f64().unwrap();
        assert!(
            (min - values[0]).abs() <= values[0].abs() * 1e-8,
            "{stat} min"
        );
        assert!(
            (max - values[5999]).abs() <= values[5999].abs() * 1e-8,
            "{stat} max"
        );
    }
}

/// The statistics files of `dir` with their modification times.
fn statistics_mtimes(dir: &std::path::Path) -> Vec<(String, std::time::SystemTime)> {
    [
        "statistics.yaml",
        "statistics.csv",
        "report.html",
        "timings.yaml",
    ]
    .iter()
    .map(|name| {
        let modified = fs::metadata(dir.join(name)).unwrap().modified().unwrap();
        ((*name).to_owned(), modified)
    })
    .collect()
}

const BYTES: &str = "seed: 4
samples: 20
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 32}}
";

#[test]
fn a_run_that_changed_nothing_leaves_the_statistics_and_any_change_redoes_them() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", BYTES);
    ws.run_ok(&config, "data", &["--quiet"]);
    let data = ws.path("data");
    let written = statistics_mtimes(&data);
    let statistics = |outcome: &crate::common::Outcome| -> serde_json::Value {
        let report: serde_json::Value = serde_json::from_str(&outcome.stdout()).unwrap();
        report["statistics"]["status"].clone()
    };
    let noop = ws.run_ok(&config, "data", &["--json"]);
    assert_eq!(statistics(&noop), "unchanged");
    assert!(
        noop.stderr().contains("statistics unchanged"),
        "{}",
        noop.stderr()
    );
    assert_eq!(statistics_mtimes(&data), written);

    // A changed plots: entry, or a statistics file gone: written again.
    let charted = ws.write(
        "q.yaml",
        &format!("{BYTES}plots:\n  - {{type: histogram, stat: a.bytes, title: Bytes}}\n"),
    );
    assert_eq!(
        statistics(&ws.run_ok(&charted, "data", &["--json"])),
        "written"
    );
    assert_eq!(
        statistics(&ws.run_ok(&charted, "data", &["--json"])),
        "unchanged"
    );
    fs::remove_file(data.join("report.html")).unwrap();
    assert_eq!(
        statistics(&ws.run_ok(&charted, "data", &["--json"])),
        "written"
    );
    assert!(data.join("report.html").is_file());
    // A sample copied in from a shard outside the range: written again.
    ws.run_ok(
        &config,
        "other",
        &["--start-sample", "40", "--num-samples", "1", "--quiet"],
    );
    let from = sample(&ws.path("other"), 40);
    let to = sample(&data, 40);
    let status = Command::new("cp")
        .arg("-a")
        .arg(&from)
        .arg(&to)
        .status()
        .unwrap();
    assert!(status.success());
    let after_copy = ws.run_ok(&charted, "data", &["--json"]);
    assert_eq!(statistics(&after_copy), "written");
    let yaml = fs::read_to_string(data.join("statistics.yaml")).unwrap();
    assert!(yaml.contains("seen: 21"), "{yaml}");
    // A run over 0..20 cannot vouch for sample 40: it keeps writing them.
    assert_eq!(
        statistics(&ws.run_ok(&charted, "data", &["--json"])),
        "written"
    );
}

/// The run's report: what its scan read and what its statistics pass read.
fn reads(outcome: &crate::common::Outcome) -> (u64, u64) {
    let report: serde_json::Value = serde_json::from_str(&outcome.stdout()).unwrap();
    let scan = report["plan"]["scan"]["records_read"].as_u64().unwrap();
    let pass = report["statistics"]["records_read"].as_u64().unwrap();
    (scan, pass)
}

#[test]
fn a_run_reads_each_record_once_and_writes_the_statistics_a_full_pass_would() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", COUNTED);
    let data = ws.path("data");
    // Fresh: nothing to scan, and the pass knows every record it wrote.
    let fresh = ws.run_failing(&config, "data", &["--json"]);
    assert_eq!(reads(&fresh), (0, 0));
    let full_pass = |data: &std::path::Path| {
        let files = ["statistics.yaml", "statistics.csv"];
        let made: Vec<Vec<u8>> = files
            .iter()
            .map(|f| fs::read(data.join(f)).unwrap())
            .collect();
        let only = ws.run_ok(&config, "data", &["--statistics-only", "--json"]);
        let report: serde_json::Value = serde_json::from_str(&only.stdout()).unwrap();
        assert_eq!(
            report["statistics"]["records_read"], 20,
            "it reads them all"
        );
        for (file, made) in files.iter().zip(made) {
            assert_eq!(made, fs::read(data.join(file)).unwrap(), "{file} differs");
        }
    };
    full_pass(&data);
    // Two samples gone, one damaged: the scan reads the 18 present, the run
    // redoes 3 (and sample 13, which fails every time), the pass reads none.
    for id in [3, 7] {
        fs::remove_dir_all(sample(&data, id)).unwrap();
    }
    fs::write(sample(&data, 5).join("a.bin"), b"short").unwrap();
    let rerun = ws.run_failing(&config, "data", &["--json"]);
    assert_eq!(reads(&rerun), (18, 0));
    full_pass(&data);
    // A run over part of the dataset: the pass reads the samples outside it.
    fs::remove_dir_all(sample(&data, 2)).unwrap();
    let part = ws.run_ok(&config, "data", &["--num-samples", "10", "--json"]);
    assert_eq!(reads(&part), (9, 10));
    full_pass(&data);
}

#[test]
fn after_another_run_started_or_ended_the_pass_reads_every_record() {
    let ws = Workspace::new();
    let data = ws.path("data");
    // The block plays "another run": it writes a log into the runs folder
    // while this run works, as a run starting or ending would.
    let other_log = data.join(".shardgen/runs/20000101T000000Z-elsewhere-1.yaml");
    let config = ws.write(
        "p.yaml",
        &format!(
            "{BYTES}  - name: other
    type: command
    command: [sh, -c, 'touch \"{}\"; touch o.txt']
    outputs: [o.txt]
",
            other_log.display()
        ),
    );
    ws.run_ok(&config, "data", &["--num-samples", "10", "--quiet"]);
    fs::remove_file(&other_log).unwrap();
    fs::remove_dir_all(sample(&data, 4)).unwrap();
    let outcome = ws.run_ok(&config, "data", &["--num-samples", "10", "--json"]);
    assert_eq!(reads(&outcome), (9, 10), "the scan's facts were trusted");
    let csv = fs::read_to_string(data.join("statistics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 10, "{csv}");
}
