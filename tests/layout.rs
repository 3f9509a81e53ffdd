//! The bucketed layout: `DIR/<bucket>/<sample>/` with bucket = id / 10000,
//! across bucket boundaries, in shards merged by `cp -a` and by `shardgen
//! merge`; the flat layout of earlier versions refused and converted by
//! `shardgen upgrade`; a scan whose cost follows what is on disk.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{
    assert_contains, entry_names, host, listing, sample, sample_ids, sample_name, samples_digest,
    Workspace, TWO_BLOCKS,
};

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).expect("one JSON object on stdout")
}

/// The bucket folders in `root`.
fn buckets(root: &Path) -> Vec<String> {
    entry_names(root)
        .into_iter()
        .filter(|n| n.len() == 6 && n.bytes().all(|b| b.is_ascii_digit()))
        .collect()
}

/// `cp -a FROM/. TO/`, as the README tells users to merge shards.
fn cp_a(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(from.join("."))
        .arg(to.join(""))
        .status()
        .unwrap();
    assert!(status.success());
}

/// Turns a dataset of this layout into one of the flat layout, as earlier
/// versions wrote it: sample folders directly in the root, manifest format 1
/// without a layout version.
fn make_flat(root: &Path) {
    for id in sample_ids(root) {
        fs::rename(sample(root, id), root.join(sample_name(id))).unwrap();
    }
    for bucket in buckets(root) {
        fs::remove_dir(root.join(bucket)).unwrap();
    }
    let path = root.join(".shardgen/pipeline.json");
    let mut manifest: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    manifest["format"] = 1.into();
    manifest.as_object_mut().unwrap().remove("layout");
    fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
}

/// The statistics files the pass writes, by name.
fn statistics_files(root: &Path) -> Vec<(String, Vec<u8>)> {
    ["statistics.yaml", "statistics.csv"]
        .iter()
        .map(|name| (name.to_string(), fs::read(root.join(name)).unwrap()))
        .collect()
}

#[test]
fn a_run_across_a_bucket_boundary_puts_each_sample_in_its_bucket() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(
        &config,
        "data",
        &["--start-sample", "9998", "--num-samples", "4"],
    );
    let data = ws.path("data");
    assert_eq!(buckets(&data), ["000000", "000001"]);
    assert_eq!(
        entry_names(&data.join("000000")),
        ["0000009998", "0000009999"]
    );
    assert_eq!(
        entry_names(&data.join("000001")),
        ["0000010000", "0000010001"]
    );
    for id in 9998..10002 {
        assert_eq!(
            sample(&data, id),
            data.join(format!("{:06}", id / 10_000))
                .join(format!("{id:010}"))
        );
        assert!(sample(&data, id).join("b2.bin").is_file());
    }
    // The samples are those of a run that made them one range at a time.
    ws.run_ok(
        &config,
        "parts",
        &["--start-sample", "10000", "--num-samples", "2"],
    );
    ws.run_ok(
        &config,
        "parts",
        &["--start-sample", "9998", "--num-samples", "2"],
    );
    assert_eq!(samples_digest(&data), samples_digest(&ws.path("parts")));
    let manifest: Value =
        serde_json::from_slice(&fs::read(data.join(".shardgen/pipeline.json")).unwrap()).unwrap();
    assert_eq!(
        (manifest["format"].as_u64(), manifest["layout"].as_u64()),
        (Some(2), Some(2))
    );
}

#[test]
fn the_largest_ids_share_the_last_bucket() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(
        &config,
        "data",
        &["--start-sample", "9999999998", "--num-samples", "2"],
    );
    let data = ws.path("data");
    assert_eq!(buckets(&data), ["999999"]);
    assert_eq!(
        entry_names(&data.join("999999")),
        ["9999999998", "9999999999"]
    );
    let outcome = ws
        .run(
            &config,
            "data",
            &["--start-sample", "9999999999", "--num-samples", "2"],
        )
        .expect_code(2);
    assert_contains(
        &outcome.stderr(),
        "goes past the largest sample id 9999999999",
    );
    let outcome = ws
        .shardgen()
        .args(["analyze", "data", "--json"])
        .expect_code(0);
    assert_eq!(
        json(&outcome.stdout())["ranges"],
        serde_json::json!([[9999999998u64, 10000000000u64]])
    );
}

