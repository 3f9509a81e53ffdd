//! A shardgen binary with one more Rust block, `bench-stats`, that writes no
//! file and records `count` numeric statistics per sample (20 by default),
//! drawn from distributions of every shape the statistics pass must handle:
//! small and large integer ranges, uniform, normal, long tails, both signs,
//! a spread over twelve decades. It measures the statistics pass and
//! `analyze` at scale (docs/readme-sketch.md):
//!
//! ```sh
//! cargo build --release --example bench_stats
//! printf 'seed: 1\nsamples: 1000000\nblocks:\n  - {name: m, type: bench-stats}\n' > /dev/shm/b.yaml
//! target/release/examples/bench_stats run /dev/shm/b.yaml --out /dev/shm/d --quiet
//! /usr/bin/time -v target/release/examples/bench_stats run /dev/shm/b.yaml --out /dev/shm/d --statistics-only --quiet
//! ```

use serde::{Deserialize, Serialize};
use shardgen::rand::Rng;
use shardgen::{Block, BlockError, BlockSetup, Registry, SampleContext};

/// Records `count` statistics `s00`, `s01`, ... per sample.
struct BenchStats {
    count: usize,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct BenchStatsParams {
    /// Statistics recorded per sample.
    count: usize,
}

impl Default for BenchStatsParams {
    fn default() -> Self {
        Self { count: 20 }
    }
}

impl Block for BenchStats {
    const TYPE: &'static str = "bench-stats";
    const VERSION: u32 = 1;
    const SUMMARY: &'static str =
        "records `count` numeric statistics of varied shapes, writes no file";
    type Params = BenchStatsParams;

    fn new(params: BenchStatsParams, _setup: &mut BlockSetup) -> Result<Self, String> {
        Ok(Self {
            count: params.count,
        })
    }

    fn run(&self, ctx: &mut SampleContext<'_>) -> Result<(), BlockError> {
        for stat in 0..self.count {
            let u: f64 = ctx.rng().random();
            let v: f64 = ctx.rng().random();
            let value = match stat % 10 {
                0 => (u * 10.0).floor(),         // few integers: exact
                1 => (u * 1e6).floor(),          // many integers
                2 => u,                          // uniform
                3 => -(1.0 - u).ln(),            // exponential
                4 => 10f64.powf(12.0 * u - 6.0), // twelve decades
                5 => (u - 0.5) * 2e3,            // both signs
                6 => {
                    // normal (Box-Muller)
                    (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
                }
                7 => 1.0 / (1.0 - u).max(1e-12), // Pareto tail
                8 => 42.0,                       // constant
                _ => (u * 100.0).round() / 4.0,  // a grid of 401 values
            };
            ctx.record_stat(format!("s{stat:02}"), value);
        }
        Ok(())
    }
}

fn main() -> std::process::ExitCode {
    let mut registry = Registry::builtin();
    registry.register::<BenchStats>();
    shardgen::cli::main(registry, std::env::args_os())
}
