//! `scene`: draws a random 2-D scene (background and shapes) into
//! `scene.json`, the single source of truth the later shapes blocks
//! (`render`, `augment`, `annotate`) rasterise and label.
//!
//! # `scene.json`
//!
//! ```json
//! {
//!   "version": 1,
//!   "width": 256, "height": 256,
//!   "background": {"kind": "gradient", "from": [20, 30, 40], "to": [90, 80, 70], "angle": 1.2},
//!   "objects": [
//!     {"id": 1, "class": "star", "color": [230, 40, 20],
//!      "center": [101.5, 60.25], "radii": [30.0, 30.0], "rotation": 0.3}
//!   ]
//! }
//! ```
//!
//! - Coordinates are pixels, x right, y down; pixel `(x, y)` spans
//!   `[x, x+1) × [y, y+1)`. Angles are radians, clockwise on screen.
//! - `background` is `{"kind": "solid", "color": [r, g, b]}` or a linear
//!   gradient from `from` to `to` along the direction `angle`, across the
//!   image's extent in that direction.
//! - `objects` are in depth order, back to front: object `i` (1-based `id`)
//!   hides objects `1..i` where they overlap. The `id` is the object's value
//!   in the instance masks.
//! - `radii` are the semi-axes along the object's own x and y before
//!   rotation: the radius of a circle (both equal), the semi-axes of an
//!   ellipse, the half-width and half-height of a rectangle, and for
//!   `triangle`, `hexagon` and `star` (both equal) the circumradius; their
//!   first corner points up before rotation; a star's inner corners are at
//!   0.45 of its radius.

use std::path::Path;

use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::block::{Block, BlockError, BlockSetup, SampleContext};

use crate::image::{hsv_to_rgb, MAX_SIDE};

/// Version of the `scene.json` format.
pub(super) const SCENE_FORMAT_VERSION: u32 = 1;

/// Most objects a scene may hold: instance ids must fit the renderer's
/// 64-bit coverage sets and an 8-bit mask.
pub(super) const MAX_OBJECTS: usize = 64;

/// The kinds of shape a scene can hold. Serialized in lowercase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum ShapeClass {
    /// A disc (`radii` equal).
    Circle,
    /// An ellipse.
    Ellipse,
    /// A rectangle.
    Rectangle,
    /// An equilateral triangle.
    Triangle,
    /// A five-pointed star.
    Star,
    /// A regular hexagon.
    Hexagon,
}

impl ShapeClass {
    /// Every class, in category-id order.
    pub(super) const ALL: [ShapeClass; 6] = [
        ShapeClass::Circle,
        ShapeClass::Ellipse,
        ShapeClass::Rectangle,
        ShapeClass::Triangle,
        ShapeClass::Star,
        ShapeClass::Hexagon,
    ];

    /// The lowercase name used in files.
    pub(super) fn name(self) -> &'static str {
        match self {
            ShapeClass::Circle => "circle",
            ShapeClass::Ellipse => "ellipse",
            ShapeClass::Rectangle => "rectangle",
            ShapeClass::Triangle => "triangle",
            ShapeClass::Star => "star",
            ShapeClass::Hexagon => "hexagon",
        }
    }

    /// The COCO category id: 1-based position in [`ShapeClass::ALL`].
    pub(super) fn category_id(self) -> u32 {
        Self::ALL.iter().position(|&c| c == self).unwrap_or(0) as u32 + 1
    }

    /// Whether the class has two independent radii.
    fn is_elongated(self) -> bool {
        matches!(self, ShapeClass::Ellipse | ShapeClass::Rectangle)
    }
}

/// The background of a scene.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub(super) enum Background {
    /// One colour everywhere.
    Solid {
        /// RGB colour.
        color: [u8; 3],
    },
    /// A linear gradient across the image along direction `angle`.
    Gradient {
        /// Colour at the start of the gradient.
        from: [u8; 3],
        /// Colour at its end.
        to: [u8; 3],
        /// Direction from `from` to `to`, radians clockwise from +x.
        angle: f64,
    },
}

