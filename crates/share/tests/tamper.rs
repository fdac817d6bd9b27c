//! A real bundle (real ledger, real proofs) imports; every part of it altered, cut, replayed, misaddressed or
//! forged is refused with its precise error (issue #10, deliverable 5).

use garita_ledger::{Commitment, LedgerEntry, Log};
use garita_model::{CountryCode, Modality};
use garita_share::container::{self, HEADER_LEN, MAGIC, encode_parts};
use garita_share::{
    Agreement, BundleInfo, Direction, ExportRecord, KindRule, LastImport, Partner, PreparedRecord,
    RecordKind, SHARE_ACTION, ShareError, SharingKey, build_bundle, open, verify_bundle,
};
use hpke::{Deserializable, Serializable};
use serde_json::json;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

struct Fixture {
    sender: SharingKey,
    partner: SharingKey,
    log: Log,
    outgoing: Agreement,
    incoming: Agreement,
    _dir: tempfile::TempDir,
}

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(
        dir.path(),
        ed25519_dalek::SigningKey::from_bytes(&[5; 32]),
        "sender.example/ledger",
    )
    .unwrap();
    let sender = SharingKey::from_seed(&[1; 32]);
    let partner = SharingKey::from_seed(&[2; 32]);
    let id = Uuid::new_v4();
    let kinds = vec![
        KindRule {
            kind: RecordKind::Encounter,
            modalities: Vec::new(),
            fields: vec!["captured_at".into(), "claimed_citizenship".into()],
        },
        KindRule {
            kind: RecordKind::Sample,
            modalities: vec![Modality::Finger],
            fields: vec!["position".into(), "image".into()],
        },
    ];
    let outgoing = Agreement {
        id,
        direction: Direction::Outgoing,
        partner: Partner {
            name: "partner-agency".into(),
            sign_key: partner.sign_key_b64(),
            encrypt_key: partner.encrypt_key_b64(),
            log_vkey: None,
        },
        kinds: kinds.clone(),
        excluded_citizenships: Vec::new(),
        excluded_categories: Vec::new(),
        valid_from: now() - time::Duration::days(30),
        valid_until: now() + time::Duration::days(30),
        purpose: "tamper tests".into(),
    };
    let incoming = Agreement {
        direction: Direction::Incoming,
        partner: Partner {
            name: "sender-agency".into(),
            sign_key: sender.sign_key_b64(),
            encrypt_key: sender.encrypt_key_b64(),
            log_vkey: Some(log.vkey()),
        },
        ..outgoing.clone()
    };
    outgoing.validate().unwrap();
    incoming.validate().unwrap();
    Fixture {
        sender,
        partner,
        log,
        outgoing,
        incoming,
        _dir: dir,
    }
}

fn records() -> Vec<ExportRecord> {
    let encounter = Uuid::new_v4();
    vec![
        ExportRecord {
            kind: RecordKind::Encounter,
            source_id: encounter,
            parent: None,
            fields: BTreeMap::from([
                ("captured_at".into(), json!("2026-11-23T10:00:00Z")),
                ("claimed_citizenship".into(), json!("HND")),
            ]),
            files: BTreeMap::new(),
        },
        ExportRecord {
            kind: RecordKind::Sample,
            source_id: Uuid::new_v4(),
            parent: Some(encounter),
            fields: BTreeMap::from([("position".into(), json!(2))]),
            files: BTreeMap::from([(
                "image".into(),
                (
                    "application/x-an2".into(),
                    b"not really an AN2 file".to_vec(),
                ),
            )]),
        },
    ]
}

