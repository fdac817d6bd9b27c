//! The field terminal agent (garita-terminal) against a real server: it fetches the signed watchlist snapshot
//! (audited, deltas by version), matches an enrollment offline against it, and after sync the server's own search
//! is authoritative: two offline enrollments of one unlisted person become a prior-crossing alert between two
//! subjects, never a silent merge. Real FVC2000 impressions as WSQ.

use crate::enrollment_alerts::{enroll, fvc_as_wsq, subject_of};
use crate::harness::Server;
use garita_model::{DeviceKey, PayloadType};
use garita_terminal::{Agent, AgentConfig, Outbox, match_images};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

fn finger_payload() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "subject": { "claimed_citizenship": "SLV" },
        "samples": [{ "modality": "finger", "position": 2, "format": "wsq", "blob": 0 }]
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_watchlist_hit_and_duplicates_found_after_sync() {
    let (Some(a1), Some(a2), Some(b1), Some(b2), Some(c1)) = (
        fvc_as_wsq("101_1.tif"),
        fvc_as_wsq("101_3.tif"),
        fvc_as_wsq("103_1.tif"),
        fvc_as_wsq("103_4.tif"),
        fvc_as_wsq("102_1.tif"),
    ) else {
        return;
    };
    let server = Server::start_full(4 * 1024 * 1024, |state| state).await;
    // A is enrolled centrally and listed.
    let first = enroll(&server, &a1).await;
    let subject_a = subject_of(&server, &first).await;
    let listed = server
        .call(
            Method::POST,
            "/api/v1/watchlist",
            Some(&server.token("supervisor")),
            Some(json!({ "subject_id": subject_a, "category": "smuggler", "source_agency": "INM", "reason": "convoy" })),
        )
        .await;
    assert_eq!(listed.status, StatusCode::CREATED, "{listed:?}");

    // A kit, provisioned with the log key, takes the snapshot while at base.
    let key = DeviceKey::generate();
    let kit = server
        .register_device("mobile-kit", &key.public_key_b64())
        .await;
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path(), kit, b"kit passphrase")
        .await
        .unwrap();
    let mut config = AgentConfig::new(&server.base, &server.state.ledger.vkey());
    config.exit_when_drained = true;
    config.min_backoff = Duration::from_millis(20);
    config.idle_poll = Duration::from_millis(50);
    let agent_key = DeviceKey::from_file_text(&key.to_file_text()).unwrap();
    let agent = Agent::new(outbox.clone(), agent_key, config.clone()).unwrap();
    assert_eq!(agent.sync_watchlist().await, Ok(1));
    let entries = outbox.watchlist_entries().await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].subject_id.to_string(), subject_a);
    assert!(!entries[0].templates.is_empty());
    // Up to date: the delta is empty and the version stays.
    assert_eq!(agent.sync_watchlist().await, Ok(1));
    assert_eq!(outbox.watchlist_entries().await.unwrap().len(), 1);
    let audited = server.audit_rows(Some(kit)).await;
    assert!(
        audited
            .iter()
            .filter(|row| row["action"] == "watchlist.snapshot" && row["outcome"] == "ok")
            .count()
            >= 2,
        "{audited:?}"
    );
    // A snapshot signed by another key is refused; the NII scanner gets none.
    let other = AgentConfig::new(&server.base, "garita.local/ledger+00000000+AQ==");
    let stranger = Agent::new(
        outbox.clone(),
        DeviceKey::from_file_text(&key.to_file_text()).unwrap(),
        other,
    )
    .unwrap();
    assert!(stranger.sync_watchlist().await.is_err());
    let scanner = server
        .device_call(
            &server.nii,
            Method::GET,
            "/api/v1/device/watchlist",
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(scanner.code(), "device-not-allowed", "{scanner:?}");

    // Offline: A's other impression hits the local snapshot; someone else does not.
    let hits = match_images(&entries, std::slice::from_ref(&a2));
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].subject_id.to_string(), subject_a);
    assert_eq!(hits[0].category, garita_model::WatchlistCategory::Smuggler);
    assert!(match_images(&entries, std::slice::from_ref(&c1)).is_empty());

    // Three offline enrollments: A again, and an unlisted person B twice.
    let now = time::OffsetDateTime::now_utc();
    for image in [&a2, &b1, &b2] {
        outbox
            .enqueue(
                &key,
                PayloadType::Encounter,
                finger_payload(),
                vec![image.clone()],
                now,
            )
            .await
            .unwrap();
    }
    let report = agent.run().await.unwrap();
    assert_eq!(report.delivered, 3, "{report:?}");
    assert_eq!(report.proofs_verified, 3, "{report:?}");

    // The server searched each on arrival: A's encounter alerts as listed; B's second enrollment is a
    // prior-crossing alert against B's first, a separate subject.
    let encounter_of = |seq: u64| {
        let store = server.store.clone();
        async move {
            store
                .capture_by_device_seq(kit, seq)
                .await
                .unwrap()
                .unwrap()
                .receipt
                .encounter_id
                .unwrap()
        }
    };
    let alerts_a = server
        .store
        .alerts_of_encounter(encounter_of(1).await)
        .await
        .unwrap();
    assert!(
        alerts_a
            .iter()
            .any(|a| a.candidate_subject_id.to_string() == subject_a
                && a.category == garita_model::WatchlistCategory::Smuggler),
        "{alerts_a:?}"
    );
    let b_first = server
        .store
        .encounter(encounter_of(2).await)
        .await
        .unwrap()
        .unwrap();
    let b_second = server
        .store
        .encounter(encounter_of(3).await)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        b_first.subject_id, b_second.subject_id,
        "never a silent merge"
    );
    let alerts_b = server.store.alerts_of_encounter(b_second.id).await.unwrap();
    assert!(
        alerts_b
            .iter()
            .any(|a| a.candidate_subject_id == b_first.subject_id
                && a.category == garita_model::WatchlistCategory::PriorCrossing),
        "{alerts_b:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_capture_is_kept_as_failed_with_the_reason_and_the_rest_flows() {
    let server = Server::start().await;
    let key = DeviceKey::generate();
    let kit = server
        .register_device("mobile-kit", &key.public_key_b64())
        .await;
    // Sequence number 1 of this kit was already used, for other content (e.g. a restored kit).
    let elsewhere = crate::harness::TestDevice::with_key(
        kit,
        DeviceKey::from_file_text(&key.to_file_text()).unwrap(),
    );
    let earlier = crate::harness::signed_capture(
        &elsewhere,
        1,
        PayloadType::Encounter,
        crate::harness::encounter_payload("Earlier")
            .to_string()
            .as_bytes(),
        &[b"earlier image".as_slice()],
    );
    assert_eq!(server.submit(&earlier).await.status, StatusCode::CREATED);

    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path(), kit, b"kit passphrase")
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc();
    for name in ["Conflicting", "Next"] {
        let payload = crate::harness::encounter_payload(name)
            .to_string()
            .into_bytes();
        outbox
            .enqueue(
                &key,
                PayloadType::Encounter,
                payload,
                vec![b"face".to_vec()],
                now,
            )
            .await
            .unwrap();
    }
    let mut config = AgentConfig::new(&server.base, &server.state.ledger.vkey());
    config.exit_when_drained = true;
    config.idle_poll = Duration::from_millis(50);
    let report = Agent::new(outbox.clone(), key, config)
        .unwrap()
        .run()
        .await
        .unwrap();
    assert_eq!((report.failed, report.delivered), (1, 1), "{report:?}");
    let lines = outbox.list().await.unwrap();
    assert_eq!(lines[0].state, "failed");
    assert!(
        lines[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("sequence-conflict"),
        "{lines:?}"
    );
    assert_eq!(lines[1].state, "delivered");
    assert!(lines[1].proof_verified);
    let summary = outbox.summary().await.unwrap();
    assert_eq!(
        (summary.failed, summary.delivered, summary.queued),
        (1, 1, 0)
    );
}
