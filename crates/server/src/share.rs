//! Partner sharing over HTTP (docs/sharing.md): agreements (admin, ledger-recorded), exports as signed and
//! encrypted bundles with a ledger proof per record, imports that verify everything before storing anything, the
//! partner's witness cosignatures, hit answers that become alerts, and a pull feed for live forwarding.
//!
//! People authenticate with bearer tokens; a partner agency authenticates by its sharing key: a signed
//! `Garita-Partner` header on the feed, a signed answer, a cosignature that verifies.

use crate::api::audit;
use crate::extract::{AuthUser, Id, QueryMap, read_body};
use crate::policy::{ANY, SHARE_EXPORT, SHARE_IMPORT, SHARE_READ};
use crate::{ApiError, AppState, ledger, matcher};
use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use garita_ledger::{LedgerEntry, TlogProof};
use garita_model::Modality;
use garita_share::{
    Agreement, Answer, BundleInfo, Direction, LastImport, PreparedRecord, RecordKind, SHARE_ACTION,
    SharingKey, SignedAnswer, SourceRecord,
};
use garita_store::{
    AgreementRecord, AnswerRecord, AuditEvent, CosignatureRecord, ExportSummary, ExportedRecord,
    ImportSummary, ImportedRecordRow,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// Most source records of each kind one export considers (later ones go in the next bundle).
const MAX_EXPORT_CANDIDATES: u32 = 1000;
/// The header a partner signs its feed requests with.
pub const PARTNER_HEADER: &str = "garita-partner";

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/share/identity", get(identity))
        .route(
            "/share/agreements",
            get(list_agreements).post(create_agreement),
        )
        .route("/share/agreements/{id}/exports", post(create_export))
        .route("/share/exports", get(list_exports))
        .route("/share/exports/{id}/bundle", get(get_bundle))
        .route("/share/exports/{id}/cosignatures", post(add_cosignature))
        .route("/share/cosignatures", get(list_cosignatures))
        .route("/share/imports", get(list_imports).post(import_bundle))
        .route("/share/answers", get(list_answers).post(receive_answer))
        .route("/share/feed/{id}", get(feed))
}

/// Loads the agency's sharing seed (64 hex digits, mode 0600), creating it when absent.
///
/// # Errors
/// When the file cannot be read or written, or does not hold a seed.
pub fn load_or_create_sharing_key(path: &Path) -> std::io::Result<SharingKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let seed: [u8; 32] = hex::decode(text.trim())
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| std::io::Error::other("share.key does not hold 64 hex digits"))?;
            Ok(SharingKey::from_seed(&seed))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            use std::io::Write as _;
            #[cfg(unix)]
            use std::os::unix::fs::OpenOptionsExt as _;
            let seed = SharingKey::random_seed();
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            options.mode(0o600);
            let mut file = options.open(path)?;
            file.write_all(hex::encode(seed).as_bytes())?;
            file.sync_all()?;
            if let Some(dir) = path.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok(SharingKey::from_seed(&seed))
        }
        Err(err) => Err(err),
    }
}

/// What a partner's admin needs to write its side of an agreement with us.
#[derive(Debug, Serialize)]
struct Identity {
    agency: Option<String>,
    country: Option<String>,
    sign_key: String,
    encrypt_key: String,
    log_vkey: String,
}

/// `GET /api/v1/share/identity`: our public sharing keys and log verifier key.
async fn identity(State(state): State<AppState>, auth: AuthUser) -> Result<Json<Value>, ApiError> {
    auth.require(ANY)?;
    let agency = state.store.agency().await?;
    Ok(Json(json!(Identity {
        agency: agency.as_ref().map(|a| a.name.clone()),
        country: agency.map(|a| a.country.as_str().to_owned()),
        sign_key: state.sharing.sign_key_b64(),
        encrypt_key: state.sharing.encrypt_key_b64(),
        log_vkey: state.ledger.vkey(),
    })))
}

/// `GET /api/v1/share/agreements`
async fn list_agreements(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<Vec<AgreementRecord>>, ApiError> {
    auth.require(SHARE_READ)?;
    Ok(Json(state.store.list_agreements().await?))
}

/// `POST /api/v1/share/agreements`: an admin records an agreement (ledger first, then the row).
async fn create_agreement(
    State(state): State<AppState>,
    auth: AuthUser,
    request: Request,
) -> Result<(StatusCode, Json<AgreementRecord>), ApiError> {
    auth.require(crate::policy::ADMIN)?;
    let bytes = read_body(request, &state).await?;
    let agreement: Agreement = crate::extract::parse_json(&bytes)?;
    let result = async {
        agreement.validate()?;
        if state.store.agreement(agreement.id).await?.is_some() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "duplicate",
                "agreement already exists",
            ));
        }
        let canonical = serde_json::to_vec(&agreement).map_err(|err| ApiError::internal(&err))?;
        let time = ledger::unix(state.now());
        let logged = ledger::append_record(&state, &canonical, |commitment| {
            LedgerEntry::audit(time, "share.agreement", commitment)
        })
        .await?;
        Ok(state
            .store
            .insert_agreement(&agreement, auth.user.id, state.now(), &logged)
            .await?)
    }
    .await;
    audit(
        &state,
        &auth,
        "share.agreement.create",
        ("share-agreement", Some(agreement.id.to_string())),
        None,
        &result,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(result?)))
}

async fn agreement_of(state: &AppState, id: Uuid) -> Result<Agreement, ApiError> {
    Ok(state
        .store
        .agreement(id)
        .await?
        .ok_or_else(|| ApiError::not_found("agreement"))?
        .agreement)
}

