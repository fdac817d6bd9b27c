//! DICOS (NEMA IIC 1 v03) objects: reading CT, DX, AIT 2D/3D images and Threat Detection Reports, writing DX scans
//! and TDRs.
//!
//! DICOS reuses the DICOM Part 10 file format (PS3.10) with its own SOP classes 1.2.840.10008.5.1.4.1.1.501.x
//! (NEMA IIC 1 v03 Table 2-1) and threat attributes in group 0x4010 (IIC 1 section 14, TDR module). Parsing is
//! done by dicom-rs over an in-memory byte slice; this module adds the caps, the DICOS-specific attributes, and the
//! pixel decoding (native little endian, or lossless JPEG via [`crate::jpeg_lossless`]).
//!
//! Dual energy: DICOS marks the energy of an image in Image Type (0008,0008) value 2, `HIGH ENERGY` or
//! `LOW ENERGY`, with one object per energy (as in the SDK's dual-energy CT example). garita writes dual-energy DX
//! the same way: two DX objects sharing Study and Series Instance UIDs, paired by [`pair_dual_energy`].

use std::borrow::Cow;

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::file::ReadPreamble;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};
use serde::{Deserialize, Serialize};

use crate::error::{NiiError, Result};
use crate::jpeg_lossless;

/// Largest DICOS object accepted, checked before parsing.
pub const MAX_INPUT_BYTES: usize = 1 << 31;
/// Largest number of samples (rows x columns x frames) decoded from one object, checked before allocating:
/// 2^28 covers a 16k x 16k radiograph or a 512 x 512 x 1024 CT volume.
pub const MAX_SAMPLES: u64 = 1 << 28;

/// DICOS SOP classes this crate knows by name (NEMA IIC 1 v03 Table 2-1).
const SOP_CLASS_NAMES: &[(&str, &str)] = &[
    (uids::DICOSCT_IMAGE_STORAGE, "DICOS CT Image"),
    (
        uids::DICOS_DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION,
        "DICOS DX Image (for presentation)",
    ),
    (
        uids::DICOS_DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PROCESSING,
        "DICOS DX Image (for processing)",
    ),
    (
        uids::DICOS_THREAT_DETECTION_REPORT_STORAGE,
        "DICOS Threat Detection Report",
    ),
    (uids::DICOS2DAIT_STORAGE, "DICOS 2D AIT"),
    (uids::DICOS3DAIT_STORAGE, "DICOS 3D AIT"),
    (
        uids::DICOS_QUADRUPOLE_RESONANCE_STORAGE,
        "DICOS Quadrupole Resonance",
    ),
];

/// Image SOP classes [`read_scan`] decodes.
const IMAGE_SOP_CLASSES: &[&str] = &[
    uids::DICOSCT_IMAGE_STORAGE,
    uids::DICOS_DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PRESENTATION,
    uids::DICOS_DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PROCESSING,
    uids::DICOS2DAIT_STORAGE,
    uids::DICOS3DAIT_STORAGE,
];

const TS_IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const TS_EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const TS_JPEG_LOSSLESS: &str = "1.2.840.10008.1.2.4.57";
const TS_JPEG_LOSSLESS_SV1: &str = "1.2.840.10008.1.2.4.70";

/// garita's implementation class UID (a 2.25 UUID-derived root, PS3.5 B.2), written in every file meta group.
const IMPLEMENTATION_CLASS_UID: &str = "2.25.193742094858117233155916374508301294612";

/// Energy channel of an image, from Image Type (0008,0008) value 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Energy {
    /// `HIGH ENERGY`.
    High,
    /// `LOW ENERGY`.
    Low,
    /// Anything else: a single-energy image.
    Single,
}

/// One potential threat object (PTO) of a TDR (IIC 1 v03 TDR module, Threat Sequence 4010,1011).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThreatItem {
    /// Potential Threat Object ID (4010,1010).
    pub id: u32,
    /// Threat ROI Base (4010,1004): x, y, z of the box corner, in pixels of the referenced image.
    pub roi_base: Option<Vec<f32>>,
    /// Threat ROI Extents (4010,1005): width, height, depth of the box.
    pub roi_extents: Option<Vec<f32>>,
    /// Bounding Polygon (4010,101D) as stored (often the two opposite corners).
    pub bounding_polygon: Option<Vec<f32>>,
    /// SOP Instance UIDs of the images this PTO was found in (Referenced Instance Sequence 0008,114A).
    pub referenced_instance_uids: Vec<String>,
    /// Threat Category (4010,1012), e.g. `PI`, `ANOMALY`, `CONTRABAND`.
    pub category: Option<String>,
    /// Threat Category Description (4010,1013).
    pub category_description: Option<String>,
    /// ATD Assessment Flag (4010,1015): `THREAT`, `NO_THREAT` or `UNKNOWN`.
    pub assessment_flag: Option<String>,
    /// ATD Assessment Probability (4010,1016).
    pub probability: Option<f32>,
    /// PTO Location Description (4010,1078).
    pub location_description: Option<String>,
}

