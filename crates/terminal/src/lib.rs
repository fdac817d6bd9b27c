//! garita's field terminal agent: captures are signed and queued durably on the terminal, then forwarded to the
//! central server exactly once whenever a link exists (docs/terminal.md).
//!
//! - [`Outbox`] (`outbox.rs`): `DIR/outbox.db`, SQLite with `synchronous=FULL`; [`Outbox::enqueue`] signs a
//!   capture with the device key and the next sequence number and returns once it is on disk. Captures are
//!   sealed at rest with XChaCha20-Poly1305 under an Argon2id key from the operator's passphrase ([`seal`]).
//! - [`Agent`] (`forward.rs`): sends the outbox in sequence order with exponential backoff and jitter, large
//!   captures as resumable chunked uploads, stores receipts and verifies each capture's inclusion proof against
//!   the pinned ledger key, and keeps the local watchlist snapshot up to date.
//! - `watchlist.rs`: the signed, versioned watchlist snapshot (sealed like the outbox) and [`match_images`], the
//!   offline 1:N search of an enrollment's fingers against it with garita-finger.
//!
//! In scope: the terminal's own storage, signing, forwarding and verification. Out of scope: serving HTTP (the
//! terminal is a client only), the server's ingest (garita-server), capture devices' drivers.
//!
//! ```no_run
//! # async fn demo() -> Result<(), garita_terminal::TerminalError> {
//! use garita_model::{DeviceKey, PayloadType};
//! let key = DeviceKey::generate();
//! let outbox = garita_terminal::Outbox::open("kit".as_ref(), uuid::Uuid::nil(), b"passphrase").await?;
//! let seq = outbox
//!     .enqueue(&key, PayloadType::Encounter, b"{}".to_vec(), vec![], time::OffsetDateTime::now_utc())
//!     .await?;
//! let config = garita_terminal::AgentConfig::new("http://127.0.0.1:8080", "garita.local/ledger+...");
//! let report = garita_terminal::Agent::new(outbox, key, config)?.run().await?;
//! # let _ = (seq, report); Ok(()) }
//! ```

mod error;
mod forward;
mod outbox;
pub mod seal;
mod watchlist;

pub use error::TerminalError;
pub use forward::{Agent, AgentConfig, RunReport};
pub use outbox::{Capture, CaptureStatus, Outbox, Pending, Summary, list, summary};
pub use watchlist::{LOCAL_ALERT_FMR, LocalAlert, match_images, match_templates, verify_snapshot};

/// Opens the outbox database of `dir` read-only for status (no passphrase needed: nothing sealed is read).
///
/// # Errors
/// When there is no outbox in `dir` or the database fails.
pub async fn open_for_status(dir: &std::path::Path) -> Result<sqlx::SqlitePool, TerminalError> {
    let file = dir.join("outbox.db");
    if !file.exists() {
        return Err(TerminalError::Io {
            path: file,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no outbox here"),
        });
    }
    outbox::open_pool(&file).await
}
