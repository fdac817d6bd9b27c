//! The crate's one error type.

/// What can go wrong talking to the cluster database.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The database refused or failed.
    #[error("cluster database: {0}")]
    Database(#[from] sqlx::Error),
    /// A row holds something this code never writes.
    #[error("corrupt cluster row: {0}")]
    Corrupt(String),
}
