#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Field terminal fault tests (issue #9): the real `garita` binary as server and as terminal agent, on 127.0.0.1
//! (or in a network namespace the test creates), with the faults a remote site sees: the server down for the
//! whole capture period, SIGKILL of the terminal in the middle of an upload and of a queueing command, SIGKILL of
//! the server in the middle of an upload, and a slow lossy link. After each: every capture queued is on the server
//! exactly once, in sequence order, byte-identical, and its inclusion proof verified on the terminal against the
//! pinned log key. Each test writes a small report (captures, retries, time to drain) under the target dir's
//! `terminal-faults/` and prints it.
//!
//! Bounded: 20-30 captures per scenario, each step with a deadline; the 1,000-capture offline drain is
//! `offline_drain_of_1000_captures` (ignored; run by scripts/terminal-soak.sh).

use garita_model::SignedEnvelope;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_garita");
const PASSPHRASE: &str = "test passphrase, not for field use";

/// A child process killed (SIGKILL) when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A server data directory, a registered terminal and its outbox directory.
struct Site {
    dir: tempfile::TempDir,
    data: PathBuf,
    outbox: PathBuf,
    key_file: PathBuf,
    device: Uuid,
    port: u16,
    /// The port the agent dials: the server's, or a relay's in front of it.
    link_port: u16,
    log_key: String,
    /// A command prefix that puts processes in a network namespace (empty on plain loopback).
    netns: Vec<String>,
}

