//! The ledger as the server uses it: append records (durably, before acknowledging them), serve `/log/`, give
//! proofs and accept witness cosignatures. Entry encoding and guarantees: docs/ledger.md.

use crate::extract::{AuthUser, Id};
use crate::policy::ANY;
use crate::{ApiError, AppState};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use ed25519_dalek::SigningKey;
use garita_cluster::{ClusterError, ClusterLedger, LeaderStatus};
use garita_ledger::{Commitment, Hash, LedgerEntry, Log, LogError, TlogProof};
use garita_store::{AuditEvent, LedgerRef};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

fn ledger_error(err: &LogError) -> ApiError {
    ApiError::internal(err)
}

fn cluster_error(err: &ClusterError) -> ApiError {
    ApiError::internal(err)
}

/// The transparency log a node writes to: the file-backed log under `DATA/ledger` of a single node, or the
/// shared ledger of a cluster (PostgreSQL + object store, docs/cluster.md). Every method is async: the file log
/// runs on the blocking pool, the cluster ledger natively.
#[derive(Clone)]
pub enum Ledger {
    /// A single node's own log (the default, on SQLite).
    Local(Arc<Log>),
    /// A cluster node's handle on the shared ledger.
    Cluster(Arc<ClusterLedger>),
}

/// Runs a call on the file log in the blocking pool.
async fn blocking<T: Send + 'static>(
    log: &Arc<Log>,
    call: impl FnOnce(&Log) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let log = Arc::clone(log);
    tokio::task::spawn_blocking(move || call(&log))
        .await
        .map_err(|err| ApiError::internal(&err))
}

fn not_integrated() -> ApiError {
    ApiError::new(
        StatusCode::TOO_EARLY,
        "not-integrated",
        "the entry is durable but not yet in a published checkpoint; retry in a second",
    )
}

impl Ledger {
    /// The log's verifier key.
    pub fn vkey(&self) -> String {
        match self {
            Ledger::Local(log) => log.vkey(),
            Ledger::Cluster(cluster) => cluster.vkey(),
        }
    }

    /// Who sequences the shared ledger, as this node sees it; `None` for a single node.
    pub fn leader_status(&self) -> Option<LeaderStatus> {
        match self {
            Ledger::Local(_) => None,
            Ledger::Cluster(cluster) => Some(cluster.status()),
        }
    }

    /// Appends an entry; returns its leaf index once it is durable (fsync'd, or committed in PostgreSQL).
    ///
    /// # Errors
    /// 500 when the write fails; nothing is acknowledged then.
    pub async fn append(&self, entry: Vec<u8>) -> Result<u64, ApiError> {
        match self {
            Ledger::Local(log) => blocking(log, move |log| log.append(&entry))
                .await?
                .map_err(|err| ledger_error(&err)),
            Ledger::Cluster(cluster) => cluster
                .append(&entry)
                .await
                .map_err(|err| cluster_error(&err)),
        }
    }

    /// Entries durable so far.
    ///
    /// # Errors
    /// 500 when the cluster database fails.
    pub async fn durable_size(&self) -> Result<u64, ApiError> {
        match self {
            Ledger::Local(log) => Ok(log.durable_size()),
            Ledger::Cluster(cluster) => cluster
                .durable_size()
                .await
                .map_err(|err| cluster_error(&err)),
        }
    }

    /// Waits until a checkpoint of at least `size` is published or `timeout` passes; returns whether it was.
    ///
    /// # Errors
    /// 500 when the cluster database fails.
    pub async fn wait_published(&self, size: u64, timeout: Duration) -> Result<bool, ApiError> {
        match self {
            Ledger::Local(log) => blocking(log, move |log| log.wait_published(size, timeout)).await,
            Ledger::Cluster(cluster) => cluster
                .wait_published(size, timeout)
                .await
                .map_err(|err| cluster_error(&err)),
        }
    }

    /// The checkpoint as served, with accepted cosignatures.
    ///
    /// # Errors
    /// 500 when the cluster database fails.
    pub async fn checkpoint(&self) -> Result<Vec<u8>, ApiError> {
        match self {
            Ledger::Local(log) => Ok(log.checkpoint()),
            Ledger::Cluster(cluster) => cluster
                .checkpoint()
                .await
                .map_err(|err| cluster_error(&err)),
        }
    }

