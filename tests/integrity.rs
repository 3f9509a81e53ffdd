//! Output integrity: records keep each output's size and digest; every run
//! checks sizes, `verify` and `run --verify` check digests, `merge` compares
//! copies by digest, and `--durable` makes the same bytes.

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use serde_json::Value;

use crate::common::{listing, record, sample, samples_digest, Workspace, TWO_BLOCKS};

/// Ten samples of [`TWO_BLOCKS`] in `data`.
fn made(ws: &Workspace) -> std::path::PathBuf {
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "data", &["--num-samples", "10", "--jobs", "2"]);
    config
}

fn verify(ws: &Workspace, args: &[&str], code: i32) -> Value {
    let outcome = ws
        .shardgen()
        .args(["verify", "data", "--json"])
        .args(args)
        .expect_code(code);
    serde_json::from_str(&outcome.stdout()).expect("verify --json prints JSON")
}

fn ranges(report: &Value, key: &str) -> Vec<[u64; 2]> {
    serde_json::from_value(report[key].clone()).unwrap()
}

/// Truncates a.bin of sample 3, changes one byte of b.bin of sample 5 in
/// place (same size), removes b2.bin of sample 7.
fn damage(data: &Path) {
    let a = sample(data, 3).join("a.bin");
    fs::OpenOptions::new()
        .write(true)
        .open(&a)
        .unwrap()
        .set_len(100)
        .unwrap();
    let b = sample(data, 5).join("b.bin");
    let old = fs::read(&b).unwrap()[10];
    let mut file = fs::OpenOptions::new().write(true).open(&b).unwrap();
    file.seek(SeekFrom::Start(10)).unwrap();
    file.write_all(&[old ^ 0xff]).unwrap();
    fs::remove_file(sample(data, 7).join("b2.bin")).unwrap();
}

