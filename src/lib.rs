//! shardgen: deterministic, resumable, shardable dataset generation.
#![warn(missing_docs)]

pub mod block;
pub mod plot;
pub mod record;
pub mod seed;
pub mod state;
pub mod stats;

#[path = "../blocks/mod.rs"]
pub mod blocks;

pub use block::{
    Block, BlockDoc, BlockError, BlockSetup, Registry, Rejection, SampleContext, StatValue, Stats,
};
pub use seed::BlockSeed;
