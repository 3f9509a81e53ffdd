//! `annotate`: COCO-like labels of every scene object, measured on the final
//! instance mask, into `labels.json`; rejects samples with a hidden object.
//!
//! By default it labels the augmented mask (`mask_aug.png`, what a model
//! trains on); `source: original` labels `mask.png` instead. The object's
//! unoccluded pixels are those whose centre its outline contains (the
//! mask's rule), moved by the same nearest-neighbour warp as the mask; its
//! visible pixels are those of the mask holding its id. Before writing, the
//! mask is checked pixel by pixel against the scene (and field): labels are
//! never computed from a mask that does not belong to the scene.
//!
//! # `labels.json`
//!
//! ```json
//! {
//!   "version": 1,
//!   "images": [{"id": 17, "file_name": "image_aug.png", "mask_file_name": "mask_aug.png",
//!               "width": 256, "height": 256}],
//!   "annotations": [{"id": 1, "image_id": 17, "category_id": 5, "bbox": [12, 40, 31, 29],
//!                    "area": 611, "iscrowd": 0, "unoccluded_area": 702,
//!                    "visible_fraction": 0.8703703703703703}],
//!   "categories": [{"id": 1, "name": "circle", "supercategory": "shape"}, ...]
//! }
//! ```
//!
//! - `images[0].id` is the sample id.
//! - One annotation per scene object, in scene order; `id` is the object's
//!   instance id, its value in the mask (unique within a sample only).
//! - `bbox` is `[x, y, width, height]` in pixels, the tight box of the
//!   object's visible mask pixels (`[0, 0, 0, 0]` when none are visible);
//!   `area` is their count.
//! - `unoccluded_area` is the pixel count the object would have alone in the
//!   frame; `visible_fraction = area / unoccluded_area` (0 when the object has
//!   no pixel in the frame).
//! - `categories` lists every class, ids 1..=6 in the order circle, ellipse,
//!   rectangle, triangle, star, hexagon.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::block::{Block, BlockError, BlockSetup, Rejection, SampleContext};

use super::augment::DisplacementField;
use super::geometry::{coverage_bits, front_instance};
use super::scene::{SceneDoc, ShapeClass};
use crate::image::read_gray_png;

/// Version of the `labels.json` format.
pub(super) const LABELS_FORMAT_VERSION: u32 = 1;

/// Which mask `annotate` labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum AnnotationSource {
    /// `mask_aug.png`, warped by `field.bin`.
    Augmented,
    /// `mask.png`, as rendered.
    Original,
}

impl AnnotationSource {
    /// The files `annotate` reads for this source.
    fn inputs(self) -> &'static [&'static str] {
        match self {
            AnnotationSource::Augmented => &["scene.json", "mask_aug.png", "field.bin"],
            AnnotationSource::Original => &["scene.json", "mask.png"],
        }
    }

    fn image(self) -> &'static str {
        match self {
            AnnotationSource::Augmented => "image_aug.png",
            AnnotationSource::Original => "image.png",
        }
    }

    fn mask(self) -> &'static str {
        self.inputs()[1]
    }

    fn name(self) -> &'static str {
        match self {
            AnnotationSource::Augmented => "augmented",
            AnnotationSource::Original => "original",
        }
    }
}

/// The contents of `labels.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Labels {
    /// [`LABELS_FORMAT_VERSION`].
    pub version: u32,
    /// The one image of the sample.
    pub images: Vec<LabelImage>,
    /// One per scene object, in scene order.
    pub annotations: Vec<Annotation>,
    /// Every shape class.
    pub categories: Vec<Category>,
}

/// The image a `labels.json` describes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct LabelImage {
    /// The sample id.
    pub id: u64,
    /// The labelled image, relative to the sample folder.
    pub file_name: String,
    /// Its instance mask, relative to the sample folder.
    pub mask_file_name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// The labels of one object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Annotation {
    /// Instance id: the object's value in the mask.
    pub id: u32,
    /// The sample id.
    pub image_id: u64,
    /// The class's category id.
    pub category_id: u32,
    /// Tight box of the visible pixels: `[x, y, width, height]`.
    pub bbox: [u32; 4],
    /// Visible pixels.
    pub area: u64,
    /// Always 0: every annotation is one instance.
    pub iscrowd: u8,
    /// Pixels the object would cover alone.
    pub unoccluded_area: u64,
    /// `area / unoccluded_area`, 0 when the object is out of the frame.
    pub visible_fraction: f64,
}

