//! One module per subcommand.

pub mod admin;
pub mod an2;
pub mod bench;
pub mod cargo;
pub mod config;
pub mod demo;
pub mod device;
pub mod finger;
pub mod ledger;
pub mod serve;
pub mod share;
pub mod terminal;
pub mod wsq;

/// A current-thread runtime for commands that touch the store or the network once.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
