//! `random-bytes`: the cheapest block there is, for tests and benchmarks.

use std::io::Write;

use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::block::{Block, BlockError, BlockSetup, SampleContext};

/// Writes `size` bytes of the block's seeded ChaCha stream to each declared
/// output, one after the other from the same stream.
pub(crate) struct RandomBytes {
    size: usize,
    outputs: Vec<String>,
}

/// Params of [`RandomBytes`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RandomBytesParams {
    /// Bytes written to each output.
    pub size: usize,
}

impl Default for RandomBytesParams {
    fn default() -> Self {
        Self { size: 1024 }
    }
}

impl Block for RandomBytes {
    const TYPE: &'static str = "random-bytes";
    const VERSION: u32 = 1;
    const SUMMARY: &'static str =
        "writes `size` bytes of its seeded ChaCha stream to each declared output";
    const PARAM_DOCS: &'static [(&'static str, &'static str)] =
        &[("size", "bytes written to each output")];
    type Params = RandomBytesParams;

    fn new(params: Self::Params, setup: &mut BlockSetup) -> Result<Self, String> {
        if let Some(pattern) = setup.outputs.iter().find(|o| is_pattern(o)) {
            return Err(format!(
                "output '{pattern}' is a glob pattern; random-bytes writes plain file names only"
            ));
        }
        Ok(Self {
            size: params.size,
            outputs: setup.outputs.clone(),
        })
    }

    fn run(&self, ctx: &mut SampleContext<'_>) -> Result<(), BlockError> {
        let mut buffer = vec![0u8; self.size];
        for name in &self.outputs {
            ctx.rng().fill_bytes(&mut buffer);
            let path = ctx.output(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::File::create(&path)?.write_all(&buffer)?;
        }
        ctx.record_stat("bytes", (self.size * self.outputs.len()) as u64);
        Ok(())
    }
}

fn is_pattern(name: &str) -> bool {
    name.contains(['*', '?', '['])
}
