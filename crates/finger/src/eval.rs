//! Offline accuracy evaluation on a folder of `<finger>_<impression>.<ext>` images.
//!
//! Two protocols are run on the same scores:
//! - **all pairs** (as in the shared `BASELINE.md` for NBIS): every i<j pair, genuine when the finger matches;
//! - **FVC** (Maio et al., "FVC2000: Fingerprint Verification Competition", IEEE TPAMI 24(3), 2002, §3):
//!   genuine = all impression pairs of a finger, impostor = first impressions of different fingers.
//!
//! EER follows the FVC2000 definition (midpoint of [EERlow, EERhigh]); FMR100 / FMR1000 are the lowest FNMR at
//! FMR ≤ 1 % / 0.1 %. An image that fails extraction scores 0 against everything (counted as a reject, as FVC
//! does for failures to enrol).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::mcc::{MccTemplate, compare};
use crate::{FingerError, extract, load_image};

/// Error rates of one protocol, in percent.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Rates {
    /// Number of genuine comparisons.
    pub genuine: usize,
    /// Number of impostor comparisons.
    pub impostor: usize,
    /// Equal error rate (FVC2000 definition), %.
    pub eer: f64,
    /// Lowest FNMR with FMR ≤ 1 %, %.
    pub fmr100: f64,
    /// Lowest FNMR with FMR ≤ 0.1 %, %.
    pub fmr1000: f64,
    /// Lowest FNMR with no accepted impostor, %.
    pub zero_fmr: f64,
    /// 95 % interval of the EER when the fingers of the set are resampled with replacement (bootstrap over
    /// fingers, [`BOOTSTRAP_ROUNDS`] rounds), %; `None` when not computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eer_interval: Option<[f64; 2]>,
}

/// Resampling rounds of the EER interval.
pub const BOOTSTRAP_ROUNDS: usize = 1000;

/// Result of [`eval_dir`].
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    /// The folder evaluated.
    pub dir: PathBuf,
    /// Images found.
    pub images: usize,
    /// Images whose extraction failed (they score 0 in every pair).
    pub failures: Vec<String>,
    /// Mean minutiae per successfully extracted image.
    pub mean_minutiae: f64,
    /// Mean extraction time per image, milliseconds (one core).
    pub extract_ms: f64,
    /// Mean time per 1:1 comparison of prepared templates, microseconds (one core).
    pub compare_us: f64,
    /// All i<j pairs protocol (the NBIS baseline's).
    pub all_pairs: Rates,
    /// FVC2000 protocol.
    pub fvc: Rates,
    /// Where the all-pairs errors come from.
    pub errors: ErrorSources,
    /// Impostor scores of the all-pairs protocol, for threshold calibration.
    #[serde(skip)]
    pub impostor_scores: Vec<f32>,
    /// Genuine scores of the all-pairs protocol.
    #[serde(skip)]
    pub genuine_scores: Vec<f32>,
}

/// One compared pair of images and its score.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PairScore {
    /// First image's file name (the probe).
    pub a: String,
    /// Second image's file name.
    pub b: String,
    /// The comparison score.
    pub score: f32,
}

/// Where a set's errors come from (all-pairs protocol): what a new sensor's evaluation needs to look at first.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ErrorSources {
    /// The decision threshold at FMR ≤ 1 % (the one FMR100 is read at): at most 1 % of impostor pairs score at
    /// or above it.
    pub fmr100_threshold: f32,
    /// Genuine pairs rejected at that threshold, per finger: (finger, rejected, genuine pairs), most first.
    pub rejected_by_finger: Vec<(String, usize, usize)>,
    /// The lowest-scoring genuine pairs, lowest first.
    pub lowest_genuine: Vec<PairScore>,
    /// The highest-scoring impostor pairs, highest first.
    pub highest_impostor: Vec<PairScore>,
}

/// Pairs listed in each of [`ErrorSources`]' lists.
const LISTED_PAIRS: usize = 10;

