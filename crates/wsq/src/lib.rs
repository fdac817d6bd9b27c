//! Native codec for FBI WSQ gray-scale fingerprint images.
//!
//! Implements the *WSQ Gray-scale Fingerprint Image Compression Specification*, version 3.1 (FBI CJIS,
//! IAFIS-IC-0110(V3.1), 2010, <https://www.fbibiospecs.fbi.gov/wsq>): the wavelet/scalar-quantization codec used
//! for 500 ppi fingerprints in ANSI/NIST-ITL transactions. Comments cite it by part and topic: Part 1 (requirements:
//! transform, quantization, entropy coding, file syntax, decoder) and Part 3 (the parameters of FBI encoder number
//! one: filters, bit allocation, block layout); clause numbers are left out because they were not checked against
//! the text. The reference implementation it is measured against is NIST's NBIS `libwsq`
//! (<https://www.nist.gov/services-resources/software/nist-biometric-image-software-nbis>); no NBIS code is used.
//!
//! - [`decode`] turns a `.wsq` file into a [`GrayImage`]. The decoder follows the single-precision arithmetic of
//!   the NIST NBIS reference decoder step by step, so its pixels are identical to NBIS's (see `docs/wsq.md` for
//!   the measurements).
//! - [`encode`] compresses a [`GrayImage`] at a target bitrate ([`EncodeOptions::bitrate`], 0.75 bits per pixel by
//!   default, the FBI's 15:1) and writes a `NIST_COM` comment with the image attributes as NBIS does.
//! - [`info`] reads the headers and comments without decoding pixels.
//!
//! In scope: the whole baseline codec with the odd-length (9/7) filter bank every WSQ encoder uses, any number of
//! tables and comments. Out of scope for now: even-length filter banks and restart intervals (DRT), which the spec
//! allows and FBI decoder certification exercises but no encoder in use emits and NBIS does not read (such files
//! fail with [`WsqError::UnsupportedFilter`] or [`WsqError::UnexpectedMarker`]); FBI certification itself.
//!
//! Inputs are bytes in, bytes out: no I/O, no logging, and no panic on any input. Sizes are checked against
//! [`MAX_INPUT_BYTES`] and [`MAX_PIXELS`] before anything is allocated, every parse error names its byte offset, and
//! a decoded image always has exactly the dimensions its frame header declares.
//!
//! ```
//! use garita_wsq::{decode, encode, info, EncodeOptions, GrayImage};
//!
//! // A synthetic 64x64 ridge pattern.
//! let pixels = (0..64 * 64).map(|i| (128.0 + 100.0 * ((i % 64) as f32 * 0.7).sin()) as u8).collect();
//! let image = GrayImage::new(64, 64, pixels)?.with_ppi(Some(500));
//! let wsq = encode(&image, &EncodeOptions::default())?;
//! let back = decode(&wsq)?;
//! assert_eq!((back.width(), back.height(), back.ppi()), (64, 64, Some(500)));
//! assert_eq!(info(&wsq)?.nistcom.iter().find(|(k, _)| k == "WSQ_BITRATE").map(|(_, v)| v.as_str()), Some("0.750000"));
//! # Ok::<(), garita_wsq::WsqError>(())
//! ```
#![warn(clippy::indexing_slicing)]

mod decoder;
mod encoder;
mod error;
mod huffman;
mod nistcom;
mod transform;
mod tree;

pub use error::WsqError;

/// Largest input [`decode`] and [`info`] accept: 64 MiB, far above any real fingerprint (a 1000 ppi palm at 0.75
/// bpp is under 5 MiB), so that a hostile upload is refused before any work.
pub const MAX_INPUT_BYTES: usize = 64 << 20;

/// Largest image, in pixels, the codec handles: 2^25 (e.g. 5792x5792); a full-palm 1000 ppi scan is about 22 Mpx.
/// Decoding needs about 17 bytes per pixel at its peak (a float plane, three float scratch planes for the largest
/// split, the output), so this caps one decode at under 600 MiB. WSQ zero runs let a small file declare a large
/// image, so this cap, not the file size, is what bounds the work.
pub const MAX_PIXELS: usize = 1 << 25;

/// Smallest width and height [`encode`] accepts: the five-level decomposition needs at least one sample in every
/// subband.
pub const MIN_ENCODE_DIM: u32 = 32;

/// An 8-bit grayscale image, rows top to bottom, with `pixels.len() == width * height` guaranteed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrayImage {
    width: u32,
    height: u32,
    ppi: Option<u16>,
    pixels: Vec<u8>,
}

