//! garita's storage: relational rows and content-addressed blobs under one data directory.
//!
//! [`Store::open`] opens (or creates) `DATA/garita.db` — SQLite in WAL mode with `synchronous=FULL`, so a
//! committed transaction survives power loss — runs the embedded migrations (`migrations/`), and opens the
//! [`BlobStore`] under `DATA/blobs`. SQL is kept portable to PostgreSQL (TEXT ids and timestamps, `$n`
//! placeholders, no SQLite-only functions) so the scale-out backend can run the same statements.
//!
//! The store has no rules about who may do what: authorisation, validation and auditing are the server's job. It
//! takes and returns `garita-model` types.
//!
//! Durability contract: every `async fn` that writes returns only after the transaction commits; blobs are
//! fsync'd (file and directory) before [`BlobStore::put`] returns. Callers write blobs first, rows second, so a
//! row never names a missing blob.

mod audit;
mod blobs;
mod captures;
mod cargo;
mod console;
mod error;
mod objects;
mod people;
mod persons;
mod registry;
mod retention;
mod share;
mod snapshots;
mod templates;
mod uploads;

pub use audit::{AuditEvent, AuditFilter};
pub use blobs::BlobStore;
pub use captures::{CaptureEffect, IngestOutcome, NewCapture, Receipt, StoredCapture};
pub use cargo::ConsignmentDetail;
pub use console::{ConsoleSession, DashboardStats, DayCount, StatsFilter};
pub use error::StoreError;
pub use objects::{ObjectStoreSettings, object_store_from_url};
pub use people::UserRecord;
pub use retention::ExpiredCapture;
pub use share::{
    AgreementRecord, AnswerRecord, CosignatureRecord, ExportSummary, ExportedRecord, ImportSummary,
    ImportedRecordRow,
};
pub use templates::TemplateRow;
pub use uploads::Upload;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use time::OffsetDateTime;

/// Result alias for this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A page request: at most `limit` rows after skipping `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Rows wanted (1..=500).
    pub limit: u32,
    /// Rows skipped.
    pub offset: u64,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: 50,
            offset: 0,
        }
    }
}

impl Page {
    /// Most rows one page may hold.
    pub const MAX_LIMIT: u32 = 500;

    fn sql_limit(&self) -> i64 {
        // One extra row tells the caller whether a next page exists.
        i64::from(self.limit.clamp(1, Self::MAX_LIMIT)) + 1
    }

    fn sql_offset(&self) -> i64 {
        i64::try_from(self.offset).unwrap_or(i64::MAX)
    }
}

/// Where a record sits in the ledger: the salt of its commitment (hex) and its leaf index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRef {
    /// 32-byte salt, hex.
    pub salt: String,
    /// Leaf index in the transparency log.
    pub leaf_index: u64,
}

impl LedgerRef {
    fn sql_index(&self) -> i64 {
        i64::try_from(self.leaf_index).unwrap_or(i64::MAX)
    }
}

/// One page of results and the offset of the next page, if any.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Paged<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Offset to ask for next; absent on the last page.
    pub next_offset: Option<u64>,
}

impl<T> Paged<T> {
    fn from_rows(mut items: Vec<T>, page: Page) -> Self {
        let limit = page.limit.clamp(1, Page::MAX_LIMIT) as usize;
        let next_offset = if items.len() > limit {
            items.truncate(limit);
            Some(page.offset + limit as u64)
        } else {
            None
        };
        Paged { items, next_offset }
    }
}

/// The storage of one garita installation.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    blobs: BlobStore,
    data_dir: PathBuf,
}

impl Store {
    /// Opens or creates the store under `data_dir`.
    ///
    /// # Errors
    /// When the directory cannot be created, the database cannot be opened, or a migration fails.
    pub async fn open(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Io {
            path: data_dir.to_owned(),
            source,
        })?;
        let db_path = data_dir.join("garita.db");
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(&db_path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before it returns, so an acknowledged capture survives power loss.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        let blobs = BlobStore::open(&data_dir.join("blobs"))?;
        Ok(Store {
            pool,
            blobs,
            data_dir: data_dir.to_owned(),
        })
    }

    /// The same store with its blobs kept elsewhere (e.g. [`BlobStore::open_url`] for `s3://bucket`). The
    /// default, from [`Store::open`], is the fsync'd directory `DATA/blobs`.
    #[must_use]
    pub fn with_blobs(mut self, blobs: BlobStore) -> Store {
        self.blobs = blobs;
        self
    }

    /// The blob store.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Closes the pool, waiting for connections to finish.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Fixed-width UTC text of a timestamp; sorts as text in both SQLite and PostgreSQL.
pub fn ts(at: OffsetDateTime) -> String {
    garita_model::canonical_time(at)
}

fn parse_ts(table: &'static str, text: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|err| StoreError::corrupt(table, format!("timestamp {text:?}: {err}")))
}

fn parse_id(table: &'static str, text: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(text)
        .map_err(|err| StoreError::corrupt(table, format!("id {text:?}: {err}")))
}

fn parse_enum<T: FromStr>(table: &'static str, text: &str) -> Result<T> {
    text.parse()
        .map_err(|_| StoreError::corrupt(table, format!("value {text:?}")))
}
