//! Partner sharing: agreements, exports (with the records each carried), the partner's cosignatures, imports with
//! their provenance, and hit answers. What the console lists comes from here ([`Store::list_agreements`],
//! [`Store::list_exports`], [`Store::list_cosignatures`], [`Store::list_imports`], [`Store::list_answers`]).

use crate::{LedgerRef, Result, Store, StoreError, parse_id, parse_ts, ts};
use garita_model::{Alert, AlertStatus, WatchlistCategory};
use garita_share::Agreement;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeSet;
use time::OffsetDateTime;
use uuid::Uuid;

/// A stored agreement.
#[derive(Debug, Clone, Serialize)]
pub struct AgreementRecord {
    /// The agreement as created.
    pub agreement: Agreement,
    /// Who created it.
    pub created_by: Uuid,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Its ledger entry.
    pub leaf_index: u64,
}

/// One export: a bundle sent (or ready to be fetched) under an agreement.
#[derive(Debug, Clone, Serialize)]
pub struct ExportSummary {
    /// The bundle id.
    pub id: Uuid,
    /// Agreement.
    pub agreement_id: Uuid,
    /// Sequence under the agreement.
    pub sequence: u64,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// What it covered: `time:<rfc3339>` or `size:<tree size>`.
    pub since: String,
    /// The checkpoint every proof in it is relative to.
    pub checkpoint: String,
    /// That checkpoint's tree size.
    pub tree_size: u64,
    /// Records in it.
    pub record_count: u64,
    /// The bundle's blob (SHA-256 hex).
    pub bundle_sha256: String,
    /// The user who exported it (none for the live feed).
    pub created_by: Option<Uuid>,
    /// Partners whose cosignature of the checkpoint we hold.
    pub cosigned_by: Vec<String>,
}

/// One record of an export, mapping the reference the partner sees to our record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportedRecord {
    /// Reference in the bundle.
    pub reference: Uuid,
    /// Record kind.
    pub kind: String,
    /// Our record.
    pub source_id: Uuid,
    /// Leaf index of its `share.record` ledger entry.
    pub leaf_index: u64,
    /// Salt of that entry's commitment, hex.
    pub salt: String,
}

/// A partner's witness cosignature of an exported checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct CosignatureRecord {
    /// The export whose checkpoint it cosigns.
    pub export_id: Uuid,
    /// The partner.
    pub partner_name: String,
    /// The `cosignature/v1` line(s).
    pub lines: String,
    /// When we received it.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
}

/// One import: a partner's bundle that passed every check, with its provenance.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    /// The bundle id.
    pub id: Uuid,
    /// Agreement.
    pub agreement_id: Uuid,
    /// Sequence under the agreement.
    pub sequence: u64,
    /// Who sent it.
    pub partner_name: String,
    /// The sender's checkpoint, as sent.
    pub checkpoint: String,
    /// Its tree size.
    pub tree_size: u64,
    /// Its root, hex.
    pub root: String,
    /// Records imported.
    pub record_count: u64,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub imported_at: OffsetDateTime,
    /// Our cosignature of the checkpoint, once made.
    pub cosignature: Option<String>,
}

/// A record received from a partner.
#[derive(Debug, Clone, Serialize)]
pub struct ImportedRecordRow {
    /// Its reference (as the sender knows it).
    pub reference: Uuid,
    /// The import that brought it.
    pub import_id: Uuid,
    /// Kind.
    pub kind: String,
    /// Parent's reference.
    pub parent: Option<Uuid>,
    /// Leaf index in the sender's log.
    pub leaf_index: u64,
    /// JSON fields.
    pub fields: serde_json::Value,
    /// Binary fields: name → `{media_type, sha256}` (bytes in the blob store).
    pub files: serde_json::Value,
}

/// A hit answer, sent or received.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerRecord {
    /// Answer id.
    pub id: Uuid,
    /// `sent` or `received`.
    pub direction: String,
    /// Agreement.
    pub agreement_id: Uuid,
    /// The shared record it is about.
    pub reference: Uuid,
    /// Category.
    pub category: String,
    /// Score.
    pub score: f64,
    /// When the partner answered.
    #[serde(with = "time::serde::rfc3339")]
    pub answered_at: OffsetDateTime,
    /// The alert it raised here (received answers).
    pub alert_id: Option<Uuid>,
}

fn u64_of(row: &AnyRow, column: &str) -> Result<u64> {
    u64::try_from(row.try_get::<i64, _>(column)?)
        .map_err(|_| StoreError::corrupt("share", format!("{column} is negative")))
}

