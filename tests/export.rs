//! `shardgen export --format webdataset`: deterministic tar shards of the
//! complete samples, read back with GNU tar, resumable.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common::{listing, sample, sample_name, tree_digest, Workspace};

/// Block `c` writes into a sub-folder and fails on samples 4, 15 and 26.
const WITH_FOLDER: &str = "seed: 7
samples: 30
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 300}}
  - name: c
    type: command
    command: [sh, -c, 'mkdir -p sub && echo $SHARDGEN_SAMPLE_ID > sub/n.txt && echo \"{\\\"n\\\": $SHARDGEN_SAMPLE_ID}\" > \"$SHARDGEN_STATS\" && [ $((SHARDGEN_SAMPLE_ID % 11)) != 4 ]']
    outputs: [sub/n.txt]
";

/// The ids the pipeline above completes among `0..n`.
fn complete_ids(n: u64) -> Vec<u64> {
    (0..n).filter(|id| id % 11 != 4).collect()
}

#[derive(serde::Deserialize)]
struct Report {
    samples: u64,
    skipped: u64,
    shards: u64,
    written: u64,
    kept: u64,
    removed: u64,
}

#[derive(serde::Deserialize, Debug)]
struct Index {
    format: u32,
    samples: u64,
    shards: Vec<Entry>,
}

#[derive(serde::Deserialize, Debug)]
struct Entry {
    file: String,
    ids: Vec<[u64; 2]>,
    samples: u64,
    bytes: u64,
}

fn export(ws: &Workspace, dir: &str, out: &str, per_shard: u64) -> Report {
    let outcome = ws
        .shardgen()
        .args([
            "export",
            dir,
            "--format",
            "webdataset",
            "--out",
            out,
            "--json",
        ])
        .args(["--samples-per-shard", &per_shard.to_string()])
        .expect_code(0);
    serde_json::from_str(&outcome.stdout()).expect("a JSON report")
}

fn index(out: &Path) -> Index {
    serde_json::from_slice(&fs::read(out.join("index.json")).unwrap()).unwrap()
}

fn ids_of(entry: &Entry) -> Vec<u64> {
    entry.ids.iter().flat_map(|[s, e]| *s..*e).collect()
}

/// Extracts every shard of `out` with GNU tar into one folder: member name ->
/// bytes, and checks tar's own listing of owners, mode and time.
fn extract_all(out: &Path, into: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::create_dir_all(into).unwrap();
    for entry in index(out).shards {
        let shard = out.join(&entry.file);
        assert_eq!(fs::metadata(&shard).unwrap().len(), entry.bytes);
        let status = Command::new("tar")
            .arg("-xf")
            .arg(&shard)
            .arg("-C")
            .arg(into)
            .status()
            .unwrap();
        assert!(status.success());
        let listed = Command::new("tar")
            .args(["--numeric-owner", "--utc", "-tvf"])
            .arg(&shard)
            .output()
            .unwrap();
        let listed = String::from_utf8(listed.stdout).unwrap();
        for line in listed.lines() {
            assert!(
                line.starts_with("-rw-r--r-- 0/0") && line.contains("2000-01-01 00:00"),
                "{line}"
            );
        }
    }
    fs::read_dir(into)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn shard_bytes_do_not_depend_on_how_the_dataset_was_made() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", WITH_FOLDER);
    ws.run_failing(&config, "whole", &["--jobs", "1", "--quiet"]);
    for shard in ["2/3", "0/3", "1/3"] {
        ws.run_failing(
            &config,
            "split",
            &["--shard", shard, "--jobs", "2", "--quiet"],
        );
    }
    let report = export(&ws, "whole", "w", 7);
    assert_eq!((report.samples, report.skipped, report.shards), (27, 3, 4));
    export(&ws, "split", "s", 7);
    let digest = tree_digest(&ws.path("w"), |_| true);
    assert_eq!(digest.len(), 5, "4 shards and the index: {digest:?}");
    assert_eq!(digest, tree_digest(&ws.path("s"), |_| true));

    // GNU tar reads every member back; the members are the files of the
    // complete samples, folders flattened, plus the statistics.
    let members = extract_all(&ws.path("w"), &ws.path("x"));
    let mut expected = BTreeMap::new();
    for id in complete_ids(30) {
        let dir = sample(&ws.path("whole"), id);
        expected.insert(
            format!("{}.a.bin", sample_name(id)),
            fs::read(dir.join("a.bin")).unwrap(),
        );
        expected.insert(
            format!("{}.sub.n.txt", sample_name(id)),
            fs::read(dir.join("sub/n.txt")).unwrap(),
        );
        expected.insert(
            format!("{}.stats.json", sample_name(id)),
            format!("{{\"a.bytes\":300.0,\"c.n\":{id}.0}}").into_bytes(),
        );
    }
    assert_eq!(members, expected);

    // Another shard size holds the same members.
    export(&ws, "whole", "w5", 5);
    assert_eq!(extract_all(&ws.path("w5"), &ws.path("x5")), expected);
}

