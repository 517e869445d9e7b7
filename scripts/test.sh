#!/usr/bin/env bash
# Install everything into ./.venv and run the whole test suite: lint, unit and integration tests
# (the emulator is started by the tests themselves), and the benchmarks in smoke size.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_bootstrap.sh
ruff check .
ruff format --check .
python -m pytest "$@"
python -m benchmarks --smoke