#[test]
fn shards_across_buckets_merge_by_cp_into_the_single_run() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    let range = ["--start-sample", "9990", "--num-samples", "25"];
    ws.run_ok(&config, "single", &range);
    // 9990..10002 and 10002..10015: the first shard spans two buckets, and
    // both write into bucket 000001.
    for (index, shard) in ["0/2", "1/2"].iter().enumerate() {
        let mut args = range.to_vec();
        args.extend(["--shard", shard]);
        ws.run_ok(&config, &format!("s{index}"), &args);
    }
    assert_eq!(buckets(&ws.path("s0")), ["000000", "000001"]);
    assert_eq!(buckets(&ws.path("s1")), ["000001"]);
    let all = ws.path("all");
    cp_a(&ws.path("s0"), &all);
    cp_a(&ws.path("s1"), &all);
    assert_eq!(sample_ids(&all), (9990..10015).collect::<Vec<_>>());
    ws.run_ok(&config, "all", &["--statistics-only"]);
    assert_eq!(samples_digest(&all), samples_digest(&ws.path("single")));
    assert_eq!(statistics_files(&all), statistics_files(&ws.path("single")));
    // The merged folder is complete: a rerun of the whole range runs nothing.
    let outcome = ws.run_ok(&config, "all", &range);
    assert_contains(&outcome.stderr(), "already complete: 25 [9990..10015]");
}

#[test]
fn shardgen_merge_across_buckets_gives_the_single_run() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    let range = ["--start-sample", "19995", "--num-samples", "12"];
    ws.run_ok(&config, "single", &range);
    for (index, shard) in ["0/3", "1/3", "2/3"].iter().enumerate() {
        let mut args = range.to_vec();
        args.extend(["--shard", shard]);
        ws.run_ok(&config, &format!("s{index}"), &args);
    }
    // Part of the range is already in --into, in both buckets.
    ws.run_ok(
        &config,
        "all",
        &["--start-sample", "19999", "--num-samples", "2"],
    );
    let outcome = ws
        .shardgen()
        .args(["merge", "s0", "s1", "s2", "--into", "all", "--json"])
        .expect_code(0);
    let report = json(&outcome.stdout());
    assert_eq!(
        report["brought"],
        serde_json::json!([[19995, 19999], [20001, 20007]])
    );
    assert_eq!(buckets(&ws.path("all")), ["000001", "000002"]);
    assert_eq!(
        samples_digest(&ws.path("all")),
        samples_digest(&ws.path("single"))
    );
    ws.run_ok(&config, "all", &["--statistics-only"]);
    assert_eq!(
        statistics_files(&ws.path("all")),
        statistics_files(&ws.path("single"))
    );
    // --move renames across buckets too.
    let outcome = ws
        .shardgen()
        .args(["merge", "s0", "s1", "s2", "--into", "moved", "--move"])
        .expect_code(0);
    assert_contains(&outcome.stderr(), "moved: 12 [19995..20007]");
    assert_eq!(
        samples_digest(&ws.path("moved")),
        samples_digest(&ws.path("single"))
    );
    assert!(sample_ids(&ws.path("s1")).is_empty());
}

#[test]
fn a_flat_dataset_is_refused_then_upgraded_in_place() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    let range = ["--start-sample", "9995", "--num-samples", "10"];
    ws.run_ok(&config, "made", &range);
    ws.run_ok(&config, "data", &range);
    let data = ws.path("data");
    make_flat(&data);
    let flat = listing(&data);

    // Every command refuses it with one line naming the conversion, exit 2,
    // and changes nothing.
    let commands: [Vec<&str>; 5] = [
        vec![
            "run",
            "p.yaml",
            "--out",
            "data",
            "--start-sample",
            "9995",
            "--num-samples",
            "10",
        ],
        vec!["run", "p.yaml", "--out", "data", "--dry-run"],
        vec!["analyze", "data"],
        vec!["merge", "data", "--into", "elsewhere"],
        vec!["export", "data", "--format", "webdataset", "--out", "tars"],
    ];
    for args in commands {
        let outcome = ws.shardgen().args(&args).expect_code(2);
        let stderr = outcome.stderr();
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert_contains(&stderr, "error: data is a dataset of the flat layout");
        assert_contains(&stderr, "convert it in place with `shardgen upgrade data`");
        assert_eq!(listing(&data), flat, "{args:?} changed the dataset");
    }
    assert!(!ws.path("elsewhere").exists() && !ws.path("tars").exists());

    let outcome = ws
        .shardgen()
        .args(["upgrade", "data", "--json"])
        .expect_code(0);
    let report = json(&outcome.stdout());
    assert_eq!(report["format"], "shardgen-upgrade/1");
    assert_eq!(report["from_layout"], 1);
    assert_eq!(report["layout"], 2);
    assert_eq!(report["moved"], 10);
    assert_eq!(report["buckets_created"], 2);
    assert_contains(
        &outcome.stderr(),
        "moved 10 sample folders into their buckets",
    );
    assert_eq!(buckets(&data), ["000000", "000001"]);
    // Renames only: every file kept its bytes and its mtime.
    let after = listing(&data);
    for (path, len, mtime) in flat
        .iter()
        .filter(|f| f.0.starts_with("00") && f.0.contains('/'))
    {
        let id: u64 = path[..10].parse().unwrap();
        let moved = format!("{:06}/{path}", id / 10_000);
        assert!(
            after.contains(&(moved.clone(), *len, *mtime)),
            "{moved} not moved as it was"
        );
    }
    assert_eq!(
        fs::read(data.join(".shardgen/pipeline.json")).unwrap(),
        fs::read(ws.path("made/.shardgen/pipeline.json")).unwrap(),
        "the manifest is the one this version writes"
    );
    assert_eq!(samples_digest(&data), samples_digest(&ws.path("made")));

    // The rerun does nothing, and leaves the samples as they were.
    let before = listing(&data);
    let outcome = ws.run_ok(&config, "data", &range);
    assert_contains(&outcome.stderr(), "already complete: 10 [9995..10005]");
    let sample_files = |l: Vec<(String, u64, u128)>| -> Vec<_> {
        l.into_iter().filter(|f| f.0.starts_with("00")).collect()
    };
    assert_eq!(sample_files(listing(&data)), sample_files(before));
    assert_eq!(samples_digest(&data), samples_digest(&ws.path("made")));
    // And a second upgrade changes nothing.
    let before = listing(&data);
    let outcome = ws.shardgen().args(["upgrade", "data"]).expect_code(0);
    assert_contains(&outcome.stderr(), "already in the bucketed layout");
    assert_eq!(listing(&data), before);
}