fn require_direction(agreement: &Agreement, direction: Direction) -> Result<(), ApiError> {
    if agreement.direction == direction {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::CONFLICT,
            "wrong-direction",
            format!(
                "agreement {} is {}, this needs an {} one",
                agreement.id,
                agreement.direction.as_str(),
                direction.as_str()
            ),
        ))
    }
}

/// Where an export starts: records received since a time, or logged at or after a tree size.
#[derive(Debug, Clone, Copy)]
enum Since {
    Time(OffsetDateTime),
    Size(u64),
}

impl Since {
    fn parse(text: Option<&str>, agreement: &Agreement) -> Result<Since, ApiError> {
        let Some(text) = text.filter(|text| !text.is_empty()) else {
            return Ok(Since::Time(agreement.valid_from));
        };
        if let Ok(size) = text.parse::<u64>() {
            return Ok(Since::Size(size));
        }
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map(Since::Time)
            .map_err(|_| {
                ApiError::invalid(
                    "since",
                    "give a checkpoint tree size (a number) or an RFC 3339 time",
                )
            })
    }

    fn describe(self) -> String {
        match self {
            Since::Time(at) => format!("time:{}", garita_model::canonical_time(at)),
            Since::Size(size) => format!("size:{size}"),
        }
    }

    fn bounds(self, agreement: &Agreement) -> (OffsetDateTime, u64) {
        match self {
            Since::Time(at) => (at.max(agreement.valid_from), 0),
            Since::Size(size) => (agreement.valid_from, size),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportRequest {
    #[serde(default)]
    since: Option<String>,
}

/// `POST /api/v1/share/agreements/{id}/exports`: selects what the agreement allows and was not shared under it
/// before, logs each record, and answers the signed, encrypted bundle (`application/octet-stream`).
async fn create_export(
    State(state): State<AppState>,
    auth: AuthUser,
    Id(id): Id,
    request: Request,
) -> Result<Response, ApiError> {
    let bytes = read_body(request, &state).await?;
    let result = async {
        auth.require(SHARE_EXPORT)?;
        let body: ExportRequest = if bytes.is_empty() {
            ExportRequest { since: None }
        } else {
            crate::extract::parse_json(&bytes)?
        };
        let agreement = agreement_of(&state, id).await?;
        let since = Since::parse(body.since.as_deref(), &agreement)?;
        make_export(&state, &agreement, since, Some(auth.user.id), false).await
    }
    .await;
    let object = result
        .as_ref()
        .ok()
        .and_then(|made| made.as_ref().map(|(export, _)| export.id.to_string()));
    audit(
        &state,
        &auth,
        "share.export",
        ("share-export", object),
        None,
        &result,
    )
    .await?;
    let (export, bundle) = result?.ok_or_else(|| ApiError::internal(&"empty export refused"))?;
    bundle_response(&export, bundle)
}

fn bundle_response(export: &ExportSummary, bundle: Vec<u8>) -> Result<Response, ApiError> {
    Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CACHE_CONTROL, "no-store")
        .header("garita-bundle-id", export.id.to_string())
        .header("garita-sequence", export.sequence.to_string())
        .header("garita-records", export.record_count.to_string())
        .header("garita-tree-size", export.tree_size.to_string())
        .body(Body::from(bundle))
        .map_err(|err| ApiError::internal(&err))
}

/// Builds, logs and stores the next export under an outgoing agreement. With `skip_empty`, answers `None` instead
/// of an export without records (the feed does not make empty bundles).
async fn make_export(
    state: &AppState,
    agreement: &Agreement,
    since: Since,
    created_by: Option<Uuid>,
    skip_empty: bool,
) -> Result<Option<(ExportSummary, Vec<u8>)>, ApiError> {
    require_direction(agreement, Direction::Outgoing)?;
    let now = state.now();
    if !agreement.in_window(now) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "agreement-not-in-force",
            format!(
                "agreement {} is valid from {} until {}",
                agreement.id, agreement.valid_from, agreement.valid_until
            ),
        ));
    }
    let own_country = state
        .store
        .agency()
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "agency-not-set",
                "the agency's own country must be set before anything is shared",
            )
        })?
        .country;
    let already = state.store.exported_sources(agreement.id).await?;
    let sources: Vec<SourceRecord> = source_records(state, agreement, since)
        .await?
        .into_iter()
        .filter(|record| !already.contains(&record.id))
        .collect();
    let selected = garita_share::select(agreement, &own_country, &sources);
    if selected.is_empty() && skip_empty {
        return Ok(None);
    }
    // References: fresh per record; a child whose parent was shared earlier points at that earlier reference.
    let mut references: BTreeMap<Uuid, Uuid> = BTreeMap::new();
    let mut prepared = Vec::with_capacity(selected.len());
    for record in &selected {
        let reference = Uuid::new_v4();
        references.insert(record.source_id, reference);
        let parent = match record.parent {
            Some(parent) => match references.get(&parent) {
                Some(reference) => Some(*reference),
                None => state.store.reference_of(agreement.id, parent).await?,
            },
            None => None,
        };
        prepared.push((record, PreparedRecord::new(record, reference, parent)?));
    }
    // Ledger first: one entry per shared record, committing to exactly what the partner receives.
    let time = ledger::unix(now);
    let mut logged = Vec::with_capacity(prepared.len());
    for (record, prepared_record) in prepared {
        let at = ledger::append_record(state, &prepared_record.content(), |commitment| {
            LedgerEntry::audit(time, SHARE_ACTION, commitment)
        })
        .await?;
        logged.push((record, prepared_record, at));
    }
    let (checkpoint, receipts) = receipts_at_one_checkpoint(state, &logged).await?;
    let tree_size = garita_ledger::verify_checkpoint(&checkpoint, &state.ledger.vkey(), &[])
        .map_err(|err| ApiError::internal(&err))?
        .checkpoint
        .size();
    let last = state.store.last_export(agreement.id).await?;
    let previous_size = last.as_ref().map_or(0, |last| last.tree_size);
    let consistency = if previous_size == 0 || previous_size == tree_size {
        Vec::new()
    } else {
        state
            .ledger
            .consistency_proof(previous_size, tree_size)
            .await?
    };
    let info = BundleInfo {
        bundle_id: Uuid::new_v4(),
        sequence: last.as_ref().map_or(1, |last| last.sequence + 1),
        created_at: now,
        previous_size,
        consistency,
        checkpoint: checkpoint.clone(),
    };
    let with_proofs: Vec<(PreparedRecord, TlogProof)> = logged
        .iter()
        .zip(receipts)
        .map(|((_, prepared_record, _), proof)| (prepared_record.clone(), proof))
        .collect();
    let (_, bundle) = garita_share::build_bundle(&state.sharing, agreement, &info, &with_proofs)?;
    let bundle_sha256 = state.store.blobs().put(bundle.clone()).await?;
    let export = ExportSummary {
        id: info.bundle_id,
        agreement_id: agreement.id,
        sequence: info.sequence,
        created_at: now,
        since: since.describe(),
        checkpoint: String::from_utf8_lossy(&checkpoint).into_owned(),
        tree_size,
        record_count: u64::try_from(logged.len()).unwrap_or(u64::MAX),
        bundle_sha256,
        created_by,
        cosigned_by: Vec::new(),
    };
    let rows: Vec<ExportedRecord> = logged
        .iter()
        .map(|(record, prepared_record, at)| ExportedRecord {
            reference: prepared_record.entry.reference,
            kind: record.kind.as_str().to_owned(),
            source_id: record.source_id,
            leaf_index: at.leaf_index,
            salt: at.salt.clone(),
        })
        .collect();
    state.store.insert_export(&export, &rows).await?;
    Ok(Some((export, bundle)))
}

