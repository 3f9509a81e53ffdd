//! `augment`: a smooth random elastic deformation applied to `image.png` and
//! `mask.png` alike, then seeded photometric noise on the image.
//!
//! - `image_aug.png` (8-bit RGB): the image warped with bilinear sampling,
//!   then `v' = (v - 127.5) · contrast + 127.5 + brightness + noise`, rounded
//!   and clamped, with one Gaussian noise value per pixel and channel.
//! - `mask_aug.png` (8-bit grayscale): the mask warped with nearest-neighbour
//!   sampling, so every value is an instance id of `mask.png`.
//! - `field.bin`: the displacement field both used (see
//!   [`DisplacementField`]).
//!
//! Samples outside the image take the nearest border pixel, in both images.
//! The random draws from the block's stream, in order: brightness, contrast,
//! the control grid of the field (dx then dy per point, row by row), then a
//! 256-bit key of a ChaCha8 stream that gives the noise (standard normal by
//! ziggurat, `rand_distr::StandardNormal`), pixel by pixel, R, G, B.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::block::{Block, BlockError, BlockSetup, SampleContext};

use super::geometry::to_byte;
use crate::image::{
    gray_png_bytes, read_gray_png, read_rgb_png, rgb_png_bytes, GrayImage, RgbImage, MAX_SIDE,
};

/// First bytes of a `field.bin` file.
pub(super) const FIELD_MAGIC: &[u8; 8] = b"SGFIELD1";

/// A per-pixel backward displacement: output pixel `(x, y)` takes its value
/// from input position `(x + dx, y + dy)`, in pixel-index coordinates (pixel
/// centres at integers).
///
/// # `field.bin`
///
/// ```text
/// offset 0   8 bytes   magic "SGFIELD1"
/// offset 8   u32 LE    width
/// offset 12  u32 LE    height
/// offset 16  width·height pairs of (f32 LE dx, f32 LE dy), row-major
/// ```
#[derive(Clone, Debug, PartialEq)]
pub(super) struct DisplacementField {
    width: u32,
    height: u32,
    offsets: Vec<[f32; 2]>,
}

