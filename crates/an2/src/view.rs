//! The enrollment view: one [`ImageRecordView`] per image-bearing record, with the values an enrollment needs
//! (modality, positions, impression, compression, geometry, resolution) read from whichever layout the record uses.

use crate::model::{Field, FieldValue, Record, TaggedRecord, parse_uint};
use crate::transaction::Transaction;

/// What an image record shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Modality {
    /// Fingerprints, single or slap/multi-finger (types 3–6 and 14, and Type-7 under EBTS with a non-latent IMP).
    Finger,
    /// Palmprints (Type-15).
    Palm,
    /// Face (Type-10 with IMT `FACE`).
    Face,
    /// Scar, mark or tattoo (Type-10 with IMT `SCAR`, `MARK` or `TATTOO`).
    Smt,
    /// Iris (Type-17).
    Iris,
    /// Latent friction ridge image (Type-13; types 4 and 7 with a latent impression code).
    Latent,
    /// Signature (Type-8).
    Signature,
    /// User-defined image (Type-7 without a readable EBTS header, Type-16, Type-10 with another IMT).
    UserDefined,
}

/// How the image bytes are encoded (Table 15 of the standard, plus the signature codes of Type-8).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// Uncompressed raster (`NONE`, binary code 0).
    None,
    /// FBI WSQ (`WSQ20`, binary code 1).
    Wsq,
    /// Baseline JPEG, ISO/IEC 10918 (`JPEGB`, code 2).
    JpegBaseline,
    /// Lossless JPEG, ISO/IEC 10918 process 14 (`JPEGL`, code 3).
    JpegLossless,
    /// JPEG 2000 lossy (`JP2`, code 4).
    Jpeg2000,
    /// JPEG 2000 lossless (`JP2L`, code 5).
    Jpeg2000Lossless,
    /// PNG (`PNG`, code 6).
    Png,
    /// Type-8 vector signature (SRT 2): 5-byte pen vectors.
    SignatureVector,
    /// Compressed, but the record does not say how (Type-8 SRT 1).
    Unspecified,
    /// A binary compression code outside Table 15 (or a Type-5/6 BCA other than 0).
    Code(u8),
    /// A CGA name outside Table 15, as written.
    Named(String),
}

impl Compression {
    /// From a Type-3/4 GCA byte (binary column of Table 15).
    #[must_use]
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => Self::None,
            1 => Self::Wsq,
            2 => Self::JpegBaseline,
            3 => Self::JpegLossless,
            4 => Self::Jpeg2000,
            5 => Self::Jpeg2000Lossless,
            6 => Self::Png,
            other => Self::Code(other),
        }
    }

    /// From a CGA name of types 10 and 13–17 (Table 15); `WSQ` of earlier versions is read as WSQ.
    #[must_use]
    pub fn from_name(name: &str) -> Self {
        match name.to_ascii_uppercase().as_str() {
            "NONE" => Self::None,
            "WSQ20" | "WSQ" => Self::Wsq,
            "JPEGB" => Self::JpegBaseline,
            "JPEGL" => Self::JpegLossless,
            "JP2" => Self::Jpeg2000,
            "JP2L" => Self::Jpeg2000Lossless,
            "PNG" => Self::Png,
            _ => Self::Named(name.to_owned()),
        }
    }

    /// The Table 15 name to write in a CGA field.
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        Some(match self {
            Self::None => "NONE",
            Self::Wsq => "WSQ20",
            Self::JpegBaseline => "JPEGB",
            Self::JpegLossless => "JPEGL",
            Self::Jpeg2000 => "JP2",
            Self::Jpeg2000Lossless => "JP2L",
            Self::Png => "PNG",
            Self::Named(name) => name,
            Self::SignatureVector | Self::Unspecified | Self::Code(_) => return None,
        })
    }

    /// The Table 15 binary code to write in a Type-4 GCA byte.
    #[must_use]
    pub fn code(&self) -> Option<u8> {
        Some(match self {
            Self::None => 0,
            Self::Wsq => 1,
            Self::JpegBaseline => 2,
            Self::JpegLossless => 3,
            Self::Jpeg2000 => 4,
            Self::Jpeg2000Lossless => 5,
            Self::Png => 6,
            Self::Code(code) => *code,
            Self::SignatureVector | Self::Unspecified | Self::Named(_) => return None,
        })
    }
}

/// Type-17 eye label, 17.003 ELR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EyeLabel {
    /// 0: undefined.
    Undefined,
    /// 1: right eye.
    Right,
    /// 2: left eye.
    Left,
}