/// Summary of one DICOS object, as `garita cargo dicos-info --json` prints it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DicosInfo {
    /// SOP Class UID (0008,0016).
    pub sop_class_uid: String,
    /// Human name of the SOP class if it is a DICOS one.
    pub sop_class_name: Option<String>,
    /// SOP Instance UID (0008,0018).
    pub sop_instance_uid: String,
    /// Modality (0008,0060): `CT`, `DX`, `AIT`, `TDR`, `QR`...
    pub modality: String,
    /// Transfer Syntax UID of the file meta group (0002,0010).
    pub transfer_syntax_uid: String,
    /// Rows (0028,0010); `None` for objects without an image.
    pub rows: Option<u32>,
    /// Columns (0028,0011).
    pub columns: Option<u32>,
    /// Number of Frames (0028,0008), 1 for a single-frame image, `None` without pixel data.
    pub frames: Option<u32>,
    /// Bits Allocated (0028,0100).
    pub bits_allocated: Option<u16>,
    /// Energy channel of an image (Image Type value 2).
    pub energy: Option<Energy>,
    /// Study Instance UID (0020,000D).
    pub study_instance_uid: Option<String>,
    /// Series Instance UID (0020,000E).
    pub series_instance_uid: Option<String>,
    /// OOI (object of inspection) ID, Patient ID (0010,0020) in DICOS: the container or bag number.
    pub ooi_id: Option<String>,
    /// For a TDR: Alarm Decision (4010,1031).
    pub alarm_decision: Option<String>,
    /// For a TDR: the SOP Instance UIDs it references (Referenced Study Sequence 0008,1110).
    pub referenced_instance_uids: Vec<String>,
    /// For a TDR: its threat items; `None` for other objects.
    pub threats: Option<Vec<ThreatItem>>,
}

/// A decoded DICOS image (CT, DX or AIT).
#[derive(Clone, Debug, PartialEq)]
pub struct Scan {
    /// Header summary.
    pub info: DicosInfo,
    /// Rows per frame.
    pub rows: u32,
    /// Columns per frame.
    pub columns: u32,
    /// Number of frames (slices of a CT/3D AIT volume).
    pub frames: u32,
    /// Bits Stored (0028,0101).
    pub bits_stored: u16,
    /// Pixel Representation (0028,0103): 0 unsigned, 1 two's complement (samples keep their bit pattern).
    pub pixel_representation: u16,
    /// Rescale Slope (0028,1053), 1 if absent.
    pub rescale_slope: f64,
    /// Rescale Intercept (0028,1052), 0 if absent.
    pub rescale_intercept: f64,
    /// Energy channel.
    pub energy: Energy,
    /// Pixel Spacing (0028,0030) as (row pitch, column pitch) in mm, if present.
    pub pixel_spacing_mm: Option<[f64; 2]>,
    /// Samples, frame after frame, each in raster order; 8-bit data is widened.
    pub pixels: Vec<u16>,
}

impl Scan {
    /// Samples of frame `index`, or `None` past the last frame.
    pub fn frame(&self, index: u32) -> Option<&[u16]> {
        let per = self.rows as usize * self.columns as usize;
        let start = per.checked_mul(index as usize)?;
        self.pixels.get(start..start.checked_add(per)?)
    }
}

/// Two registered images of the same object at two energies.
#[derive(Clone, Debug, PartialEq)]
pub struct DualEnergyScan {
    /// The high-energy image.
    pub high: Scan,
    /// The low-energy image.
    pub low: Scan,
}

/// Parses the header of a DICOS object, TDR threat items included, without decoding pixels.
///
/// # Errors
/// [`NiiError::InputTooLarge`], [`NiiError::NotDicos`] for bytes without the Part 10 `DICM` magic,
/// [`NiiError::Parse`] for truncated or malformed data sets, [`NiiError::MissingAttribute`] /
/// [`NiiError::BadAttribute`] when SOP Class, SOP Instance or Modality are absent or unreadable.
pub fn dicos_info(bytes: &[u8]) -> Result<DicosInfo> {
    let obj = parse(bytes)?;
    info_of(&obj)
}

