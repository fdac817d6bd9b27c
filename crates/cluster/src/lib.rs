//! Multi-node coordination for a central garita deployment: several `garita serve` nodes behind one address share
//! one PostgreSQL database (the system of record) and one object store (blobs, log tiles, checkpoints).
//!
//! Everything here runs only when the server is started with `--database postgres://…`; a single node on the
//! embedded SQLite default needs none of it. The parts:
//!
//! - [`leader`]: exactly one node sequences and publishes the ledger at a time, chosen through a PostgreSQL
//!   session advisory lock; when the leader dies its session ends, the lock is released and another node takes over.
//! - [`ledger`]: the shared transparency log: entries committed to PostgreSQL (durable when the transaction
//!   commits), tiles and signed checkpoints written by the leader to the object store, served by any node.
//! - [`nodes`]: node membership (heartbeats in PostgreSQL) and the assignment of the 1:N fingerprint gallery's
//!   shards to live matcher nodes, rebalanced when nodes join or leave.
//!
//! This crate owns its own tables (created idempotently at start); the rows of the system of record stay in
//! `garita-store`.

mod error;
pub mod leader;
pub mod ledger;
pub mod nodes;

pub use error::ClusterError;
pub use leader::{LeaderStatus, current_leader};
pub use ledger::{ClusterConfig, ClusterLedger};
