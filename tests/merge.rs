//! `shardgen merge`: shards of one pipeline combine into the dataset one run
//! makes; anything else is refused before the dataset is touched.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{
    assert_contains, block_status, host, kill_group, listing, record, run_printed_command, sample,
    sample_ids, sample_name, sample_path, samples_digest, tree_digest, Outcome, Workspace, FLAKY,
    TWO_BLOCKS,
};

fn merge(ws: &Workspace, args: &[&str], code: i32) -> Outcome {
    ws.shardgen().args(["merge"]).args(args).expect_code(code)
}

/// The ids of the sample folders below `root`.
fn run_files(root: &Path) -> Vec<String> {
    crate::common::entry_names(&root.join(".shardgen/runs"))
}

/// One run of 40 samples, and three shard runs of the same pipeline that
/// together cover it, two of them overlapping at sample 26.
fn whole_and_three_shards(ws: &Workspace) -> std::path::PathBuf {
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "whole", &["--num-samples", "40", "--jobs", "2"]);
    ws.run_ok(&config, "s1", &["--num-samples", "40", "--shard", "0/3"]);
    ws.run_ok(
        &config,
        "s2",
        &["--start-sample", "13", "--num-samples", "14"],
    );
    ws.run_ok(&config, "s3", &["--num-samples", "40", "--shard", "2/3"]);
    config
}

#[test]
fn three_shard_runs_merged_equal_one_run_and_leave_nothing_to_run() {
    let ws = Workspace::new();
    let config = whole_and_three_shards(&ws);
    let outcome = merge(&ws, &["s1", "s2", "s3", "--into", "all"], 0);
    let stderr = outcome.stderr();
    assert_contains(
        &stderr,
        "merged 3 shards into all: 40 samples present [0..40]",
    );
    assert_contains(&stderr, "  copied: 40 [0..40]\n");
    assert_contains(&stderr, "  run log files copied: 6\n");
    assert_contains(
        &stderr,
        "shard copies left out (identical to or behind the copy kept): 1",
    );
    assert_contains(&stderr, "gaps: none in 0..40");
    let all = ws.path("all");
    let whole = samples_digest(&ws.path("whole"));
    assert_eq!(whole.len(), 40 * 4);
    assert_eq!(whole, samples_digest(&all));
    assert_eq!(
        fs::read(all.join(".shardgen/pipeline.json")).unwrap(),
        fs::read(ws.path("whole/.shardgen/pipeline.json")).unwrap()
    );
    let mut shard_runs: Vec<String> = ["s1", "s2", "s3"]
        .iter()
        .flat_map(|s| run_files(&ws.path(s)))
        .collect();
    shard_runs.sort();
    assert_eq!(shard_runs.len(), 6, "a log and a timings file per run");
    assert_eq!(run_files(&all), shard_runs);
    assert!(
        !all.join(".shardgen/merge").exists()
            || fs::read_dir(all.join(".shardgen/merge")).unwrap().count() == 0,
        "the merge left its scratch folder"
    );

    // The copies are untouched, and a second merge changes nothing.
    assert_eq!(
        samples_digest(&ws.path("s1")).len(),
        13 * 4,
        "merge without --move keeps the shards"
    );
    let before = listing(&all);
    let again = merge(&ws, &["s1", "s2", "s3", "--into", "all"], 0);
    assert_contains(&again.stderr(), "  copied: 0\n");
    let samples = |l: Vec<(String, u64, u128)>| -> Vec<_> {
        l.into_iter().filter(|e| e.0.starts_with('0')).collect()
    };
    assert_eq!(samples(before), samples(listing(&all)));

    let rerun = ws.run_ok(&config, "all", &["--num-samples", "40"]);
    assert_contains(&rerun.stderr(), "already complete: 40");
    assert_contains(&rerun.stderr(), "nothing to run");
}

