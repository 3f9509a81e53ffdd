//! A validated pipeline: the built blocks in chain order, each with its
//! description (what the dataset records) and its fingerprint.

pub(crate) mod bounds;
pub(crate) mod config;
pub(crate) mod description;
pub(crate) mod plots;

use crate::globs::{is_glob, GLOB_OPTIONS};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::block::DynBlock;
use crate::pipeline::description::{BlockDescription, PipelineManifest, MANIFEST_FORMAT};

/// The identity of what a block produces for a sample: its type, version,
/// params, command and declared files, the master seed, and the fingerprint
/// of the block with outputs before it. Equal fingerprints mean the stored
/// outputs are what this pipeline would make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct BlockFingerprint([u8; 16]);

impl BlockFingerprint {
    /// Computes the fingerprint of `block` (its `fingerprint` field is ignored).
    pub(crate) fn compute(
        master_seed: u64,
        previous: Option<&str>,
        block: &BlockDescription,
    ) -> Self {
        let mut identity = serde_json::json!({
            "seed": master_seed,
            "previous": previous.unwrap_or(""),
            "type": block.type_name,
            "version": block.version,
            "params": block.params,
            "command": block.command,
            "inputs": block.inputs,
            "outputs": block.outputs,
            "optional_outputs": block.optional_outputs,
        });
        // Only when present, so that fingerprints without them are unchanged.
        if !block.code.is_empty() {
            identity["code"] = serde_json::json!(block.code);
        }
        if let Some(version) = &block.code_version {
            identity["code_version"] = serde_json::json!(version);
        }
        let digest = Sha256::digest(identity.to_string().as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self(bytes)
    }
}

impl fmt::Display for BlockFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

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
        self.required.iter().find_map(|pattern| {
            let present = match pattern {
                // A symlink or special file is not an output (same lstat).
                OutputPattern::Plain(name) => {
                    dir.join(name).symlink_metadata().is_ok_and(|m| m.is_file())
                }
                OutputPattern::Glob(glob) => glob_matches_any(dir, glob),
            };
            (!present).then(|| match pattern {
                OutputPattern::Plain(name) => name.clone(),
                OutputPattern::Glob(glob) => glob.as_str().to_owned(),
            })
        })
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

/// One block of a loaded pipeline.
pub(crate) struct PipelineBlock {
    /// What the dataset records of it.
    pub description: BlockDescription,
    /// Compiled output patterns.
    pub outputs: BlockOutputs,
    /// The `timeout:` of the config.
    pub timeout: Option<Duration>,
    pub(crate) instance: Box<dyn DynBlock>,
}

impl PipelineBlock {
    /// The block's name.
    pub(crate) fn name(&self) -> &str {
        &self.description.name
    }
}

/// A pipeline loaded from a config and validated.
pub(crate) struct Pipeline {
    /// The master seed.
    pub seed: u64,
    /// The config's `samples:`, the default `--num-samples`.
    pub samples: Option<u64>,
    /// The blocks, in chain order.
    pub blocks: Vec<PipelineBlock>,
    /// The config's `plots:` entries.
    pub plots: Vec<crate::pipeline::plots::PlotSpec>,
    /// The config file.
    pub config_path: PathBuf,
    /// The folder holding the config file (absolute), `{config_dir}`.
    pub config_dir: PathBuf,
}

impl Pipeline {
    /// What `.shardgen/pipeline.json` records of this pipeline.
    pub(crate) fn manifest(&self) -> PipelineManifest {
        PipelineManifest {
            format: MANIFEST_FORMAT,
            seed: self.seed,
            blocks: self.descriptions(),
        }
    }

    /// Each block's description, in chain order.
    pub(crate) fn descriptions(&self) -> Vec<BlockDescription> {
        self.blocks.iter().map(|b| b.description.clone()).collect()
    }

    /// Each block's name, in chain order.
    pub(crate) fn block_names(&self) -> Vec<String> {
        self.blocks.iter().map(|b| b.name().to_owned()).collect()
    }

