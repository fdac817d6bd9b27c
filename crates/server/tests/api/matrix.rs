//! The route × role matrix: every route in `openapi::ROUTES`, called by every role, by nobody and by a bogus
//! token, with the exact outcome of each written out below. The table is deliberately independent of
//! `policy.rs`: changing who may do what means changing this table too.

use crate::harness::{Principal, ROLES, Server};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use uuid::Uuid;

/// Who may call a route.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// Anyone, with or without a token (the token is ignored).
    Public,
    /// Users with one of these roles; others get 403 `forbidden`, no or a bad token 401 `unauthenticated`.
    Users(&'static [&'static str]),
    /// Authenticated by the device's envelope signature; bearer tokens are ignored.
    Device,
    /// Authenticated by witness cosignatures; bearer tokens are ignored.
    Witness,
    /// Authenticated by a partner agency's sharing-key signature; bearer tokens are ignored.
    Partner,
    /// Authenticated by a device's request signature (`Garita-Device`); bearer tokens are ignored.
    DeviceRequest,
    /// Authenticated by a cluster node's HMAC under the cluster secret; bearer tokens are ignored (the test
    /// server is a single node, so every call is refused: tests/api/cluster_search.rs signs real ones).
    Node,
}

use Access::{Device, DeviceRequest, Node, Partner, Public, Users, Witness};

const ALL: &[&str] = &["officer", "supervisor", "analyst", "auditor", "admin"];
const ADMIN: &[&str] = &["admin"];
const PERSONAL: &[&str] = &["officer", "supervisor", "analyst"];
const DECIDE: &[&str] = &["officer", "supervisor"];
const SHARE_READ: &[&str] = &["admin", "auditor", "supervisor"];

