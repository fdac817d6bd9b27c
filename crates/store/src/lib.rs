//! garita's storage: relational rows and content-addressed blobs under one data directory.
//!
//! Rows live in one of two databases ([`Backend`]), chosen when the store opens (docs/storage.md):
//!
//! - SQLite (the default, [`Store::open`]): `DATA/garita.db` in WAL mode with `synchronous=FULL`, foreign keys on
//!   and a busy timeout, set on every connection — a committed transaction survives power loss.
//! - PostgreSQL ([`Store::open_with`] with a `postgres://` URL): commits are durable because PostgreSQL's defaults
//!   are kept (`synchronous_commit=on`, `fsync=on`): a commit returns only after its WAL record is flushed. An
//!   operator who turns either off loses garita's acknowledgement guarantee.
//!
//! Both run the same statements: runtime `sqlx::query` with `$n` placeholders, TEXT ids and fixed-width UTC TEXT
//! timestamps (they sort as text), BIGINT, DOUBLE PRECISION; booleans are read as 0/1 (`CASE WHEN … THEN 1 ELSE 0
//! END`) because sqlx's Any driver cannot decode a SQLite BOOLEAN column. The pool is a `sqlx::AnyPool` rather
//! than an enum over `SqlitePool`/`PgPool`: one code path per query, and the Any driver covers every type the
//! schema uses. Each backend has its own migration directory (`migrations/sqlite`, `migrations/postgres`): 0001–0008
//! are the same files; `postgres/0009` partitions the append-only audit table by month (module `partitions`). A
//! test (`tests/postgres.rs`) checks both give the same tables and columns. The data directory always holds the
//! keys, the ledger and the [`BlobStore`] (`DATA/blobs`), whichever backend holds the rows.
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
mod partitions;
mod people;
mod persons;
mod registry;
mod retention;
mod share;
mod snapshots;
mod templates;
pub mod testdb;
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

use sqlx::AnyConnection;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
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

/// Which relational database a [`Store`] keeps its rows in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `DATA/garita.db`, the default.
    Sqlite,
    /// A PostgreSQL database named by a `postgres://` URL.
    Postgres,
}

/// How to open a [`Store`]: the data directory (keys, blobs, uploads) and, optionally, a database URL.
#[derive(Debug, Clone, Default)]
pub struct StoreConfig {
    /// The data directory; always used for blobs, and for `garita.db` when no URL is given.
    pub data_dir: PathBuf,
    /// `postgres://user:password@host:port/db` (or `postgresql://`, `sqlite://path`); `None` means
    /// `DATA/garita.db`.
    pub database: Option<String>,
}

/// The storage of one garita installation.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Months whose audit partition is known to exist (PostgreSQL).
    audit_months: Arc<Mutex<BTreeSet<String>>>,
    blobs: BlobStore,
    data_dir: PathBuf,
}

impl Store {
    /// Opens or creates the store under `data_dir`, with its rows in `DATA/garita.db` (SQLite).
    ///
    /// # Errors
    /// When the directory cannot be created, the database cannot be opened, or a migration fails.
    pub async fn open(data_dir: &Path) -> Result<Store> {
        Store::open_with(data_dir, None).await
    }

    /// Opens the store under `data_dir` with its rows in `database` (a `postgres://` or `sqlite://` URL), or in
    /// `DATA/garita.db` when `database` is `None`; runs the migrations of that backend.
    ///
    /// # Errors
    /// When the directory cannot be created, the URL names no supported database, the database cannot be
    /// reached, or a migration fails. Errors never carry the URL's password.
    pub async fn open_with(data_dir: &Path, database: Option<&str>) -> Result<Store> {
        std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Io {
            path: data_dir.to_owned(),
            source,
        })?;
        sqlx::any::install_default_drivers();
        let (backend, url) = match database {
            None => (Backend::Sqlite, sqlite_url(&data_dir.join("garita.db"))),
            Some(url) => (backend_of(url)?, url.to_owned()),
        };
        let pool = connect(backend, &url)
            .await
            .map_err(|source| StoreError::Connect {
                url: redact_url(&url),
                source,
            })?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await?,
        }
        let blobs = BlobStore::open(&data_dir.join("blobs"))?;
        let store = Store {
            pool,
            backend,
            audit_months: Arc::default(),
            blobs,
            data_dir: data_dir.to_owned(),
        };
        store
            .ensure_audit_partitions_ahead(OffsetDateTime::now_utc())
            .await?;
        Ok(store)
    }

    /// Opens the store described by `config`.
    ///
    /// # Errors
    /// As [`Store::open_with`].
    pub async fn open_config(config: &StoreConfig) -> Result<Store> {
        Store::open_with(&config.data_dir, config.database.as_deref()).await
    }

    /// Which database holds the rows.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Every table of the schema with its column names (sorted), without sqlx's bookkeeping table or
    /// PostgreSQL's partitions; the two backends must agree on it.
    ///
    /// # Errors
    /// On database failure.
    pub async fn table_columns(&self) -> Result<BTreeMap<String, Vec<String>>> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '_sqlx_migrations'"
            }
            Backend::Postgres => {
                "SELECT CAST(cl.relname AS TEXT) AS t, CAST(a.attname AS TEXT) AS c FROM pg_class cl \
                 JOIN pg_namespace n ON n.oid = cl.relnamespace JOIN pg_attribute a ON a.attrelid = cl.oid \
                 WHERE n.nspname = current_schema() AND cl.relkind IN ('r', 'p') AND NOT cl.relispartition \
                 AND a.attnum > 0 AND NOT a.attisdropped AND cl.relname <> '_sqlx_migrations'"
            }
        };
        let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in sqlx::query(sql).fetch_all(&self.pool).await? {
            tables
                .entry(row.try_get("t")?)
                .or_default()
                .push(row.try_get("c")?);
        }
        for columns in tables.values_mut() {
            columns.sort();
        }
        Ok(tables)
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

/// The `sqlite://` URL of a database file, created when missing.
fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

fn backend_of(url: &str) -> Result<Backend> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else {
        Err(StoreError::UnsupportedDatabase {
            url: redact_url(url),
        })
    }
}

/// Connects a pool; on SQLite every connection gets WAL, `synchronous=FULL` (a commit is on disk before it
/// returns, so an acknowledged capture survives power loss), foreign keys and a busy timeout.
async fn connect(backend: Backend, url: &str) -> std::result::Result<AnyPool, sqlx::Error> {
    let options = AnyPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10));
    match backend {
        Backend::Postgres => options.connect(url).await,
        Backend::Sqlite => {
            options
                .after_connect(|conn: &mut AnyConnection, _meta| {
                    Box::pin(async move {
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = FULL",
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA busy_timeout = 10000",
                        ] {
                            sqlx::query(pragma).execute(&mut *conn).await?;
                        }
                        Ok(())
                    })
                })
                .connect(url)
                .await
        }
    }
}

/// `url` with its password replaced by `***`, for logs and errors.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
        None => url.to_owned(),
    }
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
