//! Analysis of dual-energy cargo images: material discrimination, segmentation, and detection of regions the
//! declared goods cannot explain.
//!
//! Method (all steps on blocks of about 3 x 3 cm, so each block averages enough photons):
//! 1. Container localisation: columns and rows where the side walls attenuate, the roof line, and the ISO
//!    interior height give the cargo space.
//! 2. Basis-material decomposition (Alvarez & Macovski 1976, applied to MeV cargo radiography e.g. by Ogorodnikov
//!    & Petrunin 2002): each block's high/low attenuation pair is inverted through the same polychromatic forward
//!    model the source is calibrated with, into cellulose-equivalent (organic, low Z) and steel-equivalent (metal,
//!    high Z) mass thicknesses. The walls' contribution, estimated from the emptiest blocks, is subtracted.
//!    The classic R-value / Z_eff classes follow from the metal fraction of the mass: organic, inorganic, metal,
//!    and too dense to penetrate.
//! 3. Expected profile: the declared HS codes give what the goods should show ([`crate::GoodsProfile`]): the
//!    organic and metal mass thickness of a normal load.
//! 4. Anomaly maps: organic mass beyond what the declared goods explain (shielded organics, drugs in machinery or
//!    produce, false walls and floors, uniform dense blocks), metal beyond it in organic goods (weapons), loads far
//!    lighter than declared goods yet not empty (voids, substituted goods, people), and impenetrable areas.
//! 5. Segmentation into 8-connected components, each a [`Finding`] with a score and a readable reason; plus a
//!    consignment-level check of imaged against declared mass.

use serde::{Deserialize, Serialize};

use crate::dicos::DualEnergyScan;
use crate::error::{NiiError, Result};
use crate::goods::{GoodsClass, GoodsProfile, profile_for_hs};
use crate::manifest::{Manifest, PixelBox};
use crate::physics::{DualEnergySource, Material};
use crate::sim::SimScene;

/// A registered dual-energy image as attenuation `-ln(T)` per pixel.
#[derive(Clone, Debug, PartialEq)]
pub struct AttenuationImage {
    /// Width in pixels.
    pub columns: usize,
    /// Height in pixels.
    pub rows: usize,
    /// High-energy attenuation, raster order.
    pub high: Vec<f32>,
    /// Low-energy attenuation.
    pub low: Vec<f32>,
    /// Horizontal pitch at the object, mm.
    pub pitch_x_mm: f64,
    /// Vertical pitch at the object, mm.
    pub pitch_y_mm: f64,
}

/// Fewest pixels averaged in one analysis block.
const MIN_BLOCK_PIXELS: usize = 24;

/// Pixel pitch assumed when a scan carries no Pixel Spacing: typical of container scanners.
const DEFAULT_PITCH_MM: f64 = 5.0;

impl AttenuationImage {
    /// Converts the first frame of a DICOS dual-energy pair, applying each image's rescale to `-ln(T)`.
    ///
    /// # Errors
    /// [`NiiError::InvalidInput`] if the images have no frame or a non-positive rescale slope.
    pub fn from_scan(scan: &DualEnergyScan) -> Result<Self> {
        let convert = |s: &crate::dicos::Scan| -> Result<Vec<f32>> {
            let frame = s
                .frame(0)
                .ok_or_else(|| NiiError::invalid("scan has no frame"))?;
            if !(s.rescale_slope > 0.0 && s.rescale_slope.is_finite()) {
                return Err(NiiError::invalid(format!(
                    "rescale slope {} cannot map samples to attenuation",
                    s.rescale_slope
                )));
            }
            let (m, b) = (s.rescale_slope as f32, s.rescale_intercept as f32);
            Ok(frame.iter().map(|&p| f32::from(p) * m + b).collect())
        };
        let [pitch_y_mm, pitch_x_mm] = scan
            .high
            .pixel_spacing_mm
            .unwrap_or([DEFAULT_PITCH_MM, DEFAULT_PITCH_MM]);
        Ok(AttenuationImage {
            columns: scan.high.columns as usize,
            rows: scan.high.rows as usize,
            high: convert(&scan.high)?,
            low: convert(&scan.low)?,
            pitch_x_mm,
            pitch_y_mm,
        })
    }

    /// The image of a simulated scene, without a DICOS round trip.
    pub fn from_sim(scene: &SimScene) -> Self {
        let scale = (1.0 / crate::sim::ATTENUATION_SCALE) as f32;
        AttenuationImage {
            columns: scene.truth.columns as usize,
            rows: scene.truth.rows as usize,
            high: scene.high.iter().map(|&p| f32::from(p) * scale).collect(),
            low: scene.low.iter().map(|&p| f32::from(p) * scale).collect(),
            pitch_x_mm: scene.truth.pitch_x_mm,
            pitch_y_mm: scene.truth.pitch_y_mm,
        }
    }
}

/// Material class of a region (the usual four colours of a dual-energy cargo display).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaterialClass {
    /// Low Z: organic.
    Organic,
    /// Mid Z: inorganic, light metals, mixtures.
    Inorganic,
    /// High Z: metal.
    Metal,
    /// Too dense to penetrate: no material information.
    Impenetrable,
}

