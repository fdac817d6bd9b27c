#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Crash safety: `garita serve` is killed with SIGKILL while devices stream signed captures; after a restart on
//! the same data directory every capture acknowledged with 2xx before the kill must still be there (the identical
//! request answers 200 with the original receipt) and its ledger entry must be in the published log.
//!
//! Bounded: 3 rounds, at most a few dozen captures each, loopback only, well under 30 s.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use garita_model::{DeviceKey, Envelope, PayloadType};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_garita");
const ROUNDS: usize = 3;
const WORKERS: usize = 4;

/// A running `garita serve` child; killed (SIGKILL) when dropped.
struct Running {
    child: Child,
    base: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn garita(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("GARITA_DATA")
        .env_remove("GARITA_CONFIG")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "garita {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// Starts the server on a free loopback port and waits for its "listening on" line.
fn start(dir: &Path, data: &Path, round: usize) -> Running {
    let log = std::fs::File::create(dir.join(format!("server-{round}.log"))).unwrap();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(dir)
        .env_remove("GARITA_DATA")
        .env_remove("GARITA_LISTEN")
        .env_remove("GARITA_CONFIG")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Keep draining stdout so the server never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("garita listening on ") {
                let url = rest.split_whitespace().next().unwrap_or("").to_owned();
                let _ = tx.send(url);
            }
        }
    });
    let mut running = Running {
        child,
        base: String::new(),
    };
    let base = rx
        .recv_timeout(Duration::from_secs(15))
        .unwrap_or_else(|_| {
            panic!(
                "the server did not start: {}",
                std::fs::read_to_string(dir.join(format!("server-{round}.log")))
                    .unwrap_or_default()
            )
        });
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    running.base = base;
    running
}

fn capture(device: Uuid, key: &DeviceKey, seq: u64) -> Value {
    let payload = json!({
        "container_number": "MSKU6011672",
        "conveyance": format!("TRUCK-{seq:05}"),
        "declarant": "Crash Test Logistics",
        "lines": [{ "hs_code": "090111", "description": "green coffee", "declared_mass_kg": 18000.0 + seq as f64, "quantity": 300 }]
    })
    .to_string();
    let signed = Envelope::describe(
        device,
        seq,
        time::OffsetDateTime::now_utc(),
        PayloadType::Consignment,
        payload.as_bytes(),
        &[],
    )
    .sign(key);
    json!({
        "envelope": signed.envelope,
        "signature": signed.signature,
        "payload": B64.encode(payload.as_bytes()),
        "blobs": [],
    })
}

