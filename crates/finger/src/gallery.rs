//! Indexed 1:N search.
//!
//! Two stages, so a search does not fully compare every template:
//!
//! 1. **Pre-filter.** Each template carries a 2048-bit [`Signature`], two halves of rigid-invariant features:
//!    - *pairs*: among the minutiae of good quality (at least 70, or the 12 best), for every minutia and each
//!      of its 8 nearest neighbours, the pair's distance (8 px bins) and each minutia's direction relative to
//!      the segment joining them (16 bins) (cf. Germain, Califano & Colville, IEEE CSE 4(4), 1997; Maltoni et
//!      al., Handbook 2nd ed., ch. 5) are quantised and hashed to a bit;
//!    - *cylinder hashes*: 16 bit-sampling hash functions of 10 bits each over every MCC cylinder (after
//!      Cappelli, Ferrara & Maltoni, "Fingerprint indexing based on Minutia Cylinder-Code", IEEE TPAMI 33(5),
//!      2011), each key hashed to a bit.
//!
//!    Rotation and translation leave both unchanged, so two impressions of one finger share many bits. The scan
//!    scores every gallery entry with 32 AND + POPCNT words and two integer multiplies (bits shared beyond
//!    chance, over the entry's bits to the power 0.7, precomputed; no float work in the inner loop) and keeps
//!    a shortlist. It is a coarse filter: on the shared FVC2000 B sets the best mate of a probe is within the
//!    top 1.3–2.5 % of the gallery for 90 % of probes, but within 6–25 % for 99 % (docs/finger.md), so the
//!    shortlist must be sized with that in mind.
//! 2. **Verification.** The shortlist is compared with the full MCC matcher ([`crate::compare`]) and ranked.
//!
//! Gallery entries keep the minutiae and the signature; cylinders are built for
//! shortlisted entries on demand when the gallery is [`Gallery::compact`], so a million templates fit in about
//! a gigabyte; [`Gallery::new`] keeps the cylinders (about 8 KB per template) for faster searches.

use std::collections::HashMap;
use std::f32::consts::{PI, TAU};
use std::hash::Hash;

use crate::mcc::{MccTemplate, Point, angle_delta};
use crate::template::Template;

/// u64 words per pair signature.
pub const SIGNATURE_WORDS: usize = 32;
/// Pairs closer than this (500-ppi pixels) are skipped: their link direction is unstable.
const DIST_MIN: f32 = 12.0;
/// Distance bin of the pair features, in 500-ppi pixels. Finer bins than the earlier 14 px and 8 directions
/// make features rarer, so random prints share fewer of them; on the shared sets that ranked mates better
/// although fewer true pairs quantise alike (docs/finger.md).
const DIST_BIN: f32 = 8.0;
/// Direction bins of the pair features (22.5° each).
const N_ANGLE: usize = 16;
/// Seed mixed into the pair feature hashes.
const PAIR_SALT: u64 = 0x2545_F491_4F6C_DD1D;
/// Neighbours per minutia that enter the signature (bounds the bit density).
const NEIGHBOURS: usize = 8;
/// Lowest extractor quality (coherence and distance to the print's border, 1–100) of a minutia entering the
/// pair features: spurious and border minutiae make pairs no mate has, which random prints then match.
const PAIR_MIN_QUALITY: u8 = 70;
/// Fewest minutiae kept for the pair features (best quality first) when fewer pass [`PAIR_MIN_QUALITY`].
const PAIR_MIN_MINUTIAE: usize = 12;
/// Words per half of the signature.
const HALF: usize = SIGNATURE_WORDS / 2;
/// Cylinder hash functions.
const LSH_HASHES: usize = 16;
/// Cylinder bits read per hash function.
const LSH_KEY_BITS: usize = 10;

/// A rigid-invariant 2048-bit summary of a template used by the pre-filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    words: [u64; SIGNATURE_WORDS],
}

impl Signature {
    /// Computes the signature of a template.
    #[must_use]
    pub fn new(template: &Template) -> Self {
        Self::with_prepared(template, &MccTemplate::new(template))
    }

