//! Encryption at rest: XChaCha20-Poly1305 (RFC 8439 AEAD with a 192-bit random nonce) under a key derived from
//! the operator's passphrase with Argon2id (RFC 9106). Each sealed record is bound by its associated data to what
//! it is (e.g. `outbox seq 17`), so records cannot be swapped between rows undetected.
//!
//! Sealed bytes: `nonce (24) || ciphertext || tag (16)`.

use crate::TerminalError;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

/// Length of the random salt stored beside the outbox for key derivation.
pub const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
/// Domain of every associated data string.
const AAD_DOMAIN: &str = "garita-terminal/v1 ";

/// The data key of one terminal data directory.
pub struct SealKey(XChaCha20Poly1305);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.write_str("SealKey(..)")
    }
}

impl SealKey {
    /// Derives the key from a passphrase and the directory's salt with Argon2id (default parameters: 19 MiB,
    /// 2 passes), so guessing passphrases on a stolen kit is slow.
    ///
    /// # Errors
    /// `NoPassphrase` for an empty passphrase; `Kdf` when Argon2 fails.
    pub fn derive(passphrase: &[u8], salt: &[u8; SALT_LEN]) -> Result<Self, TerminalError> {
        if passphrase.is_empty() {
            return Err(TerminalError::NoPassphrase);
        }
        let mut key = [0u8; 32];
        argon2::Argon2::default()
            .hash_password_into(passphrase, salt, &mut key)
            .map_err(|err| TerminalError::Kdf(err.to_string()))?;
        Ok(SealKey(XChaCha20Poly1305::new(&key.into())))
    }

    /// Encrypts `plain`, bound to `what`.
    ///
    /// # Errors
    /// `Kdf` if the cipher refuses (it does not for inputs below 256 GiB).
    pub fn seal(&self, what: &str, plain: &[u8]) -> Result<Vec<u8>, TerminalError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = format!("{AAD_DOMAIN}{what}");
        let sealed = self
            .0
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| TerminalError::Kdf("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypts what [`SealKey::seal`] made for the same `what`.
    ///
    /// # Errors
    /// `Unsealable` when the bytes are damaged, belong to another record or another key.
    pub fn open(&self, what: &str, sealed: &[u8]) -> Result<Vec<u8>, TerminalError> {
        let unsealable = || TerminalError::Unsealable {
            what: what.to_owned(),
        };
        let (nonce, body) = sealed.split_at_checked(NONCE_LEN).ok_or_else(unsealable)?;
        let aad = format!("{AAD_DOMAIN}{what}");
        self.0
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| unsealable())
    }
}

/// A fresh random salt.
pub fn random_salt() -> [u8; SALT_LEN] {
    let mut salt = [0u8; SALT_LEN];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    salt
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_binds_key_and_record() {
        let salt = random_salt();
        let key = SealKey::derive(b"correct horse", &salt).unwrap();
        let sealed = key.seal("outbox seq 1", b"fingerprints").unwrap();
        assert!(!sealed.windows(12).any(|w| w == b"fingerprints"));
        assert_eq!(key.open("outbox seq 1", &sealed).unwrap(), b"fingerprints");
        assert!(
            key.open("outbox seq 2", &sealed).is_err(),
            "moved to another row"
        );
        let wrong = SealKey::derive(b"wrong horse", &salt).unwrap();
        assert!(
            wrong.open("outbox seq 1", &sealed).is_err(),
            "another passphrase"
        );
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(key.open("outbox seq 1", &flipped).is_err(), "a flipped bit");
        assert!(
            key.open("outbox seq 1", &sealed[..10]).is_err(),
            "truncated"
        );
        assert!(SealKey::derive(b"", &salt).is_err());
    }
}
