//! Partner sharing at a glance (docs/sharing.md): the agreements in force, every bundle exported under them with
//! the partner cosignatures that prove what was received, and the bundles imported from partners. No personal
//! data appears here, only agreements, counts, checkpoints and signatures, so the page is for the roles that read
//! sharing records through the API (admins, auditors, supervisors).

use super::layout::{PageResult, badge, page, when};
use super::session::Console;
use crate::AppState;
use crate::policy::SHARE_READ;
use axum::extract::State;
use maud::html;

/// What an agreement lets through, as one line: `encounter (fields…), sample[finger] (…)`.
fn kinds_line(agreement: &garita_share::Agreement) -> String {
    agreement
        .kinds
        .iter()
        .map(|rule| {
            let modalities = if rule.modalities.is_empty() {
                String::new()
            } else {
                let names: Vec<String> = rule.modalities.iter().map(ToString::to_string).collect();
                format!("[{}]", names.join(", "))
            };
            format!(
                "{}{} ({})",
                rule.kind.as_str(),
                modalities,
                rule.fields.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The first line of a signed note: its origin.
fn origin(note: &str) -> &str {
    note.lines().next().unwrap_or("")
}

/// `GET /console/sharing`: agreements, exports with cosignatures, imports.
pub(crate) async fn view_sharing_get(
    State(state): State<AppState>,
    console: Console,
) -> PageResult {
    console.auth.require(SHARE_READ)?;
    let agreements = state.store.list_agreements().await?;
    let exports = state.store.list_exports(None).await?;
    let imports = state.store.list_imports(None).await?;
    let partner_of = |id: uuid::Uuid| {
        agreements
            .iter()
            .find(|record| record.agreement.id == id)
            .map_or_else(
                || id.to_string(),
                |record| record.agreement.partner.name.clone(),
            )
    };
    let body = html! {
        h1 { "Sharing" }
        p.muted { "Records leave only under these agreements, never of the agency's own citizens; every shared record has its own ledger entry, and a partner's cosignature of the checkpoint proves what it received." }
        h2 { "Agreements" }
        table.list {
            thead { tr { th { "Partner" } th { "Direction" } th { "Allows" } th { "Never" } th { "Valid" } th { "Purpose" } th.num { "Leaf" } } }
            tbody {
                @for record in &agreements {
                    @let a = &record.agreement;
                    tr {
                        td { (a.partner.name) br; span.mono.muted { (a.id) } }
                        td { (badge(a.direction.as_str(), a.direction.as_str())) }
                        td { (kinds_line(a)) }
                        td {
                            "own citizens"
                            @for country in &a.excluded_citizenships { ", " (country) }
                            @for category in &a.excluded_categories { ", " (category) }
                        }
                        td.mono { (when(a.valid_from)) " – " (when(a.valid_until)) }
                        td { (a.purpose) }
                        td.num { (record.leaf_index) }
                    }
                }
                @if agreements.is_empty() {
                    tr { td colspan="7" { "No agreement yet: an admin creates one with `garita share agreement create`." } }
                }
            }
        }
        h2 { "Exported" }
        table.list {
            thead { tr { th { "When" } th { "Partner" } th.num { "Bundle" } th.num { "Records" } th { "Checkpoint" } th.num { "Tree size" } th { "Cosigned by" } } }
            tbody {
                @for export in &exports {
                    tr {
                        td.mono { (when(export.created_at)) }
                        td { (partner_of(export.agreement_id)) }
                        td.num { (export.sequence) }
                        td.num { (export.record_count) }
                        td.mono { (origin(&export.checkpoint)) }
                        td.num { (export.tree_size) }
                        td {
                            @if export.cosigned_by.is_empty() {
                                (badge("open", "not yet"))
                            } @else {
                                @for name in &export.cosigned_by { (badge("confirmed", name)) " " }
                            }
                        }
                    }
                }
                @if exports.is_empty() { tr { td colspan="7" { "Nothing exported yet." } } }
            }
        }
        h2 { "Imported" }
        table.list {
            thead { tr { th { "When" } th { "From" } th.num { "Bundle" } th.num { "Records" } th { "Their checkpoint" } th.num { "Tree size" } th { "We cosigned" } } }
            tbody {
                @for import in &imports {
                    tr {
                        td.mono { (when(import.imported_at)) }
                        td { (import.partner_name) }
                        td.num { (import.sequence) }
                        td.num { (import.record_count) }
                        td.mono { (origin(&import.checkpoint)) }
                        td.num { (import.tree_size) }
                        td { (if import.cosignature.is_some() { "yes" } else { "no" }) }
                    }
                }
                @if imports.is_empty() { tr { td colspan="7" { "Nothing imported yet." } } }
            }
        }
    };
    Ok(page(&console, "Sharing", "/console/sharing", body))
}