fn garita(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("GARITA_DATA")
        .env_remove("GARITA_CONFIG")
        .env("GARITA_TERMINAL_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
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

impl Site {
    fn new(netns: Vec<String>) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("server");
        let data_arg = data.to_str().unwrap().to_owned();
        let key_file = dir.path().join("terminal.key");
        let public = garita(
            dir.path(),
            &["device", "keygen", "--out", key_file.to_str().unwrap()],
        );
        garita(
            dir.path(),
            &[
                "admin",
                "add-site",
                "--data",
                &data_arg,
                "--name",
                "El Ceibo",
                "--kind",
                "land-crossing",
            ],
        );
        let device = garita(
            dir.path(),
            &[
                "admin",
                "add-device",
                "--data",
                &data_arg,
                "--site",
                "El Ceibo",
                "--kind",
                "mobile-kit",
                "--public-key",
                &public,
            ],
        )
        .parse()
        .unwrap();
        let port = free_port();
        let mut site = Site {
            outbox: dir.path().join("kit"),
            dir,
            data,
            key_file,
            device,
            port,
            link_port: port,
            log_key: String::new(),
            netns,
        };
        // The kit is provisioned with the ledger's verifier key before it goes out.
        drop(site.serve("provision"));
        site.log_key = garita(site.dir.path(), &["ledger", "key", "--data", &data_arg]);
        site
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.link_port)
    }

    fn command(&self) -> Command {
        let mut command = match self.netns.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(BIN);
                command
            }
            None => Command::new(BIN),
        };
        command
            .current_dir(self.dir.path())
            .env_remove("GARITA_DATA")
            .env_remove("GARITA_LISTEN")
            .env_remove("GARITA_CONFIG")
            .env("GARITA_TERMINAL_PASSPHRASE", PASSPHRASE)
            .env("RUST_LOG", "warn");
        command
    }

    /// Starts the server on the site's fixed port and waits for it to listen.
    fn serve(&self, label: &str) -> Proc {
        let log =
            std::fs::File::create(self.dir.path().join(format!("server-{label}.log"))).unwrap();
        let listen = format!("127.0.0.1:{}", self.port);
        let mut child = self
            .command()
            .args([
                "serve",
                "--data",
                self.data.to_str().unwrap(),
                "--listen",
                &listen,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("garita listening on ") {
                    let _ = tx.send(());
                }
            }
        });
        let proc = Proc(child);
        if rx.recv_timeout(Duration::from_secs(20)).is_err() {
            panic!(
                "the server did not start: {}",
                std::fs::read_to_string(self.dir.path().join(format!("server-{label}.log")))
                    .unwrap_or_default()
            );
        }
        proc
    }

    /// Starts the terminal agent; it stops by itself once everything is delivered and proved.
    fn agent(&self, label: &str, extra: &[&str]) -> Proc {
        let log =
            std::fs::File::create(self.dir.path().join(format!("agent-{label}.log"))).unwrap();
        // Test defaults; a flag given in `extra` replaces its default.
        let defaults = [
            ("--min-backoff-ms", "50"),
            ("--max-backoff-ms", "1000"),
            ("--request-timeout", "15"),
            ("--chunk-threshold", "65536"),
            ("--chunk-size", "16384"),
        ];
        let mut args: Vec<String> = vec![
            "terminal".into(),
            "--server".into(),
            self.url(),
            "--log-key".into(),
            self.log_key.clone(),
            "--data".into(),
            self.outbox.to_str().unwrap().into(),
            "--key".into(),
            self.key_file.to_str().unwrap().into(),
            "--device".into(),
            self.device.to_string(),
            "--exit-when-drained".into(),
        ];
        for (flag, value) in defaults {
            if !extra.contains(&flag) {
                args.extend([flag.to_owned(), value.to_owned()]);
            }
        }
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        let child = self
            .command()
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        Proc(child)
    }

    /// Every agent and server log, for failure messages.
    fn logs(&self) -> String {
        let mut text = String::new();
        for entry in std::fs::read_dir(self.dir.path())
            .unwrap()
            .map_while(Result::ok)
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".log") {
                text.push_str(&format!(
                    "--- {name}\n{}\n",
                    std::fs::read_to_string(entry.path()).unwrap_or_default()
                ));
            }
        }
        text
    }

    fn agent_log(&self, label: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("agent-{label}.log")))
            .unwrap_or_default()
    }

    /// Queues a capture with `garita terminal scan`; returns its sequence number.
    fn queue(&self, capture: &Launched) -> u64 {
        let child = self.scan(capture);
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        text.trim()
            .strip_prefix("queued seq ")
            .unwrap()
            .parse()
            .unwrap()
    }

    fn scan(&self, capture: &Launched) -> Child {
        let payload = self
            .dir
            .path()
            .join(format!("payload-{}.json", capture.tag));
        let blob = self.dir.path().join(format!("blob-{}.jpg", capture.tag));
        std::fs::write(&payload, &capture.payload).unwrap();
        std::fs::write(&blob, &capture.blob).unwrap();
        // Queueing needs no network: it runs outside any namespace.
        Command::new(BIN)
            .args([
                "terminal",
                "scan",
                "--data",
                self.outbox.to_str().unwrap(),
                "--key",
                self.key_file.to_str().unwrap(),
                "--device",
                &self.device.to_string(),
                "--type",
                "encounter",
                payload.to_str().unwrap(),
                "--blob",
                blob.to_str().unwrap(),
            ])
            .env("GARITA_TERMINAL_PASSPHRASE", PASSPHRASE)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn status(&self) -> Value {
        serde_json::from_str(&garita(
            self.dir.path(),
            &[
                "terminal",
                "status",
                "--json",
                "--data",
                self.outbox.to_str().unwrap(),
            ],
        ))
        .unwrap()
    }

    /// Waits until `ready` holds for the terminal's status.
    fn wait_status(&self, what: &str, deadline: Duration, ready: impl Fn(&Value) -> bool) -> Value {
        let until = Instant::now() + deadline;
        loop {
            let status = self.status();
            if ready(&status) {
                return status;
            }
            assert!(
                Instant::now() < until,
                "waited too long for {what}: {:#}\n{}",
                status["summary"],
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Waits for the agent to drain and stop.
fn wait_drained(site: &Site, agent: &mut Proc, label: &str, deadline: Duration) {
    let until = Instant::now() + deadline;
    loop {
        if let Some(status) = agent.0.try_wait().unwrap() {
            assert!(
                status.success(),
                "agent {label} failed: {}",
                site.agent_log(label)
            );
            return;
        }
        assert!(
            Instant::now() < until,
            "agent {label} did not drain in {deadline:?}: {:#}\n{}",
            site.status(),
            site.agent_log(label)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One capture the test queued: an encounter payload with a unique tag and one image blob.
#[derive(Clone)]
struct Launched {
    tag: String,
    payload: Vec<u8>,
    blob: Vec<u8>,
}

fn capture(tag: &str, blob_size: usize) -> Launched {
    let payload = json!({
        "subject": { "claimed_citizenship": "GTM", "given_name": format!("T-{tag}"), "family_name": "Field" },
        "samples": [{ "modality": "face", "format": "jpeg", "quality": 80, "blob": 0 }]
    })
    .to_string()
    .into_bytes();
    // Incompressible, tag-dependent bytes, so a mix-up between captures cannot go unseen.
    let seed = Uuid::new_v4().as_u128();
    let mut state = (seed as u64) | 1;
    let blob = (0..blob_size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    Launched {
        tag: tag.to_owned(),
        payload,
        blob,
    }
}

/// A mix of sizes: mostly small inline captures, every fifth a 200-400 KB chunked upload.
fn captures(scenario: &str, count: usize) -> Vec<Launched> {
    (0..count)
        .map(|n| {
            let size = if n % 5 == 2 {
                200_000 + n * 10_000
            } else {
                2_000 + n * 300
            };
            capture(&format!("{scenario}-{n}"), size)
        })
        .collect()
}

/// What the checks found.
struct Outcome {
    captures: usize,
    retries: u64,
}

/// After a scenario, with the server stopped: the server holds exactly the outbox's captures, once each, with
/// sequence numbers 1..=n in ledger order, byte-identical to what was queued; every capture queued with success
/// is among them; the terminal shows every capture delivered and its proof verified.
fn check(site: &Site, launched: &[Launched], acknowledged: &[String]) -> Outcome {
    let status = site.status();
    let summary = &status["summary"];
    let total = status["captures"].as_array().unwrap().len();
    assert!(total > 0);
    assert_eq!(summary["delivered"], total as u64, "{status:#}");
    assert_eq!(
        summary["proofs_verified"], total as u64,
        "every proof verifies: {status:#}"
    );
    assert_eq!(summary["proof_errors"], 0);
    assert_eq!(summary["failed"], 0);
    let by_payload: BTreeMap<&[u8], &Launched> =
        launched.iter().map(|c| (c.payload.as_slice(), c)).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = garita_store::Store::open(&site.data).await.unwrap();
        assert_eq!(
            store.count_captures().await.unwrap(),
            total as i64,
            "exactly once: the server holds as many captures as the outbox"
        );
        let mut last_leaf = None;
        let mut seen = Vec::new();
        for seq in 1..=total as u64 {
            let stored = store
                .capture_by_device_seq(site.device, seq)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("seq {seq} is not on the server"));
            let leaf = stored.receipt.leaf_index.unwrap();
            assert!(last_leaf < Some(leaf), "seq {seq} arrived out of order");
            last_leaf = Some(leaf);
            let signed: SignedEnvelope = serde_json::from_str(&stored.envelope_json).unwrap();
            let payload = store
                .blobs()
                .get(signed.envelope.payload_sha256.as_str())
                .await
                .unwrap();
            let original = by_payload
                .get(payload.as_slice())
                .unwrap_or_else(|| panic!("seq {seq}: a payload nobody queued"));
            let blob = store
                .blobs()
                .get(signed.envelope.blobs[0].sha256.as_str())
                .await
                .unwrap();
            assert!(
                blob == original.blob,
                "seq {seq}: the image is not byte-identical"
            );
            seen.push(original.tag.clone());
        }
        for tag in acknowledged {
            assert!(
                seen.contains(tag),
                "capture {tag} was queued but is not on the server"
            );
        }
        store.close().await;
    });
    Outcome {
        captures: total,
        retries: summary["retries"].as_u64().unwrap(),
    }
}

/// Writes and prints the scenario's report.
fn report(scenario: &str, outcome: &Outcome, drain: Duration, extra: Value) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("terminal-faults");
    std::fs::create_dir_all(&dir).unwrap();
    let mut report = json!({
        "scenario": scenario,
        "captures": outcome.captures,
        "retries": outcome.retries,
        "drain_seconds": (drain.as_secs_f64() * 100.0).round() / 100.0,
    });
    if let (Some(report), Some(extra)) = (report.as_object_mut(), extra.as_object()) {
        report.extend(extra.clone());
    }
    let text = serde_json::to_string(&report).unwrap();
    std::fs::write(dir.join(format!("{scenario}.json")), &text).unwrap();
    println!("terminal fault report: {text}");
}

fn tags(launched: &[Launched]) -> Vec<String> {
    launched.iter().map(|c| c.tag.clone()).collect()
}

#[test]
fn server_down_for_the_whole_capture_period_then_back() {
    let site = Site::new(Vec::new());
    let launched = captures("offline", 25);
    for (n, capture) in launched.iter().enumerate() {
        assert_eq!(site.queue(capture), n as u64 + 1);
    }
    let mut agent = site.agent("offline", &[]);
    // The agent has been failing to connect all along; nothing is lost, all is queued.
    let status = site.wait_status("retries while offline", Duration::from_secs(10), |s| {
        s["summary"]["retries"].as_u64() > Some(2)
    });
    assert_eq!(status["summary"]["delivered"], 0);
    let back = Instant::now();
    let server = site.serve("back");
    wait_drained(&site, &mut agent, "offline", Duration::from_secs(60));
    let drain = back.elapsed();
    drop(server);
    let outcome = check(&site, &launched, &tags(&launched));
    report("server_down_then_back", &outcome, drain, json!({}));
}

#[test]
fn sigkill_of_the_terminal_mid_upload_and_mid_write() {
    let site = Site::new(Vec::new());
    let server = site.serve("up");
    // Two large captures first, so the kill lands inside a chunked upload.
    let mut launched = vec![capture("big-0", 1_500_000), capture("big-1", 1_200_000)];
    launched.extend(captures("killed", 15));
    for capture in &launched {
        site.queue(capture);
    }
    let mut agent = site.agent("first", &["--chunk-size", "8192"]);
    site.wait_status("an upload under way", Duration::from_secs(30), |s| {
        s["captures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["state"] == "sending" && c["upload_offset"].as_u64().is_some_and(|o| o > 0))
    });
    let _ = agent.0.kill();
    let _ = agent.0.wait();

    // Queueing commands killed at random moments: each either queued its capture or left no trace.
    let mut acknowledged = tags(&launched);
    for n in 0..10 {
        let extra = capture(&format!("write-{n}"), 3_000 + n * 100);
        let mut child = site.scan(&extra);
        std::thread::sleep(Duration::from_millis(
            (Uuid::new_v4().as_u128() % 120) as u64,
        ));
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        if output.status.success() {
            acknowledged.push(extra.tag.clone());
        }
        launched.push(extra);
    }
    for n in 0..3 {
        let extra = capture(&format!("after-{n}"), 4_000);
        site.queue(&extra);
        acknowledged.push(extra.tag.clone());
        launched.push(extra);
    }

    let restart = Instant::now();
    let report_file = site.dir.path().join("second.json");
    let mut agent = site.agent("second", &["--report", report_file.to_str().unwrap()]);
    wait_drained(&site, &mut agent, "second", Duration::from_secs(60));
    let drain = restart.elapsed();
    drop(server);
    let run: Value = serde_json::from_slice(&std::fs::read(&report_file).unwrap()).unwrap();
    assert!(
        run["resumed_uploads"].as_u64() >= Some(1),
        "the upload resumed: {run}"
    );
    let outcome = check(&site, &launched, &acknowledged);
    report(
        "terminal_sigkill",
        &outcome,
        drain,
        json!({ "resumed_uploads": run["resumed_uploads"], "chunks_after_restart": run["chunks"] }),
    );
}

#[test]
fn sigkill_of_the_server_mid_upload() {
    let site = Site::new(Vec::new());
    let server = site.serve("first");
    let mut launched = vec![capture("big-0", 1_500_000)];
    launched.extend(captures("server-kill", 12));
    launched.push(capture("big-1", 900_000));
    for capture in &launched {
        site.queue(capture);
    }
    let report_file = site.dir.path().join("agent.json");
    let mut agent = site.agent(
        "through",
        &[
            "--chunk-size",
            "8192",
            "--report",
            report_file.to_str().unwrap(),
        ],
    );
    site.wait_status("an upload under way", Duration::from_secs(30), |s| {
        s["captures"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["state"] == "sending" && c["upload_offset"].as_u64().is_some_and(|o| o > 0))
    });
    drop(server); // SIGKILL mid-upload
    std::thread::sleep(Duration::from_millis(700));
    let back = Instant::now();
    let server = site.serve("second");
    wait_drained(&site, &mut agent, "through", Duration::from_secs(60));
    let drain = back.elapsed();
    drop(server);
    let run: Value = serde_json::from_slice(&std::fs::read(&report_file).unwrap()).unwrap();
    assert!(
        run["resumed_uploads"].as_u64() >= Some(1),
        "the upload resumed: {run}"
    );
    let outcome = check(&site, &launched, &tags(&launched));
    report(
        "server_sigkill",
        &outcome,
        drain,
        json!({ "resumed_uploads": run["resumed_uploads"], "chunks": run["chunks"] }),
    );
}

/// A network namespace with netem on its loopback, or why not.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn netem_namespace() -> Result<Netns, String> {
    let name = format!("garita-t{}", std::process::id());
    let run = |args: &[&str]| -> Result<(), String> {
        let output = Command::new(args[0])
            .args(&args[1..])
            .output()
            .map_err(|err| format!("{}: {err}", args[0]))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{args:?}: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ))
        }
    };
    run(&["ip", "netns", "add", &name])?;
    let netns = Netns(name.clone());
    run(&[
        "ip", "netns", "exec", &name, "ip", "link", "set", "lo", "up",
    ])?;
    // 1 s each way on loopback: 2 s round trips; 30 % of packets lost.
    run(&[
        "ip", "netns", "exec", &name, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay",
        "1000ms", "loss", "30%",
    ])?;
    Ok(netns)
}

#[test]
fn lossy_slow_link_in_a_network_namespace() {
    let netns = match netem_namespace() {
        Ok(netns) => netns,
        Err(why) => {
            eprintln!(
                "SKIPPED lossy_slow_link_in_a_network_namespace: netem is not available here ({why})"
            );
            return;
        }
    };
    let prefix = vec![
        "ip".to_owned(),
        "netns".to_owned(),
        "exec".to_owned(),
        netns.0.clone(),
    ];
    let site = Site::new(prefix);
    let launched = vec![
        capture("netem-0", 3_000),
        capture("netem-1", 90_000),
        capture("netem-2", 5_000),
    ];
    for capture in &launched {
        site.queue(capture);
    }
    let server = site.serve("netem");
    let start = Instant::now();
    let mut agent = site.agent("netem", &["--request-timeout", "30"]);
    wait_drained(&site, &mut agent, "netem", Duration::from_secs(240));
    let drain = start.elapsed();
    drop(server);
    let outcome = check(&site, &launched, &tags(&launched));
    report("netem_loss30_rtt2s", &outcome, drain, json!({}));
}

/// The operator's commands on real files: `enroll --images` (WSQ) and `enroll --an2` queue and return at once with
/// no server, `enroll` says per finger image what it found and asks for a new capture of a blank one, `status`
/// explains the outbox in text, then the agent delivers both and the server accepts them (the WSQ images as
/// finger samples, the transaction as an ANSI/NIST enrollment).
#[test]
fn enroll_commands_queue_offline_and_status_explains() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    let wsq = shared.join("wsq/fp-1.wsq");
    let an2 = shared.join("ansi-nist/type-14-tip-eji-wsq.an2");
    if !wsq.exists() || !an2.exists() {
        eprintln!("skipping: {} or {} not found", wsq.display(), an2.display());
        return;
    }
    let site = Site::new(Vec::new());
    let local = [
        "--data",
        site.outbox.to_str().unwrap(),
        "--key",
        site.key_file.to_str().unwrap(),
        "--device",
        &site.device.to_string(),
    ];
    // A blank scan next to the real print: a finger lifted too early.
    let blank = site.dir.path().join("blank.wsq");
    let gray = garita_wsq::GrayImage::new(300, 300, vec![250; 300 * 300]).unwrap();
    let options = garita_wsq::EncodeOptions {
        ppi: Some(500),
        ..Default::default()
    };
    std::fs::write(&blank, garita_wsq::encode(&gray, &options).unwrap()).unwrap();
    // And the same print as a minutiae record, as a sensor SDK would write it.
    let record = site.dir.path().join("print.fmr");
    let template = garita_finger::template_from_bytes(&std::fs::read(&wsq).unwrap(), None).unwrap();
    let view = garita_finger::ViewInfo {
        finger_position: 3,
        impression_type: 0,
    };
    std::fs::write(
        &record,
        garita_finger::to_iso_19794_2(&template, view).unwrap(),
    )
    .unwrap();
    let mut args = vec!["terminal", "enroll"];
    args.extend(local);
    args.extend([
        "--images",
        wsq.to_str().unwrap(),
        blank.to_str().unwrap(),
        record.to_str().unwrap(),
        "--positions",
        "2,7,3",
    ]);
    let printed = garita(site.dir.path(), &args);
    assert!(printed.starts_with("queued seq 1"), "{printed}");
    assert!(
        printed.contains(&format!("finger image {}: ", wsq.display()))
            && printed.contains(" minutiae"),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "RECAPTURE {}: no fingerprint found",
            blank.display()
        )),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "finger image {}: {} minutiae",
            record.display(),
            template.minutiae.len()
        )),
        "{printed}"
    );
    assert!(
        printed.contains("no local watchlist snapshot yet"),
        "{printed}"
    );
    let mut args = vec!["terminal", "enroll"];
    args.extend(local);
    args.extend(["--an2", an2.to_str().unwrap()]);
    assert_eq!(garita(site.dir.path(), &args), "queued seq 2");
    let text = garita(
        site.dir.path(),
        &[
            "terminal",
            "status",
            "--data",
            site.outbox.to_str().unwrap(),
        ],
    );
    assert!(
        text.contains("queued 2  in flight 0  delivered 0  failed 0"),
        "{text}"
    );
    assert!(text.contains("seq 2 queued an2"), "{text}");

    let server = site.serve("enroll");
    let mut agent = site.agent("enroll", &[]);
    wait_drained(&site, &mut agent, "enroll", Duration::from_secs(60));
    drop(server);
    let status = site.status();
    assert_eq!(status["summary"]["delivered"], 2, "{status:#}");
    assert_eq!(status["summary"]["proofs_verified"], 2, "{status:#}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = garita_store::Store::open(&site.data).await.unwrap();
        for seq in [1, 2] {
            let stored = store
                .capture_by_device_seq(site.device, seq)
                .await
                .unwrap()
                .unwrap();
            let encounter = stored.receipt.encounter_id.unwrap();
            assert!(
                !store
                    .samples_of_encounter(encounter)
                    .await
                    .unwrap()
                    .is_empty()
            );
        }
        store.close().await;
    });
}

