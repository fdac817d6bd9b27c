//! garita-nii: cargo non-intrusive inspection (NII) for garita.
//!
//! Scope:
//! - DICOS (NEMA IIC 1 v03, <https://www.nema.org/standards/view/digital-imaging-and-communications-in-security>)
//!   in and out through dicom-rs: [`dicos_info`] and [`read_scan`] read CT, DX, 2D/3D AIT images (native or
//!   lossless-JPEG, multi-frame) and Threat Detection Reports; [`write_dx`] and [`write_tdr`] write them.
//!
//! Out of scope: networking (DICOS/DICOM C-STORE), lossy JPEG / JPEG 2000 pixel data, storage.
//!
//! ```
//! let err = garita_nii::dicos_info(b"not a dicos file").unwrap_err();
//! assert!(err.to_string().starts_with("not a DICOS file"));
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
