//! A real server on 127.0.0.1:0 over a temporary data directory, with one logged-in user per role, a site, an
//! NII scanner and a biometric terminal, and helpers to build signed capture bodies.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use garita_model::{DeviceKey, Envelope, PayloadType, SignedEnvelope};
use garita_server::{AppState, ServerConfig};
use garita_store::testdb::TestDatabase;
use garita_store::{BlobStore, Page, Store};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use tempfile::TempDir;
use uuid::Uuid;

/// Largest body the test servers accept.
pub const MAX_BODY: usize = 256 * 1024;

/// Every role's wire name, in a fixed order.
pub const ROLES: [&str; 5] = ["officer", "supervisor", "analyst", "auditor", "admin"];

/// A registered device and its signing key.
pub struct TestDevice {
    pub id: Uuid,
    pub key: DeviceKey,
    next_seq: AtomicU64,
}

impl TestDevice {
    /// A device id with a fresh random key (registered or not: the caller decides).
    pub fn new_for_tests(id: Uuid) -> Self {
        TestDevice::with_key(id, DeviceKey::generate())
    }

    /// A device id with its key.
    pub fn with_key(id: Uuid, key: DeviceKey) -> Self {
        TestDevice {
            id,
            key,
            next_seq: AtomicU64::new(1),
        }
    }

    /// A sequence number not used before by this test device.
    pub fn next_seq(&self) -> u64 {
        self.next_seq.fetch_add(1, Ordering::SeqCst)
    }
}

/// A logged-in user.
pub struct TestUser {
    pub id: Uuid,
    pub username: String,
    pub password: String,
    pub token: String,
}

/// An answer: status, headers and the body parsed as JSON when it is JSON (else `Value::String`).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The `error` code of an error body.
    pub fn code(&self) -> &str {
        self.body["error"].as_str().unwrap_or("<no error code>")
    }
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// No Authorization header.
    Nobody,
    /// A well-formed bearer token the server never issued.
    Bogus,
    /// A logged-in user of this role (wire name).
    Role(&'static str),
}

pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub state: AppState,
    pub users: BTreeMap<&'static str, TestUser>,
    pub site_id: Uuid,
    pub nii: TestDevice,
    pub bio: TestDevice,
    task: tokio::task::JoinHandle<()>,
    /// The PostgreSQL database of this server when `GARITA_TEST_DATABASE` is set; dropped with the server.
    _database: Option<TestDatabase>,
    // Last: the directory outlives everything that uses it.
    pub dir: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A consignment payload with a valid container number and HS code; `tag` makes it unique.
pub fn consignment_payload(tag: &str) -> Value {
    json!({
        "container_number": "CSQU3054383",
        "conveyance": format!("MSC ANNA {tag}"),
        "declarant": "Acme Import SA",
        "origin": "ZAF",
        "lines": [{
            "hs_code": "843049",
            "description": "iron ore extractor",
            "declared_mass_kg": 12000.0,
            "quantity": 1,
            "value": 250000.0,
            "currency": "USD"
        }]
    })
}

/// An encounter payload with one face sample in blob 0.
pub fn encounter_payload(given_name: &str) -> Value {
    json!({
        "subject": { "claimed_citizenship": "GTM", "given_name": given_name, "family_name": "Pérez" },
        "samples": [{ "modality": "face", "format": "jpeg", "quality": 80, "blob": 0 }]
    })
}

/// The JSON body of `POST /api/v1/captures` for an already signed envelope.
pub fn capture_json(signed: &SignedEnvelope, payload: &[u8], blobs: &[&[u8]]) -> Value {
    json!({
        "envelope": signed.envelope,
        "signature": signed.signature,
        "payload": B64.encode(payload),
        "blobs": blobs.iter().map(|blob| B64.encode(blob)).collect::<Vec<_>>(),
    })
}

/// Signs `payload` and `blobs` as capture `seq` of `device` and returns the request body.
pub fn signed_capture(
    device: &TestDevice,
    seq: u64,
    payload_type: PayloadType,
    payload: &[u8],
    blobs: &[&[u8]],
) -> Value {
    let signed = Envelope::describe(
        device.id,
        seq,
        time::OffsetDateTime::now_utc(),
        payload_type,
        payload,
        blobs,
    )
    .sign(&device.key);
    capture_json(&signed, payload, blobs)
}

