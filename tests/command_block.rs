//! The `command` block: what a program is given, how it fails, how it is
//! stopped, and what of its files is published.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use shardgen::BlockSeed;

use crate::common::{block_reason, block_status, record, sample, Workspace};

fn run_ok(ws: &Workspace, config: &Path, extra: &[&str]) -> crate::common::Outcome {
    ws.run_ok(config, "data", extra)
}

#[test]
fn the_program_gets_its_environment_and_placeholders() {
    let ws = Workspace::new();
    let config = ws.write(
        "cfg/p.yaml",
        r#"seed: 99
blocks:
  - name: env
    type: command
    command: [sh, -c, 'env | grep ^SHARDGEN_ | sort > env.txt; pwd > cwd.txt; echo "$0 $1 $2" > args.txt; printf "objects: 3\nkind: box\n" > "$SHARDGEN_STATS"', '{sample_id}', '{seed}', '{config_dir}']
    outputs: [env.txt, cwd.txt, args.txt]
    params: {objects: 5, name: x}
"#,
    );
    run_ok(
        &ws,
        &config,
        &["--start-sample", "41", "--num-samples", "1"],
    );
    let dir = sample(&ws.path("data"), 41);
    let env = fs::read_to_string(dir.join("env.txt")).unwrap();
    let seed = BlockSeed::derive(99, "env", 41).value();
    let absolute = fs::canonicalize(ws.path("data")).unwrap();
    for expected in [
        "SHARDGEN_SAMPLE_ID=41".to_owned(),
        format!("SHARDGEN_SEED={seed}"),
        "SHARDGEN_BLOCK=env".to_owned(),
        r#"SHARDGEN_PARAMS={"name":"x","objects":5}"#.to_owned(),
        format!(
            "SHARDGEN_SAMPLE_DIR={}",
            crate::common::sample(&absolute, 41).display()
        ),
        format!(
            "SHARDGEN_OUT_DIR={}",
            absolute.join(".shardgen/staging").display()
        ),
    ] {
        assert!(env.contains(&expected), "{expected} missing in\n{env}");
    }
    let cwd = fs::read_to_string(dir.join("cwd.txt")).unwrap();
    assert!(
        env.contains(&format!("SHARDGEN_OUT_DIR={}", cwd.trim())),
        "cwd is the out dir"
    );
    let config_dir = fs::canonicalize(ws.path("cfg")).unwrap();
    assert_eq!(
        fs::read_to_string(dir.join("args.txt")).unwrap().trim(),
        format!("41 {seed} {}", config_dir.display())
    );
    let stats = &record(&ws.path("data"), 41)["blocks"][0]["stats"];
    assert_eq!(stats["objects"], 3.0);
    assert_eq!(stats["kind"], "box");
}

