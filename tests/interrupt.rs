//! Interruption: SIGTERM and SIGINT stop a run cleanly (no block process
//! left, run log `interrupted` with true counts, no claims or staging, exit
//! 143/130, the summary says how to resume) and a rerun completes it
//! byte-identically; a SIGKILL'd run leaves no block process behind either;
//! an interrupted merge leaves only whole samples and says so.

use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{assert_contains, entry_names, sample, samples_digest, tree_digest, Workspace};

/// Processes whose command line holds `marker`.
fn marked(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(marker) {
            found.push(pid);
        }
    }
    found
}

/// Waits (up to a minute) until `ready` holds.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `shardgen ARGS...` in its own process group, stderr captured.
fn start(ws: &Workspace, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_shardgen"))
        .current_dir(ws.dir.path())
        .args(args)
        .env_remove("TERM")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("shardgen starts")
}

/// Sends `signal` to the process (not its group: blocks must be stopped by
/// shardgen), waits for it; its exit code, stderr and stdout.
fn stop(mut child: Child, signal: i32) -> (Option<i32>, String, String) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: signals only, to our own child.
    unsafe { libc::kill(pid, signal) };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code(), stderr, stdout)
}

/// Sends SIGTERM to `child` while it is stopped (SIGSTOP, then SIGCONT), so
/// that the signal lands where the caller saw it, not a few steps later.
fn sigterm_where_it_stands(child: &Child) {
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: signals only, to our own child: stop, interrupt, resume.
    unsafe {
        libc::kill(pid, libc::SIGSTOP);
        libc::kill(pid, libc::SIGTERM);
        libc::kill(pid, libc::SIGCONT);
    }
}

/// The one run log of `data` that has `status: interrupted`.
fn interrupted_log(data: &Path) -> serde_yaml::Value {
    let logs: Vec<serde_yaml::Value> = fs::read_dir(data.join(".shardgen/runs"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".yaml"))
        .map(|e| serde_yaml::from_str(&fs::read_to_string(e.path()).unwrap()).unwrap())
        .filter(|log: &serde_yaml::Value| log["status"] == "interrupted")
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    logs[0].clone()
}

/// Samples of `data` whose every block (`blocks`) is recorded ok.
fn complete_on_disk(data: &Path, total: u64, blocks: &[&str]) -> u64 {
    (0..total)
        .filter(|&id| sample(data, id).join(".shardgen.json").exists())
        .filter(|&id| {
            blocks
                .iter()
                .all(|b| crate::common::block_status(data, id, b).as_deref() == Some("ok"))
        })
        .count() as u64
}

/// Asserts what an interrupted run leaves: no block process, a run log that
/// says interrupted with counts equal to the records, no claim, no staging.
fn assert_clean_stop(data: &Path, marker: &str, total: u64, blocks: &[&str]) {
    assert_eq!(
        marked(marker),
        Vec::<u32>::new(),
        "block processes survived"
    );
    let log = interrupted_log(data);
    let counts = &log["counts"];
    let complete = complete_on_disk(data, total, blocks);
    assert_eq!(counts["completed"].as_u64(), Some(complete), "{log:?}");
    assert_eq!(counts["failed"].as_u64(), Some(0), "{log:?}");
    assert_eq!(counts["stopped"].as_u64(), Some(2), "{log:?}");
    assert!(log["finished"].as_str().is_some(), "{log:?}");
    assert_eq!(
        entry_names(&data.join(".shardgen/claims")),
        Vec::<String>::new()
    );
    assert_eq!(
        entry_names(&data.join(".shardgen/staging")),
        Vec::<String>::new()
    );
}

/// Samples 4 and up hold while `hold` exists, each in a program with a
/// grandchild in the background and one in the foreground.
fn command_config(ws: &Workspace, marker: &str) -> std::path::PathBuf {
    ws.write(
        "p.yaml",
        &format!(
            "seed: 5
samples: 12
blocks:
  - name: a
    type: command
    command: [sh, -c, 'if [ $SHARDGEN_SAMPLE_ID -ge 4 ] && [ -e {{config_dir}}/hold ]; then sleep {marker} & sleep {marker}; fi; echo $SHARDGEN_SEED > a.txt']
    outputs: [a.txt]
  - {{name: b, type: random-bytes, outputs: [b.bin], params: {{size: 32}}}}
"
        ),
    )
}

