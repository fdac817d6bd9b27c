//! The alerts queue and an alert's detail: probe and candidate side by side, score, category, the candidate's
//! watchlist entries and encounters, and the confirm/dismiss form (officers and supervisors).

use super::images::sample_figure;
use super::layout::{PageResult, badge, page, pager, subject_name, when};
use super::session::{Console, Posted};
use crate::api::{audit, change_alert_status};
use crate::extract::QueryMap;
use crate::policy::{ALERT_DECIDE, PERSONAL_READ};
use crate::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use garita_model::{Alert, AlertStatus, Encounter, Sample, Subject};
use maud::{Markup, html};

/// `GET /console/alerts[?status=open|confirmed|dismissed|all]` (audited as `alert.list`).
pub(crate) async fn view_alerts_get(
    State(state): State<AppState>,
    console: Console,
    query: QueryMap,
) -> PageResult {
    let status_text = query
        .0
        .get("status")
        .map_or("open", String::as_str)
        .to_owned();
    let result = async {
        console.auth.require(PERSONAL_READ)?;
        let status: Option<AlertStatus> = match status_text.as_str() {
            "all" => None,
            other => Some(other.parse().map_err(|_| {
                ApiError::invalid("status", "use open, confirmed, dismissed or all")
            })?),
        };
        let page = query.page()?;
        let alerts = state.store.list_alerts(status, page).await?;
        let mut rows = Vec::new();
        for alert in alerts.items {
            let subject = state.store.subject(alert.candidate_subject_id).await?;
            rows.push((alert, subject));
        }
        Ok((rows, page, alerts.next_offset))
    }
    .await;
    audit(
        &state,
        &console.auth,
        "alert.list",
        ("alert", None),
        None,
        &result,
    )
    .await?;
    let (rows, page_request, next) = result?;
    let body = html! {
        h1 { "Alerts" }
        nav.tabs aria-label="Status" {
            @for tab in ["open", "confirmed", "dismissed", "all"] {
                a href=(format!("/console/alerts?status={tab}")) .active[tab == status_text] { (tab) }
            }
        }
        @if rows.is_empty() {
            p.empty { "No " (status_text) " alerts." }
        } @else {
            table.list {
                thead { tr { th { "Raised" } th { "Category" } th { "Candidate" } th.num { "Score" } th { "Status" } } }
                tbody {
                    @for (alert, subject) in &rows {
                        tr {
                            td { a href=(format!("/console/alerts/{}", alert.id)) { (when(alert.created_at)) } }
                            td { (badge(alert.category.as_str(), alert.category.as_str())) }
                            td { (subject.as_ref().map_or_else(|| "unknown".to_owned(), subject_name)) }
                            td.num { (format!("{:.3}", alert.score)) }
                            td { (badge(alert.status.as_str(), alert.status.as_str())) }
                        }
                    }
                }
            }
            (pager(&format!("/console/alerts?status={status_text}"), page_request.offset, page_request.limit, next))
        }
    };
    Ok(page(&console, "Alerts", "/console/alerts", body))
}

struct Side {
    subject: Option<Subject>,
    encounter: Option<Encounter>,
    samples: Vec<Sample>,
}

async fn side(
    state: &AppState,
    subject_id: uuid::Uuid,
    encounter: Option<Encounter>,
) -> Result<Side, ApiError> {
    let subject = state.store.subject(subject_id).await?;
    let samples = match &encounter {
        Some(encounter) => state.store.samples_of_encounter(encounter.id).await?,
        None => Vec::new(),
    };
    Ok(Side {
        subject,
        encounter,
        samples,
    })
}

/// The candidate's most recent encounter other than the probe's (the one the probe matched against).
async fn candidate_encounter(
    state: &AppState,
    alert: &Alert,
) -> Result<(Option<Encounter>, Vec<Encounter>), ApiError> {
    let encounters = state
        .store
        .list_encounters(
            Some(alert.candidate_subject_id),
            garita_store::Page::default(),
        )
        .await?
        .items;
    let chosen = encounters
        .iter()
        .find(|encounter| encounter.id != alert.encounter_id)
        .cloned();
    Ok((chosen, encounters))
}

