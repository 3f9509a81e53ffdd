//! Several runs into one dataset folder at once: claims keep every (sample,
//! block) to one run at a time, stale claims are taken over, live ones are
//! respected and reported.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::common::{block_status, host, kill_group, sample, samples_digest, Workspace};

/// Generous bound for anything awaited: the machine may be loaded.
const PATIENCE: Duration = Duration::from_secs(60);

/// Two command blocks that log `sample block pid` to `log` and sleep a bit.
fn logging_pipeline(ws: &Workspace, samples: u64) -> PathBuf {
    let log = ws.path("blocks.log");
    let step = |name: &str, output: &str| {
        format!(
            "  - name: {name}\n    type: command\n    command: [sh, -c, 'echo \"$SHARDGEN_SAMPLE_ID $SHARDGEN_BLOCK $PPID\" >> {log}; sleep 0.05; echo $SHARDGEN_SEED > {output}']\n    outputs: [{output}]\n",
            log = log.display()
        )
    };
    ws.write(
        "p.yaml",
        &format!(
            "seed: 5\nsamples: {samples}\nblocks:\n{}{}",
            step("a", "a.txt"),
            step("b", "b.txt")
        ),
    )
}

/// A `shardgen run --json` of `config` into `out`, spawned in its own
/// process group.
fn spawn(ws: &Workspace, config: &Path, out: &str, extra: &[&str]) -> Child {
    let mut command = ws.run(config, out, extra).args(["--json"]).command;
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("shardgen starts")
}

/// A finished run: its stderr (for messages) and its `--json` report.
struct Finished {
    stderr: String,
    report: serde_json::Value,
}

/// Waits for a spawned run; asserts exit 0.
fn finish(child: Child) -> Finished {
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report = serde_json::from_slice(&output.stdout).expect("--json prints one object");
    Finished { stderr, report }
}

fn run(ws: &Workspace, config: &Path, out: &str, extra: &[&str]) -> Finished {
    finish(spawn(ws, config, out, extra))
}

/// `(completed, already complete, claimed elsewhere)` of a run's report.
fn summary_counts(finished: &Finished) -> (u64, u64, u64) {
    let count = |key: &str| finished.report[key].as_u64().expect(key);
    assert_eq!(finished.report["format"], "shardgen-run/1");
    (
        count("completed"),
        count("already_complete"),
        count("claimed_elsewhere"),
    )
}

fn claims_dir(root: &Path) -> PathBuf {
    root.join(".shardgen/claims")
}