#[test]
fn shards_of_another_seed_or_params_are_refused_and_nothing_changes() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "s1", &["--num-samples", "5"]);
    let seed8 = ws.write("seed8.yaml", &TWO_BLOCKS.replace("seed: 7", "seed: 8"));
    ws.run_ok(
        &seed8,
        "other-seed",
        &["--start-sample", "5", "--num-samples", "5"],
    );
    let bigger = ws.write(
        "bigger.yaml",
        &TWO_BLOCKS.replace("{size: 64}", "{size: 128}"),
    );
    ws.run_ok(
        &bigger,
        "other-params",
        &["--start-sample", "5", "--num-samples", "5"],
    );
    let renamed = ws.write("renamed.yaml", &TWO_BLOCKS.replace("name: b", "name: c"));
    ws.run_ok(&renamed, "other-blocks", &["--num-samples", "1"]);
    merge(&ws, &["s1", "--into", "all"], 0);
    let before = listing(&ws.path("all"));

    let refused = merge(&ws, &["other-seed", "--into", "all"], 2);
    assert_eq!(
        refused.stderr(),
        "error: shard other-seed: master seed 8, but all has seed 7; \
         merge only shards of one pipeline\n"
    );
    let refused = merge(&ws, &["other-params", "--into", "all"], 2);
    assert_eq!(
        refused.stderr(),
        "error: shard other-params: block 'b' has another fingerprint than in all \
         (param 'size' changed: 64 -> 128); merge only shards of one pipeline\n"
    );
    let refused = merge(&ws, &["other-blocks", "--into", "all"], 2);
    assert_eq!(
        refused.stderr(),
        "error: shard other-blocks: blocks a, c, but all has blocks a, b; \
         merge only shards of one pipeline\n"
    );
    assert_eq!(before, listing(&ws.path("all")), "a refused merge wrote");

    // Into a new folder the first shard is the reference; nothing is created.
    let refused = merge(&ws, &["s1", "other-params", "--into", "new"], 2);
    assert_contains(
        &refused.stderr(),
        "shard other-params: block 'b' has another fingerprint than in s1",
    );
    assert!(!ws.path("new").exists(), "a refused merge created --into");
}

#[test]
fn paths_that_are_not_shard_datasets_are_refused() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "s1", &["--num-samples", "2"]);
    ws.write(&format!("plain/{}/a.bin", sample_path(0)), "x");
    ws.write("file.txt", "x");
    let cases = [
        (
            vec!["s1", "missing", "--into", "all"],
            "error: shard missing: not a folder; give the dataset folders of shard runs\n",
        ),
        (
            vec!["file.txt", "--into", "all"],
            "error: shard file.txt: not a folder; give the dataset folders of shard runs\n",
        ),
        (
            vec!["s1", "plain", "--into", "all"],
            "error: shard plain: no .shardgen/pipeline.json, so not a shardgen dataset; \
             merge only folders made by `shardgen run`\n",
        ),
        (
            vec!["s1", "s1/", "--into", "all"],
            "error: shard s1/: given twice; give each shard once, and not the --into folder\n",
        ),
        (
            vec!["s1", "--into", "s1"],
            "error: shard s1: it is the --into folder; give each shard once, and not the \
             --into folder\n",
        ),
        (
            vec!["s1", "--into", "file.txt"],
            "error: --into file.txt: is a file, not a folder; pick a dataset folder\n",
        ),
    ];
    for (args, message) in cases {
        let refused = merge(&ws, &args, 2);
        assert_eq!(refused.stderr(), message, "{args:?}");
    }
    assert!(!ws.path("all").exists());
    let usage = ws
        .shardgen()
        .args(["merge", "--into", "all"])
        .expect_code(2);
    assert_contains(&usage.stderr(), "SHARD");
}

/// Replaces the bytes of a file with others of the same size.
/// Inverts the bytes of an output and its digest in the record, as a block
/// that made other bytes would have (merge compares recorded digests, so a
/// file changed after it was published is not a conflict).
fn flip_bytes(path: &Path) {
    let mut bytes = fs::read(path).unwrap();
    for byte in &mut bytes {
        *byte = !*byte;
    }
    fs::write(path, &bytes).unwrap();
    crate::common::rerecord_digest(path, &bytes);
}

