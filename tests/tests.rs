//! Integration tests: they drive the real `shardgen` binary on temp folders.

mod common;

mod bad_input;
mod command_block;
mod custom_block;
mod merge;
mod resume;
