//! Ledger entries: what garita writes into the log, and their canonical bytes (docs/ledger.md, "Entries").
//!
//! An entry carries a salted [`Commitment`] to a record plus the minimum metadata an auditor needs. It never
//! carries images, templates, names or any other personal data, nor an unsalted hash of a low-entropy field: the
//! salt is kept in the store beside the record and deleted with it, after which the commitment can no longer be
//! opened or confirmed by guessing.

use sha2::{Digest, Sha256};

use crate::error::EntryError;
use crate::tiles::MAX_ENTRY_SIZE;

/// Domain separator hashed before the salt and content hash of every commitment.
pub const COMMITMENT_DOMAIN: &[u8] = b"garita-ledger/commitment/v1\0";
/// Version byte that starts every entry.
pub const ENTRY_VERSION: u8 = 1;
/// Longest label (device id, payload type, rule, action, status) in bytes.
pub const MAX_LABEL_LEN: usize = 128;
/// Most commitments one purge entry names; a purge job deleting more writes several entries.
pub const MAX_PURGE_COMMITMENTS: usize = 1000;

/// `SHA-256(COMMITMENT_DOMAIN || salt || content_hash)`: hides the record, binds the log to it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Commitment(pub [u8; 32]);

impl Commitment {
    /// Commits to a record whose content hash (SHA-256 of its canonical bytes) is `content_hash`, under a random
    /// per-record `salt` the store keeps.
    pub fn new(salt: [u8; 32], content_hash: [u8; 32]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(COMMITMENT_DOMAIN);
        hasher.update(salt);
        hasher.update(content_hash);
        Self(hasher.finalize().into())
    }

    /// Commits to `content` (hashing it with SHA-256 first).
    pub fn of_content(salt: [u8; 32], content: &[u8]) -> Self {
        Self::new(salt, Sha256::digest(content).into())
    }

    /// A fresh random salt.
    pub fn random_salt() -> [u8; 32] {
        rand::random()
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl std::fmt::Debug for Commitment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Commitment({})", self.to_hex())
    }
}

/// A short ASCII label (printable, no spaces): identifiers and enumerations, never free text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Label(String);

impl Label {
    /// Validates a label: 1..=128 bytes of printable ASCII without spaces.
    ///
    /// # Errors
    ///
    /// [`EntryError::BadLabel`] otherwise.
    pub fn new(value: &str) -> Result<Self, EntryError> {
        if value.is_empty()
            || value.len() > MAX_LABEL_LEN
            || !value.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(EntryError::BadLabel {
                value: value.chars().take(40).collect(),
            });
        }
        Ok(Self(value.to_owned()))
    }

    /// A label from a literal known to be valid (benchmarks and tests).
    pub(crate) fn new_unchecked(value: &str) -> Self {
        debug_assert!(Self::new(value).is_ok());
        Self(value.to_owned())
    }

    /// The label text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One ledger entry. Tags and field order are fixed by docs/ledger.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryBody {
    /// Tag 1: an accepted signed device envelope.
    Capture {
        /// Registered device id.
        device_id: Label,
        /// The device's sequence number for this envelope.
        seq: u64,
        /// Payload type (e.g. `encounter`, `consignment`).
        payload_type: Label,
        /// Commitment to the envelope's canonical bytes.
        commitment: Commitment,
    },
    /// Tag 2: an officer decision.
    Decision {
        /// Commitment to the decision record.
        commitment: Commitment,
    },
    /// Tag 3: an alert status change.
    AlertStatus {
        /// New status (an enumeration value such as `closed`).
        status: Label,
        /// Commitment to the status-change record.
        commitment: Commitment,
    },
    /// Tag 4: an audit event.
    Audit {
        /// Action name (e.g. `login`, `export`).
        action: Label,
        /// Commitment to the audit record.
        commitment: Commitment,
    },
    /// Tag 5: records deleted by the retention job.
    Purge {
        /// Retention rule id that expired them.
        rule: Label,
        /// Commitments (as earlier logged) of the deleted records.
        deleted: Vec<Commitment>,
    },
}

/// An entry with the time it was logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Unix seconds when the server accepted the record.
    pub time: u64,
    /// What is logged.
    pub body: EntryBody,
}

