//! `shardgen blocks`: every registered block type with its params, inputs
//! and outputs.

use std::fmt::Write as _;

use crate::block::Registry;

/// Lists the types of `registry`, sorted by name.
pub(in crate::cli) fn blocks_text(registry: &Registry) -> String {
    let mut text = String::new();
    for doc in registry.docs() {
        let _ = writeln!(
            text,
            "{} (version {})\n  {}",
            doc.type_name, doc.version, doc.summary
        );
        if !doc.inputs.is_empty() {
            let _ = writeln!(text, "  inputs:  {}", doc.inputs.join(", "));
        }
        if !doc.outputs.is_empty() {
            let _ = writeln!(text, "  outputs: {}", doc.outputs.join(", "));
        }
        for (name, default, description) in &doc.params {
            let _ = writeln!(text, "  param {name} = {default}: {description}");
        }
        text.push('\n');
    }
    text
}
