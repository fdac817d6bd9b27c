#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Three `garita serve --cluster` processes on 127.0.0.1 sharing one PostgreSQL database and one blob directory
//! (issue #11 item 5): two devices enroll fingerprints and send consignments round-robin over the nodes; in the
//! middle of the load the node that leads the ledger is SIGKILLed and the clients carry on against the others,
//! re-sending what got no answer (the server is idempotent on device + sequence). Then the killed node is started
//! again, and the test checks:
//!
//! - no acknowledged capture is lost: every one has its rows (read through a survivor) and a ledger receipt from
//!   the published checkpoint, and none is stored twice;
//! - the log is consistent: `garita verify --full` recomputes the whole tree from the tiles served by each node,
//!   and the checkpoint seen before the kill is proved consistent with the final one;
//! - searches are complete after recovery: no search is left pending, and a print enrolled after recovery finds
//!   the same finger enrolled during the load, with `search.complete` true.
//!
//! The nodes share a blob directory, or the S3 server of `scripts/s3-test.sh` when `GARITA_TEST_S3_URL` is set.
//! Needs PostgreSQL (`GARITA_TEST_DATABASE`, e.g. from `scripts/postgres.sh env`); skips with a message without it,
//! except under `CI=true`, where it fails. Bounded: 60 captures, every wait has a deadline.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use garita_model::{DeviceKey, Envelope, PayloadType};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_garita");
const SECRET: &str = "cluster test secret, not for deployment";
const PASSWORD: &str = "analyst password for the cluster test";
const FVC: &str = "../shared/data/fingerprints/FVC2000_DB1_B";

/// A child process killed (SIGKILL) when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn garita(dir: &Path, args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("GARITA_DATA")
        .env_remove("GARITA_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        writeln!(child.stdin.take().unwrap(), "{text}").unwrap();
    }
    drop(child.stdin.take());
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "garita {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn fvc_wsq(name: &str) -> Vec<u8> {
    let bytes = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(FVC).join(name)).unwrap();
    let image = garita_finger::load_image(&bytes, Some(500)).unwrap();
    let gray =
        garita_wsq::GrayImage::new(image.width(), image.height(), image.pixels().to_vec()).unwrap();
    let options = garita_wsq::EncodeOptions {
        ppi: Some(500),
        ..Default::default()
    };
    garita_wsq::encode(&gray, &options).unwrap()
}

/// One cluster node: its data directory, port and (while running) its process.
struct Node {
    data: PathBuf,
    port: u16,
    proc: Option<Proc>,
}

struct Cluster {
    dir: tempfile::TempDir,
    database: String,
    blobs: String,
    /// Extra `serve` arguments of every node.
    serve_args: Vec<String>,
    nodes: Vec<Node>,
    http: reqwest::blocking::Client,
}