/// The store of a test server: SQLite in `dir`, or a fresh PostgreSQL database when `GARITA_TEST_DATABASE` names
/// a server (under `CI=true` it must).
pub async fn open_test_store(dir: &std::path::Path) -> (Store, Option<TestDatabase>) {
    match garita_store::testdb::test_server_url() {
        Some(server) => {
            let database = TestDatabase::create(&server).await.unwrap();
            let store = Store::open_with(dir, Some(database.url())).await.unwrap();
            (store, Some(database))
        }
        None => (Store::open(dir).await.unwrap(), None),
    }
}

impl Server {
    /// Starts a server with the default test configuration (agency country MEX, 256 KiB bodies).
    pub async fn start() -> Server {
        Server::start_with(|state| state).await
    }

    /// Starts a server, letting the caller adjust the state (e.g. its clock) before it serves.
    pub async fn start_with(adjust: impl FnOnce(AppState) -> AppState) -> Server {
        Server::start_full(MAX_BODY, adjust).await
    }

    /// Starts a server accepting bodies up to `max_body` bytes.
    pub async fn start_full(max_body: usize, adjust: impl FnOnce(AppState) -> AppState) -> Server {
        Server::start_configured(|config| config.max_body_bytes = max_body, adjust).await
    }

    /// Starts a server after `configure` changed the test configuration (e.g. retention rules).
    pub async fn start_configured(
        configure: impl FnOnce(&mut ServerConfig),
        adjust: impl FnOnce(AppState) -> AppState,
    ) -> Server {
        Server::start_on(None, configure, adjust).await
    }

    /// Starts a server whose blobs live in `blobs` (e.g. an S3 bucket) instead of the data directory.
    pub async fn start_with_blobs(blobs: BlobStore) -> Server {
        Server::start_on(Some(blobs), |_| {}, |state| state).await
    }

