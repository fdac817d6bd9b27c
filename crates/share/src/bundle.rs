//! Bundles: the manifest, the parts each record becomes, what the ledger commits to for each shared record, and
//! the checks a partner runs on import.

use crate::ShareError;
use crate::agreement::{Agreement, Direction, RecordKind};
use crate::container::{Opened, encode_parts, seal};
use crate::keys::{SharingKey, parse_encrypt_key, parse_sign_key};
use crate::select::ExportRecord;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use garita_ledger::{EntryBody, Hash, TlogProof, verify_checkpoint};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// The manifest's `format`.
pub const FORMAT: &str = "garita-share/v1";
/// The audit action of the ledger entry committing to each shared record.
pub const SHARE_ACTION: &str = "share.record";
/// Name of the manifest part.
pub const MANIFEST_PART: &str = "manifest.json";
/// Name of the checkpoint part.
pub const CHECKPOINT_PART: &str = "checkpoint";
/// The `field` of a record's JSON fields file.
pub const FIELDS_FILE: &str = "fields";

/// One file of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    /// Part name: `records/<ref>/<field>`.
    pub name: String,
    /// `fields` for the JSON fields, otherwise the binary field it holds (`image`).
    pub field: String,
    /// Media type (`application/json`, `application/x-an2`, `application/dicom`, ...).
    pub media_type: String,
    /// SHA-256 of the part, hex.
    pub sha256: String,
}

/// One record of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestRecord {
    /// Reference of the record in this sharing relation (random; the sender maps it to its own record).
    pub reference: Uuid,
    /// Kind.
    pub kind: RecordKind,
    /// Reference of its parent record, when shared (a sample's encounter).
    pub parent: Option<Uuid>,
    /// Its files.
    pub files: Vec<ManifestFile>,
    /// Leaf index of the ledger entry committing to it.
    pub leaf_index: u64,
}

/// The manifest of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Unique id of this bundle.
    pub bundle_id: Uuid,
    /// The agreement it is shared under.
    pub agreement_id: Uuid,
    /// 1 for the first bundle under the agreement, then +1 each.
    pub sequence: u64,
    /// Sender's partner name as the recipient knows it is not needed: the sender key identifies it. This is the
    /// recipient's partner name in the sender's agreement, so a bundle read by the wrong party says so.
    pub recipient: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Tree size of the checkpoint of the previous bundle under the agreement (0 for the first).
    pub previous_size: u64,
    /// Consistency proof from `previous_size` to this checkpoint, base64 hashes.
    pub consistency: Vec<String>,
    /// The records.
    pub records: Vec<ManifestRecord>,
}

/// A record ready to be logged and bundled: its manifest entry (without leaf index yet) and file bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedRecord {
    /// Manifest entry; `leaf_index` is set by [`PreparedRecord::logged_at`].
    pub entry: ManifestRecord,
    /// Bytes of each file, in the order of `entry.files`.
    pub contents: Vec<Vec<u8>>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl PreparedRecord {
    /// Turns an exported record into files: `fields` as JSON, each binary field as it is.
    ///
    /// # Errors
    /// When the fields cannot be serialised (never for JSON values).
    pub fn new(
        record: &ExportRecord,
        reference: Uuid,
        parent: Option<Uuid>,
    ) -> Result<Self, ShareError> {
        let fields = serde_json::to_vec(&record.fields).map_err(|err| ShareError::Manifest {
            reason: err.to_string(),
        })?;
        let mut files = vec![ManifestFile {
            name: format!("records/{reference}/{FIELDS_FILE}"),
            field: FIELDS_FILE.into(),
            media_type: "application/json".into(),
            sha256: sha256_hex(&fields),
        }];
        let mut contents = vec![fields];
        for (field, (media_type, bytes)) in &record.files {
            files.push(ManifestFile {
                name: format!("records/{reference}/{field}"),
                field: field.clone(),
                media_type: media_type.clone(),
                sha256: sha256_hex(bytes),
            });
            contents.push(bytes.clone());
        }
        Ok(PreparedRecord {
            entry: ManifestRecord {
                reference,
                kind: record.kind,
                parent,
                files,
                leaf_index: 0,
            },
            contents,
        })
    }

    /// What the ledger entry of this record commits to: [`record_content`] of its manifest entry.
    pub fn content(&self) -> Vec<u8> {
        record_content(&self.entry)
    }
}

