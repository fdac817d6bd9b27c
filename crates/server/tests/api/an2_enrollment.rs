//! End to end: an ANSI/NIST-ITL enrollment through the signed capture API becomes an encounter whose samples are
//! stored as sent, whose export re-parses with every fingerprint decoding, and whose ledger receipt verifies.

use crate::harness::{Server, signed_capture};
use garita_model::PayloadType;
use reqwest::{Method, StatusCode};
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

/// A GET whose body may be binary.
async fn get_bytes(server: &Server, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
    let response = server
        .client
        .get(format!("{}{path}", server.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status(), response.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an2_enrollment_exports_and_proves() {
    let Some(transaction) = shared("type-4-14-slaps.an2") else {
        return;
    };
    let server = Server::start_full(8 * 1024 * 1024, |state| state).await;
    let officer = server.token("officer");
    let seq = server.bio.next_seq();
    let body = signed_capture(&server.bio, seq, PayloadType::An2, &transaction, &[]);
    let envelope: garita_model::Envelope =
        serde_json::from_value(body["envelope"].clone()).unwrap();
    let answer = server
        .call(Method::POST, "/api/v1/captures", None, Some(body))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    let receipt = answer.body;
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
    let detail = server
        .call(
            Method::GET,
            &format!("/api/v1/encounters/{encounter_id}"),
            Some(&officer),
            None,
        )
        .await;
    let samples = detail.body["samples"].as_array().unwrap().clone();
    assert_eq!(samples.len(), fingers.len());
    for sample in &samples {
        let path = format!("/api/v1/samples/{}/content", sample["id"].as_str().unwrap());
        let (status, bytes) = get_bytes(&server, &path, &officer).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            fingers.iter().any(|view| view.data == bytes.as_slice()),
            "sample bytes are not an image of the transaction"
        );
    }

    // The export re-parses, carries every image record, and every WSQ fingerprint in it decodes to its declared size.
    let (status, exported) = get_bytes(
        &server,
        &format!("/api/v1/encounters/{encounter_id}/an2"),
        &officer,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
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

    // Admins run the system but see no personal data.
    let (status, _) = get_bytes(
        &server,
        &format!("/api/v1/encounters/{encounter_id}/an2"),
        &server.token("admin"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The receipt proves the logged entry commits to exactly this envelope.
    let capture_id = receipt["capture_id"].as_str().unwrap();
    let mut proof = None;
    for _ in 0..100 {
        let (status, bytes) = get_bytes(
            &server,
            &format!("/api/v1/records/{capture_id}/proof"),
            &officer,
        )
        .await;
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
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let proof =
        garita_ledger::TlogProof::from_bytes(&proof.expect("integrated within 5 s")).unwrap();
    assert_eq!(proof.index, leaf);
    let vkey = server.state.ledger.vkey();
    let (entry, _) = proof
        .verify_receipt(&vkey, &[], &envelope.canonical_bytes())
        .unwrap();
    assert!(matches!(entry.body, garita_ledger::EntryBody::Capture { seq: s, .. } if s == seq));
    assert!(proof.verify_receipt(&vkey, &[], b"another record").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encounter_not_enrolled_as_an2_is_not_exported_as_one() {
    let server = Server::start().await;
    let payload = serde_json::to_vec(&crate::harness::encounter_payload("Ana")).unwrap();
    let body = signed_capture(
        &server.bio,
        server.bio.next_seq(),
        PayloadType::Encounter,
        &payload,
        &[b"jpeg bytes"],
    );
    let receipt = server
        .call(Method::POST, "/api/v1/captures", None, Some(body))
        .await
        .body;
    let path = format!(
        "/api/v1/encounters/{}/an2",
        receipt["encounter_id"].as_str().unwrap()
    );
    let answer = server
        .call(Method::GET, &path, Some(&server.token("officer")), None)
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(answer.code(), "not-an2-origin");
}
