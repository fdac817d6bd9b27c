//! Signed captures and what they create, written in one transaction.

use crate::{Result, Store, StoreError, parse_id, parse_ts, ts};
use garita_model::payload::{ConsignmentCapture, SampleSpec, SubjectClaim};
use garita_model::{SignedEnvelope, canonical_time};
use serde::Serialize;
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

/// What an accepted capture creates besides its own row.
#[derive(Debug, Clone)]
pub enum CaptureEffect {
    /// A subject, an encounter and its samples; each sample names the blob (already stored) with its bytes.
    Encounter {
        /// Declared identity.
        subject: SubjectClaim,
        /// Samples with the SHA-256 of their blob.
        samples: Vec<(SampleSpec, String)>,
    },
    /// A consignment and its manifest.
    Consignment(ConsignmentCapture),
}

/// An accepted, verified capture ready to be written.
#[derive(Debug, Clone)]
pub struct NewCapture {
    /// The verified envelope.
    pub signed: SignedEnvelope,
    /// Site of the device.
    pub site_id: Uuid,
    /// When the server received it.
    pub received_at: OffsetDateTime,
    /// Per-record ledger salt, hex.
    pub salt: String,
    /// Leaf index of the capture's ledger entry (appended before this row is written).
    pub leaf_index: Option<u64>,
    /// What it creates.
    pub effect: CaptureEffect,
}

/// What the device gets back: proof that the server holds its capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Receipt {
    /// Capture id.
    pub capture_id: Uuid,
    /// Device.
    pub device_id: Uuid,
    /// Sequence number.
    pub seq: u64,
    /// SHA-256 of the envelope's canonical bytes.
    pub envelope_sha256: String,
    /// When the server accepted it.
    pub received_at: String,
    /// Index of its entry in the transparency log, once appended.
    pub leaf_index: Option<u64>,
    /// Encounter created, for `encounter` captures.
    pub encounter_id: Option<Uuid>,
    /// Consignment created, for `consignment` captures.
    pub consignment_id: Option<Uuid>,
}

/// Result of an ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Newly written.
    Created(Receipt),
    /// Same device and sequence number with identical content: the original receipt.
    Duplicate(Receipt),
    /// Same device and sequence number with different content.
    Conflict {
        /// The capture already holding that sequence number.
        existing: Uuid,
    },
}

/// A stored capture row (for ledger and audit use).
#[derive(Debug, Clone)]
pub struct StoredCapture {
    /// Receipt view.
    pub receipt: Receipt,
    /// Payload type text.
    pub payload_type: String,
    /// Ledger salt, hex.
    pub salt: String,
    /// The signed envelope as received (JSON).
    pub envelope_json: String,
}