/// Logs each record as the server does and builds bundle `sequence` from tree size `previous_size`.
fn bundle(fx: &Fixture, sequence: u64, previous_size: u64) -> Vec<u8> {
    let exported = records();
    let mut refs = BTreeMap::new();
    let mut logged = Vec::new();
    for record in &exported {
        let reference = Uuid::new_v4();
        refs.insert(record.source_id, reference);
        let parent = record.parent.and_then(|p| refs.get(&p).copied());
        let prepared = PreparedRecord::new(record, reference, parent).unwrap();
        let salt = Commitment::random_salt();
        let entry = LedgerEntry::audit(
            1_800_000_000,
            SHARE_ACTION,
            Commitment::of_content(salt, &prepared.content()),
        )
        .unwrap();
        let index = fx.log.append(&entry.to_bytes().unwrap()).unwrap();
        logged.push((prepared, index, salt));
    }
    fx.log.integrate().unwrap();
    let with_proofs: Vec<_> = logged
        .into_iter()
        .map(|(prepared, index, salt)| (prepared, fx.log.receipt(index, salt).unwrap()))
        .collect();
    let checkpoint = with_proofs[0].1.checkpoint.clone();
    let size = fx.log.published_size();
    let consistency = if previous_size == 0 {
        Vec::new()
    } else {
        fx.log.consistency_proof(previous_size, size).unwrap()
    };
    let info = BundleInfo {
        bundle_id: Uuid::new_v4(),
        sequence,
        created_at: now(),
        previous_size,
        consistency,
        checkpoint,
    };
    build_bundle(&fx.sender, &fx.outgoing, &info, &with_proofs)
        .unwrap()
        .1
}

fn import(
    fx: &Fixture,
    bytes: &[u8],
    last: Option<&LastImport>,
) -> Result<garita_share::VerifiedBundle, ShareError> {
    let opened = open(&fx.partner, bytes)?;
    verify_bundle(&opened, &fx.incoming, last, now())
}

fn last_of(verified: &garita_share::VerifiedBundle) -> LastImport {
    LastImport {
        sequence: verified.manifest.sequence,
        size: verified.size,
        root: verified.root,
    }
}

#[test]
fn a_real_bundle_imports_and_the_next_one_is_consistent() {
    let fx = fixture();
    let first = import(&fx, &bundle(&fx, 1, 0), None).unwrap();
    assert_eq!(first.records.len(), 2);
    let sample = &first.records[1];
    assert_eq!(sample.entry.kind, RecordKind::Sample);
    assert_eq!(sample.entry.parent, Some(first.records[0].entry.reference));
    assert_eq!(sample.files["image"].1, b"not really an AN2 file");
    assert_eq!(first.records[0].fields["claimed_citizenship"], "HND");
    let second = import(&fx, &bundle(&fx, 2, first.size), Some(&last_of(&first))).unwrap();
    assert!(second.size > first.size);
}

fn flip(bytes: &[u8], at: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at] ^= 0x01;
    out
}

#[test]
fn every_outer_byte_region_altered_or_cut_is_refused() {
    let fx = fixture();
    let good = bundle(&fx, 1, 0);
    let len = good.len();
    let err = |bytes: &[u8]| import(&fx, bytes, None).unwrap_err();
    assert!(matches!(
        err(&flip(&good, 3)),
        ShareError::NotABundle { .. }
    ));
    for at in [8, 20, 39] {
        // The sender key is associated data of the AEAD (and, if it parses, under the signature).
        assert!(
            matches!(
                err(&flip(&good, at)),
                ShareError::Decrypt | ShareError::Signature
            ),
            "sender byte {at}"
        );
    }
    for at in [40, 71] {
        assert!(
            matches!(err(&flip(&good, at)), ShareError::Foreign { .. }),
            "recipient byte {at}"
        );
    }
    for at in [72, 90, 103, HEADER_LEN, len / 2, len - 17, len - 1] {
        assert!(
            matches!(err(&flip(&good, at)), ShareError::Decrypt),
            "byte {at}"
        );
    }
    for cut in [0, 7, 50, HEADER_LEN - 1] {
        assert!(
            matches!(err(&good[..cut]), ShareError::NotABundle { .. }),
            "cut at {cut}"
        );
    }
    for cut in [HEADER_LEN, HEADER_LEN + 10, len / 2, len - 1] {
        assert!(
            matches!(err(&good[..cut]), ShareError::Decrypt),
            "cut at {cut}"
        );
    }
    let mut longer = good.clone();
    longer.push(0);
    assert!(matches!(err(&longer), ShareError::Decrypt));
    assert!(import(&fx, &good, None).is_ok());
}

#[test]
fn a_bundle_for_someone_else_is_foreign() {
    let fx = fixture();
    let good = bundle(&fx, 1, 0);
    let stranger = SharingKey::from_seed(&[3; 32]);
    assert!(matches!(
        open(&stranger, &good),
        Err(ShareError::Foreign { .. })
    ));
    // Nor can the sender read what it sent.
    assert!(matches!(
        open(&fx.sender, &good),
        Err(ShareError::Foreign { .. })
    ));
}

