//! `garita ledger key`, `garita verify` and `garita witness`: the transparency log from the outside.

use anyhow::{Context, bail};
use garita_ledger::{
    DirSource, Log, SourceError, TileSource, TlogProof, VerifyOptions, Witness,
    load_or_create_signing_key, load_state, save_state, verify_log, vkey,
};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum LedgerCommand {
    /// Print the log's verifier key (signed-note vkey) for `garita verify --key`.
    Key {
        /// Data directory of the server [default: ./garita-data]
        #[arg(long, env = "GARITA_DATA", default_value = super::config::DEFAULT_DATA)]
        data: PathBuf,
        /// Log origin, as configured on the server
        #[arg(long, env = "GARITA_LOG_ORIGIN", default_value = garita_server::DEFAULT_LOG_ORIGIN)]
        origin: String,
    },
}

/// Check a transparency log: checkpoint signature, consistency with the last checkpoint seen, and inclusion.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The log: a server URL (http://host:port) or a server data directory
    #[arg(long)]
    log: String,
    /// The log's verifier key (from `garita ledger key` or the server's start-up line)
    #[arg(long)]
    key: String,
    /// Prove this leaf index is included
    #[arg(long)]
    leaf: Option<u64>,
    /// A receipt (C2SP tlog-proof from GET /api/v1/records/<id>/proof) to check
    #[arg(long)]
    receipt: Option<PathBuf>,
    /// With --receipt: the record it is for (the signed capture JSON the device sent)
    #[arg(long, requires = "receipt")]
    record: Option<PathBuf>,
    /// State file with the last verified checkpoint [default: ./garita-verify.state]
    #[arg(long, default_value = "garita-verify.state")]
    state: PathBuf,
    /// Recompute the whole tree from the entry bundles and compare every tile
    #[arg(long)]
    full: bool,
    /// A witness cosigner key whose cosignature must be present (repeatable)
    #[arg(long = "witness")]
    witnesses: Vec<String>,
}

/// Witness a log: check the new checkpoint is consistent with the last one cosigned, cosign it, hand the
/// cosignature to the log.
#[derive(clap::Args)]
pub struct WitnessArgs {
    /// The log server URL
    #[arg(long)]
    log: String,
    /// The log's verifier key
    #[arg(long)]
    log_key: String,
    /// This witness's key file (created on first use; its cosigner key is printed)
    #[arg(long)]
    key: PathBuf,
    /// Name of this witness (the cosigner key name)
    #[arg(long, default_value = "garita-witness")]
    name: String,
    /// State file: the last size cosigned per log [default: KEY.state]
    #[arg(long)]
    state: Option<PathBuf>,
}

struct HttpSource {
    base: String,
    client: reqwest::blocking::Client,
}

impl HttpSource {
    fn new(url: &str) -> Self {
        HttpSource {
            base: format!("{}/log/", url.trim_end_matches('/')),
            client: reqwest::blocking::Client::new(),
        }
    }
}

impl TileSource for HttpSource {
    fn get(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        let fetch = |err: Box<dyn std::error::Error + Send + Sync>| SourceError::Fetch {
            path: path.to_owned(),
            source: err,
        };
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .map_err(|err| fetch(Box::new(err)))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(SourceError::NotFound {
                path: path.to_owned(),
            });
        }
        let response = response
            .error_for_status()
            .map_err(|err| fetch(Box::new(err)))?;
        Ok(response
            .bytes()
            .map_err(|err| fetch(Box::new(err)))?
            .to_vec())
    }
}

fn source(log: &str) -> Box<dyn TileSource> {
    if log.starts_with("http://") || log.starts_with("https://") {
        Box::new(HttpSource::new(log))
    } else {
        Box::new(DirSource::new(&PathBuf::from(log).join("ledger")))
    }
}

pub fn run_ledger(command: LedgerCommand) -> anyhow::Result<ExitCode> {
    match command {
        LedgerCommand::Key { data, origin } => {
            let path = Log::key_path(&data.join("ledger"));
            if !path.exists() {
                bail!(
                    "{} does not exist: start the server on this data directory first",
                    path.display()
                );
            }
            let key = load_or_create_signing_key(&path)?;
            println!("{}", vkey(&origin, &key.verifying_key()));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The canonical envelope bytes of a capture JSON file (a capture request body or a signed envelope).
fn record_bytes(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_slice(&text).context("the record must be the capture JSON")?;
    let envelope: garita_model::Envelope =
        serde_json::from_value(value.get("envelope").cloned().unwrap_or(value))
            .context("no envelope in the record file")?;
    Ok(envelope.canonical_bytes())
}

pub fn run_verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let source = source(&args.log);
    let mut options = VerifyOptions {
        leaf: args.leaf,
        full_audit: args.full,
        witnesses: args.witnesses.clone(),
        ..VerifyOptions::default()
    };
    if let Some(path) = &args.receipt {
        let proof = TlogProof::from_bytes(
            &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("{} is not a tlog-proof", path.display()))?;
        if let Some(record) = &args.record {
            let (entry, _) = proof
                .verify_receipt(&args.key, &args.witnesses, &record_bytes(record)?)
                .context("the receipt does not prove this record")?;
            options.entry = Some(entry.to_bytes()?);
            println!("receipt: the logged entry commits to this record");
        }
        options.leaf = Some(proof.index);
    }
    let previous = load_state(&args.state)?;
    let report = verify_log(source.as_ref(), &args.key, previous.as_deref(), &options)
        .context("verification failed")?;
    save_state(&args.state, &report.checkpoint)?;
    println!("ok: {} size {} verified", report.origin, report.size);
    if let Some(old) = report.consistent_with {
        println!("ok: consistent with the checkpoint of size {old} seen before");
    }
    if let Some(leaf) = report.leaf {
        println!("ok: leaf {leaf} is included");
    }
    for cosigner in &report.cosigners {
        println!("ok: cosigned by {cosigner}");
    }
    if report.audited {
        println!("ok: full audit of every tile and entry");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_witness(args: WitnessArgs) -> anyhow::Result<ExitCode> {
    let key = load_or_create_signing_key(&args.key)?;
    let mut witness = Witness::new(&args.name, key);
    println!("witness cosigner key: {}", witness.vkey());
    witness.add_log(&args.log_key)?;
    let state = args
        .state
        .unwrap_or_else(|| args.key.with_extension("state"));
    witness.use_state_file(&state)?;
    let now = u64::try_from(time::OffsetDateTime::now_utc().unix_timestamp()).unwrap_or(0);
    let source = HttpSource::new(&args.log);
    let lines = witness
        .cosign_from_source(&source, &args.log_key, now)
        .context("refusing to cosign")?;
    let url = format!(
        "{}/api/v1/ledger/cosignatures",
        args.log.trim_end_matches('/')
    );
    let response = reqwest::blocking::Client::new()
        .post(&url)
        .body(lines)
        .send()
        .with_context(|| format!("posting to {url}"))?;
    if !response.status().is_success() {
        bail!(
            "the log refused the cosignature: {} {}",
            response.status(),
            response.text().unwrap_or_default()
        );
    }
    println!(
        "cosigned; latest size now {:?}",
        witness.latest_size(args.log_key.split('+').next().unwrap_or(""))
    );
    Ok(ExitCode::SUCCESS)
}
