//! Previews for the gallery: a sample's image scaled down to fit a
//! [`SIDE`]-pixel square (box filter), re-encoded as a small RGB PNG for a
//! `data:` URI. Anything unreadable (a missing, torn or huge file, a PNG
//! that is not one) gives no preview, never an error.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::image::{read_png, DecodedPng};

/// Longest side of a preview, in pixels.
pub(crate) const SIDE: u32 = 128;
/// Largest image previewed, in pixels (width × height): bounds the memory a
/// preview may take, whatever the disk holds.
const MAX_PIXELS: u64 = 4096 * 4096;

/// A preview: its PNG bytes and size.
pub(crate) struct Thumbnail {
    pub(crate) png: Vec<u8>,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

/// The preview of the PNG at `path`, or `None` when it cannot be read.
pub(crate) fn thumbnail(path: &Path) -> Option<Thumbnail> {
    let (width, height) = png_size(path)?;
    if width == 0 || height == 0 || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return None;
    }
    let source = read_png(path).ok()?;
    let longest = source.width.max(source.height).max(1);
    let scale = |side: u32| {
        let scaled = u64::from(side) * u64::from(SIDE.min(longest)) / u64::from(longest);
        scaled.max(1) as u32
    };
    let (width, height) = (scale(source.width), scale(source.height));
    let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
    for ty in 0..height {
        let (y0, y1) = span(ty, height, source.height);
        for tx in 0..width {
            let (x0, x1) = span(tx, width, source.width);
            pixels.extend_from_slice(&mean_colour(&source, [x0, y0, x1, y1]));
        }
    }
    let png = encode(&pixels, width, height)?;
    Some(Thumbnail { png, width, height })
}

/// The size in the PNG header, read without decoding the image.
fn png_size(path: &Path) -> Option<(u32, u32)> {
    let file = File::open(path).ok()?;
    let reader = png::Decoder::new(BufReader::new(file)).read_info().ok()?;
    Some((reader.info().width, reader.info().height))
}

/// Source span `[start, end)` of preview coordinate `i` along a side.
fn span(i: u32, preview: u32, side: u32) -> (u32, u32) {
    let start = (u64::from(i) * u64::from(side) / u64::from(preview)) as u32;
    let end = ((u64::from(i + 1) * u64::from(side)).div_ceil(u64::from(preview)) as u32)
        .clamp(start + 1, side.max(start + 1));
    (start, end)
}

/// The mean colour of a box; grayscale as gray, alpha ignored. (`read_png`
/// returns whole frames only: a torn file is an error there.)
fn mean_colour(source: &DecodedPng, [x0, y0, x1, y1]: [u32; 4]) -> [u8; 3] {
    let mut sum = [0u64; 3];
    let mut count = 0u64;
    let channels = source.channels.max(1);
    for y in y0..y1.min(source.height) {
        for x in x0..x1.min(source.width) {
            let at = (y as usize * source.width as usize + x as usize) * channels;
            let indices = if channels >= 3 {
                [at, at + 1, at + 2]
            } else {
                [at; 3]
            };
            for (total, index) in sum.iter_mut().zip(indices) {
                *total += u64::from(source.sample8(index));
            }
            count += 1;
        }
    }
    sum.map(|total| (total / count.max(1)) as u8)
}

fn encode(pixels: &[u8], width: u32, height: u32) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().ok()?;
    writer.write_image_data(pixels).ok()?;
    writer.finish().ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{write_rgb_png, RgbImage};

    #[test]
    fn previews_fit_the_square_and_keep_colours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.png");
        let (width, height) = (512, 256);
        let mut pixels = Vec::new();
        for _ in 0..height {
            for x in 0..width {
                pixels.extend_from_slice(if x < width / 2 {
                    &[250, 0, 0]
                } else {
                    &[0, 0, 250]
                });
            }
        }
        write_rgb_png(
            &path,
            &RgbImage {
                width,
                height,
                pixels,
            },
        )
        .unwrap();
        let preview = thumbnail(&path).unwrap();
        assert_eq!((preview.width, preview.height), (128, 64));
        let decoded = {
            let out = dir.path().join("preview.png");
            std::fs::write(&out, &preview.png).unwrap();
            read_png(&out).unwrap()
        };
        assert_eq!((decoded.width, decoded.height), (128, 64));
        assert_eq!(
            [decoded.sample8(0), decoded.sample8(1), decoded.sample8(2)],
            [250, 0, 0]
        );
        let last = (128 * 64 - 1) * 3;
        assert_eq!(decoded.sample8(last + 2), 250);
    }

    #[test]
    fn unreadable_files_give_no_preview() {
        let dir = tempfile::tempdir().unwrap();
        assert!(thumbnail(&dir.path().join("missing.png")).is_none());
        let junk = dir.path().join("junk.png");
        std::fs::write(&junk, b"\x89PNG\r\n\x1a\nnot really").unwrap();
        assert!(thumbnail(&junk).is_none());
    }
}
