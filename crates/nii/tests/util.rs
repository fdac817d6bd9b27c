//! Shared helpers for the integration tests.

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
