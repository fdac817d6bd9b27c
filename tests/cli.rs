#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The `garita` command line: help, device keys, data-directory administration, ANSI/NIST dumps, signing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_garita");

/// Runs garita in `dir` (so no stray ./garita.toml or ./garita-data is used) with `stdin`.
fn run(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("GARITA_DATA")
        .env_remove("GARITA_CONFIG")
        .env_remove("GARITA_DEVICE_KEY")
        .env_remove("GARITA_DEVICE_ID")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The child may exit before reading its input (e.g. on a bad flag): ignore a broken pipe.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn ok(dir: &Path, args: &[&str], stdin: &str) -> String {
    let output = run(dir, args, stdin);
    assert!(
        output.status.success(),
        "garita {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Asserts failure with a message containing `needle`; returns stderr.
fn fails(dir: &Path, args: &[&str], stdin: &str, needle: &str) -> String {
    let output = run(dir, args, stdin);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "garita {args:?} should fail; stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        stderr.contains(needle),
        "garita {args:?}: stderr lacks {needle:?}:\n{stderr}"
    );
    stderr
}

fn uuid_line(text: &str) -> uuid::Uuid {
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a uuid: {text:?}"))
}

#[test]
fn help_lists_the_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let help = ok(dir.path(), &["--help"], "");
    for command in ["serve", "admin", "device", "an2", "share"] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(command)),
            "--help lacks {command}:\n{help}"
        );
    }
    let admin = ok(dir.path(), &["admin", "--help"], "");
    for command in [
        "init",
        "create-user",
        "reset-password",
        "add-site",
        "add-device",
    ] {
        assert!(
            admin.contains(command),
            "admin --help lacks {command}:\n{admin}"
        );
    }
    let device = ok(dir.path(), &["device", "--help"], "");
    for command in ["keygen", "sign", "submit"] {
        assert!(
            device.contains(command),
            "device --help lacks {command}:\n{device}"
        );
    }
    let share = ok(dir.path(), &["share", "--help"], "");
    for command in ["identity", "agreement", "export", "import", "follow"] {
        assert!(
            share.contains(command),
            "share --help lacks {command}:\n{share}"
        );
    }
    fails(dir.path(), &["no-such-command"], "", "no-such-command");
}

#[test]
fn device_keygen_writes_a_private_key_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.key");
    let public = ok(
        dir.path(),
        &["device", "keygen", "--out", path.to_str().unwrap()],
        "",
    );
    let public = public.trim();
    garita_model::parse_public_key(public).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("garita-device-key-v1 "), "{text}");
    let key = garita_model::DeviceKey::from_file_text(&text).unwrap();
    assert_eq!(key.public_key_b64(), public);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "key file mode {mode:o}");
    }
    fails(
        dir.path(),
        &["device", "keygen", "--out", path.to_str().unwrap()],
        "",
        "must not exist",
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "the key was overwritten"
    );
}

