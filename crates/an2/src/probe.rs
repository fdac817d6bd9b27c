//! Reads the dimensions an encoded image declares in its own header, without decoding pixels, so that a record's
//! HLL/VLL and compression code can be checked against the bytes it carries.
//!
//! * WSQ: FBI WSQ Gray-scale Fingerprint Image Compression Specification v3.1, §3.2 (markers SOI `FFA0`, SOF `FFA2`
//!   with the frame header `L A B Y X Em M Er R P S`).
//! * JPEG: ISO/IEC 10918-1 Annex B.2 (SOFn frame header `Lf P Y X Nf`).
//! * PNG: ISO/IEC 15948 §11.2.2 (IHDR).
//! * JPEG 2000: ISO/IEC 15444-1 Annex I.5.3.1 (JP2 `ihdr` box) and A.5.1 (codestream SIZ marker).

/// Container or codestream format recognised from the first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// FBI WSQ.
    Wsq,
    /// JPEG (any process).
    Jpeg,
    /// PNG.
    Png,
    /// JPEG 2000 JP2 file.
    Jp2,
    /// JPEG 2000 raw codestream.
    J2k,
}

/// What an image's own header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    /// Recognised format.
    pub format: ImageFormat,
    /// Pixels per line.
    pub width: u32,
    /// Lines.
    pub height: u32,
    /// Bits per pixel over all components, when the header gives it.
    pub bits_per_pixel: Option<u32>,
    /// JPEG only: the frame is lossless (SOF3, process 14).
    pub lossless: bool,
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*data.get(at)?, *data.get(at + 1)?]))
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *data.get(at)?,
        *data.get(at + 1)?,
        *data.get(at + 2)?,
        *data.get(at + 3)?,
    ]))
}

/// Recognises the format of `data` and reads its declared geometry; None when unrecognised or malformed.
#[must_use]
pub fn probe_image(data: &[u8]) -> Option<ImageInfo> {
    match data {
        [0xFF, 0xA0, ..] => probe_wsq(data),
        [0xFF, 0xD8, ..] => probe_jpeg(data),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => probe_png(data),
        [
            0x00,
            0x00,
            0x00,
            0x0C,
            b'j',
            b'P',
            b' ',
            b' ',
            0x0D,
            0x0A,
            0x87,
            0x0A,
            ..,
        ] => probe_jp2(data),
        [0xFF, 0x4F, 0xFF, 0x51, ..] => probe_siz(data, 2, ImageFormat::J2k),
        _ => None,
    }
}

/// Walks WSQ marker segments from SOI to the SOF frame header.
fn probe_wsq(data: &[u8]) -> Option<ImageInfo> {
    let mut at = 2;
    // Table and comment segments precede the frame header; each has a 2-byte length that includes itself.
    for _ in 0..64 {
        let marker = be16(data, at)?;
        let length = usize::from(be16(data, at + 2)?);
        if marker == 0xFFA2 {
            let height = be16(data, at + 6)?;
            let width = be16(data, at + 8)?;
            return Some(ImageInfo {
                format: ImageFormat::Wsq,
                width: u32::from(width),
                height: u32::from(height),
                bits_per_pixel: Some(8),
                lossless: false,
            });
        }
        if !(0xFFA3..=0xFFA8).contains(&marker) || length < 2 {
            return None;
        }
        at += 2 + length;
    }
    None
}

/// Walks JPEG marker segments to the first SOFn.
fn probe_jpeg(data: &[u8]) -> Option<ImageInfo> {
    let mut at = 2;
    for _ in 0..256 {
        // Fill bytes (0xFF) may precede a marker.
        while data.get(at) == Some(&0xFF) && data.get(at + 1) == Some(&0xFF) {
            at += 1;
        }
        let marker = be16(data, at)?;
        if marker >> 8 != 0xFF {
            return None;
        }
        let code = (marker & 0xFF) as u8;
        if matches!(code, 0x01 | 0xD0..=0xD7) {
            at += 2;
            continue;
        }
        let length = usize::from(be16(data, at + 2)?);
        if matches!(code, 0xC0..=0xCF) && !matches!(code, 0xC4 | 0xC8 | 0xCC) {
            let precision = u32::from(*data.get(at + 4)?);
            let height = be16(data, at + 5)?;
            let width = be16(data, at + 7)?;
            let components = u32::from(*data.get(at + 9)?);
            return Some(ImageInfo {
                format: ImageFormat::Jpeg,
                width: u32::from(width),
                height: u32::from(height),
                bits_per_pixel: Some(precision * components),
                lossless: matches!(code, 0xC3 | 0xC7 | 0xCB | 0xCF),
            });
        }
        if code == 0xD9 || length < 2 {
            return None;
        }
        at += 2 + length;
    }
    None
}

