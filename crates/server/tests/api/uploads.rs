//! Resumable chunked uploads and device-signed requests (docs/terminal.md): an upload resumes from the server's
//! durable offset, overlapping resends are harmless, gaps are refused, the commit runs the normal ingest and stays
//! exactly-once on (device, seq) whichever way the capture arrives; device requests are refused without a valid,
//! fresh signature and never reach another device's uploads or proofs.

use crate::harness::{Server, encounter_payload, signed_capture};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn start_body(body: &Value) -> Value {
    json!({ "envelope": body["envelope"], "signature": body["signature"] })
}

async fn put(server: &Server, id: &str, offset: u64, bytes: &[u8]) -> crate::harness::Answer {
    server
        .device_call(
            &server.bio,
            Method::PUT,
            &format!("/api/v1/uploads/{id}"),
            &[("Upload-Offset", offset.to_string())],
            bytes.to_vec(),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_upload_resumes_and_lands_exactly_once() {
    let server = Server::start().await;
    // A 150 KB image, sent in chunks (inline its base64 still fits the test server's 256 KiB body limit).
    let image: Vec<u8> = (0..150_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let payload = encounter_payload("Chunked").to_string();
    let seq = server.bio.next_seq();
    let body = signed_capture(
        &server.bio,
        seq,
        garita_model::PayloadType::Encounter,
        payload.as_bytes(),
        &[&image],
    );
    let mut all = payload.clone().into_bytes();
    all.extend_from_slice(&image);

    let start = server
        .call(
            Method::POST,
            "/api/v1/uploads",
            None,
            Some(start_body(&body)),
        )
        .await;
    assert_eq!(start.status, StatusCode::CREATED, "{start:?}");
    assert_eq!(start.body["offset"], 0);
    assert_eq!(start.body["size"], all.len() as u64);
    let id = start.body["upload_id"].as_str().unwrap().to_owned();

    // First chunk, then the commit is refused while bytes are missing.
    let first = put(&server, &id, 0, &all[..64_000]).await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_eq!(first.body["offset"], 64_000);
    let early = server
        .device_call(
            &server.bio,
            Method::POST,
            &format!("/api/v1/uploads/{id}/commit"),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{early:?}");
    assert_eq!(early.code(), "upload-incomplete");

    // A gap is refused and names the offset to resume from; starting again gives the same upload and offset.
    let gap = put(&server, &id, 100_000, &all[100_000..120_000]).await;
    assert_eq!(gap.status, StatusCode::CONFLICT, "{gap:?}");
    assert_eq!(gap.code(), "offset-mismatch");
    let again = server
        .call(
            Method::POST,
            "/api/v1/uploads",
            None,
            Some(start_body(&body)),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{again:?}");
    assert_eq!(again.body["upload_id"], id.as_str());
    assert_eq!(again.body["offset"], 64_000);

    // A resend overlapping what the server holds only appends the new part.
    let overlap = put(&server, &id, 32_000, &all[32_000..150_000]).await;
    assert_eq!(overlap.body["offset"], 150_000, "{overlap:?}");
    let past = put(&server, &id, 150_000, &[0; 60_000]).await;
    assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY, "{past:?}");
    let rest = put(&server, &id, 150_000, &all[150_000..]).await;
    assert_eq!(rest.body["offset"], all.len() as u64, "{rest:?}");

    // Another device cannot touch this upload.
    let foreign = server
        .device_call(
            &server.nii,
            Method::POST,
            &format!("/api/v1/uploads/{id}/commit"),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND, "{foreign:?}");

    let commit = server
        .device_call(
            &server.bio,
            Method::POST,
            &format!("/api/v1/uploads/{id}/commit"),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(commit.status, StatusCode::CREATED, "{commit:?}");
    assert_eq!(commit.body["seq"], seq);
    let encounter = commit.body["encounter_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let samples = server.store.samples_of_encounter(encounter).await.unwrap();
    let stored = server
        .store
        .blobs()
        .get(samples[0].blob_sha256.as_str())
        .await
        .unwrap();
    assert_eq!(stored, image, "the image arrives byte-identical");

    // Exactly once: the commit again finds no upload, a new start answers with the receipt, the inline path 200.
    let twice = server
        .device_call(
            &server.bio,
            Method::POST,
            &format!("/api/v1/uploads/{id}/commit"),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(twice.code(), "upload-not-found", "{twice:?}");
    let restart = server
        .call(
            Method::POST,
            "/api/v1/uploads",
            None,
            Some(start_body(&body)),
        )
        .await;
    assert_eq!(restart.status, StatusCode::OK, "{restart:?}");
    assert_eq!(
        restart.body["capture"]["capture_id"],
        commit.body["capture_id"]
    );
    let inline = server.submit(&body).await;
    assert_eq!(inline.status, StatusCode::OK, "{inline:?}");
    assert_eq!(inline.body["capture_id"], commit.body["capture_id"]);
    assert_eq!(server.store.count_captures().await.unwrap(), 1);

    // Its proof, for the device itself, once published.
    let path = format!("/api/v1/device/proofs/{seq}");
    let mut proof = None;
    for _ in 0..200 {
        let answer = server
            .device_call(&server.bio, Method::GET, &path, &[], Vec::new())
            .await;
        if answer.status == StatusCode::OK {
            proof = Some(answer.body.as_str().unwrap().to_owned());
            break;
        }
        assert_eq!(answer.code(), "not-integrated", "{answer:?}");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let proof = garita_ledger::TlogProof::from_bytes(proof.unwrap().as_bytes()).unwrap();
    let envelope: garita_model::Envelope =
        serde_json::from_value(body["envelope"].clone()).unwrap();
    proof
        .verify_receipt(
            &server.state.ledger.vkey(),
            &[],
            &envelope.canonical_bytes(),
        )
        .unwrap();
    // Another device does not get it.
    let other = server
        .device_call(&server.nii, Method::GET, &path, &[], Vec::new())
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND, "{other:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_do_not_match_the_envelope_end_the_upload_and_write_nothing() {
    let server = Server::start().await;
    let payload = encounter_payload("Tampered").to_string();
    let image = vec![7u8; 5_000];
    let body = signed_capture(
        &server.bio,
        server.bio.next_seq(),
        garita_model::PayloadType::Encounter,
        payload.as_bytes(),
        &[&image],
    );
    let start = server
        .call(
            Method::POST,
            "/api/v1/uploads",
            None,
            Some(start_body(&body)),
        )
        .await;
    let id = start.body["upload_id"].as_str().unwrap().to_owned();
    let mut bytes = payload.into_bytes();
    bytes.extend_from_slice(&[8u8; 5_000]);
    assert_eq!(put(&server, &id, 0, &bytes).await.status, StatusCode::OK);
    let commit = server
        .device_call(
            &server.bio,
            Method::POST,
            &format!("/api/v1/uploads/{id}/commit"),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(
        commit.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{commit:?}"
    );
    assert_eq!(commit.body["field"], "blobs[0]");
    assert_eq!(server.store.count_captures().await.unwrap(), 0);
    let gone = put(&server, &id, 0, &bytes).await;
    assert_eq!(gone.code(), "upload-not-found", "{gone:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_uploads_expire_after_a_week() {
    let server = Server::start().await;
    let (id, _) = server.uploaded_consignment("abandoned").await;
    // What the server asks six, then eight days on: uploads started more than UPLOAD_TTL before then.
    let ttl = garita_server::terminal::UPLOAD_TTL;
    let later = |days| time::OffsetDateTime::now_utc() + time::Duration::days(days) - ttl;
    assert_eq!(server.store.expire_uploads(later(6)).await.unwrap(), 0);
    assert_eq!(server.store.expire_uploads(later(8)).await.unwrap(), 1);
    let gone = server
        .device_call(
            &server.nii,
            Method::POST,
            &format!("/api/v1/uploads/{id}/commit"),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(gone.code(), "upload-not-found", "{gone:?}");
    assert_eq!(
        std::fs::read_dir(server.dir.path().join("uploads"))
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_requests_need_a_fresh_valid_signature() {
    let server = Server::start().await;
    let path = "/api/v1/device/proofs/1";
    let none = server
        .call(Method::GET, path, Some(&server.token("admin")), None)
        .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED, "{none:?}");
    assert_eq!(none.code(), "device-unauthenticated");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let skewed = server
        .device_call_at(&server.bio, now - 3_600, Method::GET, path, &[], Vec::new())
        .await;
    assert_eq!(skewed.code(), "clock-skew", "{skewed:?}");
    // Signed for another path: refused.
    let signature =
        server
            .bio
            .key
            .sign_request(server.bio.id, "GET", "/api/v1/device/proofs/2", now);
    let response = server
        .client
        .get(format!("{}{path}", server.base))
        .header("Garita-Device", signature)
        .send()
        .await
        .unwrap();
    let wrong = Server::answer_of(response).await;
    assert_eq!(wrong.code(), "bad-signature", "{wrong:?}");
    // An unregistered key: 403 like a capture.
    let stranger = crate::harness::TestDevice::new_for_tests(uuid::Uuid::new_v4());
    let unknown = server
        .device_call(&stranger, Method::GET, path, &[], Vec::new())
        .await;
    assert_eq!(unknown.code(), "unknown-device", "{unknown:?}");
    // Valid, but no such capture of this device.
    let missing = server
        .device_call(&server.bio, Method::GET, path, &[], Vec::new())
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND, "{missing:?}");
}
