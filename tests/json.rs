//! `--json` reports of run, merge and analyze: one object on stdout with a
//! versioned `format`, counts that match the run log and the statistics.

use std::fs;

use serde_json::Value;

use crate::common::{listing, Workspace, TWO_BLOCKS};

/// `b` fails on samples 2 and 5; the rest complete.
const FAILING: &str = "seed: 3
samples: 8
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 8}}
  - name: b
    type: command
    command: [sh, -c, 'case $SHARDGEN_SAMPLE_ID in 2|5) echo \"broken on $SHARDGEN_SAMPLE_ID\" >&2; exit 3;; esac; echo b > b.txt']
    outputs: [b.txt]
";

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).expect("one JSON object on stdout")
}

#[test]
fn run_json_has_counts_failures_and_the_files_written() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", FAILING);
    let outcome = ws.run_failing(&config, "data", &["--json"]);
    let report = json(&outcome.stdout());
    assert_eq!(report["format"], "shardgen-run/1");
    assert_eq!(report["completed"], 6);
    assert_eq!(report["failed"], 2);
    assert_eq!(report["rejected"], 0);
    assert_eq!(report["already_complete"], 0);
    assert_eq!(report["targeted"], 8);
    assert_eq!(report["dry_run"], false);
    // Failures grouped by block and kind: the sample numbers differ, the kind
    // does not.
    let failures = report["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["block"], "b");
    assert_eq!(failures[0]["kind"], "exit code: broken on");
    assert_eq!(failures[0]["count"], 2);
    assert_eq!(failures[0]["samples"], serde_json::json!([[2, 3], [5, 6]]));
    assert_eq!(report["plan"]["blocks"][0]["to_run"], 8);
    assert_eq!(report["statistics"]["status"], "written");
    assert_eq!(report["statistics"]["complete"], 6);
    // The run log holds the same counts, from the engine's own tally.
    let log = fs::read_to_string(report["run_log"].as_str().unwrap()).unwrap();
    let log: serde_yaml::Value = serde_yaml::from_str(&log).unwrap();
    assert_eq!(log["counts"]["completed"], 6);
    assert_eq!(log["counts"]["failed"], 2);
    // Progress and the summary stay on stderr.
    assert!(
        outcome.stderr().contains("finished in "),
        "{}",
        outcome.stderr()
    );

    // A second run: the failed samples run again, the others were complete.
    let again = json(
        &ws.run_failing(&config, "data", &["--json", "--quiet"])
            .stdout(),
    );
    assert_eq!(again["already_complete"], 6);
    assert_eq!(again["failed"], 2);
    assert_eq!(again["completed"], 0);
}

#[test]
fn quiet_runs_count_the_same_as_loud_ones() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", FAILING);
    let quiet = ws.run_failing(&config, "quiet", &["--json", "--quiet"]);
    assert_eq!(quiet.stderr(), "", "--quiet prints nothing but errors");
    let loud = ws.run_failing(&config, "loud", &["--json"]);
    let counts = |v: &Value| {
        [
            "completed",
            "failed",
            "rejected",
            "already_complete",
            "skipped",
        ]
        .map(|k| v[k].clone())
    };
    assert_eq!(
        counts(&json(&quiet.stdout())),
        counts(&json(&loud.stdout()))
    );
}

#[test]
fn dry_run_json_is_the_plan_and_changes_nothing() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "data", &["--num-samples", "4"]);
    let before = listing(&ws.path("data"));
    let outcome = ws.run_ok(
        &config,
        "data",
        &["--num-samples", "6", "--dry-run", "--json"],
    );
    let report = json(&outcome.stdout());
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["already_complete"], 4);
    assert_eq!(report["completed"], 0);
    assert_eq!(report["plan"]["targeted"], 6);
    assert_eq!(
        report["plan"]["already_complete"],
        serde_json::json!([[0, 4]])
    );
    let a = &report["plan"]["blocks"][0];
    assert_eq!(a["block"], "a");
    assert_eq!(a["reasons"][0]["reason"], "missing");
    assert_eq!(a["reasons"][0]["samples"], serde_json::json!([[4, 6]]));
    assert_eq!(report["run_log"], Value::Null);
    assert_eq!(listing(&ws.path("data")), before);
}

#[test]
fn merge_json_reports_what_was_brought_and_the_gaps() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "s1", &["--num-samples", "3"]);
    ws.run_ok(
        &config,
        "s2",
        &["--start-sample", "5", "--num-samples", "2"],
    );
    let outcome = ws
        .shardgen()
        .args(["merge", "s1", "s2", "--into", "all", "--json"])
        .expect_code(0);
    let report = json(&outcome.stdout());
    assert_eq!(report["format"], "shardgen-merge/1");
    assert_eq!(report["brought"], serde_json::json!([[0, 3], [5, 7]]));
    assert_eq!(report["gaps"], serde_json::json!([[3, 5]]));
    assert_eq!(report["shards"], 2);
    let commands = report["commands"].as_array().unwrap();
    assert_eq!(commands.len(), 1);
    assert!(commands[0]
        .as_str()
        .unwrap()
        .ends_with("--out all --start-sample 3 --num-samples 2"));
}

/// analyze and the statistics pass count every block alike.
#[test]
fn analyze_and_statistics_agree_on_block_counts() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", FAILING);
    ws.run_failing(&config, "data", &["--quiet"]);
    // Lose an output, so that the counts differ from "all complete".
    fs::remove_file(crate::common::sample(&ws.path("data"), 1).join("a.bin")).unwrap();
    ws.run_ok(&config, "data", &["--statistics-only", "--quiet"]);
    let analysis = json(
        &ws.shardgen()
            .args(["analyze", "data", "--json"])
            .expect_code(0)
            .stdout(),
    );
    assert_eq!(analysis["format"], "shardgen-analyze/1");
    let yaml = fs::read_to_string(ws.path("data/statistics.yaml")).unwrap();
    let statistics: serde_yaml::Value = serde_yaml::from_str(&yaml).unwrap();
    let blocks = analysis["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), 2);
    for (index, block) in blocks.iter().enumerate() {
        let summary = &statistics["blocks"][index];
        assert_eq!(summary["name"].as_str(), block["name"].as_str());
        for key in ["complete", "failed", "rejected", "stale", "missing"] {
            assert_eq!(
                summary[key].as_u64(),
                block[key].as_u64(),
                "{key} of {}",
                block["name"]
            );
        }
    }
    // Sample 1 lost a.bin: a is missing there.
    assert_eq!(blocks[0]["missing"], 1);
    assert_eq!(blocks[1]["failed"], 2);
}
