//! Consignments, manifests, decisions and seizures.

use crate::{
    LedgerRef, Page, Paged, Result, Store, StoreError, parse_enum, parse_id, parse_ts, ts,
};
use garita_model::payload::{ConsignmentCapture, ManifestLine};
use garita_model::{
    Consignment, ContainerNumber, CountryCode, Decision, Finding, HsCode, Lane, Seizure,
};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

/// A consignment with its decisions and seizures.
#[derive(Debug, Clone, Serialize)]
pub struct ConsignmentDetail {
    /// The consignment and manifest.
    #[serde(flatten)]
    pub consignment: Consignment,
    /// Decisions, oldest first.
    pub decisions: Vec<Decision>,
    /// Seizures, oldest first.
    pub seizures: Vec<Seizure>,
    /// Findings on its scans, the analysis's and officers', oldest first.
    pub findings: Vec<Finding>,
    /// Why the lane was assigned (rules that fired), when it was.
    pub lane_reasons: Option<serde_json::Value>,
}

fn model(table: &'static str) -> impl Fn(garita_model::ModelError) -> StoreError {
    move |err| StoreError::corrupt(table, err.to_string())
}

pub(crate) async fn insert_consignment(
    tx: &mut Transaction<'_, Any>,
    id: Uuid,
    capture_id: Uuid,
    site_id: Uuid,
    consignment: &ConsignmentCapture,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO consignments (id, capture_id, site_id, container_number, conveyance, declarant, origin, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.to_string())
    .bind(capture_id.to_string())
    .bind(site_id.to_string())
    .bind(consignment.container_number.as_ref().map(|c| c.as_str().to_owned()))
    .bind(&consignment.conveyance)
    .bind(&consignment.declarant)
    .bind(consignment.origin.as_ref().map(|c| c.as_str().to_owned()))
    .bind(ts(now))
    .execute(&mut **tx)
    .await?;
    for (line_no, line) in consignment.lines.iter().enumerate() {
        sqlx::query(
            "INSERT INTO manifest_lines (consignment_id, line_no, hs_code, description, declared_mass_kg, quantity, value, currency) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.to_string())
        .bind(line_no as i64)
        .bind(line.hs_code.as_str())
        .bind(&line.description)
        .bind(line.declared_mass_kg)
        .bind(i64::try_from(line.quantity).unwrap_or(i64::MAX))
        .bind(line.value)
        .bind(&line.currency)
        // Not a cached statement: sqlx 0.8's Any driver types a NULL double as float4 on PostgreSQL, so a statement
        // first prepared with `value = None` would reject a later 8-byte value ("incorrect binary data format").
        .persistent(false)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn consignment_from_row(row: &AnyRow, lines: Vec<ManifestLine>) -> Result<Consignment> {
    Ok(Consignment {
        id: parse_id("consignments", &row.try_get::<String, _>("id")?)?,
        container_number: row
            .try_get::<Option<String>, _>("container_number")?
            .map(|c| ContainerNumber::new(&c).map_err(model("consignments")))
            .transpose()?,
        conveyance: row.try_get("conveyance")?,
        declarant: row.try_get("declarant")?,
        origin: row
            .try_get::<Option<String>, _>("origin")?
            .map(|c| CountryCode::new(&c).map_err(model("consignments")))
            .transpose()?,
        lines,
        lane: row
            .try_get::<Option<String>, _>("lane")?
            .map(|lane| parse_enum("consignments", &lane))
            .transpose()?,
        site_id: parse_id("consignments", &row.try_get::<String, _>("site_id")?)?,
        created_at: parse_ts("consignments", &row.try_get::<String, _>("created_at")?)?,
    })
}

const CONSIGNMENT_COLUMNS: &str =
    "id, container_number, conveyance, declarant, origin, lane, site_id, created_at";

impl Store {
    async fn manifest_lines(&self, consignment_id: &str) -> Result<Vec<ManifestLine>> {
        let rows = sqlx::query(
            "SELECT hs_code, description, declared_mass_kg, quantity, value, currency FROM manifest_lines \
             WHERE consignment_id = $1 ORDER BY line_no",
        )
        .bind(consignment_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ManifestLine {
                    hs_code: HsCode::new(&row.try_get::<String, _>("hs_code")?)
                        .map_err(model("manifest_lines"))?,
                    description: row.try_get("description")?,
                    declared_mass_kg: row.try_get("declared_mass_kg")?,
                    quantity: u64::try_from(row.try_get::<i64, _>("quantity")?).unwrap_or(0),
                    value: row.try_get("value")?,
                    currency: row.try_get("currency")?,
                })
            })
            .collect()
    }

    /// Lists consignments, newest first (manifest lines included), optionally only those in one lane: the
    /// inspection queue of that lane.
    ///
    /// # Errors
    /// On database failure.
    pub async fn list_consignments(
        &self,
        lane: Option<Lane>,
        page: Page,
    ) -> Result<Paged<Consignment>> {
        let rows = sqlx::query(&format!(
            "SELECT {CONSIGNMENT_COLUMNS} FROM consignments WHERE ($1 IS NULL OR lane = $1) \
             ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"
        ))
        .bind(lane.map(Lane::as_str))
        .bind(page.sql_limit())
        .bind(page.sql_offset())
        .fetch_all(&self.pool)
        .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let lines = self
                .manifest_lines(&row.try_get::<String, _>("id")?)
                .await?;
            items.push(consignment_from_row(row, lines)?);
        }
        Ok(Paged::from_rows(items, page))
    }

    /// A consignment with its decisions and seizures.
    ///
    /// # Errors
    /// On database failure.
    pub async fn consignment(&self, id: Uuid) -> Result<Option<ConsignmentDetail>> {
        let row = sqlx::query(&format!(
            "SELECT {CONSIGNMENT_COLUMNS} FROM consignments WHERE id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let consignment = consignment_from_row(&row, self.manifest_lines(&id.to_string()).await?)?;
        let decisions = sqlx::query(
            "SELECT id, consignment_id, decision, reason, officer_id, decided_at FROM decisions \
             WHERE consignment_id = $1 ORDER BY decided_at, id",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(Decision {
                id: parse_id("decisions", &row.try_get::<String, _>("id")?)?,
                consignment_id: id,
                decision: parse_enum("decisions", &row.try_get::<String, _>("decision")?)?,
                reason: row.try_get("reason")?,
                officer_id: parse_id("decisions", &row.try_get::<String, _>("officer_id")?)?,
                decided_at: parse_ts("decisions", &row.try_get::<String, _>("decided_at")?)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let seizures = sqlx::query(
            "SELECT id, substance, quantity_kg, concealment, officer_id, recorded_at FROM seizures \
             WHERE consignment_id = $1 ORDER BY recorded_at, id",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(Seizure {
                id: parse_id("seizures", &row.try_get::<String, _>("id")?)?,
                consignment_id: id,
                substance: row.try_get("substance")?,
                quantity_kg: row.try_get("quantity_kg")?,
                concealment: row.try_get("concealment")?,
                officer_id: parse_id("seizures", &row.try_get::<String, _>("officer_id")?)?,
                recorded_at: parse_ts("seizures", &row.try_get::<String, _>("recorded_at")?)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let findings = self.findings_of(id).await?;
        let lane_reasons: Option<String> =
            sqlx::query_scalar("SELECT lane_reasons FROM consignments WHERE id = $1")
                .bind(id.to_string())
                .fetch_one(&self.pool)
                .await?;
        Ok(Some(ConsignmentDetail {
            consignment,
            decisions,
            seizures,
            findings,
            lane_reasons: lane_reasons.and_then(|text| serde_json::from_str(&text).ok()),
        }))
    }

    /// Records an officer's decision, already appended to the ledger at `ledger`.
    ///
    /// # Errors
    /// `NotFound` when the consignment does not exist.
    pub async fn insert_decision(&self, record: &Decision, ledger: &LedgerRef) -> Result<()> {
        self.require_consignment(record.consignment_id).await?;
        sqlx::query(
            "INSERT INTO decisions (id, consignment_id, decision, reason, officer_id, decided_at, salt, leaf_index) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(record.id.to_string())
        .bind(record.consignment_id.to_string())
        .bind(record.decision.as_str())
        .bind(&record.reason)
        .bind(record.officer_id.to_string())
        .bind(ts(record.decided_at))
        .bind(&ledger.salt)
        .bind(ledger.sql_index())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a seizure, already appended to the ledger at `ledger`.
    ///
    /// # Errors
    /// `NotFound` when the consignment does not exist.
    pub async fn insert_seizure(&self, record: &Seizure, ledger: &LedgerRef) -> Result<()> {
        self.require_consignment(record.consignment_id).await?;
        sqlx::query(
            "INSERT INTO seizures (id, consignment_id, substance, quantity_kg, concealment, officer_id, recorded_at, salt, leaf_index) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(record.id.to_string())
        .bind(record.consignment_id.to_string())
        .bind(&record.substance)
        .bind(record.quantity_kg)
        .bind(&record.concealment)
        .bind(record.officer_id.to_string())
        .bind(ts(record.recorded_at))
        .bind(&ledger.salt)
        .bind(ledger.sql_index())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records a finding (from the analysis, or drawn by `created_by`).
    ///
    /// # Errors
    /// `NotFound` when the consignment does not exist.
    pub async fn insert_finding(
        &self,
        finding: &Finding,
        created_by: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<()> {
        self.require_consignment(finding.consignment_id).await?;
        let [x, y, width, height] = finding.region.map(i64::from);
        sqlx::query(
            "INSERT INTO findings (id, consignment_id, x, y, width, height, kind, score, source, reason, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(finding.id.to_string())
        .bind(finding.consignment_id.to_string())
        .bind(x)
        .bind(y)
        .bind(width)
        .bind(height)
        .bind(&finding.kind)
        .bind(finding.score)
        .bind(finding.source.as_str())
        .bind(&finding.reason)
        .bind(created_by.map(|id| id.to_string()))
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The findings of a consignment, oldest first.
    ///
    /// # Errors
    /// On database failure.
    pub async fn findings_of(&self, consignment_id: Uuid) -> Result<Vec<Finding>> {
        let rows = sqlx::query(
            "SELECT id, x, y, width, height, kind, score, source, reason, rejected_by, rejection_reason FROM findings \
             WHERE consignment_id = $1 ORDER BY created_at, id",
        )
        .bind(consignment_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let side = |column: &str| -> Result<u32> {
                    Ok(u32::try_from(row.try_get::<i64, _>(column)?).unwrap_or(0))
                };
                Ok(Finding {
                    id: parse_id("findings", &row.try_get::<String, _>("id")?)?,
                    consignment_id,
                    region: [side("x")?, side("y")?, side("width")?, side("height")?],
                    kind: row.try_get("kind")?,
                    score: row.try_get("score")?,
                    source: parse_enum("findings", &row.try_get::<String, _>("source")?)?,
                    reason: row.try_get("reason")?,
                    rejected_by: row
                        .try_get::<Option<String>, _>("rejected_by")?
                        .map(|id| parse_id("findings", &id))
                        .transpose()?,
                    rejection_reason: row.try_get("rejection_reason")?,
                })
            })
            .collect()
    }

    /// Marks a finding rejected by an officer (it stays on record).
    ///
    /// # Errors
    /// `NotFound` when there is no such finding.
    pub async fn reject_finding(
        &self,
        id: Uuid,
        by: Uuid,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<Uuid> {
        let consignment: Option<String> =
            sqlx::query_scalar("SELECT consignment_id FROM findings WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        let consignment = consignment.ok_or(StoreError::NotFound { what: "finding" })?;
        sqlx::query("UPDATE findings SET rejected_by = $1, rejected_at = $2, rejection_reason = $3 WHERE id = $4")
            .bind(by.to_string())
            .bind(ts(now))
            .bind(reason)
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        parse_id("findings", &consignment)
    }

    /// Sets the risk lane and the reasons it was chosen.
    ///
    /// # Errors
    /// On database failure.
    pub async fn set_lane(
        &self,
        consignment_id: Uuid,
        lane: Lane,
        reasons: &serde_json::Value,
    ) -> Result<()> {
        sqlx::query("UPDATE consignments SET lane = $1, lane_reasons = $2 WHERE id = $3")
            .bind(lane.as_str())
            .bind(reasons.to_string())
            .bind(consignment_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A declarant's record: consignments declared before, and how many of those ended in a seizure.
    ///
    /// # Errors
    /// On database failure.
    pub async fn declarant_history(&self, declarant: &str) -> Result<(u32, u32)> {
        let declarations: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM consignments WHERE declarant = $1")
                .bind(declarant)
                .fetch_one(&self.pool)
                .await?;
        let offences: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT c.id) FROM consignments c JOIN seizures s ON s.consignment_id = c.id WHERE c.declarant = $1",
        )
        .bind(declarant)
        .fetch_one(&self.pool)
        .await?;
        Ok((
            u32::try_from(declarations).unwrap_or(u32::MAX),
            u32::try_from(offences).unwrap_or(u32::MAX),
        ))
    }

    /// Fails with `NotFound` unless the consignment exists.
    ///
    /// # Errors
    /// `NotFound`, or on database failure.
    pub async fn require_consignment(&self, id: Uuid) -> Result<()> {
        let found: Option<String> = sqlx::query_scalar("SELECT id FROM consignments WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        found.map(|_| ()).ok_or(StoreError::NotFound {
            what: "consignment",
        })
    }
}