/// (method, path as in ROUTES, who, status for an allowed caller, audit action for personal data).
const MATRIX: &[(&str, &str, Access, u16, Option<&str>)] = &[
    ("get", "/healthz", Public, 200, None),
    ("get", "/openapi.json", Public, 200, None),
    ("post", "/api/v1/auth/login", Public, 200, None),
    ("post", "/api/v1/auth/logout", Users(ALL), 204, None),
    ("get", "/api/v1/me", Users(ALL), 200, None),
    ("get", "/api/v1/agency", Users(ALL), 200, None),
    // Idempotent for the country already set at bootstrap.
    ("post", "/api/v1/agency", Users(ADMIN), 200, None),
    ("get", "/api/v1/users", Users(ADMIN), 200, None),
    ("post", "/api/v1/users", Users(ADMIN), 201, None),
    ("get", "/api/v1/sites", Users(ALL), 200, None),
    ("post", "/api/v1/sites", Users(ADMIN), 201, None),
    (
        "get",
        "/api/v1/devices",
        Users(&["admin", "auditor", "supervisor"]),
        200,
        None,
    ),
    ("post", "/api/v1/devices", Users(ADMIN), 201, None),
    (
        "post",
        "/api/v1/devices/{id}/revoke",
        Users(ADMIN),
        200,
        None,
    ),
    ("post", "/api/v1/captures", Device, 201, None),
    (
        "get",
        "/api/v1/subjects",
        Users(PERSONAL),
        200,
        Some("subject.list"),
    ),
    (
        "get",
        "/api/v1/subjects/{id}",
        Users(PERSONAL),
        200,
        Some("subject.read"),
    ),
    (
        "get",
        "/api/v1/encounters",
        Users(PERSONAL),
        200,
        Some("encounter.list"),
    ),
    (
        "get",
        "/api/v1/encounters/{id}",
        Users(PERSONAL),
        200,
        Some("encounter.read"),
    ),
    (
        "get",
        "/api/v1/samples/{id}/content",
        Users(PERSONAL),
        200,
        Some("sample.read"),
    ),
    (
        "get",
        "/api/v1/watchlist",
        Users(PERSONAL),
        200,
        Some("watchlist.list"),
    ),
    (
        "post",
        "/api/v1/watchlist",
        Users(&["supervisor", "analyst"]),
        201,
        Some("watchlist.add"),
    ),
    (
        "get",
        "/api/v1/alerts",
        Users(PERSONAL),
        200,
        Some("alert.list"),
    ),
    (
        "get",
        "/api/v1/alerts/{id}",
        Users(PERSONAL),
        200,
        Some("alert.read"),
    ),
    (
        "post",
        "/api/v1/alerts/{id}/status",
        Users(DECIDE),
        200,
        Some("alert.confirmed"),
    ),
    ("get", "/api/v1/consignments", Users(PERSONAL), 200, None),
    (
        "get",
        "/api/v1/consignments/{id}",
        Users(PERSONAL),
        200,
        None,
    ),
    (
        "post",
        "/api/v1/consignments/{id}/decisions",
        Users(DECIDE),
        201,
        None,
    ),
    (
        "post",
        "/api/v1/consignments/{id}/seizures",
        Users(DECIDE),
        201,
        None,
    ),
    (
        "post",
        "/api/v1/consignments/{id}/findings",
        Users(DECIDE),
        201,
        None,
    ),
    (
        "post",
        "/api/v1/findings/{id}/reject",
        Users(DECIDE),
        200,
        None,
    ),
    ("get", "/api/v1/audit", Users(&["auditor"]), 200, None),
    ("get", "/api/v1/records/{id}/proof", Users(ALL), 200, None),
    // No witness is configured, so an empty set of cosignatures is refused whoever sends it.
    ("post", "/api/v1/ledger/cosignatures", Witness, 403, None),
    ("get", "/api/v1/share/identity", Users(ALL), 200, None),
    (
        "get",
        "/api/v1/share/agreements",
        Users(SHARE_READ),
        200,
        None,
    ),
    ("post", "/api/v1/share/agreements", Users(ADMIN), 201, None),
    (
        "post",
        "/api/v1/share/agreements/{id}/exports",
        Users(&["supervisor"]),
        200,
        Some("share.export"),
    ),
    ("get", "/api/v1/share/exports", Users(SHARE_READ), 200, None),
    (
        "get",
        "/api/v1/share/exports/{id}/bundle",
        Users(&["supervisor"]),
        200,
        Some("share.bundle.read"),
    ),
    // Nothing signed by the partner is sent, so it is refused whoever sends it.
    (
        "post",
        "/api/v1/share/exports/{id}/cosignatures",
        Partner,
        403,
        None,
    ),
    (
        "get",
        "/api/v1/share/cosignatures",
        Users(SHARE_READ),
        200,
        None,
    ),
    ("get", "/api/v1/share/imports", Users(SHARE_READ), 200, None),
    // A bundle needs a second agency (tests/api/sharing.rs); here the body is not one: 422 for allowed roles.
    (
        "post",
        "/api/v1/share/imports",
        Users(&["supervisor", "analyst"]),
        422,
        None,
    ),
    ("get", "/api/v1/share/answers", Users(SHARE_READ), 200, None),
    ("post", "/api/v1/share/answers", Partner, 403, None),
    ("get", "/api/v1/share/feed/{id}", Partner, 401, None),
    ("get", "/log/{path}", Public, 200, None),
    ("post", "/api/v1/uploads", Device, 201, None),
    ("put", "/api/v1/uploads/{id}", DeviceRequest, 200, None),
    (
        "post",
        "/api/v1/uploads/{id}/commit",
        DeviceRequest,
        201,
        None,
    ),
    (
        "get",
        "/api/v1/device/proofs/{seq}",
        DeviceRequest,
        200,
        None,
    ),
    // Called as the biometric terminal; the NII scanner is refused (tests/api/terminal_agent.rs).
    ("get", "/api/v1/device/watchlist", DeviceRequest, 200, None),
    ("post", "/api/v1/cluster/search", Node, 401, None),
];

/// Ids the parameterised routes are called with.
struct Fixtures {
    subject: Uuid,
    encounter: Uuid,
    sample: Uuid,
    alert: Uuid,
    consignment: Uuid,
    finding: Uuid,
    capture: Uuid,
    /// An outgoing sharing agreement and one export under it.
    agreement: Uuid,
    export: Uuid,
    /// The NII scanner's sequence number of `capture`.
    capture_seq: u64,
    /// An upload of the NII scanner holding all its bytes, and those bytes.
    upload: (String, Vec<u8>),
    /// One spare device per caller of the revoke route, so each revokes an active device.
    spare_devices: Vec<Uuid>,
}

fn principals() -> Vec<Principal> {
    let mut all = vec![Principal::Nobody, Principal::Bogus];
    all.extend(ROLES.into_iter().map(Principal::Role));
    all
}