/// Scar, mark and tattoo descriptors of a Type-10 record (§8.10, fields 10.040–10.043), as written, when present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SmtDescriptors {
    /// 10.040 SMT: NCIC codes, one per subfield (e.g. `TAT UL ARM`).
    pub ncic_codes: Vec<String>,
    /// 10.041 SMS: size, items height and width (centimetres).
    pub size: Option<Vec<String>>,
    /// 10.042 SMD: one subfield per described object, items class / subclass / description code / text.
    pub descriptors: Vec<Vec<String>>,
    /// 10.043 COL: one subfield per object, items its colours.
    pub colors: Vec<Vec<String>>,
}

/// One image-bearing record seen from enrollment.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ImageRecordView<'a> {
    /// Position of the record in the transaction (0 is Type-1).
    pub record_index: usize,
    /// Record type.
    pub record_type: u8,
    /// IDC.
    pub idc: u8,
    /// What the image shows.
    pub modality: Modality,
    /// Friction ridge positions (finger codes 0–19, palm codes 20–38 and 81–84 of Table 8); empty when not given.
    pub positions: Vec<u8>,
    /// Impression type code (Table 7), for friction ridge records.
    pub impression: Option<u8>,
    /// How `data` is encoded.
    pub compression: Compression,
    /// Pixels per line (HLL).
    pub width: u32,
    /// Lines (VLL).
    pub height: u32,
    /// Resolution in pixels per inch, rounded; None when the record gives only an aspect ratio or nothing usable.
    pub ppi: Option<u32>,
    /// Bits per pixel; None when the record does not say and it cannot be inferred.
    pub bit_depth: Option<u8>,
    /// The image bytes as stored (WSQ stays WSQ).
    pub data: &'a [u8],
    /// Type-10 10.003 IMT (`FACE`, `SCAR`, `MARK`, `TATTOO`, …).
    pub image_type: Option<String>,
    /// Type-10 10.040–10.043 when any is present.
    pub smt: Option<SmtDescriptors>,
    /// Type-17 eye label.
    pub eye: Option<EyeLabel>,
    /// Colour space (10.012 / 17.013 CSP), when given.
    pub color_space: Option<String>,
    /// The record itself, e.g. to copy it into a new transaction.
    pub record: &'a Record,
}

/// Table 7 codes of latent impressions: fingerprint 4–7, palm 12–15.
fn is_latent_impression(code: u8) -> bool {
    matches!(code, 4..=7 | 12..=15)
}

/// Pixels per millimetre in 1.011/1.012 form `NN.NN`.
fn ppmm(type1: Option<&TaggedRecord>, number: u32) -> Option<f64> {
    let text = type1?.field(number)?.first_text()?;
    text.parse::<f64>().ok().filter(|value| *value > 0.0)
}

fn ppmm_to_ppi(value: f64) -> u32 {
    let ppi = (value * 25.4).round();
    if ppi.is_finite() && ppi >= 0.0 && ppi <= f64::from(u32::MAX) {
        ppi as u32
    } else {
        0
    }
}

/// Resolution of a binary record from ISR and the Type-1 resolutions (§8.1.11–8.1.12, §8.4.5): ISR 0 means the
/// minimum scanning resolution (19.69 ppmm, "500 ppi"; 9.84 ppmm for the low-resolution types 3 and 5), ISR 1 the
/// native one, which the transaction gives in 1.012 NTR (or, when that is 00.00, 1.011 NSR).
fn binary_ppi(type1: Option<&TaggedRecord>, record_type: u8, isr: u8) -> Option<u32> {
    if matches!(record_type, 3 | 5) {
        return Some(ppmm_to_ppi(ppmm(type1, 12).unwrap_or(9.84)));
    }
    if isr == 0 {
        return Some(500);
    }
    ppmm(type1, 12).or_else(|| ppmm(type1, 11)).map(ppmm_to_ppi)
}

/// Bit depth guessed from the size of an uncompressed raster.
fn inferred_depth(width: u32, height: u32, len: usize) -> Option<u8> {
    let (width, height, len) = (u64::from(width), u64::from(height), len as u64);
    if width == 0 || height == 0 {
        None
    } else if len == width * height {
        Some(8)
    } else if len == width.div_ceil(8) * height {
        Some(1)
    } else if len == width * height * 3 {
        Some(24)
    } else {
        None
    }
}

fn field_u32(record: &TaggedRecord, number: u32) -> Option<u32> {
    record
        .field(number)
        .and_then(Field::first_uint)
        .and_then(|value| u32::try_from(value).ok())
}