#[test]
fn records_keep_the_size_and_digest_of_every_output() {
    let ws = Workspace::new();
    made(&ws);
    let record = record(&ws.path("data"), 4);
    let b = &record["blocks"][1];
    assert_eq!(b["name"], "b");
    let outputs = b["outputs"].as_array().unwrap();
    let paths: Vec<&str> = outputs
        .iter()
        .map(|o| o["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["b.bin", "b2.bin"], "sorted by path");
    for output in outputs {
        assert_eq!(output["size"], 64);
        let digest = output["digest"].as_str().unwrap();
        assert!(
            digest.starts_with("xxh3-128:") && digest.len() == 9 + 32,
            "{digest}"
        );
    }
}

#[test]
fn verify_reports_truncated_changed_and_missing_outputs_and_writes_nothing() {
    let ws = Workspace::new();
    made(&ws);
    let data = ws.path("data");
    let clean = verify(&ws, &[], 0);
    assert_eq!(clean["format"], "shardgen-verify/1");
    assert_eq!(clean["samples"], 10);
    assert_eq!(clean["files"], 30);
    for key in ["missing", "truncated", "changed", "damaged_records"] {
        assert!(ranges(&clean, key).is_empty(), "{key}: {clean}");
    }
    damage(&data);
    let before = listing(&data);
    let report = verify(&ws, &[], 1);
    assert_eq!(ranges(&report, "truncated"), [[3, 4]]);
    assert_eq!(ranges(&report, "changed"), [[5, 6]]);
    assert_eq!(ranges(&report, "missing"), [[7, 8]]);
    assert_eq!(report["damaged_files"], 3);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems[0]["path"], "a.bin");
    assert_eq!(problems[0]["size"], 100);
    assert_eq!(problems[0]["recorded_size"], 256);
    assert_eq!(problems[1]["problem"], "changed");
    assert_eq!(problems[2]["block"], "b");
    let command = report["commands"][0].as_str().unwrap();
    assert!(command.ends_with("--verify"), "{command}");
    // A range narrows the check.
    let part = verify(&ws, &["--start-sample", "4", "--num-samples", "3"], 1);
    assert_eq!(ranges(&part, "changed"), [[5, 6]]);
    assert!(ranges(&part, "truncated").is_empty() && ranges(&part, "missing").is_empty());
    assert_eq!(part["samples"], 3);
    verify(&ws, &["--start-sample", "8"], 0);
    // The text names the files; nothing in DIR was written by any of it.
    let text = ws
        .shardgen()
        .args(["verify", "data"])
        .expect_code(1)
        .stdout();
    crate::common::assert_contains(
        &text,
        "sample 3, block 'a': 'a.bin' has 100 bytes, the record says 256",
    );
    crate::common::assert_contains(&text, "'b.bin' changed in place");
    crate::common::assert_contains(&text, "sample 7, block 'b': 'b2.bin' is missing");
    assert_eq!(before, listing(&data), "verify wrote into the dataset");
}

#[test]
fn a_plain_rerun_redoes_resized_outputs_and_run_verify_the_changed_ones() {
    let ws = Workspace::new();
    let config = made(&ws);
    let data = ws.path("data");
    let original = samples_digest(&data);
    damage(&data);
    let untouched = |listing: Vec<(String, u64, u128)>| -> Vec<(String, u64, u128)> {
        let sample_path = crate::common::sample_path;
        let damaged = [
            sample_path(3),
            format!("{}/b", sample_path(5)),
            sample_path(7),
        ];
        listing
            .into_iter()
            // Files in sample folders (a folder's own mtime follows its entries).
            .filter(|(p, ..)| p.starts_with('0') && p.matches('/').count() >= 2)
            .filter(|(p, ..)| !damaged.iter().any(|d| p.starts_with(d.as_str())))
            .filter(|(p, ..)| !p.ends_with(".shardgen.json"))
            .collect()
    };
    let before = untouched(listing(&data));
    // The size check finds the truncated and the missing file.
    let rerun = ws.run_ok(&config, "data", &["--num-samples", "10", "--json"]);
    let report: Value = serde_json::from_str(&rerun.stdout()).unwrap();
    assert_eq!(report["completed"], 2, "{report}");
    let after = verify(&ws, &[], 1);
    assert!(ranges(&after, "truncated").is_empty() && ranges(&after, "missing").is_empty());
    assert_eq!(
        ranges(&after, "changed"),
        [[5, 6]],
        "a plain run cannot see it"
    );
    // --verify redoes block b of sample 5, and nothing else.
    let dry = ws.run_ok(
        &config,
        "data",
        &["--num-samples", "10", "--verify", "--dry-run"],
    );
    crate::common::assert_contains(&dry.stdout(), "b: 1 to run: missing 1 [5]");
    let fixed = ws.run_ok(
        &config,
        "data",
        &["--num-samples", "10", "--verify", "--json"],
    );
    let report: Value = serde_json::from_str(&fixed.stdout()).unwrap();
    assert_eq!(report["completed"], 1, "{report}");
    verify(&ws, &[], 0);
    assert_eq!(
        original,
        samples_digest(&data),
        "not byte-identical after repair"
    );
    assert_eq!(
        before,
        untouched(listing(&data)),
        "an undamaged file was rewritten"
    );
}

#[test]
fn records_without_digests_read_as_before() {
    let ws = Workspace::new();
    let config = made(&ws);
    let data = ws.path("data");
    for id in 0..10 {
        let path = sample(&data, id).join(".shardgen.json");
        let mut record: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        for block in record["blocks"].as_array_mut().unwrap() {
            block.as_object_mut().unwrap().remove("outputs");
        }
        fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
    }
    let rerun = ws.run_ok(&config, "data", &["--num-samples", "10"]);
    crate::common::assert_contains(&rerun.stderr(), "already complete: 10");
    let report = verify(&ws, &[], 0);
    assert_eq!(ranges(&report, "unverified"), [[0, 10]]);
    fs::remove_file(sample(&data, 2).join("a.bin")).unwrap();
    let report = verify(&ws, &[], 1);
    assert_eq!(ranges(&report, "missing"), [[2, 3]]);
}

#[test]
fn verify_refuses_bad_usage_with_exit_2() {
    let ws = Workspace::new();
    let config = made(&ws);
    fs::create_dir(ws.path("empty")).unwrap();
    let refused = ws.shardgen().args(["verify", "empty"]).expect_code(2);
    crate::common::assert_contains(&refused.stderr(), "is not a shardgen dataset");
    ws.shardgen()
        .args(["verify", "data", "--num-samples", "x"])
        .expect_code(2);
    let before = listing(&ws.path("data"));
    let refused = ws
        .run(&config, "data", &["--verify", "--statistics-only"])
        .expect_code(2);
    crate::common::assert_contains(
        &refused.stderr(),
        "--verify cannot be combined with --statistics-only",
    );
    assert_eq!(before, listing(&ws.path("data")));
}

#[test]
fn merge_compares_copies_by_their_recorded_digests() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(
        &config,
        "s1",
        &["--start-sample", "0", "--num-samples", "6"],
    );
    ws.run_ok(
        &config,
        "s2",
        &["--start-sample", "3", "--num-samples", "7"],
    );
    // Sample 4 of s2 changed in place after it was published: the digests
    // (equal) decide, so merge reads neither file and keeps s1's copy.
    let b = sample(&ws.path("s2"), 4).join("b.bin");
    let mut bytes = fs::read(&b).unwrap();
    bytes[0] ^= 0xff;
    fs::write(&b, &bytes).unwrap();
    // Sample 5 of s2: the same change, but its record has no digests (an
    // older shardgen): the bytes are compared and the copies conflict.
    let b5 = sample(&ws.path("s2"), 5).join("b.bin");
    let mut bytes = fs::read(&b5).unwrap();
    bytes[0] ^= 0xff;
    fs::write(&b5, &bytes).unwrap();
    let path = sample(&ws.path("s2"), 5).join(".shardgen.json");
    let mut record: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    for block in record["blocks"].as_array_mut().unwrap() {
        block.as_object_mut().unwrap().remove("outputs");
    }
    fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
    let merged = ws
        .shardgen()
        .args([
            "merge",
            "s1",
            "s2",
            "--into",
            "all",
            "--skip-conflicts",
            "--json",
        ])
        .expect_code(0);
    let report: Value = serde_json::from_str(&merged.stdout()).unwrap();
    let conflicts = report["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{report}");
    assert_eq!(conflicts[0]["sample"], 5);
    assert!(conflicts[0]["difference"]
        .as_str()
        .unwrap()
        .contains("b.bin"));
    let all = ws.path("all");
    assert_eq!(
        fs::read(sample(&all, 4).join("b.bin")).unwrap(),
        fs::read(sample(&ws.path("s1"), 4).join("b.bin")).unwrap(),
        "the first copy is kept"
    );
    assert!(
        !sample(&all, 5).exists(),
        "a conflicting sample is left out"
    );
}