impl LedgerEntry {
    /// A capture entry for an accepted envelope.
    ///
    /// # Errors
    ///
    /// [`EntryError::BadLabel`] when the device id or payload type is not a valid [`Label`].
    pub fn capture(
        time: u64,
        device_id: &str,
        seq: u64,
        payload_type: &str,
        commitment: Commitment,
    ) -> Result<Self, EntryError> {
        Ok(Self {
            time,
            body: EntryBody::Capture {
                device_id: Label::new(device_id)?,
                seq,
                payload_type: Label::new(payload_type)?,
                commitment,
            },
        })
    }

    /// An officer decision entry.
    pub fn decision(time: u64, commitment: Commitment) -> Self {
        Self {
            time,
            body: EntryBody::Decision { commitment },
        }
    }

    /// An alert status change entry.
    ///
    /// # Errors
    ///
    /// [`EntryError::BadLabel`] when `status` is not a valid [`Label`].
    pub fn alert_status(
        time: u64,
        status: &str,
        commitment: Commitment,
    ) -> Result<Self, EntryError> {
        Ok(Self {
            time,
            body: EntryBody::AlertStatus {
                status: Label::new(status)?,
                commitment,
            },
        })
    }

    /// An audit event entry.
    ///
    /// # Errors
    ///
    /// [`EntryError::BadLabel`] when `action` is not a valid [`Label`].
    pub fn audit(time: u64, action: &str, commitment: Commitment) -> Result<Self, EntryError> {
        Ok(Self {
            time,
            body: EntryBody::Audit {
                action: Label::new(action)?,
                commitment,
            },
        })
    }

    /// Canonical bytes: `version(1) || tag(1) || time(u64 BE) || body`, see docs/ledger.md.
    ///
    /// # Errors
    ///
    /// [`EntryError::TooManyCommitments`] when a purge names more than [`MAX_PURGE_COMMITMENTS`].
    pub fn to_bytes(&self) -> Result<Vec<u8>, EntryError> {
        let mut out = vec![ENTRY_VERSION, self.tag()];
        out.extend_from_slice(&self.time.to_be_bytes());
        match &self.body {
            EntryBody::Capture {
                device_id,
                seq,
                payload_type,
                commitment,
            } => {
                put_label(&mut out, device_id);
                out.extend_from_slice(&seq.to_be_bytes());
                put_label(&mut out, payload_type);
                out.extend_from_slice(&commitment.0);
            }
            EntryBody::Decision { commitment } => out.extend_from_slice(&commitment.0),
            EntryBody::AlertStatus {
                status: label,
                commitment,
            }
            | EntryBody::Audit {
                action: label,
                commitment,
            } => {
                put_label(&mut out, label);
                out.extend_from_slice(&commitment.0);
            }
            EntryBody::Purge { rule, deleted } => {
                if deleted.is_empty() || deleted.len() > MAX_PURGE_COMMITMENTS {
                    return Err(EntryError::TooManyCommitments {
                        count: deleted.len(),
                    });
                }
                put_label(&mut out, rule);
                out.extend_from_slice(&(deleted.len() as u16).to_be_bytes());
                for c in deleted {
                    out.extend_from_slice(&c.0);
                }
            }
        }
        debug_assert!(out.len() <= MAX_ENTRY_SIZE);
        Ok(out)
    }

