//! Decoder for lossless JPEG, ITU-T T.81 (ISO/IEC 10918-1) Annex H, Huffman-coded, one component.
//!
//! DICOS devices store CT/AIT/DX frames with transfer syntaxes 1.2.840.10008.1.2.4.57 and .70 (process 14), one
//! JPEG stream per frame. Only what those need is supported: SOF3, one component, predictors 1-7, point transform,
//! restart intervals, precision 2-16 bits. Anything else is a clear error, never a panic.

/// Huffman table in the canonical form of T.81 Annex C / F.2.2.3: per code length the largest code and the index
/// of its first value, so decoding is a loop over at most 16 lengths.
#[derive(Clone, Default)]
struct HuffmanTable {
    max_code: [i32; 17],
    val_offset: [i32; 17],
    values: Vec<u8>,
}

impl HuffmanTable {
    fn new(counts: &[u8; 16], values: Vec<u8>) -> Self {
        let mut table = HuffmanTable {
            max_code: [-1; 17],
            val_offset: [0; 17],
            values,
        };
        let mut code: i32 = 0;
        let mut index: i32 = 0;
        for len in 1..=16usize {
            let n = i32::from(counts[len - 1]);
            if n > 0 {
                table.val_offset[len] = index - code;
                code += n;
                index += n;
                table.max_code[len] = code - 1;
            }
            code <<= 1;
        }
        table
    }
}

/// Bit reader over an entropy-coded segment: removes stuffed zero bytes after 0xFF and stops at markers, feeding
/// zeros past them as T.81 F.2.2.5 prescribes.
struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    n_bits: u32,
    hit_marker: bool,
    pad_bytes: u32,
}

impl<'a> BitReader<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        BitReader {
            data,
            pos,
            acc: 0,
            n_bits: 0,
            hit_marker: false,
            pad_bytes: 0,
        }
    }

    /// True once bits past the end of the entropy-coded data were used: the stream was cut short.
    fn padding_consumed(&self) -> bool {
        self.pad_bytes * 8 > self.n_bits
    }

    fn fill(&mut self) {
        while self.n_bits <= 56 {
            let mut byte = 0u8;
            if self.hit_marker {
                self.pad_bytes += 1;
            } else {
                match self.data.get(self.pos) {
                    Some(&0xFF) => match self.data.get(self.pos + 1) {
                        Some(&0x00) => {
                            byte = 0xFF;
                            self.pos += 2;
                        }
                        _ => {
                            self.hit_marker = true;
                            self.pad_bytes += 1;
                        }
                    },
                    Some(&b) => {
                        byte = b;
                        self.pos += 1;
                    }
                    None => {
                        self.hit_marker = true;
                        self.pad_bytes += 1;
                    }
                }
            }
            self.acc |= u64::from(byte) << (56 - self.n_bits);
            self.n_bits += 8;
        }
    }

    fn bits(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        if self.n_bits < n {
            self.fill();
        }
        let v = (self.acc >> (64 - n)) as u32;
        self.acc <<= n;
        self.n_bits -= n;
        v
    }

    /// Skips to the byte after the next RSTn marker (T.81 F.2.2.5: decoders resynchronise there).
    fn restart(&mut self) -> bool {
        self.acc = 0;
        self.n_bits = 0;
        self.hit_marker = false;
        self.pad_bytes = 0;
        while self.pos + 1 < self.data.len() {
            if self.data[self.pos] == 0xFF && (0xD0..=0xD7).contains(&self.data[self.pos + 1]) {
                self.pos += 2;
                return true;
            }
            self.pos += 1;
        }
        false
    }

    fn decode(&mut self, table: &HuffmanTable) -> Option<u8> {
        let mut code: i32 = 0;
        for len in 1..=16usize {
            code = (code << 1) | self.bits(1) as i32;
            if code <= table.max_code[len] {
                let idx = usize::try_from(table.val_offset[len] + code).ok()?;
                return table.values.get(idx).copied();
            }
        }
        None
    }
}

/// A decoded frame: samples in raster order.
pub(crate) struct Decoded {
    pub width: usize,
    pub height: usize,
    pub samples: Vec<u16>,
}

