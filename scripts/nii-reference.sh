#!/usr/bin/env bash
# Installs the independent DICOS reader (pydicom, plus pylibjpeg for the JPEG-lossless frames) used to confirm the
# values garita-nii's tests assert, then runs the cross-check against the frozen table.
# Usage: scripts/nii-reference.sh [--write]   (--write regenerates crates/nii/tests/data/dicos_expected.json)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pip install --quiet pydicom numpy pylibjpeg pylibjpeg-libjpeg
data="${here}/../../shared/data/dicos-v03"
expected="${here}/../crates/nii/tests/data/dicos_expected.json"
if [[ "${1:-}" == "--write" ]]; then
  python3 "${here}/nii_pydicom_check.py" "${data}" --out "${expected}"
else
  python3 "${here}/nii_pydicom_check.py" "${data}" --check "${expected}"
fi
