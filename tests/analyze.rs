//! `shardgen analyze`: counts, ranges, failures and commands, from records
//! alone, without writing anything.

use std::fs;

use serde_json::Value;

use crate::common::{listing, sample, Workspace};

/// b fails on samples 3 and 4; c has no failures.
const CHAIN: &str = "seed: 21
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 8}}
  - name: b
    type: command
    command: [sh, -c, 'case $SHARDGEN_SAMPLE_ID in 3|4) echo nope >&2; exit 1;; esac; echo b > b.txt']
    outputs: [b.txt]
  - {name: c, type: random-bytes, outputs: [c.bin], params: {size: 8}}
";

fn analyze_json(ws: &Workspace) -> Value {
    let outcome = ws
        .shardgen()
        .args(["analyze", "data", "--json"])
        .expect_code(0);
    serde_json::from_str(&outcome.stdout()).expect("analyze --json prints one JSON object")
}

#[test]
fn json_counts_ranges_failures_and_stale_blocks() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", CHAIN);
    let run = |cfg: &std::path::Path, args: &[&str], code: i32| {
        ws.run(cfg, "data", args).expect_code(code);
    };
    // Samples 3 and 4 fail: exit 3.
    run(&config, &["--start-sample", "0", "--num-samples", "8"], 3);
    run(&config, &["--start-sample", "10", "--num-samples", "2"], 0);
    // A param change of c makes c stale wherever it ran.
    let stale_config = ws.write(
        "q.yaml",
        &CHAIN.replace(
            "- {name: c, type: random-bytes, outputs: [c.bin], params: {size: 8}}",
            "- {name: c, type: random-bytes, outputs: [c.bin], params: {size: 9}}",
        ),
    );
    // Write the changed manifest without touching samples (a dry run changes
    // nothing, so use a run over an empty range instead).
    run(
        &stale_config,
        &["--start-sample", "20", "--num-samples", "0"],
        0,
    );
    // Sample 6 lost an output: its blocks b and c are missing.
    fs::remove_file(sample(&ws.path("data"), 6).join("b.txt")).unwrap();

    let json = analyze_json(&ws);
    assert_eq!(json["seed"], 21);
    assert_eq!(
        json["samples"],
        serde_json::json!({"present": 10, "complete": 0, "failed": 2, "rejected": 0, "incomplete": 8})
    );
    assert_eq!(json["ranges"], serde_json::json!([[0, 8], [10, 12]]));
    let blocks = json["blocks"].as_array().unwrap();
    let row = |i: usize| {
        let b = &blocks[i];
        (
            b["name"].as_str().unwrap().to_owned(),
            [&b["complete"], &b["failed"], &b["missing"], &b["stale"]].map(|v| v.as_u64().unwrap()),
        )
    };
    assert_eq!(row(0), ("a".to_owned(), [10, 0, 0, 0]));
    assert_eq!(row(1), ("b".to_owned(), [7, 2, 1, 0]));
    // c: stale wherever it ran (the manifest now says size 9), sample 6
    // included; missing after the failures of 3 and 4.
    assert_eq!(row(2), ("c".to_owned(), [0, 0, 2, 8]));
    for b in blocks {
        let sum: u64 = ["complete", "failed", "missing", "stale"]
            .iter()
            .map(|k| b[k].as_u64().unwrap())
            .sum();
        assert_eq!(sum, 10, "counts of {} sum to present", b["name"]);
    }
    assert_eq!(
        json["failures"],
        serde_json::json!([
            {"sample": 3, "block": "b", "reason": "exit code 1: nope"},
            {"sample": 4, "block": "b", "reason": "exit code 1: nope"}
        ])
    );
    let commands = json["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 1, "{commands:?}");
    assert!(commands[0]
        .as_str()
        .unwrap()
        .ends_with("--start-sample 0 --num-samples 12"));
}

#[test]
fn analyze_writes_nothing_and_reports_damage_without_failing() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", CHAIN);
    ws.run_failing(&config, "data", &["--num-samples", "6"]);
    let record = sample(&ws.path("data"), 2).join(".shardgen.json");
    fs::write(&record, b"{\"format\": 1, \"sam").unwrap();
    let before = listing(&ws.path("data"));
    let text = ws
        .shardgen()
        .args(["analyze", "data"])
        .expect_code(0)
        .stdout();
    assert!(text.contains("samples present: 6 [0..6]"), "{text}");
    assert!(
        text.contains("complete 3, failed 2, rejected 0, incomplete 1"),
        "{text}"
    );
    assert!(text.contains("b: 2 x exit code 1: nope [3..5]"), "{text}");
    assert!(text.contains("damaged records: 1"), "{text}");
    assert!(text.contains("--start-sample 2 --num-samples 3"), "{text}");
    let json = analyze_json(&ws);
    assert_eq!(json["damaged"], serde_json::json!([[2, 3]]));
    let one = ws
        .shardgen()
        .args(["analyze", "data", "--sample", "3"])
        .expect_code(0)
        .stdout();
    assert!(one.contains("b: failed: exit code 1: nope"), "{one}");
    assert!(one.contains("c: missing"), "{one}");
    assert!(one.contains("seed "), "{one}");
    assert_eq!(
        before,
        listing(&ws.path("data")),
        "analyze changed the dataset"
    );
}

#[test]
fn analyze_refuses_what_is_not_a_dataset() {
    let ws = Workspace::new();
    fs::create_dir_all(ws.path("empty")).unwrap();
    let outcome = ws.shardgen().args(["analyze", "empty"]).expect_code(2);
    assert!(
        outcome.stderr().contains("is not a shardgen dataset"),
        "{}",
        outcome.stderr()
    );
}

/// The gap commands quote every word, so they run as printed, from the folder
/// where analyze ran, even with spaces in the dataset and config paths.
#[test]
fn gap_commands_run_as_printed_with_spaces_in_paths() {
    let ws = Workspace::new();
    let config = ws.write("my config.yaml", crate::common::TWO_BLOCKS);
    ws.run_ok(&config, "my data", &["--num-samples", "6"]);
    for id in [2, 4] {
        fs::remove_dir_all(sample(&ws.path("my data"), id)).unwrap();
    }
    let outcome = ws
        .shardgen()
        .args(["analyze", "my data", "--json"])
        .expect_code(0);
    let json: Value = serde_json::from_str(&outcome.stdout()).unwrap();
    let commands: Vec<&str> = json["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert!(commands[0].contains("--out 'my data' --start-sample 2 --num-samples 1"));
    for command in commands {
        crate::common::run_printed_command(&ws, command);
    }
    let json = {
        let outcome = ws
            .shardgen()
            .args(["analyze", "my data", "--json"])
            .expect_code(0);
        serde_json::from_str::<Value>(&outcome.stdout()).unwrap()
    };
    assert_eq!(json["samples"]["complete"], 6);
    assert_eq!(json["commands"], serde_json::json!([]));
}