/// The error sources of scored pairs: `(score, i, j, genuine)` over `names` and the `fingers` of the images.
fn error_sources(
    pairs: &[(f32, usize, usize, bool)],
    names: &[String],
    fingers: &[String],
) -> ErrorSources {
    let mut impostor: Vec<f32> = pairs.iter().filter(|p| !p.3).map(|p| p.0).collect();
    impostor.sort_by(|x, y| y.total_cmp(x));
    // The lowest threshold that accepts at most 1 % of impostors: just above the first impostor score that
    // would exceed the allowance (the next higher score of any pair), as `rates` chooses it for FMR100.
    let allowed = impostor.len() / 100;
    let threshold = match impostor.get(allowed) {
        None => f32::NEG_INFINITY,
        Some(&cut) => pairs
            .iter()
            .map(|p| p.0)
            .filter(|s| *s > cut)
            .fold(f32::INFINITY, f32::min),
    };
    let mut by_finger: Vec<(String, usize, usize)> = Vec::new();
    for &(score, i, _, genuine) in pairs {
        if !genuine {
            continue;
        }
        let slot = match by_finger.iter().position(|f| f.0 == fingers[i]) {
            Some(k) => k,
            None => {
                by_finger.push((fingers[i].clone(), 0, 0));
                by_finger.len() - 1
            }
        };
        by_finger[slot].2 += 1;
        if score < threshold {
            by_finger[slot].1 += 1;
        }
    }
    by_finger.retain(|f| f.1 > 0);
    by_finger.sort_by(|x, y| y.1.cmp(&x.1).then_with(|| x.0.cmp(&y.0)));
    let listed = |genuine: bool| {
        let mut chosen: Vec<&(f32, usize, usize, bool)> =
            pairs.iter().filter(|p| p.3 == genuine).collect();
        if genuine {
            chosen.sort_by(|x, y| x.0.total_cmp(&y.0));
        } else {
            chosen.sort_by(|x, y| y.0.total_cmp(&x.0));
        }
        chosen
            .into_iter()
            .take(LISTED_PAIRS)
            .map(|&(score, i, j, _)| PairScore {
                a: names[i].clone(),
                b: names[j].clone(),
                score,
            })
            .collect()
    };
    ErrorSources {
        fmr100_threshold: threshold,
        rejected_by_finger: by_finger,
        lowest_genuine: listed(true),
        highest_impostor: listed(false),
    }
}

struct Sample {
    name: String,
    finger: String,
    impression: u32,
    template: Option<MccTemplate>,
}

/// Parses `<finger>_<impression>.<ext>`.
fn parse_name(path: &Path) -> Option<(String, u32)> {
    let stem = path.file_stem()?.to_str()?;
    let (finger, impression) = stem.rsplit_once('_')?;
    Some((finger.to_owned(), impression.parse().ok()?))
}

/// One image of an evaluation set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetImage {
    /// The image file.
    pub path: PathBuf,
    /// The finger id (the name before the last `_`).
    pub finger: String,
    /// The impression number (the name after the last `_`).
    pub impression: u32,
}

/// The `<finger>_<impression>.{png,tif,tiff,bmp,wsq}` images of `dir`, in finger order (numeric when the ids are
/// numbers, so "first impression" is stable) and impression order. Other files are skipped.
///
/// # Errors
/// [`FingerError::Io`] when the folder cannot be listed.
pub fn set_images(dir: &Path) -> Result<Vec<SetImage>, FingerError> {
    let mut images: Vec<SetImage> = std::fs::read_dir(dir)
        .map_err(|source| FingerError::Io {
            path: dir.to_owned(),
            source,
        })?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                matches!(
                    e.to_ascii_lowercase().as_str(),
                    "png" | "tif" | "tiff" | "bmp" | "wsq"
                )
            })
        })
        .filter_map(|path| {
            let (finger, impression) = parse_name(&path)?;
            Some(SetImage {
                path,
                finger,
                impression,
            })
        })
        .collect();
    images.sort_by_cached_key(|i| {
        (
            i.finger.parse::<u64>().unwrap_or(u64::MAX),
            i.finger.clone(),
            i.impression,
        )
    });
    Ok(images)
}

