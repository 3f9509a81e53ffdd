//! The texts people read, pinned as insta snapshots (`tests/snapshots/`), so
//! that a wording change is reviewed rather than accidental: the plan, the
//! end-of-run summary, merge text, analyze text and `analyze --sample`.
//! Times and temp paths are redacted.

use crate::common::{sample, Workspace};

/// `b` fails on samples 2 and 5 (with the sample id in its message); `c`
/// runs after it.
const PIPELINE: &str = "seed: 11
samples: 8
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 8}}
  - name: b
    type: command
    command: [sh, -c, 'case $SHARDGEN_SAMPLE_ID in 2|5) echo \"no luck on sample $SHARDGEN_SAMPLE_ID\" >&2; exit 3;; esac; echo \"{\\\"n\\\": $SHARDGEN_SAMPLE_ID}\" > $SHARDGEN_STATS; echo b > b.txt']
    outputs: [b.txt]
  - {name: c, type: random-bytes, outputs: [c.bin], params: {size: 4}}
";

/// `text` with the workspace path, wall times and durations replaced.
fn redact(ws: &Workspace, text: &str) -> String {
    let root = std::fs::canonicalize(ws.path(".")).unwrap();
    let text = text
        .replace(&root.display().to_string(), "[WS]")
        .replace(&ws.path(".").display().to_string(), "[WS]");
    text.lines()
        .map(|line| {
            let line =
                redact_number_after(line, "finished in ", " s").unwrap_or_else(|| line.to_owned());
            redact_number_after(&line, "last wall time ", " s").unwrap_or(line)
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// `line` with the number between `before` and `after` replaced by `[T]`.
fn redact_number_after(line: &str, before: &str, after: &str) -> Option<String> {
    let start = line.find(before)? + before.len();
    let end = start + line[start..].find(after)?;
    Some(format!("{}[T]{}", &line[..start], &line[end..]))
}

#[test]
fn plan_and_summary_texts() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", PIPELINE);
    let first = ws.run_failing(&config, "data", &[]);
    insta::assert_snapshot!("first_run", redact(&ws, &first.stderr()));
    // A param change of c: the plan says what changed.
    let changed = ws.write("q.yaml", &PIPELINE.replace("size: 4}", "size: 5}"));
    let plan = ws.run_ok(&changed, "data", &["--dry-run"]);
    insta::assert_snapshot!("dry_run_plan", redact(&ws, &plan.stdout()));
}

#[test]
fn merge_text() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", PIPELINE);
    ws.run_failing(&config, "s1", &["--num-samples", "3", "--quiet"]);
    ws.run_ok(
        &config,
        "s2",
        &["--start-sample", "6", "--num-samples", "2", "--quiet"],
    );
    let outcome = ws
        .shardgen()
        .args(["merge", "s1", "s2", "--into", "all"])
        .expect_code(0);
    insta::assert_snapshot!("merge", redact(&ws, &outcome.stderr()));
}

#[test]
fn analyze_texts() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", PIPELINE);
    ws.run_failing(&config, "data", &["--quiet"]);
    std::fs::remove_dir_all(sample(&ws.path("data"), 7)).unwrap();
    let analysis = ws.shardgen().args(["analyze", "data"]).expect_code(0);
    insta::assert_snapshot!("analyze", redact(&ws, &analysis.stdout()));
    let detail = ws
        .shardgen()
        .args(["analyze", "data", "--sample", "3"])
        .expect_code(0);
    insta::assert_snapshot!("analyze_sample", redact(&ws, &detail.stdout()));
}
