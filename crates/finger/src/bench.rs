//! Throughput measurement behind `garita bench finger` and `cargo bench -p garita-finger`.
//!
//! Galleries larger than the real data are grown from real templates by random rigid transforms (rotation
//! ±π, translation ±40 px) and minutia dropout (10–30 %), as the issue asks. Grown entries derived from one
//! finger are near-copies of it, so these galleries measure time and memory, not accuracy; the pre-filter's
//! accuracy is measured on real sets by `examples/prefilter.rs`. When NIST NBIS `bozorth3` is available
//! ([`crate::find_bozorth3`]), the seeds are also compared by it and by MCC on the same pairs ([`crate::bench_bozorth3`]).

use std::time::Instant;

use serde::Serialize;

use crate::gallery::{Gallery, SearchParams, Signature};
use crate::mcc::{MccTemplate, compare};
use crate::nbis::{Bozorth3Status, bozorth3_status};
use crate::subjects::{SubjectGallery, SubjectSearchParams};
use crate::template::{Template, wrap_angle};

/// Timings for one gallery size.
#[derive(Clone, Debug, Serialize)]
pub struct GalleryBench {
    /// Templates in the gallery.
    pub size: usize,
    /// Seconds to enrol them (signature computation), all threads.
    pub enrol_s: f64,
    /// Mean single-finger search time, milliseconds, one core.
    pub search_ms: f64,
    /// Measured wall time of a 10-finger probe split over two threads, seconds.
    pub ten_finger_probe_s: f64,
    /// Approximate bytes per gallery template.
    pub bytes_per_template: usize,
    /// Gallery entries scored per second by the pre-filter scan (signature scoring plus shortlist selection),
    /// one core.
    pub scan_per_s: f64,
}

/// Result of [`run_bench`].
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// Real templates the galleries were grown from.
    pub seed_templates: usize,
    /// Mean minutiae per seed template.
    pub mean_minutiae: f64,
    /// Cylinder preparation per template, microseconds.
    pub prepare_us: f64,
    /// Full MCC 1:1 comparisons per second on one core.
    pub mcc_per_s: f64,
    /// Pre-filter (signature) comparisons per second on one core: the index's inner loop.
    pub prefilter_per_s: f64,
    /// Bytes of a prepared (cylinder) template, mean.
    pub prepared_bytes: usize,
    /// Shortlist used by the searches.
    pub shortlist: usize,
    /// NIST NBIS bozorth3 timed on the same seed templates, when an executable is available
    /// ([`crate::find_bozorth3`]).
    pub bozorth3: Bozorth3Status,
    /// Per gallery size.
    pub galleries: Vec<GalleryBench>,
}

/// Small deterministic generator (xorshift64*), so runs are repeatable without a rand dependency.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A random rigid transform of `t` with some minutiae dropped.
fn perturb(t: &Template, rng: &mut Rng) -> Template {
    let angle = (rng.unit() * 2.0 - 1.0) * std::f32::consts::PI;
    let (dx, dy) = (
        (rng.unit() * 2.0 - 1.0) * 40.0,
        (rng.unit() * 2.0 - 1.0) * 40.0,
    );
    let drop = 0.1 + 0.2 * rng.unit();
    let (cx, cy) = (t.width as f32 / 2.0, t.height as f32 / 2.0);
    let (c, s) = (angle.cos(), angle.sin());
    let mut out = t.clone();
    out.minutiae.clear();
    for m in &t.minutiae {
        if rng.unit() < drop {
            continue;
        }
        let (x, y) = (m.x - cx, m.y - cy);
        let mut moved = *m;
        // Counter-clockwise on screen with y down.
        moved.x = (cx + x * c + y * s + dx).max(0.0);
        moved.y = (cy - x * s + y * c + dy).max(0.0);
        moved.angle = wrap_angle(m.angle + angle);
        out.minutiae.push(moved);
    }
    out
}

