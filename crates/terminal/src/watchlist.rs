//! The local watchlist: a signed, versioned snapshot of watchlisted subjects' finger templates, kept sealed beside
//! the outbox and updated by deltas when online, so an enrollment can raise an alert on site with no link. The
//! server re-searches every capture on arrival and is authoritative; the local alert is a first warning.

use crate::TerminalError;
use crate::outbox::Outbox;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Verifier;
use garita_finger::{Gallery, SearchParams, Template, threshold_for_fmr};
use garita_model::WatchlistCategory;
use garita_model::snapshot::{SnapshotEntry, WatchlistSnapshot, snapshot_signing_bytes};
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

/// Decision threshold of a local hit, as a false match rate per finger comparison: the server's (1 in 10,000).
pub const LOCAL_ALERT_FMR: f64 = 1e-4;
/// Candidates kept per probe finger.
const TOP_K: usize = 10;

/// A watchlist hit found on the terminal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalAlert {
    /// The listed subject.
    pub subject_id: Uuid,
    /// Why they are listed.
    pub category: WatchlistCategory,
    /// Best finger score against them.
    pub score: f32,
}

/// The Ed25519 key inside a signed-note verifier key `<name>+<id>+<base64(0x01 || key)>`.
fn note_key(vkey: &str) -> Result<ed25519_dalek::VerifyingKey, TerminalError> {
    let bad =
        || TerminalError::Snapshot("the log key is not a signed-note Ed25519 verifier key".into());
    // Name and key id contain no '+'; the base64 key material may.
    let material = vkey.trim().splitn(3, '+').nth(2).ok_or_else(bad)?;
    let bytes = B64.decode(material.as_bytes()).map_err(|_| bad())?;
    let (alg, key) = bytes.split_first().ok_or_else(bad)?;
    let key: [u8; 32] = key.try_into().map_err(|_| bad())?;
    if *alg != 0x01 {
        return Err(bad());
    }
    ed25519_dalek::VerifyingKey::from_bytes(&key).map_err(|_| bad())
}

/// Checks the server's signature (header value, base64) on a snapshot body under the pinned log key, then parses.
///
/// # Errors
/// `Snapshot` when the signature is missing, malformed or wrong, or the body is not a snapshot.
pub fn verify_snapshot(
    log_vkey: &str,
    body: &[u8],
    signature: &str,
) -> Result<WatchlistSnapshot, TerminalError> {
    let key = note_key(log_vkey)?;
    let signature: [u8; 64] = B64
        .decode(signature.trim().as_bytes())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| TerminalError::Snapshot("the signature is not 64 bytes of base64".into()))?;
    key.verify(
        &snapshot_signing_bytes(body),
        &ed25519_dalek::Signature::from_bytes(&signature),
    )
    .map_err(|_| {
        TerminalError::Snapshot("the signature does not verify under the log key".into())
    })?;
    serde_json::from_slice(body).map_err(|err| TerminalError::Snapshot(err.to_string()))
}

fn what(entry: Uuid) -> String {
    format!("watchlist {entry}")
}

impl Outbox {
    /// The version of the local snapshot (0: none).
    ///
    /// # Errors
    /// On database failure.
    pub async fn watchlist_version(&self) -> Result<u64, TerminalError> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT value FROM meta WHERE name = 'watchlist_version'")
                .fetch_optional(self.pool())
                .await?;
        Ok(text.and_then(|t| t.parse().ok()).unwrap_or(0))
    }

    /// Applies a verified snapshot or delta in one transaction: a full one (`since` 0) replaces the local copy.
    ///
    /// # Errors
    /// `Snapshot` when a delta does not start at the local version; database failures.
    pub async fn apply_snapshot(&self, snapshot: &WatchlistSnapshot) -> Result<(), TerminalError> {
        let local = self.watchlist_version().await?;
        if snapshot.since != 0 && snapshot.since != local {
            return Err(TerminalError::Snapshot(format!(
                "a delta from v{} does not apply to the local v{local}",
                snapshot.since
            )));
        }
        let mut tx = self.pool().begin().await?;
        if snapshot.since == 0 {
            sqlx::query("DELETE FROM watchlist")
                .execute(&mut *tx)
                .await?;
        }
        for entry in &snapshot.entries {
            let plain =
                serde_json::to_vec(entry).map_err(|err| TerminalError::Corrupt(err.to_string()))?;
            let sealed = self.key().seal(&what(entry.id), &plain)?;
            sqlx::query(
                "INSERT INTO watchlist (entry_id, sealed) VALUES ($1, $2) \
                 ON CONFLICT (entry_id) DO UPDATE SET sealed = excluded.sealed",
            )
            .bind(entry.id.to_string())
            .bind(sealed)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO meta (name, value) VALUES ('watchlist_version', $1) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(snapshot.version.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The local watchlist entries, decrypted.
    ///
    /// # Errors
    /// On database failure or a record that does not open.
    pub async fn watchlist_entries(&self) -> Result<Vec<SnapshotEntry>, TerminalError> {
        let rows = sqlx::query("SELECT entry_id, sealed FROM watchlist ORDER BY entry_id")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("entry_id")?;
                let id: Uuid = id
                    .parse()
                    .map_err(|_| TerminalError::Corrupt("watchlist entry id".into()))?;
                let sealed: Vec<u8> = row.try_get("sealed")?;
                serde_json::from_slice(&self.key().open(&what(id), &sealed)?)
                    .map_err(|err| TerminalError::Corrupt(err.to_string()))
            })
            .collect()
    }
}

/// Searches finger samples (WSQ or PNG images, ISO/IEC 19794-2 records) against the local watchlist; returns the
/// listed subjects whose best finger score clears the [`LOCAL_ALERT_FMR`] threshold, best first. Samples that do
/// not decode are skipped.
pub fn match_images(entries: &[SnapshotEntry], images: &[Vec<u8>]) -> Vec<LocalAlert> {
    let probes: Vec<Template> = images
        .iter()
        .filter_map(|image| garita_finger::template_from_bytes(image, None).ok())
        .collect();
    match_templates(entries, &probes)
}

/// [`match_images`] for templates already extracted (the terminal extracts once, to advise on each finger too).
pub fn match_templates(entries: &[SnapshotEntry], probes: &[Template]) -> Vec<LocalAlert> {
    let mut gallery: Gallery<usize> = Gallery::new();
    for (index, entry) in entries.iter().enumerate() {
        for text in &entry.templates {
            if let Some(template) = B64
                .decode(text.as_bytes())
                .ok()
                .and_then(|bytes| Template::from_bytes(&bytes).ok())
            {
                gallery.add(index, template);
            }
        }
    }
    let threshold = threshold_for_fmr(LOCAL_ALERT_FMR);
    let mut best: Vec<(usize, f32)> = Vec::new();
    for probe in probes {
        for candidate in gallery.search(probe, TOP_K, SearchParams::default()) {
            if candidate.score < threshold {
                continue;
            }
            match best.iter_mut().find(|(index, _)| *index == candidate.id) {
                Some((_, score)) => *score = score.max(candidate.score),
                None => best.push((candidate.id, candidate.score)),
            }
        }
    }
    best.sort_by(|a, b| b.1.total_cmp(&a.1));
    best.into_iter()
        .filter_map(|(index, score)| {
            entries.get(index).map(|entry| LocalAlert {
                subject_id: entry.subject_id,
                category: entry.category,
                score,
            })
        })
        .collect()
}