    /// Parses canonical bytes; anything else (trailing bytes, unknown tag or version, bad label) is rejected.
    ///
    /// # Errors
    ///
    /// [`EntryError`] with the byte offset of the problem.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EntryError> {
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(EntryError::TooLong { len: bytes.len() });
        }
        let mut r = Reader { bytes, pos: 0 };
        let version = r.u8()?;
        if version != ENTRY_VERSION {
            return Err(EntryError::UnknownVersion { version });
        }
        let tag = r.u8()?;
        let time = r.u64()?;
        let body = match tag {
            1 => EntryBody::Capture {
                device_id: r.label()?,
                seq: r.u64()?,
                payload_type: r.label()?,
                commitment: r.commitment()?,
            },
            2 => EntryBody::Decision {
                commitment: r.commitment()?,
            },
            3 => EntryBody::AlertStatus {
                status: r.label()?,
                commitment: r.commitment()?,
            },
            4 => EntryBody::Audit {
                action: r.label()?,
                commitment: r.commitment()?,
            },
            5 => {
                let rule = r.label()?;
                let count_offset = r.pos;
                let count = usize::from(u16::from_be_bytes([r.u8()?, r.u8()?]));
                if count == 0 || count > MAX_PURGE_COMMITMENTS {
                    return Err(EntryError::Malformed {
                        offset: count_offset,
                        reason: "purge count out of range",
                    });
                }
                let mut deleted = Vec::with_capacity(count);
                for _ in 0..count {
                    deleted.push(r.commitment()?);
                }
                EntryBody::Purge { rule, deleted }
            }
            tag => return Err(EntryError::UnknownTag { tag }),
        };
        if r.pos != bytes.len() {
            return Err(EntryError::Malformed {
                offset: r.pos,
                reason: "trailing bytes",
            });
        }
        Ok(Self { time, body })
    }

    fn tag(&self) -> u8 {
        match self.body {
            EntryBody::Capture { .. } => 1,
            EntryBody::Decision { .. } => 2,
            EntryBody::AlertStatus { .. } => 3,
            EntryBody::Audit { .. } => 4,
            EntryBody::Purge { .. } => 5,
        }
    }

    /// The purge entries recording that `deleted` were removed under `rule` at `time`, split so that none names
    /// more than [`MAX_PURGE_COMMITMENTS`]. Empty when nothing was deleted.
    pub fn purges(time: u64, rule: &Label, deleted: &[Commitment]) -> Vec<Self> {
        deleted
            .chunks(MAX_PURGE_COMMITMENTS)
            .map(|chunk| Self {
                time,
                body: EntryBody::Purge {
                    rule: rule.clone(),
                    deleted: chunk.to_vec(),
                },
            })
            .collect()
    }

    /// The commitments this entry names (one, or a purge's list).
    pub fn commitments(&self) -> Vec<Commitment> {
        match &self.body {
            EntryBody::Capture { commitment, .. }
            | EntryBody::Decision { commitment }
            | EntryBody::AlertStatus { commitment, .. }
            | EntryBody::Audit { commitment, .. } => vec![*commitment],
            EntryBody::Purge { deleted, .. } => deleted.clone(),
        }
    }
}