/// One shape of a scene.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SceneObject {
    /// Instance id: 1-based position in the depth order, the mask value.
    pub id: u32,
    /// The kind of shape.
    pub class: ShapeClass,
    /// RGB fill colour.
    pub color: [u8; 3],
    /// Centre in pixels.
    pub center: [f64; 2],
    /// Semi-axes in pixels along the shape's own axes (see the module doc).
    pub radii: [f64; 2],
    /// Rotation in radians, clockwise on screen.
    pub rotation: f64,
}

/// The contents of `scene.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SceneDoc {
    /// [`SCENE_FORMAT_VERSION`].
    pub version: u32,
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// The background.
    pub background: Background,
    /// The shapes, back to front.
    pub objects: Vec<SceneObject>,
}

impl SceneDoc {
    /// Reads and checks a `scene.json`.
    pub(super) fn read(path: &Path) -> Result<Self, BlockError> {
        let text =
            std::fs::read(path).map_err(|e| BlockError::new(format!("{}: {e}", path.display())))?;
        let scene: SceneDoc = serde_json::from_slice(&text)
            .map_err(|e| BlockError::new(format!("{}: {e}", path.display())))?;
        scene
            .check()
            .map_err(|e| BlockError::new(format!("{}: {e}", path.display())))?;
        Ok(scene)
    }

    /// Checks what the renderer relies on: version, size, object count, ids in
    /// order, finite geometry and positive radii.
    pub(super) fn check(&self) -> Result<(), String> {
        if self.version != SCENE_FORMAT_VERSION {
            return Err(format!(
                "scene format version {} (expected {SCENE_FORMAT_VERSION})",
                self.version
            ));
        }
        check_size(self.width, self.height)?;
        if self.objects.len() > MAX_OBJECTS {
            return Err(format!(
                "{} objects (at most {MAX_OBJECTS})",
                self.objects.len()
            ));
        }
        for (index, object) in self.objects.iter().enumerate() {
            if object.id as usize != index + 1 {
                return Err(format!(
                    "object {} has id {} (ids must be 1, 2, ... in depth order)",
                    index + 1,
                    object.id
                ));
            }
            let numbers = [
                object.center[0],
                object.center[1],
                object.radii[0],
                object.radii[1],
                object.rotation,
            ];
            if numbers.iter().any(|v| !v.is_finite() || v.abs() > 1e6) {
                return Err(format!(
                    "object {} has a non-finite or huge coordinate",
                    object.id
                ));
            }
            if object.radii[0] <= 0.0 || object.radii[1] <= 0.0 {
                return Err(format!("object {} has a radius <= 0", object.id));
            }
        }
        if let Background::Gradient { angle, .. } = self.background {
            if !angle.is_finite() {
                return Err("background angle is not finite".into());
            }
        }
        Ok(())
    }
}

fn check_size(width: u32, height: u32) -> Result<(), String> {
    if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
        return Err(format!(
            "image size {width}×{height} must be 1..={MAX_SIDE} pixels a side"
        ));
    }
    Ok(())
}

/// Draws a random scene per sample into `scene.json`.
pub(super) struct Scene {
    params: SceneParams,
}

/// Params of [`Scene`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct SceneParams {
    /// Image width in pixels.
    pub width: u32,
    /// Image height in pixels.
    pub height: u32,
    /// Fewest objects per scene.
    pub min_objects: usize,
    /// Most objects per scene (at most 64).
    pub max_objects: usize,
    /// Smallest object radius, as a fraction of the shorter image side.
    pub min_radius: f64,
    /// Largest object radius, as a fraction of the shorter image side.
    pub max_radius: f64,
    /// The classes drawn from, uniformly.
    pub classes: Vec<ShapeClass>,
    /// Probability that the background is a gradient rather than solid.
    pub gradient_probability: f64,
}

impl Default for SceneParams {
    fn default() -> Self {
        Self {
            width: 256,
            height: 256,
            min_objects: 2,
            max_objects: 6,
            min_radius: 0.06,
            max_radius: 0.2,
            classes: ShapeClass::ALL.to_vec(),
            gradient_probability: 0.5,
        }
    }
}