/// Reads and decodes a DICOS image object (CT, DX or 2D/3D AIT).
///
/// # Errors
/// Everything [`dicos_info`] returns, plus [`NiiError::WrongModality`] for a TDR, QR or non-DICOS object,
/// [`NiiError::ImageTooLarge`] past [`MAX_SAMPLES`], [`NiiError::PixelDataLength`] for short native pixel data,
/// [`NiiError::UnsupportedEncoding`] for compressed syntaxes other than lossless JPEG or unusual layouts, and
/// [`NiiError::Jpeg`] for corrupt compressed frames.
pub fn read_scan(bytes: &[u8]) -> Result<Scan> {
    let obj = parse(bytes)?;
    let info = info_of(&obj)?;
    if !IMAGE_SOP_CLASSES.contains(&info.sop_class_uid.as_str()) {
        return Err(NiiError::WrongModality {
            expected: "a DICOS CT, DX or AIT image",
            modality: info.modality,
            sop_class_uid: info.sop_class_uid,
        });
    }
    let (Some(rows), Some(columns), Some(frames), Some(bits_allocated)) =
        (info.rows, info.columns, info.frames, info.bits_allocated)
    else {
        return Err(missing(tags::ROWS, "Rows/Columns/BitsAllocated"));
    };
    let samples = u64::from(rows) * u64::from(columns) * u64::from(frames);
    if samples == 0 || samples > MAX_SAMPLES {
        return Err(NiiError::ImageTooLarge {
            rows,
            columns,
            frames,
            max: MAX_SAMPLES,
        });
    }
    let samples_per_pixel = opt_u32(&obj, tags::SAMPLES_PER_PIXEL, "SamplesPerPixel")?.unwrap_or(1);
    if samples_per_pixel != 1 {
        return Err(NiiError::UnsupportedEncoding {
            reason: format!("{samples_per_pixel} samples per pixel (only grayscale is supported)"),
        });
    }
    if bits_allocated != 8 && bits_allocated != 16 {
        return Err(NiiError::UnsupportedEncoding {
            reason: format!("{bits_allocated} bits allocated (8 or 16 supported)"),
        });
    }
    let bits_stored = opt_u32(&obj, tags::BITS_STORED, "BitsStored")?
        .map_or(bits_allocated, |v| v.min(u32::from(bits_allocated)) as u16);
    let pixel_representation =
        opt_u32(&obj, tags::PIXEL_REPRESENTATION, "PixelRepresentation")?.unwrap_or(0) as u16;
    let rescale_slope = opt_f64(&obj, tags::RESCALE_SLOPE, "RescaleSlope")?.unwrap_or(1.0);
    let rescale_intercept =
        opt_f64(&obj, tags::RESCALE_INTERCEPT, "RescaleIntercept")?.unwrap_or(0.0);
    let pixel_elem = obj
        .get(tags::PIXEL_DATA)
        .ok_or_else(|| missing(tags::PIXEL_DATA, "PixelData"))?;
    let ts = info.transfer_syntax_uid.as_str();
    let pixels = if let Some(fragments) = pixel_elem.value().fragments() {
        if ts != TS_JPEG_LOSSLESS && ts != TS_JPEG_LOSSLESS_SV1 {
            return Err(NiiError::UnsupportedEncoding {
                reason: format!("compressed transfer syntax {ts} (only lossless JPEG is decoded)"),
            });
        }
        decode_jpeg_frames(fragments, rows, columns, frames)?
    } else {
        if ts != TS_IMPLICIT_LE && ts != TS_EXPLICIT_LE {
            return Err(NiiError::UnsupportedEncoding {
                reason: format!("native transfer syntax {ts}"),
            });
        }
        let raw = pixel_elem
            .value()
            .to_bytes()
            .map_err(|e| bad("PixelData", e))?;
        native_pixels(&raw, samples, bits_allocated)?
    };
    let energy = info.energy.unwrap_or(Energy::Single);
    let pixel_spacing_mm = obj
        .get(tags::PIXEL_SPACING)
        .and_then(|e| e.value().to_multi_float64().ok())
        .and_then(|v| match v.as_slice() {
            [r, c] if *r > 0.0 && *c > 0.0 && r.is_finite() && c.is_finite() => Some([*r, *c]),
            _ => None,
        });
    Ok(Scan {
        info,
        rows,
        columns,
        frames,
        bits_stored,
        pixel_representation,
        rescale_slope,
        rescale_intercept,
        energy,
        pixel_spacing_mm,
        pixels,
    })
}

/// Pairs two images of one dual-energy acquisition by their Image Type energy values.
///
/// # Errors
/// [`NiiError::InvalidInput`] unless one is `HIGH ENERGY`, the other `LOW ENERGY`, and both have the same rows,
/// columns and frames.
pub fn pair_dual_energy(a: Scan, b: Scan) -> Result<DualEnergyScan> {
    if (a.rows, a.columns, a.frames) != (b.rows, b.columns, b.frames) {
        return Err(NiiError::invalid(format!(
            "dual-energy pair has different sizes: {}x{}x{} and {}x{}x{}",
            a.rows, a.columns, a.frames, b.rows, b.columns, b.frames
        )));
    }
    match (a.energy, b.energy) {
        (Energy::High, Energy::Low) => Ok(DualEnergyScan { high: a, low: b }),
        (Energy::Low, Energy::High) => Ok(DualEnergyScan { high: b, low: a }),
        (ea, eb) => Err(NiiError::invalid(format!(
            "not a dual-energy pair: energies {ea:?} and {eb:?}"
        ))),
    }
}

fn parse(bytes: &[u8]) -> Result<DefaultDicomObject> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(NiiError::InputTooLarge {
            len: bytes.len(),
            max: MAX_INPUT_BYTES,
        });
    }
    // PS3.10 7.1: 128-byte preamble then "DICM"; accept a stream that starts at "DICM" as well.
    let body = if bytes.get(128..132) == Some(b"DICM".as_slice()) {
        &bytes[128..]
    } else if bytes.get(0..4) == Some(b"DICM".as_slice()) {
        bytes
    } else {
        return Err(NiiError::NotDicos {
            reason: if bytes.len() < 132 {
                format!(
                    "only {} bytes, shorter than preamble and magic",
                    bytes.len()
                )
            } else {
                "no DICM magic at byte 128".to_string()
            },
        });
    };
    crate::prescan::check_lengths(body)?;
    OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .from_reader(body)
        .map_err(|e| NiiError::Parse {
            source: Box::new(e),
        })
}

