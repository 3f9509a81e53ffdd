//! Code-change tracking of external programs: files in argv and `code:`
//! globs count by content, `version:` by value, the program by its name;
//! `--accept-changes` keeps samples across a change the user vouches for.

use std::fs;

use crate::common::{assert_contains, listing, record, sample, Workspace};

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
