//! What field terminals need beyond `POST /api/v1/captures` (docs/terminal.md): device-signed requests, resumable
//! chunked uploads of large captures, and the ledger proof of a device's own capture.
//!
//! A device request carries `Garita-Device: v1 <device id> <unix seconds> <base64 Ed25519 signature>`; the
//! signature covers [`garita_model::device_request_bytes`]. The time must be within [`MAX_SKEW_SECONDS`] of the server's clock.
//! Uploads: `POST /api/v1/uploads` presents the signed envelope (authenticated by its signature, like a capture)
//! and gets an unguessable upload id and the durable offset; `PUT /api/v1/uploads/{id}` with `Upload-Offset`
//! appends a chunk (fsync'd before the answer names the new offset); `POST /api/v1/uploads/{id}/commit` runs the
//! same ingest as an inline capture, so (device, seq) stays exactly-once whichever way a capture arrives.

use crate::captures::{CaptureResponse, check_signed, ingest, replay};
use crate::extract::{Id, JsonBody, Remote, remote_addr};
use crate::{ApiError, AppState};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Verifier;
use garita_model::{Envelope, SignedEnvelope};
use garita_store::Upload;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The header a device signs its requests with.
pub const DEVICE_HEADER: &str = "garita-device";
/// The header naming where a chunk starts.
pub const OFFSET_HEADER: &str = "upload-offset";
/// Largest clock difference accepted between a device request and the server, in seconds.
pub const MAX_SKEW_SECONDS: i64 = 300;
/// Largest capture accepted through an upload (payload plus blobs).
pub const MAX_UPLOAD_BYTES: u64 = 1 << 30;
/// Uploads not committed this long after they started are forgotten (checked whenever an upload starts).
pub const UPLOAD_TTL: time::Duration = time::Duration::days(7);

/// A registered, active device authenticated by its request signature.
#[derive(Debug, Clone)]
pub struct AuthDevice {
    /// The device.
    pub device: garita_model::Device,
    /// Where from.
    pub remote: Option<String>,
}

fn device_unauthenticated(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "device-unauthenticated", message)
}

impl FromRequestParts<AppState> for AuthDevice {
    type Rejection = ApiError;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let text = parts
            .headers
            .get(DEVICE_HEADER)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| {
                device_unauthenticated(
                    "send Garita-Device: v1 <device id> <unix time> <signature> (docs/terminal.md)",
                )
            })?;
        let fields: Vec<&str> = text.split(' ').collect();
        let [version, id, unix, signature] = fields.as_slice() else {
            return Err(device_unauthenticated(
                "the Garita-Device header has 4 fields",
            ));
        };
        if *version != "v1" {
            return Err(device_unauthenticated("only Garita-Device v1 is known"));
        }
        let id: Uuid = id
            .parse()
            .map_err(|_| device_unauthenticated("the device id is not a UUID"))?;
        let unix: i64 = unix
            .parse()
            .map_err(|_| device_unauthenticated("the time is not unix seconds"))?;
        let skew = (state.now().unix_timestamp() - unix).abs();
        if skew > MAX_SKEW_SECONDS {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "clock-skew",
                format!(
                    "the request time is {skew} s from the server's ({}); at most {MAX_SKEW_SECONDS} s",
                    state.now().unix_timestamp()
                ),
            ));
        }
        let device = crate::captures::active_device(state, id).await?;
        let key = garita_model::parse_public_key(&device.public_key)?;
        let signature: [u8; 64] = B64
            .decode(signature.as_bytes())
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| device_unauthenticated("the signature is not 64 bytes of base64"))?;
        // The path as the device sent it: inside `/api/v1` the router has stripped the prefix from `parts.uri`.
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(&parts.uri, |original| &original.0);
        let path = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
        let message = garita_model::device_request_bytes(parts.method.as_str(), path, unix, id);
        key.verify(&message, &ed25519_dalek::Signature::from_bytes(&signature))
            .map_err(|_| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "bad-signature",
                    "the request signature does not verify under the device's registered key",
                )
            })?;
        Ok(AuthDevice {
            device,
            remote: remote_addr(parts),
        })
    }
}

/// The body of `POST /api/v1/uploads`: the signed envelope alone.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartUpload {
    envelope: Envelope,
    signature: String,
}

/// Where an upload stands; `capture` is set instead of an upload when the capture is already in.
#[derive(Serialize)]
pub(crate) struct UploadState {
    upload_id: Option<Uuid>,
    offset: u64,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    capture: Option<CaptureResponse>,
}

fn total_size(envelope: &Envelope) -> Result<u64, ApiError> {
    envelope
        .blobs
        .iter()
        .try_fold(envelope.payload_size, |sum, blob| {
            sum.checked_add(blob.size)
        })
        .filter(|total| *total <= MAX_UPLOAD_BYTES)
        .ok_or_else(|| {
            ApiError::invalid(
                "envelope",
                format!("payload and blobs exceed {MAX_UPLOAD_BYTES} bytes"),
            )
        })
}

