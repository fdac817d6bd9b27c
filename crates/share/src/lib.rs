//! `garita-share`: sharing records with a partner agency under an explicit agreement, so that both sides can
//! verify what was shared. Format and threat model: docs/sharing.md.
//!
//! Main parts:
//! - [`Agreement`]: the partner and its keys, the record kinds and fields allowed, exclusions (citizenships — the
//!   sender's own always — and categories), a time window and a purpose; [`Agreement::validate`].
//! - [`select`]: the pure export filter (property-tested in `tests/select.rs`): only allowed records, only allowed
//!   fields, never a person whose citizenship is the sender's own, excluded or unknown.
//! - [`build_bundle`] / [`open`] + [`verify_bundle`]: a bundle is a list of parts (manifest, checkpoint, record
//!   files, one C2SP tlog-proof receipt per record) signed with the sender's Ed25519 sharing key and encrypted to
//!   the partner's X25519 key with HPKE (RFC 9180). Import checks the recipient, decryption, the signature, every
//!   part's hash, the sequence (replay, gaps), the checkpoint and its consistency with the last one seen, every
//!   inclusion proof and commitment, and the agreement again on the receiving side.
//! - [`Answer`]: a partner's signed hit answer; [`sign_request`]/[`verify_request`] authenticate feed requests;
//!   [`verify_cosignature`] checks the partner's witness cosignature of a bundle's checkpoint.
//!
//! In scope: data types, the filter, the byte format, cryptography and verification. Out of scope: SQL, HTTP, the
//! ledger appends (the server logs each shared record and passes the receipts in), packaging images as ANSI/NIST
//! or DICOS (the server does it with garita-an2 / garita-nii before [`select`]).
//!
//! ```
//! use garita_share::{SharingKey, container};
//! # fn main() -> Result<(), garita_share::ShareError> {
//! let sender = SharingKey::from_seed(&[1; 32]);
//! let partner = SharingKey::from_seed(&[2; 32]);
//! let payload = container::encode_parts(&[("manifest.json".into(), b"{}".to_vec())])?;
//! let recipient = garita_share::parse_encrypt_key(&partner.encrypt_key_b64())?;
//! let bundle = container::seal(&sender, &recipient, &payload)?;
//! let opened = container::open(&partner, &bundle)?;
//! assert_eq!(opened.sender, sender.signing().verifying_key());
//! assert!(container::open(&sender, &bundle).is_err()); // not addressed to the sender
//! # Ok(()) }
//! ```

mod agreement;
mod bundle;
pub mod container;
mod error;
mod keys;
mod message;
mod select;

pub use agreement::{
    Agreement, Direction, KindRule, MAX_EXCLUSIONS, MAX_PURPOSE, Partner, RecordKind,
};
pub use bundle::{
    BundleInfo, CHECKPOINT_PART, FIELDS_FILE, FORMAT, ImportedRecord, LastImport, MANIFEST_PART,
    Manifest, ManifestFile, ManifestRecord, PreparedRecord, SHARE_ACTION, VerifiedBundle,
    build_bundle, manifest_of, record_content, verify_bundle,
};
pub use container::{Opened, open};
pub use error::ShareError;
pub use keys::{SharingKey, parse_encrypt_key, parse_sign_key};
pub use message::{
    ANSWER_DOMAIN, Answer, REQUEST_DOMAIN, REQUEST_SKEW_SECONDS, SignedAnswer,
    partner_cosigner_vkey, sign_request, verify_cosignature, verify_request,
};
pub use select::{ExportRecord, Refusal, SourceRecord, allows, select};
