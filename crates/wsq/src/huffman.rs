//! Huffman coding of quantized coefficients (WSQ spec Part 1, entropy coding, which reuses the JPEG code construction of
//! ITU-T T.81 Annex C and K.2).
//!
//! Symbols (Part 1, Huffman coding categories): 1–100 a run of that many zeros; 101/102 a positive/negative coefficient in the next 8
//! bits; 103/104 the same in 16 bits; 105/106 a zero run in the next 8/16 bits; 107–254 the coefficient
//! `symbol - 180` (−73..=74).

use crate::WsqError;

/// Largest coefficient coded directly by a symbol.
pub(crate) const MAX_DIRECT_COEFF: i32 = 74;
/// Smallest coefficient coded directly by a symbol.
pub(crate) const MIN_DIRECT_COEFF: i32 = -73;
/// Longest zero run coded directly by a symbol.
pub(crate) const MAX_DIRECT_RUN: u32 = 100;

/// A Huffman table as transmitted in a DHT segment: number of codes of each length 1..=16, then the symbols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HuffmanSpec {
    pub bits: [u8; 16],
    pub values: Vec<u8>,
}

/// Decoding form of a table (T.81 Annex F.2.2.3: MAXCODE, MINCODE, VALPTR).
#[derive(Debug, Clone)]
pub(crate) struct DecodeTable {
    max_code: [i32; 17],
    min_code: [i32; 17],
    val_ptr: [usize; 17],
    values: Vec<u8>,
}

impl DecodeTable {
    /// Builds the decoding tables; `offset` is where the DHT segment starts, for errors.
    pub fn new(spec: &HuffmanSpec, offset: usize) -> Result<DecodeTable, WsqError> {
        let mut max_code = [-1i32; 17];
        let mut min_code = [0i32; 17];
        let mut val_ptr = [0usize; 17];
        let mut code: i32 = 0;
        let mut k = 0usize;
        let rows = max_code
            .iter_mut()
            .zip(min_code.iter_mut())
            .zip(val_ptr.iter_mut())
            .skip(1);
        for (len, (((max, min), ptr), &count)) in rows
            .zip(spec.bits.iter())
            .enumerate()
            .map(|(i, x)| (i + 1, x))
        {
            let n = i32::from(count);
            if n > 0 {
                *ptr = k;
                *min = code;
                code += n;
                // Canonical codes of this length must fit in `len` bits.
                if code > (1 << len) {
                    return Err(WsqError::InvalidSegment {
                        offset,
                        segment: "DHT",
                        reason: "code lengths over-subscribe the code space",
                    });
                }
                *max = code - 1;
                k += n as usize;
            }
            code <<= 1;
        }
        Ok(DecodeTable {
            max_code,
            min_code,
            val_ptr,
            values: spec.values.clone(),
        })
    }
}

/// Outcome of reading from the entropy-coded segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Read {
    Value(u32),
    /// A marker (0xFF followed by a non-zero byte) ended the segment; `offset` is where it starts.
    Marker {
        offset: usize,
        code: u16,
    },
}