#[test]
fn durable_runs_make_the_same_bytes() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "plain", &["--num-samples", "12"]);
    ws.run_ok(
        &config,
        "durable",
        &["--num-samples", "12", "--durable", "--jobs", "2"],
    );
    assert_eq!(
        samples_digest(&ws.path("plain")),
        samples_digest(&ws.path("durable"))
    );
    // A repair with --durable too.
    let data = ws.path("durable");
    fs::write(sample(&data, 3).join("a.bin"), b"short").unwrap();
    ws.run_ok(
        &config,
        "durable",
        &["--num-samples", "12", "--durable", "--verify"],
    );
    assert_eq!(samples_digest(&ws.path("plain")), samples_digest(&data));
    // merge --durable: copied, and moved.
    ws.run_ok(
        &config,
        "s1",
        &["--start-sample", "0", "--num-samples", "7"],
    );
    ws.run_ok(
        &config,
        "s2",
        &["--start-sample", "5", "--num-samples", "7"],
    );
    ws.shardgen()
        .args(["merge", "s1", "--into", "all", "--durable", "--quiet"])
        .expect_code(0);
    ws.shardgen()
        .args([
            "merge",
            "s2",
            "--into",
            "all",
            "--durable",
            "--move",
            "--quiet",
        ])
        .expect_code(0);
    assert_eq!(
        samples_digest(&ws.path("plain")),
        samples_digest(&ws.path("all"))
    );
}

/// The text of `verify` on a damaged dataset, pinned (paths and the wall
/// time redacted).
#[test]
fn verify_text_snapshot() {
    let ws = Workspace::new();
    made(&ws);
    damage(&ws.path("data"));
    let text = ws
        .shardgen()
        .args(["verify", "data"])
        .expect_code(1)
        .stdout();
    let root = fs::canonicalize(ws.path(".")).unwrap();
    let text: String = text
        .replace(&root.display().to_string(), "[WS]")
        .lines()
        .map(|line| match (line.find(" read in "), line.rfind(" s")) {
            (Some(at), Some(end)) if end > at => {
                format!("{} read in [T]{}\n", &line[..at], &line[end..])
            }
            _ => format!("{line}\n"),
        })
        .collect();
    insta::assert_snapshot!("verify", text);
}
