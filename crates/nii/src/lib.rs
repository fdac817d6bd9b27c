//! garita-nii: cargo non-intrusive inspection (NII) for garita.
//!
//! Scope:
//! - **DICOS** (NEMA IIC 1 v03, <https://www.nema.org/standards/view/digital-imaging-and-communications-in-security>)
//!   in and out through dicom-rs: [`dicos_info`] and [`read_scan`] read CT, DX, 2D/3D AIT images (native or
//!   lossless JPEG, ITU-T T.81 process 14, multi-frame) and Threat Detection Reports; [`write_dx`] and [`write_tdr`]
//!   write them. Dual energy is two objects, `HIGH ENERGY` / `LOW ENERGY` in Image Type, paired by
//!   [`pair_dual_energy`].
//! - **Simulation** ([`simulate`], [`generate_scene`]): Beer-Lambert transmission of a 6/4 MeV linac through ISO
//!   containers with goods and planted concealments, using Hubbell & Seltzer (NIST XCOM) mass attenuation
//!   coefficients shipped in `data/xcom_mass_attenuation.csv`; writes DICOS DX pairs, manifests and ground truth.
//! - **Analysis** ([`analyze`], [`analyze_image`]): basis-material decomposition (organic / metal), expectations from
//!   the declared HS codes, anomaly segmentation into [`Finding`]s with readable reasons, [`tdr_for_findings`].
//! - **Evaluation** ([`eval_dir`], [`eval_seeds`]): detection rate, false alarms per image and ROC.
//! - **Risk lanes** ([`assign_lane`]): red / yellow / blue / green with reasons, ASYCUDA-style selectivity.
//! - **Bench** ([`bench_cargo`]).
//!
//! Out of scope: networking (DICOM C-STORE), lossy JPEG / JPEG 2000 / RLE pixel data, storage, HTTP. No async.
//! Design notes, measured quality and the ROC are in `docs/nii.md`.
//!
//! ```
//! use garita_nii::{AnalysisConfig, AttenuationImage, SimConfig, analyze_image, generate_scene};
//!
//! let err = garita_nii::dicos_info(b"not a dicos file").unwrap_err();
//! assert!(err.to_string().starts_with("not a DICOS file"));
//!
//! // Simulate a small scene and analyse it against its own manifest.
//! let sim = SimConfig { columns: 400, rows: 200, ..SimConfig::default() };
//! let scene = generate_scene(1, &sim).unwrap();
//! let image = AttenuationImage::from_sim(&scene);
//! let analysis = analyze_image(&image, &scene.manifest, &AnalysisConfig::default()).unwrap();
//! for finding in &analysis.findings {
//!     println!("{:?} {:.2}: {}", finding.kind, finding.score, finding.reason);
//! }
//! ```
mod analyze;
mod bench;
mod dicos;
mod error;
mod eval;
mod goods;
mod jpeg_lossless;
mod lanes;
mod manifest;
mod physics;
mod prescan;
mod sim;

pub use analyze::{
    Analysis, AnalysisConfig, AttenuationImage, Finding, FindingKind, MaterialClass, analyze,
    analyze_image, tdr_for_findings,
};
pub use bench::{BenchReport, bench_cargo};
pub use dicos::{
    DicosInfo, DualEnergyScan, DxImage, Energy, MAX_INPUT_BYTES, MAX_SAMPLES, Scan, ScanIdentity,
    TdrReport, ThreatItem, dicos_info, pair_dual_energy, read_scan, write_dx, write_tdr,
};
pub use error::{NiiError, Result};
pub use eval::{
    EvalReport, KindStat, RocPoint, eval_dir, eval_dir_with, eval_seeds, finding_matches, read_json,
};
pub use goods::{GOODS, GoodsClass, GoodsKind, GoodsProfile, profile_for_hs};
pub use lanes::{
    DeclarantHistory, Lane, LaneDecision, LaneInputs, LaneReason, LaneRules, assign_lane,
};
pub use manifest::{Concealment, ConcealmentKind, GroundTruth, Manifest, ManifestItem, PixelBox};
pub use physics::{Channel, DualEnergySource, MATERIALS, Material, N_MATERIALS, mass_attenuation};
pub use sim::{
    ATTENUATION_SCALE, SceneFiles, SimConfig, SimScene, generate_scene, simulate, simulate_with,
    write_scene,
};
