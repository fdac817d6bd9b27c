//! ISO/IEC 19794-2:2005 finger minutiae records (record format, clause 7) and ANSI/NIST-ITL type-9 standard
//! minutiae fields (ANSI/NIST-ITL 1-2011, fields 9.001–9.012, the "standard format" minutiae).
//!
//! ISO record layout written here (all big-endian): `FMR\0`, ` 20\0`, total length u32, capture equipment
//! certification (4 bits) and device type (12 bits), image width and height u16, x and y resolution u16 in
//! pixels per centimetre, number of finger views u8, reserved u8; per view: finger position u8, view number
//! (4 bits) and impression type (4 bits), finger quality u8, minutia count u8, then 6 bytes per minutia (type in
//! 2 bits + x in 14 bits, 2 reserved bits + y in 14 bits, angle in units of 360/256 degrees counter-clockwise,
//! quality u8), then a 2-byte extended-data length (0 when written here; skipped when read).

use std::f32::consts::TAU;

use crate::FingerError;
use crate::template::{Minutia, MinutiaKind, Template, wrap_angle};

/// Fixed record header length (clause 7.3).
const ISO_HEADER_LEN: usize = 24;
/// Finger view header length (clause 7.4).
const ISO_VIEW_LEN: usize = 4;
/// Largest record accepted by the parser (255 views × 255 minutiae fits well below it).
pub const MAX_ISO_RECORD: usize = 1 << 20;

/// Where the impression came from, for the record headers (ISO 19794-2 table 2; ANSI/NIST table 8 codes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ViewInfo {
    /// Finger position code 0..=10 (0 unknown, 1 right thumb … 10 left little).
    pub finger_position: u8,
    /// Impression type: 0 live-scan plain, 1 live-scan rolled, 2 non-live plain, 3 non-live rolled, 4 latent.
    pub impression_type: u8,
}

fn ppi_to_ppcm(ppi: u32) -> Result<u16, FingerError> {
    u16::try_from((f64::from(ppi) / 2.54).round() as u64).map_err(|_| FingerError::Encode {
        format: "ISO 19794-2 record",
        reason: "resolution too high",
    })
}

/// Writes a one-view ISO/IEC 19794-2:2005 finger minutiae record.
///
/// Coordinates are whole pixels (clause 7.5.1) and the angle is quantised to 1.40625°.
///
/// # Errors
/// [`FingerError::Encode`] when there are more than 255 minutiae, the image is wider or taller than 16383
/// pixels, or a field is out of its range.
pub fn to_iso_19794_2(template: &Template, view: ViewInfo) -> Result<Vec<u8>, FingerError> {
    let enc = |reason| FingerError::Encode {
        format: "ISO 19794-2 record",
        reason,
    };
    if view.finger_position > 10 || view.impression_type > 15 {
        return Err(enc("finger position or impression type out of range"));
    }
    let count = u8::try_from(template.minutiae.len()).map_err(|_| enc("more than 255 minutiae"))?;
    let width = u16::try_from(template.width).map_err(|_| enc("image too wide"))?;
    let height = u16::try_from(template.height).map_err(|_| enc("image too tall"))?;
    let ppcm = ppi_to_ppcm(template.ppi)?;
    let total = ISO_HEADER_LEN + ISO_VIEW_LEN + 6 * template.minutiae.len() + 2;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"FMR\0");
    out.extend_from_slice(b" 20\0");
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes()); // No certification, device type unreported.
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&ppcm.to_be_bytes());
    out.extend_from_slice(&ppcm.to_be_bytes());
    out.push(1);
    out.push(0);
    out.push(view.finger_position);
    out.push(view.impression_type & 0x0F); // View number 0.
    out.push(template.quality.min(100));
    out.push(count);
    for m in &template.minutiae {
        let x = m.x.round();
        let y = m.y.round();
        if !(0.0..16384.0).contains(&x) || !(0.0..16384.0).contains(&y) {
            return Err(enc("minutia coordinate outside 0..16383"));
        }
        let kind: u16 = match m.kind {
            MinutiaKind::Other => 0,
            MinutiaKind::Ending => 1,
            MinutiaKind::Bifurcation => 2,
        };
        out.extend_from_slice(&((kind << 14) | x as u16).to_be_bytes());
        out.extend_from_slice(&(y as u16).to_be_bytes());
        out.push(((wrap_angle(m.angle) / TAU * 256.0).round() as u32 % 256) as u8);
        out.push(m.quality.min(100));
    }
    out.extend_from_slice(&0u16.to_be_bytes());
    Ok(out)
}

