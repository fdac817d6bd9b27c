//! Two agencies on loopback share under an agreement (issue #10): A (Mexico) exports what the agreement allows —
//! never its own citizens, never a field the agreement leaves out — B (United States) imports it, verifying
//! signature, proofs and checkpoint, searches the imported fingerprints 1:N against its own gallery, answers with
//! a signed hit that becomes an alert at A on the shared encounter, and cosigns A's checkpoint as a witness. A
//! replayed or tampered bundle imports nothing; the live pull feed delivers the next capture.

use crate::enrollment_alerts::fvc_as_wsq;
use crate::harness::{Server, signed_capture};
use garita_model::PayloadType;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// Enrolls one right-index WSQ impression of a person of `citizenship`; returns the capture response.
pub(crate) async fn enroll(
    server: &Server,
    wsq: &[u8],
    citizenship: &str,
    family_name: &str,
) -> Value {
    let payload = serde_json::to_vec(&json!({
        "subject": { "claimed_citizenship": citizenship, "given_name": "Test", "family_name": family_name },
        "samples": [{ "modality": "finger", "position": 2, "format": "wsq", "blob": 0 }]
    }))
    .unwrap();
    let body = signed_capture(
        &server.bio,
        server.bio.next_seq(),
        PayloadType::Encounter,
        &payload,
        &[wsq],
    );
    let answer = server.submit(&body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    answer.body
}

/// Enrolls a person at `server` from one impression and puts them on its watchlist in `category`; returns the
/// subject id.
pub(crate) async fn list_person(server: &Server, wsq: &[u8], category: &str) -> Value {
    let enrolled = enroll(server, wsq, "HND", "Listed").await;
    let encounter = enrolled["encounter_id"].as_str().unwrap();
    let subject = server
        .call(
            Method::GET,
            &format!("/api/v1/encounters/{encounter}"),
            Some(&server.token("analyst")),
            None,
        )
        .await
        .body["subject_id"]
        .clone();
    let listed = server
        .call(
            Method::POST,
            "/api/v1/watchlist",
            Some(&server.token("analyst")),
            Some(json!({ "subject_id": subject, "category": category, "source_agency": "CBP", "reason": "sharing test" })),
        )
        .await;
    assert_eq!(listed.status, StatusCode::CREATED, "{listed:?}");
    subject
}

pub(crate) async fn start(country: &str) -> Server {
    let country = garita_model::CountryCode::new(country).unwrap();
    Server::start_configured(
        |config| {
            config.country = Some(country);
            config.max_body_bytes = 4 * 1024 * 1024;
        },
        |state| state,
    )
    .await
}

pub(crate) async fn identity(server: &Server) -> Value {
    let answer = server
        .call(
            Method::GET,
            "/api/v1/share/identity",
            Some(&server.token("admin")),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body
}

pub(crate) fn agreement(
    id: Uuid,
    direction: &str,
    partner: &str,
    keys: &Value,
    log_vkey: Option<&Value>,
) -> Value {
    let now = time::OffsetDateTime::now_utc();
    let mut partner = json!({ "name": partner, "sign_key": keys["sign_key"], "encrypt_key": keys["encrypt_key"] });
    if let Some(vkey) = log_vkey {
        partner["log_vkey"] = vkey.clone();
    }
    json!({
        "id": id,
        "direction": direction,
        "partner": partner,
        "kinds": [
            { "kind": "encounter", "fields": ["captured_at", "claimed_citizenship"] },
            { "kind": "sample", "modalities": ["finger"], "fields": ["position", "image"] }
        ],
        "excluded_citizenships": [],
        "excluded_categories": [],
        "valid_from": garita_model::canonical_time(now - time::Duration::days(1)),
        "valid_until": garita_model::canonical_time(now + time::Duration::days(30)),
        "purpose": "joint programme against human smuggling; own citizens excluded"
    })
}

/// The default agreement (encounters and finger samples, A to B), recorded on both sides; returns its id.
async fn agree(a: &Server, b: &Server) -> Uuid {
    let (a_keys, b_keys) = (identity(a).await, identity(b).await);
    let id = Uuid::new_v4();
    for (server, body) in [
        (a, agreement(id, "outgoing", "agency-b", &b_keys, None)),
        (
            b,
            agreement(
                id,
                "incoming",
                "agency-a",
                &a_keys,
                Some(&a_keys["log_vkey"]),
            ),
        ),
    ] {
        let created = server
            .call(
                Method::POST,
                "/api/v1/share/agreements",
                Some(&server.token("admin")),
                Some(body),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    }
    id
}

/// `POST` of raw bytes, answer as bytes with status and headers.
async fn post_bytes(
    server: &Server,
    path: &str,
    token: &str,
    body: Vec<u8>,
) -> crate::harness::Answer {
    server
        .raw(
            Method::POST,
            path,
            Some(token),
            Some("application/octet-stream"),
            body,
        )
        .await
}

pub(crate) async fn export(
    server: &Server,
    agreement: Uuid,
) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let response = server
        .client
        .post(format!(
            "{}/api/v1/share/agreements/{agreement}/exports",
            server.base
        ))
        .bearer_auth(server.token("supervisor"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    (headers, response.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agencies_share_search_answer_and_cosign() {
    let (Some(p_at_b), Some(p_at_a), Some(q_at_a), Some(r_at_a)) = (
        fvc_as_wsq("101_1.tif"),
        fvc_as_wsq("101_3.tif"),
        fvc_as_wsq("102_1.tif"),
        fvc_as_wsq("103_1.tif"),
    ) else {
        return;
    };
    let a = start("MEX").await;
    let b = start("USA").await;
    let (a_keys, b_keys) = (identity(&a).await, identity(&b).await);

    // The agreement, as data on both sides (same id), each recorded in its own ledger.
    let id = Uuid::new_v4();
    let created = a
        .call(
            Method::POST,
            "/api/v1/share/agreements",
            Some(&a.token("admin")),
            Some(agreement(id, "outgoing", "agency-b", &b_keys, None)),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert!(created.body["leaf_index"].is_u64());
    let created = b
        .call(
            Method::POST,
            "/api/v1/share/agreements",
            Some(&b.token("admin")),
            Some(agreement(
                id,
                "incoming",
                "agency-a",
                &a_keys,
                Some(&a_keys["log_vkey"]),
            )),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");

    // B knows person P as a gang member.
    list_person(&b, &p_at_b, "gang-member").await;

    // A meets P (another impression of the same finger) and Q, one of its own citizens.
    let p_a = enroll(&a, &p_at_a, "HND", "Secretname").await;
    let _q_a = enroll(&a, &q_at_a, "MEX", "Owncitizen").await;
    let p_a_encounter = p_a["encounter_id"].as_str().unwrap().to_owned();

    let (headers, bundle) = export(&a, id).await;
    assert_eq!(headers["garita-sequence"], "1");
    // P's encounter and its one finger sample; nothing of Q.
    assert_eq!(headers["garita-records"], "2");
    let export_id = headers["garita-bundle-id"].to_str().unwrap().to_owned();

    // A tampered copy is refused at B and imports nothing.
    let mut tampered = bundle.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 1;
    let refused = post_bytes(
        &b,
        "/api/v1/share/imports",
        &b.token("supervisor"),
        tampered,
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{refused:?}"
    );
    assert_eq!(refused.code(), "tampered-bundle");
    let imports = b
        .call(
            Method::GET,
            "/api/v1/share/imports",
            Some(&b.token("auditor")),
            None,
        )
        .await;
    assert_eq!(imports.body.as_array().unwrap().len(), 0);

    // The real bundle imports, with provenance, and B's 1:N search finds P as a gang member.
    let imported = post_bytes(
        &b,
        "/api/v1/share/imports",
        &b.token("supervisor"),
        bundle.clone(),
    )
    .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{imported:?}");
    let outcome = imported.body;
    assert_eq!(outcome["import"]["partner_name"], "agency-a");
    assert_eq!(outcome["import"]["sequence"], 1);
    assert!(
        outcome["import"]["checkpoint"]
            .as_str()
            .unwrap()
            .starts_with("garita.local/ledger\n")
    );
    let records = outcome["records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    let text = outcome["records"].to_string();
    assert!(
        !text.contains("MEX") && !text.contains("Owncitizen"),
        "own citizen leaked: {text}"
    );
    assert!(
        !text.contains("Secretname") && !text.contains("family_name"),
        "disallowed field leaked: {text}"
    );
    let encounter_record = records.iter().find(|r| r["kind"] == "encounter").unwrap();
    assert_eq!(encounter_record["fields"]["claimed_citizenship"], "HND");
    let sample_record = records.iter().find(|r| r["kind"] == "sample").unwrap();
    assert_eq!(
        sample_record["files"]["image"]["media_type"],
        "application/x-an2"
    );
    assert_eq!(sample_record["parent"], encounter_record["reference"]);
    let answers = outcome["answers"].as_array().unwrap();
    assert_eq!(answers.len(), 1, "{outcome}");
    let cosignature = outcome["cosignature"]
        .as_str()
        .expect("B cosigns A's checkpoint")
        .to_owned();
    assert!(cosignature.starts_with("— agency-b "), "{cosignature}");

    // Replayed: refused, nothing more imported.
    let replay = post_bytes(&b, "/api/v1/share/imports", &b.token("supervisor"), bundle).await;
    assert_eq!(replay.status, StatusCode::CONFLICT, "{replay:?}");
    assert_eq!(replay.code(), "replayed-bundle");
    let imports = b
        .call(
            Method::GET,
            "/api/v1/share/imports",
            Some(&b.token("auditor")),
            None,
        )
        .await;
    assert_eq!(imports.body.as_array().unwrap().len(), 1);

    // B's answer becomes an alert at A, on P's encounter, with B's category.
    let answered = a
        .call(
            Method::POST,
            "/api/v1/share/answers",
            None,
            Some(answers[0].clone()),
        )
        .await;
    assert_eq!(answered.status, StatusCode::CREATED, "{answered:?}");
    assert_eq!(answered.body["source"], "partner:agency-b");
    let alert_id = answered.body["alert"]["id"].as_str().unwrap();
    let alert = a
        .call(
            Method::GET,
            &format!("/api/v1/alerts/{alert_id}"),
            Some(&a.token("officer")),
            None,
        )
        .await;
    assert_eq!(alert.status, StatusCode::OK, "{alert:?}");
    assert_eq!(alert.body["encounter_id"], p_a_encounter);
    assert_eq!(alert.body["category"], "gang-member");
    assert_eq!(
        a.store
            .alert_source(alert_id.parse().unwrap())
            .await
            .unwrap()
            .as_deref(),
        Some("partner:agency-b")
    );
    // The same answer again is a replay.
    let again = a
        .call(
            Method::POST,
            "/api/v1/share/answers",
            None,
            Some(answers[0].clone()),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{again:?}");
    // An answer signed by anyone else is refused.
    let stranger = garita_share::SharingKey::from_seed(&[42; 32]);
    let forged = garita_share::Answer {
        id: Uuid::new_v4(),
        agreement_id: id,
        bundle_id: export_id.parse().unwrap(),
        reference: encounter_record["reference"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
        category: garita_model::WatchlistCategory::Wanted,
        score: 0.99,
        answered_at: time::OffsetDateTime::now_utc(),
    }
    .sign(&stranger)
    .unwrap();
    let refused = a
        .call(
            Method::POST,
            "/api/v1/share/answers",
            None,
            Some(json!(forged)),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{refused:?}");

    // B's cosignature reaches A, which keeps it beside the export: A can prove what it shared and B saw.
    let cosigned = a
        .raw(
            Method::POST,
            &format!("/api/v1/share/exports/{export_id}/cosignatures"),
            None,
            Some("text/plain"),
            cosignature.into_bytes(),
        )
        .await;
    assert_eq!(cosigned.status, StatusCode::NO_CONTENT, "{cosigned:?}");
    let exports = a
        .call(
            Method::GET,
            &format!("/api/v1/share/exports?agreement={id}"),
            Some(&a.token("admin")),
            None,
        )
        .await;
    assert_eq!(exports.body[0]["record_count"], 2);
    assert_eq!(exports.body[0]["cosigned_by"], json!(["agency-b"]));
    let cosignatures = a
        .call(
            Method::GET,
            "/api/v1/share/cosignatures",
            Some(&a.token("auditor")),
            None,
        )
        .await;
    assert_eq!(cosignatures.body.as_array().unwrap().len(), 1);
    // The console shows both sides: A's agreement, its export and B's cosignature; B's import from A.
    let at_a = console_page(&a, "/console/sharing").await;
    assert!(
        at_a.contains("agency-b") && at_a.contains("outgoing"),
        "{at_a}"
    );
    assert!(
        !at_a.contains("not yet"),
        "the export shows B's cosignature: {at_a}"
    );
    let at_b = console_page(&b, "/console/sharing").await;
    assert!(
        at_b.contains("agency-a") && at_b.contains("incoming"),
        "{at_b}"
    );
    assert!(!at_b.contains("Nothing imported yet"), "{at_b}");

    // Live: B pulls the feed with its own key; a new capture at A arrives as bundle 2, then nothing is new.
    let b_key =
        garita_server::share::load_or_create_sharing_key(&b.dir.path().join("share.key")).unwrap();
    let pull = |after: u64| {
        let path = format!("/api/v1/share/feed/{id}?after={after}");
        let signature =
            garita_share::sign_request(&b_key, "GET", &path, time::OffsetDateTime::now_utc());
        a.client
            .get(format!("{}{path}", a.base))
            .header("garita-partner", signature)
            .send()
    };
    let empty = pull(1).await.unwrap();
    assert_eq!(empty.status(), StatusCode::NO_CONTENT);
    let _r_a = enroll(&a, &r_at_a, "SLV", "Later").await;
    let next = pull(1).await.unwrap();
    assert_eq!(next.status(), StatusCode::OK);
    assert_eq!(next.headers()["garita-sequence"], "2");
    let next_id = next.headers()["garita-bundle-id"].clone();
    let next_bundle = next.bytes().await.unwrap().to_vec();
    // B crashed before importing it: the same cursor gets the same bundle again, nothing is lost or made twice.
    let again = pull(1).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.headers()["garita-bundle-id"], next_id);
    assert_eq!(again.bytes().await.unwrap().to_vec(), next_bundle);
    let imported = post_bytes(
        &b,
        "/api/v1/share/imports",
        &b.token("supervisor"),
        next_bundle,
    )
    .await;
    assert_eq!(imported.status, StatusCode::CREATED, "{imported:?}");
    assert_eq!(imported.body["import"]["sequence"], 2);
    assert!(
        imported.body["cosignature"].is_string(),
        "B cosigns the grown checkpoint too"
    );
    assert_eq!(pull(2).await.unwrap().status(), StatusCode::NO_CONTENT);
    // A pull that is not signed by B is refused.
    let unsigned = a
        .client
        .get(format!("{}/api/v1/share/feed/{id}?after=2", a.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
}

/// An auditor's view of a console page.
async fn console_page(server: &Server, path: &str) -> String {
    let client = crate::console::no_redirects();
    let session = crate::console::console_login(server, &client, "auditor").await;
    let page = client
        .get(format!("{}{path}", server.base))
        .header(reqwest::header::COOKIE, &session.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK, "{path}");
    page.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scanned_consignment_travels_with_its_dicos_scan() {
    // A small simulated dual-energy scan (two DICOS DX objects) with its manifest, as a scanner sends it.
    let dir = tempfile::tempdir().unwrap();
    let sim = garita_nii::SimConfig {
        columns: 400,
        rows: 200,
        ..garita_nii::SimConfig::default()
    };
    let scene = garita_nii::simulate_with(5, 1, dir.path(), &sim)
        .unwrap()
        .remove(0);
    let manifest: garita_nii::Manifest = garita_nii::read_json(&scene.manifest).unwrap();
    let origin = isocountry::CountryCode::for_alpha2(&manifest.origin_country)
        .unwrap()
        .alpha3();
    let payload = serde_json::to_vec(&json!({
        "container_number": manifest.container_number,
        "conveyance": "MSC ANNA",
        "declarant": manifest.declarant_id,
        "origin": origin,
        "lines": manifest.items.iter().map(|item| json!({
            "hs_code": item.hs_code, "description": item.description,
            "declared_mass_kg": item.declared_mass_kg, "quantity": item.packages
        })).collect::<Vec<_>>(),
    }))
    .unwrap();
    let (high, low) = (
        std::fs::read(&scene.high).unwrap(),
        std::fs::read(&scene.low).unwrap(),
    );

    let a = start("MEX").await;
    let b = start("USA").await;
    let (a_keys, b_keys) = (identity(&a).await, identity(&b).await);
    // A cargo agreement: consignments without the declarant or conveyance, their scans, their findings.
    let id = Uuid::new_v4();
    let kinds = json!([
        { "kind": "consignment", "fields": ["container_number", "origin", "lines", "lane", "created_at"] },
        { "kind": "scan", "fields": ["created_at", "image"] },
        { "kind": "finding", "fields": ["kind", "score", "reason"] }
    ]);
    let mut outgoing = agreement(id, "outgoing", "agency-b", &b_keys, None);
    outgoing["kinds"] = kinds.clone();
    let mut incoming = agreement(
        id,
        "incoming",
        "agency-a",
        &a_keys,
        Some(&a_keys["log_vkey"]),
    );
    incoming["kinds"] = kinds;
    for (server, body) in [(&a, outgoing), (&b, incoming)] {
        let created = server
            .call(
                Method::POST,
                "/api/v1/share/agreements",
                Some(&server.token("admin")),
                Some(body),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    }

    let body = signed_capture(
        &a.nii,
        a.nii.next_seq(),
        PayloadType::Consignment,
        &payload,
        &[&high, &low],
    );
    let captured = a.submit(&body).await;
    assert_eq!(captured.status, StatusCode::CREATED, "{captured:?}");

    let (headers, bundle) = export(&a, id).await;
    let records: u64 = headers["garita-records"].to_str().unwrap().parse().unwrap();
    assert!(
        records >= 3,
        "the consignment and its two scan objects at least: {records}"
    );
    let imported = post_bytes(&b, "/api/v1/share/imports", &b.token("supervisor"), bundle).await;
    assert_eq!(imported.status, StatusCode::CREATED, "{imported:?}");
    let import_id: Uuid = imported.body["import"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let rows = b.store.imported_records(import_id).await.unwrap();
    assert_eq!(rows.len() as u64, records);

    // Both DICOS objects arrive byte for byte, as DICOS.
    let sha = |bytes: &[u8]| {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(bytes))
    };
    let mut sent = vec![sha(&high), sha(&low)];
    let mut received: Vec<String> = rows
        .iter()
        .filter(|row| row.kind == "scan")
        .map(|row| {
            assert_eq!(row.files["image"]["media_type"], "application/dicom");
            row.files["image"]["sha256"].as_str().unwrap().to_owned()
        })
        .collect();
    sent.sort();
    received.sort();
    assert_eq!(received, sent);
    // The consignment carries only the allowed fields.
    let consignment = rows.iter().find(|row| row.kind == "consignment").unwrap();
    assert!(
        consignment.fields.get("container_number").is_some(),
        "{consignment:?}"
    );
    assert!(
        consignment.fields.get("declarant").is_none(),
        "{consignment:?}"
    );
    assert!(
        consignment.fields.get("conveyance").is_none(),
        "{consignment:?}"
    );
}

/// Templates travel between agencies too: a finger captured at A as an ISO/IEC 19794-2 minutiae record is shared
/// under its own media type, and B's 1:N search of the import finds the person B lists and answers with the hit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_minutiae_record_is_searched_by_the_partner() {
    let (Some(p_at_b), Some(p_at_a)) = (fvc_as_wsq("104_1.tif"), fvc_as_wsq("104_2.tif")) else {
        return;
    };
    let a = start("MEX").await;
    let b = start("USA").await;
    let id = agree(&a, &b).await;
    // B lists P; A meets P and its terminal sends only minutiae.
    list_person(&b, &p_at_b, "smuggler").await;
    let template =
        garita_finger::extract(&garita_finger::load_image(&p_at_a, None).unwrap()).unwrap();
    let view = garita_finger::ViewInfo {
        finger_position: 2,
        impression_type: 0,
    };
    let record = garita_finger::to_iso_19794_2(&template, view).unwrap();
    let payload = serde_json::to_vec(&json!({
        "subject": { "claimed_citizenship": "HND", "given_name": "Test", "family_name": "Minutiae" },
        "samples": [{ "modality": "finger", "position": 2, "format": "iso-19794-2", "blob": 0 }]
    }))
    .unwrap();
    let body = signed_capture(
        &a.bio,
        a.bio.next_seq(),
        PayloadType::Encounter,
        &payload,
        &[&record],
    );
    let captured = a.submit(&body).await;
    assert_eq!(captured.status, StatusCode::CREATED, "{:?}", captured.body);
    assert_eq!(captured.body["fingers"][0]["searched"], true);

    let (_, bundle) = export(&a, id).await;
    let imported = post_bytes(&b, "/api/v1/share/imports", &b.token("supervisor"), bundle).await;
    assert_eq!(imported.status, StatusCode::CREATED, "{imported:?}");
    let outcome = imported.body;
    let sample = outcome["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "sample")
        .unwrap();
    assert_eq!(
        sample["files"]["image"]["media_type"],
        garita_model::ISO_19794_2_MEDIA_TYPE
    );
    let answers = outcome["answers"].as_array().unwrap();
    assert_eq!(
        answers.len(),
        1,
        "B's search of the record found P: {outcome}"
    );
}