impl Store {
    /// Writes a verified capture and its effects atomically, or reports a duplicate or conflict.
    ///
    /// # Errors
    /// On database failure.
    pub async fn ingest_capture(&self, capture: &NewCapture) -> Result<IngestOutcome> {
        let envelope = &capture.signed.envelope;
        let envelope_sha256 = garita_model::sha256_hex(&envelope.canonical_bytes());
        if let Some(outcome) = self
            .existing_capture(envelope.device_id, envelope.seq, &envelope_sha256)
            .await?
        {
            return Ok(outcome);
        }
        let capture_id = Uuid::new_v4();
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO captures (id, device_id, seq, payload_type, envelope_sha256, envelope_json, captured_at, received_at, salt, leaf_index, payload_sha256) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(capture_id.to_string())
        .bind(envelope.device_id.to_string())
        .bind(i64::try_from(envelope.seq).map_err(|_| StoreError::corrupt("captures", "seq above 2^63".into()))?)
        .bind(envelope.payload_type.as_str())
        .bind(&envelope_sha256)
        .bind(serde_json::to_string(&capture.signed).map_err(|err| StoreError::corrupt("captures", err.to_string()))?)
        .bind(canonical_time(envelope.captured_at))
        .bind(ts(capture.received_at))
        .bind(&capture.salt)
        .bind(capture.leaf_index.and_then(|index| i64::try_from(index).ok()))
        .bind(envelope.payload_sha256.as_str())
        .execute(&mut *tx)
        .await;
        if let Err(err) = inserted {
            // A concurrent request with the same (device, seq) won the race: answer as if we came second.
            if let sqlx::Error::Database(db) = &err
                && db.is_unique_violation()
            {
                drop(tx);
                if let Some(outcome) = self
                    .existing_capture(envelope.device_id, envelope.seq, &envelope_sha256)
                    .await?
                {
                    return Ok(outcome);
                }
            }
            return Err(err.into());
        }
        for (index, blob) in envelope.blobs.iter().enumerate() {
            sqlx::query(
                "INSERT INTO capture_blobs (capture_id, idx, sha256, size) VALUES ($1, $2, $3, $4)",
            )
            .bind(capture_id.to_string())
            .bind(index as i64)
            .bind(blob.sha256.as_str())
            .bind(i64::try_from(blob.size).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        }
        let mut receipt = Receipt {
            capture_id,
            device_id: envelope.device_id,
            seq: envelope.seq,
            envelope_sha256,
            received_at: ts(capture.received_at),
            leaf_index: capture.leaf_index,
            encounter_id: None,
            consignment_id: None,
        };
        match &capture.effect {
            CaptureEffect::Encounter { subject, samples } => {
                let subject_id = Uuid::new_v4();
                sqlx::query(
                    "INSERT INTO subjects (id, claimed_citizenship, given_name, family_name, created_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(subject_id.to_string())
                .bind(subject.claimed_citizenship.as_ref().map(|c| c.as_str().to_owned()))
                .bind(&subject.given_name)
                .bind(&subject.family_name)
                .bind(ts(capture.received_at))
                .execute(&mut *tx)
                .await?;
                let encounter_id = Uuid::new_v4();
                sqlx::query(
                    "INSERT INTO encounters (id, subject_id, site_id, device_id, capture_id, captured_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(encounter_id.to_string())
                .bind(subject_id.to_string())
                .bind(capture.site_id.to_string())
                .bind(envelope.device_id.to_string())
                .bind(capture_id.to_string())
                .bind(canonical_time(envelope.captured_at))
                .execute(&mut *tx)
                .await?;
                for (spec, sha256) in samples {
                    sqlx::query(
                        "INSERT INTO samples (id, encounter_id, modality, position, format, quality, blob_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(Uuid::new_v4().to_string())
                    .bind(encounter_id.to_string())
                    .bind(spec.modality.as_str())
                    .bind(i64::from(spec.position.code()))
                    .bind(spec.format.as_str())
                    .bind(spec.quality.map(|q| i64::from(q.value())))
                    .bind(sha256)
                    .execute(&mut *tx)
                    .await?;
                }
                receipt.encounter_id = Some(encounter_id);
            }
            CaptureEffect::Consignment(consignment) => {
                let consignment_id = Uuid::new_v4();
                crate::cargo::insert_consignment(
                    &mut tx,
                    consignment_id,
                    capture_id,
                    capture.site_id,
                    consignment,
                    capture.received_at,
                )
                .await?;
                receipt.consignment_id = Some(consignment_id);
            }
        }
        tx.commit().await?;
        Ok(IngestOutcome::Created(receipt))
    }

    /// Whether (device, seq) is taken: the duplicate or conflict outcome, or `None` when free.
    ///
    /// # Errors
    /// On database failure.
    pub async fn existing_capture(
        &self,
        device_id: Uuid,
        seq: u64,
        envelope_sha256: &str,
    ) -> Result<Option<IngestOutcome>> {
        let Some(stored) = self.capture_by_device_seq(device_id, seq).await? else {
            return Ok(None);
        };
        Ok(Some(if stored.receipt.envelope_sha256 == envelope_sha256 {
            IngestOutcome::Duplicate(stored.receipt)
        } else {
            IngestOutcome::Conflict {
                existing: stored.receipt.capture_id,
            }
        }))
    }

    /// A capture by device and sequence number.
    ///
    /// # Errors
    /// On database failure.
    pub async fn capture_by_device_seq(
        &self,
        device_id: Uuid,
        seq: u64,
    ) -> Result<Option<StoredCapture>> {
        self.capture_where(
            "c.device_id = $1 AND c.seq = $2",
            device_id.to_string(),
            i64::try_from(seq).unwrap_or(i64::MAX),
        )
        .await
    }

    /// A capture by id.
    ///
    /// # Errors
    /// On database failure.
    pub async fn capture(&self, id: Uuid) -> Result<Option<StoredCapture>> {
        self.capture_where("c.id = $1 AND $2 = 0", id.to_string(), 0)
            .await
    }

    async fn capture_where(
        &self,
        condition: &str,
        first: String,
        second: i64,
    ) -> Result<Option<StoredCapture>> {
        let row = sqlx::query(
            &(r#"SELECT c.id, c.device_id, c.seq, c.envelope_sha256, c.received_at, c.leaf_index, c.payload_type, c.salt, c.envelope_json,
             (SELECT e.id FROM encounters e WHERE e.capture_id = c.id) AS encounter_id, 
             (SELECT k.id FROM consignments k WHERE k.capture_id = c.id) AS consignment_id 
             FROM captures c WHERE "#.to_owned() + condition),
        )
        .bind(first)
        .bind(second)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let optional_id = |column: &str| -> Result<Option<Uuid>> {
            row.try_get::<Option<String>, _>(column)?
                .map(|text| parse_id("captures", &text))
                .transpose()
        };
        let received_at: String = row.try_get("received_at")?;
        parse_ts("captures", &received_at)?;
        Ok(Some(StoredCapture {
            receipt: Receipt {
                capture_id: parse_id("captures", &row.try_get::<String, _>("id")?)?,
                device_id: parse_id("captures", &row.try_get::<String, _>("device_id")?)?,
                seq: u64::try_from(row.try_get::<i64, _>("seq")?).unwrap_or(0),
                envelope_sha256: row.try_get("envelope_sha256")?,
                received_at,
                leaf_index: row
                    .try_get::<Option<i64>, _>("leaf_index")?
                    .and_then(|i| u64::try_from(i).ok()),
                encounter_id: optional_id("encounter_id")?,
                consignment_id: optional_id("consignment_id")?,
            },
            payload_type: row.try_get("payload_type")?,
            salt: row.try_get("salt")?,
            envelope_json: row.try_get("envelope_json")?,
        }))
    }

    /// Number of captures stored.
    ///
    /// # Errors
    /// On database failure.
    pub async fn count_captures(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM captures")
            .fetch_one(&self.pool)
            .await?)
    }
}
