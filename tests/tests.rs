//! Integration tests: they drive the real `shardgen` binary on temp folders.

mod common;

mod analyze;
mod bad_input;
mod cli;
mod code_changes;
mod command_block;
mod concurrent;
mod custom_block;
mod debug_run;
mod exit_codes;
mod export;
mod failed_samples;
mod fresh_path;
mod hardening;
mod integrity;
mod interrupt;
mod json;
mod layout;
mod merge;
mod operations;
mod report;
mod resume;
mod retries;
#[cfg(feature = "shapes")]
mod shapes;
mod snapshots;
mod statistics;
mod worker;
mod write_output;
