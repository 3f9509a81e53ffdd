//! Exit codes keep their contract: 2 only when nothing in DIR changed, 1 for
//! any error that stopped a command after it wrote something, a full disk
//! included; and the binary without the demo refuses the demo's blocks.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{listing, Workspace, TWO_BLOCKS};

/// A small tmpfs mounted in the workspace, unmounted on drop.
struct SmallDisk {
    path: PathBuf,
}

impl SmallDisk {
    /// Mounts one, or says why the test is skipped and returns `None`.
    fn mount(ws: &Workspace, size: &str) -> Option<Self> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: mounting a small tmpfs needs root");
            return None;
        }
        let path = ws.path("disk");
        fs::create_dir_all(&path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("mount runs");
        if !status.success() {
            eprintln!("skipped: cannot mount a tmpfs here");
            return None;
        }
        Some(Self { path })
    }

    /// Fills the disk, then frees `pages` pages of 4 KiB.
    fn fill_but(&self, pages: usize) {
        for page in 0..pages {
            fs::write(self.path.join(format!("spare{page}")), [0u8; 4096]).unwrap();
        }
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=4096"])
            .arg(format!("of={}", self.path.join("filler").display()))
            .stderr(std::process::Stdio::null())
            .status();
        let _ = Command::new("dd")
            .args(["if=/dev/zero", "bs=1"])
            .arg(format!("of={}", self.path.join("filler2").display()))
            .stderr(std::process::Stdio::null())
            .status();
        for page in 0..pages {
            fs::remove_file(self.path.join(format!("spare{page}"))).unwrap();
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Temp files (of atomic writes or the statistics spool) below `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
    listing(dir)
        .into_iter()
        .map(|(name, _, _)| name)
        .filter(|name| name.contains(".tmp"))
        .collect()
}

#[test]
fn a_full_disk_in_the_statistics_pass_exits_1_and_leaves_no_temp_file() {
    let ws = Workspace::new();
    let Some(disk) = SmallDisk::mount(&ws, "2m") else {
        return;
    };
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "disk/data", &["--num-samples", "4", "--quiet"]);
    fs::remove_file(ws.path("disk/data/statistics.yaml")).unwrap();
    // Room for the statistics turn's claim, not for the statistics.
    disk.fill_but(2);
    let outcome = ws
        .run(&config, "disk/data", &["--statistics-only"])
        .expect_code(1);
    let stderr = outcome.stderr();
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(stderr.starts_with("error: statistics of "), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert_eq!(temp_files(&ws.path("disk/data")), Vec::<String>::new());
}

#[test]
fn usage_errors_exit_2_and_change_nothing() {
    let ws = Workspace::new();
    let config = ws.write("p.yaml", TWO_BLOCKS);
    ws.run_ok(&config, "data", &["--num-samples", "2", "--quiet"]);
    let before = listing(&ws.path("data"));
    let outcome = ws
        .run(&config, "data", &["--force-run-blocks", "nope"])
        .expect_code(2);
    assert!(
        outcome
            .stderr()
            .starts_with("error: --force-run-blocks: no block named 'nope'"),
        "{}",
        outcome.stderr()
    );
    assert_eq!(listing(&ws.path("data")), before);
}

#[cfg(not(feature = "shapes"))]
#[test]
fn without_the_shapes_feature_the_demo_blocks_are_unknown() {
    let ws = Workspace::new();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/shapes.yaml");
    let outcome = ws
        .run(&config, "data", &["--num-samples", "1"])
        .expect_code(2);
    assert!(
        outcome.stderr().contains("unknown block type 'scene'"),
        "{}",
        outcome.stderr()
    );
    assert!(!ws.path("data").exists());
}