/// What a finding is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// Organic material behind or inside metal where the declared goods have none.
    ShieldedOrganic,
    /// Organic material the declared goods do not explain (too much, or in metal goods).
    UnexpectedOrganic,
    /// Metal in organic goods: weapons, hidden metal objects.
    UnexpectedMetal,
    /// A region far lighter than the declared goods but not empty: voids, substituted goods.
    LowDensityAnomaly,
    /// A person-sized organic object where no goods are.
    PossiblePerson,
    /// A raised floor: continuous deck above the real floor, with a compartment under it.
    FalseFloor,
    /// Too dense to see through.
    Impenetrable,
    /// Imaged cargo mass differs from the declared mass (region = the whole cargo space).
    MassDiscrepancy,
}

/// One analysis result for an officer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Sequence number within the analysis.
    pub id: u32,
    /// What it is.
    pub kind: FindingKind,
    /// Where, in pixels of the high-energy image.
    pub region: PixelBox,
    /// Dominant material class in the region.
    pub material: MaterialClass,
    /// Confidence-like score in [0, 1]; higher is more suspicious.
    pub score: f64,
    /// Anomalous mass in kilograms (organic or metal beyond what the goods explain).
    pub mass_kg: f64,
    /// Why, in words an officer can check against the image.
    pub reason: String,
}

/// Tunable thresholds. Defaults were tuned on simulated seeds 0..99 only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnalysisConfig {
    /// Target block size in mm.
    pub block_mm: f64,
    /// Organic mass thickness allowed for packaging in goods without organic content, g/cm^2.
    pub organic_allowance: f64,
    /// Extra allowance near the floor for pallets, g/cm^2.
    pub pallet_allowance: f64,
    /// Organic goods: a block is dense when its organic mass exceeds this multiple of the declared goods' typical.
    pub dense_factor: f64,
    /// Organic goods: a block is light when its organic mass is below this multiple of the typical (and not empty).
    pub light_factor: f64,
    /// Metal allowed in organic goods beyond their own, g/cm^2.
    pub metal_allowance: f64,
    /// High-energy attenuation above which a block is impenetrable.
    pub impenetrable_attenuation: f64,
    /// Low-energy attenuation above which a block is impenetrable: too few low-energy photons for a material
    /// estimate (the log of a few counts is biased and noisy).
    pub impenetrable_attenuation_low: f64,
    /// Organic allowance per g/cm^2 of metal in the block: decomposition uncertainty grows behind metal.
    pub organic_per_metal: f64,
    /// Open-beam detected photons per pixel at high / low energy, from the scanner's air calibration. Used to
    /// correct the bias of the log of few counts (E[-ln n] exceeds -ln E[n] by about 1/(2n)).
    pub open_beam_photons: (f64, f64),
    /// Electronic noise in photon equivalents (same calibration).
    pub electronic_noise: f64,
    /// An excess must exceed this many standard errors of the block's decomposition (photon noise grows
    /// steeply with attenuation, most of all at low energy).
    pub noise_sigmas: f64,
    /// Height above the floor where pallets are allowed for, mm.
    pub pallet_band_mm: f64,
    /// False-floor cue: shortest continuous run of organic blocks just above the floor, mm.
    pub deck_min_run_mm: f64,
    /// False-floor cue: organic mass thickness of a deck block, g/cm^2.
    pub deck_organic: f64,
    /// Findings below this score are dropped.
    pub min_score: f64,
    /// Relative mass discrepancy that raises a finding.
    pub mass_tolerance: f64,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            block_mm: 30.0,
            organic_allowance: 14.0,
            pallet_allowance: 38.0,
            dense_factor: 1.2,
            light_factor: 0.62,
            metal_allowance: 7.0,
            impenetrable_attenuation: 8.5,
            impenetrable_attenuation_low: 9.2,
            organic_per_metal: 0.1,
            open_beam_photons: (200_000.0, 120_000.0),
            electronic_noise: 3.0,
            pallet_band_mm: 500.0,
            noise_sigmas: 3.0,
            deck_min_run_mm: 2000.0,
            deck_organic: 50.0,
            min_score: 0.3,
            mass_tolerance: 0.2,
        }
    }
}

/// Everything the analysis measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    /// Findings, most suspicious first.
    pub findings: Vec<Finding>,
    /// Cargo space found in the image.
    pub cargo_space: PixelBox,
    /// Imaged cargo mass in kilograms.
    pub imaged_mass_kg: f64,
    /// Declared mass in kilograms.
    pub declared_mass_kg: f64,
    /// Share of non-empty cargo blocks per material class: organic, inorganic, metal, impenetrable.
    pub class_fractions: [f64; 4],
}

/// Analyses a DICOS dual-energy scan against its manifest, with default thresholds.
///
/// # Errors
/// As [`AttenuationImage::from_scan`], and [`NiiError::InvalidInput`] for images below 32 x 32 pixels.
pub fn analyze(scan: &DualEnergyScan, manifest: &Manifest) -> Result<Vec<Finding>> {
    let image = AttenuationImage::from_scan(scan)?;
    Ok(analyze_image(&image, manifest, &AnalysisConfig::default())?.findings)
}

/// One block of the analysis grid.
#[derive(Clone, Copy, Debug, Default)]
struct Block {
    a_high: f64,
    a_low: f64,
    organic: f64,
    metal: f64,
    /// Standard error of `organic` and `metal` from photon and electronic noise.
    organic_sigma: f64,
    metal_sigma: f64,
    impenetrable: bool,
}

