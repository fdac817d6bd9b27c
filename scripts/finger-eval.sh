#!/usr/bin/env bash
# Accuracy and speed of garita-finger on the shared fingerprint sets (docs/finger.md).
#   scripts/finger-eval.sh            # eval table (all-pairs and FVC protocols), score fusion and pre-filter tables
#   scripts/finger-eval.sh --bench    # also the throughput bench (10k and 100k grown galleries)
# Uses its own target dir so it never waits on another crate's build lock.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/finger-eval}"
data="../shared/data/fingerprints"
if [ ! -d "$data" ]; then
  echo "skipping: $data not found" >&2
  exit 0
fi
cargo run --release -q -p garita-finger --example eval -- \
  "$data/FVC2000_DB1_B" "$data/FVC2000_DB3_B" "$data/FVC2000_DB4_B" "$data/toy_PNG"
# The score fusion's held-out table, weights and calibration.
cargo run --release -q -p garita-finger --example fusion -- \
  "$data/FVC2000_DB1_B" "$data/FVC2000_DB3_B" "$data/FVC2000_DB4_B" "$data/toy_PNG"
cargo run --release -q -p garita-finger --example prefilter -- \
  "$data/FVC2000_DB1_B" "$data/FVC2000_DB3_B" "$data/FVC2000_DB4_B" "$data/toy_PNG"
if [ "${1:-}" = "--bench" ]; then
  cargo bench -q -p garita-finger -- 10000 100000
fi
