#!/usr/bin/env bash
# Installs the NBIS WSQ reference (PyPI `wsq`, a Pillow plugin wrapping NIST NBIS's libwsq) used by garita-wsq's
# interop test and benchmark through scripts/wsq_nbis.py. Idempotent; exits 0 with a message when it cannot
# install, because the interop test then skips with a clear message instead of failing.
set -u
PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "wsq-reference: $PYTHON not found; NBIS interop tests will be skipped"
    exit 0
fi
if "$PYTHON" -c "import _wsq" >/dev/null 2>&1; then
    echo "wsq-reference: NBIS wsq module already installed"
    exit 0
fi
# The package ships a C extension built from NBIS sources; Pillow comes in as its dependency.
if "$PYTHON" -m pip install --quiet wsq >/dev/null 2>&1 && "$PYTHON" -c "import _wsq" >/dev/null 2>&1; then
    echo "wsq-reference: installed PyPI wsq (NBIS)"
else
    echo "wsq-reference: could not install PyPI wsq with pip; NBIS interop tests will be skipped"
fi
exit 0
