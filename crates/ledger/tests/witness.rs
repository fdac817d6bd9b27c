//! The log and a witness together: the log builds add-checkpoint requests, the witness cosigns, the log accepts
//! the cosignatures and serves them on its checkpoint, and clients verify them.

use ed25519_dalek::SigningKey;
use garita_ledger::{
    DirSource, Log, LogError, TlogProof, VerifyOptions, Witness, consistency_proof_from_tiles,
    encode_add_checkpoint, verify_checkpoint, verify_log,
};

const ORIGIN: &str = "garita.test/witnessed";

fn open(dir: &std::path::Path) -> Log {
    Log::open(dir, SigningKey::from_bytes(&[11; 32]), ORIGIN).unwrap()
}

/// Appends entries `e<i>` for `range` with one sync.
fn append_range(log: &Log, range: std::ops::Range<u32>) {
    let entries: Vec<Vec<u8>> = range.map(|i| format!("e{i}").into_bytes()).collect();
    log.append_batch(&entries.iter().map(Vec::as_slice).collect::<Vec<_>>())
        .unwrap();
}

#[test]
fn witnessed_checkpoint_is_served_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let mut witness = Witness::new(
        "witness.partner.example/w1",
        SigningKey::from_bytes(&[12; 32]),
    );
    witness.add_log(&log.vkey()).unwrap();
    witness
        .use_state_file(&dir.path().join("witness.state"))
        .unwrap();
    log.set_witnesses(&[witness.vkey()]).unwrap();

    append_range(&log, 0..40);
    log.integrate().unwrap();
    let cosig = witness
        .add_checkpoint(&log.add_checkpoint_request(0).unwrap(), 1_800_000_000)
        .unwrap();
    assert_eq!(log.add_cosignatures(&cosig).unwrap(), 1);
    let served = log.serve("checkpoint").unwrap().unwrap();
    let v = verify_checkpoint(&served, &log.vkey(), &[witness.vkey()]).unwrap();
    assert_eq!(v.cosigners, vec!["witness.partner.example/w1".to_owned()]);

    // Receipts carry the cosignature, and the verifier reports it.
    let proof = log.proof(7).unwrap();
    let parsed = TlogProof::from_bytes(&proof.to_bytes()).unwrap();
    let checked = parsed
        .verify(&log.vkey(), &[witness.vkey()], b"e7")
        .unwrap();
    assert_eq!(checked.cosigners.len(), 1);
    assert!(
        parsed
            .verify(&log.vkey(), &[witness.vkey()], b"e8")
            .is_err()
    );
    let opts = VerifyOptions {
        witnesses: vec![witness.vkey()],
        ..Default::default()
    };
    let report = verify_log(&DirSource::new(dir.path()), &log.vkey(), None, &opts).unwrap();
    assert_eq!(report.cosigners.len(), 1);

    // Cosignatures survive a restart of the log.
    drop(log);
    let log = open(dir.path());
    log.set_witnesses(&[witness.vkey()]).unwrap();
    let v = verify_checkpoint(&log.checkpoint(), &log.vkey(), &[witness.vkey()]).unwrap();
    assert_eq!(v.cosigners.len(), 1);

    // The log grows: the old cosignature no longer applies; a new consistency proof from 40 is cosigned.
    log.append(b"e40").unwrap();
    log.integrate().unwrap();
    assert!(matches!(
        log.add_cosignatures(&cosig),
        Err(LogError::Cosignature { .. })
    ));
    let verified = verify_checkpoint(&log.checkpoint(), &log.vkey(), &[]).unwrap();
    // The witness can build the same request from the tiles alone (what `garita witness` does).
    let from_tiles = consistency_proof_from_tiles(
        &DirSource::new(dir.path()),
        verified.checkpoint.size(),
        *verified.checkpoint.hash(),
        40,
    )
    .unwrap();
    let body = encode_add_checkpoint(40, &from_tiles, &log.checkpoint());
    assert_eq!(body, log.add_checkpoint_request(40).unwrap());
    let cosig2 = witness.add_checkpoint(&body, 1_800_000_100).unwrap();
    assert_eq!(log.add_cosignatures(&cosig2).unwrap(), 1);

    // A partner witness pulling from the tiles (`garita witness --log ...`) gets the same result.
    let mut puller = Witness::new("puller.example/w2", SigningKey::from_bytes(&[14; 32]));
    puller.add_log(&log.vkey()).unwrap();
    let src = DirSource::new(dir.path());
    puller.cosign_from_source(&src, &log.vkey(), 5).unwrap();
    append_range(&log, 41..600);
    log.integrate().unwrap();
    let lines = puller.cosign_from_source(&src, &log.vkey(), 6).unwrap();
    log.set_witnesses(&[witness.vkey(), puller.vkey()]).unwrap();
    assert_eq!(log.add_cosignatures(&lines).unwrap(), 1);
    assert_eq!(puller.latest_size(ORIGIN), Some(600));
    // A tampered tile stops the puller before it cosigns.
    append_range(&log, 600..700);
    log.integrate().unwrap();
    // Leaves 600..700 sit in the partial level-0 tile, which the proof from 600 needs.
    let tile = dir.path().join("log/tile/0/002.p/188");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&tile, bytes).unwrap();
    let err = puller.cosign_from_source(&src, &log.vkey(), 7).unwrap_err();
    assert_eq!(err.http_status(), 502, "{err}");
    assert_eq!(puller.latest_size(ORIGIN), Some(600));

    // An unknown witness is refused.
    let stranger = Witness::new("stranger.example", SigningKey::from_bytes(&[13; 32]));
    let mut stranger = stranger;
    stranger.add_log(&log.vkey()).unwrap();
    let bad = stranger
        .add_checkpoint(&log.add_checkpoint_request(0).unwrap(), 1)
        .unwrap();
    assert!(matches!(
        log.add_cosignatures(&bad),
        Err(LogError::Cosignature { .. })
    ));
}
