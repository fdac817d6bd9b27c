//! The one error type of garita-share.

use thiserror::Error;

/// Why an agreement, a key or a bundle was refused. Every variant names the part at fault.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ShareError {
    /// An agreement field is invalid.
    #[error("agreement {field}: {reason}")]
    Agreement {
        /// Field path, e.g. `kinds[1].fields`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A key is malformed.
    #[error("{what}: {reason}")]
    Key {
        /// Which key.
        what: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The bundle is not a garita-share v1 bundle (wrong magic or shorter than its header).
    #[error("not a garita-share bundle: {reason}")]
    NotABundle {
        /// What is wrong.
        reason: &'static str,
    },
    /// The bundle is addressed to another recipient key.
    #[error("foreign bundle: addressed to encryption key {recipient}, not ours")]
    Foreign {
        /// Base64 of the recipient key in the header.
        recipient: String,
    },
    /// Decryption failed: the ciphertext, the header or the encapsulated key was altered or cut.
    #[error("bundle does not decrypt: tampered or truncated")]
    Decrypt,
    /// The decrypted content is malformed.
    #[error("bundle content at byte {offset}: {reason}")]
    Container {
        /// Offset in the decrypted content.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The sender's signature does not verify.
    #[error("bundle signature does not verify under the sender key in its header")]
    Signature,
    /// The sender key is not the partner key of the agreement.
    #[error("bundle signed by {sender}, which is not the partner key of agreement {agreement}")]
    UnknownSender {
        /// Base64 of the header's sender key.
        sender: String,
        /// The agreement checked.
        agreement: String,
    },
    /// The manifest is malformed or inconsistent with the bundle.
    #[error("manifest: {reason}")]
    Manifest {
        /// What is wrong.
        reason: String,
    },
    /// A part named in the manifest is missing, duplicated, extra or has another hash.
    #[error("part {name}: {reason}")]
    Part {
        /// Part name.
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The bundle was already imported (or an older one).
    #[error(
        "replayed bundle: sequence {sequence} but {last} was already imported for this agreement"
    )]
    Replayed {
        /// The bundle's sequence number.
        sequence: u64,
        /// Last imported.
        last: u64,
    },
    /// One or more earlier bundles were not imported.
    #[error(
        "bundle {sequence} follows {previous}, but the last imported is {last}: import the missing bundles first"
    )]
    Gap {
        /// The bundle's sequence number.
        sequence: u64,
        /// The sequence it says it follows.
        previous: u64,
        /// Last imported.
        last: u64,
    },
    /// The checkpoint does not verify, or is not consistent with the last one seen from this sender.
    #[error("checkpoint: {reason}")]
    Checkpoint {
        /// What is wrong.
        reason: String,
    },
    /// A record's inclusion proof does not verify.
    #[error("record {reference}: proof: {reason}")]
    Proof {
        /// The record's reference.
        reference: String,
        /// What is wrong.
        reason: String,
    },
    /// A record is not allowed by our copy of the agreement.
    #[error("record {reference}: {reason}")]
    NotAllowed {
        /// The record's reference.
        reference: String,
        /// What is wrong.
        reason: String,
    },
    /// A signed partner message (answer, request) does not verify.
    #[error("partner message: {reason}")]
    Message {
        /// What is wrong.
        reason: &'static str,
    },
}

impl ShareError {
    pub(crate) fn agreement(field: impl Into<String>, reason: impl Into<String>) -> Self {
        ShareError::Agreement {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
