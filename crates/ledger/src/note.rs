//! Checkpoint signing and verification keys ([signed-note], [tlog-checkpoint], [tlog-cosignature]).
//!
//! Note parsing, verification and the Ed25519 (type 0x01) verifier come from `signed_note`. The log's signer and
//! the timestamped cosignature (type 0x04, `cosignature/v1`) signer and verifier are written here against its
//! `Signer`/`Verifier` traits, because the crate does not ship them.
//!
//! [signed-note]: https://c2sp.org/signed-note
//! [tlog-checkpoint]: https://c2sp.org/tlog-checkpoint
//! [tlog-cosignature]: https://c2sp.org/tlog-cosignature

use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use signed_note::{Note, Signature, Signer, StandardVerifier, Verifier, VerifierList};
use tlog_tiles::Checkpoint;

use crate::error::KeyError;
use crate::merkle::Hash;

/// Signature type byte of plain Ed25519 note signatures.
const ALG_ED25519: u8 = 0x01;
/// Signature type byte of Ed25519 `cosignature/v1` signatures.
const ALG_COSIGNATURE_V1: u8 = 0x04;

fn key_id(name: &str, alg: u8, public: &[u8; 32]) -> u32 {
    let mut material = vec![alg];
    material.extend_from_slice(public);
    signed_note::key_id(name, &material)
}

fn check_name(name: &str) -> Result<(), KeyError> {
    if signed_note::is_key_name_valid(name) {
        Ok(())
    } else {
        Err(KeyError::BadName {
            name: name.to_owned(),
        })
    }
}

/// The verifier key (`<name>+<key id hex>+<base64(0x01 || public key)>`) of a log or note signer.
pub fn vkey(name: &str, key: &VerifyingKey) -> String {
    signed_note::new_ed25519_verifier_key(name, key)
}

/// The verifier key of an Ed25519 cosigner (`<name>+<key id>+<base64(0x04 || public key)>`).
pub fn cosignature_vkey(name: &str, key: &VerifyingKey) -> String {
    let mut material = vec![ALG_COSIGNATURE_V1];
    material.extend_from_slice(key.as_bytes());
    format!(
        "{name}+{:08x}+{}",
        key_id(name, ALG_COSIGNATURE_V1, key.as_bytes()),
        B64.encode(material)
    )
}

/// Signs checkpoints as the log: plain Ed25519 note signatures under the log's origin.
pub struct LogSigner {
    name: String,
    id: u32,
    key: SigningKey,
}

impl LogSigner {
    /// A signer named after the log origin.
    ///
    /// # Errors
    ///
    /// [`KeyError::BadName`] when `origin` is not a valid key name (empty, spaces or `+`).
    pub fn new(origin: &str, key: SigningKey) -> Result<Self, KeyError> {
        check_name(origin)?;
        let id = key_id(origin, ALG_ED25519, key.verifying_key().as_bytes());
        Ok(Self {
            name: origin.to_owned(),
            id,
            key,
        })
    }

    /// This signer's verifier key.
    pub fn vkey(&self) -> String {
        vkey(&self.name, &self.key.verifying_key())
    }
}

impl Signer for LogSigner {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

/// The message a `cosignature/v1` signs: header, timestamp line, then the checkpoint note text.
fn cosigned_message(timestamp: u64, note_text: &[u8]) -> Vec<u8> {
    let mut msg = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    msg.extend_from_slice(note_text);
    msg
}

/// Produces timestamped `cosignature/v1` signatures for a witness.
pub struct CosignatureSigner {
    name: String,
    id: u32,
    key: SigningKey,
    timestamp: u64,
}

impl CosignatureSigner {
    /// A cosigner that stamps its signatures with `timestamp` (POSIX seconds, passed in by the caller).
    ///
    /// # Errors
    ///
    /// [`KeyError::BadName`] for an invalid name, [`KeyError::BadTimestamp`] above 2^63 - 1.
    pub fn new(name: &str, key: SigningKey, timestamp: u64) -> Result<Self, KeyError> {
        check_name(name)?;
        if timestamp > i64::MAX as u64 {
            return Err(KeyError::BadTimestamp { timestamp });
        }
        let id = key_id(name, ALG_COSIGNATURE_V1, key.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
            timestamp,
        })
    }

    /// This cosigner's verifier key.
    pub fn vkey(&self) -> String {
        cosignature_vkey(&self.name, &self.key.verifying_key())
    }
}

impl Signer for CosignatureSigner {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        let sig = self.key.sign(&cosigned_message(self.timestamp, msg));
        let mut out = self.timestamp.to_be_bytes().to_vec();
        out.extend_from_slice(&sig.to_bytes());
        Ok(out)
    }
}

