//! Error types, one per concern, each carrying what a caller needs to act or report.

use std::path::PathBuf;

/// A Merkle proof could not be produced or did not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// Requested leaf.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// The two sizes do not describe a proof (old must be 1..=new).
    #[error("no consistency proof from tree size {old} to {new}")]
    BadSizes {
        /// Older size.
        old: u64,
        /// Newer size.
        new: u64,
    },
    /// The proof does not reproduce the expected root(s).
    #[error("proof does not verify")]
    Mismatch,
    /// The hash store could not supply a hash.
    #[error("reading stored hashes")]
    HashRead(#[source] tlog_tiles::Error),
}

/// A tile path is not one of the canonical C2SP tlog-tiles paths.
#[derive(Debug, thiserror::Error)]
#[error("bad log path {path:?}: {reason}")]
pub struct PathError {
    /// The path (truncated).
    pub path: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl PathError {
    pub(crate) fn new(path: &str, reason: &'static str) -> Self {
        Self {
            path: path.chars().take(80).collect(),
            reason,
        }
    }
}

/// A ledger entry could not be encoded or parsed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// A label is empty, too long or not printable ASCII without spaces.
    #[error("bad label {value:?}: want 1..=128 printable ASCII bytes without spaces")]
    BadLabel {
        /// Start of the offending value.
        value: String,
    },
    /// A purge names no commitments or too many.
    #[error("purge names {count} commitments, want 1..=1000")]
    TooManyCommitments {
        /// How many it named.
        count: usize,
    },
    /// The entry is longer than an entry bundle can carry.
    #[error("entry is {len} bytes, more than 65535")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// Unknown version byte.
    #[error("unknown entry version {version}")]
    UnknownVersion {
        /// The version byte.
        version: u8,
    },
    /// Unknown entry tag.
    #[error("unknown entry tag {tag}")]
    UnknownTag {
        /// The tag byte.
        tag: u8,
    },
    /// Structure problem at a byte offset.
    #[error("malformed entry at byte {offset}: {reason}")]
    Malformed {
        /// Byte offset.
        offset: usize,
        /// What was expected.
        reason: &'static str,
    },
}

