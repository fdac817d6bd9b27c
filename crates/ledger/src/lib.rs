//! garita's transparency ledger: every accepted record goes into an append-only Merkle log the agency owns,
//! published as a C2SP tiled log, so nobody can alter or hide a record undetected and anyone holding a checkpoint
//! can verify a record offline.
//!
//! Specs: [RFC 6962 §2.1] hashing and proofs, [tlog-tiles], [tlog-checkpoint], [signed-note],
//! [tlog-cosignature], [tlog-witness], [tlog-proof]. The entry encoding and on-disk format are in docs/ledger.md.
//!
//! Main types:
//! - [`Log`]: the durable log in a data directory — [`Log::append`] (returns after fsync, group commit),
//!   [`Log::integrate`] (tiles + signed checkpoint; [`Integrator`] runs it periodically), [`Log::serve`] for the
//!   `/log/` routes, [`Log::proof`] for receipts, [`Log::add_cosignatures`] for witnesses.
//! - [`LedgerEntry`] and [`Commitment`]: what goes in, with canonical bytes.
//! - [`verify_log`] over a [`TileSource`] ([`DirSource`] for a data directory): what `garita verify` runs.
//! - [`Witness`]: the add-checkpoint state machine `garita witness` runs.
//! - [`TlogProof`]: the offline receipt.
//!
//! In scope: hashing, proofs, file formats, durability, verification, witnessing. Out of scope: HTTP, the CLI,
//! the SQL store (which keeps each record's salt and leaf index), retention policy (the caller writes purge
//! entries).
//!
//! ```
//! use garita_ledger::{Commitment, EntryBody, Label, LedgerEntry, Log, DirSource, VerifyOptions, verify_log};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
//! let log = Log::open(dir.path(), key, "ledger.example.org/garita")?;
//! let salt = Commitment::random_salt();
//! let entry = LedgerEntry {
//!     time: 1_700_000_000,
//!     body: EntryBody::Decision { commitment: Commitment::of_content(salt, b"decision record bytes") },
//! };
//! let index = log.append(&entry.to_bytes()?)?;
//! log.integrate()?;
//! let receipt = log.proof(index)?;
//! receipt.verify(&log.vkey(), &[], &entry.to_bytes()?)?;
//! let opts = VerifyOptions { leaf: Some(index), full_audit: true, ..Default::default() };
//! let report = verify_log(&DirSource::new(dir.path()), &log.vkey(), None, &opts)?;
//! assert_eq!(report.size, 1);
//! # Ok(()) }
//! ```
//!
//! [RFC 6962 §2.1]: https://www.rfc-editor.org/rfc/rfc6962#section-2.1
//! [tlog-tiles]: https://c2sp.org/tlog-tiles
//! [tlog-checkpoint]: https://c2sp.org/tlog-checkpoint
//! [signed-note]: https://c2sp.org/signed-note
//! [tlog-cosignature]: https://c2sp.org/tlog-cosignature
//! [tlog-witness]: https://c2sp.org/tlog-witness
//! [tlog-proof]: https://c2sp.org/tlog-proof

pub mod bench;
mod entry;
mod error;
mod fsutil;
mod log;
pub mod merkle;
mod note;
mod proof;
pub mod tiles;
mod verify;
mod witness;

pub use entry::{
    COMMITMENT_DOMAIN, Commitment, ENTRY_VERSION, EntryBody, Label, LedgerEntry, MAX_LABEL_LEN,
    MAX_PURGE_COMMITMENTS,
};
pub use error::{
    EntryError, KeyError, LogError, PathError, ProofError, SourceError, TlogProofError,
    VerifyError, WitnessError,
};
pub use log::{Integrator, KEY_FILE, Log};
pub use merkle::{Hash, leaf_hash};
pub use note::{
    CosignatureSigner, CosignatureVerifier, LogSigner, VerifiedCheckpoint, cosignature_timestamp,
    cosignature_vkey, load_or_create_signing_key, sign_checkpoint, verify_checkpoint, vkey,
};
pub use proof::{MAX_TLOG_PROOF_SIZE, TLOG_PROOF_HEADER, TlogProof};
pub use tiles::{Resource, TileId, TileKind};
pub use verify::{
    DirSource, TileSource, VerifyOptions, VerifyReport, consistency_proof_from_tiles, load_state,
    save_state, verify_log,
};
pub use witness::{AddCheckpoint, Witness, encode_add_checkpoint, parse_add_checkpoint};
