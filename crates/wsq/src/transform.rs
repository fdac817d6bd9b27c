//! The two-channel wavelet filter bank of the WSQ spec (Part 1, wavelet transform: analysis and synthesis).
//!
//! Both directions use symmetric (odd-length, linear-phase) filters with whole-sample symmetric extension of the
//! signal (Part 1, symmetric extension). For a signal of length `n`, the lowpass band has `ceil(n/2)` samples at the even signal
//! positions and the highpass band `floor(n/2)` samples at the odd positions. On reconstruction the bands inherit
//! the matching symmetries: the lowpass band is whole-sample symmetric on the left and, for even `n`, half-sample
//! symmetric on the right; the highpass band is half-sample symmetric on the left and, for odd `n`, on the right.
//!
//! Reconstruction is done in single precision and every output sample is summed in a fixed order (lowpass terms by
//! ascending tap, then highpass terms by ascending tap), which is the order the NBIS reference decoder uses; with
//! IEEE-754 arithmetic that makes our decoded pixels bit-identical to it.

use crate::tree::{N_NODES, Trees};

/// Lowpass and highpass filters for one direction of the filter bank.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FilterPair {
    pub lo: Vec<f32>,
    pub hi: Vec<f32>,
}

// The spec's digits, kept verbatim even where they exceed single precision.
#[allow(clippy::excessive_precision)]
/// Lowpass analysis filter of FBI encoder number one (spec Part 3; the CDF 9/7 biorthogonal pair).
pub(crate) const ANALYSIS_LOWPASS: [f32; 9] = [
    0.037_828_455_506_995_46,
    -0.023_849_465_019_380,
    -0.110_624_404_418_423_42,
    0.377_402_855_612_653_8,
    0.852_698_679_009_403_4,
    0.377_402_855_612_653_8,
    -0.110_624_404_418_423_42,
    -0.023_849_465_019_380,
    0.037_828_455_506_995_46,
];
#[allow(clippy::excessive_precision)]
/// Highpass analysis filter of FBI encoder number one (spec Part 3).
pub(crate) const ANALYSIS_HIGHPASS: [f32; 7] = [
    0.064_538_882_628_938_45,
    -0.040_689_417_609_558_44,
    -0.418_092_273_222_212_2,
    0.788_485_616_405_664_4,
    -0.418_092_273_222_212_2,
    -0.040_689_417_609_558_44,
    0.064_538_882_628_938_45,
];

/// Maps a possibly out-of-range index into `0..len` by repeated symmetric reflection. `left_half`/`right_half`
/// select half-sample symmetry (the edge sample repeats) instead of whole-sample symmetry at each end.
fn reflect(mut idx: isize, len: usize, left_half: bool, right_half: bool) -> usize {
    let len = len as isize;
    if len <= 1 {
        return 0;
    }
    // Each reflection moves the index strictly closer to the range, so a few rounds always suffice for the
    // filter lengths allowed (< 32 taps); the bound only guards against a logic slip turning into a hang.
    for _ in 0..64 {
        if idx < 0 {
            idx = if left_half { -idx - 1 } else { -idx };
        } else if idx >= len {
            idx = if right_half {
                2 * len - 1 - idx
            } else {
                2 * len - 2 - idx
            };
        } else {
            break;
        }
    }
    idx.clamp(0, len - 1) as usize
}

/// For each output sample of a one-dimensional transform, the ordered list of (input index, coefficient) terms.
#[derive(Debug, Clone)]
struct Plan {
    starts: Vec<usize>,
    src: Vec<u32>,
    coef: Vec<f32>,
}

impl Plan {
    fn terms(&self, out: usize) -> (&[u32], &[f32]) {
        let range = match (self.starts.get(out), self.starts.get(out + 1)) {
            (Some(&a), Some(&b)) => a..b,
            _ => 0..0,
        };
        (
            self.src.get(range.clone()).unwrap_or_default(),
            self.coef.get(range).unwrap_or_default(),
        )
    }

    /// Synthesis of a line of `n` samples laid out as [lowpass | highpass] (or [highpass | lowpass] if `inv`).
    fn synthesis(n: usize, inv: bool, f: &FilterPair) -> Plan {
        let n_lo = n - n / 2;
        let n_hi = n / 2;
        let (lo_off, hi_off) = if inv { (n_hi, 0) } else { (0, n_lo) };
        let c_lo = (f.lo.len() / 2) as isize;
        let c_hi = (f.hi.len() / 2) as isize;
        let odd = n % 2 == 1;
        let mut plan = Plan {
            starts: Vec::with_capacity(n + 1),
            src: Vec::new(),
            coef: Vec::new(),
        };
        for out in 0..n as isize {
            plan.starts.push(plan.src.len());
            for (tap, &c) in f.lo.iter().enumerate() {
                let pos = out + tap as isize - c_lo;
                if pos.rem_euclid(2) == 0 && n_lo > 0 {
                    let k = reflect(pos.div_euclid(2), n_lo, false, !odd);
                    plan.src.push((lo_off + k) as u32);
                    plan.coef.push(c);
                }
            }
            for (tap, &c) in f.hi.iter().enumerate() {
                let pos = out + tap as isize - c_hi - 1;
                if pos.rem_euclid(2) == 0 && n_hi > 0 {
                    let k = reflect(pos.div_euclid(2), n_hi, true, odd);
                    plan.src.push((hi_off + k) as u32);
                    plan.coef.push(c);
                }
            }
        }
        plan.starts.push(plan.src.len());
        plan
    }

