#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Integration tests for garita-wsq: one test binary (see STYLE.md §7) pulling in each module.

mod util;

mod decode_reference;
mod errors;
mod golden;
mod interop;
mod mutation;
