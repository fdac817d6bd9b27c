//! `garita share`: sharing with partner agencies under agreements (docs/sharing.md), over the server's API.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Where the local server is and who is calling.
#[derive(Args, Clone)]
pub struct Server {
    /// Base URL of the local garita server.
    #[arg(long, env = "GARITA_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Bearer token (from `POST /api/v1/auth/login`).
    #[arg(long, env = "GARITA_TOKEN", hide_env_values = true)]
    token: String,
}

#[derive(Subcommand)]
pub enum Command {
    /// Print our public sharing keys and log verifier key: what a partner's admin puts in its agreement.
    Identity(Server),
    /// Record or list sharing agreements (admin).
    #[command(subcommand)]
    Agreement(AgreementCommand),
    /// Export the next bundle under an outgoing agreement: only the records and fields it allows, each with its
    /// ledger inclusion proof, signed by us and encrypted to the partner (supervisor).
    Export {
        #[command(flatten)]
        server: Server,
        /// The agreement id.
        #[arg(long)]
        agreement: String,
        /// Only records logged at or after this checkpoint tree size (a number), or received since this RFC 3339
        /// time. Records already shared under the agreement are never sent again.
        #[arg(long)]
        since: Option<String>,
        /// Where to write the bundle.
        #[arg(long)]
        out: PathBuf,
    },
    /// Import a partner's bundle: decrypt, verify the signature, every proof and the checkpoint's consistency with
    /// the last one seen; refuse it whole on any failure. Prints provenance, our cosignature and hit answers.
    Import {
        #[command(flatten)]
        server: Server,
        /// The bundle file.
        bundle: PathBuf,
        /// The partner's server: send it our cosignature of its checkpoint and our signed hit answers.
        #[arg(long)]
        reply_to: Option<String>,
    },
    /// Follow a partner's live feed: pull each new bundle, import it here, send back cosignature and answers;
    /// the cursor is our last imported sequence, so either side may restart.
    Follow {
        #[command(flatten)]
        server: Server,
        /// The partner's server.
        #[arg(long)]
        from: String,
        /// The agreement id (incoming here, outgoing there).
        #[arg(long)]
        agreement: String,
        /// Our data directory, for the sharing key that signs feed requests.
        #[arg(long, env = "GARITA_DATA", default_value = super::config::DEFAULT_DATA)]
        data: PathBuf,
        /// Seconds between polls when nothing is new.
        #[arg(long, default_value_t = 2)]
        interval: u64,
        /// Stop after this many bundles (0: never).
        #[arg(long, default_value_t = 0)]
        max_bundles: u64,
    },
}

#[derive(Subcommand)]
pub enum AgreementCommand {
    /// Record an agreement from a JSON file (fields in docs/sharing.md).
    Create {
        #[command(flatten)]
        server: Server,
        /// The agreement JSON.
        file: PathBuf,
    },
    /// List agreements.
    List(Server),
}

fn client() -> anyhow::Result<reqwest::blocking::Client> {
    Ok(reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()?)
}

fn check(response: reqwest::blocking::Response) -> anyhow::Result<reqwest::blocking::Response> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let body = response.text().unwrap_or_default();
    bail!("{status}: {body}")
}

fn print_json(response: reqwest::blocking::Response) -> anyhow::Result<serde_json::Value> {
    let value: serde_json::Value = check(response)?.json()?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(value)
}

