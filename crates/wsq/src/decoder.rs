//! Marker-segment parsing (WSQ spec Part 1, compressed file syntax) and the decoder (Part 1, decoding process).

use crate::huffman::{BitReader, DecodeTable, HuffmanSpec, Read};
use crate::nistcom::NistCom;
use crate::transform::{self, FilterPair};
use crate::tree::{N_CODED_SUBBANDS, Trees};
use crate::{GrayImage, MAX_INPUT_BYTES, MAX_PIXELS, WsqError, WsqInfo};

/// Marker codes (spec Table A.1).
pub(crate) mod marker {
    pub const SOI: u16 = 0xFFA0;
    pub const EOI: u16 = 0xFFA1;
    pub const SOF: u16 = 0xFFA2;
    pub const SOB: u16 = 0xFFA3;
    pub const DTT: u16 = 0xFFA4;
    pub const DQT: u16 = 0xFFA5;
    pub const DHT: u16 = 0xFFA6;
    pub const COM: u16 = 0xFFA8;
}

/// Longest filter accepted in a DTT segment; the spec's filters have 9 and 7 taps.
const MAX_FILTER_TAPS: u8 = 31;
/// Number of Huffman table slots (Part 1, DHT syntax).
const MAX_HUFFMAN_TABLES: usize = 8;

/// Frame header (Part 1, SOF syntax).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Frame {
    pub offset: usize,
    pub width: u16,
    pub height: u16,
    pub m_shift: f32,
    pub r_scale: f32,
    pub encoder: u8,
    pub software: u16,
}

/// Quantization table (Part 1, DQT syntax).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Quantization {
    pub bin_center: f32,
    pub q: [f32; 64],
    pub z: [f32; 64],
}

/// Byte cursor whose errors name the offset and what was being read.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn u8(&mut self, context: &'static str) -> Result<u8, WsqError> {
        let v = *self.data.get(self.pos).ok_or(WsqError::Truncated {
            offset: self.pos,
            context,
        })?;
        self.pos += 1;
        Ok(v)
    }

    fn u16(&mut self, context: &'static str) -> Result<u16, WsqError> {
        Ok(u16::from(self.u8(context)?) << 8 | u16::from(self.u8(context)?))
    }

    fn u32(&mut self, context: &'static str) -> Result<u32, WsqError> {
        Ok(u32::from(self.u16(context)?) << 16 | u32::from(self.u16(context)?))
    }

    fn bytes(&mut self, n: usize, context: &'static str) -> Result<&'a [u8], WsqError> {
        let s = self
            .data
            .get(self.pos..self.pos + n)
            .ok_or(WsqError::Truncated {
                offset: self.pos,
                context,
            })?;
        self.pos += n;
        Ok(s)
    }

    /// Reads a marker, returning (offset, code).
    fn marker(&mut self) -> Result<(usize, u16), WsqError> {
        let offset = self.pos;
        Ok((offset, self.u16("marker")?))
    }

    /// Reads a segment length field and returns the segment body (Part 1 syntax: the length counts itself).
    fn segment(
        &mut self,
        marker_offset: usize,
        segment: &'static str,
    ) -> Result<Cursor<'a>, WsqError> {
        let len = usize::from(self.u16("segment length")?);
        if len < 2 {
            return Err(WsqError::InvalidSegment {
                offset: marker_offset,
                segment,
                reason: "length below 2",
            });
        }
        let body = self.bytes(len - 2, "segment body")?;
        // The body keeps its place in the file so that its errors report file offsets.
        let data = self.data.get(..self.pos).unwrap_or_default();
        Ok(Cursor {
            data,
            pos: self.pos - body.len(),
        })
    }

    fn at_end(&self) -> bool {
        self.pos >= self.data.len()
    }
}

/// A scaled integer as stored in the tables: `value / 10^scale`, evaluated the way the reference implementation
/// does (one single-precision division per step), so table values are bit-identical to NBIS's.
pub(crate) fn unscale(value: u32, scale: u8) -> f32 {
    let mut v = value as f32;
    for _ in 0..scale {
        v = (f64::from(v) / 10.0) as f32;
    }
    v
}

