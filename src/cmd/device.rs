//! `garita device ...`: what a capture device does, for devices written in other languages to copy and for tests.

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use garita_model::{DeviceKey, Envelope, PayloadType};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(clap::Args)]
pub struct CaptureArgs {
    /// Device key file (from `garita device keygen`)
    #[arg(long, env = "GARITA_DEVICE_KEY")]
    key: PathBuf,
    /// Device id (printed by `garita admin add-device`)
    #[arg(long, env = "GARITA_DEVICE_ID")]
    device: Uuid,
    /// Per-device sequence number; never reuse one for different content
    #[arg(long)]
    seq: u64,
    /// Payload type: encounter, consignment or an2
    #[arg(long = "type")]
    payload_type: String,
    /// Payload file (JSON for encounter/consignment, the transaction for an2)
    payload: PathBuf,
    /// Blob files (images, scans) in the order the payload refers to them
    #[arg(long = "blob")]
    blobs: Vec<PathBuf>,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Make a new Ed25519 device key (file mode 0600); prints the public key to register.
    Keygen {
        /// Where to write the key; refuses to overwrite
        #[arg(long)]
        out: PathBuf,
    },
    /// Sign a capture and print the request body for POST /api/v1/captures.
    Sign(CaptureArgs),
    /// Sign a capture, submit it and print the receipt.
    Submit {
        /// Server base URL, e.g. http://127.0.0.1:8080
        #[arg(long, env = "GARITA_SERVER")]
        server: String,
        #[command(flatten)]
        capture: CaptureArgs,
    },
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// The JSON body of a capture request.
pub fn capture_body(args: &CaptureArgs) -> anyhow::Result<serde_json::Value> {
    let key_text = std::fs::read_to_string(&args.key)
        .with_context(|| format!("reading {}", args.key.display()))?;
    let key = DeviceKey::from_file_text(&key_text)?;
    let payload_type: PayloadType = args.payload_type.parse()?;
    let payload = read(&args.payload)?;
    let blobs = args
        .blobs
        .iter()
        .map(|path| read(path))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let blob_refs: Vec<&[u8]> = blobs.iter().map(Vec::as_slice).collect();
    let signed = Envelope::describe(
        args.device,
        args.seq,
        OffsetDateTime::now_utc(),
        payload_type,
        &payload,
        &blob_refs,
    )
    .sign(&key);
    Ok(serde_json::json!({
        "envelope": signed.envelope,
        "signature": signed.signature,
        "payload": B64.encode(&payload),
        "blobs": blobs.iter().map(|blob| B64.encode(blob)).collect::<Vec<_>>(),
    }))
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Keygen { out } => {
            let key = DeviceKey::generate();
            write_private(&out, key.to_file_text().as_bytes())?;
            println!("{}", key.public_key_b64());
            Ok(ExitCode::SUCCESS)
        }
        Command::Sign(args) => {
            println!("{}", serde_json::to_string_pretty(&capture_body(&args)?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Submit { server, capture } => {
            let body = capture_body(&capture)?;
            let url = format!("{}/api/v1/captures", server.trim_end_matches('/'));
            super::runtime()?.block_on(async move {
                let response = reqwest::Client::new()
                    .post(&url)
                    .json(&body)
                    .send()
                    .await
                    .with_context(|| format!("posting to {url}"))?;
                let status = response.status();
                let text = response.text().await?;
                if status.is_success() {
                    println!("{text}");
                    Ok(ExitCode::SUCCESS)
                } else {
                    bail!("server answered {status}: {text}")
                }
            })
        }
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {} (it must not exist yet)", path.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}
