//! `render`: rasterises `scene.json` into an anti-aliased `image.png` and an
//! exact instance mask `mask.png`.
//!
//! - `image.png`: 8-bit RGB. Each pixel is the background, then every object
//!   back to front composited with its coverage of the pixel,
//!   `clamp(0.5 - d, 0, 1)` for the signed distance `d` from the pixel centre
//!   to the outline (analytic anti-aliasing, about a one-pixel ramp).
//! - `mask.png`: 8-bit grayscale, same size. 0 is background; value `i` is
//!   the object with `id` `i`, the front-most object whose outline contains
//!   the pixel centre. No anti-aliasing: every pixel holds exactly one id.
//!
//! Away from edges (more than half a pixel inside), a mask pixel of object
//! `i` has exactly object `i`'s colour in the image.

use serde::{Deserialize, Serialize};

use crate::block::{Block, BlockError, BlockSetup, SampleContext};

use super::geometry::{to_byte, Shape};
use super::scene::{Background, SceneDoc};
use crate::image::{gray_png_bytes, rgb_png_bytes, GrayImage, RgbImage};

/// Rasterises the scene into an image and an instance mask.
pub(super) struct Render {
    params: RenderParams,
}

/// Params of [`Render`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RenderParams {
    /// Smooth edges with analytic coverage; `false` gives hard edges that
    /// match the mask exactly.
    pub antialias: bool,
}

impl Default for RenderParams {
    fn default() -> Self {
        Self { antialias: true }
    }
}

impl Block for Render {
    const TYPE: &'static str = "render";
    const VERSION: u32 = 1;
    const SUMMARY: &'static str =
        "rasterises scene.json into an anti-aliased image.png and an instance-id mask.png";
    const PARAM_DOCS: &'static [(&'static str, &'static str)] = &[(
        "antialias",
        "smooth edges by analytic pixel coverage; false draws hard edges equal to the mask",
    )];
    const DEFAULT_INPUTS: &'static [&'static str] = &["scene.json"];
    const DEFAULT_OUTPUTS: &'static [&'static str] = &["image.png", "mask.png"];
    type Params = RenderParams;

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
        Ok(Self { params })
    }

    fn run(&self, ctx: &mut SampleContext<'_>) -> Result<(), BlockError> {
        let scene = SceneDoc::read(&ctx.input("scene.json"))?;
        let (image, mask) = render(&scene, self.params.antialias);
        ctx.write_output("image.png", &rgb_png_bytes(&image)?)?;
        ctx.write_output("mask.png", &gray_png_bytes(&mask)?)?;
        let covered = mask.pixels.iter().filter(|&&id| id != 0).count();
        ctx.record_stat("objects", scene.objects.len());
        ctx.record_stat(
            "covered_fraction",
            covered as f64 / mask.pixels.len() as f64,
        );
        Ok(())
    }
}

/// Draws `scene` (already checked by [`SceneDoc::check`]).
pub(crate) fn render(scene: &SceneDoc, antialias: bool) -> (RgbImage, GrayImage) {
    let (width, height) = (scene.width, scene.height);
    let mut colour = background(&scene.background, width, height);
    let mut mask = GrayImage {
        width,
        height,
        pixels: vec![0; colour.len() / 3],
    };
    for object in &scene.objects {
        let paint = object.color.map(f32::from);
        let id = object.id as u8;
        Shape::new(object).for_each_pixel(width, height, |pixel, distance| {
            let coverage = if antialias {
                (0.5 - distance).clamp(0.0, 1.0)
            } else if distance < 0.0 {
                1.0
            } else {
                0.0
            };
            if coverage > 0.0 {
                let rgb = &mut colour[pixel * 3..pixel * 3 + 3];
                for (channel, value) in rgb.iter_mut().zip(paint) {
                    *channel += (value - *channel) * coverage;
                }
            }
            if distance < 0.0 {
                mask.pixels[pixel] = id;
            }
        });
    }
    let image = RgbImage {
        width,
        height,
        pixels: colour.iter().map(|&v| to_byte(v)).collect(),
    };
    (image, mask)
}