/// The canonical bytes a shared record's ledger entry commits to (docs/sharing.md): its reference, kind, parent
/// and every file's name, field, media type and SHA-256, one per line.
pub fn record_content(record: &ManifestRecord) -> Vec<u8> {
    let mut text = format!(
        "garita-share/record/v1\nref {}\nkind {}\nparent {}\n",
        record.reference,
        record.kind.as_str(),
        record
            .parent
            .map_or_else(|| "-".to_owned(), |parent| parent.to_string())
    );
    for file in &record.files {
        text.push_str(&format!(
            "file {} {} {} {}\n",
            file.name, file.field, file.media_type, file.sha256
        ));
    }
    text.into_bytes()
}

/// What a new bundle needs besides its records.
#[derive(Debug, Clone)]
pub struct BundleInfo {
    /// Unique id.
    pub bundle_id: Uuid,
    /// Sequence under the agreement.
    pub sequence: u64,
    /// When it is made.
    pub created_at: OffsetDateTime,
    /// Tree size of the previous bundle's checkpoint (0 for none).
    pub previous_size: u64,
    /// Consistency proof from `previous_size` to the checkpoint.
    pub consistency: Vec<Hash>,
    /// The checkpoint every proof is relative to (signed note).
    pub checkpoint: Vec<u8>,
}

/// Builds, signs and encrypts a bundle. Each record comes with its C2SP tlog-proof receipt (the proof with the
/// record's salt and entry in `extra`) against `info.checkpoint`.
///
/// # Errors
/// [`ShareError::Agreement`] when the agreement is not outgoing, [`ShareError::Proof`] when a proof is not
/// relative to the checkpoint, [`ShareError::Key`] for a bad partner key.
pub fn build_bundle(
    key: &SharingKey,
    agreement: &Agreement,
    info: &BundleInfo,
    records: &[(PreparedRecord, TlogProof)],
) -> Result<(Manifest, Vec<u8>), ShareError> {
    if agreement.direction != Direction::Outgoing {
        return Err(ShareError::agreement(
            "direction",
            "not an outgoing agreement",
        ));
    }
    let recipient = parse_encrypt_key(&agreement.partner.encrypt_key)?;
    let manifest = Manifest {
        format: FORMAT.into(),
        bundle_id: info.bundle_id,
        agreement_id: agreement.id,
        sequence: info.sequence,
        recipient: agreement.partner.name.clone(),
        created_at: info.created_at,
        previous_size: info.previous_size,
        consistency: info.consistency.iter().map(|h| B64.encode(h.0)).collect(),
        records: records
            .iter()
            .map(|(record, proof)| ManifestRecord {
                leaf_index: proof.index,
                ..record.entry.clone()
            })
            .collect(),
    };
    let manifest_json =
        serde_json::to_vec_pretty(&manifest).map_err(|err| ShareError::Manifest {
            reason: err.to_string(),
        })?;
    let mut parts = vec![
        (MANIFEST_PART.to_owned(), manifest_json),
        (CHECKPOINT_PART.to_owned(), info.checkpoint.clone()),
    ];
    for (record, proof) in records {
        if proof.checkpoint != info.checkpoint {
            return Err(ShareError::Proof {
                reference: record.entry.reference.to_string(),
                reason: "not relative to the bundle's checkpoint".into(),
            });
        }
        for (file, bytes) in record.entry.files.iter().zip(&record.contents) {
            parts.push((file.name.clone(), bytes.clone()));
        }
        parts.push((proof_part(record.entry.reference), proof.to_bytes()));
    }
    let bundle = seal(key, &recipient, &encode_parts(&parts)?)?;
    Ok((manifest, bundle))
}

fn proof_part(reference: Uuid) -> String {
    format!("proofs/{reference}")
}

