//! `garita an2 ...`: ANSI/NIST-ITL transactions.

use anyhow::Context;
use garita_an2::Transaction;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Parse and check a transaction; print its records (text, or JSON with --json).
    Dump {
        /// The .an2 / .eft / .nst file
        file: PathBuf,
        /// Print {"records":[{"type","idc","length","fields"}...]} as JSON
        #[arg(long)]
        json: bool,
    },
    /// Parse a transaction and write it back with recomputed lengths and 1.003 content listing.
    Rewrite {
        /// Input file
        input: PathBuf,
        /// Output file (written whole, then renamed into place)
        output: PathBuf,
    },
}

fn load(path: &PathBuf) -> anyhow::Result<Transaction> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Transaction::from_bytes(&bytes).with_context(|| {
        format!(
            "{} is not a valid ANSI/NIST-ITL transaction",
            path.display()
        )
    })
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Dump { file, json } => {
            let transaction = load(&file)?;
            let dump = transaction.to_dump_json();
            let mut out = std::io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &dump)?;
                writeln!(out)?;
            } else {
                for record in dump["records"].as_array().into_iter().flatten() {
                    writeln!(
                        out,
                        "Type-{} idc={} length={}",
                        record["type"], record["idc"], record["length"]
                    )?;
                    if let Some(fields) = record["fields"].as_object() {
                        for (tag, value) in fields {
                            let mut text = value.to_string();
                            if text.len() > 100 {
                                text.truncate(
                                    text.char_indices()
                                        .take_while(|(i, _)| *i < 97)
                                        .last()
                                        .map_or(0, |(i, c)| i + c.len_utf8()),
                                );
                                text.push_str("...");
                            }
                            writeln!(out, "  {tag}: {text}")?;
                        }
                    } else {
                        writeln!(
                            out,
                            "  header: {}  image_length: {}",
                            record["header"], record["image_length"]
                        )?;
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Rewrite { input, output } => {
            let transaction = load(&input)?;
            let bytes = transaction.to_bytes();
            let tmp = output.with_extension("tmp-garita");
            std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, &output)
                .with_context(|| format!("renaming to {}", output.display()))?;
            eprintln!(
                "wrote {} ({} records, {} bytes)",
                output.display(),
                transaction.records().len(),
                bytes.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
