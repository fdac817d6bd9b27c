//! `garita terminal ...`: the field terminal agent (docs/terminal.md). Captures are signed and queued in an
//! encrypted outbox at once, whatever the link; the agent forwards them exactly once when it can.

use anyhow::{Context, bail};
use garita_model::{DeviceKey, PayloadType};
use garita_terminal::{Agent, AgentConfig, Outbox};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use uuid::Uuid;

/// Where the terminal keeps its outbox and who it signs as.
#[derive(clap::Args, Clone)]
pub struct Local {
    /// Terminal data directory (the encrypted outbox)
    #[arg(long, env = "GARITA_TERMINAL_DATA")]
    data: PathBuf,
    /// Device key file (from `garita device keygen`)
    #[arg(long, env = "GARITA_DEVICE_KEY")]
    key: PathBuf,
    /// Device id (printed by `garita admin add-device`)
    #[arg(long, env = "GARITA_DEVICE_ID")]
    device: Uuid,
    /// File holding the passphrase that encrypts the outbox; else GARITA_TERMINAL_PASSPHRASE
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

/// How the agent reaches the server.
#[derive(clap::Args, Clone)]
pub struct RunArgs {
    /// Server base URL, e.g. http://10.0.0.5:8080
    #[arg(long, env = "GARITA_SERVER")]
    server: String,
    /// The ledger's verifier key (`garita ledger key` on the server), pinned to verify every proof
    #[arg(long, env = "GARITA_LOG_KEY")]
    log_key: String,
    #[command(flatten)]
    local: Local,
    /// Captures larger than this many bytes go as resumable chunked uploads
    #[arg(long, default_value_t = 1024 * 1024)]
    chunk_threshold: u64,
    /// Bytes per chunk of an upload
    #[arg(long, default_value_t = 256 * 1024)]
    chunk_size: usize,
    /// First retry delay, milliseconds (doubles per failure, with jitter)
    #[arg(long, default_value_t = 250)]
    min_backoff_ms: u64,
    /// Longest retry delay, milliseconds
    #[arg(long, default_value_t = 30_000)]
    max_backoff_ms: u64,
    /// Timeout of one request, seconds
    #[arg(long, default_value_t = 60)]
    request_timeout: u64,
    /// Stop once every capture is delivered (or failed) and every proof verified
    #[arg(long)]
    exit_when_drained: bool,
    /// Seconds between watchlist snapshot updates (fetched at start, then when idle)
    #[arg(long, default_value_t = 300)]
    watchlist_every: u64,
    /// Write what this run did (JSON: delivered, retries, chunks, drain time) to this file when it stops
    #[arg(long)]
    report: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Run the agent: forward the outbox to the server, oldest first, and verify the proofs.
    Run(RunArgs),
    /// Queue a biometric enrollment: an ANSI/NIST transaction, or finger images with their positions.
    ///
    /// Finger images are also searched against the local watchlist snapshot at once, so a hit shows on site
    /// without a link; the server searches again on arrival and its alerts are authoritative.
    Enroll {
        #[command(flatten)]
        local: Local,
        /// An ANSI/NIST-ITL transaction to send as it is
        #[arg(long, conflicts_with = "images", required_unless_present = "images")]
        an2: Option<PathBuf>,
        /// Finger images (WSQ, PNG or JPEG) or ISO/IEC 19794-2 minutiae records (.fmr/.iso), one sample each
        #[arg(long, num_args = 1..)]
        images: Vec<PathBuf>,
        /// NIST finger position of each image, in order (1 right thumb ... 10 left little; 0 unknown)
        #[arg(long, value_delimiter = ',')]
        positions: Vec<u8>,
        /// Claimed citizenship, ISO 3166-1 alpha-3
        #[arg(long)]
        citizenship: Option<String>,
        /// Given name as declared
        #[arg(long)]
        given_name: Option<String>,
        /// Family name as declared
        #[arg(long)]
        family_name: Option<String>,
    },
    /// Queue any capture: a payload file of a given type and its blobs (e.g. a manifest and its scans).
    Scan {
        #[command(flatten)]
        local: Local,
        /// Payload type: encounter, consignment or an2
        #[arg(long = "type")]
        payload_type: String,
        /// Payload file
        payload: PathBuf,
        /// Blob files in the order the payload refers to them
        #[arg(long = "blob")]
        blobs: Vec<PathBuf>,
    },
    /// Show the outbox: queued, in flight, delivered, failed (with reasons) and proofs.
    Status {
        /// Terminal data directory
        #[arg(long, env = "GARITA_TERMINAL_DATA")]
        data: PathBuf,
        /// Print JSON (summary and every capture) instead of text
        #[arg(long)]
        json: bool,
    },
}

fn passphrase(file: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    let text = match file {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => std::env::var("GARITA_TERMINAL_PASSPHRASE").context(
            "the outbox is encrypted: give --passphrase-file or set GARITA_TERMINAL_PASSPHRASE",
        )?,
    };
    let text = text.trim_end_matches(['\n', '\r']);
    if text.is_empty() {
        bail!("the passphrase is empty");
    }
    Ok(text.as_bytes().to_vec())
}

fn device_key(path: &Path) -> anyhow::Result<DeviceKey> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(DeviceKey::from_file_text(&text)?)
}

