//! A contact sheet: one PNG showing the first samples of a dataset at a
//! glance, each image beside its instance mask in false colour.
//!
//! Up to [`MAX_SAMPLES`] samples, [`COLUMNS`] to a row, each image scaled to
//! fit a [`TILE`]-pixel square (box-filtered; masks nearest-neighbour, so ids
//! stay crisp). Mask value 0 is black; every other id gets its own colour.

use std::io;
use std::path::{Path, PathBuf};

use crate::image::{hsv_to_rgb, read_png, write_rgb_png, DecodedPng, RgbImage};

/// Most samples shown.
pub(crate) const MAX_SAMPLES: usize = 16;
/// Samples per row.
pub(crate) const COLUMNS: usize = 4;
/// Side of the square each image is fitted into, in pixels.
pub(crate) const TILE: u32 = 128;
/// Space around and between tiles, in pixels.
const GAP: u32 = 4;
/// Colour of the space between tiles.
const PAPER: [u8; 3] = [40, 40, 40];

/// Writes a grid of the first samples (of `samples`, folders relative to
/// `dataset_dir` or absolute) that hold the file `image`, each beside its
/// `mask` when given, to the PNG `out`. Samples whose image is missing or
/// unreadable are skipped; a missing mask leaves its tile blank.
///
/// The file is written to a temporary name in `out`'s folder (created if
/// needed) and renamed, so readers never see half a sheet. Returns `false`,
/// writing nothing, when no sample has the image.
pub(crate) fn write_contact_sheet(
    dataset_dir: &Path,
    samples: &[PathBuf],
    image: &str,
    mask: Option<&str>,
    out: &Path,
) -> io::Result<bool> {
    let shown: Vec<(DecodedPng, Option<DecodedPng>)> = samples
        .iter()
        .map(|sample| dataset_dir.join(sample))
        .filter_map(|folder| {
            let picture = read_png(&folder.join(image)).ok()?;
            Some((picture, mask.and_then(|m| read_png(&folder.join(m)).ok())))
        })
        .take(MAX_SAMPLES)
        .collect();
    if shown.is_empty() {
        return Ok(false);
    }

    let per_cell = if mask.is_some() { 2 } else { 1 };
    let cell_width = per_cell * TILE + (per_cell - 1) * GAP;
    let columns = shown.len().min(COLUMNS) as u32;
    let rows = shown.len().div_ceil(COLUMNS) as u32;
    let mut sheet = RgbImage {
        width: GAP + columns * (cell_width + GAP),
        height: GAP + rows * (TILE + GAP),
        pixels: Vec::new(),
    };
    sheet.pixels = PAPER
        .iter()
        .copied()
        .cycle()
        .take(sheet.width as usize * sheet.height as usize * 3)
        .collect();
    for (index, (picture, labels)) in shown.iter().enumerate() {
        let x = GAP + (index % COLUMNS) as u32 * (cell_width + GAP);
        let y = GAP + (index / COLUMNS) as u32 * (TILE + GAP);
        paste(&mut sheet, x, y, picture, photo_pixel);
        if let Some(labels) = labels {
            paste(&mut sheet, x + TILE + GAP, y, labels, label_pixel);
        }
    }

    if let Some(folder) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)?;
    }
    if out.file_name().is_none() {
        return Err(io::Error::other(format!(
            "{}: not a file path",
            out.display()
        )));
    }
    let temporary = crate::dataset::atomic::temp_path_for(out);
    if let Err(e) = write_rgb_png(&temporary, &sheet) {
        // Best effort: the temporary may not exist.
        let _ = std::fs::remove_file(&temporary);
        return Err(io::Error::other(e.to_string()));
    }
    std::fs::rename(&temporary, out)?;
    Ok(true)
}

/// Draws `source` scaled to fit a [`TILE`] square at `(left, top)`. Each tile
/// pixel shows `colour(source, source pixels it covers)`.
fn paste(
    sheet: &mut RgbImage,
    left: u32,
    top: u32,
    source: &DecodedPng,
    colour: fn(&DecodedPng, [u32; 4]) -> [u8; 3],
) {
    let longest = source.width.max(source.height).max(1);
    let fit = |side: u32| ((u64::from(side) * u64::from(TILE)) / u64::from(longest)).max(1) as u32;
    let (width, height) = (fit(source.width), fit(source.height));
    // Source span [start, end) of tile coordinate `i` along a side.
    let span = |i: u32, tile: u32, side: u32| {
        let start = (u64::from(i) * u64::from(side) / u64::from(tile)) as u32;
        let end = ((u64::from(i + 1) * u64::from(side)).div_ceil(u64::from(tile)) as u32)
            .clamp(start + 1, side);
        (start, end)
    };
    for ty in 0..height {
        let (y0, y1) = span(ty, height, source.height);
        for tx in 0..width {
            let (x0, x1) = span(tx, width, source.width);
            let rgb = colour(source, [x0, y0, x1, y1]);
            let at = (((top + ty) * sheet.width + left + tx) * 3) as usize;
            sheet.pixels[at..at + 3].copy_from_slice(&rgb);
        }
    }
}