/// `POST /api/v1/uploads`: start (or resume) the upload of a signed capture.
pub(crate) async fn start(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<StartUpload>,
) -> Result<(StatusCode, Json<UploadState>), ApiError> {
    let signed = SignedEnvelope {
        envelope: request.envelope,
        signature: request.signature,
    };
    check_signed(&state, &signed).await?;
    let size = total_size(&signed.envelope)?;
    if let Some(capture) = replay(&state, &signed.envelope).await? {
        return Ok((
            StatusCode::OK,
            Json(UploadState {
                upload_id: None,
                offset: size,
                size,
                capture: Some(capture),
            }),
        ));
    }
    let expired = state.store.expire_uploads(state.now() - UPLOAD_TTL).await?;
    if expired > 0 {
        tracing::info!(expired, "forgot abandoned uploads");
    }
    let envelope_json = serde_json::to_string(&signed).map_err(|err| ApiError::internal(&err))?;
    let envelope = &signed.envelope;
    let (upload, created) = state
        .store
        .start_upload(
            envelope.device_id,
            envelope.seq,
            &garita_model::sha256_hex(&envelope.canonical_bytes()),
            &envelope_json,
            size,
            state.now(),
        )
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(upload_state(&upload))))
}

fn upload_state(upload: &Upload) -> UploadState {
    UploadState {
        upload_id: Some(upload.id),
        offset: upload.received,
        size: upload.total_size,
        capture: None,
    }
}

/// The upload `id` of the authenticated device; any other device's upload is not found.
async fn own_upload(state: &AppState, auth: &AuthDevice, id: Uuid) -> Result<Upload, ApiError> {
    state
        .store
        .upload(id)
        .await?
        .filter(|upload| upload.device_id == auth.device.id)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "upload-not-found",
                "no such upload (committed, abandoned, or another device's); start again",
            )
        })
}

fn offset_of(headers: &HeaderMap) -> Result<u64, ApiError> {
    headers
        .get(OFFSET_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| {
            ApiError::invalid(
                "Upload-Offset",
                "send the chunk's start as Upload-Offset: <bytes>",
            )
        })
}

/// `PUT /api/v1/uploads/{id}`: a chunk at `Upload-Offset`; answers the durable offset after the chunk.
pub(crate) async fn put_chunk(
    State(state): State<AppState>,
    auth: AuthDevice,
    Id(id): Id,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<UploadState>, ApiError> {
    let upload = own_upload(&state, &auth, id).await?;
    let offset = offset_of(&headers)?;
    if offset > upload.received {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "offset-mismatch",
            format!(
                "the server holds {} bytes of this upload; resume from there",
                upload.received
            ),
        ));
    }
    if offset.saturating_add(body.len() as u64) > upload.total_size {
        return Err(ApiError::invalid(
            "body",
            format!(
                "the chunk runs past the {} bytes the envelope declares",
                upload.total_size
            ),
        ));
    }
    let received = state.store.append_upload(&upload, offset, &body).await?;
    Ok(Json(UploadState {
        offset: received,
        ..upload_state(&upload)
    }))
}

/// `POST /api/v1/uploads/{id}/commit`: ingest the uploaded capture (201 new, 200 replay, 409 conflict).
pub(crate) async fn commit(
    State(state): State<AppState>,
    auth: AuthDevice,
    Remote(remote): Remote,
    Id(id): Id,
) -> Result<(StatusCode, Json<CaptureResponse>), ApiError> {
    let upload = own_upload(&state, &auth, id).await?;
    if upload.received != upload.total_size {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "upload-incomplete",
            format!(
                "{} of {} bytes received; send the rest first",
                upload.received, upload.total_size
            ),
        ));
    }
    let signed: SignedEnvelope =
        serde_json::from_str(&upload.envelope_json).map_err(|err| ApiError::internal(&err))?;
    let store = state.store.clone();
    let staged = upload.clone();
    let bytes = tokio::task::spawn_blocking(move || store.read_upload(&staged))
        .await
        .map_err(|err| ApiError::internal(&err))??;
    let (payload, blobs) = split(&signed.envelope, bytes)?;
    // Checked again at commit: the device may have been revoked since the upload started.
    let device = check_signed(&state, &signed).await?;
    let result = ingest(
        &state,
        remote.or(auth.remote),
        &device,
        signed,
        payload,
        blobs,
    )
    .await;
    match &result {
        // Done, or bytes that can never match the envelope: either way this upload is over.
        Ok(_) => state.store.delete_upload(id).await?,
        Err(err) if err.status == StatusCode::UNPROCESSABLE_ENTITY => {
            state.store.delete_upload(id).await?;
        }
        Err(_) => {}
    }
    result
}