#[test]
fn an_interrupted_upgrade_resumes_and_a_flat_shard_copied_in_is_moved() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    let range = ["--start-sample", "9996", "--num-samples", "8"];
    ws.run_ok(&config, "made", &range);
    ws.run_ok(&config, "data", &range);
    let data = ws.path("data");
    make_flat(&data);
    // As a killed upgrade leaves it: some samples moved, the manifest not
    // yet bumped.
    fs::create_dir(data.join("000001")).unwrap();
    for id in [10_000, 10_001] {
        fs::rename(data.join(sample_name(id)), sample(&data, id)).unwrap();
    }
    ws.run(&config, "data", &range).expect_code(2);
    let outcome = ws
        .shardgen()
        .args(["upgrade", "data", "--json"])
        .expect_code(0);
    assert_eq!(json(&outcome.stdout())["moved"], 6);
    assert_eq!(samples_digest(&data), samples_digest(&ws.path("made")));
    ws.run_ok(&config, "data", &range);

    // The sample folders of a flat shard of an earlier version, copied into
    // the converted dataset.
    ws.run_ok(
        &config,
        "old",
        &["--start-sample", "20000", "--num-samples", "3"],
    );
    let old = ws.path("old");
    make_flat(&old);
    for id in 20_000..20_003 {
        cp_a(&old.join(sample_name(id)), &data.join(sample_name(id)));
    }
    let before = listing(&data);
    let outcome = ws.run(&config, "data", &range).expect_code(2);
    assert_contains(
        &outcome.stderr(),
        "(data/0000020000 is a sample folder directly in it)",
    );
    assert_eq!(listing(&data), before);
    let outcome = ws
        .shardgen()
        .args(["upgrade", "data", "--json"])
        .expect_code(0);
    let report = json(&outcome.stdout());
    assert_eq!(
        (report["from_layout"].as_u64(), report["moved"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(buckets(&data), ["000000", "000001", "000002"]);
    let outcome = ws
        .shardgen()
        .args(["analyze", "data", "--json"])
        .expect_code(0);
    assert_eq!(
        json(&outcome.stdout())["ranges"],
        serde_json::json!([[9996, 10004], [20000, 20003]])
    );
}

#[test]
fn upgrade_refuses_two_copies_of_a_sample_and_a_live_run() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "data", &["--num-samples", "3"]);
    let data = ws.path("data");
    make_flat(&data);
    // A copy in the bucket too: the user decides which stays.
    fs::create_dir_all(sample(&data, 1)).unwrap();
    let before = listing(&data);
    let outcome = ws.shardgen().args(["upgrade", "data"]).expect_code(2);
    assert_contains(
        &outcome.stderr(),
        "sample 1 is also in data/000000/0000000001",
    );
    assert_eq!(listing(&data), before);
    fs::remove_dir(sample(&data, 1)).unwrap();
    fs::remove_dir(data.join("000000")).unwrap();

    // A live run (this test process, on this host) holds claims.
    let claims = data.join(".shardgen/claims");
    fs::create_dir_all(&claims).unwrap();
    let run = format!("20260101T000000Z-{}-{}", host(), std::process::id());
    let holder = serde_json::json!({
        "format": 1, "run": run, "host": host(), "pid": std::process::id(),
        "started": "2026-01-01T00:00:00Z",
    });
    fs::write(claims.join(format!("{run}.holder")), holder.to_string()).unwrap();
    let before = listing(&data);
    let outcome = ws.shardgen().args(["upgrade", "data"]).expect_code(2);
    assert_contains(&outcome.stderr(), &format!("run {run} is working on it"));
    assert_eq!(listing(&data), before);
    // Once it is gone (a dead run's holder is stale), the upgrade goes on.
    fs::remove_file(claims.join(format!("{run}.holder"))).unwrap();
    ws.shardgen().args(["upgrade", "data"]).expect_code(0);
    assert_eq!(sample_ids(&data), [0, 1, 2]);
}