/// MSB-first bit reader over entropy-coded data with 0xFF00 byte stuffing (Part 1, entropy-coded data).
#[derive(Debug)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    cur: u8,
    n_bits: u8,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8], pos: usize) -> BitReader<'a> {
        BitReader {
            data,
            pos,
            cur: 0,
            n_bits: 0,
        }
    }

    /// Position of the next unread byte.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Loads the next data byte; reports a marker instead when 0xFF is followed by a non-zero byte.
    fn load(&mut self) -> Result<Option<Read>, WsqError> {
        let offset = self.pos;
        let Some(&byte) = self.data.get(self.pos) else {
            return Err(WsqError::Truncated {
                offset,
                context: "entropy-coded data",
            });
        };
        self.pos += 1;
        if byte == 0xFF {
            let Some(&next) = self.data.get(self.pos) else {
                return Err(WsqError::Truncated {
                    offset: self.pos,
                    context: "entropy-coded data",
                });
            };
            self.pos += 1;
            if next != 0 {
                return Ok(Some(Read::Marker {
                    offset,
                    code: 0xFF00 | u16::from(next),
                }));
            }
        }
        self.cur = byte;
        self.n_bits = 8;
        Ok(None)
    }

    /// Reads one bit, or the marker that ends the segment.
    fn bit(&mut self) -> Result<Read, WsqError> {
        if self.n_bits == 0
            && let Some(marker) = self.load()?
        {
            return Ok(marker);
        }
        self.n_bits -= 1;
        Ok(Read::Value(u32::from((self.cur >> self.n_bits) & 1)))
    }

    /// Reads `n` (<= 16) raw bits of an escape; a marker here means the data is corrupt.
    pub fn bits(&mut self, n: u8) -> Result<u32, WsqError> {
        let mut value = 0u32;
        for _ in 0..n {
            match self.bit()? {
                Read::Value(b) => value = (value << 1) | b,
                Read::Marker { offset, .. } => {
                    return Err(WsqError::EntropyData {
                        offset,
                        reason: "marker inside an escape value",
                    });
                }
            }
        }
        Ok(value)
    }

    /// Decodes one Huffman symbol (T.81 Figure F.16), or the marker ending the segment. Padding bits before a
    /// marker never form a complete code because the spec forbids the all-ones code.
    pub fn symbol(&mut self, table: &DecodeTable) -> Result<Read, WsqError> {
        let mut code: i32 = 0;
        let rows = table
            .max_code
            .iter()
            .zip(&table.min_code)
            .zip(&table.val_ptr)
            .skip(1);
        for ((&max, &min), &ptr) in rows {
            match self.bit()? {
                Read::Value(b) => code = (code << 1) | b as i32,
                marker @ Read::Marker { .. } => return Ok(marker),
            }
            if code <= max {
                let idx = ptr + (code - min) as usize;
                return match table.values.get(idx) {
                    Some(&v) => Ok(Read::Value(u32::from(v))),
                    None => Err(WsqError::EntropyData {
                        offset: self.pos,
                        reason: "code outside the table",
                    }),
                };
            }
        }
        Err(WsqError::EntropyData {
            offset: self.pos,
            reason: "no Huffman code of 16 bits or less matches",
        })
    }
}

/// MSB-first bit writer with 0xFF00 byte stuffing and one-padding (Part 1, entropy-coded data).
#[derive(Debug, Default)]
pub(crate) struct BitWriter {
    pub out: Vec<u8>,
    acc: u32,
    n_bits: u32,
}

impl BitWriter {
    /// Appends to an existing buffer.
    pub fn with_output(out: Vec<u8>) -> BitWriter {
        BitWriter {
            out,
            acc: 0,
            n_bits: 0,
        }
    }

    pub fn put(&mut self, value: u32, n: u32) {
        for i in (0..n).rev() {
            self.acc = (self.acc << 1) | ((value >> i) & 1);
            self.n_bits += 1;
            if self.n_bits == 8 {
                let byte = (self.acc & 0xFF) as u8;
                self.out.push(byte);
                if byte == 0xFF {
                    self.out.push(0);
                }
                self.acc = 0;
                self.n_bits = 0;
            }
        }
    }

    /// Pads the last byte with one bits.
    pub fn finish(mut self) -> Vec<u8> {
        if self.n_bits > 0 {
            let pad = 8 - self.n_bits;
            self.put((1 << pad) - 1, pad);
        }
        self.out
    }
}

/// One coded unit: a Huffman symbol plus optional raw bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub symbol: u8,
    pub extra: u16,
    pub extra_bits: u8,
}

fn run_tokens(mut run: u32, out: &mut Vec<Token>) {
    while run > 0 {
        let chunk = run.min(u32::from(u16::MAX));
        let token = if chunk <= MAX_DIRECT_RUN {
            Token {
                symbol: chunk as u8,
                extra: 0,
                extra_bits: 0,
            }
        } else if chunk <= 0xFF {
            Token {
                symbol: 105,
                extra: chunk as u16,
                extra_bits: 8,
            }
        } else {
            Token {
                symbol: 106,
                extra: chunk as u16,
                extra_bits: 16,
            }
        };
        out.push(token);
        run -= chunk;
    }
}

