//! The durable outbox: `DIR/outbox.db`, SQLite in WAL mode with `synchronous=FULL`, so a capture is on disk
//! before [`Outbox::enqueue`] returns. Each capture is signed with the next sequence number inside the same
//! transaction that stores it, so a number is never used twice, even with several processes queueing at once.
//!
//! What is stored in clear: sequence numbers, payload types, sizes, states, attempts, error texts, receipts and
//! proofs (commitments and indices, nothing personal). What is sealed ([`crate::seal`]): the capture itself
//! (envelope, payload, blobs) and the watchlist snapshot.

use crate::TerminalError;
use crate::seal::{SALT_LEN, SealKey, random_salt};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use garita_model::{DeviceKey, Envelope, PayloadType, SignedEnvelope};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY CHECK (id = 0), next_seq BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS outbox (
        seq BIGINT PRIMARY KEY,
        payload_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        queued_at TEXT NOT NULL,
        sealed BLOB NOT NULL,
        state TEXT NOT NULL,
        attempts BIGINT NOT NULL DEFAULT 0,
        retries BIGINT NOT NULL DEFAULT 0,
        last_error TEXT,
        upload_offset BIGINT,
        receipt TEXT,
        leaf_index BIGINT,
        alerts BIGINT,
        delivered_at TEXT,
        proof BLOB,
        proof_verified_at TEXT,
        proof_error TEXT
    )",
    "CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, seq)",
    "CREATE TABLE IF NOT EXISTS watchlist (entry_id TEXT PRIMARY KEY, sealed BLOB NOT NULL)",
];

/// A capture as it travels: the signed envelope with its payload and blobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// The signed envelope.
    pub signed: SignedEnvelope,
    /// Payload bytes.
    pub payload: Vec<u8>,
    /// Blob bytes, in envelope order.
    pub blobs: Vec<Vec<u8>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaptureBody {
    envelope: Envelope,
    signature: String,
    payload: String,
    blobs: Vec<String>,
}

impl Capture {
    /// The JSON body of `POST /api/v1/captures`.
    pub fn to_body(&self) -> serde_json::Value {
        serde_json::json!({
            "envelope": self.signed.envelope,
            "signature": self.signed.signature,
            "payload": B64.encode(&self.payload),
            "blobs": self.blobs.iter().map(|blob| B64.encode(blob)).collect::<Vec<_>>(),
        })
    }

    /// Payload then blobs, concatenated: what a chunked upload sends.
    pub fn upload_bytes(&self) -> Vec<u8> {
        let mut bytes = self.payload.clone();
        for blob in &self.blobs {
            bytes.extend_from_slice(blob);
        }
        bytes
    }

    /// Bytes of payload and blobs.
    pub fn size(&self) -> u64 {
        self.payload.len() as u64 + self.blobs.iter().map(|b| b.len() as u64).sum::<u64>()
    }

    fn from_body(bytes: &[u8]) -> Result<Self, TerminalError> {
        let body: CaptureBody =
            serde_json::from_slice(bytes).map_err(|err| TerminalError::Corrupt(err.to_string()))?;
        let decode = |text: &str| {
            B64.decode(text.as_bytes())
                .map_err(|err| TerminalError::Corrupt(err.to_string()))
        };
        Ok(Capture {
            payload: decode(&body.payload)?,
            blobs: body
                .blobs
                .iter()
                .map(|blob| decode(blob))
                .collect::<Result<_, _>>()?,
            signed: SignedEnvelope {
                envelope: body.envelope,
                signature: body.signature,
            },
        })
    }
}

/// A capture waiting to be delivered.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Its sequence number.
    pub seq: u64,
    /// The capture.
    pub capture: Capture,
    /// Attempts so far.
    pub attempts: u64,
}

