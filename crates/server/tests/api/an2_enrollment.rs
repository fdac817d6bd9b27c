//! End to end: an ANSI/NIST-ITL enrollment through the signed capture API becomes an encounter whose samples are
//! stored as sent, whose export re-parses with every fingerprint decoding, and whose ledger receipt verifies.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use garita_model::{DeviceKey, Envelope, PayloadType};
use garita_server::{AppState, ServerConfig};
use serde_json::{Value, json};
use std::path::Path;

fn shared(name: &str) -> Option<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/ansi-nist")
        .join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            eprintln!("skipping: {} not found", path.display());
            None
        }
    }
}

struct Server {
    base: String,
    client: reqwest::Client,
    admin_token: String,
    ledger_vkey: String,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let store = garita_store::Store::open(dir.path()).await.unwrap();
        let config = ServerConfig {
            integrate_every: std::time::Duration::from_millis(50),
            ..ServerConfig::default()
        };
        let boot = garita_server::bootstrap(&store, &config, time::OffsetDateTime::now_utc())
            .await
            .unwrap();
        let state = AppState::new(store, config).unwrap();
        let ledger_vkey = state.ledger.vkey();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            garita_server::serve(state, "127.0.0.1:0".parse().unwrap(), |addr| {
                tx.send(addr).unwrap();
            })
            .await
            .unwrap();
        });
        let addr = rx.await.unwrap();
        let client = reqwest::Client::new();
        let base = format!("http://{addr}");
        let admin_token = login(&client, &base, "admin", &boot.admin_password.unwrap()).await;
        Server {
            base,
            client,
            admin_token,
            ledger_vkey,
            _dir: dir,
        }
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Vec<u8>) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.bytes().await.unwrap().to_vec(),
        )
    }
}

