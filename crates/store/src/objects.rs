//! Object stores by URL: `s3://bucket[/prefix]` (any S3-compatible server), `file:///path` and `memory://`.
//!
//! One function, [`object_store_from_url`], so every part of garita that keeps objects (blobs, and later log
//! tiles and checkpoints) reaches the same store with the same configuration rules: settings given by the
//! caller (from `garita.toml`) first, then every `AWS_*` environment variable object_store knows
//! (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ALLOW_HTTP`,
//! `AWS_SESSION_TOKEN`, ...) over them, so the environment wins over the file.

use crate::{Result, StoreError};
use object_store::ObjectStore;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::prefix::PrefixStore;
use std::sync::Arc;

/// How to reach an S3-compatible server, as written in `garita.toml`'s `[blobs]` table. Any of these may be
/// left out; the matching `AWS_*` environment variable, when set, takes precedence.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ObjectStoreSettings {
    /// Endpoint URL, e.g. `http://127.0.0.1:3900` (`AWS_ENDPOINT_URL`); unset means Amazon S3.
    pub endpoint: Option<String>,
    /// Region (`AWS_REGION`); object_store's default is `us-east-1`.
    pub region: Option<String>,
    /// Access key id (`AWS_ACCESS_KEY_ID`).
    pub access_key_id: Option<String>,
    /// Secret access key (`AWS_SECRET_ACCESS_KEY`); never printed.
    pub secret_access_key: Option<String>,
    /// Allow plain `http://` endpoints (`AWS_ALLOW_HTTP`), e.g. a server on loopback.
    pub allow_http: Option<bool>,
}

impl std::fmt::Debug for ObjectStoreSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStoreSettings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "<redacted>"),
            )
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

fn bad_url(url: &str, detail: impl Into<String>) -> StoreError {
    StoreError::ObjectStoreUrl {
        url: url.to_owned(),
        detail: detail.into(),
    }
}

/// Opens the object store a URL names: `s3://bucket[/prefix]`, `file:///absolute/path` or `memory://`.
/// A prefix (S3) scopes every key under it. `settings` apply to `s3://` only, under the environment.
///
/// `file://` is object_store's `LocalFileSystem`, which does not fsync; the blob store keeps its own fsync'd
/// file code for local directories instead (see [`crate::BlobStore::open_url`]).
///
/// # Errors
/// `ObjectStoreUrl` for an unknown scheme or a malformed URL, `ObjectStore` when the store cannot be set up.
pub fn object_store_from_url(
    url: &str,
    settings: &ObjectStoreSettings,
) -> Result<Arc<dyn ObjectStore>> {
    if let Some(rest) = url.strip_prefix("s3://") {
        return s3(url, rest, settings);
    }
    if let Some(path) = url.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(bad_url(
                url,
                "a file URL needs an absolute path (file:///…)",
            ));
        }
        std::fs::create_dir_all(path).map_err(|source| StoreError::Io {
            path: path.into(),
            source,
        })?;
        // fsync each object and its directory: an acknowledged write to a shared directory must survive power loss.
        let local = LocalFileSystem::new_with_prefix(path)?.with_fsync(true);
        return Ok(Arc::new(local));
    }
    if url == "memory://" || url == "memory:///" {
        return Ok(Arc::new(InMemory::new()));
    }
    Err(bad_url(
        url,
        "use s3://bucket[/prefix], file:///path or memory://",
    ))
}

fn s3(url: &str, rest: &str, settings: &ObjectStoreSettings) -> Result<Arc<dyn ObjectStore>> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = prefix.trim_matches('/');
    if bucket.is_empty() {
        return Err(bad_url(url, "no bucket name"));
    }
    if bucket.contains('@') || bucket.contains(':') {
        // Keys in a URL would end up in logs: they belong in the environment or the file.
        return Err(bad_url(
            "s3://…",
            "credentials do not go in the URL; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        ));
    }
    let mut builder = AmazonS3Builder::new();
    let given = [
        (AmazonS3ConfigKey::Endpoint, settings.endpoint.clone()),
        (AmazonS3ConfigKey::Region, settings.region.clone()),
        (
            AmazonS3ConfigKey::AccessKeyId,
            settings.access_key_id.clone(),
        ),
        (
            AmazonS3ConfigKey::SecretAccessKey,
            settings.secret_access_key.clone(),
        ),
        (
            AmazonS3ConfigKey::Client(object_store::ClientConfigKey::AllowHttp),
            settings.allow_http.map(|allow| allow.to_string()),
        ),
    ];
    for (key, value) in given {
        if let Some(value) = value {
            builder = builder.with_config(key, value);
        }
    }
    // The environment over the file, as `AmazonS3Builder::from_env` reads it.
    for (key, value) in std::env::vars() {
        if key.starts_with("AWS_")
            && let Ok(config_key) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>()
        {
            builder = builder.with_config(config_key, value);
        }
    }
    let store = builder.with_bucket_name(bucket).build()?;
    if prefix.is_empty() {
        Ok(Arc::new(store))
    } else {
        Ok(Arc::new(PrefixStore::new(store, prefix)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        for bad in [
            "ftp://host/x",
            "s3://",
            "s3:///prefix",
            "s3://key:secret@bucket",
            "file://relative",
            "bucket",
        ] {
            assert!(
                matches!(
                    object_store_from_url(bad, &ObjectStoreSettings::default()),
                    Err(StoreError::ObjectStoreUrl { .. })
                ),
                "{bad}"
            );
        }
        assert!(object_store_from_url("memory://", &ObjectStoreSettings::default()).is_ok());
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}/objects", dir.path().display());
        assert!(object_store_from_url(&url, &ObjectStoreSettings::default()).is_ok());
        assert!(dir.path().join("objects").is_dir());
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let settings = ObjectStoreSettings {
            access_key_id: Some("GK123".into()),
            secret_access_key: Some("very-secret-key".into()),
            ..ObjectStoreSettings::default()
        };
        let text = format!("{settings:?}");
        assert!(text.contains("GK123") && !text.contains("very-secret-key"));
        let store = object_store_from_url(
            "s3://bucket/pre/fix",
            &ObjectStoreSettings {
                endpoint: Some("http://127.0.0.1:9".into()),
                allow_http: Some(true),
                ..settings
            },
        )
        .unwrap();
        let text = format!("{store:?} {store}");
        assert!(!text.contains("very-secret-key"), "{text}");
    }
}