fn count_entries(dir: &Path) -> usize {
    fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Writes a claim file as another run would, `age` old.
fn write_claim(root: &Path, id: u64, host: &str, pid: u32, age: Duration) {
    let dir = claims_dir(root);
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(crate::common::sample_name(id));
    let claim = serde_json::json!({
        "format": 1,
        "run": format!("20260101T000000Z-{host}-{pid}"),
        "serial": 0,
        "host": host,
        "pid": pid,
        "started": "2026-01-01T00:00:00Z",
    });
    fs::write(&path, claim.to_string()).unwrap();
    set_age(&path, age);
}

fn set_age(path: &Path, age: Duration) {
    fs::File::open(path)
        .unwrap()
        .set_modified(SystemTime::now() - age)
        .unwrap();
}

#[test]
fn two_runs_on_disjoint_ranges_at_once_equal_one_run() {
    let ws = Workspace::new();
    let config = logging_pipeline(&ws, 16);
    run(&ws, &config, "reference", &["--jobs", "2"]);
    let first = spawn(&ws, &config, "data", &["--num-samples", "8", "--jobs", "2"]);
    let second = spawn(
        &ws,
        &config,
        "data",
        &["--start-sample", "8", "--num-samples", "8", "--jobs", "2"],
    );
    for finished in [finish(first), finish(second)] {
        assert_eq!(summary_counts(&finished), (8, 0, 0), "{}", finished.stderr);
    }
    let reference = samples_digest(&ws.path("reference"));
    assert_eq!(reference.len(), 16 * 3);
    assert_eq!(reference, samples_digest(&ws.path("data")));
    assert_eq!(count_entries(&claims_dir(&ws.path("data"))), 0);
    let logs = count_entries(&ws.path("data/.shardgen/runs"));
    assert_eq!(logs, 4, "a log and a timings journal per run");
}

#[test]
fn three_runs_on_the_same_range_never_run_a_block_of_a_sample_twice() {
    let ws = Workspace::new();
    let config = logging_pipeline(&ws, 12);
    let runs: Vec<Child> = (0..3)
        .map(|_| spawn(&ws, &config, "data", &["--jobs", "2"]))
        .collect();
    let finished: Vec<Finished> = runs.into_iter().map(finish).collect();

    let log = fs::read_to_string(ws.path("blocks.log")).unwrap();
    let mut per_step: BTreeMap<(u64, String), Vec<String>> = BTreeMap::new();
    for line in log.lines() {
        let mut fields = line.split(' ');
        let id: u64 = fields.next().unwrap().parse().unwrap();
        let block = fields.next().unwrap().to_owned();
        let pid = fields.next().unwrap().to_owned();
        per_step.entry((id, block)).or_default().push(pid);
    }
    assert_eq!(per_step.len(), 12 * 2, "{log}");
    for ((id, block), pids) in &per_step {
        assert_eq!(pids.len(), 1, "sample {id} block {block} ran in {pids:?}");
    }
    for id in 0..12 {
        assert_eq!(
            block_status(&ws.path("data"), id, "b").as_deref(),
            Some("ok")
        );
    }
    let mut completed = 0;
    for run in &finished {
        let (done, already, claimed) = summary_counts(run);
        assert_eq!(
            done + already + claimed,
            12,
            "every sample accounted for:\n{}",
            run.stderr
        );
        completed += done;
    }
    assert_eq!(completed, 12);
    assert_eq!(count_entries(&claims_dir(&ws.path("data"))), 0);
    // The statistics passes took turns: the last one saw every sample.
    let statistics = fs::read_to_string(ws.path("data/statistics.yaml")).unwrap();
    assert!(statistics.contains("  complete: 12\n"), "{statistics}");
}

#[test]
fn a_killed_run_leaves_stale_claims_that_the_next_run_takes_over() {
    let ws = Workspace::new();
    let config = logging_pipeline(&ws, 20);
    run(&ws, &config, "reference", &["--jobs", "2"]);
    let mut child = spawn(&ws, &config, "data", &["--jobs", "2"]);
    let data = ws.path("data");
    wait_for("a claim and a finished sample", || {
        count_entries(&claims_dir(&data)) > 0 && sample(&data, 0).join("b.txt").exists()
    });
    kill_group(&mut child);
    assert!(
        count_entries(&claims_dir(&data)) > 0,
        "a killed run leaves its claims"
    );
    let finished = run(&ws, &config, "data", &["--jobs", "2"]);
    assert_eq!(
        finished.report["claimed_elsewhere"], 0,
        "{}",
        finished.stderr
    );
    assert_eq!(samples_digest(&ws.path("reference")), samples_digest(&data));
    assert_eq!(count_entries(&claims_dir(&data)), 0);
}

/// A child process that a failing test does not leave behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_claim_of_a_live_process_is_skipped_and_reported_until_it_dies() {
    let ws = Workspace::new();
    let config = logging_pipeline(&ws, 5);
    let data = ws.path("data");
    let mut holder = KillOnDrop(Command::new("sleep").arg("60").spawn().unwrap());
    write_claim(&data, 3, &host(), holder.0.id(), Duration::ZERO);

    let finished = run(&ws, &config, "data", &[]);
    let run_id = format!("20260101T000000Z-{}-{}", host(), holder.0.id());
    assert!(
        finished.stderr.contains(&format!(
            "skipped (claimed by another run): 1 [3], held by {run_id}"
        )),
        "{}",
        finished.stderr
    );
    assert_eq!(summary_counts(&finished), (4, 0, 1));
    assert_eq!(
        finished.report["claimed_samples"],
        serde_json::json!([[3, 4]])
    );
    assert_eq!(finished.report["claimed_by"], serde_json::json!([run_id]));
    assert!(!sample(&data, 3).exists());
    let log = fs::read_dir(data.join(".shardgen/runs"))
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".yaml"))
        .unwrap();
    let log = fs::read_to_string(log.path()).unwrap();
    assert!(log.contains("claimed_elsewhere: 1"), "{log}");

    holder.0.kill().unwrap();
    holder.0.wait().unwrap();
    let finished = run(&ws, &config, "data", &[]);
    assert_eq!(summary_counts(&finished), (1, 4, 0), "{}", finished.stderr);
    assert_eq!(block_status(&data, 3, "b").as_deref(), Some("ok"));
}

