//! The inspection queue by lane, a consignment's detail (manifest, lane reasons, findings, decisions, seizures),
//! the X-ray viewer (xray.js: zoom, pan, window/level, material colours, finding boxes, drawing a region) and the
//! decision, seizure and finding forms (officers and supervisors).

use super::assets::asset_url;
use super::layout::{PageResult, badge, page, pager, when};
use super::session::{Console, Posted};
use crate::api::{record_decision, record_finding, record_seizure, withdraw_finding};
use crate::extract::QueryMap;
use crate::policy::{CARGO_DECIDE, CARGO_READ};
use crate::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use garita_model::{DecisionKind, Lane};
use maud::html;

/// `GET /console/consignments[?lane=red]`: the inspection queue, newest first.
pub(crate) async fn view_consignments_get(
    State(state): State<AppState>,
    console: Console,
    query: QueryMap,
) -> PageResult {
    console.auth.require(CARGO_READ)?;
    let lane_text = query.0.get("lane").cloned().unwrap_or_default();
    let lane: Option<Lane> = if lane_text.is_empty() {
        None
    } else {
        Some(
            lane_text
                .parse()
                .map_err(|_| ApiError::invalid("lane", "use red, yellow, blue or green"))?,
        )
    };
    let page_request = query.page()?;
    let listed = state.store.list_consignments(lane, page_request).await?;
    let body = html! {
        h1 { "Inspection queue" }
        nav.tabs aria-label="Lane" {
            a href="/console/consignments" .active[lane.is_none()] { "all" }
            @for option in Lane::ALL {
                a href=(format!("/console/consignments?lane={option}")) .active[lane == Some(*option)] { (option.as_str()) }
            }
        }
        @if listed.items.is_empty() {
            p.empty { "No consignments in this lane." }
        } @else {
            table.list {
                thead { tr { th { "Received" } th { "Container" } th { "Conveyance" } th { "Declarant" } th { "Origin" } th { "Lane" } } }
                tbody {
                    @for item in &listed.items {
                        tr {
                            td { a href=(format!("/console/consignments/{}", item.id)) { (when(item.created_at)) } }
                            td.mono { (item.container_number.as_ref().map_or("—", |c| c.as_str())) }
                            td { (item.conveyance) }
                            td { (item.declarant) }
                            td { (item.origin.as_ref().map_or("—", |c| c.as_str())) }
                            td { @if let Some(lane) = item.lane { (badge(lane.as_str(), lane.as_str())) } @else { "—" } }
                        }
                    }
                }
            }
            (pager(&format!("/console/consignments?lane={lane_text}"), page_request.offset, page_request.limit, listed.next_offset))
        }
    };
    Ok(page(
        &console,
        "Inspection queue",
        "/console/consignments",
        body,
    ))
}

