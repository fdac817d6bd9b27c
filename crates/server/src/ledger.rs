//! The ledger as the server uses it: append records (durably, before acknowledging them), serve `/log/`, give
//! proofs and accept witness cosignatures. Entry encoding and guarantees: docs/ledger.md.

use crate::extract::{AuthUser, Id};
use crate::policy::ANY;
use crate::{ApiError, AppState};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use garita_ledger::{Commitment, LedgerEntry, LogError};
use garita_store::{AuditEvent, LedgerRef};
use time::OffsetDateTime;

fn ledger_error(err: &LogError) -> ApiError {
    ApiError::internal(err)
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
    let ledger = state.ledger.clone();
    tokio::task::spawn_blocking(move || ledger.append(&bytes))
        .await
        .map_err(|err| ApiError::internal(&err))?
        .map_err(|err| ledger_error(&err))
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
    let ledger = state.ledger.clone();
    let lookup = path.clone();
    let bytes = tokio::task::spawn_blocking(move || ledger.serve(&lookup))
        .await
        .map_err(|err| ApiError::internal(&err))?
        .map_err(|err| ledger_error(&err))?
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
    let ledger = state.ledger.clone();
    let proof = tokio::task::spawn_blocking(move || ledger.receipt(leaf, salt))
        .await
        .map_err(|err| ApiError::internal(&err))?;
    match proof {
        Ok(proof) => Ok(proof),
        Err(LogError::NotIntegrated { .. }) => Err(ApiError::new(
            StatusCode::TOO_EARLY,
            "not-integrated",
            "the entry is durable but not yet in a published checkpoint; retry in a second",
        )),
        Err(err) => Err(ledger_error(&err)),
    }
}

/// `POST /api/v1/ledger/cosignatures`: a witness hands back its `cosignature/v1` lines for the current
/// checkpoint. Authenticated by the signatures themselves: only configured witness keys are accepted.
pub(crate) async fn add_cosignatures(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let ledger = state.ledger.clone();
    let accepted = tokio::task::spawn_blocking(move || ledger.add_cosignatures(&body))
        .await
        .map_err(|err| ApiError::internal(&err))?;
    match accepted {
        Ok(0) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "no-valid-cosignature",
            "no line is a valid cosignature of the current checkpoint by a configured witness",
        )),
        Ok(_) => Ok(StatusCode::NO_CONTENT),
        Err(err) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad-cosignature",
            err.to_string(),
        )),
    }
}
