//! End-to-end verification of a log written by `Log`, and tamper tests: flipping a byte in a tile, an entry bundle
//! or the checkpoint must fail verification with an error naming what was tampered.

use std::path::Path;

use ed25519_dalek::SigningKey;
use garita_ledger::{
    DirSource, Log, VerifyError, VerifyOptions, load_state, save_state, verify_log,
};

const ORIGIN: &str = "garita.test/verify";

fn key() -> SigningKey {
    SigningKey::from_bytes(&[5; 32])
}

fn entry(i: u64) -> Vec<u8> {
    format!("record number {i}").into_bytes()
}

/// A log of `n` entries, integrated, in `dir`.
fn build(dir: &Path, n: u64, tag: &str) -> Log {
    let log = Log::open(dir, key(), ORIGIN).unwrap();
    let entries: Vec<Vec<u8>> = (0..n)
        .map(|i| [entry(i), tag.as_bytes().to_vec()].concat())
        .collect();
    let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
    log.append_batch(&refs).unwrap();
    log.integrate().unwrap();
    log
}

fn flip(path: &Path, offset: usize) -> Vec<u8> {
    let original = std::fs::read(path).unwrap();
    let mut bytes = original.clone();
    bytes[offset] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
    original
}

fn opts(leaf: Option<u64>, full_audit: bool) -> VerifyOptions {
    VerifyOptions {
        leaf,
        full_audit,
        ..Default::default()
    }
}

#[test]
fn untampered_log_verifies_fully() {
    let dir = tempfile::tempdir().unwrap();
    let log = build(dir.path(), 600, "");
    let src = DirSource::new(dir.path());
    for leaf in [0, 255, 256, 599] {
        let o = VerifyOptions {
            leaf: Some(leaf),
            entry: Some(entry(leaf)),
            full_audit: leaf == 0,
            ..Default::default()
        };
        let report = verify_log(&src, &log.vkey(), None, &o).unwrap();
        assert_eq!(report.size, 600);
    }
    // The log itself serves the same bytes.
    let o = VerifyOptions {
        leaf: Some(42),
        full_audit: true,
        ..Default::default()
    };
    assert_eq!(verify_log(&log, &log.vkey(), None, &o).unwrap().size, 600);
    // A record without a leaf index is found by searching the bundles.
    let o = VerifyOptions {
        entry: Some(entry(300)),
        ..Default::default()
    };
    assert_eq!(
        verify_log(&src, &log.vkey(), None, &o).unwrap().leaf,
        Some(300)
    );
    let o = VerifyOptions {
        entry: Some(b"never logged".to_vec()),
        ..Default::default()
    };
    assert!(matches!(
        verify_log(&src, &log.vkey(), None, &o),
        Err(VerifyError::RecordNotFound { size: 600 })
    ));
    // The wrong record for a leaf is reported as such.
    let o = VerifyOptions {
        leaf: Some(7),
        entry: Some(entry(8)),
        ..Default::default()
    };
    assert!(matches!(
        verify_log(&src, &log.vkey(), None, &o),
        Err(VerifyError::RecordMismatch { index: 7 })
    ));
    assert!(matches!(
        verify_log(&src, &log.vkey(), None, &opts(Some(600), false)),
        Err(VerifyError::LeafOutOfRange { .. })
    ));
}

#[test]
fn tampered_tiles_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let log = build(dir.path(), 600, "");
    let src = DirSource::new(dir.path());
    let public = dir.path().join("log");
    // (tile, leaf whose inclusion check reads it): full tiles, a partial level-0 tile and a partial level-1 tile.
    for (tile, leaf) in [
        ("tile/0/000", 3),
        ("tile/0/001", 300),
        ("tile/0/002.p/88", 590),
        ("tile/1/000.p/2", 3),
    ] {
        let original = flip(&public.join(tile), 40);
        let err = verify_log(&src, &log.vkey(), None, &opts(Some(leaf), false))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(tile) && err.contains("tampered tile"),
            "{tile}: {err}"
        );
        let err = verify_log(&src, &log.vkey(), None, &opts(None, true))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(tile) && err.contains("tampered tile"),
            "{tile}: {err}"
        );
        std::fs::write(public.join(tile), original).unwrap();
    }
    verify_log(&src, &log.vkey(), None, &opts(None, true)).unwrap();
}

#[test]
fn tampered_entries_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let log = build(dir.path(), 600, "");
    let src = DirSource::new(dir.path());
    let bundle = dir.path().join("log/tile/entries/001");
    // Byte 10 is inside the first entry's text (after its 2-byte length).
    let original = flip(&bundle, 10);
    let err = verify_log(&src, &log.vkey(), None, &opts(Some(256), false)).unwrap_err();
    assert!(
        matches!(&err, VerifyError::EntryMismatch { index: 256, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("tile/entries/001"), "{err}");
    let err = verify_log(&src, &log.vkey(), None, &opts(None, true))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tile/entries/001") && err.contains("entry 256"),
        "{err}"
    );
    // A corrupted length prefix is reported against the bundle too.
    std::fs::write(&bundle, &original).unwrap();
    flip(&bundle, 0);
    let err = verify_log(&src, &log.vkey(), None, &opts(None, true))
        .unwrap_err()
        .to_string();
    assert!(err.contains("tile/entries/001"), "{err}");
    std::fs::write(&bundle, &original).unwrap();
    verify_log(&src, &log.vkey(), None, &opts(Some(256), true)).unwrap();
}