/// Reads the first finger view of an ISO/IEC 19794-2:2005 record.
///
/// # Errors
/// [`FingerError::Malformed`] with the byte offset of the first bad value.
pub fn from_iso_19794_2(bytes: &[u8]) -> Result<(Template, ViewInfo), FingerError> {
    let bad = |offset, reason| FingerError::Malformed {
        format: "ISO 19794-2 record",
        offset,
        reason,
    };
    if bytes.len() > MAX_ISO_RECORD {
        return Err(bad(MAX_ISO_RECORD, "record of at most 1 MiB"));
    }
    let header = bytes
        .get(..ISO_HEADER_LEN)
        .ok_or(bad(bytes.len(), "truncated header"))?;
    if &header[..4] != b"FMR\0" {
        return Err(bad(0, "format identifier FMR\\0"));
    }
    if &header[4..8] != b" 20\0" {
        return Err(bad(4, "version \" 20\\0\" (ISO/IEC 19794-2:2005)"));
    }
    let be16 = |at: usize| u16::from_be_bytes([header[at], header[at + 1]]);
    let total = u32::from_be_bytes([header[8], header[9], header[10], header[11]]) as usize;
    if total != bytes.len() {
        return Err(bad(8, "record length equal to the bytes supplied"));
    }
    let (width, height, ppcm) = (be16(14), be16(16), be16(18));
    if ppcm == 0 {
        return Err(bad(18, "non-zero resolution"));
    }
    if header[22] == 0 {
        return Err(bad(22, "at least one finger view"));
    }
    let view = bytes
        .get(ISO_HEADER_LEN..ISO_HEADER_LEN + ISO_VIEW_LEN)
        .ok_or(bad(bytes.len(), "truncated finger view header"))?;
    let info = ViewInfo {
        finger_position: view[0],
        impression_type: view[1] & 0x0F,
    };
    if info.finger_position > 10 {
        return Err(bad(ISO_HEADER_LEN, "finger position 0..=10"));
    }
    if view[2] > 100 {
        return Err(bad(ISO_HEADER_LEN + 2, "finger quality 0..=100"));
    }
    let count = usize::from(view[3]);
    let start = ISO_HEADER_LEN + ISO_VIEW_LEN;
    let body = bytes
        .get(start..start + 6 * count)
        .ok_or(bad(bytes.len(), "6 bytes per declared minutia"))?;
    let mut minutiae = Vec::with_capacity(count);
    for (idx, chunk) in body.chunks_exact(6).enumerate() {
        let at = start + 6 * idx;
        let xw = u16::from_be_bytes([chunk[0], chunk[1]]);
        let yw = u16::from_be_bytes([chunk[2], chunk[3]]);
        let kind = match xw >> 14 {
            0 => MinutiaKind::Other,
            1 => MinutiaKind::Ending,
            2 => MinutiaKind::Bifurcation,
            _ => return Err(bad(at, "minutia type 00, 01 or 10")),
        };
        if chunk[5] > 100 {
            return Err(bad(at + 5, "minutia quality 0..=100"));
        }
        minutiae.push(Minutia {
            x: f32::from(xw & 0x3FFF),
            y: f32::from(yw & 0x3FFF),
            angle: f32::from(chunk[4]) / 256.0 * TAU,
            kind,
            quality: chunk[5],
        });
    }
    Ok((
        Template {
            width: u32::from(width),
            height: u32::from(height),
            ppi: (f64::from(ppcm) * 2.54).round() as u32,
            quality: view[2],
            minutiae,
        },
        info,
    ))
}

