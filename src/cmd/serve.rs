//! `garita serve`

use super::config::{DEFAULT_DATA, DEFAULT_LISTEN, FileConfig};
use anyhow::Context;
use garita_model::CountryCode;
use garita_server::{AppState, ServerConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

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
    /// Run as one node of a cluster behind one address (docs/cluster.md): needs --database postgres://… and
    /// --blobs naming storage every node shares (s3://bucket or a shared directory); the ledger, node
    /// membership and the sharded 1:N gallery are then shared through them
    #[arg(long, env = "GARITA_CLUSTER")]
    cluster: bool,
    /// Cluster: this node's id, stable across restarts so it gets its shards back [default: the id in
    /// DATA/node-id, created on first start]
    #[arg(long, env = "GARITA_NODE_ID", requires = "cluster")]
    node_id: Option<uuid::Uuid>,
    /// Cluster: the base URL the other nodes reach this node at, e.g. http://10.0.0.5:8080 [default:
    /// http://LISTEN]
    #[arg(long, env = "GARITA_ADVERTISE", requires = "cluster")]
    advertise: Option<String>,
    /// Cluster: the secret all nodes share (at least 16 characters); it authenticates node-to-node searches.
    /// Prefer the environment variable: a flag shows in the process list
    #[arg(
        long,
        env = "GARITA_CLUSTER_SECRET",
        hide_env_values = true,
        requires = "cluster"
    )]
    cluster_secret: Option<String>,
    /// Cluster: the number of virtual gallery shards when this node creates the cluster (the first node to
    /// start). A cluster keeps the number it was created with; naming a different one is refused. More shards
    /// spread the 1:N gallery more evenly over many nodes; each shard is one unit of rebalancing [default: 64]
    #[arg(
        long,
        env = "GARITA_CLUSTER_SHARDS",
        requires = "cluster",
        value_parser = clap::value_parser!(u32).range(1..=65536)
    )]
    cluster_shards: Option<u32>,
}

