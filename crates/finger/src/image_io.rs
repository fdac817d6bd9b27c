//! Image input: PNG, TIFF and BMP through the `image` crate and WSQ through garita-wsq, with the resolution read
//! from the file header.
//!
//! Resolution: PNG `pHYs`, TIFF `XResolution`/`ResolutionUnit` (tags 282/296) and BMP `biXPelsPerMeter` are read
//! directly from the header. Many files carry placeholder values (FVC2000 TIFFs say 1 dpi, screen exports say 72 or
//! 96 dpi), so a declared value outside [`MIN_DECLARED_PPI`]..=[`MAX_PPI`] is ignored and [`DEFAULT_PPI`] is used;
//! a caller who knows better passes `ppi_override`.

use std::io::Cursor;

use crate::FingerError;

/// Resolution assumed when neither the caller nor a plausible file header gives one (the ANSI/NIST and FBI
/// Appendix F norm for livescan and card fingerprints).
pub const DEFAULT_PPI: u32 = 500;
/// Lowest declared resolution believed from a file header; lower values are placeholders.
pub const MIN_DECLARED_PPI: u32 = 250;
/// Lowest resolution accepted as an explicit override.
pub const MIN_PPI: u32 = 200;
/// Highest resolution accepted.
pub const MAX_PPI: u32 = 2000;
/// Largest accepted image side in pixels (a 1000 ppi rolled print is about 1600 px; 4096 leaves room for palms
/// segments without letting a hostile header make us allocate gigabytes).
pub const MAX_SIDE: u32 = 4096;
/// Largest accepted image side once brought to 500 ppi (104 mm: any single finger, rolled thumbs and four-finger
/// slaps included). Extraction time grows with the area (about 6 s for 2000×2000 on one core), so this bounds
/// the work one upload can cause.
pub const MAX_SIDE_500: u32 = 2048;
/// Smallest accepted image side, in pixels at 500 ppi (about 5 mm of skin).
pub const MIN_SIDE_500: u32 = 96;

/// An 8-bit grayscale fingerprint image with its scan resolution. Dark pixels are ridges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FingerImage {
    width: u32,
    height: u32,
    ppi: u32,
    pixels: Vec<u8>,
}

impl FingerImage {
    /// Wraps raw row-major 8-bit grayscale pixels.
    ///
    /// # Errors
    /// [`FingerError::Malformed`] when `pixels.len() != width * height`, [`FingerError::BadResolution`],
    /// [`FingerError::TooSmall`] or [`FingerError::TooLarge`] when the size or resolution is out of range.
    pub fn from_gray(
        width: u32,
        height: u32,
        ppi: u32,
        pixels: Vec<u8>,
    ) -> Result<Self, FingerError> {
        if !(MIN_PPI..=MAX_PPI).contains(&ppi) {
            return Err(FingerError::BadResolution {
                ppi,
                min: MIN_PPI,
                max: MAX_PPI,
            });
        }
        check_size(width, height, ppi)?;
        if pixels.len() as u64 != u64::from(width) * u64::from(height) {
            return Err(FingerError::Malformed {
                format: "grayscale buffer",
                offset: pixels.len(),
                reason: "pixel count does not match width x height",
            });
        }
        Ok(Self {
            width,
            height,
            ppi,
            pixels,
        })
    }

    /// Width in pixels.
    #[must_use]
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    #[must_use]
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Scan resolution in pixels per inch.
    #[must_use]
    pub fn ppi(&self) -> u32 {
        self.ppi
    }

    /// Row-major 8-bit pixels, `width * height` of them.
    #[must_use]
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }
}

fn check_size(width: u32, height: u32, ppi: u32) -> Result<(), FingerError> {
    let max_at_ppi = (u64::from(MAX_SIDE_500) * u64::from(ppi) / u64::from(DEFAULT_PPI)) as u32;
    let max = MAX_SIDE.min(max_at_ppi);
    if width > max || height > max {
        return Err(FingerError::TooLarge { width, height, max });
    }
    let min = (u64::from(MIN_SIDE_500) * u64::from(ppi) / u64::from(DEFAULT_PPI)) as u32;
    if width < min || height < min {
        return Err(FingerError::TooSmall { width, height, min });
    }
    Ok(())
}

