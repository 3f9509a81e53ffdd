//! 8-bit images and their PNG files, with fixed settings (no metadata, fast
//! deflate, `Up` filter), so the same pixels always give the same bytes.
//!
//! A leaf of the crate: the shapes demo draws with it and the statistics pass
//! reads it back for the contact sheet. Errors are one-line texts naming the
//! file, which blocks turn into their failure reason.
#![cfg_attr(
    not(feature = "shapes"),
    allow(
        dead_code,
        reason = "without the demo, only the contact sheet's part is used"
    )
)]

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

/// Largest width or height a raster may have, so a bad file cannot make a
/// block allocate without bound.
pub(crate) const MAX_SIDE: u32 = 8192;

/// An 8-bit RGB image, row-major, 3 bytes per pixel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RgbImage {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) pixels: Vec<u8>,
}

impl RgbImage {
    /// A black image.
    pub(crate) fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            pixels: vec![0; width as usize * height as usize * 3],
        }
    }
}

/// An 8-bit single-channel image, row-major: the instance masks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GrayImage {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) pixels: Vec<u8>,
}

/// An HSV colour (each component in `[0, 1]`) as 8-bit RGB.
pub(crate) fn hsv_to_rgb(hue: f64, saturation: f64, value: f64) -> [u8; 3] {
    let sector = (hue * 6.0).floor();
    let f = hue * 6.0 - sector;
    let (p, q, t) = (
        value * (1.0 - saturation),
        value * (1.0 - saturation * f),
        value * (1.0 - saturation * (1.0 - f)),
    );
    let (r, g, b) = match sector as i32 {
        0 => (value, t, p),
        1 => (q, value, p),
        2 => (p, value, t),
        3 => (p, q, value),
        4 => (t, p, value),
        _ => (value, p, q),
    };
    let byte = |v: f64| (v * 255.0).round().clamp(0.0, 255.0) as u8;
    [byte(r), byte(g), byte(b)]
}

/// Writes an 8-bit RGB PNG.
pub(crate) fn write_rgb_png(path: &Path, image: &RgbImage) -> Result<(), String> {
    write_png(
        path,
        image.width,
        image.height,
        png::ColorType::Rgb,
        &image.pixels,
    )
}

/// Writes an 8-bit grayscale PNG.
#[cfg(test)]
pub(crate) fn write_gray_png(path: &Path, image: &GrayImage) -> Result<(), String> {
    write_png(
        path,
        image.width,
        image.height,
        png::ColorType::Grayscale,
        &image.pixels,
    )
}

/// An 8-bit RGB PNG in memory, the bytes [`write_rgb_png`] writes.
pub(crate) fn rgb_png_bytes(image: &RgbImage) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let (width, height) = (image.width, image.height);
    encode_png(
        &mut bytes,
        width,
        height,
        png::ColorType::Rgb,
        &image.pixels,
    )?;
    Ok(bytes)
}

/// An 8-bit grayscale PNG in memory, the bytes [`write_gray_png`] writes.
pub(crate) fn gray_png_bytes(image: &GrayImage) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let (width, height) = (image.width, image.height);
    encode_png(
        &mut bytes,
        width,
        height,
        png::ColorType::Grayscale,
        &image.pixels,
    )?;
    Ok(bytes)
}

fn write_png(
    path: &Path,
    width: u32,
    height: u32,
    color: png::ColorType,
    pixels: &[u8],
) -> Result<(), String> {
    let failed = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = File::create(path).map_err(|e| failed(&e))?;
    let mut sink = BufWriter::new(file);
    encode_png(&mut sink, width, height, color, pixels).map_err(|e| failed(&e))?;
    sink.flush().map_err(|e| failed(&e))?;
    Ok(())
}

/// Encodes a PNG into `sink`, always with the same settings (so the same
/// pixels give the same bytes).
fn encode_png(
    sink: &mut impl Write,
    width: u32,
    height: u32,
    color: png::ColorType,
    pixels: &[u8],
) -> Result<(), String> {
    let mut encoder = png::Encoder::new(sink, width, height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    encoder.set_filter(png::Filter::Up);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(pixels).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())
}

