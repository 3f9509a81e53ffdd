//! Code-change tracking of external programs: files in argv and `code:`
//! globs count by content, `version:` by value, the program by its name;
//! `--accept-changes` keeps samples across a change the user vouches for.

use std::fs;

use crate::common::{assert_contains, host, listing, record, sample, sample_name, Workspace};

const CONFIG: &str = r#"seed: 4
samples: 4
blocks:
  - name: a
    type: command
    command: [PROGRAM, "{config_dir}/scripts/a.sh"]
    code: ["lib/*.sh"]
    version: 1
    outputs: [a.txt]
  - name: b
    type: command
    command: [sh, -c, 'cat {sample_dir}/a.txt > b.txt; [ $SHARDGEN_SAMPLE_ID != 3 ]']
    inputs: [a.txt]
    outputs: [b.txt]
"#;

fn setup(program: &str) -> (Workspace, std::path::PathBuf) {
    let ws = Workspace::new();
    ws.write("cfg/scripts/a.sh", "echo $SHARDGEN_SEED > a.txt\n");
    ws.write("cfg/lib/util.sh", "# helpers\n");
    let config = ws.write("cfg/p.yaml", &CONFIG.replace("PROGRAM", program));
    (ws, config)
}

/// Sample 3 always fails in b; nothing else may be planned.
#[track_caller]
fn assert_unchanged(plan: &str) {
    assert_contains(plan, "already complete: 3 [0..3]");
    assert!(!plan.contains("stale"), "{plan}");
}

fn plan(ws: &Workspace, config: &std::path::Path) -> String {
    ws.run(config, "data", &["--dry-run"])
        .expect_code(0)
        .stdout()
}

#[test]
fn edits_by_content_make_samples_stale_and_say_which_file() {
    let (ws, config) = setup("sh");
    ws.run_failing(&config, "data", &["--quiet"]);
    assert_unchanged(&plan(&ws, &config));

    // A new mtime with the same bytes changes nothing.
    let script = ws.path("cfg/scripts/a.sh");
    let text = fs::read_to_string(&script).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&script, &text).unwrap();
    assert_unchanged(&plan(&ws, &config));

    fs::write(&script, format!("{text}# edited\n")).unwrap();
    assert_contains(
        &plan(&ws, &config),
        "a: 4 to run: stale (code 'scripts/a.sh' changed) 4 [0..4]",
    );
    fs::write(&script, &text).unwrap();

    ws.write("cfg/lib/util.sh", "# helpers, edited\n");
    assert_contains(
        &plan(&ws, &config),
        "a: 4 to run: stale (code 'lib/util.sh' changed)",
    );
    ws.write("cfg/lib/util.sh", "# helpers\n");
    ws.write("cfg/lib/more.sh", "# new\n");
    assert_contains(&plan(&ws, &config), "stale (code 'lib/more.sh' added)");
    fs::remove_file(ws.path("cfg/lib/more.sh")).unwrap();

    fs::write(
        &config,
        CONFIG
            .replace("PROGRAM", "sh")
            .replace("version: 1", "version: v2"),
    )
    .unwrap();
    assert_contains(&plan(&ws, &config), "stale (version changed: 1 -> v2)");
}

#[test]
fn the_program_counts_by_name_not_install_path() {
    let (ws, config) = setup("/bin/sh");
    ws.run_failing(&config, "data", &["--quiet"]);
    fs::write(&config, CONFIG.replace("PROGRAM", "sh")).unwrap();
    assert_unchanged(&plan(&ws, &config));
    fs::write(&config, CONFIG.replace("PROGRAM", "dash")).unwrap();
    assert_contains(
        &plan(&ws, &config),
        "stale (command changed: program 'sh' -> 'dash')",
    );
}

#[test]
fn a_code_glob_that_matches_nothing_is_a_config_error() {
    let (ws, config) = setup("sh");
    fs::write(
        &config,
        CONFIG
            .replace("PROGRAM", "sh")
            .replace("lib/*.sh", "lib/*.py"),
    )
    .unwrap();
    let outcome = ws.run(&config, "data", &[]).expect_code(2);
    assert_contains(
        &outcome.stderr(),
        "p.yaml:7: block 'a': code: 'lib/*.py' matches no file",
    );
    assert!(!ws.path("data").exists());
    fs::write(
        &config,
        CONFIG
            .replace("PROGRAM", "sh")
            .replace("version: 1", "version: [1]"),
    )
    .unwrap();
    let outcome = ws.run(&config, "data", &[]).expect_code(2);
    assert_contains(
        &outcome.stderr(),
        "p.yaml:8: block 'a': `version` must be a string or a number",
    );
    assert!(!ws.path("data").exists());
}