#[test]
fn a_conflicting_sample_refuses_the_merge_or_is_skipped_and_reported() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "s1", &["--num-samples", "5"]);
    ws.run_ok(&config, "s2", &["--num-samples", "8"]);
    flip_bytes(&sample(&ws.path("s2"), 3).join("a.bin"));
    merge(&ws, &["s1", "--into", "all"], 0);
    let before = listing(&ws.path("all"));

    let refused = merge(&ws, &["s2", "--into", "all"], 2);
    assert_eq!(
        refused.stderr(),
        "error: sample 3: all and s2 hold conflicting copies ('a.bin' differs, of a block \
         complete in both); remove the wrong copy, or pass --skip-conflicts to keep the \
         --into folder's copy\n"
    );
    assert_eq!(before, listing(&ws.path("all")), "a refused merge wrote");

    let skipped = merge(&ws, &["s2", "--into", "all", "--skip-conflicts"], 0);
    let stderr = skipped.stderr();
    assert_contains(&stderr, "  copied: 3 [5..8]\n");
    assert_contains(&stderr, "  conflicts skipped: 1\n");
    assert_contains(
        &stderr,
        "    sample 3: all and s2 conflict ('a.bin' differs, of a block complete in both); \
             kept all's copy\n",
    );
    let digest = |root: &Path| tree_digest(&sample(root, 3), |_| true);
    assert_eq!(digest(&ws.path("s1")), digest(&ws.path("all")));

    // Between two shards, with no copy in --into, the sample is left out
    // and reported as a gap to fill.
    let skipped = merge(&ws, &["s1", "s2", "--into", "fresh", "--skip-conflicts"], 0);
    let stderr = skipped.stderr();
    assert_contains(&stderr, "    sample 3: s1 and s2 conflict ('a.bin' differs, of a block complete in both); left out of fresh\n");
    assert_eq!(sample_ids(&ws.path("fresh")), vec![0, 1, 2, 4, 5, 6, 7]);
    assert_contains(&stderr, "gaps in 0..8: 1 samples [3]");

    // Two complete copies that differ only in a file no block declares.
    ws.write(&format!("s2/{}/notes.txt", sample_path(4)), "mine");
    let refused = merge(&ws, &["s1", "s2", "--into", "other"], 2);
    assert_contains(
        &refused.stderr(),
        "sample 3: s1 and s2 hold conflicting copies ('a.bin' differs, of a block complete \
             in both) and 1 more sample conflicts;",
    );
    for name in ["a.bin", ".shardgen.json"] {
        fs::remove_file(sample(&ws.path("s2"), 3).join(name)).unwrap();
        fs::copy(
            sample(&ws.path("s1"), 3).join(name),
            sample(&ws.path("s2"), 3).join(name),
        )
        .unwrap();
    }
    let refused = merge(&ws, &["s1", "s2", "--into", "other"], 2);
    assert_contains(
        &refused.stderr(),
        "sample 4: s1 and s2 hold conflicting copies (both complete, but 'notes.txt' is \
             only in s2);",
    );
    assert!(!ws.path("other").exists());
}

#[test]
fn a_failed_copy_gives_way_to_a_complete_one_in_any_order() {
    let ws = Workspace::new();
    let config = ws.write("flaky.yaml", FLAKY);
    // Sample 5 fails in `failed`, then succeeds in `retried`.
    let first = ws.run_failing(&config, "failed", &["--num-samples", "7"]);
    assert_contains(&first.stderr(), "2 failed");
    ws.run_ok(
        &config,
        "retried",
        &["--start-sample", "5", "--num-samples", "2"],
    );
    assert_eq!(
        block_status(&ws.path("failed"), 5, "b").as_deref(),
        Some("failed")
    );
    let complete = tree_digest(&sample(&ws.path("retried"), 5), |_| true);
    for (order, into) in [(["failed", "retried"], "ab"), (["retried", "failed"], "ba")] {
        let outcome = merge(&ws, &[order[0], order[1], "--into", into], 0);
        assert_eq!(
            complete,
            tree_digest(&sample(&ws.path(into), 5), |_| true),
            "{order:?}: {}",
            outcome.stderr()
        );
        assert_eq!(
            block_status(&ws.path(into), 0, "b").as_deref(),
            Some("failed")
        );
        assert_eq!(sample_ids(&ws.path(into)), (0..7).collect::<Vec<_>>());
    }

    // --into holds the failed copy: it is replaced by the complete one...
    merge(&ws, &["failed", "--into", "dir"], 0);
    let outcome = merge(&ws, &["retried", "--into", "dir"], 0);
    assert_contains(
        &outcome.stderr(),
        "  replaced by a copy further along: 1 [5]\n",
    );
    assert_eq!(complete, tree_digest(&sample(&ws.path("dir"), 5), |_| true));
    // ...and a complete copy in --into stays when a shard has it failed.
    let outcome = merge(&ws, &["failed", "--into", "dir"], 0);
    assert_contains(&outcome.stderr(), "  copied: 0\n");
    assert_eq!(complete, tree_digest(&sample(&ws.path("dir"), 5), |_| true));
    let rerun = ws.run_ok(&config, "dir", &["--num-samples", "7"]);
    assert_contains(&rerun.stderr(), "b: 1 to run: failed before 1 [0]");
}

#[test]
fn copies_failed_at_the_same_block_for_other_reasons_do_not_conflict() {
    let ws = Workspace::new();
    let config = ws.write(
        "fails.yaml",
        "seed: 3
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 16}}
  - name: b
    type: command
    command: [sh, -c, 'echo boom $$ >&2; exit 3']
    outputs: [b.txt]
