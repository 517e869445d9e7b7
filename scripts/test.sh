#!/usr/bin/env bash
# Install everything into ./.venv and run the whole test suite: lint, unit and integration tests
# (the emulator is started by the tests themselves), and the benchmarks in smoke size.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_bootstrap.sh
# System packages some tests need, installed where we can (root + apt): Debian's headless
# Chromium for the UI browser test, unixODBC so pyodbc (the odbc connection type) imports, and
# PostgreSQL for the deployment tests (tests/deployment, the stack of scripts/stack.sh), and Node.js
# with npm for the @azure/arm-sql client test (tests/integration/clients).
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium chromium-driver)
ldconfig -p 2>/dev/null | grep -q 'libodbc.so.2' || missing+=(libodbc2)
have_postgres || missing+=(postgresql)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
if [ "${#missing[@]}" -gt 0 ]; then
  apt_install "${missing[@]}" || true
fi
# This command installs what the suite needs, so a test whose prerequisite is still missing (no
# PostgreSQL, no node) fails instead of skipping (tests read CI): a green run has run every test.
export CI="${CI:-true}"
ruff check .
ruff format --check .
lint-imports
python -m pytest --durations=30 "$@"
python -m benchmarks --smoke
bash scripts/compat.sh