#[test]
fn claims_and_staging_of_other_hosts_expire_after_the_lease() {
    let ws = Workspace::new();
    let config = logging_pipeline(&ws, 4);
    let data = ws.path("data");
    let hour = Duration::from_secs(3600);
    write_claim(&data, 1, "elsewhere", 42, hour);
    write_claim(&data, 2, "elsewhere", 42, Duration::ZERO);
    let old_staging = data.join(".shardgen/staging/20260101T000000Z-elsewhere-42");
    let live_staging = data.join(".shardgen/staging/20260101T000000Z-elsewhere-43");
    for dir in [&old_staging, &live_staging] {
        fs::create_dir_all(dir.join("worker-0/out")).unwrap();
    }
    set_age(&old_staging, hour);

    let bad = ws
        .run(&config, "data", &[])
        .env("SHARDGEN_CLAIM_LEASE", "soon")
        .expect_code(2);
    assert!(
        bad.stderr().contains("SHARDGEN_CLAIM_LEASE=soon"),
        "{}",
        bad.stderr()
    );
    assert!(!sample(&data, 0).exists());

    let outcome = ws
        .run(&config, "data", &[])
        .env("SHARDGEN_CLAIM_LEASE", "60")
        .expect_code(0);
    let stderr = outcome.stderr();
    assert!(
        stderr.contains(
            "skipped (claimed by another run): 1 [2], held by 20260101T000000Z-elsewhere-42"
        ),
        "{stderr}"
    );
    assert_eq!(block_status(&data, 1, "b").as_deref(), Some("ok"));
    assert!(!sample(&data, 2).exists());
    assert!(
        !old_staging.exists(),
        "stale staging of another host is removed"
    );
    assert!(
        live_staging.exists(),
        "fresh staging of another host is kept"
    );
    let left: Vec<_> = fs::read_dir(claims_dir(&data))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        [crate::common::sample_name(2)],
        "only the live claim is left"
    );
}

#[test]
fn a_run_waits_a_lease_at_most_for_its_turn_at_the_statistics() {
    let ws = Workspace::new();
    let config = logging_pipeline(&ws, 2);
    let data = ws.path("data");
    let holder = KillOnDrop(Command::new("sleep").arg("60").spawn().unwrap());
    write_claim(&data, 0, &host(), holder.0.id(), Duration::ZERO);
    let claims = claims_dir(&data);
    fs::rename(
        claims.join(crate::common::sample_name(0)),
        claims.join("statistics"),
    )
    .unwrap();

    let outcome = ws
        .run(&config, "data", &[])
        .env("SHARDGEN_CLAIM_LEASE", "0.5")
        .expect_code(0);
    assert!(
        outcome
            .stderr()
            .contains("warning: statistics not updated: run 20260101T000000Z-"),
        "{}",
        outcome.stderr()
    );
    assert!(!data.join("statistics.yaml").exists());
    drop(holder);
    run(&ws, &config, "data", &[]);
    let statistics = fs::read_to_string(data.join("statistics.yaml")).unwrap();
    assert!(statistics.contains("  complete: 2\n"), "{statistics}");
}
