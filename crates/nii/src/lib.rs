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
mod dicos;
mod error;
mod jpeg_lossless;

pub use dicos::{
    DicosInfo, DualEnergyScan, DxImage, Energy, MAX_INPUT_BYTES, MAX_SAMPLES, Scan, ScanIdentity,
    TdrReport, ThreatItem, dicos_info, pair_dual_energy, read_scan, write_dx, write_tdr,
};
pub use error::{NiiError, Result};
