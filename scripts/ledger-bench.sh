#!/usr/bin/env bash
# Runs the ledger benchmark: durable appends/s and append->checkpoint latency beside a fsync'd SQLite insert of
# the same bytes. LEDGER_BENCH_ENTRIES and LEDGER_BENCH_BATCH tune the batched run.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}" cargo bench -p garita-ledger --bench ledger
