//! Worker mode of `command` blocks: the protocol on fds 3/4, what each kind
//! of broken worker does to a run, recycling, shutdown, and that outputs do
//! not depend on how samples were spread over workers.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use shardgen::BlockSeed;

use crate::common::{
    assert_contains, block_reason, block_status, kill_group, record, sample, sample_path,
    samples_digest, Workspace,
};

/// The folder holding `shardgen/worker.py`.
fn helper_path() -> String {
    format!("{}/python", env!("CARGO_MANIFEST_DIR"))
}

/// A worker written with the helper: it writes the sample's seed and a value
/// of `sample.rng`, logs its pid into `$PIDS`, rejects sample 3 and fails on
/// sample 4 (an exception), and notes a clean exit (fd 3 closed) in `$BYES`.
const HELPER_WORKER: &str = r#"import atexit, os
from shardgen import worker

def bye():
    if os.environ.get("SHARDGEN_WORKER") == "1" and os.environ.get("BYES"):
        with open(os.environ["BYES"], "a") as f:
            f.write("%d\n" % os.getpid())

atexit.register(bye)

@worker.block
def make(sample):
    with open(os.environ["PIDS"], "a") as f:
        f.write("%d %d\n" % (os.getpid(), sample.id))
    print("working on", sample.id)
    with open("value.txt", "w") as f:  # relative: the working folder is out_dir
        f.write("%d %d %r %s\n" % (sample.id, sample.seed, sample.rng.random(), sample.params))
    sample.stat("draw", sample.rng.randint(0, 100))
    if sample.id == 3:
        raise worker.Reject("three is unlucky")
    if sample.id == 4:
        raise ValueError("four\nis broken")
"#;

fn helper_config(worker: &str) -> String {
    format!(
        r#"seed: 5
samples: 10
blocks:
  - {{name: a, type: random-bytes, outputs: [a.bin], params: {{size: 32}}}}
  - name: make
    type: command
    command: [python3, "{{config_dir}}/make.py"]
    params: {{size: 3}}
{worker}    outputs: [value.txt]
    timeout: 30
"#
    )
}

/// Runs the helper worker pipeline in `out` with `worker:` set to `worker`
/// (empty: one-shot); returns the pids that served samples.
fn run_helper(ws: &Workspace, worker: &str, out: &str, args: &[&str]) -> Vec<u32> {
    let config = ws.write(&format!("{out}.yaml"), &helper_config(worker));
    ws.write("make.py", HELPER_WORKER);
    let pids = ws.path(&format!("{out}.pids"));
    let outcome = ws
        .run(&config, out, args)
        .env("PYTHONPATH", &helper_path())
        .env("PIDS", pids.to_str().unwrap())
        .env("BYES", ws.path(&format!("{out}.byes")).to_str().unwrap())
        .output();
    let served: Vec<(u32, u64)> = fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .map(|l| {
            let (pid, sample) = l.split_once(' ').unwrap();
            (pid.parse().unwrap(), sample.parse().unwrap())
        })
        .collect();
    // Sample 4 fails: then, and only then, the run exits 3.
    let failed = served.iter().any(|&(_, sample)| sample == 4);
    assert_eq!(
        outcome.output.status.code(),
        Some(if failed { 3 } else { 0 }),
        "{}",
        outcome.stderr()
    );
    served.into_iter().map(|(pid, _)| pid).collect()
}

fn distinct(pids: &[u32]) -> usize {
    pids.iter().collect::<BTreeSet<_>>().len()
}

fn alive(pid: u32) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"));
    stat.is_ok_and(|s| !s.contains(") Z "))
}