#[test]
fn a_bucket_that_is_a_symlink_is_refused() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "data", &["--num-samples", "2"]);
    let outside = ws.path("outside");
    fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, ws.path("data/000001")).unwrap();
    let before = listing(&ws.path("data"));
    let outcome = ws
        .run(
            &config,
            "data",
            &["--start-sample", "10000", "--num-samples", "2"],
        )
        .expect_code(2);
    assert_contains(
        &outcome.stderr(),
        "data/000001: named like a bucket of sample folders but not a real folder",
    );
    assert_eq!(listing(&ws.path("data")), before);
    assert!(entry_names(&outside).is_empty());
    // Anywhere in the dataset: a run refuses it before it starts.
    ws.run(&config, "data", &["--num-samples", "3"])
        .expect_code(2);
    assert_eq!(listing(&ws.path("data")), before);
    fs::remove_file(ws.path("data/000001")).unwrap();
    ws.run_ok(
        &config,
        "data",
        &["--start-sample", "10000", "--num-samples", "2"],
    );
}

#[test]
fn the_scan_reads_only_what_is_present() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    let scan = |out: &str, args: &[&str]| {
        let mut all = vec!["--dry-run", "--json"];
        all.extend(args);
        let report = json(&ws.run_ok(&config, out, &all).stdout());
        (
            report["plan"]["scan"]["folders_listed"].as_u64().unwrap(),
            report["plan"]["scan"]["records_read"].as_u64().unwrap(),
            report["plan"]["blocks"][0]["to_run"].as_u64().unwrap(),
        )
    };
    let ten_million = ["--num-samples", "10000000"];
    // A folder that does not exist: nothing listed, nothing read.
    assert_eq!(scan("empty", &ten_million), (0, 0, 10_000_000));
    // 20 samples present, in two buckets.
    ws.run_ok(
        &config,
        "data",
        &["--start-sample", "9990", "--num-samples", "20"],
    );
    assert_eq!(scan("data", &ten_million), (3, 20, 9_999_980));
    // The root and one bucket for a range in one bucket.
    assert_eq!(
        scan(
            "data",
            &["--start-sample", "10000", "--num-samples", "5000000"]
        ),
        (2, 10, 4_999_990)
    );
    // Far from the samples present: only the root.
    assert_eq!(
        scan(
            "data",
            &["--start-sample", "5000000", "--num-samples", "5000000"]
        ),
        (1, 0, 5_000_000)
    );
    // A rerun of what is there reads each record once.
    assert_eq!(
        scan("data", &["--start-sample", "9990", "--num-samples", "20"]),
        (3, 20, 0)
    );
}

#[test]
fn a_flat_dataset_that_lost_its_meta_folder_is_upgraded_then_adopted() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "made", &["--num-samples", "4"]);
    ws.run_ok(&config, "data", &["--num-samples", "4"]);
    let data = ws.path("data");
    make_flat(&data);
    fs::remove_dir_all(data.join(".shardgen")).unwrap();
    let outcome = ws
        .run(&config, "data", &["--num-samples", "4", "--adopt"])
        .expect_code(2);
    assert_contains(&outcome.stderr(), "`shardgen upgrade data`");
    ws.shardgen().args(["upgrade", "data"]).expect_code(0);
    assert!(
        !data.join(".shardgen").exists(),
        "upgrade writes no manifest of its own"
    );
    let outcome = ws.run_ok(&config, "data", &["--num-samples", "4", "--adopt"]);
    assert_contains(&outcome.stderr(), "already complete: 4 [0..4]");
    assert_eq!(samples_digest(&data), samples_digest(&ws.path("made")));
    // A folder with neither a manifest nor flat sample folders is no dataset.
    fs::create_dir(ws.path("nothing")).unwrap();
    let outcome = ws.shardgen().args(["upgrade", "nothing"]).expect_code(2);
    assert_contains(&outcome.stderr(), "is not a shardgen dataset");
}
