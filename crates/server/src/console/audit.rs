//! The audit trail for auditors: filter by user, subject and time; reading it is itself audited.

use super::layout::{PageResult, badge, page, pager};
use super::session::Console;
use crate::api::audit;
use crate::extract::QueryMap;
use crate::policy::AUDIT_READ;
use crate::{ApiError, AppState};
use axum::extract::State;
use garita_store::AuditFilter;
use maud::html;

/// A `YYYY-MM-DD` day as the start of that UTC day.
fn day_start(name: &'static str, text: &str) -> Result<String, ApiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text, &format)
        .map_err(|_| ApiError::invalid(name, "use a date such as 2026-11-23"))?;
    Ok(garita_store::ts(date.midnight().assume_utc()))
}

fn field<'a>(query: &'a QueryMap, name: &str) -> &'a str {
    query.0.get(name).map_or("", |text| text.trim())
}

/// `GET /console/audit[?user=&subject=&since=&until=]` (auditors; audited as `audit.read`).
pub(crate) async fn view_audit_get(
    State(state): State<AppState>,
    console: Console,
    query: QueryMap,
) -> PageResult {
    let (user, subject, since, until) = (
        field(&query, "user"),
        field(&query, "subject"),
        field(&query, "since"),
        field(&query, "until"),
    );
    let result = async {
        console.auth.require(AUDIT_READ)?;
        let mut filter = AuditFilter::default();
        if !user.is_empty() {
            let record = state
                .store
                .user_by_username(user)
                .await?
                .ok_or_else(|| ApiError::invalid("user", "no user with that name"))?;
            filter.actor = Some(record.user.id);
        }
        if !subject.is_empty() {
            filter.subject = Some(
                subject
                    .parse()
                    .map_err(|_| ApiError::invalid("subject", "use a subject id"))?,
            );
        }
        if !since.is_empty() {
            filter.since = Some(day_start("since", since)?);
        }
        if !until.is_empty() {
            filter.until = Some(day_start("until", until)?);
        }
        let page = query.page()?;
        Ok((state.store.list_audit(&filter, page).await?, page))
    }
    .await;
    audit(
        &state,
        &console.auth,
        "audit.read",
        ("audit", None),
        None,
        &result,
    )
    .await?;
    let (rows, page_request) = result?;
    let base = format!(
        "/console/audit?user={}&subject={}&since={}&until={}",
        user, subject, since, until
    );
    let body = html! {
        h1 { "Audit trail" }
        form.filters method="get" action="/console/audit" {
            label { "User" input name="user" value=(user) placeholder="username"; }
            label { "Subject" input name="subject" value=(subject) placeholder="subject id"; }
            label { "From" input name="since" type="date" value=(since); }
            label { "Before" input name="until" type="date" value=(until); }
            button type="submit" { "Filter" }
        }
        table.list.audit {
            thead { tr { th { "When" } th { "Who" } th { "Action" } th { "Object" } th { "Subject" } th { "From" } th { "Outcome" } th.num { "Leaf" } } }
            tbody {
                @for row in &rows.items {
                    tr {
                        td.mono { (row.at.get(..19).unwrap_or(&row.at).replace('T', " ")) }
                        td { (row.actor_name.as_deref().unwrap_or(&row.actor_kind)) }
                        td.mono { (row.action) }
                        td.mono { (row.object_kind) @if let Some(id) = &row.object_id { " " (id) } }
                        td.mono {
                            @if let Some(id) = row.subject_id {
                                a href=(format!("/console/audit?subject={id}")) title="Everything done to this subject's data" { (id) }
                            }
                        }
                        td.mono { (row.remote_addr.as_deref().unwrap_or("")) }
                        td { (badge(&row.outcome, &row.outcome)) }
                        td.num { (row.leaf_index.map(|leaf| leaf.to_string()).unwrap_or_default()) }
                    }
                }
            }
        }
        (pager(&base, page_request.offset, page_request.limit, rows.next_offset))
    };
    Ok(page(&console, "Audit", "/console/audit", body))
}
