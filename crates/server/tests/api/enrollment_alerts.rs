//! 1:N on enrollment, end to end: a watchlisted person's second impression raises an alert of the watchlist's
//! category in the capture response; an earlier enrollment of someone not listed raises prior-crossing; a
//! different finger raises nothing against them; every finger of a multi-finger encounter is searchable. Real
//! FVC2000 impressions, sent as WSQ like a terminal would.

use crate::harness::{Server, signed_capture};
use garita_model::PayloadType;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::Path;

pub(crate) fn fvc_as_wsq(name: &str) -> Option<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/fingerprints/FVC2000_DB1_B")
        .join(name);
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("skipping: {} not found", path.display());
        return None;
    };
    let image = garita_finger::load_image(&bytes, Some(500)).unwrap();
    let gray =
        garita_wsq::GrayImage::new(image.width(), image.height(), image.pixels().to_vec()).unwrap();
    let options = garita_wsq::EncodeOptions {
        ppi: Some(500),
        ..Default::default()
    };
    Some(garita_wsq::encode(&gray, &options).unwrap())
}

/// Enrolls one right-index (position 2) WSQ impression from the test terminal; returns the capture response.
pub(crate) async fn enroll(server: &Server, wsq: &[u8]) -> Value {
    enroll_fingers(server, &[(2, wsq)]).await
}

/// Enrolls `(position, WSQ)` fingers as one encounter; returns the capture response.
async fn enroll_fingers(server: &Server, fingers: &[(u8, &[u8])]) -> Value {
    let samples: Vec<Value> = fingers
        .iter()
        .enumerate()
        .map(|(blob, (position, _))| {
            json!({ "modality": "finger", "position": position, "format": "wsq", "blob": blob })
        })
        .collect();
    let payload = serde_json::to_vec(&json!({
        "subject": { "claimed_citizenship": "HND" },
        "samples": samples
    }))
    .unwrap();
    let blobs: Vec<&[u8]> = fingers.iter().map(|(_, wsq)| *wsq).collect();
    let body = signed_capture(
        &server.bio,
        server.bio.next_seq(),
        PayloadType::Encounter,
        &payload,
        &blobs,
    );
    let answer = server
        .call(Method::POST, "/api/v1/captures", None, Some(body))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    answer.body
}

pub(crate) async fn subject_of(server: &Server, response: &Value) -> String {
    let path = format!(
        "/api/v1/encounters/{}",
        response["encounter_id"].as_str().unwrap()
    );
    let detail = server
        .call(Method::GET, &path, Some(&server.token("analyst")), None)
        .await;
    detail.body["subject_id"].as_str().unwrap().to_owned()
}