/// What an attacker who knows the partner's public key can do: encrypt anything to it under the sender's header.
fn forge(fx: &Fixture, header_sender: &[u8; 32], inner: &[u8]) -> Vec<u8> {
    type Kem = hpke::kem::X25519HkdfSha256;
    let mut header = MAGIC.to_vec();
    header.extend_from_slice(header_sender);
    let recipient = garita_share::parse_encrypt_key(&fx.partner.encrypt_key_b64()).unwrap();
    header.extend_from_slice(&recipient);
    let public = <Kem as hpke::Kem>::PublicKey::from_bytes(&recipient).unwrap();
    let (encapped, ciphertext) =
        hpke::single_shot_seal::<hpke::aead::ChaCha20Poly1305, hpke::kdf::HkdfSha256, Kem, _>(
            &hpke::OpModeS::Base,
            &public,
            container::HPKE_INFO,
            inner,
            &header,
            &mut rand::rngs::OsRng,
        )
        .unwrap();
    let mut out = header;
    out.extend_from_slice(&encapped.to_bytes());
    out.extend_from_slice(&ciphertext);
    out
}

#[test]
fn a_forged_signature_or_an_unknown_signer_is_refused() {
    let fx = fixture();
    let good_parts = open(&fx.partner, &bundle(&fx, 1, 0)).unwrap().parts;
    let payload = encode_parts(&good_parts).unwrap();
    let mut inner = payload.clone();
    inner.extend_from_slice(&[7; 64]);
    let sender_key = *fx.sender.signing().verifying_key().as_bytes();
    assert!(matches!(
        import(&fx, &forge(&fx, &sender_key, &inner), None),
        Err(ShareError::Signature)
    ));
    // Well signed, but by a key that is not the agreement's partner.
    let intruder = SharingKey::from_seed(&[4; 32]);
    let recipient = garita_share::parse_encrypt_key(&fx.partner.encrypt_key_b64()).unwrap();
    let sealed = container::seal(&intruder, &recipient, &payload).unwrap();
    assert!(matches!(
        import(&fx, &sealed, None),
        Err(ShareError::UnknownSender { .. })
    ));
}

/// Re-seals altered parts with the sender's own key: what a buggy or dishonest sender could produce. The
/// importer's checks beyond the signature must catch each.
fn resealed(fx: &Fixture, parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let recipient = garita_share::parse_encrypt_key(&fx.partner.encrypt_key_b64()).unwrap();
    container::seal(&fx.sender, &recipient, &encode_parts(parts).unwrap()).unwrap()
}

