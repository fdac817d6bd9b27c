//! Configuration shared by `serve` and `admin`: flags, then environment, then `garita.toml`, then defaults.

use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Default data directory, relative to the working directory.
pub const DEFAULT_DATA: &str = "./garita-data";
/// Default listen address: loopback only, so a fresh install is not exposed by accident.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The optional `garita.toml` (in the working directory, or named by `--config` / `GARITA_CONFIG`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Data directory (`GARITA_DATA`, `--data`).
    pub data: Option<PathBuf>,
    /// Database URL (`GARITA_DATABASE`, `--database`), e.g. `postgres://garita:…@db.internal/garita`; absent means
    /// SQLite in the data directory.
    pub database: Option<String>,
    /// Listen address (`GARITA_LISTEN`, `--listen`).
    pub listen: Option<String>,
    /// The agency's own country, ISO 3166-1 alpha-3 (`GARITA_COUNTRY`, `--country`).
    pub country: Option<String>,
    /// The agency's display name.
    pub agency_name: Option<String>,
    /// Login token lifetime in hours (default 12).
    pub token_ttl_hours: Option<u32>,
    /// Largest request body in MiB (default 64).
    pub max_body_mib: Option<u32>,
    /// Transparency log origin (`GARITA_LOG_ORIGIN`, `--log-origin`); fixed once the log exists.
    pub log_origin: Option<String>,
    /// Witness cosigner verifier keys (`--witness`).
    pub witnesses: Option<Vec<String>>,
    /// Retention rules, e.g. `[[retention]] rule = "biometrics-5y"  payload_types = ["encounter", "an2"]  days = 1825`.
    pub retention: Option<Vec<RetentionConfig>>,
    /// Risk-lane rules (`[lanes]`: high_risk_origins, thresholds, random_rate, random_salt, ...); unknown keys are
    /// an error so a typo cannot silently disable a rule.
    pub lanes: Option<garita_nii::LaneRules>,
    /// Where blobs are kept (`GARITA_BLOBS`, `--blobs`): `blobs = "s3://bucket"`, or a `[blobs]` table with `url`
    /// and the S3 settings. Absent: the fsync'd directory `DATA/blobs`.
    pub blobs: Option<BlobsConfig>,
}

/// `blobs = "URL"` or a `[blobs]` table.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum BlobsConfig {
    /// Only the URL; S3 settings from the `AWS_*` environment.
    Url(String),
    /// URL and S3 settings.
    Table(BlobsTable),
}

/// The `[blobs]` table. Each `AWS_*` environment variable wins over its key here.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobsTable {
    /// `s3://bucket[/prefix]`, `file:///path` or a directory.
    pub url: Option<String>,
    /// S3 endpoint, e.g. `http://127.0.0.1:3900` (`AWS_ENDPOINT_URL`).
    pub endpoint: Option<String>,
    /// S3 region (`AWS_REGION`).
    pub region: Option<String>,
    /// Access key id (`AWS_ACCESS_KEY_ID`).
    pub access_key_id: Option<String>,
    /// Secret key (`AWS_SECRET_ACCESS_KEY`); better kept in the environment than in a file.
    pub secret_access_key: Option<String>,
    /// Allow a plain-HTTP endpoint (`AWS_ALLOW_HTTP`).
    pub allow_http: Option<bool>,
}

impl std::fmt::Debug for BlobsTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlobsTable({:?}, {:?})", self.url, self.settings())
    }
}

impl BlobsTable {
    fn settings(&self) -> garita_store::ObjectStoreSettings {
        garita_store::ObjectStoreSettings {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            allow_http: self.allow_http,
        }
    }
}

/// The blobs' URL (`flag`, else the file's) and its S3 settings from the file's `[blobs]` table; `None` when
/// neither names one.
fn blobs_url<'a>(
    flag: Option<&'a str>,
    file: Option<&'a BlobsConfig>,
) -> Option<(&'a str, garita_store::ObjectStoreSettings)> {
    let (file_url, settings) = match file {
        None => (None, garita_store::ObjectStoreSettings::default()),
        Some(BlobsConfig::Url(url)) => (
            Some(url.as_str()),
            garita_store::ObjectStoreSettings::default(),
        ),
        Some(BlobsConfig::Table(table)) => (table.url.as_deref(), table.settings()),
    };
    Some((flag.or(file_url)?, settings))
}

/// The blob store to use instead of the default `DATA/blobs`: `--blobs` or `GARITA_BLOBS` (`flag`, which clap
/// fills from the environment), else the file's `blobs`; `None` keeps the default. S3 settings come from the
/// `AWS_*` environment over the file's `[blobs]` keys.
pub fn blob_store(
    flag: Option<&str>,
    file: Option<&BlobsConfig>,
) -> anyhow::Result<Option<garita_store::BlobStore>> {
    let Some((url, settings)) = blobs_url(flag, file) else {
        return Ok(None);
    };
    garita_store::BlobStore::open_url(url, &settings)
        .map(Some)
        .with_context(|| format!("opening the blob store {url}"))
}

