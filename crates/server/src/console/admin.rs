//! Admin pages: sites, devices (register, revoke) and users. Devices are listed to the roles that may read them
//! (admins, auditors, supervisors); only admins get the forms. Writes call the API's functions (audited).

use super::layout::{PageResult, badge, page, when};
use super::session::{Console, Posted};
use crate::api::{add_device, add_site, add_user, withdraw_device};
use crate::policy::{ADMIN, DEVICE_READ};
use crate::{ApiError, AppState};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use garita_model::{DeviceKind, Mobility, Role, SiteKind, Username};
use garita_store::Page;
use maud::html;

fn all_rows() -> Page {
    Page {
        limit: Page::MAX_LIMIT,
        offset: 0,
    }
}

/// `GET /console/admin/sites`
pub(crate) async fn view_sites_get(State(state): State<AppState>, console: Console) -> PageResult {
    console.auth.require(ADMIN)?;
    let sites = state.store.list_sites(all_rows()).await?.items;
    let body = html! {
        h1 { "Sites" }
        table.list {
            thead { tr { th { "Name" } th { "Kind" } th { "Mobility" } th { "Created" } } }
            tbody { @for site in &sites { tr { td { (site.name) } td { (site.kind.as_str()) } td { (site.mobility.as_str()) } td { (when(site.created_at)) } } } }
        }
        form.inline method="post" action="/console/admin/sites" {
            h2 { "New site" }
            (console.csrf_field())
            label { "Name" input name="name" required maxlength="200"; }
            label { "Kind" select name="kind" { @for kind in SiteKind::ALL { option value=(kind.as_str()) { (kind.as_str()) } } } }
            label { "Mobility" select name="mobility" { @for m in Mobility::ALL { option value=(m.as_str()) { (m.as_str()) } } } }
            button type="submit" { "Create site" }
        }
    };
    Ok(page(&console, "Sites", "/console/admin/sites", body))
}

/// `POST /console/admin/sites`
pub(crate) async fn site_post(State(state): State<AppState>, posted: Posted) -> PageResult {
    let form = &posted.form;
    add_site(
        &state,
        &posted.console.auth,
        form.get("name")?,
        form.parse("kind")?,
        form.parse("mobility")?,
    )
    .await?;
    Ok(Redirect::to("/console/admin/sites").into_response())
}

/// `GET /console/admin/devices`
pub(crate) async fn view_devices_get(
    State(state): State<AppState>,
    console: Console,
) -> PageResult {
    console.auth.require(DEVICE_READ)?;
    let is_admin = ADMIN.contains(&console.auth.user.role);
    let devices = state.store.list_devices(all_rows()).await?.items;
    let sites = state.store.list_sites(all_rows()).await?.items;
    let site_name = |id: uuid::Uuid| {
        sites
            .iter()
            .find(|s| s.id == id)
            .map_or("?", |s| s.name.as_str())
    };
    let body = html! {
        h1 { "Devices" }
        table.list {
            thead { tr { th { "Id" } th { "Site" } th { "Kind" } th { "Status" } th { "Registered" } @if is_admin { th {} } } }
            tbody {
                @for device in &devices {
                    tr {
                        td.mono { (device.id) }
                        td { (site_name(device.site_id)) }
                        td { (device.kind.as_str()) }
                        td { (badge(device.status.as_str(), device.status.as_str())) }
                        td { (when(device.created_at)) }
                        @if is_admin {
                            td {
                                @if device.status == garita_model::DeviceStatus::Active {
                                    form.revoke method="post" action=(format!("/console/admin/devices/{}/revoke", device.id)) {
                                        (console.csrf_field())
                                        button.dismiss type="submit" data-confirm="Revoke this device? Its signatures will be refused." { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if is_admin {
            form.inline method="post" action="/console/admin/devices" {
                h2 { "Register a device" }
                (console.csrf_field())
                label { "Site" select name="site" required { @for site in &sites { option value=(site.id) { (site.name) } } } }
                label { "Kind" select name="kind" { @for kind in DeviceKind::ALL { option value=(kind.as_str()) { (kind.as_str()) } } } }
                label { "Public key (base64, from garita device keygen)" input name="public_key" required maxlength="100"; }
                button type="submit" { "Register" }
            }
        }
    };
    Ok(page(&console, "Devices", "/console/admin/devices", body))
}

/// `POST /console/admin/devices`
pub(crate) async fn device_post(State(state): State<AppState>, posted: Posted) -> PageResult {
    let form = &posted.form;
    add_device(
        &state,
        &posted.console.auth,
        form.get("site")?,
        form.parse("kind")?,
        form.get("public_key")?,
    )
    .await?;
    Ok(Redirect::to("/console/admin/devices").into_response())
}

/// `POST /console/admin/devices/{id}/revoke`
pub(crate) async fn revoke_post(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted,
) -> PageResult {
    let id = super::parse_id(&id)?;
    withdraw_device(&state, &posted.console.auth, id).await?;
    Ok(Redirect::to("/console/admin/devices").into_response())
}

/// `GET /console/admin/users`
pub(crate) async fn view_users_get(State(state): State<AppState>, console: Console) -> PageResult {
    console.auth.require(ADMIN)?;
    let users = state.store.list_users(all_rows()).await?.items;
    let body = html! {
        h1 { "Users" }
        table.list {
            thead { tr { th { "Username" } th { "Role" } th { "Status" } th { "Created" } } }
            tbody { @for user in &users { tr {
                td { (user.username.as_str()) } td { (user.role.as_str()) }
                td { @if user.disabled { (badge("revoked", "disabled")) } @else { (badge("active", "active")) } }
                td { (when(user.created_at)) }
            } } }
        }
        form.inline method="post" action="/console/admin/users" {
            h2 { "New user" }
            (console.csrf_field())
            label { "Username" input name="username" required maxlength="64" autocomplete="off"; }
            label { "Role" select name="role" { @for role in Role::ALL { option value=(role.as_str()) { (role.as_str()) } } } }
            label { "Password (12+ characters)" input name="password" type="password" required minlength="12" autocomplete="new-password"; }
            button type="submit" { "Create user" }
        }
    };
    Ok(page(&console, "Users", "/console/admin/users", body))
}

/// `POST /console/admin/users`
pub(crate) async fn user_post(State(state): State<AppState>, posted: Posted) -> PageResult {
    let form = &posted.form;
    let username = Username::new(form.get("username")?.trim()).map_err(ApiError::from)?;
    add_user(
        &state,
        &posted.console.auth,
        &username,
        form.parse("role")?,
        form.get("password")?,
    )
    .await?;
    Ok(Redirect::to("/console/admin/users").into_response())
}
