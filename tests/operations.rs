//! Operations: samples are taken in id order, and `--max-failures` stops a
//! run that fails on everything.

use std::fs;

use crate::common::{block_status, sample, Workspace};

/// Every sample fails: the program is broken.
const BROKEN: &str = "seed: 2
samples: 40
blocks:
  - name: broken
    type: command
    command: [sh, -c, 'echo \"cannot load the model\" >&2; exit 3']
    outputs: [out.txt]
";

#[test]
fn max_failures_stops_a_broken_pipeline_early_and_exits_1() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", BROKEN);
    let outcome = ws
        .run(&config, "data", &["--max-failures", "3", "--jobs", "2"])
        .expect_code(1);
    let stderr = outcome.stderr();
    assert!(
        stderr.contains("error: stopped after ") && stderr.contains("(--max-failures 3)"),
        "{stderr}"
    );
    // The summary is printed before the error.
    assert!(stderr.contains("finished in "), "{stderr}");
    // At most N + jobs samples ran, and they are among the first ones:
    // workers take samples from the front of the range. (The stop kills the
    // samples still running, as SIGTERM does, so one of the first N + jobs
    // may be left as it was rather than failed.)
    let data = ws.path("data");
    let failed: Vec<u64> = (0..40)
        .filter(|&id| sample(&data, id).join(".shardgen.json").exists())
        .filter(|&id| block_status(&data, id, "broken").as_deref() == Some("failed"))
        .collect();
    assert!((3..=5).contains(&failed.len()), "{failed:?}");
    assert!(failed.iter().all(|&id| id < 5), "{failed:?}");
    assert!(!sample(&data, 39).exists());
    // The run log says why it stopped.
    let logs: Vec<_> = fs::read_dir(ws.path("data/.shardgen/runs"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".yaml"))
        .collect();
    let log = fs::read_to_string(logs[0].path()).unwrap();
    assert!(log.contains("status: 'stopped: stopped after"), "{log}");
    // --json still prints what the run did, with why it stopped.
    let json = ws
        .run(
            &config,
            "again",
            &["--max-failures", "2", "--jobs", "1", "--json"],
        )
        .expect_code(1);
    let report: serde_json::Value = serde_json::from_str(&json.stdout()).unwrap();
    assert_eq!(report["max_failures_reached"]["limit"], 2, "{report}");
    assert_eq!(report["failed"], 2, "{report}");
}

#[test]
fn rejections_do_not_count_as_failures() {
    let ws = Workspace::new();
    let config = ws.write(
        "p.yaml",
        "seed: 2
samples: 6
blocks:
  - name: picky
    type: command
    command: [sh, -c, 'echo \"not interesting\" > \"$SHARDGEN_REJECT\"']
    outputs: [out.txt]
",
    );
    let outcome = ws
        .run(&config, "data", &["--max-failures", "1", "--json"])
        .expect_code(0);
    let report: serde_json::Value = serde_json::from_str(&outcome.stdout()).unwrap();
    assert_eq!(report["rejected"], 6);
    assert_eq!(report["failed"], 0);
}

#[test]
fn a_zero_limit_is_a_usage_error() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", BROKEN);
    let outcome = ws
        .run(&config, "data", &["--max-failures", "0"])
        .expect_code(2);
    assert!(
        outcome.stderr().contains("--max-failures"),
        "{}",
        outcome.stderr()
    );
    assert!(!ws.path("data").exists());
}

/// A program that does not exist would fail every sample: it is a config
/// error before anything is created, naming the block. `--statistics-only`
/// needs none of the programs, so it does not check them.
#[test]
fn a_missing_program_is_a_config_error_before_anything_runs() {
    let ws = Workspace::new();
    let good = ws.write(
        "good.yaml",
        "seed: 2\nsamples: 2\nblocks:\n  - {name: a, type: command, command: [sh, -c, 'touch a'], outputs: [a]}\n",
    );
    ws.run_ok(&good, "data", &["--quiet"]);
    let config = ws.write(
        "p.yaml",
        &BROKEN.replace("command: [sh, -c,", "command: [python4, -c,"),
    );
    let outcome = ws.run(&config, "new", &[]).expect_code(2);
    assert!(
        outcome.stderr().trim_end().ends_with(
            "block 'broken': program 'python4' is not found on PATH; install it, or fix the \
             program in `command`"
        ),
        "{}",
        outcome.stderr()
    );
    assert!(!ws.path("new").exists());
    let missing = ws.write(
        "q.yaml",
        &std::fs::read_to_string(&good)
            .unwrap()
            .replace("[sh, -c, 'touch a']", "[no-such-tool-here]"),
    );
    // The same dataset's statistics need no program.
    ws.run(&missing, "data", &["--statistics-only", "--quiet"])
        .expect_code(0);
}

/// The timings journal is written as the run goes (at least every second),
/// so a run killed with `kill -9` keeps the wall times of what it did.
#[test]
fn a_killed_run_keeps_its_wall_times() {
    let ws = Workspace::new();
    ws.write(
        "p.yaml",
        "seed: 2\nsamples: 20\nblocks:\n  - {name: slow, type: command, command: [sh, -c, 'sleep 0.4; touch a'], outputs: [a]}\n",
    );
    let args: Vec<std::ffi::OsString> =
        ["run", "p.yaml", "--out", "data", "--jobs", "1", "--quiet"]
            .iter()
            .map(Into::into)
            .collect();
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let mut child = ws.spawn_in_group(&args);
    let data = ws.path("data");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // Wait for 4 samples done (over a second of work), then kill.
    while (0..20)
        .filter(|&id| sample(&data, id).join("a").exists())
        .count()
        < 4
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the run made no progress"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    crate::common::kill_group(&mut child);
    let journal = fs::read_dir(data.join(".shardgen/runs"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".timings.tsv"))
        .expect("a timings journal");
    let text = fs::read_to_string(journal.path()).unwrap();
    assert!(text.lines().count() >= 2, "wall times kept: {text:?}");
}