/// Runs the benchmark on `seeds` (real templates) for the given gallery sizes.
#[must_use]
pub fn run_bench(seeds: &[Template], sizes: &[usize], shortlist: usize) -> BenchReport {
    let n_seeds = seeds.len().max(1);
    let mean_minutiae =
        seeds.iter().map(|t| t.minutiae.len()).sum::<usize>() as f64 / n_seeds as f64;
    let start = Instant::now();
    let prepared: Vec<MccTemplate> = seeds.iter().map(MccTemplate::new).collect();
    let prepare_us = start.elapsed().as_secs_f64() * 1e6 / n_seeds as f64;
    let prepared_bytes = prepared
        .iter()
        .map(MccTemplate::memory_bytes)
        .sum::<usize>()
        / n_seeds;

    // 1:1: all pairs of the seeds, bounded to about two seconds.
    let mut n_compares = 0u64;
    let mut sink = 0.0f32;
    let start = Instant::now();
    'outer: for a in &prepared {
        for b in &prepared {
            sink += compare(a, b);
            n_compares += 1;
            if n_compares.is_multiple_of(256) && start.elapsed().as_secs_f64() > 2.0 {
                break 'outer;
            }
        }
    }
    let mcc_per_s = n_compares as f64 / start.elapsed().as_secs_f64().max(1e-9);
    let bozorth3 = bozorth3_status(seeds);

    // Pre-filter inner loop: one probe signature against a million-entry array.
    let signatures: Vec<Signature> = seeds
        .iter()
        .zip(&prepared)
        .map(|(t, p)| Signature::with_prepared(t, p))
        .collect();
    let mut total = 0u64;
    let rounds = 1_000_000 / signatures.len().max(1) + 1;
    let start = Instant::now();
    if let Some(probe) = signatures.first() {
        for _ in 0..rounds {
            for s in &signatures {
                total += u64::from(std::hint::black_box(probe).common(s));
            }
        }
    }
    let prefilter_per_s =
        (rounds * signatures.len()) as f64 / start.elapsed().as_secs_f64().max(1e-9);
    std::hint::black_box((sink, total));

    let params = SearchParams {
        shortlist,
        shortlist_fraction: 0.0,
    };
    let mut galleries = Vec::new();
    for &size in sizes {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ size as u64);
        let start = Instant::now();
        let grown: Vec<Template> = (0..size)
            .map(|k| perturb(&seeds[k % n_seeds], &mut rng))
            .collect();
        let gallery = build_parallel(grown, size <= 100_000);
        let enrol_s = start.elapsed().as_secs_f64();
        let probes: Vec<Template> = (0..10)
            .map(|k| perturb(&seeds[(k * 7) % n_seeds], &mut rng))
            .collect();
        let start = Instant::now();
        for p in &probes {
            std::hint::black_box(gallery.search(p, 10, params));
        }
        let search_ms = start.elapsed().as_secs_f64() * 1e3 / probes.len() as f64;
        let start = Instant::now();
        std::thread::scope(|scope| {
            for half in probes.chunks(5) {
                let gallery = &gallery;
                scope.spawn(move || {
                    for p in half {
                        std::hint::black_box(gallery.search(p, 10, params));
                    }
                });
            }
        });
        let ten_finger_probe_s = start.elapsed().as_secs_f64();
        let probe_signatures: Vec<Signature> = probes.iter().map(Signature::new).collect();
        let start = Instant::now();
        for sig in &probe_signatures {
            std::hint::black_box(gallery.shortlist(sig, shortlist));
        }
        let scan_per_s =
            (size * probe_signatures.len()) as f64 / start.elapsed().as_secs_f64().max(1e-9);
        galleries.push(GalleryBench {
            size,
            enrol_s,
            search_ms,
            ten_finger_probe_s,
            bytes_per_template: gallery.memory_per_template(),
            scan_per_s,
        });
    }
    BenchReport {
        seed_templates: seeds.len(),
        mean_minutiae,
        prepare_us,
        mcc_per_s,
        prefilter_per_s,
        prepared_bytes,
        shortlist,
        bozorth3,
        galleries,
    }
}

