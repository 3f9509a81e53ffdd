//! The statistics pass: deterministic files, no block run, valid plots.

use std::fs;
use std::process::Command;

use crate::common::{sample, Workspace};

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
    ws.run_ok(&config, "whole", &["--quiet"]);
    ws.run_ok(&config, "s1", &["--shard", "0/2", "--quiet"]);
    ws.run_ok(&config, "s2", &["--shard", "1/2", "--quiet"]);
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
    ws.run_ok(&config, "data", &["--quiet"]);
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