/// Minutia type letter of ANSI/NIST field 9.012 (A ridge ending, B bifurcation, D undetermined).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type9Kind {
    /// `A`: ridge ending.
    A,
    /// `B`: ridge bifurcation.
    B,
    /// `C`: compound (trifurcation or crossover); never produced here, accepted on import.
    C,
    /// `D`: type undetermined.
    D,
}

/// One minutia of field 9.012 (MRC): location in 0.01 mm from the lower-left corner, direction in whole
/// degrees counter-clockwise, quality 0..=63 (0 manual, 1 unknown, 2..=63 automatic, higher better).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Type9Minutia {
    /// Index number, 1-based.
    pub index: u16,
    /// X in units of 0.01 mm, increasing rightwards.
    pub x: u16,
    /// Y in units of 0.01 mm, increasing upwards from the bottom edge.
    pub y: u16,
    /// Direction 0..=359 degrees.
    pub theta: u16,
    /// Quality 0..=63.
    pub quality: u8,
    /// Minutia type.
    pub kind: Type9Kind,
}

/// The standard-format minutiae fields of a type-9 record, ready for an ANSI/NIST writer.
///
/// Fields covered: 9.003 IMP, 9.004 FMT (`S`), 9.005 OFR, 9.006 FGP, 9.010 MIN, 9.011 RDG (`0`: no ridge counts)
/// and 9.012 MRC. 9.001 LEN and 9.002 IDC belong to the transaction writer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Type9Minutiae {
    /// 9.003 impression type code.
    pub impression_type: u8,
    /// 9.005 originating fingerprint reading system: name of the system.
    pub system_name: String,
    /// 9.006 finger position code.
    pub finger_position: u8,
    /// Image height in 0.01 mm, needed to flip y between image rows and the type-9 origin.
    pub image_height: u16,
    /// 9.012 minutiae.
    pub minutiae: Vec<Type9Minutia>,
}

/// One ANSI/NIST field as subfields of information items, before separator encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// Field number within record type 9 (e.g. 12 for 9.012).
    pub number: u16,
    /// Subfields (separated by RS), each a list of information items (separated by US).
    pub subfields: Vec<Vec<String>>,
}

impl Type9Minutiae {
    /// Converts a template (pixels, y down) to type-9 units (0.01 mm, y up from the bottom edge).
    ///
    /// # Errors
    /// [`FingerError::Encode`] when the print is larger than 655.35 mm or has more than 9999 minutiae.
    pub fn from_template(
        template: &Template,
        view: ViewInfo,
        system_name: &str,
    ) -> Result<Self, FingerError> {
        let enc = |reason| FingerError::Encode {
            format: "ANSI/NIST type-9 minutiae",
            reason,
        };
        let to_centi_mm = |px: f32| {
            let v = (f64::from(px) * 2540.0 / f64::from(template.ppi.max(1))).round();
            if (0.0..=9999.0).contains(&v) {
                Ok(v as u16)
            } else {
                Err(enc("coordinate above 99.99 mm"))
            }
        };
        let image_height = to_centi_mm(template.height as f32)?;
        if template.minutiae.len() > 9999 {
            return Err(enc("more than 9999 minutiae"));
        }
        let minutiae = template
            .minutiae
            .iter()
            .enumerate()
            .map(|(idx, m)| {
                Ok(Type9Minutia {
                    index: (idx + 1) as u16,
                    x: to_centi_mm(m.x)?,
                    y: image_height.saturating_sub(to_centi_mm(m.y)?),
                    theta: ((wrap_angle(m.angle).to_degrees().round() as u32) % 360) as u16,
                    // Map 0..=100 onto the automatic range 2..=63.
                    quality: (2 + u32::from(m.quality.min(100)) * 61 / 100) as u8,
                    kind: match m.kind {
                        MinutiaKind::Ending => Type9Kind::A,
                        MinutiaKind::Bifurcation => Type9Kind::B,
                        MinutiaKind::Other => Type9Kind::D,
                    },
                })
            })
            .collect::<Result<Vec<_>, FingerError>>()?;
        Ok(Self {
            impression_type: view.impression_type,
            system_name: system_name.to_owned(),
            finger_position: view.finger_position,
            image_height,
            minutiae,
        })
    }

