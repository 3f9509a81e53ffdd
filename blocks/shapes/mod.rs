//! The shapes demo: a 2-D synthetic dataset for detection and segmentation,
//! a pipeline of four block types: [`Scene`] -> [`Render`] -> [`Augment`] ->
//! [`Annotate`]. `geometry` holds how shapes cover pixels; the PNG files they
//! pass between each other come from [`crate::image`].
//!
//! It is example content, compiled with the default cargo feature `shapes`;
//! `docs/blocks.md` documents its file formats and statistics.

mod annotate;
mod augment;
mod declared;
mod geometry;
mod render;
mod scene;

use annotate::Annotate;
use augment::Augment;
use render::Render;
use scene::Scene;

use crate::block::Registry;

/// Registers the four shapes block types.
pub(crate) fn register(registry: &mut Registry) {
    registry
        .register::<Scene>()
        .register::<Render>()
        .register::<Augment>()
        .register::<Annotate>();
}
