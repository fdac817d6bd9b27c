//! An agency's sharing identity: one 32-byte seed from which an Ed25519 key (bundle and answer signatures, witness
//! cosignatures) and an X25519 key (HPKE, RFC 9180) are derived with domain separation.

use crate::ShareError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{SigningKey, VerifyingKey};
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, Serializable};
use sha2::{Digest, Sha256};

/// HPKE KEM private key type.
pub(crate) type KemPrivate = <X25519HkdfSha256 as hpke::Kem>::PrivateKey;
/// HPKE KEM public key type.
pub(crate) type KemPublic = <X25519HkdfSha256 as hpke::Kem>::PublicKey;

/// The sharing keys of one agency.
pub struct SharingKey {
    signing: SigningKey,
    decrypt: KemPrivate,
    encrypt: KemPublic,
}

impl std::fmt::Debug for SharingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharingKey")
            .field("sign_key", &self.sign_key_b64())
            .finish_non_exhaustive()
    }
}

fn derive(label: &[u8], seed: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"garita-share/v1 key ");
    hasher.update(label);
    hasher.update([0]);
    hasher.update(seed);
    hasher.finalize().into()
}

impl SharingKey {
    /// The keys derived from `seed` (keep it secret, e.g. in a 0600 file).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(&derive(b"sign", seed));
        let (decrypt, encrypt) = X25519HkdfSha256::derive_keypair(&derive(b"encrypt", seed));
        SharingKey {
            signing,
            decrypt,
            encrypt,
        }
    }

    /// A fresh random seed.
    pub fn random_seed() -> [u8; 32] {
        rand::random()
    }

    /// The Ed25519 signing key.
    pub fn signing(&self) -> &SigningKey {
        &self.signing
    }

    /// Base64 of the Ed25519 public key: the partner's `sign_key` in the other side's agreement.
    pub fn sign_key_b64(&self) -> String {
        B64.encode(self.signing.verifying_key().as_bytes())
    }

    /// Base64 of the X25519 public key: the partner's `encrypt_key` in the other side's agreement.
    pub fn encrypt_key_b64(&self) -> String {
        B64.encode(self.encrypt.to_bytes())
    }

    pub(crate) fn encrypt_key_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.encrypt.to_bytes());
        out
    }

    pub(crate) fn decrypt(&self) -> &KemPrivate {
        &self.decrypt
    }
}

/// Parses a base64 Ed25519 public key.
///
/// # Errors
/// [`ShareError::Key`] when it is not 32 base64 bytes of a valid point.
pub fn parse_sign_key(text: &str) -> Result<VerifyingKey, ShareError> {
    let bad = |reason| ShareError::Key {
        what: "sign_key",
        reason,
    };
    let bytes: [u8; 32] = B64
        .decode(text)
        .map_err(|_| bad("not base64"))?
        .try_into()
        .map_err(|_| bad("not 32 bytes"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| bad("not an Ed25519 public key"))
}

/// Parses a base64 X25519 public key.
///
/// # Errors
/// [`ShareError::Key`] when it is not 32 base64 bytes.
pub fn parse_encrypt_key(text: &str) -> Result<[u8; 32], ShareError> {
    let bad = |reason| ShareError::Key {
        what: "encrypt_key",
        reason,
    };
    let bytes: [u8; 32] = B64
        .decode(text)
        .map_err(|_| bad("not base64"))?
        .try_into()
        .map_err(|_| bad("not 32 bytes"))?;
    KemPublic::from_bytes(&bytes).map_err(|_| bad("not an X25519 public key"))?;
    Ok(bytes)
}
