//! `garita serve`

use super::config::{DEFAULT_DATA, DEFAULT_LISTEN, FileConfig};
use anyhow::Context;
use garita_model::CountryCode;
use garita_server::{AppState, ServerConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Run the HTTP API server on a data directory (created on first start, with an `admin` user whose password is
/// printed once).
#[derive(clap::Args)]
pub struct Args {
    /// Data directory: SQLite database and blob files [default: ./garita-data]
    #[arg(long, env = "GARITA_DATA")]
    data: Option<PathBuf>,
    /// Database URL, e.g. postgres://garita:PASSWORD@127.0.0.1:5432/garita [default: SQLite in the data directory]
    #[arg(long, env = "GARITA_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "GARITA_LISTEN")]
    listen: Option<String>,
    /// The agency's own country (ISO 3166-1 alpha-3), set on first start if not set yet
    #[arg(long, env = "GARITA_COUNTRY")]
    country: Option<String>,
    /// Where blobs are kept: s3://bucket[/prefix] (endpoint and keys from [blobs] in garita.toml or AWS_*
    /// variables), file:///path or a directory [default: DATA/blobs]
    #[arg(long, env = "GARITA_BLOBS")]
    blobs: Option<String>,
    /// Configuration file [default: ./garita.toml if present]
    #[arg(long, env = "GARITA_CONFIG")]
    config: Option<PathBuf>,
    /// Origin of the transparency log (fixed for the log's lifetime) [default: garita.local/ledger]
    #[arg(long, env = "GARITA_LOG_ORIGIN")]
    log_origin: Option<String>,
    /// Cosigner verifier key of a witness whose cosignatures the log accepts (repeatable)
    #[arg(long = "witness")]
    witnesses: Vec<String>,
    /// Log as JSON lines instead of text
    #[arg(long)]
    log_json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let file = FileConfig::load(args.config.as_deref())?;
    let data = args
        .data
        .or(file.data)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA));
    let database = super::config::database(args.database, file.database);
    let listen_text = args
        .listen
        .or(file.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    let listen: SocketAddr = listen_text.parse().with_context(|| {
        format!("--listen {listen_text:?} is not an address like 127.0.0.1:8080")
    })?;
    let country = args
        .country
        .or(file.country)
        .map(|code| CountryCode::new(&code))
        .transpose()
        .context("--country")?;
    let mut config = ServerConfig {
        country,
        ..ServerConfig::default()
    };
    if let Some(origin) = args.log_origin.or(file.log_origin) {
        config.log_origin = origin;
    }
    config.witnesses = if args.witnesses.is_empty() {
        file.witnesses.unwrap_or_default()
    } else {
        args.witnesses
    };
    config.retention = file
        .retention
        .iter()
        .flatten()
        .map(super::config::RetentionConfig::to_rule)
        .collect::<anyhow::Result<_>>()?;
    if let Some(rules) = file.lanes {
        config.lane_rules = rules;
    }
    if let Some(name) = file.agency_name {
        config.agency_name = name;
    }
    if let Some(hours) = file.token_ttl_hours {
        config.token_ttl = time::Duration::hours(i64::from(hours.max(1)));
    }
    if let Some(mib) = file.max_body_mib {
        config.max_body_bytes = (mib.max(1) as usize) * 1024 * 1024;
    }
    let blobs = super::config::blob_store(args.blobs.as_deref(), file.blobs.as_ref())?;
    init_tracing(args.log_json);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let store = super::config::open_store(&data, database.as_deref()).await?;
        if let Some(url) = &database {
            tracing::info!(database = %garita_store::redact_url(url), "rows in PostgreSQL");
        }
        let store = match blobs {
            Some(blobs) => {
                // Fail at start, not at the first capture, when the bucket cannot be reached.
                blobs
                    .check()
                    .await
                    .with_context(|| format!("reaching the blob store {}", blobs.describe()))?;
                store.with_blobs(blobs)
            }
            None => store,
        };
        let boot = garita_server::bootstrap(&store, &config, time::OffsetDateTime::now_utc())
            .await
            .map_err(|err| anyhow::anyhow!("bootstrap: {}", err.message))?;
        if let Some(password) = boot.admin_password {
            println!("created user 'admin' with password: {password}");
            // With PostgreSQL the hint names the database too (password redacted), or admin would open SQLite.
            let database_flag = database
                .as_deref()
                .map(|url| format!(" --database {}", garita_store::redact_url(url)))
                .unwrap_or_default();
            println!("(shown once; change it with `garita admin reset-password --data {}{database_flag} --username admin --password-stdin`)", data.display());
        }
        if store.agency().await?.is_none() {
            tracing::warn!("the agency's own country is not set: run `garita admin init --country XXX`");
        }
        let blobs_at = store.blobs().describe();
        let state = AppState::new(store, config).map_err(|err| anyhow::anyhow!("opening the ledger: {}", err.message))?;
        println!("ledger verifier key: {}", state.ledger.vkey());
        let templates = state
            .matcher
            .rebuild(&state.store)
            .await
            .map_err(|err| anyhow::anyhow!("loading the fingerprint gallery: {}", err.message))?;
        tracing::info!(templates, "fingerprint gallery loaded");
        if !state.config.retention.is_empty() {
            garita_server::retention::spawn(state.clone(), std::time::Duration::from_secs(3600));
        }
        garita_server::serve(state, listen, |addr| {
            println!(
                "garita listening on http://{addr} (data: {}, blobs: {})",
                data.display(),
                blobs_at
            );
            tracing::info!(%addr, "listening");
        })
        .await
        .with_context(|| format!("serving on {listen}"))?;
        Ok(ExitCode::SUCCESS)
    })
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