fn is_mutation(method: &str, path: &str) -> bool {
    method == "post" && !matches!(path, "/api/v1/auth/login" | "/api/v1/auth/logout")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_route_table_is_the_router_and_the_openapi_document() {
    let table: BTreeSet<(&str, &str)> = MATRIX.iter().map(|row| (row.0, row.1)).collect();
    let routes: BTreeSet<(&str, &str)> = garita_server::openapi::ROUTES
        .iter()
        .map(|route| (route.0, route.1))
        .collect();
    assert_eq!(table.len(), MATRIX.len(), "a route appears twice in MATRIX");
    assert_eq!(
        routes.len(),
        garita_server::openapi::ROUTES.len(),
        "a route appears twice in ROUTES"
    );
    assert_eq!(
        table.difference(&routes).collect::<Vec<_>>(),
        Vec::<&(&str, &str)>::new(),
        "in the test's matrix but not in openapi::ROUTES"
    );
    assert_eq!(
        routes.difference(&table).collect::<Vec<_>>(),
        Vec::<&(&str, &str)>::new(),
        "in openapi::ROUTES but untested: add it to MATRIX"
    );

    // The roles text of each route (shown in /openapi.json) says what the matrix says.
    for (method, path, roles, _) in garita_server::openapi::ROUTES {
        let row = MATRIX
            .iter()
            .find(|row| row.0 == *method && row.1 == *path)
            .unwrap();
        let documented = match row.2 {
            Public => "none".to_owned(),
            Device => "device signature".to_owned(),
            Witness => "witness signature".to_owned(),
            Partner => "partner signature".to_owned(),
            DeviceRequest => "device request signature".to_owned(),
            Node => "node signature".to_owned(),
            Users(allowed) if allowed == ALL => "any".to_owned(),
            Users(allowed) => {
                let listed: BTreeSet<&str> = roles.split(", ").collect();
                let expected: BTreeSet<&str> = allowed.iter().copied().collect();
                assert_eq!(listed, expected, "{method} {path}: ROUTES says {roles:?}");
                (*roles).to_owned()
            }
        };
        assert_eq!(*roles, documented, "{method} {path}");
    }

    let server = Server::start().await;
    let doc = server.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.body["openapi"], "3.1.0");
    let paths = doc.body["paths"].as_object().unwrap();
    let mut listed = BTreeSet::new();
    for (path, operations) in paths {
        for method in operations.as_object().unwrap().keys() {
            listed.insert((method.as_str(), path.as_str()));
        }
    }
    assert_eq!(
        listed, table,
        "/openapi.json lists exactly the routes of the matrix"
    );
    for (method, path, access, _, _) in MATRIX {
        let operation = &doc.body["paths"][path][method];
        let secured = operation.get("security").is_some();
        assert_eq!(
            secured,
            matches!(access, Users(_)),
            "{method} {path}: bearer security in /openapi.json"
        );
    }
}

