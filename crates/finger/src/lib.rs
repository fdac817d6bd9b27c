//! garita-finger: fingerprint minutiae extraction, 1:1 matching and indexed 1:N search.
//!
//! Written here from the literature and standards (no code from NBIS or any other project):
//! - extraction ([`extract`]): local normalisation, gradient-energy segmentation, Bazen & Gerez orientation
//!   (IEEE PAMI 24(7), 2002), x-signature ridge period and contextual Gabor enhancement (Hong, Wan & Jain,
//!   IEEE PAMI 20(8), 1998), Zhang–Suen thinning, crossing-number minutiae and skeleton-tracing clean-up
//!   (Maltoni, Maio, Jain & Prabhakar, *Handbook of Fingerprint Recognition*, 2nd ed., 2009, ch. 3);
//! - matching ([`compare`] on [`MccTemplate`]s): bit-vector Minutia Cylinder-Code with LSS-R consolidation
//!   (Cappelli, Ferrara & Maltoni, IEEE TPAMI 32(12), 2010); scores in `[0, 1]`, thresholds for a stated FMR
//!   from [`threshold_for_fmr`];
//! - 1:N ([`Gallery`]): a popcount pre-filter on rigid-invariant [`Signature`]s, then MCC on the shortlist;
//!   [`fuse_fingers`] fuses the fingers of one encounter;
//! - formats: [`load_image`] reads PNG, TIFF, BMP and WSQ (via garita-wsq); [`Template::to_bytes`] is the compact
//!   native template; [`to_iso_19794_2`] / [`from_iso_19794_2`] the ISO/IEC 19794-2:2005 record;
//!   [`Type9Minutiae`] the ANSI/NIST-ITL type-9 standard minutiae fields (9.003–9.012) for an AN2 writer;
//! - measurement: [`eval_dir`] (FVC2000 and all-pairs protocols), [`run_bench`] (throughput, with NIST NBIS
//!   `bozorth3` timed side by side when the user has it: [`to_xyt`], [`bozorth3_status`]).
//!
//! In scope: single-finger plain or rolled impressions at 250–2000 ppi. Out of scope: latents, palms, NFIQ
//! quality, I/O beyond reading a directory in [`eval_dir`], anything async or networked. Accuracy and speed
//! against NBIS are in `docs/finger.md`.
//!
//! ```
//! use garita_finger::{MccTemplate, Minutia, MinutiaKind, Template, compare, load_image, threshold_for_fmr};
//!
//! // Bad input fails with a clear error rather than a panic.
//! assert!(load_image(b"not an image", None).is_err());
//!
//! // Templates travel as compact bytes and compare as cylinders.
//! let minutiae = (0..30)
//!     .map(|i| Minutia {
//!         x: 40.0 + (i * 37 % 220) as f32,
//!         y: 40.0 + (i * 53 % 260) as f32,
//!         angle: (i as f32 * 0.9) % std::f32::consts::TAU,
//!         kind: MinutiaKind::Ending,
//!         quality: 60,
//!     })
//!     .collect();
//! let template = Template { width: 300, height: 340, ppi: 500, quality: 60, minutiae };
//! let back = Template::from_bytes(&template.to_bytes()?)?;
//! let score = compare(&MccTemplate::new(&template), &MccTemplate::new(&back));
//! assert!(score >= threshold_for_fmr(1e-3));
//! # Ok::<(), garita_finger::FingerError>(())
//! ```

// Pixel and cell loops index several planes at once; iterator chains would hide the equations they follow.
#![allow(clippy::needless_range_loop)]

mod bench;
mod calibration;
mod error;
mod eval;
mod extract;
mod gallery;
mod image_io;
mod iso;
mod mcc;
mod nbis;
mod rng;
mod subjects;
mod template;
#[cfg(test)]
mod test_util;

pub use bench::{
    BenchReport, GalleryBench, ProbeTiming, SubjectBench, SubjectBenchReport, run_bench,
    run_subject_bench,
};
pub use calibration::{CALIBRATION, fmr_for_score, threshold_for_fmr};
pub use error::FingerError;
pub use eval::{ErrorSources, EvalReport, PairScore, Rates, SetImage, eval_dir, rates, set_images};
pub use extract::{
    FEW_MINUTIAE, MAX_MINUTIAE, capture_advice, extract, extract_debug, template_from_bytes,
};
pub use gallery::{
    Candidate, FingerCandidates, Gallery, SIGNATURE_WORDS, SearchParams, Signature, fuse_fingers,
};
pub use image_io::{
    DEFAULT_PPI, FingerImage, MAX_PPI, MAX_SIDE, MAX_SIDE_500, MIN_PPI, load_image,
};
pub use iso::{
    Field, MAX_ISO_RECORD, Type9Kind, Type9Minutia, Type9Minutiae, ViewInfo, from_iso_19794_2,
    to_iso_19794_2,
};
pub use mcc::{
    Detail, FUSION, MccTemplate, N_FEATURES, compare, compare_detail, compare_templates, fuse,
};
pub use nbis::{
    BOZORTH3_BENCH_PAIRS, BOZORTH3_ENV, Bozorth3Bench, Bozorth3Status, bench_bozorth3,
    bozorth3_status, find_bozorth3, from_xyt, run_bozorth3, spread_pairs, to_xyt, xyt_minutia,
};
pub use subjects::{SubjectCandidate, SubjectGallery, SubjectSearchParams, UNKNOWN_POSITION};
pub use template::{MAX_TEMPLATE_MINUTIAE, TEMPLATE_MAGIC, TEMPLATE_VERSION};
pub use template::{Minutia, MinutiaKind, Template, wrap_angle};