fn info_of(obj: &DefaultDicomObject) -> Result<DicosInfo> {
    let sop_class_uid = req_str(obj, tags::SOP_CLASS_UID, "SOPClassUID")?;
    let sop_instance_uid = req_str(obj, tags::SOP_INSTANCE_UID, "SOPInstanceUID")?;
    let modality = req_str(obj, tags::MODALITY, "Modality")?;
    let has_pixels = obj.get(tags::PIXEL_DATA).is_some();
    let rows = opt_u32(obj, tags::ROWS, "Rows")?;
    let columns = opt_u32(obj, tags::COLUMNS, "Columns")?;
    let frames = if has_pixels {
        // Number of Frames is IS (a decimal string); absent means a single frame (PS3.3 C.7.6.6).
        Some(
            opt_u32(obj, tags::NUMBER_OF_FRAMES, "NumberOfFrames")?
                .unwrap_or(1)
                .max(1),
        )
    } else {
        None
    };
    let bits_allocated = opt_u32(obj, tags::BITS_ALLOCATED, "BitsAllocated")?
        .map(|v| v.min(u32::from(u16::MAX)) as u16);
    let energy = if has_pixels {
        let image_type = opt_multi_str(obj, tags::IMAGE_TYPE);
        Some(match image_type.get(1).map(|s| s.trim()) {
            Some("HIGH ENERGY") => Energy::High,
            Some("LOW ENERGY") => Energy::Low,
            _ => Energy::Single,
        })
    } else {
        None
    };
    let is_tdr = sop_class_uid == uids::DICOS_THREAT_DETECTION_REPORT_STORAGE;
    let (alarm_decision, referenced_instance_uids, threats) = if is_tdr {
        let refs = obj
            .get(tags::REFERENCED_STUDY_SEQUENCE)
            .and_then(|e| e.value().items())
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| opt_str(i, tags::REFERENCED_SOP_INSTANCE_UID))
                    .collect()
            })
            .unwrap_or_default();
        let threats = threat_items(obj)?;
        // dicom-rs ends a data set quietly at end of input on an element boundary, so a cut-short TDR would look
        // complete; Number of Total Objects (4010,1033, type 1 in the TDR module) catches that.
        let declared = opt_u32(obj, tags::NUMBER_OF_TOTAL_OBJECTS, "NumberOfTotalObjects")?
            .ok_or_else(|| missing(tags::NUMBER_OF_TOTAL_OBJECTS, "NumberOfTotalObjects"))?;
        if declared as usize != threats.len() {
            return Err(bad(
                "NumberOfTotalObjects",
                format!(
                    "declares {declared} threat objects, Threat Sequence holds {}",
                    threats.len()
                ),
            ));
        }
        (opt_str(obj, tags::ALARM_DECISION), refs, Some(threats))
    } else {
        (None, Vec::new(), None)
    };
    Ok(DicosInfo {
        sop_class_name: SOP_CLASS_NAMES
            .iter()
            .find(|(uid, _)| *uid == sop_class_uid)
            .map(|(_, name)| (*name).to_string()),
        sop_class_uid,
        sop_instance_uid,
        modality,
        transfer_syntax_uid: obj
            .meta()
            .transfer_syntax()
            .trim_end_matches('\0')
            .to_string(),
        rows,
        columns,
        frames,
        bits_allocated,
        energy,
        study_instance_uid: opt_str(obj, tags::STUDY_INSTANCE_UID),
        series_instance_uid: opt_str(obj, tags::SERIES_INSTANCE_UID),
        ooi_id: opt_str(obj, tags::PATIENT_ID),
        alarm_decision,
        referenced_instance_uids,
        threats,
    })
}

