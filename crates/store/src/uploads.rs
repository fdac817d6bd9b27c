//! Resumable uploads of large captures: a row per upload (who, which capture, how many bytes are durable) and a
//! staging file `DATA/uploads/<id>.part` that chunks are appended to.
//!
//! Durability: a chunk is written and fsync'd before `received` moves past it, and the file is truncated back to
//! `received` before each append, so bytes written but not acknowledged before a crash are simply sent again.

use crate::{Result, Store, StoreError, parse_id, ts};
use sqlx::Row;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;
use uuid::Uuid;

/// An upload in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Unguessable id (UUID v4).
    pub id: Uuid,
    /// The device that started it.
    pub device_id: Uuid,
    /// The capture's sequence number.
    pub seq: u64,
    /// SHA-256 of the envelope's canonical bytes.
    pub envelope_sha256: String,
    /// The signed envelope as JSON, as presented.
    pub envelope_json: String,
    /// Bytes expected: payload plus every blob.
    pub total_size: u64,
    /// Bytes durably received so far.
    pub received: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

fn sql_u64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn upload_from_row(row: &sqlx::any::AnyRow) -> Result<Upload> {
    let number = |column: &str| -> Result<u64> {
        u64::try_from(row.try_get::<i64, _>(column)?)
            .map_err(|_| StoreError::corrupt("uploads", format!("negative {column}")))
    };
    Ok(Upload {
        id: parse_id("uploads", &row.try_get::<String, _>("id")?)?,
        device_id: parse_id("uploads", &row.try_get::<String, _>("device_id")?)?,
        seq: number("seq")?,
        envelope_sha256: row.try_get("envelope_sha256")?,
        envelope_json: row.try_get("envelope_json")?,
        total_size: number("total_size")?,
        received: number("received")?,
    })
}

const COLUMNS: &str = "id, device_id, seq, envelope_sha256, envelope_json, total_size, received";

impl Store {
    fn uploads_dir(&self) -> PathBuf {
        self.data_dir.join("uploads")
    }

    fn upload_file(&self, id: Uuid) -> PathBuf {
        self.uploads_dir().join(format!("{}.part", id.simple()))
    }

