//! Bad input: each row is one request with its exact status, error code and field, and nothing may be written
//! (store rows, blobs, audit rows, ledger entries). Then login, logout, token expiry and pagination.

use crate::harness::{
    MAX_BODY, Server, TestDevice, capture_json, consignment_payload, signed_capture,
};
use garita_model::{DeviceKey, Envelope, PayloadType};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use uuid::Uuid;

/// What a row expects.
enum Expect {
    /// An error: status, `error` code, `field` (or none).
    Error(u16, &'static str, Option<&'static str>),
    /// 200 with exactly this receipt.
    Receipt(Value),
}

struct Case {
    name: &'static str,
    method: Method,
    path: String,
    token: Option<String>,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    expect: Expect,
}

fn capture_case(name: &'static str, body: &Value, expect: Expect) -> Case {
    Case {
        name,
        method: Method::POST,
        path: "/api/v1/captures".into(),
        token: None,
        content_type: Some("application/json"),
        body: body.to_string().into_bytes(),
        expect,
    }
}

fn error(status: u16, code: &'static str, field: Option<&'static str>) -> Expect {
    Expect::Error(status, code, field)
}

/// A fresh consignment capture from `device` with `payload` (already JSON text).
fn consignment(device: &TestDevice, payload: &str) -> Value {
    signed_capture(
        device,
        device.next_seq(),
        PayloadType::Consignment,
        payload.as_bytes(),
        &[],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_its_exact_status_and_writes_nothing() {
    let server = Server::start().await;
    let good_payload = consignment_payload("good").to_string();

    // An accepted capture to replay and to conflict with.
    let accepted_body = consignment(&server.nii, &good_payload);
    let accepted = server.submit(&accepted_body).await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{accepted:?}");
    let accepted_seq = accepted_body["envelope"]["seq"].as_u64().unwrap();

    // A device that gets revoked, and one that never existed.
    let revoked_key = DeviceKey::generate();
    let revoked_id = server
        .register_device("nii-scanner", &revoked_key.public_key_b64())
        .await;
    let revoked = TestDevice::with_key(revoked_id, revoked_key);
    // Signed correctly, but sent after the revocation.
    let revoked_key_body = consignment(&revoked, &good_payload);
    let answer = server
        .call(
            Method::POST,
            &format!("/api/v1/devices/{}/revoke", revoked.id),
            Some(&server.token("admin")),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    assert_eq!(answer.body["status"], "revoked");
    let stranger = TestDevice::new_for_tests(Uuid::new_v4());

    let mut cases = Vec::new();
    cases.push(Case {
        name: "malformed JSON",
        body: br#"{"envelope": {"device_id": "#.to_vec(),
        ..capture_case("", &Value::Null, error(400, "malformed-json", None))
    });
    cases.push(Case {
        name: "trailing data after the JSON",
        body: format!("{} x", consignment(&server.nii, &good_payload)).into_bytes(),
        ..capture_case("", &Value::Null, error(400, "malformed-json", None))
    });
    let mut body = consignment(&server.nii, &good_payload);
    body["envelope"]["seq"] = json!("seven");
    cases.push(capture_case(
        "wrong type: seq as a string",
        &body,
        error(422, "invalid-field", Some("envelope.seq")),
    ));
    let mut body = consignment(&server.nii, &good_payload);
    body["blobs"] = json!("not a list");
    cases.push(capture_case(
        "wrong type: blobs as a string",
        &body,
        error(422, "invalid-field", Some("blobs")),
    ));
    let mut body = consignment(&server.nii, &good_payload);
    body["extra"] = json!(1);
    cases.push(capture_case(
        "unknown field",
        &body,
        error(422, "invalid-field", Some("extra")),
    ));
    let mut body = consignment(&server.nii, &good_payload);
    body.as_object_mut().unwrap().remove("signature");
    cases.push(capture_case(
        "missing field",
        &body,
        error(422, "invalid-field", Some("signature")),
    ));
    cases.push(Case {
        content_type: None,
        ..capture_case(
            "no content type",
            &consignment(&server.nii, &good_payload),
            error(415, "unsupported-media-type", None),
        )
    });
    cases.push(Case {
        content_type: Some("text/plain"),
        ..capture_case(
            "text/plain content type",
            &consignment(&server.nii, &good_payload),
            error(415, "unsupported-media-type", None),
        )
    });
    let big_blob = vec![7u8; MAX_BODY];
    let big_payload = json!({
        "subject": {}, "samples": [{ "modality": "face", "format": "raw", "blob": 0 }]
    })
    .to_string();
    cases.push(capture_case(
        "oversize body",
        &signed_capture(
            &server.bio,
            server.bio.next_seq(),
            PayloadType::Encounter,
            big_payload.as_bytes(),
            &[&big_blob],
        ),
        error(413, "body-too-large", None),
    ));
    let mut payload = consignment_payload("bad container");
    payload["container_number"] = json!("CSQU3054384");
    cases.push(capture_case(
        "bad ISO 6346 check digit",
        &consignment(&server.nii, &payload.to_string()),
        error(422, "invalid-field", Some("container_number")),
    ));
    let mut payload = consignment_payload("bad hs");
    payload["lines"][0]["hs_code"] = json!("12345");
    cases.push(capture_case(
        "bad HS code (5 digits)",
        &consignment(&server.nii, &payload.to_string()),
        error(422, "invalid-field", Some("lines[0].hs_code")),
    ));
    let mut payload = consignment_payload("bad hs chapter");
    payload["lines"][0]["hs_code"] = json!("990000");
    cases.push(capture_case(
        "bad HS code (chapter 99)",
        &consignment(&server.nii, &payload.to_string()),
        error(422, "invalid-field", Some("lines[0].hs_code")),
    ));
    let mut payload = consignment_payload("no lines");
    payload["lines"] = json!([]);
    cases.push(capture_case(
        "empty manifest",
        &consignment(&server.nii, &payload.to_string()),
        error(422, "invalid-field", Some("lines")),
    ));
    cases.push(capture_case(
        "unknown device",
        &consignment(&stranger, &good_payload),
        error(403, "unknown-device", None),
    ));
    cases.push(capture_case(
        "revoked device",
        &revoked_key_body,
        error(403, "device-revoked", None),
    ));
    let impostor = TestDevice::new_for_tests(server.nii.id);
    cases.push(capture_case(
        "signed with another key",
        &consignment(&impostor, &good_payload),
        error(401, "bad-signature", None),
    ));
    let mut body = consignment(&server.nii, &good_payload);
    body["envelope"]["seq"] = json!(body["envelope"]["seq"].as_u64().unwrap() + 1_000_000);
    cases.push(capture_case(
        "envelope changed after signing",
        &body,
        error(401, "bad-signature", None),
    ));
    let mut body = consignment(&server.nii, &good_payload);
    body["signature"] = json!("%%% not base64 %%%");
    cases.push(capture_case(
        "signature not base64",
        &body,
        error(422, "invalid-field", Some("signature")),
    ));
    let other_payload = consignment_payload("other").to_string();
    let mut body = consignment(&server.nii, &good_payload);
    body["payload"] = json!(base64_of(other_payload.as_bytes()));
    cases.push(capture_case(
        "payload not matching the envelope hash",
        &body,
        error(422, "invalid-field", Some("payload")),
    ));
    let mut body = consignment(&server.nii, &good_payload);
    body["payload"] = json!("%%% not base64 %%%");
    cases.push(capture_case(
        "payload not base64",
        &body,
        error(422, "invalid-field", Some("payload")),
    ));
    let image = b"face bytes".as_slice();
    let encounter = crate::harness::encounter_payload("Blob").to_string();
    let mut body = signed_capture(
        &server.bio,
        server.bio.next_seq(),
        PayloadType::Encounter,
        encounter.as_bytes(),
        &[image],
    );
    body["blobs"][0] = json!(base64_of(b"other bytes"));
    cases.push(capture_case(
        "blob not matching the envelope",
        &body,
        error(422, "invalid-field", Some("blobs[0]")),
    ));
    let mut body = signed_capture(
        &server.bio,
        server.bio.next_seq(),
        PayloadType::Encounter,
        encounter.as_bytes(),
        &[image],
    );
    body["blobs"] = json!([]);
    cases.push(capture_case(
        "blob missing",
        &body,
        error(422, "invalid-field", Some("blobs")),
    ));
    let out_of_range = json!({
        "subject": {}, "samples": [{ "modality": "face", "format": "jpeg", "blob": 1 }]
    })
    .to_string();
    cases.push(capture_case(
        "sample blob index out of range",
        &signed_capture(
            &server.bio,
            server.bio.next_seq(),
            PayloadType::Encounter,
            out_of_range.as_bytes(),
            &[image],
        ),
        error(422, "invalid-field", Some("samples[0].blob")),
    ));
    cases.push(capture_case(
        "biometric terminal sending a consignment",
        &consignment(&server.bio, &good_payload),
        error(403, "device-not-allowed", None),
    ));
    cases.push(capture_case(
        "NII scanner sending an encounter",
        &signed_capture(
            &server.nii,
            server.nii.next_seq(),
            PayloadType::Encounter,
            encounter.as_bytes(),
            &[image],
        ),
        error(403, "device-not-allowed", None),
    ));
    cases.push(capture_case(
        "an2 payload that is not a transaction",
        &signed_capture(
            &server.bio,
            server.bio.next_seq(),
            PayloadType::An2,
            b"1.001:...",
            &[],
        ),
        error(422, "invalid-field", Some("payload")),
    ));
    cases.push(capture_case(
        "replay of an accepted capture",
        &accepted_body,
        Expect::Receipt(accepted.body.clone()),
    ));
    let conflicting = Envelope::describe(
        server.nii.id,
        accepted_seq,
        time::OffsetDateTime::now_utc(),
        PayloadType::Consignment,
        other_payload.as_bytes(),
        &[],
    )
    .sign(&server.nii.key);
    cases.push(capture_case(
        "same sequence number, different content",
        &capture_json(&conflicting, other_payload.as_bytes(), &[]),
        error(409, "sequence-conflict", None),
    ));
    for (name, path) in [
        ("unknown API route", "/api/v1/nowhere"),
        ("unknown route", "/nowhere"),
        ("bad uuid in the path", "/api/v1/consignments/not-a-uuid"),
        ("bad uuid in a personal path", "/api/v1/subjects/42"),
    ] {
        cases.push(Case {
            name,
            method: Method::GET,
            path: path.into(),
            token: Some(server.token("officer")),
            content_type: None,
            body: Vec::new(),
            expect: error(404, "not-found", None),
        });
    }
    cases.push(Case {
        name: "no such consignment",
        path: format!("/api/v1/consignments/{}", Uuid::new_v4()),
        ..Case {
            name: "",
            method: Method::GET,
            path: String::new(),
            token: Some(server.token("officer")),
            content_type: None,
            body: Vec::new(),
            expect: error(404, "not-found", None),
        }
    });
    cases.push(Case {
        name: "malformed cosignature line",
        method: Method::POST,
        path: "/api/v1/ledger/cosignatures".into(),
        token: None,
        content_type: Some("text/plain"),
        body: b"\xe2\x80\x94 not a cosignature\n".to_vec(),
        expect: error(422, "bad-cosignature", None),
    });

    let mut failures = Vec::new();
    for case in cases {
        let before = (server.snapshot().await, server.trail().await);
        let answer = server
            .raw(
                case.method.clone(),
                &case.path,
                case.token.as_deref(),
                case.content_type,
                case.body.clone(),
            )
            .await;
        let after = (server.snapshot().await, server.trail().await);
        let mut problems = Vec::new();
        match &case.expect {
            Expect::Error(status, code, field) => {
                if answer.status.as_u16() != *status {
                    problems.push(format!("status {} != {status}", answer.status));
                }
                if answer.code() != *code {
                    problems.push(format!("error {:?} != {code:?}", answer.code()));
                }
                if answer.body["field"].as_str() != *field {
                    problems.push(format!("field {} != {field:?}", answer.body["field"]));
                }
                if !answer.body["message"].is_string() {
                    problems.push("no message".into());
                }
            }
            Expect::Receipt(receipt) => {
                if answer.status != StatusCode::OK {
                    problems.push(format!("status {} != 200", answer.status));
                }
                if answer.body != *receipt {
                    problems.push(format!("receipt {} != {receipt}", answer.body));
                }
            }
        }
        if before != after {
            problems.push(format!("wrote something: {before:?} -> {after:?}"));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {} (answer {} {})",
                case.name,
                problems.join("; "),
                answer.status,
                answer.body
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} bad-input rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_oversize_body_is_refused_with_the_json_error() {
    let server = Server::start().await;
    let before = (server.snapshot().await, server.trail().await);
    // No Content-Length: the limit is hit while reading the chunked stream.
    let addr = server.base.trim_start_matches("http://").to_owned();
    let (status, body) = tokio::task::spawn_blocking(move || chunked_post(&addr, MAX_BODY + 1))
        .await
        .unwrap();
    assert_eq!(status, 413, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    assert_eq!(body["error"], "body-too-large", "{body}");
    assert_eq!((server.snapshot().await, server.trail().await), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_within_the_configured_limit_is_accepted_even_above_2_mib() {
    // Captures carry scans: the configured limit (64 MiB by default) is the only one, not axum's 2 MiB default.
    let server = Server::start_full(8 * 1024 * 1024, |state| state).await;
    let scan: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let payload = json!({
        "subject": {}, "samples": [{ "modality": "face", "format": "raw", "blob": 0 }]
    })
    .to_string();
    let body = signed_capture(
        &server.bio,
        server.bio.next_seq(),
        PayloadType::Encounter,
        payload.as_bytes(),
        &[&scan],
    );
    let sent = server
        .client
        .post(format!("{}/api/v1/captures", server.base))
        .json(&body)
        .send()
        .await;
    let answer = match sent {
        Ok(response) => Server::answer_of(response).await,
        // The server answered (413) and closed before reading the whole body.
        Err(err) => panic!(
            "a {} byte capture was cut off: {err}",
            body.to_string().len()
        ),
    };
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    assert_eq!(server.store.count_captures().await.unwrap(), 1);
}

/// POSTs `size` bytes of JSON-ish text to /api/v1/captures with chunked transfer encoding over a plain socket;
/// returns the status and the body text.
fn chunked_post(addr: &str, size: usize) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST /api/v1/captures HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b'a'; 16 * 1024];
    let mut sent = 0;
    while sent < size {
        let part = &chunk[..chunk.len().min(size - sent)];
        // The server may answer and close before reading everything: stop writing then.
        if stream
            .write_all(format!("{:x}\r\n", part.len()).as_bytes())
            .and_then(|()| stream.write_all(part))
            .and_then(|()| stream.write_all(b"\r\n"))
            .is_err()
        {
            break;
        }
        sent += part.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, dechunk(&body))
}

/// The payload of a chunked response body (or the text itself when it is not chunked).
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            return body.to_owned();
        };
        if size == 0 || tail.len() < size {
            break;
        }
        out.push_str(&tail[..size]);
        rest = tail[size..].trim_start_matches("\r\n");
    }
    if out.is_empty() { body.to_owned() } else { out }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_logout_and_token_expiry() {
    let offset = Arc::new(AtomicI64::new(0));
    let clock_offset = Arc::clone(&offset);
    let server = Server::start_with(move |state| {
        state.with_clock(Arc::new(move || {
            time::OffsetDateTime::now_utc()
                + time::Duration::seconds(clock_offset.load(Ordering::SeqCst))
        }))
    })
    .await;
    let officer = &server.users["officer"];

    // Wrong password and unknown user: the same 401, and a denied audit row either way.
    let audit_before = server.store.count_audit().await.unwrap();
    for (username, password) in [
        (officer.username.as_str(), "wrong-password-here"),
        ("nobody-at-all", "wrong-password-here"),
    ] {
        let answer = server
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({ "username": username, "password": password })),
            )
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{answer:?}");
        assert_eq!(answer.code(), "bad-credentials");
        assert!(answer.body.get("token").is_none());
    }
    assert_eq!(server.store.count_audit().await.unwrap(), audit_before + 2);
    let denied: Vec<Value> = server
        .audit_rows(None)
        .await
        .into_iter()
        .filter(|row| row["action"] == "auth.login" && row["outcome"] == "denied")
        .collect();
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert!(
        denied
            .iter()
            .any(|row| row["actor_name"] == officer.username.as_str())
    );

    // A token works until logout, then never again; other tokens of the same user are untouched.
    let token = server.login(&officer.username, &officer.password).await;
    let me = server
        .call(Method::GET, "/api/v1/me", Some(&token), None)
        .await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["username"], officer.username.as_str());
    assert_eq!(me.body["role"], "officer");
    assert!(me.body.get("password_hash").is_none(), "{me:?}");
    let out = server
        .call(Method::POST, "/api/v1/auth/logout", Some(&token), None)
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    for _ in 0..2 {
        let again = server
            .call(Method::GET, "/api/v1/me", Some(&token), None)
            .await;
        assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{again:?}");
        assert_eq!(again.code(), "unauthenticated");
    }
    let again = server
        .call(Method::POST, "/api/v1/auth/logout", Some(&token), None)
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    let other = server
        .call(Method::GET, "/api/v1/me", Some(&officer.token), None)
        .await;
    assert_eq!(other.status, StatusCode::OK);

    // Malformed Authorization headers.
    for header in ["Basic b2ZmaWNlcjE6cGFzcw==", "Bearer", "bearer x", ""] {
        let answer = Server::answer_of(
            server
                .client
                .get(format!("{}/api/v1/me", server.base))
                .header(reqwest::header::AUTHORIZATION, header)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{header:?}");
        assert_eq!(answer.code(), "unauthenticated", "{header:?}");
    }

    // Tokens expire after the configured 12 hours.
    let token = server.login(&officer.username, &officer.password).await;
    offset.store(11 * 3600, Ordering::SeqCst);
    let me = server
        .call(Method::GET, "/api/v1/me", Some(&token), None)
        .await;
    assert_eq!(me.status, StatusCode::OK);
    offset.store(12 * 3600 + 60, Ordering::SeqCst);
    let me = server
        .call(Method::GET, "/api/v1/me", Some(&token), None)
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED, "{me:?}");
    assert_eq!(me.code(), "unauthenticated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_with_limit_offset_and_next_offset() {
    let server = Server::start().await;
    let admin = server.token("admin");
    for index in 0..5 {
        let site = server
            .call(
                Method::POST,
                "/api/v1/sites",
                Some(&admin),
                Some(json!({ "name": format!("crossing {index}"), "kind": "land-crossing", "mobility": "mobile" })),
            )
            .await;
        assert_eq!(site.status, StatusCode::CREATED, "{site:?}");
    }
    // Six sites in all (the harness made one).
    let mut seen = std::collections::BTreeSet::new();
    let mut offset = 0;
    let mut pages = Vec::new();
    for _ in 0..10 {
        let page = server
            .call(
                Method::GET,
                &format!("/api/v1/sites?limit=4&offset={offset}"),
                Some(&server.token("officer")),
                None,
            )
            .await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        let items = page.body["items"].as_array().unwrap();
        pages.push(items.len());
        for item in items {
            assert!(
                seen.insert(item["id"].as_str().unwrap().to_owned()),
                "{item} twice"
            );
        }
        match page.body["next_offset"].as_u64() {
            Some(next) => {
                assert_eq!(next, offset + 4);
                offset = next;
            }
            None => {
                assert!(page.body["next_offset"].is_null());
                break;
            }
        }
    }
    assert_eq!(pages, vec![4, 2]);
    assert_eq!(seen.len(), 6);
    let all = server
        .call(Method::GET, "/api/v1/sites?limit=500", Some(&admin), None)
        .await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.body["items"].as_array().unwrap().len(), 6);
    let beyond = server
        .call(Method::GET, "/api/v1/sites?offset=100", Some(&admin), None)
        .await;
    assert_eq!(beyond.status, StatusCode::OK);
    assert_eq!(beyond.body["items"], json!([]));
    assert!(beyond.body["next_offset"].is_null());

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=ten", "limit"),
        ("limit=-1", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
    ] {
        let answer = server
            .call(
                Method::GET,
                &format!("/api/v1/sites?{query}"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {answer:?}"
        );
        assert_eq!(answer.code(), "invalid-field", "{query}");
        assert_eq!(answer.body["field"], field, "{query}");
    }
    // A personal list refuses a bad page too, and the refusal is audited.
    let answer = server
        .call(
            Method::GET,
            "/api/v1/subjects?limit=0",
            Some(&server.token("analyst")),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.body["field"], "limit");
    let rows = server.audit_rows(Some(server.users["analyst"].id)).await;
    assert!(
        rows.iter()
            .any(|row| row["action"] == "subject.list" && row["outcome"] == "invalid"),
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_path_with_another_method_is_405_with_allow() {
    let server = Server::start().await;
    let before = (server.snapshot().await, server.trail().await);
    for (method, path, allow) in [
        (Method::DELETE, "/api/v1/me", "GET,HEAD"),
        (Method::POST, "/healthz", "GET,HEAD"),
        (Method::PUT, "/api/v1/captures", "POST"),
    ] {
        let answer = server
            .call(method.clone(), path, Some(&server.token("admin")), None)
            .await;
        assert_eq!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(
            answer.headers[reqwest::header::ALLOW],
            allow,
            "{method} {path}"
        );
        assert_eq!(
            answer.body["error"], "method-not-allowed",
            "{method} {path}"
        );
    }
    assert_eq!((server.snapshot().await, server.trail().await), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ansi_nist_enrollment_becomes_an_encounter_with_samples() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/ansi-nist/type-14-tip-eji-wsq.an2");
    let Ok(transaction) = std::fs::read(&path) else {
        eprintln!("skipping: {} is absent", path.display());
        return;
    };
    // About 200 KiB of WSQ, about 275 KiB as base64: above the 256 KiB the other tests use.
    let server = Server::start_full(1024 * 1024, |state| state).await;
    let body = signed_capture(
        &server.bio,
        server.bio.next_seq(),
        PayloadType::An2,
        &transaction,
        &[],
    );
    let answer = server.submit(&body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
    let encounter: Uuid = answer.body["encounter_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let samples = server.store.samples_of_encounter(encounter).await.unwrap();
    assert!(!samples.is_empty());
    for sample in &samples {
        assert!(
            server
                .store
                .blobs()
                .contains(sample.blob_sha256.as_str())
                .await
                .unwrap(),
            "a sample names a blob that was not stored"
        );
    }
    // The same transaction from an NII scanner is refused.
    let refused = server
        .submit(&signed_capture(
            &server.nii,
            server.nii.next_seq(),
            PayloadType::An2,
            &transaction,
            &[],
        ))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.code(), "device-not-allowed");
}
