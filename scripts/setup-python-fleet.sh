#!/usr/bin/env bash
# Creates a virtualenv with python-fleet 0.1.3 (PyPI package "fleet") for the tests and
# benchmarks that run python-fleet against fleet-testserver. Idempotent.
# Usage: scripts/setup-python-fleet.sh [VENV_DIR]   (default: target/python-fleet-venv)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-target/python-fleet-venv}"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import fleet.v1' 2>/dev/null; then
  echo "python-fleet already installed in $venv"
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check 'fleet==0.1.3'
"$venv/bin/python" -c 'import fleet.v1' 
echo "python-fleet 0.1.3 installed in $venv (python: $venv/bin/python)"
