//! The `/api/v1` routes. Each handler: authenticate (extractor), check the role ([`crate::policy`]), call the
//! store, audit, answer.

use crate::extract::{AuthUser, Id, JsonBody, QueryMap};
use crate::policy::{
    ADMIN, ALERT_DECIDE, ANY, AUDIT_READ, CARGO_DECIDE, CARGO_READ, DEVICE_READ, PERSONAL_READ,
    WATCHLIST_WRITE,
};
use crate::{ApiError, AppState, auth, captures, ledger, terminal};
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use garita_model::{
    Agency, AlertStatus, CountryCode, DecisionKind, DeviceKind, Mobility, Role, SiteKind, Username,
    WatchlistCategory, parse_public_key,
};
use garita_store::{AuditEvent, AuditFilter, Paged};
use serde::Deserialize;
use uuid::Uuid;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/logout", post(auth::logout))
        .route("/me", get(me))
        .route("/agency", get(get_agency).post(init_agency))
        .route("/users", get(list_users).post(create_user))
        .route("/sites", get(list_sites).post(create_site))
        .route("/devices", get(list_devices).post(create_device))
        .route("/devices/{id}/revoke", post(revoke_device))
        .route("/captures", post(captures::create))
        .route("/subjects", get(list_subjects))
        .route("/subjects/{id}", get(get_subject))
        .route("/encounters", get(list_encounters))
        .route("/encounters/{id}", get(get_encounter))
        .route("/encounters/{id}/an2", get(export_an2))
        .route("/samples/{id}/content", get(get_sample_content))
        .route("/watchlist", get(list_watchlist).post(add_watchlist))
        .route("/alerts", get(list_alerts))
        .route("/alerts/{id}", get(get_alert))
        .route("/alerts/{id}/status", post(set_alert_status))
        .route("/consignments", get(list_consignments))
        .route("/consignments/{id}", get(get_consignment))
        .route("/consignments/{id}/decisions", post(add_decision))
        .route("/consignments/{id}/seizures", post(add_seizure))
        .route("/consignments/{id}/findings", post(add_finding))
        .route("/findings/{id}/reject", post(reject_finding))
        .route("/audit", get(list_audit))
        .route("/admin/purge", post(run_purge))
        .route("/records/{id}/proof", get(ledger::record_proof))
        .route("/ledger/cosignatures", post(ledger::add_cosignatures))
        .merge(crate::share::router())
        .route("/uploads", post(terminal::start))
        .route("/uploads/{id}", axum::routing::put(terminal::put_chunk))
        .route("/uploads/{id}/commit", post(terminal::commit))
        .route("/device/proofs/{seq}", get(terminal::own_proof))
        .route("/device/watchlist", get(terminal::watchlist_snapshot))
        .route("/cluster/search", post(crate::cluster::search_route))
}

/// Records who did what to which object, and how it ended. If the audit row cannot be written the request
/// fails: personal data is never served unaudited.
pub(crate) async fn audit<T>(
    state: &AppState,
    auth: &AuthUser,
    action: &str,
    object: (&str, Option<String>),
    subject_id: Option<Uuid>,
    result: &Result<T, ApiError>,
) -> Result<(), ApiError> {
    let mut event = AuditEvent::new(state.now(), action, object.0);
    event.actor_kind = "user".into();
    event.actor_id = Some(auth.user.id);
    event.actor_name = Some(auth.user.username.to_string());
    event.object_id = object.1;
    event.subject_id = subject_id;
    event.remote_addr = auth.remote.clone();
    event.outcome = match result {
        Ok(_) => "ok",
        Err(err) => err.outcome(),
    }
    .into();
    ledger::record_audit(state, event).await
}

fn check_text(field: &str, text: &str, max: usize) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    if text.len() > max {
        return Err(ApiError::invalid(field, format!("longer than {max} bytes")));
    }
    if text.chars().any(char::is_control) {
        return Err(ApiError::invalid(field, "contains control characters"));
    }
    Ok(())
}

/// `GET /api/v1/me`: who the token belongs to.
async fn me(auth: AuthUser) -> Json<garita_model::User> {
    Json(auth.user)
}

