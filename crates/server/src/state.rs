//! Shared state and configuration of the server.

use crate::ApiError;
use crate::ledger::Ledger;
use garita_cluster::ClusterLedger;
use garita_ledger::{Integrator, Log};
use garita_model::CountryCode;
use garita_store::Store;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Default log origin (the checkpoint's first line and the log key's name); set your own in garita.toml.
pub const DEFAULT_LOG_ORIGIN: &str = "garita.local/ledger";

/// Server settings (already validated by the binary).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The agency's own country, set on first start when none is stored.
    pub country: Option<CountryCode>,
    /// The agency's display name.
    pub agency_name: String,
    /// How long a login token lives.
    pub token_ttl: time::Duration,
    /// Largest request body accepted, in bytes (captures carry images).
    pub max_body_bytes: usize,
    /// Transparency log origin, fixed for the log's lifetime.
    pub log_origin: String,
    /// Cosigner verifier keys of the witnesses whose cosignatures the log accepts.
    pub witnesses: Vec<String>,
    /// How often the ledger publishes a new checkpoint.
    pub integrate_every: Duration,
    /// Retention rules; none by default (nothing is purged until the agency configures its legal periods).
    pub retention: Vec<crate::retention::RetentionRule>,
    /// Customs selectivity rules for risk lanes (risk origins, points, thresholds, random control rate and salt).
    pub lane_rules: garita_nii::LaneRules,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            country: None,
            agency_name: "garita".into(),
            token_ttl: time::Duration::hours(12),
            max_body_bytes: 64 * 1024 * 1024,
            log_origin: DEFAULT_LOG_ORIGIN.into(),
            witnesses: Vec::new(),
            integrate_every: Duration::from_millis(250),
            retention: Vec::new(),
            lane_rules: garita_nii::LaneRules::default(),
        }
    }
}

/// A source of the current time, so tests can control it.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// Storage.
    pub store: Store,
    /// The transparency log: `DATA/ledger` on a single node, the shared ledger on a cluster node.
    pub ledger: Ledger,
    /// The in-memory 1:N fingerprint gallery (rebuild it from the store with `matcher.rebuild`).
    pub matcher: Arc<crate::matcher::Matcher>,
    /// Settings.
    pub config: Arc<ServerConfig>,
    /// The agency's sharing keys (`DATA/share.key`): signs bundles, answers and cosignatures; decrypts imports.
    pub sharing: Arc<garita_share::SharingKey>,
    clock: Clock,
    // A single node's checkpoint publisher; stops (after a final integration) when the last state is dropped.
    // A cluster node's ledger runs its own leadership and publishing tasks.
    _integrator: Option<Arc<Integrator>>,
}

impl AppState {
    /// State over a store: opens (or creates) the ledger under the store's data directory and starts publishing.
    ///
    /// # Errors
    /// When the ledger cannot be opened (e.g. another process holds it, or its key or origin changed).
    pub fn new(store: Store, config: ServerConfig) -> Result<Self, ApiError> {
        let dir = store.data_dir().join("ledger");
        AppState::with_ledger_dir(store, config, &dir)
    }

    /// State over a store with the ledger in `dir` (tests run several in-process nodes over one store).
    ///
    /// # Errors
    /// When the ledger cannot be opened.
    pub fn with_ledger_dir(
        store: Store,
        config: ServerConfig,
        dir: &std::path::Path,
    ) -> Result<Self, ApiError> {
        let dir = dir.to_owned();
        std::fs::create_dir_all(&dir).map_err(|err| ApiError::internal(&err))?;
        let key = garita_ledger::load_or_create_signing_key(&Log::key_path(&dir))
            .map_err(|err| ApiError::internal(&err))?;
        let log =
            Log::open(&dir, key, &config.log_origin).map_err(|err| ApiError::internal(&err))?;
        log.set_witnesses(&config.witnesses)
            .map_err(|err| ApiError::internal(&err))?;
        let ledger = Arc::new(log);
        let integrator = Integrator::spawn(Arc::clone(&ledger), config.integrate_every);
        Self::with_ledger(store, Ledger::Local(ledger), Some(integrator), config)
    }

    /// State of a cluster node: the shared `ledger` (already started, see `garita_cluster::ClusterLedger::connect`)
    /// instead of a ledger directory. Nodes of one cluster share the log key and origin (the ledger checks), the
    /// database and the object store; this node's sharing key is read from the store's data directory.
    ///
    /// # Errors
    /// When a configured witness key is malformed or the sharing key cannot be read.
    pub fn new_cluster(
        store: Store,
        ledger: Arc<ClusterLedger>,
        config: ServerConfig,
    ) -> Result<Self, ApiError> {
        ledger
            .set_witnesses(&config.witnesses)
            .map_err(|err| ApiError::internal(&err))?;
        Self::with_ledger(store, Ledger::Cluster(ledger), None, config)
    }

    fn with_ledger(
        store: Store,
        ledger: Ledger,
        integrator: Option<Integrator>,
        config: ServerConfig,
    ) -> Result<Self, ApiError> {
        let sharing = crate::share::load_or_create_sharing_key(&store.data_dir().join("share.key"))
            .map_err(|err| ApiError::internal(&err))?;
        Ok(AppState {
            store,
            ledger,
            matcher: Arc::new(crate::matcher::Matcher::default()),
            config: Arc::new(config),
            sharing: Arc::new(sharing),
            clock: Arc::new(OffsetDateTime::now_utc),
            _integrator: integrator.map(Arc::new),
        })
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Now, by the state's clock.
    pub fn now(&self) -> OffsetDateTime {
        (self.clock)()
    }
}