/// Parses a DTT segment (Part 1, DTT syntax) into synthesis filters: the transmitted analysis lowpass, modulated by
/// (-1)^n, becomes the synthesis highpass and vice versa.
fn parse_dtt(body: &mut Cursor<'_>, offset: usize) -> Result<FilterPair, WsqError> {
    let lowpass_len = body.u8("DTT lowpass length")?;
    let highpass_len = body.u8("DTT highpass length")?;
    // Only odd-length (whole-sample symmetric) filters are implemented; every WSQ encoder in use sends 9/7.
    if lowpass_len % 2 == 0
        || highpass_len % 2 == 0
        || lowpass_len > MAX_FILTER_TAPS
        || highpass_len > MAX_FILTER_TAPS
    {
        return Err(WsqError::UnsupportedFilter {
            offset,
            lowpass: lowpass_len,
            highpass: highpass_len,
        });
    }
    let mut read_half = |len: u8| -> Result<Vec<f32>, WsqError> {
        let half = usize::from(len).div_ceil(2);
        // Read the half from the center tap outwards, then mirror it.
        let mut half_taps = Vec::with_capacity(half);
        for k in 0..half {
            let sign = body.u8("DTT coefficient sign")?;
            let scale = body.u8("DTT coefficient scale")?;
            let value = body.u32("DTT coefficient value")?;
            let mut v = unscale(value, scale);
            if sign != 0 {
                v = -v;
            }
            // Modulation by (-1)^k turns an analysis filter into the other band's synthesis filter.
            if k % 2 == 1 {
                v = -v;
            }
            half_taps.push(v);
        }
        Ok(half_taps
            .iter()
            .rev()
            .chain(half_taps.iter().skip(1))
            .copied()
            .collect())
    };
    let hi = read_half(lowpass_len)?;
    let lo = read_half(highpass_len)?;
    if !body.at_end() {
        return Err(WsqError::InvalidSegment {
            offset,
            segment: "DTT",
            reason: "length does not match filter sizes",
        });
    }
    Ok(FilterPair { lo, hi })
}

/// Parses a DQT segment (Part 1, DQT syntax).
fn parse_dqt(body: &mut Cursor<'_>, offset: usize) -> Result<Quantization, WsqError> {
    let scale = body.u8("DQT bin center scale")?;
    let value = body.u16("DQT bin center")?;
    let mut table = Quantization {
        bin_center: unscale(u32::from(value), scale),
        q: [0.0; 64],
        z: [0.0; 64],
    };
    for (q, z) in table.q.iter_mut().zip(table.z.iter_mut()) {
        let scale = body.u8("DQT Q scale")?;
        let value = body.u16("DQT Q value")?;
        *q = unscale(u32::from(value), scale);
        let scale = body.u8("DQT Z scale")?;
        let value = body.u16("DQT Z value")?;
        *z = unscale(u32::from(value), scale);
    }
    if !body.at_end() {
        return Err(WsqError::InvalidSegment {
            offset,
            segment: "DQT",
            reason: "length is not 389",
        });
    }
    Ok(table)
}

/// Parses a DHT segment (Part 1, DHT syntax), which may hold several tables.
fn parse_dht(body: &mut Cursor<'_>, offset: usize) -> Result<Vec<(usize, HuffmanSpec)>, WsqError> {
    let mut tables = Vec::new();
    while !body.at_end() {
        let id = usize::from(body.u8("DHT table id")?);
        if id >= MAX_HUFFMAN_TABLES {
            return Err(WsqError::InvalidSegment {
                offset,
                segment: "DHT",
                reason: "table id above 7",
            });
        }
        let mut bits = [0u8; 16];
        bits.copy_from_slice(body.bytes(16, "DHT code counts")?);
        let n_values: usize = bits.iter().map(|&b| usize::from(b)).sum();
        if n_values > 256 {
            return Err(WsqError::InvalidSegment {
                offset,
                segment: "DHT",
                reason: "more than 256 codes",
            });
        }
        let values = body.bytes(n_values, "DHT symbols")?.to_vec();
        tables.push((id, HuffmanSpec { bits, values }));
    }
    if tables.is_empty() {
        return Err(WsqError::InvalidSegment {
            offset,
            segment: "DHT",
            reason: "no table",
        });
    }
    Ok(tables)
}

/// Parses a SOF segment (Part 1, SOF syntax).
fn parse_sof(body: &mut Cursor<'_>, offset: usize) -> Result<Frame, WsqError> {
    let _black = body.u8("SOF black")?;
    let _white = body.u8("SOF white")?;
    let height = body.u16("SOF height")?;
    let width = body.u16("SOF width")?;
    let scale = body.u8("SOF M scale")?;
    let m_shift = unscale(u32::from(body.u16("SOF M")?), scale);
    let scale = body.u8("SOF R scale")?;
    let r_scale = unscale(u32::from(body.u16("SOF R")?), scale);
    let encoder = body.u8("SOF encoder")?;
    let software = body.u16("SOF software")?;
    if !body.at_end() {
        return Err(WsqError::InvalidSegment {
            offset,
            segment: "SOF",
            reason: "length is not 17",
        });
    }
    let pixels = usize::from(width) * usize::from(height);
    if width == 0 || height == 0 || pixels > MAX_PIXELS {
        return Err(WsqError::Dimensions {
            offset,
            width: u32::from(width),
            height: u32::from(height),
        });
    }
    Ok(Frame {
        offset,
        width,
        height,
        m_shift,
        r_scale,
        encoder,
        software,
    })
}

