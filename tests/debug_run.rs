//! `shardgen debug`: one sample into a scratch folder, byte-identical to
//! what a run makes, everything kept, no dataset touched.

use std::fs;

use crate::common::{listing, sample, Workspace};

/// `b` reads `a`'s output, prints, records a statistic, and fails on
/// sample 4.
const CHAIN: &str = r#"seed: 9
samples: 6
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 32}}
  - name: b
    type: command
    command:
      - sh
      - -c
      - |
        echo "b on sample $SHARDGEN_SAMPLE_ID"
        [ "$SHARDGEN_SAMPLE_ID" = 4 ] && { echo "ERROR: sample 4 is cursed" >&2; exit 2; }
        od -An -tx1 "$SHARDGEN_SAMPLE_DIR/a.bin" | tr -d ' \n' > "$SHARDGEN_OUT_DIR/b.txt"
        echo "{\"size\": 32}" > "$SHARDGEN_STATS"
    inputs: [a.bin]
    outputs: [b.txt]
"#;

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("one JSON object")
}

#[test]
fn a_debug_run_makes_the_bytes_of_a_run_and_keeps_everything() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", CHAIN);
    ws.run_failing(&config, "data", &["--quiet"]);
    let data = ws.path("data");
    let before = listing(&data);

    let outcome = ws
        .shardgen()
        .args(["debug", "p.yaml", "--sample", "3", "--into", "dbg"])
        .expect_code(0);
    assert!(
        outcome.stderr().contains("  b: ok ("),
        "{}",
        outcome.stderr()
    );
    let dbg = ws.path("dbg");
    for file in ["a.bin", "b.txt"] {
        assert_eq!(
            fs::read(dbg.join("sample").join(file)).unwrap(),
            fs::read(sample(&data, 3).join(file)).unwrap(),
            "{file}"
        );
    }
    assert_eq!(
        fs::read_to_string(dbg.join("1-b/output.log")).unwrap(),
        "b on sample 3\n"
    );
    assert!(
        dbg.join("1-b/out/b.txt").is_file(),
        "the block's own output is kept"
    );
    assert_eq!(
        fs::read_to_string(dbg.join("1-b/stats.json")).unwrap(),
        "{\"size\": 32}\n"
    );

    // One block on the inputs of the dataset: only it runs.
    let one = json(
        &ws.shardgen()
            .args(["debug", "p.yaml", "--sample", "3", "--block", "b"])
            .args(["--from", "data", "--into", "one", "--json"])
            .expect_code(0)
            .stdout(),
    );
    assert_eq!(one["format"], "shardgen-debug/1");
    assert_eq!(one["blocks"].as_array().unwrap().len(), 1);
    assert_eq!(one["blocks"][0]["stats"]["size"], 32.0);
    assert_eq!(
        fs::read(ws.path("one/sample/b.txt")).unwrap(),
        fs::read(sample(&data, 3).join("b.txt")).unwrap()
    );
    assert_eq!(listing(&data), before, "a debug run touched the dataset");
}

#[test]
fn a_failing_block_exits_3_with_its_log_and_a_used_folder_is_refused() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", CHAIN);
    let outcome = ws
        .shardgen()
        .args([
            "debug",
            config.to_str().unwrap(),
            "--sample",
            "4",
            "--into",
            "dbg",
        ])
        .expect_code(3);
    assert!(
        outcome
            .stderr()
            .contains("b: failed: exit code 2: ERROR: sample 4 is cursed"),
        "{}",
        outcome.stderr()
    );
    assert_eq!(
        fs::read_to_string(ws.path("dbg/1-b/output.log")).unwrap(),
        "b on sample 4\nERROR: sample 4 is cursed\n"
    );
    let again = ws
        .shardgen()
        .args(["debug", "p.yaml", "--sample", "4", "--into", "dbg"])
        .expect_code(2);
    assert!(
        again
            .stderr()
            .starts_with("error: --into dbg: the folder is not empty"),
        "{}",
        again.stderr()
    );
    let unknown = ws
        .shardgen()
        .args([
            "debug", "p.yaml", "--sample", "1", "--block", "c", "--into", "x",
        ])
        .expect_code(2);
    assert!(
        unknown.stderr().contains("--block: no block named 'c'"),
        "{}",
        unknown.stderr()
    );
}