impl Block for Scene {
    const TYPE: &'static str = "scene";
    const VERSION: u32 = 1;
    const SUMMARY: &'static str =
        "draws a random 2-D scene of coloured shapes over a background into scene.json";
    const PARAM_DOCS: &'static [(&'static str, &'static str)] = &[
        ("width", "image width in pixels (1..=8192)"),
        ("height", "image height in pixels (1..=8192)"),
        ("min_objects", "fewest objects per scene"),
        ("max_objects", "most objects per scene (at most 64)"),
        (
            "min_radius",
            "smallest object radius, fraction of the shorter image side",
        ),
        (
            "max_radius",
            "largest object radius, fraction of the shorter image side",
        ),
        (
            "classes",
            "classes drawn from uniformly: circle, ellipse, rectangle, triangle, star, hexagon",
        ),
        (
            "gradient_probability",
            "probability of a linear-gradient background instead of a solid one",
        ),
    ];
    const DEFAULT_INPUTS: &'static [&'static str] = &[];
    const DEFAULT_OUTPUTS: &'static [&'static str] = &["scene.json"];
    type Params = SceneParams;

    /// It writes its outputs with plain file writes and nothing else.
    fn writes_only_out_dir(&self) -> bool {
        true
    }

    /// Every output goes through [`SampleContext::write_output`].
    fn writes_only_through_context(&self) -> bool {
        true
    }

    fn new(params: Self::Params, setup: &mut BlockSetup) -> Result<Self, String> {
        super::declared::expect_files(setup, Self::DEFAULT_INPUTS, Self::DEFAULT_OUTPUTS)?;
        check_size(params.width, params.height)?;
        if params.min_objects > params.max_objects || params.max_objects > MAX_OBJECTS {
            return Err(format!(
                "need min_objects <= max_objects <= {MAX_OBJECTS}, got {} and {}",
                params.min_objects, params.max_objects
            ));
        }
        if !(params.min_radius > 0.0
            && params.min_radius <= params.max_radius
            && params.max_radius <= 1.0)
        {
            return Err(format!(
                "need 0 < min_radius <= max_radius <= 1, got {} and {}",
                params.min_radius, params.max_radius
            ));
        }
        if params.classes.is_empty() {
            return Err("classes must name at least one class".into());
        }
        if !(0.0..=1.0).contains(&params.gradient_probability) {
            return Err(format!(
                "gradient_probability must be in [0, 1], got {}",
                params.gradient_probability
            ));
        }
        Ok(Self { params })
    }

    fn run(&self, ctx: &mut SampleContext<'_>) -> Result<(), BlockError> {
        let scene = self.draw(ctx.rng());
        let json = serde_json::to_vec_pretty(&scene).map_err(BlockError::new)?;
        ctx.write_output("scene.json", &json)?;
        ctx.record_stat("objects", scene.objects.len());
        let kind = match scene.background {
            Background::Solid { .. } => "solid",
            Background::Gradient { .. } => "gradient",
        };
        ctx.record_stat("background", kind);
        Ok(())
    }
}

impl Scene {
    /// Draws one scene. The order of draws is part of the format: background
    /// kind and colours, object count, then per object class, colour, centre,
    /// radius, aspect (elongated classes only) and rotation.
    pub(crate) fn draw(&self, rng: &mut impl Rng) -> SceneDoc {
        let p = &self.params;
        let (width, height) = (f64::from(p.width), f64::from(p.height));
        let background = if rng.random::<f64>() < p.gradient_probability {
            Background::Gradient {
                from: muted_color(rng),
                to: muted_color(rng),
                angle: rng.random_range(0.0..std::f64::consts::TAU),
            }
        } else {
            Background::Solid {
                color: muted_color(rng),
            }
        };
        let count = rng.random_range(p.min_objects..=p.max_objects);
        let side = width.min(height);
        let objects = (0..count)
            .map(|index| {
                let class = p.classes[rng.random_range(0..p.classes.len())];
                let color = vivid_color(rng);
                let center = [
                    rng.random_range(0.05 * width..=0.95 * width),
                    rng.random_range(0.05 * height..=0.95 * height),
                ];
                let radius = rng.random_range(p.min_radius..=p.max_radius) * side;
                let aspect = if class.is_elongated() {
                    rng.random_range(0.4..=0.9)
                } else {
                    1.0
                };
                let rotation = if class == ShapeClass::Circle {
                    0.0
                } else {
                    rng.random_range(0.0..std::f64::consts::TAU)
                };
                SceneObject {
                    id: index as u32 + 1,
                    class,
                    color,
                    center,
                    radii: [radius, radius * aspect],
                    rotation,
                }
            })
            .collect();
        SceneDoc {
            version: SCENE_FORMAT_VERSION,
            width: p.width,
            height: p.height,
            background,
            objects,
        }
    }
}