fn check_input(data: &[u8]) -> Result<(), WsqError> {
    if data.is_empty() {
        return Err(WsqError::Empty);
    }
    if data.len() > MAX_INPUT_BYTES {
        return Err(WsqError::InputTooLarge {
            len: data.len(),
            max: MAX_INPUT_BYTES,
        });
    }
    Ok(())
}

/// Tables in force while reading.
#[derive(Default)]
struct Tables {
    filters: Option<FilterPair>,
    quant: Option<Quantization>,
    huffman: [Option<(usize, HuffmanSpec)>; MAX_HUFFMAN_TABLES],
    comments: Vec<Vec<u8>>,
    /// Set at the first SOB: transform and quantization tables may not change after that, because the coefficient
    /// layout was fixed by them.
    locked: bool,
}

impl Tables {
    /// Reads one table or comment segment whose marker has been read.
    fn read(&mut self, cur: &mut Cursor<'_>, offset: usize, code: u16) -> Result<(), WsqError> {
        match code {
            marker::DTT => {
                let mut body = cur.segment(offset, "DTT")?;
                let filters = parse_dtt(&mut body, offset)?;
                if self.locked {
                    return Err(WsqError::InvalidSegment {
                        offset,
                        segment: "DTT",
                        reason: "redefined after data",
                    });
                }
                self.filters = Some(filters);
            }
            marker::DQT => {
                let mut body = cur.segment(offset, "DQT")?;
                let quant = parse_dqt(&mut body, offset)?;
                if self.locked {
                    return Err(WsqError::InvalidSegment {
                        offset,
                        segment: "DQT",
                        reason: "redefined after data",
                    });
                }
                self.quant = Some(quant);
            }
            marker::DHT => {
                let mut body = cur.segment(offset, "DHT")?;
                for (id, spec) in parse_dht(&mut body, offset)? {
                    if let Some(slot) = self.huffman.get_mut(id) {
                        *slot = Some((offset, spec));
                    }
                }
            }
            marker::COM => {
                let body = cur.segment(offset, "COM")?;
                self.comments
                    .push(body.data.get(body.pos..).unwrap_or_default().to_vec());
            }
            _ => {
                return Err(WsqError::UnexpectedMarker {
                    offset,
                    found: code,
                    expected: "a table or comment",
                });
            }
        }
        Ok(())
    }
}

/// Reads SOI and the segments up to and including the frame header.
fn read_to_frame(data: &[u8]) -> Result<(Cursor<'_>, Tables, Frame), WsqError> {
    check_input(data)?;
    let mut cur = Cursor { data, pos: 0 };
    let (offset, code) = cur.marker()?;
    if code != marker::SOI {
        return Err(WsqError::UnexpectedMarker {
            offset,
            found: code,
            expected: "SOI (0xffa0)",
        });
    }
    let mut tables = Tables::default();
    loop {
        let (offset, code) = cur.marker()?;
        match code {
            marker::SOF => {
                let mut body = cur.segment(offset, "SOF")?;
                let frame = parse_sof(&mut body, offset)?;
                return Ok((cur, tables, frame));
            }
            marker::DTT | marker::DQT | marker::DHT | marker::COM => {
                tables.read(&mut cur, offset, code)?
            }
            _ => {
                return Err(WsqError::UnexpectedMarker {
                    offset,
                    found: code,
                    expected: "a table, comment or SOF",
                });
            }
        }
    }
}

