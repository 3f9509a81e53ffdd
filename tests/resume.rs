//! Resume, sharding and determinism: the promises the product is built on.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{
    block_status, host, listing, sample, sample_name, sample_path, samples_digest, Workspace,
    FLAKY, TWO_BLOCKS,
};

fn copy_into(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn one_run_equals_three_shards_merged_by_cp() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(
        &config,
        "whole",
        &["--start-sample", "0", "--num-samples", "40", "--jobs", "2"],
    );
    ws.run_ok(
        &config,
        "s1",
        &["--start-sample", "0", "--num-samples", "13", "--jobs", "1"],
    );
    ws.run_ok(
        &config,
        "s2",
        &["--start-sample", "13", "--num-samples", "13", "--jobs", "3"],
    );
    ws.run_ok(
        &config,
        "s3",
        &["--num-samples", "40", "--shard", "2/3", "--jobs", "2"],
    );
    for shard in ["s1", "s2", "s3"] {
        copy_into(&ws.path(shard), &ws.path("merged"));
    }
    let whole = samples_digest(&ws.path("whole"));
    assert_eq!(whole.len(), 40 * 4, "3 outputs and a record per sample");
    assert_eq!(whole, samples_digest(&ws.path("merged")));
    let rerun = ws.run_ok(&config, "merged", &["--num-samples", "40"]);
    assert!(
        rerun.stderr().contains("already complete: 40"),
        "{}",
        rerun.stderr()
    );
    assert!(rerun.stderr().contains("nothing to run"));
    assert!(
        rerun
            .stderr()
            .contains("0 completed, 0 failed, 0 rejected, 0 skipped, 40 were already complete"),
        "{}",
        rerun.stderr()
    );
}

#[test]
fn the_same_sample_is_identical_in_any_range() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "x", &["--start-sample", "5", "--num-samples", "1"]);
    ws.run_ok(&config, "y", &["--start-sample", "0", "--num-samples", "9"]);
    let bytes = |out: &str| fs::read(sample(&ws.path(out), 5).join("b2.bin")).unwrap();
    assert_eq!(bytes("x"), bytes("y"));
    assert_ne!(
        fs::read(sample(&ws.path("y"), 4).join("b2.bin")).unwrap(),
        bytes("y")
    );
}

/// A pipeline slow enough to be killed midway.
const SLOW: &str = "seed: 11
samples: 30
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 512}}
  - name: b
    type: command
    command: [sh, -c, 'sleep 0.05; cat \"$SHARDGEN_SAMPLE_DIR/a.bin\" a.bin 2>/dev/null > b.bin; head -c 100 \"$SHARDGEN_SAMPLE_DIR/a.bin\" > c.bin']
    inputs: [a.bin]
    outputs: [b.bin, c.bin]
  - {name: c, type: random-bytes, outputs: [d.bin], params: {size: 64}}
";

#[test]
fn kill_9_of_the_process_group_then_rerun_gives_the_uninterrupted_result() {
    let ws = Workspace::new();
    let config = ws.write("slow.yaml", SLOW);
    ws.run_ok(&config, "reference", &["--jobs", "2"]);
    let reference = samples_digest(&ws.path("reference"));
    for (attempt, kill_after) in [2usize, 9, 20].into_iter().enumerate() {
        let out = format!("killed{attempt}");
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_shardgen"))
            .current_dir(ws.dir.path())
            .args([
                "run".as_ref(),
                config.as_os_str(),
                "--out".as_ref(),
                out.as_ref(),
            ])
            .args(["--jobs", "2", "--quiet"])
            .process_group(0)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while count_files(&ws.path(&out), "d.bin") < kill_after && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        // SAFETY: the child leads its own process group.
        unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
        child.wait().unwrap();
        let done = count_files(&ws.path(&out), "d.bin");
        assert!(done < 30, "the run finished before it was killed ({done})");
        ws.run_ok(&config, &out, &["--jobs", "2"]);
        assert_eq!(
            reference,
            samples_digest(&ws.path(&out)),
            "after a kill at {done} samples"
        );
        let staging = ws.path(&out).join(".shardgen/staging");
        let left = fs::read_dir(&staging).map(|d| d.count()).unwrap_or(0);
        assert_eq!(left, 0, "staging leftovers of the killed run remain");
    }
}

