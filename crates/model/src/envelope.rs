//! Signed capture envelopes (docs/envelope.md is the normative description).
//!
//! A device describes a capture in an [`Envelope`]: who (device id), which (per-device sequence number), when,
//! what (payload type and the SHA-256 and size of the payload and of each blob). It signs the envelope's
//! [`Envelope::canonical_bytes`] with Ed25519. The server checks the signature against the registered key before
//! it trusts a single byte of the payload.

use crate::{ModelError, PayloadType, Sha256Hex};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Most blobs one envelope may reference.
pub const MAX_BLOBS: usize = 64;

/// The first line of every canonical encoding; bump it to change the encoding.
const DOMAIN: &str = "garita-envelope/v1";

/// What a device signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// The registered device.
    pub device_id: Uuid,
    /// Per-device sequence number; the pair (device_id, seq) names a capture for ever.
    pub seq: u64,
    /// When the capture was made, by the device clock.
    #[serde(with = "time::serde::rfc3339")]
    pub captured_at: OffsetDateTime,
    /// What the payload is.
    pub payload_type: PayloadType,
    /// SHA-256 of the payload bytes.
    pub payload_sha256: Sha256Hex,
    /// Length of the payload in bytes.
    pub payload_size: u64,
    /// The blobs (images, scans) the payload refers to, in order.
    #[serde(default)]
    pub blobs: Vec<BlobRef>,
}

/// A blob an envelope vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobRef {
    /// SHA-256 of the blob bytes.
    pub sha256: Sha256Hex,
    /// Length in bytes.
    pub size: u64,
}

/// An envelope with its signature, as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedEnvelope {
    /// The signed content.
    pub envelope: Envelope,
    /// Ed25519 signature over `envelope.canonical_bytes()`, standard base64.
    pub signature: String,
}

/// Canonical text of a capture time: UTC, millisecond precision, `2026-11-23T13:02:09.123Z`.
pub fn canonical_time(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second(),
        utc.millisecond()
    )
}

impl Envelope {
    /// The exact bytes that are signed: one `key value` line per field, LF-terminated, in a fixed order.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut text = format!(
            "{DOMAIN}\ndevice {}\nseq {}\ncaptured-at {}\npayload-type {}\npayload {} {}\n",
            self.device_id.hyphenated(),
            self.seq,
            canonical_time(self.captured_at),
            self.payload_type.as_str(),
            self.payload_sha256,
            self.payload_size
        );
        for blob in &self.blobs {
            text.push_str(&format!("blob {} {}\n", blob.sha256, blob.size));
        }
        text.into_bytes()
    }

    /// Describes `payload` and `blobs` for `device_id`/`seq`.
    pub fn describe(
        device_id: Uuid,
        seq: u64,
        captured_at: OffsetDateTime,
        payload_type: PayloadType,
        payload: &[u8],
        blobs: &[&[u8]],
    ) -> Self {
        Envelope {
            device_id,
            seq,
            captured_at,
            payload_type,
            payload_sha256: Sha256Hex::of(payload),
            payload_size: payload.len() as u64,
            blobs: blobs
                .iter()
                .map(|blob| BlobRef {
                    sha256: Sha256Hex::of(blob),
                    size: blob.len() as u64,
                })
                .collect(),
        }
    }

    /// Signs with a device key.
    pub fn sign(self, key: &DeviceKey) -> SignedEnvelope {
        let signature = key.0.sign(&self.canonical_bytes());
        SignedEnvelope {
            envelope: self,
            signature: B64.encode(signature.to_bytes()),
        }
    }

    /// Checks that `payload` and `blobs` are exactly what the envelope vouches for.
    ///
    /// # Errors
    /// Names `payload` or `blobs[i]` when a size or digest differs, `blobs` when the count differs.
    pub fn check_content(&self, payload: &[u8], blobs: &[Vec<u8>]) -> Result<(), ModelError> {
        if payload.len() as u64 != self.payload_size
            || Sha256Hex::of(payload) != self.payload_sha256
        {
            return Err(ModelError::invalid(
                "payload",
                "payload bytes do not match payload_sha256/payload_size in the envelope",
            ));
        }
        if blobs.len() != self.blobs.len() {
            return Err(ModelError::invalid(
                "blobs",
                format!(
                    "envelope lists {} blobs, {} were sent",
                    self.blobs.len(),
                    blobs.len()
                ),
            ));
        }
        for (index, (blob, declared)) in blobs.iter().zip(&self.blobs).enumerate() {
            if blob.len() as u64 != declared.size || Sha256Hex::of(blob) != declared.sha256 {
                return Err(ModelError::invalid(
                    format!("blobs[{index}]"),
                    "blob bytes do not match the envelope's sha256/size",
                ));
            }
        }
        Ok(())
    }
}

