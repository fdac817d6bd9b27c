//! Subjects, encounters, samples, the watchlist and alerts: personal data (reads are audited by the server).

use crate::{
    LedgerRef, Page, Paged, Result, Store, StoreError, parse_enum, parse_id, parse_ts, ts,
};
use garita_model::{
    Alert, AlertStatus, CountryCode, Encounter, NistPosition, Quality, Sample, Sha256Hex, Subject,
    WatchlistCategory, WatchlistEntry,
};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use uuid::Uuid;

fn corrupt(table: &'static str) -> impl Fn(garita_model::ModelError) -> StoreError {
    move |err| StoreError::corrupt(table, err.to_string())
}

pub(crate) fn subject_from_row(row: &AnyRow) -> Result<Subject> {
    Ok(Subject {
        id: parse_id("subjects", &row.try_get::<String, _>("id")?)?,
        claimed_citizenship: row
            .try_get::<Option<String>, _>("claimed_citizenship")?
            .map(|c| CountryCode::new(&c).map_err(corrupt("subjects")))
            .transpose()?,
        given_name: row.try_get("given_name")?,
        family_name: row.try_get("family_name")?,
        created_at: parse_ts("subjects", &row.try_get::<String, _>("created_at")?)?,
    })
}

fn encounter_from_row(row: &AnyRow) -> Result<Encounter> {
    Ok(Encounter {
        id: parse_id("encounters", &row.try_get::<String, _>("id")?)?,
        subject_id: parse_id("encounters", &row.try_get::<String, _>("subject_id")?)?,
        site_id: parse_id("encounters", &row.try_get::<String, _>("site_id")?)?,
        device_id: parse_id("encounters", &row.try_get::<String, _>("device_id")?)?,
        capture_id: parse_id("encounters", &row.try_get::<String, _>("capture_id")?)?,
        captured_at: parse_ts("encounters", &row.try_get::<String, _>("captured_at")?)?,
    })
}

fn sample_from_row(row: &AnyRow) -> Result<Sample> {
    let position = u8::try_from(row.try_get::<i64, _>("position")?)
        .map_err(|_| StoreError::corrupt("samples", "position".into()))?;
    Ok(Sample {
        id: parse_id("samples", &row.try_get::<String, _>("id")?)?,
        encounter_id: parse_id("samples", &row.try_get::<String, _>("encounter_id")?)?,
        modality: parse_enum("samples", &row.try_get::<String, _>("modality")?)?,
        position: NistPosition::new(position).map_err(corrupt("samples"))?,
        format: parse_enum("samples", &row.try_get::<String, _>("format")?)?,
        quality: row
            .try_get::<Option<i64>, _>("quality")?
            .map(|q| Quality::new(u8::try_from(q).unwrap_or(255)).map_err(corrupt("samples")))
            .transpose()?,
        blob_sha256: Sha256Hex::new(&row.try_get::<String, _>("blob_sha256")?)
            .map_err(corrupt("samples"))?,
    })
}

pub(crate) fn watchlist_from_row(row: &AnyRow) -> Result<WatchlistEntry> {
    Ok(WatchlistEntry {
        id: parse_id("watchlist", &row.try_get::<String, _>("id")?)?,
        subject_id: parse_id("watchlist", &row.try_get::<String, _>("subject_id")?)?,
        category: parse_enum("watchlist", &row.try_get::<String, _>("category")?)?,
        source_agency: row.try_get("source_agency")?,
        reason: row.try_get("reason")?,
        created_at: parse_ts("watchlist", &row.try_get::<String, _>("created_at")?)?,
    })
}

fn alert_from_row(row: &AnyRow) -> Result<Alert> {
    Ok(Alert {
        id: parse_id("alerts", &row.try_get::<String, _>("id")?)?,
        encounter_id: parse_id("alerts", &row.try_get::<String, _>("encounter_id")?)?,
        candidate_subject_id: parse_id(
            "alerts",
            &row.try_get::<String, _>("candidate_subject_id")?,
        )?,
        category: parse_enum("alerts", &row.try_get::<String, _>("category")?)?,
        score: row.try_get("score")?,
        status: parse_enum("alerts", &row.try_get::<String, _>("status")?)?,
        decided_by: row
            .try_get::<Option<String>, _>("decided_by")?
            .map(|id| parse_id("alerts", &id))
            .transpose()?,
        decided_at: row
            .try_get::<Option<String>, _>("decided_at")?
            .map(|at| parse_ts("alerts", &at))
            .transpose()?,
        reason: row.try_get("reason")?,
        created_at: parse_ts("alerts", &row.try_get::<String, _>("created_at")?)?,
    })
}