    /// Computes the signature when the caller already has the prepared cylinders.
    #[must_use]
    pub fn with_prepared(template: &Template, prepared: &MccTemplate) -> Self {
        // Half the words hold the pair features, half the cylinder hashes: on the shared FVC sets the union
        // ranks mates better than either half alone.
        let pairs = pair_words(&pair_points(template));
        let cylinders = cylinder_words(prepared);
        let mut words = [0u64; SIGNATURE_WORDS];
        words[..HALF].copy_from_slice(&pairs);
        words[HALF..].copy_from_slice(&cylinders);
        Self { words }
    }
}

/// Bit-sampling LSH of the cylinders (after Cappelli, Ferrara & Maltoni, "Fingerprint indexing based on
/// Minutia Cylinder-Code", IEEE TPAMI 33(5), 2011): each hash function reads a fixed set of cylinder bits; the
/// key is hashed into the signature.
fn cylinder_words(prepared: &MccTemplate) -> [u64; HALF] {
    let positions = crate::mcc::lsh_positions(LSH_HASHES, LSH_KEY_BITS);
    let n_bits = HALF * 64;
    let mut words = [0u64; HALF];
    for cyl in &prepared.cylinders {
        'hash: for (h, pos) in positions.iter().enumerate() {
            let mut key = 0u64;
            for &(bit, cell) in pos {
                if cyl.valid[cell / 64] >> (cell % 64) & 1 == 0 {
                    continue 'hash;
                }
                key = (key << 1) | (cyl.bits[bit / 64] >> (bit % 64) & 1);
            }
            // Keys of (almost) all zeros come from empty cells and match everything.
            if key.count_ones() < 2 {
                continue;
            }
            let mixed = (key ^ ((h as u64) << 40)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let idx = (mixed >> 32) as usize % n_bits;
            words[idx / 64] |= 1u64 << (idx % 64);
        }
    }
    words
}

fn pair_words(points: &[Point]) -> [u64; HALF] {
    let (dist_bin_w, n_angle, neighbours) = (DIST_BIN, N_ANGLE, NEIGHBOURS);
    let n_bits = HALF * 64;
    let mut words = [0u64; HALF];
    let mut near: Vec<(f32, usize)> = Vec::with_capacity(points.len());
    for (i, a) in points.iter().enumerate() {
        near.clear();
        near.extend(
            points
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(j, b)| ((a.x - b.x).hypot(a.y - b.y), j))
                .filter(|(d, _)| *d >= DIST_MIN),
        );
        near.sort_by(|x, y| x.0.total_cmp(&y.0));
        for &(d, j) in near.iter().take(neighbours) {
            let b = points[j];
            let dist_bin = ((d - DIST_MIN) / dist_bin_w) as usize;
            let link = (b.y - a.y).atan2(b.x - a.x);
            let quant = |angle: f32| {
                let turn = (angle_delta(angle, link) + PI) / TAU;
                ((turn * n_angle as f32) as usize).min(n_angle - 1)
            };
            let key = (dist_bin * n_angle + quant(a.angle)) * n_angle + quant(b.angle);
            let bit = pair_bit(key as u64, n_bits);
            words[bit / 64] |= 1u64 << (bit % 64);
        }
    }
    words
}

/// The signature bit of a pair key: a 64-bit multiplicative hash, high half.
fn pair_bit(key: u64, n_bits: usize) -> usize {
    let mixed = ((key | 1 << 40) ^ PAIR_SALT).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((mixed >> 32) % n_bits as u64) as usize
}

impl Signature {
    /// Number of set bits.
    #[must_use]
    pub fn count(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }

    /// The pre-filter's score of a gallery entry for this probe signature (higher: more likely a mate);
    /// exactly what a gallery scan computes, in the same fixed-point units.
    #[must_use]
    pub fn score(&self, entry: &Self) -> i64 {
        let bits = entry.count();
        prefilter_score(
            i64::from(self.count()),
            self.common(entry),
            bits as u16,
            inv_norm(bits),
        )
    }

    /// Bits set in both signatures (the pre-filter's inner loop).
    #[inline]
    #[must_use]
    pub fn common(&self, other: &Self) -> u32 {
        let mut n = 0;
        for k in 0..SIGNATURE_WORDS {
            n += (self.words[k] & other.words[k]).count_ones();
        }
        n
    }
}