/// What the importer knows of earlier bundles under the agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastImport {
    /// Sequence of the last bundle imported.
    pub sequence: u64,
    /// Its checkpoint's tree size.
    pub size: u64,
    /// Its checkpoint's root hash.
    pub root: [u8; 32],
}

/// A record that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedRecord {
    /// Manifest entry.
    pub entry: ManifestRecord,
    /// JSON fields.
    pub fields: BTreeMap<String, Value>,
    /// Binary fields: media type and bytes.
    pub files: BTreeMap<String, (String, Vec<u8>)>,
}

/// A bundle that passed every check, ready to be stored.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// Its manifest.
    pub manifest: Manifest,
    /// The checkpoint note, as sent.
    pub checkpoint: Vec<u8>,
    /// Its tree size.
    pub size: u64,
    /// Its root hash.
    pub root: [u8; 32],
    /// The records.
    pub records: Vec<ImportedRecord>,
}

/// Reads the manifest of an opened bundle (to find its agreement) without checking anything else.
///
/// # Errors
/// [`ShareError::Part`] or [`ShareError::Manifest`].
pub fn manifest_of(opened: &Opened) -> Result<Manifest, ShareError> {
    let (name, bytes) = opened.parts.first().ok_or(ShareError::Part {
        name: MANIFEST_PART.into(),
        reason: "missing (it must be the first part)",
    })?;
    if name != MANIFEST_PART {
        return Err(ShareError::Part {
            name: MANIFEST_PART.into(),
            reason: "missing (it must be the first part)",
        });
    }
    serde_json::from_slice(bytes).map_err(|err| ShareError::Manifest {
        reason: err.to_string(),
    })
}

/// Verifies an opened bundle against our (incoming) copy of the agreement and what we imported before: the sender
/// key, the manifest, every part's hash, the sequence (replay, gaps), the checkpoint's signature and its
/// consistency with the last one we saw, each record's inclusion proof and commitment, and that each record is
/// allowed by our copy of the agreement. `now` must be inside the agreement's window.
///
/// # Errors
/// The first check that fails, as a precise [`ShareError`].
pub fn verify_bundle(
    opened: &Opened,
    agreement: &Agreement,
    last: Option<&LastImport>,
    now: OffsetDateTime,
) -> Result<VerifiedBundle, ShareError> {
    check_sender(opened, agreement)?;
    let manifest = manifest_of(opened)?;
    check_manifest_header(&manifest, agreement, now)?;
    check_sequence(&manifest, last)?;
    let parts = check_parts(opened, &manifest)?;
    let log_vkey = agreement.partner.log_vkey.as_deref().ok_or_else(|| {
        ShareError::agreement("partner.log_vkey", "required to check incoming proofs")
    })?;
    let checkpoint = parts
        .get(CHECKPOINT_PART)
        .copied()
        .ok_or(ShareError::Part {
            name: CHECKPOINT_PART.into(),
            reason: "missing",
        })?;
    let (size, root) = check_checkpoint(checkpoint, log_vkey, &manifest, last)?;
    let mut records = Vec::with_capacity(manifest.records.len());
    for entry in &manifest.records {
        records.push(check_record(
            entry, &parts, checkpoint, log_vkey, agreement,
        )?);
    }
    Ok(VerifiedBundle {
        manifest,
        checkpoint: checkpoint.to_vec(),
        size,
        root,
        records,
    })
}

fn check_sender(opened: &Opened, agreement: &Agreement) -> Result<(), ShareError> {
    let expected = parse_sign_key(&agreement.partner.sign_key)?;
    if opened.sender != expected || agreement.direction != Direction::Incoming {
        return Err(ShareError::UnknownSender {
            sender: B64.encode(opened.sender.as_bytes()),
            agreement: agreement.id.to_string(),
        });
    }
    Ok(())
}