/// A decoded PNG: its size, samples per pixel and the raw samples, 8-bit or
/// 16-bit big-endian.
pub(crate) struct DecodedPng {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) channels: usize,
    /// Whether the samples are 16-bit (else 8-bit).
    pub(crate) sixteen_bit: bool,
    bytes: Vec<u8>,
}

impl DecodedPng {
    /// Sample `index` (pixel × channels + channel) at its full depth.
    pub(crate) fn sample(&self, index: usize) -> u16 {
        if self.sixteen_bit {
            u16::from_be_bytes([self.bytes[2 * index], self.bytes[2 * index + 1]])
        } else {
            u16::from(self.bytes[index])
        }
    }

    /// Sample `index` reduced to 8 bits.
    pub(crate) fn sample8(&self, index: usize) -> u8 {
        if self.sixteen_bit {
            self.bytes[2 * index]
        } else {
            self.bytes[index]
        }
    }
}

/// Decodes any non-interlaced or interlaced PNG; palettes are expanded and
/// low bit depths widened to 8 bits.
pub(crate) fn read_png(path: &Path) -> Result<DecodedPng, String> {
    let failed = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = File::open(path).map_err(|e| failed(&e))?;
    let mut decoder = png::Decoder::new(BufReader::new(file));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(|e| failed(&e))?;
    let (width, height) = (reader.info().width, reader.info().height);
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(failed(&format!(
            "{width}×{height} is larger than {MAX_SIDE} pixels a side"
        )));
    }
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| failed(&"image too large"))?;
    let mut buffer = vec![0; size];
    let frame = reader.next_frame(&mut buffer).map_err(|e| failed(&e))?;
    buffer.truncate(frame.buffer_size());
    let channels = frame.color_type.samples();
    let sixteen_bit = frame.bit_depth == png::BitDepth::Sixteen;
    Ok(DecodedPng {
        width,
        height,
        channels,
        sixteen_bit,
        bytes: buffer,
    })
}

/// Reads an 8-bit RGB PNG, as written by [`write_rgb_png`].
pub(crate) fn read_rgb_png(path: &Path) -> Result<RgbImage, String> {
    let decoded = read_png(path)?;
    let (width, height) = (decoded.width, decoded.height);
    let pixels = narrow(path, decoded, 3, "8-bit RGB")?;
    Ok(RgbImage {
        width,
        height,
        pixels,
    })
}

/// Reads an 8-bit grayscale PNG, as written by [`write_gray_png`].
pub(crate) fn read_gray_png(path: &Path) -> Result<GrayImage, String> {
    let decoded = read_png(path)?;
    let (width, height) = (decoded.width, decoded.height);
    let pixels = narrow(path, decoded, 1, "8-bit grayscale")?;
    Ok(GrayImage {
        width,
        height,
        pixels,
    })
}

fn narrow(
    path: &Path,
    decoded: DecodedPng,
    channels: usize,
    kind: &str,
) -> Result<Vec<u8>, String> {
    if decoded.channels != channels || decoded.sixteen_bit {
        return Err(format!("{}: expected an {kind} PNG", path.display()));
    }
    Ok(decoded.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsv_primaries() {
        assert_eq!(hsv_to_rgb(0.0, 1.0, 1.0), [255, 0, 0]);
        assert_eq!(hsv_to_rgb(1.0 / 3.0, 1.0, 1.0), [0, 255, 0]);
        assert_eq!(hsv_to_rgb(2.0 / 3.0, 1.0, 0.5), [0, 0, 128]);
        assert_eq!(hsv_to_rgb(0.3, 0.0, 0.2), [51, 51, 51]);
    }

    #[test]
    fn png_round_trips_and_rejects_the_wrong_kind() {
        let dir = tempfile::tempdir().unwrap();
        let rgb = RgbImage {
            width: 3,
            height: 2,
            pixels: (0..18).map(|v| v * 13).collect(),
        };
        let path = dir.path().join("rgb.png");
        write_rgb_png(&path, &rgb).unwrap();
        assert_eq!(read_rgb_png(&path).unwrap(), rgb);
        assert!(read_gray_png(&path).is_err());
        std::fs::write(&path, b"not a png").unwrap();
        assert!(read_rgb_png(&path).is_err());
    }
}
