//! The dashboard: counts by site, time range and category (people scanned, prior crossings, smugglers, gang
//! members, special interest; consignments by lane, findings, seizures) with charts over time and per site.
//! Aggregates only — no personal data — so every role sees it.

use super::charts::{AMBER, BLUE, RED, Series, bars, daily_lines};
use super::layout::{PageResult, page};
use super::session::Console;
use crate::extract::QueryMap;
use crate::{ApiError, AppState};
use axum::extract::State;
use garita_store::{DayCount, Page, StatsFilter};
use maud::{Markup, PreEscaped, html};
use std::collections::BTreeMap;

/// The ranges offered, in days.
const RANGES: [u32; 5] = [7, 14, 30, 90, 365];

fn total(rows: &[DayCount], category: Option<&str>) -> i64 {
    rows.iter()
        .filter(|row| category.is_none_or(|c| row.category == c))
        .map(|row| row.count)
        .sum()
}

fn per_day(rows: &[DayCount], days: &[String]) -> Vec<i64> {
    let mut by_day: BTreeMap<&str, i64> = BTreeMap::new();
    for row in rows {
        *by_day.entry(row.day.as_str()).or_default() += row.count;
    }
    days.iter()
        .map(|day| by_day.get(day.as_str()).copied().unwrap_or(0))
        .collect()
}

fn per_site(rows: &[DayCount], sites: &[garita_model::Site]) -> Vec<i64> {
    sites
        .iter()
        .map(|site| {
            rows.iter()
                .filter(|row| row.site_id == site.id)
                .map(|row| row.count)
                .sum()
        })
        .collect()
}

/// One site's count in `rows`, optionally of one category.
fn site_total(rows: &[DayCount], site: uuid::Uuid, category: Option<&str>) -> i64 {
    rows.iter()
        .filter(|row| row.site_id == site && category.is_none_or(|c| row.category == c))
        .map(|row| row.count)
        .sum()
}

fn chart(svg: Result<String, String>) -> Markup {
    match svg {
        Ok(svg) => html! { div.chart { (PreEscaped(svg)) } },
        Err(err) => {
            tracing::warn!(error = %err, "chart not drawn");
            html! { p.empty { "Chart unavailable." } }
        }
    }
}

fn tile(label: &str, value: i64, kind: &str) -> Markup {
    html! { div class=(format!("tile tile-{kind}")) { span.value { (value) } span.label { (label) } } }
}

