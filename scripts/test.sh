#!/usr/bin/env bash
# Install everything into ./.venv and run the whole test suite: lint, unit and integration tests
# (the emulator is started by the tests themselves), and the benchmarks in smoke size.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_bootstrap.sh
# The UI browser test drives Debian's headless Chromium; install it where we can (root + apt).
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium and chromium-driver for the browser test"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; } >/dev/null \
    || echo "Could not install chromium: the browser test will be skipped with that reason"
fi
ruff check .
ruff format --check .
python -m pytest "$@"
python -m benchmarks --smoke
