//! `garita bench cargo`: time to decode a dual-energy DICOS pair and analyse it, per image.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::analyze::{AnalysisConfig, AttenuationImage, analyze_image};
use crate::dicos::{DxImage, Energy, ScanIdentity, pair_dual_energy, read_scan, write_dx};
use crate::error::Result;
use crate::sim::{ATTENUATION_SCALE, SimConfig, generate_scene};

/// Benchmark result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// Images timed.
    pub images: u32,
    /// Image size.
    pub columns: u32,
    /// Image size.
    pub rows: u32,
    /// Mean seconds to read both DICOS energies.
    pub decode_s: f64,
    /// Mean seconds to analyse (decomposition, anomaly maps, findings).
    pub analyze_s: f64,
    /// Mean seconds per image, decode plus analysis.
    pub total_s: f64,
}

/// Simulates `images` scenes at 2000 x 1000 (not timed), then times DICOS decoding and analysis of each on the
/// calling thread.
///
/// # Errors
/// As [`generate_scene`], [`write_dx`], [`read_scan`] and [`analyze_image`].
pub fn bench_cargo(images: u32) -> Result<BenchReport> {
    let sim = SimConfig::default();
    let cfg = AnalysisConfig::default();
    let (mut decode, mut analyze) = (0.0, 0.0);
    for seed in 0..u64::from(images.max(1)) {
        let scene = generate_scene(900_000 + seed, &sim)?;
        let identity = ScanIdentity {
            ooi_id: scene.manifest.container_number.clone(),
            study_instance_uid: "2.25.1".into(),
            series_instance_uid: "2.25.2".into(),
            date: "20260101".into(),
            time: "120000".into(),
        };
        let encode = |energy, pixels: &[u16], uid: &str| {
            write_dx(
                &identity,
                &DxImage {
                    sop_instance_uid: uid.into(),
                    energy,
                    kvp: 6000.0,
                    rows: sim.rows,
                    columns: sim.columns,
                    rescale_slope: 1.0 / ATTENUATION_SCALE,
                    pixel_spacing_mm: Some([scene.truth.pitch_y_mm, scene.truth.pitch_x_mm]),
                    pixels,
                },
            )
        };
        let high = encode(Energy::High, &scene.high, "2.25.3")?;
        let low = encode(Energy::Low, &scene.low, "2.25.4")?;
        let t0 = Instant::now();
        let pair = pair_dual_energy(read_scan(&high)?, read_scan(&low)?)?;
        let image = AttenuationImage::from_scan(&pair)?;
        let t1 = Instant::now();
        let analysis = analyze_image(&image, &scene.manifest, &cfg)?;
        let t2 = Instant::now();
        std::hint::black_box(analysis);
        decode += (t1 - t0).as_secs_f64();
        analyze += (t2 - t1).as_secs_f64();
    }
    let n = f64::from(images.max(1));
    Ok(BenchReport {
        images: images.max(1),
        columns: sim.columns,
        rows: sim.rows,
        decode_s: decode / n,
        analyze_s: analyze / n,
        total_s: (decode + analyze) / n,
    })
}
