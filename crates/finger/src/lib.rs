//! garita-finger: fingerprint minutiae extraction, 1:1 matching and indexed 1:N search.
//!
//! (Crate doc is completed below once all modules exist.)

// Pixel and cell loops index several planes at once; iterator chains would hide the equations they follow.
#![allow(clippy::needless_range_loop)]

mod bench;
mod error;
mod eval;
mod extract;
mod gallery;
mod image_io;
mod iso;
mod mcc;
mod template;

pub use bench::{BenchReport, GalleryBench, run_bench};
pub use error::FingerError;
pub use eval::{EvalReport, Rates, eval_dir, rates};
pub use extract::{MAX_MINUTIAE, extract, extract_debug};
pub use gallery::{
    Candidate, FingerCandidates, Gallery, SIGNATURE_WORDS, SearchParams, Signature, fuse_fingers,
};
pub use image_io::{DEFAULT_PPI, FingerImage, MAX_PPI, MAX_SIDE, MIN_PPI, load_image};
pub use iso::{
    Field, MAX_ISO_RECORD, Type9Kind, Type9Minutia, Type9Minutiae, ViewInfo, from_iso_19794_2,
    to_iso_19794_2,
};
pub use mcc::{MccTemplate, compare};
pub use template::{MAX_TEMPLATE_MINUTIAE, TEMPLATE_MAGIC, TEMPLATE_VERSION};
pub use template::{Minutia, MinutiaKind, Template, wrap_angle};
