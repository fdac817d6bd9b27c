//! The web console on a real server, without a browser: every console route × every role (and nobody) with the
//! expected status written out as a table; CSRF tokens are required on every form; security headers are on every
//! page; names are HTML-escaped; personal-data pages are audited like the API.

use crate::harness::{ROLES, Server};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, COOKIE, LOCATION, SET_COOKIE};
use std::collections::BTreeMap;
use uuid::Uuid;

/// A console session: its cookie and CSRF token.
pub(crate) struct Session {
    pub(crate) cookie: String,
    csrf: String,
}

pub(crate) fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
}

fn cookie_value(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

fn csrf_of(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("a form with a CSRF token") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

pub(crate) async fn console_login(
    server: &Server,
    client: &reqwest::Client,
    role: &str,
) -> Session {
    let form_page = client
        .get(format!("{}/console/login", server.base))
        .send()
        .await
        .unwrap();
    let login_cookie = cookie_value(&form_page, "garita_login").unwrap();
    let csrf = csrf_of(&form_page.text().await.unwrap());
    let user = &server.users[role];
    let answer = client
        .post(format!("{}/console/login", server.base))
        .header(COOKIE, format!("garita_login={login_cookie}"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", user.username.as_str()),
            ("password", user.password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SEE_OTHER, "login {role}");
    let session = cookie_value(&answer, "garita_session").unwrap();
    let set_cookie = answer
        .headers()
        .get(SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    let cookie = format!("garita_session={session}");
    let dashboard = client
        .get(format!("{}/console", server.base))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(dashboard.status(), StatusCode::OK);
    let csrf = csrf_of(&dashboard.text().await.unwrap());
    Session { cookie, csrf }
}

/// The objects the routes name.
struct Fixture {
    alert: Uuid,
    subject: Uuid,
    encounter: Uuid,
    sample: Uuid,
    consignment: Uuid,
    devices: BTreeMap<&'static str, Uuid>,
    findings: BTreeMap<&'static str, Uuid>,
}

async fn fixture(server: &Server) -> Fixture {
    let first = server
        .new_encounter("<script>alert(1)</script>", b"\xFF\xD8\xFF face")
        .await;
    let second = server
        .new_encounter("Rosa", b"\xFF\xD8\xFF another face")
        .await;
    let encounter: Uuid = first["encounter_id"].as_str().unwrap().parse().unwrap();
    let probe: Uuid = second["encounter_id"].as_str().unwrap().parse().unwrap();
    let subject = server
        .store
        .encounter(encounter)
        .await
        .unwrap()
        .unwrap()
        .subject_id;
    let sample = server.store.samples_of_encounter(encounter).await.unwrap()[0].id;
    // A fixture alert (the 1:N search is tested elsewhere): the second person against the first.
    let alert = server
        .store
        .insert_alert(
            probe,
            subject,
            garita_model::WatchlistCategory::Smuggler,
            0.42,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap()
        .id;
    let consignment = server.new_consignment("console").await["consignment_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut devices = BTreeMap::new();
    let mut findings = BTreeMap::new();
    for role in ROLES {
        let drawn = server
            .call(
                reqwest::Method::POST,
                &format!("/api/v1/consignments/{consignment}/findings"),
                Some(&server.token("officer")),
                Some(serde_json::json!({ "region": [1, 2, 3, 4], "kind": "void", "reason": role })),
            )
            .await;
        assert_eq!(drawn.status, StatusCode::CREATED, "{drawn:?}");
        findings.insert(role, drawn.body["id"].as_str().unwrap().parse().unwrap());
        let key = garita_model::DeviceKey::generate();
        devices.insert(
            role,
            server
                .register_device("mobile-kit", &key.public_key_b64())
                .await,
        );
    }
    Fixture {
        alert,
        subject,
        encounter,
        sample,
        consignment,
        devices,
        findings,
    }
}

/// Allowed/refused per role, in `ROLES` order (officer, supervisor, analyst, auditor, admin), and the status an
/// allowed role gets.
const O: bool = true;
const X: bool = false;
const TABLE: &[(&str, &str, [bool; 5], u16)] = &[
    ("GET", "/", [O, O, O, O, O], 200),
    ("GET", "/alerts", [O, O, O, X, X], 200),
    ("GET", "/alerts/{id}", [O, O, O, X, X], 200),
    ("POST", "/alerts/{id}/status", [O, O, X, X, X], 303),
    ("GET", "/subjects", [O, O, O, X, X], 200),
    ("GET", "/subjects/{id}", [O, O, O, X, X], 200),
    ("GET", "/encounters/{id}", [O, O, O, X, X], 200),
    // The fixture encounter was not enrolled as ANSI/NIST: 409 for those allowed.
    ("GET", "/encounters/{id}/an2", [O, O, O, X, X], 409),
    ("GET", "/samples/{id}/image", [O, O, O, X, X], 200),
    ("GET", "/consignments", [O, O, O, X, X], 200),
    ("GET", "/consignments/{id}", [O, O, O, X, X], 200),
    // The fixture consignment has no scan: 404 for those allowed.
    ("GET", "/consignments/{id}/scan.png", [O, O, O, X, X], 404),
    ("POST", "/consignments/{id}/decisions", [O, O, X, X, X], 303),
    ("POST", "/consignments/{id}/seizures", [O, O, X, X, X], 303),
    ("POST", "/consignments/{id}/findings", [O, O, X, X, X], 303),
    ("POST", "/findings/{id}/reject", [O, O, X, X, X], 303),
    ("GET", "/audit", [X, X, X, O, X], 200),
    ("GET", "/sharing", [X, O, X, O, O], 200),
    ("GET", "/admin/sites", [X, X, X, X, O], 200),
    ("POST", "/admin/sites", [X, X, X, X, O], 303),
    ("GET", "/admin/devices", [X, O, X, O, O], 200),
    ("POST", "/admin/devices", [X, X, X, X, O], 303),
    ("POST", "/admin/devices/{id}/revoke", [X, X, X, X, O], 303),
    ("GET", "/admin/users", [X, X, X, X, O], 200),
    ("POST", "/admin/users", [X, X, X, X, O], 303),
    ("POST", "/logout", [O, O, O, O, O], 303),
];

fn concrete(path: &str, fixture: &Fixture, role: &str) -> String {
    let id = match path {
        p if p.starts_with("/alerts/") => fixture.alert.to_string(),
        p if p.starts_with("/subjects/") => fixture.subject.to_string(),
        p if p.starts_with("/encounters/") => fixture.encounter.to_string(),
        p if p.starts_with("/samples/") => fixture.sample.to_string(),
        p if p.starts_with("/consignments/") => fixture.consignment.to_string(),
        p if p.starts_with("/admin/devices/") => fixture.devices[role].to_string(),
        p if p.starts_with("/findings/") => fixture.findings[role].to_string(),
        _ => String::new(),
    };
    let path = path.replace("{id}", &id);
    if path == "/" {
        "/console".to_owned()
    } else {
        format!("/console{path}")
    }
}

fn form_for(path: &str, role: &str, server: &Server) -> Vec<(String, String)> {
    let pairs: Vec<(&str, String)> = match path {
        "/alerts/{id}/status" => vec![
            ("status", "dismissed".into()),
            ("reason", "not the same person".into()),
        ],
        "/consignments/{id}/decisions" => vec![
            ("decision", "hold".into()),
            ("reason", "check the seals".into()),
        ],
        "/consignments/{id}/seizures" => vec![
            ("substance", "cigarettes".into()),
            ("quantity_kg", "12.5".into()),
            ("concealment", "false floor".into()),
        ],
        "/consignments/{id}/findings" => vec![
            ("x", "10".into()),
            ("y", "20".into()),
            ("width", "30".into()),
            ("height", "40".into()),
            ("kind", "unexpected_organic".into()),
            ("reason", "drawn by hand".into()),
        ],
        "/findings/{id}/reject" => vec![("reason", "a shadow of the frame".into())],
        "/admin/sites" => vec![
            ("name", format!("Site of {role}")),
            ("kind", "port".into()),
            ("mobility", "fixed".into()),
        ],
        "/admin/devices" => vec![
            ("site", server.site_id.to_string()),
            ("kind", "mobile-kit".into()),
            (
                "public_key",
                garita_model::DeviceKey::generate().public_key_b64(),
            ),
        ],
        "/admin/users" => vec![
            ("username", format!("new{role}")),
            ("role", "officer".into()),
            ("password", "a-long-enough-password".into()),
        ],
        _ => Vec::new(),
    };
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

async fn send(
    client: &reqwest::Client,
    server: &Server,
    method: &str,
    path: &str,
    session: Option<&Session>,
    mut form: Vec<(String, String)>,
) -> reqwest::Response {
    let url = format!("{}{path}", server.base);
    let mut request = if method == "GET" {
        client.get(url)
    } else {
        if let Some(session) = session {
            form.push(("_csrf".into(), session.csrf.clone()));
        }
        client.post(url).form(&form)
    };
    if let Some(session) = session {
        request = request.header(COOKIE, &session.cookie);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_route_checks_every_role() {
    let server = Server::start().await;
    let client = no_redirects();
    let fixture = fixture(&server).await;

    // The table covers exactly the routes the console serves (public ones are tested below).
    let protected: Vec<(&str, &str)> = garita_server::CONSOLE_ROUTES
        .iter()
        .filter(|(_, _, roles)| roles.is_some())
        .map(|(method, path, _)| (*method, *path))
        .collect();
    let tested: Vec<(&str, &str)> = TABLE.iter().map(|(m, p, _, _)| (*m, *p)).collect();
    for route in &protected {
        assert!(
            tested.contains(route),
            "console route {route:?} missing from the test table"
        );
    }
    assert_eq!(protected.len(), tested.len());

    for (role_index, role) in ROLES.into_iter().enumerate() {
        let session = console_login(&server, &client, role).await;
        for (method, path, allowed, success) in TABLE {
            let url = concrete(path, &fixture, role);
            let answer = send(
                &client,
                &server,
                method,
                &url,
                Some(&session),
                form_for(path, role, &server),
            )
            .await;
            let status = answer.status();
            let csp = answer
                .headers()
                .get(CONTENT_SECURITY_POLICY)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            assert_eq!(
                csp,
                garita_server::CONTENT_SECURITY_POLICY,
                "{method} {url} as {role}: CSP"
            );
            let body = answer.text().await.unwrap();
            if allowed[role_index] {
                assert_eq!(
                    status.as_u16(),
                    *success,
                    "{method} {url} as {role}: {body}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {url} as {role}: {body}"
                );
                assert!(
                    body.contains("Not allowed (403)"),
                    "{method} {url} as {role}: a 403 page: {body}"
                );
            }
        }
        // After logout the session is gone.
        let after = send(
            &client,
            &server,
            "GET",
            "/console",
            Some(&session),
            Vec::new(),
        )
        .await;
        assert_eq!(after.status(), StatusCode::SEE_OTHER, "{role}: logged out");
    }

    // Nobody: every protected route sends to the login page; the public ones answer.
    for (method, path, _, _) in TABLE {
        let url = concrete(path, &fixture, "officer");
        let answer = send(
            &client,
            &server,
            method,
            &url,
            None,
            form_for(path, "officer", &server),
        )
        .await;
        assert_eq!(
            answer.status(),
            StatusCode::SEE_OTHER,
            "{method} {url} anonymous"
        );
        assert_eq!(answer.headers()[LOCATION], "/console/login");
    }
    let login = client
        .get(format!("{}/console/login", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let root = client
        .get(format!("{}/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(root.headers()[LOCATION], "/console");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_need_the_session_csrf_token_and_pages_escape_and_audit() {
    let server = Server::start().await;
    let client = no_redirects();
    let fixture = fixture(&server).await;
    let officer = console_login(&server, &client, "officer").await;

    // A forged form (no token, or another session's token) changes nothing.
    let supervisor = console_login(&server, &client, "supervisor").await;
    let path = format!("/console/alerts/{}/status", fixture.alert);
    for token in ["", supervisor.csrf.as_str()] {
        let answer = client
            .post(format!("{}{path}", server.base))
            .header(COOKIE, &officer.cookie)
            .form(&[
                ("_csrf", token),
                ("status", "confirmed"),
                ("reason", "forged"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    }
    let alert = server.store.alert(fixture.alert).await.unwrap().unwrap();
    assert_eq!(
        alert.status,
        garita_model::AlertStatus::Open,
        "a forged form wrote nothing"
    );

    // The login form needs its own token too.
    let forged_login = client
        .post(format!("{}/console/login", server.base))
        .form(&[
            ("username", "officer1"),
            ("password", server.users["officer"].password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged_login.status(), StatusCode::FORBIDDEN);
    assert!(cookie_value(&forged_login, "garita_session").is_none());

    // A confirmed alert goes through the ledger like the API's.
    let leaves_before = server.state.ledger.durable_size().await.unwrap();
    let answer = send(
        &client,
        &server,
        "POST",
        &path,
        Some(&officer),
        vec![
            ("status".into(), "confirmed".into()),
            ("reason".into(), "same person".into()),
        ],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let alert = server.store.alert(fixture.alert).await.unwrap().unwrap();
    assert_eq!(alert.status, garita_model::AlertStatus::Confirmed);
    assert!(
        server.state.ledger.durable_size().await.unwrap() > leaves_before,
        "ledgered"
    );

    // Names are escaped.
    let page = send(
        &client,
        &server,
        "GET",
        &format!("/console/subjects/{}", fixture.subject),
        Some(&officer),
        Vec::new(),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script>alert(1)"), "unescaped name: {page}");

    // Search by name: case-insensitive, `%` is a literal.
    let found = send(
        &client,
        &server,
        "GET",
        "/console/subjects?q=rOSA",
        Some(&officer),
        Vec::new(),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        found.contains("Rosa") && !found.contains("&lt;script"),
        "{found}"
    );
    let none = send(
        &client,
        &server,
        "GET",
        "/console/subjects?q=%25",
        Some(&officer),
        Vec::new(),
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(none.contains("No subject matches."), "{none}");

    // Reads of personal data are audited with the subject; a refused read is audited as denied.
    let auditor = console_login(&server, &client, "auditor").await;
    let refused = send(
        &client,
        &server,
        "GET",
        &format!("/console/alerts/{}", fixture.alert),
        Some(&auditor),
        Vec::new(),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let rows = server.audit_rows(Some(server.users["officer"].id)).await;
    assert!(
        rows.iter().any(|row| row["action"] == "subject.read"
            && row["subject_id"] == fixture.subject.to_string()
            && row["outcome"] == "ok"),
        "{rows:?}"
    );
    assert!(
        rows.iter().any(|row| row["action"] == "alert.confirmed"),
        "{rows:?}"
    );
    let auditor_rows = server.audit_rows(Some(server.users["auditor"].id)).await;
    assert!(
        auditor_rows
            .iter()
            .any(|row| row["action"] == "alert.read" && row["outcome"] == "denied"),
        "{auditor_rows:?}"
    );
}
