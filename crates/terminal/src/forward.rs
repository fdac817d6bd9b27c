//! The forwarder: sends the outbox to the server oldest first, one capture at a time, so a device's captures
//! arrive in sequence order. Transient failures (no link, timeouts, 5xx, 408/425/429, the device not yet
//! registered) are retried with exponential backoff and jitter; a refusal of the capture itself (409 sequence
//! conflict, 413, 422) marks it failed with the server's reason and the forwarder moves on. The server's
//! idempotency on (device, seq) makes a resend after a lost answer harmless: exactly-once delivery.
//!
//! Large captures go as resumable chunked uploads (docs/terminal.md): after any failure the next attempt asks the
//! server where it stands and sends only the rest. Receipts are stored; inclusion proofs are fetched as soon as
//! the log publishes them and verified offline against the log's pinned verifier key.

use crate::TerminalError;
use crate::outbox::{Capture, Outbox, Pending};
use garita_ledger::{EntryBody, TlogProof};
use garita_model::DeviceKey;
use rand::Rng;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Server base URL, e.g. `http://10.0.0.5:8080`.
    pub server: String,
    /// The ledger's verifier key (`garita ledger key`), pinned: proofs must verify under it.
    pub log_key: String,
    /// Captures larger than this (payload plus blobs, bytes) go as chunked uploads.
    pub chunk_threshold: u64,
    /// Bytes per chunk.
    pub chunk_size: usize,
    /// First retry delay.
    pub min_backoff: Duration,
    /// Longest retry delay.
    pub max_backoff: Duration,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// How often to look for new captures when idle.
    pub idle_poll: Duration,
    /// Stop once everything is delivered (or failed) and every delivered proof verified.
    pub exit_when_drained: bool,
    /// How often to fetch watchlist updates (at start, then when idle this often).
    pub watchlist_every: Duration,
}

impl AgentConfig {
    /// Defaults for a server URL and log key: 1 MiB threshold, 256 KiB chunks, 0.25 s to 30 s backoff.
    pub fn new(server: &str, log_key: &str) -> Self {
        AgentConfig {
            server: server.trim_end_matches('/').to_owned(),
            log_key: log_key.trim().to_owned(),
            chunk_threshold: 1024 * 1024,
            chunk_size: 256 * 1024,
            min_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            request_timeout: Duration::from_secs(60),
            idle_poll: Duration::from_millis(500),
            exit_when_drained: false,
            watchlist_every: Duration::from_secs(300),
        }
    }
}

/// What one run of the agent did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RunReport {
    /// Captures acknowledged in this run.
    pub delivered: u64,
    /// Captures the server refused for good in this run.
    pub failed: u64,
    /// Attempts that failed and were retried.
    pub retries: u64,
    /// Chunks sent.
    pub chunks: u64,
    /// Chunked uploads resumed at an offset above zero.
    pub resumed_uploads: u64,
    /// Proofs fetched and verified.
    pub proofs_verified: u64,
    /// Seconds from start until drained (only when it drained).
    pub drain_seconds: Option<f64>,
    /// The local watchlist version when the run ended.
    pub watchlist_version: u64,
}

/// The outcome of one attempt to send a capture.
#[derive(Debug)]
enum Sent {
    /// Acknowledged (201 new, or 200 identical replay): the receipt.
    Delivered(Value),
    /// Refused for good: the reason.
    Refused(String),
    /// Try again later: the reason.
    Retry(String),
}

/// Exponential backoff with equal jitter: the n-th delay is uniform in [d/2, d] with d = min(max, min * 2^n).
#[derive(Debug)]
struct Backoff {
    min: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    fn next_delay(&mut self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(20)).unwrap_or(u32::MAX);
        let cap = self.min.saturating_mul(factor).min(self.max);
        self.failures = self.failures.saturating_add(1);
        let half = cap / 2;
        half + rand::thread_rng().gen_range(Duration::ZERO..=half)
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

/// The terminal agent: an outbox, the device key and a server.
pub struct Agent {
    outbox: Outbox,
    key: Arc<DeviceKey>,
    config: AgentConfig,
    http: reqwest::Client,
    /// Seconds to add to the local clock when signing requests: learned from the server's `Date` header when
    /// the kit's clock is off (a kit long offline drifts, and the server refuses signatures 300 s off).
    clock_offset: std::sync::atomic::AtomicI64,
}

/// Clock differences below this are left alone.
const CLOCK_TOLERANCE_SECONDS: i64 = 30;

/// Unix seconds of an HTTP `Date` header (IMF-fixdate, RFC 9110 §5.6.7).
fn parse_http_date(text: &str) -> Option<i64> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(text.trim(), &format)
        .ok()
        .map(|at| at.assume_utc().unix_timestamp())
}