/// Runs both protocols on every `<finger>_<impression>.{png,tif,tiff,bmp,wsq}` image in `dir`.
///
/// # Errors
/// [`FingerError::Io`] when the folder cannot be listed, [`FingerError::BadEvalSet`] when it holds fewer than
/// two fingers or no finger with two impressions.
pub fn eval_dir(dir: &Path) -> Result<EvalReport, FingerError> {
    let images = set_images(dir)?;
    let mut samples = Vec::with_capacity(images.len());
    let mut failures = Vec::new();
    let mut n_minutiae = 0usize;
    let start = Instant::now();
    for SetImage {
        path,
        finger,
        impression,
    } in images
    {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let template = std::fs::read(&path)
            .map_err(|source| FingerError::Io {
                path: path.clone(),
                source,
            })
            .and_then(|bytes| load_image(&bytes, None))
            .and_then(|img| extract(&img));
        let template = match template {
            Ok(t) => {
                n_minutiae += t.minutiae.len();
                Some(MccTemplate::new(&t))
            }
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                None
            }
        };
        samples.push(Sample {
            name,
            finger,
            impression,
            template,
        });
    }
    let extract_ms = start.elapsed().as_secs_f64() * 1e3 / samples.len().max(1) as f64;
    let n_fingers = {
        let mut f: Vec<&str> = samples.iter().map(|s| s.finger.as_str()).collect();
        f.dedup();
        f.len()
    };
    if n_fingers < 2 {
        return Err(FingerError::BadEvalSet {
            path: dir.to_owned(),
            reason: format!(
                "{} images of {n_fingers} finger(s); need at least two fingers",
                samples.len()
            ),
        });
    }
    let score = |a: &Sample, b: &Sample| match (&a.template, &b.template) {
        (Some(ta), Some(tb)) => compare(ta, tb),
        _ => 0.0,
    };
    let mut genuine = Vec::new();
    let mut impostor = Vec::new();
    let mut fvc_impostor = Vec::new();
    let finger_ids = finger_indices(&samples);
    let mut scored: Vec<ScoredPair> = Vec::new();
    let mut listed: Vec<(f32, usize, usize, bool)> = Vec::new();
    let mut n_compares = 0usize;
    let start = Instant::now();
    for i in 0..samples.len() {
        for j in i + 1..samples.len() {
            let (a, b) = (&samples[i], &samples[j]);
            let s = score(a, b);
            n_compares += 1;
            scored.push(ScoredPair {
                score: s,
                fingers: (finger_ids[i], finger_ids[j]),
                fvc: a.finger == b.finger || (is_first(&samples, i) && is_first(&samples, j)),
            });
            listed.push((s, i, j, a.finger == b.finger));
            if a.finger == b.finger {
                genuine.push(s);
            } else {
                impostor.push(s);
                if is_first(&samples, i) && is_first(&samples, j) {
                    fvc_impostor.push(s);
                }
            }
        }
    }
    let compare_us = start.elapsed().as_secs_f64() * 1e6 / n_compares.max(1) as f64;
    if genuine.is_empty() {
        return Err(FingerError::BadEvalSet {
            path: dir.to_owned(),
            reason: "no finger has two impressions".to_owned(),
        });
    }
    let n_ok = samples.iter().filter(|s| s.template.is_some()).count();
    let n_fingers = finger_ids.iter().max().map_or(0, |m| m + 1);
    let mut all_pairs = rates(&genuine, &impostor);
    all_pairs.eer_interval = Some(eer_interval(&scored, n_fingers, false));
    let mut fvc = rates(&genuine, &fvc_impostor);
    fvc.eer_interval = Some(eer_interval(&scored, n_fingers, true));
    Ok(EvalReport {
        dir: dir.to_owned(),
        images: samples.len(),
        failures,
        mean_minutiae: n_minutiae as f64 / n_ok.max(1) as f64,
        extract_ms,
        compare_us,
        all_pairs,
        fvc,
        errors: error_sources(
            &listed,
            &samples.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            &samples.iter().map(|s| s.finger.clone()).collect::<Vec<_>>(),
        ),
        impostor_scores: impostor,
        genuine_scores: genuine,
    })
}

/// One compared pair, for the bootstrap.
struct ScoredPair {
    score: f32,
    fingers: (usize, usize),
    /// Whether the FVC protocol uses this pair.
    fvc: bool,
}

/// Dense finger index (0, 1, …) of every sample.
fn finger_indices(samples: &[Sample]) -> Vec<usize> {
    let mut names: Vec<&str> = Vec::new();
    samples
        .iter()
        .map(|s| {
            names
                .iter()
                .position(|n| *n == s.finger)
                .unwrap_or_else(|| {
                    names.push(&s.finger);
                    names.len() - 1
                })
        })
        .collect()
}

