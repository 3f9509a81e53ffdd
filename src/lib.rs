//! shardgen: deterministic, resumable, shardable dataset generation.
#![warn(missing_docs)]

pub mod block;
pub mod claim;
pub mod cli;
pub mod config;
pub mod contact_sheet;
pub mod dataset;
pub mod env;
pub mod error;
pub mod execute;
pub mod host;
pub mod pipeline;
pub mod plan;
pub mod ranges;
pub mod record;
pub mod report;
pub mod run;
pub mod runlog;
pub mod seed;
pub mod state;

#[path = "../blocks/mod.rs"]
pub mod blocks;

pub use block::{
    Block, BlockDoc, BlockError, BlockSetup, Registry, Rejection, SampleContext, StatValue, Stats,
};
pub use seed::BlockSeed;