fn interrupt_command_run(signal: i32, code: i32, name: &str, marker: &str) {
    let ws = Workspace::new();
    let config = command_config(&ws, marker);
    ws.write("hold", "");
    let child = start(
        &ws,
        &[
            "run",
            config.to_str().unwrap(),
            "--out",
            "data",
            "--jobs",
            "2",
            "--json",
        ],
    );
    let data = ws.path("data");
    // Samples 0..4 done, 4 and 5 held: two programs with two sleeps each.
    wait_for("four samples and two held ones", || {
        (0..4).all(|id| sample(&data, id).join("b.bin").exists()) && marked(marker).len() >= 4
    });
    let (exit, stderr, stdout) = stop(child, signal);
    assert_eq!(exit, Some(code), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["interrupted_by"], name, "{report}");
    assert_eq!(
        (&report["completed"], &report["stopped"]),
        (&4.into(), &2.into())
    );
    assert_contains(&stderr, &format!("interrupted by {name} after "));
    assert_contains(&stderr, ": 4 completed, 0 failed, 0 rejected, 2 stopped");
    assert_contains(&stderr, "to resume, rerun the same command");
    assert_contains(
        &stderr,
        &format!("error: interrupted by {name}; rerun the same command to resume"),
    );
    assert_clean_stop(&data, marker, 12, &["a", "b"]);
    assert!(!sample(&data, 4).join("a.txt").exists());

    fs::remove_file(ws.path("hold")).unwrap();
    ws.run_ok(&config, "data", &["--quiet"]);
    ws.run_ok(&config, "reference", &["--quiet"]);
    assert_eq!(samples_digest(&data), samples_digest(&ws.path("reference")));
}

#[test]
fn sigterm_stops_command_blocks_and_their_children_and_a_rerun_completes() {
    interrupt_command_run(libc::SIGTERM, 143, "SIGTERM", "30.4101");
}

#[test]
fn sigint_stops_command_blocks_and_their_children_and_a_rerun_completes() {
    interrupt_command_run(libc::SIGINT, 130, "SIGINT", "30.4102");
}

/// A worker with a child of its own; samples 4 and up hold while `hold` exists.
fn worker_script(marker: &str) -> String {
    format!(
        r#"import json, os, subprocess, sys, time
requests = os.fdopen(3, "r")
replies = os.fdopen(4, "w")
helper = subprocess.Popen(["sleep", "{marker}"])
replies.write(json.dumps({{"ready": True, "protocol": 1}}) + "\n")
replies.flush()
for line in requests:
    request = json.loads(line)
    hold = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hold")
    if request["sample_id"] >= 4 and os.path.exists(hold):
        subprocess.run(["sleep", "{marker}"])
    with open(os.path.join(request["out_dir"], "w.txt"), "w") as out:
        out.write(request["seed"])
    replies.write('{{"ok": true}}\n')
    replies.flush()
"#
    )
}

#[test]
fn sigint_stops_workers_busy_and_idle_and_a_rerun_completes() {
    let marker = "30.4103";
    let ws = Workspace::new();
    ws.write("w.py", &worker_script(marker));
    ws.write("hold", "");
    let config = ws.write(
        "p.yaml",
        r#"seed: 6
samples: 10
blocks:
  - name: w
    type: command
    command: [python3, "{config_dir}/w.py"]
    worker: true
    outputs: [w.txt]
"#,
    );
    let child = start(
        &ws,
        &[
            "run",
            config.to_str().unwrap(),
            "--out",
            "data",
            "--jobs",
            "2",
        ],
    );
    let data = ws.path("data");
    // Two workers (one helper each) and two held samples.
    wait_for("four samples and two held ones", || {
        (0..4).all(|id| sample(&data, id).join("w.txt").exists()) && marked(marker).len() >= 4
    });
    let (exit, stderr, _) = stop(child, libc::SIGINT);
    assert_eq!(exit, Some(130), "{stderr}");
    assert_contains(&stderr, "interrupted by SIGINT after ");
    assert_contains(&stderr, "to resume, rerun the same command");
    assert_clean_stop(&data, marker, 10, &["w"]);

    fs::remove_file(ws.path("hold")).unwrap();
    ws.run_ok(&config, "data", &["--quiet"]);
    ws.run_ok(&config, "reference", &["--quiet"]);
    assert_eq!(samples_digest(&data), samples_digest(&ws.path("reference")));
    wait_for("the workers of the last runs to be gone", || {
        marked(marker).is_empty()
    });
}