fn put_label(out: &mut Vec<u8>, label: &Label) {
    // Labels are at most MAX_LABEL_LEN (128) bytes, so the length fits one byte.
    out.push(label.0.len() as u8);
    out.extend_from_slice(label.0.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], EntryError> {
        let out =
            self.bytes
                .get(self.pos..self.pos.saturating_add(n))
                .ok_or(EntryError::Malformed {
                    offset: self.pos,
                    reason: "truncated",
                })?;
        self.pos += n;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, EntryError> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, EntryError> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(b))
    }

    fn commitment(&mut self) -> Result<Commitment, EntryError> {
        let mut b = [0u8; 32];
        b.copy_from_slice(self.take(32)?);
        Ok(Commitment(b))
    }

    fn label(&mut self) -> Result<Label, EntryError> {
        let offset = self.pos;
        let len = usize::from(self.u8()?);
        let raw = self.take(len)?;
        let text = std::str::from_utf8(raw).map_err(|_| EntryError::Malformed {
            offset,
            reason: "label not ASCII",
        })?;
        Label::new(text).map_err(|_| EntryError::Malformed {
            offset,
            reason: "bad label",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(s: &str) -> Label {
        Label::new(s).unwrap()
    }

    #[test]
    fn commitment_matches_documented_construction() {
        // docs/ledger.md: SHA-256("garita-ledger/commitment/v1\0" || salt || content_hash).
        let salt = [7u8; 32];
        let content_hash: [u8; 32] = Sha256::digest(b"envelope").into();
        let mut manual = Vec::new();
        manual.extend_from_slice(b"garita-ledger/commitment/v1\0");
        manual.extend_from_slice(&salt);
        manual.extend_from_slice(&content_hash);
        let expected: [u8; 32] = Sha256::digest(&manual).into();
        assert_eq!(Commitment::new(salt, content_hash).0, expected);
        assert_eq!(
            Commitment::of_content(salt, b"envelope"),
            Commitment::new(salt, content_hash)
        );
        // Another salt gives an unrelated commitment, which is what makes a purged record unguessable.
        assert_ne!(
            Commitment::new([8u8; 32], content_hash),
            Commitment::new(salt, content_hash)
        );
    }

    #[test]
    fn every_kind_round_trips_and_capture_bytes_are_exact() {
        let c = Commitment([0xab; 32]);
        let entries = [
            EntryBody::Capture {
                device_id: label("dev-1"),
                seq: 42,
                payload_type: label("encounter"),
                commitment: c,
            },
            EntryBody::Decision { commitment: c },
            EntryBody::AlertStatus {
                status: label("closed"),
                commitment: c,
            },
            EntryBody::Audit {
                action: label("export"),
                commitment: c,
            },
            EntryBody::Purge {
                rule: label("captures-90d"),
                deleted: vec![c, Commitment([1; 32])],
            },
        ];
        for body in entries {
            let entry = LedgerEntry {
                time: 1_700_000_000,
                body,
            };
            let bytes = entry.to_bytes().unwrap();
            assert_eq!(LedgerEntry::from_bytes(&bytes).unwrap(), entry);
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(LedgerEntry::from_bytes(&longer).is_err());
            for cut in 0..bytes.len() {
                assert!(LedgerEntry::from_bytes(&bytes[..cut]).is_err());
            }
        }
        assert!(LedgerEntry::capture(1, "bad id", 2, "p", c).is_err());
        let capture = LedgerEntry {
            time: 1,
            body: EntryBody::Capture {
                device_id: label("d"),
                seq: 2,
                payload_type: label("p"),
                commitment: c,
            },
        };
        let mut expected = vec![
            1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, b'd', 0, 0, 0, 0, 0, 0, 0, 2, 1, b'p',
        ];
        expected.extend_from_slice(&[0xab; 32]);
        assert_eq!(capture.to_bytes().unwrap(), expected);
        assert_eq!(LedgerEntry::capture(1, "d", 2, "p", c).unwrap(), capture);
        assert_eq!(LedgerEntry::decision(3, c).to_bytes().unwrap()[1], 2);
        assert_eq!(
            LedgerEntry::alert_status(3, "open", c)
                .unwrap()
                .to_bytes()
                .unwrap()[1],
            3
        );
        assert_eq!(
            LedgerEntry::audit(3, "login", c)
                .unwrap()
                .to_bytes()
                .unwrap()[1],
            4
        );
    }

    #[test]
    fn purges_split_at_the_cap() {
        let deleted: Vec<Commitment> = (0..2500u32)
            .map(|i| Commitment::of_content([0; 32], &i.to_be_bytes()))
            .collect();
        let entries = LedgerEntry::purges(5, &label("captures-90d"), &deleted);
        assert_eq!(entries.len(), 3);
        let back: Vec<Commitment> = entries.iter().flat_map(LedgerEntry::commitments).collect();
        assert_eq!(back, deleted);
        for e in &entries {
            assert!(e.to_bytes().unwrap().len() <= MAX_ENTRY_SIZE);
        }
        assert!(LedgerEntry::purges(5, &label("r"), &[]).is_empty());
    }

    #[test]
    fn bad_input_is_rejected() {
        assert!(Label::new("has space").is_err());
        assert!(Label::new("").is_err());
        assert!(Label::new(&"a".repeat(129)).is_err());
        assert!(matches!(
            LedgerEntry::from_bytes(&[2, 1]),
            Err(EntryError::UnknownVersion { version: 2 })
        ));
        assert!(matches!(
            LedgerEntry::from_bytes(&[1, 9, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(EntryError::UnknownTag { tag: 9 })
        ));
        let purge = LedgerEntry {
            time: 0,
            body: EntryBody::Purge {
                rule: label("r"),
                deleted: vec![],
            },
        };
        assert!(purge.to_bytes().is_err());
        let too_many = vec![Commitment([0; 32]); MAX_PURGE_COMMITMENTS + 1];
        let purge = LedgerEntry {
            time: 0,
            body: EntryBody::Purge {
                rule: label("r"),
                deleted: too_many,
            },
        };
        assert!(purge.to_bytes().is_err());
    }
}