",
    );
    ws.run_failing(&config, "s1", &["--num-samples", "2"]);
    ws.run_failing(&config, "s2", &["--num-samples", "2"]);
    assert_ne!(record(&ws.path("s1"), 1), record(&ws.path("s2"), 1));
    merge(&ws, &["s1", "s2", "--into", "all"], 0);
    assert_eq!(record(&ws.path("s1"), 1), record(&ws.path("all"), 1));
}

#[test]
fn move_empties_the_shards_sample_folders() {
    let ws = Workspace::new();
    whole_and_three_shards(&ws);
    let shard_runs: usize = ["s1", "s2", "s3"]
        .iter()
        .map(|s| run_files(&ws.path(s)).len())
        .sum();
    let outcome = merge(&ws, &["s1", "s2", "s3", "--into", "all", "--move"], 0);
    assert_contains(&outcome.stderr(), "  moved: 40 [0..40]\n");
    assert_eq!(
        samples_digest(&ws.path("whole")),
        samples_digest(&ws.path("all"))
    );
    for shard in ["s1", "s2", "s3"] {
        assert_eq!(sample_ids(&ws.path(shard)), Vec::<u64>::new(), "{shard}");
        assert_eq!(run_files(&ws.path(shard)), Vec::<String>::new(), "{shard}");
    }
    assert_eq!(run_files(&ws.path("all")).len(), shard_runs);
}

#[test]
fn move_across_filesystems_copies_then_removes_the_shard_copy() {
    let ws = Workspace::new();
    let Ok(other_fs) = tempfile::tempdir_in("/dev/shm") else {
        eprintln!("no /dev/shm: cross-filesystem move not tested");
        return;
    };
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "whole", &["--num-samples", "6"]);
    let shard = other_fs.path().join("shard");
    let shard_arg = shard.to_string_lossy().into_owned();
    ws.run_ok(&config, &shard_arg, &["--num-samples", "6"]);
    // A less complete copy in --into is replaced across filesystems too.
    ws.run_ok(&config, "all", &["--num-samples", "1"]);
    fs::remove_file(sample(&ws.path("all"), 0).join("b2.bin")).unwrap();
    let outcome = merge(&ws, &[&shard_arg, "--into", "all", "--move"], 0);
    assert_contains(&outcome.stderr(), "  moved: 5 [1..6]\n");
    assert_contains(
        &outcome.stderr(),
        "  replaced by a copy further along: 1 [0]\n",
    );
    assert_eq!(
        samples_digest(&ws.path("whole")),
        samples_digest(&ws.path("all"))
    );
    assert_eq!(sample_ids(&shard), Vec::<u64>::new());
}

#[test]
fn a_merge_cut_short_by_hand_is_finished_by_the_rerun() {
    let ws = Workspace::new();
    whole_and_three_shards(&ws);
    // The state a kill leaves: s1 merged, sample 2 renamed aside but not yet
    // replaced, and half a copy of sample 20 in a dead merge's scratch folder.
    merge(&ws, &["s1", "--into", "all"], 0);
    let all = ws.path("all");
    let dead = all.join(format!(
        ".shardgen/merge/20200101T000000Z-{}-4194000",
        host()
    ));
    fs::create_dir_all(dead.join("old")).unwrap();
    fs::rename(sample(&all, 2), dead.join("old").join(sample_name(2))).unwrap();
    fs::create_dir_all(dead.join("new").join(sample_name(20))).unwrap();
    fs::write(
        dead.join("new").join(sample_name(20)).join("a.bin"),
        b"half",
    )
    .unwrap();

    merge(&ws, &["s1", "s2", "s3", "--into", "all"], 0);
    assert_eq!(samples_digest(&ws.path("whole")), samples_digest(&all));
    assert!(!dead.exists(), "the dead merge's scratch folder was kept");
}

