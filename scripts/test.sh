#!/usr/bin/env bash
# Install everything into ./.venv and run the whole test suite: lint, unit and integration tests
# (the emulator is started by the tests themselves), and the benchmarks in smoke size.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_bootstrap.sh
# System packages some tests need, installed where we can (root + apt): Debian's headless
# Chromium for the UI browser test, and unixODBC so pyodbc (the odbc connection type) imports.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium chromium-driver)
ldconfig -p 2>/dev/null | grep -q 'libodbc.so.2' || missing+=(libodbc2)
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian packages: ${missing[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >/dev/null \
    || echo "Could not install ${missing[*]}: the tests that need them skip with that reason"
fi
ruff check .
ruff format --check .
python -m pytest "$@"
python -m benchmarks --smoke