/// The URL and settings of the object store behind the blobs (flag, then file), for a cluster's log tiles and
/// checkpoints, which live beside the blobs under `log/`. A plain directory becomes a `file://` URL.
pub fn blob_objects(
    flag: Option<&str>,
    file: Option<&BlobsConfig>,
) -> anyhow::Result<Option<std::sync::Arc<dyn object_store::ObjectStore>>> {
    let Some((url, settings)) = blobs_url(flag, file) else {
        return Ok(None);
    };
    let url = if url.contains("://") {
        url.to_owned()
    } else {
        let path = std::path::absolute(url).with_context(|| format!("blob directory {url}"))?;
        format!("file://{}", path.display())
    };
    garita_store::object_store_from_url(&url, &settings)
        .map(Some)
        .with_context(|| format!("opening the object store {url}"))
}

/// One `[[retention]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    /// Rule id, logged in purge entries (printable ASCII, no spaces).
    pub rule: String,
    /// Payload types it expires: encounter, an2, consignment.
    pub payload_types: Vec<String>,
    /// Days kept after receipt.
    pub days: u32,
}

impl RetentionConfig {
    /// The server's form of the rule.
    pub fn to_rule(&self) -> anyhow::Result<garita_server::retention::RetentionRule> {
        if self.rule.is_empty() || !self.rule.bytes().all(|b| b.is_ascii_graphic()) {
            anyhow::bail!(
                "retention rule {:?}: use printable ASCII without spaces",
                self.rule
            );
        }
        let payload_types = self
            .payload_types
            .iter()
            .map(|kind| kind.parse())
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("retention rule {}", self.rule))?;
        Ok(garita_server::retention::RetentionRule {
            id: self.rule.clone(),
            payload_types,
            keep: time::Duration::days(i64::from(self.days)),
        })
    }
}

/// The database URL from the flag (or `GARITA_DATABASE`, which clap folds into it), else from the file; `None`
/// means SQLite in the data directory.
pub fn database(flag: Option<String>, file: Option<String>) -> Option<String> {
    flag.or(file).filter(|url| !url.trim().is_empty())
}

/// Opens the store, naming the data directory or the database (password redacted) when that fails.
pub async fn open_store(
    data: &Path,
    database: Option<&str>,
) -> anyhow::Result<garita_store::Store> {
    garita_store::Store::open_with(data, database)
        .await
        .with_context(|| match database {
            Some(url) => format!(
                "opening database {} (data directory {})",
                garita_store::redact_url(url),
                data.display()
            ),
            None => format!("opening data directory {}", data.display()),
        })
}

impl FileConfig {
    /// Reads `path` if given (must exist), else `./garita.toml` if it exists, else defaults.
    pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
        let (path, required) = match path {
            Some(path) => (path.to_owned(), true),
            None => (PathBuf::from("garita.toml"), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                toml::from_str(&text).with_context(|| format!("reading {}", path.display()))
            }
            Err(err) if !required && err.kind() == std::io::ErrorKind::NotFound => {
                Ok(FileConfig::default())
            }
            Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_take_a_url_or_a_table_and_hide_the_secret() {
        let short: FileConfig = toml::from_str(r#"blobs = "s3://garita-blobs""#).unwrap();
        assert!(
            matches!(short.blobs, Some(BlobsConfig::Url(ref url)) if url == "s3://garita-blobs")
        );
        let table: FileConfig = toml::from_str(
            "[blobs]\nurl = \"s3://b/site-a\"\nendpoint = \"http://127.0.0.1:3900\"\n\
             secret_access_key = \"very-secret-key\"\nallow_http = true\n",
        )
        .unwrap();
        let Some(BlobsConfig::Table(blobs)) = &table.blobs else {
            panic!("not a table: {table:?}");
        };
        assert_eq!(blobs.url.as_deref(), Some("s3://b/site-a"));
        assert_eq!(blobs.settings().allow_http, Some(true));
        assert!(!format!("{table:?}").contains("very-secret-key"));
        // A typo is an error, not a silently ignored key.
        assert!(toml::from_str::<FileConfig>("[blobs]\nurll = \"s3://b\"\n").is_err());
        // The flag wins over the file; nothing at all keeps the default directory.
        let dir = tempfile::tempdir().unwrap();
        let flag = format!("file://{}", dir.path().display());
        let chosen = blob_store(Some(&flag), table.blobs.as_ref())
            .unwrap()
            .unwrap();
        assert_eq!(chosen.describe(), dir.path().display().to_string());
        assert!(blob_store(None, None).unwrap().is_none());
    }
}
