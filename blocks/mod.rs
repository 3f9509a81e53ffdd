//! The built-in block types, one file each, and [`Registry::builtin`].
//!
//! `command` and `random-bytes` are the generic blocks. The shapes demo
//! (`shapes/`, behind the default-on cargo feature `shapes`) is example
//! content: the engine never depends on it.

mod child;
mod command;
mod random_bytes;
#[cfg(feature = "shapes")]
pub(crate) mod shapes;
pub(crate) mod worker;

pub(crate) use command::CommandBlock;
pub(crate) use random_bytes::RandomBytes;

use crate::block::Registry;

impl Registry {
    /// The built-in block types: `command`, `random-bytes` and, with the
    /// default feature `shapes`, the demo's `scene`, `render`, `augment` and
    /// `annotate`.
    pub fn builtin() -> Self {
        let mut registry = Self::new();
        registry
            .register::<CommandBlock>()
            .register::<RandomBytes>();
        #[cfg(feature = "shapes")]
        shapes::register(&mut registry);
        registry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo config's blocks all build with their default inputs/outputs.
    #[cfg(feature = "shapes")]
    #[test]
    fn shapes_config_builds() {
        use crate::block::BlockSetup;
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
}
