//! Shared helpers for the integration tests.

use garita_nii::{AnalysisConfig, SimConfig};
use std::path::{Path, PathBuf};

/// The shared DICOS sample folder, or `None` (with a note) when the checkout has no shared data beside it.
pub fn dicos_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/dicos-v03");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: {} not found", dir.display());
        None
    }
}

/// Half the default resolution: pixels of four times the area collect four times the photons.
pub fn small() -> SimConfig {
    let d = SimConfig::default();
    SimConfig {
        columns: 1000,
        rows: 500,
        photons_high: 4.0 * d.photons_high,
        photons_low: 4.0 * d.photons_low,
        ..d
    }
}

/// Analysis calibrated for [`small`].
pub fn small_cfg() -> AnalysisConfig {
    let d = AnalysisConfig::default();
    AnalysisConfig {
        open_beam_photons: (4.0 * d.open_beam_photons.0, 4.0 * d.open_beam_photons.1),
        ..d
    }
}
