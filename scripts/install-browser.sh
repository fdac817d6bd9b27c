#!/usr/bin/env bash
# Installs what the console's browser test needs: Debian's `chromium` (headless) and npm `playwright-core` into
# tests/browser/node_modules (from the committed package-lock.json). Idempotent; `apt-get update` runs only when
# chromium is missing and the package is not known yet. Without them the test skips locally and fails under CI=true.
set -u
cd "$(dirname "$0")/.."
if command -v chromium >/dev/null 2>&1; then
  echo "install-browser: chromium already installed"
elif command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  if ! apt-cache show chromium >/dev/null 2>&1; then
    $SUDO apt-get update -qq >/dev/null 2>&1
  fi
  if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; then
    echo "install-browser: installed chromium"
  else
    echo "install-browser: could not install chromium; the browser test will not run"
  fi
else
  echo "install-browser: no apt-get; the browser test will not run"
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "install-browser: no npm; the browser test will not run"
elif [ -f tests/browser/node_modules/playwright-core/package.json ]; then
  echo "install-browser: playwright-core already installed"
elif (cd tests/browser && npm ci --no-audit --no-fund --silent >/dev/null 2>&1); then
  echo "install-browser: installed playwright-core"
else
  echo "install-browser: could not install playwright-core; the browser test will not run"
fi
exit 0
