//! Evaluation of the analysis against simulator ground truth: detection rate of planted concealments, false
//! alarms per image, and the ROC over the finding score.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::analyze::{AnalysisConfig, AttenuationImage, Finding, FindingKind, analyze_image};
use crate::dicos::{pair_dual_energy, read_scan};
use crate::error::{NiiError, Result};
use crate::manifest::{ConcealmentKind, GroundTruth, Manifest, PixelBox};
use crate::sim::{SimConfig, generate_scene};

/// Detection per concealment kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KindStat {
    /// Concealment kind.
    pub kind: ConcealmentKind,
    /// How many were planted.
    pub planted: u32,
    /// How many were detected.
    pub detected: u32,
}

/// One operating point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RocPoint {
    /// Minimum finding score kept.
    pub threshold: f64,
    /// Share of planted concealments detected.
    pub detection_rate: f64,
    /// Unmatched region findings per image.
    pub false_alarms_per_image: f64,
    /// Share of images with at least one false alarm.
    pub images_with_false_alarm: f64,
}

/// Result of an evaluation run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Images evaluated.
    pub images: u32,
    /// Concealments planted.
    pub concealments: u32,
    /// Concealments detected at the default threshold.
    pub detected: u32,
    /// `detected / concealments`.
    pub detection_rate: f64,
    /// Region findings matching no concealment.
    pub false_alarms: u32,
    /// `false_alarms / images`.
    pub false_alarms_per_image: f64,
    /// Threshold of the default operating point.
    pub threshold: f64,
    /// Per kind.
    pub per_kind: Vec<KindStat>,
    /// ROC over the finding score.
    pub roc: Vec<RocPoint>,
    /// Scenes whose true mass differs from the declared by over 15 %, and how many the mass check flagged.
    pub mass_mismatches: (u32, u32),
    /// Scenes without one that the mass check flagged anyway.
    pub mass_false_flags: u32,
    /// False alarms at the default threshold by finding kind.
    pub false_alarm_kinds: Vec<(FindingKind, u32)>,
}

/// Whether a finding points at a ground-truth region: most of the finding lies on it (grown by `margin` pixels),
/// or it covers most of the region without being much larger.
pub fn finding_matches(finding: &PixelBox, truth: &PixelBox, margin_x: u32, margin_y: u32) -> bool {
    let grown = PixelBox {
        x0: truth.x0.saturating_sub(margin_x),
        y0: truth.y0.saturating_sub(margin_y),
        x1: truth.x1 + margin_x,
        y1: truth.y1 + margin_y,
    };
    let inter = finding.intersection(&grown) as f64;
    let fa = finding.area().max(1) as f64;
    let ta = truth.area().max(1) as f64;
    inter >= 0.25 * fa || (inter >= 0.5 * ta && fa <= 4.0 * grown.area() as f64)
}

/// Per-image record kept for the ROC.
struct Scored {
    findings: Vec<Finding>,
    truth: GroundTruth,
    mass_flagged: bool,
    /// The true cargo mass differs from the declared by more than 15 %.
    mass_mismatch: bool,
}

const ROC_THRESHOLDS: [f64; 12] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];

fn report(scored: &[Scored], threshold: f64) -> EvalReport {
    let mut roc = Vec::new();
    let mut at_default = None;
    let mut thresholds: Vec<f64> = ROC_THRESHOLDS.to_vec();
    if !thresholds.iter().any(|t| (t - threshold).abs() < 1e-9) {
        thresholds.push(threshold);
        thresholds.sort_by(f64::total_cmp);
    }
    for &t in &thresholds {
        let (mut planted, mut detected, mut fas, mut images_with_fa) = (0u32, 0u32, 0u32, 0u32);
        let mut per_kind: Vec<KindStat> = Vec::new();
        for s in scored {
            let mx = (100.0 / s.truth.pitch_x_mm).round() as u32;
            let my = (100.0 / s.truth.pitch_y_mm).round() as u32;
            let kept: Vec<&Finding> = s
                .findings
                .iter()
                .filter(|f| f.score >= t && f.kind != FindingKind::MassDiscrepancy)
                .collect();
            for c in &s.truth.concealments {
                planted += 1;
                let hit = kept
                    .iter()
                    .any(|f| finding_matches(&f.region, &c.region, mx, my));
                detected += u32::from(hit);
                match per_kind.iter_mut().find(|k| k.kind == c.kind) {
                    Some(k) => {
                        k.planted += 1;
                        k.detected += u32::from(hit);
                    }
                    None => per_kind.push(KindStat {
                        kind: c.kind,
                        planted: 1,
                        detected: u32::from(hit),
                    }),
                }
            }
            let n_fa = kept
                .iter()
                .filter(|f| {
                    !s.truth
                        .concealments
                        .iter()
                        .any(|c| finding_matches(&f.region, &c.region, mx, my))
                })
                .count() as u32;
            fas += n_fa;
            images_with_fa += u32::from(n_fa > 0);
        }
        let n = scored.len().max(1) as f64;
        let point = RocPoint {
            threshold: t,
            detection_rate: f64::from(detected) / f64::from(planted.max(1)),
            false_alarms_per_image: f64::from(fas) / n,
            images_with_false_alarm: f64::from(images_with_fa) / n,
        };
        if (t - threshold).abs() < 1e-9 {
            per_kind.sort_by_key(|k| format!("{:?}", k.kind));
            at_default = Some((planted, detected, fas, per_kind));
        }
        roc.push(point);
    }
    let (planted, detected, fas, per_kind) = at_default.unwrap_or((0, 0, 0, Vec::new()));
    let with_mismatch = scored.iter().filter(|s| s.mass_mismatch);
    let mass_mismatches = (
        with_mismatch.clone().count() as u32,
        with_mismatch.filter(|s| s.mass_flagged).count() as u32,
    );
    let mass_false_flags = scored
        .iter()
        .filter(|s| s.mass_flagged && !s.mass_mismatch)
        .count() as u32;
    let images = scored.len() as u32;
    let mut false_alarm_kinds: Vec<(FindingKind, u32)> = Vec::new();
    for s in scored {
        let mx = (100.0 / s.truth.pitch_x_mm).round() as u32;
        let my = (100.0 / s.truth.pitch_y_mm).round() as u32;
        for f in s
            .findings
            .iter()
            .filter(|f| f.score >= threshold && f.kind != FindingKind::MassDiscrepancy)
        {
            if !s
                .truth
                .concealments
                .iter()
                .any(|c| finding_matches(&f.region, &c.region, mx, my))
            {
                match false_alarm_kinds.iter_mut().find(|(k, _)| *k == f.kind) {
                    Some((_, n)) => *n += 1,
                    None => false_alarm_kinds.push((f.kind, 1)),
                }
            }
        }
    }
    EvalReport {
        images,
        concealments: planted,
        detected,
        detection_rate: f64::from(detected) / f64::from(planted.max(1)),
        false_alarms: fas,
        false_alarms_per_image: f64::from(fas) / f64::from(images.max(1)),
        threshold,
        per_kind,
        roc,
        mass_mismatches,
        mass_false_flags,
        false_alarm_kinds,
    }
}

