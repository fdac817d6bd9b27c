//! `garita bench ...`: throughput measured against a reference run in the same process, reported as ratios.

use anyhow::Context;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Durable ledger appends/s and append->checkpoint latency, beside an fsync'd SQLite insert of the same bytes.
    Ledger {
        /// Entries in the batched run
        #[arg(long, default_value_t = 200_000)]
        entries: u64,
        /// Entries per durable batch (one fsync each)
        #[arg(long, default_value_t = 1000)]
        batch: usize,
        /// Scratch directory [default: a temporary directory]
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// SQLite with `synchronous=FULL`: one INSERT of the entry bytes per row, one transaction (one fsync) per batch.
async fn sqlite_rate(path: &std::path::Path, entries: u64, batch: usize) -> anyhow::Result<f64> {
    let mut db = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .connect()
        .await?;
    sqlx::query("CREATE TABLE entries (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL)")
        .execute(&mut db)
        .await?;
    let started = Instant::now();
    let mut index = 0;
    while index < entries {
        let mut tx = db.begin().await?;
        for _ in 0..batch.min((entries - index) as usize) {
            sqlx::query("INSERT INTO entries (bytes) VALUES ($1)")
                .bind(garita_ledger::bench::sample_entry(index))
                .execute(&mut *tx)
                .await?;
            index += 1;
        }
        tx.commit().await?;
    }
    Ok(entries as f64 / started.elapsed().as_secs_f64())
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Ledger {
            entries,
            batch,
            dir,
        } => {
            let scratch = tempfile::Builder::new()
                .prefix("garita-bench")
                .tempdir_in(dir.unwrap_or_else(std::env::temp_dir))?;
            eprintln!(
                "ledger: {entries} entries in batches of {batch} (this takes a little while)..."
            );
            let config = garita_ledger::bench::BenchConfig {
                entries,
                batch,
                ..Default::default()
            };
            let report = garita_ledger::bench::run(&scratch.path().join("ledger"), &config)
                .context("ledger run")?;
            eprintln!("sqlite: the same {entries} entries...");
            let sqlite = super::runtime()?.block_on(sqlite_rate(
                &scratch.path().join("baseline.sqlite"),
                entries,
                batch,
            ))?;
            println!("{report}");
            println!(
                "batched durable appends: ledger {:.0}/s, sqlite(synchronous=FULL) {:.0}/s, ratio {:.2}x",
                report.batched_per_sec,
                sqlite,
                report.batched_per_sec / sqlite
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
