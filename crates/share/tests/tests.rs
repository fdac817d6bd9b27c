#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! garita-share's integration tests (one binary, STYLE.md §7).
//!
//! - `select`: property test over random agreements and records: no own citizen, unknown or excluded citizenship,
//!   excluded category, disallowed kind, modality or field ever leaves; everything allowed does.
//! - `tamper`: a real bundle over a real ledger imports; every part altered, cut, replayed or misaddressed is refused
//!   with its precise error.

mod select;
mod tamper;