async fn fixtures(server: &Server) -> Fixtures {
    let image = b"\xff\xd8\xff\xe0 not really a jpeg, but the bytes a device vouched for";
    let receipt = server.new_encounter("Ana", image).await;
    let encounter: Uuid = receipt["encounter_id"].as_str().unwrap().parse().unwrap();
    let stored = server.store.encounter(encounter).await.unwrap().unwrap();
    let samples = server.store.samples_of_encounter(encounter).await.unwrap();
    assert_eq!(samples.len(), 1);
    let alert = server
        .store
        .insert_alert(
            encounter,
            stored.subject_id,
            garita_model::WatchlistCategory::Smuggler,
            0.91,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    let receipt = server.new_consignment("fixture").await;
    let consignment = receipt["consignment_id"].as_str().unwrap().parse().unwrap();
    let capture: Uuid = receipt["capture_id"].as_str().unwrap().parse().unwrap();
    let capture_seq = receipt["seq"].as_u64().unwrap();
    let (upload_id, upload_body) = server.uploaded_consignment("matrix-put").await;
    let upload_bytes = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        upload_body["payload"].as_str().unwrap(),
    )
    .unwrap();
    let finding = garita_model::Finding {
        id: Uuid::new_v4(),
        consignment_id: consignment,
        region: [10, 20, 30, 40],
        kind: "unexpected_organic".into(),
        score: 0.8,
        source: garita_model::FindingSource::Algorithm,
        reason: "fixture".into(),
        rejected_by: None,
        rejection_reason: None,
    };
    server
        .store
        .insert_finding(&finding, None, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let mut spare_devices = Vec::new();
    for _ in principals() {
        let key = garita_model::DeviceKey::generate();
        spare_devices.push(
            server
                .register_device("mobile-kit", &key.public_key_b64())
                .await,
        );
    }
    // The proof route answers 425 until the capture's entry is in a published checkpoint.
    let path = format!("/api/v1/records/{capture}/proof");
    let mut published = false;
    for _ in 0..200 {
        let answer = server
            .call(Method::GET, &path, Some(&server.token("auditor")), None)
            .await;
        if answer.status == StatusCode::OK {
            published = true;
            break;
        }
        assert_eq!(answer.status, StatusCode::TOO_EARLY, "{answer:?}");
        assert_eq!(answer.code(), "not-integrated");
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(published, "the capture was never integrated into the log");
    let agreement = Uuid::new_v4();
    let created = server
        .call(
            Method::POST,
            "/api/v1/share/agreements",
            Some(&server.token("admin")),
            Some(share_agreement(agreement)),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let exported = server
        .raw(
            Method::POST,
            &format!("/api/v1/share/agreements/{agreement}/exports"),
            Some(&server.token("supervisor")),
            Some("application/json"),
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(exported.status, StatusCode::OK, "{exported:?}");
    let export = exported.headers["garita-bundle-id"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    Fixtures {
        agreement,
        export,
        subject: stored.subject_id,
        encounter,
        sample: samples[0].id,
        alert: alert.id,
        consignment,
        finding: finding.id,
        capture,
        capture_seq,
        upload: (upload_id, upload_bytes),
        spare_devices,
    }
}

/// A valid outgoing agreement to a partner whose keys are made up.
fn share_agreement(id: Uuid) -> Value {
    let partner = garita_share::SharingKey::from_seed(&[7; 32]);
    let now = time::OffsetDateTime::now_utc();
    json!({
        "id": id,
        "direction": "outgoing",
        "partner": { "name": "partner", "sign_key": partner.sign_key_b64(), "encrypt_key": partner.encrypt_key_b64() },
        "kinds": [{ "kind": "encounter", "fields": ["captured_at"] }],
        "valid_from": garita_model::canonical_time(now - time::Duration::days(1)),
        "valid_until": garita_model::canonical_time(now + time::Duration::days(1)),
        "purpose": "route matrix"
    })
}

/// The request a caller makes on a route: path, bearer token and JSON body. Bodies are valid, so the only
/// reason to refuse is who is asking.
async fn request(
    server: &Server,
    fx: &Fixtures,
    (method, path): (&str, &str),
    principal: Principal,
    call: usize,
) -> (String, Option<String>, Option<Value>) {
    let mut token = server.token_of(principal);
    let unique = format!("{call}-{}", Uuid::new_v4().simple());
    let id = match path {
        "/api/v1/devices/{id}/revoke" => fx.spare_devices[call].to_string(),
        "/api/v1/uploads/{id}" => fx.upload.0.clone(),
        // Each caller commits an upload of its own.
        "/api/v1/uploads/{id}/commit" => server.uploaded_consignment(&unique).await.0,
        p if p.starts_with("/api/v1/subjects/") => fx.subject.to_string(),
        p if p.starts_with("/api/v1/encounters/") => fx.encounter.to_string(),
        p if p.starts_with("/api/v1/samples/") => fx.sample.to_string(),
        p if p.starts_with("/api/v1/alerts/") => fx.alert.to_string(),
        p if p.starts_with("/api/v1/consignments/") => fx.consignment.to_string(),
        p if p.starts_with("/api/v1/findings/") => fx.finding.to_string(),
        p if p.starts_with("/api/v1/records/") => fx.capture.to_string(),
        p if p.starts_with("/api/v1/share/agreements/") => fx.agreement.to_string(),
        p if p.starts_with("/api/v1/share/feed/") => fx.agreement.to_string(),
        p if p.starts_with("/api/v1/share/exports/") => fx.export.to_string(),
        _ => String::new(),
    };
    let url = path
        .replace("{id}", &id)
        .replace("{path}", "checkpoint")
        .replace("{seq}", &fx.capture_seq.to_string());
    let body = match (method, path) {
        ("post", "/api/v1/auth/login") => {
            let user = &server.users["officer"];
            Some(json!({ "username": user.username, "password": user.password }))
        }
        ("post", "/api/v1/auth/logout") => {
            // A token of its own, so the role's main token stays valid for the rest of the matrix.
            if let Principal::Role(role) = principal {
                let user = &server.users[role];
                token = Some(server.login(&user.username, &user.password).await);
            }
            None
        }
        ("post", "/api/v1/agency") => Some(json!({ "name": "garita", "country": "MEX" })),
        ("post", "/api/v1/users") => Some(json!({
            "username": format!("user-{unique}"), "role": "officer", "password": "a-long-enough-password"
        })),
        ("post", "/api/v1/sites") => {
            Some(json!({ "name": format!("site {unique}"), "kind": "land-crossing" }))
        }
        ("post", "/api/v1/devices") => Some(json!({
            "site": "Manzanillo port", "kind": "nii-scanner",
            "public_key": garita_model::DeviceKey::generate().public_key_b64()
        })),
        ("post", "/api/v1/captures") => {
            let payload = crate::harness::consignment_payload(&unique).to_string();
            Some(crate::harness::signed_capture(
                &server.nii,
                server.nii.next_seq(),
                garita_model::PayloadType::Consignment,
                payload.as_bytes(),
                &[],
            ))
        }
        ("post", "/api/v1/uploads") => {
            let payload = crate::harness::consignment_payload(&unique).to_string();
            let body = crate::harness::signed_capture(
                &server.nii,
                server.nii.next_seq(),
                garita_model::PayloadType::Consignment,
                payload.as_bytes(),
                &[],
            );
            Some(json!({ "envelope": body["envelope"], "signature": body["signature"] }))
        }
        ("post", "/api/v1/uploads/{id}/commit") => None,
        ("post", "/api/v1/watchlist") => Some(json!({
            "subject_id": fx.subject, "category": "smuggler", "source_agency": "INM", "reason": "seen at night"
        })),
        ("post", "/api/v1/alerts/{id}/status") => {
            Some(json!({ "status": "confirmed", "reason": "same face, same scar" }))
        }
        ("post", "/api/v1/consignments/{id}/decisions") => {
            Some(json!({ "decision": "hold", "reason": "density anomaly" }))
        }
        ("post", "/api/v1/consignments/{id}/seizures") => Some(json!({
            "substance": "cocaine", "quantity_kg": 12.5, "concealment": "false floor"
        })),
        ("post", "/api/v1/consignments/{id}/findings") => Some(json!({
            "region": [100, 50, 40, 60], "kind": "void", "reason": "cavity behind the front wall"
        })),
        ("post", "/api/v1/findings/{id}/reject") => {
            Some(json!({ "reason": "pallet gap, not a cavity" }))
        }
        ("post", "/api/v1/devices/{id}/revoke") => None,
        ("post", "/api/v1/cluster/search") => Some(json!({ "probe": [] })),
        ("post", "/api/v1/ledger/cosignatures") => None,
        ("post", "/api/v1/share/exports/{id}/cosignatures") => None,
        ("post", "/api/v1/share/agreements") => Some(share_agreement(Uuid::new_v4())),
        ("post", "/api/v1/share/agreements/{id}/exports") => Some(json!({})),
        ("post", "/api/v1/share/imports") => Some(json!({ "not": "a bundle" })),
        ("post", "/api/v1/share/answers") => {
            let stranger = garita_share::SharingKey::from_seed(&[8; 32]);
            let answer = garita_share::Answer {
                id: Uuid::new_v4(),
                agreement_id: fx.agreement,
                bundle_id: fx.export,
                reference: Uuid::new_v4(),
                category: garita_model::WatchlistCategory::Wanted,
                score: 0.5,
                answered_at: time::OffsetDateTime::now_utc(),
            };
            Some(json!(answer.sign(&stranger).unwrap()))
        }
        ("post", other) => panic!("no body for POST {other}"),
        _ => None,
    };
    (url, token, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_every_role_as_the_matrix_says() {
    let server = Server::start().await;
    let fx = fixtures(&server).await;
    for (method, path, access, ok_status, _) in MATRIX {
        for (call, principal) in principals().into_iter().enumerate() {
            let (url, token, body) = request(&server, &fx, (*method, *path), principal, call).await;
            let before = server.snapshot().await;
            let http_method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let answer = match (method, path) {
                // Device requests carry the device's signature header; the bearer token rides along ignored.
                (_, _) if matches!(access, DeviceRequest) => {
                    let (headers, bytes) = if *method == "put" {
                        (vec![("Upload-Offset", "0".to_owned())], fx.upload.1.clone())
                    } else {
                        (Vec::new(), Vec::new())
                    };
                    let mut headers = headers;
                    if let Some(token) = &token {
                        headers.push(("Authorization", format!("Bearer {token}")));
                    }
                    let device = if *path == "/api/v1/device/watchlist" {
                        &server.bio
                    } else {
                        &server.nii
                    };
                    server
                        .device_call(device, http_method, &url, &headers, bytes)
                        .await
                }
                // Witness cosignature lines are text, not JSON.
                (&"post", &"/api/v1/ledger/cosignatures")
                | (&"post", &"/api/v1/share/exports/{id}/cosignatures") => {
                    server
                        .raw(
                            http_method,
                            &url,
                            token.as_deref(),
                            Some("text/plain"),
                            Vec::new(),
                        )
                        .await
                }
                _ => server.call(http_method, &url, token.as_deref(), body).await,
            };
            let what = format!("{method} {url} as {principal:?}: {answer:?}");
            let allowed = match (access, principal) {
                (Public | Device | Witness | Partner | DeviceRequest | Node, _) => true,
                (Users(_), Principal::Nobody | Principal::Bogus) => {
                    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{what}");
                    assert_eq!(answer.code(), "unauthenticated", "{what}");
                    assert_eq!(
                        answer.headers[reqwest::header::WWW_AUTHENTICATE],
                        "Bearer",
                        "{what}"
                    );
                    false
                }
                (Users(roles), Principal::Role(role)) if !roles.contains(&role) => {
                    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{what}");
                    assert_eq!(answer.code(), "forbidden", "{what}");
                    assert!(answer.body["message"].is_string(), "{what}");
                    false
                }
                (Users(_), Principal::Role(_)) => true,
            };
            if allowed {
                assert_eq!(answer.status.as_u16(), *ok_status, "{what}");
            } else if is_mutation(method, path) {
                assert_eq!(server.snapshot().await, before, "refused yet wrote: {what}");
            }
        }
    }
    check_the_device_route_ignores_tokens(&server).await;
    check_personal_reads_are_audited(&server, &fx).await;
}

async fn check_the_device_route_ignores_tokens(server: &Server) {
    // A capture whose signature is bad stays refused even with an admin token: the token is not a credential.
    let payload = crate::harness::consignment_payload("token").to_string();
    let mut body = crate::harness::signed_capture(
        &server.nii,
        server.nii.next_seq(),
        garita_model::PayloadType::Consignment,
        payload.as_bytes(),
        &[],
    );
    body["envelope"]["seq"] = json!(body["envelope"]["seq"].as_u64().unwrap() + 1_000_000);
    let answer = server
        .call(
            Method::POST,
            "/api/v1/captures",
            Some(&server.token("admin")),
            Some(body),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{answer:?}");
    assert_eq!(answer.code(), "bad-signature");
}

async fn check_personal_reads_are_audited(server: &Server, fx: &Fixtures) {
    for role in ROLES {
        let user = &server.users[role];
        let rows = server.audit_rows(Some(user.id)).await;
        let seen: BTreeSet<(String, String)> = rows
            .iter()
            .map(|row| {
                assert_eq!(row["actor_kind"], "user", "{row}");
                assert_eq!(row["actor_name"], user.username, "{row}");
                (
                    row["action"].as_str().unwrap().to_owned(),
                    row["outcome"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        for (_, path, access, _, action) in MATRIX {
            let (Some(action), Users(allowed)) = (action, access) else {
                continue;
            };
            let outcome = if allowed.contains(&role) {
                "ok"
            } else {
                "denied"
            };
            assert!(
                seen.contains(&((*action).to_owned(), outcome.to_owned())),
                "{path} by {role}: no audit row ({action}, {outcome}) among {seen:?}"
            );
        }
        // The reads of one subject name the subject.
        if PERSONAL.contains(&role) {
            let read = rows
                .iter()
                .find(|row| row["action"] == "subject.read" && row["outcome"] == "ok")
                .unwrap();
            assert_eq!(read["subject_id"], fx.subject.to_string());
            assert_eq!(read["object_id"], fx.subject.to_string());
            assert!(read["leaf_index"].is_u64(), "{read}");
        }
    }
}
