//! Cargo NII through the API: a scanner sends a simulated dual-energy container scan (two DICOS DX objects) with
//! its manifest as one signed capture; the analysis runs on arrival, its findings and a risk lane with reasons
//! appear on the consignment, and an officer adds a finding and rejects one of the algorithm's.

use crate::harness::{Server, signed_capture};
use garita_model::PayloadType;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// Declares a consignment with no scan; returns its detail as an officer sees it.
async fn declare_without_scan(server: &Server, tag: &str) -> serde_json::Value {
    let plain = serde_json::to_vec(&crate::harness::consignment_payload(tag)).unwrap();
    let body = signed_capture(
        &server.nii,
        server.nii.next_seq(),
        PayloadType::Consignment,
        &plain,
        &[],
    );
    let answer = server
        .call(Method::POST, "/api/v1/captures", None, Some(body))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    let path = format!(
        "/api/v1/consignments/{}",
        answer.body["consignment_id"].as_str().unwrap()
    );
    server
        .call(Method::GET, &path, Some(&server.token("officer")), None)
        .await
        .body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scanned_consignment_gets_findings_and_a_lane() {
    let dir = tempfile::tempdir().unwrap();
    // Seed 5 plants concealments (a false wall and people) behind laptops.
    let scene = garita_nii::simulate(5, 1, dir.path()).unwrap().remove(0);
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
    let high = std::fs::read(&scene.high).unwrap();
    let low = std::fs::read(&scene.low).unwrap();
    let server = Server::start_full(32 * 1024 * 1024, |state| state).await;
    let body = signed_capture(
        &server.nii,
        server.nii.next_seq(),
        PayloadType::Consignment,
        &payload,
        &[&high, &low],
    );
    let answer = server
        .call(Method::POST, "/api/v1/captures", None, Some(body))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    let consignment_id = answer.body["consignment_id"].as_str().unwrap().to_owned();

    let officer = server.token("officer");
    let path = format!("/api/v1/consignments/{consignment_id}");
    let detail = server
        .call(Method::GET, &path, Some(&officer), None)
        .await
        .body;
    let findings = detail["findings"].as_array().unwrap().clone();
    assert!(
        !findings.is_empty(),
        "the planted concealments must raise findings: {detail}"
    );
    assert!(
        findings
            .iter()
            .all(|f| f["source"] == "algorithm" && !f["reason"].as_str().unwrap().is_empty())
    );
    assert!(detail["lane"].is_string(), "a lane is assigned: {detail}");
    assert!(
        !detail["lane_reasons"]["rules"]
            .as_array()
            .unwrap()
            .is_empty(),
        "the lane says why: {detail}"
    );
    assert_eq!(
        detail["lane"], "red",
        "image findings send the container to physical inspection: {detail}"
    );

    // An officer draws a finding of their own and rejects one of the algorithm's: both kept, apart.
    let added = server
        .call(
            Method::POST,
            &format!("{path}/findings"),
            Some(&officer),
            Some(json!({ "region": [300, 100, 80, 120], "kind": "void", "reason": "hollow under the floor" })),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{:?}", added.body);
    assert_eq!(added.body["source"], "officer");
    let first = findings[0]["id"].as_str().unwrap();
    let rejected = server
        .call(
            Method::POST,
            &format!("/api/v1/findings/{first}/reject"),
            Some(&officer),
            Some(json!({ "reason": "pallet gap" })),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{:?}", rejected.body);
    let after = rejected.body["findings"].as_array().unwrap().clone();
    assert_eq!(after.len(), findings.len() + 1);
    let marked = after.iter().find(|f| f["id"] == findings[0]["id"]).unwrap();
    assert_eq!(marked["rejection_reason"], "pallet gap");
    assert!(marked["rejected_by"].is_string());

    // A declaration without a scan still gets a lane, from the declaration alone.
    let detail = declare_without_scan(&server, "no scan").await;
    assert!(detail["findings"].as_array().unwrap().is_empty());
    assert!(detail["lane"].is_string());
}

/// The agency's lane rules are configuration: here every declaration is drawn for random control.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_lane_rules_apply() {
    let server = crate::harness::Server::start_configured(
        |config| {
            config.lane_rules.random_rate = 1.0;
            config.lane_rules.random_lane = garita_nii::Lane::Red;
            config.lane_rules.random_salt = "agency secret".into();
        },
        |state| state,
    )
    .await;
    let detail = declare_without_scan(&server, "random").await;
    assert_eq!(detail["lane"], "red", "{detail}");
    assert_eq!(detail["lane_reasons"]["random_selection"], true, "{detail}");
}
