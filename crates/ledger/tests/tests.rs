//! Integration tests for garita-ledger, in one binary (see STYLE.md §7).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod crash;
mod interop;
mod robustness;
mod vectors;
mod verify;
mod witness;