/// The minutiae entering the pair features, in the matcher's frame: those of at least [`PAIR_MIN_QUALITY`],
/// or the [`PAIR_MIN_MINUTIAE`] best when fewer pass. Quality 0 means "not reported" (ISO 19794-2, ANSI/NIST
/// type 9 "unknown") and passes; a template whose minutiae all carry the same quality says nothing about
/// them and keeps every minutia. (Cylinders keep every minutia: filtering them too ranked mates worse.)
fn pair_points(template: &Template) -> Vec<Point> {
    let rated = |m: &crate::Minutia| {
        if m.quality == 0 {
            PAIR_MIN_QUALITY
        } else {
            m.quality
        }
    };
    let mut minutiae = template.minutiae.clone();
    let uniform = minutiae.windows(2).all(|w| rated(&w[0]) == rated(&w[1]));
    if !uniform {
        minutiae.sort_by_key(|m| std::cmp::Reverse(rated(m)));
        let passing = minutiae
            .iter()
            .filter(|m| rated(m) >= PAIR_MIN_QUALITY)
            .count();
        minutiae.truncate(passing.max(PAIR_MIN_MINUTIAE));
    }
    points_of(template.ppi, &minutiae)
}

fn points_of(ppi: u32, minutiae: &[crate::Minutia]) -> Vec<Point> {
    let scale = 500.0 / ppi.max(1) as f32;
    minutiae
        .iter()
        .map(|m| Point {
            x: m.x * scale,
            y: -m.y * scale,
            angle: m.angle,
        })
        .collect()
}

/// One search result.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate<Id> {
    /// The gallery id.
    pub id: Id,
    /// MCC score in `[0, 1]`.
    pub score: f32,
}

/// Search settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SearchParams {
    /// Shortlist length kept by the pre-filter for full comparison (at least this many).
    pub shortlist: usize,
    /// Shortlist as a fraction of the gallery, when larger than `shortlist`.
    pub shortlist_fraction: f64,
}

impl Default for SearchParams {
    fn default() -> Self {
        Self {
            shortlist: 200,
            shortlist_fraction: 0.0,
        }
    }
}

/// An in-memory 1:N gallery of single-finger templates, keyed by caller ids.
#[derive(Clone, Debug, Default)]
pub struct Gallery<Id> {
    ids: Vec<Id>,
    signatures: Vec<Signature>,
    /// Fixed-point 1/√(bits) per entry, so the scan stays in integers.
    inv_norm: Vec<u32>,
    /// Set bits per entry's signature.
    bit_counts: Vec<u16>,
    templates: Vec<Template>,
    /// Cylinders kept per entry when the gallery trades memory for search speed.
    prepared: Vec<Option<MccTemplate>>,
    keep_prepared: bool,
    slots: HashMap<Id, usize>,
}

impl<Id: Clone + Eq + Hash> Gallery<Id> {
    /// An empty gallery that keeps each entry's cylinders in memory (about 9 KB per template; fastest search).
    #[must_use]
    pub fn new() -> Self {
        Self {
            ids: Vec::new(),
            signatures: Vec::new(),
            inv_norm: Vec::new(),
            bit_counts: Vec::new(),
            templates: Vec::new(),
            prepared: Vec::new(),
            keep_prepared: true,
            slots: HashMap::new(),
        }
    }

    /// An empty gallery that keeps only signatures and compact minutiae (about 1.1 KB per template) and rebuilds
    /// cylinders for shortlisted entries at search time: for galleries too large to hold every cylinder.
    #[must_use]
    pub fn compact() -> Self {
        Self {
            keep_prepared: false,
            ..Self::new()
        }
    }

    /// Number of templates.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the gallery is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Adds a template, replacing any template already stored under `id`.
    pub fn add(&mut self, id: Id, template: Template) {
        let prepared = MccTemplate::new(&template);
        let signature = Signature::with_prepared(&template, &prepared);
        self.add_prepared(id, template, prepared, signature);
    }

    /// Adds a template whose cylinders and signature were computed elsewhere (e.g. on another thread).
    pub fn add_prepared(
        &mut self,
        id: Id,
        template: Template,
        prepared: MccTemplate,
        signature: Signature,
    ) {
        let inv = inv_norm(signature.count());
        let bits = signature.count() as u16;
        let prepared = self.keep_prepared.then_some(prepared);
        if let Some(&slot) = self.slots.get(&id) {
            self.signatures[slot] = signature;
            self.inv_norm[slot] = inv;
            self.bit_counts[slot] = bits;
            self.templates[slot] = template;
            self.prepared[slot] = prepared;
            return;
        }
        self.slots.insert(id.clone(), self.ids.len());
        self.ids.push(id);
        self.signatures.push(signature);
        self.inv_norm.push(inv);
        self.bit_counts.push(bits);
        self.templates.push(template);
        self.prepared.push(prepared);
    }