#[test]
fn accept_changes_keeps_complete_samples_and_runs_nothing() {
    let (ws, config) = setup("sh");
    ws.run_failing(&config, "data", &["--quiet"]);
    let data = ws.path("data");
    let fingerprint = |id: u64, block: usize| {
        record(&data, id)["blocks"][block]["fingerprint"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (old_a, old_b) = (fingerprint(0, 0), fingerprint(0, 1));
    let outputs = || {
        listing(&data)
            .into_iter()
            .filter(|(p, _, _)| p.ends_with(".txt"))
            .collect::<Vec<_>>()
    };
    let before = outputs();
    let script = ws.path("cfg/scripts/a.sh");
    fs::write(&script, "# a comment\necho $SHARDGEN_SEED > a.txt\n").unwrap();

    let untouched = listing(&data);
    for bad in [
        &["--accept-changes", "nope"][..],
        &["--accept-changes", "b"],
    ] {
        let outcome = ws.run(&config, "data", bad).expect_code(2);
        assert!(
            outcome.stderr().starts_with("error: --accept-changes"),
            "{}",
            outcome.stderr()
        );
        assert_eq!(listing(&data), untouched, "{bad:?} changed the dataset");
    }
    let both = ws
        .run(
            &config,
            "data",
            &["--accept-changes", "a", "--force-run-blocks", "b"],
        )
        .expect_code(2);
    assert_contains(&both.stderr(), "cannot be combined");

    let dry = ws.run_ok(&config, "data", &["--accept-changes", "a", "--dry-run"]);
    assert_contains(
        &dry.stdout(),
        "--accept-changes would record the new fingerprint of a, b on 4 of 4 samples",
    );
    assert_eq!(listing(&data), untouched, "--dry-run changed the dataset");

    let outcome = ws.run_ok(&config, "data", &["--accept-changes", "a"]);
    assert_contains(
        &outcome.stderr(),
        "new fingerprint of a, b recorded on 4 samples: 0..4",
    );
    assert_eq!(outputs(), before, "outputs were rewritten");
    assert_ne!(fingerprint(0, 0), old_a);
    assert_ne!(
        fingerprint(0, 1),
        old_b,
        "the chained block b was not accepted"
    );
    // Sample 3 failed in b: a is accepted there, b keeps its failure.
    assert_ne!(fingerprint(3, 0), old_a);
    assert_eq!(fingerprint(3, 1), old_b);
    let rerun = plan(&ws, &config);
    assert_contains(&rerun, "already complete: 3 [0..3]");
    assert_contains(&rerun, "b: 1 to run: stale 1 [3]");
    let logs: String = fs::read_dir(data.join(".shardgen/runs"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        .map(|e| fs::read_to_string(e.path()).unwrap())
        .collect();
    assert_contains(
        &logs,
        "accepted_changes: 'new fingerprint of a, b recorded on 4 samples",
    );
    assert!(sample(&data, 0).join("a.txt").exists());
}

/// `--accept-changes` over a range of 10^7 holding 4 samples in 2 buckets
/// lists the 2 buckets and reads the 4 records, nothing per absent id; a
/// symlink named like a sample is not read through, samples claimed by a
/// live run (present or absent) are left to it, and the counts still cover
/// the whole range.
#[test]
fn accept_changes_reads_only_the_samples_present_in_a_huge_range() {
    let (ws, config) = setup("sh");
    let data = ws.path("data");
    ws.run_ok(
        &config,
        "data",
        &["--start-sample", "9998", "--num-samples", "4", "--quiet"],
    );
    let fingerprint = |root: &std::path::Path, id: u64| {
        record(root, id)["blocks"][0]["fingerprint"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let old = fingerprint(&data, 9998);
    // A symlink named like sample 5000, to a copy of a sample outside.
    let outside = ws.path("outside/0000005000");
    fs::create_dir_all(&outside).unwrap();
    for entry in fs::read_dir(sample(&data, 9998)).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            fs::copy(entry.path(), outside.join(entry.file_name())).unwrap();
        }
    }
    let record_file = outside.join(".shardgen.json");
    let mut copied = record(&data, 9998);
    copied["sample"] = 5000.into();
    fs::write(&record_file, copied.to_string()).unwrap();
    let outside_record = fs::read(&record_file).unwrap();
    std::os::unix::fs::symlink(&outside, sample(&data, 5000)).unwrap();
    fs::write(
        ws.path("cfg/scripts/a.sh"),
        "# a comment\necho $SHARDGEN_SEED > a.txt\n",
    )
    .unwrap();
    let accept = |extra: &[&str]| {
        let mut args = vec![
            "--accept-changes",
            "a",
            "--num-samples",
            "10000000",
            "--json",
        ];
        args.extend(extra);
        let outcome = ws.run_ok(&config, "data", &args);
        let report: serde_json::Value = serde_json::from_str(&outcome.stdout()).unwrap();
        assert!(report["plan"].is_null(), "{report}");
        (report["accepted"].clone(), outcome.stderr())
    };

    let untouched = listing(&data);
    let (dry, _) = accept(&["--dry-run"]);
    assert_eq!(dry["targeted"], 10_000_000);
    assert_eq!(dry["accepted"], serde_json::json!([[9998, 10002]]));
    assert_eq!(
        dry["scan"],
        serde_json::json!({"folders_listed": 3, "records_read": 4}),
        "the root and 2 buckets listed, the 4 records present read"
    );
    assert_eq!(listing(&data), untouched, "--dry-run changed the dataset");

    // Sample 10000 is held by a live run (this test's process).
    let claims = data.join(".shardgen/claims");
    fs::create_dir_all(&claims).unwrap();
    let (host, pid) = (host(), std::process::id());
    let claim = serde_json::json!({
        "format": 1,
        "run": format!("20260101T000000Z-{host}-{pid}"),
        "host": host,
        "pid": pid,
        "started": "2026-01-01T00:00:00Z",
    });
    // And so is sample 20000, absent: being made by that run right now.
    for id in [10_000, 20_000] {
        fs::write(claims.join(sample_name(id)), claim.to_string()).unwrap();
    }
    let (done, stderr) = accept(&[]);
    assert_eq!(done["targeted"], 10_000_000);
    assert_eq!(
        done["accepted"],
        serde_json::json!([[9998, 10000], [10001, 10002]])
    );
    assert_eq!(done["claimed_elsewhere"], 2);
    assert_eq!(
        done["scan"],
        serde_json::json!({"folders_listed": 3, "records_read": 3}),
        "the claimed sample's record is not read"
    );
    assert_contains(
        &stderr,
        "new fingerprint of a, b recorded on 3 samples: 9998..10000, 10001; 9999995 targeted \
         samples were not complete under the old fingerprint and were left as they are; 2 were \
         claimed by another run",
    );
    for id in [9998, 9999, 10_001] {
        assert_ne!(fingerprint(&data, id), old, "sample {id}");
    }
    assert_eq!(
        fingerprint(&data, 10_000),
        old,
        "the claimed sample changed"
    );
    assert_eq!(
        fs::read(&record_file).unwrap(),
        outside_record,
        "the record behind the symlink was rewritten"
    );
    assert!(claims.join(sample_name(10_000)).exists());
    assert!(claims.join(sample_name(20_000)).exists());
}

#[test]
fn shards_made_with_other_install_paths_of_the_program_merge() {
    let (ws, config) = setup("/bin/sh");
    ws.run(&config, "s0", &["--shard", "0/2", "--quiet"])
        .expect_code(0);
    fs::write(&config, CONFIG.replace("PROGRAM", "sh")).unwrap();
    ws.run(&config, "s1", &["--shard", "1/2", "--quiet"])
        .expect_code(3);
    ws.shardgen()
        .args(["merge", "s0", "s1", "--into", "all", "--quiet"])
        .expect_code(0);
    assert!(sample(&ws.path("all"), 3).join("a.txt").exists());
}
