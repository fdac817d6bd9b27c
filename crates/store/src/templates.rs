//! Finger templates: which sample, encounter and subject each gallery entry stands for.

use crate::{Result, Store, parse_id};
use sqlx::Row;
use uuid::Uuid;

/// A stored template row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRow {
    /// Sample it was extracted from.
    pub sample_id: Uuid,
    /// Encounter of the sample.
    pub encounter_id: Uuid,
    /// Subject of the encounter.
    pub subject_id: Uuid,
    /// NIST position of the finger.
    pub position: u8,
    /// Blob holding the template bytes.
    pub blob_sha256: String,
}

impl Store {
    /// Records a template (its bytes already stored as a blob).
    ///
    /// # Errors
    /// On database failure.
    pub async fn insert_template(&self, row: &TemplateRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO templates (sample_id, encounter_id, subject_id, position, blob_sha256) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(row.sample_id.to_string())
        .bind(row.encounter_id.to_string())
        .bind(row.subject_id.to_string())
        .bind(i64::from(row.position))
        .bind(&row.blob_sha256)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Every template row (to build the in-memory gallery at start-up).
    ///
    /// # Errors
    /// On database failure.
    pub async fn all_templates(&self) -> Result<Vec<TemplateRow>> {
        let rows = sqlx::query(
            "SELECT sample_id, encounter_id, subject_id, position, blob_sha256 FROM templates",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(TemplateRow {
                    sample_id: parse_id("templates", &row.try_get::<String, _>("sample_id")?)?,
                    encounter_id: parse_id(
                        "templates",
                        &row.try_get::<String, _>("encounter_id")?,
                    )?,
                    subject_id: parse_id("templates", &row.try_get::<String, _>("subject_id")?)?,
                    position: u8::try_from(row.try_get::<i64, _>("position")?).unwrap_or(0),
                    blob_sha256: row.try_get("blob_sha256")?,
                })
            })
            .collect()
    }

    /// Watchlist entries of a subject, newest first.
    ///
    /// # Errors
    /// On database failure.
    pub async fn watchlist_of_subject(
        &self,
        subject_id: Uuid,
    ) -> Result<Vec<garita_model::WatchlistEntry>> {
        let rows = sqlx::query(
            "SELECT id, subject_id, category, source_agency, reason, created_at FROM watchlist \
             WHERE subject_id = $1 ORDER BY created_at DESC, id",
        )
        .bind(subject_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(crate::persons::watchlist_from_row)
            .collect()
    }
}
