//! Subjects and encounters: search, a subject's record (watchlist entries, a timeline of encounters with their
//! samples), an encounter's samples and alerts, and its export as an ANSI/NIST-ITL transaction. All audited.

use super::images::sample_figure;
use super::layout::{PageError, PageResult, badge, page, pager, subject_name, when};
use super::session::Console;
use crate::api::{audit, encounter_an2};
use crate::extract::QueryMap;
use crate::policy::PERSONAL_READ;
use crate::{ApiError, AppState};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::Response;
use maud::html;

/// Longest search text accepted.
const MAX_SEARCH: usize = 100;

/// `GET /console/subjects[?q=name]` (audited as `subject.list`).
pub(crate) async fn view_subjects_get(
    State(state): State<AppState>,
    console: Console,
    query: QueryMap,
) -> PageResult {
    let text = query
        .0
        .get("q")
        .map(|q| q.trim().to_owned())
        .unwrap_or_default();
    let result = async {
        console.auth.require(PERSONAL_READ)?;
        if text.len() > MAX_SEARCH {
            return Err(ApiError::invalid(
                "q",
                format!("longer than {MAX_SEARCH} bytes"),
            ));
        }
        let page = query.page()?;
        let found = if text.is_empty() {
            state.store.list_subjects(page).await?
        } else {
            state.store.search_subjects(&text, page).await?
        };
        Ok((found, page))
    }
    .await;
    audit(
        &state,
        &console.auth,
        "subject.list",
        ("subject", None),
        None,
        &result,
    )
    .await?;
    let (found, page_request) = result?;
    let body = html! {
        h1 { "Subjects" }
        form.search method="get" action="/console/subjects" role="search" {
            input type="search" name="q" value=(text) placeholder="Name or id" maxlength="100" aria-label="Search subjects";
            button type="submit" { "Search" }
        }
        @if found.items.is_empty() {
            p.empty { "No subject matches." }
        } @else {
            table.list {
                thead { tr { th { "Name" } th { "Claimed citizenship" } th { "First seen" } } }
                tbody {
                    @for subject in &found.items {
                        tr {
                            td { a href=(format!("/console/subjects/{}", subject.id)) { (subject_name(subject)) } }
                            td { (subject.claimed_citizenship.as_ref().map_or("—", |c| c.as_str())) }
                            td { (when(subject.created_at)) }
                        }
                    }
                }
            }
            (pager(&format!("/console/subjects?q={}", url_escape(&text)), page_request.offset, page_request.limit, found.next_offset))
        }
    };
    Ok(page(&console, "Subjects", "/console/subjects", body))
}

fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// `GET /console/subjects/{id}` (audited as `subject.read`).
pub(crate) async fn view_subject_get(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> PageResult {
    let id = super::parse_id(&id)?;
    let result = async {
        console.auth.require(PERSONAL_READ)?;
        let subject = state
            .store
            .subject(id)
            .await?
            .ok_or_else(|| ApiError::not_found("subject"))?;
        let listings = state.store.watchlist_of_subject(id).await?;
        let encounters = state
            .store
            .list_encounters(Some(id), garita_store::Page::default())
            .await?
            .items;
        let mut timeline = Vec::new();
        for encounter in encounters {
            let site = state.store.site(&encounter.site_id.to_string()).await?;
            let alerts = state.store.alerts_of_encounter(encounter.id).await?;
            timeline.push((encounter, site, alerts));
        }
        Ok((subject, listings, timeline))
    }
    .await;
    audit(
        &state,
        &console.auth,
        "subject.read",
        ("subject", Some(id.to_string())),
        Some(id),
        &result,
    )
    .await?;
    let (subject, listings, timeline) = result?;
    let body = html! {
        p.crumbs { a href="/console/subjects" { "Subjects" } " / " (subject_name(&subject)) }
        h1 { (subject_name(&subject)) }
        p.meta {
            @if let Some(country) = &subject.claimed_citizenship { "Claims " (country.as_str()) " · " }
            "first seen " (when(subject.created_at))
        }
        @if !listings.is_empty() {
            section {
                h2 { "Watchlist" }
                ul.timeline {
                    @for listing in &listings {
                        li { (badge(listing.category.as_str(), listing.category.as_str())) " " (listing.source_agency) ": " (listing.reason) " · " (when(listing.created_at)) }
                    }
                }
            }
        }
        section {
            h2 { "Encounters" }
            ol.timeline {
                @for (encounter, site, alerts) in &timeline {
                    li {
                        a href=(format!("/console/encounters/{}", encounter.id)) { (when(encounter.captured_at)) }
                        " · " (site.as_ref().map_or("unknown site", |s| s.name.as_str()))
                        @for alert in alerts {
                            " " a href=(format!("/console/alerts/{}", alert.id)) { (badge(alert.category.as_str(), alert.category.as_str())) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(&console, "Subject", "/console/subjects", body))
}

/// `GET /console/encounters/{id}` (audited as `encounter.read`).
pub(crate) async fn view_encounter_get(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> PageResult {
    let id = super::parse_id(&id)?;
    let result = async {
        console.auth.require(PERSONAL_READ)?;
        let encounter = state
            .store
            .encounter(id)
            .await?
            .ok_or_else(|| ApiError::not_found("encounter"))?;
        let subject = state.store.subject(encounter.subject_id).await?;
        let samples = state.store.samples_of_encounter(id).await?;
        let alerts = state.store.alerts_of_encounter(id).await?;
        let capture = state.store.capture(encounter.capture_id).await?;
        let from_an2 =
            capture.is_some_and(|c| c.payload_type == garita_model::PayloadType::An2.as_str());
        Ok((encounter, subject, samples, alerts, from_an2))
    }
    .await;
    let subject_id = result
        .as_ref()
        .ok()
        .map(|(encounter, ..)| encounter.subject_id);
    audit(
        &state,
        &console.auth,
        "encounter.read",
        ("encounter", Some(id.to_string())),
        subject_id,
        &result,
    )
    .await?;
    let (encounter, subject, samples, alerts, from_an2) = result?;
    let mut figures = Vec::new();
    for sample in &samples {
        figures.push(sample_figure(&state, sample).await);
    }
    let body = html! {
        p.crumbs {
            a href="/console/subjects" { "Subjects" } " / "
            @if let Some(subject) = &subject { a href=(format!("/console/subjects/{}", subject.id)) { (subject_name(subject)) } " / " }
            "encounter"
        }
        h1 { "Encounter " (when(encounter.captured_at)) }
        @if !alerts.is_empty() {
            p { "Alerts: "
                @for alert in &alerts {
                    a href=(format!("/console/alerts/{}", alert.id)) { (badge(alert.category.as_str(), alert.category.as_str())) } " "
                }
            }
        }
        @if from_an2 {
            p { a.button href=(format!("/console/encounters/{id}/an2")) download { "Export as ANSI/NIST-ITL" } }
        }
        div.samples { @for figure in &figures { (figure) } }
    };
    Ok(page(&console, "Encounter", "/console/subjects", body))
}

/// `GET /console/encounters/{id}/an2`: download (the API's export, audited as `encounter.export`).
pub(crate) async fn export_an2_get(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> PageResult {
    let id = super::parse_id(&id)?;
    let bytes = encounter_an2(&state, &console.auth, id).await?;
    Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{id}.an2\""),
        )
        .body(Body::from(bytes))
        .map_err(|err| PageError::from(ApiError::internal(&err)))
}
