#!/usr/bin/env bash
# Installs the reference SDKs that `codexkit parity --peers` compares codexkit with, at the
# versions pinned in peers/: the TypeScript SDK into peers/ts/node_modules (without the codex
# binary it would bring: the runs use the pinned one) and the Python SDK into peers/py/.venv.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../peers"
command -v npm >/dev/null || { echo "npm is required (install Node.js)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
npm ci --prefix ts --omit=optional --ignore-scripts --no-audit --no-fund
if [ ! -x py/.venv/bin/python ]; then
  python3 -m venv py/.venv
fi
py/.venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -r py/requirements.txt
