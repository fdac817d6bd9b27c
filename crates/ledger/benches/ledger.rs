//! Ledger benchmark: durable appends/s and append-to-checkpoint latency beside a fsync'd SQLite insert.

fn main() {}
