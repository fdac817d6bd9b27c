//! Retention: an expired capture is deleted with its rows and blobs, and the ledger proves both that it existed
//! and that it was purged, under which rule.

use crate::harness::{Server, consignment_payload, signed_capture};
use garita_ledger::{Commitment, EntryBody, LedgerEntry};
use garita_model::PayloadType;
use garita_server::retention::RetentionRule;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_consignment_is_purged_and_the_purge_is_logged() {
    // A clock the test can move forward.
    let skew_days = Arc::new(AtomicI64::new(0));
    let skew = skew_days.clone();
    let server = Server::start_configured(
        |config| {
            config.retention = vec![RetentionRule {
                id: "cargo-30d".into(),
                payload_types: vec![PayloadType::Consignment],
                keep: time::Duration::days(30),
            }]
        },
        |state| {
            state.with_clock(Arc::new(move || {
                time::OffsetDateTime::now_utc() + time::Duration::days(skew.load(Ordering::SeqCst))
            }))
        },
    )
    .await;
    let (store, ledger) = (&server.store, &server.state.ledger);

    let payload = serde_json::to_vec(&consignment_payload("retention")).unwrap();
    let scan = b"pretend scan bytes".to_vec();
    let body = signed_capture(
        &server.nii,
        server.nii.next_seq(),
        PayloadType::Consignment,
        &payload,
        &[&scan],
    );
    let envelope: garita_model::Envelope =
        serde_json::from_value(body["envelope"].clone()).unwrap();
    let receipt = server
        .call(Method::POST, "/api/v1/captures", None, Some(body))
        .await
        .body;
    let capture_id = receipt["capture_id"].as_str().unwrap().parse().unwrap();
    let stored = store.capture(capture_id).await.unwrap().expect("stored");
    let salt: [u8; 32] = hex::decode(&stored.salt).unwrap().try_into().unwrap();
    let commitment = Commitment::of_content(salt, &envelope.canonical_bytes());
    let scan_name = garita_model::sha256_hex(&scan);
    assert!(store.blobs().contains(&scan_name).await.unwrap());

    // Not yet expired: a purge deletes nothing.
    let report = server
        .call(
            Method::POST,
            "/api/v1/admin/purge",
            Some(&server.token("admin")),
            Some(json!({})),
        )
        .await;
    assert_eq!(report.body["rules"][0]["deleted"], 0, "{:?}", report.body);
    assert!(store.capture(capture_id).await.unwrap().is_some());

    // 31 days later the rule expires it (and the earlier tokens have expired too).
    skew_days.store(31, Ordering::SeqCst);
    let admin = server.login("admin", &server.users["admin"].password).await;
    let answer = server
        .call(
            Method::POST,
            "/api/v1/admin/purge",
            Some(&admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let report = answer.body;
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
        !store.blobs().contains(&scan_name).await.unwrap(),
        "the scan blob must be deleted"
    );

    // The log still holds the capture's entry and now a purge entry naming the same commitment under the rule.
    let capture_leaf = receipt["leaf_index"].as_u64().unwrap();
    let purge_leaf = report["rules"][0]["purge_leaves"][0].as_u64().unwrap();
    assert!(
        ledger
            .wait_published(purge_leaf + 1, std::time::Duration::from_secs(10))
            .await
            .unwrap()
    );
    let logged =
        LedgerEntry::from_bytes(&ledger.entry(capture_leaf).await.unwrap().unwrap()).unwrap();
    assert_eq!(logged.commitments(), vec![commitment]);
    let purge = LedgerEntry::from_bytes(&ledger.entry(purge_leaf).await.unwrap().unwrap()).unwrap();
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
    let denied = server
        .call(
            Method::POST,
            "/api/v1/admin/purge",
            Some(&server.token("officer")),
            Some(json!({})),
        )
        .await;
    assert_eq!(
        denied.status,
        StatusCode::UNAUTHORIZED,
        "the officer's token expired with the clock move"
    );
    let officer = server
        .login(
            &server.users["officer"].username,
            &server.users["officer"].password,
        )
        .await;
    let denied = server
        .call(
            Method::POST,
            "/api/v1/admin/purge",
            Some(&officer),
            Some(json!({})),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
}
