//! `garita`: the command-line front door. CLI parsing and glue only; the work is in `crates/`.

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Self-hosted border screening: signed captures, an append-only audit trail, biometrics and cargo NII.
///
/// Start a server with `garita serve`; it creates ./garita-data on first start and prints the admin password
/// once. Devices are registered with `garita admin add-device` and submit signed captures with
/// `garita device submit`.
#[derive(Parser)]
#[command(name = "garita", version, about, long_about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API server.
    Serve(cmd::serve::Args),
    /// Fill a fresh data directory with a synthetic demo (sites, devices, people, alerts, consignments).
    Demo(cmd::demo::Args),
    /// Administer a data directory: agency, users, sites, devices.
    #[command(subcommand)]
    Admin(cmd::admin::Command),
    /// Device-side tools: make keys, sign and submit captures.
    #[command(subcommand)]
    Device(cmd::device::Command),
    /// Field terminal agent: queue captures in an encrypted outbox and forward them exactly once.
    ///
    /// `garita terminal --server URL --log-key VKEY --data DIR --key FILE --device ID` (short for
    /// `garita terminal run ...`) runs the agent; `enroll` and `scan` queue a capture and return at once;
    /// `status` shows the outbox.
    #[command(subcommand)]
    Terminal(cmd::terminal::Command),
    /// The transparency log: print its verifier key.
    #[command(subcommand)]
    Ledger(cmd::ledger::LedgerCommand),
    /// Check a transparency log offline or over HTTP: signature, consistency, inclusion, receipts.
    Verify(cmd::ledger::VerifyArgs),
    /// Witness a log: verify consistency and cosign its checkpoint.
    Witness(cmd::ledger::WitnessArgs),
    /// Read, check and rewrite ANSI/NIST-ITL transactions.
    #[command(subcommand)]
    An2(cmd::an2::Command),
    /// Decode, encode and inspect WSQ fingerprint images.
    #[command(subcommand)]
    Wsq(cmd::wsq::Command),
    /// Fingerprints: extract minutiae, score pairs, evaluate on an FVC-style folder.
    #[command(subcommand)]
    Finger(cmd::finger::Command),
    /// Cargo NII: DICOS files, the dual-energy simulator, anomaly analysis and its evaluation.
    #[command(subcommand)]
    Cargo(cmd::cargo::Command),
    /// Share with partner agencies under agreements: export, import, follow a live feed.
    #[command(subcommand)]
    Share(cmd::share::Command),
    /// Benchmarks, each reported against a reference run in the same process.
    #[command(subcommand)]
    Bench(cmd::bench::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(cmd::terminal::default_to_run(std::env::args_os()));
    let result = match cli.command {
        Command::Serve(args) => cmd::serve::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Admin(command) => cmd::admin::run(command),
        Command::Device(command) => cmd::device::run(command),
        Command::Terminal(command) => cmd::terminal::run(command),
        Command::Ledger(command) => cmd::ledger::run_ledger(command),
        Command::Verify(args) => cmd::ledger::run_verify(args),
        Command::Witness(args) => cmd::ledger::run_witness(args),
        Command::An2(command) => cmd::an2::run(command),
        Command::Wsq(command) => cmd::wsq::run(command),
        Command::Finger(command) => cmd::finger::run(command),
        Command::Cargo(command) => cmd::cargo::run(command),
        Command::Share(command) => cmd::share::run(command),
        Command::Bench(command) => cmd::bench::run(command),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if let Some(io) = err.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("garita: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
