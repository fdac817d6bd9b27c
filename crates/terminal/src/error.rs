//! Errors of the terminal.

/// What went wrong on the terminal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TerminalError {
    /// The outbox database failed.
    #[error("outbox database: {0}")]
    Sql(#[from] sqlx::Error),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The passphrase does not open this outbox.
    #[error("wrong passphrase: it does not open this outbox")]
    WrongPassphrase,
    /// No passphrase was given and the outbox needs one.
    #[error("no passphrase: set GARITA_TERMINAL_PASSPHRASE or --passphrase-file")]
    NoPassphrase,
    /// A sealed record does not open: damaged, or moved between rows.
    #[error("sealed record {what} does not open (damaged or tampered)")]
    Unsealable {
        /// Which record.
        what: String,
    },
    /// Key derivation failed.
    #[error("key derivation: {0}")]
    Kdf(String),
    /// The outbox belongs to another device.
    #[error("this outbox belongs to device {stored}, not {given}")]
    OtherDevice {
        /// The device the outbox was made for.
        stored: uuid::Uuid,
        /// The device asked for.
        given: uuid::Uuid,
    },
    /// A stored value does not parse.
    #[error("corrupt outbox value: {0}")]
    Corrupt(String),
    /// The capture given is not valid.
    #[error("invalid capture: {0}")]
    Invalid(#[from] garita_model::ModelError),
    /// The watchlist snapshot is not valid.
    #[error("watchlist snapshot: {0}")]
    Snapshot(String),
}
