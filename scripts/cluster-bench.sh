#!/usr/bin/env bash
# The cluster benchmark (issue #11 item 6): enrollments/s, enrollment latency and per-node CPU through 1, 2 and 3
# `garita serve --cluster` nodes on this machine, with the ratio to the one-node run (tests/cluster.rs,
# `cluster_scaling_benchmark`). Starts the private PostgreSQL of scripts/postgres.sh. Release build.
#   GARITA_BENCH_ENROLLMENTS=N   enrollments per kit (4 kits; default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/postgres.sh env)"
cargo test --release --test cluster cluster_scaling_benchmark -- --ignored --nocapture