/// `GET /console/consignments/{id}`
pub(crate) async fn view_consignment_get(
    State(state): State<AppState>,
    console: Console,
    Path(id): Path<String>,
) -> PageResult {
    let id = super::parse_id(&id)?;
    console.auth.require(CARGO_READ)?;
    let detail = state
        .store
        .consignment(id)
        .await?
        .ok_or_else(|| ApiError::not_found("consignment"))?;
    let capture = state.store.consignment_capture(id).await?;
    let has_scan = match capture {
        Some(capture) => state.store.capture_blob_names(capture).await?.len() >= 2,
        None => false,
    };
    let consignment = &detail.consignment;
    let may_decide = CARGO_DECIDE.contains(&console.auth.user.role);
    let findings_json =
        serde_json::to_string(&detail.findings).map_err(|err| ApiError::internal(&err))?;
    let rules: Vec<String> = detail
        .lane_reasons
        .as_ref()
        .and_then(|reasons| reasons.get("rules"))
        .and_then(|rules| rules.as_array())
        .map(|rules| {
            rules
                .iter()
                .map(|rule| {
                    rule.get("detail").or(rule.get("rule")).map_or_else(
                        || rule.to_string(),
                        |v| v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let body = html! {
        p.crumbs { a href="/console/consignments" { "Inspection" } " / " (consignment.container_number.as_ref().map_or("no container", |c| c.as_str())) }
        h1 {
            "Consignment " span.mono { (consignment.container_number.as_ref().map_or("—", |c| c.as_str())) } " "
            @if let Some(lane) = consignment.lane { (badge(lane.as_str(), lane.as_str())) }
        }
        p.meta {
            (consignment.conveyance) " · declarant " (consignment.declarant)
            @if let Some(origin) = &consignment.origin { " · origin " (origin.as_str()) }
            " · received " (when(consignment.created_at))
        }
        @if !rules.is_empty() {
            ul.reasons { @for rule in &rules { li { (rule) } } }
        }
        section.viewer-section {
                h2 { "X-ray" }
                @if has_scan {
                    div.xray #xray data-src=(format!("/console/consignments/{id}/scan.png")) data-findings=(findings_json) data-can-draw=(may_decide) {
                        div.xray-tools {
                            button type="button" data-act="zoom-in" title="Zoom in" { "+" }
                            button type="button" data-act="zoom-out" title="Zoom out" { "−" }
                            button type="button" data-act="reset" { "Fit" }
                            label { "Window" input type="range" name="window" min="1" max="255" value="255"; }
                            label { "Level" input type="range" name="level" min="0" max="255" value="128"; }
                            label.check { input type="checkbox" name="material" checked; "Material colours" }
                            label.check { input type="checkbox" name="boxes" checked; "Findings" }
                            @if may_decide { button type="button" data-act="draw" aria-pressed="false" { "Draw region" } }
                        }
                        canvas width="960" height="360" tabindex="0" aria-label="X-ray image; drag to pan, wheel to zoom" {}
                        p.legend {
                            span.swatch.organic {} "organic " span.swatch.inorganic {} "inorganic " span.swatch.metal {} "metal " span.swatch.dense {} "impenetrable"
                        }
                    }
                } @else {
                    p.empty { "No scan was sent with this consignment." }
                }
        }
        div.cargo-grid {
            section {
                h2 { "Manifest" }
                table.list {
                    thead { tr { th { "HS" } th { "Description" } th.num { "kg" } th.num { "Qty" } } }
                    tbody {
                        @for line in &consignment.lines {
                            tr { td.mono { (line.hs_code.as_str()) } td { (line.description) } td.num { (format!("{:.0}", line.declared_mass_kg)) } td.num { (line.quantity) } }
                        }
                    }
                }
                h2 { "Findings" }
                @if detail.findings.is_empty() { p.empty { "None." } }
                @else {
                    table.list {
                        thead { tr { th { "Source" } th { "Kind" } th.num { "Score" } th { "Reason" } @if may_decide { th {} } } }
                        tbody {
                            @for finding in &detail.findings {
                                tr .rejected[finding.rejected_by.is_some()] {
                                    td { (finding.source.as_str()) }
                                    td { (finding.kind) }
                                    td.num { (format!("{:.2}", finding.score)) }
                                    td { (finding.reason)
                                         @if let Some(why) = &finding.rejection_reason { " (rejected: " (why) ")" } }
                                    @if may_decide {
                                        td {
                                            @if finding.rejected_by.is_none() {
                                                details.reject {
                                                    summary { "Reject" }
                                                    form method="post" action=(format!("/console/findings/{}/reject", finding.id)) {
                                                        (console.csrf_field())
                                                        label { "Why" input name="reason" required maxlength="1000"; }
                                                        button.dismiss type="submit" { "Reject finding" }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section {
                h2 { "Decisions" }
                @if detail.decisions.is_empty() && detail.seizures.is_empty() { p.empty { "None yet." } }
                ul.timeline {
                    @for decision in &detail.decisions {
                        li { (when(decision.decided_at)) " · " (badge(decision.decision.as_str(), decision.decision.as_str())) " " (decision.reason) }
                    }
                    @for seizure in &detail.seizures {
                        li { (when(seizure.recorded_at)) " · seized " (format!("{:.1}", seizure.quantity_kg)) " kg of " (seizure.substance) " (" (seizure.concealment) ")" }
                    }
                }
            }
        }
        @if may_decide {
            div.forms {
                @if has_scan {
                    form.finding #finding-form method="post" action=(format!("/console/consignments/{id}/findings")) {
                        h2 { "Add a finding" }
                        (console.csrf_field())
                        p.hint { "Draw a region on the X-ray, then say what it is." }
                        div.region {
                            label { "x" input name="x" type="number" min="0" required readonly; }
                            label { "y" input name="y" type="number" min="0" required readonly; }
                            label { "width" input name="width" type="number" min="1" required readonly; }
                            label { "height" input name="height" type="number" min="1" required readonly; }
                        }
                        label { "Kind" input name="kind" required maxlength="100" list="finding-kinds"; }
                        datalist #finding-kinds {
                            @for kind in ["unexpected_organic", "shielded_organic", "unexpected_metal", "possible_person", "false_floor", "low_density_anomaly", "weapon", "currency"] {
                                option value=(kind) {}
                            }
                        }
                        label { "Reason" textarea name="reason" required maxlength="1000" rows="2" {} }
                        button type="submit" { "Add finding" }
                    }
                }
                form method="post" action=(format!("/console/consignments/{id}/decisions")) {
                    h2 { "Decision" }
                    (console.csrf_field())
                    label { "Decision" select name="decision" required {
                        @for kind in DecisionKind::ALL { option value=(kind.as_str()) { (kind.as_str()) } }
                    } }
                    label { "Reason" textarea name="reason" required maxlength="1000" rows="2" {} }
                    button type="submit" { "Record decision" }
                }
                form method="post" action=(format!("/console/consignments/{id}/seizures")) {
                    h2 { "Seizure" }
                    (console.csrf_field())
                    label { "Substance" input name="substance" required maxlength="200"; }
                    label { "Quantity (kg)" input name="quantity_kg" type="number" min="0.001" step="0.001" required; }
                    label { "Concealment" input name="concealment" required maxlength="1000"; }
                    button type="submit" { "Record seizure" }
                }
            }
        }
        script src=(asset_url("xray.js")) defer {}
    };
    Ok(page(&console, "Consignment", "/console/consignments", body))
}

fn back_to(id: uuid::Uuid) -> axum::response::Response {
    Redirect::to(&format!("/console/consignments/{id}")).into_response()
}

/// `POST /console/consignments/{id}/decisions` (the API's `record_decision`: ledger first, audited).
pub(crate) async fn decision_post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let id = super::parse_id(&id)?;
    let kind: DecisionKind = posted.form.parse("decision")?;
    let reason = posted.form.get("reason")?.trim();
    record_decision(&state, &posted.console.auth, id, kind, reason).await?;
    Ok(back_to(id))
}

/// `POST /console/consignments/{id}/seizures` (the API's `record_seizure`).
pub(crate) async fn seizure_post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let id = super::parse_id(&id)?;
    let quantity: f64 = posted.form.parse("quantity_kg")?;
    record_seizure(
        &state,
        &posted.console.auth,
        id,
        posted.form.get("substance")?.trim(),
        quantity,
        posted.form.get("concealment")?.trim(),
    )
    .await?;
    Ok(back_to(id))
}

/// `POST /console/consignments/{id}/findings`: a region drawn on the viewer (image pixels) and what it is.
pub(crate) async fn finding_post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let id = super::parse_id(&id)?;
    let form = &posted.form;
    let region = [
        form.parse("x")?,
        form.parse("y")?,
        form.parse("width")?,
        form.parse("height")?,
    ];
    record_finding(
        &state,
        &posted.console.auth,
        id,
        region,
        form.get("kind")?.trim(),
        form.get("reason")?.trim(),
    )
    .await?;
    Ok(back_to(id))
}

/// `POST /console/findings/{id}/reject`: marks a finding rejected (the API's `withdraw_finding`: logged, audited).
pub(crate) async fn reject_post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let id = super::parse_id(&id)?;
    let detail = withdraw_finding(
        &state,
        &posted.console.auth,
        id,
        posted.form.get("reason")?.trim(),
    )
    .await?;
    Ok(back_to(detail.consignment.id))
}