#[test]
fn outputs_do_not_depend_on_workers_recycling_or_jobs() {
    let ws = Workspace::new();
    let one_shot = run_helper(&ws, "", "oneshot", &["--jobs", "2"]);
    assert_eq!(distinct(&one_shot), 10, "one process per sample");
    let long = run_helper(&ws, "    worker: true\n", "long", &["--jobs", "1"]);
    assert_eq!(
        distinct(&long),
        1,
        "one worker served every sample: {long:?}"
    );
    let recycled = run_helper(
        &ws,
        "    worker: {recycle_after: 1}\n",
        "recycled",
        &["--jobs", "1"],
    );
    assert_eq!(distinct(&recycled), 10, "a new worker per sample");
    let two = run_helper(&ws, "    worker: true\n", "two", &["--jobs", "2"]);
    assert!(distinct(&two) <= 2, "one worker per job slot: {two:?}");

    let reference = samples_digest(&ws.path("long"));
    assert_eq!(reference.len(), 10 * 2 + 8, "records + a.bin + 8 value.txt");
    for out in ["recycled", "two"] {
        assert_eq!(samples_digest(&ws.path(out)), reference, "{out} differs");
    }
    // Two shards made by workers with other recycling, merged.
    run_helper(
        &ws,
        "    worker: {recycle_after: 2}\n",
        "s0",
        &["--shard", "0/2"],
    );
    run_helper(
        &ws,
        "    worker: true\n",
        "s1",
        &["--shard", "1/2", "--jobs", "2"],
    );
    ws.shardgen()
        .args(["merge", "s0", "s1", "--into", "merged", "--quiet"])
        .expect_code(0);
    assert_eq!(
        samples_digest(&ws.path("merged")),
        reference,
        "merged shards differ"
    );
    // One-shot: the same bytes, but for the failure reason of sample 4
    // (there it carries the exit code and the tail of stderr).
    let failed = format!("{}/.shardgen.json", sample_path(4));
    let mut one_shot_digest = samples_digest(&ws.path("oneshot"));
    assert_ne!(one_shot_digest.remove(&failed), None);
    let mut worker_digest = reference.clone();
    worker_digest.remove(&failed);
    assert_eq!(one_shot_digest, worker_digest);
    // Each worker got fd 3 closed at the end and exited by itself.
    let byes = fs::read_to_string(ws.path("long.byes")).unwrap();
    assert_eq!(byes.trim(), long[0].to_string());
    assert!(long.iter().chain(&recycled).all(|&pid| !alive(pid)));

    let data = ws.path("long");
    let seed = BlockSeed::derive(5, "make", 7).value();
    let value = fs::read_to_string(sample(&data, 7).join("value.txt")).unwrap();
    assert!(
        value.starts_with(&format!("7 {seed} ")) && value.ends_with(" {'size': 3}\n"),
        "{value}"
    );
    assert_eq!(block_status(&data, 3, "make").unwrap(), "rejected");
    assert_eq!(block_reason(&data, 3, "make").unwrap(), "three is unlucky");
    assert_eq!(block_status(&data, 4, "make").unwrap(), "failed");
    assert_eq!(
        block_reason(&data, 4, "make").unwrap(),
        "ValueError: four is broken"
    );
    // Statistics of rejected and failed samples are kept in their records.
    let stats = &record(&data, 3)["blocks"][1]["stats"];
    assert!(stats["draw"].is_number(), "{stats}");
    // ... and counted apart in statistics.yaml.
    let summary: serde_yaml::Value =
        serde_yaml::from_str(&fs::read_to_string(data.join("statistics.yaml")).unwrap()).unwrap();
    assert_eq!(summary["rejected_numbers"]["make.draw"]["count"], 1);
    assert_eq!(summary["numbers"]["make.draw"]["count"], 8);
}

/// A worker that speaks the protocol by hand; `on_sample` is Python run
/// with `k` (the sample id) and `r` (the request) before the reply.
fn raw_worker(before_ready: &str, on_sample: &str) -> String {
    format!(
        r#"import json, os, sys, time
with open(os.environ["STARTS"], "a") as f:
    f.write("%d\n" % os.getpid())
{before_ready}
requests = os.fdopen(3)
replies = os.fdopen(4, "w")
def send(message):
    replies.write(json.dumps(message) + "\n")
    replies.flush()
send({{"ready": True, "protocol": 1}})
for line in requests:
    r = json.loads(line)
    k = r["sample_id"]
    assert os.path.isdir(r["scratch_dir"]) and "SHARDGEN_SEED" not in os.environ
{on_sample}
    with open(os.path.join(r["out_dir"], "out.txt"), "w") as f:
        f.write(r["seed"])
    send({{"ok": True, "stats": {{"k": k}}}})
"#
    )
}