/// A capture and, if the server acknowledged it before the kill, its receipt.
struct Sent {
    body: Value,
    receipt: Option<Value>,
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Re-submits every capture sent so far: acknowledged ones must answer 200 with the same receipt; ones in flight
/// at the kill may have been committed (200) or not (201), but never conflict.
fn verify(server: &Running, sent: &[Sent]) -> u64 {
    let http = client();
    let mut max_leaf = 0;
    for item in sent {
        let response = http
            .post(format!("{}/api/v1/captures", server.base))
            .json(&item.body)
            .send()
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().unwrap();
        let seq = &item.body["envelope"]["seq"];
        match &item.receipt {
            Some(receipt) => {
                assert_eq!(status, 200, "acknowledged capture seq {seq} lost: {body}");
                assert_eq!(
                    &body, receipt,
                    "acknowledged capture seq {seq}: another receipt"
                );
            }
            None => assert!(
                status == 200 || status == 201,
                "capture seq {seq} in flight at the kill: {status} {body}"
            ),
        }
        assert_eq!(&body["seq"], seq);
        max_leaf = max_leaf.max(body["leaf_index"].as_u64().unwrap());
    }
    max_leaf
}

/// Waits (bounded) until the published checkpoint covers `leaf`.
fn wait_published(server: &Running, leaf: u64) {
    let http = client();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = http
            .get(format!("{}/log/checkpoint", server.base))
            .send()
            .unwrap()
            .text()
            .unwrap();
        let size: u64 = text.lines().nth(1).unwrap().parse().unwrap();
        if size > leaf {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "checkpoint size {size} never covered acknowledged leaf {leaf}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn acknowledged_captures_survive_sigkill() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    let key = Arc::new(DeviceKey::generate());
    garita(
        dir.path(),
        &[
            "admin",
            "add-site",
            "--data",
            data_arg,
            "--name",
            "Nuevo Laredo",
            "--kind",
            "land-crossing",
        ],
    );
    let device: Uuid = garita(
        dir.path(),
        &[
            "admin",
            "add-device",
            "--data",
            data_arg,
            "--site",
            "Nuevo Laredo",
            "--kind",
            "nii-scanner",
            "--public-key",
            key.public_key_b64().as_str(),
        ],
    )
    .parse()
    .unwrap();

    let next_seq = Arc::new(AtomicU64::new(1));
    let mut sent: Vec<Sent> = Vec::new();
    for round in 0..ROUNDS {
        let server = start(dir.path(), &data, round);
        if !sent.is_empty() {
            let max_leaf = verify(&server, &sent);
            wait_published(&server, max_leaf);
            // Re-submitted in-flight captures are now acknowledged too.
            for item in &mut sent {
                if item.receipt.is_none() {
                    let body: Value = client()
                        .post(format!("{}/api/v1/captures", server.base))
                        .json(&item.body)
                        .send()
                        .unwrap()
                        .json()
                        .unwrap();
                    item.receipt = Some(body);
                }
            }
        }

        // Kill after a random number of acknowledgements, between 3 and 25.
        let target = 3 + (Uuid::new_v4().as_u128() % 23) as usize;
        eprintln!("round {round}: killing after {target} acknowledgements");
        let acked = Arc::new(Mutex::new(Vec::<Sent>::new()));
        let in_flight = Arc::new(Mutex::new(Vec::<Sent>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let (acked, in_flight, stop, next_seq, key) = (
                    Arc::clone(&acked),
                    Arc::clone(&in_flight),
                    Arc::clone(&stop),
                    Arc::clone(&next_seq),
                    Arc::clone(&key),
                );
                let url = format!("{}/api/v1/captures", server.base);
                std::thread::spawn(move || {
                    let http = client();
                    for _ in 0..200 {
                        if stop.load(Ordering::SeqCst) {
                            return;
                        }
                        let seq = next_seq.fetch_add(1, Ordering::SeqCst);
                        let body = capture(device, &key, seq);
                        let answer = http.post(&url).json(&body).send().and_then(|response| {
                            let status = response.status().as_u16();
                            response.json::<Value>().map(|json| (status, json))
                        });
                        match answer {
                            Ok((201, receipt)) => acked.lock().unwrap().push(Sent {
                                body,
                                receipt: Some(receipt),
                            }),
                            Ok((status, json)) => panic!("seq {seq}: {status} {json}"),
                            Err(_) => {
                                // The server died under this request: it may or may not have committed it.
                                in_flight.lock().unwrap().push(Sent {
                                    body,
                                    receipt: None,
                                });
                                return;
                            }
                        }
                    }
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(8);
        while acked.lock().unwrap().len() < target {
            assert!(
                Instant::now() < deadline,
                "too slow: {} acknowledged",
                acked.lock().unwrap().len()
            );
            assert!(
                !workers.iter().all(std::thread::JoinHandle::is_finished),
                "all workers stopped"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        drop(server); // SIGKILL, with requests in flight
        stop.store(true, Ordering::SeqCst);
        for worker in workers {
            worker.join().unwrap();
        }
        let acked = std::mem::take(&mut *acked.lock().unwrap());
        let in_flight = std::mem::take(&mut *in_flight.lock().unwrap());
        eprintln!(
            "round {round}: {} acknowledged, {} in flight at the kill",
            acked.len(),
            in_flight.len()
        );
        assert!(acked.len() >= target);
        sent.extend(acked);
        sent.extend(in_flight);
    }

    // Last restart: everything acknowledged in any round is there, and in the published log.
    let server = start(dir.path(), &data, ROUNDS);
    let max_leaf = verify(&server, &sent);
    wait_published(&server, max_leaf);
    drop(server);

    // And the rows are in the database itself.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = garita_store::Store::open(&data).await.unwrap();
        for item in &sent {
            let seq = item.body["envelope"]["seq"].as_u64().unwrap();
            let stored = store.capture_by_device_seq(device, seq).await.unwrap();
            let stored = stored.unwrap_or_else(|| panic!("seq {seq} not in the store"));
            if let Some(receipt) = &item.receipt {
                assert_eq!(receipt["capture_id"], stored.receipt.capture_id.to_string());
            }
        }
        store.close().await;
    });
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the crash test took {:?}",
        started.elapsed()
    );
}

/// The ledger's promise from the outside: a capture acknowledged over HTTP is proved included by `garita verify`
/// run from another directory with nothing but the log's verifier key; the state file then catches nothing wrong
/// on a second run; a flipped byte in a published tile is found and named.
#[test]
fn garita_verify_proves_a_capture_from_another_directory_and_names_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    let key = DeviceKey::generate();
    garita(
        dir.path(),
        &[
            "admin", "add-site", "--data", data_arg, "--name", "Altamira", "--kind", "port",
        ],
    );
    let device: Uuid = garita(
        dir.path(),
        &[
            "admin",
            "add-device",
            "--data",
            data_arg,
            "--site",
            "Altamira",
            "--kind",
            "nii-scanner",
            "--public-key",
            &key.public_key_b64(),
        ],
    )
    .parse()
    .unwrap();
    let server = start(dir.path(), &data, 0);
    let vkey = garita(dir.path(), &["ledger", "key", "--data", data_arg]);
    let receipt: Value = client()
        .post(format!("{}/api/v1/captures", server.base))
        .json(&capture(device, &key, 1))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let leaf = receipt["leaf_index"].as_u64().unwrap();
    wait_published(&server, leaf);

    let elsewhere = tempfile::tempdir().unwrap();
    let leaf_arg = leaf.to_string();
    let verify = [
        "verify",
        "--log",
        server.base.as_str(),
        "--key",
        vkey.as_str(),
        "--leaf",
        leaf_arg.as_str(),
    ];
    let out = garita(elsewhere.path(), &verify);
    assert!(out.contains(&format!("leaf {leaf} is included")), "{out}");
    assert!(elsewhere.path().join("garita-verify.state").exists());
    // Second run: consistent with the checkpoint it saw before.
    let again = garita(elsewhere.path(), &verify);
    assert!(again.contains("consistent with the checkpoint"), "{again}");
    drop(server);

    // Flip one byte of the published entry bundle: verification from the data directory fails and names it.
    let bundles = data.join("ledger/log/tile/entries");
    let bundle = std::fs::read_dir(&bundles)
        .unwrap()
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .find(|path| path.is_file() || path.is_dir())
        .unwrap();
    let file = if bundle.is_dir() {
        std::fs::read_dir(&bundle)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.is_file())
            .unwrap()
    } else {
        bundle
    };
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();
    let output = Command::new(BIN)
        .args([
            "verify",
            "--log",
            data_arg,
            "--key",
            vkey.as_str(),
            "--full",
            "--state",
            "fresh.state",
        ])
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    assert!(!output.status.success(), "a tampered log must not verify");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("tile/entries"),
        "the error must name the tampered bundle: {stderr}"
    );
}