struct Grid {
    bw: usize,
    bh: usize,
    nx: usize,
    ny: usize,
    blocks: Vec<Block>,
}

/// Inverts the forward model: (high, low) attenuation to (cellulose, steel) mass thickness in g/cm^2.
fn decompose(src: &DualEnergySource, a_high: f64, a_low: f64) -> (f64, f64) {
    let (o, f, _) = decompose_with_sensitivity(src, a_high, a_low);
    (o, f)
}

/// [`decompose`] plus the inverse Jacobian d(organic, metal)/d(a_high, a_low) at the solution, which propagates
/// photon noise into the mass thicknesses.
fn decompose_with_sensitivity(
    src: &DualEnergySource,
    a_high: f64,
    a_low: f64,
) -> (f64, f64, [[f64; 2]; 2]) {
    let (o, m) = (Material::Cellulose.index(), Material::Steel.index());
    let mut inverse = [[0.0; 2]; 2];
    // Start from "all organic" at the high energy's effective attenuation, then Newton on both channels.
    let mut to = a_high / 0.035;
    let mut tf = 0.0;
    for _ in 0..8 {
        let (sh, dho, dhf) = src.high.transmission_basis(o, m, to, tf);
        let (sl, dlo, dlf) = src.low.transmission_basis(o, m, to, tf);
        if sh <= 0.0 || sl <= 0.0 {
            break;
        }
        let fh = -sh.ln() - a_high;
        let fl = -sl.ln() - a_low;
        let (j11, j12, j21, j22) = (-dho / sh, -dhf / sh, -dlo / sl, -dlf / sl);
        let det = j11 * j22 - j12 * j21;
        if det.abs() < 1e-12 {
            break;
        }
        inverse = [[j22 / det, -j12 / det], [-j21 / det, j11 / det]];
        let d_o = (fh * j22 - fl * j12) / det;
        let d_f = (j11 * fl - j21 * fh) / det;
        to = (to - d_o).clamp(-300.0, 1500.0);
        tf = (tf - d_f).clamp(-300.0, 1500.0);
        if d_o.abs() + d_f.abs() < 1e-3 {
            break;
        }
    }
    (to, tf, inverse)
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let k = ((values.len() - 1) as f64 * q).round() as usize;
    let (_, v, _) = values.select_nth_unstable_by(k, f64::total_cmp);
    *v
}

/// Finds the container's cargo space: wall-attenuating columns and rows, roof line, ISO interior height.
fn find_cargo_space(img: &AttenuationImage) -> PixelBox {
    let (w, h) = (img.columns, img.rows);
    let full = PixelBox {
        x0: 0,
        y0: 0,
        x1: w as u32,
        y1: h as u32,
    };
    // The side walls alone attenuate about 0.1 at 6 MeV; open air reads ~0.
    let wall = 0.06f32;
    let col_frac: Vec<f64> = (0..w)
        .map(|c| (0..h).filter(|&r| img.high[r * w + c] > wall).count() as f64 / h as f64)
        .collect();
    let Some((c0, c1)) = longest_run(&col_frac, 0.5) else {
        return full;
    };
    let span = (c1 - c0) as f64;
    let row_frac: Vec<f64> = (0..h)
        .map(|r| {
            let row = &img.high[r * w + c0..r * w + c1];
            row.iter().filter(|&&a| a > wall).count() as f64 / span
        })
        .collect();
    let Some((r0, _)) = longest_run(&row_frac, 0.6) else {
        return full;
    };
    let px = |mm: f64, pitch: f64| (mm / pitch).round() as usize;
    // ISO 668: interior from 5 cm below the roof to 244 cm below it (roof 259 cm, floor top 15 cm).
    let top = r0 + px(60.0, img.pitch_y_mm);
    let bottom = (r0 + px(2440.0, img.pitch_y_mm)).min(h);
    let left = c0 + px(90.0, img.pitch_x_mm);
    let right = c1.saturating_sub(px(90.0, img.pitch_x_mm));
    if top >= bottom || left >= right {
        return full;
    }
    PixelBox {
        x0: left as u32,
        y0: top as u32,
        x1: right as u32,
        y1: bottom as u32,
    }
}

fn longest_run(v: &[f64], threshold: f64) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    let mut start = None;
    for (i, &x) in v.iter().chain(std::iter::once(&0.0)).enumerate() {
        match (x > threshold, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if best.is_none_or(|(a, b)| i - s > b - a) {
                    best = Some((s, i));
                }
                start = None;
            }
            _ => {}
        }
    }
    best
}

