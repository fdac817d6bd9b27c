//! Parsers of untrusted input never panic: random bytes and single-byte mutations of valid inputs go through
//! every entry point that reads data from a device, a log or a witness.

use ed25519_dalek::SigningKey;
use garita_ledger::{
    Commitment, EntryBody, LedgerEntry, Log, Resource, TlogProof, Witness, parse_add_checkpoint,
    tiles, verify_checkpoint,
};
use rand::{Rng, SeedableRng};

fn mutations(valid: &[u8], rng: &mut impl Rng, n: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut m = valid.to_vec();
        match rng.gen_range(0..3) {
            0 if !m.is_empty() => {
                let i = rng.gen_range(0..m.len());
                m[i] = rng.r#gen();
            }
            1 if !m.is_empty() => m.truncate(rng.gen_range(0..m.len())),
            _ => m.push(rng.r#gen()),
        }
        out.push(m);
    }
    for _ in 0..n / 4 {
        let len = rng.gen_range(0..200);
        out.push((0..len).map(|_| rng.r#gen()).collect());
    }
    out
}

#[test]
fn parsers_survive_mutated_and_random_input() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x9a71);
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(
        dir.path(),
        SigningKey::from_bytes(&[1; 32]),
        "garita.test/fuzz",
    )
    .unwrap();
    let entry = LedgerEntry {
        time: 7,
        body: EntryBody::Purge {
            rule: garita_ledger::Label::new("r1").unwrap(),
            deleted: vec![Commitment([3; 32]); 3],
        },
    }
    .to_bytes()
    .unwrap();
    log.append(&entry).unwrap();
    log.append(b"second").unwrap();
    log.integrate().unwrap();
    let proof = log.proof(0).unwrap().to_bytes();
    let checkpoint = log.checkpoint();
    let request = log.add_checkpoint_request(0).unwrap();
    let bundle = log.serve("tile/entries/000.p/2").unwrap().unwrap();
    let mut witness = Witness::new("w.test", SigningKey::from_bytes(&[2; 32]));
    witness.add_log(&log.vkey()).unwrap();

    for m in mutations(&entry, &mut rng, 3000) {
        let _ = LedgerEntry::from_bytes(&m);
    }
    for m in mutations(&proof, &mut rng, 1500) {
        if let Ok(p) = TlogProof::from_bytes(&m) {
            let _ = p.verify(&log.vkey(), &[], &entry);
        }
    }
    for m in mutations(&checkpoint, &mut rng, 1500) {
        let _ = verify_checkpoint(&m, &log.vkey(), &[]);
    }
    for m in mutations(&request, &mut rng, 1500) {
        let _ = parse_add_checkpoint(&m);
        let _ = witness.add_checkpoint(&m, 1);
    }
    for m in mutations(&bundle, &mut rng, 1500) {
        let _ = tiles::decode_bundle(&m);
    }
    for m in mutations(b"tile/entries/x001/234.p/7", &mut rng, 1500) {
        if let Ok(path) = std::str::from_utf8(&m) {
            let _ = Resource::from_path(path);
            let _ = log.serve(path);
        }
    }
    // The unmutated inputs still parse, so the loops above exercised real parsers.
    assert!(LedgerEntry::from_bytes(&entry).is_ok());
    assert!(
        TlogProof::from_bytes(&proof)
            .unwrap()
            .verify(&log.vkey(), &[], &entry)
            .is_ok()
    );
    assert!(parse_add_checkpoint(&request).is_ok());
}
