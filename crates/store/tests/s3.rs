#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Opt-in (`scripts/s3-test.sh`): the blob store against a real S3-compatible server on 127.0.0.1. Runs when
//! `GARITA_TEST_S3_URL` names a bucket (`s3://bucket`) and the `AWS_*` variables (endpoint, keys, region,
//! allow-http) reach it; otherwise it says so and passes without doing anything.

use garita_store::{BlobStore, ObjectStoreSettings, StoreError, object_store_from_url};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload};
use std::path::PathBuf;

/// A fresh `s3://bucket/prefix` per test, so runs and tests never see each other's objects.
fn s3_url(test: &str) -> Option<String> {
    let Ok(url) = std::env::var("GARITA_TEST_S3_URL") else {
        eprintln!("skipped: GARITA_TEST_S3_URL is not set (run scripts/s3-test.sh)");
        return None;
    };
    Some(format!(
        "{}/{test}-{}",
        url.trim_end_matches('/'),
        uuid::Uuid::new_v4().simple()
    ))
}

fn shared(relative: &str) -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(relative);
    let bytes = std::fs::read(&path).ok();
    if bytes.is_none() {
        eprintln!("skipped: {} is absent", path.display());
    }
    bytes
}

#[tokio::test]
async fn blobs_in_s3_are_content_addressed_and_checked() {
    let Some(url) = s3_url("blobs") else { return };
    let Some(wsq) = shared("wsq/fp-1.wsq") else {
        return;
    };
    let settings = ObjectStoreSettings::default();
    let store = BlobStore::open_url(&url, &settings).unwrap();
    store.check().await.unwrap();
    assert_eq!(store.describe(), url);
    let raw = object_store_from_url(&url, &settings).unwrap();

    // Round trip: named by the SHA-256 of the content, kept under `ab/abcd…`.
    let name = store.put(wsq.clone()).await.unwrap();
    assert_eq!(name, garita_model::sha256_hex(&wsq));
    assert!(store.contains(&name).await.unwrap());
    assert_eq!(store.get(&name).await.unwrap(), wsq);
    let key = ObjectPath::from_iter([&name[..2], name.as_str()]);
    let meta = raw.head(&key).await.unwrap();
    assert_eq!(meta.size, wsq.len() as u64);

    // Idempotent: the same content again is the same single object.
    assert_eq!(store.put(wsq.clone()).await.unwrap(), name);
    let listed = raw
        .list_with_delimiter(Some(&ObjectPath::from(&name[..2])))
        .await
        .unwrap();
    assert_eq!(listed.objects.len(), 1);

    // An object changed behind the store's back is refused, not served.
    let mut tampered = wsq.clone();
    tampered[wsq.len() / 2] ^= 0x01;
    raw.put(&key, PutPayload::from(tampered)).await.unwrap();
    match store.get(&name).await {
        Err(StoreError::BlobDamaged { sha256 }) => assert_eq!(sha256, name),
        other => panic!("a damaged blob was not refused: {other:?}"),
    }

    // Delete, twice; then it is gone.
    store.delete(&name).await.unwrap();
    store.delete(&name).await.unwrap();
    assert!(!store.contains(&name).await.unwrap());
    assert!(matches!(
        store.get(&name).await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test]
async fn an_unknown_bucket_is_an_error_not_a_panic() {
    let Some(url) = s3_url("missing") else { return };
    let bucket = format!("garita-no-such-bucket-{}", uuid::Uuid::new_v4().simple());
    let rest = url.strip_prefix("s3://").unwrap();
    let (_, prefix) = rest.split_once('/').unwrap();
    let store = BlobStore::open_url(
        &format!("s3://{bucket}/{prefix}"),
        &ObjectStoreSettings::default(),
    )
    .unwrap();
    assert!(store.check().await.is_err());
    assert!(store.put(b"fingerprint".to_vec()).await.is_err());
}
