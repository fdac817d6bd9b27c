//! The audit trail: append-only, read by auditors only.

use crate::{Page, Paged, Result, Store, ts};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use time::OffsetDateTime;
use uuid::Uuid;

/// One audited action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Identifier.
    pub id: Uuid,
    /// When (fixed-width UTC text).
    pub at: String,
    /// `user`, `device`, `system` or `anonymous`.
    pub actor_kind: String,
    /// User or device id.
    pub actor_id: Option<Uuid>,
    /// Username, for reading convenience.
    pub actor_name: Option<String>,
    /// What was done, e.g. `subject.read`, `alert.confirm`, `capture.create`.
    pub action: String,
    /// Kind of object touched.
    pub object_kind: String,
    /// Object id.
    pub object_id: Option<String>,
    /// The person concerned, when the object is personal data.
    pub subject_id: Option<Uuid>,
    /// Client address.
    pub remote_addr: Option<String>,
    /// `ok`, `denied`, `not-found`, `invalid`, `conflict` or `error`.
    pub outcome: String,
    /// Leaf index of the event's ledger entry.
    #[serde(default)]
    pub leaf_index: Option<u64>,
}

impl AuditEvent {
    /// A new event at `now`.
    pub fn new(now: OffsetDateTime, action: &str, object_kind: &str) -> Self {
        AuditEvent {
            id: Uuid::new_v4(),
            at: ts(now),
            actor_kind: "anonymous".into(),
            actor_id: None,
            actor_name: None,
            action: action.into(),
            object_kind: object_kind.into(),
            object_id: None,
            subject_id: None,
            remote_addr: None,
            outcome: "ok".into(),
            leaf_index: None,
        }
    }

    /// The bytes the ledger commitment covers: the JSON of the event without its leaf index.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut without_leaf = self.clone();
        without_leaf.leaf_index = None;
        serde_json::to_vec(&without_leaf).unwrap_or_default()
    }
}

/// Which audit events to list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuditFilter {
    /// Only this actor (user or device id).
    pub actor: Option<Uuid>,
    /// Only events about this subject.
    pub subject: Option<Uuid>,
    /// At or after this time (RFC 3339).
    pub since: Option<String>,
    /// Before this time (RFC 3339).
    pub until: Option<String>,
}

impl Store {
    /// Appends an audit event.
    ///
    /// # Errors
    /// On database failure.
    pub async fn append_audit(&self, event: &AuditEvent, salt: Option<&str>) -> Result<()> {
        self.ensure_audit_partition_for(&event.at).await?;
        sqlx::query(
            "INSERT INTO audit (id, at, actor_kind, actor_id, actor_name, action, object_kind, object_id, subject_id, remote_addr, outcome, salt, leaf_index) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(event.id.to_string())
        .bind(&event.at)
        .bind(&event.actor_kind)
        .bind(event.actor_id.map(|id| id.to_string()))
        .bind(&event.actor_name)
        .bind(&event.action)
        .bind(&event.object_kind)
        .bind(&event.object_id)
        .bind(event.subject_id.map(|id| id.to_string()))
        .bind(&event.remote_addr)
        .bind(&event.outcome)
        .bind(salt)
        .bind(event.leaf_index.and_then(|index| i64::try_from(index).ok()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Lists audit events, newest first.
    ///
    /// # Errors
    /// On database failure.
    pub async fn list_audit(&self, filter: &AuditFilter, page: Page) -> Result<Paged<AuditEvent>> {
        let rows = sqlx::query(
            "SELECT id, at, actor_kind, actor_id, actor_name, action, object_kind, object_id, subject_id, remote_addr, outcome, leaf_index \
             FROM audit WHERE ($1 IS NULL OR actor_id = $1) AND ($2 IS NULL OR subject_id = $2) \
             AND ($3 IS NULL OR at >= $3) AND ($4 IS NULL OR at < $4) \
             ORDER BY at DESC, id LIMIT $5 OFFSET $6",
        )
        .bind(filter.actor.map(|id| id.to_string()))
        .bind(filter.subject.map(|id| id.to_string()))
        .bind(&filter.since)
        .bind(&filter.until)
        .bind(page.sql_limit())
        .bind(page.sql_offset())
        .fetch_all(&self.pool)
        .await?;
        let parse = |text: Option<String>| text.and_then(|t| Uuid::parse_str(&t).ok());
        let items = rows
            .iter()
            .map(|row| {
                Ok(AuditEvent {
                    id: Uuid::parse_str(&row.try_get::<String, _>("id")?).unwrap_or_default(),
                    at: row.try_get("at")?,
                    actor_kind: row.try_get("actor_kind")?,
                    actor_id: parse(row.try_get("actor_id")?),
                    actor_name: row.try_get("actor_name")?,
                    action: row.try_get("action")?,
                    object_kind: row.try_get("object_kind")?,
                    object_id: row.try_get("object_id")?,
                    subject_id: parse(row.try_get("subject_id")?),
                    remote_addr: row.try_get("remote_addr")?,
                    outcome: row.try_get("outcome")?,
                    leaf_index: row
                        .try_get::<Option<i64>, _>("leaf_index")?
                        .and_then(|index| u64::try_from(index).ok()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Paged::from_rows(items, page))
    }

    /// Number of audit events.
    ///
    /// # Errors
    /// On database failure.
    pub async fn count_audit(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit")
            .fetch_one(&self.pool)
            .await?)
    }
}