#[test]
fn every_inner_part_altered_is_refused_with_its_name() {
    let fx = fixture();
    let parts = open(&fx.partner, &bundle(&fx, 1, 0)).unwrap().parts;
    let names: Vec<String> = parts.iter().map(|(name, _)| name.clone()).collect();
    let position = |prefix: &str, suffix: &str| {
        names
            .iter()
            .position(|n| n.starts_with(prefix) && n.ends_with(suffix))
            .unwrap()
    };
    let try_parts =
        |altered: Vec<(String, Vec<u8>)>| import(&fx, &resealed(&fx, &altered), None).unwrap_err();

    // A record file changed after the manifest was written.
    let image = position("records/", "/image");
    let mut altered = parts.clone();
    altered[image].1[0] ^= 1;
    match try_parts(altered) {
        ShareError::Part { name, reason } => {
            assert_eq!(name, names[image]);
            assert!(reason.contains("SHA-256"));
        }
        other => panic!("{other:?}"),
    }

    // The manifest and the file changed together: the ledger commitment no longer matches.
    let mut altered = parts.clone();
    altered[image].1[0] ^= 1;
    let new_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&altered[image].1));
    let old_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&parts[image].1));
    let manifest = String::from_utf8(altered[0].1.clone())
        .unwrap()
        .replace(&old_hash, &new_hash);
    altered[0].1 = manifest.into_bytes();
    assert!(
        matches!(try_parts(altered), ShareError::Proof { reason, .. } if reason.contains("commitment"))
    );

    // A proof hash changed.
    let proof = position("proofs/", "");
    let mut altered = parts.clone();
    let text = String::from_utf8(altered[proof].1.clone()).unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    let hash_line = lines.iter().position(|l| l.len() == 44).unwrap();
    let mut raw =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, lines[hash_line])
            .unwrap();
    raw[0] ^= 1;
    let mut new_lines: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    new_lines[hash_line] = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw);
    altered[proof].1 = new_lines.join("\n").into_bytes();
    assert!(matches!(try_parts(altered), ShareError::Proof { .. }));

    // The checkpoint changed (its size line).
    let checkpoint = position("checkpoint", "");
    let mut altered = parts.clone();
    let text = String::from_utf8(altered[checkpoint].1.clone()).unwrap();
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    lines[1] = (lines[1].parse::<u64>().unwrap() + 1).to_string();
    altered[checkpoint].1 = lines.join("\n").into_bytes();
    assert!(matches!(try_parts(altered), ShareError::Checkpoint { .. }));

    // A part missing, an extra part, the manifest missing.
    let mut altered = parts.clone();
    altered.remove(proof);
    assert!(matches!(
        try_parts(altered),
        ShareError::Part {
            reason: "missing",
            ..
        }
    ));
    let mut altered = parts.clone();
    altered.push(("records/extra".into(), b"x".to_vec()));
    assert!(matches!(try_parts(altered), ShareError::Part { name, .. } if name == "records/extra"));
    let mut altered = parts.clone();
    altered.remove(0);
    assert!(matches!(try_parts(altered), ShareError::Part { name, .. } if name == "manifest.json"));

    // A manifest that does not parse.
    let mut altered = parts.clone();
    altered[0].1.truncate(10);
    assert!(matches!(try_parts(altered), ShareError::Manifest { .. }));

    // Duplicate names and trailing bytes in the container.
    let mut payload = encode_parts(&parts).unwrap();
    payload.push(0);
    let recipient = garita_share::parse_encrypt_key(&fx.partner.encrypt_key_b64()).unwrap();
    let sealed = container::seal(&fx.sender, &recipient, &payload).unwrap();
    assert!(
        matches!(import(&fx, &sealed, None), Err(ShareError::Container { reason, .. }) if reason.contains("trailing"))
    );
    let mut altered = parts.clone();
    altered.push(parts[1].clone());
    assert!(
        matches!(try_parts(altered), ShareError::Container { reason, .. } if reason.contains("duplicate"))
    );

    // Unchanged parts, re-sealed, still import (the checks above failed for the reason given).
    assert!(import(&fx, &resealed(&fx, &parts), None).is_ok());
}

#[test]
fn a_field_our_copy_does_not_allow_is_refused() {
    let mut fx = fixture();
    let good = bundle(&fx, 1, 0);
    fx.incoming.kinds[0]
        .fields
        .retain(|f| f != "claimed_citizenship");
    assert!(
        matches!(import(&fx, &good, None), Err(ShareError::NotAllowed { reason, .. }) if reason.contains("claimed_citizenship"))
    );
    let mut fx = fixture();
    let good = bundle(&fx, 1, 0);
    fx.incoming
        .excluded_citizenships
        .push(CountryCode::new("HND").unwrap());
    assert!(
        matches!(import(&fx, &good, None), Err(ShareError::NotAllowed { reason, .. }) if reason.contains("HND"))
    );
}

#[test]
fn replays_gaps_and_forks_are_refused() {
    let fx = fixture();
    let first_bytes = bundle(&fx, 1, 0);
    let first = import(&fx, &first_bytes, None).unwrap();
    let last = last_of(&first);
    assert!(matches!(
        import(&fx, &first_bytes, Some(&last)),
        Err(ShareError::Replayed {
            sequence: 1,
            last: 1
        })
    ));
    let third = bundle(&fx, 3, first.size);
    assert!(matches!(
        import(&fx, &third, Some(&last)),
        Err(ShareError::Gap {
            sequence: 3,
            last: 1,
            ..
        })
    ));
    // The importer saw a different tree of the same size before: a fork.
    let second = bundle(&fx, 2, first.size);
    let forked = LastImport {
        root: [9; 32],
        ..last.clone()
    };
    assert!(
        matches!(import(&fx, &second, Some(&forked)), Err(ShareError::Checkpoint { reason }) if reason.contains("consistent"))
    );
    // The importer saw a larger tree than the sender proves from.
    let ahead = LastImport {
        size: last.size + 1,
        ..last.clone()
    };
    assert!(matches!(
        import(&fx, &second, Some(&ahead)),
        Err(ShareError::Checkpoint { .. })
    ));
    assert!(import(&fx, &second, Some(&last)).is_ok());
}