    /// Analysis of a line of `n` samples into [lowpass | highpass] (or [highpass | lowpass] if `inv`).
    fn analysis(n: usize, inv: bool, f: &FilterPair) -> Plan {
        let n_lo = n - n / 2;
        let n_hi = n / 2;
        let c_lo = (f.lo.len() / 2) as isize;
        let c_hi = (f.hi.len() / 2) as isize;
        // Output slot -> (band, k); build in output-slot order so `terms(slot)` indexes directly.
        let mut per_slot: Vec<(bool, usize)> = Vec::with_capacity(n);
        if inv {
            per_slot.extend((0..n_hi).map(|k| (true, k)));
            per_slot.extend((0..n_lo).map(|k| (false, k)));
        } else {
            per_slot.extend((0..n_lo).map(|k| (false, k)));
            per_slot.extend((0..n_hi).map(|k| (true, k)));
        }
        let mut plan = Plan {
            starts: Vec::with_capacity(n + 1),
            src: Vec::new(),
            coef: Vec::new(),
        };
        for (is_hi, k) in per_slot {
            plan.starts.push(plan.src.len());
            let (taps, center, phase) = if is_hi {
                (&f.hi, c_hi, 1)
            } else {
                (&f.lo, c_lo, 0)
            };
            for (tap, &c) in taps.iter().enumerate() {
                let pos = 2 * k as isize + phase + tap as isize - center;
                plan.src.push(reflect(pos, n, false, false) as u32);
                plan.coef.push(c);
            }
        }
        plan.starts.push(plan.src.len());
        plan
    }

    /// Applies the plan down the columns of a `cols`-wide block: output row `out` is accumulated from whole input
    /// rows, which keeps the per-sample summation order of [`Plan::terms`] while running over contiguous memory
    /// (and so vectorises). `src` and `dst` address their blocks as [`Block`]s of a larger buffer.
    fn apply_cols(
        &self,
        src: &[f32],
        src_at: Block,
        dst: &mut [f32],
        dst_at: Block,
        cols: usize,
        n: usize,
    ) {
        for out in 0..n {
            let (idx, coef) = self.terms(out);
            let Some(dst_row) = dst.get_mut(dst_at.row(out, cols)) else {
                return;
            };
            for (t, (&i, &c)) in idx.iter().zip(coef).enumerate() {
                let Some(src_row) = src.get(src_at.row(i as usize, cols)) else {
                    continue;
                };
                if t == 0 {
                    for (d, &s) in dst_row.iter_mut().zip(src_row) {
                        *d = s * c;
                    }
                } else {
                    for (d, &s) in dst_row.iter_mut().zip(src_row) {
                        *d += s * c;
                    }
                }
            }
        }
    }
}

/// Where a rectangular block lives in a buffer: index of its first sample and distance between its rows.
#[derive(Debug, Clone, Copy)]
struct Block {
    base: usize,
    pitch: usize,
}

impl Block {
    fn packed(pitch: usize) -> Block {
        Block { base: 0, pitch }
    }

    fn row(self, row: usize, len: usize) -> std::ops::Range<usize> {
        let start = self.base + row * self.pitch;
        start..start + len
    }
}

/// Transposes the `width` x `height` block `src_at` of `src` into the `height` x `width` block `dst_at` of `dst`,
/// in tiles to stay in cache.
fn transpose(
    src: &[f32],
    src_at: Block,
    width: usize,
    height: usize,
    dst: &mut [f32],
    dst_at: Block,
) {
    const TILE: usize = 16;
    for y0 in (0..height).step_by(TILE) {
        for x0 in (0..width).step_by(TILE) {
            let x1 = (x0 + TILE).min(width);
            for y in y0..(y0 + TILE).min(height) {
                let Some(row) = src.get(src_at.row(y, width)) else {
                    return;
                };
                for (x, &v) in row.iter().enumerate().take(x1).skip(x0) {
                    if let Some(d) = dst.get_mut(dst_at.base + x * dst_at.pitch + y) {
                        *d = v;
                    }
                }
            }
        }
    }
}

/// Buffers reused across the nodes of one transform, so the large ones are allocated (and page-faulted) once.
#[derive(Default)]
struct Scratch {
    tmp: Vec<f32>,
    columns: Vec<f32>,
    filtered: Vec<f32>,
}

impl Scratch {
    fn size(&mut self, n: usize) {
        for buf in [&mut self.tmp, &mut self.columns, &mut self.filtered] {
            if buf.len() < n {
                buf.resize(n, 0.0);
            }
        }
    }
}