#[test]
fn tampered_checkpoint_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let log = build(dir.path(), 10, "");
    let src = DirSource::new(dir.path());
    let cp = dir.path().join("log/checkpoint");
    let text = std::fs::read(&cp).unwrap();
    let sig_start = text.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
    // Origin, size, root hash and signature bytes.
    for offset in [0, ORIGIN.len() + 1, ORIGIN.len() + 5, sig_start + 30] {
        let original = flip(&cp, offset);
        let err = verify_log(&src, &log.vkey(), None, &opts(None, false)).unwrap_err();
        assert!(
            matches!(err, VerifyError::Checkpoint(_)),
            "offset {offset}: {err}"
        );
        assert!(err.to_string().starts_with("checkpoint"), "{err}");
        std::fs::write(&cp, original).unwrap();
    }
    // A tampered line whose shape is wrong is named.
    let original = std::fs::read(&cp).unwrap();
    let text = String::from_utf8(original.clone())
        .unwrap()
        .replacen("\n10\n", "\n1O\n", 1);
    std::fs::write(&cp, text).unwrap();
    let err = verify_log(&src, &log.vkey(), None, &opts(None, false))
        .unwrap_err()
        .to_string();
    assert!(err.contains("checkpoint line 2 (tree size)"), "{err}");
    std::fs::write(&cp, original).unwrap();
    // The wrong key is a checkpoint failure too.
    let other = garita_ledger::vkey(ORIGIN, &SigningKey::from_bytes(&[6; 32]).verifying_key());
    assert!(matches!(
        verify_log(&src, &other, None, &opts(None, false)),
        Err(VerifyError::Checkpoint(_))
    ));
}

#[test]
fn consistency_with_saved_state_and_fork_detection() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("verifier.state");
    let data = dir.path().join("data");
    let log = build(&data, 300, "");
    let src = DirSource::new(&data);
    let first = verify_log(&src, &log.vkey(), None, &opts(None, false)).unwrap();
    save_state(&state, &first.checkpoint).unwrap();

    for i in 300..1000 {
        log.append(&entry(i)).unwrap();
    }
    log.integrate().unwrap();
    let prev = load_state(&state).unwrap().unwrap();
    let second = verify_log(&src, &log.vkey(), Some(&prev), &opts(Some(999), false)).unwrap();
    assert_eq!(second.consistent_with, Some(300));
    assert_eq!(second.size, 1000);

    // Rollback: a verifier that saw 1000 is shown a log of 300 with the same key.
    let small_dir = dir.path().join("small");
    let small = build(&small_dir, 300, "");
    let err = verify_log(
        &DirSource::new(&small_dir),
        &small.vkey(),
        Some(&second.checkpoint),
        &opts(None, false),
    );
    assert!(
        matches!(
            err,
            Err(VerifyError::Rollback {
                size: 300,
                previous: 1000
            })
        ),
        "{err:?}"
    );

    // Fork: same key, different history, bigger tree.
    let fork_dir = dir.path().join("fork");
    let fork = build(&fork_dir, 1200, "forked");
    let err = verify_log(
        &DirSource::new(&fork_dir),
        &fork.vkey(),
        Some(&second.checkpoint),
        &opts(None, false),
    );
    assert!(
        matches!(
            err,
            Err(VerifyError::Inconsistent {
                size: 1200,
                previous: 1000
            })
        ),
        "{err:?}"
    );
    // Same size, different root.
    let fork_dir2 = dir.path().join("fork2");
    let fork2 = build(&fork_dir2, 300, "forked");
    let err = verify_log(
        &DirSource::new(&fork_dir2),
        &fork2.vkey(),
        Some(&first.checkpoint),
        &opts(None, false),
    );
    assert!(
        matches!(
            err,
            Err(VerifyError::Inconsistent {
                size: 300,
                previous: 300
            })
        ),
        "{err:?}"
    );
}

#[test]
fn device_receipt_verifies_its_own_record_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), key(), ORIGIN).unwrap();
    let envelope = b"signed envelope bytes from device dev-1";
    let salt = garita_ledger::Commitment::random_salt();
    let entry = garita_ledger::LedgerEntry::capture(
        1_700_000_000,
        "dev-1",
        17,
        "encounter",
        garita_ledger::Commitment::of_content(salt, envelope),
    )
    .unwrap();
    log.append(b"some earlier record").unwrap();
    let index = log.append(&entry.to_bytes().unwrap()).unwrap();
    log.integrate().unwrap();
    let text = log.receipt(index, salt).unwrap().to_bytes();
    // What the device stores and checks offline.
    let receipt = garita_ledger::TlogProof::from_bytes(&text).unwrap();
    let (logged, _) = receipt.verify_receipt(&log.vkey(), &[], envelope).unwrap();
    assert_eq!(logged, entry);
    let err = receipt
        .verify_receipt(&log.vkey(), &[], b"another envelope")
        .unwrap_err();
    assert!(
        err.to_string().contains("not a commitment to this record"),
        "{err}"
    );
    // A receipt pointing at another leaf's proof fails inclusion.
    let mut wrong = receipt.clone();
    wrong.index = 0;
    assert!(wrong.verify_receipt(&log.vkey(), &[], envelope).is_err());
}
