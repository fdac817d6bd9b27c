//! 1:N on enrollment, end to end: a watchlisted person's second impression raises an alert of the watchlist's
//! category in the capture response; an earlier enrollment of someone not listed raises prior-crossing; a
//! different finger raises nothing against them. Real FVC2000 impressions, sent as WSQ like a terminal would.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use garita_model::{DeviceKey, Envelope, PayloadType};
use garita_server::{AppState, ServerConfig};
use serde_json::{Value, json};
use std::path::Path;
use uuid::Uuid;

fn fvc_as_wsq(name: &str) -> Option<Vec<u8>> {
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

struct Site {
    base: String,
    client: reqwest::Client,
    key: DeviceKey,
    device_id: Uuid,
    seq: u64,
    analyst: String,
    _dir: tempfile::TempDir,
}

impl Site {
    async fn start() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let store = garita_store::Store::open(dir.path()).await.unwrap();
        let config = ServerConfig::default();
        let boot = garita_server::bootstrap(&store, &config, time::OffsetDateTime::now_utc())
            .await
            .unwrap();
        let state = AppState::new(store, config).unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            garita_server::serve(state, "127.0.0.1:0".parse().unwrap(), |addr| {
                tx.send(addr).unwrap()
            })
            .await
            .unwrap();
        });
        let base = format!("http://{}", rx.await.unwrap());
        let client = reqwest::Client::new();
        let admin = login(&client, &base, "admin", &boot.admin_password.unwrap()).await;
        let post = |path: &str, body: Value| {
            client
                .post(format!("{base}{path}"))
                .bearer_auth(&admin)
                .json(&body)
                .send()
        };
        post(
            "/api/v1/sites",
            json!({ "name": "Tapachula", "kind": "detention-facility" }),
        )
        .await
        .unwrap();
        let key = DeviceKey::generate();
        let device: Value = post(
            "/api/v1/devices",
            json!({ "site": "Tapachula", "kind": "biometric-terminal", "public_key": key.public_key_b64() }),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        post(
            "/api/v1/users",
            json!({ "username": "ana", "role": "analyst", "password": "analyst password 1" }),
        )
        .await
        .unwrap();
        let analyst = login(&client, &base, "ana", "analyst password 1").await;
        Site {
            base,
            client,
            key,
            device_id: device["id"].as_str().unwrap().parse().unwrap(),
            seq: 0,
            analyst,
            _dir: dir,
        }
    }

    /// Enrolls one right-index (position 2) WSQ impression; returns the capture response.
    async fn enroll(&mut self, wsq: &[u8]) -> Value {
        self.seq += 1;
        let payload = serde_json::to_vec(&json!({
            "subject": { "claimed_citizenship": "HND" },
            "samples": [{ "modality": "finger", "position": 2, "format": "wsq", "blob": 0 }]
        }))
        .unwrap();
        let signed = Envelope::describe(
            self.device_id,
            self.seq,
            time::OffsetDateTime::now_utc(),
            PayloadType::Encounter,
            &payload,
            &[wsq],
        )
        .sign(&self.key);
        let response = self
            .client
            .post(format!("{}/api/v1/captures", self.base))
            .json(
                &json!({ "envelope": signed.envelope, "signature": signed.signature,
                           "payload": B64.encode(&payload), "blobs": [B64.encode(wsq)] }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json().await.unwrap()
    }

    async fn subject_of(&self, encounter_id: &str) -> String {
        let detail: Value = self
            .client
            .get(format!("{}/api/v1/encounters/{encounter_id}", self.base))
            .bearer_auth(&self.analyst)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        detail["subject_id"].as_str().unwrap().to_owned()
    }
}

async fn login(client: &reqwest::Client, base: &str, username: &str, password: &str) -> String {
    let body: Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["token"].as_str().unwrap().to_owned()
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
    let mut site = Site::start().await;

    let first = site.enroll(&a1).await;
    assert!(
        alerted_subjects(&first).is_empty(),
        "an empty gallery raises nothing: {first}"
    );
    let person_a = site
        .subject_of(first["encounter_id"].as_str().unwrap())
        .await;
    let listed = site
        .client
        .post(format!("{}/api/v1/watchlist", site.base))
        .bearer_auth(&site.analyst)
        .json(&json!({ "subject_id": person_a, "category": "gang-member", "source_agency": "INM", "reason": "test listing" }))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 201);

    // The same finger, another impression: an alert of the watchlist's category against person A.
    let second = site.enroll(&a2).await;
    let hits = alerted_subjects(&second);
    assert!(
        hits.contains(&(person_a.clone(), "gang-member".to_owned())),
        "expected a gang-member alert on A: {second}"
    );
    assert!(second["alerts"][0]["score"].as_f64().unwrap() > 0.0);

    // A different finger: no alert against A.
    let other = site.enroll(&b1).await;
    assert!(
        !alerted_subjects(&other)
            .iter()
            .any(|(subject, _)| *subject == person_a),
        "false alert: {other}"
    );

    // Someone not listed, enrolled twice: prior-crossing.
    let c_first = site.enroll(&c1).await;
    let person_c = site
        .subject_of(c_first["encounter_id"].as_str().unwrap())
        .await;
    let c_second = site.enroll(&c2).await;
    assert!(
        alerted_subjects(&c_second).contains(&(person_c, "prior-crossing".to_owned())),
        "expected prior-crossing: {c_second}"
    );

    // The alert is in the queue for officers too.
    let queue: Value = site
        .client
        .get(format!("{}/api/v1/alerts?status=open", site.base))
        .bearer_auth(&site.analyst)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(queue["items"].as_array().unwrap().len() >= 2);
}