/// The container formats recognised by their magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Container {
    Png,
    Tiff,
    Bmp,
    Wsq,
}

fn sniff(bytes: &[u8]) -> Option<Container> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Container::Png)
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        Some(Container::Tiff)
    } else if bytes.starts_with(b"BM") && bytes.len() >= 26 {
        Some(Container::Bmp)
    } else if bytes.starts_with(&[0xFF, 0xA0]) {
        // WSQ starts with its SOI marker (FBI WSQ specification, IAFIS-IC-0110, marker 0xFFA0).
        Some(Container::Wsq)
    } else {
        None
    }
}

/// Decodes a PNG, TIFF, BMP or WSQ fingerprint image to 8-bit grayscale.
///
/// The resolution is `ppi_override` when given, else the file's declared resolution when plausible, else
/// [`DEFAULT_PPI`]. Colour images are converted to luma; 16-bit images are scaled to 8 bits.
///
/// # Errors
/// [`FingerError::EmptyInput`], [`FingerError::UnknownFormat`], [`FingerError::Wsq`],
/// [`FingerError::Decode`], [`FingerError::TooSmall`], [`FingerError::TooLarge`] or
/// [`FingerError::BadResolution`] (override out of range).
pub fn load_image(bytes: &[u8], ppi_override: Option<u32>) -> Result<FingerImage, FingerError> {
    if bytes.is_empty() {
        return Err(FingerError::EmptyInput);
    }
    let container = sniff(bytes).ok_or_else(|| FingerError::UnknownFormat {
        magic: bytes.iter().take(8).copied().collect(),
    })?;
    let (format, name) = match container {
        Container::Png => (image::ImageFormat::Png, "PNG"),
        Container::Tiff => (image::ImageFormat::Tiff, "TIFF"),
        Container::Bmp => (image::ImageFormat::Bmp, "BMP"),
        Container::Wsq => return load_wsq(bytes, ppi_override),
    };
    if let Some(ppi) = ppi_override
        && !(MIN_PPI..=MAX_PPI).contains(&ppi)
    {
        return Err(FingerError::BadResolution {
            ppi,
            min: MIN_PPI,
            max: MAX_PPI,
        });
    }
    let declared = match container {
        Container::Png => png_ppi(bytes),
        Container::Tiff => tiff_ppi(bytes),
        Container::Bmp => bmp_ppi(bytes),
        Container::Wsq => None,
    }
    .filter(|ppi| (MIN_DECLARED_PPI..=MAX_PPI).contains(ppi));
    let ppi = ppi_override.or(declared).unwrap_or(DEFAULT_PPI);

    let decode_err = |source| FingerError::Decode {
        format: name,
        source,
    };
    // Read the header first so a hostile size is refused before any pixel buffer is allocated.
    let (width, height) = image::ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(decode_err)?;
    check_size(width, height, ppi)?;
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let decoded = reader.decode().map_err(decode_err)?;
    let gray = decoded.into_luma8();
    FingerImage::from_gray(gray.width(), gray.height(), ppi, gray.into_raw())
}

/// Decodes WSQ through garita-wsq; the resolution comes from the frame's `NIST_COM` PPI when present.
fn load_wsq(bytes: &[u8], ppi_override: Option<u32>) -> Result<FingerImage, FingerError> {
    let decoded = garita_wsq::decode(bytes).map_err(FingerError::Wsq)?;
    let declared = decoded
        .ppi()
        .map(u32::from)
        .filter(|ppi| (MIN_DECLARED_PPI..=MAX_PPI).contains(ppi));
    let ppi = ppi_override.or(declared).unwrap_or(DEFAULT_PPI);
    check_size(decoded.width(), decoded.height(), ppi)?;
    let (width, height) = (decoded.width(), decoded.height());
    FingerImage::from_gray(width, height, ppi, decoded.into_pixels())
}