    async fn start_on(
        blobs: Option<BlobStore>,
        configure: impl FnOnce(&mut ServerConfig),
        adjust: impl FnOnce(AppState) -> AppState,
    ) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, database) = open_test_store(dir.path()).await;
        if let Some(blobs) = blobs {
            store = store.with_blobs(blobs);
        }
        let mut config = ServerConfig {
            country: Some(garita_model::CountryCode::new("MEX").unwrap()),
            max_body_bytes: MAX_BODY,
            integrate_every: std::time::Duration::from_millis(50),
            ..ServerConfig::default()
        };
        configure(&mut config);
        let boot = garita_server::bootstrap(&store, &config, time::OffsetDateTime::now_utc())
            .await
            .unwrap();
        let admin_password = boot.admin_password.expect("a fresh store gets an admin");
        let state = adjust(AppState::new(store.clone(), config).unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let serve_state = state.clone();
        let task = tokio::spawn(async move {
            garita_server::serve(serve_state, "127.0.0.1:0".parse().unwrap(), move |addr| {
                let _ = tx.send(addr);
            })
            .await
            .unwrap();
        });
        let addr = rx.await.unwrap();
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .unwrap();
        let mut server = Server {
            base: format!("http://{addr}"),
            client,
            store,
            state,
            users: BTreeMap::new(),
            site_id: Uuid::nil(),
            nii: TestDevice {
                id: Uuid::nil(),
                key: DeviceKey::generate(),
                next_seq: AtomicU64::new(1),
            },
            bio: TestDevice {
                id: Uuid::nil(),
                key: DeviceKey::generate(),
                next_seq: AtomicU64::new(1),
            },
            task,
            _database: database,
            dir,
        };
        let admin_token = server.login("admin", &admin_password).await;
        let me = server
            .call(Method::GET, "/api/v1/me", Some(&admin_token), None)
            .await;
        assert_eq!(me.status, StatusCode::OK, "{me:?}");
        server.users.insert(
            "admin",
            TestUser {
                id: me.body["id"].as_str().unwrap().parse().unwrap(),
                username: "admin".into(),
                password: admin_password,
                token: admin_token.clone(),
            },
        );
        for role in ROLES.into_iter().filter(|role| *role != "admin") {
            let username = format!("{role}1");
            let password = format!("{role}-password-long-enough");
            let created = server
                .call(
                    Method::POST,
                    "/api/v1/users",
                    Some(&admin_token),
                    Some(json!({ "username": username, "role": role, "password": password })),
                )
                .await;
            assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
            assert_eq!(created.body["role"], role);
            let token = server.login(&username, &password).await;
            server.users.insert(
                role,
                TestUser {
                    id: created.body["id"].as_str().unwrap().parse().unwrap(),
                    username,
                    password,
                    token,
                },
            );
        }
        let site = server
            .call(
                Method::POST,
                "/api/v1/sites",
                Some(&admin_token),
                Some(json!({ "name": "Manzanillo port", "kind": "port" })),
            )
            .await;
        assert_eq!(site.status, StatusCode::CREATED, "{site:?}");
        server.site_id = site.body["id"].as_str().unwrap().parse().unwrap();
        server.nii.id = server
            .register_device("nii-scanner", &server.nii.key.public_key_b64())
            .await;
        server.bio.id = server
            .register_device("biometric-terminal", &server.bio.key.public_key_b64())
            .await;
        server
    }

    /// Registers a device key at the test site as admin; returns its id.
    pub async fn register_device(&self, kind: &str, public_key: &str) -> Uuid {
        let device = self
            .call(
                Method::POST,
                "/api/v1/devices",
                Some(&self.token("admin")),
                Some(json!({ "site": self.site_id.to_string(), "kind": kind, "public_key": public_key })),
            )
            .await;
        assert_eq!(device.status, StatusCode::CREATED, "{device:?}");
        assert_eq!(device.body["status"], "active");
        device.body["id"].as_str().unwrap().parse().unwrap()
    }

    /// Logs in and returns the token.
    pub async fn login(&self, username: &str, password: &str) -> String {
        let answer = self
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({ "username": username, "password": password })),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "login {username}: {answer:?}"
        );
        answer.body["token"].as_str().unwrap().to_owned()
    }

    /// The token of the test user with `role`.
    pub fn token(&self, role: &str) -> String {
        self.users[role].token.clone()
    }

    /// The Authorization token a principal sends, if any.
    pub fn token_of(&self, principal: Principal) -> Option<String> {
        match principal {
            Principal::Nobody => None,
            Principal::Bogus => Some("bm90LWEtcmVhbC10b2tlbi1hdC1hbGwtbm90LWF0LWFsbA".into()),
            Principal::Role(role) => Some(self.token(role)),
        }
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::answer_of(request.send().await.unwrap()).await
    }

    /// Sends raw bytes with an optional content type.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(content_type) = content_type {
            request = request.header(reqwest::header::CONTENT_TYPE, content_type);
        }
        Self::answer_of(request.send().await.unwrap()).await
    }

    /// Sends a request signed by a device (the `Garita-Device` header, docs/terminal.md) with optional extra
    /// headers and a raw body; `unix` overrides the time signed (for skew tests).
    pub async fn device_call(
        &self,
        device: &TestDevice,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Answer {
        let unix = time::OffsetDateTime::now_utc().unix_timestamp();
        self.device_call_at(device, unix, method, path, headers, body)
            .await
    }

    /// As [`Server::device_call`], signing the given unix time.
    pub async fn device_call_at(
        &self,
        device: &TestDevice,
        unix: i64,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Answer {
        let signature = device
            .key
            .sign_request(device.id, method.as_str(), path, unix);
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("Garita-Device", signature)
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        Self::answer_of(request.send().await.unwrap()).await
    }

    /// Starts an upload of a fresh consignment from the NII scanner and sends all its bytes; returns the upload
    /// id and the signed capture body.
    pub async fn uploaded_consignment(&self, tag: &str) -> (String, Value) {
        let payload = consignment_payload(tag).to_string();
        let body = signed_capture(
            &self.nii,
            self.nii.next_seq(),
            PayloadType::Consignment,
            payload.as_bytes(),
            &[],
        );
        let start = self
            .call(
                Method::POST,
                "/api/v1/uploads",
                None,
                Some(json!({ "envelope": body["envelope"], "signature": body["signature"] })),
            )
            .await;
        assert_eq!(start.status, StatusCode::CREATED, "{start:?}");
        let id = start.body["upload_id"].as_str().unwrap().to_owned();
        let put = self
            .device_call(
                &self.nii,
                Method::PUT,
                &format!("/api/v1/uploads/{id}"),
                &[("Upload-Offset", "0".into())],
                payload.into_bytes(),
            )
            .await;
        assert_eq!(put.status, StatusCode::OK, "{put:?}");
        (id, body)
    }

    /// Reads a response into an [`Answer`].
    pub async fn answer_of(response: reqwest::Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Submits a capture body (no bearer token: devices authenticate by signature).
    pub async fn submit(&self, body: &Value) -> Answer {
        self.call(Method::POST, "/api/v1/captures", None, Some(body.clone()))
            .await
    }

    /// Submits a fresh consignment capture from the NII scanner and returns its receipt.
    pub async fn new_consignment(&self, tag: &str) -> Value {
        let payload = consignment_payload(tag).to_string();
        let body = signed_capture(
            &self.nii,
            self.nii.next_seq(),
            PayloadType::Consignment,
            payload.as_bytes(),
            &[],
        );
        let answer = self.submit(&body).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
        answer.body
    }

    /// Submits a fresh encounter capture from the biometric terminal and returns its receipt.
    pub async fn new_encounter(&self, given_name: &str, image: &[u8]) -> Value {
        let payload = encounter_payload(given_name).to_string();
        let body = signed_capture(
            &self.bio,
            self.bio.next_seq(),
            PayloadType::Encounter,
            payload.as_bytes(),
            &[image],
        );
        let answer = self.submit(&body).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
        answer.body
    }

    /// Every audit row, read through the API as the auditor (all pages), optionally for one actor.
    pub async fn audit_rows(&self, actor: Option<Uuid>) -> Vec<Value> {
        let mut rows = Vec::new();
        let mut offset = 0u64;
        for _ in 0..100 {
            let mut path = format!("/api/v1/audit?limit=500&offset={offset}");
            if let Some(actor) = actor {
                path.push_str(&format!("&actor={actor}"));
            }
            let page = self
                .call(Method::GET, &path, Some(&self.token("auditor")), None)
                .await;
            assert_eq!(page.status, StatusCode::OK, "{page:?}");
            rows.extend(page.body["items"].as_array().unwrap().iter().cloned());
            match page.body["next_offset"].as_u64() {
                Some(next) => offset = next,
                None => return rows,
            }
        }
        panic!("audit trail longer than 100 pages");
    }

    /// Counts of everything a request could write, read straight from the store and the data directory.
    pub async fn snapshot(&self) -> Snapshot {
        let all = Page {
            limit: Page::MAX_LIMIT,
            offset: 0,
        };
        let consignments = self.store.list_consignments(None, all).await.unwrap().items;
        let mut decisions = 0;
        for consignment in &consignments {
            let detail = self
                .store
                .consignment(consignment.id)
                .await
                .unwrap()
                .unwrap();
            decisions += detail.decisions.len() + detail.seizures.len();
        }
        let devices = self.store.list_devices(all).await.unwrap().items;
        let alerts = self.store.list_alerts(None, all).await.unwrap().items;
        Snapshot {
            users: self.store.count_users().await.unwrap(),
            sites: self.store.list_sites(all).await.unwrap().items.len(),
            devices: devices
                .iter()
                .map(|device| format!("{}:{}", device.id, device.status))
                .collect(),
            captures: self.store.count_captures().await.unwrap(),
            consignments: consignments.len(),
            decisions_and_seizures: decisions,
            subjects: self.store.list_subjects(all).await.unwrap().items.len(),
            watchlist: self.store.list_watchlist(all).await.unwrap().items.len(),
            alerts: alerts
                .iter()
                .map(|alert| format!("{}:{}", alert.id, alert.status))
                .collect(),
            blobs: count_files(&self.dir.path().join("blobs")),
        }
    }

    /// Audit rows and ledger entries, which some refused requests write on purpose.
    pub async fn trail(&self) -> (i64, u64) {
        (
            self.store.count_audit().await.unwrap(),
            self.state.ledger.durable_size().await.unwrap(),
        )
    }
}

/// What a refused request must leave unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub users: i64,
    pub sites: usize,
    pub devices: Vec<String>,
    pub captures: i64,
    pub consignments: usize,
    pub decisions_and_seizures: usize,
    pub subjects: usize,
    pub watchlist: usize,
    pub alerts: Vec<String>,
    pub blobs: usize,
}

fn count_files(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| {
            let path = entry.path();
            if path.is_dir() { count_files(&path) } else { 1 }
        })
        .sum()
}

/// A PostgreSQL database of its own for a test (dropped with the value, pass or fail), on the server named by
/// `GARITA_TEST_DATABASE`; `None` with a message when that is unset, except under `CI=true`, where it fails.
pub async fn test_database() -> Option<garita_store::testdb::TestDatabase> {
    let Some(server) = garita_store::testdb::test_server_url() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but GARITA_TEST_DATABASE is unset: .ci/run starts PostgreSQL"
        );
        eprintln!(
            "skipping: GARITA_TEST_DATABASE is not set (eval \"$(bash scripts/postgres.sh env)\")"
        );
        return None;
    };
    Some(
        garita_store::testdb::TestDatabase::create(&server)
            .await
            .unwrap(),
    )
}