/// Inverse transform in place: rebuilds the image plane from its subbands, deepest split first (Part 1, synthesis).
pub(crate) fn reconstruct(plane: &mut [f32], width: usize, trees: &Trees, filters: &FilterPair) {
    let mut s = Scratch::default();
    for node in trees.nodes.iter().rev().take(N_NODES) {
        let r = node.rect;
        if r.w == 0 || r.h == 0 {
            continue;
        }
        s.size(r.w * r.h);
        let region = Block {
            base: r.y * width + r.x,
            pitch: width,
        };
        // Columns first, then rows: the reverse of the analysis order. Rows are filtered as columns of the
        // transposed block.
        Plan::synthesis(r.h, node.inv_y, filters).apply_cols(
            plane,
            region,
            &mut s.tmp,
            Block::packed(r.w),
            r.w,
            r.h,
        );
        transpose(
            &s.tmp,
            Block::packed(r.w),
            r.w,
            r.h,
            &mut s.columns,
            Block::packed(r.h),
        );
        Plan::synthesis(r.w, node.inv_x, filters).apply_cols(
            &s.columns,
            Block::packed(r.h),
            &mut s.filtered,
            Block::packed(r.h),
            r.h,
            r.w,
        );
        transpose(&s.filtered, Block::packed(r.h), r.h, r.w, plane, region);
    }
}

/// Forward transform in place: splits the image plane into the 64 subbands (Part 1, subband decomposition).
pub(crate) fn decompose(plane: &mut [f32], width: usize, trees: &Trees, filters: &FilterPair) {
    let mut s = Scratch::default();
    for node in trees.nodes.iter() {
        let r = node.rect;
        if r.w == 0 || r.h == 0 {
            continue;
        }
        s.size(r.w * r.h);
        let region = Block {
            base: r.y * width + r.x,
            pitch: width,
        };
        // Rows first (as columns of the transposed block), then columns.
        transpose(plane, region, r.w, r.h, &mut s.columns, Block::packed(r.h));
        Plan::analysis(r.w, node.inv_x, filters).apply_cols(
            &s.columns,
            Block::packed(r.h),
            &mut s.filtered,
            Block::packed(r.h),
            r.h,
            r.w,
        );
        transpose(
            &s.filtered,
            Block::packed(r.h),
            r.h,
            r.w,
            &mut s.tmp,
            Block::packed(r.w),
        );
        Plan::analysis(r.h, node.inv_y, filters).apply_cols(
            &s.tmp,
            Block::packed(r.w),
            plane,
            region,
            r.w,
            r.h,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Synthesis filters derived from the analysis pair the way a decoder derives them from the DTT segment.
    fn synthesis_filters() -> FilterPair {
        let modulate = |f: &[f32]| -> Vec<f32> {
            let c = f.len() / 2;
            f.iter()
                .enumerate()
                .map(|(i, &v)| {
                    if (i as isize - c as isize) % 2 == 0 {
                        v
                    } else {
                        -v
                    }
                })
                .collect()
        };
        FilterPair {
            lo: modulate(&ANALYSIS_HIGHPASS),
            hi: modulate(&ANALYSIS_LOWPASS),
        }
    }

    #[test]
    fn reflection_is_whole_or_half_sample() {
        assert_eq!(reflect(-1, 5, false, false), 1);
        assert_eq!(reflect(-1, 5, true, false), 0);
        assert_eq!(reflect(5, 5, false, false), 3);
        assert_eq!(reflect(5, 5, false, true), 4);
        assert_eq!(reflect(-7, 2, false, true), 1);
        assert_eq!(reflect(3, 1, false, false), 0);
    }

    #[test]
    fn analysis_then_synthesis_reconstructs_a_line() {
        let analysis = FilterPair {
            lo: ANALYSIS_LOWPASS.to_vec(),
            hi: ANALYSIS_HIGHPASS.to_vec(),
        };
        let synthesis = synthesis_filters();
        for n in [8usize, 9, 16, 17, 31, 100, 101] {
            for inv in [false, true] {
                let signal: Vec<f32> = (0..n).map(|i| ((i * 37 % 11) as f32) - 5.0).collect();
                let mut bands = vec![0.0; n];
                Plan::analysis(n, inv, &analysis).apply_cols(
                    &signal,
                    Block::packed(1),
                    &mut bands,
                    Block::packed(1),
                    1,
                    n,
                );
                let mut back = vec![0.0; n];
                Plan::synthesis(n, inv, &synthesis).apply_cols(
                    &bands,
                    Block::packed(1),
                    &mut back,
                    Block::packed(1),
                    1,
                    n,
                );
                // The spec's pair is biorthogonal with unit gain: perfect reconstruction up to rounding.
                for (a, b) in signal.iter().zip(&back) {
                    assert!((a - b).abs() < 1e-4, "n={n} inv={inv} {a} {b}");
                }
            }
        }
    }
}
