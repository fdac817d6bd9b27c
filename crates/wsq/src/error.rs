//! The one error type of this crate.
//!
//! Every variant that comes from parsing carries the byte offset in the input where the problem was found, so an
//! operator can open the file in a hex viewer at that place.

/// Why a WSQ file could not be decoded or an image could not be encoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum WsqError {
    /// The input has no bytes at all.
    #[error("empty input")]
    Empty,
    /// The input is larger than [`crate::MAX_INPUT_BYTES`]; checked before anything else is read.
    #[error("input of {len} bytes exceeds the {max}-byte cap")]
    InputTooLarge {
        /// Length of the input.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// The data ended inside a segment or the entropy-coded data.
    #[error("unexpected end of data at byte {offset} while reading {context}")]
    Truncated {
        /// Offset at which more bytes were needed.
        offset: usize,
        /// What was being read.
        context: &'static str,
    },
    /// A marker other than the ones allowed at this place (WSQ spec Part 1, marker codes and file syntax).
    #[error("expected {expected} at byte {offset}, found {found:#06x}")]
    UnexpectedMarker {
        /// Offset of the marker.
        offset: usize,
        /// The two bytes found.
        found: u16,
        /// What the grammar allows here.
        expected: &'static str,
    },
    /// A table or header segment is malformed.
    #[error("invalid {segment} segment at byte {offset}: {reason}")]
    InvalidSegment {
        /// Offset of the segment's marker.
        offset: usize,
        /// Segment name (`DTT`, `DQT`, `DHT`, `SOF`, `SOB`, `COM`).
        segment: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A table needed by a block was never defined.
    #[error("{table} table needed at byte {offset} was not defined")]
    MissingTable {
        /// Offset of the block (or frame) that needed the table.
        offset: usize,
        /// Which table (`transform`, `quantization`, `huffman 0`...).
        table: &'static str,
    },
    /// The frame header declares dimensions this decoder refuses (zero, or above [`crate::MAX_PIXELS`]).
    #[error("unsupported image dimensions {width}x{height} declared at byte {offset}")]
    Dimensions {
        /// Offset of the frame header.
        offset: usize,
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
    },
    /// The entropy-coded data is corrupt.
    #[error("corrupt entropy-coded data at byte {offset}: {reason}")]
    EntropyData {
        /// Offset of the byte being decoded.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The wavelet filters in the transform table use a form this codec does not implement.
    #[error("unsupported wavelet filter lengths {lowpass}/{highpass} at byte {offset}")]
    UnsupportedFilter {
        /// Offset of the DTT segment.
        offset: usize,
        /// Analysis lowpass length.
        lowpass: u8,
        /// Analysis highpass length.
        highpass: u8,
    },
    /// The image handed to the encoder is not usable.
    #[error("cannot encode image: {reason}")]
    InvalidImage {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The requested bitrate is not finite or outside the supported range.
    #[error("bitrate {bitrate} outside the supported range 0.1..=8.0 bits per pixel")]
    Bitrate {
        /// The requested value.
        bitrate: f32,
    },
    /// A comment does not fit a COM segment or contains a NUL byte.
    #[error("comment {index} is invalid: {reason}")]
    Comment {
        /// Index into [`crate::EncodeOptions::comments`].
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
}
