//! The built-in block types, one file each. `Registry::builtin` registers them.

mod command;
mod random_bytes;

pub use command::CommandBlock;
pub use random_bytes::RandomBytes;

use crate::block::Registry;

/// Registers every built-in block type.
pub(crate) fn register_builtin(registry: &mut Registry) {
    registry.register::<CommandBlock>();
    registry.register::<RandomBytes>();
}
