//! `cargo bench -p garita-ledger`: durable appends/s and append→checkpoint latency of the ledger, printed beside a
//! plain fsync'd SQLite insert of the same bytes measured in the same run, with the ratio.
//!
//! Environment: `LEDGER_BENCH_ENTRIES` (default 200000), `LEDGER_BENCH_BATCH` (default 1000). Runs in a temporary
//! directory on the same file system as `TMPDIR`.

use std::time::{Duration, Instant};

use garita_ledger::bench::{BenchConfig, run, sample_entry};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// SQLite with `synchronous=FULL` (fsync on every commit), rollback journal, one `INSERT` of the entry bytes per
/// row; `batch` rows per transaction, like `append_batch`.
fn sqlite_rate(dir: &std::path::Path, entries: &[Vec<u8>], batch: usize) -> rusqlite::Result<f64> {
    let mut db = rusqlite::Connection::open(dir.join("baseline.sqlite"))?;
    db.pragma_update(None, "synchronous", "FULL")?;
    db.execute(
        "CREATE TABLE entries (id INTEGER PRIMARY KEY, data BLOB NOT NULL)",
        [],
    )?;
    let started = Instant::now();
    for chunk in entries.chunks(batch.max(1)) {
        let tx = db.transaction()?;
        {
            let mut stmt = tx.prepare_cached("INSERT INTO entries (data) VALUES (?1)")?;
            for e in chunk {
                stmt.execute([e])?;
            }
        }
        tx.commit()?;
    }
    Ok(entries.len() as f64 / started.elapsed().as_secs_f64())
}

/// Single-row autocommit inserts for `for_how_long`: the baseline for one record per request.
fn sqlite_single_rate(dir: &std::path::Path, for_how_long: Duration) -> rusqlite::Result<f64> {
    let db = rusqlite::Connection::open(dir.join("single.sqlite"))?;
    db.pragma_update(None, "synchronous", "FULL")?;
    db.execute(
        "CREATE TABLE entries (id INTEGER PRIMARY KEY, data BLOB NOT NULL)",
        [],
    )?;
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < for_how_long {
        db.execute("INSERT INTO entries (data) VALUES (?1)", [sample_entry(n)])?;
        n += 1;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo test --benches` runs bench targets with `--bench`-less args; only measure under `cargo bench`.
    if !std::env::args().any(|a| a == "--bench") {
        println!("ledger bench: run with `cargo bench -p garita-ledger`");
        return Ok(());
    }
    let cfg = BenchConfig {
        entries: env_or("LEDGER_BENCH_ENTRIES", 200_000),
        batch: env_or("LEDGER_BENCH_BATCH", 1000) as usize,
        ..BenchConfig::default()
    };
    let dir = tempfile::tempdir()?;
    let report = run(dir.path(), &cfg)?;
    let entries: Vec<Vec<u8>> = (0..cfg.entries).map(sample_entry).collect();
    let sqlite_batched = sqlite_rate(dir.path(), &entries, cfg.batch)?;
    let sqlite_single = sqlite_single_rate(dir.path(), Duration::from_secs(2))?;

    println!(
        "ledger bench: {} entries of {} bytes, batches of {}",
        cfg.entries,
        entries[0].len(),
        cfg.batch
    );
    println!(
        "  batched durable appends:   ledger {:>10.0}/s   sqlite(fsync) {:>10.0}/s   ratio {:.2}x",
        report.batched_per_sec,
        sqlite_batched,
        report.batched_per_sec / sqlite_batched
    );
    println!(
        "  one record per call:       ledger {:>10.0}/s ({} threads, group commit)   sqlite(fsync, 1 thread) {:>10.0}/s   ratio {:.2}x",
        report.concurrent_per_sec,
        cfg.threads,
        sqlite_single,
        report.concurrent_per_sec / sqlite_single
    );
    println!(
        "  append->checkpoint latency (integrator every {:?}): p50 {:?}  p99 {:?}",
        cfg.integrate_every, report.latency_p50, report.latency_p99
    );
    println!(
        "  integrating {} entries into tiles + checkpoint at once: {:?}; reopening (full recovery check): {:?}",
        cfg.entries, report.integrate_all, report.reopen
    );
    Ok(())
}