/// A COCO category.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Category {
    /// Category id, 1-based.
    pub id: u32,
    /// Class name.
    pub name: String,
    /// Always `shape`.
    pub supercategory: String,
}

/// Labels each object of the scene from the final mask.
pub(super) struct Annotate {
    params: AnnotateParams,
}

/// Params of [`Annotate`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct AnnotateParams {
    /// Which mask to label.
    pub source: AnnotationSource,
    /// Samples with an object less visible than this are rejected.
    pub min_visible_fraction: f64,
}

impl Default for AnnotateParams {
    fn default() -> Self {
        Self {
            source: AnnotationSource::Augmented,
            min_visible_fraction: 0.1,
        }
    }
}

impl Block for Annotate {
    const TYPE: &'static str = "annotate";
    const VERSION: u32 = 1;
    const SUMMARY: &'static str =
        "writes COCO-like labels.json (bbox, area, visible fraction) and rejects samples with hidden objects";
    const PARAM_DOCS: &'static [(&'static str, &'static str)] = &[
        (
            "source",
            "mask to label: augmented (mask_aug.png + field.bin) or original (mask.png; set inputs: [scene.json, mask.png])",
        ),
        (
            "min_visible_fraction",
            "reject the sample if an object's visible fraction is below this (0 keeps all)",
        ),
    ];
    const DEFAULT_INPUTS: &'static [&'static str] = &["scene.json", "mask_aug.png", "field.bin"];
    const DEFAULT_OUTPUTS: &'static [&'static str] = &["labels.json"];
    type Params = AnnotateParams;

    /// It writes its outputs with plain file writes and nothing else.
    fn writes_only_out_dir(&self) -> bool {
        true
    }

    /// Every output goes through [`SampleContext::write_output`].
    fn writes_only_through_context(&self) -> bool {
        true
    }

    fn new(params: Self::Params, setup: &mut BlockSetup) -> Result<Self, String> {
        super::declared::expect_files(setup, params.source.inputs(), Self::DEFAULT_OUTPUTS)
            .map_err(|e| format!("{e} (source: {})", params.source.name()))?;
        if !(0.0..=1.0).contains(&params.min_visible_fraction) {
            return Err(format!(
                "min_visible_fraction must be in [0, 1], got {}",
                params.min_visible_fraction
            ));
        }
        Ok(Self { params })
    }

    fn run(&self, ctx: &mut SampleContext<'_>) -> Result<(), BlockError> {
        let labels = label(ctx.sample_dir(), ctx.sample_id(), self.params.source)?;
        let json = serde_json::to_vec_pretty(&labels).map_err(BlockError::new)?;
        ctx.write_output("labels.json", &json)?;

        let fractions: Vec<f64> = labels
            .annotations
            .iter()
            .map(|a| a.visible_fraction)
            .collect();
        let count = fractions.len();
        ctx.record_stat("objects", count);
        if count > 0 {
            let min = fractions.iter().copied().fold(f64::INFINITY, f64::min);
            ctx.record_stat("min_visible_fraction", min);
            ctx.record_stat(
                "mean_visible_fraction",
                fractions.iter().sum::<f64>() / count as f64,
            );
        }
        for class in ShapeClass::ALL {
            let n = labels
                .annotations
                .iter()
                .filter(|a| a.category_id == class.category_id())
                .count();
            ctx.record_stat(format!("class_{}", class.name()), n);
        }
        ctx.set_data(labels);
        Ok(())
    }

    fn validate(&self, ctx: &mut SampleContext<'_>) -> Result<(), Rejection> {
        let Some(labels) = ctx.data::<Labels>() else {
            return Err(Rejection("run did not hand its labels to validate".into()));
        };
        let least = labels
            .annotations
            .iter()
            .min_by(|a, b| a.visible_fraction.total_cmp(&b.visible_fraction));
        match least {
            Some(a) if a.visible_fraction < self.params.min_visible_fraction => {
                let class = (a.category_id as usize)
                    .checked_sub(1)
                    .and_then(|index| ShapeClass::ALL.get(index))
                    .map_or("?", |c| c.name());
                // The numbers in their own words and parentheses, so that
                // failure kinds group these by class alone.
                Err(Rejection(format!(
                    "object {} ({class}) is below min_visible_fraction {} ({:.1}% visible)",
                    a.id,
                    self.params.min_visible_fraction,
                    a.visible_fraction * 100.0
                )))
            }
            _ => Ok(()),
        }
    }
}