#[test]
fn the_index_lists_complete_samples_in_order_without_failed_ones() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", WITH_FOLDER);
    ws.run_failing(&config, "data", &["--quiet"]);
    export(&ws, "data", "out", 7);
    let index = index(&ws.path("out"));
    assert_eq!((index.format, index.samples), (1, 27));
    let files: Vec<&str> = index.shards.iter().map(|e| e.file.as_str()).collect();
    assert_eq!(
        files,
        [
            "shard-000000.tar",
            "shard-000001.tar",
            "shard-000002.tar",
            "shard-000003.tar"
        ]
    );
    assert_eq!(index.shards[0].ids, [[0, 4], [5, 8]]);
    assert_eq!(index.shards[3].ids, [[23, 26], [27, 30]]);
    assert_eq!(
        index.shards.iter().map(|e| e.samples).collect::<Vec<_>>(),
        [7, 7, 7, 6]
    );
    let all: Vec<u64> = index.shards.iter().flat_map(ids_of).collect();
    assert_eq!(all, complete_ids(30));
}

#[cfg(feature = "shapes")]
#[test]
fn rejected_samples_are_not_exported() {
    let ws = Workspace::new();
    let config = ws.write(
        "shapes.yaml",
        "seed: 5
samples: 24
blocks:
  - {name: scene, type: scene, params: {width: 48, height: 48, min_objects: 3, max_objects: 6}}
  - {name: render, type: render}
  - {name: augment, type: augment}
  - {name: annotate, type: annotate, params: {min_visible_fraction: 0.8}}
",
    );
    ws.run_ok(&config, "data", &["--quiet"]);
    let rejected: Vec<u64> = (0..24)
        .filter(|&id| {
            crate::common::block_status(&ws.path("data"), id, "annotate").as_deref()
                == Some("rejected")
        })
        .collect();
    assert!(!rejected.is_empty() && rejected.len() < 24, "{rejected:?}");
    let report = export(&ws, "data", "out", 10);
    assert_eq!(report.skipped, rejected.len() as u64);
    let exported: Vec<u64> = index(&ws.path("out"))
        .shards
        .iter()
        .flat_map(ids_of)
        .collect();
    let expected: Vec<u64> = (0..24).filter(|id| !rejected.contains(id)).collect();
    assert_eq!(exported, expected);
}

#[test]
fn a_rerun_recreates_a_missing_shard_and_leaves_the_others() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", WITH_FOLDER);
    ws.run_failing(&config, "data", &["--quiet"]);
    export(&ws, "data", "out", 7);
    let before = tree_digest(&ws.path("out"), |_| true);
    let untouched = |list: Vec<(String, u64, u128)>| -> Vec<(String, u64, u128)> {
        list.into_iter()
            .filter(|(name, _, _)| name != "shard-000001.tar" && name != "index.json")
            .collect()
    };
    let listed = untouched(listing(&ws.path("out")));
    fs::remove_file(ws.path("out/shard-000001.tar")).unwrap();

    let report = export(&ws, "data", "out", 7);
    assert_eq!((report.written, report.kept), (1, 3));
    assert_eq!(tree_digest(&ws.path("out"), |_| true), before);
    assert_eq!(untouched(listing(&ws.path("out"))), listed);

    // A truncated shard is rewritten too (its size no longer matches).
    let shard = ws.path("out/shard-000002.tar");
    let bytes = fs::read(&shard).unwrap();
    fs::write(&shard, &bytes[..1024]).unwrap();
    assert_eq!(export(&ws, "data", "out", 7).written, 1);
    assert_eq!(tree_digest(&ws.path("out"), |_| true), before);

    // Another shard size: every shard rewritten, the surplus old one removed.
    let report = export(&ws, "data", "out", 10);
    assert_eq!((report.shards, report.written, report.removed), (3, 3, 1));
    assert!(!ws.path("out/shard-000003.tar").exists());
}

