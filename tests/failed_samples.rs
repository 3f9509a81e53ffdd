//! Failed and rejected samples: rejections are final for their
//! fingerprint, `--rerun-failed REGEX` picks the failures to retry, and a
//! run in which samples failed exits 3.

use std::fs;

use serde_json::Value;

use crate::common::{block_reason, block_status, listing, sample_path, Workspace};

/// `gen` fails on samples 1 and 6 (a license server) and 2 and 7 (a
/// crash) until the file `fixed` exists beside the config; it rejects
/// samples 3 and 8 whatever happens. `post` runs after it.
const MIXED: &str = r#"seed: 4
samples: 10
blocks:
  - name: gen
    type: command
    command:
      - sh
      - -c
      - |
        id=$SHARDGEN_SAMPLE_ID
        case $((id % 5)) in
          1) [ -e "$0/fixed" ] || { echo "ERROR: license server unreachable" >&2; exit 1; } ;;
          2) [ -e "$0/fixed" ] || { echo "segfault in renderer" >&2; exit 139; } ;;
          3) echo "too dark" > "$SHARDGEN_REJECT" ;;
        esac
        echo "$SHARDGEN_SEED" > "$SHARDGEN_OUT_DIR/out.txt"
      - "{config_dir}"
    outputs: [out.txt]
  - {name: post, type: random-bytes, outputs: [post.bin], params: {size: 16}}
"#;

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("one JSON object")
}

/// The samples a block runs on in a `--dry-run --json` plan, as ids.
fn planned(plan: &Value, block: usize) -> Vec<u64> {
    let mut ids = Vec::new();
    for reason in plan["plan"]["blocks"][block]["reasons"].as_array().unwrap() {
        for pair in reason["samples"].as_array().unwrap() {
            let (start, end) = (pair[0].as_u64().unwrap(), pair[1].as_u64().unwrap());
            ids.extend(start..end);
        }
    }
    ids.sort_unstable();
    ids
}

#[test]
fn a_run_with_failed_samples_exits_3_and_one_without_exits_0() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", MIXED);
    let first = ws.run_failing(&config, "data", &["--json"]);
    let report = json(&first.stdout());
    assert_eq!(
        (&report["completed"], &report["failed"], &report["rejected"]),
        (&Value::from(4), &Value::from(4), &Value::from(2))
    );
    assert!(
        first
            .stderr()
            .contains("4 samples failed in this run (exit code 3)"),
        "{}",
        first.stderr()
    );
    // Every targeted sample failing is exit 3 too, never 0.
    let broken = ws.write(
        "broken.yaml",
        "seed: 1\nsamples: 3\nblocks:\n  - {name: x, type: command, command: [sh, -c, 'exit 4'], outputs: [x]}\n",
    );
    ws.run_failing(&broken, "broken", &[]);
    // Only rejections: exit 0.
    ws.write("fixed", "");
    ws.run_ok(&config, "data", &[]);
}

#[test]
fn rejections_are_final_until_forced_and_count_as_done() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", MIXED);
    ws.run_failing(&config, "data", &["--quiet"]);
    let data = ws.path("data");
    assert_eq!(block_status(&data, 3, "gen").as_deref(), Some("rejected"));

    let analysis = json(
        &ws.shardgen()
            .args(["analyze", "data", "--json"])
            .expect_code(0)
            .stdout(),
    );
    assert_eq!(
        analysis["samples"],
        serde_json::json!({"present": 10, "complete": 4, "failed": 4, "rejected": 2, "incomplete": 0})
    );
    assert_eq!(analysis["blocks"][0]["rejected"], 2);
    assert_eq!(analysis["blocks"][0]["failed"], 4);
    // The gap commands cover the failed samples, not the rejected ones.
    let commands = analysis["commands"].to_string();
    for failed in [
        "--start-sample 1 --num-samples 2",
        "--start-sample 6 --num-samples 2",
    ] {
        assert!(commands.contains(failed), "{commands}");
    }
    assert!(!commands.contains("--start-sample 3 "), "{commands}");

    // A plain rerun leaves the rejected samples alone (their files are
    // untouched) and says so.
    let rejected_files = |root: &std::path::Path| -> Vec<_> {
        listing(root)
            .into_iter()
            .filter(|e| e.0.starts_with(&sample_path(3)) || e.0.starts_with(&sample_path(8)))
            .collect()
    };
    let before = rejected_files(&data);
    assert!(!before.is_empty());
    let rerun = ws.run_failing(&config, "data", &["--json"]);
    assert!(
        rerun
            .stderr()
            .contains("gen: rejected (final) 2 [3, 8]: not run again"),
        "{}",
        rerun.stderr()
    );
    let report = json(&rerun.stdout());
    assert_eq!(report["rejected"], 0);
    assert_eq!(report["rejected_final"], 2);
    assert_eq!(planned(&report, 0), vec![1, 2, 6, 7]);
    assert_eq!(rejected_files(&data), before);

    // Once the failures are fixed, the run exits 0 without touching them.
    ws.write("fixed", "");
    let fixed = ws.run_ok(&config, "data", &[]);
    assert!(
        fixed.stderr().contains("2 rejected before (final)"),
        "{}",
        fixed.stderr()
    );
    assert_eq!(rejected_files(&data), before);

    // --force-run-blocks reopens them: validated again, rejected again.
    let forced = json(
        &ws.run_ok(&config, "data", &["--force-run-blocks", "gen", "--json"])
            .stdout(),
    );
    assert_eq!(forced["rejected"], 2);
    assert_eq!(forced["completed"], 8);
}

