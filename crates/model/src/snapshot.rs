//! The watchlist snapshot a field terminal keeps for offline alerts (docs/terminal.md): the watchlist's entries
//! with the finger templates of each listed subject, versioned by the number of entries (entries are only ever
//! added), sent as deltas since the terminal's version, and signed by the server's log key over
//! [`snapshot_signing_bytes`] so the terminal can trust it under the key it already pins for proofs.

use crate::WatchlistCategory;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The first line of what the server signs; no checkpoint note can start with it (those start with the origin).
pub const SNAPSHOT_DOMAIN: &str = "garita-watchlist-snapshot/v1";

/// A snapshot or a delta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchlistSnapshot {
    /// The version this brings the terminal to: the number of watchlist entries.
    pub version: u64,
    /// The version it applies to (0: a full snapshot).
    pub since: u64,
    /// Entries added after `since`, oldest first.
    pub entries: Vec<SnapshotEntry>,
}

/// One watchlist entry as a terminal needs it: who, why, and the templates to match against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotEntry {
    /// The watchlist entry.
    pub id: Uuid,
    /// The listed subject.
    pub subject_id: Uuid,
    /// Why they are listed.
    pub category: WatchlistCategory,
    /// Finger templates (garita-finger's template bytes, standard base64).
    pub templates: Vec<String>,
}

/// What the server signs for a snapshot body: the domain line and the SHA-256 of the exact body bytes.
pub fn snapshot_signing_bytes(body: &[u8]) -> Vec<u8> {
    format!("{SNAPSHOT_DOMAIN}\n{}\n", crate::sha256_hex(body)).into_bytes()
}
