//! A C2SP witness: verifies that each new checkpoint of a log extends the last one it cosigned, then cosigns it
//! ([tlog-witness] add-checkpoint, [tlog-cosignature] `cosignature/v1`).
//!
//! [`Witness`] is transport-free: the HTTP handler (or `garita witness`) passes it the request body and the
//! current time, and maps a refusal to [`crate::WitnessError::http_status`]. Its state (the latest cosigned size
//! and root per origin) is persisted before a cosignature is returned, and check-and-update is one `&mut self`
//! call, so two requests cannot roll the state back.
//!
//! [tlog-witness]: https://c2sp.org/tlog-witness
//! [tlog-cosignature]: https://c2sp.org/tlog-cosignature

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::SigningKey;
use signed_note::Note;

use crate::error::WitnessError;
use crate::merkle::{EMPTY_HASH, HASH_SIZE, Hash, verify_consistency};
use crate::note::{CosignatureSigner, cosignature_vkey, log_verifier, verify_checkpoint};

/// Most consistency proof lines a request may carry.
pub const MAX_PROOF_LINES: usize = 63;
/// Largest request body accepted, checked before parsing.
pub const MAX_REQUEST_SIZE: usize = 1 << 20;

/// Renders an add-checkpoint request body: `old <size>`, proof lines, an empty line, the checkpoint note.
pub fn encode_add_checkpoint(old: u64, proof: &[Hash], checkpoint: &[u8]) -> Vec<u8> {
    let mut out = format!("old {old}\n");
    for h in proof {
        out.push_str(&B64.encode(h.0));
        out.push('\n');
    }
    out.push('\n');
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(checkpoint);
    bytes
}

/// A parsed add-checkpoint request.
#[derive(Debug, Clone, PartialEq)]
pub struct AddCheckpoint {
    /// Size of the checkpoint the submitter believes the witness last cosigned.
    pub old: u64,
    /// Consistency proof from `old` to the checkpoint.
    pub proof: Vec<Hash>,
    /// The checkpoint note.
    pub checkpoint: Vec<u8>,
}

/// Parses an add-checkpoint request body.
///
/// # Errors
///
/// [`WitnessError::Malformed`].
pub fn parse_add_checkpoint(body: &[u8]) -> Result<AddCheckpoint, WitnessError> {
    let bad = |reason| WitnessError::Malformed { reason };
    if body.len() > MAX_REQUEST_SIZE {
        return Err(bad("request too large"));
    }
    let mut rest = body;
    let mut next = || -> Option<&[u8]> {
        let end = rest.iter().position(|&b| b == b'\n')?;
        let line = &rest[..end];
        rest = &rest[end + 1..];
        Some(line)
    };
    let old_line = std::str::from_utf8(next().ok_or(bad("missing old size line"))?)
        .map_err(|_| bad("not UTF-8"))?;
    let old_str = old_line
        .strip_prefix("old ")
        .ok_or(bad("first line is not `old <size>`"))?;
    let old: u64 = old_str
        .parse()
        .map_err(|_| bad("old size is not a decimal"))?;
    if old.to_string() != old_str {
        return Err(bad("old size has leading zeros"));
    }
    let mut proof = Vec::new();
    loop {
        let line = next().ok_or(bad("missing empty line before checkpoint"))?;
        if line.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_LINES {
            return Err(bad("more than 63 proof lines"));
        }
        let raw = B64
            .decode(line)
            .map_err(|_| bad("proof line is not base64"))?;
        let h: [u8; HASH_SIZE] = raw
            .try_into()
            .map_err(|_| bad("proof line is not a 32-byte hash"))?;
        proof.push(Hash(h));
    }
    Ok(AddCheckpoint {
        old,
        proof,
        checkpoint: rest.to_vec(),
    })
}

/// What the witness knows about one log.
#[derive(Debug, Clone)]
struct WitnessedLog {
    vkey: String,
    size: u64,
    root: Hash,
}

/// A witness for a set of logs, with its cosigning key and persisted state.
pub struct Witness {
    name: String,
    key: SigningKey,
    logs: BTreeMap<String, WitnessedLog>,
    state_path: Option<PathBuf>,
}

impl Witness {
    /// A witness named `name` (its cosigner key name) with no logs configured and no state file.
    pub fn new(name: &str, key: SigningKey) -> Self {
        Self {
            name: name.to_owned(),
            key,
            logs: BTreeMap::new(),
            state_path: None,
        }
    }

