//! Small signed messages between partners: hit answers and feed requests (Ed25519 with the sharing key, each with
//! its own domain prefix), and the partner's witness cosignature of a bundle's checkpoint.

use crate::ShareError;
use crate::keys::{SharingKey, parse_sign_key};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _};
use garita_model::WatchlistCategory;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Prefix of a signed answer.
pub const ANSWER_DOMAIN: &[u8] = b"garita-share/v1 answer\0";
/// Prefix of a signed feed request.
pub const REQUEST_DOMAIN: &[u8] = b"garita-share/v1 request\0";
/// How far a request's time may be from ours.
pub const REQUEST_SKEW_SECONDS: i64 = 300;

/// A partner's answer to a shared record: its own 1:N search found the person in its records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// Unique id of the answer (replays are refused).
    pub id: Uuid,
    /// The agreement the record was shared under.
    pub agreement_id: Uuid,
    /// The bundle that carried it.
    pub bundle_id: Uuid,
    /// The shared record's reference (an encounter or a sample).
    pub reference: Uuid,
    /// What the partner knows the person as.
    pub category: WatchlistCategory,
    /// Its match score.
    pub score: f64,
    /// When it answered.
    #[serde(with = "time::serde::rfc3339")]
    pub answered_at: OffsetDateTime,
}

/// An answer as sent: the JSON bytes (base64) and the signature over them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedAnswer {
    /// Base64 of the answer's JSON.
    pub answer: String,
    /// Base64 of the Ed25519 signature over `ANSWER_DOMAIN ‖ JSON`.
    pub signature: String,
}

impl Answer {
    /// Signs the answer with our sharing key.
    ///
    /// # Errors
    /// Never in practice (serialising a plain struct).
    pub fn sign(&self, key: &SharingKey) -> Result<SignedAnswer, ShareError> {
        let json = serde_json::to_vec(self).map_err(|_| ShareError::Message {
            reason: "answer does not serialise",
        })?;
        let mut message = ANSWER_DOMAIN.to_vec();
        message.extend_from_slice(&json);
        let signature = key.signing().sign(&message);
        Ok(SignedAnswer {
            answer: B64.encode(json),
            signature: B64.encode(signature.to_bytes()),
        })
    }
}

impl SignedAnswer {
    /// Verifies the signature under `sign_key` (the partner's, base64) and returns the answer.
    ///
    /// # Errors
    /// [`ShareError::Message`] when it is malformed or the signature does not verify.
    pub fn verify(&self, sign_key: &str) -> Result<Answer, ShareError> {
        let key = parse_sign_key(sign_key)?;
        let json = B64.decode(&self.answer).map_err(|_| ShareError::Message {
            reason: "answer is not base64",
        })?;
        let signature = B64
            .decode(&self.signature)
            .ok()
            .and_then(|raw| Signature::from_slice(&raw).ok())
            .ok_or(ShareError::Message {
                reason: "signature is not 64 base64 bytes",
            })?;
        let mut message = ANSWER_DOMAIN.to_vec();
        message.extend_from_slice(&json);
        key.verify_strict(&message, &signature)
            .map_err(|_| ShareError::Message {
                reason: "answer signature does not verify under the partner key",
            })?;
        serde_json::from_slice(&json).map_err(|_| ShareError::Message {
            reason: "answer is not a valid answer object",
        })
    }
}

fn request_message(method: &str, path: &str, time: i64) -> Vec<u8> {
    let mut message = REQUEST_DOMAIN.to_vec();
    message.extend_from_slice(format!("{method} {path}\n{time}").as_bytes());
    message
}

/// The `Garita-Partner` header value for a request: `<unix time> <base64 signature>` over the method, path (with
/// query) and time.
pub fn sign_request(key: &SharingKey, method: &str, path: &str, now: OffsetDateTime) -> String {
    let time = now.unix_timestamp();
    let signature = key.signing().sign(&request_message(method, path, time));
    format!("{time} {}", B64.encode(signature.to_bytes()))
}

/// Checks a `Garita-Partner` header against the partner's `sign_key`.
///
/// # Errors
/// [`ShareError::Message`] when malformed, too far from `now`, or the signature does not verify.
pub fn verify_request(
    header: &str,
    sign_key: &str,
    method: &str,
    path: &str,
    now: OffsetDateTime,
) -> Result<(), ShareError> {
    let key = parse_sign_key(sign_key)?;
    let (time, signature) = header.split_once(' ').ok_or(ShareError::Message {
        reason: "header is not `<time> <signature>`",
    })?;
    let time: i64 = time.parse().map_err(|_| ShareError::Message {
        reason: "time is not an integer",
    })?;
    if (now.unix_timestamp() - time).abs() > REQUEST_SKEW_SECONDS {
        return Err(ShareError::Message {
            reason: "request time is more than 5 minutes from ours",
        });
    }
    let signature = B64
        .decode(signature)
        .ok()
        .and_then(|raw| Signature::from_slice(&raw).ok())
        .ok_or(ShareError::Message {
            reason: "signature is not 64 base64 bytes",
        })?;
    key.verify_strict(&request_message(method, path, time), &signature)
        .map_err(|_| ShareError::Message {
            reason: "request signature does not verify under the partner key",
        })
}

/// The witness cosigner vkey of a partner (C2SP tlog-cosignature): its name and sharing Ed25519 key.
///
/// # Errors
/// [`ShareError::Key`] when the sign key is malformed.
pub fn partner_cosigner_vkey(name: &str, sign_key: &str) -> Result<String, ShareError> {
    Ok(garita_ledger::cosignature_vkey(
        name,
        &parse_sign_key(sign_key)?,
    ))
}

/// Checks that `lines` hold a valid `cosignature/v1` by the partner of `checkpoint` (a note of our log, verified
/// under `log_vkey`); returns the cosignature lines that verified, to keep as proof of what the partner saw.
///
/// # Errors
/// [`ShareError::Checkpoint`] when the checkpoint does not verify or no line is the partner's valid cosignature.
pub fn verify_cosignature(
    checkpoint: &[u8],
    log_vkey: &str,
    partner_name: &str,
    partner_sign_key: &str,
    lines: &[u8],
) -> Result<Vec<u8>, ShareError> {
    let witness = partner_cosigner_vkey(partner_name, partner_sign_key)?;
    let bad = |reason: String| ShareError::Checkpoint { reason };
    let text = std::str::from_utf8(lines).map_err(|_| bad("cosignature is not UTF-8".into()))?;
    let mut accepted = Vec::new();
    for line in text.lines().filter(|line| !line.is_empty()) {
        let mut note = checkpoint.to_vec();
        note.extend_from_slice(line.as_bytes());
        note.push(b'\n');
        let verified = verify_checkpoint_with(&note, log_vkey, &witness)
            .map_err(|err| bad(err.to_string()))?;
        if verified.cosigners.iter().any(|name| name == partner_name) {
            accepted.extend_from_slice(line.as_bytes());
            accepted.push(b'\n');
        }
    }
    if accepted.is_empty() {
        return Err(bad(format!(
            "no line is a valid cosignature by {partner_name} of this checkpoint"
        )));
    }
    Ok(accepted)
}

fn verify_checkpoint_with(
    note: &[u8],
    log_vkey: &str,
    witness: &str,
) -> Result<garita_ledger::VerifiedCheckpoint, garita_ledger::KeyError> {
    garita_ledger::verify_checkpoint(note, log_vkey, &[witness.to_owned()])
}
