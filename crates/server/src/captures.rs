//! `POST /api/v1/captures`: signed envelopes from devices (docs/envelope.md).
//!
//! Checks run cheapest-first and nothing is written until all pass: body shape, device known and active (403),
//! signature (401), payload and blobs match the envelope (422), device kind may send this payload type (403),
//! payload valid (422). Then blobs are stored (fsync'd) and the rows committed in one transaction; only then does
//! the device get its receipt: 201 for a new capture, 200 with the original receipt for an identical replay, 409
//! when the sequence number was already used for different content.

use crate::extract::{JsonBody, Remote};
use crate::{ApiError, AppState};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use garita_model::payload::{ConsignmentCapture, EncounterCapture, parse_json};
use garita_model::{DeviceKind, DeviceStatus, Envelope, MAX_BLOBS, PayloadType, SignedEnvelope};
use garita_store::{AuditEvent, CaptureEffect, IngestOutcome, NewCapture, Receipt};
use serde::Deserialize;

/// A capture as it travels: the signed envelope with the payload and blobs inline (standard base64).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaptureRequest {
    envelope: Envelope,
    signature: String,
    payload: String,
    #[serde(default)]
    blobs: Vec<String>,
}

fn decode(field: String, text: &str) -> Result<Vec<u8>, ApiError> {
    B64.decode(text.as_bytes())
        .map_err(|_| ApiError::invalid(field, "not standard base64"))
}

fn allowed(kind: DeviceKind, payload_type: PayloadType) -> bool {
    match payload_type {
        PayloadType::Encounter | PayloadType::An2 => {
            matches!(kind, DeviceKind::BiometricTerminal | DeviceKind::MobileKit)
        }
        PayloadType::Consignment => kind == DeviceKind::NiiScanner,
    }
}

/// What a payload creates, and the blobs the server extracts from it (images inside an ANSI/NIST transaction).
fn effect_of(
    envelope: &Envelope,
    payload: &[u8],
    blob_names: &[String],
) -> Result<(CaptureEffect, Vec<Vec<u8>>), ApiError> {
    match envelope.payload_type {
        PayloadType::Encounter => {
            let capture: EncounterCapture = parse_json(payload)?;
            let mut samples = Vec::with_capacity(capture.samples.len());
            for (index, spec) in capture.samples.into_iter().enumerate() {
                let name = blob_names.get(spec.blob).ok_or_else(|| {
                    ApiError::invalid(
                        format!("samples[{index}].blob"),
                        "no envelope blob with that index",
                    )
                })?;
                samples.push((spec, name.clone()));
            }
            Ok((
                CaptureEffect::Encounter {
                    subject: capture.subject,
                    samples,
                },
                Vec::new(),
            ))
        }
        PayloadType::Consignment => Ok((
            CaptureEffect::Consignment(parse_json::<ConsignmentCapture>(payload)?),
            Vec::new(),
        )),
        PayloadType::An2 => an2_effect(payload),
    }
}

/// An ANSI/NIST-ITL enrollment: one sample per image record, its bytes stored as they are (WSQ stays WSQ).
/// The whole transaction is kept as the payload blob, so type-9 minutiae and type-2 text travel on export.
fn an2_effect(payload: &[u8]) -> Result<(CaptureEffect, Vec<Vec<u8>>), ApiError> {
    use garita_an2::{Compression, Modality as An2Modality};
    use garita_model::payload::{SampleSpec, SubjectClaim};
    use garita_model::{Modality, NistPosition, SampleFormat};
    let transaction = garita_an2::Transaction::from_bytes(payload).map_err(|err| {
        ApiError::invalid(
            "payload",
            format!("not a valid ANSI/NIST-ITL transaction: {err}"),
        )
    })?;
    let mut samples = Vec::new();
    let mut images = Vec::new();
    for view in transaction.images() {
        let modality = match view.modality {
            An2Modality::Finger | An2Modality::Latent => Modality::Finger,
            An2Modality::Palm => Modality::Palm,
            An2Modality::Face => Modality::Face,
            An2Modality::Smt => Modality::ScarMarkTattoo,
            An2Modality::Iris => Modality::Iris,
            // Signatures and user-defined images stay in the transaction but are not biometric samples.
            _ => continue,
        };
        let format = match view.compression {
            Compression::Wsq => SampleFormat::Wsq,
            Compression::JpegBaseline | Compression::JpegLossless => SampleFormat::Jpeg,
            Compression::Jpeg2000 | Compression::Jpeg2000Lossless => SampleFormat::Jp2,
            Compression::Png => SampleFormat::Png,
            Compression::None => SampleFormat::Raw,
            _ => continue,
        };
        let position = match modality {
            Modality::Finger | Modality::Palm => view
                .positions
                .first()
                .and_then(|code| NistPosition::new(*code).ok())
                .unwrap_or(NistPosition::UNKNOWN),
            _ => NistPosition::UNKNOWN,
        };
        let spec = SampleSpec {
            modality,
            position,
            format,
            quality: None,
            blob: 0,
        };
        samples.push((spec, garita_model::sha256_hex(view.data)));
        images.push(view.data.to_vec());
    }
    if samples.is_empty() {
        return Err(ApiError::invalid(
            "payload",
            "the transaction holds no biometric image record",
        ));
    }
    let subject = SubjectClaim {
        claimed_citizenship: None,
        given_name: None,
        family_name: None,
    };
    Ok((CaptureEffect::Encounter { subject, samples }, images))
}

