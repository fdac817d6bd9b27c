//! garita's HTTP server: the JSON API under `/api/v1`, `/healthz`, `/openapi.json`, and the web console under
//! `/console` (server-rendered HTML, [`console`]).
//!
//! Only this crate knows HTTP. Handlers are thin: an extractor authenticates (a bearer token for people, an
//! Ed25519 envelope signature for devices) and parses the body, the handler checks the role ([`policy`]), calls
//! the store, writes the audit event, and maps errors through the one [`ApiError`].
//!
//! Entry points: [`app`] builds the router (tests drive it on a real socket), [`serve`] runs it, [`bootstrap`]
//! prepares a fresh data directory (first admin, agency country).

mod api;
mod auth;
mod captures;
mod cargo;
pub mod cluster;
mod console;
mod error;
mod extract;
mod ledger;
pub mod matcher;
pub mod openapi;
pub mod policy;
pub mod retention;
pub mod share;
mod state;
pub mod terminal;

pub use auth::{hash_password, verify_password};
pub use console::{CONSOLE_ROUTES, CONTENT_SECURITY_POLICY};
pub use error::ApiError;
pub use ledger::Ledger;
pub use state::{AppState, DEFAULT_LOG_ORIGIN, ServerConfig};

use axum::Router;
use axum::routing::get;
use garita_store::Store;
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Builds the whole router over `state`.
pub fn app(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .route("/", get(console::root))
        .route("/console/", get(console::root))
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi::serve))
        .route("/log/{*path}", get(ledger::serve_log))
        .nest("/api/v1", api::router())
        .nest("/console", console::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // The configured limit is the only one (axum's 2 MiB default would refuse large scans); bodies are read
        // through `extract::read_body`, which turns an overrun into a JSON `body-too-large`.
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// `GET /healthz`: liveness, no authentication, no data. A cluster node adds `ledger_node` and
/// `ledger_leader` (whether it sequences the shared ledger now, docs/cluster.md).
async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::Json<serde_json::Value> {
    match state.ledger.leader_status() {
        None => axum::Json(serde_json::json!({ "status": "ok" })),
        Some(status) => axum::Json(serde_json::json!({
            "status": "ok",
            "ledger_node": status.node_id,
            "ledger_leader": status.leading,
        })),
    }
}

async fn not_found() -> ApiError {
    ApiError::not_found("route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "this path exists but not with this method; see /openapi.json",
    )
}

/// What [`bootstrap`] did to a data directory.
#[derive(Debug, Default)]
pub struct Bootstrap {
    /// The password of the `admin` user created on first start; shown once.
    pub admin_password: Option<String>,
}

/// Prepares a store for service: on an empty user table creates `admin` with a random password; sets the
/// agency country from configuration when none is set.
///
/// # Errors
/// When the store fails.
pub async fn bootstrap(
    store: &Store,
    config: &ServerConfig,
    now: time::OffsetDateTime,
) -> Result<Bootstrap, ApiError> {
    let mut outcome = Bootstrap::default();
    if store.count_users().await? == 0 {
        let password = auth::random_secret(18);
        let username = garita_model::Username::new("admin")?;
        store
            .create_user(
                &username,
                garita_model::Role::Admin,
                &hash_password(&password)?,
                now,
            )
            .await?;
        outcome.admin_password = Some(password);
    }
    if let Some(country) = &config.country
        && store.agency().await?.is_none()
    {
        let agency = garita_model::Agency {
            name: config.agency_name.clone(),
            country: country.clone(),
        };
        store.init_agency(&agency, now).await?;
    }
    Ok(outcome)
}

/// Serves until Ctrl-C or SIGTERM. `on_ready` is called with the bound address (useful with port 0).
///
/// # Errors
/// When the address cannot be bound or the server fails.
pub async fn serve(
    state: AppState,
    listen: SocketAddr,
    on_ready: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    on_ready(listener.local_addr()?);
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
