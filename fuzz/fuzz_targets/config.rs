//! The config loader on arbitrary text: it must return a config or a
//! `ConfigError`, never panic, and never touch the disk.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use shardgen::block::Registry;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let registry = Registry::builtin();
    let _ = shardgen::config::parse(
        text,
        Path::new("fuzz.yaml"),
        Path::new("/nonexistent-config-dir"),
        &registry,
    );
});