/// Nothing of shardgen runs on SIGKILL: the kernel kills each program
/// (parent-death signal) and the guard process kills what is left, escaped
/// grandchildren included (`setsid`); the next run completes.
#[test]
fn a_sigkilled_run_leaves_no_block_process_and_the_next_run_completes() {
    let marker = "30.4104";
    let ws = Workspace::new();
    let config = ws.write(
        "p.yaml",
        &format!(
            "seed: 8
samples: 6
blocks:
  - name: a
    type: command
    command: [sh, -c, 'if [ $SHARDGEN_SAMPLE_ID -ge 2 ] && [ -e {{config_dir}}/hold ]; then setsid sleep {marker} & sleep {marker} & sleep {marker}; fi; echo $SHARDGEN_SEED > a.txt']
    outputs: [a.txt]
"
        ),
    );
    ws.write("hold", "");
    let child = start(
        &ws,
        &[
            "run",
            config.to_str().unwrap(),
            "--out",
            "data",
            "--jobs",
            "2",
        ],
    );
    let data = ws.path("data");
    wait_for("two samples and two held ones", || {
        (0..2).all(|id| sample(&data, id).join("a.txt").exists()) && marked(marker).len() >= 8
    });
    let (exit, _, _) = stop(child, libc::SIGKILL);
    assert_eq!(exit, None, "killed by the signal");
    wait_for("the block processes to die with shardgen", || {
        marked(marker).is_empty()
    });
    fs::remove_file(ws.path("hold")).unwrap();
    ws.run_ok(&config, "data", &["--quiet"]);
    ws.run_ok(&config, "reference", &["--quiet"]);
    assert_eq!(samples_digest(&data), samples_digest(&ws.path("reference")));
    // The next run took the stale claims over and removed the dead staging.
    assert_eq!(
        entry_names(&data.join(".shardgen/claims")),
        Vec::<String>::new()
    );
    assert_eq!(
        entry_names(&data.join(".shardgen/staging")),
        Vec::<String>::new()
    );
}