#[test]
fn admin_commands_print_ids_and_reject_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let d = |args: &[&'static str]| -> Vec<String> {
        let mut all: Vec<String> = args[..2].iter().map(|arg| (*arg).to_owned()).collect();
        all.extend(["--data".to_owned(), data.to_owned()]);
        all.extend(args[2..].iter().map(|arg| (*arg).to_owned()));
        all
    };
    let call = |args: &[String], stdin: &str| {
        run(
            dir.path(),
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            stdin,
        )
    };
    let ok_d = |args: &[&'static str], stdin: &str| {
        let output = call(&d(args), stdin);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let fail_d = |args: &[String], stdin: &str, needle: &str| {
        let output = call(args, stdin);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(!output.status.success(), "{args:?} should fail");
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{args:?}: stderr lacks {needle:?}: {stderr}"
        );
        assert!(
            output.stdout.is_empty(),
            "{args:?} printed {:?}",
            String::from_utf8_lossy(&output.stdout)
        );
    };

    // The agency.
    fail_d(&d(&["admin", "init", "--country", "XXX"]), "", "country");
    fail_d(&d(&["admin", "init", "--country", "mexico"]), "", "country");
    let agency = ok_d(&["admin", "init", "--country", "MEX", "--name", "INM"], "");
    assert_eq!(agency.trim(), "agency INM (MEX)");
    // Setting the same country again is harmless; another country is refused.
    ok_d(&["admin", "init", "--country", "MEX", "--name", "INM"], "");
    fail_d(&d(&["admin", "init", "--country", "GTM"]), "", "set once");

    // Users: the password comes from standard input.
    let user = ok_d(
        &[
            "admin",
            "create-user",
            "--username",
            "ana.officer",
            "--role",
            "officer",
            "--password-stdin",
        ],
        "a-long-enough-password\n",
    );
    uuid_line(&user);
    fail_d(
        &d(&[
            "admin",
            "create-user",
            "--username",
            "ana.officer",
            "--role",
            "officer",
            "--password-stdin",
        ]),
        "a-long-enough-password\n",
        "already exists",
    );
    fail_d(
        &d(&[
            "admin",
            "create-user",
            "--username",
            "Bad Name!",
            "--role",
            "officer",
            "--password-stdin",
        ]),
        "a-long-enough-password\n",
        "username",
    );
    fail_d(
        &d(&[
            "admin",
            "create-user",
            "--username",
            "bob",
            "--role",
            "emperor",
            "--password-stdin",
        ]),
        "a-long-enough-password\n",
        "role",
    );
    fail_d(
        &d(&[
            "admin",
            "create-user",
            "--username",
            "bob",
            "--role",
            "officer",
            "--password-stdin",
        ]),
        "short\n",
        "at least 12 characters",
    );
    // Without --password-stdin clap refuses (passwords never go on the command line).
    let output = call(
        &d(&[
            "admin",
            "create-user",
            "--username",
            "bob",
            "--role",
            "officer",
        ]),
        "",
    );
    assert!(!output.status.success());

    // Sites and devices.
    let site = uuid_line(&ok_d(
        &[
            "admin",
            "add-site",
            "--name",
            "Tapachula",
            "--kind",
            "detention-facility",
        ],
        "",
    ));
    fail_d(
        &d(&["admin", "add-site", "--name", "Tapachula", "--kind", "port"]),
        "",
        "already exists",
    );
    fail_d(
        &d(&[
            "admin", "add-site", "--name", "Nowhere", "--kind", "airport",
        ]),
        "",
        "kind",
    );
    fail_d(
        &d(&["admin", "add-site", "--name", "  ", "--kind", "port"]),
        "",
        "--name",
    );
    fail_d(
        &d(&[
            "admin",
            "add-site",
            "--name",
            "Van",
            "--kind",
            "port",
            "--mobility",
            "flying",
        ]),
        "",
        "mobility",
    );
    let key = garita_model::DeviceKey::generate().public_key_b64();
    let mut by_name = d(&[
        "admin",
        "add-device",
        "--site",
        "Tapachula",
        "--kind",
        "biometric-terminal",
    ]);
    by_name.extend(["--public-key".to_owned(), key.clone()]);
    let output = call(&by_name, "");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let device = uuid_line(&String::from_utf8(output.stdout).unwrap());
    let mut by_id = d(&["admin", "add-device", "--kind", "mobile-kit"]);
    by_id.extend([
        "--site".to_owned(),
        site.to_string(),
        "--public-key".to_owned(),
        garita_model::DeviceKey::generate().public_key_b64(),
    ]);
    let output = call(&by_id, "");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_ne!(
        uuid_line(&String::from_utf8(output.stdout).unwrap()),
        device
    );
    let mut unknown_site = d(&[
        "admin",
        "add-device",
        "--site",
        "Atlantis",
        "--kind",
        "nii-scanner",
    ]);
    unknown_site.extend([
        "--public-key".to_owned(),
        garita_model::DeviceKey::generate().public_key_b64(),
    ]);
    fail_d(&unknown_site, "", "no site");
    fail_d(
        &d(&[
            "admin",
            "add-device",
            "--site",
            "Tapachula",
            "--kind",
            "nii-scanner",
            "--public-key",
            "bm90IGEga2V5",
        ]),
        "",
        "public_key",
    );
    let mut bad_kind = d(&[
        "admin",
        "add-device",
        "--site",
        "Tapachula",
        "--kind",
        "toaster",
    ]);
    bad_kind.extend([
        "--public-key".to_owned(),
        garita_model::DeviceKey::generate().public_key_b64(),
    ]);
    fail_d(&bad_kind, "", "kind");
    let mut same_key = d(&[
        "admin",
        "add-device",
        "--site",
        "Tapachula",
        "--kind",
        "mobile-kit",
    ]);
    same_key.extend(["--public-key".to_owned(), key]);
    fail_d(&same_key, "", "already exists");

    // What the commands wrote is in the store.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = garita_store::Store::open(Path::new(data)).await.unwrap();
        assert_eq!(
            store.agency().await.unwrap().unwrap().country.as_str(),
            "MEX"
        );
        assert_eq!(store.count_users().await.unwrap(), 1);
        let stored = store.device(device).await.unwrap().unwrap();
        assert_eq!(stored.site_id, site);
        assert_eq!(stored.kind.as_str(), "biometric-terminal");
        store.close().await;
    });
}