fn count_files(root: &Path, name: &str) -> usize {
    fs::read_dir(root)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().join(name).exists())
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn damaged_records_partial_files_and_dead_staging_are_repaired() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "reference", &["--num-samples", "6"]);
    ws.run_ok(&config, "data", &["--num-samples", "6"]);
    let data = ws.path("data");
    // A torn record, a half-written output with no record, a foreign temp file,
    // and the staging folder of a run that died on this host.
    let record = sample(&data, 1).join(".shardgen.json");
    let bytes = fs::read(&record).unwrap();
    fs::write(&record, &bytes[..bytes.len() / 3]).unwrap();
    fs::remove_file(sample(&data, 2).join(".shardgen.json")).unwrap();
    fs::write(sample(&data, 2).join("a.bin"), b"half").unwrap();
    fs::write(sample(&data, 1).join(".shardgen.json.tmp-host-1-0"), b"{").unwrap();
    fs::remove_file(sample(&data, 4).join("b2.bin")).unwrap();
    let dead = data.join(format!(
        ".shardgen/staging/20200101T000000Z-{}-4194000",
        host()
    ));
    fs::create_dir_all(dead.join(format!("{}-a/out", sample_name(3)))).unwrap();
    fs::write(
        dead.join(format!("{}-a/out/a.bin", sample_name(3))),
        b"zombie",
    )
    .unwrap();

    let outcome = ws.run_ok(&config, "data", &["--num-samples", "6"]);
    let stderr = outcome.stderr();
    assert!(stderr.contains("damaged records: 1 [1]"), "{stderr}");
    assert!(stderr.contains("a: 2 to run: missing 2 [1..3]"), "{stderr}");
    assert!(
        stderr.contains("b: 3 to run: missing 1 [4]; after an earlier block 2 [1..3]"),
        "{stderr}"
    );
    assert_eq!(samples_digest(&ws.path("reference")), samples_digest(&data));
    assert!(!dead.exists(), "the dead run's staging folder was kept");
}

#[test]
fn a_param_change_reruns_that_block_and_later_ones_and_says_why() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "data", &["--num-samples", "10"]);
    let data = ws.path("data");
    let a_before = listing(&sample(&data, 3));
    let changed = ws.write("p.yaml", &TWO_BLOCKS.replace("{size: 64}", "{size: 65}"));
    let outcome = ws.run_ok(&changed, "data", &["--num-samples", "10"]);
    assert!(
        outcome
            .stderr()
            .contains("b: 10 to run: stale (param 'size' changed: 64 -> 65) 10 [0..10]"),
        "{}",
        outcome.stderr()
    );
    let a_after = listing(&sample(&data, 3));
    let entry = |l: &[(String, u64, u128)], n: &str| l.iter().find(|e| e.0 == n).cloned();
    assert_eq!(
        entry(&a_before, "a.bin"),
        entry(&a_after, "a.bin"),
        "a.bin was touched"
    );
    assert_eq!(
        fs::metadata(sample(&data, 3).join("b.bin")).unwrap().len(),
        65
    );

    let earlier = ws.write("p.yaml", &TWO_BLOCKS.replace("{size: 256}", "{size: 255}"));
    let outcome = ws.run_ok(&earlier, "data", &["--num-samples", "10"]);
    let stderr = outcome.stderr();
    assert!(
        stderr.contains("a: 10 to run: stale (param 'size' changed: 256 -> 255)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("b: 10 to run: after an earlier block 10"),
        "{stderr}"
    );
}

#[test]
fn force_run_blocks_reruns_them_and_later_blocks_only() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "data", &["--num-samples", "4"]);
    let data = ws.path("data");
    let before = listing(&data);
    let digest = samples_digest(&data);
    std::thread::sleep(Duration::from_millis(20));
    let outcome = ws.run_ok(
        &config,
        "data",
        &["--num-samples", "4", "--force-run-blocks", "b"],
    );
    assert!(
        outcome.stderr().contains("b: 4 to run: forced 4 [0..4]"),
        "{}",
        outcome.stderr()
    );
    let after = listing(&data);
    let mtime = |l: &[(String, u64, u128)], n: &str| l.iter().find(|e| e.0 == n).unwrap().2;
    assert_eq!(
        mtime(&before, &format!("{}/a.bin", sample_path(2))),
        mtime(&after, &format!("{}/a.bin", sample_path(2)))
    );
    assert_ne!(
        mtime(&before, &format!("{}/b.bin", sample_path(2))),
        mtime(&after, &format!("{}/b.bin", sample_path(2)))
    );
    assert_eq!(
        digest,
        samples_digest(&data),
        "a forced rerun must give the same bytes"
    );
    // Both spellings of the list are accepted.
    let outcome = ws.run_ok(
        &config,
        "data",
        &["--num-samples", "4", "--force-run-blocks", "a", "b"],
    );
    assert!(
        outcome.stderr().contains("a: 4 to run: forced 4"),
        "{}",
        outcome.stderr()
    );
    assert!(outcome.stderr().contains("b: 4 to run: forced 4"));
}