impl DisplacementField {
    /// The identity field: no displacement.
    #[cfg(test)]
    pub(super) fn identity(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            offsets: vec![[0.0; 2]; width as usize * height as usize],
        }
    }

    /// A smooth random field: displacements uniform in `[-amplitude,
    /// amplitude]` on a grid of control points `spacing` pixels apart,
    /// blended between them with smoothstep weights (C1-continuous).
    pub(crate) fn random(
        width: u32,
        height: u32,
        amplitude: f32,
        spacing: f32,
        rng: &mut impl Rng,
    ) -> Self {
        let points = |size: u32| ((size.saturating_sub(1)) as f32 / spacing).ceil() as usize + 2;
        let (columns, rows) = (points(width), points(height));
        let grid: Vec<[f32; 2]> = (0..columns * rows)
            .map(|_| {
                let mut draw = || (rng.random::<f32>() * 2.0 - 1.0) * amplitude;
                let dx = draw();
                [dx, draw()]
            })
            .collect();
        // Cell index and smoothstep weight of each column, then of each row.
        let weights = |size: u32| -> Vec<(usize, f32)> {
            (0..size)
                .map(|i| {
                    let position = i as f32 / spacing;
                    let cell = position.floor();
                    let t = position - cell;
                    (cell as usize, t * t * (3.0 - 2.0 * t))
                })
                .collect()
        };
        let (across, down) = (weights(width), weights(height));
        let mut offsets = Vec::with_capacity(width as usize * height as usize);
        for &(row, wy) in &down {
            let top = &grid[row * columns..];
            let bottom = &grid[(row + 1) * columns..];
            for &(column, wx) in &across {
                let blend = |k: usize| {
                    let upper = top[column][k] + (top[column + 1][k] - top[column][k]) * wx;
                    let lower =
                        bottom[column][k] + (bottom[column + 1][k] - bottom[column][k]) * wx;
                    upper + (lower - upper) * wy
                };
                offsets.push([blend(0), blend(1)]);
            }
        }
        Self {
            width,
            height,
            offsets,
        }
    }

    /// Width in pixels.
    pub(super) fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub(super) fn height(&self) -> u32 {
        self.height
    }

    /// The `(dx, dy)` of each pixel, row-major.
    #[cfg(test)]
    pub(super) fn offsets(&self) -> &[[f32; 2]] {
        &self.offsets
    }

    /// The largest displacement length in pixels.
    pub(super) fn max_displacement(&self) -> f32 {
        self.offsets
            .iter()
            .map(|[dx, dy]| (dx * dx + dy * dy).sqrt())
            .fold(0.0, f32::max)
    }

    /// The input position sampled by output pixel `(x, y)`, clamped to the
    /// image.
    fn source(&self, x: u32, y: u32) -> (f32, f32) {
        let [dx, dy] = self.offsets[y as usize * self.width as usize + x as usize];
        // `max`/`min` rather than `clamp`, which branches.
        (
            (x as f32 + dx).max(0.0).min((self.width - 1) as f32),
            (y as f32 + dy).max(0.0).min((self.height - 1) as f32),
        )
    }

    /// For each output pixel, the index of the input pixel nearest to the
    /// position it samples: the mapping of nearest-neighbour warps.
    pub(super) fn nearest_sources(&self) -> Vec<usize> {
        let mut sources = Vec::with_capacity(self.offsets.len());
        for y in 0..self.height {
            for x in 0..self.width {
                let (sx, sy) = self.source(x, y);
                // Non-negative after clamping: adding a half and truncating rounds.
                // (`as i32` is one instruction, `as usize` several.)
                let (column, row) = ((sx + 0.5) as i32 as usize, (sy + 0.5) as i32 as usize);
                sources.push(row * self.width as usize + column);
            }
        }
        sources
    }

    /// The field in the `field.bin` format.
    pub(super) fn bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(16 + self.offsets.len() * 8);
        bytes.extend_from_slice(FIELD_MAGIC);
        bytes.extend_from_slice(&self.width.to_le_bytes());
        bytes.extend_from_slice(&self.height.to_le_bytes());
        for [dx, dy] in &self.offsets {
            bytes.extend_from_slice(&dx.to_le_bytes());
            bytes.extend_from_slice(&dy.to_le_bytes());
        }
        bytes
    }

    /// Reads a `field.bin`, checking its magic, size and values.
    pub(super) fn read(path: &Path) -> Result<Self, BlockError> {
        let bad = |what: &str| BlockError::new(format!("{}: {what}", path.display()));
        let bytes =
            std::fs::read(path).map_err(|e| BlockError::new(format!("{}: {e}", path.display())))?;
        if bytes.len() < 16 || &bytes[..8] != FIELD_MAGIC {
            return Err(bad("not a displacement field (bad magic)"));
        }
        let word = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let (width, height) = (word(8), word(12));
        if width == 0 || height == 0 || width > MAX_SIDE || height > MAX_SIDE {
            return Err(bad(&format!("bad size {width}×{height}")));
        }
        let count = width as usize * height as usize;
        if bytes.len() != 16 + count * 8 {
            return Err(bad(&format!(
                "{} bytes, expected {} for {width}×{height}",
                bytes.len(),
                16 + count * 8
            )));
        }
        let offsets: Vec<[f32; 2]> = bytes[16..]
            .chunks_exact(8)
            .map(|c| {
                [
                    f32::from_le_bytes([c[0], c[1], c[2], c[3]]),
                    f32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                ]
            })
            .collect();
        if offsets.iter().flatten().any(|v| !v.is_finite()) {
            return Err(bad("non-finite displacement"));
        }
        Ok(Self {
            width,
            height,
            offsets,
        })
    }
}

/// Warps the rendered image and mask and adds photometric noise.
pub(super) struct Augment {
    params: Settings,
}

/// The params in the precision the pixel math uses. The config side is f64 so
/// that params print as written (`0.1`, not `0.10000000149011612`).
struct Settings {
    brightness: f32,
    contrast: f32,
    noise_sigma: f32,
    elastic_amplitude: f32,
    elastic_spacing: f32,
}

/// Params of [`Augment`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct AugmentParams {
    /// Largest brightness shift, as a fraction of the 8-bit range.
    pub brightness: f64,
    /// Largest relative contrast change: the factor is in `[1-c, 1+c]`.
    pub contrast: f64,
    /// Standard deviation of the Gaussian noise, in 8-bit levels.
    pub noise_sigma: f64,
    /// Largest displacement of a control point along each axis, in pixels.
    pub elastic_amplitude: f64,
    /// Distance between control points, in pixels.
    pub elastic_spacing: f64,
}

impl Default for AugmentParams {
    fn default() -> Self {
        Self {
            brightness: 0.1,
            contrast: 0.2,
            noise_sigma: 3.0,
            elastic_amplitude: 4.0,
            elastic_spacing: 48.0,
        }
    }
}

