#!/usr/bin/env bash
# The one-command demo: install (into ./.venv), start the Elastic Jobs emulator, run the Microsoft
# tutorial as an Airflow DAG against it with `airflow dags test`, print which tables exist in which
# target database, the execution per step/target and Job1's schedule, then stop the emulator.
#
#   bash scripts/demo.sh [--keep]      # --keep: keep the temporary emulator state and Airflow home
#
# Needs only Python >= 3.11 (set PYTHON=/path/to/python3.11 to choose one). Exits non-zero when the
# tutorial's outcome is not exactly right. Nothing keeps running afterwards: scripts/demo.py stops
# the emulator and Airflow itself (also on Ctrl-C / SIGTERM, which are forwarded to it), and the
# EXIT trap kills the emulator by its recorded pid should demo.py itself have been killed.
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

# In the background so a signal reaches this shell at once; it is forwarded to demo.py, which
# cleans up and exits.
ELASTICJOBS_DEMO_PIDFILE="$PIDFILE" python scripts/demo.py "$@" &
demo_pid=$!
trap 'kill -TERM "$demo_pid" 2>/dev/null || true' INT TERM HUP
status=0
while :; do
  wait "$demo_pid" && status=0 || status=$?
  kill -0 "$demo_pid" 2>/dev/null || break
done
exit "$status"