#[test]
fn failures_are_recorded_retried_later_or_left_alone() {
    let ws = Workspace::new();
    let config = ws.write("flaky.yaml", FLAKY);
    let outcome = ws.run_failing(&config, "data", &[]);
    let stderr = outcome.stderr();
    assert!(stderr.contains("9 completed, 3 failed"), "{stderr}");
    assert!(
        stderr.contains("b: 3 x exit code 3: boom [0, 5, 10]"),
        "{stderr}"
    );
    let data = ws.path("data");
    assert_eq!(block_status(&data, 5, "b").as_deref(), Some("failed"));
    assert!(!sample(&data, 5).join("b.txt").exists());

    let before = listing(&data);
    let left_alone = ws.run_failing(&config, "data", &["--do-not-retry-blocks", "b"]);
    let stderr = left_alone.stderr();
    assert!(
        stderr.contains("b: 3 left alone (--do-not-retry-blocks) [0, 5, 10]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("0 completed, 3 failed, 0 rejected, 0 skipped"),
        "{stderr}"
    );
    let touched: Vec<_> = listing(&data)
        .into_iter()
        .filter(|e| e.0.starts_with('0'))
        .collect();
    let was: Vec<_> = before
        .into_iter()
        .filter(|e| e.0.starts_with('0'))
        .collect();
    assert_eq!(was, touched, "--do-not-retry-blocks touched a sample");

    let retried = ws.run_ok(&config, "data", &[]);
    assert!(retried
        .stderr()
        .contains("b: 3 to run: failed before 3 [0, 5, 10]"));
    assert!(
        retried.stderr().contains("3 completed, 0 failed"),
        "{}",
        retried.stderr()
    );
    assert_eq!(block_status(&data, 5, "b").as_deref(), Some("ok"));
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "data", &["--num-samples", "5"]);
    fs::remove_file(sample(&ws.path("data"), 2).join("b.bin")).unwrap();
    let before = listing(&ws.path("data"));
    let outcome = ws.run_ok(&config, "data", &["--num-samples", "8", "--dry-run"]);
    let stdout = outcome.stdout();
    assert!(stdout.contains("plan for 8 samples"), "{stdout}");
    assert!(
        stdout.contains("already complete: 4 [0..2, 3..5]"),
        "{stdout}"
    );
    assert!(stdout.contains("a: 3 to run: missing 3 [5..8]"), "{stdout}");
    assert!(
        stdout.contains("b: 4 to run: missing 1 [2]; after an earlier block 3 [5..8]"),
        "{stdout}"
    );
    assert_eq!(before, listing(&ws.path("data")));
    let fresh = ws.run_ok(&config, "fresh", &["--dry-run"]);
    assert!(fresh.stdout().contains("a: 40 to run: missing 40 [0..40]"));
    assert!(!ws.path("fresh").exists(), "--dry-run created the dataset");
}

#[test]
fn without_a_count_the_samples_present_are_targeted() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", &TWO_BLOCKS.replace("samples: 40\n", ""));
    let empty = ws.run(&config, "data", &[]).expect_code(2);
    assert!(
        empty.stderr().contains("no samples to work on"),
        "{}",
        empty.stderr()
    );
    ws.run_ok(
        &config,
        "data",
        &["--start-sample", "10", "--num-samples", "3"],
    );
    fs::remove_file(sample(&ws.path("data"), 11).join("a.bin")).unwrap();
    let outcome = ws.run_ok(&config, "data", &[]);
    assert!(
        outcome
            .stderr()
            .contains("plan for 3 samples (the 3 samples present"),
        "{}",
        outcome.stderr()
    );
    assert!(outcome.stderr().contains("a: 1 to run: missing 1 [11]"));
}

#[test]
fn each_run_leaves_its_own_log() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "data", &["--num-samples", "2"]);
    ws.run_ok(&config, "data", &["--num-samples", "3"]);
    let runs = ws.path("data/.shardgen/runs");
    let mut logs: Vec<_> = fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    logs.sort();
    assert_eq!(logs.len(), 2, "{logs:?}");
    let last = fs::read_to_string(runs.join(&logs[1])).unwrap();
    assert!(last.contains("status: finished"), "{last}");
    assert!(last.contains("--num-samples"), "{last}");
    assert!(last.contains(&format!("host: {}", host())), "{last}");
    assert!(last.contains("completed: 1"), "{last}");
    let manifest = fs::read_to_string(ws.path("data/.shardgen/pipeline.json")).unwrap();
    assert!(manifest.contains("\"seed\": 7"), "{manifest}");
}
