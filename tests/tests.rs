//! Integration tests: they drive the real `shardgen` binary on temp folders.

mod common;

mod analyze;
mod bad_input;
mod command_block;
mod concurrent;
mod custom_block;
mod hardening;
mod merge;
mod resume;
mod shapes;
mod statistics;