fn score_image(
    image: &AttenuationImage,
    manifest: &Manifest,
    truth: GroundTruth,
    cfg: &AnalysisConfig,
) -> Result<Scored> {
    let mut all = cfg.clone();
    all.min_score = 0.0;
    let analysis = analyze_image(image, manifest, &all)?;
    let mass_flagged = analysis
        .findings
        .iter()
        .any(|f| f.kind == FindingKind::MassDiscrepancy);
    let declared = manifest.declared_gross_mass_kg.max(1.0);
    let mass_mismatch = (truth.actual_cargo_mass_kg - declared).abs() > 0.15 * declared;
    Ok(Scored {
        mass_mismatch,
        findings: analysis.findings,
        truth,
        mass_flagged,
    })
}

/// Evaluates on freshly simulated scenes `seeds` (no files), e.g. the held-out seeds 1000..1100.
///
/// # Errors
/// As [`generate_scene`] and [`analyze_image`].
pub fn eval_seeds(
    seeds: std::ops::Range<u64>,
    sim: &SimConfig,
    cfg: &AnalysisConfig,
) -> Result<EvalReport> {
    let mut scored = Vec::new();
    for seed in seeds {
        let scene = generate_scene(seed, sim)?;
        let image = AttenuationImage::from_sim(&scene);
        scored.push(score_image(&image, &scene.manifest, scene.truth, cfg)?);
    }
    Ok(report(&scored, cfg.min_score))
}

/// Evaluates every scene in a directory written by [`crate::simulate`]: reads both DICOS energies, the manifest
/// and the ground truth of each `scene-*.truth.json`.
///
/// # Errors
/// [`NiiError::Io`] / [`NiiError::Json`] for unreadable files, DICOS errors from [`read_scan`], and
/// [`NiiError::InvalidInput`] if the directory holds no scenes.
pub fn eval_dir(dir: &Path) -> Result<EvalReport> {
    eval_dir_with(dir, &AnalysisConfig::default())
}

/// [`eval_dir`] with explicit thresholds.
///
/// # Errors
/// As [`eval_dir`].
pub fn eval_dir_with(dir: &Path, cfg: &AnalysisConfig) -> Result<EvalReport> {
    let mut truths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| NiiError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".truth.json"))
        .collect();
    truths.sort();
    if truths.is_empty() {
        return Err(NiiError::invalid(format!(
            "no scene-*.truth.json in {}",
            dir.display()
        )));
    }
    let mut scored = Vec::new();
    for truth_path in truths {
        let stem = truth_path
            .to_string_lossy()
            .trim_end_matches(".truth.json")
            .to_string();
        let truth: GroundTruth = read_json(&truth_path)?;
        let manifest: Manifest = read_json(Path::new(&format!("{stem}.manifest.json")))?;
        let read = |suffix: &str| -> Result<crate::dicos::Scan> {
            let path = PathBuf::from(format!("{stem}_{suffix}.dcs"));
            let bytes = std::fs::read(&path).map_err(|e| NiiError::io(&path, e))?;
            read_scan(&bytes)
        };
        let pair = pair_dual_energy(read("high")?, read("low")?)?;
        let image = AttenuationImage::from_scan(&pair)?;
        scored.push(score_image(&image, &manifest, truth, cfg)?);
    }
    Ok(report(&scored, cfg.min_score))
}

/// Reads a JSON file into `T`.
///
/// # Errors
/// [`NiiError::Io`] or [`NiiError::Json`].
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| NiiError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| NiiError::json(path, e))
}