    /// The witness's cosigner vkey, which the log and clients configure.
    pub fn vkey(&self) -> String {
        cosignature_vkey(&self.name, &self.key.verifying_key())
    }

    /// Trusts the log with verifier key `log_vkey` (its origin is the key name), starting from the empty tree.
    ///
    /// # Errors
    ///
    /// [`WitnessError::Signature`] when the vkey is malformed.
    pub fn add_log(&mut self, log_vkey: &str) -> Result<(), WitnessError> {
        let verifier = log_verifier(log_vkey).map_err(WitnessError::Signature)?;
        let origin = signed_note::Verifier::name(&verifier).to_owned();
        self.logs.entry(origin).or_insert(WitnessedLog {
            vkey: log_vkey.to_owned(),
            size: 0,
            root: EMPTY_HASH,
        });
        Ok(())
    }

    /// Loads persisted state from `path` (if it exists) and persists there from now on. Lines are
    /// `<origin> <size> <base64 root>`; origins not configured with [`Witness::add_log`] are ignored.
    ///
    /// # Errors
    ///
    /// [`WitnessError::State`] on I/O failure or a malformed file.
    pub fn use_state_file(&mut self, path: &Path) -> Result<(), WitnessError> {
        let state_err = |source| WitnessError::State {
            path: path.to_owned(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                for line in text.lines() {
                    let mut parts = line.split(' ');
                    let (Some(origin), Some(size), Some(root), None) =
                        (parts.next(), parts.next(), parts.next(), parts.next())
                    else {
                        return Err(state_err(std::io::Error::other(
                            "malformed witness state line",
                        )));
                    };
                    let size = size
                        .parse()
                        .map_err(|_| state_err(std::io::Error::other("bad size")))?;
                    let root: [u8; HASH_SIZE] = B64
                        .decode(root)
                        .ok()
                        .and_then(|r| r.try_into().ok())
                        .ok_or_else(|| state_err(std::io::Error::other("bad root")))?;
                    if let Some(log) = self.logs.get_mut(origin) {
                        log.size = size;
                        log.root = Hash(root);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(state_err(e)),
        }
        self.state_path = Some(path.to_owned());
        Ok(())
    }

    /// The latest cosigned size for `origin`.
    pub fn latest_size(&self, origin: &str) -> Option<u64> {
        self.logs.get(origin).map(|l| l.size)
    }

    /// Handles an add-checkpoint request body at time `now` (POSIX seconds): checks the log signature, the old
    /// size and the consistency proof, persists the new state, and returns the cosignature line(s).
    ///
    /// # Errors
    ///
    /// A [`WitnessError`] whose [`http_status`](WitnessError::http_status) is the status tlog-witness prescribes.
    /// The state is unchanged on any error.
    pub fn add_checkpoint(&mut self, body: &[u8], now: u64) -> Result<Vec<u8>, WitnessError> {
        let req = parse_add_checkpoint(body)?;
        let note = Note::from_bytes(&req.checkpoint)
            .map_err(|_| WitnessError::Malformed { reason: "bad note" })?;
        let origin = note
            .text()
            .split(|&b| b == b'\n')
            .next()
            .unwrap_or_default();
        let origin = String::from_utf8_lossy(origin).into_owned();
        let log = self
            .logs
            .get(&origin)
            .ok_or_else(|| WitnessError::UnknownOrigin {
                origin: origin.clone(),
            })?;
        let verified =
            verify_checkpoint(&req.checkpoint, &log.vkey, &[]).map_err(WitnessError::Signature)?;
        let (size, root) = (verified.checkpoint.size(), *verified.checkpoint.hash());
        if req.old > size {
            return Err(WitnessError::OldSizeTooLarge { old: req.old, size });
        }
        if req.old != log.size {
            return Err(WitnessError::Conflict {
                old: req.old,
                latest: log.size,
            });
        }
        if size == 0 && root != EMPTY_HASH {
            return Err(WitnessError::Unprocessable {
                reason: "empty tree with a non-empty root",
            });
        }
        if req.old == 0 {
            if !req.proof.is_empty() {
                return Err(WitnessError::Unprocessable {
                    reason: "proof from the empty tree must be empty",
                });
            }
        } else if req.old == size {
            if root != log.root {
                return Err(WitnessError::Unprocessable {
                    reason: "same size, different root",
                });
            }
        } else {
            verify_consistency(&req.proof, req.old, log.root, size, root).map_err(|_| {
                WitnessError::Unprocessable {
                    reason: "consistency proof does not verify",
                }
            })?;
        }

        let signer = CosignatureSigner::new(&self.name, self.key.clone(), now)
            .map_err(WitnessError::Sign)?;
        let mut cosigned = Note::new(note.text(), &[])
            .map_err(|_| WitnessError::Malformed { reason: "bad note" })?;
        cosigned.add_sigs(&[&signer]).map_err(|e| {
            WitnessError::Sign(crate::error::KeyError::Note {
                reason: e.to_string(),
            })
        })?;
        let bytes = cosigned.to_bytes();
        let sig_start = note.text().len() + 1;
        let response = bytes.get(sig_start..).unwrap_or_default().to_vec();

        // Persist before answering: a cosignature must never precede the state that forbids rolling back.
        let previous = self.logs.get(&origin).cloned();
        if let Some(log) = self.logs.get_mut(&origin) {
            log.size = size;
            log.root = root;
        }
        if let Err(e) = self.persist() {
            if let (Some(prev), Some(log)) = (previous, self.logs.get_mut(&origin)) {
                *log = prev;
            }
            return Err(e);
        }
        Ok(response)
    }

    /// Witnesses a tiled log directly (what `garita witness --log URL` runs): fetches its checkpoint from
    /// `source`, computes the consistency proof from the latest cosigned size out of authenticated tiles, and
    /// cosigns through [`Witness::add_checkpoint`]. Returns the cosignature lines to send back to the log.
    ///
    /// # Errors
    ///
    /// [`WitnessError::Log`] when the log cannot be read or its tiles do not authenticate, otherwise as
    /// [`Witness::add_checkpoint`].
    pub fn cosign_from_source(
        &mut self,
        source: &dyn crate::verify::TileSource,
        log_vkey: &str,
        now: u64,
    ) -> Result<Vec<u8>, WitnessError> {
        let note = source
            .get("checkpoint")
            .map_err(|e| WitnessError::Log(Box::new(e.into())))?;
        let verified = verify_checkpoint(&note, log_vkey, &[]).map_err(WitnessError::Signature)?;
        let cp = &verified.checkpoint;
        let old = self
            .latest_size(cp.origin())
            .ok_or_else(|| WitnessError::UnknownOrigin {
                origin: cp.origin().to_owned(),
            })?;
        if old > cp.size() {
            return Err(WitnessError::OldSizeTooLarge {
                old,
                size: cp.size(),
            });
        }
        let proof = crate::verify::consistency_proof_from_tiles(source, cp.size(), *cp.hash(), old)
            .map_err(|e| WitnessError::Log(Box::new(e)))?;
        self.add_checkpoint(&encode_add_checkpoint(old, &proof, &note), now)
    }

    fn persist(&self) -> Result<(), WitnessError> {
        let Some(path) = &self.state_path else {
            return Ok(());
        };
        let text: String = self
            .logs
            .iter()
            .map(|(origin, l)| format!("{origin} {} {}\n", l.size, B64.encode(l.root.0)))
            .collect();
        crate::fsutil::write_atomic(path, text.as_bytes()).map_err(|source| WitnessError::State {
            path: path.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{StoredHashes, leaf_hash};
    use crate::note::{CosignatureVerifier, LogSigner, sign_checkpoint};
    use signed_note::Verifier as _;

    struct FakeLog {
        signer: LogSigner,
        tree: StoredHashes,
    }

    impl FakeLog {
        fn new(seed: u8) -> Self {
            Self {
                signer: LogSigner::new("garita.test/log", SigningKey::from_bytes(&[seed; 32]))
                    .unwrap(),
                tree: StoredHashes::new(),
            }
        }
        fn grow(&mut self, n: u64, tag: u8) {
            for i in 0..n {
                self.tree.push_leaf(leaf_hash(&[tag, i as u8]));
            }
        }
        fn checkpoint(&self) -> Vec<u8> {
            let size = self.tree.size();
            sign_checkpoint(&self.signer, size, self.tree.root(size).unwrap()).unwrap()
        }
        fn request(&self, old: u64) -> Vec<u8> {
            let size = self.tree.size();
            let proof = if old == 0 || old >= size {
                vec![]
            } else {
                self.tree.consistency_proof(old, size).unwrap()
            };
            encode_add_checkpoint(old, &proof, &self.checkpoint())
        }
    }

    fn witness(log: &FakeLog) -> Witness {
        let mut w = Witness::new("witness.test/w1", SigningKey::from_bytes(&[42; 32]));
        w.add_log(&log.signer.vkey()).unwrap();
        w
    }

    #[test]
    fn cosigns_consistent_growth_and_cosignature_verifies() {
        let mut log = FakeLog::new(1);
        let mut w = witness(&log);
        log.grow(5, 0);
        let resp = w.add_checkpoint(&log.request(0), 1000).unwrap();
        let line = String::from_utf8(resp).unwrap();
        assert!(line.starts_with("— witness.test/w1 ") && line.ends_with('\n'));
        let mut full = log.checkpoint();
        full.extend_from_slice(line.as_bytes());
        let v = verify_checkpoint(&full, &log.signer.vkey(), &[w.vkey()]).unwrap();
        assert_eq!(v.cosigners, vec!["witness.test/w1".to_owned()]);
        log.grow(7, 0);
        w.add_checkpoint(&log.request(5), 1001).unwrap();
        assert_eq!(w.latest_size("garita.test/log"), Some(12));
        assert!(CosignatureVerifier::new(&w.vkey()).unwrap().key_id() != 0);
    }

    #[test]
    fn refuses_forks_rollbacks_and_stale_old_sizes() {
        let mut log = FakeLog::new(1);
        let mut w = witness(&log);
        log.grow(8, 0);
        w.add_checkpoint(&log.request(0), 1).unwrap();

        // A fork: same origin and key, different history.
        let mut fork = FakeLog::new(1);
        fork.grow(10, 9);
        let err = w.add_checkpoint(&fork.request(8), 2).unwrap_err();
        assert_eq!(err.http_status(), 422, "{err}");
        // Same size, different root.
        let mut fork8 = FakeLog::new(1);
        fork8.grow(8, 9);
        assert_eq!(
            w.add_checkpoint(&fork8.request(8), 2)
                .unwrap_err()
                .http_status(),
            422
        );
        // Rollback to a smaller tree: old size must be 8, and 8 > 4.
        let mut small = FakeLog::new(1);
        small.grow(4, 0);
        assert_eq!(
            w.add_checkpoint(&small.request(8), 2)
                .unwrap_err()
                .http_status(),
            400
        );
        // Stale old size.
        log.grow(2, 0);
        match w.add_checkpoint(&log.request(0), 3) {
            Err(WitnessError::Conflict { latest: 8, .. }) => {}
            other => panic!("{other:?}"),
        }
        // Wrong key and unknown origin.
        let mut other_key = FakeLog::new(2);
        other_key.grow(10, 0);
        assert_eq!(
            w.add_checkpoint(&other_key.request(8), 3)
                .unwrap_err()
                .http_status(),
            403
        );
        let stranger = Witness::new("x", SigningKey::from_bytes(&[1; 32]));
        let mut stranger = stranger;
        assert_eq!(
            stranger
                .add_checkpoint(&log.request(0), 3)
                .unwrap_err()
                .http_status(),
            404
        );
        // State untouched by all refusals.
        assert_eq!(w.latest_size("garita.test/log"), Some(8));
        w.add_checkpoint(&log.request(8), 4).unwrap();
    }

    #[test]
    fn state_survives_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("witness.state");
        let mut log = FakeLog::new(1);
        log.grow(3, 0);
        let mut w = witness(&log);
        w.use_state_file(&path).unwrap();
        w.add_checkpoint(&log.request(0), 1).unwrap();
        let mut w2 = witness(&log);
        w2.use_state_file(&path).unwrap();
        assert_eq!(w2.latest_size("garita.test/log"), Some(3));
        // The restarted witness still refuses a fork of what it cosigned.
        let mut fork = FakeLog::new(1);
        fork.grow(3, 9);
        assert!(w2.add_checkpoint(&fork.request(3), 2).is_err());
    }

    #[test]
    fn malformed_requests_are_400() {
        let mut w = Witness::new("w", SigningKey::from_bytes(&[1; 32]));
        for body in [
            &b""[..],
            b"old 01\n\n",
            b"new 1\n\n",
            b"old 1\nnot base64\n\n",
            b"old 1\n",
        ] {
            assert_eq!(w.add_checkpoint(body, 0).unwrap_err().http_status(), 400);
        }
    }
}
