//! Limits on what shardgen accepts as input, checked before anything on
//! disk is created: config size, block names, paths that must be UTF-8.

use std::io::Read;
use std::path::Path;

use crate::error::{Result, UsageError};

/// The largest config file read, in bytes (16 MiB).
pub(crate) const MAX_CONFIG_BYTES: u64 = 16 << 20;
/// The longest block name, in characters.
pub(crate) const MAX_BLOCK_NAME: usize = 64;

/// Refuses paths that are not valid UTF-8 (run logs and messages name them):
/// `(what, path)` pairs, `what` as the user knows it (`--out`).
pub(crate) fn check_utf8_paths(paths: &[(&str, &Path)]) -> Result<()> {
    for (what, path) in paths {
        if path.to_str().is_none() {
            return Err(UsageError::NotUtf8 {
                what: (*what).to_owned(),
                path: path.to_path_buf(),
            }
            .into());
        }
    }
    Ok(())
}

/// Reads a config file of at most [`MAX_CONFIG_BYTES`], refusing larger ones
/// before reading them whole (the size is checked first for regular files,
/// and the read stops past the limit for devices and pipes).
pub(crate) fn read_config(path: &Path) -> std::result::Result<String, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read the config file: {e}; check the path"))?;
    let too_big = || {
        format!(
            "the config file is larger than {} MiB, the limit; a config lists blocks, keep data \
             in files that blocks read",
            MAX_CONFIG_BYTES >> 20
        )
    };
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read the config file: {e}; check the path"))?;
    if meta.is_dir() {
        return Err("is a folder, not a config file; give the YAML file".into());
    }
    if meta.is_file() && meta.len() > MAX_CONFIG_BYTES {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the config file: {e}; check the path"))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|e| {
        format!(
            "the config file is not UTF-8 text (byte {}); save it as UTF-8",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Why a block name is not allowed, if it is not: 1 to [`MAX_BLOCK_NAME`]
/// ASCII letters, digits, `_` and `-`, starting with a letter or digit (names
/// become file names, stat keys `name.key` and command-line values).
pub(crate) fn block_name_problem(name: &str) -> Option<String> {
    let shown: String = name.chars().take(40).collect();
    let shown = if shown.len() < name.len() {
        format!("{shown}...")
    } else {
        shown
    };
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if name.chars().count() > MAX_BLOCK_NAME {
        Some(format!(
            "block name '{shown}' is {} characters long; the limit is {MAX_BLOCK_NAME}",
            name.chars().count()
        ))
    } else if !starts_well || !name.chars().all(allowed) {
        Some(format!(
            "block name '{shown}' must be ASCII letters, digits, '_' and '-', starting with a \
             letter or digit"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_names_are_short_and_plain() {
        for good in ["a", "render", "b2", "scene_v2", "x-y", "0"] {
            assert_eq!(block_name_problem(good), None, "{good}");
        }
        for bad in [
            "",
            "a b",
            "a,b",
            "a/b",
            "a.b",
            "é",
            "-a",
            "_a",
            &"n".repeat(65),
        ] {
            assert!(block_name_problem(bad).is_some(), "{bad:?}");
        }
        assert!(block_name_problem(&"n".repeat(5000))
            .unwrap()
            .contains("5000 characters"));
    }
}