#[test]
fn kill_9_midway_leaves_only_whole_samples_and_the_rerun_finishes() {
    let ws = Workspace::new();
    let config = ws.write(
        "tiny.yaml",
        "seed: 1
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin, a2.bin, a3.bin], params: {size: 16}}
",
    );
    ws.run_ok(&config, "big", &["--num-samples", "1500"]);
    let big = ws.path("big");
    let all = ws.path("all");
    let args = ["merge", "big", "--into", "all", "--jobs", "1", "--quiet"];
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    let mut child = ws.spawn_in_group(&args);
    let deadline = Instant::now() + Duration::from_secs(60);
    while sample_ids(&all).len() < 100 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    kill_group(&mut child);
    let placed = sample_ids(&all);
    assert!(
        !placed.is_empty(),
        "the merge placed nothing before the kill"
    );
    for &id in &placed {
        assert_eq!(
            tree_digest(&sample(&big, id), |_| true),
            tree_digest(&sample(&all, id), |_| true),
            "sample {id} is in --into but not whole ({} placed)",
            placed.len()
        );
    }
    merge(&ws, &["big", "--into", "all"], 0);
    assert_eq!(samples_digest(&big), samples_digest(&all));
    let scratch = all.join(".shardgen/merge");
    assert_eq!(fs::read_dir(&scratch).map(|d| d.count()).unwrap_or(0), 0);
}

#[test]
fn the_gap_report_gives_the_commands_that_fill_the_holes() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "whole", &["--num-samples", "32"]);
    ws.run_ok(&config, "s1", &["--num-samples", "10"]);
    ws.run_ok(
        &config,
        "s2",
        &["--start-sample", "20", "--num-samples", "5"],
    );
    ws.run_ok(
        &config,
        "s3",
        &["--start-sample", "30", "--num-samples", "2"],
    );
    let outcome = merge(&ws, &["s1", "s2", "s3", "--into", "all"], 0);
    let stderr = outcome.stderr();
    // The config is the one the latest run log names, made absolute.
    let config = fs::canonicalize(&config).unwrap();
    let expected = format!(
        "gaps in 0..32: 15 samples [10..20, 25..30]
fill them with:
  shardgen run {0} --out all --start-sample 10 --num-samples 10
  shardgen run {0} --out all --start-sample 25 --num-samples 5
",
        config.display()
    );
    assert!(stderr.ends_with(&expected), "{stderr}");
    // Each command runs as printed, through a shell.
    for line in stderr.lines().filter(|l| l.starts_with("  shardgen run")) {
        run_printed_command(&ws, line.trim());
    }
    assert_eq!(
        samples_digest(&ws.path("whole")),
        samples_digest(&ws.path("all"))
    );
}

/// A command block that fails on sample 1 with a log until `fixed` exists.
const FAILS_ON_ONE: &str = r#"seed: 4
blocks:
  - name: gen
    type: command
    command:
      - sh
      - -c
      - |
        echo "making $SHARDGEN_SAMPLE_ID"
        if [ "$SHARDGEN_SAMPLE_ID" = 1 ] && [ ! -e "$0/fixed" ]; then
          echo "ERROR: no licence on this node" >&2
          exit 1
        fi
        touch out.txt
      - "{config_dir}"
    outputs: [out.txt]
"#;

#[test]
fn the_logs_of_failed_samples_come_with_the_copies_merged() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", FAILS_ON_ONE);
    let log = |root: &str| {
        ws.path(root)
            .join(".shardgen/failures/000000/0000000001.gen.log")
    };
    // Sample 1 fails in shard s0; s1 holds other samples.
    ws.run_failing(&config, "s0", &["--num-samples", "2", "--quiet"]);
    ws.run_ok(
        &config,
        "s1",
        &["--start-sample", "2", "--num-samples", "2", "--quiet"],
    );
    let kept = fs::read_to_string(log("s0")).unwrap();
    assert_contains(&kept, "ERROR: no licence on this node");
    let outcome = merge(&ws, &["s0", "s1", "--into", "all", "--json"], 0);
    let report: serde_json::Value = serde_json::from_str(&outcome.stdout()).unwrap();
    assert_eq!(report["failure_logs"], 1);
    assert_eq!(fs::read_to_string(log("all")).unwrap(), kept);
    let detail = ws
        .shardgen()
        .args(["analyze", "all", "--sample", "1"])
        .expect_code(0)
        .stdout();
    assert_contains(&detail, "      | ERROR: no licence on this node\n");
    // A shard's complete copy replaces the failed one: its log goes too.
    ws.write("fixed", "");
    ws.run_ok(
        &config,
        "s2",
        &["--start-sample", "1", "--num-samples", "1", "--quiet"],
    );
    let outcome = merge(&ws, &["s2", "--into", "all", "--move", "--json"], 0);
    let report: serde_json::Value = serde_json::from_str(&outcome.stdout()).unwrap();
    assert_eq!(report["replaced"], serde_json::json!([[1, 2]]), "{report}");
    assert!(!log("all").exists(), "the log of the replaced copy stayed");
    assert_eq!(
        block_status(&ws.path("all"), 1, "gen").as_deref(),
        Some("ok")
    );
}