/// Decodes one lossless JPEG stream. `max_samples` caps width x height before allocation.
///
/// Errors are `(offset, reason)` so the caller can attach the frame index.
pub(crate) fn decode(data: &[u8], max_samples: u64) -> Result<Decoded, (usize, String)> {
    let err = |offset: usize, reason: &str| Err((offset, reason.to_string()));
    if data.len() < 4 || data[0] != 0xFF || data[1] != 0xD8 {
        return err(0, "missing SOI marker");
    }
    let mut pos = 2usize;
    let mut tables: [Option<HuffmanTable>; 4] = [None, None, None, None];
    let mut frame: Option<(u8, usize, usize)> = None; // precision, height, width
    let mut restart_interval = 0usize;
    loop {
        // Markers may be preceded by fill bytes 0xFF (T.81 B.1.1.2).
        while data.get(pos) == Some(&0xFF) && data.get(pos + 1) == Some(&0xFF) {
            pos += 1;
        }
        let (Some(&0xFF), Some(&marker)) = (data.get(pos), data.get(pos + 1)) else {
            return err(pos, "expected a marker");
        };
        let seg_start = pos + 2;
        let Some(len_bytes) = data.get(seg_start..seg_start + 2) else {
            return err(seg_start, "truncated segment length");
        };
        let seg_len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        if seg_len < 2 {
            return err(seg_start, "segment length below 2");
        }
        let Some(seg) = data.get(seg_start + 2..seg_start + seg_len) else {
            return err(seg_start, "segment runs past the end of the stream");
        };
        pos = seg_start + seg_len;
        match marker {
            0xC4 => {
                let mut p = 0usize;
                while p < seg.len() {
                    let class_id = seg[p];
                    let Some(counts) = seg.get(p + 1..p + 17) else {
                        return err(seg_start, "truncated DHT counts");
                    };
                    let mut c = [0u8; 16];
                    c.copy_from_slice(counts);
                    let n: usize = c.iter().map(|&x| usize::from(x)).sum();
                    let Some(values) = seg.get(p + 17..p + 17 + n) else {
                        return err(seg_start, "truncated DHT values");
                    };
                    if class_id >> 4 != 0 {
                        return err(seg_start, "AC Huffman table in a lossless stream");
                    }
                    let id = usize::from(class_id & 0x0F);
                    if id > 3 {
                        return err(seg_start, "Huffman table id above 3");
                    }
                    tables[id] = Some(HuffmanTable::new(&c, values.to_vec()));
                    p += 17 + n;
                }
            }
            0xC3 => {
                if seg.len() < 9 {
                    return err(seg_start, "truncated SOF3");
                }
                let precision = seg[0];
                let height = usize::from(u16::from_be_bytes([seg[1], seg[2]]));
                let width = usize::from(u16::from_be_bytes([seg[3], seg[4]]));
                if seg[5] != 1 {
                    return err(
                        seg_start,
                        "only single-component lossless JPEG is supported",
                    );
                }
                if !(2..=16).contains(&precision) || height == 0 || width == 0 {
                    return err(seg_start, "bad precision or zero dimension in SOF3");
                }
                if (height as u64) * (width as u64) > max_samples {
                    return err(seg_start, "frame dimensions exceed the sample cap");
                }
                frame = Some((precision, height, width));
            }
            0xC0..=0xCF => {
                return err(pos, "not a lossless (SOF3) JPEG process");
            }
            0xDD => {
                if seg.len() < 2 {
                    return err(seg_start, "truncated DRI");
                }
                restart_interval = usize::from(u16::from_be_bytes([seg[0], seg[1]]));
            }
            0xDA => {
                let Some((precision, height, width)) = frame else {
                    return err(seg_start, "SOS before SOF3");
                };
                if seg.len() < 6 || seg[0] != 1 {
                    return err(seg_start, "scan must have exactly one component");
                }
                let table_id = usize::from(seg[2] >> 4);
                let Some(Some(table)) = tables.get(table_id) else {
                    return err(seg_start, "scan references an undefined Huffman table");
                };
                let predictor = seg[3];
                let point_transform = u32::from(seg[5] & 0x0F);
                if !(1..=7).contains(&predictor) {
                    return err(seg_start, "predictor selection value outside 1..7");
                }
                if point_transform >= u32::from(precision) {
                    return err(seg_start, "point transform not below precision");
                }
                let samples = decode_scan(
                    data,
                    pos,
                    table,
                    ScanParams {
                        width,
                        height,
                        precision: u32::from(precision),
                        predictor,
                        point_transform,
                        restart_interval,
                    },
                )
                .map_err(|reason| (pos, reason))?;
                return Ok(Decoded {
                    width,
                    height,
                    samples,
                });
            }
            0xD9 => return err(pos, "EOI before any scan"),
            // APPn, COM, DQT, DNL and other segments carry nothing a lossless decoder needs.
            _ => {}
        }
    }
}

struct ScanParams {
    width: usize,
    height: usize,
    precision: u32,
    predictor: u8,
    point_transform: u32,
    restart_interval: usize,
}