/// The receipt, and the alerts the capture raised (1:N hits), so a terminal can show them at once.
#[derive(serde::Serialize)]
pub(crate) struct CaptureResponse {
    #[serde(flatten)]
    pub(crate) receipt: Receipt,
    pub(crate) alerts: Vec<garita_model::Alert>,
    /// On a cluster: whether the 1:N search reached every gallery shard (absent on a single node).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) search: Option<crate::matcher::SearchReport>,
    /// Per finger sample of a new encounter: minutiae found, whether it was searched, and advice to capture it
    /// again when it is unusable or sparse (absent when the capture has no finger image, and on a replay).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) fingers: Vec<crate::matcher::FingerCheck>,
}

fn answer(outcome: IngestOutcome, seq: u64) -> Result<(StatusCode, Json<Receipt>), ApiError> {
    match outcome {
        IngestOutcome::Created(receipt) => Ok((StatusCode::CREATED, Json(receipt))),
        IngestOutcome::Duplicate(receipt) => Ok((StatusCode::OK, Json(receipt))),
        IngestOutcome::Conflict { existing } => Err(ApiError::new(
            StatusCode::CONFLICT,
            "sequence-conflict",
            format!(
                "sequence number {seq} of this device already names capture {existing} with different content"
            ),
        )),
    }
}

/// The registered, active device an envelope names, or the 403 that refuses it.
pub(crate) async fn active_device(
    state: &AppState,
    device_id: uuid::Uuid,
) -> Result<garita_model::Device, ApiError> {
    let device = state.store.device(device_id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "unknown-device",
            "this device is not registered; ask an admin to add its key",
        )
    })?;
    if device.status == DeviceStatus::Revoked {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "device-revoked",
            "this device has been revoked",
        ));
    }
    Ok(device)
}

/// Checks who signed, and that the signer may send this kind of capture: device known and active (403),
/// signature (401), blob count (422), device kind (403). Returns the device.
pub(crate) async fn check_signed(
    state: &AppState,
    signed: &SignedEnvelope,
) -> Result<garita_model::Device, ApiError> {
    let device = active_device(state, signed.envelope.device_id).await?;
    signed.verify(&device.public_key)?;
    if signed.envelope.blobs.len() > MAX_BLOBS {
        return Err(ApiError::invalid(
            "envelope.blobs",
            format!("at most {MAX_BLOBS} blobs per capture"),
        ));
    }
    check_kind(&device, signed.envelope.payload_type)?;
    Ok(device)
}

fn check_kind(device: &garita_model::Device, payload_type: PayloadType) -> Result<(), ApiError> {
    if allowed(device.kind, payload_type) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "device-not-allowed",
            format!("a {} may not send {payload_type} captures", device.kind),
        ))
    }
}

/// The stored answer for (device, seq) when the capture is already in: 200 with the original receipt and its
/// alerts, or 409 when the sequence number names other content. `None` when the capture is new.
pub(crate) async fn replay(
    state: &AppState,
    envelope: &Envelope,
) -> Result<Option<CaptureResponse>, ApiError> {
    let envelope_sha256 = garita_model::sha256_hex(&envelope.canonical_bytes());
    let Some(outcome) = state
        .store
        .existing_capture(envelope.device_id, envelope.seq, &envelope_sha256)
        .await?
    else {
        return Ok(None);
    };
    let (_, Json(receipt)) = answer(outcome, envelope.seq)?;
    let alerts = match receipt.encounter_id {
        Some(encounter_id) => state.store.alerts_of_encounter(encounter_id).await?,
        None => Vec::new(),
    };
    Ok(Some(CaptureResponse {
        receipt,
        alerts,
        search: None,
        fingers: Vec::new(),
    }))
}