/// A userspace stand-in for a bad link where netem is not permitted: a TCP relay on loopback that delivers every
/// read `one_way` late in each direction (a round trip takes twice that, whatever the size) and loses each
/// delivery with probability `loss` by cutting the connection there, as a link does when packets are lost beyond
/// what TCP waits for. Requests cut after the server acted on them are resent: the replays prove exactly-once.
struct Relay {
    port: u16,
    connections: std::sync::Arc<std::sync::atomic::AtomicU64>,
    cuts: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

fn relay(upstream: u16, one_way: Duration, loss: f64) -> Relay {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicU64::new(0));
    let cuts = Arc::new(AtomicU64::new(0));
    let (counted, cut_count) = (Arc::clone(&connections), Arc::clone(&cuts));
    // Delivers what `from` sends to `to`, each read `one_way` after it arrived, or cuts both streams.
    let pipe = move |mut from: TcpStream, mut to: TcpStream, cut_count: Arc<AtomicU64>| {
        let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
        let (a, b) = (from.try_clone().unwrap(), to.try_clone().unwrap());
        std::thread::spawn(move || {
            let mut buffer = vec![0u8; 64 * 1024];
            while let Ok(n) = from.read(&mut buffer) {
                if n == 0
                    || tx
                        .send((Instant::now() + one_way, buffer[..n].to_vec()))
                        .is_err()
                {
                    break;
                }
            }
        });
        std::thread::spawn(move || {
            for (due, bytes) in rx {
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
                if (Uuid::new_v4().as_u128() % 1000) as f64 / 1000.0 < loss {
                    cut_count.fetch_add(1, Ordering::SeqCst);
                    let _ = a.shutdown(Shutdown::Both);
                    let _ = b.shutdown(Shutdown::Both);
                    return;
                }
                if to.write_all(&bytes).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Write);
        });
    };
    std::thread::spawn(move || {
        for client in listener.incoming().map_while(Result::ok) {
            let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                continue;
            };
            counted.fetch_add(1, Ordering::SeqCst);
            pipe(
                client.try_clone().unwrap(),
                server.try_clone().unwrap(),
                Arc::clone(&cut_count),
            );
            pipe(server, client, Arc::clone(&cut_count));
        }
    });
    Relay {
        port,
        connections,
        cuts,
    }
}