/// Decodes the entropy-coded data of one scan (T.81 H.2: prediction plus Huffman-coded difference).
fn decode_scan(
    data: &[u8],
    start: usize,
    table: &HuffmanTable,
    p: ScanParams,
) -> Result<Vec<u16>, String> {
    let n = p.width * p.height;
    let mut out = vec![0u16; n];
    let mut reader = BitReader::new(data, start);
    let modulus_mask: i32 = if p.precision >= 16 {
        0xFFFF
    } else {
        (1 << p.precision) - 1
    };
    let initial = 1i32 << (p.precision - p.point_transform - 1);
    // Samples are predicted in the point-transformed domain; keep that in a row buffer pair.
    let mut prev_row = vec![0i32; p.width];
    let mut cur_row = vec![0i32; p.width];
    if p.restart_interval > 0 && !p.restart_interval.is_multiple_of(p.width) {
        // T.81 H.1.1: in lossless mode a restart interval spans whole MCU rows.
        return Err("restart interval is not a whole number of rows".to_string());
    }
    let rows_per_restart = if p.restart_interval > 0 {
        p.restart_interval / p.width
    } else {
        usize::MAX
    };
    for y in 0..p.height {
        let mut first_line = y == 0;
        if y > 0 && y.is_multiple_of(rows_per_restart) {
            if !reader.restart() {
                return Err(format!("missing restart marker before row {y}"));
            }
            first_line = true;
        }
        for x in 0..p.width {
            // T.81 H.1.2.1: the first sample of the scan or of a restart interval is predicted from the mid value,
            // the rest of that line from the left neighbour, the first column of other lines from above.
            let pred = if first_line {
                if x == 0 { initial } else { cur_row[x - 1] }
            } else if x == 0 {
                prev_row[0]
            } else {
                let ra = cur_row[x - 1];
                let rb = prev_row[x];
                let rc = prev_row[x - 1];
                match p.predictor {
                    1 => ra,
                    2 => rb,
                    3 => rc,
                    4 => ra + rb - rc,
                    5 => ra + ((rb - rc) >> 1),
                    6 => rb + ((ra - rc) >> 1),
                    _ => (ra + rb) >> 1,
                }
            };
            let Some(ssss) = reader.decode(table) else {
                return Err(format!("invalid Huffman code at row {y} column {x}"));
            };
            let diff: i32 = match ssss {
                0 => 0,
                1..=15 => {
                    let bits = reader.bits(u32::from(ssss)) as i32;
                    // T.81 F.2.2.1 EXTEND: a leading zero bit means a negative difference.
                    if bits < (1 << (ssss - 1)) {
                        bits - (1 << ssss) + 1
                    } else {
                        bits
                    }
                }
                16 => 32768,
                _ => return Err(format!("difference category {ssss} above 16")),
            };
            cur_row[x] = (pred + diff) & modulus_mask;
        }
        if reader.padding_consumed() {
            return Err(format!("entropy-coded data ends early, in row {y}"));
        }
        for (dst, &v) in out[y * p.width..(y + 1) * p.width].iter_mut().zip(&cur_row) {
            *dst = ((v as u32) << p.point_transform) as u16;
        }
        std::mem::swap(&mut prev_row, &mut cur_row);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_non_jpeg_and_lossy_streams() {
        assert!(decode(b"", 100).is_err());
        assert!(decode(&[0xFF, 0xD8, 0xFF], 100).is_err());
        // SOI then a baseline SOF0 segment: not a lossless process.
        let sof0 = [
            0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 8, 0, 1, 0, 1, 1, 1, 0x11, 0,
        ];
        let (_, reason) = decode(&sof0, 100).err().unwrap();
        assert!(reason.contains("lossless"), "{reason}");
    }

    #[test]
    fn decodes_hand_built_two_by_two_stream() {
        // One Huffman table with a single 1-bit code for category 0 and a 2-bit code for category 1
        // (counts: one code of length 1, one of length 2), 8-bit precision, predictor 1.
        let mut s = vec![0xFF, 0xD8];
        s.extend_from_slice(&[
            0xFF, 0xC4, 0x00, 0x15, 0x00, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
        ]);
        s.extend_from_slice(&[0xFF, 0xC3, 0x00, 0x0B, 8, 0, 2, 0, 2, 1, 1, 0x11, 0]);
        s.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x08, 1, 1, 0x00, 1, 0, 0]);
        // Samples: 128 (pred 128, diff 0 -> "0"), 129 (pred 128, diff +1 -> "10" "1"),
        // row 2: 128 (pred above 128 -> "0"), 128 (pred left -> "0"). Bits: 0 10 1 0 0 -> 0101 0000, then pad 1s.
        s.extend_from_slice(&[0b0101_0011, 0xFF, 0xD9]);
        let d = decode(&s, 100).unwrap();
        assert_eq!((d.width, d.height), (2, 2));
        assert_eq!(d.samples, vec![128, 129, 128, 128]);
    }
}