/// One capture's line in the status.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CaptureStatus {
    /// Sequence number.
    pub seq: u64,
    /// `queued`, `sending`, `delivered` or `failed`.
    pub state: String,
    /// Payload type.
    pub payload_type: String,
    /// Bytes of payload and blobs.
    pub size: u64,
    /// Attempts made.
    pub attempts: u64,
    /// The last error (for `failed`: why the server refused it).
    pub last_error: Option<String>,
    /// Bytes the server holds of a chunked upload in progress.
    pub upload_offset: Option<u64>,
    /// Leaf index from the receipt.
    pub leaf_index: Option<u64>,
    /// Whether the inclusion proof was fetched and verified.
    pub proof_verified: bool,
    /// Why the proof did not verify, if it did not.
    pub proof_error: Option<String>,
}

/// Counts for `garita terminal status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// The device this outbox signs for.
    pub device_id: Option<Uuid>,
    /// Waiting to be sent.
    pub queued: u64,
    /// Being sent now (or when the agent last stopped).
    pub in_flight: u64,
    /// Acknowledged by the server.
    pub delivered: u64,
    /// Refused by the server for good (kept, with the reason).
    pub failed: u64,
    /// Delivered captures whose inclusion proof verified.
    pub proofs_verified: u64,
    /// Delivered captures whose proof is not verified yet.
    pub proofs_pending: u64,
    /// Proofs that failed verification (a serious finding).
    pub proof_errors: u64,
    /// Sending attempts that failed and were retried.
    pub retries: u64,
    /// The next sequence number to be used.
    pub next_seq: u64,
    /// Version of the local watchlist snapshot (0: none yet).
    pub watchlist_version: u64,
}

/// The outbox of one terminal data directory.
#[derive(Debug, Clone)]
pub struct Outbox {
    pool: SqlitePool,
    key: std::sync::Arc<SealKey>,
    device_id: Uuid,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TerminalError + '_ {
    move |source| TerminalError::Io {
        path: path.to_owned(),
        source,
    }
}

fn sql_u64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn row_u64(row: &sqlx::sqlite::SqliteRow, column: &str) -> Result<u64, TerminalError> {
    let value: i64 = row.try_get(column)?;
    u64::try_from(value).map_err(|_| TerminalError::Corrupt(format!("negative {column}")))
}

fn row_opt_u64(row: &sqlx::sqlite::SqliteRow, column: &str) -> Result<Option<u64>, TerminalError> {
    let value: Option<i64> = row.try_get(column)?;
    Ok(value.and_then(|v| u64::try_from(v).ok()))
}

/// Text the key check seals, to tell a wrong passphrase from a damaged record.
const KEY_CHECK: &[u8] = b"garita terminal key check";

fn what(seq: u64) -> String {
    format!("outbox seq {seq}")
}

/// Opens the SQLite database `file` durably (WAL, `synchronous=FULL`).
pub(crate) async fn open_pool(file: &Path) -> Result<SqlitePool, TerminalError> {
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(file)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit is on disk before it returns, so a queued capture survives power loss and SIGKILL.
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(30));
    Ok(SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await?)
}