    /// Converts back to a template at `ppi` (type 9 carries no image size; the height recorded here is used).
    #[must_use]
    pub fn to_template(&self, ppi: u32) -> Template {
        let ppi = ppi.max(1);
        let to_px = |centi_mm: u16| f32::from(centi_mm) * ppi as f32 / 2540.0;
        let height_px = to_px(self.image_height);
        Template {
            width: 0,
            height: height_px.round() as u32,
            ppi,
            quality: 0,
            minutiae: self
                .minutiae
                .iter()
                .map(|m| Minutia {
                    x: to_px(m.x),
                    y: (height_px - to_px(m.y)).max(0.0),
                    angle: wrap_angle(f32::from(m.theta).to_radians()),
                    kind: match m.kind {
                        Type9Kind::A => MinutiaKind::Ending,
                        Type9Kind::B => MinutiaKind::Bifurcation,
                        Type9Kind::C | Type9Kind::D => MinutiaKind::Other,
                    },
                    quality: (u32::from(m.quality.saturating_sub(2)) * 100 / 61).min(100) as u8,
                })
                .collect(),
        }
    }

    /// The fields 9.003–9.012 (standard format), as subfields and items.
    #[must_use]
    pub fn to_fields(&self) -> Vec<Field> {
        let one = |number: u16, value: String| Field {
            number,
            subfields: vec![vec![value]],
        };
        vec![
            one(3, self.impression_type.to_string()),
            one(4, "S".to_owned()),
            Field {
                number: 5,
                // Name, method (A = automatic), no equipment or method detail.
                subfields: vec![vec![self.system_name.clone(), "A".to_owned()]],
            },
            one(6, self.finger_position.to_string()),
            one(10, self.minutiae.len().to_string()),
            one(11, "0".to_owned()),
            Field {
                number: 12,
                subfields: self
                    .minutiae
                    .iter()
                    .map(|m| {
                        vec![
                            format!("{:03}", m.index),
                            format!("{:04}{:04}{:03}", m.x, m.y, m.theta),
                            m.quality.to_string(),
                            match m.kind {
                                Type9Kind::A => "A",
                                Type9Kind::B => "B",
                                Type9Kind::C => "C",
                                Type9Kind::D => "D",
                            }
                            .to_owned(),
                        ]
                    })
                    .collect(),
            },
        ]
    }