    /// A `/log/` resource; `None` is 404.
    ///
    /// # Errors
    /// 500 when it cannot be read.
    pub async fn serve(&self, path: String) -> Result<Option<Vec<u8>>, ApiError> {
        match self {
            Ledger::Local(log) => blocking(log, move |log| log.serve(&path))
                .await?
                .map_err(|err| ledger_error(&err)),
            Ledger::Cluster(cluster) => cluster
                .serve(&path)
                .await
                .map_err(|err| cluster_error(&err)),
        }
    }

    /// The published entry at `index`.
    ///
    /// # Errors
    /// 500 when it cannot be read.
    pub async fn entry(&self, index: u64) -> Result<Option<Vec<u8>>, ApiError> {
        match self {
            Ledger::Local(log) => blocking(log, move |log| log.entry(index))
                .await?
                .map_err(|err| ledger_error(&err)),
            Ledger::Cluster(cluster) => cluster
                .entry(index)
                .await
                .map_err(|err| cluster_error(&err)),
        }
    }

    /// The record receipt of leaf `index` (proof, checkpoint, salt and entry).
    ///
    /// # Errors
    /// 425 `not-integrated` until a published checkpoint covers the leaf; 500 otherwise.
    pub async fn receipt(&self, index: u64, salt: [u8; 32]) -> Result<TlogProof, ApiError> {
        match self {
            Ledger::Local(log) => match blocking(log, move |log| log.receipt(index, salt)).await? {
                Ok(proof) => Ok(proof),
                Err(LogError::NotIntegrated { .. }) => Err(not_integrated()),
                Err(err) => Err(ledger_error(&err)),
            },
            Ledger::Cluster(cluster) => match cluster.receipt(index, salt).await {
                Ok(proof) => Ok(proof),
                Err(ClusterError::Log(LogError::NotIntegrated { .. })) => Err(not_integrated()),
                Err(err) => Err(cluster_error(&err)),
            },
        }
    }

    /// The consistency proof between two published sizes.
    ///
    /// # Errors
    /// 500 for sizes beyond the published checkpoint.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ApiError> {
        match self {
            Ledger::Local(log) => blocking(log, move |log| log.consistency_proof(old, new))
                .await?
                .map_err(|err| ledger_error(&err)),
            Ledger::Cluster(cluster) => cluster
                .consistency_proof(old, new)
                .await
                .map_err(|err| cluster_error(&err)),
        }
    }

    /// Accepts witness cosignature lines for the current checkpoint; returns how many were accepted.
    ///
    /// # Errors
    /// 422 `bad-cosignature` naming why a line was refused (nothing is accepted then).
    pub async fn add_cosignatures(&self, lines: Vec<u8>) -> Result<usize, ApiError> {
        let refused = |err: &dyn std::fmt::Display| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad-cosignature",
                err.to_string(),
            )
        };
        match self {
            Ledger::Local(log) => blocking(log, move |log| log.add_cosignatures(&lines))
                .await?
                .map_err(|err| refused(&err)),
            Ledger::Cluster(cluster) => match cluster.add_cosignatures(&lines).await {
                Ok(count) => Ok(count),
                Err(ClusterError::Log(err)) => Err(refused(&err)),
                Err(err) => Err(cluster_error(&err)),
            },
        }
    }

    /// The log signing key (watchlist snapshots are signed with it).
    ///
    /// # Errors
    /// 500 when a single node's key file cannot be read.
    pub fn signing_key(&self) -> Result<SigningKey, ApiError> {
        match self {
            Ledger::Local(log) => {
                garita_ledger::load_or_create_signing_key(&Log::key_path(log.dir()))
                    .map_err(|err| ApiError::internal(&err))
            }
            Ledger::Cluster(cluster) => Ok(cluster.signing_key().clone()),
        }
    }
}

/// Unix seconds, the entry's time field.
pub(crate) fn unix(at: OffsetDateTime) -> u64 {
    u64::try_from(at.unix_timestamp()).unwrap_or(0)
}

/// A fresh salt and the commitment to `content` under it.
pub(crate) fn commit(content: &[u8]) -> ([u8; 32], Commitment) {
    let salt = Commitment::random_salt();
    (salt, Commitment::of_content(salt, content))
}

/// Appends an entry and waits until it is durable; returns its leaf index.
pub(crate) async fn append(state: &AppState, entry: LedgerEntry) -> Result<u64, ApiError> {
    let bytes = entry.to_bytes().map_err(|err| ApiError::internal(&err))?;
    state.ledger.append(bytes).await
}

