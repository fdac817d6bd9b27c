//! The crate's error type.

/// Everything that can go wrong in garita-finger.
///
/// Variants carry the values needed to act on them; messages are lowercase with no trailing period.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FingerError {
    /// The input holds no bytes at all.
    #[error("empty input: no image bytes")]
    EmptyInput,
    /// The bytes are not a PNG, TIFF, BMP or WSQ image.
    #[error("unrecognised image format (expected PNG, TIFF, BMP or WSQ; first bytes {magic:02x?})")]
    UnknownFormat {
        /// Up to the first 8 bytes of the input.
        magic: Vec<u8>,
    },
    /// The WSQ decoder rejected the bytes.
    #[error("cannot decode WSQ image: {0}")]
    Wsq(#[source] garita_wsq::WsqError),
    /// The image decoder rejected the bytes.
    #[error("cannot decode {format} image: {source}")]
    Decode {
        /// Format the bytes claimed to be.
        format: &'static str,
        /// The decoder's error.
        #[source]
        source: image::ImageError,
    },
    /// The image is too small to hold a usable fingerprint.
    #[error(
        "image {width}x{height} is too small: a fingerprint needs at least {min}x{min} pixels at 500 ppi"
    )]
    TooSmall {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Minimum side in pixels.
        min: u32,
    },
    /// The image is larger than the extractor accepts.
    #[error("image {width}x{height} exceeds the limit of {max} pixels per side")]
    TooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Maximum side in pixels.
        max: u32,
    },
    /// The resolution is outside what a fingerprint sensor produces.
    #[error("resolution {ppi} ppi is outside the supported range {min}..={max}")]
    BadResolution {
        /// Requested or declared resolution.
        ppi: u32,
        /// Lowest accepted value.
        min: u32,
        /// Highest accepted value.
        max: u32,
    },
    /// The image has no fingerprint area (blank, flat or pure noise).
    #[error("no fingerprint area found in the image ({width}x{height})")]
    NoFingerprint {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// A template, ISO record or type-9 record could not be parsed.
    #[error("malformed {format} at byte {offset}: {reason}")]
    Malformed {
        /// Which format was being parsed.
        format: &'static str,
        /// Byte offset where parsing failed.
        offset: usize,
        /// What was expected there.
        reason: &'static str,
    },
    /// A value does not fit the chosen export format.
    #[error("cannot encode {format}: {reason}")]
    Encode {
        /// Target format.
        format: &'static str,
        /// Why the value does not fit.
        reason: &'static str,
    },
    /// Reading a file or directory failed.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path that failed.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An evaluation directory does not hold a usable FVC layout.
    #[error("evaluation set {path} is unusable: {reason}")]
    BadEvalSet {
        /// The directory.
        path: std::path::PathBuf,
        /// What is missing.
        reason: String,
    },
    /// An external reference tool (NBIS bozorth3 in the benchmark) could not be run or gave unusable output.
    #[error("{tool}: {reason}")]
    External {
        /// The tool.
        tool: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// Wraps an error with the file it came from.
    #[error("{path}: {source}")]
    WithPath {
        /// The file being processed.
        path: std::path::PathBuf,
        /// The inner error.
        #[source]
        source: Box<FingerError>,
    },
}

impl FingerError {
    /// Wraps `self` with the path of the file it concerns.
    #[must_use]
    pub fn with_path(self, path: impl Into<std::path::PathBuf>) -> Self {
        Self::WithPath {
            path: path.into(),
            source: Box::new(self),
        }
    }
}
