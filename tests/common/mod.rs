//! The harness: a temp workspace, a builder for `shardgen` commands, and
//! tree digests for byte-identity checks.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

/// A temp folder with a config in it.
pub(crate) struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub(crate) fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file (e.g. a config or a script) and returns its path.
    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    /// `shardgen run CONFIG --out OUT ARGS...`, to be finished with
    /// `expect_code`.
    pub(crate) fn run(&self, config: &Path, out: &str, args: &[&str]) -> Shardgen {
        self.shardgen()
            .args([
                "run".as_ref(),
                config.as_os_str(),
                "--out".as_ref(),
                out.as_ref(),
            ])
            .args(args)
    }

    /// `shardgen run CONFIG --out OUT ARGS...`, which must exit 0.
    #[track_caller]
    pub(crate) fn run_ok(&self, config: &Path, out: &str, args: &[&str]) -> Outcome {
        self.run(config, out, args).expect_code(0)
    }

    /// `shardgen run CONFIG --out OUT ARGS...` in which samples fail: it
    /// goes through and exits 3.
    #[track_caller]
    pub(crate) fn run_failing(&self, config: &Path, out: &str, args: &[&str]) -> Outcome {
        self.run(config, out, args).expect_code(3)
    }

    /// Starts `shardgen ARGS...` in its own process group, for [`kill_group`].
    pub(crate) fn spawn_in_group(&self, args: &[&std::ffi::OsStr]) -> std::process::Child {
        use std::os::unix::process::CommandExt;
        Command::new(env!("CARGO_BIN_EXE_shardgen"))
            .current_dir(self.dir.path())
            .args(args)
            .process_group(0)
            .spawn()
            .expect("shardgen starts")
    }

    /// A `shardgen` command running in this workspace.
    pub(crate) fn shardgen(&self) -> Shardgen {
        let mut command = Command::new(env!("CARGO_BIN_EXE_shardgen"));
        command.current_dir(self.dir.path()).env_remove("TERM");
        Shardgen { command }
    }
}