/// Verifies `cosignature/v1` signatures from one cosigner.
#[derive(Debug, Clone)]
pub struct CosignatureVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Parses a cosigner vkey (`name+id+base64(0x04 || key)`).
    ///
    /// # Errors
    ///
    /// [`KeyError::BadVkey`] when it is malformed, of another type, or its id does not match.
    pub fn new(vkey: &str) -> Result<Self, KeyError> {
        let bad = || KeyError::BadVkey {
            vkey: vkey.chars().take(80).collect(),
        };
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        check_name(name).map_err(|_| bad())?;
        let id = u32::from_str_radix(id_hex, 16).map_err(|_| bad())?;
        let material = B64.decode(b64).map_err(|_| bad())?;
        let (&alg, public) = material.split_first().ok_or_else(bad)?;
        let public: [u8; 32] = public.try_into().map_err(|_| bad())?;
        if alg != ALG_COSIGNATURE_V1 || id_hex.len() != 8 || key_id(name, alg, &public) != id {
            return Err(bad());
        }
        let key = VerifyingKey::from_bytes(&public).map_err(|_| bad())?;
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The cosigner's name.
    pub fn cosigner_name(&self) -> &str {
        &self.name
    }
}

impl Verifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Some((ts, sig)) = sig.split_first_chunk::<8>() else {
            return false;
        };
        let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
            return false;
        };
        let timestamp = u64::from_be_bytes(*ts);
        timestamp <= i64::MAX as u64
            && self
                .key
                .verify_strict(&cosigned_message(timestamp, msg), &sig)
                .is_ok()
    }
}

/// The timestamp inside a cosignature's signature bytes.
pub fn cosignature_timestamp(sig: &Signature) -> Option<u64> {
    sig.signature()
        .first_chunk::<8>()
        .map(|b| u64::from_be_bytes(*b))
}

/// Parses a log verifier key (type 0x01).
///
/// # Errors
///
/// [`KeyError::BadVkey`] when malformed.
pub fn log_verifier(vkey: &str) -> Result<StandardVerifier, KeyError> {
    StandardVerifier::new(vkey).map_err(|_| KeyError::BadVkey {
        vkey: vkey.chars().take(80).collect(),
    })
}

/// Builds and signs a checkpoint note for `origin`, `size` and `root`.
///
/// # Errors
///
/// [`KeyError::Sign`] when the note cannot be built or signed (an invalid origin).
pub fn sign_checkpoint(signer: &LogSigner, size: u64, root: Hash) -> Result<Vec<u8>, KeyError> {
    let checkpoint = Checkpoint::new(&signer.name, size, root, "").map_err(|_| KeyError::Sign)?;
    let mut note = Note::new(&checkpoint.to_bytes(), &[]).map_err(|_| KeyError::Sign)?;
    note.add_sigs(&[signer]).map_err(|_| KeyError::Sign)?;
    Ok(note.to_bytes())
}

/// A verified checkpoint: the parsed tree head, the note, and the cosigners whose signatures verified.
#[derive(Debug)]
pub struct VerifiedCheckpoint {
    /// Origin, size and root.
    pub checkpoint: Checkpoint,
    /// The whole note as parsed.
    pub note: Note,
    /// Names of trusted witnesses whose cosignatures verified.
    pub cosigners: Vec<String>,
}

/// Verifies a checkpoint note against the log's vkey (and optionally witness vkeys), then parses its text.
///
/// # Errors
///
/// [`KeyError::Note`] naming the failure: malformed note, no valid log signature, a bad signature from a known key,
/// malformed checkpoint text, or an origin that is not the key's name.
pub fn verify_checkpoint(
    note_bytes: &[u8],
    log_vkey: &str,
    witness_vkeys: &[String],
) -> Result<VerifiedCheckpoint, KeyError> {
    let log = log_verifier(log_vkey)?;
    let origin = log.name().to_owned();
    let note = Note::from_bytes(note_bytes).map_err(|e| KeyError::Note {
        reason: e.to_string(),
    })?;
    let mut verifiers: Vec<Box<dyn Verifier>> = vec![Box::new(log)];
    let mut witness_names = Vec::new();
    for w in witness_vkeys {
        let v = CosignatureVerifier::new(w)?;
        witness_names.push(v.name.clone());
        verifiers.push(Box::new(v));
    }
    let (verified, _unknown) = note.verify(&VerifierList::new(verifiers)).map_err(|e| {
        // The signature covers every text line, so any altered line shows up here; name the line when its
        // shape gives it away.
        let line = describe_checkpoint_problem(note.text())
            .map(|p| format!("; {p}"))
            .unwrap_or_default();
        KeyError::Note {
            reason: format!("{e}{line}"),
        }
    })?;
    if !verified
        .iter()
        .any(|s| s.name() == origin && !witness_names.contains(&origin))
    {
        return Err(KeyError::Note {
            reason: format!("no signature from the log key {origin}"),
        });
    }
    let checkpoint = Checkpoint::from_bytes(note.text()).map_err(|_| KeyError::Note {
        reason: describe_checkpoint_problem(note.text())
            .unwrap_or_else(|| "malformed checkpoint text".to_owned()),
    })?;
    if checkpoint.origin() != origin {
        return Err(KeyError::Note {
            reason: format!(
                "checkpoint line 1: origin {:?} is not the key name {origin:?}",
                checkpoint.origin()
            ),
        });
    }
    let cosigners = verified
        .iter()
        .filter(|s| s.name() != origin)
        .map(|s| s.name().to_owned())
        .collect();
    Ok(VerifiedCheckpoint {
        checkpoint,
        note,
        cosigners,
    })
}