/// Labels the sample in `sample_dir` from its scene and chosen mask.
fn label(
    sample_dir: &Path,
    sample_id: u64,
    source: AnnotationSource,
) -> Result<Labels, BlockError> {
    let scene = SceneDoc::read(&sample_dir.join("scene.json"))?;
    let mask = read_gray_png(&sample_dir.join(source.mask()))?;
    let (width, height) = (scene.width, scene.height);
    if (mask.width, mask.height) != (width, height) {
        return Err(BlockError::new(format!(
            "{} is {}×{} but the scene is {width}×{height}",
            source.mask(),
            mask.width,
            mask.height
        )));
    }
    let sources = match source {
        AnnotationSource::Augmented => {
            let field = DisplacementField::read(&sample_dir.join("field.bin"))?;
            if (field.width(), field.height()) != (width, height) {
                return Err(BlockError::new(format!(
                    "field.bin is {}×{} but the scene is {width}×{height}",
                    field.width(),
                    field.height()
                )));
            }
            field.nearest_sources()
        }
        AnnotationSource::Original => (0..mask.pixels.len()).collect(),
    };

    let count = scene.objects.len();
    let bits = coverage_bits(&scene.objects, width, height);
    let mut unoccluded = vec![0u64; count];
    let mut visible = vec![0u64; count];
    // Per object: min x, min y, max x, max y of its visible pixels.
    let mut boxes = vec![[u32::MAX, u32::MAX, 0, 0]; count];
    for (pixel, (&id, &from)) in mask.pixels.iter().zip(&sources).enumerate() {
        let mut covering = bits[from];
        if id != front_instance(covering) {
            return Err(BlockError::new(format!(
                "{} has id {id} at pixel ({}, {}) where scene.json puts {}: mask and scene disagree",
                source.mask(),
                pixel % width as usize,
                pixel / width as usize,
                front_instance(covering)
            )));
        }
        while covering != 0 {
            unoccluded[covering.trailing_zeros() as usize] += 1;
            covering &= covering - 1;
        }
        if id != 0 {
            let index = id as usize - 1;
            let (x, y) = (
                (pixel % width as usize) as u32,
                (pixel / width as usize) as u32,
            );
            visible[index] += 1;
            let b = &mut boxes[index];
            *b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        }
    }

    let annotations = scene
        .objects
        .iter()
        .enumerate()
        .map(|(index, object)| {
            let [x0, y0, x1, y1] = boxes[index];
            let bbox = if visible[index] == 0 {
                [0; 4]
            } else {
                [x0, y0, x1 - x0 + 1, y1 - y0 + 1]
            };
            Annotation {
                id: object.id,
                image_id: sample_id,
                category_id: object.class.category_id(),
                bbox,
                area: visible[index],
                iscrowd: 0,
                unoccluded_area: unoccluded[index],
                visible_fraction: if unoccluded[index] == 0 {
                    0.0
                } else {
                    visible[index] as f64 / unoccluded[index] as f64
                },
            }
        })
        .collect();
    Ok(Labels {
        version: LABELS_FORMAT_VERSION,
        images: vec![LabelImage {
            id: sample_id,
            file_name: source.image().to_owned(),
            mask_file_name: source.mask().to_owned(),
            width,
            height,
        }],
        annotations,
        categories: ShapeClass::ALL
            .iter()
            .map(|class| Category {
                id: class.category_id(),
                name: class.name().to_owned(),
                supercategory: "shape".to_owned(),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blocks::shapes::augment::{Augment, AugmentParams};
    use crate::blocks::shapes::render::{Render, RenderParams};
    use crate::blocks::shapes::scene::{
        Background, Scene, SceneObject, SceneParams, SCENE_FORMAT_VERSION,
    };
    use crate::image::read_png;

    fn setup(name: &str, inputs: &[&str], outputs: &[&str]) -> BlockSetup {
        let owned = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
        BlockSetup {
            name: name.into(),
            inputs: owned(inputs),
            outputs: owned(outputs),
            ..BlockSetup::default()
        }
    }

    fn build<B: Block>(name: &str, params: B::Params) -> B {
        B::new(
            params,
            &mut setup(name, B::DEFAULT_INPUTS, B::DEFAULT_OUTPUTS),
        )
        .unwrap()
    }

    /// Runs `block` on the sample folder `dir` as the engine would, staging and
    /// sample folder being the same; returns the validation outcome.
    fn step<B: Block>(
        block: &B,
        name: &str,
        seed: u64,
        sample: u64,
        dir: &Path,
    ) -> Result<(), Rejection> {
        let mut ctx = SampleContext::standalone(seed, name, sample, dir, dir);
        block.run(&mut ctx).unwrap();
        block.validate(&mut ctx)
    }

    /// Scene (unless `scene.json` is there already), render, augment, annotate.
    fn pipeline(
        seed: u64,
        sample: u64,
        dir: &Path,
        annotate: AnnotateParams,
    ) -> Result<(), Rejection> {
        if !dir.join("scene.json").exists() {
            step(
                &build::<Scene>("scene", SceneParams::default()),
                "scene",
                seed,
                sample,
                dir,
            )?;
        }
        step(
            &build::<Render>("render", RenderParams::default()),
            "render",
            seed,
            sample,
            dir,
        )?;
        step(
            &build::<Augment>("augment", AugmentParams::default()),
            "augment",
            seed,
            sample,
            dir,
        )?;
        let source = annotate.source;
        let annotator = Annotate::new(
            annotate,
            &mut setup("annotate", source.inputs(), &["labels.json"]),
        )
        .unwrap();
        step(&annotator, "annotate", seed, sample, dir)
    }

    fn labels(dir: &Path) -> Labels {
        serde_json::from_slice(&std::fs::read(dir.join("labels.json")).unwrap()).unwrap()
    }

    fn keep_all() -> AnnotateParams {
        AnnotateParams {
            min_visible_fraction: 0.0,
            ..AnnotateParams::default()
        }
    }

    const FILES: [&str; 7] = [
        "scene.json",
        "image.png",
        "mask.png",
        "image_aug.png",
        "mask_aug.png",
        "field.bin",
        "labels.json",
    ];

    #[test]
    fn same_seed_gives_identical_bytes() {
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        pipeline(42, 7, a.path(), keep_all()).unwrap();
        pipeline(42, 7, b.path(), keep_all()).unwrap();
        pipeline(42, 8, c.path(), keep_all()).unwrap();
        for file in FILES {
            let first = std::fs::read(a.path().join(file)).unwrap();
            assert_eq!(first, std::fs::read(b.path().join(file)).unwrap(), "{file}");
            assert_ne!(first, std::fs::read(c.path().join(file)).unwrap(), "{file}");
        }
    }

    #[test]
    fn bytes_do_not_depend_on_threads() {
        let serial: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
        for (sample, dir) in serial.iter().enumerate() {
            pipeline(11, sample as u64, dir.path(), keep_all()).unwrap();
        }
        let parallel: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
        std::thread::scope(|scope| {
            for (sample, dir) in parallel.iter().enumerate().rev() {
                scope.spawn(move || pipeline(11, sample as u64, dir.path(), keep_all()).unwrap());
            }
        });
        for (a, b) in serial.iter().zip(&parallel) {
            for file in FILES {
                let read = |dir: &tempfile::TempDir| std::fs::read(dir.path().join(file)).unwrap();
                assert!(read(a) == read(b), "{file} differs");
            }
        }
    }

    /// Pins what seed 1234, sample 0 produces: the contents of every file
    /// (PNG files by their decoded pixels, so an encoder update does not count).
    /// If this fails because a block's output changed on purpose, bump that
    /// block's `VERSION` and update the digests.
    #[test]
    fn golden_sample_is_unchanged() {
        use sha2::{Digest, Sha256};
        let dir = tempfile::tempdir().unwrap();
        pipeline(1234, 0, dir.path(), keep_all()).unwrap();
        let digests: Vec<String> = FILES
            .iter()
            .map(|file| {
                let path = dir.path().join(file);
                let bytes = if file.ends_with(".png") {
                    let decoded = read_png(&path).unwrap();
                    (0..decoded.width as usize * decoded.height as usize * decoded.channels)
                        .map(|i| decoded.sample8(i))
                        .collect()
                } else {
                    std::fs::read(&path).unwrap()
                };
                let digest = Sha256::digest(&bytes);
                format!(
                    "{file} {}",
                    digest[..8]
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                )
            })
            .collect();
        let expected = [
            "scene.json 25cbf62c2faf26de",
            "image.png a00dbb9395134bd7",
            "mask.png 9d37536c285eb8b2",
            "image_aug.png c1cd8e20bbf1f603",
            "mask_aug.png 3ed2f63a9662803c",
            "field.bin be48a2962862000d",
            "labels.json 0da7ce5167c36087",
        ];
        assert_eq!(digests, expected);
    }

    /// Areas, boxes and fractions recomputed from the mask pixels alone.
    fn check_against_mask(dir: &Path, mask_file: &str) {
        let labels = labels(dir);
        let mask = read_png(&dir.join(mask_file)).unwrap();
        assert_eq!(mask.channels, 1);
        let image = &labels.images[0];
        assert_eq!(image.mask_file_name, mask_file);
        assert_eq!((image.width, image.height), (mask.width, mask.height));
        let scene = SceneDoc::read(&dir.join("scene.json")).unwrap();
        assert_eq!(labels.annotations.len(), scene.objects.len());
        let ids: Vec<u16> = (0..(mask.width * mask.height) as usize)
            .map(|i| mask.sample(i))
            .collect();
        let max_id = ids.iter().copied().max().unwrap_or(0);
        assert!(usize::from(max_id) <= scene.objects.len());
        for a in &labels.annotations {
            let object = &scene.objects[a.id as usize - 1];
            assert_eq!(a.category_id, object.class.category_id());
            let pixels: Vec<(u32, u32)> = ids
                .iter()
                .enumerate()
                .filter(|&(_, &v)| u32::from(v) == a.id)
                .map(|(i, _)| (i as u32 % mask.width, i as u32 / mask.width))
                .collect();
            assert_eq!(a.area, pixels.len() as u64, "object {}", a.id);
            if pixels.is_empty() {
                assert_eq!(a.bbox, [0; 4]);
                assert_eq!(a.visible_fraction, 0.0);
                continue;
            }
            let [x, y, w, h] = a.bbox;
            assert!(pixels
                .iter()
                .all(|&(px, py)| px >= x && py >= y && px < x + w && py < y + h));
            // Tight: every side touches a pixel.
            assert!(
                pixels.iter().any(|&(px, _)| px == x)
                    && pixels.iter().any(|&(px, _)| px == x + w - 1)
            );
            assert!(
                pixels.iter().any(|&(_, py)| py == y)
                    && pixels.iter().any(|&(_, py)| py == y + h - 1)
            );
            assert!(a.area <= a.unoccluded_area);
            // serde_json parses floats to within an ulp.
            let fraction = a.area as f64 / a.unoccluded_area as f64;
            assert!((a.visible_fraction - fraction).abs() < 1e-12);
        }
    }

    #[test]
    fn labels_match_the_mask_pixels() {
        let mut occluded = 0;
        for sample in 0..12 {
            let dir = tempfile::tempdir().unwrap();
            pipeline(3, sample, dir.path(), keep_all()).unwrap();
            check_against_mask(dir.path(), "mask_aug.png");
            occluded += labels(dir.path())
                .annotations
                .iter()
                .filter(|a| a.visible_fraction < 1.0)
                .count();
            let original = AnnotateParams {
                source: AnnotationSource::Original,
                min_visible_fraction: 0.0,
            };
            let annotator = Annotate::new(
                original,
                &mut setup("annotate", &["mask.png", "scene.json"], &["labels.json"]),
            )
            .unwrap();
            step(&annotator, "annotate", 3, sample, dir.path()).unwrap();
            check_against_mask(dir.path(), "mask.png");
        }
        assert!(
            occluded > 0,
            "no sample had any occlusion: the test proves little"
        );
    }

    #[test]
    fn unoccluded_area_is_the_objects_own_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let original = AnnotateParams {
            source: AnnotationSource::Original,
            min_visible_fraction: 0.0,
        };
        pipeline(9, 1, dir.path(), original).unwrap();
        let scene = SceneDoc::read(&dir.path().join("scene.json")).unwrap();
        for a in labels(dir.path()).annotations {
            let alone = coverage_bits(
                &scene.objects[a.id as usize - 1..a.id as usize],
                scene.width,
                scene.height,
            );
            assert_eq!(
                a.unoccluded_area,
                alone.iter().filter(|&&b| b != 0).count() as u64
            );
        }
    }

    fn hiding_scene() -> SceneDoc {
        let object = |id, class, center: [f64; 2], radius: f64| SceneObject {
            id,
            class,
            color: [200, 100, 50],
            center,
            radii: [radius, radius],
            rotation: 0.0,
        };
        SceneDoc {
            version: SCENE_FORMAT_VERSION,
            width: 64,
            height: 64,
            background: Background::Solid { color: [0, 0, 0] },
            objects: vec![
                object(1, ShapeClass::Circle, [32.0, 32.0], 6.0),
                object(2, ShapeClass::Rectangle, [32.0, 32.0], 20.0),
                object(3, ShapeClass::Star, [10.0, 10.0], 8.0),
            ],
        }
    }

    #[test]
    fn a_fully_hidden_object_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("scene.json"),
            serde_json::to_vec(&hiding_scene()).unwrap(),
        )
        .unwrap();
        let rejection = pipeline(1, 0, dir.path(), AnnotateParams::default()).unwrap_err();
        assert!(
            rejection
                .0
                .contains("object 1 (circle) is below min_visible_fraction 0.1 (0.0% visible)"),
            "{}",
            rejection.0
        );
        let labels = labels(dir.path());
        assert_eq!(labels.annotations[0].visible_fraction, 0.0);
        assert_eq!(labels.annotations[0].area, 0);
        assert!(labels.annotations[0].unoccluded_area > 50);
        assert!(labels.annotations[1].visible_fraction > 0.8);
        // With the threshold at 0 the same sample passes.
        pipeline(1, 0, dir.path(), keep_all()).unwrap();
    }

    #[test]
    fn a_mask_from_another_scene_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        pipeline(5, 0, dir.path(), keep_all()).unwrap();
        std::fs::write(
            dir.path().join("scene.json"),
            serde_json::to_vec(&hiding_scene()).unwrap(),
        )
        .unwrap();
        let annotator = build::<Annotate>("annotate", keep_all());
        let mut ctx = SampleContext::standalone(5, "annotate", 0, dir.path(), dir.path());
        let err = annotator.run(&mut ctx).unwrap_err();
        assert!(err.reason().contains("but the scene is 64×64"), "{err}");
        std::fs::remove_file(dir.path().join("field.bin")).unwrap();
        assert!(annotator.run(&mut ctx).is_err());
    }

    #[test]
    fn stats_count_classes_and_visibility() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("scene.json"),
            serde_json::to_vec(&hiding_scene()).unwrap(),
        )
        .unwrap();
        pipeline(1, 0, dir.path(), keep_all()).unwrap();
        let annotator = build::<Annotate>("annotate", keep_all());
        let mut ctx = SampleContext::standalone(1, "annotate", 0, dir.path(), dir.path());
        annotator.run(&mut ctx).unwrap();
        let stats = ctx.stats();
        assert_eq!(stats["objects"], 3.0.into());
        assert_eq!(stats["class_circle"], 1.0.into());
        assert_eq!(stats["class_hexagon"], 0.0.into());
        assert_eq!(stats["min_visible_fraction"], 0.0.into());
    }

    #[test]
    fn inputs_must_fit_the_source() {
        let original = AnnotateParams {
            source: AnnotationSource::Original,
            ..AnnotateParams::default()
        };
        let defaults = &mut setup("annotate", Annotate::DEFAULT_INPUTS, &["labels.json"]);
        let err = Annotate::new(original, defaults).err().unwrap();
        assert!(
            err.contains("[scene.json, mask.png]") && err.contains("source: original"),
            "{err}"
        );
        let too_strict = AnnotateParams {
            min_visible_fraction: 1.5,
            ..AnnotateParams::default()
        };
        assert!(Annotate::new(too_strict, defaults).is_err());
        let parsed: AnnotateParams = serde_json::from_str(r#"{"source": "original"}"#).unwrap();
        assert_eq!(parsed.source, AnnotationSource::Original);
        assert!(serde_json::from_str::<AnnotateParams>(r#"{"source": "both"}"#).is_err());
    }
}