/// Reads the PNG `pHYs` chunk (PNG specification, 11.3.5.3): pixels per metre when the unit byte is 1.
fn png_ppi(bytes: &[u8]) -> Option<u32> {
    let mut pos = 8usize;
    while pos.checked_add(12)? <= bytes.len() {
        let len = u32::from_be_bytes(bytes.get(pos..pos + 4)?.try_into().ok()?) as usize;
        let kind = bytes.get(pos + 4..pos + 8)?;
        let data = bytes.get(pos + 8..pos.checked_add(8)?.checked_add(len)?)?;
        if kind == b"pHYs" && len == 9 {
            let ppm = u32::from_be_bytes(data.get(0..4)?.try_into().ok()?);
            return (data.get(8) == Some(&1)).then(|| ppm_to_ppi(ppm));
        }
        if kind == b"IDAT" || kind == b"IEND" {
            return None;
        }
        pos = pos.checked_add(12)?.checked_add(len)?;
    }
    None
}

/// Reads `biXPelsPerMeter` from a BMP info header (offset 38).
fn bmp_ppi(bytes: &[u8]) -> Option<u32> {
    let ppm = i32::from_le_bytes(bytes.get(38..42)?.try_into().ok()?);
    u32::try_from(ppm).ok().filter(|v| *v > 0).map(ppm_to_ppi)
}

fn ppm_to_ppi(ppm: u32) -> u32 {
    (f64::from(ppm) * 0.0254).round() as u32
}

/// Reads `XResolution` (282) and `ResolutionUnit` (296) from the first IFD (TIFF 6.0, section 8).
fn tiff_ppi(bytes: &[u8]) -> Option<u32> {
    let big = bytes.starts_with(b"MM");
    let u16_at = |pos: usize| -> Option<u16> {
        let raw: [u8; 2] = bytes.get(pos..pos.checked_add(2)?)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(raw)
        } else {
            u16::from_le_bytes(raw)
        })
    };
    let u32_at = |pos: usize| -> Option<u32> {
        let raw: [u8; 4] = bytes.get(pos..pos.checked_add(4)?)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(raw)
        } else {
            u32::from_le_bytes(raw)
        })
    };
    let ifd = u32_at(4)? as usize;
    let n_entries = usize::from(u16_at(ifd)?);
    let mut resolution = None;
    let mut unit = 2u16; // TIFF default: inch.
    for entry_idx in 0..n_entries.min(512) {
        let entry = ifd.checked_add(2 + 12 * entry_idx)?;
        let tag = u16_at(entry)?;
        match tag {
            282 => {
                let offset = u32_at(entry + 8)? as usize;
                let num = u32_at(offset)?;
                let den = u32_at(offset.checked_add(4)?)?;
                if den > 0 {
                    resolution = Some(f64::from(num) / f64::from(den));
                }
            }
            296 => unit = u16_at(entry + 8)?,
            _ => {}
        }
    }
    let resolution = resolution?;
    let ppi = match unit {
        2 => resolution,
        3 => resolution * 2.54,
        _ => return None,
    };
    (ppi.is_finite() && ppi > 0.0 && ppi < 1.0e6).then(|| ppi.round() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_empty_and_garbage() {
        assert!(matches!(
            load_image(&[], None),
            Err(FingerError::EmptyInput)
        ));
        assert!(matches!(
            load_image(b"hello world", None),
            Err(FingerError::UnknownFormat { .. })
        ));
        assert!(matches!(
            load_image(&[0xFF, 0xA0, 0xFF, 0xA8], None),
            Err(FingerError::Wsq(_))
        ));
    }

    #[test]
    fn png_resolution_is_read_and_placeholders_ignored() {
        let mut buf = Vec::new();
        let img = image::GrayImage::from_pixel(128, 128, image::Luma([200u8]));
        img.write_to(&mut Cursor::new(&mut buf), image::ImageFormat::Png)
            .unwrap();
        let loaded = load_image(&buf, None).unwrap();
        assert_eq!(loaded.ppi(), DEFAULT_PPI);
        assert_eq!(load_image(&buf, Some(600)).unwrap().ppi(), 600);
        assert!(matches!(
            load_image(&buf, Some(1000)),
            Err(FingerError::TooSmall { .. })
        ));
        assert!(matches!(
            load_image(&buf, Some(20)),
            Err(FingerError::BadResolution { .. })
        ));
        // 1000 ppi is about 39370 pixels per metre.
        assert_eq!(ppm_to_ppi(39370), 1000);
    }
}
