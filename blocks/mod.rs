//! The built-in block types, one file each. `Registry::builtin` registers them.
//!
//! The shapes demo is a pipeline of four types: [`Scene`] -> [`Render`] ->
//! [`Augment`] -> [`Annotate`]; `raster` holds their shared geometry and PNG
//! code.

mod annotate;
mod augment;
mod random_bytes;
pub(crate) mod raster;
mod render;
mod scene;

pub use annotate::{Annotate, AnnotateParams, AnnotationSource, Labels};
pub use augment::{Augment, AugmentParams, DisplacementField};
pub use random_bytes::RandomBytes;
pub use render::{Render, RenderParams};
pub use scene::{Background, Scene, SceneDoc, SceneObject, SceneParams, ShapeClass};

use crate::block::{BlockSetup, Registry};

/// Registers every built-in block type.
pub(crate) fn register_builtin(registry: &mut Registry) {
    registry
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
