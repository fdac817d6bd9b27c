//! The ledger half of `garita bench ledger`: durable appends per second and append→checkpoint latency.
//!
//! The SQLite baseline the issue asks to print beside these numbers lives with the caller (this crate knows no
//! SQL): `crates/ledger/benches/ledger.rs` runs both, and the CLI can do the same with the store crate. Both sides
//! should write the bytes from [`sample_entry`].

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;

use crate::entry::{Commitment, EntryBody, Label, LedgerEntry};
use crate::error::LogError;
use crate::log::{Integrator, Log};

/// Benchmark parameters.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Entries written in the batched run.
    pub entries: u64,
    /// Entries per `append_batch` call (one fsync each).
    pub batch: usize,
    /// Threads in the concurrent single-append run (group commit).
    pub threads: usize,
    /// How long the concurrent run lasts.
    pub concurrent_for: Duration,
    /// Append→checkpoint latency samples.
    pub latency_samples: usize,
    /// Integrator period during the latency run.
    pub integrate_every: Duration,
}

impl Default for BenchConfig {
    fn default() -> Self {
        Self {
            entries: 200_000,
            batch: 1000,
            threads: 16,
            concurrent_for: Duration::from_secs(3),
            latency_samples: 40,
            integrate_every: Duration::from_millis(250),
        }
    }
}

/// Results.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Durable appends per second with `append_batch`.
    pub batched_per_sec: f64,
    /// Durable appends per second with concurrent single `append` calls sharing syncs.
    pub concurrent_per_sec: f64,
    /// Median append→published-checkpoint latency.
    pub latency_p50: Duration,
    /// 99th percentile (the maximum with few samples).
    pub latency_p99: Duration,
    /// Time to integrate the batched run's entries into tiles and a checkpoint in one go.
    pub integrate_all: Duration,
    /// Time to reopen that log (recovery: rescan entries, rebuild the tree, check every tile).
    pub reopen: Duration,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "batched durable appends: {:.0}/s", self.batched_per_sec)?;
        writeln!(
            f,
            "concurrent single appends: {:.0}/s",
            self.concurrent_per_sec
        )?;
        writeln!(
            f,
            "append->checkpoint latency: p50 {:?}, p99 {:?}",
            self.latency_p50, self.latency_p99
        )?;
        write!(
            f,
            "integrate all: {:?}, reopen: {:?}",
            self.integrate_all, self.reopen
        )
    }
}

/// A realistic capture entry (about 110 bytes) for index `i`, the same bytes for the ledger and any baseline.
pub fn sample_entry(i: u64) -> Vec<u8> {
    let salt = [(i % 251) as u8; 32];
    let body = EntryBody::Capture {
        device_id: Label::new_unchecked("dev-7f3c9a2e-41b8-4d0e-9a61-0c5d2b7e8f10"),
        seq: i,
        payload_type: Label::new_unchecked("encounter"),
        commitment: Commitment::of_content(salt, &i.to_be_bytes()),
    };
    LedgerEntry {
        time: 1_700_000_000 + i / 100,
        body,
    }
    .to_bytes()
    .unwrap_or_default()
}

/// Runs the ledger measurements in a fresh log under `dir`.
///
/// # Errors
///
/// [`LogError`] when the log cannot be opened or written.
pub fn run(dir: &Path, cfg: &BenchConfig) -> Result<BenchReport, LogError> {
    let key = SigningKey::from_bytes(&[0x42; 32]);

    // 1. Batched durable appends.
    let batched_dir = dir.join("batched");
    let log = Log::open(&batched_dir, key.clone(), "bench.garita/ledger")?;
    let entries: Vec<Vec<u8>> = (0..cfg.entries).map(sample_entry).collect();
    let started = Instant::now();
    for chunk in entries.chunks(cfg.batch.max(1)) {
        let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        log.append_batch(&refs)?;
    }
    let batched_per_sec = cfg.entries as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    log.integrate()?;
    let integrate_all = started.elapsed();
    drop(log);
    let started = Instant::now();
    let reopened = Log::open(&batched_dir, key.clone(), "bench.garita/ledger")?;
    let reopen = started.elapsed();
    drop(reopened);

    // 2. Concurrent single appends sharing fsyncs, with the integrator running as in the server.
    let log = Arc::new(Log::open(
        &dir.join("concurrent"),
        key,
        "bench.garita/ledger",
    )?);
    let integrator = Integrator::spawn(Arc::clone(&log), cfg.integrate_every);
    let deadline = Instant::now() + cfg.concurrent_for;
    let workers: Vec<_> = (0..cfg.threads)
        .map(|t| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || -> Result<u64, LogError> {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    log.append(&sample_entry(t as u64 * 1_000_000 + n))?;
                    n += 1;
                }
                Ok(n)
            })
        })
        .collect();

    // 3. Meanwhile, sample append→checkpoint latency.
    let mut latencies = Vec::with_capacity(cfg.latency_samples);
    let gap = cfg.concurrent_for / (cfg.latency_samples as u32 + 1);
    for i in 0..cfg.latency_samples {
        std::thread::sleep(gap / 2);
        let t0 = Instant::now();
        let idx = log.append(&sample_entry(u64::MAX / 2 + i as u64))?;
        if log.wait_published(idx + 1, Duration::from_secs(10)) {
            latencies.push(t0.elapsed());
        }
    }
    let mut total = 0u64;
    for w in workers {
        total += w.join().unwrap_or(Ok(0))?;
    }
    let concurrent_per_sec = total as f64 / cfg.concurrent_for.as_secs_f64();
    integrator.stop();
    latencies.sort_unstable();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(Duration::MAX)
    };
    Ok(BenchReport {
        batched_per_sec,
        concurrent_per_sec,
        latency_p50: pick(0.5),
        latency_p99: pick(0.99),
        integrate_all,
        reopen,
    })
}