impl Block for Augment {
    const TYPE: &'static str = "augment";
    const VERSION: u32 = 1;
    const SUMMARY: &'static str =
        "warps image.png and mask.png by a smooth random field and adds brightness, contrast and noise";
    const PARAM_DOCS: &'static [(&'static str, &'static str)] = &[
        (
            "brightness",
            "largest brightness shift, fraction of the 8-bit range (0..=1)",
        ),
        (
            "contrast",
            "largest relative contrast change: factor drawn in [1-c, 1+c] (0..1)",
        ),
        (
            "noise_sigma",
            "standard deviation of per-pixel Gaussian noise, 8-bit levels (0..=128)",
        ),
        (
            "elastic_amplitude",
            "largest control-point displacement along each axis in pixels (at most elastic_spacing/3, so the warp never folds)",
        ),
        (
            "elastic_spacing",
            "distance between displacement control points in pixels (>= 2)",
        ),
    ];
    const DEFAULT_INPUTS: &'static [&'static str] = &["image.png", "mask.png"];
    const DEFAULT_OUTPUTS: &'static [&'static str] =
        &["image_aug.png", "mask_aug.png", "field.bin"];
    type Params = AugmentParams;

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
        let p = &params;
        let checks = [
            (
                (0.0..=1.0).contains(&p.brightness),
                "brightness must be in [0, 1]",
            ),
            (
                (0.0..1.0).contains(&p.contrast),
                "contrast must be in [0, 1)",
            ),
            (
                (0.0..=128.0).contains(&p.noise_sigma),
                "noise_sigma must be in [0, 128]",
            ),
            (
                p.elastic_spacing >= 2.0 && p.elastic_spacing <= 1e6,
                "elastic_spacing must be in [2, 1e6]",
            ),
            (
                p.elastic_amplitude >= 0.0 && p.elastic_amplitude * 3.0 <= p.elastic_spacing,
                "elastic_amplitude must be in [0, elastic_spacing/3]",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, message)) => Err((*message).to_owned()),
            None => Ok(Self {
                params: Settings {
                    brightness: params.brightness as f32,
                    contrast: params.contrast as f32,
                    noise_sigma: params.noise_sigma as f32,
                    elastic_amplitude: params.elastic_amplitude as f32,
                    elastic_spacing: params.elastic_spacing as f32,
                },
            }),
        }
    }

    fn run(&self, ctx: &mut SampleContext<'_>) -> Result<(), BlockError> {
        let image = read_rgb_png(&ctx.input("image.png"))?;
        let mask = read_gray_png(&ctx.input("mask.png"))?;
        if (image.width, image.height) != (mask.width, mask.height) {
            return Err(BlockError::new(format!(
                "image.png is {}×{} but mask.png is {}×{}",
                image.width, image.height, mask.width, mask.height
            )));
        }
        let p = &self.params;
        let rng = ctx.rng();
        let brightness = (rng.random::<f32>() * 2.0 - 1.0) * p.brightness * 255.0;
        let contrast = 1.0 + (rng.random::<f32>() * 2.0 - 1.0) * p.contrast;
        let field = DisplacementField::random(
            image.width,
            image.height,
            p.elastic_amplitude,
            p.elastic_spacing,
            rng,
        );
        // The noise takes most of the random numbers: it draws from a
        // ChaCha8 stream keyed by the block's stream, 2.5 times as fast.
        let mut noise_rng = ChaCha8Rng::from_rng(rng);
        let warped = warp_bilinear(&image, &field, |value| {
            let mut v = (value - 127.5) * contrast + 127.5 + brightness;
            if p.noise_sigma > 0.0 {
                let z: f32 = noise_rng.sample(StandardNormal);
                v += z * p.noise_sigma;
            }
            to_byte(v)
        });
        let warped_mask = GrayImage {
            width: mask.width,
            height: mask.height,
            pixels: field
                .nearest_sources()
                .into_iter()
                .map(|source| mask.pixels[source])
                .collect(),
        };
        ctx.write_output("image_aug.png", &rgb_png_bytes(&warped)?)?;
        ctx.write_output("mask_aug.png", &gray_png_bytes(&warped_mask)?)?;
        ctx.write_output("field.bin", &field.bytes())?;
        ctx.record_stat("brightness", f64::from(brightness));
        ctx.record_stat("contrast", f64::from(contrast));
        ctx.record_stat("max_displacement", f64::from(field.max_displacement()));
        Ok(())
    }
}