#[test]
fn a_timeout_kills_the_program_and_its_children() {
    let ws = Workspace::new();
    let config = ws.write(
        "p.yaml",
        r#"seed: 1
blocks:
  - name: slow
    type: command
    command: [sh, -c, 'sleep 60 & echo $! > {config_dir}/child.pid; echo working >&2; wait']
    outputs: [never.txt]
    timeout: 0.5
"#,
    );
    let started = Instant::now();
    let outcome = ws.run_failing(&config, "data", &["--num-samples", "1"]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the timeout did not stop it"
    );
    let reason = block_reason(&ws.path("data"), 0, "slow").unwrap();
    assert_eq!(reason, "timed out after 0.5 s: working");
    assert!(
        outcome.stderr().contains("slow: 1 x timed out after 0.5 s"),
        "{}",
        outcome.stderr()
    );
    let pid: i32 = fs::read_to_string(ws.path("child.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    // SAFETY: signal 0 only probes the pid.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    assert!(
        !alive || is_zombie(pid),
        "the program's child {pid} survived the timeout"
    );
}

fn is_zombie(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

#[test]
fn failures_name_exit_code_and_stderr_tail_or_the_missing_output() {
    let ws = Workspace::new();
    let config = ws.write(
        "p.yaml",
        r#"seed: 1
blocks:
  - name: lazy
    type: command
    command: [sh, -c, 'if [ $SHARDGEN_SAMPLE_ID = 0 ]; then echo one; echo two >&2; exit 4; fi; touch other.txt']
    outputs: [needed.txt]
  - name: never
    type: command
    command: [sh, -c, 'touch x']
    outputs: [x]
"#,
    );
    ws.run_failing(&config, "data", &["--num-samples", "2"]);
    let data = ws.path("data");
    assert_eq!(
        block_reason(&data, 0, "lazy").unwrap(),
        "exit code 4: one | two"
    );
    assert_eq!(
        block_reason(&data, 1, "lazy").unwrap(),
        "missing required output 'needed.txt'"
    );
    assert!(!sample(&data, 1).join("other.txt").exists());
    assert_eq!(
        block_status(&data, 1, "never"),
        None,
        "a block after a failure ran"
    );
}

#[test]
fn only_declared_files_are_published_and_globs_work() {
    let ws = Workspace::new();
    let config = ws.write(
        "p.yaml",
        r#"seed: 1
blocks:
  - name: many
    type: command
    command: [sh, -c, 'mkdir -p debug; echo a > debug/a.png; echo b > debug/b.png; echo s > scene.json; echo junk > junk.tmp; [ $SHARDGEN_SAMPLE_ID = 1 ] && echo o > opt.txt; true']
    outputs: [scene.json, "debug/*.png"]
    optional_outputs: [opt.txt]
"#,
    );
    run_ok(&ws, &config, &["--num-samples", "2"]);
    let names = |id: u64| {
        let mut all = Vec::new();
        for entry in walk(&sample(&ws.path("data"), id)) {
            all.push(entry);
        }
        all.sort();
        all
    };
    assert_eq!(
        names(0),
        [".shardgen.json", "debug/a.png", "debug/b.png", "scene.json"]
    );
    assert_eq!(
        names(1),
        [
            ".shardgen.json",
            "debug/a.png",
            "debug/b.png",
            "opt.txt",
            "scene.json"
        ]
    );
    let rerun = run_ok(&ws, &config, &["--num-samples", "2"]);
    assert!(
        rerun.stderr().contains("nothing to run"),
        "{}",
        rerun.stderr()
    );
}

fn walk(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().unwrap().is_dir() {
            files.extend(
                walk(&entry.path())
                    .into_iter()
                    .map(|f| format!("{name}/{f}")),
            );
        } else {
            files.push(name);
        }
    }
    files
}

#[test]
fn a_block_without_outputs_runs_every_time_and_reruns_nothing_else() {
    let ws = Workspace::new();
    let config = ws.write(
        "p.yaml",
        r#"seed: 1
samples: 3
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin]}
  - name: check
    type: command
    command: [sh, -c, 'echo $SHARDGEN_SAMPLE_ID >> {config_dir}/checked.txt']
  - {name: b, type: random-bytes, outputs: [b.bin]}
"#,
    );
    run_ok(&ws, &config, &[]);
    let b = sample(&ws.path("data"), 1).join("b.bin");
    let mtime = fs::metadata(&b).unwrap().modified().unwrap();
    let outcome = run_ok(&ws, &config, &[]);
    assert!(
        outcome
            .stderr()
            .contains("check: 3 to run: no outputs, runs every time 3 [0..3]"),
        "{}",
        outcome.stderr()
    );
    let mut checked: Vec<String> = fs::read_to_string(ws.path("checked.txt"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    checked.sort();
    assert_eq!(checked, ["0", "0", "1", "1", "2", "2"]);
    assert_eq!(
        mtime,
        fs::metadata(&b).unwrap().modified().unwrap(),
        "b reran"
    );
}