    /// Reads the standard-format minutiae back from fields (as an ANSI/NIST reader splits them).
    ///
    /// `image_height` (0.01 mm) is needed to flip y back to image rows; 9.012 ridge-count items are ignored.
    ///
    /// # Errors
    /// [`FingerError::Malformed`] (offset = field number) when 9.012 is missing or an item does not parse.
    pub fn from_fields(fields: &[Field], image_height: u16) -> Result<Self, FingerError> {
        let bad = |number: u16, reason| FingerError::Malformed {
            format: "ANSI/NIST type-9 minutiae",
            offset: usize::from(number),
            reason,
        };
        let item = |number: u16| {
            fields
                .iter()
                .find(|f| f.number == number)
                .and_then(|f| f.subfields.first())
                .and_then(|s| s.first())
                .map(String::as_str)
        };
        let int = |number: u16| item(number).and_then(|v| v.parse::<u8>().ok()).unwrap_or(0);
        if let Some(fmt) = item(4)
            && fmt != "S"
        {
            return Err(bad(4, "standard format S"));
        }
        let mrc = fields
            .iter()
            .find(|f| f.number == 12)
            .ok_or(bad(12, "field 9.012 present"))?;
        let mut minutiae = Vec::with_capacity(mrc.subfields.len());
        for sub in &mrc.subfields {
            let get = |i: usize| sub.get(i).map(String::as_str).unwrap_or("");
            let index = get(0).parse().map_err(|_| bad(12, "minutia index"))?;
            let loc = get(1);
            if loc.len() != 11 || !loc.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(12, "11-digit XXXXYYYYTTT location"));
            }
            let num = |range: std::ops::Range<usize>| {
                loc.get(range)
                    .and_then(|s| s.parse::<u16>().ok())
                    .unwrap_or(0)
            };
            let theta = num(8..11);
            if theta > 359 {
                return Err(bad(12, "direction 0..=359"));
            }
            let quality: u8 = get(2).parse().map_err(|_| bad(12, "minutia quality"))?;
            if quality > 63 {
                return Err(bad(12, "minutia quality 0..=63"));
            }
            let kind = match get(3) {
                "A" => Type9Kind::A,
                "B" => Type9Kind::B,
                "C" => Type9Kind::C,
                "D" => Type9Kind::D,
                _ => return Err(bad(12, "minutia type A, B, C or D")),
            };
            minutiae.push(Type9Minutia {
                index,
                x: num(0..4),
                y: num(4..8),
                theta,
                quality,
                kind,
            });
        }
        let system_name = fields
            .iter()
            .find(|f| f.number == 5)
            .and_then(|f| f.subfields.first())
            .and_then(|s| s.first())
            .cloned()
            .unwrap_or_default();
        Ok(Self {
            impression_type: int(3),
            system_name,
            finger_position: int(6),
            image_height,
            minutiae,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Template {
        Template {
            width: 300,
            height: 400,
            ppi: 500,
            quality: 80,
            minutiae: vec![
                Minutia {
                    x: 10.0,
                    y: 20.0,
                    angle: 1.0,
                    kind: MinutiaKind::Ending,
                    quality: 70,
                },
                Minutia {
                    x: 299.0,
                    y: 399.0,
                    angle: 6.2,
                    kind: MinutiaKind::Bifurcation,
                    quality: 5,
                },
            ],
        }
    }

    #[test]
    fn iso_round_trip_and_layout() {
        let t = sample();
        let view = ViewInfo {
            finger_position: 2,
            impression_type: 0,
        };
        let rec = to_iso_19794_2(&t, view).unwrap();
        assert_eq!(rec.len(), 24 + 4 + 12 + 2);
        assert_eq!(&rec[..8], b"FMR\0 20\0");
        assert_eq!(
            u32::from_be_bytes([rec[8], rec[9], rec[10], rec[11]]) as usize,
            rec.len()
        );
        // 500 ppi is 197 pixels per centimetre.
        assert_eq!(u16::from_be_bytes([rec[18], rec[19]]), 197);
        // First minutia: type 01 in the top bits of x.
        assert_eq!(rec[28] >> 6, 1);
        let (back, back_view) = from_iso_19794_2(&rec).unwrap();
        assert_eq!(back_view, view);
        assert_eq!(back.ppi, 500);
        assert_eq!(back.minutiae.len(), 2);
        assert!((back.minutiae[0].angle - 1.0).abs() < TAU / 256.0);
        assert_eq!(back.minutiae[1].kind, MinutiaKind::Bifurcation);
        for cut in 0..rec.len() {
            assert!(from_iso_19794_2(&rec[..cut]).is_err());
        }
    }

    #[test]
    fn type9_round_trip() {
        let t = sample();
        let view = ViewInfo {
            finger_position: 1,
            impression_type: 0,
        };
        let rec = Type9Minutiae::from_template(&t, view, "GARITA").unwrap();
        // 10 px at 500 ppi = 0.508 mm; y flips from the bottom (400 px = 20.32 mm).
        assert_eq!(rec.minutiae[0].x, 51);
        assert_eq!(rec.minutiae[0].y, 2032 - 102);
        let fields = rec.to_fields();
        let mrc = fields.iter().find(|f| f.number == 12).unwrap();
        assert_eq!(
            mrc.subfields[0][1],
            format!("{:04}{:04}{:03}", 51, 1930, 57)
        );
        let back = Type9Minutiae::from_fields(&fields, rec.image_height).unwrap();
        assert_eq!(back, rec);
        let t2 = back.to_template(500);
        assert!((t2.minutiae[0].y - 20.0).abs() < 0.5);
    }
}