fn check_manifest_header(
    manifest: &Manifest,
    agreement: &Agreement,
    now: OffsetDateTime,
) -> Result<(), ShareError> {
    let bad = |reason: String| Err(ShareError::Manifest { reason });
    if manifest.format != FORMAT {
        return bad(format!("format {:?} is not {FORMAT}", manifest.format));
    }
    if manifest.agreement_id != agreement.id {
        return bad(format!(
            "agreement {} is not {}",
            manifest.agreement_id, agreement.id
        ));
    }
    if !agreement.in_window(now) {
        return bad(format!(
            "agreement {} is not in force now (valid {} to {})",
            agreement.id, agreement.valid_from, agreement.valid_until
        ));
    }
    if manifest.sequence == 0 {
        return bad("sequence starts at 1".into());
    }
    Ok(())
}

fn check_sequence(manifest: &Manifest, last: Option<&LastImport>) -> Result<(), ShareError> {
    let last_sequence = last.map_or(0, |last| last.sequence);
    if manifest.sequence <= last_sequence {
        return Err(ShareError::Replayed {
            sequence: manifest.sequence,
            last: last_sequence,
        });
    }
    if manifest.sequence != last_sequence + 1 {
        return Err(ShareError::Gap {
            sequence: manifest.sequence,
            previous: manifest.sequence - 1,
            last: last_sequence,
        });
    }
    Ok(())
}

/// Every part is named by the manifest (or is the manifest, the checkpoint or a record's proof), exactly once,
/// with the hash the manifest gives.
fn check_parts<'a>(
    opened: &'a Opened,
    manifest: &Manifest,
) -> Result<BTreeMap<&'a str, &'a [u8]>, ShareError> {
    let parts: BTreeMap<&str, &[u8]> = opened
        .parts
        .iter()
        .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
        .collect();
    let mut expected: BTreeMap<String, Option<&str>> = BTreeMap::new();
    expected.insert(MANIFEST_PART.into(), None);
    expected.insert(CHECKPOINT_PART.into(), None);
    for record in &manifest.records {
        if expected
            .insert(proof_part(record.reference), None)
            .is_some()
        {
            return Err(ShareError::Manifest {
                reason: format!("record {} listed twice", record.reference),
            });
        }
        for file in &record.files {
            if file.name != format!("records/{}/{}", record.reference, file.field) {
                return Err(ShareError::Part {
                    name: file.name.clone(),
                    reason: "name does not match its record and field",
                });
            }
            if expected
                .insert(file.name.clone(), Some(file.sha256.as_str()))
                .is_some()
            {
                return Err(ShareError::Part {
                    name: file.name.clone(),
                    reason: "listed twice",
                });
            }
        }
    }
    for (name, hash) in &expected {
        let bytes = parts.get(name.as_str()).ok_or_else(|| ShareError::Part {
            name: name.clone(),
            reason: "missing",
        })?;
        if let Some(hash) = hash
            && sha256_hex(bytes) != *hash
        {
            return Err(ShareError::Part {
                name: name.clone(),
                reason: "content does not match its SHA-256 in the manifest",
            });
        }
    }
    if let Some(extra) = parts.keys().find(|name| !expected.contains_key(**name)) {
        return Err(ShareError::Part {
            name: (*extra).to_owned(),
            reason: "not named by the manifest",
        });
    }
    Ok(parts)
}

fn decode_hashes(text: &[String]) -> Result<Vec<Hash>, ShareError> {
    text.iter()
        .map(|line| {
            B64.decode(line)
                .ok()
                .and_then(|raw| <[u8; 32]>::try_from(raw).ok())
                .map(Hash)
                .ok_or_else(|| ShareError::Checkpoint {
                    reason: "consistency proof line is not a base64 32-byte hash".into(),
                })
        })
        .collect()
}