fn threat_items(obj: &InMemDicomObject) -> Result<Vec<ThreatItem>> {
    let Some(items) = obj
        .get(tags::THREAT_SEQUENCE)
        .and_then(|e| e.value().items())
    else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let id = opt_u32(
            item,
            tags::POTENTIAL_THREAT_OBJECT_ID,
            "PotentialThreatObjectID",
        )?
        .ok_or_else(|| missing(tags::POTENTIAL_THREAT_OBJECT_ID, "PotentialThreatObjectID"))?;
        let mut threat = ThreatItem {
            id,
            roi_base: None,
            roi_extents: None,
            bounding_polygon: None,
            referenced_instance_uids: Vec::new(),
            category: None,
            category_description: None,
            assessment_flag: None,
            probability: None,
            location_description: None,
        };
        for rep in seq_items(item, tags::PTO_REPRESENTATION_SEQUENCE) {
            for r in seq_items(rep, tags::REFERENCED_INSTANCE_SEQUENCE) {
                if let Some(uid) = opt_str(r, tags::REFERENCED_SOP_INSTANCE_UID) {
                    threat.referenced_instance_uids.push(uid);
                }
            }
            for roi in seq_items(rep, tags::THREAT_ROI_VOXEL_SEQUENCE) {
                threat.roi_base = opt_floats(roi, tags::THREAT_ROI_BASE, "ThreatROIBase")?;
                threat.roi_extents = opt_floats(roi, tags::THREAT_ROI_EXTENTS, "ThreatROIExtents")?;
            }
            threat.bounding_polygon = opt_floats(rep, tags::BOUNDING_POLYGON, "BoundingPolygon")?;
            threat.location_description = opt_str(rep, tags::PTO_LOCATION_DESCRIPTION);
        }
        if let Some(assessment) = seq_items(item, tags::ATD_ASSESSMENT_SEQUENCE).first() {
            threat.category = opt_str(assessment, tags::THREAT_CATEGORY);
            threat.category_description = opt_str(assessment, tags::THREAT_CATEGORY_DESCRIPTION);
            threat.assessment_flag = opt_str(assessment, tags::ATD_ASSESSMENT_FLAG);
            threat.probability = opt_floats(
                assessment,
                tags::ATD_ASSESSMENT_PROBABILITY,
                "ATDAssessmentProbability",
            )?
            .and_then(|v| v.first().copied());
        }
        out.push(threat);
    }
    Ok(out)
}

fn decode_jpeg_frames(
    fragments: &[Vec<u8>],
    rows: u32,
    columns: u32,
    frames: u32,
) -> Result<Vec<u16>> {
    // PS3.5 A.4: each frame is one or more fragments; with exactly one fragment per frame (as DICOS devices write)
    // the mapping is direct, otherwise a single frame may span all fragments.
    let streams: Vec<Cow<'_, [u8]>> = if fragments.len() == frames as usize {
        fragments
            .iter()
            .map(|f| Cow::Borrowed(f.as_slice()))
            .collect()
    } else if frames == 1 {
        vec![Cow::Owned(fragments.concat())]
    } else {
        return Err(NiiError::UnsupportedEncoding {
            reason: format!(
                "{} pixel data fragments for {frames} frames (one fragment per frame expected)",
                fragments.len()
            ),
        });
    };
    let per_frame = rows as usize * columns as usize;
    let mut pixels = Vec::with_capacity(per_frame * frames as usize);
    for (frame_idx, stream) in streams.iter().enumerate() {
        let decoded =
            jpeg_lossless::decode(stream, per_frame as u64).map_err(|(offset, reason)| {
                NiiError::Jpeg {
                    frame: frame_idx,
                    offset,
                    reason,
                }
            })?;
        if decoded.width != columns as usize || decoded.height != rows as usize {
            return Err(NiiError::Jpeg {
                frame: frame_idx,
                offset: 0,
                reason: format!(
                    "frame is {}x{} but the header declares {columns}x{rows}",
                    decoded.width, decoded.height
                ),
            });
        }
        pixels.extend_from_slice(&decoded.samples);
    }
    Ok(pixels)
}

fn native_pixels(raw: &[u8], samples: u64, bits_allocated: u16) -> Result<Vec<u16>> {
    let bytes_per = u64::from(bits_allocated / 8);
    let expected = samples * bytes_per;
    if (raw.len() as u64) < expected {
        return Err(NiiError::PixelDataLength {
            expected,
            actual: raw.len() as u64,
        });
    }
    let n = samples as usize;
    Ok(if bits_allocated == 8 {
        raw[..n].iter().map(|&b| u16::from(b)).collect()
    } else {
        raw[..n * 2]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect()
    })
}

fn missing(tag: Tag, name: &'static str) -> NiiError {
    NiiError::MissingAttribute {
        name,
        group: tag.group(),
        element: tag.element(),
    }
}

fn bad(name: &'static str, e: impl std::fmt::Display) -> NiiError {
    NiiError::BadAttribute {
        name,
        reason: e.to_string(),
    }
}

fn seq_items(obj: &InMemDicomObject, tag: Tag) -> &[InMemDicomObject] {
    obj.get(tag)
        .and_then(|e| e.value().items())
        .unwrap_or_default()
}

fn opt_str(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let value = obj.get(tag)?.value().to_str().ok()?;
    // DICOM pads strings to even length with a space (or NUL for UI); neither is part of the value.
    let trimmed = value.trim_end_matches(['\0', ' ']).trim_start();
    Some(trimmed.to_string())
}

fn req_str(obj: &InMemDicomObject, tag: Tag, name: &'static str) -> Result<String> {
    let elem = obj.get(tag).ok_or_else(|| missing(tag, name))?;
    let value = elem.value().to_str().map_err(|e| bad(name, e))?;
    let trimmed = value.trim_end_matches(['\0', ' ']).trim_start();
    if trimmed.is_empty() {
        return Err(bad(name, "empty value"));
    }
    Ok(trimmed.to_string())
}

fn opt_multi_str(obj: &InMemDicomObject, tag: Tag) -> Vec<String> {
    obj.get(tag)
        .and_then(|e| e.value().to_multi_str().ok())
        .map(|v| v.iter().map(|s| s.trim().to_string()).collect())
        .unwrap_or_default()
}

