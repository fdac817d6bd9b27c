//! Opt-in (`scripts/s3-test.sh`): the API with its blobs in a real S3-compatible server on 127.0.0.1. Runs when
//! `GARITA_TEST_S3_URL` names a bucket (`s3://bucket`) and the `AWS_*` variables reach it; otherwise it says so
//! and passes without doing anything.

use crate::enrollment_alerts::enroll;
use crate::harness::Server;
use garita_store::{BlobStore, ObjectStoreSettings};
use reqwest::StatusCode;
use std::path::PathBuf;

fn s3_url() -> Option<String> {
    let url = std::env::var("GARITA_TEST_S3_URL").ok();
    if url.is_none() {
        eprintln!("skipped: GARITA_TEST_S3_URL is not set (run scripts/s3-test.sh)");
    }
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captured_fingerprint_round_trips_through_s3() {
    let Some(url) = s3_url() else { return };
    let shared =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/wsq/fp-3.wsq");
    let Ok(wsq) = std::fs::read(&shared) else {
        eprintln!("skipped: {} is absent", shared.display());
        return;
    };
    // A fresh prefix per run, so runs never see each other's objects.
    let prefixed = format!(
        "{}/api-{}",
        url.trim_end_matches('/'),
        uuid::Uuid::new_v4().simple()
    );
    let blobs = BlobStore::open_url(&prefixed, &ObjectStoreSettings::default()).unwrap();
    let server = Server::start_with_blobs(blobs.clone()).await;

    let receipt = enroll(&server, &wsq).await;
    let encounter = receipt["encounter_id"].as_str().unwrap().parse().unwrap();
    let samples = server.store.samples_of_encounter(encounter).await.unwrap();
    assert_eq!(samples.len(), 1);
    let name = samples[0].blob_sha256.as_str().to_owned();
    assert!(
        blobs.contains(&name).await.unwrap(),
        "the image is in the bucket"
    );
    assert!(
        !server
            .dir
            .path()
            .join("blobs")
            .join(&name[..2])
            .join(&name)
            .exists(),
        "the image is not in the data directory"
    );

    let content = server
        .client
        .get(format!(
            "{}/api/v1/samples/{}/content",
            server.base, samples[0].id
        ))
        .bearer_auth(server.token("officer"))
        .send()
        .await
        .unwrap();
    assert_eq!(content.status(), StatusCode::OK);
    let served = content.bytes().await.unwrap();
    assert!(
        served.as_ref() == wsq.as_slice(),
        "the image comes back byte-identical"
    );

    // The matcher enrolled a template through the same store: a rebuild reads it back from the bucket.
    let templates = server.state.matcher.rebuild(&server.store).await.unwrap();
    assert_eq!(templates, 1);
}
