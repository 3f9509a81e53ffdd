//! The fresh path of a block that declares it writes only its out folder
//! (`Block::writes_only_out_dir`): the engine skips the sample-folder
//! listing after it and reuses the out folder it emptied, yet what such a
//! block leaves behind never reaches a later block or attempt, and blocks
//! that do not declare it are still caught changing the sample folder.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use shardgen::{Block, BlockError, BlockSetup, Registry, SampleContext};

use crate::common::{block_reason, block_status, entry_names, record, sample, Workspace};

/// Writes `file` into its out folder, and on request more than that.
struct Scribe {
    params: ScribeParams,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ScribeParams {
    /// What `writes_only_out_dir` answers.
    trusted: bool,
    /// The output it writes.
    file: String,
    /// Also writes `junk.txt` and `nested/junk.txt` into its out folder.
    junk: bool,
    /// Also writes `poked.txt` into the sample folder (breaks the contract).
    poke: bool,
    /// The first attempt on each sample writes junk, then fails.
    fail_first: bool,
}

/// Sample folders whose first attempt failed already (tests share a process).
static FAILED_ONCE: Mutex<Option<HashSet<(PathBuf, String)>>> = Mutex::new(None);

impl Block for Scribe {
    const TYPE: &'static str = "scribe";
    const VERSION: u32 = 1;
    const SUMMARY: &'static str = "writes a file, and more on request";
    type Params = ScribeParams;

    fn writes_only_out_dir(&self) -> bool {
        self.params.trusted
    }

    fn new(params: ScribeParams, _setup: &mut BlockSetup) -> Result<Self, String> {
        Ok(Self { params })
    }

    fn run(&self, ctx: &mut SampleContext<'_>) -> Result<(), BlockError> {
        let p = &self.params;
        std::fs::write(ctx.output(&p.file), ctx.sample_id().to_string())?;
        let first = p.fail_first && {
            let key = (ctx.sample_dir().to_owned(), ctx.block_name().to_owned());
            let mut seen = FAILED_ONCE.lock().unwrap();
            seen.get_or_insert_with(HashSet::new).insert(key)
        };
        if p.junk || first {
            std::fs::write(ctx.output("junk.txt"), "left behind")?;
            std::fs::create_dir_all(ctx.output("nested"))?;
            std::fs::write(ctx.output("nested/junk.txt"), "left behind")?;
        }
        if p.poke {
            std::fs::write(ctx.sample_dir().join("poked.txt"), "poked")?;
        }
        if first {
            return Err(BlockError::new("first attempt fails"));
        }
        Ok(())
    }
}

fn run(ws: &Workspace, config: &str) -> PathBuf {
    let mut registry = Registry::builtin();
    registry.register::<Scribe>();
    crate::common::run_with_registry(ws, config, registry, 1)
}

fn files(dir: &Path) -> Vec<String> {
    entry_names(dir)
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .collect()
}

#[test]
fn a_block_that_does_not_declare_it_is_caught_writing_into_the_sample_folder() {
    let ws = Workspace::new();
    let out = run(
        &ws,
        "seed: 1\nsamples: 2\nblocks:\n  - {name: a, type: scribe, outputs: [a.txt], \
         params: {file: a.txt, poke: true}}\n",
    );
    for id in 0..2 {
        assert_eq!(block_status(&out, id, "a").as_deref(), Some("failed"));
        let reason = block_reason(&out, id, "a").unwrap();
        assert!(
            reason.starts_with("block 'a' wrote 'poked.txt' into the sample folder"),
            "{reason}"
        );
    }
}

/// The documented contract: a block that declares it writes only its out
/// folder is not listed after, so the engine does not see it break that.
#[test]
fn a_block_that_declares_it_writes_only_its_out_folder_is_not_listed_after() {
    let ws = Workspace::new();
    let out = run(
        &ws,
        "seed: 1\nsamples: 2\nblocks:\n  - {name: a, type: scribe, outputs: [a.txt], \
         params: {file: a.txt, poke: true, trusted: true}}\n",
    );
    for id in 0..2 {
        assert_eq!(block_status(&out, id, "a").as_deref(), Some("ok"));
        assert_eq!(files(&sample(&out, id)), ["a.txt", "poked.txt"]);
    }
}

#[test]
fn what_a_trusted_block_leaves_in_its_out_folder_never_reaches_a_later_block() {
    let ws = Workspace::new();
    // `b` would publish a `junk.txt` or `nested/junk.txt` it found.
    let out = run(
        &ws,
        "seed: 1\nsamples: 6\nblocks:\n  - {name: a, type: scribe, outputs: [a.txt], \
         params: {file: a.txt, junk: true, trusted: true}}\n  - {name: b, type: scribe, \
         outputs: [b.txt], optional_outputs: [junk.txt, nested/junk.txt], \
         params: {file: b.txt, trusted: true}}\n  - {name: c, type: random-bytes, \
         outputs: [c.bin], params: {size: 3}}\n",
    );
    for id in 0..6 {
        for block in ["a", "b", "c"] {
            assert_eq!(block_status(&out, id, block).as_deref(), Some("ok"));
        }
        assert_eq!(files(&sample(&out, id)), ["a.txt", "b.txt", "c.bin"]);
        let outputs = &record(&out, id)["blocks"][1]["outputs"];
        assert_eq!(outputs.as_array().unwrap().len(), 1, "{outputs}");
        assert_eq!(outputs[0]["path"], "b.txt");
    }
}

#[test]
fn a_retry_of_a_trusted_block_starts_from_an_empty_out_folder() {
    let ws = Workspace::new();
    let out = run(
        &ws,
        "seed: 1\nsamples: 4\nblocks:\n  - {name: a, type: scribe, outputs: [a.txt], \
         optional_outputs: [junk.txt, nested/junk.txt], retries: 1, \
         params: {file: a.txt, fail_first: true, trusted: true}}\n",
    );
    for id in 0..4 {
        assert_eq!(block_status(&out, id, "a").as_deref(), Some("ok"));
        assert_eq!(record(&out, id)["blocks"][0]["attempts"], 2);
        assert_eq!(files(&sample(&out, id)), ["a.txt"]);
    }
}
