//! Multi-finger 1:N search at the level of subjects.
//!
//! An encounter at a border post captures up to ten fingers, and a gallery holds people, not single fingers.
//! Searching each probe finger alone against every template and fusing the lists afterwards needs a long
//! per-finger shortlist, because the single-finger pre-filter is coarse (docs/finger.md). [`SubjectGallery`]
//! fuses the pre-filter itself:
//!
//! 1. each probe finger scans only the entries of its own finger position (plus entries of unknown position;
//!    a probe of unknown position scans them all);
//! 2. its pre-filter scores are standardised over that scan (z-score), so a poor print and a good one weigh
//!    alike, and each subject keeps its best entry for that finger;
//! 3. the standardised scores are summed per subject over the probe's fingers (sum rule; a finger the subject
//!    has no entry for adds 0, the impostor mean);
//! 4. only the `shortlist` best subjects are compared in full (MCC) on every probe finger; their scores are
//!    fused by the mean over the probe's fingers.
//!
//! Evidence from ten fingers is far stronger than from one, so a subject-level shortlist of a few dozen people
//! replaces a per-finger shortlist of hundreds of templates, and a 10-finger probe costs one linear scan of the
//! gallery plus a few hundred full comparisons. Probe fingers are scanned on parallel threads.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use crate::gallery::{Gallery, Signature};
use crate::mcc::MccTemplate;
use crate::template::Template;

/// Finger position code for "unknown" (ANSI/NIST-ITL FGP 0): matches every position.
pub const UNKNOWN_POSITION: u8 = 0;

/// Whether a probe finger at `probe` is compared with a gallery template at `gallery`: the same position, or
/// either one unknown.
fn positions_match(probe: u8, gallery: u8) -> bool {
    probe == gallery || probe == UNKNOWN_POSITION || gallery == UNKNOWN_POSITION
}

/// One gallery entry: a template of one subject at one finger position.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct EntryKey {
    subject: u32,
    serial: u32,
}

/// Settings of [`SubjectGallery::search`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubjectSearchParams {
    /// Subjects kept by the fused pre-filter for full comparison of a ten-finger probe. A probe with fewer
    /// fingers keeps proportionally more subjects ([`Self::subjects_for`]): its pre-filter evidence is weaker,
    /// and each kept subject costs fewer full comparisons, so every probe gets about the same verification
    /// budget (`shortlist × 10` finger comparisons). A gallery with no more subjects than that is searched
    /// exhaustively.
    pub shortlist: usize,
    /// Worker threads for scanning and verification (at least 1).
    pub threads: usize,
}

impl SubjectSearchParams {
    /// Subjects shortlisted for a probe of `fingers` fingers: `shortlist × 10 / fingers`, at least `shortlist`.
    #[must_use]
    pub fn subjects_for(&self, fingers: usize) -> usize {
        let budget = self.shortlist.max(1).saturating_mul(10);
        budget
            .div_ceil(fingers.clamp(1, 10))
            .max(self.shortlist.max(1))
    }
}