/// Enrols on two threads (the target machine's core count) and merges. Galleries above 100k templates are
/// built [`Gallery::compact`] so a million entries fit in memory.
fn build_parallel(templates: Vec<Template>, keep_cylinders: bool) -> Gallery<u32> {
    let half = templates.len() / 2;
    let mut second = templates;
    let first: Vec<Template> = second.drain(..half).collect();
    let prepare = |ts: &[Template]| {
        ts.iter()
            .map(|t| {
                let p = MccTemplate::new(t);
                let s = Signature::with_prepared(t, &p);
                (keep_cylinders.then_some(p), s)
            })
            .collect::<Vec<_>>()
    };
    let (prep_a, prep_b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| prepare(&first));
        let b = prepare(&second);
        (a.join().unwrap_or_default(), b)
    });
    let mut gallery = if keep_cylinders {
        Gallery::new()
    } else {
        Gallery::compact()
    };
    let entries = first
        .into_iter()
        .zip(prep_a)
        .chain(second.into_iter().zip(prep_b));
    for (id, (t, (p, s))) in (0u32..).zip(entries) {
        let p = p.unwrap_or_else(|| MccTemplate::from_points(Vec::new()));
        gallery.add_prepared(id, t, p, s);
    }
    gallery
}

/// Timings of multi-finger subject search for one gallery size ([`run_subject_bench`]).
#[derive(Clone, Debug, Serialize)]
pub struct SubjectBench {
    /// Subjects in the gallery.
    pub subjects: usize,
    /// Finger positions per subject (templates = subjects × fingers).
    pub fingers: usize,
    /// Templates in the gallery.
    pub templates: usize,
    /// Seconds to fill the gallery (entries copied from the prepared pool).
    pub build_s: f64,
    /// Mean wall time of one multi-finger probe (all fingers), seconds, on `threads` threads.
    pub probe_s: f64,
    /// Slowest probe, seconds.
    pub probe_max_s: f64,
    /// Threads used by a search.
    pub threads: usize,
    /// Subjects compared in full per ten-finger probe (`SubjectSearchParams::shortlist`).
    pub shortlist: usize,
    /// Approximate bytes per template held by the (compact) gallery.
    pub bytes_per_template: usize,
    /// Probes of one and two fingers (mobile terminals) against the same gallery: they scan fewer entries
    /// and shortlist more subjects ([`SubjectSearchParams::subjects_for`]).
    pub fewer_fingers: Vec<ProbeTiming>,
}

/// Wall time of probes with a given number of fingers.
#[derive(Clone, Debug, Serialize)]
pub struct ProbeTiming {
    /// Fingers in the probe.
    pub fingers: usize,
    /// Subjects shortlisted and compared in full.
    pub subjects_compared: usize,
    /// Mean seconds per probe, on the gallery's threads.
    pub probe_s: f64,
    /// Slowest probe, seconds.
    pub probe_max_s: f64,
}

/// Result of [`run_subject_bench`].
#[derive(Clone, Debug, Serialize)]
pub struct SubjectBenchReport {
    /// Distinct grown templates the gallery entries are copied from.
    pub pool: usize,
    /// Seconds to prepare the pool (cylinders and signatures), all threads.
    pub pool_s: f64,
    /// Per gallery size.
    pub galleries: Vec<SubjectBench>,
}

