//! `garita admin ...`: work directly on a data directory (the server may be running).

use super::config::{DEFAULT_DATA, FileConfig};
use anyhow::{Context, bail};
use garita_model::{
    Agency, CountryCode, DeviceKind, Mobility, Role, SiteKind, Username, parse_public_key,
};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use time::OffsetDateTime;

#[derive(clap::Args)]
pub struct DataArg {
    /// Data directory [default: ./garita-data]
    #[arg(long, env = "GARITA_DATA", default_value = DEFAULT_DATA)]
    data: PathBuf,
    /// Database URL, e.g. postgres://garita:PASSWORD@127.0.0.1:5432/garita [default: `database` in ./garita.toml,
    /// else SQLite in the data directory]
    #[arg(long, env = "GARITA_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// Where blobs are kept, as for `garita serve --blobs` (S3 settings from AWS_* variables) [default: DATA/blobs]
    #[arg(long, env = "GARITA_BLOBS")]
    blobs: Option<String>,
}

#[derive(clap::Subcommand)]
pub enum Command {
    /// Set the agency and its own country (ISO 3166-1 alpha-3) once; its citizens are never shared.
    Init {
        #[command(flatten)]
        data: DataArg,
        /// e.g. MEX
        #[arg(long)]
        country: String,
        /// Display name of the agency
        #[arg(long, default_value = "garita")]
        name: String,
    },
    /// Create a user; the password is read from standard input (one line).
    CreateUser {
        #[command(flatten)]
        data: DataArg,
        #[arg(long)]
        username: String,
        /// officer, supervisor, analyst, auditor or admin
        #[arg(long)]
        role: String,
        /// Read the password from standard input (required: passwords never go on the command line)
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Set a new password (read from standard input) and revoke the user's tokens.
    ResetPassword {
        #[command(flatten)]
        data: DataArg,
        #[arg(long)]
        username: String,
        /// Read the password from standard input
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Register a site; prints its id.
    AddSite {
        #[command(flatten)]
        data: DataArg,
        /// Unique name, e.g. "Manzanillo port"
        #[arg(long)]
        name: String,
        /// port, land-crossing or detention-facility
        #[arg(long)]
        kind: String,
        /// fixed or mobile
        #[arg(long, default_value = "fixed")]
        mobility: String,
    },
    /// Register a device key at a site; prints the device id to configure on the device.
    AddDevice {
        #[command(flatten)]
        data: DataArg,
        /// Site id or name
        #[arg(long)]
        site: String,
        /// nii-scanner, biometric-terminal or mobile-kit
        #[arg(long)]
        kind: String,
        /// The device's public key, as printed by `garita device keygen`
        #[arg(long)]
        public_key: String,
    },
}

fn read_password() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading the password from standard input")?;
    let password = text.lines().next().unwrap_or("").to_owned();
    if password.chars().count() < 12 {
        bail!("the password must have at least 12 characters");
    }
    Ok(password)
}

fn hash(password: &str) -> anyhow::Result<String> {
    garita_server::hash_password(password).map_err(|err| anyhow::anyhow!(err.message))
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    super::runtime()?.block_on(async move {
        let now = OffsetDateTime::now_utc();
        let open = |data: &DataArg| {
            let path = data.data.clone();
            let flag = data.database.clone();
            let blobs = data.blobs.clone();
            async move {
                // ./garita.toml is read only when neither the flag nor GARITA_DATABASE names a database.
                let from_file = match flag {
                    Some(_) => None,
                    None => FileConfig::load(None)?.database,
                };
                let database = super::config::database(flag, from_file);
                let store = super::config::open_store(&path, database.as_deref()).await?;
                Ok::<_, anyhow::Error>(match super::config::blob_store(blobs.as_deref(), None)? {
                    Some(blobs) => store.with_blobs(blobs),
                    None => store,
                })
            }
        };
        match command {
            Command::Init {
                data,
                country,
                name,
            } => {
                let store = open(&data).await?;
                let agency = Agency {
                    name,
                    country: CountryCode::new(&country)?,
                };
                let agency = store
                    .init_agency(&agency, now)
                    .await
                    .context("the agency country is set once")?;
                println!("agency {} ({})", agency.name, agency.country);
            }
            Command::CreateUser {
                data,
                username,
                role,
                ..
            } => {
                let username = Username::new(&username)?;
                let role: Role = role.parse()?;
                let password = read_password()?;
                let store = open(&data).await?;
                let user = store
                    .create_user(&username, role, &hash(&password)?, now)
                    .await?;
                println!("{}", user.id);
            }
            Command::ResetPassword { data, username, .. } => {
                let password = read_password()?;
                let store = open(&data).await?;
                store
                    .set_password(&username, &hash(&password)?, now)
                    .await?;
                println!("password of {username} changed; their tokens are revoked");
            }
            Command::AddSite {
                data,
                name,
                kind,
                mobility,
            } => {
                let kind: SiteKind = kind.parse()?;
                let mobility: Mobility = mobility.parse()?;
                if name.trim().is_empty() {
                    bail!("--name must not be empty");
                }
                let store = open(&data).await?;
                let site = store.create_site(name.trim(), kind, mobility, now).await?;
                println!("{}", site.id);
            }
            Command::AddDevice {
                data,
                site,
                kind,
                public_key,
            } => {
                let kind: DeviceKind = kind.parse()?;
                parse_public_key(&public_key)?;
                let store = open(&data).await?;
                let site = store.site(&site).await?.with_context(|| {
                    format!("no site {site:?}; create it with `garita admin add-site`")
                })?;
                let device = store
                    .create_device(site.id, kind, public_key.trim(), now)
                    .await?;
                println!("{}", device.id);
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