fn opt_u32(obj: &InMemDicomObject, tag: Tag, name: &'static str) -> Result<Option<u32>> {
    match obj.get(tag) {
        None => Ok(None),
        Some(e) if e.value().primitive().is_some_and(|p| p.multiplicity() == 0) => Ok(None),
        Some(e) => e
            .value()
            .to_int::<u32>()
            .map(Some)
            .map_err(|err| bad(name, err)),
    }
}

fn opt_f64(obj: &InMemDicomObject, tag: Tag, name: &'static str) -> Result<Option<f64>> {
    match obj.get(tag) {
        None => Ok(None),
        Some(e) if e.value().primitive().is_some_and(|p| p.multiplicity() == 0) => Ok(None),
        Some(e) => e
            .value()
            .to_float64()
            .map(Some)
            .map_err(|err| bad(name, err)),
    }
}

fn opt_floats(obj: &InMemDicomObject, tag: Tag, name: &'static str) -> Result<Option<Vec<f32>>> {
    match obj.get(tag) {
        None => Ok(None),
        Some(e) if e.value().primitive().is_some_and(|p| p.multiplicity() == 0) => Ok(None),
        Some(e) => e
            .value()
            .to_multi_float32()
            .map(Some)
            .map_err(|err| bad(name, err)),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------------------------

/// Identity and acquisition attributes shared by the objects of one scan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScanIdentity {
    /// OOI ID: the container number (written as Patient ID, as DICOS does).
    pub ooi_id: String,
    /// Study Instance UID shared by the scan's images and its TDR.
    pub study_instance_uid: String,
    /// Series Instance UID shared by the two energies of one scan.
    pub series_instance_uid: String,
    /// Acquisition date `YYYYMMDD`; a parameter so output is reproducible.
    pub date: String,
    /// Acquisition time `HHMMSS`.
    pub time: String,
}

/// One DX image to write.
#[derive(Clone, Debug, PartialEq)]
pub struct DxImage<'a> {
    /// SOP Instance UID of this object.
    pub sop_instance_uid: String,
    /// Energy channel (written as Image Type value 2).
    pub energy: Energy,
    /// Nominal source energy in kV (6000 for a 6 MeV linac), written as KVP (0018,0060).
    pub kvp: f64,
    /// Rows.
    pub rows: u32,
    /// Columns.
    pub columns: u32,
    /// Rescale Slope to store; garita's simulator writes -ln(transmission) x 4000 with slope 1/4000.
    pub rescale_slope: f64,
    /// Pixel spacing (row pitch, column pitch) in mm at the object, written as Pixel Spacing (0028,0030).
    pub pixel_spacing_mm: Option<[f64; 2]>,
    /// Samples in raster order, rows x columns of them.
    pub pixels: &'a [u16],
}

/// Writes a DICOS DX (for processing) object, explicit VR little endian, 16-bit MONOCHROME1 pixels.
///
/// # Errors
/// [`NiiError::InvalidInput`] if the pixel count is not rows x columns or a dimension is 0 or above 65535,
/// [`NiiError::Write`] if dicom-rs refuses to encode.
pub fn write_dx(identity: &ScanIdentity, image: &DxImage<'_>) -> Result<Vec<u8>> {
    if image.rows == 0
        || image.columns == 0
        || image.rows > u32::from(u16::MAX)
        || image.columns > u32::from(u16::MAX)
    {
        return Err(NiiError::invalid(format!(
            "DX dimensions {}x{} outside 1..=65535",
            image.columns, image.rows
        )));
    }
    if image.pixels.len() != image.rows as usize * image.columns as usize {
        return Err(NiiError::invalid(format!(
            "{} pixels for a {}x{} image",
            image.pixels.len(),
            image.columns,
            image.rows
        )));
    }
    let mut obj = base_object(
        identity,
        uids::DICOS_DIGITAL_X_RAY_IMAGE_STORAGE_FOR_PROCESSING,
        &image.sop_instance_uid,
        "DX",
    );
    let energy = match image.energy {
        Energy::High => "HIGH ENERGY",
        Energy::Low => "LOW ENERGY",
        Energy::Single => "NONE",
    };
    put_strs(
        &mut obj,
        tags::IMAGE_TYPE,
        VR::CS,
        &["ORIGINAL", energy, "PRIMARY"],
    );
    put_str(&mut obj, tags::KVP, VR::DS, &format_ds(image.kvp));
    put(
        &mut obj,
        tags::SAMPLES_PER_PIXEL,
        VR::US,
        PrimitiveValue::from(1u16),
    );
    // MONOCHROME1: high stored values (strong attenuation) display dark, as operators expect of a radiograph.
    put_str(
        &mut obj,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME1",
    );
    put(
        &mut obj,
        tags::ROWS,
        VR::US,
        PrimitiveValue::from(image.rows as u16),
    );
    put(
        &mut obj,
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(image.columns as u16),
    );
    put(
        &mut obj,
        tags::BITS_ALLOCATED,
        VR::US,
        PrimitiveValue::from(16u16),
    );
    put(
        &mut obj,
        tags::BITS_STORED,
        VR::US,
        PrimitiveValue::from(16u16),
    );
    put(
        &mut obj,
        tags::HIGH_BIT,
        VR::US,
        PrimitiveValue::from(15u16),
    );
    put(
        &mut obj,
        tags::PIXEL_REPRESENTATION,
        VR::US,
        PrimitiveValue::from(0u16),
    );
    put_str(&mut obj, tags::RESCALE_INTERCEPT, VR::DS, "0");
    put_str(
        &mut obj,
        tags::RESCALE_SLOPE,
        VR::DS,
        &format_ds(image.rescale_slope),
    );
    put_str(&mut obj, tags::RESCALE_TYPE, VR::LO, "NEGLOG_TRANSMISSION");
    put_str(
        &mut obj,
        tags::PRESENTATION_INTENT_TYPE,
        VR::CS,
        "FOR PROCESSING",
    );
    if let Some([row_mm, col_mm]) = image.pixel_spacing_mm {
        let v = vec![format_ds(row_mm), format_ds(col_mm)];
        put(
            &mut obj,
            tags::PIXEL_SPACING,
            VR::DS,
            PrimitiveValue::Strs(v.into()),
        );
    }
    put(
        &mut obj,
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(image.pixels.to_vec().into()),
    );
    finish(obj)
}