/// Times 10-finger searches of a [`SubjectGallery::compact`] holding `subjects` people with `fingers` templates
/// each. Preparing cylinders for ten million templates would take hours, so entries are copies (signature and
/// minutiae) of a pool of `pool` templates grown from the real seeds: every entry still has its own signature in
/// the scanned array and its own minutiae, so scan and verification cost what they would on distinct prints.
/// Like [`run_bench`], this measures time and memory, not accuracy.
#[must_use]
pub fn run_subject_bench(
    seeds: &[Template],
    subjects: &[usize],
    fingers: usize,
    pool: usize,
    params: SubjectSearchParams,
) -> SubjectBenchReport {
    let n_seeds = seeds.len().max(1);
    let fingers = fingers.clamp(1, 10);
    let mut rng = Rng(0x5EED_F1E6_0000_0001);
    let grown: Vec<Template> = (0..pool.max(1))
        .map(|k| perturb(&seeds[k % n_seeds], &mut rng))
        .collect();
    let start = Instant::now();
    let prepared = prepare_parallel(&grown);
    let pool_s = start.elapsed().as_secs_f64();
    let mut galleries = Vec::new();
    for &n in subjects {
        let start = Instant::now();
        let mut gallery = SubjectGallery::compact();
        for subject in 0..n as u64 {
            for position in 1..=fingers as u8 {
                let k = (rng.next_u64() % grown.len() as u64) as usize;
                gallery.add_prepared(
                    subject,
                    position,
                    grown[k].clone(),
                    MccTemplate::from_points(Vec::new()),
                    prepared[k],
                );
            }
        }
        let build_s = start.elapsed().as_secs_f64();
        let mut time_probes = |k: usize| {
            let mut times = Vec::new();
            for _ in 0..5 {
                let probe: Vec<(u8, Template)> = (1..=k as u8)
                    .map(|position| {
                        let seed = &seeds[(rng.next_u64() % n_seeds as u64) as usize];
                        (position, perturb(seed, &mut rng))
                    })
                    .collect();
                let start = Instant::now();
                std::hint::black_box(gallery.search(&probe, 10, params));
                times.push(start.elapsed().as_secs_f64());
            }
            ProbeTiming {
                fingers: k,
                subjects_compared: params.subjects_for(k).min(n),
                probe_s: times.iter().sum::<f64>() / times.len() as f64,
                probe_max_s: times.iter().copied().fold(0.0, f64::max),
            }
        };
        let full = time_probes(fingers);
        let fewer_fingers = [1, 2]
            .into_iter()
            .filter(|&k| k < fingers)
            .map(&mut time_probes)
            .collect();
        galleries.push(SubjectBench {
            subjects: n,
            fingers,
            templates: gallery.len(),
            build_s,
            probe_s: full.probe_s,
            probe_max_s: full.probe_max_s,
            threads: params.threads,
            shortlist: params.shortlist,
            bytes_per_template: gallery.memory_per_template(),
            fewer_fingers,
        });
    }
    SubjectBenchReport {
        pool: grown.len(),
        pool_s,
        galleries,
    }
}

/// Signatures of `templates`, computed on two threads.
fn prepare_parallel(templates: &[Template]) -> Vec<Signature> {
    let (first, second) = templates.split_at(templates.len() / 2);
    let sign = |ts: &[Template]| ts.iter().map(Signature::new).collect::<Vec<_>>();
    std::thread::scope(|scope| {
        let a = scope.spawn(|| sign(first));
        let b = sign(second);
        let mut out = a.join().unwrap_or_default();
        out.extend(b);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::random_template;

    #[test]
    fn subject_bench_times_full_and_fewer_finger_probes_on_the_gallery_it_built() {
        let seeds: Vec<Template> = (0..6).map(|k| random_template(k, 30)).collect();
        let params = SubjectSearchParams {
            shortlist: 4,
            threads: 1,
        };
        let report = run_subject_bench(&seeds, &[30], 10, 12, params);
        assert_eq!(report.pool, 12);
        let [gallery] = &report.galleries[..] else {
            panic!(
                "one gallery size asked, {} reported",
                report.galleries.len()
            );
        };
        assert_eq!((gallery.subjects, gallery.templates), (30, 300));
        assert!(gallery.probe_s > 0.0 && gallery.probe_max_s >= gallery.probe_s);
        // One- and two-finger probes shortlist more subjects for the same budget, capped by the gallery.
        let fewer: Vec<(usize, usize)> = gallery
            .fewer_fingers
            .iter()
            .map(|p| (p.fingers, p.subjects_compared))
            .collect();
        assert_eq!(fewer, vec![(1, 30), (2, 20)]);
        assert!(
            gallery
                .fewer_fingers
                .iter()
                .all(|p| p.probe_max_s >= p.probe_s && p.probe_s > 0.0)
        );
    }
}
