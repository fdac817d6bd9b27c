//! C2SP tlog-proof: the offline receipt a device keeps for its capture ([tlog-proof]).
//!
//! [tlog-proof]: https://c2sp.org/tlog-proof

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::entry::{Commitment, LedgerEntry};
use crate::error::TlogProofError;
use crate::merkle::{HASH_SIZE, Hash, leaf_hash, verify_inclusion};
use crate::note::{VerifiedCheckpoint, verify_checkpoint};

/// First line of every proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Largest proof text accepted, before any parsing (a checkpoint note is capped at 1 MB by signed-note).
pub const MAX_TLOG_PROOF_SIZE: usize = 1 << 20;

/// A tlog-proof: optional extra data, the leaf index, its inclusion proof and the checkpoint it is relative to.
#[derive(Debug, Clone, PartialEq)]
pub struct TlogProof {
    /// Unauthenticated application data (`extra` line).
    pub extra: Option<Vec<u8>>,
    /// Leaf index.
    pub index: u64,
    /// Inclusion proof, leaf sibling first.
    pub hashes: Vec<Hash>,
    /// The checkpoint note verbatim, signatures included.
    pub checkpoint: Vec<u8>,
}

impl TlogProof {
    /// Renders the proof text.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{TLOG_PROOF_HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", B64.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.hashes {
            out.push_str(&format!("{}\n", B64.encode(h.0)));
        }
        out.push('\n');
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.checkpoint);
        bytes
    }

    /// Parses proof text.
    ///
    /// # Errors
    ///
    /// [`TlogProofError::Malformed`] naming the line.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TlogProofError> {
        let bad = |line, reason| TlogProofError::Malformed { line, reason };
        if bytes.len() > MAX_TLOG_PROOF_SIZE {
            return Err(bad(1, "proof too large"));
        }
        let mut rest = bytes;
        let mut line_no = 0usize;
        let mut next_line = |rest: &mut &[u8]| -> Option<(usize, String)> {
            let end = rest.iter().position(|&b| b == b'\n')?;
            let line = String::from_utf8(rest[..end].to_vec()).ok()?;
            *rest = &rest[end + 1..];
            line_no += 1;
            Some((line_no, line))
        };
        let (_, header) = next_line(&mut rest).ok_or(bad(1, "missing header"))?;
        if header != TLOG_PROOF_HEADER {
            return Err(bad(1, "header is not c2sp.org/tlog-proof@v1"));
        }
        let (mut n, mut line) = next_line(&mut rest).ok_or(bad(2, "missing index line"))?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(B64.decode(b64).map_err(|_| bad(n, "extra is not base64"))?);
            (n, line) = next_line(&mut rest).ok_or(bad(n + 1, "missing index line"))?;
        }
        let index_str = line
            .strip_prefix("index ")
            .ok_or(bad(n, "expected index line"))?;
        let index: u64 = index_str
            .parse()
            .map_err(|_| bad(n, "index is not a decimal"))?;
        if index.to_string() != index_str {
            return Err(bad(n, "index has leading zeros"));
        }
        let mut hashes = Vec::new();
        loop {
            let (n, line) =
                next_line(&mut rest).ok_or(bad(n + 1, "missing empty line before checkpoint"))?;
            if line.is_empty() {
                break;
            }
            if hashes.len() >= 64 {
                return Err(bad(n, "more than 64 proof hashes"));
            }
            let raw = B64
                .decode(&line)
                .map_err(|_| bad(n, "proof line is not base64"))?;
            let h: [u8; HASH_SIZE] = raw
                .try_into()
                .map_err(|_| bad(n, "proof line is not a 32-byte hash"))?;
            hashes.push(Hash(h));
        }
        Ok(Self {
            extra,
            index,
            hashes,
            checkpoint: rest.to_vec(),
        })
    }

    /// Verifies the checkpoint (log signature, and cosignatures from `witness_vkeys`) and that `entry` is leaf
    /// `index` of it. Returns the verified checkpoint so the caller can apply a witness policy.
    ///
    /// # Errors
    ///
    /// [`TlogProofError::Checkpoint`] or [`TlogProofError::Inclusion`].
    pub fn verify(
        &self,
        log_vkey: &str,
        witness_vkeys: &[String],
        entry: &[u8],
    ) -> Result<VerifiedCheckpoint, TlogProofError> {
        let verified = verify_checkpoint(&self.checkpoint, log_vkey, witness_vkeys)?;
        let cp = &verified.checkpoint;
        verify_inclusion(
            &self.hashes,
            cp.size(),
            *cp.hash(),
            self.index,
            leaf_hash(entry),
        )
        .map_err(|source| TlogProofError::Inclusion {
            index: self.index,
            source,
        })?;
        Ok(verified)
    }
}