/// A Threat Detection Report to write, pointing at the image(s) it describes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TdrReport {
    /// SOP Instance UID of the TDR itself.
    pub sop_instance_uid: String,
    /// (SOP Class UID, SOP Instance UID) of each referenced image, e.g. the high- and low-energy DX.
    pub referenced: Vec<(String, String)>,
    /// Threat items; ROI base/extents are written as given (2D images use z = 0, depth 1).
    pub threats: Vec<ThreatItem>,
    /// Algorithm name and version, written as Threat Detection Algorithm and Version (4010,1029).
    pub algorithm: (String, String),
}

/// Writes a DICOS TDR (machine report) referencing the scan it describes.
///
/// Alarm Decision is `ALARM` when any item is flagged `THREAT`, otherwise `CLEAR`.
///
/// # Errors
/// [`NiiError::InvalidInput`] without a referenced image, [`NiiError::Write`] if dicom-rs refuses to encode.
pub fn write_tdr(identity: &ScanIdentity, report: &TdrReport) -> Result<Vec<u8>> {
    if report.referenced.is_empty() {
        return Err(NiiError::invalid("a TDR must reference at least one image"));
    }
    let mut obj = base_object(
        identity,
        uids::DICOS_THREAT_DETECTION_REPORT_STORAGE,
        &report.sop_instance_uid,
        "TDR",
    );
    let ref_items = |refs: &[(String, String)]| -> Vec<InMemDicomObject> {
        refs.iter()
            .map(|(class, instance)| {
                let mut item = InMemDicomObject::new_empty();
                put_str(&mut item, tags::REFERENCED_SOP_CLASS_UID, VR::UI, class);
                put_str(
                    &mut item,
                    tags::REFERENCED_SOP_INSTANCE_UID,
                    VR::UI,
                    instance,
                );
                item
            })
            .collect()
    };
    put_seq(
        &mut obj,
        tags::REFERENCED_STUDY_SEQUENCE,
        ref_items(&report.referenced),
    );
    let mut threat_seq = Vec::with_capacity(report.threats.len());
    let mut n_alarm = 0u16;
    for threat in &report.threats {
        let mut item = InMemDicomObject::new_empty();
        put(
            &mut item,
            tags::POTENTIAL_THREAT_OBJECT_ID,
            VR::US,
            PrimitiveValue::from(threat.id.min(u32::from(u16::MAX)) as u16),
        );
        let mut rep = InMemDicomObject::new_empty();
        put_seq(
            &mut rep,
            tags::REFERENCED_INSTANCE_SEQUENCE,
            ref_items(&report.referenced),
        );
        let mut roi = InMemDicomObject::new_empty();
        if let Some(base) = &threat.roi_base {
            put(
                &mut roi,
                tags::THREAT_ROI_BASE,
                VR::FL,
                PrimitiveValue::F32(base.clone().into()),
            );
        }
        if let Some(ext) = &threat.roi_extents {
            put(
                &mut roi,
                tags::THREAT_ROI_EXTENTS,
                VR::FL,
                PrimitiveValue::F32(ext.clone().into()),
            );
        }
        put_seq(&mut rep, tags::THREAT_ROI_VOXEL_SEQUENCE, vec![roi]);
        if let Some(poly) = &threat.bounding_polygon {
            put(
                &mut rep,
                tags::BOUNDING_POLYGON,
                VR::FL,
                PrimitiveValue::F32(poly.clone().into()),
            );
        }
        if let Some(loc) = &threat.location_description {
            put_str(&mut rep, tags::PTO_LOCATION_DESCRIPTION, VR::ST, loc);
        }
        put_seq(&mut item, tags::PTO_REPRESENTATION_SEQUENCE, vec![rep]);
        let mut assessment = InMemDicomObject::new_empty();
        put_str(
            &mut assessment,
            tags::THREAT_CATEGORY,
            VR::CS,
            threat.category.as_deref().unwrap_or("ANOMALY"),
        );
        if let Some(desc) = &threat.category_description {
            put_str(
                &mut assessment,
                tags::THREAT_CATEGORY_DESCRIPTION,
                VR::LT,
                desc,
            );
        }
        put_str(
            &mut assessment,
            tags::ATD_ABILITY_ASSESSMENT,
            VR::CS,
            "NO_INTERFERENCE",
        );
        let flag = threat.assessment_flag.as_deref().unwrap_or("UNKNOWN");
        if flag == "THREAT" {
            n_alarm = n_alarm.saturating_add(1);
        }
        put_str(&mut assessment, tags::ATD_ASSESSMENT_FLAG, VR::CS, flag);
        if let Some(p) = threat.probability {
            put(
                &mut assessment,
                tags::ATD_ASSESSMENT_PROBABILITY,
                VR::FL,
                PrimitiveValue::from(p),
            );
        }
        put_seq(&mut item, tags::ATD_ASSESSMENT_SEQUENCE, vec![assessment]);
        threat_seq.push(item);
    }
    put_seq(&mut obj, tags::THREAT_SEQUENCE, threat_seq);
    put_str(&mut obj, tags::ABORT_FLAG, VR::CS, "SUCCESS");
    put_str(&mut obj, tags::TDR_TYPE, VR::CS, "MACHINE");
    put_strs(
        &mut obj,
        tags::THREAT_DETECTION_ALGORITHM_AND_VERSION,
        VR::LO,
        &[report.algorithm.0.as_str(), report.algorithm.1.as_str()],
    );
    put_str(
        &mut obj,
        tags::ALARM_DECISION,
        VR::CS,
        if n_alarm > 0 { "ALARM" } else { "CLEAR" },
    );
    put(
        &mut obj,
        tags::NUMBER_OF_TOTAL_OBJECTS,
        VR::US,
        PrimitiveValue::from(report.threats.len().min(usize::from(u16::MAX)) as u16),
    );
    put(
        &mut obj,
        tags::NUMBER_OF_ALARM_OBJECTS,
        VR::US,
        PrimitiveValue::from(n_alarm),
    );
    finish(obj)
}