fn field_string(record: &TaggedRecord, number: u32) -> Option<String> {
    record
        .field(number)
        .and_then(Field::first_text)
        .map(std::borrow::Cow::into_owned)
}

fn subfield_strings(field: &Field) -> Vec<Vec<String>> {
    field
        .subfield_list()
        .iter()
        .map(|subfield| {
            subfield
                .items()
                .iter()
                .map(|item| String::from_utf8_lossy(item).into_owned())
                .collect()
        })
        .collect()
}

fn smt_descriptors(record: &TaggedRecord) -> Option<SmtDescriptors> {
    let codes = record.field(40);
    let size = record.field(41);
    let descriptors = record.field(42);
    let colors = record.field(43);
    if codes.is_none() && size.is_none() && descriptors.is_none() && colors.is_none() {
        return None;
    }
    Some(SmtDescriptors {
        ncic_codes: codes
            .map(|field| {
                subfield_strings(field)
                    .into_iter()
                    .filter_map(|items| items.into_iter().next())
                    .collect()
            })
            .unwrap_or_default(),
        size: size.and_then(|field| subfield_strings(field).into_iter().next()),
        descriptors: descriptors.map(subfield_strings).unwrap_or_default(),
        colors: colors.map(subfield_strings).unwrap_or_default(),
    })
}

fn tagged_view<'a>(
    index: usize,
    record: &'a Record,
    tagged: &'a TaggedRecord,
) -> Option<ImageRecordView<'a>> {
    let record_type = tagged.record_type();
    if !matches!(record_type, 10 | 13..=17) {
        return None;
    }
    let data = match tagged.field(999).map(Field::value) {
        Some(FieldValue::Binary(data)) => data.as_slice(),
        _ => return None,
    };
    let image_type = if record_type == 10 {
        field_string(tagged, 3)
    } else {
        None
    };
    let modality = match record_type {
        10 => match image_type
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("FACE") => Modality::Face,
            Some("SCAR" | "MARK" | "TATTOO") => Modality::Smt,
            _ => Modality::UserDefined,
        },
        13 => Modality::Latent,
        14 => Modality::Finger,
        15 => Modality::Palm,
        17 => Modality::Iris,
        _ => Modality::UserDefined,
    };
    let positions = if matches!(record_type, 13..=15) {
        tagged
            .field(13)
            .map(|field| {
                field
                    .subfield_list()
                    .iter()
                    .filter_map(|subfield| subfield.item(0).and_then(parse_uint))
                    .filter_map(|value| u8::try_from(value).ok())
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let impression = if matches!(record_type, 13..=15) {
        field_u32(tagged, 3).and_then(|value| u8::try_from(value).ok())
    } else {
        None
    };
    // §7.7.8.3–8.5: SLC 1 gives THPS in pixels per inch, 2 in pixels per centimetre, 0 only an aspect ratio.
    let ppi = match field_u32(tagged, 8) {
        Some(1) => field_u32(tagged, 9),
        Some(2) => field_u32(tagged, 9).map(|ppcm| ppmm_to_ppi(f64::from(ppcm) / 10.0)),
        _ => None,
    };
    let color_space = match record_type {
        10 => field_string(tagged, 12),
        17 => field_string(tagged, 13),
        _ => None,
    };
    let bit_depth = if record_type == 10 {
        match color_space
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            Some("GRAY") => Some(8),
            Some("RGB" | "SRGB" | "YCC" | "SYCC") => Some(24),
            _ => None,
        }
    } else {
        field_u32(tagged, 12).and_then(|value| u8::try_from(value).ok())
    };
    let eye = if record_type == 17 {
        match field_u32(tagged, 3) {
            Some(1) => Some(EyeLabel::Right),
            Some(2) => Some(EyeLabel::Left),
            _ => Some(EyeLabel::Undefined),
        }
    } else {
        None
    };
    Some(ImageRecordView {
        record_index: index,
        record_type,
        idc: tagged.idc().unwrap_or(0),
        modality,
        positions,
        impression,
        compression: field_string(tagged, 11).map_or(Compression::Unspecified, |name| {
            Compression::from_name(&name)
        }),
        width: field_u32(tagged, 6).unwrap_or(0),
        height: field_u32(tagged, 7).unwrap_or(0),
        ppi,
        bit_depth,
        data,
        image_type,
        smt: if record_type == 10 {
            smt_descriptors(tagged)
        } else {
            None
        },
        eye,
        color_space,
        record,
    })
}

fn record_view<'a>(
    type1: Option<&TaggedRecord>,
    index: usize,
    record: &'a Record,
) -> Option<ImageRecordView<'a>> {
    let empty = |record_type: u8, idc: u8, modality: Modality, data: &'a [u8]| ImageRecordView {
        record_index: index,
        record_type,
        idc,
        modality,
        positions: Vec::new(),
        impression: None,
        compression: Compression::Unspecified,
        width: 0,
        height: 0,
        ppi: None,
        bit_depth: None,
        data,
        image_type: None,
        smt: None,
        eye: None,
        color_space: None,
        record,
    };
    match record {
        Record::Tagged(tagged) => tagged_view(index, record, tagged),
        Record::FixedImage(image) => {
            let record_type = image.record_type();
            let grayscale = matches!(record_type, 3 | 4);
            let modality = if is_latent_impression(image.imp) {
                Modality::Latent
            } else {
                Modality::Finger
            };
            let mut view = empty(record_type, image.idc, modality, image.data());
            view.positions = image.positions();
            view.impression = Some(image.imp);
            view.compression = match (grayscale, image.compression) {
                (true, code) => Compression::from_code(code),
                (false, 0) => Compression::None,
                (false, code) => Compression::Code(code),
            };
            view.width = u32::from(image.hll);
            view.height = u32::from(image.vll);
            view.ppi = binary_ppi(type1, record_type, image.isr);
            view.bit_depth = Some(if grayscale { 8 } else { 1 });
            Some(view)
        }
        Record::UserDefinedImage(user) => {
            let (Some(header), Some(image)) = (user.legacy_header(), user.legacy_image()) else {
                return Some(empty(7, user.idc, Modality::UserDefined, user.data()));
            };
            let modality = if is_latent_impression(header.imp) {
                Modality::Latent
            } else {
                Modality::UserDefined
            };
            let mut view = empty(7, user.idc, modality, image);
            view.positions = header
                .fgp
                .iter()
                .copied()
                .filter(|&position| position != 255)
                .collect();
            view.impression = Some(header.imp);
            view.compression = Compression::from_code(header.gca);
            view.width = u32::from(header.hll);
            view.height = u32::from(header.vll);
            view.ppi = binary_ppi(type1, 7, header.isr);
            view.bit_depth = if header.gca == 0 {
                inferred_depth(view.width, view.height, image.len())
            } else {
                None
            };
            Some(view)
        }
        Record::Signature(signature) => {
            let mut view = empty(8, signature.idc, Modality::Signature, signature.data());
            view.compression = match signature.srt {
                0 => Compression::None,
                2 => Compression::SignatureVector,
                _ => Compression::Unspecified,
            };
            view.width = u32::from(signature.hll);
            view.height = u32::from(signature.vll);
            view.ppi = if signature.srt == 2 {
                None
            } else {
                binary_ppi(type1, 8, signature.isr)
            };
            view.bit_depth = if signature.srt == 0 {
                inferred_depth(view.width, view.height, signature.data().len())
            } else {
                None
            };
            Some(view)
        }
        Record::Opaque(_) => None,
    }
}