impl SignedEnvelope {
    /// Verifies the signature against a device public key (standard base64 of 32 bytes).
    ///
    /// # Errors
    /// `BadSignature` when it does not verify; `Invalid` when the key or signature is malformed.
    pub fn verify(&self, public_key_b64: &str) -> Result<(), ModelError> {
        let key = parse_public_key(public_key_b64)?;
        let bytes = B64
            .decode(self.signature.as_bytes())
            .map_err(|_| ModelError::invalid("signature", "not base64"))?;
        let bytes: [u8; 64] = bytes
            .try_into()
            .map_err(|_| ModelError::invalid("signature", "an Ed25519 signature is 64 bytes"))?;
        key.verify(
            &self.envelope.canonical_bytes(),
            &Signature::from_bytes(&bytes),
        )
        .map_err(|_| ModelError::BadSignature)
    }
}

/// Parses a device public key: standard base64 of the 32-byte Ed25519 key.
///
/// # Errors
/// `Invalid { field: "public_key" }` when it is not such a key.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, ModelError> {
    let bytes = B64
        .decode(text.trim().as_bytes())
        .map_err(|_| ModelError::invalid("public_key", "not base64"))?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| ModelError::invalid("public_key", "an Ed25519 public key is 32 bytes"))?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|_| ModelError::invalid("public_key", "not a valid Ed25519 point"))
}

/// A device's Ed25519 signing key.
pub struct DeviceKey(SigningKey);