/// What a cluster node needs besides a single node's settings.
struct NodeSettings {
    node_id: Option<uuid::Uuid>,
    advertise: Option<String>,
    secret: Option<String>,
    shards: Option<u32>,
    objects: Option<Arc<dyn object_store::ObjectStore>>,
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
    let node = if args.cluster {
        Some(NodeSettings {
            node_id: args.node_id,
            advertise: args.advertise,
            secret: args.cluster_secret,
            shards: args.cluster_shards,
            objects: super::config::blob_objects(args.blobs.as_deref(), file.blobs.as_ref())?,
        })
    } else {
        None
    };
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
        let (state, node_task) = match node {
            Some(node) => {
                let (state, task) =
                    start_node(store, config, &data, database.as_deref(), listen, node).await?;
                (state, Some(task))
            }
            None => {
                let state = AppState::new(store, config).map_err(|err| {
                    anyhow::anyhow!("opening the ledger: {}", err.message)
                })?;
                let templates = state.matcher.rebuild(&state.store).await.map_err(|err| {
                    anyhow::anyhow!("loading the fingerprint gallery: {}", err.message)
                })?;
                tracing::info!(templates, "fingerprint gallery loaded");
                (state, None)
            }
        };
        println!("ledger verifier key: {}", state.ledger.vkey());
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
        if let Some(task) = node_task {
            // A clean stop leaves the cluster at once: its shards move without waiting for the death timeout.
            task.leave().await;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Joins the cluster: the shared ledger (entries in PostgreSQL, tiles and checkpoints in the blobs' object store
/// under `log/`), then node membership and this node's shards of the 1:N gallery.
async fn start_node(
    store: garita_store::Store,
    config: ServerConfig,
    data: &Path,
    database: Option<&str>,
    listen: SocketAddr,
    node: NodeSettings,
) -> anyhow::Result<(AppState, garita_server::cluster::ClusterTask)> {
    let Some(database_url) = database.filter(|url| url.starts_with("postgres")) else {
        anyhow::bail!(
            "--cluster needs --database postgres://…: every node shares one PostgreSQL database"
        );
    };
    let Some(objects) = node.objects else {
        anyhow::bail!(
            "--cluster needs --blobs s3://bucket (or a directory every node mounts): blobs, log tiles and \
             checkpoints must be reachable from every node"
        );
    };
    let Some(secret) = node.secret.filter(|secret| secret.len() >= 16) else {
        anyhow::bail!(
            "--cluster needs GARITA_CLUSTER_SECRET (or --cluster-secret): the same secret on every node, at \
             least 16 characters"
        );
    };
    let node_id = match node.node_id {
        Some(id) => id,
        None => node_id_of(data)?,
    };
    let advertised_url = node.advertise.unwrap_or_else(|| format!("http://{listen}"));
    let ledger_dir = data.join("ledger");
    std::fs::create_dir_all(&ledger_dir)
        .with_context(|| format!("creating {}", ledger_dir.display()))?;
    let key_path = garita_ledger::Log::key_path(&ledger_dir);
    let key = garita_ledger::load_or_create_signing_key(&key_path)
        .with_context(|| format!("reading the ledger key {}", key_path.display()))?;
    let mut ledger_config = garita_cluster::ClusterConfig::new(&config.log_origin, key);
    ledger_config.node_id = node_id.to_string();
    ledger_config.witnesses = config.witnesses.clone();
    let ledger = garita_cluster::ClusterLedger::connect(database_url, objects, ledger_config)
        .await
        .map_err(|err| match err {
            garita_cluster::ClusterError::KeyMismatch { .. } => anyhow::anyhow!(
                "{err}: every node signs with the same log key; copy {} from the first node",
                key_path.display()
            ),
            other => anyhow::anyhow!("joining the shared ledger: {other}"),
        })?;
    let state = AppState::new_cluster(store, Arc::new(ledger), config)
        .map_err(|err| anyhow::anyhow!("starting the node: {}", err.message))?;
    let (state, task) = garita_server::cluster::start_node(
        state,
        garita_server::matcher::ClusterConfig {
            database_url: database_url.to_owned(),
            node_id,
            advertised_url: advertised_url.clone(),
            secret: secret.into_bytes(),
            options: garita_cluster::nodes::ClusterOptions {
                shards: node.shards.unwrap_or(garita_cluster::nodes::DEFAULT_SHARDS),
                ..garita_cluster::nodes::ClusterOptions::default()
            },
            search_timeout: Duration::from_secs(5),
        },
    )
    .await
    .map_err(|err| anyhow::anyhow!("joining the cluster: {}", err.message))?;
    if let (Some(asked), Some(cluster)) = (node.shards, state.matcher.cluster()) {
        let existing = cluster.cluster().shard_count();
        if asked != existing {
            anyhow::bail!(
                "--cluster-shards {asked}: this cluster was created with {existing} shards and keeps them; \
                 drop the flag (or give {existing})"
            );
        }
    }
    tracing::info!(%node_id, advertised = %advertised_url, "cluster node started");
    Ok((state, task))
}

/// This node's id, kept in `DATA/node-id` (created on first start).
fn node_id_of(data: &Path) -> anyhow::Result<uuid::Uuid> {
    let path = data.join("node-id");
    match std::fs::read_to_string(&path) {
        Ok(text) => text
            .trim()
            .parse()
            .with_context(|| format!("{} does not hold a UUID", path.display())),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let id = uuid::Uuid::new_v4();
            std::fs::write(&path, format!("{id}\n"))
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(id)
        }
        Err(err) => Err(err).with_context(|| format!("reading {}", path.display())),
    }
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // PostgreSQL's notices ("relation … already exists, skipping" from the idempotent schema and audit
        // partition statements every start runs) are not news; warnings and errors still show.
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx::postgres::notice=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
