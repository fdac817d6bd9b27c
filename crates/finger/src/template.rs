//! Minutiae and templates: the data that leaves the extractor and travels between systems.

use serde::{Deserialize, Serialize};

/// Kind of a minutia (ISO/IEC 19794-2:2005 clause 5.4.2.1 types 01, 10 and 00).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MinutiaKind {
    /// A ridge stops.
    Ending,
    /// A ridge forks into two.
    Bifurcation,
    /// Type not determined (imported records may carry it).
    Other,
}

/// One minutia, in pixel coordinates of the original image (x right, y down).
///
/// `angle` is in radians in `[0, 2π)`, measured counter-clockwise from the x axis as seen on screen (the ISO
/// convention), so the direction vector in image coordinates is `(cos a, -sin a)`. For a ridge ending it points
/// from the end into the ridge it terminates; for a bifurcation it points from the fork away from the stem,
/// between the two branches. With this convention an ending and the bifurcation that the same spot becomes when
/// ridges and valleys swap (ink, pressure) point the same way.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Minutia {
    /// Column in pixels.
    pub x: f32,
    /// Row in pixels.
    pub y: f32,
    /// Direction in radians, counter-clockwise, `[0, 2π)`.
    pub angle: f32,
    /// Ending, bifurcation or unknown.
    pub kind: MinutiaKind,
    /// Quality 0 (unknown/worst) ..= 100 (best), as in ISO/IEC 19794-2.
    pub quality: u8,
}

impl Minutia {
    /// Direction as a unit vector in image coordinates (y down).
    #[must_use]
    pub fn direction(&self) -> (f32, f32) {
        (self.angle.cos(), -self.angle.sin())
    }
}

/// Wraps any angle into `[0, 2π)`.
#[must_use]
pub fn wrap_angle(angle: f32) -> f32 {
    let tau = std::f32::consts::TAU;
    let wrapped = angle.rem_euclid(tau);
    if wrapped >= tau { 0.0 } else { wrapped }
}

/// A minutiae template: the minutiae of one finger impression plus the geometry needed to interpret them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// Width of the source image in pixels.
    pub width: u32,
    /// Height of the source image in pixels.
    pub height: u32,
    /// Resolution of the source image in pixels per inch.
    pub ppi: u32,
    /// Overall impression quality 0..=100.
    pub quality: u8,
    /// Minutiae, best quality first.
    pub minutiae: Vec<Minutia>,
}

/// Magic bytes of garita's native template encoding.
pub const TEMPLATE_MAGIC: [u8; 4] = *b"GFT\0";
/// Current version of the native encoding.
pub const TEMPLATE_VERSION: u8 = 1;
/// Header length of the native encoding.
const HEADER_LEN: usize = 14;
/// Bytes per minutia in the native encoding.
const MINUTIA_LEN: usize = 8;
/// Most minutiae a native template may hold.
pub const MAX_TEMPLATE_MINUTIAE: usize = 255;

impl Template {
    /// Compact versioned binary encoding (8 bytes per minutia).
    ///
    /// Layout, big-endian: magic `GFT\0`, version u8 (1), minutia count u8, width u16, height u16, ppi u16,
    /// quality u8, reserved u8; then per minutia x u16 and y u16 in 1/8 pixel, angle u16 in 1/65536 turn, kind u8
    /// (0 other, 1 ending, 2 bifurcation, as the ISO type codes), quality u8.
    ///
    /// # Errors
    /// [`crate::FingerError::Encode`] when there are more than [`MAX_TEMPLATE_MINUTIAE`] minutiae or a
    /// coordinate does not fit.
    pub fn to_bytes(&self) -> Result<Vec<u8>, crate::FingerError> {
        let enc = |reason| crate::FingerError::Encode {
            format: "garita template",
            reason,
        };
        let count = u8::try_from(self.minutiae.len()).map_err(|_| enc("more than 255 minutiae"))?;
        let dim = |v: u32| u16::try_from(v).map_err(|_| enc("image dimension above 65535"));
        let mut out = Vec::with_capacity(HEADER_LEN + MINUTIA_LEN * self.minutiae.len());
        out.extend_from_slice(&TEMPLATE_MAGIC);
        out.push(TEMPLATE_VERSION);
        out.push(count);
        out.extend_from_slice(&dim(self.width)?.to_be_bytes());
        out.extend_from_slice(&dim(self.height)?.to_be_bytes());
        out.extend_from_slice(&dim(self.ppi)?.to_be_bytes());
        out.push(self.quality.min(100));
        out.push(0);
        for m in &self.minutiae {
            let coord = |v: f32| {
                let scaled = (v * 8.0).round();
                if (0.0..=65535.0).contains(&scaled) {
                    Ok(scaled as u16)
                } else {
                    Err(enc("minutia coordinate outside 0..8192 pixels"))
                }
            };
            out.extend_from_slice(&coord(m.x)?.to_be_bytes());
            out.extend_from_slice(&coord(m.y)?.to_be_bytes());
            let turn =
                (wrap_angle(m.angle) / std::f32::consts::TAU * 65536.0).round() as u32 % 65536;
            out.extend_from_slice(&(turn as u16).to_be_bytes());
            out.push(match m.kind {
                MinutiaKind::Other => 0,
                MinutiaKind::Ending => 1,
                MinutiaKind::Bifurcation => 2,
            });
            out.push(m.quality.min(100));
        }
        Ok(out)
    }