fn build_grid(img: &AttenuationImage, space: &PixelBox, cfg: &AnalysisConfig) -> Grid {
    let mut bw = ((cfg.block_mm / img.pitch_x_mm).round() as usize).clamp(1, 64);
    let mut bh = ((cfg.block_mm / img.pitch_y_mm).round() as usize).clamp(1, 64);
    // Coarse images get larger blocks: a block needs enough pixels for its material estimate to beat the noise.
    if bw * bh < MIN_BLOCK_PIXELS {
        let grow = (MIN_BLOCK_PIXELS as f64 / (bw * bh) as f64).sqrt();
        bw = ((bw as f64 * grow).ceil() as usize).min(64);
        bh = ((bh as f64 * grow).ceil() as usize).min(64);
    }
    let (x0, y0) = (space.x0 as usize, space.y0 as usize);
    let nx = (space.x1 as usize - x0) / bw;
    let ny = (space.y1 as usize - y0) / bh;
    let mut blocks = vec![Block::default(); nx * ny];
    let n = (bw * bh) as f64;
    for by in 0..ny {
        for r in 0..bh {
            let row = (y0 + by * bh + r) * img.columns;
            for bx in 0..nx {
                let start = row + x0 + bx * bw;
                let (mut sh, mut sl) = (0f32, 0f32);
                for i in start..start + bw {
                    sh += img.high[i];
                    sl += img.low[i];
                }
                let b = &mut blocks[by * nx + bx];
                b.a_high += f64::from(sh) / n;
                b.a_low += f64::from(sl) / n;
            }
        }
    }
    Grid {
        bw,
        bh,
        nx,
        ny,
        blocks,
    }
}

/// Expected profile of the declared goods: mass-weighted over manifest lines with a known HS code.
struct Expected {
    organic_areal: f64,
    organic_to_metal: f64,
    metal_areal: f64,
    class: GoodsClass,
    names: String,
}

fn expected_profile(src: &DualEnergySource, manifest: &Manifest) -> Expected {
    let mut total = 0.0;
    let (mut oa, mut otm, mut ma) = (0.0, 0.0, 0.0);
    let mut classes: Vec<GoodsClass> = Vec::new();
    let mut names = Vec::new();
    for item in &manifest.items {
        let w = item.declared_mass_kg.max(1.0);
        names.push(format!("'{}' (HS {})", item.description, item.hs_code));
        if let Some(p) = profile_for_hs(&item.hs_code) {
            let p: &GoodsProfile = p;
            let (org, metal) = nominal_decomposition(src, p);
            total += w;
            if p.class == GoodsClass::Metal {
                // Metal goods are irregular: only their organic-to-metal ratio is a stable expectation.
                otm += w * if metal > 1.0 {
                    (org / metal).max(0.0)
                } else {
                    0.0
                };
            } else {
                oa += w * org;
                ma += w * metal.max(0.0);
            }
            classes.push(p.class);
        }
    }
    let class = match classes.as_slice() {
        [] => GoodsClass::Mixed,
        [first, rest @ ..] if rest.iter().all(|c| c == first) => *first,
        _ => GoodsClass::Mixed,
    };
    let t = total.max(1.0);
    Expected {
        organic_areal: oa / t,
        organic_to_metal: otm / t,
        metal_areal: ma / t,
        class,
        names: if names.is_empty() {
            "no declared goods".to_string()
        } else {
            names.join(", ")
        },
    }
}

/// (organic, metal) the decomposition reports for a goods profile's nominal load.
fn nominal_decomposition(src: &DualEnergySource, p: &GoodsProfile) -> (f64, f64) {
    if p.nominal_load.is_empty() {
        return (0.0, 0.0);
    }
    let mut t = [0.0; crate::physics::N_MATERIALS];
    for &(m, areal) in p.nominal_load {
        t[m.index()] += areal;
    }
    decompose(
        src,
        -src.high.transmission(&t).ln(),
        -src.low.transmission(&t).ln(),
    )
}

