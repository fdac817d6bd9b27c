//! Retention and provable purge (docs/ledger.md, "What never goes in, and why purge works").
//!
//! Each [`RetentionRule`] expires captures of some payload types after a period. A purge, per rule: list the
//! expired captures, recompute each one's logged commitment from its envelope and salt, append purge entries
//! naming those commitments and the rule (durably), then delete the rows, the salts and the blobs nothing else
//! references. The log thus shows that each record existed and when, under which rule, it was deleted; with the
//! salt gone, the commitment can no longer be opened. If the process dies between the entry and the deletion, the
//! next run deletes the records and logs them again: a commitment may appear in more than one purge entry, never
//! in none.

use crate::{ApiError, AppState, ledger};
use garita_ledger::{Commitment, Label, LedgerEntry};
use garita_model::{PayloadType, SignedEnvelope};
use serde::Serialize;
use std::time::Duration;

/// How long captures of some payload types are kept.
#[derive(Debug, Clone)]
pub struct RetentionRule {
    /// Rule id, logged in purge entries (printable ASCII without spaces, e.g. `biometrics-5y`).
    pub id: String,
    /// Payload types it expires.
    pub payload_types: Vec<PayloadType>,
    /// How long they are kept after the server received them.
    pub keep: time::Duration,
}

/// What one purge did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PurgeReport {
    /// Per rule: captures deleted.
    pub rules: Vec<RulePurge>,
}

/// What one rule deleted.
#[derive(Debug, Clone, Serialize)]
pub struct RulePurge {
    /// Rule id.
    pub rule: String,
    /// Captures deleted.
    pub deleted: usize,
    /// Leaf indexes of the purge entries appended.
    pub purge_leaves: Vec<u64>,
    /// Blob files deleted.
    pub blobs_deleted: usize,
}

/// Most captures handled per batch (bounds memory and transaction size).
const BATCH: u32 = 1000;

/// Runs every configured rule once, as of the state's clock.
///
/// # Errors
/// When the store or the ledger fails; what was deleted before the failure stays deleted and logged.
pub async fn purge(state: &AppState) -> Result<PurgeReport, ApiError> {
    let mut report = PurgeReport::default();
    let now = state.now();
    for rule in &state.config.retention {
        let label = Label::new(&rule.id).map_err(|err| ApiError::internal(&err))?;
        let before = garita_store::ts(now - rule.keep);
        let types: Vec<&str> = rule
            .payload_types
            .iter()
            .map(|kind| kind.as_str())
            .collect();
        let mut done = RulePurge {
            rule: rule.id.clone(),
            deleted: 0,
            purge_leaves: Vec::new(),
            blobs_deleted: 0,
        };
        loop {
            let expired = state.store.expired_captures(&types, &before, BATCH).await?;
            if expired.is_empty() {
                break;
            }
            let mut commitments = Vec::with_capacity(expired.len());
            for capture in &expired {
                let signed: SignedEnvelope = serde_json::from_str(&capture.envelope_json)
                    .map_err(|err| ApiError::internal(&err))?;
                let salt: [u8; 32] = hex::decode(&capture.salt)
                    .ok()
                    .and_then(|bytes| bytes.try_into().ok())
                    .ok_or_else(|| ApiError::internal(&"stored salt is not 32 hex bytes"))?;
                commitments.push(Commitment::of_content(
                    salt,
                    &signed.envelope.canonical_bytes(),
                ));
            }
            for entry in LedgerEntry::purges(ledger::unix(now), &label, &commitments) {
                done.purge_leaves.push(ledger::append(state, entry).await?);
            }
            let ids: Vec<_> = expired.iter().map(|capture| capture.capture_id).collect();
            let orphans = state.store.delete_captures(&ids).await?;
            for sha256 in &orphans {
                state.store.blobs().delete(sha256).await?;
            }
            done.deleted += ids.len();
            done.blobs_deleted += orphans.len();
        }
        if done.deleted > 0 {
            // Deleted subjects must leave the 1:N gallery too.
            state.matcher.rebuild(&state.store).await?;
            tracing::info!(rule = %rule.id, deleted = done.deleted, "retention purge");
        }
        report.rules.push(done);
    }
    Ok(report)
}

/// Runs [`purge`] every `every` until the process ends; failures are logged and retried next time.
pub fn spawn(state: AppState, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            if let Err(err) = purge(&state).await {
                tracing::error!(error = %err.message, "retention purge failed; retrying later");
            }
        }
    })
}