/// Turns a block of quantized coefficients into symbols (Part 1, run-length categories). Coefficients must lie in ±32767, the
/// range a 16-bit escape can carry into the decoder's signed 16-bit store.
pub(crate) fn tokenize(coeffs: &[i16], out: &mut Vec<Token>) {
    let mut run = 0u32;
    for &c in coeffs {
        if c == 0 {
            run += 1;
            continue;
        }
        run_tokens(run, out);
        run = 0;
        let v = i32::from(c);
        let token = if (MIN_DIRECT_COEFF..=MAX_DIRECT_COEFF).contains(&v) {
            Token {
                symbol: (v + 180) as u8,
                extra: 0,
                extra_bits: 0,
            }
        } else if v > 0 {
            if v <= 0xFF {
                Token {
                    symbol: 101,
                    extra: v as u16,
                    extra_bits: 8,
                }
            } else {
                Token {
                    symbol: 103,
                    extra: v as u16,
                    extra_bits: 16,
                }
            }
        } else if -v <= 0xFF {
            Token {
                symbol: 102,
                extra: (-v) as u16,
                extra_bits: 8,
            }
        } else {
            Token {
                symbol: 104,
                extra: (-v) as u16,
                extra_bits: 16,
            }
        };
        out.push(token);
    }
    run_tokens(run, out);
}

// Encoder-side only, over fixed arrays sized for all 257 symbols and code lengths; every index is a symbol
// number or a code length bounded by those sizes, so the slicing lint's `get` dance would only hide the algorithm.
#[allow(clippy::indexing_slicing)]
/// Builds an optimal length-limited table for the given symbol counts (T.81 Annex K.2: code sizes with a reserved
/// symbol so no code is all ones, then BITS adjusted to at most 16 bits).
pub(crate) fn build_spec(counts: &[u64; 256]) -> HuffmanSpec {
    const N: usize = 257;
    let mut freq = [0u64; N];
    freq[..256].copy_from_slice(counts);
    if freq[..256].iter().all(|&f| f == 0) {
        // An empty block still needs a valid table: give it one code.
        freq[1] = 1;
    }
    freq[256] = 1;
    let mut code_size = [0u32; N];
    let mut others = [usize::MAX; N];
    loop {
        // V1: least non-zero frequency, ties to the largest symbol; V2: next least.
        let mut v1 = usize::MAX;
        let mut v2 = usize::MAX;
        for (i, &f) in freq.iter().enumerate() {
            if f == 0 {
                continue;
            }
            if v1 == usize::MAX || f <= freq[v1] {
                v2 = v1;
                v1 = i;
            } else if v2 == usize::MAX || f <= freq[v2] {
                v2 = i;
            }
        }
        if v2 == usize::MAX {
            break;
        }
        freq[v1] += freq[v2];
        freq[v2] = 0;
        let mut v = v1;
        code_size[v] += 1;
        while others[v] != usize::MAX {
            v = others[v];
            code_size[v] += 1;
        }
        others[v] = v2;
        let mut v = v2;
        code_size[v] += 1;
        while others[v] != usize::MAX {
            v = others[v];
            code_size[v] += 1;
        }
    }
    // Code sizes can reach 256 for pathological counts; JPEG's adjustment assumes the deepest level is full.
    let mut bits = [0u32; N + 1];
    for &size in &code_size {
        if size > 0 {
            bits[(size as usize).min(N)] += 1;
        }
    }
    // T.81 Figure K.3: move codes longer than 16 bits up the tree, two at a time.
    let mut i = N;
    while i > 16 {
        while bits[i] > 0 {
            let mut j = i - 2;
            while j > 0 && bits[j] == 0 {
                j -= 1;
            }
            bits[i] = bits[i].saturating_sub(2);
            bits[i - 1] += 1;
            bits[j + 1] += 2;
            bits[j] = bits[j].saturating_sub(1);
        }
        i -= 1;
    }
    // Drop the reserved symbol's code: it is one of the longest.
    while i > 0 && bits[i] == 0 {
        i -= 1;
    }
    bits[i] = bits[i].saturating_sub(1);
    let mut order: Vec<usize> = (0..256).filter(|&s| code_size[s] > 0).collect();
    order.sort_by_key(|&s| (code_size[s], s));
    let mut spec_bits = [0u8; 16];
    for (dst, &src) in spec_bits.iter_mut().zip(&bits[1..17]) {
        *dst = src as u8;
    }
    HuffmanSpec {
        bits: spec_bits,
        values: order.into_iter().map(|s| s as u8).collect(),
    }
}