/// Analyses an attenuation image against a manifest.
///
/// # Errors
/// [`NiiError::InvalidInput`] for images below 32 x 32 pixels, mismatched channel sizes or non-positive pitch.
pub fn analyze_image(
    img: &AttenuationImage,
    manifest: &Manifest,
    cfg: &AnalysisConfig,
) -> Result<Analysis> {
    let n = img.columns * img.rows;
    if img.columns < 32 || img.rows < 32 || img.high.len() != n || img.low.len() != n {
        return Err(NiiError::invalid(format!(
            "dual-energy image {}x{} with {} / {} samples cannot be analysed",
            img.columns,
            img.rows,
            img.high.len(),
            img.low.len()
        )));
    }
    if !(img.pitch_x_mm > 0.0 && img.pitch_y_mm > 0.0) {
        return Err(NiiError::invalid("pixel pitch must be positive"));
    }
    let src = DualEnergySource::linac_6_4();
    let space = find_cargo_space(img);
    let mut grid = build_grid(img, &space, cfg);
    let declared_mass_kg: f64 = manifest
        .declared_gross_mass_kg
        .max(manifest.items.iter().map(|i| i.declared_mass_kg).sum());
    if grid.nx < 2 || grid.ny < 2 {
        return Ok(Analysis {
            findings: Vec::new(),
            cargo_space: space,
            imaged_mass_kg: 0.0,
            declared_mass_kg,
            class_fractions: [0.0; 4],
        });
    }
    // Wall background: the emptiest blocks of the cargo space.
    let mut highs: Vec<f64> = grid.blocks.iter().map(|b| b.a_high).collect();
    let mut lows: Vec<f64> = grid.blocks.iter().map(|b| b.a_low).collect();
    let bg_high = percentile(&mut highs, 0.02);
    let bg_low = percentile(&mut lows, 0.02);
    let (bg_o, bg_f) = decompose(src, bg_high, bg_low);
    // Log-of-counts bias: with n ~ Poisson(mu) plus electronic noise s, E[-ln n] ~ -ln mu + (mu + s^2) / (2 mu^2).
    let debias = |a: f64, photons: f64| {
        let mu = photons * (-a).exp();
        if mu > 3.0 {
            a - (mu + cfg.electronic_noise * cfg.electronic_noise) / (2.0 * mu * mu)
        } else {
            a
        }
    };
    let noise_var = cfg.electronic_noise * cfg.electronic_noise;
    let n_pixels = (grid.bw * grid.bh) as f64;
    for b in &mut grid.blocks {
        b.a_high = debias(b.a_high, cfg.open_beam_photons.0);
        b.a_low = debias(b.a_low, cfg.open_beam_photons.1);
        b.impenetrable =
            b.a_high > cfg.impenetrable_attenuation || b.a_low > cfg.impenetrable_attenuation_low;
        if !b.impenetrable {
            let (o, f, inv) = decompose_with_sensitivity(src, b.a_high, b.a_low);
            b.organic = o - bg_o;
            b.metal = f - bg_f;
            // Variance of a block mean of -ln(counts): (mu + s^2) / mu^2 per pixel, over the block's pixels.
            let var = |a: f64, photons: f64| {
                let mu = (photons * (-a).exp()).max(1.0);
                (mu + noise_var) / (mu * mu) / n_pixels
            };
            let (vh, vl) = (
                var(b.a_high, cfg.open_beam_photons.0),
                var(b.a_low, cfg.open_beam_photons.1),
            );
            b.organic_sigma = (inv[0][0] * inv[0][0] * vh + inv[0][1] * inv[0][1] * vl).sqrt();
            b.metal_sigma = (inv[1][0] * inv[1][0] * vh + inv[1][1] * inv[1][1] * vl).sqrt();
        }
    }
    let block_area_cm2 =
        (grid.bw as f64 * img.pitch_x_mm / 10.0) * (grid.bh as f64 * img.pitch_y_mm / 10.0);
    let expected = expected_profile(src, manifest);

    // Material classes and imaged mass.
    let mut class_counts = [0usize; 4];
    let mut imaged_mass_kg = 0.0;
    for b in &grid.blocks {
        if b.impenetrable {
            class_counts[3] += 1;
            // At least as heavy as steel at the penetration limit: a lower bound, not an estimate.
            imaged_mass_kg += b.a_high / 0.034 * block_area_cm2 / 1000.0;
            continue;
        }
        let total = b.organic.max(0.0) + b.metal.max(0.0);
        if total < 3.0 {
            continue;
        }
        imaged_mass_kg += total * block_area_cm2 / 1000.0;
        let metal_fraction = b.metal.max(0.0) / total;
        let class = if metal_fraction < 0.2 {
            0
        } else if metal_fraction < 0.55 {
            1
        } else {
            2
        };
        class_counts[class] += 1;
    }
    let n_classified: usize = class_counts.iter().sum();
    let class_fractions = class_counts.map(|c| c as f64 / n_classified.max(1) as f64);

    // Anomaly maps: excess per block, in g/cm^2.
    let floor_band =
        ((cfg.pallet_band_mm / (grid.bh as f64 * img.pitch_y_mm)).ceil() as usize).max(1);
    let organic_goods = expected.organic_areal > 0.0;
    let mut organic_excess = vec![0.0f64; grid.blocks.len()];
    let mut metal_excess = vec![0.0f64; grid.blocks.len()];
    let mut light = vec![0.0f64; grid.blocks.len()];
    for by in 0..grid.ny {
        let near_floor = by >= grid.ny.saturating_sub(floor_band);
        for bx in 0..grid.nx {
            let i = by * grid.nx + bx;
            let b = grid.blocks[i];
            if b.impenetrable {
                continue;
            }
            let allowance = if organic_goods {
                cfg.dense_factor * expected.organic_areal
            } else {
                cfg.organic_allowance + expected.organic_to_metal * b.metal.max(0.0)
            } + if near_floor {
                cfg.pallet_allowance
            } else {
                0.0
            } + cfg.organic_per_metal * b.metal.max(0.0);
            organic_excess[i] =
                (b.organic - allowance - cfg.noise_sigmas * b.organic_sigma).max(0.0);
            if expected.class != GoodsClass::Metal {
                // Mixed goods vary carton to carton in metal content: allow up to twice their nominal metal.
                metal_excess[i] =
                    (b.metal - 2.0 * expected.metal_areal - cfg.metal_allowance).max(0.0);
            }
            if organic_goods && !near_floor {
                let lo = cfg.light_factor * expected.organic_areal;
                if b.organic > 8.0 && b.organic < lo && b.metal < 6.0 {
                    light[i] = lo - b.organic;
                } else if expected.metal_areal > 3.0
                    && b.organic > 8.0
                    && b.metal < 0.3 * expected.metal_areal
                {
                    // Mixed goods (electronics) always carry some metal; organic matter without it is something else.
                    light[i] = expected.metal_areal - b.metal;
                }
            }
        }
    }
    // Lightness is only meaningful well inside a region: partial blocks at carton edges read light too.
    let light = erode(&light, grid.nx, grid.ny);

    let mut findings = Vec::new();
    let to_box = |c: &Component| PixelBox {
        x0: space.x0 + (c.bx0 * grid.bw) as u32,
        y0: space.y0 + (c.by0 * grid.bh) as u32,
        x1: space.x0 + ((c.bx1 + 1) * grid.bw) as u32,
        y1: space.y0 + ((c.by1 + 1) * grid.bh) as u32,
    };
    let block_w_cm = grid.bw as f64 * img.pitch_x_mm / 10.0;
    let block_h_cm = grid.bh as f64 * img.pitch_y_mm / 10.0;
    for c in components(&organic_excess, grid.nx, grid.ny) {
        let area_m2 = c.n as f64 * block_area_cm2 / 1e4;
        if area_m2 < 0.02 {
            continue;
        }
        let kg = c.sum * block_area_cm2 / 1000.0;
        let (mean_org, mean_metal) = mean_of(&grid, &c, |b| (b.organic, b.metal));
        let shielded = mean_metal > 12.0;
        let w_cm = (c.bx1 - c.bx0 + 1) as f64 * block_w_cm;
        let h_cm = (c.by1 - c.by0 + 1) as f64 * block_h_cm;
        let person_like = !organic_goods && is_person_sized(w_cm, h_cm, mean_org);
        let (kind, score) = if person_like {
            (FindingKind::PossiblePerson, 1.0 - (-kg / 10.0).exp())
        } else if shielded {
            (FindingKind::ShieldedOrganic, 1.0 - (-kg / 8.0).exp())
        } else {
            (FindingKind::UnexpectedOrganic, 1.0 - (-kg / 15.0).exp())
        };
        let reason = match kind {
            FindingKind::PossiblePerson => format!(
                "person-sized organic object ({w_cm:.0} x {h_cm:.0} cm, {mean_org:.0} g/cm2 water-like) where the declared {} have no organic content",
                expected.names
            ),
            FindingKind::ShieldedOrganic => format!(
                "about {kg:.0} kg of organic material ({mean_org:.0} g/cm2) behind {mean_metal:.0} g/cm2 of steel: organic matter shielded inside metal, not explained by the declared {}",
                expected.names
            ),
            _ if organic_goods => format!(
                "uniform block denser than the declared {}: {mean_org:.0} g/cm2 organic where about {:.0} is typical, about {kg:.0} kg in excess over {area_m2:.2} m2",
                expected.names, expected.organic_areal
            ),
            _ => format!(
                "about {kg:.0} kg of organic material ({mean_org:.0} g/cm2) over {area_m2:.2} m2 that the declared {} do not contain",
                expected.names
            ),
        };
        findings.push(Finding {
            id: 0,
            kind,
            region: to_box(&c),
            material: MaterialClass::Organic,
            score,
            mass_kg: kg,
            reason,
        });
    }
    for c in components(&metal_excess, grid.nx, grid.ny) {
        if c.n < 2 {
            continue;
        }
        let kg = c.sum * block_area_cm2 / 1000.0;
        let (_, mean_metal) = mean_of(&grid, &c, |b| (b.organic, b.metal));
        let w_cm = (c.bx1 - c.bx0 + 1) as f64 * block_w_cm;
        let h_cm = (c.by1 - c.by0 + 1) as f64 * block_h_cm;
        findings.push(Finding {
            id: 0,
            kind: FindingKind::UnexpectedMetal,
            region: to_box(&c),
            material: MaterialClass::Metal,
            score: 1.0 - (-kg / 2.0).exp(),
            mass_kg: kg,
            reason: format!(
                "metal object(s) of {w_cm:.0} x {h_cm:.0} cm ({mean_metal:.0} g/cm2 steel-equivalent, about {kg:.1} kg beyond the goods) inside declared {}: possible weapons or hidden metal",
                expected.names
            ),
        });
    }
    for c in components(&light, grid.nx, grid.ny) {
        let area_m2 = c.n as f64 * block_area_cm2 / 1e4;
        if area_m2 < 0.15 {
            continue;
        }
        let (mean_org, _) = mean_of(&grid, &c, |b| (b.organic, b.metal));
        // Erosion shrank the component by one block on each side; report the full extent.
        let mut grown = c.clone();
        grown.bx0 = grown.bx0.saturating_sub(1);
        grown.by0 = grown.by0.saturating_sub(1);
        grown.bx1 = (grown.bx1 + 1).min(grid.nx - 1);
        grown.by1 = (grown.by1 + 1).min(grid.ny - 1);
        let w_cm = (grown.bx1 - grown.bx0 + 1) as f64 * block_w_cm;
        let h_cm = (grown.by1 - grown.by0 + 1) as f64 * block_h_cm;
        let person_like = is_person_sized(w_cm, h_cm, mean_org);
        let (kind, reason) = if person_like {
            (
                FindingKind::PossiblePerson,
                format!(
                    "person-sized water-like object ({w_cm:.0} x {h_cm:.0} cm, {mean_org:.0} g/cm2) in a gap of the declared {}",
                    expected.names
                ),
            )
        } else {
            (
                FindingKind::LowDensityAnomaly,
                format!(
                    "{area_m2:.2} m2 of cargo at {mean_org:.0} g/cm2, far lighter than the declared {} (about {:.0} g/cm2): different goods, a void or a cavity",
                    expected.names, expected.organic_areal
                ),
            )
        };
        findings.push(Finding {
            id: 0,
            kind,
            region: to_box(&grown),
            material: MaterialClass::Organic,
            score: 1.0 - (-area_m2 / 0.4).exp(),
            mass_kg: 0.0,
            reason,
        });
    }
    // False floors: a raised deck is one continuous organic layer across the load's length just above the floor,
    // where an ordinary load shows pallets of about 1.2 m with gaps between them.
    let deck_min_run =
        ((cfg.deck_min_run_mm / (grid.bw as f64 * img.pitch_x_mm)).ceil() as usize).max(2);
    let floor_row = grid.ny;
    let deck_rows_from = floor_row
        .saturating_sub(((300.0 / (grid.bh as f64 * img.pitch_y_mm)).ceil() as usize).max(1));
    let deck_rows_to = floor_row
        .saturating_sub(((80.0 / (grid.bh as f64 * img.pitch_y_mm)).floor() as usize).max(1));
    let mut best_deck: Option<(usize, usize, usize)> = None;
    for by in deck_rows_from..deck_rows_to {
        let mut run_start = None;
        for bx in 0..=grid.nx {
            let on = bx < grid.nx && {
                let b = grid.blocks[by * grid.nx + bx];
                !b.impenetrable && b.organic >= cfg.deck_organic
            };
            match (on, run_start) {
                (true, None) => run_start = Some(bx),
                (false, Some(s)) => {
                    if bx - s >= deck_min_run && best_deck.is_none_or(|(_, a, b)| bx - s > b - a) {
                        best_deck = Some((by, s, bx));
                    }
                    run_start = None;
                }
                _ => {}
            }
        }
    }
    if let Some((by, x0, x1)) = best_deck {
        let length_cm = (x1 - x0) as f64 * block_w_cm;
        let height_cm = (floor_row - by) as f64 * block_h_cm;
        let c = Component {
            members: Vec::new(),
            n: (x1 - x0) * (floor_row - by),
            sum: 0.0,
            bx0: x0,
            by0: by,
            bx1: x1 - 1,
            by1: floor_row - 1,
        };
        findings.push(Finding {
            id: 0,
            kind: FindingKind::FalseFloor,
            region: to_box(&c),
            material: MaterialClass::Organic,
            score: 1.0 - (-length_cm / 300.0).exp(),
            mass_kg: 0.0,
            reason: format!(
                "continuous organic layer {length_cm:.0} cm long about {height_cm:.0} cm above the floor, without the gaps between pallets: a raised false floor with a compartment below"
            ),
        });
    }
    let impenetrable: Vec<f64> = grid
        .blocks
        .iter()
        .map(|b| if b.impenetrable { 1.0 } else { 0.0 })
        .collect();
    for c in components(&impenetrable, grid.nx, grid.ny) {
        let area_m2 = c.n as f64 * block_area_cm2 / 1e4;
        if area_m2 < 0.01 {
            continue;
        }
        findings.push(Finding {
            id: 0,
            kind: FindingKind::Impenetrable,
            region: to_box(&c),
            material: MaterialClass::Impenetrable,
            // Dense declared goods (machinery, ore, scrap) are expected to stop the beam in places: informational.
            score: (1.0 - (-area_m2 / 0.05).exp()) * if expected.class == GoodsClass::Metal { 0.25 } else { 1.0 },
            mass_kg: 0.0,
            reason: format!(
                "{area_m2:.2} m2 too dense for the 6 MeV beam to penetrate: contents cannot be assessed from the image{}",
                if expected.class == GoodsClass::Metal { " (expected in places for the declared dense goods)" } else { "" }
            ),
        });
    }
    findings.retain(|f| f.score >= cfg.min_score);
    findings.sort_by(|a, b| b.score.total_cmp(&a.score));
    if declared_mass_kg > 0.0 {
        let diff = imaged_mass_kg - declared_mass_kg;
        if diff.abs() > cfg.mass_tolerance * declared_mass_kg && diff.abs() > 500.0 {
            findings.push(Finding {
                id: 0,
                kind: FindingKind::MassDiscrepancy,
                region: space,
                material: MaterialClass::Inorganic,
                score: (diff.abs() / declared_mass_kg).min(1.0),
                mass_kg: diff,
                reason: format!(
                    "imaged cargo mass about {imaged_mass_kg:.0} kg against {declared_mass_kg:.0} kg declared ({:+.0} %)",
                    100.0 * diff / declared_mass_kg
                ),
            });
        }
    }
    for (i, f) in findings.iter_mut().enumerate() {
        f.id = i as u32;
    }
    Ok(Analysis {
        findings,
        cargo_space: space,
        imaged_mass_kg,
        declared_mass_kg,
        class_fractions,
    })
}

