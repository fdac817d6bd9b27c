//! Errors of garita-nii: one enum, each variant carrying what an operator needs to act on it.

use std::path::PathBuf;

/// Everything that can go wrong reading, writing, simulating or analysing cargo scans.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NiiError {
    /// The input is larger than [`crate::MAX_INPUT_BYTES`]; rejected before any parsing.
    #[error("input of {len} bytes exceeds the {max}-byte cap for one DICOS object")]
    InputTooLarge {
        /// Bytes offered.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The bytes are not a DICOM/DICOS Part 10 object (no `DICM` magic after the 128-byte preamble).
    #[error("not a DICOS file: {reason}")]
    NotDicos {
        /// What was found instead.
        reason: String,
    },
    /// dicom-rs could not parse the data set (truncated element, bad length, unknown transfer syntax...).
    #[error("malformed DICOS data set: {source}")]
    Parse {
        /// The parser's error.
        #[source]
        source: Box<dicom_object::ReadError>,
    },
    /// A required attribute is absent.
    #[error("missing attribute {name} ({group:04X},{element:04X})")]
    MissingAttribute {
        /// Keyword of the attribute.
        name: &'static str,
        /// Tag group.
        group: u16,
        /// Tag element.
        element: u16,
    },
    /// An attribute is present but its value cannot be used.
    #[error("bad value in {name}: {reason}")]
    BadAttribute {
        /// Keyword of the attribute.
        name: &'static str,
        /// Why it is unusable.
        reason: String,
    },
    /// The object is not of a kind this call handles, e.g. an image was expected and a TDR was given.
    #[error(
        "wrong kind of DICOS object: expected {expected}, got modality {modality} (SOP class {sop_class_uid})"
    )]
    WrongModality {
        /// What the call needs.
        expected: &'static str,
        /// Modality found.
        modality: String,
        /// SOP class found.
        sop_class_uid: String,
    },
    /// Pixel data uses a transfer syntax or layout garita-nii does not decode.
    #[error("unsupported pixel encoding: {reason}")]
    UnsupportedEncoding {
        /// Which property is unsupported.
        reason: String,
    },
    /// Declared image dimensions exceed the caps, checked before allocating.
    #[error("image of {rows}x{columns}x{frames} samples exceeds the cap of {max} samples")]
    ImageTooLarge {
        /// Rows declared.
        rows: u32,
        /// Columns declared.
        columns: u32,
        /// Frames declared.
        frames: u32,
        /// The cap ([`crate::MAX_SAMPLES`]).
        max: u64,
    },
    /// Native pixel data is shorter than rows x columns x frames x bytes per sample.
    #[error("pixel data holds {actual} bytes but the header declares {expected}")]
    PixelDataLength {
        /// Bytes the header implies.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// A JPEG-lossless frame is corrupt.
    #[error("JPEG lossless frame {frame}: {reason} at byte {offset}")]
    Jpeg {
        /// Zero-based frame index.
        frame: usize,
        /// Byte offset within the frame's fragment.
        offset: usize,
        /// What was wrong.
        reason: String,
    },
    /// dicom-rs refused to encode an object being written.
    #[error("cannot encode DICOS object: {reason}")]
    Write {
        /// The writer's error text.
        reason: String,
    },
    /// A caller-supplied argument is invalid (empty image, mismatched pair, bad seed range...).
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What was wrong.
        reason: String,
    },
    /// Filesystem access failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file (manifest, ground truth, rules) could not be read or written.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The serde error.
        #[source]
        source: serde_json::Error,
    },
}

/// Result alias for this crate.
pub type Result<T, E = NiiError> = std::result::Result<T, E>;

impl NiiError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        NiiError::Io {
            path: path.into(),
            source,
        }
    }

    /// Wraps a JSON error with the path it concerns.
    pub(crate) fn json(path: impl Into<PathBuf>, source: serde_json::Error) -> Self {
        NiiError::Json {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`NiiError::InvalidInput`].
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        NiiError::InvalidInput {
            reason: reason.into(),
        }
    }
}