struct RawRun {
    ws: Workspace,
    outcome: crate::common::Outcome,
    /// Pids of the workers started, in order.
    starts: Vec<u32>,
}

/// Runs `script` as the worker over `samples` samples, some of which fail
/// (the run exits 3).
fn run_raw(script: &str, worker: &str, timeout: &str, samples: u64) -> RawRun {
    run_raw_expecting(script, worker, timeout, samples, 3)
}

fn run_raw_expecting(script: &str, worker: &str, timeout: &str, samples: u64, code: i32) -> RawRun {
    let ws = Workspace::new();
    ws.write("w.py", script);
    let config = ws.write(
        "p.yaml",
        &format!(
            r#"seed: 2
blocks:
  - name: w
    type: command
    command: [python3, "{{config_dir}}/w.py"]
    worker: {worker}
    outputs: [out.txt]
    timeout: {timeout}
"#
        ),
    );
    let starts = ws.path("starts.txt");
    let outcome = ws
        .run(
            &config,
            "data",
            &["--num-samples", &samples.to_string(), "--jobs", "1"],
        )
        .env("STARTS", starts.to_str().unwrap())
        .expect_code(code);
    let starts = fs::read_to_string(&starts)
        .unwrap_or_default()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    RawRun {
        ws,
        outcome,
        starts,
    }
}

impl RawRun {
    fn reason(&self, id: u64) -> Option<String> {
        block_reason(&self.ws.path("data"), id, "w")
    }

    fn status(&self, id: u64) -> Option<String> {
        block_status(&self.ws.path("data"), id, "w")
    }
}