/// Appends the record `content` under an entry made by `make` from its commitment; returns where it sits.
pub(crate) async fn append_record(
    state: &AppState,
    content: &[u8],
    make: impl FnOnce(Commitment) -> Result<LedgerEntry, garita_ledger::EntryError>,
) -> Result<LedgerRef, ApiError> {
    let (salt, commitment) = commit(content);
    let entry = make(commitment).map_err(|err| ApiError::internal(&err))?;
    let leaf_index = append(state, entry).await?;
    Ok(LedgerRef {
        salt: hex::encode(salt),
        leaf_index,
    })
}

/// Logs an officer's record (decision, seizure, finding, rejection) as a decision entry committing to its JSON.
pub(crate) async fn log_decision(
    state: &AppState,
    record: &impl serde::Serialize,
    at: OffsetDateTime,
) -> Result<LedgerRef, ApiError> {
    let bytes = serde_json::to_vec(record).map_err(|err| ApiError::internal(&err))?;
    let time = unix(at);
    append_record(state, &bytes, |commitment| {
        Ok(LedgerEntry::decision(time, commitment))
    })
    .await
}

/// Writes an audit event: ledger entry first (durable), then the row that names its leaf.
pub(crate) async fn record_audit(state: &AppState, mut event: AuditEvent) -> Result<(), ApiError> {
    let action = event.action.clone();
    let time = unix(state.now());
    let ledger = append_record(state, &event.canonical_bytes(), |commitment| {
        LedgerEntry::audit(time, &action, commitment)
    })
    .await?;
    event.leaf_index = Some(ledger.leaf_index);
    state.store.append_audit(&event, Some(&ledger.salt)).await?;
    Ok(())
}

/// `GET /log/{*path}`: the C2SP tlog-tiles resources (checkpoint, tiles, entry bundles). Public by design: the log
/// holds salted commitments and enumeration values only.
pub(crate) async fn serve_log(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let bytes = state
        .ledger
        .serve(path.clone())
        .await?
        .ok_or_else(|| ApiError::not_found("log resource"))?;
    let (content_type, cache) = if path == "checkpoint" {
        ("text/plain; charset=utf-8", "no-store")
    } else if path.contains(".p/") {
        ("application/octet-stream", "no-store")
    } else {
        // Full tiles never change.
        (
            "application/octet-stream",
            "public, max-age=31536000, immutable",
        )
    };
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, cache)
        .body(Body::from(bytes))
        .map_err(|err| ApiError::internal(&err))
}

/// `GET /api/v1/records/{id}/proof`: the C2SP tlog-proof receipt of a capture (inclusion proof, checkpoint, and
/// the salt with the logged entry so the holder of the envelope can check the commitment offline).
pub(crate) async fn record_proof(
    State(state): State<AppState>,
    auth: AuthUser,
    Id(id): Id,
) -> Result<Response, ApiError> {
    auth.require(ANY)?;
    let capture = state
        .store
        .capture(id)
        .await?
        .ok_or_else(|| ApiError::not_found("record"))?;
    let proof = capture_proof(&state, &capture).await?;
    Response::builder()
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(proof.to_bytes()))
        .map_err(|err| ApiError::internal(&err))
}

/// The tlog-proof receipt of a stored capture: 404 `not-logged` without a ledger entry, 425 `not-integrated`
/// until a published checkpoint covers it.
pub(crate) async fn capture_proof(
    state: &AppState,
    capture: &garita_store::StoredCapture,
) -> Result<garita_ledger::TlogProof, ApiError> {
    let leaf = capture.receipt.leaf_index.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not-logged",
            "this record has no ledger entry",
        )
    })?;
    let salt: [u8; 32] = hex::decode(&capture.salt)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| ApiError::internal(&"stored salt is not 32 hex bytes"))?;
    state.ledger.receipt(leaf, salt).await
}

/// `POST /api/v1/ledger/cosignatures`: a witness hands back its `cosignature/v1` lines for the current
/// checkpoint. Authenticated by the signatures themselves: only configured witness keys are accepted.
pub(crate) async fn add_cosignatures(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    match state.ledger.add_cosignatures(body.to_vec()).await? {
        0 => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "no-valid-cosignature",
            "no line is a valid cosignature of the current checkpoint by a configured witness",
        )),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}