impl GrayImage {
    /// Wraps a pixel buffer.
    ///
    /// # Errors
    ///
    /// [`WsqError::InvalidImage`] if a dimension is zero, the image exceeds [`MAX_PIXELS`], or `pixels` does not hold
    /// exactly `width * height` bytes.
    pub fn new(width: u32, height: u32, pixels: Vec<u8>) -> Result<GrayImage, WsqError> {
        let n = (width as usize).checked_mul(height as usize);
        match n {
            _ if width == 0 || height == 0 => Err(WsqError::InvalidImage {
                reason: "zero width or height",
            }),
            Some(n) if n > MAX_PIXELS => Err(WsqError::InvalidImage {
                reason: "more pixels than MAX_PIXELS",
            }),
            Some(n) if n == pixels.len() => Ok(GrayImage {
                width,
                height,
                ppi: None,
                pixels,
            }),
            _ => Err(WsqError::InvalidImage {
                reason: "pixel buffer length is not width * height",
            }),
        }
    }

    /// Sets the scanning resolution in pixels per inch.
    #[must_use]
    pub fn with_ppi(mut self, ppi: Option<u16>) -> GrayImage {
        self.ppi = ppi;
        self
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Scanning resolution, when known (from the `NIST_COM` comment on decode).
    pub fn ppi(&self) -> Option<u16> {
        self.ppi
    }

    /// Pixels, row-major, one byte each (0 black, 255 white).
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// Takes the pixel buffer.
    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }
}

/// Encoder settings.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeOptions {
    /// Target bitrate in bits per pixel, 0.1..=8.0. The FBI uses 0.75 (about 15:1); 2.25 gives about 5:1.
    pub bitrate: f32,
    /// Resolution for the `NIST_COM` `PPI` field; falls back to the image's own, then to `-1` (unknown) as NBIS
    /// writes it.
    pub ppi: Option<u16>,
    /// Extra `NIST_COM` fields, written first in this order; the image attributes the encoder knows (`PIX_WIDTH`,
    /// `PPI`, `WSQ_BITRATE`...) replace same-named entries in place or are appended, as NBIS merges them.
    pub nistcom: Vec<(String, String)>,
    /// Free-text comments, each written to its own COM segment after the `NIST_COM` one.
    pub comments: Vec<String>,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            bitrate: 0.75,
            ppi: None,
            nistcom: Vec::new(),
            comments: Vec::new(),
        }
    }
}

/// Header information of a WSQ file.
#[derive(Debug, Clone, PartialEq)]
pub struct WsqInfo {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Resolution from the `NIST_COM` `PPI` field, if present and positive.
    pub ppi: Option<u16>,
    /// Achieved bitrate: file size in bits over the number of pixels.
    pub bitrate: f32,
    /// File size in bytes.
    pub file_size: usize,
    /// Encoder number from the frame header (2 for spec version 3 encoders).
    pub encoder: u8,
    /// Software implementation number from the frame header (assigned by the FBI on certification).
    pub software: u16,
    /// Every COM segment, in file order, as text.
    pub comments: Vec<String>,
    /// Key/value fields of the first `NIST_COM` comment (without its header line).
    pub nistcom: Vec<(String, String)>,
}

/// Decodes a WSQ file.
///
/// # Errors
///
/// Any [`WsqError`] describing the first problem found, with its byte offset: empty or oversized input, a missing
/// or out-of-place marker, a malformed or missing table, dimensions above [`MAX_PIXELS`], corrupt entropy-coded
/// data, or an unsupported filter bank.
pub fn decode(data: &[u8]) -> Result<GrayImage, WsqError> {
    decoder::decode(data)
}

/// Reads the frame header and comments of a WSQ file without decoding the image.
///
/// # Errors
///
/// As [`decode`] for the marker structure and table syntax; the entropy-coded data is skipped, not checked.
pub fn info(data: &[u8]) -> Result<WsqInfo, WsqError> {
    decoder::info(data)
}

/// Encodes an image as WSQ.
///
/// # Errors
///
/// [`WsqError::InvalidImage`] for images smaller than [`MIN_ENCODE_DIM`] or wider/taller than 65535,
/// [`WsqError::Bitrate`] for a bitrate outside 0.1..=8.0, [`WsqError::Comment`] for a comment or `NIST_COM`
/// field that cannot be written.
pub fn encode(image: &GrayImage, options: &EncodeOptions) -> Result<Vec<u8>, WsqError> {
    encoder::encode(image, options)
}