    /// Removes the template stored under `id`; returns whether there was one.
    pub fn remove(&mut self, id: &Id) -> bool {
        let Some(slot) = self.slots.remove(id) else {
            return false;
        };
        let last = self.ids.len() - 1;
        self.ids.swap_remove(slot);
        self.signatures.swap_remove(slot);
        self.inv_norm.swap_remove(slot);
        self.bit_counts.swap_remove(slot);
        self.templates.swap_remove(slot);
        self.prepared.swap_remove(slot);
        if slot != last
            && let Some(moved) = self.ids.get(slot)
        {
            self.slots.insert(moved.clone(), slot);
        }
        true
    }

    /// Approximate bytes held per template (signature, norm, minutiae, cylinders if kept, id and map slot).
    #[must_use]
    pub fn memory_per_template(&self) -> usize {
        if self.templates.is_empty() {
            return 0;
        }
        let minutiae: usize = self.templates.iter().map(|t| t.minutiae.capacity()).sum();
        let cylinders: usize = self
            .prepared
            .iter()
            .flatten()
            .map(MccTemplate::memory_bytes)
            .sum();
        std::mem::size_of::<Signature>()
            + std::mem::size_of::<u32>()
            + std::mem::size_of::<u16>()
            + std::mem::size_of::<Template>()
            + std::mem::size_of::<Option<MccTemplate>>()
            + std::mem::size_of::<Id>() * 2
            + std::mem::size_of::<usize>()
            + (minutiae * std::mem::size_of::<crate::Minutia>() + cylinders) / self.templates.len()
    }

    /// Pre-filter only: indices of the `n` entries whose signatures share the most bits with the probe's.
    pub(crate) fn shortlist(&self, probe: &Signature, n: usize) -> Vec<usize> {
        let n = n.min(self.ids.len());
        if n == 0 {
            return Vec::new();
        }
        let mut scores: Vec<(i64, u32)> = Vec::with_capacity(self.ids.len());
        self.scan(probe, |idx, score| scores.push((score, idx as u32)));
        let pivot = scores.len() - n;
        scores.select_nth_unstable_by_key(pivot, |s| s.0);
        scores[pivot..].iter().map(|s| s.1 as usize).collect()
    }

    /// The pre-filter's inner loop: calls `visit(index, score)` for every entry, in index order; higher scores
    /// mean more bits shared with the probe.
    pub(crate) fn scan(&self, probe: &Signature, mut visit: impl FnMut(usize, i64)) {
        // Bits shared beyond what two random signatures of these densities would share, over a power of the
        // entry's bits: plain cosine favours dense signatures; removing the chance overlap ranked mates better
        // on every shared set (docs/finger.md).
        let probe_bits = i64::from(probe.count());
        for (idx, ((sig, inv), bits)) in self
            .signatures
            .iter()
            .zip(&self.inv_norm)
            .zip(&self.bit_counts)
            .enumerate()
        {
            visit(
                idx,
                prefilter_score(probe_bits, probe.common(sig), *bits, *inv),
            );
        }
    }

    /// The id stored at `index` (as visited by [`Self::scan`]).
    pub(crate) fn id_at(&self, index: usize) -> Option<&Id> {
        self.ids.get(index)
    }

    /// Full MCC score of the entry stored under `id` against a prepared probe.
    pub(crate) fn compare_key(&self, id: &Id, probe: &MccTemplate) -> Option<f32> {
        self.compare_at(*self.slots.get(id)?, probe)
    }

    /// Full MCC score of the entry at `index` against a prepared probe, rebuilding its cylinders when the
    /// gallery is compact.
    pub(crate) fn compare_at(&self, index: usize, probe: &MccTemplate) -> Option<f32> {
        Some(match self.prepared.get(index)? {
            Some(gallery) => crate::compare(probe, gallery),
            None => crate::compare(probe, &MccTemplate::new(self.templates.get(index)?)),
        })
    }

