//! Outputs written through the context (`SampleContext::create_output`,
//! `write_output`): the engine records the size and digest counted as they
//! were written instead of reading them back, so those must be the size and
//! digest of the bytes on disk, `verify` must pass on such a dataset and
//! catch a changed byte; and a block that promises to write only through the
//! context (`Block::writes_only_through_context`) gets published exactly
//! what it wrote that way, nothing it left beside.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shardgen::{Block, BlockError, BlockSetup, Registry, SampleContext};

use crate::common::{block_reason, block_status, record, sample, Workspace};

/// Writes files through the context and, on request, around it.
struct Stamp {
    params: StampParams,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct StampParams {
    /// What `writes_only_through_context` answers.
    through: bool,
    /// Written through `create_output`, in three writes (one past the
    /// engine's 256 KiB read buffer).
    files: Vec<String>,
    /// Written with `std::fs::write` into the out folder.
    plain: Vec<String>,
    /// Created with `create_output`, never finished.
    unfinished: Vec<String>,
}

/// The bytes of `name` for sample `id`: 300,000 of them, none alike.
fn content(id: u64, name: &str) -> Vec<u8> {
    let seed = id as usize * 31 + name.len();
    (0..300_000).map(|i| ((i * 7 + seed) % 251) as u8).collect()
}

impl Block for Stamp {
    const TYPE: &'static str = "stamp";
    const VERSION: u32 = 1;
    const SUMMARY: &'static str = "writes files through its context";
    type Params = StampParams;

    fn writes_only_out_dir(&self) -> bool {
        true
    }

    fn writes_only_through_context(&self) -> bool {
        self.params.through
    }

    fn new(params: StampParams, _setup: &mut BlockSetup) -> Result<Self, String> {
        Ok(Self { params })
    }