fn ansi_nist_file() -> Option<PathBuf> {
    shared_file("ansi-nist/type-4-slaps.an2")
}

#[test]
fn an2_dump_prints_json_records() {
    let Some(file) = ansi_nist_file() else { return };
    let dir = tempfile::tempdir().unwrap();
    let text = ok(
        dir.path(),
        &["an2", "dump", "--json", file.to_str().unwrap()],
        "",
    );
    let dump: serde_json::Value = serde_json::from_str(&text).unwrap();
    let records = dump["records"].as_array().unwrap();
    assert!(records.len() >= 2, "{dump}");
    assert_eq!(
        records[0]["type"], 1,
        "the first record is Type-1: {}",
        records[0]
    );
    assert!(
        records.iter().any(|record| record["type"] == 4),
        "no Type-4 record"
    );
    let plain = ok(dir.path(), &["an2", "dump", file.to_str().unwrap()], "");
    assert!(plain.starts_with("Type-1 "), "{plain}");

    let bad = dir.path().join("bad.an2");
    std::fs::write(&bad, b"1.001:garbage\x1d").unwrap();
    fails(
        dir.path(),
        &["an2", "dump", "--json", bad.to_str().unwrap()],
        "",
        "not a valid ANSI/NIST-ITL transaction",
    );
    fails(
        dir.path(),
        &[
            "an2",
            "dump",
            dir.path().join("missing.an2").to_str().unwrap(),
        ],
        "",
        "reading",
    );
}

#[test]
fn device_sign_prints_a_body_the_server_would_verify() {
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("k.key");
    let public = ok(
        dir.path(),
        &["device", "keygen", "--out", key_path.to_str().unwrap()],
        "",
    );
    let payload = dir.path().join("c.json");
    std::fs::write(
        &payload,
        br#"{"conveyance":"x","declarant":"y","lines":[]}"#,
    )
    .unwrap();
    let blob = dir.path().join("scan.raw");
    std::fs::write(&blob, [1u8, 2, 3, 4]).unwrap();
    let device = uuid::Uuid::new_v4().to_string();
    let text = ok(
        dir.path(),
        &[
            "device",
            "sign",
            "--key",
            key_path.to_str().unwrap(),
            "--device",
            &device,
            "--seq",
            "42",
            "--type",
            "consignment",
            payload.to_str().unwrap(),
            "--blob",
            blob.to_str().unwrap(),
        ],
        "",
    );
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    let signed: garita_model::SignedEnvelope = serde_json::from_value(serde_json::json!({
        "envelope": body["envelope"], "signature": body["signature"],
    }))
    .unwrap();
    signed.verify(public.trim()).unwrap();
    assert_eq!(signed.envelope.seq, 42);
    assert_eq!(signed.envelope.device_id.to_string(), device);
    assert_eq!(signed.envelope.blobs.len(), 1);
    assert_eq!(body["blobs"], serde_json::json!(["AQIDBA=="]));
    fails(
        dir.path(),
        &[
            "device",
            "sign",
            "--key",
            key_path.to_str().unwrap(),
            "--device",
            &device,
            "--seq",
            "1",
            "--type",
            "parcel",
            payload.to_str().unwrap(),
        ],
        "",
        "payload_type",
    );
}