    /// The index of the block named `name`.
    pub(crate) fn block_index(&self, name: &str) -> Option<usize> {
        self.blocks.iter().position(|b| b.name() == name)
    }
}

/// Fills in the fingerprints of a chain of descriptions, in order. Blocks
/// without outputs do not feed the chain: they cannot change what later blocks
/// read.
pub(crate) fn assign_fingerprints(master_seed: u64, blocks: &mut [BlockDescription]) {
    let mut previous: Option<String> = None;
    for block in blocks {
        let fingerprint =
            BlockFingerprint::compute(master_seed, previous.as_deref(), block).to_string();
        if block.has_outputs() {
            previous = Some(fingerprint.clone());
        }
        block.fingerprint = fingerprint;
    }
}

/// For each block of `current`, what changed since `previous` (the dataset's
/// manifest) in words, e.g. `param 'size' changed: 64 -> 128`; `None` where
/// the fingerprint is unchanged.
pub(crate) fn explain_changes(
    previous: &PipelineManifest,
    current: &[BlockDescription],
) -> Vec<Option<String>> {
    let mut first_changed: Option<&str> = None;
    current
        .iter()
        .map(|block| {
            let old = previous.blocks.iter().find(|b| b.name == block.name)?;
            if old.fingerprint == block.fingerprint {
                return None;
            }
            let own = own_changes(old, block);
            let text = match (own.is_empty(), first_changed) {
                (false, _) => own.join(", "),
                (true, Some(earlier)) => format!("block '{earlier}' before it changed"),
                (true, None) => "the master seed or an earlier block changed".to_owned(),
            };
            if !own.is_empty() && block.has_outputs() && first_changed.is_none() {
                first_changed = Some(&block.name);
            }
            Some(text)
        })
        .collect()
}

pub(crate) fn own_changes(old: &BlockDescription, new: &BlockDescription) -> Vec<String> {
    let mut changes = Vec::new();
    if old.type_name != new.type_name {
        changes.push(format!(
            "type changed: {} -> {}",
            old.type_name, new.type_name
        ));
    } else if old.version != new.version {
        changes.push(format!(
            "{} version changed: {} -> {}",
            new.type_name, old.version, new.version
        ));
    }
    match (old.params.as_object(), new.params.as_object()) {
        (Some(before), Some(after)) => {
            let keys: std::collections::BTreeSet<_> = before.keys().chain(after.keys()).collect();
            for key in keys {
                let (a, b) = (before.get(key.as_str()), after.get(key.as_str()));
                if a != b {
                    let show = |v: Option<&serde_json::Value>| {
                        v.map_or("(unset)".to_owned(), |v| v.to_string())
                    };
                    changes.push(format!("param '{key}' changed: {} -> {}", show(a), show(b)));
                }
            }
        }
        _ if old.params != new.params => changes.push("params changed".to_owned()),
        _ => {}
    }
    for (what, a, b) in [
        ("inputs", &old.inputs, &new.inputs),
        ("outputs", &old.outputs, &new.outputs),
        (
            "optional_outputs",
            &old.optional_outputs,
            &new.optional_outputs,
        ),
    ] {
        if a != b {
            changes.push(format!("{what} changed: {a:?} -> {b:?}"));
        }
    }
    if old.command != new.command {
        let (a, b) = (old.command.as_deref(), new.command.as_deref());
        changes.push(crate::code_digest::explain_command_change(
            a.unwrap_or_default(),
            b.unwrap_or_default(),
        ));
    }
    changes.extend(crate::code_digest::explain_code_changes(
        &old.code, &new.code,
    ));
    if old.code_version != new.code_version {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unset)".to_owned());
        changes.push(format!(
            "version changed: {} -> {}",
            show(&old.code_version),
            show(&new.code_version)
        ));
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(name: &str, outputs: &[&str], size: u64) -> BlockDescription {
        BlockDescription {
            params: serde_json::json!({ "size": size }),
            ..BlockDescription::for_test(name, outputs)
        }
    }

    #[test]
    fn a_change_reaches_later_blocks_but_not_earlier_ones() {
        let mut before = vec![
            block("a", &["a"], 1),
            block("check", &[], 1),
            block("b", &["b"], 1),
        ];
        let mut after = before.clone();
        after[1].params = serde_json::json!({ "size": 2 });
        assign_fingerprints(5, &mut before);
        assign_fingerprints(5, &mut after);
        assert_eq!(before[0].fingerprint, after[0].fingerprint);
        assert_ne!(before[1].fingerprint, after[1].fingerprint);
        // A block without outputs does not feed the chain.
        assert_eq!(before[2].fingerprint, after[2].fingerprint);

        after[0].params = serde_json::json!({ "size": 3 });
        assign_fingerprints(5, &mut after);
        assert_ne!(before[2].fingerprint, after[2].fingerprint);
    }

    #[test]
    fn globs_skip_hidden_files_and_folders() {
        let pattern = OutputPattern::parse("*.json").unwrap();
        assert!(pattern.matches("scene.json"));
        assert!(!pattern.matches(".shardgen.json"));
        assert!(!pattern.matches("debug/x.json"));
        assert!(OutputPattern::parse("a[.png").is_err());
    }
}