    fn run(&self, ctx: &mut SampleContext<'_>) -> Result<(), BlockError> {
        let id = ctx.sample_id();
        for name in &self.params.files {
            let bytes = content(id, name);
            let mut writer = ctx.create_output(name)?;
            writer.write_all(&bytes[..10])?;
            writer.write_all(&bytes[10..290_000])?;
            writer.write_all(&bytes[290_000..])?;
            assert_eq!(writer.size(), bytes.len() as u64);
            ctx.finish_output(writer);
        }
        for name in &self.params.plain {
            std::fs::write(ctx.output(name), content(id, name))?;
        }
        for name in &self.params.unfinished {
            let mut writer = ctx.create_output(name)?;
            writer.write_all(b"never finished")?;
        }
        let whole = format!("{}-whole.txt", ctx.block_name());
        ctx.write_output(&whole, id.to_string().as_bytes())
            .map_err(BlockError::from)
    }
}

fn run(ws: &Workspace, config: &str) -> PathBuf {
    let mut registry = Registry::builtin();
    registry.register::<Stamp>();
    crate::common::run_with_registry(ws, config, registry, 2)
}

/// A size and a digest.
type Sized = (u64, String);

/// Every output the record of sample `id` names, with the recorded size and
/// digest next to those of the file on disk.
fn recorded_and_on_disk(out: &Path, id: u64) -> Vec<(String, Sized, Sized)> {
    let record = record(out, id);
    let mut found = Vec::new();
    for block in record["blocks"].as_array().unwrap() {
        for output in block["outputs"].as_array().unwrap() {
            let path = output["path"].as_str().unwrap().to_owned();
            let recorded = (
                output["size"].as_u64().unwrap(),
                output["digest"].as_str().unwrap().to_owned(),
            );
            let bytes = std::fs::read(sample(out, id).join(&path)).unwrap();
            let hash = xxhash_rust::xxh3::xxh3_128(&bytes);
            let on_disk = (bytes.len() as u64, format!("xxh3-128:{hash:032x}"));
            found.push((path, recorded, on_disk));
        }
    }
    found
}

const PIPELINE: &str = "seed: 3\nsamples: 5\nblocks:
  - {name: a, type: stamp, outputs: [a.bin, sub/deep/n.bin, a-whole.txt],
     params: {through: true, files: [a.bin, sub/deep/n.bin]}}
  - {name: b, type: stamp, outputs: [b.bin, b.txt], optional_outputs: [b-whole.txt],
     params: {files: [b.bin], plain: [b.txt]}}
  - {name: c, type: random-bytes, outputs: [c.bin], params: {size: 70000}}
  - {name: d, type: command, outputs: [d.bin],
     command: [sh, -c, 'cat {sample_dir}/a.bin {sample_dir}/c.bin > d.bin']}
";

#[test]
fn digests_recorded_for_outputs_written_through_the_context_are_those_on_disk() {
    let ws = Workspace::new();
    let out = run(&ws, PIPELINE);
    for id in 0..5 {
        for block in ["a", "b", "c", "d"] {
            let status = block_status(&out, id, block);
            let reason = block_reason(&out, id, block);
            assert_eq!(status.as_deref(), Some("ok"), "{id} {block}: {reason:?}");
        }
        let outputs = recorded_and_on_disk(&out, id);
        let paths: Vec<&str> = outputs.iter().map(|o| o.0.as_str()).collect();
        assert_eq!(
            paths,
            [
                "a-whole.txt",
                "a.bin",
                "sub/deep/n.bin",
                "b-whole.txt",
                "b.bin",
                "b.txt",
                "c.bin",
                "d.bin"
            ]
        );
        for (path, recorded, on_disk) in outputs {
            assert_eq!(recorded, on_disk, "sample {id}, {path}");
        }
        let a = std::fs::read(sample(&out, id).join("a.bin")).unwrap();
        assert_eq!(a, content(id, "a.bin"));
    }
}

#[test]
fn verify_passes_on_outputs_written_through_the_context_and_catches_a_changed_byte() {
    let ws = Workspace::new();
    let out = run(&ws, PIPELINE);
    let verify = |code| {
        let outcome = ws
            .shardgen()
            .args(["verify", "data", "--json"])
            .expect_code(code);
        serde_json::from_str::<serde_json::Value>(&outcome.stdout()).unwrap()
    };
    let clean = verify(0);
    assert_eq!(clean["damaged_files"], 0, "{clean}");
    // One byte of a.bin of sample 2, in place: same size, other bytes.
    let path = sample(&out, 2).join("a.bin");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[123_456] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let report = verify(1);
    assert_eq!(report["damaged_files"], 1, "{report}");
    let changed: Vec<[u64; 2]> = serde_json::from_value(report["changed"].clone()).unwrap();
    assert_eq!(changed, [[2, 3]]);
    assert_eq!(report["problems"][0]["path"], "a.bin");
}

#[test]
fn a_block_that_writes_only_through_the_context_publishes_only_what_it_wrote_so() {
    let ws = Workspace::new();
    // `a` leaves `stray.txt` in its out folder, beside what it wrote through
    // the context; `b` would publish a `stray.txt` it found there.
    let out = run(
        &ws,
        "seed: 3\nsamples: 4\nblocks:
  - {name: a, type: stamp, outputs: [a.bin, a-whole.txt],
     params: {through: true, files: [a.bin], plain: [stray.txt]}}
  - {name: b, type: stamp, outputs: [b.bin, b-whole.txt], optional_outputs: [stray.txt],
     params: {files: [b.bin]}}
",
    );
    for id in 0..4 {
        assert_eq!(block_status(&out, id, "a").as_deref(), Some("ok"));
        assert_eq!(block_status(&out, id, "b").as_deref(), Some("ok"));
        assert!(!sample(&out, id).join("stray.txt").exists(), "sample {id}");
        let paths: Vec<String> = recorded_and_on_disk(&out, id)
            .into_iter()
            .map(|o| o.0)
            .collect();
        assert_eq!(paths, ["a-whole.txt", "a.bin", "b-whole.txt", "b.bin"]);
    }
}

#[test]
fn a_required_output_not_written_through_the_context_is_missing_and_says_why() {
    let ws = Workspace::new();
    let out = run(
        &ws,
        "seed: 3\nsamples: 2\nblocks:
  - {name: a, type: stamp, outputs: [a.bin, p.bin, u.bin, a-whole.txt],
     params: {through: true, files: [a.bin], plain: [p.bin], unfinished: [u.bin]}}
",
    );
    for id in 0..2 {
        assert_eq!(block_status(&out, id, "a").as_deref(), Some("failed"));
        assert_eq!(
            block_reason(&out, id, "a").as_deref(),
            Some(
                "missing required output 'p.bin' (the block writes its outputs only through \
                 create_output/write_output)"
            )
        );
    }
    let ws = Workspace::new();
    let out = run(
        &ws,
        "seed: 3\nsamples: 2\nblocks:
  - {name: a, type: stamp, outputs: [u.bin, a-whole.txt],
     params: {through: true, unfinished: [u.bin]}}
",
    );
    assert_eq!(
        block_reason(&out, 0, "a").as_deref(),
        Some(
            "missing required output 'u.bin' (created with create_output but never given to \
             finish_output)"
        )
    );
}
