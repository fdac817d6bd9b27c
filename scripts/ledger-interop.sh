#!/usr/bin/env bash
# Installs Go and golang.org/x/mod (Debian packages) and runs the ledger interop test, which verifies garita's
# tiles, checkpoints and tlog-proofs with Go's sumdb/note and sumdb/tlog. Without these packages the test skips.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq golang-go golang-golang-x-mod-dev
fi
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}" cargo test -p garita-ledger --test integration interop -- --nocapture