/// Encoding form: code and length for each symbol (T.81 Annex C).
#[allow(clippy::indexing_slicing)] // A `u8` symbol always indexes a 256-entry table.
pub(crate) fn encode_table(spec: &HuffmanSpec) -> [(u16, u8); 256] {
    let mut table = [(0u16, 0u8); 256];
    let mut code: u32 = 0;
    let mut values = spec.values.iter();
    for (len_idx, &n) in spec.bits.iter().enumerate() {
        for _ in 0..n {
            if let Some(&sym) = values.next() {
                table[usize::from(sym)] = (code as u16, (len_idx + 1) as u8);
            }
            code += 1;
        }
        code <<= 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_tables_round_trip_symbols_and_never_use_all_ones() {
        let coeffs: Vec<i16> = (0..5000)
            .map(|i: i32| {
                if i % 7 == 0 {
                    ((i * 31) % 400 - 200) as i16
                } else {
                    0
                }
            })
            .collect();
        let mut tokens = Vec::new();
        tokenize(&coeffs, &mut tokens);
        let mut counts = [0u64; 256];
        for t in &tokens {
            counts[usize::from(t.symbol)] += 1;
        }
        let spec = build_spec(&counts);
        assert!(spec.bits.iter().map(|&b| u32::from(b)).sum::<u32>() as usize == spec.values.len());
        let enc = encode_table(&spec);
        for &(code, len) in enc.iter().filter(|e| e.1 > 0) {
            assert_ne!(u32::from(code), (1u32 << len) - 1, "all-ones code");
        }
        let mut w = BitWriter::default();
        for t in &tokens {
            let (code, len) = enc[usize::from(t.symbol)];
            w.put(u32::from(code), u32::from(len));
            w.put(u32::from(t.extra), u32::from(t.extra_bits));
        }
        let mut data = w.finish();
        data.extend_from_slice(&[0xFF, 0xA1]);
        let table = DecodeTable::new(&spec, 0).unwrap();
        let mut r = BitReader::new(&data, 0);
        for t in &tokens {
            assert_eq!(r.symbol(&table).unwrap(), Read::Value(u32::from(t.symbol)));
            assert_eq!(r.bits(t.extra_bits).unwrap(), u32::from(t.extra));
        }
        assert!(matches!(
            r.symbol(&table).unwrap(),
            Read::Marker { code: 0xFFA1, .. }
        ));
    }

    #[test]
    fn skewed_counts_are_limited_to_16_bits() {
        let mut counts = [0u64; 256];
        for (i, c) in counts.iter_mut().enumerate() {
            *c = 1u64 << (i % 40);
        }
        let spec = build_spec(&counts);
        assert_eq!(spec.values.len(), 256);
        assert_eq!(
            spec.bits.iter().map(|&b| usize::from(b)).sum::<usize>(),
            256
        );
        DecodeTable::new(&spec, 0).unwrap();
    }

    #[test]
    fn long_runs_and_large_values_use_escapes() {
        let mut coeffs = vec![0i16; 70_000];
        coeffs.push(300);
        coeffs.push(-80);
        let mut tokens = Vec::new();
        tokenize(&coeffs, &mut tokens);
        let syms: Vec<u8> = tokens.iter().map(|t| t.symbol).collect();
        assert_eq!(syms, vec![106, 106, 103, 102]);
        assert_eq!(tokens[0].extra, 65535);
        assert_eq!(u32::from(tokens[1].extra), 70_000 - 65535);
    }
}