/// Keys, signatures and notes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Not a valid signed-note key name.
    #[error("invalid key name {name:?}")]
    BadName {
        /// The name.
        name: String,
    },
    /// A verifier key string is malformed or of the wrong type.
    #[error("malformed verifier key {vkey:?}")]
    BadVkey {
        /// Start of the key string.
        vkey: String,
    },
    /// Cosignature timestamps must fit in 63 bits.
    #[error("cosignature timestamp {timestamp} exceeds 2^63-1")]
    BadTimestamp {
        /// The timestamp.
        timestamp: u64,
    },
    /// Building or signing a note failed.
    #[error("signing the checkpoint failed")]
    Sign,
    /// A note or checkpoint did not verify.
    #[error("checkpoint: {reason}")]
    Note {
        /// What failed, naming the line where possible.
        reason: String,
    },
    /// A key file is not 64 hex digits.
    #[error("{path}: not a ledger key file (want 64 hex digits)")]
    BadKeyFile {
        /// The file.
        path: PathBuf,
    },
    /// Reading or writing a key file failed.
    #[error("{path}: key file I/O")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Durable log failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// File I/O on the log directory failed.
    #[error("{path}: {op}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// Which file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the log directory.
    #[error("{path}: log directory is locked by another process")]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// An entry is empty or larger than a bundle can carry.
    #[error("entry of {len} bytes: want 1..=65535")]
    EntrySize {
        /// Its length.
        len: usize,
    },
    /// An earlier write failed; the log refuses appends until it is reopened (which repairs the tail).
    #[error("log is poisoned by an earlier write failure; reopen it")]
    Poisoned,
    /// The published checkpoint covers more entries than the entries file holds: entries were lost or removed.
    #[error("published checkpoint has size {checkpoint} but only {entries} entries survive")]
    CheckpointAhead {
        /// Checkpoint size.
        checkpoint: u64,
        /// Surviving entries.
        entries: u64,
    },
    /// The entries file does not hash to the published checkpoint's root.
    #[error("entries do not hash to the published checkpoint root at size {size}")]
    RootMismatch {
        /// Checkpoint size.
        size: u64,
    },
    /// The published checkpoint does not verify under the log key or origin.
    #[error("published checkpoint")]
    Checkpoint(#[source] KeyError),
    /// The leaf is not yet covered by a checkpoint.
    #[error("leaf {index} is not yet integrated (checkpoint size {size})")]
    NotIntegrated {
        /// Requested leaf.
        index: u64,
        /// Current checkpoint size.
        size: u64,
    },
    /// A cosignature does not verify against the current checkpoint and the configured witnesses.
    #[error("cosignature rejected: {reason}")]
    Cosignature {
        /// Why.
        reason: String,
    },
    /// Proof generation failed.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// Key handling failed.
    #[error(transparent)]
    Key(#[from] KeyError),
}

/// Where a tile source failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The resource does not exist.
    #[error("{path}: not found")]
    NotFound {
        /// Resource path.
        path: String,
    },
    /// Fetching failed for another reason (I/O, HTTP status, network).
    #[error("{path}: fetch failed")]
    Fetch {
        /// Resource path.
        path: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Verification failures. Each names the resource that is wrong: the checkpoint, a tile path, or an entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Fetching a resource failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The checkpoint does not verify.
    #[error(transparent)]
    Checkpoint(KeyError),
    /// The checkpoint is older than one seen before (rollback).
    #[error("checkpoint size {size} is smaller than previously verified size {previous}")]
    Rollback {
        /// Served size.
        size: u64,
        /// Previously verified size.
        previous: u64,
    },
    /// The served tree is not an extension of the previously seen one (fork or rewrite).
    #[error(
        "checkpoint size {size} is not consistent with previously verified checkpoint size {previous}"
    )]
    Inconsistent {
        /// Served size.
        size: u64,
        /// Previously verified size.
        previous: u64,
    },
    /// A tile's bytes do not have the length its path says.
    #[error("{path}: tile is {len} bytes, want {want}")]
    TileLength {
        /// Tile path.
        path: String,
        /// Its length.
        len: usize,
        /// Expected length.
        want: usize,
    },
    /// A tile does not hash to the value its parent tile holds for it.
    #[error("{path}: tampered tile (does not match hash {slot} of parent {parent})")]
    TileMismatch {
        /// Tampered tile path.
        path: String,
        /// Its parent tile path.
        parent: String,
        /// Position in the parent.
        slot: u64,
    },
    /// A right-edge (partial) tile is wrong: recomputed from what lies below it, the edge hashes to the root.
    #[error(
        "{path}: tampered tile (hash {slot} differs from its recomputation from {from}, which matches the checkpoint root)"
    )]
    EdgeTileTampered {
        /// Tampered tile path.
        path: String,
        /// First differing position.
        slot: u64,
        /// What it was recomputed from.
        from: String,
    },
    /// The right-edge tiles do not hash to the checkpoint root.
    #[error("tiles {paths} do not hash to the checkpoint root (one of them is tampered)")]
    EdgeMismatch {
        /// The edge tile paths, comma-separated.
        paths: String,
    },
    /// A tile found to be wrong by recomputing it from the entries.
    #[error(
        "{path}: tampered tile (hash {slot} differs from the value recomputed from the entries)"
    )]
    TileContent {
        /// Tile path.
        path: String,
        /// Position in the tile.
        slot: u64,
    },
    /// An entry bundle cannot be split into entries.
    #[error("{path}: malformed entry bundle at byte {offset}")]
    BundleMalformed {
        /// Bundle path.
        path: String,
        /// Byte offset.
        offset: usize,
    },
    /// An entry does not hash to its leaf hash.
    #[error("{path}: tampered entry {index} (does not match its leaf hash in {tile})")]
    EntryMismatch {
        /// Bundle path.
        path: String,
        /// Leaf index.
        index: u64,
        /// Level-0 tile holding its leaf hash.
        tile: String,
    },
    /// The record supplied by the caller is not the logged entry.
    #[error("entry {index}: the given record bytes are not the logged entry")]
    RecordMismatch {
        /// Leaf index.
        index: u64,
    },
    /// The given record is not in any entry bundle of the checkpointed tree.
    #[error("the given record is not among the {size} entries of the checkpointed tree")]
    RecordNotFound {
        /// Checkpoint size.
        size: u64,
    },
    /// The leaf index is outside the checkpoint.
    #[error("leaf {index} is not covered by checkpoint size {size}")]
    LeafOutOfRange {
        /// Leaf index.
        index: u64,
        /// Checkpoint size.
        size: u64,
    },
    /// The inclusion proof from the tiles does not verify.
    #[error("inclusion proof for leaf {index} does not verify against the checkpoint")]
    Inclusion {
        /// Leaf index.
        index: u64,
    },
    /// Reading or writing the verifier state file failed.
    #[error("{path}: verifier state")]
    State {
        /// The state file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Internal proof computation failure.
    #[error(transparent)]
    Proof(#[from] ProofError),
}

/// A witness refuses a checkpoint; [`WitnessError::http_status`] gives the C2SP tlog-witness status code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The request body is malformed.
    #[error("malformed add-checkpoint request: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// The checkpoint origin is not configured.
    #[error("unknown log origin {origin:?}")]
    UnknownOrigin {
        /// The origin.
        origin: String,
    },
    /// No valid signature from the log's key.
    #[error("checkpoint signature")]
    Signature(#[source] KeyError),
    /// The old size exceeds the checkpoint size.
    #[error("old size {old} exceeds checkpoint size {size}")]
    OldSizeTooLarge {
        /// Claimed old size.
        old: u64,
        /// Checkpoint size.
        size: u64,
    },
    /// The old size is not the latest cosigned size.
    #[error("old size {old} is not the latest cosigned size {latest}")]
    Conflict {
        /// Claimed old size.
        old: u64,
        /// Latest cosigned size (body of the 409 response).
        latest: u64,
    },
    /// The consistency proof, or the empty-tree or same-size root rule, fails.
    #[error("checkpoint is not consistent with the latest cosigned one: {reason}")]
    Unprocessable {
        /// What failed.
        reason: &'static str,
    },
    /// The log could not be read, or its tiles did not authenticate.
    #[error("reading the log")]
    Log(#[source] Box<VerifyError>),
    /// Signing failed.
    #[error("cosigning failed")]
    Sign(#[source] KeyError),
    /// Persisting the witness state failed.
    #[error("{path}: witness state")]
    State {
        /// The state file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl WitnessError {
    /// The HTTP status C2SP tlog-witness prescribes for this refusal.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Malformed { .. } | Self::OldSizeTooLarge { .. } => 400,
            Self::UnknownOrigin { .. } => 404,
            Self::Signature(_) => 403,
            Self::Conflict { .. } => 409,
            Self::Unprocessable { .. } => 422,
            Self::Log(_) => 502,
            Self::Sign(_) | Self::State { .. } => 500,
        }
    }
}

/// A C2SP tlog-proof could not be parsed or verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlogProofError {
    /// The text does not follow the format.
    #[error("malformed tlog-proof at line {line}: {reason}")]
    Malformed {
        /// 1-based line.
        line: usize,
        /// What was expected.
        reason: &'static str,
    },
    /// The embedded checkpoint does not verify.
    #[error(transparent)]
    Checkpoint(#[from] KeyError),
    /// A record receipt's extra data does not match the record.
    #[error("record receipt: {reason}")]
    Receipt {
        /// What is wrong.
        reason: &'static str,
    },
    /// The inclusion proof does not verify.
    #[error("inclusion proof for leaf {index}")]
    Inclusion {
        /// Leaf index.
        index: u64,
        /// Why.
        #[source]
        source: ProofError,
    },
}
