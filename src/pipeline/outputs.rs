//! Declared outputs: plain names and glob patterns, and whether a sample
//! folder holds them.

use std::path::Path;

use crate::globs::{is_glob, GLOB_OPTIONS};
use crate::pipeline::description::BlockDescription;

/// A declared output: a plain relative name or a glob pattern.
#[derive(Clone, Debug)]
pub(crate) enum OutputPattern {
    /// A file name, possibly with folders (`scene.json`, `debug/a.png`).
    Plain(String),
    /// A glob pattern (`debug/*.png`).
    Glob(glob::Pattern),
}

impl OutputPattern {
    /// Parses a declared output; `Err` says why it is not a valid pattern.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if is_glob(text) {
            glob::Pattern::new(text)
                .map(OutputPattern::Glob)
                .map_err(|e| format!("'{text}' is not a valid glob pattern: {}", e.msg))
        } else {
            Ok(OutputPattern::Plain(text.to_owned()))
        }
    }

    /// The output as declared.
    pub(crate) fn text(&self) -> &str {
        match self {
            OutputPattern::Plain(name) => name,
            OutputPattern::Glob(pattern) => pattern.as_str(),
        }
    }

    /// Whether `dir` holds this output as a regular file (a glob: at least
    /// one match).
    pub(crate) fn present_in(&self, dir: &Path) -> bool {
        match self {
            // A symlink or special file is not an output (same lstat).
            OutputPattern::Plain(name) => {
                dir.join(name).symlink_metadata().is_ok_and(|m| m.is_file())
            }
            OutputPattern::Glob(glob) => glob_matches_any(dir, glob),
        }
    }

    /// Whether a path relative to the sample folder is this output.
    pub(crate) fn matches(&self, relative: &str) -> bool {
        match self {
            OutputPattern::Plain(name) => name == relative,
            OutputPattern::Glob(pattern) => pattern.matches_with(relative, GLOB_OPTIONS),
        }
    }
}

/// The compiled output patterns of one block.
#[derive(Clone, Debug, Default)]
pub(crate) struct BlockOutputs {
    /// Must all exist (a glob: at least one match) for the block to be complete.
    pub required: Vec<OutputPattern>,
    /// Published when present.
    pub optional: Vec<OutputPattern>,
}

impl BlockOutputs {
    /// Compiles the patterns of a description (already validated at load).
    pub(crate) fn of(block: &BlockDescription) -> Self {
        let compile = |list: &[String]| {
            list.iter()
                .filter_map(|text| OutputPattern::parse(text).ok())
                .collect()
        };
        Self {
            required: compile(&block.outputs),
            optional: compile(&block.optional_outputs),
        }
    }

    /// Whether a relative path is one of this block's outputs.
    pub(crate) fn matches(&self, relative: &str) -> bool {
        self.required
            .iter()
            .chain(&self.optional)
            .any(|p| p.matches(relative))
    }

    /// Whether every required output exists below `dir`.
    pub(crate) fn required_present(&self, dir: &Path) -> bool {
        self.first_missing(dir).is_none()
    }

    /// The first required output missing below `dir`, for failure reasons.
    pub(crate) fn first_missing(&self, dir: &Path) -> Option<String> {
        self.required
            .iter()
            .find(|pattern| !pattern.present_in(dir))
            .map(|pattern| pattern.text().to_owned())
    }
}

fn glob_matches_any(dir: &Path, pattern: &glob::Pattern) -> bool {
    let full = format!(
        "{}/{}",
        glob::Pattern::escape(&dir.to_string_lossy()),
        pattern.as_str()
    );
    glob::glob_with(&full, GLOB_OPTIONS)
        .map(|mut paths| paths.any(|p| p.is_ok()))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_skip_hidden_files_and_folders() {
        let pattern = OutputPattern::parse("*.json").unwrap();
        assert!(pattern.matches("scene.json"));
        assert!(!pattern.matches(".shardgen.json"));
        assert!(!pattern.matches("debug/x.json"));
        assert!(OutputPattern::parse("a[.png").is_err());
    }
}
