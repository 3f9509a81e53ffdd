//! shardgen: deterministic, resumable, shardable dataset generation.
//!
//! A pipeline is a chain of *blocks* run once per sample. The layers, lowest
//! first; each imports only those below it:
//!
//! ```text
//! leaves     error, ranges, seed, env, layout (dataset names), process, image, failures
//! model      block (the Block trait, Registry), pipeline/ (config -> Pipeline, fingerprints, plots: schema)
//! dataset/   the folder on disk: records, states, run logs, timings, staging, claims, atomic writes
//! engine/    scan -> plan -> execute -> run; merge, analyze: returns reports, never prints
//! statistics/, plot/   the statistics pass and its charts
//! cli/       the only code that prints: args, progress, text
//! blocks/    the built-in blocks; blocks/shapes/ is the demo (feature `shapes`)
//! ```
//!
//! Data flows one way: config -> [`Pipeline`](pipeline::Pipeline) -> scan
//! (records judged into block states) -> plan -> execute (stage, run,
//! validate, publish, record) -> statistics pass -> [`RunReport`].
//!
//! Every sample's randomness comes from [`BlockSeed`]: the master seed, the
//! block's name and the global sample index, nothing else. A block writes
//! into a private staging folder; the engine publishes its declared outputs
//! into the sample folder only after it succeeded, and records that in the
//! sample's `.shardgen.json`. A run scans those records to decide what to do,
//! so rerunning the same command resumes it.
//!
//! # Running from Rust
//!
//! [`prepare`] checks and scans, [`PreparedRun::execute`] runs and returns a
//! [`RunReport`]; progress reaches a [`RunObserver`] of your own ([`Quiet`]
//! ignores it). [`DatasetView`] reads a dataset back.
//!
//! # Writing a block
//!
//! A block type is a Rust type with typed params. Register it next to the
//! built-in ones and run the same CLI from your own `main`:
//!
//! ```no_run
//! use shardgen::rand::Rng; // the rand that ctx.rng() speaks
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
pub mod cli;

mod block;
mod code_digest;
mod dataset;
mod disk;
mod engine;
mod env;
mod error;
mod export;
mod failures;
mod file_digest;
mod globs;
mod html;
mod image;
mod interrupt;
mod layout;
mod orphans;
mod output_writer;
mod pipeline;
mod plot;
mod process;
mod ranges;
mod seed;
mod statistics;
mod worker_settings;

#[path = "../blocks/mod.rs"]
mod blocks;

/// The `rand` crate that [`SampleContext::rng`] is built on: `use
/// shardgen::rand::Rng;` gives its methods, whatever `rand` your crate uses.
pub use rand;

pub use block::{
    Block, BlockDoc, BlockError, BlockSetup, NoParams, Registry, Rejection, SampleContext,
    StatValue, Stats, ATTEMPT_LOG,
};
pub use dataset::record::BlockStatus;
pub use dataset::runlog::RunCounts;
pub use dataset::state::{BlockCounts, BlockState};
pub use dataset::view::{DatasetView, SampleView};
pub use engine::analyze::{
    analyze, sample_detail, Analysis, BlockDetail, Failure, KeptLog, SampleCounts, SampleDetail,
    ANALYSIS_FORMAT,
};
pub use engine::debug::{debug, DebugBlock, DebugOptions, DebugReport, DEBUG_REPORT_FORMAT};
pub use engine::execute::SampleOutcome;
pub use engine::merge::{merge, MergeOptions, MergeReport, SampleConflict, MERGE_REPORT_FORMAT};
pub use engine::plan::{PlanSummary, RunReason};
pub use engine::run::{
    prepare, Plan, PreparedRun, Quiet, RunEvent, RunObserver, RunOptions, RunReport,
    StatisticsOutcome, RUN_REPORT_FORMAT,
};
pub use engine::scan::{SampleSelection, ScanCounts, Shard};
pub use engine::tally::{MaxFailuresReached, RunTally};
pub use engine::upgrade::{upgrade, UpgradeReport, UPGRADE_REPORT_FORMAT};
pub use engine::verify::{
    verify, Problem, ProblemKind, VerifyOptions, VerifyReport, PROBLEMS_LISTED, VERIFY_FORMAT,
};
pub use error::{
    ConfigError, ConfigLocation, Error, MergeError, PipelineDifference, UsageError, EXIT_DAMAGED,
    EXIT_OK, EXIT_SAMPLES_FAILED, EXIT_STOPPED, EXIT_USAGE,
};
pub use export::{export, ExportFormat, ExportOptions, ExportReport};
pub use failures::{reason_kind, FailureGroup, FailureGroups};
pub use output_writer::OutputWriter;
pub use pipeline::description::BlockDescription;
pub use ranges::{RangeSet, SampleRange};
pub use seed::BlockSeed;
pub use statistics::error::{PlotError, StatisticsError, StatsError};