/// A merge stopped by SIGTERM finishes the samples it was writing and
/// starts no other: every sample in DIR is whole, the report says
/// interrupted, and the same merge finishes the job.
#[test]
fn an_interrupted_merge_leaves_whole_samples_and_the_same_merge_finishes() {
    let ws = Workspace::new();
    let config = ws.write(
        "p.yaml",
        "seed: 9\nblocks:\n  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 64}}\n",
    );
    for (shard, start) in [("s0", "0"), ("s1", "600")] {
        ws.run_ok(
            &config,
            shard,
            &["--start-sample", start, "--num-samples", "600", "--quiet"],
        );
    }
    let args = [
        "merge", "s0", "s1", "--into", "merged", "--jobs", "1", "--json",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_shardgen"))
        .current_dir(ws.dir.path())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let merged = ws.path("merged");
    // Once samples appear the handler is installed; stop it mid-way.
    wait_for("the first merged sample", || sample(&merged, 0).exists());
    sigterm_where_it_stands(&child);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    if status.code() == Some(143) {
        assert_eq!(report["interrupted_by"], "SIGTERM", "{stdout}");
        assert_contains(&stderr, "interrupted by SIGTERM: ");
        assert_contains(&stderr, "run the same merge again to finish it");
    } else {
        // It had finished before the signal came.
        assert_eq!(status.code(), Some(0), "{stderr}");
    }
    // Every sample in DIR is whole: equal to its shard's copy.
    let present = report["present"].as_array().unwrap().len();
    assert!(present > 0);
    for id in 0..1200u64 {
        let dir = sample(&merged, id);
        if !dir.exists() {
            continue;
        }
        let shard = if id < 600 { "s0" } else { "s1" };
        assert_eq!(
            tree_digest(&dir, |_| true),
            tree_digest(&sample(&ws.path(shard), id), |_| true),
            "sample {id}"
        );
    }
    assert_eq!(
        entry_names(&merged.join(".shardgen/merge")),
        Vec::<String>::new()
    );
    ws.shardgen()
        .args(["merge", "s0", "s1", "--into", "merged", "--quiet"])
        .expect_code(0);
    ws.shardgen()
        .args(["merge", "s0", "s1", "--into", "reference", "--quiet"])
        .expect_code(0);
    assert_eq!(
        samples_digest(&merged),
        samples_digest(&ws.path("reference"))
    );
}

/// `--max-failures` stops the running samples as SIGTERM does: the program
/// still running is killed with its children and its sample left as it was.
#[test]
fn max_failures_stops_the_running_samples_as_sigterm_does() {
    let marker = "30.4105";
    let ws = Workspace::new();
    let config = ws.write(
        "p.yaml",
        &format!(
            "seed: 3
samples: 8
blocks:
  - name: a
    type: command
    command: [sh, -c, 'if [ $SHARDGEN_SAMPLE_ID = 0 ]; then sleep 0.5; echo broken >&2; exit 3; fi; sleep {marker} & sleep {marker}; touch a.txt']
    outputs: [a.txt]
"
        ),
    );
    let outcome = ws
        .run(&config, "data", &["--jobs", "2", "--max-failures", "1"])
        .expect_code(1);
    assert_contains(&outcome.stderr(), "(--max-failures 1)");
    assert_eq!(
        marked(marker),
        Vec::<u32>::new(),
        "block processes survived"
    );
    let data = ws.path("data");
    assert_eq!(
        crate::common::block_status(&data, 0, "a").as_deref(),
        Some("failed")
    );
    assert_eq!(complete_on_disk(&data, 8, &["a"]), 0);
    assert_eq!(
        entry_names(&data.join(".shardgen/claims")),
        Vec::<String>::new()
    );
    assert_eq!(
        entry_names(&data.join(".shardgen/staging")),
        Vec::<String>::new()
    );
}

#[test]
fn a_signal_during_the_statistics_pass_stops_it_and_leaves_the_last_files() {
    let ws = Workspace::new();
    let config = ws.write(
        "p.yaml",
        "seed: 9\nblocks:\n  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 8}}\n",
    );
    // Enough samples for a pass that reads every record to last a while.
    ws.run_ok(&config, "data", &["--num-samples", "20000", "--quiet"]);
    let data = ws.path("data");
    let before = fs::read(data.join("statistics.yaml")).unwrap();
    fs::remove_dir_all(sample(&data, 7)).unwrap();
    let mut child = start(
        &ws,
        &["run", "p.yaml", "--out", "data", "--statistics-only"],
    );
    // The row spool exists while the pass aggregates: stop the process there.
    let in_pass = || {
        entry_names(&data)
            .iter()
            .any(|n| n.starts_with(".statistics.csv.rows.tmp"))
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !in_pass() {
        assert!(Instant::now() < deadline, "the pass never started");
        assert!(child.try_wait().unwrap().is_none(), "the pass ended first");
        std::thread::sleep(Duration::from_micros(200));
    }
    sigterm_where_it_stands(&child);
    let (code, stderr, _) = stop(child, 0);
    assert_eq!(code, Some(143), "{stderr}");
    assert_contains(
        &stderr,
        "interrupted by SIGTERM; the statistics were not written; rerun the same command",
    );
    // The last files stand, nothing half-written is left.
    assert_eq!(fs::read(data.join("statistics.yaml")).unwrap(), before);
    let temps: Vec<String> = entry_names(&data)
        .into_iter()
        .filter(|n| n.starts_with('.') && n != ".shardgen")
        .collect();
    assert!(temps.is_empty(), "{temps:?}");
    // The stamp is gone, so no later run takes the old files for current;
    // the same command then writes them, from the samples left.
    assert!(!data.join(".shardgen/statistics.stamp").exists());
    ws.run_ok(&config, "data", &["--statistics-only", "--quiet"]);
    let yaml = fs::read_to_string(data.join("statistics.yaml")).unwrap();
    assert!(yaml.contains("seen: 19999"), "{yaml}");
}