fn probe_png(data: &[u8]) -> Option<ImageInfo> {
    if data.get(12..16)? != b"IHDR" {
        return None;
    }
    let width = be32(data, 16)?;
    let height = be32(data, 20)?;
    let depth = u32::from(*data.get(24)?);
    let channels = match *data.get(25)? {
        0 | 3 => 1,
        2 => 3,
        4 => 2,
        6 => 4,
        _ => return None,
    };
    Some(ImageInfo {
        format: ImageFormat::Png,
        width,
        height,
        bits_per_pixel: Some(depth * channels),
        lossless: true,
    })
}

/// Finds `jp2h/ihdr` among the JP2 boxes; falls back to the codestream's SIZ marker.
fn probe_jp2(data: &[u8]) -> Option<ImageInfo> {
    let mut at = 0usize;
    for _ in 0..64 {
        let length = usize::try_from(be32(data, at)?).ok()?;
        let kind = data.get(at + 4..at + 8)?;
        if kind == b"jp2h" {
            let mut inner = at + 8;
            let end = if length == 0 {
                data.len()
            } else {
                at.checked_add(length)?
            };
            while inner + 8 <= end {
                let inner_length = usize::try_from(be32(data, inner)?).ok()?;
                if data.get(inner + 4..inner + 8)? == b"ihdr" {
                    let height = be32(data, inner + 8)?;
                    let width = be32(data, inner + 12)?;
                    let components = u32::from(be16(data, inner + 16)?);
                    let bpc = *data.get(inner + 18)?;
                    let bits = if bpc == 0xFF {
                        None
                    } else {
                        Some((u32::from(bpc & 0x7F) + 1) * components)
                    };
                    return Some(ImageInfo {
                        format: ImageFormat::Jp2,
                        width,
                        height,
                        bits_per_pixel: bits,
                        lossless: false,
                    });
                }
                if inner_length < 8 {
                    return None;
                }
                inner += inner_length;
            }
        }
        if kind == b"jp2c" {
            return probe_siz(data, at + 8 + 2, ImageFormat::Jp2);
        }
        if length < 8 {
            return None;
        }
        at = at.checked_add(length)?;
    }
    None
}

/// Reads a SIZ marker segment starting at `at` (its FF51 marker).
fn probe_siz(data: &[u8], at: usize, format: ImageFormat) -> Option<ImageInfo> {
    if be16(data, at)? != 0xFF51 {
        return None;
    }
    let x_size = be32(data, at + 6)?;
    let y_size = be32(data, at + 10)?;
    let x_offset = be32(data, at + 14)?;
    let y_offset = be32(data, at + 18)?;
    Some(ImageInfo {
        format,
        width: x_size.checked_sub(x_offset)?,
        height: y_size.checked_sub(y_offset)?,
        bits_per_pixel: None,
        lossless: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_header() {
        let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
        png.extend_from_slice(b"IHDR");
        png.extend_from_slice(&640u32.to_be_bytes());
        png.extend_from_slice(&480u32.to_be_bytes());
        png.extend_from_slice(&[8, 0, 0, 0, 0]);
        let info = probe_image(&png).unwrap();
        assert_eq!(
            (info.format, info.width, info.height, info.bits_per_pixel),
            (ImageFormat::Png, 640, 480, Some(8))
        );
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(probe_image(b""), None);
        assert_eq!(probe_image(&[0xFF, 0xA0, 0xFF]), None);
        assert_eq!(probe_image(&[0xFF, 0xD8, 0xFF, 0xC0, 0x00]), None);
    }
}
