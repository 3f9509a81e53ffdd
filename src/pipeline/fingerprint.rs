//! Fingerprints: the identity of what a block makes for a sample, chained
//! through the pipeline, and the words that say what changed between two
//! declarations of a block.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::pipeline::description::{BlockDescription, PipelineManifest};

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
}