    /// Starts an upload, or returns the one already started for the same device, sequence number and envelope
    /// (so a device that lost the answer resumes where the server is). The flag is true for a new upload.
    ///
    /// # Errors
    /// On database or file-system failure.
    pub async fn start_upload(
        &self,
        device_id: Uuid,
        seq: u64,
        envelope_sha256: &str,
        envelope_json: &str,
        total_size: u64,
        now: OffsetDateTime,
    ) -> Result<(Upload, bool)> {
        if let Some(existing) = self.upload_for(device_id, seq, envelope_sha256).await? {
            return Ok((existing, false));
        }
        let upload = Upload {
            id: Uuid::new_v4(),
            device_id,
            seq,
            envelope_sha256: envelope_sha256.to_owned(),
            envelope_json: envelope_json.to_owned(),
            total_size,
            received: 0,
        };
        let dir = self.uploads_dir();
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = self.upload_file(upload.id);
        File::create(&path)
            .and_then(|file| file.sync_all())
            .map_err(io(&path))?;
        let inserted = sqlx::query(
            "INSERT INTO uploads (id, device_id, seq, envelope_sha256, envelope_json, total_size, received, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
        )
        .bind(upload.id.to_string())
        .bind(device_id.to_string())
        .bind(sql_u64(seq))
        .bind(envelope_sha256)
        .bind(envelope_json)
        .bind(sql_u64(total_size))
        .bind(ts(now))
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok((upload, true)),
            Err(err) => {
                let _ = std::fs::remove_file(&path);
                match StoreError::unique(err, "upload") {
                    // Two starts raced: the other one won, use it.
                    StoreError::Duplicate { .. } => self
                        .upload_for(device_id, seq, envelope_sha256)
                        .await?
                        .map(|existing| (existing, false))
                        .ok_or(StoreError::NotFound { what: "upload" }),
                    other => Err(other),
                }
            }
        }
    }

    async fn upload_for(
        &self,
        device_id: Uuid,
        seq: u64,
        envelope_sha256: &str,
    ) -> Result<Option<Upload>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM uploads WHERE device_id = $1 AND seq = $2 AND envelope_sha256 = $3"
        ))
        .bind(device_id.to_string())
        .bind(sql_u64(seq))
        .bind(envelope_sha256)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(upload_from_row).transpose()
    }

    /// An upload by id.
    ///
    /// # Errors
    /// On database failure.
    pub async fn upload(&self, id: Uuid) -> Result<Option<Upload>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM uploads WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(upload_from_row).transpose()
    }

    /// Appends `bytes`, which start at `offset` of the upload, and returns the new durable offset. Bytes before
    /// `upload.received` are already there (a resend after a lost answer) and are skipped; a gap is refused by
    /// the caller before this is called (`offset > received`). The chunk is fsync'd before the row moves on.
    ///
    /// # Errors
    /// On database or file-system failure; `Corrupt` when the chunk would run past the declared size.
    pub async fn append_upload(&self, upload: &Upload, offset: u64, bytes: &[u8]) -> Result<u64> {
        let skip = upload.received.saturating_sub(offset);
        let fresh = bytes
            .get(usize::try_from(skip).unwrap_or(usize::MAX)..)
            .unwrap_or(&[]);
        if fresh.is_empty() {
            return Ok(upload.received);
        }
        let end = upload.received + fresh.len() as u64;
        if end > upload.total_size {
            return Err(StoreError::corrupt(
                "uploads",
                format!(
                    "chunk ends at {end}, past the declared {}",
                    upload.total_size
                ),
            ));
        }
        let path = self.upload_file(upload.id);
        let received = upload.received;
        let data = fresh.to_vec();
        let write_path = path.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut file = OpenOptions::new().write(true).open(&write_path)?;
            // Bytes past the durable offset were never acknowledged: drop them.
            file.set_len(received)?;
            file.seek(SeekFrom::Start(received))?;
            file.write_all(&data)?;
            file.sync_all()
        })
        .await
        .map_err(|err| StoreError::corrupt("uploads", err.to_string()))?
        .map_err(io(&path))?;
        sqlx::query("UPDATE uploads SET received = $1 WHERE id = $2")
            .bind(sql_u64(end))
            .bind(upload.id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(end)
    }

    /// The bytes durably received so far.
    ///
    /// # Errors
    /// On file-system failure.
    pub fn read_upload(&self, upload: &Upload) -> Result<Vec<u8>> {
        let path = self.upload_file(upload.id);
        let file = File::open(&path).map_err(io(&path))?;
        let mut bytes = Vec::with_capacity(usize::try_from(upload.received).unwrap_or(0));
        file.take(upload.received)
            .read_to_end(&mut bytes)
            .map_err(io(&path))?;
        Ok(bytes)
    }

    /// Forgets the uploads started before `before` (abandoned: a device resumes within days or starts again);
    /// returns how many.
    ///
    /// # Errors
    /// On database failure.
    pub async fn expire_uploads(&self, before: OffsetDateTime) -> Result<u64> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM uploads WHERE created_at < $1")
            .bind(ts(before))
            .fetch_all(&self.pool)
            .await?;
        for id in &ids {
            self.delete_upload(parse_id("uploads", id)?).await?;
        }
        Ok(ids.len() as u64)
    }

    /// Forgets an upload: its row, then its staging file.
    ///
    /// # Errors
    /// On database failure.
    pub async fn delete_upload(&self, id: Uuid) -> Result<()> {
        sqlx::query("DELETE FROM uploads WHERE id = $1")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        let _ = std::fs::remove_file(self.upload_file(id));
        Ok(())
    }
}