impl Outbox {
    /// Opens (creating) the outbox in `dir` for `device_id`, unlocking it with `passphrase`.
    ///
    /// # Errors
    /// `WrongPassphrase`, `OtherDevice`, or a database or file error.
    pub async fn open(
        dir: &Path,
        device_id: Uuid,
        passphrase: &[u8],
    ) -> Result<Self, TerminalError> {
        if !dir.exists() {
            // A directory the terminal makes is private to its owner; one the operator made is left as it is.
            std::fs::create_dir_all(dir).map_err(io(dir))?;
            restrict(dir)?;
        }
        let pool = open_pool(&dir.join("outbox.db")).await?;
        for statement in SCHEMA {
            sqlx::query(statement).execute(&pool).await?;
        }
        sqlx::query("INSERT INTO counter (id, next_seq) VALUES (0, 1) ON CONFLICT (id) DO NOTHING")
            .execute(&pool)
            .await?;
        let salt = match meta(&pool, "kdf_salt").await? {
            Some(text) => B64
                .decode(text.as_bytes())
                .ok()
                .and_then(|bytes| <[u8; SALT_LEN]>::try_from(bytes).ok())
                .ok_or_else(|| TerminalError::Corrupt("kdf_salt".into()))?,
            None => {
                let salt = random_salt();
                set_meta_once(&pool, "kdf_salt", &B64.encode(salt)).await?;
                // Another process may have won the race: use what is stored.
                let stored = meta(&pool, "kdf_salt").await?.unwrap_or_default();
                B64.decode(stored.as_bytes())
                    .ok()
                    .and_then(|bytes| <[u8; SALT_LEN]>::try_from(bytes).ok())
                    .ok_or_else(|| TerminalError::Corrupt("kdf_salt".into()))?
            }
        };
        let key = SealKey::derive(passphrase, &salt)?;
        match meta(&pool, "key_check").await? {
            Some(text) => {
                let sealed = B64
                    .decode(text.as_bytes())
                    .map_err(|_| TerminalError::Corrupt("key_check".into()))?;
                if key.open("key check", &sealed).ok().as_deref() != Some(KEY_CHECK) {
                    return Err(TerminalError::WrongPassphrase);
                }
            }
            None => {
                let sealed = key.seal("key check", KEY_CHECK)?;
                set_meta_once(&pool, "key_check", &B64.encode(sealed)).await?;
            }
        }
        match meta(&pool, "device_id").await? {
            Some(text) => {
                let stored: Uuid = text
                    .parse()
                    .map_err(|_| TerminalError::Corrupt("device_id".into()))?;
                if stored != device_id {
                    return Err(TerminalError::OtherDevice {
                        stored,
                        given: device_id,
                    });
                }
            }
            None => set_meta_once(&pool, "device_id", &device_id.to_string()).await?,
        }
        Ok(Outbox {
            pool,
            key: std::sync::Arc::new(key),
            device_id,
        })
    }

    /// The device this outbox signs for.
    pub fn device_id(&self) -> Uuid {
        self.device_id
    }

    /// The sealing key (the watchlist snapshot uses it too).
    pub(crate) fn key(&self) -> &SealKey {
        &self.key
    }