const SUBJECT_COLUMNS: &str = "id, claimed_citizenship, given_name, family_name, created_at";
const ENCOUNTER_COLUMNS: &str = "id, subject_id, site_id, device_id, capture_id, captured_at";
const ALERT_COLUMNS: &str = "id, encounter_id, candidate_subject_id, category, score, status, decided_by, decided_at, reason, created_at";

impl Store {
    /// Lists subjects, newest first.
    ///
    /// # Errors
    /// On database failure.
    pub async fn list_subjects(&self, page: Page) -> Result<Paged<Subject>> {
        let rows = sqlx::query(&format!(
            "SELECT {SUBJECT_COLUMNS} FROM subjects ORDER BY created_at DESC, id LIMIT $1 OFFSET $2"
        ))
        .bind(page.sql_limit())
        .bind(page.sql_offset())
        .fetch_all(&self.pool)
        .await?;
        Ok(Paged::from_rows(
            rows.iter().map(subject_from_row).collect::<Result<_>>()?,
            page,
        ))
    }

    /// A subject.
    ///
    /// # Errors
    /// On database failure.
    pub async fn subject(&self, id: Uuid) -> Result<Option<Subject>> {
        let row = sqlx::query(&format!(
            "SELECT {SUBJECT_COLUMNS} FROM subjects WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(subject_from_row).transpose()
    }

    /// Lists encounters, newest first, optionally of one subject.
    ///
    /// # Errors
    /// On database failure.
    pub async fn list_encounters(
        &self,
        subject: Option<Uuid>,
        page: Page,
    ) -> Result<Paged<Encounter>> {
        let rows = sqlx::query(&format!(
            "SELECT {ENCOUNTER_COLUMNS} FROM encounters WHERE ($1 IS NULL OR subject_id = $1) \
             ORDER BY captured_at DESC, id LIMIT $2 OFFSET $3"
        ))
        .bind(subject.map(|id| id.to_string()))
        .bind(page.sql_limit())
        .bind(page.sql_offset())
        .fetch_all(&self.pool)
        .await?;
        Ok(Paged::from_rows(
            rows.iter().map(encounter_from_row).collect::<Result<_>>()?,
            page,
        ))
    }

    /// An encounter.
    ///
    /// # Errors
    /// On database failure.
    pub async fn encounter(&self, id: Uuid) -> Result<Option<Encounter>> {
        let row = sqlx::query(&format!(
            "SELECT {ENCOUNTER_COLUMNS} FROM encounters WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(encounter_from_row).transpose()
    }

    /// The samples of an encounter, in capture order of their position.
    ///
    /// # Errors
    /// On database failure.
    pub async fn samples_of_encounter(&self, encounter_id: Uuid) -> Result<Vec<Sample>> {
        let rows = sqlx::query(
            "SELECT id, encounter_id, modality, position, format, quality, blob_sha256 FROM samples \
             WHERE encounter_id = $1 ORDER BY modality, position, id",
        )
        .bind(encounter_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sample_from_row).collect()
    }

    /// A sample.
    ///
    /// # Errors
    /// On database failure.
    pub async fn sample(&self, id: Uuid) -> Result<Option<Sample>> {
        let row = sqlx::query(
            "SELECT id, encounter_id, modality, position, format, quality, blob_sha256 FROM samples WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(sample_from_row).transpose()
    }

    /// Lists a subject on the watchlist.
    ///
    /// # Errors
    /// `NotFound` when the subject does not exist.
    pub async fn add_watchlist(
        &self,
        subject_id: Uuid,
        category: WatchlistCategory,
        source_agency: &str,
        reason: &str,
        created_by: Uuid,
        now: OffsetDateTime,
    ) -> Result<WatchlistEntry> {
        if self.subject(subject_id).await?.is_none() {
            return Err(StoreError::NotFound { what: "subject" });
        }
        let entry = WatchlistEntry {
            id: Uuid::new_v4(),
            subject_id,
            category,
            source_agency: source_agency.to_owned(),
            reason: reason.to_owned(),
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO watchlist (id, subject_id, category, source_agency, reason, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(entry.id.to_string())
        .bind(subject_id.to_string())
        .bind(category.as_str())
        .bind(source_agency)
        .bind(reason)
        .bind(created_by.to_string())
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(entry)
    }

    /// Lists the watchlist, newest first.
    ///
    /// # Errors
    /// On database failure.
    pub async fn list_watchlist(&self, page: Page) -> Result<Paged<WatchlistEntry>> {
        let rows = sqlx::query(
            "SELECT id, subject_id, category, source_agency, reason, created_at FROM watchlist \
             ORDER BY created_at DESC, id LIMIT $1 OFFSET $2",
        )
        .bind(page.sql_limit())
        .bind(page.sql_offset())
        .fetch_all(&self.pool)
        .await?;
        Ok(Paged::from_rows(
            rows.iter().map(watchlist_from_row).collect::<Result<_>>()?,
            page,
        ))
    }

    /// Raises an alert.
    ///
    /// # Errors
    /// On database failure.
    pub async fn insert_alert(
        &self,
        encounter_id: Uuid,
        candidate_subject_id: Uuid,
        category: WatchlistCategory,
        score: f64,
        now: OffsetDateTime,
    ) -> Result<Alert> {
        let alert = Alert {
            id: Uuid::new_v4(),
            encounter_id,
            candidate_subject_id,
            category,
            score,
            status: AlertStatus::Open,
            decided_by: None,
            decided_at: None,
            reason: None,
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO alerts (id, encounter_id, candidate_subject_id, category, score, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(alert.id.to_string())
        .bind(encounter_id.to_string())
        .bind(candidate_subject_id.to_string())
        .bind(category.as_str())
        .bind(score)
        .bind(AlertStatus::Open.as_str())
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(alert)
    }

    /// Lists alerts, newest first, optionally with one status.
    ///
    /// # Errors
    /// On database failure.
    pub async fn list_alerts(
        &self,
        status: Option<AlertStatus>,
        page: Page,
    ) -> Result<Paged<Alert>> {
        let rows = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE ($1 IS NULL OR status = $1) \
             ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
        ))
        .bind(status.map(AlertStatus::as_str))
        .bind(page.sql_limit())
        .bind(page.sql_offset())
        .fetch_all(&self.pool)
        .await?;
        Ok(Paged::from_rows(
            rows.iter().map(alert_from_row).collect::<Result<_>>()?,
            page,
        ))
    }

    /// The alerts an encounter raised, highest score first.
    ///
    /// # Errors
    /// On database failure.
    pub async fn alerts_of_encounter(&self, encounter_id: Uuid) -> Result<Vec<Alert>> {
        let rows = sqlx::query(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE encounter_id = $1 ORDER BY score DESC, id"
        ))
        .bind(encounter_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(alert_from_row).collect()
    }

    /// An alert.
    ///
    /// # Errors
    /// On database failure.
    pub async fn alert(&self, id: Uuid) -> Result<Option<Alert>> {
        let row = sqlx::query(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(alert_from_row).transpose()
    }

    /// Records an officer's confirmation or dismissal, already appended to the ledger at `ledger`.
    ///
    /// # Errors
    /// `NotFound` when there is no such alert.
    #[allow(clippy::too_many_arguments)]
    pub async fn set_alert_status(
        &self,
        id: Uuid,
        status: AlertStatus,
        by: Uuid,
        reason: &str,
        now: OffsetDateTime,
        ledger: &LedgerRef,
    ) -> Result<Alert> {
        let done = sqlx::query(
            "UPDATE alerts SET status = $1, decided_by = $2, decided_at = $3, reason = $4, status_salt = $5, \
             status_leaf_index = $6 WHERE id = $7",
        )
        .bind(status.as_str())
        .bind(by.to_string())
        .bind(ts(now))
        .bind(reason)
        .bind(&ledger.salt)
        .bind(ledger.sql_index())
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound { what: "alert" });
        }
        self.alert(id)
            .await?
            .ok_or(StoreError::NotFound { what: "alert" })
    }
}