/// `POST /api/v1/captures`
pub(crate) async fn create(
    State(state): State<AppState>,
    Remote(remote): Remote,
    JsonBody(request): JsonBody<CaptureRequest>,
) -> Result<(StatusCode, Json<CaptureResponse>), ApiError> {
    let signed = SignedEnvelope {
        envelope: request.envelope,
        signature: request.signature,
    };
    // Who signed is checked before a byte of the payload is decoded.
    let device = check_signed(&state, &signed).await?;
    if request.blobs.len() > MAX_BLOBS {
        return Err(ApiError::invalid(
            "blobs",
            format!("at most {MAX_BLOBS} blobs per capture"),
        ));
    }
    let payload = decode("payload".into(), &request.payload)?;
    let blobs = request
        .blobs
        .iter()
        .enumerate()
        .map(|(index, text)| decode(format!("blobs[{index}]"), text))
        .collect::<Result<Vec<_>, _>>()?;
    ingest(&state, remote, &device, signed, payload, blobs).await
}

/// The one ingest path, for inline captures and committed uploads: every check, then blobs, ledger entry and
/// rows, the audit event, cargo analysis and the 1:N search. Idempotent on (device, seq).
///
/// `device` is the signer as [`check_signed`] returned it: the caller has checked the signature.
pub(crate) async fn ingest(
    state: &AppState,
    remote: Option<String>,
    device: &garita_model::Device,
    signed: SignedEnvelope,
    payload: Vec<u8>,
    blobs: Vec<Vec<u8>>,
) -> Result<(StatusCode, Json<CaptureResponse>), ApiError> {
    let state = state.clone();
    let envelope = &signed.envelope;
    envelope.check_content(&payload, &blobs)?;
    let blob_names: Vec<String> = envelope
        .blobs
        .iter()
        .map(|blob| blob.sha256.to_string())
        .collect();
    let (effect, extracted) = effect_of(envelope, &payload, &blob_names)?;
    let consignment = match &effect {
        CaptureEffect::Consignment(consignment) => Some(consignment.clone()),
        CaptureEffect::Encounter { .. } => None,
    };
    if let Some(response) = replay(&state, envelope).await? {
        // A replay: answer from the store without logging or writing anything again.
        return Ok((StatusCode::OK, Json(response)));
    }
    let canonical = envelope.canonical_bytes();

    // Everything checked: make the bytes durable, then the rows.
    for bytes in std::iter::once(payload).chain(blobs).chain(extracted) {
        state.store.blobs().put(bytes).await?;
    }
    // The ledger entry is durable before the row that names it: a crash in between leaves an entry with no row
    // (which reveals nothing), never an acknowledged record missing from the log.
    let received_at = state.now();
    let time = crate::ledger::unix(received_at);
    let device_label = envelope.device_id.to_string();
    let place = crate::ledger::append_record(&state, &canonical, |commitment| {
        garita_ledger::LedgerEntry::capture(
            time,
            &device_label,
            envelope.seq,
            envelope.payload_type.as_str(),
            commitment,
        )
    })
    .await?;
    let outcome = state
        .store
        .ingest_capture(&NewCapture {
            signed: signed.clone(),
            site_id: device.site_id,
            received_at,
            salt: place.salt,
            leaf_index: Some(place.leaf_index),
            effect,
        })
        .await?;
    let (status, Json(receipt)) = answer(outcome, signed.envelope.seq)?;
    if status == StatusCode::CREATED {
        let mut event = AuditEvent::new(state.now(), "capture.create", "capture");
        event.actor_kind = "device".into();
        event.actor_id = Some(device.id);
        event.object_id = Some(receipt.capture_id.to_string());
        event.remote_addr = remote;
        crate::ledger::record_audit(&state, event).await?;
    }
    // Cargo: analyse the scan and assign the lane before answering, like the 1:N search below.
    if let (Some(consignment_id), Some(consignment), true) = (
        receipt.consignment_id,
        &consignment,
        status == StatusCode::CREATED,
    ) && let Err(err) =
        crate::cargo::on_consignment(&state, consignment_id, consignment, blob_names.clone()).await
    {
        tracing::error!(%consignment_id, error = %err.message, "cargo analysis failed");
    }
    // 1:N search before answering, so the site sees a hit at once. The capture is already durable: a failure
    // here is logged and the capture still acknowledged.
    let (alerts, search, fingers) = match receipt.encounter_id {
        Some(encounter_id) if status == StatusCode::CREATED => {
            match crate::matcher::enroll_and_search(&state, encounter_id).await {
                Ok(found) => found,
                Err(err) => {
                    tracing::error!(%encounter_id, error = %err.message, "1:N search failed");
                    // On a cluster the officer is told the search did not run, rather than shown no hits.
                    let report = state
                        .matcher
                        .cluster()
                        .map(|part| crate::matcher::SearchReport {
                            complete: false,
                            missing_shards: part.cluster.all_shards().into_iter().collect(),
                        });
                    (Vec::new(), report, Vec::new())
                }
            }
        }
        _ => (Vec::new(), None, Vec::new()),
    };
    Ok((
        status,
        Json(CaptureResponse {
            receipt,
            alerts,
            search,
            fingers,
        }),
    ))
}