/// The background as linear RGB floats, 3 per pixel.
fn background(background: &Background, width: u32, height: u32) -> Vec<f32> {
    let count = width as usize * height as usize;
    match *background {
        Background::Solid { color } => {
            let rgb = color.map(f32::from);
            rgb.iter().copied().cycle().take(count * 3).collect()
        }
        Background::Gradient { from, to, angle } => {
            let (sin, cos) = (angle as f32).sin_cos();
            let (half_w, half_h) = (width as f32 / 2.0, height as f32 / 2.0);
            let reach = half_w * cos.abs() + half_h * sin.abs();
            let (from, to) = (from.map(f32::from), to.map(f32::from));
            let mut pixels = Vec::with_capacity(count * 3);
            for y in 0..height {
                let dy = (y as f32 + 0.5 - half_h) * sin;
                for x in 0..width {
                    let along = (x as f32 + 0.5 - half_w) * cos + dy;
                    let t = (0.5 + 0.5 * along / reach).clamp(0.0, 1.0);
                    pixels.extend((0..3).map(|c| from[c] + (to[c] - from[c]) * t));
                }
            }
            pixels
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::shapes::geometry::{coverage_bits, front_instance};
    use crate::blocks::shapes::scene::{
        Scene, SceneObject, SceneParams, ShapeClass, SCENE_FORMAT_VERSION,
    };
    use crate::image::{read_gray_png, read_rgb_png};

    fn scene() -> SceneDoc {
        let object = |id, class, color, center, radii, rotation| SceneObject {
            id,
            class,
            color,
            center,
            radii,
            rotation,
        };
        SceneDoc {
            version: SCENE_FORMAT_VERSION,
            width: 80,
            height: 60,
            background: Background::Gradient {
                from: [10, 20, 30],
                to: [60, 50, 40],
                angle: 0.4,
            },
            objects: vec![
                object(
                    1,
                    ShapeClass::Rectangle,
                    [200, 0, 0],
                    [30.0, 30.0],
                    [20.0, 12.0],
                    0.3,
                ),
                object(
                    2,
                    ShapeClass::Star,
                    [0, 200, 0],
                    [40.0, 25.0],
                    [18.0, 18.0],
                    1.0,
                ),
                object(
                    3,
                    ShapeClass::Ellipse,
                    [0, 0, 200],
                    [70.0, 50.0],
                    [15.0, 6.0],
                    2.0,
                ),
                // Entirely outside the image.
                object(
                    4,
                    ShapeClass::Circle,
                    [9, 9, 9],
                    [200.0, 200.0],
                    [5.0, 5.0],
                    0.0,
                ),
            ],
        }
    }

    fn setup() -> BlockSetup {
        BlockSetup {
            name: "render".into(),
            inputs: vec!["scene.json".into()],
            outputs: vec!["mask.png".into(), "image.png".into()],
            ..BlockSetup::default()
        }
    }

    /// Checks every pixel whose front-most nearby object covers it by more
    /// than half a pixel: the mask holds that object, the image its exact
    /// colour. Returns how many pixels of each id were checked.
    fn check_interior_colours(scene: &SceneDoc) -> Vec<usize> {
        let (image, mask) = render(scene, true);
        let shapes: Vec<Shape> = scene.objects.iter().map(Shape::new).collect();
        let mut checked = vec![0; scene.objects.len() + 1];
        for y in 0..scene.height {
            for x in 0..scene.width {
                let pixel = (y * scene.width + x) as usize;
                let id = mask.pixels[pixel];
                let front = shapes.iter().zip(&scene.objects).rev().find_map(|(s, o)| {
                    let d = s.signed_distance(x as f32 + 0.5, y as f32 + 0.5);
                    (d < 0.5).then_some((o, d))
                });
                match front {
                    Some((object, d)) if d < -0.5 => {
                        assert_eq!(u32::from(id), object.id, "pixel ({x}, {y})");
                        assert_eq!(image.pixels[pixel * 3..pixel * 3 + 3], object.color);
                        checked[id as usize] += 1;
                    }
                    None => assert_eq!(id, 0, "pixel ({x}, {y}) is background"),
                    _ => {}
                }
            }
        }
        checked
    }

    #[test]
    fn interior_pixels_have_their_objects_colour() {
        let checked = check_interior_colours(&scene());
        assert!(checked[1..4].iter().all(|&n| n > 50), "{checked:?}");
        assert_eq!(checked[4], 0);
        let mut setup = BlockSetup {
            outputs: vec!["scene.json".into()],
            ..BlockSetup::default()
        };
        let drawer = Scene::new(SceneParams::default(), &mut setup).unwrap();
        let mut rng = crate::seed::BlockSeed::derive(2, "scene", 0).rng();
        for _ in 0..10 {
            let checked = check_interior_colours(&drawer.draw(&mut rng));
            assert!(checked.iter().sum::<usize>() > 500);
        }
    }

    #[test]
    fn mask_is_the_front_most_coverage() {
        let scene = scene();
        let (_, mask) = render(&scene, true);
        let bits = coverage_bits(&scene.objects, scene.width, scene.height);
        let expected: Vec<u8> = bits.iter().map(|&b| front_instance(b)).collect();
        assert_eq!(mask.pixels, expected);
        // The star hides part of the rectangle.
        assert!(bits.contains(&0b11));
    }

    #[test]
    fn hard_edges_paint_exactly_the_mask() {
        let scene = scene();
        let (image, mask) = render(&scene, false);
        for (pixel, &id) in mask.pixels.iter().enumerate() {
            if id != 0 {
                let color = scene.objects[id as usize - 1].color;
                assert_eq!(image.pixels[pixel * 3..pixel * 3 + 3], color);
            }
        }
    }

    #[test]
    fn block_writes_pngs_and_stats() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("scene.json"),
            serde_json::to_vec(&scene()).unwrap(),
        )
        .unwrap();
        let block = Render::new(RenderParams::default(), &mut setup()).unwrap();
        let mut ctx = SampleContext::standalone(1, "render", 0, dir.path(), dir.path());
        block.run(&mut ctx).unwrap();
        let (image, mask) = render(&scene(), true);
        assert_eq!(read_rgb_png(&dir.path().join("image.png")).unwrap(), image);
        assert_eq!(read_gray_png(&dir.path().join("mask.png")).unwrap(), mask);
        let covered = mask.pixels.iter().filter(|&&v| v != 0).count() as f64 / 4800.0;
        assert_eq!(ctx.stats()["objects"], 4.0.into());
        assert_eq!(ctx.stats()["covered_fraction"], covered.into());
    }

    #[test]
    fn missing_or_bad_scene_is_a_block_error() {
        let dir = tempfile::tempdir().unwrap();
        let block = Render::new(RenderParams::default(), &mut setup()).unwrap();
        let mut ctx = SampleContext::standalone(1, "render", 0, dir.path(), dir.path());
        assert!(block.run(&mut ctx).is_err());
        let mut bad = scene();
        bad.width = 0;
        std::fs::write(
            dir.path().join("scene.json"),
            serde_json::to_vec(&bad).unwrap(),
        )
        .unwrap();
        let err = block.run(&mut ctx).unwrap_err();
        assert!(err.reason().contains("image size"), "{err}");
    }

    #[test]
    fn wrong_outputs_are_a_config_error() {
        let mut wrong = setup();
        wrong.outputs = vec!["image.png".into()];
        let err = Render::new(RenderParams::default(), &mut wrong)
            .err()
            .unwrap();
        assert!(err.contains("mask.png"), "{err}");
    }
}