    /// Searches the gallery: pre-filter, then full MCC comparison of the shortlist; best `top_k` first.
    #[must_use]
    pub fn search(
        &self,
        probe: &Template,
        top_k: usize,
        params: SearchParams,
    ) -> Vec<Candidate<Id>> {
        let prepared = MccTemplate::new(probe);
        let signature = Signature::with_prepared(probe, &prepared);
        let n = params
            .shortlist
            .max((params.shortlist_fraction * self.ids.len() as f64).ceil() as usize);
        let mut out: Vec<Candidate<Id>> = self
            .shortlist(&signature, n)
            .into_iter()
            .filter_map(|idx| {
                Some(Candidate {
                    id: self.ids.get(idx)?.clone(),
                    score: self.compare_at(idx, &prepared)?,
                })
            })
            .collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        out.truncate(top_k);
        out
    }

    /// Pre-filter scan alone, for benchmarking the inner loop: the `n` best entry ids.
    #[must_use]
    pub fn prefilter(&self, probe: &Template, n: usize) -> Vec<Id> {
        let signature = Signature::new(probe);
        self.shortlist(&signature, n)
            .into_iter()
            .filter_map(|idx| self.ids.get(idx).cloned())
            .collect()
    }
}

/// Exponent of an entry's bit count in the score's denominator. 0.5 (shared bits beyond chance over
/// √(entry bits)) still favoured dense signatures — prints with many minutiae, real or spurious — over the
/// mate; 0.7 ranked mates better on every shared set and 1.0 worse again (docs/finger.md).
const NORM_EXPONENT: f64 = 0.7;

/// Fixed-point 1 / bits^[`NORM_EXPONENT`] of a gallery entry, so the scan stays in integers.
fn inv_norm(bits: u32) -> u32 {
    (65536.0 / f64::from(bits.max(1)).powf(NORM_EXPONENT)) as u32
}

/// The pre-filter score of `entry` for `probe`: bits shared beyond what two random signatures of these
/// densities would share, times [`inv_norm`] of the entry.
fn prefilter_score(probe_bits: i64, common: u32, entry_bits: u16, entry_inv_norm: u32) -> i64 {
    let n_bits = (SIGNATURE_WORDS * 64) as i64;
    let excess = i64::from(common) * n_bits - probe_bits * i64::from(entry_bits);
    excess * i64::from(entry_inv_norm)
}

/// One finger's candidates for a multi-finger probe: `(subject, score)` pairs.
pub type FingerCandidates<S> = Vec<(S, f32)>;

