#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End-to-end tests of the HTTP API on a real server bound to 127.0.0.1:0 (one test binary; STYLE.md §7).
//!
//! - `matrix`: every route in `openapi::ROUTES` × every role, nobody and a bogus token, with the expected
//!   outcome written out as a table; `/openapi.json` lists every route; personal-data reads are audited.
//! - `an2_enrollment`: an ANSI/NIST transaction enrolled, exported, its WSQ decoded and its receipt verified.
//! - `enrollment_alerts`: 1:N search on enrollment raises the watchlist's category on a second impression.
//! - `cargo_scan`: a simulated dual-energy scan sent as a capture gets findings and a lane; officers add/reject.
//! - `cluster`: two in-process cluster nodes share one ledger (PostgreSQL + object store): a receipt from node B
//!   verifies a capture accepted at node A (skipped without GARITA_TEST_DATABASE).
//! - `cluster_search`: three in-process nodes split the 1:N gallery's shards over PostgreSQL; a lost node makes
//!   searches partial and pending, then re-run with their alerts (needs GARITA_TEST_DATABASE).
//! - `console`: every web-console route × every role and nobody; CSRF on every form; escaping; audit.
//! - `retention`: an expired capture is purged and the purge is logged.
//! - `sharing`: two agencies on loopback share, import, search, answer with a hit and cosign (issue #10).
//! - `terminal_agent`: the garita-terminal agent's watchlist snapshot, offline match, and duplicates after sync.
//! - `uploads`: resumable chunked uploads, exactly-once across both ingest paths, device-signed requests.
//! - `s3` (opt-in, `scripts/s3-test.sh`): a capture's image kept in a real S3-compatible server and served back
//!   byte-identical through the API.
//! - `bad_input`: a table of bad requests, each with its exact status, error code and field, writing nothing;
//!   login, logout, token expiry, pagination.
//!
//! The crash test (SIGKILL during a stream of captures) drives the `garita` binary: see `tests/crash.rs` at the
//! repository root.

#[path = "api/an2_enrollment.rs"]
mod an2_enrollment;
#[path = "api/bad_input.rs"]
mod bad_input;
#[path = "api/cargo_scan.rs"]
mod cargo_scan;
#[path = "api/cluster.rs"]
mod cluster;
#[path = "api/cluster_search.rs"]
mod cluster_search;
#[path = "api/console.rs"]
mod console;
#[path = "api/enrollment_alerts.rs"]
mod enrollment_alerts;
#[path = "api/harness.rs"]
mod harness;
#[path = "api/matrix.rs"]
mod matrix;
#[path = "api/retention.rs"]
mod retention;
#[path = "api/s3.rs"]
mod s3;
#[path = "api/sharing.rs"]
mod sharing;
#[path = "api/terminal_agent.rs"]
mod terminal_agent;
#[path = "api/uploads.rs"]
mod uploads;