/// Decodes a whole WSQ file (Part 1, decoding process).
pub(crate) fn decode(data: &[u8]) -> Result<GrayImage, WsqError> {
    let (mut cur, mut tables, frame) = read_to_frame(data)?;
    let width = usize::from(frame.width);
    let height = usize::from(frame.height);
    let trees = Trees::new(width, height);
    // Quantized coefficients of all coded subbands in transmission order; sized once the quantization table
    // says which subbands are present (a zero Q means the subband is absent, Part 1 DQT syntax).
    let mut coeffs: Vec<i16> = Vec::new();
    let mut n_coeffs = 0usize;
    let mut n_blocks = 0usize;
    let mut pending: Option<(usize, u16)> = None;
    loop {
        let (offset, code) = match pending.take() {
            Some(m) => m,
            None => cur.marker()?,
        };
        match code {
            marker::EOI if n_blocks > 0 => break,
            marker::SOB => {
                let mut body = cur.segment(offset, "SOB")?;
                let table_id = usize::from(body.u8("SOB table id")?);
                if !body.at_end() {
                    return Err(WsqError::InvalidSegment {
                        offset,
                        segment: "SOB",
                        reason: "length is not 3",
                    });
                }
                if !tables.locked {
                    let quant = tables.quant.as_ref().ok_or(WsqError::MissingTable {
                        offset,
                        table: "quantization",
                    })?;
                    if tables.filters.is_none() {
                        return Err(WsqError::MissingTable {
                            offset,
                            table: "transform",
                        });
                    }
                    let total: usize = quant
                        .q
                        .iter()
                        .zip(&trees.subbands)
                        .take(N_CODED_SUBBANDS)
                        .filter(|(q, _)| **q != 0.0)
                        .map(|(_, r)| r.area())
                        .sum();
                    coeffs = vec![0i16; total];
                    tables.locked = true;
                }
                let (dht_offset, spec) = tables
                    .huffman
                    .get(table_id)
                    .and_then(|t| t.as_ref())
                    .ok_or(WsqError::MissingTable {
                        offset,
                        table: "huffman",
                    })?;
                // A malformed code table is the DHT segment's fault: report its offset.
                let table = DecodeTable::new(spec, *dht_offset)?;
                n_blocks += 1;
                let mut bits = BitReader::new(data, cur.pos);
                let (marker_offset, marker_code) =
                    decode_block(&mut bits, &table, &mut coeffs, &mut n_coeffs)?;
                cur.pos = bits.pos();
                pending = Some((marker_offset, marker_code));
            }
            marker::DTT | marker::DQT | marker::DHT | marker::COM => {
                tables.read(&mut cur, offset, code)?
            }
            _ => {
                return Err(WsqError::UnexpectedMarker {
                    offset,
                    found: code,
                    expected: if n_blocks > 0 {
                        "a table, comment, SOB or EOI"
                    } else {
                        "a table, comment or SOB"
                    },
                });
            }
        }
    }
    let (Some(filters), Some(quant)) = (tables.filters.as_ref(), tables.quant.as_ref()) else {
        return Err(WsqError::MissingTable {
            offset: frame.offset,
            table: "transform or quantization",
        });
    };
    let mut plane = unquantize(&coeffs, quant, &trees, width, height);
    // Peak memory is the float plane plus the transform's scratch; the coefficient store is not needed past here.
    drop(coeffs);
    transform::reconstruct(&mut plane, width, &trees, filters);
    let pixels = to_pixels(&plane, frame.m_shift, frame.r_scale);
    let ppi = NistCom::find(&tables.comments).and_then(|n| n.ppi());
    GrayImage::new(u32::from(frame.width), u32::from(frame.height), pixels)
        .map(|img| img.with_ppi(ppi))
}

/// Huffman-decodes one block until the marker that ends it (Part 1, entropy decoding).
fn decode_block(
    bits: &mut BitReader<'_>,
    table: &DecodeTable,
    coeffs: &mut [i16],
    n_coeffs: &mut usize,
) -> Result<(usize, u16), WsqError> {
    let overflow = |offset| WsqError::EntropyData {
        offset,
        reason: "more coefficients than the subbands hold",
    };
    loop {
        let symbol_offset = bits.pos();
        let symbol = match bits.symbol(table)? {
            Read::Value(s) => s,
            Read::Marker { offset, code } => return Ok((offset, code)),
        };
        let (value, count): (i16, usize) = match symbol {
            1..=100 => (0, symbol as usize),
            101 => (bits.bits(8)? as i16, 1),
            102 => (-(bits.bits(8)? as i16), 1),
            // A 16-bit escape is stored into a signed 16-bit coefficient as the reference decoder does.
            103 => (bits.bits(16)? as u16 as i16, 1),
            104 => ((bits.bits(16)? as i32).wrapping_neg() as i16, 1),
            105 => (0, bits.bits(8)? as usize),
            106 => (0, bits.bits(16)? as usize),
            107..=254 => ((symbol as i32 - 180) as i16, 1),
            _ => {
                return Err(WsqError::EntropyData {
                    offset: symbol_offset,
                    reason: "invalid symbol",
                });
            }
        };
        let end = n_coeffs
            .checked_add(count)
            .ok_or_else(|| overflow(symbol_offset))?;
        let slots = coeffs
            .get_mut(*n_coeffs..end)
            .ok_or_else(|| overflow(symbol_offset))?;
        // Zero runs need no writes: the store starts zeroed.
        if value != 0 {
            slots.fill(value);
        }
        *n_coeffs = end;
    }
}