#[test]
fn rerun_failed_runs_exactly_the_samples_whose_reason_matches() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", MIXED);
    ws.run_failing(&config, "data", &["--quiet"]);
    let data = ws.path("data");
    assert_eq!(
        block_reason(&data, 1, "gen").as_deref(),
        Some("exit code 1: ERROR: license server unreachable")
    );

    let dry = ws
        .run(
            &config,
            "data",
            &["--rerun-failed", "licen[cs]e", "--dry-run", "--json"],
        )
        .expect_code(0);
    let plan = json(&dry.stdout());
    assert_eq!(planned(&plan, 0), vec![1, 6]);
    assert_eq!(
        plan["plan"]["not_selected"],
        serde_json::json!([[0, 1], [2, 6], [7, 10]])
    );

    // Fixed, and only the license failures rerun: the crashes stay failed,
    // byte for byte, and this run failed nothing, so it exits 0.
    ws.write("fixed", "");
    let record_of =
        |id: u64| fs::read(crate::common::sample(&data, id).join(".shardgen.json")).unwrap();
    let crash_before = (record_of(2), record_of(7));
    let run = ws.run_ok(&config, "data", &["--rerun-failed", "license", "--json"]);
    let report = json(&run.stdout());
    assert_eq!(report["completed"], 2);
    assert_eq!(report["not_selected"], 8);
    for id in [1, 6] {
        assert_eq!(block_status(&data, id, "post").as_deref(), Some("ok"));
    }
    assert_eq!((record_of(2), record_of(7)), crash_before);

    // --do-not-retry-blocks still wins over the selection.
    let left = ws
        .run(
            &config,
            "data",
            &["--rerun-failed", "segfault", "--do-not-retry-blocks", "gen"],
        )
        .expect_code(3);
    assert!(
        left.stderr()
            .contains("gen: 2 left alone (--do-not-retry-blocks) [2, 7]"),
        "{}",
        left.stderr()
    );
    assert_eq!((record_of(2), record_of(7)), crash_before);

    // Naming a rejection reruns the rejected samples.
    let rejected = json(
        &ws.run_ok(&config, "data", &["--rerun-failed", "too dark", "--json"])
            .stdout(),
    );
    assert_eq!(rejected["rejected"], 2);
    assert_eq!(rejected["completed"], 0);
}

#[test]
fn a_bad_rerun_failed_regex_is_a_usage_error_that_changes_nothing() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", MIXED);
    ws.run_failing(&config, "data", &["--quiet"]);
    let before = listing(&ws.path("data"));
    let outcome = ws
        .run(&config, "data", &["--rerun-failed", "(license"])
        .expect_code(2);
    let stderr = outcome.stderr();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: --rerun-failed '(license' is not a valid regex"),
        "{stderr}"
    );
    assert_eq!(listing(&ws.path("data")), before);
    let excluded = ws
        .run(
            &config,
            "data",
            &["--rerun-failed", "x", "--statistics-only"],
        )
        .expect_code(2);
    assert!(
        excluded.stderr().contains("--statistics-only"),
        "{}",
        excluded.stderr()
    );
}

/// Sample 1 fails with the cause in the middle of its output, until the
/// file `fixed` exists beside the config.
const CLEANUP_AFTER_ERROR: &str = r#"seed: 4
samples: 3
blocks:
  - name: gen
    type: command
    command:
      - sh
      - -c
      - |
        echo "loading scene $SHARDGEN_SAMPLE_ID"
        if [ "$SHARDGEN_SAMPLE_ID" = 1 ] && [ ! -e "$0/fixed" ]; then
          echo "ERROR: the real problem" >&2
          for i in 2 3 4; do echo "cleanup $i"; done
          exit 1
        fi
        echo ok > "$SHARDGEN_OUT_DIR/out.txt"
      - "{config_dir}"
    outputs: [out.txt]
"#;

#[test]
fn a_failed_attempt_keeps_its_log_and_the_telling_line_as_reason() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", CLEANUP_AFTER_ERROR);
    ws.run_failing(&config, "data", &["--quiet"]);
    let data = ws.path("data");
    assert_eq!(
        block_reason(&data, 1, "gen").as_deref(),
        Some("exit code 1: ERROR: the real problem")
    );
    let kept = data.join(".shardgen/failures/000000/0000000001.gen.log");
    assert_eq!(
        fs::read_to_string(&kept).unwrap(),
        "loading scene 1\nERROR: the real problem\ncleanup 2\ncleanup 3\ncleanup 4\n"
    );
    // Only the failed sample has a kept log.
    let kept_logs = fs::read_dir(kept.parent().unwrap()).unwrap().count();
    assert_eq!(kept_logs, 1);

    let detail = ws
        .shardgen()
        .args(["analyze", "data", "--sample", "1"])
        .expect_code(0)
        .stdout();
    assert!(
        detail.contains(
            "log of the failed attempt: data/.shardgen/failures/000000/0000000001.gen.log"
        ),
        "{detail}"
    );
    assert!(
        detail.contains("      | ERROR: the real problem\n"),
        "{detail}"
    );
    assert!(detail.contains("      | cleanup 4\n"), "{detail}");
    // Once the sample succeeds, its kept log goes.
    ws.write("fixed", "");
    ws.run_ok(&config, "data", &["--quiet"]);
    assert!(!kept.exists());
}
