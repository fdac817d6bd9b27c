//! Shared state and configuration of the server.

use garita_model::CountryCode;
use garita_store::Store;
use std::sync::Arc;
use time::OffsetDateTime;

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
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            country: None,
            agency_name: "garita".into(),
            token_ttl: time::Duration::hours(12),
            max_body_bytes: 64 * 1024 * 1024,
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
    /// Settings.
    pub config: Arc<ServerConfig>,
    clock: Clock,
}

impl AppState {
    /// State over a store with the system clock.
    pub fn new(store: Store, config: ServerConfig) -> Self {
        AppState {
            store,
            config: Arc::new(config),
            clock: Arc::new(OffsetDateTime::now_utc),
        }
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