async fn side_markup(state: &AppState, title: &str, side: &Side) -> Markup {
    let mut figures = Vec::new();
    for sample in &side.samples {
        figures.push(sample_figure(state, sample).await);
    }
    html! {
        section.side {
            h2 { (title) }
            @if let Some(subject) = &side.subject {
                p.subject {
                    a href=(format!("/console/subjects/{}", subject.id)) { (subject_name(subject)) }
                    @if let Some(country) = &subject.claimed_citizenship { " · claims " (country.as_str()) }
                }
            }
            @if let Some(encounter) = &side.encounter {
                p.meta { "Encounter " a href=(format!("/console/encounters/{}", encounter.id)) { (when(encounter.captured_at)) } }
            } @else {
                p.meta { "No other encounter on record." }
            }
            div.samples { @for figure in &figures { (figure) } }
        }
    }
}

/// `GET /console/alerts/{id}` (audited as `alert.read`, with the candidate as subject).
pub(crate) async fn view_alert_get(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> PageResult {
    let id = super::parse_id(&id)?;
    let result = async {
        console.auth.require(PERSONAL_READ)?;
        let alert = state
            .store
            .alert(id)
            .await?
            .ok_or_else(|| ApiError::not_found("alert"))?;
        let probe_encounter = state.store.encounter(alert.encounter_id).await?;
        let probe_subject = probe_encounter.as_ref().map(|e| e.subject_id);
        let probe = match probe_subject {
            Some(subject) => side(&state, subject, probe_encounter).await?,
            None => Side {
                subject: None,
                encounter: None,
                samples: Vec::new(),
            },
        };
        let (chosen, history) = candidate_encounter(&state, &alert).await?;
        let candidate = side(&state, alert.candidate_subject_id, chosen).await?;
        let listings = state
            .store
            .watchlist_of_subject(alert.candidate_subject_id)
            .await?;
        Ok((alert, probe, candidate, history, listings))
    }
    .await;
    let subject = result
        .as_ref()
        .ok()
        .map(|(alert, ..)| alert.candidate_subject_id);
    audit(
        &state,
        &console.auth,
        "alert.read",
        ("alert", Some(id.to_string())),
        subject,
        &result,
    )
    .await?;
    let (alert, probe, candidate, history, listings) = result?;
    let probe_html = side_markup(&state, "Probe (this crossing)", &probe).await;
    let candidate_html = side_markup(&state, "Candidate (on record)", &candidate).await;
    let may_decide = ALERT_DECIDE.contains(&console.auth.user.role);
    let body = html! {
        p.crumbs { a href="/console/alerts" { "Alerts" } " / " (alert.id) }
        h1 {
            (badge(alert.category.as_str(), alert.category.as_str())) " "
            "score " (format!("{:.3}", alert.score)) " "
            (badge(alert.status.as_str(), alert.status.as_str()))
        }
        p.meta { "Raised " (when(alert.created_at)) }
        div.compare { (probe_html) (candidate_html) }
        section {
            h2 { "History" }
            ul.timeline {
                @for listing in &listings {
                    li { (when(listing.created_at)) " · listed as " (badge(listing.category.as_str(), listing.category.as_str()))
                         " by " (listing.source_agency) ": " (listing.reason) }
                }
                @for encounter in &history {
                    li { (when(encounter.captured_at)) " · "
                         a href=(format!("/console/encounters/{}", encounter.id)) { "encounter" }
                         @if encounter.id == alert.encounter_id { " (this probe)" } }
                }
                @if let (Some(at), Some(reason)) = (alert.decided_at, &alert.reason) {
                    li { (when(at)) " · " (alert.status.as_str()) ": " (reason) }
                }
            }
        }
        @if may_decide && alert.status == AlertStatus::Open {
            section.decide {
                h2 { "Decision" }
                form method="post" action=(format!("/console/alerts/{}/status", alert.id)) {
                    (console.csrf_field())
                    label { "Reason" textarea name="reason" required maxlength="1000" rows="2" {} }
                    div.buttons {
                        button.confirm type="submit" name="status" value="confirmed" { "Confirm match" }
                        button.dismiss type="submit" name="status" value="dismissed" { "Dismiss" }
                    }
                }
            }
        }
    };
    Ok(page(&console, "Alert", "/console/alerts", body))
}

/// `POST /console/alerts/{id}/status`: confirm or dismiss with a reason (ledger first, audited; the API's code).
pub(crate) async fn alert_status_post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let id = super::parse_id(&id)?;
    let status: AlertStatus = posted.form.parse("status")?;
    let reason = posted.form.get("reason")?;
    change_alert_status(&state, &posted.console.auth, id, status, reason.trim()).await?;
    Ok(Redirect::to(&format!("/console/alerts/{id}")).into_response())
}
