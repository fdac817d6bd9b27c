//! The crate's one error type.

use garita_ledger::LogError;

/// What went wrong in the cluster: its database, the object store, the shared ledger.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A PostgreSQL statement failed (the transaction rolled back: nothing was acknowledged).
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The object store failed.
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    /// A log-level failure: entry size, not yet integrated, cosignature rejected, proof or key errors.
    #[error(transparent)]
    Log(#[from] LogError),
    /// This node's lock session ended: it no longer sequences the ledger.
    #[error("this node lost the ledger leadership")]
    LostLeadership,
    /// The database belongs to a log with another origin or key (every node must share the log key).
    #[error("the shared ledger is {found}, but this node is configured as {expected}")]
    KeyMismatch {
        /// This node's verifier key.
        expected: String,
        /// The verifier key recorded in the database.
        found: String,
    },
    /// Shared state contradicts itself (e.g. entries that do not hash to the published root) or a row holds
    /// something this code never writes.
    #[error("inconsistent cluster state: {0}")]
    Corrupt(String),
    /// The group-commit transaction carrying this append failed (nothing of it was committed).
    #[error("append transaction failed: {0}")]
    AppendFailed(String),
    /// The node is shutting down.
    #[error("the ledger is shutting down")]
    Closed,
}

impl From<garita_ledger::ProofError> for ClusterError {
    fn from(err: garita_ledger::ProofError) -> Self {
        Self::Log(err.into())
    }
}

impl From<garita_ledger::KeyError> for ClusterError {
    fn from(err: garita_ledger::KeyError) -> Self {
        Self::Log(err.into())
    }
}
