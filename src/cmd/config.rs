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