/// Turns quantized coefficients back into wavelet coefficients in the image plane (Part 1, dequantization).
fn unquantize(
    coeffs: &[i16],
    quant: &Quantization,
    trees: &Trees,
    width: usize,
    height: usize,
) -> Vec<f32> {
    let mut plane = vec![0.0f32; width * height];
    let mut next = coeffs.iter();
    let c = quant.bin_center;
    let subbands = quant
        .q
        .iter()
        .zip(&quant.z)
        .zip(&trees.subbands)
        .take(N_CODED_SUBBANDS);
    for ((&q, &z), &r) in subbands {
        if q == 0.0 {
            continue;
        }
        // Half the zero bin, in double precision as the reference decoder computes it.
        let half_z = f64::from(z) / 2.0;
        for y in r.y..r.y + r.h {
            let start = y * width + r.x;
            let Some(row) = plane.get_mut(start..start + r.w) else {
                continue;
            };
            for (dst, &p) in row.iter_mut().zip(next.by_ref()) {
                *dst = match p {
                    0 => 0.0,
                    p if p > 0 => (f64::from(q * (f32::from(p) - c)) + half_z) as f32,
                    p => (f64::from(q * (f32::from(p) + c)) - half_z) as f32,
                };
            }
        }
    }
    plane
}

/// Undoes the frame's shift and scale and rounds to 8 bits (Part 1, image reconstruction).
fn to_pixels(plane: &[f32], m_shift: f32, r_scale: f32) -> Vec<u8> {
    plane
        .iter()
        .map(|&v| {
            let t = ((f64::from(v * r_scale + m_shift)) + 0.5) as f32;
            if t < 0.0 {
                0
            } else if t > 255.0 {
                255
            } else {
                t as u8
            }
        })
        .collect()
}

/// Reads the headers of a WSQ file without decoding the image.
pub(crate) fn info(data: &[u8]) -> Result<WsqInfo, WsqError> {
    let (mut cur, mut tables, frame) = read_to_frame(data)?;
    // Collect comments that follow the frame header too; skip entropy-coded data by scanning for markers.
    loop {
        if cur.at_end() {
            break;
        }
        let (offset, code) = cur.marker()?;
        match code {
            marker::EOI => break,
            marker::SOB => {
                let _ = cur.segment(offset, "SOB")?;
                let mut pos = cur.pos;
                loop {
                    match (data.get(pos), data.get(pos + 1)) {
                        (Some(0xFF), Some(&b)) if b != 0 => break,
                        (Some(_), Some(_)) => pos += 1,
                        _ => {
                            return Err(WsqError::Truncated {
                                offset: pos,
                                context: "entropy-coded data",
                            });
                        }
                    }
                }
                cur.pos = pos;
            }
            // Tables are never locked here: whether a redefinition is allowed is a decoding matter.
            marker::DTT | marker::DQT | marker::DHT | marker::COM => {
                tables.read(&mut cur, offset, code)?
            }
            _ => {
                return Err(WsqError::UnexpectedMarker {
                    offset,
                    found: code,
                    expected: "a table, comment, SOB or EOI",
                });
            }
        }
    }
    let nistcom = NistCom::find(&tables.comments);
    let pixels = f64::from(frame.width) * f64::from(frame.height);
    Ok(WsqInfo {
        width: u32::from(frame.width),
        height: u32::from(frame.height),
        ppi: nistcom.as_ref().and_then(|n| n.ppi()),
        bitrate: (data.len() as f64 * 8.0 / pixels) as f32,
        file_size: data.len(),
        encoder: frame.encoder,
        software: frame.software,
        comments: tables
            .comments
            .iter()
            .map(|c| crate::nistcom::comment_text(c))
            .collect(),
        nistcom: nistcom.map(|n| n.fields).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unscale_matches_single_precision_steps() {
        assert_eq!(unscale(44, 2), 0.44f32);
        // Two rounding steps, as NBIS divides: one ulp above the nearest float to 183.93.
        assert_eq!(unscale(18393, 2), 183.930_01f32);
        assert_ne!(unscale(18393, 2), 183.93f32);
        assert_eq!(unscale(7, 0), 7.0);
    }

    #[test]
    fn rounding_to_pixels_clamps() {
        assert_eq!(
            to_pixels(&[-1000.0, 0.0, 1000.0, 0.49], 100.0, 1.0),
            vec![0, 100, 255, 100]
        );
    }
}
