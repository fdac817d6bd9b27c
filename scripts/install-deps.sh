#!/usr/bin/env bash
# Installs what garita's tests use besides Rust, from the distribution's and PyPI's registries. Idempotent; every
# step is optional: a reference tool that cannot be installed makes its interop test skip with a message.
#   - NBIS WSQ (PyPI `wsq`): garita-wsq decodes/encodes bit-exactly against it.
#   - Go + golang.org/x/mod (Debian): an independent verifier of garita's ledger tiles and proofs.
#   - chromium (Debian) + playwright-core (npm, tests/browser): the console's browser test (scripts/install-browser.sh).
set -u
cd "$(dirname "$0")/.."
bash scripts/wsq-reference.sh
bash scripts/install-browser.sh
if command -v go >/dev/null 2>&1 && [ -d /usr/share/gocode/src/golang.org/x/mod/sumdb/tlog ]; then
  echo "install-deps: Go and golang.org/x/mod already installed"
elif command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  if $SUDO apt-get update -qq >/dev/null 2>&1 \
    && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq golang-go golang-golang-x-mod-dev >/dev/null 2>&1; then
    echo "install-deps: installed Go and golang.org/x/mod"
  else
    echo "install-deps: could not install Go; the ledger interop test will be skipped"
  fi
else
  echo "install-deps: no apt-get; the ledger interop test will be skipped"
fi
# iproute2 (ip netns, tc): the terminal fault test puts netem on the loopback of a namespace it creates; without
# them, or where the kernel has no netem, that test skips with a message (the relay test still runs).
if command -v ip >/dev/null 2>&1 && command -v tc >/dev/null 2>&1; then
  echo "install-deps: iproute2 already installed"
elif command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq iproute2 >/dev/null 2>&1; then
    echo "install-deps: installed iproute2"
  else
    echo "install-deps: could not install iproute2; the netem terminal test will be skipped"
  fi
fi
exit 0
