//! Retention: finding expired captures and deleting them with everything they created.
//!
//! The server drives a purge in two steps so that the ledger can say what was deleted before it is gone:
//! [`Store::expired_captures`] lists what a rule expires (with the salt and envelope needed to recompute each
//! logged commitment), the server appends the purge entries, then [`Store::delete_captures`] removes the rows
//! in one transaction and returns the blobs nothing references any more, which the caller deletes.

use crate::{Result, Store, parse_id};
use sqlx::Row;
use uuid::Uuid;

/// A capture a retention rule has expired.
#[derive(Debug, Clone)]
pub struct ExpiredCapture {
    /// Capture id.
    pub capture_id: Uuid,
    /// Ledger salt, hex.
    pub salt: String,
    /// The signed envelope JSON (its canonical bytes are what the ledger committed to).
    pub envelope_json: String,
}

impl Store {
    /// Captures of `payload_types` received before `before` (fixed-width UTC text), oldest first, at most `limit`.
    ///
    /// # Errors
    /// On database failure.
    pub async fn expired_captures(
        &self,
        payload_types: &[&str],
        before: &str,
        limit: u32,
    ) -> Result<Vec<ExpiredCapture>> {
        let mut expired = Vec::new();
        for payload_type in payload_types {
            let rows = sqlx::query(
                "SELECT id, salt, envelope_json FROM captures WHERE payload_type = $1 AND received_at < $2 \
                 ORDER BY received_at, id LIMIT $3",
            )
            .bind(*payload_type)
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
            for row in rows {
                expired.push(ExpiredCapture {
                    capture_id: parse_id("captures", &row.try_get::<String, _>("id")?)?,
                    salt: row.try_get("salt")?,
                    envelope_json: row.try_get("envelope_json")?,
                });
            }
        }
        Ok(expired)
    }

    /// Deletes captures and what they created (encounters, samples, alerts, subjects left with no encounter and
    /// not on the watchlist, consignments with their manifests, decisions and seizures) in one transaction.
    /// Returns the blob names no remaining row references; the caller deletes those files.
    ///
    /// # Errors
    /// On database failure (then nothing is deleted).
    pub async fn delete_captures(&self, capture_ids: &[Uuid]) -> Result<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let mut candidates: Vec<String> = Vec::new();
        for capture_id in capture_ids {
            let id = capture_id.to_string();
            let payload: Option<Option<String>> =
                sqlx::query_scalar("SELECT payload_sha256 FROM captures WHERE id = $1")
                    .bind(&id)
                    .fetch_optional(&mut *tx)
                    .await?;
            candidates.extend(payload.flatten());
            let blob_rows = sqlx::query(
                "SELECT sha256 FROM capture_blobs WHERE capture_id = $1 \
                 UNION SELECT s.blob_sha256 FROM samples s JOIN encounters e ON e.id = s.encounter_id WHERE e.capture_id = $1 \
                 UNION SELECT t.blob_sha256 FROM templates t JOIN encounters e ON e.id = t.encounter_id WHERE e.capture_id = $1",
            )
            .bind(&id)
            .fetch_all(&mut *tx)
            .await?;
            for row in blob_rows {
                candidates.push(row.try_get(0)?);
            }
            let subjects: Vec<String> =
                sqlx::query_scalar("SELECT subject_id FROM encounters WHERE capture_id = $1")
                    .bind(&id)
                    .fetch_all(&mut *tx)
                    .await?;
            for statement in [
                "DELETE FROM alerts WHERE encounter_id IN (SELECT id FROM encounters WHERE capture_id = $1)",
                "DELETE FROM templates WHERE encounter_id IN (SELECT id FROM encounters WHERE capture_id = $1)",
                "DELETE FROM samples WHERE encounter_id IN (SELECT id FROM encounters WHERE capture_id = $1)",
                "DELETE FROM encounters WHERE capture_id = $1",
                "DELETE FROM manifest_lines WHERE consignment_id IN (SELECT id FROM consignments WHERE capture_id = $1)",
                "DELETE FROM decisions WHERE consignment_id IN (SELECT id FROM consignments WHERE capture_id = $1)",
                "DELETE FROM seizures WHERE consignment_id IN (SELECT id FROM consignments WHERE capture_id = $1)",
                "DELETE FROM findings WHERE consignment_id IN (SELECT id FROM consignments WHERE capture_id = $1)",
                "DELETE FROM consignments WHERE capture_id = $1",
                "DELETE FROM capture_blobs WHERE capture_id = $1",
                "DELETE FROM captures WHERE id = $1",
            ] {
                sqlx::query(statement).bind(&id).execute(&mut *tx).await?;
            }
            for subject in subjects {
                let still_used: i64 = sqlx::query_scalar(
                    "SELECT (SELECT COUNT(*) FROM encounters WHERE subject_id = $1) + (SELECT COUNT(*) FROM watchlist WHERE subject_id = $1)",
                )
                .bind(&subject)
                .fetch_one(&mut *tx)
                .await?;
                if still_used == 0 {
                    sqlx::query("DELETE FROM alerts WHERE candidate_subject_id = $1")
                        .bind(&subject)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("DELETE FROM subjects WHERE id = $1")
                        .bind(&subject)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        candidates.sort();
        candidates.dedup();
        let mut orphans = Vec::new();
        for sha256 in candidates {
            let references: i64 = sqlx::query_scalar(
                "SELECT (SELECT COUNT(*) FROM captures WHERE payload_sha256 = $1) \
                 + (SELECT COUNT(*) FROM capture_blobs WHERE sha256 = $1) \
                 + (SELECT COUNT(*) FROM samples WHERE blob_sha256 = $1) \
                 + (SELECT COUNT(*) FROM templates WHERE blob_sha256 = $1)",
            )
            .bind(&sha256)
            .fetch_one(&mut *tx)
            .await?;
            if references == 0 {
                orphans.push(sha256);
            }
        }
        tx.commit().await?;
        Ok(orphans)
    }
}