impl Cluster {
    fn url(&self, node: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[node].port)
    }

    fn start(&mut self, node: usize) {
        let data = self.nodes[node].data.to_str().unwrap().to_owned();
        let listen = format!("127.0.0.1:{}", self.nodes[node].port);
        let log = std::fs::File::create(self.dir.path().join(format!("node{node}.log"))).unwrap();
        let child = Command::new(BIN)
            .args(["serve", "--data", &data, "--listen", &listen, "--cluster"])
            .args(["--database", &self.database])
            .args(["--blobs", &self.blobs])
            .args(&self.serve_args)
            .current_dir(self.dir.path())
            .env_remove("GARITA_DATA")
            .env_remove("GARITA_CONFIG")
            .env("GARITA_CLUSTER_SECRET", SECRET)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.nodes[node].proc = Some(Proc(child));
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(answer) = self.http.get(format!("{}/healthz", self.url(node))).send()
                && answer.status().is_success()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("node {node} did not start: {}", self.log(node));
    }

    fn log(&self, node: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("node{node}.log"))).unwrap_or_default()
    }

    fn kill(&mut self, node: usize) {
        // Drop sends SIGKILL: no clean leave, no final publish.
        self.nodes[node].proc = None;
    }

    fn health(&self, node: usize) -> Option<Value> {
        self.http
            .get(format!("{}/healthz", self.url(node)))
            .send()
            .ok()?
            .json()
            .ok()
    }

    /// The running node that leads the ledger (waits for one).
    fn leader(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            for node in 0..self.nodes.len() {
                if self.nodes[node].proc.is_some()
                    && self
                        .health(node)
                        .is_some_and(|h| h["ledger_leader"] == true)
                {
                    return node;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no node leads the ledger");
    }

    fn login(&self, node: usize) -> String {
        let answer: Value = self
            .http
            .post(format!("{}/api/v1/auth/login", self.url(node)))
            .json(&json!({ "username": "analyst", "password": PASSWORD }))
            .send()
            .unwrap()
            .json()
            .unwrap();
        answer["token"].as_str().unwrap().to_owned()
    }

    fn get(&self, node: usize, token: &str, path: &str) -> reqwest::blocking::Response {
        self.http
            .get(format!("{}{path}", self.url(node)))
            .bearer_auth(token)
            .send()
            .unwrap()
    }
}

struct Device {
    id: Uuid,
    key: DeviceKey,
}

/// A signed capture body.
fn capture(
    device: &Device,
    seq: u64,
    kind: PayloadType,
    payload: &Value,
    blobs: &[&[u8]],
) -> Value {
    let payload = serde_json::to_vec(payload).unwrap();
    let signed = Envelope::describe(
        device.id,
        seq,
        time::OffsetDateTime::now_utc(),
        kind,
        &payload,
        blobs,
    )
    .sign(&device.key);
    json!({
        "envelope": signed.envelope,
        "signature": signed.signature,
        "payload": B64.encode(&payload),
        "blobs": blobs.iter().map(|blob| B64.encode(blob)).collect::<Vec<_>>(),
    })
}

fn encounter(wsq: &[u8], device: &Device, seq: u64) -> Value {
    let payload = json!({
        "subject": { "claimed_citizenship": "HND" },
        "samples": [{ "modality": "finger", "position": 2, "format": "wsq", "blob": 0 }]
    });
    capture(device, seq, PayloadType::Encounter, &payload, &[wsq])
}

fn consignment(device: &Device, seq: u64) -> Value {
    let payload = json!({
        "container_number": "CSQU3054383",
        "conveyance": format!("MSC ANNA {seq}"),
        "declarant": "Acme Import SA",
        "origin": "ZAF",
        "lines": [{ "hs_code": "843049", "description": "iron ore extractor", "declared_mass_kg": 12000.0,
                    "quantity": 1, "value": 250000.0, "currency": "USD" }]
    });
    capture(device, seq, PayloadType::Consignment, &payload, &[])
}

/// What a client got back for one capture.
#[derive(Debug, Clone)]
struct Ack {
    capture_id: String,
    leaf_index: u64,
    encounter_id: Option<String>,
}

/// Sends `body` to the nodes in turn from `first`, skipping dead ones, until one acknowledges it (201, or 200
/// for a replay of a capture a killed node stored but never answered). Returns the answer and the resends.
fn send(cluster: &Mutex<Vec<String>>, first: usize, body: &Value) -> (Value, u32) {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut resends = 0;
    let mut node = first;
    loop {
        let url = {
            let urls = cluster.lock().unwrap();
            format!("{}/api/v1/captures", urls[node % urls.len()])
        };
        match http.post(&url).json(body).send() {
            Ok(answer) if answer.status().as_u16() == 201 || answer.status().as_u16() == 200 => {
                return (answer.json().unwrap(), resends);
            }
            Ok(answer) if answer.status().is_client_error() => {
                panic!(
                    "{url} refused a capture: {} {:?}",
                    answer.status(),
                    answer.text()
                );
            }
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "no node acknowledged a capture in 90 s"
        );
        resends += 1;
        node += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn ack_of(answer: &Value) -> Ack {
    Ack {
        capture_id: answer["capture_id"].as_str().unwrap().to_owned(),
        leaf_index: answer["leaf_index"].as_u64().unwrap(),
        encounter_id: answer["encounter_id"].as_str().map(str::to_owned),
    }
}

/// A fresh database with the agency, a site, an analyst, four fingerprint kits and two cargo scanners; `nodes` nodes started, node 0 first
/// (it creates the log and sharing keys, which the others get copies of, as docs/deploy.md says).
struct Setup {
    cluster: Cluster,
    devices: Vec<Device>,
    vkey: String,
    database: garita_store::testdb::TestDatabase,
    home: PathBuf,
}

fn setup(runtime: &tokio::runtime::Runtime, server: &str, nodes: usize) -> Setup {
    let database = runtime
        .block_on(garita_store::testdb::TestDatabase::create(server))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The blob store every node shares: the opt-in S3 server of scripts/s3-test.sh when it runs (a fresh prefix
    // per run; the AWS_* settings reach the nodes through the environment), else a shared directory.
    let blobs = match std::env::var("GARITA_TEST_S3_URL") {
        Ok(url) if !url.is_empty() => format!("{url}/cluster-{}", Uuid::new_v4().simple()),
        _ => dir.path().join("shared-blobs").to_str().unwrap().to_owned(),
    };
    let mut cluster = Cluster {
        database: database.url().to_owned(),
        blobs,
        serve_args: Vec::new(),
        nodes: (0..nodes)
            .map(|n| Node {
                data: dir.path().join(format!("node{n}")),
                port: free_port(),
                proc: None,
            })
            .collect(),
        http: reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .pool_max_idle_per_host(0)
            .build()
            .unwrap(),
        dir,
    };

    // The agency, a site, two devices and an analyst, in the shared database.
    let home = cluster.dir.path().to_owned();
    let first = cluster.nodes[0].data.to_str().unwrap().to_owned();
    let db = cluster.database.clone();
    let admin = |args: &[&str], stdin: Option<&str>| {
        let mut all = vec!["admin", args[0], "--data", &first, "--database", &db];
        all.extend_from_slice(&args[1..]);
        garita(&home, &all, stdin)
    };
    admin(&["init", "--country", "MEX"], None);
    admin(
        &["add-site", "--name", "El Ceibo", "--kind", "land-crossing"],
        None,
    );
    admin(
        &[
            "create-user",
            "--username",
            "analyst",
            "--role",
            "analyst",
            "--password-stdin",
        ],
        Some(PASSWORD),
    );
    // Fingerprint kits (devices 0..4) and cargo scanners (devices 4, 5).
    let devices: Vec<Device> = (0..6)
        .map(|n| {
            let key_file = home.join(format!("device{n}.key"));
            let public = garita(
                &home,
                &["device", "keygen", "--out", key_file.to_str().unwrap()],
                None,
            );
            let id = admin(
                &[
                    "add-device",
                    "--site",
                    "El Ceibo",
                    "--kind",
                    if n < 4 { "mobile-kit" } else { "nii-scanner" },
                    "--public-key",
                    &public,
                ],
                None,
            );
            Device {
                id: id.parse().unwrap(),
                key: DeviceKey::from_file_text(&std::fs::read_to_string(&key_file).unwrap())
                    .unwrap(),
            }
        })
        .collect();

    // Node 0 creates the log key and the sharing key; the others get copies, as docs/deploy.md says.
    cluster.start(0);
    for node in 1..nodes {
        let data = &cluster.nodes[node].data;
        std::fs::create_dir_all(data.join("ledger")).unwrap();
        for file in ["ledger/ledger.key", "share.key"] {
            std::fs::copy(cluster.nodes[0].data.join(file), data.join(file)).unwrap();
        }
    }
    for node in 1..nodes {
        cluster.start(node);
    }
    let vkey = garita(&home, &["ledger", "key", "--data", &first], None);

    Setup {
        cluster,
        devices,
        vkey,
        database,
        home,
    }
}

/// The PostgreSQL server for these tests, or `None` (skip) outside CI.
fn pg_server() -> Option<String> {
    let server = garita_store::testdb::test_server_url();
    if server.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but GARITA_TEST_DATABASE is unset: .ci/run starts PostgreSQL"
        );
        eprintln!(
            "skipping: GARITA_TEST_DATABASE is unset (eval \"$(bash scripts/postgres.sh env)\")"
        );
    }
    if !Path::new(env!("CARGO_MANIFEST_DIR")).join(FVC).is_dir() {
        eprintln!("skipping: {FVC} is absent");
        return None;
    }
    server
}

#[test]
fn a_cluster_keeps_the_shard_count_it_was_created_with() {
    let Some(server) = pg_server() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Setup {
        mut cluster,
        database,
        ..
    } = setup(&runtime, &server, 1);
    // setup() started node 0 without the flag: the cluster was created with the default 64 shards.
    let data = cluster.dir.path().join("late");
    std::fs::create_dir_all(data.join("ledger")).unwrap();
    for file in ["ledger/ledger.key", "share.key"] {
        std::fs::copy(cluster.nodes[0].data.join(file), data.join(file)).unwrap();
    }
    let late = Command::new(BIN)
        .args(["serve", "--data", data.to_str().unwrap(), "--cluster"])
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .args(["--database", &cluster.database, "--blobs", &cluster.blobs])
        .args(["--cluster-shards", "16"])
        .current_dir(cluster.dir.path())
        .env_remove("GARITA_DATA")
        .env_remove("GARITA_CONFIG")
        .env("GARITA_CLUSTER_SECRET", SECRET)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut late = Proc(late);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = late.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "a mismatched --cluster-shards was not refused"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut late.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(
        stderr.contains("--cluster-shards 16") && stderr.contains("created with 64 shards"),
        "{stderr}"
    );
    // The first node is unaffected.
    assert!(cluster.health(0).is_some());
    cluster.kill(0);
    drop(database);
}

#[test]
fn three_nodes_survive_a_sigkill_of_the_ledger_leader_under_load() {
    let Some(server) = pg_server() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Setup {
        mut cluster,
        devices,
        vkey,
        database,
        home,
    } = setup(&runtime, &server, 3);

    // The load: fingers 101..110, impressions 1 and 2, and consignments, from two devices over all nodes.
    let fingers: Vec<(String, Vec<u8>)> = (101..=110)
        .flat_map(|finger| (1..=2).map(move |imp| format!("{finger}_{imp}.tif")))
        .map(|name| {
            let wsq = fvc_wsq(&name);
            (name, wsq)
        })
        .collect();
    let urls = Mutex::new((0..3).map(|n| cluster.url(n)).collect::<Vec<_>>());
    let acks: Mutex<Vec<(String, Ack)>> = Mutex::new(Vec::new());
    let resends = Mutex::new(0u32);
    let killed = Mutex::new(None::<usize>);
    let before_kill = home.join("before-kill.state");
    // Per device: 10 encounters, 5 consignments among them, 10 consignments after: 50 captures in all.
    let planned = 50;
    std::thread::scope(|scope| {
        for d in 0..2 {
            let (kit, scanner) = (&devices[d], &devices[d + 4]);
            let (fingers, urls, acks, resends) = (&fingers, &urls, &acks, &resends);
            scope.spawn(move || {
                let (mut kit_seq, mut scanner_seq) = (0, 0);
                let mut sent = 0;
                let mut deliver = |name: &str, body: Value| {
                    sent += 1;
                    let (answer, n) = send(urls, d + sent, &body);
                    *resends.lock().unwrap() += n;
                    acks.lock()
                        .unwrap()
                        .push((name.to_owned(), ack_of(&answer)));
                };
                for (i, (name, wsq)) in fingers.iter().enumerate().filter(|(i, _)| i % 2 == d) {
                    kit_seq += 1;
                    deliver(name, encounter(wsq, kit, kit_seq));
                    if i % 4 < 2 {
                        scanner_seq += 1;
                        deliver("consignment", consignment(scanner, scanner_seq));
                    }
                }
                for _ in 0..10 {
                    scanner_seq += 1;
                    deliver("consignment", consignment(scanner, scanner_seq));
                }
            });
        }
        // Once a third of the load is acknowledged: remember the checkpoint, then SIGKILL the leader.
        let deadline = Instant::now() + Duration::from_secs(120);
        while acks.lock().unwrap().len() < 15 {
            assert!(Instant::now() < deadline, "the load did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        let leader = cluster.leader();
        garita(
            &home,
            &[
                "verify",
                "--log",
                &cluster.url(leader),
                "--key",
                &vkey,
                "--state",
                before_kill.to_str().unwrap(),
            ],
            None,
        );
        cluster.kill(leader);
        *killed.lock().unwrap() = Some(leader);
    });
    let killed = killed.into_inner().unwrap().unwrap();
    let acks = acks.into_inner().unwrap();
    let resends = resends.into_inner().unwrap();
    eprintln!(
        "cluster: {} captures acknowledged ({planned} planned), {resends} resends, node {killed} (the ledger leader) SIGKILLed",
        acks.len()
    );
    assert_eq!(acks.len(), planned, "every capture sent is acknowledged");

    // A new leader takes over; the killed node comes back with the same data directory and node id.
    let new_leader = cluster.leader();
    assert_ne!(new_leader, killed);
    cluster.start(killed);

    // Nothing acknowledged is lost or doubled: every capture has its receipt, from every node in turn.
    let token = cluster.login((killed + 1) % 3);
    let mut leaves = std::collections::BTreeSet::new();
    for (n, (name, ack)) in acks.iter().enumerate() {
        assert!(
            leaves.insert(ack.leaf_index),
            "two captures share leaf {}",
            ack.leaf_index
        );
        let node = n % 3;
        let token = if node == (killed + 1) % 3 {
            token.clone()
        } else {
            cluster.login(node)
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let answer = cluster.get(
                node,
                &token,
                &format!("/api/v1/records/{}/proof", ack.capture_id),
            );
            if answer.status().is_success() {
                break;
            }
            assert!(
                answer.status().as_u16() == 425 && Instant::now() < deadline,
                "{name} ({}) at node {node}: {}",
                ack.capture_id,
                answer.status()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        if let Some(encounter) = &ack.encounter_id {
            let answer = cluster.get(node, &token, &format!("/api/v1/encounters/{encounter}"));
            assert!(
                answer.status().is_success(),
                "{name}: encounter {encounter} lost"
            );
        }
    }
    let page: Value = cluster
        .get(0, &cluster.login(0), "/api/v1/encounters?limit=500")
        .json()
        .unwrap();
    let stored = page["items"].as_array().unwrap().len();
    let enrolled = acks
        .iter()
        .filter(|(_, ack)| ack.encounter_id.is_some())
        .count();
    assert_eq!(stored, enrolled, "encounters stored vs acknowledged");

    // The log is consistent: each node's tiles recompute to its checkpoint, and the checkpoint seen before the
    // kill is consistent with what the survivors and the restarted node publish now.
    for node in 0..3 {
        garita(
            &home,
            &[
                "verify",
                "--log",
                &cluster.url(node),
                "--key",
                &vkey,
                "--state",
                before_kill.to_str().unwrap(),
                "--full",
            ],
            None,
        );
    }

    // Searches are complete after recovery: nothing pending, and a print enrolled now finds the same finger.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pending: i64 = runtime.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(database.url()).await.unwrap();
            sqlx::query_scalar("SELECT COUNT(*) FROM matcher_pending")
                .fetch_one(&mut conn)
                .await
                .unwrap()
        });
        if pending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{pending} searches still pending"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (answer, _) = send(
        &urls,
        killed,
        &encounter(&fvc_wsq("106_3.tif"), &devices[0], 1000),
    );
    assert_eq!(answer["search"]["complete"], true, "{answer}");
    let alerts = answer["alerts"].as_array().unwrap();
    assert!(
        alerts
            .iter()
            .any(|alert| alert["category"] == "prior-crossing"),
        "106_3 found no earlier impression of finger 106: {answer}"
    );

    for node in 0..3 {
        cluster.kill(node);
    }
    runtime.block_on(database.drop_now()).unwrap();
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces): utime is the 12th, stime
    // the 13th of them.
    let rest = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let hz: f64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0);
    ticks / hz
}

/// Benchmark (issue #11 item 6; run by `scripts/cluster-bench.sh`, release build): the same enrollment load
/// through 1, 2 and 3 nodes on this machine — four kits sending FVC2000 prints concurrently, round-robin over
/// the nodes, each enrollment searched 1:N across the cluster before its answer — reporting enrollments/s,
/// enrollment latency (extraction, ledger commit, the fan-out search, alerts), each node's CPU, and the ratio to
/// the one-node run of the same process. All nodes share this machine's cores, so the ratio measures the
/// overhead of clustering here, not the capacity of separate machines.
#[test]
#[ignore = "benchmark: scripts/cluster-bench.sh"]
fn cluster_scaling_benchmark() {
    let Some(server) = pg_server() else {
        return;
    };
    let per_kit: usize = std::env::var("GARITA_BENCH_ENROLLMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let prints: Vec<Vec<u8>> = (101..=110)
        .flat_map(|finger| (1..=8).map(move |imp| format!("{finger}_{imp}.tif")))
        .map(|name| fvc_wsq(&name))
        .collect();
    let mut rows = Vec::new();
    for nodes in 1..=3 {
        let Setup {
            mut cluster,
            devices,
            database,
            ..
        } = setup(&runtime, &server, nodes);
        // Let every node join and the shards settle before timing.
        std::thread::sleep(Duration::from_secs(3));
        let urls = Mutex::new((0..nodes).map(|n| cluster.url(n)).collect::<Vec<_>>());
        let pids: Vec<u32> = cluster
            .nodes
            .iter()
            .map(|node| node.proc.as_ref().unwrap().0.id())
            .collect();
        let cpu_before: Vec<f64> = pids.iter().map(|pid| cpu_seconds(*pid)).collect();
        let latencies = Mutex::new(Vec::new());
        let started = Instant::now();
        std::thread::scope(|scope| {
            for (k, kit) in devices.iter().take(4).enumerate() {
                let (urls, latencies, prints) = (&urls, &latencies, &prints);
                scope.spawn(move || {
                    for i in 0..per_kit {
                        let wsq = &prints[(k * per_kit + i) % prints.len()];
                        let body = encounter(wsq, kit, i as u64 + 1);
                        let sent = Instant::now();
                        let (answer, _) = send(urls, k + i, &body);
                        latencies.lock().unwrap().push(sent.elapsed());
                        assert_ne!(answer["search"]["complete"], false, "{answer}");
                    }
                });
            }
        });
        let elapsed = started.elapsed().as_secs_f64();
        let cpu: Vec<f64> = pids
            .iter()
            .zip(&cpu_before)
            .map(|(pid, before)| cpu_seconds(*pid) - before)
            .collect();
        let mut latencies = latencies.into_inner().unwrap();
        latencies.sort();
        let enrollments = latencies.len();
        let p =
            |q: f64| latencies[((enrollments as f64 - 1.0) * q) as usize].as_secs_f64() * 1000.0;
        rows.push((
            nodes,
            enrollments,
            enrollments as f64 / elapsed,
            p(0.5),
            p(0.95),
            cpu,
            elapsed,
        ));
        for node in 0..nodes {
            cluster.kill(node);
        }
        runtime.block_on(database.drop_now()).unwrap();
    }
    let base = rows[0].2;
    let mut report = String::from(
        "| nodes | enrollments | enrollments/s | ratio to 1 node | latency p50 ms | p95 ms | CPU per node (% of one core) |\n|---|---|---|---|---|---|---|\n",
    );
    for (nodes, n, rate, p50, p95, cpu, elapsed) in &rows {
        let cpu: Vec<String> = cpu
            .iter()
            .map(|c| format!("{:.0}", 100.0 * c / elapsed))
            .collect();
        report.push_str(&format!(
            "| {nodes} | {n} | {rate:.1} | {:.2} | {p50:.0} | {p95:.0} | {} |\n",
            rate / base,
            cpu.join(" / ")
        ));
    }
    println!("{report}");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cluster-bench.md");
    std::fs::write(&out, &report).unwrap();
    println!("written to {}", out.display());
}