/// Standing or crouching adult seen side-on: 25-90 cm wide, 70-200 cm tall, soft-tissue mass thickness.
fn is_person_sized(w_cm: f64, h_cm: f64, organic: f64) -> bool {
    (25.0..=95.0).contains(&w_cm)
        && (70.0..=200.0).contains(&h_cm)
        && (8.0..=45.0).contains(&organic)
}

fn mean_of(grid: &Grid, c: &Component, f: impl Fn(&Block) -> (f64, f64)) -> (f64, f64) {
    let (mut a, mut b) = (0.0, 0.0);
    for &i in &c.members {
        let (x, y) = f(&grid.blocks[i]);
        a += x;
        b += y;
    }
    let n = c.members.len().max(1) as f64;
    (a / n, b / n)
}

fn erode(v: &[f64], nx: usize, ny: usize) -> Vec<f64> {
    let mut out = vec![0.0; v.len()];
    for y in 1..ny.saturating_sub(1) {
        for x in 1..nx.saturating_sub(1) {
            let i = y * nx + x;
            if v[i] > 0.0 && v[i - 1] > 0.0 && v[i + 1] > 0.0 && v[i - nx] > 0.0 && v[i + nx] > 0.0
            {
                out[i] = v[i];
            }
        }
    }
    out
}