async fn open(local: &Local) -> anyhow::Result<(Outbox, DeviceKey)> {
    let key = device_key(&local.key)?;
    let outbox = Outbox::open(
        &local.data,
        local.device,
        &passphrase(local.passphrase_file.as_deref())?,
    )
    .await
    .with_context(|| format!("opening the outbox in {}", local.data.display()))?;
    Ok((outbox, key))
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// The encounter payload for finger images: one sample per image, blob i for image i.
fn encounter_payload(
    images: &[PathBuf],
    positions: &[u8],
    claim: (Option<String>, Option<String>, Option<String>),
) -> anyhow::Result<Vec<u8>> {
    if !positions.is_empty() && positions.len() != images.len() {
        bail!(
            "{} positions for {} images: give one per image or none",
            positions.len(),
            images.len()
        );
    }
    let samples = images
        .iter()
        .enumerate()
        .map(|(index, path)| {
            let extension = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            let format = match extension.as_str() {
                "wsq" => "wsq",
                "png" => "png",
                "jpg" | "jpeg" => "jpeg",
                // ISO/IEC 19794-2 finger minutiae records, as sensor SDKs write them.
                "fmr" | "iso" => "iso-19794-2",
                other => bail!(
                    "{}: unknown image type {other:?} (wsq, png, jpg, or fmr/iso for a minutiae record)",
                    path.display()
                ),
            };
            Ok(serde_json::json!({
                "modality": "finger",
                "position": positions.get(index).copied().unwrap_or(0),
                "format": format,
                "blob": index,
            }))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (citizenship, given_name, family_name) = claim;
    Ok(serde_json::to_vec(&serde_json::json!({
        "subject": {
            "claimed_citizenship": citizenship,
            "given_name": given_name,
            "family_name": family_name,
        },
        "samples": samples,
    }))?)
}

async fn queue(
    local: &Local,
    payload_type: PayloadType,
    payload: Vec<u8>,
    blobs: Vec<Vec<u8>>,
) -> anyhow::Result<ExitCode> {
    let (outbox, key) = open(local).await?;
    let seq = outbox
        .enqueue(
            &key,
            payload_type,
            payload,
            blobs,
            time::OffsetDateTime::now_utc(),
        )
        .await?;
    // Printed only after the commit: the capture is on disk and will be forwarded.
    println!("queued seq {seq}");
    Ok(ExitCode::SUCCESS)
}

/// Checks each finger image of the enrollment (asking for a new capture of a blank or sparse one while the
/// person is still there), then searches them against the local watchlist and prints each hit.
async fn local_alerts(
    outbox: &Outbox,
    paths: &[PathBuf],
    images: Vec<Vec<u8>>,
) -> anyhow::Result<()> {
    let extracted = tokio::task::spawn_blocking(move || {
        images
            .iter()
            .map(|bytes| garita_finger::template_from_bytes(bytes, None))
            .collect::<Vec<_>>()
    })
    .await?;
    for (path, result) in paths.iter().zip(&extracted) {
        match garita_finger::capture_advice(result.as_ref()) {
            Some(advice) => println!("RECAPTURE {}: {advice}", path.display()),
            None => {
                let minutiae = result.as_ref().map_or(0, |t| t.minutiae.len());
                println!("finger image {}: {minutiae} minutiae", path.display());
            }
        }
    }
    let version = outbox.watchlist_version().await?;
    if version == 0 {
        println!("no local watchlist snapshot yet: the server will search on arrival");
        return Ok(());
    }
    let entries = outbox.watchlist_entries().await?;
    let probes: Vec<garita_finger::Template> =
        extracted.into_iter().filter_map(Result::ok).collect();
    let alerts =
        tokio::task::spawn_blocking(move || garita_terminal::match_templates(&entries, &probes))
            .await?;
    for alert in &alerts {
        println!(
            "LOCAL ALERT watchlist {} subject {} score {:.3} (snapshot v{version})",
            alert.category, alert.subject_id, alert.score
        );
    }
    if alerts.is_empty() {
        println!("no local watchlist hit (snapshot v{version})");
    }
    Ok(())
}

async fn run_agent(args: RunArgs) -> anyhow::Result<ExitCode> {
    let (outbox, key) = open(&args.local).await?;
    let mut config = AgentConfig::new(&args.server, &args.log_key);
    config.chunk_threshold = args.chunk_threshold;
    config.chunk_size = args.chunk_size.max(1);
    config.min_backoff = Duration::from_millis(args.min_backoff_ms.max(1));
    config.max_backoff = Duration::from_millis(args.max_backoff_ms.max(args.min_backoff_ms));
    config.request_timeout = Duration::from_secs(args.request_timeout.max(1));
    config.exit_when_drained = args.exit_when_drained;
    config.watchlist_every = Duration::from_secs(args.watchlist_every);
    let agent = Agent::new(outbox, key, config)?;
    eprintln!(
        "garita terminal: forwarding {} to {}",
        args.local.data.display(),
        args.server
    );
    let report = agent.run().await?;
    let text = serde_json::to_string(&report)?;
    if let Some(path) = &args.report {
        std::fs::write(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}

async fn status(data: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let pool = garita_terminal::open_for_status(data).await?;
    let summary = garita_terminal::summary(&pool).await?;
    let captures = garita_terminal::list(&pool).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "summary": summary,
                "captures": captures,
            }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "device {}\nqueued {}  in flight {}  delivered {}  failed {}\nproofs verified {}  pending {}  not verifying {}\nretries {}  next seq {}  watchlist v{}",
        summary
            .device_id
            .map(|id| id.to_string())
            .unwrap_or_else(|| "-".into()),
        summary.queued,
        summary.in_flight,
        summary.delivered,
        summary.failed,
        summary.proofs_verified,
        summary.proofs_pending,
        summary.proof_errors,
        summary.retries,
        summary.next_seq,
        summary.watchlist_version,
    );
    for capture in captures
        .iter()
        .filter(|c| c.state != "delivered" || c.proof_error.is_some())
    {
        let reason = capture
            .proof_error
            .as_deref()
            .or(capture.last_error.as_deref())
            .unwrap_or("");
        println!(
            "seq {} {} {} {} bytes, {} attempts{}: {reason}",
            capture.seq,
            capture.state,
            capture.payload_type,
            capture.size,
            capture.attempts,
            capture
                .upload_offset
                .map(|offset| format!(", {offset} bytes uploaded"))
                .unwrap_or_default(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `garita terminal --flag ...` means `garita terminal run --flag ...`: the agent is the terminal's default.
pub fn default_to_run(args: impl Iterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = args.collect();
    let is_flag = |arg: &std::ffi::OsString| {
        let text = arg.to_string_lossy();
        text.starts_with("--") && text != "--help" && text != "--version"
    };
    if args.get(1).is_some_and(|arg| arg == "terminal") && args.get(2).is_some_and(is_flag) {
        args.insert(2, "run".into());
    }
    args
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match command {
            Command::Run(args) => run_agent(args).await,
            Command::Enroll {
                local,
                an2,
                images,
                positions,
                citizenship,
                given_name,
                family_name,
            } => match an2 {
                Some(path) => queue(&local, PayloadType::An2, read(&path)?, Vec::new()).await,
                None => {
                    let payload = encounter_payload(
                        &images,
                        &positions,
                        (citizenship, given_name, family_name),
                    )?;
                    let blobs = images
                        .iter()
                        .map(|path| read(path))
                        .collect::<anyhow::Result<Vec<_>>>()?;
                    let (outbox, _) = open(&local).await?;
                    let code =
                        queue(&local, PayloadType::Encounter, payload, blobs.clone()).await?;
                    local_alerts(&outbox, &images, blobs).await?;
                    Ok(code)
                }
            },
            Command::Scan {
                local,
                payload_type,
                payload,
                blobs,
            } => {
                let blobs = blobs
                    .iter()
                    .map(|path| read(path))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                queue(&local, payload_type.parse()?, read(&payload)?, blobs).await
            }
            Command::Status { data, json } => status(&data, json).await,
        }
    })
}