fn i64_of(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn agreement_from_row(row: &AnyRow) -> Result<AgreementRecord> {
    let json: String = row.try_get("agreement_json")?;
    Ok(AgreementRecord {
        agreement: serde_json::from_str(&json)
            .map_err(|err| StoreError::corrupt("share_agreements", err.to_string()))?,
        created_by: parse_id("share_agreements", &row.try_get::<String, _>("created_by")?)?,
        created_at: parse_ts("share_agreements", &row.try_get::<String, _>("created_at")?)?,
        leaf_index: u64_of(row, "leaf_index")?,
    })
}

const EXPORT_COLUMNS: &str = "id, agreement_id, sequence, created_at, since, checkpoint, tree_size, record_count, bundle_sha256, created_by";
const IMPORT_COLUMNS: &str = "id, agreement_id, sequence, partner_name, checkpoint, tree_size, root, record_count, imported_at, cosignature";

fn export_from_row(row: &AnyRow) -> Result<ExportSummary> {
    Ok(ExportSummary {
        id: parse_id("share_exports", &row.try_get::<String, _>("id")?)?,
        agreement_id: parse_id("share_exports", &row.try_get::<String, _>("agreement_id")?)?,
        sequence: u64_of(row, "sequence")?,
        created_at: parse_ts("share_exports", &row.try_get::<String, _>("created_at")?)?,
        since: row.try_get("since")?,
        checkpoint: row.try_get("checkpoint")?,
        tree_size: u64_of(row, "tree_size")?,
        record_count: u64_of(row, "record_count")?,
        bundle_sha256: row.try_get("bundle_sha256")?,
        created_by: row
            .try_get::<Option<String>, _>("created_by")?
            .map(|id| parse_id("share_exports", &id))
            .transpose()?,
        cosigned_by: Vec::new(),
    })
}

fn import_from_row(row: &AnyRow) -> Result<ImportSummary> {
    Ok(ImportSummary {
        id: parse_id("share_imports", &row.try_get::<String, _>("id")?)?,
        agreement_id: parse_id("share_imports", &row.try_get::<String, _>("agreement_id")?)?,
        sequence: u64_of(row, "sequence")?,
        partner_name: row.try_get("partner_name")?,
        checkpoint: row.try_get("checkpoint")?,
        tree_size: u64_of(row, "tree_size")?,
        root: row.try_get("root")?,
        record_count: u64_of(row, "record_count")?,
        imported_at: parse_ts("share_imports", &row.try_get::<String, _>("imported_at")?)?,
        cosignature: row.try_get("cosignature")?,
    })
}

impl Store {
    /// Stores an agreement already appended to the ledger at `ledger`.
    ///
    /// # Errors
    /// `Duplicate` when the id exists.
    pub async fn insert_agreement(
        &self,
        agreement: &Agreement,
        created_by: Uuid,
        now: OffsetDateTime,
        ledger: &LedgerRef,
    ) -> Result<AgreementRecord> {
        let json = serde_json::to_string(agreement)
            .map_err(|err| StoreError::corrupt("share_agreements", err.to_string()))?;
        sqlx::query(
            "INSERT INTO share_agreements (id, direction, partner_name, agreement_json, created_by, created_at, salt, leaf_index) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(agreement.id.to_string())
        .bind(agreement.direction.as_str())
        .bind(&agreement.partner.name)
        .bind(json)
        .bind(created_by.to_string())
        .bind(ts(now))
        .bind(&ledger.salt)
        .bind(ledger.sql_index())
        .execute(&self.pool)
        .await
        .map_err(|err| StoreError::unique(err, "agreement"))?;
        Ok(AgreementRecord {
            agreement: agreement.clone(),
            created_by,
            created_at: now,
            leaf_index: ledger.leaf_index,
        })
    }

    /// An agreement.
    ///
    /// # Errors
    /// On database failure.
    pub async fn agreement(&self, id: Uuid) -> Result<Option<AgreementRecord>> {
        let row = sqlx::query(
            "SELECT agreement_json, created_by, created_at, leaf_index FROM share_agreements WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(agreement_from_row).transpose()
    }

    /// Every agreement, newest first (there are few).
    ///
    /// # Errors
    /// On database failure.
    pub async fn list_agreements(&self) -> Result<Vec<AgreementRecord>> {
        let rows = sqlx::query(
            "SELECT agreement_json, created_by, created_at, leaf_index FROM share_agreements \
             ORDER BY created_at DESC, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(agreement_from_row).collect()
    }

    /// Stores an export and the records it carried, in one transaction.
    ///
    /// # Errors
    /// `Duplicate` when the agreement already has an export with this sequence (a concurrent export).
    pub async fn insert_export(
        &self,
        export: &ExportSummary,
        records: &[ExportedRecord],
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO share_exports ({EXPORT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(export.id.to_string())
        .bind(export.agreement_id.to_string())
        .bind(i64_of(export.sequence))
        .bind(ts(export.created_at))
        .bind(&export.since)
        .bind(&export.checkpoint)
        .bind(i64_of(export.tree_size))
        .bind(i64_of(export.record_count))
        .bind(&export.bundle_sha256)
        .bind(export.created_by.map(|id| id.to_string()))
        .execute(&mut *tx)
        .await
        .map_err(|err| StoreError::unique(err, "export sequence"))?;
        for record in records {
            sqlx::query(
                "INSERT INTO share_export_records (reference, export_id, kind, source_id, leaf_index, salt) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(record.reference.to_string())
            .bind(export.id.to_string())
            .bind(&record.kind)
            .bind(record.source_id.to_string())
            .bind(i64_of(record.leaf_index))
            .bind(&record.salt)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn with_cosigners(&self, mut export: ExportSummary) -> Result<ExportSummary> {
        export.cosigned_by = sqlx::query_scalar(
            "SELECT partner_name FROM share_cosignatures WHERE export_id = $1 ORDER BY partner_name",
        )
        .bind(export.id.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(export)
    }

    /// An export.
    ///
    /// # Errors
    /// On database failure.
    pub async fn export(&self, id: Uuid) -> Result<Option<ExportSummary>> {
        let row = sqlx::query(&format!(
            "SELECT {EXPORT_COLUMNS} FROM share_exports WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Some(self.with_cosigners(export_from_row(&row)?).await?)),
            None => Ok(None),
        }
    }

    /// The export of `agreement_id` with sequence `sequence`.
    ///
    /// # Errors
    /// On database failure.
    pub async fn export_by_sequence(
        &self,
        agreement_id: Uuid,
        sequence: u64,
    ) -> Result<Option<ExportSummary>> {
        let row = sqlx::query(&format!(
            "SELECT {EXPORT_COLUMNS} FROM share_exports WHERE agreement_id = $1 AND sequence = $2"
        ))
        .bind(agreement_id.to_string())
        .bind(i64_of(sequence))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Some(self.with_cosigners(export_from_row(&row)?).await?)),
            None => Ok(None),
        }
    }

    /// The latest export under an agreement.
    ///
    /// # Errors
    /// On database failure.
    pub async fn last_export(&self, agreement_id: Uuid) -> Result<Option<ExportSummary>> {
        let row = sqlx::query(&format!(
            "SELECT {EXPORT_COLUMNS} FROM share_exports WHERE agreement_id = $1 ORDER BY sequence DESC LIMIT 1"
        ))
        .bind(agreement_id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(export_from_row).transpose()
    }

    /// Exports, newest first, optionally of one agreement, each with its cosigners: what was shared when, at which
    /// checkpoint, how many records.
    ///
    /// # Errors
    /// On database failure.
    pub async fn list_exports(&self, agreement_id: Option<Uuid>) -> Result<Vec<ExportSummary>> {
        let rows = sqlx::query(&format!(
            "SELECT {EXPORT_COLUMNS} FROM share_exports WHERE ($1 IS NULL OR agreement_id = $1) \
             ORDER BY created_at DESC, sequence DESC LIMIT 500"
        ))
        .bind(agreement_id.map(|id| id.to_string()))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.with_cosigners(export_from_row(row)?).await?);
        }
        Ok(out)
    }

    /// The records an export carried.
    ///
    /// # Errors
    /// On database failure.
    pub async fn exported_records(&self, export_id: Uuid) -> Result<Vec<ExportedRecord>> {
        let rows = sqlx::query(
            "SELECT reference, kind, source_id, leaf_index, salt FROM share_export_records \
             WHERE export_id = $1 ORDER BY leaf_index",
        )
        .bind(export_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(exported_from_row).collect()
    }

    /// A shared record by the reference the partner knows, with the export that carried it.
    ///
    /// # Errors
    /// On database failure.
    pub async fn exported_record(&self, reference: Uuid) -> Result<Option<(Uuid, ExportedRecord)>> {
        let row = sqlx::query(
            "SELECT reference, export_id, kind, source_id, leaf_index, salt FROM share_export_records \
             WHERE reference = $1",
        )
        .bind(reference.to_string())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(Some((
                parse_id(
                    "share_export_records",
                    &row.try_get::<String, _>("export_id")?,
                )?,
                exported_from_row(&row)?,
            ))),
            None => Ok(None),
        }
    }

    /// Keeps a partner's cosignature of an export's checkpoint (replacing an earlier one from that partner).
    ///
    /// # Errors
    /// On database failure.
    pub async fn insert_cosignature(&self, record: &CosignatureRecord) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM share_cosignatures WHERE export_id = $1 AND partner_name = $2")
            .bind(record.export_id.to_string())
            .bind(&record.partner_name)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO share_cosignatures (export_id, partner_name, lines, received_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(record.export_id.to_string())
        .bind(&record.partner_name)
        .bind(&record.lines)
        .bind(ts(record.received_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Partners' cosignatures, newest first, optionally of one export.
    ///
    /// # Errors
    /// On database failure.
    pub async fn list_cosignatures(
        &self,
        export_id: Option<Uuid>,
    ) -> Result<Vec<CosignatureRecord>> {
        let rows = sqlx::query(
            "SELECT export_id, partner_name, lines, received_at FROM share_cosignatures \
             WHERE ($1 IS NULL OR export_id = $1) ORDER BY received_at DESC LIMIT 500",
        )
        .bind(export_id.map(|id| id.to_string()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CosignatureRecord {
                    export_id: parse_id(
                        "share_cosignatures",
                        &row.try_get::<String, _>("export_id")?,
                    )?,
                    partner_name: row.try_get("partner_name")?,
                    lines: row.try_get("lines")?,
                    received_at: parse_ts(
                        "share_cosignatures",
                        &row.try_get::<String, _>("received_at")?,
                    )?,
                })
            })
            .collect()
    }

    /// The latest import under an agreement.
    ///
    /// # Errors
    /// On database failure.
    pub async fn last_import(&self, agreement_id: Uuid) -> Result<Option<ImportSummary>> {
        let row = sqlx::query(&format!(
            "SELECT {IMPORT_COLUMNS} FROM share_imports WHERE agreement_id = $1 ORDER BY sequence DESC LIMIT 1"
        ))
        .bind(agreement_id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(import_from_row).transpose()
    }

    /// Stores an import and its records in one transaction (blobs already written).
    ///
    /// # Errors
    /// `Duplicate` when this bundle or sequence was already imported.
    pub async fn insert_import(
        &self,
        import: &ImportSummary,
        records: &[ImportedRecordRow],
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(&format!(
            "INSERT INTO share_imports ({IMPORT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(import.id.to_string())
        .bind(import.agreement_id.to_string())
        .bind(i64_of(import.sequence))
        .bind(&import.partner_name)
        .bind(&import.checkpoint)
        .bind(i64_of(import.tree_size))
        .bind(&import.root)
        .bind(i64_of(import.record_count))
        .bind(ts(import.imported_at))
        .bind(&import.cosignature)
        .execute(&mut *tx)
        .await
        .map_err(|err| StoreError::unique(err, "import"))?;
        for record in records {
            sqlx::query(
                "INSERT INTO share_imported_records (reference, import_id, kind, parent, leaf_index, fields_json, files_json) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(record.reference.to_string())
            .bind(import.id.to_string())
            .bind(&record.kind)
            .bind(record.parent.map(|id| id.to_string()))
            .bind(i64_of(record.leaf_index))
            .bind(record.fields.to_string())
            .bind(record.files.to_string())
            .execute(&mut *tx)
            .await
            .map_err(|err| StoreError::unique(err, "imported record"))?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records our cosignature of an import's checkpoint.
    ///
    /// # Errors
    /// On database failure.
    pub async fn set_import_cosignature(&self, import_id: Uuid, lines: &str) -> Result<()> {
        sqlx::query("UPDATE share_imports SET cosignature = $1 WHERE id = $2")
            .bind(lines)
            .bind(import_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Imports, newest first, optionally of one agreement.
    ///
    /// # Errors
    /// On database failure.
    pub async fn list_imports(&self, agreement_id: Option<Uuid>) -> Result<Vec<ImportSummary>> {
        let rows = sqlx::query(&format!(
            "SELECT {IMPORT_COLUMNS} FROM share_imports WHERE ($1 IS NULL OR agreement_id = $1) \
             ORDER BY imported_at DESC, sequence DESC LIMIT 500"
        ))
        .bind(agreement_id.map(|id| id.to_string()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(import_from_row).collect()
    }

    /// An import.
    ///
    /// # Errors
    /// On database failure.
    pub async fn import(&self, id: Uuid) -> Result<Option<ImportSummary>> {
        let row = sqlx::query(&format!(
            "SELECT {IMPORT_COLUMNS} FROM share_imports WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(import_from_row).transpose()
    }

    /// The records an import brought.
    ///
    /// # Errors
    /// On database failure.
    pub async fn imported_records(&self, import_id: Uuid) -> Result<Vec<ImportedRecordRow>> {
        let rows = sqlx::query(
            "SELECT reference, import_id, kind, parent, leaf_index, fields_json, files_json \
             FROM share_imported_records WHERE import_id = $1 ORDER BY leaf_index",
        )
        .bind(import_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let json = |column: &str| -> Result<serde_json::Value> {
                    serde_json::from_str(&row.try_get::<String, _>(column)?).map_err(|err| {
                        StoreError::corrupt("share_imported_records", err.to_string())
                    })
                };
                Ok(ImportedRecordRow {
                    reference: parse_id(
                        "share_imported_records",
                        &row.try_get::<String, _>("reference")?,
                    )?,
                    import_id: parse_id(
                        "share_imported_records",
                        &row.try_get::<String, _>("import_id")?,
                    )?,
                    kind: row.try_get("kind")?,
                    parent: row
                        .try_get::<Option<String>, _>("parent")?
                        .map(|id| parse_id("share_imported_records", &id))
                        .transpose()?,
                    leaf_index: u64_of(row, "leaf_index")?,
                    fields: json("fields_json")?,
                    files: json("files_json")?,
                })
            })
            .collect()
    }

    /// Stores a hit answer; for a received one, raises its alert in the same transaction: on the shared
    /// encounter, against its own subject (the partner knows that person), with source `partner:<name>`.
    ///
    /// # Errors
    /// `Duplicate` when the answer id was seen before (a replay).
    pub async fn insert_answer(
        &self,
        answer: &AnswerRecord,
        signed_json: &str,
        alert: Option<(Uuid, Uuid, &str)>,
        now: OffsetDateTime,
    ) -> Result<Option<Alert>> {
        let mut tx = self.pool.begin().await?;
        let mut raised = None;
        if let Some((encounter_id, subject_id, source)) = alert {
            let category: WatchlistCategory = answer
                .category
                .parse()
                .map_err(|_| StoreError::corrupt("share_answers", "category".into()))?;
            let created = Alert {
                id: Uuid::new_v4(),
                encounter_id,
                candidate_subject_id: subject_id,
                category,
                score: answer.score,
                status: AlertStatus::Open,
                decided_by: None,
                decided_at: None,
                reason: None,
                created_at: now,
            };
            sqlx::query(
                "INSERT INTO alerts (id, encounter_id, candidate_subject_id, category, score, status, created_at, source) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(created.id.to_string())
            .bind(encounter_id.to_string())
            .bind(subject_id.to_string())
            .bind(category.as_str())
            .bind(created.score)
            .bind(AlertStatus::Open.as_str())
            .bind(ts(now))
            .bind(source)
            .execute(&mut *tx)
            .await?;
            raised = Some(created);
        }
        sqlx::query(
            "INSERT INTO share_answers (id, direction, agreement_id, reference, category, score, answered_at, signed_json, alert_id, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(answer.id.to_string())
        .bind(&answer.direction)
        .bind(answer.agreement_id.to_string())
        .bind(answer.reference.to_string())
        .bind(&answer.category)
        .bind(answer.score)
        .bind(ts(answer.answered_at))
        .bind(signed_json)
        .bind(raised.as_ref().map(|alert| alert.id.to_string()))
        .bind(ts(now))
        .execute(&mut *tx)
        .await
        .map_err(|err| StoreError::unique(err, "answer"))?;
        tx.commit().await?;
        Ok(raised)
    }

    /// Answers, newest first, optionally of one agreement.
    ///
    /// # Errors
    /// On database failure.
    pub async fn list_answers(&self, agreement_id: Option<Uuid>) -> Result<Vec<AnswerRecord>> {
        let rows = sqlx::query(
            "SELECT id, direction, agreement_id, reference, category, score, answered_at, alert_id FROM share_answers \
             WHERE ($1 IS NULL OR agreement_id = $1) ORDER BY received_at DESC LIMIT 500",
        )
        .bind(agreement_id.map(|id| id.to_string()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AnswerRecord {
                    id: parse_id("share_answers", &row.try_get::<String, _>("id")?)?,
                    direction: row.try_get("direction")?,
                    agreement_id: parse_id(
                        "share_answers",
                        &row.try_get::<String, _>("agreement_id")?,
                    )?,
                    reference: parse_id("share_answers", &row.try_get::<String, _>("reference")?)?,
                    category: row.try_get("category")?,
                    score: row.try_get("score")?,
                    answered_at: parse_ts(
                        "share_answers",
                        &row.try_get::<String, _>("answered_at")?,
                    )?,
                    alert_id: row
                        .try_get::<Option<String>, _>("alert_id")?
                        .map(|id| parse_id("share_answers", &id))
                        .transpose()?,
                })
            })
            .collect()
    }

    /// The source of an alert: `None` for the local 1:N search, `partner:<name>` for a partner's answer.
    ///
    /// # Errors
    /// On database failure.
    pub async fn alert_source(&self, alert_id: Uuid) -> Result<Option<String>> {
        let source: Option<Option<String>> =
            sqlx::query_scalar("SELECT source FROM alerts WHERE id = $1")
                .bind(alert_id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(source.flatten())
    }

    /// Our records already shared under an agreement (an export never sends one twice).
    ///
    /// # Errors
    /// On database failure.
    pub async fn exported_sources(&self, agreement_id: Uuid) -> Result<BTreeSet<Uuid>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT r.source_id FROM share_export_records r JOIN share_exports e ON e.id = r.export_id \
             WHERE e.agreement_id = $1",
        )
        .bind(agreement_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        ids.iter()
            .map(|id| parse_id("share_export_records", id))
            .collect()
    }

    /// The reference under which our record `source_id` was shared under an agreement, if it was.
    ///
    /// # Errors
    /// On database failure.
    pub async fn reference_of(&self, agreement_id: Uuid, source_id: Uuid) -> Result<Option<Uuid>> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT r.reference FROM share_export_records r JOIN share_exports e ON e.id = r.export_id \
             WHERE e.agreement_id = $1 AND r.source_id = $2 LIMIT 1",
        )
        .bind(agreement_id.to_string())
        .bind(source_id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        id.map(|id| parse_id("share_export_records", &id))
            .transpose()
    }

    /// Encounters whose capture was received at or after `since` and whose capture leaf is at or after
    /// `since_leaf`, oldest first (at most `limit`): the candidates of an export.
    ///
    /// # Errors
    /// On database failure.
    pub async fn encounters_received_since(
        &self,
        since: OffsetDateTime,
        since_leaf: u64,
        limit: u32,
    ) -> Result<Vec<(Uuid, String)>> {
        let rows = sqlx::query(
            "SELECT e.id AS id, s.kind AS site_kind FROM encounters e \
             JOIN captures c ON c.id = e.capture_id JOIN sites s ON s.id = e.site_id \
             WHERE c.received_at >= $1 AND c.leaf_index >= $2 ORDER BY c.received_at, e.id LIMIT $3",
        )
        .bind(ts(since))
        .bind(i64_of(since_leaf))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    parse_id("encounters", &row.try_get::<String, _>("id")?)?,
                    row.try_get("site_kind")?,
                ))
            })
            .collect()
    }

    /// Consignments whose capture was received at or after `since` (and leaf at or after `since_leaf`), oldest
    /// first (at most `limit`).
    ///
    /// # Errors
    /// On database failure.
    pub async fn consignments_received_since(
        &self,
        since: OffsetDateTime,
        since_leaf: u64,
        limit: u32,
    ) -> Result<Vec<Uuid>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT k.id FROM consignments k JOIN captures c ON c.id = k.capture_id \
             WHERE c.received_at >= $1 AND c.leaf_index >= $2 ORDER BY c.received_at, k.id LIMIT $3",
        )
        .bind(ts(since))
        .bind(i64_of(since_leaf))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|id| parse_id("consignments", id)).collect()
    }
}

fn exported_from_row(row: &AnyRow) -> Result<ExportedRecord> {
    Ok(ExportedRecord {
        reference: parse_id(
            "share_export_records",
            &row.try_get::<String, _>("reference")?,
        )?,
        kind: row.try_get("kind")?,
        source_id: parse_id(
            "share_export_records",
            &row.try_get::<String, _>("source_id")?,
        )?,
        leaf_index: u64_of(row, "leaf_index")?,
        salt: row.try_get("salt")?,
    })
}