#[derive(Clone, Debug)]
struct Component {
    members: Vec<usize>,
    n: usize,
    sum: f64,
    bx0: usize,
    by0: usize,
    bx1: usize,
    by1: usize,
}

/// 8-connected components of the positive cells of `v`.
fn components(v: &[f64], nx: usize, ny: usize) -> Vec<Component> {
    let mut seen = vec![false; v.len()];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..v.len() {
        if seen[start] || v[start] <= 0.0 {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut c = Component {
            members: Vec::new(),
            n: 0,
            sum: 0.0,
            bx0: usize::MAX,
            by0: usize::MAX,
            bx1: 0,
            by1: 0,
        };
        while let Some(i) = stack.pop() {
            let (x, y) = (i % nx, i / nx);
            c.members.push(i);
            c.n += 1;
            c.sum += v[i];
            c.bx0 = c.bx0.min(x);
            c.bx1 = c.bx1.max(x);
            c.by0 = c.by0.min(y);
            c.by1 = c.by1.max(y);
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (xx, yy) = (x as i64 + dx, y as i64 + dy);
                    if xx < 0 || yy < 0 || xx >= nx as i64 || yy >= ny as i64 {
                        continue;
                    }
                    let j = yy as usize * nx + xx as usize;
                    if !seen[j] && v[j] > 0.0 {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        out.push(c);
    }
    out
}

/// Builds the DICOS TDR describing `findings` on the scan `referenced` (SOP class and instance UIDs of the
/// high- and low-energy images). Region findings become threat items with their box as ROI base and extents
/// (x, y, z = 0; width, height, depth = 1) and as a two-corner bounding polygon; the mass check, which has no
/// region of its own, is left out. Items scoring 0.5 or more are flagged `THREAT`, the rest `UNKNOWN`.
pub fn tdr_for_findings(
    sop_instance_uid: &str,
    referenced: &[(String, String)],
    findings: &[Finding],
) -> crate::dicos::TdrReport {
    let threats = findings
        .iter()
        .filter(|f| f.kind != FindingKind::MassDiscrepancy)
        .enumerate()
        .map(|(i, f)| {
            let r = f.region;
            let category = match f.kind {
                FindingKind::UnexpectedMetal => "PI",
                FindingKind::ShieldedOrganic | FindingKind::UnexpectedOrganic => "CONTRABAND",
                _ => "ANOMALY",
            };
            crate::dicos::ThreatItem {
                id: i as u32,
                roi_base: Some(vec![r.x0 as f32, r.y0 as f32, 0.0]),
                roi_extents: Some(vec![
                    r.x1.saturating_sub(r.x0) as f32,
                    r.y1.saturating_sub(r.y0) as f32,
                    1.0,
                ]),
                bounding_polygon: Some(vec![r.x0 as f32, r.y0 as f32, r.x1 as f32, r.y1 as f32]),
                referenced_instance_uids: referenced.iter().map(|(_, uid)| uid.clone()).collect(),
                category: Some(category.to_string()),
                category_description: Some(f.reason.clone()),
                assessment_flag: Some(
                    if f.score >= 0.5 { "THREAT" } else { "UNKNOWN" }.to_string(),
                ),
                probability: Some(f.score as f32),
                location_description: Some(format!("{:?}", f.kind)),
            }
        })
        .collect();
    crate::dicos::TdrReport {
        sop_instance_uid: sop_instance_uid.to_string(),
        referenced: referenced.to_vec(),
        threats,
        algorithm: (
            "garita-nii".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::N_MATERIALS;

    #[test]
    fn decomposition_recovers_known_thicknesses() {
        let src = DualEnergySource::linac_6_4();
        for (org, steel) in [(50.0, 0.0), (0.0, 40.0), (60.0, 30.0), (120.0, 8.0)] {
            let mut t = [0.0; N_MATERIALS];
            t[Material::Cellulose.index()] = org;
            t[Material::Steel.index()] = steel;
            let ah = -src.high.transmission(&t).ln();
            let al = -src.low.transmission(&t).ln();
            let (o, f) = decompose(src, ah, al);
            assert!(
                (o - org).abs() < 0.5 && (f - steel).abs() < 0.5,
                "{org} {steel} -> {o} {f}"
            );
        }
    }

    #[test]
    fn components_are_eight_connected() {
        let v = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 2.0];
        let c = components(&v, 3, 3);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].n, 3);
        assert!((c[0].sum - 4.0).abs() < 1e-12);
    }
}