    /// The database (the watchlist snapshot lives beside the outbox).
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Signs the capture with the device key and the next sequence number and stores it durably; returns the
    /// sequence number. Nothing is sent here: the agent forwards it.
    ///
    /// # Errors
    /// On database failure; nothing is stored then and the number is not used.
    pub async fn enqueue(
        &self,
        key: &DeviceKey,
        payload_type: PayloadType,
        payload: Vec<u8>,
        blobs: Vec<Vec<u8>>,
        captured_at: OffsetDateTime,
    ) -> Result<u64, TerminalError> {
        let mut tx = self.pool.begin().await?;
        // The write comes first, so this transaction holds SQLite's write lock before it reads the number.
        sqlx::query("UPDATE counter SET next_seq = next_seq + 1 WHERE id = 0")
            .execute(&mut *tx)
            .await?;
        let next: i64 = sqlx::query_scalar("SELECT next_seq FROM counter WHERE id = 0")
            .fetch_one(&mut *tx)
            .await?;
        let seq = u64::try_from(next - 1).map_err(|_| TerminalError::Corrupt("counter".into()))?;
        let blob_refs: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
        let signed = Envelope::describe(
            self.device_id,
            seq,
            captured_at,
            payload_type,
            &payload,
            &blob_refs,
        )
        .sign(key);
        let capture = Capture {
            signed,
            payload,
            blobs,
        };
        let plain = serde_json::to_vec(&capture.to_body())
            .map_err(|err| TerminalError::Corrupt(err.to_string()))?;
        let sealed = self.key.seal(&what(seq), &plain)?;
        sqlx::query(
            "INSERT INTO outbox (seq, payload_type, size, queued_at, sealed, state) VALUES ($1, $2, $3, $4, $5, 'queued')",
        )
        .bind(sql_u64(seq))
        .bind(payload_type.as_str())
        .bind(sql_u64(capture.size()))
        .bind(garita_model::canonical_time(captured_at))
        .bind(sealed)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// The oldest capture not yet delivered nor failed.
    ///
    /// # Errors
    /// On database failure, or when the sealed record does not open.
    pub async fn next_pending(&self) -> Result<Option<Pending>, TerminalError> {
        let row = sqlx::query(
            "SELECT seq, sealed, attempts FROM outbox WHERE state IN ('queued', 'sending') ORDER BY seq LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let seq = row_u64(&row, "seq")?;
        let sealed: Vec<u8> = row.try_get("sealed")?;
        let capture = Capture::from_body(&self.key.open(&what(seq), &sealed)?)?;
        Ok(Some(Pending {
            seq,
            capture,
            attempts: row_u64(&row, "attempts")?,
        }))
    }

    /// The capture stored under `seq`, decrypted.
    ///
    /// # Errors
    /// On database failure, when there is none, or when it does not open.
    pub async fn capture(&self, seq: u64) -> Result<Capture, TerminalError> {
        let sealed: Vec<u8> = sqlx::query_scalar("SELECT sealed FROM outbox WHERE seq = $1")
            .bind(sql_u64(seq))
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| TerminalError::Corrupt(format!("no capture {seq}")))?;
        Capture::from_body(&self.key.open(&what(seq), &sealed)?)
    }

    async fn update(&self, sql: &str, seq: u64, text: Option<&str>) -> Result<(), TerminalError> {
        sqlx::query(sql)
            .bind(sql_u64(seq))
            .bind(text)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Marks `seq` as being sent (one more attempt).
    ///
    /// # Errors
    /// On database failure.
    pub async fn mark_sending(&self, seq: u64) -> Result<(), TerminalError> {
        self.update(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE seq = $1 AND $2 IS NULL",
            seq,
            None,
        )
        .await
    }

    /// Records a failed attempt that will be retried.
    ///
    /// # Errors
    /// On database failure.
    pub async fn record_retry(&self, seq: u64, reason: &str) -> Result<(), TerminalError> {
        self.update(
            "UPDATE outbox SET retries = retries + 1, last_error = $2 WHERE seq = $1",
            seq,
            Some(reason),
        )
        .await
    }

    /// Records how many bytes of a chunked upload the server holds.
    ///
    /// # Errors
    /// On database failure.
    pub async fn record_upload_offset(&self, seq: u64, offset: u64) -> Result<(), TerminalError> {
        sqlx::query("UPDATE outbox SET upload_offset = $2 WHERE seq = $1")
            .bind(sql_u64(seq))
            .bind(sql_u64(offset))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The server refused the capture for good: keep it, with the reason, and move on.
    ///
    /// # Errors
    /// On database failure.
    pub async fn mark_failed(&self, seq: u64, reason: &str) -> Result<(), TerminalError> {
        self.update(
            "UPDATE outbox SET state = 'failed', last_error = $2 WHERE seq = $1",
            seq,
            Some(reason),
        )
        .await
    }

    /// The server acknowledged the capture: store its receipt (without the alerts, which name people; their
    /// count is kept).
    ///
    /// # Errors
    /// On database failure.
    pub async fn mark_delivered(
        &self,
        seq: u64,
        receipt: &serde_json::Value,
    ) -> Result<(), TerminalError> {
        let mut kept = receipt.clone();
        let alerts = kept
            .as_object_mut()
            .and_then(|object| object.remove("alerts"))
            .and_then(|alerts| alerts.as_array().map(Vec::len))
            .unwrap_or(0);
        let leaf_index = kept.get("leaf_index").and_then(serde_json::Value::as_u64);
        sqlx::query(
            "UPDATE outbox SET state = 'delivered', receipt = $2, leaf_index = $3, alerts = $4, delivered_at = $5, \
             last_error = NULL WHERE seq = $1",
        )
        .bind(sql_u64(seq))
        .bind(kept.to_string())
        .bind(leaf_index.map(sql_u64))
        .bind(sql_u64(alerts as u64))
        .bind(garita_model::canonical_time(OffsetDateTime::now_utc()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Delivered captures whose proof is not verified yet, oldest first (at most `limit`).
    ///
    /// # Errors
    /// On database failure.
    pub async fn proofs_pending(&self, limit: u32) -> Result<Vec<u64>, TerminalError> {
        let rows = sqlx::query(
            "SELECT seq FROM outbox WHERE state = 'delivered' AND proof_verified_at IS NULL AND proof_error IS NULL \
             ORDER BY seq LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| row_u64(row, "seq")).collect()
    }

    /// Stores a verified proof.
    ///
    /// # Errors
    /// On database failure.
    pub async fn store_proof(&self, seq: u64, proof: &[u8]) -> Result<(), TerminalError> {
        sqlx::query("UPDATE outbox SET proof = $2, proof_verified_at = $3 WHERE seq = $1")
            .bind(sql_u64(seq))
            .bind(proof)
            .bind(garita_model::canonical_time(OffsetDateTime::now_utc()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a proof that does not verify (kept for the investigation, never retried silently).
    ///
    /// # Errors
    /// On database failure.
    pub async fn store_proof_error(
        &self,
        seq: u64,
        proof: &[u8],
        reason: &str,
    ) -> Result<(), TerminalError> {
        sqlx::query("UPDATE outbox SET proof = $2, proof_error = $3 WHERE seq = $1")
            .bind(sql_u64(seq))
            .bind(proof)
            .bind(reason)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Counts by state.
    ///
    /// # Errors
    /// On database failure.
    pub async fn summary(&self) -> Result<Summary, TerminalError> {
        summary(&self.pool).await
    }

    /// Every capture's status line, in sequence order.
    ///
    /// # Errors
    /// On database failure.
    pub async fn list(&self) -> Result<Vec<CaptureStatus>, TerminalError> {
        list(&self.pool).await
    }
}

/// Counts by state, read without the passphrase (nothing sealed is touched).
///
/// # Errors
/// On database failure.
pub async fn summary(pool: &SqlitePool) -> Result<Summary, TerminalError> {
    let row = sqlx::query(
        "SELECT \
           COALESCE(SUM(CASE WHEN state = 'queued' THEN 1 ELSE 0 END), 0) AS queued, \
           COALESCE(SUM(CASE WHEN state = 'sending' THEN 1 ELSE 0 END), 0) AS in_flight, \
           COALESCE(SUM(CASE WHEN state = 'delivered' THEN 1 ELSE 0 END), 0) AS delivered, \
           COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) AS failed, \
           COALESCE(SUM(CASE WHEN proof_verified_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS proofs_verified, \
           COALESCE(SUM(CASE WHEN state = 'delivered' AND proof_verified_at IS NULL AND proof_error IS NULL THEN 1 ELSE 0 END), 0) AS proofs_pending, \
           COALESCE(SUM(CASE WHEN proof_error IS NOT NULL THEN 1 ELSE 0 END), 0) AS proof_errors, \
           COALESCE(SUM(retries), 0) AS retries \
         FROM outbox",
    )
    .fetch_one(pool)
    .await?;
    let next: i64 = sqlx::query_scalar("SELECT next_seq FROM counter WHERE id = 0")
        .fetch_optional(pool)
        .await?
        .unwrap_or(1);
    Ok(Summary {
        device_id: meta(pool, "device_id").await?.and_then(|t| t.parse().ok()),
        queued: row_u64(&row, "queued")?,
        in_flight: row_u64(&row, "in_flight")?,
        delivered: row_u64(&row, "delivered")?,
        failed: row_u64(&row, "failed")?,
        proofs_verified: row_u64(&row, "proofs_verified")?,
        proofs_pending: row_u64(&row, "proofs_pending")?,
        proof_errors: row_u64(&row, "proof_errors")?,
        retries: row_u64(&row, "retries")?,
        next_seq: u64::try_from(next).unwrap_or(1),
        watchlist_version: meta(pool, "watchlist_version")
            .await?
            .and_then(|text| text.parse().ok())
            .unwrap_or(0),
    })
}

/// Every capture's status line, read without the passphrase.
///
/// # Errors
/// On database failure.
pub async fn list(pool: &SqlitePool) -> Result<Vec<CaptureStatus>, TerminalError> {
    let rows = sqlx::query(
        "SELECT seq, state, payload_type, size, attempts, last_error, upload_offset, leaf_index, \
         proof_verified_at, proof_error FROM outbox ORDER BY seq",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(CaptureStatus {
                seq: row_u64(row, "seq")?,
                state: row.try_get("state")?,
                payload_type: row.try_get("payload_type")?,
                size: row_u64(row, "size")?,
                attempts: row_u64(row, "attempts")?,
                last_error: row.try_get("last_error")?,
                upload_offset: row_opt_u64(row, "upload_offset")?,
                leaf_index: row_opt_u64(row, "leaf_index")?,
                proof_verified: row
                    .try_get::<Option<String>, _>("proof_verified_at")?
                    .is_some(),
                proof_error: row.try_get("proof_error")?,
            })
        })
        .collect()
}

async fn meta(pool: &SqlitePool, name: &str) -> Result<Option<String>, TerminalError> {
    Ok(sqlx::query_scalar("SELECT value FROM meta WHERE name = $1")
        .bind(name)
        .fetch_optional(pool)
        .await?)
}

async fn set_meta_once(pool: &SqlitePool, name: &str, value: &str) -> Result<(), TerminalError> {
    sqlx::query("INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(value)
        .execute(pool)
        .await?;
    Ok(())
}

/// Keeps the data directory private to its owner.
fn restrict(dir: &Path) -> Result<(), TerminalError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn enqueue_signs_in_order_and_seals_at_rest() {
        let dir = tempfile::tempdir().unwrap();
        let device = Uuid::new_v4();
        let key = DeviceKey::generate();
        let outbox = Outbox::open(dir.path(), device, b"pass phrase")
            .await
            .unwrap();
        let marker = b"UNMISTAKABLE-BIOMETRIC-BYTES".to_vec();
        for n in 0..3u8 {
            let seq = outbox
                .enqueue(
                    &key,
                    PayloadType::Encounter,
                    format!("{{\"n\":{n}}}").into_bytes(),
                    vec![marker.clone()],
                    OffsetDateTime::now_utc(),
                )
                .await
                .unwrap();
            assert_eq!(seq, u64::from(n) + 1);
        }
        let first = outbox.next_pending().await.unwrap().unwrap();
        assert_eq!(first.seq, 1);
        first.capture.signed.verify(&key.public_key_b64()).unwrap();
        assert_eq!(first.capture.blobs, vec![marker.clone()]);
        outbox
            .mark_delivered(1, &serde_json::json!({ "leaf_index": 4, "alerts": [] }))
            .await
            .unwrap();
        assert_eq!(outbox.next_pending().await.unwrap().unwrap().seq, 2);
        let summary = outbox.summary().await.unwrap();
        assert_eq!(
            (summary.queued, summary.delivered, summary.next_seq),
            (2, 1, 4)
        );
        // Nothing personal on disk in clear, in the database or its WAL, open or closed. (SQLite removes the WAL
        // and shared-memory files on close, so a file listed may be gone when read.)
        let scan = || {
            let mut read = 0;
            for entry in std::fs::read_dir(dir.path()).unwrap() {
                let Ok(bytes) = std::fs::read(entry.unwrap().path()) else {
                    continue;
                };
                read += 1;
                assert!(!bytes.windows(marker.len()).any(|w| w == marker.as_slice()));
            }
            assert!(read >= 1, "the outbox database was read");
        };
        scan();
        outbox.pool.close().await;
        scan();
        // The wrong passphrase opens nothing; another device id is refused.
        let wrong = Outbox::open(dir.path(), device, b"guess")
            .await
            .unwrap_err();
        assert!(matches!(wrong, TerminalError::WrongPassphrase), "{wrong}");
        let other = Outbox::open(dir.path(), Uuid::new_v4(), b"pass phrase")
            .await
            .unwrap_err();
        assert!(
            matches!(other, TerminalError::OtherDevice { .. }),
            "{other}"
        );
        let again = Outbox::open(dir.path(), device, b"pass phrase")
            .await
            .unwrap();
        assert_eq!(again.next_pending().await.unwrap().unwrap().seq, 2);
    }
}
