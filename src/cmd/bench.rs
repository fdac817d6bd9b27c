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
    /// Fingerprint matching: 1:1 comparisons/s/core, pre-filter rate, 1:N search time per gallery size (grown
    /// from real templates by rigid transforms and minutia dropout), memory per template. With NIST NBIS
    /// bozorth3 available (GARITA_BOZORTH3=/path/to/bozorth3, else on PATH) it is timed on the same seed pairs
    /// and the ratio printed.
    Finger {
        /// Folder of real fingerprint images to seed the galleries
        #[arg(long, default_value = "../shared/data/fingerprints/FVC2000_DB1_B")]
        seeds: PathBuf,
        /// Gallery sizes
        #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
        sizes: Vec<usize>,
        /// Shortlist kept by the pre-filter for full comparison
        #[arg(long, default_value_t = 200)]
        shortlist: usize,
        /// Also time 10-finger probes against galleries of this many subjects (e.g. 100000,1000000; a million
        /// subjects holds ten million templates and needs about 12 GB of memory)
        #[arg(long, value_delimiter = ',')]
        subjects: Vec<usize>,
        /// Subjects compared in full per ten-finger probe (fewer fingers keep proportionally more: the
        /// server's default, `SubjectSearchParams::default()`)
        #[arg(long, default_value_t = 100)]
        subject_shortlist: usize,
    },
    /// Cargo NII analysis time per 2000x1000 dual-energy image on one core, against the 0.5 s target and the
    /// 3.5 s/image published anchor.
    Cargo {
        /// Simulated images to time
        #[arg(long, default_value_t = 10)]
        images: u32,
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
        Command::Finger {
            seeds,
            sizes,
            shortlist,
            subjects,
            subject_shortlist,
        } => {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(&seeds)
                .with_context(|| format!("reading {}", seeds.display()))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.is_file())
                .collect();
            paths.sort();
            eprintln!(
                "extracting {} seed templates from {}...",
                paths.len(),
                seeds.display()
            );
            let templates: Vec<_> = paths
                .iter()
                .filter_map(|path| super::finger::template_of(path, None).ok())
                .collect();
            anyhow::ensure!(
                !templates.is_empty(),
                "no usable fingerprint image in {}",
                seeds.display()
            );
            eprintln!("growing galleries of {sizes:?} and searching (this takes a while)...");
            let report = garita_finger::run_bench(&templates, &sizes, shortlist);
            println!("{}", serde_json::to_string_pretty(&report)?);
            println!(
                "1:1 MCC {:.0}/s/core; pre-filter inner loop {:.0}/s/core (target 1,000,000: ratio {:.2}x)",
                report.mcc_per_s,
                report.prefilter_per_s,
                report.prefilter_per_s / 1e6
            );
            println!("{}", report.bozorth3);
            if !subjects.is_empty() {
                eprintln!("10-finger subject galleries of {subjects:?} subjects...");
                let params = garita_finger::SubjectSearchParams {
                    shortlist: subject_shortlist,
                    threads: 2,
                };
                let report =
                    garita_finger::run_subject_bench(&templates, &subjects, 10, 4000, params);
                println!("{}", serde_json::to_string_pretty(&report)?);
                for g in &report.galleries {
                    println!(
                        "{} subjects ({} templates, {} B each): 10-finger probe {:.3} s on {} threads \
                         (target 1 s: ratio {:.2}x)",
                        g.subjects,
                        g.templates,
                        g.bytes_per_template,
                        g.probe_s,
                        g.threads,
                        1.0 / g.probe_s.max(1e-9)
                    );
                    for p in &g.fewer_fingers {
                        println!(
                            "  {}-finger probe {:.3} s (slowest {:.3} s), {} subjects compared in full",
                            p.fingers, p.probe_s, p.probe_max_s, p.subjects_compared
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Cargo { images } => {
            let report = garita_nii::bench_cargo(images).context("cargo bench")?;
            let per_image = report.total_s / f64::from(report.images.max(1));
            println!("{}", serde_json::to_string_pretty(&report)?);
            println!(
                "{per_image:.3} s per {}x{} dual-energy image on one core: {:.1}x faster than the 3.5 s anchor, {:.1}x the 0.5 s target",
                report.columns,
                report.rows,
                3.5 / per_image,
                0.5 / per_image
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
