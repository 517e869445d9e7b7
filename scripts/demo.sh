#!/usr/bin/env bash
# The one-command demo: install (into ./.venv), start the Elastic Jobs emulator, run the Microsoft
# tutorial as an Airflow DAG against it with `airflow dags test`, print which tables exist in which
# target database, the execution per step/target and Job1's schedule, then stop the emulator.
#
#   bash scripts/demo.sh [--keep]      # --keep: keep the temporary emulator state and Airflow home
#
# Needs only Python >= 3.11 (set PYTHON=/path/to/python3.11 to choose one). Exits non-zero when the
# tutorial's outcome is not exactly right. Nothing keeps running afterwards: scripts/demo.py stops
# the emulator itself, and the trap below kills it too if the demo is interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_bootstrap.sh

PIDFILE="$(mktemp -t elasticjobs-demo-pid.XXXXXX)"
stop_emulator() {
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
}
trap stop_emulator EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ELASTICJOBS_DEMO_PIDFILE="$PIDFILE" python scripts/demo.py "$@"