/// Fuses per-finger candidate lists of one encounter into per-subject scores (sum rule over the probe's
/// fingers, divided by the number of fingers, so a subject found on more fingers ranks higher; a finger on
/// which the subject was not a candidate contributes 0). Best first.
#[must_use]
pub fn fuse_fingers<S: Clone + Eq + Hash>(
    per_finger: &[FingerCandidates<S>],
) -> Vec<(S, f32, usize)> {
    let mut acc: HashMap<S, (f32, usize)> = HashMap::new();
    for finger in per_finger {
        // A subject appears at most once per finger: keep its best score there.
        let mut best: HashMap<&S, f32> = HashMap::new();
        for (subject, score) in finger {
            let slot = best.entry(subject).or_insert(0.0);
            *slot = slot.max(*score);
        }
        for (subject, score) in best {
            let entry = acc.entry(subject.clone()).or_insert((0.0, 0));
            entry.0 += score;
            entry.1 += 1;
        }
    }
    let n = per_finger.len().max(1) as f32;
    let mut out: Vec<(S, f32, usize)> = acc
        .into_iter()
        .map(|(s, (sum, hits))| (s, sum / n, hits))
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::random_template;

    fn rotated(t: &Template, angle: f32, dx: f32, dy: f32) -> Template {
        let (c, s) = (angle.cos(), angle.sin());
        let mut out = t.clone();
        for m in &mut out.minutiae {
            let (x, y) = (m.x - 150.0, m.y - 150.0);
            // Image y points down, so a counter-clockwise turn on screen is (x c + y s, -x s + y c).
            m.x = 150.0 + x * c + y * s + dx;
            m.y = 150.0 - x * s + y * c + dy;
            m.angle = crate::wrap_angle(m.angle + angle);
        }
        out
    }

    #[test]
    fn signature_is_rotation_invariant() {
        let t = random_template(3, 40);
        let a = Signature::new(&t);
        let b = Signature::new(&rotated(&t, 0.4, 12.0, -7.0));
        let other = Signature::new(&random_template(4, 40));
        assert!(
            a.common(&b) * 2 > a.count(),
            "{} of {}",
            a.common(&b),
            a.count()
        );
        assert!(
            2 * a.common(&b) > 3 * a.common(&other),
            "{} {} {}",
            a.count(),
            a.common(&b),
            a.common(&other)
        );
    }

    #[test]
    fn gallery_add_remove_search() {
        let mut g = Gallery::new();
        for k in 0..300u64 {
            g.add(k, random_template(100 + k, 35));
        }
        assert_eq!(g.len(), 300);
        let probe = rotated(&random_template(100 + 42, 35), -0.3, 5.0, 9.0);
        let params = SearchParams {
            shortlist: 10,
            shortlist_fraction: 0.0,
        };
        let hits = g.search(&probe, 3, params);
        assert_eq!(hits.first().map(|c| c.id), Some(42));
        assert!(g.remove(&42));
        assert!(!g.remove(&42));
        assert_eq!(g.len(), 299);
        let hits = g.search(&probe, 3, params);
        assert_ne!(hits.first().map(|c| c.id), Some(42));
        // The entry swapped into slot 42 is still found under its own id.
        let moved = rotated(&random_template(100 + 299, 35), 0.2, 0.0, 0.0);
        assert_eq!(g.search(&moved, 1, params).first().map(|c| c.id), Some(299));
    }

    fn with_quality(mut t: Template, quality: u8) -> Template {
        for m in &mut t.minutiae {
            m.quality = quality;
        }
        t
    }

    #[test]
    fn pair_features_ignore_low_quality_minutiae() {
        let good = with_quality(random_template(7, 30), 90);
        let pairs = |t: &Template| pair_words(&pair_points(t));
        let mut noisy = good.clone();
        noisy
            .minutiae
            .extend(with_quality(random_template(8, 10), 20).minutiae);
        assert_eq!(pairs(&good), pairs(&noisy));
        // The same extra minutiae at good quality do change the pair features.
        let mut more = good.clone();
        more.minutiae
            .extend(with_quality(random_template(8, 10), 90).minutiae);
        assert_ne!(pairs(&good), pairs(&more));
        // A print with fewer good minutiae than the floor keeps its best ones.
        let mut poor = random_template(9, 30);
        for (k, m) in poor.minutiae.iter_mut().enumerate() {
            m.quality = 10 + k as u8;
        }
        let kept = pair_points(&poor);
        assert_eq!(kept.len(), PAIR_MIN_MINUTIAE);
        let best = &poor.minutiae[29];
        assert!(kept.iter().any(|p| p.x == best.x && p.y == -best.y));
        // Equal or unreported qualities carry no information: every minutia is kept.
        assert_eq!(pair_points(&with_quality(poor.clone(), 20)).len(), 30);
        assert_eq!(pair_points(&with_quality(poor, 0)).len(), 30);
    }

    #[test]
    fn signature_score_is_the_scan_score() {
        let mut g = Gallery::compact();
        let templates: Vec<Template> = (0..20u64).map(|k| random_template(300 + k, 30)).collect();
        for (k, t) in templates.iter().enumerate() {
            g.add(k, t.clone());
        }
        let probe = Signature::new(&rotated(&templates[3], 0.5, 4.0, -6.0));
        let mut scanned = Vec::new();
        g.scan(&probe, |idx, score| scanned.push((idx, score)));
        assert_eq!(scanned.len(), templates.len());
        for (idx, score) in scanned {
            let id = g.id_at(idx).copied().unwrap_or(usize::MAX);
            assert_eq!(score, probe.score(&Signature::new(&templates[id])));
        }
        let best = (0..templates.len())
            .max_by_key(|&k| probe.score(&Signature::new(&templates[k])))
            .unwrap_or(usize::MAX);
        assert_eq!(best, 3);
    }

    #[test]
    fn fusion_prefers_subjects_found_on_several_fingers() {
        let fused = fuse_fingers(&[vec![("a", 0.5), ("b", 0.6)], vec![("a", 0.5), ("c", 0.2)]]);
        assert_eq!(fused[0].0, "a");
        assert_eq!(fused[0].2, 2);
    }
}
