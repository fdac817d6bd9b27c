//! The page frame (header, role-aware navigation, footer), the HTML error pages and small formatting helpers.

use super::assets::asset_url;
use super::session::Console;
use crate::ApiError;
use crate::policy::{ADMIN, AUDIT_READ, CARGO_READ, DEVICE_READ, PERSONAL_READ, SHARE_READ};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use garita_model::Role;
use maud::{DOCTYPE, Markup, html};
use time::OffsetDateTime;

/// What a console handler returns.
pub(crate) type PageResult = Result<Response, PageError>;

/// Why a page cannot be shown: not logged in (redirect to the login page) or an error shown as an HTML page.
#[derive(Debug)]
pub(crate) enum PageError {
    /// No valid session: go to the login page.
    Login,
    /// Any other failure, with the API's status and message.
    Api(ApiError),
}

impl From<ApiError> for PageError {
    fn from(err: ApiError) -> Self {
        if err.status == StatusCode::UNAUTHORIZED {
            PageError::Login
        } else {
            PageError::Api(err)
        }
    }
}

impl From<garita_store::StoreError> for PageError {
    fn from(err: garita_store::StoreError) -> Self {
        PageError::Api(ApiError::from(err))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::Login => Redirect::to("/console/login").into_response(),
            PageError::Api(err) => {
                let (title, detail) = match err.status {
                    StatusCode::FORBIDDEN => ("Not allowed (403)", err.message.clone()),
                    StatusCode::NOT_FOUND => ("Not found (404)", err.message.clone()),
                    status if status.is_server_error() => {
                        tracing::error!(error = %err.message, "console page failed");
                        (
                            "Something went wrong",
                            "the server could not show this page; the detail is in its log"
                                .to_owned(),
                        )
                    }
                    _ => ("Cannot do that", field_message(&err)),
                };
                let body = bare_page(
                    title,
                    html! {
                        main.narrow {
                            h1 { (title) }
                            p.error-detail { (detail) }
                            p { a href="/console" { "Back to the console" } }
                        }
                    },
                );
                (err.status, Html(body.into_string())).into_response()
            }
        }
    }
}

fn field_message(err: &ApiError) -> String {
    match &err.field {
        Some(field) => format!("{field}: {}", err.message),
        None => err.message.clone(),
    }
}

/// The console's 404 for unknown paths.
pub(crate) async fn not_found() -> PageError {
    PageError::Api(ApiError::not_found("page"))
}

/// A page without navigation (login, errors).
pub(crate) fn bare_page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                link rel="icon" href="data:,";
                title { (title) " · garita" }
                link rel="stylesheet" href=(asset_url("console.css"));
                script src=(asset_url("console.js")) defer {}
            }
            body { (body) }
        }
    }
}

/// One navigation entry: path, label, and the roles that see it.
const NAV: &[(&str, &str, &[Role])] = &[
    ("/console", "Dashboard", Role::ALL),
    ("/console/alerts", "Alerts", PERSONAL_READ),
    ("/console/subjects", "Subjects", PERSONAL_READ),
    ("/console/consignments", "Inspection", CARGO_READ),
    ("/console/audit", "Audit", AUDIT_READ),
    ("/console/sharing", "Sharing", SHARE_READ),
    ("/console/admin/sites", "Sites", ADMIN),
    ("/console/admin/devices", "Devices", DEVICE_READ),
    ("/console/admin/users", "Users", ADMIN),
];

/// A full page: header with the navigation the user's role may use, the user and a logout button.
pub(crate) fn page(console: &Console, title: &str, active: &str, body: Markup) -> Response {
    let role = console.auth.user.role;
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                link rel="icon" href="data:,";
                title { (title) " · garita" }
                link rel="stylesheet" href=(asset_url("console.css"));
                script src=(asset_url("console.js")) defer {}
            }
            body {
                header.top {
                    a.brand href="/console" { "garita" }
                    nav aria-label="Main" {
                        @for (path, label, roles) in NAV {
                            @if roles.contains(&role) {
                                a href=(path) .active[*path == active] { (label) }
                            }
                        }
                    }
                    div.who {
                        span.user { (console.auth.user.username.as_str()) }
                        span.role { (role.as_str()) }
                        form method="post" action="/console/logout" {
                            (console.csrf_field())
                            button.link type="submit" { "Log out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    };
    Html(markup.into_string()).into_response()
}

/// `2026-11-23 13:02 UTC`.
pub(crate) fn when(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// A coloured label (`badge badge-<kind>`).
pub(crate) fn badge(kind: &str, text: &str) -> Markup {
    html! { span class=(format!("badge badge-{kind}")) { (text) } }
}

/// A subject's display name (never empty).
pub(crate) fn subject_name(subject: &garita_model::Subject) -> String {
    let name = [
        subject.given_name.as_deref(),
        subject.family_name.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    if name.trim().is_empty() {
        format!("Unnamed subject {}", &subject.id.simple().to_string()[..8])
    } else {
        name
    }
}

/// "Previous / next" links for a paged list; `base` already holds the other query parameters.
pub(crate) fn pager(base: &str, offset: u64, limit: u32, next: Option<u64>) -> Markup {
    let sep = if base.contains('?') { '&' } else { '?' };
    html! {
        nav.pager aria-label="Pages" {
            @if offset > 0 {
                a href=(format!("{base}{sep}offset={}", offset.saturating_sub(u64::from(limit)))) { "← Newer" }
            }
            @if let Some(next) = next {
                a href=(format!("{base}{sep}offset={next}")) { "Older →" }
            }
        }
    }
}
