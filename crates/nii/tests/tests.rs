//! Integration tests of garita-nii, one binary (see STYLE.md section 7).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod analysis;
mod dicos;
mod sim;
mod util;