fn check_checkpoint(
    checkpoint: &[u8],
    log_vkey: &str,
    manifest: &Manifest,
    last: Option<&LastImport>,
) -> Result<(u64, [u8; 32]), ShareError> {
    let verified =
        verify_checkpoint(checkpoint, log_vkey, &[]).map_err(|err| ShareError::Checkpoint {
            reason: err.to_string(),
        })?;
    let size = verified.checkpoint.size();
    let root = verified.checkpoint.hash().0;
    let (last_size, last_root) = last.map_or((0, [0; 32]), |last| (last.size, last.root));
    if manifest.previous_size != last_size {
        return Err(ShareError::Checkpoint {
            reason: format!(
                "bundle proves consistency from tree size {}, but the last checkpoint we saw from this sender has size {last_size}",
                manifest.previous_size
            ),
        });
    }
    if size < last_size {
        return Err(ShareError::Checkpoint {
            reason: format!("rollback: size {size} is smaller than {last_size} seen before"),
        });
    }
    let proof = decode_hashes(&manifest.consistency)?;
    if last_size == size {
        if root != last_root {
            return Err(ShareError::Checkpoint {
                reason: "same tree size as before with a different root: the log forked".into(),
            });
        }
    } else if last_size > 0 {
        garita_ledger::merkle::verify_consistency(
            &proof,
            last_size,
            Hash(last_root),
            size,
            Hash(root),
        )
        .map_err(|err| ShareError::Checkpoint {
            reason: format!(
                "not consistent with the checkpoint of size {last_size} seen before: {err}"
            ),
        })?;
    }
    Ok((size, root))
}

fn check_record(
    entry: &ManifestRecord,
    parts: &BTreeMap<&str, &[u8]>,
    checkpoint: &[u8],
    log_vkey: &str,
    agreement: &Agreement,
) -> Result<ImportedRecord, ShareError> {
    let reference = entry.reference.to_string();
    let refuse = |reason: String| ShareError::NotAllowed {
        reference: reference.clone(),
        reason,
    };
    let rule = agreement.rule(entry.kind).ok_or_else(|| {
        refuse(format!(
            "kind {} is not in the agreement",
            entry.kind.as_str()
        ))
    })?;
    let mut fields = BTreeMap::new();
    let mut files = BTreeMap::new();
    for file in &entry.files {
        let bytes = parts.get(file.name.as_str()).copied().unwrap_or_default();
        if file.field == FIELDS_FILE {
            fields = serde_json::from_slice::<BTreeMap<String, Value>>(bytes)
                .map_err(|err| refuse(format!("fields are not a JSON object: {err}")))?;
        } else if rule.fields.contains(&file.field) {
            files.insert(
                file.field.clone(),
                (file.media_type.clone(), bytes.to_vec()),
            );
        } else {
            return Err(refuse(format!("field {} is not allowed", file.field)));
        }
    }
    if let Some(name) = fields.keys().find(|name| !rule.fields.contains(name)) {
        return Err(refuse(format!("field {name} is not allowed")));
    }
    if let Some(Value::String(country)) = fields.get("claimed_citizenship")
        && agreement
            .excluded_citizenships
            .iter()
            .any(|excluded| excluded.as_str() == country)
    {
        return Err(refuse(format!("citizenship {country} is excluded")));
    }
    let proof_bad = |reason: String| ShareError::Proof {
        reference: reference.clone(),
        reason,
    };
    let proof_bytes = parts
        .get(proof_part(entry.reference).as_str())
        .copied()
        .unwrap_or_default();
    let proof = TlogProof::from_bytes(proof_bytes).map_err(|err| proof_bad(err.to_string()))?;
    if proof.checkpoint != checkpoint {
        return Err(proof_bad("not relative to the bundle's checkpoint".into()));
    }
    if proof.index != entry.leaf_index {
        return Err(proof_bad(format!(
            "proves leaf {} but the manifest says {}",
            proof.index, entry.leaf_index
        )));
    }
    let (logged, _) = proof
        .verify_receipt(log_vkey, &[], &record_content(entry))
        .map_err(|err| proof_bad(err.to_string()))?;
    match logged.body {
        EntryBody::Audit { action, .. } if action.as_str() == SHARE_ACTION => {}
        _ => {
            return Err(proof_bad(format!(
                "the logged entry is not a {SHARE_ACTION} entry"
            )));
        }
    }
    Ok(ImportedRecord {
        entry: entry.clone(),
        fields,
        files,
    })
}
