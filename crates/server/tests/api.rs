#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End-to-end tests of the HTTP API on a real server bound to 127.0.0.1:0 (one test binary; STYLE.md §7).
//!
//! - `matrix`: every route in `openapi::ROUTES` × every role, nobody and a bogus token, with the expected
//!   outcome written out as a table; `/openapi.json` lists every route; personal-data reads are audited.
//! - `bad_input`: a table of bad requests, each with its exact status, error code and field, writing nothing;
//!   login, logout, token expiry, pagination.
//!
//! The crash test (SIGKILL during a stream of captures) drives the `garita` binary: see `tests/crash.rs` at the
//! repository root.

#[path = "api/bad_input.rs"]
mod bad_input;
#[path = "api/harness.rs"]
mod harness;
#[path = "api/matrix.rs"]
mod matrix;