/// Length of the salt at the start of a record receipt's `extra` data.
const SALT_LEN: usize = 32;

impl TlogProof {
    /// Turns a proof into a record receipt: `extra` carries the record's salt followed by the logged entry bytes,
    /// which is what a device needs to check offline that its own record, and nothing else, was logged. The salt
    /// only hides a record from people who do not already hold it, so giving it to the record's source reveals
    /// nothing new.
    pub fn into_receipt(mut self, salt: [u8; 32], entry: &[u8]) -> Self {
        let mut extra = salt.to_vec();
        extra.extend_from_slice(entry);
        self.extra = Some(extra);
        self
    }

    /// Verifies a record receipt against the record's bytes: the checkpoint, the inclusion of the entry carried
    /// in `extra`, and that the entry's commitment is `Commitment::of_content(salt, record)`. Returns the entry
    /// (so the caller can also check device id and sequence number) and the verified checkpoint.
    ///
    /// # Errors
    ///
    /// [`TlogProofError::Receipt`] when `extra` is missing or malformed or the commitment does not match the
    /// record, otherwise as [`TlogProof::verify`].
    pub fn verify_receipt(
        &self,
        log_vkey: &str,
        witness_vkeys: &[String],
        record: &[u8],
    ) -> Result<(LedgerEntry, VerifiedCheckpoint), TlogProofError> {
        let extra = self.extra.as_deref().ok_or(TlogProofError::Receipt {
            reason: "no extra data (salt and entry)",
        })?;
        let (salt, entry_bytes) =
            extra
                .split_first_chunk::<SALT_LEN>()
                .ok_or(TlogProofError::Receipt {
                    reason: "extra data shorter than a salt",
                })?;
        let entry = LedgerEntry::from_bytes(entry_bytes).map_err(|_| TlogProofError::Receipt {
            reason: "extra data does not hold a ledger entry",
        })?;
        let want = Commitment::of_content(*salt, record);
        if !entry.commitments().contains(&want) {
            return Err(TlogProofError::Receipt {
                reason: "the logged commitment is not a commitment to this record",
            });
        }
        let verified = self.verify(log_vkey, witness_vkeys, entry_bytes)?;
        Ok((entry, verified))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_and_without_extra() {
        let p = TlogProof {
            extra: Some(b"abc".to_vec()),
            index: 7,
            hashes: vec![Hash([1; 32]), Hash([2; 32])],
            checkpoint: b"o\n1\nAAAA\n\n".to_vec(),
        };
        let text = p.to_bytes();
        assert!(text.starts_with(b"c2sp.org/tlog-proof@v1\nextra YWJj\nindex 7\n"));
        assert_eq!(TlogProof::from_bytes(&text).unwrap(), p);
        let p2 = TlogProof {
            extra: None,
            hashes: vec![],
            ..p
        };
        assert_eq!(TlogProof::from_bytes(&p2.to_bytes()).unwrap(), p2);
    }

    #[test]
    fn malformed_proofs_name_the_line() {
        for (text, line) in [
            (&b"c2sp.org/tlog-proof@v2\nindex 1\n\n"[..], 1),
            (b"c2sp.org/tlog-proof@v1\nindex 01\n\n", 2),
            (b"c2sp.org/tlog-proof@v1\nindex 1\nnot-base64!\n\n", 3),
            (b"c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\n", 3),
        ] {
            match TlogProof::from_bytes(text) {
                Err(TlogProofError::Malformed { line: got, .. }) => assert_eq!(got, line),
                other => panic!("{other:?}"),
            }
        }
    }
}
