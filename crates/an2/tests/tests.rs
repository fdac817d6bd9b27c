//! Integration tests of garita-an2 (one binary, see STYLE.md §7).

// Helpers outside `#[test]` functions fail loudly too: clippy.toml's test allowances only cover test functions.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::too_many_arguments
)]

mod util;

mod bad_inputs;
mod properties;
mod reference;
mod writing;