/// 95 % bootstrap interval of the EER: the set's fingers are drawn with replacement; a pair weighs the product
/// of its two fingers' draw counts (a genuine pair: its finger's count), so the interval shows how much the EER
/// depends on which fingers happened to be in the set. Deterministic (fixed seed).
fn eer_interval(pairs: &[ScoredPair], n_fingers: usize, fvc_only: bool) -> [f64; 2] {
    let mut order: Vec<&ScoredPair> = pairs.iter().filter(|p| !fvc_only || p.fvc).collect();
    order.sort_by(|a, b| a.score.total_cmp(&b.score));
    let mut rng = crate::rng::XorShift64::new(0x9E37_79B9_7F4A_7C15);
    let mut next = move || rng.next_u64();
    let mut eers = Vec::with_capacity(BOOTSTRAP_ROUNDS);
    let mut counts = vec![0.0f64; n_fingers];
    for _ in 0..BOOTSTRAP_ROUNDS {
        counts.iter_mut().for_each(|c| *c = 0.0);
        for _ in 0..n_fingers {
            counts[(next() % n_fingers.max(1) as u64) as usize] += 1.0;
        }
        let weight = |p: &ScoredPair| {
            if p.fingers.0 == p.fingers.1 {
                counts[p.fingers.0]
            } else {
                counts[p.fingers.0] * counts[p.fingers.1]
            }
        };
        let total_gen: f64 = order
            .iter()
            .filter(|p| p.fingers.0 == p.fingers.1)
            .map(|p| weight(p))
            .sum();
        let total_imp: f64 = order
            .iter()
            .filter(|p| p.fingers.0 != p.fingers.1)
            .map(|p| weight(p))
            .sum();
        if total_gen <= 0.0 || total_imp <= 0.0 {
            continue;
        }
        // Sweep the threshold upwards: below it genuine pairs are rejected, at or above it impostors accepted.
        let (mut rejected, mut accepted) = (0.0f64, total_imp);
        let mut best = (f64::INFINITY, 0.0f64);
        let mut k = 0;
        while k < order.len() {
            let fnmr = rejected / total_gen;
            let fmr = accepted / total_imp;
            if (fnmr - fmr).abs() < best.0 {
                best = ((fnmr - fmr).abs(), (fnmr + fmr) / 2.0);
            }
            // Move past every pair with this score at once (ties).
            let score = order[k].score;
            while k < order.len() && order[k].score == score {
                let p = order[k];
                if p.fingers.0 == p.fingers.1 {
                    rejected += weight(p);
                } else {
                    accepted -= weight(p);
                }
                k += 1;
            }
        }
        eers.push(100.0 * best.1);
    }
    eers.sort_by(f64::total_cmp);
    let at = |q: f64| {
        eers.get(((eers.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    [at(0.025), at(0.975)]
}

/// Whether sample `idx` is the lowest-numbered impression of its finger.
fn is_first(samples: &[Sample], idx: usize) -> bool {
    let s = &samples[idx];
    !samples
        .iter()
        .any(|o| o.finger == s.finger && o.impression < s.impression)
}

/// Error rates from genuine and impostor scores (accept when score ≥ threshold).
#[must_use]
pub fn rates(genuine: &[f32], impostor: &[f32]) -> Rates {
    let mut thresholds: Vec<f32> = genuine.iter().chain(impostor).copied().collect();
    thresholds.push(f32::INFINITY);
    thresholds.push(f32::NEG_INFINITY);
    thresholds.sort_by(f32::total_cmp);
    thresholds.dedup();
    let fmr =
        |t: f32| impostor.iter().filter(|s| **s >= t).count() as f64 / impostor.len().max(1) as f64;
    let fnmr =
        |t: f32| genuine.iter().filter(|s| **s < t).count() as f64 / genuine.len().max(1) as f64;
    // FVC2000 EER: t1 = max{t: FNMR ≤ FMR}, t2 = min{t: FNMR ≥ FMR}.
    let t1 = thresholds
        .iter()
        .copied()
        .filter(|t| fnmr(*t) <= fmr(*t))
        .fold(f32::NEG_INFINITY, f32::max);
    let t2 = thresholds
        .iter()
        .copied()
        .filter(|t| fnmr(*t) >= fmr(*t))
        .fold(f32::INFINITY, f32::min);
    let (low, high) = if fnmr(t1) + fmr(t1) <= fmr(t2) + fnmr(t2) {
        (fnmr(t1), fmr(t1))
    } else {
        (fmr(t2), fnmr(t2))
    };
    let best_fnmr_at = |max_fmr: f64| {
        thresholds
            .iter()
            .filter(|t| fmr(**t) <= max_fmr)
            .map(|t| fnmr(*t))
            .fold(1.0f64, f64::min)
    };
    Rates {
        genuine: genuine.len(),
        impostor: impostor.len(),
        eer: 100.0 * (low + high) / 2.0,
        fmr100: 100.0 * best_fnmr_at(0.01),
        fmr1000: 100.0 * best_fnmr_at(0.001),
        zero_fmr: 100.0 * best_fnmr_at(0.0),
        eer_interval: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_sources_reject_what_fmr100_rejects_and_name_the_pairs() {
        // 4 fingers × 5 impressions with random scores: genuine pairs higher on average, finger "c" weak.
        let fingers: Vec<String> = (0..20)
            .map(|k| ["a", "b", "c", "d"][k / 5].to_owned())
            .collect();
        let names: Vec<String> = (0..20)
            .map(|k| format!("{}_{}", fingers[k], k % 5 + 1))
            .collect();
        let mut rng = crate::rng::XorShift64::new(5);
        let mut pairs = Vec::new();
        for i in 0..20 {
            for j in i + 1..20 {
                let genuine = fingers[i] == fingers[j];
                let noise = (rng.next_u64() % 1000) as f32 / 1000.0;
                let score = match (genuine, fingers[i].as_str()) {
                    (true, "c") => 0.3 * noise,
                    (true, _) => 0.4 + 0.6 * noise,
                    (false, _) => 0.5 * noise,
                };
                pairs.push((score, i, j, genuine));
            }
        }
        let sources = error_sources(&pairs, &names, &fingers);
        let genuine: Vec<f32> = pairs.iter().filter(|p| p.3).map(|p| p.0).collect();
        let impostor: Vec<f32> = pairs.iter().filter(|p| !p.3).map(|p| p.0).collect();
        let rejected: usize = sources.rejected_by_finger.iter().map(|f| f.1).sum();
        let fmr100 = rates(&genuine, &impostor).fmr100;
        assert!((100.0 * rejected as f64 / genuine.len() as f64 - fmr100).abs() < 1e-9);
        assert_eq!(sources.rejected_by_finger[0], ("c".to_owned(), 10, 10));
        let accepted = impostor
            .iter()
            .filter(|s| **s >= sources.fmr100_threshold)
            .count();
        assert!(accepted * 100 <= impostor.len());
        assert_eq!(sources.lowest_genuine.len(), LISTED_PAIRS);
        assert!(sources.lowest_genuine.iter().all(|p| p.a.starts_with("c_")));
        assert!(
            sources
                .lowest_genuine
                .windows(2)
                .all(|w| w[0].score <= w[1].score)
        );
        let top = impostor.iter().copied().fold(f32::MIN, f32::max);
        assert_eq!(sources.highest_impostor[0].score, top);
    }

    #[test]
    fn rates_of_separated_scores_are_zero() {
        let r = rates(&[0.9, 0.8, 0.7], &[0.1, 0.2, 0.3]);
        assert_eq!(r.eer, 0.0);
        assert_eq!(r.fmr100, 0.0);
    }

    #[test]
    fn rates_of_overlapping_scores() {
        // One genuine below one impostor out of four each: EER 25 %.
        let r = rates(&[0.9, 0.8, 0.7, 0.2], &[0.1, 0.15, 0.3, 0.85]);
        assert!((r.eer - 25.0).abs() < 1e-9, "{}", r.eer);
    }

    /// Four fingers, two impressions each: genuine pairs score 0.9 except finger 3's (`weak`), impostors 0.1
    /// except one pair between fingers 0 and 1 (`strong`).
    fn four_fingers(weak: f32, strong: f32) -> Vec<ScoredPair> {
        let mut pairs = Vec::new();
        for f in 0..4 {
            let score = if f == 3 { weak } else { 0.9 };
            pairs.push(ScoredPair {
                score,
                fingers: (f, f),
                fvc: true,
            });
            for g in f + 1..4 {
                let score = if (f, g) == (0, 1) { strong } else { 0.1 };
                pairs.push(ScoredPair {
                    score,
                    fingers: (f, g),
                    fvc: true,
                });
            }
        }
        pairs
    }

    #[test]
    fn eer_interval_is_zero_for_separated_scores_and_wide_when_one_finger_fails() {
        assert_eq!(eer_interval(&four_fingers(0.9, 0.1), 4, false), [0.0, 0.0]);
        // Finger 3 never matches itself: whether the resampled set holds it decides the EER.
        let [lo, hi] = eer_interval(&four_fingers(0.05, 0.1), 4, false);
        assert_eq!(lo, 0.0);
        assert!(hi >= 25.0, "{hi}");
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            parse_name(Path::new("a/101_3.tif")),
            Some(("101".to_owned(), 3))
        );
        assert_eq!(parse_name(Path::new("x.png")), None);
    }
}