/// Runs a `garita share` subcommand.
///
/// # Errors
/// When a request fails or the server refuses it (its error is printed).
pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    let http = client()?;
    match command {
        Command::Identity(server) => {
            print_json(
                http.get(format!("{}/api/v1/share/identity", server.server))
                    .bearer_auth(&server.token)
                    .send()?,
            )?;
        }
        Command::Agreement(AgreementCommand::Create { server, file }) => {
            let body =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            print_json(
                http.post(format!("{}/api/v1/share/agreements", server.server))
                    .bearer_auth(&server.token)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body)
                    .send()?,
            )?;
        }
        Command::Agreement(AgreementCommand::List(server)) => {
            print_json(
                http.get(format!("{}/api/v1/share/agreements", server.server))
                    .bearer_auth(&server.token)
                    .send()?,
            )?;
        }
        Command::Export {
            server,
            agreement,
            since,
            out,
        } => {
            let response = check(
                http.post(format!(
                    "{}/api/v1/share/agreements/{agreement}/exports",
                    server.server
                ))
                .bearer_auth(&server.token)
                .json(&serde_json::json!({ "since": since }))
                .send()?,
            )?;
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or("?")
                    .to_owned()
            };
            let summary = format!(
                "bundle {} (sequence {}, {} records, checkpoint size {})",
                header("garita-bundle-id"),
                header("garita-sequence"),
                header("garita-records"),
                header("garita-tree-size")
            );
            std::fs::write(&out, response.bytes()?)
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!("{summary} written to {}", out.display());
        }
        Command::Import {
            server,
            bundle,
            reply_to,
        } => {
            let bytes =
                std::fs::read(&bundle).with_context(|| format!("reading {}", bundle.display()))?;
            let outcome = import(&http, &server, bytes)?;
            println!("{}", serde_json::to_string_pretty(&outcome["import"])?);
            if let Some(partner) = reply_to {
                reply(&http, &partner, &outcome)?;
            }
        }
        Command::Follow {
            server,
            from,
            agreement,
            data,
            interval,
            max_bundles,
        } => follow(
            &http,
            &server,
            &from,
            &agreement,
            &data,
            interval,
            max_bundles,
        )?,
    }
    Ok(ExitCode::SUCCESS)
}

fn import(
    http: &reqwest::blocking::Client,
    server: &Server,
    bytes: Vec<u8>,
) -> anyhow::Result<serde_json::Value> {
    Ok(check(
        http.post(format!("{}/api/v1/share/imports", server.server))
            .bearer_auth(&server.token)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes)
            .send()?,
    )?
    .json()?)
}

/// Sends our cosignature of the partner's checkpoint and our signed hit answers back to the partner.
fn reply(
    http: &reqwest::blocking::Client,
    partner: &str,
    outcome: &serde_json::Value,
) -> anyhow::Result<()> {
    let bundle_id = outcome["import"]["id"].as_str().unwrap_or_default();
    if let Some(lines) = outcome["cosignature"].as_str() {
        check(
            http.post(format!(
                "{partner}/api/v1/share/exports/{bundle_id}/cosignatures"
            ))
            .header(reqwest::header::CONTENT_TYPE, "text/plain")
            .body(lines.to_owned())
            .send()?,
        )?;
        eprintln!("cosignature of bundle {bundle_id} sent");
    }
    for answer in outcome["answers"].as_array().into_iter().flatten() {
        check(
            http.post(format!("{partner}/api/v1/share/answers"))
                .json(answer)
                .send()?,
        )?;
        eprintln!("hit answer sent");
    }
    Ok(())
}

fn follow(
    http: &reqwest::blocking::Client,
    server: &Server,
    from: &str,
    agreement: &str,
    data: &std::path::Path,
    interval: u64,
    max_bundles: u64,
) -> anyhow::Result<()> {
    let key = garita_server::share::load_or_create_sharing_key(&data.join("share.key"))
        .with_context(|| format!("sharing key in {}", data.display()))?;
    let mut imported = 0u64;
    loop {
        // The cursor is what we imported, read from our own store: nothing to keep in sync after a restart.
        let imports: serde_json::Value = check(
            http.get(format!(
                "{}/api/v1/share/imports?agreement={agreement}",
                server.server
            ))
            .bearer_auth(&server.token)
            .send()?,
        )?
        .json()?;
        let after = imports
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|import| import["sequence"].as_u64())
            .max()
            .unwrap_or(0);
        let path = format!("/api/v1/share/feed/{agreement}?after={after}");
        let signature =
            garita_share::sign_request(&key, "GET", &path, time::OffsetDateTime::now_utc());
        let response = http
            .get(format!("{from}{path}"))
            .header("garita-partner", signature)
            .send();
        match response.map(check) {
            Ok(Ok(response)) if response.status() == reqwest::StatusCode::OK => {
                let outcome = import(http, server, response.bytes()?.to_vec())?;
                eprintln!(
                    "imported bundle {} ({} records)",
                    outcome["import"]["sequence"], outcome["import"]["record_count"]
                );
                reply(http, from, &outcome)?;
                imported += 1;
                if max_bundles != 0 && imported >= max_bundles {
                    return Ok(());
                }
                continue;
            }
            Ok(Ok(_)) => {}
            // The partner may be restarting: retry at the next poll.
            Ok(Err(err)) => eprintln!("feed: {err:#}"),
            Err(err) => eprintln!("feed: {err}"),
        }
        std::thread::sleep(Duration::from_secs(interval.max(1)));
    }
}