impl DeviceKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        DeviceKey(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// Reads the key file format: one line `garita-device-key-v1 <base64 seed>`.
    ///
    /// # Errors
    /// When the text is not a key file.
    pub fn from_file_text(text: &str) -> Result<Self, ModelError> {
        let seed = text
            .trim()
            .strip_prefix("garita-device-key-v1 ")
            .ok_or_else(|| ModelError::invalid("key", "not a garita device key file"))?;
        let bytes = B64
            .decode(seed.as_bytes())
            .map_err(|_| ModelError::invalid("key", "seed is not base64"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| ModelError::invalid("key", "seed must be 32 bytes"))?;
        Ok(DeviceKey(SigningKey::from_bytes(&bytes)))
    }

    /// The key file text.
    pub fn to_file_text(&self) -> String {
        format!("garita-device-key-v1 {}\n", B64.encode(self.0.to_bytes()))
    }

    /// The public key as registered with the server.
    pub fn public_key_b64(&self) -> String {
        B64.encode(self.0.verifying_key().to_bytes())
    }

    /// The `Garita-Device` header value for a request (docs/terminal.md): `v1 <device> <unix> <signature>`, the
    /// signature over [`device_request_bytes`].
    pub fn sign_request(
        &self,
        device: Uuid,
        method: &str,
        path_and_query: &str,
        unix: i64,
    ) -> String {
        let signature = self
            .0
            .sign(&device_request_bytes(method, path_and_query, unix, device));
        format!(
            "v1 {} {unix} {}",
            device.hyphenated(),
            B64.encode(signature.to_bytes())
        )
    }
}

/// The bytes a device signs for an HTTP request (docs/terminal.md): a domain line, the method in upper case, the
/// path with its query, the time in unix seconds and the device id, each on its own LF-terminated line.
pub fn device_request_bytes(
    method: &str,
    path_and_query: &str,
    unix: i64,
    device: Uuid,
) -> Vec<u8> {
    format!(
        "garita-device-request/v1\n{}\n{path_and_query}\n{unix}\n{}\n",
        method.to_ascii_uppercase(),
        device.hyphenated()
    )
    .into_bytes()
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        write!(f, "DeviceKey({})", self.public_key_b64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (DeviceKey, SignedEnvelope) {
        let key = DeviceKey::generate();
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_763_902_929_123_456_789).unwrap();
        let envelope = Envelope::describe(
            Uuid::nil(),
            7,
            at,
            PayloadType::Encounter,
            b"{}",
            &[b"blob-a".as_slice()],
        );
        let signed = envelope.sign(&key);
        (key, signed)
    }

    #[test]
    fn canonical_bytes_are_stable() {
        let (_, signed) = sample();
        let text = String::from_utf8(signed.envelope.canonical_bytes()).unwrap();
        assert_eq!(
            text,
            "garita-envelope/v1\ndevice 00000000-0000-0000-0000-000000000000\nseq 7\n\
             captured-at 2025-11-23T13:02:09.123Z\npayload-type encounter\n\
             payload 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a 2\n\
             blob 2e6bd7f00c58d5b9b1d2a1ff4e3a07f1b1b3ea5e4f0b8e8f09fd5c6a42cbd3ac 6\n"
                .replace(
                    "2e6bd7f00c58d5b9b1d2a1ff4e3a07f1b1b3ea5e4f0b8e8f09fd5c6a42cbd3ac",
                    &crate::sha256_hex(b"blob-a")
                )
        );
    }

    #[test]
    fn signature_round_trip_and_tamper() {
        let (key, signed) = sample();
        signed.verify(&key.public_key_b64()).unwrap();
        let mut tampered = signed.clone();
        tampered.envelope.seq = 8;
        assert_eq!(
            tampered.verify(&key.public_key_b64()),
            Err(ModelError::BadSignature)
        );
        let other = DeviceKey::generate();
        assert_eq!(
            signed.verify(&other.public_key_b64()),
            Err(ModelError::BadSignature)
        );
        let json = serde_json::to_string(&signed).unwrap();
        let back: SignedEnvelope = serde_json::from_str(&json).unwrap();
        back.verify(&key.public_key_b64()).unwrap();
    }

    #[test]
    fn request_signatures_cover_method_path_time_and_device() {
        let text =
            String::from_utf8(device_request_bytes("get", "/a?b=1", 17, Uuid::nil())).unwrap();
        assert_eq!(
            text,
            "garita-device-request/v1\nGET\n/a?b=1\n17\n00000000-0000-0000-0000-000000000000\n"
        );
        let key = DeviceKey::generate();
        let header = key.sign_request(Uuid::nil(), "GET", "/a?b=1", 17);
        let fields: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            fields[..3],
            ["v1", "00000000-0000-0000-0000-000000000000", "17"]
        );
        let signature: [u8; 64] = B64.decode(fields[3]).unwrap().try_into().unwrap();
        let public = parse_public_key(&key.public_key_b64()).unwrap();
        let signature = Signature::from_bytes(&signature);
        assert!(
            public
                .verify(
                    &device_request_bytes("GET", "/a?b=1", 17, Uuid::nil()),
                    &signature
                )
                .is_ok()
        );
        assert!(
            public
                .verify(
                    &device_request_bytes("GET", "/a?b=2", 17, Uuid::nil()),
                    &signature
                )
                .is_err()
        );
    }

    #[test]
    fn key_file_round_trip() {
        let key = DeviceKey::generate();
        let again = DeviceKey::from_file_text(&key.to_file_text()).unwrap();
        assert_eq!(key.public_key_b64(), again.public_key_b64());
        assert!(DeviceKey::from_file_text("nonsense").is_err());
    }

    #[test]
    fn content_check_names_the_part() {
        let (_, signed) = sample();
        let env = &signed.envelope;
        assert!(env.check_content(b"{}", &[b"blob-a".to_vec()]).is_ok());
        assert_eq!(
            env.check_content(b"{ }", &[b"blob-a".to_vec()])
                .unwrap_err()
                .field(),
            Some("payload")
        );
        assert_eq!(
            env.check_content(b"{}", &[b"blob-b".to_vec()])
                .unwrap_err()
                .field(),
            Some("blobs[0]")
        );
        assert_eq!(
            env.check_content(b"{}", &[]).unwrap_err().field(),
            Some("blobs")
        );
    }
}