async fn login(client: &reqwest::Client, base: &str, username: &str, password: &str) -> String {
    let response: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an2_enrollment_exports_and_proves() {
    let Some(transaction) = shared("type-4-14-slaps.an2") else {
        return;
    };
    let server = Server::start().await;
    let (status, site) = server
        .post(
            "/api/v1/sites",
            &server.admin_token,
            json!({ "name": "Tapachula", "kind": "detention-facility" }),
        )
        .await;
    assert_eq!(status, 201, "{site}");
    let key = DeviceKey::generate();
    let (status, device) = server
        .post(
            "/api/v1/devices",
            &server.admin_token,
            json!({ "site": "Tapachula", "kind": "biometric-terminal", "public_key": key.public_key_b64() }),
        )
        .await;
    assert_eq!(status, 201, "{device}");
    let device_id = device["id"].as_str().unwrap().parse().unwrap();
    let (status, _) = server
        .post(
            "/api/v1/users",
            &server.admin_token,
            json!({ "username": "ofelia", "role": "officer", "password": "a long enough password" }),
        )
        .await;
    assert_eq!(status, 201);
    let officer = login(
        &server.client,
        &server.base,
        "ofelia",
        "a long enough password",
    )
    .await;

    let signed = Envelope::describe(
        device_id,
        1,
        time::OffsetDateTime::now_utc(),
        PayloadType::An2,
        &transaction,
        &[],
    )
    .sign(&key);
    let body = json!({ "envelope": signed.envelope, "signature": signed.signature, "payload": B64.encode(&transaction), "blobs": [] });
    let (status, receipt) = server.post("/api/v1/captures", "", body).await;
    assert_eq!(status, 201, "{receipt}");
    let encounter_id = receipt["encounter_id"].as_str().unwrap().to_owned();
    let leaf = receipt["leaf_index"].as_u64().unwrap();

    // Every finger image record became a sample whose stored bytes are the record's bytes.
    let original = garita_an2::Transaction::from_bytes(&transaction).unwrap();
    let fingers: Vec<_> = original
        .images()
        .into_iter()
        .filter(|v| v.modality == garita_an2::Modality::Finger)
        .collect();
    assert!(!fingers.is_empty());
    let (status, detail) = server
        .get(&format!("/api/v1/encounters/{encounter_id}"), &officer)
        .await;
    assert_eq!(status, 200);
    let detail: Value = serde_json::from_slice(&detail).unwrap();
    let samples = detail["samples"].as_array().unwrap();
    assert_eq!(samples.len(), fingers.len());
    for sample in samples {
        let (status, bytes) = server
            .get(
                &format!("/api/v1/samples/{}/content", sample["id"].as_str().unwrap()),
                &officer,
            )
            .await;
        assert_eq!(status, 200);
        assert!(
            fingers.iter().any(|view| view.data == bytes.as_slice()),
            "sample bytes are not an image of the transaction"
        );
    }

    // The export re-parses, carries every image record, and every WSQ fingerprint in it decodes to its declared size.
    let (status, exported) = server
        .get(&format!("/api/v1/encounters/{encounter_id}/an2"), &officer)
        .await;
    assert_eq!(status, 200);
    let exported =
        garita_an2::Transaction::from_bytes(&exported).expect("export must be a valid transaction");
    assert_eq!(exported.images().len(), original.images().len());
    let mut decoded = 0;
    for view in exported.images() {
        if view.compression == garita_an2::Compression::Wsq {
            let image = garita_wsq::decode(view.data).unwrap();
            assert_eq!((image.width(), image.height()), (view.width, view.height));
            decoded += 1;
        }
    }
    assert!(decoded > 0, "the slaps file carries WSQ images");

    // Admins run the system but see no personal data, and the export is audited.
    let (status, _) = server
        .get(
            &format!("/api/v1/encounters/{encounter_id}/an2"),
            &server.admin_token,
        )
        .await;
    assert_eq!(status, 403);

    // The receipt proves the logged entry commits to exactly this envelope.
    let capture_id = receipt["capture_id"].as_str().unwrap();
    let mut proof = None;
    for _ in 0..100 {
        let (status, bytes) = server
            .get(&format!("/api/v1/records/{capture_id}/proof"), &officer)
            .await;
        if status == 200 {
            proof = Some(bytes);
            break;
        }
        assert_eq!(status, 425, "{}", String::from_utf8_lossy(&bytes));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let proof =
        garita_ledger::TlogProof::from_bytes(&proof.expect("integrated within 5 s")).unwrap();
    assert_eq!(proof.index, leaf);
    let (entry, _) = proof
        .verify_receipt(&server.ledger_vkey, &[], &signed.envelope.canonical_bytes())
        .unwrap();
    assert!(matches!(
        entry.body,
        garita_ledger::EntryBody::Capture { seq: 1, .. }
    ));
    assert!(
        proof
            .verify_receipt(&server.ledger_vkey, &[], b"another record")
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an2_that_is_not_a_transaction_is_refused_and_writes_nothing() {
    let server = Server::start().await;
    let (_, _) = server
        .post(
            "/api/v1/sites",
            &server.admin_token,
            json!({ "name": "S", "kind": "land-crossing" }),
        )
        .await;
    let key = DeviceKey::generate();
    let (_, device) = server
        .post(
            "/api/v1/devices",
            &server.admin_token,
            json!({ "site": "S", "kind": "mobile-kit", "public_key": key.public_key_b64() }),
        )
        .await;
    let device_id = device["id"].as_str().unwrap().parse().unwrap();
    let payload = b"1.001:17\x1d1.002:0502\x1c".to_vec();
    let signed = Envelope::describe(
        device_id,
        1,
        time::OffsetDateTime::now_utc(),
        PayloadType::An2,
        &payload,
        &[],
    )
    .sign(&key);
    let body = json!({ "envelope": signed.envelope, "signature": signed.signature, "payload": B64.encode(&payload), "blobs": [] });
    let (status, error) = server.post("/api/v1/captures", "", body).await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["field"], "payload");
    let (status, checkpoint) = server.get("/log/checkpoint", "").await;
    assert_eq!(status, 200);
    // Nothing was logged: the log holds only the admin's audit events (login, site, device), no capture.
    let text = String::from_utf8(checkpoint).unwrap();
    let size: u64 = text.lines().nth(1).unwrap().parse().unwrap();
    assert!(size <= 3, "unexpected ledger entries: {text}");
}