fn describe(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Whether an HTTP refusal is about this capture (fail it) rather than about the moment or the device (retry).
fn refuses_capture(status: StatusCode) -> bool {
    status.is_client_error()
        && !matches!(
            status,
            StatusCode::REQUEST_TIMEOUT
                | StatusCode::TOO_EARLY
                | StatusCode::TOO_MANY_REQUESTS
                | StatusCode::UNAUTHORIZED
                | StatusCode::FORBIDDEN
                | StatusCode::NOT_FOUND
        )
}

async fn error_text(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = body["error"].as_str().unwrap_or("");
    let message = body["message"].as_str().unwrap_or("");
    (status, format!("{status} {code}: {message}"))
}

impl Agent {
    /// An agent over an opened outbox.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(outbox: Outbox, key: DeviceKey, config: AgentConfig) -> Result<Self, TerminalError> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|err| TerminalError::Corrupt(format!("http client: {err}")))?;
        Ok(Agent {
            outbox,
            key: Arc::new(key),
            config,
            http,
            clock_offset: std::sync::atomic::AtomicI64::new(0),
        })
    }

    /// Forwards until stopped (or, with `exit_when_drained`, until there is nothing left to do).
    ///
    /// # Errors
    /// When the outbox fails (the link failing is never an error: it is retried).
    pub async fn run(&self) -> Result<RunReport, TerminalError> {
        let started = Instant::now();
        let mut report = RunReport::default();
        let mut backoff = Backoff {
            min: self.config.min_backoff,
            max: self.config.max_backoff,
            failures: 0,
        };
        let mut watchlist_synced: Option<Instant> = None;
        loop {
            if watchlist_synced.is_none_or(|at| at.elapsed() >= self.config.watchlist_every) {
                match self.sync_watchlist().await {
                    Ok(version) => {
                        report.watchlist_version = version;
                        watchlist_synced = Some(Instant::now());
                    }
                    Err(reason) => tracing::info!(%reason, "watchlist not updated"),
                }
            }
            if let Some(pending) = self.outbox.next_pending().await? {
                self.outbox.mark_sending(pending.seq).await?;
                match self.send(&pending, &mut report).await? {
                    Sent::Delivered(receipt) => {
                        tracing::info!(seq = pending.seq, "delivered");
                        self.outbox.mark_delivered(pending.seq, &receipt).await?;
                        report.delivered += 1;
                        backoff.reset();
                    }
                    Sent::Refused(reason) => {
                        tracing::warn!(seq = pending.seq, %reason, "refused by the server");
                        self.outbox.mark_failed(pending.seq, &reason).await?;
                        report.failed += 1;
                    }
                    Sent::Retry(reason) => {
                        let delay = backoff.next_delay();
                        tracing::info!(seq = pending.seq, %reason, ?delay, "will retry");
                        self.outbox.record_retry(pending.seq, &reason).await?;
                        report.retries += 1;
                        tokio::time::sleep(delay).await;
                    }
                }
                continue;
            }
            let proofs_left = self.fetch_proofs(&mut report).await?;
            if proofs_left == 0 && self.config.exit_when_drained {
                report.drain_seconds = Some(started.elapsed().as_secs_f64());
                return Ok(report);
            }
            tokio::time::sleep(self.config.idle_poll).await;
        }
    }

    /// Fetches the watchlist changes since the local version, checks the server's signature under the pinned
    /// log key and applies them; returns the local version. A failure leaves the local snapshot as it was.
    ///
    /// # Errors
    /// The reason, as text: no link, a refusal, a bad signature, or the outbox failing.
    pub async fn sync_watchlist(&self) -> Result<u64, String> {
        let local = self
            .outbox
            .watchlist_version()
            .await
            .map_err(|e| e.to_string())?;
        let response = self
            .exchange(self.signed(
                reqwest::Method::GET,
                &format!("/api/v1/device/watchlist?since={local}"),
            ))
            .await
            .map_err(|err| describe(&err))?;
        if !response.status().is_success() {
            return Err(error_text(response).await.1);
        }
        let signature = response
            .headers()
            .get("Garita-Signature")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = response.bytes().await.map_err(|err| describe(&err))?;
        let snapshot = crate::verify_snapshot(&self.config.log_key, &body, &signature)
            .map_err(|err| err.to_string())?;
        self.outbox
            .apply_snapshot(&snapshot)
            .await
            .map_err(|err| err.to_string())?;
        Ok(snapshot.version)
    }

    /// Sends a request and learns the server's clock from the answer.
    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let response = request.send().await?;
        let server = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|value| value.to_str().ok())
            .and_then(parse_http_date);
        if let Some(server) = server {
            let skew = server - OffsetDateTime::now_utc().unix_timestamp();
            let offset = if skew.abs() > CLOCK_TOLERANCE_SECONDS {
                skew
            } else {
                0
            };
            self.clock_offset
                .store(offset, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(response)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.server)
    }

    /// A request signed by the device (docs/terminal.md).
    fn signed(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = self.url(path);
        // Sign the path as the server sees it, behind any prefix in the base URL.
        let signed_path = reqwest::Url::parse(&url)
            .map(|parsed| match parsed.query() {
                Some(query) => format!("{}?{query}", parsed.path()),
                None => parsed.path().to_owned(),
            })
            .unwrap_or_else(|_| path.to_owned());
        let header = self.key.sign_request(
            self.outbox.device_id(),
            method.as_str(),
            &signed_path,
            OffsetDateTime::now_utc().unix_timestamp()
                + self.clock_offset.load(std::sync::atomic::Ordering::Relaxed),
        );
        self.http
            .request(method, url)
            .header("Garita-Device", header)
    }

    async fn send(&self, pending: &Pending, report: &mut RunReport) -> Result<Sent, TerminalError> {
        if pending.capture.size() > self.config.chunk_threshold {
            return self
                .send_chunked(pending.seq, &pending.capture, report)
                .await;
        }
        let answer = self
            .exchange(
                self.http
                    .post(self.url("/api/v1/captures"))
                    .json(&pending.capture.to_body()),
            )
            .await;
        Ok(self.classify(answer).await)
    }

    async fn classify(&self, answer: Result<reqwest::Response, reqwest::Error>) -> Sent {
        match answer {
            Err(err) => Sent::Retry(describe(&err)),
            Ok(response) if response.status().is_success() => match response.json().await {
                Ok(receipt) => Sent::Delivered(receipt),
                Err(err) => Sent::Retry(format!("reading the receipt: {}", describe(&err))),
            },
            Ok(response) => {
                let (status, text) = error_text(response).await;
                if refuses_capture(status) {
                    Sent::Refused(text)
                } else {
                    Sent::Retry(text)
                }
            }
        }
    }

    async fn send_chunked(
        &self,
        seq: u64,
        capture: &Capture,
        report: &mut RunReport,
    ) -> Result<Sent, TerminalError> {
        let start = serde_json::json!({
            "envelope": capture.signed.envelope,
            "signature": capture.signed.signature,
        });
        let answer = self
            .exchange(self.http.post(self.url("/api/v1/uploads")).json(&start))
            .await;
        let state = match answer {
            Err(err) => return Ok(Sent::Retry(describe(&err))),
            Ok(response) if response.status().is_success() => {
                match response.json::<Value>().await {
                    Ok(state) => state,
                    Err(err) => return Ok(Sent::Retry(describe(&err))),
                }
            }
            Ok(response) => return Ok(self.classify(Ok(response)).await),
        };
        if let Some(receipt) = state.get("capture").filter(|c| c.is_object()) {
            // Already in: an earlier commit landed and its answer was lost.
            return Ok(Sent::Delivered(receipt.clone()));
        }
        let (Some(id), Some(mut offset)) = (state["upload_id"].as_str(), state["offset"].as_u64())
        else {
            return Ok(Sent::Retry(format!("unexpected upload answer: {state}")));
        };
        if offset > 0 {
            report.resumed_uploads += 1;
        }
        let bytes = capture.upload_bytes();
        let path = format!("/api/v1/uploads/{id}");
        while offset < bytes.len() as u64 {
            let from = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(bytes.len());
            let to = from.saturating_add(self.config.chunk_size).min(bytes.len());
            let chunk = bytes.get(from..to).unwrap_or_default().to_vec();
            let answer = self
                .exchange(
                    self.signed(reqwest::Method::PUT, &path)
                        .header("Upload-Offset", offset.to_string())
                        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                        .body(chunk),
                )
                .await;
            report.chunks += 1;
            match answer {
                Err(err) => return Ok(Sent::Retry(describe(&err))),
                Ok(response) if response.status().is_success() => {
                    let state: Value = match response.json().await {
                        Ok(state) => state,
                        Err(err) => return Ok(Sent::Retry(describe(&err))),
                    };
                    let Some(next) = state["offset"].as_u64().filter(|next| *next > offset) else {
                        return Ok(Sent::Retry(format!("the upload did not move on: {state}")));
                    };
                    offset = next;
                    self.outbox.record_upload_offset(seq, offset).await?;
                }
                // An offset mismatch or a vanished upload: the next attempt asks the server where it stands.
                Ok(response) => {
                    let (status, text) = error_text(response).await;
                    return Ok(if status == StatusCode::UNPROCESSABLE_ENTITY {
                        Sent::Refused(text)
                    } else {
                        Sent::Retry(text)
                    });
                }
            }
        }
        let answer = self
            .exchange(self.signed(reqwest::Method::POST, &format!("{path}/commit")))
            .await;
        Ok(self.classify(answer).await)
    }

    /// Fetches and verifies the proofs of delivered captures, in batches; returns how many are still unverified
    /// (not yet published, or no link).
    async fn fetch_proofs(&self, report: &mut RunReport) -> Result<usize, TerminalError> {
        loop {
            let pending = self.outbox.proofs_pending(100).await?;
            if pending.is_empty() {
                return Ok(0);
            }
            let total = pending.len();
            let mut done = 0;
            for seq in pending {
                let answer = self
                    .exchange(self.signed(
                        reqwest::Method::GET,
                        &format!("/api/v1/device/proofs/{seq}"),
                    ))
                    .await;
                let bytes = match answer {
                    Ok(response) if response.status() == StatusCode::OK => {
                        match response.bytes().await {
                            Ok(bytes) => bytes,
                            Err(_) => break,
                        }
                    }
                    // Not yet in a published checkpoint, or no link: later.
                    _ => break,
                };
                let capture = self.outbox.capture(seq).await?;
                match self.verify_proof(seq, &capture, &bytes) {
                    Ok(()) => {
                        self.outbox.store_proof(seq, &bytes).await?;
                        report.proofs_verified += 1;
                    }
                    Err(reason) => {
                        tracing::error!(seq, %reason, "the server's proof does not verify");
                        self.outbox.store_proof_error(seq, &bytes, &reason).await?;
                    }
                }
                done += 1;
            }
            if done < total {
                return Ok(total - done);
            }
        }
    }

    /// Checks a receipt: the checkpoint is signed by the pinned log key, the entry is included, it commits to
    /// this capture's canonical envelope bytes, and it names this device and sequence number.
    fn verify_proof(&self, seq: u64, capture: &Capture, bytes: &[u8]) -> Result<(), String> {
        let proof = TlogProof::from_bytes(bytes).map_err(|err| err.to_string())?;
        let (entry, _) = proof
            .verify_receipt(
                &self.config.log_key,
                &[],
                &capture.signed.envelope.canonical_bytes(),
            )
            .map_err(|err| err.to_string())?;
        match entry.body {
            EntryBody::Capture {
                device_id,
                seq: logged_seq,
                ..
            } if device_id.as_str() == self.outbox.device_id().to_string() && logged_seq == seq => {
                Ok(())
            }
            _ => Err("the logged entry names another device or sequence number".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_with_jitter() {
        let mut backoff = Backoff {
            min: Duration::from_millis(100),
            max: Duration::from_secs(2),
            failures: 0,
        };
        let delays: Vec<Duration> = (0..12).map(|_| backoff.next_delay()).collect();
        assert!(delays[0] >= Duration::from_millis(50) && delays[0] <= Duration::from_millis(100));
        assert!(delays[3] >= Duration::from_millis(400) && delays[3] <= Duration::from_millis(800));
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(2)));
        assert!(delays[11] >= Duration::from_secs(1));
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn http_dates_parse_to_unix_seconds() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_http_date("Mon, 23 Nov 2026 16:24:45 GMT"),
            Some(1_795_451_085)
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn only_refusals_of_the_capture_fail_it() {
        assert!(refuses_capture(StatusCode::CONFLICT));
        assert!(refuses_capture(StatusCode::UNPROCESSABLE_ENTITY));
        assert!(!refuses_capture(StatusCode::SERVICE_UNAVAILABLE));
        assert!(!refuses_capture(StatusCode::FORBIDDEN));
        assert!(!refuses_capture(StatusCode::TOO_EARLY));
    }
}