/// Issue 5: every WSQ image inside every shared ANSI/NIST transaction decodes, to the size its record declares.
#[test]
fn every_wsq_image_inside_the_shared_transactions_decodes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/ansi-nist");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipping: {} not found", dir.display());
        return;
    };
    let mut decoded = 0;
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.extension().and_then(|e| e.to_str()) != Some("an2") {
            continue;
        }
        let transaction =
            garita_an2::Transaction::from_bytes(&std::fs::read(&path).unwrap()).unwrap();
        for view in transaction.images() {
            if view.compression == garita_an2::Compression::Wsq {
                let image = garita_wsq::decode(view.data).unwrap_or_else(|err| {
                    panic!("{}: record {}: {err}", path.display(), view.record_index)
                });
                assert_eq!(
                    (image.width(), image.height()),
                    (view.width, view.height),
                    "{}",
                    path.display()
                );
                decoded += 1;
            }
        }
    }
    assert!(
        decoded >= 40,
        "expected the shared files' WSQ images (49), decoded {decoded}"
    );
}

fn shared_file(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(relative);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping: {} not found", path.display());
        None
    }
}

/// `garita wsq`, `garita finger` and `garita cargo` on real files, and their clear failures on bad ones.
#[test]
fn format_commands_work_on_real_files_and_refuse_bad_ones() {
    let (Some(wsq), Some(tif), Some(tdr)) = (
        shared_file("wsq/fp-1.wsq"),
        shared_file("fingerprints/FVC2000_DB1_B/101_1.tif"),
        shared_file("dicos-v03/V03_Data__DXwithTDR__tdr.dcs"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (wsq, tif, tdr) = (
        wsq.to_str().unwrap(),
        tif.to_str().unwrap(),
        tdr.to_str().unwrap(),
    );

    ok(d, &["wsq", "decode", wsq, "fp.png"], "");
    ok(
        d,
        &["wsq", "encode", "fp.png", "again.wsq", "--bitrate", "1.5"],
        "",
    );
    let info: serde_json::Value =
        serde_json::from_str(&ok(d, &["wsq", "info", "again.wsq", "--json"], "")).unwrap();
    assert_eq!(
        (
            info["width"].as_u64(),
            info["height"].as_u64(),
            info["ppi"].as_u64()
        ),
        (Some(804), Some(752), Some(500))
    );
    std::fs::write(d.join("junk.wsq"), b"not a wsq file").unwrap();
    fails(d, &["wsq", "decode", "junk.wsq", "x.png"], "", "junk.wsq");
    fails(
        d,
        &["wsq", "encode", "fp.png", "x.wsq", "--bitrate=0"],
        "",
        "--bitrate",
    );

    let extracted = ok(d, &["finger", "extract", tif], "");
    let minutiae: usize = extracted
        .split(": ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(minutiae > 0, "{extracted}");
    fails(d, &["finger", "extract", "junk.wsq"], "", "junk.wsq");

    let tdr_info: serde_json::Value =
        serde_json::from_str(&ok(d, &["cargo", "dicos-info", tdr, "--json"], "")).unwrap();
    assert_eq!(tdr_info["modality"], "TDR");
    assert!(!tdr_info["threats"].as_array().unwrap().is_empty());
    fails(d, &["cargo", "dicos-info", "junk.wsq"], "", "junk.wsq");
}

/// `garita finger eval` on a small real set: rates, and where the errors come from (fingers and pairs), in text
/// and JSON; a folder of one finger is refused with the reason.
#[test]
fn finger_eval_reports_rates_and_where_the_errors_come_from() {
    let Some(db1) = shared_file("fingerprints/FVC2000_DB1_B") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let set = d.join("set");
    std::fs::create_dir(&set).unwrap();
    for finger in ["101", "105", "110"] {
        for impression in 1..=3 {
            let name = format!("{finger}_{impression}.tif");
            std::fs::copy(db1.join(&name), set.join(&name)).unwrap();
        }
    }
    let text = ok(d, &["finger", "eval", "set"], "");
    assert!(text.contains("9 images, 0 failed to enrol"), "{text}");
    assert!(text.contains("where the errors come from"), "{text}");
    let report: serde_json::Value =
        serde_json::from_str(&ok(d, &["finger", "eval", "set", "--json"], "")).unwrap();
    let all = &report["all_pairs"];
    assert_eq!(
        (all["genuine"].as_u64(), all["impostor"].as_u64()),
        (Some(9), Some(27))
    );
    let errors = &report["errors"];
    let rejected: u64 = errors["rejected_by_finger"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f[1].as_u64().unwrap())
        .sum();
    let fmr100 = all["fmr100"].as_f64().unwrap();
    assert!(
        (100.0 * rejected as f64 / 9.0 - fmr100).abs() < 1e-6,
        "{errors}"
    );
    let lowest = errors["lowest_genuine"].as_array().unwrap();
    assert_eq!(lowest.len(), 9);
    for pair in lowest {
        let (a, b) = (pair["a"].as_str().unwrap(), pair["b"].as_str().unwrap());
        assert_eq!(a[..3], b[..3], "a genuine pair is one finger: {pair}");
    }
    let highest = errors["highest_impostor"].as_array().unwrap();
    assert_eq!(highest.len(), 10);
    assert!(highest[0]["score"].as_f64() >= highest[9]["score"].as_f64());

    let one = d.join("one");
    std::fs::create_dir(&one).unwrap();
    for impression in 1..=2 {
        let name = format!("101_{impression}.tif");
        std::fs::copy(db1.join(&name), one.join(&name)).unwrap();
    }
    fails(d, &["finger", "eval", "one"], "", "two fingers");
}

/// Issue 8: `garita demo` fills a fresh data directory through the signed capture path — people whose second
/// crossing raises alerts (prior crossing and the watchlist's categories), declared consignments with lanes — and
/// refuses a directory that already holds data.
#[test]
fn demo_fills_a_fresh_data_directory_once() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if !shared.join("fingerprints/FVC2000_DB1_B").is_dir() {
        eprintln!("skipping: {} not found", shared.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let data_text = data.to_str().unwrap();
    let shared_text = shared.to_str().unwrap();
    let args = [
        "demo",
        "--data",
        data_text,
        "--shared",
        shared_text,
        "--people",
        "4",
        "--scans",
        "0",
    ];
    let out = ok(dir.path(), &args, "");
    assert!(out.contains("password: garita-demo-password"), "{out}");
    fails(dir.path(), &args, "", "already holds sites");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = garita_store::Store::open(&data).await.unwrap();
        let all = garita_store::Page {
            limit: garita_store::Page::MAX_LIMIT,
            offset: 0,
        };
        assert_eq!(store.list_sites(all).await.unwrap().items.len(), 3);
        assert_eq!(store.count_users().await.unwrap(), 5);
        let alerts = store.list_alerts(None, all).await.unwrap().items;
        let categories: Vec<_> = alerts.iter().map(|a| a.category.as_str()).collect();
        assert!(categories.contains(&"prior-crossing"), "{categories:?}");
        assert!(categories.contains(&"smuggler"), "{categories:?}");
        let consignments = store.list_consignments(None, all).await.unwrap().items;
        assert_eq!(consignments.len(), 24);
        assert!(consignments.iter().all(|c| c.lane.is_some()));
        // Every record arrived as a signed capture: 4 first crossings, returns, 24 declarations.
        let captures = store.count_captures().await.unwrap();
        assert!(captures >= 24 + 4, "{captures}");
        store.close().await;
    });
}

/// A `garita serve` child, killed when dropped.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Opt-in (scripts/s3-test.sh sets `GARITA_TEST_S3_URL` and the `AWS_*` variables): `garita serve --blobs
/// s3://…` keeps a capture's fingerprint in a real S3 server and serves it back byte-identical, prints where the
/// blobs are but never the secret key, and refuses to start on a bucket that does not exist.
#[test]
fn serve_keeps_blobs_in_s3() {
    use std::io::BufRead;
    use std::time::{Duration, Instant};
    let Ok(bucket_url) = std::env::var("GARITA_TEST_S3_URL") else {
        eprintln!("skipped: GARITA_TEST_S3_URL is not set (run scripts/s3-test.sh)");
        return;
    };
    let Some(wsq_path) = shared_file("wsq/fp-2.wsq") else {
        return;
    };
    let wsq = std::fs::read(&wsq_path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let blobs = format!(
        "{}/cli-{}",
        bucket_url.trim_end_matches('/'),
        uuid::Uuid::new_v4().simple()
    );

    // A bucket that does not exist: the server stops at start instead of failing the first capture.
    let missing = format!(
        "s3://garita-no-such-bucket-{}",
        uuid::Uuid::new_v4().simple()
    );
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--data",
            data,
            "--listen",
            "127.0.0.1:0",
            "--blobs",
            &missing,
        ])
        .current_dir(dir.path())
        .env_remove("GARITA_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("garita serve started on a bucket that does not exist");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(stderr.contains("reaching the blob store"), "{stderr}");

    // A site and a biometric terminal.
    ok(
        dir.path(),
        &["admin", "init", "--data", data, "--country", "MEX"],
        "",
    );
    let site = ok(
        dir.path(),
        &[
            "admin",
            "add-site",
            "--data",
            data,
            "--name",
            "Tapachula",
            "--kind",
            "land-crossing",
        ],
        "",
    );
    ok(
        dir.path(),
        &[
            "admin",
            "create-user",
            "--data",
            data,
            "--username",
            "officer1",
            "--role",
            "officer",
            "--password-stdin",
        ],
        "officer-password-long-enough\n",
    );
    let key_path = dir.path().join("terminal.key");
    let public = ok(
        dir.path(),
        &["device", "keygen", "--out", key_path.to_str().unwrap()],
        "",
    );
    let device = ok(
        dir.path(),
        &[
            "admin",
            "add-device",
            "--data",
            data,
            "--site",
            site.trim(),
            "--kind",
            "biometric-terminal",
            "--public-key",
            public.trim(),
        ],
        "",
    );

    // The server, with its blobs in the bucket.
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--data",
            data,
            "--listen",
            "127.0.0.1:0",
            "--blobs",
            &blobs,
        ])
        .current_dir(dir.path())
        .env_remove("GARITA_CONFIG")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Serving(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut printed = Vec::new();
    let base = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the server did not start: {printed:?}"));
        printed.push(line.clone());
        if let Some(rest) = line.strip_prefix("garita listening on ") {
            assert!(rest.contains(&format!("blobs: {blobs})")), "{rest}");
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_default();
    assert!(
        secret.is_empty() || !printed.iter().any(|line| line.contains(&secret)),
        "the secret key was printed"
    );

    // A fingerprint captured through the API ...
    let payload = dir.path().join("encounter.json");
    std::fs::write(
        &payload,
        br#"{"subject":{"claimed_citizenship":"GTM"},"samples":[{"modality":"finger","position":2,"format":"wsq","quality":80,"blob":0}]}"#,
    )
    .unwrap();
    let receipt = ok(
        dir.path(),
        &[
            "device",
            "submit",
            "--server",
            &base,
            "--key",
            key_path.to_str().unwrap(),
            "--device",
            device.trim(),
            "--seq",
            "1",
            "--type",
            "encounter",
            payload.to_str().unwrap(),
            "--blob",
            wsq_path.to_str().unwrap(),
        ],
        "",
    );
    let receipt: serde_json::Value = serde_json::from_str(&receipt).unwrap();
    let encounter = receipt["encounter_id"].as_str().unwrap();

    // ... lives in the bucket, not in the data directory ...
    let name = garita_model::sha256_hex(&wsq);
    let local = Path::new(data).join("blobs").join(&name[..2]).join(&name);
    assert!(
        !local.exists(),
        "the image was written to the data directory"
    );

    // ... and comes back byte-identical.
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "username": "officer1", "password": "officer-password-long-enough" }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = login["token"].as_str().expect("a login token");
    let detail: serde_json::Value = client
        .get(format!("{base}/api/v1/encounters/{encounter}"))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let sample = detail["samples"][0]["id"].as_str().expect("a sample");
    let served = client
        .get(format!("{base}/api/v1/samples/{sample}/content"))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(served.status(), reqwest::StatusCode::OK);
    assert!(
        served.bytes().unwrap().as_ref() == wsq.as_slice(),
        "the image comes back byte-identical"
    );
}