/// The names in folder `dir`, sorted; none if it does not exist.
pub(crate) fn entry_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Runs a command line exactly as shardgen printed it, through `sh -c`, in
/// the workspace, with the binary under test first on `PATH`; it must exit 0.
pub(crate) fn run_printed_command(ws: &Workspace, line: &str) {
    let bin = Path::new(env!("CARGO_BIN_EXE_shardgen")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let status = Command::new("sh")
        .args(["-c", line])
        .current_dir(ws.path("."))
        .env("PATH", path)
        .env_remove("TERM")
        .output()
        .expect("sh starts");
    assert!(
        status.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[must_use]
pub(crate) struct Shardgen {
    pub command: Command,
}

impl Shardgen {
    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    pub(crate) fn env(mut self, name: &str, value: &str) -> Self {
        self.command.env(name, value);
        self
    }

    pub(crate) fn output(mut self) -> Outcome {
        let output = self.command.output().expect("shardgen runs");
        Outcome { output }
    }

    /// Runs and asserts the exit code; returns the outcome.
    #[track_caller]
    pub(crate) fn expect_code(self, code: i32) -> Outcome {
        let outcome = self.output();
        assert_eq!(
            outcome.output.status.code(),
            Some(code),
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            outcome.stdout(),
            outcome.stderr()
        );
        outcome
    }
}

pub(crate) struct Outcome {
    pub output: Output,
}

impl Outcome {
    pub(crate) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
}

/// Kills a child started by [`Workspace::spawn_in_group`] and its children
/// with SIGKILL, and reaps it.
pub(crate) fn kill_group(child: &mut std::process::Child) {
    let group = libc::pid_t::try_from(child.id()).expect("pid fits");
    // SAFETY: the child leads its own process group; signals only.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    child.wait().expect("child reaped");
}

/// The short host name, as shardgen names runs.
pub(crate) fn host() -> String {
    let output = Command::new("hostname").output().unwrap();
    let name = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    name.split('.').next().unwrap().to_owned()
}

/// Asserts that `text` contains `needle`, showing `text` otherwise.
#[track_caller]
pub(crate) fn assert_contains(text: &str, needle: &str) {
    assert!(text.contains(needle), "{needle:?} not found in:\n{text}");
}

/// Every file and folder below `root`: (relative path, metadata), sorted.
fn walk(root: &Path) -> Vec<(String, fs::Metadata)> {
    let mut items = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                pending.push(path.clone());
            }
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            items.push((relative, meta));
        }
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items
}

/// SHA-256 of every file below `root`, by relative path. `filter` decides
/// which relative paths count.
pub(crate) fn tree_digest(root: &Path, filter: impl Fn(&str) -> bool) -> BTreeMap<String, String> {
    walk(root)
        .into_iter()
        .filter(|(relative, meta)| meta.is_file() && filter(relative))
        .map(|(relative, _)| {
            let digest = Sha256::digest(fs::read(root.join(&relative)).unwrap());
            (relative, format!("{digest:x}"))
        })
        .collect()
}

/// The digest of everything in the sample folders (outputs and records).
pub(crate) fn samples_digest(root: &Path) -> BTreeMap<String, String> {
    tree_digest(root, |p| {
        p.as_bytes().first().is_some_and(u8::is_ascii_digit)
    })
}

/// Every file and folder below `root` with its size and modification time:
/// "untouched" must also hold for files rewritten with equal bytes.
pub(crate) fn listing(root: &Path) -> Vec<(String, u64, u128)> {
    walk(root)
        .into_iter()
        .map(|(relative, meta)| {
            let mtime = meta
                .modified()
                .unwrap()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            (relative, meta.len(), mtime)
        })
        .collect()
}

/// Parses a sample's record.
pub(crate) fn record(root: &Path, id: u64) -> serde_json::Value {
    let path = sample(root, id).join(".shardgen.json");
    serde_json::from_slice(&fs::read(&path).unwrap()).unwrap()
}

/// The entry of block `name` in a sample's record, if present.
fn block_entry(root: &Path, id: u64, name: &str) -> Option<serde_json::Value> {
    let record = record(root, id);
    record["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == name)
        .cloned()
}

/// The status of block `name` in a sample's record, if present.
pub(crate) fn block_status(root: &Path, id: u64, name: &str) -> Option<String> {
    block_entry(root, id, name).map(|b| b["status"].as_str().unwrap().to_owned())
}

/// The reason recorded for block `name` of a sample, if any.
pub(crate) fn block_reason(root: &Path, id: u64, name: &str) -> Option<String> {
    block_entry(root, id, name).and_then(|b| b["reason"].as_str().map(str::to_owned))
}

/// Sets the digest that the record beside `path` holds for it to that of
/// `bytes`: the record then vouches for a file the block made that way.
pub(crate) fn rerecord_digest(path: &Path, bytes: &[u8]) {
    let dir = path.parent().unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    let record_path = dir.join(".shardgen.json");
    let mut record: serde_json::Value =
        serde_json::from_slice(&fs::read(&record_path).unwrap()).unwrap();
    let digest = format!("xxh3-128:{:032x}", xxhash_rust::xxh3::xxh3_128(bytes));
    for block in record["blocks"].as_array_mut().unwrap() {
        for output in block["outputs"].as_array_mut().into_iter().flatten() {
            if output["path"] == name {
                output["digest"] = digest.clone().into();
                output["size"] = bytes.len().into();
            }
        }
    }
    fs::write(&record_path, serde_json::to_vec(&record).unwrap()).unwrap();
}

/// The folder of sample `id` in the dataset `root`: `root/<bucket>/<sample>`
/// (the one place tests know the layout).
pub(crate) fn sample(root: &Path, id: u64) -> PathBuf {
    root.join(sample_path(id))
}

/// The path of sample `id`'s folder relative to its dataset, e.g.
/// `000000/0000000042` (for `Workspace::path("data/...")` and digests).
pub(crate) fn sample_path(id: u64) -> String {
    format!("{:06}/{id:010}", id / 10_000)
}

/// The ids of the sample folders in the dataset `root`, bucket by bucket,
/// sorted; none if it does not exist.
pub(crate) fn sample_ids(root: &Path) -> Vec<u64> {
    let mut ids: Vec<u64> = entry_names(root)
        .iter()
        .filter(|bucket| bucket.len() == 6 && bucket.bytes().all(|b| b.is_ascii_digit()))
        .flat_map(|bucket| entry_names(&root.join(bucket)))
        .filter_map(|name| name.parse().ok())
        .collect();
    ids.sort_unstable();
    ids
}

/// The folder name of sample `id` alone (claims, set-aside folders, export keys).
pub(crate) fn sample_name(id: u64) -> String {
    format!("{id:010}")
}

/// A two-block pipeline of `random-bytes`, the cheap workhorse.
pub(crate) const TWO_BLOCKS: &str = "seed: 7
samples: 40
blocks:
  - name: a
    type: random-bytes
    outputs: [a.bin]
    params: {size: 256}
  - name: b
    type: random-bytes
    outputs: [b.bin, b2.bin]
    params: {size: 64}
";

/// Block b fails the first time it meets a sample divisible by 5.
pub(crate) const FLAKY: &str = "seed: 3
samples: 12
blocks:
  - {name: a, type: random-bytes, outputs: [a.bin], params: {size: 16}}
  - name: b
    type: command
    command: [sh, -c, 'if [ $((SHARDGEN_SAMPLE_ID % 5)) = 0 ] && [ ! -e {config_dir}/seen-$SHARDGEN_SAMPLE_ID ]; then touch {config_dir}/seen-$SHARDGEN_SAMPLE_ID; echo boom >&2; exit 3; fi; echo ok > b.txt']
    outputs: [b.txt]
";

/// Runs `shardgen run CONFIG --out data --jobs JOBS --quiet` in this
/// process with `registry` (built-in blocks plus a test's own), on the
/// config text `config` written to `p.yaml`; the dataset folder.
pub(crate) fn run_with_registry(
    ws: &Workspace,
    config: &str,
    registry: shardgen::Registry,
    jobs: u32,
) -> PathBuf {
    let config = ws.write("p.yaml", config);
    let out = ws.path("data");
    let argv: Vec<std::ffi::OsString> = vec![
        "shardgen".into(),
        "run".into(),
        config.into(),
        "--out".into(),
        out.clone().into(),
        "--jobs".into(),
        jobs.to_string().into(),
        "--quiet".into(),
    ];
    let _ = shardgen::cli::main(registry, argv);
    out
}