impl Default for SubjectSearchParams {
    fn default() -> Self {
        Self {
            shortlist: 100,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

/// One subject found by [`SubjectGallery::search`].
#[derive(Clone, Debug, PartialEq)]
pub struct SubjectCandidate<S> {
    /// The caller's subject id.
    pub subject: S,
    /// Mean over the probe's fingers of the best MCC score of each finger against this subject (a finger the
    /// subject has no template for counts 0), in `[0, 1]`.
    pub score: f32,
    /// Best MCC score per probe finger, in probe order (0 when the subject has no template there).
    pub per_finger: Vec<f32>,
    /// The subject's fused, standardised pre-filter score (sum of z-scores over the probe's fingers).
    pub prefilter: f32,
}

impl<S> SubjectCandidate<S> {
    /// The best single-finger score.
    #[must_use]
    pub fn best_finger(&self) -> f32 {
        self.per_finger.iter().copied().fold(0.0, f32::max)
    }
}

/// A 1:N gallery of multi-finger subjects, partitioned by finger position.
#[derive(Clone, Debug)]
pub struct SubjectGallery<S> {
    /// Subject ids by index; `None` once removed (indices are never reused while the gallery lives).
    subjects: Vec<Option<S>>,
    index: HashMap<S, u32>,
    /// Entries of each subject index: (position, key).
    entries: HashMap<u32, Vec<(u8, EntryKey)>>,
    positions: BTreeMap<u8, Gallery<EntryKey>>,
    next_serial: u32,
    compact: bool,
}

impl<S: Clone + Eq + Hash + Send + Sync> SubjectGallery<S> {
    /// An empty gallery that keeps every entry's cylinders (about 9 KB per template; fastest verification).
    #[must_use]
    pub fn new() -> Self {
        Self {
            subjects: Vec::new(),
            index: HashMap::new(),
            entries: HashMap::new(),
            positions: BTreeMap::new(),
            next_serial: 0,
            compact: false,
        }
    }

    /// An empty gallery that keeps signatures and minutiae only and rebuilds cylinders of shortlisted subjects
    /// at search time (about 1 KB per template), for galleries of millions of templates.
    #[must_use]
    pub fn compact() -> Self {
        Self {
            compact: true,
            ..Self::new()
        }
    }

    /// Number of templates.
    #[must_use]
    pub fn len(&self) -> usize {
        self.positions.values().map(Gallery::len).sum()
    }

    /// Whether the gallery holds no template.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of subjects with at least one template.
    #[must_use]
    pub fn subjects(&self) -> usize {
        self.entries.len()
    }

    /// Adds a template of `subject` at finger `position` (ANSI/NIST FGP code; [`UNKNOWN_POSITION`] when not
    /// known). A subject may hold several templates at one position (several encounters).
    pub fn add(&mut self, subject: S, position: u8, template: Template) {
        let prepared = MccTemplate::new(&template);
        let signature = Signature::with_prepared(&template, &prepared);
        self.add_prepared(subject, position, template, prepared, signature);
    }

    /// Adds a template whose cylinders and signature were computed elsewhere (e.g. on another thread).
    pub fn add_prepared(
        &mut self,
        subject: S,
        position: u8,
        template: Template,
        prepared: MccTemplate,
        signature: Signature,
    ) {
        let subject_index = match self.index.get(&subject) {
            Some(&i) => i,
            None => {
                let i = u32::try_from(self.subjects.len()).unwrap_or(u32::MAX);
                self.subjects.push(Some(subject.clone()));
                self.index.insert(subject, i);
                i
            }
        };
        let key = EntryKey {
            subject: subject_index,
            serial: self.next_serial,
        };
        self.next_serial = self.next_serial.wrapping_add(1);
        let compact = self.compact;
        self.positions
            .entry(position)
            .or_insert_with(|| {
                if compact {
                    Gallery::compact()
                } else {
                    Gallery::new()
                }
            })
            .add_prepared(key, template, prepared, signature);
        self.entries
            .entry(subject_index)
            .or_default()
            .push((position, key));
    }

    /// Removes every template of `subject`; returns how many there were.
    pub fn remove_subject(&mut self, subject: &S) -> usize {
        let Some(i) = self.index.remove(subject) else {
            return 0;
        };
        if let Some(slot) = self.subjects.get_mut(i as usize) {
            *slot = None;
        }
        let entries = self.entries.remove(&i).unwrap_or_default();
        for (position, key) in &entries {
            if let Some(gallery) = self.positions.get_mut(position) {
                gallery.remove(key);
            }
        }
        entries.len()
    }

    /// Approximate bytes held per template, averaged over the position partitions.
    #[must_use]
    pub fn memory_per_template(&self) -> usize {
        let total: usize = self
            .positions
            .values()
            .map(|g| g.memory_per_template() * g.len())
            .sum();
        total / self.len().max(1)
    }

    /// Position partitions a probe finger at `position` is scanned against.
    fn partitions_for(&self, position: u8) -> impl Iterator<Item = &Gallery<EntryKey>> {
        self.positions
            .iter()
            .filter(move |(p, _)| positions_match(position, **p))
            .map(|(_, g)| g)
    }

    /// Standardised best pre-filter score of every subject for one probe finger (0 where the subject has no
    /// entry in the scanned partitions).
    fn finger_scores(&self, position: u8, signature: &Signature) -> Vec<f32> {
        let mut best = vec![f32::NEG_INFINITY; self.subjects.len()];
        let mut raw: Vec<i64> = Vec::new();
        for gallery in self.partitions_for(position) {
            raw.clear();
            raw.reserve(gallery.len());
            gallery.scan(signature, |_, score| raw.push(score));
            let n = raw.len().max(1) as f64;
            let mean = raw.iter().map(|&s| s as f64).sum::<f64>() / n;
            let var = raw.iter().map(|&s| (s as f64 - mean).powi(2)).sum::<f64>() / n;
            let inv_sd = if var > 0.0 { 1.0 / var.sqrt() } else { 0.0 };
            for (idx, &score) in raw.iter().enumerate() {
                if let Some(key) = gallery.id_at(idx)
                    && let Some(slot) = best.get_mut(key.subject as usize)
                {
                    *slot = slot.max(((score as f64 - mean) * inv_sd) as f32);
                }
            }
        }
        for slot in &mut best {
            if !slot.is_finite() {
                *slot = 0.0;
            }
        }
        best
    }

    /// Best full MCC score of subject `subject` for one prepared probe finger at `position`.
    fn verify(&self, subject: u32, position: u8, probe: &MccTemplate) -> f32 {
        let Some(entries) = self.entries.get(&subject) else {
            return 0.0;
        };
        entries
            .iter()
            .filter(|(p, _)| positions_match(position, *p))
            .filter_map(|(p, key)| {
                let gallery = self.positions.get(p)?;
                gallery.compare_key(key, probe)
            })
            .fold(0.0, f32::max)
    }

    /// Stage 1 of [`Self::search`]: prepares every probe finger and sums its standardised pre-filter scores per
    /// subject. Fingers are dealt round-robin to `threads` threads. Returns the fused score of every subject
    /// index and the prepared probe fingers in probe order.
    fn fused_prefilter(
        &self,
        probe: &[(u8, Template)],
        threads: usize,
    ) -> (Vec<f32>, Vec<Option<MccTemplate>>) {
        let threads = threads.clamp(1, probe.len().max(1));
        let mut fused = vec![0.0f32; self.subjects.len()];
        let mut prepared: Vec<Option<MccTemplate>> = (0..probe.len()).map(|_| None).collect();
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        let mut partial = vec![0.0f32; self.subjects.len()];
                        let mut fingers = Vec::new();
                        for (i, (position, template)) in
                            probe.iter().enumerate().skip(t).step_by(threads)
                        {
                            let cylinders = MccTemplate::new(template);
                            let signature = Signature::with_prepared(template, &cylinders);
                            let scores = self.finger_scores(*position, &signature);
                            for (acc, z) in partial.iter_mut().zip(scores) {
                                *acc += z;
                            }
                            fingers.push((i, cylinders));
                        }
                        (partial, fingers)
                    })
                })
                .collect();
            for (partial, fingers) in workers.into_iter().filter_map(|w| w.join().ok()) {
                for (acc, z) in fused.iter_mut().zip(partial) {
                    *acc += z;
                }
                for (i, cylinders) in fingers {
                    if let Some(slot) = prepared.get_mut(i) {
                        *slot = Some(cylinders);
                    }
                }
            }
        });
        (fused, prepared)
    }

    /// Searches a multi-finger probe (`(position, template)` per finger): fused pre-filter over the subjects,
    /// then full comparison of the shortlisted subjects. Best `top_k` subjects first.
    #[must_use]
    pub fn search(
        &self,
        probe: &[(u8, Template)],
        top_k: usize,
        params: SubjectSearchParams,
    ) -> Vec<SubjectCandidate<S>> {
        if probe.is_empty() || self.entries.is_empty() {
            return Vec::new();
        }
        let (fused, prepared) = self.fused_prefilter(probe, params.threads);
        // Shortlist the best subjects still present.
        let mut ranked: Vec<(f32, u32)> = self
            .entries
            .keys()
            .map(|&s| (fused.get(s as usize).copied().unwrap_or(0.0), s))
            .collect();
        let keep = params.subjects_for(probe.len()).min(ranked.len());
        let pivot = ranked.len() - keep;
        ranked.select_nth_unstable_by(pivot, |a, b| a.0.total_cmp(&b.0));
        let shortlist = &ranked[pivot..];

        // Full comparison of the shortlist, split over the threads.
        let chunk = shortlist.len().div_ceil(params.threads.max(1)).max(1);
        let prepared = &prepared;
        let mut out: Vec<SubjectCandidate<S>> = std::thread::scope(|scope| {
            let workers: Vec<_> = shortlist
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .filter_map(|&(prefilter, s)| {
                                let per_finger: Vec<f32> = probe
                                    .iter()
                                    .zip(prepared)
                                    .map(|((position, _), cylinders)| {
                                        cylinders
                                            .as_ref()
                                            .map_or(0.0, |c| self.verify(s, *position, c))
                                    })
                                    .collect();
                                let score = per_finger.iter().sum::<f32>() / probe.len() as f32;
                                Some(SubjectCandidate {
                                    subject: self.subjects.get(s as usize)?.clone()?,
                                    score,
                                    per_finger,
                                    prefilter,
                                })
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .filter_map(|w| w.join().ok())
                .flatten()
                .collect()
        });
        out.sort_by(|a, b| b.score.total_cmp(&a.score));
        out.truncate(top_k);
        out
    }
}

impl<S: Clone + Eq + Hash + Send + Sync> Default for SubjectGallery<S> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::Minutia;
    use crate::test_util::random_template;

    /// A new impression: turned, shifted, with every fifth minutia lost.
    fn impression(t: &Template, angle: f32) -> Template {
        let (c, s) = (angle.cos(), angle.sin());
        let mut out = t.clone();
        out.minutiae = t
            .minutiae
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 5 != 4)
            .map(|(_, m)| {
                let (x, y) = (m.x - 150.0, m.y - 150.0);
                Minutia {
                    x: 150.0 + x * c + y * s + 6.0,
                    y: 150.0 - x * s + y * c - 4.0,
                    angle: crate::wrap_angle(m.angle + angle),
                    ..*m
                }
            })
            .collect();
        out
    }

    fn finger(subject: u64, position: u8) -> Template {
        random_template(subject * 100 + u64::from(position), 30)
    }

    fn gallery(subjects: u64, compact: bool) -> SubjectGallery<u64> {
        let mut g = if compact {
            SubjectGallery::compact()
        } else {
            SubjectGallery::new()
        };
        for s in 0..subjects {
            for position in 1..=4 {
                g.add(s, position, finger(s, position));
            }
        }
        g
    }

    #[test]
    fn fewer_probe_fingers_shortlist_more_subjects_for_the_same_budget() {
        let params = SubjectSearchParams {
            shortlist: 50,
            threads: 1,
        };
        assert_eq!(params.subjects_for(10), 50);
        assert_eq!(params.subjects_for(4), 125);
        assert_eq!(params.subjects_for(2), 250);
        assert_eq!(params.subjects_for(1), 500);
        // More than ten probe fingers (several impressions) never shortlist fewer than `shortlist`.
        assert_eq!(params.subjects_for(14), 50);
        assert_eq!(params.subjects_for(0), 500);
    }

    #[test]
    fn finds_the_mated_subject_through_a_short_shortlist() {
        let g = gallery(120, true);
        assert_eq!((g.len(), g.subjects()), (480, 120));
        let probe: Vec<(u8, Template)> = (1..=4)
            .map(|p| (p, impression(&finger(77, p), 0.3)))
            .collect();
        let params = SubjectSearchParams {
            shortlist: 5,
            threads: 2,
        };
        let hits = g.search(&probe, 3, params);
        assert_eq!(hits.first().map(|c| c.subject), Some(77));
        let top = &hits[0];
        assert_eq!(top.per_finger.len(), 4);
        // Every finger of the mate verifies, and the mate is far ahead of the next subject.
        assert!(top.per_finger.iter().all(|&s| s > 0.1), "{top:?}");
        assert!(hits.get(1).is_none_or(|c| c.score * 3.0 < top.score));
    }

    #[test]
    fn positions_are_kept_apart_unless_unknown() {
        let g = gallery(30, false);
        // Subject 5's finger 1 presented as finger 2: no entry of position 2 matches it.
        let wrong = vec![(2u8, impression(&finger(5, 1), 0.1))];
        let hits = g.search(&wrong, 1, SubjectSearchParams::default());
        assert!(
            hits.first().is_none_or(|c| c.best_finger() < 0.1),
            "{hits:?}"
        );
        // Unknown position searches every partition.
        let unknown = vec![(UNKNOWN_POSITION, impression(&finger(5, 1), 0.1))];
        let hits = g.search(&unknown, 1, SubjectSearchParams::default());
        assert_eq!(hits.first().map(|c| c.subject), Some(5));
    }

    #[test]
    fn removed_subjects_are_never_returned() {
        let mut g = gallery(20, false);
        assert_eq!(g.remove_subject(&7), 4);
        assert_eq!(g.remove_subject(&7), 0);
        assert_eq!(g.subjects(), 19);
        let probe = vec![(1u8, impression(&finger(7, 1), 0.2))];
        let hits = g.search(&probe, 20, SubjectSearchParams::default());
        assert!(hits.iter().all(|c| c.subject != 7));
        assert_eq!(hits.len(), 19);
    }

    #[test]
    fn empty_probe_or_gallery_finds_nothing() {
        let g: SubjectGallery<u64> = SubjectGallery::new();
        assert!(
            g.search(&[(1, finger(1, 1))], 5, SubjectSearchParams::default())
                .is_empty()
        );
        assert!(
            gallery(3, false)
                .search(&[], 5, SubjectSearchParams::default())
                .is_empty()
        );
    }
}
