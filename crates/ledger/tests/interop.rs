//! Interop: garita's tiles, checkpoints and tlog-proofs verified by an independent implementation, Go's
//! golang.org/x/mod/sumdb/{note,tlog} (Debian: golang-go, golang-golang-x-mod-dev; scripts/ledger-interop.sh
//! installs them). Skipped with a message when they are absent.

use std::path::Path;
use std::process::Command;

use ed25519_dalek::SigningKey;
use garita_ledger::Log;

const GOPATH: &str = "/usr/share/gocode";

fn go_available() -> bool {
    let has_go = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    has_go
        && Path::new(GOPATH)
            .join("src/golang.org/x/mod/sumdb/tlog")
            .is_dir()
}

fn run_go(
    data: &Path,
    vkey: &str,
    old_cp: &Path,
    proof: &Path,
    entry: &Path,
) -> std::process::Output {
    let main_go = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/main.go");
    let cache = std::env::temp_dir().join("garita-ledger-interop-gocache");
    Command::new("go")
        .arg("run")
        .arg(main_go)
        .args([
            data.as_os_str(),
            vkey.as_ref(),
            old_cp.as_os_str(),
            proof.as_os_str(),
            entry.as_os_str(),
        ])
        .env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .env("GOCACHE", cache)
        .env_remove("GOFLAGS")
        .output()
        .unwrap()
}

#[test]
fn go_sumdb_tlog_verifies_garita_log() {
    if !go_available() {
        println!(
            "skipping: go or golang-golang-x-mod-dev not installed (run scripts/ledger-interop.sh)"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let log = Log::open(
        &data,
        SigningKey::from_bytes(&[21; 32]),
        "garita.test/interop",
    )
    .unwrap();
    let first: Vec<Vec<u8>> = (0..300u32)
        .map(|i| format!("interop entry {i}").into_bytes())
        .collect();
    log.append_batch(&first.iter().map(Vec::as_slice).collect::<Vec<_>>())
        .unwrap();
    log.integrate().unwrap();
    let old_cp = tmp.path().join("old.checkpoint");
    std::fs::write(&old_cp, log.checkpoint()).unwrap();
    let entries: Vec<Vec<u8>> = (300..70_000u32)
        .map(|i| format!("interop entry {i}").into_bytes())
        .collect();
    let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
    log.append_batch(&refs).unwrap();
    log.integrate().unwrap();
    let proof = tmp.path().join("leaf.tlog-proof");
    std::fs::write(&proof, log.proof(65_537).unwrap().to_bytes()).unwrap();
    let entry = tmp.path().join("leaf.entry");
    std::fs::write(&entry, b"interop entry 65537").unwrap();

    let out = run_go(&data, &log.vkey(), &old_cp, &proof, &entry);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "go verifier failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("interop ok: size 70000, consistent with 300"),
        "{stdout}"
    );

    // The Go side can fail: a flipped byte in a level-1 tile is caught.
    let tile = data.join("log/tile/1/000");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&tile, bytes).unwrap();
    let out = run_go(&data, &log.vkey(), &old_cp, &proof, &entry);
    assert!(!out.status.success(), "go accepted a tampered tile");
}