/// Waits until every logged record is in a published checkpoint and takes all receipts against one checkpoint
/// (retrying when the log publishes a new one between two receipts).
async fn receipts_at_one_checkpoint(
    state: &AppState,
    logged: &[(
        &garita_share::ExportRecord,
        PreparedRecord,
        garita_store::LedgerRef,
    )],
) -> Result<(Vec<u8>, Vec<TlogProof>), ApiError> {
    let mut wanted = Vec::with_capacity(logged.len());
    for (_, _, at) in logged {
        let salt: [u8; 32] = hex::decode(&at.salt)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| ApiError::internal(&"salt is not 32 hex bytes"))?;
        wanted.push((at.leaf_index, salt));
    }
    let ledger = &state.ledger;
    let size = ledger.durable_size().await?;
    if !ledger.wait_published(size, Duration::from_secs(10)).await? {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not-integrated",
            "the ledger did not publish a checkpoint in time; retry",
        ));
    }
    for _ in 0..20 {
        let checkpoint = ledger.checkpoint().await?;
        let mut receipts = Vec::with_capacity(wanted.len());
        for (index, salt) in &wanted {
            receipts.push(ledger.receipt(*index, *salt).await?);
        }
        if receipts.iter().all(|proof| proof.checkpoint == checkpoint) {
            return Ok((checkpoint, receipts));
        }
    }
    Err(ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "checkpoint-moving",
        "the log kept publishing new checkpoints while proofs were taken; retry",
    ))
}

/// The candidate records for an export, as the filter sees them: encounters with their samples (finger and palm
/// images as ANSI/NIST-ITL transactions) and alerts, consignments with their findings.
async fn source_records(
    state: &AppState,
    agreement: &Agreement,
    since: Since,
) -> Result<Vec<SourceRecord>, ApiError> {
    let (since_time, since_leaf) = since.bounds(agreement);
    let mut out = Vec::new();
    let personal = [RecordKind::Encounter, RecordKind::Sample, RecordKind::Alert];
    if personal.iter().any(|kind| agreement.rule(*kind).is_some()) {
        for (encounter_id, site_kind) in state
            .store
            .encounters_received_since(since_time, since_leaf, MAX_EXPORT_CANDIDATES)
            .await?
        {
            encounter_records(state, encounter_id, &site_kind, &mut out).await?;
        }
    }
    let cargo = [
        RecordKind::Consignment,
        RecordKind::Scan,
        RecordKind::Finding,
    ];
    if cargo.iter().any(|kind| agreement.rule(*kind).is_some()) {
        for id in state
            .store
            .consignments_received_since(since_time, since_leaf, MAX_EXPORT_CANDIDATES)
            .await?
        {
            consignment_records(state, id, &mut out).await?;
        }
    }
    Ok(out)
}

