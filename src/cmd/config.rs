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
