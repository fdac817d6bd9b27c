//! The web console: server-rendered HTML (maud) for officers, supervisors, analysts, auditors and admins, served
//! by the same binary under `/console` (docs/console.md).
//!
//! Every page authenticates by a session cookie ([`session`]), checks a role from [`crate::policy`] (a refused
//! role gets a 403 page) and audits reads of personal data exactly as the API does; every form carries the
//! session's CSRF token, checked before the handler runs. Writes call the same functions as the API handlers
//! (`api::change_alert_status`, `api::record_decision`, …), so the ledger-first path is shared. Styles and
//! scripts are embedded in the binary and served under content-hashed names; the Content-Security-Policy allows
//! no inline script at all.

mod admin;
mod alerts;
mod assets;
mod audit;
mod cargo;
mod charts;
mod dashboard;
mod images;
mod layout;
mod people;
mod session;
mod sharing;

use layout::PageError;

use crate::{AppState, policy};
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use garita_model::Role;

/// The Content-Security-Policy of every console response: scripts, styles and images from this server only, no
/// inline script, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Every console route (method, path under `/console`, roles allowed; `None` = public). The console route x role
/// test (crates/server/tests/api/console.rs) checks each against its own table; docs/console.md has the matrix.
pub const CONSOLE_ROUTES: &[(&str, &str, Option<&[Role]>)] = &[
    ("GET", "/login", None),
    ("POST", "/login", None),
    ("POST", "/logout", Some(policy::ANY)),
    ("GET", "/", Some(policy::ANY)),
    ("GET", "/alerts", Some(policy::PERSONAL_READ)),
    ("GET", "/alerts/{id}", Some(policy::PERSONAL_READ)),
    ("POST", "/alerts/{id}/status", Some(policy::ALERT_DECIDE)),
    ("GET", "/subjects", Some(policy::PERSONAL_READ)),
    ("GET", "/subjects/{id}", Some(policy::PERSONAL_READ)),
    ("GET", "/encounters/{id}", Some(policy::PERSONAL_READ)),
    ("GET", "/encounters/{id}/an2", Some(policy::PERSONAL_READ)),
    ("GET", "/samples/{id}/image", Some(policy::PERSONAL_READ)),
    ("GET", "/consignments", Some(policy::CARGO_READ)),
    ("GET", "/consignments/{id}", Some(policy::CARGO_READ)),
    (
        "GET",
        "/consignments/{id}/scan.png",
        Some(policy::CARGO_READ),
    ),
    (
        "POST",
        "/consignments/{id}/decisions",
        Some(policy::CARGO_DECIDE),
    ),
    (
        "POST",
        "/consignments/{id}/seizures",
        Some(policy::CARGO_DECIDE),
    ),
    (
        "POST",
        "/consignments/{id}/findings",
        Some(policy::CARGO_DECIDE),
    ),
    ("POST", "/findings/{id}/reject", Some(policy::CARGO_DECIDE)),
    ("GET", "/audit", Some(policy::AUDIT_READ)),
    ("GET", "/sharing", Some(policy::SHARE_READ)),
    ("GET", "/admin/sites", Some(policy::ADMIN)),
    ("POST", "/admin/sites", Some(policy::ADMIN)),
    ("GET", "/admin/devices", Some(policy::DEVICE_READ)),
    ("POST", "/admin/devices", Some(policy::ADMIN)),
    ("POST", "/admin/devices/{id}/revoke", Some(policy::ADMIN)),
    ("GET", "/admin/users", Some(policy::ADMIN)),
    ("POST", "/admin/users", Some(policy::ADMIN)),
    ("GET", "/assets/{name}", None),
];

/// The console's routes, nested under `/console`; [`CONSOLE_ROUTES`] lists them with their roles.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::view_dashboard_get))
        .route(
            "/login",
            get(session::view_login_get).post(session::login_post),
        )
        .route("/logout", post(session::logout_post))
        .route("/assets/{name}", get(assets::serve))
        .route("/alerts", get(alerts::view_alerts_get))
        .route("/alerts/{id}", get(alerts::view_alert_get))
        .route("/alerts/{id}/status", post(alerts::alert_status_post))
        .route("/subjects", get(people::view_subjects_get))
        .route("/subjects/{id}", get(people::view_subject_get))
        .route("/encounters/{id}", get(people::view_encounter_get))
        .route("/encounters/{id}/an2", get(people::export_an2_get))
        .route("/samples/{id}/image", get(images::sample_image_get))
        .route("/consignments", get(cargo::view_consignments_get))
        .route("/consignments/{id}", get(cargo::view_consignment_get))
        .route("/consignments/{id}/scan.png", get(images::scan_image_get))
        .route("/consignments/{id}/decisions", post(cargo::decision_post))
        .route("/consignments/{id}/seizures", post(cargo::seizure_post))
        .route("/consignments/{id}/findings", post(cargo::finding_post))
        .route("/findings/{id}/reject", post(cargo::reject_post))
        .route("/audit", get(audit::view_audit_get))
        .route("/sharing", get(sharing::view_sharing_get))
        .route(
            "/admin/sites",
            get(admin::view_sites_get).post(admin::site_post),
        )
        .route(
            "/admin/devices",
            get(admin::view_devices_get).post(admin::device_post),
        )
        .route("/admin/devices/{id}/revoke", post(admin::revoke_post))
        .route(
            "/admin/users",
            get(admin::view_users_get).post(admin::user_post),
        )
        .fallback(layout::not_found)
        .layer(axum::middleware::map_response(security_headers))
}

/// `GET /`: the console.
pub(crate) async fn root() -> Redirect {
    Redirect::to("/console")
}

/// Security headers on every console response; pages are never cached (they hold personal data), assets keep the
/// long cache their handler set.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

/// A UUID from a path segment; anything else is a 404 page.
pub(crate) fn parse_id(text: &str) -> Result<uuid::Uuid, PageError> {
    uuid::Uuid::parse_str(text).map_err(|_| PageError::from(crate::ApiError::not_found("page")))
}