#[test]
fn slow_lossy_link_through_a_relay() {
    let mut site = Site::new(Vec::new());
    let relay = relay(site.port, Duration::from_millis(1000), 0.3);
    site.link_port = relay.port;
    let launched = vec![
        capture("relay-0", 3_000),
        capture("relay-1", 100_000),
        capture("relay-2", 5_000),
        capture("relay-3", 4_000),
    ];
    for capture in &launched {
        site.queue(capture);
    }
    let server = site.serve("relay");
    let start = Instant::now();
    let mut agent = site.agent(
        "relay",
        &["--chunk-size", "65536", "--request-timeout", "20"],
    );
    wait_drained(&site, &mut agent, "relay", Duration::from_secs(150));
    let drain = start.elapsed();
    drop(server);
    let outcome = check(&site, &launched, &tags(&launched));
    use std::sync::atomic::Ordering;
    report(
        "relay_2s_rtt_30pct_loss",
        &outcome,
        drain,
        json!({
            "connections": relay.connections.load(Ordering::SeqCst),
            "connections_cut": relay.cuts.load(Ordering::SeqCst),
        }),
    );
}

/// The bar: a kit that enrolled 1,000 captures offline drains them exactly once when the link returns.
/// About a minute or more on a small machine: run it with scripts/terminal-soak.sh.
#[test]
#[ignore = "soak: run scripts/terminal-soak.sh"]
fn offline_drain_of_1000_captures() {
    let site = Site::new(Vec::new());
    let launched: Vec<Launched> = (0..1000)
        .map(|n| {
            capture(
                &format!("soak-{n}"),
                if n % 100 == 7 { 300_000 } else { 4_000 },
            )
        })
        .collect();
    let queued = Instant::now();
    for capture in &launched {
        site.queue(capture);
    }
    let queue_time = queued.elapsed();
    let back = Instant::now();
    let server = site.serve("soak");
    let mut agent = site.agent("soak", &[]);
    wait_drained(&site, &mut agent, "soak", Duration::from_secs(900));
    let drain = back.elapsed();
    drop(server);
    let outcome = check(&site, &launched, &tags(&launched));
    report(
        "offline_drain_1000",
        &outcome,
        drain,
        json!({ "queue_seconds": queue_time.as_secs_f64() }),
    );
}