impl Transaction {
    /// One view per image-bearing record, in transaction order: types 3–8, and types 10 and 13–17 that carry an
    /// n.999 image. Type-9 minutiae are not images: read them with [`Transaction::tagged_records`]`(9)`.
    #[must_use]
    pub fn images(&self) -> Vec<ImageRecordView<'_>> {
        let type1 = self.type1();
        self.records()
            .iter()
            .enumerate()
            .filter_map(|(index, record)| record_view(type1, index, record))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_names_and_codes_agree() {
        for code in 0..=6 {
            let compression = Compression::from_code(code);
            assert_eq!(compression.code(), Some(code));
            let name = compression.name().unwrap_or_default().to_owned();
            assert_eq!(Compression::from_name(&name), compression);
        }
        assert_eq!(Compression::from_name("WSQ"), Compression::Wsq);
        assert_eq!(
            Compression::from_name("XYZ"),
            Compression::Named("XYZ".into())
        );
    }

    #[test]
    fn depth_inference() {
        assert_eq!(inferred_depth(10, 2, 20), Some(8));
        assert_eq!(inferred_depth(10, 2, 4), Some(1));
        assert_eq!(inferred_depth(10, 2, 60), Some(24));
        assert_eq!(inferred_depth(10, 2, 7), None);
        assert_eq!(ppmm_to_ppi(19.69), 500);
        assert_eq!(ppmm_to_ppi(9.84), 250);
    }
}