fn text_fields(pairs: &[(&str, Option<Value>)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .filter_map(|(name, value)| value.clone().map(|value| ((*name).to_owned(), value)))
        .collect()
}

async fn encounter_records(
    state: &AppState,
    encounter_id: Uuid,
    site_kind: &str,
    out: &mut Vec<SourceRecord>,
) -> Result<(), ApiError> {
    let Some(encounter) = state.store.encounter(encounter_id).await? else {
        return Ok(());
    };
    let Some(subject) = state.store.subject(encounter.subject_id).await? else {
        return Ok(());
    };
    let categories: Vec<String> = state
        .store
        .watchlist_of_subject(subject.id)
        .await?
        .iter()
        .map(|entry| entry.category.as_str().to_owned())
        .collect();
    let citizenship = subject.claimed_citizenship.clone();
    let base = |kind, id, parent, at| SourceRecord {
        kind,
        id,
        parent,
        at,
        citizenship: citizenship.clone(),
        categories: categories.clone(),
        modality: None,
        fields: BTreeMap::new(),
        files: BTreeMap::new(),
    };
    let captured_at = json!(garita_model::canonical_time(encounter.captured_at));
    out.push(SourceRecord {
        fields: text_fields(&[
            ("captured_at", Some(captured_at)),
            (
                "claimed_citizenship",
                citizenship.as_ref().map(|c| json!(c.as_str())),
            ),
            ("given_name", subject.given_name.clone().map(Value::from)),
            ("family_name", subject.family_name.clone().map(Value::from)),
            ("site_kind", Some(json!(site_kind))),
        ]),
        ..base(
            RecordKind::Encounter,
            encounter.id,
            None,
            encounter.captured_at,
        )
    });
    for sample in state.store.samples_of_encounter(encounter.id).await? {
        let bytes = state.store.blobs().get(sample.blob_sha256.as_str()).await?;
        let (media_type, content) = package_sample(&sample, encounter.id, &bytes, state.now());
        out.push(SourceRecord {
            modality: Some(sample.modality),
            fields: text_fields(&[
                ("modality", Some(json!(sample.modality.as_str()))),
                ("position", Some(json!(sample.position.code()))),
                ("format", Some(json!(sample.format.as_str()))),
                ("quality", sample.quality.map(|q| json!(q.value()))),
            ]),
            files: BTreeMap::from([("image".to_owned(), (media_type, content))]),
            ..base(
                RecordKind::Sample,
                sample.id,
                Some(encounter.id),
                encounter.captured_at,
            )
        });
    }
    for alert in state.store.alerts_of_encounter(encounter.id).await? {
        let mut alert_categories = categories.clone();
        alert_categories.push(alert.category.as_str().to_owned());
        out.push(SourceRecord {
            categories: alert_categories,
            fields: text_fields(&[
                ("category", Some(json!(alert.category.as_str()))),
                ("score", Some(json!(alert.score))),
                ("status", Some(json!(alert.status.as_str()))),
                (
                    "created_at",
                    Some(json!(garita_model::canonical_time(alert.created_at))),
                ),
            ]),
            ..base(
                RecordKind::Alert,
                alert.id,
                Some(encounter.id),
                encounter.captured_at,
            )
        });
    }
    Ok(())
}

/// A sample as it travels: a friction-ridge image (WSQ, PNG, JPEG, JPEG 2000) wrapped in an ANSI/NIST-ITL
/// transaction with one Type-14 record (§8.14); other samples as their own bytes.
fn package_sample(
    sample: &garita_model::Sample,
    encounter_id: Uuid,
    bytes: &[u8],
    now: OffsetDateTime,
) -> (String, Vec<u8>) {
    let raw = || (sample.format.media_type().to_owned(), bytes.to_vec());
    if !matches!(sample.modality, Modality::Finger | Modality::Palm) {
        return raw();
    }
    match an2_of_friction_ridge(sample, encounter_id, bytes, now) {
        Some(an2) => ("application/x-an2".to_owned(), an2),
        None => raw(),
    }
}

fn an2_of_friction_ridge(
    sample: &garita_model::Sample,
    encounter_id: Uuid,
    bytes: &[u8],
    now: OffsetDateTime,
) -> Option<Vec<u8>> {
    use garita_an2::{Field, Record, Tag, TaggedRecord};
    let info = garita_an2::probe_image(bytes)?;
    let compression = match info.format {
        garita_an2::ImageFormat::Wsq => "WSQ20",
        garita_an2::ImageFormat::Png => "PNG",
        garita_an2::ImageFormat::Jpeg if info.lossless => "JPEGL",
        garita_an2::ImageFormat::Jpeg => "JPEGB",
        garita_an2::ImageFormat::Jp2 | garita_an2::ImageFormat::J2k => "JP2",
    };
    let date = format!(
        "{:04}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    let text = |number: u32, value: String| Field::text(Tag::new(14, number), value).ok();
    let fields = vec![
        text(2, "1".into())?,
        // Impression type 0: live-scan plain (Table 7); the capture does not say more.
        text(3, "0".into())?,
        text(4, "GARITA".into())?,
        text(5, date.clone())?,
        text(6, info.width.to_string())?,
        text(7, info.height.to_string())?,
        // 500 ppi, the resolution garita's finger pipeline assumes (docs/finger.md).
        text(8, "1".into())?,
        text(9, "500".into())?,
        text(10, "500".into())?,
        text(11, compression.into())?,
        text(12, "8".into())?,
        text(13, sample.position.code().to_string())?,
        Field::binary(Tag::new(14, 999), bytes.to_vec()).ok()?,
    ];
    let record = TaggedRecord::new(14, fields).ok()?;
    let built = garita_an2::TransactionBuilder::new(
        "CAR",
        "PARTNER",
        "GARITA",
        &encounter_id.simple().to_string(),
        &date,
    )
    .record_with_idc(Record::Tagged(record), 1)
    .build()
    .ok()?;
    Some(built.to_bytes())
}

async fn consignment_records(
    state: &AppState,
    id: Uuid,
    out: &mut Vec<SourceRecord>,
) -> Result<(), ApiError> {
    let Some(detail) = state.store.consignment(id).await? else {
        return Ok(());
    };
    let consignment = &detail.consignment;
    let record = |kind, id, parent, fields, categories| SourceRecord {
        kind,
        id,
        parent,
        at: consignment.created_at,
        citizenship: None,
        categories,
        modality: None,
        fields,
        files: BTreeMap::new(),
    };
    out.push(record(
        RecordKind::Consignment,
        consignment.id,
        None,
        text_fields(&[
            (
                "container_number",
                consignment
                    .container_number
                    .as_ref()
                    .map(|c| json!(c.as_str())),
            ),
            ("conveyance", Some(json!(consignment.conveyance))),
            ("declarant", Some(json!(consignment.declarant))),
            (
                "origin",
                consignment.origin.as_ref().map(|c| json!(c.as_str())),
            ),
            ("lines", Some(json!(consignment.lines))),
            ("lane", consignment.lane.map(|lane| json!(lane.as_str()))),
            (
                "created_at",
                Some(json!(garita_model::canonical_time(consignment.created_at))),
            ),
        ]),
        Vec::new(),
    ));
    // The scan as the scanner sent it: each DICOS object of the consignment's capture, byte for byte.
    if let Some(capture) = state.store.consignment_capture(consignment.id).await? {
        for (index, sha256) in state
            .store
            .capture_blob_names(capture)
            .await?
            .iter()
            .enumerate()
        {
            let content = state.store.blobs().get(sha256).await?;
            out.push(SourceRecord {
                files: BTreeMap::from([(
                    "image".to_owned(),
                    ("application/dicom".to_owned(), content),
                )]),
                ..record(
                    RecordKind::Scan,
                    scan_id(capture, index),
                    Some(consignment.id),
                    text_fields(&[(
                        "created_at",
                        Some(json!(garita_model::canonical_time(consignment.created_at))),
                    )]),
                    Vec::new(),
                )
            });
        }
    }
    for finding in &detail.findings {
        out.push(record(
            RecordKind::Finding,
            finding.id,
            Some(consignment.id),
            text_fields(&[
                ("region", Some(json!(finding.region))),
                ("kind", Some(json!(finding.kind))),
                ("score", Some(json!(finding.score))),
                ("source", Some(json!(finding.source.as_str()))),
                ("reason", Some(json!(finding.reason))),
            ]),
            vec![finding.kind.clone()],
        ));
    }
    Ok(())
}

/// A stable id for the `index`-th scan object of a capture, so a scan is shared once per agreement like any
/// other record: the first 16 bytes of SHA-256(`garita-scan/v1`, capture id, index).
fn scan_id(capture: Uuid, index: usize) -> Uuid {
    use sha2::Digest;
    let digest = sha2::Sha256::new()
        .chain_update(b"garita-scan/v1")
        .chain_update(capture.as_bytes())
        .chain_update((index as u64).to_be_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

/// `GET /api/v1/share/exports[?agreement=]`: what was shared when, at which checkpoint, how many records, and
/// who cosigned.
async fn list_exports(
    State(state): State<AppState>,
    auth: AuthUser,
    query: QueryMap,
) -> Result<Json<Vec<ExportSummary>>, ApiError> {
    auth.require(SHARE_READ)?;
    let agreement = query.get::<Uuid>("agreement")?;
    Ok(Json(state.store.list_exports(agreement).await?))
}

/// `GET /api/v1/share/exports/{id}/bundle`: the bundle as sent (to send it again).
async fn get_bundle(
    State(state): State<AppState>,
    auth: AuthUser,
    Id(id): Id,
) -> Result<Response, ApiError> {
    let result = async {
        auth.require(SHARE_EXPORT)?;
        let export = state
            .store
            .export(id)
            .await?
            .ok_or_else(|| ApiError::not_found("export"))?;
        let bytes = state.store.blobs().get(&export.bundle_sha256).await?;
        Ok((export, bytes))
    }
    .await;
    audit(
        &state,
        &auth,
        "share.bundle.read",
        ("share-export", Some(id.to_string())),
        None,
        &result,
    )
    .await?;
    let (export, bytes) = result?;
    bundle_response(&export, bytes)
}

/// `POST /api/v1/share/exports/{id}/cosignatures`: the partner's `cosignature/v1` line(s) for the export's
/// checkpoint. Authenticated by the cosignature itself: it must verify under the agreement's partner key.
async fn add_cosignature(
    State(state): State<AppState>,
    Id(id): Id,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let export = state
        .store
        .export(id)
        .await?
        .ok_or_else(|| ApiError::not_found("export"))?;
    let agreement = agreement_of(&state, export.agreement_id).await?;
    let lines = garita_share::verify_cosignature(
        export.checkpoint.as_bytes(),
        &state.ledger.vkey(),
        &agreement.partner.name,
        &agreement.partner.sign_key,
        &body,
    )
    .map_err(|err| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "no-valid-cosignature",
            err.to_string(),
        )
    })?;
    let mut event = AuditEvent::new(state.now(), "share.cosignature", "share-export");
    event.actor_kind = "partner".into();
    event.actor_name = Some(agreement.partner.name.clone());
    event.object_id = Some(id.to_string());
    event.outcome = "ok".into();
    ledger::record_audit(&state, event).await?;
    state
        .store
        .insert_cosignature(&CosignatureRecord {
            export_id: id,
            partner_name: agreement.partner.name.clone(),
            lines: String::from_utf8_lossy(&lines).into_owned(),
            received_at: state.now(),
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/share/cosignatures[?export=]`: partners' cosignatures of our exported checkpoints.
async fn list_cosignatures(
    State(state): State<AppState>,
    auth: AuthUser,
    query: QueryMap,
) -> Result<Json<Vec<CosignatureRecord>>, ApiError> {
    auth.require(SHARE_READ)?;
    let export = query.get::<Uuid>("export")?;
    Ok(Json(state.store.list_cosignatures(export).await?))
}

/// What an import answers: provenance, our cosignature of the sender's checkpoint and the signed hit answers of
/// our 1:N search over the imported fingerprints (to send back to the sender).
#[derive(Debug, Serialize)]
struct ImportOutcome {
    import: ImportSummary,
    records: Vec<ImportedRecordRow>,
    cosignature: Option<String>,
    answers: Vec<SignedAnswer>,
}

/// `POST /api/v1/share/imports`: a partner's bundle (`application/octet-stream`). Every check runs before the
/// first byte is stored; a refused bundle imports nothing.
async fn import_bundle(
    State(state): State<AppState>,
    auth: AuthUser,
    request: Request,
) -> Result<(StatusCode, Json<ImportOutcome>), ApiError> {
    let bytes = read_body(request, &state).await?;
    let result = match auth.require(SHARE_IMPORT) {
        Ok(()) => import_verified(&state, &bytes).await,
        Err(err) => Err(err),
    };
    let object = result
        .as_ref()
        .ok()
        .map(|outcome| outcome.import.id.to_string());
    audit(
        &state,
        &auth,
        "share.import",
        ("share-import", object),
        None,
        &result,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(result?)))
}

async fn import_verified(state: &AppState, bytes: &[u8]) -> Result<ImportOutcome, ApiError> {
    let opened = garita_share::open(&state.sharing, bytes)?;
    let manifest = garita_share::manifest_of(&opened)?;
    let agreement = state
        .store
        .agreement(manifest.agreement_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "unknown-agreement",
                format!("no agreement {} here", manifest.agreement_id),
            )
        })?
        .agreement;
    let last = state
        .store
        .last_import(agreement.id)
        .await?
        .map(|last| -> Result<LastImport, ApiError> {
            Ok(LastImport {
                sequence: last.sequence,
                size: last.tree_size,
                root: hex::decode(&last.root)
                    .ok()
                    .and_then(|root| root.try_into().ok())
                    .ok_or_else(|| ApiError::internal(&"stored root is not 32 hex bytes"))?,
            })
        })
        .transpose()?;
    let verified = garita_share::verify_bundle(&opened, &agreement, last.as_ref(), state.now())?;
    // Search before storing: a search that cannot complete (a cluster shard without a live matcher) refuses the
    // whole import with 503, so the partner's retry imports it once, answers included.
    let hits = find_hits(state, &verified).await?;

    // Verified and searched: blobs first, then the rows in one transaction.
    let mut rows = Vec::with_capacity(verified.records.len());
    for record in &verified.records {
        let mut files = serde_json::Map::new();
        for (field, (media_type, content)) in &record.files {
            let sha256 = state.store.blobs().put(content.clone()).await?;
            files.insert(
                field.clone(),
                json!({ "media_type": media_type, "sha256": sha256 }),
            );
        }
        rows.push(ImportedRecordRow {
            reference: record.entry.reference,
            import_id: verified.manifest.bundle_id,
            kind: record.entry.kind.as_str().to_owned(),
            parent: record.entry.parent,
            leaf_index: record.entry.leaf_index,
            fields: json!(record.fields),
            files: Value::Object(files),
        });
    }
    let mut import = ImportSummary {
        id: verified.manifest.bundle_id,
        agreement_id: agreement.id,
        sequence: verified.manifest.sequence,
        partner_name: agreement.partner.name.clone(),
        checkpoint: String::from_utf8_lossy(&verified.checkpoint).into_owned(),
        tree_size: verified.size,
        root: hex::encode(verified.root),
        record_count: u64::try_from(rows.len()).unwrap_or(u64::MAX),
        imported_at: state.now(),
        cosignature: None,
    };
    state.store.insert_import(&import, &rows).await?;
    import.cosignature = cosign(state, &agreement, &verified).await;
    if let Some(lines) = &import.cosignature {
        state.store.set_import_cosignature(import.id, lines).await?;
    }
    let answers = answer_hits(state, &agreement, &verified, hits).await?;
    let cosignature = import.cosignature.clone();
    Ok(ImportOutcome {
        import,
        records: rows,
        cosignature,
        answers,
    })
}

/// Cosigns the sender's checkpoint as its witness (C2SP tlog-witness rules: consistent with what we cosigned
/// before, state persisted first), under the name the sender gave us in the manifest. `None` (logged) when it
/// cannot: the import stands, the sender just lacks our cosignature for it.
async fn cosign(
    state: &AppState,
    agreement: &Agreement,
    verified: &garita_share::VerifiedBundle,
) -> Option<String> {
    let log_vkey = agreement.partner.log_vkey.clone()?;
    let dir = state.store.data_dir().join("share");
    let path = dir.join(format!("witness-{}.state", agreement.id));
    let name = verified.manifest.recipient.clone();
    let key = state.sharing.signing().clone();
    let body = garita_ledger::encode_add_checkpoint(
        verified.manifest.previous_size,
        &verified
            .manifest
            .consistency
            .iter()
            .filter_map(|line| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD
                    .decode(line)
                    .ok()
                    .and_then(|raw| raw.try_into().ok())
                    .map(garita_ledger::Hash)
            })
            .collect::<Vec<_>>(),
        &verified.checkpoint,
    );
    let now = ledger::unix(state.now());
    let result = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&dir).map_err(|err| err.to_string())?;
        let mut witness = garita_ledger::Witness::new(&name, key);
        witness.add_log(&log_vkey).map_err(|err| err.to_string())?;
        witness
            .use_state_file(&path)
            .map_err(|err| err.to_string())?;
        witness
            .add_checkpoint(&body, now)
            .map_err(|err| err.to_string())
    })
    .await;
    match result {
        Ok(Ok(lines)) => Some(String::from_utf8_lossy(&lines).into_owned()),
        Ok(Err(err)) => {
            tracing::warn!(agreement = %agreement.id, error = %err, "not cosigning the partner's checkpoint");
            None
        }
        Err(err) => {
            tracing::warn!(error = %err, "cosigning task failed");
            None
        }
    }
}

/// Our own 1:N search over the imported friction-ridge images: for each shared encounter (or lone sample), the
/// best-scoring subject of our gallery its fingers match, if any. Writes nothing.
async fn find_hits(
    state: &AppState,
    verified: &garita_share::VerifiedBundle,
) -> Result<Vec<(Uuid, Uuid, f64)>, ApiError> {
    // Group finger images by the encounter they belong to (the sample's parent, else the sample itself).
    // Each image with its NIST finger position (0 when the record does not say).
    let mut by_person: BTreeMap<Uuid, Vec<(u8, Vec<u8>)>> = BTreeMap::new();
    for record in &verified.records {
        if record.entry.kind != RecordKind::Sample {
            continue;
        }
        let Some((media_type, content)) = record.files.get("image") else {
            continue;
        };
        let person = record.entry.parent.unwrap_or(record.entry.reference);
        let images = by_person.entry(person).or_default();
        if media_type == "application/x-an2" {
            if let Ok(transaction) = garita_an2::Transaction::from_bytes(content) {
                for view in transaction.images() {
                    if view.modality == garita_an2::Modality::Finger {
                        // A single-finger view names one position; slaps and unknowns search every position.
                        let position = match view.positions.as_slice() {
                            [p] if (1..=10).contains(p) => *p,
                            _ => garita_finger::UNKNOWN_POSITION,
                        };
                        images.push((position, view.data.to_vec()));
                    }
                }
            }
        } else if media_type == "image/x-wsq"
            || media_type == "image/png"
            || media_type == garita_model::ISO_19794_2_MEDIA_TYPE
        {
            images.push((garita_finger::UNKNOWN_POSITION, content.clone()));
        }
    }
    let mut hits = Vec::new();
    for (reference, images) in by_person {
        let templates = tokio::task::spawn_blocking(move || {
            images
                .iter()
                .filter_map(|(position, bytes)| {
                    garita_finger::template_from_bytes(bytes, Some(500))
                        .ok()
                        .filter(|template| !template.minutiae.is_empty())
                        .map(|template| (*position, template))
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|err| ApiError::internal(&err))?;
        if templates.is_empty() {
            continue;
        }
        let Some((subject, score)) = matcher::search_templates(state, templates, None)
            .await?
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
        else {
            continue;
        };
        hits.push((reference, subject, score));
    }
    Ok(hits)
}

/// For each hit of [`find_hits`], a signed answer with that person's category here, stored as sent.
async fn answer_hits(
    state: &AppState,
    agreement: &Agreement,
    verified: &garita_share::VerifiedBundle,
    hits: Vec<(Uuid, Uuid, f64)>,
) -> Result<Vec<SignedAnswer>, ApiError> {
    let mut answers = Vec::new();
    for (reference, subject, score) in hits {
        let category = state
            .store
            .watchlist_of_subject(subject)
            .await?
            .first()
            .map_or(garita_model::WatchlistCategory::PriorCrossing, |entry| {
                entry.category
            });
        let answer = Answer {
            id: Uuid::new_v4(),
            agreement_id: agreement.id,
            bundle_id: verified.manifest.bundle_id,
            reference,
            category,
            score,
            answered_at: state.now(),
        };
        let signed = answer.sign(&state.sharing)?;
        let record = AnswerRecord {
            id: answer.id,
            direction: "sent".into(),
            agreement_id: agreement.id,
            reference,
            category: category.as_str().to_owned(),
            score,
            answered_at: answer.answered_at,
            alert_id: None,
        };
        let signed_json = serde_json::to_string(&signed).map_err(|err| ApiError::internal(&err))?;
        state
            .store
            .insert_answer(&record, &signed_json, None, state.now())
            .await?;
        answers.push(signed);
    }
    Ok(answers)
}

/// `GET /api/v1/share/imports[?agreement=]`: what partners shared with us, with provenance.
async fn list_imports(
    State(state): State<AppState>,
    auth: AuthUser,
    query: QueryMap,
) -> Result<Json<Vec<ImportSummary>>, ApiError> {
    auth.require(SHARE_READ)?;
    let agreement = query.get::<Uuid>("agreement")?;
    Ok(Json(state.store.list_imports(agreement).await?))
}

/// `POST /api/v1/share/answers`: a partner's signed hit answer about a record we shared. It becomes an alert on
/// the shared encounter, with source `partner:<name>`. Authenticated by the answer's signature.
async fn receive_answer(
    State(state): State<AppState>,
    request: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let bytes = read_body(request, &state).await?;
    let signed: SignedAnswer = crate::extract::parse_json(&bytes)?;
    // The agreement id inside tells which partner key must have signed it; nothing is trusted before that check.
    let claimed: Answer = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(&signed.answer)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| ApiError::invalid("answer", "not base64 of an answer object"))?
    };
    let agreement = state
        .store
        .agreement(claimed.agreement_id)
        .await?
        .map(|record| record.agreement)
        .filter(|agreement| agreement.direction == Direction::Outgoing)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "unknown-partner",
                "no outgoing agreement matches this answer",
            )
        })?;
    let answer = signed.verify(&agreement.partner.sign_key).map_err(|err| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "bad-partner-signature",
            err.to_string(),
        )
    })?;
    let (export_id, shared) = state
        .store
        .exported_record(answer.reference)
        .await?
        .ok_or_else(|| {
            ApiError::invalid(
                "answer.reference",
                "no record was shared under this reference",
            )
        })?;
    let export = state
        .store
        .export(export_id)
        .await?
        .ok_or_else(|| ApiError::internal(&"export of a shared record is missing"))?;
    if export.agreement_id != agreement.id {
        return Err(ApiError::invalid(
            "answer.reference",
            "this record was not shared under the answer's agreement",
        ));
    }
    let encounter_id = match shared.kind.as_str() {
        "encounter" => shared.source_id,
        "sample" => {
            state
                .store
                .sample(shared.source_id)
                .await?
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::GONE,
                        "purged",
                        "the shared record no longer exists",
                    )
                })?
                .encounter_id
        }
        _ => {
            return Err(ApiError::invalid(
                "answer.reference",
                "answers are about shared encounters or samples",
            ));
        }
    };
    let encounter = state.store.encounter(encounter_id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::GONE,
            "purged",
            "the shared encounter no longer exists",
        )
    })?;
    let source = format!("partner:{}", agreement.partner.name);
    let mut event = AuditEvent::new(state.now(), "share.answer", "alert");
    event.actor_kind = "partner".into();
    event.actor_name = Some(agreement.partner.name.clone());
    event.object_id = Some(answer.id.to_string());
    event.subject_id = Some(encounter.subject_id);
    event.outcome = "ok".into();
    ledger::record_audit(&state, event).await?;
    let record = AnswerRecord {
        id: answer.id,
        direction: "received".into(),
        agreement_id: agreement.id,
        reference: answer.reference,
        category: answer.category.as_str().to_owned(),
        score: answer.score,
        answered_at: answer.answered_at,
        alert_id: None,
    };
    let alert = state
        .store
        .insert_answer(
            &record,
            &String::from_utf8_lossy(&bytes),
            Some((encounter.id, encounter.subject_id, &source)),
            state.now(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "answer_id": answer.id, "alert": alert, "source": source })),
    ))
}

/// `GET /api/v1/share/answers[?agreement=]`: hit answers sent and received.
async fn list_answers(
    State(state): State<AppState>,
    auth: AuthUser,
    query: QueryMap,
) -> Result<Json<Vec<AnswerRecord>>, ApiError> {
    auth.require(SHARE_READ)?;
    let agreement = query.get::<Uuid>("agreement")?;
    Ok(Json(state.store.list_answers(agreement).await?))
}

/// `GET /api/v1/share/feed/{id}?after=N`: the pull feed of an outgoing agreement. The partner signs the request
/// (`Garita-Partner: <unix time> <base64 signature>`); the answer is bundle N+1 — an earlier export sent again, or
/// a new one with what was captured since — or 204 when there is nothing new. The cursor is the partner's last
/// imported sequence, so either side may restart at any time.
async fn feed(
    State(state): State<AppState>,
    Id(id): Id,
    headers: HeaderMap,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
) -> Result<Response, ApiError> {
    // The signed path is the one the partner sent (`/api/v1/...`), not the one the nested router sees.
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let after: u64 = uri
        .query()
        .and_then(|query| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix("after="))
                .map(str::to_owned)
        })
        .map_or(Ok(0), |text| text.parse())
        .map_err(|_| ApiError::invalid("after", "the last sequence imported, a number"))?;
    let signature = headers
        .get(PARTNER_HEADER)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "sign the request with the partner key in a Garita-Partner header",
            )
        })?;
    let agreement = state
        .store
        .agreement(id)
        .await?
        .map(|record| record.agreement)
        .filter(|agreement| agreement.direction == Direction::Outgoing)
        .ok_or_else(|| ApiError::not_found("agreement"))?;
    garita_share::verify_request(
        signature,
        &agreement.partner.sign_key,
        "GET",
        &path,
        state.now(),
    )
    .map_err(|err| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "bad-partner-signature",
            err.to_string(),
        )
    })?;
    if let Some(export) = state
        .store
        .export_by_sequence(agreement.id, after + 1)
        .await?
    {
        let bytes = state.store.blobs().get(&export.bundle_sha256).await?;
        return bundle_response(&export, bytes);
    }
    let last = state
        .store
        .last_export(agreement.id)
        .await?
        .map_or(0, |e| e.sequence);
    if after != last {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "cursor-ahead",
            format!("after={after} but the last bundle under this agreement is {last}"),
        ));
    }
    match make_export(
        &state,
        &agreement,
        Since::Time(agreement.valid_from),
        None,
        true,
    )
    .await?
    {
        Some((export, bundle)) => {
            let mut event = AuditEvent::new(state.now(), "share.feed", "share-export");
            event.actor_kind = "partner".into();
            event.actor_name = Some(agreement.partner.name.clone());
            event.object_id = Some(export.id.to_string());
            event.outcome = "ok".into();
            ledger::record_audit(&state, event).await?;
            bundle_response(&export, bundle)
        }
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}
