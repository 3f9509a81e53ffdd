//! `random-bytes`: the cheapest block there is, for tests and benchmarks.

use std::io::Write;

use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::block::{Block, BlockError, BlockSetup, SampleContext};

/// The largest `size`: 16 GiB per output.
pub(super) const MAX_SIZE: u64 = 16 << 30;

/// Bytes generated and written at a time: memory stays flat whatever `size`.
/// A multiple of 4, so the stream is the same as from one fill of `size`
/// bytes (the generator drops the rest of a partly used 32-bit word).
const CHUNK: usize = 1 << 16;

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
    pub size: u64,
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
    const PARAM_DOCS: &'static [(&'static str, &'static str)] = &[(
        "size",
        "bytes written to each output, 0 to 17179869184 (16 GiB)",
    )];
    type Params = RandomBytesParams;

    /// It writes its outputs with plain file writes and nothing else.
    fn writes_only_out_dir(&self) -> bool {
        true
    }

    /// Every output goes through [`SampleContext::create_output`].
    fn writes_only_through_context(&self) -> bool {
        true
    }

    fn new(params: Self::Params, setup: &mut BlockSetup) -> Result<Self, String> {
        if let Some(pattern) = setup.outputs.iter().find(|o| crate::globs::is_glob(o)) {
            return Err(format!(
                "output '{pattern}' is a glob pattern; random-bytes writes plain file names only"
            ));
        }
        if params.size > MAX_SIZE {
            return Err(format!(
                "size {} is above the limit {MAX_SIZE} (16 GiB per output); use a smaller size",
                params.size
            ));
        }
        Ok(Self {
            size: params.size as usize,
            outputs: setup.outputs.clone(),
        })
    }

    fn run(&self, ctx: &mut SampleContext<'_>) -> Result<(), BlockError> {
        let mut buffer = vec![0u8; self.size.min(CHUNK)];
        for name in &self.outputs {
            // Hashed as written: the engine need not read it back.
            let mut file = ctx.create_output(name)?;
            write_stream(ctx.rng(), self.size, &mut buffer, &mut file)?;
            ctx.finish_output(file);
        }
        let total = (self.size as u64).saturating_mul(self.outputs.len() as u64);
        ctx.record_stat("bytes", total);
        Ok(())
    }
}

/// Writes `size` bytes of `rng`'s stream to `out`, a chunk at a time.
fn write_stream(
    rng: &mut impl RngCore,
    size: usize,
    buffer: &mut [u8],
    out: &mut impl Write,
) -> std::io::Result<()> {
    let mut left = size;
    while left > 0 {
        let chunk = &mut buffer[..left.min(CHUNK)];
        rng.fill_bytes(chunk);
        out.write_all(chunk)?;
        left -= chunk.len();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn chunked_writes_give_the_stream_of_one_fill() {
        for size in [0, 5, CHUNK - 3, CHUNK, 2 * CHUNK + 7] {
            let mut whole = rand_chacha::ChaCha20Rng::seed_from_u64(9);
            let mut expected = vec![0u8; size];
            whole.fill_bytes(&mut expected);
            let mut next = [0u8; 8];
            whole.fill_bytes(&mut next);

            let mut chunked = rand_chacha::ChaCha20Rng::seed_from_u64(9);
            let mut buffer = vec![0u8; size.min(CHUNK)];
            let mut written = Vec::new();
            write_stream(&mut chunked, size, &mut buffer, &mut written).unwrap();
            assert_eq!(written, expected, "size {size}");
            let mut after = [0u8; 8];
            chunked.fill_bytes(&mut after);
            assert_eq!(after, next, "the stream continues alike after size {size}");
        }
    }
}