/// `GET /console[?days=30&site=ID]`
pub(crate) async fn view_dashboard_get(
    State(state): State<AppState>,
    console: Console,
    query: QueryMap,
) -> PageResult {
    let days_back: u32 = query.get("days")?.unwrap_or(14);
    if !RANGES.contains(&days_back) {
        return Err(ApiError::invalid("days", "use 7, 14, 30, 90 or 365").into());
    }
    let site: Option<uuid::Uuid> = match query.0.get("site").map(String::as_str) {
        None | Some("") => None,
        Some(text) => Some(
            text.parse()
                .map_err(|_| ApiError::invalid("site", "no such site"))?,
        ),
    };
    let now = state.now();
    let today = now.date();
    let first = today - time::Duration::days(i64::from(days_back) - 1);
    let filter = StatsFilter {
        since: Some(first.midnight().assume_utc()),
        until: Some((today + time::Duration::days(1)).midnight().assume_utc()),
        site,
    };
    let stats = state.store.dashboard_stats(&filter).await?;
    let sites = state
        .store
        .list_sites(Page {
            limit: Page::MAX_LIMIT,
            offset: 0,
        })
        .await?
        .items;
    let days: Vec<String> = (0..days_back)
        .map(|offset| {
            let day = first + time::Duration::days(i64::from(offset));
            format!(
                "{:04}-{:02}-{:02}",
                day.year(),
                u8::from(day.month()),
                day.day()
            )
        })
        .collect();
    let over_time = daily_lines(
        &days,
        &[
            Series {
                label: "people scanned",
                color: BLUE,
                values: per_day(&stats.encounters, &days),
            },
            Series {
                label: "alerts",
                color: RED,
                values: per_day(&stats.alerts, &days),
            },
            Series {
                label: "consignments",
                color: AMBER,
                values: per_day(&stats.consignments, &days),
            },
        ],
    );
    let shown_sites: Vec<garita_model::Site> = sites
        .iter()
        .filter(|s| site.is_none_or(|id| s.id == id))
        .cloned()
        .collect();
    let names: Vec<String> = shown_sites.iter().map(|s| s.name.clone()).collect();
    let people_per_site = bars(
        &names,
        &Series {
            label: "People scanned per site",
            color: BLUE,
            values: per_site(&stats.encounters, &shown_sites),
        },
    );
    let cargo_per_site = bars(
        &names,
        &Series {
            label: "Consignments per site",
            color: AMBER,
            values: per_site(&stats.consignments, &shown_sites),
        },
    );
    let body = html! {
        h1 { "Dashboard" }
        form.filters method="get" action="/console" {
            label { "Range" select name="days" {
                @for range in RANGES { option value=(range) selected[range == days_back] { "last " (range) " days" } }
            } }
            label { "Site" select name="site" {
                option value="" { "all sites" }
                @for s in &sites { option value=(s.id) selected[site == Some(s.id)] { (s.name) } }
            } }
            button type="submit" { "Show" }
        }
        section.tiles aria-label="People" {
            (tile("people scanned", total(&stats.encounters, None), "people"))
            (tile("prior crossings", total(&stats.alerts, Some("prior-crossing")), "prior-crossing"))
            (tile("smugglers", total(&stats.alerts, Some("smuggler")), "smuggler"))
            (tile("gang members", total(&stats.alerts, Some("gang-member")), "gang-member"))
            (tile("special interest", total(&stats.alerts, Some("special-interest")), "special-interest"))
        }
        section.tiles aria-label="Cargo" {
            (tile("consignments", total(&stats.consignments, None), "cargo"))
            @for lane in garita_model::Lane::ALL {
                (tile(&format!("{lane} lane"), total(&stats.consignments, Some(lane.as_str())), lane.as_str()))
            }
            (tile("findings", total(&stats.findings, None), "findings"))
            (tile("seizures", total(&stats.seizures, None), "seizures"))
        }
        h2 { "By site" }
        div.table-scroll { table.list.by-site {
            thead { tr {
                th { "Site" } th.num { "People" } th.num { "Prior crossings" } th.num { "Smugglers" }
                th.num { "Gang members" } th.num { "Special interest" } th.num { "Consignments" } th.num { "Red lane" }
                th.num { "Findings" } th.num { "Seizures" }
            } }
            tbody {
                @for s in &shown_sites {
                    tr {
                        td { (s.name) }
                        td.num { (site_total(&stats.encounters, s.id, None)) }
                        td.num { (site_total(&stats.alerts, s.id, Some("prior-crossing"))) }
                        td.num { (site_total(&stats.alerts, s.id, Some("smuggler"))) }
                        td.num { (site_total(&stats.alerts, s.id, Some("gang-member"))) }
                        td.num { (site_total(&stats.alerts, s.id, Some("special-interest"))) }
                        td.num { (site_total(&stats.consignments, s.id, None)) }
                        td.num { (site_total(&stats.consignments, s.id, Some("red"))) }
                        td.num { (site_total(&stats.findings, s.id, None)) }
                        td.num { (site_total(&stats.seizures, s.id, None)) }
                    }
                }
            }
        } }
        section.charts {
            div { h2 { "Over time" } (chart(over_time)) }
            div.pair {
                div { (chart(people_per_site)) }
                div { (chart(cargo_per_site)) }
            }
        }
    };
    Ok(page(&console, "Dashboard", "/console", body))
}