/// Samples `image` at each pixel's displaced position, bilinearly, and stores
/// `finish(sampled value)` for each channel, pixel by pixel, row by row.
fn warp_bilinear(
    image: &RgbImage,
    field: &DisplacementField,
    mut finish: impl FnMut(f32) -> u8,
) -> RgbImage {
    let mut out = RgbImage::new(image.width, image.height);
    let (w, h) = (image.width as usize, image.height as usize);
    let mut targets = out.pixels.chunks_exact_mut(3);
    for y in 0..image.height {
        for x in 0..image.width {
            let (sx, sy) = field.source(x, y);
            // Non-negative after clamping: truncation is the floor.
            let (x0, y0) = (sx as i32 as usize, sy as i32 as usize);
            let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
            let right = if x0 + 1 < w { 3 } else { 0 };
            let below = if y0 + 1 < h { 3 * w } else { 0 };
            let at = (y0 * w + x0) * 3;
            let corner = |offset: usize| -> [f32; 3] {
                let p = &image.pixels[at + offset..at + offset + 3];
                [f32::from(p[0]), f32::from(p[1]), f32::from(p[2])]
            };
            let (a, b, c, d) = (
                corner(0),
                corner(right),
                corner(below),
                corner(below + right),
            );
            let Some(target) = targets.next() else { break };
            for k in 0..3 {
                let top = a[k] + (b[k] - a[k]) * fx;
                let bottom = c[k] + (d[k] - c[k]) * fx;
                target[k] = finish(top + (bottom - top) * fy);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded(n: u64) -> rand_chacha::ChaCha20Rng {
        crate::seed::BlockSeed::derive(n, "augment", 0).rng()
    }

    #[test]
    fn random_fields_are_bounded_and_smooth() {
        let field = DisplacementField::random(100, 70, 5.0, 20.0, &mut seeded(1));
        assert_eq!(field.offsets().len(), 7000);
        assert!(field.max_displacement() <= 5.0 * 2f32.sqrt() + 1e-4);
        assert!(field.max_displacement() > 1.0);
        for y in 0..70 {
            for x in 1..100 {
                let a = field.offsets()[y * 100 + x - 1];
                let b = field.offsets()[y * 100 + x];
                // Slope at most 3·amplitude/spacing per axis.
                assert!((a[0] - b[0]).abs() <= 0.75 + 1e-4 && (a[1] - b[1]).abs() <= 0.75 + 1e-4);
            }
        }
    }

    #[test]
    fn field_files_round_trip_and_reject_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("field.bin");
        let field = DisplacementField::random(9, 4, 2.0, 8.0, &mut seeded(2));
        std::fs::write(&path, field.bytes()).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 16 + 36 * 8);
        assert_eq!(DisplacementField::read(&path).unwrap(), field);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.pop();
        std::fs::write(&path, &bytes).unwrap();
        assert!(DisplacementField::read(&path)
            .unwrap_err()
            .reason()
            .contains("expected"));
        std::fs::write(&path, b"SGFIELD0").unwrap();
        assert!(DisplacementField::read(&path).is_err());
    }

    #[test]
    fn identity_field_keeps_images() {
        let image = RgbImage {
            width: 5,
            height: 3,
            pixels: (0..45).map(|v| v as u8 * 5).collect(),
        };
        let field = DisplacementField::identity(5, 3);
        assert_eq!(warp_bilinear(&image, &field, to_byte), image);
        assert_eq!(field.nearest_sources(), (0..15).collect::<Vec<_>>());
    }

    #[test]
    fn nearest_sources_follow_a_shift_and_clamp() {
        let mut field = DisplacementField::identity(4, 1);
        field.offsets = vec![[1.0, 0.0], [1.4, 0.0], [-0.6, 0.0], [3.0, 0.0]];
        assert_eq!(field.nearest_sources(), vec![1, 2, 1, 3]);
    }

    #[test]
    fn bad_params_are_config_errors() {
        let mut setup = BlockSetup {
            inputs: vec!["image.png".into(), "mask.png".into()],
            outputs: vec![
                "image_aug.png".into(),
                "mask_aug.png".into(),
                "field.bin".into(),
            ],
            ..BlockSetup::default()
        };
        assert!(Augment::new(AugmentParams::default(), &mut setup).is_ok());
        let folding = AugmentParams {
            elastic_amplitude: 20.0,
            ..AugmentParams::default()
        };
        assert!(Augment::new(folding, &mut setup)
            .err()
            .unwrap()
            .contains("elastic_amplitude"));
        let nan = AugmentParams {
            noise_sigma: f64::NAN,
            ..AugmentParams::default()
        };
        assert!(Augment::new(nan, &mut setup).is_err());
        setup.outputs.pop();
        assert!(Augment::new(AugmentParams::default(), &mut setup)
            .err()
            .unwrap()
            .contains("field.bin"));
    }
}