/// Names the first malformed line of checkpoint text (C2SP tlog-checkpoint "Note text"), if any.
fn describe_checkpoint_problem(text: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let bad = |n: usize, what: &str| Some(format!("checkpoint line {n} ({what}) is malformed"));
    match lines.as_slice() {
        ["", ..] => bad(1, "origin"),
        [_, size, ..]
            if size
                .parse::<u64>()
                .map(|n| n.to_string() != *size)
                .unwrap_or(true) =>
        {
            bad(2, "tree size")
        }
        [_, _, root, ..] if B64.decode(root).map(|r| r.len() != 32).unwrap_or(true) => {
            bad(3, "root hash")
        }
        [_, _, _, ..] => None,
        _ => Some("checkpoint has fewer than three lines".to_owned()),
    }
}

/// Loads the Ed25519 signing key stored at `path` (64 hex digits of seed), creating it with fresh randomness when
/// the file does not exist. The file is created with mode 0600.
///
/// # Errors
///
/// [`KeyError::Io`] on I/O failure, [`KeyError::BadKeyFile`] when the file exists but is not a key.
pub fn load_or_create_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = text.trim();
            let mut seed = [0u8; 32];
            if text.len() != 64 {
                return Err(KeyError::BadKeyFile {
                    path: path.to_owned(),
                });
            }
            for (i, byte) in seed.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| {
                    KeyError::BadKeyFile {
                        path: path.to_owned(),
                    }
                })?;
            }
            Ok(SigningKey::from_bytes(&seed))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SigningKey::generate(&mut rand::rngs::OsRng);
            let hex: String = key.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).map_err(io)?;
            file.write_all(format!("{hex}\n").as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
            Ok(key)
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::EMPTY_HASH;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    #[test]
    fn signed_checkpoint_verifies_and_tampering_is_caught() {
        let signer = LogSigner::new("example.org/log", key(1)).unwrap();
        let note = sign_checkpoint(&signer, 0, EMPTY_HASH).unwrap();
        let text = String::from_utf8(note.clone()).unwrap();
        assert!(text.starts_with(
            "example.org/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n— example.org/log "
        ));
        let verified = verify_checkpoint(&note, &signer.vkey(), &[]).unwrap();
        assert_eq!(verified.checkpoint.size(), 0);
        let tampered = text.replacen("\n0\n", "\n1\n", 1);
        assert!(verify_checkpoint(tampered.as_bytes(), &signer.vkey(), &[]).is_err());
        let other = LogSigner::new("example.org/log", key(2)).unwrap();
        assert!(verify_checkpoint(&note, &other.vkey(), &[]).is_err());
    }

    #[test]
    fn cosignatures_verify_with_their_vkey_only() {
        let signer = LogSigner::new("example.org/log", key(1)).unwrap();
        let note_bytes = sign_checkpoint(&signer, 0, EMPTY_HASH).unwrap();
        let mut note = Note::from_bytes(&note_bytes).unwrap();
        let witness = CosignatureSigner::new("witness.example/w1", key(3), 1_679_315_147).unwrap();
        note.add_sigs(&[&witness]).unwrap();
        let bytes = note.to_bytes();
        let verified = verify_checkpoint(&bytes, &signer.vkey(), &[witness.vkey()]).unwrap();
        assert_eq!(verified.cosigners, vec!["witness.example/w1".to_owned()]);
        let sig = verified.note_sigs_by("witness.example/w1");
        assert_eq!(cosignature_timestamp(&sig), Some(1_679_315_147));
        // A cosigner vkey parses only as type 0x04, and a plain vkey is not a cosigner key.
        assert!(CosignatureVerifier::new(&witness.vkey()).is_ok());
        assert!(CosignatureVerifier::new(&signer.vkey()).is_err());
        // A cosignature over different text does not verify.
        let v = CosignatureVerifier::new(&witness.vkey()).unwrap();
        assert!(!v.verify(b"other\n", &sig_bytes(&sig)));
    }

    fn sig_bytes(sig: &Signature) -> Vec<u8> {
        sig.signature().to_vec()
    }

    impl VerifiedCheckpoint {
        fn note_sigs_by(&self, name: &str) -> Signature {
            let bytes = self.note.to_bytes();
            let text = String::from_utf8(bytes).unwrap();
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("— {name} ")))
                .unwrap();
            Signature::from_bytes(line.as_bytes()).unwrap()
        }
    }

    #[test]
    fn key_file_is_created_then_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.key");
        let a = load_or_create_signing_key(&path).unwrap();
        let b = load_or_create_signing_key(&path).unwrap();
        assert_eq!(a.to_bytes(), b.to_bytes());
        std::fs::write(&path, "nothex").unwrap();
        assert!(load_or_create_signing_key(&path).is_err());
    }
}
