//! The built-in block types, one file each. `Registry::builtin` registers them.
//!
//! The shapes demo is a pipeline of four types: [`Scene`] -> [`Render`] ->
//! [`Augment`] -> [`Annotate`]; `raster` holds their shared geometry and PNG
//! code.

mod annotate;
mod augment;
mod command;
mod random_bytes;
pub(crate) mod raster;
mod render;
mod scene;
pub mod worker;

pub use annotate::{
    Annotate, AnnotateParams, Annotation, AnnotationSource, Category, LabelImage, Labels,
    LABELS_FORMAT_VERSION,
};
pub use augment::{Augment, AugmentParams, DisplacementField, FIELD_MAGIC};
pub use command::CommandBlock;
pub use random_bytes::RandomBytes;
pub use render::{Render, RenderParams};
pub use scene::{
    Background, Scene, SceneDoc, SceneObject, SceneParams, ShapeClass, MAX_OBJECTS,
    SCENE_FORMAT_VERSION,
};
pub use worker::WorkerSettings;

use crate::block::{BlockSetup, Registry};

/// Registers every built-in block type.
pub(crate) fn register_builtin(registry: &mut Registry) {
    registry
        .register::<CommandBlock>()
        .register::<RandomBytes>()
        .register::<Scene>()
        .register::<Render>()
        .register::<Augment>()
        .register::<Annotate>();
}

/// Checks that a block's declared inputs and outputs are exactly the files it
/// reads and writes (in any order), and that it has no optional outputs: a
/// block with fixed file names cannot honour other names.
pub(crate) fn expect_files(
    setup: &BlockSetup,
    inputs: &[&str],
    outputs: &[&str],
) -> Result<(), String> {
    let same = |declared: &[String], real: &[&str]| {
        let mut declared: Vec<&str> = declared.iter().map(String::as_str).collect();
        let mut real = real.to_vec();
        declared.sort_unstable();
        real.sort_unstable();
        declared == real
    };
    let list = |names: &[&str]| format!("[{}]", names.join(", "));
    if !same(&setup.inputs, inputs) {
        return Err(format!(
            "inputs are {:?}, but this block reads exactly {}",
            setup.inputs,
            list(inputs)
        ));
    }
    if !same(&setup.outputs, outputs) {
        return Err(format!(
            "outputs are {:?}, but this block writes exactly {}",
            setup.outputs,
            list(outputs)
        ));
    }
    if !setup.optional_outputs.is_empty() {
        return Err(format!(
            "optional outputs {:?} are not written by this block",
            setup.optional_outputs
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo config's blocks all build with their default inputs/outputs.
    #[test]
    fn shapes_config_builds() {
        let config: serde_yaml::Value =
            serde_yaml::from_str(include_str!("../configs/shapes.yaml")).unwrap();
        let registry = Registry::builtin();
        let blocks = config["blocks"].as_sequence().unwrap();
        assert_eq!(blocks.len(), 4);
        for entry in blocks {
            let type_name = entry["type"].as_str().unwrap();
            let (inputs, outputs) = registry.default_io(type_name).unwrap();
            let owned = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
            let mut setup = BlockSetup {
                name: entry["name"].as_str().unwrap().to_owned(),
                inputs: owned(inputs),
                outputs: owned(outputs),
                ..BlockSetup::default()
            };
            let built = registry
                .build(type_name, &entry["params"], &mut setup)
                .unwrap();
            assert!(built.is_ok(), "{type_name}: {:?}", built.err());
        }
    }

    #[test]
    fn every_param_is_documented() {
        for doc in Registry::builtin().docs() {
            for (param, _, text) in &doc.params {
                assert!(
                    !text.is_empty(),
                    "{}: param '{param}' has no PARAM_DOCS entry",
                    doc.type_name
                );
            }
        }
    }

    #[test]
    fn declared_files_must_match() {
        let setup = |inputs: &[&str], outputs: &[&str]| BlockSetup {
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            ..BlockSetup::default()
        };
        assert!(expect_files(&setup(&["b", "a"], &["c"]), &["a", "b"], &["c"]).is_ok());
        let missing = expect_files(&setup(&["a"], &["c"]), &["a", "b"], &["c"]).unwrap_err();
        assert!(missing.contains("reads exactly [a, b]"), "{missing}");
        let extra = expect_files(&setup(&[], &["c", "d"]), &[], &["c"]).unwrap_err();
        assert!(extra.contains("writes exactly [c]"), "{extra}");
        let mut optional = setup(&[], &["c"]);
        optional.optional_outputs = vec!["d".into()];
        assert!(expect_files(&optional, &[], &["c"]).is_err());
    }
}