    /// Parses the encoding written by [`Template::to_bytes`].
    ///
    /// # Errors
    /// [`crate::FingerError::Malformed`] with the byte offset of the first bad value.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::FingerError> {
        let bad = |offset, reason| crate::FingerError::Malformed {
            format: "garita template",
            offset,
            reason,
        };
        let header = bytes
            .get(..HEADER_LEN)
            .ok_or(bad(bytes.len(), "truncated header"))?;
        if header[..4] != TEMPLATE_MAGIC {
            return Err(bad(0, "magic GFT\\0"));
        }
        if header[4] != TEMPLATE_VERSION {
            return Err(bad(4, "version 1"));
        }
        let count = usize::from(header[5]);
        let be16 = |at: usize| u16::from_be_bytes([header[at], header[at + 1]]);
        let (width, height, ppi) = (be16(6), be16(8), be16(10));
        if width == 0 || height == 0 {
            return Err(bad(6, "non-zero image size"));
        }
        if ppi == 0 {
            return Err(bad(10, "non-zero resolution"));
        }
        let quality = header[12];
        if quality > 100 {
            return Err(bad(12, "quality 0..=100"));
        }
        let body = &bytes[HEADER_LEN..];
        if body.len() != count * MINUTIA_LEN {
            return Err(bad(HEADER_LEN, "exactly 8 bytes per declared minutia"));
        }
        let mut minutiae = Vec::with_capacity(count);
        for (idx, chunk) in body.chunks_exact(MINUTIA_LEN).enumerate() {
            let at = HEADER_LEN + idx * MINUTIA_LEN;
            let kind = match chunk[6] {
                0 => MinutiaKind::Other,
                1 => MinutiaKind::Ending,
                2 => MinutiaKind::Bifurcation,
                _ => return Err(bad(at + 6, "minutia kind 0, 1 or 2")),
            };
            if chunk[7] > 100 {
                return Err(bad(at + 7, "minutia quality 0..=100"));
            }
            minutiae.push(Minutia {
                x: f32::from(u16::from_be_bytes([chunk[0], chunk[1]])) / 8.0,
                y: f32::from(u16::from_be_bytes([chunk[2], chunk[3]])) / 8.0,
                angle: f32::from(u16::from_be_bytes([chunk[4], chunk[5]])) / 65536.0
                    * std::f32::consts::TAU,
                kind,
                quality: chunk[7],
            });
        }
        Ok(Self {
            width: u32::from(width),
            height: u32::from(height),
            ppi: u32::from(ppi),
            quality,
            minutiae,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> Template {
        Template {
            width: 300,
            height: 400,
            ppi: 500,
            quality: 80,
            minutiae: vec![
                Minutia {
                    x: 10.5,
                    y: 20.25,
                    angle: 1.0,
                    kind: MinutiaKind::Ending,
                    quality: 70,
                },
                Minutia {
                    x: 299.0,
                    y: 0.0,
                    angle: 6.2,
                    kind: MinutiaKind::Bifurcation,
                    quality: 5,
                },
            ],
        }
    }

    #[test]
    fn native_round_trip() {
        let t = sample();
        let bytes = t.to_bytes().unwrap();
        assert_eq!(bytes.len(), 14 + 16);
        let back = Template::from_bytes(&bytes).unwrap();
        assert_eq!(back.minutiae.len(), 2);
        for (a, b) in t.minutiae.iter().zip(&back.minutiae) {
            assert!((a.x - b.x).abs() < 0.07 && (a.y - b.y).abs() < 0.07);
            assert!((a.angle - b.angle).abs() < 1e-3);
            assert_eq!(a.kind, b.kind);
        }
    }

    #[test]
    fn native_rejects_truncation_and_garbage() {
        let bytes = sample().to_bytes().unwrap();
        for cut in 0..bytes.len() {
            assert!(Template::from_bytes(&bytes[..cut]).is_err(), "cut {cut}");
        }
        let mut bad = bytes.clone();
        bad[14 + 6] = 9;
        assert!(matches!(
            Template::from_bytes(&bad),
            Err(crate::FingerError::Malformed { offset: 20, .. })
        ));
    }
}
