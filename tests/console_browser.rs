#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The web console in a real browser: `garita demo` fills a data directory, `garita serve` serves it on
//! 127.0.0.1, and tests/browser/console.mjs (Playwright `playwright-core` driving Debian's headless `chromium`)
//! logs in, reads the dashboard, confirms an alert, zooms a scan, draws a finding, records a decision and checks
//! that a role without rights gets a 403 page, at 1280x800 and at a tablet width. Screenshots of every page go
//! to `target/tmp/console-screenshots/`.
//!
//! `scripts/install-browser.sh` (called by .ci/run) installs the browser and the npm package. Without them this
//! test skips with a message — except under `CI=true`, where it fails, so CI cannot pass without running it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_garita");
const PASSWORD: &str = "browser-test-password";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Why the browser test cannot run here, if it cannot.
fn missing_tool() -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node is not installed".into());
    }
    if !Path::new(&chromium()).exists() {
        return Some(format!("{} is not installed", chromium()));
    }
    if !root()
        .join("tests/browser/node_modules/playwright-core")
        .is_dir()
    {
        return Some("playwright-core is not installed in tests/browser".into());
    }
    if !root().join("../shared/data/fingerprints").is_dir() {
        return Some("../shared/data/fingerprints is absent".into());
    }
    None
}

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// Kills the server when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_with_timeout(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    None
}

#[test]
fn console_in_a_browser() {
    if let Some(reason) = missing_tool() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!(
                "CI=true but the browser test cannot run: {reason} (scripts/install-browser.sh installs it)"
            );
        }
        eprintln!("skipping the console browser test: {reason} (run scripts/install-browser.sh)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let shared = root().join("../shared/data");
    let demo = Command::new(BIN)
        .args(["demo", "--data"])
        .arg(&data)
        .arg("--shared")
        .arg(&shared)
        .args(["--password", PASSWORD, "--people", "8", "--scans", "1"])
        .env_remove("GARITA_DATA")
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "garita demo: {}",
        String::from_utf8_lossy(&demo.stderr)
    );

    let mut server = Running(
        Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(&data)
            .current_dir(dir.path())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let stdout = server.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
    let base = lines
        .find_map(|line| {
            line.strip_prefix("garita listening on ")
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_owned)
        })
        .expect("the server prints its address");
    // Keep reading, so the server never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));

    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    let mut node = Command::new("node")
        .arg("console.mjs")
        .current_dir(root().join("tests/browser"))
        .env("BASE", &base)
        .env("PASSWORD", PASSWORD)
        .env("OUT", &out)
        .env("CHROMIUM", chromium())
        .spawn()
        .unwrap();
    let status = wait_with_timeout(&mut node, Duration::from_secs(240))
        .expect("the browser test finishes within 240 s");
    assert!(
        status.success(),
        "tests/browser/console.mjs failed; screenshots in {}",
        out.display()
    );
    eprintln!("console screenshots: {}", out.display());
}