/// The mean colour of a box of an image of any PNG colour type; alpha is
/// ignored, grayscale shown as gray.
fn photo_pixel(source: &DecodedPng, [x0, y0, x1, y1]: [u32; 4]) -> [u8; 3] {
    let mut sum = [0u64; 3];
    let mut count = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            let at = (y as usize * source.width as usize + x as usize) * source.channels;
            let rgb = if source.channels >= 3 {
                [at, at + 1, at + 2]
            } else {
                [at; 3]
            };
            for (total, index) in sum.iter_mut().zip(rgb) {
                *total += u64::from(source.sample8(index));
            }
            count += 1;
        }
    }
    sum.map(|total| (total / count.max(1)) as u8)
}

/// The false colour of the label at the box's top-left pixel (first channel,
/// 8- or 16-bit).
fn label_pixel(source: &DecodedPng, [x, y, _, _]: [u32; 4]) -> [u8; 3] {
    let at = (y as usize * source.width as usize + x as usize) * source.channels;
    label_colour(source.sample(at))
}

/// Black for 0; for other ids a bright colour, hues spread by the golden
/// ratio so that neighbouring ids differ.
fn label_colour(id: u16) -> [u8; 3] {
    if id == 0 {
        return [0, 0, 0];
    }
    hsv_to_rgb((f64::from(id) * 0.618_033_988_749_895).fract(), 0.75, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{write_gray_png, GrayImage};

    fn sample(dir: &Path, name: &str, colour: [u8; 3], with_mask: bool) {
        let folder = dir.join(name);
        std::fs::create_dir_all(&folder).unwrap();
        let image = RgbImage {
            width: 64,
            height: 32,
            pixels: colour.iter().copied().cycle().take(64 * 32 * 3).collect(),
        };
        write_rgb_png(&folder.join("image.png"), &image).unwrap();
        if with_mask {
            let mask = GrayImage {
                width: 64,
                height: 32,
                pixels: (0..64 * 32).map(|i| u8::from(i % 64 >= 32)).collect(),
            };
            write_gray_png(&folder.join("mask.png"), &mask).unwrap();
        }
    }

    #[test]
    fn sheet_places_images_and_masks() {
        let dir = tempfile::tempdir().unwrap();
        sample(dir.path(), "000000", [200, 10, 10], true);
        sample(dir.path(), "000001", [10, 200, 10], false);
        let samples: Vec<PathBuf> = ["000000", "missing", "000001"]
            .iter()
            .map(PathBuf::from)
            .collect();
        let out = dir.path().join("plots/samples.png");
        assert!(
            write_contact_sheet(dir.path(), &samples, "image.png", Some("mask.png"), &out).unwrap()
        );
        let sheet = read_png(&out).unwrap();
        let cell = 2 * TILE + GAP;
        assert_eq!(
            (sheet.width, sheet.height),
            (GAP + 2 * (cell + GAP), GAP + TILE + GAP)
        );
        let pixel = |x: u32, y: u32| {
            let at = ((y * sheet.width + x) * 3) as usize;
            [sheet.sample(at), sheet.sample(at + 1), sheet.sample(at + 2)]
        };
        // 64×32 fits as 128×64: first image, its mask (left half 0, right half 1).
        assert_eq!(pixel(GAP + 5, GAP + 5), [200, 10, 10]);
        assert_eq!(pixel(GAP + 5, GAP + 100), PAPER.map(u16::from));
        assert_eq!(pixel(GAP + TILE + GAP + 5, GAP + 5), [0, 0, 0]);
        assert_eq!(
            pixel(GAP + TILE + GAP + 100, GAP + 5),
            label_colour(1).map(u16::from)
        );
        // Second sample: image, blank mask tile.
        assert_eq!(pixel(GAP + cell + GAP + 5, GAP + 5), [10, 200, 10]);
        assert_eq!(
            pixel(GAP + cell + GAP + TILE + GAP + 5, GAP + 5),
            PAPER.map(u16::from)
        );
        // No temporary left behind.
        assert_eq!(
            std::fs::read_dir(dir.path().join("plots")).unwrap().count(),
            1
        );
    }

    #[test]
    fn no_images_means_no_sheet() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("samples.png");
        let samples = [PathBuf::from("000000")];
        assert!(!write_contact_sheet(dir.path(), &samples, "image.png", None, &out).unwrap());
        assert!(!out.exists());
    }

    #[test]
    fn label_colours_differ_and_background_is_black() {
        assert_eq!(label_colour(0), [0, 0, 0]);
        let colours: Vec<[u8; 3]> = (1..=64).map(label_colour).collect();
        for (i, a) in colours.iter().enumerate() {
            assert_ne!(*a, [0, 0, 0]);
            assert_ne!(Some(a), colours.get(i + 1));
        }
    }
}