fn alerted_subjects(response: &Value) -> Vec<(String, String)> {
    response["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|alert| {
            (
                alert["candidate_subject_id"].as_str().unwrap().to_owned(),
                alert["category"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_impression_of_a_listed_person_raises_the_listed_category() {
    let (Some(a1), Some(a2), Some(b1), Some(c1), Some(c2)) = (
        fvc_as_wsq("101_1.tif"),
        fvc_as_wsq("101_3.tif"),
        fvc_as_wsq("102_1.tif"),
        fvc_as_wsq("103_1.tif"),
        fvc_as_wsq("103_2.tif"),
    ) else {
        return;
    };
    let server = Server::start_full(1024 * 1024, |state| state).await;

    let first = enroll(&server, &a1).await;
    assert!(
        alerted_subjects(&first).is_empty(),
        "an empty gallery raises nothing: {first}"
    );
    let person_a = subject_of(&server, &first).await;
    let listed = server
        .call(
            Method::POST,
            "/api/v1/watchlist",
            Some(&server.token("analyst")),
            Some(json!({ "subject_id": person_a, "category": "gang-member", "source_agency": "INM", "reason": "test listing" })),
        )
        .await;
    assert_eq!(listed.status, StatusCode::CREATED);

    // The same finger, another impression: an alert of the watchlist's category against person A.
    let second = enroll(&server, &a2).await;
    let hits = alerted_subjects(&second);
    assert!(
        hits.contains(&(person_a.clone(), "gang-member".to_owned())),
        "expected a gang-member alert on A: {second}"
    );
    assert!(second["alerts"][0]["score"].as_f64().unwrap() > 0.0);

    // A different finger: no alert against A.
    let other = enroll(&server, &b1).await;
    assert!(
        !alerted_subjects(&other)
            .iter()
            .any(|(subject, _)| *subject == person_a),
        "false alert: {other}"
    );

    // Someone not listed, enrolled twice: prior-crossing.
    let c_first = enroll(&server, &c1).await;
    let person_c = subject_of(&server, &c_first).await;
    let c_second = enroll(&server, &c2).await;
    assert!(
        alerted_subjects(&c_second).contains(&(person_c, "prior-crossing".to_owned())),
        "expected prior-crossing: {c_second}"
    );

    // The alerts are in the officers' queue too.
    let queue = server
        .call(
            Method::GET,
            "/api/v1/alerts?status=open",
            Some(&server.token("officer")),
            None,
        )
        .await;
    assert!(queue.body["items"].as_array().unwrap().len() >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_finger_of_a_multi_finger_encounter_is_searchable() {
    let (Some(a1), Some(a2), Some(b1), Some(b2)) = (
        fvc_as_wsq("104_1.tif"),
        fvc_as_wsq("104_3.tif"),
        fvc_as_wsq("105_1.tif"),
        fvc_as_wsq("105_3.tif"),
    ) else {
        return;
    };
    let server = Server::start_full(1024 * 1024, |state| state).await;
    // One person, two fingers in one encounter: right index (2) and left thumb (6).
    let first = enroll_fingers(&server, &[(2, &a1), (6, &b1)]).await;
    let person = subject_of(&server, &first).await;
    // Each finger alone, presented again at its own position, finds that person.
    for (position, wsq) in [(2u8, &a2), (6u8, &b2)] {
        let again = enroll_fingers(&server, &[(position, wsq)]).await;
        assert!(
            alerted_subjects(&again).contains(&(person.clone(), "prior-crossing".to_owned())),
            "finger at position {position} was not searched: {again}"
        );
    }
    // The right-index print presented as a left thumb is compared only with left thumbs: no alert from it.
    let misplaced = enroll_fingers(&server, &[(6, &a2)]).await;
    assert!(
        !alerted_subjects(&misplaced)
            .iter()
            .any(|(subject, _)| *subject == person),
        "a print matched across finger positions: {misplaced}"
    );
}

/// A blank scan (a finger lifted too early, a dirty glass) is accepted with the capture but cannot be searched:
/// the answer says so per finger and asks for a new capture, while the good finger is searched and enrolled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_answer_says_which_fingers_were_searched_and_which_to_capture_again() {
    let Some(good) = fvc_as_wsq("103_1.tif") else {
        return;
    };
    let gray = garita_wsq::GrayImage::new(300, 300, vec![250; 300 * 300]).unwrap();
    let options = garita_wsq::EncodeOptions {
        ppi: Some(500),
        ..Default::default()
    };
    let blank = garita_wsq::encode(&gray, &options).unwrap();
    let server = Server::start_full(1024 * 1024, |state| state).await;
    let answer = enroll_fingers(&server, &[(2, &good), (7, &blank)]).await;
    let fingers = answer["fingers"].as_array().unwrap();
    assert_eq!(fingers.len(), 2, "{answer}");
    let by_position = |p: u64| {
        fingers
            .iter()
            .find(|f| f["position"].as_u64() == Some(p))
            .unwrap()
    };
    let (searched, blank) = (by_position(2), by_position(7));
    assert_eq!(searched["searched"], true);
    assert!(searched["minutiae"].as_u64().unwrap() >= garita_finger::FEW_MINUTIAE as u64);
    assert!(searched.get("advice").is_none(), "{searched}");
    assert_eq!(blank["searched"], false);
    assert!(blank.get("minutiae").is_none());
    let advice = blank["advice"].as_str().unwrap();
    assert!(
        advice.contains("no fingerprint") && advice.contains("again"),
        "{advice}"
    );
    // The good finger was enrolled: its second impression finds this person.
    let person = subject_of(&server, &answer).await;
    let again = enroll(&server, &fvc_as_wsq("103_2.tif").unwrap()).await;
    assert!(
        alerted_subjects(&again).contains(&(person, "prior-crossing".to_owned())),
        "{again}"
    );
}

/// A minutiae record (ISO/IEC 19794-2) is searched as sent, so templates travel: a terminal that only sends
/// minutiae still finds prior crossings. A finger image in a format the engine does not decode is accepted but
/// reported as not searched, with what to send instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minutiae_records_are_searched_and_undecodable_formats_are_reported() {
    let (Some(first), Some(second)) = (fvc_as_wsq("106_1.tif"), fvc_as_wsq("106_2.tif")) else {
        return;
    };
    let server = Server::start_full(1024 * 1024, |state| state).await;
    let enrolled = enroll(&server, &first).await;
    let person = subject_of(&server, &enrolled).await;
    let image = garita_finger::load_image(&second, None).unwrap();
    let template = garita_finger::extract(&image).unwrap();
    let view = garita_finger::ViewInfo {
        finger_position: 2,
        impression_type: 0,
    };
    let record = garita_finger::to_iso_19794_2(&template, view).unwrap();
    let payload = serde_json::to_vec(&json!({
        "subject": { "claimed_citizenship": "HND" },
        "samples": [
            { "modality": "finger", "position": 2, "format": "iso-19794-2", "blob": 0 },
            { "modality": "finger", "position": 3, "format": "jpeg", "blob": 1 }
        ]
    }))
    .unwrap();
    let jpeg: &[u8] = b"\xff\xd8\xff\xe0 not decoded by the matcher";
    let body = signed_capture(
        &server.bio,
        server.bio.next_seq(),
        PayloadType::Encounter,
        &payload,
        &[&record, jpeg],
    );
    let answer = server
        .call(Method::POST, "/api/v1/captures", None, Some(body))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    let answer = answer.body;
    assert!(
        alerted_subjects(&answer).contains(&(person, "prior-crossing".to_owned())),
        "{answer}"
    );
    let fingers = answer["fingers"].as_array().unwrap();
    let record_check = fingers.iter().find(|f| f["position"] == 2).unwrap();
    assert_eq!(record_check["searched"], true);
    assert_eq!(
        record_check["minutiae"].as_u64(),
        Some(template.minutiae.len() as u64)
    );
    let jpeg_check = fingers.iter().find(|f| f["position"] == 3).unwrap();
    assert_eq!(jpeg_check["searched"], false);
    assert!(
        jpeg_check["advice"]
            .as_str()
            .unwrap()
            .contains("send WSQ, PNG"),
        "{jpeg_check}"
    );
}