#[test]
fn stale_samples_are_not_exported_after_a_param_change() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", WITH_FOLDER);
    ws.run_failing(&config, "data", &["--quiet"]);
    let changed = ws.write("q.yaml", &WITH_FOLDER.replace("size: 300", "size: 200"));
    ws.run_failing(&changed, "data", &["--num-samples", "10", "--quiet"]);
    let report = export(&ws, "data", "out", 100);
    assert_eq!((report.samples, report.skipped), (9, 21));
    let exported: Vec<u64> = index(&ws.path("out"))
        .shards
        .iter()
        .flat_map(ids_of)
        .collect();
    assert_eq!(exported, complete_ids(10));
    let members = extract_all(&ws.path("out"), &ws.path("x"));
    assert_eq!(members[&format!("{}.a.bin", sample_name(0))].len(), 200);
}

#[test]
fn bad_input_is_one_line_exit_2_and_changes_nothing() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", WITH_FOLDER);
    ws.run_ok(&config, "data", &["--num-samples", "3", "--quiet"]);
    fs::create_dir(ws.path("notes")).unwrap();
    ws.write("notes/todo.txt", "mine");
    let cases: [&[&str]; 4] = [
        &["export", "missing", "--format", "webdataset", "--out", "o1"],
        &["export", "notes", "--format", "webdataset", "--out", "o2"],
        &["export", "data", "--format", "webdataset", "--out", "notes"],
        &[
            "export",
            "data",
            "--format",
            "webdataset",
            "--out",
            "o3",
            "--samples-per-shard",
            "0",
        ],
    ];
    for args in cases {
        let outcome = ws.shardgen().args(args).expect_code(2);
        assert_eq!(outcome.stderr().lines().count(), 1, "{}", outcome.stderr());
    }
    for out in ["o1", "o2", "o3"] {
        assert!(!ws.path(out).exists(), "{out}");
    }
    assert_eq!(fs::read_dir(ws.path("notes")).unwrap().count(), 1);

    // Two outputs that flatten to one member name are refused before writing.
    let clash = ws.write(
        "clash.yaml",
        "seed: 1
samples: 2
blocks:
  - name: c
    type: command
    command: [sh, -c, 'mkdir -p p && echo 1 > p/q && echo 2 > p.q']
    outputs: [p/q, p.q]
",
    );
    ws.run_ok(&clash, "clash", &["--quiet"]);
    let outcome = ws
        .shardgen()
        .args(["export", "clash", "--format", "webdataset", "--out", "o4"])
        .expect_code(2);
    crate::common::assert_contains(&outcome.stderr(), &format!("'{}.p.q'", sample_name(0)));
    assert!(!ws.path("o4").exists());
}

#[test]
fn damaged_records_and_odd_files_are_skipped_not_fatal() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", WITH_FOLDER);
    ws.run_failing(&config, "data", &["--num-samples", "8", "--quiet"]);
    let data = ws.path("data");
    // A torn record, a record of another sample, a sample folder that is a
    // file, and an output replaced by a symlink to a file outside.
    let record = sample(&data, 1).join(".shardgen.json");
    let bytes = fs::read(&record).unwrap();
    fs::write(&record, &bytes[..bytes.len() / 2]).unwrap();
    fs::copy(
        sample(&data, 3).join(".shardgen.json"),
        sample(&data, 2).join(".shardgen.json"),
    )
    .unwrap();
    fs::write(crate::common::sample(&data, 100), "not a folder").unwrap();
    let secret = ws.write("secret.txt", "outside");
    fs::remove_file(sample(&data, 5).join("a.bin")).unwrap();
    std::os::unix::fs::symlink(&secret, sample(&data, 5).join("a.bin")).unwrap();

    let report = export(&ws, "data", "out", 100);
    // Sample 5's output is a symlink now: not a regular file, so its block
    // is missing and the sample is not complete (nor exported).
    assert_eq!((report.samples, report.skipped), (4, 5));
    let members = extract_all(&ws.path("out"), &ws.path("x"));
    let keys: std::collections::BTreeSet<&str> = members.keys().map(|k| &k[..10]).collect();
    let expected: Vec<String> = [0, 3, 6, 7].iter().map(|&i| sample_name(i)).collect();
    assert_eq!(keys.into_iter().collect::<Vec<_>>(), expected);
    assert!(
        !members.contains_key(&format!("{}.a.bin", sample_name(5))),
        "symlinks are not followed"
    );
    assert!(!members.values().any(|v| v == b"outside"));
}
