//! The pipeline as a dataset records it: each block's declaration and
//! fingerprint (`BlockDescription`) and the manifest (`.shardgen/pipeline.json`)
//! that lets analyze, statistics and merge work without the config file.

use serde::{Deserialize, Serialize};

/// Format version of `pipeline.json`. Format 2 added `layout`; a manifest of
/// format 1 is one of the flat layout ([`crate::layout::FLAT_LAYOUT`]).
pub(crate) const MANIFEST_FORMAT: u32 = 2;
/// The manifest format of the flat layout, before `layout` existed.
pub(crate) const FLAT_MANIFEST_FORMAT: u32 = 1;

/// How one block was declared in the run that last wrote the dataset: all the
/// later tools (analyze, statistics, merge) need, without the config file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockDescription {
    /// Unique name in the chain.
    pub name: String,
    /// Registered block type.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Version of the block type.
    pub version: u32,
    /// Params after defaults, as JSON.
    pub params: serde_json::Value,
    /// The `command:` argv, for command blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Declared inputs.
    pub inputs: Vec<String>,
    /// Required outputs (names or glob patterns).
    pub outputs: Vec<String>,
    /// Optional outputs.
    pub optional_outputs: Vec<String>,
    /// The block's fingerprint (hex).
    pub fingerprint: String,
    /// Digests of the code files of the block (`code_digest.rs`), by name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub code: std::collections::BTreeMap<String, String>,
    /// The config's `version:` of the block, for changes no file shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_version: Option<String>,
}

impl BlockDescription {
    /// Whether the block declares any output; blocks without outputs run on
    /// every run and never make later blocks rerun.
    pub fn has_outputs(&self) -> bool {
        !self.outputs.is_empty() || !self.optional_outputs.is_empty()
    }
}

#[cfg(test)]
impl BlockDescription {
    /// A `random-bytes`-like block for unit tests, without a fingerprint.
    pub(crate) fn for_test(name: &str, outputs: &[&str]) -> Self {
        Self {
            name: name.into(),
            type_name: "random-bytes".into(),
            version: 1,
            params: serde_json::Value::Null,
            command: None,
            inputs: vec![],
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            optional_outputs: vec![],
            fingerprint: String::new(),
            code: Default::default(),
            code_version: None,
        }
    }
}

/// `.shardgen/pipeline.json`: the master seed and the pipeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct PipelineManifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// The layout of the sample folders ([`crate::layout::LAYOUT_VERSION`]);
    /// absent in manifests of the flat layout.
    #[serde(default = "flat_layout")]
    pub layout: u32,
    /// The master seed.
    pub seed: u64,
    /// The blocks, in chain order.
    pub blocks: Vec<BlockDescription>,
}

/// The layout of a manifest without `layout`: the flat one.
fn flat_layout() -> u32 {
    crate::layout::FLAT_LAYOUT
}