/// A saturated, bright colour for objects.
fn vivid_color(rng: &mut impl Rng) -> [u8; 3] {
    let hue = rng.random::<f64>();
    let saturation = rng.random_range(0.55..=1.0);
    let value = rng.random_range(0.6..=1.0);
    hsv_to_rgb(hue, saturation, value)
}

/// A greyish, darker colour for backgrounds, so objects stand out.
fn muted_color(rng: &mut impl Rng) -> [u8; 3] {
    let hue = rng.random::<f64>();
    let saturation = rng.random_range(0.0..=0.35);
    let value = rng.random_range(0.1..=0.5);
    hsv_to_rgb(hue, saturation, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(outputs: &[&str]) -> BlockSetup {
        BlockSetup {
            name: "scene".into(),
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            ..BlockSetup::default()
        }
    }

    #[test]
    fn scenes_follow_the_params() {
        let params = SceneParams {
            width: 100,
            height: 50,
            min_objects: 3,
            max_objects: 4,
            classes: vec![ShapeClass::Star, ShapeClass::Ellipse],
            ..SceneParams::default()
        };
        let block = Scene::new(params, &mut setup(&["scene.json"])).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for sample in 0..20 {
            let mut ctx = SampleContext::standalone(5, "scene", sample, dir.path(), dir.path());
            block.run(&mut ctx).unwrap();
            let scene = SceneDoc::read(&dir.path().join("scene.json")).unwrap();
            assert_eq!((scene.width, scene.height), (100, 50));
            assert!((3..=4).contains(&scene.objects.len()));
            for object in &scene.objects {
                assert!(matches!(
                    object.class,
                    ShapeClass::Star | ShapeClass::Ellipse
                ));
                assert!(object.radii[0] >= 0.06 * 50.0 - 1e-9);
                assert!(object.radii[0] <= 0.2 * 50.0 + 1e-9);
            }
        }
    }

    #[test]
    fn bad_configs_are_rejected() {
        let defaults = SceneParams::default;
        let err = |params, outputs: &[&str]| Scene::new(params, &mut setup(outputs)).err();
        assert!(err(defaults(), &["scene.json"]).is_none());
        assert!(err(defaults(), &["other.json"])
            .unwrap()
            .contains("scene.json"));
        let too_many = SceneParams {
            max_objects: 65,
            ..defaults()
        };
        assert!(err(too_many, &["scene.json"]).unwrap().contains("64"));
        let no_classes = SceneParams {
            classes: vec![],
            ..defaults()
        };
        assert!(err(no_classes, &["scene.json"]).is_some());
        let flat = SceneParams {
            height: 0,
            ..defaults()
        };
        assert!(err(flat, &["scene.json"]).is_some());
    }

    #[test]
    fn unknown_params_and_classes_fail_to_parse() {
        assert!(serde_json::from_str::<SceneParams>(r#"{"max_objets": 3}"#).is_err());
        assert!(serde_json::from_str::<SceneParams>(r#"{"classes": ["blob"]}"#).is_err());
        let parsed: SceneParams = serde_json::from_str(r#"{"classes": ["hexagon"]}"#).unwrap();
        assert_eq!(parsed.classes, vec![ShapeClass::Hexagon]);
        assert_eq!(parsed.max_objects, 6);
    }

    #[test]
    fn malformed_scenes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scene.json");
        let mut scene = Scene::new(SceneParams::default(), &mut setup(&["scene.json"]))
            .unwrap()
            .draw(&mut crate::seed::BlockSeed::derive(1, "scene", 0).rng());
        scene.objects[0].id = 7;
        std::fs::write(&path, serde_json::to_vec(&scene).unwrap()).unwrap();
        assert!(SceneDoc::read(&path).unwrap_err().reason().contains("id 7"));
        std::fs::write(&path, b"{").unwrap();
        assert!(SceneDoc::read(&path).is_err());
    }
}
