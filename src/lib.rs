//! shardgen: deterministic, resumable, shardable dataset generation.
//!
//! A pipeline is a chain of *blocks* run once per sample. Data flows one way:
//!
//! ```text
//! config::load -> Pipeline -> (record::read_record + state::StateJudge)
//!   -> plan::plan_sample -> execute::Executor (stage, run, validate, publish,
//!   record) -> report (progress, summary) / runlog (logs, timings)
//! ```
//!
//! Every sample's randomness comes from [`BlockSeed`]: the master seed, the
//! block's name and the global sample index, nothing else. A block writes
//! into a private staging folder; the engine publishes its declared outputs
//! into the sample folder only after it succeeded, and records that in the
//! sample's `.shardgen.json`. A run scans those records to decide what to do,
//! so rerunning the same command resumes it.
//!
//! # Writing a block
//!
//! A block type is a Rust type with typed params. Register it next to the
//! built-in ones and run the same CLI from your own `main`:
//!
//! ```no_run
//! use rand::Rng;
//! use serde::{Deserialize, Serialize};
//! use shardgen::{Block, BlockError, BlockSetup, Registry, Rejection, SampleContext};
//!
//! /// Rolls `dice` six-sided dice and writes their sum to `roll.txt`.
//! struct Dice {
//!     dice: u32,
//! }
//!
//! #[derive(Serialize, Deserialize)]
//! #[serde(deny_unknown_fields, default)] // misspelt params are config errors
//! struct DiceParams {
//!     dice: u32,
//! }
//!
//! impl Default for DiceParams {
//!     fn default() -> Self {
//!         Self { dice: 2 }
//!     }
//! }
//!
//! impl Block for Dice {
//!     const TYPE: &'static str = "dice"; // `type: dice` in configs
//!     const VERSION: u32 = 1; // bump when the output changes meaning
//!     const SUMMARY: &'static str = "rolls dice";
//!     const PARAM_DOCS: &'static [(&'static str, &'static str)] = &[("dice", "how many")];
//!     const DEFAULT_OUTPUTS: &'static [&'static str] = &["roll.txt"];
//!     type Params = DiceParams;
//!
//!     fn new(params: DiceParams, _setup: &mut BlockSetup) -> Result<Self, String> {
//!         if params.dice == 0 {
//!             return Err("dice must be at least 1".into()); // a config error
//!         }
//!         Ok(Self { dice: params.dice })
//!     }
//!
//!     fn run(&self, ctx: &mut SampleContext<'_>) -> Result<(), BlockError> {
//!         // All randomness from the sample's own stream: deterministic.
//!         let sum: u32 = (0..self.dice).map(|_| ctx.rng().random_range(1..=6)).sum();
//!         std::fs::write(ctx.output("roll.txt"), sum.to_string())?;
//!         ctx.record_stat("sum", f64::from(sum)); // aggregated as `<block>.sum`
//!         Ok(())
//!     }
//!
//!     fn validate(&self, ctx: &mut SampleContext<'_>) -> Result<(), Rejection> {
//!         // Runs before publishing; a rejection is recorded, not published.
//!         match ctx.stats().get("sum") {
//!             Some(shardgen::StatValue::Number(sum)) if *sum == f64::from(self.dice) => {
//!                 Err(Rejection("all ones".into()))
//!             }
//!             _ => Ok(()),
//!         }
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     let mut registry = Registry::builtin();
//!     registry.register::<Dice>();
//!     shardgen::cli::main(registry, std::env::args_os())
//! }
//! ```
#![warn(missing_docs)]

pub(crate) mod adopt;
pub mod aggregate;
pub mod analyze;
pub mod block;
pub(crate) mod bounds;
pub mod claim;
pub mod cli;
pub mod config;
pub mod contact_sheet;
pub mod dataset;
pub(crate) mod disk;
pub mod env;
pub mod error;
pub mod execute;
pub mod host;
pub(crate) mod leftovers;
pub mod merge;
pub mod pipeline;
pub mod plan;
pub mod plot;
pub mod ranges;
pub mod record;
pub mod report;
pub mod run;
pub mod runlog;
pub(crate) mod safe_fs;
pub(crate) mod sample_guard;
pub mod seed;
pub mod state;
pub mod stats;

#[path = "../blocks/mod.rs"]
pub mod blocks;

pub use block::{
    Block, BlockDoc, BlockError, BlockSetup, Registry, Rejection, SampleContext, StatValue, Stats,
};
pub use seed::BlockSeed;
