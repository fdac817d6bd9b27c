//! The outer sealed form of a bundle (HPKE, RFC 9180) and the inner list of named parts, byte for byte as in
//! docs/sharing.md.
//!
//! ```text
//! bundle    = magic "GSHARE01" (8) ‖ sender Ed25519 key (32) ‖ recipient X25519 key (32)
//!             ‖ HPKE encapsulated key (32) ‖ HPKE ciphertext of `inner` (ChaCha20-Poly1305, tag last)
//! inner     = payload ‖ Ed25519 signature (64) over SIGN_DOMAIN ‖ bundle[0..72] ‖ payload
//! payload   = count:u32 ‖ part * count
//! part      = name_len:u16 ‖ name (ASCII, no NUL) ‖ len:u32 ‖ bytes
//! ```
//!
//! HPKE is base mode, X25519-HKDF-SHA256 / HKDF-SHA256 / ChaCha20-Poly1305, with `info` = [`HPKE_INFO`] and the
//! first 72 header bytes as associated data. The signature covers the recipient key, so a partner cannot re-encrypt
//! a bundle to a third party as if the sender had addressed it to them.

use crate::ShareError;
use crate::keys::{KemPublic, SharingKey};
use ed25519_dalek::{Signature, Signer as _, VerifyingKey};
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};

/// First bytes of every bundle.
pub const MAGIC: &[u8; 8] = b"GSHARE01";
/// Bytes before the ciphertext.
pub const HEADER_LEN: usize = 8 + 32 + 32 + 32;
/// HPKE `info` string.
pub const HPKE_INFO: &[u8] = b"garita-share/v1 bundle";
/// Prefix of the signed message (domain separation from cosignatures and answers made with the same key).
pub const SIGN_DOMAIN: &[u8] = b"garita-share/v1 bundle signature\0";
/// Largest bundle accepted, before decrypting.
pub const MAX_BUNDLE: usize = 1 << 30;
/// Most parts in one bundle.
pub const MAX_PARTS: u32 = 1_000_000;
/// AEAD tag length.
const TAG_LEN: usize = 16;
/// Signature length.
const SIG_LEN: usize = 64;

/// A decrypted bundle whose signature verified under the key named in its header.
#[derive(Debug)]
pub struct Opened {
    /// The sender key from the header (check it against the agreement).
    pub sender: VerifyingKey,
    /// The parts, in order.
    pub parts: Vec<(String, Vec<u8>)>,
}

fn signed_message(header: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGN_DOMAIN.len() + header.len() + payload.len());
    message.extend_from_slice(SIGN_DOMAIN);
    message.extend_from_slice(header);
    message.extend_from_slice(payload);
    message
}

/// Encodes parts as `payload`.
///
/// # Errors
/// [`ShareError::Part`] when a name is empty, too long or not printable ASCII, or a part exceeds 4 GiB.
pub fn encode_parts(parts: &[(String, Vec<u8>)]) -> Result<Vec<u8>, ShareError> {
    let count = u32::try_from(parts.len()).map_err(|_| ShareError::Part {
        name: String::new(),
        reason: "too many parts",
    })?;
    let mut out = count.to_be_bytes().to_vec();
    for (name, bytes) in parts {
        let bad = |reason| ShareError::Part {
            name: name.clone(),
            reason,
        };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad("name must be printable ASCII without spaces"));
        }
        let name_len = u16::try_from(name.len()).map_err(|_| bad("name too long"))?;
        let len = u32::try_from(bytes.len()).map_err(|_| bad("larger than 4 GiB"))?;
        out.extend_from_slice(&name_len.to_be_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(bytes);
    }
    Ok(out)
}

struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ShareError> {
        let end = self
            .offset
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(ShareError::Container {
                offset: self.offset,
                reason: what,
            })?;
        let slice = self
            .bytes
            .get(self.offset..end)
            .ok_or(ShareError::Container {
                offset: self.offset,
                reason: what,
            })?;
        self.offset = end;
        Ok(slice)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, ShareError> {
        let raw = self.take(2, what)?;
        Ok(u16::from_be_bytes([raw[0], raw[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, ShareError> {
        let raw = self.take(4, what)?;
        Ok(u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]))
    }
}

/// Decodes `payload` into parts; strict (no trailing bytes, no duplicate names).
///
/// # Errors
/// [`ShareError::Container`] with the offset of the first problem.
pub fn decode_parts(payload: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ShareError> {
    let mut reader = Reader {
        bytes: payload,
        offset: 0,
    };
    let count = reader.u32("truncated part count")?;
    if count > MAX_PARTS {
        return Err(ShareError::Container {
            offset: 0,
            reason: "too many parts",
        });
    }
    let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
    for _ in 0..count {
        let at = reader.offset;
        let name_len = reader.u16("truncated part name length")?;
        let name = reader.take(usize::from(name_len), "truncated part name")?;
        let name = std::str::from_utf8(name)
            .ok()
            .filter(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or(ShareError::Container {
                offset: at,
                reason: "part name is not printable ASCII",
            })?;
        if parts.iter().any(|(seen, _)| seen == name) {
            return Err(ShareError::Container {
                offset: at,
                reason: "duplicate part name",
            });
        }
        let len = reader.u32("truncated part length")?;
        let bytes = reader.take(len as usize, "truncated part content")?;
        parts.push((name.to_owned(), bytes.to_vec()));
    }
    if reader.offset != payload.len() {
        return Err(ShareError::Container {
            offset: reader.offset,
            reason: "trailing bytes after the last part",
        });
    }
    Ok(parts)
}

/// Signs `payload` with `sender` and encrypts it to `recipient` (X25519 public key bytes).
///
/// # Errors
/// [`ShareError::Key`] when the recipient key is invalid.
pub fn seal(
    sender: &SharingKey,
    recipient: &[u8; 32],
    payload: &[u8],
) -> Result<Vec<u8>, ShareError> {
    let recipient_key = KemPublic::from_bytes(recipient).map_err(|_| ShareError::Key {
        what: "encrypt_key",
        reason: "not an X25519 public key",
    })?;
    let mut header = MAGIC.to_vec();
    header.extend_from_slice(sender.signing().verifying_key().as_bytes());
    header.extend_from_slice(recipient);
    let signature = sender.signing().sign(&signed_message(&header, payload));
    let mut inner = payload.to_vec();
    inner.extend_from_slice(&signature.to_bytes());
    let (encapped, ciphertext) =
        hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256, _>(
            &OpModeS::Base,
            &recipient_key,
            HPKE_INFO,
            &inner,
            &header,
            &mut rand::rngs::OsRng,
        )
        .map_err(|_| ShareError::Key {
            what: "encrypt_key",
            reason: "HPKE encapsulation failed",
        })?;
    let mut out = header;
    out.extend_from_slice(&encapped.to_bytes());
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Decrypts a bundle addressed to `us` and verifies its signature under the sender key of its header.
///
/// # Errors
/// [`ShareError::NotABundle`], [`ShareError::Foreign`], [`ShareError::Decrypt`], [`ShareError::Signature`] or
/// [`ShareError::Container`].
pub fn open(us: &SharingKey, bundle: &[u8]) -> Result<Opened, ShareError> {
    if bundle.len() > MAX_BUNDLE {
        return Err(ShareError::NotABundle {
            reason: "larger than the 1 GiB cap",
        });
    }
    let (header, rest) = bundle
        .split_at_checked(HEADER_LEN)
        .ok_or(ShareError::NotABundle {
            reason: "shorter than its 104-byte header",
        })?;
    let (signed_header, encapped) = header.split_at(72);
    if &signed_header[..8] != MAGIC {
        return Err(ShareError::NotABundle {
            reason: "bad magic (expected GSHARE01)",
        });
    }
    let recipient = &signed_header[40..72];
    if recipient != us.encrypt_key_bytes() {
        use base64::Engine as _;
        return Err(ShareError::Foreign {
            recipient: base64::engine::general_purpose::STANDARD.encode(recipient),
        });
    }
    let sender_bytes: [u8; 32] = signed_header[8..40]
        .try_into()
        .map_err(|_| ShareError::Signature)?;
    let sender = VerifyingKey::from_bytes(&sender_bytes).map_err(|_| ShareError::Signature)?;
    if rest.len() < TAG_LEN + SIG_LEN {
        return Err(ShareError::Decrypt);
    }
    let encapped = <X25519HkdfSha256 as hpke::Kem>::EncappedKey::from_bytes(encapped)
        .map_err(|_| ShareError::Decrypt)?;
    let inner = hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        us.decrypt(),
        &encapped,
        HPKE_INFO,
        rest,
        signed_header,
    )
    .map_err(|_| ShareError::Decrypt)?;
    let split = inner
        .len()
        .checked_sub(SIG_LEN)
        .ok_or(ShareError::Decrypt)?;
    let (payload, signature) = inner.split_at(split);
    let signature = Signature::from_slice(signature).map_err(|_| ShareError::Signature)?;
    sender
        .verify_strict(&signed_message(signed_header, payload), &signature)
        .map_err(|_| ShareError::Signature)?;
    Ok(Opened {
        sender,
        parts: decode_parts(payload)?,
    })
}