/// Cuts the uploaded bytes into the payload and the blobs, by the sizes the envelope declares.
fn split(envelope: &Envelope, bytes: Vec<u8>) -> Result<(Vec<u8>, Vec<Vec<u8>>), ApiError> {
    let mut parts = Vec::with_capacity(envelope.blobs.len());
    let sizes = std::iter::once(envelope.payload_size).chain(envelope.blobs.iter().map(|b| b.size));
    let mut rest = bytes;
    for size in sizes {
        let size = usize::try_from(size).map_err(|err| ApiError::internal(&err))?;
        if rest.len() < size {
            return Err(ApiError::invalid(
                "body",
                "fewer bytes than the envelope declares",
            ));
        }
        let tail = rest.split_off(size);
        parts.push(rest);
        rest = tail;
    }
    let mut parts = parts.into_iter();
    let payload = parts.next().unwrap_or_default();
    Ok((payload, parts.collect()))
}

/// `GET /api/v1/device/proofs/{seq}`: the tlog-proof receipt of the calling device's own capture `seq`.
pub(crate) async fn own_proof(
    State(state): State<AppState>,
    auth: AuthDevice,
    Path(seq): Path<String>,
) -> Result<Response, ApiError> {
    let seq: u64 = seq.parse().map_err(|_| ApiError::not_found("capture"))?;
    let capture = state
        .store
        .capture_by_device_seq(auth.device.id, seq)
        .await?
        .ok_or_else(|| ApiError::not_found("capture"))?;
    let proof = crate::ledger::capture_proof(&state, &capture).await?;
    Response::builder()
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(proof.to_bytes()))
        .map_err(|err| ApiError::internal(&err))
}

/// The header carrying the server's signature of a watchlist snapshot.
pub const SNAPSHOT_SIGNATURE_HEADER: &str = "garita-signature";

/// `GET /api/v1/device/watchlist[?since=V]`: the watchlist entries added after version `V` with the finger
/// templates of each listed subject, signed with the log key (docs/terminal.md). Biometric personal data: the
/// read is audited with the device as actor.
pub(crate) async fn watchlist_snapshot(
    State(state): State<AppState>,
    auth: AuthDevice,
    query: crate::extract::QueryMap,
) -> Result<Response, ApiError> {
    use garita_model::snapshot::{SnapshotEntry, WatchlistSnapshot, snapshot_signing_bytes};
    let result = async {
        if !matches!(
            auth.device.kind,
            garita_model::DeviceKind::BiometricTerminal | garita_model::DeviceKind::MobileKit
        ) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "device-not-allowed",
                format!("a {} does not match people", auth.device.kind),
            ));
        }
        let asked: u64 = query.get("since")?.unwrap_or(0);
        let (_, total) = state.store.watchlist_since(u64::MAX).await?;
        // A terminal ahead of the server (a restored server) gets everything again.
        let since = if asked > total { 0 } else { asked };
        let (entries, version) = state.store.watchlist_since(since).await?;
        let templates = state.store.all_templates().await?;
        let mut snapshot = Vec::with_capacity(entries.len());
        for entry in entries {
            let mut encoded = Vec::new();
            for row in templates
                .iter()
                .filter(|row| row.subject_id == entry.subject_id)
            {
                encoded.push(B64.encode(state.store.blobs().get(&row.blob_sha256).await?));
            }
            snapshot.push(SnapshotEntry {
                id: entry.id,
                subject_id: entry.subject_id,
                category: entry.category,
                templates: encoded,
            });
        }
        let entries = snapshot;
        Ok(WatchlistSnapshot {
            version,
            since,
            entries,
        })
    }
    .await;
    let mut event = garita_store::AuditEvent::new(state.now(), "watchlist.snapshot", "watchlist");
    event.actor_kind = "device".into();
    event.actor_id = Some(auth.device.id);
    event.object_id = result
        .as_ref()
        .ok()
        .map(|snapshot| format!("v{}..v{}", snapshot.since, snapshot.version));
    event.remote_addr = auth.remote.clone();
    event.outcome = match &result {
        Ok(_) => "ok",
        Err(err) => err.outcome(),
    }
    .into();
    crate::ledger::record_audit(&state, event).await?;
    let body = serde_json::to_vec(&result?).map_err(|err| ApiError::internal(&err))?;
    // Signed with the log key, which every terminal already pins to verify its proofs; the domain line keeps
    // these signatures apart from checkpoint signatures.
    let key = state.ledger.signing_key()?;
    let signature = ed25519_dalek::Signer::sign(&key, &snapshot_signing_bytes(&body));
    Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .header(SNAPSHOT_SIGNATURE_HEADER, B64.encode(signature.to_bytes()))
        .body(Body::from(body))
        .map_err(|err| ApiError::internal(&err))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_cuts_by_declared_sizes() {
        let envelope = Envelope::describe(
            Uuid::nil(),
            1,
            time::OffsetDateTime::UNIX_EPOCH,
            garita_model::PayloadType::Encounter,
            b"abc",
            &[b"de".as_slice(), b"".as_slice(), b"fgh".as_slice()],
        );
        let (payload, blobs) = split(&envelope, b"abcdefgh".to_vec()).unwrap();
        assert_eq!(payload, b"abc");
        assert_eq!(blobs, vec![b"de".to_vec(), Vec::new(), b"fgh".to_vec()]);
        assert!(split(&envelope, b"abcdefg".to_vec()).is_err());
    }
}
