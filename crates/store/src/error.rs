//! Errors of the store.

use std::path::PathBuf;

/// What went wrong in storage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    /// The database could not be reached or opened (the URL's password is never shown).
    #[error("database {url}: {source}")]
    Connect {
        /// The database URL, password redacted.
        url: String,
        /// Why.
        source: sqlx::Error,
    },
    /// The database URL names no backend garita supports.
    #[error("unsupported database URL {url}: use postgres://… or sqlite://…")]
    UnsupportedDatabase {
        /// The URL, password redacted.
        url: String,
    },
    /// A migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A stored value does not parse: the database was edited by hand or is damaged.
    #[error("corrupt row in {table}: {detail}")]
    Corrupt {
        /// Table.
        table: &'static str,
        /// What failed.
        detail: String,
    },
    /// A unique key already exists (e.g. a username or site name).
    #[error("{what} already exists")]
    Duplicate {
        /// What clashed.
        what: &'static str,
    },
    /// A referenced row does not exist.
    #[error("{what} not found")]
    NotFound {
        /// What was missing.
        what: &'static str,
    },
    /// The object store (S3 or another backend of object_store) failed.
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    /// An object store URL that names no supported store.
    #[error("object store URL {url:?}: {detail}")]
    ObjectStoreUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A blob's bytes do not hash to its name.
    #[error("blob {sha256} is damaged")]
    BlobDamaged {
        /// The blob's name.
        sha256: String,
    },
}

impl StoreError {
    pub(crate) fn corrupt(table: &'static str, detail: String) -> Self {
        StoreError::Corrupt { table, detail }
    }

    /// Maps a unique-constraint violation to `Duplicate`, anything else unchanged.
    pub(crate) fn unique(err: sqlx::Error, what: &'static str) -> Self {
        match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate { what },
            _ => StoreError::Sql(err),
        }
    }
}