fn base_object(
    identity: &ScanIdentity,
    sop_class: &str,
    sop_instance: &str,
    modality: &str,
) -> InMemDicomObject {
    let mut obj = InMemDicomObject::new_empty();
    put_str(&mut obj, tags::SOP_CLASS_UID, VR::UI, sop_class);
    put_str(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, sop_instance);
    put_str(&mut obj, tags::STUDY_DATE, VR::DA, &identity.date);
    put_str(&mut obj, tags::CONTENT_DATE, VR::DA, &identity.date);
    put_str(&mut obj, tags::STUDY_TIME, VR::TM, &identity.time);
    put_str(&mut obj, tags::CONTENT_TIME, VR::TM, &identity.time);
    put_str(&mut obj, tags::MODALITY, VR::CS, modality);
    put_str(&mut obj, tags::MANUFACTURER, VR::LO, "garita");
    put_str(&mut obj, tags::PATIENT_ID, VR::LO, &identity.ooi_id);
    put_str(
        &mut obj,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        &identity.study_instance_uid,
    );
    put_str(
        &mut obj,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        &identity.series_instance_uid,
    );
    put_str(&mut obj, tags::INSTANCE_NUMBER, VR::IS, "1");
    // IIC 1 v03 requires DICOS Version and OOI Type on every object; cargo is the OOI type for containers.
    put_str(&mut obj, tags::DICOS_VERSION, VR::CS, "V03");
    put_str(&mut obj, tags::OOI_TYPE, VR::CS, "CARGO");
    obj
}

fn finish(obj: InMemDicomObject) -> Result<Vec<u8>> {
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(TS_EXPLICIT_LE)
                .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
                .implementation_version_name("GARITA_NII_01"),
        )
        .map_err(|e| NiiError::Write {
            reason: e.to_string(),
        })?;
    // write_all emits the PS3.10 preamble and DICM magic itself.
    let mut out = Vec::new();
    file.write_all(&mut out).map_err(|e| NiiError::Write {
        reason: e.to_string(),
    })?;
    Ok(out)
}

fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: PrimitiveValue) {
    obj.put(DataElement::new(tag, vr, value));
}

fn put_str(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    put(obj, tag, vr, PrimitiveValue::from(value));
}

fn put_strs(obj: &mut InMemDicomObject, tag: Tag, vr: VR, values: &[&str]) {
    let v: Vec<String> = values.iter().map(|s| (*s).to_string()).collect();
    put(obj, tag, vr, PrimitiveValue::Strs(v.into()));
}

fn put_seq(obj: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

/// Formats a Decimal String within its 16-character limit (PS3.5 6.2).
fn format_ds(v: f64) -> String {
    let s = format!("{v}");
    if s.len() <= 16 { s } else { format!("{v:.9e}") }
}
