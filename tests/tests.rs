//! Integration tests: they drive the real `shardgen` binary on temp folders.

mod common;

mod analyze;
mod bad_input;
mod cli;
mod code_changes;
mod command_block;
mod concurrent;
mod custom_block;
mod exit_codes;
mod export;
mod failed_samples;
mod hardening;
mod json;
mod layout;
mod merge;
mod operations;
mod report;
mod resume;
#[cfg(feature = "shapes")]
mod shapes;
mod snapshots;
mod statistics;
mod worker;
