//! Two in-process cluster nodes sharing one ledger (PostgreSQL from GARITA_TEST_DATABASE + one object store):
//! a capture accepted at node A has a receipt, fetched from node B, that verifies against B's checkpoint.
//! The nodes share one SQLite store here; on a real cluster they share the PostgreSQL store as well.

use crate::harness::test_database;
use crate::harness::{Server, consignment_payload, signed_capture};
use garita_cluster::{ClusterConfig, ClusterLedger};
use garita_ledger::{TlogProof, verify_checkpoint};
use garita_model::PayloadType;
use garita_server::{AppState, Ledger};
use garita_store::testdb::TestDatabase;
use object_store::ObjectStore;
use reqwest::StatusCode;
use std::sync::Arc;
use std::time::Duration;

async fn cluster_node(
    db: &TestDatabase,
    objects: &Arc<dyn ObjectStore>,
    id: &str,
) -> Arc<ClusterLedger> {
    let key = ed25519_dalek::SigningKey::from_bytes(&[31; 32]);
    let mut config = ClusterConfig::new(garita_server::DEFAULT_LOG_ORIGIN, key);
    config.node_id = id.into();
    config.integrate_every = Duration::from_millis(50);
    config.leader_poll = Duration::from_millis(50);
    config.max_connections = 4;
    Arc::new(
        ClusterLedger::connect(db.url(), Arc::clone(objects), config)
            .await
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_at_node_a_has_a_receipt_that_verifies_at_node_b() {
    let Some(db) = test_database().await else {
        return;
    };
    let bucket = tempfile::tempdir().unwrap();
    let objects: Arc<dyn ObjectStore> =
        Arc::new(object_store::local::LocalFileSystem::new_with_prefix(bucket.path()).unwrap());
    let ledger_a = cluster_node(&db, &objects, "node-a").await;
    let ledger_b = cluster_node(&db, &objects, "node-b").await;

    // Node A: the harness's server (users, site, devices) with the shared ledger instead of its own log.
    let shared = Arc::clone(&ledger_a);
    let a = Server::start_with(move |state| {
        AppState::new_cluster(state.store.clone(), shared, (*state.config).clone()).unwrap()
    })
    .await;
    assert!(matches!(a.state.ledger, Ledger::Cluster(_)));
    // Node B: another state and router over the same store and ledger tables.
    let state_b =
        AppState::new_cluster(a.store.clone(), ledger_b, (*a.state.config).clone()).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let node_b = tokio::spawn(garita_server::serve(
        state_b.clone(),
        "127.0.0.1:0".parse().unwrap(),
        move |addr| {
            let _ = tx.send(addr);
        },
    ));
    let base_b = format!("http://{}", rx.await.unwrap());

    let payload = serde_json::to_vec(&consignment_payload("cluster")).unwrap();
    let seq = a.nii.next_seq();
    let body = signed_capture(&a.nii, seq, PayloadType::Consignment, &payload, &[b"scan"]);
    let envelope: garita_model::Envelope =
        serde_json::from_value(body["envelope"].clone()).unwrap();
    let receipt = a.submit(&body).await;
    assert_eq!(receipt.status, StatusCode::CREATED, "{receipt:?}");
    let capture_id = receipt.body["capture_id"].as_str().unwrap();
    let leaf = receipt.body["leaf_index"].as_u64().unwrap();

    // The receipt, asked of node B (425 until a checkpoint covers it), with the token node A issued.
    let mut proof = None;
    for _ in 0..100 {
        let answer = a
            .client
            .get(format!("{base_b}/api/v1/records/{capture_id}/proof"))
            .bearer_auth(a.token("auditor"))
            .send()
            .await
            .unwrap();
        let status = answer.status();
        let bytes = answer.bytes().await.unwrap();
        if status == StatusCode::OK {
            proof = Some(bytes);
            break;
        }
        assert_eq!(
            status,
            StatusCode::TOO_EARLY,
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let proof = TlogProof::from_bytes(&proof.expect("integrated within 5 s")).unwrap();
    assert_eq!(proof.index, leaf);

    // Node B's published checkpoint is the one the receipt is relative to (or a later one, consistent with it).
    let vkey = state_b.ledger.vkey();
    assert_eq!(vkey, a.state.ledger.vkey());
    let served = a
        .client
        .get(format!("{base_b}/log/checkpoint"))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
    let served = served.bytes().await.unwrap().to_vec();
    let at_b = verify_checkpoint(&served, &vkey, &[]).unwrap().checkpoint;
    assert!(at_b.size() > leaf);
    let (entry, at_receipt) = proof
        .verify_receipt(&vkey, &[], &envelope.canonical_bytes())
        .unwrap();
    assert!(matches!(entry.body, garita_ledger::EntryBody::Capture { seq: s, .. } if s == seq));
    if at_receipt.checkpoint.size() == at_b.size() {
        assert_eq!(at_receipt.checkpoint.hash(), at_b.hash());
    } else {
        let consistency = state_b
            .ledger
            .consistency_proof(at_receipt.checkpoint.size(), at_b.size())
            .await
            .unwrap();
        garita_ledger::merkle::verify_consistency(
            &consistency,
            at_receipt.checkpoint.size(),
            *at_receipt.checkpoint.hash(),
            at_b.size(),
            *at_b.hash(),
        )
        .unwrap();
    }
    // Tiles are served by either node from the object store, byte for byte the same.
    let tile = garita_ledger::tiles::edge_tiles(at_b.size())[0].path();
    for base in [&a.base, &base_b] {
        let got = a
            .client
            .get(format!("{base}/log/{tile}"))
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), StatusCode::OK, "{base}/log/{tile}");
    }
    // Exactly one of the two nodes says it sequences the ledger.
    let mut leaders = 0;
    for base in [&a.base, &base_b] {
        let health: serde_json::Value = a
            .client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(health["status"], "ok");
        leaders += usize::from(health["ledger_leader"] == true);
    }
    assert_eq!(leaders, 1);
    node_b.abort();
}
