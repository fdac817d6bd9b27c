//! Retention: an expired capture is deleted with its rows and blobs, and the ledger proves both that it existed
//! and that it was purged, under which rule.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use garita_ledger::{Commitment, EntryBody, LedgerEntry};
use garita_model::{DeviceKey, Envelope, PayloadType};
use garita_server::retention::RetentionRule;
use garita_server::{AppState, ServerConfig};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_consignment_is_purged_and_the_purge_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let store = garita_store::Store::open(dir.path()).await.unwrap();
    let config = ServerConfig {
        retention: vec![RetentionRule {
            id: "cargo-30d".into(),
            payload_types: vec![PayloadType::Consignment],
            keep: time::Duration::days(30),
        }],
        integrate_every: std::time::Duration::from_millis(50),
        ..ServerConfig::default()
    };
    let boot = garita_server::bootstrap(&store, &config, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    // A clock the test can move forward.
    let skew_days = Arc::new(AtomicI64::new(0));
    let skew = skew_days.clone();
    let state = AppState::new(store.clone(), config)
        .unwrap()
        .with_clock(Arc::new(move || {
            time::OffsetDateTime::now_utc() + time::Duration::days(skew.load(Ordering::SeqCst))
        }));
    let ledger = state.ledger.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        garita_server::serve(state, "127.0.0.1:0".parse().unwrap(), |addr| {
            tx.send(addr).unwrap()
        })
        .await
        .unwrap();
    });
    let base = format!("http://{}", rx.await.unwrap());
    let client = reqwest::Client::new();
    let password = boot.admin_password.unwrap();
    let login = || async {
        let body: Value = client
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "username": "admin", "password": password }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["token"].as_str().unwrap().to_owned()
    };
    let token = login().await;
    let post = |path: &str, token: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    post(
        "/api/v1/sites",
        &token,
        json!({ "name": "Manzanillo", "kind": "port" }),
    )
    .await
    .unwrap();
    let key = DeviceKey::generate();
    let device: Value = post(
        "/api/v1/devices",
        &token,
        json!({ "site": "Manzanillo", "kind": "nii-scanner", "public_key": key.public_key_b64() }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let device_id = device["id"].as_str().unwrap().parse().unwrap();

    let payload = serde_json::to_vec(&json!({
        "container_number": "CSQU3054383", "conveyance": "MSC ANNA", "declarant": "Acme",
        "lines": [{ "hs_code": "843049", "description": "iron ore extractor", "declared_mass_kg": 12000.0, "quantity": 1 }]
    }))
    .unwrap();
    let scan = b"pretend scan bytes".to_vec();
    let signed = Envelope::describe(
        device_id,
        1,
        time::OffsetDateTime::now_utc(),
        PayloadType::Consignment,
        &payload,
        &[&scan],
    )
    .sign(&key);
    let receipt: Value = post(
        "/api/v1/captures",
        "",
        json!({ "envelope": signed.envelope, "signature": signed.signature, "payload": B64.encode(&payload), "blobs": [B64.encode(&scan)] }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let capture_id = receipt["capture_id"].as_str().unwrap().parse().unwrap();
    let stored = store.capture(capture_id).await.unwrap().expect("stored");
    let salt: [u8; 32] = hex::decode(&stored.salt).unwrap().try_into().unwrap();
    let commitment = Commitment::of_content(salt, &signed.envelope.canonical_bytes());
    let scan_name = garita_model::sha256_hex(&scan);
    assert!(store.blobs().contains(&scan_name));

    // Not yet expired: a purge deletes nothing.
    let report: Value = post("/api/v1/admin/purge", &token, json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["rules"][0]["deleted"], 0, "{report}");
    assert!(store.capture(capture_id).await.unwrap().is_some());

    // 31 days later the rule expires it.
    skew_days.store(31, Ordering::SeqCst);
    let token = login().await;
    let response = post("/api/v1/admin/purge", &token, json!({}))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["rules"][0]["rule"], "cargo-30d");
    assert_eq!(report["rules"][0]["deleted"], 1, "{report}");
    assert!(store.capture(capture_id).await.unwrap().is_none());
    assert!(
        store
            .consignment(receipt["consignment_id"].as_str().unwrap().parse().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !store.blobs().contains(&scan_name),
        "the scan blob must be deleted"
    );

    // The log still holds the capture's entry and now a purge entry naming the same commitment under the rule.
    let capture_leaf = receipt["leaf_index"].as_u64().unwrap();
    let purge_leaf = report["rules"][0]["purge_leaves"][0].as_u64().unwrap();
    assert!(ledger.wait_published(purge_leaf + 1, std::time::Duration::from_secs(10)));
    let logged = LedgerEntry::from_bytes(&ledger.entry(capture_leaf).unwrap().unwrap()).unwrap();
    assert_eq!(logged.commitments(), vec![commitment]);
    let purge = LedgerEntry::from_bytes(&ledger.entry(purge_leaf).unwrap().unwrap()).unwrap();
    match purge.body {
        EntryBody::Purge { rule, deleted } => {
            assert_eq!(rule.as_str(), "cargo-30d");
            assert_eq!(deleted, vec![commitment]);
        }
        other => panic!("expected a purge entry, got {other:?}"),
    }
    assert!(
        purge.time > logged.time + 30 * 86_400,
        "the purge is logged at the rule's time"
    );

    // Only admins run purges.
    let officer_denied = post("/api/v1/admin/purge", "not-a-token", json!({}))
        .await
        .unwrap();
    assert_eq!(officer_denied.status(), 401);
}
