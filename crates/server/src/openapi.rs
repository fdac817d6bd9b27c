//! `GET /openapi.json`: the API description (OpenAPI 3.1), built from one route table.

use axum::Json;
use serde_json::{Map, Value, json};

/// Every route: method, path, who may call it, what it does. Tests check the router against this table.
pub const ROUTES: &[(&str, &str, &str, &str)] = &[
    ("get", "/healthz", "none", "Liveness"),
    ("get", "/openapi.json", "none", "This document"),
    (
        "post",
        "/api/v1/auth/login",
        "none",
        "Exchange username and password for a bearer token",
    ),
    (
        "post",
        "/api/v1/auth/logout",
        "any",
        "Revoke the token used",
    ),
    ("get", "/api/v1/me", "any", "The current user"),
    (
        "get",
        "/api/v1/agency",
        "any",
        "The agency and its own country",
    ),
    (
        "post",
        "/api/v1/agency",
        "admin",
        "Set the agency country once",
    ),
    ("get", "/api/v1/users", "admin", "List users"),
    ("post", "/api/v1/users", "admin", "Create a user"),
    ("get", "/api/v1/sites", "any", "List sites"),
    ("post", "/api/v1/sites", "admin", "Register a site"),
    (
        "get",
        "/api/v1/devices",
        "admin, auditor, supervisor",
        "List devices",
    ),
    ("post", "/api/v1/devices", "admin", "Register a device key"),
    (
        "post",
        "/api/v1/devices/{id}/revoke",
        "admin",
        "Revoke a device",
    ),
    (
        "post",
        "/api/v1/captures",
        "device signature",
        "Submit a signed capture (docs/envelope.md)",
    ),
    (
        "get",
        "/api/v1/subjects",
        "officer, supervisor, analyst",
        "List subjects (audited)",
    ),
    (
        "get",
        "/api/v1/subjects/{id}",
        "officer, supervisor, analyst",
        "A subject (audited)",
    ),
    (
        "get",
        "/api/v1/encounters",
        "officer, supervisor, analyst",
        "List encounters (audited)",
    ),
    (
        "get",
        "/api/v1/encounters/{id}",
        "officer, supervisor, analyst",
        "An encounter with samples (audited)",
    ),
    (
        "get",
        "/api/v1/samples/{id}/content",
        "officer, supervisor, analyst",
        "Sample bytes (audited)",
    ),
    (
        "get",
        "/api/v1/watchlist",
        "officer, supervisor, analyst",
        "List the watchlist (audited)",
    ),
    (
        "post",
        "/api/v1/watchlist",
        "supervisor, analyst",
        "List a subject (audited)",
    ),
    (
        "get",
        "/api/v1/alerts",
        "officer, supervisor, analyst",
        "List alerts (audited)",
    ),
    (
        "get",
        "/api/v1/alerts/{id}",
        "officer, supervisor, analyst",
        "An alert (audited)",
    ),
    (
        "post",
        "/api/v1/alerts/{id}/status",
        "officer, supervisor",
        "Confirm or dismiss an alert (audited)",
    ),
    (
        "get",
        "/api/v1/consignments",
        "officer, supervisor, analyst",
        "List consignments",
    ),
    (
        "get",
        "/api/v1/consignments/{id}",
        "officer, supervisor, analyst",
        "A consignment",
    ),
    (
        "post",
        "/api/v1/consignments/{id}/decisions",
        "officer, supervisor",
        "Record a decision",
    ),
    (
        "post",
        "/api/v1/consignments/{id}/seizures",
        "officer, supervisor",
        "Record a seizure",
    ),
    (
        "post",
        "/api/v1/consignments/{id}/findings",
        "officer, supervisor",
        "Add an officer's finding (region, kind, reason)",
    ),
    (
        "post",
        "/api/v1/findings/{id}/reject",
        "officer, supervisor",
        "Reject a finding (kept, marked)",
    ),
    ("get", "/api/v1/audit", "auditor", "Read the audit trail"),
    (
        "get",
        "/api/v1/records/{id}/proof",
        "any",
        "C2SP tlog-proof receipt of a capture (docs/ledger.md)",
    ),
    (
        "post",
        "/api/v1/ledger/cosignatures",
        "witness signature",
        "A witness's cosignature/v1 lines for the checkpoint",
    ),
    (
        "post",
        "/api/v1/uploads",
        "device signature",
        "Start or resume a chunked upload of a signed capture (docs/terminal.md)",
    ),
    (
        "put",
        "/api/v1/uploads/{id}",
        "device request signature",
        "Append a chunk at Upload-Offset; answers the durable offset",
    ),
    (
        "post",
        "/api/v1/uploads/{id}/commit",
        "device request signature",
        "Ingest an uploaded capture (same checks and answers as POST /api/v1/captures)",
    ),
    (
        "get",
        "/api/v1/device/proofs/{seq}",
        "device request signature",
        "tlog-proof receipt of the calling device's own capture",
    ),
    (
        "get",
        "/api/v1/device/watchlist",
        "device request signature",
        "Signed watchlist snapshot (templates) since a version, for offline alerts (audited)",
    ),
    (
        "post",
        "/api/v1/cluster/search",
        "node signature",
        "Cluster nodes only: search this node's gallery shards (docs/cluster.md)",
    ),
    (
        "get",
        "/api/v1/share/identity",
        "any",
        "Our public sharing keys and log verifier key (docs/sharing.md)",
    ),
    (
        "get",
        "/api/v1/share/agreements",
        "admin, auditor, supervisor",
        "List sharing agreements",
    ),
    (
        "post",
        "/api/v1/share/agreements",
        "admin",
        "Record a sharing agreement (ledger first)",
    ),
    (
        "post",
        "/api/v1/share/agreements/{id}/exports",
        "supervisor",
        "Export the next signed, encrypted bundle under an outgoing agreement (audited)",
    ),
    (
        "get",
        "/api/v1/share/exports",
        "admin, auditor, supervisor",
        "What was shared when: exports with checkpoint, record count and cosigners",
    ),
    (
        "get",
        "/api/v1/share/exports/{id}/bundle",
        "supervisor",
        "An exported bundle as sent (audited)",
    ),
    (
        "post",
        "/api/v1/share/exports/{id}/cosignatures",
        "partner signature",
        "The partner's cosignature/v1 of an exported checkpoint",
    ),
    (
        "get",
        "/api/v1/share/cosignatures",
        "admin, auditor, supervisor",
        "Partners' cosignatures of exported checkpoints",
    ),
    (
        "get",
        "/api/v1/share/imports",
        "admin, auditor, supervisor",
        "Bundles imported from partners, with provenance",
    ),
    (
        "post",
        "/api/v1/share/imports",
        "supervisor, analyst",
        "Import a partner's bundle: verify everything, store, cosign, search 1:N (audited)",
    ),
    (
        "get",
        "/api/v1/share/answers",
        "admin, auditor, supervisor",
        "Hit answers sent to and received from partners",
    ),
    (
        "post",
        "/api/v1/share/answers",
        "partner signature",
        "A partner's signed hit answer; becomes an alert on the shared encounter",
    ),
    (
        "get",
        "/api/v1/share/feed/{id}",
        "partner signature",
        "Pull feed: the bundle after ?after=N, or 204 when nothing is new",
    ),
    (
        "get",
        "/log/{path}",
        "none",
        "C2SP tlog-tiles: checkpoint, tile/<L>/<N>, tile/entries/<N>",
    ),
];

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (method, path, roles, summary) in ROUTES {
        let mut operation = json!({
            "summary": summary,
            "description": format!("Allowed: {roles}."),
            "responses": {
                "default": { "description": "Error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                "200": { "description": "OK" }
            }
        });
        if !matches!(
            *roles,
            "none"
                | "device signature"
                | "device request signature"
                | "witness signature"
                | "partner signature"
                | "node signature"
        ) {
            operation["security"] = json!([{ "bearer": [] }]);
        }
        if path.contains("{id}") {
            operation["parameters"] = json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }]);
        }
        let entry = paths.entry((*path).to_owned()).or_insert_with(|| json!({}));
        entry[*method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "garita API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Self-hosted border screening. Lists take limit (1-500) and offset and return {items, next_offset}." },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": { "type": "string", "description": "Stable code, e.g. invalid-field" },
                        "message": { "type": "string" },
                        "field": { "type": "string", "description": "JSON path of the offending field" }
                    }
                }
            }
        }
    })
}

/// `GET /openapi.json`
pub(crate) async fn serve() -> Json<Value> {
    Json(document())
}