#[test]
fn a_crash_fails_that_sample_and_a_new_worker_takes_the_next() {
    let run = run_raw(
        &raw_worker(
            "",
            "    if k == 2:\n        import subprocess\n        \
             stray = subprocess.Popen(['sleep', '600'])\n        \
             open(os.environ['STARTS'] + '.stray', 'w').write(str(stray.pid))\n        \
             print('dying now', file=sys.stderr, flush=True)\n        os._exit(3)",
        ),
        "true",
        "30",
        5,
    );
    assert_eq!(
        run.reason(2).unwrap(),
        "worker exited with code 3 on sample 2: dying now"
    );
    for id in [0, 1, 3, 4] {
        assert_eq!(run.status(id).unwrap(), "ok", "sample {id}");
    }
    assert_eq!(run.starts.len(), 2, "{:?}", run.starts);
    assert_contains(&run.outcome.stderr(), "1 failed");
    let stray: u32 = fs::read_to_string(run.ws.path("starts.txt.stray"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(!alive(stray), "the crashed worker's child {stray} survived");
}

#[test]
fn a_timeout_kills_the_worker_and_the_next_sample_gets_a_new_one() {
    let started = Instant::now();
    let run = run_raw(
        &raw_worker(
            "",
            "    if k == 1:\n        print('stuck', flush=True)\n        time.sleep(600)",
        ),
        "true",
        "2.5",
        3,
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(run.reason(1).unwrap(), "timed out after 2.5 s: stuck");
    assert_eq!(run.status(0).unwrap(), "ok");
    assert_eq!(run.status(2).unwrap(), "ok");
    assert_eq!(run.starts.len(), 2);
    assert!(!alive(run.starts[0]), "the timed-out worker survived");
}

#[test]
fn garbage_on_fd_4_is_a_protocol_error_of_that_sample() {
    let run = run_raw(
        &raw_worker(
            "",
            "    if k == 1:\n        replies.write('hello there\\n'); replies.flush(); time.sleep(600)",
        ),
        "true",
        "30",
        3,
    );
    assert_eq!(
        run.reason(1).unwrap(),
        "worker broke the protocol on sample 1: expected a JSON object with \"ok\", got \
         'hello there'"
    );
    assert_eq!(run.status(2).unwrap(), "ok");
    assert_eq!(run.starts.len(), 2);
    assert!(!alive(run.starts[0]));
}

#[test]
fn ok_false_fails_the_sample_and_the_worker_goes_on() {
    let run = run_raw(
        &raw_worker(
            "",
            "    if k == 1:\n        send({'ok': False, 'reason': 'no luck'}); continue\n    \
             if k == 2:\n        send({'ok': False, 'rejected': True, 'reason': 'ugly', \
             'stats': {'ugliness': 9}}); continue",
        ),
        "true",
        "30",
        4,
    );
    assert_eq!(run.reason(1).unwrap(), "no luck");
    assert_eq!(run.status(1).unwrap(), "failed");
    assert_eq!(run.status(2).unwrap(), "rejected");
    assert_eq!(run.reason(2).unwrap(), "ugly");
    let stats = &record(&run.ws.path("data"), 2)["blocks"][0]["stats"];
    assert_eq!(stats["ugliness"], 9.0);
    assert_eq!(run.status(3).unwrap(), "ok");
    assert_eq!(run.starts.len(), 1);
}

#[test]
fn a_worker_that_never_becomes_ready_is_given_up_after_three_starts() {
    let run = run_raw(
        &raw_worker("print('no config here', flush=True)\nsys.exit(7)", ""),
        "true",
        "30",
        6,
    );
    for id in 0..6 {
        assert_eq!(
            run.reason(id).unwrap(),
            "worker did not become ready: exited with code 7: no config here",
            "sample {id}"
        );
    }
    assert_eq!(run.starts.len(), 3, "restarted forever");
    assert_contains(
        &run.outcome.stderr(),
        "w: 6 x worker did not become ready: exited with code 7",
    );

    let silent = run_raw(&raw_worker("time.sleep(600)", ""), "true", "0.5", 1);
    assert_eq!(
        silent.reason(0).unwrap(),
        "worker did not become ready: no ready line within 0.5 s"
    );
    assert!(!alive(silent.starts[0]));
}

#[test]
fn max_memory_mb_recycles_a_growing_worker_between_samples() {
    let script = raw_worker(
        "hoard = []",
        "    hoard.append(bytearray(40 << 20))\n    hoard[-1][::4096] = b'x' * len(hoard[-1][::4096])",
    );
    let run = run_raw_expecting(&script, "{max_memory_mb: 60}", "30", 6, 0);
    for id in 0..6 {
        assert_eq!(run.status(id).unwrap(), "ok", "sample {id}");
    }
    // ~10 MiB of Python + 40 MiB per sample: over 60 MiB after the 2nd sample.
    assert_eq!(run.starts.len(), 3, "{:?}", run.starts);
    let plain = run_raw_expecting(&script, "true", "30", 6, 0);
    assert_eq!(plain.starts.len(), 1);
    assert_eq!(
        samples_digest(&run.ws.path("data")),
        samples_digest(&plain.ws.path("data"))
    );
}

#[test]
fn workers_die_with_shardgen() {
    let ws = Workspace::new();
    ws.write("w.py", &raw_worker("", "    time.sleep(600)"));
    let config = ws.write(
        "p.yaml",
        r#"seed: 2
blocks:
  - name: w
    type: command
    command: [python3, "{config_dir}/w.py"]
    worker: true
    outputs: [out.txt]
"#,
    );
    let starts = ws.path("starts.txt");
    let mut child = {
        use std::os::unix::process::CommandExt;
        std::process::Command::new(env!("CARGO_BIN_EXE_shardgen"))
            .current_dir(ws.dir.path())
            .args(["run", config.to_str().unwrap(), "--out", "data"])
            .args(["--num-samples", "1", "--quiet"])
            .env("STARTS", &starts)
            .process_group(0)
            .spawn()
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let pid: u32 = loop {
        if let Some(pid) = fs::read_to_string(&starts)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "the worker never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(200));
    kill_group(&mut child);
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        assert!(Instant::now() < deadline, "worker {pid} outlived shardgen");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn one_shot_programs_reject_through_shardgen_reject() {
    let ws = Workspace::new();
    let config = ws.write(
        "p.yaml",
        r#"seed: 1
blocks:
  - name: check
    type: command
    command: [sh, -c, 'echo "size: 3" > "$SHARDGEN_STATS"; if [ $SHARDGEN_SAMPLE_ID = 1 ]; then printf "too\nsmall\n" > "$SHARDGEN_REJECT"; else echo ok > x.txt; fi']
    outputs: [x.txt]
"#,
    );
    let outcome = ws.run_ok(&config, "data", &["--num-samples", "2"]);
    let data = ws.path("data");
    assert_eq!(block_status(&data, 0, "check").unwrap(), "ok");
    assert_eq!(block_status(&data, 1, "check").unwrap(), "rejected");
    assert_eq!(block_reason(&data, 1, "check").unwrap(), "too small");
    assert_eq!(record(&data, 1)["blocks"][0]["stats"]["size"], 3.0);
    assert!(!sample(&data, 1).join("x.txt").exists());
    assert_contains(&outcome.stderr(), "check: 1 x rejected: too small [1]");
}

#[test]
fn bad_worker_settings_are_config_errors_that_change_nothing() {
    let ws = Workspace::new();
    let base = r#"seed: 1
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin]}
  - name: w
    type: command
    command: [python3, "{config_dir}/w.py", ARG]
    worker: WORKER
    outputs: [out.txt]
"#;
    let cases = [
        (
            "x",
            "{recycle_after: 0}",
            "p.yaml:7: block 'w': worker.recycle_after is 0; it must be a positive integer",
        ),
        (
            "x",
            "{max_memory_mb: 1.5}",
            "p.yaml:7: block 'w': worker.max_memory_mb is 1.5; it must be a positive integer",
        ),
        (
            "x",
            "{recycle: 3}",
            "p.yaml:7: block 'w': unknown key 'recycle' under `worker`; known: \
             recycle_after, max_memory_mb",
        ),
        (
            "x",
            "maybe",
            "p.yaml:7: block 'w': `worker` must be true, false or a mapping",
        ),
        (
            "\"--seed={seed}\"",
            "true",
            "p.yaml:6: block 'w': placeholder {seed} in the command of a worker",
        ),
        (
            "\"{sample_dir}/x\"",
            "true",
            "p.yaml:6: block 'w': placeholder {sample_dir} in the command of a worker",
        ),
    ];
    for (arg, worker, expected) in cases {
        let config = ws.write(
            "p.yaml",
            &base.replace("ARG", arg).replace("WORKER", worker),
        );
        let outcome = ws
            .run(&config, "data", &["--num-samples", "1"])
            .expect_code(2);
        assert_contains(&outcome.stderr(), &format!("/{expected}"));
        assert!(
            !ws.path("data").exists(),
            "{worker}: the dataset was created"
        );
    }
    let config = ws.write(
        "p.yaml",
        "seed: 1\nblocks:\n  - {name: a, type: random-bytes, outputs: [a.bin], worker: true}\n",
    );
    let outcome = ws
        .run(&config, "data", &["--num-samples", "1"])
        .expect_code(2);
    assert_contains(
        &outcome.stderr(),
        "block 'a': key 'worker' does not apply to blocks of type 'random-bytes'",
    );
}

/// The shipped example runs in worker mode and matches its one-shot variant.
#[test]
fn the_python_example_gives_the_same_bytes_in_both_modes() {
    let ws = Workspace::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (config, out) in [
        ("configs/python-example.yaml", "worker"),
        ("configs/python-example-oneshot.yaml", "oneshot"),
    ] {
        ws.run_ok(&root.join(config), out, &["--num-samples", "6", "--quiet"]);
    }
    let worker = samples_digest(&ws.path("worker"));
    assert_eq!(worker.len(), 6 * 5, "4 files and a record per sample");
    assert_eq!(worker, samples_digest(&ws.path("oneshot")));
}