/// `GET /api/v1/agency`: the agency and its own country.
async fn get_agency(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<Agency>, ApiError> {
    auth.require(ANY)?;
    state.store.agency().await?.map(Json).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "agency-not-set",
            "set it with `garita admin init --country XXX`",
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgencyRequest {
    name: String,
    country: CountryCode,
}

/// `POST /api/v1/agency`: sets the agency and its country once.
async fn init_agency(
    State(state): State<AppState>,
    auth: AuthUser,
    JsonBody(request): JsonBody<AgencyRequest>,
) -> Result<Json<Agency>, ApiError> {
    auth.require(ADMIN)?;
    check_text("name", &request.name, 200)?;
    let agency = Agency {
        name: request.name,
        country: request.country,
    };
    let result = state
        .store
        .init_agency(&agency, state.now())
        .await
        .map_err(ApiError::from);
    audit(
        &state,
        &auth,
        "agency.init",
        ("agency", None),
        None,
        &result,
    )
    .await?;
    Ok(Json(result?))
}

/// `GET /api/v1/users`
async fn list_users(
    State(state): State<AppState>,
    auth: AuthUser,
    query: QueryMap,
) -> Result<Json<Paged<garita_model::User>>, ApiError> {
    auth.require(ADMIN)?;
    Ok(Json(state.store.list_users(query.page()?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUserRequest {
    username: Username,
    role: Role,
    password: String,
}

/// Shortest password accepted for new accounts.
pub(crate) const MIN_PASSWORD: usize = 12;

/// `POST /api/v1/users`
async fn create_user(
    State(state): State<AppState>,
    auth: AuthUser,
    JsonBody(request): JsonBody<CreateUserRequest>,
) -> Result<(StatusCode, Json<garita_model::User>), ApiError> {
    let user = add_user(
        &state,
        &auth,
        &request.username,
        request.role,
        &request.password,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Creates a user with a password of at least [`MIN_PASSWORD`] characters; audited (API and console).
pub(crate) async fn add_user(
    state: &AppState,
    auth: &AuthUser,
    username: &Username,
    role: Role,
    password: &str,
) -> Result<garita_model::User, ApiError> {
    auth.require(ADMIN)?;
    if password.chars().count() < MIN_PASSWORD || password.len() > 1024 {
        return Err(ApiError::invalid(
            "password",
            format!("use {MIN_PASSWORD} to 1024 characters"),
        ));
    }
    let hash = auth::hash_password(password)?;
    let result = state
        .store
        .create_user(username, role, &hash, state.now())
        .await
        .map_err(ApiError::from);
    let object_id = result.as_ref().ok().map(|user| user.id.to_string());
    audit(
        state,
        auth,
        "user.create",
        ("user", object_id),
        None,
        &result,
    )
    .await?;
    result
}

/// `GET /api/v1/sites`
async fn list_sites(
    State(state): State<AppState>,
    auth: AuthUser,
    query: QueryMap,
) -> Result<Json<Paged<garita_model::Site>>, ApiError> {
    auth.require(ANY)?;
    Ok(Json(state.store.list_sites(query.page()?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateSiteRequest {
    name: String,
    kind: SiteKind,
    #[serde(default = "fixed")]
    mobility: Mobility,
}

fn fixed() -> Mobility {
    Mobility::Fixed
}

/// `POST /api/v1/sites`
async fn create_site(
    State(state): State<AppState>,
    auth: AuthUser,
    JsonBody(request): JsonBody<CreateSiteRequest>,
) -> Result<(StatusCode, Json<garita_model::Site>), ApiError> {
    let site = add_site(&state, &auth, &request.name, request.kind, request.mobility).await?;
    Ok((StatusCode::CREATED, Json(site)))
}

/// Creates a site; audited (API and console).
pub(crate) async fn add_site(
    state: &AppState,
    auth: &AuthUser,
    name: &str,
    kind: SiteKind,
    mobility: Mobility,
) -> Result<garita_model::Site, ApiError> {
    auth.require(ADMIN)?;
    check_text("name", name, 200)?;
    let result = state
        .store
        .create_site(name.trim(), kind, mobility, state.now())
        .await
        .map_err(ApiError::from);
    let object_id = result.as_ref().ok().map(|site| site.id.to_string());
    audit(
        state,
        auth,
        "site.create",
        ("site", object_id),
        None,
        &result,
    )
    .await?;
    result
}

/// `GET /api/v1/devices`
async fn list_devices(
    State(state): State<AppState>,
    auth: AuthUser,
    query: QueryMap,
) -> Result<Json<Paged<garita_model::Device>>, ApiError> {
    auth.require(DEVICE_READ)?;
    Ok(Json(state.store.list_devices(query.page()?).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateDeviceRequest {
    /// Site id or name.
    site: String,
    kind: DeviceKind,
    public_key: String,
}

/// `POST /api/v1/devices`: registers a device key at a site.
async fn create_device(
    State(state): State<AppState>,
    auth: AuthUser,
    JsonBody(request): JsonBody<CreateDeviceRequest>,
) -> Result<(StatusCode, Json<garita_model::Device>), ApiError> {
    let device = add_device(
        &state,
        &auth,
        &request.site,
        request.kind,
        &request.public_key,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(device)))
}

/// Registers a device key at a site (by id or name); audited (API and console).
pub(crate) async fn add_device(
    state: &AppState,
    auth: &AuthUser,
    site: &str,
    kind: DeviceKind,
    public_key: &str,
) -> Result<garita_model::Device, ApiError> {
    auth.require(ADMIN)?;
    parse_public_key(public_key)?;
    let site = state.store.site(site).await?.ok_or_else(|| {
        ApiError::invalid("site", "no site with that id or name; create it first")
    })?;
    let result = state
        .store
        .create_device(site.id, kind, public_key.trim(), state.now())
        .await
        .map_err(ApiError::from);
    let object_id = result.as_ref().ok().map(|device| device.id.to_string());
    audit(
        state,
        auth,
        "device.create",
        ("device", object_id),
        None,
        &result,
    )
    .await?;
    result
}

/// `POST /api/v1/devices/{id}/revoke`: refuses the device's signatures from now on.
async fn revoke_device(
    State(state): State<AppState>,
    auth: AuthUser,
    Id(id): Id,
) -> Result<Json<garita_model::Device>, ApiError> {
    withdraw_device(&state, &auth, id).await.map(Json)
}

/// Revokes a device; audited (API and console).
pub(crate) async fn withdraw_device(
    state: &AppState,
    auth: &AuthUser,
    id: Uuid,
) -> Result<garita_model::Device, ApiError> {
    auth.require(ADMIN)?;
    let result = state.store.revoke_device(id).await.map_err(ApiError::from);
    audit(
        state,
        auth,
        "device.revoke",
        ("device", Some(id.to_string())),
        None,
        &result,
    )
    .await?;
    result
}

/// `GET /api/v1/subjects` (audited)
async fn list_subjects(
    State(state): State<AppState>,
    auth: AuthUser,
    query: QueryMap,
) -> Result<Json<Paged<garita_model::Subject>>, ApiError> {
    let result = async {
        auth.require(PERSONAL_READ)?;
        Ok(state.store.list_subjects(query.page()?).await?)
    }
    .await;
    audit(
        &state,
        &auth,
        "subject.list",
        ("subject", None),
        None,
        &result,
    )
    .await?;
    result.map(Json)
}

/// `GET /api/v1/subjects/{id}` (audited)
async fn get_subject(
    State(state): State<AppState>,
    auth: AuthUser,
    Id(id): Id,
) -> Result<Json<garita_model::Subject>, ApiError> {
    let result = async {
        auth.require(PERSONAL_READ)?;
        state
            .store
            .subject(id)
            .await?
            .ok_or_else(|| ApiError::not_found("subject"))
    }
    .await;
    audit(
        &state,
        &auth,
        "subject.read",
        ("subject", Some(id.to_string())),
        Some(id),
        &result,
    )
    .await?;
    result.map(Json)
}

/// `GET /api/v1/encounters[?subject=ID]` (audited)
async fn list_encounters(
    State(state): State<AppState>,
    auth: AuthUser,
    query: QueryMap,
) -> Result<Json<Paged<garita_model::Encounter>>, ApiError> {
    let subject: Option<Uuid> = query.get("subject").unwrap_or(None);
    let result = async {
        auth.require(PERSONAL_READ)?;
        let subject: Option<Uuid> = query.get("subject")?;
        Ok(state.store.list_encounters(subject, query.page()?).await?)
    }
    .await;
    audit(
        &state,
        &auth,
        "encounter.list",
        ("encounter", None),
        subject,
        &result,
    )
    .await?;
    result.map(Json)
}

#[derive(serde::Serialize)]
struct EncounterDetail {
    #[serde(flatten)]
    encounter: garita_model::Encounter,
    samples: Vec<garita_model::Sample>,
}

/// `GET /api/v1/encounters/{id}` with sample metadata (audited)
async fn get_encounter(
    State(state): State<AppState>,
    auth: AuthUser,
    Id(id): Id,
) -> Result<Json<EncounterDetail>, ApiError> {
    let result = async {
        auth.require(PERSONAL_READ)?;
        let encounter = state
            .store
            .encounter(id)
            .await?
            .ok_or_else(|| ApiError::not_found("encounter"))?;
        let samples = state.store.samples_of_encounter(id).await?;
        Ok(EncounterDetail { encounter, samples })
    }
    .await;
    let subject = result
        .as_ref()
        .ok()
        .map(|detail| detail.encounter.subject_id);
    audit(
        &state,
        &auth,
        "encounter.read",
        ("encounter", Some(id.to_string())),
        subject,
        &result,
    )
    .await?;
    result.map(Json)
}

/// Rebuilds an ANSI/NIST transaction for an encounter enrolled as one: Type-1 from the original (control number =
/// encounter id, today's date), its Type-2 fields, and every image record.
fn an2_export(
    original: &garita_an2::Transaction,
    encounter_id: Uuid,
    today: time::Date,
) -> Result<Vec<u8>, ApiError> {
    let text = |value: Option<std::borrow::Cow<'_, str>>, fallback: &str| {
        value.map_or(fallback.to_owned(), |v| v.into_owned())
    };
    let date = format!(
        "{:04}{:02}{:02}",
        today.year(),
        u8::from(today.month()),
        today.day()
    );
    let mut builder = garita_an2::TransactionBuilder::new(
        &text(original.transaction_type(), "CAR"),
        &text(original.destination_agency(), "GARITA"),
        &text(original.originating_agency(), "GARITA"),
        &encounter_id.simple().to_string(),
        &date,
    );
    if let Some(type2) = original.tagged_records(2).next() {
        for field in type2.fields() {
            if let garita_an2::FieldValue::Text(subfields) = field.value()
                && field.tag().field > 2
            {
                let items = subfields.iter().map(|sub| sub.items().to_vec()).collect();
                builder = builder.type2_items(field.tag().field, items);
            }
        }
    }
    for (index, view) in original.images().iter().enumerate() {
        let idc = u8::try_from(index + 1)
            .map_err(|_| ApiError::invalid("encounter", "more than 255 image records"))?;
        builder = builder.record_with_idc(view.record.clone(), idc);
    }
    let built = builder.build().map_err(|err| ApiError::internal(&err))?;
    Ok(built.to_bytes())
}

/// `GET /api/v1/encounters/{id}/an2`: the encounter as an ANSI/NIST-ITL transaction (audited).
async fn export_an2(
    State(state): State<AppState>,
    auth: AuthUser,
    Id(id): Id,
) -> Result<Response, ApiError> {
    let bytes = encounter_an2(&state, &auth, id).await?;
    Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{id}.an2\""),
        )
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(bytes))
        .map_err(|err| ApiError::internal(&err))
}

/// An encounter enrolled as an ANSI/NIST transaction, rebuilt for export; audited (API and console).
pub(crate) async fn encounter_an2(
    state: &AppState,
    auth: &AuthUser,
    id: Uuid,
) -> Result<Vec<u8>, ApiError> {
    let result = async {
        auth.require(PERSONAL_READ)?;
        let encounter = state.store.encounter(id).await?.ok_or_else(|| ApiError::not_found("encounter"))?;
        let capture = state.store.capture(encounter.capture_id).await?.ok_or_else(|| ApiError::not_found("capture"))?;
        if capture.payload_type != garita_model::PayloadType::An2.as_str() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not-an2-origin",
                "this encounter was not enrolled as an ANSI/NIST transaction; fetch its samples instead",
            ));
        }
        let signed: garita_model::SignedEnvelope =
            serde_json::from_str(&capture.envelope_json).map_err(|err| ApiError::internal(&err))?;
        let payload = state.store.blobs().get(signed.envelope.payload_sha256.as_str()).await?;
        let original = garita_an2::Transaction::from_bytes(&payload).map_err(|err| ApiError::internal(&err))?;
        Ok((encounter.subject_id, an2_export(&original, id, state.now().date())?))
    }
    .await;
    let subject = result.as_ref().ok().map(|(subject, _)| *subject);
    audit(
        state,
        auth,
        "encounter.export",
        ("encounter", Some(id.to_string())),
        subject,
        &result,
    )
    .await?;
    result.map(|(_, bytes)| bytes)
}

/// A sample, the subject it belongs to and its bytes as captured; the caller checks the role and audits.
pub(crate) async fn sample_with_bytes(
    state: &AppState,
    id: Uuid,
) -> Result<(garita_model::Sample, Uuid, Vec<u8>), ApiError> {
    let sample = state
        .store
        .sample(id)
        .await?
        .ok_or_else(|| ApiError::not_found("sample"))?;
    let encounter = state
        .store
        .encounter(sample.encounter_id)
        .await?
        .ok_or_else(|| ApiError::not_found("encounter"))?;
    let bytes = state.store.blobs().get(sample.blob_sha256.as_str()).await?;
    Ok((sample, encounter.subject_id, bytes))
}

/// `GET /api/v1/samples/{id}/content`: the biometric bytes as captured (audited)
async fn get_sample_content(
    State(state): State<AppState>,
    auth: AuthUser,
    Id(id): Id,
) -> Result<Response, ApiError> {
    let result = async {
        auth.require(PERSONAL_READ)?;
        sample_with_bytes(&state, id).await
    }
    .await;
    let subject = result.as_ref().ok().map(|(_, subject, _)| *subject);
    audit(
        &state,
        &auth,
        "sample.read",
        ("sample", Some(id.to_string())),
        subject,
        &result,
    )
    .await?;
    let (sample, _, bytes) = result?;
    Response::builder()
        .header(header::CONTENT_TYPE, sample.format.media_type())
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(bytes))
        .map_err(|err| ApiError::internal(&err))
}

/// `GET /api/v1/watchlist` (audited)
async fn list_watchlist(
    State(state): State<AppState>,
    auth: AuthUser,
    query: QueryMap,
) -> Result<Json<Paged<garita_model::WatchlistEntry>>, ApiError> {
    let result = async {
        auth.require(PERSONAL_READ)?;
        Ok(state.store.list_watchlist(query.page()?).await?)
    }
    .await;
    audit(
        &state,
        &auth,
        "watchlist.list",
        ("watchlist", None),
        None,
        &result,
    )
    .await?;
    result.map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WatchlistRequest {
    subject_id: Uuid,
    category: WatchlistCategory,
    source_agency: String,
    reason: String,
}

/// `POST /api/v1/watchlist` (audited)
async fn add_watchlist(
    State(state): State<AppState>,
    auth: AuthUser,
    JsonBody(request): JsonBody<WatchlistRequest>,
) -> Result<(StatusCode, Json<garita_model::WatchlistEntry>), ApiError> {
    let result = async {
        auth.require(WATCHLIST_WRITE)?;
        check_text("source_agency", &request.source_agency, 100)?;
        check_text("reason", &request.reason, 1000)?;
        state
            .store
            .add_watchlist(
                request.subject_id,
                request.category,
                &request.source_agency,
                &request.reason,
                auth.user.id,
                state.now(),
            )
            .await
            .map_err(|err| match err {
                garita_store::StoreError::NotFound { .. } => {
                    ApiError::invalid("subject_id", "no such subject")
                }
                other => other.into(),
            })
    }
    .await;
    let object_id = result.as_ref().ok().map(|entry| entry.id.to_string());
    audit(
        &state,
        &auth,
        "watchlist.add",
        ("watchlist", object_id),
        Some(request.subject_id),
        &result,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(result?)))
}

/// `GET /api/v1/alerts[?status=open]` (audited)
async fn list_alerts(
    State(state): State<AppState>,
    auth: AuthUser,
    query: QueryMap,
) -> Result<Json<Paged<garita_model::Alert>>, ApiError> {
    let result = async {
        auth.require(PERSONAL_READ)?;
        let status: Option<AlertStatus> = query.get("status")?;
        Ok(state.store.list_alerts(status, query.page()?).await?)
    }
    .await;
    audit(&state, &auth, "alert.list", ("alert", None), None, &result).await?;
    result.map(Json)
}

/// `GET /api/v1/alerts/{id}` (audited)
async fn get_alert(
    State(state): State<AppState>,
    auth: AuthUser,
    Id(id): Id,
) -> Result<Json<garita_model::Alert>, ApiError> {
    let result = async {
        auth.require(PERSONAL_READ)?;
        state
            .store
            .alert(id)
            .await?
            .ok_or_else(|| ApiError::not_found("alert"))
    }
    .await;
    let subject = result.as_ref().ok().map(|alert| alert.candidate_subject_id);
    audit(
        &state,
        &auth,
        "alert.read",
        ("alert", Some(id.to_string())),
        subject,
        &result,
    )
    .await?;
    result.map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertStatusRequest {
    status: AlertStatus,
    reason: String,
}

/// `POST /api/v1/alerts/{id}/status`: confirm or dismiss, with a reason (audited)
async fn set_alert_status(
    State(state): State<AppState>,
    auth: AuthUser,
    Id(id): Id,
    JsonBody(request): JsonBody<AlertStatusRequest>,
) -> Result<Json<garita_model::Alert>, ApiError> {
    change_alert_status(&state, &auth, id, request.status, &request.reason)
        .await
        .map(Json)
}

/// Confirms or dismisses an alert with a reason: ledger entry first, then the row; audited. The API and the
/// console both call this.
pub(crate) async fn change_alert_status(
    state: &AppState,
    auth: &AuthUser,
    id: Uuid,
    status: AlertStatus,
    reason: &str,
) -> Result<garita_model::Alert, ApiError> {
    let result = async {
        auth.require(ALERT_DECIDE)?;
        if status == AlertStatus::Open {
            return Err(ApiError::invalid("status", "use confirmed or dismissed"));
        }
        check_text("reason", reason, 1000)?;
        let alert = state
            .store
            .alert(id)
            .await?
            .ok_or_else(|| ApiError::not_found("alert"))?;
        let now = state.now();
        let change = serde_json::json!({
            "alert_id": alert.id, "status": status, "by": auth.user.id,
            "reason": reason, "at": garita_store::ts(now),
        });
        let time = ledger::unix(now);
        let place = ledger::append_record(state, change.to_string().as_bytes(), |commitment| {
            garita_ledger::LedgerEntry::alert_status(time, status.as_str(), commitment)
        })
        .await?;
        Ok(state
            .store
            .set_alert_status(id, status, auth.user.id, reason, now, &place)
            .await?)
    }
    .await;
    let subject = result.as_ref().ok().map(|alert| alert.candidate_subject_id);
    let action = format!("alert.{status}");
    audit(
        state,
        auth,
        &action,
        ("alert", Some(id.to_string())),
        subject,
        &result,
    )
    .await?;
    result
}

/// `GET /api/v1/consignments[?lane=red]`: the inspection queue, newest first
async fn list_consignments(
    State(state): State<AppState>,
    auth: AuthUser,
    query: QueryMap,
) -> Result<Json<Paged<garita_model::Consignment>>, ApiError> {
    auth.require(CARGO_READ)?;
    let lane: Option<garita_model::Lane> = query.get("lane")?;
    Ok(Json(
        state.store.list_consignments(lane, query.page()?).await?,
    ))
}

/// `GET /api/v1/consignments/{id}`
async fn get_consignment(
    State(state): State<AppState>,
    auth: AuthUser,
    Id(id): Id,
) -> Result<Json<garita_store::ConsignmentDetail>, ApiError> {
    auth.require(CARGO_READ)?;
    state
        .store
        .consignment(id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("consignment"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionRequest {
    decision: DecisionKind,
    reason: String,
}

/// `POST /api/v1/consignments/{id}/decisions`
async fn add_decision(
    State(state): State<AppState>,
    auth: AuthUser,
    Id(id): Id,
    JsonBody(request): JsonBody<DecisionRequest>,
) -> Result<(StatusCode, Json<garita_model::Decision>), ApiError> {
    let decision = record_decision(&state, &auth, id, request.decision, &request.reason).await?;
    Ok((StatusCode::CREATED, Json(decision)))
}

/// Records an officer's decision on a consignment: ledger first, then the row; audited (API and console).
pub(crate) async fn record_decision(
    state: &AppState,
    auth: &AuthUser,
    id: Uuid,
    kind: DecisionKind,
    reason: &str,
) -> Result<garita_model::Decision, ApiError> {
    auth.require(CARGO_DECIDE)?;
    check_text("reason", reason, 1000)?;
    let result = async {
        state.store.require_consignment(id).await?;
        let decision = garita_model::Decision {
            id: Uuid::new_v4(),
            consignment_id: id,
            decision: kind,
            reason: reason.to_owned(),
            officer_id: auth.user.id,
            decided_at: state.now(),
        };
        let place = ledger::log_decision(state, &decision, decision.decided_at).await?;
        state.store.insert_decision(&decision, &place).await?;
        Ok(decision)
    }
    .await;
    audit(
        state,
        auth,
        "consignment.decide",
        ("consignment", Some(id.to_string())),
        None,
        &result,
    )
    .await?;
    result
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeizureRequest {
    substance: String,
    quantity_kg: f64,
    concealment: String,
}

/// `POST /api/v1/consignments/{id}/seizures`
async fn add_seizure(
    State(state): State<AppState>,
    auth: AuthUser,
    Id(id): Id,
    JsonBody(request): JsonBody<SeizureRequest>,
) -> Result<(StatusCode, Json<garita_model::Seizure>), ApiError> {
    let seizure = record_seizure(
        &state,
        &auth,
        id,
        &request.substance,
        request.quantity_kg,
        &request.concealment,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(seizure)))
}

/// Records a seizure on a consignment: ledger first, then the row; audited (API and console).
pub(crate) async fn record_seizure(
    state: &AppState,
    auth: &AuthUser,
    id: Uuid,
    substance: &str,
    quantity_kg: f64,
    concealment: &str,
) -> Result<garita_model::Seizure, ApiError> {
    auth.require(CARGO_DECIDE)?;
    check_text("substance", substance, 200)?;
    check_text("concealment", concealment, 1000)?;
    if !(quantity_kg.is_finite() && quantity_kg > 0.0) {
        return Err(ApiError::invalid(
            "quantity_kg",
            "must be a positive number of kilograms",
        ));
    }
    let result = async {
        state.store.require_consignment(id).await?;
        let seizure = garita_model::Seizure {
            id: Uuid::new_v4(),
            consignment_id: id,
            substance: substance.to_owned(),
            quantity_kg,
            concealment: concealment.to_owned(),
            officer_id: auth.user.id,
            recorded_at: state.now(),
        };
        let place = ledger::log_decision(state, &seizure, seizure.recorded_at).await?;
        state.store.insert_seizure(&seizure, &place).await?;
        Ok(seizure)
    }
    .await;
    audit(
        state,
        auth,
        "consignment.seize",
        ("consignment", Some(id.to_string())),
        None,
        &result,
    )
    .await?;
    result
}

/// `POST /api/v1/admin/purge`: runs the retention rules now (they also run hourly).
async fn run_purge(
    State(state): State<AppState>,
    auth: AuthUser,
) -> Result<Json<crate::retention::PurgeReport>, ApiError> {
    auth.require(ADMIN)?;
    let result = crate::retention::purge(&state).await;
    audit(
        &state,
        &auth,
        "retention.purge",
        ("capture", None),
        None,
        &result,
    )
    .await?;
    result.map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FindingRequest {
    /// x, y, width, height in image pixels.
    region: [u32; 4],
    kind: String,
    reason: String,
}

/// `POST /api/v1/consignments/{id}/findings`: an officer draws a region and says what it is. Logged as an officer
/// decision, kept apart from the algorithm's findings.
async fn add_finding(
    State(state): State<AppState>,
    auth: AuthUser,
    Id(id): Id,
    JsonBody(request): JsonBody<FindingRequest>,
) -> Result<(StatusCode, Json<garita_model::Finding>), ApiError> {
    let finding = record_finding(
        &state,
        &auth,
        id,
        request.region,
        &request.kind,
        &request.reason,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(finding)))
}

/// Records an officer's finding (a region of the scan in image pixels): ledger first, then the row; audited (API
/// and console).
pub(crate) async fn record_finding(
    state: &AppState,
    auth: &AuthUser,
    id: Uuid,
    region: [u32; 4],
    kind: &str,
    reason: &str,
) -> Result<garita_model::Finding, ApiError> {
    auth.require(CARGO_DECIDE)?;
    check_text("kind", kind, 100)?;
    check_text("reason", reason, 1000)?;
    if region[2] == 0 || region[3] == 0 {
        return Err(ApiError::invalid(
            "region",
            "width and height must be positive",
        ));
    }
    let result = async {
        state.store.require_consignment(id).await?;
        let finding = garita_model::Finding {
            id: Uuid::new_v4(),
            consignment_id: id,
            region,
            kind: kind.to_owned(),
            score: 1.0,
            source: garita_model::FindingSource::Officer,
            reason: reason.to_owned(),
            rejected_by: None,
            rejection_reason: None,
        };
        let now = state.now();
        ledger::log_decision(state, &finding, now).await?;
        state
            .store
            .insert_finding(&finding, Some(auth.user.id), now)
            .await?;
        Ok(finding)
    }
    .await;
    audit(
        state,
        auth,
        "finding.add",
        ("consignment", Some(id.to_string())),
        None,
        &result,
    )
    .await?;
    result
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectRequest {
    reason: String,
}

/// `POST /api/v1/findings/{id}/reject`: an officer rejects a finding (it stays on record, marked). Logged.
async fn reject_finding(
    State(state): State<AppState>,
    auth: AuthUser,
    Id(id): Id,
    JsonBody(request): JsonBody<RejectRequest>,
) -> Result<Json<garita_store::ConsignmentDetail>, ApiError> {
    withdraw_finding(&state, &auth, id, &request.reason)
        .await
        .map(Json)
}

/// Marks a finding rejected with a reason (never deletes it), logs the rejection and answers the consignment;
/// audited (API and console).
pub(crate) async fn withdraw_finding(
    state: &AppState,
    auth: &AuthUser,
    id: Uuid,
    reason: &str,
) -> Result<garita_store::ConsignmentDetail, ApiError> {
    auth.require(CARGO_DECIDE)?;
    check_text("reason", reason, 1000)?;
    let result = async {
        let now = state.now();
        let change = serde_json::json!({ "finding_id": id, "rejected_by": auth.user.id,
                                         "reason": reason, "at": garita_store::ts(now) });
        let consignment = state
            .store
            .reject_finding(id, auth.user.id, reason, now)
            .await
            .map_err(ApiError::from)?;
        ledger::log_decision(state, &change, now).await?;
        state
            .store
            .consignment(consignment)
            .await?
            .ok_or_else(|| ApiError::not_found("consignment"))
    }
    .await;
    audit(
        state,
        auth,
        "finding.reject",
        ("finding", Some(id.to_string())),
        None,
        &result,
    )
    .await?;
    result
}

/// `GET /api/v1/audit[?actor=&subject=&since=&until=]`: auditors only; reading it is audited too.
async fn list_audit(
    State(state): State<AppState>,
    auth: AuthUser,
    query: QueryMap,
) -> Result<Json<Paged<AuditEvent>>, ApiError> {
    let result = async {
        auth.require(AUDIT_READ)?;
        let mut filter = AuditFilter {
            actor: query.get("actor")?,
            subject: query.get("subject")?,
            ..AuditFilter::default()
        };
        for (name, slot) in [("since", &mut filter.since), ("until", &mut filter.until)] {
            if let Some(text) = query.0.get(name) {
                let at = time::OffsetDateTime::parse(
                    text,
                    &time::format_description::well_known::Rfc3339,
                )
                .map_err(|_| {
                    ApiError::invalid(name, "use an RFC 3339 time such as 2026-11-23T00:00:00Z")
                })?;
                *slot = Some(garita_store::ts(at));
            }
        }
        Ok(state.store.list_audit(&filter, query.page()?).await?)
    }
    .await;
    audit(&state, &auth, "audit.read", ("audit", None), None, &result).await?;
    result.map(Json)
}
